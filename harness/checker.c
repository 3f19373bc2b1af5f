/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The external checker pool (see checker.h).
 *
 * Checkers are started with posix_spawn and watched through pidfds; a
 * slot's state is kept by a materializer that knows what the previous
 * checker changed (inotify) and rewrites only that and what differs from
 * the slot's previous state.
 */
#include "harness/checker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/checksrv.h"
#include "harness/materialize.h"
#include "harness/workload.h"

/* What a slot's marks file holds, to update it rather than rewrite it. */
struct slot_marks {
	bool valid;	/* the fields below describe the file */
	size_t n;	/* marks it lists */
	struct stat st; /* the file as left after writing them */
};

/* The checker's environment: crashfs's own with CRASHFS_STATE,
 * CRASHFS_MARKS, CRASHFS_POINT (per-state checkers), CRASHFS_JOB and
 * CRASHFS_SCENARIO_DIR set. */
struct checker_env {
	char *own[5]; /* the variables set here, owned */
	char **envp;  /* them, then environ's others (not owned) */
};

/*
 * One slot: a directory, the state in it and the checker running there.
 * A per-state checker's state is dir/state, its marks dir/marks; a
 * checker server's are dir/<gen>/state and dir/<gen>/marks, and dir/<gen>
 * is renamed to dir/<gen + 1> before each state, so that no two states
 * have the same path (a server that remembers something by path cannot
 * mistake one state for another).
 */
struct slot {
	struct materializer *mt; /* writes the state into its directory */
	struct slot_marks marks; /* its marks file */
	pid_t pid;		 /* per-state checker, 0: slot free */
	int pidfd;		 /* -1: none (poll falls back to a tick) */
	double deadline;	 /* kill the checker after this */
	char dir[4096];		 /* slot directory */
	unsigned job;		 /* CRASHFS_JOB */
	size_t state;		 /* the caller's index of the state */
	uint64_t point;		 /* crash point */
	struct checksrv *srv;	 /* its checker server, NULL: none yet */
	struct checker_env env;	 /* the server's environment */
	unsigned long gen;	 /* the state's directory is dir/<gen> */
	bool busy;		 /* the server is checking a state */
};

