/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Crash-state exploration: for each persistence model and each crash point
 * of a loaded trace, a bounded, systematic set of crash states, each built
 * in the model's tree so a checker can read it in-process (core/model.h)
 * or materialise it on disk (harness/materialize.h).
 *
 * A crash point k is a sequence number: power is lost just after op k (0:
 * before the first op).  The points are 0 and every successful op that
 * changes the disk or what is durable.  A crash state at k persists every
 * op durable at k (core/persist.h) and a choice of the others:
 *
 *	s	strict: nothing else
 *	sd	strict metadata, every pending write
 *	v	visible: everything (what a reader saw, what kill -9 leaves)
 *	m<P>	the metadata prefix ending at op P, the writes before P
 *	m<P>n	the metadata prefix ending at op P, no pending write
 *	o<W>	visible without write W
 *	h<W>	visible with only the head sectors of write W (torn)
 *	t<W>	visible with only the tail sectors of write W (torn)
 *	z<W>	visible with write W's size extension but not its data
 *	r<HEX>	a random choice (p and every write), seeded by HEX
 *	x<P>-o<W>-h<W>...  a chosen state (explore_custom()): metadata up
 *		to op P, the listed writes dropped (o), torn (h, t) or size
 *		only (z), every other pending write whole
 *
 * Which kinds a model allows follows its rules.  A state's id is
 * "k<K>.<model>.<choice>@<trace>", e.g. "k17.posix.o12@3fa2b1c0", where
 * <trace> is 8 hex digits of the XXH3 of the trace file.  It names
 * everything the state is made of, so it is the same in every run over
 * the same trace, and explore_goto() rebuilds the state from the id alone
 * (the "@<trace>" part may be left out; when given it must match).
 *
 * Every state is settled (core/settle.h) into one real hardware can
 * leave: a kind names what is asked ("visible without write W"), the
 * state is what the ask leaves once the writes that cannot persist
 * without W (the later ones to its sectors ...) are taken back too.
 *
 * Points and repeats: opts.points visits every point, or only the syncs
 * and marks, or only the marks.  With opts.skip_dominated a state that
 * repeats one built at the previous visited point (nothing made durable
 * in between, no ctx_seqs seq in between: the same tree and check
 * context) is left out without being built, and counted as dominated.
 *
 * Identical states (same XXH3 hash of the tree a reader sees) are flagged
 * as duplicates of the first one met, at any point and under any model of
 * this explorer: a checker whose verdict depends only on the tree checks
 * each hash once.  A check that also depends on the point (marks made
 * before it, --durable) must key its cache on (hash, what it depends on).
 *
 * Parallel checking: an explorer and its model are single-threaded.  Give
 * each thread its own model_load() and explorer with shard_k/shard_n, or
 * materialise states from one thread and run external checkers in
 * parallel.
 *
 * Calling sequence:
 *	x = explore_new(m, &opts, err, sizeof(err));
 *	while ((ret = explore_next(x, &st)) > 0) {
 *		if (st.duplicate) continue;
 *		model_resolve(m, "config.json", &n); model_read_all(...);
 *		explore_losses(x, &st, losses, max);	what it dropped/tore
 *	}
 *	explore_counts(x, &counts);
 *	explore_free(&x);
 *
 * Costs: the explorer keeps a base tree (the ops durable at k, applied
 * once) and builds each state by applying the pending ops it persists on
 * top; between two states only the ops after the first one they treat
 * differently are undone and redone.  A state costs what is pending at its
 * point, not the length of the trace (see docs/crash-model.md).
 *
 * The explorer owns the model's tree while it lives (it changes it); the
 * model must outlive it.  Errors: explore_new() returns NULL with errno
 * and a message; explore_next()/explore_goto() return -errno with a
 * message from explore_error().
 */
#ifndef CRASHFS_EXPLORE_H
#define CRASHFS_EXPLORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "core/persist.h"

enum explore_kind {
	XK_STRICT,	  /* s */
	XK_STRICT_DATA,	  /* sd */
	XK_VISIBLE,	  /* v */
	XK_PREFIX,	  /* m<P> */
	XK_PREFIX_NODATA, /* m<P>n */
	XK_OMIT,	  /* o<W> */
	XK_HEAD,	  /* h<W> */
	XK_TAIL,	  /* t<W> */
	XK_SIZE,	  /* z<W> */
	XK_RANDOM,	  /* r<HEX> */
	XK_CUSTOM, /* x<P>[-o<W>|-h<W>|-t<W>|-z<W>]...: explore_custom() */
	XK_MAX
};

/* Which crash points to visit (explore_opts.points). */
enum explore_points {
	XP_ALL = 0, /* every op that changes the disk or syncs it */
	XP_SYNC,    /* 0, right after each sync (fsync, fdatasync, fsyncdir,
		       sync), at each mark, and the last point */
	XP_MARKS,   /* 0, at each mark, and the last point */
};

