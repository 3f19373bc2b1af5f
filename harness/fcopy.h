/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Copies of file contents kept in memory, so that writing a file again
 * costs one memory copy instead of a read of the trace per extent.
 *
 * The materializer writes the same files over and over: a checker that
 * deletes or rewrites a file it was given (SQLite's checkpoint on close
 * deletes its WAL and rewrites the database) makes the next state write
 * it again, and in the model a file's content is many extents (a WAL
 * frame is two writes), each a pread of the trace.  A copy remembers the
 * content it was made from by its size and extents: in the model a file's
 * bytes are a function of these (an extent names immutable bytes of the
 * trace or of the initial image, the gaps between extents read as zeros),
 * so a copy whose extents agree with the file's up to some offset holds
 * the file's exact bytes up to there, and only the rest is read from the
 * model.  Nothing is assumed from a file's name or node: a node reused or
 * a content changed shows as extents that differ.
 *
 * Memory: a file larger than FCOPY_FILE_MAX is never copied (the caller
 * reads it from the model as before); when the copies would exceed
 * FCOPY_TOTAL_MAX, all are dropped and copying starts again.
 *
 *	c = fcopy_new();
 *	p = fcopy_content(c, m, n, &err);	n's bytes, or NULL
 *	fcopy_free(&c);
 *
 * Errors: fcopy_new() returns NULL with errno set.  fcopy_content()
 * returns NULL with *err = 0 when it does not copy this file (too large,
 * out of memory), or with *err = -errno when the model cannot be read.
 */
#ifndef CRASHFS_FCOPY_H
#define CRASHFS_FCOPY_H

#include <stdint.h>

#include "core/model.h"

#define FCOPY_FILE_MAX (8u << 20)   /* larger files are not copied */
#define FCOPY_TOTAL_MAX (64u << 20) /* all copies together, at most */

struct fcopy;

struct fcopy *fcopy_new(void);

/*
 * The current content of regular file n of m (model_stat's size bytes),
 * from its copy where the extents agree and from the model for the rest;
 * the copy is then updated.  The pointer stays valid until the next call
 * for n, or fcopy_free().  NULL: see above.
 */
const char *fcopy_content(struct fcopy *c, struct model *m,
			  const struct mnode *n, int *err);

/* Bytes read from the model so far (for tests and benchmarks). */
uint64_t fcopy_model_bytes(const struct fcopy *c);

void fcopy_free(struct fcopy **c);

#endif /* CRASHFS_FCOPY_H */
