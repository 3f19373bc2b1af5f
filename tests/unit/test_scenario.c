/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Scenario files: what a user writes is what crashfs check runs, and
 * every mistake gets a message naming the file, the line and the problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glob.h>
#include <unistd.h>

#include "harness/scenario.h"

static char dir[] = "/tmp/test_scenario.XXXXXX";
static char path[4096];
static char err[512];

/* Write text to DIR/name and return its path. */
static const char *put(const char *name, const char *text)
{
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int load(const char *text, struct scenario_list *l)
{
	return scenario_load(put("s.ini", text), l, err, sizeof(err));
}

static void expect_error(const char *text, const char *msg)
{
	struct scenario_list l = {0};

	assert_int_equal(load(text, &l), -22);
	assert_int_equal(l.len, 0);
	if (!strstr(err, msg))
		fail_msg("message '%s' lacks '%s'", err, msg);
	scenario_list_release(&l);
}

static void test_single(void **state)
{
	struct scenario_list l = {0};
	struct scenario *s;

	(void)state;
	assert_int_equal(load("# atomic write\n"
			      "description = seed 004\n"
			      "setup = printf old > config.json\n"
			      "run = python3 save.py config.json\n"
			      "atomic = config.json\n"
			      "durable = config.json\n"
			      "models = posix ext4\n"
			      "expect = fail: durable(posix)\n",
			      &l),
			 0);
	assert_int_equal(l.len, 1);
	s = l.items[0];
	assert_string_equal(s->name, "s");
	assert_string_equal(s->run, "python3 save.py config.json");
	assert_string_equal(s->setup, "printf old > config.json");
	assert_int_equal(s->atomic.len, 1);
	assert_string_equal(s->durable.v[0], "config.json");
	assert_int_equal(s->models.len, 2);
	assert_string_equal(s->models.v[1], "ext4");
	assert_true(s->has_expect);
	assert_int_equal(s->expect_fail[SCN_ATOMIC], 0);
	assert_int_equal(s->expect_fail[SCN_DURABLE], SCN_KIND_MODEL(0));
	assert_string_equal(s->dir, dir);
	scenario_list_release(&l);
}

static void test_sections_inherit_defaults(void **state)
{
	struct scenario_list l = {0};

	(void)state;
	assert_int_equal(load("models = posix ext4\n"
			      "atomic = f\n"
			      "[a]\nrun = ./a\nexpect = pass\n"
			      "[b]\nrun = ./b\nmodels = strict\n"
			      "expect = fail: atomic\n",
			      &l),
			 0);
	assert_int_equal(l.len, 2);
	assert_string_equal(l.items[0]->name, "a");
	assert_int_equal(l.items[0]->models.len, 2);
	assert_string_equal(l.items[0]->atomic.v[0], "f");
	assert_string_equal(l.items[1]->name, "b");
	assert_int_equal(l.items[1]->models.len, 1);
	assert_string_equal(l.items[1]->models.v[0], "strict");
	/* a bare check fails everywhere it is checked */
	assert_int_equal(l.items[1]->expect_fail[SCN_ATOMIC],
			 SCN_KIND_VISIBLE | SCN_KIND_MODEL(0));
	scenario_list_release(&l);
}

static void test_continuation_lines(void **state)
{
	struct scenario_list l = {0};

	(void)state;
	assert_int_equal(load("[x]\nsetup = mkdir d\n  echo hi > d/f\n"
			      "run = true\ncheck = test -d d\n",
			      &l),
			 0);
	assert_string_equal(l.items[0]->setup, "mkdir d\necho hi > d/f");
	assert_false(l.items[0]->has_expect);
	scenario_list_release(&l);
}

/* check-server: the same external checker, as a server; one checker
 * per scenario, and a section's key wins over the defaults'. */
static void test_check_server(void **state)
{
	struct scenario_list l = {0};

	(void)state;
	assert_int_equal(load("check = sh check.sh\n"
			      "[a]\nrun = true\n"
			      "[b]\nrun = true\ncheck-server = python3 srv.py\n"
			      "  --fast\n"
			      "expect = fail: check(posix)\n",
			      &l),
			 0);
	assert_int_equal(l.len, 2);
	assert_string_equal(l.items[0]->check, "sh check.sh");
	assert_false(l.items[0]->check_server);
	assert_string_equal(l.items[1]->check, "python3 srv.py\n--fast");
	assert_true(l.items[1]->check_server);
	assert_int_equal(l.items[1]->expect_fail[SCN_EXTERNAL],
			 SCN_KIND_MODEL(0));
	scenario_list_release(&l);
	expect_error("run = true\ncheck = a\ncheck-server = b\n",
		     "s.ini:3: 'check' and 'check-server' both given (first on "
		     "line 2)");
	expect_error("run = true\ncheck-server = b\ncheck = a\n",
		     "s.ini:3: 'check' and 'check-server' both given");
	expect_error("run = true\ncheck-server =\n",
		     "'check-server' needs a value");
}

/* requires: repeatable, inherited, each word checked for its form. */
static void test_requires(void **state)
{
	struct scenario_list l = {0};

	(void)state;
	assert_int_equal(load("requires = rsync\n"
			      "atomic = f\n"
			      "[a]\nrun = true\n"
			      "requires = /usr/bin/python3:lmdb git\n"
			      "  tar\n"
			      "requires = python3:dbm.gnu\n"
			      "[b]\nrun = true\n",
			      &l),
			 0);
	assert_int_equal(l.len, 2);
	assert_int_equal(l.items[0]->requires.len, 5);
	assert_string_equal(l.items[0]->requires.v[0], "rsync");
	assert_string_equal(l.items[0]->requires.v[1], "/usr/bin/python3:lmdb");
	assert_string_equal(l.items[0]->requires.v[3], "tar");
	assert_string_equal(l.items[0]->requires.v[4], "python3:dbm.gnu");
	assert_int_equal(l.items[1]->requires.len, 1);
	scenario_list_release(&l);
	expect_error("[x]\nrun = true\natomic = f\nrequires = a:b:c\n",
		     "s.ini:4: bad requirement 'a:b:c' (PROGRAM, /PATH or "
		     "PYTHON:MODULE)");
	expect_error("[x]\nrun = true\natomic = f\nrequires = py:\n",
		     "s.ini:4: bad requirement 'py:'");
	expect_error("[x]\nrun = true\natomic = f\nrequires = py:os;x\n",
		     "bad requirement 'py:os;x'");
	expect_error("[x]\nrun = true\natomic = f\nrequires = 'rsync'\n",
		     "bad requirement ''rsync''");
}

static void test_unknown_key(void **state)
{
	(void)state;
	expect_error("run = true\natomc = f\n", "s.ini:2: unknown key 'atomc'");
}

static void test_bad_values(void **state)
{
	(void)state;
	expect_error("run = true\natomic = f\nstates = some\n",
		     ":3: states must be visible, crash or all");
	expect_error("run = true\natomic = f\ntimeout = soon\n",
		     ":3: timeout must be a whole number");
	expect_error("run = true\natomic = ../etc/passwd\n",
		     ":2: path '../etc/passwd' is outside the state");
	expect_error("run = true\natomic = /etc/passwd\n", "outside the state");
	expect_error("run = true\nrun = false\natomic = f\n",
		     ":2: 'run' given twice (first on line 1)");
	expect_error("atomic = f\n", "has no 'run' command");
	expect_error("run = true\n", "checks nothing");
	expect_error("run = true\natomic = f\nthis is not ini\n",
		     ":3: syntax error");
}

static void test_bad_expect(void **state)
{
	(void)state;
	expect_error("run = true\natomic = f\nexpect = maybe\n",
		     ":3: expect must be 'pass' or 'fail");
	expect_error("run = true\natomic = f\nexpect = fail: atomik\n",
		     "unknown check 'atomik'");
	expect_error("run = true\natomic = f\nexpect = fail: atomic(ext4)\n",
		     "'ext4' is neither 'visible' nor one of the scenario's");
	expect_error("run = true\natomic = f\nstates = crash\n"
		     "expect = fail: atomic(visible)\n",
		     "'visible' states are not checked");
	expect_error("run = true\natomic = f\nexpect = fail: atomic(posix\n",
		     "malformed list");
	expect_error("expect = pass\n[a]\nrun = true\natomic = f\n",
		     ":1: expect belongs in a scenario's section");
}

static void test_expect_kinds(void **state)
{
	struct scenario *s = scenario_new();
	char buf[128];

	(void)state;
	assert_non_null(s);
	strv_release(&s->models);
	strv_push(&s->models, "posix");
	strv_push(&s->models, "ext4");
	assert_int_equal(scenario_parse_expect(s,
					       "fail: durable(visible, "
					       "ext4) check",
					       err, sizeof(err)),
			 0);
	assert_int_equal(s->expect_fail[SCN_DURABLE],
			 SCN_KIND_VISIBLE | SCN_KIND_MODEL(1));
	assert_int_equal(s->expect_fail[SCN_EXTERNAL], scenario_kinds(s));
	assert_string_equal(
	    scenario_kinds_str(s, scenario_kinds(s), buf, sizeof(buf)),
	    "visible, posix, ext4");
	scenario_free(&s);
	assert_null(s);
}

static void test_long_line(void **state)
{
	char text[600];

	(void)state;
	memset(text, 'x', sizeof(text));
	memcpy(text, "run = ", 6);
	strcpy(text + 400, "\natomic = f\n");
	expect_error(text, ":1: line longer than");
}

static void test_missing_file(void **state)
{
	struct scenario_list l = {0};

	(void)state;
	assert_int_equal(
	    scenario_load("/nonexistent/x.ini", &l, err, sizeof(err)), -2);
	assert_non_null(strstr(err, "cannot open scenario '/nonexistent"));
}

static void test_path_ok(void **state)
{
	(void)state;
	assert_true(scenario_path_ok("a/b.json"));
	assert_true(scenario_path_ok("..a"));
	assert_false(scenario_path_ok("a/../../b"));
	assert_false(scenario_path_ok(""));
	assert_false(scenario_path_ok("/abs"));
}

/* Every shipped scenario parses and says what it expects (run from the
 * top of the tree, as make does). */
static void test_shipped_scenarios(void **state)
{
	glob_t g;

	(void)state;
	if (glob("scenarios/*.ini", 0, NULL, &g) != 0)
		skip();
	/* the corpus of real programs (scenarios/apps, docs/apps.md) */
	glob("scenarios/apps/*.ini", GLOB_APPEND, NULL, &g);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct scenario_list l = {0};

		if (scenario_load(g.gl_pathv[i], &l, err, sizeof(err)) < 0)
			fail_msg("%s", err);
		for (size_t k = 0; k < l.len; k++)
			if (!l.items[k]->has_expect)
				fail_msg("%s: scenario '%s' has no expect",
					 g.gl_pathv[i], l.items[k]->name);
		scenario_list_release(&l);
	}
	assert_true(g.gl_pathc >= 11);
	globfree(&g);
}

static int setup_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single),
	    cmocka_unit_test(test_sections_inherit_defaults),
	    cmocka_unit_test(test_continuation_lines),
	    cmocka_unit_test(test_check_server),
	    cmocka_unit_test(test_requires),
	    cmocka_unit_test(test_unknown_key),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_bad_expect),
	    cmocka_unit_test(test_expect_kinds),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_path_ok),
	    cmocka_unit_test(test_shipped_scenarios),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
