#ifndef DOVEADM_MIGRATE_HTTP_H
#define DOVEADM_MIGRATE_HTTP_H

#include "iostream-ssl.h"
#include "http-client.h"

/* The settings of a doveadm_migrate_http_client_init() client: the
   caller keeps them for as long as the client lives (lib-http may keep
   pointers to them). */
struct doveadm_migrate_http_settings {
	struct http_client_settings http;
#ifndef MIGRATE_DOVECOT24
	struct ssl_iostream_settings ssl;
#endif
};

/* An HTTP client of its own for one request at a time (no retries, no
   redirects), its TLS checked with this config's ssl_client_* settings:
   for the doveadm HTTP API of --backend and the OAuth2 token endpoint. */
struct http_client *
doveadm_migrate_http_client_init(struct doveadm_migrate_http_settings *set,
				 unsigned int connect_timeout_msecs,
				 unsigned int request_timeout_msecs);

#endif
