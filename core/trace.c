/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Trace writer and reader.  The record bodies are described by one table
 * (body_layout[]) that both the encoder and the decoder walk, so the two
 * cannot disagree; docs/trace-format.md is the same table in prose.
 *
 * Integers are little-endian on disk whatever the host.  Each record is
 *	u32 size, u16 type, u16 flags, u64 seq, u32 pid, i32 result,
 *	u64 time_ns, body..., u32 checksum
 * where checksum is the low 32 bits of XXH3-64 over every byte of the
 * record before it.  The header has its own checksum.
 */

#include "trace.h"

#include <errno.h>
#include <linux/magic.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY /* for a stack XXH3_state_t */
#include <xxhash.h>
#include <xxh_x86dispatch.h> /* the widest vector code the CPU runs */

#define REC_HEAD 32		 /* bytes of the common record header */
#define REC_TAIL 4		 /* checksum */
#define REC_MAX (64u << 20)	 /* larger records are corrupt */
#define HDR_FIXED 30		 /* header bytes before the backing path */
#define RESERVE_CHUNK (8u << 20) /* preallocation step of the writer */
#define MAP_REC_MAX (32u << 10)	 /* larger records go by pwritev */

/*
 * Body layout of each record type, one letter a field, in order:
 *	i id  I id2  p parent  P parent2  h fh  o off  O off2  l len
 *	(all u64); m mode  f oflags  u uid  g gid (all u32);
 *	a atime  t mtime (i64 seconds + u32 nanoseconds);
 *	n name  N name2 (u16 length + bytes, no NUL);
 *	d data (u32 length + bytes);  D data, running to the checksum.
 */
static const char *const body_layout[TR_TYPE_MAX] = {
    [TR_BIND] = "ipmln",
    [TR_CREATE] = "pihmfn",
    [TR_MKNOD] = "pimon",
    [TR_MKDIR] = "pimn",
    [TR_SYMLINK] = "pinN",
    [TR_LINK] = "ipn",
    [TR_UNLINK] = "pin",
    [TR_RMDIR] = "pin",
    [TR_RENAME] = "pPiIfnN",
    [TR_OPEN] = "ihf",
    [TR_WRITE] = "ihoD",
    [TR_TRUNCATE] = "ihl",
    [TR_FALLOCATE] = "ihfol",
    [TR_COPY_RANGE] = "IOiol",
    [TR_SETATTR] = "ifmugat",
    [TR_SETXATTR] = "ifnd",
    [TR_REMOVEXATTR] = "in",
    [TR_FLUSH] = "ih",
    [TR_RELEASE] = "ih",
    [TR_FSYNC] = "ih",
    [TR_FSYNCDIR] = "ih",
    [TR_MARK] = "n",
    [TR_FAULT] = "ifn",
    [TR_POWERCUT] = "n",
    [TR_END] = "",
    [TR_SYNC] = "f",
    [TR_SYNC_RANGE] = "iolf",
};

static const char *const type_names[TR_TYPE_MAX] = {
    [TR_BIND] = "bind",
    [TR_CREATE] = "create",
    [TR_MKNOD] = "mknod",
    [TR_MKDIR] = "mkdir",
    [TR_SYMLINK] = "symlink",
    [TR_LINK] = "link",
    [TR_UNLINK] = "unlink",
    [TR_RMDIR] = "rmdir",
    [TR_RENAME] = "rename",
    [TR_OPEN] = "open",
    [TR_WRITE] = "write",
    [TR_TRUNCATE] = "truncate",
    [TR_FALLOCATE] = "fallocate",
    [TR_COPY_RANGE] = "copy_file_range",
    [TR_SETATTR] = "setattr",
    [TR_SETXATTR] = "setxattr",
    [TR_REMOVEXATTR] = "removexattr",
    [TR_FLUSH] = "flush",
    [TR_RELEASE] = "release",
    [TR_FSYNC] = "fsync",
    [TR_FSYNCDIR] = "fsyncdir",
    [TR_MARK] = "mark",
    [TR_FAULT] = "fault",
    [TR_POWERCUT] = "powercut",
    [TR_END] = "end",
    [TR_SYNC] = "sync",
    [TR_SYNC_RANGE] = "sync_file_range",
};

