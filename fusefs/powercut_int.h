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

#define PROC_FD "/proc/self/fd/%d"

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
	bool unjournalled;   /* a punch/collapse/insert/keep-size
				  fallocate since the last sync */
	bool keep;	     /* seeded cut: its pending data stays */
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
};

#endif /* CRASHFS_FUSEFS_POWERCUT_INT_H */
