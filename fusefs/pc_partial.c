/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Partial power cuts (`crashfs ctl MNT powercut --seed S`, `--writes`,
 * `--write K --parts N`): part of what is pending persists, as planned by
 * core/cutplan.h, which the engine (core/livecut.c) follows too.
 *
 * Each dirty file keeps its changes since it became dirty as events, in
 * program order: a write's offset, length and where its payload is in the
 * trace (noted by pc_recorded(), the hook the ordering point calls after
 * each record), and its size ops.  A file the plan keeps in part is given
 * back its content as it was when it became dirty (the journal's saved
 * bytes), then the events the plan keeps are replayed on it: the size ops
 * the cut persists, and the pieces of the writes, read back from the
 * trace.  So the cut costs what the file's pending changes cost, however
 * big the file.
 */
#include "core/cutplan.h"
#include "fusefs/fs.h"
#include "fusefs/powercut.h"
#include "fusefs/powercut_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- events -------------------------------------------------------------- */

static int ev_add(struct pc_file *f, const struct pc_event *ev)
{
	if (f->nev == f->capev) {
		size_t cap = f->capev ? 2 * f->capev : 16;
		struct pc_event *v = realloc(f->ev, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		f->ev = v;
		f->capev = cap;
	}
	f->ev[f->nev++] = *ev;
	return 0;
}

void pc_file_whole(struct pc_file *f)
{
	f->whole = true;
	free(f->ev);
	f->ev = NULL;
	f->nev = f->capev = 0;
}

static void ev_note(struct pc_journal *j, struct pc_file *f,
		    const struct pc_event *ev)
{
	if (f->whole)
		return;
	if (ev_add(f, ev)) {
		cfs_error(j->fs, "power cut journal: out of memory; a partial "
				 "power cut keeps all or none of a file's "
				 "data, which `crashfs replay` will not "
				 "follow");
		pc_file_whole(f);
	}
}

void pc_recorded(struct cfs *fs, const struct trace_rec *rec)
{
	struct pc_journal *j = fs->pc;
	struct pc_file *f = j ? j->cur : NULL;
	off_t end =
	    (off_t)(rec->off + (uint64_t)(rec->result > 0 ? rec->result : 0));
	struct pc_event ev;

	if (!f)
		return;
	j->cur = NULL;
	if (!j->undo)
		return;
	if (rec->type == TR_FALLOCATE && rec->result == 0 &&
	    (rec->oflags & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)))
		pc_file_whole(f); /* moves bytes: not replayed */
	if ((rec->type != TR_WRITE && rec->type != TR_COPY_RANGE) ||
	    rec->result <= 0)
		return;
	if (!f->id)
		f->id = rec->id;
	ev = (struct pc_event){
	    .kind = PE_WRITE,
	    .extends = end > f->vsize,
	    .seq = rec->seq,
	    .off = (int64_t)rec->off,
	    .len = rec->result,
	    .data = trace_writer_last_data(fs->tw),
	};
	if (end > f->vsize)
		f->vsize = end;
	if (rec->type == TR_COPY_RANGE)
		pc_file_whole(f); /* its bytes are not in the trace */
	else if (++f->nwrites > CUTPLAN_MAX_WRITES)
		pc_file_whole(f);
	else
		ev_note(j, f, &ev);
}

void pc_event_size(struct pc_journal *j, struct pc_file *f, struct pc_event ev)
{
	if (ev.kind == PE_TRUNC)
		f->vsize = (off_t)ev.off;
	else if (ev.kind == PE_EXTEND && (off_t)ev.off > f->vsize)
		f->vsize = (off_t)ev.off;
	if (j->undo)
		ev_note(j, f, &ev);
}

void pc_file_forget(struct pc_file *f)
{
	free(f->ev);
	f->ev = NULL;
	f->nev = f->capev = 0;
	if (f->plan) {
		cutplan_file_release(f->plan);
		free(f->plan);
		f->plan = NULL;
	}
}

/* ---- what to cut: pc_how ---------------------------------------------- */

int pc_how_parse(struct pc_how *how, const char *text, char *err, size_t errlen)
{
	int e = cutplan_words(text, &how->spec, &how->keep_meta, err, errlen);

	how->partial = !e && how->spec.mode;
	return e;
}

