/* SPDX-License-Identifier: MIT */
/** @file
 *
 * A reader for /proc/self/mountinfo (see proc(5)): one mount a line,
 *	id parent major:minor root mountpoint options [optional...] - type ...
 * with spaces, tabs, newlines and backslashes in paths written as octal
 * escapes (\040).
 */
#include "fusefs/mountinfo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Undo the octal escapes of a mountinfo field, in place. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
					(s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

int mountinfo_type(const char *dir, char *type, size_t len)
{
	return mountinfo_get(dir, type, len, NULL, 0);
}

int mountinfo_get(const char *dir, char *type, size_t len, char *source,
		  size_t slen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, *save, *field, *mnt;
	size_t cap = 0;
	int found = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		mnt = NULL;
		field = strtok_r(line, " ", &save);
		for (int i = 1; field && i < 5; i++) {
			field = strtok_r(NULL, " ", &save);
			if (i == 4)
				mnt = field;
		}
		if (!mnt)
			continue;
		unescape(mnt);
		if (strcmp(mnt, dir))
			continue;
		/* Skip the optional fields up to the "-" separator. */
		while ((field = strtok_r(NULL, " ", &save)) &&
		       strcmp(field, "-"))
			;
		field = field ? strtok_r(NULL, " ", &save) : NULL;
		snprintf(type, len, "%s", field ? field : "?");
		field = field ? strtok_r(NULL, " ", &save) : NULL;
		if (field)
			unescape(field);
		if (source)
			snprintf(source, slen, "%s", field ? field : "");
		found = 1;
	}
	free(line);
	fclose(f);
	return found;
}
