#ifndef MIGRATE_MATCH_H
#define MIGRATE_MATCH_H

#include "migrate-header-hash.h"

/* The POP3 UIDL matcher: pairs each message of the old server's POP3 list
   with the same message of its IMAP mailbox. Pure logic: the caller reads
   both servers and feeds what it read. No message is ever given a UIDL
   unless the evidence is unambiguous; everything else is reported.

   Use:
     m = migrate_match_init(pool, &set);
     migrate_match_add_pop3(m, ...) for every POP3 message, in POP3 order;
     migrate_match_add_imap(m, ...) for every IMAP message, in UID order;
     migrate_match_add_known(m, uidl, uid, CACHED|FORMULA) for what a
       previous run found or a UIDL formula says;
     migrate_match_run_cheap(m);           cache + size/position
     for each index in migrate_match_need_pop3_ident() and
       migrate_match_need_imap_ident(): read its header and call
       migrate_match_set_pop3_ident() / _set_imap_ident();
     migrate_match_run_full(m);            hash groups + tolerant fallback
     read results with migrate_match_get_pop3_for_uid() and
       migrate_match_get_unmatched_*().
*/

enum migrate_match_method {
	MIGRATE_MATCH_NONE = 0,
	/* A previous run paired them (cache) */
	MIGRATE_MATCH_CACHED,
	/* Same position in both lists, same size, no neighbour of the same
	   size that could be confused with it */
	MIGRATE_MATCH_SIZE,
	/* Same canonical header hash (within an identical-hash group, pairs
	   by order) */
	MIGRATE_MATCH_HASH,
	/* Tolerant fallback: identical Message-ID/Date/From/Subject fields
	   and a size within the tolerance, unique both ways */
	MIGRATE_MATCH_FIELDS,
	/* Order fallback: between the same two paired neighbours, equally
	   many unpaired messages on both sides, pairwise compatible fields */
	MIGRATE_MATCH_ORDER,
	/* UIDL computed from a formula (migrate_pop3_uidl_format) */
	MIGRATE_MATCH_FORMULA,
};

enum migrate_unmatched_reason {
	MIGRATE_UNMATCHED_NONE = 0,
	/* No message on the other side has the same header */
	MIGRATE_UNMATCHED_NO_CANDIDATE,
	/* Several candidates could be it and nothing tells them apart */
	MIGRATE_UNMATCHED_AMBIGUOUS,
	/* The header could not be read (set by the caller) */
	MIGRATE_UNMATCHED_UNREADABLE,
	/* The POP3 message has no UIDL */
	MIGRATE_UNMATCHED_NO_UIDL,
};

struct migrate_match_settings {
	/* Allowed relative difference of sizes in the fallback, in
	   per-mille (e.g. 20 = 2 %); plus an absolute slack in bytes for
	   added headers like X-UIDL/Status. */
	unsigned int size_tolerance_permille;
	unsigned int size_tolerance_bytes;
	/* Don't trust same-size positions: go straight to header hashes. */
	bool skip_size_match;
};

/* One message of the old server's POP3 list. The caller lists it once
   for a whole session (several mailboxes may be matched against one POP3
   list, see migrate_match_add_pop3_list()), and what is learnt of it (its
   header's identity, that its header can't be read, that a mailbox has
   it) serves every matcher of the session. */
struct migrate_pop3_msg {
	/* (packed: the largest fields first, the small ones share a word;
	   a list of 100k messages costs 3 MB here) */
	const char *uidl;
	uoff_t size;
	/* set when have_ident (only for the few whose header was read) */
	const struct migrate_msg_ident *ident;
	uint32_t seq;		/* POP3 message number (1-based) */
	bool have_ident:1;
	/* its header couldn't be read: never matched */
	bool unreadable:1;
	/* paired with a message of some migrated mailbox (the caller's) */
	bool claimed:1;
};
ARRAY_DEFINE_TYPE(migrate_pop3_msg, struct migrate_pop3_msg);

/* A POP3 message in one matcher: the message and its pairing here.
   The method and reason take a byte each: 24 bytes a message. */
struct migrate_match_pop3 {
	struct migrate_pop3_msg *msg;
	unsigned int idx;	/* index in the POP3 list (0-based) */
	unsigned int imap_idx;	/* valid when method != NONE */
	enum migrate_match_method method:8;
	enum migrate_unmatched_reason reason:8;
};

/* 32 bytes a message */
struct migrate_match_imap {
	uoff_t size;
	/* set when have_ident */
	const struct migrate_msg_ident *ident;
	unsigned int idx;	/* index in the IMAP list (0-based) */
	uint32_t uid;
	unsigned int pop3_idx;	/* valid when method != NONE */
	enum migrate_match_method method:8;
	enum migrate_unmatched_reason reason:8;
	bool have_ident:1;
};
ARRAY_DEFINE_TYPE(migrate_match_pop3, struct migrate_match_pop3);
ARRAY_DEFINE_TYPE(migrate_match_imap, struct migrate_match_imap);

