/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Unit tests for traces from elsewhere (docs/threat-model.md): `crashfs
 * replay` and the states `crashfs check --check` writes hold no setuid or
 * setgid file, device node, file of another user, mode wider than the
 * umask allows or xattr outside user.* unless --privileged is given, and
 * say what they changed; symlinks a trace makes, pointing out of the
 * output directory, are never followed, whatever the trace then does
 * through them; the parts of a RUN directory are never read through a
 * symlink; SIGTERM ends `crashfs check` promptly while it loads a long
 * trace and computes the versions of a path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli/cmd.h"
#include "harness/materialize.h"
#include "tests/unit/tb.h"

#include <dirent.h>
#include <signal.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>

/* Run a subcommand with stdout and stderr into the file out; its exit
 * status.  The captured text is read back with slurp(). */
static int run_cmd(int (*fn)(int, char **), const char *out, char **argv)
{
	int argc = 0, s1, s2, fd, ret;

	while (argv[argc])
		argc++;
	fflush(stdout);
	fflush(stderr);
	s1 = dup(1);
	s2 = dup(2);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(s1 >= 0 && s2 >= 0 && fd >= 0);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
	ret = fn(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(s1, 1);
	dup2(s2, 2);
	close(s1);
	close(s2);
	return ret;
}

static char *slurp(const char *path)
{
	static char buf[16384];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void rec_setattr(struct tb *t, uint64_t id, uint32_t mask, uint32_t mode,
			uint32_t uid, uint32_t gid)
{
	struct trace_rec r = {.type = TR_SETATTR,
			      .id = id,
			      .oflags = mask,
			      .mode = mode,
			      .uid = uid,
			      .gid = gid};

	tb_rec(t, &r);
}

static void rec_xattr(struct tb *t, uint64_t id, const char *name,
		      const char *val)
{
	struct trace_rec r = {.type = TR_SETXATTR,
			      .id = id,
			      .name = name,
			      .data = val,
			      .data_len = (uint32_t)strlen(val)};

	tb_rec(t, &r);
}

static uint64_t rec_mknod(struct tb *t, const char *name, uint32_t mode,
			  dev_t rdev)
{
	struct trace_rec r = {.type = TR_MKNOD,
			      .parent = 1,
			      .name = name,
			      .id = t->next_id++,
			      .mode = mode,
			      .off = rdev};

	tb_rec(t, &r);
	return r.id;
}

/*
 * The hostile trace of the issue: a setuid-root shell with a file
 * capability, world-writable block and character devices, a
 * world-writable directory, a file of another user with a trusted xattr.
 */
static void evil_trace(struct tb *t) /* 17 records */
{
	uint64_t su, sg, theirs, pub;

	tb_open(t);
	tb_bind_root(t);
	su = tb_create(t, 1, "su");
	tb_write(t, su, 0, "#!/bin/sh\nexec sh\n");
	rec_setattr(t, su, TRA_MODE | TRA_UID | TRA_GID, 04755, 0, 0);
	rec_xattr(t, su, "security.capability", "\x01\x00\x00\x02");
	sg = tb_create(t, 1, "sg");
	rec_setattr(t, sg, TRA_MODE, 02755, 0, 0);
	rec_mknod(t, "sda", S_IFBLK | 0666, makedev(8, 0));
	rec_mknod(t, "mem", S_IFCHR | 0666, makedev(1, 1));
	rec_mknod(t, "pipe", S_IFIFO | 0666, 0);
	pub = tb_mkdir(t, 1, "pub");
	rec_setattr(t, pub, TRA_MODE, 0777, 0, 0);
	theirs = tb_create(t, pub, "theirs");
	tb_write(t, theirs, 0, "data");
	rec_setattr(t, theirs, TRA_MODE | TRA_UID | TRA_GID, 0666, 4321, 4321);
	rec_xattr(t, theirs, "user.note", "kept");
	rec_xattr(t, theirs, "trusted.t", "root's");
	assert_int_equal(trace_writer_close(&t->w), 0);
}

static void path_of(char *buf, size_t len, const char *dir, const char *rel)
{
	snprintf(buf, len, "%s/%s", dir, rel);
}

static struct stat lst(const char *dir, const char *rel)
{
	struct stat st;
	char p[512];

	path_of(p, sizeof(p), dir, rel);
	assert_int_equal(lstat(p, &st), 0);
	return st;
}

static bool has_xattr(const char *dir, const char *rel, const char *name)
{
	char p[512], v[64];

	path_of(p, sizeof(p), dir, rel);
	return lgetxattr(p, name, v, sizeof(v)) >= 0;
}

/* The state of the evil trace as the safe mode writes it (umask 022). */
static void assert_safe_state(const char *out)
{
	struct stat st;

	st = lst(out, "su");
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_uid, geteuid());
	assert_false(has_xattr(out, "su", "security.capability"));
	assert_int_equal(lst(out, "sg").st_mode & 07777, 0755);
	st = lst(out, "sda");
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_true(S_ISREG(lst(out, "mem").st_mode));
	st = lst(out, "pipe");
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(lst(out, "pub").st_mode & 07777, 0755);
	st = lst(out, "pub/theirs");
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_gid, getegid());
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_true(has_xattr(out, "pub/theirs", "user.note"));
	assert_false(has_xattr(out, "pub/theirs", "trusted.t"));
}

