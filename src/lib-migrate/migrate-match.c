/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "migrate-compat.h"
#include "migrate-match-private.h"

struct migrate_match *
migrate_match_init(pool_t pool, const struct migrate_match_settings *set)
{
	struct migrate_match *match;

	pool_ref(pool);
	match = p_new(pool, struct migrate_match, 1);
	match->pool = pool;
	match->pop3_pool = pool;
	match->set = *set;
	i_array_init(&match->pop3, 64);
	i_array_init(&match->imap, 64);
	i_array_init(&match->cached, 16);
	return match;
}

void migrate_match_deinit(struct migrate_match **_match)
{
	struct migrate_match *match = *_match;
	pool_t pool = match->pool;

	*_match = NULL;
	array_free(&match->pop3);
	array_free(&match->imap);
	if (array_is_created(&match->cached))
		array_free(&match->cached);
	pool_unref(&pool);
}

void migrate_match_reserve(struct migrate_match *match,
			   unsigned int pop3_count, unsigned int imap_count)
{
	i_assert(!match->cheap_done);

	if (array_count(&match->pop3) == 0 && pop3_count > 0) {
		array_free(&match->pop3);
		i_array_init(&match->pop3, pop3_count);
	}
	if (array_count(&match->imap) == 0 && imap_count > 0) {
		array_free(&match->imap);
		i_array_init(&match->imap, imap_count);
	}
}

static void
migrate_match_pop3_add(struct migrate_match *match, struct migrate_pop3_msg *msg)
{
	struct migrate_match_pop3 *pmsg;

	i_assert(!match->cheap_done);

	pmsg = array_append_space(&match->pop3);
	pmsg->idx = array_count(&match->pop3) - 1;
	pmsg->msg = msg;
	if (msg->uidl == NULL || msg->uidl[0] == '\0')
		pmsg->reason = MIGRATE_UNMATCHED_NO_UIDL;
}

void migrate_match_add_pop3(struct migrate_match *match, uint32_t seq,
			    const char *uidl, uoff_t size)
{
	struct migrate_pop3_msg *msg;

	msg = p_new(match->pool, struct migrate_pop3_msg, 1);
	msg->seq = seq;
	msg->uidl = p_strdup(match->pool, uidl == NULL ? "" : uidl);
	msg->size = size;
	migrate_match_pop3_add(match, msg);
}

void migrate_match_add_pop3_list(struct migrate_match *match,
				 ARRAY_TYPE(migrate_pop3_msg) *msgs,
				 pool_t pool)
{
	struct migrate_pop3_msg *msg;

	/* (any messages added before by migrate_match_add_pop3() get
	   their identities from there too: it lives longer) */
	match->pop3_pool = pool;
	array_foreach_modifiable(msgs, msg)
		migrate_match_pop3_add(match, msg);
}

void migrate_match_add_imap(struct migrate_match *match, uint32_t uid,
			    uoff_t size)
{
	struct migrate_match_imap *msg;
	unsigned int count = array_count(&match->imap);

	i_assert(!match->cheap_done);
	/* get_pop3_for_uid() and the cache rely on the order */
	i_assert(count == 0 || migrate_match_imap_get(match, count-1)->uid < uid);

	msg = array_append_space(&match->imap);
	msg->idx = count;
	msg->uid = uid;
	msg->size = size;
}

void migrate_match_add_known(struct migrate_match *match, const char *uidl,
			     uint32_t uid, enum migrate_match_method method)
{
	struct migrate_match_cached *cached;

	i_assert(!match->cheap_done);
	i_assert(method == MIGRATE_MATCH_CACHED ||
		 method == MIGRATE_MATCH_FORMULA);

	if (uidl == NULL || uidl[0] == '\0')
		return;
	cached = array_append_space(&match->cached);
	/* not copied: one copy of a UIDL per session (the formula's
	   and the cache's UIDLs are in the caller's pool already) */
	cached->uidl = uidl;
	cached->uid = uid;
	cached->method = method;
}

void
migrate_match_pair(struct migrate_match *match, unsigned int pop3_idx,
		   unsigned int imap_idx, enum migrate_match_method method)
{
	struct migrate_match_pop3 *pmsg = migrate_match_pop3_get(match, pop3_idx);
	struct migrate_match_imap *imsg = migrate_match_imap_get(match, imap_idx);

	i_assert(pmsg->method == MIGRATE_MATCH_NONE);
	i_assert(imsg->method == MIGRATE_MATCH_NONE);
	i_assert(pmsg->msg->uidl[0] != '\0');

	pmsg->method = method;
	pmsg->imap_idx = imap_idx;
	pmsg->reason = MIGRATE_UNMATCHED_NONE;
	imsg->method = method;
	imsg->pop3_idx = pop3_idx;
	imsg->reason = MIGRATE_UNMATCHED_NONE;
}

