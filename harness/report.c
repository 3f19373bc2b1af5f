/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The text report and what the three formats share (see report.h and
 * report_priv.h); JSON is report_json.c, JUnit report_junit.c.
 */
#include "harness/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness/report_priv.h"

#define TEXT_MAX_CAUSES 5 /* causes shown per check in text */

int report_parse_format(const char *s, enum report_format *out)
{
	if (!strcmp(s, "text"))
		*out = REPORT_TEXT;
	else if (!strcmp(s, "json"))
		*out = REPORT_JSON;
	else if (!strcmp(s, "junit"))
		*out = REPORT_JUNIT;
	else
		return -EINVAL;
	return 0;
}

/* ---- shared ------------------------------------------------------------ */

const char *report_kind_name(const struct scenario *s, unsigned k)
{
	if (k == 0)
		return "visible";
	return k - 1 < s->models.len ? s->models.v[k - 1] : "?";
}

void report_where(const struct scenario *s, const struct check_group *g,
		  char *buf, size_t len)
{
	size_t n = 0;
	bool first = true;

	buf[0] = '\0';
	if (g->kinds & SCN_KIND_VISIBLE)
		n += snprintf(buf, len,
			      "visible states (kill -9, concurrent "
			      "readers): %llu",
			      (unsigned long long)g->kcount[0]);
	for (unsigned k = 1; k < CHECK_NKINDS && n < len; k++) {
		if (!(g->kinds & (1u << k)))
			continue;
		n += snprintf(buf + n, len - n, "%s%s: %llu",
			      first ? (n ? "; crash states (power loss) under "
					 : "crash states (power loss) under ")
				    : ", ",
			      report_kind_name(s, k),
			      (unsigned long long)g->kcount[k]);
		first = false;
	}
}

void report_expect_str(const struct scenario *s, const uint32_t *fail,
		       char *buf, size_t len)
{
	size_t n = 0;
	char k[256];

	buf[0] = '\0';
	for (int c = 0; c < SCN_NCHECKS; c++) {
		if (!fail[c])
			continue;
		n += snprintf(buf + n, n < len ? len - n : 0, "%s%s(%s)",
			      n ? " " : "fail: ", scenario_check_name(c),
			      scenario_kinds_str(s, fail[c], k, sizeof(k)));
	}
	if (!n)
		snprintf(buf, len, "pass");
}

void report_incomplete_str(const struct check_result *r, char *buf, size_t len)
{
	size_t n = 0;
	bool first = true;

	buf[0] = '\0';
	if (check_result_complete(r))
		return;
	if (r->stopped == CHECK_STOP_TIME)
		n = snprintf(buf, len, " (incomplete: --max-time stopped ");
	else
		n = snprintf(buf, len,
			     " (incomplete: --max-states %llu stopped ",
			     (unsigned long long)r->max_states);
	for (unsigned k = 0; k < CHECK_NKINDS && n < len; k++) {
		if (!r->capped[k])
			continue;
		n += snprintf(buf + n, len - n, "%s%s %sstates",
			      first ? "the " : ", the ",
			      report_kind_name(r->s, k), k ? "crash " : "");
		first = false;
	}
	if (n < len)
		snprintf(buf + n, len - n, "; states not checked may fail%s)",
			 r->allow_partial ? "" : ": exit 3");
}

void report_replay_cmd(const struct check_result *r, const char *id,
		       const struct report_opts *o, char *buf, size_t len)
{
	unsigned long long k;
	const char *run = r->kept && r->run_dir ? r->run_dir : "RUN";
	const char *self = o->self ? o->self : "crashfs";
	const char *priv = r->privileged ? " --privileged" : "";

	/* visible states are the tree after op K */
	if (sscanf(id, "k%llu.visible", &k) == 1 && strstr(id, ".visible"))
		snprintf(buf, len, "%s replay %s --point %llu%s -o DIR", self,
			 run, k, priv);
	else
		snprintf(buf, len, "%s replay %s --state %s%s -o DIR", self,
			 run, id, priv);
}

const char *report_target(const struct check_result *r,
			  const struct check_group *g)
{
	const struct strv *v = g->check == SCN_ATOMIC	 ? &r->s->atomic
			       : g->check == SCN_DURABLE ? &r->s->durable
							 : NULL;

	if (v && g->path >= 0 && (size_t)g->path < v->len)
		return v->v[g->path];
	return r->s->check ? r->s->check : "";
}

