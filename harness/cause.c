/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Cause search (see cause.h for the method).
 */
#include "harness/cause.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/persist.h"
#include "core/settle.h"
#include "core/trace.h"
#include "harness/explore.h"

/* The choice of st settled into a state hardware can leave (malloc'd,
 * point entries), NULL when out of memory. */
static uint8_t *settle_state(struct model *m, const struct cause_state *st)
{
	uint64_t n = st->point < model_nops(m) ? st->point : model_nops(m);
	uint8_t *c = malloc(n ? n : 1);
	size_t *list = malloc((n ? n : 1) * sizeof(*list)), nl = 0;
	struct settle s = {0};

	if (!c || !list) {
		free(c);
		free(list);
		return NULL;
	}
	memcpy(c, st->choice, n);
	for (uint64_t i = 0; i < n; i++)
		if (persist_class_of(model_op(m, i)) != PC_NONE)
			list[nl++] = i;
	settle_choice(&s, m, st->persist, st->point, st->sector, c, list, nl);
	settle_release(&s);
	free(list);
	return c;
}

void cause_apply(struct model *m, const struct cause_state *st)
{
	uint8_t *own = st->choice ? settle_state(m, st) : NULL;
	const uint8_t *choice = own ? own : st->choice;

	model_reset(m);
	for (uint64_t i = 0; i < st->point && i < model_nops(m); i++) {
		const struct model_op *op = model_op(m, i);
		uint8_t c = choice ? choice[i] : MV_FULL;

		if (c == CAUSE_DROP)
			continue;
		model_apply_ns(m, op);
		model_apply_node(m, op, c & (uint8_t)~SETTLE_FORCE, st->sector);
	}
	free(own);
}

/* Is op related to file n (works on it, moves it, links it)? */
static bool touches(const struct model_op *op, const struct mnode *n)
{
	return n && (op->node == n || op->node2 == n);
}

bool cause_publishes(const struct model_op *op, const struct mnode *n)
{
	return n && op->result >= 0 && op->node == n &&
	       (op->type == TR_RENAME || op->type == TR_LINK);
}

/*
 * Fill before[k] for lost op k: the first persisted op after it that
 * needed it.  A lost entry change is needed by the next entry change of
 * the same name or file.  Lost data (a write, a size or attribute change)
 * is needed first by an op that gives its file a name (a rename or a
 * link: from then on readers see the content under that name), else by a
 * later data or size change of the same file (the loss leaves a hole).
 * An attribute change (chmod, utimens, an xattr) persisting after a lost
 * write exposes nothing: it is not named.
 */
static void relate(struct model *m, const struct cause_state *st,
		   struct cause *out, size_t k)
{
	const struct model_op *lost = model_op_seq(m, out->ops[k]);
	uint64_t data = 0;

	out->before[k] = 0;
	if (!lost || !st->choice)
		return;
	for (uint64_t i = out->ops[k]; i < st->point; i++) {
		const struct model_op *op = model_op(m, i);
		enum persist_class pc = persist_class_of(op);

		if (st->choice[i] == CAUSE_DROP || !model_op_mutates(op) ||
		    op->result < 0)
			continue;
		if (model_op_is_entry(lost)) {
			if (model_op_is_entry(op) &&
			    ((lost->dir && op->dir == lost->dir && op->name &&
			      lost->name && !strcmp(op->name, lost->name)) ||
			     (lost->node && op->node == lost->node))) {
				out->before[k] = op->seq;
				return;
			}
			continue;
		}
		if (cause_publishes(op, lost->node)) {
			out->before[k] = op->seq;
			return;
		}
		if (!data && op->node == lost->node &&
		    (pc == PC_DATA || pc == PC_SIZE))
			data = op->seq;
	}
	out->before[k] = data;
}

