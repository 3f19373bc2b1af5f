/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The control channel: socket naming, the server thread in the daemon and
 * the client side used by `crashfs umount`, `ctl` and `mark`.
 *
 * The server thread serves several connections, one request at a time
 * (so requests never run concurrently with each other), in the order
 * their lines arrive.  A connection kept open between requests costs a
 * client (`crashfs check`'s sync watch) no new connection per request.
 * A new connection must send its first request within the receive
 * timeout, and a request once begun must be complete by then, so a
 * silent client cannot hold the server up; a connection that made a
 * request may then stay idle, up to CTL_MAX_CONNS of them (a new one
 * closes the one idle longest).  A `wait` request parks its connection
 * until the daemon exits.  New verbs (issue 5: powercut, fault ...) are
 * one entry in verbs[].
 */
#include "fusefs/ctl.h"
#include "fusefs/fs.h"
#include "fusefs/powercut.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define CTL_RCV_TIMEOUT_S 5 /* a client must send its request by then */
#define CTL_MAX_WAITERS 64
#define CTL_MAX_CONNS 32 /* connections served at once, idle ones too */

/* A connection the server thread serves (thread only). */
struct ctl_conn {
	int fd;		 /* the client's socket */
	long long since; /* ms: accepted, or its last request answered */
	bool asked;	 /* it made a request: it may stay idle */
};

struct ctl_server {
	struct cfs *fs;
	int fd; /* listening socket */
	pthread_t thread;
	pthread_mutex_t lock;
	int waiters[CTL_MAX_WAITERS]; /* `wait` connections; lock */
	int nwaiters;		      /* protected by lock */
	int stop[2];		      /* pipe: ctl_stop() wakes the thread */
	struct ctl_conn conns[CTL_MAX_CONNS]; /* served; thread only */
	int nconns;			      /* entries in conns */
};

char *ctl_canon(const char *mnt)
{
	char *copy, *dir, *base, *real, *out;
	int err;

	real = realpath(mnt, NULL);
	if (real)
		return real;
	copy = strdup(mnt);
	if (!copy)
		return NULL;
	dir = dirname(copy);
	real = realpath(dir, NULL);
	if (!real) {
		err = errno;
		free(copy);
		errno = err;
		return NULL;
	}
	strcpy(copy, mnt);
	base = basename(copy);
	if (!strcmp(base, ".") || !strcmp(base, "..") || !strcmp(base, "/")) {
		free(copy);
		free(real);
		errno = ENOTCONN;
		return NULL;
	}
	if (asprintf(&out, "%s/%s", strcmp(real, "/") ? real : "", base) < 0)
		out = NULL;
	free(copy);
	free(real);
	return out;
}

static socklen_t ctl_addr(const char *canon, struct sockaddr_un *sa)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* sun_path[0] = '\0': the abstract namespace. */
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1,
		     "crashfs-%016llx",
		     (unsigned long long)XXH64(canon, strlen(canon), 0));
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			   (size_t)n);
}