bool report_case_has(const struct report_case *c, const struct check_group *g)
{
	return (int)g->check == c->check &&
	       (c->check == SCN_EXTERNAL || g->path == c->path);
}

size_t report_cases(const struct check_result *r, const struct report_opts *o,
		    struct report_case **out)
{
	const struct scenario *s = r->s;
	size_t n = s->atomic.len + s->durable.len + (s->check != NULL), k = 0;
	struct report_case *c = calloc(n ? n : 1, sizeof(*c));
	bool sharded = o && o->shard_n > 1;
	size_t nbuiltin = s->atomic.len + s->durable.len;

	*out = c;
	if (!c)
		return 0;
	for (int ch = 0; ch < SCN_NCHECKS; ch++) {
		const struct strv *v = ch == SCN_ATOMIC	   ? &s->atomic
				       : ch == SCN_DURABLE ? &s->durable
							   : NULL;
		size_t np = v ? v->len : s->check != NULL;
		uint32_t exp = r->has_expect ? s->expect_fail[ch] : 0;

		for (size_t i = 0; i < np; i++, k++) {
			c[k].check = ch;
			c[k].path = v ? (int)i : -1;
			c[k].target = v ? v->v[i] : s->check;
			c[k].failed = v && i < CHECK_MAX_PATHS
					  ? r->path_failed[ch][i]
					  : r->failed[ch];
			c[k].expected = exp;
			c[k].ok = !(c[k].failed & ~exp) &&
				  (sharded || (r->failed[ch] & exp) == exp);
			if (v)
				c[k].seconds = r->builtin_seconds / nbuiltin;
			else if (r->explore_seconds > r->builtin_seconds)
				c[k].seconds =
				    r->explore_seconds - r->builtin_seconds;
		}
	}
	return k;
}

/* Length of the valid UTF-8 sequence at s (0: not one). */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0], cp;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool report_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_len(p);

		if (!n)
			return false;
		p += n;
	}
	return true;
}

/* Does XML 1.0 allow the character at p (n bytes)? */
static bool xml_char(const unsigned char *p, size_t n)
{
	if (n == 1)
		return p[0] >= 0x20 || p[0] == '\t' || p[0] == '\n' ||
		       p[0] == '\r';
	/* U+FFFE and U+FFFF */
	return !(n == 3 && p[0] == 0xef && p[1] == 0xbf && p[2] >= 0xbe);
}

char *report_escape(const char *s, bool xml)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	char *out = malloc(4 * strlen((const char *)p) + 1), *q = out;

	if (!out)
		return NULL;
	while (*p) {
		size_t n = utf8_len(p);

		if (n && (!xml || xml_char(p, n))) {
			memcpy(q, p, n);
			q += n;
			p += n;
			continue;
		}
		for (size_t i = 0; i < (n ? n : 1); i++)
			q += sprintf(q, "\\x%02x", p[i]);
		p += n ? n : 1;
	}
	*q = '\0';
	return out;
}

char *report_hex(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(2 * n + 1);

	for (size_t i = 0; out && i < n; i++)
		sprintf(out + 2 * i, "%02x", (unsigned char)s[i]);
	if (out)
		out[2 * n] = '\0';
	return out;
}

/* ---- text -------------------------------------------------------------- */

static const char *color(const struct report_opts *o, const char *code)
{
	return o->color ? code : "";
}

#define RED "\033[1;31m"
#define GREEN "\033[1;32m"
#define YELLOW "\033[1;33m"
#define PLAIN "\033[0m"

void report_text_start(const struct scenario *s, const struct report_opts *o,
		       FILE *f)
{
	if (o->quiet)
		return;
	if (s->file)
		fprintf(f, "== %s (%s)\n", s->name, s->file);
	else
		fprintf(f, "== %s\n", s->run ? s->run : s->name);
	if (s->description)
		fprintf(f, "   %s\n", s->description);
	fflush(f);
}

