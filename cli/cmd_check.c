/* SPDX-License-Identifier: MIT */
/** @file
 *
 * `crashfs check`: the command line of harness/check.
 *
 *	crashfs check [options] -- CMD ARGS...
 *	crashfs check [options] FILE.ini...
 *
 * Options may come before or after the scenario files (GNU style);
 * `--` ends them, and what follows is the command.
 *
 * Exit status: 0 every state consistent (or every scenario as expected),
 * 1 a violation (or a scenario whose verdict differs from its
 * expectation), 2 a usage or setup error (a failed workload included),
 * 3 incomplete (a bound stopped the exploration), 128 + N after signal N
 * (130 for Ctrl-C).
 *
 * Reports go to stdout (or -o FILE) and to --json/--junit FILEs; stdout
 * carries nothing else: the workload's output goes to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "core/persist.h"
#include "core/util.h"
#include "harness/check.h"
#include "harness/explore.h"
#include "harness/report.h"
#include "harness/scenario.h"
#include "harness/workload.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: crashfs check [options] -- CMD ARGS...\n"
	    "       crashfs check [options] FILE.ini... [options]\n"
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
	    "                      exit 0 = consistent; ./prog is taken from "
	    "the current\n"
	    "                      directory; it must pass on the initial "
	    "state\n"
	    "  --check-server CMD  external checker started once per job and "
	    "handed\n"
	    "                      state after state on its stdin: it says "
	    "'ready',\n"
	    "                      then reads "
	    "'STATE<tab>MARKS<tab>POINT<tab>ID'"
	    " lines\n"
	    "                      and answers 'ok' or 'fail MESSAGE' "
	    "(docs/check.md)\n"
	    "  --expect EXPR       expected verdict: pass, or fail: "
	    "CHECK(KINDS)...\n"
	    "  --name NAME         the check's name in reports (default: "
	    "from CMD)\n"
	    "the initial state (command form):\n"
	    "  --from DIR          start from a copy of DIR (default: empty)\n"
	    "  --setup CMD         run CMD (sh -c) in the initial directory "
	    "first\n"
	    "exploration:\n"
	    "  --model M           persistence model, repeatable (default "
	    "posix):\n"
	    "                      posix, ext4, strict, prefix\n"
	    "  --states S          visible, crash or all (default all)\n"
	    "  --max-states N      at most N distinct states per kind; a "
	    "check it cuts\n"
	    "                      short is incomplete (exit 3)\n"
	    "  --max-time SECS     stop exploring after SECS seconds "
	    "(incomplete)\n"
	    "  --allow-partial     an incomplete check without violations "
	    "exits 0\n"
	    "  --seed S            seed of the random crash states\n"
	    "  --points P          crash points: all (default), sync (after "
	    "each sync\n"
	    "                      and mark), marks (at each mark), or every "
	    "(all,\n"
	    "                      with the states that repeat an earlier "
	    "point's)\n"
	    "  --shard K/N         check only shard K (1..N) of the states\n"
	    "  -j, --jobs N        external checkers at once (default: cores)\n"
	    "  --timeout SECS      workload timeout (default 600)\n"
	    "  --no-sync-watch     do not watch the workload's sync(2), "
	    "syncfs(2)\n"
	    "                      and sync_file_range(2) (seccomp): they "
	    "are then\n"
	    "                      not seen, and setuid programs keep their "
	    "privileges\n"
	    "  --check-timeout SECS  per external check (default 30)\n"
	    "  --state-dir DIR     write the states external checkers read "
	    "in a private\n"
	    "                      directory under DIR (removed at the end), "
	    "e.g. /dev/shm,\n"
	    "                      not in the run directory (default: "
	    "RUN/states, or\n"
	    "                      $TMPDIR for a run that is not kept)\n"
	    "output:\n"
	    "  --report FORMAT     text, json or junit on stdout (default "
	    "text)\n"
	    "  -o, --output FILE   write that report to FILE instead\n"
	    "  --json FILE         also write the JSON report to FILE\n"
	    "  --junit FILE        also write the JUnit XML report to FILE\n"
	    "  --color WHEN        auto, always or never (auto: on a terminal "
	    "without\n"
	    "                      NO_COLOR)\n"
	    "  -q, --quiet         one verdict line per scenario, no progress\n"
	    "  --keep DIR          keep the run (trace + initial image) in DIR "
	    "so\n"
	    "                      `crashfs replay DIR --state ID -o OUT` "
	    "works later\n"
	    "                      (state ids change with every recording: "
	    "use --keep\n"
	    "                      in CI to replay what a log shows)\n"
	    "  --run RUN           check a run recorded earlier (--keep) or a "
	    "bare\n"
	    "                      trace instead of running a workload\n"
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
	    "`crashfs mark TEXT` when it acknowledges something.  Its output "
	    "goes to\n"
	    "stderr, never into a report.  Scenario files are described in "
	    "docs/scenarios.md.\n"
	    "Exit status: 0 consistent (or as expected), 1 violation (or not "
	    "as\n"
	    "expected), 2 usage or setup error, 3 incomplete (a bound "
	    "stopped the\n"
	    "exploration; no violation in the states checked), 130 "
	    "interrupted.\n");
}

enum {
	OPT_ATOMIC = 256,
	OPT_DURABLE,
	OPT_CHECK,
	OPT_CHECK_SERVER,
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
	OPT_NO_SYNC_WATCH,
	OPT_MAX_TIME,
	OPT_ALLOW_PARTIAL,
	OPT_JSON,
	OPT_JUNIT,
	OPT_NAME,
	OPT_COLOR,
	OPT_POINTS,
	OPT_PRIVILEGED,
	OPT_STATE_DIR,
};

static const struct option options[] = {
    {"atomic", required_argument, NULL, OPT_ATOMIC},
    {"durable", required_argument, NULL, OPT_DURABLE},
    {"check", required_argument, NULL, OPT_CHECK},
    {"check-server", required_argument, NULL, OPT_CHECK_SERVER},
    {"model", required_argument, NULL, OPT_MODEL},
    {"states", required_argument, NULL, OPT_STATES},
    {"max-states", required_argument, NULL, OPT_MAX_STATES},
    {"max-time", required_argument, NULL, OPT_MAX_TIME},
    {"allow-partial", no_argument, NULL, OPT_ALLOW_PARTIAL},
    {"seed", required_argument, NULL, OPT_SEED},
    {"points", required_argument, NULL, OPT_POINTS},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"jobs", required_argument, NULL, 'j'},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"check-timeout", required_argument, NULL, OPT_CHECK_TIMEOUT},
    {"report", required_argument, NULL, OPT_REPORT},
    {"output", required_argument, NULL, 'o'},
    {"json", required_argument, NULL, OPT_JSON},
    {"junit", required_argument, NULL, OPT_JUNIT},
    {"name", required_argument, NULL, OPT_NAME},
    {"color", required_argument, NULL, OPT_COLOR},
    {"colour", required_argument, NULL, OPT_COLOR},
    {"quiet", no_argument, NULL, 'q'},
    {"keep", required_argument, NULL, OPT_KEEP},
    {"setup", required_argument, NULL, OPT_SETUP},
    {"from", required_argument, NULL, OPT_FROM},
    {"expect", required_argument, NULL, OPT_EXPECT},
    {"run", required_argument, NULL, OPT_RUN},
    {"no-sync-watch", no_argument, NULL, OPT_NO_SYNC_WATCH},
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
	const char *name; /* --name */
	enum report_format fmt;
	const char *out;   /* -o: the --report goes there */
	const char *json;  /* --json FILE */
	const char *junit; /* --junit FILE */
	int color;	   /* -1 auto, 0 never, 1 always */
	bool quiet;
	struct check_opts o;
};