/* The file whose fsync would have saved op: the directory for entries. */
static uint64_t owner_of(const struct model_op *op, bool *is_dir)
{
	struct mnode *d = op->type == TR_RENAME ? op->dir2 : op->dir;
	struct model_stat st;

	*is_dir = model_op_is_entry(op);
	if (*is_dir && d) {
		model_stat(d, &st);
		return st.id;
	}
	return op->id;
}

/* The lost ops of a state that changed something: their indices into
 * cand (NULL: count only). */
static uint64_t lost_ops(struct model *m, const struct cause_state *st,
			 uint64_t *cand)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < st->point && i < model_nops(m); i++)
		if (st->choice[i] != MV_FULL &&
		    model_op_mutates(model_op(m, i))) {
			if (cand)
				cand[n] = i;
			n++;
		}
	return n;
}

/* The last op at or before point that changed the tree (0: none). */
static uint64_t last_change(struct model *m, uint64_t point)
{
	uint64_t p;

	for (p = point < model_nops(m) ? point : model_nops(m); p > 0; p--)
		if (model_op_mutates(model_op(m, p - 1)))
			break;
	return p;
}

/* The op a state's check context reaches (its marks). */
static uint64_t upto_of(const struct cause_state *st)
{
	return st->upto > st->point ? st->upto : st->point;
}

/* The marks after op `after` and at or before point: their seqs, in
 * order, into out (up to max); returns how many there are. */
static size_t marks_between(struct model *m, uint64_t after, uint64_t point,
			    uint64_t *out, size_t max)
{
	size_t n = 0;
	uint64_t end = point < model_nops(m) ? point : model_nops(m);

	for (uint64_t p = after + 1; p <= end; p++)
		if (model_op(m, p - 1)->type == TR_MARK) {
			if (n < max)
				out[n] = p;
			n++;
		}
	return n;
}

/* Does the visible tree at the state's point pass, seen with the marks
 * up to op upto? */
static bool passes_with(struct model *m, const struct cause_state *st,
			uint64_t upto, cause_pass_fn pass, void *ctx)
{
	model_goto_visible(m, st->point);
	return pass(ctx, m, st->point, upto);
}

/*
 * The op from which the visible state fails, when the initial state
 * passes: the last op that changed the tree, unless the check fails only
 * once a later mark is made (a program that acknowledged before it
 * wrote): then the first such mark, found by bisecting the marks made
 * since that op (a check run per halving).  Without pass (no checker
 * runs), the first mark when no op changed the tree: the initial state
 * is never blamed unless it was seen to fail.
 */
static uint64_t exposing_op(struct model *m, const struct cause_state *st,
			    cause_pass_fn pass, void *ctx)
{
	uint64_t op = last_change(m, st->point), first, *mk;
	size_t n, lo, hi;
	uint64_t ret = op;

	n = marks_between(m, op, upto_of(st), &first, 1);
	if (!n)
		return op;
	if (!pass)
		return op ? op : first;
	mk = malloc(n * sizeof(*mk));
	if (!mk)
		return op;
	marks_between(m, op, upto_of(st), mk, n);
	/* before the first mark: does the tree alone fail? */
	if (!passes_with(m, st, mk[0] - 1, pass, ctx))
		goto out;
	/* it passes before mk[0] and fails with every mark (the state
	 * itself): bisect for the mark it fails from, the one before
	 * passing */
	lo = 0;
	hi = n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (passes_with(m, st, mk[mid] - 1, pass, ctx))
			lo = mid;
		else
			hi = mid;
	}
	ret = mk[lo];
out:
	free(mk);
	return ret;
}

