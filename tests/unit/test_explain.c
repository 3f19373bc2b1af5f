/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Explanations that are right: hand-built traces of the shapes real
 * programs have (rsync's and install's chmod of a temp file before its
 * rename, git's link + unlink, install's unlink + create, append logs,
 * a database whose commits each leave the same unlink undurable, a file
 * the check does not depend on), checked end to end by check_scenario()
 * on the recorded run, with the exact cause and hint a user reads.
 *
 * Set CRASHFS_TEST_DUMP=1 to print every group of every case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness/cause.h"
#include "harness/check.h"
#include "harness/checks.h"
#include "tb.h"

static uint64_t tb_mark(struct tb *t, const char *text)
{
	struct trace_rec r = {.type = TR_MARK, .name = text};

	tb_rec(t, &r);
	return r.seq;
}

static uint64_t tb_append(struct tb *t, uint64_t id, uint64_t off,
			  const char *s)
{
	return tb_write_flags(t, id, off, s, (uint32_t)strlen(s), TRF_APPEND);
}

static uint64_t tb_link(struct tb *t, uint64_t id, uint64_t parent,
			const char *name)
{
	struct trace_rec r = {
	    .type = TR_LINK, .id = id, .parent = parent, .name = name};

	tb_rec(t, &r);
	return r.seq;
}

/* What a case checks: which paths, under which model. */
struct spec {
	const char *atomic;  /* NULL: none */
	const char *durable; /* NULL: none */
	const char *model;   /* NULL: posix */
	const char *check;   /* external checker, NULL: none */
};

/* Check the run t recorded (loaded) as a scenario; r must be released. */
static void check_run(struct tb *t, const struct spec *sp,
		      struct check_result *r)
{
	struct scenario *s = scenario_new();
	struct check_opts o = {.jobs = 1, .recorded = t->dir};

	assert_non_null(s);
	s->name = strdup("t");
	s->run = strdup("true");
	if (sp->atomic)
		strv_push(&s->atomic, sp->atomic);
	if (sp->durable)
		strv_push(&s->durable, sp->durable);
	if (sp->model) {
		strv_release(&s->models);
		strv_push(&s->models, sp->model);
	}
	if (sp->check)
		s->check = strdup(sp->check);
	assert_int_equal(check_scenario(s, &o, r), 0);
	if (getenv("CRASHFS_TEST_DUMP"))
		for (size_t i = 0; i < r->ngroups; i++)
			fprintf(stderr,
				"[%zu] %s %llu states in %s\n  cause: %s\n"
				"  held: %s\n  hint: %s\n",
				i, scenario_check_name(r->groups[i].check),
				(unsigned long long)r->groups[i].count,
				r->groups[i].example, r->groups[i].text,
				r->groups[i].held, r->groups[i].hint);
	/* the scenario is the result's: free it with the result */
}

static void release(struct check_result *r)
{
	struct scenario *s = (struct scenario *)r->s;

	check_result_release(r);
	scenario_free(&s);
}

/* The group of check c whose cause starts with text, or fail. */
static const struct check_group *group(const struct check_result *r,
				       enum scn_check c, const char *text)
{
	for (size_t i = 0; i < r->ngroups; i++)
		if (r->groups[i].check == c &&
		    !strncmp(r->groups[i].text, text, strlen(text)))
			return &r->groups[i];
	fprintf(stderr, "no %s cause starting with: %s\n",
		scenario_check_name(c), text);
	for (size_t i = 0; i < r->ngroups; i++)
		fprintf(stderr, "  have: %s: %s\n",
			scenario_check_name(r->groups[i].check),
			r->groups[i].text);
	fail();
	return NULL;
}

/* No cause or hint anywhere mentions s. */
static void nowhere(const struct check_result *r, const char *s)
{
	for (size_t i = 0; i < r->ngroups; i++) {
		if (strstr(r->groups[i].text, s) ||
		    strstr(r->groups[i].hint, s))
			fprintf(stderr, "'%s' in: %s / %s\n", s,
				r->groups[i].text, r->groups[i].hint);
		assert_null(strstr(r->groups[i].text, s));
		assert_null(strstr(r->groups[i].hint, s));
	}
}

/*
 * rsync, install -C: a temp file is written, its mode set (and its times),
 * then renamed over the target.  The setattr persisting after the lost
 * write is not what exposed it: the rename is.
 */
