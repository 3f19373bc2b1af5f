/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The commands that talk to a running daemon over its control channel:
 * `crashfs umount MNT`, `crashfs ctl MNT VERB ...` and `crashfs mark TEXT`
 * (the mount named by CRASHFS_MOUNT).  See docs/control.md.
 */
#include "cli/cmd.h"
#include "core/cutplan.h"
#include "core/util.h"
#include "fusefs/ctl.h"
#include "fusefs/mountinfo.h"
#include "fusefs/scratch.h"

#include <limits.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPLY_TIMEOUT_MS 10000 /* a daemon answers a request by then */
#define UMOUNT_TIMEOUT_S 30    /* default wait for the trace to be done */

static bool want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	}
	return false;
}

/* Connect to the daemon of mnt, with a message if none answers. */
static int connect_or_say(const char *mnt)
{
	int fd = ctl_connect(mnt);

	if (fd == -ECONNREFUSED)
		util_err("no crashfs daemon answers for '%s' (not a crashfs "
			 "mount, or its daemon is gone)",
			 mnt);
	else if (fd < 0)
		util_err("cannot reach the crashfs daemon of '%s': %s", mnt,
			 strerror(-fd));
	return fd;
}

/*
 * Send request and print the reply lines up to "ok" (0) or "error ..."
 * (1, after printing the message).  Lines before are printed to stdout.
 */
static int transact(int fd, const char *mnt, const char *request)
{
	char line[CTL_LINE_MAX];
	int n;

	if (ctl_send(fd, request) < 0) {
		util_err("lost the daemon of '%s'", mnt);
		return 1;
	}
	for (;;) {
		n = ctl_read_line(fd, line, sizeof(line), REPLY_TIMEOUT_MS);
		if (n < 0) {
			util_err(n == -ETIMEDOUT
				     ? "the daemon of '%s' did not answer"
				     : "the daemon of '%s' closed the "
				       "connection",
				 mnt);
			return 1;
		}
		if (!strcmp(line, "ok"))
			return 0;
		if (!strncmp(line, "error ", 6)) {
			util_err("%s", line + 6);
			return 1;
		}
		printf("%s\n", line);
	}
}

/* ---- umount ------------------------------------------------------------- */

static void umount_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: crashfs umount [--timeout SECONDS] MNT\n"
	    "\n"
	    "Unmount a crashfs mount and wait (default %d s) for its daemon "
	    "to finish\nthe trace. Exit 1 if the daemon reports an "
	    "error or does not finish.\nA mount whose daemon is gone is "
	    "unmounted anyway, with a warning.\n",
	    UMOUNT_TIMEOUT_S);
}

