/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The verdict of every checked state of one scenario, for the JSON
 * report, without keeping them in memory: a check may visit millions of
 * states, so each state's record is appended to an unlinked temporary
 * file and read back, in order, when the report is written.  Only the
 * failures learnt after a state was logged (an external checker ends
 * later) are kept in memory, as the state's index and its failed checks:
 * memory grows with failing states, never with passing ones.
 *
 * Calling sequence:
 *	l = statelog_new(NULL);			NULL with errno
 *	idx = statelog_count(l);  statelog_add(l, &v);	per state
 *	statelog_fail(l, idx, 1u << SCN_EXTERNAL);	any time later
 *	statelog_rewind(l);
 *	while ((rc = statelog_next(l, &v)) > 0) use(&v);
 *	statelog_free(&l);
 *
 * The file lives in $TMPDIR (default /tmp) as an O_TMPFILE, or a file
 * unlinked as soon as it is made: nothing is left behind, whatever
 * happens to the process.  Not thread-safe.
 */
#ifndef CRASHFS_STATELOG_H
#define CRASHFS_STATELOG_H

#include <stdint.h>

/* The verdict on one checked state. */
struct check_state {
	char id[96];	 /* explore id, "k17.posix.o12@3fa2b1c0" */
	uint8_t kind;	 /* 0 visible, 1 + i model i */
	uint64_t point;	 /* crash point */
	uint64_t upto;	 /* last op before the next crash point: a
			    crash anywhere in point..upto leaves this
			    state, so marks up to here count */
	uint32_t failed; /* 1 << SCN_* of the failed checks */
};

struct statelog;

/* An empty log in directory dir (NULL: $TMPDIR or /tmp); NULL + errno. */
struct statelog *statelog_new(const char *dir);

/* Append v (index statelog_count() before the call).  0 or -errno. */
int statelog_add(struct statelog *l, const struct check_state *v);

/* Add failed checks to state idx, logged earlier.  0 or -errno. */
int statelog_fail(struct statelog *l, uint64_t idx, uint32_t failed);

/* States logged. */
uint64_t statelog_count(const struct statelog *l);

/* Start reading from the first state.  0 or -errno. */
int statelog_rewind(struct statelog *l);

/* The next state, with every failure it got: 1, 0 at the end, -errno. */
int statelog_next(struct statelog *l, struct check_state *v);

void statelog_free(struct statelog **l);

#endif /* CRASHFS_STATELOG_H */
