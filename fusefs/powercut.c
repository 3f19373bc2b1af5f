/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The undo journal behind `crashfs ctl MNT powercut` (see powercut.h for
 * the method).  Scratch space (fusefs/scratch.h): TRACE.scratch beside the
 * trace when that is on the backing filesystem, else
 * BACKING/.crashfs-scratch, hidden from the mount; emptied at each cut and
 * removed at unmount.  It holds one file of saved bytes per dirty file
 * (d<N>, deleted when the file is synced) and the entries removed by
 * non-durable ops (k<N>, deleted when a directory fsync commits them).
 */
#include "fusefs/powercut.h"

#include "core/cutplan.h"
#include "core/ranges.h"
#include "fusefs/fs.h"
#include "fusefs/powercut_int.h"
#include "fusefs/scratch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* Kernel caches to drop after a cut. */
struct pc_inval {
	struct pc_inval *next;
	fuse_ino_t node; /* a directory (entry) or a file (inode) */
	char name[];	 /* entry name, "" for the inode itself */
};

/* scratch_empty() callback: a removed kept entry's inode may be gone. */
static void entry_gone(void *arg, const struct stat *st)
{
	inode_unlinked_locked(arg, st);
}

/*
 * Where the scratch directory goes: beside the trace (TRACE.scratch) when
 * the trace's directory is on the backing filesystem (entries are moved
 * there by rename), else inside the backing root, hidden from the mount.
 */
static char *scratch_path(struct cfs *fs, bool *hidden)
{
	char *dir, *slash, *path = NULL;
	struct stat st;

	dir = strdup(fs->trace_path);
	if (!dir)
		return NULL;
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	*hidden =
	    !(stat(slash ? dir : ".", &st) == 0 && st.st_dev == fs->root.dev);
	if (*hidden) {
		if (asprintf(&path, "%s/%s", fs->backing, PC_SCRATCH) < 0)
			path = NULL;
	} else if (asprintf(&path, "%s.scratch", fs->trace_path) < 0) {
		path = NULL;
	}
	free(dir);
	return path;
}

/* Make, lock and open j->path.  0 or -errno (and a message in err). */
static int journal_open(struct cfs *fs, struct pc_journal *j, char *err,
			size_t errlen)
{
	uint64_t stale;

	j->scratch =
	    scratch_open(j->path, fs->mount, &j->lock, &stale, err, errlen);
	if (j->scratch < 0)
		return j->scratch;
	if (stale)
		cfs_log("power cut scratch: emptied '%s', left by a killed "
			"daemon (%llu bytes)",
			j->path, (unsigned long long)stale);
	return 0;
}

/* Can entries move between the backing root and the scratch directory
 * (same filesystem and mount)?  Probed with a hard link. */
static bool scratch_linkable(struct cfs *fs, struct pc_journal *j)
{
	static const char probe[] = ".crashfs-probe";

	if (linkat(j->scratch, "owner", fs->mount_fd, probe, 0) < 0)
		return errno != EXDEV;
	unlinkat(fs->mount_fd, probe, 0);
	return true;
}

