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

#include "core/cutplan.h"
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

/* A seeded cut by an older daemon ("posix seed=S meta=B"): the metadata
 * up to the record seq it names, each file's pending data all or none as
 * the seed draws from its id. */
static void test_legacy_seeded_cut(void **state)
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
		snprintf(name, sizeof(name), "posix seed=%llu meta=%llu",
			 (unsigned long long)seed, (unsigned long long)meta);
		tb_powercut(&t, name);
		assert_non_null(tb_load(&t));
		tb_assert_content(t.m, "k", "");
		tb_assert_content(t.m, "h", NULL);
		for (int i = 0; i < 8; i++) {
			snprintf(fname, sizeof(fname), "f%d", i);
			tb_assert_content(t.m, fname,
					  i && (cutplan_mix(seed, id[i]) & 1)
					      ? "NEW"
					      : "old");
		}
		(void)h;
		(void)k;
		tb_close(&t);
	}
}

/* path's bytes are want[0, len). */
static void assert_bytes(struct model *m, const char *path, const char *want,
			 size_t len)
{
	struct mnode *n;
	size_t got;
	char *buf;

	assert_int_equal(model_resolve(m, path, &n), 0);
	assert_int_equal(model_read_all(m, n, &buf, &got), 0);
	assert_int_equal(got, len);
	assert_memory_equal(buf, want, len);
	free(buf);
}

struct bytes {
	const char *p;
	size_t len;
};

/* f holds exactly the bytes arg names. */
static bool f_is(struct model *m, const void *arg)
{
	const struct bytes *b = arg;
	struct mnode *n;
	size_t got;
	char *buf;
	bool ok;

	if (model_resolve(m, "f", &n) || model_read_all(m, n, &buf, &got))
		return false;
	ok = got == b->len && !memcmp(buf, b->p, got);
	free(buf);
	return ok;
}

/* A synced file f of 4 sectors of 'o'; returns its id. */
static uint64_t synced_file(struct tb *t, char *base)
{
	uint64_t f;

	memset(base, 'o', 2048);
	f = tb_create(t, 1, "f");
	tb_write_flags(t, f, 0, base, 2048, 0);
	tb_fsync(t, f);
	tb_fsyncdir(t, 1);
	return f;
}

/* LazyFS's torn-seq as a partial cut: writes 1 and 4 of the file persist,
 * 2 and 3 do not; an unsynced create after meta is gone. */
static void test_partial_select(void **state)
{
	char base[2048], sec[512], want[2048], name[128];
	uint64_t f, meta;
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = synced_file(&t, base);
	memcpy(want, base, sizeof(want));
	for (int i = 0; i < 4; i++) {
		memset(sec, 'a' + i, sizeof(sec));
		tb_write_flags(&t, f, (uint64_t)i * 512, sec, 512, 0);
		if (i == 0 || i == 3)
			memcpy(want + i * 512, sec, 512);
	}
	meta = tb_seq(&t);
	tb_create(&t, 1, "late");
	snprintf(name, sizeof(name),
		 "posix meta=%llu unit=512 file=%llu writes=1,4",
		 (unsigned long long)meta, (unsigned long long)f);
	tb_powercut(&t, name);
	assert_non_null(tb_load(&t));
	assert_bytes(t.m, "f", want, sizeof(want));
	tb_assert_content(t.m, "late", NULL);
	tb_close(&t);
}

/* LazyFS's torn-op: a new file's one write in three parts, the first and
 * the last persisting; the size is the end of the last. */
static void test_partial_parts(void **state)
{
	char data[1536], want[1536], name[128];
	uint64_t f, meta;
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i / 512);
	tb_write_flags(&t, f, 0, data, sizeof(data), 0);
	meta = tb_seq(&t); /* the create persists */
	snprintf(name, sizeof(name),
		 "posix meta=%llu unit=512 file=%llu write=1 parts=3 "
		 "persist=1,3",
		 (unsigned long long)meta, (unsigned long long)f);
	tb_powercut(&t, name);
	tb_write(&t, f, 2000, "!"); /* after the cut: on top of it */
	assert_non_null(tb_load(&t));
	memcpy(want, data, sizeof(want));
	memset(want + 512, 0, 512);
	{
		char w2[2001];

		memset(w2, 0, sizeof(w2));
		memcpy(w2, want, sizeof(want));
		w2[2000] = '!';
		assert_bytes(t.m, "f", w2, sizeof(w2));
	}
	tb_close(&t);
}

