/* SPDX-License-Identifier: MIT */
/** @file
 *
 * gentrace: write a synthetic RUN directory (docs/run-format.md) of about
 * N operations for the crash-state engine's benchmark (`make bench`, suite
 * "engine", issue 3).  Recording 100,000 operations through FUSE takes
 * minutes; writing the records with the core/ trace writer takes a
 * fraction of a second, and the engine cannot tell the difference.
 *
 * The op mix is what a program that syncs does, so the work pending at
 * any crash point stays small however long the trace is:
 *
 *	repeat until N records:
 *		atomic replace of one of FILES small files, round robin:
 *		  create ".fI.tmp", write 4 KiB, fsync, close (flush,
 *		  release), rename over "fI", open "/", fsyncdir, release
 *		append 128 bytes to "log" (open for the whole run), fsync
 *		mark "update-K"
 *
 * That is 13 records per round (plus the root's bind, the log's create
 * and, at the end, the log's flush and release).  Each round writes
 * different bytes, so every round's states are distinct.  RUN/initial/ is
 * created empty.  Usage: gentrace [--write-bytes B] RUN N.  B is the
 * size of each replacement (default 4096): the same ops with more bytes,
 * to see whether the engine's memory follows the ops or the bytes.
 * Prints the number of records written.  Exit status 0, 1 on a write
 * error, 2 on bad usage.
 */
#include "core/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FILES 4		 /* small files replaced in turn */
#define FILE_BYTES 4096	 /* default size of each replacement */
#define LOG_BYTES 128	 /* size of each log append */
#define PID 4242	 /* the pid the records claim */
#define ROUND_RECORDS 13 /* records per round, see above */

struct gen {
	struct trace_writer *w; /* the trace being written */
	uint64_t next_id;	/* next free file id */
	uint64_t next_fh;	/* next free open handle */
	char *data;		/* a replacement's bytes */
	size_t data_len;	/* their size (--write-bytes) */
	int err;		/* first -errno met, 0 if none */
};

static void gen_put(struct gen *g, struct trace_rec *rec)
{
	int rc;

	if (g->err)
		return;
	if (!rec->pid && rec->type != TR_RELEASE && rec->type != TR_MARK &&
	    rec->type != TR_BIND)
		rec->pid = PID;
	rc = trace_append(g->w, rec);
	if (rc)
		g->err = rc;
}

/* One atomic replace of file number i (current id *cur, 0 if absent) with
 * bytes filled from round k. */
static void gen_replace(struct gen *g, int i, uint64_t *cur, uint64_t k)
{
	char *data = g->data;
	char tmp[32], name[32];
	uint64_t id = g->next_id++, fh = g->next_fh++, dfh;

	snprintf(tmp, sizeof(tmp), ".f%d.tmp", i);
	snprintf(name, sizeof(name), "f%d", i);
	memset(data, 'a' + (int)(k % 26), g->data_len);
	snprintf(data, g->data_len, "round %llu file %d\n",
		 (unsigned long long)k, i);

	gen_put(g, &(struct trace_rec){.type = TR_CREATE,
				       .parent = TRACE_ROOT_ID,
				       .name = tmp,
				       .id = id,
				       .mode = S_IFREG | 0644,
				       .oflags = O_WRONLY | O_CREAT | O_TRUNC,
				       .fh = fh});
	gen_put(g, &(struct trace_rec){.type = TR_WRITE,
				       .id = id,
				       .fh = fh,
				       .off = 0,
				       .data = data,
				       .data_len = g->data_len,
				       .len = g->data_len,
				       .result = (int32_t)g->data_len});
	gen_put(g, &(struct trace_rec){.type = TR_FSYNC, .id = id, .fh = fh});
	gen_put(g, &(struct trace_rec){.type = TR_FLUSH, .id = id, .fh = fh});
	gen_put(g, &(struct trace_rec){.type = TR_RELEASE, .id = id, .fh = fh});
	gen_put(g, &(struct trace_rec){.type = TR_RENAME,
				       .parent = TRACE_ROOT_ID,
				       .name = tmp,
				       .parent2 = TRACE_ROOT_ID,
				       .name2 = name,
				       .id = id,
				       .id2 = *cur});
	*cur = id;
	dfh = g->next_fh++;
	gen_put(g, &(struct trace_rec){.type = TR_OPEN,
				       .id = TRACE_ROOT_ID,
				       .fh = dfh,
				       .oflags = O_RDONLY | O_DIRECTORY});
	gen_put(g, &(struct trace_rec){
		       .type = TR_FSYNCDIR, .id = TRACE_ROOT_ID, .fh = dfh});
	gen_put(g, &(struct trace_rec){
		       .type = TR_RELEASE, .id = TRACE_ROOT_ID, .fh = dfh});
}

