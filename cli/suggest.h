/* SPDX-License-Identifier: MIT */
/** @file
 *
 * "Did you mean": the words of a list closest to a mistyped one, as git
 * suggests 'check' for 'crashfs chek'.  Closeness is the optimal string
 * alignment distance (insertions, deletions, substitutions and swaps of
 * two neighbours each cost 1); a word the typed text begins is close too.
 */
#ifndef CRASHFS_CLI_SUGGEST_H
#define CRASHFS_CLI_SUGGEST_H

#include <stddef.h>

/*
 * Write into buf the words of the NULL-terminated list words that are
 * close to typed, as "'a'" or "'a' or 'b'" (the closest ones only), or ""
 * when none is close enough to be worth suggesting.  Returns the number
 * of words written.  Never fails: a suggestion that does not fit in len
 * is left out.
 */
size_t suggest_closest(const char *typed, const char *const *words, char *buf,
		       size_t len);

#endif /* CRASHFS_CLI_SUGGEST_H */
