/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The cause of each failing state of crashfs check (see check_int.h):
 * search the ops whose loss made a state fail by rebuilding it with some
 * of them persisted (harness/cause.h), attribute failures to causes
 * already found (the same shape at other ops), and group them; the
 * wording is harness/explain.
 */
#include "harness/check_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "harness/cause.h"
#include "harness/explore.h"
#include "harness/workload.h"

/* Loss vector of the current state: choice per op up to its point. */
uint8_t *check_losses_of(struct explorer *ex, const struct explore_state *st)
{
	struct explore_loss stack[256], *l = stack;
	size_t n = explore_losses(ex, st, stack, 256);
	uint8_t *choice = malloc(st->point ? st->point : 1);

	if (!choice)
		return NULL;
	memset(choice, MV_FULL, st->point);
	if (n > 256) {
		l = malloc(n * sizeof(*l));
		if (!l) {
			free(choice);
			return NULL;
		}
		explore_losses(ex, st, l, n);
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t c = l[i].fate == XF_DROPPED ? CAUSE_DROP
			    : l[i].fate == XF_HEAD  ? MV_HEAD
			    : l[i].fate == XF_TAIL  ? MV_TAIL
						    : MV_SIZE;

		if (l[i].seq >= 1 && l[i].seq <= st->point)
			choice[l[i].seq - 1] = c;
	}
	if (l != stack)
		free(l);
	return choice;
}

/* The cause search's model, loaded when first needed.  NULL + errno. */
struct model *check_cause_model(struct run *x)
{
	char err[512];

	if (!x->mc) {
		x->mc = run_load(&x->ri, err, sizeof(err));
		x->ex.m = x->mc;
		if (!x->mc)
			snprintf(x->r->errmsg, sizeof(x->r->errmsg),
				 "cannot load the run for the cause search: %s",
				 err);
	}
	return x->mc;
}

struct pass_ctx {
	struct run *x;
	enum scn_check check;
};

/*
 * Does the external checker pass the model's tree as a state at point
 * (a crash up to upto)?  A tree already checked in the same context
 * (x->verdicts: a state checked, or an earlier try that passed) is not
 * checked again.  A try that did not pass is not remembered: it may have
 * timed out, which is no verdict.
 */
static bool external_pass(struct run *x, struct model *m, uint64_t point,
			  uint64_t upto)
{
	uint64_t hash = model_hash(m, model_root(m));
	uint64_t key = check_context_key(x, upto);
	void *v = map_get(&x->verdicts, hash, key);
	bool pass;

	if (v == VERDICT_PASS || v == VERDICT_FAIL) {
		x->r->cause_known++;
		return v == VERDICT_PASS;
	}
	x->r->cause_runs++;
	pass = checker_run_now(x->pool, m, point, upto);
	if (pass)
		check_verdict_put(x, hash, key, VERDICT_PASS);
	return pass;
}

static bool pass_fn(void *ctx, struct model *m, uint64_t point, uint64_t upto)
{
	struct pass_ctx *p = ctx;

	if (workload_interrupted())
		return true; /* ends the search; the caller says -EINTR */
	if (p->check == SCN_EXTERNAL)
		return external_pass(p->x, m, point, upto);
	return !(checks_eval(p->x->c, m, upto, NULL) & (1u << p->check));
}

/* Rebuild the loss vector of an external failure from its id. */
static uint8_t *choice_from_id(struct run *x, const char *id, uint64_t point)
{
	const struct persist_rules *models[2] = {NULL, NULL};
	struct explore_opts eo = {.no_dedup = true};
	struct explore_state st;
	struct explorer *ex;
	char err[256], name[32];
	uint8_t *choice = NULL;
	const char *dot = strchr(id, '.'), *dot2;

	if (!dot || !(dot2 = strchr(dot + 1, '.')) ||
	    (size_t)(dot2 - dot - 1) >= sizeof(name))
		return NULL;
	snprintf(name, sizeof(name), "%.*s", (int)(dot2 - dot - 1), dot + 1);
	models[0] = persist_find(name);
	if (!models[0])
		return NULL;
	eo.models = models;
	eo.one_point = true;
	eo.point = point;
	eo.sector = x->sector;
	ex = explore_new(x->mc, &eo, err, sizeof(err));
	if (!ex)
		return NULL;
	if (explore_goto(ex, id, &st) == 0)
		choice = check_losses_of(ex, &st);
	explore_free(&ex);
	return choice;
}

