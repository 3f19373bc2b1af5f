/* SPDX-License-Identifier: MIT */
/** @file
 *
 * crashfs check for one scenario (see check.h).
 *
 * Exploration is one explorer per kind: the visible states (the explorer's
 * 'v' states of any model: they do not depend on it) and, per model, all
 * its crash states.  The explorer owns the model's tree while it runs, so
 * a failing state's losses are copied out as it is met, and the causes
 * are searched after the explorer is gone, by rebuilding states with
 * cause_apply().
 *
 * External checkers run in a pool (harness/checker.h) while the main
 * thread builds the next state; the wording of causes is harness/explain.
 */
#include "harness/check.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/map.h"
#include "core/persist.h"
#include "core/util.h"
#include "harness/checker.h"
#include "harness/checks.h"
#include "harness/explain.h"
#include "harness/explore.h"
#include "harness/run.h"
#include "harness/workload.h"

#define DEFAULT_CHECK_TIMEOUT 30 /* seconds per external check */
#define MAX_FAILING 4096	 /* failing states whose losses are kept */
#define MAX_STATES_KEPT 200000	 /* per-state verdicts kept for JSON */
#define BUILTIN_TRIES 256	 /* cause search budget per state */
#define BUILTIN_BUDGET 50000	 /* ... all in-process cause searches */
#define EXTERNAL_TRIES 12	 /* checker runs per external failure ... */
#define EXTERNAL_BUDGET 48	 /* ... and for all of them */

struct run {
	const struct scenario *s;
	const struct check_opts *o;
	struct check_result *r;
	struct model *m;
	struct checks *c;
	struct checker_pool *pool; /* external checkers (NULL: none) */
	struct explain_ctx ex;	   /* for the wording of causes */
	/* failing states kept for the cause search */
	struct failing {
		size_t state;	      /* index in r->states */
		uint32_t failed;      /* checks it failed */
		struct check_why why; /* built-in details */
		uint8_t *choice;      /* point entries, or NULL */
		char *output;	      /* external checker output */
		bool timed_out;	      /* the checker timed out */
	} * fail;
	size_t nfail;
	uint32_t sector;
	unsigned timeout; /* seconds per external check */
	double t0, last_progress;
	uint64_t done; /* states checked, all kinds */
	bool progress_shown;
	char *states; /* RUN/states.XXXXXX of the checker pool, or NULL */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- recording verdicts ------------------------------------------------ */

static size_t add_state(struct run *x, const struct explore_state *st,
			unsigned kind, uint64_t upto)
{
	struct check_result *r = x->r;
	struct check_state *v;

	if (r->nstates >= MAX_STATES_KEPT)
		return SIZE_MAX;
	if ((r->nstates & (r->nstates - 1)) == 0) {
		v = realloc(r->states,
			    (r->nstates ? r->nstates * 2 : 64) * sizeof(*v));
		if (!v)
			return SIZE_MAX;
		r->states = v;
	}
	v = &r->states[r->nstates];
	memset(v, 0, sizeof(*v));
	snprintf(v->id, sizeof(v->id), "%.95s", st->id);
	v->kind = kind;
	v->point = st->point;
	v->upto = upto;
	return r->nstates++;
}

static void record_failure(struct run *x, size_t state, uint32_t failed,
			   const struct check_why *why, const uint8_t *choice,
			   uint64_t point, char *output)
{
	struct failing *f;
	struct check_state *v = &x->r->states[state];

	v->failed |= failed;
	for (int c = 0; c < SCN_NCHECKS; c++)
		if (failed & (1u << c)) {
			x->r->nfailed[c][v->kind]++;
			x->r->failed[c] |= 1u << v->kind;
		}
	if (x->nfail >= MAX_FAILING) {
		free(output);
		return;
	}
	if ((x->nfail & (x->nfail - 1)) == 0) {
		f = realloc(x->fail,
			    (x->nfail ? x->nfail * 2 : 16) * sizeof(*f));
		if (!f) {
			free(output);
			return;
		}
		x->fail = f;
	}
	f = &x->fail[x->nfail++];
	memset(f, 0, sizeof(*f));
	f->state = state;
	f->failed = failed;
	if (why)
		f->why = *why;
	if (choice) {
		f->choice = malloc(point ? point : 1);
		if (f->choice)
			memcpy(f->choice, choice, point);
	}
	f->output = output;
}

/* An external checker failed on a state (the pool's done callback). */
static void record_external(void *ctx, const struct checker_fail *f)
{
	struct run *x = ctx;

	if (f->timed_out)
		x->r->timeouts++;
	/* external failures keep no loss vector (built from the id later) */
	record_failure(x, f->state, 1u << SCN_EXTERNAL, NULL, NULL, f->point,
		       f->output);
	if (f->timed_out && x->nfail && x->fail[x->nfail - 1].state == f->state)
		x->fail[x->nfail - 1].timed_out = true;
}

/* ---- exploration ---------------------------------------------------------- */

/* "crashfs check: NAME: posix crash states: 45 checked, at op 60 of 81,
 * 20 states/s" on a terminal, for explorations longer than a second. */
static void progress(struct run *x, const char *what, uint64_t done,
		     uint64_t point)
{
	double t = now();

	x->done++;
	if (!x->o->progress || t - x->t0 < 1.0 || t - x->last_progress < 0.2)
		return;
	x->last_progress = t;
	x->progress_shown = true;
	fprintf(stderr,
		"\r\033[Kcrashfs check: %s: %s: %llu checked, at op "
		"%llu of %llu, %.0f states/s",
		x->s->name, what, (unsigned long long)done,
		(unsigned long long)point, (unsigned long long)x->r->nops,
		x->done / (t - x->t0));
	fflush(stderr);
}

/* Key of what a check's verdict depends on besides the tree. */
static uint64_t context_key(struct run *x, uint64_t point)
{
	uint64_t nm = checks_marks_upto(x->c, point);

	return nm << 1 | (point >= checks_durable_from(x->c));
}

/* Loss vector of the current state: choice per op up to its point. */
static uint8_t *losses_of(struct run *x, struct explorer *ex,
			  const struct explore_state *st)
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
	(void)x;
	return choice;
}

