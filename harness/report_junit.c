/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The JUnit XML report (docs/report-format.md), written with libxml2's
 * xmlTextWriter: it escapes markup in text and attributes.  Text that is
 * not valid UTF-8, or holds characters XML 1.0 does not allow, is passed
 * through report_escape() first (\xHH for each such byte).
 *
 * One <testsuite> per scenario, one <testcase> per checked path ("atomic
 * config.json") and one for the external checker ("check CMD"); a
 * sharded run names its suites and cases after the shard, so that the N
 * files of one matrix merge without two cases of the same name.
 */
#include <errno.h>
#include <libxml/xmlwriter.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness/report_priv.h"

/* A writer's calls return < 0 on error; the first error sticks. */
struct jw {
	xmlTextWriterPtr w;
	int err;
};

static void start(struct jw *j, const char *el)
{
	if (xmlTextWriterStartElement(j->w, BAD_CAST el) < 0)
		j->err = -EIO;
}

static void end(struct jw *j)
{
	if (xmlTextWriterEndElement(j->w) < 0)
		j->err = -EIO;
}

static void attr(struct jw *j, const char *name, const char *value)
{
	char *e = report_escape(value ? value : "", true);

	if (!e ||
	    xmlTextWriterWriteAttribute(j->w, BAD_CAST name, BAD_CAST e) < 0)
		j->err = e ? -EIO : -ENOMEM;
	free(e);
}

static void attrf(struct jw *j, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void attrf(struct jw *j, const char *name, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	attr(j, name, buf);
}

static void text(struct jw *j, const char *s)
{
	char *e = report_escape(s ? s : "", true);

	if (!e || xmlTextWriterWriteString(j->w, BAD_CAST e) < 0)
		j->err = e ? -EIO : -ENOMEM;
	free(e);
}

static void textf(struct jw *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void textf(struct jw *j, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		j->err = -ENOMEM;
		return;
	}
	text(j, s);
	free(s);
}

/* "atomic config.json" (and " [shard 2/4]"). */
static void case_name(const struct report_case *c, const struct report_opts *o,
		      char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s %s", scenario_check_name(c->check),
			 c->target ? c->target : "");

	if (o->shard_n > 1 && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - n, " [shard %u/%u]", o->shard_k + 1,
			 o->shard_n);
}

/* What a CI page should show for a failing case: every cause. */
static void failure_body(struct jw *j, const struct check_result *r,
			 const struct report_case *c,
			 const struct report_opts *o)
{
	char buf[2048];
	bool any = false;

	for (size_t i = 0; i < r->ngroups; i++) {
		const struct check_group *g = &r->groups[i];

		if (!report_case_has(c, g))
			continue;
		any = true;
		report_where(r->s, g, buf, sizeof(buf));
		textf(j, "%llu state%s; where: %s\ncause: %s\n",
		      (unsigned long long)g->count, g->count == 1 ? "" : "s",
		      buf, g->text);
		if (g->check != SCN_EXTERNAL)
			textf(j, "held: %s in state %s\n", g->held, g->example);
		if (g->output && *g->output)
			textf(j, "checker said:\n%s%s", g->output,
			      g->output[strlen(g->output) - 1] == '\n' ? ""
								       : "\n");
		textf(j, "hint: %s\n", g->hint);
		report_replay_cmd(r, g->example, o, buf, sizeof(buf));
		textf(j, "reproduce: %s\n\n", buf);
	}
	if (!any)
		textf(j, "no state failed %s %s%s\n",
		      scenario_check_name(c->check), c->target,
		      o->shard_n > 1 ? " in this shard" : "");
	if (any && !r->kept)
		text(j, "the run was not kept: rerun with --keep DIR to "
			"replay these states (state ids name this run's trace "
			"and change with every run)\n");
}

static void one_case(struct jw *j, const struct check_result *r,
		     const struct report_case *c, const struct report_opts *o)
{
	const struct scenario *s = r->s;
	char name[1024], kinds[256], exp[256], inc[256];

	case_name(c, o, name, sizeof(name));
	start(j, "testcase");
	attrf(j, "classname", "crashfs.%s", s->name);
	attr(j, "name", name);
	attrf(j, "time", "%.3f", r->error || r->skipped ? 0.0 : c->seconds);
	if (r->skipped) {
		start(j, "skipped");
		attr(j, "message", r->skip_reason);
		end(j);
	} else if (r->error) {
		start(j, "error");
		attr(j, "type", "setup");
		attr(j, "message", r->errmsg);
		textf(j, "%s\n", r->errmsg);
		if (r->output && *r->output)
			textf(j, "\nworkload output (its last %zu bytes):\n%s",
			      strlen(r->output), r->output);
		end(j);
	} else if (!c->ok) {
		scenario_kinds_str(s, c->failed, kinds, sizeof(kinds));
		scenario_kinds_str(s, c->expected, exp, sizeof(exp));
		start(j, "failure");
		attr(j, "type", scenario_check_name(c->check));
		attrf(j, "message", "%s %s fails in: %s; expected: %s",
		      scenario_check_name(c->check), c->target,
		      *kinds ? kinds : "nothing", *exp ? exp : "pass");
		failure_body(j, r, c, o);
		end(j);
	} else if (!check_result_complete(r) && !r->allow_partial) {
		report_incomplete_str(r, inc, sizeof(inc));
		start(j, "error");
		attr(j, "type", "incomplete");
		attrf(j, "message", "%s", inc + 2); /* past " (" */
		text(j, "a bound stopped the exploration before every state "
			"was checked: states not checked may fail "
			"(--allow-partial accepts a partial check)\n");
		end(j);
	}
	end(j);
}

/* Test, failure, error and skip counts of one result. */
static void tally(const struct check_result *r, const struct report_case *c,
		  size_t n, size_t *fails, size_t *errors, size_t *skips)
{
	*fails = *errors = *skips = 0;
	for (size_t i = 0; i < n; i++) {
		if (r->skipped)
			(*skips)++;
		else if (r->error)
			(*errors)++;
		else if (!c[i].ok)
			(*fails)++;
		else if (!check_result_complete(r) && !r->allow_partial)
			(*errors)++;
	}
}

static void property(struct jw *j, const char *name, const char *value)
{
	if (!value)
		return;
	start(j, "property");
	attr(j, "name", name);
	attr(j, "value", value);
	end(j);
}

static void suite(struct jw *j, const struct check_result *r,
		  const struct report_opts *o, const char *host)
{
	const struct scenario *s = r->s;
	struct report_case *c;
	size_t n = report_cases(r, o, &c), fails, errors, skips;
	time_t t = (time_t)r->started;
	char ts[64] = "", name[512];
	struct tm tm;

	tally(r, c, n, &fails, &errors, &skips);
	if (t && localtime_r(&t, &tm))
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(name, sizeof(name), "%s", s->name);
	if (o->shard_n > 1)
		snprintf(name, sizeof(name), "%s [shard %u/%u]", s->name,
			 o->shard_k + 1, o->shard_n);
	start(j, "testsuite");
	attr(j, "name", name);
	attrf(j, "tests", "%zu", n);
	attrf(j, "failures", "%zu", fails);
	attrf(j, "errors", "%zu", errors);
	attrf(j, "skipped", "%zu", skips);
	attrf(j, "time", "%.3f", r->seconds);
	attr(j, "timestamp", ts);
	attr(j, "hostname", host);
	start(j, "properties");
	property(j, "file", s->file);
	property(j, "command", s->file ? NULL : s->run);
	property(j, "run", r->kept ? r->run_dir : NULL);
	end(j);
	for (size_t i = 0; i < n; i++)
		one_case(j, r, &c[i], o);
	end(j);
	free(c);
}

int report_junit(const struct check_result *r, size_t n,
		 const struct report_opts *o, FILE *f)
{
	xmlBufferPtr buf = xmlBufferCreate();
	struct jw j = {0};
	size_t tests = 0, fails = 0, errors = 0, skips = 0;
	double secs = 0;
	char host[256] = "";
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	j.w = xmlNewTextWriterMemory(buf, 0);
	if (!j.w) {
		xmlBufferFree(buf);
		return -ENOMEM;
	}
	gethostname(host, sizeof(host) - 1);
	for (size_t i = 0; i < n; i++) {
		struct report_case *c;
		size_t k = report_cases(&r[i], o, &c), fl, er, sk;

		tally(&r[i], c, k, &fl, &er, &sk);
		tests += k;
		fails += fl;
		errors += er;
		skips += sk;
		secs += r[i].seconds;
		free(c);
	}
	xmlTextWriterSetIndent(j.w, 1);
	xmlTextWriterSetIndentString(j.w, BAD_CAST "  ");
	if (xmlTextWriterStartDocument(j.w, NULL, "UTF-8", NULL) < 0)
		j.err = -EIO;
	start(&j, "testsuites");
	attr(&j, "name", "crashfs check");
	attrf(&j, "tests", "%zu", tests);
	attrf(&j, "failures", "%zu", fails);
	attrf(&j, "errors", "%zu", errors);
	attrf(&j, "skipped", "%zu", skips);
	attrf(&j, "time", "%.3f", secs);
	for (size_t i = 0; i < n; i++)
		suite(&j, &r[i], o, host);
	end(&j);
	if (xmlTextWriterEndDocument(j.w) < 0)
		j.err = -EIO;
	xmlFreeTextWriter(j.w);
	rc = j.err;
	if (!rc && fwrite(xmlBufferContent(buf), 1, xmlBufferLength(buf), f) !=
		       (size_t)xmlBufferLength(buf))
		rc = -EIO;
	xmlBufferFree(buf);
	return rc < 0 || ferror(f) ? (rc ? rc : -EIO) : 0;
}