static void test_chmod_before_rename(void **state)
{
	struct spec sp = {"f", "f", NULL};
	struct check_result r = {0};
	const struct check_group *g;
	uint64_t tmp;
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_init_file(&t, "f", "old");
	tb_bind_root(&t);
	tb_bind(&t, 2, 1, "f", S_IFREG | 0644, 3);
	tmp = tb_create(&t, 1, ".f.tmp");	    /* #3 */
	tb_write(&t, tmp, 0, "new");		    /* #4 */
	tb_chmod(&t, tmp, 0644);		    /* #5 */
	tb_rename(&t, 1, ".f.tmp", 1, "f", tmp, 2); /* #6 */
	assert_non_null(tb_load(&t));
	check_run(&t, &sp, &r);
	g = group(&r, SCN_ATOMIC, "write #4");
	assert_string_equal(
	    g->text, "write #4 to .f.tmp (3 bytes at 0) was not durable when "
		     "rename #6 .f.tmp -> f made it visible (in some states "
		     "it was torn or persisted as zeros instead)");
	assert_string_equal(g->hint, "fsync .f.tmp before renaming it");
	g = group(&r, SCN_DURABLE,
		  "write #4 to .f.tmp (3 bytes at 0) was "
		  "not durable;");
	assert_string_equal(g->text,
			    "write #4 to .f.tmp (3 bytes at 0) was not "
			    "durable; and rename #6 .f.tmp -> f was not "
			    "durable");
	assert_string_equal(g->hint, "fsync .f.tmp before renaming it; and "
				     "fsync the directory after the rename");
	nowhere(&r, "setattr");
	nowhere(&r, "in place");
	nowhere(&r, "end of the program");
	release(&r);
	tb_close(&t);
}

/*
 * git's object files: write tmp_obj, link it to its final name, unlink
 * tmp_obj.  The link published the data.
 */
static void test_link_then_unlink(void **state)
{
	struct spec sp = {NULL, "o/obj", NULL};
	struct check_result r = {0};
	const struct check_group *g;
	uint64_t dir, tmp;
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	dir = tb_mkdir(&t, 1, "o");	     /* #2 */
	tmp = tb_create(&t, dir, "tmp_obj"); /* #3 */
	tb_write(&t, tmp, 0, "blob");	     /* #4 */
	tb_link(&t, tmp, dir, "obj");	     /* #5 */
	tb_unlink(&t, dir, "tmp_obj", tmp);  /* #6 */
	assert_non_null(tb_load(&t));
	check_run(&t, &sp, &r);
	g = group(&r, SCN_DURABLE,
		  "write #4 to o/tmp_obj (4 bytes at 0) was "
		  "not durable when");
	assert_string_equal(g->text,
			    "write #4 to o/tmp_obj (4 bytes at 0) was not "
			    "durable when link #5 o/obj made it visible (in "
			    "some states it was torn or persisted as zeros "
			    "instead)");
	assert_string_equal(g->hint, "fsync o/tmp_obj before linking it");
	g = group(&r, SCN_DURABLE,
		  "write #4 to o/tmp_obj (4 bytes at 0) was "
		  "not durable;");
	assert_string_equal(g->hint, "fsync o/tmp_obj before linking it; and "
				     "fsync the directory o after the link");
	nowhere(&r, "end of the program");
	release(&r);
	tb_close(&t);
}

/* install: the target is unlinked, created again and written. */
static void test_unlink_then_create(void **state)
{
	struct spec sp = {"f", NULL, NULL};
	struct check_result r = {0};
	const struct check_group *g;
	uint64_t f;
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_init_file(&t, "f", "old");
	tb_bind_root(&t);
	tb_bind(&t, 2, 1, "f", S_IFREG | 0644, 3);
	tb_unlink(&t, 1, "f", 2);  /* #3 */
	f = tb_create(&t, 1, "f"); /* #4 */
	tb_write(&t, f, 0, "new"); /* #5 */
	assert_non_null(tb_load(&t));
	check_run(&t, &sp, &r);
	g = group(&r, SCN_ATOMIC,
		  "write #5 to f (3 bytes at 0) was not "
		  "durable");
	assert_string_equal(g->hint,
			    "the program deletes f (unlink #3) and creates it "
			    "again (create #4): write the new content to a "
			    "temp file, fsync it and rename it over f");
	/* the crash state that kept the unlink and lost the create: the
	 * same advice (a directory fsync would not close the window) */
	g = group(&r, SCN_ATOMIC, "create #4 f was not durable");
	assert_string_equal(g->hint,
			    "the program deletes f (unlink #3) and creates it "
			    "again (create #4): write the new content to a "
			    "temp file, fsync it and rename it over f");
	g = group(&r, SCN_ATOMIC, "after unlink #3 f, f is absent");
	assert_string_equal(g->hint, "make the change to f in one step (a "
				     "rename of a complete file)");
	nowhere(&r, "in place");
	release(&r);
	tb_close(&t);
}