const char *trace_type_name(unsigned int type)
{
	if (type == 0 || type >= TR_TYPE_MAX)
		return "?";
	return type_names[type];
}

const char *trace_type_layout(unsigned int type)
{
	if (type == 0 || type >= TR_TYPE_MAX)
		return "";
	return body_layout[type];
}

/* ---- little-endian helpers ------------------------------------------ */

static unsigned char *put16(unsigned char *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	return p + 2;
}

static unsigned char *put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
	return p + 4;
}

static unsigned char *put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
	return p + 8;
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint32_t checksum(const void *a, size_t alen, const void *b, size_t blen)
{
	XXH3_state_t st;

	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, a, alen);
	/* Payloads: AVX2 where the CPU has it, 3x the SSE2 default of
	 * Debian's build on 128 KiB writes; the same hash either way. */
	if (blen)
		XXH3_64bits_update_dispatch(&st, b, blen);
	return (uint32_t)XXH3_64bits_digest(&st);
}

/* Length of a name field; > TRACE_NAME_MAX means too long to encode. */
static size_t str_len(const char *s)
{
	return s ? strnlen(s, TRACE_NAME_MAX + 1) : 0;
}

/* True if the name fields rec uses fit in a record. */
static bool names_fit(const struct trace_rec *rec)
{
	const char *l = body_layout[rec->type];

	return (!strchr(l, 'n') || str_len(rec->name) <= TRACE_NAME_MAX) &&
	       (!strchr(l, 'N') || str_len(rec->name2) <= TRACE_NAME_MAX);
}

/* Bytes of the body of rec, data included. */
static size_t body_size(const struct trace_rec *rec)
{
	size_t n = 0;

	for (const char *f = body_layout[rec->type]; *f; f++) {
		switch (*f) {
		case 'm':
		case 'f':
		case 'u':
		case 'g': n += 4; break;
		case 'a':
		case 't': n += 12; break;
		case 'n': n += 2 + str_len(rec->name); break;
		case 'N': n += 2 + str_len(rec->name2); break;
		case 'd': n += 4 + rec->data_len; break;
		case 'D': n += rec->data_len; break;
		default: n += 8;
		}
	}
	return n;
}

size_t trace_rec_size(const struct trace_rec *rec)
{
	if (rec->type == 0 || rec->type >= TR_TYPE_MAX || !names_fit(rec))
		return 0;
	return REC_HEAD + body_size(rec) + REC_TAIL;
}

/*
 * Encode the header and body of rec into buf, except a trailing 'D'
 * payload, which the caller writes from rec->data.  Returns the bytes
 * put in buf.
 */
static size_t encode(const struct trace_rec *rec, uint32_t size,
		     unsigned char *buf)
{
	unsigned char *p = buf;
	size_t n;

	p = put32(p, size);
	p = put16(p, rec->type);
	p = put16(p, rec->flags);
	p = put64(p, rec->seq);
	p = put32(p, rec->pid);
	p = put32(p, (uint32_t)rec->result);
	p = put64(p, rec->time_ns);
	for (const char *f = body_layout[rec->type]; *f; f++) {
		switch (*f) {
		case 'i': p = put64(p, rec->id); break;
		case 'I': p = put64(p, rec->id2); break;
		case 'p': p = put64(p, rec->parent); break;
		case 'P': p = put64(p, rec->parent2); break;
		case 'h': p = put64(p, rec->fh); break;
		case 'o': p = put64(p, rec->off); break;
		case 'O': p = put64(p, rec->off2); break;
		case 'l': p = put64(p, rec->len); break;
		case 'm': p = put32(p, rec->mode); break;
		case 'f': p = put32(p, rec->oflags); break;
		case 'u': p = put32(p, rec->uid); break;
		case 'g': p = put32(p, rec->gid); break;
		case 'a':
			p = put64(p, (uint64_t)rec->atime.tv_sec);
			p = put32(p, (uint32_t)rec->atime.tv_nsec);
			break;
		case 't':
			p = put64(p, (uint64_t)rec->mtime.tv_sec);
			p = put32(p, (uint32_t)rec->mtime.tv_nsec);
			break;
		case 'n':
		case 'N':
			n = str_len(*f == 'n' ? rec->name : rec->name2);
			p = put16(p, (uint16_t)n);
			if (n)
				memcpy(p, *f == 'n' ? rec->name : rec->name2,
				       n);
			p += n;
			break;
		case 'd':
			p = put32(p, rec->data_len);
			if (rec->data_len)
				memcpy(p, rec->data, rec->data_len);
			p += rec->data_len;
			break;
		case 'D': break;
		}
	}
	return (size_t)(p - buf);
}

