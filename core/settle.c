/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Settling a crash state (see settle.h for the interface).
 *
 * Method: a file's bytes reach the disk through its pages.  The page cache
 * writes a dirty page back as one unit, holding every change made to it
 * up to that moment, possibly several times; a device that loses power
 * during a page write keeps some of its sectors and not others, never
 * part of a sector.  So what one sector holds after a crash is its content
 * after some program-order prefix of the changes made to it: a later
 * write to a sector cannot persist while an earlier one to it is lost.
 * Across sectors anything goes where a model lets writes tear (torn pages
 * keep any of their sectors, pages are written back in any order); a
 * model that never tears keeps whole pages, so its unit is the page.
 *
 * A truncate that shrinks a file zeroes the page holding its new end
 * from there on and frees the blocks past it; punching or zeroing a range
 * does the same to the range.  A later write to those sectors lands in
 * the zeroed page or in blocks allocated afresh, which a journalling file
 * system commits after the truncate.  So a later write there persists
 * only if the truncate did (crashfs does not show the truncate's zeroes
 * without its new size: it drops the write instead).
 *
 * Under data=ordered (a model whose size extensions never persist without
 * their data), the size on disk never covers an extension whose data did
 * not reach it: an extending write that lost part of its extension is
 * followed by nothing of the file beyond it, and may tear only by keeping
 * its head.
 *
 * Two passes per file.  Backward: what must persist (durable, carried by
 * a persisted rename, or forced) raises every earlier change it needs to
 * whole, and a truncate it needs brings the journal up to it.  Forward:
 * every other write keeps the largest variant whose sectors are still
 * open; what a change leaves unpersisted closes behind it.
 */
#include "core/settle.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/falloc.h>

#define PAGE 4096
#define INF UINT64_MAX

/* A set of disjoint unit ranges [a, b), sorted. */
struct iv {
	uint64_t (*v)[2];
	size_t n, cap;
};

struct settle_file {
	const struct mnode *node; /* the file */
	struct iv closed;	  /* forward: units a change left behind */
	struct iv need;		  /* backward: units a forced op needs */
	uint64_t hole_at;	  /* forward, ordered: first byte of a lost
				     extension (INF: none) */
	uint64_t need_end;	  /* backward, ordered: end of the furthest
				     forced byte after this op */
};

static void oom(void)
{
	fprintf(stderr, "crashfs: out of memory\n");
	abort();
}

/* ---- unit sets -------------------------------------------------------- */

/* Index of the first range ending after a. */
static size_t iv_first(const struct iv *s, uint64_t a)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->v[mid][1] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool iv_hits(const struct iv *s, uint64_t a, uint64_t b)
{
	size_t i;

	if (a >= b || !s->n)
		return false;
	i = iv_first(s, a);
	return i < s->n && s->v[i][0] < b;
}

static void iv_add(struct iv *s, uint64_t a, uint64_t b)
{
	size_t i, j;

	if (a >= b)
		return;
	/* ranges that touch [a, b) merge with it */
	i = a ? iv_first(s, a - 1) : 0;
	for (j = i; j < s->n && s->v[j][0] <= b; j++) {
		if (s->v[j][0] < a)
			a = s->v[j][0];
		if (s->v[j][1] > b)
			b = s->v[j][1];
	}
	if (i == j) {
		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 8;
			void *p = realloc(s->v, cap * sizeof(*s->v));

			if (!p)
				oom();
			s->v = p;
			s->cap = cap;
		}
		memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(*s->v));
		s->n++;
	} else if (j > i + 1) {
		memmove(&s->v[i + 1], &s->v[j], (s->n - j) * sizeof(*s->v));
		s->n -= j - i - 1;
	}
	s->v[i][0] = a;
	s->v[i][1] = b;
}

/* ---- files ------------------------------------------------------------ */

static size_t hash_ptr(const void *p, size_t nslots)
{
	uint64_t v = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;

	return (size_t)(v >> 20) & (nslots - 1);
}

static void table_put(struct settle *s, size_t idx)
{
	size_t h = hash_ptr(s->files[idx].node, s->nslots);

	while (s->slot_gen[h] == s->gen)
		h = (h + 1) & (s->nslots - 1);
	s->slot_gen[h] = s->gen;
	s->slot[h] = idx;
}

