/* SPDX-License-Identifier: MIT */
/** @file
 *
 * What a scenario needs before it can run: the `requires` key of a
 * scenario file (docs/scenarios.md).  A scenario about rsync, git or a
 * Python binding is skipped, with the reason, on a machine without them,
 * rather than failing with "sh: rsync: not found" as a setup error.
 *
 * A requirement is one word:
 *	PROGRAM		an executable named PROGRAM on PATH ("rsync")
 *	/PATH		an executable file at PATH ("/usr/bin/python3")
 *	PROGRAM:MODULE	a Python interpreter (either form above) that can
 *			import MODULE: "PROGRAM -c 'import MODULE'" exits 0
 *			("/usr/bin/python3:lmdb")
 *
 * Calling sequence:
 *	if (!requires_word_ok(word)) reject the scenario file;
 *	rc = requires_missing(&s->requires, why, sizeof(why));
 *	rc == 1: skip the scenario, why says what is missing
 */
#ifndef CRASHFS_REQUIRES_H
#define CRASHFS_REQUIRES_H

#include <stdbool.h>
#include <stddef.h>

struct strv;

/* True if word has one of the forms above (names without blanks, control
 * characters or quotes; a module name of letters, digits, '_' and '.'). */
bool requires_word_ok(const char *word);

/*
 * Check every requirement of req, in order, against the current PATH.
 * Returns 0 when all are met, 1 when one is not (why, if not NULL, then
 * says which, e.g. "rsync is not installed (not found on PATH)"), or
 * -errno when a check could not be made (fork failed).  The import test
 * runs with stdin, stdout and stderr on /dev/null.
 */
int requires_missing(const struct strv *req, char *why, size_t whylen);

#endif /* CRASHFS_REQUIRES_H */
