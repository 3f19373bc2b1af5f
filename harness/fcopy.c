/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Copies of file contents kept in memory (see fcopy.h).
 *
 * Method: a copy is (size, extents, bytes) of a file as it was last
 * asked for.  Asked for the file again, the extents are compared from
 * the first one on; while they are equal, so are the bytes they cover
 * and the zeros between them, up to the first extent that differs (in
 * either list; an extent at the same offset from the same source but
 * of another length still agrees over their common length) or the
 * smaller of the two sizes.  That prefix stays where it is, the rest is
 * read from the model over the old bytes (the buffer grows by doubling),
 * and the result is the new copy.  Copies are found by node (a map), but only the
 * extents decide what is reused.
 */
#include "harness/fcopy.h"
#include "core/map.h"

#include <errno.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct copy {
	struct extent *ext; /* the extents the bytes were made from, owned */
	size_t n_ext;	    /* how many */
	size_t ext_cap;	    /* room in ext */
	uint64_t size;	    /* the size they were made at */
	char *data;	    /* size bytes, owned */
	size_t cap;	    /* room in data */
};

struct fcopy {
	struct map bynode; /* mnode -> struct copy */
	uint64_t total;	   /* bytes of data allocated */
	uint64_t read;	   /* bytes read from the model */
};

struct fcopy *fcopy_new(void)
{
	return calloc(1, sizeof(struct fcopy));
}

static void copy_free(struct copy *k)
{
	if (!k)
		return;
	free(k->ext);
	free(k->data);
	free(k);
}

static void drop_all(struct fcopy *c)
{
	size_t pos = 0;
	void *v;

	while ((v = map_next(&c->bynode, &pos, NULL, NULL)))
		copy_free(v);
	map_release(&c->bynode);
	c->total = 0;
}

static bool ext_equal(const struct extent *a, const struct extent *b)
{
	return a->off == b->off && a->len == b->len && a->src == b->src &&
	       a->kind == b->kind && a->from == b->from;
}

/* The same bytes from the same offset on, perhaps not as many. */
static bool same_start(const struct extent *a, const struct extent *b)
{
	return a->off == b->off && a->src == b->src && a->kind == b->kind &&
	       a->from == b->from;
}

/* How many leading bytes of a file of size `size` with extents e[ne]
 * the copy k holds exactly (0 without a copy); *all: every extent and
 * the size agree. */
static uint64_t same_prefix(const struct copy *k, const struct extent *e,
			    size_t ne, uint64_t size, bool *all)
{
	size_t i = 0;
	uint64_t x;

	*all = false;
	if (!k)
		return 0;
	while (i < ne && i < k->n_ext && ext_equal(&e[i], &k->ext[i]))
		i++;
	x = size < k->size ? size : k->size;
	if (i < ne && i < k->n_ext && same_start(&e[i], &k->ext[i])) {
		/* an extent cut short or grown: its common part is equal */
		uint64_t l =
		    e[i].len < k->ext[i].len ? e[i].len : k->ext[i].len;

		if (e[i].off + l < x)
			x = e[i].off + l;
	} else {
		if (i < k->n_ext && k->ext[i].off < x)
			x = k->ext[i].off;
		if (i < ne && e[i].off < x)
			x = e[i].off;
	}
	*all = i == ne && i == k->n_ext && size == k->size;
	return x;
}

/* The room to make for `need` elements in a buffer of cap: need, or
 * twice cap when that is more, but no more than max unless need is. */
static size_t grown(size_t cap, size_t need, size_t max)
{
	size_t n = cap * 2 > need ? cap * 2 : need;

	if (need <= cap)
		return cap;
	return n > max && need <= max ? max : n;
}

/* Room for `need` elements of size sz in *p (of *cap), grown as grown()
 * says.  False when out of memory (*p kept). */
static bool room(void **p, size_t *cap, size_t need, size_t sz, size_t max)
{
	size_t n = grown(*cap, need, max);
	void *q;

	if (n == *cap)
		return true;
	q = realloc(*p, (n ? n : 1) * sz);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

/* Forget n's copy. */
static void drop(struct fcopy *c, const struct mnode *n, struct copy *k)
{
	map_del(&c->bynode, (uint64_t)(uintptr_t)n, 0);
	c->total -= k->cap;
	copy_free(k);
}

const char *fcopy_content(struct fcopy *c, struct model *m,
			  const struct mnode *n, int *err)
{
	struct copy *k = map_get(&c->bynode, (uint64_t)(uintptr_t)n, 0);
	const struct extent *e;
	struct model_stat st;
	size_t ne, cap;
	uint64_t x;
	bool same;

	*err = 0;
	model_stat(n, &st);
	e = model_extents(n, &ne);
	if (st.size > FCOPY_FILE_MAX)
		return NULL;
	x = same_prefix(k, e, ne, st.size, &same);
	if (same)
		return k->data; /* the very same content */
	if (c->total - (k ? k->cap : 0) +
		grown(k ? k->cap : 0, st.size, FCOPY_FILE_MAX) >
	    FCOPY_TOTAL_MAX) {
		drop_all(c); /* start again */
		k = NULL;
		x = 0;
	}
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k || map_put(&c->bynode, (uint64_t)(uintptr_t)n, 0, k)) {
			free(k);
			return NULL; /* not copied: the caller reads the model */
		}
	}
	cap = k->cap;
	if (!room((void **)&k->data, &k->cap, st.size, 1, FCOPY_FILE_MAX) ||
	    !room((void **)&k->ext, &k->ext_cap, ne, sizeof(*e), SIZE_MAX)) {
		c->total += k->cap - cap;
		drop(c, n, k);
		return NULL;
	}
	c->total += k->cap - cap;
	/* the bytes before x stay; from here on the copy is n's */
	k->size = 0;
	k->n_ext = 0;
	if (st.size > x) {
		ssize_t got = model_read(m, n, x, k->data + x, st.size - x);

		if (got != (ssize_t)(st.size - x)) {
			*err = got < 0 ? (int)got : -EIO;
			drop(c, n, k);
			return NULL;
		}
		c->read += st.size - x;
	}
	if (ne)
		memcpy(k->ext, e, ne * sizeof(*e));
	k->n_ext = ne;
	k->size = st.size;
	return k->data;
}

uint64_t fcopy_model_bytes(const struct fcopy *c)
{
	return c->read;
}

void fcopy_free(struct fcopy **cp)
{
	struct fcopy *c = *cp;

	if (!c)
		return;
	*cp = NULL;
	drop_all(c);
	free(c);
}
