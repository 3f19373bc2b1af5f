/* SPDX-License-Identifier: MIT */
/** @file
 *
 * `crashfs states RUN`: list the crash states of a recorded run, with what
 * each dropped or tore, as text or JSON.
 *
 * It lists what `crashfs check` checks with the same options, in the
 * same passes and order (harness/check.c): the visible states under the
 * first model ("k<K>.visible"), then each model's crash states.  Within a
 * pass a state that repeats one listed before in the same check context
 * (same tree, same marks made, --durable applying or not) is left out
 * (--all lists it, "same as" the first), and, unless --points every, the
 * explorer leaves out states that repeat one of an earlier crash point
 * (counted as such).  The summary gives check's counts.
 */
#include "cli/cmd.h"
#include "core/map.h"
#include "core/util.h"
#include "harness/checks.h"
#include "harness/explore.h"
#include "harness/run.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LOSSES 4096

static void usage(FILE *f)
{
	fprintf(f, "usage: crashfs states RUN [options]\n"
		   "\n"
		   "List the crash states of a recorded run (RUN: a directory "
		   "with trace and\ninitial/, or a bare trace) and what each "
		   "state dropped or tore.\n"
		   "\n"
		   "  --model M         persistence model (repeatable; default "
		   "posix):\n");
	for (size_t i = 0; persist_models[i]; i++)
		fprintf(f, "                      %-7s %s\n",
			persist_models[i]->name, persist_models[i]->summary);
	fprintf(
	    f, "  --kind KIND       only states of this kind (repeatable): "
	       "strict,\n"
	       "                    strict+data, visible, prefix, "
	       "prefix-nodata, omit,\n"
	       "                    torn-head, torn-tail, size-only, random\n");
	fprintf(f, "  --point K         only the states of crash point K (the "
		   "state after op #K)\n"
		   "  --points P        crash points, as for crashfs check: "
		   "all (default),\n"
		   "                    sync, marks, or every (all, with the "
		   "states that\n"
		   "                    repeat an earlier point's)\n"
		   "  --list-points     list the crash points instead\n"
		   "  --all             also list states identical to one "
		   "listed before\n"
		   "  --max-prefixes N  metadata prefixes per point (16)\n"
		   "  --max-writes N    pending writes varied per point (16)\n"
		   "  --random N        seeded random states per point (2, as "
		   "check)\n"
		   "  --seed S          seed of the random states (0)\n"
		   "  --sector BYTES    torn-write granularity (the trace's, "
		   "or 512)\n"
		   "  --json            JSON on stdout\n"
		   "\n"
		   "The states listed are those 'crashfs check' checks with "
		   "the same models,\n--points and --seed (its --max-states, "
		   "--max-time and --shard check fewer).\n"
		   "Rebuild a state with 'crashfs replay RUN --state ID -o "
		   "DIR'.\n");
}

struct opts {
	const struct persist_rules *models[16];
	size_t nmodels;
	struct explore_opts xo;
	bool json, all, points; /* points: --list-points */
	bool every;		/* --points every: no repeat skipped */
	bool random_set;	/* --random given */
};

