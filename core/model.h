/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The in-memory model of a directory tree, driven by a crashfs trace.
 *
 * A model is loaded from a trace and the initial image it was recorded
 * over (the directory the daemon mounted).  Loading scans the initial
 * image (names, modes, sizes, links, symlink targets, xattrs of every
 * namespace listxattr shows: never file data), reads every record into
 * an array of ops (names are copied, write payloads are not: data lives
 * in the mapped trace or the initial image and the model keeps extents
 * pointing at it), checks that the
 * trace is consistent (ids created or bound before use, names that are
 * single directory entries, entries that exist where the trace says they
 * do) and replays it once to the end.
 *
 * The tree is one mutable object.  It starts in the final visible state
 * after model_load(); model_reset() takes it back to the initial image.
 * Ops are applied in two halves: model_apply_ns() changes directory
 * entries (create, mkdir, mknod, symlink, link, unlink, rmdir, rename),
 * model_apply_node() changes one inode (write, truncate, fallocate, copy,
 * setattr, xattrs).  An inode's content depends only on its own ops, and
 * the entries only on the entry ops, so the crash-state explorer can apply
 * any subset in program order per inode and per namespace.  Changes made
 * after model_mark() are undone by model_rollback() (an undo log).
 *
 * Files are struct mnode, stable for the life of the model whatever the
 * tree does (an unlinked inode keeps its content; it is just unreachable).
 *
 * Error handling: model_load() returns NULL with errno set and a message
 * in err naming the record and what is wrong (EBADMSG for a corrupt or
 * inconsistent trace, EINVAL for a hostile name, ENOENT/ENOTDIR/EIO for
 * the initial image).  Other actions return 0 or -errno.  Not
 * thread-safe: one model per thread.
 */
#ifndef CRASHFS_MODEL_H
#define CRASHFS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/trace.h"

struct model;
struct mnode;

/* Where a piece of a file's content comes from. */
enum extent_kind {
	EXT_TRACE = 1, /* src = offset of the bytes in the mapped trace */
	EXT_INIT,      /* src = offset in the inode's initial-image file */
};

/* A run of bytes of a file; bytes not covered by any extent read zero. */
struct extent {
	uint64_t off;		  /* file offset */
	uint64_t len;		  /* bytes */
	uint64_t src;		  /* see enum extent_kind */
	uint32_t kind;		  /* enum extent_kind */
	const struct mnode *from; /* EXT_INIT: the file whose initial
					   image holds the bytes */
};

/* How model_apply_node() applies a write (see core/persist.h). */
enum model_variant {
	MV_FULL = 0, /* the whole write */
	MV_HEAD,     /* only the sectors before its tear point (the middle
			page boundary inside it, else the middle sector
			boundary: model_tear_point()) */
	MV_TAIL,     /* only the sectors from the tear point on */
	MV_SIZE,     /* only the size extension, zero-filled */
};

/* Bytes [off, end) of a write that a partial live power cut kept. */
struct model_piece {
	uint64_t off, end;
};

/*
 * One trace record as the model keeps it.  Strings are owned by the model;
 * data is an offset into the mapped trace.  node/node2/dir/dir2 are the
 * resolved files (NULL when the field is unused or the record failed).
 */
struct model_op {
	uint64_t seq;	  /* record sequence number (index + 1) */
	uint16_t type;	  /* enum trace_type */
	uint16_t flags;	  /* TRF_* */
	int32_t result;	  /* >= 0 success, -errno failure */
	uint64_t id, id2; /* as in struct trace_rec */
	uint64_t off, off2, len;
	uint32_t mode, oflags, uid, gid;
	char *name, *name2;	    /* owned copies, NULL if unused */
	uint64_t data_off;	    /* payload offset in the trace */
	uint32_t data_len;	    /* payload bytes */
	bool extends;		    /* a write that grew the file when made */
	uint64_t size_before;	    /* write, copy, truncate, fallocate: the
				       file's size just before the op */
	uint32_t ncopy;		    /* extents in copy (TR_COPY_RANGE) */
	struct extent *copy;	    /* copied content, dest offsets, owned */
	struct model_piece *kept;   /* a write a live cut kept in part
				       (core/livecut.c): only these bytes,
				       owned; NULL: all of it */
	uint32_t nkept;		    /* ... pieces in kept */
	uint64_t kept_size;	    /* ... the size it grows the file to */
	struct mnode *node;	    /* file id names */
	struct mnode *node2;	    /* file id2 names */
	struct mnode *dir;	    /* directory parent names */
	struct mnode *dir2;	    /* directory parent2 names */
	const struct mnode *at_dir; /* where node was when the op was */
	const char *at_name;	    /* made (its last name), for messages */
};

