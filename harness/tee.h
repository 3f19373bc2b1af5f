/* SPDX-License-Identifier: MIT */
/** @file
 *
 * A pipe whose reader copies everything to another descriptor (crashfs's
 * stderr) as it comes and keeps the last bytes: the workload's and the
 * setup's output is shown live, never mixed into a report on stdout, and
 * its tail goes into the report of a workload that failed.
 *
 * Calling sequence:
 *	t = tee_start(STDERR_FILENO, 4096);	NULL + errno
 *	give tee_fd(t) to the children as their stdout and stderr
 *	tail = tee_stop(&t);			malloc'd, NUL-terminated
 *
 * tee_stop() closes the write end and reads what is left; a process that
 * still holds the pipe open (one that left the workload's process group)
 * is given 2 seconds, then its later output is lost.
 */
#ifndef CRASHFS_TEE_H
#define CRASHFS_TEE_H

#include <stddef.h>

struct tee;

struct tee *tee_start(int to_fd, size_t keep);

/* The write end, for children (close-on-exec: give it with dup2). */
int tee_fd(const struct tee *t);

/* Stop, free, and return the last `keep` bytes written (NULL: none or
 * out of memory). */
char *tee_stop(struct tee **t);

#endif /* CRASHFS_TEE_H */