static int bad(const char *fmt, const char *arg)
{
	util_err(fmt, arg);
	fprintf(stderr, "see 'crashfs check --help'\n");
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

/* The name an option was given as, for messages ("--durable", "-j"). */
static const char *opt_name(int opt, char *buf, size_t len)
{
	for (const struct option *o = options; o->name; o++)
		if (o->val == opt) {
			snprintf(buf, len, "--%s", o->name);
			return buf;
		}
	snprintf(buf, len, "-%c", opt);
	return buf;
}

/* A path option's value: inside the state. */
static int path_opt(struct cli *c, int opt, const char *arg)
{
	struct scenario *s = c->cmd;

	if (!scenario_path_ok(arg))
		return bad("path '%s' is outside the state "
			   "(give a relative path without '..')",
			   arg);
	if (strv_push(opt == OPT_ATOMIC ? &s->atomic : &s->durable, arg) < 0)
		return bad("%s", "out of memory");
	c->cmd_opts = true;
	return -1;
}

/* One option of the command form's scenario: -1 on, or an exit status. */
static int scenario_opt(struct cli *c, int opt, const char *arg)
{
	struct scenario *s = c->cmd;
	char **slot = opt == OPT_CHECK || opt == OPT_CHECK_SERVER ? &s->check
		      : opt == OPT_SETUP			  ? &s->setup
								  : &s->from;

	switch (opt) {
	case OPT_CHECK:
	case OPT_CHECK_SERVER:
		if (s->check && s->check_server != (opt == OPT_CHECK_SERVER))
			return bad("%s", "--check and --check-server do not "
					 "mix: one external checker");
		s->check_server = opt == OPT_CHECK_SERVER;
		free(*slot);
		*slot = strdup(arg);
		if (!*slot)
			return bad("%s", "out of memory");
		break;
	case OPT_ATOMIC:
	case OPT_DURABLE: return path_opt(c, opt, arg);
	case OPT_MODEL:
		if (!persist_find(arg))
			return bad("unknown model '%s' (posix, ext4, strict "
				   "or prefix)",
				   arg);
		if (!c->models_given)
			strv_release(&s->models);
		c->models_given = true;
		if (s->models.len >= SCN_MAX_MODELS)
			return bad("%s", "too many --model options");
		strv_push(&s->models, arg);
		return -1;
	case OPT_STATES:
		if (!strcmp(arg, "all"))
			s->states = SCN_STATES_ALL;
		else if (!strcmp(arg, "visible"))
			s->states = SCN_STATES_VISIBLE;
		else if (!strcmp(arg, "crash"))
			s->states = SCN_STATES_CRASH;
		else
			return bad("--states must be visible, crash or all, "
				   "not '%s'",
				   arg);
		c->cmd_opts = true;
		return -1;
	case OPT_EXPECT: c->expect = arg; break;
	case OPT_NAME: c->name = arg; break;
	case OPT_RUN: c->o.recorded = arg; break;
	default:
		free(*slot);
		*slot = strdup(arg);
		if (!*slot)
			return bad("%s", "out of memory");
	}
	c->cmd_opts = true;
	return -1;
}

/* A number option: -1 on, or an exit status. */
static int number_opt(struct cli *c, int opt, const char *arg)
{
	uint64_t n;

	switch (opt) {
	case OPT_MAX_STATES:
		if (util_parse_u64(arg, 1, UINT32_MAX, &n) < 0)
			return bad("--max-states wants a positive number, not "
				   "'%s'",
				   arg);
		c->o.max_states = n;
		break;
	case OPT_MAX_TIME:
		if (util_parse_u64(arg, 1, 86400 * 365, &n) < 0)
			return bad("--max-time wants seconds (a positive "
				   "number), not '%s'",
				   arg);
		c->o.max_seconds = n;
		break;
	case OPT_SEED:
		if (util_parse_u64(arg, 0, UINT64_MAX, &c->o.seed) < 0)
			return bad("--seed wants a number, not '%s'", arg);
		break;
	case OPT_SHARD:
		if (parse_shard(arg, &c->o.shard_k, &c->o.shard_n) < 0)
			return bad("--shard wants K/N with 1 <= K <= N, not "
				   "'%s'",
				   arg);
		break;
	case 'j':
		if (util_parse_u64(arg, 1, 64, &n) < 0)
			return bad("--jobs wants 1 to 64, not '%s'", arg);
		c->o.jobs = n;
		break;
	default:
		if (util_parse_u64(arg, 1, 86400, &n) < 0)
			return bad("a timeout wants seconds (1 to 86400), not "
				   "'%s'",
				   arg);
		if (opt == OPT_TIMEOUT)
			c->o.timeout = n;
		else
			c->o.check_timeout = n;
	}
	return -1;
}

/* An output option: -1 on, or an exit status. */
static int output_opt(struct cli *c, int opt, const char *arg)
{
	switch (opt) {
	case OPT_REPORT:
		if (report_parse_format(arg, &c->fmt) < 0)
			return bad("--report must be text, json or junit, not "
				   "'%s'",
				   arg);
		break;
	case OPT_COLOR:
		if (!strcmp(arg, "auto"))
			c->color = -1;
		else if (!strcmp(arg, "always"))
			c->color = 1;
		else if (!strcmp(arg, "never"))
			c->color = 0;
		else
			return bad("--color must be auto, always or never, not "
				   "'%s'",
				   arg);
		break;
	case 'o': c->out = arg; break;
	case OPT_JSON: c->json = arg; break;
	case OPT_JUNIT: c->junit = arg; break;
	case OPT_KEEP: c->o.keep = arg; break;
	case OPT_STATE_DIR: c->o.state_dir = arg; break;
	case OPT_ALLOW_PARTIAL: c->o.allow_partial = true; break;
	case 'q': c->quiet = true; break;
	case 'v': c->o.verbose = true; break;
	case OPT_NO_SYNC_WATCH: c->o.no_sync_watch = true; break;
	case OPT_PRIVILEGED: c->o.privileged = true; break;
	case OPT_POINTS:
		c->o.keep_repeats = !strcmp(arg, "every");
		if (!strcmp(arg, "all") || c->o.keep_repeats)
			c->o.points = XP_ALL;
		else if (!strcmp(arg, "sync"))
			c->o.points = XP_SYNC;
		else if (!strcmp(arg, "marks"))
			c->o.points = XP_MARKS;
		else
			return bad("--points must be all, sync, marks or "
				   "every, not '%s'",
				   arg);
		break;
	}
	return -1;
}

/* An option getopt refused: say which and why. */
static int refused(int argc, char **argv, int opt)
{
	const char *given = optind - 1 < argc ? argv[optind - 1] : "";
	char buf[64];

	if (opt == ':') {
		const char *name = given[0] == '-' && given[1]
				       ? given
				       : opt_name(optopt, buf, sizeof(buf));

		if (optind >= argc && argv[argc] && !strcmp(argv[argc], "--"))
			return bad("option '%s' needs a value, before the '--' "
				   "that starts the command",
				   name);
		return bad("option '%s' needs a value", name);
	}
	if (optopt && optopt < 256)
		snprintf(buf, sizeof(buf), "-%c", optopt);
	else
		snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(given, "="),
			 given);
	return bad("unknown option '%s'", buf);
}

