/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The plan of a partial live power cut (see cutplan.h for the method):
 * the record name's syntax, the seeded draws, the selection of writes and
 * parts, and the settling of both into per-unit program-order prefixes.
 */
#include "core/cutplan.h"

#include "core/ranges.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the record name -------------------------------------------------- */

/* A list "1,4,7" into v (at most CUTPLAN_MAX_SEL numbers >= 1). */
static int parse_list(const char *key, const char *v, uint64_t *out,
		      uint32_t *n, char *err, size_t errlen)
{
	char *end;

	*n = 0;
	do {
		if (*n == CUTPLAN_MAX_SEL) {
			snprintf(err, errlen, "%s: more than %d numbers", key,
				 CUTPLAN_MAX_SEL);
			return -EINVAL;
		}
		if (*v < '0' || *v > '9')
			goto bad;
		errno = 0;
		out[*n] = strtoull(v, &end, 10);
		if (errno || !out[*n] || (*end && *end != ','))
			goto bad;
		(*n)++;
		v = *end ? end + 1 : end;
	} while (*end);
	return 0;
bad:
	snprintf(err, errlen, "%s: bad number list (1,4,...)", key);
	return -EINVAL;
}

static int parse_u64(const char *key, const char *v, uint64_t *out, char *err,
		     size_t errlen)
{
	char *end;

	errno = 0;
	if (*v < '0' || *v > '9')
		goto bad;
	*out = strtoull(v, &end, 10);
	if (errno || *end)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "%s: bad number '%s'", key, v);
	return -EINVAL;
}

/* One key=value of a partial cut's name. */
static int parse_field(struct cutplan_spec *s, const char *key, const char *v,
		       char *err, size_t errlen)
{
	uint64_t list[CUTPLAN_MAX_SEL], x;
	uint32_t n;
	int e;

	if (!strcmp(key, "writes") || !strcmp(key, "persist") ||
	    !strcmp(key, "part-bytes")) {
		e = parse_list(key, v, list, &n, err, errlen);
		if (e)
			return e;
		if (!strcmp(key, "part-bytes")) {
			memcpy(s->part_bytes, list, n * sizeof(*list));
			s->nbytes = n;
			return 0;
		}
		for (uint32_t i = 0; i < n; i++) {
			if (list[i] > (key[0] == 'w' ? UINT32_MAX - 1
						     : CUTPLAN_MAX_SEL)) {
				snprintf(err, errlen,
					 "%s: %" PRIu64 " is out "
					 "of range",
					 key, list[i]);
				return -EINVAL;
			}
			if (key[0] == 'w')
				s->writes[i] = (uint32_t)list[i];
			else
				s->persist |= 1ULL << (list[i] - 1);
		}
		if (key[0] == 'w')
			s->nwrites = n;
		return 0;
	}
	if (strcmp(key, "meta") && strcmp(key, "unit") && strcmp(key, "seed") &&
	    strcmp(key, "file") && strcmp(key, "write") &&
	    strcmp(key, "parts")) {
		snprintf(err, errlen, "unknown field '%s'", key);
		return -EINVAL;
	}
	e = parse_u64(key, v, &x, err, errlen);
	if (e)
		return e;
	if (!strcmp(key, "meta")) {
		s->meta = x;
	} else if (!strcmp(key, "unit")) {
		if (x < 512 || x > CUTPLAN_UNIT_MAX || (x & (x - 1))) {
			snprintf(err, errlen,
				 "unit: %" PRIu64 " is not a power "
				 "of two from 512 to %d",
				 x, CUTPLAN_UNIT_MAX);
			return -EINVAL;
		}
		s->unit = (uint32_t)x;
	} else if (!strcmp(key, "seed")) {
		s->mode = CUTPLAN_SEEDED;
		s->seed = x;
	} else if (!strcmp(key, "file") && x) {
		s->mode = CUTPLAN_SELECT;
		s->file = x;
	} else if (!strcmp(key, "write") && x && x < UINT32_MAX) {
		s->torn = (uint32_t)x;
	} else if (!strcmp(key, "parts") && x && x <= CUTPLAN_MAX_SEL) {
		s->nparts = (uint32_t)x;
	} else {
		snprintf(err, errlen, "%s: %s is out of range", key, v);
		return -EINVAL;
	}
	return 0;
}

