#ifndef MIGRATE_CSV_H
#define MIGRATE_CSV_H

#include "net.h"

/* The accounts file of doveadm migrate batch: CSV (RFC 4180: comma
   separated, fields may be "quoted" with "" for a quote inside) with a
   header row naming the columns, in any order, case-insensitive:

     email       the account (required)
     password    its password on the old server (optional: without it the
                 migration config's master user logs in)
     host        the old server (optional: the config's imapc_host)
     port        optional port
     ssl         optional: no, imaps or starttls
     dest_user   optional: the user on this server (default: email)
     refresh_token  optional: the account's OAuth2 refresh token (the
                 login then uses migrate_oauth2_* of the config)

   Every bad line is reported with its number and why; the caller decides
   whether that skips the line or fails the batch. */

enum migrate_csv_ssl {
	MIGRATE_CSV_SSL_DEFAULT = 0,
	MIGRATE_CSV_SSL_NO,
	MIGRATE_CSV_SSL_IMAPS,
	MIGRATE_CSV_SSL_STARTTLS,
};

struct migrate_account {
	/* line number in the file (1 = the header) */
	unsigned int line;
	const char *email;
	/* NULL when not given */
	const char *password, *host, *dest_user;
	/* OAuth2 refresh token, NULL when not given */
	const char *refresh_token;
	in_port_t port;
	enum migrate_csv_ssl ssl;
};
ARRAY_DEFINE_TYPE(migrate_account, struct migrate_account);

struct migrate_csv_error {
	unsigned int line;
	const char *error;
};
ARRAY_DEFINE_TYPE(migrate_csv_error, struct migrate_csv_error);

/* "no", "imaps" or "starttls" (any case). Returns -1 if value is none of
   them. */
int migrate_csv_ssl_parse(const char *value, enum migrate_csv_ssl *ssl_r);
/* The name of ssl, NULL for MIGRATE_CSV_SSL_DEFAULT. */
const char *migrate_csv_ssl_name(enum migrate_csv_ssl ssl);

/* Parse the whole file. Good lines go to accounts, bad ones to errors
   (never with a password in the text). Returns 0 if the file could be
   parsed at all, -1 if not (no header, no email column, read error:
   error_r). Strings are allocated from pool, which must not be a data
   stack pool. */
int migrate_csv_parse(struct istream *input, pool_t pool,
		      ARRAY_TYPE(migrate_account) *accounts,
		      ARRAY_TYPE(migrate_csv_error) *errors,
		      const char **error_r);

#endif
