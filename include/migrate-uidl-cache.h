#ifndef MIGRATE_UIDL_CACHE_H
#define MIGRATE_UIDL_CACHE_H

/* The per-user, per-mailbox record of UIDL <-> IMAP UID pairs found by an
   earlier run, so that a later run (the final pass after the MX switch, or
   a resumed one) reads the headers of new messages only. A text file an
   admin can read:

     # dovecot-migrate POP3 UIDL cache
     V1 <IMAP UIDVALIDITY>
     <IMAP UID> TAB <POP3 UIDL, tab-escaped> [TAB <POP3 order>]
     ...

   The pairs are only valid for the IMAP UIDVALIDITY in the file. The POP3
   order is the one the message was given (and stored with it on this
   server): a later pass gives new messages orders after those, so they
   come after the older mail, in the old server's order, although
   deletions at the old server have renumbered its list meanwhile.
   Files of older versions have no orders. */

struct istream;

struct migrate_uidl_cache_entry {
	uint32_t uid;
	const char *uidl;
	/* 0 if not recorded */
	uint32_t pop3_order;
};
ARRAY_DEFINE_TYPE(migrate_uidl_cache_entry, struct migrate_uidl_cache_entry);

/* Read a cache file's contents. Returns 1 if read, 0 if the file is empty
   or for a different uidvalidity (entries left empty; file_uidvalidity_r
   is then that uidvalidity, or 0 for an empty file), -1 if the file is
   broken or unreadable (error_r set). Strings are allocated from pool. */
int migrate_uidl_cache_read(struct istream *input, uint32_t uidvalidity,
			    pool_t pool,
			    ARRAY_TYPE(migrate_uidl_cache_entry) *entries,
			    uint32_t *file_uidvalidity_r, const char **error_r);
/* Append the file header for uidvalidity to dest. */
void migrate_uidl_cache_append_header(string_t *dest, uint32_t uidvalidity);
/* Append one pair to dest (pop3_order 0: none). */
void migrate_uidl_cache_append_entry(string_t *dest, uint32_t uid,
				     const char *uidl, uint32_t pop3_order);

/* The POP3 orders of one POP3 list, in list order: orders[i] is what an
   earlier pass gave message i, or 0 for a message that is new since; the
   new ones get orders here. An order given once is kept; a new message
   gets one above every order before it in the list, so new mail at the
   end of the list follows all older mail, in list order, whatever was
   deleted at the old server meanwhile. */
void migrate_uidl_cache_assign_orders(uint32_t *orders, unsigned int count);

#endif
