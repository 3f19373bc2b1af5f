/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The daemon's state, its log, and the ordering point: the single lock
 * under which every mutating operation is applied to the backing directory
 * and appended to the trace (see fs.h).
 */
#include "core/util.h"
#include "fusefs/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

/* Room reserved beyond the record itself: a TR_BIND with a long name and
 * a small follow-up record (O_TRUNC's TR_TRUNCATE). */
#define ORDER_SLACK (2 * TRACE_NAME_MAX + 256)

/* Can inodes of the backing filesystem be reopened from file handles?
 * Sets fs->handles and the fd budget. */
static void probe_handles(struct cfs *fs)
{
	struct file_handle *fh = inode_handle(fs->root.fd);
	struct rlimit rl;
	int fd = -1;

	if (fh)
		fd = open_by_handle_at(fs->mount_fd, fh, O_PATH | O_CLOEXEC);
	fs->handles = fd >= 0;
	if (fd >= 0)
		close(fd);
	free(fh);
	fs->fd_budget = INT_MAX;
	if (fs->handles && getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 2 < INT_MAX)
		fs->fd_budget = (int)(rl.rlim_cur / 2);
}

/* fs->freed waits on the monotonic clock (inode_space_wait). */
static void init_freed(struct cfs *fs)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&fs->freed, &a);
	pthread_condattr_destroy(&a);
}

int cfs_init(struct cfs *fs, const char *backing)
{
	struct stat st;

	pthread_mutex_init(&fs->order, NULL);
	pthread_mutex_init(&fs->tab, NULL);
	init_freed(fs);
	pthread_mutex_init(&fs->errlock, NULL);
	fault_set_init(&fs->faults);
	fs->next_id = TRACE_ROOT_ID + 1;
	fs->next_fh = 1;
	fs->root.id = TRACE_ROOT_ID;
	fs->root.nlookup = 2;
	fs->root.fd = open(backing, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->root.fd < 0)
		return -errno;
	if (fstat(fs->root.fd, &st) < 0)
		return -errno;
	fs->root.ino = st.st_ino;
	fs->root.dev = st.st_dev;
	fs->mount_fd = open(backing, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->mount_fd < 0)
		return -errno;
	probe_handles(fs);
	return map_put(&fs->inodes, st.st_ino, st.st_dev, &fs->root);
}

void cfs_release(struct cfs *fs)
{
	struct cfs_inode *in;
	size_t pos = 0;

	fault_set_release(&fs->faults);
	while ((in = map_next(&fs->inodes, &pos, NULL, NULL))) {
		if (in->fd >= 0)
			close(in->fd);
		if (in != &fs->root) {
			free(in->fh);
			free(in->fpath);
			free(in);
		}
	}
	map_release(&fs->inodes);
	free(fs->root.fpath);
	fs->root.fpath = NULL;
	fs->root.fd = -1;
	if (fs->mount_fd > 0)
		close(fs->mount_fd);
	fs->mount_fd = -1;
}

static void vlog(const char *fmt, va_list ap, char *keep, size_t keeplen)
{
	char raw[512], msg[4 * sizeof(raw)];
	struct timespec now;
	struct tm tm;

	/* Escaped: a name or rule in it must not fake or split a line. */
	vsnprintf(raw, sizeof(raw), fmt, ap);
	util_escape(msg, sizeof(msg), raw);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	fprintf(
	    stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ crashfs[%d]: %s\n",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, now.tv_nsec / 1000000, (int)getpid(), msg);
	if (keep)
		util_escape(keep, keeplen, raw);
}

void cfs_log(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap, NULL, 0);
	va_end(ap);
	errno = saved;
}

void cfs_error(struct cfs *fs, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	pthread_mutex_lock(&fs->errlock);
	va_start(ap, fmt);
	vlog(fmt, ap, fs->last_error, sizeof(fs->last_error));
	va_end(ap);
	pthread_mutex_unlock(&fs->errlock);
	errno = saved;
}

void cfs_last_error(struct cfs *fs, char *buf, size_t len)
{
	pthread_mutex_lock(&fs->errlock);
	snprintf(buf, len, "%s", fs->last_error);
	pthread_mutex_unlock(&fs->errlock);
}

#define TGID_SLOTS 4096 /* tid -> tgid cache, direct-mapped */

/* (tid << 32 | tgid) per slot; 0 when empty. */
static _Atomic uint64_t tgid_cache[TGID_SLOTS];

uint32_t cfs_tgid(pid_t tid)
{
	_Atomic uint64_t *slot = &tgid_cache[(uint32_t)tid % TGID_SLOTS];
	char path[32], buf[512], *p;
	unsigned long tgid;
	uint64_t v;
	ssize_t n;
	int fd;

	if (tid <= 0)
		return 0;
	v = atomic_load_explicit(slot, memory_order_relaxed);
	if (v >> 32 == (uint32_t)tid)
		return (uint32_t)v;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return (uint32_t)tid;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return (uint32_t)tid;
	buf[n] = '\0';
	p = strstr(buf, "\nTgid:");
	if (!p)
		return (uint32_t)tid;
	tgid = strtoul(p + 6, NULL, 10);
	if (!tgid || tgid > UINT32_MAX)
		return (uint32_t)tid;
	atomic_store_explicit(slot, (uint64_t)(uint32_t)tid << 32 | tgid,
			      memory_order_relaxed);
	return (uint32_t)tgid;
}

int order_begin(struct cfs *fs, const struct trace_rec *rec)
{
	int err;

	pthread_mutex_lock(&fs->order);
	if (!fs->tw || fs->broken) {
		pthread_mutex_unlock(&fs->order);
		return -EIO;
	}
	err = trace_reserve(fs->tw, trace_rec_size(rec) + ORDER_SLACK);
	if (err) {
		fs->refused++;
		pthread_mutex_unlock(&fs->order);
		cfs_error(fs, "refused %s: no room for its trace record: %s",
			  trace_type_name(rec->type), strerror(-err));
		return err;
	}
	return 0;
}

int order_append(struct cfs *fs, struct trace_rec *rec)
{
	int err;

	if (fs->broken)
		return -EIO;
	err = trace_append(fs->tw, rec);
	if (err) {
		fs->broken = err;
		cfs_error(
		    fs,
		    "trace '%s' is broken: cannot append a %s record: %s; "
		    "further changes fail with EIO",
		    fs->trace_path, trace_type_name(rec->type), strerror(-err));
		return -EIO;
	}
	if (fs->recorded)
		fs->recorded(fs, rec);
	switch (rec->type) {
	case TR_FSYNC:
	case TR_FSYNCDIR: fs->fsyncs++; break;
	case TR_MARK: fs->marks++; break;
	/* What can change the path of an open file (fault rules' globs). */
	case TR_UNLINK: fs->names_gen++; break;
	case TR_RENAME:
	case TR_RMDIR:
	case TR_POWERCUT:
		fs->names_gen++;
		fs->dirs_gen++;
		break;
	default: break;
	}
	return 0;
}

void order_end(struct cfs *fs)
{
	pthread_mutex_unlock(&fs->order);
}

int order_commit(struct cfs *fs, struct trace_rec *rec)
{
	int err = order_append(fs, rec);

	order_end(fs);
	return err;
}