int pc_init(struct cfs *fs, bool undo, char *msg, size_t msglen)
{
	struct pc_journal *j = calloc(1, sizeof(*j));
	int err;

	if (!j) {
		snprintf(msg, msglen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	j->fs = fs;
	j->undo = undo;
	j->scratch = j->lock = -1;
	j->next_keep = j->next_data = 1;
	pthread_mutex_init(&j->klock, NULL);
	fs->recorded = pc_recorded;
	if (!undo) {
		fs->pc = j; /* tracking only: no scratch */
		return 0;
	}
	j->path = scratch_path(fs, &j->hidden);
	if (!j->path)
		goto out_errno;
	err = journal_open(fs, j, msg, msglen);
	if (!err && !j->hidden && !scratch_linkable(fs, j)) {
		/* Beside the trace is another mount: use the backing root. */
		scratch_close(j->path, j->scratch, j->lock);
		j->scratch = j->lock = -1;
		free(j->path);
		j->hidden = true;
		if (asprintf(&j->path, "%s/%s", fs->backing, PC_SCRATCH) < 0) {
			j->path = NULL;
			err = -ENOMEM;
		} else {
			err = journal_open(fs, j, msg, msglen);
		}
	}
	if (err)
		goto out_err;
	fs->pc = j;
	return 0;

out_errno:
	err = -errno;
	snprintf(msg, msglen, "%s", strerror(errno));
out_err:
	fs->recorded = NULL;
	free(j->path);
	free(j);
	return err;
}

const char *pc_scratch_dir(struct cfs *fs)
{
	return fs->pc ? fs->pc->path : NULL;
}

bool pc_can_cut(struct cfs *fs)
{
	return fs->pc && fs->pc->undo;
}

/* d<N>, k<N> */
static void data_name(char buf[32], uint64_t n)
{
	snprintf(buf, 32, "d%llu", (unsigned long long)n);
}

/* At a cut: data file n goes once the cut is made (scratch_reap()).
 * False if it cannot be noted. */
static bool trash(struct pc_journal *j, uint64_t n)
{
	if (j->ntrash == j->captrash) {
		size_t cap = j->captrash ? 2 * j->captrash : 64;
		uint64_t *v = realloc(j->trash, cap * sizeof(*v));

		if (!v)
			return false;
		j->trash = v;
		j->captrash = cap;
	}
	j->trash[j->ntrash++] = n;
	return true;
}

static void file_free(struct pc_journal *j, struct pc_file *f)
{
	char dn[32];

	if (f->fd >= 0)
		close(f->fd);
	if (f->sfd >= 0) {
		close(f->sfd);
		data_name(dn, f->data);
		if (!j->reaping || !trash(j, f->data))
			unlinkat(j->scratch, dn, 0);
	}
	ranges_release(&f->dirty);
	ranges_release(&f->sv);
	ranges_release(&f->post);
	ranges_release(&f->zero);
	pc_file_forget(f);
	if (j->cur == f)
		j->cur = NULL;
	free(f);
}

static void dir_put(struct pc_journal *j, struct pc_dir *d)
{
	if (!d || --d->refs)
		return;
	map_del(&j->dirs, d->ino, d->dev);
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

static void op_free(struct pc_journal *j, struct pc_op *op)
{
	dir_put(j, op->dir);
	dir_put(j, op->dir2);
	free(op->name);
	free(op->name2);
	free(op->xval);
	if (op->afd >= 0)
		close(op->afd);
}

void pc_release(struct cfs *fs)
{
	struct pc_journal *j = fs->pc;
	struct pc_file *f;
	size_t pos = 0;

	if (!j)
		return;
	while ((f = map_next(&j->files, &pos, NULL, NULL)))
		file_free(j, f);
	map_release(&j->files);
	for (size_t i = 0; i < j->nops; i++)
		op_free(j, &j->ops[i]);
	free(j->ops);
	map_release(&j->dirs);
	map_release(&j->kept);
	map_release(&j->failed);
	free(j->trash);
	fs->recorded = NULL;
	if (j->undo)
		scratch_close(j->path, j->scratch, j->lock);
	free(j->path);
	free(j);
	fs->pc = NULL;
}

bool pc_hidden(struct cfs *fs, uint64_t parent_id, const char *name)
{
	return fs->pc && fs->pc->hidden && parent_id == TRACE_ROOT_ID &&
	       !strcmp(name, PC_SCRATCH);
}

/* ---- data --------------------------------------------------------------- */

static struct pc_op *op_new(struct pc_journal *j, enum pc_kind kind, int pfd,
			    const char *name);

/* The dirty-file record of the regular file at fd, made if new; NULL for
 * other files (with *err = 0) or on failure. */
static struct pc_file *file_get(struct pc_journal *j, int fd, int *err)
{
	char proc[32];
	struct pc_file *f;
	struct stat st;

	*err = 0;
	if (j->hint_ino) {
		/* The caller knows the inode: no fstat when it is dirty. */
		f = map_get(&j->files, j->hint_ino, j->hint_dev);
		j->hint_ino = 0;
		if (f)
			return f;
	}
	if (fstat(fd, &st) < 0) {
		*err = -errno;
		return NULL;
	}
	if (!S_ISREG(st.st_mode))
		return NULL;
	f = map_get(&j->files, st.st_ino, st.st_dev);
	if (f)
		return f;
	f = calloc(1, sizeof(*f));
	if (!f) {
		*err = -ENOMEM;
		return NULL;
	}
	f->fd = -1;
	if (j->undo) {
		snprintf(proc, sizeof(proc), PROC_FD, fd);
		f->fd = open(proc, O_RDWR | O_CLOEXEC);
		if (f->fd < 0) {
			*err = -errno;
			free(f);
			return NULL;
		}
	}
	f->sfd = -1;
	f->ino = st.st_ino;
	f->dev = st.st_dev;
	f->gen = ++j->next_gen;
	f->durable = f->low = f->dlow = f->base = f->vsize = st.st_size;
	f->times[0] = st.st_atim;
	f->times[1] = st.st_mtim;
	f->before = j->fs->tw ? trace_writer_count(j->fs->tw) : 0;
	*err = map_put(&j->files, st.st_ino, st.st_dev, f);
	if (*err) {
		file_free(j, f);
		return NULL;
	}
	return f;
}

/* f's data file, made at its first save.  0 or -errno. */
static int data_open(struct pc_journal *j, struct pc_file *f)
{
	char dn[32];

	if (f->sfd >= 0)
		return 0;
	f->data = j->next_data++;
	data_name(dn, f->data);
	f->sfd =
	    openat(j->scratch, dn, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	f->send = 0;
	return f->sfd < 0 ? -errno : 0;
}

/* Copy len bytes at from in fd to the end of f's data file; the bytes
 * copied (fewer at the end of fd) or -errno. */
static ssize_t data_copy(struct pc_file *f, int fd, off_t from, off_t len)
{
	char buf[65536];
	off_t done = 0;

	while (done < len) {
		size_t n = (size_t)(len - done) < sizeof(buf)
			       ? (size_t)(len - done)
			       : sizeof(buf);
		ssize_t r = pread(fd, buf, n, from + done);

		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		if (pwrite(f->sfd, buf, (size_t)r, f->send) != r)
			return errno ? -errno : -ENOSPC;
		f->send += r;
		done += r;
	}
	return done;
}

/* Save the old bytes [off, end) of f, none of them saved yet. */
static int save_gap(struct pc_journal *j, struct pc_file *f, off_t off,
		    off_t end)
{
	off_t pos;
	ssize_t n;
	int err = data_open(j, f);

	if (err)
		return err;
	pos = f->send;
	n = data_copy(f, f->fd, off, end - off);
	if (n < 0)
		return (int)n;
	return ranges_put(&f->sv, off, off + n, pos);
}

/* Save f's bytes [off, end) that lie below its low mark and are not saved
 * yet: each old byte is saved once, so the saves never outgrow the file's
 * durable size or what changed in it. */
static int save(struct pc_journal *j, struct pc_file *f, off_t off, off_t end)
{
	size_t i;
	int err;

	if (end > f->low)
		end = f->low;
	i = ranges_find(&f->sv, off);
	while (off < end) {
		const struct range *r = i < f->sv.n ? &f->sv.v[i] : NULL;
		off_t gap = r && r->off < end ? r->off : end;

		if (r && r->off <= off) {
			off = r->end;
			i++;
			continue;
		}
		err = save_gap(j, f, off, gap);
		if (err)
			return err;
		off = gap;
		i = ranges_find(&f->sv, off);
	}
	return 0;
}

#define OFF_MAX INT64_MAX

/* Note [off, end) as zeros in the durable content. */
static int zero_add(struct pc_file *f, off_t off, off_t end)
{
	return ranges_add(&f->zero, off, end);
}

/* Note [off, end) as written since the failed fsync. */
static int post_add(struct pc_file *f, off_t off, off_t end)
{
	return ranges_add(&f->post, off, end);
}

/* Note [off, end) as changed since the last sync (logged if it fails:
 * the report is then short, the cut is not affected). */
static void dirty_add(struct pc_journal *j, struct pc_file *f, off_t off,
		      off_t end)
{
	if (ranges_add(&f->dirty, off, end))
		cfs_error(j->fs, "power cut journal: out of memory; the "
				 "unsynced ranges of a file are incomplete");
}

int pc_write(struct cfs *fs, int fd, ino_t ino, dev_t dev, off_t off,
	     size_t len)
{
	struct pc_journal *j = fs->pc;
	struct pc_file *f;
	int err;

	if (!j)
		return 0;
	j->hint_ino = ino;
	j->hint_dev = dev;
	f = file_get(j, fd, &err);
	if (!f)
		return err;
	j->cur = f; /* its record's event: pc_recorded() */
	dirty_add(j, f, off, off + (off_t)len);
	if (!j->undo)
		return 0;
	if (f->failed && len) {
		err = post_add(f, off, off + (off_t)len);
		if (err)
			return err;
		if (off + (off_t)len > f->post_end)
			f->post_end = off + (off_t)len;
	}
	return save(j, f, off, off + (off_t)len);
}

/* The size of the file at fd, or -1. */
static off_t size_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) < 0 ? -1 : st.st_size;
}

int pc_truncate(struct cfs *fs, int fd, off_t size)
{
	struct pc_journal *j = fs->pc;
	struct pc_file *f;
	off_t cur;
	int err;

	if (!j)
		return 0;
	f = file_get(j, fd, &err);
	if (!f)
		return err;
	cur = size_of(fd);
	if (cur >= 0)
		dirty_add(j, f, size < cur ? size : cur,
			  size < cur ? cur : size);
	if (!j->undo)
		return 0;
	if (f->failed) {
		/* Every byte from size on is the truncate's now. */
		err = post_add(f, size, OFF_MAX);
		if (err)
			return err;
		f->post_trunc = true;
	}
	if (size >= f->low)
		return 0;
	err = save(j, f, size, f->low);
	if (!err)
		f->low = size;
	return err;
}

int pc_fallocate(struct cfs *fs, int fd, int mode, off_t off, off_t len)
{
	struct pc_journal *j = fs->pc;
	struct pc_file *f;
	off_t cur;
	int err;

	if (!j)
		return 0;
	f = file_get(j, fd, &err);
	if (!f)
		return err;
	j->cur = f; /* a collapse or insert: pc_recorded() */
	f->inexact |= f->failed;
	if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) {
		/* Everything from off moves. */
		cur = size_of(fd);
		dirty_add(j, f, off, (cur > off ? cur : off) + len);
		err = j->undo ? save(j, f, off, f->low) : 0;
		if (!err && off < f->low)
			f->low = off;
		return err;
	}
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		dirty_add(j, f, off, off + len);
		return j->undo ? save(j, f, off, off + len) : 0;
	}
	/* allocation only: no byte changes, the size is cut back */
	if (!(mode & FALLOC_FL_KEEP_SIZE)) {
		cur = size_of(fd);
		if (cur >= 0 && off + len > cur)
			dirty_add(j, f, cur, off + len);
	}
	return 0;
}

