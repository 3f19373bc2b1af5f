/* SPDX-License-Identifier: MIT */
/* What the subcommands' front ends share (cli/cmd.h). */
#include "cli/cmd.h"
#include "core/util.h"

#include <stdio.h>
#include <unistd.h>

int cmd_refused(const char *cmd, char **argv, int opt)
{
	if (opt == ':')
		util_err("option '%s' needs an argument", argv[optind - 1]);
	else if (optopt)
		util_err("unknown option '-%c'", optopt);
	else
		util_err("unknown option '%s'", argv[optind - 1]);
	fprintf(stderr, "see 'crashfs %s --help'\n", cmd);
	return 2;
}
