/* SPDX-License-Identifier: MIT */
/** @file
 *
 * `crashfs replay RUN`: rebuild one crash state (--state ID) or visible
 * state (--point K) of a recorded run as a directory, or check that
 * replaying the whole trace gives the directory the daemon left behind
 * (--verify BACKING).
 *
 * A trace may come from anywhere: unless --privileged, the state holds
 * no setuid/setgid file, device node, other user's file or non-user
 * xattr (see harness/materialize.h), and what was changed is listed on
 * stderr.
 */
#include "cli/cmd.h"
#include "core/util.h"
#include "harness/explore.h"
#include "harness/materialize.h"
#include "harness/run.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: crashfs replay RUN --state ID -o DIR\n"
		"       crashfs replay RUN --point K -o DIR\n"
		"       crashfs replay RUN --verify BACKING [--point K]\n"
		"\n"
		"  --state ID    the crash state ID (from 'crashfs states' or "
		"a report)\n"
		"  --point K     the visible state after op #K (0: the "
		"initial image)\n"
		"  -o DIR        where to build it (must not exist, or be "
		"empty)\n"
		"  --privileged  build it exactly as recorded: setuid/setgid "
		"bits, owners,\n"
		"                device nodes, every xattr namespace (as root; "
		"by default\n"
		"                these are left out and listed, see "
		"docs/threat-model.md)\n"
		"  --verify DIR  compare the replay of the whole trace (or "
		"up to K) with DIR,\n"
		"                e.g. the backing directory of the recorded "
		"mount; exit 1 if\n"
		"                they differ\n");
}

static int see_help(void)
{
	fprintf(stderr, "see 'crashfs replay --help'\n");
	return 2;
}

/*
 * The arguments left after the options (nargs of them in args) and the
 * options given: 0 when they make one of the three forms, else 2 after a
 * message that names what is missing or too much.
 */
static int check_args(int nargs, char **args, const char *state, bool point,
		      const char *verify, const char *out, bool privileged)
{
	if (nargs == 0)
		util_err("missing RUN: the directory 'crashfs check --keep' "
			 "made, or a trace");
	else if (nargs > 1)
		util_err("unexpected argument '%s' after RUN '%s'", args[1],
			 args[0]);
	else if (verify && (state || out || privileged))
		util_err("--verify compares with a directory and builds "
			 "nothing: it takes no %s",
			 state ? "--state"
			 : out ? "-o"
			       : "--privileged");
	else if (state && point)
		util_err("--state and --point both say which state: give one "
			 "(a crash state ID already names its crash point)");
	else if (!state && !point && !verify)
		util_err("which state? give --state ID (a crash state), "
			 "--point K (the visible state after op #K) or "
			 "--verify DIR");
	else if (!verify && !out)
		util_err("%s needs -o DIR: the directory to build the state "
			 "in",
			 state ? "--state" : "--point");
	else
		return 0;
	return see_help();
}

/* List what the state leaves out of the trace (on stderr). */
static void say_changes(const struct materializer *mt, const char *out,
			bool privileged)
{
	const struct materialize_changes *ch = materialize_changes(mt);
	bool any = false;

	for (int c = 0; c < MT_NCHANGES; c++)
		any |= ch->n[c] != 0;
	if (!any)
		return;
	util_warn(
	    "the state in '%s' is not exactly the recorded one (%s):", out,
	    privileged ? "some of it needs root"
		       : "for safety; --privileged writes it as "
			 "recorded");
	for (int c = 0; c < MT_NCHANGES; c++)
		if (ch->n[c])
			fprintf(stderr, "  %s: %lu (first '%s')\n",
				materialize_change_name(c), ch->n[c],
				ch->first[c]);
}

int cmd_replay(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"state", required_argument, NULL, 's'},
	    {"point", required_argument, NULL, 'k'},
	    {"output", required_argument, NULL, 'o'},
	    {"verify", required_argument, NULL, 'V'},
	    {"privileged", no_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	const char *state = NULL, *out = NULL, *verify = NULL;
	struct materializer *mt = NULL;
	struct explorer *x = NULL;
	struct model *m = NULL;
	struct explore_state st;
	struct run_info ri;
	struct explore_opts xo = {0};
	bool point = false, privileged = false;
	uint64_t k = 0;
	char err[1024], report[4096];
	int c, ret = 2;

	util_set_progname("crashfs replay");
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:", longs, NULL)) != -1) {
		switch (c) {
		case 's': state = optarg; break;
		case 'o': out = optarg; break;
		case 'V': verify = optarg; break;
		case 'P': privileged = true; break;
		case 'k':
			if (util_parse_u64(optarg, 0, UINT64_MAX, &k)) {
				util_err("invalid op number '%s' for --point",
					 optarg);
				return 2;
			}
			point = true;
			break;
		case 'h': usage(stdout); return 0;
		default: return cmd_refused("replay", argv, c);
		}
	}
	c = check_args(argc - optind, argv + optind, state, point, verify, out,
		       privileged);
	if (c)
		return c;
	if (run_open(argv[optind], &ri, err, sizeof(err))) {
		util_err("%s", err);
		return 2;
	}
	m = run_load(&ri, err, sizeof(err));
	if (!m) {
		util_err("%s", err);
		return errno == EBADMSG || errno == EINVAL ? 1 : 2;
	}
	xo.sector = ri.sector;
	x = explore_new(m, &xo, err, sizeof(err));
	if (!x) {
		util_err("%s", err);
		goto out;
	}
	if (state)
		c = explore_goto(x, state, &st);
	else
		c = explore_visible(x, point ? k : model_nops(m));
	if (c) {
		util_err("%s", explore_error(x));
		goto out;
	}
	if (verify) {
		c = materialize_verify(m, verify, report, sizeof(report));
		if (c < 0) {
			util_err("cannot verify against '%s': %s", verify,
				 strerror(-c));
			goto out;
		}
		if (c) {
			printf("replay differs from '%s' in %d place%s:\n%s",
			       verify, c, c == 1 ? "" : "s", report);
			ret = 1;
		} else {
			printf("replay matches '%s'\n", verify);
			ret = 0;
		}
		goto out;
	}
	mt = materialize_new(out, err, sizeof(err));
	if (!mt) {
		util_err("%s", err);
		goto out;
	}
	materialize_set_flags(mt, MT_QUIET | (privileged ? MT_PRIVILEGED : 0));
	if (materialize_sync(mt, m, err, sizeof(err))) {
		util_err("cannot build the state in '%s': %s", out, err);
		goto out;
	}
	say_changes(mt, out, privileged);
	ret = 0;
out:
	materialize_free(&mt);
	explore_free(&x);
	model_free(&m);
	return ret;
}