static void test_replay_is_safe_by_default(void **state)
{
	char out[256], log[256], *msg;
	mode_t old = umask(022);
	struct tb t;

	(void)state;
	evil_trace(&t);
	path_of(out, sizeof(out), t.dir, "out");
	path_of(log, sizeof(log), t.dir, "log");
	{
		char *argv[] = {"replay", t.dir, "--point", "17",
				"-o",	  out,	 NULL};

		assert_int_equal(run_cmd(cmd_replay, log, argv), 0);
	}
	assert_safe_state(out);
	/* what was changed is said, with a count and an example */
	msg = slurp(log);
	assert_non_null(strstr(msg, "--privileged writes it as recorded"));
	assert_non_null(strstr(msg, "setuid/setgid bits removed: 2"));
	assert_non_null(strstr(msg, "device nodes written as empty regular "
				    "files: 2"));
	assert_non_null(strstr(msg, "xattrs outside user.* left out: 2"));
	assert_non_null(strstr(msg, "by the umask: 5"));
	if (geteuid() == 0) /* the trace says root owns su: so does root */
		assert_non_null(strstr(msg, "owners not given (the entries "
					    "are yours): 1 (first "
					    "'pub/theirs')"));
	umask(old);
	tb_close(&t);
}

static bool can_mknod_devices(const char *dir)
{
	char p[512];
	bool ok;

	path_of(p, sizeof(p), dir, "probe");
	ok = mknod(p, S_IFCHR | 0600, makedev(1, 3)) == 0;
	unlink(p);
	return ok;
}

static void test_replay_privileged(void **state)
{
	char out[256], log[256];
	struct stat st;
	struct tb t;

	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	evil_trace(&t);
	path_of(out, sizeof(out), t.dir, "out");
	path_of(log, sizeof(log), t.dir, "log");
	{
		char *argv[] = {"replay", t.dir, "--point",	 "17",
				"-o",	  out,	 "--privileged", NULL};

		assert_int_equal(run_cmd(cmd_replay, log, argv), 0);
	}
	st = lst(out, "su");
	assert_int_equal(st.st_mode & 07777, 04755);
	assert_int_equal(st.st_uid, 0);
	st = lst(out, "pub/theirs");
	assert_int_equal(st.st_uid, 4321);
	assert_int_equal(st.st_mode & 07777, 0666);
	assert_int_equal(lst(out, "pub").st_mode & 07777, 0777);
	assert_int_equal(lst(out, "pipe").st_mode & 07777, 0666);
	if (can_mknod_devices(t.dir)) {
		st = lst(out, "sda");
		assert_true(S_ISBLK(st.st_mode));
		assert_int_equal(st.st_rdev, makedev(8, 0));
	}
	tb_close(&t);
}

