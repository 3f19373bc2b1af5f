/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Unit tests for core/map: random operations checked against a plain
 * array, so deletion's backward shift is exercised on long probe runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/map.h"

#define N 4096

static void test_random_against_array(void **state)
{
	static void *ref[N];
	struct map m = {0};
	unsigned int seed = 12345;
	size_t live = 0, pos = 0, seen = 0;
	uint64_t k1, k2;

	(void)state;
	for (int step = 0; step < 200000; step++) {
		uint64_t k = (uint64_t)rand_r(&seed) % N;
		void *v = (void *)(uintptr_t)(k * 8 + 8);

		if (rand_r(&seed) % 3) {
			live += ref[k] == NULL;
			ref[k] = v;
			assert_int_equal(map_put(&m, k, k >> 3, v), 0);
		} else {
			assert_ptr_equal(map_del(&m, k, k >> 3), ref[k]);
			live -= ref[k] != NULL;
			ref[k] = NULL;
		}
		k = (uint64_t)rand_r(&seed) % N;
		assert_ptr_equal(map_get(&m, k, k >> 3), ref[k]);
		/* A different second key never matches. */
		assert_null(map_get(&m, k, (k >> 3) + 1));
	}
	assert_int_equal(m.len, live);
	while (map_next(&m, &pos, &k1, &k2)) {
		assert_ptr_equal(ref[k1], (void *)(uintptr_t)(k1 * 8 + 8));
		assert_int_equal(k2, k1 >> 3);
		seen++;
	}
	assert_int_equal(seen, live);
	map_release(&m);
	assert_null(map_get(&m, 1, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_against_array),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
