/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Unit tests for fusefs/fault: rule parsing (every field, errors that name
 * the field), plan files, and which occurrences fire (nth, after-bytes,
 * path globs, seeded probability), with the O(1) op mask.  fault.c needs
 * only libc and inih, so it is compiled into this test directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fusefs/fault.c"

#include <sys/stat.h>
#include <unistd.h>

static int parse(struct fault_set *s, const char *rule, char *err)
{
	return fault_parse(s, rule, err, 256);
}

static void test_parse_fields(void **state)
{
	struct fault_set s;
	char err[256] = "";

	(void)state;
	fault_set_init(&s);
	assert_int_equal(parse(&s,
			       "after fsync path=*.wal nth=3 "
			       "action=powercut",
			       err),
			 1);
	assert_int_equal(parse(&s,
			       "when=on op=write,truncate prob=0.5 "
			       "seed=9 after-bytes=1M action=errno:ENOSPC",
			       err),
			 2);
	assert_int_equal(parse(&s, "before write action=delay:10", err), 3);
	assert_true(fault_armed(&s, FOP_WRITE));
	assert_true(fault_armed(&s, FOP_FSYNC));
	assert_true(fault_armed(&s, FOP_TRUNCATE));
	assert_false(fault_armed(&s, FOP_RENAME));
	fault_set_release(&s);
	assert_false(fault_armed(&s, FOP_WRITE));
}

static void expect_error(const char *rule, const char *field)
{
	struct fault_set s;
	char err[256] = "";

	fault_set_init(&s);
	assert_int_equal(parse(&s, rule, err), -EINVAL);
	if (!strstr(err, field))
		fail_msg("rule '%s': error '%s' does not name '%s'", rule, err,
			 field);
	assert_false(fault_armed(&s, FOP_WRITE));
	fault_set_release(&s);
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_error("on bogus action=kill", "op: unknown operation 'bogus'");
	expect_error("on write action=errno:EWHAT", "unknown errno 'EWHAT'");
	expect_error("on write action=explode", "action: unknown action");
	expect_error("on write nth=0 action=kill", "nth");
	expect_error("on write nth=-1 action=kill", "nth");
	expect_error("on write after-bytes=1X action=kill", "after-bytes");
	expect_error("on write prob=1.5 action=kill", "prob");
	expect_error("on write seed=x action=kill", "seed");
	expect_error("later write action=kill", "when");
	expect_error("on write colour=red action=kill", "unknown field");
	expect_error("on write", "action: missing");
	expect_error("action=kill", "op: missing");
	expect_error("on fsync action=torn", "write only");
	expect_error("after write action=short", "when");
	expect_error("on write action=delay:soon", "delay");
	expect_error("on write stray action=kill", "'stray'");
	expect_error("on write run=1 action=kill", "run");
	expect_error("on write run=x action=kill", "run");
	expect_error("on write,fsync run=3 action=kill", "run: counts writes");
	expect_error("on fsync size=3 action=kill", "size: counts writes");
	expect_error("on write size=3x action=kill", "size");
	expect_error("on write run=3 run=4 action=kill", "run: given twice");
}

static void test_no_powercut(void **state)
{
	struct fault_set s;
	char err[256] = "";

	(void)state;
	fault_set_init(&s);
	s.no_powercut = true;
	assert_int_equal(parse(&s, "on fsync action=powercut", err), -EINVAL);
	assert_non_null(strstr(err, "--powercut"));
	assert_int_equal(parse(&s, "on fsync action=kill", err), 1);
	fault_set_release(&s);
}

static void test_nth_and_glob(void **state)
{
	struct fault_set s;
	struct fault_hit hit;
	char err[256];

	(void)state;
	fault_set_init(&s);
	parse(&s, "after fsync path=*.wal nth=3 action=powercut", err);
	assert_false(fault_match(&s, FOP_FSYNC, "a.wal", 0, &hit));
	assert_false(fault_match(&s, FOP_FSYNC, "db", 0, &hit));
	assert_false(fault_match(&s, FOP_FSYNC, "dir/b.wal", 0, &hit));
	assert_true(fault_match(&s, FOP_FSYNC, "a.wal", 0, &hit));
	assert_int_equal(hit.action, FA_POWERCUT);
	assert_int_equal(hit.when, FW_AFTER);
	assert_non_null(strstr(hit.desc, "rule 1: after fsync"));
	assert_false(fault_match(&s, FOP_FSYNC, "a.wal", 0, &hit));
	assert_false(fault_match(&s, FOP_FDATASYNC, "a.wal", 0, &hit));
	fault_set_release(&s);
}

