/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The built-in checks and the cause search on hand-built traces: what
 * --atomic and --durable accept and reject, which marks a checker sees,
 * and which operations a failure is blamed on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/content.h"
#include "harness/cause.h"
#include "harness/checks.h"
#include "tb.h"

/* Trace of rename-no-fsync: config.json = "old"; create config.json.tmp,
 * write "new", rename it over config.json, mark "saved". */
struct rnf {
	struct tb t;
	uint64_t tmp, old, w_seq, r_seq, mark_seq;
};

static uint64_t tb_mark(struct tb *t, const char *text)
{
	struct trace_rec r = {.type = TR_MARK, .name = text};

	tb_rec(t, &r);
	return r.seq;
}

static void build_rnf(struct rnf *x, bool fsync_tmp, bool sync_dir)
{
	tb_open(&x->t);
	tb_init_file(&x->t, "config.json", "old");
	tb_bind_root(&x->t);
	x->tmp = tb_create(&x->t, 1, "config.json.tmp");
	x->w_seq = tb_write(&x->t, x->tmp, 0, "new");
	if (fsync_tmp)
		tb_fsync(&x->t, x->tmp);
	x->old = 2;
	tb_bind(&x->t, x->old, 1, "config.json", S_IFREG | 0644, 3);
	x->r_seq = tb_rename(&x->t, 1, "config.json.tmp", 1, "config.json",
			     x->tmp, x->old);
	if (sync_dir)
		tb_fsyncdir(&x->t, 1);
	x->mark_seq = tb_mark(&x->t, "saved");
	assert_non_null(tb_load(&x->t));
}

static struct strv one(const char *p)
{
	struct strv v = {0};

	assert_int_equal(strv_push(&v, p), 0);
	return v;
}

