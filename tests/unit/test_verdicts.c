/* SPDX-License-Identifier: MIT */
/** @file
 *
 * What keeps crashfs check honest: the state log (every checked state's
 * verdict, on disk, in order, with failures learnt later), the bounded
 * set of checked states (flat memory, nothing lost but repeated work),
 * and the preflight that refuses checks that would check nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness/preflight.h"
#include "harness/scenario.h"
#include "harness/seen.h"
#include "harness/statelog.h"
#include "tb.h"

/* A million states go through the log and come back as they went in,
 * with the failures reported after they were logged. */
static void test_statelog_roundtrip(void **state)
{
	struct statelog *l = statelog_new(NULL);
	struct check_state v;
	const uint64_t n = 1000000;
	uint64_t i = 0;
	int rc;

	(void)state;
	assert_non_null(l);
	for (i = 0; i < n; i++) {
		memset(&v, 0, sizeof(v));
		snprintf(v.id, sizeof(v.id), "k%llu.posix.o%llu@0badf00d",
			 (unsigned long long)i / 50,
			 (unsigned long long)i % 50);
		v.kind = (uint8_t)(i % 3);
		v.point = i / 50;
		v.upto = i / 50 + 1;
		v.failed = i % 1000 == 7 ? 1u << SCN_ATOMIC : 0;
		assert_int_equal(statelog_add(l, &v), 0);
	}
	assert_int_equal(statelog_count(l), n);
	assert_int_equal(statelog_fail(l, 7, 1u << SCN_EXTERNAL), 0);
	assert_int_equal(statelog_fail(l, n - 1, 1u << SCN_EXTERNAL), 0);
	assert_int_equal(statelog_fail(l, n, 1u << SCN_EXTERNAL), -EINVAL);
	for (int round = 0; round < 2; round++) {
		uint64_t failing = 0;
		char want[96];

		assert_int_equal(statelog_rewind(l), 0);
		for (i = 0; (rc = statelog_next(l, &v)) > 0; i++) {
			snprintf(want, sizeof(want),
				 "k%llu.posix.o%llu@0badf00d",
				 (unsigned long long)i / 50,
				 (unsigned long long)i % 50);
			if (strcmp(v.id, want) || v.kind != i % 3 ||
			    v.point != i / 50 || v.upto != i / 50 + 1)
				fail_msg("state %llu came back as %s",
					 (unsigned long long)i, v.id);
			failing += v.failed != 0;
			if (i == 7)
				assert_int_equal(v.failed,
						 1u << SCN_ATOMIC |
						     1u << SCN_EXTERNAL);
			if (i == n - 1)
				assert_int_equal(v.failed, 1u << SCN_EXTERNAL);
		}
		assert_int_equal(rc, 0);
		assert_int_equal(i, n);
		assert_int_equal(failing, n / 1000 + 1);
	}
	/* adding after reading appends */
	memset(&v, 0, sizeof(v));
	snprintf(v.id, sizeof(v.id), "last");
	assert_int_equal(statelog_add(l, &v), 0);
	assert_int_equal(statelog_rewind(l), 0);
	for (i = 0; statelog_next(l, &v) > 0; i++)
		;
	assert_int_equal(i, n + 1);
	assert_string_equal(v.id, "last");
	statelog_free(&l);
	assert_null(l);
}

/* The log lives in $TMPDIR and leaves nothing there. */
static void test_statelog_leaves_nothing(void **state)
{
	char dir[] = "/tmp/crashfs-statelog-XXXXXX";
	struct check_state v = {.id = "k0.visible"};
	struct statelog *l;

	(void)state;
	assert_non_null(mkdtemp(dir));
	l = statelog_new(dir);
	assert_non_null(l);
	assert_int_equal(statelog_add(l, &v), 0);
	assert_int_equal(rmdir(dir), 0); /* empty */
	statelog_free(&l);
	assert_null(statelog_new(dir)); /* gone: an error, not a crash */
}

/* Distinct fingerprints are new, repeated ones are seen; past the bound
 * the set stays at its size and only forgets. */
