/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Text and JSON forms of trace records (see trace_print.h).  The text form
 * names each record type after the call the program made and keeps to
 * strace's habits: quoted paths, symbolic flags, "= -1 ENOENT (...)" for
 * failures.  The JSON form is built with jansson from the type's layout
 * (trace_type_layout()), so it carries every stored field of every type
 * without a second list of them.
 */
#include "harness/trace_print.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#define PATH_BUF 8192		   /* room for a path shown in a line */
#define KERNEL_O_LARGEFILE 0100000 /* set by the kernel on every open */

struct flag_name {
	uint32_t bit;	  /* the flag's value */
	const char *name; /* as the C headers spell it */
};

static const struct flag_name open_flags[] = {
    {O_CREAT, "O_CREAT"},
    {O_EXCL, "O_EXCL"},
    {O_NOCTTY, "O_NOCTTY"},
    {O_TRUNC, "O_TRUNC"},
    {O_APPEND, "O_APPEND"},
    {O_NONBLOCK, "O_NONBLOCK"},
    {O_SYNC, "O_SYNC"},
    {O_DSYNC, "O_DSYNC"},
    {O_DIRECT, "O_DIRECT"},
    {O_TMPFILE, "O_TMPFILE"},
    {O_DIRECTORY, "O_DIRECTORY"},
    {O_NOFOLLOW, "O_NOFOLLOW"},
    {O_NOATIME, "O_NOATIME"},
    {O_CLOEXEC, "O_CLOEXEC"},
    {O_PATH, "O_PATH"},
    {FASYNC, "O_ASYNC"},
    {0, NULL},
};

static const struct flag_name rename_flags[] = {
    {RENAME_NOREPLACE, "RENAME_NOREPLACE"},
    {RENAME_EXCHANGE, "RENAME_EXCHANGE"},
    {RENAME_WHITEOUT, "RENAME_WHITEOUT"},
    {0, NULL},
};

static const struct flag_name falloc_flags[] = {
    {FALLOC_FL_KEEP_SIZE, "FALLOC_FL_KEEP_SIZE"},
    {FALLOC_FL_PUNCH_HOLE, "FALLOC_FL_PUNCH_HOLE"},
    {FALLOC_FL_COLLAPSE_RANGE, "FALLOC_FL_COLLAPSE_RANGE"},
    {FALLOC_FL_ZERO_RANGE, "FALLOC_FL_ZERO_RANGE"},
    {FALLOC_FL_INSERT_RANGE, "FALLOC_FL_INSERT_RANGE"},
    {FALLOC_FL_UNSHARE_RANGE, "FALLOC_FL_UNSHARE_RANGE"},
    {0, NULL},
};

static const struct flag_name setattr_flags[] = {
    {TRA_MODE, "mode"},	  {TRA_UID, "uid"},	{TRA_GID, "gid"},
    {TRA_ATIME, "atime"}, {TRA_MTIME, "mtime"}, {0, NULL},
};

static const struct flag_name xattr_flags[] = {
    {XATTR_CREATE, "XATTR_CREATE"},
    {XATTR_REPLACE, "XATTR_REPLACE"},
    {0, NULL},
};

static const struct flag_name sfr_flags[] = {
    {SYNC_FILE_RANGE_WAIT_BEFORE, "SYNC_FILE_RANGE_WAIT_BEFORE"},
    {SYNC_FILE_RANGE_WRITE, "SYNC_FILE_RANGE_WRITE"},
    {SYNC_FILE_RANGE_WAIT_AFTER, "SYNC_FILE_RANGE_WAIT_AFTER"},
    {0, NULL},
};

/* What made a sync point (TR_SYNC oflags). */
static const char *const sync_kinds[] = {
    [TRS_SYNC] = "sync(2)",
    [TRS_SYNCFS] = "syncfs(2)",
    [TRS_CTL] = "ctl",
};

static const struct flag_name rec_flags[] = {
    {TRF_DATASYNC, "datasync"},
    {TRF_SYNC, "sync"},
    {TRF_APPEND, "append"},
    {TRF_DIRECT, "direct"},
    {TRF_INJECTED, "injected"},
    {TRF_WRITEBACK, "writeback"},
    {0, NULL},
};

/* Append "|name" (or "name" first) for each flag set in v, then any bits
 * left over in hex. */