/* A new PK_SIZE op for the regular file at fd (*fp), or NULL (not
 * journalled, not a regular file, out of memory: logged). */
static struct pc_op *size_op(struct cfs *fs, int fd, struct pc_file **fp)
{
	struct pc_journal *j = fs->pc;
	struct pc_file *f;
	struct pc_op *op;
	int err;

	if (!j)
		return NULL;
	f = file_get(j, fd, &err);
	if (!f)
		return NULL;
	op = op_new(j, PK_SIZE, -1, NULL);
	if (!op) {
		cfs_error(fs, "power cut journal: out of memory");
		pc_file_whole(f);
		return NULL;
	}
	*fp = f;
	op->ino = f->ino;
	op->dev = f->dev;
	op->gen = f->gen;
	return op;
}

void pc_resized(struct cfs *fs, int fd, off_t size, bool at_least)
{
	struct pc_file *f;
	struct pc_op *op = size_op(fs, fd, &f);

	if (op) {
		op->size = size;
		op->at_least = at_least;
		pc_event_size(fs->pc, f,
			      (struct pc_event){
				  .kind = at_least ? PE_EXTEND : PE_TRUNC,
				  .seq = op->before,
				  .off = size,
			      });
	}
}

void pc_zeroed(struct cfs *fs, int fd, off_t off, off_t len)
{
	struct pc_file *f;
	struct pc_op *op = len > 0 ? size_op(fs, fd, &f) : NULL;

	if (op) {
		op->at_least = true; /* no size of its own */
		op->zoff = off;
		op->zend = off + len;
		pc_event_size(fs->pc, f,
			      (struct pc_event){
				  .kind = PE_ZERO,
				  .seq = op->before,
				  .off = off,
				  .len = len,
			      });
	}
}

/* ---- a failed fsync ---------------------------------------------------- */

/* Put the parts of [a, b) outside f->post into nv: saved bytes at pos
 * (for a), or zeros when pos < 0. */
static int push_outside(struct pc_file *f, struct ranges *nv, off_t a, off_t b,
			off_t pos)
{
	size_t i = ranges_find(&f->post, a);
	off_t start = a;
	int err;

	while (a < b) {
		const struct range *p = i < f->post.n ? &f->post.v[i] : NULL;
		off_t end = p && p->off < b ? p->off : b;

		if (p && p->off <= a) {
			a = p->end;
			i++;
			continue;
		}
		err = ranges_put(nv, a, end, pos >= 0 ? pos + (a - start) : -1);
		if (err)
			return err;
		a = end;
	}
	return 0;
}

/* Give f the saves nv (positions in its current data file), copied into
 * a new data file holding only them.  0 or -errno. */
static int data_compact(struct pc_journal *j, struct pc_file *f,
			struct ranges *nv)
{
	int old = f->sfd, err = 0;
	uint64_t oname = f->data;
	char dn[32];

	f->sfd = -1;
	for (size_t i = 0; i < nv->n && !err; i++) {
		struct range *r = &nv->v[i];
		off_t at;
		ssize_t n;

		if (r->pos < 0)
			continue;
		err = data_open(j, f);
		if (err)
			break;
		at = f->send;
		n = data_copy(f, old, r->pos, r->end - r->off);
		if (n < r->end - r->off)
			err = n < 0 ? (int)n : -EIO;
		r->pos = at;
	}
	if (old >= 0) {
		close(old);
		data_name(dn, oname);
		unlinkat(j->scratch, dn, 0);
	}
	return err;
}

/*
 * fsync succeeded after a failed one: the writes before the failure stay
 * lost (Linux marked their pages clean), those after it are durable now.
 * The new durable content is the old one with the later writes on top:
 * keep the saves outside the later writes, zeros where the old content
 * had none.  The file stays in this mode (every later sync rebases again,
 * lost bytes stay lost until overwritten) until nothing is left to undo.
 * Returns 1 when f has nothing left to undo, 0, or -errno (then the
 * caller forgets f: everything durable).
 */
