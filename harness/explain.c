/* SPDX-License-Identifier: MIT */
/** @file
 *
 * The wording of causes (see explain.h): what failed and why, in terms of
 * the program's own operations, and the hint that goes with it.
 */
#include "harness/explain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/persist.h"

/* The last mark at or before point, NULL if none. */
static const struct check_mark *mark_before(const struct explain_ctx *x,
					    uint64_t point)
{
	size_t n = checks_marks_upto(x->c, point);

	return n ? checks_mark(x->c, n - 1) : NULL;
}

/* Directory of an entry op, in words: "the directory" or "directory d". */
static void dir_words(struct model *m, const struct model_op *op, char *buf,
		      size_t len)
{
	char d[300];

	model_goto_visible(m, op->seq - 1);
	if (!op->dir) {
		snprintf(buf, len, "the directory");
		return;
	}
	model_path(m, op->dir, d, sizeof(d));
	if (!strcmp(d, "."))
		snprintf(buf, len, "the directory");
	else
		snprintf(buf, len, "the directory %s", d);
}

static const char *fate_words(uint8_t how)
{
	switch (how) {
	case MV_HEAD: return "was torn (only its first sectors persisted)";
	case MV_TAIL: return "was torn (only its last sectors persisted)";
	case MV_SIZE: return "persisted its size but not its data (zeros)";
	default: return "did not persist";
	}
}

/* The first mark after seq that a state standing for ops up to upto
 * saw (NULL if none): the acknowledgement that needed seq durable. */
static const struct check_mark *mark_after(const struct explain_ctx *x,
					   uint64_t seq, uint64_t upto)
{
	size_t n = checks_marks_upto(x->c, seq);

	if (n >= checks_nmarks(x->c) || checks_mark(x->c, n)->seq > upto)
		return NULL;
	return checks_mark(x->c, n);
}

/*
 * The op that gave op's file a name after op (a rename of it, a link to
 * it) up to point: before, when it is one, else the first in the trace.
 * NULL when the file was never published.
 */
static const struct model_op *publisher(struct model *m,
					const struct model_op *op,
					uint64_t before, uint64_t point)
{
	const struct model_op *b = before ? model_op_seq(m, before) : NULL;

	if (b && cause_publishes(b, op->node))
		return b;
	for (uint64_t q = op->seq + 1; q <= point; q++) {
		b = model_op_seq(m, q);
		if (b && cause_publishes(b, op->node))
			return b;
	}
	return NULL;
}

/* The op that created op's file, op itself or before it (NULL: it
 * existed before the workload). */
static const struct model_op *creator(struct model *m,
				      const struct model_op *op)
{
	for (uint64_t q = op->seq + 1; q-- > 1;) {
		const struct model_op *o = model_op_seq(m, q);

		if (o && o->result >= 0 && o->node == op->node &&
		    (o->type == TR_CREATE || o->type == TR_MKNOD ||
		     o->type == TR_SYMLINK || o->type == TR_MKDIR))
			return o;
	}
	return NULL;
}

/* The op that removed the entry a create then made again (an unlink of
 * it, a rename of it away), NULL if the name was free. */
static const struct model_op *removal(struct model *m,
				      const struct model_op *cr)
{
	for (uint64_t q = cr->seq; q-- > 1;) {
		const struct model_op *o = model_op_seq(m, q);

		if (!o || o->result < 0 || !o->name || o->dir != cr->dir ||
		    strcmp(o->name, cr->name))
			continue;
		if (o->type == TR_UNLINK || o->type == TR_RENAME)
			return o;
		return NULL; /* created or linked there: it was free */
	}
	return NULL;
}

/*
 * The hint for a file whose content readers can see half made (p: its
 * path at op): it existed before (in place), it was deleted and created
 * again, or it is new and written under its final name.
 */
static void rewrite_hint(struct model *m, const struct model_op *op,
			 const char *p, char *buf, size_t len)
{
	const struct model_op *cr = creator(m, op), *rm;
	char a[64], b[64];

	if (!cr) {
		snprintf(
		    buf, len,
		    "this updates %s in place: write a temp file, fsync it "
		    "and rename it over %s",
		    p, p);
		return;
	}
	rm = removal(m, cr);
	if (rm) {
		cause_op_name(m, rm->seq, a, sizeof(a));
		cause_op_name(m, cr->seq, b, sizeof(b));
		snprintf(buf, len,
			 "the program deletes %s (%s) and creates it again "
			 "(%s): write the new content to a temp file, fsync it "
			 "and rename it over %s",
			 p, a, b, p);
		return;
	}
	snprintf(buf, len,
		 "%s is written under its final name: write it under a "
		 "temporary name, fsync it and rename it to %s",
		 p, p);
}

