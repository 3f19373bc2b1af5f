/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The power cut journal's scratch directory (docs/faults.md, "Where the
 * scratch space is"): where the undo journal keeps the old bytes of files
 * (one file d<N> per dirty file) and the entries that non-durable unlinks
 * and renames removed (k<N>, by hard link or rename).
 *
 * Ownership.  A daemon writes an "owner" file into its scratch directory
 * (pid, mount point) and holds an exclusive flock(2) on it for as long as
 * it runs.  So anyone can tell a live daemon's scratch (locked) from one a
 * killed daemon left behind (stale: the kernel dropped the lock with the
 * process), without trusting a pid.  A stale one is removed by `crashfs
 * umount` of the dead mount (the mount's fsname names the directory) and
 * by the next mount that would use the same path; a live one is never
 * touched.
 *
 * Safety.  Only what the journal makes is removed: "owner", "data" (older
 * daemons), d<N>, k<N> and, below a k<N> directory, anything (a directory
 * a program made, moved there).  A directory holding any other name is
 * not a scratch directory and is left alone (-ENOTEMPTY).  Symlinks are
 * never followed.
 *
 * Calling sequence (daemon):
 *	dfd = scratch_open(path, mount, &lockfd, &stale, err, sizeof(err));
 *	... openat(dfd, "d1", ...), linkat(..., dfd, "k1", 0) ...
 *	scratch_empty(dfd, NULL, NULL, NULL);	at each cut
 *	scratch_close(path, dfd, lockfd);	at unmount: removes it
 */
#ifndef CRASHFS_FUSEFS_SCRATCH_H
#define CRASHFS_FUSEFS_SCRATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* The prefix of a --powercut mount's fsname; the scratch path follows. */
#define SCRATCH_FSNAME "crashfs:"

/*
 * Make (or take over a stale) scratch directory at path, write its owner
 * file naming mount and lock it.  Returns an O_RDONLY fd on the directory
 * and the owner fd in *lockfd (keep it open: it holds the lock), or -errno
 * with a message in err: -EBUSY when a live daemon owns path, -ENOTEMPTY
 * when path holds something crashfs did not make, -ENOTDIR when it is not
 * a directory.  *stale gets the bytes of a stale directory it emptied (0
 * if none).
 */
int scratch_open(const char *path, const char *mount, int *lockfd,
		 uint64_t *stale, char *err, size_t errlen);

/*
 * Remove what the journal put in the directory dfd, the owner file
 * excepted.  For each removed entry whose stat is known, gone(arg, &st)
 * is called (the daemon forgets the inode).  *bytes (if not NULL) gets
 * the bytes freed.  Returns 0 or the first -errno (the rest is still
 * removed).
 */
int scratch_empty(int dfd, uint64_t *bytes,
		  void (*gone)(void *arg, const struct stat *st), void *arg);

/*
 * At a cut: scratch_empty() but for the data files d<N>, which the cut
 * lets go of and scratch_reap() removes once it is made (freeing their
 * blocks can take milliseconds each, e.g. on a filesystem mounted with
 * discard; new data files get new numbers meanwhile).
 */
int scratch_empty_cut(int dfd, void (*gone)(void *arg, const struct stat *st),
		      void *arg);

/* Remove d<N> for each N of data[0, n) from the directory dfd, in a
 * thread of its own (at once if none can be made).  The numbers are
 * copied; dfd is duplicated. */
void scratch_reap(int dfd, const uint64_t *data, size_t n);

/* Remove everything inside the directory dfd (a kept directory): any
 * name, recursively; gone() as for scratch_empty().  0 or -errno. */
int scratch_clear_dir(int dfd, void (*gone)(void *arg, const struct stat *st),
		      void *arg);

/* Empty and remove the daemon's own scratch directory, close the fds. */
void scratch_close(const char *path, int dfd, int lockfd);

/*
 * Is path a scratch directory, and is it stale?  Returns 1 (stale, *pid
 * the pid its owner file names or 0), 0 (a live daemon holds it, *pid
 * its pid), -ENOENT (no such directory) or another -errno (-ENOTEMPTY:
 * not a scratch directory).  *bytes (if not NULL) gets its size.
 */
int scratch_probe(const char *path, long *pid, uint64_t *bytes);

/*
 * Remove path if it is a stale scratch directory.  Returns 1 when it was
 * removed (*bytes freed), 0 when there was none, or -errno: -EBUSY (a
 * live daemon holds it), -ENOTEMPTY (not a scratch directory), or the
 * failure of a removal (what could be removed is gone).
 */
int scratch_remove_stale(const char *path, uint64_t *bytes);

#endif /* CRASHFS_FUSEFS_SCRATCH_H */
