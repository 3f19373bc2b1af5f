/* SPDX-License-Identifier: MIT */
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

#include "harness/materialize.h"
#include "tests/unit/tb.h"

#include <linux/falloc.h>
#include <sys/xattr.h>

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
	tb_assert_content(t.m, "cfg", "01ab456789");
	tb_assert_content(t.m, "keep", "untouched");
	tb_assert_content(t.m, "sub/deep", "deep");
	{
		struct mnode *n;

		assert_int_equal(model_resolve(t.m, "link", &n), 0);
		assert_string_equal(model_symlink(n), "cfg");
		/* symlinks are never followed */
		assert_int_equal(model_resolve(t.m, "link/x", &n), -ENOTDIR);
	}
	/* back to the initial image */
	model_reset(t.m);
	tb_assert_content(t.m, "cfg", "0123456789");
	model_goto_visible(t.m, 3);
	tb_assert_content(t.m, "cfg", "01ab456789");
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
	tb_assert_content(t.m, "a", NULL);
	tb_assert_content(t.m, "b", "SHared");
	assert_int_equal(model_resolve(t.m, "b", &n), 0);
	model_stat(n, &st);
	assert_int_equal(st.nlink, 1);
	model_reset(t.m);
	tb_assert_content(t.m, "a", "shared");
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
	tb_assert_content(t.m, "a", "B");
	tb_assert_content(t.m, "b", "A");
	tb_assert_content(t.m, "c", "A");
	tb_assert_content(t.m, "d/a2", NULL);
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
	{
		/* a short write lands its first bytes only */
		struct trace_rec r = {.type = TR_WRITE,
				      .id = f,
				      .data = "abcdef",
				      .data_len = 6,
				      .result = 2};

		tb_rec(&t, &r);
	}
	assert_non_null(tb_load(&t));
	tb_assert_content(t.m, "f", "ab");
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
	tb_assert_content(t.m, "g", "two!");
	h1 = model_hash(t.m, model_root(t.m));
	assert_true(h0 != h1);
	model_rollback(t.m, mark);
	tb_assert_content(t.m, "f", "one");
	tb_assert_content(t.m, "g", NULL);
	assert_true(model_hash(t.m, model_root(t.m)) == h0);
	tb_close(&t);
}

/* ---- differential: the model against the real filesystem ------------ */

struct dent {
	int dir; /* index in dirs[] */
	char name[16];
	uint64_t id;
};

struct diff {
	struct tb *t;
	unsigned int seed;
	char root[200]; /* the real directory */
	struct dent ents[128];
	size_t n;
	uint64_t dirs[8];  /* ids */
	char dpath[8][64]; /* relative paths */
	size_t ndirs;
	char payload[8192];
};

static void real_path(struct diff *d, int dir, const char *name, char *out,
		      size_t len)
{
	snprintf(out, len, "%s/%s%s%s", d->root, d->dpath[dir],
		 *d->dpath[dir] ? "/" : "", name);
}

static int find_dent(struct diff *d, int dir, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->ents[i].dir == dir && !strcmp(d->ents[i].name, name))
			return (int)i;
	return -1;
}