/* ---- writer ---------------------------------------------------------- */

/*
 * Appends.  trace_reserve() preallocates the file ahead of the records
 * (fallocate, which also extends the file's size over zeros) and maps
 * that stretch MAP_SHARED; a record of up to MAP_REC_MAX bytes that fits
 * is then copied into the mapping, i.e. straight into the page cache,
 * with no system call: it survives a killed daemon as a write(2) would.
 * The size field is stored last, so a daemon killed mid-copy leaves a
 * record whose size is zero followed by nothing intact, which the reader
 * takes for a cut tail, as it does the zeros after the last record.
 * Larger records go by pwritev, and so does every record on a filesystem
 * where a preallocation does not surely reserve the blocks (none, or
 * copy-on-write: the mapping is used on ext4, xfs and tmpfs only), since
 * a page fault on a full disk would be a SIGBUS, not an error.  Close
 * cuts the file back to its last record.
 */
struct trace_writer {
	int fd;		    /* the trace file */
	uint64_t off;	    /* bytes written */
	uint64_t reserved;  /* file preallocated up to here */
	uint64_t fsize;	    /* file size as extended by trace_reserve */
	unsigned char *map; /* MAP_SHARED over [map_off, reserved), or NULL */
	uint64_t map_off;   /* page-aligned file offset of map */
	size_t map_len;	    /* bytes mapped */
	bool no_reserve;    /* the filesystem cannot preallocate */
	bool no_map;	    /* appends never go through a mapping */
	int broken;	    /* -errno: a partial record could not be
				   removed, appending would bury it */
	uint64_t count;	    /* records appended */
	struct timespec start; /* CLOCK_MONOTONIC at creation */
	unsigned char *buf;    /* encoding buffer, bufsize bytes */
	size_t bufsize;
	uint64_t written;   /* writeback started below here (drop_behind) */
	uint64_t dropped;   /* ... and dropped from the page cache below here */
	uint64_t last_data; /* offset of the last record's tail payload */
};