/* The combination is one the planner takes. */
static int check_spec(const struct cutplan_spec *s, bool has_meta, char *err,
		      size_t errlen)
{
	uint32_t parts = s->nparts ? s->nparts : s->nbytes;

	if (!has_meta || !s->unit || !s->mode) {
		snprintf(err, errlen,
			 "a partial cut needs meta=, unit= and "
			 "seed= or file=");
		return -EINVAL;
	}
	if (s->mode == CUTPLAN_SEEDED &&
	    (s->nwrites || s->torn || parts || s->persist)) {
		snprintf(err, errlen,
			 "seed= and a selection of writes "
			 "conflict");
		return -EINVAL;
	}
	if (s->mode == CUTPLAN_SELECT && !s->nwrites && !s->torn) {
		snprintf(err, errlen, "file= needs writes= or write=");
		return -EINVAL;
	}
	if (!s->torn != !parts || (s->nparts && s->nbytes) ||
	    (s->torn && !s->persist)) {
		snprintf(err, errlen,
			 "write= needs parts= or part-bytes=, "
			 "and persist=");
		return -EINVAL;
	}
	if (parts < 64 && s->persist >> parts) {
		snprintf(err, errlen, "persist: a part past the %u there are",
			 parts);
		return -EINVAL;
	}
	return 0;
}

int cutplan_parse(const char *name, struct cutplan_spec *s, char *err,
		  size_t errlen)
{
	char buf[1024], *save = NULL, *tok;
	bool has_meta = false;
	int e;

	memset(s, 0, sizeof(*s));
	if (!name || strncmp(name, "posix ", 6) || !strstr(name, " unit="))
		return 0;
	if (strlen(name) >= sizeof(buf)) {
		snprintf(err, errlen, "power cut name too long");
		return -EINVAL;
	}
	strcpy(buf, name + 6);
	for (tok = strtok_r(buf, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq || eq == tok || !eq[1]) {
			snprintf(err, errlen, "'%s' is not key=value", tok);
			return -EINVAL;
		}
		*eq = '\0';
		has_meta |= !strcmp(tok, "meta");
		e = parse_field(s, tok, eq + 1, err, errlen);
		if (e)
			return e;
	}
	e = check_spec(s, has_meta, err, errlen);
	return e ? e : 1;
}

/* Append ",a,b" (or "a,b" first) of n numbers to buf at *at. */
static void put_list(char *buf, size_t len, size_t *at, const char *key,
		     const uint64_t *v, uint32_t n)
{
	for (uint32_t i = 0; i < n && *at < len; i++)
		*at += (size_t)snprintf(buf + *at, len - *at, "%s%" PRIu64,
					i ? "," : key, v[i]);
}

int cutplan_format(const struct cutplan_spec *s, char *buf, size_t len)
{
	uint64_t v[CUTPLAN_MAX_SEL];
	uint32_t n = 0;
	size_t at;

	at = (size_t)snprintf(buf, len, "posix meta=%" PRIu64 " unit=%u",
			      s->meta, s->unit);
	if (s->mode == CUTPLAN_SEEDED && at < len)
		at += (size_t)snprintf(buf + at, len - at, " seed=%" PRIu64,
				       s->seed);
	if (s->mode == CUTPLAN_SELECT && at < len)
		at += (size_t)snprintf(buf + at, len - at, " file=%" PRIu64,
				       s->file);
	for (uint32_t i = 0; i < s->nwrites; i++)
		v[i] = s->writes[i];
	put_list(buf, len, &at, " writes=", v, s->nwrites);
	if (s->torn && at < len)
		at +=
		    (size_t)snprintf(buf + at, len - at, " write=%u", s->torn);
	if (s->nparts && at < len)
		at += (size_t)snprintf(buf + at, len - at, " parts=%u",
				       s->nparts);
	put_list(buf, len, &at, " part-bytes=", s->part_bytes, s->nbytes);
	for (uint32_t i = 0; i < 64; i++)
		if (s->persist & (1ULL << i))
			v[n++] = i + 1;
	put_list(buf, len, &at, " persist=", v, n);
	return at < len ? (int)at : -ENAMETOOLONG;
}

