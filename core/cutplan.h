/* SPDX-License-Identifier: MIT */
/** @file
 *
 * What part of the pending data a live power cut keeps: the one plan the
 * daemon carries out (fusefs/pc_partial.c) and the engine rebuilds from
 * the cut's TR_POWERCUT record (core/livecut.c).  Pure: no I/O, no model,
 * no daemon; both sides hand it the same list of a file's pending events
 * and get the same answer.
 *
 * Method.  A partial cut leaves a state the posix model allows
 * (docs/crash-model.md):
 *  - the pending metadata (entry, size and attribute ops) persists as a
 *    program-order prefix: every op whose record seq is at most meta;
 *  - the data of each file persists per unit (a sector, 512 bytes, or a
 *    page on request): within one unit, what persists is a program-order
 *    prefix of the pending writes to that unit, and nothing written after
 *    a dropped size op (truncate, fallocate) that touched the unit.  A
 *    write may so persist whole, torn (some of its units), not at all,
 *    or (if it grew the file) as its size without its data;
 *  - what is durable persists.
 * The choice is drawn from a seed, or selected (LazyFS's torn-seq and
 * torn-op: some writes of one file, some parts of one write); either way
 * it is then settled: a unit a write was asked to keep is not kept when
 * an earlier write to it, or a size op that touched it, was lost.
 *
 * A file whose pending data cannot be replayed in part (a copy_file_range
 * into it, a failed fsync since the last cut, more than
 * CUTPLAN_MAX_WRITES pending writes) keeps all of it or none:
 * cutplan_whole_keeps().
 *
 * The spec is written into the TR_POWERCUT record's name, e.g.
 *	posix meta=82 unit=512 seed=42
 *	posix meta=82 unit=4096 file=7 writes=1,4
 *	posix meta=82 unit=512 file=7 write=5 parts=3 persist=1,3
 *	posix meta=82 unit=512 file=7 write=5 part-bytes=4096,3600 persist=2
 * and parsed back by cutplan_parse().
 *
 * Calling sequence (per file, items in program order):
 *	struct cutplan_file out = {0};
 *	cutplan_file(&spec, id, items, n, &out);
 *	... out.fate[i], out.pieces ...
 *	cutplan_file_release(&out);
 * Errors: cutplan_parse() returns -EINVAL with a message; the others 0 or
 * -ENOMEM.
 */
#ifndef CRASHFS_CUTPLAN_H
#define CRASHFS_CUTPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CUTPLAN_UNIT 512	   /* default tear unit: a sector */
#define CUTPLAN_PAGE 4096	   /* --tear page */
#define CUTPLAN_UNIT_MAX (1 << 20) /* largest unit */
#define CUTPLAN_MAX_WRITES 65536   /* more pending writes: all or none */
#define CUTPLAN_MAX_SEL 64	   /* writes listed, parts of a torn write */
#define CUTPLAN_LAST UINT32_MAX	   /* write=last: the file's last write */

/*
 * writes=last-D (0 <= D < CUTPLAN_MAX_WRITES): the Dth pending write
 * before the file's last, held as CUTPLAN_LAST - D until the cut knows
 * how many the file has (the record names its number).  A number above
 * CUTPLAN_WRITES_MAX is one of these.
 */
#define CUTPLAN_WRITES_MAX (CUTPLAN_LAST - CUTPLAN_MAX_WRITES)

static inline bool cutplan_is_rel(uint32_t w)
{
	return w > CUTPLAN_WRITES_MAX;
}

/* The number, of n pending writes, that w names (0: none of them). */
static inline uint32_t cutplan_resolve(uint32_t w, uint32_t n)
{
	if (!cutplan_is_rel(w))
		return w <= n ? w : 0;
	return CUTPLAN_LAST - w < n ? n - (CUTPLAN_LAST - w) : 0;
}

enum cutplan_mode {
	CUTPLAN_SEEDED = 1, /* drawn from seed */
	CUTPLAN_SELECT,	    /* writes and parts of one file, chosen */
};

/* A partial cut's choice: what its record's name says. */
struct cutplan_spec {
	uint64_t meta; /* pending metadata with seq <= meta stays */
	uint32_t unit; /* tear unit, a power of two */
	enum cutplan_mode mode;
	uint64_t seed;	  /* CUTPLAN_SEEDED */
	uint64_t file;	  /* CUTPLAN_SELECT: a trace id of the file */
	uint32_t nwrites; /* ... its pending writes kept whole, */
	uint32_t writes[CUTPLAN_MAX_SEL]; /* ... numbered from 1 */
	uint32_t torn;	 /* ... its pending write torn, 0 none */
	uint32_t nparts; /* ... into this many equal parts, or */
	uint32_t nbytes; /* ... into parts of these sizes */
	uint64_t part_bytes[CUTPLAN_MAX_SEL];
	uint64_t persist; /* ... bit i-1 set: part i persists */
};

