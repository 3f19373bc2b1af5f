/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Persistence models: which ops of a trace are durable at each point, and
 * which of the others may have reached the disk when power is lost.  The
 * rules are stated in words at the head of persist.c and, with their
 * sources, in docs/crash-model.md.
 *
 * A model is a table of rules (struct persist_rules).  persist_compute()
 * turns a loaded trace and a model into per-op facts the explorer works
 * from: the class of each op, the sequence number of the op that made it
 * durable (durability never goes away, so "op i is durable at crash point
 * k" is durable_at[i] <= k), and the ties (a data op that persists
 * whenever a later metadata op does).  The explorer never looks at a
 * model's name: adding a model is adding a table.
 *
 *	const struct persist_rules *r = persist_find("posix");
 *	struct persist p = { 0 };
 *	persist_compute(m, r, &p);
 *	... p.durable_at[i], p.cls[i], p.tie[i] ...
 *	persist_release(&p);
 */
#ifndef CRASHFS_PERSIST_H
#define CRASHFS_PERSIST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/model.h"

#define PERSIST_NEVER UINT64_MAX

/* What an op is to the persistence rules. */
enum persist_class {
	PC_NONE = 0, /* no on-disk effect (open, close, mark, sync ...) */
	PC_NS,	     /* directory entry change: journalled, in order */
	PC_SIZE,     /* size change (truncate, fallocate): journalled,
			   durable with the file's data */
	PC_ATTR,     /* mode, owner, xattr: journalled, durable on fsync
			   (not fdatasync) of the file */
	PC_DATA,     /* write, copy: any order, may tear */
};

struct persist_rules {
	const char *name;	    /* "posix", "ext4" ... */
	const char *summary;	    /* one line for --help */
	bool fsync_commits_journal; /* an fsync of any file makes every
					   earlier metadata op durable */
	bool replace_flushes_data;  /* a rename over an existing file
					   persists the moved file's earlier
					   writes with it (auto_da_alloc) */
	bool pending_meta;	    /* non-durable metadata may persist (as a
				   program-order prefix) */
	bool pending_data;	    /* non-durable writes may persist */
	bool data_in_order;	    /* ... only together with the prefix that
				   ends after them (no reordering) */
	bool torn;		    /* a pending write may persist in part, at
				   sector granularity */
	bool size_without_data;	    /* an extension may persist zero-filled */
};

/* The models, NULL-terminated; the first is the default. */
extern const struct persist_rules *const persist_models[];

/* The model called name, NULL if none. */
const struct persist_rules *persist_find(const char *name);

/* Class of a successful op (PC_NONE for failed records). */
enum persist_class persist_class_of(const struct model_op *op);

/* Per-op facts for one model; arrays are indexed like model_op(m, i). */
struct persist {
	const struct persist_rules *rules;
	size_t nops;
	uint8_t *cls;	      /* enum persist_class */
	uint64_t *durable_at; /* seq of the op that made it durable, or
				   PERSIST_NEVER */
	uint64_t *tie;	      /* PC_DATA: seq of the metadata op that
				   carries it (0: none) */
	uint64_t *journal;    /* indices of the journalled ops (PC_NS,
				   PC_SIZE, PC_ATTR) in order */
	uint64_t *lost_at;    /* PC_DATA, PC_SIZE: seq of the failed fsync
				   of the file after which it can never
				   become durable through the file (0:
				   none) */
	size_t njournal;
};

/*
 * Compute the facts for model r over the loaded trace of m (uses the
 * model's scratch words; the tree is not touched).  Returns 0 or -ENOMEM.
 * p must be zeroed or released.
 */
int persist_compute(struct model *m, const struct persist_rules *r,
		    struct persist *p);

void persist_release(struct persist *p);

/* Is op i durable at crash point k (a seq)? */
static inline bool persist_durable(const struct persist *p, size_t i,
				   uint64_t k)
{
	return p->durable_at[i] <= k;
}

#endif /* CRASHFS_PERSIST_H */
