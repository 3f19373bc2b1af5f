/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Unit tests for harness/explore: property tests on random traces (every
 * state equals a from-scratch replay of the ops it persists, never loses
 * a durable op, and the last visible state is the full replay), bounds,
 * dedup, state ids stable across runs and rebuildable from the id alone,
 * and clear errors for ids that do not exist.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/map.h"
#include "tests/unit/tb.h"

#define SECTOR 16 /* small sectors so short writes tear */

/* ---- random traces -------------------------------------------------- */

struct rent {
	uint64_t dir, id; /* the entry dir/name -> id */
	char name[16];
	bool isdir;
};

struct rgen {
	struct tb *t;
	unsigned int seed;
	struct rent ents[256];
	size_t n;
	uint64_t dirs[16];
	size_t ndirs;
	char payload[4096];
};

static unsigned rnd(struct rgen *g, unsigned n)
{
	return (unsigned)rand_r(&g->seed) % n;
}

/* A random entry that is a file (index), or -1. */
static int pick_file(struct rgen *g)
{
	for (int tries = 0; tries < 8 && g->n; tries++) {
		size_t i = rnd(g, (unsigned)g->n);

		if (!g->ents[i].isdir)
			return (int)i;
	}
	return -1;
}

static void del_ent(struct rgen *g, size_t i)
{
	g->ents[i] = g->ents[--g->n];
}

static int find_ent(struct rgen *g, uint64_t dir, const char *name)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->ents[i].dir == dir && !strcmp(g->ents[i].name, name))
			return (int)i;
	return -1;
}

static void random_trace(struct tb *t, unsigned int seed, int nops)
{
	struct rgen g = {.t = t, .seed = seed};

	for (size_t i = 0; i < sizeof(g.payload); i++)
		g.payload[i] = (char)('a' + i % 26);
	tb_bind_root(t);
	g.dirs[g.ndirs++] = 1;
	for (int op = 0; op < nops; op++) {
		unsigned what = rnd(&g, 100);
		uint64_t dir = g.dirs[rnd(&g, (unsigned)g.ndirs)];
		char name[16];
		int f = pick_file(&g), e;

		snprintf(name, sizeof(name), "n%u", rnd(&g, 12));
		if (what < 15 && g.n < 250 && find_ent(&g, dir, name) < 0) {
			bool isdir = g.ndirs < 16 && rnd(&g, 5) == 0;
			uint64_t id = isdir ? tb_mkdir(t, dir, name)
					    : tb_create(t, dir, name);
			struct rent *r = &g.ents[g.n++];

			r->dir = dir;
			r->id = id;
			r->isdir = isdir;
			snprintf(r->name, sizeof(r->name), "%s", name);
			if (isdir)
				g.dirs[g.ndirs++] = id;
		} else if (what < 45 && f >= 0) {
			uint32_t len = 1 + rnd(&g, 48);

			tb_write_flags(t, g.ents[f].id, rnd(&g, 64),
				       g.payload + rnd(&g, 1000), len,
				       rnd(&g, 20) ? 0 : TRF_SYNC);
		} else if (what < 50 && f >= 0) {
			tb_truncate(t, g.ents[f].id, rnd(&g, 40));
		} else if (what < 60 && f >= 0) {
			/* rename a file, maybe over another file */
			e = find_ent(&g, dir, name);
			if (e >= 0 && (g.ents[e].isdir || e == f))
				continue;
			tb_rename(t, g.ents[f].dir, g.ents[f].name, dir, name,
				  g.ents[f].id, e >= 0 ? g.ents[e].id : 0);
			g.ents[f].dir = dir;
			snprintf(g.ents[f].name, sizeof(g.ents[f].name), "%s",
				 name);
			if (e >= 0)
				del_ent(&g, (size_t)e);
		} else if (what < 65 && f >= 0) {
			tb_unlink(t, g.ents[f].dir, g.ents[f].name,
				  g.ents[f].id);
			del_ent(&g, (size_t)f);
		} else if (what < 68 && f >= 0 && g.n < 250 &&
			   find_ent(&g, dir, name) < 0) {
			struct trace_rec r = {.type = TR_LINK,
					      .id = g.ents[f].id,
					      .parent = dir,
					      .name = name};
			struct rent *n = &g.ents[g.n++];

			tb_rec(t, &r);
			*n = g.ents[f];
			n->dir = dir;
			snprintf(n->name, sizeof(n->name), "%s", name);
		} else if (what < 78 && f >= 0) {
			if (rnd(&g, 2))
				tb_fsync(t, g.ents[f].id);
			else
				tb_fdatasync(t, g.ents[f].id);
		} else if (what < 88) {
			tb_fsyncdir(t, dir);
		} else if (what < 93 && f >= 0) {
			tb_chmod(t, g.ents[f].id, 0600 | rnd(&g, 2) * 044);
		} else if (f >= 0) {
			struct trace_rec r = {.type = TR_SETXATTR,
					      .id = g.ents[f].id,
					      .name = "user.x",
					      .data = g.payload + rnd(&g, 26),
					      .data_len = 3};

			tb_rec(t, &r);
		}
	}
}

