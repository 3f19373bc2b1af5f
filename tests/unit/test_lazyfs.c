/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Unit tests for fusefs/lazyfs: how each lazyfs::crash, torn-op and
 * torn-seq command becomes a fault rule, or why it cannot (docs/lazyfs.md's
 * table).  lazyfs.c is
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

/* The rule for a torn-op (seq false) or torn-seq command's args on a
 * mount of /srv/root at /mnt/lazy, or "!" + why not. */
static const char *torn_of(const char *args, bool seq)
{
	static char rule[1024];
	char buf[512], glob[256];

	snprintf(buf, sizeof(buf), "%s", args);
	if (torn_rule(buf, seq, "/srv/root", "/mnt/lazy", rule, sizeof(rule),
		      glob, sizeof(glob)))
		return rule;
	memmove(rule + 1, rule, strlen(rule) + 1);
	rule[0] = '!';
	return rule;
}

static void test_torn_op_rules(void **state)
{
	(void)state;
	/* LazyFS's file= is the path under its root: the backing directory */
	assert_string_equal(
	    torn_of("file=/srv/root/member/wal/0.wal::parts=3::persist=1,3",
		    false),
	    "fault after write path=member/wal/0.wal nth=1 action=crash "
	    "cut-keep=metadata cut-write=last cut-parts=3 cut-persist=1,3");
	/* the mount point's path names the same file; occurrence */
	assert_string_equal(
	    torn_of("file=/mnt/lazy/out.txt::parts=2::persist=2::occurrence=35",
		    false),
	    "fault after write path=out.txt nth=35 action=crash "
	    "cut-keep=metadata cut-write=last cut-parts=2 cut-persist=2");
	/* parts_bytes: fires only on a write of their sum */
	assert_string_equal(
	    torn_of("file=/srv/root/a::parts_bytes=4096,3600,1260::persist=2",
		    false),
	    "fault after write path=a nth=1 size=8956 action=crash "
	    "cut-keep=metadata cut-write=last cut-part-bytes=4096,3600,1260 "
	    "cut-persist=2");
	/* no persist: no part persists, the crash alone */
	assert_string_equal(torn_of("file=/srv/root/a::parts=2", false),
			    "fault after write path=a nth=1 action=crash "
			    "cut-keep=metadata");
	/* both: parts= wins, as in LazyFS; the last value given counts */
	assert_string_equal(
	    torn_of("file=/srv/root/a::parts_bytes=1,2::parts=2::persist=1"
		    "::parts=3::persist=3",
		    false),
	    "fault after write path=a nth=1 action=crash "
	    "cut-keep=metadata cut-write=last cut-parts=3 cut-persist=3");
	/* a glob matches the name itself */
	assert_string_equal(
	    torn_of("file=/srv/root/d*[1]?::parts=1::persist=1", false),
	    "fault after write path=d\\*\\[1]\\? nth=1 "
	    "action=crash cut-keep=metadata cut-write=last "
	    "cut-parts=1 cut-persist=1");
}

static void test_torn_seq_rules(void **state)
{
	(void)state;
	/* writes 1 and 4 of the run: the crash after the 4th */
	assert_string_equal(
	    torn_of("op=write::file=/srv/root/output.txt::persist=1,4", true),
	    "fault after write path=output.txt run=4 nth=1 action=crash "
	    "cut-keep=metadata cut-writes=last-3,last");
	assert_string_equal(
	    torn_of("op=write::file=/srv/root/o::persist=2,3::occurrence=2",
		    true),
	    "fault after write path=o run=3 nth=2 action=crash "
	    "cut-keep=metadata cut-writes=last-1,last");
	/* only the first: LazyFS crashes at the second, which is lost */
	assert_string_equal(
	    torn_of("op=write::file=/srv/root/o::persist=1", true),
	    "fault after write path=o run=2 nth=1 action=crash "
	    "cut-keep=metadata cut-writes=last-1");
	/* LazyFS crashes after the write listed last, not the highest:
	 * one listed after it is never reached */
	assert_string_equal(
	    torn_of("op=write::file=/srv/root/o::persist=1,4,3", true),
	    "fault after write path=o run=3 nth=1 action=crash "
	    "cut-keep=metadata cut-writes=last-2,last");
	assert_string_equal(
	    torn_of("op=write::file=/srv/root/o::persist=5,2", true),
	    "fault after write path=o run=2 nth=1 action=crash "
	    "cut-keep=metadata cut-writes=last");
	/* an attribute given twice: the last value, as LazyFS */
	assert_string_equal(
	    torn_of("op=write::file=/srv/root/o::persist=9::persist=2", true),
	    "fault after write path=o run=2 nth=1 action=crash "
	    "cut-keep=metadata cut-writes=last");
}

static void torn_refused(const char *args, bool seq, const char *why)
{
	const char *got = torn_of(args, seq);

	if (got[0] != '!' || !strstr(got, why))
		fail_msg("'%s' gave '%s', not a refusal saying '%s'", args, got,
			 why);
}

static void test_torn_refused(void **state)
{
	(void)state;
	torn_refused("parts=2::persist=1", false, "file not specified");
	torn_refused("file=::parts=2::persist=1", false, "file not specified");
	torn_refused("file=/srv/root/a::persist=1", false,
		     "'parts' or 'parts_bytes'");
	torn_refused("file=/srv/root/a::parts=2::parts_bytes=1,,2", false,
		     "parts_bytes should be");
	torn_refused("file=/srv/root/a::parts=x::persist=1", false, "parts");
	torn_refused("file=/srv/root/a::parts=0::persist=1", false, "parts");
	torn_refused("file=/srv/root/a::parts=65::persist=1", false,
		     "at most 64 parts");
	torn_refused("file=/srv/root/a::parts=2::persist=3", false,
		     "persist should be");
	torn_refused("file=/srv/root/a::parts=2::persist=0", false,
		     "persist should be");
	torn_refused("file=/srv/root/a::parts_bytes=1,,2::persist=1", false,
		     "parts_bytes");
	torn_refused("file=/srv/root/a::parts=2::persist=1::occurrence=0",
		     false, "occurrence");
	torn_refused("file=/srv/root/a::parts=2::op=write", false,
		     "unknown attribute 'op=write'");
	torn_refused("file=/elsewhere/a::parts=2::persist=1", false,
		     "not under the backing directory");
	torn_refused("file=srv/root/a::parts=2::persist=1", false,
		     "not under the backing directory");
	torn_refused("file=/srv/root::parts=2::persist=1", false,
		     "not under the backing directory");
	torn_refused("file=/srv/root/a b::parts=2::persist=1", false, "space");
	torn_refused("", false, "file not specified");
	torn_refused("file=/srv/root/o::persist=1", true,
		     "operation must be \"write\"");
	torn_refused("op=read::file=/srv/root/o::persist=1", true,
		     "operation must be \"write\"");
	torn_refused("op=write::file=/srv/root/o", true,
		     "persist not specified");
	torn_refused("op=write::file=/srv/root/o::persist=4,1", true,
		     "persist lists 1 last");
	torn_refused("op=write::file=/srv/root/o::persist=1,x", true,
		     "persist should be");
	torn_refused("op=write::file=/srv/root/o::persist=65537", true,
		     "persist should be");
	torn_refused("op=write::file=/srv/root/o::persist=1::parts=2", true,
		     "unknown attribute");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crash_rules),
	    cmocka_unit_test(test_crash_refused),
	    cmocka_unit_test(test_torn_op_rules),
	    cmocka_unit_test(test_torn_seq_rules),
	    cmocka_unit_test(test_torn_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
