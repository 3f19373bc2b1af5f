/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The FUSE low-level handlers: a passthrough to the backing directory that
 * records every mutating operation.  Each handler decodes its request,
 * goes through the ordering point (fs.h) if it changes anything, applies
 * the operation to the backing directory, records the real result and
 * replies exactly once, after the ordering lock is released.
 *
 * Backing access: every kernel-known inode holds an O_PATH fd; operations
 * that need a real fd reopen it through /proc/self/fd, which also works
 * for a file that has been unlinked while the kernel still knows it.
 * Handles hold their own fd.  What is recorded for each operation is
 * described in docs/daemon.md.
 */
#include "fusefs/fs.h"
#include "fusefs/kio.h"
#include "fusefs/powercut.h"

#include <errno.h>
#include <signal.h>
#include <linux/falloc.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define PROC_PATH_MAX 32
#define COPY_MAX (1u << 30) /* bytes copied by one copy_file_range */

static struct cfs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static uint32_t req_pid(fuse_req_t req)
{
	return cfs_tgid(fuse_req_ctx(req)->pid);
}

static struct cfs_handle *handle(struct fuse_file_info *fi)
{
	return (struct cfs_handle *)(uintptr_t)fi->fh;
}

/* Was h opened before the last power cut?  Then it fails with EIO. */
static bool stale(struct cfs *fs, const struct cfs_handle *h)
{
	return h->epoch != __atomic_load_n(&fs->epoch, __ATOMIC_ACQUIRE);
}

static const char *proc_path(char buf[PROC_PATH_MAX], int fd)
{
	snprintf(buf, PROC_PATH_MAX, "/proc/self/fd/%d", fd);
	return buf;
}

/* ---- fault rules (fault.h): all with fs->order held ----------------- */

/* The path of fd relative to the mount, for globs, in buf; false if it
 * cannot be told (buf is then ""). */
static bool fault_path(struct cfs *fs, int fd, char *buf, size_t len)
{
	char proc[PROC_PATH_MAX], real[PATH_MAX];
	size_t b = strlen(fs->backing);
	ssize_t n;

	buf[0] = '\0';
	n = fd >= 0 ? readlink(proc_path(proc, fd), real, sizeof(real) - 1)
		    : -1;
	if (n <= 0)
		return false;
	real[n] = '\0';
	if (strncmp(real, fs->backing, b) ||
	    (real[b] != '/' && real[b] != '\0'))
		return false;
	snprintf(buf, len, "%s", real + b + (real[b] == '/'));
	return true;
}

/*
 * The path of fd for globs from the cache *path, taken when the names
 * were at generation gen (*pgen); looked up again (readlink) and kept
 * only when gen has moved on.  Returns *path or buf.
 */
static const char *fault_path_cached(struct cfs *fs, char **path,
				     uint64_t *pgen, uint64_t gen, int fd,
				     char *buf, size_t len)
{
	if (*path && *pgen == gen)
		return *path;
	if (!fault_path(fs, fd, buf, len))
		return buf;
	free(*path);
	*path = strdup(buf);
	*pgen = gen;
	return buf;
}

/*
 * The path of inode at (fd: an fd on it; dir: a directory) for globs,
 * remembered until a rename, rmdir, power cut or (for files) an unlink
 * may have moved it (fs->dirs_gen, fs->names_gen), so rules on creates
 * and unlinks cost no readlink per op.  at may be NULL.
 */
static const char *fault_inode_path(struct cfs *fs, struct cfs_inode *at,
				    bool dir, int fd, char *buf, size_t len)
{
	/* Unlinking a file moves no directory. */
	uint64_t gen = dir ? fs->dirs_gen : fs->names_gen;

	if (!at) {
		fault_path(fs, fd, buf, len);
		return buf;
	}
	return fault_path_cached(fs, &at->fpath, &at->fpath_gen, gen, fd, buf,
				 len);
}

/* A rule's power cut, with its cut-* options (validated when the rule
 * was added); a selection is of the op's file. */
static void fault_cut(struct cfs *fs, const struct fault_hit *hit,
		      struct pc_inval **inval)
{
	struct pc_how how = {0};
	char msg[256];

	if (*hit->cut && pc_how_parse(&how, hit->cut, msg, sizeof(msg)))
		cfs_error(fs, "power cut: %s", msg);
	how.file_id = hit->id;
	pc_cut_how_locked(fs, &how, inval);
}

/*
 * Carry out a firing rule's action.  Returns the -errno to answer the
 * caller with (the op then is not applied, if it was not already).
 *
 * A power cut ahead of the op fails it with EIO: the op was in flight on
 * the far side of the cut, like every handle opened before it, so it must
 * neither reach the post-cut tree nor tell the program it succeeded.  A
 * cut after the op answers what the op did (it returned, then the power
 * went): an fsync that completed made its data durable, a write that
 * returned is dropped by the cut like any unsynced write.  A crash is a
 * power cut whose op never answers (EIO), before or after.
 */
/*
 * Set when a rule's power cut fires on the op this thread serves: the
 * entry or attributes its reply carries (a create, mkdir, symlink, link
 * or setattr after which the power went) may describe what the cut
 * undid, and the cut's invalidations (pc_notify_async) may reach the
 * kernel before that reply.  The reply then gets no cache time, so the
 * kernel asks again (faults.powercut_rule_after saw a symlink made just
 * before the cut still listed after it, once in a few runs).  Cleared by
 * the thread's next entry or setattr reply (a flag left over from an op
 * that replies neither costs one uncached reply, nothing else).
 */
static __thread bool cut_in_op;

/* Cache times of an entry reply: none just after a cut (cut_in_op). */
static void entry_times(struct cfs *fs, struct fuse_entry_param *e)
{
	e->attr_timeout = e->entry_timeout = cut_in_op ? 0 : fs->timeout;
	cut_in_op = false;
}

static int fault_act(fuse_req_t req, struct cfs *fs,
		     const struct fault_hit *hit)
{
	struct pc_inval *inval = NULL;

	switch (hit->action) {
	case FA_ERRNO: return -hit->err;
	case FA_POWERCUT:
	case FA_CRASH:
		fault_cut(fs, hit, &inval);
		cut_in_op = true;
		pc_notify_async(fs, inval);
		/* crash: the daemon "died" before answering, as LazyFS's */
		return hit->when == FW_AFTER && hit->action == FA_POWERCUT
			   ? 0
			   : -EIO;
	case FA_KILL:
		if (req_pid(req) > 1)
			kill((pid_t)req_pid(req), SIGKILL);
		return -EIO;
	case FA_DELAY: usleep(hit->delay_ms * 1000u); return 0;
	default: return 0; /* short, torn: the write does them */
	}
}

/* fault_before() once the path is known. */
static int fault_check(fuse_req_t req, struct cfs *fs, enum fault_op op,
		       const char *path, uint64_t id, uint64_t bytes,
		       struct fault_hit *hit)
{
	struct trace_rec rec = {.type = TR_FAULT, .id = id};

	if (!fault_match(&fs->faults, op, path, bytes, hit)) {
		hit->action = FA_NONE;
		return 0;
	}
	hit->id = id;
	rec.pid = req_pid(req);
	rec.oflags = hit->action;
	rec.name = hit->desc;
	order_append(fs, &rec);
	cfs_log("fault fired on '%s' (pid %u): %s", path, rec.pid, hit->desc);
	if (hit->when == FW_AFTER)
		return 0;
	return fault_act(req, fs, hit);
}

/*
 * Before applying op on fd[/name] (file id, bytes for writes): count it
 * against the rules; when one fires, record a TR_FAULT and carry out a
 * before-action.  Returns the -errno to fail the op with instead of
 * applying it, or 0 (hit->action then says what is left to do).
 */
static int fault_before(fuse_req_t req, struct cfs *fs, enum fault_op op,
			struct cfs_inode *at, int fd, const char *name,
			uint64_t id, uint64_t bytes, struct fault_hit *hit)
{
	char buf[PATH_MAX], path[PATH_MAX + NAME_MAX + 2];
	const char *dir;

	hit->action = FA_NONE;
	if (!fault_armed(&fs->faults, op))
		return 0;
	/* With a name, at is the directory it is in. */
	dir = fault_inode_path(fs, at, name != NULL, fd, buf, sizeof(buf));
	if (!name)
		return fault_check(req, fs, op, dir, id, bytes, hit);
	snprintf(path, sizeof(path), "%s%s%s", dir, *dir ? "/" : "", name);
	return fault_check(req, fs, op, path, id, bytes, hit);
}

