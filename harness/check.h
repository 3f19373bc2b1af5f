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
#include "harness/statelog.h"

#define CHECK_NKINDS (1 + SCN_MAX_MODELS) /* visible + models */
#define CHECK_MAX_ALSO 8		  /* other ops listed for one cause */
#define CHECK_MAX_PATHS                                                        \
	64 /* paths per check with a verdict of
					     their own (checks_why.paths) */

/* How exploration shows its progress on stderr. */
enum check_progress {
	CHECK_PROGRESS_NONE = 0, /* not at all */
	CHECK_PROGRESS_TTY,	 /* one line redrawn (a terminal) */
	CHECK_PROGRESS_LINES,	 /* a line every CHECK_PROGRESS_EVERY s */
};

#define CHECK_PROGRESS_EVERY 10 /* seconds between progress lines */

/* Options shared by every scenario of one `crashfs check`. */
struct check_opts {
	unsigned jobs;		/* external checkers at once (>= 1) */
	unsigned shard_k;	/* this shard, 0-based ... */
	unsigned shard_n;	/* ... of shard_n (0 or 1: no sharding) */
	uint64_t max_states;	/* distinct states per kind, 0: the
				   scenario's max-states, else no cap */
	double max_seconds;	/* stop exploring after this long, 0: no
				   limit */
	bool allow_partial;	/* a capped check may still pass */
	uint64_t seed;		/* for the random states */
	unsigned points;	/* enum explore_points: crash points */
	bool keep_repeats;	/* build the states that repeat one of an
				   earlier point too (--points every) */
	unsigned check_timeout; /* seconds per external check */
	unsigned timeout;	/* workload seconds (0: scenario or 600) */
	const char *keep;	/* keep runs here (NULL: remove them) */
	const char *recorded;	/* check this recorded RUN, no workload */
	bool keep_is_run;	/* keep names the run dir itself */
	char *const *argv;	/* workload argv (command line form) */
	enum check_progress progress; /* on stderr */
	bool verbose;		      /* say what happens */
	const char *self;	      /* crashfs binary, for replay commands */
	bool no_sync_watch;    /* do not watch the workload's sync calls */
	bool privileged;       /* states exactly as recorded (MT_PRIVILEGED) */
	const char *state_dir; /* external checkers' states go in a private
				  directory under it (NULL: RUN/states.*) */
};

/* Why an exploration stopped before every state was checked. */
enum check_stop {
	CHECK_STOP_NONE = 0, /* it did not: every state was checked */
	CHECK_STOP_STATES,   /* --max-states */
	CHECK_STOP_TIME,     /* --max-time */
};

/* One failing cause: the failures one explanation covers. */
struct check_group {
	enum scn_check check; /* which check failed */
	int path;	      /* index of its path (built-in checks) */
	uint64_t seen;	      /* version hash the path held (example;
				 a failure with everything persisted: in
				 its visible state) */
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
	uint8_t example_kind;	       /* and its kind */
	char *output;		       /* external checker's output (example) */
	bool mixed; /* its states lost the ops in different ways */
	uint64_t also[CHECK_MAX_ALSO]; /* the same mistake at other ops */
	size_t nalso;
	bool more_also;	  /* ... and more than fit in also */
	uint64_t nsame;	  /* ops the mistake was made at, the example's
			      included (also[]: the first others) */
	uint64_t same[2]; /* the first and the last of them (seqs) ... */
	uint64_t upto[2]; /* ... and the last op of the first state each
			      was met in */
};

