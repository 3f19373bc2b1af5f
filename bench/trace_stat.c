/* SPDX-License-Identifier: MIT */
/** @file
 *
 * trace_stat: how much a crashfs trace costs beyond the data it records,
 * for `make bench`.  Reads the trace with the core/ reader (the same one
 * the harness uses) and prints one JSON object:
 *
 *	{"bytes": trace file size, "records": whole records read,
 *	 "payload": bytes of write data and xattr values carried,
 *	 "overhead_per_record": (bytes - payload) / records,
 *	 "complete": a TR_END was read, "truncated": cut mid-record,
 *	 "types": {"write": n, ...}}
 *
 * Names (file names, link targets, mark text) count as overhead: they are
 * what the trace adds to the program's data.  Exit status 0, 1 when the
 * trace is corrupt (the figures up to the bad record are still printed),
 * 2 on bad usage or an unreadable file.
 */
#include "core/trace.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	uint64_t types[TR_TYPE_MAX] = {0};
	uint64_t records = 0, payload = 0;
	struct trace_reader *r;
	struct trace_rec rec;
	struct stat st;
	char err[512];
	bool first = true;
	int n;

	if (argc != 2) {
		fprintf(stderr, "usage: trace_stat TRACE\n");
		return 2;
	}
	if (stat(argv[1], &st) < 0) {
		fprintf(stderr, "trace_stat: cannot stat '%s': %s\n", argv[1],
			strerror(errno));
		return 2;
	}
	r = trace_reader_open(argv[1], err, sizeof(err));
	if (!r) {
		fprintf(stderr, "trace_stat: %s\n", err);
		return 2;
	}
	while ((n = trace_next(r, &rec)) > 0) {
		records++;
		types[rec.type]++;
		if (rec.type == TR_WRITE || rec.type == TR_SETXATTR)
			payload += rec.data_len;
	}
	if (n < 0)
		fprintf(stderr, "trace_stat: %s\n", trace_reader_error(r));

	printf("{\"bytes\": %llu, \"records\": %llu, \"payload\": %llu, "
	       "\"overhead_per_record\": %.2f, \"complete\": %s, "
	       "\"truncated\": %s, \"types\": {",
	       (unsigned long long)st.st_size, (unsigned long long)records,
	       (unsigned long long)payload,
	       records ? (double)(st.st_size - payload) / records : 0.0,
	       trace_reader_complete(r) ? "true" : "false",
	       trace_reader_truncated(r) ? "true" : "false");
	for (unsigned int t = 1; t < TR_TYPE_MAX; t++) {
		if (!types[t])
			continue;
		printf("%s\"%s\": %llu", first ? "" : ", ", trace_type_name(t),
		       (unsigned long long)types[t]);
		first = false;
	}
	printf("}}\n");
	trace_reader_free(&r);
	return n < 0 ? 1 : 0;
}
