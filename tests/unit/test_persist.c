/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Unit tests for core/persist through the explorer: one test per rule of
 * every model, on hand-made traces, asserting what a user would see in the
 * crash states (a file's content, its absence, its mode).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/tb.h"

#define ALL UINT64_MAX

static char a1k[1025], b1k[1025], ab[1025], ba[1025];

static void fill(void)
{
	memset(a1k, 'A', 1024);
	memset(b1k, 'B', 1024);
	memset(ab, 'A', 512);
	memset(ab + 512, 'B', 512);
	memset(ba, 'B', 512);
	memset(ba + 512, 'A', 512);
}

/* f holds 1 KiB of A, durable; then 1 KiB of B is written over it. */
static uint64_t overwrite_trace(struct tb *t)
{
	uint64_t f;

	fill();
	tb_bind_root(t);
	f = tb_create(t, 1, "f");
	tb_write(t, f, 0, a1k);
	tb_fsync(t, f);
	tb_fsyncdir(t, 1);
	tb_write(t, f, 0, b1k);
	return tb_seq(t);
}

static void test_write_without_fsync(void **state)
{
	struct tb t;
	uint64_t k;
	struct tb_count c;

	(void)state;
	tb_open(&t);
	k = overwrite_trace(&t);
	assert_non_null(tb_load(&t));
	/* strict: the write is lost in every state */
	c = tb_count_states(t.m, "strict", k, "f", a1k);
	assert_true(c.total > 0);
	assert_int_equal(c.match, c.total);
	/* posix: lost, kept, and torn at the 512-byte sector both ways */
	assert_true(tb_count_states(t.m, "posix", k, "f", a1k).match > 0);
	assert_true(tb_count_states(t.m, "posix", k, "f", b1k).match > 0);
	assert_true(tb_count_states(t.m, "posix", k, "f", ba).match > 0);
	assert_true(tb_count_states(t.m, "posix", k, "f", ab).match > 0);
	/* prefix: never torn */
	assert_int_equal(tb_count_states(t.m, "prefix", k, "f", ba).match, 0);
	assert_int_equal(tb_count_states(t.m, "prefix", k, "f", ab).match, 0);
	assert_true(tb_count_states(t.m, "prefix", k, "f", b1k).match > 0);
	tb_close(&t);
}

static void test_write_with_fsync_durable(void **state)
{
	struct tb t;
	uint64_t k;
	const char *models[] = {"posix", "ext4", "strict", "prefix"};

	(void)state;
	tb_open(&t);
	overwrite_trace(&t);
	k = tb_fsync(&t, 100);
	assert_non_null(tb_load(&t));
	for (size_t i = 0; i < 4; i++) {
		struct tb_count c =
		    tb_count_states(t.m, models[i], k, "f", b1k);

		assert_int_equal(c.match, c.total);
	}
	tb_close(&t);
}

/* tmp written and made durable, then renamed to cfg. */
static uint64_t rename_trace(struct tb *t)
{
	uint64_t f;

	tb_bind_root(t);
	f = tb_create(t, 1, "tmp");
	tb_write(t, f, 0, "new");
	tb_fsync(t, f);
	tb_fsyncdir(t, 1);
	return tb_rename(t, 1, "tmp", 1, "cfg", f, 0);
}

static void test_rename_without_dirsync(void **state)
{
	struct tb t;
	uint64_t k;
	struct tb_count c;

	(void)state;
	tb_open(&t);
	k = rename_trace(&t);
	assert_non_null(tb_load(&t));
	c = tb_count_states(t.m, "strict", k, "cfg", NULL);
	assert_int_equal(c.match, c.total);
	c = tb_count_states(t.m, "posix", k, "cfg", NULL);
	assert_true(c.match > 0 && c.match < c.total);
	/* the rename is atomic: never both names, never neither */
	c = tb_count_states(t.m, "posix", k, "tmp", NULL);
	assert_true(c.match > 0);
	tb_close(&t);
}

static void test_rename_with_dirsync(void **state)
{
	const char *models[] = {"posix", "ext4", "strict", "prefix"};
	struct tb t;
	uint64_t k;

	(void)state;
	tb_open(&t);
	rename_trace(&t);
	k = tb_fsyncdir(&t, 1);
	assert_non_null(tb_load(&t));
	for (size_t i = 0; i < 4; i++) {
		struct tb_count c =
		    tb_count_states(t.m, models[i], k, "cfg", "new");

		assert_int_equal(c.match, c.total);
		c = tb_count_states(t.m, models[i], k, "tmp", NULL);
		assert_int_equal(c.match, c.total);
	}
	tb_close(&t);
}

static void test_rename_persists_by_source_dir(void **state)
{
	struct tb t;
	uint64_t d, e, f, k;
	struct tb_count c;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	d = tb_mkdir(&t, 1, "d");
	e = tb_mkdir(&t, 1, "e");
	f = tb_create(&t, d, "x");
	tb_write(&t, f, 0, "1");
	tb_fsync(&t, f);
	tb_fsyncdir(&t, d);
	tb_fsyncdir(&t, 1);
	tb_rename(&t, d, "x", e, "y", f, 0);
	k = tb_fsyncdir(&t, d); /* the source directory only */
	assert_non_null(tb_load(&t));
	c = tb_count_states(t.m, "posix", k, "e/y", "1");
	assert_int_equal(c.match, c.total);
	tb_close(&t);
}

static void test_new_file_fsync_without_dirsync(void **state)
{
	struct tb t;
	uint64_t f, k;
	struct tb_count c;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "new");
	tb_write(&t, f, 0, "data");
	k = tb_fsync(&t, f);
	assert_non_null(tb_load(&t));
	/* posix: fsync of a new file does not persist its name */
	c = tb_count_states(t.m, "posix", k, "new", NULL);
	assert_true(c.match > 0);
	c = tb_count_states(t.m, "strict", k, "new", NULL);
	assert_int_equal(c.match, c.total);
	/* ext4: it does */
	c = tb_count_states(t.m, "ext4", k, "new", "data");
	assert_true(c.total > 0);
	assert_int_equal(c.match, c.total);
	tb_close(&t);
}