/* Attributes of a file in the current tree. */
struct model_stat {
	uint64_t id;   /* trace id (0 if never named by the trace) */
	uint32_t mode; /* type and permission bits */
	uint32_t uid, gid;
	uint64_t size;	/* bytes (symlink: target length) */
	uint64_t rdev;	/* devices */
	uint32_t nlink; /* entries pointing at it in the tree */
};

/*
 * Load the trace at trace_path over the initial image initial_dir (NULL
 * or "" for an empty root).  On return the tree is in the final visible
 * state.  The model keeps the trace mapped and initial_dir open.
 */
struct model *model_load(const char *trace_path, const char *initial_dir,
			 char *err, size_t errlen);

void model_free(struct model **m);

/* The ops, in trace order; op i has seq i + 1. */
size_t model_nops(const struct model *m);
const struct model_op *model_op(const struct model *m, size_t i);
/* The op with sequence number seq, NULL if none. */
const struct model_op *model_op_seq(const struct model *m, uint64_t seq);
/* Was the trace cut short (its last record incomplete)? */
bool model_truncated(const struct model *m);
const struct trace_header *model_header(const struct model *m);

/* XXH3 of the whole trace file: names the trace in state ids. */
uint64_t model_trace_hash(const struct model *m);

/* The seq of the last successful write of pages the kernel wrote back
 * (TRF_WRITEBACK: stores through a shared mapping), 0 if none. */
uint64_t model_last_writeback(const struct model *m);

/* True if a successful op of this type changes what is on disk. */
bool model_op_mutates(const struct model_op *op);

/* True if op changes a directory entry: create, mknod, mkdir, symlink,
 * link, unlink, rmdir or rename (failed or not). */
bool model_op_is_entry(const struct model_op *op);

/*
 * For the loader's helper at a live power cut (core/livecut.c), called
 * with the ops before the cut: op i never happened (its result becomes
 * -ECANCELED); write op i persisted only as the pieces p[0, n) (copied,
 * each within the write) and grows its file to at least size.
 * model_keep_pieces() returns 0 or -ENOMEM.
 */
void model_cancel(struct model *m, size_t i);
int model_keep_pieces(struct model *m, size_t i, const struct model_piece *p,
		      size_t n, uint64_t size);

/* ---- the tree ------------------------------------------------------- */

/* Back to the initial image (empties the undo log). */
void model_reset(struct model *m);

/* Replay ops 1..seq on the initial image: the visible state after seq. */
void model_goto_visible(struct model *m, uint64_t seq);

/* Apply the entry half of op (no-op for other ops or failed records). */
void model_apply_ns(struct model *m, const struct model_op *op);

/* Apply the inode half of op, a write as variant v (see enum). */
void model_apply_node(struct model *m, const struct model_op *op,
		      enum model_variant v, uint32_t sector);

/*
 * Start logging changes for model_rollback(): returns a mark.  Marks nest:
 * rolling back to an earlier mark undoes the later ones too.
 */
size_t model_mark(struct model *m);
void model_rollback(struct model *m, size_t mark);
/* Forget the undo log: the current tree becomes the base. */
void model_commit(struct model *m);

/* The root directory. */
struct mnode *model_root(const struct model *m);

/* The file a trace id names, NULL if the trace never created or bound it. */
struct mnode *model_node(const struct model *m, uint64_t id);

/* The child called name in directory dir, NULL if none. */
struct mnode *model_lookup(const struct model *m, const struct mnode *dir,
			   const char *name);

/*
 * Resolve a '/'-separated path relative to the root, without following
 * any symlink (a symlink is returned as itself, one in the middle of the
 * path gives -ENOTDIR).  Returns 0 or -ENOENT/-ENOTDIR/-EINVAL.
 */
