/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Trace builder for the unit tests: writes hand-made record sequences
 * with the real trace writer into a temporary run directory (trace plus
 * initial image), loads them with model_load(), and answers questions
 * about the crash states the explorer makes of them.
 *
 * Header-only (static functions) so each test binary includes it.
 */
#ifndef CRASHFS_TESTS_TB_H
#define CRASHFS_TESTS_TB_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/model.h"
#include "core/persist.h"
#include "core/trace.h"
#include "harness/explore.h"

struct tb {
	char dir[64];	 /* temporary directory */
	char trace[128]; /* dir/trace */
	char init[128];	 /* dir/initial */
	struct trace_writer *w;
	uint64_t next_id; /* next id for created files */
	struct model *m;  /* after tb_load() */
	char err[512];
};

static inline void tb_open(struct tb *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/crashfs-test-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->trace, sizeof(t->trace), "%s/trace", t->dir);
	snprintf(t->init, sizeof(t->init), "%s/initial", t->dir);
	assert_int_equal(mkdir(t->init, 0755), 0);
	t->w = trace_writer_create(t->trace, NULL);
	assert_non_null(t->w);
	t->next_id = 100;
}

/* A file in the initial image (before tb_load). */
static inline void tb_init_file(struct tb *t, const char *rel, const char *data)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", t->init, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static inline void tb_rec(struct tb *t, struct trace_rec *r)
{
	assert_int_equal(trace_append(t->w, r), 0);
}

static inline void tb_bind_root(struct tb *t)
{
	struct trace_rec r = {
	    .type = TR_BIND, .id = 1, .name = "", .mode = S_IFDIR | 0755};

	tb_rec(t, &r);
}

static inline void tb_bind(struct tb *t, uint64_t id, uint64_t parent,
			   const char *name, uint32_t mode, uint64_t size)
{
	struct trace_rec r = {.type = TR_BIND,
			      .id = id,
			      .parent = parent,
			      .name = name,
			      .mode = mode,
			      .len = size};

	tb_rec(t, &r);
}

static inline uint64_t tb_new(struct tb *t, int type, uint64_t parent,
			      const char *name, const char *target)
{
	struct trace_rec r = {.type = (uint16_t)type,
			      .parent = parent,
			      .name = name,
			      .id = t->next_id++,
			      .mode = type == TR_MKDIR ? 0755 : 0644,
			      .name2 = target};

	tb_rec(t, &r);
	return r.id;
}

static inline uint64_t tb_create(struct tb *t, uint64_t parent,
				 const char *name)
{
	return tb_new(t, TR_CREATE, parent, name, NULL);
}

static inline uint64_t tb_mkdir(struct tb *t, uint64_t parent, const char *name)
{
	return tb_new(t, TR_MKDIR, parent, name, NULL);
}

static inline uint64_t tb_write_flags(struct tb *t, uint64_t id, uint64_t off,
				      const void *data, uint32_t len,
				      uint16_t fl)
{
	struct trace_rec r = {.type = TR_WRITE,
			      .id = id,
			      .off = off,
			      .data = data,
			      .data_len = len,
			      .len = len,
			      .result = (int32_t)len,
			      .flags = fl};

	tb_rec(t, &r);
	return r.seq;
}

static inline uint64_t tb_write(struct tb *t, uint64_t id, uint64_t off,
				const char *s)
{
	return tb_write_flags(t, id, off, s, (uint32_t)strlen(s), 0);
}

static inline uint64_t tb_simple(struct tb *t, int type, uint64_t id,
				 uint16_t fl)
{
	struct trace_rec r = {.type = (uint16_t)type, .id = id, .flags = fl};

	tb_rec(t, &r);
	return r.seq;
}

static inline uint64_t tb_fsync(struct tb *t, uint64_t id)
{
	return tb_simple(t, TR_FSYNC, id, 0);
}

/* An fsync of id that failed with EIO (rule 7 of docs/crash-model.md). */
static inline uint64_t tb_fsync_eio(struct tb *t, uint64_t id)
{
	struct trace_rec r = {.type = TR_FSYNC, .id = id, .result = -EIO};

	tb_rec(t, &r);
	return r.seq;
}

static inline uint64_t tb_fdatasync(struct tb *t, uint64_t id)
{
	return tb_simple(t, TR_FSYNC, id, TRF_DATASYNC);
}

static inline uint64_t tb_fsyncdir(struct tb *t, uint64_t id)
{
	return tb_simple(t, TR_FSYNCDIR, id, 0);
}

