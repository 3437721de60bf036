/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "doveadm-print.h"
#include "migrate-common.h"
#include "migrate-csv.h"
#include "migrate-state.h"
#include "doveadm-migrate.h"

#include <time.h>

/* doveadm migrate switch: record that users work on this server now (the
   MX switch happened), for one account or every account of a CSV. From
   then on every pass of the account is one-way and additive: mail
   delivered, moved, flagged or deleted here is never undone. migrate run
   --final does the same before its pass; switch is for doing it for many
   accounts at once, at the moment of the switch, before any pass runs.
   There is no way back: a switched account is never mirrored again. */

#define MIGRATE_SWITCH_DEFAULT_REASON "migrate switch"

/* Switch one account. Returns 0 or a MIGRATE_EXIT_* code (logged). */
static int migrate_switch_user(const char *user, const char *reason)
{
	struct doveadm_migrate_lock lock;
	struct migrate_state state;
	const char *error, *result;
	int ret, code = 0;

	ret = doveadm_migrate_lock(user, FALSE, &lock, &error);
	if (ret < 0) {
		i_error("migrate switch: user %s: %s", user, error);
		return MIGRATE_EXIT_SOFTWARE;
	}
	if (ret == 0) {
		/* the running pass would record its own phase at its end */
		i_error("migrate switch: user %s: a migration is running: "
			"switch the account when it has ended (or run it "
			"with --final)", user);
		doveadm_print(user);
		doveadm_print("");
		doveadm_print("not switched: running");
		return MIGRATE_EXIT_LOCKED;
	}

	ret = doveadm_migrate_state_read(user, pool_datastack_create(),
					 &state, &error);
	if (ret < 0) {
		/* a broken state mustn't keep an account mirroring */
		i_warning("migrate switch: user %s: replacing the state: %s",
			  user, error);
	}
	if (ret <= 0) {
		i_zero(&state);
		state.user = user;
		state.status = MIGRATE_STATE_NONE;
	}
	if (state.phase == MIGRATE_PHASE_SWITCHED) {
		result = "already switched";
	} else {
		state.phase = MIGRATE_PHASE_SWITCHED;
		state.switched = time(NULL);
		state.switch_reason = reason;
		if (doveadm_migrate_state_write(&state, &error) < 0) {
			i_error("migrate switch: user %s: can't record the "
				"state: %s", user, error);
			code = MIGRATE_EXIT_SOFTWARE;
			result = "not switched: can't record it";
		} else {
			result = "switched";
		}
	}
	doveadm_migrate_unlock(&lock);
	doveadm_print(user);
	doveadm_print(code == 0 ? migrate_phase_name(state.phase) : "");
	doveadm_print(result);
	return code;
}

static void cmd_migrate_switch(struct doveadm_cmd_context *cctx)
{
	ARRAY_TYPE(migrate_account) accounts;
	const struct migrate_account *account;
	const char *user = NULL, *path = NULL, *reason;
	pool_t pool;
	int code, ret = 0;

	(void)doveadm_cmd_param_str(cctx, "user", &user);
	(void)doveadm_cmd_param_str(cctx, "file", &path);
	if (!doveadm_cmd_param_str(cctx, "reason", &reason) || *reason == '\0')
		reason = MIGRATE_SWITCH_DEFAULT_REASON;
	if ((user == NULL || *user == '\0') == (path == NULL || *path == '\0')) {
		i_error("migrate switch: give either -u <user> or "
			"-F <accounts.csv>");
		doveadm_exit_code = MIGRATE_EXIT_CONFIG;
		return;
	}
	if (user != NULL && strpbrk(user, "*?") != NULL) {
		i_error("migrate switch: -u takes one user, not a pattern: "
			"'%s' (-F switches many)", user);
		doveadm_exit_code = MIGRATE_EXIT_CONFIG;
		return;
	}

	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	doveadm_print_header_simple("user");
	doveadm_print_header_simple("phase");
	doveadm_print_header("result", "result",
			     DOVEADM_PRINT_HEADER_FLAG_EXPAND);
	if (user != NULL && *user != '\0') {
		doveadm_exit_code = migrate_switch_user(user, reason);
		return;
	}

	pool = pool_alloconly_create("migrate switch", 4096);
	/* a bad line fails it all: a half-switched list is easy to miss */
	code = doveadm_migrate_csv_read("migrate switch", path, pool, FALSE,
					&accounts);
	if (code == 0) {
		array_foreach(&accounts, account) T_BEGIN {
			ret = migrate_switch_user(
				doveadm_migrate_account_user(account), reason);
			/* the first failure decides the exit code */
			if (ret != 0 && code == 0)
				code = ret;
		} T_END;
	}
	pool_unref(&pool);
	doveadm_exit_code = code;
}

struct doveadm_cmd_ver2 doveadm_cmd_migrate_switch = {
	.name = "migrate switch",
	.cmd = cmd_migrate_switch,
	.usage = "-u <user> | -F <accounts.csv> [--reason <text>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('u', "user", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('F', "file", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('\0', "reason", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAMS_END
};
