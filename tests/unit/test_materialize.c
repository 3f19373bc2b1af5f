/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Unit tests for harness/materialize: every state of random traces built
 * on disk incrementally and checked against the model byte for byte
 * (materialize_verify), the cost of a small change, hard links, symlinks
 * that are never followed, refusal of a non-empty output directory, the
 * self-check reporting a difference, and a checker that changes its copy
 * (materialize_reclaim): the next state is still exact, and a checker
 * that changed nothing, or one file, costs nothing, or that file; a file
 * written again is copied from memory as far as it did not change.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli/cmd.h"
#include "harness/materialize.h"
#include "harness/run.h"
#include "tests/unit/tb.h"

#include <jansson.h>
#include <sys/mman.h>
#include <sys/xattr.h>

static void outdir(struct tb *t, char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", t->dir, name);
}

/* Materialise in out every crash state the explorer makes with options
 * o, in its order, each checked byte for byte against the model; returns
 * how many there were. */
static int sync_every_state(struct tb *t, const struct explore_opts *o,
			    const char *out)
{
	struct explore_state st;
	struct materializer *mt;
	struct explorer *x;
	char err[512], report[2048];
	int n = 0;

	mt = materialize_new(out, err, sizeof(err));
	assert_non_null(mt);
	x = explore_new(t->m, o, err, sizeof(err));
	assert_non_null(x);
	while (explore_next(x, &st) > 0) {
		int ret = materialize_sync(mt, t->m, err, sizeof(err));

		if (ret)
			fprintf(stderr, "%s: %s\n", st.id, err);
		assert_int_equal(ret, 0);
		ret = materialize_verify(t->m, out, report, sizeof(report));
		if (ret)
			fprintf(stderr, "%s:\n%s", st.id, report);
		assert_int_equal(ret, 0);
		n++;
	}
	explore_free(&x);
	materialize_free(&mt);
	return n;
}

static void test_states_on_disk(void **state)
{
	struct explore_opts o = {.random = 2, .sector = 16};
	struct tb t;
	char out[256];
	uint64_t a, b, d;

	(void)state;
	tb_open(&t);
	tb_init_file(&t, "old", "initial content");
	tb_bind_root(&t);
	tb_bind(&t, 2, 1, "old", S_IFREG | 0644, 15);
	d = tb_mkdir(&t, 1, "dir");
	a = tb_create(&t, d, "a");
	tb_write(&t, a, 0, "hello, crash states");
	tb_write(&t, 2, 8, "CONTENT");
	{
		struct trace_rec r = {
		    .type = TR_LINK, .id = a, .parent = 1, .name = "hard"};

		tb_rec(&t, &r);
	}
	{
		struct trace_rec r = {.type = TR_SYMLINK,
				      .parent = d,
				      .name = "up",
				      .id = 300,
				      .name2 = "../../../outside"};

		tb_rec(&t, &r);
	}
	tb_fsync(&t, a);
	b = tb_create(&t, 1, "b");
	tb_write(&t, b, 100, "after a hole");
	tb_chmod(&t, b, 0400);
	tb_rename(&t, 1, "b", d, "b", b, 0);
	tb_fsyncdir(&t, d);
	tb_unlink(&t, 1, "old", 2);
	assert_non_null(tb_load(&t));
	outdir(&t, out, sizeof(out), "out");
	assert_true(sync_every_state(&t, &o, out) > 20);
	/* the symlink pointing out was created, never followed */
	assert_int_equal(access("/tmp/outside", F_OK), -1);
	tb_close(&t);
}

static void test_incremental_cost(void **state)
{
	struct materializer *mt;
	struct explorer *x;
	struct tb t;
	char out[256], err[512];
	unsigned long before;
	uint64_t last = 0;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	for (int i = 0; i < 200; i++) {
		char name[16];
		uint64_t f;

		snprintf(name, sizeof(name), "f%d", i);
		f = tb_create(&t, 1, name);
		tb_write(&t, f, 0, name);
		last = tb_write(&t, f, 0, "x");
	}
	assert_non_null(tb_load(&t));
	outdir(&t, out, sizeof(out), "out");
	mt = materialize_new(out, err, sizeof(err));
	assert_non_null(mt);
	x = explore_new(t.m, NULL, err, sizeof(err));
	assert_non_null(x);
	assert_int_equal(explore_visible(x, last - 1), 0);
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	before = materialize_ops(mt);
	assert_true(before >= 200);
	/* one more write: one file rewritten */
	assert_int_equal(explore_visible(x, last), 0);
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	assert_true(materialize_ops(mt) - before <= 2);
	/* going back works too */
	assert_int_equal(explore_visible(x, 0), 0);
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	assert_int_equal(materialize_verify(t.m, out, err, sizeof(err)), 0);
	explore_free(&x);
	materialize_free(&mt);
	tb_close(&t);
}

