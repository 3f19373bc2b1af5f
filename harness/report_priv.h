/* SPDX-License-Identifier: MIT */
/** @file
 *
 * What the three report formats share (harness/report.c): the words for
 * kinds and expectations, the replay command, the test cases a scenario
 * is made of, and the escaping of names, which are bytes.  Private to
 * report.c, report_json.c and report_junit.c.
 */
#ifndef CRASHFS_REPORT_PRIV_H
#define CRASHFS_REPORT_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "harness/report.h"

/* One test case: a check on one path (the external checker: one). */
struct report_case {
	int check;	    /* SCN_* */
	int path;	    /* index in the scenario's list, -1: external */
	const char *target; /* the path, or the checker command */
	uint32_t failed;    /* kinds it failed in */
	uint32_t expected;  /* kinds it was expected to fail in */
	bool ok;	    /* as expected (see report_cases) */
	double seconds;	    /* time spent on it */
};

/* Name of kind index k of scenario s ("visible", "posix" ...). */
const char *report_kind_name(const struct scenario *s, unsigned k);

/* "visible states (kill -9, concurrent readers): 1; crash states ..." */
void report_where(const struct scenario *s, const struct check_group *g,
		  char *buf, size_t len);

/* The failures as scenario text ("fail: atomic(posix)", "pass"). */
void report_expect_str(const struct scenario *s, const uint32_t *fail,
		       char *buf, size_t len);

/* " (incomplete: ...)" or "" for a complete check. */
void report_incomplete_str(const struct check_result *r, char *buf, size_t len);

/* The command that rebuilds state id (RUN when the run is not kept). */
void report_replay_cmd(const struct check_result *r, const char *id,
		       const struct report_opts *o, char *buf, size_t len);

/* The path or command a cause group is about. */
const char *report_target(const struct check_result *r,
			  const struct check_group *g);

/* Does group g belong to test case c? */
bool report_case_has(const struct report_case *c, const struct check_group *g);

/*
 * The test cases of a result, one per --atomic and --durable path and
 * one for the external checker: at most max into out, returns how many
 * there are.  A case is ok when it failed in no kind it was not
 * expected to and (unless sharded: a shard sees only some states) its
 * check failed in every kind expected.  The malloc'd array is the
 * caller's.
 */
size_t report_cases(const struct check_result *r, const struct report_opts *o,
		    struct report_case **out);

/* Is s valid UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF)? */
bool report_utf8(const char *s);

/*
 * s made printable: every byte of an invalid UTF-8 sequence as \xHH and,
 * for XML, each character XML 1.0 does not allow (control characters
 * other than tab, newline and carriage return) too.  malloc'd, NULL on
 * no memory.
 */
char *report_escape(const char *s, bool xml);

/* s as hexadecimal digits (two a byte), malloc'd. */
char *report_hex(const char *s);

int report_json(const struct check_result *r, size_t n,
		const struct report_opts *o, FILE *f);
int report_junit(const struct check_result *r, size_t n,
		 const struct report_opts *o, FILE *f);

#endif /* CRASHFS_REPORT_PRIV_H */