/* ---- the reference: replay the persisted ops from scratch ------------ */

static uint64_t reference(struct model *ref, const struct explore_loss *l,
			  size_t nl, uint64_t k)
{
	size_t j = 0;

	model_reset(ref);
	for (size_t i = 0; i < model_nops(ref); i++) {
		const struct model_op *op = model_op(ref, i);
		enum model_variant v = MV_FULL;

		if (op->seq > k)
			break;
		if (j < nl && l[j].seq == op->seq) {
			if (l[j].fate == XF_DROPPED) {
				j++;
				continue;
			}
			v = l[j].fate == XF_HEAD   ? MV_HEAD
			    : l[j].fate == XF_TAIL ? MV_TAIL
						   : MV_SIZE;
			j++;
		}
		model_apply_ns(ref, op);
		model_apply_node(ref, op, v, SECTOR);
	}
	assert_int_equal(j, nl); /* losses are in seq order */
	return model_hash(ref, model_root(ref));
}

static void check_trace(struct tb *t, const char *model)
{
	const struct persist_rules *models[] = {persist_find(model), NULL};
	struct explore_opts o = {
	    .models = models, .sector = SECTOR, .random = 4, .seed = 7};
	struct explore_loss l[4096];
	struct explore_state st;
	struct persist p = {0};
	struct model *ref;
	struct explorer *x;
	uint64_t last_v = 0, final;
	char err[512];
	int ret;

	ref = model_load(t->trace, t->init, err, sizeof(err));
	assert_non_null(ref);
	final = model_hash(ref, model_root(ref)); /* load ends visible */
	assert_int_equal(persist_compute(ref, models[0], &p), 0);
	x = explore_new(t->m, &o, err, sizeof(err));
	assert_non_null(x);
	while ((ret = explore_next(x, &st)) > 0) {
		size_t nl = explore_losses(x, &st, l, 4096);

		assert_true(nl <= 4096);
		for (size_t i = 0; i < nl; i++) {
			/* a durable op is never lost */
			assert_true(p.durable_at[l[i].seq - 1] > st.point);
			assert_true(l[i].seq <= st.point);
		}
		if (!strcmp(model, "strict")) {
			size_t pending = 0;

			for (size_t i = 0; i < st.point; i++)
				pending += p.cls[i] != PC_NONE &&
					   p.durable_at[i] > st.point;
			/* ops on files no state can show are left out */
			assert_true(nl <= pending);
		}
		if (!strcmp(model, "prefix"))
			for (size_t i = 0; i < nl; i++)
				assert_int_equal(l[i].fate, XF_DROPPED);
		assert_true(reference(ref, l, nl, st.point) == st.hash);
		if (st.kind == XK_VISIBLE)
			last_v = st.hash;
		/* the same losses, asked for by hand, give the same state,
		 * and its id gives it again; explore_next() carries on */
		if (nl < 30) {
			struct explore_state cs, gs;

			ret =
			    explore_custom(x, st.point, models[0], l, nl, &cs);
			if (ret)
				fprintf(stderr, "%s: %s\n", st.id,
					explore_error(x));
			assert_int_equal(ret, 0);
			assert_true(cs.hash == st.hash);
			assert_int_equal(explore_goto(x, cs.id, &gs), 0);
			assert_true(gs.hash == st.hash);
			assert_string_equal(gs.id, cs.id);
		}
	}
	assert_int_equal(ret, 0);
	/* the visible state at the end is the full replay */
	if (strcmp(model, "strict"))
		assert_true(last_v == final);
	explore_free(&x);
	persist_release(&p);
	model_free(&ref);
}