/*
 * The hint for lost data (a write, a size or attribute change) op of g's
 * cause (index i), into buf.  The shapes, in order: the file was given a
 * name later (fsync before the rename or link); an acknowledgement (a
 * mark) came after it (fsync before acknowledging); an append (readers
 * must drop a torn tail); the file existed before (in place); it was
 * deleted and created again; it is new.
 */
static void data_hint(const struct explain_ctx *x, const struct check_group *g,
		      size_t i, char *buf, size_t len)
{
	struct model *m = x->m;
	const struct cause *c = &g->cause;
	const struct model_op *op = model_op_seq(m, c->ops[i]);
	const struct model_op *pub = publisher(m, op, c->before[i], c->point);
	const struct model_op *bop =
	    c->before[i] ? model_op_seq(m, c->before[i]) : NULL;
	const struct check_mark *mk = mark_after(x, op->seq, g->example_upto);
	bool append = op->type == TR_WRITE && (op->flags & TRF_APPEND);
	bool torn = c->how[i] != CAUSE_DROP;
	char p[300], b[64];

	cause_op_path(m, op->seq, p, sizeof(p));
	if (pub) {
		snprintf(buf, len, "fsync %s before %s it", p,
			 pub->type == TR_LINK ? "linking" : "renaming");
		return;
	}
	/* a torn or zero-filled append is the last record: an fsync before
	 * acknowledging does not make a crash before the fsync any safer */
	if (mk && (g->check != SCN_ATOMIC || (append && !torn))) {
		snprintf(buf, len,
			 "fsync %s before acknowledging it (mark '%.100s')", p,
			 mk->text);
		return;
	}
	if (g->check == SCN_DURABLE) {
		snprintf(buf, len, "fsync %s before the end of the program", p);
		return;
	}
	if (append) {
		snprintf(buf, len,
			 "an append can persist torn or as zeros until fsync "
			 "returns: make readers of %s detect a damaged last "
			 "record and drop it (checksummed records)",
			 p);
		return;
	}
	if (g->check == SCN_EXTERNAL) {
		if (torn)
			snprintf(buf, len,
				 "a write can tear or persist as zeros until "
				 "fsync returns: write a temp file and rename "
				 "it, or make readers detect a torn write "
				 "(checksums)");
		else if (bop && bop->node == op->node &&
			 persist_class_of(bop) != PC_ATTR) {
			cause_op_name(m, bop->seq, b, sizeof(b));
			snprintf(buf, len, "fsync %s between %s #%llu and %s",
				 p, trace_type_name(op->type),
				 (unsigned long long)op->seq, b);
		} else
			snprintf(buf, len,
				 "fsync %s before the end of the program", p);
		return;
	}
	rewrite_hint(m, op, p, buf, len);
}

/* The hint for lost op i of g's cause, into buf. */
static void one_hint(const struct explain_ctx *x, const struct check_group *g,
		     size_t i, char *buf, size_t len)
{
	struct model *m = x->m;
	const struct model_op *op = model_op_seq(m, g->cause.ops[i]);
	char dw[360];

	if (!model_op_is_entry(op)) {
		data_hint(x, g, i, buf, len);
		return;
	}
	if (g->check == SCN_ATOMIC && op->type == TR_CREATE && op->node &&
	    removal(m, op)) {
		/* a directory fsync would not close the window between the
		 * delete and the create */
		char p[300];

		cause_op_path(m, op->seq, p, sizeof(p));
		rewrite_hint(m, op, p, buf, len);
		return;
	}
	dir_words(m, op, dw, sizeof(dw));
	snprintf(buf, len, "fsync %s after the %s", dw,
		 op->type == TR_CREATE ? "create" : trace_type_name(op->type));
}

/* "a, the directory d and b": the files of a CAUSE_MANY, for the hint
 * (entries: "the directory D") or the text ("entries of D"). */
