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
 * External checkers run on a copy of the state written into a slot
 * directory of the run (one slot per job); up to --jobs run at once while
 * the main thread builds the next state.  A checker may change its copy
 * (SQLite rolls back a hot journal): the slot's materializer finds out
 * what it changed and rewrites that (materialize_reclaim), and otherwise
 * writes only what differs from the slot's previous state.
 */
#include "harness/check.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/map.h"
#include "core/persist.h"
#include "core/util.h"
#include "harness/checks.h"
#include "harness/explore.h"
#include "harness/materialize.h"
#include "harness/run.h"
#include "harness/workload.h"

#define DEFAULT_CHECK_TIMEOUT 30 /* seconds per external check */
#define MAX_JOBS 64
#define MAX_FAILING 4096       /* failing states whose losses are kept */
#define MAX_STATES_KEPT 200000 /* per-state verdicts kept for JSON */
#define BUILTIN_TRIES 256      /* cause search budget per state */
#define BUILTIN_BUDGET 50000   /* ... all in-process cause searches */
#define EXTERNAL_TRIES 12      /* checker runs per external failure ... */
#define EXTERNAL_BUDGET 48     /* ... and for all of them */
#define OUTPUT_MAX 4096	       /* checker output kept per state */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- external checkers --------------------------------------------- */

/* What a slot's marks file holds, to update it rather than rewrite it. */
struct slot_marks {
	bool valid;	/* the fields below describe the file */
	size_t n;	/* marks it lists */
	struct stat st; /* the file as left after writing them */
};

struct job {
	struct materializer *mt; /* writes the state into dir/state */
	struct slot_marks marks; /* dir/marks */
	pid_t pid;		 /* 0: slot free */
	int pidfd;
	double deadline;
	char dir[4096]; /* slot directory: state/ out marks */
	size_t state;	/* index in r->states */
	uint64_t point; /* crash point */
	uint64_t upto;	/* marks up to here were made */
};

struct run {
	const struct scenario *s;
	const struct check_opts *o;
	struct check_result *r;
	struct model *m;
	struct checks *c;
	const char *trace;
	struct job jobs[MAX_JOBS];
	char *states; /* RUN/states, absolute: the checker's cwd is its
			 state, so CRASHFS_STATE and CRASHFS_MARKS must not
			 be relative to crashfs's */
	unsigned njobs;
	struct materializer *cause_mt; /* for the cause search */
	struct slot_marks cause_marks;
	size_t *mark_off; /* byte offset of mark i in a marks file, i <=
			     checks_nmarks() (NULL: not computed yet) */
	unsigned timeout;
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
	double t0, last_progress;
	uint64_t done; /* states checked, all kinds */
	bool progress_shown;
};

/* The checker's environment: crashfs's own with CRASHFS_STATE,
 * CRASHFS_MARKS, CRASHFS_POINT and CRASHFS_SCENARIO_DIR set. */
struct checker_env {
	char *own[4]; /* the variables set here, owned */
	char **envp;  /* them, then environ's others (not owned) */
};

static void free_env(struct checker_env *e)
{
	for (int i = 0; i < 4; i++)
		free(e->own[i]);
	free(e->envp);
	memset(e, 0, sizeof(*e));
}