static void table_grow(struct settle *s)
{
	size_t n = s->nslots ? 2 * s->nslots : 64;

	free(s->slot);
	free(s->slot_gen);
	s->slot = malloc(n * sizeof(*s->slot));
	s->slot_gen = calloc(n, sizeof(*s->slot_gen));
	if (!s->slot || !s->slot_gen)
		oom();
	s->nslots = n;
	for (size_t i = 0; i < s->nfiles; i++)
		table_put(s, i);
}

/* Start a pass: every file forgotten. */
static void files_reset(struct settle *s)
{
	s->gen++;
	s->nfiles = 0;
}

static struct settle_file *file_of(struct settle *s, const struct mnode *n)
{
	struct settle_file *f;
	size_t h;

	if (s->nslots) {
		for (h = hash_ptr(n, s->nslots); s->slot_gen[h] == s->gen;
		     h = (h + 1) & (s->nslots - 1))
			if (s->files[s->slot[h]].node == n)
				return &s->files[s->slot[h]];
	}
	if (s->nfiles == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;

		f = realloc(s->files, cap * sizeof(*f));
		if (!f)
			oom();
		memset(f + s->cap, 0, (cap - s->cap) * sizeof(*f));
		s->files = f;
		s->cap = cap;
	}
	f = &s->files[s->nfiles++];
	f->node = n;
	f->closed.n = 0;
	f->need.n = 0;
	f->hole_at = INF;
	f->need_end = 0;
	if (2 * s->nfiles > s->nslots)
		table_grow(s); /* puts the new file too */
	else
		table_put(s, s->nfiles - 1);
	return f;
}

void settle_release(struct settle *s)
{
	for (size_t i = 0; i < s->cap; i++) {
		free(s->files[i].closed.v);
		free(s->files[i].need.v);
	}
	free(s->files);
	free(s->slot);
	free(s->slot_gen);
	memset(s, 0, sizeof(*s));
}

/* ---- geometry of an op ------------------------------------------------ */

uint32_t settle_unit(const struct persist_rules *r, uint32_t sector)
{
	if (!sector)
		sector = 512;
	if (r && !r->torn)
		return sector > PAGE ? sector : PAGE;
	return sector;
}

static uint64_t data_end(const struct model_op *op)
{
	if (op->type == TR_WRITE)
		return op->off + op->data_len;
	return op->off + (op->result > 0 ? (uint64_t)op->result : 0);
}

void settle_range(const struct model_op *op, uint8_t v, uint32_t sector,
		  uint64_t *a, uint64_t *b)
{
	uint64_t end = data_end(op), t;

	*a = *b = op->off;
	if (v == SETTLE_DROP)
		return;
	v &= (uint8_t)~SETTLE_FORCE;
	if (v == MV_SIZE)
		return;
	*b = end;
	if (op->type != TR_WRITE || (v != MV_HEAD && v != MV_TAIL))
		return;
	t = model_tear_point(op->off, end - op->off, sector);
	if (t == op->off)
		return; /* cannot tear: whole */
	if (v == MV_HEAD)
		*b = t;
	else
		*a = t;
}

/* Units covering bytes [a, b) (b == INF: to the end of any file). */
static void units(uint32_t u, uint64_t a, uint64_t b, uint64_t *ua,
		  uint64_t *ub)
{
	*ua = a / u;
	*ub = a >= b ? *ua : b == INF ? INF : (b - 1) / u + 1;
}

/* The bytes a size op changes the content of ([a, b), empty: none). */
static void cut_range(const struct model_op *op, uint64_t *a, uint64_t *b)
{
	*a = *b = 0;
	if (op->type == TR_TRUNCATE && op->len < op->size_before) {
		*a = op->len;
		*b = INF;
	} else if (op->type == TR_FALLOCATE &&
		   (op->oflags &
		    (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))) {
		*a = op->off;
		*b = op->off + op->len;
	}
}

/* The first byte of op's extension that variant v leaves unwritten (INF:
 * none, or the op does not extend its file). */
static uint64_t lost_from(const struct model_op *op, uint8_t v, uint32_t sector)
{
	uint64_t end = data_end(op), x, a, b;

	if (end <= op->size_before)
		return INF;
	x = op->off > op->size_before ? op->off : op->size_before;
	settle_range(op, v, sector, &a, &b);
	if (a >= b)
		return x;
	if (b < end)
		return b > x ? b : x;
	return a > x ? x : INF; /* a tail: the head part is lost */
}