static void files_words(struct model *m, const struct cause *c, bool hint,
			char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	model_goto_visible(m, c->point);
	for (size_t i = 0; i < c->nfiles && n < len; i++) {
		struct mnode *nd = model_node(m, c->files[i]);
		char fp[256] = "?";
		const char *sep = !i ? "" : i + 1 == c->nfiles ? " and " : ", ";

		if (nd)
			model_path(m, nd, fp, sizeof(fp));
		if (!c->file_is_dir[i])
			n += snprintf(buf + n, len - n, "%s%s", sep, fp);
		else if (!strcmp(fp, "."))
			n += snprintf(buf + n, len - n, "%s%s", sep,
				      hint ? "the directory"
					   : "entries of the directory");
		else
			n +=
			    snprintf(buf + n, len - n, "%s%s %s", sep,
				     hint ? "the directory" : "entries of", fp);
	}
}

/*
 * Did the kernel write back pages of a shared mapping after op seq?  Then
 * what the trace shows before them is not what a reader or kill -9 saw
 * (the page cache had the program's stores), only what a power loss
 * leaves: the words must not promise "no crash needed".
 */
static bool written_back_after(struct model *m, uint64_t seq)
{
	return model_last_writeback(m) > seq;
}

/* g->text and g->hint for the group's example. */
static void word_cause(const struct explain_ctx *x, struct check_group *g)
{
	struct model *m = x->m;
	const struct cause *c = &g->cause;
	const char *path = g->check == SCN_EXTERNAL
			       ? NULL
			       : checks_path(x->c, g->check, g->path);
	const struct check_mark *mk = mark_before(x, g->example_upto);
	char d[300], e[300], p[300], at[200] = "", h[1024], *k;
	size_t n = 0, hn = 0;

	if (mk)
		snprintf(at, sizeof(at), " at mark '%.100s' (#%llu)", mk->text,
			 (unsigned long long)mk->seq);
	if (c->kind == CAUSE_VISIBLE && !c->ops[0]) {
		snprintf(g->text, sizeof(g->text),
			 "%s fails already on the initial state, before the "
			 "workload made any change",
			 g->check == SCN_EXTERNAL ? "the checker"
						  : "the check");
		snprintf(g->hint, sizeof(g->hint),
			 "check the checker or the setup: a state nobody "
			 "touched should pass");
		return;
	}
	if (c->kind == CAUSE_VISIBLE) {
		const struct model_op *op = model_op_seq(m, c->ops[0]);

		cause_describe_op(m, c->ops[0], d, sizeof(d));
		if (g->check == SCN_DURABLE) {
			uint64_t w = cause_final_writer(
			    m, path, checks_durable_from(x->c));

			if (mk)
				cause_describe_op(m, mk->seq, d, sizeof(d));

			if (w) {
				cause_describe_op(m, w, e, sizeof(e));
				snprintf(g->text, sizeof(g->text),
					 "%s did not hold its final version "
					 "at %s: it got it only at %s, "
					 "after the mark (%s)",
					 path, d, e,
					 written_back_after(m, c->ops[0])
					     ? "the kernel wrote the "
					       "program's mapped pages back "
					       "only then: a power loss loses "
					       "it"
					     : "no crash needed: kill -9 "
					       "loses it too");
			} else {
				snprintf(g->text, sizeof(g->text),
					 "%s did not hold its final version "
					 "at %s, with every operation "
					 "persisted",
					 path, d);
			}
			snprintf(g->hint, sizeof(g->hint),
				 "the data was still in the program's own "
				 "buffer: flush it (and fsync %s) before "
				 "acknowledging%s",
				 path, mk ? " the mark" : "");
			return;
		}
		if (g->check == SCN_ATOMIC) {
			uint64_t v;

			/* what a reader saw then (the example may be a
			 * crash state that holds something else) */
			struct mnode *n = NULL;

			model_goto_visible(m, c->point);
			v = checks_version_in(x->c, m, path);
			model_resolve(m, path, &n);
			snprintf(g->text, sizeof(g->text),
				 "after %s, %s is %s: %s", d, path,
				 checks_describe(x->c, SCN_ATOMIC, g->path, v),
				 written_back_after(m, c->ops[0])
				     ? "a power loss leaves it (the kernel "
				       "wrote mapped pages back later)"
				     : "a concurrent reader or kill -9 sees "
				       "it, no crash needed");
			/* advice about the op's file only if it is path's */
			if (op && !model_op_is_entry(op) && op->node &&
			    op->node == n) {
				cause_op_path(m, op->seq, p, sizeof(p));
				rewrite_hint(m, op, p, g->hint,
					     sizeof(g->hint));
			} else
				snprintf(g->hint, sizeof(g->hint),
					 "make the change to %s in one step "
					 "(a rename of a complete file)",
					 path);
			return;
		}
		if (op && op->type == TR_MARK &&
		    written_back_after(m, c->ops[0])) {
			snprintf(g->text, sizeof(g->text),
				 "the checker fails from %s on, with every "
				 "operation persisted: the program "
				 "acknowledged before its files held what it "
				 "acknowledged (its stores through a shared "
				 "mapping reached the filesystem only when the "
				 "kernel wrote the pages back, after the mark: "
				 "a power loss right after the mark shows it)",
				 d);
			snprintf(g->hint, sizeof(g->hint),
				 "sync the mapped file (msync with MS_SYNC, or "
				 "fsync) before the mark that acknowledges "
				 "the data");
			return;
		}
		if (op && op->type == TR_MARK) {
			/* the tree was already so before the mark */
			snprintf(g->text, sizeof(g->text),
				 "the checker fails from %s on, with every "
				 "operation persisted: the program "
				 "acknowledged before its files held what it "
				 "acknowledged (kill -9 right after the mark "
				 "shows it, no crash needed)",
				 d);
			snprintf(g->hint, sizeof(g->hint),
				 "write, flush and fsync the data before the "
				 "mark that acknowledges it");
			return;
		}
		if (written_back_after(m, c->ops[0])) {
			snprintf(g->text, sizeof(g->text),
				 "the checker fails from %s on, with every "
				 "operation persisted: a power loss leaves "
				 "this state, the kernel writing the "
				 "program's mapped pages back one by one",
				 d);
			snprintf(g->hint, sizeof(g->hint),
				 "a sync writes mapped pages back in an order "
				 "the program does not choose, and a power "
				 "loss during it keeps some and not others: "
				 "make updates recoverable (a journal, or a "
				 "copy and a rename)");
			return;
		}
		snprintf(g->text, sizeof(g->text),
			 "the checker fails from %s on, with every operation "
			 "persisted: a concurrent reader or kill -9 sees "
			 "this state",
			 d);
		snprintf(g->hint, sizeof(g->hint),
			 "the program itself exposes this state; no crash is "
			 "needed to reproduce it");
		return;
	}
	if (c->kind == CAUSE_MANY) {
		char files[600], hf[600];

		/* the acknowledgement that first needed them */
		if (c->first_lost &&
		    mark_after(x, c->first_lost, g->example_upto))
			mk = mark_after(x, c->first_lost, g->example_upto);

		files_words(m, c, false, files, sizeof(files));
		files_words(m, c, true, hf, sizeof(hf));
		if (c->unminimised)
			snprintf(g->text, sizeof(g->text),
				 "operations that were not yet durable were "
				 "lost (on %s)%s (not minimised: the "
				 "cause-search budget was spent)",
				 files, at);
		else if (c->depth)
			snprintf(g->text, sizeof(g->text),
				 "%zu operations not yet durable were lost "
				 "together (on %s)%s; persisting any %s of "
				 "them does not fix the state",
				 c->nlost, files, at,
				 c->depth == 1	 ? "one"
				 : c->depth == 2 ? "one or two"
						 : "one, two or three");
		else
			snprintf(g->text, sizeof(g->text),
				 "%zu operations not yet durable were lost "
				 "together (on %s)%s",
				 c->nlost, files, at);
		if (c->unminimised)
			snprintf(g->hint, sizeof(g->hint),
				 "replay the state to see which of %s it "
				 "depends on (the search did not get that "
				 "far), and fsync those before %s",
				 hf,
				 mk ? "acknowledging"
				    : "the operations that "
				      "depend on them");
		else if (mk)
			snprintf(g->hint, sizeof(g->hint),
				 "fsync %s before acknowledging (mark "
				 "'%.100s')",
				 hf, mk->text);
		else
			snprintf(g->hint, sizeof(g->hint),
				 "fsync %s before the operations that depend "
				 "on them",
				 hf);
		return;
	}
	if (c->kind == CAUSE_UNSTABLE) {
		snprintf(g->text, sizeof(g->text),
			 "the state lost no operation (it is the visible state "
			 "at its crash point), yet the checker failed on it "
			 "and passed when it was checked again: its verdict "
			 "is not repeatable");
		snprintf(g->hint, sizeof(g->hint),
			 "make the checker depend only on the state "
			 "(CRASHFS_STATE, CRASHFS_MARKS): no clock, no "
			 "randomness, nothing kept between runs");
		return;
	}
	if (c->kind == CAUSE_TIMEOUT) {
		snprintf(g->text, sizeof(g->text),
			 "the checker did not finish within %u s", x->timeout);
		snprintf(g->hint, sizeof(g->hint),
			 "replay the state and run the checker by hand; raise "
			 "--check-timeout if it is just slow");
		return;
	}
	if (c->kind != CAUSE_LOST) {
		snprintf(g->text, sizeof(g->text),
			 "not analysed: the cause-search budget for this "
			 "check was spent on other states");
		snprintf(g->hint, sizeof(g->hint),
			 "replay the example state and compare it with the "
			 "causes above");
		return;
	}
	g->hint[0] = '\0';
	for (size_t i = 0; i < c->nops && n < sizeof(g->text); i++) {
		const struct model_op *op = model_op_seq(m, c->ops[i]);
		const struct model_op *bop =
		    c->before[i] ? model_op_seq(m, c->before[i]) : NULL;

		cause_describe_op(m, c->ops[i], d, sizeof(d));
		cause_op_path(m, c->ops[i], p, sizeof(p));
		if (bop)
			cause_describe_op(m, c->before[i], e, sizeof(e));
		if (i)
			n += snprintf(g->text + n, sizeof(g->text) - n,
				      "; and ");
		if (bop && !model_op_is_entry(op) &&
		    cause_publishes(bop, op->node))
			n += snprintf(g->text + n, sizeof(g->text) - n,
				      "%s %s when %s made it visible", d,
				      c->how[i] == CAUSE_DROP
					  ? "was not durable"
					  : fate_words(c->how[i]),
				      e);
		else if (bop)
			n += snprintf(g->text + n, sizeof(g->text) - n,
				      "%s %s while %s persisted", d,
				      fate_words(c->how[i]), e);
		else
			n += snprintf(
			    g->text + n, sizeof(g->text) - n, "%s %s%s", d,
			    c->how[i] == CAUSE_DROP ? "was not durable"
						    : fate_words(c->how[i]),
			    g->check == SCN_ATOMIC ? "" : at);
		one_hint(x, g, i, h, sizeof(h));
		/* one hint per fix: "fsync F before acknowledging it" once,
		 * at the first mark that needed it */
		k = strstr(h, " (mark '");
		if (k)
			*k = '\0';
		if (strstr(g->hint, h))
			continue;
		if (k)
			*k = ' ';
		hn += snprintf(g->hint + hn,
			       hn < sizeof(g->hint) ? sizeof(g->hint) - hn : 0,
			       "%s%s", hn ? "; and " : "", h);
	}
}

