/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The crashfs trace: a binary, versioned log of every operation a program
 * made on a crashfs mount, written by the daemon and read by the harness.
 *
 * The byte layout is specified in docs/trace-format.md; this header is the
 * programming interface.  A trace is a header followed by records.  Every
 * record carries its sequence number, type, the caller's pid, the result
 * (0 or a byte count on success, -errno on failure) and a checksum, so a
 * trace cut short by a killed daemon reads back up to its last whole record.
 *
 * Files are named by stable ids assigned by the daemon (the mount's root is
 * TRACE_ROOT_ID).  A file that existed before the mount is introduced by a
 * TR_BIND record the first time the daemon meets it, naming the directory
 * id and the name under which it was found; that (parent, name) refers to
 * the initial state, because the kernel always looks an entry up before it
 * changes it.
 *
 * Calling sequence (writer, used by the daemon):
 *	w = trace_writer_create(path, &hdr_info);
 *	trace_reserve(w, bytes);	before applying an operation
 *	trace_append(w, &rec);		after applying it
 *	trace_writer_close(&w);		appends TR_END and syncs
 *
 * Calling sequence (reader, used by everything else):
 *	r = trace_reader_open(path, err, sizeof(err));
 *	while ((n = trace_next(r, &rec)) > 0)
 *		...;
 *	n == 0: end of trace (trace_reader_truncated() says whether the last
 *	record was cut short); n < 0: corrupt record, trace_reader_error().
 *	trace_reader_free(&r);
 *
 * Error handling: constructors return NULL with errno set (the reader also
 * fills a message naming the file and what is wrong); actions return 0 or
 * -errno.  Neither the writer nor the reader is thread-safe: the daemon
 * serialises appends under its ordering lock.
 */
#ifndef CRASHFS_TRACE_H
#define CRASHFS_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TRACE_MAGIC "CRASHFS\x1a" /* 8 bytes at offset 0 */
#define TRACE_VERSION 2		  /* bumped on any incompatible change */
#define TRACE_VERSION_MIN 1	  /* the oldest version readers accept */
#define TRACE_BOM 0x0102	  /* stored little-endian: 02 01 */
#define TRACE_ROOT_ID 1		  /* id of the mount's root directory */
#define TRACE_NAME_MAX 4096	  /* longest name, target or mark text */

/*
 * Record types.  The fields of struct trace_rec each type uses are listed
 * beside it; unlisted fields are zero.  "name" strings are NUL-terminated.
 */
enum trace_type {
	TR_BIND = 1,	/* id, parent, name, mode, len = size at first meeting;
			   the root is bound with parent 0 and name "" */
	TR_CREATE,	/* parent, name, id (new), mode, oflags, fh (the open
			   handle it returned) */
	TR_MKNOD,	/* parent, name, id, mode, off = rdev */
	TR_MKDIR,	/* parent, name, id, mode */
	TR_SYMLINK,	/* parent, name, id, name2 = target */
	TR_LINK,	/* id (existing), parent, name (new link) */
	TR_UNLINK,	/* parent, name, id = file unlinked (0 if none) */
	TR_RMDIR,	/* parent, name, id = directory removed (0 if none) */
	TR_RENAME,	/* parent, name -> parent2, name2, oflags = RENAME_*,
			   id = file moved, id2 = file replaced (or exchanged),
			   0 if none */
	TR_OPEN,	/* id, fh, oflags (O_TRUNC at open is recorded as a
			   TR_TRUNCATE right after it) */
	TR_WRITE,	/* id, fh, off, data/data_len (len = data_len); off is
			   where the data really landed (O_APPEND included) */
	TR_TRUNCATE,	/* id, len = new size, fh (0 if by path) */
	TR_FALLOCATE,	/* id, fh, oflags = fallocate mode, off, len */
	TR_COPY_RANGE,	/* id2 = source, off2 = source offset, id = dest,
			   off = dest offset, len = requested; result = copied */
	TR_SETATTR,	/* id, oflags = TRA_* mask, mode, uid, gid, atime,
			   mtime (size changes are TR_TRUNCATE) */
	TR_SETXATTR,	/* id, name, data/data_len = value, oflags = flags */
	TR_REMOVEXATTR, /* id, name */
	TR_FLUSH,	/* id, fh: close(2) of one descriptor; pid = closer */
	TR_RELEASE,	/* id, fh: last reference to the open file is gone */
	TR_FSYNC,	/* id, fh; TRF_DATASYNC for fdatasync */
	TR_FSYNCDIR,	/* id, fh; TRF_DATASYNC for fdatasync of a directory */
	TR_MARK,	/* name = the mark's text */
	TR_FAULT,	/* name = description of an injected fault, oflags =
			   the action, id = file concerned (0 if none) */
	TR_POWERCUT,	/* a simulated power loss on the live mount; name =
			   the model used */
	TR_END,		/* clean shutdown: the trace is complete */
	/* Version 2 (a version 1 trace holding these is corrupt): */
	TR_SYNC,       /* a sync point: every record before it is durable;
			   oflags = TRS_* (what made it), pid = the caller
			   (0 for TRS_CTL) */
	TR_SYNC_RANGE, /* sync_file_range(2), not a durability point: id
			   (0 if the daemon does not know the file), off,
			   len = nbytes (0: to the end), oflags = its
			   SYNC_FILE_RANGE_* flags */
	TR_TYPE_MAX    /* not a type: one past the last */
};