/* Name the files the candidates' losses were on (CAUSE_MANY). */
static void summarise(struct model *m, const uint64_t *cand, uint64_t ncand,
		      struct cause *out)
{
	out->nlost = ncand;
	out->nfiles = 0;
	out->first_lost = ncand ? cand[0] + 1 : 0;
	for (uint64_t i = 0; i < ncand; i++) {
		bool dir;
		uint64_t id = owner_of(model_op(m, cand[i]), &dir);
		size_t k;

		for (k = 0; k < out->nfiles; k++)
			if (out->files[k] == id)
				break;
		if (k == out->nfiles && k < CAUSE_MAX_OPS) {
			out->files[k] = id;
			out->file_is_dir[k] = dir;
			out->nfiles++;
		}
	}
}

bool cause_matches(struct model *m, const struct cause *c,
		   const struct cause_state *st)
{
	uint64_t *cand, n;
	bool ok = true;

	/* a state that lost nothing is its visible state */
	if (!st->choice || !lost_ops(m, st, NULL))
		return c->kind == CAUSE_VISIBLE;
	if (c->kind == CAUSE_LOST) {
		for (size_t i = 0; i < c->nops; i++)
			if (c->ops[i] > st->point ||
			    st->choice[c->ops[i] - 1] == MV_FULL)
				return false;
		return true;
	}
	if (c->kind != CAUSE_MANY)
		return false;
	/* the same as for CAUSE_LOST: it lost ops on each of c's files */
	cand = malloc(st->point * sizeof(*cand));
	if (!cand)
		return false;
	n = lost_ops(m, st, cand);
	for (size_t f = 0; f < c->nfiles && ok; f++) {
		ok = false;
		for (uint64_t i = 0; i < n && !ok; i++) {
			bool dir;

			ok = owner_of(model_op(m, cand[i]), &dir) ==
				 c->files[f] &&
			     dir == c->file_is_dir[f];
		}
	}
	free(cand);
	return ok;
}

/* Is op journalled (entry, size, attribute change)?  Those persist in
 * program order, so persisting one persists the lost ones before it. */
static bool journalled(const struct model_op *op)
{
	enum persist_class c = persist_class_of(op);

	return c == PC_NS || c == PC_SIZE || c == PC_ATTR;
}

/* Persist op i whole in choice, with the lost journalled ops before it
 * (every model keeps metadata in program order).  It is forced:
 * settling the state (core/settle.h) brings back what it needs, e.g.
 * the earlier writes to its sectors. */
static void persist_op(struct model *m, uint8_t *choice, uint64_t i)
{
	choice[i] = MV_FULL | SETTLE_FORCE;
	if (!journalled(model_op(m, i)))
		return;
	for (uint64_t e = 0; e < i; e++)
		if ((choice[e] & (uint8_t)~SETTLE_FORCE) != MV_FULL &&
		    journalled(model_op(m, e)))
			choice[e] = MV_FULL;
}

/* Next k-combination of 0..n-1 in idx; false after the last. */
static bool next_comb(uint64_t *idx, unsigned k, uint64_t n)
{
	int i = k - 1;

	while (i >= 0 && idx[i] == n - k + i)
		i--;
	if (i < 0)
		return false;
	idx[i]++;
	for (unsigned j = i + 1; j < k; j++)
		idx[j] = idx[j - 1] + 1;
	return true;
}

static bool try_state(struct model *m, const struct cause_state *st,
		      uint8_t *choice, cause_pass_fn pass, void *ctx)
{
	struct cause_state s = {st->point, choice, st->sector, st->persist,
				st->upto};

	cause_apply(m, &s);
	return pass(ctx, m, st->point, upto_of(st));
}

/* The state with the chosen candidates persisted whole: does it pass? */
static bool try_set(struct model *m, const struct cause_state *st,
		    uint8_t *choice, const uint64_t *cand, const uint64_t *idx,
		    unsigned k, cause_pass_fn pass, void *ctx)
{
	memcpy(choice, st->choice, st->point);
	for (unsigned j = 0; j < k; j++)
		persist_op(m, choice, cand[idx[j]]);
	return try_state(m, st, choice, pass, ctx);
}

