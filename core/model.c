/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The in-memory tree model: inodes, directory entries, extents, the undo
 * log, and the loader that scans the initial image and checks and replays
 * a trace.  See model.h for the interface.
 *
 * Directory entries of every directory live in one hash map keyed by
 * (directory, XXH3 of the name); each directory also chains its entries
 * in creation order for listing.  Every change to an entry or an inode
 * made while the undo log is on is recorded: entries as (dir, name, old
 * child), inodes as a snapshot of their attributes and extent array taken
 * the first time they change after the last mark.
 */
#include "core/model.h"
#include "core/livecut.h"
#include "core/map.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <xxhash.h>

#define SYNTH_ID (1ULL << 63) /* ids of initial files not yet bound */

struct mentry {
	struct mnode *dir;	    /* directory holding the entry */
	struct mnode *child;	    /* what the name points at */
	char *name;		    /* owned */
	uint64_t h;		    /* XXH3 of name */
	struct mentry *prev, *next; /* the directory's list */
	struct mentry *hnext;	    /* same (dir, h) in the map */
};

struct mxattr {
	char *name;	 /* owned */
	const void *val; /* into the trace, or vown */
	void *vown;	 /* owned copy (initial image) */
	uint32_t len;
};

/* The mutable part of an inode (what the undo log snapshots). */
struct mstate {
	uint32_t mode, uid, gid;
	uint64_t size;
	struct extent *ext; /* sorted, disjoint, owned */
	uint32_t next, ext_cap;
	struct mxattr *xa; /* owned array, names owned */
	uint32_t nxa;
	uint64_t extsum; /* sum of ext_hash() of the extents */
};

struct mnode {
	uint64_t id;	    /* trace id, or SYNTH_ID | n before binding */
	uint64_t rdev;	    /* mknod */
	char *target;	    /* symlink target, owned */
	struct mstate st;   /* current attributes and content */
	struct mstate init; /* as in the initial image / at creation */
	bool in_init;	    /* exists in the initial image */
	char *init_path;    /* path in the initial image, owned */
	uint64_t init_tag;  /* XXH3 of init_path: names it in hashes */
	int init_fd;	    /* opened lazily, -1 */
	uint32_t nlink;	    /* entries pointing here */
	const struct mnode *hint_dir; /* last directory it was named in */
	const char *hint_name;	      /* and the name (owned by an op or
				   init_ents) */
	struct mentry *head, *tail;   /* directory entries */
	uint64_t gen;		      /* bumped on every change */
	uint64_t hash_gen;	      /* gen the cached hash was computed at */
	uint64_t hash;		      /* cached model_hash() */
	uint64_t undo_epoch;	      /* epoch of the last scalar snapshot */
	uint64_t xa_epoch;	      /* epoch of the last xattr snapshot */
	uint64_t scratch[MODEL_SCRATCH]; /* for persist and explore */
};

enum undo_kind { U_ADD, U_DEL, U_NODE, U_EXT, U_XATTR };

struct undo {
	enum undo_kind kind;
	struct mnode *dir;	 /* U_ADD/U_DEL */
	char *name;		 /* U_DEL: owned copy */
	struct mnode *child;	 /* U_DEL */
	struct mnode *node;	 /* U_NODE, U_EXT, U_XATTR */
	uint32_t mode, uid, gid; /* U_NODE: the scalars before */
	uint64_t size;
	uint32_t idx, nnew, nold; /* U_EXT: at idx, nnew extents */
	struct extent *old;	  /* replaced nold (owned) */
	uint64_t extsum;	  /* U_EXT: the sum before */
	struct mxattr *xa;	  /* U_XATTR: the array before (owned) */
	uint32_t nxa;
};

/* An entry of the initial image. */
struct init_ent {
	struct mnode *dir, *node;
	char *name; /* owned */
};

struct model {
	struct trace_reader *r;
	struct trace_header hdr;
	bool truncated;
	uint64_t trace_hash;	  /* XXH3 of the trace file */
	int trace_fd;		  /* the trace, to read data (pread) */
	const unsigned char *map; /* the reader's mapping of the trace */
	uint64_t map_size;	  /* its size */
	uint64_t released;	  /* mapped pages given back below this */
	int init_dirfd;		  /* -1 for an empty image */
	struct model_op *ops;
	size_t nops, ops_cap;
	struct map ids;	    /* trace id -> mnode */
	struct map entries; /* (dir, name hash) -> mentry */
	struct map initmap; /* (dir, name hash) -> index + 1 in init_ents */
	struct init_ent *init_ents; /* the initial image's entries */
	size_t ninit, init_cap;
	struct map inos;      /* (st_ino, st_dev) -> mnode while scanning */
	struct mnode **nodes; /* every node, for reset and free */
	size_t nnodes, nodes_cap;
	struct mnode *root;
	uint64_t next_synth;
	uint64_t gen;
	bool logging;	/* undo log on */
	uint64_t epoch; /* bumped by model_mark() */
	struct undo *log;
	size_t nlog, log_cap;
	char *err; /* loader message */
	size_t errlen;
	bool vis_ok;	  /* the tree is the visible state after vis_seq ... */
	uint64_t vis_seq; /* ... and nothing else has changed it since */
	size_t vis_next;  /* index of the first op after vis_seq */
};

/* ---- small helpers ------------------------------------------------ */

static uint64_t name_hash(const char *name)
{
	return XXH3_64bits(name, strlen(name));
}

static bool is_dir(const struct mnode *n)
{
	return n && S_ISDIR(n->st.mode);
}

static bool is_reg(const struct mnode *n)
{
	return n && S_ISREG(n->st.mode);
}

static void touch(struct model *m, struct mnode *n)
{
	n->gen = ++m->gen;
}

static struct mnode *node_new(struct model *m, uint64_t id, uint32_t mode)
{
	struct mnode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	if (m->nnodes == m->nodes_cap) {
		size_t cap = m->nodes_cap ? 2 * m->nodes_cap : 64;
		struct mnode **p = realloc(m->nodes, cap * sizeof(*p));

		if (!p) {
			free(n);
			return NULL;
		}
		m->nodes = p;
		m->nodes_cap = cap;
	}
	if (map_put(&m->ids, id, 0, n)) {
		free(n);
		return NULL;
	}
	m->nodes[m->nnodes++] = n;
	n->id = id;
	n->init_fd = -1;
	n->st.mode = n->init.mode = mode;
	n->gen = ++m->gen;
	return n;
}

static void xattrs_free(struct mxattr *xa, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		free(xa[i].name);
		free(xa[i].vown);
	}
	free(xa);
}

/* Deep copy of an mstate (extents and xattr names; initial-image values
 * are shared with src through val, never through vown). */
static int state_copy(struct mstate *dst, const struct mstate *src)
{
	*dst = *src;
	dst->ext = NULL;
	dst->xa = NULL;
	dst->ext_cap = src->next;
	if (src->next) {
		dst->ext = malloc(src->next * sizeof(*dst->ext));
		if (!dst->ext)
			return -ENOMEM;
		memcpy(dst->ext, src->ext, src->next * sizeof(*dst->ext));
	}
	if (src->nxa) {
		dst->xa = calloc(src->nxa, sizeof(*dst->xa));
		if (!dst->xa)
			goto out_ext;
		for (uint32_t i = 0; i < src->nxa; i++) {
			dst->xa[i].name = strdup(src->xa[i].name);
			dst->xa[i].val = src->xa[i].val;
			dst->xa[i].len = src->xa[i].len;
			if (!dst->xa[i].name) {
				xattrs_free(dst->xa, i);
				goto out_ext;
			}
		}
	}
	return 0;
out_ext:
	free(dst->ext);
	return -ENOMEM;
}

static void state_release(struct mstate *s)
{
	free(s->ext);
	xattrs_free(s->xa, s->nxa);
	s->ext = NULL;
	s->xa = NULL;
	s->next = s->ext_cap = s->nxa = 0;
}

static void oom(void)
{
	util_err("out of memory");
	abort();
}

