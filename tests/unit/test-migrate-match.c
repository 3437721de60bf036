/* Copyright (c) 2026 dovecot-migrate authors */

#include "lib.h"
#include "array.h"
#include "sha1.h"
#include "test-common.h"
#include "migrate-match.h"
#include "migrate-uidl-map.h"

#define TEST_DATE 1600000000

/* One message of a scenario. key says which message it is (same key on
   both sides = same message, also its Message-ID and Subject); variant
   changes only the header hash, as a server rewriting a header would.
   key NULL = its header can't be read. */
struct test_msg {
	uoff_t size;
	const char *key;
	const char *variant;
	const char *uidl;	/* POP3 only */
};

struct test_scenario {
	struct migrate_match_settings set;
	const struct test_msg *pop3, *imap;
	unsigned int pop3_count, imap_count;
	const char *const *cache;	/* "uidl", "uid", ... NULL */
};

static const struct migrate_match_settings test_default_set = {
	.size_tolerance_permille = 20,
	.size_tolerance_bytes = 0,
	.skip_size_match = FALSE,
};

static void
test_ident_init(struct migrate_msg_ident *ident_r, const char *key,
		const char *variant)
{
	const char *hdr = t_strconcat(key, "\n",
				      variant == NULL ? "" : variant, NULL);

	i_zero(ident_r);
	sha1_get_digest(hdr, strlen(hdr), ident_r->hash);
	ident_r->message_id = key;
	ident_r->date = TEST_DATE;
	ident_r->from = "sender@example.com";
	ident_r->subject = t_strconcat("About ", key, NULL);
	ident_r->header_complete = TRUE;
}

static uint32_t test_uid(unsigned int imap_idx)
{
	return (imap_idx + 1) * 10;
}

static void test_match_feed(struct migrate_match *match,
			    const struct test_msg *pop3, unsigned int pop3_count,
			    const struct test_msg *imap, unsigned int imap_count)
{
	unsigned int i;

	for (i = 0; i < pop3_count; i++) {
		migrate_match_add_pop3(match, i + 1, pop3[i].uidl,
				       pop3[i].size);
	}
	for (i = 0; i < imap_count; i++)
		migrate_match_add_imap(match, test_uid(i), imap[i].size);
}

/* Give the headers the matcher asks for. */
static void test_match_give_idents(struct migrate_match *match,
				   const struct test_msg *pop3,
				   const struct test_msg *imap)
{
	struct migrate_msg_ident ident;
	uint32_t idx;

	array_foreach_elem(migrate_match_need_pop3_ident(match), idx) {
		if (pop3[idx].key == NULL)
			migrate_match_set_pop3_unreadable(match, idx);
		else {
			test_ident_init(&ident, pop3[idx].key,
					pop3[idx].variant);
			migrate_match_set_pop3_ident(match, idx, &ident);
		}
	}
	array_foreach_elem(migrate_match_need_imap_ident(match), idx) {
		if (imap[idx].key == NULL)
			migrate_match_set_imap_unreadable(match, idx);
		else {
			test_ident_init(&ident, imap[idx].key,
					imap[idx].variant);
			migrate_match_set_imap_ident(match, idx, &ident);
		}
	}
}

static struct migrate_match *
test_match_run(pool_t pool, const struct test_scenario *scen)
{
	struct migrate_match *match;
	unsigned int i;

	match = migrate_match_init(pool, &scen->set);
	test_match_feed(match, scen->pop3, scen->pop3_count,
			scen->imap, scen->imap_count);
	for (i = 0; scen->cache != NULL && scen->cache[i] != NULL; i += 2) {
		migrate_match_add_known(match, scen->cache[i],
					atoi(scen->cache[i + 1]),
					MIGRATE_MATCH_CACHED);
	}
	migrate_match_run_cheap(match);
	test_match_give_idents(match, scen->pop3, scen->imap);
	migrate_match_run_full(match);
	return match;
}

/* The map the plugin keeps instead of the matcher while dsync copies
   (migrate-uidl-map.h) gives every IMAP UID what the matcher does. */
static void test_match_check_uidl_map(struct migrate_match *match)
{
	const struct migrate_match_pop3 *pmsg;
	const struct migrate_match_imap *imsg;
	struct migrate_uidl_map *map;
	unsigned int i, pop3_count, matched = 0;
	uint32_t *orders, order;
	const char *uidl;

	pop3_count = array_count(migrate_match_get_pop3(match));
	orders = t_new(uint32_t, pop3_count + 1);
	for (i = 0; i < pop3_count; i++)
		orders[i] = pop3_count - i + 100;
	map = migrate_uidl_map_from_match(match, orders);
	array_foreach(migrate_match_get_imap(match), imsg) {
		pmsg = migrate_match_get_pop3_for_uid(match, imsg->uid);
		uidl = NULL; order = 12345;
		if (pmsg == NULL) {
			test_assert(!migrate_uidl_map_lookup(map, imsg->uid,
							     &uidl, &order));
			continue;
		}
		matched++;
		test_assert(migrate_uidl_map_lookup(map, imsg->uid,
						    &uidl, &order));
		test_assert(uidl != NULL && uidl != pmsg->msg->uidl &&
			    strcmp(uidl, pmsg->msg->uidl) == 0);
		test_assert(order == (pmsg->msg->seq == 0 ? 0 :
				      orders[pmsg->idx]));
	}
	test_assert(migrate_uidl_map_count(map) == matched);
	migrate_uidl_map_free(&map);
	test_assert(map == NULL);
}

/* Pairs are consistent on both sides and the stats add up. */
static void test_match_check_consistent(struct migrate_match *match)
{
	const struct migrate_match_pop3 *pmsg;
	const struct migrate_match_imap *imsg, *imsgs;
	const struct migrate_match_pop3 *pmsgs;
	struct migrate_match_stats stats;
	unsigned int pop3_count, imap_count, matched = 0, imap_matched = 0;

	pmsgs = array_get(migrate_match_get_pop3(match), &pop3_count);
	imsgs = array_get(migrate_match_get_imap(match), &imap_count);
	array_foreach(migrate_match_get_pop3(match), pmsg) {
		if (pmsg->method == MIGRATE_MATCH_NONE) {
			test_assert(pmsg->reason != MIGRATE_UNMATCHED_NONE);
			continue;
		}
		matched++;
		test_assert(pmsg->reason == MIGRATE_UNMATCHED_NONE);
		test_assert(pmsg->imap_idx < imap_count);
		imsg = &imsgs[pmsg->imap_idx];
		test_assert(imsg->method == pmsg->method);
		test_assert(imsg->pop3_idx == pmsg->idx);
		test_assert(migrate_match_get_pop3_for_uid(match, imsg->uid) ==
			    pmsg);
	}
	array_foreach(migrate_match_get_imap(match), imsg) {
		if (imsg->method == MIGRATE_MATCH_NONE) {
			test_assert(imsg->reason != MIGRATE_UNMATCHED_NONE);
			test_assert(migrate_match_get_pop3_for_uid(match,
								   imsg->uid) == NULL);
			continue;
		}
		imap_matched++;
		test_assert(pmsgs[imsg->pop3_idx].imap_idx == imsg->idx);
	}
	test_assert(matched == imap_matched);

	migrate_match_get_stats(match, &stats);
	test_assert(stats.pop3_count == pop3_count);
	test_assert(stats.imap_count == imap_count);
	test_assert(stats.matched_cached + stats.matched_size +
		    stats.matched_hash + stats.matched_fields +
		    stats.matched_order + stats.matched_formula == matched);
	test_assert(stats.pop3_count == matched + stats.pop3_unmatched);
	test_assert(stats.imap_count == matched + stats.imap_unmatched);

	test_match_check_uidl_map(match);
}

/* POP3 message idx is paired with IMAP message imap_idx by method. */
static void
test_assert_pair(struct migrate_match *match, unsigned int idx,
		 unsigned int imap_idx, enum migrate_match_method method)
{
	const struct migrate_match_pop3 *pmsg =
		array_idx(migrate_match_get_pop3(match), idx);

	test_assert_idx(pmsg->method == method, idx);
	test_assert_idx(pmsg->method != MIGRATE_MATCH_NONE &&
			pmsg->imap_idx == imap_idx, idx);
}