/* fault_before() on an open file h: its path is looked up again only
 * when a rename, unlink or power cut may have moved it. */
static int fault_before_h(fuse_req_t req, struct cfs *fs, enum fault_op op,
			  struct cfs_handle *h, uint64_t bytes,
			  struct fault_hit *hit)
{
	char buf[PATH_MAX];

	hit->action = FA_NONE;
	if (!fault_armed(&fs->faults, op))
		return 0;
	return fault_check(req, fs, op,
			   fault_path_cached(fs, &h->fpath, &h->fpath_gen,
					     fs->names_gen, h->fd, buf,
					     sizeof(buf)),
			   h->in->id, bytes, hit);
}

/*
 * An after-action that fails an op which happened (errno, kill) leaves
 * the kernel believing the op did not happen: a listing without the new
 * name, a name that is gone, a size or pages from before the op.  Its
 * caches of what the op touched are dropped once the caller has its
 * answer, from a thread of its own: the caller holds the very locks (the
 * directory's, the written pages) an invalidation takes, until answered.
 */
struct uncache {
	struct cfs *fs; /* its session */
	int n;		/* items used */
	struct {
		fuse_ino_t node;	 /* a directory (name) or the inode */
		char name[NAME_MAX + 1]; /* "" for the inode itself */
	} item[4];
};

/* Did hit answer an error for an op that happened (result >= 0)? */
static bool fault_masked(const struct fault_hit *hit, int result)
{
	return hit->when == FW_AFTER && result >= 0 &&
	       (hit->action == FA_ERRNO || hit->action == FA_KILL ||
		hit->action == FA_CRASH);
}

/* Queue node (name NULL) or the entry node/name on u. */
static void uncache_add(struct uncache *u, fuse_ino_t node, const char *name)
{
	if (u->n == (int)(sizeof(u->item) / sizeof(*u->item)))
		return;
	u->item[u->n].node = node;
	snprintf(u->item[u->n].name, sizeof(u->item[0].name), "%s",
		 name ? name : "");
	u->n++;
}

static void *uncache_thread(void *arg)
{
	struct uncache *u = arg;

	for (int i = 0; i < u->n; i++)
		if (*u->item[i].name)
			fuse_lowlevel_notify_inval_entry(
			    u->fs->se, u->item[i].node, u->item[i].name,
			    strlen(u->item[i].name));
		else
			fuse_lowlevel_notify_inval_inode(u->fs->se,
							 u->item[i].node, 0, 0);
	free(u);
	return NULL;
}

/* Drop the kernel's caches of up to two entries (a name op: the names
 * and their directories) and an inode; parent 0 or ino 0: none. */
static void fault_uncache(struct cfs *fs, fuse_ino_t parent, const char *name,
			  fuse_ino_t parent2, const char *name2, fuse_ino_t ino)
{
	struct uncache *u = calloc(1, sizeof(*u));
	pthread_attr_t attr;
	pthread_t t;

	if (!u)
		return; /* the caches time out anyway */
	u->fs = fs;
	if (parent) {
		uncache_add(u, parent, name);
		uncache_add(u, parent, NULL); /* a listing without the name */
	}
	if (parent2) {
		uncache_add(u, parent2, name2);
		uncache_add(u, parent2, NULL);
	}
	if (ino)
		uncache_add(u, ino, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, uncache_thread, u))
		free(u);
	pthread_attr_destroy(&attr);
}

/* Record rec (order held) and carry out an after-action; release the
 * ordering point.  Returns what the caller is answered with. */
static int commit_fault(fuse_req_t req, struct cfs *fs, struct trace_rec *rec,
			struct fault_hit *hit)
{
	int err = order_append(fs, rec), act = 0;

	if (hit->action != FA_NONE && hit->when == FW_AFTER)
		act = fault_act(req, fs, hit);
	order_end(fs);
	if (err)
		return err;
	return act ? act : (rec->result < 0 ? rec->result : 0);
}

/* A before-fault failed the op: that is its recorded result. */
static void injected(struct trace_rec *rec, int err)
{
	rec->result = err;
	rec->flags |= TRF_INJECTED;
}

/* fstatat of in's backing inode; 0 or -errno. */
static int inode_stat(struct cfs *fs, struct cfs_inode *in, struct stat *st)
{
	int fd = inode_fd(fs, in), err = 0;

	if (fd < 0)
		return fd;
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		err = -errno;
	inode_fd_put(in, fd);
	return err;
}

static void reply_entry(fuse_req_t req, struct cfs *fs, struct cfs_inode *in,
			const struct stat *st)
{
	struct fuse_entry_param e = {
	    .ino = (uintptr_t)in,
	    .attr = *st,
	};

	entry_times(fs, &e);
	pc_fix_nlink(fs, &e.attr);
	fuse_reply_entry(req, &e);
}

/*
 * A file made by a caller other than the daemon's user belongs to the
 * caller, as on a real filesystem (only possible when running as root);
 * in a set-group-ID directory it keeps the directory's group.
 */
static void give_to_caller(fuse_req_t req, int dirfd, const char *name)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t gid = ctx->gid;
	struct stat dir;

	if (geteuid() != 0 || (ctx->uid == 0 && ctx->gid == 0))
		return;
	if (fstat(dirfd, &dir) == 0 && (dir.st_mode & S_ISGID))
		gid = (gid_t)-1;
	/* Not fatal: the file exists, the daemon's user owns it; say so. */
	if (fchownat(dirfd, name, ctx->uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		cfs_log("cannot give '%s' to uid %u gid %u: %s", name,
			(unsigned)ctx->uid, (unsigned)ctx->gid,
			strerror(errno));
}

/* ---- lifetime ---------------------------------------------------------- */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct cfs *fs = userdata;

	/* A directory is opened without a request (opendir answers ENOSYS):
	 * an fsync of a directory costs the program one round trip, not
	 * three.  readdir and fsyncdir open it themselves (dir_handle).
	 * Not with --powercut: a directory opened before a cut must fail
	 * with EIO like a file (an fsync through it would otherwise tell
	 * the program that entries the cut dropped are durable), so each
	 * open is seen and has its epoch. */
	fs->no_opendir =
	    !fs->pc && (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT);
	/* Each write(2) must reach us when it is made, with its caller. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* Writes come in the request buffer: no per-write copy or malloc. */
	conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_MOVE |
			FUSE_CAP_SPLICE_WRITE);
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* The kernel clears set-id bits itself, with a SETATTR we record
	 * (the daemon runs as root and would keep them). */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
}

static void op_destroy(void *userdata)
{
	(void)userdata;
	cfs_log("the kernel ended the session");
}

