/* SPDX-License-Identifier: MIT */
/** @file
 *
 * `crashfs trace FILE`: print a recorded trace like strace, one line per
 * record with the path each file had at that moment, or as JSON Lines for
 * tools.  Filters (--type, --pid, --no-bind) choose what is shown; every
 * record still feeds the path tracker, so paths stay right.
 *
 * Exit status: 0 the trace was read to its end (a cut tail, as a killed
 * daemon leaves, is a warning); 1 a corrupt record stopped the listing
 * (what came before it is printed); 2 usage error, or the file is not a
 * readable trace.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "core/names.h"
#include "core/trace.h"
#include "core/util.h"
#include "harness/trace_print.h"

#define MAX_PIDS 64

struct filter {
	bool no_bind;		 /* leave out TR_BIND */
	bool types[TR_TYPE_MAX]; /* shown types, if any_type */
	bool any_type;		 /* --type was given */
	bool fdatasync;		 /* fdatasync without fsync asked */
	uint32_t pids[MAX_PIDS]; /* shown pids, if npids */
	size_t npids;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: crashfs trace [options] FILE\n"
		"\n"
		"Print a crashfs trace like strace: one line per recorded "
		"operation, with the\n"
		"path each file had at that moment (relative to the mount).\n"
		"\n"
		"options:\n"
		"  --json          one JSON object per record (JSON Lines), "
		"every field\n"
		"  --data          with --json: include payloads (write data, "
		"xattr values)\n"
		"                  as base64 in \"data_b64\"\n"
		"  --no-bind       leave out bind records (files that existed "
		"before the mount,\n"
		"                  met for the first time)\n"
		"  --type T,...    only these record types, e.g. "
		"write,fsync,rename\n"
		"                  (fsync includes fdatasync, fdatasync is "
		"only that)\n"
		"  --pid P,...     only records made by these processes\n"
		"  -t, --time      show seconds since the trace was created\n"
		"  -r, --relative  show seconds since the previous line\n"
		"  --ids           show each file's id after its path: "
		"\"a\"<3>\n"
		"  -h, --help      this text\n"
		"\n"
		"Errors show as '= -1 ENOENT (No such file or directory)'.  A "
		"file whose last\n"
		"name is gone shows as \"name (deleted)\".  flush is close(2) "
		"of one descriptor,\n"
		"not a durability point; fsync, fdatasync and fsyncdir are.\n"
		"\n"
		"exit status: 0 trace read to its end (a trace cut short by a "
		"killed daemon\n"
		"is read up to its last whole record, with a warning), 1 a "
		"corrupt record,\n"
		"2 usage error or not a readable trace\n");
}

static int parse_types(struct filter *flt, const char *arg)
{
	char *copy = strdup(arg), *save = NULL, *tok;
	unsigned int t;
	int err = 0;

	if (!copy) {
		util_err("out of memory");
		return -ENOMEM;
	}
	flt->any_type = true;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "fdatasync")) {
			flt->fdatasync = true;
			continue;
		}
		for (t = 1; t < TR_TYPE_MAX; t++)
			if (!strcmp(tok, trace_type_name(t)))
				break;
		if (t == TR_TYPE_MAX) {
			util_err("unknown record type '%s'; types are:", tok);
			for (t = 1; t < TR_TYPE_MAX; t++)
				fprintf(stderr, "%s%s", t > 1 ? "," : "  ",
					trace_type_name(t));
			fputc('\n', stderr);
			err = -EINVAL;
			break;
		}
		flt->types[t] = true;
	}
	free(copy);
	return err;
}

static int parse_pids(struct filter *flt, const char *arg)
{
	char *copy = strdup(arg), *save = NULL, *tok;
	uint64_t v;
	int err = 0;

	if (!copy) {
		util_err("out of memory");
		return -ENOMEM;
	}
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (util_parse_u64(tok, 0, UINT32_MAX, &v) < 0) {
			util_err("--pid: '%s' is not a process id", tok);
			err = -EINVAL;
			break;
		}
		if (flt->npids == MAX_PIDS) {
			util_err("--pid: at most %d processes", MAX_PIDS);
			err = -EINVAL;
			break;
		}
		flt->pids[flt->npids++] = (uint32_t)v;
	}
	free(copy);
	return err;
}

static bool shown(const struct filter *flt, const struct trace_rec *rec)
{
	size_t i;

	if (flt->no_bind && rec->type == TR_BIND)
		return false;
	if (flt->any_type && !flt->types[rec->type] &&
	    !(flt->fdatasync && rec->type == TR_FSYNC &&
	      rec->flags & TRF_DATASYNC))
		return false;
	if (!flt->npids)
		return true;
	for (i = 0; i < flt->npids; i++)
		if (rec->pid == flt->pids[i])
			return true;
	return false;
}

