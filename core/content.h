/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Content hashes of the model's files: what a reader of a path sees, and
 * nothing else.  The built-in checks (harness/checks.c) compare a path's
 * content hash in a crash state with its hashes at the legal moments.
 *
 * The content hash of a file is:
 *  - a regular file: its bytes (holes read as zeros), whatever writes put
 *    them there: two files with equal bytes hash equal even when written
 *    by different ops (unlike model_hash(), which names where each byte
 *    comes from);
 *  - a symlink: its target;
 *  - a device: its device number;
 *  - a directory: the names of its entries and, recursively, the content
 *    hash of each entry (order-independent);
 * each with the file's type.  Modes, owners, times, xattrs, link counts
 * and inode numbers are not part of it.
 *
 * Cost: a regular file is hashed in blocks of CONTENT_BLOCK bytes; each
 * block is named by the extents that cover it (the trace and the initial
 * image never change, so equal extents mean equal bytes) and its bytes
 * are read only the first time that name is seen.  A file changed by one
 * write since it was last hashed costs the blocks that write touched plus
 * a walk over its extents; an unchanged file costs a lookup.
 *
 * Calling sequence:
 *	struct content *c = content_new();
 *	err = content_hash(c, m, node, &h);	(any model, any number)
 *	content_free(&c);
 *
 * A cache remembers block hashes (bounded: it starts over past
 * CONTENT_CACHE_MAX blocks) and each file's last hash.  Not thread-safe:
 * one cache per thread.
 */
#ifndef CRASHFS_CONTENT_H
#define CRASHFS_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

#define CONTENT_BLOCK (16 * 1024)    /* bytes per hashed block */
#define CONTENT_CACHE_MAX (1u << 21) /* block hashes kept at most */

struct content;

/* A new, empty cache; NULL with errno set (ENOMEM). */
struct content *content_new(void);

void content_free(struct content **c);

/*
 * The content hash of n in m's current tree into *out.  Returns 0, or
 * -EIO when the initial image cannot be read, -ENOMEM.
 */
int content_hash(struct content *c, struct model *m, struct mnode *n,
		 uint64_t *out);

/* The content hash a regular file holding exactly buf[0, len) has. */
uint64_t content_hash_bytes(const void *buf, size_t len);

/* Bytes of file content read so far (to test that cost follows change). */
uint64_t content_bytes_read(const struct content *c);

#endif /* CRASHFS_CONTENT_H */
