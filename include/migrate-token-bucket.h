#ifndef MIGRATE_TOKEN_BUCKET_H
#define MIGRATE_TOKEN_BUCKET_H

/* A token bucket: `rate` units a second, at most `burst` saved up. Taking
   more than there is puts the bucket in debt and says how long to wait,
   so a large message is paid for after it rather than refused. Time is
   passed in by the caller (microseconds on any monotonic clock), which
   keeps the bucket pure and testable. */

struct migrate_token_bucket {
	uint64_t rate;
	uint64_t burst;
	/* in millionths of a token; negative = debt */
	int64_t tokens;
	uint64_t last_usecs;
	bool started;
};

/* A bucket that starts empty: the first second is not free. rate 0 means
   no limit. */
void migrate_token_bucket_init(struct migrate_token_bucket *bucket,
			       uint64_t rate, uint64_t burst);
/* Take amount units at time now_usecs. Returns how many microseconds the
   caller must wait before going on (0 = none). */
uint64_t migrate_token_bucket_take(struct migrate_token_bucket *bucket,
				   uint64_t now_usecs, uint64_t amount);

#endif
