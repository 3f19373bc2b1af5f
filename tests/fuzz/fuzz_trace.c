/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Fuzz target over everything that reads a trace: the reader, the
 * printer (text and JSON, with the path bookkeeping of core/names), the
 * model loader and the crash-state explorer (visible states and a bounded
 * number of crash states under every model, each hashed, one rebuilt by
 * its id).  The input is the bytes of a trace file; it reaches the code
 * through a memfd, so nothing touches the disk.
 *
 * Built two ways (Makefile): with libFuzzer (clang -fsanitize=fuzzer,
 * `make fuzz`), and with tests/fuzz/replay.c as main(), which runs the
 * target once per file given (the corpus, in `make test`).  Both build
 * with ASan and UBSan: a finding is a sanitizer report or a crash.
 *
 * What may not happen on any input: a crash, a sanitizer report, a leak,
 * a hang (every loop is bounded by the input's size or by the caps
 * below).  What may: any error from any stage, which ends that stage.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/model.h"
#include "core/names.h"
#include "core/persist.h"
#include "core/trace.h"
#include "harness/explore.h"
#include "harness/trace_print.h"

#define MAX_STATES 64	    /* crash states explored per model */
#define MAX_VISIBLE 64	    /* visible states rebuilt */
#define MAX_INPUT (1 << 20) /* longer inputs are cut: time, not coverage */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull(void)
{
	static FILE *f;

	if (!f)
		f = fopen("/dev/null", "w");
	return f;
}

/* Read and print every record, as `crashfs trace` and `--json` do. */
static void print_all(const char *path)
{
	struct trace_print_opts opts = {.time = TRACE_TIME_REL, .ids = true};
	struct names nm = {0};
	struct trace_reader *r;
	struct trace_rec rec;
	char err[256];
	uint64_t prev = 0;

	r = trace_reader_open(path, err, sizeof(err));
	if (!r)
		return;
	while (trace_next(r, &rec) > 0) {
		json_t *j;

		trace_print_text(devnull(), &rec, &nm, &opts, prev);
		j = trace_print_json(&rec, &nm, &opts);
		json_decref(j);
		names_apply(&nm, &rec);
		prev = rec.time_ns;
	}
	names_release(&nm);
	trace_reader_free(&r);
}

/* Explore the loaded model: visible states, then crash states. */
static void explore_all(struct model *m)
{
	const struct persist_rules *models[2] = {NULL, NULL};
	static const char *const names[] = {"posix", "ext4", "strict",
					    "prefix"};
	struct explore_state st, first;
	struct explorer *x;
	char err[256];
	uint64_t n = model_nops(m);

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		struct explore_opts o = {.models = models, .random = 2};
		int k = 0;

		models[0] = persist_find(names[i]);
		x = explore_new(m, &o, err, sizeof(err));
		if (!x)
			continue;
		if (i == 0)
			for (uint64_t p = 0; p <= n && p < MAX_VISIBLE; p++)
				explore_visible(x, p);
		first.id[0] = '\0';
		while (k++ < MAX_STATES && explore_next(x, &st) > 0)
			if (!first.id[0])
				first = st;
		if (first.id[0])
			explore_goto(x, first.id, &st);
		explore_free(&x);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[256];
	struct model *m;
	int fd;

	if (size > MAX_INPUT)
		size = MAX_INPUT;
	fd = memfd_create("fuzz-trace", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	print_all(path);
	m = model_load(path, NULL, err, sizeof(err));
	if (m) {
		explore_all(m);
		model_free(&m);
	}
	close(fd);
	return 0;
}
