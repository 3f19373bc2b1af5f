/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Unit tests for harness/syncwatch without FUSE: a directory stands in for
 * the mount, and the control channel's client is replaced by the fakes
 * below (they override syncwatch.c's weak references), which keep the
 * requests the supervisor sends.  A forked child installs the filter and
 * makes the calls, as a workload would; the tests assert what the daemon
 * would have been asked to record, and that the child still ran each call
 * (it checks the results itself).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness/syncwatch.h"

static char dir[] = "/tmp/test_syncwatch.XXXXXX"; /* the "mount" */
static char reqs[16][256];			  /* requests sent */
static int nreqs;
static const char *answer = "ok"; /* what the fake daemon replies */

/* ---- the fake control channel ----------------------------------------- */

int ctl_connect(const char *mnt)
{
	assert_string_equal(mnt, dir);
	return open("/dev/null", O_RDWR | O_CLOEXEC);
}

int ctl_send(int fd, const char *line)
{
	(void)fd;
	if (nreqs < 16)
		snprintf(reqs[nreqs++], sizeof(reqs[0]), "%s", line);
	return 0;
}

int ctl_read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	(void)fd;
	(void)timeout_ms;
	snprintf(buf, len, "%s", answer);
	return (int)strlen(buf);
}

/* ---- helpers ----------------------------------------------------------- */

/* Run body in a child that has the filter; returns its exit status, its
 * pid in *child and the supervisor's counts in *st. */
static int watched(void (*body)(void), bool drop_admin,
		   struct syncwatch_stats *st, pid_t *child)
{
	struct syncwatch *sw;
	char why[512];
	pid_t pid;
	int status;

	nreqs = 0;
	sw = syncwatch_new(dir, why, sizeof(why));
	if (!sw)
		fail_msg("syncwatch_new: %s", why);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (drop_admin) {
			/* as a user without CAP_SYS_ADMIN would be */
			struct __user_cap_header_struct h = {
			    _LINUX_CAPABILITY_VERSION_3, 0};
			struct __user_cap_data_struct d[2];

			if (syscall(SYS_capget, &h, d) < 0)
				_exit(90);
			d[CAP_SYS_ADMIN / 32].effective &=
			    ~(1u << (CAP_SYS_ADMIN % 32));
			d[CAP_SYS_ADMIN / 32].permitted &=
			    ~(1u << (CAP_SYS_ADMIN % 32));
			if (syscall(SYS_capset, &h, d) < 0)
				_exit(91);
		}
		syncwatch_child(sw);
		body();
		_exit(0);
	}
	if (syncwatch_start(sw, why, sizeof(why)) < 0)
		fail_msg("syncwatch_start: %s", why);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	syncwatch_stats(sw, st);
	syncwatch_free(&sw);
	assert_null(sw);
	assert_true(WIFEXITED(status));
	if (child)
		*child = pid;
	return WEXITSTATUS(status);
}

static char file_path[300]; /* a file in the "mount" */

static void calls(void)
{
	int in = open(file_path, O_WRONLY | O_CREAT, 0644);
	int out = open("/proc/self/status", O_RDONLY);

	if (in < 0 || out < 0)
		_exit(10);
	sync();
	if (syncfs(in) < 0)
		_exit(11);
	if (syncfs(out) < 0) /* another filesystem */
		_exit(12);
	/* 64-bit offsets: above 4 GiB, to catch a lost high half */
	if (sync_file_range(in, 0x100000003ll, 0x200000005ll,
			    SYNC_FILE_RANGE_WRITE) < 0)
		_exit(13);
	/* a bad descriptor: not recorded, and the call still fails */
	if (syncfs(999) == 0 || errno != EBADF)
		_exit(14);
}

static void test_calls_recorded(void **state)
{
	struct syncwatch_stats st;
	struct stat fst;
	char want[256];
	pid_t pid;

	(void)state;
	assert_int_equal(watched(calls, false, &st, &pid), 0);
	assert_int_equal(stat(file_path, &fst), 0);
	assert_int_equal(nreqs, 3);
	snprintf(want, sizeof(want), "syscall sync %d", (int)pid);
	assert_string_equal(reqs[0], want);
	snprintf(want, sizeof(want), "syscall syncfs %d", (int)pid);
	assert_string_equal(reqs[1], want);
	snprintf(want, sizeof(want),
		 "syscall sync_file_range %d %llu 4294967299 8589934597 2",
		 (int)pid, (unsigned long long)fst.st_ino);
	assert_string_equal(reqs[2], want);
	assert_int_equal(st.syncs, 2);
	assert_int_equal(st.ranges, 1);
	assert_int_equal(st.other, 2);
	assert_int_equal(st.lost, 0);
	assert_false(st.nnp);
}

/* Exit 0 if no_new_privs is set, 20 if not. */
static void nnp_set(void)
{
	char line[256];
	int nnp = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		sscanf(line, "NoNewPrivs: %d", &nnp);
	sync();
	_exit(nnp == 1 ? 0 : 20);
}

/* Without CAP_SYS_ADMIN the filter needs no_new_privs, which is set only
 * then (as root, setuid programs keep working as they always do). */
static void test_no_new_privs_only_without_admin(void **state)
{
	struct syncwatch_stats st;

	(void)state;
	if (geteuid() != 0) {
		print_message("skipped: needs root to hold CAP_SYS_ADMIN\n");
		return;
	}
	assert_int_equal(watched(nnp_set, false, &st, NULL), 20);
	assert_false(st.nnp);
	assert_int_equal(st.syncs, 1);
	assert_int_equal(watched(nnp_set, true, &st, NULL), 0);
	assert_true(st.nnp);
	assert_int_equal(st.syncs, 1);
}

/* A sync the daemon cannot record still runs, and is counted as lost (the
 * report then says so). */
static void sync_and_syncfs(void)
{
	int in = open(file_path, O_WRONLY | O_CREAT, 0644);

	sync();
	if (in < 0 || syncfs(in) < 0)
		_exit(30);
}

static void test_daemon_refuses(void **state)
{
	struct syncwatch_stats st;

	(void)state;
	answer = "error cannot record the sync: Input/output error";
	assert_int_equal(watched(sync_and_syncfs, false, &st, NULL), 0);
	answer = "ok";
	assert_int_equal(nreqs, 2);
	assert_int_equal(st.lost, 2);
	assert_int_equal(st.syncs, 0);
}

/* A child that dies before it installs the filter: a clear message. */
static void test_child_dies_first(void **state)
{
	struct syncwatch *sw;
	char why[512];
	pid_t pid;

	(void)state;
	sw = syncwatch_new(dir, why, sizeof(why));
	assert_non_null(sw);
	pid = fork();
	if (pid == 0)
		_exit(127);
	assert_true(syncwatch_start(sw, why, sizeof(why)) < 0);
	assert_non_null(strstr(why, "did not report its seccomp filter"));
	waitpid(pid, NULL, 0);
	syncwatch_free(&sw);
}

static void test_no_mount(void **state)
{
	char why[512];

	(void)state;
	errno = 0;
	assert_null(syncwatch_new("/nonexistent/mnt", why, sizeof(why)));
	assert_int_equal(errno, ENOENT);
	assert_string_equal(why, "cannot open the mount '/nonexistent/mnt': "
				 "No such file or directory");
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(file_path, sizeof(file_path), "%s/f", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(file_path);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_calls_recorded),
	    cmocka_unit_test(test_no_new_privs_only_without_admin),
	    cmocka_unit_test(test_daemon_refuses),
	    cmocka_unit_test(test_child_dies_first),
	    cmocka_unit_test(test_no_mount),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