/*
 * Hard links, of files and of symlinks, kept and made as states follow
 * one another: a name made in a sync links to the inode an existing name
 * holds, whichever the walk meets first; fsx once saw a hard-linked
 * symlink rebuilt as two symlinks.
 */
static void test_hard_links_incremental(void **state)
{
	struct explore_opts o = {.random = 2, .sector = 16};
	struct materializer *mt;
	struct explorer *x;
	struct tb t;
	char out[256], out2[256], err[512], report[2048];
	uint64_t d, e, f, last;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	d = tb_mkdir(&t, 1, "d");
	e = tb_mkdir(&t, 1, "e");
	f = tb_create(&t, 1, "m");
	tb_write(&t, f, 0, "linked file");
	{
		struct trace_rec r[] = {
		    {.type = TR_SYMLINK,
		     .parent = e,
		     .name = "s1",
		     .id = 300,
		     .name2 = "m"},
		    {.type = TR_LINK, .id = 300, .parent = d, .name = "s2"},
		    {.type = TR_LINK, .id = f, .parent = e, .name = "z"},
		};

		for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
			tb_rec(&t, &r[i]);
	}
	tb_fsyncdir(&t, d);
	tb_fsyncdir(&t, e);
	/* a name that moves: the new one may come first in the walk */
	tb_rename(&t, d, "s2", 1, "a", 300, 0);
	tb_rename(&t, e, "z", 1, "b", f, 0);
	tb_fsyncdir(&t, 1);
	tb_rename(&t, e, "s1", d, "s3", 300, 0);
	tb_rename(&t, 1, "m", e, "y", f, 0);
	last = tb_fsyncdir(&t, e);
	assert_non_null(tb_load(&t));
	outdir(&t, out, sizeof(out), "out");
	outdir(&t, out2, sizeof(out2), "vis");
	/* crash states in the explorer's order */
	assert_true(sync_every_state(&t, &o, out) > 10);
	/* every visible state in turn */
	mt = materialize_new(out2, err, sizeof(err));
	assert_non_null(mt);
	x = explore_new(t.m, NULL, err, sizeof(err));
	assert_non_null(x);
	for (uint64_t k = 1; k <= last; k++) {
		assert_int_equal(explore_visible(x, k), 0);
		assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)),
				 0);
		if (materialize_verify(t.m, out2, report, sizeof(report)))
			fprintf(stderr, "visible at %llu:\n%s",
				(unsigned long long)k, report);
		assert_int_equal(
		    materialize_verify(t.m, out2, report, sizeof(report)), 0);
	}
	explore_free(&x);
	materialize_free(&mt);
	tb_close(&t);
}

/* Append to out/rel if it exists (no create). */
static void vandal_append(const char *out, const char *rel)
{
	char p[300];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", out, rel);
	fd = open(p, O_WRONLY | O_APPEND | O_NOFOLLOW);
	if (fd >= 0) {
		(void)!write(fd, "junk", 4);
		close(fd);
	}
}

