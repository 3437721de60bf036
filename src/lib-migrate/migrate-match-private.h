#ifndef MIGRATE_MATCH_PRIVATE_H
#define MIGRATE_MATCH_PRIVATE_H

#include "migrate-match.h"

/* What the matcher's steps share: the matcher itself (migrate-match.c:
   lists, known pairs, results), the position-and-size walk
   (migrate-match-size.c), the header hash groups (migrate-match-hash.c)
   and the tolerant fallback with the order step (migrate-match-fields.c). */

struct migrate_match_cached {
	const char *uidl;
	uint32_t uid;
	/* MIGRATE_MATCH_CACHED or MIGRATE_MATCH_FORMULA */
	enum migrate_match_method method;
};

struct migrate_match {
	pool_t pool;
	struct migrate_match_settings set;
	/* the cached pairs disagree with the sizes: not used */
	bool cache_distrusted;

	/* The lists live on the heap, not in the pool: growing them in an
	   alloconly pool would leave every old copy behind, and moving them
	   there later would need both copies at once. */
	ARRAY_TYPE(migrate_match_pop3) pop3;
	ARRAY_TYPE(migrate_match_imap) imap;
	ARRAY(struct migrate_match_cached) cached;
	ARRAY_TYPE(uint32_t) need_pop3, need_imap;
	/* where the POP3 messages' header identities are kept: the
	   matcher's pool, or the caller's for a list of its own */
	pool_t pop3_pool;
	/* POP3 headers this matcher needed: known already (read for an
	   earlier matcher of the list), or given to it */
	unsigned int pop3_idents_known, pop3_idents_given;

	bool cheap_done:1;
	bool full_done:1;
};

static inline struct migrate_match_pop3 *
migrate_match_pop3_get(struct migrate_match *match, unsigned int idx)
{
	return array_idx_modifiable(&match->pop3, idx);
}

static inline struct migrate_match_imap *
migrate_match_imap_get(struct migrate_match *match, unsigned int idx)
{
	return array_idx_modifiable(&match->imap, idx);
}

static inline bool
migrate_match_is_open(enum migrate_match_method method,
		      enum migrate_unmatched_reason reason, bool have_ident)
{
	return method == MIGRATE_MATCH_NONE && have_ident &&
		(reason == MIGRATE_UNMATCHED_NONE ||
		 reason == MIGRATE_UNMATCHED_AMBIGUOUS);
}

void migrate_match_pair(struct migrate_match *match, unsigned int pop3_idx,
			unsigned int imap_idx, enum migrate_match_method method);
bool migrate_match_size_within(const struct migrate_match_settings *set,
			       uoff_t size1, uoff_t size2);

/* The steps, in the order they run */
void migrate_match_by_size(struct migrate_match *match);
void migrate_match_by_hash(struct migrate_match *match, bool pair);
void migrate_match_by_fields(struct migrate_match *match);
void migrate_match_by_order(struct migrate_match *match);
/* Why a message is left unmatched when all steps are done */
enum migrate_unmatched_reason
migrate_match_final_reason(enum migrate_unmatched_reason reason,
			   bool have_ident);

#endif