/* ---- names -------------------------------------------------------------- */

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct cfs *fs = req_fs(req);
	struct cfs_inode *in;
	struct stat st;
	int err;

	if (pc_hidden(fs, cfs_inode(fs, parent)->id, name)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	in = inode_lookup(fs, cfs_inode(fs, parent), name, &st, req_pid(req),
			  &err);
	if (!in) {
		fuse_reply_err(req, -err);
		return;
	}
	reply_entry(req, fs, in, &st);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct cfs *fs = req_fs(req);

	inode_forget(fs, cfs_inode(fs, ino), nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct cfs *fs = req_fs(req);

	for (size_t i = 0; i < count; i++)
		inode_forget(fs, cfs_inode(fs, forgets[i].ino),
			     forgets[i].nlookup);
	fuse_reply_none(req);
}

/* mkdirat, mknodat or symlinkat (ordering lock held); on a full disk, once
 * more after space being freed.  0 or -1 and errno. */
static int make_at(struct cfs *fs, int pfd, const char *name, mode_t mode,
		   dev_t rdev, const char *target, enum trace_type type)
{
	int res;

	for (int tries = 0;; tries++) {
		if (type == TR_MKDIR)
			res = mkdirat(pfd, name, mode & 07777);
		else if (type == TR_MKNOD)
			res = mknodat(pfd, name, mode, rdev);
		else
			res = symlinkat(target, pfd, name);
		if (res == 0 || tries || !inode_space_wait(fs, -errno))
			return res;
	}
}

/* mkdir, mknod and symlink: type says which. */
static void make_node(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, dev_t rdev, const char *target,
		      enum trace_type type)
{
	struct cfs *fs = req_fs(req);
	struct cfs_inode *p = cfs_inode(fs, parent), *in = NULL;
	struct trace_rec rec = {
	    .type = type,
	    .pid = req_pid(req),
	    .parent = p->id,
	    .name = name,
	    .name2 = target,
	    .mode = mode,
	    .off = rdev,
	};
	struct fault_hit hit;
	struct stat st;
	int pfd, res, err;

	if (pc_hidden(fs, p->id, name)) {
		err = -EPERM;
		goto out_reply;
	}
	err = order_begin(fs, &rec);
	if (err)
		goto out_reply;
	pfd = inode_fd(fs, p);
	err = fault_before(req, fs,
			   type == TR_MKDIR   ? FOP_MKDIR
			   : type == TR_MKNOD ? FOP_MKNOD
					      : FOP_SYMLINK,
			   p, pfd, name, p->id, 0, &hit);
	if (pfd < 0)
		res = -1, errno = -pfd;
	else if (err)
		res = -1, errno = -err, rec.flags |= TRF_INJECTED;
	else
		res = make_at(fs, pfd, name, mode, rdev, target, type);
	rec.result = res < 0 ? -errno : 0;
	if (res == 0) {
		give_to_caller(req, pfd, name);
		in = inode_new_locked(fs, p, name, &st, &err);
		if (in) {
			rec.id = in->id;
			rec.mode = st.st_mode;
			pc_added(fs, pfd, name);
		} else {
			/* Untrackable (out of fds): undo it, so the program,
			 * the trace and the backing directory agree. */
			unlinkat(pfd, name,
				 type == TR_MKDIR ? AT_REMOVEDIR : 0);
			rec.result = err;
		}
	}
	inode_fd_put(p, pfd);
	err = commit_fault(req, fs, &rec, &hit);
	if (fault_masked(&hit, rec.result))
		fault_uncache(fs, parent, name, 0, NULL, 0);
out_reply:
	if (err) {
		if (in)
			inode_forget(fs, in, 1);
		fuse_reply_err(req, -err);
		return;
	}
	reply_entry(req, fs, in, &st);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	make_node(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL,
		  TR_MKDIR);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	make_node(req, parent, name, mode, rdev, NULL, TR_MKNOD);
}

static void op_symlink(fuse_req_t req, const char *target, fuse_ino_t parent,
		       const char *name)
{
	make_node(req, parent, name, S_IFLNK | 0777, 0, target, TR_SYMLINK);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct cfs *fs = req_fs(req);
	struct cfs_inode *in = cfs_inode(fs, ino);
	struct cfs_inode *np = cfs_inode(fs, newparent);
	struct trace_rec rec = {
	    .type = TR_LINK,
	    .pid = req_pid(req),
	    .id = in->id,
	    .parent = np->id,
	    .name = newname,
	};
	char proc[PROC_PATH_MAX];
	struct fault_hit hit;
	struct stat st;
	int fd, npfd, err;

	if (pc_hidden(fs, np->id, newname)) {
		err = -EPERM;
		goto out_reply;
	}
	err = order_begin(fs, &rec);
	if (err)
		goto out_reply;
	fd = inode_fd(fs, in);
	npfd = inode_fd(fs, np);
	err =
	    fault_before(req, fs, FOP_LINK, np, npfd, newname, in->id, 0, &hit);
	if (fd < 0 || npfd < 0)
		rec.result = fd < 0 ? fd : npfd;
	else if (err)
		injected(&rec, err);
	else if (linkat(AT_FDCWD, proc_path(proc, fd), npfd, newname,
			AT_SYMLINK_FOLLOW) < 0)
		rec.result = -errno;
	else if (pc_added(fs, npfd, newname),
		 fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		memset(&st, 0, sizeof(st));
	inode_fd_put(in, fd);
	inode_fd_put(np, npfd);
	err = commit_fault(req, fs, &rec, &hit);
	if (fault_masked(&hit, rec.result))
		fault_uncache(fs, newparent, newname, 0, NULL, ino);
out_reply:
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	inode_ref(fs, in);
	reply_entry(req, fs, in, &st);
}

/* unlink and rmdir */
static void remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
			 enum trace_type type)
{
	struct cfs *fs = req_fs(req);
	struct cfs_inode *p = cfs_inode(fs, parent);
	struct trace_rec rec = {
	    .type = type,
	    .pid = req_pid(req),
	    .parent = p->id,
	    .name = name,
	};
	struct fault_hit hit;
	struct stat st;
	int pfd, err;

	err = order_begin(fs, &rec);
	if (err)
		goto out_reply;
	rec.id = inode_id_locked(fs, p, name, &st, rec.pid);
	pfd = inode_fd(fs, p);
	err = fault_before(req, fs, type == TR_RMDIR ? FOP_RMDIR : FOP_UNLINK,
			   p, pfd, name, rec.id, 0, &hit);
	if (pfd < 0)
		rec.result = pfd;
	else if (err)
		injected(&rec, err);
	else if ((rec.result = pc_unlink(fs, pfd, name, type == TR_RMDIR)) < 0)
		;
	else if (rec.result == 0)
		inode_unlinked_locked(fs, &st);
	else
		rec.result = 0; /* kept alive by the journal: its id too */
	inode_fd_put(p, pfd);
	err = commit_fault(req, fs, &rec, &hit);
	if (fault_masked(&hit, rec.result))
		fault_uncache(fs, parent, name, 0, NULL, 0);
out_reply:
	fuse_reply_err(req, -err);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, TR_UNLINK);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, TR_RMDIR);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct cfs *fs = req_fs(req);
	struct cfs_inode *p = cfs_inode(fs, parent);
	struct cfs_inode *np = cfs_inode(fs, newparent);
	struct trace_rec rec = {
	    .type = TR_RENAME,
	    .pid = req_pid(req),
	    .parent = p->id,
	    .name = name,
	    .parent2 = np->id,
	    .name2 = newname,
	    .oflags = flags,
	};
	struct fault_hit hit;
	struct stat st, victim;
	int pfd, npfd, err;

	if (pc_hidden(fs, np->id, newname) || pc_hidden(fs, p->id, name)) {
		err = -EPERM;
		goto out_reply;
	}
	err = order_begin(fs, &rec);
	if (err)
		goto out_reply;
	rec.id = inode_id_locked(fs, p, name, &st, rec.pid);
	rec.id2 = inode_id_locked(fs, np, newname, &victim, rec.pid);
	pfd = inode_fd(fs, p);
	npfd = inode_fd(fs, np);
	err = fault_before(req, fs, FOP_RENAME, p, pfd, name, rec.id, 0, &hit);
	if (pfd < 0 || npfd < 0)
		rec.result = pfd < 0 ? pfd : npfd;
	else if (err)
		injected(&rec, err);
	else if ((rec.result = pc_rename(fs, pfd, name, npfd, newname, flags)) <
		 0)
		;
	else if (rec.result == 1)
		rec.result = 0; /* the victim is kept alive, its id too */
	else if (rec.id2 && rec.id2 != rec.id && !(flags & RENAME_EXCHANGE))
		inode_unlinked_locked(fs, &victim);
	inode_fd_put(p, pfd);
	inode_fd_put(np, npfd);
	err = commit_fault(req, fs, &rec, &hit);
	if (fault_masked(&hit, rec.result))
		fault_uncache(fs, parent, name, newparent, newname, 0);
out_reply:
	fuse_reply_err(req, -err);
}

/* ---- attributes --------------------------------------------------------- */

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct cfs *fs = req_fs(req);
	struct cfs_inode *in = cfs_inode(fs, ino);
	struct stat st;
	int err;

	if (fi)
		err = fstat(handle(fi)->fd, &st) < 0 ? -errno : 0;
	else
		err = inode_stat(fs, in, &st);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	pc_fix_nlink(fs, &st);
	fuse_reply_attr(req, &st, fs->timeout);
}

/* Record one step of a setattr (order held); returns its result. */
static int setattr_step(struct cfs *fs, struct trace_rec *rec, int res)
{
	rec->result = res < 0 ? -errno : 0;
	if (order_append(fs, rec))
		return -EIO;
	return rec->result;
}

/* ---- dropping privileges (FUSE_HANDLE_KILLPRIV_V2, kio.h) -------------- */