static void vandal_touch(const char *out, const char *rel)
{
	char p[300];

	snprintf(p, sizeof(p), "%s/%s", out, rel);
	close(open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	if (f->level > 0)
		remove(p);
	return 0;
}

/*
 * What a checker might do to its copy of the state, one way per value
 * of how.  Paths that do not exist in a state are skipped.
 */
static void vandalise(const char *out, int how)
{
	char p[300], q[300];
	int fd;

	switch (how) {
	case 0: /* nothing */ break;
	case 1: /* append */
		vandal_append(out, "dir/a");
		vandal_append(out, "dir/b");
		break;
	case 2: /* remove */
		snprintf(p, sizeof(p), "%s/dir/a", out);
		unlink(p);
		snprintf(p, sizeof(p), "%s/hard", out);
		unlink(p);
		break;
	case 3: /* create files and a directory */
		vandal_touch(out, "new");
		vandal_touch(out, "dir/new");
		snprintf(p, sizeof(p), "%s/newdir", out);
		mkdir(p, 0755);
		vandal_touch(out, "newdir/f");
		break;
	case 4: /* permissions and an xattr */
		snprintf(p, sizeof(p), "%s/dir/b", out);
		chmod(p, 0);
		snprintf(p, sizeof(p), "%s/dir/a", out);
		setxattr(p, "user.vandal", "x", 1, 0);
		break;
	case 5: /* rename a directory and a file */
		snprintf(p, sizeof(p), "%s/dir", out);
		snprintf(q, sizeof(q), "%s/dir2", out);
		rename(p, q);
		snprintf(p, sizeof(p), "%s/dir2/b", out);
		snprintf(q, sizeof(q), "%s/moved", out);
		rename(p, q);
		break;
	case 6: /* write through a hard link made, then removed */
		snprintf(p, sizeof(p), "%s/dir/b", out);
		snprintf(q, sizeof(q), "%s/ln", out);
		if (!link(p, q)) {
			vandal_append(out, "ln");
			unlink(q);
		}
		break;
	case 7: /* truncate, a symlink for a file */
		snprintf(p, sizeof(p), "%s/dir/a", out);
		/* dir/a may be absent in this state: nothing to truncate */
		if (truncate(p, 0) < 0)
			assert_int_equal(errno, ENOENT);
		snprintf(p, sizeof(p), "%s/dir/b", out);
		if (!unlink(p))
			assert_int_equal(symlink("/etc/passwd", p), 0);
		break;
	case 8: /* write through a shared mapping only */
		snprintf(p, sizeof(p), "%s/dir/b", out);
		fd = open(p, O_RDWR | O_NOFOLLOW);
		if (fd >= 0) {
			struct stat st;
			char *m;

			if (!fstat(fd, &st) && st.st_size > 0) {
				m = mmap(NULL, (size_t)st.st_size,
					 PROT_READ | PROT_WRITE, MAP_SHARED, fd,
					 0);
				if (m != MAP_FAILED) {
					m[0] ^= 0x20;
					munmap(m, (size_t)st.st_size);
				}
			}
			close(fd);
		}
		break;
	case 9: /* everything */
		nftw(out, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		break;
	case 10: /* the output directory itself */ chmod(out, 0700); break;
	}
}

#define VANDAL_WAYS 11

static void test_reclaim_after_checker(void **state)
{
	struct explore_opts o = {.random = 2, .sector = 16};
	struct explore_state st;
	struct materializer *mt;
	struct explorer *x;
	struct tb t;
	char out[256], err[512], report[2048];
	uint64_t a, b, d;
	int n = 0, untouched = 0;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	d = tb_mkdir(&t, 1, "dir");
	a = tb_create(&t, d, "a");
	tb_write(&t, a, 0, "hello, crash states");
	{
		struct trace_rec r = {
		    .type = TR_LINK, .id = a, .parent = 1, .name = "hard"};

		tb_rec(&t, &r);
	}
	b = tb_create(&t, d, "b");
	tb_write(&t, b, 0, "the b file, one link");
	tb_fsync(&t, a);
	tb_write(&t, b, 5, "B");
	tb_fsyncdir(&t, d);
	tb_write(&t, a, 100, "after a hole");
	tb_fsync(&t, b);
	tb_truncate(&t, b, 3);
	assert_non_null(tb_load(&t));
	outdir(&t, out, sizeof(out), "out");
	mt = materialize_new(out, err, sizeof(err));
	assert_non_null(mt);
	assert_int_equal(materialize_watch(mt), 0);
	x = explore_new(t.m, &o, err, sizeof(err));
	assert_non_null(x);
	while (explore_next(x, &st) > 0) {
		int ret, way = n % VANDAL_WAYS;

		/* the checker of the previous state did 'way - 1' */
		ret = materialize_reclaim(mt);
		assert_true(ret >= 0);
		if (n && (n - 1) % VANDAL_WAYS == 0) {
			assert_int_equal(ret, 0);
			untouched++;
		}
		ret = materialize_sync(mt, t.m, err, sizeof(err));
		if (ret)
			fprintf(stderr, "%s: %s\n", st.id, err);
		assert_int_equal(ret, 0);
		ret = materialize_verify(t.m, out, report, sizeof(report));
		if (ret)
			fprintf(stderr, "%s after way %d:\n%s", st.id,
				(n + VANDAL_WAYS - 1) % VANDAL_WAYS, report);
		assert_int_equal(ret, 0);
		vandalise(out, way);
		n++;
	}
	assert_true(n > 3 * VANDAL_WAYS);
	assert_true(untouched >= 3);
	explore_free(&x);
	materialize_free(&mt);
	tb_close(&t);
}

/* A checker that changes one file of 200: that file is rewritten. */
static void test_reclaim_cost(void **state)
{
	struct materializer *mt;
	struct explorer *x;
	struct tb t;
	char out[256], out2[256], err[512];
	unsigned long before;
	uint64_t last = 0;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	for (int i = 0; i < 200; i++) {
		char name[16];
		uint64_t f;

		snprintf(name, sizeof(name), "f%d", i);
		f = tb_create(&t, 1, name);
		last = tb_write(&t, f, 0, name);
	}
	assert_non_null(tb_load(&t));
	outdir(&t, out, sizeof(out), "out");
	outdir(&t, out2, sizeof(out2), "unwatched");
	x = explore_new(t.m, NULL, err, sizeof(err));
	assert_non_null(x);
	assert_int_equal(explore_visible(x, last), 0);
	/* not watched: a checker's change means rebuilding everything */
	mt = materialize_new(out2, err, sizeof(err));
	assert_non_null(mt);
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	vandal_append(out2, "f3");
	before = materialize_ops(mt);
	assert_int_equal(materialize_reclaim(mt), 0);
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	assert_true(materialize_ops(mt) - before >= 200);
	assert_int_equal(materialize_verify(t.m, out2, err, sizeof(err)), 0);
	materialize_free(&mt);
	/* watched */
	mt = materialize_new(out, err, sizeof(err));
	assert_non_null(mt);
	assert_int_equal(materialize_watch(mt), 0);
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	/* untouched: nothing to do */
	before = materialize_ops(mt);
	assert_int_equal(materialize_reclaim(mt), 0);
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	assert_int_equal(materialize_ops(mt), before);
	/* a read is not a change */
	{
		char p[300], buf[8];
		int fd;

		snprintf(p, sizeof(p), "%s/f7", out);
		fd = open(p, O_RDONLY);
		assert_true(read(fd, buf, sizeof(buf)) > 0);
		close(fd);
		assert_int_equal(materialize_reclaim(mt), 0);
	}
	/* one file changed, one added: removed, the file made again */
	vandal_append(out, "f3");
	vandal_touch(out, "extra");
	assert_int_equal(materialize_reclaim(mt), 2);
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	assert_true(materialize_ops(mt) - before <= 3);
	assert_int_equal(materialize_verify(t.m, out, err, sizeof(err)), 0);
	/* the output directory changed: everything is rebuilt */
	vandalise(out, 10);
	before = materialize_ops(mt);
	assert_int_equal(materialize_reclaim(mt), 0);
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	assert_true(materialize_ops(mt) - before >= 200);
	assert_int_equal(materialize_verify(t.m, out, err, sizeof(err)), 0);
	explore_free(&x);
	materialize_free(&mt);
	tb_close(&t);
}

/*
 * A checker that deletes a file it was given (SQLite's WAL on close) or
 * changes it: the file is written again from the materializer's copy of
 * its content, reading from the model only what the state changed since
 * (before: the whole file, an extent at a time), and every state is
 * still exact.
 */
static void test_rewrite_from_copy(void **state)
{
	struct materializer *mt;
	struct explorer *x;
	struct tb t;
	char out[256], err[512], p[300], page[100];
	uint64_t wal, db, at[65], before;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	db = tb_create(&t, 1, "db");
	tb_write(&t, db, 0, "the database");
	wal = tb_create(&t, 1, "wal");
	for (int i = 0; i < 64; i++) { /* a frame: header, then page */
		char hdr[25];

		snprintf(hdr, sizeof(hdr), "frame %-17d|", i);
		memset(page, 'a' + i % 26, sizeof(page) - 1);
		page[sizeof(page) - 1] = '\0';
		tb_write(&t, wal, (uint64_t)i * 123, hdr);
		at[i] = tb_write(&t, wal, (uint64_t)i * 123 + 24, page);
	}
	at[64] = tb_write(&t, wal, 5, "X"); /* an overwrite near the start */
	assert_non_null(tb_load(&t));
	outdir(&t, out, sizeof(out), "out");
	snprintf(p, sizeof(p), "%s/wal", out);
	mt = materialize_new(out, err, sizeof(err));
	assert_non_null(mt);
	assert_int_equal(materialize_watch(mt), 0);
	x = explore_new(t.m, NULL, err, sizeof(err));
	assert_non_null(x);
	assert_int_equal(explore_visible(x, at[31]), 0);
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	assert_int_equal(materialize_model_bytes(mt), 12 + 32 * 123);
	/* deleted and the database changed: nothing read again */
	assert_int_equal(unlink(p), 0);
	vandal_append(out, "db");
	before = materialize_model_bytes(mt);
	assert_int_equal(materialize_reclaim(mt), 2);
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	assert_int_equal(materialize_model_bytes(mt), before);
	assert_int_equal(materialize_verify(t.m, out, err, sizeof(err)), 0);
	/* the next state, deleted again: only the new frame is read */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(materialize_reclaim(mt), 1);
	assert_int_equal(explore_visible(x, at[32]), 0);
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	assert_int_equal(materialize_model_bytes(mt), before + 123);
	assert_int_equal(materialize_verify(t.m, out, err, sizeof(err)), 0);
	/* back to an earlier state, then the overwrite: from byte 5 on */
	vandal_append(out, "wal");
	assert_int_equal(materialize_reclaim(mt), 1);
	before = materialize_model_bytes(mt);
	assert_int_equal(explore_visible(x, at[10]), 0);
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	assert_int_equal(materialize_model_bytes(mt), before);
	assert_int_equal(materialize_verify(t.m, out, err, sizeof(err)), 0);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(materialize_reclaim(mt), 1);
	assert_int_equal(explore_visible(x, at[64]), 0);
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	assert_int_equal(materialize_model_bytes(mt), before + 64 * 123 - 5);
	assert_int_equal(materialize_verify(t.m, out, err, sizeof(err)), 0);
	explore_free(&x);
	materialize_free(&mt);
	tb_close(&t);
}

static void test_symlink_planted_in_output(void **state)
{
	struct materializer *mt;
	struct explorer *x;
	struct tb t;
	char out[256], victim[256], p[300], err[512];
	uint64_t d, f;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	d = tb_mkdir(&t, 1, "d");
	f = tb_create(&t, d, "x");
	tb_write(&t, f, 0, "first");
	tb_write(&t, f, 0, "second");
	assert_non_null(tb_load(&t));
	outdir(&t, out, sizeof(out), "out");
	outdir(&t, victim, sizeof(victim), "victim");
	assert_int_equal(mkdir(victim, 0755), 0);
	mt = materialize_new(out, err, sizeof(err));
	assert_non_null(mt);
	x = explore_new(t.m, NULL, err, sizeof(err));
	assert_non_null(x);
	assert_int_equal(explore_visible(x, 4), 0);
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	/* a checker swaps the directory for a symlink pointing outside */
	snprintf(p, sizeof(p), "%s/d/x", out);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/d", out);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(symlink(victim, p), 0);
	assert_int_equal(explore_visible(x, 5), 0);
	assert_true(materialize_sync(mt, t.m, err, sizeof(err)) < 0);
	/* nothing was written through the symlink */
	snprintf(p, sizeof(p), "%s/x", victim);
	assert_int_equal(access(p, F_OK), -1);
	/* the failed sync forgot everything: the next one rebuilds */
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	assert_int_equal(materialize_verify(t.m, out, err, sizeof(err)), 0);
	assert_int_equal(access(p, F_OK), -1);
	explore_free(&x);
	materialize_free(&mt);
	tb_close(&t);
}

static void test_output_must_be_empty(void **state)
{
	struct tb t;
	char out[256], p[300], err[512];
	struct materializer *mt;

	(void)state;
	tb_open(&t);
	outdir(&t, out, sizeof(out), "full");
	assert_int_equal(mkdir(out, 0755), 0);
	snprintf(p, sizeof(p), "%s/precious", out);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	mt = materialize_new(out, err, sizeof(err));
	assert_null(mt);
	assert_int_equal(errno, ENOTEMPTY);
	assert_non_null(strstr(err, "is not empty"));
	assert_int_equal(access(p, F_OK), 0);
	/* a symlink as the output directory is refused */
	outdir(&t, p, sizeof(p), "link");
	assert_int_equal(symlink(out, p), 0);
	assert_null(materialize_new(p, err, sizeof(err)));
	tb_close(&t);
}

static void test_verify_reports_differences(void **state)
{
	struct materializer *mt;
	struct tb t;
	char out[256], p[300], err[512], report[2048];
	uint64_t f;
	int fd;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "f");
	tb_write(&t, f, 0, "abcdef");
	tb_create(&t, 1, "g");
	assert_non_null(tb_load(&t));
	outdir(&t, out, sizeof(out), "out");
	mt = materialize_new(out, err, sizeof(err));
	assert_non_null(mt);
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	assert_int_equal(materialize_verify(t.m, out, report, sizeof(report)),
			 0);
	snprintf(p, sizeof(p), "%s/f", out);
	fd = open(p, O_WRONLY);
	assert_int_equal(pwrite(fd, "X", 1, 3), 1);
	close(fd);
	snprintf(p, sizeof(p), "%s/g", out);
	unlink(p);
	snprintf(p, sizeof(p), "%s/extra", out);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	assert_int_equal(materialize_verify(t.m, out, report, sizeof(report)),
			 3);
	assert_non_null(strstr(report, "f: content differs at byte 3"));
	assert_non_null(strstr(report, "g: in the replay, not on disk"));
	assert_non_null(strstr(report, "extra: on disk, not in the replay"));
	/* forget and rebuild after a checker changed the directory */
	assert_int_equal(materialize_forget(mt), 0);
	assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)), 0);
	assert_int_equal(materialize_verify(t.m, out, report, sizeof(report)),
			 0);
	materialize_free(&mt);
	tb_close(&t);
}