static int
migrate_match_imap_uid_cmp(const uint32_t *uid,
			   const struct migrate_match_imap *msg)
{
	if (*uid < msg->uid)
		return -1;
	if (*uid > msg->uid)
		return 1;
	return 0;
}

static struct migrate_match_imap *
migrate_match_imap_find(struct migrate_match *match, uint32_t uid)
{
	return array_bsearch_modifiable(&match->imap, &uid,
					migrate_match_imap_uid_cmp);
}

bool
migrate_match_size_within(const struct migrate_match_settings *set,
			  uoff_t size1, uoff_t size2)
{
	uoff_t big = I_MAX(size1, size2), small = I_MIN(size1, size2);
	uoff_t slack;

	/* written so that it can't overflow */
	slack = big / 1000 * set->size_tolerance_permille +
		big % 1000 * set->size_tolerance_permille / 1000;
	return big - small <= slack ||
		big - small - slack <= set->size_tolerance_bytes;
}

/* POP3 index, IMAP index, method */
typedef unsigned int migrate_match_idx_pair_t[3];
ARRAY_DEFINE_TYPE(migrate_match_idx_pair, migrate_match_idx_pair_t);

static void migrate_match_apply_cache(struct migrate_match *match)
{
	HASH_TABLE(const char *, void *) uidls;
	const struct migrate_match_pop3 *pmsg;
	const struct migrate_match_cached *cached;
	struct migrate_match_imap *imsg;
	ARRAY_TYPE(migrate_match_idx_pair) pairs;
	const migrate_match_idx_pair_t *pairp;
	migrate_match_idx_pair_t pair;
	bool *pop3_used, *imap_used;
	void *value;
	unsigned int pop3_idx;

	if (array_count(&match->cached) == 0 || array_count(&match->pop3) == 0)
		return;

	/* value = POP3 index + 1; a UIDL the server gives to several
	   messages can't say which one a cached pair meant */
	hash_table_create(&uidls, default_pool, array_count(&match->pop3),
			  str_hash, strcmp);
	array_foreach(&match->pop3, pmsg) {
		if (pmsg->msg->uidl[0] == '\0')
			continue;
		if (hash_table_lookup(uidls, pmsg->msg->uidl) != NULL) {
			hash_table_update(uidls, pmsg->msg->uidl,
					  POINTER_CAST(UINT_MAX));
		} else {
			hash_table_insert(uidls, pmsg->msg->uidl,
					  POINTER_CAST(pmsg->idx + 1));
		}
	}

	/* the pairs to apply: the first for each UIDL and each UID */
	t_array_init(&pairs, array_count(&match->cached));
	pop3_used = t_new(bool, array_count(&match->pop3));
	imap_used = t_new(bool, array_count(&match->imap));
	array_foreach(&match->cached, cached) {
		value = hash_table_lookup(uidls, cached->uidl);
		pop3_idx = POINTER_CAST_TO(value, unsigned int);
		if (pop3_idx == 0 || pop3_idx == UINT_MAX)
			continue;
		pop3_idx--;
		imsg = migrate_match_imap_find(match, cached->uid);
		if (imsg == NULL || pop3_used[pop3_idx] ||
		    imap_used[imsg->idx])
			continue;
		/* a server that renumbers its messages without a new
		   UIDVALIDITY (Courier without its UID database) gives a
		   UID to another message: then a cached pair names
		   messages of other sizes, and none can be trusted */
		pmsg = migrate_match_pop3_get(match, pop3_idx);
		if (cached->method == MIGRATE_MATCH_CACHED &&
		    !migrate_match_size_within(&match->set, pmsg->msg->size,
					       imsg->size)) {
			match->cache_distrusted = TRUE;
			array_clear(&pairs);
			break;
		}
		pop3_used[pop3_idx] = TRUE;
		imap_used[imsg->idx] = TRUE;
		pair[0] = pop3_idx;
		pair[1] = imsg->idx;
		pair[2] = cached->method;
		array_push_back(&pairs, &pair);
	}
	array_foreach(&pairs, pairp) {
		migrate_match_pair(match, (*pairp)[0], (*pairp)[1],
				   (*pairp)[2]);
	}
	hash_table_destroy(&uidls);
}

static bool
migrate_match_needs_ident(enum migrate_match_method method,
			  enum migrate_unmatched_reason reason)
{
	return method == MIGRATE_MATCH_NONE &&
		reason == MIGRATE_UNMATCHED_NONE;
}

