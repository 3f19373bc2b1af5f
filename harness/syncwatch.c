/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The supervisor of a workload's sync(2), syncfs(2) and sync_file_range(2)
 * (see syncwatch.h for the method).
 *
 * Why the order is sound.  The notification arrives when the calling
 * thread enters the call, before the kernel does anything for it.  Every
 * operation that thread made before is in the trace already (the daemon
 * appends a record before it answers the kernel, and the thread waited
 * for that answer), and so is every operation of any other thread or
 * process that finished before the call was made.  The record is appended
 * under the daemon's ordering lock and the call runs only after it, so
 * every operation recorded before the record was applied before the real
 * sync started: a real sync would have written it.  Operations of other
 * threads that were still running when the call was made land before or
 * after the record; either order is one the program could have seen, and
 * a sync gives no promise about them anyway.
 *
 * The requests go over one control connection, kept open: the daemon
 * serves it among others (fusefs/ctl.c), one request at a time, and this
 * thread waits for each answer before it lets the call run, so the
 * order above holds as it did with a connection per call.
 *
 * What cannot be made exact: a call interrupted between the record and
 * its run (its process killed there) is recorded although it never ran;
 * the process never saw it return, so nothing it did after relied on it.
 */
#include "harness/syncwatch.h"

#include "core/util.h"
#include "fusefs/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

/*
 * The control channel's client (fusefs/ctl.c) is part of crashfs, but the
 * unit tests link harness/ without fusefs/: there these are NULL, and
 * syncwatch_new() says that watching is not available.
 */
int ctl_connect(const char *mnt) __attribute__((weak));
int ctl_send(int fd, const char *line) __attribute__((weak));
int ctl_read_line(int fd, char *buf, size_t len, int timeout_ms)
    __attribute__((weak));

#define REPLY_TIMEOUT_MS 10000 /* the daemon answers a request by then */
#define START_TIMEOUT_MS 30000 /* the child reports its filter by then */
#define MAX_NRS 8	       /* (arch, call) pairs in the filter */

enum call { C_SYNC = 1, C_SYNCFS, C_RANGE, C_RANGE2 };

/* One system call of one ABI the filter stops. */
struct nr {
	uint32_t arch;	/* AUDIT_ARCH_* the kernel reports */
	int nr;		/* its number there */
	enum call call; /* which one */
	bool split;	/* 64-bit arguments come as two 32-bit halves */
};

/* What the child tells the parent (with the listener, if err is 0). */
struct child_msg {
	int err; /* errno of the failed install, 0 */
	int nnp; /* no_new_privs was set */
};

struct syncwatch {
	char *mnt; /* the mount point */
	dev_t dev; /* st_dev of the mount */
	int mntfd; /* the mount's root (syncfs before a point) */
	struct sock_filter *insns; /* the filter ... */
	struct sock_fprog prog;	   /* ... as seccomp(2) takes it */
	unsigned long flags;	   /* SECCOMP_FILTER_FLAG_* */
	struct nr nrs[MAX_NRS];	   /* the calls stopped, per ABI */
	size_t nnrs;		   /* entries in nrs */
	int sock[2];		   /* child -> parent: listener or why not */
	int listener;		   /* the notification fd, -1 */
	int stop[2];		   /* pipe that ends the supervisor */
	bool running;		   /* the thread was started */
	pthread_t thread;	   /* the supervisor */
	struct seccomp_notif *req; /* notification buffer */
	struct seccomp_notif_resp *resp; /* response buffer */
	pthread_mutex_t lock;		 /* protects st */
	struct syncwatch_stats st;	 /* counts; lock */
	bool warned;			 /* a lost call was logged (thread) */
	int ctl;			 /* the daemon's control connection,
					    kept open (thread), -1 */
};

/* Kernel release as major * 1000 + minor, 0 if unknown. */
static unsigned kernel_version(void)
{
	struct utsname u;
	unsigned major, minor;

	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return 0;
	return major * 1000 + minor;
}

