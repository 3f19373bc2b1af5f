/* SPDX-License-Identifier: MIT */
/** @file
 *
 * `crashfs check`: the command line of harness/check.
 *
 *	crashfs check [options] -- CMD ARGS...
 *	crashfs check [options] FILE.ini...
 *
 * Exit status: 0 every state consistent (or every scenario as expected),
 * 1 a violation (or a scenario whose verdict differs from its
 * expectation), 2 a usage or setup error (a failed workload included).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "core/persist.h"
#include "core/util.h"
#include "harness/check.h"
#include "harness/report.h"
#include "harness/scenario.h"
#include "harness/workload.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: crashfs check [options] -- CMD ARGS...\n"
	    "       crashfs check [options] FILE.ini...\n"
	    "\n"
	    "Run a program on a fresh recording crashfs mount, then check "
	    "every state\n"
	    "a crash could leave behind: visible states (kill -9, concurrent "
	    "readers)\n"
	    "and crash states (power loss) under each persistence model.\n"
	    "\n"
	    "what to check (command form):\n"
	    "  --atomic PATH       PATH always holds its initial, final or a "
	    "marked\n"
	    "                      version (repeatable)\n"
	    "  --durable PATH      from the last mark on, PATH holds its final "
	    "version\n"
	    "                      (repeatable)\n"
	    "  --check CMD         external checker, sh -c in a copy of each "
	    "state;\n"
	    "                      env CRASHFS_STATE, CRASHFS_MARKS, "
	    "CRASHFS_POINT;\n"
	    "                      exit 0 = consistent\n"
	    "  --expect EXPR       expected verdict: pass, or fail: "
	    "CHECK(KINDS)...\n"
	    "the initial state (command form):\n"
	    "  --from DIR          start from a copy of DIR (default: empty)\n"
	    "  --setup CMD         run CMD (sh -c) in the initial directory "
	    "first\n"
	    "exploration:\n"
	    "  --model M           persistence model, repeatable (default "
	    "posix):\n"
	    "                      posix, ext4, strict, prefix\n"
	    "  --states S          visible, crash or all (default all)\n"
	    "  --max-states N      at most N distinct states per model\n"
	    "  --seed S            seed of the random crash states\n"
	    "  --shard K/N         check only shard K (1..N) of the states\n"
	    "  -j, --jobs N        external checkers at once (default: cores)\n"
	    "  --timeout SECS      workload timeout (default 600)\n"
	    "  --check-timeout SECS  per external check (default 30)\n"
	    "output:\n"
	    "  --report FORMAT     text, json or junit (default text)\n"
	    "  -o FILE             write the report to FILE\n"
	    "  --keep DIR          keep the run (trace + initial image) in DIR "
	    "so\n"
	    "                      `crashfs replay DIR --state ID -o OUT` "
	    "works later\n"
	    "  --run RUN           check a run recorded earlier (--keep) "
	    "instead of\n"
	    "                      running a workload: same states, other "
	    "checks, or\n"
	    "                      one shard per machine\n"
	    "  --privileged        write the states for --check exactly as "
	    "recorded:\n"
	    "                      setuid/setgid bits, owners, device nodes, "
	    "every\n"
	    "                      xattr (default: left out, with a warning; "
	    "see\n"
	    "                      docs/threat-model.md)\n"
	    "  -v, --verbose       say what happens\n"
	    "\n"
	    "The workload runs with cwd = the mount and CRASHFS_MOUNT set; it "
	    "calls\n"
	    "`crashfs mark TEXT` when it acknowledges something.  Scenario "
	    "files are\n"
	    "described in docs/scenarios.md.\n"
	    "Exit status: 0 consistent (or as expected), 1 violation (or not "
	    "as\n"
	    "expected), 2 usage or setup error.\n");
}

enum {
	OPT_ATOMIC = 256,
	OPT_DURABLE,
	OPT_CHECK,
	OPT_MODEL,
	OPT_STATES,
	OPT_MAX_STATES,
	OPT_SEED,
	OPT_SHARD,
	OPT_TIMEOUT,
	OPT_CHECK_TIMEOUT,
	OPT_REPORT,
	OPT_KEEP,
	OPT_SETUP,
	OPT_FROM,
	OPT_EXPECT,
	OPT_RUN,
	OPT_PRIVILEGED,
};

static const struct option options[] = {
    {"atomic", required_argument, NULL, OPT_ATOMIC},
    {"durable", required_argument, NULL, OPT_DURABLE},
    {"check", required_argument, NULL, OPT_CHECK},
    {"model", required_argument, NULL, OPT_MODEL},
    {"states", required_argument, NULL, OPT_STATES},
    {"max-states", required_argument, NULL, OPT_MAX_STATES},
    {"seed", required_argument, NULL, OPT_SEED},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"jobs", required_argument, NULL, 'j'},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"check-timeout", required_argument, NULL, OPT_CHECK_TIMEOUT},
    {"report", required_argument, NULL, OPT_REPORT},
    {"output", required_argument, NULL, 'o'},
    {"keep", required_argument, NULL, OPT_KEEP},
    {"setup", required_argument, NULL, OPT_SETUP},
    {"from", required_argument, NULL, OPT_FROM},
    {"expect", required_argument, NULL, OPT_EXPECT},
    {"run", required_argument, NULL, OPT_RUN},
    {"privileged", no_argument, NULL, OPT_PRIVILEGED},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* What the command line says, before it becomes scenarios. */
