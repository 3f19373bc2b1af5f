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
#include "harness/preflight.h"
#include "harness/requires.h"
#include "harness/run.h"
#include "harness/seen.h"
#include "harness/tee.h"
#include "harness/workload.h"

#define DEFAULT_CHECK_TIMEOUT 30 /* seconds per external check */
#define FLIGHT                                                                 \
	4096			  /* external checks between two drains of
				    the pool: in flight, or failed and
				    waiting for their cause search */
#define WORKLOAD_OUTPUT_KEPT 4096 /* bytes of its output in a report */
#define BUILTIN_TRIES 256	  /* cause search budget per state */
#define BUILTIN_BUDGET 50000	  /* ... all in-process cause searches */
#define BUILTIN_SECONDS                                                        \
	20		   /* ... and the time they may take (a try
				     rebuilds a state and reads the path:
				     a big file makes tries slow) */
#define EXTERNAL_TRIES 12  /* checker runs per external failure ... */
#define EXTERNAL_BUDGET 48 /* ... and for all of them */
#define SHAPE_TRIES                                                            \
	4		  /* rebuilds to match a failure to a cause
				     found at other ops ... */
#define SHAPE_BUDGET 1024 /* ... and for all of them */

/* An external check that failed, waiting for its cause search. */
struct failing {
	struct check_state v; /* the state */
	char *output;	      /* what the checker said (malloc'd) */
	bool timed_out;	      /* the checker timed out */
};