static void test_ext4_fsync_commits_earlier_metadata(void **state)
{
	struct tb t;
	uint64_t b, k;
	struct tb_count c;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	tb_create(&t, 1, "a");
	b = tb_create(&t, 1, "b");
	tb_write(&t, b, 0, "b");
	k = tb_fsync(&t, b);
	assert_non_null(tb_load(&t));
	c = tb_count_states(t.m, "ext4", k, "a", "");
	assert_int_equal(c.match, c.total);
	c = tb_count_states(t.m, "posix", k, "a", NULL);
	assert_true(c.match > 0);
	tb_close(&t);
}

static bool mode_is(struct model *m, const void *arg)
{
	struct mnode *n;
	struct model_stat st;

	if (model_resolve(m, "f", &n))
		return false;
	model_stat(n, &st);
	return (st.mode & 07777) == *(const uint32_t *)arg;
}

static void test_fdatasync_vs_fsync(void **state)
{
	struct tb t;
	uint64_t f, k1, k2;
	uint32_t old = 0644, new = 0600;
	struct tb_count c;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	tb_fsync(&t, f);
	tb_fsyncdir(&t, 1);
	tb_chmod(&t, f, 0600);
	tb_write(&t, f, 0, "y");
	k1 = tb_fdatasync(&t, f);
	k2 = tb_fsync(&t, f);
	assert_non_null(tb_load(&t));
	/* fdatasync: the data is durable, the mode is not */
	c = tb_count_states(t.m, "strict", k1, "f", "y");
	assert_int_equal(c.match, c.total);
	c = tb_count_pred(t.m, "strict", k1, mode_is, &old);
	assert_int_equal(c.match, c.total);
	c = tb_count_pred(t.m, "posix", k1, mode_is, &new);
	assert_true(c.match > 0);
	/* fsync: both */
	c = tb_count_pred(t.m, "strict", k2, mode_is, &new);
	assert_int_equal(c.match, c.total);
	c = tb_count_pred(t.m, "posix", k2, mode_is, &new);
	assert_int_equal(c.match, c.total);
	tb_close(&t);
}

static void test_osync_write(void **state)
{
	struct tb t;
	uint64_t f, k1, k2;
	struct tb_count c;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	tb_fsync(&t, f);
	tb_fsyncdir(&t, 1);
	/* O_SYNC: the daemon records WRITE (TRF_SYNC) then FSYNC */
	k1 = tb_write_flags(&t, f, 0, "sync", 4, TRF_SYNC);
	k2 = tb_fsync(&t, f);
	assert_non_null(tb_load(&t));
	c = tb_count_states(t.m, "strict", k1, "f", "sync");
	assert_int_equal(c.match, c.total);
	c = tb_count_states(t.m, "posix", k2, "f", "sync");
	assert_int_equal(c.match, c.total);
	tb_close(&t);
}

