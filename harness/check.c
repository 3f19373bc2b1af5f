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
 * cause_apply() (harness/check_causes.c; what the two share is
 * harness/check_int.h).
 *
 * External checkers run in a pool (harness/checker.h) while the main
 * thread builds the next state; the wording of causes is harness/explain.
 */
#include "harness/check_int.h"

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

/* qsort order of struct failing: the order the states were explored. */
static int cmp_failing(const void *a, const void *b)
{
	const struct failing *x = a, *y = b;

	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Search the causes of the external failures waiting (the pool idle), in
 * the order their states were explored, not the order their checkers
 * ended: the first failure of a cause gives its example state and
 * wording, and that must not depend on timing (--jobs).
 */
static int flush_external(struct run *x)
{
	int rc = 0;

	if (x->nfail > 1)
		qsort(x->fail, x->nfail, sizeof(*x->fail), cmp_failing);
	for (size_t i = 0; i < x->nfail; i++) {
		if (!rc)
			rc = check_explain_external(x, &x->fail[i]);
		free(x->fail[i].output);
	}
	x->nfail = 0;
	return rc;
}

/* The checks started since the last drain (the last x->started states
 * logged) have ended: those whose failure was not reported
 * (record_external) passed. */
static void settle_verdicts(struct run *x)
{
	uint64_t n = statelog_count(x->r->states);

	for (uint64_t i = n - x->started; i < n; i++) {
		const uint64_t *k = x->flight_key[i % FLIGHT];

		if (map_get(&x->verdicts, k[0], k[1]) == VERDICT_PENDING)
			map_put(&x->verdicts, k[0], k[1], VERDICT_PASS);
	}
}

/* Wait for every external check, then explain what failed. */
static int drain(struct run *x)
{
	int rc;

	if (!x->pool)
		return 0;
	rc = checker_wait(x->pool);
	if (rc == 0)
		settle_verdicts(x);
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
	const uint64_t *key = x->flight_key[cf->state % FLIGHT];
	struct failing *f;

	if (cf->timed_out)
		r->timeouts++;
	check_verdict_put(x, key[0], key[1],
			  cf->timed_out ? NULL : VERDICT_FAIL);
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
	f->idx = cf->state;
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
	double t = check_now(), el = t - x->t0, frac, every;
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

uint64_t check_context_key(struct run *x, uint64_t upto)
{
	uint64_t nm = checks_marks_upto(x->c, upto);

	return nm << 1 | (upto >= checks_durable_from(x->c));
}

void check_verdict_put(struct run *x, uint64_t hash, uint64_t key, void *v)
{
	if (!v)
		map_del(&x->verdicts, hash, key);
	else if (x->verdicts.len < VERDICTS_MAX ||
		 map_get(&x->verdicts, hash, key))
		map_put(&x->verdicts, hash, key, v); /* -ENOMEM: not kept */
}

/* Index of the last crash point at or before k. */
static size_t point_index(const uint64_t *pts, size_t n, uint64_t k)
{
	size_t i = util_count_upto(pts, n, k);

	return i ? i - 1 : 0;
}

/* Has a bound (--max-states, --max-time) stopped this kind? */
static bool bounded(struct run *x, struct pass *ps)
{
	struct check_result *r = x->r;
	enum check_stop why = CHECK_STOP_NONE;

	if (x->max_states && ps->distinct >= x->max_states)
		why = CHECK_STOP_STATES;
	else if (x->deadline && check_now() >= x->deadline)
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
	uint64_t key = check_context_key(x, upto);
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
	t = check_now();
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
		uint8_t *choice = ps->kind ? check_losses_of(ps->ex, st) : NULL;

		rc = check_explain_builtin(x, &v, &why, choice);
		free(choice);
		if (rc < 0)
			return rc;
	}
	r->builtin_seconds += check_now() - t;
	if (x->pool) {
		if (x->started == FLIGHT && (rc = drain(x)) < 0)
			return rc;
		x->flight[idx % FLIGHT] = v;
		x->flight_key[idx % FLIGHT][0] = st->hash;
		x->flight_key[idx % FLIGHT][1] = key;
		check_verdict_put(x, st->hash, key, VERDICT_PENDING);
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
 * persisted.  Not before the last write of pages the kernel wrote back
 * (TRF_WRITEBACK: a program's stores through a shared mapping): the
 * trace does not say when the program made them, so what a reader or
 * kill -9 saw before is not known.  Built directly (explore_visible), since the explorer
 * yields a 'v' state only where something is pending.  Their ids are
 * "k<K>.visible"; `crashfs replay RUN --point K` rebuilds them.
 */
static int visible_pass(struct run *x, struct pass *ps)
{
	uint64_t wb = model_last_writeback(x->m);
	struct explore_state st;
	int rc = 0;

	for (size_t i = 0; i < ps->npts && rc == 0; i++) {
		if (!explore_visits(ps->ex, ps->pts[i]))
			continue; /* --points */
		if (ps->pts[i] < wb) {
			/* pages the program stored through a shared
			 * mapping before this point may be in what a
			 * reader saw: the trace has them only once the
			 * kernel wrote them back */
			x->r->unknown++;
			continue;
		}
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
 * check_context_key()): the marks and the start of --durable.  The explorer
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
	double t0 = check_now();
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
	if (check_now() - t0 >= x->timeout)
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
		x->flight_key = calloc(FLIGHT, sizeof(*x->flight_key));
		if (!x->flight_key) {
			free(x->flight);
			x->flight = NULL;
		}
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
	x->t0 = check_now();
	if (x->o->max_seconds > 0)
		x->deadline = x->t0 + x->o->max_seconds;
	x->nkinds = __builtin_popcount(kinds);
	for (unsigned k = 0; k < CHECK_NKINDS && !rc; k++)
		if (kinds & (1u << k)) {
			rc = explore_kind(x, k);
			x->kinds_done++;
		}
	r->explore_seconds = check_now() - x->t0;
	if (x->progress_shown)
		fprintf(stderr, "\r\033[K");
	if (rc < 0)
		goto out;
	/* worded once every occurrence is known */
	for (size_t i = 0; i < r->ngroups; i++)
		explain_group(&x->ex, &r->groups[i]);
	if (r->ngroups > 1)
		qsort(r->groups, r->ngroups, sizeof(*r->groups),
		      check_cmp_groups);
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
	double t0 = check_now();
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
			r->seconds = check_now() - t0;
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
	free(x.flight_key);
	map_release(&x.same);
	map_release(&x.verdicts);
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
	r->seconds = check_now() - t0;
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
