/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "test-common.h"
#include "migrate-uidl-map.h"

static void test_migrate_uidl_map_lookup(void)
{
	static const uint32_t uids[] = { 3, 4, 9, 100, 4000000000U };
	static const uint32_t orders[] = { 2, 1, 0, 5, 4 };
	static const char *const uidls[] = {
		"a", "UID4-1700000000", "", "0000006400001234",
		"a long UIDL with spaces, as some servers have"
	};
	struct migrate_uidl_map *map;
	const char *uidl;
	uint32_t order;
	size_t size = 0;
	unsigned int i;

	test_begin("uidl map: lookup by UID");
	for (i = 0; i < N_ELEMENTS(uidls); i++)
		size += strlen(uidls[i]);
	map = migrate_uidl_map_init(N_ELEMENTS(uids), size);
	for (i = 0; i < N_ELEMENTS(uids); i++)
		migrate_uidl_map_add(map, uids[i], uidls[i], orders[i]);
	test_assert(migrate_uidl_map_count(map) == N_ELEMENTS(uids));
	for (i = 0; i < N_ELEMENTS(uids); i++) {
		uidl = NULL; order = 999;
		test_assert_idx(migrate_uidl_map_lookup(map, uids[i], &uidl,
							&order), i);
		test_assert_idx(uidl != uidls[i] &&
				strcmp(uidl, uidls[i]) == 0, i);
		/* 0: no POP3 order (no POP3 list) */
		test_assert_idx(order == orders[i], i);
	}
	/* a UID the mailbox didn't have, or had unmatched */
	test_assert(!migrate_uidl_map_lookup(map, 1, &uidl, &order));
	test_assert(!migrate_uidl_map_lookup(map, 5, &uidl, &order));
	test_assert(!migrate_uidl_map_lookup(map, 4000000001U, &uidl, &order));
	/* 12 bytes + the UIDL with its NUL a message */
	test_assert(migrate_uidl_map_memory(map) - size - N_ELEMENTS(uids) -
		    N_ELEMENTS(uids) * 12 < 64);
	migrate_uidl_map_free(&map);
	test_assert(map == NULL);
	migrate_uidl_map_free(&map);
	test_end();
}

static void test_migrate_uidl_map_empty(void)
{
	struct migrate_uidl_map *map;
	const char *uidl;
	uint32_t order;

	test_begin("uidl map: empty");
	map = migrate_uidl_map_init(0, 0);
	test_assert(migrate_uidl_map_count(map) == 0);
	test_assert(!migrate_uidl_map_lookup(map, 1, &uidl, &order));
	migrate_uidl_map_free(&map);
	test_end();
}

static void test_migrate_uidl_map_big(void)
{
	struct migrate_uidl_map *map;
	const unsigned int count = 100000;
	const char *uidl;
	uint32_t order;
	unsigned int i;
	size_t size = 0;

	test_begin("uidl map: 100k messages, 12 bytes + the UIDL each");
	for (i = 0; i < count; i++)
		size += strlen(dec2str(i * 3 + 7)) + 1;
	map = migrate_uidl_map_init(count, size);
	for (i = 0; i < count; i++) T_BEGIN {
		migrate_uidl_map_add(map, i * 2 + 1,
				     t_strdup_printf("%u-", i * 3 + 7), i + 1);
	} T_END;
	for (i = 0; i < count; i++) T_BEGIN {
		test_assert_idx(migrate_uidl_map_lookup(map, i * 2 + 1,
							&uidl, &order), i);
		test_assert_idx(strcmp(uidl, t_strdup_printf("%u-", i * 3 + 7)) == 0 &&
				order == i + 1, i);
		test_assert_idx(!migrate_uidl_map_lookup(map, i * 2 + 2,
							 &uidl, &order), i);
	} T_END;
	test_assert(migrate_uidl_map_memory(map) < count * (12 + 8) + 64);
	migrate_uidl_map_free(&map);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_uidl_map_lookup,
		test_migrate_uidl_map_empty,
		test_migrate_uidl_map_big,
		NULL
	};
	return test_run(test_functions);
}
