/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "byteorder.h"
#include "hex-binary.h"
#include "var-expand.h"
#include "hash.h"
#include "migrate-uidl-format.h"

HASH_TABLE_DEFINE_TYPE(uidl_pop3, const char *,
		       const struct migrate_match_pop3 *);

HASH_TABLE_DEFINE_TYPE(uidl_seen, const char *, void *);

/* The known formulas are written without var_expand(): a formula UIDL is
   computed for every message three times (detection, the UIDL cache,
   dsync), and on 2.4 var_expand() costs ~7,000 instructions a UIDL even
   with its program parsed once, most of the formula case's overhead. */
enum migrate_uidl_format_known {
	MIGRATE_UIDL_FORMAT_KNOWN_NONE = 0,
	/* the rest in the order of migrate_uidl_known_formats[]: */
	/* MIGRATE_UIDL_FORMAT_DOVECOT23: the UID and the UIDVALIDITY as 8
	   lowercase hex digits each */
	MIGRATE_UIDL_FORMAT_KNOWN_DOVECOT23,
	/* MIGRATE_UIDL_FORMAT_CYRUS: UIDVALIDITY.UID in decimal */
	MIGRATE_UIDL_FORMAT_KNOWN_CYRUS,
	/* MIGRATE_UIDL_FORMAT_UID: the UID in decimal */
	MIGRATE_UIDL_FORMAT_KNOWN_UID,
};

const char *const migrate_uidl_known_formats[] = {
	MIGRATE_UIDL_FORMAT_DOVECOT23,
	MIGRATE_UIDL_FORMAT_CYRUS,
	MIGRATE_UIDL_FORMAT_UID,
	NULL
};

struct migrate_uidl_format {
	char *format;
	enum migrate_uidl_format_known known;
#ifdef MIGRATE_DOVECOT24
	/* any other format: 2.4's var_expand() parses the format on every
	   call, here it is parsed once */
	struct var_expand_program *program;
#endif
};

static enum migrate_uidl_format_known
migrate_uidl_format_known_find(const char *format)
{
	unsigned int i;

	for (i = 0; migrate_uidl_known_formats[i] != NULL; i++) {
		if (strcmp(format, migrate_uidl_known_formats[i]) == 0)
			return MIGRATE_UIDL_FORMAT_KNOWN_DOVECOT23 + i;
	}
	return MIGRATE_UIDL_FORMAT_KNOWN_NONE;
}

static const char *
migrate_uidl_format_get_known(enum migrate_uidl_format_known known,
			      uint32_t uidvalidity, uint32_t uid)
{
	unsigned char be[8];

	switch (known) {
	case MIGRATE_UIDL_FORMAT_KNOWN_DOVECOT23:
		cpu32_to_be_unaligned(uid, be);
		cpu32_to_be_unaligned(uidvalidity, be + 4);
		return binary_to_hex(be, sizeof(be));
	case MIGRATE_UIDL_FORMAT_KNOWN_CYRUS:
		return t_strdup_printf("%u.%u", uidvalidity, uid);
	case MIGRATE_UIDL_FORMAT_KNOWN_UID:
		return dec2str(uid);
	case MIGRATE_UIDL_FORMAT_KNOWN_NONE:
		break;
	}
	i_unreached();
}

/* The UIDL of a message by the format, in Dovecot's own variable syntax:
   %u/%{uid} and %v/%{uidvalidity} on 2.3, %{uid} and %{uidvalidity} with
   filters (%{uid | hex(8)}) on 2.4, where fmt's parsed program is used if
   there is one. */
static int
migrate_uidl_format_dovecot_expand(string_t *dest, const char *format,
				   const struct migrate_uidl_format *fmt,
				   uint32_t uidvalidity, uint32_t uid,
				   const char **error_r)
{
#ifdef MIGRATE_DOVECOT24
	const struct var_expand_table table[] = {
		{ .key = "uid", .value = dec2str(uid) },
		{ .key = "uidvalidity", .value = dec2str(uidvalidity) },
		VAR_EXPAND_TABLE_END
	};
	const struct var_expand_params params = { .table = table };

	if (fmt != NULL && fmt->program != NULL) {
		return var_expand_program_execute(dest, fmt->program, &params,
						  error_r);
	}
	return var_expand(dest, format, &params, error_r);
#else
	const struct var_expand_table table[] = {
		{ 'u', dec2str(uid), "uid" },
		{ 'v', dec2str(uidvalidity), "uidvalidity" },
		{ '\0', NULL, NULL }
	};

	(void)fmt;
	/* 0 is an unknown variable: error_r tells which */
	return var_expand(dest, format, table, error_r) <= 0 ? -1 : 0;
#endif
}

int migrate_uidl_format_var_expand(string_t *dest, const char *format,
				   uint32_t uidvalidity, uint32_t uid,
				   const char **error_r)
{
	return migrate_uidl_format_dovecot_expand(dest, format, NULL,
						  uidvalidity, uid, error_r);
}

static int
migrate_uidl_format_get_full(const struct migrate_uidl_format *fmt,
			     uint32_t uidvalidity, uint32_t uid,
			     const char **uidl_r, const char **error_r)
{
	string_t *str;

	if (fmt->known != MIGRATE_UIDL_FORMAT_KNOWN_NONE) {
		*uidl_r = migrate_uidl_format_get_known(fmt->known,
							uidvalidity, uid);
		return 0;
	}
	str = t_str_new(32);
	if (migrate_uidl_format_dovecot_expand(str, fmt->format, fmt,
					       uidvalidity, uid, error_r) < 0)
		return -1;
	*uidl_r = str_c(str);
	return 0;
}