static void test_after_bytes(void **state)
{
	struct fault_set s;
	struct fault_hit hit;
	char err[256];

	(void)state;
	fault_set_init(&s);
	parse(&s, "on write path=data/* after-bytes=1k action=errno:ENOSPC",
	      err);
	assert_false(fault_match(&s, FOP_WRITE, "data/x", 1000, &hit));
	assert_false(fault_match(&s, FOP_WRITE, "other", 5000, &hit));
	assert_false(fault_match(&s, FOP_WRITE, "data/y", 24, &hit));
	assert_true(fault_match(&s, FOP_WRITE, "data/x", 1, &hit));
	assert_int_equal(hit.err, ENOSPC);
	assert_true(fault_match(&s, FOP_WRITE, "data/x", 1, &hit));
	fault_set_release(&s);
}

/* Writes (w) and fsyncs (s, d: fdatasync) of path; the steps a rule
 * fired at, as a string of '0' and '1' (spaces kept). */
static void steps(struct fault_set *s, const char *path, const char *ops,
		  char *out)
{
	struct fault_hit hit;
	size_t i;

	for (i = 0; ops[i]; i++)
		out[i] = ops[i] == ' ' ? ' ' /* for the eye */
			 : fault_match(s,
				       ops[i] == 'w'   ? FOP_WRITE
				       : ops[i] == 's' ? FOP_FSYNC
						       : FOP_FDATASYNC,
				       path, 10, &hit)
			     ? '1'
			     : '0';
	out[i] = '\0';
}

static void test_run(void **state)
{
	struct fault_set s;
	struct fault_hit hit;
	char err[256], got[64], list[256];

	(void)state;
	/* the 4th write of the 2nd run of two or more: a lone write between
	 * fsyncs is no run, an fsync of another file ends none */
	fault_set_init(&s);
	assert_int_equal(parse(&s,
			       "after write path=log run=4 nth=2 "
			       "action=crash",
			       err),
			 1);
	assert_true(fault_armed(&s, FOP_FSYNC));
	assert_true(fault_armed(&s, FOP_FDATASYNC));
	assert_false(fault_armed(&s, FOP_FSYNCDIR));
	steps(&s, "log", "wsw ws wwwws ws wwwdwwwwww", got);
	/* runs: "ww" (1), "wwww" (2, fires at its 4th write) */
	assert_string_equal(got, "000 00 00010 00 0000000000");
	assert_false(fault_match(&s, FOP_FSYNC, "other", 0, &hit));
	fault_list(&s, list, sizeof(list));
	assert_non_null(strstr(list, "(seen 4, fired 1)"));
	fault_set_release(&s);

	/* without nth: every run that reaches K; another file's fsync does
	 * not end the run */
	fault_set_init(&s);
	parse(&s, "after write path=log run=2 action=crash", err);
	steps(&s, "log", "wwwswwsw", got);
	assert_string_equal(got, "01000100");
	assert_false(fault_match(&s, FOP_FSYNC, "other", 0, &hit));
	assert_true(fault_match(&s, FOP_WRITE, "log", 10, &hit));
	fault_set_release(&s);
}

static void test_size(void **state)
{
	struct fault_set s;
	struct fault_hit hit;
	char err[256], list[256];

	(void)state;
	/* the 2nd write, and only if it is 100 bytes: it is not, so never */
	fault_set_init(&s);
	parse(&s, "after write nth=2 size=100 action=crash", err);
	assert_false(fault_match(&s, FOP_WRITE, "f", 100, &hit));
	assert_false(fault_match(&s, FOP_WRITE, "f", 99, &hit));
	assert_false(fault_match(&s, FOP_WRITE, "f", 100, &hit));
	fault_list(&s, list, sizeof(list));
	assert_non_null(strstr(list, "(seen 3, fired 0)"));
	fault_set_release(&s);
	fault_set_init(&s);
	parse(&s, "after write nth=2 size=4k action=crash", err);
	assert_false(fault_match(&s, FOP_WRITE, "f", 1, &hit));
	assert_true(fault_match(&s, FOP_WRITE, "f", 4096, &hit));
	fault_set_release(&s);
}