static void
test_assert_pop3_unmatched(struct migrate_match *match, unsigned int idx,
			   enum migrate_unmatched_reason reason)
{
	const struct migrate_match_pop3 *pmsg =
		array_idx(migrate_match_get_pop3(match), idx);

	test_assert_idx(pmsg->method == MIGRATE_MATCH_NONE, idx);
	test_assert_idx(pmsg->reason == reason, idx);
}

static void
test_assert_imap_unmatched(struct migrate_match *match, unsigned int idx,
			   enum migrate_unmatched_reason reason)
{
	const struct migrate_match_imap *imsg =
		array_idx(migrate_match_get_imap(match), idx);

	test_assert_idx(imsg->method == MIGRATE_MATCH_NONE, idx);
	test_assert_idx(imsg->reason == reason, idx);
}

static bool
test_need_equals(const ARRAY_TYPE(uint32_t) *need,
		 const uint32_t *expected, unsigned int count)
{
	const uint32_t *idx;
	unsigned int i, need_count;

	idx = array_get(need, &need_count);
	if (need_count != count)
		return FALSE;
	for (i = 0; i < count; i++) {
		if (idx[i] != expected[i])
			return FALSE;
	}
	return TRUE;
}

static struct test_msg *
test_msgs_sized(const uoff_t *sizes, unsigned int count, bool pop3)
{
	struct test_msg *msgs = t_new(struct test_msg, count);
	unsigned int i;

	for (i = 0; i < count; i++) {
		msgs[i].size = sizes[i];
		msgs[i].key = t_strdup_printf("m%u", i);
		if (pop3)
			msgs[i].uidl = t_strdup_printf("uidl-%u", i);
	}
	return msgs;
}

static void test_match_identical(void)
{
	static const uoff_t sizes[] = {
		1000, 2317, 433, 12000, 999, 1000, 5400, 5401, 77, 65536
	};
	struct test_scenario scen = {
		.set = test_default_set,
		.pop3_count = N_ELEMENTS(sizes),
		.imap_count = N_ELEMENTS(sizes),
	};
	struct migrate_match_stats stats;
	struct migrate_match *match;
	unsigned int i;
	pool_t pool;

	test_begin("match identical lists by size");
	pool = pool_alloconly_create("test match", 1024);
	scen.pop3 = test_msgs_sized(sizes, N_ELEMENTS(sizes), TRUE);
	scen.imap = test_msgs_sized(sizes, N_ELEMENTS(sizes), FALSE);
	match = test_match_run(pool, &scen);
	test_assert(array_count(migrate_match_need_pop3_ident(match)) == 0);
	test_assert(array_count(migrate_match_need_imap_ident(match)) == 0);
	for (i = 0; i < N_ELEMENTS(sizes); i++)
		test_assert_pair(match, i, i, MIGRATE_MATCH_SIZE);
	test_assert_strcmp(migrate_match_get_pop3_for_uid(match, test_uid(3))->msg->uidl,
			   "uidl-3");
	test_assert(migrate_match_get_pop3_for_uid(match, 5) == NULL);
	test_assert(migrate_match_get_pop3_for_uid(match, 100000) == NULL);
	migrate_match_get_stats(match, &stats);
	test_assert(stats.matched_size == N_ELEMENTS(sizes));
	test_assert(stats.pop3_unmatched == 0 && stats.imap_unmatched == 0);
	test_assert(stats.pop3_idents == 0 && stats.imap_idents == 0);
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	test_assert(match == NULL);
	pool_unref(&pool);
	test_end();
}

static void test_match_same_size_neighbours(void)
{
	static const struct {
		uoff_t sizes[10];
		unsigned int count;
		uint32_t need[10];
		unsigned int need_count;
	} tests[] = {
		{ { 100, 200, 200, 300, 500, 600, 600, 600, 900 }, 9,
		  { 1, 2, 5, 6, 7 }, 5 },
		/* two kinds alternating: a shift by two would fit */
		{ { 100, 200, 100, 300, 400 }, 5, { 0, 2 }, 2 },
		{ { 100, 200, 300, 100, 400 }, 5, { 0 }, 0 },
		{ { 100, 100 }, 2, { 0, 1 }, 2 },
		{ { 100 }, 1, { 0 }, 0 },
	};
	struct test_scenario scen = { .set = test_default_set };
	struct migrate_match *match;
	unsigned int i, j, k;
	bool need;
	pool_t pool;

	test_begin("match same-size neighbours by hash");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		pool = pool_alloconly_create("test match", 1024);
		scen.pop3 = test_msgs_sized(tests[i].sizes, tests[i].count, TRUE);
		scen.imap = test_msgs_sized(tests[i].sizes, tests[i].count, FALSE);
		scen.pop3_count = scen.imap_count = tests[i].count;
		match = test_match_run(pool, &scen);
		test_assert_idx(test_need_equals(migrate_match_need_pop3_ident(match),
						 tests[i].need,
						 tests[i].need_count), i);
		test_assert_idx(test_need_equals(migrate_match_need_imap_ident(match),
						 tests[i].need,
						 tests[i].need_count), i);
		for (j = 0; j < tests[i].count; j++) {
			need = FALSE;
			for (k = 0; k < tests[i].need_count; k++)
				need = need || tests[i].need[k] == j;
			test_assert_pair(match, j, j, need ? MIGRATE_MATCH_HASH :
					 MIGRATE_MATCH_SIZE);
		}
		test_match_check_consistent(match);
		migrate_match_deinit(&match);
		pool_unref(&pool);
	}
	test_end();
}

