/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Starting a recording crashfs (fusefs/mount.h): path checks, the trace,
 * the FUSE session, daemonizing and serving.
 */
#include "core/util.h"
#include "fusefs/ctl.h"
#include "fusefs/fs.h"
#include "fusefs/kio.h"
#include "fusefs/lazyfs.h"
#include "fusefs/powercut.h"
#include "fusefs/mount.h"
#include "fusefs/mountinfo.h"
#include "fusefs/scratch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFS_TIMEOUT 1.0	    /* kernel entry/attr cache, seconds */
#define CFS_IDLE_THREADS 10 /* FUSE workers kept when idle */

/* True if path is dir or below it (both canonical). */
static bool inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return true;
	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

static int check_dir(const char *what, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		if (errno == ENOTCONN)
			util_err("%s '%s' is a mount whose daemon is gone; run "
				 "'crashfs umount %s' first",
				 what, path, path);
		else if (errno == ENOENT)
			util_err("%s '%s' does not exist", what, path);
		else
			util_err("cannot use %s '%s': %s", what, path,
				 strerror(errno));
		return 2;
	}
	if (!S_ISDIR(st.st_mode)) {
		util_err("%s '%s' is not a directory", what, path);
		return 2;
	}
	return 0;
}

/* False if dir has an entry other than . and .. (or cannot be read:
 * mounting then reports the real problem). */
static bool dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool empty = true;

	if (!d)
		return true;
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

/* Canonical trace path: its directory must exist. */
static char *trace_canon(const char *trace)
{
	char *copy = strdup(trace), *dir, *out = NULL;
	char *real;

	if (!copy)
		return NULL;
	real = realpath(dirname(copy), NULL);
	if (!real) {
		util_err("cannot write trace '%s': directory '%s': %s", trace,
			 dirname(strcpy(copy, trace)), strerror(errno));
		free(copy);
		return NULL;
	}
	strcpy(copy, trace);
	dir = basename(copy);
	if (asprintf(&out, "%s/%s", strcmp(real, "/") ? real : "", dir) < 0)
		out = NULL;
	free(real);
	free(copy);
	return out;
}

/* Check the paths; fill fs->backing, fs->mount, fs->trace_path. */
static int check_paths(const struct mount_opts *o, struct cfs *fs)
{
	char type[64];
	struct stat st;

	if (check_dir("backing directory", o->backing) ||
	    check_dir("mount point", o->mnt))
		return 2;
	fs->backing = realpath(o->backing, NULL);
	fs->mount = realpath(o->mnt, NULL);
	fs->trace_path = trace_canon(o->trace);
	if (!fs->backing || !fs->mount || !fs->trace_path) {
		if (fs->trace_path)
			util_err("cannot resolve '%s' or '%s': %s", o->backing,
				 o->mnt, strerror(errno));
		return 2;
	}
	if (mountinfo_type(fs->mount, type, sizeof(type)) == 1) {
		util_err("mount point '%s' is already a mount point (%s)",
			 o->mnt, type);
		return 2;
	}
	if (!strcmp(fs->backing, fs->mount)) {
		util_err("backing directory and mount point are the same "
			 "directory '%s'",
			 fs->mount);
		return 2;
	}
	if (inside(fs->mount, fs->backing)) {
		util_err("mount point '%s' is inside the backing directory "
			 "'%s'",
			 o->mnt, o->backing);
		return 2;
	}
	if (inside(fs->backing, fs->mount)) {
		util_err("backing directory '%s' is inside the mount point "
			 "'%s'",
			 o->backing, o->mnt);
		return 2;
	}
	if (!o->nonempty && !dir_empty(fs->mount)) {
		util_err("mount point '%s' is not empty: the mount would hide "
			 "its files from the program (give -o nonempty to "
			 "mount over them anyway)",
			 o->mnt);
		return 2;
	}
	if (inside(fs->trace_path, fs->backing) ||
	    inside(fs->trace_path, fs->mount)) {
		util_err(
		    "trace '%s' is inside the %s '%s': it must be "
		    "outside the recorded tree",
		    o->trace,
		    inside(fs->trace_path, fs->backing) ? "backing directory"
							: "mount point",
		    inside(fs->trace_path, fs->backing) ? o->backing : o->mnt);
		return 2;
	}
	if (stat(fs->trace_path, &st) == 0 && S_ISDIR(st.st_mode)) {
		util_err("trace '%s' is a directory", o->trace);
		return 2;
	}
	return 0;
}

