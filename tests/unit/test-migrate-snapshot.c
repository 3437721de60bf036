/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "test-common.h"
#include "migrate-snapshot.h"

/* doveadm -f tab mailbox status output: columns in doveadm's own order */
#define STATUS_HEADER "mailbox\tmessages\tuidnext\tuidvalidity\thighestmodseq\tvsize\tguid\n"
#define STATUS_INBOX "INBOX\t20\t21\t1796576195\t2\t430400\tc92f64f79f0d1ed01e6d5b314f04886c\n"
#define STATUS_WORK "Work\t5\t6\t1796576194\t2\t21313\t8a787438c2c0cf5248ac025642115fad\n"

static void
test_snapshot(const char *status, struct migrate_snapshot *snapshot_r)
{
	const char *error;

	if (migrate_snapshot_parse_status(status, pool_datastack_create(),
					  snapshot_r, &error) < 0)
		i_panic("bad test input: %s", error);
}

static void test_migrate_snapshot_parse_status(void)
{
	struct migrate_snapshot snapshot;
	const struct migrate_snapshot_box *box;
	uint64_t messages, vsize;
	const char *error;

	test_begin("snapshot from doveadm mailbox status");
	test_assert(migrate_snapshot_parse_status(STATUS_HEADER STATUS_INBOX
		STATUS_WORK, pool_datastack_create(), &snapshot,
		&error) == 0);
	test_assert_ucmp(array_count(&snapshot.boxes), ==, 2);
	box = array_idx(&snapshot.boxes, 0);
	test_assert_strcmp(box->name, "INBOX");
	test_assert_strcmp(box->guid, "c92f64f79f0d1ed01e6d5b314f04886c");
	test_assert(box->uidvalidity == 1796576195);
	test_assert(box->uidnext == 21);
	test_assert(box->highestmodseq == 2);
	test_assert(box->messages == 20);
	test_assert(box->vsize == 430400);
	migrate_snapshot_totals(&snapshot, &messages, &vsize);
	test_assert(messages == 25);
	test_assert(vsize == 430400 + 21313);

	/* log lines before the table (imapc's "Connected") */
	test_assert(migrate_snapshot_parse_status("doveadm(a): Info: "
		"imapc(h:1): Connected\n" STATUS_HEADER STATUS_INBOX,
		pool_datastack_create(), &snapshot, &error) == 0);
	test_assert_ucmp(array_count(&snapshot.boxes), ==, 1);

	/* an account without mail: only the header */
	test_assert(migrate_snapshot_parse_status(STATUS_HEADER,
		pool_datastack_create(), &snapshot, &error) == 0);
	test_assert_ucmp(array_count(&snapshot.boxes), ==, 0);

	/* what can't be read is an error, never an empty account */
	test_assert(migrate_snapshot_parse_status("",
		pool_datastack_create(), &snapshot, &error) < 0);
	test_assert(migrate_snapshot_parse_status("no table here\n",
		pool_datastack_create(), &snapshot, &error) < 0);
	test_assert(migrate_snapshot_parse_status(
		"mailbox\tmessages\nINBOX\t3\n",
		pool_datastack_create(), &snapshot, &error) < 0);
	test_assert(strstr(error, "column") != NULL);
	test_assert(migrate_snapshot_parse_status(STATUS_HEADER
		"INBOX\t20\t21\n", pool_datastack_create(), &snapshot,
		&error) < 0);
	test_assert(migrate_snapshot_parse_status(STATUS_HEADER
		"INBOX\tmany\t21\t1\t2\t3\tabc\n", pool_datastack_create(),
		&snapshot, &error) < 0);
	test_end();
}

static void test_migrate_snapshot_file(void)
{
	struct migrate_snapshot snapshot, parsed;
	struct migrate_snapshot_box *box;
	const struct migrate_snapshot_box *a, *b;
	string_t *str = t_str_new(256);
	const char *error;
	unsigned int i;

	test_begin("snapshot file write and read back");
	test_snapshot(STATUS_HEADER STATUS_INBOX STATUS_WORK, &snapshot);
	/* a name that needs escaping, and a backend without GUIDs */
	box = array_idx_modifiable(&snapshot.boxes, 1);
	box->name = "50% off\tand\\more";
	box->guid = "";
	migrate_snapshot_append(str, &snapshot);
	test_assert(migrate_snapshot_parse(str_c(str), pool_datastack_create(),
					   &parsed, &error) == 0);
	test_assert_ucmp(array_count(&parsed.boxes), ==, 2);
	for (i = 0; i < 2; i++) {
		a = array_idx(&snapshot.boxes, i);
		b = array_idx(&parsed.boxes, i);
		test_assert_strcmp_idx(a->name, b->name, i);
		test_assert_strcmp_idx(a->guid, b->guid, i);
		test_assert_idx(a->uidvalidity == b->uidvalidity &&
				a->uidnext == b->uidnext &&
				a->highestmodseq == b->highestmodseq &&
				a->messages == b->messages &&
				a->vsize == b->vsize, i);
	}
	test_assert(migrate_snapshot_parse("", pool_datastack_create(),
					   &parsed, &error) < 0);
	test_assert(migrate_snapshot_parse("V9\n", pool_datastack_create(),
					   &parsed, &error) < 0);
	test_assert(migrate_snapshot_parse("V1\nabc\t1\n",
		pool_datastack_create(), &parsed, &error) < 0);
	test_end();
}

