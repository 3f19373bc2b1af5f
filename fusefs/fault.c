/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Fault rules: parsing (a rule line, or a plan file through inih),
 * matching against the daemon's operations, listing.  See fault.h.
 */
#include "fusefs/fault.h"
#include "core/cutplan.h"
#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <ini.h>
#include <libgen.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fault_rule {
	struct fault_rule *next;
	unsigned num; /* its number, from 1 */
	uint32_t ops; /* 1 << enum fault_op */
	enum fault_when when;
	char *glob;	      /* path glob, NULL for any */
	size_t lit;	      /* its literal head: bytes before a wildcard */
	regex_t re;	      /* regex=, searched in "/" + path */
	bool has_re;	      /* re is compiled */
	uint64_t nth;	      /* fire on this occurrence only, 0: all */
	uint64_t run;	      /* run=K: fire at the Kth write of a run, 0 */
	uint64_t run_len;     /* writes in the current run (run=) */
	uint64_t size;	      /* size=N: fire only on a write of N bytes */
	bool has_size;	      /* size= given */
	uint64_t after_bytes; /* fire once bytes seen pass it, 0: off */
	bool has_after_bytes; /* after-bytes= given */
	double prob;	      /* fire with this probability (1) */
	uint64_t rng;	      /* xorshift64 state, from seed= */
	enum fault_action action;
	int err;	   /* FA_ERRNO */
	unsigned delay_ms; /* FA_DELAY */
	uint64_t seen;	   /* matching occurrences */
	uint64_t bytes;	   /* bytes of matching occurrences */
	uint64_t fired;	   /* times it fired */
	uint32_t given;	   /* 1 << enum field of each field given */
	char text[200];	   /* as given (escaped), for list and the trace */
	char cut[160];	   /* FA_POWERCUT, FA_CRASH: the cut's words
			      (cut-KEY=V fields as KEY=V: pc_how_parse()),
			      "" */
};

/* The fields of a rule, in the order of their names. */
enum field {
	F_WHEN,
	F_OP,
	F_PATH,
	F_REGEX,
	F_NTH,
	F_BYTES,
	F_PROB,
	F_SEED,
	F_ACTION,
	F_RUN,
	F_SIZE
};

static const char *const field_names[] = {
    "when", "op",   "path",   "regex", "nth",  "after-bytes",
    "prob", "seed", "action", "run",   "size",
};

static const char *const op_names[FOP_MAX] = {
    [FOP_WRITE] = "write",	   [FOP_FSYNC] = "fsync",
    [FOP_FDATASYNC] = "fdatasync", [FOP_FSYNCDIR] = "fsyncdir",
    [FOP_RENAME] = "rename",	   [FOP_CREATE] = "create",
    [FOP_UNLINK] = "unlink",	   [FOP_RMDIR] = "rmdir",
    [FOP_TRUNCATE] = "truncate",   [FOP_OPEN] = "open",
    [FOP_MKDIR] = "mkdir",	   [FOP_LINK] = "link",
    [FOP_SYMLINK] = "symlink",	   [FOP_MKNOD] = "mknod",
};

#define E(x)                                                                   \
	{                                                                      \
#x, x                                                          \
	}
static const struct {
	const char *name;
	int num;
} errnos[] = {
    E(EIO),	     E(ENOSPC),	   E(EDQUOT), E(EROFS),	 E(EACCES),
    E(EPERM),	     E(ENOENT),	   E(EEXIST), E(EINTR),	 E(EAGAIN),
    E(EBUSY),	     E(EFBIG),	   E(ENOMEM), E(EMFILE), E(ENFILE),
    E(ENAMETOOLONG), E(ETIMEDOUT), E(EBADF),  E(EINVAL), E(ENOTEMPTY),
    E(EXDEV),	     E(ENOTDIR),   E(EISDIR), E(ESTALE), E(ENOTCONN),
};
#undef E

static void rule_free(struct fault_rule *r)
{
	if (!r)
		return;
	if (r->has_re)
		regfree(&r->re);
	free(r->glob);
	free(r);
}

void fault_set_release(struct fault_set *s)
{
	while (s->rules) {
		struct fault_rule *r = s->rules;

		s->rules = r->next;
		rule_free(r);
	}
	s->mask = 0;
}