static void join_flags(char *buf, size_t len, uint32_t v,
		       const struct flag_name *t)
{
	size_t n = strlen(buf);

	for (; t->name; t++) {
		/* O_SYNC includes O_DSYNC's bit: match whole values */
		if ((v & t->bit) != t->bit)
			continue;
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s",
				      n ? "|" : "", t->name);
		v &= ~t->bit;
	}
	if (v)
		snprintf(buf + n, n < len ? len - n : 0, "%s%#x", n ? "|" : "",
			 v);
}

const char *trace_print_oflags(const struct trace_rec *rec, char *buf,
			       size_t len)
{
	uint32_t v = rec->oflags;

	buf[0] = '\0';
	switch (rec->type) {
	case TR_OPEN:
	case TR_CREATE:
		snprintf(buf, len, "%s",
			 (v & O_ACCMODE) == O_WRONLY   ? "O_WRONLY"
			 : (v & O_ACCMODE) == O_RDWR   ? "O_RDWR"
			 : (v & O_ACCMODE) == O_RDONLY ? "O_RDONLY"
						       : "O_ACCMODE");
		join_flags(buf, len, v & ~(O_ACCMODE | KERNEL_O_LARGEFILE),
			   open_flags);
		break;
	case TR_RENAME: join_flags(buf, len, v, rename_flags); break;
	case TR_FALLOCATE: join_flags(buf, len, v, falloc_flags); break;
	case TR_SETATTR: join_flags(buf, len, v, setattr_flags); break;
	case TR_SETXATTR: join_flags(buf, len, v, xattr_flags); break;
	case TR_SYNC_RANGE: join_flags(buf, len, v, sfr_flags); break;
	case TR_SYNC:
		if (v < sizeof(sync_kinds) / sizeof(*sync_kinds) &&
		    sync_kinds[v]) {
			snprintf(buf, len, "%s", sync_kinds[v]);
			break;
		}
		/* fall through */
	default:
		if (v)
			snprintf(buf, len, "%#x", v);
	}
	return buf;
}

/* "S_IFREG|0644", or "0755" when no file type is given. */
static const char *mode_str(uint32_t mode, char *buf, size_t len)
{
	static const struct flag_name types[] = {
	    {S_IFREG, "S_IFREG"},   {S_IFDIR, "S_IFDIR"},
	    {S_IFLNK, "S_IFLNK"},   {S_IFIFO, "S_IFIFO"},
	    {S_IFSOCK, "S_IFSOCK"}, {S_IFCHR, "S_IFCHR"},
	    {S_IFBLK, "S_IFBLK"},   {0, NULL},
	};
	const struct flag_name *t = types;

	while (t->name && (mode & S_IFMT) != t->bit)
		t++;
	if (!(mode & S_IFMT))
		snprintf(buf, len, "%04o", mode & 07777);
	else if (t->name)
		snprintf(buf, len, "%s|%04o", t->name, mode & 07777);
	else
		snprintf(buf, len, "%#o", mode);
	return buf;
}

/* ---- text ------------------------------------------------------------ */

/* Bytes of a UTF-8 sequence at s that is safe to print raw (a valid,
 * shortest encoding of a printable code point), 0 if there is none. */