/* The states an external checker is given are safe the same way. */
static void test_check_states_are_safe(void **state)
{
	char log[256];
	mode_t old = umask(022);
	struct tb t;
	/* nothing setuid/setgid, no device, nothing group/world-writable */
	char *check = "test -z \"$(find . \\( -perm /6000 ! -type d \\) "
		      "-o -type b -o -type c -o -perm /022 ! -type l)\"";

	(void)state;
	evil_trace(&t);
	path_of(log, sizeof(log), t.dir, "log");
	{
		char *argv[] = {"check",  "--run", t.dir,      "--check", check,
				"--jobs", "1",	   "--states", "visible", NULL};

		int rc = run_cmd(cmd_check, log, argv);

		if (rc)
			fprintf(stderr, "%s", slurp(log));
		assert_int_equal(rc, 0);
	}
	assert_non_null(strstr(slurp(log), "written without its "
					   "setuid/setgid bits"));
	/* ... and not with --privileged (as root): the check tells */
	if (geteuid() == 0) {
		char *argv[] = {"check",    "--run",	    t.dir,    "--check",
				check,	    "--privileged", "--jobs", "1",
				"--states", "visible",	    NULL};

		assert_int_equal(run_cmd(cmd_check, log, argv), 1);
		assert_non_null(strstr(slurp(log), "--privileged -o DIR"));
	}
	umask(old);
	tb_close(&t);
}

/* Entries of dir, "." and ".." left out. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static uint64_t rec_symlink(struct tb *t, uint64_t parent, const char *name,
			    const char *target)
{
	struct trace_rec r = {.type = TR_SYMLINK,
			      .parent = parent,
			      .name = name,
			      .id = t->next_id++,
			      .name2 = target};

	tb_rec(t, &r);
	return r.id;
}

/*
 * Symlinks pointing out of the state, and a trace that then works on
 * the same names as directories and files: every crash state, built in
 * turn in one output directory (so a name goes from symlink to directory
 * and back), leaves the victim directory and file outside untouched.
 */
static void test_symlinks_never_followed(void **state)
{
	char victim[256], vfile[256], out[256], err[512];
	struct explore_opts o = {.random = 4};
	struct explore_state st;
	struct materializer *mt;
	struct explorer *x;
	uint64_t d, f, s, e;
	struct tb t;
	int n = 0;

	(void)state;
	tb_open(&t);
	path_of(victim, sizeof(victim), t.dir, "victim");
	path_of(vfile, sizeof(vfile), t.dir, "victim.txt");
	assert_int_equal(mkdir(victim, 0755), 0);
	tb_init_file(&t, "../victim.txt", "precious");
	tb_bind_root(&t);
	s = rec_symlink(&t, 1, "d", victim);
	rec_symlink(&t, 1, "f", vfile);
	rec_symlink(&t, 1, "up", "../victim");
	tb_fsyncdir(&t, 1);
	tb_unlink(&t, 1, "d", s);
	d = tb_mkdir(&t, 1, "d");
	f = tb_create(&t, d, "x");
	tb_write(&t, f, 0, "inside");
	tb_unlink(&t, 1, "f", 0);
	e = tb_create(&t, 1, "f");
	tb_write(&t, e, 0, "a file now");
	tb_truncate(&t, e, 3);
	tb_fsync(&t, f);
	tb_rename(&t, 1, "d", 1, "moved", d, 0);
	s = rec_symlink(&t, 1, "d", victim);
	{
		struct trace_rec r = {
		    .type = TR_LINK, .id = s, .parent = 1, .name = "d2"};

		tb_rec(&t, &r);
	}
	tb_fsyncdir(&t, 1);
	tb_unlink(&t, 1, "d", s);
	tb_rename(&t, 1, "moved", 1, "d", d, 0);
	f = tb_create(&t, d, "y");
	tb_write(&t, f, 0, "through the name that was a symlink");
	assert_non_null(tb_load(&t));
	path_of(out, sizeof(out), t.dir, "out");
	mt = materialize_new(out, err, sizeof(err));
	assert_non_null(mt);
	materialize_set_flags(mt, MT_QUIET);
	x = explore_new(t.m, &o, err, sizeof(err));
	assert_non_null(x);
	while (explore_next(x, &st) > 0) {
		assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)),
				 0);
		assert_int_equal(count_entries(victim), 0);
		n++;
	}
	assert_true(n > 10);
	explore_free(&x);
	materialize_free(&mt);
	assert_string_equal(slurp(vfile), "precious");
	assert_int_equal(count_entries(victim), 0);
	tb_close(&t);
}