static void test_match_extra_message(void)
{
	static const uoff_t sizes[] = {
		100, 200, 300, 400, 500, 600, 700, 800, 900, 1000
	};
	/* the extra message and two on each side of it: an extra message
	   whose size happens to be the other side's message at its
	   position would look just like them */
	static const uint32_t need_extra[] = { 3, 4, 5, 6, 7 };
	static const uint32_t need_around[] = { 3, 4, 5, 6 };
	static const uint32_t need_changed[] = { 2, 3, 4, 5, 6 };
	uoff_t sizes_extra[N_ELEMENTS(sizes) + 1];
	struct test_msg *with_extra, *without;
	struct test_scenario scen = { .set = test_default_set };
	struct migrate_match *match;
	unsigned int i;
	pool_t pool;

	/* sizes with an extra 555-byte message at position 5 */
	memcpy(sizes_extra, sizes, 5 * sizeof(sizes[0]));
	sizes_extra[5] = 555;
	memcpy(sizes_extra + 6, sizes + 5, 5 * sizeof(sizes[0]));

	test_begin("match extra POP3 message in the middle");
	pool = pool_alloconly_create("test match", 1024);
	with_extra = test_msgs_sized(sizes_extra, N_ELEMENTS(sizes_extra), TRUE);
	with_extra[5].key = "extra";
	without = test_msgs_sized(sizes, N_ELEMENTS(sizes), FALSE);
	for (i = 5; i < N_ELEMENTS(sizes); i++)
		without[i].key = with_extra[i + 1].key;
	scen.pop3 = with_extra;
	scen.pop3_count = N_ELEMENTS(sizes_extra);
	scen.imap = without;
	scen.imap_count = N_ELEMENTS(sizes);
	match = test_match_run(pool, &scen);
	test_assert(test_need_equals(migrate_match_need_pop3_ident(match),
				     need_extra, N_ELEMENTS(need_extra)));
	test_assert(test_need_equals(migrate_match_need_imap_ident(match),
				     need_around, N_ELEMENTS(need_around)));
	for (i = 0; i < 5; i++) {
		test_assert_pair(match, i, i, i < 3 ? MIGRATE_MATCH_SIZE :
				 MIGRATE_MATCH_HASH);
	}
	test_assert_pop3_unmatched(match, 5, MIGRATE_UNMATCHED_NO_CANDIDATE);
	for (i = 6; i < N_ELEMENTS(sizes_extra); i++) {
		test_assert_pair(match, i, i - 1, i < 8 ? MIGRATE_MATCH_HASH :
				 MIGRATE_MATCH_SIZE);
	}
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	pool_unref(&pool);
	test_end();

	test_begin("match extra IMAP message in the middle");
	pool = pool_alloconly_create("test match", 1024);
	without = test_msgs_sized(sizes, N_ELEMENTS(sizes), TRUE);
	with_extra = test_msgs_sized(sizes_extra, N_ELEMENTS(sizes_extra), FALSE);
	with_extra[5].key = "extra";
	for (i = 5; i < N_ELEMENTS(sizes); i++)
		with_extra[i + 1].key = without[i].key;
	scen.pop3 = without;
	scen.pop3_count = N_ELEMENTS(sizes);
	scen.imap = with_extra;
	scen.imap_count = N_ELEMENTS(sizes_extra);
	match = test_match_run(pool, &scen);
	test_assert(test_need_equals(migrate_match_need_pop3_ident(match),
				     need_around, N_ELEMENTS(need_around)));
	test_assert(test_need_equals(migrate_match_need_imap_ident(match),
				     need_extra, N_ELEMENTS(need_extra)));
	for (i = 0; i < 5; i++) {
		test_assert_pair(match, i, i, i < 3 ? MIGRATE_MATCH_SIZE :
				 MIGRATE_MATCH_HASH);
	}
	test_assert_imap_unmatched(match, 5, MIGRATE_UNMATCHED_NO_CANDIDATE);
	for (i = 5; i < N_ELEMENTS(sizes); i++) {
		test_assert_pair(match, i, i + 1, i < 7 ? MIGRATE_MATCH_HASH :
				 MIGRATE_MATCH_SIZE);
	}
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	pool_unref(&pool);
	test_end();

	test_begin("match changed size in the middle");
	pool = pool_alloconly_create("test match", 1024);
	scen.pop3 = test_msgs_sized(sizes, N_ELEMENTS(sizes), TRUE);
	with_extra = test_msgs_sized(sizes, N_ELEMENTS(sizes), FALSE);
	with_extra[4].size += 3;
	scen.imap = with_extra;
	scen.pop3_count = scen.imap_count = N_ELEMENTS(sizes);
	match = test_match_run(pool, &scen);
	test_assert(test_need_equals(migrate_match_need_pop3_ident(match),
				     need_changed, N_ELEMENTS(need_changed)));
	test_assert(test_need_equals(migrate_match_need_imap_ident(match),
				     need_changed, N_ELEMENTS(need_changed)));
	for (i = 0; i < N_ELEMENTS(sizes); i++) {
		test_assert_pair(match, i, i, i >= 2 && i <= 6 ?
				 MIGRATE_MATCH_HASH : MIGRATE_MATCH_SIZE);
	}
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	pool_unref(&pool);
	test_end();
}

/* Hash groups: identical headers on several messages. */
static void test_match_duplicates(void)
{
	static const struct {
		/* sizes of messages with the same header, 0 = end */
		uoff_t pop3[4], imap[4];
		/* expected IMAP index of each POP3 message, -1 = none */
		int pairs[4];
		enum migrate_match_method method;
		/* reason of what is left unmatched */
		enum migrate_unmatched_reason reason;
	} tests[] = {
		/* equal counts and sizes: paired in order */
		{ { 500, 500 }, { 500, 500 }, { 0, 1 }, MIGRATE_MATCH_HASH, 0 },
		{ { 500, 500, 500 }, { 500, 500, 500 }, { 0, 1, 2 },
		  MIGRATE_MATCH_HASH, 0 },
		/* IMAP adds the same bytes to every message */
		{ { 100, 150 }, { 130, 180 }, { 0, 1 }, MIGRATE_MATCH_HASH, 0 },
		/* sizes unique on both sides beat the order */
		{ { 100, 200 }, { 200, 100 }, { 1, 0 }, MIGRATE_MATCH_HASH, 0 },
		{ { 100, 200, 300 }, { 300, 201, 100 }, { 2, 1, 0 },
		  MIGRATE_MATCH_HASH, 0 },
		/* unequal counts: never by order */
		{ { 500, 500, 500 }, { 500, 500 }, { -1, -1, -1 },
		  MIGRATE_MATCH_NONE, MIGRATE_UNMATCHED_AMBIGUOUS },
		{ { 500 }, { 500, 500 }, { -1 },
		  MIGRATE_MATCH_NONE, MIGRATE_UNMATCHED_AMBIGUOUS },
		/* ..but unique equal sizes still pair */
		{ { 100, 200, 300 }, { 200, 300 }, { -1, 0, 1 },
		  MIGRATE_MATCH_HASH, MIGRATE_UNMATCHED_NO_CANDIDATE },
		/* the rest within tolerance, unique both ways */
		{ { 1000, 5000 }, { 1010 }, { 0, -1 },
		  MIGRATE_MATCH_FIELDS, MIGRATE_UNMATCHED_NO_CANDIDATE },
		{ { 1000, 1005 }, { 1010 }, { -1, -1 },
		  MIGRATE_MATCH_NONE, MIGRATE_UNMATCHED_AMBIGUOUS },
		/* swapped and shifted: deltas differ, sizes decide */
		{ { 100, 150 }, { 152, 102 }, { 1, 0 }, MIGRATE_MATCH_FIELDS, 0 },
		/* swapped and shifted beyond the tolerance */
		{ { 100, 500 }, { 530, 130 }, { -1, -1 },
		  MIGRATE_MATCH_NONE, MIGRATE_UNMATCHED_AMBIGUOUS },
	};
	struct test_scenario scen = { .set = test_default_set };
	struct test_msg pop3[6], imap[6];
	const struct migrate_match_imap *imsg;
	struct migrate_match *match;
	unsigned int i, j, pop3_count, imap_count;
	pool_t pool;

	/* different headers first and last to check that the group is
	   handled in isolation */
	scen.set.skip_size_match = TRUE;
	test_begin("match identical-header duplicates");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		i_zero(&pop3);
		i_zero(&imap);
		pop3[0] = (struct test_msg){ 42, "first", NULL, "uidl-first" };
		imap[0] = (struct test_msg){ 42, "first", NULL, NULL };
		for (j = 0; j < 4 && tests[i].pop3[j] != 0; j++) {
			pop3[j + 1] = (struct test_msg){
				tests[i].pop3[j], "dup", NULL,
				t_strdup_printf("uidl-%u", j)
			};
		}
		pop3_count = j + 2;
		pop3[pop3_count - 1] =
			(struct test_msg){ 43, "last", NULL, "uidl-last" };
		for (j = 0; j < 4 && tests[i].imap[j] != 0; j++) {
			imap[j + 1] = (struct test_msg){
				tests[i].imap[j], "dup", NULL, NULL
			};
		}
		imap_count = j + 2;
		imap[imap_count - 1] = (struct test_msg){ 43, "last", NULL, NULL };

		pool = pool_alloconly_create("test match", 1024);
		scen.pop3 = pop3;
		scen.pop3_count = pop3_count;
		scen.imap = imap;
		scen.imap_count = imap_count;
		match = test_match_run(pool, &scen);
		test_assert_pair(match, 0, 0, MIGRATE_MATCH_HASH);
		test_assert_pair(match, pop3_count - 1, imap_count - 1,
				 MIGRATE_MATCH_HASH);
		for (j = 1; j < pop3_count - 1; j++) {
			if (tests[i].pairs[j - 1] < 0) {
				test_assert_pop3_unmatched(match, j,
							   tests[i].reason);
			} else {
				test_assert_pair(match, j,
						 tests[i].pairs[j - 1] + 1,
						 tests[i].method);
			}
		}
		array_foreach(migrate_match_get_imap(match), imsg) {
			test_assert_idx(imsg->method != MIGRATE_MATCH_NONE ||
					imsg->reason == tests[i].reason, i);
		}
		test_match_check_consistent(match);
		migrate_match_deinit(&match);
		pool_unref(&pool);
	}
	test_end();
}

