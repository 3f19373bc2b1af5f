/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Unit tests for core/ranges: random unions and cuts checked against a
 * byte map, and saves put into the gaps of a set (each byte once).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/ranges.h"

#define N 2048

/* r is sorted, disjoint, not touching (ranges_add merges what touches),
 * covers exactly the bytes set in ref, and counts them. */
static void check(struct ranges *r, const bool *ref, bool touching)
{
	static bool got[N];
	uint64_t bytes = 0;

	ranges_norm(r);
	memset(got, 0, sizeof(got));
	for (size_t i = 0; i < r->n; i++) {
		assert_true(r->v[i].off < r->v[i].end);
		if (i)
			assert_true(touching ? r->v[i - 1].end <= r->v[i].off
					     : r->v[i - 1].end < r->v[i].off);
		for (int64_t b = r->v[i].off; b < r->v[i].end; b++)
			got[b] = true;
		bytes += (uint64_t)(r->v[i].end - r->v[i].off);
	}
	assert_int_equal(bytes, ranges_bytes(r));
	assert_memory_equal(got, ref, sizeof(got));
}

static void test_add_and_cut(void **state)
{
	static bool ref[N];
	struct ranges r = {0};
	unsigned int seed = 7;

	(void)state;
	for (int step = 0; step < 20000; step++) {
		int64_t a = rand_r(&seed) % N, len = rand_r(&seed) % 64;
		int64_t b = a + len < N ? a + len : N;

		if (rand_r(&seed) % 50 == 0) {
			ranges_cut(&r, a);
			memset(ref + a, 0, (size_t)(N - a));
		} else {
			assert_int_equal(ranges_add(&r, a, b), 0);
			memset(ref + a, 1, (size_t)(b - a));
		}
		/* now and then only: the batches must build up */
		if (step % 7 == 0)
			check(&r, ref, false);
	}
	check(&r, ref, false);
	ranges_release(&r);
	assert_int_equal(r.n, 0);
}

/* Put the gaps of [a, b) into r at increasing positions, as the journal's
 * save() does; returns the bytes put. */
static int64_t put_gaps(struct ranges *r, int64_t a, int64_t b, int64_t *pos)
{
	int64_t put = 0;
	size_t i = ranges_find(r, a);

	while (a < b) {
		const struct range *x = i < r->n ? &r->v[i] : NULL;
		int64_t gap = x && x->off < b ? x->off : b;

		if (x && x->off <= a) {
			a = x->end;
			i++;
			continue;
		}
		assert_int_equal(ranges_put(r, a, gap, *pos), 0);
		*pos += gap - a;
		put += gap - a;
		a = gap;
		i = ranges_find(r, a);
	}
	return put;
}

static void test_saves_each_byte_once(void **state)
{
	static bool ref[N];
	static int64_t where[N];
	struct ranges r = {0};
	unsigned int seed = 99;
	int64_t pos = 0;

	(void)state;
	for (int step = 0; step < 5000; step++) {
		int64_t a = rand_r(&seed) % N, len = rand_r(&seed) % 100;
		int64_t b = a + len < N ? a + len : N, before = pos;

		put_gaps(&r, a, b, &pos);
		for (int64_t x = a; x < b; x++)
			if (!ref[x]) {
				ref[x] = true;
				where[x] = before++;
			}
		assert_int_equal(before, pos);
		check(&r, ref, true);
		/* every byte's position is where it was first put */
		for (size_t i = 0; i < r.n; i++)
			for (int64_t x = r.v[i].off; x < r.v[i].end; x++)
				assert_int_equal(r.v[i].pos + (x - r.v[i].off),
						 where[x]);
	}
	assert_int_equal(ranges_bytes(&r), pos);
	/* a sequential run of saves is one range */
	ranges_release(&r);
	pos = 0;
	for (int64_t a = 0; a < 1000; a += 10)
		put_gaps(&r, a, a + 10, &pos);
	assert_int_equal(r.n, 1);
	ranges_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_and_cut),
	    cmocka_unit_test(test_saves_each_byte_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