static void test_seen_bounded(void **state)
{
	struct seen s = {.max = 16384};
	uint64_t again = 0;

	(void)state;
	for (uint64_t i = 0; i < 1000; i++)
		assert_false(seen_add(&s, seen_fingerprint(i, 0)));
	for (uint64_t i = 0; i < 1000; i++)
		assert_true(seen_add(&s, seen_fingerprint(i, 0)));
	/* the context keeps states apart */
	assert_false(seen_add(&s, seen_fingerprint(5, 1)));
	assert_true(seen_add(&s, seen_fingerprint(5, 1)));
	for (uint64_t i = 0; i < 100000; i++)
		seen_add(&s, seen_fingerprint(i + 1000000, 0));
	assert_true(s.nbuckets * 8 <= 16384);
	assert_true(s.len <= 16384);
	assert_true(s.evicted > 0);
	/* the most recent ones are remembered */
	for (uint64_t i = 100000 - 100; i < 100000; i++)
		again += seen_add(&s, seen_fingerprint(i + 1000000, 0));
	assert_int_equal(again, 100);
	seen_release(&s);
	assert_null(s.fp);
}

/* A run that touched only "written" (and a mark). */
static void build_run(struct tb *t, bool change)
{
	struct trace_rec mark = {.type = TR_MARK, .name = "saved"};

	tb_open(t);
	tb_init_file(t, "old", "x");
	tb_bind_root(t);
	if (change) {
		uint64_t f = tb_create(t, 1, "written");

		tb_write(t, f, 0, "new");
	}
	tb_rec(t, &mark);
	tb_load(t);
}

static void test_preflight_changes(void **state)
{
	struct tb t;
	char err[512];

	(void)state;
	build_run(&t, false);
	assert_int_equal(preflight_changes(t.m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "the workload changed nothing"));
	assert_non_null(strstr(err, "absolute"));
	tb_close(&t);
	build_run(&t, true);
	assert_int_equal(preflight_changes(t.m, err, sizeof(err)), 0);
	tb_close(&t);
}

static void test_preflight_path(void **state)
{
	struct tb t;
	char err[512];

	(void)state;
	build_run(&t, true);
	/* touched, or there from the start: a real check */
	assert_int_equal(
	    preflight_path(t.m, "--atomic", "written", err, sizeof(err)), 0);
	assert_int_equal(
	    preflight_path(t.m, "--atomic", "old", err, sizeof(err)), 0);
	/* neither: it would check nothing */
	assert_int_equal(
	    preflight_path(t.m, "--durable", "out.txt", err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "--durable 'out.txt': the workload never "
				    "touched out.txt"));
	assert_non_null(strstr(err, "(it created 'written')"));
	/* a component named by an op counts (the directory of the path) */
	assert_int_equal(
	    preflight_path(t.m, "--atomic", "written/x", err, sizeof(err)), 0);
	tb_close(&t);
}

static void test_preflight_resolve(void **state)
{
	char dir[] = "/tmp/crashfs-resolve-XXXXXX", p[128], *cmd, want[256];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/check.sh", dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
	cmd = preflight_resolve_cmd("./check.sh --strict", dir, NULL);
	snprintf(want, sizeof(want), "'%s/check.sh' --strict", dir);
	assert_string_equal(cmd, want);
	free(cmd);
	cmd = preflight_resolve_cmd("sh check.sh a b", dir, NULL);
	snprintf(want, sizeof(want), "sh '%s/check.sh' a b", dir);
	assert_string_equal(cmd, want);
	free(cmd);
	/* not there, absolute, shell syntax, in the state: left alone */
	cmd = preflight_resolve_cmd("./other.sh", dir, NULL);
	assert_string_equal(cmd, "./other.sh");
	free(cmd);
	cmd = preflight_resolve_cmd("/bin/true", dir, NULL);
	assert_string_equal(cmd, "/bin/true");
	free(cmd);
	cmd = preflight_resolve_cmd("test -e x && ./check.sh", dir, NULL);
	assert_string_equal(cmd, "test -e x && ./check.sh");
	free(cmd);
	cmd = preflight_resolve_cmd("sh \"check.sh\"", dir, NULL);
	assert_string_equal(cmd, "sh \"check.sh\"");
	free(cmd);
	cmd = preflight_resolve_cmd("sh check.sh", dir, dir);
	assert_string_equal(cmd, "sh check.sh");
	free(cmd);
	unlink(p);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_statelog_roundtrip),
	    cmocka_unit_test(test_statelog_leaves_nothing),
	    cmocka_unit_test(test_seen_bounded),
	    cmocka_unit_test(test_preflight_changes),
	    cmocka_unit_test(test_preflight_path),
	    cmocka_unit_test(test_preflight_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
