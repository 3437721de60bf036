#ifndef MIGRATE_UIDL_FORMAT_H
#define MIGRATE_UIDL_FORMAT_H

#include "migrate-match.h"

/* Formula UIDLs: many servers derive the POP3 UIDL from the IMAP UID and
   UIDVALIDITY, so the UIDL can be computed without a POP3 connection.
   The format uses Dovecot's %variables:
     %u, %{uid}          IMAP UID
     %v, %{uidvalidity}  IMAP UIDVALIDITY
   with the usual modifiers, e.g. Dovecot 2.3's default "%08Xu%08Xv" or
   Cyrus-style "%v.%u". Dovecot 2.4 writes them %{uid} and %{uidvalidity}
   with filters: "%{uid | hex(8)}%{uidvalidity | hex(8)}" (the same UIDLs
   as 2.3's default), "%{uidvalidity}.%{uid}". */

/* The common formulas in the syntax of the Dovecot we are built for */
#include "migrate-compat.h"
#ifdef MIGRATE_DOVECOT24
#  define MIGRATE_UIDL_FORMAT_DOVECOT23 \
	"%{uid | hex(8)}%{uidvalidity | hex(8)}"
#  define MIGRATE_UIDL_FORMAT_CYRUS "%{uidvalidity}.%{uid}"
#  define MIGRATE_UIDL_FORMAT_UID "%{uid}"
#else
#  define MIGRATE_UIDL_FORMAT_DOVECOT23 "%08Xu%08Xv"
#  define MIGRATE_UIDL_FORMAT_CYRUS "%v.%u"
#  define MIGRATE_UIDL_FORMAT_UID "%u"
#endif

/* A format ready to give the UIDLs of many messages: Dovecot 2.4 parses
   a format on every var_expand() call, here it is parsed once. */
struct migrate_uidl_format;

/* Returns 0 and the format in fmt_r if it is usable, -1 if not (error_r
   says why: unknown variable, or no UID in it so every message would get
   the same UIDL). */
int migrate_uidl_format_create(const char *format,
			       struct migrate_uidl_format **fmt_r,
			       const char **error_r);
/* For a format known to be usable (it passed migrate_uidl_format_check(),
   or is one of migrate_uidl_known_formats) */
struct migrate_uidl_format *
migrate_uidl_format_create_valid(const char *format);
void migrate_uidl_format_free(struct migrate_uidl_format **fmt);
/* Returns the UIDL for the message (data stack) */
const char *migrate_uidl_format_get(const struct migrate_uidl_format *fmt,
				    uint32_t uidvalidity, uint32_t uid);

/* The UIDL by Dovecot's var_expand() alone (2.4 parses the format on
   every call), as migrate_pop3 gave every UIDL before the known formulas
   were written directly: what they are checked and measured against.
   Returns 0, or -1 and error_r. */
int migrate_uidl_format_var_expand(string_t *dest, const char *format,
				   uint32_t uidvalidity, uint32_t uid,
				   const char **error_r);

/* Returns 0 if the format is usable, -1 if not (error_r says why) */
int migrate_uidl_format_check(const char *format, const char **error_r);

/* The UIDL formulas servers commonly use: Dovecot's default, the
   Cyrus/"UIDVALIDITY.UID" style and the bare UID. NULL-terminated. A
   migrate_uidl_format of one of them computes its UIDLs directly,
   without var_expand(). */
extern const char *const migrate_uidl_known_formats[];

/* Find a known formula that the old server's UIDLs follow: every POP3
   UIDL that the formula gives some IMAP message must belong to a POP3
   message of exactly that IMAP message's size, and at least half of the
   POP3 list must be given this way. Returns the formula (and in hits_r how
   many messages it pairs), or NULL when none fits or the POP3 list has
   duplicate UIDLs. */
const char *
migrate_uidl_format_detect(const ARRAY_TYPE(migrate_match_pop3) *pop3,
			   const ARRAY_TYPE(migrate_match_imap) *imap,
			   uint32_t uidvalidity, unsigned int *hits_r);

/* A known formula with the UIDVALIDITY in it that gives exactly the POP3
   list's UIDLs from the IMAP UIDs, one for one (same count, every UIDL
   given once): then the formula is the list and no size is needed. uidls
   and uids have count entries. Returns the formula, with uidl_idx_r[i]
   the index in uidls of the UIDL of uids[i], or NULL. */
const char *
migrate_uidl_format_detect_exact(const char *const *uidls,
				 const uint32_t *uids, unsigned int count,
				 uint32_t uidvalidity,
				 unsigned int *uidl_idx_r);

#endif