static int parse_ops(struct fault_rule *r, const char *v, char *err,
		     size_t errlen)
{
	char buf[128], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		int i;

		for (i = 0; i < FOP_MAX; i++)
			if (!strcmp(tok, op_names[i]))
				break;
		if (i == FOP_MAX) {
			snprintf(err, errlen,
				 "op: unknown operation '%s' (write, fsync, "
				 "fdatasync, fsyncdir, rename, create, unlink, "
				 "rmdir, truncate, open, mkdir, link, symlink, "
				 "mknod)",
				 tok);
			return -EINVAL;
		}
		r->ops |= 1u << i;
	}
	if (!r->ops) {
		snprintf(err, errlen, "op: no operation named");
		return -EINVAL;
	}
	return 0;
}

static int parse_action(struct fault_rule *r, const char *v, char *err,
			size_t errlen)
{
	char *end;

	if (!strcmp(v, "powercut")) {
		r->action = FA_POWERCUT;
	} else if (!strcmp(v, "kill")) {
		r->action = FA_KILL;
	} else if (!strcmp(v, "crash")) {
		r->action = FA_CRASH;
	} else if (!strcmp(v, "short")) {
		r->action = FA_SHORT;
	} else if (!strcmp(v, "torn")) {
		r->action = FA_TORN;
	} else if (!strncmp(v, "errno:", 6)) {
		r->action = FA_ERRNO;
		for (size_t i = 0; i < sizeof(errnos) / sizeof(*errnos); i++)
			if (!strcmp(v + 6, errnos[i].name))
				r->err = errnos[i].num;
		if (!r->err) {
			snprintf(err, errlen,
				 "action: unknown errno '%s' (EIO, ENOSPC, "
				 "EDQUOT, EROFS, ...)",
				 v + 6);
			return -EINVAL;
		}
	} else if (!strncmp(v, "delay:", 6)) {
		unsigned long ms;

		errno = 0;
		ms = strtoul(v + 6, &end, 10);
		if (errno || end == v + 6 || *end || ms > 600000) {
			snprintf(err, errlen,
				 "action: delay needs milliseconds (0 to "
				 "600000), got '%s'",
				 v + 6);
			return -EINVAL;
		}
		r->action = FA_DELAY;
		r->delay_ms = (unsigned)ms;
	} else {
		snprintf(err, errlen,
			 "action: unknown action '%s' (powercut, crash, "
			 "kill, errno:NAME, short, torn, delay:MS)",
			 v);
		return -EINVAL;
	}
	return 0;
}

/* An unsigned integer in C syntax (decimal, 0x hex, 0 octal), no sign. */
static bool parse_uint(const char *v, uint64_t *out)
{
	char *end;

	if (!isdigit((unsigned char)*v))
		return false;
	errno = 0;
	*out = strtoull(v, &end, 0);
	return !errno && !*end;
}

