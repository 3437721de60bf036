/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "test-common.h"
#include "migrate-gmail-ledger.h"

static void test_migrate_gmail_ledger_roundtrip(void)
{
	struct migrate_gmail_ledger *ledger, *parsed;
	string_t *str = t_str_new(256), *str2 = t_str_new(256);
	const char *error;

	test_begin("gmail ledger write and read back");
	ledger = migrate_gmail_ledger_init();
	migrate_gmail_ledger_add(ledger, "INBOX", "1278455344230334865");
	migrate_gmail_ledger_add(ledger, "INBOX", "99");
	migrate_gmail_ledger_add(ledger, "INBOX", "99");
	migrate_gmail_ledger_add(ledger, "Work\tand\\play", "100");
	test_assert_ucmp(migrate_gmail_ledger_count(ledger), ==, 3);
	migrate_gmail_ledger_append(str, ledger);
	/* ids sorted as numbers, folders by name */
	test_assert_strcmp(str_c(str), "# dovecot-migrate Gmail ledger\nV1\n"
		"F\tINBOX\n99\n1278455344230334865\n"
		"F\tWork\001tand\\play\n100\n");

	parsed = migrate_gmail_ledger_init();
	test_assert(migrate_gmail_ledger_parse(parsed, str_c(str),
					       &error) == 0);
	test_assert(migrate_gmail_ledger_has(parsed, "INBOX", "99"));
	test_assert(migrate_gmail_ledger_has(parsed, "Work\tand\\play",
					     "100"));
	test_assert(!migrate_gmail_ledger_has(parsed, "INBOX", "100"));
	test_assert(!migrate_gmail_ledger_has(parsed, "Work", "100"));
	migrate_gmail_ledger_append(str2, parsed);
	test_assert_strcmp(str_c(str), str_c(str2));

	/* a mirroring pass records a folder anew */
	migrate_gmail_ledger_clear_folder(parsed, "INBOX");
	test_assert(!migrate_gmail_ledger_has(parsed, "INBOX", "99"));
	test_assert_ucmp(migrate_gmail_ledger_count(parsed), ==, 1);
	str_truncate(str2, 0);
	migrate_gmail_ledger_append(str2, parsed);
	test_assert(strstr(str_c(str2), "INBOX") == NULL);

	migrate_gmail_ledger_deinit(&ledger);
	migrate_gmail_ledger_deinit(&parsed);
	test_assert(ledger == NULL);
	test_end();
}

static void test_migrate_gmail_ledger_broken(void)
{
	static const char *const broken[] = {
		"",
		"V2\n",
		"V1\n12345\n",
		"V1\nF\tINBOX\nabc\n",
		"V1\nF\tINBOX\n0123\n",
		"V1\nF\n1\n",
		"V1\nFolder\n1\n",
	};
	struct migrate_gmail_ledger *ledger;
	const char *error;
	unsigned int i;

	test_begin("gmail ledger broken files");
	for (i = 0; i < N_ELEMENTS(broken); i++) {
		ledger = migrate_gmail_ledger_init();
		error = NULL;
		test_assert_idx(migrate_gmail_ledger_parse(ledger, broken[i],
							   &error) < 0, i);
		test_assert_idx(error != NULL, i);
		migrate_gmail_ledger_deinit(&ledger);
	}
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_gmail_ledger_roundtrip,
		test_migrate_gmail_ledger_broken,
		NULL
	};
	return test_run(test_functions);
}
