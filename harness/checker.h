/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The external checker pool of `crashfs check --check CMD` and
 * `--check-server CMD`: runs CMD on crash states written to disk, up to
 * `jobs` at once, while the caller builds the next state.
 *
 * Each job has a slot directory DIR/<i> (and the cause search DIR/cause)
 * holding the state (kept up to date by a materializer that rewrites only
 * what differs from the slot's previous state, and what the previous
 * checker changed) and its marks file (the marks made before the crash
 * point, one a line).  Every checker gets CRASHFS_JOB (the slot's index:
 * 0 to jobs - 1, the cause search's is `jobs`) and CRASHFS_SCENARIO_DIR.
 *
 * Per-state checkers (opts.server false): `sh -c CMD` runs in
 * DIR/<i>/state once per state, in a process group of its own, with
 * CRASHFS_STATE, CRASHFS_MARKS and CRASHFS_POINT set and its output in
 * DIR/<i>/out, and is killed with its group after `timeout` seconds.
 *
 * Checker servers (opts.server true): `sh -c CMD` starts once per slot,
 * in DIR/<i>, and is handed state after state over the protocol of
 * harness/checksrv.h; the state of each is DIR/<i>/<n>/state with the
 * marks in DIR/<i>/<n>/marks, n growing by one per state (a fresh path
 * per state); its stderr is appended to DIR/<i>/server.err.
 *
 * Calling sequence:
 *	p = checker_pool_new(&opts, err, sizeof(err));
 *	checker_start(p, m, state, id, point, upto); per state; waits for a
 *						      free slot if need be
 *	checker_wait(p);			      every job ended
 *	pass = checker_run_now(p, m, point, upto); one state, synchronously
 *	checker_pool_free(&p);			      kills what still runs,
 *						      reports nothing more
 *
 * Results reach the caller through opts.done, called from checker_start()
 * and checker_wait() for every finished job that did not pass.  The
 * output it gets is malloc'd and becomes the callee's.
 *
 * Errors: checker_pool_new() returns NULL with errno set and a message;
 * checker_start() returns -errno (the state could not be written or the
 * checker not started).  A setup error of a checker server (it does not
 * start, breaks the protocol, keeps a state's files open) sticks to the
 * pool: checker_start() and checker_wait() return it from then on,
 * checker_run_now() says false, and checker_error() says what happened.
 * A workload interrupt (workload_interrupted()) kills every running
 * checker.
 */
#ifndef CRASHFS_CHECKER_H
#define CRASHFS_CHECKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "harness/checks.h"

#define CHECKER_MAX_JOBS 64
#define CHECKER_OUTPUT_MAX 4096 /* checker output kept per state */

/* A check that did not pass. */
struct checker_fail {
	size_t state;	/* the caller's index, as given to checker_start */
	uint64_t point; /* its crash point */
	bool timed_out; /* killed after the timeout */
	char *output;	/* what it printed (or why it failed), malloc'd:
			   the callee's */
};

struct checker_opts {
	const char *cmd;	  /* run as sh -c CMD */
	const char *dir;	  /* slots go in DIR/<i>, DIR/cause */
	const char *scenario_dir; /* CRASHFS_SCENARIO_DIR, NULL: unset */
	unsigned jobs;		  /* checkers at once, 1 to 64 */
	unsigned timeout;	  /* seconds per state (a server: and to
				     start) */
	bool server;		  /* CMD is a checker server */
	struct checks *checks;	  /* the marks */
	void (*done)(void *ctx, const struct checker_fail *f);
	void *ctx;	 /* for done */
	bool privileged; /* states exactly as recorded (MT_PRIVILEGED) */
};

struct checker_pool;

struct checker_pool *checker_pool_new(const struct checker_opts *o, char *err,
				      size_t errlen);

/*
 * Check the model's current tree as the state `state` (its id: `id`) at
 * crash point `point`, standing for a crash up to op `upto` (its marks
 * are those up to there).  Returns once the checker runs: 0 or -errno.
 */
int checker_start(struct checker_pool *p, struct model *m, size_t state,
		  const char *id, uint64_t point, uint64_t upto);

/* Wait for every running checker to end: 0, or the pool's setup error. */
int checker_wait(struct checker_pool *p);

/* Run the checker on the model's current tree now, in a slot of its own
 * (the cause search).  True when it passes. */
bool checker_run_now(struct checker_pool *p, struct model *m, uint64_t point,
		     uint64_t upto);

/* What the checker of the last checker_run_now() that ran it said (its
 * output, or a server's failure message), "" if nothing; valid until the
 * next checker_run_now(). */
const char *checker_last_output(const struct checker_pool *p);

/* The timeout, in seconds. */
unsigned checker_timeout(const struct checker_pool *p);

/* The pool's setup error in words, NULL if none. */
const char *checker_error(const struct checker_pool *p);

void checker_pool_free(struct checker_pool **p);

#endif /* CRASHFS_CHECKER_H */