/* One field=value of a rule. */
static int parse_field(struct fault_rule *r, const char *key, const char *v,
		       char *err, size_t errlen)
{
	char *end;
	int f;

	for (f = 0; f < (int)(sizeof(field_names) / sizeof(*field_names)); f++)
		if (!strcmp(key, field_names[f]))
			break;
	if (f < (int)(sizeof(field_names) / sizeof(*field_names))) {
		/* A second value would silently win or merge: refused. */
		if (r->given & (1u << f)) {
			snprintf(err, errlen, "%s: given twice", key);
			return -EINVAL;
		}
		r->given |= 1u << f;
	}
	if (!strcmp(key, "when")) {
		if (!strcmp(v, "before") || !strcmp(v, "on"))
			r->when = FW_BEFORE;
		else if (!strcmp(v, "after"))
			r->when = FW_AFTER;
		else
			goto bad;
	} else if (!strcmp(key, "op")) {
		return parse_ops(r, v, err, errlen);
	} else if (!strcmp(key, "path")) {
		free(r->glob);
		r->glob = strdup(v[0] == '/' ? v + 1 : v);
		r->lit = r->glob ? strcspn(r->glob, "*?[\\") : 0;
		if (!r->glob)
			return -ENOMEM;
	} else if (!strcmp(key, "regex")) {
		int e = regcomp(&r->re, v, REG_EXTENDED | REG_NOSUB);

		if (e) {
			char msg[128];

			regerror(e, &r->re, msg, sizeof(msg));
			snprintf(err, errlen, "regex: bad expression '%s': %s",
				 v, msg);
			return -EINVAL;
		}
		r->has_re = true;
	} else if (!strcmp(key, "nth")) {
		if (util_parse_u64(v, 1, UINT64_MAX, &r->nth))
			goto bad;
	} else if (!strcmp(key, "run")) {
		/* a run counts from its second write: K >= 2 */
		if (util_parse_u64(v, 2, UINT64_MAX, &r->run))
			goto bad;
	} else if (!strcmp(key, "size")) {
		if (util_parse_size(v, &r->size))
			goto bad;
		r->has_size = true;
	} else if (!strcmp(key, "after-bytes")) {
		/* Refuses what does not fit in 64 bits (no wrap to 0). */
		if (util_parse_size(v, &r->after_bytes))
			goto bad;
		r->has_after_bytes = true;
	} else if (!strcmp(key, "prob")) {
		errno = 0;
		r->prob = strtod(v, &end);
		/* NaN compares false both ways: it must fail this test. */
		if (errno || end == v || *end ||
		    !(r->prob >= 0 && r->prob <= 1))
			goto bad;
	} else if (!strcmp(key, "seed")) {
		if (!parse_uint(v, &r->rng))
			goto bad;
		r->rng = r->rng * 0x9e3779b97f4a7c15ull + 1;
	} else if (!strcmp(key, "action")) {
		return parse_action(r, v, err, errlen);
	} else if (!strncmp(key, "cut-", 4) && key[4]) {
		/* the power cut's options, checked whole by rule_add() */
		size_t n = strlen(r->cut);
		char word[64];

		snprintf(word, sizeof(word), "%s%s",
			 strcmp(key, "cut-keep") ? key + 4 : "keep",
			 strcmp(key, "cut-keep") ? "=" : "");
		for (const char *p = r->cut; (p = strstr(p, word)); p++)
			if (p == r->cut || p[-1] == ' ') {
				snprintf(err, errlen, "%s: given twice", key);
				return -EINVAL;
			}

		if (!strcmp(key, "cut-keep") && !strcmp(v, "metadata"))
			snprintf(r->cut + n, sizeof(r->cut) - n,
				 "%skeep-metadata", n ? " " : "");
		else
			snprintf(r->cut + n, sizeof(r->cut) - n, "%s%s=%s",
				 n ? " " : "", key + 4, v);
	} else {
		snprintf(err, errlen,
			 "unknown field '%s' (when, op, path, regex, nth, "
			 "run, size, after-bytes, prob, seed, action, cut-*)",
			 key);
		return -EINVAL;
	}
	return 0;
bad:
	snprintf(err, errlen, "%s: bad value '%s'", key, v);
	return -EINVAL;
}

static struct fault_rule *rule_new(void)
{
	struct fault_rule *r = calloc(1, sizeof(*r));

	if (r) {
		r->prob = 1;
		r->rng = 0x9e3779b97f4a7c15ull;
		r->when = FW_BEFORE;
	}
	return r;
}

/* Check a complete rule and add it to s (which takes it). */
static int rule_add(struct fault_set *s, struct fault_rule *r, char *err,
		    size_t errlen)
{
	if (!r->ops) {
		snprintf(err, errlen, "op: missing (which operation?)");
		goto out_free;
	}
	if (r->action == FA_NONE) {
		snprintf(err, errlen, "action: missing (what should happen?)");
		goto out_free;
	}
	if (*r->cut) {
		struct cutplan_spec spec = {0};
		bool keep_meta = false;
		char msg[200];

		if (r->action != FA_POWERCUT && r->action != FA_CRASH) {
			snprintf(err, errlen,
				 "cut-*: options of "
				 "action=powercut or action=crash");
			goto out_free;
		}
		if (cutplan_words(r->cut, &spec, &keep_meta, msg,
				  sizeof(msg))) {
			snprintf(err, errlen, "cut-*: %s", msg);
			goto out_free;
		}
	}
	if ((r->action == FA_POWERCUT || r->action == FA_CRASH) &&
	    s->no_powercut) {
		snprintf(err, errlen,
			 "action: %s needs a mount made with --powercut",
			 r->action == FA_CRASH ? "crash" : "powercut");
		goto out_free;
	}
	if ((r->action == FA_SHORT || r->action == FA_TORN) &&
	    r->ops != 1u << FOP_WRITE) {
		snprintf(err, errlen, "action: %s applies to write only",
			 r->action == FA_SHORT ? "short" : "torn");
		goto out_free;
	}
	if ((r->action == FA_SHORT || r->action == FA_TORN) &&
	    r->when == FW_AFTER) {
		snprintf(err, errlen,
			 "when: a %s write happens on the write, "
			 "not after it",
			 r->action == FA_SHORT ? "short" : "torn");
		goto out_free;
	}
	if ((r->run || r->has_size) && r->ops != 1u << FOP_WRITE) {
		snprintf(err, errlen, "%s: counts writes: op must be write",
			 r->run ? "run" : "size");
		goto out_free;
	}
	r->num = s->next++;
	s->mask |= r->ops;
	/* a run ends at an fsync or fdatasync of the file */
	if (r->run)
		s->mask |= 1u << FOP_FSYNC | 1u << FOP_FDATASYNC;
	/* Keep the order they were given in. */
	{
		struct fault_rule **p = &s->rules;

		while (*p)
			p = &(*p)->next;
		*p = r;
	}
	return (int)r->num;

out_free:
	rule_free(r);
	return -EINVAL;
}

