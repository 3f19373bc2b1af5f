/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Reports of crashfs check: text for people, JSON for tools (every
 * checked state's verdict), JUnit XML for CI servers (one test case per
 * scenario and check).
 *
 * The text report groups failures by cause: each cause names the ops
 * involved with their paths, where it occurs (visible states, crash states
 * of which models), one example state with the command that rebuilds it,
 * and a hint.  Visible and crash states are reported apart.
 *
 *	report_write(REPORT_TEXT, results, n, opts, f);
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
	const char *self; /* crashfs binary for replay commands */
	bool color;	  /* ANSI colours (text on a terminal) */
};

/* "text" | "json" | "junit" -> format; returns -EINVAL if unknown. */
int report_parse_format(const char *s, enum report_format *out);

/* Write the report of n results to f.  Returns 0 or -errno. */
int report_write(enum report_format fmt, const struct check_result *r, size_t n,
		 const struct report_opts *o, FILE *f);

#endif /* CRASHFS_REPORT_H */