/* The tolerant fallback: header rewritten on one side. */
static void test_match_fields(void)
{
	static const struct test_msg pop3[] = {
		{ 1000, "a", "pop3", "uidl-a" },
		{ 2000, "b", "pop3", "uidl-b" },
		{ 3000, "c", "pop3", "uidl-c" },
		{ 4000, "d", "pop3", "uidl-d" },
		{ 5000, "e", "pop3", "uidl-e" },
	};
	static const struct test_msg imap[] = {
		/* within 2 % */
		{ 1010, "a", "imap", NULL },
		/* beyond 2 % */
		{ 2100, "b", "imap", NULL },
		/* two candidates for one */
		{ 3000, "c", "imap-1", NULL },
		{ 3030, "c", "imap-2", NULL },
		/* another message altogether */
		{ 4000, "x", "imap", NULL },
		{ 5000, "e", "imap", NULL },
	};
	struct test_scenario scen = {
		.set = test_default_set,
		.pop3 = pop3, .pop3_count = N_ELEMENTS(pop3),
		.imap = imap, .imap_count = N_ELEMENTS(imap),
	};
	struct migrate_match *match;
	pool_t pool;

	test_begin("match tolerant fallback");
	scen.set.skip_size_match = TRUE;
	pool = pool_alloconly_create("test match", 1024);
	match = test_match_run(pool, &scen);
	test_assert_pair(match, 0, 0, MIGRATE_MATCH_FIELDS);
	test_assert_pop3_unmatched(match, 1, MIGRATE_UNMATCHED_NO_CANDIDATE);
	test_assert_imap_unmatched(match, 1, MIGRATE_UNMATCHED_NO_CANDIDATE);
	test_assert_pop3_unmatched(match, 2, MIGRATE_UNMATCHED_AMBIGUOUS);
	test_assert_imap_unmatched(match, 2, MIGRATE_UNMATCHED_AMBIGUOUS);
	test_assert_imap_unmatched(match, 3, MIGRATE_UNMATCHED_AMBIGUOUS);
	test_assert_pop3_unmatched(match, 3, MIGRATE_UNMATCHED_NO_CANDIDATE);
	test_assert_imap_unmatched(match, 4, MIGRATE_UNMATCHED_NO_CANDIDATE);
	test_assert_pair(match, 4, 5, MIGRATE_MATCH_FIELDS);
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	pool_unref(&pool);

	/* absolute slack in bytes: 2100 is within 2 % + 100 bytes */
	scen.set.size_tolerance_bytes = 100;
	pool = pool_alloconly_create("test match", 1024);
	match = test_match_run(pool, &scen);
	test_assert_pair(match, 1, 1, MIGRATE_MATCH_FIELDS);
	migrate_match_deinit(&match);
	pool_unref(&pool);
	test_end();
}

/* Message-ID and Date are each compared only where both have it, and at
   least one of them must be on both sides. */
static void test_match_fields_evidence(void)
{
	static const struct {
		bool pop3_id, imap_id, pop3_date, imap_date;
		const char *imap_id_value;
		time_t imap_date_value;
		bool matched;
	} tests[] = {
		{ TRUE, TRUE, TRUE, TRUE, NULL, 0, TRUE },
		{ TRUE, FALSE, TRUE, TRUE, NULL, 0, TRUE },
		{ FALSE, TRUE, TRUE, TRUE, NULL, 0, TRUE },
		{ TRUE, TRUE, FALSE, TRUE, NULL, 0, TRUE },
		{ TRUE, FALSE, FALSE, TRUE, NULL, 0, FALSE },
		{ FALSE, FALSE, FALSE, FALSE, NULL, 0, FALSE },
		{ TRUE, TRUE, TRUE, TRUE, "other", 0, FALSE },
		{ TRUE, TRUE, TRUE, TRUE, NULL, TEST_DATE + 1, FALSE },
		{ FALSE, TRUE, TRUE, TRUE, "other", 0, TRUE },
	};
	struct migrate_match_stats stats;
	struct migrate_msg_ident ident;
	struct migrate_match *match;
	unsigned int i;
	pool_t pool;

	test_begin("match fallback evidence");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		pool = pool_alloconly_create("test match", 1024);
		match = migrate_match_init(pool, &test_default_set);
		migrate_match_add_pop3(match, 1, "uidl", 1000);
		migrate_match_add_imap(match, 10, 1001);
		migrate_match_run_cheap(match);
		test_ident_init(&ident, "k", "pop3");
		if (!tests[i].pop3_id)
			ident.message_id = NULL;
		if (!tests[i].pop3_date)
			ident.date = 0;
		migrate_match_set_pop3_ident(match, 0, &ident);
		test_ident_init(&ident, "k", "imap");
		if (!tests[i].imap_id)
			ident.message_id = NULL;
		else if (tests[i].imap_id_value != NULL)
			ident.message_id = tests[i].imap_id_value;
		if (!tests[i].imap_date)
			ident.date = 0;
		else if (tests[i].imap_date_value != 0)
			ident.date = tests[i].imap_date_value;
		migrate_match_set_imap_ident(match, 0, &ident);
		migrate_match_run_full(match);
		migrate_match_get_stats(match, &stats);
		test_assert_idx(stats.matched_fields ==
				(tests[i].matched ? 1U : 0U), i);
		test_match_check_consistent(match);
		migrate_match_deinit(&match);
		pool_unref(&pool);
	}
	test_end();
}

/* From and Subject must be equal; a missing one equals an empty one. */
static void test_match_fields_from_subject(void)
{
	struct migrate_msg_ident ident;
	struct migrate_match *match;
	pool_t pool;

	test_begin("match fallback from/subject");
	pool = pool_alloconly_create("test match", 1024);
	match = migrate_match_init(pool, &test_default_set);
	migrate_match_add_pop3(match, 1, "u1", 1000);
	migrate_match_add_pop3(match, 2, "u2", 3000);
	migrate_match_add_pop3(match, 3, "u3", 5000);
	migrate_match_add_imap(match, 10, 1001);
	migrate_match_add_imap(match, 20, 3001);
	migrate_match_add_imap(match, 30, 5001);
	migrate_match_run_cheap(match);
	test_ident_init(&ident, "k1", "pop3");
	migrate_match_set_pop3_ident(match, 0, &ident);
	test_ident_init(&ident, "k1", "imap");
	ident.from = "other@example.com";
	migrate_match_set_imap_ident(match, 0, &ident);
	test_ident_init(&ident, "k2", "pop3");
	migrate_match_set_pop3_ident(match, 1, &ident);
	test_ident_init(&ident, "k2", "imap");
	ident.subject = "Re: something else";
	migrate_match_set_imap_ident(match, 1, &ident);
	test_ident_init(&ident, "k3", "pop3");
	ident.subject = NULL;
	migrate_match_set_pop3_ident(match, 2, &ident);
	test_ident_init(&ident, "k3", "imap");
	ident.subject = "";
	migrate_match_set_imap_ident(match, 2, &ident);
	migrate_match_run_full(match);
	test_assert_pop3_unmatched(match, 0, MIGRATE_UNMATCHED_NO_CANDIDATE);
	test_assert_pop3_unmatched(match, 1, MIGRATE_UNMATCHED_NO_CANDIDATE);
	test_assert_pair(match, 2, 2, MIGRATE_MATCH_FIELDS);
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	pool_unref(&pool);
	test_end();
}

/* Byte-identical duplicates on IMAP whose POP3 copies differ (a filter
   added a header to one of them): hash groups have unequal counts and
   the field fallback sees three candidates, but between two paired
   neighbours the messages line up one to one. */
