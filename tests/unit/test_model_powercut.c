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

static void assert_content(struct model *m, const char *path, const char *want)
{
	char *got = tb_content(m, path);

	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

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
	assert_content(t.m, "f", "data");
	assert_content(t.m, "g", "gggg-after");
	assert_content(t.m, "g2", NULL);
	assert_content(t.m, "h", NULL);
	assert_content(t.m, "old", "old content");
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
	assert_content(t.m, "f2", ""); /* the name stays, the data goes */
	assert_content(t.m, "f", NULL);
	tb_close(&t);
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
	    cmocka_unit_test(test_unknown_cut_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
