/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "test-common.h"
#include "migrate-uidl-diff.h"

static const char *const *split(const char *str)
{
	return t_strsplit_spaces(str, " ");
}

static void
diff(const char *old_list, const char *new_list,
     struct migrate_uidl_diff_result *result_r)
{
	migrate_uidl_diff(pool_datastack_create(), split(old_list),
			  split(new_list), result_r);
}

static const struct migrate_uidl_diff_entry *
entry_get(const struct migrate_uidl_diff_result *result, unsigned int i)
{
	return array_idx(&result->differences, i);
}

static void test_migrate_uidl_diff_identical(void)
{
	struct migrate_uidl_diff_result result;

	test_begin("uidl diff identical");
	diff("a b c d", "a b c d", &result);
	test_assert(migrate_uidl_diff_is_identical(&result));
	test_assert_ucmp(result.identical, ==, 4);
	test_assert_ucmp(array_count(&result.differences), ==, 0);

	diff("", "", &result);
	test_assert(migrate_uidl_diff_is_identical(&result));
	test_assert_ucmp(result.old_count, ==, 0);
	test_end();
}

static void test_migrate_uidl_diff_missing_extra(void)
{
	struct migrate_uidl_diff_result result;
	const struct migrate_uidl_diff_entry *e;

	test_begin("uidl diff missing and extra");
	diff("a b c d", "a c d x", &result);
	test_assert(!migrate_uidl_diff_is_identical(&result));
	test_assert_ucmp(result.identical, ==, 3);
	test_assert_ucmp(result.missing, ==, 1);
	test_assert_ucmp(result.extra, ==, 1);
	test_assert_ucmp(result.reordered, ==, 0);
	test_assert_ucmp(array_count(&result.differences), ==, 2);
	e = entry_get(&result, 0);
	test_assert(e->type == MIGRATE_UIDL_DIFF_MISSING);
	test_assert_strcmp(e->uidl, "b");
	test_assert_ucmp(e->old_seq, ==, 2);
	test_assert_ucmp(e->new_seq, ==, 0);
	e = entry_get(&result, 1);
	test_assert(e->type == MIGRATE_UIDL_DIFF_EXTRA);
	test_assert_strcmp(e->uidl, "x");
	test_assert_ucmp(e->new_seq, ==, 4);
	test_end();
}

static void test_migrate_uidl_diff_reordered(void)
{
	struct migrate_uidl_diff_result result;
	const struct migrate_uidl_diff_entry *e;

	test_begin("uidl diff reordered");
	/* one message moved to the end: only it is reordered, not every
	   message after its old place */
	diff("a b c d e", "a c d e b", &result);
	test_assert_ucmp(result.identical, ==, 4);
	test_assert_ucmp(result.reordered, ==, 1);
	test_assert_ucmp(result.missing + result.extra, ==, 0);
	e = entry_get(&result, 0);
	test_assert(e->type == MIGRATE_UIDL_DIFF_REORDERED);
	test_assert_strcmp(e->uidl, "b");
	test_assert_ucmp(e->old_seq, ==, 2);
	test_assert_ucmp(e->new_seq, ==, 5);

	/* complete reversal: one stays, the rest are reordered */
	diff("a b c d", "d c b a", &result);
	test_assert_ucmp(result.identical, ==, 1);
	test_assert_ucmp(result.reordered, ==, 3);
	test_end();
}

static void test_migrate_uidl_diff_duplicates(void)
{
	struct migrate_uidl_diff_result result;

	test_begin("uidl diff duplicates");
	diff("a b b c", "a b c", &result);
	test_assert_ucmp(result.duplicate, ==, 1);
	test_assert_ucmp(result.identical, ==, 3);
	test_assert_ucmp(result.missing, ==, 0);
	test_assert(!migrate_uidl_diff_is_identical(&result));

	diff("a b c", "a b c c", &result);
	test_assert_ucmp(result.duplicate, ==, 1);
	test_assert_ucmp(result.extra, ==, 0);
	test_assert(!migrate_uidl_diff_is_identical(&result));
	test_end();
}

static void test_migrate_uidl_diff_large(void)
{
	ARRAY_TYPE(const_string) old_list, new_list;
	struct migrate_uidl_diff_result result;
	const char *uidl;
	unsigned int i;

	test_begin("uidl diff 20000 with one missing");
	t_array_init(&old_list, 20001);
	t_array_init(&new_list, 20001);
	for (i = 0; i < 20000; i++) {
		uidl = t_strdup_printf("%08x", i * 7919);
		array_push_back(&old_list, &uidl);
		if (i != 12345)
			array_push_back(&new_list, &uidl);
	}
	array_append_zero(&old_list);
	array_append_zero(&new_list);
	migrate_uidl_diff(pool_datastack_create(), array_front(&old_list),
			  array_front(&new_list), &result);
	test_assert_ucmp(result.identical, ==, 19999);
	test_assert_ucmp(result.missing, ==, 1);
	test_assert_ucmp(result.reordered, ==, 0);
	test_assert_ucmp(entry_get(&result, 0)->old_seq, ==, 12346);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_uidl_diff_identical,
		test_migrate_uidl_diff_missing_extra,
		test_migrate_uidl_diff_reordered,
		test_migrate_uidl_diff_duplicates,
		test_migrate_uidl_diff_large,
		NULL
	};
	return test_run(test_functions);
}
