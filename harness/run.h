/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The RUN directory: one recorded run, as `crashfs check --keep` saves it
 * and as `crashfs states` and `crashfs replay` read it.  The layout is
 * specified in docs/run-format.md:
 *
 *	RUN/trace	the trace the daemon wrote
 *	RUN/initial/	the initial image the run was recorded over
 *			(absent: the run started from an empty directory)
 *	RUN/meta.json	optional facts about the run (see the doc)
 *
 * A plain trace file is accepted wherever a RUN is, as a run whose initial
 * image is empty.
 *
 * Errors: actions return 0 or -errno with a message in err.
 */
#ifndef CRASHFS_RUN_H
#define CRASHFS_RUN_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

struct run_info {
	char dir[PATH_MAX];	/* the RUN directory ("" for a bare trace) */
	char trace[PATH_MAX];	/* its trace */
	char initial[PATH_MAX]; /* its initial image, "" if none */
	uint32_t sector;	/* from meta.json, 0 if not given */
	char syncs_unseen[320]; /* from meta.json: why the workload's sync
				   calls were not seen, "" if they were or
				   it does not say */
};

/* Find the parts of the run at path. */
int run_open(const char *path, struct run_info *ri, char *err, size_t errlen);

/* Load the run's model (see model_load()).  NULL with errno and err. */
struct model *run_load(const struct run_info *ri, char *err, size_t errlen);

/*
 * Create an empty RUN directory at dir (which must not exist), with an
 * empty initial/ and paths filled in ri, for the harness to record into.
 */
int run_create(const char *dir, struct run_info *ri, char *err, size_t errlen);

/* Write RUN/meta.json: the sector size and the command line that made the
 * run (argv may be NULL).  Returns 0 or -errno. */
int run_write_meta(const struct run_info *ri, uint32_t sector,
		   char *const *argv);

/* Add to RUN/meta.json whether the workload's sync calls were seen
 * (unseen: why not, "" if they were).  Returns 0 or -errno. */
int run_note_syncs(const struct run_info *ri, const char *unseen);

#endif /* CRASHFS_RUN_H */
