/* SPDX-License-Identifier: MIT */
/** @file
 *
 * crashfs check: run one scenario end to end.  Record the workload
 * (harness/workload), load the run into the model, explore the visible
 * states and the crash states of every model (harness/explore), check
 * each distinct state with the built-in checks in-process
 * (harness/checks) and the external checker on a materialised copy, in
 * parallel, then explain every failure (harness/cause).  harness/report
 * turns the results into text, JSON or JUnit.
 *
 * Verdict kinds follow scenario.h: bit 0 the visible states (what a
 * concurrent reader or kill -9 sees), bit 1 + i the crash states of the
 * scenario's i-th model (what survives power loss).
 *
 * Two states with the same tree are checked once, unless they differ in
 * what a check depends on (whether --durable applies at their crash
 * point, the marks made before it).
 *
 * Calling sequence:
 *	struct check_result r = { 0 };
 *	check_scenario(s, &opts, &r);	0, or -errno with r.errmsg
 *	report_...(&r, 1, ...);
 *	check_result_release(&r);
 */
#ifndef CRASHFS_CHECK_H
#define CRASHFS_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/cause.h"
#include "harness/scenario.h"

#define CHECK_NKINDS (1 + SCN_MAX_MODELS) /* visible + models */
#define CHECK_MAX_ALSO 8		  /* other ops listed for one cause */

/* Options shared by every scenario of one `crashfs check`. */
struct check_opts {
	unsigned jobs;		/* external checkers at once (>= 1) */
	unsigned shard_k;	/* this shard, 0-based ... */
	unsigned shard_n;	/* ... of shard_n (0 or 1: no sharding) */
	uint64_t max_states;	/* distinct states per kind, 0: no cap */
	uint64_t seed;		/* for the random states */
	unsigned check_timeout; /* seconds per external check */
	unsigned timeout;	/* workload seconds (0: scenario or 600) */
	const char *keep;	/* keep runs here (NULL: remove them) */
	const char *recorded;	/* check this recorded RUN, no workload */
	bool keep_is_run;	/* keep names the run dir itself */
	char *const *argv;	/* workload argv (command line form) */
	bool progress;		/* a progress line on stderr */
	bool verbose;		/* say what happens */
	const char *self;	/* crashfs binary, for replay commands */
	bool privileged;	/* states exactly as recorded (MT_PRIVILEGED) */
};

/* One failing cause: the failures one explanation covers. */
struct check_group {
	enum scn_check check; /* which check failed */
	int path;	      /* index of its path (built-in checks) */
	uint64_t seen;	      /* version hash the path held (example) */
	char held[160];	      /* what it held, in words */
	struct cause cause;   /* the explanation (cause.kind 0: none) */
	char text[2048];      /* the cause in words */
	char hint[1024];      /* what to do */
	uint32_t kinds;	      /* where it occurs (SCN_KIND_*) */
	uint64_t count;	      /* distinct failing states */
	uint64_t kcount[CHECK_NKINDS]; /* ... per kind */
	char example[96];	       /* one state's id */
	uint64_t example_point;	       /* its crash point */
	uint64_t example_upto;	       /* and the last op it stands for */
	char *output;		       /* external checker's output (example) */
	bool mixed; /* its states lost the ops in different ways */
	uint64_t also[CHECK_MAX_ALSO]; /* the same mistake at other ops */
	size_t nalso;
	bool more_also; /* ... and more than fit in also */
};

/* The verdict on one checked state (for JSON). */
struct check_state {
	char id[96];	 /* explore id, "k17.posix.o12@3fa2b1c0" */
	uint8_t kind;	 /* 0 visible, 1 + i model i */
	uint64_t point;	 /* crash point */
	uint64_t upto;	 /* last op before the next crash point: a
				   crash anywhere in point..upto leaves this
				   state, so marks up to here count */
	uint32_t failed; /* 1 << SCN_* of the failed checks */
};

struct check_result {
	const struct scenario *s;	  /* the scenario (not owned) */
	int error;			  /* -errno: setup/usage error */
	char errmsg[1024];		  /* its message */
	char *run_dir;			  /* where the run is (kept or not) */
	bool kept;			  /* run_dir survives this process */
	double workload_seconds;	  /* wall time of the workload */
	double seconds;			  /* wall time of the whole check */
	uint64_t nops;			  /* ops in the trace */
	uint64_t points[CHECK_NKINDS];	  /* crash points per kind */
	uint64_t generated[CHECK_NKINDS]; /* states built per kind */
	uint64_t checked[CHECK_NKINDS];	  /* distinct states checked */
	bool capped[CHECK_NKINDS];	  /* --max-states was reached */
	uint64_t nfailed[SCN_NCHECKS][CHECK_NKINDS]; /* failing states */
	uint32_t failed[SCN_NCHECKS]; /* SCN_KIND_* masks that failed */
	struct check_group *groups;   /* causes, most frequent first */
	size_t ngroups;
	struct check_state *states; /* every checked state */
	size_t nstates;
	bool has_expect;   /* the scenario had an expectation */
	bool expect_ok;	   /* ... and the verdict matches it */
	uint64_t timeouts; /* external checks that timed out */
	bool privileged;   /* states written with --privileged */
};

/* 0 when the run happened (whatever the verdict), -errno otherwise. */
int check_scenario(const struct scenario *s, const struct check_opts *o,
		   struct check_result *r);

void check_result_release(struct check_result *r);

/* Did the scenario pass?  No failure, or exactly the expected ones. */
bool check_result_ok(const struct check_result *r);

/* Index of a kind bit (0 visible, 1 + i model i). */
static inline unsigned check_kind_index(uint32_t kind_bit)
{
	return __builtin_ctz(kind_bit);
}

#endif /* CRASHFS_CHECK_H */