static size_t utf8_len(const unsigned char *s)
{
	uint32_t cp;
	size_t n;

	if (s[0] >= 0x20 && s[0] < 0x7f)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < 0xa0 || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

static void put_quoted(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	putc('"', f);
	while (*s) {
		if (*s == '"' || *s == '\\') {
			fprintf(f, "\\%c", *s++);
		} else if (*s == '\n') {
			fputs("\\n", f);
			s++;
		} else if (*s == '\t') {
			fputs("\\t", f);
			s++;
		} else if ((n = utf8_len(s))) {
			fwrite(s, 1, n, f);
			s += n;
		} else {
			fprintf(f, "\\x%02x", *s++);
		}
	}
	putc('"', f);
}

static void put_path(FILE *f, const struct names *nm, uint64_t id,
		     const struct trace_print_opts *o)
{
	char buf[PATH_BUF];

	put_quoted(f, names_path(nm, id, buf, sizeof(buf)));
	if (o->ids)
		fprintf(f, "<%" PRIu64 ">", id);
}

/* The entry name in parent; id is the file it names, 0 if none. */
static void put_entry(FILE *f, const struct names *nm, uint64_t parent,
		      const char *name, uint64_t id,
		      const struct trace_print_opts *o)
{
	char buf[PATH_BUF];

	put_quoted(f, names_entry_path(nm, parent, name, buf, sizeof(buf)));
	if (o->ids && id)
		fprintf(f, "<%" PRIu64 ">", id);
}

/*
 * The errno of a failed record, -result, computed in 64 bits: a result of
 * INT32_MIN (only a hand-made trace has one) has no int negation.  Its
 * name ("ENOENT") or NULL, and its message (into buf).
 */
static int64_t rec_errno(const struct trace_rec *rec, const char **name,
			 char *buf, size_t len)
{
	int64_t e = -(int64_t)rec->result;

	*name = e <= INT_MAX ? strerrorname_np((int)e) : NULL;
	if (e <= INT_MAX)
		snprintf(buf, len, "%s", strerror((int)e));
	else
		snprintf(buf, len, "Unknown error %" PRId64, e);
	return e;
}

static void put_result(FILE *f, const struct trace_rec *rec)
{
	const char *name;
	char msg[128];
	int64_t e;

	if (rec->result >= 0) {
		fprintf(f, " = %" PRId32, rec->result);
	} else {
		e = rec_errno(rec, &name, msg, sizeof(msg));
		if (name)
			fprintf(f, " = -1 %s (%s)", name, msg);
		else
			fprintf(f, " = -1 errno %" PRId64, e);
	}
	if (rec->flags & TRF_INJECTED)
		fputs(" (injected)", f);
}

static void put_time(FILE *f, const char *what, const struct timespec *ts)
{
	if (ts->tv_nsec == UTIME_NOW)
		fprintf(f, " %s now", what);
	else if (ts->tv_nsec == UTIME_OMIT)
		fprintf(f, " %s omit", what);
	else
		fprintf(f, " %s %lld.%09ld", what, (long long)ts->tv_sec,
			ts->tv_nsec);
}

/* The write flags a program chose at open, as strace would show them. */
static void put_write_flags(FILE *f, uint16_t flags)
{
	char buf[128] = "";
	static const struct flag_name t[] = {
	    {TRF_APPEND, "O_APPEND"},
	    {TRF_SYNC, "O_SYNC"},
	    {TRF_DIRECT, "O_DIRECT"},
	    {0, NULL},
	};

	join_flags(buf, sizeof(buf),
		   flags & (TRF_APPEND | TRF_SYNC | TRF_DIRECT), t);
	if (buf[0])
		fprintf(f, " %s", buf);
	if (flags & TRF_WRITEBACK)
		fputs(" (writeback)", f);
}

int trace_print_text(FILE *f, const struct trace_rec *rec,
		     const struct names *nm, const struct trace_print_opts *o,
		     uint64_t prev_ns)
{
	char b[256];
	bool result = true;

	fprintf(f, "#%" PRIu64, rec->seq);
	if (o->time == TRACE_TIME_ABS)
		fprintf(f, " %" PRIu64 ".%06" PRIu64,
			rec->time_ns / 1000000000u,
			rec->time_ns % 1000000000u / 1000u);
	else if (o->time == TRACE_TIME_REL) {
		uint64_t d =
		    rec->time_ns >= prev_ns ? rec->time_ns - prev_ns : 0;

		fprintf(f, " +%" PRIu64 ".%06" PRIu64, d / 1000000000u,
			d % 1000000000u / 1000u);
	}
	if (rec->pid)
		fprintf(f, " pid %" PRIu32, rec->pid);
	switch (rec->type) {
	case TR_FSYNC:
		fputs(rec->flags & TRF_DATASYNC ? " fdatasync" : " fsync", f);
		break;
	default: fprintf(f, " %s", trace_type_name(rec->type));
	}
	switch (rec->type) {
	case TR_BIND:
		putc(' ', f);
		if (rec->id == TRACE_ROOT_ID)
			put_path(f, nm, rec->id, o);
		else
			put_entry(f, nm, rec->parent, rec->name, rec->id, o);
		fprintf(f, " %s size %" PRIu64,
			mode_str(rec->mode, b, sizeof(b)), rec->len);
		result = rec->result != 0;
		break;
	case TR_CREATE:
		putc(' ', f);
		put_entry(f, nm, rec->parent, rec->name, rec->id, o);
		fprintf(f, " %s", trace_print_oflags(rec, b, sizeof(b)));
		fprintf(f, " %s fh %" PRIu64, mode_str(rec->mode, b, sizeof(b)),
			rec->fh);
		break;
	case TR_MKNOD:
		putc(' ', f);
		put_entry(f, nm, rec->parent, rec->name, rec->id, o);
		fprintf(f, " %s", mode_str(rec->mode, b, sizeof(b)));
		if (S_ISCHR(rec->mode) || S_ISBLK(rec->mode))
			fprintf(f, " dev %#" PRIx64, rec->off);
		break;
	case TR_MKDIR:
		putc(' ', f);
		put_entry(f, nm, rec->parent, rec->name, rec->id, o);
		fprintf(f, " %s", mode_str(rec->mode & 07777, b, sizeof(b)));
		break;
	case TR_SYMLINK:
		putc(' ', f);
		put_entry(f, nm, rec->parent, rec->name, rec->id, o);
		fputs(" -> ", f);
		put_quoted(f, rec->name2 ? rec->name2 : "");
		break;
	case TR_LINK:
		putc(' ', f);
		put_path(f, nm, rec->id, o);
		fputs(" -> ", f);
		put_entry(f, nm, rec->parent, rec->name, 0, o);
		break;
	case TR_UNLINK:
	case TR_RMDIR:
		putc(' ', f);
		put_entry(f, nm, rec->parent, rec->name, rec->id, o);
		break;
	case TR_RENAME:
		putc(' ', f);
		put_entry(f, nm, rec->parent, rec->name, rec->id, o);
		fputs(rec->oflags & RENAME_EXCHANGE ? " <-> " : " -> ", f);
		put_entry(f, nm, rec->parent2, rec->name2, rec->id2, o);
		if (rec->oflags)
			fprintf(f, " %s",
				trace_print_oflags(rec, b, sizeof(b)));
		break;
	case TR_OPEN:
		putc(' ', f);
		put_path(f, nm, rec->id, o);
		fprintf(f, " %s fh %" PRIu64,
			trace_print_oflags(rec, b, sizeof(b)), rec->fh);
		break;
	case TR_WRITE:
		putc(' ', f);
		put_path(f, nm, rec->id, o);
		fprintf(f, " off %" PRIu64 " len %" PRIu32, rec->off,
			rec->data_len);
		put_write_flags(f, rec->flags);
		break;
	case TR_TRUNCATE:
		putc(' ', f);
		put_path(f, nm, rec->id, o);
		fprintf(f, " size %" PRIu64, rec->len);
		break;
	case TR_FALLOCATE:
		putc(' ', f);
		put_path(f, nm, rec->id, o);
		if (rec->oflags)
			fprintf(f, " %s",
				trace_print_oflags(rec, b, sizeof(b)));
		fprintf(f, " off %" PRIu64 " len %" PRIu64, rec->off, rec->len);
		break;
	case TR_COPY_RANGE:
		putc(' ', f);
		put_path(f, nm, rec->id2, o);
		fprintf(f, " off %" PRIu64 " -> ", rec->off2);
		put_path(f, nm, rec->id, o);
		fprintf(f, " off %" PRIu64 " len %" PRIu64, rec->off, rec->len);
		break;
	case TR_SETATTR:
		putc(' ', f);
		put_path(f, nm, rec->id, o);
		if (rec->oflags & TRA_MODE)
			fprintf(f, " mode %s",
				mode_str(rec->mode & 07777, b, sizeof(b)));
		if (rec->oflags & TRA_UID)
			fprintf(f, " uid %" PRIu32, rec->uid);
		if (rec->oflags & TRA_GID)
			fprintf(f, " gid %" PRIu32, rec->gid);
		if (rec->oflags & TRA_ATIME)
			put_time(f, "atime", &rec->atime);
		if (rec->oflags & TRA_MTIME)
			put_time(f, "mtime", &rec->mtime);
		break;
	case TR_SETXATTR:
	case TR_REMOVEXATTR:
		putc(' ', f);
		put_path(f, nm, rec->id, o);
		putc(' ', f);
		put_quoted(f, rec->name ? rec->name : "");
		if (rec->type == TR_SETXATTR) {
			fprintf(f, " len %" PRIu32, rec->data_len);
			if (rec->oflags)
				fprintf(f, " %s",
					trace_print_oflags(rec, b, sizeof(b)));
		}
		break;
	case TR_FLUSH:
	case TR_RELEASE:
		putc(' ', f);
		put_path(f, nm, rec->id, o);
		fprintf(f, " fh %" PRIu64, rec->fh);
		break;
	case TR_FSYNC:
	case TR_FSYNCDIR:
		putc(' ', f);
		put_path(f, nm, rec->id, o);
		if (rec->type == TR_FSYNCDIR && rec->flags & TRF_DATASYNC)
			fputs(" datasync", f);
		break;
	case TR_MARK:
		putc(' ', f);
		put_quoted(f, rec->name ? rec->name : "");
		result = rec->result != 0;
		break;
	case TR_FAULT:
		putc(' ', f);
		put_quoted(f, rec->name ? rec->name : "");
		if (rec->id) {
			fputs(" on ", f);
			put_path(f, nm, rec->id, o);
		}
		fprintf(f, " action %" PRIu32, rec->oflags);
		result = rec->result != 0;
		break;
	case TR_POWERCUT:
		fputs(" model ", f);
		put_quoted(f, rec->name ? rec->name : "");
		result = rec->result != 0;
		break;
	case TR_SYNC:
		/* written before the call ran: no result of its own */
		fprintf(f, " %s", trace_print_oflags(rec, b, sizeof(b)));
		result = rec->result != 0;
		break;
	case TR_SYNC_RANGE:
		putc(' ', f);
		if (rec->id)
			put_path(f, nm, rec->id, o);
		else
			fputs("<file not known>", f);
		fprintf(f, " off %" PRIu64 " len %" PRIu64, rec->off, rec->len);
		if (rec->oflags)
			fprintf(f, " %s",
				trace_print_oflags(rec, b, sizeof(b)));
		result = rec->result != 0;
		break;
	default: /* TR_END */ result = rec->result != 0;
	}
	if (result)
		put_result(f, rec);
	putc('\n', f);
	return ferror(f) ? -EIO : 0;
}

/* ---- JSON ------------------------------------------------------------ */

/* An unsigned number: a JSON integer when it fits jansson's, else its
 * decimal digits as a string (ids and offsets this large mean a damaged
 * or hostile trace, but must still be shown exactly). */
static json_t *json_u64(uint64_t v)
{
	char buf[24];

	if (v <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string(buf);
}

static char *base64(const unsigned char *p, size_t n)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1), *q = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*q++ = digits[v >> 18 & 63];
		*q++ = digits[v >> 12 & 63];
		*q++ = i + 1 < n ? digits[v >> 6 & 63] : '=';
		*q++ = i + 2 < n ? digits[v & 63] : '=';
	}
	*q = '\0';
	return out;
}

