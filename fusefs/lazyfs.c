/* SPDX-License-Identifier: MIT */
/** @file
 *
 * LazyFS's control fifo on a crashfs mount (fusefs/lazyfs.h): the paths
 * and fifos, the reader thread, and the translation of each LazyFS command
 * into a control channel request.
 */
#include "fusefs/lazyfs.h"
#include "core/cutplan.h"
#include "core/util.h"
#include "fusefs/ctl.h"
#include "fusefs/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPLY_MAX (256u << 10) /* bytes of one verb's reply we keep */

struct lzf {
	char *fifo;		/* canonical path of the command fifo */
	char *completed;	/* of the completion fifo, or NULL */
	bool made, done_made;	/* lzf_open() made them */
	bool keep_meta;		/* clear-cache keeps metadata */
	int fd;			/* the command fifo, read-write */
	int done_fd;		/* the completion fifo, read-write, or -1 */
	int stop[2];		/* a pipe: lzf_free() writes to stop[1] */
	int sp[2];		/* socketpair: verbs reply on sp[0] */
	struct cfs *fs;		/* set by lzf_start() */
	struct ctl_server *srv; /* ... */
	pthread_t thread;	/* the reader, once started */
	bool started;		/* thread runs */
	char reply[REPLY_MAX];	/* the last verb's reply; reader only */
	struct torn_note *torn; /* files with a torn-op, torn-seq
				   fault; reader only */
	size_t ntorn;		/* entries in torn */
};

/* ---- paths -------------------------------------------------------------- */

static bool inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return true;
	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

/*
 * Make (if absent) and resolve the fifo at path: *out gets its canonical
 * path, *made whether it was made here.  0, or -errno with a message.
 */
static int make_fifo(const char *what, const char *path, const char *mount,
		     const char *backing, char **out, bool *made, char *err,
		     size_t errlen)
{
	char *copy = strdup(path), *dir;
	struct stat st;

	*made = false;
	if (!copy)
		return -ENOMEM;
	/* Refused before anything is made there. */
	dir = realpath(dirname(copy), NULL);
	free(copy);
	if (!dir) {
		snprintf(err, errlen, "cannot use %s '%s': %s", what, path,
			 strerror(errno));
		return -errno;
	}
	if (inside(dir, mount) || inside(dir, backing))
		goto out_inside;
	free(dir);
	dir = NULL;
	if (mkfifo(path, 0600) == 0) {
		*made = true;
	} else if (errno != EEXIST) {
		snprintf(err, errlen, "cannot make %s '%s': %s", what, path,
			 strerror(errno));
		return -errno;
	}
	*out = realpath(path, NULL);
	if (!*out || stat(*out, &st) < 0) {
		snprintf(err, errlen, "cannot use %s '%s': %s", what, path,
			 strerror(errno));
		return -errno;
	}
	if (!S_ISFIFO(st.st_mode)) {
		snprintf(err, errlen, "%s '%s' exists and is not a fifo", what,
			 path);
		return -EEXIST;
	}
	if (!inside(*out, mount) && !inside(*out, backing))
		return 0;
out_inside:
	snprintf(err, errlen,
		 "%s '%s' is inside the %s '%s': it must be outside the "
		 "recorded tree",
		 what, path,
		 inside(dir ? dir : *out, mount) ? "mount point"
						 : "backing directory",
		 inside(dir ? dir : *out, mount) ? mount : backing);
	free(dir);
	return -EINVAL;
}