static char *env_var(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *env_var(const char *fmt, ...)
{
	va_list ap;
	char *v;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&v, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : v;
}

static int env_for(struct run *x, const char *state_dir, const char *marks,
		   uint64_t point, struct checker_env *e)
{
	extern char **environ;
	size_t n = 0, k = 0;

	memset(e, 0, sizeof(*e));
	while (environ[n])
		n++;
	e->own[0] = env_var("CRASHFS_STATE=%s", state_dir);
	e->own[1] = env_var("CRASHFS_MARKS=%s", marks);
	e->own[2] = env_var("CRASHFS_POINT=%llu", (unsigned long long)point);
	if (x->s->dir)
		e->own[3] = env_var("CRASHFS_SCENARIO_DIR=%s", x->s->dir);
	e->envp = calloc(n + 5, sizeof(*e->envp));
	if (!e->own[0] || !e->own[1] || !e->own[2] ||
	    (x->s->dir && !e->own[3]) || !e->envp) {
		free_env(e);
		return -ENOMEM;
	}
	for (int i = 0; i < 4; i++)
		if (e->own[i])
			e->envp[k++] = e->own[i];
	for (size_t i = 0; i < n; i++) {
		size_t len = strcspn(environ[i], "=") + 1;
		bool shadowed = false;

		for (int j = 0; j < 4 && !shadowed; j++)
			shadowed =
			    e->own[j] && !strncmp(e->own[j], environ[i], len);
		if (!shadowed)
			e->envp[k++] = environ[i];
	}
	return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * Make the marks file at path list the marks made up to upto, one a
 * line.  A long run has thousands of marks, so the file is not written
 * afresh for each state: what it already lists is kept and only the
 * difference appended or cut off, unless the file is not as it was left
 * (another inode, size or timestamp: a checker wrote to it).
 */
static int write_marks(struct run *x, struct slot_marks *sm, const char *path,
		       uint64_t upto)
{
	size_t n = checks_marks_upto(x->c, upto), from = 0, nm;
	struct stat st;
	char *buf = NULL;
	int fd, rc = 0;

	if (!x->mark_off) {
		nm = checks_nmarks(x->c);
		x->mark_off = malloc((nm + 1) * sizeof(*x->mark_off));
		if (!x->mark_off)
			return -ENOMEM;
		x->mark_off[0] = 0;
		for (size_t i = 0; i < nm; i++)
			x->mark_off[i + 1] =
			    x->mark_off[i] +
			    strlen(checks_mark(x->c, i)->text) + 1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		rc = -errno;
		goto out_close;
	}
	if (sm->valid && same_file(&st, &sm->st))
		from = sm->n < n ? sm->n : n;
	sm->valid = false;
	if (from < n) {
		size_t len = x->mark_off[n] - x->mark_off[from];
		char *p = buf = malloc(len);

		if (!buf) {
			rc = -ENOMEM;
			goto out_close;
		}
		for (size_t i = from; i < n; i++) {
			const char *t = checks_mark(x->c, i)->text;
			size_t l = strlen(t);

			memcpy(p, t, l);
			p[l] = '\n';
			p += l + 1;
		}
		for (size_t done = 0; done < len;) {
			ssize_t w = pwrite(fd, buf + done, len - done,
					   (off_t)(x->mark_off[from] + done));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				rc = w < 0 ? -errno : -EIO;
				goto out_close;
			}
			done += (size_t)w;
		}
	}
	if ((uint64_t)st.st_size != x->mark_off[n] &&
	    ftruncate(fd, (off_t)x->mark_off[n])) {
		rc = -errno;
		goto out_close;
	}
	if (!fstat(fd, &sm->st)) {
		sm->n = n;
		sm->valid = true;
	}
out_close:
	free(buf);
	close(fd);
	return rc;
}

/*
 * Write the current state and the marks file into a slot.  The checker
 * may have changed the previous state (SQLite recovers its journal):
 * the materializer removes what it changed and rewrites that, with the
 * ops that differ from the previous state.
 */
static int prepare_slot(struct run *x, struct materializer **mt,
			struct slot_marks *sm, const char *slot, uint64_t upto,
			char *state_dir, char *marks, size_t len)
{
	char err[256];
	int rc;

	snprintf(state_dir, len, "%s/state", slot);
	snprintf(marks, len, "%s/marks", slot);
	if (!*mt) {
		*mt = materialize_new(state_dir, err, sizeof(err));
		if (!*mt)
			return -errno;
		materialize_watch(*mt); /* else every state is written whole */
	} else if ((rc = materialize_reclaim(*mt)) < 0) {
		return rc;
	}
	rc = materialize_sync(*mt, x->m, err, sizeof(err));
	if (rc < 0)
		return rc;
	return write_marks(x, sm, marks, upto);
}

static char *read_output(const char *path)
{
	char *buf = calloc(1, OUTPUT_MAX + 1);
	int fd = open(path, O_RDONLY);
	ssize_t n = 0;

	if (buf && fd >= 0)
		n = read(fd, buf, OUTPUT_MAX);
	if (fd >= 0)
		close(fd);
	if (buf && n > 0)
		buf[n] = '\0';
	return buf;
}

/*
 * Start `sh -c CHECK` in state_dir, in a process group of its own, its
 * output into out.  posix_spawn (a vfork underneath) rather than fork:
 * copying crashfs's page tables, tens of MiB for a long trace, only for
 * exec to throw them away was most of the cost of a state.
 */
static pid_t spawn_checker(struct run *x, const char *state_dir,
			   const char *marks, const char *out, uint64_t point)

{
	char *argv[] = {"sh", "-c", (char *)x->s->check, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	struct checker_env e;
	sigset_t dfl, none;
	const char *null = "/dev/null";
	pid_t pid = 0;
	int fd, rc;

	/* emptied only if the last checker wrote to it: on ext4 truncating
	 * to 0 starts a writeback at close (auto_da_alloc) */
	fd = open(out, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_END) > 0 && ftruncate(fd, 0)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rc = env_for(x, state_dir, marks, point, &e);
	if (rc < 0)
		goto out_close;
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGPIPE);
	sigemptyset(&none);
	if ((rc = posix_spawnattr_init(&attr)))
		goto out_env;
	if ((rc = posix_spawn_file_actions_init(&fa)))
		goto out_attr;
	rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
						 POSIX_SPAWN_SETSIGDEF |
						 POSIX_SPAWN_SETSIGMASK);
	rc = rc ?: posix_spawnattr_setpgroup(&attr, 0);
	rc = rc ?: posix_spawnattr_setsigdefault(&attr, &dfl);
	rc = rc ?: posix_spawnattr_setsigmask(&attr, &none);
	rc = rc ?: posix_spawn_file_actions_addopen(&fa, 0, null, O_RDONLY, 0);
	rc = rc ?: posix_spawn_file_actions_adddup2(&fa, fd, 1);
	rc = rc ?: posix_spawn_file_actions_adddup2(&fa, fd, 2);
	rc = rc ?: posix_spawn_file_actions_addchdir_np(&fa, state_dir);
	rc = rc ?: posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, e.envp);
	posix_spawn_file_actions_destroy(&fa);
