/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The crash-state explorer.  See explore.h for the interface and
 * core/persist.c for the rules it applies.
 *
 * For one model the explorer walks the crash points in order and keeps a
 * base tree: the initial image plus every op durable at the current point
 * whose predecessors in its chain (the entry journal, or one file's data,
 * or one file's attributes) are in the base too.  The other ops up to the
 * point are pending.  A state is the base plus the pending ops its choice
 * persists, applied in program order through the model's undo log and
 * undone afterwards.  Moving to the next point adds the new ops to the
 * pending list and moves the newly durable ones into the base, so the work
 * per state follows what is pending, not the length of the trace.
 */
#include "harness/explore.h"
#include "core/map.h"
#include "core/settle.h"
#include "core/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define NMODELS_MAX 16
#define NONE SIZE_MAX

/* Scratch words of a file: the walk stamps that block its chains and
 * mark it as named by a pending entry op. */
enum { S_BLOCK_DATA = 5, S_BLOCK_ATTR = 6, S_NAMED = 7 };

struct cands {
	struct explore_state *v;
	size_t n, cap;
};

struct explorer {
	struct model *m;
	struct explore_opts o;
	const struct persist_rules *models[NMODELS_MAX]; /* to explore */
	size_t nmodels;
	const struct persist_rules *known[NMODELS_MAX]; /* persist_models */
	struct persist ps[NMODELS_MAX]; /* per known model, lazily */
	bool have_ps[NMODELS_MAX];
	uint32_t sector;
	uint64_t *points; /* crash points, ascending */
	size_t npoints;
	bool *visit;		       /* per point: visited (opts.points) */
	uint64_t *epochs[NMODELS_MAX]; /* per known model: the seqs at
					   which something became durable,
					   ascending, unique */
	size_t nepochs[NMODELS_MAX];
	uint64_t *ctx;	   /* opts.ctx_seqs, sorted */
	struct cands prev; /* states of the previous visited point */
	size_t prev_model; /* its known[] index (NONE: no previous) */
	uint64_t prev_k;   /* its point */
	/* the base tree */
	size_t bmodel;	      /* known[] index, NONE: invalid */
	uint64_t bk;	      /* point the base is at */
	size_t *pend;	      /* pending op indices, in order */
	int *applied;	      /* decision applied for pend[j] (see build()) */
	int *dec;	      /* decisions of the state being built */
	size_t *marks;	      /* undo-log mark before pend[j] */
	uint8_t *choice;      /* per op: the state's choice (core/settle.h),
			    MV_FULL for the ops in the base */
	struct settle settle; /* makes choices physically possible */
	size_t napplied;      /* pend[0, napplied) are applied */
	size_t npend;
	size_t jd;	/* journal ops durable as a prefix */
	uint64_t dseq;	/* seq of the last of them (0: none) */
	uint64_t stamp; /* chain-blocking walk stamp */
	/* enumeration */
	bool started;
	size_t mi, pi;		     /* models[] and points[] positions */
	struct cands iter;	     /* states of (mi, pi) for explore_next() */
	size_t ci;		     /* next of them */
	struct cands other;	     /* for explore_goto() */
	struct explore_loss *custom; /* XK_CUSTOM data fates, by seq */
	size_t ncustom, custom_cap;
	struct map seen;       /* state hash -> (void *)1 */
	struct map last_named; /* mnode -> seq of the last op that gives
				   it a name */
	struct explore_counts counts;
	char err[512];
};

/* ---- helpers -------------------------------------------------------- */

static int xfail(struct explorer *x, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int xfail(struct explorer *x, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->err, sizeof(x->err), fmt, ap);
	va_end(ap);
	return -err;
}

static uint64_t mix3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t v[3] = {a, b, c};

	return XXH3_64bits(v, sizeof(v));
}

static int cmp_loss(const void *a, const void *b);

static size_t known_index(struct explorer *x, const struct persist_rules *r)
{
	for (size_t i = 0; i < NMODELS_MAX && x->known[i]; i++)
		if (x->known[i] == r)
			return i;
	return NONE;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The seqs at which ops of model ki became durable, sorted, unique. */
static int make_epochs(struct explorer *x, size_t ki)
{
	const struct persist *p = &x->ps[ki];
	uint64_t *e = malloc((p->nops + 1) * sizeof(*e));
	size_t n = 0, u = 0;

	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < p->nops; i++)
		if (p->durable_at[i] != PERSIST_NEVER)
			e[n++] = p->durable_at[i];
	if (n)
		qsort(e, n, sizeof(*e), cmp_u64);
	for (size_t i = 0; i < n; i++)
		if (!u || e[u - 1] != e[i])
			e[u++] = e[i];
	x->epochs[ki] = e;
	x->nepochs[ki] = u;
	return 0;
}

static struct persist *get_ps(struct explorer *x, size_t ki)
{
	if (!x->have_ps[ki]) {
		if (persist_compute(x->m, x->known[ki], &x->ps[ki]))
			return NULL;
		x->have_ps[ki] = true;
		if (make_epochs(x, ki))
			return NULL;
	}
	return &x->ps[ki];
}

static bool is_journal(uint8_t cls)
{
	return cls == PC_NS || cls == PC_SIZE || cls == PC_ATTR;
}

/* ---- the base ------------------------------------------------------- */

static void base_reset(struct explorer *x, size_t ki)
{
	memset(x->choice, MV_FULL, model_nops(x->m) + 1);
	model_reset(x->m);
	x->napplied = 0;
	x->bmodel = ki;
	x->bk = 0;
	x->npend = 0;
	x->jd = 0;
	x->dseq = 0;
}

/* Take the tree back to the base. */
static void to_base(struct explorer *x)
{
	model_rollback(x->m, 0);
	model_commit(x->m);
	x->napplied = 0;
}

static uint64_t *chain_word(const struct model_op *op, uint8_t cls)
{
	if (cls == PC_NS || !op->node)
		return NULL;
	return &model_node_scratch(
	    op->node)[cls == PC_ATTR ? S_BLOCK_ATTR : S_BLOCK_DATA];
}

/* Does op give its file (node, or node2 for an exchange) a name? */
static bool names_node(const struct model_op *op, const struct mnode *n)
{
	switch (op->type) {
	case TR_CREATE:
	case TR_MKNOD:
	case TR_MKDIR:
	case TR_SYMLINK:
	case TR_LINK:
	case TR_RENAME:
		return op->node == n ||
		       (op->type == TR_RENAME &&
			(op->oflags & RENAME_EXCHANGE) && op->node2 == n);
	default: return false;
	}
}

/*
 * Drop the pending ops of files no state at k or later can show: no name
 * in the base, none given by a pending entry op, none given later in the
 * trace (a file replaced by a rename whose data was never synced).  They
 * cannot change any tree a reader sees, and keeping them would make every
 * state cost more as the trace grows.
 */