/* ---- the passes ------------------------------------------------------- */

struct pass {
	struct settle *s;
	struct model *m;
	const struct persist *p;
	uint64_t point;
	uint32_t sector; /* tear granularity */
	uint32_t unit;	 /* sector rule granularity */
	bool ordered;	 /* no size without data */
	bool torn;	 /* writes may tear */
	uint8_t *choice;
	const size_t *list;
	size_t n;
	uint8_t *why; /* per list entry: enum settle_reason */
};

static bool persisted(const struct pass *x, size_t i)
{
	return x->choice[i] != SETTLE_DROP;
}

/*
 * Is op i a change a failed fsync lost for good by the crash point?  It
 * may or may not have reached the disk before the failure, and what it
 * wrote never reaches it with later writes (docs/crash-model.md rule 7):
 * it neither needs nor constrains the other changes of its sectors.
 * (Unless a persisted rename carried it out before the failure.)
 */
static bool lost_for_good(const struct pass *x, size_t i)
{
	const struct persist *p = x->p;

	return p && p->lost_at[i] && p->lost_at[i] <= x->point &&
	       p->durable_at[i] > x->point &&
	       !(p->tie[i] && p->tie[i] <= x->point &&
		 x->choice[p->tie[i] - 1] != SETTLE_DROP);
}

static bool forced(const struct pass *x, size_t i)
{
	const struct persist *p = x->p;

	if (x->choice[i] != SETTLE_DROP && (x->choice[i] & SETTLE_FORCE))
		return true;
	if (!p)
		return false;
	return p->durable_at[i] <= x->point ||
	       (p->tie[i] && p->tie[i] <= x->point &&
		persisted(x, p->tie[i] - 1));
}

static uint8_t cls_of(const struct pass *x, size_t i)
{
	return x->p ? x->p->cls[i]
		    : (uint8_t)persist_class_of(model_op(x->m, i));
}

static bool journalled(uint8_t cls)
{
	return cls == PC_NS || cls == PC_SIZE || cls == PC_ATTR;
}

/* Raise journalled list entries up to j (inclusive) to persisted. */
static bool raise_journal(struct pass *x, size_t j)
{
	bool any = false;

	for (size_t q = 0; q <= j; q++) {
		size_t i = x->list[q];

		if (journalled(cls_of(x, i)) && !persisted(x, i)) {
			x->choice[i] = MV_FULL;
			if (!x->why[q])
				x->why[q] = SR_NEEDED;
			any = true;
		}
	}
	return any;
}

/* A model that keeps program order: a forced op brings every pending op
 * before it along.  True if it raised journalled ops. */
static bool raise_in_order(struct pass *x)
{
	bool journal = false;
	size_t j = x->n;

	while (j-- > 0)
		if (cls_of(x, x->list[j]) == PC_DATA && forced(x, x->list[j]))
			break;
	if (j == SIZE_MAX)
		return false;
	for (size_t q = 0; q < j; q++) {
		size_t i = x->list[q];

		if (persisted(x, i) &&
		    (cls_of(x, i) != PC_DATA || x->choice[i] == MV_FULL))
			continue;
		if (!x->why[q])
			x->why[q] = SR_NEEDED;
		if (cls_of(x, i) == PC_DATA) {
			x->choice[i] = MV_FULL | SETTLE_FORCE;
		} else {
			x->choice[i] = MV_FULL;
			journal = true;
		}
	}
	return journal;
}

/* ... and after the first pending op that did not persist, nothing
 * else does. */
static void drop_in_order(struct pass *x)
{
	bool cut = false;

	for (size_t j = 0; j < x->n; j++) {
		size_t i = x->list[j];

		if (x->p->durable_at[i] <= x->point || forced(x, i))
			continue;
		if (cut && persisted(x, i)) {
			x->choice[i] = SETTLE_DROP;
			if (!x->why[j])
				x->why[j] = SR_SECTOR;
		}
		if (!persisted(x, i) ||
		    (cls_of(x, i) == PC_DATA && x->choice[i] != MV_FULL))
			cut = true;
	}
}

