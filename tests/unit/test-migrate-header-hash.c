/* Copyright (c) 2026 dovecot-migrate authors */

#include "lib.h"
#include "str.h"
#include "sha1.h"
#include "istream.h"
#include "test-common.h"
#include "migrate-header-hash.h"

#include <errno.h>

static const struct migrate_header_filter *default_filter;

/* Every test function runs in its own data stack frame. */
static void test_filter_init(void)
{
	default_filter = migrate_header_filter_create(pool_datastack_create(),
						      NULL);
}

static int
test_hash_data(const void *data, size_t size, size_t max_buffer_size,
	       struct migrate_msg_ident *ident_r)
{
	struct istream *input;
	const char *error;
	int ret;

	input = test_istream_create_data(data, size);
	if (max_buffer_size != 0)
		test_istream_set_max_buffer_size(input, max_buffer_size);
	ret = migrate_header_hash_stream(input, default_filter,
					 pool_datastack_create(), ident_r,
					 &error);
	i_stream_unref(&input);
	return ret;
}

static int test_hash(const char *str, struct migrate_msg_ident *ident_r)
{
	return test_hash_data(str, strlen(str), 0, ident_r);
}

static bool test_hash_equal(const struct migrate_msg_ident *id1,
			    const struct migrate_msg_ident *id2)
{
	return memcmp(id1->hash, id2->hash, sizeof(id1->hash)) == 0;
}

static void test_migrate_header_hash_canonical(void)
{
	static const struct {
		const char *input;
		const char *canonical;
		bool complete;
	} tests[] = {
		{ "", "", FALSE },
		{ "\r\n", "", TRUE },
		{ "Subject: Hello\r\n\r\n", "subject:Hello\n", TRUE },
		{ "SUBJECT:Hello\n\n", "subject:Hello\n", TRUE },
		{ "Subject: \t Hello \t World \t \r\n\r\n",
		  "subject:Hello World\n", TRUE },
		{ "Subject: Hello\r\n\tWorld\r\n  again\r\n\r\n",
		  "subject:Hello World again\n", TRUE },
		{ "Subject: \r\nFrom: a@b\r\n\r\n",
		  "subject:\nfrom:a@b\n", TRUE },
		/* 8-bit, controls and '?' runs become one '?' */
		{ "Subject: caf\xc3\xa9 \xc3\xa9t\xc3\xa9\r\n\r\n",
		  "subject:caf? ?t?\n", TRUE },
		{ "Subject: a\x01\x7f?b\r\n\r\n", "subject:a?b\n", TRUE },
		/* ignored headers */
		{ "Status: RO\r\nSubject: x\r\nX-UIDL: 123\r\n\r\n",
		  "subject:x\n", TRUE },
		{ "X-Mozilla-Status: 0001\r\nX-Mozilla-Status2: 0\r\n"
		  "Subject: x\r\n\r\n", "subject:x\n", TRUE },
		/* Yahoo: invalid names; Zimbra: lines without ':' */
		{ "Bad Name: 1\r\nSubject: x\r\n\r\n", "subject:x\n", TRUE },
		{ "B\xc3\xa4" "d: 1\r\nSubject: x\r\n\r\n", "subject:x\n", TRUE },
		{ ": no name\r\nSubject: x\r\n\r\n", "subject:x\n", TRUE },
		{ "From alice Sat Jan  3 01:05:34 1996\r\nSubject: x\r\n\r\n",
		  "subject:x\n", TRUE },
		{ "garbage line\r\nSubject: x\r\n\r\n", "subject:x\n", TRUE },
		/* Courier LF CR CR LF ends the header */
		{ "a: b\r\n\r\r\nc: d\r\n\r\n", "a:b\n", TRUE },
		{ "a: b\n\r\r\nc: d\n\n", "a:b\n", TRUE },
		/* truncated */
		{ "a: b\r\nc: d", "a:b\nc:d\n", FALSE },
		{ "a: b\r\nc:", "a:b\nc:\n", FALSE },
		/* the body is never read */
		{ "a: b\r\n\r\nc: d\r\n", "a:b\n", TRUE },
	};
	struct migrate_msg_ident ident;
	unsigned char expected[SHA1_RESULTLEN];
	unsigned int i;

	test_filter_init();
	test_begin("header hash canonical form");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		test_assert_idx(test_hash(tests[i].input, &ident) == 0, i);
		sha1_get_digest(tests[i].canonical, strlen(tests[i].canonical),
				expected);
		test_assert_idx(memcmp(ident.hash, expected,
				       sizeof(expected)) == 0, i);
		test_assert_idx(ident.header_complete == tests[i].complete, i);
	}
	test_end();
}