static const struct {
	const char *name; /* as libseccomp spells it */
	enum call call;
} calls[] = {
    {"sync", C_SYNC},
    {"syncfs", C_SYNCFS},
    {"sync_file_range", C_RANGE},
    {"sync_file_range2", C_RANGE2}, /* arm, powerpc */
};

/* Note the numbers of the calls in one ABI (arch: SCMP_ARCH_*, audit:
 * what the kernel reports for it). */
static void note_abi(struct syncwatch *sw, uint32_t arch, uint32_t audit,
		     bool split)
{
	for (size_t i = 0; i < sizeof(calls) / sizeof(*calls); i++) {
		int nr = seccomp_syscall_resolve_name_arch(arch, calls[i].name);

		if (nr >= 0 && sw->nnrs < MAX_NRS)
			sw->nrs[sw->nnrs++] =
			    (struct nr){audit, nr, calls[i].call, split};
	}
}

/* Build the filter's BPF program into sw->insns, with libseccomp. */
static int build_filter(struct syncwatch *sw, char *why, size_t len)
{
	uint32_t native = seccomp_arch_native();
	scmp_filter_ctx ctx;
	struct stat st;
	int err, fd = -1;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		snprintf(why, len, "libseccomp cannot make a filter");
		return -ENOMEM;
	}
	/* calls of an ABI the filter does not know run as without it */
	err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
	note_abi(sw, native, native, false);
	/* 32-bit x86 programs on x86-64 (arguments in 32-bit halves) */
	if (!err && native == SCMP_ARCH_X86_64) {
		err = seccomp_arch_add(ctx, SCMP_ARCH_X86);
		note_abi(sw, SCMP_ARCH_X86, AUDIT_ARCH_I386, true);
	}
	/* by name: libseccomp puts each call's number in each ABI */
	for (size_t i = 0; i < sizeof(calls) / sizeof(*calls) && !err; i++) {
		int nr = seccomp_syscall_resolve_name(calls[i].name);

		err = nr == __NR_SCMP_ERROR
			  ? 0
			  : seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 0);
		/* a call none of the ABIs has */
		if (err == -EDOM || err == -EINVAL)
			err = i == 0 ? err : 0;
	}
	if (err) {
		snprintf(why, len, "libseccomp cannot build the filter: %s",
			 strerror(-err));
		goto out;
	}
	fd = memfd_create("crashfs-filter", MFD_CLOEXEC);
	if (fd < 0 || (err = seccomp_export_bpf(ctx, fd)) < 0 ||
	    fstat(fd, &st) < 0) {
		err = err ? err : -errno;
		snprintf(why, len, "cannot export the seccomp filter: %s",
			 strerror(-err));
		goto out;
	}
	sw->insns = malloc((size_t)st.st_size);
	if (!sw->insns ||
	    pread(fd, sw->insns, (size_t)st.st_size, 0) != st.st_size ||
	    st.st_size % sizeof(*sw->insns)) {
		err = -EIO;
		snprintf(why, len, "cannot read the seccomp filter back");
		goto out;
	}
	sw->prog.len = (unsigned short)(st.st_size / sizeof(*sw->insns));
	sw->prog.filter = sw->insns;
out:
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return err;
}

struct syncwatch *syncwatch_new(const char *mnt, char *why, size_t len)
{
	unsigned kv = kernel_version();
	struct syncwatch *sw;
	struct stat st;
	int err;