/* cfg exists with "old"; tmp gets "new" and is renamed over it. */
static uint64_t replace_trace(struct tb *t, bool fsync_data)
{
	uint64_t f;

	tb_init_file(t, "cfg", "old");
	tb_bind_root(t);
	tb_bind(t, 2, 1, "cfg", S_IFREG | 0644, 3);
	f = tb_create(t, 1, "tmp");
	tb_write(t, f, 0, "new");
	if (fsync_data)
		tb_fsync(t, f);
	tb_rename(t, 1, "tmp", 1, "cfg", f, 2);
	return tb_fsyncdir(t, 1);
}

static void test_replace_without_data_fsync(void **state)
{
	struct tb t;
	uint64_t k;
	struct tb_count c;

	(void)state;
	tb_open(&t);
	k = replace_trace(&t, false);
	assert_non_null(tb_load(&t));
	/* posix: one state has the target empty */
	c = tb_count_states(t.m, "posix", k, "cfg", "");
	assert_true(c.match > 0);
	/* ext4 (auto_da_alloc): none */
	c = tb_count_states(t.m, "ext4", k, "cfg", "");
	assert_int_equal(c.match, 0);
	c = tb_count_states(t.m, "ext4", k, "cfg", "new");
	assert_int_equal(c.match, c.total);
	/* and before the directory fsync, the old content is possible */
	c = tb_count_states(t.m, "posix", k - 1, "cfg", "old");
	assert_true(c.match > 0);
	tb_close(&t);
}

static void test_replace_with_data_fsync(void **state)
{
	struct tb t;
	uint64_t k;
	struct tb_count c;

	(void)state;
	tb_open(&t);
	k = replace_trace(&t, true);
	assert_non_null(tb_load(&t));
	c = tb_count_states(t.m, "posix", k, "cfg", "new");
	assert_int_equal(c.match, c.total);
	/* atomic at every point: old or new, never anything else */
	for (uint64_t p = 3; p <= k; p++) {
		struct tb_count o =
		    tb_count_states(t.m, "posix", p, "cfg", "old");
		struct tb_count n =
		    tb_count_states(t.m, "posix", p, "cfg", "new");

		assert_int_equal(o.match + n.match, o.total);
	}
	tb_close(&t);
}

static void test_fsyncdir_datasync_persists_entries(void **state)
{
	struct tb t;
	uint64_t f, k;
	struct tb_count c;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "j");
	tb_fsync(&t, f);
	k = tb_simple(&t, TR_FSYNCDIR, 1, TRF_DATASYNC);
	assert_non_null(tb_load(&t));
	c = tb_count_states(t.m, "strict", k, "j", "");
	assert_int_equal(c.match, c.total);
	tb_close(&t);
}

static void test_unlink_durability(void **state)
{
	struct tb t;
	uint64_t k1, k2;
	struct tb_count c;

	(void)state;
	tb_open(&t);
	tb_init_file(&t, "old", "x");
	tb_bind_root(&t);
	tb_bind(&t, 2, 1, "old", S_IFREG | 0644, 1);
	k1 = tb_unlink(&t, 1, "old", 2);
	k2 = tb_fsyncdir(&t, 1);
	assert_non_null(tb_load(&t));
	c = tb_count_states(t.m, "posix", k1, "old", "x");
	assert_true(c.match > 0);
	/* a file whose durable names are all gone is gone */
	c = tb_count_states(t.m, "posix", k2, "old", NULL);
	assert_int_equal(c.match, c.total);
	tb_close(&t);
}

static bool zero_filled(struct model *m, const void *arg)
{
	struct mnode *n;
	char buf[8];

	(void)arg;
	if (model_resolve(m, "f", &n))
		return false;
	return model_read(m, n, 0, buf, sizeof(buf)) == 3 &&
	       !memcmp(buf, "\0\0\0", 3);
}

static void test_size_without_data(void **state)
{
	struct tb t;
	uint64_t f, k;
	struct tb_count c;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	tb_fsync(&t, f);
	tb_fsyncdir(&t, 1);
	k = tb_write(&t, f, 0, "abc");
	assert_non_null(tb_load(&t));
	c = tb_count_pred(t.m, "posix", k, zero_filled, NULL);
	assert_true(c.match > 0);
	c = tb_count_pred(t.m, "ext4", k, zero_filled, NULL);
	assert_int_equal(c.match, 0);
	c = tb_count_pred(t.m, "prefix", k, zero_filled, NULL);
	assert_int_equal(c.match, 0);
	tb_close(&t);
}