/* One backward pass; true if it raised journalled ops (ties may change). */
static bool backward(struct pass *x)
{
	struct settle *s = x->s;
	bool journal = false;

	if (x->p && x->p->rules->data_in_order)
		journal = raise_in_order(x);
	files_reset(s);
	for (size_t j = x->n; j-- > 0;) {
		size_t i = x->list[j];
		const struct model_op *op = model_op(x->m, i);
		uint8_t cls = cls_of(x, i);
		struct settle_file *f;
		uint64_t a, b, ua, ub;

		if ((cls != PC_DATA && cls != PC_SIZE) || !op->node ||
		    lost_for_good(x, i))
			continue;
		f = file_of(s, op->node);
		if (cls == PC_SIZE) {
			cut_range(op, &a, &b);
			units(x->unit, a, b, &ua, &ub);
			if (!persisted(x, i) && !s->unsound_reorder &&
			    iv_hits(&f->need, ua, ub))
				journal |= raise_journal(x, j);
			continue;
		}
		if (!forced(x, i)) {
			/*
			 * Needed whole, even if chosen whole: the forward pass
			 * must not take it back, and what it needs in turn
			 * must persist too.
			 */
			uint8_t v = x->choice[i];
			bool need;

			units(x->unit, op->off, data_end(op), &ua, &ub);
			need = !s->unsound_reorder && iv_hits(&f->need, ua, ub);
			if (x->ordered &&
			    f->need_end > lost_from(op, SETTLE_DROP, x->sector))
				need = true;
			if (!need)
				continue;
			if (v != MV_FULL && !x->why[j])
				x->why[j] = SR_NEEDED;
		}
		x->choice[i] = MV_FULL | SETTLE_FORCE;
		units(x->unit, op->off, data_end(op), &ua, &ub);
		iv_add(&f->need, ua, ub);
		if (data_end(op) > f->need_end)
			f->need_end = data_end(op);
	}
	return journal;
}

/* Can op persist as variant v after what the file's earlier changes left? */
static enum settle_reason fits(const struct pass *x, const struct model_op *op,
			       const struct settle_file *f, uint8_t v)
{
	uint64_t a, b, ua, ub;

	if (v == SETTLE_DROP)
		return SR_NONE;
	if (v == MV_SIZE)
		return x->ordered ? SR_HOLE : SR_NONE;
	if ((v == MV_HEAD || v == MV_TAIL) &&
	    (!x->torn || op->type != TR_WRITE ||
	     !model_can_tear(op->off, op->data_len, x->sector)))
		return SR_TEAR;
	settle_range(op, v, x->sector, &a, &b);
	/*
	 * Ordered data: the size on disk grows as whole pages are written
	 * back (ext4 commits i_disksize to the end of the pages written,
	 * after their data), so a head that ends inside the extension ends
	 * at a page boundary or not at all: a size at a sector boundary in
	 * mid-page is not a state a disk can hold.
	 */
	if (x->ordered && v == MV_HEAD && b > op->size_before &&
	    b < data_end(op) && b % PAGE)
		return SR_TEAR;
	units(x->unit, a, b, &ua, &ub);
	if (!x->s->unsound_reorder && iv_hits(&f->closed, ua, ub))
		return SR_SECTOR;
	if (x->ordered && a < b && b > f->hole_at)
		return SR_HOLE;
	if (x->ordered && v == MV_TAIL && lost_from(op, v, x->sector) != INF)
		return SR_TEAR;
	return SR_NONE;
}