static void test_random_traces(void **state)
{
	const char *models[] = {"posix", "ext4", "strict", "prefix"};

	(void)state;
	for (unsigned seed = 1; seed <= 12; seed++) {
		struct tb t;

		tb_open(&t);
		random_trace(&t, seed, 40 + (int)seed * 5);
		assert_non_null(tb_load(&t));
		for (size_t i = 0; i < 4; i++)
			check_trace(&t, models[i]);
		tb_close(&t);
	}
}

/* ---- ids, dedup, bounds --------------------------------------------- */

struct listing {
	char (*ids)[80];
	uint64_t *hash;
	size_t n;
};

static struct listing list_states(struct tb *t, const struct explore_opts *o)
{
	struct listing li = {0};
	struct explore_state st;
	struct explorer *x;
	struct model *m;
	char err[512];

	m = model_load(t->trace, t->init, err, sizeof(err));
	assert_non_null(m);
	x = explore_new(m, o, err, sizeof(err));
	assert_non_null(x);
	li.ids = malloc(100000 * sizeof(*li.ids));
	li.hash = malloc(100000 * sizeof(*li.hash));
	while (explore_next(x, &st) > 0 && li.n < 100000) {
		memcpy(li.ids[li.n], st.id, sizeof(st.id));
		li.hash[li.n++] = st.hash;
	}
	explore_free(&x);
	model_free(&m);
	return li;
}

static void test_ids_stable_and_rebuildable(void **state)
{
	const struct persist_rules *models[] = {persist_find("posix"),
						persist_find("ext4"),
						persist_find("prefix"), NULL};
	struct explore_opts o = {.models = models, .random = 3, .seed = 99};
	struct listing a, b;
	struct explore_state st;
	struct explorer *x;
	struct tb t;
	char err[512];

	(void)state;
	tb_open(&t);
	random_trace(&t, 4242, 80);
	assert_non_null(tb_load(&t));
	a = list_states(&t, &o);
	b = list_states(&t, &o);
	assert_true(a.n > 50);
	assert_int_equal(a.n, b.n);
	for (size_t i = 0; i < a.n; i++) {
		assert_string_equal(a.ids[i], b.ids[i]);
		assert_true(a.hash[i] == b.hash[i]);
	}
	/* any id rebuilds the same state, in any order, from the id alone */
	x = explore_new(t.m, NULL, err, sizeof(err));
	assert_non_null(x);
	for (size_t i = a.n; i-- > 0;) {
		assert_int_equal(explore_goto(x, a.ids[i], &st), 0);
		assert_string_equal(st.id, a.ids[i]);
		assert_true(st.hash == a.hash[i]);
	}
	explore_free(&x);
	free(a.ids);
	free(a.hash);
	free(b.ids);
	free(b.hash);
	tb_close(&t);
}

static void test_bad_ids(void **state)
{
	static const char *const bad[] = {
	    "",
	    "k",
	    "x1.posix.v",
	    "k1.posix",
	    "kx.posix.v",
	    "k3.nosuch.v",
	    "k999.posix.v",
	    "k3.posix.o999",
	    "k3.posix.zz",
	    "k3.strict.v",
	    "k3.posix.m1",
	    "k3.posix.v@00000000", /* another trace's state */
	};
	struct explore_state st;
	struct explorer *x;
	struct tb t;
	char err[512];

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	tb_create(&t, 1, "a");
	tb_write(&t, 100, 0, "x");
	tb_fsync(&t, 100);
	assert_non_null(tb_load(&t));
	x = explore_new(t.m, NULL, err, sizeof(err));
	assert_non_null(x);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int ret = explore_goto(x, bad[i], &st);

		if (ret == 0)
			fprintf(stderr, "accepted '%s'\n", bad[i]);
		assert_true(ret == -EINVAL || ret == -ENOENT);
		assert_true(strlen(explore_error(x)) > 0);
	}
	assert_int_equal(explore_goto(x, "k3.posix.v", &st), 0);
	assert_int_equal(explore_goto(x, "k2.strict.s", &st), 0);
	/* a point that is not a crash point is refused up front */
	{
		struct explore_opts o = {.one_point = true, .point = 1};

		assert_null(explore_new(t.m, &o, err, sizeof(err)));
		assert_non_null(strstr(err, "not a crash point"));
	}
	explore_free(&x);
	tb_close(&t);
}