int fault_parse(struct fault_set *s, const char *text, char *err, size_t errlen)
{
	struct fault_rule *r = rule_new();
	char buf[512], *save = NULL, *tok;
	int n = 0, res;

	if (!r)
		return -ENOMEM;
	if (strlen(text) >= sizeof(buf) || strlen(text) >= sizeof(r->text)) {
		snprintf(err, errlen, "rule is too long");
		free(r);
		return -EINVAL;
	}
	util_escape(r->text, sizeof(r->text), text);
	snprintf(buf, sizeof(buf), "%s", text);
	for (tok = strtok_r(buf, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save), n++) {
		char *eq = strchr(tok, '=');

		if (eq) {
			*eq = '\0';
			res = parse_field(r, tok, eq + 1, err, errlen);
		} else if (n == 0) {
			res = parse_field(r, "when", tok, err, errlen);
		} else if (n == 1) {
			res = parse_field(r, "op", tok, err, errlen);
		} else {
			snprintf(err, errlen, "'%s': expected field=value",
				 tok);
			res = -EINVAL;
		}
		if (res) {
			rule_free(r);
			return res;
		}
	}
	return rule_add(s, r, err, errlen);
}

/* ---- plan files --------------------------------------------------------- */

#define PLAN_MAX (1u << 20) /* bytes in a plan file */
#define PLAN_LINE 199	    /* inih's INI_MAX_LINE minus the NUL */

struct plan {
	struct fault_set *s;
	struct fault_plan *opts; /* the keys before the first section */
	const char *dir;	 /* the plan's directory, for relative paths */
	const char *text;	 /* the file, read whole */
	const char *pos;	 /* the next line in text */
	unsigned line;		 /* the line inih has now */
	unsigned headers;	 /* [section] lines read so far */
	bool cont;		 /* the line is indented: a continuation */
	bool too_long;		 /* the line is longer than PLAN_LINE */
	struct fault_rule *cur;	 /* the section's rule */
	unsigned cur_header;	 /* its [section] line's number in headers */
	unsigned cur_line;	 /* its first line */
	char section[64];	 /* its name */
	char **seen;		 /* names of the sections finished */
	size_t nseen;
	char *err;
	size_t errlen;
	int added;
	int failed; /* -errno once something failed */
};

/* inih's reader: one line of p->text, with what inih cannot tell us. */
static char *plan_reader(char *str, int num, void *stream)
{
	struct plan *p = stream;
	size_t n, k;
	const char *s;

	if (!*p->pos)
		return NULL;
	n = strcspn(p->pos, "\n");
	k = n < (size_t)num - 1 ? n : (size_t)num - 1;
	memcpy(str, p->pos, k);
	str[k] = '\0';
	p->too_long = n > PLAN_LINE;
	p->pos += n + (p->pos[n] == '\n');
	p->line++;
	s = str + strspn(str, " \t");
	p->cont = s != str && *s && *s != '\r' && !strchr(";#", *s);
	if (*s == '[')
		p->headers++;
	return str;
}

static int plan_fail(struct plan *p, int res, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the first error: "line N: ...". */
static int plan_fail(struct plan *p, int res, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (p->failed)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "line %u: %s", p->line, msg);
	p->failed = res;
	return 0;
}

