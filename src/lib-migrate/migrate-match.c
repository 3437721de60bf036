/* Copyright (c) 2026 dovecot-migrate authors */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "migrate-match.h"

/* A size pairs two messages at the same position only if no message within
   this distance in either list has the same size. Distance 1 catches a
   list shifted by one message (an extra message on one side); distance 2
   also catches a shift by two in mailboxes where two kinds of fixed-size
   messages alternate (monitoring alerts and recoveries). */
#define MIGRATE_MATCH_SIZE_NEIGHBOURS 2
/* How many messages on each side of a disagreement between the lists
   are paired only by their header */
#define MIGRATE_MATCH_SIZE_CONFIRM 2
/* After a size mismatch the walk over both lists may continue further on:
   at most this many messages are skipped on each side, and the lists must
   then agree on the sizes of this many messages in a row... */
#define MIGRATE_MATCH_RESYNC_MAX_SKIP 64
#define MIGRATE_MATCH_RESYNC_RUN 3
/* ...one of which appears nowhere else this close by in either list, so
   that a repeating pattern of sizes can't fake the alignment. */
#define MIGRATE_MATCH_RESYNC_DISTINCT \
	(2 * MIGRATE_MATCH_RESYNC_MAX_SKIP + MIGRATE_MATCH_RESYNC_RUN)
/* The fallback gives up (AMBIGUOUS) on a message once it has looked at this
   many same-field entries without deciding, so that pathological mailboxes
   (thousands of copies of one message) stay linear. */
#define MIGRATE_MATCH_FALLBACK_MAX_SCAN 1000

struct migrate_match_cached {
	const char *uidl;
	uint32_t uid;
	/* MIGRATE_MATCH_CACHED or MIGRATE_MATCH_FORMULA */
	enum migrate_match_method method;
};

/* Entry of the sorted header-hash lists */
struct migrate_match_hash_entry {
	const unsigned char *hash;
	uoff_t size;
	unsigned int idx;
};
ARRAY_DEFINE_TYPE(migrate_match_hash_entry, struct migrate_match_hash_entry);

/* One member of an identical-hash group */
struct migrate_match_group_member {
	unsigned int idx;
	uoff_t size;
	bool paired:1;
};
ARRAY_DEFINE_TYPE(migrate_match_group_member,
		  struct migrate_match_group_member);

/* Entry of the fallback's sorted field lists */
struct migrate_match_field_entry {
	const struct migrate_msg_ident *ident;
	uoff_t size;
	unsigned int idx;
};
ARRAY_DEFINE_TYPE(migrate_match_field_entry, struct migrate_match_field_entry);

/* The fallback's view of one side: entries with a Message-ID sorted by
   (From, Subject, Message-ID, size), entries with a Date sorted by
   (From, Subject, Date, size). */
struct migrate_match_field_index {
	ARRAY_TYPE(migrate_match_field_entry) all;
	ARRAY_TYPE(migrate_match_field_entry) by_id;
	ARRAY_TYPE(migrate_match_field_entry) by_date;
};

typedef int
migrate_match_field_cmp_t(const struct migrate_match_field_entry *e1,
			  const struct migrate_match_field_entry *e2);

/* Fallback candidates of one message: count is 0, 1 or 2 (= several) */
struct migrate_match_candidates {
	unsigned int count;
	unsigned int idx;
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

	bool cheap_done:1;
	bool full_done:1;
};

static struct migrate_match_pop3 *
migrate_match_pop3_get(struct migrate_match *match, unsigned int idx)
{
	return array_idx_modifiable(&match->pop3, idx);
}

static struct migrate_match_imap *
migrate_match_imap_get(struct migrate_match *match, unsigned int idx)
{
	return array_idx_modifiable(&match->imap, idx);
}