/*
 * A --powercut daemon killed without `crashfs umount` leaves its scratch
 * directory (fusefs/scratch.h) beside its trace or in the backing root.
 * A new mount with the same trace or backing removes a stale one, so it
 * never shows in the mount nor holds links to files; a live one (another
 * daemon's) is left alone.
 */
static void remove_stale_scratch(struct cfs *fs)
{
	char *paths[2] = {NULL, NULL};
	uint64_t bytes;
	int res;

	if (asprintf(&paths[0], "%s.scratch", fs->trace_path) < 0)
		paths[0] = NULL;
	if (asprintf(&paths[1], "%s/%s", fs->backing, PC_SCRATCH) < 0)
		paths[1] = NULL;
	for (int i = 0; i < 2; i++) {
		if (!paths[i])
			continue;
		res = scratch_remove_stale(paths[i], &bytes);
		if (res == 1)
			util_warn(
			    "removed the power cut scratch directory '%s' "
			    "(%llu bytes) left by a killed daemon",
			    paths[i], (unsigned long long)bytes);
		else if (res < 0 && res != -EBUSY && res != -ENOTEMPTY &&
			 res != -ENOTDIR)
			util_warn("cannot remove the stale power cut scratch "
				  "directory '%s': %s",
				  paths[i], strerror(-res));
		free(paths[i]);
	}
}

/* Held O_PATH fds follow the number of files the kernel knows. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Do the FUSE options opts (comma-separated) let users other than the
 * daemon's own reach the mount? */