static void test_migrate_header_hash_equivalent(void)
{
	static const struct {
		const char *input1, *input2;
		bool equal;
	} tests[] = {
		/* line endings */
		{ "Subject: x\r\nFrom: a@b\r\n\r\n",
		  "Subject: x\nFrom: a@b\n\n", TRUE },
		{ "Subject: x\r\nFrom: a@b\n\r\n",
		  "Subject: x\nFrom: a@b\r\n\n", TRUE },
		{ "Subject: x\r\r\nFrom: a@b\r\n\r\n",
		  "Subject: x\nFrom: a@b\n\n", TRUE },
		/* folding */
		{ "To: a@b,\r\n c@d\r\n\r\n", "To: a@b, c@d\r\n\r\n", TRUE },
		{ "To: a@b,\r\n\tc@d\r\n\r\n", "To: a@b, c@d\r\n\r\n", TRUE },
		{ "To: a@b,\r\n     c@d  \r\n\r\n", "To:a@b, c@d\r\n\r\n", TRUE },
		/* Zimbra drops whitespace-only continuation lines */
		{ "To: a@b\r\n \r\n c@d\r\n\r\n", "To: a@b\r\n c@d\r\n\r\n", TRUE },
		{ "To: a@b\r\n \r\n\r\n", "To: a@b\r\n\r\n", TRUE },
		/* added or rewritten headers that don't count */
		{ "Return-Path: <a@b>\r\nSubject: x\r\nStatus: RO\r\n"
		  "X-Status: A\r\nX-UIDL: 1234\r\nX-UID: 5\r\n"
		  "X-Keywords: $Label1\r\nContent-Length: 10\r\nLines: 1\r\n\r\n",
		  "Subject: x\r\n\r\n", TRUE },
		{ "Subject: x\r\nX-Yahoo-Newman-Property: ymail-3\r\n\r\n",
		  "Subject: x\r\n\r\n", TRUE },
		/* headers that do count */
		{ "Delivered-To: a@b\r\nSubject: x\r\n\r\n",
		  "Subject: x\r\n\r\n", FALSE },
		{ "X-Original-To: a@b\r\nSubject: x\r\n\r\n",
		  "Subject: x\r\n\r\n", FALSE },
		{ "Subject: x\r\n\r\n", "Subject: y\r\n\r\n", FALSE },
		{ "Subject: x y\r\n\r\n", "Subject: xy\r\n\r\n", FALSE },
		{ "Subject: x\r\nFrom: a@b\r\n\r\n",
		  "From: a@b\r\nSubject: x\r\n\r\n", FALSE },
		/* 8-bit vs what Yahoo/Zimbra IMAP send */
		{ "Subject: caf\xc3\xa9\r\n\r\n", "Subject: caf?\r\n\r\n", TRUE },
		{ "Subject: \xe2\x82\xac 5\r\n\r\n", "Subject: ??? 5\r\n\r\n", TRUE },
		/* header name case */
		{ "subject: x\r\n\r\n", "SUBJECT: x\r\n\r\n", TRUE },
		/* truncated vs complete */
		{ "Subject: x\r\nFrom: a@b", "Subject: x\r\nFrom: a@b\r\n\r\n",
		  TRUE },
		/* bodies don't count */
		{ "Subject: x\r\n\r\nbody 1\r\n", "Subject: x\r\n\r\nbody 2\r\n",
		  TRUE },
	};
	struct migrate_msg_ident ident1, ident2;
	unsigned int i;

	test_filter_init();
	test_begin("header hash equivalences");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		test_assert_idx(test_hash(tests[i].input1, &ident1) == 0, i);
		test_assert_idx(test_hash(tests[i].input2, &ident2) == 0, i);
		test_assert_idx(test_hash_equal(&ident1, &ident2) ==
				tests[i].equal, i);
	}
	test_end();
}