static int parse(int argc, char **argv, struct opts *o, const char **run)
{
	static const struct option longs[] = {
	    {"model", required_argument, NULL, 'm'},
	    {"point", required_argument, NULL, 'k'},
	    {"kind", required_argument, NULL, 'K'},
	    {"list-points", no_argument, NULL, 'P'},
	    {"points", required_argument, NULL, 'T'},
	    {"all", no_argument, NULL, 'a'},
	    {"max-prefixes", required_argument, NULL, 'p'},
	    {"max-writes", required_argument, NULL, 'w'},
	    {"random", required_argument, NULL, 'r'},
	    {"seed", required_argument, NULL, 's'},
	    {"sector", required_argument, NULL, 'S'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	uint64_t v;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hm:k:j", longs, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (o->nmodels == 15 ||
			    !(o->models[o->nmodels] = persist_find(optarg))) {
				util_err("unknown model '%s' (models: posix, "
					 "ext4, strict, prefix)",
					 optarg);
				return 2;
			}
			o->nmodels++;
			break;
		case 'k':
			if (util_parse_u64(optarg, 0, UINT64_MAX, &v))
				goto out_num;
			o->xo.one_point = true;
			o->xo.point = v;
			break;
		case 'K': {
			unsigned k;

			for (k = 0; k < XK_MAX; k++)
				if (!strcmp(optarg, explore_kind_name(k)))
					break;
			if (k == XK_MAX || k == XK_CUSTOM) {
				util_err(
				    "unknown state kind '%s' (kinds: "
				    "strict, strict+data, visible, prefix, "
				    "prefix-nodata, omit, torn-head, "
				    "torn-tail, size-only, random)",
				    optarg);
				return 2;
			}
			o->xo.kinds |= 1u << k;
			break;
		}
		case 'P': o->points = true; break;
		case 'T':
			o->every = !strcmp(optarg, "every");
			if (!strcmp(optarg, "all") || o->every) {
				o->xo.points = XP_ALL;
			} else if (!strcmp(optarg, "sync")) {
				o->xo.points = XP_SYNC;
			} else if (!strcmp(optarg, "marks")) {
				o->xo.points = XP_MARKS;
			} else {
				util_err("--points must be all, sync, marks or "
					 "every, not '%s'",
					 optarg);
				return 2;
			}
			break;
		case 'a': o->all = true; break;
		case 'j': o->json = true; break;
		case 'p':
		case 'w':
		case 'r':
			if (util_parse_u64(optarg, c == 'r' ? 0 : 1, 1000000,
					   &v))
				goto out_num;
			if (c == 'p')
				o->xo.max_prefixes = (unsigned)v;
			else if (c == 'w')
				o->xo.max_writes = (unsigned)v;
			else
				o->xo.random = (unsigned)v;
			o->random_set |= c == 'r';
			break;
		case 's':
			if (util_parse_u64(optarg, 0, UINT64_MAX, &v))
				goto out_num;
			o->xo.seed = v;
			break;
		case 'S':
			if (util_parse_u64(optarg, 1, 1 << 20, &v))
				goto out_num;
			o->xo.sector = (uint32_t)v;
			break;
		case 'h': usage(stdout); return 0;
		default: return cmd_refused("states", argv, c);
		}
	}
	if (optind == argc) {
		util_err("missing RUN: the directory 'crashfs check --keep' "
			 "made, or a trace");
		goto out_help;
	}
	if (optind < argc - 1) {
		util_err("unexpected argument '%s' after RUN '%s'",
			 argv[optind + 1], argv[optind]);
		goto out_help;
	}
	*run = argv[optind];
	if (!o->nmodels)
		o->models[o->nmodels++] = persist_find("posix");
	if (!o->random_set)
		o->xo.random = 2; /* as crashfs check */
	return -1;
out_help:
	fprintf(stderr, "see 'crashfs states --help'\n");
	return 2;
out_num:
	util_err("invalid number '%s' for --%s", optarg,
		 c == 'k'   ? "point"
		 : c == 'p' ? "max-prefixes"
		 : c == 'w' ? "max-writes"
		 : c == 'r' ? "random"
		 : c == 's' ? "seed"
			    : "sector");
	return 2;
}

static void list_points(struct explorer *x, struct model *m, bool json)
{
	size_t n;
	const uint64_t *p = explore_points(x, &n);
	json_t *arr = json ? json_array() : NULL;
	char d[2048];

	model_reset(m);
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			explore_describe_op(m, p[i], d, sizeof(d));
		else
			snprintf(d, sizeof(d), "nothing (the initial image)");
		if (json)
			json_array_append_new(
			    arr, json_pack("{s:I,s:s}", "point",
					   (json_int_t)p[i], "after", d));
		else
			printf("k%-8llu after %s\n", (unsigned long long)p[i],
			       d);
	}
	if (json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
	}
}

