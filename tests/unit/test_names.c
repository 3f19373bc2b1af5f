/* SPDX-License-Identifier: MIT */
/** @file
 *
 * Unit tests for core/names: the paths a user would see in `crashfs trace`
 * for the seed 004 atomic write, directory renames, hard links, unlinked
 * files, RENAME_EXCHANGE, failed operations, and hostile traces (unbound
 * ids, loops of parents, names with '/' or ".."), which must neither crash
 * nor loop.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/names.h"

static char buf[4096];

static void apply(struct names *nm, unsigned int type, uint64_t parent,
		  const char *name, uint64_t id)
{
	struct trace_rec rec = {
	    .type = type, .parent = parent, .name = name, .id = id};

	assert_int_equal(names_apply(nm, &rec), 0);
}

static void rename_(struct names *nm, uint64_t p, const char *n, uint64_t p2,
		    const char *n2, uint32_t flags, int result)
{
	struct trace_rec rec = {.type = TR_RENAME,
				.parent = p,
				.name = n,
				.parent2 = p2,
				.name2 = n2,
				.oflags = flags,
				.result = result};

	assert_int_equal(names_apply(nm, &rec), 0);
}

static const char *path(const struct names *nm, uint64_t id)
{
	return names_path(nm, id, buf, sizeof(buf));
}

static void test_atomic_write(void **state)
{
	struct names nm = {0};
	struct trace_rec bind_root = {.type = TR_BIND, .id = 1, .name = ""};

	(void)state;
	assert_int_equal(names_apply(&nm, &bind_root), 0);
	assert_string_equal(path(&nm, 1), "/");
	apply(&nm, TR_BIND, 1, "config.json", 2);
	apply(&nm, TR_CREATE, 1, "config.json.tmp", 3);
	assert_string_equal(path(&nm, 3), "config.json.tmp");
	assert_int_equal(names_lookup(&nm, 1, "config.json"), 2);
	rename_(&nm, 1, "config.json.tmp", 1, "config.json", 0, 0);
	assert_string_equal(path(&nm, 3), "config.json");
	assert_string_equal(path(&nm, 2), "config.json (deleted)");
	assert_int_equal(names_lookup(&nm, 1, "config.json"), 3);
	assert_int_equal(names_lookup(&nm, 1, "config.json.tmp"), 0);
	assert_string_equal(
	    names_entry_path(&nm, 1, "config.json.tmp", buf, sizeof(buf)),
	    "config.json.tmp");
	names_release(&nm);
	assert_int_equal(nm.nodes.len, 0);
}

static void test_directories(void **state)
{
	struct names nm = {0};

	(void)state;
	apply(&nm, TR_MKDIR, 1, "dir", 2);
	apply(&nm, TR_MKDIR, 2, "sub", 3);
	apply(&nm, TR_CREATE, 3, "file", 4);
	assert_string_equal(path(&nm, 4), "dir/sub/file");
	assert_string_equal(names_entry_path(&nm, 3, "new", buf, sizeof(buf)),
			    "dir/sub/new");
	/* a directory rename moves everything below it */
	rename_(&nm, 1, "dir", 1, "moved", 0, 0);
	assert_string_equal(path(&nm, 4), "moved/sub/file");
	rename_(&nm, 2, "sub", 1, "top", 0, 0);
	assert_string_equal(path(&nm, 4), "top/file");
	/* a pre-existing file met inside a renamed directory */
	apply(&nm, TR_BIND, 3, "old", 5);
	assert_string_equal(path(&nm, 5), "top/old");
	apply(&nm, TR_UNLINK, 3, "file", 4);
	apply(&nm, TR_UNLINK, 3, "old", 0); /* id unknown to the daemon */
	assert_string_equal(path(&nm, 5), "top/old (deleted)");
	apply(&nm, TR_RMDIR, 1, "top", 3);
	assert_string_equal(path(&nm, 3), "top (deleted)");
	assert_string_equal(path(&nm, 4), "top/file (deleted)");
	names_release(&nm);
}

