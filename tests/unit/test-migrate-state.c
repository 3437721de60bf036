/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "test-common.h"
#include "migrate-state.h"

static void test_migrate_state_roundtrip(void)
{
	struct migrate_state state, parsed;
	string_t *str = t_str_new(256);
	const char *error;

	test_begin("state write and read back");
	i_zero(&state);
	state.user = "alice@example.com";
	state.status = MIGRATE_STATE_FAILED;
	state.phase = MIGRATE_PHASE_SWITCHED;
	state.switched = 1700000001;
	state.switch_reason = "mail delivered here:\tINBOX";
	state.started = 1700000000;
	state.finished = 1700000042;
	state.pid = 4242;
	state.runs = 3;
	state.flags_unsure = TRUE;
	state.messages_copied = 12;
	state.bytes_copied = 123456789012ULL;
	state.messages_total = 400;
	state.bytes_total = 5000000;
	state.exit_code = 77;
	state.last_error = "IMAP 127.0.0.1:143: login failed:\tAuthentication failed";
	state.backend = "http://10.0.0.2:8080";
	migrate_state_append(str, &state);
	test_assert(strstr(str_c(str), "password") == NULL);

	test_assert(migrate_state_parse(str_c(str), pool_datastack_create(),
					&parsed, &error) == 0);
	test_assert_strcmp(parsed.user, state.user);
	test_assert(parsed.status == MIGRATE_STATE_FAILED);
	test_assert(parsed.phase == MIGRATE_PHASE_SWITCHED);
	test_assert(parsed.switched == 1700000001);
	test_assert_strcmp(parsed.switch_reason, state.switch_reason);
	test_assert(parsed.started == state.started);
	test_assert(parsed.finished == state.finished);
	test_assert(parsed.pid == 4242);
	test_assert_ucmp(parsed.runs, ==, 3);
	test_assert(parsed.flags_unsure);
	test_assert(parsed.messages_copied == 12);
	test_assert(parsed.bytes_copied == 123456789012ULL);
	test_assert(parsed.messages_total == 400);
	test_assert(parsed.bytes_total == 5000000);
	test_assert(parsed.exit_code == 77);
	test_assert_strcmp(parsed.last_error, state.last_error);
	test_assert_strcmp(parsed.backend, state.backend);

	/* a run here has no backend line */
	str_truncate(str, 0);
	state.backend = NULL;
	migrate_state_append(str, &state);
	test_assert(strstr(str_c(str), "backend") == NULL);
	test_assert(migrate_state_parse(str_c(str), pool_datastack_create(),
					&parsed, &error) == 0);
	test_assert(parsed.backend == NULL);

	/* a mirroring account has no switch lines */
	str_truncate(str, 0);
	state.phase = MIGRATE_PHASE_MIRROR;
	migrate_state_append(str, &state);
	test_assert(strstr(str_c(str), "switch") == NULL);
	test_assert(migrate_state_parse(str_c(str), pool_datastack_create(),
					&parsed, &error) == 0);
	test_assert(parsed.phase == MIGRATE_PHASE_MIRROR);
	test_assert(parsed.switched == 0 && parsed.switch_reason == NULL);
	test_end();
}

static void test_migrate_state_old_phases(void)
{
	static const struct {
		const char *phase;
		enum migrate_phase expected;
	} tests[] = {
		/* written before the lifecycle was recorded */
		{ "initial", MIGRATE_PHASE_MIRROR },
		{ "final", MIGRATE_PHASE_SWITCHED },
		{ "mirror", MIGRATE_PHASE_MIRROR },
		{ "switched", MIGRATE_PHASE_SWITCHED },
	};
	struct migrate_state state;
	const char *error;
	unsigned int i;

	test_begin("state phases of older versions");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		test_assert_idx(migrate_state_parse(t_strdup_printf(
			"user\ta\nstatus\tfinished\nphase\t%s\n",
			tests[i].phase), pool_datastack_create(), &state,
			&error) == 0, i);
		test_assert_idx(state.phase == tests[i].expected, i);
	}
	/* an unknown phase is never taken for mirror */
	test_assert(migrate_state_parse("user\ta\nstatus\tfinished\n"
		"phase\tlater\n", pool_datastack_create(), &state,
		&error) < 0);
	test_end();
}

static void test_migrate_state_broken(void)
{
	static const char *const broken[] = {
		"",
		"user\talice\n",
		"status\tfinished\n",
		"user\talice\nstatus\tdone\n",
		"user\talice\nstatus\tfinished\nruns\tmany\n",
		"user\talice\nstatus\tfinished\nnotab\n",
	};
	struct migrate_state state;
	const char *error;
	unsigned int i;

	test_begin("state broken files");
	for (i = 0; i < N_ELEMENTS(broken); i++) {
		error = NULL;
		test_assert_idx(migrate_state_parse(broken[i],
			pool_datastack_create(), &state, &error) < 0, i);
		test_assert_idx(error != NULL, i);
	}
	/* unknown keys are ignored */
	test_assert(migrate_state_parse("user\ta\nstatus\trunning\nnew_key\tx\n",
		pool_datastack_create(), &state, &error) == 0);
	test_assert(state.status == MIGRATE_STATE_RUNNING);
	test_end();
}

static void test_migrate_state_file_name(void)
{
	test_begin("state file name");
	test_assert_strcmp(migrate_state_file_name("alice@example.com", ".state"),
			   "alice@example.com.state");
	test_assert_strcmp(migrate_state_file_name("../etc/passwd", ".state"),
			   "%2e..%2fetc%2fpasswd.state");
	test_assert_strcmp(migrate_state_file_name("a b/c", ".lock"),
			   "a%20b%2fc.lock");
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_state_roundtrip,
		test_migrate_state_old_phases,
		test_migrate_state_broken,
		test_migrate_state_file_name,
		NULL
	};
	return test_run(test_functions);
}
