/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The daemon's inode table: backing (st_ino, st_dev) -> struct cfs_inode,
 * which carries the stable trace id of the file.  See fs.h for the rules
 * (when an id is bound, how long it lives).
 *
 * A kernel-known inode holds an O_PATH fd on its backing inode (or, past
 * the fd budget, a file handle: see fs.h), so that inode cannot be freed
 * and its number reused while the kernel may still name it.  When the
 * kernel forgets an inode that still has a link, the fd is closed but the
 * entry (and so the id) stays; when the inode is gone (no link left,
 * nothing holds it) the entry is dropped.
 */
#include "fusefs/fs.h"
#include "fusefs/kio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct file_handle *inode_handle(int fd)
{
	struct file_handle *fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
	int mount_id;

	if (!fh)
		return NULL;
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", fh, &mount_id, AT_EMPTY_PATH) < 0) {
		free(fh);
		return NULL;
	}
	return fh;
}

int inode_fd(struct cfs *fs, struct cfs_inode *in)
{
	int fd;

	if (in->fd >= 0 || !in->fh)
		return in->fd >= 0 ? in->fd : -EBADF;
	fd = open_by_handle_at(fs->mount_fd, in->fh, O_PATH | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

void inode_fd_put(struct cfs_inode *in, int fd)
{
	if (fd >= 0 && fd != in->fd)
		close(fd);
}

/*
 * An fd an inode let go of under fs->tab, closed once the lock is let go:
 * the last close of a deleted file frees its blocks, which may take as
 * long as a rename, and every lookup, create and open waits for fs->tab.
 */
struct let_go {
	int fd;	     /* -1 if none */
	bool doomed; /* the inode was doomed: fs->doomed counts it still */
};

#define LET_GO_NONE ((struct let_go){.fd = -1})

/* Take in's held fd (fs->tab held); close_let_go() closes it. */
static void release_fd(struct cfs *fs, struct cfs_inode *in, struct let_go *g)
{
	if (in->fd < 0)
		return;
	g->fd = in->fd;
	g->doomed = in->doomed;
	in->fd = -1;
	in->doomed = false;
	fs->fds_held--;
}

/* Close what release_fd() took (fs->tab not held). */
static void close_let_go(struct cfs *fs, struct let_go *g)
{
	if (g->fd < 0)
		return;
	close(g->fd);
	if (g->doomed) {
		pthread_mutex_lock(&fs->tab);
		fs->doomed--;
		pthread_cond_broadcast(&fs->freed);
		pthread_mutex_unlock(&fs->tab);
	}
}

/* in is doomed if it is an unlinked file that no handle has open: only
 * its fd holds its space, until the kernel forgets it (fs->tab held). */
static void doom(struct cfs *fs, struct cfs_inode *in)
{
	if (in->unlinked && !in->nopen && in->fd >= 0 && !in->doomed) {
		in->doomed = true;
		fs->doomed++;
	}
}

/*
 * Let in keep *fd (fs->tab held, in has no fd): within the fd budget it
 * holds it (*fd becomes -1); beyond, it keeps a file handle instead and
 * the caller closes *fd.
 */
static void keep_fd(struct cfs *fs, struct cfs_inode *in, int *fd)
{
	if (*fd < 0 || in->fd >= 0 || in->fh)
		return;
	if (fs->handles && in->dev == fs->root.dev &&
	    fs->fds_held >= fs->fd_budget) {
		in->fh = inode_handle(*fd);
		if (in->fh)
			return;
	}
	in->fd = *fd;
	*fd = -1;
	fs->fds_held++;
}

/* Drop in from the table and free it (fs->tab held, no references); its
 * fd goes to g. */
static void drop(struct cfs *fs, struct cfs_inode *in, struct let_go *g)
{
	if (map_get(&fs->inodes, in->ino, in->dev) == in)
		map_del(&fs->inodes, in->ino, in->dev);
	release_fd(fs, in, g);
	free(in->fh);
	free(in->fpath);
	free(in);
}

/*
 * The kernel and every handle let go of in (fs->tab held): drop it if its
 * inode is gone, else let go of its fd (to g) and keep its id.  fd is any
 * fd on the inode to ask for its link count, -1 to use in->fd.
 */
static void settle(struct cfs *fs, struct cfs_inode *in, int fd,
		   struct let_go *g)
{
	struct stat st;
	int own = -1;
	bool gone;

	if (in == &fs->root)
		return;
	if (fd < 0)
		fd = own = inode_fd(fs, in);
	gone = fd == -ESTALE ||
	       (fd >= 0 && fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 &&
		st.st_nlink == 0);
	inode_fd_put(in, own);
	if (gone)
		drop(fs, in, g);
	else
		release_fd(fs, in, g);
}

/* A new table entry (fs->tab held), keeping *fd as keep_fd() does; the
 * caller sets id.  NULL on ENOMEM. */
static struct cfs_inode *add(struct cfs *fs, const struct stat *st, int *fd)
{
	struct cfs_inode *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->fd = -1;
	in->ino = st->st_ino;
	in->dev = st->st_dev;
	if (map_put(&fs->inodes, st->st_ino, st->st_dev, in)) {
		free(in);
		return NULL;
	}
	keep_fd(fs, in, fd);
	return in;
}

/* Record the first meeting with a pre-existing inode (order held). */
static void bind(struct cfs *fs, struct cfs_inode *parent, const char *name,
		 const struct stat *st, uint64_t id, uint32_t pid)
{
	struct trace_rec rec = {
	    .type = TR_BIND,
	    .pid = pid,
	    .id = id,
	    .parent = parent->id,
	    .name = name,
	    .mode = st->st_mode,
	    .len = (uint64_t)st->st_size,
	};

	order_append(fs, &rec);
}

/* Open parent/name O_PATH and stat it.  Returns the fd or -errno. */
static int open_path(struct cfs *fs, struct cfs_inode *parent, const char *name,
		     struct stat *st)
{
	int pfd = inode_fd(fs, parent), fd;

	if (pfd < 0)
		return pfd;
	fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	inode_fd_put(parent, pfd);
	if (fd < 0)
		return fd;
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Find the entry for st and take a kernel reference, giving it fd if it
 * has none (fs->tab held).  Returns NULL if there is no entry. */
static struct cfs_inode *find_ref(struct cfs *fs, const struct stat *st,
				  int *fd)
{
	struct cfs_inode *in = map_get(&fs->inodes, st->st_ino, st->st_dev);

	if (!in)
		return NULL;
	keep_fd(fs, in, fd);
	in->nlookup++;
	return in;
}

struct cfs_inode *inode_lookup_locked(struct cfs *fs, struct cfs_inode *parent,
				      const char *name, struct stat *st,
				      uint32_t pid, int *err)
{
	struct cfs_inode *in;
	bool new = false;
	int fd;

	fd = open_path(fs, parent, name, st);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	pthread_mutex_lock(&fs->tab);
	in = find_ref(fs, st, &fd);
	if (!in) {
		in = add(fs, st, &fd);
		if (in) {
			in->id = fs->next_id++;
			in->nlookup = 1;
			new = true;
		}
	}
	pthread_mutex_unlock(&fs->tab);
	if (fd >= 0)
		close(fd);
	if (!in) {
		*err = -ENOMEM;
		return NULL;
	}
	if (new)
		bind(fs, parent, name, st, in->id, pid);
	return in;
}

struct cfs_inode *inode_lookup(struct cfs *fs, struct cfs_inode *parent,
			       const char *name, struct stat *st, uint32_t pid,
			       int *err)
{
	struct trace_rec rec = {.type = TR_BIND, .name = name};
	struct cfs_inode *in;
	int fd;

	fd = open_path(fs, parent, name, st);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	pthread_mutex_lock(&fs->tab);
	in = find_ref(fs, st, &fd);
	pthread_mutex_unlock(&fs->tab);
	if (fd >= 0)
		close(fd);
	if (in)
		return in;

	/* First meeting: bind it under the ordering lock. */
	*err = order_begin(fs, &rec);
	if (*err)
		return NULL;
	in = inode_lookup_locked(fs, parent, name, st, pid, err);
	order_end(fs);
	return in;
}

uint64_t inode_id_locked(struct cfs *fs, struct cfs_inode *parent,
			 const char *name, struct stat *st, uint32_t pid)
{
	struct cfs_inode *in;
	uint64_t id = 0;
	bool new = false;

	int pfd = inode_fd(fs, parent), fd = -1, res = -1;

	if (pfd >= 0)
		res = fstatat(pfd, name, st, AT_SYMLINK_NOFOLLOW);
	inode_fd_put(parent, pfd);
	if (res < 0) {
		memset(st, 0, sizeof(*st));
		return 0;
	}
	pthread_mutex_lock(&fs->tab);
	in = map_get(&fs->inodes, st->st_ino, st->st_dev);
	if (!in) {
		in = add(fs, st, &fd);
		if (in) {
			in->id = fs->next_id++;
			new = true;
		}
	}
	if (in)
		id = in->id;
	pthread_mutex_unlock(&fs->tab);
	if (new)
		bind(fs, parent, name, st, id, pid);
	return id;
}

struct cfs_inode *inode_new_locked(struct cfs *fs, struct cfs_inode *parent,
				   const char *name, struct stat *st, int *err)
{
	struct cfs_inode *in, *old;
	struct let_go g = LET_GO_NONE;
	int fd = open_path(fs, parent, name, st);

	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	pthread_mutex_lock(&fs->tab);
	/* A fresh inode: any entry under its number is stale. */
	old = map_get(&fs->inodes, st->st_ino, st->st_dev);
	if (old) {
		map_del(&fs->inodes, st->st_ino, st->st_dev);
		if (!old->nlookup && !old->nopen)
			drop(fs, old, &g);
	}
	in = add(fs, st, &fd);
	if (in) {
		in->id = fs->next_id++;
		in->nlookup = 1;
	}
	pthread_mutex_unlock(&fs->tab);
	close_let_go(fs, &g);
	if (fd >= 0)
		close(fd);
	if (!in)
		*err = -ENOMEM;
	return in;
}

void inode_ref(struct cfs *fs, struct cfs_inode *in)
{
	pthread_mutex_lock(&fs->tab);
	in->nlookup++;
	pthread_mutex_unlock(&fs->tab);
}

void inode_forget(struct cfs *fs, struct cfs_inode *in, uint64_t n)
{
	struct let_go g = LET_GO_NONE;

	if (in == &fs->root)
		return;
	pthread_mutex_lock(&fs->tab);
	in->nlookup = n < in->nlookup ? in->nlookup - n : 0;
	if (!in->nlookup && !in->nopen)
		settle(fs, in, -1, &g);
	pthread_mutex_unlock(&fs->tab);
	close_let_go(fs, &g);
}

void inode_open(struct cfs *fs, struct cfs_inode *in)
{
	pthread_mutex_lock(&fs->tab);
	in->nopen++;
	if (in->doomed) { /* opened again (through /proc/PID/fd) */
		in->doomed = false;
		fs->doomed--;
	}
	pthread_mutex_unlock(&fs->tab);
}

void inode_close(struct cfs *fs, struct cfs_inode *in, int fd)
{
	struct let_go g = LET_GO_NONE;

	pthread_mutex_lock(&fs->tab);
	if (in->nopen)
		in->nopen--;
	if (!in->nlookup && !in->nopen)
		settle(fs, in, fd, &g);
	else
		doom(fs, in);
	pthread_mutex_unlock(&fs->tab);
	close_let_go(fs, &g);
}

void inode_unlinked_locked(struct cfs *fs, const struct stat *st)
{
	struct let_go g = LET_GO_NONE;
	struct cfs_inode *in;

	if (!st->st_ino)
		return;
	pthread_mutex_lock(&fs->tab);
	in = map_get(&fs->inodes, st->st_ino, st->st_dev);
	/* A kernel-known inode is settled when the kernel forgets it. */
	if (!in || in == &fs->root)
		;
	else if (!in->nlookup && !in->nopen &&
		 (S_ISDIR(st->st_mode) || st->st_nlink <= 1))
		drop(fs, in, &g);
	else if (!S_ISDIR(st->st_mode) && st->st_nlink <= 1) {
		in->unlinked = true;
		doom(fs, in);
	}
	pthread_mutex_unlock(&fs->tab);
	close_let_go(fs, &g);
}

bool inode_space_wait(struct cfs *fs, int err)
{
	struct timespec end;
	bool waited = false;
	int saved = errno;

	if (err != -ENOSPC && err != -EDQUOT)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_nsec += SPACE_WAIT_MS % 1000 * 1000000L;
	end.tv_sec += SPACE_WAIT_MS / 1000 + end.tv_nsec / 1000000000L;
	end.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&fs->tab);
	while (fs->doomed || kio_releases_unserved()) {
		waited = true;
		if (pthread_cond_timedwait(&fs->freed, &fs->tab, &end))
			break;
	}
	pthread_mutex_unlock(&fs->tab);
	errno = saved;
	return waited;
}

void inode_release_served(struct cfs *fs)
{
	pthread_mutex_lock(&fs->tab);
	kio_release_served();
	pthread_cond_broadcast(&fs->freed);
	pthread_mutex_unlock(&fs->tab);
}
