/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Path tracker: follows the names files have while a trace is read, so a
 * record about file id 7 can be shown as "dir/config.json".  Fed every
 * record in trace order, it keeps, for each id it has met, the directory
 * entries that name it: TR_BIND, TR_CREATE, TR_MKNOD, TR_MKDIR, TR_SYMLINK
 * and TR_LINK add a name, TR_RENAME moves one (RENAME_EXCHANGE swaps two),
 * TR_UNLINK and TR_RMDIR remove one.  Failed records (result < 0) change
 * nothing.  A file whose last name is gone keeps that name for display,
 * followed by " (deleted)".  A file with several hard links is shown under
 * the oldest of its names.
 *
 * Paths are relative to the mount's root, as a user names files in the
 * directory they gave crashfs: "config.json.tmp", "dir/sub/file", and "/"
 * for the root itself.
 *
 * The trace is input, not trusted: an id never introduced, a loop of
 * parents, a name that is empty or holds '/' or is "." or "..": none of
 * these crash or loop.  Such a component is shown as "<id 42>" (the file's
 * id); an unusable name in an entry that has no id is shown as "<bad
 * name>".
 *
 *	struct names nm = { 0 };
 *	while (trace_next(r, &rec) > 0) {
 *		names_path(&nm, rec.id, buf, sizeof(buf));	before ...
 *		names_apply(&nm, &rec);				... or after
 *	}
 *	names_release(&nm);
 *
 * An all-zero struct names is a valid empty tracker.  Not thread-safe.
 */
#ifndef CRASHFS_NAMES_H
#define CRASHFS_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "core/map.h"
#include "core/trace.h"

struct names {
	struct map nodes;   /* (id, 0) -> struct names_node */
	struct map entries; /* (parent, hash of name) -> chain of
				   struct names_entry */
};

/*
 * Apply the effect of rec on names (nothing for records that do not
 * change names, or that failed).  Returns 0 or -ENOMEM; after -ENOMEM the
 * tracker is still consistent, the name change is missing.
 */
int names_apply(struct names *nm, const struct trace_rec *rec);

/*
 * The path id has now, written into buf (len bytes, at least 16) and
 * returned.  A path longer than buf is cut at its start and begins with
 * ".../".
 */
const char *names_path(const struct names *nm, uint64_t id, char *buf,
		       size_t len);

/*
 * The path of the entry name in directory parent ("dir/name", or "name" in
 * the root), whether or not the entry exists: for records that name an
 * entry (create, unlink, rename ...).  Same buffer rules.
 */
const char *names_entry_path(const struct names *nm, uint64_t parent,
			     const char *name, char *buf, size_t len);

/* The id that the entry name in directory parent names now, 0 if none. */
uint64_t names_lookup(const struct names *nm, uint64_t parent,
		      const char *name);

/* Free everything; nm is empty again. */
void names_release(struct names *nm);

#endif /* CRASHFS_NAMES_H */
