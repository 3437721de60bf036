/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

/* bench-migrate-match-memory [COUNT...]: the heap bytes per message that
   migrate_pop3 keeps while dsync copies a mailbox, for synthetic POP3 and
   IMAP lists of COUNT messages (default 20000 100000 500000):
     list     the user's POP3 list as the plugin keeps it (migrate_pop3_msg
              array, UIDLs in an alloconly pool)
     matcher  a matcher over that list and the IMAP sizes, paired by size
              (a source whose UIDLs are no formula: Courier, Exchange),
              with the list
     map      what a matched mailbox keeps while dsync copies it (the
              UID -> UIDL/POP3 order map, migrate-uidl-map.h): the
              matcher and the list are freed once it is built
     exact    the state of a mailbox whose UIDLs are a formula of the UIDs
              (Dovecot, Cyrus source): the list is freed after matching
   Measured with glibc's mallinfo2() (bytes in use on the heap, mmap'ed
   blocks included), so the figures don't depend on the machine's load.
   Not part of make check: bench/match-memory.sh builds and runs it. */

#include "lib.h"
#include "array.h"
#include "migrate-match.h"
#include "migrate-uidl-format.h"
#include "migrate-uidl-exact.h"
#include "migrate-uidl-map.h"

#include <stdio.h>
#include <malloc.h>

#define BENCH_UIDVALIDITY 1700000000U

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* as migrate_pop3_pop3_list_read() fills it */
static void
bench_list_fill(unsigned int count, pool_t *pool_r,
		ARRAY_TYPE(migrate_pop3_msg) *msgs)
{
	struct migrate_uidl_format *fmt =
		migrate_uidl_format_create_valid(MIGRATE_UIDL_FORMAT_DOVECOT23);
	struct migrate_pop3_msg *msg;
	unsigned int i;

	*pool_r = pool_alloconly_create("migrate_pop3 list", 32 * 1024);
	i_array_init(msgs, count + 1);
	for (i = 0; i < count; i++) T_BEGIN {
		msg = array_append_space(msgs);
		msg->seq = i + 1;
		msg->uidl = p_strdup(*pool_r, migrate_uidl_format_get(
			fmt, BENCH_UIDVALIDITY, i + 1));
		/* distinct sizes: the size step pairs every message */
		msg->size = 2000 + (uoff_t)i * 3;
	} T_END;
	migrate_uidl_format_free(&fmt);
}

static void bench_list_free(pool_t *pool, ARRAY_TYPE(migrate_pop3_msg) *msgs)
{
	array_free(msgs);
	pool_unref(pool);
}

static void bench_one(unsigned int count)
{
	static const struct migrate_match_settings set = {
		.size_tolerance_permille = 20,
		.size_tolerance_bytes = 1024,
	};
	ARRAY_TYPE(migrate_pop3_msg) msgs;
	struct migrate_match_stats stats;
	struct migrate_match *match;
	struct migrate_uidl_format *fmt;
	struct migrate_uidl_exact *exact;
	struct migrate_uidl_map *map;
	uint32_t *uids, *orders;
	pool_t list_pool, match_pool, exact_pool;
	size_t base, list, matcher, map_bytes, exact_bytes;
	unsigned int i;

	/* (the bench's own, not counted) */
	uids = i_new(uint32_t, count);
	orders = i_new(uint32_t, count);
	for (i = 0; i < count; i++) {
		uids[i] = i + 1;
		orders[i] = i + 1;
	}
	base = heap_used();
	bench_list_fill(count, &list_pool, &msgs);
	list = heap_used() - base;

	match_pool = pool_alloconly_create("migrate_pop3 match", 64 * 1024);
	match = migrate_match_init(match_pool, &set);
	migrate_match_reserve(match, count, count);
	migrate_match_add_pop3_list(match, &msgs, list_pool);
	for (i = 0; i < count; i++)
		migrate_match_add_imap(match, i + 1, 2000 + (uoff_t)i * 3);
	migrate_match_run_cheap(match);
	migrate_match_run_full(match);
	migrate_match_get_stats(match, &stats);
	i_assert(stats.matched_size == count);
	matcher = heap_used() - base;

	/* as migrate_pop3_uidl_sync() does after matching */
	map = migrate_uidl_map_from_match(match, orders);
	migrate_match_deinit(&match);
	pool_unref(&match_pool);
	bench_list_free(&list_pool, &msgs);
	i_assert(migrate_uidl_map_count(map) == count);
	map_bytes = heap_used() - base;
	migrate_uidl_map_free(&map);
	base = heap_used();
	exact_pool = pool_alloconly_create("migrate_pop3 match", 64 * 1024);
	fmt = migrate_uidl_format_create_valid(MIGRATE_UIDL_FORMAT_DOVECOT23);
	exact = migrate_uidl_exact_init(exact_pool, fmt, BENCH_UIDVALIDITY,
					uids, orders, count);
	i_assert(migrate_uidl_exact_count(exact) == count);
	exact_bytes = heap_used() - base;
	pool_unref(&exact_pool);
	migrate_uidl_format_free(&fmt);
	i_free(uids);
	i_free(orders);

	printf("match-memory: %7u messages: list %5.1f B/msg, "
	       "matcher+list %5.1f B/msg, map %4.1f B/msg, "
	       "exact %4.1f B/msg\n", count,
	       (double)list / count, (double)matcher / count,
	       (double)map_bytes / count, (double)exact_bytes / count);
}

int main(int argc, char *argv[])
{
	static const unsigned int defaults[] = { 20000, 100000, 500000 };
	unsigned int i, count;

	lib_init();
	if (argc <= 1) {
		for (i = 0; i < N_ELEMENTS(defaults); i++)
			bench_one(defaults[i]);
	}
	for (i = 1; i < (unsigned int)argc; i++) {
		if (str_to_uint(argv[i], &count) < 0 || count == 0)
			i_fatal("Usage: %s [COUNT...]", argv[0]);
		bench_one(count);
	}
	lib_deinit();
	return 0;
}
