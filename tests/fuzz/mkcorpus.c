/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Write the seed corpus of the trace fuzzer (tests/fuzz/corpus/), with
 * the real trace writer, so that the corpus can be made again from
 * source: `make fuzz-seeds`.  One small trace per kind of record and a
 * few hostile ones that once went wrong (docs/threat-model.md):
 *
 *	seed004       the atomic write: create, write, fsync, rename, fsyncdir
 *	every-type    one record of every type, with flags and odd fields
 *	setuid        a setuid-root file with a capability, device nodes
 *	symlink-out   symlinks out of the tree, then names reused
 *	int-min       a failed record whose result is INT32_MIN
 *	cut           the atomic write cut in the middle of a record
 *	hard-links    links, unlinks, renames over links, exchange
 *
 *	build/fuzz/mkcorpus DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/trace.h"

struct gen {
	struct trace_writer *w; /* the trace being written */
	uint64_t next_id;	/* next id for a new file */
	int err;		/* first failure */
};

static void put(struct gen *g, struct trace_rec r)
{
	if (!g->err && trace_append(g->w, &r))
		g->err = 1;
}

static uint64_t create(struct gen *g, uint64_t parent, const char *name,
		       uint32_t mode)
{
	uint64_t id = g->next_id++;

	put(g, (struct trace_rec){.type = TR_CREATE,
				  .pid = 7,
				  .parent = parent,
				  .name = name,
				  .id = id,
				  .mode = S_IFREG | mode,
				  .oflags = O_WRONLY | O_CREAT,
				  .fh = id});
	return id;
}

static void write_at(struct gen *g, uint64_t id, uint64_t off, const char *s)
{
	put(g, (struct trace_rec){.type = TR_WRITE,
				  .pid = 7,
				  .id = id,
				  .fh = id,
				  .off = off,
				  .data = s,
				  .data_len = (uint32_t)strlen(s),
				  .len = strlen(s),
				  .result = (int32_t)strlen(s)});
}

static uint64_t special(struct gen *g, int type, uint64_t parent,
			const char *name, uint32_t mode, const char *target,
			uint64_t rdev)
{
	uint64_t id = g->next_id++;

	put(g, (struct trace_rec){.type = (uint16_t)type,
				  .pid = 7,
				  .parent = parent,
				  .name = name,
				  .id = id,
				  .mode = mode,
				  .name2 = target,
				  .off = rdev});
	return id;
}

static void simple(struct gen *g, int type, uint64_t id, uint16_t flags)
{
	put(g, (struct trace_rec){
		   .type = (uint16_t)type, .pid = 7, .id = id, .flags = flags});
}

static void rename_(struct gen *g, uint64_t p, const char *n, uint64_t p2,
		    const char *n2, uint64_t id, uint64_t id2, uint32_t flags)
{
	put(g, (struct trace_rec){.type = TR_RENAME,
				  .pid = 7,
				  .parent = p,
				  .name = n,
				  .parent2 = p2,
				  .name2 = n2,
				  .id = id,
				  .id2 = id2,
				  .oflags = flags});
}

static void start(struct gen *g, const char *dir, const char *name)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	g->w = trace_writer_create(p, NULL);
	g->next_id = 100;
	if (!g->w) {
		perror(p);
		exit(1);
	}
	put(g,
	    (struct trace_rec){
		.type = TR_BIND, .id = 1, .name = "", .mode = S_IFDIR | 0755});
}

static void finish(struct gen *g)
{
	if (trace_writer_close(&g->w) || g->err) {
		fprintf(stderr, "mkcorpus: cannot write a trace\n");
		exit(1);
	}
}