#define XATTR_CAP "security.capability"

static bool nocap_known(struct cfs_inode *in, const char *name, uint32_t *gen);
static void nocap_remember(struct cfs_inode *in, uint32_t gen);
static void nocap_forget(struct cfs_inode *in);

/* Is the caller in group gid, as far as dropping set-group-ID goes?  A
 * caller with uid 0 counts as having CAP_FSETID, which the kernel does
 * not tell us. */
static bool caller_in_group(fuse_req_t req, gid_t gid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[64];
	int n;

	if (ctx->uid == 0 || ctx->gid == gid)
		return true;
	n = fuse_req_getgroups(req, 64, groups);
	for (int i = 0; i < n && i < 64; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* The mode the regular file st keeps when the set-id bits must go, as
 * the kernel's setattr_should_drop_suidgid() decides: set-user-ID
 * always; set-group-ID if the group may execute, or if the caller is not
 * in the file's group (without group execute the bit means mandatory
 * locking, which only outsiders lose). */
static mode_t mode_without_setid(fuse_req_t req, const struct stat *st)
{
	mode_t mode = st->st_mode & ~(mode_t)S_ISUID;

	if ((mode & S_ISGID) &&
	    ((mode & S_IXGRP) || !caller_in_group(req, st->st_gid)))
		mode &= ~(mode_t)S_ISGID;
	return mode;
}

/*
 * With the ordering lock held, after an op on the regular file in (fd:
 * any fd on it) that must drop the set-id bits: give it mode_without_setid
 * of was (how it was before the op; the op itself may have dropped bits in
 * the backing directory already, as a chown does) and record the change
 * as a chmod.  Returns 0 or -EIO (trace).
 */
static int drop_setid_locked(fuse_req_t req, struct cfs *fs,
			     struct cfs_inode *in, int fd,
			     const struct stat *was)
{
	struct trace_rec rec = {
	    .type = TR_SETATTR,
	    .pid = req_pid(req),
	    .id = in->id,
	    .oflags = TRA_MODE,
	};
	char proc[PROC_PATH_MAX];
	mode_t want = mode_without_setid(req, was);
	struct stat st;

	if (!S_ISREG(was->st_mode) || want == was->st_mode)
		return 0;
	proc_path(proc, fd);
	if (fstat(fd, &st) == 0 && (st.st_mode & 07777) != (want & 07777)) {
		pc_attr(fs, fd, PC_ATTR_MODE, NULL);
		rec.result = chmod(proc, want & 07777) < 0 ? -errno : 0;
	}
	rec.mode = want;
	return order_append(fs, &rec) ? -EIO : 0;
}

/*
 * Before a write to in through fd, with the ordering lock held: what the
 * kernel's file_remove_privs() does, now that it leaves it to us.  File
 * capabilities always go (the backing filesystem would drop them silently
 * on our write; removing them first puts that in the trace), the set-id
 * bits when the kernel says the writer may not keep them.  Returns 0 or
 * -EIO.
 */
static int drop_privs_write_locked(fuse_req_t req, struct cfs *fs,
				   struct cfs_inode *in, int fd)
{
	struct trace_rec rec = {
	    .type = TR_REMOVEXATTR,
	    .pid = req_pid(req),
	    .id = in->id,
	    .name = XATTR_CAP,
	};
	struct stat st;
	uint32_t gen;

	if (!kio_killpriv())
		return 0;
	if (!nocap_known(in, XATTR_CAP, &gen)) {
		if (fgetxattr(fd, XATTR_CAP, NULL, 0) < 0) {
			if (errno == ENODATA || errno == EOPNOTSUPP)
				nocap_remember(in, gen);
		} else {
			pc_attr(fs, fd, PC_ATTR_XATTR, XATTR_CAP);
			rec.result =
			    fremovexattr(fd, XATTR_CAP) < 0 ? -errno : 0;
			nocap_forget(in);
			if (order_append(fs, &rec))
				return -EIO;
		}
	}
	if (!kio_kill_suidgid() || fstat(fd, &st) < 0)
		return 0;
	return drop_setid_locked(req, fs, in, fd, &st);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int valid, struct fuse_file_info *fi)
{
	struct cfs *fs = req_fs(req);
	struct cfs_inode *in = cfs_inode(fs, ino);
	struct cfs_handle *h = fi ? handle(fi) : NULL;
	struct trace_rec base = {
	    .type = TR_SETATTR,
	    .pid = req_pid(req),
	    .id = in->id,
	};
	struct trace_rec rec;
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT},
				 {.tv_nsec = UTIME_OMIT}};
	char proc[PROC_PATH_MAX];
	struct fault_hit hit = {.action = FA_NONE};
	struct stat st, before;
	bool kill;
	int fd, err, res;

	if (h && stale(fs, h)) {
		err = -EIO;
		goto out_reply;
	}
	fd = inode_fd(fs, in);
	if (fd < 0) {
		err = fd;
		goto out_reply;
	}
	proc_path(proc, fd);
	err = order_begin(fs, &base);
	if (err)
		goto out_put;
	/* A truncate rule acts on the whole request: before it, nothing of
	 * it is applied; after it, all of it was. */
	if (valid & FUSE_SET_ATTR_SIZE) {
		rec = base;
		rec.type = TR_TRUNCATE;
		rec.fh = h ? h->num : 0;
		rec.len = (uint64_t)attr->st_size;
		err = fault_before(req, fs, FOP_TRUNCATE, in, h ? h->fd : fd,
				   NULL, in->id, 0, &hit);
		if (err) {
			injected(&rec, err);
			order_append(fs, &rec);
			goto out_end;
		}
	}
	if (valid & FUSE_SET_ATTR_MODE) {
		rec = base;
		rec.oflags = TRA_MODE;
		rec.mode = attr->st_mode;
		pc_attr(fs, fd, PC_ATTR_MODE, NULL);
		res = h ? fchmod(h->fd, attr->st_mode & 07777)
			: fchmodat(AT_FDCWD, proc, attr->st_mode & 07777, 0);
		err = setattr_step(fs, &rec, res);
		if (err)
			goto out_end;
	}
	/* The set-id bits a chown or truncate must drop (kio.h). */
	kill = kio_kill_suidgid() &&
	       (valid &
		(FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID | FUSE_SET_ATTR_SIZE)) &&
	       fstatat(fd, "", &before, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) ==
		   0 &&
	       mode_without_setid(req, &before) != before.st_mode;
	if (kill)
		pc_attr(fs, fd, PC_ATTR_MODE, NULL);
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid =
		    valid & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1;
		gid_t gid =
		    valid & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1;

		rec = base;
		rec.oflags = (valid & FUSE_SET_ATTR_UID ? TRA_UID : 0) |
			     (valid & FUSE_SET_ATTR_GID ? TRA_GID : 0);
		rec.uid = uid;
		rec.gid = gid;
		pc_attr(fs, fd, PC_ATTR_OWNER, NULL);
		res = fchownat(fd, "", uid, gid,
			       AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
		err = setattr_step(fs, &rec, res);
		if (err)
			goto out_end;
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		rec = base;
		rec.type = TR_TRUNCATE;
		rec.fh = h ? h->num : 0;
		rec.len = (uint64_t)attr->st_size;
		err = pc_truncate(fs, h ? h->fd : fd, attr->st_size);
		if (err)
			goto out_end;
		res = h ? ftruncate(h->fd, attr->st_size)
			: truncate(proc, attr->st_size);
		if (res == 0)
			pc_resized(fs, h ? h->fd : fd, attr->st_size, false);
		err = setattr_step(fs, &rec, res);
		if (err)
			goto out_end;
	}
	if (kill) {
		err = drop_setid_locked(req, fs, in, fd, &before);
		if (err)
			goto out_end;
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		rec = base;
		if (valid & FUSE_SET_ATTR_ATIME) {
			rec.oflags |= TRA_ATIME;
			ts[0] = valid & FUSE_SET_ATTR_ATIME_NOW ? now
								: attr->st_atim;
			rec.atime = ts[0];
		}
		if (valid & FUSE_SET_ATTR_MTIME) {
			rec.oflags |= TRA_MTIME;
			ts[1] = valid & FUSE_SET_ATTR_MTIME_NOW ? now
								: attr->st_mtim;
			rec.mtime = ts[1];
		}
		pc_attr(fs, fd, PC_ATTR_TIMES, NULL);
		res =
		    h ? futimens(h->fd, ts) : utimensat(AT_FDCWD, proc, ts, 0);
		err = setattr_step(fs, &rec, res);
	}
