#ifndef MIGRATE_HEADER_HASH_H
#define MIGRATE_HEADER_HASH_H

#include "sha1.h"

struct istream;

#define MIGRATE_HEADER_HASH_LEN SHA1_RESULTLEN

/* Header names that servers add to or rewrite in one view of a message
   (POP3 vs IMAP) and that must therefore not take part in the hash.
   Compared case-insensitively. Used when migrate_pop3_ignore_headers is
   not set. */
extern const char *const migrate_header_hash_default_ignore[];

/* What the matcher knows of one message, taken from its header. */
struct migrate_msg_ident {
	/* SHA1 of the canonical header (see migrate_header_hash_stream()) */
	unsigned char hash[MIGRATE_HEADER_HASH_LEN];
	/* Normalised values used by the tolerant fallback, NULL when the
	   header has no such field: Message-ID without <> and whitespace,
	   Date as a time_t (0 = missing/unparseable), From address
	   lowercased, Subject unfolded with whitespace collapsed. */
	const char *message_id;
	time_t date;
	const char *from;
	const char *subject;
	/* The header block ended with an empty line. FALSE when the input
	   ended first (truncated header as some servers send in TOP). */
	bool header_complete:1;
};

struct migrate_header_filter;

/* Build a filter from a list of header names to ignore (NULL-terminated,
   any order, case-insensitive; NULL = the default list). The filter lives
   in pool. Header names may end with '*' to ignore every header with that
   prefix (e.g. "X-Mozilla-*"). */
struct migrate_header_filter *
migrate_header_filter_create(pool_t pool, const char *const *ignore);
/* Returns TRUE if the header name is ignored by the filter. */
bool migrate_header_filter_ignores(const struct migrate_header_filter *filter,
				   const char *name);

/* Read the header of a message from input (which may contain the body
   too; reading stops after the header) and fill ident_r. Canonical form
   hashed: for every header not ignored, in order: name lowercased, ':',
   the value unfolded (CR/LF of continuation lines removed), runs of
   whitespace (stray CRs included) collapsed to one space, leading/trailing
   whitespace removed, each run of 8-bit bytes, control bytes and '?'
   replaced by one '?' (servers disagree on them; Yahoo writes one '?' per
   UTF-8 character), then "\n". Line endings (CRLF, LF) and stray CRs
   therefore never matter. Lines without ':' and headers whose names
   have bytes <= 0x20 or >= 0x7f are left out (Zimbra and Yahoo drop them
   in one view), and a line of only CRs ends the header (Courier's
   LF CR CR LF).
   Strings are allocated from pool. Returns 0 on success, -1 if the
   stream failed (error_r set, e.g. from i_stream_get_error()). */
int migrate_header_hash_stream(struct istream *input,
			       const struct migrate_header_filter *filter,
			       pool_t pool, struct migrate_msg_ident *ident_r,
			       const char **error_r);

#endif
