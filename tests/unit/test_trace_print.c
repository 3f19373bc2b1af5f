/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Unit tests for harness/trace_print and `crashfs trace`: the lines a user
 * reads for the seed 004 atomic write, failures, flags and hostile names;
 * the JSON form parses back with every field of every type; and the
 * command's exit status and messages for a whole, cut, corrupt and
 * foreign trace.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/cmd.h"
#include "harness/trace_print.h"

static char dir[] = "/tmp/test_trace_print.XXXXXX";
static char out[1 << 16]; /* what was printed */

static const struct trace_rec seed004[] = {
    {.type = TR_BIND, .id = 1, .mode = S_IFDIR | 0755, .name = ""},
    {.type = TR_BIND,
     .id = 2,
     .parent = 1,
     .name = "config.json",
     .mode = S_IFREG | 0644,
     .len = 120},
    {.type = TR_CREATE,
     .pid = 1234,
     .parent = 1,
     .name = "config.json.tmp",
     .id = 3,
     .mode = S_IFREG | 0644,
     .oflags = O_WRONLY | O_CREAT | O_TRUNC | 0100000,
     .fh = 2},
    {.type = TR_WRITE,
     .pid = 1234,
     .id = 3,
     .fh = 2,
     .data = "{}\n",
     .data_len = 3,
     .result = 3},
    {.type = TR_FLUSH, .pid = 1234, .id = 3, .fh = 2},
    {.type = TR_FSYNC, .pid = 1234, .id = 3, .fh = 2},
    {.type = TR_RENAME,
     .pid = 1234,
     .parent = 1,
     .name = "config.json.tmp",
     .parent2 = 1,
     .name2 = "config.json",
     .id = 3,
     .id2 = 2},
    {.type = TR_OPEN,
     .pid = 1234,
     .id = 1,
     .fh = 3,
     .oflags = O_RDONLY | O_DIRECTORY},
    {.type = TR_FSYNCDIR, .pid = 1234, .id = 1, .fh = 3},
    {.type = TR_RELEASE, .id = 3, .fh = 2},
    {.type = TR_MARK, .name = "saved"},
    {.type = TR_OPEN,
     .pid = 99,
     .id = 2,
     .fh = 4,
     .oflags = O_RDONLY,
     .result = -ENOENT},
    {.type = TR_UNLINK, .pid = 99, .parent = 1, .name = "config.json", .id = 3},
    {.type = TR_WRITE,
     .pid = 99,
     .id = 3,
     .fh = 2,
     .off = 3,
     .flags = TRF_APPEND | TRF_SYNC,
     .data = "x",
     .data_len = 1,
     .result = 1},
    {.type = TR_FSYNC,
     .pid = 99,
     .id = 3,
     .fh = 2,
     .flags = TRF_DATASYNC | TRF_INJECTED,
     .result = -EIO},
    {.type = TR_CREATE,
     .pid = 99,
     .parent = 1,
     .name = "a\"b\\c\n\x1b[2J\xff\xc3\xa9",
     .id = 4,
     .mode = S_IFREG | 0600,
     .oflags = O_RDWR | O_CREAT | O_EXCL,
     .fh = 5},
};