struct check_result {
	const struct scenario *s; /* the scenario (not owned) */
	int error;		  /* -errno: setup/usage error */
	char errmsg[1024];	  /* its message */
	bool skipped;		  /* not run: a requirement is missing */
	char skip_reason[320];	  /* ... which (harness/requires.h) */
	char *run_dir;		  /* where the run is (kept or not) */
	bool kept;		  /* run_dir survives this process */
	bool recorded;		  /* run_dir was given (--run) */
	double workload_seconds;  /* wall time of the workload */
	char syncs_unseen[320];	  /* why the workload's sync(2) and syncfs(2)
				   calls were not seen ("" if they were, or
				   not known: a bare trace) */
	char *output;		  /* the last 4 KiB the setup and
					     workload printed (or NULL) */
	double started;		  /* when the check began (Unix
					     time) */
	double seconds;		  /* wall time of the whole check */
	uint64_t nops;		  /* ops in the trace */
	uint64_t points[CHECK_NKINDS];	  /* crash points per kind */
	uint64_t generated[CHECK_NKINDS]; /* states built per kind */
	uint64_t checked[CHECK_NKINDS];	  /* distinct states checked */
	uint64_t dominated[CHECK_NKINDS]; /* states left out as repeats of
					     one at an earlier point (same
					     tree and check context) */
	uint64_t unknown;		  /* visible states left out: a
					     shared mapping's pages were
					     written back after them, what
					     kill -9 left is not known */
	bool capped[CHECK_NKINDS];	  /* a bound stopped this kind early */
	enum check_stop stopped;	  /* which bound (the first met) */
	uint64_t max_states;		  /* the --max-states in force */
	bool allow_partial;		  /* capped is no reason to fail */
	uint64_t nfailed[SCN_NCHECKS][CHECK_NKINDS]; /* failing states */
	uint32_t failed[SCN_NCHECKS]; /* SCN_KIND_* masks that failed */
	uint32_t path_failed[2][CHECK_MAX_PATHS]; /* ... per --atomic and
						     --durable path */
	double explore_seconds;	    /* exploring and checking states */
	double builtin_seconds;	    /* ... of which the built-in checks and
				   their cause search */
	struct check_group *groups; /* causes, most frequent first */
	size_t ngroups;
	struct statelog *states; /* every checked state's verdict */
	bool has_expect;	 /* the scenario had an expectation */
	bool expect_ok;		 /* ... and the verdict matches it */
	uint64_t timeouts;	 /* external checks that timed out */
	uint64_t cause_runs;	 /* external checker runs of the cause
				    search */
	uint64_t cause_known;	 /* ... and its tries whose verdict was
				    known: the same tree and context was
				    checked before */
	bool privileged;	 /* states written with --privileged */
};

/* 0 when the run happened (whatever the verdict) or was skipped for a
 * missing requirement (r->skipped), -errno otherwise. */
int check_scenario(const struct scenario *s, const struct check_opts *o,
		   struct check_result *r);

void check_result_release(struct check_result *r);

/* Exit statuses of crashfs check, worst last. */
enum check_status {
	CHECK_OK = 0,	      /* every state checked and consistent (or
				 every verdict as expected), or skipped */
	CHECK_VIOLATION = 1,  /* a violation, or a verdict that differs
				 from the expectation */
	CHECK_ERROR = 2,      /* usage or setup error */
	CHECK_INCOMPLETE = 3, /* nothing wrong in the states checked, but
				 a bound stopped the exploration early
				 (allow_partial turns it into CHECK_OK) */
};

/* The verdict of one scenario as an exit status. */
enum check_status check_result_status(const struct check_result *r);

/* Did the scenario pass?  check_result_status() is CHECK_OK. */
bool check_result_ok(const struct check_result *r);

/* Did every kind explore all its states (no bound stopped it)? */
bool check_result_complete(const struct check_result *r);

/* Did failing check c come out as expected?  (Expected to fail exactly
 * in the kinds it failed in, or, without expectation, not failing.) */
bool check_result_check_ok(const struct check_result *r, int c);

/* Index of a kind bit (0 visible, 1 + i model i). */
static inline unsigned check_kind_index(uint32_t kind_bit)
{
	return __builtin_ctz(kind_bit);
}

#endif /* CRASHFS_CHECK_H */