static void test_run_layout(void **state)
{
	struct run_info ri;
	struct model *m;
	struct tb t;
	char err[512], p[300];

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	tb_create(&t, 1, "x");
	assert_int_equal(trace_writer_close(&t.w), 0);
	assert_int_equal(run_open(t.dir, &ri, err, sizeof(err)), 0);
	assert_string_equal(ri.trace, t.trace);
	assert_string_equal(ri.initial, t.init);
	m = run_load(&ri, err, sizeof(err));
	assert_non_null(m);
	model_free(&m);
	/* a bare trace is a run with an empty initial image */
	assert_int_equal(run_open(t.trace, &ri, err, sizeof(err)), 0);
	assert_string_equal(ri.initial, "");
	/* a directory without a trace is not a run */
	assert_int_equal(run_open(t.init, &ri, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "is not a run"));
	/* run_create + meta */
	snprintf(p, sizeof(p), "%s/newrun", t.dir);
	assert_int_equal(run_create(p, &ri, err, sizeof(err)), 0);
	assert_int_equal(run_write_meta(&ri, 4096, NULL), 0);
	tb_close(&t);
}

/* Run a command with stdout in file out; returns its exit status. */
static int run_cmd(int (*fn)(int, char **), const char *out, char **argv)
{
	int argc = 0, saved, fd, ret;

	while (argv[argc])
		argc++;
	fflush(stdout);
	saved = dup(1);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 1);
	close(fd);
	ret = fn(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	return ret;
}