static const char *const seed004_text =
    "#1 bind \"/\" S_IFDIR|0755 size 0\n"
    "#2 bind \"config.json\" S_IFREG|0644 size 120\n"
    "#3 pid 1234 create \"config.json.tmp\" O_WRONLY|O_CREAT|O_TRUNC "
    "S_IFREG|0644 fh 2 = 0\n"
    "#4 pid 1234 write \"config.json.tmp\" off 0 len 3 = 3\n"
    "#5 pid 1234 flush \"config.json.tmp\" fh 2 = 0\n"
    "#6 pid 1234 fsync \"config.json.tmp\" = 0\n"
    "#7 pid 1234 rename \"config.json.tmp\" -> \"config.json\" = 0\n"
    "#8 pid 1234 open \"/\" O_RDONLY|O_DIRECTORY fh 3 = 0\n"
    "#9 pid 1234 fsyncdir \"/\" = 0\n"
    "#10 release \"config.json\" fh 2 = 0\n"
    "#11 mark \"saved\"\n"
    "#12 pid 99 open \"config.json (deleted)\" O_RDONLY fh 4 = -1 ENOENT "
    "(No such file or directory)\n"
    "#13 pid 99 unlink \"config.json\" = 0\n"
    "#14 pid 99 write \"config.json (deleted)\" off 3 len 1 "
    "O_APPEND|O_SYNC = 1\n"
    "#15 pid 99 fdatasync \"config.json (deleted)\" = -1 EIO "
    "(Input/output error) (injected)\n"
    "#16 pid 99 create \"a\\\"b\\\\c\\n\\x1b[2J\\xff\xc3\xa9\" "
    "O_RDWR|O_CREAT|O_EXCL S_IFREG|0600 fh 5 = 0\n"
    "#17 end\n";

