/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The wording of a failure group's cause (struct check_group): g->text
 * says what failed and why, in terms of the program's own operations
 * ("write #5 to config.json.tmp was not durable when rename #7 made it
 * visible"), g->hint what to do about it ("fsync config.json.tmp before
 * renaming it").  The cause itself is found by harness/cause; the hint is
 * chosen from its shape (see cause.h).
 *
 * Both functions move the model's tree (they look paths up as they were
 * at the ops they name).
 */
#ifndef CRASHFS_EXPLAIN_H
#define CRASHFS_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "harness/check.h"
#include "harness/checks.h"

/* What the wording looks at. */
struct explain_ctx {
	struct model *m;  /* the run */
	struct checks *c; /* its checks and marks */
	uint32_t sector;  /* torn-write granularity */
	unsigned timeout; /* external checker timeout, seconds */
};

/*
 * Fill g->text and g->hint from g->cause (and g->check, g->path,
 * g->example_upto; g->mixed: the cause's ops were lost in different ways
 * in its states; g->nsame, g->same_last, g->same_last_upto: the same
 * mistake made at other ops).  Call it once the group is complete.
 */
void explain_group(const struct explain_ctx *x, struct check_group *g);

/*
 * What path held in the state (point, choice; NULL choice: visible), in
 * words, for g->held: "an empty file", "its initial version", "content
 * that is none of its versions (3 bytes: \"ne\\x00\")", "a directory
 * tree that is none of its versions (2 entries: a (1 byte), b (empty))".
 * seen is the version hash the check saw.
 */
void explain_held(const struct explain_ctx *x, enum scn_check check, int path,
		  uint64_t seen, uint64_t point, const uint8_t *choice,
		  char *buf, size_t len);

#endif /* CRASHFS_EXPLAIN_H */
