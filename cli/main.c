/* SPDX-License-Identifier: MIT */
/** @file
 *
 * crashfs: git-style dispatch to the subcommands declared in cli/cmd.h.
 */
#include "cli/cmd.h"
#include "cli/suggest.h"
#include "core/trace.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>

struct command {
	const char *name;	 /* as typed by the user */
	int (*fn)(int, char **); /* NULL if not linked in */
	const char *summary;	 /* one line for --help */
};

static const struct command commands[] = {
    {"check", cmd_check, "run a program and check every crash state"},
    {"mount", cmd_mount, "mount a recording crashfs over a directory"},
    {"umount", cmd_umount, "unmount and wait for the trace to be done"},
    {"ctl", cmd_ctl, "talk to a live mount (mark, status, ...)"},
    {"mark", cmd_mark, "put a named mark in the trace of this run"},
    {"trace", cmd_trace, "print a trace like strace"},
    {"states", cmd_states, "list the crash states of a recorded run"},
    {"replay", cmd_replay, "rebuild one crash state as a directory"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: crashfs <command> [options] [args]\n"
		   "       crashfs --version | --help\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (commands[i].fn)
			fprintf(f, "  %-8s %s\n", commands[i].name,
				commands[i].summary);
	fprintf(f, "\n'crashfs <command> --help' describes a command; "
		   "'man crashfs' has the whole story.\n");
}

/* An unknown command: say so, with the closest commands if any. */
static void unknown(const char *name)
{
	const char *names[sizeof(commands) / sizeof(*commands) + 1];
	size_t n = 0;
	char near[256];

	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (commands[i].fn)
			names[n++] = commands[i].name;
	names[n] = NULL;
	if (name[0] == '-')
		util_err("unknown option '%s'; see 'crashfs --help'", name);
	else if (suggest_closest(name, names, near, sizeof(near)))
		util_err("'%s' is not a crashfs command; did you mean %s?",
			 name, near);
	else
		util_err("'%s' is not a crashfs command; see 'crashfs --help'",
			 name);
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;

	util_set_progname("crashfs");
	if (!name) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(name, "--help") || !strcmp(name, "-h") ||
	    !strcmp(name, "help")) {
		if (!strcmp(name, "help") && argc > 2) {
			char *args[] = {argv[2], "--help", NULL};

			for (size_t i = 0;
			     i < sizeof(commands) / sizeof(*commands); i++)
				if (commands[i].fn &&
				    !strcmp(commands[i].name, argv[2]))
					return commands[i].fn(2, args);
		}
		usage(stdout);
		return 0;
	}
	if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
		printf("crashfs %s (trace format %d)\n", CRASHFS_VERSION,
		       TRACE_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (commands[i].fn && !strcmp(commands[i].name, name))
			return commands[i].fn(argc - 1, argv + 1);
	unknown(name);
	return 2;
}
