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
 * A symlink in a state is created as a symlink and never followed.
 *
 * A trace is input from elsewhere (a CI artifact, a bug report), and a
 * state is a tree a user, or a checker, then works in.  So by default a
 * state holds nothing that gives anyone more than the replaying user
 * has (docs/threat-model.md):
 *	- no setuid or setgid bit on anything but a directory (where
 *	  setgid only passes the directory's group on);
 *	- permission bits as recorded, less those the replaying user's
 *	  umask takes away, as for any file that user creates (no
 *	  world-writable file unless the umask allows it);
 *	- every entry owned by the replaying user (no chown);
 *	- no device node: an empty regular file stands in;
 *	- only user.* xattrs (security.capability would be a setuid bit,
 *	  system.posix_acl_* could grant others access, trusted.* is
 *	  root's own).
 * Each such change is counted (materialize_changes()) and, unless
 * MT_QUIET, said once per process on stderr.  MT_PRIVILEGED writes the
 * state exactly as recorded instead (owners and devices need root).
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
 * Not materialised: timestamps; with MT_PRIVILEGED, owners unless
 * running as root, device nodes unless permitted (an empty regular file
 * stands in, with a warning) and xattrs where the filesystem refuses
 * them (one warning).
 *
 *	mt = materialize_new("out", err, sizeof(err));
 *	materialize_set_flags(mt, MT_PRIVILEGED);	to write it exactly
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
#include <stdint.h>

#include "core/model.h"

struct materializer;

/* Use dir as the output directory: created if missing (its parent must
 * exist); an existing dir must be empty. */
struct materializer *materialize_new(const char *dir, char *err, size_t errlen);

#define MT_PRIVILEGED 0x1 /* exactly as recorded: setuid, owners, devices */
#define MT_QUIET 0x2	  /* count the safety changes, say nothing */

/* Set MT_* flags before the first sync (default 0: safe, and say so). */
void materialize_set_flags(struct materializer *mt, unsigned flags);

/* What the safe mode changed in the entries it wrote (see above). */
enum materialize_change {
	MT_SETID,  /* setuid/setgid bits left out */
	MT_UMASK,  /* permission bits the umask took away */
	MT_OWNER,  /* an owner other than the replaying user not given */
	MT_DEVICE, /* a device node written as an empty regular file */
	MT_XATTR,  /* an xattr outside user.* left out */
	MT_NCHANGES
};

struct materialize_changes {
	unsigned long n[MT_NCHANGES]; /* entries written with each change */
	char first[MT_NCHANGES][256]; /* path of the first one, relative to
					 the output directory */
};

/* The changes counted over every sync so far. */
const struct materialize_changes *
materialize_changes(const struct materializer *mt);

/* What change c is, in words ("setuid/setgid bits removed"). */
const char *materialize_change_name(enum materialize_change c);

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

/* Bytes of file content read from the model (the trace, the initial
 * image) by the syncs so far: a file written again is copied from memory
 * as far as its content did not change (harness/fcopy.h). */
uint64_t materialize_model_bytes(const struct materializer *mt);

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
