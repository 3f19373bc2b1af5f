/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The daemon's reads and writes on /dev/fuse (libfuse's custom io), for
 * one purpose: to take over from the kernel the dropping of privileges on
 * write (FUSE_HANDLE_KILLPRIV_V2), which libfuse 3.14 cannot ask for.
 *
 * Without it the kernel asks the daemon for `security.capability` before
 * every write(2), one more round trip per write.  With it the kernel sends
 * no such request and instead tells the daemon, in flags libfuse does not
 * pass on (FUSE_WRITE_KILL_SUIDGID on a write, FATTR_KILL_SUIDGID on a
 * truncate or chown, FUSE_OPEN_KILL_SUIDGID on an open with O_TRUNC), that
 * the set-user-ID and set-group-ID bits must go; and the daemon drops file
 * capabilities on every write.  ops.c does that and records each change.
 *
 * kio_install() wraps the session's reads and writes: a read notes the
 * flags of the request it brings in a thread-local variable (the worker
 * thread that reads a request is the one that handles it), and the write
 * of the INIT reply adds FUSE_HANDLE_KILLPRIV_V2 when the kernel offered
 * it.  Nothing else is touched.
 *
 * The reads also count the RELEASE requests in flight, for the wait on a
 * full disk (inode_space_wait in fs.h).
 */
#ifndef CRASHFS_FUSEFS_KIO_H
#define CRASHFS_FUSEFS_KIO_H

#include "fusefs/fs.h"

#include <stdbool.h>

/* Wrap the reads and writes of the mounted session se.  Returns 0 or
 * -1 (libfuse refused; the session then works as before, with the
 * kernel's GETXATTR before each write). */
int kio_install(struct fuse_session *se);

/* Did the kernel agree to leave the dropping of privileges to us?  Known
 * once INIT is answered, before any other request. */
bool kio_killpriv(void);

/* Does the request being handled by this thread ask that set-user-ID and
 * set-group-ID be dropped (and is FUSE_HANDLE_KILLPRIV_V2 on)? */
bool kio_kill_suidgid(void);

/* RELEASE requests read from the kernel and not yet served; op_release
 * calls kio_release_served() once the backing file is closed. */
unsigned kio_releases_unserved(void);
void kio_release_served(void);

#endif
