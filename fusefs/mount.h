/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Starting a recording crashfs: check everything that can be checked
 * before mounting, create the trace, mount, then serve in the background
 * (or in the foreground) until unmounted or sent SIGTERM/SIGINT, and close
 * the trace with TR_END.  The caller returns only once the mount is in
 * place and the control channel answers, so a script can use MNT right
 * away.  The command line is parsed by cli/cmd_mount.c.
 */
#ifndef CRASHFS_FUSEFS_MOUNT_H
#define CRASHFS_FUSEFS_MOUNT_H

#include <stdbool.h>

struct mount_opts {
	const char *trace;  /* --trace */
	const char *log;    /* --log */
	const char *faults; /* --faults plan.ini */
	const char *fifo;   /* --fifo: LazyFS commands (fusefs/lazyfs.h) */
	const char *fifo_completed; /* --fifo-completed: their completions */
	bool powercut;		    /* --powercut: keep the undo journal */
	const char *backing;	    /* BACKING */
	const char *mnt;	    /* MNT */
	char *fuse_opts;	    /* -o, joined with commas; malloc'd */
	bool nonempty;		    /* -o nonempty: MNT may hold files */
	bool foreground;	    /* -f */
	bool real_sync;		    /* --real-sync */
};

/*
 * Mount as o says and serve.  A mount point that holds files is refused
 * unless o->nonempty (the mount would hide them from the program).  In the background (o->foreground false)
 * the calling process returns once the daemon serves the mount (0) or has
 * failed (2, after a message on stderr); the daemon itself returns when
 * the mount ends.  Returns the exit status.
 */
int mount_start(const struct mount_opts *o);

#endif /* CRASHFS_FUSEFS_MOUNT_H */
