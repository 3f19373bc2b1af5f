/* SPDX-License-Identifier: MIT */
/** @file
 *
 * A live power cut in a trace, rebuilt (see livecut.h).  The strict facts
 * of the ops before the cut (core/persist.c) say which ops were pending;
 * the cut's name says which of those persisted.  For a partial cut the
 * pending writes and dropped size ops of each file go, in program order,
 * through the same plan the daemon followed (core/cutplan.h).
 */
#include "core/livecut.h"

#include "core/cutplan.h"
#include "core/model.h"
#include "core/persist.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Node scratch words while applying a partial cut. */
enum {
	W_FILE,	  /* index + 1 in the files table */
	W_FAILED, /* a failed fsync since the last cut */
};

/* A file with pending data or dropped size ops. */
struct lc_file {
	struct mnode *node;
	uint64_t draw_id;  /* id of its first pending write or copy */
	uint32_t nwrites;  /* pending writes */
	bool copied;	   /* a pending copy_file_range into it */
	bool dropped_size; /* one of its size ops was dropped */
};

/* A pending op of a file, for sorting by file then program order. */
struct lc_ref {
	uint32_t file;
	uint32_t op;
};

struct lc {
	struct model *m;
	const struct persist *p;
	const struct model_op *cut;
	const struct cutplan_spec *s;
	struct lc_file *files;
	size_t nfiles, capfiles;
	struct lc_ref *refs;
	size_t nrefs, caprefs;
};

static bool pending(const struct lc *c, size_t i)
{
	return c->p->cls[i] != PC_NONE && c->p->durable_at[i] > c->cut->seq;
}

/* The files-table entry of n, made if new; NULL if out of memory. */
static struct lc_file *file_of(struct lc *c, struct mnode *n, uint32_t *idx)
{
	uint64_t *w = model_node_scratch(n);

	if (!w[W_FILE]) {
		if (c->nfiles == c->capfiles) {
			size_t cap = c->capfiles ? 2 * c->capfiles : 16;
			struct lc_file *v = realloc(c->files, cap * sizeof(*v));

			if (!v)
				return NULL;
			c->files = v;
			c->capfiles = cap;
		}
		c->files[c->nfiles] = (struct lc_file){.node = n};
		w[W_FILE] = ++c->nfiles;
	}
	*idx = (uint32_t)(w[W_FILE] - 1);
	return &c->files[*idx];
}

