/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "wildcard-match.h"
#include "doveadm-print.h"
#include "doveadm-util.h"
#include "migrate-common.h"
#include "migrate-state.h"
#include "migrate-queue.h"
#include "doveadm-migrate.h"

#include <dirent.h>
#include <sys/stat.h>

/* doveadm migrate status: the recorded state of every account, read from
   migrate_state_dir; works while migrations run (state files are replaced
   atomically). A state that says "running" while nobody holds the
   account's lock belonged to a run that died: it shows as "interrupted".
   Accounts waiting in the on-login queue (migrate_onlogin) show as
   "queued", also when an earlier run was interrupted or failed. */

ARRAY_DEFINE_TYPE(migrate_state, struct migrate_state);

struct migrate_status_totals {
	unsigned int accounts, running, finished, failed, interrupted, queued;
	/* switched by migrate switch before any run */
	unsigned int never_run;
	uint64_t messages_total, bytes_total;
};

static int migrate_state_cmp(const struct migrate_state *s1,
			     const struct migrate_state *s2)
{
	return strcmp(s1->user, s2->user);
}

static const char *
migrate_status_name(const struct migrate_state *state, bool queued,
		    bool *interrupted_r, bool *queued_r)
{
	struct doveadm_migrate_lock lock;
	const char *error;

	*interrupted_r = FALSE;
	*queued_r = FALSE;
	if (state->status != MIGRATE_STATE_RUNNING) {
		*queued_r = queued;
		return queued ? "queued" :
			migrate_state_status_name(state->status);
	}
	/* can we take the lock? then the run is gone */
	if (doveadm_migrate_lock(state->user, TRUE, &lock, &error) > 0) {
		*queued_r = queued;
		*interrupted_r = !queued;
		return queued ? "queued" : "interrupted";
	}
	return "running";
}

static void
migrate_status_print(const struct migrate_state *state, bool is_queued,
		     struct migrate_status_totals *totals)
{
	const char *status;
	bool interrupted, queued;

	status = migrate_status_name(state, is_queued, &interrupted, &queued);
	totals->accounts++;
	if (queued)
		totals->queued++;
	else if (interrupted)
		totals->interrupted++;
	else if (state->status == MIGRATE_STATE_RUNNING)
		totals->running++;
	else if (state->status == MIGRATE_STATE_FINISHED)
		totals->finished++;
	else if (state->status == MIGRATE_STATE_NONE)
		totals->never_run++;
	else
		totals->failed++;
	totals->messages_total += state->messages_total;
	totals->bytes_total += state->bytes_total;

	doveadm_print(state->user);
	doveadm_print(status);
	/* a queued account that never ran has no phase yet */
	doveadm_print(state->status == MIGRATE_STATE_NONE &&
		      state->phase == MIGRATE_PHASE_MIRROR ? "" :
		      migrate_phase_name(state->phase));
	doveadm_print_num(state->runs);
	doveadm_print(state->started == 0 ? "" : unixdate2str(state->started));
	doveadm_print(state->status == MIGRATE_STATE_RUNNING ||
		      state->finished == 0 ? "" :
		      unixdate2str(state->finished));
	doveadm_print_num(state->messages_copied);
	doveadm_print_num(state->bytes_copied);
	doveadm_print_num(state->messages_total);
	doveadm_print_num(state->bytes_total);
	doveadm_print(state->backend == NULL ? "" : state->backend);
	doveadm_print(state->last_error == NULL ? "" : state->last_error);
}

/* Add the users of the on-login queue to queued (sorted), and a state
   of their own to states for those that have none. */
static void
migrate_status_read_queue(const char *dir, const char *mask,
			  ARRAY_TYPE(const_string) *queued,
			  ARRAY_TYPE(migrate_state) *states)
{
	const char *queue_dir = t_strconcat(dir, "/", MIGRATE_QUEUE_DIR_NAME,
					    NULL);
	struct migrate_state *state, old_state;
	const char *user, *error;
	struct dirent *d;
	struct stat st;
	DIR *dirp;

	if ((dirp = opendir(queue_dir)) == NULL) {
		if (errno != ENOENT)
			i_error("migrate status: opendir(%s) failed: %m",
				queue_dir);
		return;
	}
	while ((d = readdir(dirp)) != NULL) {
		if (!migrate_queue_file_user(d->d_name, &user) ||
		    (mask != NULL && !wildcard_match_icase(user, mask)))
			continue;
		array_push_back(queued, &user);
		if (doveadm_migrate_state_read(user, pool_datastack_create(),
					       &old_state, &error) != 0)
			continue;
		/* not started yet: "started" says when it was queued */
		state = array_append_space(states);
		state->user = user;
		if (stat(t_strdup_printf("%s/%s", queue_dir, d->d_name),
			 &st) == 0)
			state->started = st.st_mtime;
	}
	if (closedir(dirp) < 0)
		i_error("migrate status: closedir(%s) failed: %m", queue_dir);
	array_sort(queued, i_strcmp_p);
}

static void cmd_migrate_status(struct doveadm_cmd_context *cctx)
{
	const char *dir = doveadm_migrate_state_dir();
	const char *mask = NULL, *error, *path;
	ARRAY_TYPE(migrate_state) states;
	ARRAY_TYPE(const_string) queued;
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
	doveadm_print_header_simple("backend");
	doveadm_print_header("error", "error", DOVEADM_PRINT_HEADER_FLAG_EXPAND);

	doveadm_migrate_conf_check_settings("migrate status",
		doveadm_migrate_conf_doveadm_plugins());
	t_array_init(&states, 32);
	dirp = opendir(dir);
	if (dirp == NULL && errno == ENOENT) {
		/* a misspelled migrate_state_dir would show no account */
		i_error("migrate status: migrate_state_dir %s doesn't exist: "
			"no migration has run with this config", dir);
		doveadm_exit_code = MIGRATE_EXIT_CONFIG;
		return;
	}
	if (dirp == NULL) {
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

	t_array_init(&queued, 16);
	migrate_status_read_queue(dir, mask, &queued, &states);

	array_sort(&states, migrate_state_cmp);
	i_zero(&totals);
	array_foreach(&states, state) {
		migrate_status_print(state, array_bsearch(&queued,
			&state->user, i_strcmp_p) != NULL, &totals);
	}

	/* the totals row: "user" says what it is */
	doveadm_print(t_strdup_printf("(total: %u accounts)", totals.accounts));
	doveadm_print(t_strdup_printf("%u finished, %u failed, %u running, "
				      "%u interrupted, %u queued%s",
				      totals.finished, totals.failed,
				      totals.running, totals.interrupted,
				      totals.queued, totals.never_run == 0 ? "" :
				      t_strdup_printf(", %u never run",
						      totals.never_run)));
	doveadm_print("");
	doveadm_print("");
	doveadm_print("");
	doveadm_print("");
	doveadm_print("");
	doveadm_print("");
	doveadm_print_num(totals.messages_total);
	doveadm_print_num(totals.bytes_total);
	doveadm_print("");
	doveadm_print("");
	if (mask != NULL && totals.accounts == 0)
		doveadm_exit_code = MIGRATE_EXIT_NOUSER;
}

struct doveadm_cmd_ver2 doveadm_cmd_migrate_status = {
	.name = "migrate status",
	.cmd = cmd_migrate_status,
	.usage = "[-u <user mask>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('u', "user", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAMS_END
};