/* "   verdict: pass (incomplete ...)" and the expectation. */
static void text_verdict(const struct check_result *r,
			 const struct report_opts *o, FILE *f)
{
	const struct scenario *s = r->s;
	char v[512], inc[256];
	bool pass = true;

	for (int c = 0; c < SCN_NCHECKS; c++)
		pass &= !r->failed[c];
	report_expect_str(s, r->failed, v, sizeof(v));
	report_incomplete_str(r, inc, sizeof(inc));
	if (o->quiet)
		fprintf(f, "%s: ", s->name);
	else
		fprintf(f, "\n   ");
	fprintf(f, "verdict: %s%s%s%s%s%s", color(o, pass ? GREEN : RED), v,
		color(o, PLAIN), color(o, inc[0] ? YELLOW : ""), inc,
		color(o, inc[0] ? PLAIN : ""));
	if (r->has_expect) {
		char e[512];

		report_expect_str(s, s->expect_fail, e, sizeof(e));
		fprintf(f, "%sexpected: %s -> %s", o->quiet ? "; " : "\n   ", e,
			r->expect_ok ? "OK" : "MISMATCH");
	}
	fputc('\n', f);
}

static void text_group(const struct check_result *r,
		       const struct check_group *g, const struct report_opts *o,
		       FILE *f)
{
	char buf[2048];

	fprintf(f, "\n   %sFAIL%s %s %s: %llu state%s\n", color(o, RED),
		color(o, PLAIN), scenario_check_name(g->check),
		report_target(r, g), (unsigned long long)g->count,
		g->count == 1 ? "" : "s");
	report_where(r->s, g, buf, sizeof(buf));
	fprintf(f, "     where: %s\n", buf);
	fprintf(f, "     cause: %s\n", g->text);
	if (g->nalso) {
		fprintf(f, "     the same at");
		for (size_t k = 0; k < g->nalso; k++)
			fprintf(f, "%s #%llu", k ? "," : "",
				(unsigned long long)g->also[k]);
		if (g->nsame > g->nalso + 1)
			fprintf(f, " and %llu more",
				(unsigned long long)(g->nsame - 1 - g->nalso));
		fprintf(f, "\n");
	}
	if (g->check != SCN_EXTERNAL)
		fprintf(f, "     held:  %s in state %s\n", g->held, g->example);
	if (g->output && *g->output) {
		char *nl = strchr(g->output, '\n');
		int len = nl ? (int)(nl - g->output) : 200;

		fprintf(f, "     checker said: %.*s%s\n", len > 200 ? 200 : len,
			g->output, nl && nl[1] ? " ..." : "");
	}
	fprintf(f, "     hint:  %s\n", g->hint);
	report_replay_cmd(r, g->example, o, buf, sizeof(buf));
	fprintf(f, "     example state %s: %s\n", g->example, buf);
}