out_end:
	/* As commit_fault(): an after-action acts on the op's outcome. */
	if (hit.action != FA_NONE && hit.when == FW_AFTER) {
		res = fault_act(req, fs, &hit);
		if (res && fault_masked(&hit, err))
			fault_uncache(fs, 0, NULL, 0, NULL, ino);
		err = res ? res : err;
	}
	order_end(fs);
	if (!err && fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		err = -errno;
out_put:
	inode_fd_put(in, fd);
out_reply:
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	pc_fix_nlink(fs, &st);
	fuse_reply_attr(req, &st, cut_in_op ? 0 : fs->timeout);
	cut_in_op = false;
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct cfs *fs = req_fs(req);
	struct cfs_inode *in = cfs_inode(fs, ino);
	char buf[PATH_MAX + 1];
	int fd = inode_fd(fs, in);
	ssize_t n = fd;

	if (fd >= 0) {
		n = readlinkat(fd, "", buf, sizeof(buf));
		if (n < 0)
			n = -errno;
		inode_fd_put(in, fd);
	}
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	if (n == sizeof(buf)) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct cfs *fs = req_fs(req);
	struct cfs_inode *in = cfs_inode(fs, ino);
	char proc[PROC_PATH_MAX];
	int fd = inode_fd(fs, in), err = fd < 0 ? fd : 0;

	if (fd >= 0) {
		if (faccessat(AT_FDCWD, proc_path(proc, fd), mask, 0) < 0)
			err = -errno;
		inode_fd_put(in, fd);
	}
	fuse_reply_err(req, -err);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct cfs *fs = req_fs(req);
	struct cfs_inode *in = cfs_inode(fs, ino);
	struct statvfs sv;
	int fd = inode_fd(fs, in), err = fd < 0 ? fd : 0;

	if (fd >= 0) {
		if (fstatvfs(fd, &sv) < 0)
			err = -errno;
		inode_fd_put(in, fd);
	}
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fuse_reply_statfs(req, &sv);
}

/* ---- open files --------------------------------------------------------- */

/*
 * Flags for the backing open: durability is simulated unless --real-sync,
 * O_DIRECT is dropped (our buffers are not aligned for it), and so is
 * O_APPEND: op_write() puts appends at the size it reads under the
 * ordering lock, and mmap writeback through an O_APPEND handle still lands
 * at its own offset.
 */
static int backing_flags(struct cfs *fs, int flags)
{
	flags &= ~(O_NOFOLLOW | O_DIRECT | O_CREAT | O_EXCL | O_APPEND);
	if (fs->pc)
		flags &= ~O_TRUNC; /* done by open_trunc(), journalled */
	if (!fs->real_sync)
		flags &= ~(O_SYNC | O_DSYNC);
	return flags | O_CLOEXEC;
}

static struct cfs_handle *handle_new(struct cfs *fs, int flags)
{
	struct cfs_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->epoch = __atomic_load_n(&fs->epoch, __ATOMIC_ACQUIRE);
	h->fd = -1;
	h->append = flags & O_APPEND;
	h->tflags = (flags & O_APPEND ? TRF_APPEND : 0) |
		    (flags & O_DSYNC ? TRF_SYNC : 0) |
		    (flags & O_DIRECT ? TRF_DIRECT : 0);
	return h;
}

/*
 * Record a successful open of in through h (order held): TR_OPEN, and
 * TR_TRUNCATE if O_TRUNC emptied the file.  Returns 0 or -EIO.
 */
static int record_open(fuse_req_t req, struct cfs *fs, struct cfs_inode *in,
		       struct cfs_handle *h, int flags, uint32_t pid)
{
	struct trace_rec rec = {
	    .type = TR_OPEN,
	    .pid = pid,
	    .id = in->id,
	    .oflags = (uint32_t)flags,
	};
	struct stat st;
	int err;

	h->num = rec.fh = fs->next_fh++;
	h->in = in;
	err = order_append(fs, &rec);
	if (err || !(flags & O_TRUNC) || (flags & O_DIRECTORY))
		return err;
	rec = (struct trace_rec){
	    .type = TR_TRUNCATE,
	    .pid = pid,
	    .id = in->id,
	    .fh = h->num,
	};
	err = order_append(fs, &rec);
	/* The set-id bits an O_TRUNC must drop (kio.h). */
	if (!err && kio_kill_suidgid() && fstat(h->fd, &st) == 0)
		err = drop_setid_locked(req, fs, in, h->fd, &st);
	return err;
}

/* O_TRUNC of an open file (order held): the journal saves what it drops.
 * Returns 0 or -errno. */
