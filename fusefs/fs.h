/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The crashfs daemon's shared state: the filesystem (struct cfs), the
 * inodes it knows, the open handles, and the ordering point every mutating
 * operation goes through.
 *
 * Ordering point.  Every operation that changes the backing directory, or
 * that must sit at a definite place in the trace (open, flush, release,
 * fsync, a mark), runs as
 *	err = order_begin(fs, &rec);	lock, refuse if the trace is broken,
 *					reserve room for the record
 *	... apply the operation to the backing directory ...
 *	err = order_commit(fs, &rec);	append the record, unlock
 *	... reply ...
 * so the trace order is an order the program could have observed.
 * Operations that write more than one record use order_append() for all
 * but the last.  This is the one place later features (fault rules, power
 * cut) hook into: they see every mutating operation before and after it is
 * applied, under the lock.
 *
 * File ids.  The root is TRACE_ROOT_ID.  An inode made through the mount
 * gets the next id in the record that creates it; any other inode gets the
 * next id and a TR_BIND record the first time the daemon meets it.  The id
 * of a backing inode, keyed by (st_ino, st_dev), stays the same for as
 * long as that inode exists, even while the kernel has forgotten it; the
 * entry is dropped only once the inode is gone (no link left, nothing
 * holds it), so a reused inode number gets a new id.
 *
 * Backing access.  A kernel-known inode holds an O_PATH fd on its backing
 * inode (so the inode cannot be freed and its number reused under it), up
 * to a budget of half the fd limit.  Beyond it, when running as root on a
 * filesystem that supports them, an inode keeps a file handle instead
 * (name_to_handle_at) and is reopened on demand (open_by_handle_at): a
 * handle names one inode generation, never a reused number, and the
 * daemon copes with more files than it may hold descriptors.  Handlers get
 * an fd with inode_fd() and give it back with inode_fd_put().
 *
 * Locks: fs->order (the ordering point) is taken before fs->tab (the inode
 * table).  Neither is held while replying to the kernel.
 */
#ifndef CRASHFS_FUSEFS_FS_H
#define CRASHFS_FUSEFS_FS_H

#define FUSE_USE_VERSION 35

#include "core/map.h"
#include "core/trace.h"
#include "fusefs/fault.h"

#include <dirent.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/* A backing inode the daemon knows. */
struct cfs_inode {
	int fd;			/* O_PATH fd, -1 if not kernel-known; tab */
	uint64_t id;		/* stable trace id; immutable */
	ino_t ino;		/* backing st_ino; immutable */
	dev_t dev;		/* backing st_dev; immutable */
	uint64_t nlookup;	/* kernel references; protected by fs->tab */
	uint32_t nopen;		/* open handles; protected by fs->tab */
	struct file_handle *fh; /* reopen handle, NULL in fd mode; set once */
	_Atomic uint32_t nocap; /* generation << 1, | 1 while the backing
				   inode is known to have no
				   security.capability (ops.c) */
	char *fpath;		/* its path for fault rules, or NULL; order */
	uint64_t fpath_gen;	/* fs->names_gen when fpath was taken; order */
	bool unlinked;		/* a file whose last link was removed; tab */
	bool doomed;		/* unlinked, not open, its space held only by
				   fd until the kernel forgets it; tab */
};

/* An open file or directory. */
struct cfs_handle {
	int fd;		      /* backing fd */
	uint64_t num;	      /* trace handle number (TR_OPEN fh) */
	struct cfs_inode *in; /* the file it was opened on */
	uint16_t tflags;     /* TRF_SYNC / TRF_APPEND / TRF_DIRECT for writes */
	bool append;	     /* opened O_APPEND */
	DIR *dir;	     /* directories: the stream, NULL for files */
	off_t doff;	     /* directories: offset of dent */
	struct dirent *dent; /* directories: entry read but not sent */
	uint64_t epoch;	     /* fs->epoch at open: stale after a cut */
	char *fpath;	     /* its path for fault rules, or NULL; order */
	uint64_t fpath_gen;  /* fs->names_gen when fpath was taken; order */
};

