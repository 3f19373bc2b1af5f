/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Sorted, disjoint byte ranges (see ranges.h).
 */
#include "core/ranges.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t ranges_find(const struct ranges *r, int64_t off)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->v[mid].end <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int reserve(struct ranges *r, size_t more)
{
	size_t cap = r->cap ? r->cap : 4;
	struct range *v;

	if (r->n + more <= r->cap)
		return 0;
	while (cap < r->n + more)
		cap *= 2;
	v = realloc(r->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->v = v;
	r->cap = cap;
	return 0;
}

/* Replace v[i, j) by one range. */
static int splice(struct ranges *r, size_t i, size_t j, struct range x)
{
	if (i == j && reserve(r, 1))
		return -ENOMEM;
	for (size_t k = i; k < j; k++)
		r->bytes -= (uint64_t)(r->v[k].end - r->v[k].off);
	if (j != i + 1)
		memmove(&r->v[i + 1], &r->v[j], (r->n - j) * sizeof(*r->v));
	r->n = r->n - (j - i) + 1;
	r->v[i] = x;
	r->bytes += (uint64_t)(x.end - x.off);
	return 0;
}

int ranges_add(struct ranges *r, int64_t off, int64_t end)
{
	struct range x = {off, end, -1};
	size_t i, j;

	if (off >= end)
		return 0;
	if (r->n && off >= r->v[r->n - 1].off) {
		/* the common case: at or past the last range */
		struct range *last = &r->v[r->n - 1];

		if (off <= last->end) {
			if (end > last->end) {
				r->bytes += (uint64_t)(end - last->end);
				last->end = end;
			}
			return 0;
		}
		return splice(r, r->n, r->n, x);
	}
	/* first range that touches [off, end): ends at or after off */
	i = ranges_find(r, off);
	if (i > 0 && r->v[i - 1].end == off)
		i--;
	for (j = i; j < r->n && r->v[j].off <= end; j++)
		;
	if (i < j) {
		if (r->v[i].off < x.off)
			x.off = r->v[i].off;
		if (r->v[j - 1].end > x.end)
			x.end = r->v[j - 1].end;
	}
	return splice(r, i, j, x);
}

int ranges_put(struct ranges *r, int64_t off, int64_t end, int64_t pos)
{
	size_t i;

	if (off >= end)
		return 0;
	i = ranges_find(r, off);
	if (i > 0) {
		struct range *p = &r->v[i - 1];

		if (p->end == off && p->pos >= 0 && pos >= 0 &&
		    p->pos + (p->end - p->off) == pos &&
		    (i == r->n || r->v[i].off >= end)) {
			p->end = end;
			r->bytes += (uint64_t)(end - off);
			return 0;
		}
	}
	return splice(r, i, i, (struct range){off, end, pos});
}

void ranges_cut(struct ranges *r, int64_t off)
{
	size_t i = ranges_find(r, off);

	if (i < r->n && r->v[i].off < off) {
		/* a range across off keeps its head */
		r->bytes -= (uint64_t)(r->v[i].end - off);
		r->v[i].end = off;
		i++;
	}
	for (size_t k = i; k < r->n; k++)
		r->bytes -= (uint64_t)(r->v[k].end - r->v[k].off);
	r->n = i;
}

void ranges_release(struct ranges *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}
