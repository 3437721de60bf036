/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "istream.h"
#include "test-common.h"
#include "migrate-csv.h"

/* the parser keeps strings in the caller's pool across its own data
   stack frames, so it must be a real pool */
static pool_t test_pool;

static int
csv_parse(const char *data, ARRAY_TYPE(migrate_account) *accounts,
	  ARRAY_TYPE(migrate_csv_error) *errors, const char **error_r)
{
	struct istream *input = test_istream_create(data);
	int ret;

	t_array_init(accounts, 8);
	t_array_init(errors, 8);
	if (test_pool == NULL)
		test_pool = pool_alloconly_create("test csv", 4096);
	ret = migrate_csv_parse(input, test_pool, accounts, errors, error_r);
	i_stream_unref(&input);
	return ret;
}

static void test_migrate_csv_good(void)
{
	ARRAY_TYPE(migrate_account) accounts;
	ARRAY_TYPE(migrate_csv_error) errors;
	const struct migrate_account *a;
	const char *error;

	test_begin("csv accounts");
	test_assert(csv_parse(
		"Email,Password,host,port,ssl,dest_user\r\n"
		"alice@example.com,secret,old.example.com,993,imaps,alice@new.example\r\n"
		"\r\n"
		"  bob@example.com , \"pa,ss\"\"word\" ,,, ,\r\n"
		"carol@example.com,\"\",old2.example.com,143,starttls,\n",
		&accounts, &errors, &error) == 0);
	test_assert_ucmp(array_count(&errors), ==, 0);
	test_assert_ucmp(array_count(&accounts), ==, 3);
	a = array_idx(&accounts, 0);
	test_assert_strcmp(a->email, "alice@example.com");
	test_assert_strcmp(a->password, "secret");
	test_assert_strcmp(a->host, "old.example.com");
	test_assert(a->port == 993);
	test_assert(a->ssl == MIGRATE_CSV_SSL_IMAPS);
	test_assert_strcmp(a->dest_user, "alice@new.example");
	test_assert_ucmp(a->line, ==, 2);
	a = array_idx(&accounts, 1);
	test_assert_strcmp(a->email, "bob@example.com");
	test_assert_strcmp(a->password, "pa,ss\"word");
	test_assert(a->host == NULL && a->port == 0 && a->dest_user == NULL);
	test_assert(a->ssl == MIGRATE_CSV_SSL_DEFAULT);
	test_assert_ucmp(a->line, ==, 4);
	a = array_idx(&accounts, 2);
	test_assert(a->password == NULL);
	test_assert(a->ssl == MIGRATE_CSV_SSL_STARTTLS);

	/* saved by a spreadsheet program: a UTF-8 byte order mark */
	test_assert(csv_parse("\xef\xbb\xbf" "email,password\r\n"
			      "bom@example.com,pw\r\n",
			      &accounts, &errors, &error) == 0);
	test_assert_ucmp(array_count(&accounts), ==, 1);
	test_assert_ucmp(array_count(&errors), ==, 0);
	a = array_idx(&accounts, 0);
	test_assert_strcmp(a->email, "bom@example.com");

	/* OAuth2: a refresh token per account, no password */
	test_assert(csv_parse("email,refresh_token\n"
			      "o@example.com,1//0gRT-x\n"
			      "p@example.com,\n",
			      &accounts, &errors, &error) == 0);
	test_assert_ucmp(array_count(&accounts), ==, 2);
	a = array_idx(&accounts, 0);
	test_assert_strcmp(a->refresh_token, "1//0gRT-x");
	test_assert(a->password == NULL);
	a = array_idx(&accounts, 1);
	test_assert(a->refresh_token == NULL);

	/* master-user mode: no password column at all */
	test_assert(csv_parse("email\nx@example.com\ny@example.com\n",
			      &accounts, &errors, &error) == 0);
	test_assert_ucmp(array_count(&accounts), ==, 2);
	test_end();
}

