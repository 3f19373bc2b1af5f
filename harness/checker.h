/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The external checker pool of `crashfs check --check CMD`: runs CMD on
 * crash states written to disk, up to `jobs` at once, while the caller
 * builds the next state.
 *
 * Each job has a slot directory DIR/<i> holding state/ (the state, kept
 * up to date by a materializer that rewrites only what differs from the
 * slot's previous state, and what the previous checker changed), marks
 * (the marks made before the crash point, one a line) and out (the
 * checker's output).  CMD runs as `sh -c CMD` in DIR/<i>/state, in a
 * process group of its own, with CRASHFS_STATE, CRASHFS_MARKS,
 * CRASHFS_POINT and CRASHFS_SCENARIO_DIR set, and is killed with its
 * group after `timeout` seconds.
 *
 * Calling sequence:
 *	p = checker_pool_new(&opts, err, sizeof(err));
 *	checker_start(p, m, state, point, upto);   per state; waits for a
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
 * checker not started).  A workload interrupt (workload_interrupted())
 * kills every running checker.
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
	unsigned timeout;	  /* seconds per state */
	struct checks *checks;	  /* the marks */
	void (*done)(void *ctx, const struct checker_fail *f);
	void *ctx;	 /* for done */
	bool privileged; /* states exactly as recorded (MT_PRIVILEGED) */
};

struct checker_pool;

struct checker_pool *checker_pool_new(const struct checker_opts *o, char *err,
				      size_t errlen);

/*
 * Check the model's current tree as the state `state` at crash point
 * `point`, standing for a crash up to op `upto` (its marks are those up
 * to there).  Returns once the checker runs: 0 or -errno.
 */
int checker_start(struct checker_pool *p, struct model *m, size_t state,
		  uint64_t point, uint64_t upto);

/* Wait for every running checker to end. */
void checker_wait(struct checker_pool *p);

/* Run the checker on the model's current tree now, in a slot of its own
 * (the cause search).  True when it passes. */
bool checker_run_now(struct checker_pool *p, struct model *m, uint64_t point,
		     uint64_t upto);

/* The timeout, in seconds. */
unsigned checker_timeout(const struct checker_pool *p);

void checker_pool_free(struct checker_pool **p);

#endif /* CRASHFS_CHECKER_H */