/*
 * Parse argv[1..argc): options anywhere (getopt permutes the operands to
 * the end), argv[argc] is the "--" before a command or NULL.  Returns -1
 * with *first = the first operand, or an exit status.
 */
static int parse_args(int argc, char **argv, struct cli *c, int *first)
{
	int opt, rc;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":j:o:qvh", options, NULL)) !=
	       -1) {
		switch (opt) {
		case OPT_ATOMIC:
		case OPT_DURABLE:
		case OPT_CHECK:
		case OPT_CHECK_SERVER:
		case OPT_SETUP:
		case OPT_FROM:
		case OPT_EXPECT:
		case OPT_NAME:
		case OPT_MODEL:
		case OPT_STATES:
		case OPT_RUN: rc = scenario_opt(c, opt, optarg); break;
		case OPT_MAX_STATES:
		case OPT_MAX_TIME:
		case OPT_SEED:
		case OPT_SHARD:
		case 'j':
		case OPT_TIMEOUT:
		case OPT_CHECK_TIMEOUT: rc = number_opt(c, opt, optarg); break;
		case 'h': usage(stdout); return 0;
		case ':':
		case '?': return refused(argc, argv, opt);
		default: rc = output_opt(c, opt, optarg); break;
		}
		if (rc >= 0)
			return rc;
	}
	*first = optind;
	return -1;
}