void migrate_uidl_format_free(struct migrate_uidl_format **_fmt)
{
	struct migrate_uidl_format *fmt = *_fmt;

	if (fmt == NULL)
		return;
	*_fmt = NULL;
#ifdef MIGRATE_DOVECOT24
	if (fmt->program != NULL)
		var_expand_program_free(&fmt->program);
#endif
	i_free(fmt->format);
	i_free(fmt);
}

static int
migrate_uidl_format_verify(const struct migrate_uidl_format *fmt,
			   const char **error_r)
{
	const char *uidl1, *uidl2, *error;

	if (migrate_uidl_format_get_full(fmt, 1234, 1, &uidl1, &error) < 0 ||
	    migrate_uidl_format_get_full(fmt, 1234, 2, &uidl2, &error) < 0) {
		*error_r = t_strdup_printf("invalid format '%s': %s",
					   fmt->format, error);
		return -1;
	}
	if (strcmp(uidl1, uidl2) == 0) {
		*error_r = t_strdup_printf(
			"format '%s' doesn't contain the UID (%s)",
			fmt->format, MIGRATE_UIDL_FORMAT_UID);
		return -1;
	}
	if (uidl1[0] == '\0' || strpbrk(uidl1, " \t\r\n") != NULL) {
		*error_r = t_strdup_printf(
			"format '%s' gives UIDLs with whitespace", fmt->format);
		return -1;
	}
	return 0;
}

int migrate_uidl_format_create(const char *format,
			       struct migrate_uidl_format **fmt_r,
			       const char **error_r)
{
	struct migrate_uidl_format *fmt;
	int ret = 0;

	*fmt_r = NULL;
	if (*format == '\0') {
		*error_r = "empty format";
		return -1;
	}
	fmt = i_new(struct migrate_uidl_format, 1);
	fmt->format = i_strdup(format);
	fmt->known = migrate_uidl_format_known_find(format);
#ifdef MIGRATE_DOVECOT24
	if (fmt->known == MIGRATE_UIDL_FORMAT_KNOWN_NONE &&
	    var_expand_program_create(format, &fmt->program, error_r) < 0) {
		*error_r = t_strdup_printf("invalid format '%s': %s",
					   format, *error_r);
		ret = -1;
	}
#endif
	if (ret == 0 && migrate_uidl_format_verify(fmt, error_r) < 0)
		ret = -1;
	if (ret < 0)
		migrate_uidl_format_free(&fmt);
	*fmt_r = fmt;
	return ret;
}

struct migrate_uidl_format *migrate_uidl_format_create_valid(const char *format)
{
	struct migrate_uidl_format *fmt;
	const char *error;

	if (migrate_uidl_format_create(format, &fmt, &error) < 0)
		i_panic("migrate_uidl_format_create(%s): %s", format, error);
	return fmt;
}

const char *migrate_uidl_format_get(const struct migrate_uidl_format *fmt,
				    uint32_t uidvalidity, uint32_t uid)
{
	const char *uidl, *error;

	if (migrate_uidl_format_get_full(fmt, uidvalidity, uid,
					 &uidl, &error) < 0) {
		i_panic("migrate_uidl_format_get(%s): %s", fmt->format,
			error);
	}
	return uidl;
}

int migrate_uidl_format_check(const char *format, const char **error_r)
{
	struct migrate_uidl_format *fmt;

	if (migrate_uidl_format_create(format, &fmt, error_r) < 0)
		return -1;
	migrate_uidl_format_free(&fmt);
	return 0;
}

static unsigned int
migrate_uidl_format_hits(const char *format,
			 HASH_TABLE_TYPE(uidl_pop3) by_uidl,
			 const ARRAY_TYPE(migrate_match_imap) *imap,
			 uint32_t uidvalidity)
{
	struct migrate_uidl_format *fmt =
		migrate_uidl_format_create_valid(format);
	const struct migrate_match_imap *msg;
	const struct migrate_match_pop3 *pop3;
	unsigned int hits = 0;

	array_foreach(imap, msg) {
		T_BEGIN {
			pop3 = hash_table_lookup(by_uidl,
				migrate_uidl_format_get(fmt, uidvalidity,
							msg->uid));
		} T_END;
		if (pop3 == NULL)
			continue;
		if (pop3->msg->size != msg->size) {
			/* the formula names another message */
			hits = 0;
			break;
		}
		hits++;
	}
	migrate_uidl_format_free(&fmt);
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
	struct migrate_uidl_format *fmt =
		migrate_uidl_format_create_valid(format);
	unsigned int i;
	void *value = NULL;

	for (i = 0; i < count; i++) {
		T_BEGIN {
			value = hash_table_lookup(uidls,
				migrate_uidl_format_get(fmt, uidvalidity,
							uids[i]));
		} T_END;
		if (value == NULL)
			break;
		uidl_idx_r[i] = POINTER_CAST_TO(value, unsigned int) - 1;
	}
	migrate_uidl_format_free(&fmt);
	return i == count;
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
