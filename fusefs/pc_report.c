/* SPDX-License-Identifier: MIT */
/** @file
 *
 * What is not yet durable on a live mount (powercut.h, pc_report()): the
 * journal's dirty files with their unsynced byte ranges, its pending
 * entry ops and its unsynced attribute changes, as text for people or
 * JSON for tools (docs/control.md, `unsynced`).  The report is collected
 * into a jansson document under fs->order (a snapshot: no op runs
 * meanwhile), then written out.
 */
#include "fusefs/fs.h"
#include "fusefs/powercut.h"
#include "fusefs/powercut_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The path of fd relative to the mount into buf; false (buf "") when it
 * is not under the backing directory (a removed file: *gone set). */
static bool fd_path(struct cfs *fs, int fd, const char *name, char *buf,
		    size_t len, bool *gone)
{
	char proc[32], real[PATH_MAX];
	size_t b = strlen(fs->backing);
	ssize_t n;
	char *del;

	buf[0] = '\0';
	snprintf(proc, sizeof(proc), PROC_FD, fd);
	n = fd >= 0 ? readlink(proc, real, sizeof(real) - 1) : -1;
	if (n <= 0)
		return false;
	real[n] = '\0';
	del = strstr(real, " (deleted)");
	if (del && !del[10]) {
		*del = '\0';
		if (gone)
			*gone = true;
	}
	if (strncmp(real, fs->backing, b) ||
	    (real[b] != '/' && real[b] != '\0')) {
		if (gone)
			*gone = true; /* kept in the scratch directory */
		return false;
	}
	snprintf(buf, len, "%s%s%s", real + b + (real[b] == '/'),
		 name && real[b] ? "/" : "", name ? name : "");
	return true;
}

/* The trace id and path of the file (ino, dev), from the inode table;
 * fd, if not -1, is an fd on it.  Adds "id", "path" (or null) and, for a
 * file with no name left, "unlinked": true to o. */
static void file_names(struct cfs *fs, json_t *o, ino_t ino, dev_t dev, int fd,
		       struct stat *st)
{
	char path[PATH_MAX];
	struct cfs_inode *in;
	bool gone = false, ok;
	uint64_t id = 0;
	int ifd = -1;

	pthread_mutex_lock(&fs->tab);
	in = map_get(&fs->inodes, ino, dev);
	if (in) {
		id = in->id;
		if (fd < 0)
			ifd = inode_fd(fs, in);
	}
	if (fd < 0)
		fd = ifd;
	ok = fd_path(fs, fd, NULL, path, sizeof(path), &gone);
	if (st && (fd < 0 || fstat(fd, st) < 0))
		st->st_size = -1;
	if (in)
		inode_fd_put(in, ifd);
	pthread_mutex_unlock(&fs->tab);
	json_object_set_new(o, "id", json_integer((json_int_t)id));
	json_object_set_new(o, "path", ok ? json_string(path) : json_null());
	if (gone)
		json_object_set_new(o, "unlinked", json_true());
}

static json_t *file_json(struct cfs *fs, struct pc_file *f)
{
	json_t *o = json_object(), *r = json_array();
	struct stat st;

	file_names(fs, o, f->ino, f->dev, f->fd, &st);
	json_object_set_new(o, "bytes",
			    json_integer((json_int_t)ranges_bytes(&f->dirty)));
	for (size_t i = 0; i < f->dirty.n; i++)
		json_array_append_new(
		    r,
		    json_pack(
			"{sIsI}", "off", (json_int_t)f->dirty.v[i].off, "len",
			(json_int_t)(f->dirty.v[i].end - f->dirty.v[i].off)));
	json_object_set_new(o, "ranges", r);
	if (st.st_size >= 0)
		json_object_set_new(o, "size", json_integer(st.st_size));
	json_object_set_new(o, "durable_size", json_integer(f->durable));
	return o;
}

static const char *type_name(mode_t m)
{
	return S_ISREG(m)   ? "file"
	       : S_ISDIR(m) ? "directory"
	       : S_ISLNK(m) ? "symlink"
			    : "special";
}

/* "dir/name" of a journalled entry; its type into *type (NULL if it is
 * gone).  A tracking journal holds no fd on the directory: the inode
 * table gives one (the path is unknown, null, when it cannot). */