struct cli {
	struct scenario *cmd; /* the command-form scenario */
	bool cmd_opts;	      /* an option only the command form takes */
	bool models_given;
	const char *expect;
	enum report_format fmt;
	const char *out;
	struct check_opts o;
};

static int bad(const char *fmt, const char *arg)
{
	util_err(fmt, arg);
	return 2;
}

static int parse_shard(const char *s, unsigned *k, unsigned *n)
{
	unsigned a, b;
	char c;

	if (sscanf(s, "%u/%u%c", &a, &b, &c) != 2 || !b || !a || a > b)
		return -EINVAL;
	*k = a - 1;
	*n = b;
	return 0;
}

static int parse_args(int argc, char **argv, struct cli *c, int *first)
{
	struct scenario *s = c->cmd;
	uint64_t n;
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+j:o:vh", options, NULL)) !=
	       -1) {
		switch (opt) {
		case OPT_ATOMIC:
		case OPT_DURABLE:
			if (!scenario_path_ok(optarg))
				return bad(
				    "path '%s' is outside the state "
				    "(give a relative path without '..')",
				    optarg);
			if (strv_push(opt == OPT_ATOMIC ? &s->atomic
							: &s->durable,
				      optarg) < 0)
				return bad("%s", "out of memory");
			c->cmd_opts = true;
			break;
		case OPT_CHECK:
			free(s->check);
			s->check = strdup(optarg);
			c->cmd_opts = true;
			break;
		case OPT_SETUP:
			free(s->setup);
			s->setup = strdup(optarg);
			c->cmd_opts = true;
			break;
		case OPT_FROM:
			free(s->from);
			s->from = strdup(optarg);
			c->cmd_opts = true;
			break;
		case OPT_EXPECT:
			c->expect = optarg;
			c->cmd_opts = true;
			break;
		case OPT_MODEL:
			if (!persist_find(optarg))
				return bad("unknown model '%s' (posix, ext4, "
					   "strict or prefix)",
					   optarg);
			if (!c->models_given)
				strv_release(&s->models);
			c->models_given = true;
			if (s->models.len >= SCN_MAX_MODELS)
				return bad("%s", "too many --model options");
			strv_push(&s->models, optarg);
			break;
		case OPT_STATES:
			if (!strcmp(optarg, "all"))
				s->states = SCN_STATES_ALL;
			else if (!strcmp(optarg, "visible"))
				s->states = SCN_STATES_VISIBLE;
			else if (!strcmp(optarg, "crash"))
				s->states = SCN_STATES_CRASH;
			else
				return bad("--states must be visible, crash or "
					   "all, not '%s'",
					   optarg);
			c->cmd_opts = true;
			break;
		case OPT_MAX_STATES:
			if (util_parse_u64(optarg, 1, UINT32_MAX, &n) < 0)
				return bad("--max-states wants a positive "
					   "number, not '%s'",
					   optarg);
			c->o.max_states = n;
			break;
		case OPT_SEED:
			if (util_parse_u64(optarg, 0, UINT64_MAX, &c->o.seed) <
			    0)
				return bad("--seed wants a number, not '%s'",
					   optarg);
			break;
		case OPT_SHARD:
			if (parse_shard(optarg, &c->o.shard_k, &c->o.shard_n) <
			    0)
				return bad(
				    "--shard wants K/N with 1 <= K <= N, "
				    "not '%s'",
				    optarg);
			break;
		case 'j':
			if (util_parse_u64(optarg, 1, 64, &n) < 0)
				return bad("--jobs wants 1 to 64, not '%s'",
					   optarg);
			c->o.jobs = n;
			break;
		case OPT_TIMEOUT:
		case OPT_CHECK_TIMEOUT:
			if (util_parse_u64(optarg, 1, 86400, &n) < 0)
				return bad("a timeout wants seconds (1 to "
					   "86400), not '%s'",
					   optarg);
			if (opt == OPT_TIMEOUT)
				c->o.timeout = n;
			else
				c->o.check_timeout = n;
			break;
		case OPT_REPORT:
			if (report_parse_format(optarg, &c->fmt) < 0)
				return bad("--report must be text, json or "
					   "junit, not '%s'",
					   optarg);
			break;
		case 'o': c->out = optarg; break;
		case OPT_KEEP: c->o.keep = optarg; break;
		case OPT_RUN:
			c->o.recorded = optarg;
			c->cmd_opts = true;
			break;
		case OPT_PRIVILEGED: c->o.privileged = true; break;
		case 'v': c->o.verbose = true; break;
		case 'h': usage(stdout); return 0;
		default:
			if (optopt)
				util_err("option '-%c' %s", optopt,
					 strchr("jo", optopt) ? "needs a value"
							      : "is unknown");
			else
				util_err("unknown or incomplete option '%s'",
					 argv[optind - 1]);
			fprintf(stderr, "see 'crashfs check --help'\n");
			return 2;
		}
	}
	*first = optind;
	return -1;
}

