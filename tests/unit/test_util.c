/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Unit tests for core/util: util_escape() (every control character written
 * out, nothing else touched, truncation never inside an escape) and
 * util_has_control().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/util.h"

#include <string.h>

static void test_escape(void **state)
{
	char out[64];

	(void)state;
	assert_string_equal(util_escape(out, sizeof(out), "plain/name.txt"),
			    "plain/name.txt");
	assert_string_equal(util_escape(out, sizeof(out), "a\nb\tc\rd"),
			    "a\\nb\\tc\\rd");
	assert_string_equal(util_escape(out, sizeof(out), "\033[31mred\a"),
			    "\\x1b[31mred\\x07");
	/* a backslash stays: escaping twice changes nothing */
	assert_string_equal(util_escape(out, sizeof(out), "back\\slash\x7f"),
			    "back\\slash\\x7f");
	assert_string_equal(util_escape(out, sizeof(out), "a\\x1b\\n"),
			    "a\\x1b\\n");
	/* UTF-8 text stays, a C1 control (CSI, U+009B) does not */
	assert_string_equal(util_escape(out, sizeof(out), "caf\xc3\xa9"),
			    "caf\xc3\xa9");
	assert_string_equal(util_escape(out, sizeof(out),
					"x\xc2\x9b"
					"2J"),
			    "x\\u009b2J");
	/* truncated at an escape's start, not inside it */
	assert_string_equal(util_escape(out, 6, "abc\033d"), "abc");
	assert_string_equal(util_escape(out, 1, "abc"), "");
}

static void test_has_control(void **state)
{
	(void)state;
	assert_false(util_has_control("name with spaces\\"));
	assert_false(util_has_control("caf\xc3\xa9"));
	assert_true(util_has_control("a\nb"));
	assert_true(util_has_control("\033"));
	assert_true(util_has_control("x\xc2\x85"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_has_control),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