/* An append-only log, each record acknowledged by a mark. */
static void build_log(struct tb *t, bool fsync_each)
{
	char rec[32], mk[32];
	uint64_t off = 0;

	tb_open(t);
	tb_init_file(t, "log", "");
	tb_bind_root(t);
	tb_bind(t, 2, 1, "log", S_IFREG | 0644, 0);
	for (int i = 1; i <= 3; i++) {
		snprintf(rec, sizeof(rec), "record %d\n", i);
		snprintf(mk, sizeof(mk), "r%d", i);
		tb_append(t, 2, off, rec);
		off += strlen(rec);
		if (fsync_each)
			tb_fsync(t, 2);
		tb_mark(t, mk);
	}
	assert_non_null(tb_load(t));
}

/*
 * Appends that are fsynced before they are acknowledged: under posix an
 * append may persist as zeros until its fsync returns.  A temp file and
 * a rename is no advice for a log.
 */
static void test_append_log_torn_tail(void **state)
{
	struct spec sp = {"log", "log", NULL};
	struct check_result r = {0};
	const struct check_group *g;
	struct tb t;

	(void)state;
	build_log(&t, true);
	check_run(&t, &sp, &r);
	assert_int_equal(r.failed[SCN_DURABLE], 0);
	assert_int_equal(r.ngroups, 1);
	g = group(&r, SCN_ATOMIC,
		  "write #3 to log (9 bytes at 0) persisted "
		  "its size but not its data (zeros)");
	assert_string_equal(g->text,
			    "write #3 to log (9 bytes at 0) persisted its size "
			    "but not its data (zeros); the same mistake at 3 "
			    "ops in all (write #3 to write #9)");
	assert_string_equal(g->hint,
			    "an append can persist torn or as zeros until "
			    "fsync returns: make readers of log detect a "
			    "damaged last record and drop it (checksummed "
			    "records)");
	nowhere(&r, "temp file");
	release(&r);
	tb_close(&t);
}

/* Appends acknowledged without fsync: fsync before acknowledging. */
static void test_append_log_nofsync(void **state)
{
	struct spec sp = {"log", "log", NULL};
	struct check_result r = {0};
	const struct check_group *g;
	struct tb t;

	(void)state;
	build_log(&t, false);
	check_run(&t, &sp, &r);
	g = group(&r, SCN_DURABLE,
		  "write #7 to log (9 bytes at 18) was not "
		  "durable at mark 'r3' (#8)");
	assert_string_equal(g->hint,
			    "fsync log before acknowledging it (mark 'r3')");
	/* every lost record, in both checks, but the zero-filled last
	 * one: acknowledged before it was durable */
	for (size_t i = 0; i < r.ngroups; i++)
		if (r.groups[i].cause.kind == CAUSE_LOST &&
		    (r.groups[i].check == SCN_DURABLE ||
		     strstr(r.groups[i].text, "did not persist while")))
			assert_non_null(strstr(r.groups[i].hint,
					       "fsync log before acknowledging "
					       "it (mark 'r"));
	/* the records share a sector: a crash never keeps a later one
	 * without the earlier ones (core/settle.h), so no cause may say so */
	nowhere(&r, "did not persist while write #5");
	g = group(&r, SCN_ATOMIC,
		  "write #3 to log (9 bytes at 0) persisted "
		  "its size but not its data (zeros)");
	assert_string_equal(g->hint,
			    "an append can persist torn or as zeros until "
			    "fsync returns: make readers of log detect a "
			    "damaged last record and drop it (checksummed "
			    "records)");
	nowhere(&r, "temp file");
	nowhere(&r, "in place");
	nowhere(&r, "(on )");
	nowhere(&r, "fsync  ");
	release(&r);
	tb_close(&t);
}