static void test_versions_and_visible_states(void **state)
{
	struct rnf x;
	struct strv a = one("config.json"), d = one("config.json");
	struct checks *c;
	char err[256];

	(void)state;
	build_rnf(&x, true, true);
	c = checks_new(x.t.m, &a, &d, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(checks_nmarks(c), 1);
	assert_int_equal(checks_mark(c, 0)->seq, x.mark_seq);
	assert_string_equal(checks_mark(c, 0)->text, "saved");
	assert_int_equal(checks_durable_from(c), x.mark_seq);
	/* every visible state of a temp-file-and-rename is atomic */
	for (uint64_t k = 0; k <= x.mark_seq; k++) {
		model_goto_visible(x.t.m, k);
		assert_int_equal(
		    checks_eval(c, x.t.m, k, NULL) & (1u << SCN_ATOMIC), 0);
	}
	/* before the mark, durable does not apply; at it, the final
	 * version is there */
	model_goto_visible(x.t.m, 1);
	assert_int_equal(checks_eval(c, x.t.m, 1, NULL), 0);
	model_goto_visible(x.t.m, x.mark_seq);
	assert_int_equal(checks_eval(c, x.t.m, x.mark_seq, NULL), 0);
	/* the initial tree at the mark's point: durable fails */
	model_goto_visible(x.t.m, 0);
	assert_int_equal(checks_eval(c, x.t.m, x.mark_seq, NULL),
			 1u << SCN_DURABLE);
	assert_string_equal(
	    checks_describe(c, SCN_DURABLE, 0,
			    checks_version(x.t.m, "config.json")),
	    "its initial version");
	checks_free(&c);
	assert_null(c);
	strv_release(&a);
	strv_release(&d);
	tb_close(&x.t);
}

static void test_empty_file_is_not_a_version(void **state)
{
	struct rnf x;
	struct strv a = one("config.json");
	struct check_why why;
	struct checks *c;
	uint8_t choice[64];
	struct cause_state st;
	char err[256];

	(void)state;
	build_rnf(&x, false, false);
	c = checks_new(x.t.m, &a, NULL, err, sizeof(err));
	assert_non_null(c);
	/* rename persisted, write lost: config.json is empty */
	memset(choice, MV_FULL, sizeof(choice));
	choice[x.w_seq - 1] = CAUSE_DROP;
	st = (struct cause_state){x.r_seq, choice, 512};
	cause_apply(x.t.m, &st);
	assert_int_equal(checks_eval(c, x.t.m, x.r_seq, &why),
			 1u << SCN_ATOMIC);
	assert_string_equal(checks_describe(c, SCN_ATOMIC, why.path[SCN_ATOMIC],
					    why.seen[SCN_ATOMIC]),
			    "an empty file");
	checks_free(&c);
	strv_release(&a);
	tb_close(&x.t);
}

struct pass_arg {
	struct checks *c;
	enum scn_check check;
};

static bool pass(void *ctx, struct model *m, uint64_t point, uint64_t upto)
{
	struct pass_arg *p = ctx;

	(void)point;
	return !(checks_eval(p->c, m, upto, NULL) & (1u << p->check));
}

static void test_cause_write_before_rename(void **state)
{
	struct rnf x;
	struct strv a = one("config.json");
	struct pass_arg pa = {NULL, SCN_ATOMIC};
	uint8_t choice[64];
	struct cause_state st;
	struct cause cause;
	char err[256], buf[256];

	(void)state;
	build_rnf(&x, false, false);
	pa.c = checks_new(x.t.m, &a, NULL, err, sizeof(err));
	memset(choice, MV_FULL, sizeof(choice));
	choice[x.w_seq - 1] = CAUSE_DROP;
	st = (struct cause_state){x.r_seq, choice, 512};
	assert_int_equal(cause_find(x.t.m, &st, pass, &pa, 100, &cause), 0);
	assert_int_equal(cause.kind, CAUSE_LOST);
	assert_int_equal(cause.nops, 1);
	assert_int_equal(cause.ops[0], x.w_seq);
	assert_int_equal(cause.how[0], CAUSE_DROP);
	/* "op i must persist before op j": the rename exposed it */
	assert_int_equal(cause.before[0], x.r_seq);
	cause_describe_op(x.t.m, x.w_seq, buf, sizeof(buf));
	assert_string_equal(buf, "write #3 to config.json.tmp (3 bytes at 0)");
	cause_describe_op(x.t.m, x.r_seq, buf, sizeof(buf));
	assert_non_null(strstr(buf, "config.json.tmp -> config.json"));
	/* the same loss in another state is recognised without a search */
	assert_true(cause_matches(x.t.m, &cause, &st));
	checks_free(&pa.c);
	strv_release(&a);
	tb_close(&x.t);
}

static void test_cause_lost_rename_brings_create(void **state)
{
	struct rnf x;
	struct strv d = one("config.json");
	struct pass_arg pa = {NULL, SCN_DURABLE};
	uint8_t choice[64];
	struct cause_state st;
	struct cause cause;
	char err[256];

	(void)state;
	build_rnf(&x, true, false);
	pa.c = checks_new(x.t.m, NULL, &d, err, sizeof(err));
	/* strict state at the mark: the create and the rename are lost */
	memset(choice, MV_FULL, sizeof(choice));
	choice[1] = CAUSE_DROP;		  /* create #2 */
	choice[x.r_seq - 1] = CAUSE_DROP; /* rename */
	st = (struct cause_state){x.mark_seq, choice, 512};
	assert_int_equal(cause_find(x.t.m, &st, pass, &pa, 100, &cause), 0);
	/* one op: the rename (metadata persists in order, so persisting it
	 * persists the create before it) */
	assert_int_equal(cause.kind, CAUSE_LOST);
	assert_int_equal(cause.nops, 1);
	assert_int_equal(cause.ops[0], x.r_seq);
	checks_free(&pa.c);
	strv_release(&d);
	tb_close(&x.t);
}

static void test_cause_visible(void **state)
{
	struct tb t;
	struct strv a = one("f");
	struct pass_arg pa = {NULL, SCN_ATOMIC};
	struct cause_state st;
	struct cause cause;
	uint64_t f, trunc;
	char err[256];

	(void)state;
	/* naive overwrite: truncate then write, in place */
	tb_open(&t);
	tb_init_file(&t, "f", "old");
	tb_bind_root(&t);
	f = 2;
	tb_bind(&t, f, 1, "f", S_IFREG | 0644, 3);
	trunc = tb_truncate(&t, f, 0);
	tb_write(&t, f, 0, "new");
	assert_non_null(tb_load(&t));
	pa.c = checks_new(t.m, &a, NULL, err, sizeof(err));
	st = (struct cause_state){trunc, NULL, 512};
	assert_int_equal(cause_find(t.m, &st, pass, &pa, 100, &cause), 0);
	assert_int_equal(cause.kind, CAUSE_VISIBLE);
	assert_int_equal(cause.ops[0], trunc);
	checks_free(&pa.c);
	strv_release(&a);
	tb_close(&t);
}

static void test_marks_file(void **state)
{
	struct tb t;
	struct checks *c;
	char err[256], *buf = NULL;
	size_t len = 0;
	uint64_t m1, m2;
	FILE *f;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	m1 = tb_mark(&t, "commit-1");
	tb_create(&t, 1, "x");
	m2 = tb_mark(&t, "commit-2");
	assert_non_null(tb_load(&t));
	c = checks_new(t.m, NULL, NULL, err, sizeof(err));
	assert_non_null(c);
	f = open_memstream(&buf, &len);
	checks_write_marks(c, m1, f);
	fclose(f);
	assert_string_equal(buf, "commit-1\n");
	free(buf);
	f = open_memstream(&buf, &len);
	checks_write_marks(c, m2, f);
	fclose(f);
	assert_string_equal(buf, "commit-1\ncommit-2\n");
	free(buf);
	checks_free(&c);
	tb_close(&t);
}

/* What tar does: a directory, its files written and synced, then the
 * directory's mode restored last.  Returns the chmod's seq. */
static uint64_t build_tar(struct tb *t, uint64_t *wb)
{
	uint64_t d, a, b;

	tb_open(t);
	tb_bind_root(t);
	d = tb_mkdir(t, 1, "d");
	a = tb_create(t, d, "a");
	tb_write(t, a, 0, "alpha");
	tb_fsync(t, a);
	b = tb_create(t, d, "b");
	*wb = tb_write(t, b, 0, "beta");
	tb_fsync(t, b);
	tb_fsyncdir(t, d);
	tb_fsyncdir(t, 1);
	return tb_chmod(t, d, S_IFDIR | 0700);
}

static void test_dir_version_is_content(void **state)
{
	struct tb t;
	struct strv a = one("d"), d = one("d");
	uint8_t choice[16];
	struct cause_state st;
	struct check_why why;
	struct checks *c;
	uint64_t chmod, wb;
	char err[256];

	(void)state;
	chmod = build_tar(&t, &wb);
	assert_non_null(tb_load(&t));
	c = checks_new(t.m, &a, &d, err, sizeof(err));
	assert_non_null(c);
	/* the directory's chmod did not persist, every file did: d holds
	 * its final version (a mode is not content) */
	memset(choice, MV_FULL, sizeof(choice));
	choice[chmod - 1] = CAUSE_DROP;
	st = (struct cause_state){chmod, choice, 512};
	cause_apply(t.m, &st);
	assert_int_equal(checks_eval(c, t.m, chmod, &why), 0);
	/* b's bytes lost: that is a different tree, and it says so */
	choice[wb - 1] = CAUSE_DROP;
	cause_apply(t.m, &st);
	assert_int_equal(checks_eval(c, t.m, chmod, &why),
			 1u << SCN_ATOMIC | 1u << SCN_DURABLE);
	assert_string_equal(
	    checks_describe(c, SCN_DURABLE, 0, why.seen[SCN_DURABLE]),
	    "content that is none of its versions");
	checks_free(&c);
	strv_release(&a);
	strv_release(&d);
	tb_close(&t);
}

/* Equal bytes are the same version whatever writes made them; a
 * different name in a directory is a different version. */
static void test_version_ignores_how_bytes_came(void **state)
{
	struct tb t;
	uint64_t f, g, h;
	uint64_t vf, vg;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	tb_write(&t, f, 0, "hello world");
	g = tb_create(&t, 1, "g");
	tb_write(&t, g, 6, "world");
	tb_write(&t, g, 0, "hellX ");
	tb_write(&t, g, 4, "o");
	tb_chmod(&t, g, S_IFREG | 0600);
	h = tb_mkdir(&t, 1, "h");
	tb_mkdir(&t, h, "x");
	assert_non_null(tb_load(&t));
	vf = checks_version(t.m, "f");
	vg = checks_version(t.m, "g");
	assert_true(vf == vg);
	assert_true(vf == content_hash_bytes("hello world", 11));
	assert_true(checks_version(t.m, "h") != checks_version(t.m, "h/x"));
	assert_true(checks_version(t.m, "h") != 0);
	tb_close(&t);
}

/* checks_new() reads what changed at each mark, not the whole file
 * again: a 1 MiB file and 200 marks, one small write before each. */
static void test_checks_new_reads_what_changed(void **state)
{
	enum { SIZE = 1 << 20, MARKS = 200 };
	struct strv d = one("big");
	struct checks *c;
	struct tb t;
	char *buf = malloc(SIZE), err[256];
	uint64_t f, last = 0;

	(void)state;
	assert_non_null(buf);
	for (size_t i = 0; i < SIZE; i++)
		buf[i] = (char)(i * 7 + i / 4096);
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "big");
	tb_write_flags(&t, f, 0, buf, SIZE, 0);
	for (unsigned k = 0; k < MARKS; k++) {
		tb_write(&t, f, (uint64_t)k * 4999 % SIZE, "changed");
		last = tb_mark(&t, "m");
	}
	assert_non_null(tb_load(&t));
	c = checks_new(t.m, NULL, &d, err, sizeof(err));
	assert_non_null(c);
	/* the file once, then at most two blocks per write (a write may
	 * straddle a block boundary); rereading gives SIZE * MARKS */
	assert_true(checks_bytes_read(c) <=
		    SIZE + (uint64_t)MARKS * 2 * CONTENT_BLOCK);
	/* and the versions are right: the final file is its final version */
	model_goto_visible(t.m, last);
	assert_int_equal(checks_eval(c, t.m, last, NULL), 0);
	checks_free(&c);
	strv_release(&d);
	tb_close(&t);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_versions_and_visible_states),
	    cmocka_unit_test(test_empty_file_is_not_a_version),
	    cmocka_unit_test(test_cause_write_before_rename),
	    cmocka_unit_test(test_cause_lost_rename_brings_create),
	    cmocka_unit_test(test_cause_visible),
	    cmocka_unit_test(test_marks_file),
	    cmocka_unit_test(test_dir_version_is_content),
	    cmocka_unit_test(test_version_ignores_how_bytes_came),
	    cmocka_unit_test(test_checks_new_reads_what_changed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
