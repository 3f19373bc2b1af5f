/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Private to harness/check.c and harness/check_causes.c: the state of one
 * scenario's check (struct run) and the cause search check.c calls.
 *
 * check.c records or loads the run, explores it and checks each state;
 * check_causes.c finds and groups the cause of each failing state, on
 * the run's second model (mc), within the budgets below.
 */
#ifndef CRASHFS_CHECK_INT_H
#define CRASHFS_CHECK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/map.h"
#include "core/persist.h"
#include "harness/check.h"
#include "harness/checker.h"
#include "harness/checks.h"
#include "harness/explain.h"
#include "harness/explore.h"
#include "harness/run.h"

#define DEFAULT_CHECK_TIMEOUT 30 /* seconds per external check */
#define FLIGHT                                                                 \
	4096			  /* external checks between two drains of
				    the pool: in flight, or failed and
				    waiting for their cause search */
#define WORKLOAD_OUTPUT_KEPT 4096 /* bytes of its output in a report */
#define BUILTIN_TRIES 256	  /* cause search budget per state */
#define BUILTIN_BUDGET 50000	  /* ... all in-process cause searches */
#define BUILTIN_SECONDS                                                        \
	20		   /* ... and the time they may take (a try
				     rebuilds a state and reads the path:
				     a big file makes tries slow) */
#define EXTERNAL_TRIES 12  /* checker runs per external failure ... */
#define EXTERNAL_BUDGET 48 /* ... and for all of them */
#define SHAPE_TRIES                                                            \
	4		  /* rebuilds to match a failure to a cause
				     found at other ops ... */
#define SHAPE_BUDGET 1024 /* ... and for all of them */
/* external verdicts remembered (a map of 1 Mi slots, 24 MiB); past that,
 * new ones are not */
#define VERDICTS_MAX (1u << 19)
#define VERDICT_PASS ((void *)1) /* in struct run's verdicts */
#define VERDICT_FAIL ((void *)2)
#define VERDICT_PENDING ((void *)3) /* its checker not waited for yet */

/* An external check that failed, waiting for its cause search. */
struct failing {
	struct check_state v; /* the state */
	size_t idx;	      /* its index in the state log: the order
				 states were explored in */
	char *output;	      /* what the checker said (malloc'd) */
	bool timed_out;	      /* the checker timed out */
};

struct run {
	const struct scenario *s;
	const struct check_opts *o;
	struct check_result *r;
	struct run_info ri;	   /* the recorded run */
	struct model *m;	   /* the explorers' model */
	struct model *mc;	   /* the cause search's own copy of the run
				      (loaded at the first failure) */
	struct checks *c;	   /* built-in checks and marks */
	struct checker_pool *pool; /* external checkers (NULL: none) */
	char *check_cmd;	   /* the checker, its program made absolute */
	struct explain_ctx ex;	   /* the wording of causes (on mc) */
	struct map same;	   /* (op, group) occurrences counted */
	unsigned shape_budget;	   /* shape attributions left */
	/* external checks: the states of the last FLIGHT started, by index
	 * modulo FLIGHT (the pool is drained before one is reused) */
	struct check_state *flight;
	uint64_t (*flight_key)[2]; /* ... their (tree hash, context key) */
	/* the external checker's verdict (VERDICT_*) by (tree hash, context
	 * key), for the cause search: the states checked (pending until the
	 * pool is drained) and the search's tries that passed.  The same
	 * tree in the same context gets the same verdict from a checker
	 * that depends only on the state: the premise that checks
	 * identical states once. */
	struct map verdicts;
	uint64_t started;     /* external checks since the last drain */
	struct failing *fail; /* external failures waiting */
	size_t nfail;
	unsigned builtin_budget;  /* cause search tries left, in-process */
	double builtin_search;	  /* seconds they took so far */
	unsigned external_budget; /* ... with the external checker */
	uint64_t max_states;	  /* distinct states per kind (0: all) */
	struct persist ps[CHECK_NKINDS]; /* per model kind, for causes (on
					    mc) */
	uint32_t sector;
	unsigned timeout; /* seconds per external check */
	double t0, last_progress;
	double deadline; /* stop exploring at this time (0: never) */
	uint64_t done;	 /* states checked, all kinds */
	unsigned nkinds, kinds_done; /* kinds to explore, explored */
	bool progress_shown;
	bool tmp_run; /* the run is ours to remove at the end */
	int cb_error; /* -errno met in the pool's callback */
	char *slots;  /* the pool's directory, absolute (its slots) */
};

static inline double check_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Key of what a check's verdict depends on besides the tree: the marks
 * made up to op upto and whether --durable applies. */
uint64_t check_context_key(struct run *x, uint64_t upto);

/* Remember the external verdict of a tree (hash) in a context (key):
 * VERDICT_*, or NULL to forget it (a timeout is no verdict).  Nothing
 * new is remembered past VERDICTS_MAX. */
void check_verdict_put(struct run *x, uint64_t hash, uint64_t key, void *v);

/* The cause search's model (x->mc), loaded when first needed.  NULL with
 * errno and x->r->errmsg set. */
struct model *check_cause_model(struct run *x);

/*
 * A state failed built-in checks (why: which, choice: its loss vector,
 * NULL for a visible state): put each failure in the group of its cause,
 * searching for the cause while the budget lasts.  Runs while the
 * explorer owns x->m: the search rebuilds states in x->mc.  0 or -errno
 * (-EINTR on a signal).
 */
int check_explain_builtin(struct run *x, const struct check_state *v,
			  const struct check_why *why, const uint8_t *choice);

/* The same for an external check that failed (f: the state, what the
 * checker said).  0 or -errno. */
int check_explain_external(struct run *x, struct failing *f);

/* The loss vector of explorer ex's current state st: a choice per op up
 * to its crash point (malloc'd, NULL when out of memory). */
uint8_t *check_losses_of(struct explorer *ex, const struct explore_state *st);

/* qsort order of x->r->groups: most frequent first. */
int check_cmp_groups(const void *a, const void *b);

#endif /* CRASHFS_CHECK_INT_H */