static int open_trunc(struct cfs *fs, struct cfs_handle *h, int flags)
{
	char proc[PROC_PATH_MAX];
	struct stat st;
	int err;

	if (!fs->pc || !(flags & O_TRUNC) || fstat(h->fd, &st) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	err = pc_truncate(fs, h->fd, 0);
	if (!err && truncate(proc_path(proc, h->fd), 0) < 0)
		err = -errno;
	if (!err)
		pc_resized(fs, h->fd, 0, false);
	return err;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfs *fs = req_fs(req);
	struct cfs_inode *in = cfs_inode(fs, ino);
	struct trace_rec rec = {.type = TR_OPEN};
	struct fault_hit hit;
	struct cfs_handle *h = handle_new(fs, fi->flags);
	char proc[PROC_PATH_MAX];
	int fd, err;

	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fd = inode_fd(fs, in);
	if (fd < 0) {
		err = fd;
		goto out_free;
	}
	proc_path(proc, fd);
	err = order_begin(fs, &rec);
	if (err) {
		inode_fd_put(in, fd);
		goto out_free;
	}
	err = fault_before(req, fs, FOP_OPEN, in, fd, NULL, in->id, 0, &hit);
	if (err) {
		/* An injected failure, like a real one, is not recorded. */
		order_end(fs);
		inode_fd_put(in, fd);
		goto out_free;
	}
	h->fd = open(proc, backing_flags(fs, fi->flags));
	if (h->fd < 0)
		err = -errno;
	else
		err = open_trunc(fs, h, fi->flags);
	if (err && h->fd >= 0) {
		close(h->fd);
		h->fd = -1;
	}
	inode_fd_put(in, fd);
	if (h->fd < 0) {
		/* A failed open changes nothing: not recorded. */
		order_end(fs);
		goto out_free;
	}
	err = record_open(req, fs, in, h, fi->flags, req_pid(req));
	if (!err && hit.action != FA_NONE && hit.when == FW_AFTER) {
		err = fault_act(req, fs, &hit);
		if (fault_masked(&hit, 0))
			fault_uncache(fs, 0, NULL, 0, NULL, ino); /* O_TRUNC */
	}
	order_end(fs);
	if (err)
		goto out_free;
	inode_open(fs, in);
	fi->fh = (uintptr_t)h;
	fuse_reply_open(req, fi);
	return;

out_free:
	if (h->fd >= 0)
		close(h->fd);
	free(h);
	fuse_reply_err(req, -err);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct cfs *fs = req_fs(req);
	struct cfs_inode *p = cfs_inode(fs, parent), *in = NULL;
	struct cfs_handle *h = handle_new(fs, fi->flags);
	struct trace_rec rec = {
	    .type = TR_CREATE,
	    .pid = req_pid(req),
	    .parent = p->id,
	    .name = name,
	    .mode = S_IFREG | (mode & 07777),
	    .oflags = (uint32_t)fi->flags,
	};
	struct fault_hit hit = {.action = FA_NONE};
	struct stat st;
	int flags = backing_flags(fs, fi->flags);
	int pfd, err;

	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (pc_hidden(fs, p->id, name)) {
		err = -EPERM;
		goto out_free;
	}
	err = order_begin(fs, &rec);
	if (err)
		goto out_free;
	pfd = inode_fd(fs, p);
	if (pfd < 0) {
		rec.result = pfd;
		goto out_commit;
	}
	err = fault_before(req, fs, FOP_CREATE, p, pfd, name, p->id, 0, &hit);
	if (err) {
		injected(&rec, err);
		inode_fd_put(p, pfd);
		goto out_commit;
	}
	h->fd = openat(pfd, name, flags | O_CREAT | O_EXCL, mode & 07777);
	if (h->fd < 0 && inode_space_wait(fs, -errno))
		h->fd =
		    openat(pfd, name, flags | O_CREAT | O_EXCL, mode & 07777);
	if (h->fd < 0 && errno == EEXIST && !(fi->flags & O_EXCL)) {
		/* It exists after all: an open of an existing file. */
		h->fd = openat(pfd, name, flags | O_NOFOLLOW);
		err = h->fd < 0 ? -errno : open_trunc(fs, h, fi->flags);
		inode_fd_put(p, pfd);
		if (!err) {
			in = inode_lookup_locked(fs, p, name, &st, rec.pid,
						 &err);
			if (in)
				err = record_open(req, fs, in, h, fi->flags,
						  rec.pid);
		}
		/* The rule fired on it: an after-action acts here too. */
		if (!err && hit.action != FA_NONE && hit.when == FW_AFTER) {
			err = fault_act(req, fs, &hit);
			if (fault_masked(&hit, 0))
				fault_uncache(fs, parent, name, 0, NULL, 0);
		}
		order_end(fs);
		if (err)
			goto out_free;
		goto out_reply;
	}
	if (h->fd < 0) {
		rec.result = -errno;
	} else {
		give_to_caller(req, pfd, name);
		in = inode_new_locked(fs, p, name, &st, &err);
		if (in) {
			rec.id = in->id;
			rec.mode = st.st_mode;
			h->num = rec.fh = fs->next_fh++;
			h->in = in;
			pc_added(fs, pfd, name);
			/* No file is born with capabilities: the kernel's
			 * question before its first write needs no syscall. */
			nocap_remember(in, atomic_load(&in->nocap));
		} else {
			/* Untrackable (out of fds): undo it, so the program,
			 * the trace and the backing directory agree. */
			close(h->fd);
			h->fd = -1;
			unlinkat(pfd, name, 0);
			rec.result = err;
		}
	}
	inode_fd_put(p, pfd);
out_commit:
	err = commit_fault(req, fs, &rec, &hit);
	if (fault_masked(&hit, rec.result))
		fault_uncache(fs, parent, name, 0, NULL, 0);
	if (err)
		goto out_free;
out_reply:
	inode_open(fs, in);
	fi->fh = (uintptr_t)h;
	{
		struct fuse_entry_param e = {
		    .ino = (uintptr_t)in,
		    .attr = st,
		};

		entry_times(fs, &e);
		pc_fix_nlink(fs, &e.attr);
		fuse_reply_create(req, &e, fi);
	}
	return;

out_free:
	if (in)
		inode_forget(fs, in, 1);
	if (h->fd >= 0)
		close(h->fd);
	free(h);
	fuse_reply_err(req, -err);
}

/* Per-thread reply buffer (read, readdir), so they allocate once per
 * thread.  A handler uses it until it has replied. */
static pthread_key_t rbuf_key;
static pthread_once_t rbuf_once = PTHREAD_ONCE_INIT;

struct rbuf {
	size_t len;
	char data[];
};

static void rbuf_key_init(void)
{
	pthread_key_create(&rbuf_key, free);
}

static char *thread_buffer(size_t size)
{
	struct rbuf *b;

	pthread_once(&rbuf_once, rbuf_key_init);
	b = pthread_getspecific(rbuf_key);
	if (!b || b->len < size) {
		free(b);
		b = malloc(sizeof(*b) + size);
		pthread_setspecific(rbuf_key, b);
		if (!b)
			return NULL;
		b->len = size;
	}
	return b->data;
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	char *buf = thread_buffer(size);
	ssize_t n;

	(void)ino;
	if (!buf || stale(req_fs(req), handle(fi))) {
		fuse_reply_err(req, buf ? EIO : ENOMEM);
		return;
	}
	n = pread(handle(fi)->fd, buf, size, off);
	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	fuse_reply_buf(req, buf, (size_t)n);
}

/* A short write keeps the first half of the bytes; a torn one the first
 * half of the 512-byte sectors it touches (at least one byte less). */
static size_t write_cut(size_t size, off_t off, enum fault_action action)
{
	size_t first, keep;

	if (action == FA_SHORT || size < 2)
		return size / 2;
	first = 512 - (size_t)(off % 512); /* bytes in the first sector */
	keep = first + ((size - first + 511) / 512 / 2) * 512;
	return keep < size ? keep : size - 1;
}

/* Journal and write (ordering lock held); on a full disk, once more after
 * space being freed (inode_space_wait).  Bytes written or -1 and errno. */
static ssize_t write_backing(struct cfs *fs, struct cfs_handle *h,
			     const char *buf, size_t len, off_t off)
{
	ssize_t n;
	int err;

	for (int tries = 0;; tries++) {
		err = pc_write(fs, h->fd, h->in->ino, h->in->dev, off, len);
		if (err)
			errno = -err, n = -1;
		else
			n = len ? pwrite(h->fd, buf, len, off) : 0;
		if (n >= 0 || tries || !inode_space_wait(fs, -errno))
			return n;
	}
}

/* The write hot path: one pwrite, one trace append, no allocation. */
static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct cfs *fs = req_fs(req);
	struct cfs_handle *h = handle(fi);
	struct trace_rec rec = {
	    .type = TR_WRITE,
	    .flags = h->tflags,
	    .pid = req_pid(req),
	    .id = h->in->id,
	    .fh = h->num,
	    .data_len = (uint32_t)size,
	};
	bool append = h->append && !fi->writepage;
	struct fault_hit hit = {.action = FA_NONE};
	struct stat st;
	ssize_t n = -1;
	size_t len = size;
	int err;

	(void)ino;
	if (fi->writepage)
		rec.flags |= TRF_WRITEBACK;
	if (stale(fs, h)) {
		err = -EIO;
		goto out_reply;
	}
	err = order_begin(fs, &rec);
	if (err)
		goto out_reply;
	/* O_APPEND: the data lands at the end, whatever the kernel said
	 * (but page writeback of a shared mapping goes where it belongs). */
	if (!append || fstat(h->fd, &st) == 0) {
		if (append)
			off = st.st_size;
		err = fault_before_h(req, fs, FOP_WRITE, h, size, &hit);
		if (err)
			rec.flags |= TRF_INJECTED; /* errno, kill, powercut */
		if (hit.action == FA_SHORT || hit.action == FA_TORN)
			len = write_cut(size, off, hit.action);
		if (!err && size)
			err = drop_privs_write_locked(req, fs, h->in, h->fd);
		if (err)
			errno = -err;
		else
			n = write_backing(fs, h, buf, len, off);
	}
	if (!append)
		rec.flags &= ~TRF_APPEND;
	rec.off = (uint64_t)off;
	rec.result = n < 0 ? -errno : (int32_t)n;
	rec.data = n > 0 ? buf : NULL;
	rec.data_len = n > 0 ? (uint32_t)n : 0;
	if (hit.action == FA_SHORT || hit.action == FA_TORN)
		rec.flags |= TRF_INJECTED;
	err = commit_fault(req, fs, &rec, &hit);
	/* A torn write says it wrote everything. */
	if (!err && hit.action == FA_TORN)
		n = (ssize_t)size;
	if (fault_masked(&hit, rec.result))
		fault_uncache(fs, 0, NULL, 0, NULL, ino);
out_reply:
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fuse_reply_write(req, (size_t)n);
}

/* flush, release, fsync, fsyncdir: a record and nothing else by default */
static int record_handle(fuse_req_t req, struct cfs_handle *h,
			 enum trace_type type, uint16_t flags, bool sync)
{
	struct cfs *fs = req_fs(req);
	struct trace_rec rec = {
	    .type = type,
	    .flags = flags,
	    .pid = req_pid(req),
	    .id = h->in->id,
	    .fh = h->num,
	};
	struct fault_hit hit = {.action = FA_NONE};
	int err, res = 0;