static int ref_add(struct lc *c, uint32_t file, size_t op)
{
	if (c->nrefs == c->caprefs) {
		size_t cap = c->caprefs ? 2 * c->caprefs : 64;
		struct lc_ref *v = realloc(c->refs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->refs = v;
		c->caprefs = cap;
	}
	c->refs[c->nrefs++] = (struct lc_ref){file, (uint32_t)op};
	return 0;
}

static int ref_cmp(const void *a, const void *b)
{
	const struct lc_ref *x = a, *y = b;

	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->op < y->op ? -1 : x->op > y->op;
}

/* A dropped size op that touches bytes: a plain, zero-range or
 * punch-hole fallocate, or a truncate (the daemon journals exactly
 * these). */
static bool blocks(const struct model_op *op)
{
	return op->type == TR_TRUNCATE ||
	       (op->type == TR_FALLOCATE && op->oflags != FALLOC_FL_KEEP_SIZE);
}

/*
 * Cancel the pending metadata after the cut's meta, and note, per file,
 * its pending data ops and dropped size ops.
 */
static int collect(struct lc *c)
{
	size_t n = model_nops(c->m);
	int err = 0;

	/* a failed fsync since the last cut: the file keeps all or none */
	for (size_t i = n; i > 0; i--) {
		const struct model_op *op = model_op(c->m, i - 1);

		if (op->type == TR_POWERCUT && op->result >= 0)
			break;
		if (op->type == TR_FSYNC && op->result < 0 && op->node &&
		    model_is_reg(op->node))
			model_node_scratch(op->node)[W_FAILED] = 1;
	}
	for (size_t i = 0; i < n && !err; i++) {
		const struct model_op *op = model_op(c->m, i);
		struct lc_file *f;
		uint32_t idx;
		bool dropped;

		if (!pending(c, i))
			continue;
		dropped = c->p->cls[i] != PC_DATA && op->seq > c->s->meta;
		if (dropped)
			model_cancel(c->m, i);
		if (!op->node || !model_is_reg(op->node) ||
		    (c->p->cls[i] != PC_DATA &&
		     !(c->p->cls[i] == PC_SIZE && dropped && blocks(op))))
			continue;
		f = file_of(c, op->node, &idx);
		if (!f)
			return -ENOMEM;
		if (c->p->cls[i] == PC_SIZE) {
			f->dropped_size = true;
		} else if (op->result > 0) {
			if (!f->draw_id)
				f->draw_id = op->id;
			f->copied |= op->type == TR_COPY_RANGE;
			f->nwrites += op->type == TR_WRITE;
		}
		err = ref_add(c, idx, i);
	}
	return err;
}

/* Cancel every pending data op of file f (refs r[0, n)). */
static void drop_all(struct lc *c, const struct lc_ref *r, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (c->p->cls[r[k].op] == PC_DATA)
			model_cancel(c->m, r[k].op);
}

/* Plan file f (refs r[0, n)) and apply the plan to its writes. */
static int plan(struct lc *c, const struct lc_file *f, const struct lc_ref *r,
		size_t n)
{
	const struct cutplan_spec *s = c->s;
	struct cutplan_item *it = calloc(n ? n : 1, sizeof(*it));
	struct cutplan_file out = {0};
	uint64_t id = f->draw_id;
	int err;

	if (!it)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		const struct model_op *op = model_op(c->m, r[k].op);

		if (c->p->cls[r[k].op] == PC_SIZE)
			it[k] = (struct cutplan_item){
			    .kind = CI_BLOCK,
			    .off = op->type == TR_TRUNCATE ? op->len : 0,
			    .end = UINT64_MAX,
			};
		else if (op->type == TR_WRITE && op->result > 0)
			it[k] = (struct cutplan_item){
			    .kind = CI_WRITE,
			    .extends = op->extends,
			    .seq = op->seq,
			    .off = op->off,
			    .end = op->off + op->data_len,
			};
	}
	if (s->mode == CUTPLAN_SELECT)
		id = model_node(c->m, s->file) == f->node ? s->file : 0;
	err = cutplan_file(s, id, it, n, &out);
	for (size_t k = 0; k < n && !err; k++) {
		const struct cutplan_fate *fa = &out.fate[k];
		const struct cutplan_piece *pc = out.pieces + fa->first;

		if (it[k].kind != CI_WRITE)
			continue;
		if (!fa->n && !fa->size)
			model_cancel(c->m, r[k].op);
		else if (fa->n != 1 || pc->off != it[k].off ||
			 pc->end != it[k].end)
			err = model_keep_pieces(c->m, r[k].op,
						(const struct model_piece *)pc,
						fa->n, fa->size);
	}
	cutplan_file_release(&out);
	free(it);
	return err;
}

_Static_assert(sizeof(struct cutplan_piece) == sizeof(struct model_piece),
	       "a plan's pieces are the model's");

static int partial(struct model *m, const struct persist *p,
		   const struct model_op *cut, const struct cutplan_spec *s)
{
	struct lc c = {.m = m, .p = p, .cut = cut, .s = s};
	int err = collect(&c);

	if (!err)
		qsort(c.refs, c.nrefs, sizeof(*c.refs), ref_cmp);
	for (size_t a = 0, b; a < c.nrefs && !err; a = b) {
		const struct lc_file *f = &c.files[c.refs[a].file];
		bool failed = model_node_scratch(f->node)[W_FAILED];

		for (b = a; b < c.nrefs && c.refs[b].file == c.refs[a].file;
		     b++)
			;
		if (!failed && !f->copied && f->nwrites <= CUTPLAN_MAX_WRITES)
			err = plan(&c, f, c.refs + a, b - a);
		else if (!cutplan_whole_keeps(s, f->draw_id,
					      !failed && !f->dropped_size))
			drop_all(&c, c.refs + a, b - a);
	}
	free(c.files);
	free(c.refs);
	model_clear_scratch(m);
	return err;
}

