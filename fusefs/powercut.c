/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The undo journal behind `crashfs ctl MNT powercut` (see powercut.h for
 * the method).  Scratch space: TRACE.scratch beside the trace when that is
 * on the backing filesystem, else BACKING/.crashfs-scratch, hidden from
 * the mount; emptied at each cut and removed at unmount.  It holds one file of
 * saved bytes ("data") and the entries removed by non-durable ops, named
 * k<N>.
 */
#include "fusefs/powercut.h"

#include "core/persist.h"
#include "fusefs/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

/* Saved old bytes of a file: [off, off + len) were at pos in "data". */
struct pc_save {
	off_t off;
	size_t len;
	off_t pos;
};

/* A byte range [off, end). */
struct pc_range {
	off_t off, end;
};

/* A file with changes since its last fsync. */
struct pc_file {
	int fd;		       /* O_RDWR on the inode, so it outlives names */
	ino_t ino;	       /* backing st_ino */
	dev_t dev;	       /* backing st_dev */
	off_t durable;	       /* size at the last durable point */
	off_t low;	       /* lowest size since: bytes above were saved */
	uint64_t bytes;	       /* bytes changed since (status) */
	off_t dlow;	       /* durable bytes from here on are zeros */
	uint64_t gen;	       /* names this record in the journal */
	struct pc_save *sv;    /* saves, oldest first */
	size_t nsv, capsv;     /* used, allocated */
	bool failed;	       /* an fsync failed: what it covered is lost */
	bool inexact;	       /* ... and a fallocate followed (not mirrored) */
	struct pc_range *post; /* written since the failed fsync / last sync */
	size_t npost, cappost; /* used, allocated */
	off_t post_end;	       /* end of the furthest write in post */
	bool post_trunc;       /* post holds a truncate (to OFF_MAX) */
	bool unjournalled;     /* a punch/collapse/insert/keep-size
				  fallocate since the last sync */
	bool keep;	       /* seeded cut: its pending data stays */
	struct timespec times[2]; /* atime, mtime when it became dirty */
	uint64_t before;	  /* trace records then (pc_op.before) */
	bool times_kept;	  /* a later utimens stays: keep its times */
	struct pc_range *zero;	  /* committed punch/zero ranges: the */
	size_t nzero, capzero;	  /* durable content has zeros there */
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
	int fd;	       /* O_PATH */
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
	char *path;	    /* the scratch directory */
	bool hidden;	    /* ... is BACKING/PC_SCRATCH, hidden */
	int scratch;	    /* O_RDONLY on the scratch directory */
	int data;	    /* the saved-bytes file */
	off_t data_end;	    /* its length */
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

/* Kernel caches to drop after a cut. */
struct pc_inval {
	struct pc_inval *next;
	fuse_ino_t node; /* a directory (entry) or a file (inode) */
	char name[];	 /* entry name, "" for the inode itself */
};

#define PROC_FD "/proc/self/fd/%d"

/* Remove everything inside the directory at dfd (not dfd itself). */
static int empty_dir(struct cfs *fs, int dfd)
{
	struct dirent *d;
	struct stat st;
	DIR *dir;
	int fd, err = 0;

	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	while ((d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (fstatat(dfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dfd, d->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC);
			if (sub >= 0) {
				empty_dir(fs, sub);
				close(sub);
			}
		}
		if (unlinkat(dfd, d->d_name,
			     S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
			err = -errno;
		else if (fs)
			inode_unlinked_locked(fs, &st);
	}
	closedir(dir);
	return err;
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

/* Make and open j->path with its data file.  0 or -errno. */
static int scratch_open(struct pc_journal *j)
{
	int err;

	if (mkdir(j->path, 0700) < 0 && errno != EEXIST)
		return -errno;
	j->scratch =
	    open(j->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (j->scratch < 0)
		return -errno;
	err = empty_dir(NULL, j->scratch);
	if (err)
		return err;
	j->data = openat(j->scratch, "data",
			 O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	return j->data < 0 ? -errno : 0;
}

/* Can entries move between the backing root and the scratch directory
 * (same filesystem and mount)?  Probed with a hard link. */
static bool scratch_linkable(struct cfs *fs, struct pc_journal *j)
{
	static const char probe[] = ".crashfs-probe";

	if (linkat(j->scratch, "data", fs->mount_fd, probe, 0) < 0)
		return errno != EXDEV;
	unlinkat(fs->mount_fd, probe, 0);
	return true;
}

int pc_init(struct cfs *fs)
{
	struct pc_journal *j = calloc(1, sizeof(*j));
	int err;

	if (!j)
		return -ENOMEM;
	j->fs = fs;
	j->scratch = j->data = -1;
	j->next_keep = 1;
	pthread_mutex_init(&j->klock, NULL);
	j->path = scratch_path(fs, &j->hidden);
	if (!j->path)
		goto out_errno;
	err = scratch_open(j);
	if (!err && !j->hidden && !scratch_linkable(fs, j)) {
		/* Beside the trace is another mount: use the backing root. */
		close(j->data);
		unlinkat(j->scratch, "data", 0);
		close(j->scratch);
		j->data = j->scratch = -1;
		rmdir(j->path);
		free(j->path);
		j->hidden = true;
		if (asprintf(&j->path, "%s/%s", fs->backing, PC_SCRATCH) < 0) {
			j->path = NULL;
			err = -ENOMEM;
		} else {
			err = scratch_open(j);
		}
	}
	if (err)
		goto out_err;
	fs->pc = j;
	return 0;

out_errno:
	err = -errno;
out_err:
	if (j->data >= 0)
		close(j->data);
	if (j->scratch >= 0)
		close(j->scratch);
	free(j->path);
	free(j);
	return err;
}

static void file_free(struct pc_file *f)
{
	close(f->fd);
	free(f->sv);
	free(f->post);
	free(f->zero);
	free(f);
}

static void dir_put(struct pc_journal *j, struct pc_dir *d)
{
	if (!d || --d->refs)
		return;
	map_del(&j->dirs, d->ino, d->dev);
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
		file_free(f);
	map_release(&j->files);
	for (size_t i = 0; i < j->nops; i++)
		op_free(j, &j->ops[i]);
	free(j->ops);
	map_release(&j->dirs);
	map_release(&j->kept);
	close(j->data);
	empty_dir(NULL, j->scratch);
	close(j->scratch);
	rmdir(j->path);
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
	snprintf(proc, sizeof(proc), PROC_FD, fd);
	f->fd = open(proc, O_RDWR | O_CLOEXEC);
	if (f->fd < 0) {
		*err = -errno;
		free(f);
		return NULL;
	}
	f->ino = st.st_ino;
	f->dev = st.st_dev;
	f->gen = ++j->next_gen;
	f->durable = f->low = f->dlow = st.st_size;
	f->times[0] = st.st_atim;
	f->times[1] = st.st_mtim;
	f->before = j->fs->tw ? trace_writer_count(j->fs->tw) : 0;
	*err = map_put(&j->files, st.st_ino, st.st_dev, f);
	if (*err) {
		file_free(f);
		return NULL;
	}
	return f;
}

/* Save f's bytes [off, end) that lie below its low mark. */
static int save(struct pc_journal *j, struct pc_file *f, off_t off, off_t end)
{
	char buf[65536];
	struct pc_save *s;
	off_t pos;

	if (end > f->low)
		end = f->low;
	if (off >= end)
		return 0;
	if (f->nsv) {
		/* Inside the last save: its old bytes are already kept. */
		s = &f->sv[f->nsv - 1];
		if (off >= s->off && end <= s->off + (off_t)s->len)
			return 0;
	}
	if (f->nsv == f->capsv) {
		size_t cap = f->capsv ? 2 * f->capsv : 8;

		s = realloc(f->sv, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		f->sv = s;
		f->capsv = cap;
	}
	s = &f->sv[f->nsv];
	*s = (struct pc_save){.off = off, .len = 0, .pos = j->data_end};
	for (pos = off; pos < end;) {
		size_t n = (size_t)(end - pos) < sizeof(buf)
			       ? (size_t)(end - pos)
			       : sizeof(buf);
		ssize_t r = pread(f->fd, buf, n, pos);

		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		if (pwrite(j->data, buf, (size_t)r, j->data_end) != r)
			return errno ? -errno : -ENOSPC;
		j->data_end += r;
		pos += r;
	}
	s->len = (size_t)(pos - off);
	f->nsv++;
	return 0;
}

#define OFF_MAX INT64_MAX

/* Append [off, end) to the range array *v (*n used, *cap allocated). */
static int range_add(struct pc_range **v, size_t *n, size_t *cap, off_t off,
		     off_t end)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 8;
		struct pc_range *r = realloc(*v, c * sizeof(*r));

		if (!r)
			return -ENOMEM;
		*v = r;
		*cap = c;
	}
	(*v)[(*n)++] = (struct pc_range){off, end};
	return 0;
}

/* Note [off, end) as zeros in the durable content. */
static int zero_add(struct pc_file *f, off_t off, off_t end)
{
	return range_add(&f->zero, &f->nzero, &f->capzero, off, end);
}

/* Note [off, end) as written since the failed fsync. */
static int post_add(struct pc_file *f, off_t off, off_t end)
{
	return range_add(&f->post, &f->npost, &f->cappost, off, end);
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
	f->bytes += len;
	if (f->failed && len) {
		err = post_add(f, off, off + (off_t)len);
		if (err)
			return err;
		if (off + (off_t)len > f->post_end)
			f->post_end = off + (off_t)len;
	}
	return save(j, f, off, off + (off_t)len);
}

int pc_truncate(struct cfs *fs, int fd, off_t size)
{
	struct pc_journal *j = fs->pc;
	struct pc_file *f;
	int err;

	if (!j)
		return 0;
	f = file_get(j, fd, &err);
	if (!f)
		return err;
	f->bytes++;
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
	int err;

	if (!j)
		return 0;
	f = file_get(j, fd, &err);
	if (!f)
		return err;
	f->bytes += (uint64_t)len;
	f->inexact |= f->failed;
	/* Only plain and zero-range allocations join the journal
	 * (pc_resized()); a seeded cut drops the data of the others. */
	f->unjournalled |= (mode & ~FALLOC_FL_ZERO_RANGE) != 0;
	if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) {
		/* Everything from off moves. */
		err = save(j, f, off, f->low);
		if (!err && off < f->low)
			f->low = off;
		return err;
	}
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return save(j, f, off, off + len);
	return 0; /* allocation only: no byte changes, the size is cut back */
}

/* A new PK_SIZE op for the regular file at fd, or NULL (not journalled,
 * not a regular file, out of memory: logged). */
static struct pc_op *size_op(struct cfs *fs, int fd)
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
		return NULL;
	}
	op->ino = f->ino;
	op->dev = f->dev;
	op->gen = f->gen;
	return op;
}

void pc_resized(struct cfs *fs, int fd, off_t size, bool at_least)
{
	struct pc_op *op = size_op(fs, fd);

	if (op) {
		op->size = size;
		op->at_least = at_least;
	}
}

void pc_zeroed(struct cfs *fs, int fd, off_t off, off_t len)
{
	struct pc_op *op = len > 0 ? size_op(fs, fd) : NULL;

	if (op) {
		op->at_least = true; /* no size of its own */
		op->zoff = off;
		op->zend = off + len;
	}
}

/* ---- a failed fsync ---------------------------------------------------- */

static int range_cmp(const void *a, const void *b)
{
	const struct pc_range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Sort and merge f->post. */
static void post_merge(struct pc_file *f)
{
	size_t n = 0;

	qsort(f->post, f->npost, sizeof(*f->post), range_cmp);
	for (size_t i = 0; i < f->npost; i++) {
		if (n && f->post[i].off <= f->post[n - 1].end) {
			if (f->post[i].end > f->post[n - 1].end)
				f->post[n - 1].end = f->post[i].end;
		} else {
			f->post[n++] = f->post[i];
		}
	}
	f->npost = n;
}

/* A growing array of saves. */
struct save_vec {
	struct pc_save *v;
	size_t n, cap;
};

static int vec_push(struct save_vec *sv, off_t off, off_t end, off_t pos)
{
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? 2 * sv->cap : 8;
		struct pc_save *v = realloc(sv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n++] = (struct pc_save){off, (size_t)(end - off), pos};
	return 0;
}

/* Zeros for [off, end) in the data file; their position or -errno. */
static off_t zeros(struct pc_journal *j, off_t off, off_t end)
{
	static const char z[4096];
	off_t pos = j->data_end;

	while (off < end) {
		size_t n = (size_t)(end - off) < sizeof(z) ? (size_t)(end - off)
							   : sizeof(z);
		if (pwrite(j->data, z, n, j->data_end) != (ssize_t)n)
			return errno ? -errno : -ENOSPC;
		j->data_end += (off_t)n;
		off += (off_t)n;
	}
	return pos;
}

/* Push the parts of [a, b) outside f->post (merged): saved bytes at pos
 * (for a), or zeros when pos < 0. */
static int push_outside(struct pc_journal *j, struct pc_file *f,
			struct save_vec *sv, off_t a, off_t b, off_t pos)
{
	off_t start = a;
	int err;

	for (size_t i = 0; i <= f->npost && a < b; i++) {
		off_t end =
		    i < f->npost && f->post[i].off < b ? f->post[i].off : b;

		if (i < f->npost && f->post[i].end <= a)
			continue;
		if (end > a) {
			off_t at =
			    pos >= 0 ? pos + (a - start) : zeros(j, a, end);

			if (at < 0)
				return (int)at;
			err = vec_push(sv, a, end, at);
			if (err)
				return err;
		}
		if (i < f->npost && f->post[i].end > a)
			a = f->post[i].end;
	}
	return 0;
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
	struct save_vec sv = {0};
	off_t tsize = f->durable;
	struct stat st;
	int err = 0;

	if (fstat(f->fd, &st) < 0)
		return -errno;
	post_merge(f);
	/* After a truncate, the size is the ops' since the failure. */
	if (f->post_trunc)
		tsize = st.st_size;
	else if (f->post_end > tsize)
		tsize = f->post_end;
	for (size_t i = 0; i < f->nsv && !err; i++) {
		struct pc_save *s = &f->sv[i];
		off_t end = s->off + (off_t)s->len;

		if (end > f->dlow)
			end = f->dlow;
		if (s->off < end)
			err = push_outside(j, f, &sv, s->off, end, s->pos);
	}
	if (!err && f->dlow < tsize)
		err = push_outside(j, f, &sv, f->dlow, tsize, -1);
	if (err) {
		free(sv.v);
		return err;
	}
	free(f->sv);
	f->sv = sv.v;
	f->nsv = sv.n;
	f->capsv = sv.cap;
	f->durable = f->dlow = tsize;
	f->low = st.st_size < tsize ? st.st_size : tsize;
	/* Size ops journalled so far are in the new durable content (but
	 * not committed punches and zero ranges: inexact, logged). */
	f->inexact |= f->nzero > 0;
	f->nzero = 0;
	f->gen = ++j->next_gen;
	f->npost = 0;
	f->post_end = 0;
	f->post_trunc = false;
	return !f->nsv && st.st_size == tsize;
}

void pc_sync_failed(struct cfs *fs, int fd)
{
	struct pc_journal *j = fs->pc;
	struct pc_file *f;
	struct stat st;

	if (!j || fstat(fd, &st) < 0)
		return;
	f = map_get(&j->files, st.st_ino, st.st_dev);
	if (!f)
		return; /* nothing unsynced: nothing lost */
	f->failed = true;
	f->inexact = false;
	f->npost = 0;
	f->post_end = 0;
	f->post_trunc = false;
}

void pc_synced(struct cfs *fs, int fd)
{
	struct pc_journal *j = fs->pc;
	struct pc_file *f;
	struct stat st;

	if (!j || fstat(fd, &st) < 0)
		return;
	f = map_get(&j->files, st.st_ino, st.st_dev);
	if (f && f->failed && !f->inexact && rebase(j, f) == 0)
		return;
	if (f && f->failed && f->inexact)
		cfs_error(fs, "power cut journal: a file synced after a failed "
			      "fsync had its size changed since; all of it is "
			      "durable now");
	f = map_del(&j->files, st.st_ino, st.st_dev);
	if (f)
		file_free(f);
	if (!j->files.len && j->data_end) {
		/* Nothing refers to the saved bytes any more. */
		if (ftruncate(j->data, 0) == 0)
			j->data_end = 0;
	}
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
	snprintf(proc, sizeof(proc), PROC_FD, pfd);
	d->fd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
	d->ino = st.st_ino;
	d->dev = st.st_dev;
	d->refs = 1;
	if (d->fd < 0 || map_put(&j->dirs, st.st_ino, st.st_dev, d)) {
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

int pc_unlink(struct cfs *fs, int pfd, const char *name, bool dir)
{
	struct pc_journal *j = fs->pc;
	struct pc_op *op;
	struct stat st;
	char kn[32];
	uint64_t keep;
	int err;

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

/* Forget what op kept: it is durable now. */
static void op_commit(struct cfs *fs, struct pc_journal *j, struct pc_op *op)
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
				empty_dir(fs, fd);
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
		op_commit(fs, j, &j->ops[i]);
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

/* Cut f back to its durable size and content.  0 or -errno. */
static int file_undo(struct pc_journal *j, struct pc_file *f)
{
	char buf[65536];

	if (ftruncate(f->fd, f->dlow) < 0 || ftruncate(f->fd, f->durable) < 0)
		return -errno;
	for (size_t i = f->nsv; i > 0; i--) {
		struct pc_save *s = &f->sv[i - 1];
		size_t len = s->len;

		/* Durable bytes past dlow are zeros (a committed truncate
		 * cut them). */
		if (s->off >= f->dlow)
			continue;
		if (s->off + (off_t)len > f->dlow)
			len = (size_t)(f->dlow - s->off);
		for (size_t done = 0; done < len;) {
			size_t n =
			    len - done < sizeof(buf) ? len - done : sizeof(buf);
			ssize_t r =
			    pread(j->data, buf, n, s->pos + (off_t)done);

			if (r <= 0)
				return r < 0 ? -errno : -EIO;
			if (pwrite(f->fd, buf, (size_t)r,
				   s->off + (off_t)done) != r)
				return -errno;
			done += (size_t)r;
		}
	}
	/* Then what committed punches and zero ranges made zeros. */
	memset(buf, 0, sizeof(buf));
	for (size_t i = 0; i < f->nzero; i++) {
		off_t a = f->zero[i].off, b = f->zero[i].end;

		if (b > f->dlow)
			b = f->dlow;
		while (a < b) {
			size_t n = b - a < (off_t)sizeof(buf) ? (size_t)(b - a)
							      : sizeof(buf);

			if (pwrite(f->fd, buf, n, a) != (ssize_t)n)
				return -errno;
			a += (off_t)n;
		}
	}
	return 0;
}

/* Append " ID" to a list of ids, "..." once it is full. */
static void id_add(char *buf, size_t len, uint64_t id)
{
	size_t n = strlen(buf);

	if (n + 24 < len)
		snprintf(buf + n, len - n, "%s%llu", n ? " " : "",
			 (unsigned long long)id);
	else if (n + 5 < len && strcmp(buf + n - 3, "..."))
		snprintf(buf + n, len - n, " ...");
}

/*
 * A seeded cut's choice (core/persist.h): commit a random prefix of the
 * journal, and mark the files that keep their pending data.  The files'
 * fates are drawn before the commit, while the journal still names the
 * size ops it drops.
 */
static void seeded_choice(struct cfs *fs, struct pc_journal *j,
			  struct pc_how *how)
{
	size_t c = (size_t)persist_cut_prefix(how->seed, j->nops), pos = 0;
	struct pc_file *f;

	/* The journal ops of one request stay together. */
	while (c > 0 && c < j->nops && j->ops[c - 1].before == j->ops[c].before)
		c--;
	how->meta = c < j->nops ? j->ops[c].before
		    : fs->tw	? trace_writer_count(fs->tw)
				: 0;
	how->ops_kept = c;
	how->ops = j->nops;
	while ((f = map_next(&j->files, &pos, NULL, NULL))) {
		struct cfs_inode *in;

		pthread_mutex_lock(&fs->tab);
		in = map_get(&fs->inodes, f->ino, f->dev);
		f->keep = in && !f->unjournalled &&
			  persist_cut_keeps(how->seed, in->id);
		for (size_t i = c; f->keep && i < j->nops; i++)
			if (j->ops[i].kind == PK_SIZE &&
			    j->ops[i].ino == f->ino &&
			    j->ops[i].dev == f->dev && j->ops[i].gen == f->gen)
				f->keep = false;
		if (in)
			id_add(f->keep ? how->kept : how->dropped,
			       sizeof(how->kept), in->id);
		pthread_mutex_unlock(&fs->tab);
		if (f->keep)
			how->files_kept++;
		else
			how->files_dropped++;
	}
	for (size_t i = 0; i < c; i++)
		op_commit(fs, j, &j->ops[i]);
	memmove(j->ops, j->ops + c, (j->nops - c) * sizeof(*j->ops));
	j->nops -= c;
}

int pc_powercut(struct cfs *fs, struct pc_how *how, struct pc_inval **inval)
{
	struct pc_journal *j = fs->pc;
	bool keep_meta = how->keep_meta;
	struct pc_file *f;
	size_t pos = 0;
	int err = 0, e;

	*inval = NULL;
	if (!j)
		return -ENOTSUP;
	__atomic_add_fetch(&fs->epoch, 1, __ATOMIC_RELEASE);
	if (how->seeded)
		seeded_choice(fs, j, how);
	for (size_t i = 0; keep_meta && i < j->nops; i++) {
		/* Names and attributes stay; sizes are data: undone. */
		if (j->ops[i].kind == PK_SIZE)
			op_free(j, &j->ops[i]);
		else
			op_commit(fs, j, &j->ops[i]);
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
	while ((f = map_next(&j->files, &pos, NULL, NULL))) {
		/* A kept file's content is what readers saw: nothing to do. */
		e = f->keep ? 0 : file_undo(j, f);
		/* Its times as at its last durable point (the restore just
		 * changed its mtime), unless a kept utimens set them since. */
		if (!e && !f->keep && !f->times_kept && !keep_meta &&
		    futimens(f->fd, f->times) < 0)
			e = -errno;
		if (e && !err) {
			err = e;
			cfs_error(fs, "power cut: cannot restore a file: %s",
				  strerror(-e));
		}
		if (!f->keep)
			inval_add(fs, inval, f->ino, f->dev, "");
		file_free(f);
	}
	map_release(&j->files);
	/* What the undone ops made, and what the data file held. */
	close(j->data);
	empty_dir(fs, j->scratch);
	kept_clear(j);
	j->data = openat(j->scratch, "data",
			 O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	j->data_end = 0;
	if (j->data < 0 && !err)
		err = -errno;
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
	char name[96];
	struct trace_rec rec = {
	    .type = TR_POWERCUT,
	    .name = how->keep_meta ? "keep-metadata" : "strict",
	};
	int err;

	rec.result = pc_powercut(fs, how, inval);
	if (how->seeded) {
		snprintf(name, sizeof(name), PERSIST_CUT_FMT, how->seed,
			 how->meta);
		rec.name = name;
	}
	err = order_append(fs, &rec);
	cfs_log("power cut (%s)%s%s", rec.name, rec.result ? ": " : "",
		rec.result ? strerror(-rec.result) : "");
	if (how->seeded)
		cfs_log("power cut: %zu of %zu pending metadata ops kept; "
			"pending data kept in %llu files (ids: %s), dropped in "
			"%llu (ids: %s)",
			how->ops_kept, how->ops,
			(unsigned long long)how->files_kept,
			*how->kept ? how->kept : "none",
			(unsigned long long)how->files_dropped,
			*how->dropped ? how->dropped : "none");
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
		st->bytes += f->bytes;
	}
	st->ops = j->nops;
	st->scratch = (uint64_t)j->data_end;
	st->cuts = j->cuts;
}

/* ---- a sync point ------------------------------------------------------- */

int pc_all_synced(struct cfs *fs)
{
	struct pc_journal *j = fs->pc;
	struct pc_file *f;
	size_t pos = 0, n = 0;
	int *fds;

	if (!j)
		return 0;
	/* pc_synced() takes files out of the map: collect them first */
	fds = malloc((j->files.len + 1) * sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	while ((f = map_next(&j->files, &pos, NULL, NULL)))
		fds[n++] = f->fd;
	/* the whole journal commits: entries, sizes, attributes */
	for (size_t i = 0; i < j->nops; i++)
		op_commit(fs, j, &j->ops[i]);
	j->nops = 0;
	/* each file as an fsync leaves it (a failed fsync's writes stay
	 * lost); an fd is closed only by its own pc_synced() */
	for (size_t i = 0; i < n; i++)
		pc_synced(fs, fds[i]);
	free(fds);
	return 0;
}