/* The same name: dir/name of two entry ops (either may be unused). */
static bool same_name(const struct mnode *d1, const char *n1,
		      const struct mnode *d2, const char *n2)
{
	return d1 == d2 && (n1 == n2 || (n1 && n2 && !strcmp(n1, n2)));
}
/*
 * The same op at another moment: the same type, on the same names for an
 * entry change (each commit of SQLite unlinks its new db-journal; each
 * git command renames its new index.lock), on the same file or a file of
 * the same name for the others (each index.lock is written).
 */
static bool same_shape(struct model *m, uint64_t a, uint64_t b)
{
	const struct model_op *x, *y;

	if (a == b)
		return true;
	if (!a || !b)
		return false;
	x = model_op_seq(m, a);
	y = model_op_seq(m, b);
	if (!x || !y || x->type != y->type)
		return false;
	if (model_op_is_entry(x))
		return same_name(x->dir, x->name, y->dir, y->name) &&
		       same_name(x->dir2, x->name2, y->dir2, y->name2);
	return x->node == y->node ||
	       (x->at_dir && x->at_name &&
		same_name(x->at_dir, x->at_name, y->at_dir, y->at_name));
}

/*
 * Does cause c belong to group g?  Exactly the same ops, or the same
 * shape (same op types on the same names or files: an append log losing
 * each of its appends is one mistake, not five), or for a failure with
 * everything persisted the same bad version of the same path exposed at
 * another op.  *exact says which.
 */
static bool same_cause(struct model *m, const struct check_group *g,
		       enum scn_check check, int path, uint64_t seen,
		       const struct cause *c, bool *exact)
{
	*exact = true;
	if (g->check != check || g->path != path || g->cause.kind != c->kind ||
	    g->cause.nops != c->nops)
		return false;
	if (c->kind == CAUSE_MANY) {
		if (g->cause.nfiles != c->nfiles ||
		    g->cause.unminimised != c->unminimised)
			return false;
		for (size_t i = 0; i < c->nfiles; i++)
			if (g->cause.files[i] != c->files[i])
				return false;
		return true;
	}
	for (size_t i = 0; i < c->nops; i++)
		if (g->cause.ops[i] != c->ops[i] ||
		    g->cause.before[i] != c->before[i])
			*exact = false;
	if (*exact)
		return true;
	if (c->kind == CAUSE_VISIBLE && check != SCN_EXTERNAL &&
	    g->cause.ops[0] && c->ops[0] && g->seen == seen)
		return true; /* seen: the visible version (add_to_group) */
	for (size_t i = 0; i < c->nops; i++)
		if (!same_shape(m, g->cause.ops[i], c->ops[i]) ||
		    !same_shape(m, g->cause.before[i], c->before[i]))
			return false;
	return true;
}

/* Count op as one more place where g's mistake was made. */
static void add_same(struct run *x, size_t gi, uint64_t op,
		     const struct check_state *v)
{
	struct check_group *g = &x->r->groups[gi];
	size_t k;

	if (op == g->cause.ops[0] || map_get(&x->same, op, gi))
		return;
	if (map_put(&x->same, op, gi, (void *)1) < 0)
		return;
	g->nsame++;
	if (op < g->same[0]) {
		g->same[0] = op;
		g->upto[0] = v->upto;
	}
	if (op > g->same[1]) {
		g->same[1] = op;
		g->upto[1] = v->upto;
	}
	for (k = 0; k < g->nalso; k++)
		if (g->also[k] == op)
			return;
	if (g->nalso < CHECK_MAX_ALSO)
		g->also[g->nalso++] = op;
	else
		g->more_also = true;
}
static int add_to_group(struct run *x, enum scn_check check, int path,
			const struct cause *c, const struct check_state *v,
			uint64_t seen, const char *output,
			const uint8_t *choice)
{
	struct check_result *r = x->r;
	struct check_group *g;
	uint64_t key = seen;

	/* a failure with everything persisted is keyed by what a reader
	 * saw then, not by what its crash state held */
	if (c->kind == CAUSE_VISIBLE && check != SCN_EXTERNAL && v->kind &&
	    c->ops[0]) {
		model_goto_visible(x->mc, c->point);
		key = checks_version_in(x->c, x->mc,
					checks_path(x->c, check, path));
	}
	for (size_t i = 0; i < r->ngroups; i++) {
		bool exact;

		g = &r->groups[i];
		if (!same_cause(x->mc, g, check, path, key, c, &exact))
			continue;
		if (!exact && c->nops)
			add_same(x, i, c->ops[0], v);
		if (memcmp(g->cause.how, c->how, sizeof(c->how)) && !g->mixed) {
			g->mixed = true;
			memset(g->cause.how, CAUSE_DROP, sizeof(c->how));
		}
		g->kinds |= 1u << v->kind;
		g->kcount[v->kind]++;
		g->count++;
		return 0;
	}
	g = realloc(r->groups, (r->ngroups + 1) * sizeof(*g));
	if (!g)
		return -ENOMEM;
	r->groups = g;
	g = &r->groups[r->ngroups++];
	memset(g, 0, sizeof(*g));
	g->check = check;
	g->path = path;
	g->cause = *c;
	g->kinds = 1u << v->kind;
	g->count = 1;
	g->kcount[v->kind] = 1;
	g->seen = key; /* what merges with it (see same_cause) */
	g->nsame = 1;
	g->same[0] = g->same[1] = c->ops[0];
	g->upto[0] = g->upto[1] = v->upto;
	snprintf(g->example, sizeof(g->example), "%s", v->id);
	g->example_point = v->point;
	g->example_upto = v->upto;
	g->example_kind = v->kind;
	g->output = output ? strdup(output) : NULL;
	if (check != SCN_EXTERNAL)
		explain_held(&x->ex, check, path, seen, v->point,
			     v->kind ? choice : NULL, g->held, sizeof(g->held));
	return 0;
}