/* The search's running totals. */
struct search {
	struct model *m;
	const struct cause_state *st;
	cause_pass_fn pass;
	void *ctx;
	uint8_t *choice;    /* scratch choice vector (point entries) */
	unsigned tries;	    /* states rebuilt so far */
	unsigned max_tries; /* ... at most */
};

/*
 * The state with the candidates of the kept groups persisted, and the
 * journalled ones only up to index jlast: does it pass?  group[j] is
 * cand j's group (0: the journal), keep[] per group.
 */
static bool try_groups(struct search *s, const uint64_t *cand, uint64_t ncand,
		       const size_t *group, const bool *keep, uint64_t jlast)
{
	memcpy(s->choice, s->st->choice, s->st->point);
	for (uint64_t j = 0; j < ncand; j++)
		if (keep[group[j]] && (group[j] || cand[j] <= jlast))
			persist_op(s->m, s->choice, cand[j]);
	return try_state(s->m, s->st, s->choice, s->pass, s->ctx);
}

/*
 * Which losses does the failure depend on?  The lost ops fall in groups:
 * the journalled ones (entry, size and attribute changes: one journal,
 * persisted in program order, so persisting one persists those before it
 * whatever their file) and, per file, the lost writes.  One group at a
 * time, persist the losses of every other group still kept: when the
 * state still passes, this group does not matter and stays lost.  The
 * groups kept are then enough and each is needed (1-minimal), so a cause
 * never names a file whose content the state does not depend on (a
 * database's shared-memory index, say).  Of the journal, only the
 * shortest prefix that still fixes the state is needed: its last op
 * stands for it (a binary search; an earlier create comes with a
 * rename).
 *
 * Compacts cand to the kept writes and that last journalled op and
 * returns their number; *spent when the tries ran out first (then every
 * group not yet tried is kept, and the whole journal).
 */
static uint64_t reduce(struct search *s, uint64_t *cand, uint64_t ncand,
		       bool *spent)
{
	struct model *m = s->m;
	uint64_t *fid = malloc(ncand * sizeof(*fid)), n = 0, jlast = UINT64_MAX;
	size_t *group = malloc(ncand * sizeof(*group)), ng = 1, left;
	bool *keep = malloc((ncand + 1) * sizeof(*keep)), dir;
	uint64_t *jc = NULL, nj = 0;

	*spent = false;
	if (!fid || !group || !keep)
		goto out_free; /* no reduction: every loss is kept */
	keep[0] = false;
	for (uint64_t j = 0; j < ncand; j++) {
		const struct model_op *op = model_op(m, cand[j]);
		size_t g;

		if (journalled(op)) {
			group[j] = 0;
			keep[0] = true;
			nj++;
			continue;
		}
		fid[j] = owner_of(op, &dir);
		for (g = 0; g < j && (group[g] == 0 || fid[g] != fid[j]); g++)
			;
		if (g < j) {
			group[j] = group[g];
		} else {
			group[j] = ng;
			keep[ng++] = true;
		}
	}
	left = ng - !keep[0];
	for (size_t g = keep[0] ? 0 : 1; g < ng && left > 1; g++) {
		if (s->tries++ >= s->max_tries) {
			*spent = true;
			goto out_compact;
		}
		keep[g] = false;
		if (try_groups(s, cand, ncand, group, keep, UINT64_MAX))
			left--;
		else
			keep[g] = true;
	}
	if (keep[0] && nj > 1) {
		/* the shortest journal prefix that fixes it: prefix lo
		 * fails (none of it), prefix hi passes (all of it) */
		uint64_t lo = 0, hi = nj;

		jc = malloc(nj * sizeof(*jc));
		if (!jc)
			goto out_compact;
		nj = 0;
		for (uint64_t j = 0; j < ncand; j++)
			if (!group[j])
				jc[nj++] = cand[j];
		while (hi - lo > 1) {
			uint64_t mid = lo + (hi - lo) / 2;

			if (s->tries++ >= s->max_tries) {
				*spent = true;
				goto out_compact;
			}
			if (try_groups(s, cand, ncand, group, keep,
				       jc[mid - 1]))
				hi = mid;
			else
				lo = mid;
		}
		jlast = jc[hi - 1];
	}
out_compact:
	for (uint64_t j = 0; j < ncand; j++)
		if (keep[group[j]] &&
		    (group[j] || jlast == UINT64_MAX || cand[j] == jlast))
			cand[n++] = cand[j];
	ncand = n;
out_free:
	free(fid);
	free(group);
	free(keep);
	free(jc);
	return ncand;
}