/* "python3 save.py config.json" from argv (argv[0] without its
 * directory), cut to a length a report can show. */
static char *name_of(char *const *argv)
{
	char buf[80] = "";
	size_t n = 0;

	for (int i = 0; argv[i] && n < sizeof(buf) - 1; i++) {
		const char *a = argv[i], *slash = strrchr(a, '/');

		if (i == 0 && slash && slash[1])
			a = slash + 1;
		n +=
		    snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? " " : "", a);
	}
	if (n >= sizeof(buf) - 1)
		strcpy(buf + sizeof(buf) - 4, "...");
	return strdup(buf[0] ? buf : "command");
}

/* Build the command-form scenario; returns 0 or an exit status. */
static int command_form(struct cli *c, char **argv, int argc)
{
	struct scenario *s = c->cmd;
	size_t len = 0;
	char err[256];

	if (!s->atomic.len && !s->durable.len && !s->check)
		return bad("%s", "nothing to check: give --atomic PATH, "
				 "--durable PATH, --check CMD or "
				 "--check-server CMD");
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s->run = calloc(1, len + 1);
	if (c->name)
		s->name = strdup(c->name);
	else if (argc)
		s->name = name_of(argv);
	else
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
		/* its messages start with "expect: " (the scenario key) */
		util_err("--expect: %s",
			 strncmp(err, "expect: ", 8) ? err : err + 8);
		return 2;
	}
	c->o.argv = argc ? argv : NULL;
	c->o.keep_is_run = true;
	return 0;
}