static int gen_run(struct gen *g, uint64_t n)
{
	uint64_t cur[FILES] = {0}, log_id, log_fh, log_off = 0, k;
	char line[LOG_BYTES], mark[32];

	gen_put(g, &(struct trace_rec){.type = TR_BIND,
				       .id = TRACE_ROOT_ID,
				       .parent = 0,
				       .name = "",
				       .mode = S_IFDIR | 0755,
				       .len = 4096});
	log_id = g->next_id++;
	log_fh = g->next_fh++;
	gen_put(g, &(struct trace_rec){.type = TR_CREATE,
				       .parent = TRACE_ROOT_ID,
				       .name = "log",
				       .id = log_id,
				       .mode = S_IFREG | 0644,
				       .oflags = O_WRONLY | O_CREAT | O_APPEND,
				       .fh = log_fh});
	for (k = 0; trace_writer_count(g->w) + ROUND_RECORDS + 2 <= n; k++) {
		gen_replace(g, (int)(k % FILES), &cur[k % FILES], k);
		memset(line, ' ', sizeof(line));
		snprintf(line, sizeof(line), "update %llu",
			 (unsigned long long)k);
		line[sizeof(line) - 1] = '\n';
		gen_put(g, &(struct trace_rec){.type = TR_WRITE,
					       .id = log_id,
					       .fh = log_fh,
					       .off = log_off,
					       .data = line,
					       .data_len = sizeof(line),
					       .len = sizeof(line),
					       .result = sizeof(line),
					       .flags = TRF_APPEND});
		log_off += sizeof(line);
		gen_put(g, &(struct trace_rec){
			       .type = TR_FSYNC, .id = log_id, .fh = log_fh});
		snprintf(mark, sizeof(mark), "update-%llu",
			 (unsigned long long)k);
		gen_put(g, &(struct trace_rec){.type = TR_MARK, .name = mark});
	}
	gen_put(g, &(struct trace_rec){
		       .type = TR_FLUSH, .id = log_id, .fh = log_fh});
	gen_put(g, &(struct trace_rec){
		       .type = TR_RELEASE, .id = log_id, .fh = log_fh});
	return g->err;
}

int main(int argc, char **argv)
{
	struct gen g = {.next_id = TRACE_ROOT_ID + 1,
			.next_fh = 1,
			.data_len = FILE_BYTES};
	char path[4096];
	uint64_t n, count;
	char *end = "";
	int rc;

	if (argc == 5 && !strcmp(argv[1], "--write-bytes")) {
		g.data_len = strtoull(argv[2], &end, 10);
		argc -= 2;
		argv += 2;
	}
	if (argc != 3 || *end || g.data_len < 64 ||
	    g.data_len > (64u << 20) ||
	    (n = strtoull(argv[2], &end, 10)) < 16 || *end) {
		fprintf(stderr, "usage: gentrace [--write-bytes B] RUN N "
				"(N >= 16, 64 <= B <= 64 MiB)\n");
		return 2;
	}
	g.data = malloc(g.data_len);
	if (!g.data) {
		fprintf(stderr, "gentrace: out of memory\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/initial", argv[1]);
	if ((mkdir(argv[1], 0755) < 0 && errno != EEXIST) ||
	    (mkdir(path, 0755) < 0 && errno != EEXIST)) {
		fprintf(stderr, "gentrace: cannot create '%s': %s\n", path,
			strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/trace", argv[1]);
	g.w = trace_writer_create(path, NULL);
	if (!g.w) {
		fprintf(stderr, "gentrace: cannot create trace '%s': %s\n",
			path, strerror(errno));
		return 1;
	}
	rc = gen_run(&g, n);
	free(g.data);
	count = trace_writer_count(g.w);
	if (trace_writer_close(&g.w) && !rc)
		rc = -EIO;
	if (rc) {
		fprintf(stderr, "gentrace: cannot write trace '%s': %s\n", path,
			strerror(-rc));
		return 1;
	}
	printf("%llu\n", (unsigned long long)count + 1);
	return 0;
}
