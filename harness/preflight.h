/* SPDX-License-Identifier: MIT */
/** @file
 *
 * What makes a check meaningless, found before any state is checked: a
 * check that cannot fail must never pass.
 *
 *  - a workload that changed nothing under the mount (it wrote
 *    elsewhere: an absolute path, /tmp, $HOME): every state is the
 *    initial one;
 *  - an --atomic/--durable path that no operation touched and that did
 *    not exist before the workload: it is absent in every state, which
 *    is always legal;
 *  - an external checker named by a relative path, which would be looked
 *    up in the copy of the state it runs in: preflight_resolve_cmd()
 *    makes it absolute, as the workload's program is.
 *
 * Errors come back as -EINVAL with a message in err saying what was
 * expected and the likely mistake.
 */
#ifndef CRASHFS_PREFLIGHT_H
#define CRASHFS_PREFLIGHT_H

#include <stddef.h>

#include "core/model.h"

/* -EINVAL when no successful op of the run changed anything. */
int preflight_changes(struct model *m, char *err, size_t errlen);

/*
 * -EINVAL when path (checked by option `opt`, "--atomic") did not exist
 * in the initial image and no successful op of the run named any of its
 * components (so it never existed).  Moves the model's tree (to the
 * initial image).
 */
int preflight_path(struct model *m, const char *opt, const char *path,
		   char *err, size_t errlen);

/*
 * cmd (a `sh -c` string) with its program made absolute: the first word
 * when it holds a '/', or the script given to an interpreter (`sh
 * check.sh`, `python3 check.py`), when it is a relative path to a regular
 * file in base that does not exist in the initial image `initial` (NULL:
 * none).  Words with quotes or other shell syntax are left alone.
 * Returns a malloc'd string (a copy of cmd when nothing changed), or
 * NULL with errno.
 */
char *preflight_resolve_cmd(const char *cmd, const char *base,
			    const char *initial);

#endif /* CRASHFS_PREFLIGHT_H */
