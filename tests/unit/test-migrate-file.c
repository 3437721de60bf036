/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "unlink-directory.h"
#include "test-common.h"
#include "migrate-file.h"

#include <stdio.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

static const char *read_file(const char *path)
{
	char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return t_strdup(buf);
}

static unsigned int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned int n = 0;

	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

static void test_migrate_file_replace(void)
{
	const char *dir, *path, *error;
	struct stat st;
	char tmpl[] = "/tmp/test-migrate-file.XXXXXX";

	test_begin("file replace");
	dir = mkdtemp(tmpl);
	test_assert(dir != NULL);
	path = t_strdup_printf("%s/state", dir);

	test_assert(migrate_file_replace(path, t_str_new_const("first\n", 6),
					 &error) == 0);
	test_assert_strcmp(read_file(path), "first\n");
	test_assert(migrate_file_replace(path, t_str_new_const("second\n", 7),
					 &error) == 0);
	test_assert_strcmp(read_file(path), "second\n");
	/* private, and no temporary file left behind */
	test_assert(stat(path, &st) == 0 && (st.st_mode & 0077) == 0);
	test_assert_ucmp(dir_entries(dir), ==, 1);

	/* a directory that doesn't exist: an error naming the call */
	error = NULL;
	test_assert(migrate_file_replace(t_strdup_printf("%s/no/such", dir),
		t_str_new_const("x", 1), &error) < 0);
	test_assert(error != NULL && strstr(error, "safe_mkstemp") != NULL);

	(void)unlink_directory(dir, UNLINK_DIRECTORY_FLAG_RMDIR, &error);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_file_replace,
		NULL
	};
	return test_run(test_functions);
}