static char *tpath(const char *name)
{
	static char buf[4][256];
	static int n;
	char *p = buf[n++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

/* Write the records and close the trace (TR_END last). */
static void write_trace(const char *path, const struct trace_rec *recs,
			size_t n)
{
	struct trace_writer *w = trace_writer_create(path, NULL);
	struct trace_rec rec;

	assert_non_null(w);
	for (size_t i = 0; i < n; i++) {
		rec = recs[i];
		assert_int_equal(trace_append(w, &rec), 0);
	}
	assert_int_equal(trace_writer_close(&w), 0);
}

static void test_seed004_lines(void **state)
{
	const char *path = tpath("seed004.trace");
	struct trace_print_opts opts = {0};
	struct names nm = {0};
	struct trace_reader *r;
	struct trace_rec rec;
	char err[256];
	FILE *f;

	(void)state;
	write_trace(path, seed004, sizeof(seed004) / sizeof(*seed004));
	r = trace_reader_open(path, err, sizeof(err));
	assert_non_null(r);
	f = fmemopen(out, sizeof(out), "w");
	assert_non_null(f);
	while (trace_next(r, &rec) > 0) {
		assert_int_equal(trace_print_text(f, &rec, &nm, &opts, 0), 0);
		assert_int_equal(names_apply(&nm, &rec), 0);
	}
	fclose(f);
	assert_string_equal(out, seed004_text);
	names_release(&nm);
	trace_reader_free(&r);
}

/* The sync records: who made a sync point; a sync_file_range with its
 * file (or none), range and flags; neither shows a result. */
static void test_sync_lines(void **state)
{
	static const struct trace_rec recs[] = {
	    {.type = TR_BIND, .id = 1, .mode = S_IFDIR | 0755, .name = ""},
	    {.type = TR_CREATE,
	     .pid = 7,
	     .parent = 1,
	     .name = "log",
	     .id = 2,
	     .mode = S_IFREG | 0644,
	     .oflags = O_WRONLY | O_CREAT,
	     .fh = 1},
	    {.type = TR_SYNC_RANGE,
	     .pid = 7,
	     .id = 2,
	     .off = 4096,
	     .len = 8192,
	     .oflags = SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER},
	    {.type = TR_SYNC_RANGE, .pid = 7, .off = 5},
	    {.type = TR_SYNC, .pid = 7, .oflags = TRS_SYNC},
	    {.type = TR_SYNC, .pid = 8, .oflags = TRS_SYNCFS},
	    {.type = TR_SYNC, .oflags = TRS_CTL},
	    {.type = TR_SYNC, .oflags = 77},
	};
	static const char *const text =
	    "#1 bind \"/\" S_IFDIR|0755 size 0\n"
	    "#2 pid 7 create \"log\" O_WRONLY|O_CREAT S_IFREG|0644 fh 1 = 0\n"
	    "#3 pid 7 sync_file_range \"log\" off 4096 len 8192 "
	    "SYNC_FILE_RANGE_WRITE|SYNC_FILE_RANGE_WAIT_AFTER\n"
	    "#4 pid 7 sync_file_range <file not known> off 5 len 0\n"
	    "#5 pid 7 sync sync(2)\n"
	    "#6 pid 8 sync syncfs(2)\n"
	    "#7 sync ctl\n"
	    "#8 sync 0x4d\n"
	    "#9 end\n";
	const char *path = tpath("sync.trace");
	struct trace_print_opts opts = {0};
	struct names nm = {0};
	struct trace_reader *r;
	struct trace_rec rec;
	char err[256];
	json_t *o;
	FILE *f;

	(void)state;
	write_trace(path, recs, sizeof(recs) / sizeof(*recs));
	r = trace_reader_open(path, err, sizeof(err));
	assert_non_null(r);
	f = fmemopen(out, sizeof(out), "w");
	assert_non_null(f);
	while (trace_next(r, &rec) > 0) {
		assert_int_equal(trace_print_text(f, &rec, &nm, &opts, 0), 0);
		if (rec.type == TR_SYNC && rec.oflags == TRS_SYNCFS) {
			o = trace_print_json(&rec, &nm, &opts);
			assert_string_equal(json_string_value(json_object_get(
						o, "oflags_names")),
					    "syncfs(2)");
			json_decref(o);
		}
		if (rec.type == TR_SYNC_RANGE) {
			o = trace_print_json(&rec, &nm, &opts);
			/* no path for a file the daemon did not know */
			assert_int_equal(json_object_get(o, "path") != NULL,
					 rec.id != 0);
			json_decref(o);
		}
		assert_int_equal(names_apply(&nm, &rec), 0);
	}
	fclose(f);
	assert_string_equal(out, text);
	names_release(&nm);
	trace_reader_free(&r);
}

static void test_oflags_names(void **state)
{
	struct trace_rec rec = {.type = TR_OPEN,
				.oflags = O_WRONLY | O_SYNC | O_APPEND};
	char b[256];

	(void)state;
	/* O_SYNC includes O_DSYNC's bit: shown once, as O_SYNC */
	assert_string_equal(trace_print_oflags(&rec, b, sizeof(b)),
			    "O_WRONLY|O_APPEND|O_SYNC");
	rec.oflags = O_RDWR | O_DSYNC | 0x40000000;
	assert_string_equal(trace_print_oflags(&rec, b, sizeof(b)),
			    "O_RDWR|O_DSYNC|0x40000000");
	rec.type = TR_RENAME;
	rec.oflags = RENAME_NOREPLACE;
	assert_string_equal(trace_print_oflags(&rec, b, sizeof(b)),
			    "RENAME_NOREPLACE");
	rec.type = TR_FALLOCATE;
	rec.oflags = 0x03;
	assert_string_equal(trace_print_oflags(&rec, b, sizeof(b)),
			    "FALLOC_FL_KEEP_SIZE|FALLOC_FL_PUNCH_HOLE");
	rec.type = TR_SETATTR;
	rec.oflags = TRA_MODE | TRA_MTIME;
	assert_string_equal(trace_print_oflags(&rec, b, sizeof(b)),
			    "mode|mtime");
	/* a small buffer is cut, not overrun */
	rec.type = TR_OPEN;
	rec.oflags = O_RDWR | O_CREAT | O_EXCL | O_TRUNC | O_APPEND;
	assert_string_equal(trace_print_oflags(&rec, b, 12), "O_RDWR|O_CR");
}

/* A result of INT32_MIN (a hand-made trace: no errno is that large) is
 * printed as an unknown errno, with no int negated out of range. */
static void test_int_min_result(void **state)
{
	struct trace_rec rec = {.type = TR_UNLINK,
				.seq = 1,
				.parent = 1,
				.name = "x",
				.result = INT32_MIN};
	struct trace_print_opts opts = {0};
	struct names nm = {0};
	json_t *j;
	FILE *f;

	(void)state;
	f = fmemopen(out, sizeof(out), "w");
	assert_non_null(f);
	assert_int_equal(trace_print_text(f, &rec, &nm, &opts, 0), 0);
	fclose(f);
	assert_non_null(strstr(out, "= -1 errno 2147483648"));
	j = trace_print_json(&rec, &nm, &opts);
	assert_non_null(j);
	assert_true(json_is_null(json_object_get(j, "errno")));
	assert_string_equal(json_string_value(json_object_get(j, "error")),
			    "Unknown error 2147483648");
	json_decref(j);
	rec.result = -EIO; /* the ordinary case is unchanged */
	j = trace_print_json(&rec, &nm, &opts);
	assert_string_equal(json_string_value(json_object_get(j, "errno")),
			    "EIO");
	json_decref(j);
	names_release(&nm);
}

/* Every stored field of every type comes out in JSON, and parses. */
static void test_json_fields(void **state)
{
	static const char *const keys[128] = {
	    ['i'] = "id",      ['I'] = "id2",	   ['p'] = "parent",
	    ['P'] = "parent2", ['h'] = "fh",	   ['o'] = "off",
	    ['O'] = "off2",    ['l'] = "len",	   ['m'] = "mode",
	    ['f'] = "oflags",  ['u'] = "uid",	   ['g'] = "gid",
	    ['a'] = "atime",   ['t'] = "mtime",	   ['n'] = "name",
	    ['N'] = "name2",   ['d'] = "data_len", ['D'] = "data_len",
	};
	struct trace_print_opts opts = {.data = true};
	struct names nm = {0};
	json_t *o, *back;
	char *s;

	(void)state;
	for (unsigned int t = 1; t < TR_TYPE_MAX; t++) {
		struct trace_rec rec = {
		    .seq = 9,
		    .type = t,
		    .pid = 7,
		    .result = -ENOSPC,
		    .id = UINT64_MAX,
		    .name = "n",
		    .name2 = "m",
		    .data = "\x00\x01\x02",
		    .data_len = 3,
		    .mtime = {-5, 7},
		};

		o = trace_print_json(&rec, &nm, &opts);
		assert_non_null(o);
		s = json_dumps(o, JSON_COMPACT);
		assert_non_null(s);
		back = json_loads(s, 0, NULL);
		assert_non_null(back);
		assert_string_equal(
		    json_string_value(json_object_get(back, "type")),
		    trace_type_name(t));
		assert_string_equal(
		    json_string_value(json_object_get(back, "errno")),
		    "ENOSPC");
		for (const char *f = trace_type_layout(t); *f; f++)
			if (!json_object_get(back, keys[(int)*f]))
				fail_msg("%s: no '%s' in %s",
					 trace_type_name(t), keys[(int)*f], s);
		if (strchr(trace_type_layout(t), 'i'))
			/* beyond a JSON integer: exact, as a string */
			assert_string_equal(
			    json_string_value(json_object_get(back, "id")),
			    "18446744073709551615");
		if (strpbrk(trace_type_layout(t), "dD"))
			assert_string_equal(json_string_value(json_object_get(
						back, "data_b64")),
					    "AAEC");
		if (t == TR_SETATTR)
			assert_int_equal(
			    json_integer_value(json_object_get(
				json_object_get(back, "mtime"), "sec")),
			    -5);
		json_decref(back);
		free(s);
		json_decref(o);
	}
	{
		/* a name that is not UTF-8 is given as its bytes */
		struct trace_rec rec = {
		    .seq = 1, .type = TR_MARK, .name = "\xff"};

		o = trace_print_json(&rec, &nm, &opts);
		assert_string_equal(
		    json_string_value(json_object_get(o, "name_b64")), "/w==");
		json_decref(o);
	}
}

/* Run `crashfs trace args...` with stdout and stderr in out. */
static int run(const char *arg1, const char *arg2, const char *arg3)
{
	char *argv[] = {"trace", (char *)arg1, (char *)arg2, (char *)arg3,
			NULL};
	int argc = arg3 ? 4 : arg2 ? 3 : arg1 ? 2 : 1;
	int fd, save_out, save_err, status;
	char outpath[300];
	ssize_t n;

	fflush(stdout);
	fflush(stderr);
	snprintf(outpath, sizeof(outpath), "%s/out", dir);
	fd = open(outpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	save_out = dup(1);
	save_err = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	status = cmd_trace(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(save_out, 1);
	dup2(save_err, 2);
	close(save_out);
	close(save_err);
	n = pread(fd, out, sizeof(out) - 1, 0);
	assert_true(n >= 0);
	out[n] = '\0';
	close(fd);
	return status;
}

static void test_command(void **state)
{
	const char *path = tpath("cmd.trace");
	const char *cut = tpath("cut.trace");
	const char *bad = tpath("bad.trace");
	size_t n = sizeof(seed004) / sizeof(*seed004);
	struct stat st;
	char want[512];
	FILE *f;
	char *buf;

	(void)state;
	write_trace(path, seed004, n);
	assert_int_equal(run(path, NULL, NULL), 0);
	assert_string_equal(out, seed004_text);

	assert_int_equal(run("--type", "rename,fsyncdir", path), 0);
	assert_string_equal(out, "#7 pid 1234 rename \"config.json.tmp\" -> "
				 "\"config.json\" = 0\n"
				 "#9 pid 1234 fsyncdir \"/\" = 0\n");
	assert_int_equal(run("--pid", "99", path), 0);
	assert_non_null(strstr(out, "#13 pid 99 unlink \"config.json\" = 0\n"));
	assert_null(strstr(out, "pid 1234"));
	assert_int_equal(run("--no-bind", path, NULL), 0);
	assert_null(strstr(out, " bind "));
	assert_int_equal(run("--json", path, NULL), 0);
	assert_non_null(strstr(out, "\"type\":\"rename\""));

	/* cut inside the last record: what was read, and a warning */
	assert_int_equal(stat(path, &st), 0);
	f = fopen(path, "rb");
	buf = malloc((size_t)st.st_size);
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, f),
			 (size_t)st.st_size);
	fclose(f);
	f = fopen(cut, "wb");
	fwrite(buf, 1, (size_t)st.st_size - 10, f);
	fclose(f);
	assert_int_equal(run(cut, NULL, NULL), 0);
	snprintf(want, sizeof(want),
		 "crashfs trace: warning: trace '%s' ends inside a record "
		 "(the daemon was killed?): %zu records read\n",
		 cut, n);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "#16 pid 99 create"));

	/* a damaged record: the records before it, then the error, 1 */
	buf[st.st_size - 60] ^= 0x20;
	f = fopen(bad, "wb");
	fwrite(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	assert_int_equal(run(bad, NULL, NULL), 1);
	assert_non_null(strstr(out, "#15 pid 99 fdatasync"));
	assert_null(strstr(out, "#16 "));
	snprintf(want, sizeof(want),
		 "crashfs trace: trace '%s' is corrupt at "
		 "offset ",
		 bad);
	assert_non_null(strstr(out, want));
	free(buf);

	/* not a trace, missing, usage */
	f = fopen(bad, "w");
	fputs("127.0.0.1 localhost\n", f);
	fclose(f);
	assert_int_equal(run(bad, NULL, NULL), 2);
	snprintf(want, sizeof(want),
		 "crashfs trace: '%s' is not a crashfs trace (bad magic)\n",
		 bad);
	assert_string_equal(out, want);
	assert_int_equal(run(tpath("nothing"), NULL, NULL), 2);
	assert_non_null(strstr(out, "No such file or directory"));
	assert_int_equal(run(NULL, NULL, NULL), 2);
	assert_int_equal(run("--type", "nosuch", path), 2);
	assert_int_equal(run("--frobnicate", path, NULL), 2);
	assert_int_equal(run("--help", NULL, NULL), 0);
	assert_non_null(strstr(out, "usage: crashfs trace"));
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seed004_lines),
	    cmocka_unit_test(test_sync_lines),
	    cmocka_unit_test(test_int_min_result),
	    cmocka_unit_test(test_oflags_names),
	    cmocka_unit_test(test_json_fields),
	    cmocka_unit_test(test_command),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
