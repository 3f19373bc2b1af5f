/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The crashfs subcommands.  Each one's front end (argument parsing,
 * output) is cli/cmd_<name>.c, over the library in core/, harness/ and
 * fusefs/; each is registered in cli/main.c.  A command takes the arguments after its name (argv[0] is
 * the command name) and returns the process exit status: 0 success, 1 a
 * finding (a violation, a corrupt trace), 2 usage or setup error.  Only
 * main() exits.
 *
 * The declarations are weak so the tree builds while a command's module
 * is missing; main() lists only the commands that are linked in.
 */
#ifndef CRASHFS_CLI_CMD_H
#define CRASHFS_CLI_CMD_H

#define CMD_WEAK __attribute__((weak))

CMD_WEAK int cmd_mount(int argc, char **argv);
CMD_WEAK int cmd_umount(int argc, char **argv);
CMD_WEAK int cmd_ctl(int argc, char **argv);
CMD_WEAK int cmd_mark(int argc, char **argv);
CMD_WEAK int cmd_trace(int argc, char **argv);
CMD_WEAK int cmd_states(int argc, char **argv);
CMD_WEAK int cmd_replay(int argc, char **argv);
CMD_WEAK int cmd_check(int argc, char **argv);

/*
 * Say what getopt_long refused (cli/cmd.c; opt: ':' for a missing
 * argument, '?' for an unknown option; argv and optind/optopt as getopt
 * left them): "option '--x' needs an argument" or "unknown option '-q'",
 * then "see 'crashfs CMD --help'".  Returns 2, the usage error status.
 */
int cmd_refused(const char *cmd, char **argv, int opt);

#endif /* CRASHFS_CLI_CMD_H */