void explain_group(const struct explain_ctx *x, struct check_group *g)
{
	const struct check_mark *mk[2];
	char a[64], b[64];
	size_t n;

	word_cause(x, g);
	n = strlen(g->text);
	if (g->mixed && g->cause.kind == CAUSE_LOST)
		n += snprintf(g->text + n, sizeof(g->text) - n,
			      " (in some states it was torn or persisted as "
			      "zeros instead)");
	if (g->nsame < 2 || n >= sizeof(g->text))
		return;
	/* the same mistake at other ops: how often, from where to where,
	 * at which marks */
	cause_op_name(x->m, g->same[0], a, sizeof(a));
	cause_op_name(x->m, g->same[1], b, sizeof(b));
	if (g->cause.kind == CAUSE_VISIBLE)
		n += snprintf(g->text + n, sizeof(g->text) - n,
			      "; the same after %llu ops in all (%s to %s)",
			      (unsigned long long)g->nsame, a, b);
	else
		n += snprintf(g->text + n, sizeof(g->text) - n,
			      "; the same mistake at %llu ops in all (%s to "
			      "%s)",
			      (unsigned long long)g->nsame, a, b);
	mk[0] = mark_before(x, g->upto[0]);
	mk[1] = mark_before(x, g->upto[1]);
	if (mk[0] && mk[1] && mk[0] != mk[1] && g->check != SCN_ATOMIC &&
	    g->cause.kind != CAUSE_VISIBLE && n < sizeof(g->text))
		snprintf(g->text + n, sizeof(g->text) - n,
			 ", at marks '%.100s' (#%llu) to '%.100s' (#%llu)",
			 mk[0]->text, (unsigned long long)mk[0]->seq,
			 mk[1]->text, (unsigned long long)mk[1]->seq);
}

