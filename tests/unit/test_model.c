/** @file
 *
 * Unit tests for core/model: the visible tree a trace leaves (content
 * through extents, holes, truncates, hard links, renames, exchange,
 * symlinks, xattrs, the initial image), the undo log, and hostile or
 * broken traces that must be rejected with a clear message.
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

static void test_writes_and_truncates(void **state)
{
	struct tb t;
	uint64_t f;
	struct mnode *n;
	char buf[16];

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	tb_write(&t, f, 0, "hello world");
	tb_write(&t, f, 6, "WORLD");
	tb_write(&t, f, 2, "LL");
	tb_truncate(&t, f, 8);
	tb_write(&t, f, 10, "x"); /* a hole at 8..9 */
	assert_non_null(tb_load(&t));
	assert_int_equal(model_resolve(t.m, "f", &n), 0);
	assert_int_equal(model_read(t.m, n, 0, buf, sizeof(buf)), 11);
	assert_memory_equal(buf, "heLLo WO\0\0x", 11);
	/* reading in the middle, across extents */
	assert_int_equal(model_read(t.m, n, 3, buf, 4), 4);
	assert_memory_equal(buf, "Lo W", 4);
	assert_int_equal(model_read(t.m, n, 11, buf, 4), 0);
	tb_close(&t);
}

static void test_initial_image_and_bind(void **state)
{
	struct tb t;
	char p[256];

	(void)state;
	tb_open(&t);
	tb_init_file(&t, "keep", "untouched");
	tb_init_file(&t, "cfg", "0123456789");
	snprintf(p, sizeof(p), "%s/sub", t.init);
	assert_int_equal(mkdir(p, 0755), 0);
	tb_init_file(&t, "sub/deep", "deep");
	snprintf(p, sizeof(p), "%s/link", t.init);
	assert_int_equal(symlink("cfg", p), 0);
	tb_bind_root(&t);
	tb_bind(&t, 2, 1, "cfg", S_IFREG | 0644, 10);
	tb_write(&t, 2, 2, "ab");
	assert_non_null(tb_load(&t));
	assert_content(t.m, "cfg", "01ab456789");
	assert_content(t.m, "keep", "untouched");
	assert_content(t.m, "sub/deep", "deep");
	{
		struct mnode *n;

		assert_int_equal(model_resolve(t.m, "link", &n), 0);
		assert_string_equal(model_symlink(n), "cfg");
		/* symlinks are never followed */
		assert_int_equal(model_resolve(t.m, "link/x", &n), -ENOTDIR);
	}
	/* back to the initial image */
	model_reset(t.m);
	assert_content(t.m, "cfg", "0123456789");
	model_goto_visible(t.m, 3);
	assert_content(t.m, "cfg", "01ab456789");
	tb_close(&t);
}

static void test_initial_hard_links(void **state)
{
	struct tb t;
	char a[256], b[256];
	struct mnode *n;
	struct model_stat st;

	(void)state;
	tb_open(&t);
	tb_init_file(&t, "a", "shared");
	snprintf(a, sizeof(a), "%s/a", t.init);
	snprintf(b, sizeof(b), "%s/b", t.init);
	assert_int_equal(link(a, b), 0);
	tb_bind_root(&t);
	tb_bind(&t, 2, 1, "a", S_IFREG | 0644, 6);
	tb_bind(&t, 2, 1, "b", S_IFREG | 0644, 6); /* one more name */
	tb_bind(&t, 3, 1, "b", S_IFREG | 0644, 6); /* another id */
	tb_write(&t, 3, 0, "SH");
	tb_unlink(&t, 1, "a", 2);
	assert_non_null(tb_load(&t));
	assert_content(t.m, "a", NULL);
	assert_content(t.m, "b", "SHared");
	assert_int_equal(model_resolve(t.m, "b", &n), 0);
	model_stat(n, &st);
	assert_int_equal(st.nlink, 1);
	model_reset(t.m);
	assert_content(t.m, "a", "shared");
	assert_int_equal(model_resolve(t.m, "a", &n), 0);
	model_stat(n, &st);
	assert_int_equal(st.nlink, 2);
	tb_close(&t);
}

