/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The JSON report (docs/report-format.md, schema docs/report.schema.json).
 *
 * The document is written piece by piece: each scenario's object is built
 * with jansson without its "states", dumped, and the states are streamed
 * from the state log after it, so that millions of states never sit in
 * memory.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "harness/report_priv.h"

#define FORMAT "crashfs-check-report"
#define VERSION 1

/* Set key to string s; bytes that are not UTF-8 as \xHH, and then the
 * exact bytes in key_hex too. */
static void set_str(json_t *o, const char *key, const char *s)
{
	char *e, *hex, k[64];

	if (!s)
		return;
	if (report_utf8(s)) {
		json_object_set_new(o, key, json_string(s));
		return;
	}
	e = report_escape(s, false);
	hex = report_hex(s);
	snprintf(k, sizeof(k), "%s_hex", key);
	if (e)
		json_object_set_new(o, key, json_string(e));
	if (hex)
		json_object_set_new(o, k, json_string(hex));
	free(e);
	free(hex);
}

/* Seconds to the millisecond: a finer figure means nothing. */
static json_t *seconds(double s)
{
	return json_real((double)(long long)(s * 1000 + 0.5) / 1000);
}

static json_t *kinds_json(const struct scenario *s, uint32_t kinds)
{
	json_t *a = json_array();

	for (unsigned k = 0; k < CHECK_NKINDS; k++)
		if (kinds & (1u << k))
			json_array_append_new(
			    a, json_string(report_kind_name(s, k)));
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

static const char *status_name(enum check_status st)
{
	switch (st) {
	case CHECK_OK: return "ok";
	case CHECK_VIOLATION: return "violation";
	case CHECK_INCOMPLETE: return "incomplete";
	default: return "error";
	}
}

static json_t *cases_json(const struct check_result *r,
			  const struct report_opts *o)
{
	struct report_case *c;
	size_t n = report_cases(r, o, &c);
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *j = json_object();

		json_object_set_new(
		    j, "check", json_string(scenario_check_name(c[i].check)));
		set_str(j, "target", c[i].target);
		json_object_set_new(j, "failed", kinds_json(r->s, c[i].failed));
		json_object_set_new(j, "ok", json_boolean(c[i].ok));
		json_array_append_new(a, j);
	}
	free(c);
	return a;
}

static json_t *counts_json(const struct check_result *r)
{
	const struct scenario *s = r->s;
	json_t *counts = json_object();

	for (unsigned k = 0; k < CHECK_NKINDS; k++) {
		json_t *c;

		if (!(scenario_kinds(s) & (1u << k)))
			continue;
		c = json_object();
		json_object_set_new(c, "points", json_integer(r->points[k]));
		json_object_set_new(c, "generated",
				    json_integer(r->generated[k]));
		json_object_set_new(c, "checked", json_integer(r->checked[k]));
		json_object_set_new(c, "dominated",
				    json_integer(r->dominated[k]));
		json_object_set_new(c, "unknown",
				    json_integer(k ? 0 : r->unknown));
		json_object_set_new(c, "capped", json_boolean(r->capped[k]));
		for (int ch = 0; ch < SCN_NCHECKS; ch++)
			json_object_set_new(c, scenario_check_name(ch),
					    json_integer(r->nfailed[ch][k]));
		json_object_set_new(counts, report_kind_name(s, k), c);
	}
	return counts;
}

static json_t *cause_json(const struct check_result *r,
			  const struct check_group *g,
			  const struct report_opts *o)
{
	const struct scenario *s = r->s;
	json_t *c = json_object(), *ops = json_array(), *pk = json_object();
	char buf[2048];

	json_object_set_new(c, "check",
			    json_string(scenario_check_name(g->check)));
	set_str(c, "target", report_target(r, g));
	json_object_set_new(c, "where", kinds_json(s, g->kinds));
	for (unsigned k = 0; k < CHECK_NKINDS; k++)
		if (g->kinds & (1u << k))
			json_object_set_new(pk, report_kind_name(s, k),
					    json_integer(g->kcount[k]));
	json_object_set_new(c, "states_per_kind", pk);
	json_object_set_new(c, "states", json_integer(g->count));
	set_str(c, "cause", g->text);
	set_str(c, "hint", g->hint);
	if (g->check != SCN_EXTERNAL)
		set_str(c, "held", g->held);
	for (size_t k = 0; k < g->cause.nops; k++)
		json_array_append_new(ops, json_integer(g->cause.ops[k]));
	json_object_set_new(c, "ops", ops);
	if (g->nalso) {
		json_t *same = json_array();

		for (size_t k = 0; k < g->nalso; k++)
			json_array_append_new(same, json_integer(g->also[k]));
		json_object_set_new(c, "same_at", same);
	}
	json_object_set_new(c, "occurrences",
			    json_integer(g->nsame ? g->nsame : 1));
	json_object_set_new(c, "example", json_string(g->example));
	report_replay_cmd(r, g->example, o, buf, sizeof(buf));
	set_str(c, "replay", buf);
	if (g->output)
		set_str(c, "output", g->output);
	return c;
}