static int fires(uint64_t seed, unsigned n, char *pattern)
{
	struct fault_set s;
	struct fault_hit hit;
	char rule[128], err[256];
	int count = 0;

	fault_set_init(&s);
	snprintf(rule, sizeof(rule),
		 "on write prob=0.5 seed=%llu action=errno:EIO",
		 (unsigned long long)seed);
	parse(&s, rule, err);
	for (unsigned i = 0; i < n; i++) {
		bool f = fault_match(&s, FOP_WRITE, "f", 1, &hit);

		pattern[i] = f ? '1' : '0';
		count += f;
	}
	pattern[n] = '\0';
	fault_set_release(&s);
	return count;
}

static void test_prob_seeded(void **state)
{
	char a[201], b[201], c[201];
	int n;

	(void)state;
	n = fires(7, 200, a);
	fires(7, 200, b);
	fires(8, 200, c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_in_range(n, 60, 140);
}

static void test_first_rule_wins_all_count(void **state)
{
	struct fault_set s;
	struct fault_hit hit;
	char err[256], list[512];

	(void)state;
	fault_set_init(&s);
	parse(&s, "on write nth=1 action=short", err);
	parse(&s, "on write action=errno:EIO", err);
	assert_true(fault_match(&s, FOP_WRITE, "f", 10, &hit));
	assert_int_equal(hit.action, FA_SHORT);
	assert_true(fault_match(&s, FOP_WRITE, "f", 10, &hit));
	assert_int_equal(hit.action, FA_ERRNO);
	fault_list(&s, list, sizeof(list));
	assert_non_null(strstr(list, "1: on write nth=1 action=short (seen 2, "
				     "fired 1)"));
	assert_non_null(strstr(list, "2: on write action=errno:EIO (seen 2, "
				     "fired 1)"));
	fault_set_release(&s);
}

static void test_plan_file(void **state)
{
	char path[] = "/tmp/crashfs-test-fault-XXXXXX";
	struct fault_set s;
	struct fault_hit hit;
	char err[256] = "";
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("; a plan\n[full]\nwhen = on\nop = write\npath = big\n"
	      "after-bytes = 100\naction = errno:ENOSPC\n\n"
	      "[cut]\nwhen = after\nop = fsync\nnth = 2\n"
	      "action = powercut\n",
	      f);
	fclose(f);
	fault_set_init(&s);
	assert_int_equal(fault_load(&s, path, NULL, err, sizeof(err)), 2);
	assert_false(fault_match(&s, FOP_WRITE, "big", 100, &hit));
	assert_true(fault_match(&s, FOP_WRITE, "big", 1, &hit));
	assert_false(fault_match(&s, FOP_FSYNC, "x", 0, &hit));
	assert_true(fault_match(&s, FOP_FSYNC, "x", 0, &hit));
	fault_set_release(&s);

	f = fopen(path, "w");
	fputs("[ok]\nop = write\naction = kill\n[bad]\nop = write\n"
	      "action = errno:ENOPE\n",
	      f);
	fclose(f);
	fault_set_init(&s);
	assert_true(fault_load(&s, path, NULL, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "[bad]"));
	assert_non_null(strstr(err, "ENOPE"));
	fault_set_release(&s);

	f = fopen(path, "w");
	fputs("[x]\nop = write\n", f);
	fclose(f);
	fault_set_init(&s);
	assert_true(fault_load(&s, path, NULL, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "action: missing"));
	fault_set_release(&s);
	unlink(path);

	fault_set_init(&s);
	assert_int_equal(
	    fault_load(&s, "/nonexistent/plan.ini", NULL, err, sizeof(err)),
	    -ENOENT);
	fault_set_release(&s);
}

/* Issue 13: values that wrapped, were not numbers, or were given twice
 * were accepted. */
static void test_strict_values(void **state)
{
	(void)state;
	/* 16 EiB wraps to 0 in 64 bits: it fired on the first write. */
	expect_error("on write after-bytes=17179869184G action=kill",
		     "after-bytes");
	expect_error("on write after-bytes=18446744073709551616 action=kill",
		     "after-bytes");
	expect_error("on write prob=nan action=kill", "prob");
	expect_error("on write prob=-nan action=kill", "prob");
	expect_error("on write prob=inf action=kill", "prob");
	expect_error("on write seed=-1 action=kill", "seed");
	expect_error("on write nth=+3 action=kill", "nth");
	expect_error("when=on when=after op=write action=kill",
		     "when: given twice");
	expect_error("on write when=after action=kill", "when: given twice");
	expect_error("on write action=kill action=short",
		     "action: given twice");
	expect_error("on write op=fsync action=kill", "op: given twice");
	expect_error("on write path=a path=b action=kill", "path: given twice");
	expect_error("on write nth=1 nth=2 action=kill", "nth: given twice");
	expect_error("on write action=powercut cut-writes=1 cut-writes=2",
		     "cut-writes: given twice");
	expect_error("on write action=powercut cut-keep=metadata "
		     "cut-keep=metadata",
		     "cut-keep: given twice");
	expect_error("on write action=kill cut-seed=3", "cut-*: options of");
}

static void test_max_after_bytes(void **state)
{
	struct fault_set s;
	struct fault_hit hit;
	char err[256] = "";

	(void)state;
	fault_set_init(&s);
	assert_int_equal(parse(&s,
			       "on write after-bytes=16777215T "
			       "action=errno:EIO",
			       err),
			 1);
	assert_false(fault_match(&s, FOP_WRITE, "f", 1u << 30, &hit));
	fault_set_release(&s);
}

/* A rule's text is kept escaped: listing it, logging it and putting it
 * in the trace cannot send control characters anywhere. */
static void test_text_escaped(void **state)
{
	struct fault_set s;
	char err[256] = "", list[512];

	(void)state;
	fault_set_init(&s);
	assert_int_equal(parse(&s, "on write path=a\033[2Jb action=kill", err),
			 1);
	fault_list(&s, list, sizeof(list));
	assert_null(strchr(list, '\033'));
	assert_non_null(strstr(list, "path=a\\x1b[2Jb"));
	fault_set_release(&s);
}

/* regex= (LazyFS's from_rgx): an extended regex searched in "/" + the
 * path, unanchored; action=crash needs --powercut like powercut. */
static void test_regex_and_crash(void **state)
{
	struct fault_set s;
	struct fault_hit hit;
	char err[256] = "";

	(void)state;
	expect_error("on write regex=( action=kill", "regex: bad expression");
	fault_set_init(&s);
	s.no_powercut = true;
	assert_int_equal(parse(&s, "on write action=crash", err), -EINVAL);
	assert_non_null(
	    strstr(err, "crash needs a mount made with --powercut"));
	fault_set_release(&s);
	fault_set_init(&s);
	assert_int_equal(parse(&s,
			       "before write regex=member/wal/[0-9]+\\.wal "
			       "action=crash",
			       err),
			 1);
	assert_int_equal(parse(&s, "on unlink regex=^/top$ action=kill", err),
			 2);
	assert_false(fault_match(&s, FOP_WRITE, "member/wal/x.wal", 1, &hit));
	assert_false(fault_match(&s, FOP_WRITE, "member/wal/12xwal", 1, &hit));
	assert_true(fault_match(&s, FOP_WRITE, "d/member/wal/12.wal", 1, &hit));
	assert_int_equal(hit.action, FA_CRASH);
	assert_false(fault_match(&s, FOP_UNLINK, "a/top", 0, &hit));
	assert_true(fault_match(&s, FOP_UNLINK, "top", 0, &hit));
	fault_set_release(&s);
}

static char plan_tmp[] = "/tmp/crashfs-test-plan-XXXXXX";

/* Load text as a plan; the result, the error in err. */
static int load_text(const char *text, struct fault_plan *o, char *err)
{
	struct fault_set s;
	FILE *f = fopen(plan_tmp, "w");
	int res;

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	fault_set_init(&s);
	err[0] = '\0';
	res = fault_load(&s, plan_tmp, o, err, 256);
	fault_set_release(&s);
	return res;
}

static void plan_error(const char *text, const char *want)
{
	char err[256];

	assert_true(load_text(text, NULL, err) < 0);
	if (!strstr(err, want))
		fail_msg("plan '%s': error '%s' does not say '%s'", text, err,
			 want);
}

static void test_plan_strict(void **state)
{
	struct fault_plan o = {0};
	char err[256], big[300];
	int fd;

	(void)state;
	fd = mkstemp(plan_tmp);
	assert_true(fd >= 0);
	close(fd);
	plan_error("[a]\nop = write\nop = fsync\naction = kill\n",
		   "line 3: section [a]: op: given twice");
	plan_error("[a]\nop = write\naction = kill\n[b]\nop = write\n"
		   "action = kill\n[a]\nop = fsync\naction = kill\n",
		   "line 8: section [a] given twice");
	plan_error("[a]\nop = write\naction = kill\n[a]\nop = fsync\n",
		   "section [a] given twice");
	plan_error("[a]\nop = write\naction = kill\n  action = short\n",
		   "line 4: an indented line continues 'action'");
	plan_error("op = write\n", "'op' outside a section");
	plan_error("[a]\nop = write\nafter-bytes = 17179869184G\n"
		   "action = kill\n",
		   "after-bytes");
	memset(big, 'x', sizeof(big));
	memcpy(big, "[a]\npath = ", 11);
	big[sizeof(big) - 1] = '\0';
	plan_error(big, "line 2: longer than 199");
	/* the settings before the first section */
	assert_int_equal(load_text("fifo = /run/f\nfifo-completed = done\n"
				   "clear-cache = keep-metadata\n"
				   "[a]\nop = write\naction = kill\n",
				   &o, err),
			 1);
	assert_string_equal(o.fifo, "/run/f");
	assert_string_equal(o.fifo_completed, "/tmp/done");
	assert_string_equal(o.clear_cache, "keep-metadata");
	fault_plan_release(&o);
	assert_true(load_text("op = write\n", &o, err) < 0);
	assert_non_null(strstr(err, "unknown key 'op' before the first"));
	fault_plan_release(&o);
	assert_true(load_text("fifo = a\nfifo = b\n", &o, err) < 0);
	assert_non_null(strstr(err, "fifo: given twice"));
	fault_plan_release(&o);
	assert_true(load_text("clear-cache = soon\n", &o, err) < 0);
	assert_non_null(strstr(err, "clear-cache: bad value"));
	fault_plan_release(&o);
	assert_true(load_text("fifo = a\n", NULL, err) < 0);
	assert_non_null(strstr(err, "outside a section"));
	unlink(plan_tmp);
}

/* What is not a regular file is refused at once, never read forever or
 * waited on: /dev/zero has no end, a fifo no writer. */
static void test_plan_not_regular(void **state)
{
	char dir[] = "/tmp/crashfs-test-fifo-XXXXXX", fifo[64], big[64];
	struct fault_set s;
	char err[256];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	fault_set_init(&s);
	assert_int_equal(fault_load(&s, "/dev/zero", NULL, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not a regular file (it is a character "
				    "device)"));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(fault_load(&s, fifo, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "it is a fifo"));
	assert_int_equal(fault_load(&s, dir, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "it is a directory"));
	snprintf(big, sizeof(big), "%s/big", dir);
	f = fopen(big, "w");
	for (int i = 0; i < (1 << 20) / 8 + 1; i++)
		fputs("; .....\n", f);
	fclose(f);
	assert_int_equal(fault_load(&s, big, NULL, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "larger than 1048576 bytes"));
	f = fopen(big, "w");
	fputs("[a]\nop = write\0\naction = kill\n", f);
	fwrite("[a]\nop = w\0x\n", 1, 14, f);
	fclose(f);
	assert_int_equal(fault_load(&s, big, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "NUL byte"));
	fault_set_release(&s);
	unlink(fifo);
	unlink(big);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_fields),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_no_powercut),
	    cmocka_unit_test(test_nth_and_glob),
	    cmocka_unit_test(test_after_bytes),
	    cmocka_unit_test(test_run),
	    cmocka_unit_test(test_size),
	    cmocka_unit_test(test_prob_seeded),
	    cmocka_unit_test(test_first_rule_wins_all_count),
	    cmocka_unit_test(test_plan_file),
	    cmocka_unit_test(test_strict_values),
	    cmocka_unit_test(test_max_after_bytes),
	    cmocka_unit_test(test_text_escaped),
	    cmocka_unit_test(test_plan_strict),
	    cmocka_unit_test(test_plan_not_regular),
	    cmocka_unit_test(test_regex_and_crash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