static void test_migrate_csv_bad_lines(void)
{
	static const struct {
		const char *line;
		const char *error;
	} tests[] = {
		{ "a@example.com,\"unterminated,h", "unterminated quote" },
		{ "a@example.com,pw", "expected 3 fields, got 2" },
		{ "a@example.com,pw,h,x", "expected 3 fields, got 4" },
		{ ",pw,h", "email is empty" },
		{ "a b@example.com,pw,h", "email contains whitespace" },
		{ "nob*,pw,h", "email contains a wildcard (* or ?)" },
		{ "a?@example.com,pw,h", "email contains a wildcard (* or ?)" },
		{ "a@example.com,p\"w\",h", "quote in the middle of a field" },
		{ "a@example.com,\"pw\"x,h", "text after a closing quote" },
		{ "a@example.com,\xff\xfe,h", "not valid UTF-8" },
	};
	ARRAY_TYPE(migrate_account) accounts;
	ARRAY_TYPE(migrate_csv_error) errors;
	const struct migrate_csv_error *err;
	const char *error;
	unsigned int i;

	test_begin("csv bad lines");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		test_assert_idx(csv_parse(t_strconcat(
			"email,password,host\n", tests[i].line,
			"\nok@example.com,pw,h\n", NULL),
			&accounts, &errors, &error) == 0, i);
		test_assert_idx(array_count(&errors) == 1, i);
		test_assert_idx(array_count(&accounts) == 1, i);
		if (array_count(&errors) != 1)
			continue;
		err = array_front(&errors);
		test_assert_idx(err->line == 2, i);
		test_assert_strcmp_idx(err->error, tests[i].error, i);
		/* the password never shows in an error */
		test_assert_idx(strstr(err->error, "pw") == NULL, i);
	}
	test_end();
}

static void test_migrate_csv_values(void)
{
	ARRAY_TYPE(migrate_account) accounts;
	ARRAY_TYPE(migrate_csv_error) errors;
	const struct migrate_csv_error *err;
	const char *error;

	test_begin("csv invalid values and duplicates");
	test_assert(csv_parse("email,port,ssl\n"
			      "a@example.com,70000,\n"
			      "b@example.com,143,tls\n"
			      "c@example.com,143,no\n"
			      "C@EXAMPLE.COM,993,imaps\n",
			      &accounts, &errors, &error) == 0);
	test_assert_ucmp(array_count(&accounts), ==, 1);
	test_assert_ucmp(array_count(&errors), ==, 3);
	err = array_idx(&errors, 0);
	test_assert_strcmp(err->error, "invalid port '70000'");
	err = array_idx(&errors, 1);
	test_assert_strcmp(err->error,
		"invalid ssl 'tls' (expected no, imaps or starttls)");
	err = array_idx(&errors, 2);
	test_assert_ucmp(err->line, ==, 5);
	test_assert_strcmp(err->error,
		"duplicate account C@EXAMPLE.COM (first on line 4)");
	test_end();
}

static void test_migrate_csv_fatal(void)
{
	static const char *const files[] = {
		"",
		"\n\n",
		"user,password\na,b\n",
		"email,email\n",
		"email,passwd\n",
		"\"email\n",
	};
	ARRAY_TYPE(migrate_account) accounts;
	ARRAY_TYPE(migrate_csv_error) errors;
	const char *error;
	unsigned int i;

	test_begin("csv unusable files");
	for (i = 0; i < N_ELEMENTS(files); i++) {
		error = NULL;
		test_assert_idx(csv_parse(files[i], &accounts, &errors,
					  &error) < 0, i);
		test_assert_idx(error != NULL, i);
	}
	test_end();
}

static void test_migrate_csv_ssl_names(void)
{
	static const char *const names[] = { "no", "imaps", "starttls" };
	enum migrate_csv_ssl ssl;
	unsigned int i;

	test_begin("csv ssl mode names");
	for (i = 0; i < N_ELEMENTS(names); i++) {
		test_assert_idx(migrate_csv_ssl_parse(names[i], &ssl) == 0, i);
		test_assert_idx(ssl != MIGRATE_CSV_SSL_DEFAULT, i);
		test_assert_strcmp_idx(migrate_csv_ssl_name(ssl), names[i], i);
	}
	test_assert(migrate_csv_ssl_parse("STARTTLS", &ssl) == 0 &&
		    ssl == MIGRATE_CSV_SSL_STARTTLS);
	test_assert(migrate_csv_ssl_parse("tls", &ssl) < 0);
	test_assert(migrate_csv_ssl_parse("", &ssl) < 0);
	test_assert(migrate_csv_ssl_name(MIGRATE_CSV_SSL_DEFAULT) == NULL);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_csv_good,
		test_migrate_csv_bad_lines,
		test_migrate_csv_values,
		test_migrate_csv_fatal,
		test_migrate_csv_ssl_names,
		NULL
	};
	int ret = test_run(test_functions);

	pool_unref(&test_pool);
	return ret;
}
