/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Unit tests for core/trace: every record type round-trips with every
 * field it uses; a trace cut at any byte reads back up to the last whole
 * record; a flipped byte anywhere is either caught or, in the last record
 * only, taken for a cut tail, and never changes a record; a foreign, empty,
 * future or damaged header gets a clear message; a failed append leaves a
 * readable trace.
 *
 * The fields each type uses are listed here again (fields_of()), from the
 * comments of trace.h rather than from trace.c's table, so a record type
 * that silently drops a documented field fails the round trip.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/trace.h"

#include <xxhash.h>

/* Fields of struct trace_rec a type stores (besides the common header). */
enum {
	F_ID = 1 << 0,
	F_ID2 = 1 << 1,
	F_PARENT = 1 << 2,
	F_PARENT2 = 1 << 3,
	F_FH = 1 << 4,
	F_OFF = 1 << 5,
	F_OFF2 = 1 << 6,
	F_LEN = 1 << 7,
	F_MODE = 1 << 8,
	F_OFLAGS = 1 << 9,
	F_UID = 1 << 10,
	F_GID = 1 << 11,
	F_ATIME = 1 << 12,
	F_MTIME = 1 << 13,
	F_NAME = 1 << 14,
	F_NAME2 = 1 << 15,
	F_DATA = 1 << 16,
};

static unsigned int fields_of(unsigned int type)
{
	switch (type) {
	case TR_BIND: return F_ID | F_PARENT | F_NAME | F_MODE | F_LEN;
	case TR_CREATE:
		return F_PARENT | F_NAME | F_ID | F_MODE | F_OFLAGS | F_FH;
	case TR_MKNOD: return F_PARENT | F_NAME | F_ID | F_MODE | F_OFF;
	case TR_MKDIR: return F_PARENT | F_NAME | F_ID | F_MODE;
	case TR_SYMLINK: return F_PARENT | F_NAME | F_ID | F_NAME2;
	case TR_LINK: return F_ID | F_PARENT | F_NAME;
	case TR_UNLINK: return F_PARENT | F_NAME | F_ID;
	case TR_RMDIR: return F_PARENT | F_NAME | F_ID;
	case TR_RENAME:
		return F_PARENT | F_NAME | F_PARENT2 | F_NAME2 | F_OFLAGS |
		       F_ID | F_ID2;
	case TR_OPEN: return F_ID | F_FH | F_OFLAGS;
	case TR_WRITE: return F_ID | F_FH | F_OFF | F_DATA;
	case TR_TRUNCATE: return F_ID | F_LEN | F_FH;
	case TR_FALLOCATE: return F_ID | F_FH | F_OFLAGS | F_OFF | F_LEN;
	case TR_COPY_RANGE: return F_ID2 | F_OFF2 | F_ID | F_OFF | F_LEN;
	case TR_SETATTR:
		return F_ID | F_OFLAGS | F_MODE | F_UID | F_GID | F_ATIME |
		       F_MTIME;
	case TR_SETXATTR: return F_ID | F_NAME | F_DATA | F_OFLAGS;
	case TR_REMOVEXATTR: return F_ID | F_NAME;
	case TR_FLUSH:
	case TR_RELEASE:
	case TR_FSYNC:
	case TR_FSYNCDIR: return F_ID | F_FH;
	case TR_MARK: return F_NAME;
	case TR_FAULT: return F_NAME | F_OFLAGS | F_ID;
	case TR_POWERCUT: return F_NAME;
	case TR_SYNC: return F_OFLAGS;
	case TR_SYNC_RANGE: return F_ID | F_OFF | F_LEN | F_OFLAGS;
	default: return 0;
	}
}

#define BIG_DATA (1u << 20)

static char long_name[TRACE_NAME_MAX + 2];    /* TRACE_NAME_MAX bytes */
static char long_name2[TRACE_NAME_MAX + 2];   /* another one */
static unsigned char big_data[BIG_DATA];      /* a large payload */
static char dir[] = "/tmp/test_trace.XXXXXX"; /* files of the tests */

