/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "test-common.h"
#include "migrate-uidl-format.h"

/* The UIDL of one message by a usable format (data stack) */
static const char *
test_uidl(const char *format, uint32_t uidvalidity, uint32_t uid)
{
	struct migrate_uidl_format *fmt;
	const char *uidl;

	fmt = migrate_uidl_format_create_valid(format);
	uidl = migrate_uidl_format_get(fmt, uidvalidity, uid);
	migrate_uidl_format_free(&fmt);
	return uidl;
}

static void test_migrate_uidl_format_get(void)
{
	static const struct {
		const char *format;
		uint32_t uidvalidity, uid;
		const char *uidl;
	} tests[] = {
		/* Dovecot's default pop3_uidl_format (lowercase hex, as its
		   POP3 server gives it) */
		{ MIGRATE_UIDL_FORMAT_DOVECOT23, 1700000000, 1, "000000016553f100" },
		{ MIGRATE_UIDL_FORMAT_DOVECOT23, 0x1234, 0xabcdef, "00abcdef00001234" },
		/* Cyrus style uidvalidity.uid */
		{ MIGRATE_UIDL_FORMAT_CYRUS, 1132076282, 42, "1132076282.42" },
		{ "%{uidvalidity}-%{uid}", 7, 9, "7-9" },
	};
	struct migrate_uidl_format *fmt;
	const char *error;
	unsigned int i, n;

	test_begin("uidl format get");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		test_assert_idx(migrate_uidl_format_check(tests[i].format,
							  &error) == 0, i);
		test_assert_strcmp_idx(test_uidl(
			tests[i].format, tests[i].uidvalidity, tests[i].uid),
			tests[i].uidl, i);
		/* a created format gives the same, again and again */
		test_assert_idx(migrate_uidl_format_create(tests[i].format,
							   &fmt, &error) == 0, i);
		for (n = 0; n < 3; n++) {
			test_assert_strcmp_idx(migrate_uidl_format_get(fmt,
				tests[i].uidvalidity, tests[i].uid),
				tests[i].uidl, i);
		}
		test_assert_idx(strcmp(migrate_uidl_format_get(fmt,
			tests[i].uidvalidity, tests[i].uid + 1),
			tests[i].uidl) != 0, i);
		migrate_uidl_format_free(&fmt);
		test_assert_idx(fmt == NULL, i);
	}
	test_end();
}

static const char *
test_var_expand(const char *format, uint32_t uidvalidity, uint32_t uid)
{
	string_t *str = t_str_new(32);
	const char *error;

	if (migrate_uidl_format_var_expand(str, format, uidvalidity, uid,
					   &error) < 0)
		i_fatal("var_expand(%s): %s", format, error);
	return str_c(str);
}

static void test_migrate_uidl_format_known(void)
{
	static const uint32_t values[] = {
		0, 1, 9, 10, 15, 16, 255, 0x1234, 0xabcdef, 99999,
		0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
	};
	struct migrate_uidl_format *fmt;
	const char *const *format;
	unsigned int i, j, n = 0;

	test_begin("uidl format known formulas as var_expand gives them");
	for (format = migrate_uidl_known_formats; *format != NULL; format++) {
		fmt = migrate_uidl_format_create_valid(*format);
		for (i = 0; i < N_ELEMENTS(values); i++) {
			for (j = 0; j < N_ELEMENTS(values); j++) T_BEGIN {
				test_assert_strcmp_idx(
					migrate_uidl_format_get(fmt,
						values[i], values[j]),
					test_var_expand(*format, values[i],
							values[j]), n++);
			} T_END;
		}
		migrate_uidl_format_free(&fmt);
	}
	test_end();
}

static void test_migrate_uidl_format_check(void)
{
	static const char *const bad[] = {
		"",
		/* no UID: every message the same UIDL */
		"%{uidvalidity}",
		"static",
		"%{nosuchvar}",
		/* whitespace isn't allowed in a UIDL */
		"%{uid} %{uidvalidity}",
	};
	const char *error;
	unsigned int i;

	struct migrate_uidl_format *fmt;

	test_begin("uidl format check");
	for (i = 0; i < N_ELEMENTS(bad); i++) {
		error = NULL;
		test_assert_idx(migrate_uidl_format_check(bad[i], &error) < 0, i);
		test_assert_idx(error != NULL, i);
		error = NULL;
		fmt = (void *)1;
		test_assert_idx(migrate_uidl_format_create(bad[i], &fmt,
							   &error) < 0, i);
		test_assert_idx(fmt == NULL && error != NULL, i);
	}
	test_end();
}

static void
test_uidl_lists(ARRAY_TYPE(migrate_match_pop3) *pop3,
		ARRAY_TYPE(migrate_match_imap) *imap, const char *format,
		uint32_t uidvalidity, unsigned int count)
{
	struct migrate_match_pop3 *p;
	struct migrate_match_imap *m;
	unsigned int i;

	t_array_init(pop3, count);
	t_array_init(imap, count);
	for (i = 0; i < count; i++) {
		/* UIDs with gaps; sizes repeat, as in real mailboxes */
		m = array_append_space(imap);
		m->uid = 3 + i * 2;
		m->size = 1000 + (i % 4);
		p = array_append_space(pop3);
		p->idx = i;
		p->msg = t_new(struct migrate_pop3_msg, 1);
		p->msg->seq = i + 1;
		p->msg->uidl = t_strdup(test_uidl(format,
			uidvalidity, m->uid));
		p->msg->size = m->size;
	}
}

