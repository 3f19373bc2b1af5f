/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Reports of crashfs check: text for people, JSON for tools (every
 * checked state's verdict), JUnit XML for CI servers (one test suite per
 * scenario, one test case per checked path).  docs/report-format.md
 * specifies the JSON and the JUnit; docs/report.schema.json is the JSON
 * Schema of the JSON.
 *
 * The text report groups failures by cause: each cause names the ops
 * involved with their paths, where it occurs (visible states, crash states
 * of which models), one example state with the command that rebuilds it,
 * and a hint.  Visible and crash states are reported apart.  It can be
 * written as scenarios run (report_text_start() when one starts,
 * report_text_result() when it ends, report_text_summary() at the end)
 * or at once (report_write()).
 *
 * Names are bytes: in JSON a string that is not valid UTF-8 is written
 * with \xHH for its bad bytes and comes with a "<key>_hex" companion
 * holding its exact bytes; in XML the same \xHH replacement is used.
 *
 *	report_write(REPORT_JSON, results, n, &opts, f);
 */
#ifndef CRASHFS_REPORT_H
#define CRASHFS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "harness/check.h"

enum report_format {
	REPORT_TEXT = 0,
	REPORT_JSON,
	REPORT_JUNIT,
};

struct report_opts {
	const char *self;	   /* crashfs binary for replay commands */
	bool color;		   /* ANSI colours (text) */
	bool quiet;		   /* text: one verdict line per scenario */
	unsigned shard_k, shard_n; /* the shard checked (n 0 or 1: all) */
};

/* "text" | "json" | "junit" -> format; returns -EINVAL if unknown. */
int report_parse_format(const char *s, enum report_format *out);

/* Write the report of n results to f.  Returns 0 or -errno. */
int report_write(enum report_format fmt, const struct check_result *r, size_t n,
		 const struct report_opts *o, FILE *f);

/* Text, as scenarios run: the header of scenario s as it starts ... */
void report_text_start(const struct scenario *s, const struct report_opts *o,
		       FILE *f);

/* ... the rest of its report once checked ... */
void report_text_result(const struct check_result *r,
			const struct report_opts *o, FILE *f);

/* ... and, for several scenarios, the summary at the end. */
void report_text_summary(const struct check_result *r, size_t n,
			 const struct report_opts *o, FILE *f);

#endif /* CRASHFS_REPORT_H */