/* Up to 24 bytes of a file's content, escaped: " (3 bytes: \"new\")". */
static void file_preview(struct model *m, struct mnode *n, char *buf,
			 size_t len)
{
	char *data = NULL;
	size_t dlen = 0, o = 0;

	buf[0] = '\0';
	if (model_read_all(m, n, &data, &dlen) < 0)
		return;
	o += snprintf(buf + o, len - o, " (%zu bytes: \"", dlen);
	for (size_t i = 0; i < dlen && i < 24 && o + 6 < len; i++) {
		unsigned char ch = data[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			buf[o++] = ch;
		else
			o += snprintf(buf + o, len - o, "\\x%02x", ch);
	}
	snprintf(buf + o, len - o, "%s\")", dlen > 24 ? "..." : "");
	free(data);
}

/* A directory's first entries and their sizes: " (2 entries: a (1
 * byte), b (empty))". */
static void dir_preview(struct mnode *n, char *buf, size_t len)
{
	void *cookie = NULL;
	const char *name;
	struct mnode *ch;
	size_t count = 0, o, shown = 0;
	char list[200] = "";

	o = 0;
	while ((ch = model_readdir(n, &cookie, &name))) {
		struct model_stat st;

		count++;
		if (shown >= 4 || o >= sizeof(list) - 1)
			continue;
		shown++;
		model_stat(ch, &st);
		if (S_ISDIR(st.mode))
			o += snprintf(list + o, sizeof(list) - o, "%s%.40s/",
				      o ? ", " : "", name);
		else if (S_ISREG(st.mode) && st.size)
			o += snprintf(list + o, sizeof(list) - o,
				      "%s%.40s (%llu byte%s)", o ? ", " : "",
				      name, (unsigned long long)st.size,
				      st.size == 1 ? "" : "s");
		else if (S_ISREG(st.mode))
			o += snprintf(list + o, sizeof(list) - o,
				      "%s%.40s (empty)", o ? ", " : "", name);
		else
			o += snprintf(list + o, sizeof(list) - o, "%s%.40s",
				      o ? ", " : "", name);
	}
	if (!count)
		snprintf(buf, len, " (no entries)");
	else
		snprintf(buf, len, " (%zu entr%s: %s%s)", count,
			 count == 1 ? "y" : "ies", list,
			 shown < count ? ", ..." : "");
}

void explain_held(const struct explain_ctx *x, enum scn_check check, int path,
		  uint64_t seen, uint64_t point, const uint8_t *choice,
		  char *buf, size_t len)
{
	struct cause_state cs = {point, choice, x->sector};
	const char *d = checks_describe(x->c, check, path, seen);
	const char *p = checks_path(x->c, check, path);
	struct model_stat st;
	struct mnode *n;
	char pv[240] = "";

	if (!strstr(d, "none of its versions")) {
		snprintf(buf, len, "%s", d);
		return;
	}
	cause_apply(x->m, &cs);
	if (model_resolve(x->m, p, &n) < 0 || !n) {
		snprintf(buf, len, "%s", d);
		return;
	}
	model_stat(n, &st);
	if (S_ISDIR(st.mode)) {
		dir_preview(n, pv, sizeof(pv));
		snprintf(buf, len,
			 "a directory tree that is none of its "
			 "versions%s",
			 pv);
	} else if (S_ISLNK(st.mode)) {
		snprintf(buf, len,
			 "a symlink that is none of its versions "
			 "(-> %.100s)",
			 model_symlink(n) ? model_symlink(n) : "");
	} else if (S_ISREG(st.mode)) {
		file_preview(x->m, n, pv, sizeof(pv));
		snprintf(buf, len, "%s%s", d, pv);
	} else {
		snprintf(buf, len, "%s", d);
	}
}