/* The daemon. */
struct cfs {
	char *backing;	  /* realpath of the backing directory */
	char *mount;	  /* realpath of the mount point */
	char *trace_path; /* the trace file */
	bool real_sync;	  /* pass fsync to the backing store */
	bool no_opendir;  /* directories open without a request; set at INIT */
	double timeout;	  /* entry/attr cache timeout, seconds */
	struct fuse_session *se;

	pthread_mutex_t order;	 /* the ordering point */
	struct trace_writer *tw; /* protected by order; NULL once closed */
	uint64_t next_id;	 /* protected by order */
	uint64_t next_fh;	 /* protected by order */
	int broken;		 /* -errno of a failed append or 0; order */
	uint64_t fsyncs;    /* fsync/fdatasync/fsyncdir; protected by order */
	uint64_t marks;	    /* protected by order */
	uint64_t refused;   /* ops refused for want of trace room; order */
	uint64_t names_gen; /* bumped by each op that may move a path; order */
	uint64_t dirs_gen;  /* ... a directory's path (not unlink); order */

	int mount_fd;	       /* backing root, O_RDONLY: open_by_handle_at */
	bool handles;	       /* file handles work on the backing fs */
	int fd_budget;	       /* O_PATH fds held at most (handles beyond) */
	int fds_held;	       /* O_PATH fds held now; protected by tab */
	pthread_mutex_t tab;   /* the inode table */
	unsigned doomed;       /* inodes with doomed set; protected by tab */
	pthread_cond_t freed;  /* a doomed fd or a released file closed; tab */
	struct map inodes;     /* (st_ino, st_dev) -> cfs_inode; tab */
	struct cfs_inode root; /* never forgotten */

	struct pc_journal *pc; /* undo journal (powercut.h); order */
	void (*recorded)(struct cfs *fs, const struct trace_rec *rec);
	/* ^ called after each record appended (order held), NULL: the
	   journal's hook, so fs.c needs no powercut.h */
	uint64_t epoch;		 /* power cuts so far; atomic */
	struct fault_set faults; /* fault rules; protected by order */

	pthread_mutex_t errlock;
	char last_error[512]; /* protected by errlock; "" if none */
};

struct pc_journal;

/* ---- fs.c: lifetime, log ---------------------------------------------- */

/* Set up fs over the backing directory (opened O_PATH as the root).
 * Returns 0 or -errno. */
int cfs_init(struct cfs *fs, const char *backing);

/* Forget every inode and close every fd; fs->tw must be closed and the
 * power cut journal released (pc_release) already. */
void cfs_release(struct cfs *fs);

/* Log a message (stderr, with a time stamp); cfs_error also keeps it as
 * the last error reported by `status`. */
