/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Physical soundness of crash states (core/settle, harness/explore,
 * harness/cause): a property test over random traces that asserts, for
 * every state the explorer produces under every model, what real hardware
 * guarantees, with a checker written apart from the code it checks:
 *
 *  - per sector (per page for a model that never tears), the changes
 *    that persisted are a program-order prefix of the changes made to it
 *    (a shrinking truncate or a punched hole counts as a change from its
 *    offset on);
 *  - pending metadata persists as a program-order prefix;
 *  - durable ops are never lost;
 *  - a rename persists whole or not at all (never torn), and the state is
 *    the replay of exactly what it says persisted;
 *  - model rules: ext4 never persists a size without its data (no size
 *    only write, no hole under a persisted later change, a torn extension
 *    keeps its head) and persists a renamed file's writes with the rename;
 *    prefix persists a program-order prefix; strict only durable ops.
 *
 * The same checker runs on random choices settled by settle_choice() and
 * rebuilt by cause_apply() (the cause search's path).  With the sector
 * rule switched off (explore_opts.unsound_reorder), it must find
 * violations: the test shows it can fail.
 *
 * CRASHFS_PROPERTY_SEEDS=N runs N random traces per part (default 25).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/falloc.h>

#include "core/settle.h"
#include "harness/cause.h"
#include "tests/unit/tb.h"

#define SECTOR 16 /* small sectors: short writes share and cross them */
#define PAGE 4096
#define INF UINT64_MAX

/* ---- random traces ---------------------------------------------------- */

struct gen {
	struct tb *t;
	unsigned int seed;
	uint64_t ids[4];   /* the files, by slot; 0: none */
	uint64_t size[4];  /* their visible sizes */
	char names[4][16]; /* their names in the root */
	char payload[512];
};

static unsigned rnd(struct gen *g, unsigned n)
{
	return (unsigned)rand_r(&g->seed) % n;
}

static void gen_op(struct gen *g)
{
	unsigned s = rnd(g, 4), what = rnd(g, 100), len;
	uint64_t id = g->ids[s], off;
	struct tb *t = g->t;

	if (!id) {
		g->ids[s] = tb_create(t, 1, g->names[s]);
		g->size[s] = 0;
		return;
	}
	if (what < 45) {
		/* writes that share and cross small sectors, appends */
		len = 1 + rnd(g, 40);
		off = rnd(g, 3) ? g->size[s] : rnd(g, 80);
		if (off > 200)
			off = rnd(g, 80);
		tb_write_flags(t, id, off, g->payload + rnd(g, 256), len,
			       rnd(g, 15) ? 0 : TRF_SYNC);
		if (off + len > g->size[s])
			g->size[s] = off + len;
	} else if (what < 53) {
		uint64_t l = rnd(g, 70);

		tb_truncate(t, id, l);
		g->size[s] = l;
	} else if (what < 57) {
		struct trace_rec r = {.type = TR_FALLOCATE,
				      .id = id,
				      .oflags = FALLOC_FL_PUNCH_HOLE |
						FALLOC_FL_KEEP_SIZE,
				      .off = rnd(g, 60),
				      .len = 1 + rnd(g, 30)};

		tb_rec(t, &r);
	} else if (what < 66) {
		if (rnd(g, 2))
			tb_fsync(t, id);
		else
			tb_fdatasync(t, id);
	} else if (what < 70) {
		struct trace_rec r = {
		    .type = TR_FSYNC, .id = id, .result = -EIO};

		tb_rec(t, &r);
	} else if (what < 78) {
		tb_fsyncdir(t, 1);
	} else if (what < 86) {
		/* rename over another file (ext4 carries the data) */
		unsigned d = rnd(g, 4);

		if (d == s)
			return;
		tb_rename(t, 1, g->names[s], 1, g->names[d], id, g->ids[d]);
		g->ids[d] = id;
		g->size[d] = g->size[s];
		g->ids[s] = 0;
	} else if (what < 90) {
		tb_unlink(t, 1, g->names[s], id);
		g->ids[s] = 0;
	} else if (what < 95) {
		tb_chmod(t, id, 0600 | rnd(g, 2) * 044);
	} else {
		tb_write(t, id, g->size[s], "\n");
		g->size[s]++;
	}
}

static void random_trace(struct tb *t, unsigned int seed, int nops)
{
	struct gen g = {.t = t, .seed = seed};

	for (size_t i = 0; i < sizeof(g.payload); i++)
		g.payload[i] = (char)('A' + i % 26);
	for (int i = 0; i < 4; i++)
		snprintf(g.names[i], sizeof(g.names[i]), "f%d", i);
	tb_bind_root(t);
	for (int i = 0; i < nops; i++)
		gen_op(&g);
}

static unsigned seeds(void)
{
	const char *e = getenv("CRASHFS_PROPERTY_SEEDS");

	return e && atoi(e) > 0 ? (unsigned)atoi(e) : 25;
}

/* ---- the checker ------------------------------------------------------ */

struct prop {
	const struct persist *p;    /* the model's facts */
	struct model *m;	    /* ops (and the state's tree) */
	const uint8_t *fate;	    /* per op: a variant or SETTLE_DROP */
	uint64_t k;		    /* crash point */
	const struct mnode **reach; /* files a reader sees (NULL: all) */
	size_t nreach;
	unsigned violations;
	char first[512]; /* the first violation */
};

static void violation(struct prop *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void violation(struct prop *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->violations++) {
		va_start(ap, fmt);
		vsnprintf(c->first, sizeof(c->first), fmt, ap);
		va_end(ap);
	}
}

static bool reachable(const struct prop *c, const struct mnode *n)
{
	if (!c->reach)
		return true;
	for (size_t i = 0; i < c->nreach; i++)
		if (c->reach[i] == n)
			return true;
	return false;
}

static void collect(struct prop *c, const struct mnode *dir, size_t cap)
{
	void *cookie = NULL;
	const char *name;
	struct mnode *n;

	while ((n = model_readdir(dir, &cookie, &name))) {
		if (c->nreach < cap)
			c->reach[c->nreach++] = n;
		if (model_is_dir(n))
			collect(c, n, cap);
	}
}

static bool pending(const struct prop *c, size_t i)
{
	return c->p->cls[i] != PC_NONE && c->p->durable_at[i] > c->k;
}

/*
 * A change a failed fsync of its file lost for good (docs/crash-model.md
 * rule 7): pending, with a failed fsync of the file after it.  It may
 * have reached the disk before the failure, and never reaches it with
 * later writes: outside the sector rule.
 */
static bool lost_for_good(const struct prop *c, size_t i)
{
	const struct model_op *op = model_op(c->m, i), *o;

	if (!pending(c, i) || !op->node)
		return false;
	for (size_t j = i + 1; j < c->k && j < model_nops(c->m); j++) {
		o = model_op(c->m, j);
		if (o->type == TR_FSYNC && o->result < 0 && o->node == op->node)
			return true;
	}
	return false;
}

/* Does op i, as persisted, count for a reader (a file it can see)? */
static bool counts(const struct prop *c, size_t i)
{
	const struct model_op *op = model_op(c->m, i);

	return c->p->cls[i] == PC_NS || !op->node || reachable(c, op->node);
}

/* Byte range of op's data a fate writes. */
static void written(const struct model_op *op, uint8_t f, uint64_t *a,
		    uint64_t *b)
{
	uint64_t end = op->off + op->data_len, t;

	*a = *b = op->off;
	if (f == SETTLE_DROP || f == MV_SIZE)
		return;
	*b = end;
	t = model_tear_point(op->off, op->data_len, SECTOR);
	if (f == MV_HEAD && t != op->off)
		*b = t;
	if (f == MV_TAIL && t != op->off)
		*a = t;
}

/*
 * The change op i made to unit u, and whether it persisted there: 0 no
 * change, 1 persisted, -1 lost.  A truncate or a punched hole is
 * metadata: persisted, it needs nothing of the sector (0); left out, the
 * later writes to what it cut cannot persist (-1).
 */
static int unit_fate(const struct prop *c, size_t i, uint64_t u, uint32_t us)
{
	const struct model_op *op = model_op(c->m, i);
	uint8_t f = c->fate[i];
	uint64_t a, b;

	if (op->type == TR_TRUNCATE) {
		if (op->len >= op->size_before || u < op->len / us)
			return 0;
		return f == SETTLE_DROP ? -1 : 0;
	}
	if (op->type == TR_FALLOCATE) {
		if (!(op->oflags & FALLOC_FL_PUNCH_HOLE) || u < op->off / us ||
		    u > (op->off + op->len - 1) / us)
			return 0;
		return f == SETTLE_DROP ? -1 : 0;
	}
	if (op->type != TR_WRITE || !op->data_len || u < op->off / us ||
	    u > (op->off + op->data_len - 1) / us)
		return 0;
	written(op, f, &a, &b);
	return a < b && u >= a / us && u <= (b - 1) / us ? 1 : -1;
}

static void check_sectors(struct prop *c, const struct mnode *n, uint32_t us)
{
	for (uint64_t u = 0; u < 512 / us + 1; u++) {
		uint64_t lost = 0;

		for (size_t i = 0; i < c->k && i < model_nops(c->m); i++) {
			int f;

			if (model_op(c->m, i)->node != n ||
			    (c->p->cls[i] != PC_DATA &&
			     c->p->cls[i] != PC_SIZE) ||
			    lost_for_good(c, i))
				continue;
			f = unit_fate(c, i, u, us);
			if (f < 0 && !lost)
				lost = i + 1;
			if (f > 0 && lost)
				violation(c,
					  "op #%zu persisted in unit %llu "
					  "after op #%llu to it was lost",
					  i + 1, (unsigned long long)u,
					  (unsigned long long)lost);
		}
	}
}

/* ext4: the size on disk never covers an extension without its data. */
static void check_ordered(struct prop *c, const struct mnode *n)
{
	uint64_t hole = INF, a, b, x, end, t;

	for (size_t i = 0; i < c->k && i < model_nops(c->m); i++) {
		const struct model_op *op = model_op(c->m, i);
		uint8_t f = c->fate[i];

		if (op->node != n || lost_for_good(c, i))
			continue;
		if (op->type == TR_TRUNCATE && f != SETTLE_DROP &&
		    op->len <= hole)
			hole = INF;
		if (op->type != TR_WRITE)
			continue;
		if (f == MV_SIZE)
			violation(c, "write #%zu persisted as size only",
				  i + 1);
		written(op, f, &a, &b);
		if (a < b && b > hole)
			violation(c,
				  "write #%zu persisted up to %llu beyond a "
				  "lost extension at %llu",
				  i + 1, (unsigned long long)b,
				  (unsigned long long)hole);
		end = op->off + op->data_len;
		if (end <= op->size_before)
			continue;
		x = op->off > op->size_before ? op->off : op->size_before;
		t = a < b ? b : x;
		if (a < b && a > x)
			violation(c, "write #%zu kept its tail, not its head",
				  i + 1);
		if (a >= b || b < end)
			if ((t > x ? t : x) < hole)
				hole = t > x ? t : x;
	}
}

static unsigned check_state(struct prop *c)
{
	const struct persist_rules *r = c->p->rules;
	uint32_t us = r->torn ? SECTOR : PAGE;
	size_t lost = 0, lost_any = 0;

	c->violations = 0;
	for (size_t i = 0; i < c->k && i < model_nops(c->m); i++) {
		const struct model_op *op = model_op(c->m, i);
		uint8_t f = c->fate[i];
		bool persisted = f != SETTLE_DROP;

		if (!pending(c, i)) {
			if (c->p->cls[i] != PC_NONE && f != MV_FULL)
				violation(c, "durable op #%zu lost", i + 1);
			continue;
		}
		if (!counts(c, i))
			continue;
		if (c->p->cls[i] != PC_DATA && f != MV_FULL && persisted)
			violation(c, "%s #%zu torn", trace_type_name(op->type),
				  i + 1);
		if (c->p->cls[i] != PC_DATA && c->p->cls[i] != PC_NONE) {
			if (!persisted && !lost)
				lost = i + 1;
			if (persisted && lost)
				violation(c,
					  "metadata op #%zu persisted after "
					  "#%zu was lost",
					  i + 1, lost);
		}
		if (!r->pending_meta && !r->pending_data && f != SETTLE_DROP)
			violation(c, "model '%s' persisted pending op #%zu",
				  r->name, i + 1);
		if (r->data_in_order) {
			if (!persisted && !lost_any)
				lost_any = i + 1;
			if (persisted && lost_any)
				violation(c,
					  "op #%zu persisted after #%zu, out "
					  "of program order",
					  i + 1, lost_any);
		}
		if (c->p->cls[i] == PC_DATA && c->p->tie[i] &&
		    c->p->tie[i] <= c->k &&
		    c->fate[c->p->tie[i] - 1] == MV_FULL && f != MV_FULL)
			violation(c,
				  "write #%zu lost while its rename #%llu "
				  "persisted",
				  i + 1, (unsigned long long)c->p->tie[i]);
	}
	for (size_t i = 0; i < model_nops(c->m); i++) {
		const struct model_op *op = model_op(c->m, i);
		bool first = true;

		if (!op->node || !model_is_reg(op->node) ||
		    !reachable(c, op->node))
			continue;
		for (size_t j = 0; j < i; j++)
			if (model_op(c->m, j)->node == op->node)
				first = false;
		if (!first)
			continue;
		check_sectors(c, op->node, us);
		if (!r->size_without_data && r->pending_data &&
		    !r->data_in_order)
			check_ordered(c, op->node);
	}
	return c->violations;
}

/* Replay of the ops up to k with their fates, from scratch. */
static uint64_t replay(struct model *ref, const uint8_t *fate, uint64_t k)
{
	model_reset(ref);
	for (size_t i = 0; i < k && i < model_nops(ref); i++) {
		const struct model_op *op = model_op(ref, i);

		if (fate[i] == SETTLE_DROP)
			continue;
		model_apply_ns(ref, op);
		model_apply_node(ref, op, fate[i], SECTOR);
	}
	return model_hash(ref, model_root(ref));
}

/*
 * Every state the explorer makes of trace t under model: returns the
 * states with a violation (the first is described in *first).
 */
static unsigned explore_all(struct tb *t, const char *model, bool unsound,
			    char *first, size_t flen)
{
	const struct persist_rules *models[] = {persist_find(model), NULL};
	struct explore_opts o = {.models = models,
				 .sector = SECTOR,
				 .random = 6,
				 .seed = 11,
				 .unsound_reorder = unsound};
	size_t nops = model_nops(t->m);
	uint8_t *fate = malloc(nops + 1);
	const struct mnode *reach[512];
	struct explore_loss l[512];
	struct explore_state st;
	struct persist p = {0};
	struct model *ref;
	struct explorer *x;
	unsigned bad = 0;
	char err[512];
	int ret;

	ref = model_load(t->trace, t->init, err, sizeof(err));
	assert_non_null(ref);
	assert_int_equal(persist_compute(ref, models[0], &p), 0);
	x = explore_new(t->m, &o, err, sizeof(err));
	assert_non_null(x);
	while ((ret = explore_next(x, &st)) > 0) {
		size_t nl = explore_losses(x, &st, l, 512);
		struct prop c = {.p = &p,
				 .m = t->m,
				 .fate = fate,
				 .k = st.point,
				 .reach = reach};

		assert_true(nl <= 512);
		collect(&c, model_root(t->m), 512);
		memset(fate, MV_FULL, nops + 1);
		for (size_t i = 0; i < nl; i++)
			fate[l[i].seq - 1] = l[i].fate == XF_DROPPED
						 ? SETTLE_DROP
					     : l[i].fate == XF_HEAD ? MV_HEAD
					     : l[i].fate == XF_TAIL ? MV_TAIL
								    : MV_SIZE;
		if (check_state(&c)) {
			if (!bad++)
				snprintf(first, flen, "%s: %s", st.id, c.first);
		}
		/* the tree is the replay of what the state says persisted */
		assert_true(replay(ref, fate, st.point) == st.hash);
	}
	assert_int_equal(ret, 0);
	explore_free(&x);
	persist_release(&p);
	model_free(&ref);
	free(fate);
	return bad;
}

static void test_explored_states_are_physical(void **state)
{
	const char *models[] = {"posix", "ext4", "strict", "prefix"};
	unsigned n = seeds();

	(void)state;
	for (unsigned seed = 1; seed <= n; seed++) {
		struct tb t;

		tb_open(&t);
		random_trace(&t, seed, 20 + (int)(seed % 30));
		assert_non_null(tb_load(&t));
		for (size_t i = 0; i < 4; i++) {
			char first[600] = "";
			unsigned bad = explore_all(&t, models[i], false, first,
						   sizeof(first));

			if (bad)
				fprintf(stderr,
					"seed %u, %s: %u states, e.g. %s\n",
					seed, models[i], bad, first);
			assert_int_equal(bad, 0);
		}
		tb_close(&t);
	}
}

/* The checker can fail: without the sector rule it sees impossible
 * states, in the issue's own example and in random traces. */
static void test_checker_catches_reordering(void **state)
{
	unsigned n = seeds(), caught = 0;
	char first[600] = "";
	struct tb t;

	(void)state;
	/* two appends to one sector (posix: the "echo one; echo two" log) */
	tb_open(&t);
	tb_bind_root(&t);
	{
		uint64_t f = tb_create(&t, 1, "log");

		tb_write(&t, f, 0, "one\n");
		tb_write(&t, f, 4, "two\n");
	}
	assert_non_null(tb_load(&t));
	assert_int_equal(explore_all(&t, "posix", false, first, sizeof(first)),
			 0);
	assert_true(explore_all(&t, "posix", true, first, sizeof(first)) > 0);
	assert_non_null(strstr(first, "after op #3 to it was lost"));
	tb_close(&t);
	/* two overwrites of one sector (ext4 orders no overwrite) */
	tb_open(&t);
	tb_init_file(&t, "db", "........");
	tb_bind_root(&t);
	tb_bind(&t, 2, 1, "db", S_IFREG | 0644, 8);
	tb_write(&t, 2, 0, "one ");
	tb_write(&t, 2, 4, "two ");
	assert_non_null(tb_load(&t));
	assert_int_equal(explore_all(&t, "ext4", false, first, sizeof(first)),
			 0);
	assert_true(explore_all(&t, "ext4", true, first, sizeof(first)) > 0);
	assert_non_null(strstr(first, "after op #3 to it was lost"));
	tb_close(&t);
	for (unsigned seed = 1; seed <= n; seed++) {
		tb_open(&t);
		random_trace(&t, seed, 20 + (int)(seed % 30));
		assert_non_null(tb_load(&t));
		caught +=
		    explore_all(&t, "posix", true, first, sizeof(first)) > 0;
		tb_close(&t);
	}
	assert_true(caught > n / 4);
}

/*
 * The cause search's path: any choice at all, settled, is a state the
 * checker accepts; settling it again changes nothing; an op forced to
 * persist does; cause_apply() builds exactly the replay of it.
 */
static void test_settled_choices_are_physical(void **state)
{
	const char *models[] = {"posix", "ext4", "prefix"};
	unsigned n = seeds();

	(void)state;
	for (unsigned seed = 1; seed <= n; seed++) {
		unsigned int rs = seed * 7919;
		struct tb t;
		struct model *ref;
		char err[512];

		tb_open(&t);
		random_trace(&t, seed + 1000, 20 + (int)(seed % 30));
		assert_non_null(tb_load(&t));
		ref = model_load(t.trace, t.init, err, sizeof(err));
		assert_non_null(ref);
		for (size_t mi = 0; mi < 3; mi++) {
			struct persist p = {0};
			size_t nops = model_nops(t.m), nl = 0;
			uint8_t *c = malloc(nops + 1),
				*again = malloc(nops + 1);
			size_t *list = malloc((nops + 1) * sizeof(*list));
			struct settle s = {0};

			assert_int_equal(
			    persist_compute(t.m, persist_find(models[mi]), &p),
			    0);
			for (int round = 0; round < 20; round++) {
				uint64_t k = 1 + (uint64_t)rand_r(&rs) % nops;
				struct prop pc = {
				    .p = &p, .m = t.m, .fate = c, .k = k};
				struct cause_state cs = {k, c, SECTOR, &p};
				size_t forced = SIZE_MAX;

				nl = 0;
				for (size_t i = 0; i < k; i++) {
					unsigned r = (unsigned)rand_r(&rs) % 8;

					c[i] = MV_FULL;
					if (p.cls[i] == PC_NONE)
						continue;
					list[nl++] = i;
					if (!pending(&pc, i))
						continue;
					if (p.cls[i] != PC_DATA)
						c[i] = r < 4 ? MV_FULL
							     : SETTLE_DROP;
					else
						c[i] = r < 3	? MV_FULL
						       : r < 5	? SETTLE_DROP
						       : r == 5 ? MV_HEAD
						       : r == 6 ? MV_TAIL
								: MV_SIZE;
				}
				/* meta as a prefix: what the explorer asks */
				for (size_t j = 0, cut = 0; j < nl; j++) {
					size_t i = list[j];

					if (p.cls[i] == PC_DATA ||
					    !pending(&pc, i))
						continue;
					if (c[i] == SETTLE_DROP)
						cut = 1;
					else if (cut)
						c[i] = SETTLE_DROP;
				}
				if (nl && rand_r(&rs) % 2) {
					forced = list[(size_t)rand_r(&rs) % nl];
					if (p.cls[forced] == PC_DATA)
						c[forced] =
						    MV_FULL | SETTLE_FORCE;
					else
						forced = SIZE_MAX;
				}
				settle_choice(&s, t.m, &p, k, SECTOR, c, list,
					      nl);
				if (check_state(&pc))
					fprintf(
					    stderr, "seed %u %s k %llu: %s\n",
					    seed, models[mi],
					    (unsigned long long)k, pc.first);
				assert_int_equal(pc.violations, 0);
				if (forced != SIZE_MAX)
					assert_int_equal(c[forced], MV_FULL);
				memcpy(again, c, k);
				assert_int_equal(settle_choice(&s, t.m, &p, k,
							       SECTOR, again,
							       list, nl),
						 0);
				cause_apply(t.m, &cs);
				assert_true(model_hash(t.m, model_root(t.m)) ==
					    replay(ref, c, k));
			}
			settle_release(&s);
			persist_release(&p);
			free(c);
			free(again);
			free(list);
		}
		model_free(&ref);
		tb_close(&t);
	}
}

/* ---- the rules, one by one -------------------------------------------- */

/* The states of trace t at point k under model: the content of path in
 * each, as a list of distinct strings joined by '|'. */
static void contents(struct tb *t, const char *model, uint64_t k,
		     const char *path, char *out, size_t len)
{
	const struct persist_rules *models[] = {persist_find(model), NULL};
	struct explore_opts o = {.models = models,
				 .sector = SECTOR,
				 .one_point = true,
				 .point = k,
				 .random = 16};
	struct explore_state st;
	struct explorer *x;
	char err[512];

	out[0] = '\0';
	x = explore_new(t->m, &o, err, sizeof(err));
	assert_non_null(x);
	while (explore_next(x, &st) > 0) {
		char item[128] = "|(absent)|", *c;
		struct mnode *n;
		size_t clen;

		if (!model_resolve(t->m, path, &n)) {
			assert_int_equal(model_read_all(t->m, n, &c, &clen), 0);
			/* zeros and newlines shown as '_' */
			for (size_t q = 0; q < clen; q++)
				if (!c[q] || c[q] == '\n')
					c[q] = '_';
			snprintf(item, sizeof(item), "|%.*s|", (int)clen, c);
			free(c);
		}
		if (!strstr(out, item)) {
			size_t used = strlen(out);

			snprintf(out + used, len - used, "%s",
				 used ? item + 1 : item);
		}
	}
	explore_free(&x);
}

static void test_appends_in_one_sector(void **state)
{
	const char *models[] = {"posix", "ext4"};
	char out[2048];
	struct tb t;
	uint64_t f, k;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "log");
	tb_fsync(&t, f);
	tb_fsyncdir(&t, 1);
	tb_write(&t, f, 0, "one ");
	k = tb_write(&t, f, 4, "two ");
	assert_non_null(tb_load(&t));
	for (int i = 0; i < 2; i++) {
		contents(&t, models[i], k, "log", out, sizeof(out));
		/* never "two" without "one": the sector holds a prefix */
		assert_null(strstr(out, "|____two_"));
		assert_non_null(strstr(out, "one two "));
		assert_non_null(strstr(out, "|one |"));
	}
	tb_close(&t);
}

