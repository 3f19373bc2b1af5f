/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Path tracker (see names.h).  Two tables: the files (id -> node, with the
 * list of the entries that name it) and the directory entries ((parent,
 * hash of name) -> chain of entries, for records that name an entry but
 * not its file).  Every entry is owned by the node of the file it names.
 *
 * Paths are built right to left into the caller's buffer, walking parent
 * ids towards the root; the walk takes at most one step per known file,
 * so a loop of parents ends, and is then shown as "<id N>".
 */
#include "core/names.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/util.h"

struct names_entry {
	uint64_t parent;	       /* directory holding the entry */
	uint64_t id;		       /* file it names */
	struct names_entry *hash_next; /* next entry with the same key */
	struct names_entry *sibling;   /* next name of the same file */
	char name[];		       /* NUL-terminated */
};

struct names_node {
	uint64_t id;		   /* the file */
	struct names_entry *links; /* its names, oldest first */
	uint64_t last_parent;	   /* directory of its last name ... */
	char *last_name;	   /* ... once that is gone, else NULL */
};

static uint64_t name_hash(const char *name)
{
	return XXH3_64bits(name, strlen(name));
}

static struct names_entry *find_entry(const struct names *nm, uint64_t parent,
				      const char *name)
{
	struct names_entry *e = map_get(&nm->entries, parent, name_hash(name));

	while (e && (e->parent != parent || strcmp(e->name, name)))
		e = e->hash_next;
	return e;
}

uint64_t names_lookup(const struct names *nm, uint64_t parent, const char *name)
{
	struct names_entry *e = name ? find_entry(nm, parent, name) : NULL;

	return e ? e->id : 0;
}

static struct names_node *get_node(struct names *nm, uint64_t id)
{
	struct names_node *n = map_get(&nm->nodes, id, 0);

	if (n)
		return n;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->id = id;
	if (map_put(&nm->nodes, id, 0, n) < 0) {
		free(n);
		return NULL;
	}
	return n;
}

/* Take e out of the entry table and out of its file's names; the file
 * remembers it as its last name if it was the only one.  Frees e. */
static void remove_entry(struct names *nm, struct names_entry *e)
{
	uint64_t key = name_hash(e->name);
	struct names_entry **pp, *head = map_get(&nm->entries, e->parent, key);
	struct names_node *n = map_get(&nm->nodes, e->id, 0);
	char *copy;

	if (head == e) {
		if (e->hash_next)
			map_put(&nm->entries, e->parent, key, e->hash_next);
		else
			map_del(&nm->entries, e->parent, key);
	} else {
		for (pp = &head->hash_next; *pp != e; pp = &(*pp)->hash_next)
			;
		*pp = e->hash_next;
	}
	for (pp = &n->links; *pp != e; pp = &(*pp)->sibling)
		;
	*pp = e->sibling;
	if (!n->links) {
		copy = strdup(e->name);
		if (copy) { /* without memory, keep the older last name */
			free(n->last_name);
			n->last_name = copy;
			n->last_parent = e->parent;
		}
	}
	free(e);
}

/* Make name in parent an entry for id, replacing whatever it named. */
static int add_entry(struct names *nm, uint64_t parent, const char *name,
		     uint64_t id)
{
	struct names_entry *e = find_entry(nm, parent, name), **pp;
	uint64_t key = name_hash(name);
	struct names_node *n;
	size_t len = strlen(name);

	if (e && e->id == id)
		return 0;
	n = get_node(nm, id);
	if (!n)
		return -ENOMEM;
	if (e)
		remove_entry(nm, e);
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	e->parent = parent;
	e->id = id;
	e->sibling = NULL;
	memcpy(e->name, name, len + 1);
	e->hash_next = map_get(&nm->entries, parent, key);
	if (map_put(&nm->entries, parent, key, e) < 0) {
		free(e);
		return -ENOMEM;
	}
	for (pp = &n->links; *pp; pp = &(*pp)->sibling)
		;
	*pp = e;
	return 0;
}

static int remove_name(struct names *nm, uint64_t parent, const char *name)
{
	struct names_entry *e = find_entry(nm, parent, name);

	if (e)
		remove_entry(nm, e);
	return 0;
}

static int apply_rename(struct names *nm, const struct trace_rec *rec)
{
	struct names_entry *src = find_entry(nm, rec->parent, rec->name);
	struct names_entry *dst = find_entry(nm, rec->parent2, rec->name2);
	uint64_t a = src ? src->id : rec->id;
	uint64_t b = dst ? dst->id : rec->id2;
	int err = 0;

	if (rec->oflags & RENAME_EXCHANGE) {
		if (src && src == dst)
			return 0;
		if (src)
			remove_entry(nm, src);
		if (dst)
			remove_entry(nm, dst);
		if (a)
			err = add_entry(nm, rec->parent2, rec->name2, a);
		if (b && !err)
			err = add_entry(nm, rec->parent, rec->name, b);
		return err;
	}
	/* two names of one file: rename(2) does nothing */
	if (src && dst && src->id == dst->id)
		return 0;
	if (src)
		remove_entry(nm, src);
	if (a)
		return add_entry(nm, rec->parent2, rec->name2, a);
	return remove_name(nm, rec->parent2, rec->name2);
}