	if (!ctl_connect || !ctl_send || !ctl_read_line) {
		snprintf(why, len, "this build has no control channel client");
		errno = ENOTSUP;
		return NULL;
	}
	if (kv < 5005 || seccomp_api_get() < 5) {
		snprintf(why, len,
			 "seccomp user notification that lets a call go on "
			 "needs Linux 5.5 or later");
		errno = ENOTSUP;
		return NULL;
	}
	sw = calloc(1, sizeof(*sw));
	if (!sw)
		goto out_nomem;
	sw->sock[0] = sw->sock[1] = sw->stop[0] = sw->stop[1] = -1;
	sw->ctl = -1;
	sw->listener = sw->mntfd = -1;
	pthread_mutex_init(&sw->lock, NULL);
	sw->flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
	/* 5.19: once crashfs has a notification, only a fatal signal
	 * interrupts the call, so a handled signal cannot turn a sync into
	 * an EINTR the program would not get without us */
	if (kv >= 5019)
		sw->flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
	sw->mnt = strdup(mnt);
	if (!sw->mnt || seccomp_notify_alloc(&sw->req, &sw->resp))
		goto out_nomem_free;
	sw->mntfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sw->mntfd < 0 || fstat(sw->mntfd, &st) < 0) {
		err = errno;
		snprintf(why, len, "cannot open the mount '%s': %s", mnt,
			 strerror(err));
		goto out_free;
	}
	sw->dev = st.st_dev;
	err = -build_filter(sw, why, len);
	if (err)
		goto out_free;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sw->sock) < 0 ||
	    pipe2(sw->stop, O_CLOEXEC) < 0) {
		err = errno;
		snprintf(why, len, "cannot make a socket pair: %s",
			 strerror(err));
		goto out_free;
	}
	return sw;

out_nomem_free:
	err = ENOMEM;
	snprintf(why, len, "out of memory");
out_free:
	syncwatch_free(&sw);
	errno = err;
	return NULL;
out_nomem:
	snprintf(why, len, "out of memory");
	errno = ENOMEM;
	return NULL;
}

/* ---- the child ------------------------------------------------------ */

static long install(struct syncwatch *sw, unsigned long flags)
{
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &sw->prog);
}