static void migrate_match_need_init(struct migrate_match *match)
{
	struct migrate_match_pop3 *pmsg;
	const struct migrate_match_imap *imsg;
	unsigned int pop3_count = 0, imap_count = 0;
	uint32_t idx;

	array_foreach_modifiable(&match->pop3, pmsg) {
		if (!migrate_match_needs_ident(pmsg->method, pmsg->reason))
			continue;
		/* what an earlier matcher of the caller's list learnt */
		if (pmsg->msg->unreadable)
			pmsg->reason = MIGRATE_UNMATCHED_UNREADABLE;
		else if (pmsg->msg->have_ident)
			match->pop3_idents_known++;
		else
			pop3_count++;
	}
	array_foreach(&match->imap, imsg) {
		if (migrate_match_needs_ident(imsg->method, imsg->reason))
			imap_count++;
	}

	p_array_init(&match->need_pop3, match->pool, I_MAX(pop3_count, 1));
	p_array_init(&match->need_imap, match->pool, I_MAX(imap_count, 1));
	array_foreach_modifiable(&match->pop3, pmsg) {
		if (migrate_match_needs_ident(pmsg->method, pmsg->reason) &&
		    !pmsg->msg->have_ident) {
			idx = pmsg->idx;
			array_push_back(&match->need_pop3, &idx);
		}
	}
	array_foreach(&match->imap, imsg) {
		if (migrate_match_needs_ident(imsg->method, imsg->reason)) {
			idx = imsg->idx;
			array_push_back(&match->need_imap, &idx);
		}
	}
}

void migrate_match_run_cheap(struct migrate_match *match)
{
	i_assert(!match->cheap_done);

	migrate_match_apply_cache(match);
	array_free(&match->cached);
	if (!match->set.skip_size_match)
		migrate_match_by_size(match);
	migrate_match_need_init(match);
	match->cheap_done = TRUE;
}

const ARRAY_TYPE(uint32_t) *
migrate_match_need_pop3_ident(struct migrate_match *match)
{
	i_assert(match->cheap_done);
	return &match->need_pop3;
}

const ARRAY_TYPE(uint32_t) *
migrate_match_need_imap_ident(struct migrate_match *match)
{
	i_assert(match->cheap_done);
	return &match->need_imap;
}

static void
migrate_match_ident_copy(pool_t pool, struct migrate_msg_ident *dest,
			 const struct migrate_msg_ident *src)
{
	*dest = *src;
	dest->message_id = p_strdup(pool, src->message_id);
	dest->from = p_strdup(pool, src->from);
	dest->subject = p_strdup(pool, src->subject);
}

/* Most messages never need their header read: the ident is allocated
   only for those that do, keeping the per-message records small. */
static const struct migrate_msg_ident *
migrate_match_ident_dup(pool_t pool, const struct migrate_msg_ident *src)
{
	struct migrate_msg_ident *dest = p_new(pool, struct migrate_msg_ident, 1);

	migrate_match_ident_copy(pool, dest, src);
	return dest;
}

void migrate_match_set_pop3_ident(struct migrate_match *match,
				  unsigned int idx,
				  const struct migrate_msg_ident *ident)
{
	struct migrate_pop3_msg *msg = migrate_match_pop3_get(match, idx)->msg;

	i_assert(!match->full_done);
	msg->ident = migrate_match_ident_dup(match->pop3_pool, ident);
	msg->have_ident = TRUE;
	match->pop3_idents_given++;
}

void migrate_match_set_imap_ident(struct migrate_match *match,
				  unsigned int idx,
				  const struct migrate_msg_ident *ident)
{
	struct migrate_match_imap *msg = migrate_match_imap_get(match, idx);

	i_assert(!match->full_done);
	msg->ident = migrate_match_ident_dup(match->pool, ident);
	msg->have_ident = TRUE;
}

void migrate_match_set_pop3_unreadable(struct migrate_match *match,
				       unsigned int idx)
{
	struct migrate_match_pop3 *pmsg = migrate_match_pop3_get(match, idx);

	i_assert(!match->full_done);
	pmsg->msg->unreadable = TRUE;
	if (pmsg->method == MIGRATE_MATCH_NONE &&
	    pmsg->reason == MIGRATE_UNMATCHED_NONE)
		pmsg->reason = MIGRATE_UNMATCHED_UNREADABLE;
}

void migrate_match_set_imap_unreadable(struct migrate_match *match,
				       unsigned int idx)
{
	struct migrate_match_imap *msg = migrate_match_imap_get(match, idx);

	i_assert(!match->full_done);
	if (msg->method == MIGRATE_MATCH_NONE &&
	    msg->reason == MIGRATE_UNMATCHED_NONE)
		msg->reason = MIGRATE_UNMATCHED_UNREADABLE;
}