static void test_migrate_header_hash_fields(void)
{
	struct migrate_msg_ident ident;

	test_filter_init();
	test_begin("header hash fields");
	test_assert(test_hash(
		"Message-ID: < abc.123@Example.COM >\r\n"
		"Date: Tue, 1 Nov 2022 10:00:00 +0000\r\n"
		"From: \"Smith, Alice\" <Alice.Smith@Example.COM>,\r\n"
		" bob@example.com\r\n"
		"Subject: Hello\r\n   World\t again  \r\n"
		"Subject: second\r\n"
		"\r\n", &ident) == 0);
	test_assert_strcmp(ident.message_id, "abc.123@Example.COM");
	test_assert(ident.date == 1667296800);
	test_assert_strcmp(ident.from, "alice.smith@example.com");
	test_assert_strcmp(ident.subject, "Hello World again");
	test_assert(ident.header_complete);

	/* missing fields */
	test_assert(test_hash("X-Foo: bar\r\n\r\n", &ident) == 0);
	test_assert(ident.message_id == NULL);
	test_assert(ident.date == 0);
	test_assert(ident.from == NULL);
	test_assert(ident.subject == NULL);

	/* present but empty or broken */
	test_assert(test_hash("Message-ID: <>\r\nDate: yesterday\r\n"
			      "From: \r\nSubject:\r\n\r\n", &ident) == 0);
	test_assert(ident.message_id == NULL);
	test_assert(ident.date == 0);
	test_assert(ident.from == NULL);
	test_assert_strcmp(ident.subject, "");

	/* an unparseable From is still compared as text */
	test_assert(test_hash("From: Undisclosed Sender\r\n\r\n", &ident) == 0);
	test_assert(ident.from != NULL);

	/* 8-bit subject is the same on both sides */
	test_assert(test_hash("Subject: caf\xc3\xa9\r\n\r\n", &ident) == 0);
	test_assert_strcmp(ident.subject, "caf?");

	/* fields from after a Courier CR CR LF line don't exist */
	test_assert(test_hash("a: b\r\n\r\r\nSubject: x\r\n\r\n", &ident) == 0);
	test_assert(ident.subject == NULL);
	test_end();
}

/* The canonical text of a header value, byte by byte as the rules say:
   blanks between words become one space (none before the first word or
   after the last), a run of 8-bit, control or '?' bytes one '?' */
static void
test_canonical_value(string_t *dest, const unsigned char *value, size_t size)
{
	bool started = FALSE, pending = FALSE, prev_qmark = FALSE;
	size_t i;

	for (i = 0; i < size; i++) {
		if (value[i] == ' ' || value[i] == '\t') {
			pending = started;
			continue;
		}
		if (pending) {
			str_append_c(dest, ' ');
			pending = FALSE;
			prev_qmark = FALSE;
		}
		if (value[i] < 0x20 || value[i] >= 0x7f || value[i] == '?') {
			if (!prev_qmark)
				str_append_c(dest, '?');
			prev_qmark = TRUE;
		} else {
			str_append_c(dest, value[i]);
			prev_qmark = FALSE;
		}
		started = TRUE;
	}
}