static void test_match_order(void)
{
	static const struct migrate_match_settings set = {
		.size_tolerance_permille = 20,
		.size_tolerance_bytes = 1024,
		/* make every message go through the header phases */
		.skip_size_match = TRUE,
	};
	static const struct test_msg imap[] = {
		{ 1000, "a", NULL, NULL },
		{ 3070, "d", NULL, NULL },
		{ 3070, "d", NULL, NULL },
		{ 3070, "d", NULL, NULL },
		{ 2000, "b", NULL, NULL },
	};
	static const struct test_msg pop3[] = {
		{ 1040, "a", "status", "U1" },
		{ 3112, "d", "status", "U2" },
		{ 3167, "d", "spam", "U3" },
		{ 3112, "d", "status", "U4" },
		{ 2040, "b", "status", "U5" },
	};
	static const struct test_msg pop3_short[] = {
		{ 1040, "a", "status", "U1" },
		{ 3112, "d", "status", "U2" },
		{ 3167, "d", "spam", "U3" },
		{ 2040, "b", "status", "U5" },
	};
	static const struct test_msg pop3_other[] = {
		{ 1040, "a", "status", "U1" },
		{ 3112, "d", "status", "U2" },
		{ 3167, "e", "spam", "U3" },
		{ 3112, "d", "status", "U4" },
		{ 2040, "b", "status", "U5" },
	};
	struct test_scenario scen = {
		.set = set,
		.pop3 = pop3, .pop3_count = N_ELEMENTS(pop3),
		.imap = imap, .imap_count = N_ELEMENTS(imap),
	};
	struct migrate_match *match;
	struct migrate_match_stats stats;
	unsigned int i;

	test_begin("match order fallback");
	match = test_match_run(pool_datastack_create(), &scen);
	test_match_check_consistent(match);
	test_assert_pair(match, 0, 0, MIGRATE_MATCH_FIELDS);
	for (i = 1; i <= 3; i++)
		test_assert_pair(match, i, i, MIGRATE_MATCH_ORDER);
	test_assert_pair(match, 4, 4, MIGRATE_MATCH_FIELDS);
	migrate_match_get_stats(match, &stats);
	test_assert_ucmp(stats.matched_order, ==, 3);
	migrate_match_deinit(&match);

	/* one copy missing on POP3: the gap doesn't line up, nothing in it
	   is guessed */
	scen.pop3 = pop3_short;
	scen.pop3_count = N_ELEMENTS(pop3_short);
	match = test_match_run(pool_datastack_create(), &scen);
	test_match_check_consistent(match);
	for (i = 1; i <= 2; i++)
		test_assert_pop3_unmatched(match, i, MIGRATE_UNMATCHED_AMBIGUOUS);
	for (i = 1; i <= 3; i++)
		test_assert_imap_unmatched(match, i, MIGRATE_UNMATCHED_AMBIGUOUS);
	migrate_match_deinit(&match);

	/* a different message at one position: the gap isn't paired */
	scen.pop3 = pop3_other;
	scen.pop3_count = N_ELEMENTS(pop3_other);
	match = test_match_run(pool_datastack_create(), &scen);
	test_match_check_consistent(match);
	migrate_match_get_stats(match, &stats);
	test_assert_ucmp(stats.matched_order, ==, 0);
	test_assert_pop3_unmatched(match, 2, MIGRATE_UNMATCHED_NO_CANDIDATE);
	migrate_match_deinit(&match);
	test_end();
}

static void test_match_cache(void)
{
	static const uoff_t sizes[] = { 100, 200, 300, 400, 500, 600 };
	static const char *const cache[] = {
		"uidl-unknown", "20",
		"uidl-1", "999",	/* no such UID */
		"uidl-2", "30",		/* valid */
		"uidl-2", "40",		/* UIDL already paired */
		"uidl-3", "30",		/* UID already paired */
		"", "50",
		"uidl-5", "60",		/* valid */
		NULL
	};
	struct test_scenario scen = {
		.set = test_default_set,
		.pop3_count = N_ELEMENTS(sizes),
		.imap_count = N_ELEMENTS(sizes),
		.cache = cache,
	};
	struct migrate_match_stats stats;
	struct migrate_match *match;
	struct test_msg *pop3;
	unsigned int i;
	pool_t pool;

	test_begin("match cache");
	pool = pool_alloconly_create("test match", 1024);
	pop3 = test_msgs_sized(sizes, N_ELEMENTS(sizes), TRUE);
	scen.pop3 = pop3;
	scen.imap = test_msgs_sized(sizes, N_ELEMENTS(sizes), FALSE);
	match = test_match_run(pool, &scen);
	test_assert_pair(match, 2, 2, MIGRATE_MATCH_CACHED);
	test_assert_pair(match, 5, 5, MIGRATE_MATCH_CACHED);
	for (i = 0; i < N_ELEMENTS(sizes); i++) {
		if (i != 2 && i != 5)
			test_assert_pair(match, i, i, MIGRATE_MATCH_SIZE);
	}
	migrate_match_get_stats(match, &stats);
	test_assert(stats.matched_cached == 2);
	test_assert(stats.matched_size == 4);
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	pool_unref(&pool);

	/* the server gives one UIDL to two messages: the cache can't say
	   which one it meant */
	pool = pool_alloconly_create("test match", 1024);
	pop3 = test_msgs_sized(sizes, N_ELEMENTS(sizes), TRUE);
	pop3[3].uidl = "uidl-2";
	scen.pop3 = pop3;
	match = test_match_run(pool, &scen);
	test_assert_pair(match, 2, 2, MIGRATE_MATCH_SIZE);
	test_assert_pair(match, 3, 3, MIGRATE_MATCH_SIZE);
	test_assert_pair(match, 5, 5, MIGRATE_MATCH_CACHED);
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	pool_unref(&pool);

	/* the server renumbered its messages without a new UIDVALIDITY
	   (Courier without its UID database): a cached UID now names a
	   message of another size, and the pair isn't taken */
	static const char *const shifted[] = {
		"uidl-1", "20", "uidl-2", "40", "uidl-3", "50", NULL
	};
	pool = pool_alloconly_create("test match", 1024);
	scen.pop3 = test_msgs_sized(sizes, N_ELEMENTS(sizes), TRUE);
	scen.cache = shifted;
	match = test_match_run(pool, &scen);
	for (i = 0; i < N_ELEMENTS(sizes); i++)
		test_assert_pair(match, i, i, MIGRATE_MATCH_SIZE);
	migrate_match_get_stats(match, &stats);
	test_assert(stats.matched_cached == 0);
	test_assert(stats.cache_distrusted);
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	pool_unref(&pool);
	test_end();
}

static void test_match_formula(void)
{
	static const uoff_t sizes[] = { 100, 100, 100, 400 };
	struct migrate_match_settings set = test_default_set;
	struct migrate_match_stats stats;
	struct migrate_match *match;
	struct test_msg *pop3, *imap;
	pool_t pool;

	test_begin("match formula pairs");
	pool = pool_alloconly_create("test match", 1024);
	pop3 = test_msgs_sized(sizes, N_ELEMENTS(sizes), TRUE);
	imap = test_msgs_sized(sizes, N_ELEMENTS(sizes), FALSE);
	match = migrate_match_init(pool, &set);
	test_match_feed(match, pop3, N_ELEMENTS(sizes), imap,
			N_ELEMENTS(sizes));
	/* same-size neighbours: only the formula tells them apart */
	migrate_match_add_known(match, "uidl-0", test_uid(0),
				MIGRATE_MATCH_FORMULA);
	migrate_match_add_known(match, "uidl-1", test_uid(1),
				MIGRATE_MATCH_FORMULA);
	migrate_match_add_known(match, "uidl-2", test_uid(2),
				MIGRATE_MATCH_FORMULA);
	migrate_match_run_cheap(match);
	test_match_give_idents(match, pop3, imap);
	migrate_match_run_full(match);
	test_assert_pair(match, 0, 0, MIGRATE_MATCH_FORMULA);
	test_assert_pair(match, 1, 1, MIGRATE_MATCH_FORMULA);
	test_assert_pair(match, 2, 2, MIGRATE_MATCH_FORMULA);
	test_assert_pair(match, 3, 3, MIGRATE_MATCH_SIZE);
	migrate_match_get_stats(match, &stats);
	test_assert(stats.matched_formula == 3);
	test_assert(stats.matched_cached == 0);
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	pool_unref(&pool);
	test_end();
}