out_attr:
	posix_spawnattr_destroy(&attr);
out_env:
	free_env(&e);
out_close:
	close(fd);
	if (rc)
		return rc < 0 ? rc : -rc;
	return pid;
}

/* Run the checker on the model's current tree synchronously (cause
 * search).  Returns true when it passes. */
static bool external_pass_now(struct run *x, uint64_t point, uint64_t upto)
{
	char slot[4096], state[4200], marks[4200], out[4200];
	int status = 0;
	pid_t pid;
	double deadline = now() + x->timeout;

	snprintf(slot, sizeof(slot), "%s/cause", x->states);
	mkdir(slot, 0755);
	if (prepare_slot(x, &x->cause_mt, &x->cause_marks, slot, upto, state,
			 marks, sizeof(state)) < 0)
		return false;
	snprintf(out, sizeof(out), "%s/out", slot);
	pid = spawn_checker(x, state, marks, out, point);
	if (pid <= 0)
		return false;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now() > deadline || workload_interrupted()) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			return false;
		}
		usleep(1000);
	}
	kill(-pid, SIGKILL);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
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

/* Merge a second failure (external) into the state's failing record. */
static void record_external(struct run *x, struct job *j, int status,
			    bool timed_out)
{
	char out[4200];
	char *output;
	bool ok = !timed_out && WIFEXITED(status) && !WEXITSTATUS(status);

	if (ok)
		return;
	snprintf(out, sizeof(out), "%s/out", j->dir);
	output = read_output(out);
	if (timed_out) {
		x->r->timeouts++;
		free(output);
		if (asprintf(&output, "checker timed out after %u s",
			     x->timeout) < 0)
			output = NULL;
	}
	/* external failures keep no loss vector (built from the id later) */
	record_failure(x, j->state, 1u << SCN_EXTERNAL, NULL, NULL, j->point,
		       output);
	if (timed_out && x->nfail && x->fail[x->nfail - 1].state == j->state)
		x->fail[x->nfail - 1].timed_out = true;
}