static void prune(struct explorer *x, uint64_t k)
{
	const struct persist *p = &x->ps[x->bmodel];
	size_t out = 0;

	x->stamp++;
	for (size_t j = 0; j < x->npend; j++) {
		const struct model_op *op = model_op(x->m, x->pend[j]);

		if (p->cls[x->pend[j]] != PC_NS)
			continue;
		if (op->node)
			model_node_scratch(op->node)[S_NAMED] = x->stamp;
		if (op->node2)
			model_node_scratch(op->node2)[S_NAMED] = x->stamp;
	}
	for (size_t j = 0; j < x->npend; j++) {
		size_t i = x->pend[j];
		struct mnode *n = model_op(x->m, i)->node;
		struct model_stat st;
		uintptr_t last;

		if (p->cls[i] != PC_NS && n &&
		    model_node_scratch(n)[S_NAMED] != x->stamp) {
			model_stat(n, &st);
			last = (uintptr_t)map_get(&x->last_named,
						  (uint64_t)(uintptr_t)n, 0);
			if (st.nlink == 0 && last <= k && n != model_root(x->m))
				continue;
		}
		x->pend[out++] = i;
	}
	x->npend = out;
}

/* Move the base forward to point k (k >= x->bk). */
static void base_advance(struct explorer *x, uint64_t k)
{
	struct persist *p = &x->ps[x->bmodel];
	size_t n = model_nops(x->m), out = 0;
	bool ns_blocked = false;

	to_base(x);
	for (uint64_t seq = x->bk + 1; seq <= k && seq <= n; seq++)
		if (p->cls[seq - 1] != PC_NONE)
			x->pend[x->npend++] = seq - 1;
	x->bk = k;
	while (x->jd < p->njournal && p->durable_at[p->journal[x->jd]] <= k)
		x->jd++;
	x->dseq = x->jd ? model_op(x->m, p->journal[x->jd - 1])->seq : 0;
	x->stamp++;
	for (size_t j = 0; j < x->npend; j++) {
		size_t i = x->pend[j];
		const struct model_op *op = model_op(x->m, i);
		uint64_t *w = chain_word(op, p->cls[i]);
		bool blocked = w ? *w == x->stamp : ns_blocked;

		if (!blocked && p->durable_at[i] <= k) {
			model_apply_ns(x->m, op);
			model_apply_node(x->m, op, MV_FULL, x->sector);
			x->choice[i] = MV_FULL;
			continue;
		}
		if (w)
			*w = x->stamp;
		else
			ns_blocked = true;
		x->pend[out++] = i;
	}
	x->npend = out;
	prune(x, k);
	model_commit(x->m);
}

/* Make the base that of known model ki at point k. */
static int base_goto(struct explorer *x, size_t ki, uint64_t k)
{
	if (!get_ps(x, ki))
		return xfail(x, ENOMEM, "out of memory");
	if (x->bmodel != ki || x->bk > k)
		base_reset(x, ki);
	base_advance(x, k);
	return 0;
}

/* ---- choices -------------------------------------------------------- */

/* How a state persists pending data op i: -1 not at all, else a variant. */
static int decide(const struct explorer *x, const struct explore_state *st,
		  size_t i)
{
	const struct persist *p = &x->ps[x->bmodel];
	const struct persist_rules *r = p->rules;
	const struct model_op *op = model_op(x->m, i);
	uint64_t h;

	if (p->durable_at[i] <= st->point)
		return MV_FULL;
	if (p->tie[i] && p->tie[i] <= st->prefix)
		return MV_FULL;
	switch (st->kind) {
	case XK_STRICT:
	case XK_PREFIX_NODATA: return -1;
	case XK_STRICT_DATA:
	case XK_VISIBLE: return MV_FULL;
	case XK_PREFIX: return op->seq <= st->prefix ? MV_FULL : -1;
	case XK_OMIT:
	case XK_HEAD:
	case XK_TAIL:
	case XK_SIZE:
		if (op->seq != st->target)
			return MV_FULL;
		return st->kind == XK_OMIT   ? -1
		       : st->kind == XK_HEAD ? MV_HEAD
		       : st->kind == XK_TAIL ? MV_TAIL
					     : MV_SIZE;
	case XK_CUSTOM: {
		struct explore_loss key = {.seq = op->seq};
		const struct explore_loss *f =
		    !x->ncustom ? NULL
				: bsearch(&key, x->custom, x->ncustom,
					  sizeof(key), cmp_loss);

		if (!f)
			return MV_FULL;
		return f->fate == XF_DROPPED ? -1
		       : f->fate == XF_HEAD  ? MV_HEAD
		       : f->fate == XF_TAIL  ? MV_TAIL
					     : MV_SIZE;
	}
	case XK_RANDOM:
		if (r->data_in_order)
			return op->seq <= st->prefix ? MV_FULL : -1;
		h = mix3(st->rseed, op->seq, 0) % 100;
		if (h < 50)
			return MV_FULL;
		if (h < 75 || op->type != TR_WRITE)
			return -1;
		if (h < 90 && r->torn &&
		    model_can_tear(op->off, op->data_len, x->sector))
			return h < 83 ? MV_HEAD : MV_TAIL;
		if (r->size_without_data && op->extends)
			return MV_SIZE;
		return -1;
	default: return -1;
	}
}

static bool meta_persists(const struct explorer *x,
			  const struct explore_state *st, size_t i)
{
	const struct persist *p = &x->ps[x->bmodel];

	return p->durable_at[i] <= st->point ||
	       model_op(x->m, i)->seq <= st->prefix;
}

/* Build st on the base (which must be at st's model and point). */
/* What st does with pending op i: -1 nothing, else the variant applied. */
static int decision(const struct explorer *x, const struct explore_state *st,
		    size_t i)
{
	if (x->ps[x->bmodel].cls[i] == PC_DATA)
		return decide(x, st, i);
	return meta_persists(x, st, i) ? MV_FULL : -1;
}

/*
 * The decisions of st for the pending ops (x->dec), settled into a state
 * real hardware can leave (core/settle.h): a write after a lost one to
 * the same sector is taken back, and so on.  Returns how many decisions
 * settling changed (x->settle.first says which first).
 */
static size_t settled(struct explorer *x, const struct explore_state *st)
{
	size_t j, n = x->npend, changed;

	for (j = 0; j < n; j++) {
		int d = decision(x, st, x->pend[j]);

		x->choice[x->pend[j]] = d < 0 ? SETTLE_DROP : (uint8_t)d;
	}
	changed = settle_choice(&x->settle, x->m, &x->ps[x->bmodel], st->point,
				x->sector, x->choice, x->pend, n);
	for (j = 0; j < n; j++) {
		uint8_t c = x->choice[x->pend[j]];

		x->dec[j] = c == SETTLE_DROP ? -1 : c;
	}
	return changed;
}

/*
 * Build st on the base (which must be at st's model and point).  The tree
 * holds the previous state; the pending ops up to the first one whose
 * decision differs stay applied, the rest is undone and redone.  States
 * generated in order share long prefixes, so most cost little.
 */