/* ---- options: what users write ---------------------------------------- */

/* "1,4,7" into v[] (at most CUTPLAN_MAX_SEL numbers > 0, each <= max). */
static int word_list(const char *key, const char *s, uint64_t max, uint64_t *v,
		     uint32_t *n, char *err, size_t errlen)
{
	char *end;

	for (*n = 0;; s = end + 1) {
		errno = 0;
		if (*n == CUTPLAN_MAX_SEL || *s < '0' || *s > '9')
			break;
		v[*n] = strtoull(s, &end, 10);
		if (errno || !v[*n] || v[*n] > max || (*end && *end != ','))
			break;
		(*n)++;
		if (!*end)
			return 0;
	}
	snprintf(err, errlen,
		 "%s: bad list '%s' (numbers from 1 to %" PRIu64
		 ", comma-separated, at most %d)",
		 key, s, max, CUTPLAN_MAX_SEL);
	return -EINVAL;
}

/* writes=LIST of cutplan_words(): numbers from 1, "last", "last-D". */
static int writes_list(struct cutplan_spec *s, const char *v, char *err,
		       size_t errlen)
{
	const char *p = v;
	uint64_t x;
	char *end;

	for (s->nwrites = 0; s->nwrites < CUTPLAN_MAX_SEL; p = end + 1) {
		bool rel = !strncmp(p, "last", 4);

		errno = 0;
		x = 0;
		end = (char *)p + 4;
		if (rel && *end == '-' && end[1] >= '0' && end[1] <= '9')
			x = strtoull(end + 1, &end, 10);
		else if (rel && *end != ',' && *end)
			break;
		else if (!rel && *p >= '0' && *p <= '9')
			x = strtoull(p, &end, 10);
		else if (!rel)
			break;
		if (errno || (*end && *end != ',') ||
		    (rel ? x >= CUTPLAN_MAX_WRITES
			 : !x || x > CUTPLAN_WRITES_MAX))
			break;
		s->writes[s->nwrites++] =
		    rel ? CUTPLAN_LAST - (uint32_t)x : (uint32_t)x;
		if (!*end)
			return 0;
	}
	snprintf(err, errlen,
		 "writes: bad list '%s' (numbers from 1 to %u, or last-D "
		 "counting back from the last write, D below %d; "
		 "comma-separated, at most %d)",
		 v, (unsigned)CUTPLAN_WRITES_MAX, CUTPLAN_MAX_WRITES,
		 CUTPLAN_MAX_SEL);
	return -EINVAL;
}