struct migrate_match *
migrate_match_init(pool_t pool, const struct migrate_match_settings *set)
{
	struct migrate_match *match;

	pool_ref(pool);
	match = p_new(pool, struct migrate_match, 1);
	match->pool = pool;
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

void migrate_match_add_pop3(struct migrate_match *match, uint32_t seq,
			    const char *uidl, uoff_t size)
{
	struct migrate_match_pop3 *msg;

	i_assert(!match->cheap_done);

	msg = array_append_space(&match->pop3);
	msg->idx = array_count(&match->pop3) - 1;
	msg->seq = seq;
	msg->uidl = p_strdup(match->pool, uidl == NULL ? "" : uidl);
	msg->size = size;
	if (msg->uidl[0] == '\0')
		msg->reason = MIGRATE_UNMATCHED_NO_UIDL;
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
	cached->uidl = p_strdup(match->pool, uidl);
	cached->uid = uid;
	cached->method = method;
}

static void
migrate_match_pair(struct migrate_match *match, unsigned int pop3_idx,
		   unsigned int imap_idx, enum migrate_match_method method)
{
	struct migrate_match_pop3 *pmsg = migrate_match_pop3_get(match, pop3_idx);
	struct migrate_match_imap *imsg = migrate_match_imap_get(match, imap_idx);

	i_assert(pmsg->method == MIGRATE_MATCH_NONE);
	i_assert(imsg->method == MIGRATE_MATCH_NONE);
	i_assert(pmsg->uidl[0] != '\0');

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
	return array_bsearch(&match->imap, &uid, migrate_match_imap_uid_cmp);
}

static bool
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
		if (pmsg->uidl[0] == '\0')
			continue;
		if (hash_table_lookup(uidls, pmsg->uidl) != NULL) {
			hash_table_update(uidls, pmsg->uidl,
					  POINTER_CAST(UINT_MAX));
		} else {
			hash_table_insert(uidls, pmsg->uidl,
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
		    !migrate_match_size_within(&match->set, pmsg->size,
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

/* The still unmatched messages of one list, in list order */
struct migrate_match_size_list {
	unsigned int *idx;
	uoff_t *sizes;
	unsigned int count;
};

/* One walk over both lists: walk position k is list position start + k,
   or start - k when walking backward from the ends. */
struct migrate_match_size_walk {
	struct migrate_match *match;
	const struct migrate_match_size_list *pop3, *imap;
	unsigned int pop3_start, pop3_len;
	unsigned int imap_start, imap_len;
	bool backward;
};

static unsigned int
migrate_match_walk_pop3_pos(const struct migrate_match_size_walk *walk,
			    unsigned int k)
{
	return walk->backward ? walk->pop3_start - k : walk->pop3_start + k;
}

static unsigned int
migrate_match_walk_imap_pos(const struct migrate_match_size_walk *walk,
			    unsigned int k)
{
	return walk->backward ? walk->imap_start - k : walk->imap_start + k;
}

static uoff_t
migrate_match_walk_pop3_size(const struct migrate_match_size_walk *walk,
			     unsigned int k)
{
	return walk->pop3->sizes[migrate_match_walk_pop3_pos(walk, k)];
}

static uoff_t
migrate_match_walk_imap_size(const struct migrate_match_size_walk *walk,
			     unsigned int k)
{
	return walk->imap->sizes[migrate_match_walk_imap_pos(walk, k)];
}

/* Returns TRUE if no other message within distance of pos has the same
   size. */
static bool
migrate_match_size_is_unique(const struct migrate_match_size_list *list,
			     unsigned int pos, unsigned int distance)
{
	uoff_t size = list->sizes[pos];
	unsigned int d;

	for (d = 1; d <= distance; d++) {
		if (pos >= d && list->sizes[pos - d] == size)
			return FALSE;
		if (pos + d < list->count && list->sizes[pos + d] == size)
			return FALSE;
	}
	return TRUE;
}

static void
migrate_match_size_pos(const struct migrate_match_size_walk *walk,
		       unsigned int pk, unsigned int ik)
{
	unsigned int ppos = migrate_match_walk_pop3_pos(walk, pk);
	unsigned int ipos = migrate_match_walk_imap_pos(walk, ik);
	struct migrate_match *match = walk->match;
	unsigned int pop3_idx = walk->pop3->idx[ppos];
	unsigned int imap_idx = walk->imap->idx[ipos];

	i_assert(walk->pop3->sizes[ppos] == walk->imap->sizes[ipos]);

	if (!migrate_match_size_is_unique(walk->pop3, ppos,
					  MIGRATE_MATCH_SIZE_NEIGHBOURS) ||
	    !migrate_match_size_is_unique(walk->imap, ipos,
					  MIGRATE_MATCH_SIZE_NEIGHBOURS))
		return;

	if (migrate_match_pop3_get(match, pop3_idx)->uidl[0] != '\0') {
		migrate_match_pair(match, pop3_idx, imap_idx,
				   MIGRATE_MATCH_SIZE);
	} else {
		/* We know which IMAP message it is, and that it can't get
		   a UIDL: say so instead of reading its header. */
		migrate_match_imap_get(match, imap_idx)->reason =
			MIGRATE_UNMATCHED_NO_UIDL;
	}
}

/* Returns the length of the run of same sizes starting at walk positions
   pk/ik, or 0 if there's none: RESYNC_RUN messages, or fewer if that is
   where both lists end together. */
static unsigned int
migrate_match_size_run_length(const struct migrate_match_size_walk *walk,
			      unsigned int pk, unsigned int ik)
{
	unsigned int i, len = MIGRATE_MATCH_RESYNC_RUN;

	if (pk >= walk->pop3_len || ik >= walk->imap_len)
		return 0;
	if (pk + len > walk->pop3_len || ik + len > walk->imap_len) {
		if (walk->pop3_len - pk != walk->imap_len - ik)
			return 0;
		len = walk->pop3_len - pk;
	}
	for (i = 0; i < len; i++) {
		if (migrate_match_walk_pop3_size(walk, pk + i) !=
		    migrate_match_walk_imap_size(walk, ik + i))
			return 0;
	}
	return len;
}

static bool
migrate_match_size_run_is_distinct(const struct migrate_match_size_walk *walk,
				   unsigned int pk, unsigned int ik,
				   unsigned int len)
{
	unsigned int i, ppos, ipos;

	for (i = 0; i < len; i++) {
		ppos = migrate_match_walk_pop3_pos(walk, pk + i);
		ipos = migrate_match_walk_imap_pos(walk, ik + i);
		if (migrate_match_size_is_unique(walk->pop3, ppos,
						 MIGRATE_MATCH_RESYNC_DISTINCT) &&
		    migrate_match_size_is_unique(walk->imap, ipos,
						 MIGRATE_MATCH_RESYNC_DISTINCT))
			return TRUE;
	}
	return FALSE;
}

/* The lists disagree at walk positions pk/ik: messages are missing on one
   side or their sizes differ. Find the nearest point (fewest messages
   skipped on both sides together) where the sizes agree again for a run of
   messages. Two such points at the same distance on different alignments,
   or a run of sizes that repeat nearby, mean the sizes can't tell: give up
   rather than guess. A wrong alignment within reach would need the sizes
   to repeat at that lag, which the distinctness check rules out. */
static bool
migrate_match_size_resync(const struct migrate_match_size_walk *walk,
			  unsigned int *pk, unsigned int *ik)
{
	const unsigned int max_skip = MIGRATE_MATCH_RESYNC_MAX_SKIP;
	unsigned int skip, a, b, len, found = 0, found_a = 0, found_b = 0;
	unsigned int found_len = 0;

	for (skip = 1; skip <= 2 * max_skip && found == 0; skip++) {
		for (a = skip > max_skip ? skip - max_skip : 0;
		     a <= skip && a <= max_skip; a++) {
			b = skip - a;
			len = migrate_match_size_run_length(walk, *pk + a,
							    *ik + b);
			if (len > 0) {
				found++;
				found_a = a;
				found_b = b;
				found_len = len;
			}
		}
	}
	if (found != 1 ||
	    !migrate_match_size_run_is_distinct(walk, *pk + found_a,
						*ik + found_b, found_len))
		return FALSE;
	*pk += found_a;
	*ik += found_b;
	return TRUE;
}

/* Walk both lists in lockstep, pairing same-size messages. Returns how far
   it got in each. */
static void
migrate_match_size_walk(const struct migrate_match_size_walk *walk,
			unsigned int *pop3_done_r, unsigned int *imap_done_r)
{
	unsigned int pk = 0, ik = 0, n, i, next_pk, next_ik;
	unsigned int lead_unconfirmed = 0, unconfirmed;
	bool done;

	for (;;) {
		for (n = 0; pk + n < walk->pop3_len &&
			    ik + n < walk->imap_len; n++) {
			if (migrate_match_walk_pop3_size(walk, pk + n) !=
			    migrate_match_walk_imap_size(walk, ik + n))
				break;
		}
		next_pk = pk + n;
		next_ik = ik + n;
		/* Where the lists disagree, a message on one side only
		   whose size happens to be that of the other side's message
		   at its position looks just like a match, and it can't be
		   told where exactly the disagreement starts: the messages
		   next to it count only with their header. */
		unconfirmed = MIGRATE_MATCH_SIZE_CONFIRM;
		if (next_pk == walk->pop3_len && next_ik == walk->imap_len) {
			unconfirmed = 0;
			done = TRUE;
		} else if (next_pk == walk->pop3_len ||
			   next_ik == walk->imap_len) {
			done = TRUE;
		} else {
			done = !migrate_match_size_resync(walk, &next_pk,
							  &next_ik);
		}
		for (i = lead_unconfirmed; i + unconfirmed < n; i++)
			migrate_match_size_pos(walk, pk + i, ik + i);
		lead_unconfirmed = unconfirmed;
		if (done) {
			*pop3_done_r = pk + n;
			*imap_done_r = ik + n;
			break;
		}
		pk = next_pk;
		ik = next_ik;
	}
}

static void
migrate_match_size_list_init(struct migrate_match_size_list *list,
			     unsigned int max_count)
{
	list->idx = i_new(unsigned int, max_count + 1);
	list->sizes = i_new(uoff_t, max_count + 1);
	list->count = 0;
}

static void
migrate_match_size_list_add(struct migrate_match_size_list *list,
			    unsigned int idx, uoff_t size)
{
	list->idx[list->count] = idx;
	list->sizes[list->count++] = size;
}

static void
migrate_match_size_list_deinit(struct migrate_match_size_list *list)
{
	i_free(list->idx);
	i_free(list->sizes);
}

/* Pair by position and size. The start and the end of the lists anchor
   the alignment: walk forward from the start, and from the ends backward
   over what the forward walk didn't reach, so that an extra message and
   new mail at the end leave only themselves for the header hash. */
static void migrate_match_by_size(struct migrate_match *match)
{
	struct migrate_match_size_list pop3, imap;
	struct migrate_match_size_walk walk;
	const struct migrate_match_pop3 *pmsg;
	const struct migrate_match_imap *imsg;
	unsigned int pop3_done, imap_done, unused;

	/* What the cache paired is left out so that positions stay
	   aligned. */
	migrate_match_size_list_init(&pop3, array_count(&match->pop3));
	migrate_match_size_list_init(&imap, array_count(&match->imap));
	array_foreach(&match->pop3, pmsg) {
		if (pmsg->method == MIGRATE_MATCH_NONE)
			migrate_match_size_list_add(&pop3, pmsg->idx, pmsg->size);
	}
	array_foreach(&match->imap, imsg) {
		if (imsg->method == MIGRATE_MATCH_NONE)
			migrate_match_size_list_add(&imap, imsg->idx, imsg->size);
	}

	i_zero(&walk);
	walk.match = match;
	walk.pop3 = &pop3;
	walk.imap = &imap;
	walk.pop3_len = pop3.count;
	walk.imap_len = imap.count;
	migrate_match_size_walk(&walk, &pop3_done, &imap_done);

	if (pop3_done < pop3.count && imap_done < imap.count) {
		walk.backward = TRUE;
		walk.pop3_start = pop3.count - 1;
		walk.pop3_len = pop3.count - pop3_done;
		walk.imap_start = imap.count - 1;
		walk.imap_len = imap.count - imap_done;
		migrate_match_size_walk(&walk, &unused, &unused);
	}
	migrate_match_size_list_deinit(&pop3);
	migrate_match_size_list_deinit(&imap);
}

/* Not paired and nothing known that rules it out: its header is needed */
static bool
migrate_match_needs_ident(enum migrate_match_method method,
			  enum migrate_unmatched_reason reason)
{
	return method == MIGRATE_MATCH_NONE &&
		reason == MIGRATE_UNMATCHED_NONE;
}

static void migrate_match_need_init(struct migrate_match *match)
{
	const struct migrate_match_pop3 *pmsg;
	const struct migrate_match_imap *imsg;
	unsigned int pop3_count = 0, imap_count = 0;
	uint32_t idx;

	array_foreach(&match->pop3, pmsg) {
		if (migrate_match_needs_ident(pmsg->method, pmsg->reason))
			pop3_count++;
	}
	array_foreach(&match->imap, imsg) {
		if (migrate_match_needs_ident(imsg->method, imsg->reason))
			imap_count++;
	}

	p_array_init(&match->need_pop3, match->pool, I_MAX(pop3_count, 1));
	p_array_init(&match->need_imap, match->pool, I_MAX(imap_count, 1));
	array_foreach(&match->pop3, pmsg) {
		if (migrate_match_needs_ident(pmsg->method, pmsg->reason)) {
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
	struct migrate_match_pop3 *msg = migrate_match_pop3_get(match, idx);

	i_assert(!match->full_done);
	msg->ident = migrate_match_ident_dup(match->pool, ident);
	msg->have_ident = TRUE;
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
	struct migrate_match_pop3 *msg = migrate_match_pop3_get(match, idx);

	i_assert(!match->full_done);
	if (msg->method == MIGRATE_MATCH_NONE &&
	    msg->reason == MIGRATE_UNMATCHED_NONE)
		msg->reason = MIGRATE_UNMATCHED_UNREADABLE;
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

/*
 * Header hash groups
 */

static int
migrate_match_hash_entry_cmp(const struct migrate_match_hash_entry *e1,
			     const struct migrate_match_hash_entry *e2)
{
	int ret = memcmp(e1->hash, e2->hash, MIGRATE_HEADER_HASH_LEN);

	if (ret != 0)
		return ret;
	return e1->idx < e2->idx ? -1 : (e1->idx > e2->idx ? 1 : 0);
}

static int
migrate_match_group_member_size_cmp(const struct migrate_match_group_member *m1,
				    const struct migrate_match_group_member *m2)
{
	if (m1->size != m2->size)
		return m1->size < m2->size ? -1 : 1;
	return m1->idx < m2->idx ? -1 : (m1->idx > m2->idx ? 1 : 0);
}

static int
migrate_match_group_member_idx_cmp(const struct migrate_match_group_member *m1,
				   const struct migrate_match_group_member *m2)
{
	return m1->idx < m2->idx ? -1 : (m1->idx > m2->idx ? 1 : 0);
}

/* Remove the members paired so far and restore list order. */
static void
migrate_match_group_compact(ARRAY_TYPE(migrate_match_group_member) *members)
{
	struct migrate_match_group_member *m;
	unsigned int i, count, left = 0;

	m = array_get_modifiable(members, &count);
	for (i = 0; i < count; i++) {
		if (!m[i].paired)
			m[left++] = m[i];
	}
	array_delete(members, left, count - left);
	array_sort(members, migrate_match_group_member_idx_cmp);
}

/* Pair members whose size occurs exactly once in the group on each side:
   with identical headers, an exactly equal size is what tells the bodies
   apart, whatever the order. */
static void
migrate_match_group_by_size(struct migrate_match *match,
			    ARRAY_TYPE(migrate_match_group_member) *pop3,
			    ARRAY_TYPE(migrate_match_group_member) *imap)
{
	struct migrate_match_group_member *pm, *im;
	unsigned int pcount, icount, pi = 0, ii = 0, pn, in;

	array_sort(pop3, migrate_match_group_member_size_cmp);
	array_sort(imap, migrate_match_group_member_size_cmp);
	pm = array_get_modifiable(pop3, &pcount);
	im = array_get_modifiable(imap, &icount);
	while (pi < pcount && ii < icount) {
		if (pm[pi].size < im[ii].size) {
			pi++;
			continue;
		}
		if (pm[pi].size > im[ii].size) {
			ii++;
			continue;
		}
		for (pn = 1; pi + pn < pcount; pn++) {
			if (pm[pi + pn].size != pm[pi].size)
				break;
		}
		for (in = 1; ii + in < icount; in++) {
			if (im[ii + in].size != im[ii].size)
				break;
		}
		if (pn == 1 && in == 1) {
			migrate_match_pair(match, pm[pi].idx, im[ii].idx,
					   MIGRATE_MATCH_HASH);
			pm[pi].paired = TRUE;
			im[ii].paired = TRUE;
		}
		pi += pn;
		ii += in;
	}
	migrate_match_group_compact(pop3);
	migrate_match_group_compact(imap);
}

/* A swap of two differently sized duplicates shows up as different size
   differences between the k-th pairs; a server that adds the same bytes
   to every message (Return-Path, X-UIDL) doesn't. */
static bool
migrate_match_group_deltas_uniform(const struct migrate_match_group_member *pm,
				   const struct migrate_match_group_member *im,
				   unsigned int count)
{
	unsigned int i;

	for (i = 1; i < count; i++) {
		if (im[i].size + pm[0].size != pm[i].size + im[0].size)
			return FALSE;
	}
	return TRUE;
}

static void
migrate_match_group_add(ARRAY_TYPE(migrate_match_group_member) *members,
			const struct migrate_match_hash_entry *entries,
			unsigned int count)
{
	struct migrate_match_group_member *member;
	unsigned int i;

	for (i = 0; i < count; i++) {
		member = array_append_space(members);
		member->idx = entries[i].idx;
		member->size = entries[i].size;
	}
}

/* One group of messages with the same header hash on both sides, each
   side in list order. The rule:
   1. A single message on each side is paired, whatever the sizes (like
      the built-in plugin: a unique identical header is the evidence).
   2. Otherwise members whose size occurs exactly once on each side are
      paired by that size.
   3. The rest is paired k-th with k-th only if both sides have the same
      number left (which holds exactly when the group had equal counts)
      and every pair differs in size by the same amount.
   Anything left on both sides stays unpaired: with unequal counts the
   order can't tell which message lacks its counterpart, so nothing is
   guessed. The tolerant fallback may still pair some of them by size;
   migrate_match_hash_mark_ambiguous() reports the rest. */
static void
migrate_match_hash_group(struct migrate_match *match,
			 const struct migrate_match_hash_entry *pop3_entries,
			 unsigned int pop3_count,
			 const struct migrate_match_hash_entry *imap_entries,
			 unsigned int imap_count)
{
	ARRAY_TYPE(migrate_match_group_member) pop3, imap;
	const struct migrate_match_group_member *pm, *im;
	unsigned int i, pcount, icount;

	if (pop3_count == 1 && imap_count == 1) {
		migrate_match_pair(match, pop3_entries[0].idx,
				   imap_entries[0].idx, MIGRATE_MATCH_HASH);
		return;
	}

	t_array_init(&pop3, pop3_count);
	t_array_init(&imap, imap_count);
	migrate_match_group_add(&pop3, pop3_entries, pop3_count);
	migrate_match_group_add(&imap, imap_entries, imap_count);
	migrate_match_group_by_size(match, &pop3, &imap);

	pm = array_get(&pop3, &pcount);
	im = array_get(&imap, &icount);
	if (pcount == 0 || pcount != icount ||
	    !migrate_match_group_deltas_uniform(pm, im, pcount))
		return;
	for (i = 0; i < pcount; i++) {
		migrate_match_pair(match, pm[i].idx, im[i].idx,
				   MIGRATE_MATCH_HASH);
	}
}

/* Still unpaired on both sides with an identical header: any of them
   could be any of the others. */
static void
migrate_match_hash_mark_ambiguous(struct migrate_match *match,
				  const struct migrate_match_hash_entry *pop3,
				  unsigned int pop3_count,
				  const struct migrate_match_hash_entry *imap,
				  unsigned int imap_count)
{
	unsigned int i;

	for (i = 0; i < pop3_count; i++) {
		migrate_match_pop3_get(match, pop3[i].idx)->reason =
			MIGRATE_UNMATCHED_AMBIGUOUS;
	}
	for (i = 0; i < imap_count; i++) {
		migrate_match_imap_get(match, imap[i].idx)->reason =
			MIGRATE_UNMATCHED_AMBIGUOUS;
	}
}

/* Still unmatched and its header is known: may be paired in run_full().
   AMBIGUOUS is set only by run_full() itself and keeps it open. */
static bool
migrate_match_is_open(enum migrate_match_method method,
		      enum migrate_unmatched_reason reason, bool have_ident)
{
	return method == MIGRATE_MATCH_NONE && have_ident &&
		(reason == MIGRATE_UNMATCHED_NONE ||
		 reason == MIGRATE_UNMATCHED_AMBIGUOUS);
}

static void
migrate_match_hash_entry_add(ARRAY_TYPE(migrate_match_hash_entry) *entries,
			     const struct migrate_msg_ident *ident,
			     uoff_t size, unsigned int idx)
{
	struct migrate_match_hash_entry *entry;

	entry = array_append_space(entries);
	entry->hash = ident->hash;
	entry->size = size;
	entry->idx = idx;
}

static unsigned int
migrate_match_hash_run_length(const struct migrate_match_hash_entry *entries,
			      unsigned int count, unsigned int start)
{
	unsigned int n;

	for (n = 1; start + n < count; n++) {
		if (memcmp(entries[start].hash, entries[start + n].hash,
			   MIGRATE_HEADER_HASH_LEN) != 0)
			break;
	}
	return n;
}

/* Find the groups of open messages with the same header hash on both
   sides and pair them, or (pair = FALSE) mark what is left of them. */
static void migrate_match_by_hash(struct migrate_match *match, bool pair)
{
	ARRAY_TYPE(migrate_match_hash_entry) pop3, imap;
	const struct migrate_match_pop3 *pmsg;
	const struct migrate_match_imap *imsg;
	const struct migrate_match_hash_entry *pe, *ie;
	unsigned int pcount, icount, pi = 0, ii = 0, pn, in;
	int ret;

	i_array_init(&pop3, array_count(&match->need_pop3) + 1);
	i_array_init(&imap, array_count(&match->need_imap) + 1);
	array_foreach(&match->pop3, pmsg) {
		if (migrate_match_is_open(pmsg->method, pmsg->reason,
					  pmsg->have_ident)) {
			migrate_match_hash_entry_add(&pop3, pmsg->ident,
						     pmsg->size, pmsg->idx);
		}
	}
	array_foreach(&match->imap, imsg) {
		if (migrate_match_is_open(imsg->method, imsg->reason,
					  imsg->have_ident)) {
			migrate_match_hash_entry_add(&imap, imsg->ident,
						     imsg->size, imsg->idx);
		}
	}
	array_sort(&pop3, migrate_match_hash_entry_cmp);
	array_sort(&imap, migrate_match_hash_entry_cmp);

	pe = array_get(&pop3, &pcount);
	ie = array_get(&imap, &icount);
	while (pi < pcount && ii < icount) {
		ret = memcmp(pe[pi].hash, ie[ii].hash, MIGRATE_HEADER_HASH_LEN);
		if (ret < 0) {
			pi++;
			continue;
		}
		if (ret > 0) {
			ii++;
			continue;
		}
		pn = migrate_match_hash_run_length(pe, pcount, pi);
		in = migrate_match_hash_run_length(ie, icount, ii);
		if (!pair) {
			migrate_match_hash_mark_ambiguous(match, pe + pi, pn,
							  ie + ii, in);
		} else T_BEGIN {
			migrate_match_hash_group(match, pe + pi, pn,
						 ie + ii, in);
		} T_END;
		pi += pn;
		ii += in;
	}
	array_free(&pop3);
	array_free(&imap);
}

/*
 * Tolerant fallback
 */

static void
migrate_match_size_window(const struct migrate_match_settings *set,
			  uoff_t size, uoff_t *min_r, uoff_t *max_r)
{
	uoff_t slack;

	/* A superset of what migrate_match_size_within() accepts; each
	   entry in it is checked with that. */
	slack = size / 1000 * set->size_tolerance_permille +
		size % 1000 * set->size_tolerance_permille / 1000 +
		set->size_tolerance_bytes;
	*min_r = size > slack ? size - slack : 0;
	/* no upper bound needed for a permille of 1000 or absurd sizes */
	if (set->size_tolerance_permille >= 1000 ||
	    size > ((uoff_t)1 << 40))
		*max_r = (uoff_t)-1;
	else {
		*max_r = (size + set->size_tolerance_bytes) * 1000 /
			(1000 - set->size_tolerance_permille) + 1;
	}
}

static int migrate_match_field_str_cmp(const char *s1, const char *s2)
{
	/* a missing and an empty field are the same */
	return strcmp(s1 == NULL ? "" : s1, s2 == NULL ? "" : s2);
}

static int
migrate_match_field_id_key_cmp(const struct migrate_match_field_entry *e1,
			       const struct migrate_match_field_entry *e2)
{
	int ret;

	if ((ret = migrate_match_field_str_cmp(e1->ident->from,
					       e2->ident->from)) != 0)
		return ret;
	if ((ret = migrate_match_field_str_cmp(e1->ident->subject,
					       e2->ident->subject)) != 0)
		return ret;
	return migrate_match_field_str_cmp(e1->ident->message_id,
					   e2->ident->message_id);
}

static int
migrate_match_field_date_key_cmp(const struct migrate_match_field_entry *e1,
				 const struct migrate_match_field_entry *e2)
{
	int ret;

	if ((ret = migrate_match_field_str_cmp(e1->ident->from,
					       e2->ident->from)) != 0)
		return ret;
	if ((ret = migrate_match_field_str_cmp(e1->ident->subject,
					       e2->ident->subject)) != 0)
		return ret;
	if (e1->ident->date != e2->ident->date)
		return e1->ident->date < e2->ident->date ? -1 : 1;
	return 0;
}

static int
migrate_match_field_size_cmp(const struct migrate_match_field_entry *e1,
			     const struct migrate_match_field_entry *e2)
{
	if (e1->size != e2->size)
		return e1->size < e2->size ? -1 : 1;
	return e1->idx < e2->idx ? -1 : (e1->idx > e2->idx ? 1 : 0);
}

static int
migrate_match_field_id_cmp(const struct migrate_match_field_entry *e1,
			   const struct migrate_match_field_entry *e2)
{
	int ret = migrate_match_field_id_key_cmp(e1, e2);

	return ret != 0 ? ret : migrate_match_field_size_cmp(e1, e2);
}

static int
migrate_match_field_date_cmp(const struct migrate_match_field_entry *e1,
			     const struct migrate_match_field_entry *e2)
{
	int ret = migrate_match_field_date_key_cmp(e1, e2);

	return ret != 0 ? ret : migrate_match_field_size_cmp(e1, e2);
}

static void
migrate_match_field_index_add(struct migrate_match_field_index *index,
			      const struct migrate_msg_ident *ident,
			      uoff_t size, unsigned int idx)
{
	struct migrate_match_field_entry entry;

	i_zero(&entry);
	entry.ident = ident;
	entry.size = size;
	entry.idx = idx;
	array_push_back(&index->all, &entry);
	if (ident->message_id != NULL)
		array_push_back(&index->by_id, &entry);
	if (ident->date != 0)
		array_push_back(&index->by_date, &entry);
}

static void
migrate_match_field_index_init(struct migrate_match_field_index *index)
{
	i_array_init(&index->all, 64);
	i_array_init(&index->by_id, 64);
	i_array_init(&index->by_date, 64);
}

static void
migrate_match_field_index_sort(struct migrate_match_field_index *index)
{
	array_sort(&index->by_id, migrate_match_field_id_cmp);
	array_sort(&index->by_date, migrate_match_field_date_cmp);
}

static void
migrate_match_field_index_deinit(struct migrate_match_field_index *index)
{
	array_free(&index->all);
	array_free(&index->by_id);
	array_free(&index->by_date);
}

/* The two messages could be the same one. From and Subject must be equal;
   Message-ID and Date must be equal where both have them, and at least
   one of the two must be present on both sides: From, Subject and size
   alone don't tell a daily report from the next day's. */
static bool
migrate_match_idents_compatible(const struct migrate_match_settings *set,
				const struct migrate_msg_ident *id1, uoff_t size1,
				const struct migrate_msg_ident *id2, uoff_t size2)
{
	bool have_id = id1->message_id != NULL && id2->message_id != NULL;
	bool have_date = id1->date != 0 && id2->date != 0;

	if (!have_id && !have_date)
		return FALSE;
	if (have_id && strcmp(id1->message_id, id2->message_id) != 0)
		return FALSE;
	if (have_date && id1->date != id2->date)
		return FALSE;
	if (migrate_match_field_str_cmp(id1->from, id2->from) != 0 ||
	    migrate_match_field_str_cmp(id1->subject, id2->subject) != 0)
		return FALSE;
	return migrate_match_size_within(set, size1, size2);
}

static bool
migrate_match_fields_compatible(const struct migrate_match_settings *set,
				const struct migrate_match_field_entry *e1,
				const struct migrate_match_field_entry *e2)
{
	return migrate_match_idents_compatible(set, e1->ident, e1->size,
					       e2->ident, e2->size);
}

/* First entry whose key is >= the key of entry and, within the key,
   whose size is >= min_size. */
static unsigned int
migrate_match_field_lower_bound(const struct migrate_match_field_entry *entries,
				unsigned int count,
				const struct migrate_match_field_entry *entry,
				uoff_t min_size,
				migrate_match_field_cmp_t *key_cmp)
{
	unsigned int lo = 0, hi = count, mid;
	int ret;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		ret = key_cmp(&entries[mid], entry);
		if (ret < 0 || (ret == 0 && entries[mid].size < min_size))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Count (up to 2) the candidates of entry among entries with the same key
   and a size in the window. Returns FALSE if it gave up scanning. */
static bool
migrate_match_field_scan(const struct migrate_match_settings *set,
			 const ARRAY_TYPE(migrate_match_field_entry) *entries,
			 const struct migrate_match_field_entry *entry,
			 migrate_match_field_cmp_t *key_cmp,
			 bool need_missing_id,
			 struct migrate_match_candidates *cand)
{
	const struct migrate_match_field_entry *e;
	unsigned int i, count, scanned = 0;
	uoff_t min_size, max_size;

	migrate_match_size_window(set, entry->size, &min_size, &max_size);
	e = array_get(entries, &count);
	i = migrate_match_field_lower_bound(e, count, entry, min_size, key_cmp);
	for (; i < count && cand->count < 2; i++) {
		if (key_cmp(&e[i], entry) != 0 || e[i].size > max_size)
			break;
		if (++scanned > MIGRATE_MATCH_FALLBACK_MAX_SCAN)
			return FALSE;
		/* both have a Message-ID: found (or rejected) by the
		   Message-ID scan already */
		if (need_missing_id && entry->ident->message_id != NULL &&
		    e[i].ident->message_id != NULL)
			continue;
		if (!migrate_match_fields_compatible(set, entry, &e[i]))
			continue;
		if (cand->count++ == 0)
			cand->idx = e[i].idx;
	}
	return TRUE;
}

static void
migrate_match_field_candidates(const struct migrate_match_settings *set,
			       const struct migrate_match_field_index *other,
			       const struct migrate_match_field_entry *entry,
			       struct migrate_match_candidates *cand_r)
{
	bool ok = TRUE;

	i_zero(cand_r);
	if (entry->ident->message_id != NULL) {
		ok = migrate_match_field_scan(set, &other->by_id, entry,
					      migrate_match_field_id_key_cmp,
					      FALSE, cand_r);
	}
	if (ok && entry->ident->date != 0 && cand_r->count < 2) {
		ok = migrate_match_field_scan(set, &other->by_date, entry,
					      migrate_match_field_date_key_cmp,
					      TRUE, cand_r);
	}
	if (!ok)
		cand_r->count = 2;
}

static void
migrate_match_field_candidates_all(const struct migrate_match_settings *set,
				   const struct migrate_match_field_index *index,
				   const struct migrate_match_field_index *other,
				   struct migrate_match_candidates *cands)
{
	const struct migrate_match_field_entry *entry;

	array_foreach(&index->all, entry) {
		migrate_match_field_candidates(set, other, entry,
					       &cands[entry->idx]);
	}
}

/* Pair messages whose only candidate has them as its only candidate;
   messages with candidates that stay unpaired are AMBIGUOUS. */
static void
migrate_match_fields_pair(struct migrate_match *match,
			  const struct migrate_match_field_index *pop3,
			  const struct migrate_match_field_index *imap)
{
	struct migrate_match_candidates *pop3_cands, *imap_cands;
	const struct migrate_match_candidates *pc, *ic;
	const struct migrate_match_field_entry *entry;
	struct migrate_match_pop3 *pmsg;
	struct migrate_match_imap *imsg;

	pop3_cands = i_new(struct migrate_match_candidates,
			   array_count(&match->pop3));
	imap_cands = i_new(struct migrate_match_candidates,
			   array_count(&match->imap));
	migrate_match_field_candidates_all(&match->set, pop3, imap, pop3_cands);
	migrate_match_field_candidates_all(&match->set, imap, pop3, imap_cands);

	array_foreach(&pop3->all, entry) {
		pc = &pop3_cands[entry->idx];
		ic = &imap_cands[pc->idx];
		if (pc->count == 1 && ic->count == 1 && ic->idx == entry->idx) {
			migrate_match_pair(match, entry->idx, pc->idx,
					   MIGRATE_MATCH_FIELDS);
		} else if (pc->count > 0) {
			pmsg = migrate_match_pop3_get(match, entry->idx);
			pmsg->reason = MIGRATE_UNMATCHED_AMBIGUOUS;
		}
	}
	array_foreach(&imap->all, entry) {
		imsg = migrate_match_imap_get(match, entry->idx);
		if (imap_cands[entry->idx].count > 0 &&
		    imsg->method == MIGRATE_MATCH_NONE)
			imsg->reason = MIGRATE_UNMATCHED_AMBIGUOUS;
	}
	i_free(pop3_cands);
	i_free(imap_cands);
}

/* The tolerant fallback. Order never breaks a tie here: identical headers
   were already paired in order by the hash groups where that is safe. */
static void migrate_match_by_fields(struct migrate_match *match)
{
	struct migrate_match_field_index pop3, imap;
	const struct migrate_match_pop3 *pmsg;
	const struct migrate_match_imap *imsg;

	migrate_match_field_index_init(&pop3);
	migrate_match_field_index_init(&imap);
	array_foreach(&match->pop3, pmsg) {
		if (migrate_match_is_open(pmsg->method, pmsg->reason,
					  pmsg->have_ident)) {
			migrate_match_field_index_add(&pop3, pmsg->ident,
						      pmsg->size, pmsg->idx);
		}
	}
	array_foreach(&match->imap, imsg) {
		if (migrate_match_is_open(imsg->method, imsg->reason,
					  imsg->have_ident)) {
			migrate_match_field_index_add(&imap, imsg->ident,
						      imsg->size, imsg->idx);
		}
	}
	if (array_count(&pop3.all) > 0 && array_count(&imap.all) > 0) {
		migrate_match_field_index_sort(&pop3);
		migrate_match_field_index_sort(&imap);
		migrate_match_fields_pair(match, &pop3, &imap);
	}
	migrate_match_field_index_deinit(&pop3);
	migrate_match_field_index_deinit(&imap);
}

static enum migrate_unmatched_reason
migrate_match_final_reason(enum migrate_unmatched_reason reason,
			   bool have_ident)
{
	if (reason != MIGRATE_UNMATCHED_NONE)
		return reason;
	/* the caller never gave its header */
	if (!have_ident)
		return MIGRATE_UNMATCHED_UNREADABLE;
	return MIGRATE_UNMATCHED_NO_CANDIDATE;
}

/* Collect the unpaired messages strictly between two paired neighbours.
   Returns FALSE if one of them can't take part in an ordered pairing (no
   UIDL, no header read). */
static bool
migrate_match_order_gap_collect(struct migrate_match *match,
				unsigned int pop3_first, unsigned int pop3_end,
				unsigned int imap_first, unsigned int imap_end,
				ARRAY_TYPE(uint32_t) *pop3_r,
				ARRAY_TYPE(uint32_t) *imap_r)
{
	const struct migrate_match_pop3 *pmsg;
	const struct migrate_match_imap *imsg;
	unsigned int i;

	array_clear(pop3_r);
	array_clear(imap_r);
	for (i = pop3_first; i < pop3_end; i++) {
		pmsg = array_idx(&match->pop3, i);
		if (pmsg->method != MIGRATE_MATCH_NONE)
			continue;
		if (!pmsg->have_ident || pmsg->uidl[0] == '\0')
			return FALSE;
		array_push_back(pop3_r, &i);
	}
	for (i = imap_first; i < imap_end; i++) {
		imsg = array_idx(&match->imap, i);
		if (imsg->method != MIGRATE_MATCH_NONE)
			continue;
		if (!imsg->have_ident)
			return FALSE;
		array_push_back(imap_r, &i);
	}
	return TRUE;
}

static void
migrate_match_order_gap(struct migrate_match *match,
			unsigned int pop3_first, unsigned int pop3_end,
			unsigned int imap_first, unsigned int imap_end,
			ARRAY_TYPE(uint32_t) *pop3_idx,
			ARRAY_TYPE(uint32_t) *imap_idx)
{
	const struct migrate_match_pop3 *pmsg;
	const struct migrate_match_imap *imsg;
	const uint32_t *p, *m;
	unsigned int i, count;

	if (pop3_first >= pop3_end || imap_first >= imap_end)
		return;
	if (!migrate_match_order_gap_collect(match, pop3_first, pop3_end,
					     imap_first, imap_end,
					     pop3_idx, imap_idx))
		return;
	count = array_count(pop3_idx);
	if (count == 0 || count != array_count(imap_idx))
		return;
	p = array_front(pop3_idx);
	m = array_front(imap_idx);
	for (i = 0; i < count; i++) {
		pmsg = array_idx(&match->pop3, p[i]);
		imsg = array_idx(&match->imap, m[i]);
		if (!migrate_match_idents_compatible(&match->set,
				pmsg->ident, pmsg->size,
				imsg->ident, imsg->size))
			return;
	}
	for (i = 0; i < count; i++)
		migrate_match_pair(match, p[i], m[i], MIGRATE_MATCH_ORDER);
}

/* The order fallback. POP3 and IMAP list a mailbox in the same order, so
   where the unpaired messages between two paired neighbours are as many
   on both sides and each could be the other side's message at the same
   position (see migrate_match_idents_compatible()), they are paired in
   order. This resolves duplicates whose copies differ in one view (e.g. a
   filter header added to one POP3 copy): their hash groups have unequal
   counts and the field fallback sees several candidates. Gaps that don't
   line up (counts differ, an incompatible pair, a crossing neighbour)
   are left alone and reported. */
static void migrate_match_by_order(struct migrate_match *match)
{
	const struct migrate_match_pop3 *pmsg;
	ARRAY_TYPE(uint32_t) pop3_idx, imap_idx;
	unsigned int i, pop3_count, imap_count;
	unsigned int last_pop3 = 0, last_imap = 0;

	pop3_count = array_count(&match->pop3);
	imap_count = array_count(&match->imap);
	i_array_init(&pop3_idx, 16);
	i_array_init(&imap_idx, 16);
	/* last_* are one past the previous paired neighbour */
	for (i = 0; i < pop3_count; i++) {
		pmsg = array_idx(&match->pop3, i);
		if (pmsg->method == MIGRATE_MATCH_NONE)
			continue;
		if (pmsg->imap_idx < last_imap) {
			/* crossing pair: no order to rely on here */
			continue;
		}
		migrate_match_order_gap(match, last_pop3, i, last_imap,
					pmsg->imap_idx, &pop3_idx, &imap_idx);
		last_pop3 = i + 1;
		last_imap = pmsg->imap_idx + 1;
	}
	migrate_match_order_gap(match, last_pop3, pop3_count, last_imap,
				imap_count, &pop3_idx, &imap_idx);
	array_free(&pop3_idx);
	array_free(&imap_idx);
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
				pmsg->reason, pmsg->have_ident);
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
	array_foreach(&match->pop3, pmsg) {
		migrate_match_stats_add(stats_r, pmsg->method);
		if (pmsg->have_ident)
			stats_r->pop3_idents++;
	}
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