static char *tpath(const char *name)
{
	static char buf[4][256];
	static int n;
	char *p = buf[n++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

/*
 * A record of the given type with every field set, the values depending
 * on the variant: 0 empty names and payload, 1 small, 2 maximal names and
 * a 1 MiB payload, 3 odd bytes and a failed result.
 */
static void fill(struct trace_rec *rec, unsigned int type, int variant)
{
	uint64_t k = (uint64_t)type << 8 | (uint64_t)variant;

	memset(rec, 0, sizeof(*rec));
	rec->type = type;
	rec->flags = (uint16_t)(0x8000 | k);
	rec->pid = variant == 3 ? 0xffffffffu : 1000 + type;
	rec->result = variant == 3 ? -ENOENT : (int32_t)(4096 * type);
	rec->id = 0x0101010101000000ull | k;
	rec->id2 = 0x0202020202000000ull | k;
	rec->parent = 0x0303030303000000ull | k;
	rec->parent2 = 0x0404040404000000ull | k;
	rec->fh = 0x0505050505000000ull | k;
	rec->off = variant == 3 ? UINT64_MAX : 0x0606060606000000ull | k;
	rec->off2 = 0x0707070707000000ull | k;
	rec->len = 0x0808080808000000ull | k;
	rec->mode = 0100644 | (uint32_t)variant << 24;
	rec->oflags = 0x09090000u | (uint32_t)k;
	rec->uid = variant == 3 ? 0xffffffffu : 1000 + (uint32_t)k;
	rec->gid = variant == 3 ? 0xfffffffeu : 2000 + (uint32_t)k;
	rec->atime.tv_sec = variant == 3 ? -1 : 1700000000 + (time_t)k;
	rec->atime.tv_nsec = 999999999;
	rec->mtime.tv_sec = variant == 3 ? INT64_MIN : 1600000000 + (time_t)k;
	rec->mtime.tv_nsec = 1 + (long)k;
	switch (variant) {
	case 0:
		rec->name = "";
		rec->name2 = "";
		rec->data = NULL;
		rec->data_len = 0;
		break;
	case 1:
		rec->name = "config.json.tmp";
		rec->name2 = "config.json";
		rec->data = "hello";
		rec->data_len = 5;
		break;
	case 2:
		rec->name = long_name;
		rec->name2 = long_name2;
		rec->data = big_data;
		rec->data_len = type == TR_SETXATTR ? 65536 : BIG_DATA;
		break;
	default:
		rec->name = "caf\xc3\xa9 \"q\"\n\t\\ /..";
		rec->name2 = "\x01\x7f\xff";
		rec->data = "\0\0\0\xff";
		rec->data_len = 4;
		break;
	}
}

/* What the reader must give back for rec: unused fields are zero. */
static void expected(struct trace_rec *exp, const struct trace_rec *rec)
{
	unsigned int f = fields_of(rec->type);

	*exp = (struct trace_rec){
	    .seq = rec->seq,
	    .time_ns = rec->time_ns,
	    .type = rec->type,
	    .flags = rec->flags,
	    .pid = rec->pid,
	    .result = rec->result,
	};
	if (f & F_ID)
		exp->id = rec->id;
	if (f & F_ID2)
		exp->id2 = rec->id2;
	if (f & F_PARENT)
		exp->parent = rec->parent;
	if (f & F_PARENT2)
		exp->parent2 = rec->parent2;
	if (f & F_FH)
		exp->fh = rec->fh;
	if (f & F_OFF)
		exp->off = rec->off;
	if (f & F_OFF2)
		exp->off2 = rec->off2;
	if (f & F_LEN)
		exp->len = rec->len;
	if (f & F_MODE)
		exp->mode = rec->mode;
	if (f & F_OFLAGS)
		exp->oflags = rec->oflags;
	if (f & F_UID)
		exp->uid = rec->uid;
	if (f & F_GID)
		exp->gid = rec->gid;
	if (f & F_ATIME)
		exp->atime = rec->atime;
	if (f & F_MTIME)
		exp->mtime = rec->mtime;
	if (f & F_NAME)
		exp->name = rec->name;
	if (f & F_NAME2)
		exp->name2 = rec->name2;
	if (f & F_DATA) {
		exp->data = rec->data;
		exp->data_len = rec->data_len;
	}
	if (rec->type == TR_WRITE)
		exp->len = rec->data_len; /* the reader sets len for writes */
}

static void assert_rec_equal(const struct trace_rec *got,
			     const struct trace_rec *exp)
{
	assert_int_equal(got->seq, exp->seq);
	assert_int_equal(got->time_ns, exp->time_ns);
	assert_int_equal(got->type, exp->type);
	assert_int_equal(got->flags, exp->flags);
	assert_int_equal(got->pid, exp->pid);
	assert_int_equal(got->result, exp->result);
	assert_int_equal(got->id, exp->id);
	assert_int_equal(got->id2, exp->id2);
	assert_int_equal(got->parent, exp->parent);
	assert_int_equal(got->parent2, exp->parent2);
	assert_int_equal(got->fh, exp->fh);
	assert_int_equal(got->off, exp->off);
	assert_int_equal(got->off2, exp->off2);
	assert_int_equal(got->len, exp->len);
	assert_int_equal(got->mode, exp->mode);
	assert_int_equal(got->oflags, exp->oflags);
	assert_int_equal(got->uid, exp->uid);
	assert_int_equal(got->gid, exp->gid);
	assert_int_equal(got->atime.tv_sec, exp->atime.tv_sec);
	assert_int_equal(got->atime.tv_nsec, exp->atime.tv_nsec);
	assert_int_equal(got->mtime.tv_sec, exp->mtime.tv_sec);
	assert_int_equal(got->mtime.tv_nsec, exp->mtime.tv_nsec);
	if (exp->name)
		assert_string_equal(got->name, exp->name);
	else
		assert_null(got->name);
	if (exp->name2)
		assert_string_equal(got->name2, exp->name2);
	else
		assert_null(got->name2);
	assert_int_equal(got->data_len, exp->data_len);
	if (exp->data_len)
		assert_memory_equal(got->data, exp->data, exp->data_len);
}

/*
 * Write a trace of every type in the given variants (TR_END last, by the
 * close), keeping what the reader must return in exp[] (names and data
 * point to static storage).  Returns the number of records.
 */
static size_t write_all_types(const char *path, const int *variants,
			      size_t nvariants, struct trace_rec *exp,
			      size_t max)
{
	struct trace_header h = {.sector_size = 4096};
	struct trace_writer *w;
	struct trace_rec rec;
	uint64_t before, last_time = 0;
	size_t n = 0;

	strcpy(h.backing, "/srv/backing dir");
	w = trace_writer_create(path, &h);
	assert_non_null(w);
	for (size_t v = 0; v < nvariants; v++) {
		for (unsigned int t = TR_BIND; t < TR_TYPE_MAX; t++) {
			if (t == TR_END)
				continue; /* the close writes it */
			assert_true(n < max);
			fill(&rec, t, variants[v]);
			before = trace_writer_bytes(w);
			assert_int_equal(trace_append(w, &rec), 0);
			/* trace_rec_size() is what append wrote */
			assert_int_equal(trace_writer_bytes(w) - before,
					 trace_rec_size(&rec));
			assert_int_equal(rec.seq, n + 1);
			assert_int_equal(trace_writer_count(w), n + 1);
			assert_true(rec.time_ns >= last_time);
			last_time = rec.time_ns;
			expected(&exp[n++], &rec);
		}
	}
	assert_int_equal(trace_writer_close(&w), 0);
	assert_null(w);
	assert_true(n < max);
	exp[n] = (struct trace_rec){.seq = n + 1, .type = TR_END};
	return n + 1;
}

/* Read path, checking each record against exp; returns what trace_next
 * returned last and sets *nread. */
static int read_back(const char *path, const struct trace_rec *exp, size_t nexp,
		     size_t *nread, struct trace_reader **rp)
{
	char err[512];
	struct trace_reader *r = trace_reader_open(path, err, sizeof(err));
	struct trace_rec rec, e;
	int ret;

	if (!r)
		fail_msg("cannot open: %s", err);
	*nread = 0;
	while ((ret = trace_next(r, &rec)) > 0) {
		assert_true(*nread < nexp);
		e = exp[*nread];
		/* END's time is not known in advance */
		if (e.type == TR_END)
			e.time_ns = rec.time_ns;
		assert_rec_equal(&rec, &e);
		(*nread)++;
	}
	*rp = r;
	return ret;
}

static void test_round_trip_every_type(void **state)
{
	static const int variants[] = {0, 1, 2, 3};
	static struct trace_rec exp[4 * TR_TYPE_MAX];
	const char *path = tpath("all.trace");
	struct trace_reader *r;
	const struct trace_header *h;
	struct trace_rec rec;
	size_t n, got;

	(void)state;
	n = write_all_types(path, variants, 4, exp, 4 * TR_TYPE_MAX);
	assert_int_equal(read_back(path, exp, n, &got, &r), 0);
	assert_int_equal(got, n);
	assert_true(trace_reader_complete(r));
	assert_false(trace_reader_truncated(r));
	assert_string_equal(trace_reader_error(r), "");
	h = trace_reader_header(r);
	assert_int_equal(h->version, TRACE_VERSION);
	assert_int_equal(h->sector_size, 4096);
	assert_string_equal(h->backing, "/srv/backing dir");
	assert_true(h->created_ns > 1600000000ull * 1000000000ull);

	/* data_off locates the payload in the file */
	trace_rewind(r);
	while (trace_next(r, &rec) > 0)
		if (rec.data_len)
			assert_ptr_equal(
			    trace_reader_bytes(r, rec.data_off, rec.data_len),
			    rec.data);
	assert_null(trace_reader_bytes(r, UINT64_MAX - 1, 2));
	/* after a rewind the same records come back */
	trace_rewind(r);
	assert_false(trace_reader_complete(r));
	for (got = 0; trace_next(r, &rec) > 0; got++)
		assert_int_equal(rec.seq, got + 1);
	assert_int_equal(got, n);
	trace_reader_free(&r);
	assert_null(r);
}

/* No header argument: no backing path, 512-byte sectors. */
static void test_default_header(void **state)
{
	const char *path = tpath("default.trace");
	struct trace_writer *w = trace_writer_create(path, NULL);
	struct trace_reader *r;
	char err[256];

	(void)state;
	assert_non_null(w);
	assert_int_equal(trace_writer_close(&w), 0);
	r = trace_reader_open(path, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(trace_reader_header(r)->sector_size, 512);
	assert_string_equal(trace_reader_header(r)->backing, "");
	trace_reader_free(&r);
}

static void test_name_too_long(void **state)
{
	static char name[TRACE_NAME_MAX + 2];
	const char *path = tpath("long.trace");
	struct trace_writer *w = trace_writer_create(path, NULL);
	struct trace_rec rec = {.type = TR_MARK, .name = name};
	struct trace_header h;

	(void)state;
	memset(name, 'm', TRACE_NAME_MAX + 1);
	assert_non_null(w);
	/* one byte too many is refused, not silently cut */
	assert_int_equal(trace_rec_size(&rec), 0);
	assert_int_equal(trace_append(w, &rec), -ENAMETOOLONG);
	assert_int_equal(trace_writer_count(w), 0);
	rec =
	    (struct trace_rec){.type = TR_SYMLINK, .name = "l", .name2 = name};
	assert_int_equal(trace_append(w, &rec), -ENAMETOOLONG);
	name[TRACE_NAME_MAX] = '\0';
	assert_int_equal(trace_append(w, &rec), 0);
	rec = (struct trace_rec){.type = TR_WRITE, .data_len = 1};
	assert_int_equal(trace_append(w, &rec), -EINVAL); /* data NULL */
	rec = (struct trace_rec){.type = 0};
	assert_int_equal(trace_append(w, &rec), -EINVAL);
	rec.type = TR_TYPE_MAX;
	assert_int_equal(trace_append(w, &rec), -EINVAL);
	assert_int_equal(trace_writer_count(w), 1);
	assert_int_equal(trace_writer_close(&w), 0);

	memset(&h, 'b', sizeof(h));
	h.sector_size = 512;
	errno = 0;
	assert_null(trace_writer_create(tpath("long2.trace"), &h));
	assert_int_equal(errno, ENAMETOOLONG);
}

static void test_write_overhead(void **state)
{
	static unsigned char buf[4096];
	struct trace_rec rec = {.type = TR_WRITE,
				.id = 7,
				.fh = 3,
				.off = 1 << 20,
				.data = buf,
				.data_len = sizeof(buf)};
	struct trace_writer *w = trace_writer_create(tpath("ovh.trace"), NULL);
	uint64_t before;

	(void)state;
	assert_non_null(w);
	before = trace_writer_bytes(w);
	assert_int_equal(trace_append(w, &rec), 0);
	assert_int_equal(trace_writer_bytes(w) - before, trace_rec_size(&rec));
	assert_true(trace_rec_size(&rec) - sizeof(buf) < 64);
	assert_int_equal(trace_writer_close(&w), 0);
}

/* A closed trace gives back what trace_reserve() preallocated (a hole
 * punched past the end of file would not, on ext4). */
static void test_close_frees_reservation(void **state)
{
	const char *path = tpath("reserve.trace");
	struct trace_writer *w = trace_writer_create(path, NULL);
	struct trace_rec rec = {.type = TR_MARK, .name = "m"};
	struct stat st;

	(void)state;
	assert_non_null(w);
	assert_int_equal(trace_reserve(w, 100), 0);
	assert_int_equal(trace_append(w, &rec), 0);
	assert_int_equal(trace_reserve(w, 1 << 20), 0);
	assert_int_equal(trace_writer_close(&w), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 < 64 * 1024);
}

/* The bytes of a file, and the offsets where its records start. */
struct image {
	unsigned char *buf; /* the whole file */
	size_t len;	    /* its size */
	size_t rec_off[64]; /* start of each record, then the end */
	size_t nrec;	    /* records */
};

static void load_image(const char *path, const struct trace_rec *exp, size_t n,
		       struct image *img)
{
	FILE *f = fopen(path, "rb");
	struct stat st;

	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	img->len = (size_t)st.st_size;
	img->buf = malloc(img->len);
	assert_non_null(img->buf);
	assert_int_equal(fread(img->buf, 1, img->len, f), img->len);
	fclose(f);
	assert_true(n < 64);
	img->nrec = n;
	img->rec_off[n] = img->len;
	for (size_t i = n; i-- > 0;)
		img->rec_off[i] = img->rec_off[i + 1] - trace_rec_size(&exp[i]);
}

static void save(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Records with names, payloads, failed results: one of each variant. */
static size_t small_trace(const char *path, struct trace_rec *exp)
{
	static const int variants[] = {1, 3};

	return write_all_types(path, variants, 2, exp, 64);
}

static void test_cut_at_every_byte(void **state)
{
	static struct trace_rec exp[64];
	const char *path = tpath("cut-src.trace");
	const char *cut = tpath("cut.trace");
	struct trace_reader *r;
	struct image img;
	size_t n, got, k = 0;
	int ret;

	(void)state;
	n = small_trace(path, exp);
	load_image(path, exp, n, &img);
	for (size_t len = img.rec_off[0]; len <= img.len; len++) {
		while (k < n && img.rec_off[k + 1] <= len)
			k++; /* records 0..k-1 are whole */
		save(cut, img.buf, len);
		ret = read_back(cut, exp, n, &got, &r);
		assert_int_equal(ret, 0);
		assert_int_equal(got, k);
		/* cut inside a record: truncated; between records: not */
		assert_int_equal(trace_reader_truncated(r),
				 len != img.rec_off[k]);
		assert_int_equal(trace_reader_complete(r), k == n);
		assert_string_equal(trace_reader_error(r), "");
		trace_reader_free(&r);
	}
	free(img.buf);
}

/* A file whose size reached the disk before its last blocks did. */
static void test_zero_filled_tail(void **state)
{
	static struct trace_rec exp[64];
	const char *path = tpath("zero-src.trace");
	struct trace_reader *r;
	struct image img;
	size_t n, got;
	unsigned char *buf;

	(void)state;
	n = small_trace(path, exp);
	load_image(path, exp, n, &img);
	buf = calloc(1, img.len + 8192);
	assert_non_null(buf);
	memcpy(buf, img.buf, img.rec_off[n - 1]);
	save(path, buf, img.rec_off[n - 1] + 8192);
	assert_int_equal(read_back(path, exp, n, &got, &r), 0);
	assert_int_equal(got, n - 1);
	assert_true(trace_reader_truncated(r));
	trace_reader_free(&r);
	free(buf);
	free(img.buf);
}

static void test_flipped_byte(void **state)
{
	static const unsigned char flips[] = {0x01, 0x80, 0xff, 0x10};
	static struct trace_rec exp[64];
	const char *path = tpath("flip-src.trace");
	const char *bad = tpath("flip.trace");
	char msg[128];
	struct trace_reader *r;
	struct image img;
	size_t n, got, k = 0;
	int ret;

	(void)state;
	n = small_trace(path, exp);
	load_image(path, exp, n, &img);
	for (size_t off = img.rec_off[0]; off < img.len; off++) {
		while (img.rec_off[k + 1] <= off)
			k++; /* the flipped byte is in record k */
		for (size_t i = 0; i < sizeof(flips); i++) {
			img.buf[off] ^= flips[i];
			save(bad, img.buf, img.len);
			img.buf[off] ^= flips[i];
			/* records before k come back unchanged ... */
			ret = read_back(bad, exp, n, &got, &r);
			assert_int_equal(got, k);
			if (ret == 0) {
				/* ... a cut tail is only believed at the
				 * end: a damaged size in the middle is not
				 * taken for the end of the trace */
				assert_int_equal(k, n - 1);
				assert_true(trace_reader_truncated(r));
			} else {
				assert_int_equal(ret, -EBADMSG);
				snprintf(msg, sizeof(msg),
					 "is corrupt at offset %zu: ",
					 img.rec_off[k]);
				assert_non_null(
				    strstr(trace_reader_error(r), msg));
				assert_non_null(
				    strstr(trace_reader_error(r), bad));
				/* the reader stays at the bad record */
				assert_int_equal(trace_next(r, &exp[63]),
						 -EBADMSG);
			}
			trace_reader_free(&r);
		}
	}
	free(img.buf);
}

/* Read a live or cut trace: the records, whether it is cut, no error. */
static size_t count_records(const char *path, bool *truncated, bool *complete)
{
	char err[512];
	struct trace_reader *r = trace_reader_open(path, err, sizeof(err));
	struct trace_rec rec;
	size_t n = 0;
	int ret;

	if (!r)
		fail_msg("cannot open: %s", err);
	while ((ret = trace_next(r, &rec)) > 0) {
		assert_int_equal(rec.seq, n + 1);
		if (rec.type == TR_WRITE) {
			assert_int_equal(rec.len, rec.off);
			assert_memory_equal(rec.data, big_data, rec.len);
		}
		n++;
	}
	assert_int_equal(ret, 0);
	assert_string_equal(trace_reader_error(r), "");
	*truncated = trace_reader_truncated(r);
	*complete = trace_reader_complete(r);
	trace_reader_free(&r);
	return n;
}

/*
 * Appends after trace_reserve() go through a shared mapping (small
 * records) or pwritev (large ones), across several preallocation chunks.
 * A writer that was never closed (a killed daemon) leaves its records
 * followed by zeros, and an append cut before its size field was stored
 * leaves a record of size zero: both read back as a cut tail after the
 * last whole record.  Close cuts the file to its last record.
 */
static void test_mapped_appends_and_kill(void **state)
{
	static const unsigned char junk[40] = {[0 ... 39] = 0xab};
	const char *path = tpath("mapped.trace");
	struct trace_writer *w = trace_writer_create(path, NULL);
	struct trace_rec rec;
	struct stat st;
	bool truncated, complete;
	size_t n = 0;

	(void)state;
	assert_non_null(w);
	for (int i = 0; i < 3000; i++) {
		uint32_t len = i % 100 == 0 ? BIG_DATA : (uint32_t)i % 8192;

		if (i % 3)
			rec = (struct trace_rec){.type = TR_WRITE,
						 .id = 2,
						 .off = len,
						 .data = big_data,
						 .data_len = len};
		else
			rec = (struct trace_rec){.type = TR_UNLINK,
						 .parent = 1,
						 .name = "some-file-name",
						 .id = 3};
		assert_int_equal(trace_reserve(w, trace_rec_size(&rec) + 8192),
				 0);
		assert_int_equal(trace_append(w, &rec), 0);
		n++;
	}
	assert_true(trace_writer_bytes(w) > (16u << 20)); /* 3 chunks */

	/* killed: the preallocated tail is zero */
	assert_int_equal(stat(path, &st), 0);
	assert_true((uint64_t)st.st_size > trace_writer_bytes(w));
	assert_int_equal(count_records(path, &truncated, &complete), n);
	assert_true(truncated);
	assert_false(complete);

	/* killed mid-append: a body without its size field */
	{
		int fd = open(path, O_WRONLY);

		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, junk, sizeof(junk),
					(off_t)trace_writer_bytes(w) + 4),
				 sizeof(junk));
		close(fd);
	}
	assert_int_equal(count_records(path, &truncated, &complete), n);
	assert_true(truncated);
	assert_false(complete);

	assert_int_equal(trace_writer_close(&w), 0);
	assert_int_equal(count_records(path, &truncated, &complete), n + 1);
	assert_false(truncated);
	assert_true(complete);
}

/* A zero size field with an intact record after it is corrupt, not a
 * cut tail. */
static void test_zero_size_in_the_middle(void **state)
{
	static struct trace_rec exp[64];
	const char *path = tpath("zsize-src.trace");
	const char *bad = tpath("zsize.trace");
	struct trace_reader *r;
	struct image img;
	size_t n, got;

	(void)state;
	n = small_trace(path, exp);
	load_image(path, exp, n, &img);
	memset(img.buf + img.rec_off[2], 0, 4);
	save(bad, img.buf, img.len);
	assert_int_equal(read_back(bad, exp, n, &got, &r), -EBADMSG);
	assert_int_equal(got, 2);
	assert_non_null(
	    strstr(trace_reader_error(r), "impossible record size"));
	trace_reader_free(&r);
	free(img.buf);
}

static void assert_open_fails(const char *path, int err_no, const char *message)
{
	char err[512];
	struct trace_reader *r;

	errno = 0;
	r = trace_reader_open(path, err, sizeof(err));
	assert_null(r);
	assert_int_equal(errno, err_no);
	if (!strstr(err, message))
		fail_msg("message '%s' lacks '%s'", err, message);
}

static void test_bad_headers(void **state)
{
	static struct trace_rec exp[64];
	const char *path = tpath("hdr-src.trace");
	const char *bad = tpath("hdr.trace");
	char want[512];
	struct image img;
	size_t n;

	(void)state;
	n = small_trace(path, exp);
	load_image(path, exp, n, &img);

	save(bad, "", 0);
	snprintf(want, sizeof(want), "'%s' is empty, not a crashfs trace", bad);
	assert_open_fails(bad, EINVAL, want);

	save(bad, "#!/bin/sh\necho hello\n", 21);
	snprintf(want, sizeof(want), "'%s' is not a crashfs trace (bad magic)",
		 bad);
	assert_open_fails(bad, EINVAL, want);
	save(bad, "CRASH", 5);
	assert_open_fails(bad, EINVAL, want);

	save(bad, img.buf, 20);
	snprintf(want, sizeof(want),
		 "trace '%s' is cut short inside its header", bad);
	assert_open_fails(bad, EINVAL, want);
	save(bad, img.buf, img.rec_off[0] - 1);
	assert_open_fails(bad, EINVAL, want);

	/* version 3: a newer crashfs wrote it */
	img.buf[8] = 3;
	save(bad, img.buf, img.len);
	snprintf(want, sizeof(want),
		 "trace '%s' has format version 3; this crashfs reads "
		 "versions 1 to 2 (written by a newer crashfs?)",
		 bad);
	assert_open_fails(bad, EPROTO, want);
	/* version 0 never existed */
	img.buf[8] = 0;
	save(bad, img.buf, img.len);
	snprintf(want, sizeof(want),
		 "trace '%s' has format version 0; this crashfs reads "
		 "versions 1 to 2",
		 bad);
	assert_open_fails(bad, EPROTO, want);
	img.buf[8] = TRACE_VERSION;

	/* a big-endian writer */
	img.buf[10] = 1;
	img.buf[11] = 2;
	save(bad, img.buf, img.len);
	snprintf(want, sizeof(want),
		 "trace '%s' has an unknown byte order mark 0x0201 "
		 "(big-endian?)",
		 bad);
	assert_open_fails(bad, EINVAL, want);
	img.buf[10] = 2;
	img.buf[11] = 1;

	/* a damaged creation time */
	img.buf[17] ^= 0x40;
	save(bad, img.buf, img.len);
	snprintf(want, sizeof(want), "trace '%s': header checksum mismatch",
		 bad);
	assert_open_fails(bad, EINVAL, want);
	img.buf[17] ^= 0x40;

	/* a damaged header size */
	img.buf[12] ^= 0x01;
	save(bad, img.buf, img.len);
	snprintf(want, sizeof(want), "trace '%s' has a malformed header", bad);
	assert_open_fails(bad, EINVAL, want);
	img.buf[12] ^= 0x01;

	/* any flipped header byte: refused with a message naming the file */
	for (size_t off = 0; off < img.rec_off[0]; off++) {
		img.buf[off] ^= 0x04;
		save(bad, img.buf, img.len);
		img.buf[off] ^= 0x04;
		snprintf(want, sizeof(want), "'%s'", bad);
		errno = 0;
		assert_null(trace_reader_open(bad, NULL, 0));
		assert_true(errno == EINVAL || errno == EPROTO);
		assert_open_fails(bad, errno, want);
	}

	snprintf(want, sizeof(want),
		 "cannot open trace '%s/missing': No such file or directory",
		 dir);
	assert_open_fails(tpath("missing"), ENOENT, want);
	snprintf(want, sizeof(want), "trace '%s' is not a regular file", dir);
	assert_open_fails(dir, EINVAL, want);
	free(img.buf);
}

/* Make the trace at path a version 1 trace: its version field and the
 * header checksum over it. */
static void make_version1(const char *path)
{
	struct image img = {0};
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint32_t hsize, sum;

	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	img.len = (size_t)st.st_size;
	img.buf = malloc(img.len);
	assert_non_null(img.buf);
	assert_int_equal(fread(img.buf, 1, img.len, f), img.len);
	fclose(f);
	img.buf[8] = 1;
	img.buf[9] = 0;
	hsize = (uint32_t)img.buf[12] | (uint32_t)img.buf[13] << 8;
	sum = (uint32_t)XXH3_64bits(img.buf, hsize - 4);
	for (int i = 0; i < 4; i++)
		img.buf[hsize - 4 + i] = (unsigned char)(sum >> (8 * i));
	save(path, img.buf, img.len);
	free(img.buf);
}

/*
 * Traces written before the sync records existed (version 1) read back as
 * before; in such a trace the new types are unknown, hence corrupt.
 */
static void test_version1_traces(void **state)
{
	const char *path = tpath("v1.trace");
	struct trace_rec mark = {.type = TR_MARK, .name = "saved"};
	struct trace_rec sync = {.type = TR_SYNC, .oflags = TRS_CTL};
	struct trace_writer *w;
	struct trace_reader *r;
	struct trace_rec rec;
	char err[512];

	(void)state;
	w = trace_writer_create(path, NULL);
	assert_non_null(w);
	assert_int_equal(trace_append(w, &mark), 0);
	assert_int_equal(trace_writer_close(&w), 0);
	make_version1(path);
	r = trace_reader_open(path, err, sizeof(err));
	if (!r)
		fail_msg("a version 1 trace is refused: %s", err);
	assert_int_equal(trace_reader_header(r)->version, 1);
	assert_int_equal(trace_next(r, &rec), 1);
	assert_string_equal(rec.name, "saved");
	assert_int_equal(trace_next(r, &rec), 1);
	assert_int_equal(rec.type, TR_END);
	assert_int_equal(trace_next(r, &rec), 0);
	assert_true(trace_reader_complete(r));
	trace_reader_free(&r);

	/* a sync record only exists from version 2 on */
	w = trace_writer_create(path, NULL);
	assert_non_null(w);
	assert_int_equal(trace_append(w, &mark), 0);
	assert_int_equal(trace_append(w, &sync), 0);
	assert_int_equal(trace_writer_close(&w), 0);
	r = trace_reader_open(path, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(trace_next(r, &rec), 1);
	assert_int_equal(trace_next(r, &rec), 1);
	assert_int_equal(rec.type, TR_SYNC);
	assert_int_equal(rec.oflags, TRS_CTL);
	trace_reader_free(&r);
	make_version1(path);
	r = trace_reader_open(path, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(trace_next(r, &rec), 1);
	assert_int_equal(trace_next(r, &rec), -EBADMSG);
	assert_non_null(strstr(trace_reader_error(r), "unknown record type"));
	trace_reader_free(&r);
}

/*
 * A write that fails halfway (here at the file size limit, which behaves
 * like a full disk: a short write, then an error) must not leave half a
 * record for the next one to be written after.
 */
static void test_failed_append_leaves_no_partial(void **state)
{
	static unsigned char buf[3000];
	const char *path = tpath("efbig.trace");
	struct trace_writer *w = trace_writer_create(path, NULL);
	struct trace_rec rec = {
	    .type = TR_WRITE, .id = 2, .data = buf, .data_len = sizeof(buf)};
	struct trace_rec small = {.type = TR_MARK, .name = "after"};
	struct trace_reader *r;
	struct rlimit old, lim;
	void (*old_sig)(int);
	char err[256];
	uint64_t before;
	int ret;

	(void)state;
	assert_non_null(w);
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(trace_append(w, &rec), 0);
	before = trace_writer_bytes(w);
	old_sig = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = before + 1000;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ret = trace_append(w, &rec);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_sig);
	assert_int_equal(ret, -EFBIG);
	assert_int_equal(trace_writer_bytes(w), before);
	assert_int_equal(trace_writer_count(w), 1);
	assert_int_equal(trace_append(w, &small), 0);
	assert_int_equal(small.seq, 2);
	assert_int_equal(trace_writer_close(&w), 0);

	r = trace_reader_open(path, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(trace_next(r, &rec), 1);
	assert_int_equal(trace_next(r, &rec), 1);
	assert_string_equal(rec.name, "after");
	assert_int_equal(trace_next(r, &rec), 1);
	assert_int_equal(rec.type, TR_END);
	assert_int_equal(trace_next(r, &rec), 0);
	assert_false(trace_reader_truncated(r));
	assert_true(trace_reader_complete(r));
	trace_reader_free(&r);
}

/*
 * trace_reserve on a full disk: needs a small tmpfs, so root; skipped
 * otherwise.  Every append that a successful reserve covered succeeds,
 * the reserve that cannot be met says ENOSPC, and the trace stays whole.
 */
static void test_reserve_enospc(void **state)
{
	static unsigned char buf[65536];
	char mnt[256], path[300], err[256];
	struct trace_writer *w;
	struct trace_reader *r;
	struct trace_rec rec = {
	    .type = TR_WRITE, .id = 2, .data = buf, .data_len = sizeof(buf)};
	uint64_t appended = 0, n = 0;
	int ret = 0;

	(void)state;
	if (geteuid() != 0) {
		print_message("skipped: needs root to mount a small tmpfs\n");
		skip();
	}
	snprintf(mnt, sizeof(mnt), "%s/tmpfs", dir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=2M") < 0) {
		print_message("skipped: cannot mount tmpfs: %s\n",
			      strerror(errno));
		rmdir(mnt);
		skip();
	}
	snprintf(path, sizeof(path), "%s/t.trace", mnt);
	w = trace_writer_create(path, NULL);
	assert_non_null(w);
	for (int i = 0; i < 1000; i++) {
		ret = trace_reserve(w, trace_rec_size(&rec));
		if (ret)
			break;
		assert_int_equal(trace_append(w, &rec), 0);
		appended++;
	}
	assert_int_equal(ret, -ENOSPC);
	assert_true(appended > 0 && appended < 32);
	/* the end record may not fit: close says so, the trace is whole */
	ret = trace_writer_close(&w);
	assert_true(ret == 0 || ret == -ENOSPC);
	r = trace_reader_open(path, err, sizeof(err));
	assert_non_null(r);
	while (trace_next(r, &rec) > 0)
		n++;
	assert_int_equal(n, appended + (ret == 0));
	assert_false(trace_reader_truncated(r));
	assert_string_equal(trace_reader_error(r), "");
	trace_reader_free(&r);
	assert_int_equal(umount(mnt), 0);
	rmdir(mnt);
}

static int setup(void **state)
{
	(void)state;
	memset(long_name, 'n', TRACE_NAME_MAX);
	memset(long_name2, 't', TRACE_NAME_MAX);
	long_name[0] = 'N';
	long_name2[TRACE_NAME_MAX - 1] = 'T';
	for (size_t i = 0; i < sizeof(big_data); i++)
		big_data[i] = (unsigned char)(i * 131 + (i >> 12));
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_every_type),
	    cmocka_unit_test(test_default_header),
	    cmocka_unit_test(test_name_too_long),
	    cmocka_unit_test(test_write_overhead),
	    cmocka_unit_test(test_close_frees_reservation),
	    cmocka_unit_test(test_cut_at_every_byte),
	    cmocka_unit_test(test_zero_filled_tail),
	    cmocka_unit_test(test_flipped_byte),
	    cmocka_unit_test(test_bad_headers),
	    cmocka_unit_test(test_version1_traces),
	    cmocka_unit_test(test_failed_append_leaves_no_partial),
	    cmocka_unit_test(test_reserve_enospc),
	    cmocka_unit_test(test_mapped_appends_and_kill),
	    cmocka_unit_test(test_zero_size_in_the_middle),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