int model_resolve(const struct model *m, const char *path, struct mnode **out);

void model_stat(const struct mnode *n, struct model_stat *st);

/*
 * Iterate a directory: start with *cookie = NULL; returns the next child
 * and sets *name, or NULL at the end.  The tree must not change meanwhile.
 * Order is the order of creation, not sorted.
 */
struct mnode *model_readdir(const struct mnode *dir, void **cookie,
			    const char **name);

/* Read up to len bytes at off; returns bytes read (0 past the end) or
 * -errno (-EIO when the initial image cannot be read). */
ssize_t model_read(struct model *m, const struct mnode *n, uint64_t off,
		   void *buf, size_t len);

/* The whole content in a malloc'd buffer (*len bytes, NUL-terminated for
 * convenience).  Returns 0 or -errno. */
int model_read_all(struct model *m, const struct mnode *n, char **buf,
		   size_t *len);

/* A symlink's target (owned by the model), NULL if n is not a symlink. */
const char *model_symlink(const struct mnode *n);

/*
 * Xattrs: iterate with *i from 0; returns false at the end.  value points
 * into the model (valid while the tree does not change).
 */
bool model_xattr(const struct mnode *n, size_t *i, const char **name,
		 const void **value, uint32_t *len);

/* Extents of a regular file (for materialisation); *n gets the count. */
const struct extent *model_extents(const struct mnode *n, size_t *n_ext);

/* Bytes of one extent's source: for EXT_TRACE a pointer into the trace;
 * for EXT_INIT copied into buf (len bytes).  Returns 0 or -errno. */
int model_extent_read(struct model *m, const struct mnode *n,
		      const struct extent *e, uint64_t skip, void *buf,
		      size_t len);

/*
 * What names a regular file's content without reading it: a sum over its
 * extents of a hash of (offset, length, source).  Equal sums and sizes
 * mean equal bytes (core/content.c caches on it).
 */
uint64_t model_extent_sum(const struct mnode *n);

/* A name for the initial-image file extent e of file n reads from (an
 * XXH3 of its path there); 0 for EXT_TRACE. */
uint64_t model_extent_tag(const struct mnode *n, const struct extent *e);

/*
 * XXH3 hash of what a reader sees at n: type, permission bits, content,
 * symlink target, xattrs, link count, and for a directory its entries
 * recursively (order-independent).  Cached per file until it changes.
 * Ids are not hashed: two trees that look the same hash the same.
 */
uint64_t model_hash(struct model *m, struct mnode *n);

/* Describe a path of n in the current tree ("dir/file"), or "#<id>"
 * when n is unreachable.  Writes into buf (always NUL-terminated). */
void model_path(const struct model *m, const struct mnode *n, char *buf,
		size_t len);

/*
 * The path op's file had when the op was made ("dir/file"), with the
 * directory's path taken from the current tree.  For messages: "write #5
 * to config.json.tmp".
 */
void model_op_path(const struct model *m, const struct model_op *op, char *buf,
		   size_t len);

/*
 * Per-file scratch words (MODEL_SCRATCH of them) for the modules that
 * walk ops: core/persist uses words 0-5 while it computes (and clears
 * them all when done), the explorer words 5-7 between computations.  model_clear_scratch() zeroes them all.
 */
#define MODEL_SCRATCH 8
uint64_t *model_node_scratch(struct mnode *n);
void model_clear_scratch(struct model *m);

bool model_is_dir(const struct mnode *n);
bool model_is_reg(const struct mnode *n);

/* Can a write [off, off + len) tear at this sector size (does it cross a
 * sector boundary)? */
bool model_can_tear(uint64_t off, uint64_t len, uint32_t sector);

/* The boundary MV_HEAD and MV_TAIL split a write [off, off + len) at:
 * its middle 4 KiB page boundary when it crosses one, else its middle
 * sector boundary (off when it cannot tear): the head is [off, t), the
 * tail [t, off + len). */
uint64_t model_tear_point(uint64_t off, uint64_t len, uint32_t sector);

#endif /* CRASHFS_MODEL_H */
