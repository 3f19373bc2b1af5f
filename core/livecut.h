/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The engine's side of a live power cut: at a TR_POWERCUT record the
 * model loader (core/model.c) calls livecut_apply(), which makes the ops
 * the cut dropped never have happened, so that the tree rebuilt after the
 * record is the one the daemon left (fusefs/powercut.c), and every later
 * crash state builds on it.  docs/faults.md says what each kind of cut
 * keeps:
 *
 *	strict		only what was durable
 *	keep-metadata	every entry and attribute op, no unsynced data or
 *			size op
 *	posix seed=S meta=B
 *			(older daemons) metadata up to seq B, each file's
 *			pending data all or none as S draws
 *	posix meta=B unit=U ...
 *			a partial cut (core/cutplan.h): metadata up to seq
 *			B, each file's pending writes kept whole, torn by
 *			unit, as a bare size or lost, as the plan says
 *
 * Ops that never happened get result -ECANCELED (model_cancel()); a write
 * kept in part gets its pieces (model_keep_pieces()).  The ops before the
 * cut are all durable from then on (core/persist.c).
 */
#ifndef CRASHFS_LIVECUT_H
#define CRASHFS_LIVECUT_H

#include <stddef.h>

struct model;
struct model_op;

/*
 * Apply the cut record cut to the ops before it; call with model_nops(m)
 * the number of ops before the cut (the loader hides the cut's own).
 * Returns 0, or -errno with a message naming the record in err: -ENOTSUP
 * for a cut of an unknown kind, -EBADMSG for a malformed partial cut,
 * -ENOMEM.  Uses the nodes' scratch words (and clears them).
 */
int livecut_apply(struct model *m, const struct model_op *cut, char *err,
		  size_t errlen);

#endif /* CRASHFS_LIVECUT_H */