static void seed004(struct gen *g)
{
	uint64_t t = create(g, 1, "config.json.tmp", 0644);

	write_at(g, t, 0, "{\"new\": true}\n");
	simple(g, TR_FLUSH, t, 0);
	simple(g, TR_FSYNC, t, 0);
	rename_(g, 1, "config.json.tmp", 1, "config.json", t, 0, 0);
	simple(g, TR_FSYNCDIR, 1, 0);
	put(g, (struct trace_rec){.type = TR_MARK, .name = "saved"});
	simple(g, TR_RELEASE, t, 0);
}

static void every_type(struct gen *g)
{
	uint64_t d = special(g, TR_MKDIR, 1, "d", S_IFDIR | 0755, NULL, 0);
	uint64_t f = create(g, d, "f", 0600), c;

	write_at(g, f, 4096, "beyond a hole");
	simple(g, TR_FSYNC, f, TRF_DATASYNC);
	put(g, (struct trace_rec){.type = TR_OPEN,
				  .id = f,
				  .fh = 9,
				  .oflags = O_RDWR | O_APPEND | O_SYNC});
	put(g, (struct trace_rec){.type = TR_WRITE,
				  .id = f,
				  .fh = 9,
				  .off = 4109,
				  .data = "synced",
				  .data_len = 6,
				  .len = 6,
				  .result = 6,
				  .flags = TRF_SYNC | TRF_APPEND});
	put(g, (struct trace_rec){.type = TR_TRUNCATE, .id = f, .len = 100});
	put(g, (struct trace_rec){.type = TR_FALLOCATE,
				  .id = f,
				  .oflags = FALLOC_FL_PUNCH_HOLE |
					    FALLOC_FL_KEEP_SIZE,
				  .off = 10,
				  .len = 20});
	put(g, (struct trace_rec){.type = TR_FALLOCATE,
				  .id = f,
				  .oflags = FALLOC_FL_ZERO_RANGE,
				  .off = 90,
				  .len = 200});
	c = create(g, 1, "copy", 0644);
	put(g, (struct trace_rec){.type = TR_COPY_RANGE,
				  .id = c,
				  .id2 = f,
				  .off = 0,
				  .off2 = 0,
				  .len = 300,
				  .result = 290});
	put(g, (struct trace_rec){.type = TR_SETATTR,
				  .id = c,
				  .oflags = TRA_MODE | TRA_UID | TRA_GID |
					    TRA_ATIME | TRA_MTIME,
				  .mode = 0640,
				  .uid = 1000,
				  .gid = 1000,
				  .atime = {1, 2},
				  .mtime = {3, 4}});
	put(g, (struct trace_rec){.type = TR_SETXATTR,
				  .id = c,
				  .name = "user.k",
				  .data = "v",
				  .data_len = 1});
	put(g, (struct trace_rec){
		   .type = TR_REMOVEXATTR, .id = c, .name = "user.k"});
	special(g, TR_SYMLINK, d, "s", S_IFLNK | 0777, "../copy", 0);
	special(g, TR_MKNOD, d, "p", S_IFIFO | 0644, NULL, 0);
	put(g, (struct trace_rec){
		   .type = TR_LINK, .id = c, .parent = d, .name = "c2"});
	put(g, (struct trace_rec){.type = TR_UNLINK,
				  .parent = 1,
				  .name = "missing",
				  .result = -ENOENT});
	put(g, (struct trace_rec){
		   .type = TR_UNLINK, .parent = 1, .name = "copy", .id = c});
	simple(g, TR_FSYNCDIR, d, TRF_DATASYNC);
	put(g, (struct trace_rec){.type = TR_FAULT,
				  .name = "fsync path=*.wal action=eio",
				  .id = f,
				  .oflags = 1});
	put(g, (struct trace_rec){.type = TR_POWERCUT, .name = "posix"});
	put(g, (struct trace_rec){.type = TR_RMDIR,
				  .parent = 1,
				  .name = "d",
				  .result = -ENOTEMPTY});
	simple(g, TR_FLUSH, f, 0);
	simple(g, TR_RELEASE, f, 0);
}