static json_t *result_json(const struct check_result *r,
			   const struct report_opts *o)
{
	const struct scenario *s = r->s;
	json_t *j = json_object(), *a;
	enum check_status st = check_result_status(r);

	set_str(j, "name", s->name);
	set_str(j, "file", s->file);
	set_str(j, "command", s->file ? NULL : s->run);
	set_str(j, "description", s->description);
	json_object_set_new(j, "ok", json_boolean(st == CHECK_OK));
	json_object_set_new(j, "status", json_string(status_name(st)));
	json_object_set_new(j, "exit_status", json_integer(st));
	json_object_set_new(
	    j, "models", kinds_json(s, scenario_kinds(s) & ~SCN_KIND_VISIBLE));
	if (o->shard_n > 1) {
		json_t *sh = json_object();

		json_object_set_new(sh, "k", json_integer(o->shard_k + 1));
		json_object_set_new(sh, "n", json_integer(o->shard_n));
		json_object_set_new(j, "shard", sh);
	}
	if (r->run_dir && r->kept)
		set_str(j, "run", r->run_dir);
	if (r->skipped) {
		json_object_set_new(j, "status", json_string("skipped"));
		set_str(j, "skipped", r->skip_reason);
		return j;
	}
	if (r->error) {
		set_str(j, "error", r->errmsg);
		if (r->output && *r->output)
			set_str(j, "workload_output", r->output);
		return j;
	}
	json_object_set_new(j, "workload_seconds",
			    seconds(r->workload_seconds));
	json_object_set_new(j, "seconds", seconds(r->seconds));
	json_object_set_new(j, "ops", json_integer(r->nops));
	if (r->syncs_unseen[0])
		json_object_set_new(j, "syncs_unseen",
				    json_string(r->syncs_unseen));
	json_object_set_new(j, "complete",
			    json_boolean(check_result_complete(r)));
	if (!check_result_complete(r))
		json_object_set_new(j, "stopped_by",
				    json_string(r->stopped == CHECK_STOP_TIME
						    ? "max-time"
						    : "max-states"));
	json_object_set_new(j, "failed", checks_json(s, r->failed));
	if (r->has_expect) {
		json_object_set_new(j, "expected",
				    checks_json(s, s->expect_fail));
		json_object_set_new(j, "as_expected",
				    json_boolean(r->expect_ok));
	}
	json_object_set_new(j, "checks", cases_json(r, o));
	json_object_set_new(j, "counts", counts_json(r));
	json_object_set_new(j, "cause_runs", json_integer(r->cause_runs));
	json_object_set_new(j, "cause_known", json_integer(r->cause_known));
	json_object_set_new(j, "timeouts", json_integer(r->timeouts));
	a = json_array();
	for (size_t i = 0; i < r->ngroups; i++)
		json_array_append_new(a, cause_json(r, &r->groups[i], o));
	json_object_set_new(j, "causes", a);
	return j;
}

/* One state's verdict, one line. */
static int state_json(const struct scenario *s, const struct check_state *v,
		      FILE *f)
{
	json_t *st = json_object(), *fl = json_array();
	int rc;

	json_object_set_new(st, "id", json_string(v->id));
	json_object_set_new(st, "kind",
			    json_string(report_kind_name(s, v->kind)));
	json_object_set_new(st, "point", json_integer(v->point));
	json_object_set_new(st, "upto", json_integer(v->upto));
	for (int c = 0; c < SCN_NCHECKS; c++)
		if (v->failed & (1u << c))
			json_array_append_new(
			    fl, json_string(scenario_check_name(c)));
	json_object_set_new(st, "failed", fl);
	rc = json_dumpf(st, f, JSON_COMPACT);
	json_decref(st);
	return rc;
}

/* txt with indent after each newline. */
static void put_indented(const char *txt, size_t len, const char *indent,
			 FILE *f)
{
	for (size_t i = 0; i < len; i++) {
		fputc(txt[i], f);
		if (txt[i] == '\n')
			fputs(indent, f);
	}
}

/* One scenario's object, its states streamed from the state log after
 * the rest: the object is dumped without its closing brace. */
static int scenario_json(const struct check_result *r,
			 const struct report_opts *o, FILE *f)
{
	json_t *j = result_json(r, o);
	char *txt = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
				      JSON_REAL_PRECISION(12));
	struct check_state v;
	size_t len;
	int rc = 0;

	json_decref(j);
	if (!txt)
		return -ENOMEM;
	len = strlen(txt);
	fputs("    ", f);
	if (r->error || !r->states) {
		put_indented(txt, len, "    ", f);
		free(txt);
		return 0;
	}
	put_indented(txt, len - 2, "    ", f); /* up to its "\n}" */
	free(txt);
	fputs(",\n      \"states\": [", f);
	rc = statelog_rewind(r->states);
	for (uint64_t i = 0; rc == 0 && (rc = statelog_next(r->states, &v)) > 0;
	     i++) {
		fputs(i ? ",\n        " : "\n        ", f);
		rc = state_json(r->s, &v, f) < 0 ? -EIO : 0;
	}
	fputs(statelog_count(r->states) ? "\n      ]\n    }" : "]\n    }", f);
	return rc < 0 ? rc : 0;
}

int report_json(const struct check_result *r, size_t n,
		const struct report_opts *o, FILE *f)
{
	bool ok = true;
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		ok &= check_result_ok(&r[i]);
	fprintf(f,
		"{\n  \"format\": \"%s\",\n  \"version\": %d,\n  \"ok\": "
		"%s,\n  \"scenarios\": [\n",
		FORMAT, VERSION, ok ? "true" : "false");
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = scenario_json(&r[i], o, f);
		fputs(i + 1 < n ? ",\n" : "\n", f);
	}
	fputs("  ]\n}\n", f);
	return rc < 0 || ferror(f) ? -EIO : 0;
}
