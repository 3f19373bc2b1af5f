/* SPDX-License-Identifier: MIT */
/** @file
 *
 * One persistent checker (`crashfs check --check-server CMD`): a process
 * started once and handed one state after another over a line protocol,
 * instead of a process per state.  docs/check.md specifies the protocol
 * for users; in short:
 *
 *	server -> crashfs	"ready"			once, when started
 *	crashfs -> server	"STATE\tMARKS\tPOINT\tID"	per state
 *	server -> crashfs	"ok" | "fail" | "fail MESSAGE"	its answer
 *	crashfs -> server	end of file		exit now
 *
 * STATE is the state's directory, MARKS the file listing its marks,
 * POINT its crash point, ID its id.  Nothing else may appear on the
 * server's stdout (diagnostics go to stderr, which is appended to a file
 * and handed back with a failing state).
 *
 * The server runs as `sh -c CMD` in a process group of its own.  It is
 * started on the first request (and again after it died or was killed),
 * must say "ready" within the timeout and answer each state within it.
 *
 * Isolation: after each answer, the processes of its group must hold no
 * file under the request's dir open or mapped (the state is rewritten
 * for the next request).  The processes known to be in the group are
 * looked at after every answer; the whole group (a scan of /proc) after
 * the first answer of every server process and then at least every
 * CHECKSRV_SCAN_EVERY seconds.  A file kept open is a setup error.
 *
 * Calling sequence:
 *	s = checksrv_new(&opts);
 *	checksrv_ask(s, &req);		state after state ...
 *	poll(checksrv_fd(s)) until checksrv_deadline(s), then
 *	checksrv_step(s, &ans);		... until it returns 1
 *	checksrv_hangup(s);		end of file on its stdin
 *	checksrv_free(&s);		waits a moment, kills its group
 *
 * Errors: checksrv_new() returns NULL with errno set.  checksrv_ask()
 * and checksrv_step() return -errno for a setup error (the server does
 * not start, breaks the protocol, keeps the state open), with the
 * message in checksrv_error(); a server that dies or times out while
 * checking a state is not an error: that state fails, and the next
 * request starts a new server.
 */
#ifndef CRASHFS_CHECKSRV_H
#define CRASHFS_CHECKSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHECKSRV_LINE_MAX 65536 /* longest line a server may print */
#define CHECKSRV_SCAN_EVERY 1.0 /* seconds between scans of /proc */

struct checksrv_opts {
	const char *cmd;     /* run as sh -c CMD */
	const char *cwd;     /* its working directory */
	char *const *envp;   /* its environment (kept by the caller; the
				   strings above are copied) */
	const char *errfile; /* its stderr, appended (created) */
	unsigned timeout;    /* seconds to say ready, and per state */
	size_t output_max;   /* bytes of output kept per failing state */
};

/* One state to check. */
struct checksrv_req {
	const char *state; /* its directory, absolute */
	const char *marks; /* its marks file, absolute */
	uint64_t point;	   /* its crash point */
	const char *id;	   /* its id */
	const char *dir;   /* nothing under it may stay open */
};

/* The verdict on one state. */
struct checksrv_answer {
	bool pass;	/* "ok" */
	bool timed_out; /* killed after the timeout */
	char *output;	/* failing: its message and stderr, malloc'd, the
			   caller's (NULL when it passed) */
};

struct checksrv;

struct checksrv *checksrv_new(const struct checksrv_opts *o);

/*
 * Hand the server a state (starting it first if it does not run).
 * Returns 0 once the request is sent or queued until the server is
 * ready, or -errno (see above).  The request's strings are copied.
 */
int checksrv_ask(struct checksrv *s, const struct checksrv_req *r);

/* An idle server said nothing since its last answer (and still runs):
 * 0, or -errno for a setup error.  checksrv_ask() checks it first. */
int checksrv_quiet(struct checksrv *s);

/* True while a request is waiting for its answer. */
bool checksrv_busy(const struct checksrv *s);

/* The descriptor to poll for input while busy (-1: none). */
int checksrv_fd(const struct checksrv *s);

/* When the current wait (start-up or state) times out, CLOCK_MONOTONIC
 * seconds. */
double checksrv_deadline(const struct checksrv *s);

/*
 * Read what the server said, without blocking.  Returns 1 with *a
 * filled when the state's answer is in (also: it timed out, the server
 * died), 0 while it is still pending, or -errno for a setup error.
 */
int checksrv_step(struct checksrv *s, struct checksrv_answer *a);

/* The last setup error, in words ("" if none). */
const char *checksrv_error(const struct checksrv *s);

/* The server's pid (0: not running), for tests and messages. */
int checksrv_pid(const struct checksrv *s);

/* Close its stdin: a server exits on end of file. */
void checksrv_hangup(struct checksrv *s);

/* Wait up to `grace` seconds for it to exit after end of file, then
 * kill its process group; free everything and set *s to NULL. */
void checksrv_free(struct checksrv **s, double grace);

#endif /* CRASHFS_CHECKSRV_H */
