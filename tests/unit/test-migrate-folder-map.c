/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "test-common.h"
#include "migrate-folder-map.h"

static const struct migrate_special_use_folder test_dest_folders[] = {
	{ .name = "Sent", .special_use = "\\Sent" },
	{ .name = "Trash", .special_use = "\\Trash" },
	{ .name = "Spam", .special_use = "\\Junk" },
	{ .name = "Work", .special_use = "" },
};

static void test_settings(struct migrate_folder_map_settings *set)
{
	i_zero(set);
	set->sep = '/';
	set->builtin = TRUE;
	set->dest_folders = test_dest_folders;
	set->dest_folder_count = N_ELEMENTS(test_dest_folders);
}

static void test_migrate_folder_map_builtin(void)
{
	test_begin("folder map: built-in table");
	test_assert_strcmp(migrate_folder_map_builtin_lookup("Sent Items"), "\\Sent");
	test_assert_strcmp(migrate_folder_map_builtin_lookup("sent items"), "\\Sent");
	test_assert_strcmp(migrate_folder_map_builtin_lookup("Deleted Items"), "\\Trash");
	test_assert_strcmp(migrate_folder_map_builtin_lookup("Junk E-mail"), "\\Junk");
	test_assert_strcmp(migrate_folder_map_builtin_lookup("Junk Email"), "\\Junk");
	test_assert_strcmp(migrate_folder_map_builtin_lookup("Gesendete Elemente"), "\\Sent");
	test_assert_strcmp(migrate_folder_map_builtin_lookup("GELÖSCHTE ELEMENTE"), "\\Trash");
	/* "Éléments envoyés" decomposed (NFD), as a Mac may write it */
	test_assert_strcmp(migrate_folder_map_builtin_lookup("E\xcc\x81le\xcc\x81ments envoye\xcc\x81s"), "\\Sent");
	test_assert_strcmp(migrate_folder_map_builtin_lookup("Éléments supprimés"), "\\Trash");
	test_assert_strcmp(migrate_folder_map_builtin_lookup("Elementos enviados"), "\\Sent");
	test_assert_strcmp(migrate_folder_map_builtin_lookup("Posta inviata"), "\\Sent");
	test_assert_strcmp(migrate_folder_map_builtin_lookup("Verwijderde items"), "\\Trash");
	test_assert_strcmp(migrate_folder_map_builtin_lookup("Itens Enviados"), "\\Sent");
	test_assert_strcmp(migrate_folder_map_builtin_lookup("Entwürfe"), "\\Drafts");
	test_assert(migrate_folder_map_builtin_lookup("Outbox") == NULL);
	test_assert(migrate_folder_map_builtin_lookup("Sent Items/2019") == NULL);
	test_assert(migrate_folder_map_builtin_lookup("Work") == NULL);
	test_end();
}

static void test_migrate_folder_map_parse(void)
{
	static const struct {
		const char *data;
		const char *error;
	} bad[] = {
		{ "Sent Items\n", "map.conf:1: expected 'old name = new name'" },
		{ "# c\n\n = Sent\n", "map.conf:3: the old name is empty" },
		{ "A = B\n\"Sent = Sent\n", "map.conf:2: unterminated quoted name" },
		{ "A = *\n", "map.conf:1: a '*' in the new name needs exactly one '*' in the old name (and takes what it matched)" },
		{ "*/* = */*\n", "map.conf:1: a '*' in the new name needs exactly one '*' in the old name (and takes what it matched)" },
		{ "\"A\" x = B\n", "map.conf:1: text after a quoted name" },
		{ "inbox = Old\n", "map.conf:1: INBOX can't be renamed" },
		{ "A\xff = B\n", "map.conf:1: a name isn't valid UTF-8" },
	};
	ARRAY_TYPE(migrate_folder_map_rule) rules;
	const struct migrate_folder_map_rule *rule;
	const char *error;
	pool_t pool = pool_alloconly_create("test", 1024);
	unsigned int i;

	test_begin("folder map: map file parser");
	p_array_init(&rules, pool, 8);
	test_assert(migrate_folder_map_parse(
		"# old = new\n"
		"Sent Items = Sent\r\n"
		"  \n"
		"\"Odd = name \" = \"Odd \\\"x\\\"\"\n"
		"Projects/* = Work/*\n"
		"Keep Me =\n", "map.conf", pool, &rules, &error) == 0);
	test_assert(array_count(&rules) == 4);
	rule = array_idx(&rules, 0);
	test_assert_strcmp(rule->old_name, "Sent Items");
	test_assert_strcmp(rule->new_name, "Sent");
	test_assert(rule->line == 2 && !rule->pattern);
	rule = array_idx(&rules, 1);
	test_assert_strcmp(rule->old_name, "Odd = name ");
	test_assert_strcmp(rule->new_name, "Odd \"x\"");
	rule = array_idx(&rules, 2);
	test_assert(rule->pattern && rule->line == 5);
	rule = array_idx(&rules, 3);
	test_assert_strcmp(rule->new_name, "");
	for (i = 0; i < N_ELEMENTS(bad); i++) {
		array_clear(&rules);
		test_assert_idx(migrate_folder_map_parse(bad[i].data,
			"map.conf", pool, &rules, &error) < 0, i);
		test_assert_strcmp_idx(error, bad[i].error, i);
	}
	pool_unref(&pool);
	test_end();
}