/* Build the command-form scenario; returns 0 or an exit status. */
static int command_form(struct cli *c, char **argv, int argc)
{
	struct scenario *s = c->cmd;
	size_t len = 0;
	char err[256];

	if (!s->atomic.len && !s->durable.len && !s->check) {
		util_err("nothing to check: give --atomic PATH, --durable "
			 "PATH or --check CMD");
		return 2;
	}
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s->run = calloc(1, len + 1);
	s->name = strdup("command");
	if (!s->run || !s->name)
		return bad("%s", "out of memory");
	for (int i = 0; i < argc; i++) {
		strcat(s->run, argv[i]);
		if (i + 1 < argc)
			strcat(s->run, " ");
	}
	if (c->expect &&
	    scenario_parse_expect(s, c->expect, err, sizeof(err)) < 0) {
		util_err("--expect: %s", err);
		return 2;
	}
	c->o.argv = argv;
	c->o.keep_is_run = true;
	return 0;
}

static int run_all(struct cli *c, struct scenario **items, size_t n)
{
	struct check_result *res = calloc(n ? n : 1, sizeof(*res));
	struct report_opts ro = {.self = "crashfs"};
	FILE *f = stdout;
	int status = 0;

	if (!res)
		return bad("%s", "out of memory");
	for (size_t i = 0; i < n && !workload_interrupted(); i++) {
		if (c->o.verbose || (n > 1 && isatty(2)))
			fprintf(stderr, "crashfs check: %s\n", items[i]->name);
		check_scenario(items[i], &c->o, &res[i]);
		if (res[i].error)
			status = 2;
		else if (!check_result_ok(&res[i]) && status == 0)
			status = 1;
	}
	if (workload_interrupted()) {
		util_err("interrupted");
		status = 2;
	}
	if (c->out) {
		f = fopen(c->out, "w");
		if (!f) {
			util_err("cannot write report '%s': %s", c->out,
				 strerror(errno));
			status = 2;
			goto out;
		}
	}
	ro.color = f == stdout && c->fmt == REPORT_TEXT && isatty(1);
	for (size_t i = 0; i < n; i++)
		if (!res[i].s)
			res[i].s = items[i];
	if (report_write(c->fmt, res, n, &ro, f) < 0) {
		util_err("cannot write the report: %s", strerror(errno));
		status = 2;
	}
	if (f != stdout && fclose(f) != 0) {
		util_err("cannot write report '%s': %s", c->out,
			 strerror(errno));
		status = 2;
	}
	for (size_t i = 0; i < n; i++)
		if (res[i].error && c->fmt != REPORT_TEXT)
			util_err("%s: %s", res[i].s->name, res[i].errmsg);
out:
	for (size_t i = 0; i < n; i++)
		check_result_release(&res[i]);
	free(res);
	return status;
}