/* Wait for one running job to end (or for all with all = true). */
static void reap_jobs(struct run *x, bool all)
{
	for (;;) {
		struct pollfd p[MAX_JOBS];
		unsigned map[MAX_JOBS], n = 0;
		bool any = false;

		for (unsigned i = 0; i < x->njobs; i++) {
			struct job *j = &x->jobs[i];
			int status = 0;
			pid_t r;

			if (!j->pid)
				continue;
			r = waitpid(j->pid, &status, WNOHANG);
			if (r == j->pid || now() > j->deadline ||
			    workload_interrupted()) {
				bool to = r != j->pid;

				kill(-j->pid, SIGKILL);
				if (to)
					waitpid(j->pid, &status, 0);
				if (j->pidfd >= 0)
					close(j->pidfd);
				record_external(x, j, status, to);
				j->pid = 0;
				any = true;
				continue;
			}
			p[n].fd = j->pidfd;
			p[n].events = POLLIN;
			map[n++] = i;
		}
		(void)map;
		if (!n || (any && !all))
			return;
		poll(p, n, 20);
	}
}

static struct job *free_slot(struct run *x)
{
	for (;;) {
		for (unsigned i = 0; i < x->njobs; i++)
			if (!x->jobs[i].pid)
				return &x->jobs[i];
		reap_jobs(x, false);
	}
}