/* Set key to s if it is UTF-8; else key_b64 to its bytes in base64. */
static int set_bytes_str(json_t *o, const char *key, const char *s)
{
	json_t *v = json_string(s);
	char k[64], *b;
	int err;

	if (v)
		return json_object_set_new(o, key, v);
	b = base64((const unsigned char *)s, strlen(s));
	if (!b)
		return -1;
	snprintf(k, sizeof(k), "%s_b64", key);
	err = json_object_set_new(o, k, json_string(b));
	free(b);
	return err;
}

/* Paths are for display: one that is not UTF-8 is shown with U+FFFD. */
static int set_path(json_t *o, const char *key, const char *path)
{
	json_t *v = json_string(path);
	char *copy;

	if (v)
		return json_object_set_new(o, key, v);
	copy = strdup(path);
	if (!copy)
		return -1;
	for (unsigned char *s = (unsigned char *)copy; *s; s++)
		if (*s >= 0x80)
			*s = '?';
	v = json_string(copy);
	free(copy);
	return json_object_set_new(o, key, v);
}

static json_t *json_time(const struct timespec *ts)
{
	return json_pack("{s:I,s:I}", "sec", (json_int_t)ts->tv_sec, "nsec",
			 (json_int_t)ts->tv_nsec);
}

static json_t *flag_list(uint32_t v, const struct flag_name *t)
{
	json_t *a = json_array();

	for (; a && t->name; t++)
		if (v & t->bit)
			json_array_append_new(a, json_string(t->name));
	return a;
}