static void test_metadata_in_program_order(void **state)
{
	struct tb t;
	uint64_t k;
	struct tb_count both, a, b;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	tb_create(&t, 1, "first");
	tb_create(&t, 1, "second");
	k = tb_seq(&t);
	assert_non_null(tb_load(&t));
	/* "second" without "first" never happens; every other mix does */
	a = tb_count_states(t.m, "posix", k, "first", "");
	b = tb_count_states(t.m, "posix", k, "second", NULL);
	both = tb_count_states(t.m, "posix", k, "second", "");
	assert_true(a.match > 0 && b.match > 0 && both.match > 0);
	assert_true(a.match >= both.match);
	tb_close(&t);
}

static bool second_without_first(struct model *m, const void *arg)
{
	char *f = tb_content(m, "first"), *s = tb_content(m, "second");
	bool bad = s && !f;

	(void)arg;
	free(f);
	free(s);
	return bad;
}

static void test_metadata_order_every_model(void **state)
{
	const char *models[] = {"posix", "ext4", "strict", "prefix"};
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	tb_create(&t, 1, "first");
	tb_create(&t, 1, "second");
	tb_fsync(&t, 101);
	assert_non_null(tb_load(&t));
	for (size_t i = 0; i < 4; i++) {
		struct tb_count c = tb_count_pred(t.m, models[i], ALL,
						  second_without_first, NULL);

		assert_int_equal(c.match, 0);
	}
	tb_close(&t);
}

static void test_close_is_not_durable(void **state)
{
	struct tb t;
	uint64_t f, k;
	struct tb_count c;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	tb_fsync(&t, f);
	tb_fsyncdir(&t, 1);
	tb_write(&t, f, 0, "data");
	tb_simple(&t, TR_FLUSH, f, 0);
	tb_simple(&t, TR_RELEASE, f, 0);
	k = tb_seq(&t) - 1; /* FLUSH is not a crash point: the write is */
	(void)k;
	assert_non_null(tb_load(&t));
	c = tb_count_states(t.m, "strict", ALL, "f", "data");
	assert_int_equal(c.match, 0);
	tb_close(&t);
}

static void test_failed_fsync(void **state)
{
	struct tb t;
	uint64_t f, k;
	struct tb_count c;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	tb_fsync(&t, f);
	tb_fsyncdir(&t, 1);
	tb_write(&t, f, 0, "lost");
	tb_fsync_eio(&t, f);
	k = tb_fsync(&t, f); /* succeeds, writes nothing */
	assert_non_null(tb_load(&t));
	c = tb_count_states(t.m, "strict", k, "f", "");
	assert_int_equal(c.match, c.total);
	c = tb_count_states(t.m, "posix", k, "f", "lost");
	assert_true(c.match > 0 && c.match < c.total);
	tb_close(&t);
}

static uint64_t tb_sync(struct tb *t, uint32_t kind)
{
	struct trace_rec r = {.type = TR_SYNC, .oflags = kind, .pid = 9};

	tb_rec(t, &r);
	return r.seq;
}

static const char *const every_model[] = {"posix", "ext4", "strict", "prefix"};

/*
 * sync(2), syncfs(2) or a declared sync point: every earlier op of every
 * file is durable, names in new directories included, under every model.
 */
static void test_sync_makes_everything_durable(void **state)
{
	struct tb t;
	uint64_t f, d, g, before, k;
	struct tb_count c;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	tb_write(&t, f, 0, "new");
	d = tb_mkdir(&t, 1, "d");
	g = tb_create(&t, d, "g");
	tb_write(&t, g, 0, "gee");
	before = tb_truncate(&t, g, 2);
	k = tb_sync(&t, TRS_SYNC);
	assert_non_null(tb_load(&t));
	/* before it, posix can lose them ... */
	c = tb_count_states(t.m, "posix", before, "f", NULL);
	assert_true(c.match > 0);
	c = tb_count_states(t.m, "posix", before, "d/g", "ge");
	assert_true(c.match < c.total);
	/* ... at it, nothing can */
	for (size_t i = 0; i < 4; i++) {
		c = tb_count_states(t.m, every_model[i], k, "f", "new");
		assert_true(c.total > 0);
		assert_int_equal(c.match, c.total);
		c = tb_count_states(t.m, every_model[i], k, "d/g", "ge");
		assert_int_equal(c.match, c.total);
	}
	tb_close(&t);
}