/*
 * Each commit of a database with a rollback journal: create the journal
 * ("undo I"), write and fsync it, fsync the directory, append row I to
 * the database and fsync it, unlink the journal, mark commit-I.  The
 * unlink is never followed by a directory fsync, so after a power loss
 * the journal can come back and roll the acknowledged commit back.  The
 * checker plays the database: a journal "undo K" present rolls row K and
 * later back; every acknowledged row must be there.  One mistake, made
 * at every commit, is one cause.
 */
#define ROLLBACK_CHECK                                                         \
	"rows=$(wc -l < db); "                                                 \
	"if [ -e db-journal ]; then k=$(cut -d' ' -f2 db-journal); "           \
	"[ \"$rows\" -ge \"${k:-999}\" ] && rows=$((k - 1)); fi; "             \
	"[ \"$rows\" -ge \"$(wc -l < \"$CRASHFS_MARKS\")\" ]"

static void test_same_unlink_every_commit(void **state)
{
	struct spec sp = {NULL, NULL, NULL, ROLLBACK_CHECK};
	struct check_result r = {0};
	const struct check_group *g;
	char mk[32], row[32], undo[32];
	uint64_t db, j, unlinks[5];
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_init_file(&t, "db", "");
	tb_bind_root(&t);
	db = 2;
	tb_bind(&t, db, 1, "db", S_IFREG | 0644, 0);
	for (int i = 0; i < 5; i++) {
		snprintf(mk, sizeof(mk), "commit-%d", i + 1);
		snprintf(row, sizeof(row), "row %d\n", i + 1);
		snprintf(undo, sizeof(undo), "undo %d\n", i + 1);
		j = tb_create(&t, 1, "db-journal");
		tb_write(&t, j, 0, undo);
		tb_fsync(&t, j);
		tb_fsyncdir(&t, 1);
		tb_write(&t, db, 6 * i, row);
		tb_fsync(&t, db);
		unlinks[i] = tb_unlink(&t, 1, "db-journal", j);
		tb_mark(&t, mk);
	}
	assert_non_null(tb_load(&t));
	check_run(&t, &sp, &r);
	assert_int_equal(r.failed[SCN_EXTERNAL], SCN_KIND_MODEL(0));
	assert_int_equal(r.ngroups, 1);
	g = &r.groups[0];
	assert_int_equal(g->nsame, 5);
	assert_int_equal(g->count, 5);
	assert_int_equal(g->also[0], unlinks[1]);
	assert_string_equal(g->text,
			    "unlink #9 db-journal was not durable at mark "
			    "'commit-1' (#10); the same mistake at 5 ops in "
			    "all (unlink #9 to unlink #41), at marks "
			    "'commit-1' (#10) to 'commit-5' (#42)");
	assert_string_equal(g->hint, "fsync the directory after the unlink");
	release(&r);
	tb_close(&t);
}

/*
 * Four writes to f, each needed, and writes to g the check does not
 * depend on: a cause names f only (SQLite's -shm is never synced by
 * design; a cause that names it teaches a wrong fix).
 */
static void test_many_names_only_needed_files(void **state)
{
	struct spec sp = {NULL, "f", NULL};
	struct check_result r = {0};
	const struct check_group *g;
	char b[600];
	uint64_t f, s;
	struct tb t;

	(void)state;
	/* each write in sectors of its own, so that none brings another
	 * back with it (core/settle.h): only all four together fix it */
	memset(b, 'x', sizeof(b));
	b[sizeof(b) - 1] = '\0';
	tb_open(&t);
	tb_init_file(&t, "f", "");
	tb_init_file(&t, "shm", "");
	tb_bind_root(&t);
	f = 2;
	s = 3;
	tb_bind(&t, f, 1, "f", S_IFREG | 0644, 0);
	tb_bind(&t, s, 1, "shm", S_IFREG | 0644, 0);
	for (int i = 0; i < 4; i++) {
		tb_write(&t, s, 512 * i, "index");
		tb_write_flags(&t, f, 1024 * i, b, 512, 0);
	}
	tb_mark(&t, "saved");
	assert_non_null(tb_load(&t));
	check_run(&t, &sp, &r);
	g = group(&r, SCN_DURABLE, "4 operations");
	assert_string_equal(g->text,
			    "4 operations not yet durable were lost together "
			    "(on f) at mark 'saved' (#12); persisting any one, "
			    "two or three of them does not fix the state");
	assert_string_equal(g->hint,
			    "fsync f before acknowledging (mark 'saved')");
	nowhere(&r, "shm");
	release(&r);
	tb_close(&t);
}