static int print_json(const struct trace_rec *rec, const struct names *nm,
		      const struct trace_print_opts *opts)
{
	json_t *o = trace_print_json(rec, nm, opts);
	int err;

	if (!o)
		return -ENOMEM;
	err = json_dumpf(o, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (err < 0 || putchar('\n') == EOF)
		return -EIO;
	return 0;
}

/* Print the records of r; returns the exit status. */
static int list(struct trace_reader *r, const char *path,
		const struct filter *flt, const struct trace_print_opts *opts,
		bool json)
{
	struct names nm = {0};
	struct trace_rec rec;
	uint64_t count = 0, prev_ns = 0;
	int ret, err = 0, status = 0;

	while ((ret = trace_next(r, &rec)) > 0) {
		count++;
		if (shown(flt, &rec)) {
			err = json ? print_json(&rec, &nm, opts)
				   : trace_print_text(stdout, &rec, &nm, opts,
						      prev_ns);
			prev_ns = rec.time_ns;
		}
		if (!err)
			err = names_apply(&nm, &rec);
		if (err)
			break;
	}
	names_release(&nm);
	if (fflush(stdout) == EOF || ferror(stdout) || err == -EIO) {
		util_err("cannot write the listing: %s",
			 strerror(errno ? errno : EIO));
		return 2;
	}
	if (err) {
		util_err("out of memory reading trace '%s'", path);
		return 2;
	}
	if (ret < 0) {
		util_err("%s (after %" PRIu64 " records)",
			 trace_reader_error(r), count);
		status = 1;
	} else if (trace_reader_truncated(r)) {
		util_warn("trace '%s' ends inside a record (the daemon was "
			  "killed?): %" PRIu64 " records read",
			  path, count);
	} else if (!trace_reader_complete(r)) {
		util_warn("trace '%s' has no end record (the daemon is still "
			  "running, or was killed between records): %" PRIu64
			  " records read",
			  path, count);
	}
	return status;
}

int cmd_trace(int argc, char **argv)
{
	enum {
		OPT_JSON = 256,
		OPT_DATA,
		OPT_NO_BIND,
		OPT_TYPE,
		OPT_PID,
		OPT_IDS
	};
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, OPT_JSON},
	    {"data", no_argument, NULL, OPT_DATA},
	    {"no-bind", no_argument, NULL, OPT_NO_BIND},
	    {"type", required_argument, NULL, OPT_TYPE},
	    {"pid", required_argument, NULL, OPT_PID},
	    {"ids", no_argument, NULL, OPT_IDS},
	    {"time", no_argument, NULL, 't'},
	    {"relative", no_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct trace_print_opts opts = {0};
	struct filter *flt;
	struct trace_reader *r;
	char err[PATH_MAX + 256];
	bool json = false;
	int c, status = 2;

	util_set_progname("crashfs trace");
	flt = calloc(1, sizeof(*flt));
	if (!flt) {
		util_err("out of memory");
		return 2;
	}
	optind = 0; /* glibc: start afresh, even if called before */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+trh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: json = true; break;
		case OPT_DATA: opts.data = true; break;
		case OPT_NO_BIND: flt->no_bind = true; break;
		case OPT_IDS: opts.ids = true; break;
		case 't': opts.time = TRACE_TIME_ABS; break;
		case 'r': opts.time = TRACE_TIME_REL; break;
		case OPT_TYPE:
			if (parse_types(flt, optarg) < 0)
				goto out_free;
			break;
		case OPT_PID:
			if (parse_pids(flt, optarg) < 0)
				goto out_free;
			break;
		case 'h':
			usage(stdout);
			status = 0;
			goto out_free;
		default:
			if (optopt)
				util_err("unknown or incomplete option '-%c'; "
					 "see 'crashfs trace --help'",
					 optopt);
			else
				util_err("unknown or incomplete option '%s'; "
					 "see 'crashfs trace --help'",
					 argv[optind - 1]);
			goto out_free;
		}
	}
	if (argc - optind != 1) {
		util_err(argc == optind ? "no trace file given; see 'crashfs "
					  "trace --help'"
					: "one trace file at a time; see "
					  "'crashfs trace --help'");
		goto out_free;
	}
	if (opts.data && !json) {
		util_err("--data goes with --json");
		goto out_free;
	}
	r = trace_reader_open(argv[optind], err, sizeof(err));
	if (!r) {
		util_err("%s", err);
		goto out_free;
	}
	status = list(r, argv[optind], flt, &opts, json);
	trace_reader_free(&r);
out_free:
	free(flt);
	return status;
}
