/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "test-common.h"
#include "migrate-uidl-format.h"

static void test_migrate_uidl_format_expand(void)
{
	static const struct {
		const char *format;
		uint32_t uidvalidity, uid;
		const char *uidl;
	} tests[] = {
		/* Dovecot's default pop3_uidl_format (lowercase hex, as its
		   POP3 server gives it) */
		{ "%08Xu%08Xv", 1700000000, 1, "000000016553f100" },
		{ "%08Xu%08Xv", 0x1234, 0xabcdef, "00abcdef00001234" },
		/* Cyrus style uidvalidity.uid */
		{ "%v.%u", 1132076282, 42, "1132076282.42" },
		{ "%{uidvalidity}-%{uid}", 7, 9, "7-9" },
	};
	const char *error;
	unsigned int i;

	test_begin("uidl format expand");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		test_assert_idx(migrate_uidl_format_check(tests[i].format,
							  &error) == 0, i);
		test_assert_strcmp_idx(migrate_uidl_format_expand(
			tests[i].format, tests[i].uidvalidity, tests[i].uid),
			tests[i].uidl, i);
	}
	test_end();
}

static void test_migrate_uidl_format_check(void)
{
	static const char *const bad[] = {
		"",
		"%v",		/* no UID: every message the same UIDL */
		"static",
		"%{nosuchvar}",
		"%u %v",	/* whitespace isn't allowed in a UIDL */
	};
	const char *error;
	unsigned int i;

	test_begin("uidl format check");
	for (i = 0; i < N_ELEMENTS(bad); i++) {
		error = NULL;
		test_assert_idx(migrate_uidl_format_check(bad[i], &error) < 0, i);
		test_assert_idx(error != NULL, i);
	}
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_uidl_format_expand,
		test_migrate_uidl_format_check,
		NULL
	};
	return test_run(test_functions);
}