static void test_custom_states(void **state)
{
	const struct persist_rules *posix = persist_find("posix");
	const struct persist_rules *ext4 = persist_find("ext4");
	struct explore_state st;
	struct explorer *x;
	struct explore_loss drop_w = {.seq = 4, .fate = XF_DROPPED};
	struct explore_loss drop_cr = {.seq = 3, .fate = XF_DROPPED};
	struct explore_loss tear_w = {.seq = 4, .fate = XF_HEAD};
	struct explore_loss drop_b = {.seq = 2, .fate = XF_DROPPED};
	struct tb t;
	uint64_t f, k;
	char err[512], *c;

	(void)state;
	tb_open(&t);
	tb_init_file(&t, "cfg", "old");
	tb_bind_root(&t);			     /* 1 */
	tb_bind(&t, 2, 1, "cfg", S_IFREG | 0644, 3); /* 2 */
	f = tb_create(&t, 1, "tmp");		     /* 3 */
	tb_write(&t, f, 0, "new");		     /* 4 */
	tb_rename(&t, 1, "tmp", 1, "cfg", f, 2);     /* 5 */
	k = tb_seq(&t);
	assert_non_null(tb_load(&t));
	x = explore_new(t.m, NULL, err, sizeof(err));
	assert_non_null(x);
	/* nothing lost: the visible state */
	assert_int_equal(explore_custom(x, k, posix, NULL, 0, &st), 0);
	c = tb_content(t.m, "cfg");
	assert_string_equal(c, "new");
	free(c);
	/* the write lost, the rename kept: the empty target */
	assert_int_equal(explore_custom(x, k, posix, &drop_w, 1, &st), 0);
	c = tb_content(t.m, "cfg");
	assert_string_equal(c, "");
	free(c);
	assert_non_null(strstr(st.id, "k5.posix.x5-o4@"));
	/* dropping the create drops the rename after it */
	assert_int_equal(explore_custom(x, k, posix, &drop_cr, 1, &st), 0);
	c = tb_content(t.m, "cfg");
	assert_string_equal(c, "old");
	free(c);
	/* not allowed: a 3-byte write cannot tear, ext4 carries the write
	 * with the rename, a bind is not pending */
	assert_int_equal(explore_custom(x, k, posix, &tear_w, 1, &st), -ENOENT);
	assert_int_equal(explore_custom(x, k, ext4, &drop_w, 1, &st), -ENOENT);
	assert_non_null(strstr(explore_error(x), "persists with rename"));
	assert_int_equal(explore_custom(x, k, posix, &drop_b, 1, &st), -ENOENT);
	/* non-canonical ids are refused, canonical ones rebuild */
	assert_int_equal(explore_goto(x, "k5.posix.x4-o4", &st), -EINVAL);
	assert_int_equal(explore_goto(x, "k5.posix.x5-o4", &st), 0);
	c = tb_content(t.m, "cfg");
	assert_string_equal(c, "");
	free(c);
	explore_free(&x);
	tb_close(&t);
}

static void test_dedup_and_counts(void **state)
{
	struct explore_opts o = {.random = 4};
	struct explore_state st;
	struct explore_counts c;
	struct map seen = {0};
	struct explorer *x;
	struct tb t;
	size_t dups = 0, n = 0;
	char err[512];

	(void)state;
	tb_open(&t);
	random_trace(&t, 77, 120);
	assert_non_null(tb_load(&t));
	x = explore_new(t.m, &o, err, sizeof(err));
	assert_non_null(x);
	while (explore_next(x, &st) > 0) {
		bool was = map_get(&seen, st.hash, 0) != NULL;

		assert_int_equal(st.duplicate, was);
		map_put(&seen, st.hash, 0, (void *)1);
		dups += st.duplicate;
		n++;
	}
	explore_counts(x, &c);
	assert_int_equal(c.generated, n);
	assert_int_equal(c.distinct, n - dups);
	assert_int_equal(c.distinct, seen.len);
	assert_true(c.distinct < c.generated); /* strict states repeat */
	{
		size_t np;

		explore_points(x, &np);
		assert_int_equal(c.points, np);
	}
	map_release(&seen);
	explore_free(&x);
	tb_close(&t);
}

