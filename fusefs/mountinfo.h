/* SPDX-License-Identifier: MIT */
/** @file
 *
 * What is mounted where, from /proc/self/mountinfo: used to refuse a mount
 * point that is already one, and to check that `crashfs umount` is given
 * a crashfs mount before unmounting anything.
 */
#ifndef CRASHFS_FUSEFS_MOUNTINFO_H
#define CRASHFS_FUSEFS_MOUNTINFO_H

#include <stddef.h>

/* The file system type of the crashfs mounts ("fuse." + subtype). */
#define MOUNTINFO_CRASHFS "fuse.crashfs"

/*
 * Is the canonical path dir a mount point?  Returns 1 and the type of the
 * topmost mount there in type (e.g. "fuse.crashfs", "ext4"), 0 if it is
 * not a mount point, or -errno if mountinfo cannot be read.
 */
int mountinfo_type(const char *dir, char *type, size_t len);

/* mountinfo_type(), and the mount's source (its fsname for FUSE) in
 * source (if not NULL). */
int mountinfo_get(const char *dir, char *type, size_t len, char *source,
		  size_t slen);

#endif /* CRASHFS_FUSEFS_MOUNTINFO_H */
