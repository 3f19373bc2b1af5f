/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Per-state verdicts spooled to an unlinked file (see statelog.h).
 *
 * A record is a 20-byte head (kind, failed, length of the id, a zero
 * byte, point and upto in host order: the file never outlives the
 * process) followed by the id.  Late failures live in a map from the
 * state's index to its extra failed bits.
 */
#include "harness/statelog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/map.h"

#define HEAD 20 /* bytes before the id */

struct statelog {
	FILE *f;	 /* the spool, opened for update */
	uint64_t n;	 /* states logged */
	uint64_t next;	 /* index of the next state statelog_next reads */
	bool reading;	 /* the position is somewhere in the file */
	struct map late; /* index -> failed bits learnt after logging */
};

static int open_spool(const char *dir)
{
	char *tmpl;
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 ||
	    (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	/* no O_TMPFILE there: a file removed as soon as it is made */
	if (asprintf(&tmpl, "%s/crashfs-verdicts.XXXXXX", dir) < 0)
		return -1;
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd >= 0)
		unlink(tmpl);
	free(tmpl);
	return fd;
}

struct statelog *statelog_new(const char *dir)
{
	struct statelog *l = calloc(1, sizeof(*l));
	int fd;

	if (!l)
		return NULL;
	if (!dir)
		dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR")
							    : "/tmp";
	fd = open_spool(dir);
	if (fd < 0)
		goto out_free;
	l->f = fdopen(fd, "w+");
	if (!l->f) {
		close(fd);
		goto out_free;
	}
	return l;
out_free:
	free(l);
	return NULL;
}

int statelog_add(struct statelog *l, const struct check_state *v)
{
	unsigned char head[HEAD] = {0};
	size_t len = strnlen(v->id, sizeof(v->id) - 1);

	if (l->reading) {
		if (fseeko(l->f, 0, SEEK_END) < 0)
			return -errno;
		l->reading = false;
	}
	head[0] = v->kind;
	head[1] = (unsigned char)v->failed;
	head[2] = (unsigned char)len;
	memcpy(head + 4, &v->point, 8);
	memcpy(head + 12, &v->upto, 8);
	if (fwrite(head, HEAD, 1, l->f) != 1 ||
	    (len && fwrite(v->id, len, 1, l->f) != 1))
		return errno ? -errno : -EIO;
	l->n++;
	return 0;
}

int statelog_fail(struct statelog *l, uint64_t idx, uint32_t failed)
{
	uintptr_t had = (uintptr_t)map_get(&l->late, idx, 0);

	if (idx >= l->n || !failed)
		return idx >= l->n ? -EINVAL : 0;
	return map_put(&l->late, idx, 0, (void *)(had | failed));
}

uint64_t statelog_count(const struct statelog *l)
{
	return l ? l->n : 0;
}

int statelog_rewind(struct statelog *l)
{
	if (fflush(l->f) == EOF || fseeko(l->f, 0, SEEK_SET) < 0)
		return -errno;
	l->reading = true;
	l->next = 0;
	return 0;
}

int statelog_next(struct statelog *l, struct check_state *v)
{
	unsigned char head[HEAD];

	if (!l->reading || l->next >= l->n)
		return 0;
	memset(v, 0, sizeof(*v));
	if (fread(head, HEAD, 1, l->f) != 1 ||
	    (head[2] && fread(v->id, head[2], 1, l->f) != 1))
		return ferror(l->f) ? -EIO : -ENODATA;
	v->id[head[2] < sizeof(v->id) ? head[2] : sizeof(v->id) - 1] = '\0';
	v->kind = head[0];
	v->failed =
	    head[1] | (uint32_t)(uintptr_t)map_get(&l->late, l->next, 0);
	memcpy(&v->point, head + 4, 8);
	memcpy(&v->upto, head + 12, 8);
	l->next++;
	return 1;
}

void statelog_free(struct statelog **lp)
{
	struct statelog *l = *lp;

	if (!l)
		return;
	fclose(l->f);
	map_release(&l->late);
	free(l);
	*lp = NULL;
}
