/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "str.h"
#include "strescape.h"
#include "migrate-gmail-folder.h"
#include "migrate-gmail-ledger.h"

#define MIGRATE_GMAIL_LEDGER_COMMENT "# dovecot-migrate Gmail ledger"
#define MIGRATE_GMAIL_LEDGER_VERSION "V1"

struct migrate_gmail_ledger_folder {
	const char *name;
	HASH_TABLE(const char *, const char *) msgids;
};

struct migrate_gmail_ledger {
	pool_t pool;
	HASH_TABLE(const char *, struct migrate_gmail_ledger_folder *) folders;
	unsigned int count;
};

struct migrate_gmail_ledger *migrate_gmail_ledger_init(void)
{
	struct migrate_gmail_ledger *ledger;
	pool_t pool;

	pool = pool_alloconly_create("migrate gmail ledger", 1024*16);
	ledger = p_new(pool, struct migrate_gmail_ledger, 1);
	ledger->pool = pool;
	hash_table_create(&ledger->folders, pool, 0, str_hash, strcmp);
	return ledger;
}

void migrate_gmail_ledger_deinit(struct migrate_gmail_ledger **_ledger)
{
	struct migrate_gmail_ledger *ledger = *_ledger;
	struct hash_iterate_context *iter;
	struct migrate_gmail_ledger_folder *folder;
	const char *name;

	*_ledger = NULL;
	iter = hash_table_iterate_init(ledger->folders);
	while (hash_table_iterate(iter, ledger->folders, &name, &folder))
		hash_table_destroy(&folder->msgids);
	hash_table_iterate_deinit(&iter);
	hash_table_destroy(&ledger->folders);
	pool_unref(&ledger->pool);
}

static struct migrate_gmail_ledger_folder *
migrate_gmail_ledger_folder_get(struct migrate_gmail_ledger *ledger,
				const char *name)
{
	struct migrate_gmail_ledger_folder *folder;

	folder = hash_table_lookup(ledger->folders, name);
	if (folder == NULL) {
		folder = p_new(ledger->pool,
			       struct migrate_gmail_ledger_folder, 1);
		folder->name = p_strdup(ledger->pool, name);
		hash_table_create(&folder->msgids, ledger->pool, 0,
				  str_hash, strcmp);
		hash_table_insert(ledger->folders, folder->name, folder);
	}
	return folder;
}

static void
migrate_gmail_ledger_folder_add(struct migrate_gmail_ledger *ledger,
				struct migrate_gmail_ledger_folder *folder,
				const char *msgid)
{
	if (hash_table_lookup(folder->msgids, msgid) != NULL)
		return;
	msgid = p_strdup(ledger->pool, msgid);
	hash_table_insert(folder->msgids, msgid, msgid);
	ledger->count++;
}

int migrate_gmail_ledger_parse(struct migrate_gmail_ledger *ledger,
			       const char *data, const char **error_r)
{
	struct migrate_gmail_ledger_folder *folder = NULL;
	const char *const *lines, *const *args;
	unsigned int i;
	bool have_version = FALSE;

	lines = t_strsplit(data, "\n");
	for (i = 0; lines[i] != NULL; i++) {
		const char *line = lines[i];

		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (!have_version) {
			if (strcmp(line, MIGRATE_GMAIL_LEDGER_VERSION) != 0) {
				*error_r = t_strdup_printf(
					"line %u: unknown version", i + 1);
				return -1;
			}
			have_version = TRUE;
		} else if (line[0] == 'F') {
			args = t_strsplit_tabescaped(line);
			if (str_array_length(args) != 2 ||
			    strcmp(args[0], "F") != 0 || args[1][0] == '\0') {
				*error_r = t_strdup_printf(
					"line %u: expected F TAB folder",
					i + 1);
				return -1;
			}
			folder = migrate_gmail_ledger_folder_get(ledger,
								 args[1]);
		} else if (folder == NULL ||
			   !migrate_gmail_guid_is_msgid(line)) {
			*error_r = t_strdup_printf("line %u: expected a "
				"message id in a folder", i + 1);
			return -1;
		} else {
			migrate_gmail_ledger_folder_add(ledger, folder, line);
		}
	}
	if (!have_version) {
		*error_r = "no version line";
		return -1;
	}
	return 0;
}

