/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "test-common.h"
#include "migrate-sources.h"

static void test_migrate_sources_roundtrip(void)
{
	ARRAY_TYPE(migrate_source_mark) marks, parsed;
	struct migrate_source_mark mark, *found;
	string_t *str = t_str_new(256), *str2 = t_str_new(256);
	const char *error;

	test_begin("sources write and read back");
	t_array_init(&marks, 4);
	i_zero(&mark);
	mark.name = "INBOX";
	mark.uidvalidity = 1796576195;
	mark.next_uid = 201;
	mark.dest_guid = "c92f64f79f0d1ed01e6d5b314f04886c";
	mark.dest_next_uid = 203;
	array_push_back(&marks, &mark);
	mark.name = "Odd\tname\\with";
	mark.dest_guid = "";
	mark.next_uid = 1;
	array_push_back(&marks, &mark);
	migrate_sources_append(str, &marks);

	t_array_init(&parsed, 4);
	test_assert(migrate_sources_parse(str_c(str), pool_datastack_create(),
					  &parsed, &error) == 0);
	test_assert_ucmp(array_count(&parsed), ==, 2);
	found = migrate_sources_find(&parsed, "INBOX");
	test_assert(found != NULL && found->uidvalidity == 1796576195 &&
		    found->next_uid == 201 && found->dest_next_uid == 203 &&
		    strcmp(found->dest_guid,
			   "c92f64f79f0d1ed01e6d5b314f04886c") == 0);
	found = migrate_sources_find(&parsed, "Odd\tname\\with");
	test_assert(found != NULL && found->next_uid == 1 &&
		    found->dest_guid[0] == '\0');
	test_assert(migrate_sources_find(&parsed, "Work") == NULL);
	migrate_sources_append(str2, &parsed);
	test_assert_strcmp(str_c(str), str_c(str2));

	static const char *const broken[] = {
		"", "V2\n", "V1\n1\t2\tg\t3\n", "V1\nx\t2\tg\t3\tINBOX\n",
		"V1\n1\t2\tg\t3\t\n",
	};
	unsigned int i;
	for (i = 0; i < N_ELEMENTS(broken); i++) {
		array_clear(&parsed);
		test_assert_idx(migrate_sources_parse(broken[i],
			pool_datastack_create(), &parsed, &error) < 0, i);
	}
	test_end();
}

static void test_migrate_sources_names(void)
{
	test_begin("sources folder names with --folder-prefix");
	test_assert_strcmp(migrate_sources_source_name("Work", NULL, '/'),
			   "Work");
	test_assert_strcmp(migrate_sources_source_name("Old/INBOX", "Old",
						       '/'), "INBOX");
	test_assert_strcmp(migrate_sources_source_name("Old/a/b", "Old", '/'),
			   "a/b");
	test_assert(migrate_sources_source_name("Old", "Old", '/') == NULL);
	test_assert(migrate_sources_source_name("Older/x", "Old", '/') == NULL);
	test_assert(migrate_sources_source_name("INBOX", "Old", '/') == NULL);
	test_assert_strcmp(migrate_sources_dest_name("INBOX", "Old", '.'),
			   "Old.INBOX");
	test_assert_strcmp(migrate_sources_dest_name("Work", NULL, '/'),
			   "Work");
	test_end();
}

static void test_migrate_sources_msg_key(void)
{
	test_begin("sources message identity");
	test_assert_strcmp(migrate_sources_msg_key(" <a@b> ", "Mon, 1 Jan",
						   "x", "y"),
			   migrate_sources_msg_key("<a@b>", "Mon, 1 Jan ",
						   "other", NULL));
	test_assert(strcmp(migrate_sources_msg_key("<a@b>", "Mon", NULL, NULL),
			   migrate_sources_msg_key("<a@c>", "Mon", NULL,
						   NULL)) != 0);
	/* without a Message-ID: Date, From and Subject */
	test_assert(strcmp(migrate_sources_msg_key(NULL, "Mon", "a", "s"),
			   migrate_sources_msg_key("", "Mon", "a", "t")) != 0);
	test_assert_strcmp(migrate_sources_msg_key(NULL, "Mon", "a", "s"),
			   migrate_sources_msg_key("", "Mon", "a", "s"));

	/* what the seen file keeps: 16 hex digits, stable */
	test_assert_strcmp(migrate_sources_key_hash("abc"),
			   "a9993e364706816a");
	test_assert(strcmp(migrate_sources_key_hash("abd"),
			   migrate_sources_key_hash("abc")) != 0);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_sources_roundtrip,
		test_migrate_sources_names,
		test_migrate_sources_msg_key,
		NULL
	};
	return test_run(test_functions);
}