static int plan_finish(struct plan *p)
{
	char msg[256], **seen;
	unsigned line = p->line;
	int res;

	if (!p->cur)
		return 0;
	seen = realloc(p->seen, (p->nseen + 1) * sizeof(*seen));
	if (!seen || !(seen[p->nseen] = strdup(p->section))) {
		p->seen = seen ? seen : p->seen;
		return plan_fail(p, -ENOMEM, "out of memory"), -ENOMEM;
	}
	p->seen = seen;
	p->nseen++;
	res = rule_add(p->s, p->cur, msg, sizeof(msg));
	p->cur = NULL;
	if (res < 0) {
		p->line = p->cur_line;
		plan_fail(p, res, "section [%s]: %s", p->section, msg);
		p->line = line;
		return res;
	}
	p->added++;
	return 0;
}

/* A path in the plan: relative to the plan's directory.  Malloc'd. */
static char *plan_path(const struct plan *p, const char *v)
{
	char *out;

	if (*v == '/' || !p->dir)
		return strdup(v);
	return asprintf(&out, "%s/%s", p->dir, v) < 0 ? NULL : out;
}

/* A key before the first section: a setting of the mount. */
static int plan_option(struct plan *p, const char *key, const char *value)
{
	char **slot = NULL;

	if (!p->opts)
		return plan_fail(p, -EINVAL,
				 "'%s' outside a section (each rule is a "
				 "[section])",
				 key);
	if (!strcmp(key, "fifo"))
		slot = &p->opts->fifo;
	else if (!strcmp(key, "fifo-completed"))
		slot = &p->opts->fifo_completed;
	else if (!strcmp(key, "clear-cache"))
		slot = &p->opts->clear_cache;
	else
		return plan_fail(p, -EINVAL,
				 "unknown key '%s' before the first section "
				 "(fifo, fifo-completed, clear-cache; each "
				 "rule is a [section])",
				 key);
	if (*slot)
		return plan_fail(p, -EINVAL, "%s: given twice", key);
	if (!*value)
		return plan_fail(p, -EINVAL, "%s: needs a value", key);
	if (!strcmp(key, "clear-cache") && strcmp(value, "strict") &&
	    strcmp(value, "keep-metadata"))
		return plan_fail(p, -EINVAL,
				 "clear-cache: bad value '%s' (strict, "
				 "keep-metadata)",
				 value);
	*slot =
	    strcmp(key, "clear-cache") ? plan_path(p, value) : strdup(value);
	if (!*slot)
		return plan_fail(p, -ENOMEM, "out of memory");
	return 1;
}

/* The first key of a section: finish the last rule, start one. */
static int plan_section(struct plan *p, const char *section)
{
	if (plan_finish(p))
		return 0;
	for (size_t i = 0; i < p->nseen; i++)
		if (!strcmp(p->seen[i], section))
			return plan_fail(p, -EINVAL, "section [%s] given twice",
					 section);
	if (strlen(section) >= sizeof(p->section))
		return plan_fail(p, -EINVAL, "section name longer than %zu",
				 sizeof(p->section) - 1);
	p->cur = rule_new();
	if (!p->cur)
		return plan_fail(p, -ENOMEM, "out of memory");
	p->cur_header = p->headers;
	p->cur_line = p->line;
	snprintf(p->section, sizeof(p->section), "%s", section);
	return 1;
}

static int plan_entry(void *user, const char *section, const char *key,
		      const char *value)
{
	struct plan *p = user;
	char msg[256], k[64], v[256];
	size_t n;

	if (p->failed)
		return 0;
	if (p->too_long)
		return plan_fail(p, -EINVAL, "longer than %d characters",
				 PLAN_LINE);
	if (p->cont)
		return plan_fail(p, -EINVAL,
				 "an indented line continues '%s': give each "
				 "field once, on one line",
				 key);
	if (!*section)
		return plan_option(p, key, value);
	if (!p->cur || strcmp(section, p->section)) {
		if (!plan_section(p, section))
			return 0;
	} else if (p->headers != p->cur_header) {
		/* [a] right after [a]: inih gives both the same name. */
		return plan_fail(p, -EINVAL, "section [%s] given twice",
				 section);
	}
	if (parse_field(p->cur, key, value, msg, sizeof(msg)))
		return plan_fail(p, -EINVAL, "section [%s]: %s", section, msg);
	n = strlen(p->cur->text);
	snprintf(p->cur->text + n, sizeof(p->cur->text) - n, "%s%s=%s",
		 n ? " " : "", util_escape(k, sizeof(k), key),
		 util_escape(v, sizeof(v), value));
	return 1;
}

