/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "migrate-match-private.h"

/* Pairing by position and size: POP3 and IMAP list a mailbox in the same
   order and both know each message's size. */

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

	if (migrate_match_pop3_get(match, pop3_idx)->msg->uidl[0] != '\0') {
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
void migrate_match_by_size(struct migrate_match *match)
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
			migrate_match_size_list_add(&pop3, pmsg->idx, pmsg->msg->size);
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