/* One word of cutplan_words(). */
static int word(struct cutplan_spec *s, bool *keep_meta, const char *w,
		char *err, size_t errlen)
{
	const char *v = strchr(w, '=');
	uint64_t list[CUTPLAN_MAX_SEL], x = 0;
	uint32_t n;
	char *end;
	int e;

	if (!strcmp(w, "strict"))
		return 0;
	if (!strcmp(w, "keep-metadata")) {
		*keep_meta = true;
		return 0;
	}
	if (!v)
		goto unknown;
	v++;
	if (!strncmp(w, "writes=", 7))
		return writes_list(s, v, err, errlen);
	if (!strncmp(w, "persist=", 8) || !strncmp(w, "part-bytes=", 11)) {
		bool bytes = w[1] == 'a';

		e = word_list(bytes ? "part-bytes" : "persist", v,
			      bytes ? UINT32_MAX : CUTPLAN_MAX_SEL, list, &n,
			      err, errlen);
		if (e)
			return e;
		for (uint32_t i = 0; i < n; i++) {
			if (bytes)
				s->part_bytes[i] = list[i];
			else
				s->persist |= 1ULL << (list[i] - 1);
		}
		if (bytes)
			s->nbytes = n;
		return 0;
	}
	if (!strncmp(w, "tear=", 5) && !strcmp(v, "sector")) {
		s->unit = CUTPLAN_UNIT;
		return 0;
	}
	if (!strncmp(w, "tear=", 5) && !strcmp(v, "page")) {
		s->unit = CUTPLAN_PAGE;
		return 0;
	}
	if (!strncmp(w, "write=", 6) && !strcmp(v, "last")) {
		s->torn = CUTPLAN_LAST;
		return 0;
	}
	if (strncmp(w, "seed=", 5) && strncmp(w, "tear=", 5) &&
	    strncmp(w, "write=", 6) && strncmp(w, "parts=", 6))
		goto unknown;
	errno = 0;
	if (*v >= '0' && *v <= '9')
		x = strtoull(v, &end, 10);
	if (!x || errno || *end)
		goto bad;
	if (!strncmp(w, "seed=", 5)) {
		s->mode = CUTPLAN_SEEDED;
		s->seed = x;
	} else if (!strncmp(w, "tear=", 5) && x >= 512 &&
		   x <= CUTPLAN_UNIT_MAX && !(x & (x - 1))) {
		s->unit = (uint32_t)x;
	} else if (!strncmp(w, "write=", 6) && x < UINT32_MAX) {
		s->torn = (uint32_t)x;
	} else if (!strncmp(w, "parts=", 6) && x <= CUTPLAN_MAX_SEL) {
		s->nparts = (uint32_t)x;
	} else {
		goto bad;
	}
	return 0;
bad:
	if (!strncmp(w, "tear=", 5))
		snprintf(err, errlen,
			 "tear: bad value '%s' (sector, page, or a power of "
			 "two from 512 to %d)",
			 v, CUTPLAN_UNIT_MAX);
	else if (!strncmp(w, "seed=", 5))
		snprintf(err, errlen, "seed: bad value '%s' (a number)", v);
	else
		snprintf(err, errlen, "%.*s: bad value '%s'", (int)(v - w - 1),
			 w, v);
	return -EINVAL;
unknown:
	snprintf(err, errlen,
		 "unknown word '%s' (strict, keep-metadata, seed=S, "
		 "tear=sector|page|N, writes=LIST, write=K|last, parts=N, "
		 "part-bytes=LIST, persist=LIST)",
		 w);
	return -EINVAL;
}

/* The words make one cut. */
static int words_check(struct cutplan_spec *s, char *err, size_t errlen)
{
	uint32_t parts = s->nparts ? s->nparts : s->nbytes;
	bool sel = s->nwrites || s->torn || parts || s->persist;

	if (s->mode == CUTPLAN_SEEDED && sel) {
		snprintf(err, errlen,
			 "seed and a selection of writes "
			 "conflict: the seed draws which writes "
			 "persist");
		return -EINVAL;
	}
	if (sel && !s->nwrites && !s->torn) {
		snprintf(err, errlen,
			 "parts, part-bytes and persist tear the "
			 "write named by write=K");
		return -EINVAL;
	}
	if (s->torn && (!parts || !s->persist || (s->nparts && s->nbytes))) {
		snprintf(err, errlen,
			 "write=K needs parts=N or "
			 "part-bytes=LIST, and persist=LIST");
		return -EINVAL;
	}
	if (parts && parts < 64 && s->persist >> parts) {
		snprintf(err, errlen,
			 "persist: names a part past the %u "
			 "there are",
			 parts);
		return -EINVAL;
	}
	if (s->unit && !sel && s->mode != CUTPLAN_SEEDED) {
		snprintf(err, errlen,
			 "tear applies to a cut with a seed or a "
			 "selection of writes");
		return -EINVAL;
	}
	if (sel)
		s->mode = CUTPLAN_SELECT;
	if (!s->unit)
		s->unit = CUTPLAN_UNIT;
	return 0;
}

int cutplan_words(const char *text, struct cutplan_spec *s, bool *keep_meta,
		  char *err, size_t errlen)
{
	char buf[1024], *save = NULL, *w;
	int e;

	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, errlen, "power cut options too long");
		return -EINVAL;
	}
	strcpy(buf, text);
	for (w = strtok_r(buf, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		e = word(s, keep_meta, w, err, errlen);
		if (e)
			return e;
	}
	return words_check(s, err, errlen);
}

