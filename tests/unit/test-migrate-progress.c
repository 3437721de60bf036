/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "test-common.h"
#include "migrate-progress.h"
#include "migrate-state.h"

static void test_migrate_progress_record(void)
{
	char buf[MIGRATE_PROGRESS_RECORD_SIZE];
	struct migrate_progress progress;
	string_t *name;
	unsigned int i;

	test_begin("progress record");
	i_zero(&progress);
	test_assert(migrate_progress_record_parse("", 0,
			pool_datastack_create(), &progress) == 0);
	memset(buf, ' ', sizeof(buf));
	test_assert(migrate_progress_record_parse(buf, sizeof(buf),
			pool_datastack_create(), &progress) == 0);

	migrate_progress_record(buf, 1200, 40000000, "Sent Items\tx");
	test_assert(buf[sizeof(buf) - 1] == '\n');
	test_assert(migrate_progress_record_parse(buf, sizeof(buf),
			pool_datastack_create(), &progress) == 1);
	test_assert(progress.messages == 1200 && progress.bytes == 40000000);
	test_assert_strcmp(progress.folder, "Sent Items\tx");

	/* no folder yet */
	migrate_progress_record(buf, 0, 0, NULL);
	test_assert(migrate_progress_record_parse(buf, sizeof(buf),
			pool_datastack_create(), &progress) == 1);
	test_assert(progress.folder == NULL);

	/* a name too long is cut, the record stays whole */
	name = t_str_new(1024);
	for (i = 0; i < 300; i++)
		str_append(name, "\xc3\xa4");	/* 2-byte UTF-8 */
	migrate_progress_record(buf, 5, 6, str_c(name));
	test_assert(migrate_progress_record_parse(buf, sizeof(buf),
			pool_datastack_create(), &progress) == 1);
	test_assert(progress.messages == 5 && progress.bytes == 6);
	test_assert(progress.folder != NULL &&
		    strlen(progress.folder) % 2 == 0 &&
		    strncmp(progress.folder, str_c(name),
			    strlen(progress.folder)) == 0);

	test_assert(migrate_progress_record_parse("V9 1 2 x", 8,
			pool_datastack_create(), &progress) < 0);
	test_assert(migrate_progress_record_parse("V1 x 2", 6,
			pool_datastack_create(), &progress) < 0);
	test_end();
}

static void test_migrate_progress_estimate(void)
{
	struct migrate_progress progress;

	test_begin("progress estimate and line");
	i_zero(&progress);
	progress.messages = 1200;
	progress.bytes = 40 * 1024 * 1024;
	progress.messages_todo = 5000;
	progress.bytes_todo = 300 * 1024 * 1024;
	progress.folder = "INBOX";
	progress.folder_n = 3;
	progress.folders = 12;
	migrate_progress_estimate(&progress, 20);
	test_assert(progress.rate == 2 * 1024 * 1024);
	test_assert(progress.eta_secs == 130);
	test_assert_strcmp(migrate_progress_str(&progress),
		"INBOX (3/12): 1200 of 5000 messages, 40.0 MiB of 300 MiB, "
		"2.0 MiB/s, 2m10s left");
	test_assert_strcmp(migrate_progress_short_str(&progress),
			   "INBOX 3/12, 13%, 2m10s left");

	/* nothing known yet */
	i_zero(&progress);
	migrate_progress_estimate(&progress, 0);
	test_assert(progress.rate == 0 && progress.eta_secs == 0);
	test_assert_strcmp(migrate_progress_str(&progress), "0 messages, 0 B");
	test_assert_strcmp(migrate_progress_short_str(&progress), "0 copied");
	/* more copied than estimated: no ETA */
	progress.bytes = 100;
	progress.bytes_todo = 50;
	migrate_progress_estimate(&progress, 1);
	test_assert(progress.eta_secs == 0);
	test_end();
}

