/** @file
 *
 * The daemon's inode table: backing (st_ino, st_dev) -> struct cfs_inode,
 * which carries the stable trace id of the file.  See fs.h for the rules
 * (when an id is bound, how long it lives).
 *
 * A kernel-known inode holds an O_PATH fd on its backing inode, so that
 * inode cannot be freed and its number reused while the kernel may still
 * name it.  When the kernel forgets an inode that still has a link, the fd
 * is closed but the entry (and so the id) stays; when the inode is gone
 * (no link left, nothing holds it) the entry is dropped.
 */
#include "fusefs/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Drop in from the table and free it (fs->tab held, no references). */
static void drop(struct cfs *fs, struct cfs_inode *in)
{
	if (map_get(&fs->inodes, in->ino, in->dev) == in)
		map_del(&fs->inodes, in->ino, in->dev);
	if (in->fd >= 0)
		close(in->fd);
	free(in);
}

/*
 * The kernel and every handle let go of in (fs->tab held): drop it if its
 * inode is gone, else close its fd and keep its id.  fd is any fd on the
 * inode to ask for its link count, -1 to use in->fd.
 */
static void settle(struct cfs *fs, struct cfs_inode *in, int fd)
{
	struct stat st;

	if (in == &fs->root)
		return;
	if (fd < 0)
		fd = in->fd;
	if (fd >= 0 && fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 &&
	    st.st_nlink == 0) {
		drop(fs, in);
		return;
	}
	if (in->fd >= 0) {
		close(in->fd);
		in->fd = -1;
	}
}

/* A new table entry (fs->tab held); the caller sets id.  NULL on ENOMEM. */
static struct cfs_inode *add(struct cfs *fs, const struct stat *st, int fd)
{
	struct cfs_inode *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->fd = fd;
	in->ino = st->st_ino;
	in->dev = st->st_dev;
	if (map_put(&fs->inodes, st->st_ino, st->st_dev, in)) {
		free(in);
		return NULL;
	}
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
static int open_path(struct cfs_inode *parent, const char *name,
		     struct stat *st)
{
	int fd = openat(parent->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
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
	if (in->fd < 0) {
		in->fd = *fd;
		*fd = -1;
	}
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

	fd = open_path(parent, name, st);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	pthread_mutex_lock(&fs->tab);
	in = find_ref(fs, st, &fd);
	if (!in) {
		in = add(fs, st, fd);
		if (in) {
			fd = -1;
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

	fd = open_path(parent, name, st);
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

	if (fstatat(parent->fd, name, st, AT_SYMLINK_NOFOLLOW) < 0) {
		memset(st, 0, sizeof(*st));
		return 0;
	}
	pthread_mutex_lock(&fs->tab);
	in = map_get(&fs->inodes, st->st_ino, st->st_dev);
	if (!in) {
		in = add(fs, st, -1);
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
	int fd = open_path(parent, name, st);

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
			drop(fs, old);
	}
	in = add(fs, st, fd);
	if (in) {
		in->id = fs->next_id++;
		in->nlookup = 1;
	}
	pthread_mutex_unlock(&fs->tab);
	if (!in) {
		close(fd);
		*err = -ENOMEM;
	}
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
	if (in == &fs->root)
		return;
	pthread_mutex_lock(&fs->tab);
	in->nlookup = n < in->nlookup ? in->nlookup - n : 0;
	if (!in->nlookup && !in->nopen)
		settle(fs, in, -1);
	pthread_mutex_unlock(&fs->tab);
}

void inode_open(struct cfs *fs, struct cfs_inode *in)
{
	pthread_mutex_lock(&fs->tab);
	in->nopen++;
	pthread_mutex_unlock(&fs->tab);
}

void inode_close(struct cfs *fs, struct cfs_inode *in, int fd)
{
	pthread_mutex_lock(&fs->tab);
	if (in->nopen)
		in->nopen--;
	if (!in->nlookup && !in->nopen)
		settle(fs, in, fd);
	pthread_mutex_unlock(&fs->tab);
}

void inode_unlinked_locked(struct cfs *fs, const struct stat *st)
{
	struct cfs_inode *in;

	if (!st->st_ino)
		return;
	pthread_mutex_lock(&fs->tab);
	in = map_get(&fs->inodes, st->st_ino, st->st_dev);
	/* A kernel-known inode is settled when the kernel forgets it. */
	if (in && in != &fs->root && !in->nlookup && !in->nopen &&
	    (S_ISDIR(st->st_mode) || st->st_nlink <= 1))
		drop(fs, in);
	pthread_mutex_unlock(&fs->tab);
}
