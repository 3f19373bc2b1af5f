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
 * smaller of the two sizes.  That prefix is copied
 * from the old bytes, the rest read from the model, and the result
 * becomes the new copy.  Copies are found by node (a map), but only the
 * extents decide what is reused.
 */
#include "harness/fcopy.h"
#include "core/map.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct copy {
	struct extent *ext; /* the extents the bytes were made from, owned */
	size_t n_ext;	    /* how many */
	uint64_t size;	    /* the size they were made at */
	char *data;	    /* size bytes, owned */
};

struct fcopy {
	struct map bynode; /* mnode -> struct copy */
	uint64_t total;	   /* bytes of data held */
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

const char *fcopy_content(struct fcopy *c, struct model *m,
			  const struct mnode *n, int *err)
{
	struct copy *k = map_get(&c->bynode, (uint64_t)(uintptr_t)n, 0);
	const struct extent *e;
	struct model_stat st;
	struct extent *ext;
	uint64_t x;
	size_t ne;
	char *data;
	bool same;

	*err = 0;
	model_stat(n, &st);
	e = model_extents(n, &ne);
	if (st.size > FCOPY_FILE_MAX)
		return NULL;
	x = same_prefix(k, e, ne, st.size, &same);
	if (same)
		return k->data; /* the very same content */
	if (c->total - (k ? k->size : 0) + st.size > FCOPY_TOTAL_MAX) {
		drop_all(c); /* start again */
		k = NULL;
		x = 0;
	}
	data = malloc(st.size ? st.size : 1);
	ext = ne ? malloc(ne * sizeof(*e)) : NULL;
	if (!data || (ne && !ext))
		goto out_nomem;
	if (x)
		memcpy(data, k->data, x);
	if (st.size > x) {
		ssize_t got = model_read(m, n, x, data + x, st.size - x);

		if (got != (ssize_t)(st.size - x)) {
			*err = got < 0 ? (int)got : -EIO;
			free(data);
			free(ext);
			return NULL;
		}
		c->read += st.size - x;
	}
	if (ne)
		memcpy(ext, e, ne * sizeof(*e));
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k || map_put(&c->bynode, (uint64_t)(uintptr_t)n, 0, k)) {
			free(k);
			goto out_nomem;
		}
	}
	c->total = c->total - k->size + st.size;
	free(k->data);
	free(k->ext);
	k->data = data;
	k->ext = ext;
	k->n_ext = ne;
	k->size = st.size;
	return data;
out_nomem:
	free(data);
	free(ext);
	return NULL; /* not copied: the caller reads the model */
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