static void test_migrate_uidl_format_detect(void)
{
	ARRAY_TYPE(migrate_match_pop3) pop3;
	ARRAY_TYPE(migrate_match_imap) imap;
	struct migrate_match_pop3 *p;
	unsigned int hits;
	const char *format;

	test_begin("uidl format detect");
	test_uidl_lists(&pop3, &imap, MIGRATE_UIDL_FORMAT_DOVECOT23, 1700000000, 40);
	format = migrate_uidl_format_detect(&pop3, &imap, 1700000000, &hits);
	test_assert_strcmp(format, MIGRATE_UIDL_FORMAT_DOVECOT23);
	test_assert(hits == 40);
	/* the same UIDLs under another UIDVALIDITY name nothing */
	test_assert(migrate_uidl_format_detect(&pop3, &imap, 5, &hits) == NULL);

	test_uidl_lists(&pop3, &imap, MIGRATE_UIDL_FORMAT_CYRUS, 1132076282, 40);
	format = migrate_uidl_format_detect(&pop3, &imap, 1132076282, &hits);
	test_assert_strcmp(format, MIGRATE_UIDL_FORMAT_CYRUS);

	/* one message whose size disagrees: the formula names another
	   message somewhere, so it isn't trusted at all */
	test_uidl_lists(&pop3, &imap, MIGRATE_UIDL_FORMAT_UID, 1, 40);
	p = array_idx_modifiable(&pop3, 17);
	p->msg->size++;
	test_assert(migrate_uidl_format_detect(&pop3, &imap, 1, &hits) == NULL);

	/* fewer than half of the POP3 list given by it: not this server's
	   formula (e.g. sequence-number UIDLs that happen to hit) */
	test_uidl_lists(&pop3, &imap, MIGRATE_UIDL_FORMAT_UID, 1, 40);
	array_delete(&imap, 10, 30);
	test_assert(migrate_uidl_format_detect(&pop3, &imap, 1, &hits) == NULL);

	/* duplicate UIDLs on the old server: no formula */
	test_uidl_lists(&pop3, &imap, MIGRATE_UIDL_FORMAT_UID, 1, 40);
	p = array_idx_modifiable(&pop3, 5);
	p->msg->uidl = p[-1].msg->uidl;
	test_assert(migrate_uidl_format_detect(&pop3, &imap, 1, &hits) == NULL);

	/* UIDLs of their own (Courier, Exchange): nothing fits */
	test_uidl_lists(&pop3, &imap, "UID%{uid}-%{uidvalidity}", 1, 10);
	test_assert(migrate_uidl_format_detect(&pop3, &imap, 1, &hits) == NULL);
	test_end();
}

static void test_migrate_uidl_format_detect_exact(void)
{
	const char *uidls[20];
	uint32_t uids[20];
	unsigned int i, idx[20];

	test_begin("uidl format detect exact");
	for (i = 0; i < N_ELEMENTS(uids); i++) {
		uids[i] = 10 + i * 3;
		uidls[i] = t_strdup(test_uidl(MIGRATE_UIDL_FORMAT_DOVECOT23,
							       1234, uids[i]));
	}
	test_assert_strcmp(migrate_uidl_format_detect_exact(uidls, uids, 20, 1234, idx),
			   MIGRATE_UIDL_FORMAT_DOVECOT23);
	test_assert(idx[0] == 0 && idx[19] == 19);
	/* the POP3 list in another order: the indexes say where */
	for (i = 0; i < N_ELEMENTS(uids); i++) {
		uidls[19 - i] = t_strdup(test_uidl(
			MIGRATE_UIDL_FORMAT_DOVECOT23, 1234, uids[i]));
	}
	test_assert_strcmp(migrate_uidl_format_detect_exact(uidls, uids, 20, 1234, idx),
			   MIGRATE_UIDL_FORMAT_DOVECOT23);
	test_assert(idx[0] == 19 && idx[5] == 14 && idx[19] == 0);
	/* another UIDVALIDITY: the UIDLs are not this mailbox's */
	test_assert(migrate_uidl_format_detect_exact(uidls, uids, 20, 1235, idx) == NULL);
	/* one message IMAP has but POP3 lists under another UIDL */
	uidls[7] = "something-else";
	test_assert(migrate_uidl_format_detect_exact(uidls, uids, 20, 1234, idx) == NULL);
	/* a duplicate UIDL */
	uidls[7] = uidls[6];
	test_assert(migrate_uidl_format_detect_exact(uidls, uids, 20, 1234, idx) == NULL);

	for (i = 0; i < N_ELEMENTS(uids); i++)
		uidls[i] = t_strdup(test_uidl(MIGRATE_UIDL_FORMAT_CYRUS, 77, uids[i]));
	test_assert_strcmp(migrate_uidl_format_detect_exact(uidls, uids, 20, 77, idx),
			   MIGRATE_UIDL_FORMAT_CYRUS);
	/* bare UIDs prove nothing without the sizes */
	for (i = 0; i < N_ELEMENTS(uids); i++)
		uidls[i] = t_strdup_printf("%u", uids[i]);
	test_assert(migrate_uidl_format_detect_exact(uidls, uids, 20, 77, idx) == NULL);
	test_assert(migrate_uidl_format_detect_exact(uidls, uids, 0, 77, idx) == NULL);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_uidl_format_get,
		test_migrate_uidl_format_known,
		test_migrate_uidl_format_check,
		test_migrate_uidl_format_detect,
		test_migrate_uidl_format_detect_exact,
		NULL
	};
	return test_run(test_functions);
}