static void test_migrate_header_hash_long_values(void)
{
	static const unsigned char alphabet[] = "abcXYZ09<>@.?? \t\t\xc3\xa9\x01";
	unsigned char expected[SHA1_RESULTLEN];
	struct migrate_msg_ident ident;
	string_t *input, *canonical, *value;
	const char *subject;
	unsigned int i, j, len;

	test_filter_init();
	test_begin("header hash long values");
	for (i = 0; i < 50; i++) {
		/* across the hash's 512-byte buffer and the field's 1024
		   bytes, some runs of plain bytes longer than either */
		len = i_rand_limit(5000) + 1;
		value = t_str_new(len);
		for (j = 0; j < len; j++) {
			if (i % 5 == 0 && j % 1500 < 1100)
				str_append_c(value, 'a' + j % 26);
			else
				str_append_c(value, alphabet[i_rand_limit(
					sizeof(alphabet) - 1)]);
		}
		input = t_str_new(len + 32);
		str_append(input, "Subject: ");
		str_append_str(input, value);
		str_append(input, "\r\n\r\n");
		canonical = t_str_new(len + 32);
		str_append(canonical, "subject:");
		test_canonical_value(canonical, str_data(value),
				     str_len(value));
		/* the field's value: the canonical one, cut */
		subject = t_strndup(str_c(canonical) + 8,
				    I_MIN(str_len(canonical) - 8, 1024));
		str_append_c(canonical, '\n');
		test_assert_idx(test_hash_data(str_data(input), str_len(input),
					       i % 2 == 0 ? 0 : 100,
					       &ident) == 0, i);
		sha1_get_digest(str_data(canonical), str_len(canonical),
				expected);
		test_assert_idx(memcmp(ident.hash, expected,
				       sizeof(expected)) == 0, i);
		test_assert_strcmp_idx(ident.subject, subject, i);
	}
	test_end();
}

static void test_migrate_header_hash_robust(void)
{
	static const unsigned char nuls[] =
		"Subject: a\0b\r\nX\0Y: z\r\n\0\r\nFrom: c\r\n\r\n";
	static const unsigned char nuls_canon[] = "Subject: a?b\r\nFrom: c\r\n\r\n";
	struct migrate_msg_ident ident1, ident2;
	struct istream *input;
	const char *error;
	string_t *str;
	unsigned int i;

	test_filter_init();
	test_begin("header hash robustness");

	/* NULs in values and names */
	test_assert(test_hash_data(nuls, sizeof(nuls) - 1, 0, &ident1) == 0);
	test_assert(test_hash_data(nuls_canon, sizeof(nuls_canon) - 1, 0,
				   &ident2) == 0);
	test_assert(test_hash_equal(&ident1, &ident2));
	test_assert(ident1.header_complete);

	/* a huge folded header and a huge name, read through a small
	   buffer and a big one */
	str = t_str_new(1024 * 1024);
	str_append(str, "Subject: start");
	for (i = 0; i < 20000; i++)
		str_append(str, i % 10 == 0 ? "\r\n word" : " word");
	str_append(str, "\r\n");
	for (i = 0; i < 3000; i++)
		str_append_c(str, 'X');
	str_append(str, ": long name\r\nSubject2: ");
	for (i = 0; i < 100000; i++)
		str_append_c(str, 'a' + i % 26);
	str_append(str, "\r\n\r\nbody");
	test_assert(test_hash_data(str_data(str), str_len(str), 0,
				   &ident1) == 0);
	test_assert(ident1.header_complete);
	test_assert(strlen(ident1.subject) <= 1024);
	test_assert(strncmp(ident1.subject, "start word word", 15) == 0);
	test_assert(test_hash_data(str_data(str), str_len(str), 256,
				   &ident2) == 0);
	test_assert(test_hash_equal(&ident1, &ident2));
	test_assert(ident2.header_complete);

	/* random garbage never crashes */
	for (i = 0; i < 200; i++) {
		unsigned char buf[512];
		unsigned int j;

		for (j = 0; j < sizeof(buf); j++) {
			if (i_rand_limit(4) == 0)
				buf[j] = "\r\n: \t"[i_rand_limit(6)];
			else
				buf[j] = i_rand_limit(256);
		}
		test_assert_idx(test_hash_data(buf, sizeof(buf), i % 2 == 0 ?
					       0 : 64, &ident1) == 0, i);
	}

	/* stream errors are reported */
	input = i_stream_create_error_str(EIO, "test read error");
	test_assert(migrate_header_hash_stream(input, default_filter,
					       pool_datastack_create(), &ident1,
					       &error) == -1);
	test_assert(strstr(error, "test read error") != NULL);
	i_stream_unref(&input);
	test_end();
}