static int rebase(struct pc_journal *j, struct pc_file *f)
{
	struct ranges nv = {0};
	off_t tsize = f->durable;
	struct stat st;
	int err = 0;

	if (fstat(f->fd, &st) < 0)
		return -errno;
	ranges_norm(&f->post);
	/* After a truncate, the size is the ops' since the failure. */
	if (f->post_trunc)
		tsize = st.st_size;
	else if (f->post_end > tsize)
		tsize = f->post_end;
	for (size_t i = 0; i < f->sv.n && !err; i++) {
		const struct range *s = &f->sv.v[i];
		off_t end = s->end < f->dlow ? s->end : f->dlow;

		if (s->off < end)
			err = push_outside(f, &nv, s->off, end, s->pos);
	}
	if (!err && f->dlow < tsize)
		err = push_outside(f, &nv, f->dlow, tsize, -1);
	if (!err)
		err = data_compact(j, f, &nv);
	if (err) {
		ranges_release(&nv);
		return err;
	}
	ranges_release(&f->sv);
	f->sv = nv;
	f->durable = f->dlow = tsize;
	f->low = st.st_size < tsize ? st.st_size : tsize;
	/* Size ops journalled so far are in the new durable content (but
	 * not committed punches and zero ranges: inexact, logged). */
	f->inexact |= f->zero.n > 0;
	ranges_release(&f->zero);
	f->gen = ++j->next_gen;
	ranges_release(&f->post);
	f->post_end = 0;
	f->post_trunc = false;
	return !f->sv.n && st.st_size == tsize;
}

void pc_sync_failed(struct cfs *fs, int fd)
{
	struct pc_journal *j = fs->pc;
	struct pc_file *f;
	struct stat st;

	if (!j || fstat(fd, &st) < 0)
		return;
	/* a partial cut keeps all or none of its data until the next cut */
	if (j->undo && map_put(&j->failed, st.st_ino, st.st_dev, j))
		cfs_error(fs, "power cut journal: out of memory; a partial "
			      "power cut will not follow `crashfs replay`");
	f = map_get(&j->files, st.st_ino, st.st_dev);
	if (!f)
		return; /* nothing unsynced: nothing lost */
	f->failed = true;
	f->inexact = false;
	ranges_release(&f->post);
	f->post_end = 0;
	f->post_trunc = false;
}

/* f is durable now, as an fsync of it leaves it. */
static void file_synced(struct cfs *fs, struct pc_journal *j, struct pc_file *f)
{
	if (j->undo && f->failed && !f->inexact && rebase(j, f) == 0) {
		/* what changed since is what the next cut undoes */
		ranges_release(&f->dirty);
		return;
	}
	if (j->undo && f->failed && f->inexact)
		cfs_error(fs, "power cut journal: a file synced after a failed "
			      "fsync had its size changed since; all of it is "
			      "durable now");
	/* Its saved bytes go with it: the scratch holds only what a cut
	 * could still need. */
	map_del(&j->files, f->ino, f->dev);
	file_free(j, f);
}

void pc_synced(struct cfs *fs, int fd)
{
	struct pc_journal *j = fs->pc;
	struct pc_file *f;
	struct stat st;

	if (!j || fstat(fd, &st) < 0)
		return;
	f = map_get(&j->files, st.st_ino, st.st_dev);
	if (f)
		file_synced(fs, j, f);
}

/* ---- entries ------------------------------------------------------------ */

static struct pc_dir *dir_get(struct pc_journal *j, int pfd)
{
	char proc[32];
	struct pc_dir *d;
	struct stat st;