/* Cached pairs are left out of the positions, so an extra IMAP message
   next to one still only costs the headers around it. */
static void test_match_cache_alignment(void)
{
	static const uoff_t pop3_sizes[] = {
		100, 200, 300, 400, 500, 600, 700, 800, 900
	};
	static const uoff_t imap_sizes[] = {
		100, 999, 200, 300, 400, 500, 600, 700, 800, 900
	};
	static const char *const cache2[] = { "uidl-1", "30", NULL };
	static const uint32_t need_pop3[] = { 0, 2, 3 };
	static const uint32_t need_imap[] = { 0, 1, 3, 4 };
	struct test_scenario scen = { .set = test_default_set };
	struct migrate_match *match;
	struct test_msg *pop3, *imap;
	unsigned int i;
	pool_t pool;

	test_begin("match cache keeps positions aligned");
	pool = pool_alloconly_create("test match", 1024);
	pop3 = test_msgs_sized(pop3_sizes, N_ELEMENTS(pop3_sizes), TRUE);
	imap = test_msgs_sized(imap_sizes, N_ELEMENTS(imap_sizes), FALSE);
	imap[1].key = "new";
	for (i = 2; i < N_ELEMENTS(imap_sizes); i++)
		imap[i].key = pop3[i - 1].key;
	scen.pop3 = pop3;
	scen.pop3_count = N_ELEMENTS(pop3_sizes);
	scen.imap = imap;
	scen.imap_count = N_ELEMENTS(imap_sizes);
	scen.cache = cache2;
	match = test_match_run(pool, &scen);
	test_assert(test_need_equals(migrate_match_need_pop3_ident(match),
				     need_pop3, N_ELEMENTS(need_pop3)));
	test_assert(test_need_equals(migrate_match_need_imap_ident(match),
				     need_imap, N_ELEMENTS(need_imap)));
	test_assert_pair(match, 0, 0, MIGRATE_MATCH_HASH);
	test_assert_pair(match, 1, 2, MIGRATE_MATCH_CACHED);
	test_assert_pair(match, 2, 3, MIGRATE_MATCH_HASH);
	test_assert_pair(match, 3, 4, MIGRATE_MATCH_HASH);
	for (i = 4; i < N_ELEMENTS(pop3_sizes); i++)
		test_assert_pair(match, i, i + 1, MIGRATE_MATCH_SIZE);
	test_assert_imap_unmatched(match, 1, MIGRATE_UNMATCHED_NO_CANDIDATE);
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	pool_unref(&pool);
	test_end();
}

static void test_match_no_uidl(void)
{
	static const uoff_t sizes[] = { 100, 200, 300, 400 };
	struct test_scenario scen = {
		.set = test_default_set,
		.pop3_count = N_ELEMENTS(sizes),
		.imap_count = N_ELEMENTS(sizes),
	};
	struct migrate_match *match;
	struct test_msg *pop3;
	pool_t pool;

	test_begin("match POP3 message without UIDL");
	pool = pool_alloconly_create("test match", 1024);
	pop3 = test_msgs_sized(sizes, N_ELEMENTS(sizes), TRUE);
	pop3[1].uidl = "";
	pop3[2].uidl = NULL;
	scen.pop3 = pop3;
	scen.imap = test_msgs_sized(sizes, N_ELEMENTS(sizes), FALSE);
	match = test_match_run(pool, &scen);
	test_assert(array_count(migrate_match_need_pop3_ident(match)) == 0);
	test_assert(array_count(migrate_match_need_imap_ident(match)) == 0);
	test_assert_pair(match, 0, 0, MIGRATE_MATCH_SIZE);
	test_assert_pop3_unmatched(match, 1, MIGRATE_UNMATCHED_NO_UIDL);
	test_assert_pop3_unmatched(match, 2, MIGRATE_UNMATCHED_NO_UIDL);
	test_assert_imap_unmatched(match, 1, MIGRATE_UNMATCHED_NO_UIDL);
	test_assert_imap_unmatched(match, 2, MIGRATE_UNMATCHED_NO_UIDL);
	test_assert_pair(match, 3, 3, MIGRATE_MATCH_SIZE);
	test_assert(migrate_match_get_pop3_for_uid(match, test_uid(1)) == NULL);
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	pool_unref(&pool);

	/* without the size match the IMAP side is only hashed */
	scen.set.skip_size_match = TRUE;
	pool = pool_alloconly_create("test match", 1024);
	match = test_match_run(pool, &scen);
	test_assert(array_count(migrate_match_need_pop3_ident(match)) == 2);
	test_assert(array_count(migrate_match_need_imap_ident(match)) == 4);
	test_assert_pair(match, 0, 0, MIGRATE_MATCH_HASH);
	test_assert_pop3_unmatched(match, 1, MIGRATE_UNMATCHED_NO_UIDL);
	test_assert_imap_unmatched(match, 1, MIGRATE_UNMATCHED_NO_CANDIDATE);
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	pool_unref(&pool);
	test_end();
}

static void test_match_unreadable(void)
{
	static const struct test_msg pop3[] = {
		{ 100, "a", NULL, "uidl-a" },
		{ 200, NULL, NULL, "uidl-b" },
		{ 300, "c", NULL, "uidl-c" },
	};
	static const struct test_msg imap[] = {
		{ 100, "a", NULL, NULL },
		{ 200, "b", NULL, NULL },
		{ 300, NULL, NULL, NULL },
	};
	struct test_scenario scen = {
		.set = test_default_set,
		.pop3 = pop3, .pop3_count = N_ELEMENTS(pop3),
		.imap = imap, .imap_count = N_ELEMENTS(imap),
	};
	struct migrate_match *match;
	pool_t pool;

	test_begin("match unreadable headers");
	scen.set.skip_size_match = TRUE;
	pool = pool_alloconly_create("test match", 1024);
	match = test_match_run(pool, &scen);
	test_assert_pair(match, 0, 0, MIGRATE_MATCH_HASH);
	test_assert_pop3_unmatched(match, 1, MIGRATE_UNMATCHED_UNREADABLE);
	test_assert_imap_unmatched(match, 1, MIGRATE_UNMATCHED_NO_CANDIDATE);
	test_assert_pop3_unmatched(match, 2, MIGRATE_UNMATCHED_NO_CANDIDATE);
	test_assert_imap_unmatched(match, 2, MIGRATE_UNMATCHED_UNREADABLE);
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	pool_unref(&pool);

	/* a needed header that was never given counts as unreadable */
	pool = pool_alloconly_create("test match", 1024);
	match = migrate_match_init(pool, &scen.set);
	migrate_match_add_pop3(match, 1, "u1", 100);
	migrate_match_add_imap(match, 1, 100);
	migrate_match_run_cheap(match);
	migrate_match_run_full(match);
	test_assert_pop3_unmatched(match, 0, MIGRATE_UNMATCHED_UNREADABLE);
	test_assert_imap_unmatched(match, 0, MIGRATE_UNMATCHED_UNREADABLE);
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	pool_unref(&pool);
	test_end();
}

/* Two mailboxes matched against one POP3 list (the session's): a header
   read for the first isn't asked for again, an unreadable one stays so,
   and the identities outlive the first matcher. */
