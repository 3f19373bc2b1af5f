/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Cause search: why does a state fail a check, in terms of the program's
 * own operations, and what should the program do instead.
 *
 * Method.  A crash state is a crash point k and, for each op up to k, a
 * choice: persisted whole, dropped, or torn (one of the partial variants
 * of core/model.h).  For a failing state we look for the smallest set of
 * dropped or torn ops whose full persistence makes the check pass, trying
 * every single op, then every pair, then every triple (bounded),
 * rebuilding the state's tree each time.  Persisting a journalled op
 * (entry, size or attribute change) persists the lost journalled ops
 * before it too, since every model keeps metadata in program order: the
 * fix "the rename" then covers a state that also lost the create before
 * it.  When no such set exists the cause summarises which files the lost
 * ops were on (CAUSE_MANY).  For each op i of that set we name the first persisted op j
 * after it that made i's absence visible: "op i must persist before op j"
 * (ALICE's ordering dependency).  When even the visible state at k fails
 * (everything persisted), persistence is not the cause: the program
 * exposed a bad version by itself (a truncate before the write, a mark
 * before the data was written), and the cause names the op that did.
 *
 * The hint is chosen from the shape of the cause (harness/explain): lost
 * data of a file that a rename or link later published ("fsync F before
 * renaming it", "... before linking it"), a lost directory entry change
 * ("fsync the directory after the rename"), data not durable at a mark
 * ("fsync F before acknowledging"), an append ("make readers drop a torn
 * tail"), an update of a file that existed before ("this updates F in
 * place"), a file deleted and created again ("write a temp file and
 * rename it"), a mark before the data left the program ("flush and fsync
 * before acknowledging").
 */
#ifndef CRASHFS_CAUSE_H
#define CRASHFS_CAUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "core/persist.h"

#define CAUSE_DROP 0xff /* choice: the op did not persist */
#define CAUSE_MAX_OPS 4 /* ops named by one cause */

/*
 * A state to explain: ops 1..point, choice[i] for op seq i + 1.  Every
 * state built from it is first settled (core/settle.h): what real
 * hardware cannot leave is never checked, and persisting an op back
 * brings back what it needs (the earlier changes to its sectors, the
 * journal before it, under persist's model what rides with a rename).
 */
struct cause_state {
	uint64_t point;	       /* crash point (seq of the last op made) */
	const uint8_t *choice; /* point entries: enum model_variant or
				   CAUSE_DROP; NULL: all persisted (visible) */
	uint32_t sector;       /* sector size for torn variants */
	const struct persist *persist; /* the state's model's facts (not
					   owned); NULL: the physical rules
					   only */
	uint64_t upto; /* the crash stands for one up to this op: a check
			  sees the marks made up to it (0: point) */
};

enum cause_kind {
	CAUSE_VISIBLE = 1, /* fails with everything persisted */
	CAUSE_LOST,	   /* ops[] did not persist (or were torn) */
	CAUSE_MANY,	   /* no set of up to three lost ops fixes it:
				   files[] names where the losses were */
	CAUSE_UNKNOWN,	   /* not searched (budget spent) */
	CAUSE_TIMEOUT,	   /* not searched: the checker timed out */
	CAUSE_UNSTABLE,	   /* the state lost nothing, yet failed while
				   its visible state passed: the checker
				   does not give the same verdict twice */
};

struct cause {
	enum cause_kind kind;
	size_t nops;			 /* ops named */
	uint64_t ops[CAUSE_MAX_OPS];	 /* seqs: lost ops, or the op that
					   exposed the bad version (0: the
					   initial state fails already) */
	uint8_t how[CAUSE_MAX_OPS];	 /* CAUSE_DROP or the torn variant */
	uint64_t before[CAUSE_MAX_OPS];	 /* persisted op after ops[i] that
					   needed it (0: none) */
	uint64_t point;			 /* crash point of the state */
	size_t nlost;			 /* CAUSE_MANY: ops lost in all */
	size_t nfiles;			 /* CAUSE_MANY: files with losses */
	uint64_t files[CAUSE_MAX_OPS];	 /* their trace ids (the directory
					   for lost entry changes) */
	uint64_t first_lost;		 /* CAUSE_MANY: the earliest of
					   the ops (seq) */
	bool file_is_dir[CAUSE_MAX_OPS]; /* files[i] lost entries */
	unsigned tries;			 /* states the search rebuilt */
	unsigned depth;	  /* CAUSE_MANY: every set of up to this many of
			     the files' lost ops was tried */
	bool unminimised; /* CAUSE_MANY: the search ran out of tries, a
			   smaller set of ops may fix the state */
};

/*
 * Would persisting cause c's ops fix a state with this choice vector as
 * well?  (All of c's ops are lost in it, or for CAUSE_MANY it lost ops on
 * each of c's files; a state that lost nothing is its visible state and
 * matches a CAUSE_VISIBLE.)  Used to attribute failures without
 * searching each one.
 */
bool cause_matches(struct model *m, const struct cause *c,
		   const struct cause_state *st);

/*
 * Does the model's current tree, as a state at crash point `point` seen
 * with the marks made up to op `upto` (>= point), pass?  (The check
 * under study only.)
 */
typedef bool (*cause_pass_fn)(void *ctx, struct model *m, uint64_t point,
			      uint64_t upto);

/* Put the model's tree in state st (model_reset, then apply). */
void cause_apply(struct model *m, const struct cause_state *st);

/*
 * Explain a failing state.  max_tries bounds the number of candidate
 * states rebuilt (external checkers are expensive).  Leaves the tree in
 * an unspecified state.  Returns 0 or -errno.
 */
int cause_find(struct model *m, const struct cause_state *st,
	       cause_pass_fn pass, void *ctx, unsigned max_tries,
	       struct cause *out);

/*
 * Would persisting the ops seqs[0..n) (with the journalled ops before
 * them) fix state st?  One rebuild.  Returns 1 and fills out as a
 * CAUSE_LOST of those ops when it does, 0 when it does not (or when one
 * of them was not lost), -ENOMEM.  For a failure that looks like a cause
 * already found at another op (the same unlink at the next commit).
 */
int cause_try(struct model *m, const struct cause_state *st,
	      const uint64_t *seqs, size_t n, cause_pass_fn pass, void *ctx,
	      struct cause *out);

/*
 * Without any search: summarise a crash state's losses as a CAUSE_MANY
 * (unminimised), a CAUSE_LOST when it lost one op, a CAUSE_VISIBLE when it
 * lost none.  For failures beyond the search budget.  0 or -errno.
 */
int cause_summary(struct model *m, const struct cause_state *st,
		  struct cause *out);

/* For a visible failure of --durable: the op that first gave path its
 * final version after crash point `from` (0 if none). */
uint64_t cause_final_writer(struct model *m, const char *path, uint64_t from);

/* Does op give file n a (new) name: a rename of n, a link to n?  From then
 * on readers see n's content under that name. */
bool cause_publishes(const struct model_op *op, const struct mnode *n);

/* "write #5 to config.json.tmp (3 bytes at 0)", paths as at that moment. */
void cause_describe_op(struct model *m, uint64_t seq, char *buf, size_t len);

/* Short name of an op: "write #5". */
void cause_op_name(struct model *m, uint64_t seq, char *buf, size_t len);

/* Path of the file an op works on, as at that moment ("" if none). */
void cause_op_path(struct model *m, uint64_t seq, char *buf, size_t len);

#endif /* CRASHFS_CAUSE_H */