/* A trace that works through a symlink's id as if it were a directory
 * or a file is refused when loaded, naming the record. */
static void test_symlink_id_misused(void **state)
{
	char victim[256];
	struct tb t;
	uint64_t s;

	(void)state;
	tb_open(&t);
	path_of(victim, sizeof(victim), t.dir, "victim");
	assert_int_equal(mkdir(victim, 0755), 0);
	tb_bind_root(&t);
	s = rec_symlink(&t, 1, "d", victim);
	tb_create(&t, s, "x");
	assert_null(tb_load(&t));
	assert_non_null(strstr(t.err, "is not a directory"));
	tb_close(&t);
	tb_open(&t);
	tb_bind_root(&t);
	s = rec_symlink(&t, 1, "f", "/etc/passwd");
	tb_write(&t, s, 0, "root::0:0::/:/bin/sh\n");
	if (tb_load(&t)) { /* loaded: the write must not reach a file */
		char out[256], err[512];
		struct materializer *mt;

		path_of(out, sizeof(out), t.dir, "out");
		mt = materialize_new(out, err, sizeof(err));
		assert_non_null(mt);
		assert_int_equal(materialize_sync(mt, t.m, err, sizeof(err)),
				 0);
		assert_true(S_ISLNK(lst(out, "f").st_mode));
		materialize_free(&mt);
	} else {
		assert_non_null(strstr(t.err, "record #"));
	}
	tb_close(&t);
}

/*
 * A RUN from elsewhere may hold a symlink where `check --check` used to
 * put its scratch directory (RUN/states): the states go into a new
 * directory of their own, never through it.
 */
static void test_check_scratch_not_followed(void **state)
{
	char victim[256], p[512], log[256];
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	tb_write(&t, tb_create(&t, 1, "a"), 0, "x");
	assert_int_equal(trace_writer_close(&t.w), 0);
	path_of(victim, sizeof(victim), t.dir, "victim");
	path_of(log, sizeof(log), t.dir, "log");
	assert_int_equal(mkdir(victim, 0755), 0);
	path_of(p, sizeof(p), t.dir, "states");
	assert_int_equal(symlink(victim, p), 0);
	{
		char *argv[] = {"check", "--run",    t.dir,	"--check",
				"true",	 "--states", "visible", NULL};

		assert_int_equal(run_cmd(cmd_check, log, argv), 0);
	}
	assert_int_equal(count_entries(victim), 0);
	/* the scratch directory is gone, the planted symlink left alone */
	assert_int_equal(count_entries(t.dir), 5); /* trace initial log
						      victim states */
	tb_close(&t);
}