static void test_links_renames_exchange(void **state)
{
	struct tb t;
	uint64_t a, b, d;
	struct mnode *n;
	struct model_stat st;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	a = tb_create(&t, 1, "a");
	tb_write(&t, a, 0, "A");
	b = tb_create(&t, 1, "b");
	tb_write(&t, b, 0, "B");
	d = tb_mkdir(&t, 1, "d");
	{
		struct trace_rec r = {
		    .type = TR_LINK, .id = a, .parent = d, .name = "a2"};

		tb_rec(&t, &r);
	}
	{
		struct trace_rec r = {.type = TR_RENAME,
				      .parent = 1,
				      .name = "a",
				      .parent2 = 1,
				      .name2 = "b",
				      .id = a,
				      .id2 = b,
				      .oflags = RENAME_EXCHANGE};

		tb_rec(&t, &r);
	}
	tb_rename(&t, d, "a2", 1, "c", a, 0);
	{
		struct trace_rec r = {.type = TR_SYMLINK,
				      .parent = 1,
				      .name = "s",
				      .id = 200,
				      .name2 = "../../etc/passwd"};

		tb_rec(&t, &r);
	}
	assert_non_null(tb_load(&t));
	assert_content(t.m, "a", "B");
	assert_content(t.m, "b", "A");
	assert_content(t.m, "c", "A");
	assert_content(t.m, "d/a2", NULL);
	assert_int_equal(model_resolve(t.m, "c", &n), 0);
	model_stat(n, &st);
	assert_int_equal(st.nlink, 2);
	assert_int_equal(st.id, a);
	/* a symlink's target is data, whatever it says */
	assert_int_equal(model_resolve(t.m, "s", &n), 0);
	assert_string_equal(model_symlink(n), "../../etc/passwd");
	tb_close(&t);
}

static void test_xattrs_and_modes(void **state)
{
	struct tb t;
	uint64_t f;
	struct mnode *n;
	struct model_stat st;
	const char *name;
	const void *val;
	uint32_t len;
	size_t i = 0;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	{
		struct trace_rec r = {.type = TR_SETXATTR,
				      .id = f,
				      .name = "user.k",
				      .data = "v1",
				      .data_len = 2};

		tb_rec(&t, &r);
		r.name = "user.gone";
		tb_rec(&t, &r);
		r.name = "user.k";
		r.data = "v2";
		tb_rec(&t, &r);
	}
	{
		struct trace_rec r = {
		    .type = TR_REMOVEXATTR, .id = f, .name = "user.gone"};

		tb_rec(&t, &r);
	}
	tb_chmod(&t, f, 0600);
	assert_non_null(tb_load(&t));
	assert_int_equal(model_resolve(t.m, "f", &n), 0);
	assert_true(model_xattr(n, &i, &name, &val, &len));
	assert_string_equal(name, "user.k");
	assert_int_equal(len, 2);
	assert_memory_equal(val, "v2", 2);
	assert_false(model_xattr(n, &i, &name, &val, &len));
	model_stat(n, &st);
	assert_int_equal(st.mode, S_IFREG | 0600);
	tb_close(&t);
}

static void test_failed_records_change_nothing(void **state)
{
	struct tb t;
	uint64_t f;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	{
		struct trace_rec r = {.type = TR_WRITE,
				      .id = f,
				      .data = "no",
				      .data_len = 2,
				      .result = -ENOSPC};

		tb_rec(&t, &r);
	}
	{
		/* a failed unlink of a name that does not exist is fine */
		struct trace_rec r = {.type = TR_UNLINK,
				      .parent = 1,
				      .name = "nope",
				      .result = -ENOENT};

		tb_rec(&t, &r);
	}
	assert_non_null(tb_load(&t));
	assert_content(t.m, "f", "");
	tb_close(&t);
}

static void test_undo_log(void **state)
{
	struct tb t;
	uint64_t f, h0, h1;
	size_t mark;
	const struct model_op *op;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	tb_write(&t, f, 0, "one");
	tb_rename(&t, 1, "f", 1, "g", f, 0);
	tb_write(&t, f, 0, "two!");
	assert_non_null(tb_load(&t));
	model_goto_visible(t.m, 3);
	h0 = model_hash(t.m, model_root(t.m));
	mark = model_mark(t.m);
	for (uint64_t s = 4; s <= 5; s++) {
		op = model_op_seq(t.m, s);
		model_apply_ns(t.m, op);
		model_apply_node(t.m, op, MV_FULL, 512);
	}
	assert_content(t.m, "g", "two!");
	h1 = model_hash(t.m, model_root(t.m));
	assert_true(h0 != h1);
	model_rollback(t.m, mark);
	assert_content(t.m, "f", "one");
	assert_content(t.m, "g", NULL);
	assert_true(model_hash(t.m, model_root(t.m)) == h0);
	tb_close(&t);
}

static void expect_reject(struct tb *t, const char *what)
{
	assert_int_equal(trace_writer_close(&t->w), 0);
	t->m = model_load(t->trace, t->init, t->err, sizeof(t->err));
	assert_null(t->m);
	if (!strstr(t->err, what))
		fprintf(stderr, "message was: %s\n", t->err);
	assert_non_null(strstr(t->err, what));
}