struct test_expect {
	const char *old_name, *new_name;
	enum migrate_folder_map_reason reason;
};

static void
test_resolve(const struct migrate_folder_map_settings *set,
	     const struct migrate_folder_map_folder *folders,
	     const struct test_expect *expect, unsigned int count)
{
	ARRAY_TYPE(migrate_folder_map_entry) entries;
	const struct migrate_folder_map_entry *entry;
	const char *error = NULL;
	unsigned int i;

	t_array_init(&entries, count);
	test_assert(migrate_folder_map_resolve(set, folders, count,
		pool_datastack_create(), &entries, &error) == 0);
	if (error != NULL)
		i_error("%s", error);
	test_assert(array_count(&entries) == count);
	for (i = 0; i < count && i < array_count(&entries); i++) {
		entry = array_idx(&entries, i);
		test_assert_strcmp_idx(entry->old_name, expect[i].old_name, i);
		test_assert_strcmp_idx(entry->new_name, expect[i].new_name, i);
		test_assert_idx(entry->reason == expect[i].reason, i);
	}
}

static void test_migrate_folder_map_exchange(void)
{
	static const struct migrate_folder_map_folder folders[] = {
		{ .name = "INBOX" },
		{ .name = "Sent Items" },
		{ .name = "Sent Items/2019" },
		{ .name = "Deleted Items" },
		{ .name = "Junk Email" },
		{ .name = "Drafts" },
		{ .name = "Outbox" },
		{ .name = "Gesendete Elemente/Alt" },
		{ .name = "Work" },
	};
	static const struct test_expect expect[] = {
		{ "INBOX", "INBOX", MIGRATE_FOLDER_MAP_KEPT },
		{ "Sent Items", "Sent", MIGRATE_FOLDER_MAP_BUILTIN },
		{ "Sent Items/2019", "Sent/2019", MIGRATE_FOLDER_MAP_PARENT },
		{ "Deleted Items", "Trash", MIGRATE_FOLDER_MAP_BUILTIN },
		{ "Junk Email", "Spam", MIGRATE_FOLDER_MAP_BUILTIN },
		{ "Drafts", "Drafts", MIGRATE_FOLDER_MAP_BUILTIN },
		{ "Outbox", "Outbox", MIGRATE_FOLDER_MAP_KEPT },
		{ "Gesendete Elemente/Alt", "Sent/Alt", MIGRATE_FOLDER_MAP_PARENT },
		{ "Work", "Work", MIGRATE_FOLDER_MAP_KEPT },
	};
	static const struct test_expect expect_off[] = {
		{ "INBOX", "INBOX", MIGRATE_FOLDER_MAP_KEPT },
		{ "Sent Items", "Sent Items", MIGRATE_FOLDER_MAP_KEPT },
		{ "Sent Items/2019", "Sent Items/2019", MIGRATE_FOLDER_MAP_KEPT },
		{ "Deleted Items", "Deleted Items", MIGRATE_FOLDER_MAP_KEPT },
		{ "Junk Email", "Junk Email", MIGRATE_FOLDER_MAP_KEPT },
		{ "Drafts", "Drafts", MIGRATE_FOLDER_MAP_KEPT },
		{ "Outbox", "Outbox", MIGRATE_FOLDER_MAP_KEPT },
		{ "Gesendete Elemente/Alt", "Gesendete Elemente/Alt", MIGRATE_FOLDER_MAP_KEPT },
		{ "Work", "Work", MIGRATE_FOLDER_MAP_KEPT },
	};
	struct migrate_folder_map_settings set;

	test_begin("folder map: Exchange names, built-in table on and off");
	test_settings(&set);
	test_resolve(&set, folders, expect, N_ELEMENTS(folders));
	set.builtin = FALSE;
	test_resolve(&set, folders, expect_off, N_ELEMENTS(folders));
	test_end();
}

