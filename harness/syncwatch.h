/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Watching a workload's sync(2), syncfs(2) and sync_file_range(2): the
 * calls a FUSE daemon never sees.  `crashfs check` starts the workload, so
 * it can see them itself and have the daemon record them (docs/check.md,
 * "sync(2) and syncfs(2)").
 *
 * Method: a seccomp filter (built with libseccomp) hands these three
 * calls, and only these, to a supervisor (SECCOMP_RET_USER_NOTIF); every
 * other call runs as without it.  The workload's first process installs
 * the filter between fork and exec and passes the listener fd to crashfs
 * over a socket pair; every process it starts inherits the filter, static
 * binaries included.  A thread of crashfs receives each notification,
 * decides whether it concerns the mount (sync: always, it covers every
 * filesystem; syncfs and sync_file_range: when the file descriptor is on
 * the mount, from /proc/PID/fd, with the notification id checked again
 * after reading /proc), has the daemon append the record through the
 * control channel (verb `syscall`, under its ordering lock, like a mark),
 * and only then lets the call go on in the kernel, unchanged
 * (SECCOMP_USER_NOTIF_FLAG_CONTINUE, Linux 5.5).  Before a sync point it
 * also calls syncfs(2) on the mount itself, so that pages written through
 * a shared mapping reach the daemon, and the trace, before the record.
 *
 * Installing a filter needs CAP_SYS_ADMIN or no_new_privs: the child tries
 * without first and sets no_new_privs only when refused, so as root
 * setuid programs behave as always, and otherwise they run without the
 * privileges they would gain (syncwatch_stats() says which happened).
 *
 * Calling sequence:
 *	sw = syncwatch_new(mnt, why, sizeof(why));	NULL: not available,
 *							why says so
 *	pid = fork();
 *	in the child:  syncwatch_child(sw);	just before exec
 *	in the parent: syncwatch_start(sw, why, sizeof(why));
 *	... the workload runs and ends ...
 *	syncwatch_stats(sw, &st);
 *	syncwatch_free(&sw);		stops the supervisor, closes its fds
 *
 * Error handling: syncwatch_new() returns NULL with errno and a message
 * in why (lowercase, no full stop); syncwatch_start() returns 0 or -errno
 * with a message (the workload then runs unwatched: the filter could not
 * be installed, and the child carried on without it).  A call that is
 * seen but cannot be recorded is let go all the same and counted in
 * st.lost.  The workload's behaviour never depends on the supervisor: it
 * only ever answers "go on".
 */
#ifndef CRASHFS_HARNESS_SYNCWATCH_H
#define CRASHFS_HARNESS_SYNCWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct syncwatch;

/* What the supervisor did. */
struct syncwatch_stats {
	uint64_t syncs;	 /* sync points recorded (sync, syncfs on the mount) */
	uint64_t ranges; /* sync_file_range calls recorded */
	uint64_t other;	 /* calls not about the mount (syncfs elsewhere) */
	uint64_t lost;	 /* calls seen but not recorded (see the log) */
	bool nnp;	 /* no_new_privs had to be set */
};

/*
 * Prepare to watch a workload that runs on the crashfs mount at mnt (its
 * daemon must be serving): build the filter.  NULL with errno and a
 * message in why if this kernel, libseccomp or this build cannot.
 */
struct syncwatch *syncwatch_new(const char *mnt, char *why, size_t len);

/*
 * In the child, after fork and just before exec: install the filter and
 * send the listener to the parent (or why not).  Async-signal-safe; never
 * fails the child: without a filter it runs unwatched.
 */
void syncwatch_child(struct syncwatch *sw);

/*
 * In the parent, after fork: receive the listener and start the
 * supervisor thread.  Returns 0, or -errno with a message in why.
 */
int syncwatch_start(struct syncwatch *sw, char *why, size_t len);

/* Counts so far (call after the workload ended for final ones). */
void syncwatch_stats(struct syncwatch *sw, struct syncwatch_stats *st);

/* Stop the supervisor, close everything, free *sw, set it to NULL.
 * Calls of processes still alive then fail with ENOSYS. */
void syncwatch_free(struct syncwatch **sw);

#endif /* CRASHFS_HARNESS_SYNCWATCH_H */
