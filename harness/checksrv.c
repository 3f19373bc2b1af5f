/* SPDX-License-Identifier: MIT */
/** @file
 *
 * A persistent checker process and its line protocol (see checksrv.h).
 *
 * The server's stdin and stdout are pipes whose crashfs ends are
 * non-blocking: a request is one short line written at once (a server
 * that stops reading its requests fills the pipe and is a protocol
 * error, never a hang), and answers are read as they come, a line at a
 * time, by whoever polls checksrv_fd().  Its stderr is a file opened with
 * O_APPEND, so crashfs can empty it between states while the server
 * keeps its descriptor.
 *
 * A server's life: DOWN -> STARTING (spawned, waiting for "ready", a
 * request may be queued) -> BUSY (a request sent) <-> IDLE -> DOWN (it
 * died or was killed: the next request starts another).
 */
#include "harness/checksrv.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
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

#include "core/util.h"

#define ERR_KEEP (1 << 20) /* the stderr file is emptied past this */

enum phase {
	SP_DOWN = 0, /* no process */
	SP_STARTING, /* spawned, "ready" not yet said */
	SP_IDLE,     /* ready, no request outstanding */
	SP_BUSY,     /* a request sent, its answer not yet read */
};

struct checksrv {
	struct checksrv_opts o; /* its strings are the copies below */
	char *cmd, *cwd, *errfile;
	enum phase phase;
	pid_t pid;	   /* the server (its process group), 0: none */
	int pidfd;	   /* -1: none */
	int in;		   /* its stdin, crashfs's end, -1: closed */
	int out;	   /* its stdout, crashfs's end, -1: closed */
	int errfd;	   /* its stderr file, to read and empty, -1: none */
	char *line;	   /* CHECKSRV_LINE_MAX bytes: what was read ... */
	size_t len;	   /* ... and not yet taken as a line */
	char *pending;	   /* a request waiting for "ready", malloc'd */
	char dir[4096];	   /* the current request's dir */
	char id[128];	   /* and its state id */
	off_t err_off;	   /* stderr written before the current state */
	double deadline;   /* the current wait times out */
	bool fresh;	   /* no answer yet from this process */
	double next_scan;  /* look at the whole group again after */
	pid_t *members;	   /* processes of the group seen last time */
	size_t nmembers;   /* how many */
	size_t capmembers; /* room in members */
	char err[1024];	   /* the last setup error */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(struct checksrv *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record a setup error; returns -err. */
static int fail(struct checksrv *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return -err;
}

struct checksrv *checksrv_new(const struct checksrv_opts *o)
{
	struct checksrv *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->line = malloc(CHECKSRV_LINE_MAX);
	if (!s->line) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->o = *o;
	s->o.cmd = s->cmd = strdup(o->cmd);
	s->o.cwd = s->cwd = strdup(o->cwd);
	s->o.errfile = s->errfile = strdup(o->errfile);
	s->pidfd = s->in = s->out = s->errfd = -1;
	if (!s->cmd || !s->cwd || !s->errfile) {
		checksrv_free(&s, 0);
		errno = ENOMEM;
	}
	return s;
}

/* ---- the process ------------------------------------------------------ */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Kill the group, collect the server's status; the server is DOWN. */
static int reap(struct checksrv *s)
{
	int status = 0;

	if (s->pid > 0) {
		kill(-s->pid, SIGKILL);
		while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	close_fd(&s->in);
	close_fd(&s->out);
	close_fd(&s->pidfd);
	s->pid = 0;
	s->len = 0;
	s->phase = SP_DOWN;
	free(s->pending);
	s->pending = NULL;
	s->nmembers = 0;
	return status;
}

/* Wait up to `secs` for the server to exit on its own (it closed its
 * stdout: its exit status is on its way). */
static void await_exit(struct checksrv *s, double secs)
{
	struct pollfd pf = {.fd = s->pidfd, .events = POLLIN};
	double end = now() + secs;

	if (s->pidfd < 0)
		return;
	while (now() < end &&
	       poll(&pf, 1, (int)((end - now()) * 1000) + 1) < 0 &&
	       errno == EINTR)
		;
}

/* Up to max bytes of what the server wrote on stderr since from. */
static size_t read_stderr(struct checksrv *s, off_t from, char *buf, size_t max)
{
	ssize_t n;

	if (s->errfd < 0 || !max)
		return 0;
	n = pread(s->errfd, buf, max, from);
	return n > 0 ? (size_t)n : 0;
}

/* "; its stderr: ..." for messages, from the start of this process. */
static void stderr_tail(struct checksrv *s, char *buf, size_t len)
{
	char tmp[600];
	size_t n = read_stderr(s, s->err_off, tmp, sizeof(tmp) - 1);

	tmp[n] = '\0';
	while (n && isspace((unsigned char)tmp[n - 1]))
		tmp[--n] = '\0';
	if (n)
		snprintf(buf, len, "; its stderr: %s", tmp);
	else
		snprintf(buf, len, "; it wrote nothing on stderr");
}

static int start(struct checksrv *s)
{
	char *argv[] = {"sh", "-c", (char *)s->o.cmd, NULL};
	int in[2] = {-1, -1}, out[2] = {-1, -1}, errw = -1, rc;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t dfl, none;
	struct stat st;

	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		goto out_errno;
	errw =
	    open(s->o.errfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (errw < 0)
		goto out_errno;
	if (s->errfd < 0) {
		s->errfd = open(s->o.errfile, O_RDWR | O_CLOEXEC);
		if (s->errfd < 0)
			goto out_errno;
	}
	s->err_off = fstat(s->errfd, &st) ? 0 : st.st_size;
	if (fcntl(in[1], F_SETFL, O_NONBLOCK) ||
	    fcntl(out[0], F_SETFL, O_NONBLOCK))
		goto out_errno;
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGPIPE);
	sigemptyset(&none);
	if ((rc = posix_spawnattr_init(&attr)))
		goto out_rc;
	if ((rc = posix_spawn_file_actions_init(&fa))) {
		posix_spawnattr_destroy(&attr);
		goto out_rc;
	}
	rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
						 POSIX_SPAWN_SETSIGDEF |
						 POSIX_SPAWN_SETSIGMASK);
	rc = rc ?: posix_spawnattr_setpgroup(&attr, 0);
	rc = rc ?: posix_spawnattr_setsigdefault(&attr, &dfl);
	rc = rc ?: posix_spawnattr_setsigmask(&attr, &none);
	rc = rc ?: posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	rc = rc ?: posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	rc = rc ?: posix_spawn_file_actions_adddup2(&fa, errw, 2);
	rc = rc ?: posix_spawn_file_actions_addchdir_np(&fa, s->o.cwd);
	rc = rc ?: posix_spawn(&s->pid, "/bin/sh", &fa, &attr, argv, s->o.envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc)
		goto out_rc;
	close(in[0]);
	close(out[1]);
	close(errw);
	s->in = in[1];
	s->out = out[0];
	s->pidfd = syscall(SYS_pidfd_open, s->pid, 0);
	s->phase = SP_STARTING;
	s->deadline = now() + s->o.timeout;
	s->fresh = true;
	s->len = 0;
	return 0;
out_errno:
	rc = errno;
out_rc:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	if (errw >= 0)
		close(errw);
	s->pid = 0;
	return fail(s, rc, "cannot start the checker server '%s': %s", s->o.cmd,
		    strerror(rc));
}

/* write(2) that turns a closed pipe into EPIPE without a SIGPIPE. */
static ssize_t write_nosig(int fd, const char *buf, size_t len)
{
	struct timespec zero = {0, 0};
	sigset_t pipe_set, old;
	ssize_t n;
	int e;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	n = write(fd, buf, len);
	e = errno;
	if (n < 0 && e == EPIPE)
		sigtimedwait(&pipe_set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return n;
}

/* Send a request line; the server is BUSY.  -EPIPE: it is gone. */
static int send_line(struct checksrv *s, const char *line)
{
	size_t len = strlen(line);
	ssize_t n;

	do
		n = write_nosig(s->in, line, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EPIPE)
		return -EPIPE;
	if (n < 0 && errno == EAGAIN)
		return fail(s, EPROTO,
			    "checker server '%s' does not read its requests "
			    "(its stdin is full)",
			    s->o.cmd);
	if (n < 0)
		return fail(s, errno, "cannot write to the checker server: %s",
			    strerror(errno));
	if ((size_t)n != len) /* shorter than PIPE_BUF: cannot happen */
		return fail(s, EPROTO, "short write to the checker server");
	s->phase = SP_BUSY;
	s->deadline = now() + s->o.timeout;
	return 0;
}

/* The server died between two states: a setup error. */
static int died_idle(struct checksrv *s)
{
	char how[96], tail[700];
	int status;

	await_exit(s, 0.1);
	stderr_tail(s, tail, sizeof(tail));
	status = reap(s);
	util_describe_status(status, how, sizeof(how));
	return fail(s, EPROTO,
		    "checker server '%s' %s between two states (a checker "
		    "server must run until its stdin ends)%s",
		    s->o.cmd, how, tail);
}

int checksrv_quiet(struct checksrv *s)
{
	struct pollfd pf = {.fd = s->out, .events = POLLIN};
	const char *nl;
	ssize_t n;
	size_t l;

	if (s->phase != SP_IDLE)
		return 0;
	/* whatever it said since its last answer, or its end */
	if (!s->len && poll(&pf, 1, 0) > 0) {
		n = read(s->out, s->line, CHECKSRV_LINE_MAX);
		if (n == 0)
			return died_idle(s);
		if (n > 0)
			s->len = n;
	}
	if (!s->len)
		return 0;
	nl = memchr(s->line, '\n', s->len);
	l = nl ? (size_t)(nl - s->line) : s->len;
	return fail(s, EPROTO,
		    "checker server '%s' printed '%.*s' without being asked "
		    "(its stdout is for answers only)",
		    s->o.cmd, (int)(l > 200 ? 200 : l), s->line);
}

int checksrv_ask(struct checksrv *s, const struct checksrv_req *r)
{
	char *line;
	struct stat st;
	int rc;

	if (s->phase == SP_BUSY || (s->phase == SP_STARTING && s->pending))
		return fail(s, EBUSY, "checker server asked twice");
	if (s->phase == SP_IDLE && (rc = checksrv_quiet(s)) < 0)
		return rc;
	if (s->phase == SP_DOWN && (rc = start(s)) < 0)
		return rc;
	/* the stderr file: emptied when it grew large; what the server
	 * writes from here on belongs to this state */
	if (!fstat(s->errfd, &st)) {
		if (st.st_size > ERR_KEEP && s->phase != SP_STARTING &&
		    !ftruncate(s->errfd, 0))
			st.st_size = 0;
		if (s->phase != SP_STARTING)
			s->err_off = st.st_size;
	}
	snprintf(s->dir, sizeof(s->dir), "%s", r->dir);
	snprintf(s->id, sizeof(s->id), "%s", r->id);
	if (asprintf(&line, "%s\t%s\t%" PRIu64 "\t%s\n", r->state, r->marks,
		     r->point, r->id) < 0)
		return fail(s, ENOMEM, "out of memory");
	if (s->phase == SP_STARTING) {
		s->pending = line;
		return 0;
	}
	rc = send_line(s, line);
	free(line);
	if (rc == -EPIPE)
		return died_idle(s);
	return rc;
}

bool checksrv_busy(const struct checksrv *s)
{
	return s->phase == SP_BUSY || (s->phase == SP_STARTING && s->pending);
}

int checksrv_fd(const struct checksrv *s)
{
	return checksrv_busy(s) ? s->out : -1;
}

double checksrv_deadline(const struct checksrv *s)
{
	return s->deadline;
}

const char *checksrv_error(const struct checksrv *s)
{
	return s->err;
}

int checksrv_pid(const struct checksrv *s)
{
	return s->pid;
}

/* ---- isolation: nothing of the state stays open ----------------------- */

/* Is pid in process group pgrp?  Its name into comm. */
static bool in_group(pid_t pid, pid_t pgrp, char *comm, size_t len)
{
	char path[64], buf[512], *l, *r;
	int fd, ppid, pg;
	ssize_t n;
	char st;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	l = strchr(buf, '(');
	r = strrchr(buf, ')');
	if (!l || !r || r < l ||
	    sscanf(r + 1, " %c %d %d", &st, &ppid, &pg) != 3)
		return false;
	if (comm)
		snprintf(comm, len, "%.*s", (int)(r - l - 1), l + 1);
	return pg == pgrp && st != 'Z';
}

static int add_member(struct checksrv *s, pid_t pid)
{
	if (s->nmembers == s->capmembers) {
		size_t cap = s->capmembers ? s->capmembers * 2 : 8;
		pid_t *v = realloc(s->members, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->members = v;
		s->capmembers = cap;
	}
	s->members[s->nmembers++] = pid;
	return 0;
}

/* Find every process of the server's group (a walk over /proc). */
static int scan_group(struct checksrv *s)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	s->nmembers = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		if (getpgid((pid_t)pid) == s->pid && add_member(s, pid) < 0) {
			closedir(d);
			return -ENOMEM;
		}
	}
	closedir(d);
	return 0;
}

/* Does path lie under dir (dir/ a prefix of it)? */
static bool under(const char *path, const char *dir, size_t dlen)
{
	return !strncmp(path, dir, dlen) && path[dlen] == '/';
}

/* A file under s->dir that pid holds open: its path into held. */
static bool holds_fd(struct checksrv *s, pid_t pid, char *held, size_t len)
{
	size_t dlen = strlen(s->dir);
	char path[64], target[4200];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(d), de->d_name, target,
			       sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (under(target, s->dir, dlen)) {
			snprintf(held, len, "%s", target + dlen + 1);
			found = true;
		}
	}
	closedir(d);
	return found;
}

/* A file under s->dir that pid has mapped: its path into held. */
static bool holds_map(struct checksrv *s, pid_t pid, char *held, size_t len)
{
	size_t dlen = strlen(s->dir), cap = 1 << 16, used = 0;
	char path[64], *buf = malloc(cap + 1), *p, *end;
	bool found = false;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !buf)
		goto out;
	while ((n = read(fd, buf + used, cap - used)) > 0) {
		used += n;
		if (used == cap) {
			char *b = cap < (64u << 20) ? realloc(buf, cap * 2 + 1)
						    : NULL;

			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
	}
	buf[used] = '\0';
	for (p = buf; (p = strstr(p, s->dir)); p += dlen) {
		if ((p != buf && p[-1] != ' ') || p[dlen] != '/')
			continue;
		end = strchr(p, '\n');
		snprintf(held, len, "%.*s",
			 (int)((end ? end : p + strlen(p)) - p - dlen - 1),
			 p + dlen + 1);
		found = true;
		break;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return found;
}

/*
 * After an answer: no process of the server's group may hold a file of
 * the state open or mapped.  The whole group is looked for after the
 * first answer of a process and every CHECKSRV_SCAN_EVERY seconds; the
 * processes found then are looked at after every answer.
 */
static int check_closed(struct checksrv *s)
{
	char held[512], comm[64];
	double t = now();
	int rc;

	if (s->fresh || t >= s->next_scan || !s->nmembers) {
		rc = scan_group(s);
		if (rc < 0)
			return fail(s, -rc, "cannot list processes: %s",
				    strerror(-rc));
		s->fresh = false;
		s->next_scan = t + CHECKSRV_SCAN_EVERY;
	}
	for (size_t i = 0; i < s->nmembers; i++) {
		pid_t pid = s->members[i];

		/* one system call, not three: the pid is still in the
		 * group (a zombie too, which holds nothing) */
		if (getpgid(pid) != s->pid) {
			s->members[i--] = s->members[--s->nmembers];
			continue;
		}
		if (holds_fd(s, pid, held, sizeof(held)) ||
		    holds_map(s, pid, held, sizeof(held))) {
			snprintf(comm, sizeof(comm), "?");
			(void)in_group(pid, s->pid, comm, sizeof(comm));
			return fail(s, EBUSY,
				    "checker server '%s': process %d (%s) "
				    "still has '%s' of state %s open after "
				    "answering; a checker server must close "
				    "every file of a state before it answers",
				    s->o.cmd, (int)pid, comm, held, s->id);
		}
	}
	return 0;
}

/* ---- answers ---------------------------------------------------------- */

/* The output of a failing state: its message, then its stderr. */
static char *state_output(struct checksrv *s, const char *msg)
{
	size_t max = s->o.output_max, n = 0;
	char *buf = malloc(max + 1);

	if (!buf)
		return NULL;
	if (msg && *msg)
		n = snprintf(buf, max + 1, "%s\n", msg);
	if (n > max)
		n = max;
	n += read_stderr(s, s->err_off, buf + n, max - n);
	buf[n] = '\0';
	return buf;
}

/* The state ends without an answer: timed out or the server died. */
static int no_answer(struct checksrv *s, bool timed_out,
		     struct checksrv_answer *a)
{
	char msg[256], how[96];
	int status;

	if (!timed_out)
		await_exit(s, 0.1);
	status = reap(s);
	util_describe_status(status, how, sizeof(how));
	if (timed_out)
		snprintf(msg, sizeof(msg),
			 "checker server timed out after %u s on this state",
			 s->o.timeout);
	else
		snprintf(msg, sizeof(msg),
			 "checker server %s while checking this state", how);
	a->pass = false;
	a->timed_out = timed_out;
	a->output = state_output(s, msg);
	return 1;
}

/* One line the server printed.  1: the answer is in *a. */
static int take_line(struct checksrv *s, char *l, struct checksrv_answer *a)
{
	size_t n = strlen(l);
	int rc;

	while (n && (l[n - 1] == '\r' || l[n - 1] == ' '))
		l[--n] = '\0';
	if (s->phase == SP_STARTING && !strcmp(l, "ready")) {
		char *req = s->pending;

		s->pending = NULL;
		s->phase = SP_IDLE;
		if (!req)
			return 0;
		rc = send_line(s, req);
		free(req);
		if (rc == -EPIPE)
			return no_answer(s, false, a);
		return rc;
	}
	if (s->phase == SP_BUSY && (!strcmp(l, "ok") || !strcmp(l, "fail") ||
				    !strncmp(l, "fail ", 5))) {
		s->phase = SP_IDLE;
		rc = check_closed(s);
		if (rc < 0)
			return rc;
		a->pass = l[0] == 'o';
		a->timed_out = false;
		a->output = a->pass ? NULL : state_output(s, l[4] ? l + 5 : "");
		return 1;
	}
	return fail(s, EPROTO,
		    "checker server '%s' said '%.200s' %s (the protocol: "
		    "'ready' once, then 'ok' or 'fail MESSAGE' per state; "
		    "diagnostics go to stderr)",
		    s->o.cmd, l,
		    s->phase == SP_STARTING ? "before 'ready'"
					    : "where an answer was expected");
}

int checksrv_step(struct checksrv *s, struct checksrv_answer *a)
{
	char *nl;
	ssize_t n;
	int rc;

	memset(a, 0, sizeof(*a));
	if (!checksrv_busy(s))
		return 0;
	for (;;) {
		while ((nl = memchr(s->line, '\n', s->len))) {
			size_t used = nl - s->line + 1;

			*nl = '\0';
			rc = take_line(s, s->line, a);
			memmove(s->line, s->line + used, s->len - used);
			s->len -= used;
			if (rc != 0)
				return rc;
			if (!checksrv_busy(s))
				return 0;
		}
		if (s->len == CHECKSRV_LINE_MAX)
			return fail(s, EPROTO,
				    "checker server '%s' printed a line longer "
				    "than %d bytes",
				    s->o.cmd, CHECKSRV_LINE_MAX);
		n = read(s->out, s->line + s->len, CHECKSRV_LINE_MAX - s->len);
		if (n > 0) {
			s->len += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return fail(s, errno,
				    "cannot read from the checker server: %s",
				    strerror(errno));
		break;
	}
	if (n == 0 || now() > s->deadline) {
		/* its stdout closed (it died), or it is too late */
		if (s->phase == SP_STARTING) {
			char how[96], tail[700];
			bool late = n != 0;
			int status;

			if (!late)
				await_exit(s, 0.1);
			stderr_tail(s, tail, sizeof(tail));
			status = reap(s);
			util_describe_status(status, how, sizeof(how));
			if (late)
				return fail(s, ETIMEDOUT,
					    "checker server '%s' did not say "
					    "'ready' within %u s%s",
					    s->o.cmd, s->o.timeout, tail);
			return fail(s, ECHILD,
				    "checker server '%s' %s before it said "
				    "'ready'%s",
				    s->o.cmd, how, tail);
		}
		return no_answer(s, n != 0, a);
	}
	return 0;
}

void checksrv_hangup(struct checksrv *s)
{
	if (s)
		close_fd(&s->in);
}

void checksrv_free(struct checksrv **sp, double grace)
{
	struct checksrv *s = *sp;

	if (!s)
		return;
	checksrv_hangup(s);
	if (s->pid > 0)
		await_exit(s, grace);
	reap(s);
	close_fd(&s->errfd);
	free(s->members);
	free(s->line);
	free(s->cmd);
	free(s->cwd);
	free(s->errfile);
	free(s);
	*sp = NULL;
}