int pc_how_check(struct cfs *fs, const struct pc_how *how, char *err,
		 size_t errlen)
{
	const struct cutplan_spec *s = &how->spec;
	struct pc_file *f;
	uint32_t most = s->torn == CUTPLAN_LAST ? 0 : s->torn;

	if (s->mode != CUTPLAN_SELECT)
		return 0;
	f = fs->pc ? map_get(&fs->pc->files, how->ino, how->dev) : NULL;
	if (!f || !f->nwrites) {
		snprintf(err, errlen, "the file has no unsynced writes");
		return -EINVAL;
	}
	/* last-D needs D + 1 writes */
	for (uint32_t i = 0; i < s->nwrites; i++)
		if (cutplan_is_rel(s->writes[i]) &&
		    CUTPLAN_LAST - s->writes[i] + 1 > most)
			most = CUTPLAN_LAST - s->writes[i] + 1;
		else if (!cutplan_is_rel(s->writes[i]) && s->writes[i] > most)
			most = s->writes[i];
	if (most > f->nwrites) {
		snprintf(err, errlen,
			 "the file has %u unsynced write%s, not %u "
			 "(numbered from its last fsync)",
			 f->nwrites, f->nwrites == 1 ? "" : "s", most);
		return -EINVAL;
	}
	if (f->whole || map_get(&fs->pc->failed, f->ino, f->dev)) {
		snprintf(err, errlen,
			 "the file's unsynced data cannot persist in part (a "
			 "copy_file_range into it, a failed fsync, more than "
			 "%d writes)",
			 CUTPLAN_MAX_WRITES);
		return -EINVAL;
	}
	return 0;
}

/* ---- the plan ---------------------------------------------------------- */

/* Plan f's events (meta: the cut's); its fate.  0 or -ENOMEM. */
static int plan_file(struct pc_journal *j, struct pc_file *f,
		     struct pc_how *how, bool selected)
{
	const struct cutplan_spec *s = &how->spec;
	struct cutplan_item *it = calloc(f->nev ? f->nev : 1, sizeof(*it));
	struct cutplan_file *out = calloc(1, sizeof(*out));
	bool blocks = false, any = false;
	int err = -ENOMEM;

	(void)j;
	if (!it || !out)
		goto out_free;
	for (size_t i = 0; i < f->nev; i++) {
		const struct pc_event *e = &f->ev[i];

		if (e->kind == PE_WRITE)
			it[i] = (struct cutplan_item){
			    .kind = CI_WRITE,
			    .extends = e->extends,
			    .seq = e->seq,
			    .off = (uint64_t)e->off,
			    .end = (uint64_t)(e->off + e->len),
			};
		else if (e->seq >= s->meta)
			/* a dropped size op: a truncate touches its cut on,
			 * the others (all journalled at once) the file */
			it[i] = (struct cutplan_item){
			    .kind = CI_BLOCK,
			    .off = e->kind == PE_TRUNC ? (uint64_t)e->off : 0,
			    .end = UINT64_MAX,
			};
		blocks |= it[i].kind == CI_BLOCK;
	}
	err = cutplan_file(s,
			   s->mode == CUTPLAN_SEEDED ? f->id
			   : selected		     ? s->file
						     : 0,
			   it, f->nev, out);
	if (err)
		goto out_free;
	for (size_t i = 0; i < f->nev; i++)
		any |= out->fate[i].n || out->fate[i].size;
	how->whole += out->whole;
	how->torn += out->torn;
	how->size_only += out->size_only;
	how->lost += out->lost;
	how->settled += out->settled;
	if (!blocks && out->whole == f->nwrites) {
		f->fate = PF_KEEP;
	} else if (!any) {
		f->fate = PF_DROP;
	} else {
		f->fate = PF_PART;
		f->plan = out;
		out = NULL;
	}
out_free:
	if (out)
		cutplan_file_release(out);
	free(out);
	free(it);
	return err;
}

/* A rule's selection names its file by trace id: find its inode. */
static void find_id(struct cfs *fs, struct pc_how *how)
{
	struct cfs_inode *in;
	size_t pos = 0;

	pthread_mutex_lock(&fs->tab);
	while ((in = map_next(&fs->inodes, &pos, NULL, NULL)))
		if (in->id == how->file_id) {
			how->ino = in->ino;
			how->dev = in->dev;
			break;
		}
	pthread_mutex_unlock(&fs->tab);
}

/*
 * The record names each write by its number: writes=last-D of a file with
 * n pending writes becomes n - D, and one that names none of them (D >= n:
 * it was made durable, or never made) is left out.  A selection left with
 * nothing names write n + 1, which no pending write has: the file keeps
 * none of them, and the record still reads as a selection.
 */
static void resolve_writes(struct cutplan_spec *s, uint32_t n)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < s->nwrites; i++) {
		uint32_t w = cutplan_resolve(s->writes[i], n);

		if (!cutplan_is_rel(s->writes[i]))
			s->writes[k++] = s->writes[i];
		else if (w)
			s->writes[k++] = w;
	}
	s->nwrites = k;
	if (!k && !s->torn) {
		s->writes[0] = n + 1;
		s->nwrites = 1;
	}
}