/* ---- cuts by older daemons ---------------------------------------------- */

/* "posix seed=S meta=B": true if name is one. */
static bool legacy_parse(const char *name, uint64_t *seed, uint64_t *meta)
{
	int end = -1;

	return name &&
	       sscanf(name, "posix seed=%" SCNu64 " meta=%" SCNu64 "%n", seed,
		      meta, &end) == 2 &&
	       end == (int)strlen(name);
}

/*
 * The pending metadata after meta is cancelled, and the pending writes of
 * every file that does not keep them (all or none, drawn from the seed
 * and its id; none when one of its size ops was dropped or a fallocate
 * other than a plain or zero-range one was made).
 */
static void legacy_cancel(struct model *m, const struct persist *p,
			  const struct model_op *cut, uint64_t seed,
			  uint64_t meta)
{
	size_t n = p->nops;

	for (size_t i = 0; i < n; i++) {
		const struct model_op *op = model_op(m, i);

		if (p->cls[i] != PC_SIZE || p->durable_at[i] <= cut->seq ||
		    !op->node)
			continue;
		if (op->seq > meta || (op->type == TR_FALLOCATE &&
				       (op->oflags & ~FALLOC_FL_ZERO_RANGE)))
			model_node_scratch(op->node)[0] = 1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct model_op *op = model_op(m, i);

		if (p->cls[i] == PC_NONE || p->durable_at[i] <= cut->seq)
			continue;
		if (p->cls[i] != PC_DATA ? op->seq > meta
					 : model_node_scratch(op->node)[0] ||
					       !(cutplan_mix(seed, op->id) & 1))
			model_cancel(m, i);
	}
	model_clear_scratch(m);
}

int livecut_apply(struct model *m, const struct model_op *cut, char *err,
		  size_t errlen)
{
	bool keep_meta = cut->name && !strcmp(cut->name, "keep-metadata");
	bool strict = !cut->name || !*cut->name || !strcmp(cut->name, "strict");
	uint64_t seed = 0, meta = 0;
	struct cutplan_spec s;
	struct persist p = {0};
	char msg[256] = "";
	int kind, res = 0;

	kind = cutplan_parse(cut->name, &s, msg, sizeof(msg));
	if (kind < 0) {
		snprintf(err, errlen, "record #%llu: power cut '%s': %s",
			 (unsigned long long)cut->seq, cut->name, msg);
		return -EBADMSG;
	}
	if (!kind && !strict && !keep_meta &&
	    !legacy_parse(cut->name, &seed, &meta)) {
		snprintf(err, errlen,
			 "record #%llu: a power cut of unknown model '%s'",
			 (unsigned long long)cut->seq, cut->name);
		return -ENOTSUP;
	}
	if (persist_compute(m, persist_find("strict"), &p)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (kind) {
		res = partial(m, &p, cut, &s);
	} else if (!strict && !keep_meta) {
		legacy_cancel(m, &p, cut, seed, meta);
	} else {
		for (size_t i = 0; i < p.nops; i++) {
			if (p.cls[i] == PC_NONE || p.durable_at[i] <= cut->seq)
				continue;
			if (keep_meta && p.cls[i] != PC_DATA &&
			    p.cls[i] != PC_SIZE)
				continue;
			model_cancel(m, i);
		}
	}
	persist_release(&p);
	if (res)
		snprintf(err, errlen, "out of memory");
	return res;
}