int fault_load(struct fault_set *s, const char *path, struct fault_plan *opts,
	       char *err, size_t errlen)
{
	struct plan p = {.s = s, .opts = opts, .err = err, .errlen = errlen};
	char *text = NULL, *copy = strdup(path);
	size_t len;
	int res;

	if (!copy)
		return -ENOMEM;
	p.dir = dirname(copy);
	res = util_read_file(path, PLAN_MAX, &text, &len, err, errlen);
	if (res)
		goto out;
	p.text = p.pos = text;
	res = ini_parse_stream(plan_reader, &p, plan_entry, &p);
	if (!p.failed && res > 0) {
		p.line = (unsigned)res;
		plan_fail(&p, -EINVAL, "not 'key = value' or [section]");
	} else if (!p.failed && res < 0) {
		plan_fail(&p, -ENOMEM, "out of memory");
	}
	if (!p.failed)
		plan_finish(&p);
	res = p.failed ? p.failed : p.added;
out:
	rule_free(p.cur);
	for (size_t i = 0; i < p.nseen; i++)
		free(p.seen[i]);
	free(p.seen);
	free(text);
	free(copy);
	return res;
}

void fault_plan_release(struct fault_plan *o)
{
	free(o->fifo);
	free(o->fifo_completed);
	free(o->clear_cache);
	*o = (struct fault_plan){0};
}

/* ---- matching ----------------------------------------------------------- */

static double rng_next(struct fault_rule *r)
{
	uint64_t x = r->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	r->rng = x;
	return (double)(x >> 11) / (double)(1ull << 53);
}

/* Does r's regex occur in "/" + path (LazyFS's ".*rgx.*")? */
static bool regex_match(struct fault_rule *r, const char *path)
{
	char buf[4097];

	snprintf(buf, sizeof(buf), "/%s", path);
	return regexec(&r->re, buf, 0, NULL, 0) == 0;
}

/* Does path match r's path and regex (if given)? */
static bool path_match(struct fault_rule *r, const char *path)
{
	/* A path that differs in the glob's literal head cannot match: no
	 * fnmatch() for it. */
	if (r->glob &&
	    (strncmp(r->glob, path, r->lit) || fnmatch(r->glob, path, 0)))
		return false;
	return !r->has_re || regex_match(r, path);
}

bool fault_match(struct fault_set *s, enum fault_op op, const char *path,
		 uint64_t bytes, struct fault_hit *hit)
{
	bool found = false;

	for (struct fault_rule *r = s->rules; r; r = r->next) {
		bool fire = !found, sync;

		sync = r->run && (op == FOP_FSYNC || op == FOP_FDATASYNC);
		if (!(r->ops & (1u << op)) && !sync)
			continue;
		if (!path_match(r, path))
			continue;
		if (sync) {
			r->run_len = 0; /* the run is over */
			continue;
		}
		/* Every matching rule counts the occurrence; only the first
		 * that fires acts on it.  A run= rule counts runs, each
		 * from its second write (one write is no sequence). */
		if (!r->run || ++r->run_len == 2)
			r->seen++;
		r->bytes += bytes;
		if (r->run && r->run_len != r->run)
			fire = false;
		if (r->has_size && bytes != r->size)
			fire = false;
		if (r->nth && r->seen != r->nth)
			fire = false;
		if (r->has_after_bytes && r->bytes <= r->after_bytes)
			fire = false;
		if (fire && r->prob < 1 && rng_next(r) >= r->prob)
			fire = false;
		if (!fire)
			continue;
		r->fired++;
		*hit = (struct fault_hit){
		    .action = r->action,
		    .when = r->when,
		    .err = r->err,
		    .delay_ms = r->delay_ms,
		    .rule = r->num,
		};
		snprintf(hit->desc, sizeof(hit->desc), "rule %u: %s", r->num,
			 r->text);
		snprintf(hit->cut, sizeof(hit->cut), "%s", r->cut);
		found = true;
	}
	return found;
}

void fault_list(const struct fault_set *s, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (struct fault_rule *r = s->rules; r && n < len; r = r->next) {
		int k = snprintf(
		    buf + n, len - n, "%s%u: %s (seen %llu, fired %llu)",
		    n ? "\n" : "", r->num, r->text, (unsigned long long)r->seen,
		    (unsigned long long)r->fired);
		if (k < 0)
			break;
		n += (size_t)k;
	}
}