void syncwatch_child(struct syncwatch *sw)
{
	struct child_msg m = {0};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;
	long fd;

	close(sw->sock[0]);
	fd = install(sw, sw->flags);
	if (fd < 0 && errno == EINVAL &&
	    (sw->flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV))
		fd = install(sw, sw->flags &
				     ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
	/* without CAP_SYS_ADMIN, a filter needs no_new_privs */
	if (fd < 0 && errno == EACCES &&
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) {
		m.nnp = 1;
		fd = install(sw, sw->flags);
		if (fd < 0 && errno == EINVAL)
			fd = install(
			    sw, sw->flags &
				    ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
	}
	m.err = fd < 0 ? errno : 0;
	if (fd >= 0) {
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &(int){(int)fd}, sizeof(int));
	}
	while (sendmsg(sw->sock[1], &mh, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
	if (fd >= 0)
		close((int)fd);
	close(sw->sock[1]);
}

/* ---- the supervisor ------------------------------------------------- */

static const struct nr *which(const struct syncwatch *sw,
			      const struct seccomp_data *d)
{
	for (size_t i = 0; i < sw->nnrs; i++)
		if (sw->nrs[i].arch == d->arch && sw->nrs[i].nr == d->nr)
			return &sw->nrs[i];
	return NULL;
}

/* The process (thread group) of thread tid, tid itself if unknown. */
static pid_t tgid_of(pid_t tid)
{
	char path[64], line[256];
	pid_t tgid = tid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return tid;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/* stat() of what file descriptor fd of thread tid names; -errno. */
static int fd_stat(pid_t tid, uint64_t fd, struct stat *st)
{
	char path[64];

	if (fd > INT32_MAX)
		return -EBADF;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)tid, (int)fd);
	return stat(path, st) < 0 ? -errno : 0;
}

/*
 * Send one request to the daemon; 0 on "ok", else -errno with why.  The
 * connection is kept open for the next, made on first use.  A kept
 * connection the daemon has closed (it closes the one idle longest when
 * too many are open, without reading from it) fails at the send or with
 * no reply at all: the request was not served, and goes once more on a
 * new connection.  Any other failure closes the connection and is
 * returned (a request that may have been served is never sent twice).
 */
static int tell_daemon(struct syncwatch *sw, const char *line, char *why,
		       size_t len)
{
	char reply[512];
	bool fresh = false;
	int n;

	for (;;) {
		if (sw->ctl < 0) {
			n = ctl_connect(sw->mnt);
			if (n < 0) {
				snprintf(why, len,
					 "cannot reach the daemon: %s",
					 strerror(-n));
				return n;
			}
			sw->ctl = n;
			fresh = true;
		}
		n = ctl_send(sw->ctl, line);
		if (!n)
			n = ctl_read_line(sw->ctl, reply, sizeof(reply),
					  REPLY_TIMEOUT_MS);
		if (n >= 0)
			break;
		close(sw->ctl);
		sw->ctl = -1;
		if (fresh || (n != -EPIPE && n != -ECONNRESET)) {
			snprintf(why, len, "the daemon did not answer: %s",
				 strerror(-n));
			return n;
		}
	}
	if (strcmp(reply, "ok")) {
		snprintf(why, len, "%s",
			 strncmp(reply, "error ", 6) ? reply : reply + 6);
		return -EIO;
	}
	return 0;
}

/*
 * What the call is about: true, with the daemon's request in line and
 * *point set for a sync point, when it concerns the mount; false for a
 * call about another filesystem or a descriptor /proc cannot show.
 */
static bool describe(struct syncwatch *sw, const struct seccomp_notif *req,
		     char *line, size_t len, bool *point)
{
	const struct seccomp_data *d = &req->data;
	const struct nr *n = which(sw, d);
	uint64_t off, nbytes, flags;
	pid_t pid = tgid_of((pid_t)req->pid);
	struct stat st;

	if (!n)
		return false;
	*point = n->call == C_SYNC || n->call == C_SYNCFS;
	if (n->call == C_SYNC) {
		snprintf(line, len, "syscall sync %d", (int)pid);
		return true;
	}
	if (fd_stat((pid_t)req->pid, d->args[0] & 0xffffffffu, &st) < 0 ||
	    st.st_dev != sw->dev)
		return false; /* another filesystem, or a bad fd */
	if (n->call == C_SYNCFS) {
		snprintf(line, len, "syscall syncfs %d", (int)pid);
		return true;
	}
	if (n->split && n->call == C_RANGE) {
		/* i386: fd, off low, off high, nbytes low, high, flags */
		off = (d->args[1] & 0xffffffffu) | d->args[2] << 32;
		nbytes = (d->args[3] & 0xffffffffu) | d->args[4] << 32;
		flags = d->args[5];
	} else if (n->call == C_RANGE) {
		off = d->args[1];
		nbytes = d->args[2];
		flags = d->args[3];
	} else {
		/* sync_file_range2 (64-bit ABIs): fd, flags, off, nbytes */
		flags = d->args[1];
		off = d->args[2];
		nbytes = d->args[3];
	}
	snprintf(line, len, "syscall sync_file_range %d %llu %llu %llu %u",
		 (int)pid, (unsigned long long)st.st_ino,
		 (unsigned long long)off, (unsigned long long)nbytes,
		 (unsigned)(flags & 0xffffffffu));
	return true;
}

static void handle(struct syncwatch *sw, struct seccomp_notif *req,
		   struct seccomp_notif_resp *resp)
{
	char line[160], why[512];
	bool point = false, rec;
	int err = 0;

	rec = describe(sw, req, line, sizeof(line), &point);
	/* What /proc said is about the caller only if it still waits in
	 * this very call (a pid can be reused once its process is gone). */
	if (rec && seccomp_notify_id_valid(sw->listener, req->id) == 0) {
		/* pages written through a shared mapping reach the daemon
		 * (as writes) before the sync point, as a real sync writes
		 * them back */
		if (point)
			syncfs(sw->mntfd);
		err = tell_daemon(sw, line, why, sizeof(why));
		pthread_mutex_lock(&sw->lock);
		if (err)
			sw->st.lost++;
		else if (point)
			sw->st.syncs++;
		else
			sw->st.ranges++;
		pthread_mutex_unlock(&sw->lock);
		if (err && !sw->warned) {
			util_warn("cannot record a %s: %s", line + 8, why);
			sw->warned = true;
		}
	} else if (!rec) {
		pthread_mutex_lock(&sw->lock);
		sw->st.other++;
		pthread_mutex_unlock(&sw->lock);
	}
	memset(resp, 0, sizeof(*resp));
	resp->id = req->id;
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	/* ENOENT: the caller is gone, or was interrupted */
	seccomp_notify_respond(sw->listener, resp);
}

static void *supervise(void *arg)
{
	struct syncwatch *sw = arg;

	for (;;) {
		struct pollfd p[2] = {
		    {.fd = sw->listener, .events = POLLIN},
		    {.fd = sw->stop[0], .events = POLLIN},
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			memset(sw->req, 0, sizeof(*sw->req));
			if (seccomp_notify_receive(sw->listener, sw->req) == 0)
				handle(sw, sw->req, sw->resp);
			continue;
		}
		if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			break; /* every watched process is gone */
	}
	return NULL;
}

/* Receive the child's message; 0 with *fd (or -1), or -errno. */
static int receive(struct syncwatch *sw, struct child_msg *m, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	struct pollfd p = {.fd = sw->sock[0], .events = POLLIN};
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	n = poll(&p, 1, START_TIMEOUT_MS);
	if (n == 0)
		return -ETIMEDOUT;
	n = recvmsg(sw->sock[0], &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	if (n != sizeof(*m))
		return -EPIPE; /* the child died first */
	return 0;
}

int syncwatch_start(struct syncwatch *sw, char *why, size_t len)
{
	struct child_msg m = {0};
	int err, fd;

	close(sw->sock[1]);
	sw->sock[1] = -1;
	err = receive(sw, &m, &fd);
	close(sw->sock[0]);
	sw->sock[0] = -1;
	if (err) {
		if (fd >= 0)
			close(fd);
		snprintf(why, len,
			 "the workload did not report its seccomp "
			 "filter: %s",
			 strerror(-err));
		return err;
	}
	sw->st.nnp = m.nnp;
	if (m.err || fd < 0) {
		snprintf(why, len, "cannot install a seccomp filter: %s",
			 strerror(m.err ? m.err : EIO));
		return -(m.err ? m.err : EIO);
	}
	sw->listener = fd;
	err = pthread_create(&sw->thread, NULL, supervise, sw);
	if (err) {
		/* the workload's sync calls now fail with ENOSYS */
		snprintf(why, len, "cannot start the supervisor: %s",
			 strerror(err));
		return -err;
	}
	sw->running = true;
	return 0;
}

void syncwatch_stats(struct syncwatch *sw, struct syncwatch_stats *st)
{
	pthread_mutex_lock(&sw->lock);
	*st = sw->st;
	pthread_mutex_unlock(&sw->lock);
}

void syncwatch_free(struct syncwatch **swp)
{
	struct syncwatch *sw = *swp;

	if (!sw)
		return;
	*swp = NULL;
	if (sw->running) {
		while (write(sw->stop[1], "x", 1) < 0 && errno == EINTR)
			;
		pthread_join(sw->thread, NULL);
	}
	for (int i = 0; i < 2; i++) {
		if (sw->sock[i] >= 0)
			close(sw->sock[i]);
		if (sw->stop[i] >= 0)
			close(sw->stop[i]);
	}
	if (sw->listener >= 0)
		close(sw->listener);
	if (sw->ctl >= 0)
		close(sw->ctl);
	if (sw->mntfd >= 0)
		close(sw->mntfd);
	if (sw->req)
		seccomp_notify_free(sw->req, sw->resp);
	pthread_mutex_destroy(&sw->lock);
	free(sw->insns);
	free(sw->mnt);
	free(sw);
}