static void test_migrate_header_filter(void)
{
	static const char *const custom[] = {
		"X-Foo", "x-bar-*", "", "Subject", NULL
	};
	static const char *const none[] = { NULL };
	const struct migrate_header_filter *filter;
	struct migrate_msg_ident ident1, ident2;
	struct istream *input;
	const char *error;

	test_filter_init();
	test_begin("header filter");
	filter = default_filter;
	test_assert(migrate_header_filter_ignores(filter, "Status"));
	test_assert(migrate_header_filter_ignores(filter, "STATUS"));
	test_assert(migrate_header_filter_ignores(filter, "x-uidl"));
	test_assert(migrate_header_filter_ignores(filter, "X-IMAPbase"));
	test_assert(migrate_header_filter_ignores(filter, "return-path"));
	test_assert(migrate_header_filter_ignores(filter, "X-Mozilla-Status"));
	test_assert(migrate_header_filter_ignores(filter, "x-mozilla-status2"));
	test_assert(migrate_header_filter_ignores(filter, "X-MOZILLA-KEYS"));
	test_assert(!migrate_header_filter_ignores(filter, "X-Mozilla"));
	test_assert(!migrate_header_filter_ignores(filter, "Subject"));
	test_assert(!migrate_header_filter_ignores(filter, "Delivered-To"));
	test_assert(!migrate_header_filter_ignores(filter, "X-Original-To"));
	test_assert(!migrate_header_filter_ignores(filter, "X-Status2"));
	test_assert(!migrate_header_filter_ignores(filter, ""));

	filter = migrate_header_filter_create(pool_datastack_create(), custom);
	test_assert(migrate_header_filter_ignores(filter, "x-foo"));
	test_assert(migrate_header_filter_ignores(filter, "X-BAR-1"));
	test_assert(migrate_header_filter_ignores(filter, "x-bar-"));
	test_assert(!migrate_header_filter_ignores(filter, "X-Bar"));
	test_assert(!migrate_header_filter_ignores(filter, "Status"));
	test_assert(!migrate_header_filter_ignores(filter, ""));

	/* an ignored Subject is neither hashed nor extracted */
	input = test_istream_create("Subject: a\r\nX-Bar-Baz: 1\r\n\r\n");
	test_assert(migrate_header_hash_stream(input, filter,
					       pool_datastack_create(), &ident1,
					       &error) == 0);
	i_stream_unref(&input);
	input = test_istream_create("Subject: b\r\n\r\n");
	test_assert(migrate_header_hash_stream(input, filter,
					       pool_datastack_create(), &ident2,
					       &error) == 0);
	i_stream_unref(&input);
	test_assert(test_hash_equal(&ident1, &ident2));
	test_assert(ident1.subject == NULL);

	filter = migrate_header_filter_create(pool_datastack_create(), none);
	test_assert(!migrate_header_filter_ignores(filter, "Status"));
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_header_hash_canonical,
		test_migrate_header_hash_equivalent,
		test_migrate_header_hash_fields,
		test_migrate_header_hash_robust,
		test_migrate_header_hash_long_values,
		test_migrate_header_filter,
		NULL
	};
	return test_run(test_functions);
}
