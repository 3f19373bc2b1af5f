/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Text, JSON and JUnit reports of crashfs check (see report.h).
 */
#include "harness/report.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

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

/* Name of kind index k of scenario s ("visible", "posix" ...). */
static const char *kind_name(const struct scenario *s, unsigned k)
{
	if (k == 0)
		return "visible";
	return k - 1 < s->models.len ? s->models.v[k - 1] : "?";
}

/* "visible states (kill -9, concurrent readers): 1; crash states (power
 * loss) under posix: 2, ext4: 1" */
static void where(const struct scenario *s, const struct check_group *g,
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
		n +=
		    snprintf(buf + n, len - n, "%s%s: %llu",
			     first ? (n ? "; crash states (power loss) under "
					: "crash states (power loss) under ")
				   : ", ",
			     kind_name(s, k), (unsigned long long)g->kcount[k]);
		first = false;
	}
}

/* The expected failures as scenario text ("fail: atomic(posix)"). */
static void expect_str(const struct scenario *s, const uint32_t *fail,
		       char *buf, size_t len)
{
	size_t n = 0;
	char k[256];

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

static void replay_cmd(const struct check_result *r, const char *id,
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

static const char *check_target(const struct check_result *r,
				const struct check_group *g)
{
	const struct strv *v = g->check == SCN_ATOMIC	 ? &r->s->atomic
			       : g->check == SCN_DURABLE ? &r->s->durable
							 : NULL;

	if (v && g->path >= 0 && (size_t)g->path < v->len)
		return v->v[g->path];
	return r->s->check ? r->s->check : "";
}

static void text_one(const struct check_result *r, const struct report_opts *o,
		     FILE *f)
{
	const struct scenario *s = r->s;
	char buf[2048];
	bool any = false;

	if (s->file)
		fprintf(f, "== %s (%s)\n", s->name, s->file);
	else
		fprintf(f, "== %s\n", s->run ? s->run : s->name);
	if (s->description)
		fprintf(f, "   %s\n", s->description);
	if (r->error) {
		fprintf(f, "   ERROR: %s\n", r->errmsg);
		if (r->run_dir && r->kept)
			fprintf(f, "   run kept in %s\n", r->run_dir);
		fprintf(f, "\n");
		return;
	}
	fprintf(f, "   workload: %.2f s, %llu ops; checked",
		r->workload_seconds, (unsigned long long)r->nops);
	for (unsigned k = 0; k < CHECK_NKINDS; k++) {
		if (!(scenario_kinds(s) & (1u << k)))
			continue;
		fprintf(f, "%s %llu %s%s",
			k && (scenario_kinds(s) & 1) ? "," : (k > 1 ? "," : ""),
			(unsigned long long)r->checked[k], kind_name(s, k),
			k ? " crash" : "");
		if (r->capped[k])
			fprintf(f, " (capped)");
	}
	fprintf(f, " states in %.2f s\n", r->seconds);
	for (size_t i = 0, shown = 0; i < r->ngroups; i++) {
		const struct check_group *g = &r->groups[i];
		size_t more = 0;
		uint64_t states = 0;

		any = true;
		shown = i && r->groups[i - 1].check == g->check ? shown + 1 : 1;
		if (shown > TEXT_MAX_CAUSES) {
			for (; i < r->ngroups && r->groups[i].check == g->check;
			     i++, more++)
				states += r->groups[i].count;
			i--;
			fprintf(f,
				"\n   ... and %zu more cause%s of %s "
				"failures (%llu states): see --report json\n",
				more, more == 1 ? "" : "s",
				scenario_check_name(g->check),
				(unsigned long long)states);
			continue;
		}
		fprintf(f, "\n   %sFAIL%s %s %s: %llu state%s\n",
			o->color ? "\033[1;31m" : "", o->color ? "\033[0m" : "",
			scenario_check_name(g->check), check_target(r, g),
			(unsigned long long)g->count, g->count == 1 ? "" : "s");
		where(s, g, buf, sizeof(buf));
		fprintf(f, "     where: %s\n", buf);
		fprintf(f, "     cause: %s\n", g->text);
		if (g->nalso) {
			fprintf(f, "     the same at");
			for (size_t k = 0; k < g->nalso; k++)
				fprintf(f, "%s #%llu", k ? "," : "",
					(unsigned long long)g->also[k]);
			fprintf(f, "%s\n", g->more_also ? " and more" : "");
		}
		if (g->check != SCN_EXTERNAL)
			fprintf(f, "     held:  %s in state %s\n", g->held,
				g->example);
		if (g->output && *g->output) {
			char *nl = strchr(g->output, '\n');
			int len = nl ? (int)(nl - g->output) : 200;

			fprintf(f, "     checker said: %.*s%s\n",
				len > 200 ? 200 : len, g->output,
				nl && nl[1] ? " ..." : "");
		}
		fprintf(f, "     hint:  %s\n", g->hint);
		replay_cmd(r, g->example, o, buf, sizeof(buf));
		fprintf(f, "     example state %s: %s\n", g->example, buf);
	}
	if (any && !r->kept)
		fprintf(f, "\n   (the run was not kept: rerun with --keep DIR "
			   "to replay these states)\n");
	fprintf(f, "\n   verdict: ");
	{
		char v[512];

		expect_str(s, r->failed, v, sizeof(v));
		fprintf(f, "%s\n", v);
		if (r->has_expect) {
			expect_str(s, s->expect_fail, v, sizeof(v));
			fprintf(f, "   expected: %s -> %s\n", v,
				r->expect_ok ? "OK" : "MISMATCH");
		}
	}
	if (r->timeouts)
		fprintf(f, "   %llu checker run%s timed out\n",
			(unsigned long long)r->timeouts,
			r->timeouts == 1 ? "" : "s");
	fprintf(f, "\n");
}

static int text(const struct check_result *r, size_t n,
		const struct report_opts *o, FILE *f)
{
	size_t ok = 0, err = 0;

	for (size_t i = 0; i < n; i++) {
		text_one(&r[i], o, f);
		if (r[i].error)
			err++;
		else if (check_result_ok(&r[i]))
			ok++;
	}
	if (n > 1) {
		fprintf(f,
			"%zu scenario%s: %zu as expected, %zu not, %zu "
			"error%s\n",
			n, n == 1 ? "" : "s", ok, n - ok - err, err,
			err == 1 ? "" : "s");
		for (size_t i = 0; i < n; i++)
			if (!check_result_ok(&r[i]))
				fprintf(f, "  %s: %s\n", r[i].s->name,
					r[i].error	  ? "error"
					: r[i].has_expect ? "verdict differs "
							    "from expect"
							  : "violations");
	}
	return ferror(f) ? -EIO : 0;
}

/* ---- JSON ------------------------------------------------------------ */

static json_t *kinds_json(const struct scenario *s, uint32_t kinds)
{
	json_t *a = json_array();

	for (unsigned k = 0; k < CHECK_NKINDS; k++)
		if (kinds & (1u << k))
			json_array_append_new(a, json_string(kind_name(s, k)));
	return a;
}

static json_t *checks_json(const struct scenario *s, const uint32_t *fail)
{
	json_t *o = json_object();

	for (int c = 0; c < SCN_NCHECKS; c++)
		json_object_set_new(o, scenario_check_name(c),
				    kinds_json(s, fail[c]));
	return o;
}

static json_t *result_json(const struct check_result *r,
			   const struct report_opts *o)
{
	const struct scenario *s = r->s;
	json_t *j = json_object(), *a, *counts;
	char buf[2048];

	json_object_set_new(j, "name", json_string(s->name));
	if (s->file)
		json_object_set_new(j, "file", json_string(s->file));
	if (s->description)
		json_object_set_new(j, "description",
				    json_string(s->description));
	json_object_set_new(j, "ok", json_boolean(check_result_ok(r)));
	if (r->error) {
		json_object_set_new(j, "error", json_string(r->errmsg));
		return j;
	}
	if (r->run_dir && r->kept)
		json_object_set_new(j, "run", json_string(r->run_dir));
	json_object_set_new(j, "workload_seconds",
			    json_real(r->workload_seconds));
	json_object_set_new(j, "seconds", json_real(r->seconds));
	json_object_set_new(j, "ops", json_integer(r->nops));
	json_object_set_new(j, "failed", checks_json(s, r->failed));
	if (r->has_expect) {
		json_object_set_new(j, "expected",
				    checks_json(s, s->expect_fail));
		json_object_set_new(j, "as_expected",
				    json_boolean(r->expect_ok));
	}
	counts = json_object();
	for (unsigned k = 0; k < CHECK_NKINDS; k++) {
		json_t *c;

		if (!(scenario_kinds(s) & (1u << k)))
			continue;
		c = json_object();
		json_object_set_new(c, "points", json_integer(r->points[k]));
		json_object_set_new(c, "generated",
				    json_integer(r->generated[k]));
		json_object_set_new(c, "checked", json_integer(r->checked[k]));
		json_object_set_new(c, "capped", json_boolean(r->capped[k]));
		for (int ch = 0; ch < SCN_NCHECKS; ch++)
			json_object_set_new(c, scenario_check_name(ch),
					    json_integer(r->nfailed[ch][k]));
		json_object_set_new(counts, kind_name(s, k), c);
	}
	json_object_set_new(j, "counts", counts);
	a = json_array();
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct check_group *g = &r->groups[i];
		json_t *c = json_object(), *ops = json_array();

		json_object_set_new(c, "check",
				    json_string(scenario_check_name(g->check)));
		json_object_set_new(c, "target",
				    json_string(check_target(r, g)));
		json_object_set_new(c, "where", kinds_json(s, g->kinds));
		{
			json_t *pk = json_object();

			for (unsigned k = 0; k < CHECK_NKINDS; k++)
				if (g->kinds & (1u << k))
					json_object_set_new(
					    pk, kind_name(s, k),
					    json_integer(g->kcount[k]));
			json_object_set_new(c, "states_per_kind", pk);
		}
		json_object_set_new(c, "states", json_integer(g->count));
		json_object_set_new(c, "cause", json_string(g->text));
		json_object_set_new(c, "hint", json_string(g->hint));
		for (size_t k = 0; k < g->cause.nops; k++)
			json_array_append_new(ops,
					      json_integer(g->cause.ops[k]));
		json_object_set_new(c, "ops", ops);
		json_object_set_new(c, "example", json_string(g->example));
		replay_cmd(r, g->example, o, buf, sizeof(buf));
		json_object_set_new(c, "replay", json_string(buf));
		if (g->output)
			json_object_set_new(c, "output",
					    json_string(g->output));
		json_array_append_new(a, c);
	}
	json_object_set_new(j, "causes", a);
	a = json_array();
	for (size_t i = 0; i < r->nstates; i++) {
		const struct check_state *v = &r->states[i];
		json_t *st = json_object(), *fl = json_array();

		json_object_set_new(st, "id", json_string(v->id));
		json_object_set_new(st, "kind",
				    json_string(kind_name(s, v->kind)));
		json_object_set_new(st, "point", json_integer(v->point));
		json_object_set_new(st, "upto", json_integer(v->upto));
		for (int c = 0; c < SCN_NCHECKS; c++)
			if (v->failed & (1u << c))
				json_array_append_new(
				    fl, json_string(scenario_check_name(c)));
		json_object_set_new(st, "failed", fl);
		json_array_append_new(a, st);
	}
	json_object_set_new(j, "states", a);
	return j;
}

static int json(const struct check_result *r, size_t n,
		const struct report_opts *o, FILE *f)
{
	json_t *root = json_object(), *a = json_array();
	bool ok = true;
	int rc;

	for (size_t i = 0; i < n; i++) {
		json_array_append_new(a, result_json(&r[i], o));
		ok &= check_result_ok(&r[i]);
	}
	json_object_set_new(root, "ok", json_boolean(ok));
	json_object_set_new(root, "scenarios", a);
	rc = json_dumpf(root, f, JSON_INDENT(2));
	fputc('\n', f);
	json_decref(root);
	return rc < 0 || ferror(f) ? -EIO : 0;
}

/* ---- JUnit ------------------------------------------------------------ */

static void xml_text(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = *s;

		if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '&')
			fputs("&amp;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else if (c < 0x20 && c != '\n' && c != '\t')
			fprintf(f, "&#x%x;", 0xfffd);
		else
			fputc(c, f);
	}
}

