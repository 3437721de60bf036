/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "unlink-directory.h"
#include "test-common.h"
#include "migrate-queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <sys/stat.h>

static void test_migrate_queue_file_name(void)
{
	static const char *const users[] = {
		"alice@example.com",
		"bob+tag@example.org",
		"o'neil@example.com",
		"with space",
		"../etc/passwd",
		".hidden",
		"..",
		"a/b\\c%d",
		"\xc3\xa9t\xc3\xa9@example.com",
	};
	const char *name, *user;
	unsigned int i;

	test_begin("queue file name round trip");
	for (i = 0; i < N_ELEMENTS(users); i++) {
		name = migrate_queue_file_name(users[i]);
		test_assert_idx(strchr(name, '/') == NULL, i);
		test_assert_idx(name[0] != '.', i);
		test_assert_idx(migrate_queue_file_user(name, &user), i);
		test_assert_strcmp_idx(user, users[i], i);
	}
	test_assert_strcmp(migrate_queue_file_name("alice@example.com"),
			   "alice@example.com.queue");
	test_end();
}

static void test_migrate_queue_file_user_invalid(void)
{
	static const char *const names[] = {
		"",
		".queue",
		"alice@example.com",
		"alice@example.com.state",
		/* migrate_file_replace()'s temporary file */
		"alice@example.com.queue.host.1234.abcdef",
		".alice.queue",
		"a%2.queue",
		"a%zz.queue",
		"a b.queue",
		"a%.queue",
	};
	const char *user;
	unsigned int i;

	test_begin("queue file names that are not entries");
	for (i = 0; i < N_ELEMENTS(names); i++)
		test_assert_idx(!migrate_queue_file_user(names[i], &user), i);
	test_end();
}

static void test_migrate_queue_entry_roundtrip(void)
{
	struct migrate_queue_entry entry, parsed;
	string_t *str = t_str_new(256);
	const char *error;

	test_begin("queue entry write and read back");
	i_zero(&entry);
	entry.user = "alice\t@example.com";
	entry.queued = 1700000000;
	entry.service = "imap";
	entry.session_id = "Zwd/MfRgZrV/AAAB";
	entry.remote_ip = "192.0.2.1";
	migrate_queue_entry_append(str, &entry);
	test_assert(migrate_queue_entry_parse(str_c(str),
		pool_datastack_create(), &parsed, &error) == 0);
	test_assert_strcmp(parsed.user, entry.user);
	test_assert(parsed.queued == entry.queued);
	test_assert_strcmp(parsed.service, "imap");
	test_assert_strcmp(parsed.session_id, entry.session_id);
	test_assert_strcmp(parsed.remote_ip, "192.0.2.1");

	/* what is unknown stays NULL; unknown keys are ignored */
	test_assert(migrate_queue_entry_parse("user\tbob\nnew_key\tx\n",
		pool_datastack_create(), &parsed, &error) == 0);
	test_assert_strcmp(parsed.user, "bob");
	test_assert(parsed.queued == 0 && parsed.service == NULL &&
		    parsed.session_id == NULL && parsed.remote_ip == NULL);
	test_end();
}

static void test_migrate_queue_entry_broken(void)
{
	static const char *const broken[] = {
		"",
		"queued\t1\n",
		"user\t\n",
		"user\talice\nqueued\tsoon\n",
		"user\talice\nqueued\t-5\n",
		"user\talice\nnotab\n",
	};
	struct migrate_queue_entry entry;
	const char *error;
	unsigned int i;

	test_begin("broken queue entries");
	for (i = 0; i < N_ELEMENTS(broken); i++) {
		error = NULL;
		test_assert_idx(migrate_queue_entry_parse(broken[i],
			pool_datastack_create(), &entry, &error) < 0, i);
		test_assert_idx(error != NULL, i);
	}
	test_end();
}

static void test_migrate_queue_add(void)
{
	struct migrate_queue_entry entry, parsed;
	char tmpl[] = "/tmp/test-migrate-queue.XXXXXX";
	const char *dir, *path, *error, *user;
	char buf[512];
	struct dirent *d;
	struct stat st;
	unsigned int entries = 0;
	size_t n;
	FILE *f;
	DIR *dirp;

	test_begin("queue add");
	dir = mkdtemp(tmpl);
	test_assert(dir != NULL);
	i_zero(&entry);
	entry.user = "carol@example.com";
	entry.queued = 1700000001;
	entry.service = "pop3";
	test_assert(migrate_queue_add(dir, &entry, &error) == 0);
	/* twice is still one entry */
	test_assert(migrate_queue_add(dir, &entry, &error) == 0);

	dirp = opendir(dir);
	while ((d = readdir(dirp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		entries++;
		test_assert(migrate_queue_file_user(d->d_name, &user) &&
			    strcmp(user, "carol@example.com") == 0);
	}
	closedir(dirp);
	test_assert_ucmp(entries, ==, 1);

	path = t_strdup_printf("%s/carol@example.com.queue", dir);
	test_assert(stat(path, &st) == 0 && (st.st_mode & 0077) == 0);
	f = fopen(path, "r");
	test_assert(f != NULL);
	if (f != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		test_assert(migrate_queue_entry_parse(buf,
			pool_datastack_create(), &parsed, &error) == 0);
		test_assert_strcmp(parsed.user, "carol@example.com");
		test_assert_strcmp(parsed.service, "pop3");
	}

	error = NULL;
	test_assert(migrate_queue_add(t_strdup_printf("%s/none", dir),
				      &entry, &error) < 0);
	test_assert(error != NULL);
	(void)unlink_directory(dir, UNLINK_DIRECTORY_FLAG_RMDIR, &error);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_queue_file_name,
		test_migrate_queue_file_user_invalid,
		test_migrate_queue_entry_roundtrip,
		test_migrate_queue_entry_broken,
		test_migrate_queue_add,
		NULL
	};
	return test_run(test_functions);
}