/* Last op before the crash point after k (see check_state.upto). */
static uint64_t upto_of(const uint64_t *pts, size_t n, uint64_t k,
			uint64_t last)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (pts[mid] <= k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n ? pts[lo] - 1 : last;
}

/* What one exploration keeps track of. */
struct pass {
	struct explorer *ex;
	unsigned kind;	     /* 0 visible, 1 + i model i */
	const uint64_t *pts; /* crash points */
	size_t npts;
	struct map seen; /* (hash, context) already checked */
	uint64_t distinct;
	char what[64]; /* "posix crash states" */
};

/*
 * Check the state the model's tree is in now.  Returns 0 to go on, 1 when
 * --max-states is reached, -errno to stop.
 */
static int visit(struct run *x, struct pass *ps, const struct explore_state *st)
{
	uint64_t last = x->r->nops ? model_op(x->m, x->r->nops - 1)->seq : 0;
	uint64_t upto = upto_of(ps->pts, ps->npts, st->point, last);
	uint64_t key = context_key(x, upto);
	struct check_why why;
	uint32_t failed;
	size_t idx;
	int rc;

	x->r->generated[ps->kind]++;
	if (workload_interrupted()) /* before the dedup: all may be dups */
		return -EINTR;
	if (map_get(&ps->seen, st->hash, key))
		return 0;
	map_put(&ps->seen, st->hash, key, (void *)1);
	/* shard by content, so identical states share a shard */
	if (x->o->shard_n > 1 &&
	    (st->hash ^ key * 0x9e3779b97f4a7c15ull) % x->o->shard_n !=
		x->o->shard_k)
		return 0;
	if (x->o->max_states && ps->distinct >= x->o->max_states) {
		x->r->capped[ps->kind] = true;
		return 1;
	}
	ps->distinct++;
	x->r->checked[ps->kind]++;
	idx = add_state(x, st, ps->kind, upto);
	if (idx == SIZE_MAX)
		return 0;
	failed = checks_eval(x->c, x->m, upto, &why);
	if (failed) {
		uint8_t *choice = ps->kind ? losses_of(x, ps->ex, st) : NULL;

		record_failure(x, idx, failed, &why, choice, st->point, NULL);
		free(choice);
	}
	if (x->s->check) {
		rc = checker_start(x->pool, x->m, idx, st->point, upto);
		if (rc < 0) {
			snprintf(x->r->errmsg, sizeof(x->r->errmsg),
				 "cannot run the checker on state %s: %s",
				 st->id, strerror(-rc));
			return rc;
		}
	}
	progress(x, ps->what, ps->distinct, st->point);
	return 0;
}

/*
 * The visible states: the tree after each crash point, everything
 * persisted.  Built directly (explore_visible), since the explorer
 * yields a 'v' state only where something is pending.  Their ids are
 * "k<K>.visible"; `crashfs replay RUN --point K` rebuilds them.
 */