static json_t *entry_path(struct cfs *fs, struct pc_dir *d, const char *name,
			  const char **type)
{
	char path[PATH_MAX];
	struct cfs_inode *in = NULL;
	struct stat st;
	int fd;
	bool ok;

	if (type)
		*type = NULL;
	if (!d)
		return json_null();
	pthread_mutex_lock(&fs->tab);
	fd = d->fd;
	if (fd < 0 && (in = map_get(&fs->inodes, d->ino, d->dev)))
		fd = inode_fd(fs, in);
	ok = fd_path(fs, fd, name, path, sizeof(path), NULL);
	if (type && fd >= 0 && fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		*type = type_name(st.st_mode);
	if (in)
		inode_fd_put(in, fd);
	pthread_mutex_unlock(&fs->tab);
	return ok ? json_string(path) : json_null();
}

static json_t *entry_json(struct cfs *fs, struct pc_op *op)
{
	json_t *o = json_object();
	const char *type;

	switch (op->kind) {
	case PK_ADDED:
		json_object_set_new(o, "op", json_string("create"));
		json_object_set_new(o, "path",
				    entry_path(fs, op->dir, op->name, &type));
		if (type)
			json_object_set_new(o, "type", json_string(type));
		break;
	case PK_REMOVED:
		json_object_set_new(
		    o, "op", json_string(op->is_dir ? "rmdir" : "unlink"));
		json_object_set_new(o, "path",
				    entry_path(fs, op->dir, op->name, NULL));
		break;
	case PK_RENAMED:
		json_object_set_new(o, "op",
				    json_string(op->flags & RENAME_EXCHANGE
						    ? "exchange"
						    : "rename"));
		json_object_set_new(o, "from",
				    entry_path(fs, op->dir, op->name, NULL));
		json_object_set_new(o, "to",
				    entry_path(fs, op->dir2, op->name2, NULL));
		break;
	default: break;
	}
	return o;
}

static json_t *attr_json(struct cfs *fs, struct pc_op *op)
{
	static const char *const what[] = {
	    [PC_ATTR_MODE] = "chmod",
	    [PC_ATTR_OWNER] = "chown",
	    [PC_ATTR_XATTR] = "xattr",
	    [PC_ATTR_TIMES] = "utimes",
	};
	json_t *o = json_object();

	json_object_set_new(o, "op", json_string(what[op->what]));
	file_names(fs, o, op->ino, op->dev, op->afd, NULL);
	if (op->what == PC_ATTR_XATTR && op->name)
		json_object_set_new(o, "name", json_string(op->name));
	return o;
}

static int by_id(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t **)a, "id"));
	json_int_t y = json_integer_value(json_object_get(*(json_t **)b, "id"));

	return x < y ? -1 : x > y;
}

/* The report as a JSON document, NULL when out of memory. */
static json_t *collect(struct cfs *fs)
{
	struct pc_journal *j = fs->pc;
	json_t *doc, *files, *entries, *attrs, **v = NULL;
	uint64_t bytes = 0;
	struct pc_file *f;
	size_t pos = 0, n = 0;

	doc = json_pack("{s[]s[]s[]sb}", "files", "entries", "attributes",
			"powercut", pc_can_cut(fs));
	if (!doc)
		return NULL;
	files = json_object_get(doc, "files");
	entries = json_object_get(doc, "entries");
	attrs = json_object_get(doc, "attributes");
	if (j && j->files.len)
		v = calloc(j->files.len, sizeof(*v));
	while (j && v && (f = map_next(&j->files, &pos, NULL, NULL))) {
		v[n++] = file_json(fs, f);
		bytes += ranges_bytes(&f->dirty);
	}
	if (v)
		qsort(v, n, sizeof(*v), by_id);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(files, v[i]);
	free(v);
	for (size_t i = 0; j && i < j->nops; i++) {
		struct pc_op *op = &j->ops[i];

		if (op->kind == PK_ATTR)
			json_array_append_new(attrs, attr_json(fs, op));
		else if (op->kind != PK_SIZE)
			json_array_append_new(entries, entry_json(fs, op));
	}
	json_object_set_new(doc, "bytes", json_integer((json_int_t)bytes));
	return doc;
}