static void test_visible_only(void **state)
{
	struct explore_opts o = {.kinds = 1u << XK_VISIBLE};
	struct explore_state st;
	struct explorer *x;
	struct model *ref;
	struct tb t;
	size_t n = 0, np;
	char err[512];

	(void)state;
	tb_open(&t);
	random_trace(&t, 31, 80);
	assert_non_null(tb_load(&t));
	ref = model_load(t.trace, t.init, err, sizeof(err));
	assert_non_null(ref);
	x = explore_new(t.m, &o, err, sizeof(err));
	assert_non_null(x);
	while (explore_next(x, &st) > 0) {
		assert_int_equal(st.kind, XK_VISIBLE);
		model_goto_visible(ref, st.point);
		assert_true(model_hash(ref, model_root(ref)) == st.hash);
		n++;
	}
	explore_points(x, &np);
	assert_int_equal(n, np); /* one per crash point, 0 included */
	explore_free(&x);
	model_free(&ref);
	tb_close(&t);
}

static void test_bounds(void **state)
{
	struct explore_opts o = {.max_prefixes = 2, .max_writes = 1};
	struct explore_state st;
	struct explorer *x;
	struct tb t;
	uint64_t point = UINT64_MAX;
	size_t per = 0, most = 0;
	char err[512];

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	/* a program that never syncs: everything stays pending */
	for (int i = 0; i < 60; i++) {
		char name[16];
		uint64_t f;

		snprintf(name, sizeof(name), "f%d", i);
		f = tb_create(&t, 1, name);
		tb_write(&t, f, 0, "0123456789abcdef0123456789abcdef!");
	}
	assert_non_null(tb_load(&t));
	x = explore_new(t.m, &o, err, sizeof(err));
	assert_non_null(x);
	while (explore_next(x, &st) > 0) {
		if (st.point != point) {
			point = st.point;
			per = 0;
		}
		if (++per > most)
			most = per;
	}
	/* s, sd, v, 2 prefixes x 2, 1 write x (o, h, t, z) */
	assert_true(most <= 11);
	assert_true(most >= 8);
	explore_free(&x);
	tb_close(&t);
}

static void test_shards_partition(void **state)
{
	struct explore_opts all = {.random = 2};
	struct explore_opts s0 = {.random = 2, .shard_k = 0, .shard_n = 3};
	struct explore_opts s1 = {.random = 2, .shard_k = 1, .shard_n = 3};
	struct explore_opts s2 = {.random = 2, .shard_k = 2, .shard_n = 3};
	struct listing a, b, c, d;
	struct tb t;

	(void)state;
	tb_open(&t);
	random_trace(&t, 5, 60);
	assert_non_null(tb_load(&t));
	a = list_states(&t, &all);
	b = list_states(&t, &s0);
	c = list_states(&t, &s1);
	d = list_states(&t, &s2);
	assert_int_equal(a.n, b.n + c.n + d.n);
	assert_true(b.n > 0 && c.n > 0 && d.n > 0);
	free(a.ids);
	free(a.hash);
	free(b.ids);
	free(b.hash);
	free(c.ids);
	free(c.hash);
	free(d.ids);
	free(d.hash);
	tb_close(&t);
}

/* The check context of a state at point k, as harness/check.c keys it:
 * how many ctx seqs are at or before the op before the next point. */
static size_t ctx_of(const uint64_t *pts, size_t np, uint64_t k, uint64_t last,
		     const uint64_t *ctx, size_t nctx)
{
	uint64_t upto = last;
	size_t n = 0;

	for (size_t j = 0; j < np; j++)
		if (pts[j] > k) {
			upto = pts[j] - 1;
			break;
		}
	for (size_t j = 0; j < nctx; j++)
		n += ctx[j] <= upto;
	return n;
}

/* Every state left out as dominated repeats, in tree and context, one
 * built before it: the distinct (tree, context) pairs, in the order they
 * are first met, are the same with and without leaving them out. */
