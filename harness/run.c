/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The RUN directory layout (see run.h and docs/run-format.md).
 */
#include "harness/run.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int path_join(char *out, size_t len, const char *a, const char *b)
{
	int n = snprintf(out, len, "%s/%s", a, b);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

#define META_MAX (1 << 20) /* bytes of meta.json read, at most */

/* Read RUN/meta.json if it is a regular file (not a symlink, a fifo that
 * would block or a device that never ends) of sane size. */
static void read_meta(struct run_info *ri)
{
	char p[PATH_MAX + 16];
	struct stat st;
	json_t *j, *v;
	int fd;

	if (path_join(p, sizeof(p), ri->dir, "meta.json"))
		return;
	fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > META_MAX) {
		close(fd);
		return;
	}
	j = json_loadfd(fd, 0, NULL);
	close(fd);
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
	/* a RUN may come from elsewhere: its parts are read where they
	 * are, never through a symlink to some other place */
	if (lstat(ri->trace, &st))
		st.st_mode = 0;
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen,
			 "'%s' is not a run: no trace file "
			 "'%s'%s (see docs/run-format.md)",
			 path, ri->trace,
			 S_ISLNK(st.st_mode) ? " (it is a symlink)" : "");
		return -ENOENT;
	}
	if (lstat(ri->initial, &st))
		ri->initial[0] = '\0';
	else if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "'%s' is not a directory%s", ri->initial,
			 S_ISLNK(st.st_mode) ? " (a symlink)" : "");
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
