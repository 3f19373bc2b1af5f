/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Content hashes (see content.h).  A regular file's hash is XXH3 over its
 * size and then the XXH3 of each CONTENT_BLOCK-byte block of its bytes,
 * so that a file is hashed a block at a time and a block's hash can be
 * remembered under the name of the extents that make it up.
 */
#include "core/content.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "core/map.h"

/* A regular file's last hash, and what it was computed from. */
struct file_memo {
	uint64_t trace;	 /* model_trace_hash() of its model */
	uint64_t size;	 /* size then */
	uint64_t extsum; /* model_extent_sum() then */
	uint64_t hash;	 /* its content hash */
};

struct content {
	struct map blocks;  /* block name (128 bits) -> hash (as a pointer) */
	struct map files;   /* mnode address -> struct file_memo (owned) */
	XXH3_state_t *name; /* for naming a block */
	XXH3_state_t *file; /* for hashing a file's block hashes */
	unsigned char *buf; /* CONTENT_BLOCK bytes, read buffer */
	uint64_t read;	    /* bytes read so far */
};

/* The cache stores a 64-bit hash as the map's pointer value. */
_Static_assert(sizeof(void *) >= sizeof(uint64_t), "64-bit pointers");

struct content *content_new(void)
{
	struct content *c = calloc(1, sizeof(*c));

	if (!c)
		goto out_oom;
	c->name = XXH3_createState();
	c->file = XXH3_createState();
	c->buf = malloc(CONTENT_BLOCK);
	if (!c->name || !c->file || !c->buf) {
		content_free(&c);
		goto out_oom;
	}
	return c;
out_oom:
	errno = ENOMEM;
	return NULL;
}

static void files_release(struct map *files)
{
	size_t pos = 0;
	struct file_memo *f;

	while ((f = map_next(files, &pos, NULL, NULL)))
		free(f);
	map_release(files);
}

void content_free(struct content **cp)
{
	struct content *c = *cp;

	if (!c)
		return;
	map_release(&c->blocks);
	files_release(&c->files);
	XXH3_freeState(c->name);
	XXH3_freeState(c->file);
	free(c->buf);
	free(c);
	*cp = NULL;
}

uint64_t content_bytes_read(const struct content *c)
{
	return c->read;
}

/* The hash of one block's bytes (never 0: the cache stores it as a
 * pointer, and 0 is NULL). */
static uint64_t block_hash(const void *buf, size_t len)
{
	uint64_t h = XXH3_64bits(buf, len);

	return h ? h : 1;
}

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t v[2] = {a, b};

	return XXH3_64bits(v, sizeof(v));
}

uint64_t content_hash_bytes(const void *buf, size_t len)
{
	XXH3_state_t *s = XXH3_createState();
	uint64_t size = len, h;

	if (!s) /* cannot happen in practice; hash without the state */
		return 0;
	XXH3_64bits_reset(s);
	XXH3_64bits_update(s, &size, sizeof(size));
	for (size_t off = 0; off < len; off += CONTENT_BLOCK) {
		size_t n =
		    len - off < CONTENT_BLOCK ? len - off : CONTENT_BLOCK;

		h = block_hash((const char *)buf + off, n);
		XXH3_64bits_update(s, &h, sizeof(h));
	}
	h = XXH3_64bits_digest(s);
	XXH3_freeState(s);
	return mix(S_IFREG, h);
}

/*
 * Name block [lo, hi) of a file whose extents are ext[0, next) (sorted,
 * disjoint), starting the walk at *i (the first extent that may reach
 * past lo; updated for the next block) of file n.  The name covers, for every piece
 * of an extent inside the block, its offset in the block, its length and
 * where its bytes come from: equal names mean equal bytes.
 */