/* A dropped O_TRUNC: the new content written after it cannot persist over
 * the old (no "new content" hybrid), whatever the selection asks. */
static void test_partial_block(void **state)
{
	char base[2048], name[128];
	uint64_t f, meta;
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = synced_file(&t, base);
	meta = tb_seq(&t);
	tb_truncate(&t, f, 0);
	tb_write(&t, f, 0, "new");
	snprintf(name, sizeof(name),
		 "posix meta=%llu unit=512 file=%llu writes=1",
		 (unsigned long long)meta, (unsigned long long)f);
	tb_powercut(&t, name);
	assert_non_null(tb_load(&t));
	assert_bytes(t.m, "f", base, sizeof(base));
	tb_close(&t);
}

/* Seeded partial cuts of random writes to one file: the engine's tree is
 * what the plan (core/cutplan.h) of the writes the test made says, applied
 * byte by byte here; and it is durable from the cut on. */
static void test_partial_seeded(void **state)
{
	static char data[8192], want[16384];
	struct cutplan_item it[40];
	unsigned int r = 99;
	char name[128];
	int torn = 0, sizes = 0;

	(void)state;
	for (uint64_t seed = 1; seed <= 60; seed++) {
		struct cutplan_spec s = {.unit = seed % 3 ? 512 : 4096,
					 .mode = CUTPLAN_SEEDED,
					 .seed = seed};
		struct cutplan_file out;
		uint64_t f, size = 700, len = 700, first = 0, cut;
		struct tb t;
		size_t n = 1 + rand_r(&r) % 12;

		tb_open(&t);
		tb_bind_root(&t);
		f = tb_create(&t, 1, "f");
		memset(want, 0, sizeof(want));
		memset(want, 'o', 700);
		tb_write_flags(&t, f, 0, want, 700, 0);
		tb_fsync(&t, f);
		tb_fsyncdir(&t, 1);
		for (size_t i = 0; i < n; i++) {
			uint64_t off = (uint64_t)(rand_r(&r) % 6000);
			uint32_t l = 1 + (uint32_t)(rand_r(&r) % 3000);

			memset(data, 'A' + (int)i, l);
			it[i] = (struct cutplan_item){
			    .kind = CI_WRITE,
			    .extends = off + l > size,
			    .off = off,
			    .end = off + l,
			};
			it[i].seq = tb_write_flags(&t, f, off, data, l, 0);
			if (!first)
				first = f;
			if (off + l > size)
				size = off + l;
		}
		s.meta = tb_seq(&t);
		cutplan_format(&s, name, sizeof(name));
		tb_powercut(&t, name);
		tb_create(&t, 1, "g");
		cut = tb_fsyncdir(&t, 1); /* a crash point after it */
		assert_non_null(tb_load(&t));
		assert_int_equal(cutplan_file(&s, f, it, n, &out), 0);
		for (size_t i = 0; i < n; i++) {
			const struct cutplan_fate *fa = &out.fate[i];

			for (uint32_t k = 0; k < fa->n; k++) {
				const struct cutplan_piece *p =
				    &out.pieces[fa->first + k];

				memset(want + p->off, 'A' + (int)i,
				       p->end - p->off);
			}
			if (fa->size > len)
				len = fa->size;
		}
		torn += out.torn > 0;
		sizes += out.size_only > 0;
		cutplan_file_release(&out);
		assert_bytes(t.m, "f", want, len);
		/* the cut's state is durable: the strict state after it */
		{
			struct bytes b = {want, len};
			struct tb_count c =
			    tb_count_pred(t.m, "strict", cut, f_is, &b);

			assert_int_equal(c.total, 1);
			assert_int_equal(c.match, 1);
		}
		tb_close(&t);
	}
	assert_true(torn > 5);
	assert_true(sizes > 2);
}

static void test_partial_bad_name(void **state)
{
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	tb_powercut(&t, "posix meta=3 unit=513 seed=1");
	assert_null(tb_load(&t));
	assert_non_null(strstr(t.err, "unit: 513"));
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
	    cmocka_unit_test(test_legacy_seeded_cut),
	    cmocka_unit_test(test_partial_select),
	    cmocka_unit_test(test_partial_parts),
	    cmocka_unit_test(test_partial_block),
	    cmocka_unit_test(test_partial_seeded),
	    cmocka_unit_test(test_partial_bad_name),
	    cmocka_unit_test(test_unknown_cut_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
