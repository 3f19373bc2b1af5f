/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The RUN directory layout (see run.h and docs/run-format.md).
 */
#include "harness/run.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int path_join(char *out, size_t len, const char *a, const char *b)
{
	int n = snprintf(out, len, "%s/%s", a, b);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static void read_meta(struct run_info *ri)
{
	char p[PATH_MAX + 16];
	json_t *j, *v;

	if (path_join(p, sizeof(p), ri->dir, "meta.json"))
		return;
	j = json_load_file(p, 0, NULL);
	if (!j)
		return;
	v = json_object_get(j, "sector");
	if (json_is_integer(v) && json_integer_value(v) > 0 &&
	    json_integer_value(v) <= 1 << 20)
		ri->sector = (uint32_t)json_integer_value(v);
	v = json_object_get(j, "syncs_unseen");
	if (json_is_string(v))
		snprintf(ri->syncs_unseen, sizeof(ri->syncs_unseen), "%s",
			 json_string_value(v));
	json_decref(j);
}

int run_open(const char *path, struct run_info *ri, char *err, size_t errlen)
{
	struct stat st;

	memset(ri, 0, sizeof(*ri));
	if (stat(path, &st)) {
		snprintf(err, errlen, "cannot open run '%s': %s", path,
			 strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(ri->trace, sizeof(ri->trace), "%s", path);
		return 0;
	}
	if (strlen(path) >= sizeof(ri->dir) - 16 ||
	    path_join(ri->trace, sizeof(ri->trace), path, "trace") ||
	    path_join(ri->initial, sizeof(ri->initial), path, "initial")) {
		snprintf(err, errlen, "run path '%s' is too long", path);
		return -ENAMETOOLONG;
	}
	snprintf(ri->dir, sizeof(ri->dir), "%s", path);
	if (stat(ri->trace, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen,
			 "'%s' is not a run: no trace file "
			 "'%s' (see docs/run-format.md)",
			 path, ri->trace);
		return -ENOENT;
	}
	if (stat(ri->initial, &st))
		ri->initial[0] = '\0';
	else if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "'%s' is not a directory", ri->initial);
		return -ENOTDIR;
	}
	read_meta(ri);
	return 0;
}

struct model *run_load(const struct run_info *ri, char *err, size_t errlen)
{
	return model_load(ri->trace, ri->initial[0] ? ri->initial : NULL, err,
			  errlen);
}

int run_create(const char *dir, struct run_info *ri, char *err, size_t errlen)
{
	memset(ri, 0, sizeof(*ri));
	if (strlen(dir) >= sizeof(ri->dir) - 16) {
		snprintf(err, errlen, "run path '%s' is too long", dir);
		return -ENAMETOOLONG;
	}
	snprintf(ri->dir, sizeof(ri->dir), "%s", dir);
	path_join(ri->trace, sizeof(ri->trace), dir, "trace");
	path_join(ri->initial, sizeof(ri->initial), dir, "initial");
	if (mkdir(dir, 0755) || mkdir(ri->initial, 0755)) {
		snprintf(err, errlen, "cannot create run '%s': %s", dir,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

int run_write_meta(const struct run_info *ri, uint32_t sector,
		   char *const *argv)
{
	char p[PATH_MAX + 16];
	json_t *j = json_object(), *cmd = json_array();
	int ret = 0;

	if (!j || !cmd) {
		json_decref(j);
		json_decref(cmd);
		return -ENOMEM;
	}
	json_object_set_new(j, "format", json_integer(1));
	json_object_set_new(j, "sector", json_integer(sector));
	for (size_t i = 0; argv && argv[i]; i++)
		json_array_append_new(cmd, json_string(argv[i]));
	json_object_set_new(j, "command", cmd);
	if (path_join(p, sizeof(p), ri->dir, "meta.json"))
		ret = -ENAMETOOLONG;
	else if (json_dump_file(j, p, JSON_INDENT(2)))
		ret = -EIO;
	json_decref(j);
	return ret;
}

int run_note_syncs(const struct run_info *ri, const char *unseen)
{
	char p[PATH_MAX + 16];
	json_t *j;
	int ret = 0;

	if (path_join(p, sizeof(p), ri->dir, "meta.json"))
		return -ENAMETOOLONG;
	j = json_load_file(p, 0, NULL);
	if (!j)
		return -EIO;
	json_object_set_new(j, "syncs_seen", json_boolean(!*unseen));
	if (*unseen)
		json_object_set_new(j, "syncs_unseen", json_string(unseen));
	if (json_dump_file(j, p, JSON_INDENT(2)))
		ret = -EIO;
	json_decref(j);
	return ret;
}