static void test_match_shared_list(void)
{
	ARRAY_TYPE(migrate_pop3_msg) msgs;
	struct migrate_pop3_msg *msg;
	struct migrate_match_settings set = test_default_set;
	struct migrate_match *match;
	struct migrate_match_stats stats;
	struct migrate_msg_ident ident;
	pool_t list_pool, pool;
	unsigned int i;

	test_begin("match two mailboxes against one POP3 list");
	set.skip_size_match = TRUE;
	list_pool = pool_alloconly_create("test list", 1024);
	p_array_init(&msgs, list_pool, 3);
	for (i = 0; i < 3; i++) {
		msg = array_append_space(&msgs);
		msg->seq = i + 1;
		msg->uidl = p_strdup_printf(list_pool, "uidl-%u", i + 1);
		msg->size = 100 * (i + 1);
	}

	/* first mailbox: has message 1; header 2 can't be read */
	pool = pool_alloconly_create("test match", 1024);
	match = migrate_match_init(pool, &set);
	migrate_match_add_pop3_list(match, &msgs, list_pool);
	migrate_match_add_imap(match, 10, 100);
	migrate_match_run_cheap(match);
	test_assert_ucmp(array_count(migrate_match_need_pop3_ident(match)), ==, 3);
	test_ident_init(&ident, "m1", "m1");
	migrate_match_set_pop3_ident(match, 0, &ident);
	migrate_match_set_pop3_unreadable(match, 1);
	test_ident_init(&ident, "m3", "m3");
	migrate_match_set_pop3_ident(match, 2, &ident);
	test_ident_init(&ident, "m1", "m1");
	migrate_match_set_imap_ident(match, 0, &ident);
	migrate_match_run_full(match);
	test_assert_pair(match, 0, 0, MIGRATE_MATCH_HASH);
	migrate_match_get_stats(match, &stats);
	/* two headers given (the unreadable one isn't a header) */
	test_assert_ucmp(stats.pop3_idents, ==, 2);
	migrate_match_deinit(&match);
	pool_unref(&pool);

	/* what it learnt stays with the list */
	msg = array_idx_modifiable(&msgs, 0);
	test_assert(msg[0].have_ident && !msg[0].unreadable);
	test_assert(!msg[1].have_ident && msg[1].unreadable);
	test_assert_strcmp(msg[2].ident->message_id, "m3");

	/* second mailbox: has message 3; nothing is read again */
	pool = pool_alloconly_create("test match", 1024);
	match = migrate_match_init(pool, &set);
	migrate_match_add_pop3_list(match, &msgs, list_pool);
	migrate_match_add_imap(match, 20, 300);
	migrate_match_run_cheap(match);
	test_assert_ucmp(array_count(migrate_match_need_pop3_ident(match)), ==, 0);
	test_ident_init(&ident, "m3", "m3");
	migrate_match_set_imap_ident(match, 0, &ident);
	migrate_match_run_full(match);
	test_assert_pair(match, 2, 0, MIGRATE_MATCH_HASH);
	test_assert_pop3_unmatched(match, 1, MIGRATE_UNMATCHED_UNREADABLE);
	migrate_match_get_stats(match, &stats);
	/* the headers it needed were known: none given to it */
	test_assert_ucmp(stats.pop3_idents, ==, 2);
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	pool_unref(&pool);
	pool_unref(&list_pool);
	test_end();
}

static void test_match_empty(void)
{
	struct migrate_match_stats stats;
	struct migrate_match *match;
	pool_t pool;

	test_begin("match empty lists");
	pool = pool_alloconly_create("test match", 1024);
	match = migrate_match_init(pool, &test_default_set);
	migrate_match_add_known(match, "u1", 1, MIGRATE_MATCH_CACHED);
	migrate_match_run_cheap(match);
	migrate_match_run_full(match);
	migrate_match_get_stats(match, &stats);
	test_assert(stats.pop3_count == 0 && stats.imap_count == 0);
	test_assert(migrate_match_get_pop3_for_uid(match, 1) == NULL);
	migrate_match_deinit(&match);

	match = migrate_match_init(pool, &test_default_set);
	migrate_match_add_pop3(match, 1, "u1", 100);
	migrate_match_run_cheap(match);
	test_assert(array_count(migrate_match_need_pop3_ident(match)) == 1);
	migrate_match_run_full(match);
	test_assert_pop3_unmatched(match, 0, MIGRATE_UNMATCHED_UNREADABLE);
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	pool_unref(&pool);
	test_end();
}

static void test_match_names(void)
{
	test_begin("match method and reason names");
	test_assert_strcmp(migrate_match_method_name(MIGRATE_MATCH_NONE), "none");
	test_assert_strcmp(migrate_match_method_name(MIGRATE_MATCH_CACHED), "cached");
	test_assert_strcmp(migrate_match_method_name(MIGRATE_MATCH_SIZE), "size");
	test_assert_strcmp(migrate_match_method_name(MIGRATE_MATCH_HASH), "hash");
	test_assert_strcmp(migrate_match_method_name(MIGRATE_MATCH_FIELDS), "fields");
	test_assert_strcmp(migrate_match_method_name(MIGRATE_MATCH_FORMULA), "formula");
	test_assert_strcmp(migrate_match_reason_name(MIGRATE_UNMATCHED_NONE), "none");
	test_assert_strcmp(migrate_match_reason_name(MIGRATE_UNMATCHED_NO_CANDIDATE),
			   "no-candidate");
	test_assert_strcmp(migrate_match_reason_name(MIGRATE_UNMATCHED_AMBIGUOUS),
			   "ambiguous");
	test_assert_strcmp(migrate_match_reason_name(MIGRATE_UNMATCHED_UNREADABLE),
			   "unreadable");
	test_assert_strcmp(migrate_match_reason_name(MIGRATE_UNMATCHED_NO_UIDL),
			   "no-uidl");
	test_end();
}

/* 100,000 messages per side with the differences a real migration sees:
   messages only on one side, sizes changed by the IMAP server, headers
   rewritten, runs of equal sizes. Every POP3 message that exists on the
   IMAP side must get exactly its own counterpart. */
#define TEST_BIG_COUNT 100000

struct test_big_msg {
	unsigned int id;
	uoff_t size;
	bool rewritten;
};

static uint32_t test_big_rand(uint32_t *state)
{
	*state = *state * 1103515245 + 12345;
	return *state >> 8;
}

static void
test_match_big_ident(struct migrate_msg_ident *ident_r, unsigned int id,
		     bool rewritten)
{
	test_ident_init(ident_r, t_strdup_printf("big-%u", id),
			rewritten ? "rewritten" : NULL);
}

/* spread = differences all over the mailbox instead of one cluster in
   the middle plus new mail at the end */