static bool lets_others_in(const char *opts)
{
	const char *p = opts;
	size_t n;

	while (p && *p) {
		n = strcspn(p, ",");
		if ((n == 11 && !strncmp(p, "allow_other", n)) ||
		    (n == 10 && !strncmp(p, "allow_root", n)))
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

/*
 * The mount's own FUSE options.  fsname is "crashfs", or with --powercut
 * "crashfs:" and the scratch directory (fusefs/scratch.h), so that
 * `crashfs umount` of a mount whose daemon was killed can find and remove
 * it (commas and backslashes escaped for libfuse's option parser).
 * default_permissions only when other users can reach the mount.
 * Without allow_other or allow_root the kernel lets in only processes
 * with the daemon's own uid and gid, and the backing directory's checks,
 * made with the daemon's credentials, answer them as the kernel would;
 * the kernel's checks would cost a GETATTR of the parent after every
 * create and unlink (they drop its cached attributes).
 */
static char *fsname_opts(struct cfs *fs, bool others)
{
	const char *dir = pc_scratch_dir(fs);
	size_t len = 128 + (dir ? 2 * strlen(dir) : 0);
	char *out = malloc(len), *p;

	if (!out)
		return NULL;
	p = out + sprintf(out, "fsname=%s", dir ? SCRATCH_FSNAME : "crashfs");
	if (dir) {
		for (; *dir; dir++) {
			if (*dir == ',' || *dir == '\\')
				*p++ = '\\';
			*p++ = *dir;
		}
	}
	sprintf(p, ",subtype=crashfs%s", others ? ",default_permissions" : "");
	return out;
}

static struct fuse_session *new_session(const struct mount_opts *o,
					struct cfs *fs)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	char *opts = fsname_opts(fs, lets_others_in(o->fuse_opts));

	if (!opts || fuse_opt_add_arg(&args, "crashfs") ||
	    fuse_opt_add_arg(&args, "-o") || fuse_opt_add_arg(&args, opts))
		goto out;
	if (o->fuse_opts && (fuse_opt_add_arg(&args, "-o") ||
			     fuse_opt_add_arg(&args, o->fuse_opts)))
		goto out;
	se = fuse_session_new(&args, &cfs_ops, sizeof(cfs_ops), fs);
out:
	free(opts);
	fuse_opt_free_args(&args);
	return se;
}

/* Serve until unmounted or signalled; close the trace.  Returns the
 * exit status. */
static int serve(struct cfs *fs, struct ctl_server **srv, struct lzf **lzf)
{
	/* FUSE_USE_VERSION 35: the 3.2 loop configuration.  Idle workers
	 * are kept: a thread per request costs more than the request. */
	struct fuse_loop_config cfg = {
	    .clone_fd = 0,
	    .max_idle_threads = CFS_IDLE_THREADS,
	};
	unsigned long long records;
	char final[600];
	int err, ret;

	cfs_log("serving '%s' on '%s', trace '%s'", fs->backing, fs->mount,
		fs->trace_path);
	ret = fuse_session_loop_mt(fs->se, &cfg);
	/* No fifo command from here on: it would meet a closing journal. */
	lzf_free(lzf, true);
	/* libfuse answers the signal that ended the loop: a clean stop. */
	if (ret == SIGTERM || ret == SIGINT || ret == SIGHUP) {
		cfs_log("stopped by %s", strsignal(ret));
		ret = 0;
	}
	fuse_session_unmount(fs->se);
	/* The scratch space goes before umount is told we are done. */
	pthread_mutex_lock(&fs->order);
	pc_release(fs);
	pthread_mutex_unlock(&fs->order);

	pthread_mutex_lock(&fs->order);
	records = trace_writer_count(fs->tw) + 1;
	err = trace_writer_close(&fs->tw);
	pthread_mutex_unlock(&fs->order);
	if (fs->broken) {
		snprintf(final, sizeof(final),
			 "error trace '%s' is incomplete: an append failed: %s",
			 fs->trace_path, strerror(-fs->broken));
	} else if (err) {
		snprintf(final, sizeof(final),
			 "error cannot finish trace '%s': %s", fs->trace_path,
			 strerror(-err));
	} else {
		snprintf(final, sizeof(final), "done %llu", records);
	}
	cfs_log("%s%s", ret ? "fuse loop failed; " : "", final);
	ctl_stop(srv, final);
	return fs->broken || err || ret ? 1 : 0;
}

/*
 * Become a daemon: the parent waits for the child to say the mount is
 * served (one byte, 0) and returns 0, or 2 if the child exits first (it
 * has said why on stderr); the child returns -1 and goes on.
 */
static int daemonize(int *ready_fd, bool *forked)
{
	pid_t pid, parent = getpid();
	int p[2];
	char c = 2;

	if (pipe2(p, O_CLOEXEC) < 0) {
		util_err("cannot daemonize: %s", strerror(errno));
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		util_err("cannot daemonize: %s", strerror(errno));
		return 2;
	}
	if (pid > 0) {
		*forked = true;
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			c = 2;
		close(p[0]);
		return c;
	}
	close(p[0]);
	/* Until the mount is served, the daemon lives only as long as the
	 * mount command waiting for it (killed by a timeout, ^C): then it
	 * ends (run() undoes what it made) instead of serving a mount
	 * nobody was told about. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(2); /* gone already: nothing made yet */
	setsid();
	*ready_fd = p[1];
	return -1;
}

/* Block (how = SIG_BLOCK, the old mask in *saved) or restore
 * (SIG_SETMASK, *saved) SIGTERM, SIGINT and SIGHUP. */
static void stop_signals(int how, sigset_t *saved)
{
	sigset_t stop;

	if (how == SIG_SETMASK) {
		sigprocmask(SIG_SETMASK, saved, NULL);
		return;
	}
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, saved);
}

/* stdin from /dev/null; stdout and stderr to the log or /dev/null. */
static void redirect_stdio(int logfd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null >= 0)
		dup2(null, 0);
	if (logfd < 0)
		logfd = null;
	if (logfd >= 0) {
		dup2(logfd, 1);
		dup2(logfd, 2);
	}
	if (null > 2)
		close(null);
}

/* Bind the root first: every later record may refer to it. */
static int bind_root(struct cfs *fs)
{
	struct trace_rec rec = {
	    .type = TR_BIND,
	    .id = TRACE_ROOT_ID,
	    .name = "",
	    .mode = S_IFDIR | 0755,
	};
	struct stat st;

	if (fstat(fs->root.fd, &st) == 0) {
		rec.mode = st.st_mode;
		rec.len = (uint64_t)st.st_size;
	}
	return trace_append(fs->tw, &rec);
}

/*
 * Create the trace, mount, serve until unmounted, close the trace.  Runs
 * in the daemon (or in the foreground with -f); ready, if not -1, is told
 * once the mount is served.  Messages go to stderr until then.  Returns
 * the exit status.
 */
