/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The built-in checks, --atomic PATH and --durable PATH, evaluated on the
 * model's tree in-process (no file is written), and what external
 * checkers need to know about marks.
 *
 * Semantics (DESIGN.md, "Checks"):
 *  - atomic PATH: in every state, PATH holds one of its legal versions:
 *    its version in the initial image, at the end of the workload, or at
 *    any mark (right after the mark record).  Absent is legal where PATH
 *    was absent at one of those moments.
 *  - durable PATH: in every state whose crash point is at or after the
 *    last mark (no mark: the workload's last operation), PATH holds its
 *    final version.
 *
 * A version is what a reader of PATH sees: absent, or the file type and
 * the content (a symlink's target; a directory's tree hash).  Modes,
 * owners and link counts are not part of it.
 *
 * Calling sequence:
 *	c = checks_new(m, &atomic, &durable, err, sizeof(err));
 *	... put the model's tree in a state at crash point k ...
 *	failed = checks_eval(c, m, k, &why);
 *	checks_free(&c);
 *
 * checks_new() moves the model's tree around (it visits the initial, the
 * final and every mark's visible state); callers reset the tree after.
 */
#ifndef CRASHFS_CHECKS_H
#define CRASHFS_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/model.h"
#include "harness/scenario.h"

struct checks;

/* A mark made by the workload. */
struct check_mark {
	uint64_t seq;	  /* its record's sequence number */
	const char *text; /* its text (owned by the model) */
};

/* Why a state failed the built-in checks: the first failing path of
 * each check, and which paths failed. */
struct check_why {
	uint32_t failed;	     /* 1 << SCN_ATOMIC | 1 << SCN_DURABLE */
	int path[SCN_NCHECKS];	     /* index of the failing path per check */
	uint64_t seen[SCN_NCHECKS];  /* version hash it held (0: absent) */
	uint64_t paths[SCN_NCHECKS]; /* bit i: path i failed (i < 64) */
};

/*
 * Build the checks for a recorded run.  Returns NULL with a message in err
 * when a path cannot be resolved in a way that makes sense (a path through
 * a regular file, say), or with errno EINTR when util_stopping().
 */
struct checks *checks_new(struct model *m, const struct strv *atomic,
			  const struct strv *durable, char *err, size_t errlen);

void checks_free(struct checks **c);

/*
 * Evaluate the built-in checks on the model's current tree, taken as a
 * state at crash point `point` (ops 1..point were made).  Returns the
 * failed mask (0: consistent) and fills *why when not NULL.
 */
uint32_t checks_eval(struct checks *c, struct model *m, uint64_t point,
		     struct check_why *why);

/* The version hash of path in the model's current tree (0: absent). */
uint64_t checks_version(struct model *m, const char *path);

/* Marks, in trace order. */
size_t checks_nmarks(const struct checks *c);
const struct check_mark *checks_mark(const struct checks *c, size_t i);

/* Number of marks made at or before point (a binary search). */
size_t checks_marks_upto(const struct checks *c, uint64_t point);

/* Crash point from which --durable applies. */
uint64_t checks_durable_from(const struct checks *c);

/* Write the texts of the marks made before or at point, one a line. */
int checks_write_marks(const struct checks *c, uint64_t point, FILE *f);

/*
 * Describe version hash v of the path checked by (check, idx) for a
 * report: "absent", "the initial version", "the final version", "its
 * version at mark 'x'", or "content that is none of its versions".
 */
const char *checks_describe(const struct checks *c, enum scn_check check,
			    int idx, uint64_t v);

/* The path checked by (check, idx). */
const char *checks_path(const struct checks *c, enum scn_check check, int idx);

#endif /* CRASHFS_CHECKS_H */