static void log_push(struct model *m, const struct undo *u)
{
	if (m->nlog == m->log_cap) {
		size_t cap = m->log_cap ? 2 * m->log_cap : 256;
		struct undo *p = realloc(m->log, cap * sizeof(*p));

		if (!p)
			oom();
		m->log = p;
		m->log_cap = cap;
	}
	m->log[m->nlog++] = *u;
}

/* Call before changing n's mode, owner or size. */
static void node_will_change(struct model *m, struct mnode *n)
{
	struct undo u = {.kind = U_NODE,
			 .node = n,
			 .mode = n->st.mode,
			 .uid = n->st.uid,
			 .gid = n->st.gid,
			 .size = n->st.size};

	touch(m, n);
	if (!m->logging || n->undo_epoch == m->epoch)
		return;
	n->undo_epoch = m->epoch;
	log_push(m, &u);
}

/* Call before changing n's xattrs. */
static void xattrs_will_change(struct model *m, struct mnode *n)
{
	struct undo u = {.kind = U_XATTR, .node = n};
	struct mstate tmp = {.xa = n->st.xa, .nxa = n->st.nxa};
	struct mstate copy;

	touch(m, n);
	if (!m->logging || n->xa_epoch == m->epoch)
		return;
	n->xa_epoch = m->epoch;
	if (state_copy(&copy, &tmp))
		oom();
	u.xa = copy.xa;
	u.nxa = copy.nxa;
	log_push(m, &u);
}

/* ---- directory entries -------------------------------------------- */

static struct mentry *entry_find(const struct model *m, const struct mnode *dir,
				 const char *name, uint64_t h)
{
	struct mentry *e = map_get(&m->entries, (uint64_t)(uintptr_t)dir, h);

	for (; e; e = e->hnext)
		if (!strcmp(e->name, name))
			return e;
	return NULL;
}

struct mnode *model_lookup(const struct model *m, const struct mnode *dir,
			   const char *name)
{
	struct mentry *e;

	if (!is_dir(dir) || !name)
		return NULL;
	e = entry_find(m, dir, name, name_hash(name));
	return e ? e->child : NULL;
}

static void entry_add(struct model *m, struct mnode *dir, const char *name,
		      struct mnode *child)
{
	uint64_t h = name_hash(name);
	struct mentry *e = calloc(1, sizeof(*e));
	struct undo u = {.kind = U_ADD, .dir = dir};

	if (!e || !(e->name = strdup(name)))
		oom();
	e->dir = dir;
	e->child = child;
	e->h = h;
	e->hnext = map_get(&m->entries, (uint64_t)(uintptr_t)dir, h);
	if (map_put(&m->entries, (uint64_t)(uintptr_t)dir, h, e))
		oom();
	e->prev = dir->tail;
	if (dir->tail)
		dir->tail->next = e;
	else
		dir->head = e;
	dir->tail = e;
	child->nlink++;
	touch(m, child);
	touch(m, dir);
	if (m->logging) {
		if (!(u.name = strdup(name)))
			oom();
		log_push(m, &u);
	}
}

/* Remove an entry; returns its child. */
static struct mnode *entry_del(struct model *m, struct mnode *dir,
			       const char *name)
{
	uint64_t h = name_hash(name);
	struct mentry *e = entry_find(m, dir, name, h), *head, **pp;
	struct mnode *child;
	struct undo u = {.kind = U_DEL, .dir = dir};

	if (!e)
		return NULL;
	head = map_get(&m->entries, (uint64_t)(uintptr_t)dir, h);
	if (head == e) {
		if (e->hnext)
			map_put(&m->entries, (uint64_t)(uintptr_t)dir, h,
				e->hnext);
		else
			map_del(&m->entries, (uint64_t)(uintptr_t)dir, h);
	} else {
		for (pp = &head->hnext; *pp != e; pp = &(*pp)->hnext)
			;
		*pp = e->hnext;
	}
	if (e->prev)
		e->prev->next = e->next;
	else
		dir->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		dir->tail = e->prev;
	child = e->child;
	child->nlink--;
	touch(m, child);
	touch(m, dir);
	if (m->logging) {
		u.name = e->name; /* ownership moves to the log */
		u.child = child;
		log_push(m, &u);
	} else {
		free(e->name);
	}
	free(e);
	return child;
}

/* ---- extents ------------------------------------------------------ */

static void ext_reserve(struct mstate *s, uint32_t more)
{
	uint32_t cap;
	struct extent *p;

	if (s->next + more <= s->ext_cap)
		return;
	cap = s->ext_cap ? 2 * s->ext_cap : 4;
	while (cap < s->next + more)
		cap *= 2;
	p = realloc(s->ext, cap * sizeof(*p));
	if (!p)
		oom();
	s->ext = p;
	s->ext_cap = cap;
}

static uint64_t ext_hash(const struct extent *e)
{
	uint64_t v[5] = {e->off, e->len, e->src, e->kind,
			 e->from ? e->from->init_tag : 0};

	return XXH3_64bits(v, sizeof(v));
}