static int set_data(json_t *o, const struct trace_rec *rec,
		    const struct trace_print_opts *opts)
{
	char *b;
	int err;

	if (json_object_set_new(o, "data_len", json_integer(rec->data_len)))
		return -1;
	if (!opts->data)
		return 0;
	b = base64(rec->data, rec->data_len);
	if (!b)
		return -1;
	err = json_object_set_new(o, "data_b64", json_string(b));
	free(b);
	return err;
}

/*
 * The path of rec->id as the record leaves it: a record that gives a file
 * its first name (bind, create, mkdir ...) names it by its entry, since
 * the tracker, still in the state before rec, does not know it yet.
 */
static const char *id_path(const struct trace_rec *rec, const struct names *nm,
			   char *buf, size_t len)
{
	switch (rec->type) {
	case TR_BIND:
	case TR_CREATE:
	case TR_MKNOD:
	case TR_MKDIR:
	case TR_SYMLINK:
		if (rec->id != TRACE_ROOT_ID && rec->result >= 0 &&
		    !names_lookup(nm, rec->parent, rec->name))
			return names_entry_path(nm, rec->parent, rec->name, buf,
						len);
		/* fall through */
	default: return names_path(nm, rec->id, buf, len);
	}
}

json_t *trace_print_json(const struct trace_rec *rec, const struct names *nm,
			 const struct trace_print_opts *opts)
{
	json_t *o = json_object();
	char buf[PATH_BUF];
	const char *err;
	int bad = 0;

	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "seq", json_u64(rec->seq));
	bad |= json_object_set_new(o, "time_ns", json_u64(rec->time_ns));
	bad |= json_object_set_new(o, "type",
				   json_string(trace_type_name(rec->type)));
	bad |= json_object_set_new(o, "flags", json_integer(rec->flags));
	bad |= json_object_set_new(o, "flag_names",
				   flag_list(rec->flags, rec_flags));
	bad |= json_object_set_new(o, "pid", json_integer(rec->pid));
	bad |= json_object_set_new(o, "result", json_integer(rec->result));
	if (rec->result < 0) {
		char msg[128];

		rec_errno(rec, &err, msg, sizeof(msg));
		bad |= json_object_set_new(
		    o, "errno", err ? json_string(err) : json_null());
		bad |= json_object_set_new(o, "error", json_string(msg));
	}
	for (const char *f = trace_type_layout(rec->type); *f && !bad; f++) {
		switch (*f) {
		case 'i':
			bad |= json_object_set_new(o, "id", json_u64(rec->id));
			/* a sync_file_range of a file the daemon did not
			 * know names none */
			if (rec->id || rec->type != TR_SYNC_RANGE)
				bad |= set_path(
				    o, "path",
				    id_path(rec, nm, buf, sizeof(buf)));
			break;
		case 'I':
			bad |=
			    json_object_set_new(o, "id2", json_u64(rec->id2));
			if (rec->id2)
				bad |= set_path(
				    o, "path2",
				    names_path(nm, rec->id2, buf, sizeof(buf)));
			break;
		case 'p':
			bad |= json_object_set_new(o, "parent",
						   json_u64(rec->parent));
			break;
		case 'P':
			bad |= json_object_set_new(o, "parent2",
						   json_u64(rec->parent2));
			break;
		case 'h':
			bad |= json_object_set_new(o, "fh", json_u64(rec->fh));
			break;
		case 'o':
			bad |=
			    json_object_set_new(o, "off", json_u64(rec->off));
			break;
		case 'O':
			bad |=
			    json_object_set_new(o, "off2", json_u64(rec->off2));
			break;
		case 'l':
			bad |=
			    json_object_set_new(o, "len", json_u64(rec->len));
			break;
		case 'm':
			bad |= json_object_set_new(o, "mode",
						   json_integer(rec->mode));
			break;
		case 'f':
			bad |= json_object_set_new(o, "oflags",
						   json_integer(rec->oflags));
			trace_print_oflags(rec, buf, sizeof(buf));
			bad |= json_object_set_new(o, "oflags_names",
						   json_string(buf));
			break;
		case 'u':
			bad |= json_object_set_new(o, "uid",
						   json_integer(rec->uid));
			break;
		case 'g':
			bad |= json_object_set_new(o, "gid",
						   json_integer(rec->gid));
			break;
		case 'a':
			bad |= json_object_set_new(o, "atime",
						   json_time(&rec->atime));
			break;
		case 't':
			bad |= json_object_set_new(o, "mtime",
						   json_time(&rec->mtime));
			break;
		case 'n':
			bad |= set_bytes_str(o, "name",
					     rec->name ? rec->name : "");
			if (strchr(trace_type_layout(rec->type), 'p') &&
			    !(rec->type == TR_BIND && rec->id == TRACE_ROOT_ID))
				bad |= set_path(
				    o, "entry",
				    names_entry_path(nm, rec->parent, rec->name,
						     buf, sizeof(buf)));
			break;
		case 'N':
			bad |= set_bytes_str(o, "name2",
					     rec->name2 ? rec->name2 : "");
			if (strchr(trace_type_layout(rec->type), 'P'))
				bad |=
				    set_path(o, "entry2",
					     names_entry_path(nm, rec->parent2,
							      rec->name2, buf,
							      sizeof(buf)));
			break;
		case 'd':
		case 'D': bad |= set_data(o, rec, opts); break;
		}
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}