int cause_find(struct model *m, const struct cause_state *st,
	       cause_pass_fn pass, void *ctx, unsigned max_tries,
	       struct cause *out)
{
	struct cause_state vis = {st->point, NULL, st->sector};
	struct search s = {m, st, pass, ctx, NULL, 0, max_tries};
	uint64_t *cand = NULL, ncand;
	bool spent = false;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->point = st->point;
	out->kind = CAUSE_UNKNOWN;
	cause_apply(m, &vis);
	if (!pass(ctx, m, st->point, upto_of(st))) {
		/*
		 * Persistence is not the cause: the last op that changed the
		 * tree exposed it, unless the initial state fails too.
		 */
		out->kind = CAUSE_VISIBLE;
		out->nops = 1;
		model_goto_visible(m, 0);
		if (!pass(ctx, m, 0, 0))
			return 0; /* ops[0] = 0 */
		out->ops[0] = exposing_op(m, st, pass, ctx);
		return 0;
	}
	if (!st->choice)
		return 0;
	s.choice = malloc(st->point ? st->point : 1);
	cand = malloc((st->point ? st->point : 1) * sizeof(*cand));
	if (!s.choice || !cand) {
		ret = -ENOMEM;
		goto out_free;
	}
	ncand = lost_ops(m, st, cand);
	if (!ncand) {
		/* it lost nothing, so it is its visible state, which passed:
		 * the checker's verdict is not repeatable */
		out->kind = CAUSE_UNSTABLE;
		goto out_free;
	}
	ncand = reduce(&s, cand, ncand, &spent);
	if (spent) {
		out->unminimised = true;
		goto summary;
	}
	/* sets of 1, 2, then 3 candidates (3 only when there are few) */
	for (unsigned k = 1; k <= 3; k++) {
		uint64_t idx[3] = {0, 1, 2};

		if (k > ncand || (k == 3 && ncand > 16))
			break;
		for (;;) {
			if (s.tries++ >= max_tries) {
				out->unminimised = true;
				goto summary;
			}
			if (try_set(m, st, s.choice, cand, idx, k, pass, ctx)) {
				out->kind = CAUSE_LOST;
				out->nops = k;
				for (unsigned j = 0; j < k; j++) {
					out->ops[j] = cand[idx[j]] + 1;
					out->how[j] = st->choice[cand[idx[j]]];
				}
				goto found;
			}
			if (!next_comb(idx, k, ncand))
				break;
		}
		out->depth = k;
	}
summary:
	/* no small set: summarise where the losses were */
	out->kind = CAUSE_MANY;
	summarise(m, cand, ncand, out);
	goto out_free;
found:
	for (size_t k = 0; k < out->nops; k++)
		relate(m, st, out, k);
out_free:
	out->tries = s.tries + 1;
	free(s.choice);
	free(cand);
	return ret;
}

int cause_try(struct model *m, const struct cause_state *st,
	      const uint64_t *seqs, size_t n, cause_pass_fn pass, void *ctx,
	      struct cause *out)
{
	uint8_t *choice;
	bool ok;