/* What made a TR_SYNC (struct trace_rec.oflags).  A reader treats any
 * value, known or not, as a sync point. */
#define TRS_SYNC 1   /* sync(2), seen by `crashfs check` */
#define TRS_SYNCFS 2 /* syncfs(2) of a file on the mount, ditto */
#define TRS_CTL 3    /* declared with `crashfs ctl MNT sync` */

/* Record flags (struct trace_rec.flags). */
#define TRF_DATASYNC 0x0001 /* fdatasync rather than fsync */
#define TRF_SYNC 0x0002	    /* write through an O_SYNC/O_DSYNC handle */
#define TRF_APPEND 0x0004   /* write through an O_APPEND handle */
#define TRF_DIRECT 0x0008   /* write through an O_DIRECT handle */
#define TRF_INJECTED 0x0010 /* result was injected by a fault rule */
#define TRF_WRITEBACK                                                          \
	0x0020 /* write of pages the kernel wrote back (a
				shared mapping): readers saw the data
				before this record */

/* TR_SETATTR masks (struct trace_rec.oflags). */
#define TRA_MODE 0x01
#define TRA_UID 0x02
#define TRA_GID 0x04
#define TRA_ATIME 0x08
#define TRA_MTIME 0x10

/*
 * One decoded record.  The writer assigns seq and time_ns.  For a record
 * returned by the reader, name, name2 and data point into storage owned by
 * the reader: valid until the next trace_next() for name and name2, and
 * until trace_reader_free() for data (it points into the mapped file).
 */
struct trace_rec {
	uint64_t seq;	       /* 1, 2, 3 ... in append order */
	uint64_t time_ns;      /* nanoseconds since the trace was created */
	uint16_t type;	       /* enum trace_type */
	uint16_t flags;	       /* TRF_* */
	uint32_t pid;	       /* calling process, 0 if none (marks by ctl) */
	int32_t result;	       /* >= 0 on success, -errno on failure */
	uint64_t id;	       /* file operated on (see enum trace_type) */
	uint64_t id2;	       /* second file: rename victim, copy source */
	uint64_t parent;       /* directory of name */
	uint64_t parent2;      /* directory of name2 (rename) */
	uint64_t fh;	       /* open handle number, assigned by the daemon */
	uint64_t off;	       /* offset (write, fallocate, copy dest), rdev */
	uint64_t off2;	       /* source offset (copy) */
	uint64_t len;	       /* length or size */
	uint32_t mode;	       /* file type and permission bits */
	uint32_t oflags;       /* open/rename/fallocate/xattr flags, TRA_* */
	uint32_t uid;	       /* setattr */
	uint32_t gid;	       /* setattr */
	struct timespec atime; /* setattr */
	struct timespec mtime; /* setattr */
	const char *name;      /* entry name, xattr name or mark text */
	const char *name2;     /* rename target name or symlink target */
	const void *data;      /* write payload or xattr value */
	uint32_t data_len;     /* bytes at data */
	uint64_t data_off;     /* reader only: file offset of data */
};

/* Information stored in the trace header. */
struct trace_header {
	uint16_t version;     /* TRACE_VERSION of the writer (a reader
				 accepts TRACE_VERSION_MIN and later) */
	uint64_t created_ns;  /* CLOCK_REALTIME at creation, ns */
	uint32_t sector_size; /* torn-write granularity hint, bytes */
	char backing[4096];   /* backing directory at mount, "" if none */
};