/* Index of the first extent ending after off. */
static uint32_t ext_first(const struct mstate *s, uint64_t off)
{
	uint32_t lo = 0, hi = s->next;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (s->ext[mid].off + s->ext[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Replace ext[i, j) of s by the n extents at rep. */
static void ext_splice(struct mstate *s, uint32_t i, uint32_t j,
		       const struct extent *rep, uint32_t n)
{
	for (uint32_t k = i; k < j; k++)
		s->extsum -= ext_hash(&s->ext[k]);
	if (n > j - i)
		ext_reserve(s, n - (j - i));
	if (s->next > j)
		memmove(&s->ext[i + n], &s->ext[j],
			(s->next - j) * sizeof(*s->ext));
	s->next = s->next - (j - i) + n;
	for (uint32_t k = 0; k < n; k++) {
		s->ext[i + k] = rep[k];
		s->extsum += ext_hash(&rep[k]);
	}
}

/* Replace whatever covers [a, b) of n by ins (NULL: a hole), logging the
 * change for model_rollback(). */
static void ext_put(struct model *m, struct mnode *n, uint64_t a, uint64_t b,
		    const struct extent *ins)
{
	struct mstate *s = &n->st;
	struct extent rep[3];
	uint32_t i, j, nr = 0;
	struct undo u = {.kind = U_EXT, .node = n, .extsum = s->extsum};

	if (a >= b)
		return;
	i = ext_first(s, a);
	for (j = i; j < s->next && s->ext[j].off < b; j++)
		;
	if (i == j && !ins)
		return;
	if (i < j && s->ext[i].off < a) {
		rep[nr] = s->ext[i];
		rep[nr++].len = a - s->ext[i].off;
	}
	if (ins)
		rep[nr++] = *ins;
	if (i < j && s->ext[j - 1].off + s->ext[j - 1].len > b) {
		const struct extent *e = &s->ext[j - 1];

		rep[nr] = *e;
		rep[nr].off = b;
		rep[nr].src = e->src + (b - e->off);
		rep[nr++].len = e->off + e->len - b;
	}
	if (m->logging) {
		u.idx = i;
		u.nnew = nr;
		u.nold = j - i;
		if (j > i) {
			u.old = malloc((j - i) * sizeof(*u.old));
			if (!u.old)
				oom();
			memcpy(u.old, &s->ext[i], (j - i) * sizeof(*u.old));
		}
		log_push(m, &u);
	}
	ext_splice(s, i, j, rep, nr);
}

/* ---- applying ops ------------------------------------------------- */

void model_apply_ns(struct model *m, const struct model_op *op)
{
	struct mnode *a, *b;

	m->vis_ok = false;
	if (op->result < 0)
		return;
	switch (op->type) {
	case TR_CREATE:
	case TR_MKNOD:
	case TR_MKDIR:
	case TR_SYMLINK:
	case TR_LINK: entry_add(m, op->dir, op->name, op->node); break;
	case TR_UNLINK:
	case TR_RMDIR: entry_del(m, op->dir, op->name); break;
	case TR_RENAME:
		if (op->oflags & RENAME_EXCHANGE) {
			a = entry_del(m, op->dir, op->name);
			b = entry_del(m, op->dir2, op->name2);
			if (a && b) {
				entry_add(m, op->dir2, op->name2, a);
				entry_add(m, op->dir, op->name, b);
			}
			break;
		}
		a = entry_del(m, op->dir, op->name);
		entry_del(m, op->dir2, op->name2);
		if (a)
			entry_add(m, op->dir2, op->name2, a);
		break;
	default: break;
	}
}

#define TEAR_PAGE 4096 /* the page cache's unit */

/* The middle multiple of unit strictly inside [off, off + len), or off
 * when there is none. */
static uint64_t mid_boundary(uint64_t off, uint64_t len, uint64_t unit)
{
	uint64_t first = off / unit + 1;	/* first boundary inside */
	uint64_t last = (off + len - 1) / unit; /* last boundary inside */

	if (first > last)
		return off;
	return (first + (last - first) / 2) * unit;
}

/*
 * The boundary splitting a write [off, off + len) for MV_HEAD/TAIL: its
 * middle page boundary when it crosses one (the kernel writes a file
 * back a page at a time, so a write over several pages most often
 * persists in part at a page boundary, and it is the only partial size
 * ext4's ordered mode can leave inside an extension: docs/crash-model.md
 * rule 4), else its middle sector boundary.  Returns off when the write
 * lies within one sector.
 */
static uint64_t tear_point(uint64_t off, uint64_t len, uint32_t sector)
{
	uint64_t t;

	if (!sector || !len)
		return off;
	if (sector < TEAR_PAGE && TEAR_PAGE % sector == 0) {
		t = mid_boundary(off, len, TEAR_PAGE);
		if (t != off)
			return t;
	}
	return mid_boundary(off, len, sector);
}

bool model_can_tear(uint64_t off, uint64_t len, uint32_t sector)
{
	return tear_point(off, len, sector) != off;
}

uint64_t model_tear_point(uint64_t off, uint64_t len, uint32_t sector)
{
	return tear_point(off, len, sector);
}

static void apply_write(struct model *m, const struct model_op *op,
			enum model_variant v, uint32_t sector)
{
	struct mstate *s = &op->node->st;
	uint64_t a = op->off, b = op->off + op->data_len, t;
	struct extent e = {.kind = EXT_TRACE};

	node_will_change(m, op->node);
	if (op->kept) {
		/* what a live power cut left of it (never torn further:
		 * every op before a cut is durable) */
		for (uint32_t i = 0; i < op->nkept; i++) {
			e.off = op->kept[i].off;
			e.len = op->kept[i].end - e.off;
			e.src = op->data_off + (e.off - op->off);
			ext_put(m, op->node, e.off, op->kept[i].end, &e);
		}
		if (op->kept_size > s->size)
			s->size = op->kept_size;
		return;
	}
	t = tear_point(a, b - a, sector);
	if (v == MV_HEAD && t != a)
		b = t;
	else if (v == MV_TAIL && t != a)
		a = t;
	if (v != MV_SIZE) {
		e.off = a;
		e.len = b - a;
		e.src = op->data_off + (a - op->off);
		ext_put(m, op->node, a, b, &e);
	}
	if (b > s->size)
		s->size = b;
}

static void apply_truncate(struct model *m, struct mnode *n, uint64_t len)
{
	node_will_change(m, n);
	if (len < n->st.size)
		ext_put(m, n, len, UINT64_MAX, NULL);
	n->st.size = len;
}

static void xattr_set(struct model *m, struct mnode *n, const char *name,
		      const void *val, uint32_t len, bool remove)
{
	struct mstate *s = &n->st;
	uint32_t i;

	xattrs_will_change(m, n);
	for (i = 0; i < s->nxa && strcmp(s->xa[i].name, name); i++)
		;
	if (remove) {
		if (i == s->nxa)
			return;
		free(s->xa[i].name);
		free(s->xa[i].vown);
		s->xa[i] = s->xa[--s->nxa];
		return;
	}
	if (i == s->nxa) {
		struct mxattr *p = realloc(s->xa, (s->nxa + 1) * sizeof(*p));

		if (!p)
			oom();
		s->xa = p;
		memset(&p[i], 0, sizeof(p[i]));
		if (!(p[i].name = strdup(name)))
			oom();
		s->nxa++;
	}
	free(s->xa[i].vown);
	s->xa[i].vown = NULL;
	s->xa[i].val = val;
	s->xa[i].len = len;
}

void model_apply_node(struct model *m, const struct model_op *op,
		      enum model_variant v, uint32_t sector)
{
	struct mnode *n = op->node;
	uint64_t end;

	m->vis_ok = false;
	if (op->result < 0 || !n)
		return;
	switch (op->type) {
	case TR_WRITE: apply_write(m, op, v, sector); break;
	case TR_TRUNCATE: apply_truncate(m, n, op->len); break;
	case TR_FALLOCATE:
		node_will_change(m, n);
		end = op->off + op->len;
		if (op->oflags & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
			ext_put(m, n, op->off,
				end < n->st.size ? end : n->st.size, NULL);
		if (!(op->oflags & FALLOC_FL_KEEP_SIZE) && end > n->st.size)
			n->st.size = end;
		break;
	case TR_COPY_RANGE:
		node_will_change(m, n);
		end = op->off + (uint64_t)op->result;
		ext_put(m, n, op->off, end, NULL);
		for (uint32_t i = 0; i < op->ncopy; i++)
			ext_put(m, n, op->copy[i].off,
				op->copy[i].off + op->copy[i].len,
				&op->copy[i]);
		if (op->result > 0 && end > n->st.size)
			n->st.size = end;
		break;
	case TR_SETATTR:
		node_will_change(m, n);
		if (op->oflags & TRA_MODE)
			n->st.mode = (n->st.mode & S_IFMT) | (op->mode & 07777);
		if (op->oflags & TRA_UID)
			n->st.uid = op->uid;
		if (op->oflags & TRA_GID)
			n->st.gid = op->gid;
		break;
	case TR_SETXATTR:
		xattr_set(m, n, op->name,
			  trace_reader_bytes(m->r, op->data_off, op->data_len),
			  op->data_len, false);
		break;
	case TR_REMOVEXATTR: xattr_set(m, n, op->name, NULL, 0, true); break;
	default: break;
	}
}

/* ---- undo log ------------------------------------------------------- */

size_t model_mark(struct model *m)
{
	m->logging = true;
	m->epoch++;
	return m->nlog;
}

void model_rollback(struct model *m, size_t mark)
{
	m->vis_ok = false;
	while (m->nlog > mark) {
		struct undo *u = &m->log[--m->nlog];
		bool was = m->logging;

		m->logging = false;
		switch (u->kind) {
		case U_ADD:
			entry_del(m, u->dir, u->name);
			free(u->name);
			break;
		case U_DEL:
			entry_add(m, u->dir, u->name, u->child);
			free(u->name);
			break;
		case U_NODE:
			u->node->st.mode = u->mode;
			u->node->st.uid = u->uid;
			u->node->st.gid = u->gid;
			u->node->st.size = u->size;
			touch(m, u->node);
			break;
		case U_EXT:
			ext_splice(&u->node->st, u->idx, u->idx + u->nnew,
				   u->old, u->nold);
			u->node->st.extsum = u->extsum;
			free(u->old);
			touch(m, u->node);
			break;
		case U_XATTR:
			xattrs_free(u->node->st.xa, u->node->st.nxa);
			u->node->st.xa = u->xa;
			u->node->st.nxa = u->nxa;
			touch(m, u->node);
			break;
		}
		m->logging = was;
	}
	m->epoch++; /* snapshots taken before are gone */
}

static void log_forget(struct model *m)
{
	for (size_t i = 0; i < m->nlog; i++) {
		if (m->log[i].kind == U_DEL || m->log[i].kind == U_ADD)
			free(m->log[i].name);
		else if (m->log[i].kind == U_EXT)
			free(m->log[i].old);
		else if (m->log[i].kind == U_XATTR)
			xattrs_free(m->log[i].xa, m->log[i].nxa);
	}
	m->nlog = 0;
	m->epoch++;
}

void model_commit(struct model *m)
{
	log_forget(m);
}

/* ---- reading ------------------------------------------------------ */

struct mnode *model_root(const struct model *m)
{
	return m->root;
}

struct mnode *model_node(const struct model *m, uint64_t id)
{
	return id ? map_get(&m->ids, id, 0) : NULL;
}

void model_stat(const struct mnode *n, struct model_stat *st)
{
	st->id = n->id & SYNTH_ID ? 0 : n->id;
	st->mode = n->st.mode;
	st->uid = n->st.uid;
	st->gid = n->st.gid;
	st->size = S_ISLNK(n->st.mode) && n->target ? strlen(n->target)
		   : S_ISREG(n->st.mode)	    ? n->st.size
						    : 0;
	st->rdev = n->rdev;
	st->nlink = n->nlink;
}

struct mnode *model_readdir(const struct mnode *dir, void **cookie,
			    const char **name)
{
	struct mentry *e =
	    *cookie ? ((struct mentry *)*cookie)->next : dir->head;

	*cookie = e;
	if (!e)
		return NULL;
	*name = e->name;
	return e->child;
}

int model_resolve(const struct model *m, const char *path, struct mnode **out)
{
	char buf[4096], *save = NULL, *tok;
	struct mnode *n = m->root;

	if (!path || strlen(path) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, path);
	for (tok = strtok_r(buf, "/", &save); tok;
	     tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, ".."))
			return -EINVAL;
		if (!is_dir(n))
			return -ENOTDIR;
		n = model_lookup(m, n, tok);
		if (!n)
			return -ENOENT;
	}
	*out = n;
	return 0;
}

/* Open the beneath-path p of the initial image without following any
 * symlink; -1 with errno set on failure. */
static int open_beneath(int dirfd, const char *p, int flags)
{
	char buf[4096], *save = NULL, *tok, *next;
	int fd = dup(dirfd), nfd;

	if (fd < 0)
		return -1;
	if (strlen(p) >= sizeof(buf)) {
		close(fd);
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, p);
	tok = strtok_r(buf, "/", &save);
	while (tok) {
		next = strtok_r(NULL, "/", &save);
		nfd = openat(fd, tok,
			     (next ? O_RDONLY | O_DIRECTORY : flags) |
				 O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (nfd < 0)
			return -1;
		fd = nfd;
		tok = next;
	}
	return fd;
}

static int init_fd(struct model *m, struct mnode *n)
{
	if (n->init_fd >= 0)
		return n->init_fd;
	if (m->init_dirfd < 0 || !n->init_path)
		return -EIO;
	n->init_fd = open_beneath(m->init_dirfd, n->init_path, O_RDONLY);
	return n->init_fd >= 0 ? n->init_fd : -EIO;
}

int model_extent_read(struct model *m, const struct mnode *n,
		      const struct extent *e, uint64_t skip, void *buf,
		      size_t len)
{
	ssize_t got;
	int fd;

	if (e->kind == EXT_TRACE) {
		/* by pread, not from the mapping: see release_trace() */
		for (size_t done = 0; done < len;) {
			got = pread(m->trace_fd, (char *)buf + done, len - done,
				    (off_t)(e->src + skip + done));
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				return got < 0 ? -errno : -EIO;
			done += (size_t)got;
		}
		return 0;
	}
	fd = init_fd(m, (struct mnode *)(e->from ? e->from : n));
	if (fd < 0)
		return fd;
	got = pread(fd, buf, len, (off_t)(e->src + skip));
	if (got < 0)
		return -errno;
	if ((size_t)got < len) /* the image changed under us */
		memset((char *)buf + got, 0, len - (size_t)got);
	return 0;
}

ssize_t model_read(struct model *m, const struct mnode *n, uint64_t off,
		   void *buf, size_t len)
{
	const struct mstate *s = &n->st;
	uint64_t end;
	int err;

	if (!S_ISREG(s->mode))
		return -EISDIR;
	if (off >= s->size)
		return 0;
	if (len > s->size - off)
		len = s->size - off;
	end = off + len;
	memset(buf, 0, len);
	for (uint32_t i = ext_first(s, off); i < s->next; i++) {
		const struct extent *e = &s->ext[i];
		uint64_t a = e->off > off ? e->off : off;
		uint64_t b = e->off + e->len < end ? e->off + e->len : end;

		if (e->off >= end)
			break;
		if (a >= b)
			continue;
		err = model_extent_read(m, n, e, a - e->off,
					(char *)buf + (a - off), b - a);
		if (err)
			return err;
	}
	return (ssize_t)len;
}

int model_read_all(struct model *m, const struct mnode *n, char **buf,
		   size_t *len)
{
	size_t size = S_ISREG(n->st.mode) ? n->st.size : 0;
	char *p = malloc(size + 1);
	ssize_t got;

	if (!p)
		return -ENOMEM;
	got = size ? model_read(m, n, 0, p, size) : 0;
	if (got < 0) {
		free(p);
		return (int)got;
	}
	p[got] = '\0';
	*buf = p;
	*len = (size_t)got;
	return 0;
}

const char *model_symlink(const struct mnode *n)
{
	return S_ISLNK(n->st.mode) ? n->target : NULL;
}

bool model_xattr(const struct mnode *n, size_t *i, const char **name,
		 const void **value, uint32_t *len)
{
	if (*i >= n->st.nxa)
		return false;
	*name = n->st.xa[*i].name;
	*value = n->st.xa[*i].val;
	*len = n->st.xa[*i].len;
	(*i)++;
	return true;
}

const struct extent *model_extents(const struct mnode *n, size_t *n_ext)
{
	*n_ext = n->st.next;
	return n->st.ext;
}

uint64_t model_extent_sum(const struct mnode *n)
{
	return n->st.extsum;
}

uint64_t model_extent_tag(const struct mnode *n, const struct extent *e)
{
	if (e->kind != EXT_INIT)
		return 0;
	return e->from ? e->from->init_tag : n->init_tag;
}

uint64_t *model_node_scratch(struct mnode *n)
{
	return n->scratch;
}

void model_clear_scratch(struct model *m)
{
	for (size_t i = 0; i < m->nnodes; i++)
		memset(m->nodes[i]->scratch, 0, sizeof(m->nodes[i]->scratch));
}

bool model_is_dir(const struct mnode *n)
{
	return is_dir(n);
}

bool model_is_reg(const struct mnode *n)
{
	return is_reg(n);
}

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t v[2] = {a, b};

	return XXH3_64bits(v, sizeof(v));
}

/*
 * A file's hash, without reading its data: the extents name where every
 * byte comes from (the trace or the initial image never change), so equal
 * extent sets mean equal bytes.  Equal bytes from different writes hash
 * differently: such states are checked twice, never merged wrongly.
 */
static uint64_t hash_file(const struct mnode *n)
{
	uint64_t v[8] = {n->st.mode, ((uint64_t)n->st.uid << 32) | n->st.gid,
			 n->nlink,   n->rdev,
			 0,	     0,
			 0,	     0};

	if (S_ISLNK(n->st.mode) && n->target)
		v[4] = XXH3_64bits(n->target, strlen(n->target));
	if (S_ISREG(n->st.mode)) {
		v[5] = n->st.size;
		v[6] = n->st.extsum;
	}
	for (uint32_t i = 0; i < n->st.nxa; i++)
		v[7] += mix(name_hash(n->st.xa[i].name),
			    XXH3_64bits(n->st.xa[i].val, n->st.xa[i].len));
	return XXH3_64bits(v, sizeof(v));
}

uint64_t model_hash(struct model *m, struct mnode *n)
{
	uint64_t h, sum = 0;

	if (!is_dir(n)) {
		if (n->hash_gen != n->gen || !n->gen) {
			n->hash = hash_file(n);
			n->hash_gen = n->gen;
		}
		return n->hash;
	}
	/* A directory's gen does not see changes below it: recurse. */
	for (struct mentry *e = n->head; e; e = e->next)
		sum += mix(name_hash(e->name), model_hash(m, e->child));
	for (uint32_t i = 0; i < n->st.nxa; i++)
		sum += mix(name_hash(n->st.xa[i].name),
			   XXH3_64bits(n->st.xa[i].val, n->st.xa[i].len));
	h = mix(sum, n->st.mode);
	return mix(h, ((uint64_t)n->st.uid << 32) | n->st.gid);
}

static bool find_path(const struct mnode *dir, const struct mnode *n, char *buf,
		      size_t len, size_t at, int depth)
{
	for (struct mentry *e = dir->head; e; e = e->next) {
		size_t l = strlen(e->name);

		if (at + l + 2 > len)
			continue;
		if (at)
			buf[at - 1] = '/';
		memcpy(buf + at, e->name, l + 1);
		if (e->child == n)
			return true;
		if (is_dir(e->child) && depth < 256 &&
		    find_path(e->child, n, buf, len, at + l + 1, depth + 1))
			return true;
		buf[at ? at - 1 : 0] = '\0';
	}
	return false;
}

static void hint_path(const struct model *m, const struct mnode *dir,
		      const char *name, char *buf, size_t len, int depth)
{
	char d[2048];

	if (!dir || dir == m->root || depth > 64) {
		snprintf(buf, len, "%s", name ? name : "?");
		return;
	}
	if (find_path(m->root, dir, d, sizeof(d), 0, 0))
		snprintf(buf, len, "%s/%s", d, name);
	else {
		hint_path(m, dir->hint_dir, dir->hint_name, d, sizeof(d),
			  depth + 1);
		snprintf(buf, len, "%s/%s", d, name);
	}
}

void model_op_path(const struct model *m, const struct model_op *op, char *buf,
		   size_t len)
{
	if (op->at_name)
		hint_path(m, op->at_dir, op->at_name, buf, len, 0);
	else if (op->node)
		model_path(m, op->node, buf, len);
	else
		snprintf(buf, len, "?");
}

void model_path(const struct model *m, const struct mnode *n, char *buf,
		size_t len)
{
	if (!len)
		return;
	buf[0] = '\0';
	if (n == m->root) {
		snprintf(buf, len, ".");
		return;
	}
	if (find_path(m->root, n, buf, len, 0, 0))
		return;
	if (n->hint_name)
		hint_path(m, n->hint_dir, n->hint_name, buf, len, 0);
	else
		snprintf(buf, len, "#%llu",
			 (unsigned long long)(n->id & ~SYNTH_ID));
}

/* ---- reset -------------------------------------------------------- */

/* Remove every directory entry of the tree (the nodes stay). */
static void entries_clear(struct model *m)
{
	for (size_t i = 0; i < m->nnodes; i++) {
		struct mnode *n = m->nodes[i];

		while (n->head)
			entry_del(m, n, n->head->name);
	}
}

void model_reset(struct model *m)
{
	bool was = m->logging;

	m->vis_ok = false;
	log_forget(m);
	m->logging = false;
	entries_clear(m);
	for (size_t i = 0; i < m->nnodes; i++) {
		struct mnode *n = m->nodes[i];

		state_release(&n->st);
		if (state_copy(&n->st, &n->init))
			oom();
		n->nlink = 0;
		touch(m, n);
	}
	for (size_t i = 0; i < m->ninit; i++)
		entry_add(m, m->init_ents[i].dir, m->init_ents[i].name,
			  m->init_ents[i].node);
	m->logging = was;
}

void model_goto_visible(struct model *m, uint64_t seq)
{
	size_t i = 0;

	/* Going forward from the visible state the tree already holds costs
	 * the ops in between, not a replay from op 0. */
	if (m->vis_ok && seq >= m->vis_seq) {
		log_forget(m);
		i = m->vis_next;
	} else {
		model_reset(m);
	}
	for (; i < m->nops && m->ops[i].seq <= seq; i++) {
		model_apply_ns(m, &m->ops[i]);
		model_apply_node(m, &m->ops[i], MV_FULL, 0);
	}
	m->vis_ok = true;
	m->vis_seq = seq;
	m->vis_next = i;
}

/* ---- loading ------------------------------------------------------ */

static int fail(struct model *m, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct model *m, int err, const char *fmt, ...)
{
	va_list ap;

	if (m->errlen) {
		va_start(ap, fmt);
		vsnprintf(m->err, m->errlen, fmt, ap);
		va_end(ap);
	}
	return -err;
}

static int scan_xattrs(struct model *m, int dirfd, const char *name,
		       struct mnode *n)
{
	char path[64], list[4096], val[65536];
	ssize_t ll, vl;
	int fd;

	fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ll = S_ISLNK(n->init.mode) ? -1 : listxattr(path, list, sizeof(list));
	for (ssize_t i = 0; ll > 0 && i < ll; i += strlen(list + i) + 1) {
		struct mxattr *p;

		/* Every namespace listxattr shows us (user, and trusted and
		 * security when root): the trace records them all. */
		vl = getxattr(path, list + i, val, sizeof(val));
		if (vl < 0)
			continue;
		p = realloc(n->init.xa, (n->init.nxa + 1) * sizeof(*p));
		if (!p)
			oom();
		n->init.xa = p;
		p += n->init.nxa++;
		p->name = strdup(list + i);
		p->vown = malloc(vl ? (size_t)vl : 1);
		if (!p->name || !p->vown)
			oom();
		memcpy(p->vown, val, (size_t)vl);
		p->val = p->vown;
		p->len = (uint32_t)vl;
	}
	close(fd);
	(void)m;
	return 0;
}

static void init_ent_add(struct model *m, struct mnode *dir, const char *name,
			 struct mnode *n)
{
	struct init_ent *e;

	if (m->ninit == m->init_cap) {
		size_t cap = m->init_cap ? 2 * m->init_cap : 64;

		e = realloc(m->init_ents, cap * sizeof(*e));
		if (!e)
			oom();
		m->init_ents = e;
		m->init_cap = cap;
	}
	e = &m->init_ents[m->ninit++];
	e->dir = dir;
	e->node = n;
	if (!(e->name = strdup(name)))
		oom();
	if (!n->hint_name) {
		n->hint_dir = dir;
		n->hint_name = e->name;
	}
	if (map_put(&m->initmap, (uint64_t)(uintptr_t)dir, name_hash(name),
		    (void *)(uintptr_t)m->ninit))
		oom();
}

static int scan_dir(struct model *m, int dirfd, struct mnode *dir,
		    const char *path, int depth)
{
	DIR *d;
	struct dirent *de;
	int fd, err = 0;

	if (depth > 1000)
		return fail(m, ELOOP, "initial image is nested too deep");
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return fail(m, errno, "cannot read initial image '%s': %s",
			    path, strerror(errno));
	}
	while (!err && (de = readdir(d))) {
		struct stat st;
		struct mnode *n;
		char sub[4096];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			err = fail(m, errno, "cannot stat '%s/%s': %s", path,
				   de->d_name, strerror(errno));
			break;
		}
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "/" : "",
			 de->d_name);
		n = S_ISDIR(st.st_mode)
			? NULL
			: map_get(&m->inos, st.st_ino, st.st_dev);
		if (!n) {
			n = node_new(m, SYNTH_ID | ++m->next_synth, st.st_mode);
			if (!n || map_put(&m->inos, st.st_ino, st.st_dev, n))
				oom();
			n->in_init = true;
			n->init.uid = st.st_uid;
			n->init.gid = st.st_gid;
			n->rdev = st.st_rdev;
			n->init_path = strdup(sub);
			if (!n->init_path)
				oom();
			n->init_tag = XXH3_64bits(sub, strlen(sub));
			if (S_ISREG(st.st_mode) && st.st_size) {
				n->init.size = (uint64_t)st.st_size;
				n->init.ext = malloc(sizeof(*n->init.ext));
				if (!n->init.ext)
					oom();
				n->init.ext[0] =
				    (struct extent){.off = 0,
						    .len = n->init.size,
						    .src = 0,
						    .kind = EXT_INIT,
						    .from = n};
				n->init.next = n->init.ext_cap = 1;
				n->init.extsum = ext_hash(&n->init.ext[0]);
			}
			if (S_ISLNK(st.st_mode)) {
				char t[4096];
				ssize_t tl = readlinkat(dirfd, de->d_name, t,
							sizeof(t) - 1);

				t[tl > 0 ? tl : 0] = '\0';
				if (!(n->target = strdup(t)))
					oom();
			}
			scan_xattrs(m, dirfd, de->d_name, n);
			if (S_ISDIR(st.st_mode)) {
				int sfd = openat(dirfd, de->d_name,
						 O_RDONLY | O_DIRECTORY |
						     O_NOFOLLOW | O_CLOEXEC);

				if (sfd < 0) {
					err = fail(m, errno,
						   "cannot open '%s': %s", sub,
						   strerror(errno));
					break;
				}
				err = scan_dir(m, sfd, n, sub, depth + 1);
				close(sfd);
			}
		}
		init_ent_add(m, dir, de->d_name, n);
	}
	closedir(d);
	return err;
}

