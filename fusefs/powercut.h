/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The live power cut: an undo journal of everything not yet durable under
 * the `strict` model, so `crashfs ctl MNT powercut` can bring the backing
 * directory back to its durable state at a cost that follows the unsynced
 * changes, not the size of the backing directory.  docs/faults.md states
 * the rules and where the scratch space lives.
 *
 * Data.  The first change of a regular file since its last fsync or
 * fdatasync makes it dirty: its size then is its durable size.  Before a
 * write, truncate or fallocate changes bytes below the lowest size the file
 * had since (its "low" mark), the old bytes not saved yet are appended to
 * the file's own scratch data file; bytes past the low mark were either
 * never durable or already saved by the truncate that lowered it, so a
 * sequential write of new data saves nothing, and each old byte is saved
 * once however often it is overwritten.  A successful fsync/fdatasync of
 * the file forgets it and deletes its data file, so the scratch holds
 * only the old bytes of ranges not yet durable.
 * A size op is also journalled (metadata persists in order): when a
 * directory fsync commits the journal past it, it applies to the durable
 * content (the durable size changes; durable bytes past the lowest
 * committed size, "dlow", read as zeros), without the unsynced writes.
 *
 * Entries.  Every successful entry op (create, mkdir, mknod, symlink,
 * link, unlink, rmdir, rename) is journalled in program order with what
 * undoes it.  What an op removes is kept alive in the scratch directory: an
 * unlinked file or a replaced rename target by a hard link, a removed (so
 * empty) directory by moving it there instead of removing it.  An fsync or
 * fdatasync of a directory D commits the journal up to the last op in D
 * (the journal persists in order, docs/crash-model.md rule 6); a commit
 * deletes what the committed ops kept.
 *
 * Attributes.  Before a chmod, chown or xattr change its old value joins
 * the journal; an fsync of the file (not fdatasync) drops its entries.
 *
 * Power cut: the journal is undone newest first, then each dirty file is
 * cut to its durable size and its saved bytes written back newest first,
 * the scratch directory is emptied (its data files just after, by a
 * thread), and every open handle is made stale.
 *
 * Partial cuts (fusefs/pc_partial.c, planned by core/cutplan.h): each
 * dirty file also keeps its changes since it became dirty, in order: its
 * writes (offset, length, where the payload is in the trace, noted by
 * pc_recorded() through the ordering point's hook, struct cfs.recorded)
 * and its size ops.  A file the plan keeps in part gets back its content
 * as it was when it became dirty, then the kept changes replayed.
 *
 * Without --powercut the same journal only tracks what is pending (which
 * files have unsynced data where, which entry, size and attribute ops no
 * sync made durable yet) for `crashfs ctl MNT unsynced`: nothing is saved
 * or kept, and a cut is refused.
 *
 * Locking: every function here runs with fs->order held (the ordering
 * point), except pc_notify() and pc_report().  The entry functions that carry out the op
 * themselves (pc_unlink, pc_rename) return 0 or -errno like the syscall.
 */
#ifndef CRASHFS_FUSEFS_POWERCUT_H
#define CRASHFS_FUSEFS_POWERCUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "core/cutplan.h"

struct cfs;
struct pc_inval;

/* The scratch directory's name in the backing root, when it cannot be
 * beside the trace (hidden, reserved). */
#define PC_SCRATCH ".crashfs-scratch"

/*
 * Create the journal.  With undo (--powercut), also its scratch directory
 * (fs->trace_path and fs->root set; a stale one left by a killed daemon
 * is emptied first, one a live daemon holds is refused: fusefs/scratch.h).
 * Without, the journal only tracks what is pending, for the unsynced
 * report (pc_report()): no scratch, no fd held on any file, no save; the
 * entry ops are carried out as plain calls.  Returns 0, or -errno with a
 * message in msg.
 */
int pc_init(struct cfs *fs, bool undo, char *msg, size_t msglen);

/* Can this mount cut the power (made with --powercut)? */
bool pc_can_cut(struct cfs *fs);

/* Remove the scratch directory and free the journal. */
void pc_release(struct cfs *fs);

/* The scratch directory's path (owned by the journal), NULL without one. */
const char *pc_scratch_dir(struct cfs *fs);

/* Is parent_id/name the hidden scratch directory? */
bool pc_hidden(struct cfs *fs, uint64_t parent_id, const char *name);

/* A kept entry is still a link of its inode: take the scratch's links off
 * st->st_nlink, so programs see the count they expect.  Any thread. */
void pc_fix_nlink(struct cfs *fs, struct stat *st);

/* ---- data: call before the change is applied ------------------------- */

/* fd: any fd on the file (O_PATH will do).  0 or -errno (then refuse). */
/* pc_write: ino and dev are the file's backing inode if the caller knows
 * it (no fstat on the hot path), 0 otherwise. */
int pc_write(struct cfs *fs, int fd, ino_t ino, dev_t dev, off_t off,
	     size_t len);
int pc_truncate(struct cfs *fs, int fd, off_t size);
int pc_fallocate(struct cfs *fs, int fd, int mode, off_t off, off_t len);

/* After a successful size op of the file at fd that sets its size to size
 * (truncate, O_TRUNC), or extends it to at least size (fallocate): the op
 * joins the entry journal and is durable once the journal commits past it
 * (docs/crash-model.md rule 6). */
void pc_resized(struct cfs *fs, int fd, off_t size, bool at_least);

/* After a successful punch-hole or zero-range fallocate of [off, off+len)
 * (order held): journalled like a size op, so that a commit by a directory
 * fsync puts zeros there in the durable content, as the model does. */
void pc_zeroed(struct cfs *fs, int fd, off_t off, off_t len);

/* After a successful fsync/fdatasync of the file at fd. */
void pc_synced(struct cfs *fs, int fd);

/*
 * After a failed (injected) fsync/fdatasync of the file at fd: like Linux,
 * the data it covered is never written; a later successful fsync makes only
 * the writes made after the failure durable.  (A size op after the failure
 * is not mirrored: that later fsync then makes everything durable, logged.)
 */
void pc_sync_failed(struct cfs *fs, int fd);

/* ---- entries ---------------------------------------------------------- */

/* After a successful create/mkdir/mknod/symlink/link of pfd/name. */
void pc_added(struct cfs *fs, int pfd, const char *name);

/* Carry out unlink (or rmdir) of pfd/name, journalled.  Returns 1 when
 * the removed entry is kept in the scratch directory (its inode lives
 * on), 0 when it is really gone, or -errno. */
int pc_unlink(struct cfs *fs, int pfd, const char *name, bool dir);

/* Carry out renameat2(pfd, name, npfd, newname, flags), journalled.
 * Returns 1 when a replaced target is kept in the scratch directory, 0,
 * or -errno. */
int pc_rename(struct cfs *fs, int pfd, const char *name, int npfd,
	      const char *newname, unsigned int flags);

/* After a successful fsync/fdatasync of the directory at fd. */
void pc_dir_synced(struct cfs *fs, int fd);

/* ---- attributes: call before the change is applied ------------------- */

enum { PC_ATTR_MODE = 1, PC_ATTR_OWNER, PC_ATTR_XATTR, PC_ATTR_TIMES };

/*
 * Before chmod (PC_ATTR_MODE), chown (PC_ATTR_OWNER), utimens
 * (PC_ATTR_TIMES) or a set/remove of the xattr xname (PC_ATTR_XATTR) of the
 * file at fd (O_PATH will do): keep the old value in the journal.  Durable once the journal commits past it, or
 * at the next fsync (not fdatasync) of the file: pc_attr_synced().
 */
void pc_attr(struct cfs *fs, int fd, int what, const char *xname);
void pc_attr_synced(struct cfs *fs, int fd);

/* ---- the cut ---------------------------------------------------------- */

/*
 * How to cut, and (out) what a partial cut chose.  A partial cut (seed or
 * selection) leaves a state the posix model allows, planned by
 * core/cutplan.h: a prefix of the pending metadata (drawn from the seed,
 * none, or with keep_meta all of it) and, per file and per tear unit, a
 * program-order prefix of its pending writes, drawn from the seed or
 * selected (LazyFS's torn-seq, torn-op).  pc_how_parse() fills one from
 * text; an all-zero pc_how is the strict cut.
 */
struct pc_how {
	bool keep_meta;		  /* every entry and attribute op stays (with
				    partial: every metadata op) */
	bool partial;		  /* spec says what of the data stays */
	struct cutplan_spec spec; /* ... mode, seed, unit, selection (meta
				     and file are the cut's to fill) */
	ino_t ino;		  /* selection: the file (backing inode) */
	dev_t dev;
	uint64_t file_id; /* ... a trace id of it, or 0 */
	char name[1024];  /* out: the TR_POWERCUT record's name */
	size_t ops_kept;  /* out: journal ops kept ... */
	size_t ops;	  /* ... of these */
	uint64_t files_kept, files_dropped, files_part; /* out: files whose
							   pending data all
							   stayed, went, in
							   part */
	uint32_t whole, torn, size_only, lost;	 /* out: writes, by what they
						  kept */
	uint64_t settled;			 /* out: units asked for and
						  not kept */
	char kept[256], dropped[256], part[256]; /* out: their ids, "..." */
};

/*
 * Fill how from words (space-separated): "strict", "keep-metadata",
 * "seed=S", "tear=sector|page|BYTES", and for a selection "writes=1,4",
 * "write=K|last" with "parts=N" or "part-bytes=A,B,..." and "persist=1,3"
 * (docs/faults.md).  The selection's file is the caller's to set (ino,
 * dev, file_id).  Returns 0 or -EINVAL with a message naming the word.
 */
int pc_how_parse(struct pc_how *how, const char *text, char *err,
		 size_t errlen);

/*
 * Before a selection cut asked for on the control channel (fs->order
 * held): does the file have unsynced writes, as many as the selection
 * numbers?  0, or -EINVAL with a message.  (A rule's selection is not
 * checked: what it names that is not there keeps nothing.)
 */
int pc_how_check(struct cfs *fs, const struct pc_how *how, char *err,
		 size_t errlen);

/*
 * Bring the backing directory back to its durable state; with
 * how->keep_meta, only the data (the LazyFS-like state: every entry and
 * attribute change kept, unsynced data and sizes dropped); with
 * how->partial, the state how->spec plans (above).  Returns 0 or -errno
 * (the first failure; the rest is still attempted).  *inval gets the
 * kernel caches to invalidate: pass it to pc_notify() once fs->order is
 * released.
 */
int pc_powercut(struct cfs *fs, struct pc_how *how, struct pc_inval **inval);

/* Tell the kernel what changed and free the list. */
void pc_notify(struct cfs *fs, struct pc_inval *inval);

/*
 * A power cut at the ordering point (fs->order held): pc_powercut() and its
 * TR_POWERCUT record (name "strict", "keep-metadata", or for a partial
 * cut its plan, e.g. "posix meta=B unit=512 seed=S": core/cutplan.h, also
 * in how->name), logged.  Returns 0 or -errno.  *inval as for
 * pc_powercut().  pc_cut_locked() is the strict or keep-metadata cut.
 */
int pc_cut_how_locked(struct cfs *fs, struct pc_how *how,
		      struct pc_inval **inval);
int pc_cut_locked(struct cfs *fs, bool keep_meta, struct pc_inval **inval);

/* pc_notify() from a thread of its own: for a cut made inside a FUSE
 * request, whose caller may hold the very inode locks an invalidation
 * takes. */
void pc_notify_async(struct cfs *fs, struct pc_inval *inval);

/*
 * A sync point (`crashfs ctl MNT sync`, or a sync(2) or syncfs(2) the
 * harness saw), order held: everything so far is durable, as
 * docs/crash-model.md rule 8 says.  Every journalled op commits and every
 * file is synced as an fsync would leave it (the writes a failed fsync
 * lost stay lost), so a later power cut drops nothing from before it.
 * Returns 0, or -ENOMEM with nothing changed.
 */
int pc_all_synced(struct cfs *fs);

/* What a power cut would drop now. */
struct pc_stats {
	uint64_t files;	  /* files with unsynced data or size */
	uint64_t bytes;	  /* distinct bytes changed since their sync */
	uint64_t ops;	  /* entry ops not yet durable */
	uint64_t scratch; /* bytes of saved old data in the scratch */
	uint64_t cuts;	  /* power cuts so far */
};

void pc_stats(struct cfs *fs, struct pc_stats *st);

/*
 * What is not yet durable, written to out (docs/control.md, `unsynced`):
 * every file with unsynced data (path, byte ranges, bytes, size and
 * durable size), every pending entry op (create, unlink, rmdir, rename
 * not yet made durable by a directory fsync) and every unsynced attribute
 * change (chmod, chown, xattr, utimes), as text for people or, with json,
 * one JSON document:
 *	{"files": [{"id", "path", "unlinked"?, "bytes",
 *		    "ranges": [{"off", "len"}...], "size", "durable_size"}],
 *	 "entries": [{"op": "create"|"unlink"|"rmdir", "path", "type"?} |
 *		     {"op": "rename"|"exchange", "from", "to"}],
 *	 "attributes": [{"op": "chmod"|"chown"|"xattr"|"utimes", "id",
 *			 "path", "name"?}],
 *	 "powercut": bool, "bytes": total}
 * Works on every mount (the journal tracks without --powercut too).
 * pc_report() takes fs->order itself (any thread that does not hold it:
 * the control channel, LazyFS's unsynced-data-report); pc_report_locked()
 * is for a caller that holds it.  Returns 0 or -errno (-ENOMEM, -EIO when
 * out cannot take it).
 */
int pc_report(struct cfs *fs, FILE *out, bool json);
int pc_report_locked(struct cfs *fs, FILE *out, bool json);

#endif /* CRASHFS_FUSEFS_POWERCUT_H */