/* ---- the plan ---------------------------------------------------------- */

/* The part of a torn write [a, a + len) that byte x is in (1-based):
 * equal parts of len / nparts bytes, the last one taking the rest, or
 * parts of the sizes listed (bytes past them are the last one's). */
static uint32_t part_of(const struct cutplan_spec *s, uint64_t a, uint64_t len,
			uint64_t x)
{
	uint64_t q, sum = 0;

	if (s->nparts) {
		q = len / s->nparts;
		if (!q || (x - a) / q >= s->nparts)
			return s->nparts;
		return (uint32_t)((x - a) / q + 1);
	}
	for (uint32_t i = 0; i < s->nbytes; i++) {
		sum += s->part_bytes[i];
		if (x - a < sum)
			return i + 1;
	}
	return s->nbytes;
}

/*
 * What a seeded cut asks of write number k of its file (h: the file's
 * draw).  Drawn from k, not from the write's seq: records that come
 * between in another order from one run to the next (the kernel sends
 * RELEASE after close() returns) must not change the state a seed gives.
 */
static uint8_t seeded_ask(uint64_t h, const struct cutplan_item *it, uint32_t k,
			  uint64_t *hw)
{
	*hw = cutplan_mix(h, k);
	switch (h % 4) {
	case 0: return CF_LOST;
	case 1: return CF_WHOLE;
	}
	switch (*hw % 8) {
	case 0:
	case 1:
	case 2:
	case 3: return CF_WHOLE;
	case 6: return CF_TORN;
	case 7: return it->extends ? CF_SIZE : CF_LOST;
	default: return CF_LOST;
	}
}

/* What a selection asks of write number k of n. */
static uint8_t select_ask(const struct cutplan_spec *s, bool selected,
			  uint32_t k, uint32_t n)
{
	if (!selected)
		return CF_LOST;
	if (s->torn && (s->torn == k || (s->torn == CUTPLAN_LAST && k == n)))
		return CF_TORN;
	for (uint32_t i = 0; i < s->nwrites; i++)
		if (cutplan_resolve(s->writes[i], n) == k)
			return CF_WHOLE;
	return CF_LOST;
}

struct planner {
	const struct cutplan_spec *s;
	struct cutplan_file *out;
	struct ranges closed;	    /* units no later write may persist in */
	struct cutplan_piece *shut; /* ... those the current write closes */
	size_t nshut, capshut;
};

/* Note [a, b) as closed by the current write (added to p->closed once
 * the write is done: p->closed is being walked meanwhile). */