struct checker_pool {
	struct checker_opts o;
	struct slot slots[CHECKER_MAX_JOBS];
	unsigned nslots;
	struct slot cause; /* checker_run_now()'s slot */
	size_t *mark_off;  /* byte offset of mark i in a marks file, i <=
			      checks_nmarks() (NULL: not computed yet) */
	int error;	   /* a setup error (-errno), 0: none */
	char errmsg[1024]; /* ... in words */
	char *last;	   /* what checker_run_now()'s checker said */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define NOWN ((int)(sizeof(((struct checker_env *)0)->own) / sizeof(char *)))

static void free_env(struct checker_env *e)
{
	for (int i = 0; i < NOWN; i++)
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

/* The environment of slot s's checker; a server's (state_dir NULL) has
 * no CRASHFS_STATE, CRASHFS_MARKS or CRASHFS_POINT: they come with each
 * request. */
static int env_for(struct checker_pool *p, struct slot *s,
		   const char *state_dir, const char *marks, uint64_t point,
		   struct checker_env *e)
{
	extern char **environ;
	const char *sdir = p->o.scenario_dir;
	size_t n = 0, k = 0;
	bool oom;

	memset(e, 0, sizeof(*e));
	while (environ[n])
		n++;
	e->own[0] = env_var("CRASHFS_JOB=%u", s->job);
	oom = !e->own[0];
	if (sdir) {
		e->own[1] = env_var("CRASHFS_SCENARIO_DIR=%s", sdir);
		oom = oom || !e->own[1];
	}
	if (state_dir) {
		e->own[2] = env_var("CRASHFS_STATE=%s", state_dir);
		e->own[3] = env_var("CRASHFS_MARKS=%s", marks);
		e->own[4] =
		    env_var("CRASHFS_POINT=%llu", (unsigned long long)point);
		oom = oom || !e->own[2] || !e->own[3] || !e->own[4];
	}
	e->envp = calloc(n + NOWN + 1, sizeof(*e->envp));
	if (oom || !e->envp) {
		free_env(e);
		return -ENOMEM;
	}
	for (int i = 0; i < NOWN; i++)
		if (e->own[i])
			e->envp[k++] = e->own[i];
	for (size_t i = 0; i < n; i++) {
		size_t len = strcspn(environ[i], "=") + 1;
		bool shadowed = false;

		/* every CRASHFS_ variable a checker gets is set here */
		if (!strncmp(environ[i], "CRASHFS_", 8) &&
		    (!strncmp(environ[i], "CRASHFS_STATE=", 14) ||
		     !strncmp(environ[i], "CRASHFS_MARKS=", 14) ||
		     !strncmp(environ[i], "CRASHFS_POINT=", 14)))
			continue;
		for (int j = 0; j < NOWN && !shadowed; j++)
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
static int write_marks(struct checker_pool *p, struct slot_marks *sm,
		       const char *path, uint64_t upto)
{
	struct checks *c = p->o.checks;
	size_t n = checks_marks_upto(c, upto), from = 0, nm;
	struct stat st;
	char *buf = NULL;
	int fd, rc = 0;

	if (!p->mark_off) {
		nm = checks_nmarks(c);
		p->mark_off = malloc((nm + 1) * sizeof(*p->mark_off));
		if (!p->mark_off)
			return -ENOMEM;
		p->mark_off[0] = 0;
		for (size_t i = 0; i < nm; i++)
			p->mark_off[i + 1] = p->mark_off[i] +
					     strlen(checks_mark(c, i)->text) +
					     1;
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
		size_t len = p->mark_off[n] - p->mark_off[from];
		char *q = buf = malloc(len);

		if (!buf) {
			rc = -ENOMEM;
			goto out_close;
		}
		for (size_t i = from; i < n; i++) {
			const char *t = checks_mark(c, i)->text;
			size_t l = strlen(t);

			memcpy(q, t, l);
			q[l] = '\n';
			q += l + 1;
		}
		for (size_t done = 0; done < len;) {
			ssize_t w = pwrite(fd, buf + done, len - done,
					   (off_t)(p->mark_off[from] + done));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				rc = w < 0 ? -errno : -EIO;
				goto out_close;
			}
			done += (size_t)w;
		}
	}
	if ((uint64_t)st.st_size != p->mark_off[n] &&
	    ftruncate(fd, (off_t)p->mark_off[n])) {
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
 * Write the model's current state and the marks file into base/state and
 * base/marks of slot s.  The checker may have changed the previous state
 * (SQLite recovers its journal): the materializer removes what it
 * changed and rewrites that, with the ops that differ from the previous
 * state.
 */
static int prepare_slot(struct checker_pool *p, struct slot *s,
			const char *base, struct model *m, uint64_t upto,
			char *state_dir, char *marks, size_t len)
{
	char err[256];
	int rc;

	snprintf(state_dir, len, "%s/state", base);
	snprintf(marks, len, "%s/marks", base);
	if (!s->mt) {
		s->mt = materialize_new(state_dir, err, sizeof(err));
		if (!s->mt)
			return -errno;
		materialize_set_flags(s->mt,
				      p->o.privileged ? MT_PRIVILEGED : 0);
		materialize_watch(
		    s->mt); /* else every state is written whole */
	} else if ((rc = materialize_reclaim(s->mt)) < 0) {
		return rc;
	}
	rc = materialize_sync(s->mt, m, err, sizeof(err));
	if (rc < 0)
		return rc;
	return write_marks(p, &s->marks, marks, upto);
}

/* A checker server's slot: move dir/<gen> to dir/<gen + 1> (the
 * materializer works through descriptors, and watches nothing above the
 * state) and write the state there.  The new name goes to base. */
static int prepare_gen(struct checker_pool *p, struct slot *s, struct model *m,
		       uint64_t upto, char *base, char *state_dir, char *marks,
		       size_t len)
{
	char old[4200];

	snprintf(old, sizeof(old), "%s/%lu", s->dir, s->gen);
	snprintf(base, len, "%s/%lu", s->dir, ++s->gen);
	if (!s->mt) {
		if (mkdir(base, 0755) && errno != EEXIST)
			return -errno;
	} else if (rename(old, base)) {
		return -errno;
	}
	return prepare_slot(p, s, base, m, upto, state_dir, marks, len);
}

static char *read_output(const char *path)
{
	char *buf = calloc(1, CHECKER_OUTPUT_MAX + 1);
	int fd = open(path, O_RDONLY);
	ssize_t n = 0;

	if (buf && fd >= 0)
		n = read(fd, buf, CHECKER_OUTPUT_MAX);
	if (fd >= 0)
		close(fd);
	if (buf && n > 0)
		buf[n] = '\0';
	return buf;
}

/*
 * Start `sh -c CMD` in state_dir, in a process group of its own, its
 * output into out.  posix_spawn (a vfork underneath) rather than fork:
 * copying crashfs's page tables, tens of MiB for a long trace, only for
 * exec to throw them away was most of the cost of a state.
 */
static pid_t spawn_checker(struct checker_pool *p, struct slot *s,
			   const char *state_dir, const char *marks,
			   const char *out, uint64_t point)

{
	char *argv[] = {"sh", "-c", (char *)p->o.cmd, NULL};
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
	rc = env_for(p, s, state_dir, marks, point, &e);
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

/* Record the pool's first setup error; returns it. */
static int pool_fail(struct checker_pool *p, int err, const char *msg)
{
	if (!p->error) {
		p->error = err < 0 ? err : -EIO;
		snprintf(p->errmsg, sizeof(p->errmsg), "%s", msg);
	}
	return p->error;
}

/* A slot directory, and its server when the pool has servers. */
static int init_slot(struct checker_pool *p, struct slot *s, const char *name,
		     unsigned job, char *err, size_t errlen)
{
	char errfile[4200];
	struct checksrv_opts so = {
	    .cmd = p->o.cmd,
	    .cwd = s->dir,
	    .errfile = errfile,
	    .timeout = p->o.timeout,
	    .output_max = CHECKER_OUTPUT_MAX,
	};

	snprintf(s->dir, sizeof(s->dir), "%s/%s", p->o.dir, name);
	s->job = job;
	if (mkdir(s->dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create '%s': %s", s->dir,
			 strerror(errno));
		return -errno;
	}
	if (!p->o.server)
		return 0;
	if (strpbrk(s->dir, "\t\n")) {
		snprintf(err, errlen,
			 "'%s' holds a tab or a newline, which the checker "
			 "server's requests cannot carry",
			 s->dir);
		return -EINVAL;
	}
	snprintf(errfile, sizeof(errfile), "%s/server.err", s->dir);
	if (env_for(p, s, NULL, NULL, 0, &s->env) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	so.envp = s->env.envp;
	s->srv = checksrv_new(&so);
	if (!s->srv) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

struct checker_pool *checker_pool_new(const struct checker_opts *o, char *err,
				      size_t errlen)
{
	struct checker_pool *p = calloc(1, sizeof(*p));
	char name[16];
	int rc = 0;

	if (!p) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	p->o = *o;
	p->nslots = o->jobs ? o->jobs : 1;
	if (p->nslots > CHECKER_MAX_JOBS)
		p->nslots = CHECKER_MAX_JOBS;
	for (unsigned i = 0; i < p->nslots && !rc; i++) {
		snprintf(name, sizeof(name), "%u", i);
		rc = init_slot(p, &p->slots[i], name, i, err, errlen);
	}
	if (!rc)
		rc = init_slot(p, &p->cause, "cause", p->nslots, err, errlen);
	if (rc < 0) {
		checker_pool_free(&p);
		errno = -rc;
		return NULL;
	}
	return p;
}

static void report(struct checker_pool *p, struct checker_fail *f)
{
	if (p->o.done)
		p->o.done(p->o.ctx, f);
	else
		free(f->output);
}

/* Hand a finished job's verdict to the caller, unless it passed. */
static void finished(struct checker_pool *p, struct slot *s, int status,
		     bool timed_out)
{
	struct checker_fail f = {.state = s->state, .point = s->point};
	char out[4200];

	if (!timed_out && WIFEXITED(status) && !WEXITSTATUS(status))
		return;
	snprintf(out, sizeof(out), "%s/out", s->dir);
	f.output = read_output(out);
	f.timed_out = timed_out;
	if (timed_out) {
		free(f.output);
		if (asprintf(&f.output, "checker timed out after %u s",
			     p->o.timeout) < 0)
			f.output = NULL;
	}
	report(p, &f);
}

/* Wait for one running per-state checker to end (or for all). */
static void reap_procs(struct checker_pool *p, bool all)
{
	for (;;) {
		struct pollfd pf[CHECKER_MAX_JOBS];
		unsigned n = 0;
		bool any = false;

		for (unsigned i = 0; i < p->nslots; i++) {
			struct slot *s = &p->slots[i];
			int status = 0;
			pid_t r;

			if (!s->pid)
				continue;
			r = waitpid(s->pid, &status, WNOHANG);
			if (r == s->pid || now() > s->deadline ||
			    workload_interrupted()) {
				bool to = r != s->pid;

				kill(-s->pid, SIGKILL);
				if (to)
					waitpid(s->pid, &status, 0);
				if (s->pidfd >= 0)
					close(s->pidfd);
				finished(p, s, status, to);
				s->pid = 0;
				any = true;
				continue;
			}
			pf[n].fd = s->pidfd;
			pf[n].events = POLLIN;
			n++;
		}
		if (!n || (any && !all))
			return;
		poll(pf, n, 20);
	}
}

/*
 * Take a server's answer if it is in.  Returns true when the slot is
 * free again (answered, or a setup error, which the pool keeps).
 */
static bool step_server(struct checker_pool *p, struct slot *s)
{
	struct checksrv_answer a;
	struct checker_fail f = {.state = s->state, .point = s->point};
	int rc = checksrv_step(s->srv, &a);

	if (rc == 0)
		return false;
	s->busy = false;
	if (rc < 0) {
		pool_fail(p, rc, checksrv_error(s->srv));
		return true;
	}
	if (a.pass)
		return true;
	f.timed_out = a.timed_out;
	f.output = a.output;
	report(p, &f);
	return true;
}

/* Wait for one server to answer (or for all); returns early on a setup
 * error or an interrupt. */
static void reap_servers(struct checker_pool *p, bool all)
{
	for (;;) {
		struct pollfd pf[CHECKER_MAX_JOBS];
		double next = now() + 0.05;
		unsigned n = 0;
		bool any = false;

		if (workload_interrupted()) {
			pool_fail(p, -EINTR, "interrupted");
			return;
		}
		for (unsigned i = 0; i < p->nslots && !p->error; i++) {
			struct slot *s = &p->slots[i];

			if (!s->busy)
				continue;
			if (step_server(p, s)) {
				any = true;
				continue;
			}
			pf[n].fd = checksrv_fd(s->srv);
			pf[n].events = POLLIN;
			n++;
			if (checksrv_deadline(s->srv) < next)
				next = checksrv_deadline(s->srv);
		}
		if (p->error || !n || (any && !all))
			return;
		next -= now();
		poll(pf, n, next > 0 ? (int)(next * 1000) + 1 : 0);
	}
}

static void reap(struct checker_pool *p, bool all)
{
	if (p->o.server)
		reap_servers(p, all);
	else
		reap_procs(p, all);
}

static bool slot_free(const struct slot *s)
{
	return !s->pid && !s->busy;
}

static struct slot *free_slot(struct checker_pool *p)
{
	for (;;) {
		for (unsigned i = 0; i < p->nslots; i++)
			if (slot_free(&p->slots[i]))
				return &p->slots[i];
		reap(p, false);
		if (p->error)
			return NULL;
	}
}

/* Hand the model's current state to slot s's server. */
static int ask_server(struct checker_pool *p, struct slot *s, struct model *m,
		      const char *id, uint64_t point, uint64_t upto)
{
	char base[4200], state_dir[4200], marks[4200];
	struct checksrv_req req = {state_dir, marks, point, id, base};
	int rc;

	rc = prepare_gen(p, s, m, upto, base, state_dir, marks,
			 sizeof(state_dir));
	if (rc < 0)
		return rc;
	rc = checksrv_ask(s->srv, &req);
	if (rc < 0)
		return pool_fail(p, rc, checksrv_error(s->srv));
	s->busy = true;
	return 0;
}

int checker_start(struct checker_pool *p, struct model *m, size_t state,
		  const char *id, uint64_t point, uint64_t upto)
{
	struct slot *s = p->error ? NULL : free_slot(p);
	char state_dir[4200], marks[4200], out[4200];
	int rc;

	if (!s)
		return p->error;
	s->state = state;
	s->point = point;
	if (p->o.server)
		return ask_server(p, s, m, id, point, upto);
	rc = prepare_slot(p, s, s->dir, m, upto, state_dir, marks,
			  sizeof(state_dir));
	if (rc < 0)
		return rc;
	snprintf(out, sizeof(out), "%s/out", s->dir);
	s->pid = spawn_checker(p, s, state_dir, marks, out, point);
	if (s->pid <= 0) {
		rc = s->pid < 0 ? s->pid : -ECHILD;
		s->pid = 0;
		return rc;
	}
	s->pidfd = syscall(SYS_pidfd_open, s->pid, 0);
	s->deadline = now() + p->o.timeout;
	return 0;
}

int checker_wait(struct checker_pool *p)
{
	if (!p->error)
		reap(p, true);
	/* a server that answered its last state twice, or died after it */
	for (unsigned i = 0; i < p->nslots && !p->error; i++) {
		struct checksrv *srv = p->slots[i].srv;
		int rc = srv ? checksrv_quiet(srv) : 0;

		if (rc < 0)
			pool_fail(p, rc, checksrv_error(srv));
	}
	return p->error;
}

/* checker_run_now() with the cause slot's server. */
static bool run_now_server(struct checker_pool *p, struct model *m,
			   uint64_t point, uint64_t upto)
{
	struct slot *s = &p->cause;
	struct checksrv_answer a;
	char id[64];
	int rc;

	snprintf(id, sizeof(id), "cause-%lu", s->gen + 1);
	if (ask_server(p, s, m, id, point, upto) < 0)
		return false;
	for (;;) {
		struct pollfd pf = {.fd = checksrv_fd(s->srv),
				    .events = POLLIN};
		double left = checksrv_deadline(s->srv) - now();

		rc = checksrv_step(s->srv, &a);
		if (rc)
			break;
		if (workload_interrupted()) {
			pool_fail(p, -EINTR, "interrupted");
			return false;
		}
		if (left > 0.05)
			left = 0.05;
		poll(&pf, 1, left > 0 ? (int)(left * 1000) + 1 : 0);
	}
	s->busy = false;
	if (rc < 0) {
		pool_fail(p, rc, checksrv_error(s->srv));
		return false;
	}
	free(p->last);
	p->last = a.output;
	return a.pass;
}

bool checker_run_now(struct checker_pool *p, struct model *m, uint64_t point,
		     uint64_t upto)
{
	char state[4200], marks[4200], out[4200];
	double deadline = now() + p->o.timeout;
	int status = 0;
	pid_t pid;

	if (p->error)
		return false;
	if (p->o.server)
		return run_now_server(p, m, point, upto);
	if (prepare_slot(p, &p->cause, p->cause.dir, m, upto, state, marks,
			 sizeof(state)) < 0)
		return false;
	snprintf(out, sizeof(out), "%s/out", p->cause.dir);
	pid = spawn_checker(p, &p->cause, state, marks, out, point);
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
	free(p->last);
	p->last = read_output(out);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

const char *checker_last_output(const struct checker_pool *p)
{
	return p->last ? p->last : "";
}

unsigned checker_timeout(const struct checker_pool *p)
{
	return p->o.timeout;
}

const char *checker_error(const struct checker_pool *p)
{
	return p && p->error ? p->errmsg : NULL;
}

static void free_slot_res(struct slot *s)
{
	/* checkers still running are killed, their verdicts dropped */
	if (s->pid) {
		kill(-s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		if (s->pidfd >= 0)
			close(s->pidfd);
	}
	checksrv_free(&s->srv, 1.0);
	free_env(&s->env);
	materialize_free(&s->mt);
}

void checker_pool_free(struct checker_pool **pp)
{
	struct checker_pool *p = *pp;

	if (!p)
		return;
	/* servers get end of file together, then a second to exit */
	for (unsigned i = 0; i < p->nslots; i++)
		checksrv_hangup(p->slots[i].srv);
	checksrv_hangup(p->cause.srv);
	for (unsigned i = 0; i < p->nslots; i++)
		free_slot_res(&p->slots[i]);
	free_slot_res(&p->cause);
	free(p->mark_off);
	free(p->last);
	free(p);
	*pp = NULL;
}
