/* SPDX-License-Identifier: MIT */
/** @file
 *
 * `crashfs states RUN`: list the crash states of a recorded run, with what
 * each dropped or tore, as text or JSON.
 */
#include "cli/cmd.h"
#include "core/map.h"
#include "core/util.h"
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
		   "  --points          list the crash points instead\n"
		   "  --all             also list states identical to one "
		   "listed before\n"
		   "  --max-prefixes N  metadata prefixes per point (16)\n"
		   "  --max-writes N    pending writes varied per point (16)\n"
		   "  --random N        seeded random states per point (0)\n"
		   "  --seed S          seed of the random states (0)\n"
		   "  --sector BYTES    torn-write granularity (the trace's, "
		   "or 512)\n"
		   "  --json            JSON on stdout\n"
		   "\n"
		   "Rebuild a state with 'crashfs replay RUN --state ID -o "
		   "DIR'.\n");
}

struct opts {
	const struct persist_rules *models[16];
	size_t nmodels;
	struct explore_opts xo;
	bool json, all, points;
};

static int parse(int argc, char **argv, struct opts *o, const char **run)
{
	static const struct option longs[] = {
	    {"model", required_argument, NULL, 'm'},
	    {"point", required_argument, NULL, 'k'},
	    {"kind", required_argument, NULL, 'K'},
	    {"points", no_argument, NULL, 'P'},
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
		case 'a': o->all = true; break;
		case 'j': o->json = true; break;
		case 'p':
		case 'w':
		case 'r':
			if (util_parse_u64(optarg, 1, 1000000, &v))
				goto out_num;
			if (c == 'p')
				o->xo.max_prefixes = (unsigned)v;
			else if (c == 'w')
				o->xo.max_writes = (unsigned)v;
			else
				o->xo.random = (unsigned)v;
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
		case ':':
			util_err("option '%s' needs an argument",
				 argv[optind - 1]);
			goto out_help;
		default:
			if (optopt)
				util_err("unknown option '-%c'", optopt);
			else
				util_err("unknown option '%s'",
					 argv[optind - 1]);
			goto out_help;
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
	o->xo.models = o->nmodels ? o->models : NULL;
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

/* One state: a text line (plus its losses) or a JSON object. */
static void show(struct explorer *x, struct model *m,
		 const struct explore_state *st, const char *same, json_t *arr,
		 struct explore_loss *l)
{
	size_t n = explore_losses(x, st, l, MAX_LOSSES);
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

int cmd_states(int argc, char **argv)
{
	struct opts o = {0};
	struct run_info ri;
	struct model *m = NULL;
	struct explorer *x = NULL;
	struct explore_state st;
	struct explore_counts c;
	struct explore_loss *l = NULL;
	struct map first = {0};
	const char *run = NULL;
	json_t *arr = NULL;
	char err[1024];
	int ret, n;

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
	x = explore_new(m, &o.xo, err, sizeof(err));
	l = malloc(MAX_LOSSES * sizeof(*l));
	if (!x || !l) {
		util_err("%s", x ? "out of memory" : err);
		goto out;
	}
	if (o.points) {
		list_points(x, m, o.json);
		ret = 0;
		goto out;
	}
	if (o.json)
		arr = json_array();
	while ((n = explore_next(x, &st)) > 0) {
		char *same = map_get(&first, st.hash, 0);

		if (!same) {
			same = strdup(st.id);
			if (same)
				map_put(&first, st.hash, 0, same);
			same = NULL;
		} else if (!o.all) {
			continue;
		}
		show(x, m, &st, same, arr, l);
	}
	if (n < 0) {
		util_err("%s", explore_error(x));
		goto out;
	}
	explore_counts(x, &c);
	if (arr) {
		json_t *top = json_pack("{s:I,s:I,s:I,s:o}", "points",
					(json_int_t)c.points, "generated",
					(json_int_t)c.generated, "distinct",
					(json_int_t)c.distinct, "states", arr);

		arr = NULL;
		json_dumpf(top, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(top);
	} else {
		printf("%llu crash points, %llu states generated, %llu "
		       "distinct\n",
		       (unsigned long long)c.points,
		       (unsigned long long)c.generated,
		       (unsigned long long)c.distinct);
	}
	ret = 0;
out : {
	size_t pos = 0;
	void *v;

	while ((v = map_next(&first, &pos, NULL, NULL)))
		free(v);
	map_release(&first);
}
	json_decref(arr);
	free(l);
	explore_free(&x);
	model_free(&m);
	return ret;
}
