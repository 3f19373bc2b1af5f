/* SPDX-License-Identifier: MIT */
/** @file
 *
 * metaops: the two metadata workloads of `make bench`, timed with
 * CLOCK_MONOTONIC around the loop only (no process start-up, no set-up).
 *
 *	metaops replace DIR N	N atomic replaces of DIR/target: create
 *				DIR/target.tmp, write 4 KiB, fsync it, close,
 *				rename it over DIR/target, fsync DIR
 *	metaops create DIR N	N times: create DIR/f<i> (O_EXCL), close,
 *				unlink it
 *	metaops steps DIR N	N atomic replaces as the seeds' recipe does
 *				them (the directory opened, fsynced and
 *				closed each time), each system call timed
 *
 * Prints one JSON object on stdout: {"workload": ..., "ops": N,
 * "seconds": S, "ops_per_s": R}; steps adds "us": the mean microseconds
 * of each system call of a replace.  One op is one whole replace or one
 * create+unlink pair.  Exit status 0 on success, 1 when a system call
 * failed (named on stderr), 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096 /* bytes written by each replace */

/* A failed step: what it was and the errno it met. */
struct failure {
	const char *what; /* "fsync", "rename" ... */
	int err;	  /* errno */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(struct failure *f, const char *what)
{
	f->what = what;
	f->err = errno;
	return -errno;
}

/*
 * One atomic replace, the way a careful program saves a file: write a
 * temporary, make its data durable, rename it over the target, make the
 * rename durable.  Returns 0 or -errno with *f naming the step.
 */
static int replace_once(int dirfd, const char *buf, struct failure *f)
{
	int fd, ret = 0;

	fd = openat(dirfd, "target.tmp", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fail(f, "open target.tmp");
	if (write(fd, buf, BLOCK) != BLOCK) {
		if (errno == 0)
			errno = EIO;
		ret = fail(f, "write target.tmp");
		goto out_close;
	}
	if (fsync(fd) < 0) {
		ret = fail(f, "fsync target.tmp");
		goto out_close;
	}
out_close:
	if (close(fd) < 0 && !ret)
		ret = fail(f, "close target.tmp");
	if (ret)
		return ret;
	if (renameat(dirfd, "target.tmp", dirfd, "target") < 0)
		return fail(f, "rename target.tmp target");
	if (fsync(dirfd) < 0)
		return fail(f, "fsync directory");
	return 0;
}

/* The system calls of one replace in steps mode, in order. */
enum step {
	ST_OPEN,
	ST_WRITE,
	ST_FSYNC,
	ST_CLOSE,
	ST_RENAME,
	ST_OPENDIR,
	ST_FSYNCDIR,
	ST_CLOSEDIR,
	ST_MAX
};

static const char *const step_names[ST_MAX] = {
    "open", "write", "fsync", "close", "rename", "opendir", "fsyncdir",
    "closedir",
};

/* End step s begun at *t: add its time to us[s], start the next. */
static void step_done(double *us, enum step s, double *t)
{
	double now = now_s();

	us[s] += (now - *t) * 1e6;
	*t = now;
}

/*
 * One replace with the directory opened each time, as Python's recipe
 * (seed 004) does it, adding each system call's time to us[].  Returns
 * 0 or -errno with *f naming the step.
 */
static int replace_steps(int dirfd, const char *buf, double *us,
			 struct failure *f)
{
	double t = now_s();
	int fd, dfd, ret = 0;

	fd = openat(dirfd, "target.tmp", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fail(f, "open target.tmp");
	step_done(us, ST_OPEN, &t);
	if (write(fd, buf, BLOCK) != BLOCK)
		ret = fail(f, errno ? "write target.tmp" : "short write");
	step_done(us, ST_WRITE, &t);
	if (!ret && fsync(fd) < 0)
		ret = fail(f, "fsync target.tmp");
	step_done(us, ST_FSYNC, &t);
	if (close(fd) < 0 && !ret)
		ret = fail(f, "close target.tmp");
	step_done(us, ST_CLOSE, &t);
	if (ret)
		return ret;
	if (renameat(dirfd, "target.tmp", dirfd, "target") < 0)
		return fail(f, "rename target.tmp target");
	step_done(us, ST_RENAME, &t);
	dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return fail(f, "open directory");
	step_done(us, ST_OPENDIR, &t);
	if (fsync(dfd) < 0)
		ret = fail(f, "fsync directory");
	step_done(us, ST_FSYNCDIR, &t);
	close(dfd);
	step_done(us, ST_CLOSEDIR, &t);
	return ret;
}

/* One create + close + unlink of a fresh name.  Returns 0 or -errno. */
static int create_once(int dirfd, unsigned long i, struct failure *f)
{
	char name[32];
	int fd;

	snprintf(name, sizeof(name), "f%lu", i);
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return fail(f, "create");
	if (close(fd) < 0)
		return fail(f, "close");
	if (unlinkat(dirfd, name, 0) < 0)
		return fail(f, "unlink");
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: metaops replace|create|steps DIR N\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct failure f = {0};
	char buf[BLOCK];
	double start, secs, us[ST_MAX] = {0};
	unsigned long n, i;
	char *end;
	int dirfd, ret = 0;
	bool replace, steps;

	if (argc != 4)
		return usage();
	replace = !strcmp(argv[1], "replace");
	steps = !strcmp(argv[1], "steps");
	if (!replace && !steps && strcmp(argv[1], "create"))
		return usage();
	errno = 0;
	n = strtoul(argv[3], &end, 10);
	if (errno || *end || n == 0)
		return usage();
	dirfd = open(argv[2], O_RDONLY | O_DIRECTORY);
	if (dirfd < 0) {
		fprintf(stderr, "metaops: cannot open '%s': %s\n", argv[2],
			strerror(errno));
		return 1;
	}
	memset(buf, 'x', sizeof(buf));

	start = now_s();
	for (i = 0; i < n; i++) {
		if (steps)
			ret = replace_steps(dirfd, buf, us, &f);
		else if (replace)
			ret = replace_once(dirfd, buf, &f);
		else
			ret = create_once(dirfd, i, &f);
		if (ret)
			break;
	}
	secs = now_s() - start;
	close(dirfd);
	if (ret) {
		fprintf(stderr, "metaops: %s in '%s' failed at op %lu: %s\n",
			f.what, argv[2], i, strerror(f.err));
		return 1;
	}
	printf("{\"workload\": \"%s\", \"ops\": %lu, \"seconds\": %.6f, "
	       "\"ops_per_s\": %.1f",
	       argv[1], n, secs, n / secs);
	for (int s = 0; steps && s < ST_MAX; s++)
		printf("%s\"%s\": %.1f", s ? ", " : ", \"us\": {",
		       step_names[s], us[s] / n);
	printf("%s}\n", steps ? "}" : "");
	return 0;
}