struct lzf *lzf_open(const struct lzf_opts *o, const char *mount,
		     const char *backing, const char *trace, char *err,
		     size_t errlen)
{
	struct lzf *l = calloc(1, sizeof(*l));
	int res;

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->fd = l->done_fd = l->stop[0] = l->stop[1] = -1;
	l->sp[0] = l->sp[1] = -1;
	l->keep_meta = o->keep_meta;
	res = make_fifo("fifo", o->fifo, mount, backing, &l->fifo, &l->made,
			err, errlen);
	if (!res && o->completed)
		res = make_fifo("completion fifo", o->completed, mount, backing,
				&l->completed, &l->done_made, err, errlen);
	if (!res && l->completed && !strcmp(l->fifo, l->completed)) {
		snprintf(err, errlen,
			 "the fifo and the completion fifo are the same "
			 "file '%s'",
			 o->fifo);
		res = -EINVAL;
	}
	if (!res && (!strcmp(l->fifo, trace) ||
		     (l->completed && !strcmp(l->completed, trace)))) {
		snprintf(err, errlen, "the fifo '%s' is the trace",
			 !strcmp(l->fifo, trace) ? o->fifo : o->completed);
		res = -EINVAL;
	}
	if (res)
		goto out_free;
	/* Read-write: never blocks, and we are always a writer, so writers
	 * that come and go never show us an end of file. */
	l->fd = open(l->fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (l->fd >= 0 && l->completed)
		l->done_fd =
		    open(l->completed, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (l->fd < 0 || (l->completed && l->done_fd < 0)) {
		res = -errno;
		snprintf(err, errlen, "cannot open '%s': %s",
			 l->fd < 0 ? o->fifo : o->completed, strerror(errno));
		goto out_free;
	}
	return l;

out_free:
	lzf_free(&l, true);
	errno = -res;
	return NULL;
}

/* ---- commands ----------------------------------------------------------- */

/*
 * Run request (a control channel line) and keep its reply in l->reply,
 * lines joined by '\n', the final "ok" or "error ..." included.  Returns
 * the reply.
 */
static const char *ask(struct lzf *l, const char *request)
{
	char line[CTL_LINE_MAX];
	size_t n = 0;
	ssize_t r;

	snprintf(line, sizeof(line), "%s", request);
	ctl_request(l->srv, l->sp[0], line);
	while (n < sizeof(l->reply) - 1 &&
	       (r = recv(l->sp[1], l->reply + n, sizeof(l->reply) - 1 - n,
			 MSG_DONTWAIT)) > 0)
		n += (size_t)r;
	/* whatever did not fit is dropped, not read as the next reply */
	while (recv(l->sp[1], line, sizeof(line), MSG_DONTWAIT) > 0)
		;
	while (n && l->reply[n - 1] == '\n')
		n--;
	l->reply[n] = '\0';
	return l->reply;
}

/* The last line of a reply: "ok" or "error ...". */
static const char *last_line(const char *reply)
{
	const char *nl = strrchr(reply, '\n');

	return nl ? nl + 1 : reply;
}

/* Log each line of a reply but its last, as "lazyfs: PREFIX: LINE". */
static void log_lines(const char *prefix, const char *reply)
{
	const char *p = reply, *end = last_line(reply);

	while (p < end) {
		size_t n = strcspn(p, "\n");

		cfs_log("lazyfs: %s: %.*s", prefix, (int)n, p);
		p += n + 1;
	}
}

static bool unknown_verb(const char *reply)
{
	return !strncmp(last_line(reply), "error unknown command", 21);
}

/* Tell the completion fifo, if any, that cmd is done. */
static void completed(struct lzf *l, const char *cmd)
{
	char line[64];
	int n;

	if (l->done_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "finished::%s\n", cmd);
	if (write(l->done_fd, line, (size_t)n) != n)
		cfs_log("lazyfs: cannot write to the completion fifo "
			"(nobody reads it?): %s",
			strerror(errno));
}

static void clear_cache(struct lzf *l)
{
	const char *r =
	    ask(l, l->keep_meta ? "powercut keep-metadata" : "powercut");

	if (strcmp(last_line(r), "ok")) {
		/* No completion: a harness waiting for one must not go on
		 * as if the unsynced data were gone. */
		cfs_log("lazyfs: clear-cache failed: %s", last_line(r));
		return;
	}
	cfs_log("lazyfs: clear-cache: cache is cleared (a power cut: %s)",
		l->keep_meta ? "unsynced data lost, metadata kept"
			     : "everything not durable lost");
	completed(l, "clear-cache");
}

static void checkpoint(struct lzf *l)
{
	const char *r = ask(l, "sync");

	if (unknown_verb(r))
		cfs_log("lazyfs: cache-checkpoint: not available in this "
			"crashfs (it needs the sync point of 'crashfs ctl MNT "
			"sync'): nothing was made durable");
	else if (strcmp(last_line(r), "ok"))
		cfs_log("lazyfs: cache-checkpoint failed: %s", last_line(r));
	else
		cfs_log("lazyfs: cache-checkpoint: checkpoint is done "
			"(everything so far is durable)");
}

static void cache_usage(struct lzf *l)
{
	const char *r = ask(l, "status"), *p;
	static const char *const keys[] = {
	    "unsynced files: ", "unsynced bytes: ", "pending ops: "};
	char out[256] = "";
	size_t n = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		p = strstr(r, keys[i]);
		if (p)
			n += (size_t)snprintf(out + n, sizeof(out) - n,
					      "%s%.*s", n ? ", " : "",
					      (int)strcspn(p, "\n"), p);
	}
	cfs_log("lazyfs: display-cache-usage: crashfs keeps no page cache; "
		"what a power cut would drop: %s",
		*out ? out : last_line(r));
}

static void report(struct lzf *l)
{
	const char *r = ask(l, "unsynced");

	if (unknown_verb(r)) {
		cfs_log("lazyfs: unsynced-data-report: no per-file report in "
			"this crashfs; its status:");
		r = ask(l, "status");
	}
	log_lines("report", r);
	cfs_log("lazyfs: report: %s", last_line(r));
}

static void help(void)
{
	static const char *const lines[] = {
	    "'lazyfs::clear-cache' => a power cut: drops what is not durable",
	    "'lazyfs::cache-checkpoint' => makes everything durable (a sync "
	    "point)",
	    "'lazyfs::display-cache-usage' => what a power cut would drop",
	    "'lazyfs::unsynced-data-report' => the files with unsynced data",
	    "'lazyfs::crash::timing=T::op=OP::from_rgx=R[::to_rgx=R]' => a "
	    "power cut at that op, which then fails with EIO",
	    "'lazyfs::torn-op::file=F::parts=N|parts_bytes=L::persist=P"
	    "[::occurrence=O]' => the Oth write to F in parts, those in P "
	    "persist, then a power cut (the write fails with EIO)",
	    "'lazyfs::torn-seq::op=write::file=F::persist=P"
	    "[::occurrence=O]' => of the Oth run of writes to F between "
	    "fsyncs, those in P persist, then a power cut after the last",
	    "'lazyfs::help' => this message (docs/lazyfs.md has the rest)",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++)
		cfs_log("lazyfs: help: %s", lines[i]);
}

/* LazyFS's op names, and crashfs's for each ("": no crashfs rule). */
static const struct {
	const char *lazyfs, *crashfs;
	int paths; /* 2: from and to (rename, link, symlink) */
} crash_ops[] = {
    {"unlink", "unlink", 1},
    {"truncate", "truncate", 1},
    {"fsync", "fsync,fdatasync", 1},
    {"write", "write", 1},
    {"create", "create", 1},
    {"open", "open", 1},
    {"rename", "rename", 2},
    {"link", "link", 2},
    {"symlink", "symlink", 2},
    {"access", "", 1},
    {"read", "", 1},
};

/*
 * lazyfs::crash::timing=T::op=OP::from_rgx=R::to_rgx=R: the rule that
 * does it, in rule (size len), or false with why in rule.  crashfs names
 * one path per op: the source of a rename, the new name of a link or
 * symlink (LazyFS's to); the other is refused, never ignored.
 */
static bool crash_rule(char *args, char *rule, size_t len)
{
	const char *timing = NULL, *op = NULL, *from = NULL, *to = NULL;
	const char *rgx;
	char *tok, *next;
	size_t i;

	/* Fields are separated by "::" (a regex may hold one ':'). */
	for (tok = args; tok; tok = next) {
		next = strstr(tok, "::");
		if (next) {
			*next = '\0';
			next += 2;
		}
		const char **slot = !strncmp(tok, "timing=", 7)	    ? &timing
				    : !strncmp(tok, "op=", 3)	    ? &op
				    : !strncmp(tok, "from_rgx=", 9) ? &from
				    : !strncmp(tok, "to_rgx=", 7)   ? &to
								    : NULL;

		if (!slot) {
			snprintf(rule, len, "unknown attribute '%s'", tok);
			return false;
		}
		*slot = strchr(tok, '=') + 1;
	}
	if (!timing || (strcmp(timing, "before") && strcmp(timing, "after"))) {
		snprintf(rule, len, "timing should be 'before' or 'after'");
		return false;
	}
	for (i = 0; op && i < sizeof(crash_ops) / sizeof(*crash_ops); i++)
		if (!strcmp(op, crash_ops[i].lazyfs))
			break;
	if (!op || i == sizeof(crash_ops) / sizeof(*crash_ops)) {
		snprintf(rule, len, "operation not available");
		return false;
	}
	if (!*crash_ops[i].crashfs) {
		snprintf(rule, len,
			 "crashfs injects no fault on %s (only on operations "
			 "that change something)",
			 op);
		return false;
	}
	if (crash_ops[i].paths == 1 && (!from || to)) {
		snprintf(rule, len,
			 "should specify 'from_rgx' regex (and not 'to_rgx')");
		return false;
	}
	if (crash_ops[i].paths == 2 && !from && !to) {
		snprintf(rule, len,
			 "should specify 'from_rgx' and/or 'to_rgx'");
		return false;
	}
	/* The path crashfs matches for each op. */
	rgx = crash_ops[i].paths == 1 || !strcmp(op, "rename") ? from : to;
	if (!rgx || (rgx == from ? to : from)) {
		snprintf(rule, len,
			 "crashfs matches the %s of a %s only: give "
			 "'%s' alone",
			 !strcmp(op, "rename") ? "source" : "new name", op,
			 !strcmp(op, "rename") ? "from_rgx" : "to_rgx");
		return false;
	}
	if (rgx[strcspn(rgx, " \t")]) {
		snprintf(rule, len, "a regex with a space cannot be a rule");
		return false;
	}
	/* One-shot: LazyFS's crash ends LazyFS, so it fires once. */
	snprintf(rule, len, "fault %s %s regex=%s nth=1 action=crash", timing,
		 crash_ops[i].crashfs, rgx);
	return true;
}

static void crash(struct lzf *l, char *args)
{
	char rule[CTL_LINE_MAX];
	const char *r;

	if (!crash_rule(args, rule, sizeof(rule))) {
		cfs_log("lazyfs: received: INVALID crash fault: %s", rule);
		return;
	}
	r = ask(l, rule);
	if (strcmp(last_line(r), "ok"))
		cfs_log("lazyfs: received: INVALID crash fault: %s",
			last_line(r));
	else
		cfs_log("lazyfs: received: VALID crash fault: %s (%.*s)",
			rule + 6, (int)strcspn(r, "\n"), r);
}

/* ---- torn-op, torn-seq ------------------------------------------------- */

/*
 * A list of numbers "1,4,7" (LazyFS: (\d+,)*\d+) into v (at most max of
 * them, each from 1 to top); the count, or -1.
 */
static int num_list(const char *s, uint64_t *v, int max, uint64_t top)
{
	int n = 0;
	char *end;

	for (;; s = end + 1) {
		if (n == max || *s < '0' || *s > '9')
			return -1;
		errno = 0;
		v[n] = strtoull(s, &end, 10);
		if (errno || !v[n] || v[n] > top || (*end && *end != ','))
			return -1;
		n++;
		if (!*end)
			return n;
	}
}

/* The path under the mount that p names (under backing or mount), or
 * NULL. */
static const char *under(const char *p, const char *backing, const char *mount)
{
	const char *roots[2] = {backing, mount};

	for (int i = 0; i < 2; i++) {
		size_t k = strlen(roots[i]);

		if (!strncmp(p, roots[i], k) && p[k] == '/')
			return p + k + 1;
	}
	return NULL;
}

/* file with its directory's symbolic links resolved (malloc'd), or NULL
 * (the directory does not exist). */
static char *real_file(const char *file)
{
	const char *base = strrchr(file, '/');
	char *copy = strdup(file), *dir = NULL, *out = NULL;

	if (copy)
		dir = realpath(dirname(copy), NULL);
	if (dir && asprintf(&out, "%s/%s", dir, base ? base + 1 : file) < 0)
		out = NULL;
	free(dir);
	free(copy);
	return out;
}

/*
 * LazyFS's file= (a path as LazyFS sees it: under its root directory,
 * which is crashfs's backing directory; the mount point's path is taken
 * too, and either through symbolic links) as a glob matching that one
 * path under the mount, in glob (size len); false with why in glob.
 */
static bool torn_path(const char *file, const char *backing, const char *mount,
		      char *glob, size_t len)
{
	const char *rel = under(file, backing, mount);
	char *real = rel ? NULL : real_file(file);
	size_t n = 0;

	if (real)
		rel = under(real, backing, mount);
	if (!rel || !*rel) {
		snprintf(glob, len,
			 "file '%s' is not under the backing directory '%s' "
			 "(LazyFS's root) nor the mount point '%s'",
			 file, backing, mount);
		goto out_false;
	}
	if (rel[strcspn(rel, " \t")]) {
		snprintf(glob, len, "a path with a space cannot be a rule");
		goto out_false;
	}
	/* The glob matches the path itself: its wildcards escaped. */
	for (; *rel && n + 2 < len; rel++) {
		if (strchr("*?[\\", *rel))
			glob[n++] = '\\';
		glob[n++] = *rel;
	}
	glob[n] = '\0';
	if (*rel) {
		snprintf(glob, len, "file: path too long");
		goto out_false;
	}
	free(real);
	return true;
out_false:
	free(real);
	return false;
}

/*
 * lazyfs::torn-op::file=F::parts=N|parts_bytes=L::persist=P[::occurrence=O]
 * (seq false) and lazyfs::torn-seq::op=write::file=F::persist=P
 * [::occurrence=O] (seq true): the rule that does it, in rule (size len),
 * and the file's glob in file (size flen), or false with why in rule.
 * Parsed as LazyFS parses them: an attribute given twice takes the last
 * value, parts= wins over parts_bytes= (both are checked).
 *
 * torn-op: the Oth write to F (counted from now) is split into N equal
 * parts (the last one takes the rest) or parts of the sizes listed, which
 * must add up to the write's size (LazyFS injects nothing otherwise), the
 * parts listed persist, then the filesystem crashes.  torn-seq: of the
 * Oth run of two or more writes to F with no fsync of F between them, the
 * writes listed persist and it crashes after the write listed last (after
 * the second if only the first is listed; LazyFS never crashes when 1 is
 * listed last after others, which is refused here).  Either way the crash
 * keeps every pending metadata op (LazyFS passes them to the disk at
 * once) and loses every other unsynced write.
 */
static bool torn_rule(char *args, bool seq, const char *backing,
		      const char *mount, char *rule, size_t len, char *file,
		      size_t flen)
{
	const char *f = NULL, *op = NULL, *parts = NULL, *bytes = NULL;
	const char *persist = NULL, *occ = NULL;
	uint64_t pv[CUTPLAN_MAX_SEL], bv[CUTPLAN_MAX_SEL], np = 0, nth = 1;
	uint64_t top = 0, sum = 0, k = 0;
	int npersist = 0, nbytes = 0;
	char *tok, *next, list[CUTPLAN_MAX_SEL * 12] = "";
	size_t at = 0;

	for (tok = *args ? args : NULL; tok; tok = next) {
		const char **slot = NULL;

		next = strstr(tok, "::");
		if (next) {
			*next = '\0';
			next += 2;
		}
		if (!strncmp(tok, "file=", 5))
			slot = &f;
		else if (!strncmp(tok, "persist=", 8))
			slot = &persist;
		else if (!strncmp(tok, "occurrence=", 11))
			slot = &occ;
		else if (seq && !strncmp(tok, "op=", 3))
			slot = &op;
		else if (!seq && !strncmp(tok, "parts=", 6))
			slot = &parts;
		else if (!seq && !strncmp(tok, "parts_bytes=", 12))
			slot = &bytes;
		if (!slot) {
			snprintf(rule, len, "unknown attribute '%s'", tok);
			return false;
		}
		/* LazyFS keeps the last value given */
		*slot = strchr(tok, '=') + 1;
	}
	if (!f || !*f) {
		snprintf(rule, len, "file not specified");
		return false;
	}
	if (seq && (!op || strcmp(op, "write"))) {
		snprintf(rule, len, "operation must be \"write\"");
		return false;
	}
	if (occ && num_list(occ, &nth, 1, UINT64_MAX) != 1) {
		snprintf(rule, len, "occurrence should be a number above 0");
		return false;
	}
	if (!seq && !parts && !bytes) {
		snprintf(rule, len, "should specify 'parts' or 'parts_bytes'");
		return false;
	}
	if (parts && num_list(parts, &np, 1, UINT64_MAX) != 1) {
		snprintf(rule, len, "parts should be a number above 0");
		return false;
	}
	if (np > CUTPLAN_MAX_SEL) {
		snprintf(rule, len,
			 "crashfs tears a write into at most %d parts",
			 CUTPLAN_MAX_SEL);
		return false;
	}
	if (bytes) {
		nbytes = num_list(bytes, bv, CUTPLAN_MAX_SEL, UINT32_MAX);
		if (nbytes < 0) {
			snprintf(rule, len,
				 "parts_bytes should be a list of numbers "
				 "above 0 separated by commas (at most %d)",
				 CUTPLAN_MAX_SEL);
			return false;
		}
		for (int i = 0; i < nbytes; i++)
			sum += bv[i];
	}
	/* with both, LazyFS splits in parts= equal parts */
	if (parts)
		bytes = NULL;
	else
		np = (uint64_t)nbytes;
	/* torn-seq: a write of the run (a run longer than the planner
	 * follows keeps all or none); torn-op: a part */
	top = seq ? CUTPLAN_MAX_WRITES : np;
	if (persist) {
		npersist = num_list(persist, pv, CUTPLAN_MAX_SEL, top);
		if (npersist < 0) {
			snprintf(rule, len,
				 "persist should be a list of numbers from 1 "
				 "to %llu separated by commas",
				 (unsigned long long)top);
			return false;
		}
	} else if (seq) {
		/* LazyFS takes it and never crashes */
		snprintf(rule, len,
			 "persist not specified (LazyFS would never crash)");
		return false;
	}
	if (seq && npersist > 1 && pv[npersist - 1] == 1) {
		snprintf(rule, len,
			 "persist lists 1 last after others: LazyFS crashes "
			 "after the write listed last, but never after the "
			 "first of a run when others are listed");
		return false;
	}
	if (!torn_path(f, backing, mount, file, flen)) {
		snprintf(rule, len, "%s", file);
		return false;
	}
	if (!seq) {
		/* no part persists: the crash alone, whatever the size */
		if (!npersist) {
			snprintf(rule, len,
				 "fault after write path=%s nth=%llu "
				 "action=crash cut-keep=metadata",
				 file, (unsigned long long)nth);
			return true;
		}
		for (int i = 0; i < npersist; i++)
			at += (size_t)snprintf(list + at, sizeof(list) - at,
					       "%s%llu", i ? "," : "",
					       (unsigned long long)pv[i]);
		if (bytes)
			snprintf(rule, len,
				 "fault after write path=%s nth=%llu "
				 "size=%llu action=crash cut-keep=metadata "
				 "cut-write=last cut-part-bytes=%s "
				 "cut-persist=%s",
				 file, (unsigned long long)nth,
				 (unsigned long long)sum, bytes, list);
		else
			snprintf(rule, len,
				 "fault after write path=%s nth=%llu "
				 "action=crash cut-keep=metadata "
				 "cut-write=last cut-parts=%llu "
				 "cut-persist=%s",
				 file, (unsigned long long)nth,
				 (unsigned long long)np, list);
		return true;
	}
	/* torn-seq: the crash comes after the write listed last, and no
	 * sooner than the second (a run counts from there); a write listed
	 * after it is never reached */
	k = pv[npersist - 1] < 2 ? 2 : pv[npersist - 1];
	for (int i = 0; i < npersist; i++) {
		if (pv[i] > k)
			continue;
		at += (size_t)snprintf(list + at, sizeof(list) - at, "%slast",
				       at ? "," : "");
		if (pv[i] < k)
			at += (size_t)snprintf(list + at, sizeof(list) - at,
					       "-%llu",
					       (unsigned long long)(k - pv[i]));
	}
	snprintf(rule, len,
		 "fault after write path=%s run=%llu nth=%llu action=crash "
		 "cut-keep=metadata cut-writes=%s",
		 file, (unsigned long long)k, (unsigned long long)nth, list);
	return true;
}

/*
 * A torn fault noted for a file: kind ("op:", "seq:") and glob as key,
 * and the number of its rule.
 */
struct torn_note {
	char *key; /* kind + glob, malloc'd */
	int rule;  /* the daemon's rule number */
};

/* Is rule n still armed: listed by "faults" and never fired? */
static bool rule_armed(struct lzf *l, int n)
{
	const char *p = ask(l, "faults");
	char head[32];
	size_t k = (size_t)snprintf(head, sizeof(head), "%d: ", n);

	for (; *p; p += *p == '\n') {
		const char *eol = p + strcspn(p, "\n");

		if (strncmp(p, head, k)) {
			p = eol;
			continue;
		}
		/* the listing ends "(seen S, fired F)" */
		while (eol > p && eol[-1] != ' ')
			eol--;
		return eol[0] == '0' && eol[1] == ')';
	}
	return false;
}

/*
 * Is there a fault of kind on glob still armed?  LazyFS allows one of
 * each kind per file until it dies: here until the rule fired (the crash)
 * or the rules were cleared; a note whose rule is gone is forgotten.
 */
static bool torn_taken(struct lzf *l, const char *kind, const char *glob)
{
	size_t k = strlen(kind);

	for (size_t i = 0; i < l->ntorn; i++) {
		struct torn_note *t = &l->torn[i];

		if (strncmp(t->key, kind, k) || strcmp(t->key + k, glob))
			continue;
		if (rule_armed(l, t->rule))
			return true;
		free(t->key);
		l->torn[i] = l->torn[--l->ntorn];
		return false;
	}
	return false;
}

/* Remember a fault of kind on glob with its rule number (if memory
 * allows: LazyFS's one per file is then not enforced, which changes no
 * fault). */
static void torn_note(struct lzf *l, const char *kind, const char *glob,
		      int rule)
{
	struct torn_note *v;
	char *key;

	if (asprintf(&key, "%s%s", kind, glob) < 0)
		return;
	v = realloc(l->torn, (l->ntorn + 1) * sizeof(*v));
	if (!v) {
		free(key);
		return;
	}
	l->torn = v;
	l->torn[l->ntorn++] = (struct torn_note){.key = key, .rule = rule};
}

static void torn(struct lzf *l, char *args, bool seq)
{
	const char *what = seq ? "torn-seq" : "torn-op";
	char rule[CTL_LINE_MAX], glob[PATH_MAX];
	const char *r;
	int n = -1;

	if (!torn_rule(args, seq, l->fs->backing, l->fs->mount, rule,
		       sizeof(rule), glob, sizeof(glob))) {
		cfs_log("lazyfs: received: INVALID %s fault: %s", what, rule);
		return;
	}
	if (torn_taken(l, seq ? "seq:" : "op:", glob)) {
		cfs_log("lazyfs: received: INVALID %s fault: only one %s "
			"fault per file is allowed",
			what, what);
		return;
	}
	r = ask(l, rule);
	if (strcmp(last_line(r), "ok") || sscanf(r, "rule %d", &n) != 1) {
		cfs_log("lazyfs: received: INVALID %s fault: %s", what,
			last_line(r));
		return;
	}
	torn_note(l, seq ? "seq:" : "op:", glob, n);
	cfs_log("lazyfs: received: VALID %s fault: %s (rule %d)", what,
		rule + 6, n);
}

/* Run one command line. */
static void command(struct lzf *l, char *line)
{
	size_t n = strlen(line);

	while (n && strchr(" \t\r", line[n - 1]))
		line[--n] = '\0';
	if (!n)
		return;
	cfs_log("lazyfs: received '%s'", line);
	if (!strcmp(line, "lazyfs::clear-cache"))
		clear_cache(l);
	else if (!strcmp(line, "lazyfs::cache-checkpoint"))
		checkpoint(l);
	else if (!strcmp(line, "lazyfs::display-cache-usage"))
		cache_usage(l);
	else if (!strcmp(line, "lazyfs::unsynced-data-report"))
		report(l);
	else if (!strcmp(line, "lazyfs::help"))
		help();
	else if (!strncmp(line, "lazyfs::crash::", 15))
		crash(l, line + 15);
	else if (!strcmp(line, "lazyfs::torn-op") ||
		 !strncmp(line, "lazyfs::torn-op::", 17))
		torn(l, line + (line[15] ? 17 : 15), false);
	else if (!strcmp(line, "lazyfs::torn-seq") ||
		 !strncmp(line, "lazyfs::torn-seq::", 18))
		torn(l, line + (line[16] ? 18 : 16), true);
	else
		cfs_log("lazyfs: command unknown '%s'", line);
}

/* ---- the reader --------------------------------------------------------- */

static void *reader(void *arg)
{
	struct lzf *l = arg;
	char buf[LZF_LINE_MAX + 1], *start, *nl;
	bool skip = false; /* in the rest of a line too long */
	size_t n = 0;
	ssize_t r;

	cfs_log("lazyfs: waiting for fault commands on '%s'", l->fifo);
	for (;;) {
		struct pollfd p[2] = {{.fd = l->fd, .events = POLLIN},
				      {.fd = l->stop[0], .events = POLLIN}};

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		r = read(l->fd, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			continue; /* EAGAIN, EINTR: nothing yet */
		n += (size_t)r;
		start = buf;
		while ((nl = memchr(start, '\n', (size_t)(buf + n - start)))) {
			*nl = '\0';
			if (!skip)
				command(l, start);
			skip = false;
			start = nl + 1;
		}
		n -= (size_t)(start - buf);
		memmove(buf, start, n);
		if (n == sizeof(buf) - 1) {
			if (!skip)
				cfs_log("lazyfs: a command longer than %d "
					"bytes: ignored",
					LZF_LINE_MAX);
			skip = true;
			n = 0;
		}
	}
	cfs_log("lazyfs: fifo reader stopped");
	return NULL;
}

int lzf_start(struct lzf *l, struct cfs *fs, struct ctl_server *srv)
{
	int size = REPLY_MAX, err;

	l->fs = fs;
	l->srv = srv;
	if (pipe2(l->stop, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, l->sp) < 0)
		return -errno;
	/* The reply is read once the verb is done: it must fit, or the
	 * verb's send fails (EAGAIN) rather than waiting forever. */
	if (setsockopt(l->sp[0], SOL_SOCKET, SO_SNDBUFFORCE, &size,
		       sizeof(size)) < 0)
		setsockopt(l->sp[0], SOL_SOCKET, SO_SNDBUF, &size,
			   sizeof(size));
	fcntl(l->sp[0], F_SETFL, O_NONBLOCK);
	err = pthread_create(&l->thread, NULL, reader, l);
	if (err)
		return -err;
	l->started = true;
	return 0;
}

void lzf_free(struct lzf **lp, bool remove)
{
	struct lzf *l = *lp;

	if (!l)
		return;
	*lp = NULL;
	if (l->started) {
		if (write(l->stop[1], "", 1) != 1)
			pthread_cancel(l->thread);
		pthread_join(l->thread, NULL);
	}
	for (int i = 0; i < 2; i++) {
		if (l->stop[i] >= 0)
			close(l->stop[i]);
		if (l->sp[i] >= 0)
			close(l->sp[i]);
	}
	if (l->fd >= 0)
		close(l->fd);
	if (l->done_fd >= 0)
		close(l->done_fd);
	if (remove && l->made && l->fifo)
		unlink(l->fifo);
	if (remove && l->done_made && l->completed)
		unlink(l->completed);
	for (size_t i = 0; i < l->ntorn; i++)
		free(l->torn[i].key);
	free(l->torn);
	free(l->fifo);
	free(l->completed);
	free(l);
}