static int visible_pass(struct run *x, struct pass *ps)
{
	struct explore_state st;
	int rc = 0;

	for (size_t i = 0; i < ps->npts && rc == 0; i++) {
		memset(&st, 0, sizeof(st));
		st.point = ps->pts[i];
		st.kind = XK_VISIBLE;
		snprintf(st.id, sizeof(st.id), "k%llu.visible",
			 (unsigned long long)st.point);
		rc = explore_visible(ps->ex, st.point);
		if (rc < 0)
			break;
		st.hash = model_hash(x->m, model_root(x->m));
		rc = visit(x, ps, &st);
	}
	return rc;
}

static int explore_kind(struct run *x, unsigned kind)
{
	const struct scenario *s = x->s;
	const struct persist_rules *models[2] = {NULL, NULL};
	struct explore_opts eo = {0};
	struct explore_state st;
	struct pass ps = {.kind = kind};
	char err[512];
	int rc;

	if (kind == 0) {
		models[0] = persist_find(s->models.v[0]);
		eo.kinds = 1u << XK_VISIBLE;
		snprintf(ps.what, sizeof(ps.what), "visible states");
	} else {
		models[0] = persist_find(s->models.v[kind - 1]);
		eo.random = 2;
		snprintf(ps.what, sizeof(ps.what), "%s crash states",
			 s->models.v[kind - 1]);
	}
	eo.models = models;
	eo.seed = x->o->seed;
	eo.sector = x->sector;
	ps.ex = explore_new(x->m, &eo, err, sizeof(err));
	if (!ps.ex) {
		rc = -errno;
		snprintf(x->r->errmsg, sizeof(x->r->errmsg),
			 "cannot explore the run: %s", err);
		return rc;
	}
	ps.pts = explore_points(ps.ex, &ps.npts);
	x->r->points[kind] = ps.npts;
	if (kind == 0) {
		rc = visible_pass(x, &ps);
	} else {
		while ((rc = explore_next(ps.ex, &st)) > 0)
			if ((rc = visit(x, &ps, &st)) != 0)
				break;
	}
	if (x->pool)
		checker_wait(x->pool);
	if (rc == 1)
		rc = 0;
	if (rc < 0 && !x->r->errmsg[0])
		snprintf(x->r->errmsg, sizeof(x->r->errmsg), "exploring %s: %s",
			 ps.what, explore_error(ps.ex));
	explore_free(&ps.ex);
	map_release(&ps.seen);
	return rc < 0 ? rc : 0;
}

/* ---- causes ------------------------------------------------------------ */

struct pass_ctx {
	struct run *x;
	enum scn_check check;
	uint64_t point; /* the state's crash point ... */
	uint64_t upto;	/* ... stands for a crash up to here */
};

static bool pass_fn(void *ctx, struct model *m, uint64_t point)
{
	struct pass_ctx *p = ctx;
	uint64_t upto = point == p->point ? p->upto : point;

	if (p->check == SCN_EXTERNAL)
		return checker_run_now(p->x->pool, m, point, upto);
	return !(checks_eval(p->x->c, m, upto, NULL) & (1u << p->check));
}

/* Rebuild the loss vector of an external failure from its id. */
static uint8_t *choice_from_id(struct run *x, const char *id, uint64_t point)
{
	const struct persist_rules *models[2] = {NULL, NULL};
	struct explore_opts eo = {0};
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
	ex = explore_new(x->m, &eo, err, sizeof(err));
	if (!ex)
		return NULL;
	if (explore_goto(ex, id, &st) == 0)
		choice = losses_of(x, ex, &st);
	explore_free(&ex);
	return choice;
}

/* Same op type on the same file (the same mistake at another moment). */
static bool same_shape(struct model *m, uint64_t a, uint64_t b)
{
	const struct model_op *x, *y;

	if (a == b)
		return true;
	if (!a || !b)
		return false;
	x = model_op_seq(m, a);
	y = model_op_seq(m, b);
	return x && y && x->type == y->type && x->node == y->node &&
	       x->dir == y->dir && x->dir2 == y->dir2;
}

/*
 * Does cause c belong to group g?  Exactly the same ops, or the same
 * shape (same op types on the same files: an append log losing each of
 * its appends is one mistake, not five).  *exact says which.
 */