static int op_push(struct model *m, const struct trace_rec *rec)
{
	struct model_op *op;

	if (m->nops == m->ops_cap) {
		size_t cap = m->ops_cap ? 2 * m->ops_cap : 1024;
		struct model_op *p = realloc(m->ops, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		m->ops = p;
		m->ops_cap = cap;
	}
	op = &m->ops[m->nops];
	memset(op, 0, sizeof(*op));
	op->seq = rec->seq;
	op->type = rec->type;
	op->flags = rec->flags;
	op->result = rec->result;
	op->id = rec->id;
	op->id2 = rec->id2;
	op->off = rec->off;
	op->off2 = rec->off2;
	op->len = rec->len;
	op->mode = rec->mode;
	op->oflags = rec->oflags;
	op->uid = rec->uid;
	op->gid = rec->gid;
	op->data_off = rec->data_off;
	op->data_len = rec->data_len;
	/* a short write (e.g. an injected one) landed only its first bytes */
	if (rec->type == TR_WRITE && rec->result >= 0 &&
	    (uint32_t)rec->result < rec->data_len)
		op->data_len = (uint32_t)rec->result;
	if ((rec->name && !(op->name = strdup(rec->name))) ||
	    (rec->name2 && !(op->name2 = strdup(rec->name2)))) {
		free(op->name);
		return -ENOMEM;
	}
	m->nops++;
	return 0;
}

bool model_op_is_entry(const struct model_op *op)
{
	switch (op->type) {
	case TR_CREATE:
	case TR_MKNOD:
	case TR_MKDIR:
	case TR_SYMLINK:
	case TR_LINK:
	case TR_UNLINK:
	case TR_RMDIR:
	case TR_RENAME: return true;
	default: return false;
	}
}

uint64_t model_last_writeback(const struct model *m)
{
	for (size_t i = model_nops(m); i > 0; i--) {
		const struct model_op *op = model_op(m, i - 1);

		if (op->type == TR_WRITE && op->result >= 0 &&
		    (op->flags & TRF_WRITEBACK))
			return op->seq;
	}
	return 0;
}

bool model_op_mutates(const struct model_op *op)
{
	if (op->result < 0)
		return false;
	if (model_op_is_entry(op))
		return true;
	switch (op->type) {
	case TR_WRITE:
	case TR_TRUNCATE:
	case TR_FALLOCATE:
	case TR_COPY_RANGE:
	case TR_SETATTR:
	case TR_SETXATTR:
	case TR_REMOVEXATTR: return true;
	default: return false;
	}
}

/* The node an id names, or an error naming the record. */
static int need_node(struct model *m, const struct model_op *op, uint64_t id,
		     struct mnode **out)
{
	*out = model_node(m, id);
	if (*out)
		return 0;
	return fail(
	    m, EBADMSG,
	    "record #%llu (%s): file id %llu was never created or bound",
	    (unsigned long long)op->seq, trace_type_name(op->type),
	    (unsigned long long)id);
}

static int need_dir(struct model *m, const struct model_op *op, uint64_t id,
		    struct mnode **out)
{
	int err = need_node(m, op, id, out);

	if (err)
		return err;
	if (!is_dir(*out))
		return fail(
		    m, EBADMSG,
		    "record #%llu (%s): file id %llu is not a directory",
		    (unsigned long long)op->seq, trace_type_name(op->type),
		    (unsigned long long)id);
	return 0;
}

static int need_name(struct model *m, const struct model_op *op,
		     const char *name)
{
	if (util_name_ok(name))
		return 0;
	return fail(m, EINVAL,
		    "record #%llu (%s): hostile or invalid name '%s' (names "
		    "must be one directory entry, not '.', '..' or "
		    "containing '/')",
		    (unsigned long long)op->seq, trace_type_name(op->type),
		    name ? name : "");
}

static int bad(struct model *m, const struct model_op *op, const char *what)
{
	return fail(m, EBADMSG, "record #%llu (%s): %s%s%s",
		    (unsigned long long)op->seq, trace_type_name(op->type),
		    what, op->name ? ": " : "", op->name ? op->name : "");
}

/* The entry (dir, name) must point at the file the record names (id), if
 * it names one.  An initial file the daemon never bound is bound here. */
static int check_victim(struct model *m, const struct model_op *op,
			struct mnode *child, uint64_t id)
{
	if (!id)
		return 0;
	if (child->id == id || model_node(m, id) == child)
		return 0;
	if ((child->id & SYNTH_ID) && !model_node(m, id)) {
		child->id = id;
		return map_put(&m->ids, id, 0, child) ? -ENOMEM : 0;
	}
	return bad(m, op, "the entry is not the file the record names");
}

static int load_bind(struct model *m, struct model_op *op,
		     const struct trace_rec *rec)
{
	struct mnode *dir, *n, *known = model_node(m, op->id);
	uintptr_t idx;
	int err;

	if (!op->id)
		return bad(m, op, "binds file id 0");
	if (rec->parent == 0) {
		if (op->id != TRACE_ROOT_ID && (!op->name || *op->name))
			return bad(m, op, "binds a file with no parent");
		n = m->root;
	} else {
		if ((err = need_dir(m, op, rec->parent, &dir)) ||
		    (err = need_name(m, op, op->name)))
			return err;
		idx = (uintptr_t)map_get(&m->initmap, (uint64_t)(uintptr_t)dir,
					 name_hash(op->name));
		if (!idx || strcmp(m->init_ents[idx - 1].name, op->name))
			return bad(m, op, "no such entry in the initial image");
		n = m->init_ents[idx - 1].node;
		if ((n->init.mode & S_IFMT) != (op->mode & S_IFMT) &&
		    (op->mode & S_IFMT))
			return bad(m, op, "the initial image has another type");
		if (S_ISREG(n->init.mode) && n->init.size != op->len)
			return bad(m, op, "the initial image has another size");
	}
	op->node = n;
	if (rec->parent) { /* the name the daemon met it by */
		n->hint_dir = dir;
		n->hint_name = op->name;
	}
	if (known == n)
		return 0; /* one more name of a file bound before */
	if (known)
		return bad(m, op, "binds an id bound to another file");
	if (n->id & SYNTH_ID)
		n->id = op->id;
	/* else: a second id for the same file, kept as an alias */
	return map_put(&m->ids, op->id, 0, n) ? -ENOMEM : 0;
}

static int load_new(struct model *m, struct model_op *op,
		    const struct trace_rec *rec)
{
	uint32_t mode = op->mode;
	int err;

	if ((err = need_dir(m, op, rec->parent, &op->dir)) ||
	    (err = need_name(m, op, op->name)))
		return err;
	if (model_lookup(m, op->dir, op->name))
		return bad(m, op, "the name exists already");
	if (op->type == TR_LINK) {
		if ((err = need_node(m, op, op->id, &op->node)))
			return err;
		if (is_dir(op->node))
			return bad(m, op, "hard link to a directory");
		return 0;
	}
	if (!op->id || model_node(m, op->id))
		return bad(m, op, "new file id is 0 or in use");
	switch (op->type) {
	case TR_CREATE: mode = S_IFREG | (mode & 07777); break;
	case TR_MKDIR: mode = S_IFDIR | (mode & 07777); break;
	case TR_SYMLINK:
		mode = S_IFLNK | 0777;
		if (!op->name2 || !*op->name2)
			return bad(m, op, "symlink without a target");
		break;
	default:
		if (!(mode & S_IFMT))
			mode |= S_IFREG;
		if (S_ISDIR(mode) || S_ISLNK(mode))
			return bad(m, op, "mknod of a directory or symlink");
		break;
	}
	op->node = node_new(m, op->id, mode);
	if (!op->node)
		return -ENOMEM;
	if (op->type == TR_SYMLINK && !(op->node->target = strdup(op->name2)))
		return -ENOMEM;
	if (op->type == TR_MKNOD)
		op->node->rdev = op->off;
	return 0;
}

/* Is a an ancestor of (or equal to) b in the current tree? */
static bool is_ancestor(const struct mnode *a, const struct mnode *b, int depth)
{
	if (a == b)
		return true;
	if (depth > 4096)
		return true;
	for (struct mentry *e = a->head; e; e = e->next)
		if (is_dir(e->child) && is_ancestor(e->child, b, depth + 1))
			return true;
	return false;
}

static int load_remove(struct model *m, struct model_op *op,
		       const struct trace_rec *rec)
{
	struct mnode *child;
	int err;

	if ((err = need_dir(m, op, rec->parent, &op->dir)) ||
	    (err = need_name(m, op, op->name)))
		return err;
	child = model_lookup(m, op->dir, op->name);
	if (!child)
		return bad(m, op, "no such entry");
	if ((op->type == TR_RMDIR) != is_dir(child))
		return bad(m, op,
			   op->type == TR_RMDIR ? "not a directory"
						: "is a directory");
	if (op->type == TR_RMDIR && child->head)
		return bad(m, op, "directory not empty");
	if ((err = check_victim(m, op, child, op->id)))
		return err;
	op->node = child;
	return 0;
}

static int load_rename(struct model *m, struct model_op *op,
		       const struct trace_rec *rec)
{
	struct mnode *src, *dst;
	int err;

	if ((err = need_dir(m, op, rec->parent, &op->dir)) ||
	    (err = need_dir(m, op, rec->parent2, &op->dir2)) ||
	    (err = need_name(m, op, op->name)) ||
	    (err = need_name(m, op, op->name2)))
		return err;
	if (op->oflags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return bad(m, op, "unsupported rename flags");
	src = model_lookup(m, op->dir, op->name);
	dst = model_lookup(m, op->dir2, op->name2);
	if (!src)
		return bad(m, op, "no such entry");
	if ((err = check_victim(m, op, src, op->id)))
		return err;
	if (dst && (err = check_victim(m, op, dst, op->id2)))
		return err;
	if ((op->oflags & RENAME_EXCHANGE) && !dst)
		return bad(m, op, "exchange with a missing entry");
	if ((op->oflags & RENAME_NOREPLACE) && dst)
		return bad(m, op, "noreplace rename over an entry");
	if (dst && dst != src && !(op->oflags & RENAME_EXCHANGE)) {
		if (is_dir(src) != is_dir(dst))
			return bad(m, op,
				   "rename between a directory and a "
				   "file");
		if (is_dir(dst) && dst->head)
			return bad(m, op, "rename over a non-empty directory");
	}
	if ((is_dir(src) && is_ancestor(src, op->dir2, 0)) ||
	    (dst && (op->oflags & RENAME_EXCHANGE) && is_dir(dst) &&
	     is_ancestor(dst, op->dir, 0)))
		return bad(m, op, "moves a directory into itself");
	op->node = src;
	op->node2 = dst;
	if (dst == src)
		op->result = -EEXIST; /* same file: a no-op for us */
	return 0;
}

/* The bytes [off, off + len) of n as extents placed at dest. */
static int copy_extents(struct model_op *op, const struct mnode *src,
			uint64_t off, uint64_t len, uint64_t dest)
{
	const struct mstate *s = &src->st;

	for (uint32_t i = 0; i < s->next; i++) {
		const struct extent *e = &s->ext[i];
		uint64_t a = e->off > off ? e->off : off;
		uint64_t b =
		    e->off + e->len < off + len ? e->off + e->len : off + len;
		struct extent *p;

		if (a >= b)
			continue;
		p = realloc(op->copy, (op->ncopy + 1) * sizeof(*p));
		if (!p)
			return -ENOMEM;
		op->copy = p;
		p[op->ncopy++] = (struct extent){.off = dest + (a - off),
						 .len = b - a,
						 .src = e->src + (a - e->off),
						 .kind = e->kind,
						 .from = e->from};
	}
	return 0;
}

static int load_node_op(struct model *m, struct model_op *op)
{
	int err = need_node(m, op, op->id, &op->node);

	if (err)
		return err;
	switch (op->type) {
	case TR_WRITE:
		if (!is_reg(op->node))
			return bad(m, op,
				   "write to a file that is not regular");
		if (op->off + op->data_len < op->off)
			return bad(m, op, "offset overflow");
		if (!trace_reader_bytes(m->r, op->data_off, op->data_len))
			return bad(m, op, "payload outside the trace");
		break;
	case TR_TRUNCATE:
	case TR_FALLOCATE:
		if (!is_reg(op->node))
			return bad(m, op,
				   "size change of a file that is not "
				   "regular");
		if (op->type == TR_FALLOCATE &&
		    (op->oflags & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
				    FALLOC_FL_ZERO_RANGE)))
			return bad(m, op, "unsupported fallocate mode");
		if (op->off + op->len < op->off)
			return bad(m, op, "offset overflow");
		break;
	case TR_COPY_RANGE:
		if ((err = need_node(m, op, op->id2, &op->node2)))
			return err;
		if (!is_reg(op->node) || !is_reg(op->node2))
			return bad(m, op,
				   "copy between files that are not "
				   "regular");
		err = copy_extents(op, op->node2, op->off2,
				   (uint64_t)op->result, op->off);
		if (err)
			return err;
		break;
	case TR_SETXATTR:
	case TR_REMOVEXATTR:
		if (!op->name || !*op->name)
			return bad(m, op, "xattr without a name");
		if (op->type == TR_SETXATTR &&
		    !trace_reader_bytes(m->r, op->data_off, op->data_len))
			return bad(m, op, "payload outside the trace");
		break;
	default: break;
	}
	return 0;
}

void model_cancel(struct model *m, size_t i)
{
	m->ops[i].result = -ECANCELED;
}

int model_keep_pieces(struct model *m, size_t i, const struct model_piece *p,
		      size_t n, uint64_t size)
{
	struct model_op *op = &m->ops[i];
	struct model_piece *v = malloc((n ? n : 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	if (n)
		memcpy(v, p, n * sizeof(*v));
	free(op->kept);
	op->kept = v;
	op->nkept = (uint32_t)n;
	op->kept_size = size;
	return 0;
}

/*
 * A live power cut (fusefs/powercut.c): the ops it dropped never happened
 * (core/livecut.c), and the tree is rebuilt without them up to the cut.
 * persist_compute() makes every op before a cut durable.
 */
static int load_powercut(struct model *m, struct model_op *cut)
{
	size_t n = m->nops - 1; /* the ops before the cut */
	int err;

	if (cut->result < 0)
		return 0;
	m->nops = n;
	err = livecut_apply(m, cut, m->err, m->errlen);
	m->nops = n + 1;
	if (err)
		return err;
	/* History changed: the tree must be rebuilt from op 0. */
	m->vis_ok = false;
	model_goto_visible(m, cut->seq);
	return 0;
}

/* Resolve, check and apply one record to the visible tree. */
static int load_op(struct model *m, struct model_op *op,
		   const struct trace_rec *rec)
{
	int err = 0;

	if (op->type == TR_BIND)
		return rec->result < 0 ? 0 : load_bind(m, op, rec);
	if (op->result < 0) {
		/* a failed sync matters to the persistence rules */
		if (op->type == TR_FSYNC || op->type == TR_FSYNCDIR)
			op->node = model_node(m, op->id);
		return 0;
	}
	switch (op->type) {
	case TR_CREATE:
	case TR_MKNOD:
	case TR_MKDIR:
	case TR_SYMLINK:
	case TR_LINK: err = load_new(m, op, rec); break;
	case TR_UNLINK:
	case TR_RMDIR: err = load_remove(m, op, rec); break;
	case TR_RENAME: err = load_rename(m, op, rec); break;
	case TR_WRITE:
	case TR_TRUNCATE:
	case TR_FALLOCATE:
	case TR_COPY_RANGE:
	case TR_SETATTR:
	case TR_SETXATTR:
	case TR_REMOVEXATTR:
	case TR_OPEN:
	case TR_FSYNC:
	case TR_FSYNCDIR:
	case TR_FLUSH:
	case TR_RELEASE: err = load_node_op(m, op); break;
	case TR_POWERCUT: return load_powercut(m, op);
	default: break;
	}
	if (err)
		return err;
	if (op->type == TR_WRITE)
		op->extends = op->off + op->data_len > op->node->st.size;
	if (op->node && (op->type == TR_WRITE || op->type == TR_TRUNCATE ||
			 op->type == TR_FALLOCATE || op->type == TR_COPY_RANGE))
		op->size_before = op->node->st.size;
	if (op->node) {
		op->at_dir = op->node->hint_dir;
		op->at_name = op->node->hint_name;
	}
	model_apply_ns(m, op);
	model_apply_node(m, op, MV_FULL, 0);
	switch (op->type) {
	case TR_CREATE:
	case TR_MKNOD:
	case TR_MKDIR:
	case TR_SYMLINK:
	case TR_LINK:
		op->node->hint_dir = op->dir;
		op->node->hint_name = op->name;
		break;
	case TR_RENAME:
		op->node->hint_dir = op->dir2;
		op->node->hint_name = op->name2;
		if (op->node2 && (op->oflags & RENAME_EXCHANGE)) {
			op->node2->hint_dir = op->dir;
			op->node2->hint_name = op->name;
		}
		break;
	default: break;
	}
	return 0;
}

static int load_image(struct model *m, const char *initial_dir)
{
	struct stat st;

	m->root = node_new(m, TRACE_ROOT_ID, S_IFDIR | 0755);
	if (!m->root)
		return -ENOMEM;
	m->root->in_init = true;
	if (!initial_dir || !*initial_dir)
		return 0;
	m->init_dirfd = open(initial_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->init_dirfd < 0)
		return fail(m, errno, "cannot open initial image '%s': %s",
			    initial_dir, strerror(errno));
	if (fstat(m->init_dirfd, &st) == 0) {
		m->root->init.mode = m->root->st.mode = st.st_mode;
		m->root->init.uid = m->root->st.uid = st.st_uid;
		m->root->init.gid = m->root->st.gid = st.st_gid;
	}
	return scan_dir(m, m->init_dirfd, m->root, "", 0);
}

#define RELEASE_STEP (2u << 20) /* give mapped trace pages back by this */

/*
 * Give back the pages of the trace's mapping below upto (all of them when
 * all): the load has read them (checksums, the trace's hash) and file
 * data is read by pread.  Left mapped, they would make the resident size
 * follow the bytes the trace carries, not its ops and inodes; the page
 * cache keeps them anyway.  Pointers into the mapping stay valid: a page
 * touched again is read back from the file.
 */
static void release_trace(struct model *m, uint64_t upto, bool all)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t end = all ? m->map_size : upto / pg * pg;

	if (!m->map || end <= m->released ||
	    (!all && end - m->released < RELEASE_STEP))
		return;
	madvise((void *)(m->map + m->released), end - m->released,
		MADV_DONTNEED);
	m->released = end;
}

/* XXH3 of the whole trace, giving the pages back as it goes. */
static uint64_t hash_trace(struct model *m)
{
	XXH3_state_t *st = XXH3_createState();
	uint64_t h = 0;

	if (!st || XXH3_64bits_reset(st) == XXH_ERROR)
		goto out;
	for (uint64_t off = 0; off < m->map_size; off += RELEASE_STEP) {
		uint64_t n = m->map_size - off < RELEASE_STEP
				 ? m->map_size - off
				 : RELEASE_STEP;

		XXH3_64bits_update(st, m->map + off, (size_t)n);
		release_trace(m, off + n, false);
	}
	h = XXH3_64bits_digest(st);
out:
	XXH3_freeState(st);
	m->released = 0; /* the records are read from the start again */
	return h;
}

struct model *model_load(const char *trace_path, const char *initial_dir,
			 char *err, size_t errlen)
{
	struct model *m = calloc(1, sizeof(*m));
	struct trace_rec rec;
	int ret, n;

	if (!m)
		return NULL;
	m->init_dirfd = -1;
	m->trace_fd = -1;
	m->err = err;
	m->errlen = errlen;
	if (errlen)
		err[0] = '\0';
	m->r = trace_reader_open(trace_path, err, errlen);
	if (!m->r) {
		ret = -errno;
		goto out_free;
	}
	m->hdr = *trace_reader_header(m->r);
	m->trace_fd = open(trace_path, O_RDONLY | O_CLOEXEC);
	if (m->trace_fd < 0) {
		ret = fail(m, errno, "cannot open trace '%s': %s", trace_path,
			   strerror(errno));
		goto out_free;
	}
	{
		struct stat st;

		if (fstat(m->trace_fd, &st) == 0 &&
		    (m->map =
			 trace_reader_bytes(m->r, 0, (uint64_t)st.st_size))) {
			m->map_size = (uint64_t)st.st_size;
			m->trace_hash = hash_trace(m);
		}
	}
	ret = load_image(m, initial_dir);
	if (ret)
		goto out_free;
	map_release(&m->inos);
	model_reset(m);
	while ((n = trace_next(m->r, &rec)) > 0) {
		if (util_stopping()) {
			ret = fail(m, EINTR, "interrupted");
			goto out_free;
		}
		if (rec.type == TR_END)
			continue;
		if (rec.seq != m->nops + 1) {
			ret = fail(m, EBADMSG,
				   "trace '%s': record #%llu out "
				   "of sequence (expected #%llu)",
				   trace_path, (unsigned long long)rec.seq,
				   (unsigned long long)m->nops + 1);
			goto out_free;
		}
		ret = op_push(m, &rec);
		if (!ret)
			ret = load_op(m, &m->ops[m->nops - 1], &rec);
		if (rec.data_len)
			release_trace(m, rec.data_off, false);
		if (ret) {
			if (ret == -ENOMEM)
				fail(m, ENOMEM, "out of memory");
			goto out_free;
		}
	}
	if (n < 0) {
		ret = fail(m, EBADMSG, "trace '%s': %s", trace_path,
			   trace_reader_error(m->r));
		goto out_free;
	}
	m->truncated = trace_reader_truncated(m->r);
	release_trace(m, 0, true);
	m->err = NULL;
	m->errlen = 0;
	return m;
out_free:
	model_free(&m);
	errno = -ret;
	return NULL;
}

void model_free(struct model **mp)
{
	struct model *m = *mp;

	if (!m)
		return;
	*mp = NULL;
	log_forget(m);
	m->logging = false;
	entries_clear(m);
	for (size_t i = 0; i < m->nnodes; i++) {
		struct mnode *n = m->nodes[i];

		state_release(&n->st);
		state_release(&n->init);
		free(n->target);
		free(n->init_path);
		if (n->init_fd >= 0)
			close(n->init_fd);
		free(n);
	}
	for (size_t i = 0; i < m->ninit; i++)
		free(m->init_ents[i].name);
	for (size_t i = 0; i < m->nops; i++) {
		free(m->ops[i].name);
		free(m->ops[i].name2);
		free(m->ops[i].copy);
		free(m->ops[i].kept);
	}
	free(m->init_ents);
	free(m->ops);
	free(m->nodes);
	free(m->log);
	map_release(&m->ids);
	map_release(&m->entries);
	map_release(&m->initmap);
	map_release(&m->inos);
	if (m->init_dirfd >= 0)
		close(m->init_dirfd);
	if (m->trace_fd >= 0)
		close(m->trace_fd);
	trace_reader_free(&m->r);
	free(m);
}

size_t model_nops(const struct model *m)
{
	return m->nops;
}

const struct model_op *model_op(const struct model *m, size_t i)
{
	return i < m->nops ? &m->ops[i] : NULL;
}

const struct model_op *model_op_seq(const struct model *m, uint64_t seq)
{
	return seq && seq <= m->nops ? &m->ops[seq - 1] : NULL;
}

uint64_t model_trace_hash(const struct model *m)
{
	return m->trace_hash;
}

bool model_truncated(const struct model *m)
{
	return m->truncated;
}

const struct trace_header *model_header(const struct model *m)
{
	return &m->hdr;
}
