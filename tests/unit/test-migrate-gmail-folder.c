/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "test-common.h"
#include "migrate-gmail-folder.h"

static void test_migrate_gmail_folder_classify(void)
{
	test_begin("gmail folder: classify by SPECIAL-USE");
	test_assert(migrate_gmail_folder_classify(NULL) == MIGRATE_GMAIL_FOLDER_LABEL);
	test_assert(migrate_gmail_folder_classify("") == MIGRATE_GMAIL_FOLDER_LABEL);
	test_assert(migrate_gmail_folder_classify("\\All") == MIGRATE_GMAIL_FOLDER_ALL);
	test_assert(migrate_gmail_folder_classify("\\all") == MIGRATE_GMAIL_FOLDER_ALL);
	test_assert(migrate_gmail_folder_classify("\\Flagged") == MIGRATE_GMAIL_FOLDER_VIEW);
	test_assert(migrate_gmail_folder_classify("\\Important") == MIGRATE_GMAIL_FOLDER_VIEW);
	test_assert(migrate_gmail_folder_classify("\\Sent") == MIGRATE_GMAIL_FOLDER_SENT);
	test_assert(migrate_gmail_folder_classify("\\Drafts") == MIGRATE_GMAIL_FOLDER_DRAFTS);
	test_assert(migrate_gmail_folder_classify("\\Trash") == MIGRATE_GMAIL_FOLDER_TRASH);
	test_assert(migrate_gmail_folder_classify("\\Junk") == MIGRATE_GMAIL_FOLDER_JUNK);
	test_assert(migrate_gmail_folder_classify("\\Archive") == MIGRATE_GMAIL_FOLDER_LABEL);
	/* a view is never copied, whatever else it is flagged as */
	test_assert(migrate_gmail_folder_classify("\\Sent \\Important") == MIGRATE_GMAIL_FOLDER_VIEW);
	test_assert(migrate_gmail_folder_classify("\\Trash \\All") == MIGRATE_GMAIL_FOLDER_ALL);
	test_assert_strcmp(migrate_gmail_folder_special_use(MIGRATE_GMAIL_FOLDER_SENT), "\\Sent");
	test_assert(migrate_gmail_folder_special_use(MIGRATE_GMAIL_FOLDER_VIEW) == NULL);
	test_end();
}

static void test_migrate_gmail_folder_dest_name(void)
{
	const struct migrate_special_use_folder mailboxes[] = {
		{ .name = "Work", .special_use = "" },
		{ .name = "Deleted Items", .special_use = "\\Trash" },
		{ .name = "Sent Messages", .special_use = "\\Archive \\sent" },
	};

	test_begin("gmail folder: destination of a SPECIAL-USE folder");
	test_assert_strcmp(migrate_gmail_folder_dest_name(
		MIGRATE_GMAIL_FOLDER_SENT, mailboxes, N_ELEMENTS(mailboxes)),
		"Sent Messages");
	test_assert_strcmp(migrate_gmail_folder_dest_name(
		MIGRATE_GMAIL_FOLDER_TRASH, mailboxes, N_ELEMENTS(mailboxes)),
		"Deleted Items");
	/* none configured: the flag's name */
	test_assert_strcmp(migrate_gmail_folder_dest_name(
		MIGRATE_GMAIL_FOLDER_DRAFTS, mailboxes, N_ELEMENTS(mailboxes)),
		"Drafts");
	test_assert_strcmp(migrate_gmail_folder_dest_name(
		MIGRATE_GMAIL_FOLDER_JUNK, NULL, 0), "Junk");
	test_end();
}

static void test_migrate_gmail_parse_include(void)
{
	const char *error;
	bool trash, junk;

	test_begin("gmail folder: migrate_gmail_include");
	test_assert(migrate_gmail_parse_include(NULL, &trash, &junk, &error) == 0);
	test_assert(!trash && !junk);
	test_assert(migrate_gmail_parse_include("\\Trash", &trash, &junk, &error) == 0);
	test_assert(trash && !junk);
	test_assert(migrate_gmail_parse_include("junk, \\TRASH", &trash, &junk, &error) == 0);
	test_assert(trash && junk);
	test_assert(migrate_gmail_parse_include("Spam", &trash, &junk, &error) == 0);
	test_assert(!trash && junk);
	test_assert(migrate_gmail_parse_include("\\Trash \\Important", &trash, &junk, &error) < 0);
	test_assert(strstr(error, "\\Important") != NULL);
	test_end();
}

static void test_migrate_gmail_msgid(void)
{
	test_begin("gmail folder: message ids and POP3 UIDLs");
	test_assert(migrate_gmail_guid_is_msgid("1278455344230334865"));
	test_assert(migrate_gmail_guid_is_msgid("18446744073709551615"));
	test_assert(!migrate_gmail_guid_is_msgid("18446744073709551616"));
	test_assert(!migrate_gmail_guid_is_msgid(""));
	test_assert(!migrate_gmail_guid_is_msgid("0123"));
	test_assert(!migrate_gmail_guid_is_msgid("a3f1c2d4e5f60718293a4b5c6d7e8f90"));
	test_assert(!migrate_gmail_guid_is_msgid("1700000000.M1P2.host"));
	test_assert_strcmp(migrate_gmail_pop3_uidl("1278455344230334865"),
			   "GmailId11bdfc5cae0c8191");
	test_assert_strcmp(migrate_gmail_pop3_uidl("255"), "GmailIdff");
	test_assert(migrate_gmail_pop3_uidl("abc") == NULL);
	test_end();
}

static void test_migrate_gmail_label_keyword(void)
{
	test_begin("gmail folder: label keywords");
	test_assert_strcmp(migrate_gmail_label_keyword("Work"), "Work");
	test_assert_strcmp(migrate_gmail_label_keyword("Receipts 2023"), "Receipts_2023");
	test_assert_strcmp(migrate_gmail_label_keyword("Projects/Alpha"), "Projects/Alpha");
	test_assert_strcmp(migrate_gmail_label_keyword("Fam\xc3\xadlia"), "Fam&AO0-lia");
	test_assert_strcmp(migrate_gmail_label_keyword("a(b)\"c\\d]e%f*g{h"),
			   "a_b__c_d_e_f_g_h");
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_gmail_folder_classify,
		test_migrate_gmail_folder_dest_name,
		test_migrate_gmail_parse_include,
		test_migrate_gmail_msgid,
		test_migrate_gmail_label_keyword,
		NULL
	};
	return test_run(test_functions);
}