static void test_hard_links(void **state)
{
	struct names nm = {0};

	(void)state;
	apply(&nm, TR_CREATE, 1, "a", 2);
	apply(&nm, TR_MKDIR, 1, "d", 3);
	apply(&nm, TR_LINK, 3, "b", 2);
	assert_string_equal(path(&nm, 2), "a"); /* the oldest name */
	apply(&nm, TR_UNLINK, 1, "a", 2);
	assert_string_equal(path(&nm, 2), "d/b");
	/* rename between two names of one file does nothing */
	apply(&nm, TR_LINK, 1, "c", 2);
	rename_(&nm, 1, "c", 3, "b", 0, 0);
	assert_int_equal(names_lookup(&nm, 1, "c"), 2);
	assert_int_equal(names_lookup(&nm, 3, "b"), 2);
	apply(&nm, TR_UNLINK, 3, "b", 2);
	apply(&nm, TR_UNLINK, 1, "c", 2);
	assert_string_equal(path(&nm, 2), "c (deleted)");
	/* a hard link of the initial state, bound under both names */
	apply(&nm, TR_BIND, 1, "h1", 9);
	apply(&nm, TR_BIND, 1, "h2", 9);
	apply(&nm, TR_BIND, 1, "h2", 9);
	assert_string_equal(path(&nm, 9), "h1");
	apply(&nm, TR_UNLINK, 1, "h1", 9);
	assert_string_equal(path(&nm, 9), "h2");
	/* a new link brings it back (linkat of an O_TMPFILE-like file) */
	apply(&nm, TR_LINK, 1, "again", 2);
	assert_string_equal(path(&nm, 2), "again");
	names_release(&nm);
}

static void test_exchange_and_failures(void **state)
{
	struct names nm = {0};

	(void)state;
	apply(&nm, TR_CREATE, 1, "a", 2);
	apply(&nm, TR_MKDIR, 1, "d", 3);
	apply(&nm, TR_CREATE, 3, "b", 4);
	rename_(&nm, 1, "a", 3, "b", RENAME_EXCHANGE, 0);
	assert_string_equal(path(&nm, 2), "d/b");
	assert_string_equal(path(&nm, 4), "a");
	/* failed records change nothing */
	rename_(&nm, 1, "a", 1, "z", 0, -EXDEV);
	assert_string_equal(path(&nm, 4), "a");
	{
		struct trace_rec rec = {.type = TR_UNLINK,
					.parent = 1,
					.name = "a",
					.id = 4,
					.result = -EBUSY};
		struct trace_rec cr = {.type = TR_CREATE,
				       .parent = 1,
				       .name = "x",
				       .id = 9,
				       .result = -EEXIST};

		assert_int_equal(names_apply(&nm, &rec), 0);
		assert_int_equal(names_apply(&nm, &cr), 0);
	}
	assert_string_equal(path(&nm, 4), "a");
	assert_string_equal(path(&nm, 9), "<id 9>");
	/* RENAME_NOREPLACE behaves as a rename when it succeeds */
	rename_(&nm, 1, "a", 1, "c", RENAME_NOREPLACE, 0);
	assert_string_equal(path(&nm, 4), "c");
	/* a name exchanged with itself, or renamed onto itself, stays */
	rename_(&nm, 1, "c", 1, "c", RENAME_EXCHANGE, 0);
	rename_(&nm, 1, "c", 1, "c", 0, 0);
	assert_string_equal(path(&nm, 4), "c");
	/* a rename of an entry never seen uses the record's ids */
	{
		struct trace_rec rec = {.type = TR_RENAME,
					.parent = 1,
					.name = "ghost",
					.parent2 = 3,
					.name2 = "b",
					.id = 7,
					.id2 = 2};

		assert_int_equal(names_apply(&nm, &rec), 0);
	}
	assert_string_equal(path(&nm, 7), "d/b");
	assert_string_equal(path(&nm, 2), "d/b (deleted)");
	names_release(&nm);
}