static void build(struct explorer *x, struct explore_state *st)
{
	size_t j, n = x->npend;

	settled(x, st);
	for (j = 0; j < x->napplied && x->dec[j] == x->applied[j]; j++)
		;
	if (j < x->napplied) {
		model_rollback(x->m, x->marks[j]);
		x->napplied = j;
	}
	for (; j < n; j++) {
		const struct model_op *op = model_op(x->m, x->pend[j]);

		/* a new epoch per op: the undo log can stop at any op */
		x->marks[j] = model_mark(x->m);
		x->applied[j] = x->dec[j];
		if (x->dec[j] < 0)
			continue;
		model_apply_ns(x->m, op);
		model_apply_node(x->m, op, (enum model_variant)x->dec[j],
				 x->sector);
	}
	x->napplied = n;
	st->hash = model_hash(x->m, model_root(x->m));
}

/* ---- candidates ----------------------------------------------------- */

static const char *const kind_names[XK_MAX] = {
    [XK_STRICT] = "strict",
    [XK_STRICT_DATA] = "strict+data",
    [XK_VISIBLE] = "visible",
    [XK_PREFIX] = "prefix",
    [XK_PREFIX_NODATA] = "prefix-nodata",
    [XK_OMIT] = "omit",
    [XK_HEAD] = "torn-head",
    [XK_TAIL] = "torn-tail",
    [XK_SIZE] = "size-only",
    [XK_RANDOM] = "random",
    [XK_CUSTOM] = "custom",
};

const char *explore_kind_name(enum explore_kind k)
{
	return k < XK_MAX ? kind_names[k] : "?";
}

static void format_id(struct explore_state *st, uint64_t tag)
{
	char choice[40];
	unsigned long long p = st->prefix, t = st->target;

	switch (st->kind) {
	case XK_STRICT: snprintf(choice, sizeof(choice), "s"); break;
	case XK_STRICT_DATA: snprintf(choice, sizeof(choice), "sd"); break;
	case XK_VISIBLE: snprintf(choice, sizeof(choice), "v"); break;
	case XK_PREFIX: snprintf(choice, sizeof(choice), "m%llu", p); break;
	case XK_PREFIX_NODATA:
		snprintf(choice, sizeof(choice), "m%llun", p);
		break;
	case XK_OMIT: snprintf(choice, sizeof(choice), "o%llu", t); break;
	case XK_HEAD: snprintf(choice, sizeof(choice), "h%llu", t); break;
	case XK_TAIL: snprintf(choice, sizeof(choice), "t%llu", t); break;
	case XK_SIZE: snprintf(choice, sizeof(choice), "z%llu", t); break;
	default:
		snprintf(choice, sizeof(choice), "r%016llx",
			 (unsigned long long)st->rseed);
		break;
	}
	snprintf(st->id, sizeof(st->id), "k%llu.%s.%s@%08x",
		 (unsigned long long)st->point, st->model->name, choice,
		 (unsigned)(tag >> 32));
}

struct gen {
	struct explorer *x;
	struct cands *c;
	bool filter; /* apply kinds and shard */
	uint64_t k;
	const struct persist_rules *r;
	bool dominance; /* x->prev is of this model, epoch and context */
	bool new_data;	/* pending writes made after x->prev_k */
};

/*
 * Does st repeat a state of the previous visited point (x->prev, same
 * model, nothing made durable between, same check context)?  Then it is
 * the same tree: the ops made since are pending and st persists none of
 * them, and settling keeps what it decides for earlier ops.
 *
 *	s	always (only the durable ops, the same)
 *	m<P>n	m<P>n there
 *	m<P>	m<P> there, or P is that point and v there (every op up to
 *		it)
 *	sd	sd there, when no write was made since
 */
static bool repeats(const struct gen *g, const struct explore_state *st)
{
	const struct explorer *x = g->x;

	for (size_t i = 0; i < x->prev.n; i++) {
		const struct explore_state *q = &x->prev.v[i];

		switch (st->kind) {
		case XK_STRICT:
			if (q->kind == XK_STRICT)
				return true;
			break;
		case XK_PREFIX_NODATA:
			if (q->kind == XK_PREFIX_NODATA &&
			    q->prefix == st->prefix)
				return true;
			break;
		case XK_PREFIX:
			if ((q->kind == XK_PREFIX && q->prefix == st->prefix) ||
			    (q->kind == XK_VISIBLE && st->prefix == x->prev_k))
				return true;
			break;
		case XK_STRICT_DATA:
			if (q->kind == XK_STRICT_DATA && !g->new_data)
				return true;
			break;
		default: return false;
		}
	}
	return false;
}

static void add(struct gen *g, enum explore_kind kind, uint64_t prefix,
		uint64_t target, uint64_t rseed)
{
	struct explorer *x = g->x;
	struct explore_state st = {.point = g->k,
				   .model = g->r,
				   .kind = kind,
				   .prefix = prefix,
				   .target = target,
				   .rseed = rseed};

	format_id(&st, model_trace_hash(x->m));
	if (g->filter) {
		if (x->o.kinds && !(x->o.kinds & (1u << kind)))
			return;
		if (x->o.shard_n > 1 &&
		    XXH3_64bits(st.id, strlen(st.id)) % x->o.shard_n !=
			x->o.shard_k)
			return;
		if (g->dominance && repeats(g, &st)) {
			x->counts.dominated++;
			return;
		}
	}
	if (g->c->n == g->c->cap) {
		size_t cap = g->c->cap ? 2 * g->c->cap : 64;
		struct explore_state *p = realloc(g->c->v, cap * sizeof(*p));

		if (!p)
			return; /* fewer states, never a wrong one */
		g->c->v = p;
		g->c->cap = cap;
	}
	g->c->v[g->c->n++] = st;
}

/* Pick `cap` of n evenly, always the last: calls back with indices. */
static size_t pick(size_t n, size_t cap, size_t j)
{
	if (n <= cap)
		return j;
	return (j + 1) * n / cap - 1;
}

/* The check context of a state at point index pi: how many ctx seqs are
 * at or before the last op it stands for (the op before the next point). */
static size_t context_of(const struct explorer *x, size_t pi)
{
	uint64_t upto =
	    pi + 1 < x->npoints ? x->points[pi + 1] - 1 : model_nops(x->m);

	return util_count_upto(x->ctx, x->o.nctx, upto);
}

/* Index of point k in x->points (k must be one). */
static size_t point_index(const struct explorer *x, uint64_t k)
{
	return util_count_upto(x->points, x->npoints, k) - 1;
}

/* May the base's point skip repeats of x->prev? */
static bool dominance_applies(const struct explorer *x)
{
	size_t ki = x->bmodel;

	if (!x->o.skip_dominated || x->prev_model != ki || x->prev_k >= x->bk)
		return false;
	/* nothing became durable in (prev_k, bk] */
	if (util_count_upto(x->epochs[ki], x->nepochs[ki], x->prev_k) !=
	    util_count_upto(x->epochs[ki], x->nepochs[ki], x->bk))
		return false;
	return context_of(x, point_index(x, x->prev_k)) ==
	       context_of(x, point_index(x, x->bk));
}