int cmd_check(int argc, char **argv)
{
	struct cli c = {0};
	struct scenario_list l = {0};
	int first = 0, rc, dashdash = 0;
	long nproc = sysconf(_SC_NPROCESSORS_ONLN);

	util_set_progname("crashfs check");
	c.cmd = scenario_new();
	if (!c.cmd)
		return bad("%s", "out of memory");
	c.o.jobs = nproc > 0 ? (nproc > 64 ? 64 : nproc) : 1;
	c.o.progress = isatty(2);
	c.o.self = workload_self();
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			dashdash = i;
			break;
		}
	rc = parse_args(dashdash ? dashdash : argc, argv, &c, &first);
	if (rc >= 0)
		goto out;
	workload_catch_signals();
	if (c.o.recorded) {
		if (dashdash || first < argc || c.cmd->setup || c.cmd->from ||
		    c.o.keep) {
			rc = bad("%s",
				 "--run checks a recorded run: no '-- CMD', "
				 "scenario file, --setup, --from or --keep");
			goto out;
		}
		rc = command_form(&c, NULL, 0);
		if (rc)
			goto out;
		free(c.cmd->run);
		if (asprintf(&c.cmd->run, "recorded run %s", c.o.recorded) < 0)
			c.cmd->run = NULL;
		rc = run_all(&c, &c.cmd, 1);
		goto out;
	}
	if (dashdash) {
		if (first != dashdash) {
			rc = bad("scenario files and '-- CMD' do not mix "
				 "('%s')",
				 argv[first]);
			goto out;
		}
		if (dashdash + 1 >= argc) {
			rc = bad("%s", "no command after '--'");
			goto out;
		}
		rc = command_form(&c, argv + dashdash + 1, argc - dashdash - 1);
		if (rc)
			goto out;
		rc = run_all(&c, &c.cmd, 1);
		goto out;
	}
	if (first >= argc) {
		usage(stderr);
		rc = 2;
		goto out;
	}
	if (c.cmd_opts || c.models_given) {
		rc = bad("%s", "--atomic, --durable, --check, --setup, --from, "
			       "--model, --states and --expect belong to the "
			       "'-- CMD' form; scenario files carry their own");
		goto out;
	}
	for (int i = first; i < argc; i++) {
		char err[1024];

		if (scenario_load(argv[i], &l, err, sizeof(err)) < 0) {
			if (workload_interrupted())
				util_err("interrupted");
			else
				util_err("%s", err);
			rc = 2;
			goto out;
		}
	}
	rc = run_all(&c, l.items, l.len);
out:
	scenario_list_release(&l);
	scenario_free(&c.cmd);
	return rc;
}
