/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Reports: what a person, a tool and a CI server get from one result with
 * a failing cause.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/report.h"

static struct scenario *sc;
static struct check_result res;

static int setup(void **state)
{
	char err[128];
	struct check_group *g;

	(void)state;
	sc = scenario_new();
	sc->name = strdup("rename-no-fsync");
	sc->file = strdup("scenarios/rename-no-fsync.ini");
	sc->run = strdup("python3 save.py");
	strv_push(&sc->atomic, "config.json");
	strv_push(&sc->models, "ext4");
	assert_int_equal(
	    scenario_parse_expect(sc, "fail: atomic(posix)", err, sizeof(err)),
	    0);
	memset(&res, 0, sizeof(res));
	res.s = sc;
	res.run_dir = strdup("/tmp/run");
	res.kept = true;
	res.nops = 8;
	res.checked[0] = 3;
	res.checked[1] = 7;
	res.checked[2] = 4;
	res.failed[SCN_ATOMIC] = SCN_KIND_MODEL(0);
	res.path_failed[SCN_ATOMIC][0] = SCN_KIND_MODEL(0);
	res.has_expect = true;
	res.expect_ok = true;
	res.groups = calloc(1, sizeof(*res.groups));
	res.ngroups = 1;
	g = &res.groups[0];
	g->check = SCN_ATOMIC;
	g->path = 0;
	g->kinds = SCN_KIND_MODEL(0);
	g->count = 2;
	g->kcount[1] = 2;
	g->cause.kind = CAUSE_LOST;
	g->cause.nops = 1;
	g->cause.ops[0] = 3;
	snprintf(g->text, sizeof(g->text),
		 "write #3 to config.json.tmp was "
		 "not durable when rename #7 made it visible");
	snprintf(g->hint, sizeof(g->hint),
		 "fsync config.json.tmp before "
		 "renaming it");
	snprintf(g->held, sizeof(g->held), "an empty file");
	snprintf(g->example, sizeof(g->example), "k7.posix.m7n");
	res.states = statelog_new(NULL);
	assert_non_null(res.states);
	{
		struct check_state v = {.kind = 1, .point = 7, .upto = 7};

		snprintf(v.id, sizeof(v.id), "k7.posix.m7n");
		v.failed = 1u << SCN_ATOMIC;
		assert_int_equal(statelog_add(res.states, &v), 0);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	check_result_release(&res);
	scenario_free(&sc);
	return 0;
}

static char *render(enum report_format fmt)
{
	struct report_opts o = {.self = "crashfs"};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(report_write(fmt, &res, 1, &o, f), 0);
	fclose(f);
	return buf;
}

static void test_text(void **state)
{
	char *t = render(REPORT_TEXT);

	(void)state;
	assert_non_null(strstr(t, "FAIL atomic config.json: 2 states"));
	assert_non_null(strstr(t, "crash states (power loss) under posix: 2"));
	assert_null(strstr(t, "visible states"));
	assert_non_null(strstr(t, "cause: write #3 to config.json.tmp"));
	assert_non_null(strstr(t, "hint:  fsync config.json.tmp before"));
	assert_non_null(strstr(t, "crashfs replay /tmp/run --state "
				  "k7.posix.m7n -o DIR"));
	assert_non_null(strstr(t, "expected: fail: atomic(posix) -> OK"));
	free(t);
}

static void test_json(void **state)
{
	char *t = render(REPORT_JSON);
	json_error_t e;
	json_t *root = json_loads(t, 0, &e), *s, *st;

	(void)state;
	assert_non_null(root);
	assert_true(json_is_true(json_object_get(root, "ok")));
	s = json_array_get(json_object_get(root, "scenarios"), 0);
	assert_string_equal(json_string_value(json_object_get(s, "name")),
			    "rename-no-fsync");
	assert_int_equal(json_array_size(json_object_get(
			     json_object_get(s, "failed"), "atomic")),
			 1);
	st = json_array_get(json_object_get(s, "states"), 0);
	assert_string_equal(json_string_value(json_object_get(st, "id")),
			    "k7.posix.m7n");
	assert_string_equal(json_string_value(json_object_get(st, "kind")),
			    "posix");
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(s, "causes"), 0), "hint")),
	    "fsync config.json.tmp before renaming it");
	json_decref(root);
	free(t);
}

