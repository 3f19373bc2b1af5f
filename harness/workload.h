/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Run a workload on a fresh recording crashfs mount and leave a RUN
 * directory behind: the trace and the initial image the workload started
 * from, which is all the crash-state engine needs.
 *
 * Layout of the run directory while a workload runs:
 *	RUN/initial/	the initial image (kept)
 *	RUN/trace	the trace (kept)
 *	RUN/backing/	a copy of initial/ that the daemon mounts (removed)
 *	RUN/mnt/	the mount point (removed)
 *
 * Calling sequence:
 *	struct workload w = { .run_dir = ..., .argv = ... };
 *	rc = workload_run(&w, err, sizeof(err));
 *	... use w.run_dir, w.status ...
 *	workload_release(&w);
 *
 * The initial state is empty, a copy of `from`, or what `setup` (sh -c,
 * cwd = the initial directory) makes of the empty or copied directory.
 * The workload runs in a process group of its own with cwd = the mount,
 * stdin from /dev/null, and in its environment CRASHFS_MOUNT (the mount
 * point, for `crashfs mark`), CRASHFS_SCENARIO_DIR (when given) and a PATH
 * that starts with the directory of the crashfs binary.  After it exits,
 * or on timeout, or when SIGINT/SIGTERM arrives, its whole process group
 * is killed (a daemon it forked cannot keep the mount busy) and the mount
 * is always unmounted, lazily if it stays busy.
 *
 * The workload's sync(2), syncfs(2) and sync_file_range(2) never reach the
 * daemon; unless no_sync_watch is set, harness/syncwatch watches them and
 * has the daemon record them.  When that is not possible the run goes on
 * without it, a warning says so once, and syncs_unseen says why.
 *
 * Error handling: workload_run() returns 0 when the workload ran and
 * exited 0; -ECHILD when it ran but failed (w.status says how, the
 * message in err too), -ETIMEDOUT, -EINTR (interrupted by a signal) or
 * another -errno for setup failures, always with a message in err.  The
 * trace and the initial image are left in place whatever happened.
 */
#ifndef CRASHFS_WORKLOAD_H
#define CRASHFS_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "harness/syncwatch.h"

struct workload {
	/* inputs */
	const char *run_dir;	  /* where to put the run; NULL: a private
				   temporary directory (see tmp_run) */
	const char *from;	  /* initial state copied from here, or NULL */
	const char *setup;	  /* sh -c command that prepares it, or NULL */
	char *const *argv;	  /* the workload: argv[0] on PATH ... */
	const char *shell;	  /* ... or a sh -c string (argv NULL) */
	const char *scenario_dir; /* exported as CRASHFS_SCENARIO_DIR */
	unsigned timeout;	  /* seconds for setup and workload, 0: 600 */
	bool verbose;		  /* say what is happening on stderr */
	bool no_sync_watch;	  /* do not watch the sync calls */
	int out_fd;		  /* stdout and stderr of setup and workload
				   (> 0); 0: crashfs's own */

	/* outputs */
	char *dir;		/* absolute run directory (malloc'd) */
	bool tmp_run;		/* dir was made by us: remove it at release
				   unless keep is set */
	bool keep;		/* set by the caller to keep a tmp_run */
	int status;		/* wait status of the workload */
	double seconds;		/* wall time of the workload */
	char syncs_unseen[320]; /* why the workload's sync(2) and syncfs(2)
				   calls were not seen, "" if they were */
	struct syncwatch_stats syncs; /* what the watch recorded */
};

/* The crashfs binary running now (/proc/self/exe), for sub-commands. */
const char *workload_self(void);

int workload_run(struct workload *w, char *err, size_t errlen);

/* Paths inside the run directory (into buf). */
const char *workload_trace(const struct workload *w, char *buf, size_t len);
const char *workload_initial(const struct workload *w, char *buf, size_t len);

/*
 * Remove a temporary run directory (unless w->keep) and free w's
 * outputs.  The inputs are the caller's.
 */
void workload_release(struct workload *w);

/*
 * Run argv (or sh -c shell when argv is NULL) in its own process group
 * with cwd dir, the given extra environment ("NAME=value" strings, NULL
 * terminated, may be NULL), stdin from /dev/null, stdout/stderr to out_fd
 * (-1: inherited), and wait at most timeout seconds (0: no limit).  Kills
 * the whole process group when it exits, times out or a SIGINT/SIGTERM
 * arrives.  Returns 0 with *status set, -ETIMEDOUT, -EINTR or -errno.
 */
int workload_spawn(char *const *argv, const char *shell, const char *dir,
		   char *const *env, int out_fd, unsigned timeout, int *status);

/* Install SIGINT/SIGTERM handlers that workload_spawn() notices. */
void workload_catch_signals(void);

/* True once SIGINT or SIGTERM arrived. */
bool workload_interrupted(void);

/* The signal that interrupted (SIGINT or SIGTERM), 0 if none. */
int workload_signal(void);

/* Remove a directory tree (does not follow symlinks).  0 or -errno. */
int workload_rmtree(const char *path);

#endif /* CRASHFS_WORKLOAD_H */
