/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Messages, number parsing and name checks shared by every module.
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *progname = "crashfs";
static volatile sig_atomic_t stop_requested; /* util_stop() was called */

void util_stop(void)
{
	stop_requested = 1;
}

bool util_stopping(void)
{
	return stop_requested != 0;
}

void util_set_progname(const char *name)
{
	progname = name;
}

/* Every message goes out escaped: most echo something a user gave. */
static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	int saved = errno;
	char msg[4096], out[4 * sizeof(msg)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s: %s%s\n", progname, prefix,
		util_escape(out, sizeof(out), msg));
	errno = saved;
}

void util_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void util_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

int util_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return errno == ERANGE ? -ERANGE : -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int util_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;
	int shift = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u || !*u)
			return -EINVAL;
		shift = 10 * (int)(u - units + 1);
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'b' || *end == 'B')
			end++;
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (~0ULL >> shift))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

bool util_name_ok(const char *name)
{
	size_t n = name ? strnlen(name, 256) : 0;

	if (n == 0 || n > 255)
		return false;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	return strchr(name, '/') == NULL;
}

int util_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The escape for byte c (with next, for UTF-8 C1 controls) in buf, or
 * NULL if c is printed as it is; *skip: bytes of src it stands for. */
static const char *escape_of(unsigned char c, unsigned char next, char buf[8],
			     size_t *skip)
{
	*skip = 1;
	switch (c) {
	case '\n': return "\\n";
	case '\t': return "\\t";
	case '\r': return "\\r";
	}
	if (c < 0x20 || c == 0x7f) {
		snprintf(buf, 8, "\\x%02x", c);
		return buf;
	}
	if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {
		snprintf(buf, 8, "\\u%04x", next);
		*skip = 2;
		return buf;
	}
	return NULL;
}

char *util_escape(char *dst, size_t len, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = 0, skip, k;
	const char *e;
	char buf[8];

	if (!len)
		return dst;
	for (; *s; s += skip) {
		e = escape_of(s[0], s[1], buf, &skip);
		k = e ? strlen(e) : 1;
		if (n + k >= len)
			break;
		if (e)
			memcpy(dst + n, e, k);
		else
			dst[n] = (char)*s;
		n += k;
	}
	dst[n] = '\0';
	return dst;
}

bool util_has_control(const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t skip;
	char buf[8];

	for (; *s; s += skip)
		if (escape_of(s[0], s[1], buf, &skip))
			return true;
	return false;
}

static const char *file_kind(mode_t m)
{
	return S_ISDIR(m)    ? "a directory"
	       : S_ISFIFO(m) ? "a fifo"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISSOCK(m) ? "a socket"
			     : "not a plain file";
}

int util_read_file(const char *path, size_t max, char **out, size_t *len,
		   char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	int fd, res = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		res = -errno;
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file (it is %s)",
			 file_kind(st.st_mode));
		res = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > max)
		goto too_big;
	buf = malloc(max + 1);
	if (!buf) {
		res = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* Read up to one byte past max: a file that grows is caught too. */
	while (n <= max && (r = read(fd, buf + n, max + 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			res = -errno;
			snprintf(err, errlen, "cannot read: %s",
				 strerror(errno));
			goto out;
		}
		n += (size_t)r;
	}
	if (n > max)
		goto too_big;
	buf[n] = '\0';
	if (memchr(buf, '\0', n)) {
		snprintf(err, errlen, "holds a NUL byte (not a text file)");
		res = -EINVAL;
		goto out;
	}
	*out = buf;
	*len = n;
	buf = NULL;
	goto out;
too_big:
	snprintf(err, errlen, "larger than %zu bytes", max);
	res = -EFBIG;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return res;
}

void util_describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d",
			 WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "stopped (status 0x%x)", status);
}

size_t util_count_upto(const uint64_t *v, size_t n, uint64_t k)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v[mid] <= k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
