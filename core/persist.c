/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Persistence models.  The crash model, stated once (sources for each rule
 * are in docs/crash-model.md):
 *
 * Method: the ops of a trace fall in four classes.  Entry ops (create,
 * mkdir, mknod, symlink, link, unlink, rmdir, rename), size ops (truncate,
 * fallocate) and attribute ops (chmod, chown, xattrs) are metadata and go
 * through a journal: whatever subset of them reaches the disk is a prefix
 * of them in program order, plus the ops already durable.  Writes (and
 * copy_file_range) are data: each one reaches the disk or not
 * independently of the others, in any order, possibly only in part (some
 * of its sectors), and a write that extends a file may leave the new size
 * without its bytes (the extension reads back as zeros).  Any order holds
 * between sectors, not inside one: what one sector keeps is a
 * program-order prefix of its changes, and the other physical limits on
 * what hardware can leave are core/settle.c's.
 *
 * When power is lost at crash point k (just after op k), the disk holds
 * every op durable at k and, for the others, a choice the model allows.
 * An op becomes durable when a later op that guarantees it completes:
 *
 *  - fsync(F): every earlier write, size op and attribute op of F;
 *    fdatasync(F): every earlier write and size op of F, not its
 *    attributes.  A write through an O_SYNC/O_DSYNC handle is durable
 *    when it returns, with F's earlier writes and size ops (as after an
 *    fdatasync).  close() guarantees nothing.
 *  - fsync or fdatasync of a directory D: every earlier entry op in D
 *    (a rename counts in both its directories, and persists whole), and,
 *    because the journal commits in order, every journalled op before
 *    the last of them.  fsync of a new file does not persist its name.
 *  - A failed fsync (EIO) makes nothing durable, and the writes before
 *    it never become durable through a later fsync of the file: Linux
 *    marks the pages clean after a writeback error.
 *  - A sync point (TR_SYNC: sync(2), syncfs(2) of the mount, or one
 *    declared with `crashfs ctl MNT sync`): every earlier op of every
 *    file, under every model, except the writes a failed fsync lost (the
 *    kernel marked their pages clean: a sync does not write them either).
 *    sync_file_range(2) (TR_SYNC_RANGE) guarantees nothing.
 *  - A file whose durable names are all gone is gone: the state is
 *    rebuilt by replaying its persisted ops, so an unreachable file
 *    simply does not appear.
 *
 * The models differ in a few rules:
 *
 *  posix	the rules above, nothing more: the weakest guarantee real
 *		Linux filesystems give.  Pending metadata persists as any
 *		prefix, pending writes in any subset, torn, or as a bare
 *		size extension.
 *  ext4	data=ordered with auto_da_alloc: an fsync or fdatasync of
 *		any file commits the journal, so every earlier metadata op
 *		(the new file's name included) becomes durable; a rename
 *		over an existing file carries the moved file's earlier
 *		writes (they persist whenever the rename does); a size
 *		extension never persists without its data.
 *  strict	only durable ops persist: the state LazyFS leaves when it
 *		clears its cache.
 *  prefix	ops persist in program order, data with metadata, nothing
 *		torn: the states of a crash at each earlier point, plus
 *		what was durable.
 */
#include "core/persist.h"

#include <errno.h>
#include <stdio.h> /* RENAME_EXCHANGE */
#include <stdlib.h>
#include <string.h>

/* Scratch words of a file while computing. */
enum {
	S_LAST_NS,   /* index + 1 of the last entry op in this directory */
	S_LAST_DATA, /* index + 1 of the last write/size op of the file */
	S_SYNC_DATA, /* index + 1 of the last one made durable */
	S_LAST_ATTR, /* same for attribute ops */
	S_SYNC_ATTR,
};

static const struct persist_rules posix = {
    .name = "posix",
    .summary = "weakest Linux guarantee: fsync the file for its data, "
	       "the directory for its entries",
    .pending_meta = true,
    .pending_data = true,
    .torn = true,
    .size_without_data = true,
};

static const struct persist_rules ext4 = {
    .name = "ext4",
    .summary = "ext4 data=ordered,auto_da_alloc: any fsync commits the "
	       "journal, replacing renames carry their data",
    .fsync_commits_journal = true,
    .replace_flushes_data = true,
    .pending_meta = true,
    .pending_data = true,
    .torn = true,
};

static const struct persist_rules strict = {
    .name = "strict",
    .summary = "only durable ops survive (LazyFS clear-cache)",
};

static const struct persist_rules prefix = {
    .name = "prefix",
    .summary = "ops persist in program order, nothing torn",
    .pending_meta = true,
    .pending_data = true,
    .data_in_order = true,
};

const struct persist_rules *const persist_models[] = {
    &posix, &ext4, &strict, &prefix, NULL,
};

const struct persist_rules *persist_find(const char *name)
{
	for (size_t i = 0; name && persist_models[i]; i++)
		if (!strcmp(persist_models[i]->name, name))
			return persist_models[i];
	return NULL;
}

enum persist_class persist_class_of(const struct model_op *op)
{
	if (!model_op_mutates(op))
		return PC_NONE;
	switch (op->type) {
	case TR_WRITE:
	case TR_COPY_RANGE: return PC_DATA;
	case TR_TRUNCATE:
	case TR_FALLOCATE: return PC_SIZE;
	case TR_SETATTR:
	case TR_SETXATTR:
	case TR_REMOVEXATTR: return PC_ATTR;
	default: return PC_NS;
	}
}

void persist_release(struct persist *p)
{
	free(p->cls);
	free(p->durable_at);
	free(p->tie);
	free(p->journal);
	free(p->lost_at);
	memset(p, 0, sizeof(*p));
}

struct ctx {
	struct model *m;
	struct persist *p;
	uint64_t *prev; /* index + 1 of the previous op of the chain */
	size_t jdone;	/* journal entries already durable */
	size_t synced;	/* ops before this index are durable by a sync */
};

static void make_durable(struct ctx *c, size_t i, uint64_t seq)
{
	if (c->p->durable_at[i] > seq)
		c->p->durable_at[i] = seq;
}

/* Every journalled op up to index upto (inclusive) becomes durable. */
static void journal_upto(struct ctx *c, size_t upto, uint64_t seq)
{
	struct persist *p = c->p;

	while (c->jdone < p->njournal && p->journal[c->jdone] <= upto)
		make_durable(c, p->journal[c->jdone++], seq);
}

/* Every op of a chain from its last back to the last synced one. */
static void chain_durable(struct ctx *c, uint64_t *sc, int last, int synced,
			  uint64_t seq)
{
	for (uint64_t j = sc[last]; j && j > sc[synced]; j = c->prev[j - 1])
		make_durable(c, j - 1, seq);
	sc[synced] = sc[last];
}

static void do_sync(struct ctx *c, size_t i, const struct model_op *op)
{
	uint64_t *sc = model_node_scratch(op->node);

	if (model_is_dir(op->node)) {
		if (sc[S_LAST_NS])
			journal_upto(c, sc[S_LAST_NS] - 1, op->seq);
		chain_durable(c, sc, S_LAST_ATTR, S_SYNC_ATTR, op->seq);
	} else {
		chain_durable(c, sc, S_LAST_DATA, S_SYNC_DATA, op->seq);
		if (!(op->flags & TRF_DATASYNC))
			chain_durable(c, sc, S_LAST_ATTR, S_SYNC_ATTR, op->seq);
	}
	if (c->p->rules->fsync_commits_journal)
		journal_upto(c, i, op->seq);
}

/*
 * A sync point at index i: every file's chains up to their last synced op
 * (a failed fsync moved that past the writes it lost), and the whole
 * journal.  Only the files of ops since the previous sync point can have
 * anything left to sync, so each op is walked once over all syncs.
 */
static void sync_all(struct ctx *c, size_t i, uint64_t seq)
{
	for (size_t j = c->synced; j < i; j++) {
		const struct model_op *o = model_op(c->m, j);
		uint64_t *sc;

		if (c->p->cls[j] == PC_NONE || c->p->cls[j] == PC_NS ||
		    !o->node)
			continue;
		sc = model_node_scratch(o->node);
		chain_durable(c, sc, S_LAST_DATA, S_SYNC_DATA, seq);
		chain_durable(c, sc, S_LAST_ATTR, S_SYNC_ATTR, seq);
	}
	if (i)
		journal_upto(c, i - 1, seq);
	c->synced = i;
}

/*
 * A failed fsync: Linux marks the file's dirty pages clean after a
 * writeback error, so a later fsync that succeeds does not write them.
 * The writes and size ops before it never become durable through the
 * file's syncs; they are lost_at the failure (core/settle.c leaves them
 * out of the sector rule: what they wrote is lost for good).
 */
static void sync_failed(struct ctx *c, const struct model_op *op)
{
	uint64_t *sc = model_node_scratch(op->node);

	for (uint64_t j = sc[S_LAST_DATA]; j && j > sc[S_SYNC_DATA];
	     j = c->prev[j - 1])
		if (!c->p->lost_at[j - 1])
			c->p->lost_at[j - 1] = op->seq;
	sc[S_SYNC_DATA] = sc[S_LAST_DATA];
}

/* auto_da_alloc: the moved file's pending writes ride on the rename. */
static void tie_to_rename(struct ctx *c, const struct model_op *op)
{
	uint64_t *sc;

	if (!op->node2 || (op->oflags & RENAME_EXCHANGE) ||
	    !model_is_reg(op->node))
		return;
	sc = model_node_scratch(op->node);
	for (uint64_t j = sc[S_LAST_DATA]; j && j > sc[S_SYNC_DATA];
	     j = c->prev[j - 1])
		if (c->p->cls[j - 1] == PC_DATA && !c->p->tie[j - 1])
			c->p->tie[j - 1] = op->seq;
}

static void chain_push(struct ctx *c, size_t i, struct mnode *n, int last)
{
	uint64_t *sc = model_node_scratch(n);

	c->prev[i] = sc[last];
	sc[last] = i + 1;
}

int persist_compute(struct model *m, const struct persist_rules *r,
		    struct persist *p)
{
	size_t n = model_nops(m);
	struct ctx c = {.m = m, .p = p};

	memset(p, 0, sizeof(*p));
	p->rules = r;
	p->nops = n;
	p->cls = calloc(n + 1, sizeof(*p->cls));
	p->durable_at = malloc((n + 1) * sizeof(*p->durable_at));
	p->tie = calloc(n + 1, sizeof(*p->tie));
	p->journal = malloc((n + 1) * sizeof(*p->journal));
	p->lost_at = calloc(n + 1, sizeof(*p->lost_at));
	c.prev = calloc(n + 1, sizeof(*c.prev));
	if (!p->cls || !p->durable_at || !p->tie || !p->journal ||
	    !p->lost_at || !c.prev) {
		free(c.prev);
		persist_release(p);
		return -ENOMEM;
	}
	model_clear_scratch(m);
	for (size_t i = 0; i < n; i++) {
		const struct model_op *op = model_op(m, i);
		enum persist_class cls = persist_class_of(op);

		p->cls[i] = (uint8_t)cls;
		p->durable_at[i] = PERSIST_NEVER;
		switch (cls) {
		case PC_NS:
			p->journal[p->njournal++] = i;
			if (op->dir)
				model_node_scratch(op->dir)[S_LAST_NS] = i + 1;
			if (op->dir2)
				model_node_scratch(op->dir2)[S_LAST_NS] = i + 1;
			if (op->type == TR_RENAME && r->replace_flushes_data)
				tie_to_rename(&c, op);
			break;
		case PC_SIZE:
			p->journal[p->njournal++] = i;
			chain_push(&c, i, op->node, S_LAST_DATA);
			break;
		case PC_ATTR:
			p->journal[p->njournal++] = i;
			chain_push(&c, i, op->node, S_LAST_ATTR);
			break;
		case PC_DATA:
			chain_push(&c, i, op->node, S_LAST_DATA);
			/* O_DSYNC: as if fdatasync followed the write */
			if (op->flags & TRF_SYNC)
				chain_durable(&c, model_node_scratch(op->node),
					      S_LAST_DATA, S_SYNC_DATA,
					      op->seq);
			break;
		case PC_NONE:
			/* A live power cut: what survived it is durable. */
			if (op->type == TR_POWERCUT && op->result >= 0)
				for (size_t j = 0; j < i; j++)
					if (p->cls[j] != PC_NONE)
						make_durable(&c, j, op->seq);
			if (op->type == TR_SYNC && op->result >= 0)
				sync_all(&c, i, op->seq);
			else if ((op->type == TR_FSYNC ||
				  op->type == TR_FSYNCDIR) &&
				 op->node && op->result >= 0)
				do_sync(&c, i, op);
			else if (op->type == TR_FSYNC && op->node &&
				 !model_is_dir(op->node))
				sync_failed(&c, op);
			break;
		}
	}
	/* A tied write is durable once its rename is. */
	for (size_t i = 0; i < n; i++)
		if (p->tie[i])
			make_durable(&c, i, p->durable_at[p->tie[i] - 1]);
	free(c.prev);
	model_clear_scratch(m);
	return 0;
}
