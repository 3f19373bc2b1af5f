/* SPDX-License-Identifier: MIT */
/** @file
 *
 * fsop: one file system call that Python's os module does not offer, for
 * the integration tests.  Each form makes exactly one call and prints its
 * outcome on stdout as "ok" or "err ENAME" (the errno's symbolic name), so
 * a test can run it on a plain directory and on a crashfs mount and
 * compare the lines.  Exit status: 0 the call succeeded, 1 it failed,
 * 2 usage error.
 *
 *	fsop rename2 OLD NEW FLAGS	renameat2(2); FLAGS: 0, noreplace,
 *					exchange
 *	fsop fallocate PATH MODE OFF LEN
 *					fallocate(2) on PATH opened O_RDWR;
 *					MODE: 0 or a comma list of keep,
 *					punch, zero, collapse, insert
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: fsop rename2 OLD NEW 0|noreplace|exchange\n"
			"       fsop fallocate PATH MODE OFF LEN\n");
	return 2;
}

/* Print the outcome of a call that returned ret (errno set if < 0). */
static int outcome(int ret)
{
	const char *name;

	if (ret >= 0) {
		printf("ok\n");
		return 0;
	}
	name = strerrorname_np(errno);
	if (name)
		printf("err %s\n", name);
	else
		printf("err %d\n", errno);
	return 1;
}

static int parse_rename_flags(const char *s, unsigned int *flags)
{
	if (!strcmp(s, "0"))
		*flags = 0;
	else if (!strcmp(s, "noreplace"))
		*flags = RENAME_NOREPLACE;
	else if (!strcmp(s, "exchange"))
		*flags = RENAME_EXCHANGE;
	else
		return -EINVAL;
	return 0;
}

static int parse_falloc_mode(const char *s, int *mode)
{
	static const struct {
		const char *name; /* as given on the command line */
		int bit;	  /* FALLOC_FL_* */
	} bits[] = {
	    {"keep", FALLOC_FL_KEEP_SIZE},
	    {"punch", FALLOC_FL_PUNCH_HOLE},
	    {"zero", FALLOC_FL_ZERO_RANGE},
	    {"collapse", FALLOC_FL_COLLAPSE_RANGE},
	    {"insert", FALLOC_FL_INSERT_RANGE},
	};
	char buf[128], *tok, *save;

	*mode = 0;
	if (!strcmp(s, "0"))
		return 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(bits) / sizeof(*bits); i++)
			if (!strcmp(tok, bits[i].name))
				break;
		if (i == sizeof(bits) / sizeof(*bits))
			return -EINVAL;
		*mode |= bits[i].bit;
	}
	return 0;
}

static int do_fallocate(char **argv)
{
	int mode, fd, ret;
	long long off, len;

	if (parse_falloc_mode(argv[1], &mode) < 0)
		return usage();
	off = strtoll(argv[2], NULL, 0);
	len = strtoll(argv[3], NULL, 0);
	fd = open(argv[0], O_RDWR);
	if (fd < 0) {
		printf("open: ");
		return outcome(fd);
	}
	ret = outcome(fallocate(fd, mode, off, len));
	close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned int flags;

	if (argc == 5 && !strcmp(argv[1], "rename2")) {
		if (parse_rename_flags(argv[4], &flags) < 0)
			return usage();
		return outcome(
		    renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3], flags));
	}
	if (argc == 6 && !strcmp(argv[1], "fallocate"))
		return do_fallocate(argv + 2);
	return usage();
}