static void test_junit(void **state)
{
	char *t;

	(void)state;
	/* as expected: no failure element */
	t = render(REPORT_JUNIT);
	assert_non_null(strstr(t, "<testcase classname=\"crashfs."
				  "rename-no-fsync\" name=\"atomic "
				  "config.json\""));
	assert_null(strstr(t, "<failure"));
	assert_non_null(strstr(t, "hostname=\""));
	assert_non_null(strstr(t, "timestamp=\""));
	free(t);
	/* not as expected: a failure with the cause and the command */
	res.expect_ok = false;
	sc->expect_fail[SCN_ATOMIC] = 0;
	t = render(REPORT_JUNIT);
	assert_non_null(strstr(t, "failures=\"1\""));
	assert_non_null(strstr(t, "<failure type=\"atomic\" message=\"atomic "
				  "config.json fails in: posix; expected: "
				  "pass\">"));
	assert_non_null(strstr(t, "reproduce: crashfs replay /tmp/run"));
	free(t);
}

/* A scenario skipped for a missing requirement: "skip" and the reason in
 * every format, exit status 0, a JUnit <skipped> that CI tools count. */
static void test_skipped(void **state)
{
	json_error_t e;
	json_t *root, *s;
	char *t;

	(void)state;
	res.skipped = true;
	snprintf(res.skip_reason, sizeof(res.skip_reason),
		 "rsync is not installed (not found on PATH)");
	assert_int_equal(check_result_status(&res), CHECK_OK);
	t = render(REPORT_TEXT);
	assert_non_null(
	    strstr(t, "   skip: rsync is not installed (not found on PATH)\n"));
	assert_null(strstr(t, "FAIL"));
	free(t);
	t = render(REPORT_JUNIT);
	assert_non_null(strstr(t, "skipped=\"1\""));
	assert_non_null(strstr(t, "<skipped message=\"rsync is not installed "
				  "(not found on PATH)\"/>"));
	assert_null(strstr(t, "<failure"));
	free(t);
	t = render(REPORT_JSON);
	root = json_loads(t, 0, &e);
	assert_non_null(root);
	assert_true(json_is_true(json_object_get(root, "ok")));
	s = json_array_get(json_object_get(root, "scenarios"), 0);
	assert_string_equal(json_string_value(json_object_get(s, "status")),
			    "skipped");
	assert_string_equal(json_string_value(json_object_get(s, "skipped")),
			    "rsync is not installed (not found on PATH)");
	assert_null(json_object_get(s, "causes"));
	json_decref(root);
	free(t);
	res.skipped = false;
}

/* Names are bytes: a name that is not UTF-8 makes valid JSON (with its
 * exact bytes beside) and valid XML. */
static void test_bytes(void **state)
{
	char *t;
	json_error_t e;
	json_t *root, *c;

	(void)state;
	free(sc->atomic.v[0]);
	sc->atomic.v[0] = strdup("f\377<&\x01");
	res.expect_ok = false;
	sc->expect_fail[SCN_ATOMIC] = 0;
	t = render(REPORT_JSON);
	root = json_loads(t, 0, &e);
	assert_non_null(root);
	c = json_array_get(
	    json_object_get(
		json_array_get(json_object_get(root, "scenarios"), 0),
		"causes"),
	    0);
	assert_string_equal(json_string_value(json_object_get(c, "target")),
			    "f\\xff<&\x01");
	assert_string_equal(json_string_value(json_object_get(c, "target_hex")),
			    "66ff3c2601");
	json_decref(root);
	free(t);
	t = render(REPORT_JUNIT);
	assert_non_null(strstr(t, "name=\"atomic f\\xff&lt;&amp;\\x01\""));
	assert_null(strchr(t, '\377'));
	assert_null(strchr(t, '\001'));
	free(t);
}

static void test_format_names(void **state)
{
	enum report_format f;

	(void)state;
	assert_int_equal(report_parse_format("junit", &f), 0);
	assert_int_equal(f, REPORT_JUNIT);
	assert_int_equal(report_parse_format("xml", &f), -22);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text),	 cmocka_unit_test(test_json),
	    cmocka_unit_test(test_junit),	 cmocka_unit_test(test_bytes),
	    cmocka_unit_test(test_format_names), cmocka_unit_test(test_skipped),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
