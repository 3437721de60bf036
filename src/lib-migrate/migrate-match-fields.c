/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "migrate-match-private.h"

/* The tolerant fallback (Message-ID, Date, From, Subject and a size within
   the tolerance, unique both ways) and the order step between paired
   neighbours. */

/* The fallback gives up (AMBIGUOUS) on a message once it has looked at this
   many same-field entries without deciding, so that pathological mailboxes
   (thousands of copies of one message) stay linear. */
#define MIGRATE_MATCH_FALLBACK_MAX_SCAN 1000

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
void migrate_match_by_fields(struct migrate_match *match)
{
	struct migrate_match_field_index pop3, imap;
	const struct migrate_match_pop3 *pmsg;
	const struct migrate_match_imap *imsg;

	migrate_match_field_index_init(&pop3);
	migrate_match_field_index_init(&imap);
	array_foreach(&match->pop3, pmsg) {
		if (migrate_match_is_open(pmsg->method, pmsg->reason,
					  pmsg->msg->have_ident)) {
			migrate_match_field_index_add(&pop3, pmsg->msg->ident,
						      pmsg->msg->size, pmsg->idx);
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

enum migrate_unmatched_reason
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
		if (!pmsg->msg->have_ident || pmsg->msg->uidl[0] == '\0')
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
				pmsg->msg->ident, pmsg->msg->size,
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
void migrate_match_by_order(struct migrate_match *match)
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