/* One state: a text line (plus its losses) or a JSON object.  x: the
 * explorer that built it, NULL for a visible state (nothing lost). */
static void show(struct explorer *x, struct model *m,
		 const struct explore_state *st, const char *same, json_t *arr,
		 struct explore_loss *l)
{
	size_t n = x ? explore_losses(x, st, l, MAX_LOSSES) : 0;
	char what[256], d[2048];
	json_t *o = NULL, *losses = NULL;

	explore_describe(st, what, sizeof(what));
	if (arr) {
		o = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:b}", "id", st->id,
			      "point", (json_int_t)st->point, "model",
			      st->model->name, "kind",
			      explore_kind_name(st->kind), "description", what,
			      "hash", "", "duplicate", st->duplicate);
		snprintf(d, sizeof(d), "%016llx", (unsigned long long)st->hash);
		json_object_set_new(o, "hash", json_string(d));
		if (same)
			json_object_set_new(o, "same_as", json_string(same));
		losses = json_array();
	} else {
		printf("%-30s %s%s%s\n", st->id, what, same ? "; same as " : "",
		       same ? same : "");
	}
	for (size_t i = 0; i < n && i < MAX_LOSSES; i++) {
		explore_describe_op(m, l[i].seq, d, sizeof(d));
		if (losses)
			json_array_append_new(
			    losses,
			    json_pack("{s:I,s:s,s:s}", "seq",
				      (json_int_t)l[i].seq, "op", d, "fate",
				      explore_fate_name(l[i].fate)));
		else
			printf("    %s: %s\n", explore_fate_name(l[i].fate), d);
	}
	if (o) {
		json_object_set_new(o, "losses", losses);
		json_array_append_new(arr, o);
	}
}

/* One pass of `crashfs check`: the visible states under one model, or
 * one model's crash states. */
struct pass {
	const struct persist_rules *model; /* its persistence model */
	bool visible;			   /* the visible pass */
	uint64_t listed;    /* states listed (check's "checked") */
	uint64_t repeats;   /* built, but the same as one listed before */
	uint64_t dominated; /* not built: repeat an earlier point's */
	uint64_t unknown;   /* visible, not known: before a writeback */
	uint64_t points;    /* crash points visited */
};

/* What a listing needs besides the options. */
struct lister {
	struct opts *o;		/* the command line */
	struct model *m;	/* the run's model */
	struct checks *c;	/* marks and the start of --durable */
	struct map first;	/* (hash, context) -> first id, per pass */
	struct explore_loss *l; /* MAX_LOSSES entries, for show() */
	json_t *arr;		/* states, with --json */
	const uint64_t *pts;	/* every crash point */
	size_t npts;
};

/* The check context of a state at point (harness/check.c's
 * context_key()): marks made up to the next crash point, and whether
 * --durable applies. */
static uint64_t context_of(struct lister *ls, uint64_t point)
{
	size_t lo = 0, hi = ls->npts, nops = model_nops(ls->m);
	uint64_t last = nops ? model_op(ls->m, nops - 1)->seq : 0, upto;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ls->pts[mid] <= point)
			lo = mid + 1;
		else
			hi = mid;
	}
	upto = lo < ls->npts ? ls->pts[lo] - 1 : last;
	return checks_marks_upto(ls->c, upto) << 1 |
	       (upto >= checks_durable_from(ls->c));
}

static void forget_firsts(struct map *first)
{
	size_t pos = 0;
	void *v;

	while ((v = map_next(first, &pos, NULL, NULL)))
		free(v);
	map_release(first);
}

