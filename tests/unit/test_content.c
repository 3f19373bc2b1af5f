/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Content hashes: a file's hash is a function of its bytes alone (however
 * many writes, overlaps, holes and truncates made them, across block
 * boundaries), the cache rereads only what changed, and a directory's
 * hash sees names and content but not modes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/content.h"
#include "tb.h"

static uint64_t hash_of(struct content *c, struct model *m, const char *path)
{
	struct mnode *n = NULL;
	uint64_t h = 0;

	assert_int_equal(model_resolve(m, path, &n), 0);
	assert_non_null(n);
	assert_int_equal(content_hash(c, m, n, &h), 0);
	return h;
}

/* The hash of what model_read() gives for path. */
static uint64_t bytes_of(struct model *m, const char *path)
{
	struct mnode *n = NULL;
	char *buf = NULL;
	size_t len = 0;
	uint64_t h;

	assert_int_equal(model_resolve(m, path, &n), 0);
	assert_int_equal(model_read_all(m, n, &buf, &len), 0);
	h = content_hash_bytes(buf, len);
	free(buf);
	return h;
}

static void test_random_writes(void **state)
{
	enum { SIZE = 5 * CONTENT_BLOCK + 123, OPS = 60 };
	static char data[SIZE];
	struct content *c = content_new();
	struct tb t;
	uint64_t f, seqs[OPS];
	unsigned r = 12345;

	(void)state;
	assert_non_null(c);
	for (size_t i = 0; i < SIZE; i++)
		data[i] = (char)(i * 31 + 7);
	tb_open(&t);
	tb_init_file(&t, "init", "initial bytes of a file");
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	for (int i = 0; i < OPS; i++) {
		uint64_t off, len;

		r = r * 1103515245 + 12345;
		off = (r >> 8) % SIZE;
		len = 1 + (r >> 3) % (2 * CONTENT_BLOCK);
		if (off + len > SIZE)
			len = SIZE - off;
		if (i % 17 == 16)
			seqs[i] = tb_truncate(&t, f, off / 2);
		else
			seqs[i] = tb_write_flags(&t, f, off, data + off,
						 (uint32_t)len, 0);
	}
	assert_non_null(tb_load(&t));
	/* every visible state of f, in order and out of order */
	for (int i = 0; i < OPS; i++) {
		model_goto_visible(t.m, seqs[i]);
		assert_true(hash_of(c, t.m, "f") == bytes_of(t.m, "f"));
	}
	for (int i = OPS - 1; i >= 0; i -= 7) {
		model_goto_visible(t.m, seqs[i]);
		assert_true(hash_of(c, t.m, "f") == bytes_of(t.m, "f"));
	}
	/* a file of the initial image */
	assert_true(hash_of(c, t.m, "init") ==
		    content_hash_bytes("initial bytes of a file", 23));
	content_free(&c);
	assert_null(c);
	tb_close(&t);
}

static void test_cache_reads_only_changes(void **state)
{
	enum { SIZE = 8 * CONTENT_BLOCK };
	static char data[SIZE];
	struct content *c = content_new();
	struct tb t;
	uint64_t f, w1, w2, read;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	w1 = tb_write_flags(&t, f, 0, data, SIZE, 0);
	w2 = tb_write(&t, f, 3 * CONTENT_BLOCK + 10, "x");
	assert_non_null(tb_load(&t));
	model_goto_visible(t.m, w1);
	hash_of(c, t.m, "f");
	read = content_bytes_read(c);
	assert_int_equal(read, SIZE);
	hash_of(c, t.m, "f"); /* unchanged: nothing read */
	assert_int_equal(content_bytes_read(c), read);
	model_goto_visible(t.m, w2); /* one block changed */
	hash_of(c, t.m, "f");
	assert_int_equal(content_bytes_read(c), read + CONTENT_BLOCK);
	model_goto_visible(t.m, w1); /* back: every block is known */
	hash_of(c, t.m, "f");
	assert_int_equal(content_bytes_read(c), read + CONTENT_BLOCK);
	content_free(&c);
	tb_close(&t);
}

static void test_directory(void **state)
{
	struct content *c = content_new();
	struct tb t;
	uint64_t d, e, a, b, h1, h2, h3, h4, s1, s2, s3;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	d = tb_mkdir(&t, 1, "d");
	e = tb_mkdir(&t, 1, "e");
	a = tb_create(&t, d, "a");
	tb_write(&t, a, 0, "same");
	b = tb_create(&t, e, "a");
	tb_write(&t, b, 0, "same");
	s1 = tb_chmod(&t, d, S_IFDIR | 0700);
	s2 = tb_chmod(&t, a, S_IFREG | 0600);
	s3 = tb_rename(&t, e, "a", e, "b", b, 0);
	assert_non_null(tb_load(&t));
	model_goto_visible(t.m, s1 - 1);
	h1 = hash_of(c, t.m, "d");
	assert_true(h1 == hash_of(c, t.m, "e")); /* same names, bytes */
	model_goto_visible(t.m, s2);
	h2 = hash_of(c, t.m, "d");
	assert_true(h1 == h2); /* modes are not content */
	model_goto_visible(t.m, s3);
	h3 = hash_of(c, t.m, "e");
	assert_true(h3 != h1); /* a name is */
	h4 = hash_of(c, t.m, "d/a");
	assert_true(h4 != h1); /* a file is not its directory */
	content_free(&c);
	tb_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_writes),
	    cmocka_unit_test(test_cache_reads_only_changes),
	    cmocka_unit_test(test_directory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
