/* SPDX-License-Identifier: MIT */
/** @file
 *
 * A drop-in for LazyFS's control fifo, so that a harness written for
 * LazyFS (Jepsen's lazyfs nemesis, etcd's robustness tests, shell scripts)
 * drives a crashfs mount unchanged apart from how it is mounted: it writes
 * "lazyfs::clear-cache\n" and the other commands into a named pipe and
 * waits for the same completion signals (a "finished::clear-cache" line in
 * the completion fifo, "cache is cleared" in the daemon's log).
 * docs/lazyfs.md maps every LazyFS command and config key.
 *
 * Each command is run as a request on the control channel (ctl_request()),
 * so it means exactly what `crashfs ctl MNT ...` means: clear-cache is
 * `powercut` (strict, or keep-metadata as LazyFS), cache-checkpoint is
 * `sync`, display-cache-usage is `status`, unsynced-data-report is
 * `unsynced`, a crash fault is a `fault` rule with action=crash.  What the
 * running crashfs does not have (a verb, a torn write that persists), the
 * daemon's log says; nothing is silently dropped.
 *
 * The fifo is read by a thread of its own: a command never holds a FUSE
 * thread, and takes the ordering point only as `crashfs ctl` does.  It is
 * opened read-write and non-blocking, so writers that open and close it
 * for each command (`echo CMD > FIFO`) never block on open and never make
 * the reader see an end of file; a command is a line (newline-terminated,
 * as LazyFS requires), whatever the writes that carried it.
 *
 * Calling sequence (fusefs/mount.c):
 *	l = lzf_open(&opts, fs->mount, fs->backing, fs->trace_path,
 *		     err, len);
 *					before forking: checks the paths,
 *					makes and opens the fifos
 *	lzf_start(l, fs, srv);		once the control channel serves
 *	lzf_free(&l, true);		before the control channel stops
 *					(the parent of a fork: false)
 */
#ifndef CRASHFS_FUSEFS_LAZYFS_H
#define CRASHFS_FUSEFS_LAZYFS_H

#include <stdbool.h>
#include <stddef.h>

struct cfs;
struct ctl_server;
struct lzf;

/* Longest command line (LazyFS reads 100 bytes at a time). */
#define LZF_LINE_MAX 4096

struct lzf_opts {
	const char *fifo;      /* the command fifo (LazyFS's fifo_path) */
	const char *completed; /* fifo_path_completed, or NULL */
	bool keep_meta;	       /* clear-cache keeps metadata (LazyFS) */
};

/*
 * Check o's paths (neither inside mount nor backing, canonical paths; not
 * the same, not the trace), make each fifo that does not exist (mode
 * 0600), refuse a path that exists and is not a fifo, and open them
 * (read-write, non-blocking).  Returns the handle, or NULL with errno and
 * a message in err.
 */
struct lzf *lzf_open(const struct lzf_opts *o, const char *mount,
		     const char *backing, const char *trace, char *err,
		     size_t errlen);

/* Start reading commands; each runs as a request of srv.  Logs "waiting
 * for fault commands" once it reads.  Returns 0 or -errno. */
int lzf_start(struct lzf *l, struct cfs *fs, struct ctl_server *srv);

/*
 * Stop the reader (waits for a command in progress), close the fifos and,
 * with remove, delete the fifos lzf_open() made.  *l is NULL afterwards;
 * NULL is fine.
 */
void lzf_free(struct lzf **l, bool remove);

#endif /* CRASHFS_FUSEFS_LAZYFS_H */