/* List one state of pass p, unless it repeats one listed before. */
static void consider(struct lister *ls, struct explorer *x, struct pass *p,
		     const struct explore_state *st)
{
	uint64_t key = context_of(ls, st->point);
	char *same = map_get(&ls->first, st->hash, key);

	if (!same) {
		same = strdup(st->id);
		if (same && map_put(&ls->first, st->hash, key, same))
			free(same);
		same = NULL;
		p->listed++;
	} else {
		p->repeats++;
		if (!ls->o->all)
			return;
	}
	show(p->visible ? NULL : x, ls->m, st, same, ls->arr, ls->l);
}

static int run_pass(struct lister *ls, struct pass *p, const uint64_t *ctx,
		    size_t nctx)
{
	const struct persist_rules *models[2] = {p->model, NULL};
	struct explore_opts eo = ls->o->xo;
	struct explore_counts cnt;
	struct explore_state st;
	struct explorer *x;
	char err[1024];
	int n = 0;

	eo.models = models;
	eo.no_dedup = true;
	eo.skip_dominated = !ls->o->every;
	eo.ctx_seqs = ctx;
	eo.nctx = nctx;
	if (p->visible)
		eo.kinds = 1u << XK_VISIBLE;
	x = explore_new(ls->m, &eo, err, sizeof(err));
	if (!x) {
		util_err("%s", err);
		return -1;
	}
	ls->pts = explore_points(x, &ls->npts);
	if (p->visible) {
		uint64_t wb = model_last_writeback(ls->m);

		for (size_t i = 0; i < ls->npts && n >= 0; i++) {
			if (!explore_visits(x, ls->pts[i]))
				continue;
			if (ls->pts[i] < wb) {
				/* as check: not known (docs/check.md) */
				p->unknown++;
				p->points++;
				continue;
			}
			memset(&st, 0, sizeof(st));
			st.point = ls->pts[i];
			st.kind = XK_VISIBLE;
			st.model = p->model;
			snprintf(st.id, sizeof(st.id), "k%llu.visible",
				 (unsigned long long)st.point);
			n = explore_visible(x, st.point);
			if (n < 0)
				break;
			st.hash = model_hash(ls->m, model_root(ls->m));
			consider(ls, x, p, &st);
			p->points++;
		}
	} else {
		while ((n = explore_next(x, &st)) > 0)
			consider(ls, x, p, &st);
	}
	if (n < 0)
		util_err("%s", explore_error(x));
	explore_counts(x, &cnt);
	if (!p->visible)
		p->points = cnt.points;
	p->dominated = cnt.dominated;
	explore_free(&x);
	forget_firsts(&ls->first);
	return n < 0 ? -1 : 0;
}

