/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Unit tests for fusefs/lazyfs: how each lazyfs::crash command becomes a
 * fault rule, or why it cannot (docs/lazyfs.md's table).  lazyfs.c is
 * compiled in directly; the daemon functions it calls are stubs here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fusefs/lazyfs.c"

/* Stubs: these tests run no command through a daemon. */
void cfs_log(const char *fmt, ...)
{
	(void)fmt;
}

int ctl_request(struct ctl_server *srv, int fd, char *line)
{
	(void)srv;
	(void)fd;
	(void)line;
	return 0;
}

/* The rule for args, or "!" + why not. */
static const char *translate(const char *args)
{
	static char rule[512];
	char buf[512];

	snprintf(buf, sizeof(buf), "%s", args);
	if (crash_rule(buf, rule, sizeof(rule)))
		return rule;
	memmove(rule + 1, rule, strlen(rule) + 1);
	rule[0] = '!';
	return rule;
}

static void test_crash_rules(void **state)
{
	(void)state;
	assert_string_equal(
	    translate("timing=before::op=write::from_rgx=member/wal/[0-9]+"),
	    "fault before write regex=member/wal/[0-9]+ nth=1 action=crash");
	assert_string_equal(translate("timing=after::op=fsync::from_rgx=log"),
			    "fault after fsync,fdatasync regex=log nth=1 "
			    "action=crash");
	/* a regex may hold a single ':' (a POSIX class) */
	assert_string_equal(
	    translate("timing=before::op=unlink::from_rgx=[[:digit:]]"),
	    "fault before unlink regex=[[:digit:]] nth=1 action=crash");
	assert_string_equal(translate("timing=after::op=rename::from_rgx=tmp"),
			    "fault after rename regex=tmp nth=1 action=crash");
	assert_string_equal(translate("timing=before::op=link::to_rgx=new"),
			    "fault before link regex=new nth=1 action=crash");
	assert_string_equal(translate("timing=before::op=symlink::to_rgx=s"),
			    "fault before symlink regex=s nth=1 action=crash");
}

static void refused(const char *args, const char *why)
{
	const char *got = translate(args);

	if (got[0] != '!' || !strstr(got, why))
		fail_msg("'%s' gave '%s', not a refusal saying '%s'", args, got,
			 why);
}

static void test_crash_refused(void **state)
{
	(void)state;
	refused("timing=later::op=write::from_rgx=x", "timing");
	refused("op=write::from_rgx=x", "timing");
	refused("timing=before::op=mmap::from_rgx=x", "not available");
	refused("timing=before::op=read::from_rgx=x", "no fault on read");
	refused("timing=before::op=access::from_rgx=x", "no fault on access");
	refused("timing=before::op=write", "from_rgx");
	refused("timing=before::op=write::from_rgx=x::to_rgx=y", "from_rgx");
	refused("timing=before::op=rename", "from_rgx' and/or 'to_rgx");
	refused("timing=before::op=rename::to_rgx=y", "source of a rename");
	refused("timing=before::op=rename::from_rgx=x::to_rgx=y",
		"source of a rename");
	refused("timing=before::op=link::from_rgx=x", "new name of a link");
	refused("timing=before::op=write::from_rgx=a b", "space");
	refused("timing=before::op=write::colour=red", "unknown attribute");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crash_rules),
	    cmocka_unit_test(test_crash_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