static XXH128_hash_t block_name(struct content *c, uint64_t trace,
				const struct mnode *n, const struct extent *ext,
				size_t next, size_t *i, uint64_t lo,
				uint64_t hi)
{
	uint64_t head[2] = {trace, hi - lo};

	XXH3_128bits_reset(c->name);
	XXH3_128bits_update(c->name, head, sizeof(head));
	while (*i < next && ext[*i].off + ext[*i].len <= lo)
		(*i)++;
	for (size_t k = *i; k < next && ext[k].off < hi; k++) {
		const struct extent *e = &ext[k];
		uint64_t a = e->off > lo ? e->off : lo;
		uint64_t b = e->off + e->len < hi ? e->off + e->len : hi;
		uint64_t v[5];

		if (a >= b)
			continue;
		v[0] = a - lo;
		v[1] = b - a;
		v[2] = e->src + (a - e->off);
		v[3] = e->kind;
		v[4] = model_extent_tag(n, e);
		XXH3_128bits_update(c->name, v, sizeof(v));
	}
	return XXH3_128bits_digest(c->name);
}

/* The hash of block [lo, hi) of n: from the cache, or read. */
static int block_get(struct content *c, struct model *m, const struct mnode *n,
		     XXH128_hash_t name, uint64_t lo, uint64_t hi,
		     uint64_t *out)
{
	void *v = map_get(&c->blocks, name.low64, name.high64);
	ssize_t got;

	if (v) {
		*out = (uint64_t)(uintptr_t)v;
		return 0;
	}
	got = model_read(m, n, lo, c->buf, hi - lo);
	if (got < 0)
		return (int)got;
	if ((uint64_t)got != hi - lo)
		return -EIO;
	c->read += (uint64_t)got;
	*out = block_hash(c->buf, (size_t)got);
	if (c->blocks.len >= CONTENT_CACHE_MAX)
		map_release(&c->blocks);
	if (map_put(&c->blocks, name.low64, name.high64,
		    (void *)(uintptr_t)*out))
		return -ENOMEM;
	return 0;
}

static int file_hash(struct content *c, struct model *m, struct mnode *n,
		     uint64_t *out)
{
	struct model_stat st;
	uint64_t trace = model_trace_hash(m), extsum = model_extent_sum(n);
	struct file_memo *f = map_get(&c->files, (uintptr_t)n, 0);
	const struct extent *ext;
	size_t next, i = 0;
	int err;

	model_stat(n, &st);
	if (f && f->trace == trace && f->size == st.size &&
	    f->extsum == extsum) {
		*out = f->hash;
		return 0;
	}
	ext = model_extents(n, &next);
	XXH3_64bits_reset(c->file);
	XXH3_64bits_update(c->file, &st.size, sizeof(st.size));
	for (uint64_t lo = 0; lo < st.size; lo += CONTENT_BLOCK) {
		uint64_t hi =
		    st.size - lo < CONTENT_BLOCK ? st.size : lo + CONTENT_BLOCK;
		XXH128_hash_t name =
		    block_name(c, trace, n, ext, next, &i, lo, hi);
		uint64_t h;

		err = block_get(c, m, n, name, lo, hi, &h);
		if (err)
			return err;
		XXH3_64bits_update(c->file, &h, sizeof(h));
	}
	*out = XXH3_64bits_digest(c->file);
	if (!f) {
		f = malloc(sizeof(*f));
		if (!f || map_put(&c->files, (uintptr_t)n, 0, f)) {
			free(f);
			return -ENOMEM;
		}
	}
	*f = (struct file_memo){trace, st.size, extsum, *out};
	return 0;
}

int content_hash(struct content *c, struct model *m, struct mnode *n,
		 uint64_t *out)
{
	struct model_stat st;
	uint64_t h = 0;
	int err;

	model_stat(n, &st);
	if (S_ISREG(st.mode)) {
		err = file_hash(c, m, n, &h);
		if (err)
			return err;
	} else if (S_ISLNK(st.mode)) {
		const char *t = model_symlink(n);

		h = XXH3_64bits(t, t ? strlen(t) : 0);
	} else if (S_ISDIR(st.mode)) {
		void *cookie = NULL;
		const char *name;
		struct mnode *ch;

		while ((ch = model_readdir(n, &cookie, &name))) {
			uint64_t v;

			err = content_hash(c, m, ch, &v);
			if (err)
				return err;
			h += mix(XXH3_64bits(name, strlen(name)), v);
		}
	} else if (S_ISCHR(st.mode) || S_ISBLK(st.mode)) {
		h = st.rdev;
	}
	*out = mix(st.mode & S_IFMT, h);
	return 0;
}
