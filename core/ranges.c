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
	r->sorted = r->n;
	r->v[i] = x;
	r->bytes += (uint64_t)(x.end - x.off);
	return 0;
}

static int cmp_off(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

void ranges_norm(struct ranges *r)
{
	size_t k = 0;

	if (r->sorted == r->n)
		return;
	qsort(r->v, r->n, sizeof(*r->v), cmp_off);
	r->bytes = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (k && r->v[i].off <= r->v[k - 1].end) {
			if (r->v[i].end > r->v[k - 1].end)
				r->v[k - 1].end = r->v[i].end;
			continue;
		}
		r->v[k++] = r->v[i];
	}
	for (size_t i = 0; i < k; i++)
		r->bytes += (uint64_t)(r->v[i].end - r->v[i].off);
	r->n = r->sorted = k;
}

int ranges_add(struct ranges *r, int64_t off, int64_t end)
{
	size_t raw;

	if (off >= end)
		return 0;
	if (r->sorted == r->n && (!r->n || off >= r->v[r->n - 1].off)) {
		/* the common case: at or past the last range */
		struct range *last = r->n ? &r->v[r->n - 1] : NULL;

		if (last && off <= last->end) {
			if (end > last->end) {
				r->bytes += (uint64_t)(end - last->end);
				last->end = end;
			}
			return 0;
		}
		if (reserve(r, 1))
			return -ENOMEM;
		r->v[r->n++] = (struct range){off, end, -1};
		r->sorted = r->n;
		r->bytes += (uint64_t)(end - off);
		return 0;
	}
	/* Anywhere else: noted unsorted, sorted and merged in batches (as
	 * many as the sorted part, at least 64), so a random write costs
	 * O(log n) amortised, not a memmove of the whole set. */
	if (reserve(r, 1))
		return -ENOMEM;
	r->v[r->n++] = (struct range){off, end, -1};
	raw = r->n - r->sorted;
	if (raw >= 64 && raw >= r->sorted)
		ranges_norm(r);
	return 0;
}

int ranges_put(struct ranges *r, int64_t off, int64_t end, int64_t pos)
{
	size_t i;

	if (off >= end)
		return 0;
	ranges_norm(r);
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
	size_t i;

	ranges_norm(r);
	i = ranges_find(r, off);

	if (i < r->n && r->v[i].off < off) {
		/* a range across off keeps its head */
		r->bytes -= (uint64_t)(r->v[i].end - off);
		r->v[i].end = off;
		i++;
	}
	for (size_t k = i; k < r->n; k++)
		r->bytes -= (uint64_t)(r->v[k].end - r->v[k].off);
	r->n = r->sorted = i;
}

void ranges_release(struct ranges *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}