/*
 * A state that lost nothing is its visible state: without a search it is
 * summarised as such, never as losses on no file ("lost (on )"); an
 * external checker that fails on it while its visible state passed gives
 * a verdict that is not repeatable, and is told so.
 */
static bool fails_always(void *ctx, struct model *m, uint64_t point,
			 uint64_t upto)
{
	(void)m;
	(void)point;
	(void)upto;
	return !*(bool *)ctx;
}

static void test_state_that_lost_nothing(void **state)
{
	struct cause c, v = {.kind = CAUSE_VISIBLE};
	struct cause_state st;
	uint8_t choice[8];
	bool visible_fails = false;
	uint64_t w;
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_init_file(&t, "log", "");
	tb_bind_root(&t);
	tb_bind(&t, 2, 1, "log", S_IFREG | 0644, 0);
	w = tb_append(&t, 2, 0, "one\n"); /* #3 */
	tb_fsync(&t, 2);		  /* #4 */
	assert_non_null(tb_load(&t));
	memset(choice, MV_FULL, sizeof(choice));
	st = (struct cause_state){4, choice, 512};
	assert_int_equal(cause_summary(t.m, &st, &c), 0);
	assert_int_equal(c.kind, CAUSE_VISIBLE);
	assert_int_equal(c.ops[0], w);
	assert_true(cause_matches(t.m, &v, &st));
	/* the search: the visible state passes, the state failed */
	assert_int_equal(
	    cause_find(t.m, &st, fails_always, &visible_fails, 100, &c), 0);
	assert_int_equal(c.kind, CAUSE_UNSTABLE);
	/* and when the visible state fails too, it is a visible cause */
	visible_fails = true;
	assert_int_equal(
	    cause_find(t.m, &st, fails_always, &visible_fails, 100, &c), 0);
	assert_int_equal(c.kind, CAUSE_VISIBLE);
	tb_close(&t);
}

/* The checker fails once the mark `*ctx` is made (the marks file). */
static bool fails_after_mark(void *ctx, struct model *m, uint64_t point,
			     uint64_t upto)
{
	(void)m;
	(void)point;
	return upto < *(uint64_t *)ctx;
}

/*
 * The program acknowledges (marks) before it writes anything: a state at
 * point 0 that stands for a crash just after the mark fails, yet the
 * initial state (no mark) passes.  The cause is the mark, never "the
 * checker fails already on the initial state"; and the mark after the
 * last write is named when the state before it passed.
 */
static void test_mark_before_any_write(void **state)
{
	struct cause c;
	struct cause_state st;
	uint64_t mk, mk2, w;
	uint8_t choice[8];
	struct tb t;

	(void)state;
	memset(choice, MV_FULL, sizeof(choice));
	tb_open(&t);
	tb_init_file(&t, "f", "old");
	tb_bind_root(&t);
	tb_bind(&t, 2, 1, "f", S_IFREG | 0644, 3);
	mk = tb_mark(&t, "saved"); /* #3 */
	w = tb_write(&t, 2, 0, "new");
	mk2 = tb_mark(&t, "again");
	assert_non_null(tb_load(&t));
	/* point 0, standing for a crash up to the mark */
	st = (struct cause_state){0, choice, 512, NULL, mk};
	assert_int_equal(cause_find(t.m, &st, fails_after_mark, &mk, 100, &c),
			 0);
	assert_int_equal(c.kind, CAUSE_VISIBLE);
	assert_int_equal(c.ops[0], mk);
	/* without a search, too */
	assert_int_equal(cause_summary(t.m, &st, &c), 0);
	assert_int_equal(c.kind, CAUSE_VISIBLE);
	assert_int_equal(c.ops[0], mk);
	/* after a write, the later mark is named when it made the
	 * difference, the write when the state before the mark failed */
	st = (struct cause_state){w, choice, 512, NULL, mk2};
	assert_int_equal(cause_find(t.m, &st, fails_after_mark, &mk2, 100, &c),
			 0);
	assert_int_equal(c.ops[0], mk2);
	assert_int_equal(cause_find(t.m, &st, fails_after_mark, &mk, 100, &c),
			 0);
	assert_int_equal(c.ops[0], w);
	tb_close(&t);
}

/*
 * The program truncates f, changes its mode, then writes it: a reader
 * sees the empty file after both the truncate and the chmod, one state,
 * one cause.
 */
