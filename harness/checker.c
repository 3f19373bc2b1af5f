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

#include "harness/materialize.h"
#include "harness/workload.h"

/* What a slot's marks file holds, to update it rather than rewrite it. */
struct slot_marks {
	bool valid;	/* the fields below describe the file */
	size_t n;	/* marks it lists */
	struct stat st; /* the file as left after writing them */
};

/* One slot: a directory, the state in it and the checker running there. */
struct slot {
	struct materializer *mt; /* writes the state into dir/state */
	struct slot_marks marks; /* dir/marks */
	pid_t pid;		 /* 0: slot free */
	int pidfd;		 /* -1: none (poll falls back to a tick) */
	double deadline;	 /* kill the checker after this */
	char dir[4096];		 /* slot directory: state/ out marks */
	size_t state;		 /* the caller's index of the state */
	uint64_t point;		 /* crash point */
};

struct checker_pool {
	struct checker_opts o;
	struct slot slots[CHECKER_MAX_JOBS];
	unsigned nslots;
	struct slot cause; /* checker_run_now()'s slot */
	size_t *mark_off;  /* byte offset of mark i in a marks file, i <=
			      checks_nmarks() (NULL: not computed yet) */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

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

static int env_for(struct checker_pool *p, const char *state_dir,
		   const char *marks, uint64_t point, struct checker_env *e)
{
	extern char **environ;
	const char *sdir = p->o.scenario_dir;
	size_t n = 0, k = 0;

	memset(e, 0, sizeof(*e));
	while (environ[n])
		n++;
	e->own[0] = env_var("CRASHFS_STATE=%s", state_dir);
	e->own[1] = env_var("CRASHFS_MARKS=%s", marks);
	e->own[2] = env_var("CRASHFS_POINT=%llu", (unsigned long long)point);
	if (sdir)
		e->own[3] = env_var("CRASHFS_SCENARIO_DIR=%s", sdir);
	e->envp = calloc(n + 5, sizeof(*e->envp));
	if (!e->own[0] || !e->own[1] || !e->own[2] || (sdir && !e->own[3]) ||
	    !e->envp) {
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
 * Write the model's current state and the marks file into slot s.  The
 * checker may have changed the previous state (SQLite recovers its
 * journal): the materializer removes what it changed and rewrites that,
 * with the ops that differ from the previous state.
 */
static int prepare_slot(struct checker_pool *p, struct slot *s, struct model *m,
			uint64_t upto, char *state_dir, char *marks, size_t len)
{
	char err[256];
	int rc;

	snprintf(state_dir, len, "%s/state", s->dir);
	snprintf(marks, len, "%s/marks", s->dir);
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
static pid_t spawn_checker(struct checker_pool *p, const char *state_dir,
			   const char *marks, const char *out, uint64_t point)

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
	rc = env_for(p, state_dir, marks, point, &e);
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

struct checker_pool *checker_pool_new(const struct checker_opts *o, char *err,
				      size_t errlen)
{
	struct checker_pool *p = calloc(1, sizeof(*p));

	if (!p) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	p->o = *o;
	p->nslots = o->jobs ? o->jobs : 1;
	if (p->nslots > CHECKER_MAX_JOBS)
		p->nslots = CHECKER_MAX_JOBS;
	for (unsigned i = 0; i < p->nslots; i++) {
		snprintf(p->slots[i].dir, sizeof(p->slots[i].dir), "%s/%u",
			 o->dir, i);
		if (mkdir(p->slots[i].dir, 0755) < 0 && errno != EEXIST) {
			int e = errno;

			snprintf(err, errlen, "cannot create '%s': %s",
				 p->slots[i].dir, strerror(e));
			free(p);
			errno = e;
			return NULL;
		}
	}
	snprintf(p->cause.dir, sizeof(p->cause.dir), "%s/cause", o->dir);
	return p;
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
	if (p->o.done)
		p->o.done(p->o.ctx, &f);
	else
		free(f.output);
}

/* Wait for one running job to end (or for all with all = true). */
static void reap(struct checker_pool *p, bool all)
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

static struct slot *free_slot(struct checker_pool *p)
{
	for (;;) {
		for (unsigned i = 0; i < p->nslots; i++)
			if (!p->slots[i].pid)
				return &p->slots[i];
		reap(p, false);
	}
}

int checker_start(struct checker_pool *p, struct model *m, size_t state,
		  uint64_t point, uint64_t upto)
{
	struct slot *s = free_slot(p);
	char state_dir[4200], marks[4200], out[4200];
	int rc;

	rc = prepare_slot(p, s, m, upto, state_dir, marks, sizeof(state_dir));
	if (rc < 0)
		return rc;
	snprintf(out, sizeof(out), "%s/out", s->dir);
	s->pid = spawn_checker(p, state_dir, marks, out, point);
	if (s->pid <= 0) {
		rc = s->pid < 0 ? s->pid : -ECHILD;
		s->pid = 0;
		return rc;
	}
	s->pidfd = syscall(SYS_pidfd_open, s->pid, 0);
	s->deadline = now() + p->o.timeout;
	s->state = state;
	s->point = point;
	return 0;
}

void checker_wait(struct checker_pool *p)
{
	reap(p, true);
}

bool checker_run_now(struct checker_pool *p, struct model *m, uint64_t point,
		     uint64_t upto)
{
	char state[4200], marks[4200], out[4200];
	double deadline = now() + p->o.timeout;
	int status = 0;
	pid_t pid;

	mkdir(p->cause.dir, 0755);
	if (prepare_slot(p, &p->cause, m, upto, state, marks, sizeof(state)) <
	    0)
		return false;
	snprintf(out, sizeof(out), "%s/out", p->cause.dir);
	pid = spawn_checker(p, state, marks, out, point);
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

unsigned checker_timeout(const struct checker_pool *p)
{
	return p->o.timeout;
}

void checker_pool_free(struct checker_pool **pp)
{
	struct checker_pool *p = *pp;

	if (!p)
		return;
	/* checkers still running are killed, their verdicts dropped */
	for (unsigned i = 0; i < p->nslots; i++) {
		struct slot *s = &p->slots[i];

		if (s->pid) {
			kill(-s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
			if (s->pidfd >= 0)
				close(s->pidfd);
		}
		materialize_free(&s->mt);
	}
	materialize_free(&p->cause.mt);
	free(p->mark_off);
	free(p);
	*pp = NULL;
}
