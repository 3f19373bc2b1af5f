/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Run a workload on a fresh recording mount (see workload.h).
 *
 * Every child runs in a process group of its own, and the whole group is
 * killed with SIGKILL once the child exits: that is how a daemon forked by
 * the workload is kept from holding the mount busy.  Waiting uses a pidfd
 * (poll with a timeout), so timeouts and SIGINT/SIGTERM are noticed within
 * a tenth of a second without SIGCHLD games.
 */
#include "harness/workload.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

#define DEFAULT_TIMEOUT 600 /* seconds for setup and workload */
#define MOUNT_TIMEOUT 30    /* seconds for crashfs mount / umount */

static volatile sig_atomic_t got_signal; /* SIGINT/SIGTERM arrived */

static void on_signal(int sig)
{
	got_signal = sig;
	util_stop(); /* for the long loops outside this module */
}

void workload_catch_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

bool workload_interrupted(void)
{
	return got_signal != 0;
}

int workload_signal(void)
{
	return got_signal;
}

const char *workload_self(void)
{
	static char self[PATH_MAX];
	ssize_t n;

	if (self[0])
		return self;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		snprintf(self, sizeof(self), "crashfs");
	else
		self[n] = '\0';
	return self;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void child(char *const *argv, const char *shell, const char *dir,
		  char *const *env, int out_fd, struct syncwatch *sw)
{
	int null = open("/dev/null", O_RDONLY);

	setpgid(0, 0);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (null >= 0)
		dup2(null, 0);
	if (out_fd >= 0) {
		dup2(out_fd, 1);
		dup2(out_fd, 2);
	}
	if (dir && chdir(dir) < 0) {
		util_err("cannot enter '%s': %s", dir, strerror(errno));
		_exit(126);
	}
	for (; env && *env; env++)
		putenv(*env);
	if (sw)
		syncwatch_child(
		    sw); /* last: the filter sees only the program */
	if (argv) {
		execvp(argv[0], argv);
		util_err("cannot run '%s': %s", argv[0], strerror(errno));
	} else {
		execl("/bin/sh", "sh", "-c", shell, (char *)NULL);
		util_err("cannot run /bin/sh: %s", strerror(errno));
	}
	/* as the shell says it: 127 not found, 126 found but not runnable */
	_exit(errno == ENOENT || errno == ENOTDIR ? 127 : 126);
}

static int spawn(char *const *argv, const char *shell, const char *dir,
		 char *const *env, int out_fd, unsigned timeout, int *status,
		 bool interruptible, struct workload *w, struct syncwatch *sw);

int workload_spawn(char *const *argv, const char *shell, const char *dir,
		   char *const *env, int out_fd, unsigned timeout, int *status)
{
	return spawn(argv, shell, dir, env, out_fd, timeout, status, true, NULL,
		     NULL);
}

/* interruptible: a SIGINT/SIGTERM ends the wait (cleanup commands are
 * not interruptible: they must run after the signal).  sw: watch the
 * child's sync calls, saying in w->syncs_unseen if that failed. */
static int spawn(char *const *argv, const char *shell, const char *dir,
		 char *const *env, int out_fd, unsigned timeout, int *status,
		 bool interruptible, struct workload *w, struct syncwatch *sw)
{
	double deadline = timeout ? now() + timeout : 0;
	int pidfd, ret = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child(argv, shell, dir, env, out_fd, sw);
	setpgid(pid, pid);
	if (sw &&
	    syncwatch_start(sw, w->syncs_unseen, sizeof(w->syncs_unseen)) < 0)
		util_warn("the workload's sync(2) and syncfs(2) calls are not "
			  "seen in this run: %s",
			  w->syncs_unseen);
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		if (got_signal && interruptible) {
			ret = -EINTR;
			break;
		}
		if (deadline && now() >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		if (pidfd >= 0)
			poll(&p, 1, 100);
		else
			usleep(2000);
	}
	/* the group: the child if still there, and anything it left */
	kill(-pid, SIGKILL);
	if (ret < 0 && ret != -ECHILD)
		waitpid(pid, status, 0);
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int workload_rmtree(const char *path)
{
	int rc = nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);

	if (rc < 0 && errno == ENOENT)
		return 0;
	return rc < 0 ? -errno : rc;
}

static char *join(const char *a, const char *b)
{
	char *p;

	if (asprintf(&p, "%s/%s", a, b) < 0)
		return NULL;
	return p;
}

const char *workload_trace(const struct workload *w, char *buf, size_t len)
{
	snprintf(buf, len, "%s/trace", w->dir);
	return buf;
}

const char *workload_initial(const struct workload *w, char *buf, size_t len)
{
	snprintf(buf, len, "%s/initial", w->dir);
	return buf;
}

/* Run a helper command (cp, crashfs mount ...) and say what failed.
 * Mounting and unmounting are waited for whatever arrives (a mount must
 * not be left behind); a copy ends on SIGINT/SIGTERM. */
static int helper(char *const *argv, const char *dir, unsigned timeout,
		  char *err, size_t errlen)
{
	bool copy = !strcmp(argv[0], "cp");
	int status = 0, rc;
	char how[96];

	rc = spawn(argv, NULL, dir, NULL, -1, timeout, &status, copy, NULL,
		   NULL);
	if (rc == -EINTR) {
		snprintf(err, errlen, "interrupted");
		return rc;
	}
	if (rc == -ETIMEDOUT) {
		snprintf(err, errlen, "'%s %s' did not finish in %u s", argv[0],
			 argv[1], timeout);
		return rc;
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot run '%s': %s", argv[0],
			 strerror(-rc));
		return rc;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		util_describe_status(status, how, sizeof(how));
		snprintf(err, errlen, "'%s %s' %s", argv[0], argv[1], how);
		return -EIO;
	}
	return 0;
}

