/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The `requires` key: a scenario about a program that is not installed is
 * skipped with a reason that names it, and one whose programs are all
 * there runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/requires.h"
#include "harness/scenario.h"

static int missing(const char *words, char *why, size_t len)
{
	struct strv v = {0};
	char *copy = strdup(words), *save = NULL;
	int rc;

	for (char *w = strtok_r(copy, " ", &save); w;
	     w = strtok_r(NULL, " ", &save))
		assert_int_equal(strv_push(&v, w), 0);
	rc = requires_missing(&v, why, len);
	strv_release(&v);
	free(copy);
	return rc;
}

static void test_word_forms(void **state)
{
	(void)state;
	assert_true(requires_word_ok("rsync"));
	assert_true(requires_word_ok("/usr/bin/python3"));
	assert_true(requires_word_ok("/usr/bin/python3:lmdb"));
	assert_true(requires_word_ok("python3:dbm.gnu"));
	assert_true(requires_word_ok("redis-server"));
	assert_false(requires_word_ok(""));
	assert_false(requires_word_ok(":lmdb"));
	assert_false(requires_word_ok("python3:"));
	assert_false(requires_word_ok("python3:a:b"));
	assert_false(requires_word_ok("python3:.a"));
	assert_false(requires_word_ok("python3:a."));
	assert_false(requires_word_ok("python3:os;x"));
	assert_false(requires_word_ok("$(rm -rf /)"));
	assert_false(requires_word_ok("a b"));
	assert_false(requires_word_ok("'sh'"));
}

static void test_present(void **state)
{
	char why[256] = "";

	(void)state;
	assert_int_equal(missing("sh /bin/sh", why, sizeof(why)), 0);
	assert_string_equal(why, "");
	/* an empty list is met */
	assert_int_equal(missing("", why, sizeof(why)), 0);
}

static void test_missing_program(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(
	    missing("sh no-such-program-crashfs", why, sizeof(why)), 1);
	assert_string_equal(why, "no-such-program-crashfs is not installed "
				 "(not found on PATH)");
	assert_int_equal(missing("/no/such/crashfs-prog", why, sizeof(why)), 1);
	assert_string_equal(why, "/no/such/crashfs-prog is not installed "
				 "(no such executable)");
	/* a directory is not a program */
	assert_int_equal(missing("/tmp", why, sizeof(why)), 1);
	/* nor is a file without the execute bit */
	assert_int_equal(missing("/etc/passwd", why, sizeof(why)), 1);
	/* why may be NULL */
	assert_int_equal(missing("no-such-program-crashfs", NULL, 0), 1);
}

/* PROGRAM:MODULE runs PROGRAM -c 'import MODULE'. */
static void test_python_module(void **state)
{
	char why[256];
	const char *py =
	    access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : NULL;

	(void)state;
	if (!py)
		skip();
	assert_int_equal(missing("/usr/bin/python3:os.path", why, sizeof(why)),
			 0);
	assert_int_equal(missing("/usr/bin/python3:no_such_module_crashfs", why,
				 sizeof(why)),
			 1);
	assert_string_equal(why, "/usr/bin/python3 cannot import the Python "
				 "module no_such_module_crashfs");
	/* a program that is not Python fails the import: the scenario is
	 * skipped, not run against the wrong interpreter */
	assert_int_equal(missing("/bin/false:os", why, sizeof(why)), 1);
	/* the program is looked for first */
	assert_int_equal(missing("no-such-python-crashfs:os", why, sizeof(why)),
			 1);
	assert_string_equal(why, "no-such-python-crashfs is not installed "
				 "(not found on PATH)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_word_forms),
	    cmocka_unit_test(test_present),
	    cmocka_unit_test(test_missing_program),
	    cmocka_unit_test(test_python_module),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