static void test_visible_same_version_one_cause(void **state)
{
	struct spec sp = {"f", NULL, NULL};
	struct check_result r = {0};
	const struct check_group *g;
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_init_file(&t, "f", "old");
	tb_bind_root(&t);
	tb_bind(&t, 2, 1, "f", S_IFREG | 0644, 3);
	tb_truncate(&t, 2, 0);	   /* #3 */
	tb_chmod(&t, 2, 0600);	   /* #4 */
	tb_write(&t, 2, 0, "new"); /* #5 */
	assert_non_null(tb_load(&t));
	check_run(&t, &sp, &r);
	g = group(&r, SCN_ATOMIC, "after truncate #3");
	assert_true(g->kinds & SCN_KIND_VISIBLE);
	assert_string_equal(g->text,
			    "after truncate #3 of f to 0 bytes, f is an empty "
			    "file: a concurrent reader or kill -9 sees it, no "
			    "crash needed; the same after 2 ops in all "
			    "(truncate #3 to setattr #4)");
	assert_string_equal(g->hint,
			    "this updates f in place: write a temp file, fsync "
			    "it and rename it over f");
	for (size_t i = 0; i < r.ngroups; i++)
		if (r.groups[i].cause.kind == CAUSE_VISIBLE)
			assert_ptr_equal(&r.groups[i], g);
	release(&r);
	tb_close(&t);
}

/*
 * A crash state that fails even with everything persisted is explained
 * by what a reader saw at its point: it joins the cause of the visible
 * states that show the same version, and no "a concurrent reader or kill
 * -9 sees it" cause is ever listed under crash states only.
 */
static void test_visible_cause_from_crash_state(void **state)
{
	struct spec sp = {"f", NULL, NULL};
	struct check_result r = {0};
	const struct check_group *g;
	size_t nvisible = 0;
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_init_file(&t, "f", "old");
	tb_bind_root(&t);
	tb_bind(&t, 2, 1, "f", S_IFREG | 0644, 3);
	tb_truncate(&t, 2, 0);	  /* #3 */
	tb_write(&t, 2, 0, "n");  /* #4: a reader sees "n" */
	tb_chmod(&t, 2, 0600);	  /* #5: still "n" */
	tb_write(&t, 2, 1, "ew"); /* #6 */
	assert_non_null(tb_load(&t));
	check_run(&t, &sp, &r);
	for (size_t i = 0; i < r.ngroups; i++) {
		if (r.groups[i].cause.kind != CAUSE_VISIBLE)
			continue;
		assert_true(r.groups[i].kinds & SCN_KIND_VISIBLE);
		nvisible++;
	}
	assert_int_equal(nvisible, 2);
	g = group(&r, SCN_ATOMIC, "after write #4 to f (1 bytes at 0)");
	assert_true(g->kinds & SCN_KIND_MODEL(0));
	release(&r);
	tb_close(&t);
}

/* A directory checked with --durable is described as one. */
static void test_directory_held(void **state)
{
	struct spec sp = {NULL, "d", NULL};
	struct check_result r = {0};
	uint64_t d, a;
	bool seen = false;
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	d = tb_mkdir(&t, 1, "d");
	a = tb_create(&t, d, "a");
	tb_write(&t, a, 0, "x");
	tb_mark(&t, "done");
	assert_non_null(tb_load(&t));
	check_run(&t, &sp, &r);
	for (size_t i = 0; i < r.ngroups; i++) {
		assert_null(strstr(r.groups[i].held, "0 bytes"));
		if (!strcmp(r.groups[i].held,
			    "a directory tree that is none of its versions (1 "
			    "entry: a (empty))"))
			seen = true;
	}
	assert_true(seen);
	release(&r);
	tb_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chmod_before_rename),
	    cmocka_unit_test(test_link_then_unlink),
	    cmocka_unit_test(test_unlink_then_create),
	    cmocka_unit_test(test_append_log_torn_tail),
	    cmocka_unit_test(test_append_log_nofsync),
	    cmocka_unit_test(test_same_unlink_every_commit),
	    cmocka_unit_test(test_many_names_only_needed_files),
	    cmocka_unit_test(test_state_that_lost_nothing),
	    cmocka_unit_test(test_visible_same_version_one_cause),
	    cmocka_unit_test(test_mark_before_any_write),
	    cmocka_unit_test(test_visible_cause_from_crash_state),
	    cmocka_unit_test(test_directory_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