	memset(out, 0, sizeof(*out));
	out->point = st->point;
	out->kind = CAUSE_UNKNOWN;
	if (!st->choice || !n || n > CAUSE_MAX_OPS)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!seqs[i] || seqs[i] > st->point ||
		    st->choice[seqs[i] - 1] == MV_FULL)
			return 0;
	choice = malloc(st->point);
	if (!choice)
		return -ENOMEM;
	memcpy(choice, st->choice, st->point);
	for (size_t i = 0; i < n; i++)
		persist_op(m, choice, seqs[i] - 1);
	ok = try_state(m, st, choice, pass, ctx);
	free(choice);
	out->tries = 1;
	if (!ok)
		return 0;
	out->kind = CAUSE_LOST;
	out->nops = n;
	for (size_t i = 0; i < n; i++) {
		out->ops[i] = seqs[i];
		out->how[i] = st->choice[seqs[i] - 1];
		relate(m, st, out, i);
	}
	return 1;
}

int cause_summary(struct model *m, const struct cause_state *st,
		  struct cause *out)
{
	uint64_t *cand, ncand;

	memset(out, 0, sizeof(*out));
	out->point = st->point;
	out->kind = CAUSE_UNKNOWN;
	if (!st->choice)
		return 0;
	cand = malloc((st->point ? st->point : 1) * sizeof(*cand));
	if (!cand)
		return -ENOMEM;
	ncand = lost_ops(m, st, cand);
	if (ncand == 0) {
		/* it lost nothing: it is its visible state */
		out->kind = CAUSE_VISIBLE;
		out->nops = 1;
		out->ops[0] = exposing_op(m, st, NULL, NULL);
	} else if (ncand == 1) {
		/* one lost op: it is the cause */
		out->kind = CAUSE_LOST;
		out->nops = 1;
		out->ops[0] = cand[0] + 1;
		out->how[0] = st->choice[cand[0]];
		relate(m, st, out, 0);
	} else {
		out->kind = CAUSE_MANY;
		out->unminimised = true;
		summarise(m, cand, ncand, out);
	}
	free(cand);
	return 0;
}

uint64_t cause_final_writer(struct model *m, const char *path, uint64_t from)
{
	struct mnode *n = NULL;
	size_t nops = model_nops(m);
	uint64_t last = 0;

	model_goto_visible(m, nops ? model_op(m, nops - 1)->seq : 0);
	if (model_resolve(m, path, &n) < 0 || !n)
		return 0;
	for (size_t i = 0; i < nops; i++) {
		const struct model_op *op = model_op(m, i);

		if (op->seq > from && op->result >= 0 && model_op_mutates(op) &&
		    touches(op, n))
			last = op->seq;
	}
	return last;
}

void cause_op_name(struct model *m, uint64_t seq, char *buf, size_t len)
{
	const struct model_op *op = model_op_seq(m, seq);

	snprintf(buf, len, "%s #%llu", op ? trace_type_name(op->type) : "op",
		 (unsigned long long)seq);
}

/* Path of dir/name, as in the current tree. */
static void entry_path(struct model *m, struct mnode *dir, const char *name,
		       char *buf, size_t len)
{
	char d[1024];

	if (!dir || !name) {
		snprintf(buf, len, "?");
		return;
	}
	model_path(m, dir, d, sizeof(d));
	if (!strcmp(d, "."))
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%s/%s", d, name);
}

void cause_op_path(struct model *m, uint64_t seq, char *buf, size_t len)
{
	const struct model_op *op = model_op_seq(m, seq);

	buf[0] = '\0';
	if (!op)
		return;
	model_goto_visible(m, seq - 1);
	if (model_op_is_entry(op))
		entry_path(m, op->dir, op->name, buf, len);
	else if (op->node)
		model_path(m, op->node, buf, len);
}

void cause_describe_op(struct model *m, uint64_t seq, char *buf, size_t len)
{
	/* The tree as it was when the op was made names its files. */
	if (model_op_seq(m, seq))
		model_goto_visible(m, seq - 1);
	explore_describe_op(m, seq, buf, len);
}
