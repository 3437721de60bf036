/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "var-expand.h"
#include "hash.h"
#include "migrate-uidl-format.h"

HASH_TABLE_DEFINE_TYPE(uidl_pop3, const char *,
		       const struct migrate_match_pop3 *);

HASH_TABLE_DEFINE_TYPE(uidl_seen, const char *, void *);

/* The UIDL of a message by the format, in Dovecot's own variable syntax:
   %u/%{uid} and %v/%{uidvalidity} on 2.3, %{uid} and %{uidvalidity} with
   filters (%{uid | hex(8)}) on 2.4. */
static int
migrate_uidl_format_expand_full(const char *format, uint32_t uidvalidity,
				uint32_t uid, const char **uidl_r,
				const char **error_r)
{
	string_t *str = t_str_new(32);
#ifdef MIGRATE_DOVECOT24
	const struct var_expand_table table[] = {
		{ .key = "uid", .value = dec2str(uid) },
		{ .key = "uidvalidity", .value = dec2str(uidvalidity) },
		VAR_EXPAND_TABLE_END
	};
	const struct var_expand_params params = { .table = table };

	if (var_expand(str, format, &params, error_r) < 0)
		return -1;
#else
	const struct var_expand_table table[] = {
		{ 'u', dec2str(uid), "uid" },
		{ 'v', dec2str(uidvalidity), "uidvalidity" },
		{ '\0', NULL, NULL }
	};

	/* 0 is an unknown variable: error_r tells which */
	if (var_expand(str, format, table, error_r) <= 0)
		return -1;
#endif
	*uidl_r = str_c(str);
	return 0;
}

int migrate_uidl_format_check(const char *format, const char **error_r)
{
	const char *uidl1, *uidl2, *error;

	if (*format == '\0') {
		*error_r = "empty format";
		return -1;
	}
	if (migrate_uidl_format_expand_full(format, 1234, 1, &uidl1,
					    &error) < 0 ||
	    migrate_uidl_format_expand_full(format, 1234, 2, &uidl2,
					    &error) < 0) {
		*error_r = t_strdup_printf("invalid format '%s': %s",
					   format, error);
		return -1;
	}
	if (strcmp(uidl1, uidl2) == 0) {
		*error_r = t_strdup_printf(
			"format '%s' doesn't contain the UID (%s)", format,
			MIGRATE_UIDL_FORMAT_UID);
		return -1;
	}
	if (uidl1[0] == '\0' || strpbrk(uidl1, " \t\r\n") != NULL) {
		*error_r = t_strdup_printf(
			"format '%s' gives UIDLs with whitespace", format);
		return -1;
	}
	return 0;
}

const char *migrate_uidl_format_expand(const char *format,
				       uint32_t uidvalidity, uint32_t uid)
{
	const char *uidl, *error;

	if (migrate_uidl_format_expand_full(format, uidvalidity, uid,
					    &uidl, &error) < 0)
		i_panic("migrate_uidl_format_expand(%s): %s", format, error);
	return uidl;
}

const char *const migrate_uidl_known_formats[] = {
	MIGRATE_UIDL_FORMAT_DOVECOT23,
	MIGRATE_UIDL_FORMAT_CYRUS,
	MIGRATE_UIDL_FORMAT_UID,
	NULL
};

static unsigned int
migrate_uidl_format_hits(const char *format,
			 HASH_TABLE_TYPE(uidl_pop3) by_uidl,
			 const ARRAY_TYPE(migrate_match_imap) *imap,
			 uint32_t uidvalidity)
{
	const struct migrate_match_imap *msg;
	const struct migrate_match_pop3 *pop3;
	unsigned int hits = 0;

	array_foreach(imap, msg) {
		T_BEGIN {
			pop3 = hash_table_lookup(by_uidl,
				migrate_uidl_format_expand(format, uidvalidity,
							   msg->uid));
		} T_END;
		if (pop3 == NULL)
			continue;
		if (pop3->msg->size != msg->size) {
			/* the formula names another message */
			return 0;
		}
		hits++;
	}
	return hits;
}

const char *
migrate_uidl_format_detect(const ARRAY_TYPE(migrate_match_pop3) *pop3,
			   const ARRAY_TYPE(migrate_match_imap) *imap,
			   uint32_t uidvalidity, unsigned int *hits_r)
{
	HASH_TABLE_TYPE(uidl_pop3) by_uidl;
	const struct migrate_match_pop3 *msg;
	const char *const *format, *found = NULL;
	unsigned int hits, count = array_count(pop3);
	bool duplicates = FALSE;

	*hits_r = 0;
	if (count == 0)
		return NULL;
	hash_table_create(&by_uidl, default_pool, count, str_hash, strcmp);
	array_foreach(pop3, msg) {
		if (hash_table_lookup(by_uidl, msg->msg->uidl) != NULL) {
			duplicates = TRUE;
			break;
		}
		hash_table_insert(by_uidl, msg->msg->uidl, msg);
	}
	for (format = migrate_uidl_known_formats;
	     *format != NULL && !duplicates; format++) {
		hits = migrate_uidl_format_hits(*format, by_uidl, imap,
						uidvalidity);
		if (hits > 0 && hits * 2 >= count) {
			found = *format;
			*hits_r = hits;
			break;
		}
	}
	hash_table_destroy(&by_uidl);
	return found;
}

static bool
migrate_uidl_format_gives_all(const char *format,
			      HASH_TABLE_TYPE(uidl_seen) uidls,
			      const uint32_t *uids, unsigned int count,
			      uint32_t uidvalidity, unsigned int *uidl_idx_r)
{
	unsigned int i;
	void *value = NULL;

	for (i = 0; i < count; i++) {
		T_BEGIN {
			value = hash_table_lookup(uidls,
				migrate_uidl_format_expand(format, uidvalidity,
							   uids[i]));
		} T_END;
		if (value == NULL)
			return FALSE;
		uidl_idx_r[i] = POINTER_CAST_TO(value, unsigned int) - 1;
	}
	return TRUE;
}

const char *
migrate_uidl_format_detect_exact(const char *const *uidls,
				 const uint32_t *uids, unsigned int count,
				 uint32_t uidvalidity,
				 unsigned int *uidl_idx_r)
{
	HASH_TABLE_TYPE(uidl_seen) seen;
	const char *const *format, *found = NULL;
	unsigned int i;

	if (count == 0)
		return NULL;
	hash_table_create(&seen, default_pool, count, str_hash, strcmp);
	for (i = 0; i < count; i++) {
		if (hash_table_lookup(seen, uidls[i]) != NULL)
			break;
		hash_table_insert(seen, uidls[i], POINTER_CAST(i + 1));
	}
	/* with distinct UIDLs, distinct UIDs and as many of each, a formula
	   that gives a listed UIDL for every UID gives each one once */
	for (format = migrate_uidl_known_formats;
	     i == count && *format != NULL && found == NULL; format++) {
		/* without the UIDVALIDITY a formula could name messages by
		   coincidence (sequence numbers): those need the sizes */
		if (strchr(*format, 'v') == NULL)
			continue;
		if (migrate_uidl_format_gives_all(*format, seen, uids, count,
						  uidvalidity, uidl_idx_r))
			found = *format;
	}
	hash_table_destroy(&seen);
	return found;
}