/* Make the run directory and initial/ (empty, copied or set up). */
static int prepare(struct workload *w, char *err, size_t errlen)
{
	char *initial = NULL, *backing = NULL, *mnt = NULL;
	int rc = -ENOMEM, status;

	if (w->run_dir) {
		if (mkdir(w->run_dir, 0755) < 0 && errno != EEXIST) {
			rc = -errno;
			snprintf(err, errlen,
				 "cannot create run directory "
				 "'%s': %s",
				 w->run_dir, strerror(errno));
			return rc;
		}
		w->dir = realpath(w->run_dir, NULL);
	} else {
		const char *tmp = getenv("TMPDIR");
		char *tmpl = NULL;

		if (asprintf(&tmpl, "%s/crashfs-run.XXXXXX",
			     tmp && *tmp ? tmp : "/tmp") < 0)
			return -ENOMEM;
		if (!mkdtemp(tmpl)) {
			rc = -errno;
			snprintf(err, errlen,
				 "cannot create a temporary run "
				 "directory: %s",
				 strerror(errno));
			free(tmpl);
			return rc;
		}
		w->dir = tmpl;
		w->tmp_run = true;
	}
	if (!w->dir) {
		rc = -errno;
		snprintf(err, errlen, "cannot resolve '%s': %s", w->run_dir,
			 strerror(errno));
		return rc;
	}
	initial = join(w->dir, "initial");
	backing = join(w->dir, "backing");
	mnt = join(w->dir, "mnt");
	if (!initial || !backing || !mnt)
		goto out;
	{
		char *names[] = {initial, backing, mnt};

		for (int i = 0; i < 3; i++) {
			struct stat st;

			if (lstat(names[i], &st) == 0) {
				rc = -EEXIST;
				snprintf(err, errlen,
					 "run directory '%s' is "
					 "not empty (it has '%s'); give a new "
					 "or empty one",
					 w->dir, strrchr(names[i], '/') + 1);
				goto out;
			}
		}
	}
	if (mkdir(initial, 0755) < 0 || mkdir(backing, 0755) < 0 ||
	    mkdir(mnt, 0755) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot create directories in '%s': %s",
			 w->dir, strerror(errno));
		goto out;
	}
	if (w->from) {
		char *src = join(w->from, ".");
		char *cp[] = {"cp", "-a", "--", src, initial, NULL};
		struct stat st;

		if (stat(w->from, &st) < 0 || !S_ISDIR(st.st_mode)) {
			rc = -ENOTDIR;
			snprintf(err, errlen, "--from '%s' is not a directory",
				 w->from);
			free(src);
			goto out;
		}
		rc = src ? helper(cp, NULL, w->timeout, err, errlen) : -ENOMEM;
		free(src);
		if (rc < 0)
			goto out;
	}
	if (w->setup) {
		char how[96];
		char *env[3] = {NULL};
		char *sd = NULL;

		if (w->scenario_dir && asprintf(&sd, "CRASHFS_SCENARIO_DIR=%s",
						w->scenario_dir) >= 0)
			env[0] = sd;
		if (w->verbose)
			fprintf(stderr, "crashfs check: setup: %s\n", w->setup);
		rc = workload_spawn(NULL, w->setup, initial, env,
				    w->out_fd > 0 ? w->out_fd : -1,
				    w->timeout ? w->timeout : DEFAULT_TIMEOUT,
				    &status);
		free(sd);
		if (rc == -ETIMEDOUT || rc == -EINTR) {
			snprintf(err, errlen, "setup command %s",
				 rc == -EINTR ? "was interrupted"
					      : "timed out");
			goto out;
		}
		if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status))) {
			util_describe_status(status, how, sizeof(how));
			snprintf(err, errlen, "setup command '%s' %s", w->setup,
				 how);
			rc = -ECHILD;
			goto out;
		}
		if (rc < 0) {
			snprintf(err, errlen, "cannot run setup: %s",
				 strerror(-rc));
			goto out;
		}
	}
	{
		char *src = join(initial, ".");
		char *cp[] = {"cp", "-a", "--", src, backing, NULL};

		rc = src ? helper(cp, NULL, 0, err, errlen) : -ENOMEM;
		free(src);
	}