static void test_migrate_folder_map_special_use(void)
{
	static const struct migrate_folder_map_folder folders[] = {
		{ .name = "INBOX" },
		{ .name = "Sendt", .special_use = "\\Sent" },
		{ .name = "Kurv", .special_use = "\\Trash" },
		{ .name = "Kladder", .special_use = "\\Drafts" },
		{ .name = "Misc", .special_use = "\\Flagged" },
	};
	static const struct test_expect expect[] = {
		{ "INBOX", "INBOX", MIGRATE_FOLDER_MAP_KEPT },
		{ "Sendt", "Sent", MIGRATE_FOLDER_MAP_SPECIAL_USE },
		{ "Kurv", "Trash", MIGRATE_FOLDER_MAP_SPECIAL_USE },
		/* no \Drafts folder configured here: the name stays */
		{ "Kladder", "Kladder", MIGRATE_FOLDER_MAP_KEPT },
		{ "Misc", "Misc", MIGRATE_FOLDER_MAP_KEPT },
	};
	struct migrate_folder_map_settings set;

	test_begin("folder map: SPECIAL-USE");
	test_settings(&set);
	test_resolve(&set, folders, expect, N_ELEMENTS(folders));
	test_end();
}

static void test_migrate_folder_map_prefix(void)
{
	static const struct migrate_folder_map_folder folders[] = {
		{ .name = "INBOX" },
		{ .name = "INBOX/Sent" },
		{ .name = "INBOX/Sent Items" , .noselect = TRUE },
		{ .name = "INBOX/Trash" },
		{ .name = "INBOX/Work" },
		{ .name = "INBOX/Work/2020" },
	};
	static const struct test_expect expect[] = {
		{ "INBOX", "INBOX", MIGRATE_FOLDER_MAP_KEPT },
		{ "INBOX/Sent", "Sent", MIGRATE_FOLDER_MAP_BUILTIN },
		{ "INBOX/Sent Items", "Sent", MIGRATE_FOLDER_MAP_BUILTIN },
		{ "INBOX/Trash", "Trash", MIGRATE_FOLDER_MAP_BUILTIN },
		{ "INBOX/Work", "Work", MIGRATE_FOLDER_MAP_PREFIX },
		{ "INBOX/Work/2020", "Work/2020", MIGRATE_FOLDER_MAP_PREFIX },
	};
	static const struct migrate_folder_map_folder mixed[] = {
		{ .name = "INBOX" },
		{ .name = "INBOX/Work" },
		{ .name = "Other" },
	};
	static const struct test_expect expect_mixed[] = {
		{ "INBOX", "INBOX", MIGRATE_FOLDER_MAP_KEPT },
		{ "INBOX/Work", "INBOX/Work", MIGRATE_FOLDER_MAP_KEPT },
		{ "Other", "Other", MIGRATE_FOLDER_MAP_KEPT },
	};
	static const struct test_expect expect_forced[] = {
		{ "INBOX", "INBOX", MIGRATE_FOLDER_MAP_KEPT },
		{ "INBOX/Work", "Work", MIGRATE_FOLDER_MAP_PREFIX },
		{ "Other", "Other", MIGRATE_FOLDER_MAP_KEPT },
	};
	struct migrate_folder_map_settings set;

	test_begin("folder map: prefix stripping");
	test_settings(&set);
	/* automatic: every folder is below INBOX (Courier) */
	test_resolve(&set, folders, expect, N_ELEMENTS(folders));
	/* automatic: not all of them are */
	test_resolve(&set, mixed, expect_mixed, N_ELEMENTS(mixed));
	set.strip_prefix = "INBOX";
	test_resolve(&set, mixed, expect_forced, N_ELEMENTS(mixed));
	set.strip_prefix = "";
	test_resolve(&set, mixed, expect_mixed, N_ELEMENTS(mixed));
	test_end();
}