/* The summary: check's counts, and what was left out and why. */
static void summary(const struct lister *ls, const struct pass *ps, size_t np)
{
	uint64_t listed = 0, repeats = 0, dominated = 0, points = 0;
	uint64_t unknown = 0;

	for (size_t i = 0; i < np; i++) {
		listed += ps[i].listed;
		repeats += ps[i].repeats;
		dominated += ps[i].dominated;
		unknown += ps[i].unknown;
		if (ps[i].points > points)
			points = ps[i].points;
	}
	if (ls->o->json) {
		json_t *passes = json_array();

		for (size_t i = 0; i < np; i++)
			json_array_append_new(
			    passes,
			    json_pack(
				"{s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "kind",
				ps[i].visible ? "visible" : ps[i].model->name,
				"model", ps[i].model->name, "points",
				(json_int_t)ps[i].points, "generated",
				(json_int_t)(ps[i].listed + ps[i].repeats),
				"checked", (json_int_t)ps[i].listed,
				"dominated", (json_int_t)ps[i].dominated,
				"unknown", (json_int_t)ps[i].unknown));
		json_t *top = json_pack(
		    "{s:I,s:I,s:I,s:I,s:I,s:o,s:O}", "points",
		    (json_int_t)points, "generated",
		    (json_int_t)(listed + repeats), "distinct",
		    (json_int_t)listed, "dominated", (json_int_t)dominated,
		    "unknown", (json_int_t)unknown, "passes", passes, "states",
		    ls->arr);

		json_dumpf(top, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(top);
		return;
	}
	printf("%llu crash points; listed", (unsigned long long)points);
	for (size_t i = 0; i < np; i++)
		printf("%s %llu %s%s", i ? "," : "",
		       (unsigned long long)ps[i].listed,
		       ps[i].visible ? "visible" : ps[i].model->name,
		       ps[i].visible ? "" : " crash");
	printf(" states: what crashfs check checks with these options\n");
	if (repeats)
		printf("(%llu states %s: each repeats one listed before in "
		       "its pass, same tree and marks)\n",
		       (unsigned long long)repeats,
		       ls->o->all ? "listed as \"same as\""
				  : "left out (--all lists them)");
	if (dominated)
		printf("(%llu states left out: each repeats one of an "
		       "earlier point, same tree and marks; --points every "
		       "lists them)\n",
		       (unsigned long long)dominated);
	if (unknown)
		printf("(%llu visible states left out: the program wrote "
		       "through a shared mapping, what a reader saw before "
		       "the kernel wrote its pages back is not known)\n",
		       (unsigned long long)unknown);
}

int cmd_states(int argc, char **argv)
{
	struct opts o = {0};
	struct run_info ri;
	struct model *m = NULL;
	struct explorer *x = NULL;
	struct lister ls = {.o = &o};
	struct pass ps[17];
	size_t np = 0, nctx = 0;
	uint64_t *ctx = NULL;
	const char *run = NULL;
	char err[1024];
	int ret;

	util_set_progname("crashfs states");
	ret = parse(argc, argv, &o, &run);
	if (ret >= 0)
		return ret;
	ret = 2;
	if (run_open(run, &ri, err, sizeof(err))) {
		util_err("%s", err);
		return 2;
	}
	if (!o.xo.sector)
		o.xo.sector = ri.sector;
	m = run_load(&ri, err, sizeof(err));
	if (!m) {
		util_err("%s", err);
		return errno == EBADMSG || errno == EINVAL ? 1 : 2;
	}
	if (model_truncated(m))
		util_warn("trace '%s' ends in a partial record (the daemon "
			  "was killed?): using the %zu whole records",
			  ri.trace, model_nops(m));
	ls.m = m;
	ls.l = malloc(MAX_LOSSES * sizeof(*ls.l));
	ls.c = checks_new(m, NULL, NULL, err, sizeof(err));
	if (!ls.l || !ls.c) {
		util_err("%s", ls.c ? "out of memory" : err);
		goto out;
	}
	if (o.points) {
		o.xo.models = o.models;
		x = explore_new(m, &o.xo, err, sizeof(err));
		if (!x) {
			util_err("%s", err);
			goto out;
		}
		list_points(x, m, o.json);
		ret = 0;
		goto out;
	}
	/* the context seqs check gives the explorer: marks, durable start */
	ctx = malloc((checks_nmarks(ls.c) + 1) * sizeof(*ctx));
	if (!ctx) {
		util_err("out of memory");
		goto out;
	}
	for (size_t i = 0; i < checks_nmarks(ls.c); i++)
		ctx[nctx++] = checks_mark(ls.c, i)->seq;
	ctx[nctx++] = checks_durable_from(ls.c);
	if (!o.xo.kinds || (o.xo.kinds & (1u << XK_VISIBLE)))
		ps[np++] = (struct pass){.model = o.models[0], .visible = true};
	for (size_t i = 0; i < o.nmodels; i++)
		ps[np++] = (struct pass){.model = o.models[i]};
	if (o.json)
		ls.arr = json_array();
	for (size_t i = 0; i < np; i++)
		if (run_pass(&ls, &ps[i], ctx, nctx) < 0)
			goto out;
	summary(&ls, ps, np);
	ret = 0;
out:
	forget_firsts(&ls.first);
	free(ctx);
	json_decref(ls.arr);
	free(ls.l);
	checks_free(&ls.c);
	explore_free(&x);
	model_free(&m);
	return ret;
}