static int shut_add(struct planner *p, uint64_t a, uint64_t b)
{
	struct cutplan_piece *v;

	if (p->nshut == p->capshut) {
		size_t cap = p->capshut ? 2 * p->capshut : 8;

		v = realloc(p->shut, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->shut = v;
		p->capshut = cap;
	}
	p->shut[p->nshut++] = (struct cutplan_piece){a, b};
	return 0;
}

static int piece_add(struct cutplan_file *out, uint32_t first, uint64_t a,
		     uint64_t b)
{
	struct cutplan_piece *p;

	if (out->npieces > first && out->pieces[out->npieces - 1].end == a) {
		out->pieces[out->npieces - 1].end = b;
		return 0;
	}
	if (out->npieces == out->cap) {
		size_t cap = out->cap ? 2 * out->cap : 16;

		p = realloc(out->pieces, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		out->pieces = p;
		out->cap = cap;
	}
	out->pieces[out->npieces++] = (struct cutplan_piece){a, b};
	return 0;
}

/* Is unit [u, u + unit) of the write asked for? */
static bool unit_asked(const struct cutplan_spec *s, uint8_t ask, uint64_t hw,
		       const struct cutplan_item *it, uint64_t u)
{
	uint64_t first = u > it->off ? u : it->off;

	if (ask == CF_WHOLE)
		return true;
	if (ask != CF_TORN)
		return false;
	if (s->mode == CUTPLAN_SEEDED)
		return cutplan_mix(hw, u / s->unit) & 1;
	return s->persist &
	       (1ULL << (part_of(s, it->off, it->end - it->off, first) - 1));
}

/* Settle one write: keep the units asked for that no lost write or dropped
 * size op closed, close the others. */
static int plan_write(struct planner *p, const struct cutplan_item *it,
		      struct cutplan_fate *f, uint64_t hw)
{
	const struct cutplan_spec *s = p->s;
	uint64_t unit = s->unit, u = it->off / unit * unit, shut_from = 0;
	bool shutting = false;
	size_t ci;
	int err = 0;

	f->first = (uint32_t)p->out->npieces;
	ranges_norm(&p->closed);
	ci = ranges_find(&p->closed, (int64_t)u);
	for (; u < it->end && !err; u += unit) {
		uint64_t a = u > it->off ? u : it->off;
		uint64_t b = u + unit < it->end ? u + unit : it->end;
		bool asked = unit_asked(s, f->ask, hw, it, u), closed;

		while (ci < p->closed.n && p->closed.v[ci].end <= (int64_t)u)
			ci++;
		closed = ci < p->closed.n && p->closed.v[ci].off <= (int64_t)u;
		if (asked && !closed) {
			err = piece_add(p->out, f->first, a, b);
			if (shutting && !err)
				err = shut_add(p, shut_from, u);
			shutting = false;
			continue;
		}
		p->out->settled += asked;
		if (!shutting)
			shut_from = u;
		shutting = true;
	}
	if (!err && shutting)
		err = shut_add(p, shut_from, u);
	for (size_t i = 0; i < p->nshut && !err; i++)
		err = ranges_add(&p->closed, (int64_t)p->shut[i].off,
				 (int64_t)p->shut[i].end);
	p->nshut = 0;
	f->n = (uint32_t)(p->out->npieces - f->first);
	if (f->n)
		f->size = p->out->pieces[p->out->npieces - 1].end;
	if (f->ask == CF_SIZE)
		f->size = it->end;
	if (f->n == 1 && p->out->pieces[f->first].off == it->off &&
	    p->out->pieces[f->first].end == it->end)
		p->out->whole++;
	else if (f->n)
		p->out->torn++;
	else if (f->size)
		p->out->size_only++;
	else
		p->out->lost++;
	return err;
}

int cutplan_file(const struct cutplan_spec *s, uint64_t id,
		 const struct cutplan_item *items, size_t n,
		 struct cutplan_file *out)
{
	struct planner p = {.s = s, .out = out};
	uint64_t h = cutplan_mix(s->seed, id), hw = 0, unit = s->unit;
	uint32_t k = 0, nw = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->fate = calloc(n ? n : 1, sizeof(*out->fate));
	if (!out->fate)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		nw += items[i].kind == CI_WRITE;
	for (size_t i = 0; i < n && !err; i++) {
		const struct cutplan_item *it = &items[i];
		struct cutplan_fate *f = &out->fate[i];

		if (it->kind == CI_BLOCK) {
			/* the units it touched, to the end of the file */
			uint64_t a = it->off / unit * unit;
			int64_t b =
			    it->end >= (uint64_t)INT64_MAX - unit
				? INT64_MAX
				: (int64_t)((it->end + unit - 1) / unit * unit);

			err = ranges_add(&p.closed, (int64_t)a, b);
			continue;
		}
		if (it->kind != CI_WRITE || it->end <= it->off)
			continue;
		k++;
		if (s->mode == CUTPLAN_SEEDED)
			f->ask = seeded_ask(h, it, k, &hw);
		else
			f->ask = select_ask(s, id == s->file, k, nw);
		err = plan_write(&p, it, f, hw);
	}
	ranges_release(&p.closed);
	free(p.shut);
	if (err)
		cutplan_file_release(out);
	return err;
}

void cutplan_file_release(struct cutplan_file *out)
{
	free(out->fate);
	free(out->pieces);
	memset(out, 0, sizeof(*out));
}

bool cutplan_whole_keeps(const struct cutplan_spec *s, uint64_t id,
			 bool keepable)
{
	return keepable && s->mode == CUTPLAN_SEEDED &&
	       cutplan_mix(s->seed, id) % 4 == 1;
}
