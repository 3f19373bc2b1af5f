/* SPDX-License-Identifier: MIT */
/** @file
 *
 * fsx: a randomised differential file system tester.  It applies the same
 * seeded sequence of random operations to two directory trees, normally
 * one inside a crashfs mount and one on a plain directory, and after every
 * operation checks that both gave the same result (return value or errno)
 * and that both trees look the same: directory listings, file types,
 * modes, sizes, link counts and xattrs of everything, the size and link count of
 * every open handle (including files already unlinked), and the contents
 * of every file the operation touched (through its handle or under the
 * paths it named).  Every 32 operations and after the last one, the
 * contents of every file are compared; --full does that after every
 * operation (slower).
 *
 *	fsx [--seed S] [--ops N] [--full] [--basic] [--fsync-each] [-v]
 *	    MNTDIR REFDIR
 *
 * --fsync-each fsyncs every open handle (in both trees) after each
 * operation, as a database would; the operations drawn are the same.
 * --basic leaves out what libfuse's passthrough_ll example lacks
 * (fallocate, rename flags), to test the tester on it.
 * Each run works in a new subdirectory "fsx" of MNTDIR and REFDIR.  The
 * operation sequence depends only on the seed, so a failure at op K is
 * reproduced by running the printed command (--seed S --ops K) on a fresh
 * mount; -v prints every operation.  Exit status: 0 the trees never
 * differed, 1 they did (the op, what differed and the replay command are
 * printed), 2 usage or setup error.
 *
 * Method: the names touched are drawn from a small fixed pool (a few
 * files in a few nested directories), so operations collide often:
 * renames over existing files, links to files that are then unlinked,
 * writes through handles whose file was renamed or removed.  A choice
 * never depends on an operation's outcome, only on the seed, so the two
 * trees see the same calls even when one of them misbehaves.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE (128 << 10) /* files stay below this many bytes */
#define MAX_WRITE (48 << 10) /* longest single write */
#define NHANDLES 6	     /* open handles kept at once */

static const char *const dirs[] = {"d0", "d1", "d0/e", "d1/e"};
static const char *const names[] = {"f0", "f1", "f2", "f3"};
#define NDIRS (sizeof(dirs) / sizeof(*dirs))
#define NNAMES (sizeof(names) / sizeof(*names))

/* One file opened in both trees. */
struct handle {
	int fd[2];     /* [0] mount, [1] reference; -1 when unused */
	int flags;     /* open flags */
	char path[64]; /* path it was opened by (for messages) */
};

struct fsx {
	char root[2][4096];   /* the two "fsx" directories */
	uint64_t seed;	      /* as given or chosen */
	uint64_t rng;	      /* PRNG state */
	uint64_t op;	      /* number of the current op, from 1 */
	uint64_t nops;	      /* ops to run */
	bool verbose;	      /* print every op */
	bool basic;	      /* no fallocate, no rename flags */
	bool full;	      /* compare all contents after every op */
	bool fsync_each;      /* fsync every open handle after each op */
	bool all_now;	      /* this op: compare every file's contents */
	char tpath[2][64];    /* paths the current op touched, or "" */
	struct handle *th[2]; /* handles the current op touched, or NULL */
	char desc[256];	      /* the current op, for messages */
	char why[2048];	      /* what differed */
	struct handle h[NHANDLES];
	unsigned char *buf[2]; /* read buffers, MAX_SIZE each */
	unsigned char *wbuf;   /* data to write */
};

