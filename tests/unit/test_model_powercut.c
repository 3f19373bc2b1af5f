/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Unit tests for a live power cut in a trace (TR_POWERCUT, written by
 * fusefs/powercut.c): after the record the tree is the strict durable
 * state at that point, later ops apply on top of it, and every op that
 * survived the cut is durable for the crash states after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/tb.h"

static uint64_t tb_powercut(struct tb *t, const char *model)
{
	struct trace_rec r = {.type = TR_POWERCUT, .name = model};

	tb_rec(t, &r);
	return r.seq;
}

static bool g_is_after(struct model *m, const void *arg)
{
	char *got = tb_content(m, "g");
	bool ok = got && !strcmp(got, arg);

	free(got);
	return ok;
}

static void test_strict_cut(void **state)
{
	struct tb t;
	uint64_t f, g, h, end;

	(void)state;
	tb_open(&t);
	tb_init_file(&t, "old", "old content");
	tb_bind_root(&t);
	tb_bind(&t, 2, 1, "old", S_IFREG | 0644, 11);
	f = tb_create(&t, 1, "f");
	tb_write(&t, f, 0, "data");
	tb_fsync(&t, f); /* its name is not durable */
	g = tb_create(&t, 1, "g");
	tb_write(&t, g, 0, "gggg");
	tb_fsync(&t, g);
	tb_fsyncdir(&t, 1); /* g durable with its data, f's name too */
	h = tb_create(&t, 1, "h");
	tb_write(&t, g, 0, "XX");	      /* unsynced: lost */
	tb_rename(&t, 1, "g", 1, "g2", g, 0); /* unsynced: undone */
	tb_unlink(&t, 1, "old", 2);	      /* unsynced: undone */
	tb_write(&t, f, 4, "more");	      /* unsynced: lost */
	(void)h;
	tb_powercut(&t, "strict");
	end = tb_write(&t, g, 4, "-after"); /* on the cut tree */
	assert_non_null(tb_load(&t));
	tb_assert_content(t.m, "f", "data");
	tb_assert_content(t.m, "g", "gggg-after");
	tb_assert_content(t.m, "g2", NULL);
	tb_assert_content(t.m, "h", NULL);
	tb_assert_content(t.m, "old", "old content");
	/* after the cut, what survived it is durable: every strict state
	 * from there on has g with its durable bytes */
	{
		struct tb_count c =
		    tb_count_pred(t.m, "strict", end, g_is_after, "gggg");
		assert_int_equal(c.total, 1);
		assert_int_equal(c.match, 1);
	}
	tb_close(&t);
}

static void test_keep_metadata_cut(void **state)
{
	struct tb t;
	uint64_t f;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	tb_write(&t, f, 0, "data");
	tb_rename(&t, 1, "f", 1, "f2", f, 0);
	tb_powercut(&t, "keep-metadata");
	assert_non_null(tb_load(&t));
	tb_assert_content(t.m, "f2", ""); /* the name stays, the data goes */
	tb_assert_content(t.m, "f", NULL);
	tb_close(&t);
}

/* A seeded cut: the metadata up to the record seq it names, each file's
 * pending data all or none as the seed draws (core/persist.h). */
static void test_seeded_cut(void **state)
{
	char name[96], fname[16];
	uint64_t id[8], meta, h, k, seed;
	struct tb t;

	(void)state;
	for (seed = 1; seed <= 4; seed++) {
		tb_open(&t);
		tb_bind_root(&t);
		for (int i = 0; i < 8; i++) {
			snprintf(fname, sizeof(fname), "f%d", i);
			id[i] = tb_create(&t, 1, fname);
			tb_write(&t, id[i], 0, "old");
			tb_fsync(&t, id[i]);
		}
		tb_fsyncdir(&t, 1);
		k = tb_create(&t, 1, "k"); /* pending, kept: before meta */
		for (int i = 0; i < 8; i++)
			tb_write(&t, id[i], 0, "NEW");
		meta = tb_seq(&t);
		h = tb_create(&t, 1, "h"); /* pending, after meta */
		tb_truncate(&t, id[0], 1); /* dropped: f0 loses its data */
		snprintf(name, sizeof(name), PERSIST_CUT_FMT, seed, meta);
		tb_powercut(&t, name);
		assert_non_null(tb_load(&t));
		tb_assert_content(t.m, "k", "");
		tb_assert_content(t.m, "h", NULL);
		for (int i = 0; i < 8; i++) {
			snprintf(fname, sizeof(fname), "f%d", i);
			tb_assert_content(t.m, fname,
					  i && persist_cut_keeps(seed, id[i])
					      ? "NEW"
					      : "old");
		}
		(void)h;
		(void)k;
		tb_close(&t);
	}
}

static void test_seeded_cut_name(void **state)
{
	uint64_t seed, meta;

	(void)state;
	assert_true(persist_cut_parse("posix seed=7 meta=12", &seed, &meta));
	assert_int_equal(seed, 7);
	assert_int_equal(meta, 12);
	assert_false(persist_cut_parse("posix seed=7 meta=12x", &seed, &meta));
	assert_false(persist_cut_parse("posix seed=7", &seed, &meta));
	assert_false(persist_cut_parse("strict", &seed, &meta));
	assert_false(persist_cut_parse(NULL, &seed, &meta));
	/* the draw is a function of (seed, id) alone */
	assert_true(persist_cut_keeps(3, 9) == persist_cut_keeps(3, 9));
	assert_true(persist_cut_prefix(5, 10) <= 10);
}

static void test_unknown_cut_model(void **state)
{
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	tb_powercut(&t, "posix-random");
	assert_null(tb_load(&t));
	assert_non_null(strstr(t.err, "power cut"));
	tb_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strict_cut),
	    cmocka_unit_test(test_keep_metadata_cut),
	    cmocka_unit_test(test_seeded_cut),
	    cmocka_unit_test(test_seeded_cut_name),
	    cmocka_unit_test(test_unknown_cut_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
