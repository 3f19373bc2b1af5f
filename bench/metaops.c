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
 *
 * Prints one JSON object on stdout: {"workload": ..., "ops": N,
 * "seconds": S, "ops_per_s": R}.  One op is one whole replace or one
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
	fprintf(stderr, "usage: metaops replace|create DIR N\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct failure f = {0};
	char buf[BLOCK];
	unsigned long n, i;
	double start, secs;
	char *end;
	int dirfd, ret = 0;
	bool replace;

	if (argc != 4)
		return usage();
	if (!strcmp(argv[1], "replace"))
		replace = true;
	else if (!strcmp(argv[1], "create"))
		replace = false;
	else
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
		ret = replace ? replace_once(dirfd, buf, &f)
			      : create_once(dirfd, i, &f);
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
	       "\"ops_per_s\": %.1f}\n",
	       argv[1], n, secs, n / secs);
	return 0;
}
