/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Open-addressing hash map keyed by two 64-bit integers (see map.h).
 */
#include "map.h"

#include <errno.h>
#include <stdlib.h>

static size_t slot_of(const struct map *m, uint64_t k1, uint64_t k2)
{
	uint64_t h = k1 * 0x9e3779b97f4a7c15ULL ^ (k2 + 0x632be59bd9b4e019ULL);

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (size_t)h & (m->cap - 1);
}

static struct map_slot *find(const struct map *m, uint64_t k1, uint64_t k2)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = slot_of(m, k1, k2);; i = (i + 1) & (m->cap - 1)) {
		struct map_slot *s = &m->slots[i];

		if (!s->val)
			return NULL;
		if (s->k1 == k1 && s->k2 == k2)
			return s;
	}
}

void *map_get(const struct map *m, uint64_t k1, uint64_t k2)
{
	struct map_slot *s = find(m, k1, k2);

	return s ? s->val : NULL;
}

static int grow(struct map *m)
{
	struct map old = *m;
	size_t cap = old.cap ? old.cap * 2 : 16;

	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		*m = old;
		return -ENOMEM;
	}
	m->cap = cap;
	m->len = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].val)
			map_put(m, old.slots[i].k1, old.slots[i].k2,
				old.slots[i].val);
	free(old.slots);
	return 0;
}

int map_put(struct map *m, uint64_t k1, uint64_t k2, void *val)
{
	struct map_slot *s = find(m, k1, k2);
	size_t i;

	if (s) {
		s->val = val;
		return 0;
	}
	if ((m->len + 1) * 4 > m->cap * 3 && grow(m) < 0)
		return -ENOMEM;
	for (i = slot_of(m, k1, k2); m->slots[i].val;
	     i = (i + 1) & (m->cap - 1))
		;
	m->slots[i] = (struct map_slot){k1, k2, val};
	m->len++;
	return 0;
}

void *map_del(struct map *m, uint64_t k1, uint64_t k2)
{
	struct map_slot *s = find(m, k1, k2);
	size_t i, j, home;
	void *val;

	if (!s)
		return NULL;
	val = s->val;
	i = (size_t)(s - m->slots);
	/* Shift later members of the probe run back over the hole. */
	for (j = (i + 1) & (m->cap - 1); m->slots[j].val;
	     j = (j + 1) & (m->cap - 1)) {
		home = slot_of(m, m->slots[j].k1, m->slots[j].k2);
		if (((j - home) & (m->cap - 1)) >= ((j - i) & (m->cap - 1))) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].val = NULL;
	m->len--;
	return val;
}

void *map_next(const struct map *m, size_t *pos, uint64_t *k1, uint64_t *k2)
{
	for (; *pos < m->cap; (*pos)++) {
		const struct map_slot *s = &m->slots[*pos];

		if (s->val) {
			(*pos)++;
			if (k1)
				*k1 = s->k1;
			if (k2)
				*k2 = s->k2;
			return s->val;
		}
	}
	return NULL;
}

void map_release(struct map *m)
{
	free(m->slots);
	*m = (struct map){0};
}