/* The worse of two exit statuses: error, violation, incomplete, ok. */
static int worse(int a, int b)
{
	static const int rank[] = {
	    [CHECK_OK] = 0,
	    [CHECK_INCOMPLETE] = 1,
	    [CHECK_VIOLATION] = 2,
	    [CHECK_ERROR] = 3,
	};

	return rank[b] > rank[a] ? b : a;
}

/* Write one report to path ("-": out).  0 or an exit status. */
static int write_report(enum report_format fmt, const char *path, FILE *out,
			const struct check_result *res, size_t n,
			const struct report_opts *ro)
{
	FILE *f = path && strcmp(path, "-") ? fopen(path, "w") : out;
	int rc;

	if (!f) {
		util_err("cannot write report '%s': %s", path, strerror(errno));
		return 2;
	}
	rc = report_write(fmt, res, n, ro, f);
	if (f != out) {
		if (fclose(f) != 0 && rc == 0)
			rc = -errno;
	} else if (fflush(f) != 0 && rc == 0) {
		rc = -errno;
	}
	if (rc < 0) {
		util_err("cannot write report '%s': %s", path ? path : "stdout",
			 strerror(-rc));
		return 2;
	}
	return 0;
}

/*
 * Run the scenarios.  The text report streams to `out` (or -o): each
 * scenario's header as it starts, its result as it ends; the other
 * reports are written at the end.
 */
static int run_all(struct cli *c, struct scenario **items, size_t n, FILE *out)
{
	struct check_result *res = calloc(n ? n : 1, sizeof(*res));
	struct report_opts ro = {.self = "crashfs",
				 .quiet = c->quiet,
				 .shard_k = c->o.shard_k,
				 .shard_n = c->o.shard_n};
	FILE *text = NULL;
	int status = 0;

	if (!res)
		return bad("%s", "out of memory");
	if (c->fmt == REPORT_TEXT) {
		text = c->out && strcmp(c->out, "-") ? fopen(c->out, "w") : out;
		if (!text) {
			util_err("cannot write report '%s': %s", c->out,
				 strerror(errno));
			free(res);
			return 2;
		}
		ro.color =
		    c->color > 0 ||
		    (c->color < 0 && text == out && isatty(fileno(out)) &&
		     !(getenv("NO_COLOR") && *getenv("NO_COLOR")));
	}
	for (size_t i = 0; i < n && !workload_interrupted(); i++) {
		if (text)
			report_text_start(items[i], &ro, text);
		check_scenario(items[i], &c->o, &res[i]);
		if (text && !workload_interrupted())
			report_text_result(&res[i], &ro, text);
		status = worse(status, check_result_status(&res[i]));
	}
	for (size_t i = 0; i < n; i++)
		if (!res[i].s)
			res[i].s = items[i];
	if (text) {
		report_text_summary(res, n, &ro, text);
		if (text != out ? fclose(text) != 0 : fflush(text) != 0) {
			util_err("cannot write the report: %s",
				 strerror(errno));
			status = 2;
		}
	}
	ro.color = false;
	if (c->fmt != REPORT_TEXT)
		status = worse(status,
			       write_report(c->fmt, c->out, out, res, n, &ro));
	if (c->json)
		status = worse(status, write_report(REPORT_JSON, c->json, out,
						    res, n, &ro));
	if (c->junit)
		status = worse(status, write_report(REPORT_JUNIT, c->junit, out,
						    res, n, &ro));
	for (size_t i = 0; i < n; i++)
		if (res[i].error && (c->fmt != REPORT_TEXT || c->out))
			util_err("%s: %s", res[i].s->name, res[i].errmsg);
	if (workload_interrupted()) {
		util_err("interrupted");
		status = 128 + workload_signal();
	}
	for (size_t i = 0; i < n; i++)
		check_result_release(&res[i]);
	free(res);
	return status;
}

