/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Small helpers shared by every module: messages in the house format
 * ("crashfs: cannot open trace 'x': No such file or directory"), number
 * parsing with clear errors, and safe path handling.
 *
 * Messages are lowercase without a full stop.  Nothing here exits.
 */
#ifndef CRASHFS_UTIL_H
#define CRASHFS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Name printed before messages ("crashfs" or "crashfs mount"). */
void util_set_progname(const char *name);

/* Print "<progname>: <message>\n" to stderr.  errno is preserved. */
void util_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Like util_err, prefixed with "warning: ". */
void util_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Parse a byte count with an optional K, M, G or T suffix (powers of
 * 1024), e.g. "4096", "1M".  Returns 0 or -EINVAL.
 */
int util_parse_size(const char *s, uint64_t *out);

/* Parse a whole number in [min, max].  Returns 0 or -EINVAL/-ERANGE. */
int util_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/*
 * True if name is a single directory entry name: not empty, not "." or
 * "..", no '/' and shorter than 256 bytes.  Every name read from a trace
 * goes through this before it touches the disk.
 */
bool util_name_ok(const char *name);

/*
 * Stop requests.  A SIGINT/SIGTERM handler calls util_stop() (it is
 * async-signal-safe); long loops anywhere (loading a trace, computing a
 * path's versions, exploring, searching causes) poll util_stopping() and
 * give up with -EINTR (constructors: NULL, errno EINTR), so that the
 * caller cleans up and exits promptly.  Never reset.
 */
void util_stop(void);
bool util_stopping(void);

/*
 * Write all of buf to fd (retrying on EINTR and short writes).
 * Returns 0 or -errno.
 */
int util_write_all(int fd, const void *buf, size_t len);

/*
 * Copy src into dst (len bytes, NUL included) with every control
 * character written out: \n, \t, \r, \xNN for the others (C0, DEL),
 * \uNNNN for the C1 controls U+0080..U+009F in UTF-8, so that text a
 * user gave (a name, a rule, a value) cannot move the cursor, recolour or
 * retitle a terminal or fake a log line when it is echoed.  A backslash
 * stays as it is, so escaping twice changes nothing (a rule's kept text
 * is escaped, and so is the log line that shows it).  Truncates at len
 * (never inside an escape).  Returns dst.
 */
char *util_escape(char *dst, size_t len, const char *src);

/* Does s hold a control character (one util_escape() writes out)? */
bool util_has_control(const char *s);

/*
 * Read the whole regular file at path into a malloc'd, NUL-terminated
 * buffer (*out, its length in *len; the caller frees it).  Refuses, with
 * -EINVAL and a message in err (no path in it: the caller names the
 * file): what is not a regular file (a fifo, a device or a directory
 * would block or never end), a file larger than max bytes, a file with a
 * NUL byte.  Opened with O_NONBLOCK, so a fifo is refused, not waited on.
 * Returns 0 or -errno.
 */
int util_read_file(const char *path, size_t max, char **out, size_t *len,
		   char *err, size_t errlen);

/* A wait status in words: "exited with status 3", "was killed by signal
 * 9 (Killed)", "stopped (status 0x137f)". */
void util_describe_status(int status, char *buf, size_t len);

/* How many of the n sorted values v are <= k (a binary search). */
size_t util_count_upto(const uint64_t *v, size_t n, uint64_t k);

#endif /* CRASHFS_UTIL_H */
