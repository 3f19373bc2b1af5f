/* SPDX-License-Identifier: MIT */
/** @file
 *
 * `crashfs mount`: the command line.  What mounting does is in
 * fusefs/mount.h.
 */
#include "cli/cmd.h"
#include "core/util.h"
#include "fusefs/mount.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: crashfs mount --trace FILE [-f] [--real-sync] "
	    "[--log FILE] [--powercut] [--faults PLAN]\n"
	    "                     [--fifo PATH [--fifo-completed PATH]] "
	    "[-o OPTS] BACKING MNT\n"
	    "\n"
	    "Mount a recording crashfs at MNT that passes everything through "
	    "to BACKING\nand records every operation in the trace FILE. "
	    "Returns once MNT is usable;\nthe daemon serves in the "
	    "background until 'crashfs umount MNT'.\n"
	    "\n"
	    "  -t, --trace FILE  the trace to write (required; outside "
	    "BACKING and MNT)\n"
	    "  -f, --foreground  stay in the foreground\n"
	    "      --real-sync   pass fsync/fdatasync/fsyncdir to the "
	    "backing store\n"
	    "                    (by default durability is simulated and "
	    "they return at once)\n"
	    "      --log FILE    append the daemon's log to FILE "
	    "(default: discarded)\n"
	    "      --faults PLAN fault rules to load (INI, docs/faults.md; a "
	    "regular file,\n                    at most 1 MiB)\n"
	    "      --powercut    keep an undo journal of what is not durable, "
	    "so that\n                    'crashfs ctl MNT powercut' (or a "
	    "rule) can drop it\n"
	    "      --fifo PATH   read LazyFS's commands "
	    "(echo lazyfs::clear-cache > PATH;\n                    "
	    "docs/lazyfs.md); needs --powercut\n"
	    "      --fifo-completed PATH\n                    where "
	    "'finished::clear-cache' goes when a cut is done\n"
	    "  -o OPTS           FUSE mount options, e.g. allow_other (other "
	    "users may\n                    use the mount; the kernel then "
	    "checks permissions);\n"
	    "                    nonempty: mount over a MNT that holds files "
	    "(they are\n                    hidden while mounted; refused "
	    "without it)\n"
	    "  -h, --help        this help\n");
}

/*
 * Add the comma-separated options of one -o to o->fuse_opts, except
 * "nonempty", which is crashfs's (libfuse 3 no longer knows it).
 */
static int add_fuse_opts(struct mount_opts *o, const char *opts)
{
	char *copy = strdup(opts), *save = NULL, *s;

	if (!copy)
		return -ENOMEM;
	for (char *opt = strtok_r(copy, ",", &save); opt;
	     opt = strtok_r(NULL, ",", &save)) {
		if (!strcmp(opt, "nonempty")) {
			o->nonempty = true;
			continue;
		}
		if (asprintf(&s, "%s%s%s", o->fuse_opts ? o->fuse_opts : "",
			     o->fuse_opts ? "," : "", opt) < 0) {
			free(copy);
			return -ENOMEM;
		}
		free(o->fuse_opts);
		o->fuse_opts = s;
	}
	free(copy);
	return 0;
}

/* Returns 0, or the exit status (2) after a message; -1 for --help. */
static int parse(int argc, char **argv, struct mount_opts *o)
{
	static const struct option longopts[] = {
	    {"trace", required_argument, NULL, 't'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"real-sync", no_argument, NULL, 'S'},
	    {"log", required_argument, NULL, 'L'},
	    {"faults", required_argument, NULL, 'F'},
	    {"powercut", no_argument, NULL, 'P'},
	    {"fifo", required_argument, NULL, 'I'},
	    {"fifo-completed", required_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+t:fo:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't': o->trace = optarg; break;
		case 'f': o->foreground = true; break;
		case 'S': o->real_sync = true; break;
		case 'L': o->log = optarg; break;
		case 'F': o->faults = optarg; break;
		case 'P': o->powercut = true; break;
		case 'I': o->fifo = optarg; break;
		case 'C': o->fifo_completed = optarg; break;
		case 'o':
			if (add_fuse_opts(o, optarg))
				return 2;
			break;
		case 'h': usage(stdout); return -1;
		default:
			if (optopt && strchr("to", optopt))
				util_err("option '-%c' needs an argument",
					 optopt);
			else if (optopt)
				util_err("option '%s' needs an argument",
					 argv[optind - 1]);
			else
				util_err("unknown option '%s'",
					 argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		util_err("expected BACKING and MNT, got %d argument%s",
			 argc - optind, argc - optind == 1 ? "" : "s");
		usage(stderr);
		return 2;
	}
	o->backing = argv[optind];
	o->mnt = argv[optind + 1];
	if (!o->trace) {
		util_err(
		    "--trace FILE is required: where should the trace go?");
		return 2;
	}
	return 0;
}

int cmd_mount(int argc, char **argv)
{
	struct mount_opts o = {0};
	int ret;

	util_set_progname("crashfs mount");
	ret = parse(argc, argv, &o);
	if (!ret)
		ret = mount_start(&o);
	free(o.fuse_opts);
	return ret < 0 ? 0 : ret;
}