/*
 * stdout is for reports only: keep it for them and point fd 1 at stderr,
 * so that nothing a child (workload, setup, mount helper) prints can land
 * in a report.  Returns the stream reports go to.
 */
static FILE *claim_stdout(void)
{
	int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	FILE *f;

	fflush(stdout);
	if (fd < 0)
		return stdout;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return stdout;
	}
	dup2(STDERR_FILENO, STDOUT_FILENO);
	return f;
}

/* The command after "--", a recorded run, or scenario files. */
static int dispatch(struct cli *c, int argc, char **argv, int first,
		    int dashdash, struct scenario_list *l, FILE *out)
{
	if (c->o.recorded) {
		if (dashdash || first < argc || c->cmd->setup || c->cmd->from ||
		    c->o.keep)
			return bad("%s", "--run checks a recorded run: no '-- "
					 "CMD', scenario file, --setup, --from "
					 "or --keep");
		if (command_form(c, NULL, 0))
			return 2;
		free(c->cmd->run);
		free(c->cmd->name);
		if (asprintf(&c->cmd->run, "recorded run %s", c->o.recorded) <
			0 ||
		    !(c->cmd->name = strdup(c->name ? c->name : c->cmd->run)))
			return bad("%s", "out of memory");
		return run_all(c, &c->cmd, 1, out);
	}
	if (dashdash) {
		if (first != dashdash)
			return bad("scenario files and '-- CMD' do not mix "
				   "('%s')",
				   argv[first]);
		if (dashdash + 1 >= argc)
			return bad("%s", "no command after '--'");
		if (command_form(c, argv + dashdash + 1, argc - dashdash - 1))
			return 2;
		return run_all(c, &c->cmd, 1, out);
	}
	if (first >= argc)
		return bad("%s", "nothing to run: give '-- CMD ARGS...' after "
				 "the options, scenario files (FILE.ini) or "
				 "--run RUN");
	if (c->cmd_opts || c->models_given)
		return bad("%s",
			   "--atomic, --durable, --check, --check-server, "
			   "--setup, --from, --model, --states, --name and "
			   "--expect belong "
			   "to the '-- CMD' form; scenario files carry "
			   "their own");
	for (int i = first; i < argc; i++) {
		char err[1024];

		if (scenario_load(argv[i], l, err, sizeof(err)) < 0) {
			if (workload_interrupted()) {
				util_err("interrupted");
				return 128 + workload_signal();
			}
			util_err("%s", err);
			return 2;
		}
	}
	return run_all(c, l->items, l->len, out);
}

int cmd_check(int argc, char **argv)
{
	struct cli c = {.color = -1};
	struct scenario_list l = {0};
	int first = 0, rc, dashdash = 0;
	long nproc = sysconf(_SC_NPROCESSORS_ONLN);
	FILE *out;

	util_set_progname("crashfs check");
	c.cmd = scenario_new();
	if (!c.cmd)
		return bad("%s", "out of memory");
	c.o.jobs = nproc > 0 ? (nproc > 64 ? 64 : nproc) : 1;
	c.o.self = workload_self();
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			dashdash = i;
			break;
		}
	rc = parse_args(dashdash ? dashdash : argc, argv, &c, &first);
	if (rc >= 0)
		goto out;
	c.o.progress = c.quiet	   ? CHECK_PROGRESS_NONE
		       : isatty(2) ? CHECK_PROGRESS_TTY
				   : CHECK_PROGRESS_LINES;
	workload_catch_signals();
	out = claim_stdout();
	rc = dispatch(&c, argc, argv, first, dashdash, &l, out);
	if (out != stdout)
		fclose(out);
out:
	scenario_list_release(&l);
	scenario_free(&c.cmd);
	return rc;
}
