/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Scenario files (see scenario.h and docs/scenarios.md), parsed with inih.
 *
 * inih hands us (section, key, value) triples but no line numbers in the
 * Debian build, and it cannot tell a continuation line from a repeated
 * key.  So the file is fed to inih through our own line reader, which
 * counts lines, remembers whether the line it just returned was a
 * continuation (starts with blanks) and refuses over-long lines instead of
 * letting inih split them.  The reader also ends the file at the first
 * error and after SCN_FILE_MAX bytes: a scenario is a few lines, and a
 * file that never ends (a device, a pipe nobody closes) must not keep
 * crashfs reading.
 */
#include "harness/scenario.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "harness/requires.h"

#define LINE_MAX_LEN 199 /* inih's INI_MAX_LINE minus the NUL */

int strv_push(struct strv *s, const char *str)
{
	char **v = realloc(s->v, (s->len + 2) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	s->v = v;
	v[s->len] = strdup(str);
	if (!v[s->len])
		return -ENOMEM;
	v[++s->len] = NULL;
	return 0;
}

void strv_release(struct strv *s)
{
	for (size_t i = 0; i < s->len; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->len = 0;
}

static const char *const check_names[SCN_NCHECKS] = {
    [SCN_ATOMIC] = "atomic",
    [SCN_DURABLE] = "durable",
    [SCN_EXTERNAL] = "check",
};

const char *scenario_check_name(enum scn_check c)
{
	return c < SCN_NCHECKS ? check_names[c] : "?";
}

struct scenario *scenario_new(void)
{
	struct scenario *s = calloc(1, sizeof(*s));

	if (s && strv_push(&s->models, "posix") < 0)
		scenario_free(&s);
	return s;
}

void scenario_free(struct scenario **sp)
{
	struct scenario *s = *sp;

	if (!s)
		return;
	free(s->name);
	free(s->file);
	free(s->dir);
	free(s->description);
	free(s->setup);
	free(s->from);
	free(s->run);
	free(s->check);
	strv_release(&s->atomic);
	strv_release(&s->durable);
	strv_release(&s->models);
	strv_release(&s->requires);
	free(s);
	*sp = NULL;
}

void scenario_list_release(struct scenario_list *l)
{
	for (size_t i = 0; i < l->len; i++)
		scenario_free(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->len = 0;
}

uint32_t scenario_kinds(const struct scenario *s)
{
	uint32_t k = 0;

	if (s->states != SCN_STATES_CRASH)
		k |= SCN_KIND_VISIBLE;
	if (s->states != SCN_STATES_VISIBLE)
		for (size_t i = 0; i < s->models.len; i++)
			k |= SCN_KIND_MODEL(i);
	return k;
}

const char *scenario_kinds_str(const struct scenario *s, uint32_t kinds,
			       char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	if (kinds & SCN_KIND_VISIBLE)
		n += snprintf(buf + n, n < len ? len - n : 0, "visible");
	for (size_t i = 0; i < s->models.len; i++)
		if (kinds & SCN_KIND_MODEL(i))
			n += snprintf(buf + n, n < len ? len - n : 0, "%s%s",
				      n ? ", " : "", s->models.v[i]);
	return buf;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Kind named by word ("visible" or one of s's models), 0 if none. */
static uint32_t kind_by_name(const struct scenario *s, const char *word)
{
	if (!strcmp(word, "visible"))
		return SCN_KIND_VISIBLE;
	for (size_t i = 0; i < s->models.len; i++)
		if (!strcmp(word, s->models.v[i]))
			return SCN_KIND_MODEL(i);
	return 0;
}

/* Copy the next word of *p (letters, digits, '-', '_') into w. */
static bool next_word(const char **p, char *w, size_t len)
{
	size_t n = 0;

	while (isspace((unsigned char)**p) || **p == ',')
		(*p)++;
	while (isalnum((unsigned char)**p) || **p == '-' || **p == '_') {
		if (n + 1 < len)
			w[n++] = **p;
		(*p)++;
	}
	w[n] = '\0';
	return n > 0;
}

int scenario_parse_expect(struct scenario *s, const char *text, char *err,
			  size_t errlen)
{
	uint32_t all = scenario_kinds(s), got[SCN_NCHECKS] = {0};
	const char *p = text;
	char w[64];

	while (isspace((unsigned char)*p))
		p++;
	if (!strcmp(p, "pass")) {
		memset(s->expect_fail, 0, sizeof(s->expect_fail));
		s->has_expect = true;
		return 0;
	}
	if (strncmp(p, "fail", 4))
		return fail(err, errlen,
			    "expect must be 'pass' or "
			    "'fail: CHECK[(KINDS)]...', not '%s'",
			    text);
	p += 4;
	while (isspace((unsigned char)*p))
		p++;
	if (*p++ != ':')
		return fail(err, errlen, "expect: missing ':' after 'fail'");
	while (next_word(&p, w, sizeof(w))) {
		int c;
		uint32_t kinds = 0;

		for (c = 0; c < SCN_NCHECKS; c++)
			if (!strcmp(w, check_names[c]))
				break;
		if (c == SCN_NCHECKS)
			return fail(err, errlen,
				    "expect: unknown check '%s' "
				    "(atomic, durable or check)",
				    w);
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '(') {
			got[c] |= all;
			continue;
		}
		p++;
		while (next_word(&p, w, sizeof(w))) {
			uint32_t k = kind_by_name(s, w);

			if (!k)
				return fail(err, errlen,
					    "expect: '%s' is "
					    "neither 'visible' nor one of the "
					    "scenario's models",
					    w);
			if (!(k & all))
				return fail(err, errlen,
					    "expect: '%s' states "
					    "are not checked (see 'states')",
					    w);
			kinds |= k;
			while (isspace((unsigned char)*p))
				p++;
			if (*p == ')')
				break;
		}
		if (*p != ')' || !kinds)
			return fail(err, errlen,
				    "expect: malformed list after "
				    "'%s'",
				    check_names[c]);
		p++;
		got[c] |= kinds;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p)
		return fail(err, errlen, "expect: unexpected '%s'", p);
	if (!got[0] && !got[1] && !got[2])
		return fail(err, errlen, "expect: 'fail:' names no check");
	memcpy(s->expect_fail, got, sizeof(got));
	s->has_expect = true;
	return 0;
}

/* ---- the parser -------------------------------------------------------- */

/* Which keys were set in the current section (for repeats). */
enum key {
	K_DESCRIPTION,
	K_SETUP,
	K_FROM,
	K_RUN,
	K_CHECK,
	K_CHECK_SERVER,
	K_ATOMIC,
	K_DURABLE,
	K_MODELS,
	K_STATES,
	K_TIMEOUT,
	K_CHECK_TIMEOUT,
	K_MAX_STATES,
	K_SEED,
	K_EXPECT,
	K_REQUIRES,
	K_NKEYS
};

static const char *const key_names[K_NKEYS] = {
    "description", "setup",   "from",	"run",	    "check",   "check-server",
    "atomic",	   "durable", "models", "states",   "timeout", "check-timeout",
    "max-states",  "seed",    "expect", "requires",
};

struct parse {
	FILE *f;		   /* the file being read */
	const char *path;	   /* its name, for messages */
	unsigned line;		   /* line last handed to inih */
	bool cont;		   /* that line was a continuation */
	bool too_long;		   /* a line longer than LINE_MAX_LEN was met */
	size_t bytes;		   /* bytes read so far */
	int read_err;		   /* errno of a failed read, 0 if none */
	unsigned section_line;	   /* line of the last [section] */
	char section[128];	   /* current section name ("" before any) */
	struct scenario *defaults; /* keys before the first section */
	struct scenario *cur;	   /* scenario being filled */
	unsigned set[K_NKEYS];	   /* line each key was set on in cur */
	enum key last_key;	   /* key of the last line, for continuations */
	char *expect;		   /* expect text of cur, parsed at the end */
	unsigned expect_line;	   /* its line */
	bool models_set;	   /* cur has its own models line */
	struct scenario_list got;  /* finished scenarios */
	unsigned err_line;	   /* line of the first error, 0 if none */
	char *err;		   /* message buffer */
	size_t errlen;
};

/* inih line reader: fgets with line counting and length checks. */
static char *reader(char *str, int num, void *stream)
{
	struct parse *ps = stream;
	size_t n;
	int c;

	if (ps->err_line || ps->read_err) /* stop at the first error */
		return NULL;
	errno = 0;
	if (!fgets(str, num, ps->f)) {
		if (ferror(ps->f))
			ps->read_err = errno ? errno : EIO;
		return NULL;
	}
	ps->line++;
	n = strlen(str);
	ps->bytes += n;
	if (ps->bytes > SCN_FILE_MAX) {
		ps->read_err = EFBIG;
		return NULL;
	}
	if (n && str[n - 1] != '\n' && !feof(ps->f)) {
		/* too long: swallow the rest so inih sees one line */
		if (!ps->err_line) {
			ps->err_line = ps->line;
			snprintf(ps->err, ps->errlen,
				 "line longer than %d "
				 "characters (split it with continuation "
				 "lines)",
				 LINE_MAX_LEN);
		}
		while ((c = fgetc(ps->f)) != EOF && c != '\n')
			if (++ps->bytes > SCN_FILE_MAX)
				break;
		ps->too_long = true;
	}
	ps->cont = (str[0] == ' ' || str[0] == '\t') &&
		   str[strspn(str, " \t\r\n")] != '\0';
	if (str[0] == '[')
		ps->section_line = ps->line;
	return str;
}

static int perr(struct parse *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Record the first error; returns 0 for inih. */
static int perr(struct parse *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->err_line)
		return 0;
	ps->err_line = ps->line;
	va_start(ap, fmt);
	vsnprintf(ps->err, ps->errlen, fmt, ap);
	va_end(ap);
	return 0;
}

static int oom(struct parse *ps)
{
	return perr(ps, "out of memory");
}

static int dup_into(char **dst, const char *src)
{
	char *d = strdup(src);

	if (!d)
		return -ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

static int copy_strv(struct strv *dst, const struct strv *src)
{
	strv_release(dst);
	for (size_t i = 0; i < src->len; i++)
		if (strv_push(dst, src->v[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* A new scenario inheriting the defaults. */
static struct scenario *inherit(const struct scenario *d)
{
	struct scenario *s = scenario_new();

	if (!s)
		return NULL;
	if ((d->description && dup_into(&s->description, d->description)) ||
	    (d->setup && dup_into(&s->setup, d->setup)) ||
	    (d->from && dup_into(&s->from, d->from)) ||
	    (d->run && dup_into(&s->run, d->run)) ||
	    (d->check && dup_into(&s->check, d->check)) ||
	    copy_strv(&s->atomic, &d->atomic) ||
	    copy_strv(&s->durable, &d->durable) ||
	    copy_strv(&s->models, &d->models) ||
	    copy_strv(&s->requires, &d->requires)) {
		scenario_free(&s);
		return NULL;
	}
	s->check_server = d->check_server;
	s->states = d->states;
	s->timeout = d->timeout;
	s->check_timeout = d->check_timeout;
	s->max_states = d->max_states;
	s->seed = d->seed;
	s->has_seed = d->has_seed;
	return s;
}

/* Append the words of value to v. */
static int push_words(struct parse *ps, struct strv *v, const char *value,
		      bool is_path)
{
	char buf[256];
	const char *p = value;

	while (*p) {
		size_t n;

		p += strspn(p, " \t\r\n");
		n = strcspn(p, " \t\r\n");
		if (!n)
			break;
		if (n >= sizeof(buf))
			return perr(ps, "'%.*s' is too long", (int)n, p);
		memcpy(buf, p, n);
		buf[n] = '\0';
		p += n;
		if (is_path && !scenario_path_ok(buf))
			return perr(ps,
				    "path '%s' is outside the state "
				    "(relative paths without '..' only)",
				    buf);
		if (strv_push(v, buf) < 0)
			return perr(ps, "out of memory");
	}
	return 1;
}

/* Append the requirements in value (harness/requires.h) to v. */
static int push_requires(struct parse *ps, struct strv *v, const char *value)
{
	size_t from = v->len;

	if (!push_words(ps, v, value, false))
		return 0;
	for (size_t i = from; i < v->len; i++)
		if (!requires_word_ok(v->v[i]))
			return perr(ps,
				    "bad requirement '%s' (PROGRAM, /PATH or "
				    "PYTHON:MODULE)",
				    v->v[i]);
	return 1;
}

static int parse_uint(struct parse *ps, const char *key, const char *value,
		      uint64_t max, uint64_t *out)
{
	if (util_parse_u64(value, 0, max, out) < 0)
		return perr(ps,
			    "%s must be a whole number up to %llu, not "
			    "'%s'",
			    key, (unsigned long long)max, value);
	return 1;
}

static int set_key(struct parse *ps, struct scenario *s, enum key k,
		   const char *value)
{
	uint64_t n;

	switch (k) {
	case K_DESCRIPTION:
		return dup_into(&s->description, value) ? oom(ps) : 1;
	case K_SETUP: return dup_into(&s->setup, value) ? oom(ps) : 1;
	case K_FROM: return dup_into(&s->from, value) ? oom(ps) : 1;
	case K_RUN: return dup_into(&s->run, value) ? oom(ps) : 1;
	case K_CHECK:
	case K_CHECK_SERVER:
		/* one external checker: the later key of a section wins
		 * over the defaults' */
		s->check_server = k == K_CHECK_SERVER;
		return dup_into(&s->check, value) ? oom(ps) : 1;
	case K_ATOMIC: return push_words(ps, &s->atomic, value, true);
	case K_DURABLE: return push_words(ps, &s->durable, value, true);
	case K_MODELS:
		if (!ps->models_set)
			strv_release(&s->models);
		ps->models_set = true;
		if (!push_words(ps, &s->models, value, false))
			return 0;
		if (s->models.len > SCN_MAX_MODELS)
			return perr(ps, "more than %d models", SCN_MAX_MODELS);
		return 1;
	case K_STATES:
		if (!strcmp(value, "all"))
			s->states = SCN_STATES_ALL;
		else if (!strcmp(value, "visible"))
			s->states = SCN_STATES_VISIBLE;
		else if (!strcmp(value, "crash"))
			s->states = SCN_STATES_CRASH;
		else
			return perr(ps,
				    "states must be visible, crash or "
				    "all, not '%s'",
				    value);
		return 1;
	case K_TIMEOUT:
		if (!parse_uint(ps, "timeout", value, 86400, &n))
			return 0;
		s->timeout = n;
		return 1;
	case K_CHECK_TIMEOUT:
		if (!parse_uint(ps, "check-timeout", value, 86400, &n))
			return 0;
		s->check_timeout = n;
		return 1;
	case K_MAX_STATES:
		if (!parse_uint(ps, "max-states", value, UINT32_MAX,
				&s->max_states))
			return 0;
		return 1;
	case K_SEED:
		if (!parse_uint(ps, "seed", value, UINT64_MAX, &s->seed))
			return 0;
		s->has_seed = true;
		return 1;
	case K_EXPECT:
		if (dup_into(&ps->expect, value))
			return perr(ps, "out of memory");
		ps->expect_line = ps->line;
		return 1;
	case K_REQUIRES: return push_requires(ps, &s->requires, value);
	case K_NKEYS: break;
	}
	return 0;
}

/* Keys whose continuation lines extend the value. */
static bool multiline(enum key k)
{
	return k == K_DESCRIPTION || k == K_SETUP || k == K_RUN ||
	       k == K_CHECK || k == K_CHECK_SERVER || k == K_ATOMIC ||
	       k == K_DURABLE || k == K_MODELS || k == K_EXPECT ||
	       k == K_REQUIRES;
}

static int append_line(struct parse *ps, char **dst, const char *value,
		       const char *sep)
{
	size_t a = strlen(*dst), b = strlen(value);
	char *d = realloc(*dst, a + strlen(sep) + b + 1);

	if (!d)
		return perr(ps, "out of memory");
	sprintf(d + a, "%s%s", sep, value);
	*dst = d;
	return 1;
}

static int continuation(struct parse *ps, struct scenario *s, enum key k,
			const char *value)
{
	switch (k) {
	case K_DESCRIPTION: return append_line(ps, &s->description, value, " ");
	case K_SETUP: return append_line(ps, &s->setup, value, "\n");
	case K_RUN: return append_line(ps, &s->run, value, "\n");
	case K_CHECK:
	case K_CHECK_SERVER: return append_line(ps, &s->check, value, "\n");
	case K_EXPECT: return append_line(ps, &ps->expect, value, " ");
	default: return set_key(ps, s, k, value);
	}
}

static int finish(struct parse *ps);

static int start_section(struct parse *ps, const char *section)
{
	if (ps->expect && (!ps->cur || ps->cur == ps->defaults)) {
		ps->line = ps->expect_line;
		return perr(ps, "expect belongs in a scenario's section, not "
				"in the defaults");
	}
	if (ps->cur && ps->cur != ps->defaults && !finish(ps))
		return 0;
	/* The name shows in every report: no control characters. */
	if (!util_name_ok(section) || strlen(section) >= sizeof(ps->section) ||
	    util_has_control(section))
		return perr(ps, "bad section name '%s'", section);
	for (size_t i = 0; i < ps->got.len; i++)
		if (!strcmp(ps->got.items[i]->name, section))
			return perr(ps, "scenario '%s' defined twice", section);
	ps->cur = inherit(ps->defaults);
	if (!ps->cur || dup_into(&ps->cur->name, section))
		return perr(ps, "out of memory");
	ps->cur->line = ps->section_line;
	snprintf(ps->section, sizeof(ps->section), "%s", section);
	memset(ps->set, 0, sizeof(ps->set));
	ps->models_set = false;
	return 1;
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct parse *ps = user;
	int k;

	if (ps->err_line)
		return 0;
	if (strcmp(section, ps->section) || (!ps->cur && *section)) {
		if (!start_section(ps, section))
			return 0;
	}
	if (!ps->cur)
		ps->cur = ps->defaults;
	if (ps->cont) {
		if (!multiline(ps->last_key))
			return perr(ps,
				    "continuation line after '%s', which "
				    "takes one value",
				    key_names[ps->last_key]);
		return continuation(ps, ps->cur, ps->last_key, value);
	}
	for (k = 0; k < K_NKEYS; k++)
		if (!strcmp(name, key_names[k]))
			break;
	if (k == K_NKEYS)
		return perr(ps, "unknown key '%s'", name);
	if (ps->set[k] && k != K_ATOMIC && k != K_DURABLE && k != K_MODELS &&
	    k != K_REQUIRES)
		return perr(ps, "'%s' given twice (first on line %u)", name,
			    ps->set[k]);
	if ((k == K_CHECK && ps->set[K_CHECK_SERVER]) ||
	    (k == K_CHECK_SERVER && ps->set[K_CHECK]))
		return perr(ps,
			    "'check' and 'check-server' both given (first "
			    "on line %u): one external checker per scenario",
			    ps->set[k == K_CHECK ? K_CHECK_SERVER : K_CHECK]);
	if (!*value && k != K_CHECK && k != K_SETUP)
		return perr(ps, "'%s' needs a value", name);
	ps->set[k] = ps->line;
	ps->last_key = k;
	return set_key(ps, ps->cur, k, value);
}

/* Validate cur and move it to the finished list. */
static int finish(struct parse *ps)
{
	struct scenario *s = ps->cur;
	char msg[256];
	struct scenario **items;

	ps->cur = NULL;
	if (!s->run || !*s->run) {
		ps->line = s->line ? s->line : 1;
		perr(ps, "scenario '%s' has no 'run' command", s->name);
		goto out_free;
	}
	if (!s->models.len) {
		perr(ps, "scenario '%s' has no models", s->name);
		goto out_free;
	}
	if (!s->atomic.len && !s->durable.len && !s->check) {
		ps->line = s->line ? s->line : 1;
		perr(ps,
		     "scenario '%s' checks nothing (give atomic, durable "
		     "or check)",
		     s->name);
		goto out_free;
	}
	if (ps->expect) {
		if (scenario_parse_expect(s, ps->expect, msg, sizeof(msg))) {
			ps->line = ps->expect_line;
			perr(ps, "%s", msg);
			goto out_free;
		}
		free(ps->expect);
		ps->expect = NULL;
	}
	items = realloc(ps->got.items, (ps->got.len + 1) * sizeof(*items));
	if (!items) {
		perr(ps, "out of memory");
		goto out_free;
	}
	ps->got.items = items;
	items[ps->got.len++] = s;
	return 1;
out_free:
	scenario_free(&s);
	return 0;
}

bool scenario_path_ok(const char *path)
{
	const char *p = path;

	if (!*path || *path == '/')
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");

		if ((n == 2 && !strncmp(p, "..", 2)))
			return false;
		p += n;
		p += strspn(p, "/");
	}
	return true;
}

/* Name of a section-less scenario: the file name without .ini. */
static char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	char *name = strdup(b ? b + 1 : path);
	size_t n = name ? strlen(name) : 0;

	if (n > 4 && !strcmp(name + n - 4, ".ini"))
		name[n - 4] = '\0';
	return name;
}

static char *abs_dir(const char *path)
{
	char *copy = strdup(path), *slash, *dir;

	if (!copy)
		return NULL;
	slash = strrchr(copy, '/');
	if (slash == copy)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	dir = realpath(slash ? copy : ".", NULL);
	free(copy);
	return dir;
}

/*
 * Open a scenario file: a regular file, or a pipe (`crashfs check
 * <(make-scenario)`), read up to SCN_FILE_MAX bytes.  Anything else (a
 * directory, a device such as /dev/urandom) is refused before it is
 * opened, since opening some devices does something.  Opening a fifo
 * waits for its writer; a signal ends the wait (no SA_RESTART).
 */
static int open_scenario(const char *path, FILE **f, char *err, size_t errlen)
{
	struct stat st;
	int fd, e;

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISFIFO(st.st_mode)) {
		snprintf(err, errlen,
			 "scenario '%s' is not a regular file or a pipe", path);
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot open scenario '%s': %s", path,
			 strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		close(fd);
		snprintf(err, errlen,
			 "scenario '%s' is not a regular file or a pipe", path);
		return -EINVAL;
	}
	*f = fdopen(fd, "r");
	if (!*f) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "cannot open scenario '%s': %s", path,
			 strerror(e));
		return -e;
	}
	return 0;
}

int scenario_load(const char *path, struct scenario_list *out, char *err,
		  size_t errlen)
{
	struct parse ps = {.path = path, .err = err, .errlen = errlen};
	struct scenario **items;
	char *dir = NULL;
	int rc, ret = -EINVAL;

	err[0] = '\0';
	ret = open_scenario(path, &ps.f, err, errlen);
	if (ret < 0)
		return ret;
	ret = -EINVAL;
	ps.defaults = scenario_new();
	dir = abs_dir(path);
	if (!ps.defaults || !dir) {
		ret = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out_close;
	}
	rc = ini_parse_stream(reader, &ps, handler, &ps);
	if (ps.read_err) {
		ret = -ps.read_err;
		if (ps.read_err == EFBIG)
			snprintf(err, errlen,
				 "scenario '%s' is longer than %d bytes (a "
				 "scenario file is a few lines: is it the "
				 "right file?)",
				 path, SCN_FILE_MAX);
		else
			snprintf(err, errlen, "cannot read scenario '%s': %s",
				 path, strerror(ps.read_err));
		goto out_close;
	}
	if (!ps.err_line && rc > 0) {
		ps.err_line = rc;
		snprintf(err, errlen,
			 "syntax error (expected 'key = value', "
			 "'[section]' or a comment)");
	}
	if (!ps.err_line && rc < 0) {
		ps.err_line = 1;
		snprintf(err, errlen, "out of memory");
	}
	if (!ps.err_line) {
		if (ps.cur && ps.cur != ps.defaults)
			finish(&ps);
		else if (!ps.got.len) {
			ps.cur = ps.defaults;
			ps.defaults = NULL;
			ps.cur->name = base_name(path);
			finish(&ps);
		}
	}
	if (ps.err_line || !ps.got.len) {
		if (!ps.err_line) {
			ps.err_line = 1;
			snprintf(err, errlen, "no scenario in the file");
		}
		char msg[512];

		snprintf(msg, sizeof(msg), "%s:%u: %s", path, ps.err_line, err);
		snprintf(err, errlen, "%s", msg);
		goto out_close;
	}
	for (size_t i = 0; i < ps.got.len; i++) {
		struct scenario *s = ps.got.items[i];

		if (dup_into(&s->file, path) || dup_into(&s->dir, dir)) {
			ret = -ENOMEM;
			snprintf(err, errlen, "%s: out of memory", path);
			goto out_close;
		}
	}
	items = realloc(out->items, (out->len + ps.got.len) * sizeof(*items));
	if (!items) {
		ret = -ENOMEM;
		goto out_close;
	}
	out->items = items;
	memcpy(items + out->len, ps.got.items, ps.got.len * sizeof(*items));
	out->len += ps.got.len;
	free(ps.got.items);
	ps.got.items = NULL;
	ps.got.len = 0;
	ret = 0;
out_close:
	scenario_list_release(&ps.got);
	if (ps.cur != ps.defaults)
		scenario_free(&ps.cur);
	scenario_free(&ps.defaults);
	free(ps.expect);
	free(dir);
	fclose(ps.f);
	return ret;
}
