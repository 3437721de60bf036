/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "test-common.h"
#include "migrate-match.h"
#include "migrate-uidl-format.h"
#include "migrate-uidl-exact.h"

static void test_migrate_uidl_exact_lookup(void)
{
	static const uint32_t uids[] = { 3, 4, 9, 100, 4000000000U };
	static const uint32_t orders[] = { 2, 1, 3, 5, 4 };
	struct migrate_uidl_format *fmt =
		migrate_uidl_format_create_valid(MIGRATE_UIDL_FORMAT_DOVECOT23);
	struct migrate_uidl_exact *exact;
	pool_t pool = pool_alloconly_create("test exact", 512);
	uint32_t uid, order;
	unsigned int i;

	test_begin("uidl exact: lookup by UID");
	exact = migrate_uidl_exact_init(pool, fmt, 0x1234, uids, orders,
					N_ELEMENTS(uids));
	test_assert(migrate_uidl_exact_count(exact) == N_ELEMENTS(uids));
	for (i = 0; i < N_ELEMENTS(uids); i++) {
		order = 0;
		test_assert_idx(migrate_uidl_exact_lookup(exact, uids[i],
							  &order), i);
		test_assert_idx(order == orders[i], i);
		migrate_uidl_exact_get(exact, i, &uid, &order);
		test_assert_idx(uid == uids[i] && order == orders[i], i);
	}
	/* a UID the mailbox didn't have when it was matched (new mail)
	   gets no UIDL */
	test_assert(!migrate_uidl_exact_lookup(exact, 1, &order));
	test_assert(!migrate_uidl_exact_lookup(exact, 5, &order));
	test_assert(!migrate_uidl_exact_lookup(exact, 4000000001U, &order));
	test_assert_strcmp(migrate_uidl_exact_uidl(exact, 9),
			   "0000000900001234");
	test_assert_strcmp(migrate_uidl_exact_uidl(exact, 4000000000U),
			   "ee6b280000001234");
	pool_unref(&pool);
	migrate_uidl_format_free(&fmt);
	test_end();
}

static void test_migrate_uidl_exact_empty(void)
{
	struct migrate_uidl_format *fmt =
		migrate_uidl_format_create_valid(MIGRATE_UIDL_FORMAT_UID);
	struct migrate_uidl_exact *exact;
	pool_t pool = pool_alloconly_create("test exact", 512);
	uint32_t order;

	test_begin("uidl exact: empty mailbox");
	exact = migrate_uidl_exact_init(pool, fmt, 1, NULL, NULL, 0);
	test_assert(migrate_uidl_exact_count(exact) == 0);
	test_assert(!migrate_uidl_exact_lookup(exact, 1, &order));
	pool_unref(&pool);
	migrate_uidl_format_free(&fmt);
	test_end();
}

static void test_migrate_match_packed(void)
{
	test_begin("match: per-message state is packed");
	/* a message's state costs these per list: a regrowth of a struct
	   shows at 100k messages as megabytes (issue 20) */
	test_assert(sizeof(struct migrate_pop3_msg) <= 32);
	test_assert(sizeof(struct migrate_match_pop3) <= 24);
	test_assert(sizeof(struct migrate_match_imap) <= 32);
	/* the method and reason fit their bytes */
	struct migrate_match_pop3 p = {
		.method = MIGRATE_MATCH_FORMULA,
		.reason = MIGRATE_UNMATCHED_NO_UIDL,
	};
	struct migrate_match_imap m = {
		.method = MIGRATE_MATCH_ORDER,
		.reason = MIGRATE_UNMATCHED_UNREADABLE,
		.have_ident = TRUE,
	};
	test_assert(p.method == MIGRATE_MATCH_FORMULA);
	test_assert(p.reason == MIGRATE_UNMATCHED_NO_UIDL);
	test_assert(m.method == MIGRATE_MATCH_ORDER);
	test_assert(m.reason == MIGRATE_UNMATCHED_UNREADABLE);
	test_assert(m.have_ident);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_uidl_exact_lookup,
		test_migrate_uidl_exact_empty,
		test_migrate_match_packed,
		NULL
	};
	return test_run(test_functions);
}
