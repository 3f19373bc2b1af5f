/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Fault rules for a live mount: "at the 3rd fsync of *.wal, cut the
 * power", "ENOSPC on writes under data/ after 1 MiB".  docs/faults.md
 * documents every field.
 *
 * A rule is WHEN OP [field=value ...] action=ACTION, e.g.
 *	after fsync path=*.wal nth=3 action=powercut
 *	on write path=data/db after-bytes=1M action=errno:ENOSPC
 * WHEN is before, on (the same as before: instead of or ahead of the op)
 * or after (once the op was applied).  A plan file (INI) holds one rule
 * per section, with when=, op=, path=, regex=, nth=, run=, size=,
 * after-bytes=, prob=, seed=, action= (and cut-*) keys.
 *
 * run=K counts runs of writes instead of writes (LazyFS's torn-seq): a
 * run is the writes to the files the rule matches since the last fsync or
 * fdatasync of one of them (or since the rule was added), it counts once
 * it has two writes (nth= then numbers runs), and the rule fires at its
 * Kth write.  size=N fires only on a write of exactly N bytes (others
 * still count).
 *
 * Calling sequence (the daemon, with fs->order held for the last three):
 *	fault_set_init(&set);
 *	fault_parse(&set, "after fsync action=powercut", err, sizeof(err));
 *	if (fault_armed(&set, FOP_WRITE))	O(1): any rule for this op?
 *		fault_match(&set, FOP_WRITE, path, len, &hit);
 *	fault_set_release(&set);
 *
 * Thread safety: none of its own; the daemon holds fs->order.
 */
#ifndef CRASHFS_FUSEFS_FAULT_H
#define CRASHFS_FUSEFS_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fault_op {
	FOP_WRITE,
	FOP_FSYNC,
	FOP_FDATASYNC,
	FOP_FSYNCDIR,
	FOP_RENAME,
	FOP_CREATE,
	FOP_UNLINK,
	FOP_RMDIR,
	FOP_TRUNCATE,
	FOP_OPEN,
	FOP_MKDIR,
	FOP_LINK,
	FOP_SYMLINK,
	FOP_MKNOD,
	FOP_MAX
};

enum fault_when {
	FW_BEFORE, /* ahead of the op ("on" is the same) */
	FW_AFTER,  /* once the op was applied */
};

enum fault_action {
	FA_NONE,
	FA_POWERCUT, /* crashfs ctl MNT powercut, at that moment */
	FA_KILL,     /* SIGKILL the calling process */
	FA_ERRNO,    /* fail the op with an errno */
	FA_SHORT,    /* write: only the first half lands, reported short */
	FA_TORN,     /* write: only the first half of its sectors land,
			reported whole */
	FA_DELAY,    /* sleep, then go on */
	FA_CRASH,    /* a power cut, and the op answers EIO (LazyFS's crash:
			the daemon died before answering) */
};

/* What a firing rule asks for. */
struct fault_hit {
	enum fault_action action;
	enum fault_when when;
	int err;	   /* FA_ERRNO: the positive errno */
	unsigned delay_ms; /* FA_DELAY */
	unsigned rule;	   /* the rule's number */
	char desc[256];	   /* the rule as text, for the trace */
	char cut[160];	   /* FA_POWERCUT: the cut's options, as words for
			      pc_how_parse() ("seed=4 tear=page"), "" */
	uint64_t id;	   /* the file of the op (set by the daemon), 0 */
};

struct fault_rule;

/* The rules of a mount.  An all-zero struct is a valid empty set. */
struct fault_set {
	struct fault_rule *rules; /* in the order they were added */
	unsigned next;		  /* number of the next rule */
	uint32_t mask;		  /* OR of 1 << op over the rules */
	bool no_powercut;	  /* refuse action=powercut (no journal) */
};

static inline void fault_set_init(struct fault_set *s)
{
	s->rules = NULL;
	s->next = 1;
	s->mask = 0;
	s->no_powercut = false;
}

/* Free every rule; the set is empty again. */
void fault_set_release(struct fault_set *s);

/*
 * Parse one rule and add it.  Returns its number (> 0), or -EINVAL with
 * a message naming the field in err.
 */
int fault_parse(struct fault_set *s, const char *text, char *err,
		size_t errlen);

/* What a plan file sets besides rules: its keys before the first
 * section.  All-zero: nothing set.  Paths are made relative to the plan's
 * directory when they are not absolute. */
struct fault_plan {
	char *fifo;	      /* fifo = PATH: LazyFS commands (lazyfs.h) */
	char *fifo_completed; /* fifo-completed = PATH: their completions */
	char *clear_cache;    /* clear-cache = strict | keep-metadata */
};

/* Free what o holds; o is all-zero again. */
void fault_plan_release(struct fault_plan *o);

/*
 * Load a plan file (INI, one rule per section; keys before the first
 * section into *opts, refused when opts is NULL).  The file is read whole
 * first, at most 1 MiB, and must be a regular file (util_read_file): a
 * fifo or a device is refused, never waited on.  A field or a section
 * given twice, an indented continuation line, a line longer than 199
 * characters are errors.  Returns the number of rules added, or -errno
 * with a message ("line N: section [x]: field: ...", or what is wrong
 * with the file) in err.  On error, rules added before it stay in s and
 * *opts may be partly filled: release both.
 */
int fault_load(struct fault_set *s, const char *path, struct fault_plan *opts,
	       char *err, size_t errlen);

/* Is there a rule for op at all?  O(1). */
static inline bool fault_armed(const struct fault_set *s, enum fault_op op)
{
	return s->mask & (1u << op);
}

/*
 * Count one occurrence of op on path (relative to the mount, "" for the
 * root), bytes long (writes), against every rule for op; fill *hit for the
 * first rule that fires.  Returns true if one fired.
 */
bool fault_match(struct fault_set *s, enum fault_op op, const char *path,
		 uint64_t bytes, struct fault_hit *hit);

/* Print the rules, one line each ("N: RULE fired F of C"), into buf. */
void fault_list(const struct fault_set *s, char *buf, size_t len);

#endif /* CRASHFS_FUSEFS_FAULT_H */