	if (fstat(pfd, &st) < 0)
		return NULL;
	d = map_get(&j->dirs, st.st_ino, st.st_dev);
	if (d) {
		d->refs++;
		return d;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	/* Only an undo journal holds the directory (tracking names it by
	 * its inode: no fd per directory on a plain mount). */
	snprintf(proc, sizeof(proc), PROC_FD, pfd);
	d->fd = j->undo ? open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	d->ino = st.st_ino;
	d->dev = st.st_dev;
	d->refs = 1;
	if ((j->undo && d->fd < 0) ||
	    map_put(&j->dirs, st.st_ino, st.st_dev, d)) {
		if (d->fd >= 0)
			close(d->fd);
		free(d);
		return NULL;
	}
	return d;
}

/* A new journal entry (zeroed but for kind), NULL if out of memory. */
static struct pc_op *op_new(struct pc_journal *j, enum pc_kind kind, int pfd,
			    const char *name)
{
	struct pc_op *op;

	if (j->nops == j->capops) {
		size_t cap = j->capops ? 2 * j->capops : 64;

		op = realloc(j->ops, cap * sizeof(*op));
		if (!op)
			return NULL;
		j->ops = op;
		j->capops = cap;
	}
	op = &j->ops[j->nops];
	*op = (struct pc_op){.kind = kind, .afd = -1};
	/* The op's record is appended after this: a seeded cut names the
	 * metadata it keeps by record seq (core/persist.h). */
	op->before = j->fs->tw ? trace_writer_count(j->fs->tw) : 0;
	if (!name) {
		j->nops++;
		return op;
	}
	op->dir = dir_get(j, pfd);
	op->name = strdup(name);
	if (!op->dir || !op->name) {
		op_free(j, op);
		return NULL;
	}
	j->nops++;
	return op;
}

/* Count n more (or fewer) scratch links on (ino, dev). */
static void kept_add(struct pc_journal *j, ino_t ino, dev_t dev, long n)
{
	uintptr_t old, v;

	pthread_mutex_lock(&j->klock);
	old = (uintptr_t)map_get(&j->kept, ino, dev);
	v = old + (uintptr_t)n;
	if (!v) {
		if (old && map_del(&j->kept, ino, dev))
			j->nkept--;
	} else if (!map_put(&j->kept, ino, dev, (void *)v) && !old) {
		j->nkept++;
	}
	pthread_mutex_unlock(&j->klock);
}

static void kept_clear(struct pc_journal *j)
{
	pthread_mutex_lock(&j->klock);
	map_release(&j->kept);
	j->nkept = 0;
	pthread_mutex_unlock(&j->klock);
}

void pc_fix_nlink(struct cfs *fs, struct stat *st)
{
	struct pc_journal *j = fs->pc;
	uintptr_t v;

	if (!j || !__atomic_load_n(&j->nkept, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&j->klock);
	v = (uintptr_t)map_get(&j->kept, st->st_ino, st->st_dev);
	pthread_mutex_unlock(&j->klock);
	st->st_nlink = v < st->st_nlink ? st->st_nlink - v : 0;
}

static void keep_name(char buf[32], uint64_t keep)
{
	snprintf(buf, 32, "k%llu", (unsigned long long)keep);
}

void pc_added(struct cfs *fs, int pfd, const char *name)
{
	struct pc_journal *j = fs->pc;
	struct stat st;

	/* A new file may reuse the inode of one whose fsync failed: it is
	 * another file (the engine tells them apart by trace id). */
	if (j && j->failed.len &&
	    fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_nlink == 1) /* not a link to a file there is */
		map_del(&j->failed, st.st_ino, st.st_dev);
	if (j && !op_new(j, PK_ADDED, pfd, name))
		cfs_error(fs,
			  "power cut journal: out of memory; a later "
			  "power cut will keep '%s'",
			  name);
}

/* Is pfd/name an empty directory (and nothing else)? */
static bool empty_dir_at(int pfd, const char *name)
{
	struct dirent *d;
	bool empty = true;
	DIR *dir;
	int fd;

	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return false;
	}
	while (empty && (d = readdir(dir)))
		empty = !strcmp(d->d_name, ".") || !strcmp(d->d_name, "..");
	closedir(dir);
	return empty;
}

/* Move or link pfd/name into the scratch directory as k<N>; returns N or
 * 0 with *err set. */
static uint64_t keep_entry(struct pc_journal *j, int pfd, const char *name,
			   bool dir, struct stat *st, int *err)
{
	char kn[32];
	int res;

	if (fstatat(pfd, name, st, AT_SYMLINK_NOFOLLOW) < 0) {
		*err = -errno;
		return 0;
	}
	keep_name(kn, j->next_keep);
	if (dir)
		res = renameat(pfd, name, j->scratch, kn);
	else
		res = linkat(pfd, name, j->scratch, kn, 0);
	if (res < 0) {
		*err = -errno;
		return 0;
	}
	/* A kept directory reads as removed (nlink 0), a kept file has
	 * one link fewer than the scratch gives it. */
	kept_add(j, st->st_ino, st->st_dev, dir ? (long)st->st_nlink : 1);
	*err = 0;
	return j->next_keep++;
}

/* An unlink or rmdir without --powercut: carried out, and noted as
 * pending (nothing kept).  0 or -errno. */
static int track_unlink(struct cfs *fs, struct pc_journal *j, int pfd,
			const char *name, bool dir)
{
	struct pc_op *op;

	if (unlinkat(pfd, name, dir ? AT_REMOVEDIR : 0) < 0)
		return -errno;
	op = op_new(j, PK_REMOVED, pfd, name);
	if (op)
		op->is_dir = dir;
	else
		cfs_error(fs, "pending-ops tracker: out of memory; the "
			      "unsynced report misses an unlink");
	return 0;
}

int pc_unlink(struct cfs *fs, int pfd, const char *name, bool dir)
{
	struct pc_journal *j = fs->pc;
	struct pc_op *op;
	struct stat st;
	char kn[32];
	uint64_t keep;
	int err;

	if (j && !j->undo)
		return track_unlink(fs, j, pfd, name, dir);
	if (!j || (dir && !empty_dir_at(pfd, name)))
		goto out_plain; /* the real call gives the right error */
	keep = keep_entry(j, pfd, name, dir, &st, &err);
	if (!keep) {
		cfs_error(fs,
			  "power cut journal: cannot keep '%s' (%s); a later "
			  "power cut will not restore it",
			  name, strerror(-err));
		goto out_plain;
	}
	if (!dir && unlinkat(pfd, name, 0) < 0) {
		err = -errno;
		keep_name(kn, keep);
		unlinkat(j->scratch, kn, 0);
		kept_add(j, st.st_ino, st.st_dev, -1);
		return err;
	}
	op = op_new(j, PK_REMOVED, pfd, name);
	if (op) {
		op->is_dir = dir;
		op->keep = keep;
		op->keep_dir = dir;
		op->kino = st.st_ino;
		op->kdev = st.st_dev;
	} else {
		cfs_error(fs,
			  "power cut journal: out of memory; a later "
			  "power cut will not restore '%s'",
			  name);
	}
	return 1;

out_plain:
	return unlinkat(pfd, name, dir ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
}

int pc_rename(struct cfs *fs, int pfd, const char *name, int npfd,
	      const char *newname, unsigned int flags)
{
	struct pc_journal *j = fs->pc;
	struct pc_op *op;
	struct stat src, victim, kst = {0};
	uint64_t keep = 0;
	bool vdir = false;
	char kn[32];
	int err;

	if (!j)
		goto out_plain;
	if (!j->undo) {
		/* tracking only: carried out, noted, nothing kept */
		if (renameat2(pfd, name, npfd, newname, flags) < 0)
			return -errno;
		goto out_journal;
	}
	if (fstatat(pfd, name, &src, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!(flags & (RENAME_EXCHANGE | RENAME_NOREPLACE)) &&
	    fstatat(npfd, newname, &victim, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (victim.st_ino != src.st_ino || victim.st_dev != src.st_dev)) {
		vdir = S_ISDIR(victim.st_mode);
		/* A directory victim must be an empty directory replaced by
		 * a directory: otherwise the real call gives the error. */
		if (vdir &&
		    (!S_ISDIR(src.st_mode) || !empty_dir_at(npfd, newname)))
			goto out_plain;
		if (!vdir && S_ISDIR(src.st_mode))
			goto out_plain;
		keep = keep_entry(j, npfd, newname, vdir, &kst, &err);
		if (!keep)
			return err;
	}
	if (renameat2(pfd, name, npfd, newname, flags) < 0) {
		err = -errno;
		if (keep) {
			keep_name(kn, keep);
			if (vdir)
				renameat(j->scratch, kn, npfd, newname);
			else
				unlinkat(j->scratch, kn, 0);
			kept_add(j, kst.st_ino, kst.st_dev,
				 vdir ? -(long)kst.st_nlink : -1);
		}
		return err;
	}
out_journal:
	op = op_new(j, PK_RENAMED, pfd, name);
	if (op) {
		op->keep = keep;
		op->keep_dir = vdir;
		op->kino = kst.st_ino;
		op->kdev = kst.st_dev;
		op->flags = flags;
		op->dir2 = dir_get(j, npfd);
		op->name2 = strdup(newname);
		if (!op->dir2 || !op->name2) {
			j->nops--;
			op_free(j, op);
			op = NULL;
		}
	}
	if (!op)
		cfs_error(fs,
			  "power cut journal: out of memory; a later "
			  "power cut will not undo a rename of '%s'",
			  name);
	return keep ? 1 : 0;

out_plain:
	return renameat2(pfd, name, npfd, newname, flags) < 0 ? -errno : 0;
}

/* op's kept entry is gone from the scratch directory. */
static void kept_release(struct pc_journal *j, struct pc_op *op)
{
	if (op->keep_dir) {
		/* Whatever count keep_entry() gave it. */
		pthread_mutex_lock(&j->klock);
		if (map_del(&j->kept, op->kino, op->kdev))
			j->nkept--;
		pthread_mutex_unlock(&j->klock);
		return;
	}
	kept_add(j, op->kino, op->kdev, -1);
}

void pc_op_commit(struct cfs *fs, struct pc_journal *j, struct pc_op *op)
{
	struct pc_file *f;
	struct stat st;
	char kn[32];

	if (op->kind == PK_ATTR && op->what == PC_ATTR_TIMES) {
		/* Times set after the file became dirty stay as they are. */
		f = map_get(&j->files, op->ino, op->dev);
		if (f && op->before >= f->before)
			f->times_kept = true;
	}
	if (op->kind == PK_SIZE) {
		/* The durable content, cut or extended with zeros. */
		f = map_get(&j->files, op->ino, op->dev);
		if (f && f->gen == op->gen &&
		    (!op->at_least || op->size > f->durable)) {
			f->durable = op->size;
			if (f->dlow > op->size)
				f->dlow = op->size;
		}
		if (f && f->gen == op->gen && op->zend > op->zoff &&
		    zero_add(f, op->zoff, op->zend) < 0)
			cfs_error(fs,
				  "power cut journal: out of memory; a "
				  "committed punch-hole will not be undone");
	}
	if (op->keep) {
		keep_name(kn, op->keep);
		if (op->keep_dir) {
			int fd = openat(j->scratch, kn,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					    O_CLOEXEC);
			if (fd >= 0) {
				scratch_clear_dir(fd, entry_gone, fs);
				close(fd);
			}
		}
		if (fstatat(j->scratch, kn, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    unlinkat(j->scratch, kn, op->keep_dir ? AT_REMOVEDIR : 0) ==
			0)
			inode_unlinked_locked(fs, &st);
		kept_release(j, op);
	}
	op_free(j, op);
}

static bool in_dir(const struct pc_dir *d, const struct stat *st)
{
	return d && d->ino == st->st_ino && d->dev == st->st_dev;
}

void pc_dir_synced(struct cfs *fs, int fd)
{
	struct pc_journal *j = fs->pc;
	struct stat st;
	size_t upto = 0;

	if (!j || fstat(fd, &st) < 0)
		return;
	for (size_t i = j->nops; i > 0; i--) {
		if (in_dir(j->ops[i - 1].dir, &st) ||
		    in_dir(j->ops[i - 1].dir2, &st)) {
			upto = i;
			break;
		}
	}
	if (!upto)
		return;
	for (size_t i = 0; i < upto; i++)
		pc_op_commit(fs, j, &j->ops[i]);
	memmove(j->ops, j->ops + upto, (j->nops - upto) * sizeof(*j->ops));
	j->nops -= upto;
}

/* ---- the cut ------------------------------------------------------------ */

static void inval_add(struct cfs *fs, struct pc_inval **list, ino_t ino,
		      dev_t dev, const char *name)
{
	struct cfs_inode *in;
	struct pc_inval *v;
	fuse_ino_t node = 0;

	pthread_mutex_lock(&fs->tab);
	in = map_get(&fs->inodes, ino, dev);
	if (in == &fs->root)
		node = FUSE_ROOT_ID;
	else if (in && in->nlookup)
		node = (uintptr_t)in;
	pthread_mutex_unlock(&fs->tab);
	if (!node)
		return;
	v = malloc(sizeof(*v) + strlen(name) + 1);
	if (!v)
		return;
	v->node = node;
	strcpy(v->name, name);
	v->next = *list;
	*list = v;
}

/* Put back the times a utimens changed; a dirty file older than the
 * change gets them back after its data (pc_cut_locked).  0 or -1. */
static int attr_times_undo(struct cfs *fs, struct pc_op *op, const char *proc)
{
	struct pc_file *f = map_get(&fs->pc->files, op->ino, op->dev);

	if (f && op->before < f->before) {
		f->times[0] = op->old.st_atim;
		f->times[1] = op->old.st_mtim;
		f->before = op->before;
	}
	return utimensat(AT_FDCWD, proc,
			 (struct timespec[]){op->old.st_atim, op->old.st_mtim},
			 0);
}

/* Put back the attribute op changed.  0 or -errno. */
static int attr_undo(struct cfs *fs, struct pc_op *op, struct pc_inval **inval)
{
	char proc[32];
	int res = 0;

	snprintf(proc, sizeof(proc), PROC_FD, op->afd);
	inval_add(fs, inval, op->ino, op->dev, "");
	if (op->what == PC_ATTR_MODE)
		res = S_ISLNK(op->old.st_mode)
			  ? 0
			  : chmod(proc, op->old.st_mode & 07777);
	else if (op->what == PC_ATTR_OWNER)
		res = fchownat(op->afd, "", op->old.st_uid, op->old.st_gid,
			       AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	else if (op->what == PC_ATTR_TIMES)
		res = S_ISLNK(op->old.st_mode) ? 0
					       : attr_times_undo(fs, op, proc);
	else if (op->xlen < 0)
		res = removexattr(proc, op->name) < 0 && errno != ENODATA ? -1
									  : 0;
	else
		res = setxattr(proc, op->name, op->xval, (size_t)op->xlen, 0);
	return res < 0 ? -errno : 0;
}

void pc_attr(struct cfs *fs, int fd, int what, const char *xname)
{
	struct pc_journal *j = fs->pc;
	char proc[32];
	struct pc_op *op;

	if (!j)
		return;
	op = op_new(j, PK_ATTR, -1, NULL);
	if (!op)
		goto out_nomem;
	if (!j->undo) {
		/* tracking only: which file, what; no old value */
		op->what = what;
		if (fstat(fd, &op->old) < 0 ||
		    (xname && !(op->name = strdup(xname))))
			goto out_drop;
		op->ino = op->old.st_ino;
		op->dev = op->old.st_dev;
		return;
	}
	snprintf(proc, sizeof(proc), PROC_FD, fd);
	op->afd = open(proc, O_PATH | O_CLOEXEC);
	if (op->afd < 0 ||
	    fstatat(op->afd, "", &op->old, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		goto out_drop;
	op->ino = op->old.st_ino;
	op->dev = op->old.st_dev;
	op->what = what;
	if (what == PC_ATTR_XATTR) {
		ssize_t n;

		op->name = strdup(xname);
		if (!op->name)
			goto out_drop;
		n = getxattr(proc, xname, NULL, 0);
		op->xlen = -1;
		if (n >= 0) {
			op->xval = malloc((size_t)n + 1);
			if (!op->xval)
				goto out_drop;
			op->xlen = getxattr(proc, xname, op->xval, (size_t)n);
			if (op->xlen < 0)
				goto out_drop;
		}
	}
	return;

out_drop:
	j->nops--;
	op_free(j, op);
out_nomem:
	cfs_error(fs, "power cut journal: cannot keep an attribute; a later "
		      "power cut will not restore it");
}

void pc_attr_synced(struct cfs *fs, int fd)
{
	struct pc_journal *j = fs->pc;
	struct stat st;
	size_t n = 0;

	if (!j || fstat(fd, &st) < 0)
		return;
	for (size_t i = 0; i < j->nops; i++) {
		struct pc_op *op = &j->ops[i];

		if (op->kind == PK_ATTR && op->ino == st.st_ino &&
		    op->dev == st.st_dev)
			op_free(j, op);
		else
			j->ops[n++] = *op;
	}
	j->nops = n;
}

/* Undo one entry op (newer ones are undone already).  0 or -errno. */
static int op_undo(struct cfs *fs, struct pc_journal *j, struct pc_op *op,
		   struct pc_inval **inval)
{
	char kn[32];
	int res = 0;

	if (op->kind == PK_SIZE)
		return 0; /* the file's saves undo it */
	if (op->kind == PK_ATTR)
		return attr_undo(fs, op, inval);
	inval_add(fs, inval, op->dir->ino, op->dir->dev, op->name);
	inval_add(fs, inval, op->dir->ino, op->dir->dev, "");
	if (op->dir2) {
		inval_add(fs, inval, op->dir2->ino, op->dir2->dev, op->name2);
		inval_add(fs, inval, op->dir2->ino, op->dir2->dev, "");
	}
	switch (op->kind) {
	case PK_ADDED:
		keep_name(kn, j->next_keep++);
		res = renameat(op->dir->fd, op->name, j->scratch, kn);
		break;
	case PK_REMOVED:
		keep_name(kn, op->keep);
		res = renameat(j->scratch, kn, op->dir->fd, op->name);
		kept_release(j, op);
		op->keep = 0;
		break;
	case PK_RENAMED:
		res = renameat2(op->dir2->fd, op->name2, op->dir->fd, op->name,
				op->flags & RENAME_EXCHANGE);
		if (res == 0 && op->keep) {
			keep_name(kn, op->keep);
			res = renameat(j->scratch, kn, op->dir2->fd, op->name2);
			kept_release(j, op);
			op->keep = 0;
		}
		break;
	case PK_SIZE:
	case PK_ATTR: break;
	}
	return res < 0 ? -errno : 0;
}

int pc_write_zeros(int fd, off_t off, off_t len)
{
	static const char z[65536];

	while (len > 0) {
		size_t n = len < (off_t)sizeof(z) ? (size_t)len : sizeof(z);

		if (pwrite(fd, z, n, off) != (ssize_t)n)
			return errno ? -errno : -EIO;
		off += (off_t)n;
		len -= (off_t)n;
	}
	return 0;
}

int pc_file_restore(struct pc_file *f, bool base)
{
	off_t dlow = base ? f->base : f->dlow;
	char buf[65536];
	int err;

	if (ftruncate(f->fd, dlow) < 0 ||
	    (!base && f->durable != dlow && ftruncate(f->fd, f->durable) < 0))
		return -errno;
	for (size_t i = 0; i < f->sv.n; i++) {
		const struct range *s = &f->sv.v[i];
		/* Durable bytes past dlow are zeros (a committed truncate
		 * cut them). */
		off_t end = s->end < dlow ? s->end : dlow;

		if (s->off >= end)
			continue;
		if (s->pos < 0) {
			err = pc_write_zeros(f->fd, s->off, end - s->off);
			if (err)
				return err;
			continue;
		}
		for (off_t done = 0; done < end - s->off;) {
			size_t n = (size_t)(end - s->off - done) < sizeof(buf)
				       ? (size_t)(end - s->off - done)
				       : sizeof(buf);
			ssize_t r = pread(f->sfd, buf, n, s->pos + done);

			if (r <= 0)
				return r < 0 ? -errno : -EIO;
			if (pwrite(f->fd, buf, (size_t)r, s->off + done) != r)
				return -errno;
			done += r;
		}
	}
	/* Then what committed punches and zero ranges made zeros. */
	ranges_norm(&f->zero);
	for (size_t i = 0; !base && i < f->zero.n; i++) {
		off_t a = f->zero.v[i].off, b = f->zero.v[i].end;

		if (b > dlow)
			b = dlow;
		if (a < b && (err = pc_write_zeros(f->fd, a, b - a)))
			return err;
	}
	return 0;
}

void pc_id_add(char *buf, size_t len, uint64_t id)
{
	size_t n = strlen(buf);

	if (n + 24 < len)
		snprintf(buf + n, len - n, "%s%llu", n ? " " : "",
			 (unsigned long long)id);
	else if (n + 5 < len && strcmp(buf + n - 3, "..."))
		snprintf(buf + n, len - n, " ...");
}

int pc_powercut(struct cfs *fs, struct pc_how *how, struct pc_inval **inval)
{
	struct pc_journal *j = fs->pc;
	bool keep_meta = how->keep_meta && !how->partial;
	struct pc_file *f;
	size_t pos = 0;
	int err = 0, e, tfd = -1;

	*inval = NULL;
	if (!j || !j->undo)
		return -ENOTSUP;
	if (how->partial) {
		/* decided before anything changes: a plan that cannot be
		 * made leaves the tree as it is */
		err = pc_plan(fs, j, how);
		if (err)
			return err;
	}
	__atomic_add_fetch(&fs->epoch, 1, __ATOMIC_RELEASE);
	for (size_t i = 0; keep_meta && i < j->nops; i++) {
		/* Names and attributes stay; sizes are data: undone. */
		if (j->ops[i].kind == PK_SIZE)
			op_free(j, &j->ops[i]);
		else
			pc_op_commit(fs, j, &j->ops[i]);
	}
	if (keep_meta)
		j->nops = 0;
	for (size_t i = j->nops; i > 0; i--) {
		e = op_undo(fs, j, &j->ops[i - 1], inval);
		if (e && !err) {
			err = e;
			cfs_error(fs,
				  "power cut: cannot undo an op on '%s': %s",
				  j->ops[i - 1].name ? j->ops[i - 1].name : "?",
				  strerror(-e));
		}
		op_free(j, &j->ops[i - 1]);
	}
	j->nops = 0;
	/* the data files go after the cut (scratch_reap()) */
	j->reaping = true;
	while ((f = map_next(&j->files, &pos, NULL, NULL))) {
		/* PF_KEEP: its content is what readers saw, nothing to do;
		 * PF_PART: its kept events on its content then */
		e = f->fate == PF_KEEP ? 0
		    : f->fate == PF_PART
			? pc_replay(fs, f, how->spec.meta, &tfd)
			: pc_file_restore(f, false);
		/* Its times as at its last durable point (the restore just
		 * changed its mtime), unless a kept utimens set them since. */
		if (!e && f->fate != PF_KEEP && !f->times_kept && !keep_meta &&
		    futimens(f->fd, f->times) < 0)
			e = -errno;
		if (e && !err) {
			err = e;
			cfs_error(fs, "power cut: cannot restore a file: %s",
				  strerror(-e));
		}
		if (f->fate != PF_KEEP)
			inval_add(fs, inval, f->ino, f->dev, "");
		file_free(j, f);
	}
	if (tfd >= 0)
		close(tfd);
	j->reaping = false;
	map_release(&j->files);
	map_release(&j->failed);
	/* What the undone ops made. */
	e = scratch_empty_cut(j->scratch, entry_gone, fs);
	if (e && !err)
		err = e;
	scratch_reap(j->scratch, j->trash, j->ntrash);
	j->ntrash = 0;
	kept_clear(j);
	j->cuts++;
	return err;
}

void pc_notify(struct cfs *fs, struct pc_inval *inval)
{
	while (inval) {
		struct pc_inval *next = inval->next;

		if (*inval->name)
			fuse_lowlevel_notify_inval_entry(fs->se, inval->node,
							 inval->name,
							 strlen(inval->name));
		else
			fuse_lowlevel_notify_inval_inode(fs->se, inval->node, 0,
							 0);
		free(inval);
		inval = next;
	}
}

int pc_cut_how_locked(struct cfs *fs, struct pc_how *how,
		      struct pc_inval **inval)
{
	struct trace_rec rec = {
	    .type = TR_POWERCUT,
	    .name = how->keep_meta ? "keep-metadata" : "strict",
	};
	struct timespec t0, t1;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rec.result = pc_powercut(fs, how, inval);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (how->partial)
		rec.name = how->name;
	err = order_append(fs, &rec);
	cfs_log("power cut (%s)%s%s in %.3f ms", rec.name,
		rec.result ? ": " : "", rec.result ? strerror(-rec.result) : "",
		(double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	if (how->partial && !rec.result)
		cfs_log("power cut: %zu of %zu pending metadata ops kept; "
			"pending data kept in %llu files (ids: %s), in part in "
			"%llu (ids: %s), dropped in %llu (ids: %s); writes: "
			"%u whole, %u torn, %u size only, %u lost; %llu units "
			"asked for not kept",
			how->ops_kept, how->ops,
			(unsigned long long)how->files_kept,
			*how->kept ? how->kept : "none",
			(unsigned long long)how->files_part,
			*how->part ? how->part : "none",
			(unsigned long long)how->files_dropped,
			*how->dropped ? how->dropped : "none", how->whole,
			how->torn, how->size_only, how->lost,
			(unsigned long long)how->settled);
	return rec.result ? rec.result : err;
}

int pc_cut_locked(struct cfs *fs, bool keep_meta, struct pc_inval **inval)
{
	struct pc_how how = {.keep_meta = keep_meta};

	return pc_cut_how_locked(fs, &how, inval);
}

struct notify_job {
	struct cfs *fs;
	struct pc_inval *inval;
};

static void *notify_thread(void *arg)
{
	struct notify_job *job = arg;

	pc_notify(job->fs, job->inval);
	free(job);
	return NULL;
}

void pc_notify_async(struct cfs *fs, struct pc_inval *inval)
{
	struct notify_job *job;
	pthread_attr_t attr;
	pthread_t t;

	if (!inval)
		return;
	job = malloc(sizeof(*job));
	if (!job)
		goto out_sync;
	*job = (struct notify_job){.fs = fs, .inval = inval};
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, notify_thread, job) == 0) {
		pthread_attr_destroy(&attr);
		return;
	}
	pthread_attr_destroy(&attr);
	free(job);
out_sync:
	/* Leak rather than risk a deadlock: the caches time out anyway. */
	while (inval) {
		struct pc_inval *next = inval->next;

		free(inval);
		inval = next;
	}
}

void pc_stats(struct cfs *fs, struct pc_stats *st)
{
	struct pc_journal *j = fs->pc;
	struct pc_file *f;
	size_t pos = 0;

	memset(st, 0, sizeof(*st));
	if (!j)
		return;
	while ((f = map_next(&j->files, &pos, NULL, NULL))) {
		st->files++;
		st->bytes += ranges_bytes(&f->dirty);
		st->scratch += (uint64_t)f->send;
	}
	st->ops = j->nops;
	st->cuts = j->cuts;
}

/* ---- a sync point ------------------------------------------------------- */

int pc_all_synced(struct cfs *fs)
{
	struct pc_journal *j = fs->pc;
	struct pc_file *f, **files;
	size_t pos = 0, n = 0;

	if (!j)
		return 0;
	/* file_synced() takes files out of the map: collect them first
	 * (a tracking-only journal holds no fd to find them by) */
	files = malloc((j->files.len + 1) * sizeof(*files));
	if (!files)
		return -ENOMEM;
	while ((f = map_next(&j->files, &pos, NULL, NULL)))
		files[n++] = f;
	/* the whole journal commits: entries, sizes, attributes */
	for (size_t i = 0; i < j->nops; i++)
		pc_op_commit(fs, j, &j->ops[i]);
	j->nops = 0;
	/* each file as an fsync leaves it (a failed fsync's writes stay
	 * lost) */
	for (size_t i = 0; i < n; i++)
		file_synced(fs, j, files[i]);
	free(files);
	return 0;
}
