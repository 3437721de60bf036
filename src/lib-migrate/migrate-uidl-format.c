/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "var-expand.h"
#include "migrate-uidl-format.h"

static int
migrate_uidl_format_expand_full(const char *format, uint32_t uidvalidity,
				uint32_t uid, const char **uidl_r,
				const char **error_r)
{
	const struct var_expand_table table[] = {
		{ 'u', dec2str(uid), "uid" },
		{ 'v', dec2str(uidvalidity), "uidvalidity" },
		{ '\0', NULL, NULL }
	};
	string_t *str = t_str_new(32);
	int ret;

	ret = var_expand(str, format, table, error_r);
	if (ret == 0) {
		/* unknown variable: error_r tells which */
		return -1;
	}
	if (ret < 0)
		return -1;
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
			"format '%s' doesn't contain the UID (%%u)", format);
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