out:
	free(initial);
	free(backing);
	free(mnt);
	return rc;
}

/*
 * Argument paths relative to the user's directory would be looked up in
 * the mount (the workload's cwd).  argv[0] with a '/' and the script
 * an interpreter is given are made absolute, if they exist here and not
 * in the initial state.
 */
static char **absolute_argv(char *const *argv, const char *initial)
{
	static const char *const interp[] = {
	    "python", "python3", "sh", "bash", "perl", "ruby", "node", NULL};
	size_t n = 0;
	char **v;

	while (argv[n])
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *a = argv[i], *base = strrchr(argv[0], '/');
		bool cand = false;
		char *in_init = NULL;
		struct stat st;

		base = base ? base + 1 : argv[0];
		if (i == 0)
			cand = strchr(a, '/') != NULL;
		else if (i == 1)
			for (int k = 0; interp[k]; k++)
				cand |= !strncmp(base, interp[k],
						 strlen(interp[k]));
		if (cand && a[0] != '/' && a[0] != '-' && stat(a, &st) == 0 &&
		    S_ISREG(st.st_mode) && (in_init = join(initial, a)) &&
		    lstat(in_init, &st) < 0)
			v[i] = realpath(a, NULL);
		free(in_init);
		if (!v[i])
			v[i] = strdup(a);
		if (!v[i])
			goto out_free;
	}
	return v;
out_free:
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return NULL;
}

static void free_argv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* Unmount mnt: crashfs umount, then a lazy unmount if it stays busy. */
static int unmount(const char *mnt, char *err, size_t errlen)
{
	char *um[] = {(char *)workload_self(), "umount", (char *)mnt, NULL};
	char *lazy[] = {"fusermount3", "-u", "-z", (char *)mnt, NULL};
	char msg[256];
	int rc;

	rc = helper(um, NULL, MOUNT_TIMEOUT, msg, sizeof(msg));
	if (rc == 0)
		return 0;
	util_warn("%s; unmounting '%s' lazily", msg, mnt);
	rc = helper(lazy, NULL, MOUNT_TIMEOUT, msg, sizeof(msg));
	if (rc < 0 && err)
		snprintf(err, errlen, "cannot unmount the mount: %.200s", msg);
	return rc;
}