int check_cmp_groups(const void *a, const void *b)
{
	const struct check_group *x = a, *y = b;

	if (x->check != y->check)
		return x->check - y->check;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/* Attribute a failing state to an existing group of the same check whose
 * cause it shares, without searching.  Returns true if it did. */
static bool attribute(struct run *x, enum scn_check check,
		      const struct cause_state *cs, const struct check_state *v)
{
	for (size_t i = 0; i < x->r->ngroups; i++) {
		struct check_group *g = &x->r->groups[i];

		if (g->check != check || !cause_matches(x->mc, &g->cause, cs))
			continue;
		g->kinds |= 1u << v->kind;
		g->kcount[v->kind]++;
		g->count++;
		return true;
	}
	return false;
}
/* The facts of kind's model (computed once, on the cause search's model),
 * NULL for the visible kind or when out of memory (causes then use the
 * physical rules only). */
static const struct persist *kind_persist(struct run *x, unsigned kind)
{
	const struct persist_rules *r;

	if (!kind || kind > x->s->models.len || !x->mc)
		return NULL;
	if (x->ps[kind].rules)
		return &x->ps[kind];
	r = persist_find(x->s->models.v[kind - 1]);
	if (!r || persist_compute(x->mc, r, &x->ps[kind]))
		return NULL;
	return &x->ps[kind];
}

/* The last of the lost ops (seqs, n of them) with the shape of op seq
 * (0: none). */
static uint64_t lost_like(struct model *m, const uint64_t *lost, size_t n,
			  uint64_t seq)
{
	while (n-- > 0)
		if (same_shape(m, seq, lost[n]))
			return lost[n];
	return 0;
}
/*
 * A failure that looks like a cause already found, made at other ops:
 * this state lost ops of the same shape (the next commit's unlink of its
 * journal).  Checked with one rebuild per group tried (cause_try):
 * persisting them must fix the state.  Returns 1 with *out filled, 0, or
 * -ENOMEM.
 */
static int attribute_shape(struct run *x, enum scn_check check,
			   const struct cause_state *cs, struct pass_ctx *pc,
			   unsigned *tries, struct cause *out)
{
	uint64_t *lost;
	size_t n = 0;
	int rc = 0;

	if (!cs->choice || !cs->point)
		return 0;
	lost = malloc(cs->point * sizeof(*lost));
	if (!lost)
		return -ENOMEM;
	for (uint64_t q = 1; q <= cs->point; q++)
		if (cs->choice[q - 1] != MV_FULL &&
		    model_op_mutates(model_op(x->mc, q - 1)))
			lost[n++] = q;
	for (size_t i = 0; i < x->r->ngroups && *tries && !rc; i++) {
		const struct cause *gc = &x->r->groups[i].cause;
		uint64_t seqs[CAUSE_MAX_OPS];
		size_t k;

		if (x->r->groups[i].check != check || gc->kind != CAUSE_LOST)
			continue;
		for (k = 0; k < gc->nops; k++)
			if (!(seqs[k] = lost_like(x->mc, lost, n, gc->ops[k])))
				break;
		if (k < gc->nops)
			continue;
		(*tries)--;
		rc = cause_try(x->mc, cs, seqs, gc->nops, pass_fn, pc, out);
	}
	free(lost);
	return rc;
}

/*
 * Attribute a failure to a cause found at other ops (attribute_shape)
 * within this state's and the whole check's shape budget.  Returns 1
 * with *cause filled, 0, or -ENOMEM.
 */
static int shape_of(struct run *x, enum scn_check c,
		    const struct check_state *v, const struct cause_state *cs,
		    struct cause *cause)
{
	struct pass_ctx pc = {x, c};
	unsigned t =
	    x->shape_budget < SHAPE_TRIES ? x->shape_budget : SHAPE_TRIES;
	unsigned left = t;
	int rc;

	if (!t)
		return 0;
	memset(cause, 0, sizeof(*cause));
	cause->point = v->point;
	rc = attribute_shape(x, c, cs, &pc, &left, cause);
	x->shape_budget -= t - left;
	return rc;
}

/*
 * Find the cause of check c failing in state v (loss vector cs.choice)
 * within `tries` rebuilt states, or summarise it when tries is 0.
 * Returns the tries spent, or -errno.
 */
static int search(struct run *x, enum scn_check c, const struct check_state *v,
		  const struct cause_state *cs, unsigned tries,
		  struct cause *cause)
{
	struct pass_ctx pc = {x, c};

	memset(cause, 0, sizeof(*cause));
	cause->point = v->point;
	if (v->kind && !cs->choice) {
		cause->kind = CAUSE_UNKNOWN;
		return 0;
	}
	if (!tries)
		return cause_summary(x->mc, cs, cause);
	if (cause_find(x->mc, cs, pass_fn, &pc, tries, cause) < 0)
		return -ENOMEM;
	return cause->tries < tries ? (int)cause->tries : (int)tries;
}

/*
 * A state failed built-in checks: put each failure in the group of its
 * cause, searching for the cause while the budget lasts.  Runs while the
 * explorer owns x->m: the search rebuilds states in x->mc.
 */
int check_explain_builtin(struct run *x, const struct check_state *v,
			  const struct check_why *why, const uint8_t *choice)
{
	struct cause_state cs = {v->point, choice, x->sector, NULL, v->upto};

	if (!check_cause_model(x))
		return -errno ? -errno : -ENOMEM;
	cs.persist = kind_persist(x, v->kind);
	for (int c = 0; c < SCN_NCHECKS; c++) {
		struct cause cause;
		double t;
		unsigned tries = x->builtin_budget < BUILTIN_TRIES
				     ? x->builtin_budget
				     : BUILTIN_TRIES;
		int rc;

		if (!(v->failed & (1u << c)))
			continue;
		x->r->nfailed[c][v->kind]++;
		x->r->failed[c] |= 1u << v->kind;
		/* in-process checks are cheap, but not free: a trace with
		 * thousands of failing states gets a bound too */
		if (x->builtin_search >= BUILTIN_SECONDS)
			tries = 0;
		if (!tries && attribute(x, c, &cs, v))
			continue;
		t = check_now();
		rc = tries ? 0 : shape_of(x, c, v, &cs, &cause);
		if (rc == 0) {
			rc = search(x, c, v, &cs, tries, &cause);
			if (rc >= 0)
				x->builtin_budget -= rc;
		}
		if (rc < 0)
			return rc;
		x->builtin_search += check_now() - t;
		if (workload_interrupted())
			return -EINTR;
		rc = add_to_group(x, c, why->path[c], &cause, v, why->seen[c],
				  NULL, choice);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* An external failure (the pool idle): its cause, then its group. */
int check_explain_external(struct run *x, struct failing *f)
{
	const struct check_state *v = &f->v;
	struct cause_state cs = {v->point, NULL, x->sector, NULL, v->upto};
	unsigned tries = x->external_budget < EXTERNAL_TRIES
			     ? x->external_budget
			     : EXTERNAL_TRIES;
	uint8_t *own = NULL;
	struct cause cause;
	int rc = 0;

	if (!check_cause_model(x))
		return -errno ? -errno : -ENOMEM;
	cs.persist = kind_persist(x, v->kind);
	if (v->kind)
		cs.choice = own = choice_from_id(x, v->id, v->point);
	if (f->timed_out)
		tries = 0;
	if (attribute(x, SCN_EXTERNAL, &cs, v))
		goto out;
	if (f->timed_out) {
		memset(&cause, 0, sizeof(cause));
		cause.point = v->point;
		cause.kind = CAUSE_TIMEOUT;
	} else if ((rc = shape_of(x, SCN_EXTERNAL, v, &cs, &cause)) != 0) {
		if (rc < 0)
			goto out;
	} else {
		rc = search(x, SCN_EXTERNAL, v, &cs, tries, &cause);
		if (rc >= 0 && workload_interrupted())
			rc = -EINTR;
		if (rc < 0)
			goto out;
		x->external_budget -= rc;
	}
	rc = add_to_group(x, SCN_EXTERNAL, -1, &cause, v, 0, f->output, own);
out:
	free(own);
	return rc < 0 ? rc : 0;
}
