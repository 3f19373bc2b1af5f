/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The `requires` key of scenario files: is each program (and Python
 * module) a scenario needs present?  See requires.h.
 */
#include "harness/requires.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/scenario.h"

/* A name a shell or exec would take as is: no blanks, quotes, controls. */
static bool plain(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c <= ' ' || c == 0x7f || strchr("'\"\\`$:", c))
			return false;
	}
	return true;
}

static bool module_ok(const char *m)
{
	if (!*m || *m == '.' || m[strlen(m) - 1] == '.')
		return false;
	for (; *m; m++)
		if (!(*m == '_' || *m == '.' || (*m >= '0' && *m <= '9') ||
		      (*m >= 'a' && *m <= 'z') || (*m >= 'A' && *m <= 'Z')))
			return false;
	return true;
}

bool requires_word_ok(const char *word)
{
	const char *colon = strchr(word, ':');

	if (!colon)
		return plain(word, strlen(word));
	return plain(word, colon - word) && module_ok(colon + 1);
}

/* An executable regular file? */
static bool executable(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

/*
 * The program named by the first n bytes of word, as exec would find it,
 * into buf; false if there is none.
 */
static bool find_program(const char *word, size_t n, char *buf, size_t len)
{
	const char *path = getenv("PATH");

	if (n >= len)
		return false;
	if (memchr(word, '/', n)) {
		snprintf(buf, len, "%.*s", (int)n, word);
		return executable(buf);
	}
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t d = strcspn(path, ":");

		/* an empty PATH entry is the current directory */
		if (snprintf(buf, len, "%.*s%s%.*s", (int)d, d ? path : ".",
			     "/", (int)n, word) < (int)len &&
		    executable(buf))
			return true;
		path += d;
		path += *path == ':';
	}
	return false;
}

/* 0 if python can import module, 1 if not, -errno if it cannot tell. */
static int can_import(const char *python, const char *module)
{
	char code[PATH_MAX];
	int status, fd;
	pid_t pid;

	snprintf(code, sizeof(code), "import %s", module);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(python, python, "-c", code, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int requires_missing(const struct strv *req, char *why, size_t whylen)
{
	char prog[PATH_MAX], dummy[8];

	if (!why) {
		why = dummy;
		whylen = sizeof(dummy);
	}
	for (size_t i = 0; i < req->len; i++) {
		const char *w = req->v[i], *colon = strchr(w, ':');
		size_t n = colon ? (size_t)(colon - w) : strlen(w);
		int rc;

		if (!find_program(w, n, prog, sizeof(prog))) {
			snprintf(why, whylen, "%.*s is not installed (%s)",
				 (int)n, w,
				 memchr(w, '/', n) ? "no such executable"
						   : "not found on PATH");
			return 1;
		}
		if (!colon)
			continue;
		rc = can_import(prog, colon + 1);
		if (rc < 0)
			return rc;
		if (rc) {
			snprintf(why, whylen,
				 "%s cannot import the Python module %s", prog,
				 colon + 1);
			return 1;
		}
	}
	return 0;
}