void migrate_match_run_full(struct migrate_match *match)
{
	struct migrate_match_pop3 *pmsg;
	struct migrate_match_imap *imsg;

	i_assert(match->cheap_done);
	i_assert(!match->full_done);

	migrate_match_by_hash(match, TRUE);
	migrate_match_by_fields(match);
	migrate_match_by_hash(match, FALSE);
	migrate_match_by_order(match);

	array_foreach_modifiable(&match->pop3, pmsg) {
		if (pmsg->method == MIGRATE_MATCH_NONE) {
			pmsg->reason = migrate_match_final_reason(
				pmsg->reason, pmsg->msg->have_ident);
		}
	}
	array_foreach_modifiable(&match->imap, imsg) {
		if (imsg->method == MIGRATE_MATCH_NONE) {
			imsg->reason = migrate_match_final_reason(
				imsg->reason, imsg->have_ident);
		}
	}
	match->full_done = TRUE;
}

const ARRAY_TYPE(migrate_match_pop3) *
migrate_match_get_pop3(struct migrate_match *match)
{
	return &match->pop3;
}

const ARRAY_TYPE(migrate_match_imap) *
migrate_match_get_imap(struct migrate_match *match)
{
	return &match->imap;
}

const struct migrate_match_pop3 *
migrate_match_get_pop3_for_uid(struct migrate_match *match, uint32_t uid)
{
	const struct migrate_match_imap *imsg;

	imsg = migrate_match_imap_find(match, uid);
	if (imsg == NULL || imsg->method == MIGRATE_MATCH_NONE)
		return NULL;
	return array_idx(&match->pop3, imsg->pop3_idx);
}

static void
migrate_match_stats_add(struct migrate_match_stats *stats,
			enum migrate_match_method method)
{
	switch (method) {
	case MIGRATE_MATCH_NONE:
		stats->pop3_unmatched++;
		break;
	case MIGRATE_MATCH_CACHED:
		stats->matched_cached++;
		break;
	case MIGRATE_MATCH_SIZE:
		stats->matched_size++;
		break;
	case MIGRATE_MATCH_HASH:
		stats->matched_hash++;
		break;
	case MIGRATE_MATCH_FIELDS:
		stats->matched_fields++;
		break;
	case MIGRATE_MATCH_ORDER:
		stats->matched_order++;
		break;
	case MIGRATE_MATCH_FORMULA:
		stats->matched_formula++;
		break;
	}
}

void migrate_match_get_stats(struct migrate_match *match,
			     struct migrate_match_stats *stats_r)
{
	const struct migrate_match_pop3 *pmsg;
	const struct migrate_match_imap *imsg;

	i_zero(stats_r);
	stats_r->cache_distrusted = match->cache_distrusted;
	stats_r->pop3_count = array_count(&match->pop3);
	stats_r->imap_count = array_count(&match->imap);
	/* pairs are counted once, from the POP3 side */
	array_foreach(&match->pop3, pmsg)
		migrate_match_stats_add(stats_r, pmsg->method);
	/* the headers this matcher needed (read for it or before) */
	stats_r->pop3_idents = match->pop3_idents_known +
		match->pop3_idents_given;
	array_foreach(&match->imap, imsg) {
		if (imsg->method == MIGRATE_MATCH_NONE)
			stats_r->imap_unmatched++;
		if (imsg->have_ident)
			stats_r->imap_idents++;
	}
}

const char *migrate_match_method_name(enum migrate_match_method method)
{
	switch (method) {
	case MIGRATE_MATCH_NONE:
		return "none";
	case MIGRATE_MATCH_CACHED:
		return "cached";
	case MIGRATE_MATCH_SIZE:
		return "size";
	case MIGRATE_MATCH_HASH:
		return "hash";
	case MIGRATE_MATCH_FIELDS:
		return "fields";
	case MIGRATE_MATCH_ORDER:
		return "order";
	case MIGRATE_MATCH_FORMULA:
		return "formula";
	}
	return "unknown";
}

const char *migrate_match_reason_name(enum migrate_unmatched_reason reason)
{
	switch (reason) {
	case MIGRATE_UNMATCHED_NONE:
		return "none";
	case MIGRATE_UNMATCHED_NO_CANDIDATE:
		return "no-candidate";
	case MIGRATE_UNMATCHED_AMBIGUOUS:
		return "ambiguous";
	case MIGRATE_UNMATCHED_UNREADABLE:
		return "unreadable";
	case MIGRATE_UNMATCHED_NO_UIDL:
		return "no-uidl";
	}
	return "unknown";
}
