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

/* The hint for lost op i of g's cause, into buf. */
static void one_hint(const struct explain_ctx *x, const struct check_group *g,
		     size_t i, char *buf, size_t len)
{
	struct model *m = x->m;
	const struct cause *c = &g->cause;
	const struct model_op *op = model_op_seq(m, c->ops[i]);
	const struct model_op *bop =
	    c->before[i] ? model_op_seq(m, c->before[i]) : NULL;
	const char *path = g->check == SCN_EXTERNAL
			       ? NULL
			       : checks_path(x->c, g->check, g->path);
	const struct check_mark *mk = mark_before(x, g->example_upto);
	bool renamed_later = false;
	char p[300];

	for (size_t j = 0; j < c->nops; j++) {
		const struct model_op *o = model_op_seq(m, c->ops[j]);

		if (o && o->type == TR_RENAME && o->node == op->node &&
		    o->seq > op->seq)
			renamed_later = true;
	}
	cause_op_path(m, c->ops[i], p, sizeof(p));
	if (model_op_is_entry(op)) {
		char dw[360];

		dir_words(m, op, dw, sizeof(dw));
		snprintf(buf, len, "fsync %s after the %s", dw,
			 op->type == TR_CREATE ? "create"
					       : trace_type_name(op->type));
	} else if ((bop && bop->type == TR_RENAME) || renamed_later) {
		snprintf(buf, len, "fsync %s before renaming it", p);
	} else if (c->how[i] != CAUSE_DROP && g->check != SCN_DURABLE) {
		snprintf(buf, len,
			 "a write can tear or persist as zeros until "
			 "fsync returns: write a temp file and rename it, or "
			 "make readers detect a torn tail (checksummed "
			 "records)");
	} else if (g->check == SCN_ATOMIC && path) {
		snprintf(buf, len,
			 "this updates %s in place: write a temp "
			 "file, fsync it and rename it over %s",
			 path, path);
	} else {
		snprintf(buf, len, "fsync %s before %s", p,
			 mk ? "the mark (acknowledging it)"
			    : "the end of the program");
	}
}

void explain_group(const struct explain_ctx *x, struct check_group *g)
{
	struct model *m = x->m;
	const struct cause *c = &g->cause;
	const char *path = g->check == SCN_EXTERNAL
			       ? NULL
			       : checks_path(x->c, g->check, g->path);
	const struct check_mark *mk = mark_before(x, g->example_upto);
	char d[300], e[300], p[300], at[200] = "", h[400];
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
					 "after the mark (no crash needed: "
					 "kill -9 loses it too)",
					 path, d, e);
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
			model_goto_visible(m, c->point);
			v = checks_version(m, path);
			snprintf(g->text, sizeof(g->text),
				 "after %s, %s is %s: a concurrent reader or "
				 "kill -9 sees it, no crash needed",
				 d, path,
				 checks_describe(x->c, SCN_ATOMIC, g->path, v));
			if (op && !model_op_is_entry(op))
				snprintf(g->hint, sizeof(g->hint),
					 "this updates %s in place: write a "
					 "temp file, fsync it and rename it "
					 "over %s",
					 path, path);
			else
				snprintf(g->hint, sizeof(g->hint),
					 "make the change to %s in one step "
					 "(a rename of a complete file)",
					 path);
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
		char files[600] = "";
		size_t fn = 0;
		size_t nops = model_nops(m);

		(void)nops;
		model_goto_visible(m, c->point);
		for (size_t i = 0; i < c->nfiles && fn < sizeof(files); i++) {
			struct mnode *nd = model_node(m, c->files[i]);
			char fp[256] = "?";

			if (nd)
				model_path(m, nd, fp, sizeof(fp));
			fn += snprintf(
			    files + fn, sizeof(files) - fn, "%s%s%s%s",
			    i ? ", " : "",
			    c->file_is_dir[i] ? "entries of " : "",
			    c->file_is_dir[i] && !strcmp(fp, ".")
				? "the directory"
				: "",
			    c->file_is_dir[i] && !strcmp(fp, ".") ? "" : fp);
		}
		if (c->unminimised)
			snprintf(g->text, sizeof(g->text),
				 "operations that were not yet durable were "
				 "lost (on %s)%s (not minimised: the "
				 "cause-search budget was spent)",
				 files, at);
		else
			snprintf(g->text, sizeof(g->text),
				 "%zu operations not yet durable were lost "
				 "together (on %s)%s; persisting any three of "
				 "them does not fix the state",
				 c->nlost, files, at);
		snprintf(g->hint, sizeof(g->hint), "fsync %s before %s", files,
			 mk ? "acknowledging (the mark)"
			    : "the operations that depend on them");
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
		if (bop && bop->type == TR_RENAME && !model_op_is_entry(op))
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
		if (!strstr(g->hint, h))
			hn += snprintf(
			    g->hint + hn,
			    hn < sizeof(g->hint) ? sizeof(g->hint) - hn : 0,
			    "%s%s", hn ? "; and " : "", h);
	}
}

void explain_preview(const struct explain_ctx *x, const char *path,
		     uint64_t point, const uint8_t *choice, char *buf,
		     size_t len)
{
	struct cause_state cs = {point, choice, x->sector};
	struct mnode *n;
	char *data = NULL;
	size_t dlen = 0, o = 0;

	buf[0] = '\0';
	cause_apply(x->m, &cs);
	if (model_resolve(x->m, path, &n) < 0 || !n ||
	    model_read_all(x->m, n, &data, &dlen) < 0)
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
