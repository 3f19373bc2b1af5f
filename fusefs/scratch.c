/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The scratch directory of the power cut journal (see scratch.h).
 */
#include "fusefs/scratch.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define OWNER "owner"
#define OWNER_MAGIC "crashfs power cut scratch\n"

/* A name the journal makes at the top of its directory. */
static bool our_name(const char *n)
{
	if (!strcmp(n, OWNER) || !strcmp(n, "data"))
		return true;
	if ((n[0] != 'd' && n[0] != 'k') || !n[1])
		return false;
	for (n++; *n; n++)
		if (!isdigit((unsigned char)*n))
			return false;
	return true;
}

/* What walk() does with each entry. */
struct walk {
	bool remove;	/* remove it (else only count) */
	bool top;	/* at the top: only our names, the owner file kept */
	bool data;	/* ... and the data files (d<N>) kept */
	uint64_t bytes; /* freed (or that would be) */
	int err;	/* first -errno */
	void (*gone)(void *arg, const struct stat *st);
	void *arg;
};

static void walk_dir(int dfd, struct walk *w);

/* One entry of dfd. */
static void walk_entry(int dfd, const char *name, struct walk *w)
{
	struct stat st;
	int sub;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT && !w->err)
			w->err = -errno;
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		sub = openat(dfd, name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 && errno == EACCES && w->remove &&
		    fchmodat(dfd, name, 0700, 0) == 0)
			sub = openat(dfd, name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					 O_CLOEXEC);
		if (sub >= 0) {
			bool top = w->top;

			/* what a program made may have no write bit */
			if (w->remove && (st.st_mode & 0700) != 0700)
				fchmod(sub, 0700);
			w->top = false;
			walk_dir(sub, w);
			w->top = top;
			close(sub);
		} else if (!w->err) {
			w->err = -errno;
		}
	} else if (st.st_nlink <= 1) {
		w->bytes += (uint64_t)st.st_blocks * 512;
	}
	if (!w->remove)
		return;
	if (unlinkat(dfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0) {
		if (!w->err)
			w->err = -errno;
	} else if (w->gone) {
		w->gone(w->arg, &st);
	}
}

static void walk_dir(int dfd, struct walk *w)
{
	struct dirent *d;
	DIR *dir;
	int fd;

	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (!w->err)
			w->err = -errno;
		return;
	}
	dir = fdopendir(fd);
	if (!dir) {
		if (!w->err)
			w->err = -errno;
		close(fd);
		return;
	}
	while ((d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (w->top && !strcmp(d->d_name, OWNER))
			continue;
		if (w->top && w->data && d->d_name[0] == 'd' &&
		    strcmp(d->d_name, "data"))
			continue;
		if (w->top && !our_name(d->d_name)) {
			if (!w->err)
				w->err = -ENOTEMPTY;
			continue;
		}
		walk_entry(dfd, d->d_name, w);
	}
	closedir(dir);
}

/* Does the directory dfd hold only names the journal makes? */
static bool only_ours(int dfd)
{
	struct dirent *d;
	bool ok = true;
	DIR *dir;
	int fd;

	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return false;
	}
	while (ok && (d = readdir(dir)))
		ok = !strcmp(d->d_name, ".") || !strcmp(d->d_name, "..") ||
		     our_name(d->d_name);
	closedir(dir);
	return ok;
}

int scratch_empty(int dfd, uint64_t *bytes,
		  void (*gone)(void *arg, const struct stat *st), void *arg)
{
	struct walk w = {.remove = true, .top = true, .gone = gone, .arg = arg};

	walk_dir(dfd, &w);
	if (bytes)
		*bytes = w.bytes;
	return w.err;
}

int scratch_empty_cut(int dfd, void (*gone)(void *arg, const struct stat *st),
		      void *arg)
{
	struct walk w = {.remove = true,
			 .top = true,
			 .data = true,
			 .gone = gone,
			 .arg = arg};

	walk_dir(dfd, &w);
	return w.err;
}

struct reap {
	int dfd;      /* the scratch directory (a dup) */
	size_t n;     /* data files to remove */
	uint64_t d[]; /* d<N> */
};

static void *reap_thread(void *arg)
{
	struct reap *r = arg;
	char tn[32];

	for (size_t i = 0; i < r->n; i++) {
		snprintf(tn, sizeof(tn), "d%llu", (unsigned long long)r->d[i]);
		unlinkat(r->dfd, tn, 0);
	}
	close(r->dfd);
	free(r);
	return NULL;
}

void scratch_reap(int dfd, const uint64_t *data, size_t n)
{
	struct reap *r = n ? malloc(sizeof(*r) + n * sizeof(*data)) : NULL;
	pthread_attr_t attr;
	pthread_t t;

	if (!r)
		goto out_sync;
	r->dfd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	r->n = n;
	memcpy(r->d, data, n * sizeof(*data));
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (r->dfd >= 0 && pthread_create(&t, &attr, reap_thread, r) == 0) {
		pthread_attr_destroy(&attr);
		return;
	}
	pthread_attr_destroy(&attr);
	if (r->dfd >= 0)
		close(r->dfd);
	free(r);
out_sync:
	for (size_t i = 0; i < n; i++) {
		char tn[32];

		snprintf(tn, sizeof(tn), "d%llu", (unsigned long long)data[i]);
		unlinkat(dfd, tn, 0);
	}
}

