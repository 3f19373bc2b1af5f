/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Scenario files: what `crashfs check FILE.ini` runs.  A scenario names a
 * workload, how to prepare the directory it starts from, what to check in
 * every crash state, under which persistence models, and the verdict it
 * is expected to have.  docs/scenarios.md describes the format for users.
 *
 * The files are INI, parsed by inih (libinih).  Keys before the first
 * [section] are defaults for every section; a file without sections is
 * one scenario named after the file.  Unknown keys, repeated single-value
 * keys, malformed values and a missing `run` are rejected with a message
 * naming the file and line: "zoo.ini:7: unknown key 'atomc'".
 *
 * Calling sequence:
 *	struct scenario_list l = { 0 };
 *	if (scenario_load("x.ini", &l, err, sizeof(err)) < 0)
 *		complain(err);
 *	for (i = 0; i < l.len; i++) use(l.items[i]);
 *	scenario_list_release(&l);
 *
 * The expectation is kept as one bit mask of kinds per check (see
 * SCN_KIND_*): bit 0 is the visible states, bit 1 + i the crash states of
 * the i-th model of the scenario.  A check is expected to fail in exactly
 * the kinds whose bits are set, and to pass everywhere else.
 */
#ifndef CRASHFS_SCENARIO_H
#define CRASHFS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCN_MAX_MODELS 8       /* models one scenario may name */
#define SCN_FILE_MAX (1 << 20) /* bytes of a scenario file read, at most */

/* Which states a scenario checks. */
enum scn_states {
	SCN_STATES_ALL = 0, /* visible and crash states (the default) */
	SCN_STATES_VISIBLE, /* kill -9 / concurrent reader only */
	SCN_STATES_CRASH,   /* power loss only */
};

/* The checks a verdict is made of. */
enum scn_check {
	SCN_ATOMIC = 0, /* --atomic / atomic = */
	SCN_DURABLE,	/* --durable / durable = */
	SCN_EXTERNAL,	/* --check / check = */
	SCN_NCHECKS
};

#define SCN_KIND_VISIBLE 1u	      /* the visible states */
#define SCN_KIND_MODEL(i) (2u << (i)) /* crash states, model i */

/* A growable list of strings; all-zero is empty. */
struct strv {
	char **v;   /* len strings, each malloc'd, NULL-terminated array */
	size_t len; /* strings in v */
};

int strv_push(struct strv *s, const char *str);
void strv_release(struct strv *s);

struct scenario {
	char *name;		/* section name or file name without .ini */
	char *file;		/* path of the scenario file as given */
	char *dir;		/* absolute directory of the file */
	unsigned line;		/* line of its [section], 0 if none */
	char *description;	/* one line for reports, may be NULL */
	char *setup;		/* sh -c in the initial directory, or NULL */
	char *from;		/* directory copied as the initial state */
	char *run;		/* sh -c in the mount: the workload */
	char *check;		/* external checker (sh -c), or NULL */
	bool check_server;	/* ... a checker server (check-server) */
	struct strv atomic;	/* paths checked with --atomic semantics */
	struct strv durable;	/* paths checked with --durable semantics */
	struct strv models;	/* persistence models, default "posix" */
	struct strv requires;	/* programs (and Python modules) it needs:
				   harness/requires.h */
	enum scn_states states; /* which states to check */
	unsigned timeout;	/* workload timeout, seconds (0: default) */
	unsigned check_timeout; /* external checker timeout, seconds */
	uint64_t max_states;	/* cap on crash states per model (0: default) */
	uint64_t seed;		/* seed for the random subsets */
	bool has_seed;		/* seed was given */
	bool has_expect;	/* an `expect` key was given */
	uint32_t expect_fail[SCN_NCHECKS]; /* SCN_KIND_* masks per check */
};

struct scenario_list {
	struct scenario **items; /* len scenarios, owned */
	size_t len;		 /* scenarios in items */
};

/*
 * Parse the scenario file at path and append its scenarios to *out.
 * Returns 0, or -errno with a message in err naming the file and line
 * (nothing is appended then).  Reading stops at the first error.  path
 * must be a regular file or a pipe (-EINVAL otherwise, before opening
 * it) of at most SCN_FILE_MAX bytes (-EFBIG); a read interrupted by a
 * signal gives -EINTR.
 */
int scenario_load(const char *path, struct scenario_list *out, char *err,
		  size_t errlen);

/* Free every scenario of the list; the list is empty again. */
void scenario_list_release(struct scenario_list *l);

/* Free one scenario and set *s to NULL. */
void scenario_free(struct scenario **s);

/* A fresh scenario with the defaults (models = posix), or NULL. */
struct scenario *scenario_new(void);

/*
 * Parse an expectation ("pass", "fail: atomic durable(posix, visible)")
 * against the models and states of s and store it in s->expect_fail.
 * Returns 0 or -EINVAL with a message in err.  Exposed for the command
 * line and the tests.
 */
int scenario_parse_expect(struct scenario *s, const char *text, char *err,
			  size_t errlen);

/* The kinds a scenario checks: SCN_KIND_VISIBLE and/or its models. */
uint32_t scenario_kinds(const struct scenario *s);

/* The kinds as text, "visible, posix" ("" for none), into buf. */
const char *scenario_kinds_str(const struct scenario *s, uint32_t kinds,
			       char *buf, size_t len);

/*
 * True if path names something inside a state: relative, not empty, no
 * ".." component.  Paths given to --atomic/--durable must pass.
 */
bool scenario_path_ok(const char *path);

/* "atomic", "durable", "check". */
const char *scenario_check_name(enum scn_check c);

#endif /* CRASHFS_SCENARIO_H */