static void test_commands(void **state)
{
	struct tb t;
	char out[256], dir[256], dir2[256], id[300], p[300];
	uint64_t f;
	FILE *fp;

	(void)state;
	tb_open(&t);
	tb_init_file(&t, "cfg", "old");
	tb_bind_root(&t);
	tb_bind(&t, 2, 1, "cfg", S_IFREG | 0644, 3);
	f = tb_create(&t, 1, "tmp");
	tb_write(&t, f, 0, "new");
	tb_rename(&t, 1, "tmp", 1, "cfg", f, 2);
	assert_int_equal(trace_writer_close(&t.w), 0);
	outdir(&t, out, sizeof(out), "stdout");
	outdir(&t, dir, sizeof(dir), "state");
	outdir(&t, dir2, sizeof(dir2), "state2");
	{
		char *argv[] = {"states", t.dir,   "--point", "5",
				"--json", "--all", NULL};
		json_t *j;
		json_error_t je;
		size_t i;
		json_t *s;

		assert_int_equal(run_cmd(cmd_states, out, argv), 0);
		j = json_load_file(out, 0, &je);
		assert_non_null(j);
		assert_int_equal(
		    json_integer_value(json_object_get(j, "points")), 1);
		/* the state with the empty target names the lost write */
		json_array_foreach(json_object_get(j, "states"), i, s)
		{
			const char *sid =
			    json_string_value(json_object_get(s, "id"));

			if (strstr(sid, ".o4@"))
				snprintf(id, sizeof(id), "%s", sid);
		}
		assert_non_null(strstr(id, "k5.posix.o4@"));
		json_decref(j);
	}
	{
		char *argv[] = {"replay", t.dir, "--state", id,
				"-o",	  dir,	 NULL};
		char buf[16] = "";

		assert_int_equal(run_cmd(cmd_replay, out, argv), 0);
		snprintf(p, sizeof(p), "%s/cfg", dir);
		fp = fopen(p, "r");
		assert_non_null(fp);
		assert_int_equal(fread(buf, 1, sizeof(buf), fp), 0);
		fclose(fp);
		/* the output directory is not empty any more */
		assert_int_equal(run_cmd(cmd_replay, out, argv), 2);
	}
	{
		char *bad[] = {"replay", t.dir, "--state", "k5.posix.q",
			       "-o",	 dir2,	NULL};
		char *nomodel[] = {"states", t.dir, "--model", "zfs", NULL};
		char *nopoint[] = {"states", t.dir, "--point", "2", NULL};

		assert_int_equal(run_cmd(cmd_replay, out, bad), 2);
		assert_int_equal(run_cmd(cmd_states, out, nomodel), 2);
		assert_int_equal(run_cmd(cmd_states, out, nopoint), 2);
	}
	{
		char *vis[] = {"replay", t.dir, "--point", "5",
			       "-o",	 dir2,	NULL};
		char *ok[] = {"replay", t.dir, "--verify", dir2, NULL};
		char *early[] = {"replay",  t.dir, "--verify", dir2,
				 "--point", "3",   NULL};

		assert_int_equal(run_cmd(cmd_replay, out, vis), 0);
		assert_int_equal(run_cmd(cmd_replay, out, ok), 0);
		assert_int_equal(run_cmd(cmd_replay, out, early), 1);
	}
	tb_close(&t);
}

