/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The output tee (see tee.h): a thread reads the pipe, writes each chunk
 * to the target descriptor and keeps a ring of the last bytes.
 */
#include "harness/tee.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

struct tee {
	int rd, wr;	   /* the pipe (wr -1 once closed) */
	int to;		   /* where the output goes */
	pthread_t thread;  /* the reader */
	char *ring;	   /* the last `keep` bytes ... */
	size_t keep, head; /* ... ring[head] is the oldest once full */
	size_t len;	   /* bytes in ring */
	volatile int stop; /* tee_stop() gave up waiting for EOF */
};

static void keep_bytes(struct tee *t, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		t->ring[(t->head + t->len) % t->keep] = buf[i];
		if (t->len < t->keep)
			t->len++;
		else
			t->head = (t->head + 1) % t->keep;
	}
}

static void *reader(void *arg)
{
	struct tee *t = arg;
	char buf[4096];

	for (;;) {
		struct pollfd pf = {.fd = t->rd, .events = POLLIN};
		ssize_t n;

		if (t->stop)
			break;
		if (poll(&pf, 1, 100) <= 0)
			continue;
		n = read(t->rd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		util_write_all(t->to, buf, (size_t)n);
		keep_bytes(t, buf, (size_t)n);
	}
	return NULL;
}

struct tee *tee_start(int to_fd, size_t keep)
{
	struct tee *t = calloc(1, sizeof(*t));
	int p[2], e;

	if (!t)
		return NULL;
	t->keep = keep ? keep : 1;
	t->ring = malloc(t->keep);
	if (!t->ring || pipe2(p, O_CLOEXEC) < 0)
		goto out_free;
	t->rd = p[0];
	t->wr = p[1];
	t->to = to_fd;
	e = pthread_create(&t->thread, NULL, reader, t);
	if (e) {
		close(p[0]);
		close(p[1]);
		errno = e;
		goto out_free;
	}
	return t;
out_free:
	e = errno;
	free(t->ring);
	free(t);
	errno = e;
	return NULL;
}

int tee_fd(const struct tee *t)
{
	return t->wr;
}

char *tee_stop(struct tee **tp)
{
	struct tee *t = *tp;
	struct timespec until;
	char *out;

	if (!t)
		return NULL;
	close(t->wr);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	if (pthread_timedjoin_np(t->thread, NULL, &until) != 0) {
		t->stop = 1; /* someone still holds the pipe: stop reading */
		pthread_join(t->thread, NULL);
	}
	close(t->rd);
	out = malloc(t->len + 1);
	if (out) {
		for (size_t i = 0; i < t->len; i++)
			out[i] = t->ring[(t->head + i) % t->keep];
		out[t->len] = '\0';
	}
	free(t->ring);
	free(t);
	*tp = NULL;
	return out;
}