int ctl_listen(const char *canon)
{
	struct sockaddr_un sa;
	socklen_t len = ctl_addr(canon, &sa);
	int fd, err;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 16) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int ctl_connect(const char *mnt)
{
	struct sockaddr_un sa;
	socklen_t len;
	char *canon = ctl_canon(mnt);
	int fd, err;

	if (!canon)
		return -errno;
	len = ctl_addr(canon, &sa);
	free(canon);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int send_str(int fd, const char *s, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, s, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

int ctl_send(int fd, const char *line)
{
	int err = send_str(fd, line, strlen(line));

	return err ? err : send_str(fd, "\n", 1);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ctl_read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	size_t n = 0;
	ssize_t r;
	char c;

	for (;;) {
		int wait = -1;

		if (timeout_ms >= 0) {
			long long left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			wait = (int)left;
		}
		r = poll(&p, 1, wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		r = recv(fd, &c, 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (r == 0)
			return -EPIPE;
		if (c == '\n')
			break;
		if (n + 1 < len)
			buf[n++] = c;
	}
	buf[n] = '\0';
	return (int)n;
}

/* ---- server ------------------------------------------------------------- */

static int reply(int fd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int reply(int fd, const char *fmt, ...)
{
	char line[CTL_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	return send_str(fd, line, (size_t)n);
}

/* A verb: returns 0 to keep reading the connection, 1 if the handler
 * kept it (wait), -errno to drop it. */
struct ctl_verb {
	const char *name;
	int (*fn)(struct ctl_server *srv, int fd, const char *arg);
};

static int verb_mark(struct ctl_server *srv, int fd, const char *arg)
{
	struct cfs *fs = srv->fs;
	struct trace_rec rec = {.type = TR_MARK, .name = arg};
	int err;

	if (!*arg)
		return reply(fd, "error mark needs a text");
	if (strlen(arg) > TRACE_NAME_MAX)
		return reply(fd, "error mark text is longer than %d bytes",
			     TRACE_NAME_MAX);
	err = order_begin(fs, &rec);
	if (!err)
		err = order_commit(fs, &rec);
	if (err)
		return reply(fd, "error cannot record the mark: %s",
			     fs->tw ? strerror(-err) : "the mount is closing");
	return reply(fd, "ok");
}

/*
 * Append a sync record (under the ordering lock, like a mark: it comes
 * after every operation that returned before the request); for a sync
 * point, the undo journal first takes everything so far as durable.
 */
static int record_sync(struct cfs *fs, struct trace_rec *rec)
{
	int err = order_begin(fs, rec);

	if (err)
		return err;
	if (rec->type == TR_SYNC)
		err = pc_all_synced(fs);
	if (!err)
		err = order_append(fs, rec);
	order_end(fs);
	return err;
}

/* sync: a harness declares a sync point (sync(2) it cannot show us) */
static int verb_sync(struct ctl_server *srv, int fd, const char *arg)
{
	struct trace_rec rec = {.type = TR_SYNC, .oflags = TRS_CTL};
	int err;

	if (*arg)
		return reply(fd, "error sync takes no argument");
	err = record_sync(srv->fs, &rec);
	if (err)
		return reply(fd, "error cannot record the sync: %s",
			     srv->fs->tw ? strerror(-err)
					 : "the mount is closing");
	return reply(fd, "ok");
}

/* The trace id of the file a program sees with st_ino ino on the mount
 * (the daemon passes backing inode numbers through); 0 if not known. */
static uint64_t id_of_ino(struct cfs *fs, uint64_t ino)
{
	struct cfs_inode *in;
	uint64_t id;

	pthread_mutex_lock(&fs->tab);
	in = ino == fs->root.ino ? &fs->root
				 : map_get(&fs->inodes, ino, fs->root.dev);
	id = in ? in->id : 0;
	pthread_mutex_unlock(&fs->tab);
	return id;
}

/*
 * syscall sync PID | syscall syncfs PID
 * | syscall sync_file_range PID INO OFF LEN FLAGS:
 * a system call the harness saw process PID make (harness/syncwatch.c),
 * recorded before the call goes on.
 */
static int verb_syscall(struct ctl_server *srv, int fd, const char *arg)
{
	struct trace_rec rec = {.type = TR_SYNC};
	unsigned long long pid, ino, off, len;
	unsigned int flags;
	char name[32];
	int n = -1, err;

	if (sscanf(arg, "%31s %llu%n", name, &pid, &n) < 2 || pid == 0 ||
	    pid > UINT32_MAX)
		return reply(fd, "error syscall wants NAME PID ...");
	arg += n;
	if (!strcmp(name, "sync") || !strcmp(name, "syncfs")) {
		if (*arg)
			return reply(fd, "error syscall %s takes only a pid",
				     name);
		rec.oflags = !strcmp(name, "sync") ? TRS_SYNC : TRS_SYNCFS;
	} else if (!strcmp(name, "sync_file_range")) {
		n = -1;
		if (sscanf(arg, " %llu %llu %llu %u%n", &ino, &off, &len,
			   &flags, &n) < 4 ||
		    arg[n])
			return reply(fd, "error syscall sync_file_range wants "
					 "PID INO OFF LEN FLAGS");
		rec.type = TR_SYNC_RANGE;
		rec.id = id_of_ino(srv->fs, ino);
		rec.off = off;
		rec.len = len;
		rec.oflags = flags;
	} else {
		return reply(fd,
			     "error unknown system call '%s' (sync, syncfs, "
			     "sync_file_range)",
			     name);
	}
	rec.pid = (uint32_t)pid;
	err = record_sync(srv->fs, &rec);
	if (err)
		return reply(fd, "error cannot record the %s: %s", name,
			     srv->fs->tw ? strerror(-err)
					 : "the mount is closing");
	return reply(fd, "ok");
}

static int verb_status(struct ctl_server *srv, int fd, const char *arg)
{
	struct cfs *fs = srv->fs;
	unsigned long long records = 0, bytes = 0, fsyncs, marks, refused;
	char last[512];
	struct pc_stats pc;
	int broken;
	bool open;

	(void)arg;
	pthread_mutex_lock(&fs->order);
	pc_stats(fs, &pc);
	open = fs->tw != NULL;
	if (open) {
		records = trace_writer_count(fs->tw);
		bytes = trace_writer_bytes(fs->tw);
	}
	fsyncs = fs->fsyncs;
	marks = fs->marks;
	refused = fs->refused;
	broken = fs->broken;
	pthread_mutex_unlock(&fs->order);
	cfs_last_error(fs, last, sizeof(last));
	if (reply(fd,
		  "pid: %d\nbacking: %s\nmount: %s\ntrace: %s\n"
		  "records: %llu\ntrace bytes: %llu\nfsyncs: %llu\n"
		  "marks: %llu\nrefused: %llu",
		  (int)getpid(), fs->backing, fs->mount, fs->trace_path,
		  records, bytes, fsyncs, marks, refused))
		return -EPIPE;
	if (reply(fd,
		  "unsynced files: %llu\nunsynced bytes: %llu\n"
		  "pending ops: %llu\nscratch bytes: %llu\npower cuts: %llu",
		  (unsigned long long)pc.files, (unsigned long long)pc.bytes,
		  (unsigned long long)pc.ops, (unsigned long long)pc.scratch,
		  (unsigned long long)pc.cuts))
		return -EPIPE;
	if (reply(fd, "state: %s%s%s",
		  broken ? "broken ("
		  : open ? "recording"
			 : "closing",
		  broken ? strerror(-broken) : "", broken ? ")" : ""))
		return -EPIPE;
	if (reply(fd, "last error: %s", *last ? last : "none"))
		return -EPIPE;
	return reply(fd, "ok");
}

/*
 * The file of a selection cut: PATH relative to the mount, resolved in the
 * backing directory without leaving it (openat2 RESOLVE_BENEATH).  Fills
 * how->ino, dev, file_id.  0 or -errno with a message.
 */
static int cut_file(struct cfs *fs, const char *path, struct pc_how *how,
		    char *msg, size_t len)
{
	struct open_how oh = {
	    .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	struct cfs_inode *in;
	struct stat st;
	int fd;

	while (*path == '/')
		path++;
	fd = (int)syscall(SYS_openat2, fs->mount_fd, *path ? path : ".", &oh,
			  sizeof(oh));
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(msg, len, "file: '%s': %s", path,
			 errno == EXDEV ? "outside the mount"
					: strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		snprintf(msg, len, "file: '%s' is not a regular file", path);
		return -EINVAL;
	}
	how->ino = st.st_ino;
	how->dev = st.st_dev;
	pthread_mutex_lock(&fs->tab);
	in = map_get(&fs->inodes, st.st_ino, st.st_dev);
	how->file_id = in ? in->id : 0;
	pthread_mutex_unlock(&fs->tab);
	return 0;
}

/* What a partial cut chose, for the reply and `crashfs ctl`. */
static int reply_partial(int fd, const struct pc_how *how)
{
	return reply(
	    fd,
	    "state: %s\n"
	    "metadata kept: %zu of %zu pending ops\n"
	    "data kept: %llu files: %s\n"
	    "data in part: %llu files: %s\n"
	    "data dropped: %llu files: %s\n"
	    "writes: %u whole, %u torn, %u size only, %u lost\n"
	    "settled: %llu units asked for not kept (an earlier write to "
	    "them, or a size op before them, was lost)",
	    how->name, how->ops_kept, how->ops,
	    (unsigned long long)how->files_kept, *how->kept ? how->kept : "-",
	    (unsigned long long)how->files_part, *how->part ? how->part : "-",
	    (unsigned long long)how->files_dropped,
	    *how->dropped ? how->dropped : "-", how->whole, how->torn,
	    how->size_only, how->lost, (unsigned long long)how->settled);
}

/*
 * powercut [strict | keep-metadata] [seed=S] [tear=U] [writes=L]
 * [write=K parts=N|part-bytes=L persist=L] [file=PATH]: file= comes last
 * and takes the rest of the line (a path may hold spaces).
 */
static int verb_powercut(struct ctl_server *srv, int fd, const char *arg)
{
	struct cfs *fs = srv->fs;
	struct trace_rec rec = {.type = TR_POWERCUT, .name = "strict"};
	struct pc_inval *inval = NULL;
	struct pc_how how;
	char msg[512], words[1024];
	const char *file = strstr(arg, "file=");
	int err, res;

	memset(&how, 0, sizeof(how));
	if (file && file != arg && file[-1] != ' ')
		file = NULL;
	snprintf(words, sizeof(words), "%.*s",
		 file ? (int)(file - arg) : (int)strlen(arg), arg);
	if (pc_how_parse(&how, words, msg, sizeof(msg)))
		return reply(fd, "error %s", msg);
	if (!file != (how.spec.mode != CUTPLAN_SELECT))
		return reply(fd, file ? "error file= goes with writes= or "
					"write="
				      : "error a selection of writes needs "
					"file=PATH");
	if (!pc_can_cut(fs))
		return reply(fd,
			     "error this mount keeps no undo journal: mount "
			     "with 'crashfs mount --powercut' to cut the "
			     "power");
	err = order_begin(fs, &rec);
	if (err)
		return reply(fd, "error cannot record the power cut: %s",
			     fs->tw ? strerror(-err) : "the mount is closing");
	if (file && (cut_file(fs, file + 5, &how, msg, sizeof(msg)) ||
		     pc_how_check(fs, &how, msg, sizeof(msg)))) {
		order_end(fs);
		return reply(fd, "error %s", msg);
	}
	res = pc_cut_how_locked(fs, &how, &inval);
	order_end(fs);
	pc_notify(fs, inval);
	if (res)
		return reply(fd, "error the power cut failed: %s",
			     strerror(-res));
	if (how.partial && reply_partial(fd, &how))
		return -EPIPE;
	return reply(fd, "ok");
}

/* unsynced [json]: what is not yet durable (pc_report()) */
static int verb_unsynced(struct ctl_server *srv, int fd, const char *arg)
{
	char *buf = NULL, *line, *next;
	size_t len = 0;
	FILE *mem;
	int err;

	if (*arg && strcmp(arg, "json"))
		return reply(fd, "error unsynced takes 'json' or nothing");
	mem = open_memstream(&buf, &len);
	if (!mem)
		return reply(fd, "error %s", strerror(errno));
	err = pc_report(srv->fs, mem, *arg != '\0');
	if (fclose(mem) && !err)
		err = -ENOMEM;
	for (line = buf; !err && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (reply(fd, "%s", line)) {
			free(buf);
			return -EPIPE;
		}
	}
	free(buf);
	if (err)
		return reply(fd, "error cannot make the report: %s",
			     strerror(-err));
	return reply(fd, "ok");
}

/* fault RULE: add a rule */
static int verb_fault(struct ctl_server *srv, int fd, const char *arg)
{
	struct cfs *fs = srv->fs;
	char err[256];
	int n;

	pthread_mutex_lock(&fs->order);
	n = fault_parse(&fs->faults, arg, err, sizeof(err));
	pthread_mutex_unlock(&fs->order);
	if (n < 0)
		return reply(fd, "error bad fault rule: %s",
			     n == -ENOMEM ? strerror(ENOMEM) : err);
	cfs_log("fault rule %d: %s", n, arg);
	return reply(fd, "rule %d\nok", n);
}

/* faults [clear]: list the rules, or remove them all */
static int verb_faults(struct ctl_server *srv, int fd, const char *arg)
{
	struct cfs *fs = srv->fs;
	char buf[CTL_LINE_MAX - 8];

	if (*arg && strcmp(arg, "clear"))
		return reply(fd, "error faults takes 'clear' or nothing");
	pthread_mutex_lock(&fs->order);
	if (*arg) {
		fault_set_release(&fs->faults);
		buf[0] = '\0';
	} else {
		fault_list(&fs->faults, buf, sizeof(buf));
	}
	pthread_mutex_unlock(&fs->order);
	if (*arg)
		cfs_log("fault rules cleared");
	if (*buf && reply(fd, "%s", buf))
		return -EPIPE;
	return reply(fd, "ok");
}

/* Forget the waiters that hung up (an umount that gave up); lock held. */
static void prune_waiters(struct ctl_server *srv)
{
	struct pollfd p;
	int i = 0;

	while (i < srv->nwaiters) {
		p = (struct pollfd){.fd = srv->waiters[i], .events = POLLIN};
		if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLIN))) {
			close(srv->waiters[i]);
			srv->waiters[i] = srv->waiters[--srv->nwaiters];
		} else {
			i++;
		}
	}
}

static int verb_wait(struct ctl_server *srv, int fd, const char *arg)
{
	int err = 0;

	(void)arg;
	pthread_mutex_lock(&srv->lock);
	prune_waiters(srv);
	if (srv->nwaiters == CTL_MAX_WAITERS)
		err = -EBUSY;
	else
		srv->waiters[srv->nwaiters++] = fd;
	pthread_mutex_unlock(&srv->lock);
	if (err)
		return reply(fd, "error too many waiters");
	reply(fd, "ok");
	return 1; /* a waiter now: ctl_stop() answers and closes it */
}

static const struct ctl_verb verbs[] = {
    {"fault", verb_fault},     {"faults", verb_faults},
    {"mark", verb_mark},       {"powercut", verb_powercut},
    {"status", verb_status},   {"sync", verb_sync},
    {"syscall", verb_syscall}, {"unsynced", verb_unsynced},
    {"wait", verb_wait},
};

/* Run one request line.  Returns as a verb does. */
static int request(struct ctl_server *srv, int fd, char *line)
{
	char *arg = strchr(line, ' ');

	if (arg)
		*arg++ = '\0';
	else
		arg = line + strlen(line);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(*verbs); i++)
		if (!strcmp(verbs[i].name, line))
			return verbs[i].fn(srv, fd, arg);
	return reply(fd,
		     "error unknown command '%s' (commands: fault, faults, "
		     "mark, powercut, status, sync, syscall, unsynced, wait)",
		     line);
}

int ctl_request(struct ctl_server *srv, int fd, char *line)
{
	return request(srv, fd, line);
}

static bool peer_ok(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void conn_drop(struct ctl_server *srv, int i, bool close_it)
{
	if (close_it)
		close(srv->conns[i].fd);
	srv->conns[i] = srv->conns[--srv->nconns];
}

/* A new connection: served from now on, or refused; the one idle longest
 * makes room when all are taken. */
static void conn_add(struct ctl_server *srv, int fd)
{
	int old = 0;

	if (!peer_ok(fd)) {
		reply(fd, "error permission denied");
		close(fd);
		return;
	}
	if (srv->nconns == CTL_MAX_CONNS) {
		for (int i = 1; i < srv->nconns; i++)
			if (srv->conns[i].since < srv->conns[old].since)
				old = i;
		conn_drop(srv, old, true);
	}
	srv->conns[srv->nconns++] =
	    (struct ctl_conn){.fd = fd, .since = now_ms()};
}

/* Serve connection i's next request; it is dropped when it ends, fails,
 * or parks as a waiter. */
static void conn_serve(struct ctl_server *srv, int i)
{
	char line[CTL_LINE_MAX];
	int r, fd = srv->conns[i].fd;

	r = ctl_read_line(fd, line, sizeof(line), CTL_RCV_TIMEOUT_S * 1000);
	if (r >= 0)
		r = request(srv, fd, line);
	if (r != 0) {
		conn_drop(srv, i, r < 0);
		return;
	}
	srv->conns[i].asked = true;
	srv->conns[i].since = now_ms();
}

/* ms until the first new connection that sent nothing must have, -1 for
 * none; those past it are closed. */
static int conn_expire(struct ctl_server *srv)
{
	long long now = now_ms(), first = -1;

	for (int i = 0; i < srv->nconns;) {
		long long end = srv->conns[i].since + CTL_RCV_TIMEOUT_S * 1000;

		if (srv->conns[i].asked) {
			i++;
		} else if (end <= now) {
			conn_drop(srv, i, true);
		} else {
			first =
			    first < 0 || end - now < first ? end - now : first;
			i++;
		}
	}
	return (int)first;
}

static void *ctl_thread(void *arg)
{
	struct ctl_server *srv = arg;
	struct pollfd p[CTL_MAX_CONNS + 2];
	int fd, n, wait;

	for (;;) {
		wait = conn_expire(srv);
		p[0] = (struct pollfd){.fd = srv->stop[0], .events = POLLIN};
		p[1] = (struct pollfd){.fd = srv->fd, .events = POLLIN};
		for (int i = 0; i < srv->nconns; i++)
			p[i + 2] = (struct pollfd){.fd = srv->conns[i].fd,
						   .events = POLLIN};
		n = srv->nconns;
		if (poll(p, (nfds_t)n + 2, wait) < 0) {
			if (errno == EINTR)
				continue;
			cfs_log("control channel: poll: %s", strerror(errno));
			break;
		}
		if (p[0].revents)
			break;
		/* newest first: dropping i moves the last entry into it */
		for (int i = n - 1; i >= 0; i--)
			if (p[i + 2].revents)
				conn_serve(srv, i);
		/* every client waiting, so a burst fits the backlog */
		while (p[1].revents & POLLIN) {
			fd = accept4(srv->fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				conn_add(srv, fd);
			else if (errno == EAGAIN)
				break;
			else if (errno != EINTR && errno != ECONNABORTED)
				goto out_log;
		}
	}
	goto out;
out_log:
	cfs_log("control channel: accept: %s", strerror(errno));
out:
	while (srv->nconns)
		conn_drop(srv, srv->nconns - 1, true);
	return NULL;
}

int ctl_start(struct ctl_server **out, struct cfs *fs, int fd)
{
	struct ctl_server *srv = calloc(1, sizeof(*srv));
	sigset_t block, old;
	int err;

	if (!srv)
		return -ENOMEM;
	srv->fs = fs;
	srv->fd = fd;
	/* poll() says when to accept; a client gone in between must not
	 * block the thread in accept() */
	if (pipe2(srv->stop, O_CLOEXEC) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		err = errno;
		if (srv->stop[1] > 0) {
			close(srv->stop[0]);
			close(srv->stop[1]);
		}
		free(srv);
		return -err;
	}
	pthread_mutex_init(&srv->lock, NULL);
	/* Termination signals must reach the thread that runs the FUSE loop,
	 * which they wake; block them here as libfuse does in its workers. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	err = pthread_create(&srv->thread, NULL, ctl_thread, srv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		close(srv->stop[0]);
		close(srv->stop[1]);
		pthread_mutex_destroy(&srv->lock);
		free(srv);
		return -err;
	}
	*out = srv;
	return 0;
}

void ctl_stop(struct ctl_server **srvp, const char *final)
{
	struct ctl_server *srv = *srvp;

	if (!srv)
		return;
	*srvp = NULL;
	/* Wakes the thread's poll(); it closes the connections it serves. */
	while (write(srv->stop[1], "x", 1) < 0 && errno == EINTR)
		;
	pthread_join(srv->thread, NULL);
	close(srv->stop[0]);
	close(srv->stop[1]);
	close(srv->fd);
	for (int i = 0; i < srv->nwaiters; i++) {
		reply(srv->waiters[i], "%s", final);
		close(srv->waiters[i]);
	}
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