/* splitmix64: small, fast and good enough for choosing operations. */
static uint64_t rnd(struct fsx *f)
{
	uint64_t z = (f->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(struct fsx *f, uint64_t n)
{
	return n ? rnd(f) % n : 0;
}

/* A length skewed towards small values, at least 1, at most max. */
static uint64_t some_len(struct fsx *f, uint64_t max)
{
	switch (below(f, 4)) {
	case 0: return 1 + below(f, 16);
	case 1: return 1 + below(f, 4096 < max ? 4096 : max);
	default: return 1 + below(f, max);
	}
}

static int differ(struct fsx *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int differ(struct fsx *f, const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(f->why);

	va_start(ap, fmt);
	vsnprintf(f->why + n, sizeof(f->why) - n, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *errname(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "E?";
}

static void describe(struct fsx *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void describe(struct fsx *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->desc, sizeof(f->desc), fmt, ap);
	va_end(ap);
	if (f->verbose)
		printf("%" PRIu64 ": %s\n", f->op, f->desc);
}

/* Outcome of a call in one tree: ret (>= 0) or -errno. */
static long outcome(long ret)
{
	return ret < 0 ? -errno : ret;
}

static int same(struct fsx *f, long m, long r)
{
	char a[32], b[32];

	if (m == r)
		return 0;
	if (m < 0)
		snprintf(a, sizeof(a), "%s", errname(-m));
	else
		snprintf(a, sizeof(a), "%ld", m);
	if (r < 0)
		snprintf(b, sizeof(b), "%s", errname(-r));
	else
		snprintf(b, sizeof(b), "%ld", r);
	return differ(f, "the mount returned %s, the reference %s\n", a, b);
}

/* ---- comparing the trees ------------------------------------------------ */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entry names of dir (without . and ..); NULL-terminated. */
static char **list_dir(const char *dir, int *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	int n = 0;

	*count = -1;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		v = realloc(v, sizeof(*v) * (n + 2));
		v[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (!v)
		v = calloc(1, sizeof(*v));
	v[n] = NULL;
	qsort(v, n, sizeof(*v), cmp_names);
	*count = n;
	return v;
}

static void free_list(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

static ssize_t read_file(const char *path, unsigned char *buf, size_t max)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	ssize_t n, total = 0;

	if (fd < 0)
		return -errno;
	while ((size_t)total < max) {
		n = read(fd, buf + total, max - total);
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		total += n;
	}
	close(fd);
	return total;
}

static int cmp_data(struct fsx *f, const char *what, ssize_t nm, ssize_t nr)
{
	if (nm != nr)
		return differ(f,
			      "%s: read %zd bytes from the mount, %zd from "
			      "the reference\n",
			      what, nm, nr);
	for (ssize_t i = 0; i < nm; i++)
		if (f->buf[0][i] != f->buf[1][i])
			return differ(f,
				      "%s: contents differ at offset %zd "
				      "(0x%02x in the mount, 0x%02x in the "
				      "reference), size %zd\n",
				      what, i, f->buf[0][i], f->buf[1][i], nm);
	return 0;
}

static int cmp_stat(struct fsx *f, const char *rel, const struct stat *a,
		    const struct stat *b)
{
	int ret = 0;

	if ((a->st_mode & S_IFMT) != (b->st_mode & S_IFMT))
		return differ(f,
			      "%s: type 0%o in the mount, 0%o in the "
			      "reference\n",
			      rel, a->st_mode & S_IFMT, b->st_mode & S_IFMT);
	if (a->st_mode != b->st_mode)
		ret = differ(f,
			     "%s: mode 0%o in the mount, 0%o in the "
			     "reference\n",
			     rel, a->st_mode, b->st_mode);
	if (a->st_nlink != b->st_nlink)
		ret =
		    differ(f,
			   "%s: %ju links in the mount, %ju in the "
			   "reference\n",
			   rel, (uintmax_t)a->st_nlink, (uintmax_t)b->st_nlink);
	if (!S_ISDIR(a->st_mode) && a->st_size != b->st_size)
		ret = differ(f,
			     "%s: size %jd in the mount, %jd in the "
			     "reference\n",
			     rel, (intmax_t)a->st_size, (intmax_t)b->st_size);
	return ret;
}

/* Whether the contents of sub are compared after this op: the file the
 * op named, or one under a directory it named (a rename moves them). */
static bool touched(struct fsx *f, const char *sub)
{
	if (f->all_now)
		return true;
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(f->tpath[i]);

		if (n && !strncmp(sub, f->tpath[i], n) &&
		    (sub[n] == '\0' || sub[n] == '/'))
			return true;
	}
	return false;
}

/* Extended attributes of one entry: names and values must agree. */
static int cmp_xattrs(struct fsx *f, const char *sub, const char *pm,
		      const char *pr)
{
	char lm[1024], lr[1024], vm[256], vr[256];
	ssize_t nm = llistxattr(pm, lm, sizeof(lm));
	ssize_t nr = llistxattr(pr, lr, sizeof(lr));

	if (nm != nr || (nm > 0 && memcmp(lm, lr, nm)))
		return differ(f,
			      "%s: xattr names differ (%zd bytes in the "
			      "mount, %zd in the reference)\n",
			      sub, nm, nr);
	for (ssize_t i = 0; i < nm; i += strlen(lm + i) + 1) {
		ssize_t a = lgetxattr(pm, lm + i, vm, sizeof(vm));
		ssize_t b = lgetxattr(pr, lm + i, vr, sizeof(vr));

		if (a != b || (a > 0 && memcmp(vm, vr, a)))
			return differ(f, "%s: xattr %s differs\n", sub, lm + i);
	}
	return 0;
}

/* Compare the subtree rel ("" for the top) of both roots. */
static int cmp_tree(struct fsx *f, const char *rel)
{
	char pm[8192], pr[8192], sub[4096];
	char **lm, **lr;
	int nm, nr, ret = 0;

	snprintf(pm, sizeof(pm), "%s/%s", f->root[0], rel);
	snprintf(pr, sizeof(pr), "%s/%s", f->root[1], rel);
	lm = list_dir(pm, &nm);
	lr = list_dir(pr, &nr);
	if (nm < 0 || nr < 0) {
		ret =
		    differ(f, "%s/: cannot list (%s)\n", rel, strerror(errno));
		goto out;
	}
	for (int i = 0; i < nm || i < nr; i++) {
		if (i >= nm || i >= nr || strcmp(lm[i], lr[i])) {
			ret = differ(f,
				     "%s/: listing differs: '%s' in the "
				     "mount where the reference has '%s'\n",
				     rel, i < nm ? lm[i] : "(end)",
				     i < nr ? lr[i] : "(end)");
			goto out;
		}
	}
	for (int i = 0; i < nm && !ret; i++) {
		struct stat sm, sr;

		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "",
			 lm[i]);
		snprintf(pm, sizeof(pm), "%s/%s", f->root[0], sub);
		snprintf(pr, sizeof(pr), "%s/%s", f->root[1], sub);
		if (lstat(pm, &sm) < 0 || lstat(pr, &sr) < 0) {
			ret =
			    differ(f, "%s: lstat: %s\n", sub, strerror(errno));
			break;
		}
		ret = cmp_stat(f, sub, &sm, &sr);
		if (!ret && !S_ISLNK(sm.st_mode))
			ret = cmp_xattrs(f, sub, pm, pr);
		if (ret)
			break;
		if (S_ISDIR(sm.st_mode))
			ret = cmp_tree(f, sub);
		else if (S_ISREG(sm.st_mode) && touched(f, sub))
			ret = cmp_data(f, sub,
				       read_file(pm, f->buf[0], MAX_SIZE * 2),
				       read_file(pr, f->buf[1], MAX_SIZE * 2));
	}
out:
	free_list(lm);
	free_list(lr);
	return ret;
}

/* The whole file behind fd (it may be unlinked), up to 2 * MAX_SIZE. */
static ssize_t pread_all(int fd, unsigned char *buf)
{
	ssize_t n, total = 0;

	while (total < MAX_SIZE * 2) {
		n = pread(fd, buf + total, MAX_SIZE * 2 - total, total);
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		total += n;
	}
	return total;
}

/* Open handles: same size and link count (they may be unlinked), and
 * the contents of those the op touched. */
static int cmp_handles(struct fsx *f)
{
	for (int i = 0; i < NHANDLES; i++) {
		struct stat a, b;
		char what[128];

		if (f->h[i].fd[0] < 0)
			continue;
		if (fstat(f->h[i].fd[0], &a) < 0 ||
		    fstat(f->h[i].fd[1], &b) < 0)
			return differ(f, "handle %d: fstat: %s\n", i,
				      strerror(errno));
		snprintf(what, sizeof(what), "handle %d (opened as %s)", i,
			 f->h[i].path);
		if (cmp_stat(f, what, &a, &b))
			return -1;
		if ((f->all_now || &f->h[i] == f->th[0] ||
		     &f->h[i] == f->th[1]) &&
		    cmp_data(f, what, pread_all(f->h[i].fd[0], f->buf[0]),
			     pread_all(f->h[i].fd[1], f->buf[1])))
			return -1;
	}
	return 0;
}

/* ---- operations --------------------------------------------------------- */

static const char *some_file(struct fsx *f)
{
	static char path[64];
	uint64_t d = below(f, NDIRS + 1);

	snprintf(path, sizeof(path), "%s%s%s", d == NDIRS ? "" : dirs[d],
		 d == NDIRS ? "" : "/", names[below(f, NNAMES)]);
	return path;
}

static const char *some_dir(struct fsx *f)
{
	return dirs[below(f, NDIRS)];
}

/* A file or a directory, for rename. */
static const char *some_entry(struct fsx *f)
{
	return below(f, 4) ? some_file(f) : some_dir(f);
}

static void full(struct fsx *f, int t, const char *rel, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", f->root[t], rel);
}

/* Note what the current op touches, for the comparison after it. */
static void touch(struct fsx *f, const char *path, struct handle *h)
{
	int i = f->tpath[0][0] ? 1 : 0;

	if (path)
		snprintf(f->tpath[i], sizeof(f->tpath[i]), "%s", path);
	if (h)
		f->th[f->th[0] ? 1 : 0] = h;
}

static struct handle *some_handle(struct fsx *f)
{
	int i = below(f, NHANDLES);

	for (int k = 0; k < NHANDLES; k++) {
		struct handle *h = &f->h[(i + k) % NHANDLES];

		if (h->fd[0] >= 0)
			return h;
	}
	return NULL;
}

static int close_handle(struct fsx *f, struct handle *h)
{
	long m = outcome(close(h->fd[0]));
	long r = outcome(close(h->fd[1]));

	h->fd[0] = h->fd[1] = -1;
	return same(f, m, r);
}

static int op_open(struct fsx *f)
{
	static const int extra[] = {
	    0,	     O_CREAT,		O_CREAT,  O_CREAT | O_EXCL,
	    O_TRUNC, O_CREAT | O_TRUNC, O_APPEND, O_CREAT | O_APPEND};
	const char *rel = some_file(f);
	int flags = O_RDWR | extra[below(f, sizeof(extra) / sizeof(*extra))];
	mode_t mode = below(f, 2) ? 0644 : 0600;
	struct handle *h = &f->h[below(f, NHANDLES)];
	char p[2][8192];
	int fd[2];

	if (h->fd[0] >= 0 && close_handle(f, h))
		return -1;
	touch(f, rel, h);
	describe(f, "open %s flags 0%o mode 0%o (handle %td)", rel, flags, mode,
		 h - f->h);
	for (int t = 0; t < 2; t++) {
		full(f, t, rel, p[t], sizeof(p[t]));
		fd[t] = open(p[t], flags, mode);
		if (fd[t] < 0)
			fd[t] = -errno;
	}
	if (same(f, fd[0] < 0 ? fd[0] : 0, fd[1] < 0 ? fd[1] : 0)) {
		for (int t = 0; t < 2; t++)
			if (fd[t] >= 0)
				close(fd[t]);
		return -1;
	}
	if (fd[0] >= 0) {
		h->fd[0] = fd[0];
		h->fd[1] = fd[1];
		h->flags = flags;
		snprintf(h->path, sizeof(h->path), "%s", rel);
	}
	return 0;
}

static int op_close(struct fsx *f)
{
	struct handle *h = some_handle(f);

	if (!h)
		return 0;
	touch(f, h->path, NULL);
	describe(f, "close handle %td (%s)", h - f->h, h->path);
	return close_handle(f, h);
}

static int op_write(struct fsx *f)
{
	struct handle *h = some_handle(f);
	uint64_t len = some_len(f, MAX_WRITE);
	uint64_t off = below(f, MAX_SIZE - len);
	long m, r;

	if (!h)
		return 0;
	for (uint64_t i = 0; i < len; i++)
		f->wbuf[i] = rnd(f);
	touch(f, NULL, h);
	if (h->flags & O_APPEND) {
		describe(f, "write handle %td (%s, O_APPEND) len %" PRIu64,
			 h - f->h, h->path, len);
		m = outcome(write(h->fd[0], f->wbuf, len));
		r = outcome(write(h->fd[1], f->wbuf, len));
	} else {
		describe(f,
			 "pwrite handle %td (%s) off %" PRIu64 " len %" PRIu64,
			 h - f->h, h->path, off, len);
		m = outcome(pwrite(h->fd[0], f->wbuf, len, off));
		r = outcome(pwrite(h->fd[1], f->wbuf, len, off));
	}
	return same(f, m, r);
}

static int op_read(struct fsx *f)
{
	struct handle *h = some_handle(f);
	uint64_t len = some_len(f, MAX_SIZE);
	uint64_t off = below(f, MAX_SIZE);
	long m, r;

	if (!h)
		return 0;
	touch(f, NULL, h);
	describe(f, "pread handle %td (%s) off %" PRIu64 " len %" PRIu64,
		 h - f->h, h->path, off, len);
	m = outcome(pread(h->fd[0], f->buf[0], len, off));
	r = outcome(pread(h->fd[1], f->buf[1], len, off));
	if (same(f, m, r))
		return -1;
	return m > 0 ? cmp_data(f, "read back", m, r) : 0;
}

static int op_ftruncate(struct fsx *f)
{
	struct handle *h = some_handle(f);
	uint64_t size = below(f, 3) ? below(f, MAX_SIZE) : below(f, 64);

	if (!h)
		return 0;
	touch(f, NULL, h);
	describe(f, "ftruncate handle %td (%s) to %" PRIu64, h - f->h, h->path,
		 size);
	return same(f, outcome(ftruncate(h->fd[0], size)),
		    outcome(ftruncate(h->fd[1], size)));
}

static int op_truncate(struct fsx *f)
{
	const char *rel = some_file(f);
	uint64_t size = below(f, MAX_SIZE);
	char p[2][8192];

	touch(f, rel, NULL);
	describe(f, "truncate %s to %" PRIu64, rel, size);
	full(f, 0, rel, p[0], sizeof(p[0]));
	full(f, 1, rel, p[1], sizeof(p[1]));
	return same(f, outcome(truncate(p[0], size)),
		    outcome(truncate(p[1], size)));
}

static int op_fallocate(struct fsx *f)
{
	static const struct {
		int mode;	  /* FALLOC_FL_* */
		const char *name; /* for messages */
	} modes[] = {
	    {0, "0"},
	    {FALLOC_FL_KEEP_SIZE, "keep_size"},
	    {FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, "punch_hole"},
	    {FALLOC_FL_ZERO_RANGE, "zero_range"},
	    {FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
	     "zero_range|keep_size"},
	};
	struct handle *h = some_handle(f);
	int k = f->basic ? 0 : below(f, sizeof(modes) / sizeof(*modes));
	uint64_t len = some_len(f, MAX_SIZE / 2);
	uint64_t off = below(f, MAX_SIZE - len);

	if (!h || f->basic)
		return 0;
	touch(f, NULL, h);
	describe(
	    f, "fallocate handle %td (%s) mode %s off %" PRIu64 " len %" PRIu64,
	    h - f->h, h->path, modes[k].name, off, len);
	return same(f, outcome(fallocate(h->fd[0], modes[k].mode, off, len)),
		    outcome(fallocate(h->fd[1], modes[k].mode, off, len)));
}

static int op_sync(struct fsx *f)
{
	struct handle *h = some_handle(f);
	bool data = below(f, 2);

	if (!h)
		return 0;
	touch(f, NULL, h);
	describe(f, "%s handle %td (%s)", data ? "fdatasync" : "fsync",
		 h - f->h, h->path);
	if (data)
		return same(f, outcome(fdatasync(h->fd[0])),
			    outcome(fdatasync(h->fd[1])));
	return same(f, outcome(fsync(h->fd[0])), outcome(fsync(h->fd[1])));
}

static int op_copy(struct fsx *f)
{
	struct handle *a = some_handle(f), *b = some_handle(f);
	uint64_t len = some_len(f, MAX_SIZE / 2);
	uint64_t so = below(f, MAX_SIZE), dof = below(f, MAX_SIZE - len);
	loff_t s[2] = {so, so}, d[2] = {dof, dof};
	long m, r;

	if (!a)
		return 0;
	touch(f, NULL, a);
	touch(f, NULL, b);
	describe(f,
		 "copy_file_range handle %td (%s) off %" PRIu64
		 " -> handle %td (%s) off %" PRIu64 " len %" PRIu64,
		 a - f->h, a->path, so, b - f->h, b->path, dof, len);
	m = outcome(copy_file_range(a->fd[0], &s[0], b->fd[0], &d[0], len, 0));
	r = outcome(copy_file_range(a->fd[1], &s[1], b->fd[1], &d[1], len, 0));
	return same(f, m, r);
}

static int op_rename(struct fsx *f)
{
	static const struct {
		unsigned int flags; /* RENAME_* */
		const char *name;   /* for messages */
	} kinds[] = {
	    {0, ""},
	    {0, ""},
	    {0, ""},
	    {RENAME_NOREPLACE, " RENAME_NOREPLACE"},
	    {RENAME_EXCHANGE, " RENAME_EXCHANGE"},
	};
	char from[64], to[64], p[2][2][8192];
	int k = f->basic ? 0 : below(f, sizeof(kinds) / sizeof(*kinds));
	long res[2];

	snprintf(from, sizeof(from), "%s", some_entry(f));
	snprintf(to, sizeof(to), "%s", some_entry(f));
	touch(f, from, NULL);
	touch(f, to, NULL);
	describe(f, "rename %s -> %s%s", from, to, kinds[k].name);
	for (int t = 0; t < 2; t++) {
		full(f, t, from, p[t][0], sizeof(p[t][0]));
		full(f, t, to, p[t][1], sizeof(p[t][1]));
		res[t] = outcome(renameat2(AT_FDCWD, p[t][0], AT_FDCWD, p[t][1],
					   kinds[k].flags));
	}
	return same(f, res[0], res[1]);
}

/* Path operations of one or two names: link, unlink, mkdir, rmdir ... */
static int op_path(struct fsx *f)
{
	char a[64], b[64], p[2][2][8192];
	int kind = below(f, 6);
	long res[2];

	snprintf(a, sizeof(a), "%s",
		 kind == 2 || kind == 3 ? some_dir(f) : some_file(f));
	snprintf(b, sizeof(b), "%s", some_file(f));
	touch(f, a, NULL);
	touch(f, b, NULL);
	switch (kind) {
	case 0: describe(f, "link %s -> %s", a, b); break;
	case 1: describe(f, "unlink %s", a); break;
	case 2: describe(f, "mkdir %s", a); break;
	case 3: describe(f, "rmdir %s", a); break;
	case 4: describe(f, "symlink %s -> %s", b, a); break;
	default: describe(f, "fsync directory %s", a); break;
	}
	for (int t = 0; t < 2; t++) {
		int fd;

		full(f, t, a, p[t][0], sizeof(p[t][0]));
		full(f, t, b, p[t][1], sizeof(p[t][1]));
		switch (kind) {
		case 0: res[t] = outcome(link(p[t][0], p[t][1])); break;
		case 1: res[t] = outcome(unlink(p[t][0])); break;
		case 2: res[t] = outcome(mkdir(p[t][0], 0755)); break;
		case 3: res[t] = outcome(rmdir(p[t][0])); break;
		case 4: res[t] = outcome(symlink(a, p[t][1])); break;
		default:
			/* the directory of a file path */
			*strrchr(p[t][0], '/') = '\0';
			fd = open(p[t][0], O_RDONLY | O_DIRECTORY);
			res[t] = outcome(fd);
			if (fd >= 0) {
				res[t] = outcome(fsync(fd));
				close(fd);
			}
			break;
		}
	}
	return same(f, res[0], res[1]);
}

/* chmod, setxattr or removexattr of a path. */
static int op_attr(struct fsx *f)
{
	static const mode_t modes[] = {0600, 0644, 0755, 0700, 0444};
	static const int xflags[] = {0, XATTR_CREATE, XATTR_REPLACE};
	static const char *const xnames[] = {"user.a", "user.b"};
	char a[64], p[2][8192], val[32];
	int kind = below(f, 3), x = below(f, 2);
	mode_t mode = modes[below(f, sizeof(modes) / sizeof(*modes))];
	int flags = xflags[below(f, 3)];
	long res[2];

	snprintf(a, sizeof(a), "%s", below(f, 4) ? some_file(f) : some_dir(f));
	snprintf(val, sizeof(val), "v%" PRIu64, below(f, 1000));
	touch(f, a, NULL);
	switch (kind) {
	case 0: describe(f, "chmod %s 0%o", a, mode); break;
	case 1:
		describe(f, "setxattr %s %s=%s flags %d", a, xnames[x], val,
			 flags);
		break;
	default: describe(f, "removexattr %s %s", a, xnames[x]); break;
	}
	for (int t = 0; t < 2; t++) {
		full(f, t, a, p[t], sizeof(p[t]));
		switch (kind) {
		case 0: res[t] = outcome(chmod(p[t], mode)); break;
		case 1:
			res[t] = outcome(lsetxattr(p[t], xnames[x], val,
						   strlen(val), flags));
			break;
		default: res[t] = outcome(lremovexattr(p[t], xnames[x])); break;
		}
	}
	return same(f, res[0], res[1]);
}

/* The first non-zero byte of buf[a, b), or -1. */
static ssize_t nonzero(const unsigned char *buf, ssize_t a, ssize_t b)
{
	for (ssize_t i = a; i < b; i++)
		if (buf[i])
			return i;
	return -1;
}

/*
 * Is res (an offset or -errno) an answer POSIX allows to lseek(off,
 * whence) on a file holding buf[0, size)?  A hole reads as zeros, but an
 * all-zero range may be reported as data or as a hole: that depends on
 * allocation and on what the page cache holds (ext4 reports the cached
 * pages of an unwritten extent as data), which differs between two trees
 * and between two runs.  So the answer is checked against the bytes, not
 * against the other tree:
 *	SEEK_DATA: off <= res < size and [off, res) all zero; ENXIO when
 *		   off >= size or [off, size) is all zero;
 *	SEEK_HOLE: off <= res <= size (the end of the file is a hole) and
 *		   the byte at res, if any, is zero; ENXIO when off >= size.
 */
static int seek_ok(struct fsx *f, const char *tree, int whence, off_t off,
		   long res, const unsigned char *buf, ssize_t size)
{
	const char *w = whence == SEEK_DATA ? "SEEK_DATA" : "SEEK_HOLE";
	ssize_t nz = nonzero(buf, off < size ? off : size,
			     res >= off && res <= size ? res : size);

	if (off >= size)
		return res == -ENXIO
			   ? 0
			   : differ(f,
				    "%s: %s at %jd past the end "
				    "(size %zd) gave %ld, not "
				    "ENXIO\n",
				    tree, w, (intmax_t)off, size, res);
	if (whence == SEEK_DATA && res == -ENXIO)
		return nz < 0 ? 0
			      : differ(f,
				       "%s: SEEK_DATA at %jd found no data, "
				       "but byte %zd is 0x%02x\n",
				       tree, (intmax_t)off, nz, buf[nz]);
	if (res < off || res > size || (whence == SEEK_DATA && res == size))
		return differ(f, "%s: %s at %jd gave %ld (size %zd)\n", tree, w,
			      (intmax_t)off, res, size);
	if (whence == SEEK_DATA && nz >= 0)
		return differ(f,
			      "%s: SEEK_DATA at %jd gave %ld, but byte %zd "
			      "before it is 0x%02x\n",
			      tree, (intmax_t)off, res, nz, buf[nz]);
	if (whence == SEEK_HOLE && res < size && buf[res])
		return differ(f,
			      "%s: SEEK_HOLE at %jd gave %ld, which holds "
			      "0x%02x\n",
			      tree, (intmax_t)off, res, buf[res]);
	return 0;
}

static int op_seek(struct fsx *f)
{
	static const char *const tree[2] = {"the mount", "the reference"};
	struct handle *h = some_handle(f);
	int whence = below(f, 2) ? SEEK_DATA : SEEK_HOLE;
	uint64_t off = below(f, MAX_SIZE);
	long res[2];
	ssize_t n[2];

	if (!h)
		return 0;
	touch(f, NULL, h);
	describe(f, "lseek handle %td (%s) %" PRIu64 " %s", h - f->h, h->path,
		 off, whence == SEEK_DATA ? "SEEK_DATA" : "SEEK_HOLE");
	for (int t = 0; t < 2; t++)
		res[t] = outcome(lseek(h->fd[t], (off_t)off, whence));
	/* an error other than ENXIO (EBADF, EINVAL) must be the same */
	if ((res[0] < 0 && res[0] != -ENXIO) ||
	    (res[1] < 0 && res[1] != -ENXIO))
		return same(f, res[0], res[1]);
	for (int t = 0; t < 2; t++) {
		n[t] = pread_all(h->fd[t], f->buf[t]);
		if (n[t] < 0)
			return differ(f, "%s: cannot read the file: %s\n",
				      tree[t], strerror((int)-n[t]));
	}
	/* the contents must agree (cmp_handles says where they differ) */
	if (n[0] != n[1] || memcmp(f->buf[0], f->buf[1], n[0]))
		return 0;
	for (int t = 0; t < 2; t++)
		if (seek_ok(f, tree[t], whence, (off_t)off, res[t], f->buf[t],
			    n[t]))
			return -1;
	return 0;
}

static int one_op(struct fsx *f)
{
	static const struct {
		int (*fn)(struct fsx *); /* the operation */
		int weight;		 /* how often, relatively */
	} ops[] = {
	    {op_open, 10},     {op_close, 4},	  {op_write, 20},
	    {op_read, 6},      {op_ftruncate, 5}, {op_truncate, 3},
	    {op_fallocate, 6}, {op_sync, 5},	  {op_copy, 4},
	    {op_rename, 8},    {op_path, 12},	  {op_seek, 3},
	    {op_attr, 3},
	};
	int total = 0, pick;

	for (size_t i = 0; i < sizeof(ops) / sizeof(*ops); i++)
		total += ops[i].weight;
	pick = below(f, total);
	for (size_t i = 0; i < sizeof(ops) / sizeof(*ops); i++) {
		if (pick < ops[i].weight)
			return ops[i].fn(f);
		pick -= ops[i].weight;
	}
	return 0;
}

/* ---- main --------------------------------------------------------------- */

/* --fsync-each: fsync every open handle in both trees. */
static int sync_all(struct fsx *f)
{
	for (int i = 0; i < NHANDLES; i++)
		if (f->h[i].fd[0] >= 0 && same(f, outcome(fsync(f->h[i].fd[0])),
					       outcome(fsync(f->h[i].fd[1]))))
			return 1;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: fsx [--seed S] [--ops N] [--full] [--basic] "
			"[--fsync-each] [-v] MNTDIR REFDIR\n");
	return 2;
}

static int setup(struct fsx *f, char **dirs_arg)
{
	for (int t = 0; t < 2; t++) {
		snprintf(f->root[t], sizeof(f->root[t]), "%s/fsx", dirs_arg[t]);
		if (mkdir(f->root[t], 0755) < 0) {
			fprintf(stderr, "fsx: cannot create '%s': %s\n",
				f->root[t], strerror(errno));
			return -1;
		}
		f->buf[t] = malloc(MAX_SIZE * 2);
	}
	f->wbuf = malloc(MAX_WRITE);
	for (int i = 0; i < NHANDLES; i++)
		f->h[i].fd[0] = f->h[i].fd[1] = -1;
	if (!f->buf[0] || !f->buf[1] || !f->wbuf) {
		fprintf(stderr, "fsx: out of memory\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct fsx f = {.nops = 1000};
	bool seeded = false;
	int i, ret = 0;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			f.seed = strtoull(argv[++i], NULL, 0);
			seeded = true;
		} else if (!strcmp(argv[i], "--ops") && i + 1 < argc) {
			f.nops = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--full")) {
			f.full = true;
		} else if (!strcmp(argv[i], "--basic")) {
			f.basic = true;
		} else if (!strcmp(argv[i], "--fsync-each")) {
			f.fsync_each = true;
		} else if (!strcmp(argv[i], "-v")) {
			f.verbose = true;
		} else {
			return usage();
		}
	}
	if (argc - i != 2)
		return usage();
	if (!seeded) {
		struct timeval tv;

		gettimeofday(&tv, NULL);
		f.seed = (uint64_t)tv.tv_sec * 1000003 ^ tv.tv_usec ^ getpid();
	}
	f.rng = f.seed;
	printf("fsx: seed %" PRIu64 ", %" PRIu64 " ops\n", f.seed, f.nops);
	fflush(stdout);
	if (setup(&f, argv + i) < 0)
		return 2;
	umask(022);
	for (f.op = 1; f.op <= f.nops; f.op++) {
		snprintf(f.desc, sizeof(f.desc), "nothing (no open handle)");
		f.tpath[0][0] = f.tpath[1][0] = '\0';
		f.th[0] = f.th[1] = NULL;
		f.all_now = f.full || f.op % 32 == 0 || f.op == f.nops;
		if (one_op(&f) || (f.fsync_each && sync_all(&f)) ||
		    cmp_tree(&f, "") || cmp_handles(&f)) {
			ret = 1;
			break;
		}
	}
	if (ret) {
		printf("fsx: FAILED at op %" PRIu64 " of seed %" PRIu64
		       ": %s\n%s",
		       f.op, f.seed, f.desc, f.why);
		/* every option that changes the ops or the checks */
		printf("fsx: replay on a fresh mount: %s --seed %" PRIu64
		       " --ops %" PRIu64 "%s%s -v MNTDIR REFDIR\n",
		       argv[0], f.seed, f.op, f.basic ? " --basic" : "",
		       f.full ? " --full" : "");
	} else {
		printf("fsx: %" PRIu64 " ops, trees identical\n", f.nops);
	}
	for (i = 0; i < NHANDLES; i++)
		if (f.h[i].fd[0] >= 0)
			close_handle(&f, &f.h[i]);
	free(f.buf[0]);
	free(f.buf[1]);
	free(f.wbuf);
	return ret;
}
