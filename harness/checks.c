/* SPDX-License-Identifier: MIT */
/** @file
 *
 * --atomic and --durable on the model (see checks.h).  The legal versions
 * of each path are computed once, as 64-bit hashes, by replaying the
 * trace to the initial state, each mark and the end; a state is then
 * checked by hashing the path in the state's tree and looking the hash up.
 */
#include "harness/checks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "core/trace.h"
#include "core/util.h"

#define V_ABSENT 0 /* version hash of an absent path */

/* One checked path and its legal versions. */
struct cpath {
	const char *path;  /* as given (owned by the caller's strv) */
	uint64_t initial;  /* version in the initial image */
	uint64_t final;	   /* version at the end of the workload */
	uint64_t *at_mark; /* version right after each mark */
	uint64_t *legal;   /* initial, final and at_mark: sorted, unique */
	size_t nlegal;	   /* versions in legal */
};

struct checks {
	struct check_mark *marks; /* nmarks marks, in trace order */
	size_t nmarks;
	uint64_t last_seq;		  /* seq of the trace's last op */
	struct cpath *paths[SCN_NCHECKS]; /* atomic, durable */
	size_t npaths[SCN_NCHECKS];
	char desc[160]; /* buffer for checks_describe */
};

uint64_t checks_version(struct model *m, const char *path)
{
	struct mnode *n;
	struct model_stat st;
	uint64_t h;
	char *buf = NULL;
	size_t len = 0;

	if (model_resolve(m, path, &n) < 0 || !n)
		return V_ABSENT;
	model_stat(n, &st);
	if (S_ISREG(st.mode)) {
		if (model_read_all(m, n, &buf, &len) < 0)
			return 1; /* unreadable: never a legal version */
		h = XXH3_64bits_withSeed(buf, len, 'f');
		free(buf);
	} else if (S_ISLNK(st.mode)) {
		const char *t = model_symlink(n);

		h = XXH3_64bits_withSeed(t, t ? strlen(t) : 0, 'l');
	} else {
		h = model_hash(m, n) ^ (st.mode & S_IFMT);
	}
	return h == V_ABSENT ? 2 : h;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The legal versions of p as a sorted set, so that checking a state costs
 * a binary search rather than a walk over every mark of the trace.
 */
static int legal_set(struct cpath *p, size_t nmarks)
{
	size_t n = 0;

	p->legal = malloc((nmarks + 2) * sizeof(*p->legal));
	if (!p->legal)
		return -ENOMEM;
	memcpy(p->legal, p->at_mark, nmarks * sizeof(*p->legal));
	p->legal[nmarks] = p->initial;
	p->legal[nmarks + 1] = p->final;
	qsort(p->legal, nmarks + 2, sizeof(*p->legal), cmp_u64);
	for (size_t i = 0; i < nmarks + 2; i++)
		if (!n || p->legal[i] != p->legal[n - 1])
			p->legal[n++] = p->legal[i];
	p->nlegal = n;
	return 0;
}

struct checks *checks_new(struct model *m, const struct strv *atomic,
			  const struct strv *durable, char *err, size_t errlen)
{
	struct checks *c = calloc(1, sizeof(*c));
	const struct strv *lists[SCN_NCHECKS] = {atomic, durable, NULL};
	size_t nops = model_nops(m);

	size_t nm = 0;

	if (!c)
		goto out_oom;
	/* counted first: growing the array by one per mark was quadratic */
	for (size_t i = 0; i < nops; i++)
		nm += model_op(m, i)->type == TR_MARK;
	c->marks = nm ? malloc(nm * sizeof(*c->marks)) : NULL;
	if (nm && !c->marks)
		goto out_oom;
	for (size_t i = 0; i < nops; i++) {
		const struct model_op *op = model_op(m, i);

		if (op->type == TR_MARK) {
			c->marks[c->nmarks].seq = op->seq;
			c->marks[c->nmarks++].text = op->name ? op->name : "";
		}
		c->last_seq = op->seq;
	}
	for (int k = 0; k < SCN_NCHECKS; k++) {
		if (!lists[k] || !lists[k]->len)
			continue;
		c->paths[k] = calloc(lists[k]->len, sizeof(struct cpath));
		if (!c->paths[k])
			goto out_oom;
		c->npaths[k] = lists[k]->len;
		for (size_t i = 0; i < lists[k]->len; i++) {
			struct cpath *p = &c->paths[k][i];

			p->path = lists[k]->v[i];
			p->at_mark = calloc(c->nmarks + 1, sizeof(uint64_t));
			if (!p->at_mark)
				goto out_oom;
		}
	}
	/* replay once, taking each path's version at each moment */
	model_reset(m);
	for (int k = 0; k < SCN_NCHECKS; k++)
		for (size_t i = 0; i < c->npaths[k]; i++)
			c->paths[k][i].initial =
			    checks_version(m, c->paths[k][i].path);
	for (size_t i = 0, mk = 0; i < nops; i++) {
		const struct model_op *op = model_op(m, i);

		if (util_stopping()) {
			snprintf(err, errlen, "interrupted");
			checks_free(&c);
			errno = EINTR;
			return NULL;
		}
		model_apply_ns(m, op);
		model_apply_node(m, op, MV_FULL, 0);
		if (op->type != TR_MARK)
			continue;
		for (int k = 0; k < SCN_NCHECKS; k++)
			for (size_t j = 0; j < c->npaths[k]; j++)
				c->paths[k][j].at_mark[mk] =
				    checks_version(m, c->paths[k][j].path);
		mk++;
	}
	for (int k = 0; k < SCN_NCHECKS; k++)
		for (size_t i = 0; i < c->npaths[k]; i++) {
			c->paths[k][i].final =
			    checks_version(m, c->paths[k][i].path);
			if (legal_set(&c->paths[k][i], c->nmarks) < 0)
				goto out_oom;
		}
	return c;
out_oom:
	snprintf(err, errlen, "out of memory");
	checks_free(&c);
	errno = ENOMEM;
	return NULL;
}

void checks_free(struct checks **cp)
{
	struct checks *c = *cp;

	if (!c)
		return;
	for (int k = 0; k < SCN_NCHECKS; k++) {
		for (size_t i = 0; i < c->npaths[k]; i++) {
			free(c->paths[k][i].at_mark);
			free(c->paths[k][i].legal);
		}
		free(c->paths[k]);
	}
	free(c->marks);
	free(c);
	*cp = NULL;
}

static bool legal(const struct cpath *p, uint64_t v)
{
	return bsearch(&v, p->legal, p->nlegal, sizeof(v), cmp_u64) != NULL;
}

/* The --durable half of checks_eval(). */
static uint32_t durable(struct checks *c, struct model *m, uint64_t point,
			struct check_why *why)
{
	uint32_t failed = 0;

	if (point < checks_durable_from(c))
		return 0;
	for (size_t i = 0; i < c->npaths[SCN_DURABLE]; i++) {
		const struct cpath *p = &c->paths[SCN_DURABLE][i];
		uint64_t v = checks_version(m, p->path);

		if (v == p->final)
			continue;
		if (!why)
			return 1u << SCN_DURABLE;
		if (!failed) {
			why->path[SCN_DURABLE] = i;
			why->seen[SCN_DURABLE] = v;
		}
		failed = 1u << SCN_DURABLE;
		if (i < 64)
			why->paths[SCN_DURABLE] |= 1ull << i;
	}
	return failed;
}

uint32_t checks_eval(struct checks *c, struct model *m, uint64_t point,
		     struct check_why *why)
{
	uint32_t failed = 0;

	if (why)
		memset(why, 0, sizeof(*why));
	for (size_t i = 0; i < c->npaths[SCN_ATOMIC]; i++) {
		const struct cpath *p = &c->paths[SCN_ATOMIC][i];
		uint64_t v = checks_version(m, p->path);

		if (legal(p, v))
			continue;
		if (!why)
			return 1u << SCN_ATOMIC | durable(c, m, point, NULL);
		if (!(failed & (1u << SCN_ATOMIC))) {
			why->path[SCN_ATOMIC] = i;
			why->seen[SCN_ATOMIC] = v;
		}
		failed |= 1u << SCN_ATOMIC;
		if (i < 64)
			why->paths[SCN_ATOMIC] |= 1ull << i;
	}
	failed |= durable(c, m, point, why);
	if (why)
		why->failed = failed;
	return failed;
}

size_t checks_nmarks(const struct checks *c)
{
	return c->nmarks;
}

const struct check_mark *checks_mark(const struct checks *c, size_t i)
{
	return i < c->nmarks ? &c->marks[i] : NULL;
}

size_t checks_marks_upto(const struct checks *c, uint64_t point)
{
	size_t lo = 0, hi = c->nmarks;

	/* marks are in trace order: find the first one after point */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->marks[mid].seq <= point)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint64_t checks_durable_from(const struct checks *c)
{
	return c->nmarks ? c->marks[c->nmarks - 1].seq : c->last_seq;
}

int checks_write_marks(const struct checks *c, uint64_t point, FILE *f)
{
	size_t n = checks_marks_upto(c, point);

	for (size_t i = 0; i < n; i++)
		if (fprintf(f, "%s\n", c->marks[i].text) < 0)
			return -EIO;
	return 0;
}

const char *checks_path(const struct checks *c, enum scn_check check, int idx)
{
	if (check >= SCN_EXTERNAL || idx < 0 || (size_t)idx >= c->npaths[check])
		return "?";
	return c->paths[check][idx].path;
}

const char *checks_describe(const struct checks *c, enum scn_check check,
			    int idx, uint64_t v)
{
	const struct cpath *p;

	if (check >= SCN_EXTERNAL || idx < 0 || (size_t)idx >= c->npaths[check])
		return "?";
	p = &c->paths[check][idx];
	if (v == p->final)
		return "its final version";
	if (v == p->initial)
		return v == V_ABSENT ? "absent (as initially)"
				     : "its initial version";
	for (size_t i = 0; i < c->nmarks; i++)
		if (v == p->at_mark[i]) {
			snprintf(((struct checks *)c)->desc, sizeof(c->desc),
				 "its version at mark '%.100s'",
				 c->marks[i].text);
			return c->desc;
		}
	if (v == V_ABSENT)
		return "absent";
	if (v == XXH3_64bits_withSeed("", 0, 'f'))
		return "an empty file";
	return "content that is none of its versions";
}
