/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "strescape.h"
#include "hex-binary.h"
#include "sha1.h"
#include "migrate-sources.h"

#define MIGRATE_SOURCES_COMMENT "# dovecot-migrate sources"
#define MIGRATE_SOURCES_VERSION "V1"

void migrate_sources_append(string_t *dest,
			    const ARRAY_TYPE(migrate_source_mark) *marks)
{
	const struct migrate_source_mark *mark;

	str_append(dest, MIGRATE_SOURCES_COMMENT"\n"
		   MIGRATE_SOURCES_VERSION"\n");
	array_foreach(marks, mark) {
		str_printfa(dest, "%u\t%u\t%s\t%u\t", mark->uidvalidity,
			    mark->next_uid, mark->dest_guid,
			    mark->dest_next_uid);
		str_append_tabescaped(dest, mark->name);
		str_append_c(dest, '\n');
	}
}

int migrate_sources_parse(const char *data, pool_t pool,
			  ARRAY_TYPE(migrate_source_mark) *marks,
			  const char **error_r)
{
	struct migrate_source_mark mark;
	const char *const *lines, *const *args;
	unsigned int i;
	bool have_version = FALSE;

	lines = t_strsplit(data, "\n");
	for (i = 0; lines[i] != NULL; i++) {
		if (lines[i][0] == '\0' || lines[i][0] == '#')
			continue;
		if (!have_version) {
			if (strcmp(lines[i], MIGRATE_SOURCES_VERSION) != 0) {
				*error_r = t_strdup_printf(
					"line %u: unknown version", i + 1);
				return -1;
			}
			have_version = TRUE;
			continue;
		}
		args = t_strsplit_tabescaped(lines[i]);
		i_zero(&mark);
		if (str_array_length(args) != 5 ||
		    str_to_uint32(args[0], &mark.uidvalidity) < 0 ||
		    str_to_uint32(args[1], &mark.next_uid) < 0 ||
		    str_to_uint32(args[3], &mark.dest_next_uid) < 0 ||
		    args[4][0] == '\0') {
			*error_r = t_strdup_printf("line %u: expected "
				"UIDVALIDITY, next UID, GUID, next UID here "
				"and the folder", i + 1);
			return -1;
		}
		mark.dest_guid = p_strdup(pool, args[2]);
		mark.name = p_strdup(pool, args[4]);
		array_push_back(marks, &mark);
	}
	if (!have_version) {
		*error_r = "no version line";
		return -1;
	}
	return 0;
}

struct migrate_source_mark *
migrate_sources_find(ARRAY_TYPE(migrate_source_mark) *marks,
		     const char *name)
{
	struct migrate_source_mark *mark;

	array_foreach_modifiable(marks, mark) {
		if (strcmp(mark->name, name) == 0)
			return mark;
	}
	return NULL;
}

const char *migrate_sources_source_name(const char *dest_name,
					const char *prefix, char sep)
{
	size_t len;

	if (prefix == NULL)
		return dest_name;
	len = strlen(prefix);
	if (strncmp(dest_name, prefix, len) != 0 || dest_name[len] != sep ||
	    dest_name[len + 1] == '\0')
		return NULL;
	return dest_name + len + 1;
}

const char *migrate_sources_dest_name(const char *source_name,
				      const char *prefix, char sep)
{
	if (prefix == NULL)
		return source_name;
	return t_strdup_printf("%s%c%s", prefix, sep, source_name);
}

static const char *migrate_sources_key_part(const char *value)
{
	return value == NULL ? "" : t_str_trim(value, " \t\r\n");
}

const char *migrate_sources_msg_key(const char *message_id, const char *date,
				    const char *from, const char *subject)
{
	message_id = migrate_sources_key_part(message_id);
	if (*message_id != '\0') {
		return t_strconcat("i", message_id, "\n",
				   migrate_sources_key_part(date), NULL);
	}
	return t_strconcat("h", migrate_sources_key_part(date), "\n",
			   migrate_sources_key_part(from), "\n",
			   migrate_sources_key_part(subject), NULL);
}

const char *migrate_sources_key_hash(const char *key)
{
	unsigned char digest[SHA1_RESULTLEN];

	sha1_get_digest(key, strlen(key), digest);
	return binary_to_hex(digest, 8);
}