/* The parts of a RUN are not read through symlinks to elsewhere. */
static void test_run_parts_not_symlinks(void **state)
{
	char run[256], p[512], log[256], out[256];
	struct tb t;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	tb_create(&t, 1, "a");
	assert_int_equal(trace_writer_close(&t.w), 0);
	path_of(run, sizeof(run), t.dir, "run");
	path_of(log, sizeof(log), t.dir, "log");
	path_of(out, sizeof(out), t.dir, "out");
	assert_int_equal(mkdir(run, 0755), 0);
	path_of(p, sizeof(p), run, "trace");
	assert_int_equal(symlink(t.trace, p), 0);
	{
		char *argv[] = {"replay", run, "--point", "1", "-o", out, NULL};

		assert_int_equal(run_cmd(cmd_replay, log, argv), 2);
		assert_non_null(strstr(slurp(log), "(it is a symlink)"));
		assert_int_equal(unlink(p), 0);
		assert_int_equal(link(t.trace, p), 0);
		path_of(p, sizeof(p), run, "initial");
		assert_int_equal(symlink("/", p), 0);
		assert_int_equal(run_cmd(cmd_replay, log, argv), 2);
		assert_non_null(strstr(slurp(log), "is not a directory (a "
						   "symlink)"));
		/* a meta.json that would block is not read */
		assert_int_equal(unlink(p), 0);
		path_of(p, sizeof(p), run, "meta.json");
		assert_int_equal(mkfifo(p, 0644), 0);
		assert_int_equal(run_cmd(cmd_replay, log, argv), 0);
	}
	tb_close(&t);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A long trace: a log appended to 20,000 times with a mark after each
 * append.  Loading it, and computing every version of the log (for
 * --durable, one per mark), takes crashfs seconds to minutes: SIGTERM
 * at any moment must end `crashfs check --run` within a few seconds,
 * with exit status 2 and "interrupted".
 */
static void test_sigterm_ends_check(void **state)
{
	static const double delays[] = {0.3, 1.5, 4};
	char log[256], line[128];
	struct tb t;
	uint64_t f;

	(void)state;
	tb_open(&t);
	tb_bind_root(&t);
	f = tb_create(&t, 1, "log");
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	for (int i = 0; i < 20000; i++) {
		struct trace_rec r = {.type = TR_MARK, .name = "appended"};

		tb_write(&t, f, (uint64_t)i * (sizeof(line) - 1), line);
		tb_rec(&t, &r);
	}
	assert_int_equal(trace_writer_close(&t.w), 0);
	path_of(log, sizeof(log), t.dir, "log");
	for (size_t i = 0; i < sizeof(delays) / sizeof(*delays); i++) {
		char *argv[] = {"check", "--run",  t.dir, "--durable",
				"log",	 "--jobs", "1",	  NULL};
		double t0, waited;
		int status = 0;
		pid_t pid, r;

		fflush(NULL);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(run_cmd(cmd_check, log, argv));
		usleep((useconds_t)(delays[i] * 1e6));
		kill(pid, SIGTERM);
		t0 = now();
		while ((r = waitpid(pid, &status, WNOHANG)) == 0 &&
		       now() - t0 < 30)
			usleep(10000);
		waited = now() - t0;
		if (r == 0) { /* still running: fail, but leave nothing */
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
		if (waited > 5 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) == 0)
			fprintf(stderr,
				"SIGTERM after %.1f s: ended %.1f s later, "
				"status 0x%x:\n%s",
				delays[i], waited, status, slurp(log));
		assert_true(waited <= 5);
		assert_true(WIFEXITED(status));
		/* 2: interrupted; 0/1 only if it had finished first */
		if (WEXITSTATUS(status) == 2)
			assert_non_null(strstr(slurp(log), "interrupted"));
	}
	tb_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replay_is_safe_by_default),
	    cmocka_unit_test(test_replay_privileged),
	    cmocka_unit_test(test_check_states_are_safe),
	    cmocka_unit_test(test_symlinks_never_followed),
	    cmocka_unit_test(test_symlink_id_misused),
	    cmocka_unit_test(test_check_scratch_not_followed),
	    cmocka_unit_test(test_run_parts_not_symlinks),
	    cmocka_unit_test(test_sigterm_ends_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