static void test_migrate_snapshot_changed(void)
{
	static const struct {
		const char *cur;
		/* a word of the reason, NULL if unchanged */
		const char *reason;
	} tests[] = {
		{ STATUS_INBOX STATUS_WORK, NULL },
		/* order of the listing doesn't matter */
		{ STATUS_WORK STATUS_INBOX, NULL },
		/* mail delivered (UIDNEXT grew) */
		{ "INBOX\t21\t22\t1796576195\t3\t431400\tc92f64f79f0d1ed01e6d5b314f04886c\n"
		  STATUS_WORK, "saved in INBOX" },
		/* POP3 DELE or IMAP expunge */
		{ "INBOX\t15\t21\t1796576195\t7\t330400\tc92f64f79f0d1ed01e6d5b314f04886c\n"
		  STATUS_WORK, "expunged from INBOX" },
		/* a flag or keyword */
		{ STATUS_INBOX
		  "Work\t5\t6\t1796576194\t3\t21313\t8a787438c2c0cf5248ac025642115fad\n",
		  "flags" },
		/* a folder made here */
		{ STATUS_INBOX STATUS_WORK
		  "Private\t0\t1\t1796576300\t1\t0\t0123456789abcdef0123456789abcdef\n",
		  "Private was made" },
		/* a folder deleted here */
		{ STATUS_INBOX, "Work was deleted" },
		/* renamed: same GUID, other name */
		{ STATUS_INBOX
		  "Projects\t5\t6\t1796576194\t2\t21313\t8a787438c2c0cf5248ac025642115fad\n",
		  "renamed to Projects" },
		/* deleted and made again */
		{ STATUS_INBOX
		  "Work\t0\t1\t1796576999\t1\t0\t00000000000000000000000000000001\n",
		  "made again" },
	};
	struct migrate_snapshot prev, cur;
	const char *reason;
	unsigned int i;
	bool changed;

	test_begin("snapshot changes the migration didn't make");
	test_snapshot(STATUS_HEADER STATUS_INBOX STATUS_WORK, &prev);
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		test_snapshot(t_strconcat(STATUS_HEADER, tests[i].cur, NULL),
			      &cur);
		reason = NULL;
		changed = migrate_snapshot_changed(&prev, &cur, &reason);
		test_assert_idx(changed == (tests[i].reason != NULL), i);
		if (tests[i].reason != NULL) {
			test_assert_idx(reason != NULL &&
				strstr(reason, tests[i].reason) != NULL, i);
		}
	}
	test_end();
}

static void test_migrate_snapshot_lost_box(void)
{
	struct migrate_snapshot before, after;

	test_begin("snapshot mailbox lost during a pass");
	test_snapshot(STATUS_HEADER STATUS_INBOX STATUS_WORK, &before);
	/* new mail and new folders aren't losses */
	test_snapshot(STATUS_HEADER
		"INBOX\t25\t26\t1796576195\t9\t530400\tc92f64f79f0d1ed01e6d5b314f04886c\n"
		STATUS_WORK
		"New\t1\t2\t1796577000\t1\t100\t11111111111111111111111111111111\n",
		&after);
	test_assert(migrate_snapshot_lost_box(&before, &after) == NULL);
	/* dsync deleted INBOX as out of step */
	test_snapshot(STATUS_HEADER STATUS_WORK, &after);
	test_assert_strcmp(migrate_snapshot_lost_box(&before, &after),
			   "INBOX");
	/* ... and made it again, empty */
	test_snapshot(STATUS_HEADER
		"INBOX\t0\t1\t1796579999\t1\t0\t22222222222222222222222222222222\n"
		STATUS_WORK, &after);
	test_assert_strcmp(migrate_snapshot_lost_box(&before, &after),
			   "INBOX");
	test_end();
}

static void test_migrate_snapshot_todo(void)
{
	struct migrate_snapshot source, here;
	uint64_t messages, vsize;

	test_begin("snapshot: what a pass has to copy");
	test_snapshot(STATUS_HEADER STATUS_INBOX STATUS_WORK, &source);
	/* nothing here yet: everything */
	test_snapshot(STATUS_HEADER, &here);
	migrate_snapshot_todo(&source, &here, &messages, &vsize);
	test_assert(messages == 25 && vsize == 430400 + 21313);
	/* INBOX half here, Work complete, a folder only here */
	test_snapshot(STATUS_HEADER
		"INBOX\t10\t11\t1796576195\t2\t200000\tc92f64f79f0d1ed01e6d5b314f04886c\n"
		STATUS_WORK
		"Mine\t7\t8\t1796577000\t1\t900\t11111111111111111111111111111111\n",
		&here);
	migrate_snapshot_todo(&source, &here, &messages, &vsize);
	test_assert(messages == 10 && vsize == 230400);
	/* more here than there (the user's own mail): nothing */
	migrate_snapshot_todo(&here, &here, &messages, &vsize);
	test_assert(messages == 0 && vsize == 0);

	test_assert(migrate_snapshot_position(&source, "INBOX") == 1);
	test_assert(migrate_snapshot_position(&source, "Work") == 2);
	test_assert(migrate_snapshot_position(&source, "Mine") == 0);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_snapshot_parse_status,
		test_migrate_snapshot_file,
		test_migrate_snapshot_changed,
		test_migrate_snapshot_lost_box,
		test_migrate_snapshot_todo,
		NULL
	};
	return test_run(test_functions);
}