struct migrate_match_stats {
	unsigned int pop3_count, imap_count;
	unsigned int matched_cached, matched_size, matched_hash;
	unsigned int matched_fields, matched_order, matched_formula;
	unsigned int pop3_unmatched, imap_unmatched;
	/* a cached pair named messages of other sizes (the server reused
	   UIDs without a new UIDVALIDITY): the cache wasn't used at all */
	bool cache_distrusted;
	/* headers the caller had to read */
	unsigned int pop3_idents, imap_idents;
};

struct migrate_match;

struct migrate_match *
migrate_match_init(pool_t pool, const struct migrate_match_settings *set);
void migrate_match_deinit(struct migrate_match **match);

/* Optional: the number of messages that will be added, so the lists are
   allocated once at their final size (0 = unknown). Call before adding. */
void migrate_match_reserve(struct migrate_match *match,
			   unsigned int pop3_count, unsigned int imap_count);
/* POP3 messages must be added in POP3 order, IMAP messages in ascending
   UID order. uidl may be NULL or "" (the message is then never matched,
   reason NO_UIDL). Strings are copied. */
void migrate_match_add_pop3(struct migrate_match *match, uint32_t seq,
			    const char *uidl, uoff_t size);
/* Add the caller's POP3 list, in POP3 order, without copying it: msgs
   must neither grow nor go away while the matcher lives. The header
   identities given for its messages (migrate_match_set_pop3_ident()) are
   kept in pool, so a later matcher over the same list finds them. */
void migrate_match_add_pop3_list(struct migrate_match *match,
				 ARRAY_TYPE(migrate_pop3_msg) *msgs,
				 pool_t pool);
void migrate_match_add_imap(struct migrate_match *match, uint32_t uid,
			    uoff_t size);
/* A pairing known before matching: remembered from an earlier run
   (MIGRATE_MATCH_CACHED), or given by a UIDL formula
   (MIGRATE_MATCH_FORMULA). Applied by migrate_match_run_cheap() only if
   both the UIDL and the UID exist in the current lists and neither is
   paired yet; else ignored. A cached pair naming messages of other sizes
   makes every cached pair distrusted (the server reused UIDs). uidl is not
   copied: it must live as long as the matcher (in its pool, or the
   caller's POP3 list's). */
void migrate_match_add_known(struct migrate_match *match, const char *uidl,
			     uint32_t uid, enum migrate_match_method method);

/* Apply cached pairs, then pair by position and size where that is
   unambiguous. Afterwards the need_* lists tell which headers the full
   run needs. */
void migrate_match_run_cheap(struct migrate_match *match);
/* Indexes (into the POP3 / IMAP list) of still unmatched messages whose
   header must be read before migrate_match_run_full(). */
const ARRAY_TYPE(uint32_t) *
migrate_match_need_pop3_ident(struct migrate_match *match);
const ARRAY_TYPE(uint32_t) *
migrate_match_need_imap_ident(struct migrate_match *match);
/* Give the header identity of a message (copied: into the matcher's
   pool, or the pool of migrate_match_add_pop3_list() for its messages). */
void migrate_match_set_pop3_ident(struct migrate_match *match,
				  unsigned int idx,
				  const struct migrate_msg_ident *ident);
void migrate_match_set_imap_ident(struct migrate_match *match,
				  unsigned int idx,
				  const struct migrate_msg_ident *ident);
/* The header of this message could not be read: never match it. */
void migrate_match_set_pop3_unreadable(struct migrate_match *match,
				       unsigned int idx);
void migrate_match_set_imap_unreadable(struct migrate_match *match,
				       unsigned int idx);
/* Pair the rest by header hash, then by the tolerant fallback, and set
   the reason of everything left unmatched. */
void migrate_match_run_full(struct migrate_match *match);

/* Results. */
const ARRAY_TYPE(migrate_match_pop3) *
migrate_match_get_pop3(struct migrate_match *match);
const ARRAY_TYPE(migrate_match_imap) *
migrate_match_get_imap(struct migrate_match *match);
/* Returns the POP3 message paired with this IMAP UID, or NULL.
   O(log n). */
const struct migrate_match_pop3 *
migrate_match_get_pop3_for_uid(struct migrate_match *match, uint32_t uid);
void migrate_match_get_stats(struct migrate_match *match,
			     struct migrate_match_stats *stats_r);

const char *migrate_match_method_name(enum migrate_match_method method);
const char *migrate_match_reason_name(enum migrate_unmatched_reason reason);

#endif