static int migrate_gmail_ledger_msgid_cmp(const char *const *a,
					  const char *const *b)
{
	size_t alen = strlen(*a), blen = strlen(*b);

	/* numbers without leading zeros: shorter is smaller */
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return strcmp(*a, *b);
}

static void
migrate_gmail_ledger_folder_append(string_t *dest,
		const struct migrate_gmail_ledger_folder *folder)
{
	ARRAY_TYPE(const_string) msgids;
	struct hash_iterate_context *iter;
	const char *key, *msgid;

	if (hash_table_count(folder->msgids) == 0)
		return;
	str_append(dest, "F\t");
	str_append_tabescaped(dest, folder->name);
	str_append_c(dest, '\n');
	t_array_init(&msgids, hash_table_count(folder->msgids));
	iter = hash_table_iterate_init(folder->msgids);
	while (hash_table_iterate(iter, folder->msgids, &key, &msgid))
		array_push_back(&msgids, &msgid);
	hash_table_iterate_deinit(&iter);
	array_sort(&msgids, migrate_gmail_ledger_msgid_cmp);
	array_foreach_elem(&msgids, msgid) {
		str_append(dest, msgid);
		str_append_c(dest, '\n');
	}
}

static int
migrate_gmail_ledger_folder_cmp(struct migrate_gmail_ledger_folder *const *a,
				struct migrate_gmail_ledger_folder *const *b)
{
	return strcmp((*a)->name, (*b)->name);
}

void migrate_gmail_ledger_append(string_t *dest,
				 const struct migrate_gmail_ledger *ledger)
{
	ARRAY(struct migrate_gmail_ledger_folder *) folders;
	struct migrate_gmail_ledger_folder *folder;
	struct hash_iterate_context *iter;
	const char *name;

	str_append(dest, MIGRATE_GMAIL_LEDGER_COMMENT"\n"
		   MIGRATE_GMAIL_LEDGER_VERSION"\n");
	t_array_init(&folders, hash_table_count(ledger->folders) + 1);
	iter = hash_table_iterate_init(ledger->folders);
	while (hash_table_iterate(iter, ledger->folders, &name, &folder))
		array_push_back(&folders, &folder);
	hash_table_iterate_deinit(&iter);
	array_sort(&folders, migrate_gmail_ledger_folder_cmp);
	array_foreach_elem(&folders, folder) T_BEGIN {
		migrate_gmail_ledger_folder_append(dest, folder);
	} T_END;
}

bool migrate_gmail_ledger_has(const struct migrate_gmail_ledger *ledger,
			      const char *folder_name, const char *msgid)
{
	struct migrate_gmail_ledger_folder *folder;

	folder = hash_table_lookup(ledger->folders, folder_name);
	return folder != NULL &&
		hash_table_lookup(folder->msgids, msgid) != NULL;
}

void migrate_gmail_ledger_add(struct migrate_gmail_ledger *ledger,
			      const char *folder_name, const char *msgid)
{
	migrate_gmail_ledger_folder_add(ledger,
		migrate_gmail_ledger_folder_get(ledger, folder_name), msgid);
}

void migrate_gmail_ledger_clear_folder(struct migrate_gmail_ledger *ledger,
				       const char *folder_name)
{
	struct migrate_gmail_ledger_folder *folder;

	folder = hash_table_lookup(ledger->folders, folder_name);
	if (folder != NULL) {
		ledger->count -= hash_table_count(folder->msgids);
		hash_table_clear(folder->msgids, TRUE);
	}
}

unsigned int
migrate_gmail_ledger_count(const struct migrate_gmail_ledger *ledger)
{
	return ledger->count;
}