static bool same_cause(struct model *m, const struct check_group *g,
		       enum scn_check check, int path, const struct cause *c,
		       bool *exact)
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
	for (size_t i = 0; i < c->nops; i++)
		if (!same_shape(m, g->cause.ops[i], c->ops[i]) ||
		    !same_shape(m, g->cause.before[i], c->before[i]))
			return false;
	return true;
}

static int add_to_group(struct run *x, enum scn_check check, int path,
			const struct cause *c, const struct check_state *v,
			uint64_t seen, const char *output,
			const uint8_t *choice)
{
	struct check_result *r = x->r;
	struct check_group *g;

	for (size_t i = 0; i < r->ngroups; i++) {
		bool exact;

		g = &r->groups[i];
		if (!same_cause(x->m, g, check, path, c, &exact))
			continue;
		if (!exact && c->nops) {
			size_t k;

			for (k = 0; k < g->nalso; k++)
				if (g->also[k] == c->ops[0])
					break;
			if (k == g->nalso && g->nalso < CHECK_MAX_ALSO)
				g->also[g->nalso++] = c->ops[0];
			else if (k == g->nalso)
				g->more_also = true;
		}
		if (memcmp(g->cause.how, c->how, sizeof(c->how)) && !g->mixed) {
			size_t n;

			g->mixed = true;
			memset(g->cause.how, CAUSE_DROP, sizeof(c->how));
			explain_group(&x->ex, g);
			n = strlen(g->text);
			snprintf(g->text + n, sizeof(g->text) - n,
				 " (in some states it was torn or persisted "
				 "as zeros instead)");
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
	g->seen = seen;
	snprintf(g->example, sizeof(g->example), "%s", v->id);
	g->example_point = v->point;
	g->example_upto = v->upto;
	g->output = output ? strdup(output) : NULL;
	if (check != SCN_EXTERNAL) {
		const char *d = checks_describe(x->c, check, path, seen);
		char pv[120] = "";

		if (strstr(d, "none of its versions"))
			explain_preview(&x->ex, checks_path(x->c, check, path),
					v->point, v->kind ? choice : NULL, pv,
					sizeof(pv));
		snprintf(g->held, sizeof(g->held), "%s%s", d, pv);
	}
	explain_group(&x->ex, g);
	return 0;
}

static int cmp_groups(const void *a, const void *b)
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

		if (g->check != check || !cause_matches(x->m, &g->cause, cs))
			continue;
		g->kinds |= 1u << v->kind;
		g->kcount[v->kind]++;
		g->count++;
		return true;
	}
	return false;
}

static int find_causes(struct run *x)
{
	unsigned budget = EXTERNAL_BUDGET, builtin = BUILTIN_BUDGET;

	for (size_t i = 0; i < x->nfail; i++) {
		struct failing *f = &x->fail[i];
		const struct check_state *v = &x->r->states[f->state];

		if (workload_interrupted())
			return -EINTR;

		for (int c = 0; c < SCN_NCHECKS; c++) {
			struct cause_state cs = {v->point, f->choice,
						 x->sector};
			struct pass_ctx pc = {x, c, v->point, v->upto};
			struct cause cause = {0};
			uint8_t *own = NULL;
			unsigned tries = BUILTIN_TRIES;

			if (!(f->failed & (1u << c)))
				continue;
			cause.point = v->point;
			if (c == SCN_EXTERNAL && v->kind)
				cs.choice = own =
				    choice_from_id(x, v->id, v->point);
			if (c == SCN_EXTERNAL) {
				tries = budget < EXTERNAL_TRIES
					    ? budget
					    : EXTERNAL_TRIES;
				if (f->timed_out)
					tries = 0;
				if (attribute(x, c, &cs, v)) {
					free(own);
					continue;
				}
			}
			if (c != SCN_EXTERNAL) {
				/* in-process checks are cheap, but not free:
				 * a trace with thousands of failing states
				 * gets a bound too */
				tries = builtin < BUILTIN_TRIES ? builtin
								: BUILTIN_TRIES;
				if (!tries && attribute(x, c, &cs, v)) {
					free(own);
					continue;
				}
			}
			if (c == SCN_EXTERNAL && f->timed_out) {
				cause.kind = CAUSE_TIMEOUT;
			} else if (v->kind && !cs.choice) {
				cause.kind = CAUSE_UNKNOWN;
			} else if (tries == 0) {
				if (cause_summary(x->m, &cs, &cause) < 0) {
					free(own);
					return -ENOMEM;
				}
			} else {
				struct cause_state probe = cs;

				/* count what the search spends */
				if (cause_find(x->m, &probe, pass_fn, &pc,
					       tries, &cause) < 0) {
					free(own);
					return -ENOMEM;
				}
				tries =
				    cause.tries < tries ? cause.tries : tries;
				if (c == SCN_EXTERNAL)
					budget -= tries;
				else
					builtin -= tries;
			}
			free(own);
			add_to_group(
			    x, c, c == SCN_EXTERNAL ? -1 : f->why.path[c],
			    &cause, v, f->why.seen[c], f->output, f->choice);
		}
	}
	if (x->r->ngroups > 1)
		qsort(x->r->groups, x->r->ngroups, sizeof(*x->r->groups),
		      cmp_groups);
	return 0;
}