static void test_migrate_size_duration(void)
{
	test_begin("sizes and durations for people");
	test_assert_strcmp(migrate_size_str(0), "0 B");
	test_assert_strcmp(migrate_size_str(1023), "1023 B");
	test_assert_strcmp(migrate_size_str(1024), "1.0 KiB");
	test_assert_strcmp(migrate_size_str(1536), "1.5 KiB");
	test_assert_strcmp(migrate_size_str(1024 * 1024 - 1), "1024 KiB");
	test_assert_strcmp(migrate_size_str(300ULL * 1024 * 1024), "300 MiB");
	test_assert_strcmp(migrate_size_str(99ULL * 1024 * 1024 + 1023 * 1024),
			   "100.0 MiB");
	test_assert_strcmp(migrate_size_str(2ULL << 30), "2.0 GiB");
	test_assert_strcmp(migrate_duration_str(45), "45s");
	test_assert_strcmp(migrate_duration_str(130), "2m10s");
	test_assert_strcmp(migrate_duration_str(3 * 3600 + 5 * 60), "3h05m");
	test_assert_strcmp(migrate_duration_str(2 * 86400 + 4 * 3600), "2d04h");
	test_end();
}

static void test_migrate_state_progress(void)
{
	struct migrate_state state, parsed;
	string_t *str = t_str_new(512);
	const char *error;

	test_begin("state with progress and log");
	i_zero(&state);
	state.user = "u@example.com";
	state.status = MIGRATE_STATE_RUNNING;
	state.log_path = "/var/lib/dovecot/migrate/u@example.com.log";
	state.progress.updated = 1796580000;
	state.progress.messages = 12;
	state.progress.bytes = 3456;
	state.progress.messages_todo = 100;
	state.progress.bytes_todo = 99999;
	state.progress.folder = "Sent\tItems";
	state.progress.folder_n = 2;
	state.progress.folders = 5;
	state.progress.rate = 100;
	state.progress.eta_secs = 965;
	migrate_state_append(str, &state);
	test_assert(migrate_state_parse(str_c(str), pool_datastack_create(),
					&parsed, &error) == 0);
	test_assert_strcmp(parsed.log_path, state.log_path);
	test_assert(parsed.progress.updated == 1796580000 &&
		    parsed.progress.messages == 12 &&
		    parsed.progress.bytes == 3456 &&
		    parsed.progress.messages_todo == 100 &&
		    parsed.progress.bytes_todo == 99999 &&
		    parsed.progress.folder_n == 2 &&
		    parsed.progress.folders == 5 &&
		    parsed.progress.rate == 100 &&
		    parsed.progress.eta_secs == 965);
	test_assert_strcmp(parsed.progress.folder, "Sent\tItems");

	/* a finished pass keeps no progress */
	state.status = MIGRATE_STATE_FINISHED;
	str_truncate(str, 0);
	migrate_state_append(str, &state);
	test_assert(strstr(str_c(str), "progress_") == NULL);
	test_end();
}

static void test_migrate_progress_batch_eta(void)
{
	struct migrate_progress_account accounts[4];
	uint64_t left;

	test_begin("batch ETA from the accounts' sizes");
	i_zero(&accounts);
	/* nothing known yet */
	test_assert(migrate_progress_batch_eta(accounts, 4, 10, &left) == 0);
	test_assert(left == 0);

	/* a big account finished (900 MB), a small one running (10 of 100
	   MB), two not started: taken as the average, 500 MB each */
	accounts[0].finished = TRUE;
	accounts[0].bytes_done = 900;
	accounts[1].bytes_done = 10;
	accounts[1].bytes_todo = 100;
	/* rate 910/91 = 10 a second: 109 seconds */
	test_assert(migrate_progress_batch_eta(accounts, 4, 91, &left) == 109);
	/* left: 90 of the running one, 2 x 500 pending */
	test_assert(left == 90 + 500 + 500);

	/* the count alone would say 3 of 4 left; by size it is much less
	   when the rest are small */
	accounts[2].finished = TRUE;
	accounts[2].bytes_done = 10;
	accounts[3].bytes_todo = 10;
	accounts[1].bytes_done = 100;
	test_assert(migrate_progress_batch_eta(accounts, 4, 101, &left) == 1);
	test_assert(left == 10);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_progress_record,
		test_migrate_progress_estimate,
		test_migrate_size_duration,
		test_migrate_progress_batch_eta,
		test_migrate_state_progress,
		NULL
	};
	return test_run(test_functions);
}
