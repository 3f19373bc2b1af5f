/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Trace records for people and tools: one strace-like line of text, or one
 * JSON object, per record.  Used by `crashfs trace` and by reports that
 * quote the operations behind a finding.
 *
 * Paths come from a core/names tracker that must hold the state *before*
 * the record: call trace_print_*() first, then names_apply().  Text lines
 * look like
 *	#7 pid 1234 rename "config.json.tmp" -> "config.json" = 0
 *	#5 pid 1234 write "config.json.tmp" off 0 len 4096 = 4096
 *	#8 pid 1234 open "x" O_RDONLY fh 3 = -1 ENOENT (No such file or directory)
 *	#12 mark "saved"
 * Strings are quoted, with '"', '\\', control characters and bytes that
 * are not UTF-8 escaped C-style, so a hostile name cannot reach the
 * terminal raw.
 */
#ifndef CRASHFS_TRACE_PRINT_H
#define CRASHFS_TRACE_PRINT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "core/names.h"
#include "core/trace.h"

enum trace_print_time {
	TRACE_TIME_NONE, /* no timestamps */
	TRACE_TIME_ABS,	 /* seconds since the trace was created */
	TRACE_TIME_REL,	 /* seconds since the previous record shown */
};

struct trace_print_opts {
	enum trace_print_time time; /* timestamps in text lines */
	bool ids;		    /* text: each path followed by <id> */
	bool data;		    /* JSON: payloads, base64 */
};

/*
 * Print rec as one line of text, newline included, to f.  prev_ns is the
 * time_ns of the previous record shown (for TRACE_TIME_REL).  Returns 0 or
 * -EIO if writing to f failed.
 */
int trace_print_text(FILE *f, const struct trace_rec *rec,
		     const struct names *nm,
		     const struct trace_print_opts *opts, uint64_t prev_ns);

/*
 * rec as a JSON object: the common fields (seq, time_ns, type, flags, pid,
 * result, and errno/error for a failure), every body field its type
 * stores, decoded flags, and the paths of the files and entries involved.
 * See docs/trace-format.md, "crashfs trace --json".  Returns a new
 * reference, NULL without memory.
 */
json_t *trace_print_json(const struct trace_rec *rec, const struct names *nm,
			 const struct trace_print_opts *opts);

/*
 * The symbolic form of rec->oflags for rec's type ("O_WRONLY|O_CREAT",
 * "RENAME_NOREPLACE", "FALLOC_FL_KEEP_SIZE", "mode|uid", "XATTR_CREATE"),
 * "" when there is nothing to show; unknown bits are appended in hex.
 * Writes into buf (len bytes) and returns it.
 */
const char *trace_print_oflags(const struct trace_rec *rec, char *buf,
			       size_t len);

#endif /* CRASHFS_TRACE_PRINT_H */