/* ---- the scenario ------------------------------------------------------ */

bool check_result_ok(const struct check_result *r)
{
	if (r->error)
		return false;
	if (r->has_expect)
		return r->expect_ok;
	for (int c = 0; c < SCN_NCHECKS; c++)
		if (r->failed[c])
			return false;
	return true;
}

/*
 * The external checker's pool, its slots in a new RUN/states.XXXXXX,
 * absolute: the checker's cwd is its state, so CRASHFS_STATE and
 * CRASHFS_MARKS must not be relative to crashfs's.  A new directory
 * (mkdtemp): a RUN from elsewhere may hold anything, e.g. a symlink
 * where a slot or its output file would go, and two checks of one RUN
 * may run at once.
 */
static int setup_pool(struct run *x)
{
	struct checker_opts co = {
	    .cmd = x->s->check,
	    .scenario_dir = x->s->dir,
	    .jobs = x->o->jobs,
	    .timeout = x->timeout,
	    .checks = x->c,
	    .done = record_external,
	    .ctx = x,
	    .privileged = x->o->privileged,
	};
	char *dir, err[512];
	int rc = 0;

	if (!x->s->check)
		return 0;
	if (asprintf(&dir, "%s/states.XXXXXX", x->r->run_dir) < 0)
		return -ENOMEM;
	if (!mkdtemp(dir)) {
		rc = -errno;
		snprintf(x->r->errmsg, sizeof(x->r->errmsg),
			 "cannot create '%s': %s", dir, strerror(errno));
		free(dir);
		return rc;
	}
	chmod(dir, 0755); /* as the slots: a checker may switch users */
	x->states = realpath(dir, NULL);
	if (!x->states) {
		rc = -errno;
		workload_rmtree(dir);
		free(dir);
		return rc;
	}
	free(dir);
	co.dir = x->states;
	x->pool = checker_pool_new(&co, err, sizeof(err));
	if (!x->pool) {
		rc = -errno;
		snprintf(x->r->errmsg, sizeof(x->r->errmsg), "%s", err);
	}
	return rc;
}

static int run_dir_for(const struct scenario *s, const struct check_opts *o,
		       char **out)
{
	*out = NULL;
	if (!o->keep)
		return 0;
	if (o->keep_is_run)
		*out = strdup(o->keep);
	else if (mkdir(o->keep, 0755) < 0 && errno != EEXIST)
		return -errno;
	else if (asprintf(out, "%s/%s", o->keep, s->name) < 0)
		*out = NULL;
	return *out ? 0 : -ENOMEM;
}

int check_scenario(const struct scenario *s, const struct check_opts *o,
		   struct check_result *r)
{
	struct workload w = {0};
	struct run x = {.s = s, .o = o, .r = r};
	struct run_info ri;
	char err[1024], trace[4200], initial[4200];
	char *run_dir = NULL, *from = NULL;
	double t0 = now();
	int rc;