static void setuid_dev(struct gen *g)
{
	uint64_t su = create(g, 1, "su", 0644);

	write_at(g, su, 0, "#!/bin/sh\nexec sh\n");
	put(g, (struct trace_rec){.type = TR_SETATTR,
				  .id = su,
				  .oflags = TRA_MODE | TRA_UID | TRA_GID,
				  .mode = 04755});
	put(g, (struct trace_rec){.type = TR_SETXATTR,
				  .id = su,
				  .name = "security.capability",
				  .data = "\x01\x00\x00\x02",
				  .data_len = 4});
	special(g, TR_MKNOD, 1, "sda", S_IFBLK | 0666, NULL, makedev(8, 0));
	special(g, TR_MKNOD, 1, "mem", S_IFCHR | 0666, NULL, makedev(1, 1));
	simple(g, TR_FSYNCDIR, 1, 0);
}

static void symlink_out(struct gen *g)
{
	uint64_t s = special(g, TR_SYMLINK, 1, "d", S_IFLNK | 0777, "/etc", 0),
		 d, f;

	special(g, TR_SYMLINK, 1, "up", S_IFLNK | 0777, "../../..", 0);
	simple(g, TR_FSYNCDIR, 1, 0);
	put(g, (struct trace_rec){
		   .type = TR_UNLINK, .parent = 1, .name = "d", .id = s});
	d = special(g, TR_MKDIR, 1, "d", S_IFDIR | 0755, NULL, 0);
	f = create(g, d, "passwd", 0644);
	write_at(g, f, 0, "root::0:0::/:/bin/sh\n");
	/* a create "in" the symlink's id: refused when loaded */
	create(g, s, "shadow", 0600);
}

static void int_min(struct gen *g)
{
	put(g, (struct trace_rec){.type = TR_UNLINK,
				  .pid = 7,
				  .parent = 1,
				  .name = "x",
				  .result = INT32_MIN});
	put(g,
	    (struct trace_rec){
		.type = TR_OPEN, .pid = 7, .id = 1, .fh = 3, .result = -4095});
}

static void hard_links(struct gen *g)
{
	uint64_t a = create(g, 1, "a", 0644), b;

	write_at(g, a, 0, "aaaa");
	put(g, (struct trace_rec){
		   .type = TR_LINK, .id = a, .parent = 1, .name = "a2"});
	b = create(g, 1, "b", 0644);
	write_at(g, b, 0, "bb");
	simple(g, TR_FSYNC, a, 0);
	rename_(g, 1, "b", 1, "a2", b, a, 0);
	rename_(g, 1, "a", 1, "a2", a, b, RENAME_EXCHANGE);
	rename_(g, 1, "a2", 1, "c", b, 0, RENAME_NOREPLACE);
	simple(g, TR_FSYNCDIR, 1, 0);
	put(g, (struct trace_rec){
		   .type = TR_UNLINK, .parent = 1, .name = "c", .id = b});
	write_at(g, b, 2, "unlinked but open");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(struct gen *);
	} seeds[] = {
	    {"seed004", seed004},   {"every-type", every_type},
	    {"setuid", setuid_dev}, {"symlink-out", symlink_out},
	    {"int-min", int_min},   {"hard-links", hard_links},
	};
	struct gen g = {0};
	char p[4096];
	struct stat st;

	if (argc != 2) {
		fprintf(stderr, "usage: mkcorpus DIR\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(seeds) / sizeof(*seeds); i++) {
		start(&g, argv[1], seeds[i].name);
		seeds[i].fn(&g);
		finish(&g);
	}
	/* the atomic write, cut in the middle of its fourth record */
	start(&g, argv[1], "cut");
	seed004(&g);
	finish(&g);
	snprintf(p, sizeof(p), "%s/cut", argv[1]);
	if (stat(p, &st) || truncate(p, st.st_size * 2 / 3)) {
		perror(p);
		return 1;
	}
	return 0;
}