/* The states of the base's model at the base's point. */
static void generate(struct explorer *x, bool filter, struct cands *c)
{
	const struct persist *p = &x->ps[x->bmodel];
	const struct persist_rules *r = p->rules;
	struct gen g = {.x = x, .c = c, .filter = filter, .k = x->bk, .r = r};
	size_t *pos = NULL, npos = 0, *wr = NULL, nwr = 0;
	size_t capp =
	    filter ? (x->o.max_prefixes ? x->o.max_prefixes : 16) : SIZE_MAX;
	size_t capw =
	    filter ? (x->o.max_writes ? x->o.max_writes : 16) : SIZE_MAX;

	c->n = 0;
	pos = malloc((x->npend + 1) * sizeof(*pos));
	wr = malloc((x->npend + 1) * sizeof(*wr));
	if (!pos || !wr)
		goto out_free;
	g.dominance = filter && dominance_applies(x);
	for (size_t j = 0; g.dominance && j < x->npend; j++)
		if (p->cls[x->pend[j]] == PC_DATA &&
		    model_op(x->m, x->pend[j])->seq > x->prev_k)
			g.new_data = true;
	for (size_t j = 0; j < x->npend; j++) {
		size_t i = x->pend[j];

		if (p->durable_at[i] <= x->bk)
			continue;
		if (is_journal(p->cls[i]) ||
		    (r->data_in_order && p->cls[i] == PC_DATA))
			pos[npos++] = i;
		if (p->cls[i] == PC_DATA && !(p->tie[i] && p->tie[i] <= x->bk))
			wr[nwr++] = i;
	}
	/*
	 * The order makes neighbours share long prefixes of decisions, which
	 * build() keeps applied: metadata prefixes without data, then with
	 * it, ascending, up to the visible state; then single writes varied
	 * from the most recent back.
	 */
	add(&g, XK_STRICT, x->dseq, 0, 0);
	if (!r->pending_meta && !r->pending_data)
		goto out_free;
	if (r->pending_meta && !r->data_in_order && r->pending_data && nwr)
		for (size_t j = 0; j < (npos < capp ? npos : capp); j++)
			add(&g, XK_PREFIX_NODATA,
			    model_op(x->m, pos[pick(npos, capp, j)])->seq, 0,
			    0);
	if (r->pending_data && !r->data_in_order && nwr)
		add(&g, XK_STRICT_DATA, x->dseq, 0, 0);
	if (r->pending_meta)
		for (size_t j = 0; j < (npos < capp ? npos : capp); j++)
			add(&g, XK_PREFIX,
			    model_op(x->m, pos[pick(npos, capp, j)])->seq, 0,
			    0);
	/* always, so that asking for visible states gets every point */
	add(&g, XK_VISIBLE, x->bk, 0, 0);
	if (r->pending_data && !r->data_in_order) {
		size_t n = nwr < capw ? nwr : capw;

		for (size_t j = n; j-- > 0;) {
			const struct model_op *op =
			    model_op(x->m, wr[nwr - n + j]);

			add(&g, XK_OMIT, x->bk, op->seq, 0);
			if (op->type != TR_WRITE)
				continue;
			if (r->torn &&
			    model_can_tear(op->off, op->data_len, x->sector)) {
				add(&g, XK_HEAD, x->bk, op->seq, 0);
				add(&g, XK_TAIL, x->bk, op->seq, 0);
			}
			if (r->size_without_data && op->extends)
				add(&g, XK_SIZE, x->bk, op->seq, 0);
		}
	}
	for (unsigned j = 0; filter && (npos || nwr) && j < x->o.random; j++) {
		uint64_t seed =
		    mix3(x->o.seed, x->bk, mix3(x->bmodel, j, 0x72616e64));
		uint64_t prefix = x->dseq;

		if (r->pending_meta && npos) {
			size_t c = seed % (npos + 1);

			prefix = c ? model_op(x->m, pos[c - 1])->seq : x->dseq;
		}
		add(&g, XK_RANDOM, prefix, 0, seed);
	}
out_free:
	free(pos);
	free(wr);
}

/* ---- public --------------------------------------------------------- */

/*
 * Which points opts.points visits: every one, or 0, the last, the point
 * each mark falls after (a crash just after the mark leaves that point's
 * states) and, for XP_SYNC, every point that is a sync.
 */
static void mark_visits(struct explorer *x)
{
	size_t n = model_nops(x->m);

	for (size_t j = 0; j < x->npoints; j++) {
		const struct model_op *op =
		    x->points[j] ? model_op(x->m, x->points[j] - 1) : NULL;

		x->visit[j] =
		    x->o.points == XP_ALL || j == 0 || j + 1 == x->npoints ||
		    (x->o.points == XP_SYNC && op && !model_op_mutates(op));
	}
	for (size_t i = 0; x->o.points != XP_ALL && i < n; i++) {
		const struct model_op *op = model_op(x->m, i);

		if (op->type == TR_MARK)
			x->visit[util_count_upto(x->points, x->npoints,
						 op->seq) -
				 1] = true;
	}
}

struct explorer *explore_new(struct model *m, const struct explore_opts *o,
			     char *err, size_t errlen)
{
	struct explorer *x = calloc(1, sizeof(*x));
	size_t n = model_nops(m), ki;
	int ret = -ENOMEM;

	if (!x)
		goto out;
	x->m = m;
	if (o)
		x->o = *o;
	x->bmodel = NONE;
	for (size_t i = 0; persist_models[i] && i < NMODELS_MAX; i++)
		x->known[i] = persist_models[i];
	for (size_t i = 0; x->o.models && x->o.models[i]; i++) {
		if (x->nmodels == NMODELS_MAX ||
		    known_index(x, x->o.models[i]) == NONE) {
			ret = xfail(x, EINVAL, "unknown persistence model");
			goto out;
		}
		x->models[x->nmodels++] = x->o.models[i];
	}
	if (!x->nmodels)
		x->models[x->nmodels++] = persist_models[0];
	x->sector = x->o.sector ? x->o.sector
		    : model_header(m)->sector_size
			? model_header(m)->sector_size
			: 512;
	x->points = malloc((n + 1) * sizeof(*x->points));
	x->pend = malloc((n + 1) * sizeof(*x->pend));
	x->applied = malloc((n + 1) * sizeof(*x->applied));
	x->dec = malloc((n + 1) * sizeof(*x->dec));
	x->marks = malloc((n + 1) * sizeof(*x->marks));
	x->choice = malloc(n + 1);
	if (!x->points || !x->pend || !x->applied || !x->dec || !x->marks ||
	    !x->choice)
		goto out;
	memset(x->choice, MV_FULL, n + 1);
	x->settle.unsound_reorder = x->o.unsound_reorder;
	x->points[x->npoints++] = 0;
	for (size_t i = 0; i < n; i++) {
		const struct model_op *op = model_op(m, i);

		if (model_op_mutates(op) ||
		    ((op->type == TR_FSYNC || op->type == TR_FSYNCDIR ||
		      op->type == TR_SYNC) &&
		     op->result >= 0))
			x->points[x->npoints++] = op->seq;
	}
	for (size_t i = 0; i < n; i++) {
		const struct model_op *op = model_op(m, i);

		if (op->result < 0)
			continue;
		if (op->node && names_node(op, op->node) &&
		    map_put(&x->last_named, (uint64_t)(uintptr_t)op->node, 0,
			    (void *)(uintptr_t)op->seq))
			goto out;
		if (op->node2 && names_node(op, op->node2) &&
		    map_put(&x->last_named, (uint64_t)(uintptr_t)op->node2, 0,
			    (void *)(uintptr_t)op->seq))
			goto out;
	}
	x->prev_model = NONE;
	x->visit = malloc((x->npoints + 1) * sizeof(*x->visit));
	if (!x->visit)
		goto out;
	mark_visits(x);
	if (x->o.nctx) {
		x->ctx = malloc(x->o.nctx * sizeof(*x->ctx));
		if (!x->ctx)
			goto out;
		memcpy(x->ctx, x->o.ctx_seqs, x->o.nctx * sizeof(*x->ctx));
		qsort(x->ctx, x->o.nctx, sizeof(*x->ctx), cmp_u64);
	}
	if (x->o.one_point) {
		size_t j;

		for (j = 0; j < x->npoints && x->points[j] != x->o.point; j++)
			;
		if (j == x->npoints) {
			ret = xfail(x, ENOENT,
				    "op #%llu is not a crash point (points "
				    "follow ops that change the disk or sync "
				    "it; see 'crashfs states --list-points')",
				    (unsigned long long)x->o.point);
			goto out;
		}
	}
	for (size_t i = 0; i < x->nmodels; i++) {
		ki = known_index(x, x->models[i]);
		if (!get_ps(x, ki))
			goto out;
	}
	return x;
out:
	if (x && err && errlen)
		snprintf(err, errlen, "%s",
			 x->err[0] ? x->err : strerror(-ret));
	explore_free(&x);
	errno = -ret;
	return NULL;
}