static void test_migrate_folder_map_file_rules(void)
{
	static const struct migrate_folder_map_folder folders[] = {
		{ .name = "INBOX" },
		{ .name = "Sent", .special_use = "\\Sent" },
		{ .name = "Sent Items" },
		{ .name = "Sent Items/Old" },
		{ .name = "Projekte/A" },
		{ .name = "Projekte/B/C" },
		{ .name = "Deleted Items" },
		{ .name = "Archive 2019" },
	};
	static const struct test_expect expect[] = {
		{ "INBOX", "INBOX", MIGRATE_FOLDER_MAP_KEPT },
		{ "Sent", "Sent", MIGRATE_FOLDER_MAP_SPECIAL_USE },
		{ "Sent Items", "Outlook Sent", MIGRATE_FOLDER_MAP_FILE },
		{ "Sent Items/Old", "Outlook Sent/Old", MIGRATE_FOLDER_MAP_FILE },
		{ "Projekte/A", "Work/A", MIGRATE_FOLDER_MAP_FILE },
		{ "Projekte/B/C", "Work/B/C", MIGRATE_FOLDER_MAP_FILE },
		/* "keep": the file wins over the table */
		{ "Deleted Items", "Deleted Items", MIGRATE_FOLDER_MAP_FILE },
		{ "Archive 2019", "Archive/2019", MIGRATE_FOLDER_MAP_FILE },
	};
	ARRAY_TYPE(migrate_folder_map_rule) rules;
	struct migrate_folder_map_settings set;
	const char *error;

	test_begin("folder map: map file rules win, subtrees, patterns");
	t_array_init(&rules, 8);
	test_assert(migrate_folder_map_parse(
		"Sent Items = Outlook Sent\n"
		"Projekte/* = Work/*\n"
		"Deleted Items =\n"
		"Archive * = Archive/*\n", "m", pool_datastack_create(),
		&rules, &error) == 0);
	test_settings(&set);
	set.rules = &rules;
	test_resolve(&set, folders, expect, N_ELEMENTS(folders));
	test_end();
}

static void test_migrate_folder_map_conflicts(void)
{
	static const struct migrate_folder_map_folder both_sent[] = {
		{ .name = "INBOX" },
		{ .name = "Sent" },
		{ .name = "Sent Items" },
	};
	static const struct migrate_folder_map_folder two_mapped[] = {
		{ .name = "Deleted Items" },
		{ .name = "Papierkorb" },
	};
	static const struct migrate_folder_map_folder onto_inbox[] = {
		{ .name = "INBOX" },
		{ .name = "Posteingang" },
	};
	static const struct migrate_folder_map_folder noselect[] = {
		{ .name = "INBOX/Sent", .noselect = TRUE },
		{ .name = "INBOX/Sent Items" },
	};
	ARRAY_TYPE(migrate_folder_map_entry) entries;
	ARRAY_TYPE(migrate_folder_map_rule) rules;
	struct migrate_folder_map_settings set;
	const char *error;

	test_begin("folder map: conflicts");
	test_settings(&set);
	t_array_init(&entries, 8);
	test_assert(migrate_folder_map_resolve(&set, both_sent,
		N_ELEMENTS(both_sent), pool_datastack_create(), &entries,
		&error) < 0);
	test_assert_strcmp(error, "old folders 'Sent' and 'Sent Items' would "
		"both become 'Sent' here: keep one apart with a line in "
		"migrate_folder_map_file (e.g. 'Sent Items = Sent Items')");
	array_clear(&entries);
	test_assert(migrate_folder_map_resolve(&set, two_mapped,
		N_ELEMENTS(two_mapped), pool_datastack_create(), &entries,
		&error) < 0);
	test_assert(strstr(error, "'Deleted Items' and 'Papierkorb' would both become 'Trash'") != NULL);

	/* the map file resolves it */
	t_array_init(&rules, 2);
	test_assert(migrate_folder_map_parse("Sent Items = Sent Items\n", "m",
		pool_datastack_create(), &rules, &error) == 0);
	set.rules = &rules;
	array_clear(&entries);
	test_assert(migrate_folder_map_resolve(&set, both_sent,
		N_ELEMENTS(both_sent), pool_datastack_create(), &entries,
		&error) == 0);

	/* onto INBOX, in any case */
	array_clear(&rules);
	test_assert(migrate_folder_map_parse("Posteingang = inbox\n", "m",
		pool_datastack_create(), &rules, &error) == 0);
	array_clear(&entries);
	test_assert(migrate_folder_map_resolve(&set, onto_inbox,
		N_ELEMENTS(onto_inbox), pool_datastack_create(), &entries,
		&error) < 0);
	test_assert(strstr(error, "'INBOX' and 'Posteingang'") != NULL);

	/* a parent that is no folder itself doesn't count */
	set.rules = NULL;
	array_clear(&entries);
	test_assert(migrate_folder_map_resolve(&set, noselect,
		N_ELEMENTS(noselect), pool_datastack_create(), &entries,
		&error) == 0);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_folder_map_builtin,
		test_migrate_folder_map_parse,
		test_migrate_folder_map_exchange,
		test_migrate_folder_map_special_use,
		test_migrate_folder_map_prefix,
		test_migrate_folder_map_file_rules,
		test_migrate_folder_map_conflicts,
		NULL
	};
	return test_run(test_functions);
}
