/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Settling a crash state: turn a choice of what persisted (per op: whole,
 * torn, size only, or not at all) into one real hardware and a real kernel
 * can leave, by the physical rules every persistence model shares (stated
 * at the head of settle.c and in docs/crash-model.md):
 *
 *  - within one sector (one page for a model that never tears) the
 *    changes that persisted are a program-order prefix of the changes made
 *    to it: the page cache writes a page back holding every write made to
 *    it so far, and a device tears a page write at most at sector
 *    boundaries;
 *  - a truncate that shrank a file, or a hole punched or zeroed in it,
 *    changes the sectors from its offset on: a later write there persists
 *    only if the truncate did;
 *  - under a model whose size extensions never persist without their data
 *    (ext4's data=ordered), a later change never persists beyond a lost
 *    extension (no hole), and a torn extension keeps its head only;
 *  - an op that must persist (durable at the crash point, carried by a
 *    persisted rename, or forced by the caller) brings what it needs
 *    along: the earlier changes to its sectors, the truncate before it.
 *
 * Settling first raises what forced ops need, then walks each file's
 * changes in program order and takes back what cannot have persisted: a
 * write keeps the largest of its variants (whole, head, tail, nothing)
 * whose sectors are all still open, and the sectors a change did not
 * persist close behind it.  Settling a possible choice changes nothing.
 *
 * Choices are bytes: enum model_variant, SETTLE_DROP, and SETTLE_FORCE
 * or'ed into a variant for an op that must persist whole.  The output has
 * no SETTLE_FORCE bits.
 *
 * Calling sequence:
 *	struct settle s = { 0 };	(an all-zero settle is ready)
 *	n = settle_choice(&s, m, p, point, sector, choice, list, nlist);
 *	... settle as often as needed ...
 *	settle_release(&s);
 *
 * Memory: the settle keeps per-file work areas between calls (no
 * allocation per call once warm).  Out of memory aborts, as in the model.
 * Not thread-safe: one settle per thread.
 */
#ifndef CRASHFS_SETTLE_H
#define CRASHFS_SETTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "core/persist.h"

#define SETTLE_DROP 0xff  /* the op did not persist */
#define SETTLE_FORCE 0x40 /* flag: the op must persist whole */

/* Why settling changed an op (the first change of a call). */
enum settle_reason {
	SR_NONE = 0,
	SR_SECTOR, /* a change before it to one of its sectors did not
			persist (a write, or a shrinking truncate) */
	SR_HOLE,   /* it would persist beyond a lost extension (ordered
			data: no size without data) */
	SR_TEAR,   /* a torn extension keeps its head only (ordered) */
	SR_NEEDED, /* raised: a later op that must persist needs it */
};

struct settle_change {
	size_t op;		   /* index of the op changed */
	uint8_t from, to;	   /* its choice before and after */
	enum settle_reason reason; /* SR_NONE: nothing changed */
};

struct settle_file;

struct settle {
	struct settle_file *files;  /* per-file work areas, reused */
	size_t nfiles, cap;	    /* in use this call, allocated */
	size_t *slot;		    /* open-addressing table: file -> index */
	uint64_t *slot_gen;	    /* generation of each slot */
	size_t nslots;		    /* a power of two, or 0 */
	uint64_t gen;		    /* this call's generation */
	struct settle_change first; /* first change of the last call */
	bool unsound_reorder;	    /* tests only: skip the sector rule, so
				       the property test can show it sees
				       impossible states */
};

/*
 * Settle choice (indexed by op index) for a crash at `point` under the
 * model whose facts are p (NULL: the physical rules only, sector
 * granularity, nothing durable, no ties, no ordered data).  list holds
 * the indices of the ops to settle, ascending: the pending ops of the
 * state (data, size and other journalled ops).  Ops not in list are taken
 * as persisted whole.  A raised journalled op brings every journalled op
 * before it in list along (the journal persists in order).  sector: the
 * torn-write granularity.  Returns the number of ops whose choice
 * changed; s->first says which changed first and why.
 */
size_t settle_choice(struct settle *s, struct model *m, const struct persist *p,
		     uint64_t point, uint32_t sector, uint8_t *choice,
		     const size_t *list, size_t n);

/* The bytes [*a, *b) of op's data that variant v persists (empty for
 * size-only or a drop). */
void settle_range(const struct model_op *op, uint8_t v, uint32_t sector,
		  uint64_t *a, uint64_t *b);

/* The unit a model's sector rule works in: the sector where writes may
 * tear, else the page. */
uint32_t settle_unit(const struct persist_rules *r, uint32_t sector);

void settle_release(struct settle *s);

#endif /* CRASHFS_SETTLE_H */