void cfs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cfs_error(struct cfs *fs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copy the last error into buf ("" if none). */
void cfs_last_error(struct cfs *fs, char *buf, size_t len);

/*
 * The process (thread group) of the thread tid, which is what FUSE reports
 * as the caller: records name processes, so `crashfs trace --pid P` shows
 * all that process P did.  From /proc, cached per tid (a tid reused by
 * another process before its slot is overwritten would be misnamed).
 * 0 stays 0; tid itself if /proc cannot say.
 */
uint32_t cfs_tgid(pid_t tid);

/* ---- fs.c: ordering point --------------------------------------------- */

/*
 * Take the ordering lock and reserve trace room for rec (type, names and
 * data_len filled in) plus one TR_BIND and one more small record.
 * Returns 0 with the lock held, or -errno without it: -EIO when the trace
 * is broken or closed, -ENOSPC (from trace_reserve) when the disk under the
 * trace is full.  The operation must then not be applied.
 */
int order_begin(struct cfs *fs, const struct trace_rec *rec);

/* Append rec (lock held).  On failure the trace is marked broken and
 * -EIO returned; the lock stays held. */
int order_append(struct cfs *fs, struct trace_rec *rec);

/* Release the ordering lock. */
void order_end(struct cfs *fs);

/* order_append() then order_end(). */
int order_commit(struct cfs *fs, struct trace_rec *rec);

/* ---- inode.c: the inode table ----------------------------------------- */

/* The inode behind a FUSE node id. */
static inline struct cfs_inode *cfs_inode(struct cfs *fs, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &fs->root;
	return (struct cfs_inode *)(uintptr_t)ino;
}

/*
 * Look name up in parent for the kernel: fill *st and return the inode
 * with one more kernel reference, binding it (TR_BIND, under the ordering
 * lock) if the daemon meets it for the first time.  pid is the caller.
 * Returns NULL with *err = -errno.
 */
struct cfs_inode *inode_lookup(struct cfs *fs, struct cfs_inode *parent,
			       const char *name, struct stat *st, uint32_t pid,
			       int *err);

/* inode_lookup() with the ordering lock already held. */
struct cfs_inode *inode_lookup_locked(struct cfs *fs, struct cfs_inode *parent,
				      const char *name, struct stat *st,
				      uint32_t pid, int *err);

/*
 * With the ordering lock held: the id of the inode at parent/name (stat
 * in *st), binding it if it is new; 0 if there is no such entry (*st is
 * then zeroed).  Used to name the victim of unlink, rmdir and rename.
 */
uint64_t inode_id_locked(struct cfs *fs, struct cfs_inode *parent,
			 const char *name, struct stat *st, uint32_t pid);

/*
 * With the ordering lock held: register the inode just created at
 * parent/name with a new id (fs->next_id++) and one kernel reference.
 * Returns NULL with *err = -errno (the caller then records the failure).
 */
struct cfs_inode *inode_new_locked(struct cfs *fs, struct cfs_inode *parent,
				   const char *name, struct stat *st, int *err);

/*
 * An O_PATH fd on in's backing inode: its held fd, or one reopened from its
 * file handle.  Returns the fd or -errno (-ESTALE: the inode is gone).
 * Give it back with inode_fd_put().
 */
int inode_fd(struct cfs *fs, struct cfs_inode *in);

/* The file handle of the inode at fd (malloc'd), NULL if it has none. */
struct file_handle *inode_handle(int fd);
void inode_fd_put(struct cfs_inode *in, int fd);

/* Kernel reference on an inode already known (link, open of a new name). */
void inode_ref(struct cfs *fs, struct cfs_inode *in);

/* Drop n kernel references (forget). */
void inode_forget(struct cfs *fs, struct cfs_inode *in, uint64_t n);

/* Count an open handle on in / drop it (release); fd is the handle's. */
void inode_open(struct cfs *fs, struct cfs_inode *in);
void inode_close(struct cfs *fs, struct cfs_inode *in, int fd);

/*
 * With the ordering lock held, after an entry was removed (unlink, rmdir,
 * rename over it): st is what the entry's inode looked like before.  If
 * that was its last link and nothing holds it, its id is dropped.
 */
void inode_unlinked_locked(struct cfs *fs, const struct stat *st);

/*
 * Space freed late.  When a program closes a file and unlinks it, the
 * kernel answers at once, but the daemon may still hold the file: the
 * RELEASE of the handle is sent asynchronously, and the O_PATH fd on the
 * inode is closed only when the kernel's FORGET arrives.  On a full disk
 * the program's next write would then fail although a plain directory
 * would have room.  So an operation that meets ENOSPC or EDQUOT calls
 * inode_space_wait() (ordering lock held): if releases are in flight or
 * doomed inodes wait for their FORGET, it waits for them, at most
 * SPACE_WAIT_MS, and returns true: try once more.  Else it returns false
 * at once.  errno is kept either way.
 */
#define SPACE_WAIT_MS 500
bool inode_space_wait(struct cfs *fs, int err);

/* The backing fd of a released handle is closed (op_release). */
void inode_release_served(struct cfs *fs);

/* ---- ops.c ------------------------------------------------------------- */

extern const struct fuse_lowlevel_ops cfs_ops;

#endif /* CRASHFS_FUSEFS_FS_H */
