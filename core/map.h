/* SPDX-License-Identifier: MIT */
/** @file
 *
 * A hash map from a pair of 64-bit keys to a pointer, for the tables every
 * module keeps: the daemon's (backing st_ino, st_dev) -> inode, the
 * model's file id -> inode.  Open addressing with linear probing and
 * backward-shift deletion; it grows, never shrinks.
 *
 * An all-zero struct map is a valid empty map.  The map does not own the
 * values.  Not thread-safe: callers lock.
 *
 *	struct map m = { 0 };
 *	map_put(&m, id, 0, ptr);
 *	p = map_get(&m, id, 0);
 *	map_del(&m, id, 0);
 *	map_release(&m);
 */
#ifndef CRASHFS_MAP_H
#define CRASHFS_MAP_H

#include <stddef.h>
#include <stdint.h>

struct map_slot {
	uint64_t k1; /* first key */
	uint64_t k2; /* second key */
	void *val;   /* NULL marks an empty slot */
};

struct map {
	struct map_slot *slots; /* cap slots, NULL when empty */
	size_t cap;		/* a power of two, or 0 */
	size_t len;		/* slots in use */
};

/* The value stored under (k1, k2), or NULL. */
void *map_get(const struct map *m, uint64_t k1, uint64_t k2);

/* Store val (not NULL) under (k1, k2), replacing any value there.
 * Returns 0 or -ENOMEM. */
int map_put(struct map *m, uint64_t k1, uint64_t k2, void *val);

/* Remove (k1, k2); returns the value it had, or NULL. */
void *map_del(struct map *m, uint64_t k1, uint64_t k2);

/*
 * Iterate: start with *pos = 0; returns the next value and sets *k1 and *k2
 * (either may be NULL), or NULL at the end.  The map must not change
 * during the iteration.
 */
void *map_next(const struct map *m, size_t *pos, uint64_t *k1, uint64_t *k2);

/* Free the slots; the map is empty again. */
void map_release(struct map *m);

#endif /* CRASHFS_MAP_H */