static void test_hostile(void **state)
{
	struct names nm = {0};

	(void)state;
	/* never bound */
	assert_string_equal(path(&nm, 42), "<id 42>");
	assert_string_equal(names_entry_path(&nm, 42, "f", buf, sizeof(buf)),
			    "<id 42>/f");
	apply(&nm, TR_CREATE, 42, "f", 43);
	assert_string_equal(path(&nm, 43), "<id 42>/f");
	/* a loop of parents: 10 in 11, 11 in 10 */
	apply(&nm, TR_MKDIR, 11, "x", 10);
	apply(&nm, TR_MKDIR, 10, "y", 11);
	apply(&nm, TR_CREATE, 10, "z", 12);
	assert_string_equal(path(&nm, 10), "<id 10>");
	assert_string_equal(path(&nm, 12), "<id 12>");
	assert_string_equal(names_entry_path(&nm, 11, "q", buf, sizeof(buf)),
			    "<id 11>/q");
	/* a directory that is its own parent */
	apply(&nm, TR_MKDIR, 20, "self", 20);
	assert_string_equal(path(&nm, 20), "<id 20>");
	/* names that are not single entries */
	apply(&nm, TR_MKDIR, 1, "ok", 30);
	apply(&nm, TR_CREATE, 30, "a/b", 31);
	apply(&nm, TR_CREATE, 30, "..", 32);
	apply(&nm, TR_CREATE, 30, ".", 33);
	apply(&nm, TR_CREATE, 30, "", 34);
	assert_string_equal(path(&nm, 31), "ok/<id 31>");
	assert_string_equal(path(&nm, 32), "ok/<id 32>");
	assert_string_equal(path(&nm, 33), "ok/<id 33>");
	assert_string_equal(path(&nm, 34), "ok/<id 34>");
	assert_string_equal(
	    names_entry_path(&nm, 30, "../../etc", buf, sizeof(buf)),
	    "ok/<bad name>");
	/* the root keeps its name whatever claims it */
	apply(&nm, TR_CREATE, 30, "root?", 1);
	assert_string_equal(path(&nm, 1), "/");
	/* id 0 and records without names */
	assert_string_equal(path(&nm, 0), "<id 0>");
	{
		struct trace_rec rec = {.type = TR_RENAME, .parent = 1};

		assert_int_equal(names_apply(&nm, &rec), 0);
		rec.type = TR_UNLINK;
		assert_int_equal(names_apply(&nm, &rec), 0);
		rec.type = TR_CREATE;
		assert_int_equal(names_apply(&nm, &rec), 0);
	}
	names_release(&nm);
}

/* A chain deeper than the buffer: cut at the start, never overflowed. */
static void test_long_paths(void **state)
{
	struct names nm = {0};
	char small[40];
	const char *p;

	(void)state;
	for (uint64_t id = 2; id < 3000; id++)
		apply(&nm, TR_MKDIR, id - 1, "abcdefgh", id);
	p = names_path(&nm, 2999, small, sizeof(small));
	assert_int_equal(strncmp(p, ".../", 4), 0);
	assert_true(strlen(p) < sizeof(small));
	assert_string_equal(p + strlen(p) - 9, "/abcdefgh");
	p = names_path(&nm, 2999, buf, sizeof(buf));
	assert_int_equal(strncmp(p, ".../", 4), 0);
	p = names_entry_path(&nm, 2999, "leaf", small, sizeof(small));
	assert_int_equal(strncmp(p, ".../", 4), 0);
	assert_string_equal(p + strlen(p) - 5, "/leaf");
	p = names_path(&nm, 3, small, sizeof(small));
	assert_string_equal(p, "abcdefgh/abcdefgh");
	names_release(&nm);
}

/* Random operations on a few names: never crashes, paths stay short. */
static void test_random(void **state)
{
	static const char *const names[] = {"a", "b", "c", "..", "d/e", ""};
	static const unsigned int types[] = {TR_BIND,  TR_CREATE, TR_MKDIR,
					     TR_LINK,  TR_UNLINK, TR_RMDIR,
					     TR_RENAME};
	struct names nm = {0};
	unsigned int seed = 4;

	(void)state;
	for (int i = 0; i < 100000; i++) {
		struct trace_rec rec = {
		    .type = types[rand_r(&seed) % 7],
		    .id = (uint64_t)rand_r(&seed) % 12,
		    .id2 = (uint64_t)rand_r(&seed) % 12,
		    .parent = (uint64_t)rand_r(&seed) % 12,
		    .parent2 = (uint64_t)rand_r(&seed) % 12,
		    .name = names[rand_r(&seed) % 6],
		    .name2 = names[rand_r(&seed) % 6],
		    .oflags = (uint32_t)rand_r(&seed) % 3,
		    .result = rand_r(&seed) % 8 ? 0 : -ENOENT,
		};

		assert_int_equal(names_apply(&nm, &rec), 0);
		path(&nm, (uint64_t)rand_r(&seed) % 12);
		assert_true(strlen(buf) < 200);
		names_entry_path(&nm, rec.parent, rec.name, buf, sizeof(buf));
	}
	names_release(&nm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_atomic_write),
	    cmocka_unit_test(test_directories),
	    cmocka_unit_test(test_hard_links),
	    cmocka_unit_test(test_exchange_and_failures),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_long_paths),
	    cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