static int run(const struct mount_opts *o, struct cfs *fs,
	       struct fault_set *rules, struct lzf **lzf, int ready)
{
	struct trace_header hdr = {0};
	struct ctl_server *srv = NULL;
	int ret = 2, err, ctlfd = -1, logfd = -1;
	char msg[PATH_MAX + 200];
	sigset_t saved;
	char ok = 0;

	if (o->log) {
		logfd = open(o->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			     0644);
		if (logfd < 0) {
			util_err("cannot open log '%s': %s", o->log,
				 strerror(errno));
			return 2;
		}
	}
	/* Until the signal handlers are in place, a stop signal (the mount
	 * command gone: daemonize()) waits; then it ends the session and
	 * what was made is undone below.  Before this point (a log that is
	 * a fifo may block) it ends the process, which has made nothing. */
	stop_signals(SIG_BLOCK, &saved);
	raise_fd_limit();
	err = cfs_init(fs, fs->backing);
	if (err) {
		util_err("cannot open backing directory '%s': %s", o->backing,
			 strerror(-err));
		goto out_release;
	}
	/* The rules of the plan, read before forking. */
	fs->faults = *rules;
	fault_set_init(rules);
	ctlfd = ctl_listen(fs->mount);
	if (ctlfd < 0) {
		if (ctlfd == -EADDRINUSE)
			util_err("a crashfs daemon already serves '%s'",
				 o->mnt);
		else
			util_err("cannot open the control channel of '%s': %s",
				 o->mnt, strerror(-ctlfd));
		goto out_release;
	}
	/* Before the trace is made: a running daemon's trace and scratch
	 * are refused, not overwritten. */
	remove_stale_scratch(fs);
	err = pc_init(fs, o->powercut, msg, sizeof(msg));
	if (err) {
		util_err("cannot make the power cut scratch directory: %s",
			 msg);
		goto out_release;
	}
	snprintf(hdr.backing, sizeof(hdr.backing), "%s", fs->backing);
	fs->tw = trace_writer_create(fs->trace_path, &hdr);
	if (!fs->tw) {
		util_err("cannot write trace '%s': %s", o->trace,
			 strerror(errno));
		goto out_release;
	}
	err = bind_root(fs);
	if (err) {
		util_err("cannot write trace '%s': %s", o->trace,
			 strerror(-err));
		goto out_trace;
	}
	fs->se = new_session(o, fs);
	if (!fs->se) {
		util_err("cannot start the FUSE session (bad -o option?)");
		goto out_trace;
	}
	if (fuse_set_signal_handlers(fs->se) != 0) {
		util_err("cannot set signal handlers");
		goto out_session;
	}
	stop_signals(SIG_SETMASK, &saved); /* one that waited acts now */
	if (fuse_session_exited(fs->se))
		goto out_interrupted;
	if (fuse_session_mount(fs->se, fs->mount) != 0) {
		util_err("cannot mount on '%s' (is /dev/fuse available?)",
			 o->mnt);
		goto out_signals;
	}
	if (kio_install(fs->se) != 0)
		cfs_log("cannot wrap the session's io: the kernel will ask for "
			"security.capability before every write");
	umask(0);
	if (chdir("/") < 0)
		cfs_log("cannot chdir to /: %s", strerror(errno));
	err = ctl_start(&srv, fs, ctlfd);
	if (err) {
		util_err("cannot start the control channel: %s",
			 strerror(-err));
		goto out_unmount;
	}
	ctlfd = -1;
	if (fuse_session_exited(fs->se)) {
		ctl_stop(&srv, "error the daemon stopped");
		fuse_session_unmount(fs->se);
		goto out_interrupted;
	}
	if (ready >= 0 || logfd >= 0)
		redirect_stdio(logfd);
	/* The fifo's reader logs that it waits for commands: into the log,
	 * before the mount command returns (harnesses wait for that line). */
	err = *lzf ? lzf_start(*lzf, fs, srv) : 0;
	if (err) {
		cfs_log("cannot read the fifo: %s", strerror(-err));
		lzf_free(lzf, true);
		ctl_stop(&srv, "error the daemon stopped");
		goto out_unmount;
	}
	/* Served: on its own from now on (before telling the parent, which
	 * then exits). */
	prctl(PR_SET_PDEATHSIG, 0);
	if (ready >= 0 && write(ready, &ok, 1) != 1)
		cfs_log("cannot tell the parent we are ready");
	ret = serve(fs, &srv, lzf);
	ctl_stop(&srv, "error the daemon stopped");
out_unmount:
	fuse_session_unmount(fs->se);
	goto out_signals;
out_interrupted:
	util_err("interrupted while mounting: not serving '%s'", o->mnt);
out_signals:
	fuse_remove_signal_handlers(fs->se);
out_session:
	fuse_session_destroy(fs->se);
out_trace:
	if (fs->tw) {
		/* Nothing was served: leave no half-made trace behind. */
		trace_writer_close(&fs->tw);
		unlink(fs->trace_path);
	}
out_release:
	pc_release(fs);
	stop_signals(SIG_SETMASK, &saved);
	lzf_free(lzf, true);
	cfs_release(fs);
	if (ctlfd >= 0)
		close(ctlfd);
	if (logfd >= 0)
		close(logfd);
	return ret;
}