/* A truncate left out takes the later writes to what it cut with it. */
static void test_truncate_then_write(void **state)
{
	char out[2048];
	struct tb t;
	uint64_t k;

	(void)state;
	tb_open(&t);
	tb_init_file(&t, "cfg", "old content");
	tb_bind_root(&t);
	tb_bind(&t, 2, 1, "cfg", S_IFREG | 0644, 11);
	tb_truncate(&t, 2, 0);
	k = tb_write(&t, 2, 0, "new");
	assert_non_null(tb_load(&t));
	contents(&t, "posix", k, "cfg", out, sizeof(out));
	/* no "new content": the write landed in a page the truncate
	 * emptied */
	assert_null(strstr(out, "new content"));
	assert_non_null(strstr(out, "|new|"));
	assert_non_null(strstr(out, "old content"));
	tb_close(&t);
}

/* ext4: no hole where an earlier append was lost, no torn tail of one. */
static void test_ext4_no_hole(void **state)
{
	char out[4096];
	struct tb t;
	uint64_t f, k;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "log");
	tb_fsync(&t, f);
	tb_fsyncdir(&t, 1);
	tb_write(&t, f, 0, "0123456789abcdef");	 /* sector 0 */
	tb_write(&t, f, 16, "ghijklmnopqrstuv"); /* sector 1 */
	k = tb_write(&t, f, 32, "wxyz");	 /* sector 2 */
	assert_non_null(tb_load(&t));
	contents(&t, "ext4", k, "log", out, sizeof(out));
	/* every state is a prefix of the appends */
	for (char *p = out; *p;) {
		char *e = strchr(p, '|');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		assert_memory_equal(p, "0123456789abcdefghijklmnopqrstuvwxyz",
				    n);
		p += n + (e ? 1 : 0);
	}
	/* posix may leave holes (a size without its data) */
	contents(&t, "posix", k, "log", out, sizeof(out));
	assert_non_null(strstr(out, "________________ghij"));
	tb_close(&t);
}

