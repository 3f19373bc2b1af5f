/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Checker servers (harness/checksrv): the line protocol with real server
 * processes (small shell and Python scripts), what a broken server gets
 * (a setup error naming what it did), what a state gets when its server
 * dies or hangs on it (a failure, and a new server for the next state),
 * and the refusal of a server that keeps a state's files open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness/checksrv.h"

extern char **environ;

static char dir[] = "/tmp/test_checksrv.XXXXXX";
static char sdir[256], state[4200], marks[4200], errfile[4200];

static int setup(void **st)
{
	FILE *f;

	(void)st;
	if (!mkdtemp(dir))
		return -1;
	snprintf(sdir, sizeof(sdir), "%s/1", dir);
	snprintf(state, sizeof(state), "%s/state", sdir);
	snprintf(marks, sizeof(marks), "%s/marks", sdir);
	snprintf(errfile, sizeof(errfile), "%s/server.err", dir);
	if (mkdir(sdir, 0755) || mkdir(state, 0755))
		return -1;
	f = fopen(marks, "w");
	if (!f)
		return -1;
	fputs("commit-1\n", f);
	fclose(f);
	return 0;
}

static int teardown(void **st)
{
	char cmd[4300];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct checksrv *server(const char *cmd, unsigned timeout)
{
	struct checksrv_opts o = {
	    .cmd = cmd,
	    .cwd = dir,
	    .envp = environ,
	    .errfile = errfile,
	    .timeout = timeout,
	    .output_max = 4096,
	};
	struct checksrv *s = checksrv_new(&o);

	assert_non_null(s);
	return s;
}

/* Ask about the state with this id and wait for the answer: the return
 * value of the last checksrv_step() (1, or a setup error). */
static int ask(struct checksrv *s, const char *id, struct checksrv_answer *a)
{
	struct checksrv_req r = {state, marks, 42, id, sdir};
	time_t end = time(NULL) + 30;
	int rc = checksrv_ask(s, &r);

	memset(a, 0, sizeof(*a));
	if (rc < 0)
		return rc;
	while ((rc = checksrv_step(s, a)) == 0) {
		struct pollfd pf = {.fd = checksrv_fd(s), .events = POLLIN};

		assert_true(time(NULL) < end);
		poll(&pf, 1, 50);
	}
	return rc;
}

/* checksrv_quiet() until it finds something wrong (10 s at most). */
static int wait_quiet(struct checksrv *s)
{
	int rc = 0;

	for (int i = 0; i < 200 && !(rc = checksrv_quiet(s)); i++)
		usleep(50 * 1000);
	return rc;
}

static void assert_has(const char *text, const char *part)
{
	if (!text || !strstr(text, part))
		fail_msg("'%s' lacks '%s'", text ? text : "(null)", part);
}

/* A shell server: ok, or for ids with "bad" a failure with the request's
 * fields and something on stderr. */
#define SH_SERVER                                                              \
	"echo ready; while IFS=$(printf '\\t') read -r st mk pt id; do "       \
	"case $id in *bad*) echo \"about $id\" >&2; "                          \
	"echo \"fail $(basename $st) $(cat $mk) $pt $id\" ;; "                 \
	"*) echo ok ;; esac; done"

static void test_answers(void **st)
{
	struct checksrv *s = server(SH_SERVER, 10);
	struct checksrv_answer a;
	int pid;

	(void)st;
	assert_int_equal(ask(s, "k1.visible", &a), 1);
	assert_true(a.pass);
	assert_null(a.output);
	pid = checksrv_pid(s);
	assert_true(pid > 0);
	assert_int_equal(ask(s, "k7.posix.bad", &a), 1);
	assert_false(a.pass);
	assert_false(a.timed_out);
	/* the message first, then what it wrote on stderr for this state */
	assert_has(a.output, "state commit-1 42 k7.posix.bad\n");
	assert_has(a.output, "about k7.posix.bad");
	free(a.output);
	assert_int_equal(ask(s, "k8.posix.bad2", &a), 1);
	assert_false(a.pass);
	if (strstr(a.output, "about k7"))
		fail_msg("stderr of an earlier state: %s", a.output);
	free(a.output);
	assert_int_equal(ask(s, "k9", &a), 1);
	assert_true(a.pass);
	/* one process served them all */
	assert_int_equal(checksrv_pid(s), pid);
	checksrv_free(&s, 1.0);
	assert_null(s);
}

static void test_dies_at_start(void **st)
{
	struct checksrv *s = server("echo cannot import >&2; exit 3", 10);
	struct checksrv_answer a;

	(void)st;
	assert_int_equal(ask(s, "k1", &a), -ECHILD);
	assert_has(checksrv_error(s), "exited with status 3 before it said "
				      "'ready'; its stderr: cannot import");
	checksrv_free(&s, 1.0);
}

static void test_slow_start(void **st)
{
	struct checksrv *s = server("sleep 5; echo ready", 1);
	struct checksrv_answer a;

	(void)st;
	assert_int_equal(ask(s, "k1", &a), -ETIMEDOUT);
	assert_has(checksrv_error(s), "did not say 'ready' within 1 s");
	checksrv_free(&s, 1.0);
}

static void test_protocol_errors(void **st)
{
	struct checksrv *s = server("echo hello; cat >/dev/null", 10);
	struct checksrv_answer a;

	(void)st;
	assert_int_equal(ask(s, "k1", &a), -EPROTO);
	assert_has(checksrv_error(s), "said 'hello' before 'ready'");
	checksrv_free(&s, 1.0);

	s = server("echo ready; while read -r l; do echo 'it is fine'; done",
		   10);
	assert_int_equal(ask(s, "k1", &a), -EPROTO);
	assert_has(checksrv_error(s),
		   "said 'it is fine' where an answer was expected");
	checksrv_free(&s, 1.0);

	/* two answers to one request, at once or after a pause: the next
	 * request gets a protocol error (waited for, as a loaded machine
	 * may run the server late) */
	s = server("echo ready; while read -r l; do echo ok; echo ok; done",
		   10);
	assert_int_equal(ask(s, "k1", &a), 1);
	assert_int_equal(wait_quiet(s), -EPROTO);
	assert_has(checksrv_error(s), "printed 'ok' without being asked");
	assert_int_equal(ask(s, "k2", &a), -EPROTO);
	checksrv_free(&s, 1.0);

	s = server("echo ready; while read -r l; do echo ok; sleep 0.1; "
		   "echo ok; done",
		   10);
	assert_int_equal(ask(s, "k1", &a), 1);
	assert_int_equal(wait_quiet(s), -EPROTO);
	assert_has(checksrv_error(s), "printed 'ok' without being asked");
	checksrv_free(&s, 1.0);

	/* exits after one answer, not at end of file */
	s = server("echo ready; read -r l; echo ok; exit 0", 10);
	assert_int_equal(ask(s, "k1", &a), 1);
	assert_int_equal(wait_quiet(s), -EPROTO);
	assert_has(checksrv_error(s),
		   "exited with status 0 between two states");
	checksrv_free(&s, 1.0);
}

/* Dying or hanging on a state fails that state; the next state gets a
 * new server. */
static void test_dies_and_hangs_on_a_state(void **st)
{
	struct checksrv *s = server(
	    "echo ready; while IFS=$(printf '\\t') read -r st mk pt id; do "
	    "case $id in die) echo dying >&2; exit 7 ;; "
	    "hang) sleep 30 ;; esac; echo ok; done",
	    2);
	struct checksrv_answer a;
	int pid;

	(void)st;
	assert_int_equal(ask(s, "k1", &a), 1);
	assert_true(a.pass);
	pid = checksrv_pid(s);
	assert_int_equal(ask(s, "die", &a), 1);
	assert_false(a.pass);
	assert_false(a.timed_out);
	assert_has(a.output, "checker server exited with status 7 while "
			     "checking this state\ndying");
	free(a.output);
	assert_int_equal(checksrv_pid(s), 0);
	assert_int_equal(ask(s, "k2", &a), 1);
	assert_true(a.pass);
	assert_true(checksrv_pid(s) != pid && checksrv_pid(s) > 0);
	pid = checksrv_pid(s);
	assert_int_equal(ask(s, "hang", &a), 1);
	assert_false(a.pass);
	assert_true(a.timed_out);
	assert_has(a.output, "timed out after 2 s");
	free(a.output);
	/* killed with its group: the sleep too */
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(ask(s, "k3", &a), 1);
	assert_true(a.pass);
	checksrv_free(&s, 1.0);
}

/* A server that keeps a file of the state open, itself or through a
 * child, or mapped, is refused. */
static void test_keeps_files_open(void **st)
{
	struct checksrv *s;
	struct checksrv_answer a;
	FILE *f;
	char db[4300];

	(void)st;
	snprintf(db, sizeof(db), "%s/db", state);
	f = fopen(db, "w");
	assert_non_null(f);
	fputs("0123456789", f);
	fclose(f);

	/* opens and closes: fine */
	s = server("echo ready; while IFS=$(printf '\\t') read -r st mk pt id; "
		   "do cat \"$st/db\" >/dev/null; echo ok; done",
		   10);
	assert_int_equal(ask(s, "k1", &a), 1);
	assert_int_equal(ask(s, "k2", &a), 1);
	assert_true(a.pass);
	checksrv_free(&s, 1.0);

	s = server("echo ready; while IFS=$(printf '\\t') read -r st mk pt id; "
		   "do exec 3<\"$st/db\"; echo ok; done",
		   10);
	assert_int_equal(ask(s, "k1", &a), -EBUSY);
	assert_has(checksrv_error(s), "still has 'state/db' of state k1 open "
				      "after answering");
	checksrv_free(&s, 1.0);

	/* a child of the server, in its process group (the server answers
	 * once the child has the file open) */
	s = server(
	    "echo ready; while IFS=$(printf '\\t') read -r st mk pt id; "
	    "do { exec 3<\"$st/db\"; : >\"$st.open\"; exec sleep 30; } & "
	    "while [ ! -e \"$st.open\" ]; do sleep 0.05; done; echo ok; "
	    "done",
	    10);
	assert_int_equal(ask(s, "k1", &a), -EBUSY);
	assert_has(checksrv_error(s), "still has 'state/db'");
	checksrv_free(&s, 1.0);

	/* mapped, its descriptor closed */
	s = server("exec python3 -c '\n"
		   "import mmap, os, sys\n"
		   "print(\"ready\", flush=True)\n"
		   "maps = []\n"
		   "for line in sys.stdin:\n"
		   "    fd = os.open(line.split(\"\\t\")[0] + \"/db\", "
		   "os.O_RDONLY)\n"
		   "    maps.append(mmap.mmap(fd, 0, prot=mmap.PROT_READ))\n"
		   "    os.close(fd)\n"
		   "    print(\"ok\", flush=True)\n'",
		   10);
	assert_int_equal(ask(s, "k1", &a), -EBUSY);
	assert_has(checksrv_error(s), "still has 'state/db'");
	checksrv_free(&s, 1.0);
}

/* A long message is cut at output_max. */
static void test_long_output(void **st)
{
	struct checksrv *s = server(
	    "echo ready; read -r l; printf 'fail '; head -c 9000 /dev/zero "
	    "| tr '\\0' x; echo; sleep 30",
	    10);
	struct checksrv_answer a;

	(void)st;
	assert_int_equal(ask(s, "k1", &a), 1);
	assert_false(a.pass);
	assert_int_equal(strlen(a.output), 4096);
	free(a.output);
	/* freeing does not wait for a server that ignores end of file
	 * longer than the grace */
	checksrv_free(&s, 0.2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answers),
	    cmocka_unit_test(test_dies_at_start),
	    cmocka_unit_test(test_slow_start),
	    cmocka_unit_test(test_protocol_errors),
	    cmocka_unit_test(test_dies_and_hangs_on_a_state),
	    cmocka_unit_test(test_keeps_files_open),
	    cmocka_unit_test(test_long_output),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
