/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "test-common.h"
#include "migrate-msgid-diff.h"

/* "a b - a" -> messages with Message-IDs <a>, <b>, none, <a>; UIDs 1..
   ("a/7": UID 7) and size 100 * position */
static void
msgs_build(const char *spec, ARRAY_TYPE(migrate_msgid_msg) *msgs)
{
	const char *const *ids = t_strsplit_spaces(spec, " ");
	struct migrate_msgid_msg *msg;
	const char *id, *uid;
	unsigned int i;

	t_array_init(msgs, 8);
	for (i = 0; ids[i] != NULL; i++) {
		msg = array_append_space(msgs);
		uid = strchr(ids[i], '/');
		id = uid == NULL ? ids[i] : t_strdup_until(ids[i], uid);
		msg->msgid = strcmp(id, "-") == 0 ? NULL :
			t_strdup_printf("<%s@example.com>", id);
		msg->uid = uid == NULL ? i + 1 : (uint32_t)atoi(uid + 1);
		msg->size = 100 * (i + 1);
	}
}

static void
diff(const char *old_spec, const char *new_spec,
     struct migrate_msgid_diff_result *result_r)
{
	ARRAY_TYPE(migrate_msgid_msg) old_msgs, new_msgs;

	msgs_build(old_spec, &old_msgs);
	msgs_build(new_spec, &new_msgs);
	migrate_msgid_diff(pool_datastack_create(), &old_msgs, &new_msgs,
			   result_r);
}

static const struct migrate_msgid_msg *
msg_idx(const ARRAY_TYPE(migrate_msgid_msg_p) *msgs, unsigned int i)
{
	return array_idx_elem(msgs, i);
}

static void test_migrate_msgid_normalize(void)
{
	static const struct {
		const char *value, *expected;
	} tests[] = {
		{ "<a@b>", "<a@b>" },
		{ "  <a@b>  ", "<a@b>" },
		/* refolded by a server */
		{ "<very-long-local-part@\r\n example.com>",
		  "<very-long-local-part@example.com>" },
		{ "<a@b> (added by a gateway)", "<a@b>" },
		{ "a@b", "a@b" },
		{ " <a@b", "<a@b" },
		/* case matters in the local part */
		{ "<A@b>", "<A@b>" },
		{ "", NULL },
		{ " \t", NULL },
	};
	unsigned int i;

	test_begin("msgid normalize");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		const char *got = migrate_msgid_normalize(tests[i].value);

		if (tests[i].expected == NULL)
			test_assert_idx(got == NULL, i);
		else
			test_assert_idx(null_strcmp(got, tests[i].expected) == 0, i);
	}
	test_end();
}

static void test_migrate_msgid_diff_identical(void)
{
	struct migrate_msgid_diff_result result;

	test_begin("msgid diff identical, any order");
	diff("a b c d", "d c b a", &result);
	test_assert_ucmp(result.old_count, ==, 4);
	test_assert_ucmp(result.new_count, ==, 4);
	test_assert_ucmp(result.missing, ==, 0);
	test_assert_ucmp(result.extra, ==, 0);
	test_assert_ucmp(array_count(&result.missing_msgs), ==, 0);
	test_assert_ucmp(array_count(&result.extra_msgs), ==, 0);
	test_assert(result.old_size == 1000);
	test_assert(result.new_size == 1000);

	diff("", "", &result);
	test_assert_ucmp(result.old_count, ==, 0);
	test_assert_ucmp(result.missing + result.extra, ==, 0);
	test_end();
}

static void test_migrate_msgid_diff_missing_extra(void)
{
	struct migrate_msgid_diff_result result;
	const struct migrate_msgid_msg *msg;

	test_begin("msgid diff missing and extra");
	diff("a b c d", "a c d x y", &result);
	test_assert_ucmp(result.missing, ==, 1);
	test_assert_ucmp(result.extra, ==, 2);
	test_assert_ucmp(array_count(&result.missing_msgs), ==, 1);
	msg = msg_idx(&result.missing_msgs, 0);
	test_assert_strcmp(msg->msgid, "<b@example.com>");
	test_assert_ucmp(msg->uid, ==, 2);
	test_assert(msg->size == 200);
	test_assert_ucmp(array_count(&result.extra_msgs), ==, 2);
	/* in the order of the list here */
	test_assert_strcmp(msg_idx(&result.extra_msgs, 0)->msgid,
			   "<x@example.com>");
	test_assert_ucmp(msg_idx(&result.extra_msgs, 0)->uid, ==, 4);
	test_assert_strcmp(msg_idx(&result.extra_msgs, 1)->msgid,
			   "<y@example.com>");
	test_end();
}