	if (sync && stale(fs, h))
		return -EIO;
	err = order_begin(fs, &rec);
	if (err)
		return err;
	if (sync)
		err = fault_before_h(req, fs,
				     type == TR_FSYNCDIR    ? FOP_FSYNCDIR
				     : flags & TRF_DATASYNC ? FOP_FDATASYNC
							    : FOP_FSYNC,
				     h, 0, &hit);
	if (err)
		errno = -err, res = -1, rec.flags |= TRF_INJECTED;
	else if (sync && fs->real_sync)
		res = flags & TRF_DATASYNC ? fdatasync(h->fd) : fsync(h->fd);
	rec.result = res < 0 ? -errno : 0;
	if (sync && res == 0) {
		if (type == TR_FSYNCDIR)
			pc_dir_synced(fs, h->fd);
		else
			pc_synced(fs, h->fd);
		/* its attributes: fsync of a file (not fdatasync), any
		 * sync of a directory */
		if (type == TR_FSYNCDIR || !(flags & TRF_DATASYNC))
			pc_attr_synced(fs, h->fd);
	} else if (sync && type == TR_FSYNC)
		pc_sync_failed(fs, h->fd);
	return commit_fault(req, fs, &rec, &hit);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fuse_reply_err(req,
		       -record_handle(req, handle(fi), TR_FLUSH, 0, false));
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	(void)ino;
	fuse_reply_err(req, -record_handle(req, handle(fi), TR_FSYNC,
					   datasync ? TRF_DATASYNC : 0, true));
}

/*
 * A handle for one request on directory ino, which the kernel opened
 * without asking us (fs->no_opendir): h->fd, and with stream h->dir, on
 * the directory; handle number 0, never stale.  Without stream and
 * without --real-sync, h->fd is the inode's O_PATH fd (an fsyncdir only
 * records, and the journal only fstats it).  dir_handle_done() closes
 * it.  0 or -errno.
 */
static int dir_handle(struct cfs *fs, fuse_ino_t ino, struct cfs_handle *h,
		      bool stream)
{
	struct cfs_inode *in = cfs_inode(fs, ino);
	int fd = inode_fd(fs, in);

	*h = (struct cfs_handle){
	    .fd = -1,
	    .in = in,
	    .epoch = __atomic_load_n(&fs->epoch, __ATOMIC_ACQUIRE),
	};
	if (fd < 0 || !(stream || fs->real_sync)) {
		h->fd = fd;
		return fd < 0 ? fd : 0;
	}
	h->fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	inode_fd_put(in, fd);
	if (h->fd < 0)
		return -errno;
	if (stream && !(h->dir = fdopendir(h->fd))) {
		fd = -errno;
		close(h->fd);
		return fd;
	}
	return 0;
}

static void dir_handle_done(struct cfs_handle *h)
{
	if (h->dir)
		closedir(h->dir);
	else
		inode_fd_put(h->in, h->fd);
	free(h->fpath);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	struct cfs_handle tmp;
	int err;

	if (fi->fh) {
		err = record_handle(req, handle(fi), TR_FSYNCDIR,
				    datasync ? TRF_DATASYNC : 0, true);
	} else if (!(err = dir_handle(req_fs(req), ino, &tmp, false))) {
		err = record_handle(req, &tmp, TR_FSYNCDIR,
				    datasync ? TRF_DATASYNC : 0, true);
		dir_handle_done(&tmp);
	}
	fuse_reply_err(req, -err);
}

static void handle_free(struct cfs *fs, struct cfs_handle *h)
{
	inode_close(fs, h->in, h->fd);
	if (h->dir)
		closedir(h->dir);
	else if (h->fd >= 0)
		close(h->fd);
	free(h->fpath);
	free(h);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct cfs_handle *h = handle(fi);

	(void)ino;
	/* The file is closed before the record waits for the ordering
	 * point, where a writer on a full disk may wait for its space
	 * (inode_space_wait). */
	close(h->fd);
	h->fd = -1;
	inode_release_served(req_fs(req));
	/* The handle goes away whatever the trace says. */
	record_handle(req, h, TR_RELEASE, 0, false);
	handle_free(req_fs(req), h);
	fuse_reply_err(req, 0);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
			 off_t len, struct fuse_file_info *fi)
{
	struct cfs *fs = req_fs(req);
	struct cfs_handle *h = handle(fi);
	struct trace_rec rec = {
	    .type = TR_FALLOCATE,
	    .pid = req_pid(req),
	    .id = h->in->id,
	    .fh = h->num,
	    .oflags = (uint32_t)mode,
	    .off = (uint64_t)off,
	    .len = (uint64_t)len,
	};
	int err;

	(void)ino;
	if (stale(fs, h)) {
		err = -EIO;
		goto out_reply;
	}
	err = order_begin(fs, &rec);
	if (err)
		goto out_reply;
	for (int tries = 0;; tries++) {
		rec.result = pc_fallocate(fs, h->fd, mode, off, len);
		if (!rec.result && fallocate(h->fd, mode, off, len) < 0)
			rec.result = -errno;
		if (!rec.result || tries || !inode_space_wait(fs, rec.result))
			break;
	}
	/* Allocation that extends the file, and bytes made zeros; collapse
	 * and insert are not mirrored by a journal commit (docs/faults.md). */
	if (!rec.result && !(mode & ~FALLOC_FL_ZERO_RANGE))
		pc_resized(fs, h->fd, off + len, true);
	if (!rec.result &&
	    (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)))
		pc_zeroed(fs, h->fd, off, len);
	err = order_commit(fs, &rec);
	if (!err)
		err = rec.result;
out_reply:
	fuse_reply_err(req, -err);
}

static void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			       struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			       off_t off_out, struct fuse_file_info *fi_out,
			       size_t len, int flags)
{
	struct cfs *fs = req_fs(req);
	struct cfs_handle *src = handle(fi_in), *dst = handle(fi_out);
	struct trace_rec rec = {
	    .type = TR_COPY_RANGE,
	    .pid = req_pid(req),
	    .id2 = src->in->id,
	    .off2 = (uint64_t)off_in,
	    .id = dst->in->id,
	    .off = (uint64_t)off_out,
	    .len = len,
	};
	ssize_t n;
	int err;

	(void)ino_in;
	(void)ino_out;
	if (stale(fs, src) || stale(fs, dst)) {
		err = -EIO;
		goto out_reply;
	}
	err = order_begin(fs, &rec);
	if (err)
		goto out_reply;
	/* At most COPY_MAX a request, so the result fits the record; the
	 * caller sees a short copy and goes on. */
	for (int tries = 0;; tries++) {
		n = pc_write(fs, dst->fd, dst->in->ino, dst->in->dev, off_out,
			     len < COPY_MAX ? len : COPY_MAX);
		if (n < 0)
			errno = (int)-n;
		else
			n = copy_file_range(src->fd, &off_in, dst->fd, &off_out,
					    len < COPY_MAX ? len : COPY_MAX,
					    (unsigned int)flags);
		if (n >= 0 || tries || !inode_space_wait(fs, -errno))
			break;
	}
	rec.result = n < 0 ? -errno : (int32_t)n;
	err = order_commit(fs, &rec);
	if (!err && n < 0)
		err = rec.result;
out_reply:
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fuse_reply_write(req, (size_t)n);
}

static void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	off_t res = lseek(handle(fi)->fd, off, whence);

	(void)ino;
	if (res < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	fuse_reply_lseek(req, res);
}

/* ---- directories -------------------------------------------------------- */

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct cfs *fs = req_fs(req);
	struct cfs_inode *in = cfs_inode(fs, ino);
	struct trace_rec rec = {.type = TR_OPEN};
	struct cfs_handle *h;
	int fd, err;

	if (fs->no_opendir) {
		fuse_reply_err(req, ENOSYS); /* see op_init */
		return;
	}
	h = handle_new(fs, 0);
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fd = inode_fd(fs, in);
	if (fd < 0) {
		err = fd;
		goto out_free;
	}
	err = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	inode_fd_put(in, fd);
	fd = err < 0 ? -errno : err;
	if (fd < 0) {
		err = fd;
		goto out_free;
	}
	h->fd = fd;
	h->dir = fdopendir(fd);
	if (!h->dir) {
		err = -errno;
		goto out_free;
	}
	/* Recorded, so fsyncdir has a handle number to name. */
	err = order_begin(fs, &rec);
	if (err)
		goto out_free;
	err =
	    record_open(req, fs, in, h, fi->flags | O_DIRECTORY, req_pid(req));
	order_end(fs);
	if (err)
		goto out_free;
	inode_open(fs, in);
	fi->fh = (uintptr_t)h;
	fuse_reply_open(req, fi);
	return;