static inline uint64_t tb_truncate(struct tb *t, uint64_t id, uint64_t len)
{
	struct trace_rec r = {.type = TR_TRUNCATE, .id = id, .len = len};

	tb_rec(t, &r);
	return r.seq;
}

static inline uint64_t tb_chmod(struct tb *t, uint64_t id, uint32_t mode)
{
	struct trace_rec r = {
	    .type = TR_SETATTR, .id = id, .mode = mode, .oflags = TRA_MODE};

	tb_rec(t, &r);
	return r.seq;
}

static inline uint64_t tb_rename(struct tb *t, uint64_t p, const char *n,
				 uint64_t p2, const char *n2, uint64_t id,
				 uint64_t id2)
{
	struct trace_rec r = {.type = TR_RENAME,
			      .parent = p,
			      .name = n,
			      .parent2 = p2,
			      .name2 = n2,
			      .id = id,
			      .id2 = id2};

	tb_rec(t, &r);
	return r.seq;
}

static inline uint64_t tb_unlink(struct tb *t, uint64_t p, const char *n,
				 uint64_t id)
{
	struct trace_rec r = {
	    .type = TR_UNLINK, .parent = p, .name = n, .id = id};

	tb_rec(t, &r);
	return r.seq;
}

static inline uint64_t tb_seq(struct tb *t)
{
	return trace_writer_count(t->w);
}

static inline struct model *tb_load(struct tb *t)
{
	assert_int_equal(trace_writer_close(&t->w), 0);
	t->m = model_load(t->trace, t->init, t->err, sizeof(t->err));
	if (!t->m)
		fprintf(stderr, "load: %s\n", t->err);
	return t->m;
}

static inline int tb_rm(const char *p, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	chmod(p, 0700);
	remove(p);
	return 0;
}

static inline void tb_close(struct tb *t)
{
	if (t->w)
		trace_writer_close(&t->w);
	model_free(&t->m);
	nftw(t->dir, tb_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* Content of path in the current tree: malloc'd, NULL if absent. */
static inline char *tb_content(struct model *m, const char *path)
{
	struct mnode *n;
	char *buf;
	size_t len;

	if (model_resolve(m, path, &n))
		return NULL;
	if (!model_is_reg(n))
		return strdup("<not a file>");
	assert_int_equal(model_read_all(m, n, &buf, &len), 0);
	return buf;
}

/* Assert that path holds want in the current tree (NULL: is absent). */
static inline void tb_assert_content(struct model *m, const char *path,
				     const char *want)
{
	char *got = tb_content(m, path);

	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

struct tb_count {
	size_t match, total;
};

typedef bool (*tb_pred)(struct model *m, const void *arg);

/*
 * Over every state of model `model` at crash point k (every point if
 * k == UINT64_MAX): how many states satisfy pred, and how many there are.
 */
static inline struct tb_count tb_count_pred(struct model *m, const char *model,
					    uint64_t k, tb_pred pred,
					    const void *arg)
{
	const struct persist_rules *models[] = {persist_find(model), NULL};
	struct explore_opts o = {.models = models,
				 .one_point = k != UINT64_MAX,
				 .point = k,
				 .random = 8};
	struct explore_state st;
	struct tb_count c = {0, 0};
	struct explorer *x;
	char err[256];
	int ret;

	assert_non_null(models[0]);
	x = explore_new(m, &o, err, sizeof(err));
	if (!x)
		fprintf(stderr, "explore: %s\n", err);
	assert_non_null(x);
	while ((ret = explore_next(x, &st)) > 0) {
		c.total++;
		if (pred(m, arg))
			c.match++;
	}
	assert_int_equal(ret, 0);
	explore_free(&x);
	return c;
}

struct tb_want {
	const char *path;
	const char *content; /* NULL: absent */
};

static inline bool tb_has(struct model *m, const void *arg)
{
	const struct tb_want *w = arg;
	char *got = tb_content(m, w->path);
	bool ok = (!w->content && !got) ||
		  (w->content && got && !strcmp(w->content, got));

	free(got);
	return ok;
}

/* States at k where path holds content (NULL: is absent). */
static inline struct tb_count tb_count_states(struct model *m,
					      const char *model, uint64_t k,
					      const char *path,
					      const char *content)
{
	struct tb_want w = {path, content};

	return tb_count_pred(m, model, k, tb_has, &w);
}

#endif /* CRASHFS_TESTS_TB_H */