int pc_plan(struct cfs *fs, struct pc_journal *j, struct pc_how *how)
{
	struct cutplan_spec *s = &how->spec;
	struct pc_file *f, *sel = NULL;
	size_t c, pos = 0;
	int err;

	c = how->keep_meta ? j->nops
	    : s->mode == CUTPLAN_SEEDED
		? (size_t)cutplan_prefix(s->seed, j->nops)
		: 0;
	/* The journal ops of one request stay together. */
	while (c > 0 && c < j->nops && j->ops[c - 1].before == j->ops[c].before)
		c--;
	s->meta = c < j->nops ? j->ops[c].before
		  : fs->tw    ? trace_writer_count(fs->tw)
			      : 0;
	how->ops_kept = c;
	how->ops = j->nops;
	if (!s->unit)
		s->unit = CUTPLAN_UNIT;
	if (s->mode == CUTPLAN_SELECT) {
		if (!how->ino)
			find_id(fs, how);
		sel = map_get(&j->files, how->ino, how->dev);
		s->file = sel && sel->id ? sel->id : how->file_id;
		if (!s->file)
			return -EINVAL;
		/* the record names write=last by its number */
		if (s->torn == CUTPLAN_LAST)
			s->torn = sel && sel->nwrites ? sel->nwrites : 1;
		resolve_writes(s, sel ? sel->nwrites : 0);
	}
	if (cutplan_format(s, how->name, sizeof(how->name)) < 0)
		return -ENAMETOOLONG;
	/* Which files lose a size op: drawn before the commit, while the
	 * journal still names the ops it drops. */
	for (size_t i = c; i < j->nops; i++) {
		f = j->ops[i].kind == PK_SIZE
			? map_get(&j->files, j->ops[i].ino, j->ops[i].dev)
			: NULL;
		if (f && f->gen == j->ops[i].gen)
			f->size_dropped = true;
	}
	while ((f = map_next(&j->files, &pos, NULL, NULL))) {
		bool failed = map_get(&j->failed, f->ino, f->dev) != NULL;

		if (f->whole || failed) {
			f->fate = cutplan_whole_keeps(
				      s, f->id, !failed && !f->size_dropped)
				      ? PF_KEEP
				      : PF_DROP;
			if (f->fate == PF_KEEP)
				how->whole += f->nwrites;
			else
				how->lost += f->nwrites;
		} else {
			err = plan_file(j, f, how, f == sel);
			if (err)
				return err;
		}
		if (!f->id)
			continue;
		pc_id_add(f->fate == PF_KEEP   ? how->kept
			  : f->fate == PF_DROP ? how->dropped
					       : how->part,
			  sizeof(how->kept), f->id);
		how->files_kept += f->fate == PF_KEEP;
		how->files_dropped += f->fate == PF_DROP;
		how->files_part += f->fate == PF_PART;
	}
	for (size_t i = 0; i < c; i++)
		pc_op_commit(fs, j, &j->ops[i]);
	memmove(j->ops, j->ops + c, (j->nops - c) * sizeof(*j->ops));
	j->nops -= c;
	return 0;
}

/* ---- the replay -------------------------------------------------------- */

/* Copy the bytes [a, b) of write event e from the trace (tfd) to f. */
static int put_piece(struct pc_file *f, int tfd, const struct pc_event *e,
		     uint64_t a, uint64_t b)
{
	char buf[65536];

	while (a < b) {
		size_t n = b - a < sizeof(buf) ? (size_t)(b - a) : sizeof(buf);
		ssize_t r = pread(tfd, buf, n,
				  (off_t)(e->data + (a - (uint64_t)e->off)));

		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		if (pwrite(f->fd, buf, (size_t)r, (off_t)a) != r)
			return errno ? -errno : -EIO;
		a += (uint64_t)r;
	}
	return 0;
}

int pc_replay(struct cfs *fs, struct pc_file *f, uint64_t meta, int *tfd)
{
	off_t cur = f->base;
	int err;

	if (*tfd < 0) {
		*tfd = open(fs->trace_path, O_RDONLY | O_CLOEXEC);
		if (*tfd < 0)
			return -errno;
	}
	err = pc_file_restore(f, true);
	for (size_t i = 0; i < f->nev && !err; i++) {
		const struct pc_event *e = &f->ev[i];
		const struct cutplan_fate *fa = &f->plan->fate[i];
		off_t end;

		if (e->kind != PE_WRITE && e->seq >= meta)
			continue; /* a dropped size op */
		switch (e->kind) {
		case PE_WRITE:
			for (uint32_t k = 0; k < fa->n && !err; k++) {
				const struct cutplan_piece *p =
				    &f->plan->pieces[fa->first + k];

				err = put_piece(f, *tfd, e, p->off, p->end);
				if ((off_t)p->end > cur)
					cur = (off_t)p->end;
			}
			if (!err && (off_t)fa->size > cur) {
				cur = (off_t)fa->size;
				if (ftruncate(f->fd, cur) < 0)
					err = -errno;
			}
			break;
		case PE_TRUNC:
		case PE_EXTEND:
			if (e->kind == PE_EXTEND && (off_t)e->off <= cur)
				break;
			cur = (off_t)e->off;
			if (ftruncate(f->fd, cur) < 0)
				err = -errno;
			break;
		case PE_ZERO:
			end = (off_t)(e->off + e->len) < cur
				  ? (off_t)(e->off + e->len)
				  : cur;
			if ((off_t)e->off < end)
				err = pc_write_zeros(f->fd, (off_t)e->off,
						     end - (off_t)e->off);
			break;
		}
	}
	return err;
}