static int start_external(struct run *x, size_t state, uint64_t point,
			  uint64_t upto)
{
	struct job *j = free_slot(x);
	char state_dir[4200], marks[4200], out[4200];
	int rc;

	rc = prepare_slot(x, &j->mt, &j->marks, j->dir, upto, state_dir, marks,
			  sizeof(state_dir));
	if (rc < 0)
		return rc;
	snprintf(out, sizeof(out), "%s/out", j->dir);
	j->pid = spawn_checker(x, state_dir, marks, out, point);
	if (j->pid <= 0) {
		rc = j->pid < 0 ? j->pid : -ECHILD;
		j->pid = 0;
		return rc;
	}
	j->pidfd = syscall(SYS_pidfd_open, j->pid, 0);
	j->deadline = now() + x->timeout;
	j->state = state;
	j->point = point;
	j->upto = upto;
	return 0;
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
	if (map_get(&ps->seen, st->hash, key))
		return 0;
	map_put(&ps->seen, st->hash, key, (void *)1);
	/* shard by content, so identical states share a shard */
	if (x->o->shard_n > 1 &&
	    (st->hash ^ key * 0x9e3779b97f4a7c15ull) % x->o->shard_n !=
		x->o->shard_k)
		return 0;
	if (workload_interrupted())
		return -EINTR;
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
		rc = start_external(x, idx, st->point, upto);
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
	reap_jobs(x, true);
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
		return external_pass_now(p->x, point, upto);
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

/* The last mark at or before point, NULL if none. */
static const struct check_mark *mark_before(struct run *x, uint64_t point)
{
	size_t n = checks_marks_upto(x->c, point);

	return n ? checks_mark(x->c, n - 1) : NULL;
}

/* Directory of an entry op, in words: "the directory" or "directory d". */
static void dir_words(struct model *m, const struct model_op *op, char *buf,
		      size_t len)
{
	char d[300];

	model_goto_visible(m, op->seq - 1);
	if (!op->dir) {
		snprintf(buf, len, "the directory");
		return;
	}
	model_path(m, op->dir, d, sizeof(d));
	if (!strcmp(d, "."))
		snprintf(buf, len, "the directory");
	else
		snprintf(buf, len, "the directory %s", d);
}

static const char *fate_words(uint8_t how)
{
	switch (how) {
	case MV_HEAD: return "was torn (only its first sectors persisted)";
	case MV_TAIL: return "was torn (only its last sectors persisted)";
	case MV_SIZE: return "persisted its size but not its data (zeros)";
	default: return "did not persist";
	}
}

/* The hint for lost op i of g's cause, into buf. */
static void one_hint(struct run *x, const struct check_group *g, size_t i,
		     char *buf, size_t len)
{
	struct model *m = x->m;
	const struct cause *c = &g->cause;
	const struct model_op *op = model_op_seq(m, c->ops[i]);
	const struct model_op *bop =
	    c->before[i] ? model_op_seq(m, c->before[i]) : NULL;
	const char *path = g->check == SCN_EXTERNAL
			       ? NULL
			       : checks_path(x->c, g->check, g->path);
	const struct check_mark *mk = mark_before(x, g->example_upto);
	bool renamed_later = false;
	char p[300];

	for (size_t j = 0; j < c->nops; j++) {
		const struct model_op *o = model_op_seq(m, c->ops[j]);

		if (o && o->type == TR_RENAME && o->node == op->node &&
		    o->seq > op->seq)
			renamed_later = true;
	}
	cause_op_path(m, c->ops[i], p, sizeof(p));
	if (model_op_is_entry(op)) {
		char dw[360];

		dir_words(m, op, dw, sizeof(dw));
		snprintf(buf, len, "fsync %s after the %s", dw,
			 op->type == TR_CREATE ? "create"
					       : trace_type_name(op->type));
	} else if ((bop && bop->type == TR_RENAME) || renamed_later) {
		snprintf(buf, len, "fsync %s before renaming it", p);
	} else if (c->how[i] != CAUSE_DROP && g->check != SCN_DURABLE) {
		snprintf(buf, len,
			 "a write can tear or persist as zeros until "
			 "fsync returns: write a temp file and rename it, or "
			 "make readers detect a torn tail (checksummed "
			 "records)");
	} else if (g->check == SCN_ATOMIC && path) {
		snprintf(buf, len,
			 "this updates %s in place: write a temp "
			 "file, fsync it and rename it over %s",
			 path, path);
	} else {
		snprintf(buf, len, "fsync %s before %s", p,
			 mk ? "the mark (acknowledging it)"
			    : "the end of the program");
	}
}

/* Put the cause of g in words, with a hint. */
static void explain(struct run *x, struct check_group *g)
{
	struct model *m = x->m;
	const struct cause *c = &g->cause;
	const char *path = g->check == SCN_EXTERNAL
			       ? NULL
			       : checks_path(x->c, g->check, g->path);
	const struct check_mark *mk = mark_before(x, g->example_upto);
	char d[300], e[300], p[300], at[200] = "", h[400];
	size_t n = 0, hn = 0;

	if (mk)
		snprintf(at, sizeof(at), " at mark '%.100s' (#%llu)", mk->text,
			 (unsigned long long)mk->seq);
	if (c->kind == CAUSE_VISIBLE && !c->ops[0]) {
		snprintf(g->text, sizeof(g->text),
			 "%s fails already on the initial state, before the "
			 "workload made any change",
			 g->check == SCN_EXTERNAL ? "the checker"
						  : "the check");
		snprintf(g->hint, sizeof(g->hint),
			 "check the checker or the setup: a state nobody "
			 "touched should pass");
		return;
	}
	if (c->kind == CAUSE_VISIBLE) {
		const struct model_op *op = model_op_seq(m, c->ops[0]);

		cause_describe_op(m, c->ops[0], d, sizeof(d));
		if (g->check == SCN_DURABLE) {
			uint64_t w = cause_final_writer(
			    m, path, checks_durable_from(x->c));

			if (mk)
				cause_describe_op(m, mk->seq, d, sizeof(d));

			if (w) {
				cause_describe_op(m, w, e, sizeof(e));
				snprintf(g->text, sizeof(g->text),
					 "%s did not hold its final version "
					 "at %s: it got it only at %s, "
					 "after the mark (no crash needed: "
					 "kill -9 loses it too)",
					 path, d, e);
			} else {
				snprintf(g->text, sizeof(g->text),
					 "%s did not hold its final version "
					 "at %s, with every operation "
					 "persisted",
					 path, d);
			}
			snprintf(g->hint, sizeof(g->hint),
				 "the data was still in the program's own "
				 "buffer: flush it (and fsync %s) before "
				 "acknowledging%s",
				 path, mk ? " the mark" : "");
			return;
		}
		if (g->check == SCN_ATOMIC) {
			uint64_t v;

			/* what a reader saw then (the example may be a
			 * crash state that holds something else) */
			model_goto_visible(m, c->point);
			v = checks_version(m, path);
			snprintf(g->text, sizeof(g->text),
				 "after %s, %s is %s: a concurrent reader or "
				 "kill -9 sees it, no crash needed",
				 d, path,
				 checks_describe(x->c, SCN_ATOMIC, g->path, v));
			if (op && !model_op_is_entry(op))
				snprintf(g->hint, sizeof(g->hint),
					 "this updates %s in place: write a "
					 "temp file, fsync it and rename it "
					 "over %s",
					 path, path);
			else
				snprintf(g->hint, sizeof(g->hint),
					 "make the change to %s in one step "
					 "(a rename of a complete file)",
					 path);
			return;
		}
		snprintf(g->text, sizeof(g->text),
			 "the checker fails from %s on, with every operation "
			 "persisted: a concurrent reader or kill -9 sees "
			 "this state",
			 d);
		snprintf(g->hint, sizeof(g->hint),
			 "the program itself exposes this state; no crash is "
			 "needed to reproduce it");
		return;
	}
	if (c->kind == CAUSE_MANY) {
		char files[600] = "";
		size_t fn = 0;
		size_t nops = model_nops(m);

		(void)nops;
		model_goto_visible(m, c->point);
		for (size_t i = 0; i < c->nfiles && fn < sizeof(files); i++) {
			struct mnode *nd = model_node(m, c->files[i]);
			char fp[256] = "?";

			if (nd)
				model_path(m, nd, fp, sizeof(fp));
			fn += snprintf(
			    files + fn, sizeof(files) - fn, "%s%s%s%s",
			    i ? ", " : "",
			    c->file_is_dir[i] ? "entries of " : "",
			    c->file_is_dir[i] && !strcmp(fp, ".")
				? "the directory"
				: "",
			    c->file_is_dir[i] && !strcmp(fp, ".") ? "" : fp);
		}
		if (c->unminimised)
			snprintf(g->text, sizeof(g->text),
				 "operations that were not yet durable were "
				 "lost (on %s)%s (not minimised: the "
				 "cause-search budget was spent)",
				 files, at);
		else
			snprintf(g->text, sizeof(g->text),
				 "%zu operations not yet durable were lost "
				 "together (on %s)%s; persisting any three of "
				 "them does not fix the state",
				 c->nlost, files, at);
		snprintf(g->hint, sizeof(g->hint), "fsync %s before %s", files,
			 mk ? "acknowledging (the mark)"
			    : "the operations that depend on them");
		return;
	}
	if (c->kind == CAUSE_TIMEOUT) {
		snprintf(g->text, sizeof(g->text),
			 "the checker did not finish within %u s", x->timeout);
		snprintf(g->hint, sizeof(g->hint),
			 "replay the state and run the checker by hand; raise "
			 "--check-timeout if it is just slow");
		return;
	}
	if (c->kind != CAUSE_LOST) {
		snprintf(g->text, sizeof(g->text),
			 "not analysed: the cause-search budget for this "
			 "check was spent on other states");
		snprintf(g->hint, sizeof(g->hint),
			 "replay the example state and compare it with the "
			 "causes above");
		return;
	}
	g->hint[0] = '\0';
	for (size_t i = 0; i < c->nops && n < sizeof(g->text); i++) {
		const struct model_op *op = model_op_seq(m, c->ops[i]);
		const struct model_op *bop =
		    c->before[i] ? model_op_seq(m, c->before[i]) : NULL;

		cause_describe_op(m, c->ops[i], d, sizeof(d));
		cause_op_path(m, c->ops[i], p, sizeof(p));
		if (bop)
			cause_describe_op(m, c->before[i], e, sizeof(e));
		if (i)
			n += snprintf(g->text + n, sizeof(g->text) - n,
				      "; and ");
		if (bop && bop->type == TR_RENAME && !model_op_is_entry(op))
			n += snprintf(g->text + n, sizeof(g->text) - n,
				      "%s %s when %s made it visible", d,
				      c->how[i] == CAUSE_DROP
					  ? "was not durable"
					  : fate_words(c->how[i]),
				      e);
		else if (bop)
			n += snprintf(g->text + n, sizeof(g->text) - n,
				      "%s %s while %s persisted", d,
				      fate_words(c->how[i]), e);
		else
			n += snprintf(
			    g->text + n, sizeof(g->text) - n, "%s %s%s", d,
			    c->how[i] == CAUSE_DROP ? "was not durable"
						    : fate_words(c->how[i]),
			    g->check == SCN_ATOMIC ? "" : at);
		one_hint(x, g, i, h, sizeof(h));
		if (!strstr(g->hint, h))
			hn += snprintf(
			    g->hint + hn,
			    hn < sizeof(g->hint) ? sizeof(g->hint) - hn : 0,
			    "%s%s", hn ? "; and " : "", h);
	}
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

/* Up to 24 bytes of path in the state (point, choice), escaped. */
static void preview(struct run *x, const char *path, uint64_t point,
		    const uint8_t *choice, char *buf, size_t len)
{
	struct cause_state cs = {point, choice, x->sector};
	struct mnode *n;
	char *data = NULL;
	size_t dlen = 0, o = 0;

	buf[0] = '\0';
	cause_apply(x->m, &cs);
	if (model_resolve(x->m, path, &n) < 0 || !n ||
	    model_read_all(x->m, n, &data, &dlen) < 0)
		return;
	o += snprintf(buf + o, len - o, " (%zu bytes: \"", dlen);
	for (size_t i = 0; i < dlen && i < 24 && o + 6 < len; i++) {
		unsigned char ch = data[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			buf[o++] = ch;
		else
			o += snprintf(buf + o, len - o, "\\x%02x", ch);
	}
	snprintf(buf + o, len - o, "%s\")", dlen > 24 ? "..." : "");
	free(data);
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
			explain(x, g);
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
			preview(x, checks_path(x->c, check, path), v->point,
				v->kind ? choice : NULL, pv, sizeof(pv));
		snprintf(g->held, sizeof(g->held), "%s%s", d, pv);
	}
	explain(x, g);
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

static int setup_slots(struct run *x)
{
	char *dir;

	if (asprintf(&dir, "%s/states", x->r->run_dir) < 0)
		return -ENOMEM;
	mkdir(dir, 0755);
	x->states = realpath(dir, NULL);
	free(dir);
	if (!x->states)
		return -errno;
	x->njobs = x->o->jobs ? x->o->jobs : 1;
	if (x->njobs > MAX_JOBS)
		x->njobs = MAX_JOBS;
	for (unsigned i = 0; i < x->njobs; i++) {
		snprintf(x->jobs[i].dir, sizeof(x->jobs[i].dir), "%s/%u",
			 x->states, i);
		mkdir(x->jobs[i].dir, 0755);
	}
	return 0;
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
		r->error = -EINVAL;
		goto out;
	}
	rc = setup_slots(&x);
	if (rc < 0)
		goto out_err;
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
	snprintf(r->errmsg, sizeof(r->errmsg), "%s", strerror(-rc));
	r->error = rc;
out:
	for (size_t i = 0; i < x.nfail; i++) {
		free(x.fail[i].choice);
		free(x.fail[i].output);
	}
	free(x.fail);
	for (unsigned i = 0; i < x.njobs; i++)
		materialize_free(&x.jobs[i].mt);
	materialize_free(&x.cause_mt);
	free(x.mark_off);
	free(x.states);
	if (r->run_dir) {
		char *states;

		if (asprintf(&states, "%s/states", r->run_dir) >= 0) {
			workload_rmtree(states);
			free(states);
		}
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
