/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "test-common.h"
#include "migrate-settings.h"

static void test_migrate_setting_find(void)
{
	const struct migrate_setting_def *def;

	test_begin("settings: known names and their plugins");
	def = migrate_setting_find("migrate_pop3_unmatched");
	test_assert(def != NULL && strcmp(def->plugin, "migrate_pop3") == 0);
	def = migrate_setting_find("migrate_throttle_bytes");
	test_assert(def != NULL &&
		    strcmp(def->plugin, "migrate_throttle") == 0);
	def = migrate_setting_find("migrate_state_dir");
	test_assert(def != NULL && def->plugin == NULL);
	test_assert(migrate_setting_find("migrate_pop3_unmatchd") == NULL);
	test_assert(migrate_setting_find("migrate_") == NULL);
	test_end();
}

static void test_migrate_setting_suggest(void)
{
	static const struct {
		const char *typo, *suggestion;
	} tests[] = {
		{ "migrate_pop3_unmatchd", "migrate_pop3_unmatched" },
		{ "migrate_throttle_byts", "migrate_throttle_bytes" },
		{ "migrate_state_directory", NULL },
		{ "migrate_statedir", "migrate_state_dir" },
		{ "migrate_pop3_mailbxes", "migrate_pop3_mailboxes" },
		{ "migrate_gmail_inclde", "migrate_gmail_include" },
		{ "migrate_something_else", NULL },
	};
	const char *s;
	unsigned int i;

	test_begin("settings: did you mean");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		s = migrate_setting_suggest(tests[i].typo);
		if (tests[i].suggestion == NULL)
			test_assert_idx(s == NULL, i);
		else
			test_assert_idx(s != NULL &&
				strcmp(s, tests[i].suggestion) == 0, i);
	}
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_setting_find,
		test_migrate_setting_suggest,
		NULL
	};
	return test_run(test_functions);
}
