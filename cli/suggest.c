/* SPDX-License-Identifier: MIT */
/** @file
 *
 * "Did you mean": see cli/suggest.h.
 */
#include "cli/suggest.h"

#include <stdio.h>
#include <string.h>

#define WORD_MAX 32 /* longer words are never suggested */

/* Optimal string alignment distance between a and b (both < WORD_MAX). */
static unsigned distance(const char *a, const char *b)
{
	unsigned d[WORD_MAX + 1][WORD_MAX + 1];
	size_t la = strlen(a), lb = strlen(b);

	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			unsigned best =
			    d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

/*
 * How far typed is from word, or WORD_MAX when too far to suggest: at
 * most two edits, and fewer than half of the word's letters (so 'x' does
 * not suggest 'ctl'); a prefix of two letters or more counts as 1.
 */
static unsigned closeness(const char *typed, const char *word)
{
	size_t lt = strlen(typed), lw = strlen(word);
	unsigned d;

	if (lt >= WORD_MAX || lw >= WORD_MAX)
		return WORD_MAX;
	if (lt >= 2 && lt < lw && !strncmp(typed, word, lt))
		return 1;
	d = distance(typed, word);
	return d <= 2 && 2 * d < lw ? d : WORD_MAX;
}

size_t suggest_closest(const char *typed, const char *const *words, char *buf,
		       size_t len)
{
	unsigned best = WORD_MAX;
	size_t n = 0, used = 0;

	if (!len)
		return 0;
	buf[0] = '\0';
	for (size_t i = 0; words[i]; i++) {
		unsigned d = closeness(typed, words[i]);

		if (d < best)
			best = d;
	}
	if (best == WORD_MAX)
		return 0;
	for (size_t i = 0; words[i]; i++) {
		int w;

		if (closeness(typed, words[i]) != best)
			continue;
		w = snprintf(buf + used, len - used, "%s'%s'", n ? " or " : "",
			     words[i]);
		if (w < 0 || (size_t)w >= len - used) {
			buf[used] = '\0';
			break;
		}
		used += (size_t)w;
		n++;
	}
	return n;
}