struct run {
	const struct scenario *s;
	const struct check_opts *o;
	struct check_result *r;
	struct run_info ri;	   /* the recorded run */
	struct model *m;	   /* the explorers' model */
	struct model *mc;	   /* the cause search's own copy of the run
				      (loaded at the first failure) */
	struct checks *c;	   /* built-in checks and marks */
	struct checker_pool *pool; /* external checkers (NULL: none) */
	char *check_cmd;	   /* the checker, its program made absolute */
	struct explain_ctx ex;	   /* the wording of causes (on mc) */
	struct map same;	   /* (op, group) occurrences counted */
	unsigned shape_budget;	   /* shape attributions left */
	/* external checks: the states of the last FLIGHT started, by index
	 * modulo FLIGHT (the pool is drained before one is reused) */
	struct check_state *flight;
	uint64_t started;     /* external checks since the last drain */
	struct failing *fail; /* external failures waiting */
	size_t nfail;
	unsigned builtin_budget;  /* cause search tries left, in-process */
	double builtin_search;	  /* seconds they took so far */
	unsigned external_budget; /* ... with the external checker */
	uint64_t max_states;	  /* distinct states per kind (0: all) */
	struct persist ps[CHECK_NKINDS]; /* per model kind, for causes (on
					    mc) */
	uint32_t sector;
	unsigned timeout; /* seconds per external check */
	double t0, last_progress;
	double deadline; /* stop exploring at this time (0: never) */
	uint64_t done;	 /* states checked, all kinds */
	unsigned nkinds, kinds_done; /* kinds to explore, explored */
	bool progress_shown;
	bool tmp_run; /* the run is ours to remove at the end */
	int cb_error; /* -errno met in the pool's callback */
	char *slots;  /* the pool's directory, absolute (its slots) */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The cause search's model, loaded when first needed.  NULL + errno. */
static struct model *cause_model(struct run *x)
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

static int explain_external(struct run *x, struct failing *f);

/* Search the causes of the external failures waiting (the pool idle). */
static int flush_external(struct run *x)
{
	int rc = 0;

	for (size_t i = 0; i < x->nfail; i++) {
		if (!rc)
			rc = explain_external(x, &x->fail[i]);
		free(x->fail[i].output);
	}
	x->nfail = 0;
	return rc;
}

/* Wait for every external check, then explain what failed. */
static int drain(struct run *x)
{
	int rc;

	if (!x->pool)
		return 0;
	rc = checker_wait(x->pool);
	x->started = 0;
	if (rc == 0 && x->cb_error)
		rc = x->cb_error;
	if (rc == 0)
		rc = flush_external(x);
	/* a checker server that broke down (also in the cause search) is a
	 * setup error, not a verdict */
	if (rc >= 0 && checker_error(x->pool))
		rc = -EPROTO;
	if (rc < 0 && checker_error(x->pool))
		snprintf(x->r->errmsg, sizeof(x->r->errmsg), "%s",
			 checker_error(x->pool));
	return rc;
}

/* An external checker failed on a state (the pool's done callback). */
static void record_external(void *ctx, const struct checker_fail *cf)
{
	struct run *x = ctx;
	struct check_result *r = x->r;
	const struct check_state *v = &x->flight[cf->state % FLIGHT];
	struct failing *f;

	if (cf->timed_out)
		r->timeouts++;
	r->nfailed[SCN_EXTERNAL][v->kind]++;
	r->failed[SCN_EXTERNAL] |= 1u << v->kind;
	if (statelog_fail(r->states, cf->state, 1u << SCN_EXTERNAL) < 0)
		x->cb_error = -ENOMEM;
	/* at most FLIGHT wait: the pool is drained every FLIGHT starts */
	if ((x->nfail & (x->nfail - 1)) == 0) {
		f = realloc(x->fail,
			    (x->nfail ? x->nfail * 2 : 16) * sizeof(*f));
		if (!f) {
			free(cf->output);
			x->cb_error = -ENOMEM;
			return;
		}
		x->fail = f;
	}
	f = &x->fail[x->nfail++];
	f->v = *v;
	f->v.failed |= 1u << SCN_EXTERNAL;
	f->output = cf->output;
	f->timed_out = cf->timed_out;
}

/* ---- exploration ---------------------------------------------------------- */

/* What one exploration keeps track of. */
struct pass {
	struct explorer *ex;
	unsigned kind;	     /* 0 visible, 1 + i model i */
	const uint64_t *pts; /* crash points */
	size_t npts;
	struct seen seen; /* (hash, context) already checked */
	uint64_t distinct;
	char what[64]; /* "posix crash states" */
};

/* "1m20s", "45s" */
static void duration(double s, char *buf, size_t len)
{
	unsigned long t = (unsigned long)(s + 0.5);

	if (t >= 3600)
		snprintf(buf, len, "%luh%02lum", t / 3600, t / 60 % 60);
	else if (t >= 60)
		snprintf(buf, len, "%lum%02lus", t / 60, t % 60);
	else
		snprintf(buf, len, "%lus", t);
}

/*
 * "crashfs check: NAME: posix crash states: 45 checked, op 60 of 81 (40%,
 * 12s left), 20 states/s": redrawn on a terminal after the first second,
 * a line every CHECK_PROGRESS_EVERY seconds otherwise (CI logs).  The
 * share done is the share of crash points behind, over the kinds to
 * explore: the states a point has are not known before it is reached.
 */
static void progress(struct run *x, const struct pass *ps, uint64_t done,
		     size_t pi)
{
	double t = now(), el = t - x->t0, frac, every;
	char left[32] = "", buf[512];
	bool tty = x->o->progress == CHECK_PROGRESS_TTY;

	x->done++;
	every = tty ? 0.2 : CHECK_PROGRESS_EVERY;
	if (x->o->progress == CHECK_PROGRESS_NONE ||
	    el < (tty ? 1.0 : CHECK_PROGRESS_EVERY) ||
	    t - x->last_progress < every)
		return;
	x->last_progress = t;
	frac = (x->kinds_done + (double)pi / (ps->npts ? ps->npts : 1)) /
	       (x->nkinds ? x->nkinds : 1);
	if (frac > 0.001)
		duration(el * (1 - frac) / frac, left, sizeof(left));
	snprintf(buf, sizeof(buf),
		 "crashfs check: %s: %s: %llu checked, crash point %zu of %zu "
		 "(%.0f%%%s%s%s), %.0f states/s",
		 x->s->name, ps->what, (unsigned long long)done, pi + 1,
		 ps->npts, frac * 100, left[0] ? ", about " : "", left,
		 left[0] ? " left" : "", x->done / el);
	if (tty) {
		x->progress_shown = true;
		fprintf(stderr, "\r\033[K%s", buf);
	} else {
		fprintf(stderr, "%s\n", buf);
	}
	fflush(stderr);
}

/* Key of what a check's verdict depends on besides the tree. */
static uint64_t context_key(struct run *x, uint64_t point)
{
	uint64_t nm = checks_marks_upto(x->c, point);

	return nm << 1 | (point >= checks_durable_from(x->c));
}

/* Loss vector of the current state: choice per op up to its point. */
static uint8_t *losses_of(struct explorer *ex, const struct explore_state *st)
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

/* Index of the last crash point at or before k. */
static size_t point_index(const uint64_t *pts, size_t n, uint64_t k)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (pts[mid] <= k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

static int explain_builtin(struct run *x, const struct check_state *v,
			   const struct check_why *why, const uint8_t *choice);

/* Has a bound (--max-states, --max-time) stopped this kind? */
static bool bounded(struct run *x, struct pass *ps)
{
	struct check_result *r = x->r;
	enum check_stop why = CHECK_STOP_NONE;

	if (x->max_states && ps->distinct >= x->max_states)
		why = CHECK_STOP_STATES;
	else if (x->deadline && now() >= x->deadline)
		why = CHECK_STOP_TIME;
	if (why == CHECK_STOP_NONE)
		return false;
	r->capped[ps->kind] = true;
	if (r->stopped == CHECK_STOP_NONE)
		r->stopped = why;
	return true;
}

/*
 * Check the state the model's tree is in now.  Returns 0 to go on, 1 when
 * a bound stops this kind, -errno to stop.  Every state counted as
 * checked was checked: its verdict is in the state log, and its failures
 * are in a cause group (or, for the external checker, waiting for one).
 */
static int visit(struct run *x, struct pass *ps, const struct explore_state *st)
{
	struct check_result *r = x->r;
	uint64_t last = r->nops ? model_op(x->m, r->nops - 1)->seq : 0;
	size_t pi = point_index(ps->pts, ps->npts, st->point);
	uint64_t upto = pi + 1 < ps->npts ? ps->pts[pi + 1] - 1 : last;
	uint64_t key = context_key(x, upto);
	struct check_state v = {
	    .kind = ps->kind, .point = st->point, .upto = upto};
	struct check_why why;
	uint64_t idx;
	double t;
	int rc;

	r->generated[ps->kind]++;
	if (workload_interrupted()) /* before the dedup: all may be dups */
		return -EINTR;
	if (seen_add(&ps->seen, seen_fingerprint(st->hash, key)))
		return 0;
	/* shard by content, so identical states share a shard */
	if (x->o->shard_n > 1 &&
	    (st->hash ^ key * 0x9e3779b97f4a7c15ull) % x->o->shard_n !=
		x->o->shard_k)
		return 0;
	if (bounded(x, ps))
		return 1;
	snprintf(v.id, sizeof(v.id), "%.95s", st->id);
	t = now();
	v.failed = checks_eval(x->c, x->m, upto, &why);
	for (int c = 0; c < 2; c++)
		for (unsigned i = 0; i < CHECK_MAX_PATHS; i++)
			if (why.paths[c] & (1ull << i))
				r->path_failed[c][i] |= 1u << v.kind;
	idx = statelog_count(r->states);
	rc = statelog_add(r->states, &v);
	if (rc < 0) {
		snprintf(r->errmsg, sizeof(r->errmsg),
			 "cannot log the verdict of state %s: %s", st->id,
			 strerror(-rc));
		return rc;
	}
	ps->distinct++;
	r->checked[ps->kind]++;
	if (v.failed) {
		uint8_t *choice = ps->kind ? losses_of(ps->ex, st) : NULL;

		rc = explain_builtin(x, &v, &why, choice);
		free(choice);
		if (rc < 0)
			return rc;
	}
	r->builtin_seconds += now() - t;
	if (x->pool) {
		if (x->started == FLIGHT && (rc = drain(x)) < 0)
			return rc;
		x->flight[idx % FLIGHT] = v;
		x->started++;
		rc = checker_start(x->pool, x->m, idx, st->id, st->point, upto);
		if (rc < 0) {
			if (checker_error(x->pool))
				snprintf(r->errmsg, sizeof(r->errmsg), "%s",
					 checker_error(x->pool));
			else
				snprintf(r->errmsg, sizeof(r->errmsg),
					 "cannot run the checker on state %s: "
					 "%s",
					 st->id, strerror(-rc));
			return rc;
		}
	}
	progress(x, ps, ps->distinct, pi);
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
		if (!explore_visits(ps->ex, ps->pts[i]))
			continue; /* --points */
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

/*
 * Where what a check depends on besides the tree changes (see
 * context_key()): the marks and the start of --durable.  The explorer
 * leaves out a state that repeats one of an earlier point only within
 * one such context.  NULL (and *n = 0) when out of memory: then nothing
 * is left out that is not in the same context anyway.
 */
static uint64_t *context_seqs(struct run *x, size_t *n)
{
	size_t nm = checks_nmarks(x->c);
	uint64_t *v = malloc((nm + 1) * sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < nm; i++)
		v[(*n)++] = checks_mark(x->c, i)->seq;
	v[(*n)++] = checks_durable_from(x->c);
	return v;
}

static int explore_kind(struct run *x, unsigned kind)
{
	const struct scenario *s = x->s;
	const struct persist_rules *models[2] = {NULL, NULL};
	struct explore_opts eo = {.no_dedup = true};
	struct explore_state st;
	struct pass ps = {.kind = kind};
	struct explore_counts counts;
	uint64_t *ctx = NULL;
	char err[512];
	int rc, drc;

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
	eo.seed = x->o->seed ? x->o->seed : s->seed;
	eo.sector = x->sector;
	eo.points = (enum explore_points)x->o->points;
	eo.skip_dominated = !x->o->keep_repeats;
	eo.ctx_seqs = ctx = context_seqs(x, &eo.nctx);
	ps.ex = explore_new(x->m, &eo, err, sizeof(err));
	if (!ps.ex) {
		rc = -errno;
		free(ctx);
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
	drc = drain(x);
	explore_counts(ps.ex, &counts);
	x->r->dominated[kind] = counts.dominated;
	free(ctx);
	if (rc == 1)
		rc = 0;
	if (rc < 0 && !x->r->errmsg[0])
		snprintf(x->r->errmsg, sizeof(x->r->errmsg), "exploring %s: %s",
			 ps.what, explore_error(ps.ex));
	explore_free(&ps.ex);
	seen_release(&ps.seen);
	return rc < 0 ? rc : drc;
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

	if (workload_interrupted())
		return true; /* ends the search; the caller says -EINTR */
	if (p->check == SCN_EXTERNAL)
		return checker_run_now(p->x->pool, m, point, upto);
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
		choice = losses_of(ex, &st);
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
	struct pass_ctx pc = {x, c, v->point, v->upto};
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
	struct pass_ctx pc = {x, c, v->point, v->upto};

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
static int explain_builtin(struct run *x, const struct check_state *v,
			   const struct check_why *why, const uint8_t *choice)
{
	struct cause_state cs = {v->point, choice, x->sector};

	if (!cause_model(x))
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
		t = now();
		rc = tries ? 0 : shape_of(x, c, v, &cs, &cause);
		if (rc == 0) {
			rc = search(x, c, v, &cs, tries, &cause);
			if (rc >= 0)
				x->builtin_budget -= rc;
		}
		if (rc < 0)
			return rc;
		x->builtin_search += now() - t;
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
static int explain_external(struct run *x, struct failing *f)
{
	const struct check_state *v = &f->v;
	struct cause_state cs = {v->point, NULL, x->sector};
	unsigned tries = x->external_budget < EXTERNAL_TRIES
			     ? x->external_budget
			     : EXTERNAL_TRIES;
	uint8_t *own = NULL;
	struct cause cause;
	int rc = 0;

	if (!cause_model(x))
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

/* ---- the scenario ------------------------------------------------------ */

bool check_result_complete(const struct check_result *r)
{
	for (unsigned k = 0; k < CHECK_NKINDS; k++)
		if (r->capped[k])
			return false;
	return true;
}

bool check_result_check_ok(const struct check_result *r, int c)
{
	return r->has_expect ? r->failed[c] == r->s->expect_fail[c]
			     : r->failed[c] == 0;
}

enum check_status check_result_status(const struct check_result *r)
{
	if (r->error)
		return CHECK_ERROR;
	if (r->skipped)
		return CHECK_OK;
	for (int c = 0; c < SCN_NCHECKS; c++)
		if (!r->has_expect && r->failed[c])
			return CHECK_VIOLATION;
	if (r->has_expect && !r->expect_ok)
		return CHECK_VIOLATION;
	if (!check_result_complete(r) && !r->allow_partial)
		return CHECK_INCOMPLETE;
	return CHECK_OK;
}

bool check_result_ok(const struct check_result *r)
{
	return check_result_status(r) == CHECK_OK;
}

/*
 * The external checker's pool, its slots in dir (states_dir()), absolute:
 * the checker's cwd is its state, so CRASHFS_STATE and CRASHFS_MARKS must
 * not be relative to crashfs's.
 */
static int setup_pool(struct run *x, const char *dir)
{
	struct checker_opts co = {
	    .cmd = x->check_cmd,
	    .scenario_dir = x->s->dir,
	    .jobs = x->o->jobs,
	    .timeout = x->timeout,
	    .server = x->s->check_server,
	    .checks = x->c,
	    .done = record_external,
	    .ctx = x,
	    .privileged = x->o->privileged,
	};
	char err[512];
	int rc = 0;

	x->slots = realpath(dir, NULL);
	if (!x->slots)
		return -errno;
	co.dir = x->slots;
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

/* Record the workload into a fresh run (or open the one given). */
static int record(struct run *x)
{
	const struct scenario *s = x->s;
	const struct check_opts *o = x->o;
	struct check_result *r = x->r;
	struct workload w = {0};
	struct tee *tee;
	char err[1024], *run_dir = NULL, *from = NULL;
	int rc;

	if (o->recorded) {
		/* check a run recorded earlier: no workload */
		rc = run_open(o->recorded, &x->ri, err, sizeof(err));
		if (rc < 0) {
			snprintf(r->errmsg, sizeof(r->errmsg), "%.900s", err);
			return rc;
		}
		r->run_dir = strdup(x->ri.dir[0] ? x->ri.dir : o->recorded);
		r->kept = r->recorded = true;
		snprintf(r->syncs_unseen, sizeof(r->syncs_unseen), "%s",
			 x->ri.syncs_unseen);
		return r->run_dir ? 0 : -ENOMEM;
	}
	rc = run_dir_for(s, o, &run_dir);
	if (rc < 0) {
		snprintf(r->errmsg, sizeof(r->errmsg), "cannot create '%s': %s",
			 o->keep, strerror(-rc));
		return rc;
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
	w.no_sync_watch = o->no_sync_watch;
	w.keep = true; /* removed by check_scenario, after the checks */
	/* its output goes to stderr, never into a report on stdout, and
	 * its tail into the report when it fails */
	tee = tee_start(STDERR_FILENO, WORKLOAD_OUTPUT_KEPT);
	w.out_fd = tee ? tee_fd(tee) : STDERR_FILENO;
	rc = workload_run(&w, err, sizeof(err));
	r->output = tee_stop(&tee);
	r->workload_seconds = w.seconds;
	snprintf(r->syncs_unseen, sizeof(r->syncs_unseen), "%s",
		 w.syncs_unseen);
	/* a run directory that was not ours (not empty) is not "kept" */
	if (rc != -EEXIST && w.dir && !(r->run_dir = strdup(w.dir)))
		rc = -ENOMEM;
	r->kept = o->keep != NULL;
	x->tmp_run = w.tmp_run && !o->keep;
	if (rc < 0) {
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", err);
		goto out;
	}
	rc = run_open(w.dir, &x->ri, err, sizeof(err));
	if (rc < 0)
		snprintf(r->errmsg, sizeof(r->errmsg),
			 "cannot open the recorded run: %.900s", err);
out:
	workload_release(&w);
	free(run_dir);
	free(from);
	return rc;
}

/*
 * Refuse checks that would check nothing: a workload that changed
 * nothing, a path that never existed, a checker that fails on the
 * initial state (which no crash can be blamed for).
 */
static int preflight(struct run *x)
{
	const struct scenario *s = x->s;
	struct check_result *r = x->r;
	const char *where = s->file ? s->file : NULL;
	char err[900];
	int rc;

	rc = preflight_changes(x->m, err, sizeof(err));
	for (size_t i = 0; !rc && i < s->atomic.len; i++)
		rc = preflight_path(x->m, where ? "atomic" : "--atomic",
				    s->atomic.v[i], err, sizeof(err));
	for (size_t i = 0; !rc && i < s->durable.len; i++)
		rc = preflight_path(x->m, where ? "durable" : "--durable",
				    s->durable.v[i], err, sizeof(err));
	if (rc < 0) {
		snprintf(r->errmsg, sizeof(r->errmsg), "%s%s%s",
			 where ? where : "", where ? ": " : "", err);
		return rc;
	}
	return 0;
}

/* Run the checker on the initial state: it must pass there. */
static int probe_checker(struct run *x)
{
	struct check_result *r = x->r;
	double t0 = now();
	char out[600];
	size_t n;

	model_reset(x->m);
	if (checker_run_now(x->pool, x->m, 0, 0))
		return 0;
	if (workload_interrupted())
		return -EINTR;
	if (checker_error(x->pool)) {
		/* a checker server that did not start or broke the protocol */
		snprintf(r->errmsg, sizeof(r->errmsg), "%s",
			 checker_error(x->pool));
		return -EINVAL;
	}
	n = snprintf(out, sizeof(out), "%s", checker_last_output(x->pool));
	if (n >= sizeof(out))
		n = sizeof(out) - 1;
	while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	if (now() - t0 >= x->timeout)
		snprintf(out, sizeof(out), "(it did not finish in %u s)",
			 x->timeout);
	snprintf(r->errmsg, sizeof(r->errmsg),
		 "the checker fails on the initial state, before the "
		 "workload's first operation, where no crash can be to blame: "
		 "%s%s; the checker must accept the state the workload "
		 "starts from (it runs as sh -c '%s' in a copy of the state%s)",
		 out[0] ? "it said: " : "it printed nothing", out, x->check_cmd,
		 x->s->file ? "; relative paths in the scenario's directory "
			      "are made absolute"
			    : "; a relative path to the checker is taken "
			      "from the directory crashfs was started in");
	return -EINVAL;
}

/* The checker with its program made absolute (see preflight.h). */
static int resolve_checker(struct run *x)
{
	char *cwd = NULL;
	const char *base = x->s->file && x->s->dir ? x->s->dir : NULL;

	if (!base)
		base = cwd = getcwd(NULL, 0);
	x->check_cmd =
	    base
		? preflight_resolve_cmd(x->s->check, base,
					x->ri.initial[0] ? x->ri.initial : NULL)
		: strdup(x->s->check);
	free(cwd);
	return x->check_cmd ? 0 : -ENOMEM;
}

/*
 * The directory for checkers' copies of states: a new RUN/states.XXXXXX,
 * or a private one under --state-dir or for a bare trace (removed at the
 * end either way).  A new directory (mkdtemp): a RUN from elsewhere may
 * hold anything, e.g. a symlink where a slot or its output file would go,
 * and two checks of one RUN may run at once.
 */
static char *states_dir(struct run *x)
{
	const char *tmpdir = getenv("TMPDIR");
	char *dir = NULL;

	if (x->o->state_dir)
		tmpdir = x->o->state_dir;
	if (!x->ri.dir[0] || x->o->state_dir) {
		if (asprintf(&dir, "%s/crashfs-states.XXXXXX",
			     tmpdir && *tmpdir ? tmpdir : "/tmp") >= 0 &&
		    !mkdtemp(dir)) {
			free(dir);
			dir = NULL;
		}
		return dir;
	}
	if (asprintf(&dir, "%s/states.XXXXXX", x->ri.dir) < 0)
		return NULL;
	if (!mkdtemp(dir)) {
		free(dir);
		return NULL;
	}
	chmod(dir, 0755); /* as the slots: a checker may switch users */
	return dir;
}

/* Check every state of the loaded run. */
static int check_run(struct run *x)
{
	const struct scenario *s = x->s;
	struct check_result *r = x->r;
	char err[1024], *states = NULL;
	uint32_t kinds = scenario_kinds(s);
	int rc;

	x->c = checks_new(x->m, &s->atomic, &s->durable, err, sizeof(err));
	if (!x->c) {
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", err);
		return errno == EINTR ? -EINTR : -EINVAL;
	}
	x->ex = (struct explain_ctx){x->mc, x->c, x->sector, x->timeout};
	rc = preflight(x);
	if (rc < 0)
		return rc;
	r->states = statelog_new(NULL);
	if (!r->states) {
		rc = -errno;
		snprintf(r->errmsg, sizeof(r->errmsg),
			 "cannot make the state log: %s", strerror(errno));
		return rc;
	}
	if (s->check) {
		rc = resolve_checker(x);
		x->flight = calloc(FLIGHT, sizeof(*x->flight));
		states = states_dir(x);
		if (rc == 0 && x->flight && !states && x->o->state_dir) {
			rc = errno ? -errno : -ENOMEM;
			snprintf(r->errmsg, sizeof(r->errmsg),
				 "cannot make a directory for the states in "
				 "'%s': %s",
				 x->o->state_dir, strerror(-rc));
			goto out;
		}
		if (rc < 0 || !x->flight || !states) {
			rc = rc < 0 ? rc : -errno ? -errno : -ENOMEM;
			snprintf(r->errmsg, sizeof(r->errmsg),
				 "cannot prepare the checker: %s",
				 strerror(-rc));
			goto out;
		}
		rc = setup_pool(x, states);
		if (rc == 0)
			rc = probe_checker(x);
		if (rc < 0)
			goto out;
	}
	x->t0 = now();
	if (x->o->max_seconds > 0)
		x->deadline = x->t0 + x->o->max_seconds;
	x->nkinds = __builtin_popcount(kinds);
	for (unsigned k = 0; k < CHECK_NKINDS && !rc; k++)
		if (kinds & (1u << k)) {
			rc = explore_kind(x, k);
			x->kinds_done++;
		}
	r->explore_seconds = now() - x->t0;
	if (x->progress_shown)
		fprintf(stderr, "\r\033[K");
	if (rc < 0)
		goto out;
	/* worded once every occurrence is known */
	for (size_t i = 0; i < r->ngroups; i++)
		explain_group(&x->ex, &r->groups[i]);
	if (r->ngroups > 1)
		qsort(r->groups, r->ngroups, sizeof(*r->groups), cmp_groups);
	r->has_expect = s->has_expect;
	r->expect_ok = true;
	/* a shard sees only some states: it can only find failures that
	 * were not expected, not miss expected ones */
	for (int c = 0; c < SCN_NCHECKS; c++)
		if (x->o->shard_n > 1 ? (r->failed[c] & ~s->expect_fail[c]) != 0
				      : r->failed[c] != s->expect_fail[c])
			r->expect_ok = false;
out:
	checker_pool_free(&x->pool);
	if (states)
		workload_rmtree(states); /* RUN/states.* or the private one */
	free(states);
	free(x->slots);
	x->slots = NULL;
	return rc;
}

int check_scenario(const struct scenario *s, const struct check_opts *o,
		   struct check_result *r)
{
	struct run x = {.s = s, .o = o, .r = r};
	char err[1024];
	double t0 = now();
	int rc;

	memset(r, 0, sizeof(*r));
	r->s = s;
	r->privileged = o->privileged;
	r->started = (double)time(NULL);
	x.t0 = t0;
	x.builtin_budget = BUILTIN_BUDGET;
	x.external_budget = EXTERNAL_BUDGET;
	x.shape_budget = SHAPE_BUDGET;
	x.max_states = o->max_states ? o->max_states : s->max_states;
	r->max_states = x.max_states;
	r->allow_partial = o->allow_partial;
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
	/* a scenario file's `requires`: skipped, not failed, without them */
	if (!o->recorded) {
		rc = requires_missing(&s->requires, r->skip_reason,
				      sizeof(r->skip_reason));
		if (rc < 0) {
			snprintf(r->errmsg, sizeof(r->errmsg),
				 "cannot check the scenario's requirements: %s",
				 strerror(-rc));
			return r->error = rc;
		}
		if (rc) {
			r->skipped = true;
			r->seconds = now() - t0;
			return 0;
		}
	}
	rc = record(&x);
	if (rc < 0)
		goto out;
	x.m = run_load(&x.ri, err, sizeof(err));
	if (!x.m) {
		rc = -errno ? -errno : -EIO;
		snprintf(r->errmsg, sizeof(r->errmsg),
			 "cannot load the recorded run: %.900s", err);
		goto out;
	}
	r->nops = model_nops(x.m);
	x.sector = model_header(x.m)->sector_size
		       ? model_header(x.m)->sector_size
		       : 512;
	if (!o->recorded) {
		char *sh[] = {"sh", "-c", s->run, NULL};

		if (!run_write_meta(&x.ri, x.sector, o->argv ? o->argv : sh))
			run_note_syncs(&x.ri, r->syncs_unseen);
	}
	rc = check_run(&x);
out:
	if (rc < 0) {
		r->error = rc;
		if (rc == -EINTR)
			snprintf(r->errmsg, sizeof(r->errmsg), "interrupted");
		else if (!r->errmsg[0])
			snprintf(r->errmsg, sizeof(r->errmsg), "%s",
				 strerror(-rc));
	}
	for (size_t i = 0; i < x.nfail; i++)
		free(x.fail[i].output);
	free(x.fail);
	free(x.flight);
	map_release(&x.same);
	free(x.check_cmd);
	for (unsigned k = 0; k < CHECK_NKINDS; k++)
		persist_release(&x.ps[k]);
	checks_free(&x.c);
	model_free(&x.m);
	model_free(&x.mc);
	if (x.tmp_run && r->run_dir) {
		workload_rmtree(r->run_dir);
		free(r->run_dir);
		r->run_dir = NULL;
	}
	r->seconds = now() - t0;
	return r->error;
}

void check_result_release(struct check_result *r)
{
	for (size_t i = 0; i < r->ngroups; i++)
		free(r->groups[i].output);
	free(r->groups);
	statelog_free(&r->states);
	free(r->run_dir);
	free(r->output);
	memset(r, 0, sizeof(*r));
}
