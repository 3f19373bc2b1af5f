/* SPDX-License-Identifier: MIT */
/** @file
 *
 * A bounded set of 64-bit fingerprints: which states were checked
 * already.  It grows like a hash table up to a fixed number of entries
 * (SEEN_MAX_ENTRIES, 8 bytes each), then stays that size and forgets an
 * old entry for each new one, so memory stays flat however many states
 * an exploration visits.  A forgotten state met again is checked again:
 * the verdict is the same, only the work is repeated.
 *
 * Buckets of 8 entries (one cache line); a fingerprint lives in the
 * bucket its low bits name.  0 marks a free entry (fingerprint 0 is
 * stored as 1).
 *
 *	struct seen s = { 0 };
 *	if (!seen_add(&s, fp)) check the state;
 *	seen_release(&s);
 *
 * An all-zero struct seen is an empty set.  Not thread-safe.
 */
#ifndef CRASHFS_SEEN_H
#define CRASHFS_SEEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEEN_MAX_ENTRIES (1u << 22) /* 32 MiB at most */

struct seen {
	uint64_t *fp;	  /* nbuckets * 8 entries, 0: free */
	size_t nbuckets;  /* a power of two, or 0 */
	size_t len;	  /* entries in use */
	size_t max;	  /* entries at most (0: SEEN_MAX_ENTRIES) */
	uint64_t evicted; /* entries forgotten to make room */
};

/* Fingerprint of a state's tree hash and what its check depends on. */
uint64_t seen_fingerprint(uint64_t hash, uint64_t context);

/*
 * Add fp.  Returns true if it was in the set already (a state checked
 * before), false if it is new (then it is in the set now).  Out of
 * memory, the set stays as it is and reports everything as new.
 */
bool seen_add(struct seen *s, uint64_t fp);

void seen_release(struct seen *s);

#endif /* CRASHFS_SEEN_H */
