/* SPDX-License-Identifier: MIT */
/** @file
 *
 * A workload for the sync tests (tests/integration/cases/sync.py): runs
 * its arguments as steps, in order, with no libc buffering, and exits 1
 * with a message at the first step that fails.  Built as usual and, by
 * the tests, with -static (no dynamic loader, no libc the harness could
 * hook: only the system calls themselves).
 *
 *	write PATH TEXT		create or truncate PATH, write TEXT
 *	mmapwrite PATH TEXT	write TEXT into PATH (which must be at least
 *				as long) through a shared mapping, kept
 *				dirty until exit (no msync, no close)
 *	sync			sync(2)
 *	syncfs PATH		syncfs(2) of a descriptor open on PATH
 *	range PATH OFF LEN FLAGS  sync_file_range(2) of PATH
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int die(const char *what, const char *arg)
{
	fprintf(stderr, "syncer: %s '%s': %s\n", what, arg, strerror(errno));
	exit(1);
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die("cannot write", path);
	close(fd);
}

static void mmap_write(const char *path, const char *text)
{
	size_t n = strlen(text);
	int fd = open(path, O_RDWR);
	char *p;

	if (fd < 0)
		die("cannot open", path);
	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("cannot map", path);
	memcpy(p, text, n);
	/* Neither msync nor munmap nor close (a close makes FUSE write the
	 * pages back): they stay dirty in the page cache until exit. */
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *step = argv[i];
		int fd;

		if (!strcmp(step, "write") && i + 2 < argc) {
			write_file(argv[i + 1], argv[i + 2]);
			i += 2;
		} else if (!strcmp(step, "mmapwrite") && i + 2 < argc) {
			mmap_write(argv[i + 1], argv[i + 2]);
			i += 2;
		} else if (!strcmp(step, "sync")) {
			sync();
		} else if (!strcmp(step, "syncfs") && i + 1 < argc) {
			fd = open(argv[++i], O_RDONLY);
			if (fd < 0 || syncfs(fd) < 0)
				die("cannot syncfs", argv[i]);
			close(fd);
		} else if (!strcmp(step, "range") && i + 4 < argc) {
			fd = open(argv[i + 1], O_WRONLY);
			if (fd < 0 || sync_file_range(fd, atoll(argv[i + 2]),
						      atoll(argv[i + 3]),
						      atoi(argv[i + 4])) < 0)
				die("cannot sync_file_range", argv[i + 1]);
			close(fd);
			i += 4;
		} else {
			fprintf(stderr, "syncer: bad step '%s'\n", step);
			return 2;
		}
	}
	return 0;
}
