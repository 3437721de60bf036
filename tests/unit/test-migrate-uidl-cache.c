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
	migrate_uidl_cache_append_entry(str, 1, "00000001abcd");
	migrate_uidl_cache_append_entry(str, 7, "odd\tuidl\\x");
	t_array_init(&entries, 4);
	test_assert(cache_read(str_c(str), 1700000000, &entries, &error) == 1);
	test_assert_ucmp(array_count(&entries), ==, 2);
	e = array_idx(&entries, 0);
	test_assert_ucmp(e->uid, ==, 1);
	test_assert_strcmp(e->uidl, "00000001abcd");
	e = array_idx(&entries, 1);
	test_assert_ucmp(e->uid, ==, 7);
	test_assert_strcmp(e->uidl, "odd\tuidl\\x");
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
		test_migrate_uidl_cache_uidvalidity,
		test_migrate_uidl_cache_broken,
		NULL
	};
	return test_run(test_functions);
}