	memset(r, 0, sizeof(*r));
	r->s = s;
	r->privileged = o->privileged;
	x.t0 = t0;
	x.timeout = s->check_timeout   ? s->check_timeout
		    : o->check_timeout ? o->check_timeout
				       : DEFAULT_CHECK_TIMEOUT;
	for (size_t i = 0; i < s->models.len; i++)
		if (!persist_find(s->models.v[i])) {
			snprintf(r->errmsg, sizeof(r->errmsg),
				 "%s: unknown model '%s' (posix, ext4, strict "
				 "or prefix)",
				 s->file ? s->file : s->name, s->models.v[i]);
			return r->error = -EINVAL;
		}
	if (o->recorded) {
		/* check a run recorded earlier: no workload */
		if (run_open(o->recorded, &ri, err, sizeof(err)) < 0) {
			snprintf(r->errmsg, sizeof(r->errmsg), "%.900s", err);
			return r->error = -ENOENT;
		}
		r->run_dir = strdup(ri.dir[0] ? ri.dir : o->recorded);
		r->kept = true;
		goto loaded;
	}
	rc = run_dir_for(s, o, &run_dir);
	if (rc < 0) {
		snprintf(r->errmsg, sizeof(r->errmsg), "cannot create '%s': %s",
			 o->keep, strerror(-rc));
		return r->error = rc;
	}
	w.run_dir = run_dir;
	/* a scenario's `from` is relative to the scenario file */
	if (s->from && s->file && s->dir && s->from[0] != '/' &&
	    asprintf(&from, "%s/%s", s->dir, s->from) < 0)
		from = NULL;
	w.from = from ? from : s->from;
	w.setup = s->setup;
	w.argv = o->argv;
	w.shell = s->run;
	w.scenario_dir = s->dir;
	w.timeout = o->timeout ? o->timeout : s->timeout;
	w.verbose = o->verbose;
	w.keep = o->keep != NULL;
	rc = workload_run(&w, err, sizeof(err));
	r->workload_seconds = w.seconds;
	r->run_dir = w.dir ? strdup(w.dir) : NULL;
	r->kept = o->keep != NULL;
	if (rc < 0) {
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", err);
		r->error = rc;
		goto out;
	}
	(void)trace;
	(void)initial;
	if (run_open(w.dir, &ri, err, sizeof(err)) < 0) {
		snprintf(r->errmsg, sizeof(r->errmsg),
			 "cannot open the recorded run: %.900s", err);
		r->error = -EIO;
		goto out;
	}
loaded:
	x.m = run_load(&ri, err, sizeof(err));
	if (!x.m) {
		rc = -errno;
		snprintf(r->errmsg, sizeof(r->errmsg),
			 "cannot load the recorded run: %.900s", err);
		r->error = rc ? rc : -EIO;
		goto out;
	}
	r->nops = model_nops(x.m);
	x.sector = model_header(x.m)->sector_size
		       ? model_header(x.m)->sector_size
		       : 512;
	{
		char *sh[] = {"sh", "-c", s->run, NULL};

		if (!o->recorded)
			run_write_meta(&ri, x.sector, o->argv ? o->argv : sh);
	}
	x.c = checks_new(x.m, &s->atomic, &s->durable, err, sizeof(err));
	if (!x.c) {
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", err);
		r->error = errno == EINTR ? -EINTR : -EINVAL;
		goto out;
	}
	x.ex = (struct explain_ctx){x.m, x.c, x.sector, x.timeout};
	rc = setup_pool(&x);
	if (rc < 0) {
		r->error = rc;
		goto out;
	}
	{
		uint32_t kinds = scenario_kinds(s);

		for (unsigned k = 0; k < CHECK_NKINDS && !rc; k++)
			if (kinds & (1u << k))
				rc = explore_kind(&x, k);
	}
	if (x.progress_shown)
		fprintf(stderr, "\r\033[K");
	if (rc < 0) {
		r->error = rc;
		if (rc == -EINTR)
			snprintf(r->errmsg, sizeof(r->errmsg), "interrupted");
		goto out;
	}
	rc = find_causes(&x);
	if (rc < 0)
		goto out_err;
	r->has_expect = s->has_expect;
	r->expect_ok = true;
	/* a shard sees only some states: it can only find failures that
	 * were not expected, not miss expected ones */
	for (int c = 0; c < SCN_NCHECKS; c++)
		if (o->shard_n > 1 ? (r->failed[c] & ~s->expect_fail[c]) != 0
				   : r->failed[c] != s->expect_fail[c])
			r->expect_ok = false;
	goto out;
out_err:
	snprintf(r->errmsg, sizeof(r->errmsg), "%s",
		 rc == -EINTR ? "interrupted" : strerror(-rc));
	r->error = rc;
out:
	for (size_t i = 0; i < x.nfail; i++) {
		free(x.fail[i].choice);
		free(x.fail[i].output);
	}
	free(x.fail);
	checker_pool_free(&x.pool);
	if (x.states) {
		workload_rmtree(x.states);
		free(x.states);
	}
	checks_free(&x.c);
	model_free(&x.m);
	workload_release(&w);
	free(run_dir);
	free(from);
	r->seconds = now() - t0;
	return r->error;
}

void check_result_release(struct check_result *r)
{
	for (size_t i = 0; i < r->ngroups; i++)
		free(r->groups[i].output);
	free(r->groups);
	free(r->states);
	free(r->run_dir);
	memset(r, 0, sizeof(*r));
}