void report_text_result(const struct check_result *r,
			const struct report_opts *o, FILE *f)
{
	const struct scenario *s = r->s;
	bool any = false;

	if (r->error) {
		fprintf(f, "%s%s%sERROR%s: %s\n", o->quiet ? s->name : "",
			o->quiet ? ": " : "   ", color(o, RED), color(o, PLAIN),
			r->errmsg);
		if (!o->quiet && r->run_dir && r->kept && !r->recorded)
			fprintf(f, "   run kept in %s\n", r->run_dir);
		if (!o->quiet)
			fprintf(f, "\n");
		fflush(f);
		return;
	}
	if (r->skipped) {
		fprintf(f, "%s%s%sskip%s: %s\n%s", o->quiet ? s->name : "",
			o->quiet ? ": " : "   ", color(o, YELLOW),
			color(o, PLAIN), r->skip_reason, o->quiet ? "" : "\n");
		fflush(f);
		return;
	}
	if (o->quiet) {
		text_verdict(r, o, f);
		fflush(f);
		return;
	}
	if (r->recorded)
		fprintf(f, "   recorded run: %llu ops; checked",
			(unsigned long long)r->nops);
	else
		fprintf(f, "   workload: %.2f s, %llu ops; checked",
			r->workload_seconds, (unsigned long long)r->nops);
	for (unsigned k = 0, n = 0; k < CHECK_NKINDS; k++) {
		if (!(scenario_kinds(s) & (1u << k)))
			continue;
		fprintf(f, "%s %llu %s%s", n++ ? "," : "",
			(unsigned long long)r->checked[k],
			report_kind_name(s, k), k ? " crash" : "");
	}
	fprintf(f, " states in %.2f s", r->seconds);
	for (unsigned k = 0, n = 0; k < CHECK_NKINDS; k++)
		if (r->capped[k])
			fprintf(f, "%s%s", n++ ? ", " : " (stopped early: ",
				report_kind_name(s, k));
	fprintf(f, "%s\n", check_result_complete(r) ? "" : ")");
	{
		uint64_t dom = 0;

		for (unsigned k = 0; k < CHECK_NKINDS; k++)
			dom += r->dominated[k];
		if (dom)
			fprintf(f,
				"   (%llu states left out: each repeats one of "
				"an earlier point, same tree and marks)\n",
				(unsigned long long)dom);
	}
	if (r->unknown)
		fprintf(f,
			"   (%llu visible states left out: the program wrote "
			"through a shared mapping, and its pages reached the "
			"filesystem only later, when the kernel wrote them "
			"back; what a reader or kill -9 saw before is not "
			"known)\n",
			(unsigned long long)r->unknown);
	if (r->syncs_unseen[0])
		fprintf(f,
			"   note: the workload's sync(2) and syncfs(2) calls "
			"are not seen in this run (%s)\n",
			r->syncs_unseen);
	for (size_t i = 0, shown = 0; i < r->ngroups; i++) {
		const struct check_group *g = &r->groups[i];
		size_t more = 0;
		uint64_t states = 0;

		any = true;
		shown = i && r->groups[i - 1].check == g->check ? shown + 1 : 1;
		if (shown <= TEXT_MAX_CAUSES) {
			text_group(r, g, o, f);
			continue;
		}
		for (; i < r->ngroups && r->groups[i].check == g->check;
		     i++, more++)
			states += r->groups[i].count;
		i--;
		fprintf(f,
			"\n   ... and %zu more cause%s of %s failures (%llu "
			"states): see --report json\n",
			more, more == 1 ? "" : "s",
			scenario_check_name(g->check),
			(unsigned long long)states);
	}
	if (any && !r->kept)
		fprintf(f, "\n   (the run was not kept: rerun with --keep DIR "
			   "to replay these states; state ids name this run's "
			   "trace (@...) and change with every run)\n");
	else if (any && !r->recorded)
		fprintf(f,
			"\n   (the run is kept in %s: the commands above "
			"rebuild these states; their ids name this trace "
			"and change when the workload is run again)\n",
			r->run_dir);
	text_verdict(r, o, f);
	if (r->timeouts)
		fprintf(f, "   %llu checker run%s timed out\n",
			(unsigned long long)r->timeouts,
			r->timeouts == 1 ? "" : "s");
	fprintf(f, "\n");
	fflush(f);
}

void report_text_summary(const struct check_result *r, size_t n,
			 const struct report_opts *o, FILE *f)
{
	size_t ok = 0, err = 0, inc = 0, skip = 0;

	if (n < 2)
		return;
	for (size_t i = 0; i < n; i++) {
		enum check_status st = check_result_status(&r[i]);

		skip += r[i].skipped;
		err += st == CHECK_ERROR;
		ok += st == CHECK_OK && !r[i].skipped;
		inc += st == CHECK_INCOMPLETE;
	}
	fprintf(f, "%zu scenarios: %zu as expected, %zu not, %zu error%s", n,
		ok, n - ok - err - inc - skip, err, err == 1 ? "" : "s");
	if (inc)
		fprintf(f, ", %zu incomplete", inc);
	if (skip)
		fprintf(f, ", %zu skipped", skip);
	fputc('\n', f);
	for (size_t i = 0; i < n; i++) {
		enum check_status st = check_result_status(&r[i]);

		if (r[i].skipped && r[i].s)
			fprintf(f, "  %s: skipped: %s\n", r[i].s->name,
				r[i].skip_reason);
		if (st != CHECK_OK && r[i].s)
			fprintf(f, "  %s: %s\n", r[i].s->name,
				st == CHECK_ERROR	 ? "error"
				: st == CHECK_INCOMPLETE ? "incomplete"
				: r[i].has_expect
				    ? "verdict differs from expect"
				    : "violations");
	}
	(void)o;
}

static int text(const struct check_result *r, size_t n,
		const struct report_opts *o, FILE *f)
{
	for (size_t i = 0; i < n; i++) {
		report_text_start(r[i].s, o, f);
		report_text_result(&r[i], o, f);
	}
	report_text_summary(r, n, o, f);
	return ferror(f) ? -EIO : 0;
}

int report_write(enum report_format fmt, const struct check_result *r, size_t n,
		 const struct report_opts *o, FILE *f)
{
	switch (fmt) {
	case REPORT_JSON: return report_json(r, n, o, f);
	case REPORT_JUNIT: return report_junit(r, n, o, f);
	default: return text(r, n, o, f);
	}
}
