/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The bounded set of checked states (see seen.h).
 */
#include "harness/seen.h"

#include <stdlib.h>
#include <string.h>

#define WAYS 8 /* entries per bucket */

/* splitmix64's finaliser: every input bit reaches every output bit */
static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t seen_fingerprint(uint64_t hash, uint64_t context)
{
	uint64_t z = mix(hash ^ mix(context + 0x9e3779b97f4a7c15ull));

	return z ? z : 1;
}

static uint64_t *bucket(const struct seen *s, uint64_t fp)
{
	return &s->fp[(fp & (s->nbuckets - 1)) * WAYS];
}

/* Put fp in a free entry of its bucket; false if the bucket is full. */
static bool place(struct seen *s, uint64_t fp)
{
	uint64_t *b = bucket(s, fp);

	for (int i = 0; i < WAYS; i++)
		if (!b[i]) {
			b[i] = fp;
			s->len++;
			return true;
		}
	return false;
}

/* A full table: forget the oldest entry of fp's bucket for fp. */
static void replace(struct seen *s, uint64_t fp)
{
	uint64_t *b = bucket(s, fp);

	memmove(b, b + 1, (WAYS - 1) * sizeof(*b));
	b[WAYS - 1] = fp;
	s->evicted++;
}

static int grow(struct seen *s)
{
	size_t n = s->nbuckets ? s->nbuckets * 2 : 64;
	uint64_t *old = s->fp, *nfp = calloc(n * WAYS, sizeof(*nfp));
	size_t oldn = s->nbuckets;

	if (!nfp)
		return -1;
	s->fp = nfp;
	s->nbuckets = n;
	s->len = 0;
	/* a bucket of the doubled table gets entries of one old bucket */
	for (size_t i = 0; i < oldn * WAYS; i++)
		if (old[i])
			place(s, old[i]);
	free(old);
	return 0;
}

bool seen_add(struct seen *s, uint64_t fp)
{
	size_t max = s->max ? s->max : SEEN_MAX_ENTRIES;
	uint64_t *b;

	fp = fp ? fp : 1;
	if (s->nbuckets) {
		b = bucket(s, fp);
		for (int i = 0; i < WAYS; i++)
			if (b[i] == fp)
				return true;
	}
	/* grow at 3/4 full, or when fp's bucket is full, under the bound */
	while (!s->nbuckets || (s->len + 1) * 4 > s->nbuckets * WAYS * 3 ||
	       !place(s, fp)) {
		if ((s->nbuckets && s->nbuckets * 2 * WAYS > max) ||
		    grow(s) < 0) {
			if (s->nbuckets && !place(s, fp))
				replace(s, fp);
			return false;
		}
	}
	return false;
}

void seen_release(struct seen *s)
{
	free(s->fp);
	memset(s, 0, sizeof(*s));
}