/* Each sync point covers what came before it, nothing after. */
static void test_sync_points_in_order(void **state)
{
	struct tb t;
	uint64_t a, b, c1, k;
	struct tb_count c;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	a = tb_create(&t, 1, "a");
	tb_write(&t, a, 0, "A");
	tb_sync(&t, TRS_CTL);
	b = tb_create(&t, 1, "b");
	tb_write(&t, b, 0, "B");
	tb_sync(&t, TRS_SYNCFS);
	c1 = tb_create(&t, 1, "c");
	k = tb_write(&t, c1, 0, "C");
	assert_non_null(tb_load(&t));
	for (size_t i = 0; i < 4; i++) {
		c = tb_count_states(t.m, every_model[i], k, "a", "A");
		assert_int_equal(c.match, c.total);
		c = tb_count_states(t.m, every_model[i], k, "b", "B");
		assert_int_equal(c.match, c.total);
	}
	c = tb_count_states(t.m, "strict", k, "c", NULL);
	assert_int_equal(c.match, c.total);
	tb_close(&t);
}

/* A sync does not bring back the writes a failed fsync lost (the kernel
 * marked their pages clean), nor is sync_file_range a sync point. */
static void test_sync_after_failed_fsync_and_range(void **state)
{
	struct tb t;
	uint64_t f, k;
	struct tb_count c;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	tb_fsync(&t, f);
	tb_fsyncdir(&t, 1);
	tb_write(&t, f, 0, "lost");
	tb_fsync_eio(&t, f);
	k = tb_sync(&t, TRS_SYNC);
	assert_non_null(tb_load(&t));
	c = tb_count_states(t.m, "strict", k, "f", "");
	assert_true(c.total > 0);
	assert_int_equal(c.match, c.total);
	tb_close(&t);

	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	tb_fsync(&t, f);
	tb_fsyncdir(&t, 1);
	k = tb_write(&t, f, 0, "maybe");
	{
		struct trace_rec r = {
		    .type = TR_SYNC_RANGE, .id = f, .len = 5, .oflags = 7};

		tb_rec(&t, &r);
	}
	assert_non_null(tb_load(&t));
	c = tb_count_states(t.m, "strict", k, "f", "");
	assert_int_equal(c.match, c.total);
	c = tb_count_states(t.m, "posix", k, "f", "");
	assert_true(c.match > 0);
	tb_close(&t);
}

static void test_model_table(void **state)
{
	(void)state;
	assert_string_equal(persist_models[0]->name, "posix");
	assert_non_null(persist_find("ext4"));
	assert_non_null(persist_find("strict"));
	assert_non_null(persist_find("prefix"));
	assert_null(persist_find("ext5"));
	assert_null(persist_find(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_model_table),
	    cmocka_unit_test(test_write_without_fsync),
	    cmocka_unit_test(test_write_with_fsync_durable),
	    cmocka_unit_test(test_rename_without_dirsync),
	    cmocka_unit_test(test_rename_with_dirsync),
	    cmocka_unit_test(test_rename_persists_by_source_dir),
	    cmocka_unit_test(test_new_file_fsync_without_dirsync),
	    cmocka_unit_test(test_ext4_fsync_commits_earlier_metadata),
	    cmocka_unit_test(test_fdatasync_vs_fsync),
	    cmocka_unit_test(test_osync_write),
	    cmocka_unit_test(test_replace_without_data_fsync),
	    cmocka_unit_test(test_replace_with_data_fsync),
	    cmocka_unit_test(test_fsyncdir_datasync_persists_entries),
	    cmocka_unit_test(test_unlink_durability),
	    cmocka_unit_test(test_size_without_data),
	    cmocka_unit_test(test_metadata_in_program_order),
	    cmocka_unit_test(test_metadata_order_every_model),
	    cmocka_unit_test(test_close_is_not_durable),
	    cmocka_unit_test(test_failed_fsync),
	    cmocka_unit_test(test_sync_makes_everything_durable),
	    cmocka_unit_test(test_sync_points_in_order),
	    cmocka_unit_test(test_sync_after_failed_fsync_and_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