int names_apply(struct names *nm, const struct trace_rec *rec)
{
	if (rec->result < 0)
		return 0;
	switch (rec->type) {
	case TR_BIND:
		if (rec->id == TRACE_ROOT_ID || !rec->name)
			return 0;
		/* fall through */
	case TR_CREATE:
	case TR_MKNOD:
	case TR_MKDIR:
	case TR_SYMLINK:
	case TR_LINK:
		if (!rec->id || !rec->name)
			return 0;
		return add_entry(nm, rec->parent, rec->name, rec->id);
	case TR_UNLINK:
	case TR_RMDIR:
		return rec->name ? remove_name(nm, rec->parent, rec->name) : 0;
	case TR_RENAME:
		if (!rec->name || !rec->name2)
			return 0;
		return apply_rename(nm, rec);
	default: return 0;
	}
}

/* ---- paths ----------------------------------------------------------- */

#define CUT_MARK ".../"

/* A path being built right to left at the end of buf. */
struct pbuf {
	char *buf;    /* the caller's buffer */
	size_t pos;   /* the path starts at buf[pos] */
	size_t floor; /* room kept at the start for CUT_MARK */
	bool cut;     /* a component did not fit */
};

static void pb_init(struct pbuf *b, char *buf, size_t len)
{
	b->buf = buf;
	b->pos = len - 1;
	b->floor = sizeof(CUT_MARK) - 1;
	b->cut = false;
	buf[len - 1] = '\0';
}

static bool prepend(struct pbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->cut || b->pos < b->floor + n) {
		b->cut = true;
		return false;
	}
	b->pos -= n;
	memcpy(b->buf + b->pos, s, n);
	return true;
}

static bool prepend_id(struct pbuf *b, uint64_t id)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "<id %" PRIu64 ">", id);
	return prepend(b, tmp);
}

/* Move the path to the start of buf, after CUT_MARK if it was cut. */
static const char *pb_finish(struct pbuf *b)
{
	size_t len = strlen(b->buf + b->pos) + 1;

	if (b->cut) {
		b->pos -= b->floor;
		memcpy(b->buf + b->pos, CUT_MARK, b->floor);
		len += b->floor;
	}
	memmove(b->buf, b->buf + b->pos, len);
	return b->buf;
}

/*
 * Prepend the components of id's path, from id up to (not including) the
 * root, each followed by '/' when more comes after it.  Returns false on a
 * loop of parents.
 */
static bool walk(const struct names *nm, uint64_t id, struct pbuf *b, bool more)
{
	size_t steps = nm->nodes.len + 2;
	const struct names_node *n;
	const char *name;
	uint64_t parent;

	for (; id != TRACE_ROOT_ID; id = parent) {
		if (steps-- == 0)
			return false;
		if (more && !prepend(b, "/"))
			return true;
		more = true;
		n = map_get(&nm->nodes, id, 0);
		name = !n ? NULL : n->links ? n->links->name : n->last_name;
		if (!name) {
			prepend_id(b, id);
			return true;
		}
		parent = n->links ? n->links->parent : n->last_parent;
		if (!(util_name_ok(name) ? prepend(b, name)
					 : prepend_id(b, id)))
			return true;
	}
	return true;
}

const char *names_path(const struct names *nm, uint64_t id, char *buf,
		       size_t len)
{
	const struct names_node *n = map_get(&nm->nodes, id, 0);
	struct pbuf b;

	pb_init(&b, buf, len);
	if (id == TRACE_ROOT_ID) {
		prepend(&b, "/");
		return pb_finish(&b);
	}
	if (n && !n->links && n->last_name)
		prepend(&b, " (deleted)");
	if (!walk(nm, id, &b, false)) {
		pb_init(&b, buf, len);
		prepend_id(&b, id);
	}
	return pb_finish(&b);
}

const char *names_entry_path(const struct names *nm, uint64_t parent,
			     const char *name, char *buf, size_t len)
{
	const char *shown = name && util_name_ok(name) ? name : "<bad name>";
	struct pbuf b;

	pb_init(&b, buf, len);
	prepend(&b, shown);
	if (!walk(nm, parent, &b, true)) {
		pb_init(&b, buf, len);
		prepend(&b, shown);
		prepend(&b, "/");
		prepend_id(&b, parent);
	}
	return pb_finish(&b);
}

void names_release(struct names *nm)
{
	struct names_node *n;
	struct names_entry *e, *next;
	size_t pos = 0;

	while ((n = map_next(&nm->nodes, &pos, NULL, NULL))) {
		for (e = n->links; e; e = next) {
			next = e->sibling;
			free(e);
		}
		free(n->last_name);
		free(n);
	}
	map_release(&nm->nodes);
	map_release(&nm->entries);
}
