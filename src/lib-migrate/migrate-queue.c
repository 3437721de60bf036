/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "migrate-compat.h"
#include "str.h"
#include "hex-dec.h"
#include "migrate-file.h"
#include "migrate-state.h"
#include "migrate-queue.h"

#include <ctype.h>

const char *migrate_queue_file_name(const char *user)
{
	return migrate_state_file_name(user, MIGRATE_QUEUE_SUFFIX);
}

bool migrate_queue_file_user(const char *file_name, const char **user_r)
{
	size_t len = strlen(file_name), suffix_len = strlen(MIGRATE_QUEUE_SUFFIX);
	string_t *user;
	const char *p, *end;

	if (len <= suffix_len ||
	    strcmp(file_name + len - suffix_len, MIGRATE_QUEUE_SUFFIX) != 0)
		return FALSE;
	end = file_name + len - suffix_len;
	p = file_name;
	/* "%2e" in front only marks a name that starts with a dot (which is
	   itself kept): see migrate_state_file_name() */
	if (str_begins_with(p, "%2e") && p[3] == '.')
		p += 3;
	else if (*p == '.')
		return FALSE;

	user = t_str_new(len);
	for (; p < end; p++) {
		if (i_isalnum(*p) || strchr("@.-_+", *p) != NULL) {
			str_append_c(user, *p);
			continue;
		}
		if (*p != '%' || end - p < 3 ||
		    !i_isxdigit(p[1]) || !i_isxdigit(p[2]))
			return FALSE;
		str_append_c(user, (char)hex2dec((const unsigned char *)p + 1, 2));
		p += 2;
	}
	if (str_len(user) == 0)
		return FALSE;
	*user_r = str_c(user);
	return TRUE;
}

struct migrate_queue_parse_context {
	struct migrate_queue_entry *entry;
	pool_t pool;
};

void migrate_queue_entry_append(string_t *dest,
				const struct migrate_queue_entry *entry)
{
	str_append(dest, "# dovecot-migrate on-login queue entry\n");
	migrate_state_kv_append(dest, "user", entry->user);
	str_printfa(dest, "queued\t%lld\n", (long long)entry->queued);
	if (entry->service != NULL)
		migrate_state_kv_append(dest, "service", entry->service);
	if (entry->session_id != NULL)
		migrate_state_kv_append(dest, "session", entry->session_id);
	if (entry->remote_ip != NULL)
		migrate_state_kv_append(dest, "remote_ip", entry->remote_ip);
}

static int
migrate_queue_parse_field(void *context, const char *key, const char *value)
{
	struct migrate_queue_parse_context *ctx = context;
	struct migrate_queue_entry *entry = ctx->entry;
	int64_t num;

	if (strcmp(key, "user") == 0)
		entry->user = p_strdup(ctx->pool, value);
	else if (strcmp(key, "queued") == 0) {
		if (str_to_int64(value, &num) < 0 || num < 0)
			return -1;
		entry->queued = (time_t)num;
	} else if (strcmp(key, "service") == 0)
		entry->service = p_strdup(ctx->pool, value);
	else if (strcmp(key, "session") == 0)
		entry->session_id = p_strdup(ctx->pool, value);
	else if (strcmp(key, "remote_ip") == 0)
		entry->remote_ip = p_strdup(ctx->pool, value);
	return 0;
}

int migrate_queue_entry_parse(const char *data, pool_t pool,
			      struct migrate_queue_entry *entry_r,
			      const char **error_r)
{
	struct migrate_queue_parse_context ctx = {
		.entry = entry_r,
		.pool = pool,
	};

	i_zero(entry_r);
	if (migrate_state_kv_parse(data, migrate_queue_parse_field, &ctx,
				   error_r) < 0)
		return -1;
	if (entry_r->user == NULL || entry_r->user[0] == '\0') {
		*error_r = "no user";
		return -1;
	}
	return 0;
}

int migrate_queue_add(const char *queue_dir,
		      const struct migrate_queue_entry *entry,
		      const char **error_r)
{
	string_t *data = t_str_new(256);
	const char *path;

	i_assert(entry->user != NULL && entry->user[0] != '\0');

	migrate_queue_entry_append(data, entry);
	path = t_strdup_printf("%s/%s", queue_dir,
			       migrate_queue_file_name(entry->user));
	return migrate_file_replace_nosync(path, data, error_r);
}