static void test_match_big_run(bool skip_size_match, bool spread)
{
	struct test_big_msg *pop3, *imap;
	struct migrate_match_settings set = test_default_set;
	const struct migrate_match_pop3 *pmsgs;
	const struct migrate_match_imap *imsgs;
	struct migrate_match_stats stats;
	struct migrate_match *match;
	struct migrate_msg_ident ident;
	unsigned int i, pop3_count = 0, imap_count = 0, count, id;
	unsigned int pop3_only = 0, imap_only = 0, wrong = 0, missed = 0;
	uint32_t rand_state = 42, r, idx;
	uoff_t size = 0;
	pool_t pool;

	pop3 = i_new(struct test_big_msg, TEST_BIG_COUNT);
	imap = i_new(struct test_big_msg, TEST_BIG_COUNT + TEST_BIG_COUNT / 10);
	for (id = 0; pop3_count < TEST_BIG_COUNT; id++) {
		r = test_big_rand(&rand_state);
		/* 2 % repeat the previous size (equal-size runs) */
		if (size == 0 || r % 50 != 0)
			size = 500 + test_big_rand(&rand_state) % 200000;
		if (spread)
			r = test_big_rand(&rand_state) % 10000;
		else if (pop3_count >= 40000 && pop3_count < 41000)
			r = test_big_rand(&rand_state) % 100;
		else
			r = 100;
		if (r < 5) {
			/* only on the IMAP side (new mail) */
			imap[imap_count++] = (struct test_big_msg){ id, size, FALSE };
			imap_only++;
			continue;
		}
		pop3[pop3_count++] = (struct test_big_msg){ id, size, FALSE };
		if (r < 10) {
			/* only on the POP3 side */
			pop3_only++;
			continue;
		}
		imap[imap_count] = (struct test_big_msg){ id, size, FALSE };
		if (r < 15)
			imap[imap_count].size += 7;
		else if (r < 20) {
			imap[imap_count].size += 30;
			imap[imap_count].rewritten = TRUE;
		}
		imap_count++;
	}
	for (i = 0; !spread && i < 50; i++) {
		/* delivered between the two listings */
		imap[imap_count++] = (struct test_big_msg){ id++, 1000 + i, FALSE };
		imap_only++;
	}

	pool = pool_alloconly_create("test match big", 1024 * 1024);
	set.skip_size_match = skip_size_match;
	match = migrate_match_init(pool, &set);
	/* the clustered runs know their sizes up front, as the plugin does */
	if (!spread)
		migrate_match_reserve(match, pop3_count, imap_count);
	for (i = 0; i < pop3_count; i++) {
		migrate_match_add_pop3(match, i + 1,
				       t_strdup_printf("uidl-%u", pop3[i].id),
				       pop3[i].size);
	}
	for (i = 0; i < imap_count; i++)
		migrate_match_add_imap(match, i + 1, imap[i].size);
	migrate_match_run_cheap(match);
	if (!skip_size_match && !spread) {
		/* only the differences and their neighbourhood */
		test_assert(array_count(migrate_match_need_pop3_ident(match)) <
			    TEST_BIG_COUNT / 10);
	}
	array_foreach_elem(migrate_match_need_pop3_ident(match), idx) T_BEGIN {
		test_match_big_ident(&ident, pop3[idx].id, FALSE);
		migrate_match_set_pop3_ident(match, idx, &ident);
	} T_END;
	array_foreach_elem(migrate_match_need_imap_ident(match), idx) T_BEGIN {
		test_match_big_ident(&ident, imap[idx].id, imap[idx].rewritten);
		migrate_match_set_imap_ident(match, idx, &ident);
	} T_END;
	migrate_match_run_full(match);

	pmsgs = array_get(migrate_match_get_pop3(match), &count);
	imsgs = array_get(migrate_match_get_imap(match), &count);
	for (i = 0; i < pop3_count; i++) {
		if (pmsgs[i].method == MIGRATE_MATCH_NONE)
			missed++;
		else if (imap[pmsgs[i].imap_idx].id != pop3[i].id)
			wrong++;
	}
	test_assert(wrong == 0);
	test_assert(missed == pop3_only);
	for (i = 0; i < imap_count; i++) {
		if (imsgs[i].method == MIGRATE_MATCH_NONE) {
			test_assert_idx(imsgs[i].reason ==
					MIGRATE_UNMATCHED_NO_CANDIDATE, i);
		}
	}
	migrate_match_get_stats(match, &stats);
	test_assert(stats.pop3_count == TEST_BIG_COUNT);
	test_assert(stats.pop3_unmatched == pop3_only);
	test_assert(stats.imap_unmatched == imap_only);
	test_assert(stats.matched_fields > 0);
	test_assert(stats.matched_hash > 0);
	test_assert(skip_size_match ? stats.matched_size == 0 :
		    stats.matched_size > TEST_BIG_COUNT * 9 / 10);
	test_match_check_consistent(match);

	migrate_match_deinit(&match);
	pool_unref(&pool);
	i_free(pop3);
	i_free(imap);
}

/* Random mailboxes with what happens between the two listings (POP3
   messages deleted over IMAP, new mail at the end of the IMAP list) and
   what servers do (sizes changed, headers rewritten, duplicates, a few
   messages out of order): no POP3 message may ever be paired with another
   message, whatever the phase. */
#define TEST_RANDOM_RUNS 100
#define TEST_RANDOM_COUNT 1000

static void test_match_random_run(uint32_t seed)
{
	struct test_big_msg *pop3, *imap, tmp;
	struct migrate_match_settings set = test_default_set;
	const struct migrate_match_pop3 *pmsg;
	struct migrate_match *match;
	struct migrate_msg_ident ident;
	unsigned int i, pop3_count = 0, imap_count = 0, id, key = 0;
	uint32_t r, idx, new_mail;
	uoff_t size = 0;
	pool_t pool;

	pop3 = i_new(struct test_big_msg, TEST_RANDOM_COUNT);
	imap = i_new(struct test_big_msg, TEST_RANDOM_COUNT + 100);
	for (id = 0; id < TEST_RANDOM_COUNT; id++) {
		/* 10 % repeat the previous size, 1 % the previous header */
		if (size == 0 || test_big_rand(&seed) % 10 != 0)
			size = 300 + test_big_rand(&seed) % 50000;
		if (id == 0 || test_big_rand(&seed) % 100 != 0)
			key = id;
		pop3[pop3_count++] = (struct test_big_msg){ key, size, FALSE };
		r = test_big_rand(&seed) % 100;
		if (r < 2)
			continue;
		imap[imap_count] = (struct test_big_msg){ key, size, FALSE };
		if (r < 3)
			imap[imap_count].size += test_big_rand(&seed) % 20;
		else if (r < 4) {
			imap[imap_count].size += test_big_rand(&seed) % 20;
			imap[imap_count].rewritten = TRUE;
		}
		imap_count++;
		if (imap_count > 1 && test_big_rand(&seed) % 500 == 0) {
			tmp = imap[imap_count - 1];
			imap[imap_count - 1] = imap[imap_count - 2];
			imap[imap_count - 2] = tmp;
		}
	}
	new_mail = test_big_rand(&seed) % 20;
	for (i = 0; i < new_mail; i++) {
		imap[imap_count++] = (struct test_big_msg){
			TEST_RANDOM_COUNT + i, 300 + test_big_rand(&seed) % 50000,
			FALSE
		};
	}

	pool = pool_alloconly_create("test match random", 1024 * 64);
	set.skip_size_match = seed % 10 == 0;
	set.size_tolerance_bytes = seed % 30;
	match = migrate_match_init(pool, &set);
	for (i = 0; i < pop3_count; i++) {
		migrate_match_add_pop3(match, i + 1,
				       t_strdup_printf("uidl-%u", i),
				       pop3[i].size);
	}
	for (i = 0; i < imap_count; i++)
		migrate_match_add_imap(match, i + 1, imap[i].size);
	migrate_match_run_cheap(match);
	array_foreach_elem(migrate_match_need_pop3_ident(match), idx) T_BEGIN {
		test_match_big_ident(&ident, pop3[idx].id, FALSE);
		migrate_match_set_pop3_ident(match, idx, &ident);
	} T_END;
	array_foreach_elem(migrate_match_need_imap_ident(match), idx) T_BEGIN {
		test_match_big_ident(&ident, imap[idx].id, imap[idx].rewritten);
		migrate_match_set_imap_ident(match, idx, &ident);
	} T_END;
	migrate_match_run_full(match);

	array_foreach(migrate_match_get_pop3(match), pmsg) {
		test_assert_idx(pmsg->method == MIGRATE_MATCH_NONE ||
				imap[pmsg->imap_idx].id == pop3[pmsg->idx].id,
				seed);
	}
	test_match_check_consistent(match);
	migrate_match_deinit(&match);
	pool_unref(&pool);
	i_free(pop3);
	i_free(imap);
}

static void test_match_random(void)
{
	uint32_t seed;

	test_begin("match random mailboxes never pair wrongly");
	for (seed = 1; seed <= TEST_RANDOM_RUNS; seed++)
		test_match_random_run(seed);
	test_end();
}

static void test_match_big(void)
{
	test_begin("match 100k messages");
	test_match_big_run(FALSE, FALSE);
	test_end();

	test_begin("match 100k messages, differences spread");
	test_match_big_run(FALSE, TRUE);
	test_end();

	test_begin("match 100k messages by hash only");
	test_match_big_run(TRUE, TRUE);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_match_order,
		test_match_identical,
		test_match_same_size_neighbours,
		test_match_extra_message,
		test_match_duplicates,
		test_match_fields,
		test_match_fields_evidence,
		test_match_fields_from_subject,
		test_match_cache,
		test_match_formula,
		test_match_cache_alignment,
		test_match_no_uidl,
		test_match_unreadable,
		test_match_shared_list,
		test_match_empty,
		test_match_names,
		test_match_random,
		test_match_big,
		NULL
	};
	return test_run(test_functions);
}
