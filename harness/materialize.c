/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Building a model's tree as a real directory, incrementally, and
 * comparing one with a model.  See materialize.h.
 *
 * The materializer mirrors the output directory in a tree of records
 * (struct drec), one per entry it created.  A sync walks the model's tree
 * and the records together, one directory descriptor at a time: an entry
 * whose record has the same type, file and content hash is left alone;
 * any other is removed and made again; records the walk did not meet are
 * removed from disk at the end of their directory.
 *
 * Watching for changes made by others: after materialize_watch(), every
 * entry the materializer creates, and the output directory, gets an
 * inotify watch (wd -> drec
 * in the byid map; a hard-linked file's names share one watch).  A sync
 * ends by reading away the events of its own work, so whatever is queued
 * at the next materialize_reclaim() was done by someone else.  A watch on
 * a directory reports what happens to the names in it (created, removed,
 * renamed, a child changed through that name); a watch on the entry
 * itself reports a change made through any name, e.g. a hard link the
 * checker made elsewhere.  Opening a file for writing is counted as a
 * change when it is closed (IN_CLOSE_WRITE): writes through a shared
 * mapping raise no other event.
 */
#include "harness/materialize.h"
#include "core/map.h"
#include "harness/fcopy.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <xxhash.h>

struct drec {
	char *name;		  /* owned */
	uint32_t mode;		  /* type and permission bits written */
	const struct mnode *node; /* the model file it holds */
	uint64_t hash;		  /* model_hash() when written (not dirs) */
	uint64_t epoch;		  /* sync pass that last met it */
	uint64_t meta;		  /* meta_hash() when written (files) */
	struct extent *ext;	  /* the extents written (files), owned */
	size_t n_ext;		  /* how many */
	uint64_t size;		  /* the size written (files) */
	int wd;			  /* its inotify watch, 0: none */
	bool shared;		  /* a file with more than one link */
	bool stale;		  /* changed by someone else (reclaim) */
	struct drec *parent;
	struct drec *head, *next; /* children list, siblings */
};

#define WRITE_BUF (256 * 1024)

struct materializer {
	int rootfd;	   /* the output directory */
	struct drec root;  /* records of its entries */
	struct map byname; /* (parent drec, name hash) -> drec */
	struct map links;  /* this pass: mnode -> fd + 1 of an entry
				   with more than one link, written or kept */
	struct map bynode; /* mnode -> a drec holding it, for entries
			      with more than one link */
	int ifd;	   /* inotify descriptor, -1: none */
	struct map byid;   /* watch descriptor -> drec */
	bool unwatched;	   /* an entry has no watch: reclaim forgets */
	bool watch_warned; /* said so once */
	uint64_t epoch;
	unsigned long ops;
	char *buf;	      /* WRITE_BUF bytes for copying content */
	struct fcopy *copies; /* contents written, to write them again */
	uint64_t model_bytes; /* read from the model, copies aside */
	bool xattr_warned, dev_warned;
	unsigned flags;		       /* MT_* */
	mode_t umask;		       /* the replaying user's, at new */
	struct materialize_changes ch; /* what the safe mode changed */
	char *err;
	size_t errlen;
};

static int mfail(struct materializer *mt, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int mfail(struct materializer *mt, int err, const char *fmt, ...)
{
	va_list ap;

	if (mt->errlen) {
		va_start(ap, fmt);
		vsnprintf(mt->err, mt->errlen, fmt, ap);
		va_end(ap);
	}
	return -err;
}

static uint64_t hname(const char *s)
{
	return XXH3_64bits(s, strlen(s));
}

/* ---- records -------------------------------------------------------- */

static struct drec *rec_find(struct materializer *mt, struct drec *dir,
			     const char *name)
{
	struct drec *r =
	    map_get(&mt->byname, (uint64_t)(uintptr_t)dir, hname(name));

	if (r && !strcmp(r->name, name))
		return r;
	for (r = dir->head; r; r = r->next) /* hash collision */
		if (!strcmp(r->name, name))
			return r;
	return NULL;
}

static void rec_free_tree(struct materializer *mt, struct drec *r)
{
	struct drec *c, *next;

	for (c = r->head; c; c = next) {
		next = c->next;
		rec_free_tree(mt, c);
	}
	r->head = NULL;
	free(r->ext);
	r->ext = NULL;
	r->n_ext = 0;
	if (r->parent) { /* the root keeps its watch */
		if (r->wd > 0 && map_get(&mt->byid, (uint64_t)r->wd, 0) == r)
			map_del(&mt->byid, (uint64_t)r->wd, 0);
		if (r->node &&
		    map_get(&mt->bynode, (uint64_t)(uintptr_t)r->node, 0) == r)
			map_del(&mt->bynode, (uint64_t)(uintptr_t)r->node, 0);
		if (map_get(&mt->byname, (uint64_t)(uintptr_t)r->parent,
			    hname(r->name)) == r)
			map_del(&mt->byname, (uint64_t)(uintptr_t)r->parent,
				hname(r->name));
		free(r->name);
		free(r);
	}
}

static void rec_unlink(struct materializer *mt, struct drec *r)
{
	struct drec **pp;

	for (pp = &r->parent->head; *pp != r; pp = &(*pp)->next)
		;
	*pp = r->next;
	rec_free_tree(mt, r);
}

static struct drec *rec_add(struct materializer *mt, struct drec *dir,
			    const char *name)
{
	struct drec *r = calloc(1, sizeof(*r));

	if (!r || !(r->name = strdup(name))) {
		free(r);
		return NULL;
	}
	r->parent = dir;
	r->next = dir->head;
	dir->head = r;
	if (map_put(&mt->byname, (uint64_t)(uintptr_t)dir, hname(name), r)) {
		dir->head = r->next;
		free(r->name);
		free(r);
		return NULL;
	}
	return r;
}

/* ---- safety ------------------------------------------------------- */

/* r's path relative to the output directory, "." for the root. */
static void rec_path(const struct drec *r, char *buf, size_t len)
{
	const struct drec *q;
	size_t need = 0, at;

	for (q = r; q->parent; q = q->parent)
		need += strlen(q->name) + 1;
	if (!need || need > len) { /* the root, or too long: its name */
		snprintf(buf, len, "%s", r->parent ? r->name : ".");
		return;
	}
	at = need - 1;
	buf[at] = '\0';
	for (q = r; q->parent; q = q->parent) {
		size_t l = strlen(q->name);

		at -= l;
		memcpy(buf + at, q->name, l);
		if (at)
			buf[--at] = '/';
	}
}

static void note(struct materializer *mt, enum materialize_change c,
		 const struct drec *r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Count a change the safe mode made to entry r and say it, once per
 * process and kind (a check writes thousands of states): fmt describes
 * it after the entry's path.
 */
static void note(struct materializer *mt, enum materialize_change c,
		 const struct drec *r, const char *fmt, ...)
{
	static bool said[MT_NCHANGES];
	char what[256];
	va_list ap;

	if (!mt->ch.n[c]++)
		rec_path(r, mt->ch.first[c], sizeof(mt->ch.first[c]));
	if ((mt->flags & MT_QUIET) || said[c])
		return;
	said[c] = true;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	util_warn("'%s' %s (%s)", mt->ch.first[c], what,
		  mt->flags & MT_PRIVILEGED
		      ? "needs root"
		      : "--privileged writes states as recorded");
}

/* The permission bits to give entry r, recorded with mode (count: note
 * what the safe mode takes away). */
static mode_t perm_of(struct materializer *mt, const struct drec *r,
		      uint32_t mode, bool count)
{
	mode_t perm = mode & 07777;

	if (mt->flags & MT_PRIVILEGED)
		return perm;
	if (!S_ISDIR(mode) && (perm & (S_ISUID | S_ISGID))) {
		if (count)
			note(mt, MT_SETID, r,
			     "has mode %04o in the trace: written without "
			     "its setuid/setgid bits",
			     (unsigned)perm);
		perm &= ~(mode_t)(S_ISUID | S_ISGID);
	}
	if (perm & mt->umask) {
		if (count)
			note(mt, MT_UMASK, r,
			     "has mode %04o in the trace: written %04o "
			     "(your umask is %03o)",
			     (unsigned)perm, (unsigned)(perm & ~mt->umask),
			     (unsigned)mt->umask);
		perm &= ~mt->umask;
	}
	return perm;
}

/* Give entry r (open at fd, or named name in dirfd when fd < 0) the
 * recorded owner, where allowed; note it where not. */
static int set_owner(struct materializer *mt, const struct drec *r, int fd,
		     int dirfd, const char *name, const struct model_stat *st)
{
	int rc;

	if (st->uid == geteuid() && st->gid == getegid())
		return 0;
	if (!(mt->flags & MT_PRIVILEGED) || geteuid() != 0) {
		note(mt, MT_OWNER, r,
		     "is owned by %u:%u in the trace: written as yours",
		     (unsigned)st->uid, (unsigned)st->gid);
		return 0;
	}
	rc = fd >= 0
		 ? fchown(fd, st->uid, st->gid)
		 : fchownat(dirfd, name, st->uid, st->gid, AT_SYMLINK_NOFOLLOW);
	if (rc)
		return mfail(mt, errno, "cannot chown '%s': %s", name,
			     strerror(errno));
	return 0;
}

/* ---- watching ------------------------------------------------------- */

/* What counts as a change: not reads, opens or read-only closes. */
#define WATCH_MASK                                                             \
	(IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE |      \
	 IN_DELETE_SELF | IN_MOVED_FROM | IN_MOVED_TO | IN_MOVE_SELF)

/* Watch the entry name of the directory open at dirfd, recorded in r. */
static void watch(struct materializer *mt, int dirfd, const char *name,
		  struct drec *r)
{
	char path[320];
	int wd;

	if (mt->ifd < 0)
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
	wd = inotify_add_watch(mt->ifd, path, WATCH_MASK | IN_DONT_FOLLOW);
	if (wd > 0 && !map_put(&mt->byid, (uint64_t)wd, 0, r)) {
		r->wd = wd;
		return;
	}
	if (!mt->watch_warned)
		util_warn("cannot watch '%s' for changes: %s (every state is "
			  "written afresh)",
			  name, wd < 0 ? strerror(errno) : "out of memory");
	mt->watch_warned = true;
	mt->unwatched = true;
}

/* Read away the queued events: the materializer's own work. */
static void drain(struct materializer *mt)
{
	if (mt->ifd >= 0)
		while (read(mt->ifd, mt->buf, WRITE_BUF) > 0)
			;
}

/* ---- removing ------------------------------------------------------- */

/* Remove everything inside the directory open at fd. */
static int empty_dir(int fd)
{
	int dfd = dup(fd), err = 0;
	DIR *d;
	struct dirent *de;

	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	rewinddir(d); /* the duplicate shares the offset */
	while ((de = readdir(d))) {
		int sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!unlinkat(fd, de->d_name, 0))
			continue;
		if (errno != EISDIR && errno != EPERM) {
			err = -errno;
			continue;
		}
		sub = openat(fd, de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			err = -errno;
			continue;
		}
		fchmod(sub, 0700);
		err = empty_dir(sub) ?: err;
		close(sub);
		if (unlinkat(fd, de->d_name, AT_REMOVEDIR))
			err = -errno;
	}
	closedir(d);
	return err;
}

static int remove_entry(struct materializer *mt, int dirfd, const char *name)
{
	int sub, err;

	mt->ops++;
	if (!unlinkat(dirfd, name, 0) || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return mfail(mt, errno, "cannot remove '%s': %s", name,
			     strerror(errno));
	sub = openat(dirfd, name,
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return mfail(mt, errno, "cannot open '%s': %s", name,
			     strerror(errno));
	fchmod(sub, 0700);
	err = empty_dir(sub);
	close(sub);
	if (!err && unlinkat(dirfd, name, AT_REMOVEDIR))
		err = -errno;
	if (err)
		return mfail(mt, -err, "cannot remove '%s': %s", name,
			     strerror(-err));
	return 0;
}

/* ---- writing -------------------------------------------------------- */

static void set_xattrs(struct materializer *mt, int fd, const struct mnode *n,
		       const struct drec *r)
{
	const char *name;
	const void *val;
	uint32_t len;
	size_t i = 0;

	while (model_xattr(n, &i, &name, &val, &len)) {
		if (!(mt->flags & MT_PRIVILEGED) && strncmp(name, "user.", 5)) {
			note(mt, MT_XATTR, r,
			     "has xattr '%s' in the trace: left out (only "
			     "user.* xattrs are written)",
			     name);
			continue;
		}
		if (!fsetxattr(fd, name, val, len, 0))
			continue;
		if (!mt->xattr_warned)
			util_warn("cannot set xattr '%s': %s (xattrs are "
				  "left out of this state)",
				  name, strerror(errno));
		mt->xattr_warned = true;
	}
}

/* Mode, owner and xattrs of n: what an in-place rewrite keeps. */
static uint64_t meta_hash(const struct mnode *n)
{
	struct model_stat st;
	const char *name;
	const void *val;
	uint32_t len;
	size_t i = 0;
	uint64_t v[3];

	model_stat(n, &st);
	v[0] = st.mode;
	v[1] = ((uint64_t)st.uid << 32) | st.gid;
	v[2] = 0;
	while (model_xattr(n, &i, &name, &val, &len))
		v[2] += XXH3_64bits(name, strlen(name)) ^ XXH3_64bits(val, len);
	return XXH3_64bits(v, sizeof(v));
}

static int pwrite_all(int fd, const char *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* Write bytes [a, b) of p at the same offsets. */
static int write_run(struct materializer *mt, int fd, const char *p, uint64_t a,
		     uint64_t b)
{
	int err = pwrite_all(fd, p + a, (size_t)(b - a), a);

	if (err)
		return mfail(mt, -err, "cannot write: %s", strerror(-err));
	return 0;
}

/* Copy bytes [a, b) of n from the model, WRITE_BUF at a time. */
static int copy_run(struct materializer *mt, struct model *m, int fd,
		    const struct mnode *n, uint64_t a, uint64_t b)
{
	for (uint64_t off = a; off < b;) {
		size_t chunk =
		    b - off > WRITE_BUF ? WRITE_BUF : (size_t)(b - off);
		ssize_t got = model_read(m, n, off, mt->buf, chunk);
		int err = got > 0 ? 0 : got < 0 ? (int)got : -EIO;

		if (err)
			return mfail(mt, -err,
				     "cannot read the content of a file: %s",
				     strerror(-err));
		mt->model_bytes += (uint64_t)got;
		err = pwrite_all(fd, mt->buf, (size_t)got, off);
		if (err)
			return mfail(mt, -err, "cannot write: %s",
				     strerror(-err));
		off += (uint64_t)got;
	}
	return 0;
}

/*
 * Write n's content from extent i on, at file offsets from x on (what
 * lies before x is on disk already), then set the size.  Contiguous
 * extents are copied together, holes are left as holes.  The bytes come
 * from the copy of n's content (harness/fcopy.h) when it has one, which
 * reads from the model only what changed since the last time.
 */
static int write_from(struct materializer *mt, struct model *m, int fd,
		      const struct mnode *n, size_t i, uint64_t x)
{
	const struct extent *e;
	struct model_stat st;
	const char *p;
	size_t ne;
	int err;

	model_stat(n, &st);
	e = model_extents(n, &ne);
	p = fcopy_content(mt->copies, m, n, &err);
	if (err)
		return mfail(mt, -err, "cannot read the content of a file: %s",
			     strerror(-err));
	while (i < ne) {
		uint64_t a = e[i].off > x ? e[i].off : x;
		uint64_t b = e[i].off + e[i].len;
		size_t j = i + 1;

		while (j < ne && e[j].off == b)
			b += e[j++].len;
		if (b > st.size)
			b = st.size;
		if (a < b)
			err = p ? write_run(mt, fd, p, a, b)
				: copy_run(mt, m, fd, n, a, b);
		if (err)
			return err;
		i = j;
	}
	if (ftruncate(fd, (off_t)st.size))
		return mfail(mt, errno, "cannot set size: %s", strerror(errno));
	return 0;
}

/* Remember what was written, for the next sync's in-place update. */
static void rec_content(struct drec *r, const struct mnode *n)
{
	const struct extent *e;
	struct model_stat st;
	size_t ne;

	model_stat(n, &st);
	e = model_extents(n, &ne);
	free(r->ext);
	r->ext = ne ? malloc(ne * sizeof(*e)) : NULL;
	r->n_ext = r->ext ? ne : 0;
	if (r->ext)
		memcpy(r->ext, e, ne * sizeof(*e));
	/* out of memory: no in-place update next time */
	r->size = r->ext || !ne ? st.size : UINT64_MAX;
	r->meta = meta_hash(n);
}

static bool ext_equal(const struct extent *a, const struct extent *b)
{
	return a->off == b->off && a->len == b->len && a->src == b->src &&
	       a->kind == b->kind && a->from == b->from;
}

/*
 * The file at name holds an earlier content of n, with the same mode,
 * owner and xattrs: rewrite only from the first byte that differs (an
 * append writes the appended bytes, a rolled-back append truncates).
 * With more than one link, the open descriptor is handed back in keep_fd
 * for the other names.
 */
static int update_file(struct materializer *mt, struct model *m, int dirfd,
		       const char *name, const struct mnode *n, struct drec *r,
		       int *keep_fd)
{
	const struct extent *e;
	struct model_stat st;
	size_t ne, i = 0;
	uint64_t x;
	int fd, err;

	model_stat(n, &st);
	e = model_extents(n, &ne);
	while (i < ne && i < r->n_ext && ext_equal(&e[i], &r->ext[i]))
		i++;
	x = st.size < r->size ? st.size : r->size;
	if (i < r->n_ext && r->ext[i].off < x)
		x = r->ext[i].off;
	if (i < ne && e[i].off < x)
		x = e[i].off;
	mt->ops++;
	fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mfail(mt, errno, "cannot open '%s': %s", name,
			     strerror(errno));
	if (ftruncate(fd, (off_t)x))
		err = mfail(mt, errno, "cannot truncate '%s': %s", name,
			    strerror(errno));
	else
		err = write_from(mt, m, fd, n, i, x);
	if (!err)
		rec_content(r, n);
	if (!err && st.nlink > 1) {
		*keep_fd = fd;
		return 0;
	}
	close(fd);
	return err;
}

/* Link name in dirfd to the inode kept open (prev - 1 is its descriptor)
 * for another name of the same node.  0 or -errno (reported).  Following
 * the /proc link of an O_PATH descriptor gives the inode itself, a
 * symlink included, not what it points to. */
static int link_kept(struct materializer *mt, uintptr_t prev, int dirfd,
		     const char *name)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", (int)(prev - 1));
	if (linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW))
		return mfail(mt, errno, "cannot link '%s': %s", name,
			     strerror(errno));
	return 0;
}

static int make_file(struct materializer *mt, struct model *m, int dirfd,
		     const char *name, const struct mnode *n, struct drec *r)
{
	struct model_stat st;
	uintptr_t prev =
	    (uintptr_t)map_get(&mt->links, (uint64_t)(uintptr_t)n, 0);
	int fd, err;

	model_stat(n, &st);
	mt->ops++;
	if (prev) {
		err = link_kept(mt, prev, dirfd, name);
		if (!err)
			rec_content(r, n);
		return err;
	}
	fd = openat(dirfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return mfail(mt, errno, "cannot create '%s': %s", name,
			     strerror(errno));
	err = write_from(mt, m, fd, n, 0, 0);
	if (!err)
		rec_content(r, n);
	if (!err) {
		set_xattrs(mt, fd, n, r);
		err = set_owner(mt, r, fd, dirfd, name, &st);
		if (!err && fchmod(fd, perm_of(mt, r, st.mode, true)))
			err = mfail(mt, errno, "cannot chmod '%s': %s", name,
				    strerror(errno));
	}
	if (!err && st.nlink > 1 &&
	    !map_put(&mt->links, (uint64_t)(uintptr_t)n, 0,
		     (void *)(uintptr_t)(fd + 1)))
		return 0; /* kept open for the other names */
	close(fd);
	return err;
}

/* Keep an O_PATH descriptor of name for n's other names to link to. */
static void keep_link(struct materializer *mt, int dirfd, const char *name,
		      const struct mnode *n)
{
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0 && map_put(&mt->links, (uint64_t)(uintptr_t)n, 0,
			       (void *)(uintptr_t)(fd + 1)))
		close(fd);
}

/* Set the exact permission bits of the entry just made at name (mknod
 * applied the umask): through an O_PATH descriptor, never following a
 * symlink. */
static int chmod_exact(struct materializer *mt, int dirfd, const char *name,
		       mode_t perm)
{
	char proc[64];
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC), rc;

	if (fd < 0)
		return mfail(mt, errno, "cannot open '%s': %s", name,
			     strerror(errno));
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	rc = chmod(proc, perm);
	if (rc)
		rc = mfail(mt, errno, "cannot chmod '%s': %s", name,
			   strerror(errno));
	close(fd);
	return rc;
}

/* Symlinks, fifos, sockets, devices; a hard link of one made earlier in
 * the pass is linked to it.  A device node is made only with
 * MT_PRIVILEGED (and as root): else an empty regular file stands in. */
static int make_special(struct materializer *mt, int dirfd, const char *name,
			const struct mnode *n, const struct drec *r)
{
	struct model_stat st;
	uintptr_t prev =
	    (uintptr_t)map_get(&mt->links, (uint64_t)(uintptr_t)n, 0);
	bool dev, priv = mt->flags & MT_PRIVILEGED;
	mode_t perm;
	int fd, err;

	model_stat(n, &st);
	mt->ops++;
	if (prev)
		return link_kept(mt, prev, dirfd, name);
	if (S_ISLNK(st.mode)) {
		if (symlinkat(model_symlink(n), dirfd, name))
			return mfail(mt, errno,
				     "cannot create symlink '%s': %s", name,
				     strerror(errno));
		err = set_owner(mt, r, -1, dirfd, name, &st);
		if (!err && st.nlink > 1)
			keep_link(mt, dirfd, name, n);
		return err;
	}
	dev = S_ISCHR(st.mode) || S_ISBLK(st.mode);
	perm = perm_of(mt, r, st.mode, true);
	if ((!dev || priv) &&
	    !mknodat(dirfd, name, (st.mode & S_IFMT) | perm, (dev_t)st.rdev)) {
		err = set_owner(mt, r, -1, dirfd, name, &st);
		if (!err && priv)
			err = chmod_exact(mt, dirfd, name, perm);
		if (!err && st.nlink > 1)
			keep_link(mt, dirfd, name, n);
		return err;
	}
	if (!dev || (priv && errno != EPERM))
		return mfail(mt, errno, "cannot mknod '%s': %s", name,
			     strerror(errno));
	if (priv) {
		if (!mt->dev_warned)
			util_warn("cannot create device '%s' (not root): an "
				  "empty file stands in",
				  name);
		mt->dev_warned = true;
	} else {
		note(mt, MT_DEVICE, r,
		     "is a device node (%u:%u) in the trace: an empty "
		     "regular file stands in",
		     major((dev_t)st.rdev), minor((dev_t)st.rdev));
	}
	fd = openat(dirfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm);
	if (fd < 0)
		return mfail(mt, errno, "cannot create '%s': %s", name,
			     strerror(errno));
	close(fd);
	if (st.nlink > 1)
		keep_link(mt, dirfd, name, n);
	return 0;
}

static int sync_dir(struct materializer *mt, struct model *m,
		    const struct mnode *dir, struct drec *rd, int dirfd,
		    int depth);
static int open_rec_dir(struct materializer *mt, struct drec *d, int depth);

/*
 * A new name of n (h its hash), which has other links: if another name
 * already on disk holds n as it is now, keep that one's inode for the new
 * name to link to, wherever the walk meets it (it may come later in the
 * walk, or be a name this pass removes).
 */
static void adopt_link(struct materializer *mt, const struct mnode *n,
		       uint64_t h)
{
	struct drec *o = map_get(&mt->bynode, (uint64_t)(uintptr_t)n, 0);
	int dfd;

	if (!o || o->node != n || o->hash != h ||
	    map_get(&mt->links, (uint64_t)(uintptr_t)n, 0))
		return;
	dfd = open_rec_dir(mt, o->parent, 0);
	if (dfd < 0)
		return;
	keep_link(mt, dfd, o->name, n);
	close(dfd);
}

/* Open (creating if needed) subdirectory name and sync it. */
static int sync_subdir(struct materializer *mt, struct model *m, int dirfd,
		       const char *name, const struct mnode *c, struct drec *r,
		       bool create, int depth)
{
	struct model_stat st;
	int fd, err;

	model_stat(c, &st);
	if (create) {
		mt->ops++;
		if (mkdirat(dirfd, name, 0700))
			return mfail(mt, errno,
				     "cannot create directory "
				     "'%s': %s",
				     name, strerror(errno));
	}
	fd = openat(dirfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mfail(mt, errno, "cannot open directory '%s': %s", name,
			     strerror(errno));
	if (!create && (r->mode & 0700) != 0700)
		fchmod(fd, 0700);
	err = sync_dir(mt, m, c, r, fd, depth + 1);
	if (!err && create) {
		set_xattrs(mt, fd, c, r);
		err = set_owner(mt, r, fd, dirfd, name, &st);
	}
	if (!err && (create || r->mode != st.mode || (r->mode & 0700) != 0700))
		if (fchmod(fd, perm_of(mt, r, st.mode,
				       create || r->mode != st.mode)))
			err = mfail(mt, errno, "cannot chmod '%s': %s", name,
				    strerror(errno));
	close(fd);
	r->mode = st.mode;
	return err;
}

static int sync_dir(struct materializer *mt, struct model *m,
		    const struct mnode *dir, struct drec *rd, int dirfd,
		    int depth)
{
	struct drec *r, *next;
	const char *name;
	void *cookie = NULL;
	struct mnode *c;
	int err = 0;

	if (depth > 4096)
		return mfail(mt, ELOOP, "tree nested too deep");
	while (!err && (c = model_readdir(dir, &cookie, &name))) {
		struct model_stat st;
		uint64_t h = 0;
		bool same;

		if (!util_name_ok(name)) /* the loader forbids these */
			return mfail(mt, EINVAL, "refusing entry name '%s'",
				     name);
		model_stat(c, &st);
		if (!S_ISDIR(st.mode))
			h = model_hash(m, c);
		r = rec_find(mt, rd, name);
		same = r && (r->mode & S_IFMT) == (st.mode & S_IFMT) &&
		       (S_ISDIR(st.mode) || (r->node == c && r->hash == h));
		if (r && !same && S_ISREG(st.mode) && S_ISREG(r->mode) &&
		    r->node == c && r->size != UINT64_MAX &&
		    !map_get(&mt->links, (uint64_t)(uintptr_t)c, 0) &&
		    r->meta == meta_hash(c)) {
			int keep = -1;

			err = update_file(mt, m, dirfd, name, c, r, &keep);
			if (keep >= 0 &&
			    map_put(&mt->links, (uint64_t)(uintptr_t)c, 0,
				    (void *)(uintptr_t)(keep + 1)))
				close(keep);
			if (err)
				break;
			same = true;
		}
		if (r && !same) {
			err = remove_entry(mt, dirfd, name);
			rec_unlink(mt, r);
			r = NULL;
		}
		if (err)
			break;
		if (!r) {
			if (!S_ISDIR(st.mode) && st.nlink > 1)
				adopt_link(mt, c, h);
			r = rec_add(mt, rd, name);
			if (!r)
				return mfail(mt, ENOMEM, "out of memory");
			if (S_ISDIR(st.mode))
				err = sync_subdir(mt, m, dirfd, name, c, r,
						  true, depth);
			else if (S_ISREG(st.mode))
				err = make_file(mt, m, dirfd, name, c, r);
			else
				err = make_special(mt, dirfd, name, c, r);
			r->mode = st.mode;
			if (!err)
				watch(mt, dirfd, name, r);
		} else if (S_ISDIR(st.mode)) {
			err =
			    sync_subdir(mt, m, dirfd, name, c, r, false, depth);
		} else if (st.nlink > 1 &&
			   !map_get(&mt->links, (uint64_t)(uintptr_t)c, 0)) {
			/* kept as is: the other names link to this one */
			keep_link(mt, dirfd, name, c);
		}
		r->node = c;
		r->hash = h;
		r->epoch = mt->epoch;
		r->shared = !S_ISDIR(st.mode) && st.nlink > 1;
		if (r->shared) /* out of memory: the map is only a hint */
			(void)map_put(&mt->bynode, (uint64_t)(uintptr_t)c, 0,
				      r);
		/* the other name of a hard link the watch pointed to went */
		if (r->wd > 0 && map_get(&mt->byid, (uint64_t)r->wd, 0) != r &&
		    map_put(&mt->byid, (uint64_t)r->wd, 0, r))
			mt->unwatched = true;
	}
	for (r = rd->head; !err && r; r = next) {
		next = r->next;
		if (r->epoch == mt->epoch)
			continue;
		err = remove_entry(mt, dirfd, r->name);
		rec_unlink(mt, r);
	}
	return err;
}

static void close_links(struct materializer *mt)
{
	size_t pos = 0;
	void *v;

	while ((v = map_next(&mt->links, &pos, NULL, NULL)))
		close((int)((uintptr_t)v - 1));
	map_release(&mt->links);
}

int materialize_sync(struct materializer *mt, struct model *m, char *err,
		     size_t errlen)
{
	int ret;

	mt->err = err;
	mt->errlen = errlen;
	mt->epoch++;
	ret = sync_dir(mt, m, model_root(m), &mt->root, mt->rootfd, 0);
	close_links(mt);
	if (ret) /* the disk no longer matches the records */
		materialize_forget(mt);
	drain(mt);
	mt->err = NULL;
	mt->errlen = 0;
	return ret;
}

int materialize_forget(struct materializer *mt)
{
	int err;

	rec_free_tree(mt, &mt->root);
	map_release(&mt->byname);
	map_release(&mt->bynode);
	err = empty_dir(mt->rootfd);
	drain(mt);
	mt->unwatched = mt->root.wd <= 0;
	return err;
}

/* A descriptor of recorded directory d, opened from the root down
 * without following symlinks, or -errno. */
static int open_rec_dir(struct materializer *mt, struct drec *d, int depth)
{
	int pfd, fd, err;

	if (d == &mt->root) {
		fd = fcntl(mt->rootfd, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? -errno : fd;
	}
	if (depth > 4096)
		return -ELOOP;
	pfd = open_rec_dir(mt, d->parent, depth + 1);
	if (pfd < 0)
		return pfd;
	fd = openat(pfd, d->name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	err = errno;
	close(pfd);
	return fd < 0 ? -err : fd;
}

/* Is r, or a directory above it, marked stale? */
static bool under_stale(struct drec *r)
{
	for (; r; r = r->parent)
		if (r->stale)
			return true;
	return false;
}

/* A name someone else made (or removed) in a recorded directory. */
struct stray {
	struct drec *dir;
	char *name;
};

/* What collect() found. */
struct reclaim {
	struct drec **stale; /* records changed by someone else */
	size_t nstale;
	struct stray *strays; /* names without a record */
	size_t nstrays;
	struct map seen; /* (dir, name hash) -> stray index + 1 */
};

/* Room for element n of an array p of elements of size sz, growing it
 * when n reaches a power of two: p, a larger copy, or NULL (p kept). */
static void *grow(void *p, size_t n, size_t sz)
{
	if (n & (n - 1))
		return p;
	return realloc(p, (n ? n * 2 : 8) * sz);
}

static bool add_stray(struct reclaim *rc, struct drec *dir, const char *name)
{
	uintptr_t i = (uintptr_t)map_get(&rc->seen, (uint64_t)(uintptr_t)dir,
					 hname(name));
	struct stray *v;

	if (i && !strcmp(rc->strays[i - 1].name, name))
		return true; /* met already */
	v = grow(rc->strays, rc->nstrays, sizeof(*v));
	if (!v)
		return false;
	rc->strays = v;
	rc->strays[rc->nstrays].dir = dir;
	rc->strays[rc->nstrays].name = strdup(name);
	if (!rc->strays[rc->nstrays++].name)
		return false;
	map_put(&rc->seen, (uint64_t)(uintptr_t)dir, hname(name),
		(void *)(uintptr_t)rc->nstrays);
	return true;
}

static bool add_stale(struct reclaim *rc, struct drec *r)
{
	struct drec **v;

	if (r->stale)
		return true;
	v = grow(rc->stale, rc->nstale, sizeof(*v));
	if (!v)
		return false;
	rc->stale = v;
	r->stale = true;
	rc->stale[rc->nstale++] = r;
	return true;
}

/* One event: false when it cannot tell what changed. */
static bool collect_one(struct materializer *mt, struct reclaim *rc,
			const struct inotify_event *ev)
{
	struct drec *r = map_get(&mt->byid, (uint64_t)ev->wd, 0), *c;

	if ((ev->mask & IN_Q_OVERFLOW) || !r)
		return false;
	if (ev->len && (r == &mt->root || S_ISDIR(r->mode))) {
		/* a name in a watched directory */
		c = rec_find(mt, r, ev->name);
		return c ? add_stale(rc, c) : add_stray(rc, r, ev->name);
	}
	if (r == &mt->root) /* the output directory itself */
		return false;
	return add_stale(rc, r);
}

/*
 * Read what someone else did since the last sync.  Records it names are
 * marked stale (the entry goes, the next sync makes it again), names
 * without a record are strays (removed from disk).  Returns false when
 * the events cannot tell what changed.
 */
static bool collect(struct materializer *mt, struct reclaim *rc)
{
	bool ok = true;
	ssize_t n;

	while ((n = read(mt->ifd, mt->buf, WRITE_BUF)) > 0) {
		for (char *p = mt->buf; p < mt->buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			p += sizeof(*ev) + ev->len;
			ok = ok && collect_one(mt, rc, ev);
		}
	}
	return ok && !(n < 0 && errno != EAGAIN);
}

/* Does r, or anything under it, hold a file with other links? */
static bool holds_shared(const struct drec *r)
{
	if (r->shared)
		return true;
	for (const struct drec *c = r->head; c; c = c->next)
		if (holds_shared(c))
			return true;
	return false;
}

/* Remove name from recorded directory d on disk (and its record). */
static int drop(struct materializer *mt, struct drec *d, const char *name,
		struct drec *r)
{
	int fd = open_rec_dir(mt, d, 0), err;

	if (fd < 0)
		return fd;
	err = remove_entry(mt, fd, name);
	close(fd);
	if (r)
		rec_unlink(mt, r);
	return err;
}

int materialize_reclaim(struct materializer *mt)
{
	struct reclaim rc = {0};
	bool full = mt->ifd < 0 || mt->unwatched;
	int err = 0, dropped = 0;
	size_t i;

	if (!full)
		full = !collect(mt, &rc);
	/* what lies under a stale directory goes with it */
	for (i = 0; !full && i < rc.nstrays; i++)
		if (under_stale(rc.strays[i].dir))
			rc.strays[i].dir = NULL;
	for (i = 0; !full && i < rc.nstale; i++)
		if (under_stale(rc.stale[i]->parent))
			rc.stale[i] = NULL;
		else if (holds_shared(rc.stale[i]))
			full = true; /* its other names must go too */
	for (i = 0; !full && !err && i < rc.nstrays; i++)
		if (rc.strays[i].dir) {
			err =
			    drop(mt, rc.strays[i].dir, rc.strays[i].name, NULL);
			dropped++;
		}
	for (i = 0; !full && !err && i < rc.nstale; i++)
		if (rc.stale[i]) {
			err = drop(mt, rc.stale[i]->parent, rc.stale[i]->name,
				   rc.stale[i]);
			dropped++;
		}
	for (i = 0; i < rc.nstrays; i++)
		free(rc.strays[i].name);
	free(rc.strays);
	free(rc.stale);
	map_release(&rc.seen);
	if (full || err) /* cannot tell, or cannot repair: start over */
		return materialize_forget(mt);
	drain(mt);
	return dropped;
}

int materialize_watch(struct materializer *mt)
{
	int err;

	if (mt->ifd >= 0)
		return 0;
	mt->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (mt->ifd < 0) {
		err = -errno;
		if (!mt->watch_warned)
			util_warn("cannot watch the states for changes "
				  "(inotify: %s): every state is written "
				  "afresh",
				  strerror(-err));
		mt->watch_warned = true;
		return err;
	}
	/* what was written before is not watched: start over */
	err = materialize_forget(mt);
	watch(mt, mt->rootfd, ".", &mt->root);
	mt->unwatched = mt->root.wd <= 0;
	return err;
}

uint64_t materialize_model_bytes(const struct materializer *mt)
{
	return mt->model_bytes + fcopy_model_bytes(mt->copies);
}

unsigned long materialize_ops(const struct materializer *mt)
{
	return mt->ops;
}

void materialize_set_flags(struct materializer *mt, unsigned flags)
{
	mt->flags = flags;
}

const struct materialize_changes *
materialize_changes(const struct materializer *mt)
{
	return &mt->ch;
}

const char *materialize_change_name(enum materialize_change c)
{
	static const char *const names[MT_NCHANGES] = {
	    [MT_SETID] = "setuid/setgid bits removed",
	    [MT_UMASK] = "permission bits taken away by the umask",
	    [MT_OWNER] = "owners not given (the entries are yours)",
	    [MT_DEVICE] = "device nodes written as empty regular files",
	    [MT_XATTR] = "xattrs outside user.* left out",
	};

	return c < MT_NCHANGES ? names[c] : "?";
}

struct materializer *materialize_new(const char *dir, char *err, size_t errlen)
{
	struct materializer *mt = calloc(1, sizeof(*mt));
	struct dirent *de;
	DIR *d;
	int fd, e;

	if (!mt)
		return NULL;
	mt->buf = malloc(WRITE_BUF);
	mt->copies = fcopy_new();
	if (!mt->buf || !mt->copies) {
		e = ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		e = errno;
		snprintf(err, errlen, "cannot create '%s': %s", dir,
			 strerror(e));
		goto out_free;
	}
	mt->rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (mt->rootfd < 0) {
		e = errno;
		snprintf(err, errlen, "cannot open '%s': %s", dir,
			 errno == ELOOP ? "it is a symlink" : strerror(e));
		goto out_free;
	}
	fd = dup(mt->rootfd);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		e = errno;
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "cannot read '%s': %s", dir, strerror(e));
		goto out_close;
	}
	rewinddir(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			break;
	closedir(d);
	if (de) {
		e = ENOTEMPTY;
		snprintf(err, errlen,
			 "output directory '%s' is not empty "
			 "(give a new or empty directory)",
			 dir);
		goto out_close;
	}
	mt->ifd = -1; /* materialize_watch() */
	mt->umask = umask(0);
	umask(mt->umask);
	return mt;
out_close:
	close(mt->rootfd);
out_free:
	fcopy_free(&mt->copies);
	free(mt->buf);
	free(mt);
	errno = e;
	return NULL;
}

void materialize_free(struct materializer **mtp)
{
	struct materializer *mt = *mtp;

	if (!mt)
		return;
	*mtp = NULL;
	rec_free_tree(mt, &mt->root);
	map_release(&mt->byname);
	map_release(&mt->byid);
	map_release(&mt->bynode);
	close_links(mt);
	if (mt->ifd >= 0)
		close(mt->ifd);
	close(mt->rootfd);
	fcopy_free(&mt->copies);
	free(mt->buf);
	free(mt);
}

/* ---- verify --------------------------------------------------------- */

struct verify {
	struct model *m;
	char *report;
	size_t len, used;
	int diffs;
	struct map ino;	 /* (st_ino, st_dev) -> mnode */
	struct map node; /* mnode -> st_ino + 1 */
};

static void diff(struct verify *v, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void diff(struct verify *v, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	v->diffs++;
	if (v->diffs > 20 || v->used + 1 >= v->len)
		return;
	n = snprintf(v->report + v->used, v->len - v->used,
		     "%s: ", *path ? path : ".");
	if (n > 0 && (size_t)n < v->len - v->used)
		v->used += (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(v->report + v->used, v->len - v->used, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < v->len - v->used)
		v->used += (size_t)n;
	if (v->used + 1 < v->len) {
		v->report[v->used++] = '\n';
		v->report[v->used] = '\0';
	}
}

static void verify_file(struct verify *v, const char *path, int fd,
			const struct mnode *n, uint64_t size)
{
	char a[65536], b[65536];
	uint64_t off = 0;

	for (; off < size; off += sizeof(a)) {
		size_t chunk =
		    size - off > sizeof(a) ? sizeof(a) : (size_t)(size - off);
		ssize_t got = pread(fd, a, chunk, (off_t)off);
		ssize_t want = model_read(v->m, n, off, b, chunk);

		if (got != (ssize_t)chunk || want != (ssize_t)chunk) {
			diff(v, path, "cannot read");
			return;
		}
		if (memcmp(a, b, chunk)) {
			size_t i = 0;

			while (a[i] == b[i])
				i++;
			diff(v, path, "content differs at byte %llu",
			     (unsigned long long)(off + i));
			return;
		}
	}
}

static void verify_xattrs(struct verify *v, const char *path, int fd,
			  const struct mnode *n)
{
	char list[4096], val[65536], proc[64];
	const char *name;
	const void *mval;
	uint32_t mlen;
	size_t i = 0, nm = 0, nd = 0;
	ssize_t ll;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	while (model_xattr(n, &i, &name, &mval, &mlen)) {
		ssize_t vl = getxattr(proc, name, val, sizeof(val));

		nm++;
		if (vl < 0 || (uint32_t)vl != mlen || memcmp(val, mval, mlen))
			diff(v, path, "xattr '%s' differs", name);
	}
	ll = listxattr(proc, list, sizeof(list));
	/* Count what listxattr shows, as the model's scan of the initial
	 * image does, so both sides see the same namespaces. */
	for (ssize_t j = 0; ll > 0 && j < ll; j += strlen(list + j) + 1)
		nd++;
	if (nd != nm)
		diff(v, path, "%zu xattrs on disk, %zu in the model", nd, nm);
}

static void verify_dir(struct verify *v, int dirfd, const struct mnode *dir,
		       char *path, size_t plen, int depth)
{
	int dfd = dup(dirfd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	const char *name;
	void *cookie = NULL;
	struct mnode *c;
	size_t found = 0, inmodel = 0;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		diff(v, path, "cannot read directory");
		return;
	}
	rewinddir(d);
	while ((c = model_readdir(dir, &cookie, &name)))
		inmodel++;
	while ((de = readdir(d))) {
		struct stat st;
		struct model_stat ms;
		size_t l = strlen(de->d_name);
		uintptr_t seen;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (plen + l + 2 >= 4096)
			continue;
		if (plen)
			path[plen] = '/';
		memcpy(path + plen + !!plen, de->d_name, l + 1);
		c = model_lookup(v->m, dir, de->d_name);
		if (!c) {
			diff(v, path, "on disk, not in the replay");
			goto next;
		}
		found++;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			diff(v, path, "cannot stat");
			goto next;
		}
		model_stat(c, &ms);
		if ((st.st_mode & S_IFMT) != (ms.mode & S_IFMT)) {
			diff(v, path, "type differs");
			goto next;
		}
		if (!S_ISLNK(st.st_mode) &&
		    (st.st_mode & 07777) != (ms.mode & 07777))
			diff(v, path, "mode %04o on disk, %04o in the replay",
			     st.st_mode & 07777, ms.mode & 07777);
		if (!S_ISDIR(st.st_mode)) {
			struct mnode *prev =
			    map_get(&v->ino, st.st_ino, st.st_dev);

			seen = (uintptr_t)map_get(&v->node,
						  (uint64_t)(uintptr_t)c, 0);
			if ((prev && prev != c) ||
			    (seen && seen - 1 != st.st_ino))
				diff(v, path, "hard links differ");
			map_put(&v->ino, st.st_ino, st.st_dev, c);
			map_put(&v->node, (uint64_t)(uintptr_t)c, 0,
				(void *)(uintptr_t)(st.st_ino + 1));
		}
		if (S_ISLNK(st.st_mode)) {
			char t[4096];
			ssize_t tl =
			    readlinkat(dirfd, de->d_name, t, sizeof(t) - 1);

			t[tl > 0 ? tl : 0] = '\0';
			if (strcmp(t, model_symlink(c)))
				diff(v, path, "symlink target differs");
		} else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd, de->d_name,
					O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

			if (fd < 0) {
				diff(v, path, "cannot open");
				goto next;
			}
			verify_xattrs(v, path, fd, c);
			if (S_ISREG(st.st_mode)) {
				if ((uint64_t)st.st_size != ms.size)
					diff(v, path,
					     "size %llu on disk, "
					     "%llu in the replay",
					     (unsigned long long)st.st_size,
					     (unsigned long long)ms.size);
				else
					verify_file(v, path, fd, c, ms.size);
			} else if (depth < 4096) {
				verify_dir(v, fd, c, path, plen + l + !!plen,
					   depth + 1);
			}
			close(fd);
		}
	next:
		path[plen] = '\0';
	}
	closedir(d);
	if (found != inmodel) {
		cookie = NULL;
		while ((c = model_readdir(dir, &cookie, &name)))
			if (faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW)) {
				size_t l = strlen(name);

				if (plen + l + 2 >= 4096)
					continue;
				if (plen)
					path[plen] = '/';
				memcpy(path + plen + !!plen, name, l + 1);
				diff(v, path, "in the replay, not on disk");
				path[plen] = '\0';
			}
	}
}

int materialize_verify(struct model *m, const char *dir, char *report,
		       size_t len)
{
	struct verify v = {.m = m, .report = report, .len = len};
	char path[4096] = "";
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (len)
		report[0] = '\0';
	if (fd < 0)
		return -errno;
	verify_dir(&v, fd, model_root(m), path, 0, 0);
	close(fd);
	map_release(&v.ino);
	map_release(&v.node);
	return v.diffs;
}
