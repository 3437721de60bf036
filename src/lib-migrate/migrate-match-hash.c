/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "migrate-match-private.h"

/* Pairing by the canonical header hash: equal hashes pair; groups of
   identical headers pair in order when both sides have as many. */

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
void migrate_match_by_hash(struct migrate_match *match, bool pair)
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
					  pmsg->msg->have_ident)) {
			migrate_match_hash_entry_add(&pop3, pmsg->msg->ident,
						     pmsg->msg->size, pmsg->idx);
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