/* The ids a JSON report lists under key "states", as one string. */
static void ids_of(const char *file, char *buf, size_t len, json_t **root)
{
	json_error_t je;
	json_t *j = json_load_file(file, 0, &je), *st, *arr, *s;
	size_t i, o = 0;

	assert_non_null(j);
	st = json_object_get(j, "scenarios");
	arr = json_object_get(st ? json_array_get(st, 0) : j, "states");
	assert_non_null(arr);
	buf[0] = '\0';
	json_array_foreach(arr, i, s)
	{
		o += snprintf(buf + o, len - o, "%s\n",
			      json_string_value(json_object_get(s, "id")));
		assert_true(o < len);
	}
	*root = j;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort the lines of buf in place. */
static void sort_lines(char *buf)
{
	char *lines[512], *copy = strdup(buf), *save = NULL, *l;
	size_t n = 0, o = 0;

	assert_non_null(copy);
	for (l = strtok_r(copy, "\n", &save); l && n < 512;
	     l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	qsort(lines, n, sizeof(*lines), cmp_str);
	for (size_t i = 0; i < n; i++)
		o += sprintf(buf + o, "%s\n", lines[i]);
	free(copy);
}

/*
 * `crashfs states` lists exactly the states `crashfs check` checks with
 * the same models and --points, with the same counts per kind: the
 * example states of the report among them.
 */
static void test_states_agree_with_check(void **state)
{
	static const char *const points[] = {"all", "sync", "every"};
	static char a[16384], b[16384];
	struct tb t;
	char out[256], rep[256];
	uint64_t f;

	(void)state;
	tb_open(&t);
	tb_init_file(&t, "cfg", "old");
	tb_bind_root(&t);
	tb_bind(&t, 2, 1, "cfg", S_IFREG | 0644, 3);
	f = tb_create(&t, 1, "tmp");
	tb_write(&t, f, 0, "new");
	tb_rename(&t, 1, "tmp", 1, "cfg", f, 2);
	{
		struct trace_rec r = {.type = TR_MARK, .name = "saved"};

		tb_rec(&t, &r);
	}
	f = tb_create(&t, 1, "log");
	tb_write(&t, f, 0, "one");
	tb_fsync(&t, f);
	tb_write(&t, f, 3, "two");
	assert_int_equal(trace_writer_close(&t.w), 0);
	outdir(&t, out, sizeof(out), "stdout");
	outdir(&t, rep, sizeof(rep), "report.json");
	for (size_t k = 0; k < 3; k++) {
		char *check[] = {"check",
				 "--run",
				 t.dir,
				 "--model",
				 "posix",
				 "--model",
				 "ext4",
				 "--atomic",
				 "cfg",
				 "--durable",
				 "cfg",
				 "--points",
				 (char *)points[k],
				 "--report",
				 "json",
				 "-o",
				 rep,
				 NULL};
		char *states[] = {
		    "states",  t.dir,  "--model",  "posix",
		    "--model", "ext4", "--points", (char *)points[k],
		    "--json",  NULL};
		json_t *jc, *js, *counts, *pass;
		size_t i;

		assert_int_equal(run_cmd(cmd_check, out, check), 1);
		assert_int_equal(run_cmd(cmd_states, out, states), 0);
		ids_of(rep, a, sizeof(a), &jc);
		ids_of(out, b, sizeof(b), &js);
		sort_lines(a);
		sort_lines(b);
		assert_string_equal(a, b);
		counts = json_object_get(
		    json_array_get(json_object_get(jc, "scenarios"), 0),
		    "counts");
		json_array_foreach(json_object_get(js, "passes"), i, pass)
		{
			json_t *c = json_object_get(
			    counts,
			    json_string_value(json_object_get(pass, "kind")));
			const char *keys[] = {"generated", "checked",
					      "dominated"};

			assert_non_null(c);
			for (size_t q = 0; q < 3; q++)
				assert_int_equal(
				    json_integer_value(
					json_object_get(pass, keys[q])),
				    json_integer_value(
					json_object_get(c, keys[q])));
		}
		assert_int_equal(i, 3); /* visible, posix, ext4 */
		json_decref(jc);
		json_decref(js);
	}
	tb_close(&t);
}

/* --state-dir: the states an external checker reads are written under
 * the directory given, nowhere else, and are gone at the end. */
static void test_state_dir(void **state)
{
	struct tb t;
	char out[256], sd[256], log[300], cmd[400], line[512];
	size_t n = 0;
	uint64_t f;
	FILE *fp;
	DIR *d;
	struct dirent *de;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "a");
	tb_write(&t, f, 0, "data");
	assert_int_equal(trace_writer_close(&t.w), 0);
	outdir(&t, out, sizeof(out), "stdout");
	outdir(&t, sd, sizeof(sd), "scratch");
	assert_int_equal(mkdir(sd, 0755), 0);
	snprintf(log, sizeof(log), "%s/pwd.log", t.dir);
	snprintf(cmd, sizeof(cmd), "pwd >> %s", log);
	{
		char *argv[] = {"check", "--run",	t.dir, "--check",
				cmd,	 "--state-dir", sd,    NULL};
		char *bad[] = {"check",
			       "--run",
			       t.dir,
			       "--check",
			       cmd,
			       "--state-dir",
			       "/nonexistent/dir",
			       NULL};

		assert_int_equal(run_cmd(cmd_check, out, argv), 0);
		assert_int_equal(run_cmd(cmd_check, out, bad), 2);
	}
	fp = fopen(log, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		/* .../scratch/crashfs-states.XXXXXX/... */
		assert_int_equal(strncmp(line, sd, strlen(sd)), 0);
		assert_non_null(strstr(line + strlen(sd), "/crashfs-states."));
		n++;
	}
	fclose(fp);
	assert_true(n > 2);
	/* nothing left under the state dir, nothing in the run directory */
	d = opendir(sd);
	assert_non_null(d);
	while ((de = readdir(d)))
		assert_true(de->d_name[0] == '.');
	closedir(d);
	snprintf(line, sizeof(line), "%s/states", t.dir);
	assert_int_equal(access(line, F_OK), -1);
	tb_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_states_on_disk),
	    cmocka_unit_test(test_incremental_cost),
	    cmocka_unit_test(test_hard_links_incremental),
	    cmocka_unit_test(test_reclaim_after_checker),
	    cmocka_unit_test(test_reclaim_cost),
	    cmocka_unit_test(test_rewrite_from_copy),
	    cmocka_unit_test(test_output_must_be_empty),
	    cmocka_unit_test(test_symlink_planted_in_output),
	    cmocka_unit_test(test_verify_reports_differences),
	    cmocka_unit_test(test_run_layout),
	    cmocka_unit_test(test_commands),
	    cmocka_unit_test(test_states_agree_with_check),
	    cmocka_unit_test(test_state_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