/* Name of a record type ("write", "fsyncdir", ...), "?" if unknown. */
const char *trace_type_name(unsigned int type);

/*
 * The body layout of a record type: one letter per stored field, in order,
 * as in docs/trace-format.md (TR_WRITE: "ihoD" = id, fh, off, payload);
 * "" if the type is unknown.  For tools that show every field.
 */
const char *trace_type_layout(unsigned int type);

/* Bytes the encoded record occupies in a trace (header, body, checksum);
 * 0 for a record trace_append() would refuse (unknown type, long name). */
size_t trace_rec_size(const struct trace_rec *rec);

/* ---- writer ---------------------------------------------------------- */

struct trace_writer;

/*
 * Create (or truncate) the trace at path and write its header.  Returns
 * NULL with errno set.  hdr may be NULL (no backing path, 512-byte sectors).
 */
struct trace_writer *trace_writer_create(const char *path,
					 const struct trace_header *hdr);

/*
 * Make sure the next `bytes` bytes of records can be written without
 * ENOSPC, by preallocating the trace file ahead.  Returns 0 or -errno
 * (-ENOSPC when the disk under the trace is full).  The daemon calls it
 * before applying an operation, so an operation is refused rather than
 * applied and left unrecorded.  The preallocation extends the file over
 * zeros (a reader of the live trace sees a cut tail after the last
 * record) and, on ext4, xfs and tmpfs, is mapped for the appends that
 * follow; the file must not be truncated by anyone else meanwhile.
 */
int trace_reserve(struct trace_writer *w, size_t bytes);

/*
 * Append rec, assigning rec->seq and rec->time_ns.  The record is handed
 * to the kernel before this returns (no user-space buffering: copied into
 * the mapped page cache, or written with pwritev), so it survives a
 * killed daemon.  Returns 0 or -errno: -EINVAL for an unknown
 * type or a payload length without data, -ENAMETOOLONG for a name longer
 * than TRACE_NAME_MAX (never cut), -E2BIG for a record over 64 MiB, or
 * the write's error.  A write that fails part-way is cut off again, so
 * the trace still ends at the previous record; if that is impossible,
 * every later append fails with -EIO.
 */
int trace_append(struct trace_writer *w, struct trace_rec *rec);

/* Number of records appended so far (the seq of the last one). */
uint64_t trace_writer_count(const struct trace_writer *w);

/* File offset of the payload of the last record appended, if its type
 * stores one at the end (TR_WRITE): the daemon reads it back there. */
uint64_t trace_writer_last_data(const struct trace_writer *w);

/* Bytes written so far, header included. */
uint64_t trace_writer_bytes(const struct trace_writer *w);

/*
 * Append TR_END, fsync and close the trace, free *w and set it to NULL.
 * Returns 0 or the first -errno met (the trace is closed either way).
 */
int trace_writer_close(struct trace_writer **w);

/* ---- reader ---------------------------------------------------------- */

struct trace_reader;

/*
 * Open and map the trace at path and check its header.  On failure returns
 * NULL with errno set and a message in err (if errlen > 0), e.g.
 * "'x' is not a crashfs trace (bad magic)".
 */
struct trace_reader *trace_reader_open(const char *path, char *err,
				       size_t errlen);

const struct trace_header *trace_reader_header(const struct trace_reader *r);

/*
 * Decode the next record into rec.  Returns 1 when a record was read, 0 at
 * the end of the trace, -EBADMSG when the record at the current offset is
 * corrupt (bad checksum, impossible size, unknown type, malformed body;
 * trace_reader_error() says which and where).  After -EBADMSG the reader
 * stays at the bad record.
 */
int trace_next(struct trace_reader *r, struct trace_rec *rec);

/* Go back to the first record. */
void trace_rewind(struct trace_reader *r);

/* True once trace_next() has returned 0 and the trace ends in part of a
 * record (the daemon was killed mid-append). */
bool trace_reader_truncated(const struct trace_reader *r);

/* True once a TR_END record has been read. */
bool trace_reader_complete(const struct trace_reader *r);

/* Message for the last failure, "" if none. */
const char *trace_reader_error(const struct trace_reader *r);

/* Pointer to len bytes at offset off of the mapped trace, NULL if out of
 * range.  Valid until trace_reader_free(). */
const void *trace_reader_bytes(const struct trace_reader *r, uint64_t off,
			       uint64_t len);

void trace_reader_free(struct trace_reader **r);

#endif /* CRASHFS_TRACE_H */