static int write_full(int fd, const struct iovec *iov, int cnt, off_t off)
{
	struct iovec v[4];
	ssize_t n;

	memcpy(v, iov, sizeof(*v) * (size_t)cnt);
	while (cnt > 0) {
		n = pwritev(fd, v, cnt, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		off += n;
		while (cnt > 0 && (size_t)n >= v[0].iov_len) {
			n -= (ssize_t)v[0].iov_len;
			memmove(v, v + 1, sizeof(*v) * (size_t)--cnt);
		}
		if (cnt > 0) {
			v[0].iov_base = (char *)v[0].iov_base + n;
			v[0].iov_len -= (size_t)n;
		}
	}
	return 0;
}

struct trace_writer *trace_writer_create(const char *path,
					 const struct trace_header *hdr)
{
	struct trace_writer *w;
	unsigned char head[HDR_FIXED + sizeof(hdr->backing) + 4], *p;
	struct timespec now;
	struct statfs sfs;
	struct iovec iov;
	size_t blen = hdr ? strnlen(hdr->backing, sizeof(hdr->backing)) : 0;
	int err;

	if (blen >= sizeof(hdr->backing)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->bufsize = 64 * 1024;
	w->buf = malloc(w->bufsize);
	if (!w->buf)
		goto out_free;
	w->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0)
		goto out_free;
	if (fstatfs(w->fd, &sfs) < 0 ||
	    (sfs.f_type != EXT4_SUPER_MAGIC && sfs.f_type != XFS_SUPER_MAGIC &&
	     sfs.f_type != TMPFS_MAGIC))
		w->no_map = true;
	clock_gettime(CLOCK_MONOTONIC, &w->start);
	clock_gettime(CLOCK_REALTIME, &now);

	p = head;
	memcpy(p, TRACE_MAGIC, 8);
	p = put16(p + 8, TRACE_VERSION);
	p = put16(p, TRACE_BOM);
	p = put32(p, (uint32_t)(HDR_FIXED + blen + 4));
	p = put64(p,
		  (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec);
	p = put32(p, hdr && hdr->sector_size ? hdr->sector_size : 512);
	p = put16(p, (uint16_t)blen);
	memcpy(p, hdr ? hdr->backing : "", blen);
	p += blen;
	p = put32(p, checksum(head, (size_t)(p - head), NULL, 0));
	iov.iov_base = head;
	iov.iov_len = (size_t)(p - head);
	err = write_full(w->fd, &iov, 1, 0);
	if (err) {
		errno = -err;
		goto out_close;
	}
	w->off = iov.iov_len;
	return w;

out_close:
	err = errno;
	close(w->fd);
	unlink(path);
	errno = err;
out_free:
	err = errno;
	free(w->buf);
	free(w);
	errno = err;
	return NULL;
}

static void unmap(struct trace_writer *w)
{
	if (w->map)
		munmap(w->map, w->map_len);
	w->map = NULL;
	w->map_len = 0;
}

/* Map [off rounded down to a page, reserved); without it appends go by
 * pwritev, which is only slower. */
static void map_reserved(struct trace_writer *w)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	void *m;

	unmap(w);
	if (w->no_map)
		return;
	w->map_off = w->off / page * page;
	m = mmap(NULL, (size_t)(w->reserved - w->map_off),
		 PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, (off_t)w->map_off);
	if (m == MAP_FAILED)
		return;
	w->map = m;
	w->map_len = (size_t)(w->reserved - w->map_off);
}

/*
 * The trace is written once and read after the run, yet every byte of it
 * would stay in the page cache beside the same bytes in the backing file.
 * Once a chunk is complete its writeback starts, and the chunk before it
 * (written back by then, or its pages are skipped) leaves the page cache.
 * Measured on a VM where fresh pages are dear: interleaved with native
 * 1 GiB runs, 128 KiB writes through the mount went from 2.6-4.1 to
 * 1.4-2.1 s of daemon CPU per GiB (docs/bench.md).
 */
static void drop_behind(struct trace_writer *w)
{
	uint64_t end = w->off / RESERVE_CHUNK * RESERVE_CHUNK;

	if (end <= w->written)
		return;
	sync_file_range(w->fd, (off_t)w->written, (off_t)(end - w->written),
			SYNC_FILE_RANGE_WRITE);
	if (w->written > w->dropped)
		posix_fadvise(w->fd, (off_t)w->dropped,
			      (off_t)(w->written - w->dropped),
			      POSIX_FADV_DONTNEED);
	w->dropped = w->written;
	w->written = end;
}

int trace_reserve(struct trace_writer *w, size_t bytes)
{
	uint64_t want = w->off + bytes;
	uint64_t len;

	drop_behind(w);
	if (w->no_reserve || want <= w->reserved)
		return 0;
	len = want - w->off + RESERVE_CHUNK;
	if (fallocate(w->fd, 0, (off_t)w->off, (off_t)len) < 0) {
		if (errno == EOPNOTSUPP || errno == ENOSYS) {
			w->no_reserve = true;
			return 0;
		}
		/* Full disk: try for exactly what this record needs. */
		if (errno != ENOSPC ||
		    fallocate(w->fd, 0, (off_t)w->off, (off_t)bytes) < 0)
			return -errno;
		len = bytes;
	}
	w->reserved = w->off + len;
	if (w->reserved > w->fsize)
		w->fsize = w->reserved;
	map_reserved(w);
	return 0;
}

/* Copy the encoded record into the mapping, its size field last. */
static void append_mapped(struct trace_writer *w, size_t head, const void *data,
			  size_t payload, const unsigned char tail[4])
{
	unsigned char *dst = w->map + (w->off - w->map_off);

	memcpy(dst + 4, w->buf + 4, head - 4);
	if (payload)
		memcpy(dst + head, data, payload);
	memcpy(dst + head + payload, tail, 4);
	/* A daemon killed before this store leaves a zero size field. */
	atomic_signal_fence(memory_order_seq_cst);
	memcpy(dst, w->buf, 4);
}

int trace_append(struct trace_writer *w, struct trace_rec *rec)
{
	struct timespec now;
	struct iovec iov[3];
	unsigned char tail[4];
	size_t size, head, payload;
	bool tail_data;
	int err;

	if (w->broken)
		return w->broken;
	if (rec->type == 0 || rec->type >= TR_TYPE_MAX)
		return -EINVAL;
	if (!names_fit(rec))
		return -ENAMETOOLONG;
	if (rec->data_len && !rec->data &&
	    strpbrk(body_layout[rec->type], "dD"))
		return -EINVAL;
	size = trace_rec_size(rec);
	if (size > REC_MAX)
		return -E2BIG;
	tail_data = strchr(body_layout[rec->type], 'D') != NULL;
	payload = tail_data ? rec->data_len : 0;
	if (size - payload > w->bufsize) {
		unsigned char *b = realloc(w->buf, size - payload);

		if (!b)
			return -ENOMEM;
		w->buf = b;
		w->bufsize = size - payload;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	rec->seq = w->count + 1;
	rec->time_ns = (uint64_t)(now.tv_sec - w->start.tv_sec) * 1000000000u +
		       (uint64_t)(now.tv_nsec - w->start.tv_nsec);
	head = encode(rec, (uint32_t)size, w->buf);
	put32(tail,
	      checksum(w->buf, head, payload ? rec->data : NULL, payload));
	w->last_data = w->off + size - REC_TAIL - payload;
	if (w->map && size <= MAP_REC_MAX &&
	    w->off + size <= w->map_off + w->map_len) {
		append_mapped(w, head, rec->data, payload, tail);
		w->off += size;
		w->count++;
		return 0;
	}
	iov[0].iov_base = w->buf;
	iov[0].iov_len = head;
	iov[1].iov_base = (void *)rec->data;
	iov[1].iov_len = payload;
	iov[2].iov_base = tail;
	iov[2].iov_len = 4;
	if (payload)
		err = write_full(w->fd, iov, 3, (off_t)w->off);
	else
		err = write_full(w->fd, (struct iovec[]){iov[0], iov[2]}, 2,
				 (off_t)w->off);
	if (err) {
		/*
		 * Cut the partial record off, so that the next record is
		 * not written over part of it and followed by its leftover
		 * bytes.  Truncating also gives back the preallocation.
		 */
		unmap(w);
		if (ftruncate(w->fd, (off_t)w->off) < 0)
			w->broken = -EIO;
		w->reserved = w->fsize = w->off;
		return err;
	}
	w->off += size;
	w->count++;
	return 0;
}

uint64_t trace_writer_count(const struct trace_writer *w)
{
	return w->count;
}

uint64_t trace_writer_last_data(const struct trace_writer *w)
{
	return w->last_data;
}

uint64_t trace_writer_bytes(const struct trace_writer *w)
{
	return w->off;
}

int trace_writer_close(struct trace_writer **wp)
{
	struct trace_writer *w = *wp;
	struct trace_rec end = {.type = TR_END};
	int err, err2;

	if (!w)
		return 0;
	*wp = NULL;
	err = trace_append(w, &end);
	/*
	 * Give back what was preallocated past the end.  A hole punched
	 * beyond EOF is a no-op on ext4, a truncate to the same size frees
	 * the blocks past it.
	 */
	unmap(w);
	if ((w->reserved > w->off || w->fsize > w->off) &&
	    ftruncate(w->fd, (off_t)w->off) < 0 && !err)
		err = -errno;
	if (fsync(w->fd) < 0 && !err)
		err = -errno;
	err2 = close(w->fd) < 0 ? -errno : 0;
	if (!err)
		err = err2;
	free(w->buf);
	free(w);
	return err;
}

/* ---- reader ---------------------------------------------------------- */

struct trace_reader {
	const unsigned char *map;	/* the whole file, read-only */
	uint64_t size;			/* bytes mapped */
	uint64_t pos;			/* offset of the next record */
	uint64_t first;			/* offset of the first record */
	uint64_t seq;			/* seq the next record must carry */
	unsigned int type_max;		/* types of the trace's version are
					   below this */
	bool truncated;			/* ends inside a record */
	bool complete;			/* TR_END seen */
	struct trace_header hdr;	/* decoded header */
	char name[TRACE_NAME_MAX + 1];	/* decoded rec->name */
	char name2[TRACE_NAME_MAX + 1]; /* decoded rec->name2 */
	char path[PATH_MAX];		/* for messages */
	char err[PATH_MAX + 256];	/* last failure */
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Check the header; returns 0 or -EINVAL/-EPROTO with a message. */
static int read_header(struct trace_reader *r, char *err, size_t errlen)
{
	const unsigned char *m = r->map;
	uint32_t hsize, blen;

	if (r->size < 8 || memcmp(m, TRACE_MAGIC, 8) != 0) {
		seterr(err, errlen, "'%s' is not a crashfs trace (bad magic)",
		       r->path);
		return -EINVAL;
	}
	if (r->size < HDR_FIXED + 4) {
		seterr(err, errlen, "trace '%s' is cut short inside its header",
		       r->path);
		return -EINVAL;
	}
	if (get16(m + 10) != TRACE_BOM) {
		seterr(err, errlen,
		       "trace '%s' has an unknown byte order mark 0x%04x%s",
		       r->path, get16(m + 10),
		       get16(m + 10) == 0x0201 ? " (big-endian?)" : "");
		return -EINVAL;
	}
	r->hdr.version = get16(m + 8);
	if (r->hdr.version < TRACE_VERSION_MIN ||
	    r->hdr.version > TRACE_VERSION) {
		seterr(err, errlen,
		       "trace '%s' has format version %u; this crashfs reads "
		       "versions %u to %u%s",
		       r->path, r->hdr.version, TRACE_VERSION_MIN,
		       TRACE_VERSION,
		       r->hdr.version > TRACE_VERSION
			   ? " (written by a newer crashfs?)"
			   : "");
		return -EPROTO;
	}
	/* Version 1 ends its types with TR_END; 2 adds the sync records. */
	r->type_max = r->hdr.version == 1 ? TR_END + 1 : TR_TYPE_MAX;
	hsize = get32(m + 12);
	blen = get16(m + 28);
	if (hsize != HDR_FIXED + blen + 4 || blen >= sizeof(r->hdr.backing)) {
		seterr(err, errlen, "trace '%s' has a malformed header",
		       r->path);
		return -EINVAL;
	}
	if (hsize > r->size) {
		seterr(err, errlen, "trace '%s' is cut short inside its header",
		       r->path);
		return -EINVAL;
	}
	if (get32(m + hsize - 4) != checksum(m, hsize - 4, NULL, 0)) {
		seterr(err, errlen, "trace '%s': header checksum mismatch",
		       r->path);
		return -EINVAL;
	}
	r->hdr.created_ns = get64(m + 16);
	r->hdr.sector_size = get32(m + 24);
	memcpy(r->hdr.backing, m + HDR_FIXED, blen);
	r->hdr.backing[blen] = '\0';
	r->first = r->pos = hsize;
	r->seq = 1;
	return 0;
}

struct trace_reader *trace_reader_open(const char *path, char *err,
				       size_t errlen)
{
	struct trace_reader *r;
	struct stat st;
	int fd, e;

	seterr(err, errlen, "%s", "");
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	snprintf(r->path, sizeof(r->path), "%s", path);
	/* O_NONBLOCK: opening a fifo must not wait for a writer (it is
	 * refused right after, as every file that is not regular) */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		e = errno;
		seterr(err, errlen, "cannot open trace '%s': %s", path,
		       strerror(e));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		e = EINVAL;
		seterr(err, errlen, "trace '%s' is not a regular file", path);
		goto out_close;
	}
	if (st.st_size == 0) {
		e = EINVAL;
		seterr(err, errlen, "'%s' is empty, not a crashfs trace", path);
		goto out_close;
	}
	r->size = (uint64_t)st.st_size;
	r->map = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (r->map == MAP_FAILED) {
		e = errno;
		r->map = NULL;
		seterr(err, errlen, "cannot map trace '%s': %s", path,
		       strerror(e));
		goto out_close;
	}
	close(fd);
	fd = -1;
	e = -read_header(r, err, errlen);
	if (e)
		goto out_close;
	return r;

out_close:
	if (fd >= 0)
		close(fd);
	if (r->map)
		munmap((void *)r->map, r->size);
	free(r);
	errno = e;
	return NULL;
}

const struct trace_header *trace_reader_header(const struct trace_reader *r)
{
	return &r->hdr;
}

static int corrupt(struct trace_reader *r, const char *what)
{
	snprintf(r->err, sizeof(r->err),
		 "trace '%s' is corrupt at offset %llu: %s", r->path,
		 (unsigned long long)r->pos, what);
	return -EBADMSG;
}

/* Decode a string field of the body; returns false if it does not fit. */
static bool get_str(const unsigned char **p, const unsigned char *end,
		    char *out)
{
	size_t n;

	if (end - *p < 2)
		return false;
	n = get16(*p);
	*p += 2;
	if (n > TRACE_NAME_MAX || (size_t)(end - *p) < n || memchr(*p, '\0', n))
		return false;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	return true;
}

/* Decode the body of the record at r->pos (size bytes) into rec. */
static int decode_body(struct trace_reader *r, struct trace_rec *rec,
		       const unsigned char *p, const unsigned char *end)
{
	for (const char *f = body_layout[rec->type]; *f; f++) {
		size_t need = strchr("mfug", *f)   ? 4
			      : strchr("at", *f)   ? 12
			      : strchr("nNdD", *f) ? 0
						   : 8;

		if ((size_t)(end - p) < need)
			return corrupt(r, "record body too short");
		switch (*f) {
		case 'i': rec->id = get64(p); break;
		case 'I': rec->id2 = get64(p); break;
		case 'p': rec->parent = get64(p); break;
		case 'P': rec->parent2 = get64(p); break;
		case 'h': rec->fh = get64(p); break;
		case 'o': rec->off = get64(p); break;
		case 'O': rec->off2 = get64(p); break;
		case 'l': rec->len = get64(p); break;
		case 'm': rec->mode = get32(p); break;
		case 'f': rec->oflags = get32(p); break;
		case 'u': rec->uid = get32(p); break;
		case 'g': rec->gid = get32(p); break;
		case 'a':
			rec->atime.tv_sec = (time_t)get64(p);
			rec->atime.tv_nsec = get32(p + 8);
			break;
		case 't':
			rec->mtime.tv_sec = (time_t)get64(p);
			rec->mtime.tv_nsec = get32(p + 8);
			break;
		case 'n':
			if (!get_str(&p, end, r->name))
				return corrupt(r, "malformed name");
			rec->name = r->name;
			break;
		case 'N':
			if (!get_str(&p, end, r->name2))
				return corrupt(r, "malformed name");
			rec->name2 = r->name2;
			break;
		case 'd':
			if (end - p < 4 || (uint64_t)(end - p - 4) < get32(p))
				return corrupt(r, "malformed data field");
			rec->data_len = get32(p);
			p += 4;
			/* fall through */
		case 'D':
			if (*f == 'D')
				rec->data_len = (uint32_t)(end - p);
			rec->data = p;
			rec->data_off = (uint64_t)(p - r->map);
			p += rec->data_len;
			break;
		}
		p += need;
	}
	if (p != end)
		return corrupt(r, "record body has trailing bytes");
	if (rec->type == TR_WRITE)
		rec->len = rec->data_len;
	return 0;
}

/* True if a whole, intact record with sequence number seq starts at off. */
static bool record_at(const struct trace_reader *r, uint64_t off, uint64_t seq)
{
	const unsigned char *p = r->map + off;
	uint64_t left = r->size - off;
	uint32_t size;

	if (left < REC_HEAD + REC_TAIL || get64(p + 8) != seq)
		return false;
	size = get32(p);
	return size >= REC_HEAD + REC_TAIL && size <= left &&
	       get32(p + size - 4) == checksum(p, size - 4, NULL, 0);
}

/*
 * The record at r->pos claims to run past the end of the file.  That is
 * the tail a killed daemon leaves, unless an intact record follows: then
 * the size field itself is damaged.  The scan is bounded by REC_MAX.
 */
static bool tail_is_truncated(const struct trace_reader *r)
{
	for (uint64_t off = r->pos + 1; off + REC_HEAD + REC_TAIL <= r->size;
	     off++)
		if (record_at(r, off, r->seq + 1))
			return false;
	return true;
}

/* True if every byte from r->pos to the end is zero: the tail of a file
 * whose size reached the disk before its data did (power loss). */
static bool tail_is_zero(const struct trace_reader *r)
{
	for (uint64_t off = r->pos; off < r->size; off++)
		if (r->map[off])
			return false;
	return true;
}

int trace_next(struct trace_reader *r, struct trace_rec *rec)
{
	const unsigned char *p = r->map + r->pos;
	uint64_t left = r->size - r->pos;
	uint32_t size;
	int err;

	memset(rec, 0, sizeof(*rec));
	r->err[0] = '\0';
	if (left == 0)
		return 0;
	if (left < 4 || tail_is_zero(r)) {
		r->truncated = true;
		return 0;
	}
	size = get32(p);
	if (size == 0 && tail_is_truncated(r)) {
		/* a mapped append cut before its size field was stored */
		r->truncated = true;
		return 0;
	}
	if (size < REC_HEAD + REC_TAIL || size > REC_MAX)
		return corrupt(r, "impossible record size");
	if (size > left) {
		if (!tail_is_truncated(r))
			return corrupt(r, "record size runs past an intact "
					  "record");
		r->truncated = true;
		return 0;
	}
	if (get32(p + size - 4) != checksum(p, size - 4, NULL, 0))
		return corrupt(r, "checksum mismatch");
	rec->type = get16(p + 4);
	rec->flags = get16(p + 6);
	rec->seq = get64(p + 8);
	rec->pid = get32(p + 16);
	rec->result = (int32_t)get32(p + 20);
	rec->time_ns = get64(p + 24);
	if (rec->type == 0 || rec->type >= r->type_max)
		return corrupt(r, "unknown record type");
	if (rec->seq != r->seq)
		return corrupt(r, "out-of-sequence record (records lost or "
				  "repeated)");
	err = decode_body(r, rec, p + REC_HEAD, p + size - REC_TAIL);
	if (err)
		return err;
	if (rec->type == TR_END)
		r->complete = true;
	r->pos += size;
	r->seq++;
	return 1;
}

void trace_rewind(struct trace_reader *r)
{
	r->pos = r->first;
	r->seq = 1;
	r->truncated = false;
	r->complete = false;
	r->err[0] = '\0';
}

bool trace_reader_truncated(const struct trace_reader *r)
{
	return r->truncated;
}

bool trace_reader_complete(const struct trace_reader *r)
{
	return r->complete;
}

const char *trace_reader_error(const struct trace_reader *r)
{
	return r->err;
}

const void *trace_reader_bytes(const struct trace_reader *r, uint64_t off,
			       uint64_t len)
{
	if (off > r->size || len > r->size - off)
		return NULL;
	return r->map + off;
}

void trace_reader_free(struct trace_reader **rp)
{
	struct trace_reader *r = *rp;

	if (!r)
		return;
	*rp = NULL;
	munmap((void *)r->map, r->size);
	free(r);
}
