/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The power cut journal's records (fusefs/powercut.c), shared with the
 * report of what is not yet durable (fusefs/pc_report.c).  Not an
 * interface: everything here is protected by fs->order.
 */
#ifndef CRASHFS_FUSEFS_POWERCUT_INT_H
#define CRASHFS_FUSEFS_POWERCUT_INT_H

#include "core/map.h"
#include "core/ranges.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

struct cfs;
struct cutplan_file;
struct pc_how;
struct pc_journal;
struct trace_rec;

#define PROC_FD "/proc/self/fd/%d"

/* A change of a dirty file, in program order: a partial cut replays the
 * ones it keeps on the file's content when it became dirty
 * (fusefs/pc_partial.c). */
enum pc_ev_kind {
	PE_WRITE,  /* a write: off, len, its payload at data in the trace */
	PE_TRUNC,  /* a truncate to off */
	PE_EXTEND, /* a fallocate: the size is at least off */
	PE_ZERO,   /* a punch-hole or zero-range: [off, off + len) zeros */
};

struct pc_event {
	uint8_t kind;  /* enum pc_ev_kind */
	bool extends;  /* PE_WRITE: it grew the file */
	uint64_t seq;  /* PE_WRITE: its record's seq; else its journal
			  op's before (trace records before it) */
	int64_t off;   /* see enum pc_ev_kind */
	int64_t len;   /* ... */
	uint64_t data; /* PE_WRITE: its payload's offset in the trace */
};

/* What a partial cut does to a dirty file. */
enum pc_fate {
	PF_DROP = 0, /* back to its durable content (with the metadata
			prefix's size ops) */
	PF_KEEP,     /* its content is what readers saw: nothing */
	PF_PART,     /* replay its events as plan says */
};

/* A file with changes since its last fsync. */
struct pc_file {
	int fd;		     /* O_RDWR on the inode, so it outlives names */
	ino_t ino;	     /* backing st_ino */
	dev_t dev;	     /* backing st_dev */
	off_t durable;	     /* size at the last durable point */
	off_t low;	     /* lowest size since: bytes above were saved */
	struct ranges dirty; /* bytes changed since (status, report) */
	off_t dlow;	     /* durable bytes from here on are zeros */
	uint64_t gen;	     /* names this record in the journal */
	struct ranges sv;    /* saved old bytes below low: pos in d<data>,
				  -1 for zeros; each byte saved once */
	int sfd;	     /* the data file d<data>, -1 until a save */
	uint64_t data;	     /* ... its number */
	off_t send;	     /* ... its length */
	bool failed;	     /* an fsync failed: what it covered is lost */
	bool inexact;	     /* ... and a fallocate followed (not mirrored) */
	struct ranges post;  /* written since the failed fsync */
	off_t post_end;	     /* end of the furthest write in post */
	bool post_trunc;     /* post holds a truncate (to OFF_MAX) */
	uint8_t fate;	     /* a partial cut's: enum pc_fate */
	struct cutplan_file *plan; /* ... PF_PART: what it keeps */
	uint64_t id;		  /* trace id of its first pending write or copy
				(a partial cut's draws), 0 */
	off_t base;		  /* size when it became dirty */
	off_t vsize;		  /* size readers see now */
	struct pc_event *ev;	  /* its changes since it became dirty */
	size_t nev, capev;	  /* ... used, allocated */
	uint32_t nwrites;	  /* its writes since then */
	bool size_dropped;	  /* a partial cut drops one of its size ops */
	bool whole;		  /* kept all or none by a partial cut: a copy
				into it, a collapse or insert fallocate, too
				many writes, or an event not kept */
	struct timespec times[2]; /* atime, mtime when it became dirty */
	uint64_t before;	  /* trace records then (pc_op.before) */
	bool times_kept;	  /* a later utimens stays: keep its times */
	struct ranges zero;	  /* committed punch/zero ranges: the
				     durable content has zeros there */
};

enum pc_kind {
	PK_ADDED,   /* name was made: undo moves it aside */
	PK_REMOVED, /* name was removed, kept as k<keep>: undo puts it back */
	PK_RENAMED, /* name -> name2 (flags), victim kept if keep */
	PK_SIZE,    /* a size op: durable once committed (journal order) */
	PK_ATTR,    /* chmod, chown or an xattr change: old value kept */
};

/* A directory named by the journal. */
struct pc_dir {
	int fd;	       /* O_PATH; -1 when only tracking */
	ino_t ino;     /* backing st_ino */
	dev_t dev;     /* backing st_dev */
	unsigned refs; /* journal entries naming it */
};