/* The plan's rules (and settings) into rules; 0 or 2 after a message.
 * Read before forking: a bad plan is the mount command's error, and a
 * plan that cannot be read whole is refused, never waited on. */
static int load_plan(const struct mount_opts *o, struct fault_set *rules,
		     struct fault_plan *plan)
{
	char msg[300];
	int err;

	rules->no_powercut = !o->powercut;
	if (!o->faults)
		return 0;
	err = fault_load(rules, o->faults, plan, msg, sizeof(msg));
	if (err < 0) {
		util_err("fault plan '%s': %s", o->faults,
			 err == -ENOMEM ? strerror(ENOMEM) : msg);
		return 2;
	}
	return 0;
}

/* The LazyFS fifo (--fifo, or fifo = in the plan; the command line
 * wins), made and opened before forking.  0 or 2 after a message. */
static int open_fifo(const struct mount_opts *o, const struct cfs *fs,
		     const struct fault_plan *plan, struct lzf **lzf)
{
	struct lzf_opts lo = {
	    .fifo = o->fifo ? o->fifo : plan->fifo,
	    .completed =
		o->fifo_completed ? o->fifo_completed : plan->fifo_completed,
	    .keep_meta = plan->clear_cache &&
			 !strcmp(plan->clear_cache, "keep-metadata"),
	};
	char msg[PATH_MAX + 200];

	if (!lo.fifo && lo.completed) {
		util_err("a completion fifo needs a fifo (--fifo PATH)");
		return 2;
	}
	if (!lo.fifo)
		return 0;
	if (!o->powercut) {
		util_err("--fifo needs --powercut: lazyfs::clear-cache cuts "
			 "the power");
		return 2;
	}
	*lzf = lzf_open(&lo, fs->mount, fs->backing, fs->trace_path, msg,
			sizeof(msg));
	if (!*lzf) {
		util_err("%s", msg);
		return 2;
	}
	return 0;
}

int mount_start(const struct mount_opts *o)
{
	struct cfs fs = {.timeout = CFS_TIMEOUT, .root.fd = -1, .mount_fd = -1};
	struct fault_plan plan = {0};
	struct fault_set rules;
	struct lzf *lzf = NULL;
	bool parent = false; /* of the daemon: its lzf is the daemon's */
	int ret, ready = -1;

	fault_set_init(&rules);
	fs.real_sync = o->real_sync;
	ret = check_paths(o, &fs);
	if (!ret)
		ret = load_plan(o, &rules, &plan);
	if (!ret)
		ret = open_fifo(o, &fs, &plan, &lzf);
	if (ret)
		goto out_free;
	if (!o->foreground) {
		/* The parent returns the daemon's start status. */
		ret = daemonize(&ready, &parent);
		if (ret >= 0)
			goto out_free;
	}
	ret = run(o, &fs, &rules, &lzf, ready);
	if (ready >= 0)
		close(ready);
out_free:
	/* The parent of a fork closes its copies; the daemon's stay. */
	lzf_free(&lzf, !parent);
	fault_set_release(&rules);
	fault_plan_release(&plan);
	free(fs.backing);
	free(fs.mount);
	free(fs.trace_path);
	return ret < 0 ? 0 : ret;
}