int scratch_clear_dir(int dfd, void (*gone)(void *arg, const struct stat *st),
		      void *arg)
{
	struct walk w = {.remove = true, .gone = gone, .arg = arg};

	walk_dir(dfd, &w);
	return w.err;
}

/* The pid an owner file names, 0 if none. */
static long owner_pid(int fd)
{
	char buf[256];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *p;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "\npid: ");
	return p ? strtol(p + 6, NULL, 10) : 0;
}

/*
 * Open the directory at path and tell its state: 1 stale, 0 live (*pid),
 * or -errno.  On 1 and 0, *dfd is the directory and *ofd the owner file
 * (-1 if it has none; on 1 locked by us).
 */
static int probe(const char *path, int *dfd, int *ofd, long *pid)
{
	struct stat st;

	*dfd = *ofd = -1;
	*pid = 0;
	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	*dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*dfd < 0)
		return -errno;
	if (!only_ours(*dfd))
		goto out_notours;
	*ofd = openat(*dfd, OWNER, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (*ofd < 0) {
		/* No owner file: made by an older daemon, or by one killed
		 * before it wrote it; nothing but the journal's names. */
		int e = errno;

		if (e == ENOENT)
			return 1;
		close(*dfd);
		*dfd = -1;
		return -e;
	}
	*pid = owner_pid(*ofd);
	if (flock(*ofd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? 0 : -errno;
	return 1;

out_notours:
	close(*dfd);
	*dfd = -1;
	return -ENOTEMPTY;
}

static void close_fds(int dfd, int ofd)
{
	if (ofd >= 0)
		close(ofd);
	if (dfd >= 0)
		close(dfd);
}

int scratch_probe(const char *path, long *pid, uint64_t *bytes)
{
	struct walk w = {.top = true};
	int dfd, ofd, res;

	res = probe(path, &dfd, &ofd, pid);
	if (res >= 0 && bytes) {
		walk_dir(dfd, &w);
		*bytes = w.bytes;
	}
	close_fds(dfd, ofd);
	return res;
}

int scratch_remove_stale(const char *path, uint64_t *bytes)
{
	int dfd, ofd, res;
	long pid;

	*bytes = 0;
	res = probe(path, &dfd, &ofd, &pid);
	if (res == -ENOENT)
		return 0;
	if (res == 0)
		res = -EBUSY;
	if (res < 0)
		goto out;
	res = scratch_empty(dfd, bytes, NULL, NULL);
	if (!res && ofd >= 0 && unlinkat(dfd, OWNER, 0) < 0)
		res = -errno;
	if (!res && rmdir(path) < 0)
		res = -errno;
	if (!res)
		res = 1;
out:
	close_fds(dfd, ofd);
	return res;
}

int scratch_open(const char *path, const char *mount, int *lockfd,
		 uint64_t *stale, char *err, size_t errlen)
{
	int dfd = -1, ofd = -1, res;
	char buf[PATH_MAX + 128];
	long pid;

	*lockfd = -1;
	*stale = 0;
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		res = -errno;
		snprintf(err, errlen, "cannot make '%s': %s", path,
			 strerror(errno));
		return res;
	}
	res = probe(path, &dfd, &ofd, &pid);
	if (res == 0) {
		snprintf(err, errlen,
			 "'%s' is in use by a running crashfs daemon (pid "
			 "%ld)",
			 path, pid);
		res = -EBUSY;
		goto out_close;
	}
	if (res < 0) {
		snprintf(
		    err, errlen,
		    res == -ENOTEMPTY ? "'%s' exists and is not a crashfs "
					"scratch directory (it holds files "
					"crashfs did not make)"
		    : res == -ENOTDIR ? "'%s' exists and is not a directory"
				      : "cannot use '%s': %s",
		    path, strerror(-res));
		goto out_close;
	}
	res = scratch_empty(dfd, stale, NULL, NULL);
	if (res) {
		snprintf(
		    err, errlen,
		    "cannot empty the stale scratch directory '%s' left by "
		    "a killed daemon: %s",
		    path, strerror(-res));
		goto out_close;
	}
	if (ofd < 0) {
		ofd = openat(dfd, OWNER,
			     O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			     0600);
		if (ofd < 0 || flock(ofd, LOCK_EX | LOCK_NB) < 0) {
			res = -errno;
			snprintf(err, errlen, "cannot lock '%s/%s': %s", path,
				 OWNER, strerror(errno));
			goto out_close;
		}
	}
	snprintf(buf, sizeof(buf), OWNER_MAGIC "pid: %ld\nmount: %s\n",
		 (long)getpid(), mount);
	if (ftruncate(ofd, 0) < 0 ||
	    pwrite(ofd, buf, strlen(buf), 0) != (ssize_t)strlen(buf)) {
		res = -errno;
		snprintf(err, errlen, "cannot write '%s/%s': %s", path, OWNER,
			 strerror(errno));
		goto out_close;
	}
	*lockfd = ofd;
	return dfd;

out_close:
	close_fds(dfd, ofd);
	return res;
}

void scratch_close(const char *path, int dfd, int lockfd)
{
	if (dfd >= 0) {
		scratch_empty(dfd, NULL, NULL, NULL);
		unlinkat(dfd, OWNER, 0);
		close(dfd);
	}
	if (lockfd >= 0)
		close(lockfd);
	if (path)
		rmdir(path);
}