/* One non-durable entry op. */
struct pc_op {
	enum pc_kind kind;
	struct pc_dir *dir, *dir2; /* dir2: rename target directory */
	char *name, *name2;
	unsigned int flags; /* rename flags */
	uint64_t keep;	    /* scratch k<keep> holds the removed entry, 0 */
	bool keep_dir;	    /* ... and it is a directory */
	bool is_dir;	    /* PK_REMOVED: an rmdir */
	ino_t kino;	    /* ... its backing inode (nlink fix) */
	dev_t kdev;
	ino_t ino; /* PK_SIZE: the file (st_ino, st_dev) ... */
	dev_t dev;
	uint64_t gen;	  /* ... its pc_file's gen */
	off_t size;	  /* ... its new size (or at least that) */
	bool at_least;	  /* ... an extension only (fallocate) */
	off_t zoff, zend; /* ... bytes a punch or zero-range made zeros */
	int afd;	  /* PK_ATTR: O_PATH on the file (also ino, dev), -1 */
	int what;	  /* ... PC_ATTR_* */
	struct stat old;  /* ... mode and owner before */
	char *xval;	  /* ... xattr name's value before (name) ... */
	ssize_t xlen;	  /* ... its length, -1 if it had none */
	uint64_t before;  /* records in the trace before this op's */
};

struct pc_journal {
	struct cfs *fs;	    /* the daemon */
	bool undo;	    /* --powercut: keep what undoes the changes;
			       else only track what is pending */
	char *path;	    /* the scratch directory */
	bool hidden;	    /* ... is BACKING/PC_SCRATCH, hidden */
	int scratch;	    /* O_RDONLY on the scratch directory */
	int lock;	    /* its owner file, locked (scratch.h) */
	uint64_t next_data; /* names d<N> */
	uint64_t next_keep; /* names k<N> */
	uint64_t next_gen;  /* pc_file gens */
	ino_t hint_ino;	    /* file_get(): the inode, if known, or 0 */
	dev_t hint_dev;
	uint64_t cuts;	       /* power cuts done */
	struct map files;      /* (ino, dev) -> pc_file */
	struct map dirs;       /* (ino, dev) -> pc_dir */
	pthread_mutex_t klock; /* kept, nkept: read outside fs->order */
	struct map kept;       /* (ino, dev) -> links held in scratch */
	uint64_t nkept;	       /* entries in kept; atomic reads */
	struct pc_op *ops;     /* the entry journal, oldest first */
	size_t nops, capops;   /* used, allocated */
	struct pc_file *cur;   /* the file the op being made changes, for
				  pc_recorded(), or NULL */
	struct map failed;     /* (ino, dev): a failed fsync since the last
				  cut (a partial cut keeps all or none) */
	bool reaping;	       /* in a cut: data files go after it */
	uint64_t *trash;       /* ... d<N> to remove then */
	size_t ntrash, captrash;
};

/* ---- powercut.c, for pc_partial.c -------------------------------------- */

/* Forget what op kept: it is durable now. */
void pc_op_commit(struct cfs *fs, struct pc_journal *j, struct pc_op *op);

/* Give f its content at its last durable point, with the committed size
 * ops (zeros) applied or (base) not: its content when it became dirty.
 * 0 or -errno. */
int pc_file_restore(struct pc_file *f, bool base);

/* Write len zeros at off of fd.  0 or -errno. */
int pc_write_zeros(int fd, off_t off, off_t len);

/* Append " ID" to a list of ids, "..." once it is full. */
void pc_id_add(char *buf, size_t len, uint64_t id);

/* ---- pc_partial.c ------------------------------------------------------ */

/* After each trace record is appended (the struct cfs hook, order held):
 * notes a write's event for the file pc_write() journalled. */
void pc_recorded(struct cfs *fs, const struct trace_rec *rec);

/* Note size op event ev (kind, seq, off, len) of f. */
void pc_event_size(struct pc_journal *j, struct pc_file *f, struct pc_event ev);

/* A partial cut's choice: commit the metadata prefix, set each file's
 * fate (and plan).  0 or -ENOMEM. */
int pc_plan(struct cfs *fs, struct pc_journal *j, struct pc_how *how);

/* Carry out f's PF_PART plan of a cut keeping metadata up to seq meta;
 * *tfd: the trace, read-only, opened at the first call (-1 before).
 * 0 or -errno. */
int pc_replay(struct cfs *fs, struct pc_file *f, uint64_t meta, int *tfd);

/* f is kept all or none by a partial cut from now on: its events go. */
void pc_file_whole(struct pc_file *f);

/* Free f's events and plan. */
void pc_file_forget(struct pc_file *f);

#endif /* CRASHFS_FUSEFS_POWERCUT_INT_H */