static int do_unmount(const char *mnt, const char *canon)
{
	pid_t pid;
	int status;

	if (geteuid() == 0) {
		if (umount2(canon, 0) == 0)
			return 0;
		if (errno == EBUSY)
			util_err("cannot unmount '%s': it is busy (a process "
				 "has files open or its working directory "
				 "in it)",
				 mnt);
		else
			util_err("cannot unmount '%s': %s", mnt,
				 strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		util_err("cannot run fusermount3: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", canon, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		util_err("cannot unmount '%s': fusermount3 -u failed%s", mnt,
			 WIFEXITED(status) && WEXITSTATUS(status) == 127
			     ? " (is it installed?)"
			     : "");
		return 1;
	}
	return 0;
}

/*
 * The mount's daemon is gone: remove the power cut scratch directory it
 * left (its fsname names it), or say where it is and how big.
 */
static void remove_dead_scratch(const char *source)
{
	const char *path;
	uint64_t bytes = 0;
	long pid;
	int res;

	if (strncmp(source, SCRATCH_FSNAME, strlen(SCRATCH_FSNAME)))
		return;
	path = source + strlen(SCRATCH_FSNAME);
	res = scratch_remove_stale(path, &bytes);
	if (res == 1) {
		util_warn("removed the power cut scratch directory '%s' (%llu "
			  "bytes) the killed daemon left",
			  path, (unsigned long long)bytes);
		return;
	}
	if (res == 0)
		return;
	bytes = 0;
	scratch_probe(path, &pid, &bytes);
	util_warn("the killed daemon left its power cut scratch directory "
		  "'%s' (%llu bytes): cannot remove it: %s",
		  path, (unsigned long long)bytes,
		  res == -EBUSY ? "a running daemon holds it" : strerror(-res));
}

int cmd_umount(int argc, char **argv)
{
	uint64_t timeout = UMOUNT_TIMEOUT_S;
	const char *mnt;
	char *canon = NULL;
	char type[64], line[CTL_LINE_MAX], source[PATH_MAX + 16];
	int fd = -1, ret = 2, n, argi = 1;

	util_set_progname("crashfs umount");
	if (want_help(argc, argv)) {
		umount_usage(stdout);
		return 0;
	}
	if (argi < argc && !strcmp(argv[argi], "--timeout")) {
		if (argi + 1 >= argc ||
		    util_parse_u64(argv[argi + 1], 1, 86400, &timeout)) {
			util_err("--timeout needs a number of seconds (1 to "
				 "86400)");
			return 2;
		}
		argi += 2;
	}
	if (argc - argi != 1) {
		umount_usage(stderr);
		return 2;
	}
	mnt = argv[argi];
	canon = ctl_canon(mnt);
	if (!canon) {
		util_err("cannot find '%s': %s", mnt, strerror(errno));
		return 2;
	}
	if (access(canon, F_OK) < 0 && errno == ENOENT) {
		util_err("'%s' does not exist", mnt);
		goto out_free;
	}
	n = mountinfo_get(canon, type, sizeof(type), source, sizeof(source));
	if (n <= 0) {
		util_err(n == 0 ? "'%s' is not mounted"
				: "cannot read the mount table: %s",
			 n == 0 ? mnt : strerror(-n));
		goto out_free;
	}
	if (strcmp(type, MOUNTINFO_CRASHFS)) {
		util_err("'%s' is not a crashfs mount (it is %s)", mnt, type);
		goto out_free;
	}
	fd = ctl_connect(canon);
	if (fd >= 0 &&
	    (ctl_send(fd, "wait") < 0 ||
	     ctl_read_line(fd, line, sizeof(line), REPLY_TIMEOUT_MS) < 0 ||
	     strcmp(line, "ok"))) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		util_warn("no crashfs daemon answers for '%s' (killed?); "
			  "unmounting anyway: its trace may be cut short",
			  mnt);
	ret = do_unmount(mnt, canon);
	if (!ret && fd < 0)
		remove_dead_scratch(source);
	if (ret || fd < 0)
		goto out_close;
	n = ctl_read_line(fd, line, sizeof(line), (int)timeout * 1000);
	if (n == -ETIMEDOUT) {
		util_err("unmounted '%s', but its daemon did not finish the "
			 "trace within %llu s",
			 mnt, (unsigned long long)timeout);
		ret = 1;
	} else if (n < 0) {
		util_err("unmounted '%s', but its daemon exited without "
			 "finishing the trace",
			 mnt);
		ret = 1;
	} else if (!strncmp(line, "error ", 6)) {
		util_err("%s", line + 6);
		ret = 1;
	}
out_close:
	if (fd >= 0)
		close(fd);
out_free:
	free(canon);
	return ret;
}

/* ---- ctl and mark --------------------------------------------------------- */

static void ctl_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: crashfs ctl MNT mark TEXT...   put a mark in the "
	    "trace\n"
	    "       crashfs ctl MNT status         show the daemon's "
	    "state\n"
	    "       crashfs ctl MNT unsynced [--json]\n"
	    "                                      what is not yet durable: "
	    "files and byte\n"
	    "                                      ranges, pending directory "
	    "ops, attributes\n"
	    "       crashfs ctl MNT sync           declare a sync point: "
	    "everything so\n"
	    "                                      far is durable (a "
	    "sync(2) the mount\n"
	    "                                      cannot see)\n"
	    "       crashfs ctl MNT powercut       drop everything not "
	    "durable (strict)\n"
	    "       crashfs ctl MNT powercut --keep metadata\n"
	    "                                      drop only unsynced data "
	    "(LazyFS-like)\n"
	    "       crashfs ctl MNT powercut --seed S [--tear T]\n"
	    "                                      a random state the posix "
	    "model allows\n"
	    "                                      (some writes kept, torn "
	    "by sector or T =\n"
	    "                                      page, or as a bare size), "
	    "the same for\n"
	    "                                      the same S "
	    "(docs/faults.md)\n"
	    "       crashfs ctl MNT powercut --file PATH --writes 1,4\n"
	    "       crashfs ctl MNT powercut --file PATH --write K|last "
	    "--parts N\n"
	    "                                --persist 1,3 "
	    "(or --part-bytes A,B,...)\n"
	    "                                      of PATH's unsynced "
	    "writes, those listed\n"
	    "                                      persist, or those parts "
	    "of one (LazyFS's\n"
	    "                                      torn-seq, torn-op); "
	    "--keep metadata with\n"
	    "                                      --seed or --file keeps "
	    "every metadata op\n"
	    "       crashfs ctl MNT fault RULE...  add a fault rule "
	    "(docs/faults.md)\n"
	    "       crashfs ctl MNT faults [clear] list the fault rules, "
	    "or remove them\n");
}