/*
 * Parse a TR_POWERCUT record's name.  Returns 1 and fills s for a partial
 * cut, 0 for a name that is not one ("strict", "keep-metadata", the older
 * "posix seed=S meta=B"), -EINVAL with a message in err for a malformed
 * one.
 */
int cutplan_parse(const char *name, struct cutplan_spec *s, char *err,
		  size_t errlen);

/* Write s as a record name into buf (len >= 64); -ENAMETOOLONG if it does
 * not fit, else the length. */
int cutplan_format(const struct cutplan_spec *s, char *buf, size_t len);

/*
 * The options users give a cut (`crashfs ctl MNT powercut`, a rule's
 * cut-* fields), as words: "strict", "keep-metadata" (sets *keep_meta),
 * "seed=S", "tear=sector|page|BYTES", and for a selection of one file's
 * writes "writes=1,4" (or counted back from its last write:
 * "writes=last-3,last"), "write=K|last" with "parts=N" or
 * "part-bytes=A,B,..." and "persist=1,3" (docs/faults.md).  Fills s but
 * for meta and file (the cut's to set); s->mode stays 0 for a cut that is
 * not partial.  s must be zeroed.  Returns 0 or -EINVAL with a message
 * naming the word.
 */
int cutplan_words(const char *text, struct cutplan_spec *s, bool *keep_meta,
		  char *err, size_t errlen);

/* 64-bit mix of (seed, v) (splitmix64 of their combination). */
static inline uint64_t cutplan_mix(uint64_t seed, uint64_t v)
{
	uint64_t z = seed ^ (v * 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A seeded cut: how many of n pending journal ops persist (0 to n). */
static inline uint64_t cutplan_prefix(uint64_t seed, uint64_t n)
{
	return cutplan_mix(seed, 0) % (n + 1);
}

/* One pending event of a file, in program order. */
enum cutplan_kind {
	CI_NONE = 0, /* ignored (a size op that persists) */
	CI_WRITE,    /* a pending write */
	CI_BLOCK,    /* a dropped size op: later writes to the units it
			touched are lost */
};

struct cutplan_item {
	uint8_t kind; /* enum cutplan_kind */
	bool extends; /* CI_WRITE: it grew the file when made */
	uint64_t seq; /* CI_WRITE: its record's seq */
	uint64_t off; /* bytes written or touched: [off, end) */
	uint64_t end; /* ... UINT64_MAX: to the end of the file */
};

/* What a write was asked to keep, and what it kept. */
enum cutplan_ask { CF_LOST, CF_WHOLE, CF_TORN, CF_SIZE };

struct cutplan_piece {
	uint64_t off, end; /* bytes of the write that persist */
};

struct cutplan_fate {
	uint8_t ask;	/* enum cutplan_ask: the draw or the selection */
	uint32_t first; /* its pieces: pieces[first, first + n) */
	uint32_t n;
	uint64_t size; /* the file is at least this long after it, 0 */
};

/* The plan of one file. */
struct cutplan_file {
	struct cutplan_fate *fate;    /* per item (CI_WRITE ones used) */
	struct cutplan_piece *pieces; /* in item order, each sorted */
	size_t npieces, cap;
	uint32_t whole, torn, size_only, lost; /* writes by what they kept */
	uint64_t settled; /* units asked for and not kept */
};

/*
 * Plan one file: items[0, n) are its pending events in program order.
 * id: for a seeded cut, the file's draw id (the trace id of the record of
 * its first pending write or copy: both sides see the same); for a
 * selection, s->file for the file selected (the caller resolves which
 * file that is), anything else for the others, which keep nothing.
 * out must be zeroed or released.  Returns 0 or -ENOMEM.
 */
int cutplan_file(const struct cutplan_spec *s, uint64_t id,
		 const struct cutplan_item *items, size_t n,
		 struct cutplan_file *out);

void cutplan_file_release(struct cutplan_file *out);

/*
 * A file kept whole (see the head): does it keep all its pending data?
 * Never for CUTPLAN_SELECT; for a seeded cut as drawn from (seed, id),
 * and only when keepable (no failed fsync since the last cut, none of its
 * size ops dropped).
 */
bool cutplan_whole_keeps(const struct cutplan_spec *s, uint64_t id,
			 bool keepable);

#endif /* CRASHFS_CUTPLAN_H */