void explore_free(struct explorer **xp)
{
	struct explorer *x = *xp;

	if (!x)
		return;
	*xp = NULL;
	for (size_t i = 0; i < NMODELS_MAX; i++)
		if (x->have_ps[i])
			persist_release(&x->ps[i]);
	free(x->points);
	free(x->visit);
	free(x->ctx);
	free(x->prev.v);
	for (size_t i = 0; i < NMODELS_MAX; i++)
		free(x->epochs[i]);
	free(x->pend);
	free(x->applied);
	free(x->dec);
	free(x->marks);
	free(x->choice);
	settle_release(&x->settle);
	free(x->iter.v);
	free(x->other.v);
	free(x->custom);
	map_release(&x->seen);
	map_release(&x->last_named);
	free(x);
}

static void account(struct explorer *x, struct explore_state *st)
{
	x->counts.generated++;
	if (x->o.no_dedup)
		return; /* the caller dedups: no memory per state here */
	st->duplicate = map_get(&x->seen, st->hash, 0) != NULL;
	if (!st->duplicate) {
		x->counts.distinct++;
		map_put(&x->seen, st->hash, 0, (void *)1);
	}
}

int explore_next(struct explorer *x, struct explore_state *st)
{
	for (;;) {
		if (x->ci < x->iter.n) {
			struct explore_state *c = &x->iter.v[x->ci++];
			size_t ki = known_index(x, c->model);

			if (x->bmodel != ki || x->bk != c->point) {
				int err = base_goto(x, ki, c->point);

				if (err)
					return err;
			}
			build(x, c);
			account(x, c);
			*st = *c;
			return 1;
		}
		if (!x->started) {
			x->started = true;
			x->mi = 0;
			x->pi = 0;
		} else if (x->o.one_point || ++x->pi == x->npoints) {
			x->pi = 0;
			if (++x->mi == x->nmodels)
				return 0;
		}
		if (x->o.one_point)
			while (x->points[x->pi] != x->o.point)
				x->pi++;
		else if (!x->visit[x->pi])
			continue;
		if (x->mi == 0)
			x->counts.points++;
		/* the states just made become the previous point's */
		if (x->started && x->iter.n) {
			struct cands t = x->prev;

			x->prev = x->iter;
			x->iter = t;
			x->prev_model = known_index(x, x->prev.v[0].model);
			x->prev_k = x->prev.v[0].point;
		}
		x->iter.n = 0;
		if (x->pi == 0)
			x->prev_model = NONE;
		if (base_goto(x, known_index(x, x->models[x->mi]),
			      x->points[x->pi]))
			return -ENOMEM;
		x->ci = 0;
		generate(x, true, &x->iter);
	}
}

static int parse_id(struct explorer *x, const char *id, uint64_t *k, size_t *ki,
		    struct explore_state *want)
{
	char model[32], *end;
	const char *dot1, *dot2, *c;
	unsigned long long v;

	memset(want, 0, sizeof(*want));
	if (id[0] != 'k' || !(dot1 = strchr(id, '.')) ||
	    !(dot2 = strchr(dot1 + 1, '.')) ||
	    (size_t)(dot2 - dot1 - 1) >= sizeof(model))
		goto out_bad;
	errno = 0;
	v = strtoull(id + 1, &end, 10);
	if (errno || end != dot1 || end == id + 1)
		goto out_bad;
	*k = v;
	memcpy(model, dot1 + 1, (size_t)(dot2 - dot1 - 1));
	model[dot2 - dot1 - 1] = '\0';
	want->model = persist_find(model);
	if (!want->model)
		return xfail(x, ENOENT, "state '%s': unknown model '%s'", id,
			     model);
	*ki = known_index(x, want->model);
	c = dot2 + 1;
	if (*c == 'x') {
		want->kind = XK_CUSTOM;
		return 0;
	}
	if (*c == 'r') {
		want->kind = XK_RANDOM;
		v = strtoull(c + 1, &end, 16);
		if (end == c + 1 || *end != '@')
			goto out_bad;
		want->rseed = v;
		return 0;
	}
	return 0;
out_bad:
	return xfail(x, EINVAL,
		     "'%s' is not a state id (expected k<point>.<model>."
		     "<choice>, e.g. k12.posix.v)",
		     id);
}

/* The random state generate() draws for rseed at the base's point. */
static void random_state(struct explorer *x, struct explore_state *want)
{
	const struct persist *p = &x->ps[x->bmodel];
	uint64_t prefix = x->dseq, k = x->bk;
	size_t npos = 0, seen = 0, c;

	for (size_t q = 0; q < x->npend; q++) {
		size_t i = x->pend[q];

		if (p->durable_at[i] > k &&
		    (is_journal(p->cls[i]) ||
		     (p->rules->data_in_order && p->cls[i] == PC_DATA)))
			npos++;
	}
	c = p->rules->pending_meta && npos ? want->rseed % (npos + 1) : 0;
	for (size_t q = 0; c && q < x->npend; q++) {
		size_t i = x->pend[q];

		if (p->durable_at[i] > k &&
		    (is_journal(p->cls[i]) ||
		     (p->rules->data_in_order && p->cls[i] == PC_DATA)) &&
		    ++seen == c)
			prefix = model_op(x->m, i)->seq;
	}
	want->point = k;
	want->prefix = prefix;
	format_id(want, model_trace_hash(x->m));
}

