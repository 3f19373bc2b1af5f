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

/* Fill before/with for a lost op: the persisted ops around it. */
static void relate(struct model *m, const struct cause_state *st,
		   struct cause *out, size_t k)
{
	const struct model_op *lost = model_op_seq(m, out->ops[k]);

	out->before[k] = 0;
	if (!lost || !st->choice)
		return;
	for (uint64_t i = out->ops[k]; i < st->point; i++) {
		const struct model_op *op = model_op(m, i);

		if (st->choice[i] == CAUSE_DROP || !model_op_mutates(op) ||
		    op->result < 0)
			continue;
		if (model_op_is_entry(lost)
			? model_op_is_entry(op) &&
			      ((lost->dir && op->dir == lost->dir && op->name &&
				lost->name && !strcmp(op->name, lost->name)) ||
			       (lost->node && op->node == lost->node))
			: touches(op, lost->node)) {
			out->before[k] = op->seq;
			return;
		}
	}
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

static void summarise(struct model *m, const struct cause_state *st,
		      const uint64_t *cand, uint64_t ncand, struct cause *out)
{
	(void)st;
	out->nlost = ncand;
	out->nfiles = 0;
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
	uint64_t cand[64], n = 0;
	struct cause tmp = {0};

	if (!st->choice)
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
	for (uint64_t i = 0; i < st->point && n < 64; i++)
		if (st->choice[i] != MV_FULL &&
		    model_op_mutates(model_op(m, i)) &&
		    model_op(m, i)->result >= 0)
			cand[n++] = i;
	summarise(m, st, cand, n, &tmp);
	if (tmp.nfiles != c->nfiles)
		return false;
	for (size_t i = 0; i < c->nfiles; i++)
		if (tmp.files[i] != c->files[i])
			return false;
	return true;
}

/* Is op journalled (entry, size, attribute change)?  Those persist in
 * program order, so persisting one persists the lost ones before it. */
static bool journalled(const struct model_op *op)
{
	enum persist_class c = persist_class_of(op);

	return c == PC_NS || c == PC_SIZE || c == PC_ATTR;
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
		      uint8_t *choice, cause_pass_fn pass, void *ctx);

/*
 * The state with the chosen candidates persisted whole (a journalled op
 * brings the journalled ops before it along, as every model keeps
 * metadata in program order): does it pass?
 */
static bool try_set(struct model *m, const struct cause_state *st,
		    uint8_t *choice, const uint64_t *cand, const uint64_t *idx,
		    unsigned k, cause_pass_fn pass, void *ctx)
{
	memcpy(choice, st->choice, st->point);
	for (unsigned j = 0; j < k; j++) {
		uint64_t i = cand[idx[j]];

		/* forced: settling brings back what it needs */
		choice[i] = MV_FULL | SETTLE_FORCE;
		if (!journalled(model_op(m, i)))
			continue;
		for (uint64_t e = 0; e < i; e++)
			if (choice[e] != MV_FULL && journalled(model_op(m, e)))
				choice[e] = MV_FULL;
	}
	return try_state(m, st, choice, pass, ctx);
}

static bool try_state(struct model *m, const struct cause_state *st,
		      uint8_t *choice, cause_pass_fn pass, void *ctx)
{
	struct cause_state s = {st->point, choice, st->sector, st->persist};

	cause_apply(m, &s);
	return pass(ctx, m, st->point);
}

int cause_find(struct model *m, const struct cause_state *st,
	       cause_pass_fn pass, void *ctx, unsigned max_tries,
	       struct cause *out)
{
	struct cause_state vis = {st->point, NULL, st->sector};
	uint64_t *cand = NULL, ncand = 0, p;
	uint8_t *choice = NULL;
	unsigned tries = 0;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->point = st->point;
	out->kind = CAUSE_UNKNOWN;
	cause_apply(m, &vis);
	if (!pass(ctx, m, st->point)) {
		/*
		 * Persistence is not the cause: the last op that changed the
		 * tree exposed it, unless the initial state fails too.
		 */
		out->kind = CAUSE_VISIBLE;
		out->nops = 1;
		model_goto_visible(m, 0);
		if (!pass(ctx, m, 0))
			return 0; /* ops[0] = 0 */
		for (p = st->point; p > 0; p--)
			if (model_op_mutates(model_op(m, p - 1)) &&
			    model_op(m, p - 1)->result >= 0)
				break;
		out->ops[0] = p;
		return 0;
	}
	if (!st->choice)
		return 0;
	choice = malloc(st->point ? st->point : 1);
	cand = malloc((st->point ? st->point : 1) * sizeof(*cand));
	if (!choice || !cand) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (uint64_t i = 0; i < st->point; i++)
		if (st->choice[i] != MV_FULL &&
		    model_op_mutates(model_op(m, i)) &&
		    model_op(m, i)->result >= 0)
			cand[ncand++] = i;
	/* sets of 1, 2, then 3 candidates (3 only when there are few) */
	for (unsigned k = 1; k <= 3 && ret == 0; k++) {
		uint64_t idx[3] = {0, 1, 2};

		if (k > ncand || (k == 3 && ncand > 16))
			break;
		for (;;) {
			if (tries++ >= max_tries) {
				out->unminimised = true;
				goto summary;
			}
			if (try_set(m, st, choice, cand, idx, k, pass, ctx)) {
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
	}
summary:
	/* no small set: summarise where the losses were */
	out->kind = CAUSE_MANY;
	summarise(m, st, cand, ncand, out);
	goto out_free;
found:
	for (size_t k = 0; k < out->nops; k++)
		relate(m, st, out, k);
out_free:
	out->tries = tries + 1;
	free(choice);
	free(cand);
	return ret;
}

int cause_summary(struct model *m, const struct cause_state *st,
		  struct cause *out)
{
	uint64_t *cand, ncand = 0;

	memset(out, 0, sizeof(*out));
	out->point = st->point;
	out->kind = CAUSE_UNKNOWN;
	if (!st->choice)
		return 0;
	cand = malloc((st->point ? st->point : 1) * sizeof(*cand));
	if (!cand)
		return -ENOMEM;
	for (uint64_t i = 0; i < st->point; i++)
		if (st->choice[i] != MV_FULL &&
		    model_op_mutates(model_op(m, i)) &&
		    model_op(m, i)->result >= 0)
			cand[ncand++] = i;
	if (ncand == 1) {
		/* one lost op: it is the cause */
		out->kind = CAUSE_LOST;
		out->nops = 1;
		out->ops[0] = cand[0] + 1;
		out->how[0] = st->choice[cand[0]];
		relate(m, st, out, 0);
	} else {
		out->kind = CAUSE_MANY;
		out->unminimised = true;
		summarise(m, st, cand, ncand, out);
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
