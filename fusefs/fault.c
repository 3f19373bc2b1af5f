/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Fault rules: parsing (a rule line, or a plan file through inih),
 * matching against the daemon's operations, listing.  See fault.h.
 */
#include "fusefs/fault.h"
#include "core/cutplan.h"

#include <errno.h>
#include <fnmatch.h>
#include <ini.h>
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
	uint64_t nth;	      /* fire on this occurrence only, 0: all */
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
	char text[200];	   /* as given, for list and the trace */
	char cut[160];	   /* FA_POWERCUT: the cut's words (cut-KEY=V
			      fields as KEY=V: pc_how_parse()), "" */
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

void fault_set_release(struct fault_set *s)
{
	while (s->rules) {
		struct fault_rule *r = s->rules;

		s->rules = r->next;
		free(r->glob);
		free(r);
	}
	s->mask = 0;
}

/* "1M", "4096", "2k": bytes; false if malformed. */
static bool parse_size(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (!*v || *v == '-')
		return false;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v)
		return false;
	switch (*end) {
	case 'k':
	case 'K':
		n <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		n <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		n <<= 30;
		end++;
		break;
	}
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' && end[1] == 'B' ? 2 : 1;
	*out = n;
	return *end == '\0';
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
			 "action: unknown action '%s' (powercut, kill, "
			 "errno:NAME, short, torn, delay:MS)",
			 v);
		return -EINVAL;
	}
	return 0;
}

/* One field=value of a rule. */
static int parse_field(struct fault_rule *r, const char *key, const char *v,
		       char *err, size_t errlen)
{
	char *end;

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
	} else if (!strcmp(key, "nth")) {
		errno = 0;
		r->nth = strtoull(v, &end, 10);
		if (errno || end == v || *end || !r->nth || *v == '-')
			goto bad;
	} else if (!strcmp(key, "after-bytes")) {
		if (!parse_size(v, &r->after_bytes))
			goto bad;
		r->has_after_bytes = true;
	} else if (!strcmp(key, "prob")) {
		errno = 0;
		r->prob = strtod(v, &end);
		if (errno || end == v || *end || r->prob < 0 || r->prob > 1)
			goto bad;
	} else if (!strcmp(key, "seed")) {
		errno = 0;
		r->rng = strtoull(v, &end, 0);
		if (errno || end == v || *end)
			goto bad;
		r->rng = r->rng * 0x9e3779b97f4a7c15ull + 1;
	} else if (!strcmp(key, "action")) {
		return parse_action(r, v, err, errlen);
	} else if (!strncmp(key, "cut-", 4) && key[4]) {
		/* the power cut's options, checked whole by rule_add() */
		size_t n = strlen(r->cut);

		if (!strcmp(key, "cut-keep") && !strcmp(v, "metadata"))
			snprintf(r->cut + n, sizeof(r->cut) - n,
				 "%skeep-metadata", n ? " " : "");
		else
			snprintf(r->cut + n, sizeof(r->cut) - n, "%s%s=%s",
				 n ? " " : "", key + 4, v);
	} else {
		snprintf(err, errlen,
			 "unknown field '%s' (when, op, path, nth, "
			 "after-bytes, prob, seed, action, cut-*)",
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

		if (r->action != FA_POWERCUT) {
			snprintf(err, errlen,
				 "cut-*: options of action=powercut");
			goto out_free;
		}
		if (cutplan_words(r->cut, &spec, &keep_meta, msg,
				  sizeof(msg))) {
			snprintf(err, errlen, "cut-*: %s", msg);
			goto out_free;
		}
	}
	if (r->action == FA_POWERCUT && s->no_powercut) {
		snprintf(err, errlen,
			 "action: powercut needs a mount made "
			 "with --powercut");
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
	r->num = s->next++;
	s->mask |= r->ops;
	/* Keep the order they were given in. */
	{
		struct fault_rule **p = &s->rules;

		while (*p)
			p = &(*p)->next;
		*p = r;
	}
	return (int)r->num;

out_free:
	free(r->glob);
	free(r);
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
	snprintf(r->text, sizeof(r->text), "%s", text);
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
			free(r->glob);
			free(r);
			return res;
		}
	}
	return rule_add(s, r, err, errlen);
}

/* ---- plan files --------------------------------------------------------- */

struct plan {
	struct fault_set *s;
	struct fault_rule *cur; /* the section's rule */
	char section[64];	/* its name */
	char *err;
	size_t errlen;
	int added;
	int failed; /* -errno once something failed */
};

static int plan_finish(struct plan *p)
{
	char msg[256];
	int res;

	if (!p->cur)
		return 0;
	res = rule_add(p->s, p->cur, msg, sizeof(msg));
	p->cur = NULL;
	if (res < 0) {
		snprintf(p->err, p->errlen, "section [%s]: %s", p->section,
			 msg);
		return res;
	}
	p->added++;
	return 0;
}

static int plan_entry(void *user, const char *section, const char *key,
		      const char *value)
{
	struct plan *p = user;
	char msg[256];
	int res;

	if (p->failed)
		return 0;
	if (!p->cur || strcmp(section, p->section)) {
		res = plan_finish(p);
		if (res) {
			p->failed = res;
			return 0;
		}
		p->cur = rule_new();
		if (!p->cur) {
			p->failed = -ENOMEM;
			return 0;
		}
		snprintf(p->section, sizeof(p->section), "%s", section);
	}
	res = parse_field(p->cur, key, value, msg, sizeof(msg));
	if (res) {
		snprintf(p->err, p->errlen, "section [%s]: %s", section, msg);
		p->failed = res;
		return 0; /* inih goes on; we report the first error */
	}
	{
		size_t n = strlen(p->cur->text);

		snprintf(p->cur->text + n, sizeof(p->cur->text) - n, "%s%s=%s",
			 n ? " " : "", key, value);
	}
	return 1;
}

int fault_load(struct fault_set *s, const char *path, char *err, size_t errlen)
{
	struct plan p = {.s = s, .err = err, .errlen = errlen};
	int res;

	res = ini_parse(path, plan_entry, &p);
	if (res < 0) {
		snprintf(err, errlen, "cannot read '%s'", path);
		res = -ENOENT;
		goto out;
	}
	if (p.failed) {
		res = p.failed;
		goto out;
	}
	if (res > 0) {
		snprintf(err, errlen, "line %d: not 'key = value' or [section]",
			 res);
		res = -EINVAL;
		goto out;
	}
	res = plan_finish(&p);
	if (!res)
		return p.added;
out:
	if (p.cur) {
		free(p.cur->glob);
		free(p.cur);
	}
	return res;
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

bool fault_match(struct fault_set *s, enum fault_op op, const char *path,
		 uint64_t bytes, struct fault_hit *hit)
{
	bool found = false;

	for (struct fault_rule *r = s->rules; r; r = r->next) {
		bool fire = !found;

		if (!(r->ops & (1u << op)))
			continue;
		/* A path that differs in the glob's literal head cannot
		 * match: no fnmatch() for it. */
		if (r->glob && (strncmp(r->glob, path, r->lit) ||
				fnmatch(r->glob, path, 0)))
			continue;
		/* Every matching rule counts the occurrence; only the first
		 * that fires acts on it. */
		r->seen++;
		r->bytes += bytes;
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
