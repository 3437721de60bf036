/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "test-common.h"
#include "migrate-token-bucket.h"

#define SEC 1000000ULL

static void test_migrate_token_bucket_basic(void)
{
	struct migrate_token_bucket b;

	test_begin("token bucket waits and refills");
	migrate_token_bucket_init(&b, 1000, 1000);
	/* starts empty: 500 units at 1000/s is half a second of debt */
	test_assert(migrate_token_bucket_take(&b, 10 * SEC, 500) == SEC / 2);
	/* after waiting that long, the debt is repaid: the next 1000
	   units cost exactly one second */
	test_assert(migrate_token_bucket_take(&b, 10 * SEC + SEC / 2, 1000) == SEC);
	/* a long pause saves up no more than the burst */
	test_assert(migrate_token_bucket_take(&b, 100 * SEC, 1000) == 0);
	test_assert(migrate_token_bucket_take(&b, 100 * SEC, 1) == 1000);
	test_end();
}

static void test_migrate_token_bucket_unlimited(void)
{
	struct migrate_token_bucket b;

	test_begin("token bucket rate 0 = no limit");
	migrate_token_bucket_init(&b, 0, 0);
	test_assert(migrate_token_bucket_take(&b, 0, 1ULL << 40) == 0);
	test_end();
}

/* A simulated transfer that always waits as told reaches the rate
   within 1 %, whatever the chunk sizes. */
static void test_migrate_token_bucket_rate(void)
{
	static const uint64_t chunk_sizes[] = { 1, 777, 4096, 200000 };
	struct migrate_token_bucket b;
	uint64_t now, total, wait, start, rate = 1000000;
	unsigned int i, n;

	test_begin("token bucket long-run rate");
	for (i = 0; i < N_ELEMENTS(chunk_sizes); i++) {
		migrate_token_bucket_init(&b, rate, rate / 10);
		start = now = 5 * SEC;
		total = 0;
		for (n = 0; total < 20 * rate; n++) {
			wait = migrate_token_bucket_take(&b, now,
							 chunk_sizes[i]);
			total += chunk_sizes[i];
			now += wait;
		}
		/* bytes over elapsed time, in per-mille of the rate */
		test_assert_idx(total * SEC / (now - start) <= rate * 101 / 100, i);
		test_assert_idx(total * SEC / (now - start) >= rate * 99 / 100, i);
	}
	test_end();
}

/* Between takes the caller works (downloads the message): that time
   counts, in fractions of a token too. 30 messages a second with 10 ms
   of work each must still give 30 a second, not fewer. */
static void test_migrate_token_bucket_work_time(void)
{
	struct migrate_token_bucket b;
	uint64_t now = 7 * SEC, start = now, count = 0;

	test_begin("token bucket with work between takes");
	migrate_token_bucket_init(&b, 30, 3);
	while (now - start < 20 * SEC) {
		now += migrate_token_bucket_take(&b, now, 1);
		count++;
		now += 10000;
	}
	test_assert(count >= 594 && count <= 606);
	test_end();
}

static void test_migrate_token_bucket_clock(void)
{
	struct migrate_token_bucket b;

	test_begin("token bucket: small steps and a clock going back");
	migrate_token_bucket_init(&b, 10, 10);
	(void)migrate_token_bucket_take(&b, SEC, 0);
	/* 50 ms at 10/s is half a token: not lost, counted later */
	(void)migrate_token_bucket_take(&b, SEC + 50000, 0);
	(void)migrate_token_bucket_take(&b, SEC + 100000, 0);
	test_assert(migrate_token_bucket_take(&b, SEC + 100000, 1) == 0);
	/* a clock that goes back changes nothing */
	test_assert(migrate_token_bucket_take(&b, 0, 1) == 100000);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_token_bucket_basic,
		test_migrate_token_bucket_unlimited,
		test_migrate_token_bucket_rate,
		test_migrate_token_bucket_work_time,
		test_migrate_token_bucket_clock,
		NULL
	};
	return test_run(test_functions);
}