static void test_migrate_msgid_diff_duplicates(void)
{
	struct migrate_msgid_diff_result result;

	test_begin("msgid diff duplicates count as often as they occur");
	/* two copies at the old server, one here: one is missing */
	diff("a a b", "a b", &result);
	test_assert_ucmp(result.missing, ==, 1);
	test_assert_ucmp(result.extra, ==, 0);
	test_assert_ucmp(msg_idx(&result.missing_msgs, 0)->uid, ==, 2);

	/* copied twice here */
	diff("a b", "a b b", &result);
	test_assert_ucmp(result.missing, ==, 0);
	test_assert_ucmp(result.extra, ==, 1);
	test_assert_ucmp(msg_idx(&result.extra_msgs, 0)->uid, ==, 3);
	test_end();
}

static void test_migrate_msgid_diff_same_uid_first(void)
{
	struct migrate_msgid_diff_result result;

	test_begin("msgid diff: among duplicates the same UID pairs first");
	/* UID 1 was expunged here, UID 3 (same Message-ID) is here */
	diff("a/1 b/2 a/3", "b/2 a/3", &result);
	test_assert_ucmp(result.missing, ==, 1);
	test_assert_ucmp(msg_idx(&result.missing_msgs, 0)->uid, ==, 1);

	/* same UID, other Message-ID: no pairing, by Message-ID only */
	diff("a/1 b/2", "b/1 a/2", &result);
	test_assert_ucmp(result.missing + result.extra, ==, 0);

	/* renumbered here (UIDs say nothing): still all there */
	diff("a/1 a/2 b/3", "a/7 b/8 a/9", &result);
	test_assert_ucmp(result.missing + result.extra, ==, 0);

	/* two old folders copied into one: their UIDs repeat */
	diff("a/1 a/1", "a/1", &result);
	test_assert_ucmp(result.missing, ==, 1);

	/* a UID here that the old server has for another message */
	diff("a/1 a/2", "x/1 a/2", &result);
	test_assert_ucmp(result.missing, ==, 1);
	test_assert_ucmp(msg_idx(&result.missing_msgs, 0)->uid, ==, 1);
	test_assert_ucmp(result.extra, ==, 1);
	test_assert_ucmp(msg_idx(&result.extra_msgs, 0)->uid, ==, 1);
	test_end();
}

static void test_migrate_msgid_diff_no_msgid(void)
{
	struct migrate_msgid_diff_result result;

	test_begin("msgid diff: messages without a Message-ID by count");
	diff("a - - b -", "- a b -", &result);
	test_assert_ucmp(result.old_no_msgid, ==, 3);
	test_assert_ucmp(result.new_no_msgid, ==, 2);
	test_assert_ucmp(result.missing, ==, 1);
	test_assert_ucmp(result.extra, ==, 0);
	/* they can't be named */
	test_assert_ucmp(array_count(&result.missing_msgs), ==, 0);

	diff("-", "- - a", &result);
	test_assert_ucmp(result.missing, ==, 0);
	test_assert_ucmp(result.extra, ==, 2);
	test_assert_ucmp(array_count(&result.extra_msgs), ==, 1);

	diff("- -", "- -", &result);
	test_assert_ucmp(result.missing + result.extra, ==, 0);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_msgid_normalize,
		test_migrate_msgid_diff_identical,
		test_migrate_msgid_diff_missing_extra,
		test_migrate_msgid_diff_duplicates,
		test_migrate_msgid_diff_same_uid_first,
		test_migrate_msgid_diff_no_msgid,
		NULL
	};
	return test_run(test_functions);
}