static void test_hostile_dotdot(void **state)
{
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	tb_create(&t, 1, "..");
	expect_reject(&t, "hostile or invalid name '..'");
	assert_int_equal(errno, EINVAL);
	tb_close(&t);
}

static void test_hostile_slash(void **state)
{
	struct tb t;
	uint64_t f;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "ok");
	tb_rename(&t, 1, "ok", 1, "../../escape", f, 0);
	expect_reject(&t, "'../../escape'");
	tb_close(&t);
}

static void test_hostile_bind_outside(void **state)
{
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	tb_bind(&t, 5, 1, "/etc/passwd", S_IFREG | 0644, 0);
	expect_reject(&t, "hostile or invalid name");
	tb_close(&t);
}

static void test_unknown_id(void **state)
{
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	tb_write(&t, 77, 0, "x");
	expect_reject(&t, "file id 77 was never created or bound");
	assert_int_equal(errno, EBADMSG);
	tb_close(&t);
}

static void test_unknown_parent(void **state)
{
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	tb_create(&t, 42, "x");
	expect_reject(&t, "file id 42 was never created or bound");
	tb_close(&t);
}

static void test_inconsistent_trace(void **state)
{
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	tb_unlink(&t, 1, "missing", 0);
	expect_reject(&t, "no such entry");
	tb_close(&t);

	tb_open(&t);
	tb_bind_root(&t);
	tb_bind(&t, 2, 1, "not-in-image", S_IFREG | 0644, 0);
	expect_reject(&t, "no such entry in the initial image");
	tb_close(&t);

	tb_open(&t);
	tb_bind_root(&t);
	tb_create(&t, 1, "a");
	tb_create(&t, 1, "a");
	expect_reject(&t, "the name exists already");
	tb_close(&t);
}

static void test_record_cut_in_half(void **state)
{
	struct tb t;
	uint64_t f;
	struct stat st;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	tb_write(&t, f, 0, "whole");
	tb_write(&t, f, 0, "cut in half by a killed daemon");
	assert_int_equal(trace_writer_close(&t.w), 0);
	/* drop the TR_END record and half of the last write */
	assert_int_equal(stat(t.trace, &st), 0);
	assert_int_equal(truncate(t.trace, st.st_size - 60), 0);
	t.m = model_load(t.trace, t.init, t.err, sizeof(t.err));
	assert_non_null(t.m);
	assert_true(model_truncated(t.m));
	assert_int_equal(model_nops(t.m), 3);
	{
		char *c = tb_content(t.m, "f");

		assert_string_equal(c, "whole");
		free(c);
	}
	tb_close(&t);
}

static void test_corrupt_record(void **state)
{
	struct tb t;
	uint64_t f;
	struct stat st;
	int fd;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	tb_write(&t, f, 0, "some data here");
	tb_fsync(&t, f);
	assert_int_equal(trace_writer_close(&t.w), 0);
	assert_int_equal(stat(t.trace, &st), 0);
	fd = open(t.trace, O_WRONLY);
	assert_true(fd >= 0);
	/* flip a byte inside the write's payload */
	assert_int_equal(pwrite(fd, "X", 1, st.st_size - 60), 1);
	close(fd);
	t.m = model_load(t.trace, t.init, t.err, sizeof(t.err));
	assert_null(t.m);
	assert_non_null(strstr(t.err, "checksum"));
	tb_close(&t);
}

static void test_not_a_trace(void **state)
{
	struct tb t;
	char err[256];

	(void)state;
	tb_open(&t);
	tb_init_file(&t, "x", "not a trace at all");
	{
		char p[256];

		snprintf(p, sizeof(p), "%s/x", t.init);
		assert_null(model_load(p, NULL, err, sizeof(err)));
		assert_true(strlen(err) > 0);
	}
	tb_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_writes_and_truncates),
	    cmocka_unit_test(test_initial_image_and_bind),
	    cmocka_unit_test(test_initial_hard_links),
	    cmocka_unit_test(test_links_renames_exchange),
	    cmocka_unit_test(test_xattrs_and_modes),
	    cmocka_unit_test(test_failed_records_change_nothing),
	    cmocka_unit_test(test_undo_log),
	    cmocka_unit_test(test_hostile_dotdot),
	    cmocka_unit_test(test_hostile_slash),
	    cmocka_unit_test(test_hostile_bind_outside),
	    cmocka_unit_test(test_unknown_id),
	    cmocka_unit_test(test_unknown_parent),
	    cmocka_unit_test(test_inconsistent_trace),
	    cmocka_unit_test(test_record_cut_in_half),
	    cmocka_unit_test(test_corrupt_record),
	    cmocka_unit_test(test_not_a_trace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