out_free:
	if (h->dir)
		closedir(h->dir);
	else if (h->fd >= 0)
		close(h->fd);
	free(h);
	fuse_reply_err(req, -err);
}

static bool is_dot(const char *name)
{
	return name[0] == '.' &&
	       (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* Add h->dent to buf; returns its size (> rem if it did not fit) or
 * -errno.  With plus, the entry is looked up (and bound if new). */
static long add_entry(fuse_req_t req, struct cfs_handle *h, char *buf,
		      size_t rem, bool plus)
{
	struct cfs *fs = req_fs(req);
	struct dirent *d = h->dent;
	struct fuse_entry_param e = {0};
	struct cfs_inode *in = NULL;
	size_t n;
	int err;

	e.attr.st_ino = d->d_ino;
	e.attr.st_mode = (mode_t)d->d_type << 12;
	if (!plus)
		return (long)fuse_add_direntry(req, buf, rem, d->d_name,
					       &e.attr, d->d_off);
	if (!is_dot(d->d_name)) {
		in = inode_lookup(fs, h->in, d->d_name, &e.attr, req_pid(req),
				  &err);
		if (!in)
			return err;
		e.ino = (uintptr_t)in;
		e.attr_timeout = e.entry_timeout = fs->timeout;
		pc_fix_nlink(fs, &e.attr);
	}
	n = fuse_add_direntry_plus(req, buf, rem, d->d_name, &e, d->d_off);
	if (n > rem && in)
		inode_forget(fs, in, 1);
	return (long)n;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct cfs_handle tmp, *h = fi->fh ? handle(fi) : &tmp;
	char *buf = thread_buffer(size);
	size_t rem = size;
	long n;
	int err = 0;

	if (!buf || (fi->fh && stale(req_fs(req), h))) {
		fuse_reply_err(req, buf ? EIO : ENOMEM);
		return;
	}
	if (!fi->fh) {
		err = dir_handle(req_fs(req), ino, &tmp, true);
		if (err) {
			fuse_reply_err(req, -err);
			return;
		}
	}
	if (off != h->doff) {
		seekdir(h->dir, off);
		h->dent = NULL;
		h->doff = off;
	}
	for (;;) {
		if (!h->dent) {
			errno = 0;
			h->dent = readdir(h->dir);
			if (!h->dent) {
				err = -errno;
				break;
			}
		}
		if (pc_hidden(req_fs(req), h->in->id, h->dent->d_name))
			n = -ENOENT;
		else
			n = add_entry(req, h, buf + (size - rem), rem, plus);
		if (n == -ENOENT) {
			/* Gone since it was listed: skip it. */
			h->doff = h->dent->d_off;
			h->dent = NULL;
			continue;
		}
		if (n < 0) {
			err = (int)n;
			break;
		}
		if ((size_t)n > rem)
			break;
		rem -= (size_t)n;
		h->doff = h->dent->d_off;
		h->dent = NULL;
	}
	if (h == &tmp)
		dir_handle_done(&tmp);
	if (err && rem == size)
		fuse_reply_err(req, -err);
	else
		fuse_reply_buf(req, buf, size - rem);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct cfs_handle *h = handle(fi);

	(void)ino;
	record_handle(req, h, TR_RELEASE, 0, false);
	handle_free(req_fs(req), h);
	fuse_reply_err(req, 0);
}

/* ---- extended attributes ------------------------------------------------ */

/*
 * The kernel asks for security.capability before every write(2) (to know
 * whether the write must drop file capabilities), almost always to hear
 * ENODATA.  An inode remembers that answer (bit 0 of in->nocap) until an
 * xattr of it is set or removed through the mount, which bumps the
 * generation in the upper bits: a getxattr that raced with the change
 * cannot store its stale answer, because its compare-and-swap fails.
 * Only a setxattr can add the attribute (writes, truncates and chown
 * only ever remove it), so a remembered "none" stays true.
 */
static bool nocap_known(struct cfs_inode *in, const char *name, uint32_t *gen)
{
	if (!name || strcmp(name, XATTR_CAP) != 0) {
		*gen = 1; /* not cached */
		return false;
	}
	*gen = atomic_load(&in->nocap);
	return *gen & 1;
}

static void nocap_remember(struct cfs_inode *in, uint32_t gen)
{
	if (!(gen & 1))
		atomic_compare_exchange_strong(&in->nocap, &gen, gen | 1);
}

/* After a setxattr or removexattr through the mount. */
static void nocap_forget(struct cfs_inode *in)
{
	uint32_t v = atomic_load(&in->nocap);

	while (!atomic_compare_exchange_weak(&in->nocap, &v, (v | 1) + 1))
		;
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct cfs *fs = req_fs(req);
	struct cfs_inode *in = cfs_inode(fs, ino);
	struct trace_rec rec = {
	    .type = TR_SETXATTR,
	    .pid = req_pid(req),
	    .id = in->id,
	    .name = name,
	    .data = value,
	    .data_len = (uint32_t)size,
	    .oflags = (uint32_t)flags,
	};
	char proc[PROC_PATH_MAX];
	int fd = inode_fd(fs, in), err = fd < 0 ? fd : 0;

	if (err)
		goto out_reply;
	proc_path(proc, fd);
	err = order_begin(fs, &rec);
	if (err)
		goto out_put;
	pc_attr(fs, fd, PC_ATTR_XATTR, name);
	rec.result = setxattr(proc, name, value, size, flags) < 0 ? -errno : 0;
	nocap_forget(in);
	err = order_commit(fs, &rec);
	if (!err)
		err = rec.result;
out_put:
	inode_fd_put(in, fd);
out_reply:
	fuse_reply_err(req, -err);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct cfs *fs = req_fs(req);
	struct cfs_inode *in = cfs_inode(fs, ino);
	struct trace_rec rec = {
	    .type = TR_REMOVEXATTR,
	    .pid = req_pid(req),
	    .id = in->id,
	    .name = name,
	};
	char proc[PROC_PATH_MAX];
	int fd = inode_fd(fs, in), err = fd < 0 ? fd : 0;

	if (err)
		goto out_reply;
	proc_path(proc, fd);
	err = order_begin(fs, &rec);
	if (err)
		goto out_put;
	pc_attr(fs, fd, PC_ATTR_XATTR, name);
	rec.result = removexattr(proc, name) < 0 ? -errno : 0;
	nocap_forget(in);
	err = order_commit(fs, &rec);
	if (!err)
		err = rec.result;
out_put:
	inode_fd_put(in, fd);
out_reply:
	fuse_reply_err(req, -err);
}

/* getxattr and listxattr: name NULL lists. */
static void get_xattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		      size_t size)
{
	struct cfs *fs = req_fs(req);
	struct cfs_inode *in = cfs_inode(fs, ino);
	char proc[PROC_PATH_MAX];
	char *buf = NULL;
	uint32_t gen;
	int fd;
	ssize_t n;

	if (nocap_known(in, name, &gen)) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if (size) {
		buf = malloc(size);
		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}
	fd = inode_fd(fs, in);
	n = fd;
	if (fd >= 0) {
		proc_path(proc, fd);
		n = name ? getxattr(proc, name, buf, size)
			 : listxattr(proc, buf, size);
		if (n < 0)
			n = -errno;
		inode_fd_put(in, fd);
	}
	if (n == -ENODATA)
		nocap_remember(in, gen);
	if (n == -ENODATA)
		nocap_remember(in, gen);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (size)
		fuse_reply_buf(req, buf, (size_t)n);
	else
		fuse_reply_xattr(req, (size_t)n);
	free(buf);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	get_xattr(req, ino, name, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	get_xattr(req, ino, NULL, size);
}

const struct fuse_lowlevel_ops cfs_ops = {
    .init = op_init,
    .destroy = op_destroy,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .readlink = op_readlink,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .symlink = op_symlink,
    .link = op_link,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .rename = op_rename,
    .open = op_open,
    .create = op_create,
    .read = op_read,
    .write = op_write,
    .flush = op_flush,
    .release = op_release,
    .fsync = op_fsync,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .releasedir = op_releasedir,
    .fsyncdir = op_fsyncdir,
    .statfs = op_statfs,
    .fallocate = op_fallocate,
    .copy_file_range = op_copy_file_range,
    .lseek = op_lseek,
    .setxattr = op_setxattr,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .removexattr = op_removexattr,
    .access = op_access,
};
