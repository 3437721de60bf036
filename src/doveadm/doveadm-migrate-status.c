/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "wildcard-match.h"
#include "doveadm-print.h"
#include "doveadm-util.h"
#include "migrate-common.h"
#include "migrate-state.h"
#include "doveadm-migrate.h"

#include <dirent.h>

/* doveadm migrate status: the recorded state of every account, read from
   migrate_state_dir; works while migrations run (state files are replaced
   atomically). A state that says "running" while nobody holds the
   account's lock belonged to a run that died: it shows as "interrupted". */

struct migrate_status_totals {
	unsigned int accounts, running, finished, failed, interrupted;
	uint64_t messages_total, bytes_total;
};

static int migrate_state_cmp(const struct migrate_state *s1,
			     const struct migrate_state *s2)
{
	return strcmp(s1->user, s2->user);
}

static const char *
migrate_status_name(const struct migrate_state *state, bool *interrupted_r)
{
	struct doveadm_migrate_lock lock;
	const char *error;

	*interrupted_r = FALSE;
	if (state->status != MIGRATE_STATE_RUNNING)
		return migrate_state_status_name(state->status);
	/* can we take the lock? then the run is gone */
	if (doveadm_migrate_lock(state->user, TRUE, &lock, &error) > 0) {
		*interrupted_r = TRUE;
		return "interrupted";
	}
	return "running";
}

static void
migrate_status_print(const struct migrate_state *state,
		     struct migrate_status_totals *totals)
{
	const char *status;
	bool interrupted;

	status = migrate_status_name(state, &interrupted);
	totals->accounts++;
	if (interrupted)
		totals->interrupted++;
	else if (state->status == MIGRATE_STATE_RUNNING)
		totals->running++;
	else if (state->status == MIGRATE_STATE_FINISHED)
		totals->finished++;
	else
		totals->failed++;
	totals->messages_total += state->messages_total;
	totals->bytes_total += state->bytes_total;

	doveadm_print(state->user);
	doveadm_print(status);
	doveadm_print(state->phase == NULL ? "" : state->phase);
	doveadm_print_num(state->runs);
	doveadm_print(state->started == 0 ? "" : unixdate2str(state->started));
	doveadm_print(state->status == MIGRATE_STATE_RUNNING ? "" :
		      unixdate2str(state->finished));
	doveadm_print_num(state->messages_copied);
	doveadm_print_num(state->bytes_copied);
	doveadm_print_num(state->messages_total);
	doveadm_print_num(state->bytes_total);
	doveadm_print(state->last_error == NULL ? "" : state->last_error);
}

static void cmd_migrate_status(struct doveadm_cmd_context *cctx)
{
	const char *dir = doveadm_migrate_state_dir();
	const char *mask = NULL, *error, *path;
	ARRAY(struct migrate_state) states;
	struct migrate_status_totals totals;
	const struct migrate_state *state;
	struct migrate_state *new_state;
	struct dirent *d;
	DIR *dirp;
	size_t len;

	(void)doveadm_cmd_param_str(cctx, "user", &mask);

	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	doveadm_print_header_simple("user");
	doveadm_print_header_simple("status");
	doveadm_print_header_simple("phase");
	doveadm_print_header("runs", "runs", DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header_simple("started");
	doveadm_print_header_simple("finished");
	doveadm_print_header("copied", "copied",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("copied_bytes", "copied bytes",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("messages", "messages",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("bytes", "bytes",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("error", "error", DOVEADM_PRINT_HEADER_FLAG_EXPAND);

	t_array_init(&states, 32);
	dirp = opendir(dir);
	if (dirp == NULL && errno != ENOENT) {
		i_error("migrate status: opendir(%s) failed: %m", dir);
		doveadm_exit_code = MIGRATE_EXIT_SOFTWARE;
		return;
	}
	while (dirp != NULL && (d = readdir(dirp)) != NULL) {
		len = strlen(d->d_name);
		if (len <= 6 || strcmp(d->d_name + len - 6, ".state") != 0)
			continue;
		path = t_strdup_printf("%s/%s", dir, d->d_name);
		new_state = array_append_space(&states);
		if (doveadm_migrate_state_read_path(path,
				pool_datastack_create(), new_state, &error) <= 0) {
			i_warning("migrate status: %s", error);
			array_pop_back(&states);
			continue;
		}
		if (mask != NULL && !wildcard_match_icase(new_state->user, mask))
			array_pop_back(&states);
	}
	if (dirp != NULL && closedir(dirp) < 0)
		i_error("migrate status: closedir(%s) failed: %m", dir);

	array_sort(&states, migrate_state_cmp);
	i_zero(&totals);
	array_foreach(&states, state)
		migrate_status_print(state, &totals);

	/* the totals row: "user" says what it is */
	doveadm_print(t_strdup_printf("(total: %u accounts)", totals.accounts));
	doveadm_print(t_strdup_printf("%u finished, %u failed, %u running, "
				      "%u interrupted", totals.finished,
				      totals.failed, totals.running,
				      totals.interrupted));
	doveadm_print("");
	doveadm_print("");
	doveadm_print("");
	doveadm_print("");
	doveadm_print("");
	doveadm_print("");
	doveadm_print_num(totals.messages_total);
	doveadm_print_num(totals.bytes_total);
	doveadm_print("");
	if (mask != NULL && totals.accounts == 0)
		doveadm_exit_code = DOVEADM_EX_NOTFOUND;
}

struct doveadm_cmd_ver2 doveadm_cmd_migrate_status = {
	.name = "migrate status",
	.cmd = cmd_migrate_status,
	.usage = "[-u <user mask>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('u', "user", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAMS_END
};
