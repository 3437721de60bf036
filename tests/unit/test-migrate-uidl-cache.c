/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "test-common.h"
#include "migrate-uidl-cache.h"

static uint32_t last_file_uidvalidity;

static int
cache_read(const char *data, uint32_t uidvalidity,
	   ARRAY_TYPE(migrate_uidl_cache_entry) *entries,
	   const char **error_r)
{
	struct istream *input = test_istream_create(data);
	uint32_t file_uidvalidity;
	int ret;

	ret = migrate_uidl_cache_read(input, uidvalidity,
				      pool_datastack_create(), entries,
				      &file_uidvalidity, error_r);
	if (ret >= 0)
		last_file_uidvalidity = file_uidvalidity;
	i_stream_unref(&input);
	return ret;
}

static void test_migrate_uidl_cache_roundtrip(void)
{
	ARRAY_TYPE(migrate_uidl_cache_entry) entries;
	const struct migrate_uidl_cache_entry *e;
	string_t *str = t_str_new(128);
	const char *error;

	test_begin("uidl cache write and read back");
	migrate_uidl_cache_append_header(str, 1700000000);
	migrate_uidl_cache_append_entry(str, 1, "00000001abcd", 3);
	migrate_uidl_cache_append_entry(str, 7, "odd\tuidl\\x", 0);
	t_array_init(&entries, 4);
	test_assert(cache_read(str_c(str), 1700000000, &entries, &error) == 1);
	test_assert_ucmp(array_count(&entries), ==, 2);
	e = array_idx(&entries, 0);
	test_assert_ucmp(e->uid, ==, 1);
	test_assert_strcmp(e->uidl, "00000001abcd");
	test_assert_ucmp(e->pop3_order, ==, 3);
	e = array_idx(&entries, 1);
	test_assert_ucmp(e->uid, ==, 7);
	test_assert_strcmp(e->uidl, "odd\tuidl\\x");
	test_assert_ucmp(e->pop3_order, ==, 0);

	/* a file of an older version: no orders */
	array_clear(&entries);
	test_assert(cache_read("V1 5\n1\tabc\n", 5, &entries, &error) == 1);
	e = array_idx(&entries, 0);
	test_assert(e->pop3_order == 0 && strcmp(e->uidl, "abc") == 0);
	test_end();
}

static void test_migrate_uidl_cache_orders(void)
{
	static const struct {
		uint32_t in[8], out[8];
		unsigned int count;
	} tests[] = {
		/* first pass: the list's own order */
		{ { 0, 0, 0, 0 }, { 1, 2, 3, 4 }, 4 },
		/* 2 and 4 deleted at the old server, 2 new ones at the end:
		   their positions (4, 5) would collide with 4 and 5 */
		{ { 1, 3, 5, 6, 0, 0 }, { 1, 3, 5, 6, 7, 8 }, 6 },
		/* everything old deleted: new ones still after it all */
		{ { 0, 0 }, { 1, 2 }, 2 },
		/* a message new in the middle of the list goes after the
		   ones before it */
		{ { 1, 2, 0, 10, 0 }, { 1, 2, 3, 10, 11 }, 5 },
		/* the old server reordered: orders given are kept */
		{ { 5, 1, 0 }, { 5, 1, 6 }, 3 },
	};
	uint32_t orders[8];
	unsigned int i, j;

	test_begin("uidl cache POP3 orders across passes");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		memcpy(orders, tests[i].in, sizeof(orders));
		migrate_uidl_cache_assign_orders(orders, tests[i].count);
		for (j = 0; j < tests[i].count; j++)
			test_assert_idx(orders[j] == tests[i].out[j], i * 10 + j);
	}
	test_end();
}

static void test_migrate_uidl_cache_uidvalidity(void)
{
	ARRAY_TYPE(migrate_uidl_cache_entry) entries;
	const char *error;

	test_begin("uidl cache for another uidvalidity is ignored");
	t_array_init(&entries, 4);
	test_assert(cache_read("V1 5\n1\tabc\n", 6, &entries, &error) == 0);
	test_assert_ucmp(array_count(&entries), ==, 0);
	test_assert_ucmp(last_file_uidvalidity, ==, 5);
	test_assert(cache_read("", 6, &entries, &error) == 0);
	test_assert_ucmp(last_file_uidvalidity, ==, 0);
	test_end();
}

static void test_migrate_uidl_cache_broken(void)
{
	static const char *const broken[] = {
		"garbage\n",
		"V1 x\n",
		"V1 5\n1\n",
		"V1 5\n0\tabc\n",
		"V1 5\nx\tabc\n",
		"V1 5\n1\t\n",
		"V1 5\n1\ta\tb\n",
		"V1 5\n1\ta\t2\t3\n",
	};
	ARRAY_TYPE(migrate_uidl_cache_entry) entries;
	const char *error;
	unsigned int i;

	test_begin("uidl cache broken files");
	for (i = 0; i < N_ELEMENTS(broken); i++) {
		t_array_init(&entries, 4);
		error = NULL;
		test_assert_idx(cache_read(broken[i], 5, &entries,
					   &error) == -1, i);
		test_assert_idx(error != NULL, i);
	}
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_uidl_cache_roundtrip,
		test_migrate_uidl_cache_orders,
		test_migrate_uidl_cache_uidvalidity,
		test_migrate_uidl_cache_broken,
		NULL
	};
	return test_run(test_functions);
}
