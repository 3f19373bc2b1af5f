/* SPDX-License-Identifier: MIT */
/** @file
 *
 * main() for the fuzz target without libFuzzer: run it once on each file
 * given (directories: on each file inside), so that `make test` replays
 * the corpus, and every input that once made the target fail, under ASan
 * and UBSan.  Prints one line per input; exit status 0, or 2 when an
 * input cannot be read (a sanitizer finding aborts the process).
 *
 *	build/fuzz/trace-replay tests/fuzz/corpus
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "trace-replay: cannot open '%s': %s\n", path,
			strerror(errno));
		return 2;
	}
	do {
		if (len == cap) {
			uint8_t *p = realloc(buf, cap = cap ? 2 * cap : 65536);

			if (!p) {
				free(buf);
				fclose(f);
				return 2;
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	printf("ok    %s (%zu bytes)\n", path, len);
	free(buf);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;
	int rc = 0;

	if (!d) {
		fprintf(stderr, "trace-replay: cannot open '%s': %s\n", dir,
			strerror(errno));
		return 2;
	}
	while ((de = readdir(d))) {
		char **p;

		if (de->d_name[0] == '.')
			continue;
		p = realloc(v, (n + 1) * sizeof(*v));
		if (!p)
			break;
		v = p;
		if (asprintf(&v[n], "%s/%s", dir, de->d_name) >= 0)
			n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp);
	for (size_t i = 0; i < n; i++) {
		rc = run_file(v[i]) ?: rc;
		free(v[i]);
	}
	free(v);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: trace-replay FILE|DIR...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			rc = run_dir(argv[i]) ?: rc;
		else
			rc = run_file(argv[i]) ?: rc;
	}
	return rc;
}