/* "path" or "#ID (unlinked)" of a report entry. */
static void text_path(json_t *o, const char *key, char *buf, size_t len)
{
	const char *p = json_string_value(json_object_get(o, key));
	bool gone = json_is_true(json_object_get(o, "unlinked"));

	if (p && !gone)
		snprintf(buf, len, "%s", p);
	else if (p)
		snprintf(buf, len, "%s (unlinked)", p);
	else
		snprintf(
		    buf, len, "#%lld (%s)",
		    (long long)json_integer_value(json_object_get(o, "id")),
		    gone ? "unlinked" : "path unknown");
}

static void text_file(FILE *out, json_t *o)
{
	json_t *r = json_object_get(o, "ranges"), *x, *size;
	char path[PATH_MAX + 32];
	size_t i;

	text_path(o, "path", path, sizeof(path));
	size = json_object_get(o, "size");
	fprintf(out, "  %s: %lld bytes in %zu range%s", path,
		(long long)json_integer_value(json_object_get(o, "bytes")),
		json_array_size(r), json_array_size(r) == 1 ? "" : "s");
	if (size)
		fprintf(out, ", size %lld",
			(long long)json_integer_value(size));
	fprintf(
	    out, " (durable %lld)\n",
	    (long long)json_integer_value(json_object_get(o, "durable_size")));
	json_array_foreach(r, i, x)
	{
		json_int_t off = json_integer_value(json_object_get(x, "off"));
		json_int_t len = json_integer_value(json_object_get(x, "len"));

		fprintf(out, "%s%lld-%lld%s", i % 8 ? " " : "    bytes ",
			(long long)off, (long long)(off + len - 1),
			i % 8 == 7 || i + 1 == json_array_size(r) ? "\n" : "");
	}
}

static void text_op(FILE *out, json_t *o)
{
	const char *op = json_string_value(json_object_get(o, "op"));
	const char *type = json_string_value(json_object_get(o, "type"));
	const char *name = json_string_value(json_object_get(o, "name"));
	char a[PATH_MAX + 32], b[PATH_MAX + 32];

	if (json_object_get(o, "from")) {
		text_path(o, "from", a, sizeof(a));
		text_path(o, "to", b, sizeof(b));
		fprintf(out, "  %s %s -> %s\n", op, a, b);
		return;
	}
	text_path(o, "path", a, sizeof(a));
	fprintf(out, "  %s %s", op, a);
	if (type)
		fprintf(out, " (%s)", type);
	if (name)
		fprintf(out, " %s", name);
	fputc('\n', out);
}

static void text(FILE *out, json_t *doc)
{
	json_t *files = json_object_get(doc, "files"), *x;
	json_t *entries = json_object_get(doc, "entries");
	json_t *attrs = json_object_get(doc, "attributes");
	size_t i;

	fprintf(out, "unsynced data: %zu file%s, %lld bytes\n",
		json_array_size(files), json_array_size(files) == 1 ? "" : "s",
		(long long)json_integer_value(json_object_get(doc, "bytes")));
	json_array_foreach(files, i, x) text_file(out, x);
	fprintf(out,
		"pending directory operations: %zu (durable once their "
		"directory is fsynced)\n",
		json_array_size(entries));
	json_array_foreach(entries, i, x) text_op(out, x);
	fprintf(out,
		"unsynced attribute changes: %zu (durable at an fsync of the "
		"file)\n",
		json_array_size(attrs));
	json_array_foreach(attrs, i, x) text_op(out, x);
}

int pc_report_locked(struct cfs *fs, FILE *out, bool json)
{
	json_t *doc = collect(fs);
	int err = 0;

	if (!doc)
		return -ENOMEM;
	if (json)
		err = json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER)
			  ? -EIO
			  : 0;
	else
		text(out, doc);
	if (json && !err)
		fputc('\n', out);
	json_decref(doc);
	if (!err && ferror(out))
		err = -EIO;
	return err;
}

int pc_report(struct cfs *fs, FILE *out, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	int err;

	/* Collected under the lock, written out after it. */
	mem = open_memstream(&buf, &len);
	if (!mem)
		return -errno;
	pthread_mutex_lock(&fs->order);
	err = pc_report_locked(fs, mem, json);
	pthread_mutex_unlock(&fs->order);
	if (fclose(mem) && !err)
		err = -EIO;
	if (!err && fwrite(buf, 1, len, out) != len)
		err = -EIO;
	free(buf);
	return err;
}