/* Does scenario s run check c at all? */
static bool has_check(const struct scenario *s, int c)
{
	return c == SCN_ATOMIC	  ? s->atomic.len > 0
	       : c == SCN_DURABLE ? s->durable.len > 0
				  : s->check != NULL;
}

static int junit(const struct check_result *r, size_t n,
		 const struct report_opts *o, FILE *f)
{
	size_t tests = 0, failures = 0, errors = 0;
	char buf[2048], kinds[256];

	for (size_t i = 0; i < n; i++) {
		for (int c = 0; c < SCN_NCHECKS; c++) {
			if (!has_check(r[i].s, c))
				continue;
			tests++;
			if (r[i].error)
				errors++;
			else if (r[i].has_expect
				     ? r[i].failed[c] != r[i].s->expect_fail[c]
				     : r[i].failed[c] != 0)
				failures++;
		}
	}
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<testsuites name=\"crashfs check\" tests=\"%zu\" "
		"failures=\"%zu\" errors=\"%zu\">\n",
		tests, failures, errors);
	for (size_t i = 0; i < n; i++) {
		const struct check_result *x = &r[i];
		const struct scenario *s = x->s;

		fprintf(f, "  <testsuite name=\"");
		xml_text(f, s->name);
		fprintf(f, "\" time=\"%.3f\">\n", x->seconds);
		for (int c = 0; c < SCN_NCHECKS; c++) {
			bool bad;

			if (!has_check(s, c))
				continue;
			bad = x->has_expect ? x->failed[c] != s->expect_fail[c]
					    : x->failed[c] != 0;
			fprintf(f, "    <testcase classname=\"crashfs.");
			xml_text(f, s->name);
			fprintf(f, "\" name=\"%s\" time=\"%.3f\">\n",
				scenario_check_name(c), x->seconds);
			if (x->error) {
				fprintf(f, "      <error message=\"");
				xml_text(f, x->errmsg);
				fprintf(f, "\"/>\n");
			} else if (bad) {
				scenario_kinds_str(s, x->failed[c], kinds,
						   sizeof(kinds));
				fprintf(f,
					"      <failure message=\"%s fails "
					"in: %s",
					scenario_check_name(c),
					*kinds ? kinds : "nothing");
				if (x->has_expect) {
					scenario_kinds_str(s, s->expect_fail[c],
							   kinds,
							   sizeof(kinds));
					fprintf(f, "; expected: %s",
						*kinds ? kinds : "pass");
				}
				fprintf(f, "\">");
				for (size_t g = 0; g < x->ngroups; g++) {
					const struct check_group *gr =
					    &x->groups[g];

					if ((int)gr->check != c)
						continue;
					xml_text(f, gr->text);
					fputs("\nhint: ", f);
					xml_text(f, gr->hint);
					replay_cmd(x, gr->example, o, buf,
						   sizeof(buf));
					fputs("\nreproduce: ", f);
					xml_text(f, buf);
					fputs("\n\n", f);
				}
				fprintf(f, "</failure>\n");
			}
			fprintf(f, "    </testcase>\n");
		}
		fprintf(f, "  </testsuite>\n");
	}
	fprintf(f, "</testsuites>\n");
	return ferror(f) ? -EIO : 0;
}

int report_write(enum report_format fmt, const struct check_result *r, size_t n,
		 const struct report_opts *o, FILE *f)
{
	switch (fmt) {
	case REPORT_JSON: return json(r, n, o, f);
	case REPORT_JUNIT: return junit(r, n, o, f);
	default: return text(r, n, o, f);
	}
}