static int cmp_loss(const void *a, const void *b)
{
	const struct explore_loss *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Is op i pending (not durable, not pruned) at the base's point? */
static bool is_pending(const struct explorer *x, size_t i)
{
	const struct persist *p = &x->ps[x->bmodel];
	size_t lo = 0, hi = x->npend;

	if (p->durable_at[i] <= x->bk)
		return false;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (x->pend[mid] < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < x->npend && x->pend[lo] == i;
}

/* The last pending change before op i to the same file that shares a
 * sector with it and did not persist whole in the settled state. */
static uint64_t blocker_of(struct explorer *x, size_t i)
{
	const struct persist *p = &x->ps[x->bmodel];
	const struct model_op *op = model_op(x->m, i), *o;
	uint32_t u = settle_unit(p->rules, x->sector);
	uint64_t a = op->off / u, b, oa, ob;

	settle_range(op, MV_FULL, x->sector, &oa, &ob);
	b = ob > oa ? (ob - 1) / u + 1 : a + 1;
	for (size_t j = x->npend; j-- > 0;) {
		size_t q = x->pend[j];

		if (q >= i || x->choice[q] == MV_FULL)
			continue;
		o = model_op(x->m, q);
		if (o->node != op->node)
			continue;
		if (p->cls[q] == PC_SIZE)
			return o->seq; /* a truncate left out */
		settle_range(o, MV_FULL, x->sector, &oa, &ob);
		if (oa / u < b && (ob + u - 1) / u > a)
			return o->seq;
	}
	return 0;
}

/* Why a custom choice is not a state hardware can leave. */
static int refuse_unsettled(struct explorer *x, const struct explore_state *st)
{
	const struct settle_change *c = &x->settle.first;
	unsigned long long w = (unsigned long long)model_op(x->m, c->op)->seq;
	unsigned long long b = (unsigned long long)blocker_of(x, c->op);

	(void)st;
	switch (c->reason) {
	case SR_HOLE:
		return xfail(x, ENOENT,
			     "write #%llu cannot persist beyond an extension "
			     "of its file that was lost (model '%s' never "
			     "persists a size without its data)",
			     w, x->ps[x->bmodel].rules->name);
	case SR_TEAR:
		return xfail(x, ENOENT,
			     "write #%llu cannot persist as chosen under "
			     "model '%s' (an extension keeps its head only)",
			     w, x->ps[x->bmodel].rules->name);
	case SR_NEEDED:
		return xfail(x, ENOENT,
			     "op #%llu must persist: a later change to its "
			     "sectors persists in any case",
			     w);
	default:
		return xfail(x, ENOENT,
			     "write #%llu cannot persist while op #%llu, "
			     "an earlier change to the same sector, does not "
			     "(a sector keeps a program-order prefix of its "
			     "changes)",
			     w, b);
	}
}

/*
 * Check a custom choice at the base (metadata up to prefix, the given
 * data fates, every other pending write whole) against the model, and
 * name it.  Sorts fates.
 */
static int custom_check(struct explorer *x, uint64_t prefix,
			struct explore_loss *f, size_t n,
			struct explore_state *st)
{
	const struct persist *p = &x->ps[x->bmodel];
	const struct persist_rules *r = p->rules;
	size_t used, at;
	int w;

	if (prefix < x->dseq || prefix > x->bk)
		return xfail(x, ENOENT,
			     "metadata prefix #%llu is outside "
			     "[#%llu, #%llu] at this point",
			     (unsigned long long)prefix,
			     (unsigned long long)x->dseq,
			     (unsigned long long)x->bk);
	/* canonical: the last op that can end a prefix, at or before it */
	{
		uint64_t canon = x->dseq;

		for (size_t q = 0; q < x->npend && x->pend[q] < prefix; q++) {
			size_t i = x->pend[q];

			if (p->durable_at[i] > x->bk &&
			    (is_journal(p->cls[i]) ||
			     (r->data_in_order && p->cls[i] == PC_DATA)))
				canon = i + 1 > canon ? i + 1 : canon;
		}
		prefix = canon;
	}
	if (prefix > x->dseq && !r->pending_meta)
		return xfail(x, ENOENT,
			     "model '%s' persists no pending "
			     "metadata",
			     r->name);
	if (n)
		qsort(f, n, sizeof(*f), cmp_loss);
	for (size_t j = 0; j < n; j++) {
		const struct model_op *op;
		size_t i = f[j].seq - 1;

		if (!f[j].seq || f[j].seq > x->bk || !is_pending(x, i) ||
		    p->cls[i] != PC_DATA || (j && f[j].seq == f[j - 1].seq))
			return xfail(x, ENOENT,
				     "op #%llu is not a pending "
				     "write at point %llu",
				     (unsigned long long)f[j].seq,
				     (unsigned long long)x->bk);
		op = model_op(x->m, i);
		if ((f[j].fate == XF_HEAD || f[j].fate == XF_TAIL) &&
		    (!r->torn || op->type != TR_WRITE ||
		     !model_can_tear(op->off, op->data_len, x->sector)))
			return xfail(x, ENOENT,
				     "write #%llu cannot tear "
				     "under model '%s'",
				     (unsigned long long)f[j].seq, r->name);
		if (f[j].fate == XF_SIZE &&
		    (!r->size_without_data || !op->extends))
			return xfail(x, ENOENT,
				     "write #%llu cannot persist "
				     "as size only under model '%s'",
				     (unsigned long long)f[j].seq, r->name);
		if (p->tie[i] && p->tie[i] <= prefix)
			return xfail(x, ENOENT,
				     "write #%llu persists with "
				     "rename #%llu under model '%s'",
				     (unsigned long long)f[j].seq,
				     (unsigned long long)p->tie[i], r->name);
	}
	/* what stays pending must be allowed to persist */
	for (size_t q = 0, j = 0; q < x->npend; q++) {
		size_t i = x->pend[q];
		uint64_t seq = i + 1;
		bool lost;

		if (p->cls[i] != PC_DATA || p->durable_at[i] <= x->bk)
			continue;
		while (j < n && f[j].seq < seq)
			j++;
		lost = j < n && f[j].seq == seq && f[j].fate == XF_DROPPED;
		if (p->tie[i] && p->tie[i] <= prefix)
			continue;
		if (!lost && !r->pending_data)
			return xfail(x, ENOENT,
				     "model '%s' persists no pending "
				     "write (#%llu)",
				     r->name, (unsigned long long)seq);
		if (r->data_in_order && !lost && seq > prefix)
			return xfail(x, ENOENT,
				     "model '%s' persists writes "
				     "only with the ops before them (#%llu)",
				     r->name, (unsigned long long)seq);
	}
	memset(st, 0, sizeof(*st));
	st->point = x->bk;
	st->model = r;
	st->kind = XK_CUSTOM;
	st->prefix = prefix;
	used = (size_t)snprintf(st->id, sizeof(st->id), "k%llu.%s.x%llu",
				(unsigned long long)x->bk, r->name,
				(unsigned long long)prefix);
	for (size_t j = 0; j < n; j++) {
		static const char letter[] = {[XF_DROPPED] = 'o',
					      [XF_HEAD] = 'h',
					      [XF_TAIL] = 't',
					      [XF_SIZE] = 'z'};

		at = used;
		w = snprintf(st->id + at, sizeof(st->id) - at, "-%c%llu",
			     letter[f[j].fate], (unsigned long long)f[j].seq);
		used = at + (size_t)(w > 0 ? w : 0);
		if (used >= sizeof(st->id) - 12)
			return xfail(x, E2BIG,
				     "too many writes for one "
				     "state id (%zu)",
				     n);
	}
	snprintf(st->id + used, sizeof(st->id) - used, "@%08x",
		 (unsigned)(model_trace_hash(x->m) >> 32));
	if (x->custom_cap < n) {
		struct explore_loss *c = realloc(x->custom, n * sizeof(*c));

		if (!c)
			return xfail(x, ENOMEM, "out of memory");
		x->custom = c;
		x->custom_cap = n;
	}
	if (n)
		memcpy(x->custom, f, n * sizeof(*f));
	x->ncustom = n;
	if (settled(x, st))
		return refuse_unsettled(x, st);
	return 0;
}

/* Parse the choice of a custom id ("x9-o12-h15") into prefix and fates. */
static int parse_custom(struct explorer *x, const char *c, uint64_t *prefix,
			struct explore_loss **f, size_t *n)
{
	char *end;
	size_t cap = 0;

	*f = NULL;
	*n = 0;
	errno = 0;
	*prefix = strtoull(c + 1, &end, 10);
	if (errno || end == c + 1)
		goto out_bad;
	while (*end == '-') {
		const char *kinds = "ohtz", *k = strchr(kinds, end[1]);
		struct explore_loss l;
		char *num = end + 2;

		if (!k || !end[1])
			goto out_bad;
		l.fate = (enum explore_fate)(k - kinds);
		l.seq = strtoull(num, &end, 10);
		if (end == num)
			goto out_bad;
		if (*n == cap) {
			struct explore_loss *p;

			cap = cap ? 2 * cap : 8;
			p = realloc(*f, cap * sizeof(*p));
			if (!p) {
				free(*f);
				return xfail(x, ENOMEM, "out of memory");
			}
			*f = p;
		}
		(*f)[(*n)++] = l;
	}
	if (*end == '@' || !*end)
		return 0;
out_bad:
	free(*f);
	*f = NULL;
	return xfail(x, EINVAL, "'%s' is not a custom state choice", c);
}

int explore_custom(struct explorer *x, uint64_t point,
		   const struct persist_rules *model,
		   const struct explore_loss *losses, size_t n,
		   struct explore_state *st)
{
	struct explore_loss *f = NULL;
	size_t ki = known_index(x, model), nf = 0, j;
	uint64_t prefix = point;
	int err;

	if (ki == NONE)
		return xfail(x, EINVAL, "unknown persistence model");
	for (j = 0; j < x->npoints && x->points[j] != point; j++)
		;
	if (j == x->npoints)
		return xfail(x, ENOENT, "op #%llu is not a crash point",
			     (unsigned long long)point);
	err = base_goto(x, ki, point);
	if (err)
		return err;
	f = malloc((n + 1) * sizeof(*f));
	if (!f)
		return xfail(x, ENOMEM, "out of memory");
	for (j = 0; j < n; j++) {
		size_t i = losses[j].seq - 1;

		if (!losses[j].seq || losses[j].seq > point) {
			free(f);
			return xfail(x, ENOENT, "op #%llu is after point %llu",
				     (unsigned long long)losses[j].seq,
				     (unsigned long long)point);
		}
		if (!is_pending(x, i)) {
			free(f);
			return xfail(x, ENOENT,
				     "op #%llu is not pending at "
				     "point %llu (durable, or no change)",
				     (unsigned long long)losses[j].seq,
				     (unsigned long long)point);
		}
		if (x->ps[ki].cls[i] == PC_DATA)
			f[nf++] = losses[j];
		else if (losses[j].seq - 1 < prefix)
			prefix = losses[j].seq - 1; /* and all after */
	}
	if (prefix < x->dseq) {
		free(f);
		return xfail(x, ENOENT, "op #%llu is durable at point %llu",
			     (unsigned long long)prefix + 1,
			     (unsigned long long)point);
	}
	err = custom_check(x, prefix, f, nf, st);
	free(f);
	if (err)
		return err;
	build(x, st);
	account(x, st);
	return 0;
}

int explore_goto(struct explorer *x, const char *full, struct explore_state *st)
{
	struct explore_state want;
	struct explore_loss *f = NULL;
	uint64_t k = 0, prefix;
	size_t ki = NONE, j, nf;
	char id[sizeof(want.id)], tag[16];
	const char *at = strchr(full, '@');
	int err;

	snprintf(tag, sizeof(tag), "%08x",
		 (unsigned)(model_trace_hash(x->m) >> 32));
	if (at && strcmp(at + 1, tag))
		return xfail(x, ENOENT,
			     "state '%s' belongs to another trace "
			     "(this trace's states end in @%s)",
			     full, tag);
	if (strlen(full) >= sizeof(id) - sizeof(tag))
		return xfail(x, EINVAL, "'%s' is not a state id", full);
	snprintf(id, sizeof(id), "%.*s@%s",
		 (int)(at ? (size_t)(at - full) : strlen(full)), full, tag);
	err = parse_id(x, id, &k, &ki, &want);
	if (err)
		return err;
	for (j = 0; j < x->npoints && x->points[j] != k; j++)
		;
	if (j == x->npoints)
		return xfail(x, ENOENT,
			     "state '%s': op #%llu is not a crash point of "
			     "this trace",
			     id, (unsigned long long)k);
	err = base_goto(x, ki, k);
	if (err)
		return err;
	if (want.kind == XK_CUSTOM) {
		err = parse_custom(x, strrchr(id, '.') + 1, &prefix, &f, &nf);
		if (!err)
			err = custom_check(x, prefix, f, nf, st);
		free(f);
		if (err)
			return err;
		if (strcmp(st->id, id))
			return xfail(x, EINVAL,
				     "'%s' is not in canonical "
				     "form ('%s')",
				     id, st->id);
		build(x, st);
		account(x, st);
		return 0;
	}
	generate(x, false, &x->other);
	for (j = 0; j < x->other.n; j++)
		if (!strcmp(x->other.v[j].id, id))
			break;
	if (j == x->other.n && want.kind == XK_RANDOM && x->other.n > 1) {
		random_state(x, &want);
		*st = want;
	} else if (j == x->other.n) {
		return xfail(x, ENOENT,
			     "no state '%s' in this run (at point %llu the "
			     "model '%s' has %zu states; 'crashfs states "
			     "--point %llu --model %s' lists them)",
			     id, (unsigned long long)k, want.model->name,
			     x->other.n, (unsigned long long)k,
			     want.model->name);
	} else {
		*st = x->other.v[j];
	}
	build(x, st);
	account(x, st);
	return 0;
}

int explore_visible(struct explorer *x, uint64_t k)
{
	if (k > model_nops(x->m))
		return xfail(x, ENOENT,
			     "op #%llu is past the end of the "
			     "trace (%zu ops)",
			     (unsigned long long)k, model_nops(x->m));
	model_goto_visible(x->m, k);
	x->bmodel = NONE; /* explore_next() rebuilds its base */
	x->napplied = 0;
	return 0;
}

size_t explore_losses(struct explorer *x, const struct explore_state *st,
		      struct explore_loss *out, size_t max)
{
	const struct persist *p;
	size_t n = 0;

	if (x->bmodel != known_index(x, st->model) || x->bk != st->point)
		return 0;
	p = &x->ps[x->bmodel];
	settled(x, st);
	for (size_t j = 0; j < x->npend; j++) {
		size_t i = x->pend[j];
		struct explore_loss l = {.seq = model_op(x->m, i)->seq};
		int v;

		if (p->durable_at[i] <= st->point)
			continue;
		if (p->cls[i] == PC_DATA) {
			v = x->dec[j];
			if (v == MV_FULL)
				continue;
			l.fate = v < 0		? XF_DROPPED
				 : v == MV_HEAD ? XF_HEAD
				 : v == MV_TAIL ? XF_TAIL
						: XF_SIZE;
		} else if (x->dec[j] >= 0) {
			continue;
		} else {
			l.fate = XF_DROPPED;
		}
		if (n < max)
			out[n] = l;
		n++;
	}
	return n;
}

size_t explore_durable(struct explorer *x, uint64_t *out, size_t max)
{
	const struct persist *p;
	size_t n = 0;

	if (x->bmodel == NONE)
		return 0;
	p = &x->ps[x->bmodel];
	for (size_t i = 0; i < p->nops && i < x->bk; i++) {
		if (p->cls[i] == PC_NONE || p->durable_at[i] > x->bk)
			continue;
		if (n < max)
			out[n] = i + 1;
		n++;
	}
	return n;
}

const uint64_t *explore_points(const struct explorer *x, size_t *n)
{
	*n = x->npoints;
	return x->points;
}

bool explore_visits(const struct explorer *x, uint64_t k)
{
	size_t j = util_count_upto(x->points, x->npoints, k);

	if (!j || x->points[j - 1] != k)
		return false;
	return x->o.one_point ? k == x->o.point : x->visit[j - 1];
}

void explore_counts(const struct explorer *x, struct explore_counts *c)
{
	*c = x->counts;
}

const char *explore_error(const struct explorer *x)
{
	return x->err;
}

void explore_describe(const struct explore_state *st, char *buf, size_t len)
{
	unsigned long long p = st->prefix, t = st->target;

	switch (st->kind) {
	case XK_STRICT: snprintf(buf, len, "only what was durable"); break;
	case XK_STRICT_DATA:
		snprintf(buf, len, "durable metadata, every pending write");
		break;
	case XK_VISIBLE:
		snprintf(buf, len, "everything (the visible state)");
		break;
	case XK_PREFIX:
		snprintf(buf, len, "ops up to #%llu in program order", p);
		break;
	case XK_PREFIX_NODATA:
		snprintf(buf, len, "metadata up to #%llu, no pending write", p);
		break;
	case XK_OMIT:
		snprintf(buf, len, "everything but write #%llu", t);
		break;
	case XK_HEAD:
		snprintf(buf, len, "everything, write #%llu torn (head only)",
			 t);
		break;
	case XK_TAIL:
		snprintf(buf, len, "everything, write #%llu torn (tail only)",
			 t);
		break;
	case XK_SIZE:
		snprintf(buf, len,
			 "everything, write #%llu zero-filled "
			 "(size without data)",
			 t);
		break;
	case XK_CUSTOM:
		snprintf(buf, len,
			 "chosen: metadata up to #%llu, writes as "
			 "listed",
			 p);
		break;
	default:
		snprintf(buf, len, "random choice, metadata up to #%llu", p);
		break;
	}
}

const char *explore_fate_name(enum explore_fate f)
{
	switch (f) {
	case XF_DROPPED: return "dropped";
	case XF_HEAD: return "torn (head sectors only)";
	case XF_TAIL: return "torn (tail sectors only)";
	case XF_SIZE: return "size only (zero-filled)";
	}
	return "?";
}

/* The name of a directory entry: "dir/name" or "name" in the root. */
static void entry_name(struct model *m, const struct mnode *dir,
		       const char *name, char *buf, size_t len)
{
	char d[1024];

	if (!dir || dir == model_root(m)) {
		snprintf(buf, len, "%s", name ? name : "?");
		return;
	}
	model_path(m, dir, d, sizeof(d));
	snprintf(buf, len, "%s/%s", d, name ? name : "?");
}

void explore_describe_op(struct model *m, uint64_t seq, char *buf, size_t len)
{
	const struct model_op *op = model_op_seq(m, seq);
	const char *t;
	char a[1200], b[1200];

	if (!op) {
		snprintf(buf, len, "op #%llu", (unsigned long long)seq);
		return;
	}
	t = trace_type_name(op->type);
	switch (op->type) {
	case TR_RENAME:
		entry_name(m, op->dir, op->name, a, sizeof(a));
		entry_name(m, op->dir2, op->name2, b, sizeof(b));
		snprintf(buf, len, "rename #%llu %s -> %s",
			 (unsigned long long)seq, a, b);
		return;
	case TR_CREATE:
	case TR_MKNOD:
	case TR_MKDIR:
	case TR_SYMLINK:
	case TR_LINK:
	case TR_UNLINK:
	case TR_RMDIR:
		entry_name(m, op->dir, op->name, a, sizeof(a));
		snprintf(buf, len, "%s #%llu %s", t, (unsigned long long)seq,
			 a);
		return;
	case TR_MARK:
		snprintf(buf, len, "mark #%llu '%s'", (unsigned long long)seq,
			 op->name ? op->name : "");
		return;
	default: break;
	}
	if (op->node)
		model_op_path(m, op, a, sizeof(a));
	else
		snprintf(a, sizeof(a), "?");
	switch (op->type) {
	case TR_WRITE:
		snprintf(buf, len, "write #%llu to %s (%u bytes at %llu)",
			 (unsigned long long)seq, a, op->data_len,
			 (unsigned long long)op->off);
		break;
	case TR_TRUNCATE:
		snprintf(buf, len, "truncate #%llu of %s to %llu bytes",
			 (unsigned long long)seq, a,
			 (unsigned long long)op->len);
		break;
	default:
		snprintf(buf, len, "%s #%llu of %s", t, (unsigned long long)seq,
			 a);
		break;
	}
}