/* A write before a failed fsync is lost for good (rule 7), even where a
 * later durable write shares its sector: it may have reached the disk
 * before the failure, never with the later write. */
static void test_failed_fsync_lost_for_good(void **state)
{
	char out[2048];
	struct tb t;
	uint64_t f, k;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	tb_fsync(&t, f);
	tb_fsyncdir(&t, 1);
	tb_write(&t, f, 0, "aa");
	tb_fsync_eio(&t, f);
	tb_write(&t, f, 2, "bb");
	k = tb_fsync(&t, f);
	assert_non_null(tb_load(&t));
	contents(&t, "strict", k, "f", out, sizeof(out));
	assert_string_equal(out, "|__bb|");
	contents(&t, "posix", k, "f", out, sizeof(out));
	assert_non_null(strstr(out, "|__bb|"));
	assert_non_null(strstr(out, "|aabb|"));
	tb_close(&t);
}

/* explore_custom() refuses what hardware cannot leave, and says why. */
static void test_custom_refuses_reorder(void **state)
{
	const struct persist_rules *posix = persist_find("posix");
	struct explore_loss drop1 = {.seq = 3, .fate = XF_DROPPED};
	struct explore_loss both[] = {{.seq = 3, .fate = XF_DROPPED},
				      {.seq = 4, .fate = XF_DROPPED}};
	struct explore_state st;
	struct explorer *x;
	struct tb t;
	uint64_t f, k;
	char err[512];

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "log");	/* 2 */
	tb_write(&t, f, 0, "one ");	/* 3 */
	k = tb_write(&t, f, 4, "two "); /* 4 */
	assert_non_null(tb_load(&t));
	x = explore_new(t.m, NULL, err, sizeof(err));
	assert_non_null(x);
	assert_int_equal(explore_custom(x, k, posix, &drop1, 1, &st), -ENOENT);
	assert_non_null(strstr(explore_error(x), "write #4 cannot persist "
						 "while op #3"));
	assert_int_equal(explore_goto(x, "k4.posix.x4-o3", &st), -ENOENT);
	assert_int_equal(explore_custom(x, k, posix, both, 2, &st), 0);
	tb_assert_content(t.m, "log", "");
	explore_free(&x);
	tb_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_appends_in_one_sector),
	    cmocka_unit_test(test_truncate_then_write),
	    cmocka_unit_test(test_ext4_no_hole),
	    cmocka_unit_test(test_failed_fsync_lost_for_good),
	    cmocka_unit_test(test_custom_refuses_reorder),
	    cmocka_unit_test(test_explored_states_are_physical),
	    cmocka_unit_test(test_settled_choices_are_physical),
	    cmocka_unit_test(test_checker_catches_reordering),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