/* One random op, done for real and recorded. */
static void diff_step(struct diff *d)
{
	unsigned what = (unsigned)rand_r(&d->seed) % 100;
	int dir = rand_r(&d->seed) % (int)d->ndirs;
	char name[16], p[400], q[400];
	int e, i = d->n ? rand_r(&d->seed) % (int)d->n : -1, fd;
	struct dent *x = i >= 0 ? &d->ents[i] : NULL;
	uint64_t off = (uint64_t)(rand_r(&d->seed) % 6000);
	uint32_t len = 1 + (uint32_t)(rand_r(&d->seed) % 3000);
	const char *data = d->payload + rand_r(&d->seed) % 4000;

	snprintf(name, sizeof(name), "e%d", rand_r(&d->seed) % 10);
	e = find_dent(d, dir, name);
	if (what < 15 && e < 0 && d->n < 128) {
		real_path(d, dir, name, p, sizeof(p));
		fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0644);
		assert_true(fd >= 0);
		close(fd);
		d->ents[d->n].dir = dir;
		snprintf(d->ents[d->n].name, 16, "%s", name);
		d->ents[d->n++].id = tb_create(d->t, d->dirs[dir], name);
	} else if (what < 20 && e < 0 && d->ndirs < 8) {
		real_path(d, dir, name, p, sizeof(p));
		assert_int_equal(mkdir(p, 0755), 0);
		snprintf(q, sizeof(q), "%s%s%s", d->dpath[dir],
			 *d->dpath[dir] ? "/" : "", name);
		assert_true(strlen(q) < 64);
		memcpy(d->dpath[d->ndirs], q, strlen(q) + 1);
		d->dirs[d->ndirs++] = tb_mkdir(d->t, d->dirs[dir], name);
		/* dirs are never removed or renamed here: keep it a tree */
		d->ents[d->n].dir = dir;
		snprintf(d->ents[d->n].name, 16, "%s", name);
		d->ents[d->n++].id = 0; /* marks a directory */
	} else if (!x || !x->id) {
		return;
	} else if (what < 45) {
		real_path(d, x->dir, x->name, p, sizeof(p));
		fd = open(p, O_WRONLY);
		assert_int_equal(pwrite(fd, data, len, (off_t)off), len);
		close(fd);
		tb_write_flags(d->t, x->id, off, data, len, 0);
	} else if (what < 52) {
		real_path(d, x->dir, x->name, p, sizeof(p));
		assert_int_equal(truncate(p, (off_t)off), 0);
		tb_truncate(d->t, x->id, off);
	} else if (what < 60) {
		struct trace_rec r = {
		    .type = TR_FALLOCATE, .id = x->id, .off = off, .len = len};

		r.oflags = rand_r(&d->seed) % 2
			       ? FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE
			       : 0;
		real_path(d, x->dir, x->name, p, sizeof(p));
		fd = open(p, O_WRONLY);
		assert_int_equal(fallocate(fd, (int)r.oflags, (off_t)off, len),
				 0);
		close(fd);
		tb_rec(d->t, &r);
	} else if (what < 66) {
		struct dent *y = &d->ents[rand_r(&d->seed) % (int)d->n];
		struct trace_rec r = {.type = TR_COPY_RANGE,
				      .id = x->id,
				      .id2 = y->id,
				      .off = off,
				      .off2 =
					  (uint64_t)(rand_r(&d->seed) % 3000),
				      .len = len};
		loff_t o1, o2;
		ssize_t got;
		int fd2;

		if (!y->id)
			return;
		real_path(d, y->dir, y->name, q, sizeof(q));
		real_path(d, x->dir, x->name, p, sizeof(p));
		fd = open(p, O_WRONLY);
		fd2 = open(q, O_RDONLY);
		o1 = (loff_t)r.off;
		o2 = (loff_t)r.off2;
		got = copy_file_range(fd2, &o2, fd, &o1, len, 0);
		close(fd);
		close(fd2);
		if (got < 0)
			return; /* e.g. overlapping ranges of one file */
		r.result = (int32_t)got;
		tb_rec(d->t, &r);
	} else if (what < 76) {
		/* rename a file, maybe over another file */
		if (e >= 0 && (!d->ents[e].id || d->ents[e].id == x->id))
			return; /* a directory, or the same file */
		real_path(d, x->dir, x->name, p, sizeof(p));
		real_path(d, dir, name, q, sizeof(q));
		assert_int_equal(rename(p, q), 0);
		tb_rename(d->t, d->dirs[x->dir], x->name, d->dirs[dir], name,
			  x->id, e >= 0 ? d->ents[e].id : 0);
		x->dir = dir;
		snprintf(x->name, 16, "%s", name);
		if (e >= 0)
			d->ents[e] = d->ents[--d->n];
	} else if (what < 82) {
		real_path(d, x->dir, x->name, p, sizeof(p));
		assert_int_equal(unlink(p), 0);
		tb_unlink(d->t, d->dirs[x->dir], x->name, x->id);
		*x = d->ents[--d->n];
	} else if (what < 88 && e < 0 && d->n < 128) {
		struct trace_rec r = {.type = TR_LINK,
				      .id = x->id,
				      .parent = d->dirs[dir],
				      .name = name};

		real_path(d, x->dir, x->name, p, sizeof(p));
		real_path(d, dir, name, q, sizeof(q));
		assert_int_equal(link(p, q), 0);
		tb_rec(d->t, &r);
		d->ents[d->n] = *x;
		d->ents[d->n].dir = dir;
		snprintf(d->ents[d->n++].name, 16, "%s", name);
	} else if (what < 94) {
		uint32_t mode = 0600 | (uint32_t)(rand_r(&d->seed) % 2) * 044;

		real_path(d, x->dir, x->name, p, sizeof(p));
		assert_int_equal(chmod(p, mode), 0);
		tb_chmod(d->t, x->id, mode);
	} else {
		struct trace_rec r = {.type = TR_SETXATTR,
				      .id = x->id,
				      .name = "user.t",
				      .data = data,
				      .data_len = 5};

		real_path(d, x->dir, x->name, p, sizeof(p));
		if (setxattr(p, "user.t", data, 5, 0))
			return; /* no user xattrs on this filesystem */
		tb_rec(d->t, &r);
	}
}

static void test_differential_against_kernel(void **state)
{
	for (unsigned seed = 1; seed <= 20; seed++) {
		struct diff d = {.seed = seed};
		struct tb t;
		char report[4096];
		int ret;

		(void)state;
		tb_open(&t);
		d.t = &t;
		for (size_t i = 0; i < sizeof(d.payload); i++)
			d.payload[i] = (char)('A' + (i * 7 + i / 13) % 50);
		snprintf(d.root, sizeof(d.root), "%s/real", t.dir);
		assert_int_equal(mkdir(d.root, 0755), 0);
		tb_init_file(&t, "pre", "existing file");
		{
			char p[300];

			snprintf(p, sizeof(p), "%s/pre", d.root);
			FILE *f = fopen(p, "w");

			fputs("existing file", f);
			fclose(f);
		}
		tb_bind_root(&t);
		tb_bind(&t, 2, 1, "pre", S_IFREG | 0644, 13);
		d.dirs[d.ndirs++] = 1;
		d.ents[d.n].dir = 0;
		snprintf(d.ents[d.n].name, 16, "pre");
		d.ents[d.n++].id = 2;
		for (int op = 0; op < 600; op++)
			diff_step(&d);
		assert_non_null(tb_load(&t));
		ret = materialize_verify(t.m, d.root, report, sizeof(report));
		if (ret)
			fprintf(stderr, "seed %u:\n%s", seed, report);
		assert_int_equal(ret, 0);
		tb_close(&t);
	}
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
	    cmocka_unit_test(test_differential_against_kernel),
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
