/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The daemon's reads and writes on /dev/fuse: FUSE_HANDLE_KILLPRIV_V2
 * (see kio.h).
 */
#include "fusefs/kio.h"

#include <linux/fuse.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <unistd.h>

/* The INIT request's id while its reply is due, and whether the kernel
 * offered FUSE_HANDLE_KILLPRIV_V2 in it. */
static _Atomic uint64_t init_unique;
static atomic_bool init_offered;
static atomic_bool killpriv;

/* RELEASE requests read and not yet served (kio_release_served). */
static atomic_uint releases;

/* The kill flag of the request this thread is handling. */
static _Thread_local bool req_kill;

bool kio_killpriv(void)
{
	return atomic_load(&killpriv);
}

bool kio_kill_suidgid(void)
{
	return req_kill && atomic_load(&killpriv);
}

unsigned kio_releases_unserved(void)
{
	return atomic_load(&releases);
}

void kio_release_served(void)
{
	unsigned n = atomic_load(&releases);

	/* Never below zero: without kio_install (libfuse refused the
	 * custom io) no RELEASE is counted, yet op_release still calls us. */
	while (n && !atomic_compare_exchange_weak(&releases, &n, n - 1))
		;
}

/* The argument of the request in buf (n bytes) if it holds at least len
 * bytes of it, else NULL. */
static const void *arg_of(const char *buf, ssize_t n, size_t len)
{
	if ((size_t)n < sizeof(struct fuse_in_header) + len)
		return NULL;
	return buf + sizeof(struct fuse_in_header);
}

/* Note what the request in buf asks of us. */
static void note_request(const char *buf, ssize_t n)
{
	const struct fuse_in_header *h = (const void *)buf;
	const struct fuse_init_in *init;
	const struct fuse_write_in *wr;
	const struct fuse_setattr_in *sa;
	const struct fuse_open_in *op;
	const struct fuse_create_in *cr;

	req_kill = false;
	if ((size_t)n < sizeof(*h))
		return;
	switch (h->opcode) {
	case FUSE_INIT:
		init = arg_of(buf, n, sizeof(*init));
		if (init && init->major == FUSE_KERNEL_VERSION) {
			atomic_store(&init_offered,
				     (init->flags & FUSE_HANDLE_KILLPRIV_V2) !=
					 0);
			atomic_store(&init_unique, h->unique);
		}
		break;
	case FUSE_WRITE:
		wr = arg_of(buf, n, sizeof(*wr));
		req_kill = wr && (wr->write_flags & FUSE_WRITE_KILL_SUIDGID);
		break;
	case FUSE_SETATTR:
		sa = arg_of(buf, n, sizeof(*sa));
		req_kill = sa && (sa->valid & FATTR_KILL_SUIDGID);
		break;
	case FUSE_OPEN:
		op = arg_of(buf, n, sizeof(*op));
		req_kill = op && (op->open_flags & FUSE_OPEN_KILL_SUIDGID);
		break;
	case FUSE_CREATE:
		cr = arg_of(buf, n, sizeof(*cr));
		req_kill = cr && (cr->open_flags & FUSE_OPEN_KILL_SUIDGID);
		break;
	case FUSE_RELEASE: atomic_fetch_add(&releases, 1); break;
	default: break;
	}
}

static ssize_t kio_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);

	(void)userdata;
	if (n > 0)
		note_request(buf, n);
	return n;
}

/* The INIT reply: take over the dropping of privileges if the kernel
 * offered it. */
static void patch_init(struct iovec *iov, int count)
{
	const struct fuse_out_header *oh = iov[0].iov_base;
	struct fuse_init_out *out;
	uint64_t want = atomic_load(&init_unique);

	if (!want || iov[0].iov_len < sizeof(*oh) || oh->unique != want)
		return;
	atomic_store(&init_unique, 0);
	if (oh->error != 0 || count < 2 ||
	    iov[1].iov_len <
		offsetof(struct fuse_init_out, flags) + sizeof(out->flags))
		return;
	out = iov[1].iov_base;
	if (atomic_load(&init_offered) &&
	    !(out->flags & FUSE_HANDLE_KILLPRIV)) {
		out->flags |= FUSE_HANDLE_KILLPRIV_V2;
		atomic_store(&killpriv, true);
	}
}

static ssize_t kio_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	(void)userdata;
	if (count > 0 && atomic_load(&init_unique))
		patch_init(iov, count);
	return writev(fd, iov, count);
}

int kio_install(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
	    .read = kio_read,
	    .writev = kio_writev,
	};

	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}
