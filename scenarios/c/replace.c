/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The atomic-write family of the crashfs bug zoo, in C: six ways to
 * replace the content of a file with "new", from broken to correct.
 *
 *	replace MODE [PATH]		(PATH defaults to config.json)
 *
 * MODE is one of naive-overwrite, overwrite-fsync, rename-no-fsync,
 * rename-no-dirsync, atomic-write, dirsync-before-rename (see
 * docs/scenarios.md for what each does wrong).  After the replacement the
 * program marks "saved" with `crashfs mark` when it runs under crashfs
 * (CRASHFS_MOUNT set); elsewhere it just replaces the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char NEW[] = "new";

static void die(const char *what, const char *path)
{
	fprintf(stderr, "replace: %s '%s': %s\n", what, path, strerror(errno));
	exit(1);
}

/* Write NEW to path (O_TRUNC), fsync it if asked, close it. */
static void write_file(const char *path, int flags, int do_fsync)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | flags, 0644);

	if (fd < 0)
		die("cannot open", path);
	if (write(fd, NEW, strlen(NEW)) != (ssize_t)strlen(NEW))
		die("cannot write", path);
	if (do_fsync && fsync(fd) < 0)
		die("cannot fsync", path);
	if (close(fd) < 0)
		die("cannot close", path);
}

/* fsync the directory holding path. */
static void sync_dir(const char *path)
{
	char *copy = strdup(path);
	const char *dir = dirname(copy);
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	if (fd < 0 || fsync(fd) < 0)
		die("cannot fsync directory", dir);
	close(fd);
	free(copy);
}

static void do_rename(const char *from, const char *to)
{
	if (rename(from, to) < 0)
		die("cannot rename", from);
}

static void mark(const char *text)
{
	char *argv[] = { "crashfs", "mark", (char *)text, NULL };
	pid_t pid;
	int status;

	if (!getenv("CRASHFS_MOUNT"))
		return;
	errno = posix_spawnp(&pid, "crashfs", NULL, NULL, argv, environ);
	if (errno)
		die("cannot run", "crashfs mark");
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "replace: crashfs mark failed\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	const char *path = argc > 2 ? argv[2] : "config.json";
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!strcmp(mode, "naive-overwrite")) {
		write_file(path, 0, 0);
	} else if (!strcmp(mode, "overwrite-fsync")) {
		write_file(path, 0, 1);
	} else if (!strcmp(mode, "rename-no-fsync")) {
		write_file(tmp, 0, 0);
		do_rename(tmp, path);
	} else if (!strcmp(mode, "rename-no-dirsync")) {
		write_file(tmp, 0, 1);
		do_rename(tmp, path);
	} else if (!strcmp(mode, "atomic-write")) {
		write_file(tmp, 0, 1);
		do_rename(tmp, path);
		sync_dir(path);
	} else if (!strcmp(mode, "dirsync-before-rename")) {
		write_file(tmp, 0, 1);
		sync_dir(path);
		do_rename(tmp, path);
	} else {
		fprintf(stderr, "usage: replace MODE [PATH]\n"
				"modes: naive-overwrite overwrite-fsync "
				"rename-no-fsync rename-no-dirsync atomic-write "
				"dirsync-before-rename\n");
		return 2;
	}
	mark("saved");
	return 0;
}
