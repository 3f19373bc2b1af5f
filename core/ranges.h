/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Sets of byte ranges of a file, kept sorted and disjoint: which bytes of a
 * file changed since its last sync (the power cut journal's "dirty" set,
 * docs/faults.md), and which of its old bytes are saved where (the journal's
 * saves: each range carries the position of its bytes in a scratch file).
 *
 *	struct ranges r = {0};		an all-zero set is empty and valid
 *	ranges_add(&r, off, end);	union with [off, end)
 *	ranges_bytes(&r);		bytes covered
 *	ranges_release(&r);
 *
 * ranges_add() merges what touches: a range at or past the last one at once
 * (O(1): appends, sequential writes), any other in batches (kept unsorted
 * until as many as the sorted part have come, then sorted and merged:
 * O(log n) amortised), so every reader of the set's ranges calls
 * ranges_norm() first (ranges_bytes(), ranges_put() and ranges_cut() do).
 * ranges_put() inserts a range known not to overlap any other (binary
 * search and memmove) and merges it with a neighbour only when both the
 * offsets and the positions follow on (a save appended right after the
 * previous one).  Actions return 0 or -ENOMEM (the set is then
 * unchanged).
 */
#ifndef CRASHFS_RANGES_H
#define CRASHFS_RANGES_H

#include <stddef.h>
#include <stdint.h>

/* [off, end), and where its bytes are (saves only; -1: zeros). */
struct range {
	int64_t off;
	int64_t end;
	int64_t pos;
};

struct ranges {
	struct range *v; /* v[0, sorted): sorted by off, disjoint */
	size_t n, cap;	 /* used, allocated */
	size_t sorted;	 /* ... v[sorted, n): added since, unsorted */
	uint64_t bytes;	 /* sum of end - off of the sorted part */
};

/* Union with [off, end) (pos of merged ranges is meaningless). */
int ranges_add(struct ranges *r, int64_t off, int64_t end);

/* Insert [off, end) at pos, overlapping nothing in r. */
int ranges_put(struct ranges *r, int64_t off, int64_t end, int64_t pos);

/* Sort and merge what ranges_add() noted unsorted. */
void ranges_norm(struct ranges *r);

/* Index of the first range that ends after off (r->n if none); r must be
 * normalised. */
size_t ranges_find(const struct ranges *r, int64_t off);

/* Remove everything at or past off (ranges across it are cut). */
void ranges_cut(struct ranges *r, int64_t off);

static inline uint64_t ranges_bytes(struct ranges *r)
{
	ranges_norm(r);
	return r->bytes;
}

/* Empty the set (keeps nothing allocated). */
void ranges_release(struct ranges *r);

#endif /* CRASHFS_RANGES_H */