struct explore_opts {
	const struct persist_rules *const *models; /* NULL-terminated;
							   NULL: posix */
	bool one_point; /* only crash point `point` */
	uint64_t point;
	uint32_t sector;	   /* torn-write granularity; 0: the trace's,
				   else 512 */
	unsigned max_prefixes;	   /* metadata prefixes per point (0: 16) */
	unsigned max_writes;	   /* pending writes varied per point (0: 16) */
	unsigned random;	   /* random states per point (default 0) */
	uint64_t seed;		   /* for the random states */
	unsigned kinds;		   /* bitmask of 1 << XK_*; 0: all */
	unsigned shard_k, shard_n; /* keep ids with hash % n == k */
	bool no_dedup;	      /* never flag duplicates (the caller keeps its own
			  bounded set): no memory per state */
	bool unsound_reorder; /* tests only: do not settle states by the
				      sector rule (core/settle.h), so that
				      the property test shows it catches
				      the impossible states this lets in */
	enum explore_points points; /* crash points visited (XP_ALL) */
	bool skip_dominated;	    /* leave out states that repeat one
				       built at an earlier visited point of
				       the same epoch and context (below) */
	const uint64_t *ctx_seqs;   /* with skip_dominated: seqs (any
				       order) where what a check depends on
				       changes, e.g. marks; not copied */
	size_t nctx;
};

struct explore_state {
	char id[256];	/* "k17.posix.o12@3fa2b1c0" */
	uint64_t point; /* crash point (seq) */
	const struct persist_rules *model;
	enum explore_kind kind;
	uint64_t prefix; /* metadata persisted up to this seq */
	uint64_t target; /* the write varied (o/h/t/z), seq */
	uint64_t rseed;	 /* XK_RANDOM */
	uint64_t hash;	 /* XXH3 of the tree */
	bool duplicate;	 /* hash seen before in this explorer */
};

/* What a state did with one op that was not durable at its point. */
enum explore_fate {
	XF_DROPPED, /* not persisted */
	XF_HEAD,    /* write persisted in part: head sectors only */
	XF_TAIL,    /* write persisted in part: tail sectors only */
	XF_SIZE,    /* write's size extension persisted, not its data */
};

struct explore_loss {
	uint64_t seq; /* the op */
	enum explore_fate fate;
};

struct explore_counts {
	uint64_t points;    /* crash points visited */
	uint64_t generated; /* states built */
	uint64_t distinct;  /* distinct hashes among them */
	uint64_t dominated; /* left out by skip_dominated (not built) */
};

struct explorer;

struct explorer *explore_new(struct model *m, const struct explore_opts *o,
			     char *err, size_t errlen);
void explore_free(struct explorer **x);

/*
 * Build the next state: returns 1 and fills st (the model's tree is now
 * that state, until the next call), 0 when every state was produced, or
 * -errno.
 */
int explore_next(struct explorer *x, struct explore_state *st);

/*
 * Build the state named id (any id explore_next() or explore_custom()
 * produces, whatever the options; explore_next() carries on where it
 * was).  Returns 0, -EINVAL for a malformed id, -ENOENT for an id this
 * trace has no such state for (explore_error() says why).
 */
int explore_goto(struct explorer *x, const char *id, struct explore_state *st);

/*
 * Build a chosen state at crash point `point` under `model`: every pending
 * op persists except those in losses (any order).  A dropped metadata op
 * drops every later one too (the journal persists in order); writes get
 * the listed fate.  For a checker's search for the cause of a failure:
 * take a failing state's losses, persist some of them back, and check the
 * result.  Returns 0 (st filled, the tree is that state), -ENOENT when the
 * model does not allow that state (a durable op listed, a write that
 * cannot tear, a write tied to a persisted rename ...: explore_error()
 * says which), -E2BIG when too many writes are listed to name the state.
 * The id it gets ("k17.posix.x9-o12@...") rebuilds it with
 * explore_goto().
 */
int explore_custom(struct explorer *x, uint64_t point,
		   const struct persist_rules *model,
		   const struct explore_loss *losses, size_t n,
		   struct explore_state *st);

/*
 * Build the visible state after op k (seq; 0: the initial image).  Does
 * not disturb explore_next(), which rebuilds its base when called next.
 */
int explore_visible(struct explorer *x, uint64_t k);

/*
 * The non-durable ops at the current state's point that it did not
 * persist whole: fills up to max entries, returns how many there are.
 * Valid for the state last built by explore_next/explore_goto.
 */
size_t explore_losses(struct explorer *x, const struct explore_state *st,
		      struct explore_loss *out, size_t max);

/* Ops durable at the current state's point (seqs, ascending): fills up to
 * max, returns the count. */
size_t explore_durable(struct explorer *x, uint64_t *out, size_t max);

/* The crash points of the trace (seqs, ascending, 0 first), all of them
 * whatever opts.points says: a state at point k stands for a crash
 * anywhere before the next of them. */
const uint64_t *explore_points(const struct explorer *x, size_t *n);

/* Does this explorer visit crash point k (opts.points)? */
bool explore_visits(const struct explorer *x, uint64_t k);

void explore_counts(const struct explorer *x, struct explore_counts *c);

const char *explore_error(const struct explorer *x);

/* Short name of a kind ("strict", "visible", ...). */
const char *explore_kind_name(enum explore_kind k);

/* Describe a state's choice in words ("visible without write #12"). */
void explore_describe(const struct explore_state *st, char *buf, size_t len);

/*
 * Name op seq for people: "write #5 to config.json.tmp", "rename #7
 * config.json.tmp -> config.json".  Paths are looked up in the current
 * tree ("#<id>" for a file not in it).
 */
void explore_describe_op(struct model *m, uint64_t seq, char *buf, size_t len);

/* "dropped", "torn (head only)", ... */
const char *explore_fate_name(enum explore_fate f);

#endif /* CRASHFS_EXPLORE_H */
