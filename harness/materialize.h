/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Materialisation: make a real directory hold exactly the model's current
 * tree (a crash state, a visible state), and compare a real directory with
 * the model (the self-check).
 *
 * A materializer remembers what it wrote (per entry: type, file, content
 * hash, extents), so syncing the next state touches only the entries whose
 * file or content changed and removes the ones that went away; a file
 * whose content changed is rewritten from its first differing byte only
 * (an append writes the appended bytes, a rolled-back append truncates).
 * A state that differs from the previous one by a few ops costs a few file
 * operations: about 2 per state, 18,000-20,000 states per second on tmpfs
 * for small files, whatever the length of the trace.
 *
 * Safety: every operation is relative to a directory descriptor opened
 * with O_NOFOLLOW, names come from a model whose loader accepted only
 * single entry names, and nothing is ever created, changed or removed
 * outside the output directory, whatever the trace or a checker did.
 *
 * Changes made by others: when someone else has had the output directory
 * (an external checker, which may write into its state: SQLite recovers
 * its journal), call materialize_reclaim() before the next sync.  After
 * materialize_watch(), the materializer watches every entry it makes with
 * inotify (one watch each, within fs.inotify.max_user_watches), so it
 * knows which entries were changed, removed or added: it removes those
 * and the next sync makes them again, leaving the rest as they are.  A
 * checker that touched nothing costs nothing.  What counts as a change: a
 * write, truncate, chmod, chown, xattr or timestamp change, a create,
 * unlink, rename or link, and opening a file for writing (counted when it
 * is closed, since writes through a shared mapping raise no other event).
 * Reads do not count.  When the events cannot tell (not watching, a watch
 * refused, the event queue overflowed, a file with several links or the
 * output directory itself changed), reclaim empties the directory and the
 * next sync rebuilds everything, as materialize_forget() does.  Not
 * covered: a process that escaped the checker's process group and goes
 * on writing after the checker ended.
 *
 * Not materialised: timestamps; owners unless running as root; device
 * nodes unless permitted (an empty regular file stands in, with a
 * warning); xattrs where the filesystem refuses them (one warning).
 *
 *	mt = materialize_new("out", err, sizeof(err));
 *	materialize_watch(mt);				if others write there
 *	materialize_sync(mt, m, err, sizeof(err));	as often as needed
 *	(run a checker in "out")
 *	materialize_reclaim(mt);			before the next sync
 *	materialize_free(&mt);
 *
 * Errors: materialize_new() returns NULL with errno set and a message
 * (ENOTEMPTY when the directory exists and is not empty); the other
 * actions return 0 or -errno with a message in err.
 */
#ifndef CRASHFS_MATERIALIZE_H
#define CRASHFS_MATERIALIZE_H

#include <stddef.h>

#include "core/model.h"

struct materializer;

/* Use dir as the output directory: created if missing (its parent must
 * exist); an existing dir must be empty. */
struct materializer *materialize_new(const char *dir, char *err, size_t errlen);

/* Make the output directory hold the current tree of m. */
int materialize_sync(struct materializer *mt, struct model *m, char *err,
		     size_t errlen);

/* Forget what is on disk: empty the output directory now, rebuild on the
 * next sync.  Returns 0 or -errno. */
int materialize_forget(struct materializer *mt);

/*
 * Watch the output directory from now on, so that materialize_reclaim()
 * can tell what others changed (what is there already is removed, to be
 * written again, watched).  Returns 0, or -errno when inotify is not
 * available (with a warning, once): reclaim then rebuilds everything.
 */
int materialize_watch(struct materializer *mt);

/*
 * Someone else had the output directory since the last sync: remove what
 * they changed or added, so that the next sync rewrites exactly that, or
 * everything when the changes cannot be told apart (see above).  Returns
 * the number of entries removed (0: untouched) or -errno.
 */
int materialize_reclaim(struct materializer *mt);

/* File operations done by the syncs so far (files written, entries
 * created or removed), for tests and benchmarks. */
unsigned long materialize_ops(const struct materializer *mt);

void materialize_free(struct materializer **mt);

/*
 * Compare the current tree of m with directory dir: entries, types,
 * permission bits, file contents byte for byte, symlink targets, hard
 * links, xattrs (every namespace listxattr shows).  Returns the number
 * of differences (0: identical), describing the first ones in report
 * (one per line), or -errno.
 */
int materialize_verify(struct model *m, const char *dir, char *report,
		       size_t len);

#endif /* CRASHFS_MATERIALIZE_H */