static void forward(struct pass *x)
{
	struct settle *s = x->s;

	if (x->p && x->p->rules->data_in_order)
		drop_in_order(x);
	files_reset(s);
	for (size_t j = 0; j < x->n; j++) {
		size_t i = x->list[j];
		const struct model_op *op = model_op(x->m, i);
		uint8_t cls = cls_of(x, i), v, want;
		struct settle_file *f;
		uint64_t a, b, ua, ub, pa, pb, lost;
		/* what a choice may fall back to, best first */
		static const struct {
			uint8_t v[4];
			int n;
		} order[] = {
		    [MV_FULL] = {{MV_FULL, MV_HEAD, MV_TAIL, SETTLE_DROP}, 4},
		    [MV_HEAD] = {{MV_HEAD, SETTLE_DROP}, 2},
		    [MV_TAIL] = {{MV_TAIL, SETTLE_DROP}, 2},
		    [MV_SIZE] = {{MV_SIZE, SETTLE_DROP}, 2},
		};
		enum settle_reason r = SR_NONE;

		if ((cls != PC_DATA && cls != PC_SIZE) || !op->node ||
		    lost_for_good(x, i))
			continue;
		f = file_of(s, op->node);
		if (cls == PC_SIZE) {
			cut_range(op, &a, &b);
			if (!persisted(x, i)) {
				units(x->unit, a, b, &ua, &ub);
				iv_add(&f->closed, ua, ub);
			} else if (op->type == TR_TRUNCATE &&
				   op->len <= f->hole_at) {
				f->hole_at = INF; /* the hole is cut off */
			}
			continue;
		}
		want = x->choice[i];
		if (forced(x, i)) {
			v = MV_FULL;
		} else if (want == SETTLE_DROP) {
			v = SETTLE_DROP;
		} else {
			v = SETTLE_DROP;
			for (int k = 0; want <= MV_SIZE && k < order[want].n;
			     k++) {
				enum settle_reason e =
				    fits(x, op, f, order[want].v[k]);

				if (e == SR_NONE) {
					v = order[want].v[k];
					break;
				}
				if (!r)
					r = e;
			}
		}
		x->choice[i] = v;
		if (v != want && !x->why[j])
			x->why[j] = (uint8_t)(r ? r : SR_SECTOR);
		/* what it left unwritten closes behind it */
		units(x->unit, op->off, data_end(op), &ua, &ub);
		settle_range(op, v, x->sector, &a, &b);
		units(x->unit, a, b, &pa, &pb);
		if (pa >= pb) {
			iv_add(&f->closed, ua, ub);
		} else {
			iv_add(&f->closed, ua, pa);
			iv_add(&f->closed, pb, ub);
		}
		if (x->ordered) {
			lost = lost_from(op, v, x->sector);
			if (lost < f->hole_at)
				f->hole_at = lost;
		}
	}
}

size_t settle_choice(struct settle *s, struct model *m, const struct persist *p,
		     uint64_t point, uint32_t sector, uint8_t *choice,
		     const size_t *list, size_t n)
{
	struct pass x = {
	    .s = s,
	    .m = m,
	    .p = p,
	    .point = point,
	    .sector = sector ? sector : 512,
	    .unit = settle_unit(p ? p->rules : NULL, sector),
	    .ordered =
		p && !p->rules->size_without_data && !p->rules->data_in_order,
	    .torn = !p || p->rules->torn,
	    .choice = choice,
	    .list = list,
	    .n = n,
	};
	uint8_t *orig, stack[512];
	size_t changed = 0, j0;

	memset(&s->first, 0, sizeof(s->first));
	/*
	 * Up to the first op not chosen whole nothing is closed, no
	 * extension lost and nothing left to raise: start there (most
	 * states vary one write among many).
	 */
	for (j0 = 0; j0 < n; j0++) {
		uint8_t c = choice[list[j0]];

		if (c == SETTLE_DROP || (c & (uint8_t)~SETTLE_FORCE) != MV_FULL)
			break;
	}
	for (size_t j = 0; j < j0; j++)
		choice[list[j]] &= (uint8_t)~SETTLE_FORCE;
	if (j0 == n)
		return 0;
	list += j0;
	n -= j0;
	x.list = list;
	x.n = n;
	orig = n <= sizeof(stack) / 2 ? stack : malloc(2 * n);
	if (!orig)
		oom();
	x.why = orig + n;
	memset(x.why, 0, n);
	for (size_t j = 0; j < n; j++)
		orig[j] = choice[list[j]];
	/* a raised journal op may persist a rename that carries writes */
	for (size_t round = 0; backward(&x) && round <= n; round++)
		;
	forward(&x);
	for (size_t j = 0; j < n; j++) {
		size_t i = list[j];
		uint8_t was = orig[j] == SETTLE_DROP
				  ? SETTLE_DROP
				  : (uint8_t)(orig[j] & ~SETTLE_FORCE);

		if (choice[i] != SETTLE_DROP)
			choice[i] &= (uint8_t)~SETTLE_FORCE;
		if (choice[i] == was)
			continue;
		if (!changed++) {
			s->first.op = i;
			s->first.from = was;
			s->first.to = choice[i];
			s->first.reason =
			    x.why[j] ? (enum settle_reason)x.why[j] : SR_NEEDED;
		}
	}
	if (orig != stack)
		free(orig);
	return changed;
}