static void test_dominated_states_repeat(void **state)
{
	const char *models[] = {"posix", "ext4", "prefix", "strict"};
	uint64_t ctx[] = {9, 23, 40, 41, 77};
	unsigned skipped = 0;

	(void)state;
	for (unsigned seed = 1; seed <= 10; seed++) {
		struct tb t;

		tb_open(&t);
		random_trace(&t, seed * 31, 90);
		assert_non_null(tb_load(&t));
		for (size_t mi = 0; mi < 4; mi++) {
			const struct persist_rules *ms[] = {
			    persist_find(models[mi]), NULL};
			struct explore_opts o = {.models = ms,
						 .random = 2,
						 .ctx_seqs = ctx,
						 .nctx = 5};
			uint64_t(*seen[2])[2];
			size_t nseen[2] = {0, 0};
			struct explore_counts c[2];

			for (int pass = 0; pass < 2; pass++) {
				struct explore_state st;
				struct explorer *x;
				const uint64_t *pts;
				size_t np;
				char err[512];

				o.skip_dominated = pass == 1;
				x = explore_new(t.m, &o, err, sizeof(err));
				assert_non_null(x);
				pts = explore_points(x, &np);
				seen[pass] = malloc(200000 * sizeof(*seen[0]));
				while (explore_next(x, &st) > 0) {
					uint64_t cx =
					    ctx_of(pts, np, st.point,
						   model_nops(t.m), ctx, 5);
					size_t q;

					for (q = 0; q < nseen[pass]; q++)
						if (seen[pass][q][0] ==
							st.hash &&
						    seen[pass][q][1] == cx)
							break;
					if (q < nseen[pass])
						continue;
					seen[pass][nseen[pass]][0] = st.hash;
					seen[pass][nseen[pass]++][1] = cx;
				}
				explore_counts(x, &c[pass]);
				explore_free(&x);
			}
			assert_int_equal(c[0].dominated, 0);
			assert_int_equal(c[1].generated + c[1].dominated,
					 c[0].generated);
			assert_int_equal(nseen[0], nseen[1]);
			assert_memory_equal(seen[0], seen[1],
					    nseen[0] * sizeof(*seen[0]));
			skipped += (unsigned)c[1].dominated;
			free(seen[0]);
			free(seen[1]);
		}
		tb_close(&t);
	}
	assert_true(skipped > 100); /* it does leave states out */
}

/* --points sync and marks visit 0, the last point, the points after a
 * sync (sync) and the points each mark falls after. */
static void test_coarse_points(void **state)
{
	struct explore_opts o = {0};
	struct explore_state st;
	struct explorer *x;
	struct tb t;
	uint64_t f, w1, sy, w2, w3;
	char err[512];
	uint64_t want_sync[] = {0, 0, 0, 0, 0}, nsync = 0;
	uint64_t want_marks[] = {0, 0, 0, 0}, nmarks = 0;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	w1 = tb_write(&t, f, 0, "a");
	{
		struct trace_rec r = {.type = TR_MARK, .name = "one"};

		tb_rec(&t, &r);
	}
	sy = tb_fsync(&t, f);
	w2 = tb_write(&t, f, 1, "b");
	w3 = tb_write(&t, f, 2, "c");
	assert_non_null(tb_load(&t));
	want_sync[nsync++] = 0;
	want_sync[nsync++] = w1; /* the mark falls after w1 */
	want_sync[nsync++] = sy;
	want_sync[nsync++] = w3;
	want_marks[nmarks++] = 0;
	want_marks[nmarks++] = w1;
	want_marks[nmarks++] = w3;
	(void)w2;
	for (int mode = XP_SYNC; mode <= XP_MARKS; mode++) {
		const uint64_t *want = mode == XP_SYNC ? want_sync : want_marks;
		size_t nw = mode == XP_SYNC ? nsync : nmarks, seen = 0;
		uint64_t last = UINT64_MAX;
		struct explore_counts c;

		o.points = (enum explore_points)mode;
		x = explore_new(t.m, &o, err, sizeof(err));
		assert_non_null(x);
		while (explore_next(x, &st) > 0) {
			if (st.point == last)
				continue;
			last = st.point;
			assert_true(seen < nw);
			assert_int_equal(st.point, want[seen]);
			assert_true(explore_visits(x, st.point));
			seen++;
		}
		assert_int_equal(seen, nw);
		assert_false(explore_visits(x, w2));
		explore_counts(x, &c);
		assert_int_equal(c.points, nw);
		explore_free(&x);
	}
	tb_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_traces),
	    cmocka_unit_test(test_ids_stable_and_rebuildable),
	    cmocka_unit_test(test_bad_ids),
	    cmocka_unit_test(test_custom_states),
	    cmocka_unit_test(test_dedup_and_counts),
	    cmocka_unit_test(test_visible_only),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_shards_partition),
	    cmocka_unit_test(test_dominated_states_repeat),
	    cmocka_unit_test(test_coarse_points),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