/* Join argv[0..argc) with spaces into a request after verb. */
static char *join(const char *verb, int argc, char **argv)
{
	size_t len = strlen(verb) + 1;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = malloc(len + 1);
	if (!s)
		return NULL;
	strcpy(s, verb);
	for (int i = 0; i < argc; i++) {
		strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/* Send one request line to the daemon of mnt; returns the exit status. */
static int request(const char *mnt, const char *line)
{
	int fd, ret;

	fd = connect_or_say(mnt);
	if (fd < 0)
		return 2;
	ret = transact(fd, mnt, line);
	close(fd);
	return ret;
}

/*
 * Send "VERB ARGS..." as one request line; a newline in it is refused
 * with newline_msg.  Returns the exit status.
 */
static int send_joined(const char *mnt, const char *verb, int argc, char **argv,
		       const char *newline_msg)
{
	char *req = join(verb, argc, argv);
	int ret;

	if (!req)
		return 2;
	if (strchr(req, '\n')) {
		util_err("%s", newline_msg);
		ret = 2;
	} else {
		ret = request(mnt, req);
	}
	free(req);
	return ret;
}

/* Send "mark TEXT" to the daemon of mnt; returns the exit status. */
static int send_mark(const char *mnt, int argc, char **argv)
{
	if (argc < 1) {
		util_err("mark needs a text");
		return 2;
	}
	return send_joined(mnt, "mark", argc, argv,
			   "a mark's text cannot contain a newline");
}

/* "fault RULE" or "faults [clear]"; returns the exit status. */
static int send_fault(const char *mnt, const char *verb, int argc, char **argv)
{
	if (!strcmp(verb, "fault") && argc < 1) {
		util_err("fault needs a rule, e.g. 'after fsync path=*.wal "
			 "nth=3 action=powercut'");
		return 2;
	}
	if (!strcmp(verb, "faults") &&
	    (argc > 1 || (argc == 1 && strcmp(argv[0], "clear")))) {
		util_err("faults takes 'clear' or nothing");
		return 2;
	}
	return send_joined(mnt, verb, argc, argv,
			   "a rule cannot contain a newline");
}

/* powercut's options and the words they become (cutplan_words()). */
static const struct {
	const char *opt;  /* --OPT VALUE */
	const char *word; /* WORD=VALUE */
} cut_opts[] = {
    {"--seed", "seed"},	      {"--tear", "tear"},
    {"--writes", "writes"},   {"--write", "write"},
    {"--parts", "parts"},     {"--part-bytes", "part-bytes"},
    {"--persist", "persist"},
};

/* PATH for --file: relative to the mount point, or absolute under it. */
static const char *cut_path(const char *mnt, const char *path)
{
	static char rel[PATH_MAX];
	char *real = realpath(mnt, NULL);
	size_t n = real ? strlen(real) : 0;

	if (path[0] != '/') {
		snprintf(rel, sizeof(rel), "%s", path);
	} else if (real && !strncmp(path, real, n) &&
		   (path[n] == '/' || !path[n])) {
		snprintf(rel, sizeof(rel), "%s", path + n);
	} else {
		free(real);
		return NULL;
	}
	free(real);
	return rel;
}

/* "powercut [OPTIONS]" (ctl_usage()); returns the exit status. */
static int send_powercut(const char *mnt, int argc, char **argv)
{
	char words[2048] = "", msg[256], req[2048 + PATH_MAX];
	struct cutplan_spec spec = {0};
	const char *file = NULL;
	bool keep = false;
	size_t k, n = 0;

	for (int i = 0; i < argc; i++) {
		for (k = 0; k < sizeof(cut_opts) / sizeof(*cut_opts); k++)
			if (!strcmp(argv[i], cut_opts[k].opt))
				break;
		if (i + 1 == argc ||
		    (k == sizeof(cut_opts) / sizeof(*cut_opts) &&
		     strcmp(argv[i], "--keep") && strcmp(argv[i], "--file"))) {
			util_err("powercut: unexpected '%s' (powercut takes "
				 "--keep metadata, --seed S, --tear T, and "
				 "--file PATH with --writes LIST or --write K "
				 "--parts N --persist LIST)",
				 argv[i]);
			return 2;
		}
		if (!strcmp(argv[i], "--keep") &&
		    strcmp(argv[i + 1], "metadata")) {
			util_err("powercut: --keep takes 'metadata', not '%s'",
				 argv[i + 1]);
			return 2;
		}
		if (!strcmp(argv[i], "--file")) {
			file = argv[++i];
			continue;
		}
		if (strchr(argv[i + 1], ' ') || strchr(argv[i + 1], '\n')) {
			util_err("powercut: %s: bad value '%s'", argv[i],
				 argv[i + 1]);
			return 2;
		}
		if (!strcmp(argv[i], "--keep"))
			n += (size_t)snprintf(words + n, sizeof(words) - n,
					      " keep-metadata");
		else
			n += (size_t)snprintf(words + n, sizeof(words) - n,
					      " %s=%s", cut_opts[k].word,
					      argv[i + 1]);
		i++;
		if (n >= sizeof(words)) {
			util_err("powercut: too many options");
			return 2;
		}
	}
	if (cutplan_words(words, &spec, &keep, msg, sizeof(msg))) {
		/* name the option, not the word */
		for (k = 0; k < sizeof(cut_opts) / sizeof(*cut_opts); k++)
			if (!strncmp(msg, cut_opts[k].word,
				     strlen(cut_opts[k].word)) &&
			    msg[strlen(cut_opts[k].word)] == ':')
				break;
		util_err("powercut: %s%s",
			 k < sizeof(cut_opts) / sizeof(*cut_opts) ? "--" : "",
			 msg);
		return 2;
	}
	if (!file != (spec.mode != CUTPLAN_SELECT)) {
		util_err(file ? "powercut: --file goes with --writes or --write"
			      : "powercut: --writes and --write need --file "
				"PATH (the file whose writes persist)");
		return 2;
	}
	if (file && (!cut_path(mnt, file) || strchr(file, '\n'))) {
		util_err("powercut: --file: '%s' is not under '%s' (give a "
			 "path relative to the mount point, or one under it)",
			 file, mnt);
		return 2;
	}
	snprintf(req, sizeof(req), "powercut%s%s%s", words,
		 file ? " file=" : "", file ? cut_path(mnt, file) : "");
	return request(mnt, req);
}

int cmd_ctl(int argc, char **argv)
{
	const char *mnt, *verb;

	util_set_progname("crashfs ctl");
	if (argc >= 2 &&
	    (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		ctl_usage(stdout);
		return 0;
	}
	if (argc < 3) {
		ctl_usage(stderr);
		return 2;
	}
	mnt = argv[1];
	verb = argv[2];
	if (!strcmp(verb, "mark"))
		return send_mark(mnt, argc - 3, argv + 3);
	if (!strcmp(verb, "fault") || !strcmp(verb, "faults"))
		return send_fault(mnt, verb, argc - 3, argv + 3);
	if (!strcmp(verb, "unsynced")) {
		if (argc > 4 || (argc == 4 && strcmp(argv[3], "--json"))) {
			util_err("unsynced takes '--json' or nothing");
			return 2;
		}
		return request(mnt, argc == 4 ? "unsynced json" : "unsynced");
	}
	if (strcmp(verb, "status") && strcmp(verb, "powercut") &&
	    strcmp(verb, "sync")) {
		util_err("unknown command '%s' (commands: fault, faults, mark, "
			 "powercut, status, sync, unsynced)",
			 verb);
		return 2;
	}
	if (!strcmp(verb, "powercut"))
		return send_powercut(mnt, argc - 3, argv + 3);
	if (argc > 3) {
		util_err("%s takes no argument", verb);
		return 2;
	}
	return request(mnt, verb);
}

int cmd_mark(int argc, char **argv)
{
	const char *mnt = getenv("CRASHFS_MOUNT");

	util_set_progname("crashfs mark");
	if (want_help(argc, argv)) {
		printf("usage: crashfs mark TEXT...\n\n"
		       "Put a named mark in the trace of the crashfs run this "
		       "program is part of\n(the mount named by the "
		       "environment variable CRASHFS_MOUNT).\n");
		return 0;
	}
	if (!mnt || !*mnt) {
		util_err("not inside a crashfs run (CRASHFS_MOUNT is not set); "
			 "use 'crashfs ctl MNT mark TEXT'");
		return 2;
	}
	return send_mark(mnt, argc - 1, argv + 1);
}
