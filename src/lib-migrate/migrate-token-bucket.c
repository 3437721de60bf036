/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "migrate-token-bucket.h"

/* Tokens are kept in millionths, so that no fraction of the elapsed time
   is lost between takes: refilling whole tokens only and restarting the
   clock would drop up to one token per take. */
#define MICRO 1000000LL
/* longer pauses fill the bucket anyway; the cap keeps the products small */
#define MIGRATE_TOKEN_BUCKET_MAX_ELAPSED_USECS (1000ULL * 1000000)
#define MIGRATE_TOKEN_BUCKET_MAX_AMOUNT (1000000ULL * 1000000)

void migrate_token_bucket_init(struct migrate_token_bucket *bucket,
			       uint64_t rate, uint64_t burst)
{
	i_zero(bucket);
	bucket->rate = rate;
	bucket->burst = I_MIN(burst, MIGRATE_TOKEN_BUCKET_MAX_AMOUNT);
}

static void
migrate_token_bucket_refill(struct migrate_token_bucket *bucket,
			    uint64_t now_usecs)
{
	uint64_t elapsed;

	if (!bucket->started) {
		bucket->started = TRUE;
		bucket->last_usecs = now_usecs;
		return;
	}
	if (now_usecs <= bucket->last_usecs)
		return;
	elapsed = I_MIN(now_usecs - bucket->last_usecs,
			MIGRATE_TOKEN_BUCKET_MAX_ELAPSED_USECS);
	bucket->last_usecs = now_usecs;
	/* elapsed [us] * rate [1/s] = millionths of tokens */
	bucket->tokens += (int64_t)(elapsed * I_MIN(bucket->rate,
		(uint64_t)INT64_MAX / MIGRATE_TOKEN_BUCKET_MAX_ELAPSED_USECS));
	if (bucket->tokens > (int64_t)bucket->burst * MICRO)
		bucket->tokens = (int64_t)bucket->burst * MICRO;
}

uint64_t migrate_token_bucket_take(struct migrate_token_bucket *bucket,
				   uint64_t now_usecs, uint64_t amount)
{
	uint64_t debt;

	if (bucket->rate == 0)
		return 0;
	migrate_token_bucket_refill(bucket, now_usecs);
	amount = I_MIN(amount, MIGRATE_TOKEN_BUCKET_MAX_AMOUNT);
	bucket->tokens -= (int64_t)amount * MICRO;
	if (bucket->tokens >= 0)
		return 0;
	/* millionths of tokens / rate = microseconds; round up */
	debt = (uint64_t)-bucket->tokens;
	return (debt + bucket->rate - 1) / bucket->rate;
}
