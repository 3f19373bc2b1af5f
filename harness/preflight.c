/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Checks that would check nothing (see preflight.h).
 */
#include "harness/preflight.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/trace.h"
#include "harness/checks.h"

static bool changes(const struct model_op *op)
{
	return op->result >= 0 && model_op_mutates(op);
}

int preflight_changes(struct model *m, char *err, size_t errlen)
{
	size_t n = model_nops(m), real = 0;

	for (size_t i = 0; i < n; i++) {
		const struct model_op *op = model_op(m, i);

		if (changes(op))
			return 0;
		real += op->type != TR_BIND && op->type != TR_END;
	}
	snprintf(err, errlen,
		 "the workload changed nothing under the mount (%zu "
		 "operation%s recorded, none changed a file), so no state "
		 "differs from the initial one; it must write in its working "
		 "directory, the mount: what a program writes to an absolute "
		 "path (/tmp, $HOME) is not recorded",
		 real, real == 1 ? "" : "s");
	return -EINVAL;
}

/* Is name one of the components of path? */
static bool component_of(const char *name, const char *path)
{
	size_t len = strlen(name);

	if (!len)
		return false;
	for (const char *p = path; *p;) {
		size_t c = strcspn(p, "/");

		if (c == len && !memcmp(p, name, len))
			return true;
		p += c;
		p += *p == '/';
	}
	return false;
}

/* The names the run gave to new entries, up to three, for the message. */
static void made_names(struct model *m, char *buf, size_t len)
{
	const char *names[3];
	size_t n = 0, k = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < model_nops(m) && n < 3; i++) {
		const struct model_op *op = model_op(m, i);
		const char *name = op->type == TR_RENAME ? op->name2 : op->name;
		bool dup = false;

		if (!changes(op) || !model_op_is_entry(op) ||
		    op->type == TR_UNLINK || op->type == TR_RMDIR || !name)
			continue;
		for (size_t j = 0; j < n; j++)
			dup |= !strcmp(names[j], name);
		if (!dup)
			names[n++] = name;
	}
	for (size_t j = 0; j < n && k < len; j++)
		k += snprintf(buf + k, len - k, "%s'%s'", j ? ", " : "",
			      names[j]);
}

int preflight_path(struct model *m, const char *opt, const char *path,
		   char *err, size_t errlen)
{
	char made[200];

	model_reset(m);
	if (checks_version(m, path) != 0)
		return 0;
	for (size_t i = 0; i < model_nops(m); i++) {
		const struct model_op *op = model_op(m, i);

		if (!changes(op))
			continue;
		if ((op->name && component_of(op->name, path)) ||
		    (op->name2 && component_of(op->name2, path)))
			return 0;
	}
	made_names(m, made, sizeof(made));
	snprintf(err, errlen,
		 "%s '%s': the workload never touched %s and it did not "
		 "exist before, so the check would pass without checking "
		 "anything; paths are relative to the workload's working "
		 "directory (the mount): does the program write somewhere "
		 "else (an absolute path, /tmp)?%s%s%s",
		 opt, path, path, made[0] ? " (it created " : "", made,
		 made[0] ? ")" : "");
	return -EINVAL;
}

/* ---- commands ---------------------------------------------------------- */

/* A word the shell takes as is: no quoting, expansion or operator. */
static bool plain(const char *w, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (strchr("'\"\\$`;&|<>(){}*?[]~#!=", w[i]))
			return false;
	return len > 0;
}

static bool interpreter(const char *w, size_t len)
{
	static const char *const names[] = {"sh",     "bash",	 "dash", "zsh",
					    "python", "python3", "perl", "ruby",
					    "node",   "tclsh",	 NULL};
	const char *base = w;

	for (size_t i = 0; i < len; i++)
		if (w[i] == '/')
			base = w + i + 1;
	len -= base - w;
	for (int i = 0; names[i]; i++)
		if (len >= strlen(names[i]) &&
		    !strncmp(base, names[i], strlen(names[i])) &&
		    (len == strlen(names[i]) ||
		     strspn(base + strlen(names[i]), "0123456789.") ==
			 len - strlen(names[i])))
			return true;
	return false;
}

/* Absolute path of word (len bytes) if it should be made absolute. */
static char *absolute(const char *w, size_t len, const char *base,
		      const char *initial)
{
	char *rel, *here = NULL, *there = NULL, *abs = NULL;
	struct stat st;

	if (!plain(w, len) || w[0] == '/' || w[0] == '-')
		return NULL;
	rel = strndup(w, len);
	if (!rel)
		return NULL;
	if (asprintf(&here, "%s/%s", base, rel) < 0)
		here = NULL;
	if (initial && asprintf(&there, "%s/%s", initial, rel) < 0)
		there = NULL;
	if (here && stat(here, &st) == 0 && S_ISREG(st.st_mode) &&
	    (!initial || (there && lstat(there, &st) < 0)))
		abs = realpath(here, NULL);
	free(rel);
	free(here);
	free(there);
	return abs;
}

char *preflight_resolve_cmd(const char *cmd, const char *base,
			    const char *initial)
{
	const char *w1 = cmd + strspn(cmd, " \t"), *w2;
	size_t l1 = strcspn(w1, " \t\n"), l2;
	const char *w = NULL;
	size_t wl = 0;
	char *abs = NULL, *out;
	size_t n;

	w2 = w1 + l1 + strspn(w1 + l1, " \t");
	l2 = strcspn(w2, " \t\n");
	if (memchr(w1, '/', l1) && (abs = absolute(w1, l1, base, initial)))
		w = w1, wl = l1;
	else if (plain(w1, l1) && interpreter(w1, l1) &&
		 (abs = absolute(w2, l2, base, initial)))
		w = w2, wl = l2;
	if (!abs)
		return strdup(cmd);
	/* single-quoted, each ' as '\'' */
	n = strlen(cmd) + 4 * strlen(abs) + 3;
	out = malloc(n);
	if (out) {
		size_t k = w - cmd;

		memcpy(out, cmd, k);
		out[k++] = '\'';
		for (const char *p = abs; *p; p++) {
			if (*p == '\'') {
				memcpy(out + k, "'\\''", 4);
				k += 4;
			} else {
				out[k++] = *p;
			}
		}
		out[k++] = '\'';
		strcpy(out + k, w + wl);
	}
	free(abs);
	return out;
}
