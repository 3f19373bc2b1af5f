/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The control channel of a live crashfs mount: a line protocol on an
 * abstract unix socket (Linux abstract namespace, so nothing appears on
 * disk or under the mount), named "crashfs-" followed by the hex XXH64 of
 * the canonical mount point path.  docs/control.md describes the protocol.
 *
 * Server (in the daemon):
 *	fd = ctl_listen(fs->mount);	before daemonizing, so a second daemon
 *					on the same mount point is refused
 *	ctl_start(&srv, fs, fd);	after daemonizing: starts the thread
 *	...
 *	ctl_stop(&srv, "done 42");	once the trace is closed: sends the line
 *					to every `wait`er, stops the thread
 *
 * Client (crashfs umount, ctl, mark):
 *	fd = ctl_connect(mnt);		-errno if no daemon answers
 *	ctl_send(fd, "status");
 *	ctl_read_line(fd, buf, sizeof(buf), timeout_ms);
 *
 * Only peers running as root or as the daemon's user are served.
 */
#ifndef CRASHFS_FUSEFS_CTL_H
#define CRASHFS_FUSEFS_CTL_H

#include <stddef.h>

struct cfs;
struct ctl_server;

/* Longest request or reply line, newline excluded. */
#define CTL_LINE_MAX 8192

/*
 * Canonical path of a mount point: realpath(mnt), or, when that fails (a
 * mount whose daemon is gone answers ENOTCONN), realpath of its directory
 * plus its last component.  Returns a malloc'd string or NULL with errno.
 */
char *ctl_canon(const char *mnt);

/* Listen on the control socket of the mount at canon.  Returns the fd or
 * -errno (-EADDRINUSE: a daemon already serves that mount point). */
int ctl_listen(const char *canon);

/* Serve fd in a new thread.  Returns 0 or -errno. */
int ctl_start(struct ctl_server **srv, struct cfs *fs, int fd);

/* Stop serving: send final (a line) to each waiter, close everything,
 * free *srv and set it to NULL. */
void ctl_stop(struct ctl_server **srv, const char *final);

/*
 * Run one request line (modified in place) as if a client had sent it,
 * writing the reply lines to fd (a socket: a socketpair will do).  For
 * the daemon's other front ends (the LazyFS fifo, fusefs/lazyfs.h).
 * Returns as a verb does: 0, or -errno when fd cannot take the reply;
 * never keeps fd (do not send "wait").
 */
int ctl_request(struct ctl_server *srv, int fd, char *line);

/* Connect to the daemon of the mount at mnt (any path form).  Returns
 * the fd or -errno. */
int ctl_connect(const char *mnt);

/* Send one request line (without its newline).  Returns 0 or -errno. */
int ctl_send(int fd, const char *line);

/*
 * Read one reply line into buf (newline stripped), waiting at most
 * timeout_ms (-1: forever).  Returns its length, -ETIMEDOUT, or -EPIPE
 * when the daemon closed the connection first.
 */
int ctl_read_line(int fd, char *buf, size_t len, int timeout_ms);

#endif /* CRASHFS_FUSEFS_CTL_H */