int workload_run(struct workload *w, char *err, size_t errlen)
{
	char *backing = NULL, *mnt = NULL, *trace = NULL, *initial = NULL;
	char **argv = NULL, *env[4] = {NULL}, *self_dir = NULL;
	const char *path = getenv("PATH");
	struct syncwatch *sw = NULL;
	bool mounted = false;
	double t0;
	int rc;

	err[0] = '\0';
	w->status = 0;
	w->syncs_unseen[0] = '\0';
	memset(&w->syncs, 0, sizeof(w->syncs));
	rc = prepare(w, err, errlen);
	if (rc < 0)
		goto out;
	rc = -ENOMEM;
	backing = join(w->dir, "backing");
	mnt = join(w->dir, "mnt");
	trace = join(w->dir, "trace");
	initial = join(w->dir, "initial");
	if (!backing || !mnt || !trace || !initial)
		goto out;
	{
		char *m[] = {(char *)workload_self(),
			     "mount",
			     "--trace",
			     trace,
			     backing,
			     mnt,
			     NULL};

		rc = helper(m, NULL, MOUNT_TIMEOUT, err, errlen);
		if (rc < 0)
			goto out;
		mounted = true;
	}
	self_dir = strdup(workload_self());
	if (!self_dir || (*strrchr(self_dir, '/') = '\0', 0) ||
	    asprintf(&env[0], "CRASHFS_MOUNT=%s", mnt) < 0 ||
	    asprintf(&env[1], "PATH=%s:%s", self_dir,
		     path ? path : "/usr/bin:/bin") < 0 ||
	    (w->scenario_dir && asprintf(&env[2], "CRASHFS_SCENARIO_DIR=%s",
					 w->scenario_dir) < 0)) {
		rc = -ENOMEM;
		goto out;
	}
	if (w->argv && !(argv = absolute_argv(w->argv, initial))) {
		rc = -ENOMEM;
		goto out;
	}
	if (w->no_sync_watch)
		snprintf(w->syncs_unseen, sizeof(w->syncs_unseen),
			 "--no-sync-watch was given");
	else if (!(sw = syncwatch_new(mnt, w->syncs_unseen,
				      sizeof(w->syncs_unseen))))
		util_warn("the workload's sync(2) and syncfs(2) calls are not "
			  "seen in this run: %s",
			  w->syncs_unseen);
	if (w->verbose)
		fprintf(stderr, "crashfs check: running the workload in %s\n",
			mnt);
	t0 = now();
	rc = spawn(argv, w->shell, mnt, env, w->out_fd > 0 ? w->out_fd : -1,
		   w->timeout ? w->timeout : DEFAULT_TIMEOUT, &w->status, true,
		   w, sw);
	w->seconds = now() - t0;
	if (sw) {
		/* every process of the workload is gone: the counts are final */
		syncwatch_stats(sw, &w->syncs);
		syncwatch_free(&sw);
		if (w->verbose && !w->syncs_unseen[0])
			fprintf(stderr,
				"crashfs check: sync points seen: %llu, "
				"sync_file_range calls: %llu, not about the "
				"mount: %llu%s\n",
				(unsigned long long)w->syncs.syncs,
				(unsigned long long)w->syncs.ranges,
				(unsigned long long)w->syncs.other,
				w->syncs.nnp ? " (no_new_privs was set: "
					       "setuid programs ran without "
					       "their privileges)"
					     : "");
		if (w->syncs.lost && !w->syncs_unseen[0])
			snprintf(w->syncs_unseen, sizeof(w->syncs_unseen),
				 "%llu of them could not be recorded",
				 (unsigned long long)w->syncs.lost);
	}
	if (rc == -ETIMEDOUT)
		snprintf(err, errlen,
			 "the workload did not finish in %u s; "
			 "killed it",
			 w->timeout ? w->timeout : DEFAULT_TIMEOUT);
	else if (rc == -EINTR)
		snprintf(err, errlen, "interrupted; killed the workload");
	else if (rc < 0)
		snprintf(err, errlen, "cannot run the workload: %s",
			 strerror(-rc));
	else if (!WIFEXITED(w->status) || WEXITSTATUS(w->status)) {
		char how[96];

		util_describe_status(w->status, how, sizeof(how));
		snprintf(err, errlen, "the workload %s%s", how,
			 !WIFEXITED(w->status) ? ""
			 : WEXITSTATUS(w->status) == 127
			     ? " (command not found?)"
			 : WEXITSTATUS(w->status) == 126
			     ? " (command not executable?)"
			     : "");
		rc = -ECHILD;
	}
out:
	syncwatch_free(&sw); /* it holds the mount open */
	if (mounted) {
		char uerr[256];
		int urc = unmount(mnt, uerr, sizeof(uerr));

		if (urc < 0 && rc == 0) {
			rc = urc;
			snprintf(err, errlen, "%s", uerr);
		}
		if (urc == 0) {
			workload_rmtree(backing);
			rmdir(mnt);
		}
	} else if (backing && w->dir) {
		workload_rmtree(backing);
		rmdir(mnt);
	}
	if (rc == -ENOMEM && !err[0])
		snprintf(err, errlen, "out of memory");
	free_argv(argv);
	for (int i = 0; i < 3; i++)
		free(env[i]);
	free(self_dir);
	free(backing);
	free(mnt);
	free(trace);
	free(initial);
	return rc;
}

void workload_release(struct workload *w)
{
	if (w->dir && w->tmp_run && !w->keep)
		workload_rmtree(w->dir);
	free(w->dir);
	w->dir = NULL;
	w->tmp_run = false;
}
