/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "migrate-compat.h"
#include "array.h"
#include "str.h"
#include "strescape.h"
#include "istream.h"
#include "migrate-uidl-cache.h"

#define MIGRATE_UIDL_CACHE_COMMENT "# dovecot-migrate POP3 UIDL cache"

int migrate_uidl_cache_read(struct istream *input, uint32_t uidvalidity,
			    pool_t pool,
			    ARRAY_TYPE(migrate_uidl_cache_entry) *entries,
			    uint32_t *file_uidvalidity_r, const char **error_r)
{
	struct migrate_uidl_cache_entry *entry;
	const char *line, *const *args;
	unsigned int line_num = 0, count;
	uint32_t file_uidvalidity = 0;
	bool have_version = FALSE;

	*file_uidvalidity_r = 0;

	while ((line = i_stream_read_next_line(input)) != NULL) {
		line_num++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (!have_version) {
			if (!str_begins_with(line, "V1 ") ||
			    str_to_uint32(line + 3, &file_uidvalidity) < 0) {
				*error_r = t_strdup_printf(
					"line %u: unknown version line", line_num);
				return -1;
			}
			*file_uidvalidity_r = file_uidvalidity;
			if (file_uidvalidity != uidvalidity)
				return 0;
			have_version = TRUE;
			continue;
		}
		args = t_strsplit_tabescaped(line);
		count = str_array_length(args);
		if (count < 2 || count > 3 || args[1][0] == '\0') {
			*error_r = t_strdup_printf("line %u: expected UID TAB "
				"UIDL [TAB order]", line_num);
			return -1;
		}
		entry = array_append_space(entries);
		if (str_to_uint32(args[0], &entry->uid) < 0 ||
		    entry->uid == 0) {
			*error_r = t_strdup_printf(
				"line %u: invalid UID '%s'", line_num, args[0]);
			return -1;
		}
		if (count == 3 &&
		    str_to_uint32(args[2], &entry->pop3_order) < 0) {
			*error_r = t_strdup_printf("line %u: invalid POP3 "
				"order '%s'", line_num, args[2]);
			return -1;
		}
		entry->uidl = p_strdup(pool, args[1]);
	}
	if (input->stream_errno != 0) {
		*error_r = i_stream_get_error(input);
		return -1;
	}
	if (!have_version) {
		/* empty file: nothing cached yet */
		return 0;
	}
	return 1;
}

void migrate_uidl_cache_append_header(string_t *dest, uint32_t uidvalidity)
{
	str_printfa(dest, MIGRATE_UIDL_CACHE_COMMENT"\nV1 %u\n", uidvalidity);
}

void migrate_uidl_cache_append_entry(string_t *dest, uint32_t uid,
				     const char *uidl, uint32_t pop3_order)
{
	char num[MAX_INT_STRLEN];

	/* once per message: no printf (~2,000 instructions a number) */
	str_append(dest, dec2str_buf(num, uid));
	str_append_c(dest, '\t');
	str_append_tabescaped(dest, uidl);
	if (pop3_order != 0) {
		str_append_c(dest, '\t');
		str_append(dest, dec2str_buf(num, pop3_order));
	}
	str_append_c(dest, '\n');
}

void migrate_uidl_cache_assign_orders(uint32_t *orders, unsigned int count)
{
	uint32_t last = 0;
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (orders[i] == 0)
			orders[i] = ++last;
		else if (orders[i] > last)
			last = orders[i];
	}
}
