/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "wildcard-match.h"
#include "ostream.h"
#include "time-util.h"
#include "doveadm-print.h"
#include "doveadm-util.h"
#include "migrate-common.h"
#include "migrate-state.h"
#include "migrate-outcome.h"
#include "migrate-progress.h"
#include "migrate-queue.h"
#include "doveadm-migrate.h"

#include <dirent.h>
#include <sys/stat.h>

/* doveadm migrate status: the recorded state of every account, read from
   migrate_state_dir; works while migrations run (state files are replaced
   atomically, and a running pass keeps its progress there). A state that
   says "running" while nobody holds the account's lock belonged to a run
   that died: it shows as "interrupted". Accounts waiting in the on-login
   queue (migrate_onlogin) show as "queued", also when an earlier run was
   interrupted or failed.

   For people (no -f): a table with sizes in IEC units, the progress of
   running passes and errors cut to a line, then the totals and the
   failures by cause; -u with one account shows all of it. With -f (json,
   tab, ...): one row per account with the raw numbers and the whole
   error, and --totals gives the totals as a row of their own. */

ARRAY_DEFINE_TYPE(migrate_state, struct migrate_state);

/* how much of an error the people's table shows */
#define MIGRATE_STATUS_ERROR_WIDTH 60

struct migrate_status_totals {
	unsigned int accounts, running, finished, failed, interrupted, queued;
	/* switched by migrate switch before any run */
	unsigned int never_run;
	uint64_t messages_total, bytes_total;
	/* failed accounts by exit code */
	unsigned int failed_by_code[256];
};

enum migrate_status_view {
	/* a table for people */
	MIGRATE_STATUS_VIEW_PEOPLE,
	/* all of one account, for people */
	MIGRATE_STATUS_VIEW_DETAIL,
	/* raw rows for -f json/tab/... */
	MIGRATE_STATUS_VIEW_MACHINE,
	/* the totals as one row, for -f (--totals) */
	MIGRATE_STATUS_VIEW_TOTALS,
};

static int migrate_state_cmp(const struct migrate_state *s1,
			     const struct migrate_state *s2)
{
	return strcmp(s1->user, s2->user);
}

static const char *
migrate_status_name(const struct migrate_state *state, bool queued)
{
	struct doveadm_migrate_lock lock;
	const char *error;

	if (state->status != MIGRATE_STATE_RUNNING) {
		return queued ? "queued" :
			migrate_state_status_name(state->status);
	}
	/* can we take the lock? then the run is gone */
	if (doveadm_migrate_lock(state->user, TRUE, &lock, &error) > 0)
		return queued ? "queued" : "interrupted";
	return "running";
}

static void
migrate_status_count(const struct migrate_state *state, const char *status,
		     struct migrate_status_totals *totals)
{
	totals->accounts++;
	if (strcmp(status, "queued") == 0)
		totals->queued++;
	else if (strcmp(status, "interrupted") == 0)
		totals->interrupted++;
	else if (state->status == MIGRATE_STATE_RUNNING)
		totals->running++;
	else if (state->status == MIGRATE_STATE_FINISHED)
		totals->finished++;
	else if (state->status == MIGRATE_STATE_NONE)
		totals->never_run++;
	else {
		totals->failed++;
		totals->failed_by_code[state->exit_code & 0xff]++;
	}
	totals->messages_total += state->messages_total;
	totals->bytes_total += state->bytes_total;
}

static const char *migrate_status_phase(const struct migrate_state *state)
{
	/* a queued account that never ran has no phase yet */
	return state->status == MIGRATE_STATE_NONE &&
		state->phase == MIGRATE_PHASE_MIRROR ? "" :
		migrate_phase_name(state->phase);
}

static bool migrate_status_has_progress(const struct migrate_state *state,
					const char *status)
{
	return strcmp(status, "running") == 0 &&
		state->progress.updated != 0;
}

static void
migrate_status_print_people(const struct migrate_state *state,
			    const char *status)
{
	const char *error = state->last_error == NULL ? "" :
		state->last_error;
	time_t when = state->status == MIGRATE_STATE_RUNNING ||
		state->finished == 0 ? state->started : state->finished;

	doveadm_print(state->user);
	doveadm_print(status);
	doveadm_print(migrate_status_phase(state));
	doveadm_print(migrate_status_has_progress(state, status) ?
		      migrate_progress_short_str(&state->progress) : "");
	doveadm_print_num(state->messages_total);
	doveadm_print(migrate_size_str(state->bytes_total));
	doveadm_print(when == 0 ? "" :
		      t_strflocaltime("%Y-%m-%d %H:%M", when));
	if (strlen(error) > MIGRATE_STATUS_ERROR_WIDTH) {
		/* the whole error: status -u */
		string_t *str = t_str_new(MIGRATE_STATUS_ERROR_WIDTH + 4);

		str_append(str, error);
		str_truncate_utf8(str, MIGRATE_STATUS_ERROR_WIDTH - 3);
		str_append(str, "...");
		error = str_c(str);
	}
	doveadm_print(error);
}

static void
migrate_status_print_machine(const struct migrate_state *state,
			     const char *status)
{
	const struct migrate_progress *progress = &state->progress;
	bool have_progress = migrate_status_has_progress(state, status);

	doveadm_print(state->user);
	doveadm_print(status);
	doveadm_print(migrate_status_phase(state));
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
	doveadm_print_num(state->status == MIGRATE_STATE_FAILED ?
			  state->exit_code : 0);
	doveadm_print(state->log_path == NULL ? "" : state->log_path);
	doveadm_print(have_progress && progress->folder != NULL ?
		      progress->folder : "");
	doveadm_print_num(have_progress ? progress->folder_n : 0);
	doveadm_print_num(have_progress ? progress->folders : 0);
	doveadm_print_num(have_progress ? progress->messages : 0);
	doveadm_print_num(have_progress ? progress->bytes : 0);
	doveadm_print_num(have_progress ? progress->messages_todo : 0);
	doveadm_print_num(have_progress ? progress->bytes_todo : 0);
	doveadm_print_num(have_progress ? progress->rate : 0);
	doveadm_print_num(have_progress ? progress->eta_secs : 0);
	doveadm_print(have_progress ? unixdate2str(progress->updated) : "");
}

static void migrate_status_headers(enum migrate_status_view view)
{
	/* numbers are numbers in JSON ('#') */
	static const char *const machine_headers[] = {
		"user", "status", "phase", "#runs", "started", "finished",
		"#copied", "#copied_bytes", "#messages", "#bytes", "backend",
		"error", "#exit_code", "log", "progress_folder",
		"#progress_folder_n", "#progress_folders",
		"#progress_messages", "#progress_bytes",
		"#progress_messages_todo", "#progress_bytes_todo",
		"#progress_rate", "#progress_eta", "progress_updated", NULL
	};
	const char *const *key;
	const char *name;

	switch (view) {
	case MIGRATE_STATUS_VIEW_PEOPLE:
		doveadm_print_header_simple("user");
		doveadm_print_header_simple("status");
		doveadm_print_header_simple("phase");
		doveadm_print_header_simple("progress");
		doveadm_print_header("messages", "messages",
				     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
		doveadm_print_header("size", "size",
				     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
		doveadm_print_header_simple("last run");
		doveadm_print_header("error", "error",
				     DOVEADM_PRINT_HEADER_FLAG_EXPAND);
		break;
	case MIGRATE_STATUS_VIEW_DETAIL:
	case MIGRATE_STATUS_VIEW_MACHINE:
		for (key = machine_headers; *key != NULL; key++) {
			name = **key == '#' ? *key + 1 : *key;
			doveadm_print_header(name, name, **key != '#' ? 0 :
				DOVEADM_PRINT_HEADER_FLAG_NUMBER |
				DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
		}
		break;
	case MIGRATE_STATUS_VIEW_TOTALS:
		/* printed with the totals: the causes come first */
		break;
	}
}

/* "login refused (77)" for failed accounts' exit codes */
static const char *migrate_status_cause(int exit_code)
{
	return t_strdup_printf("%s (%d)", migrate_exit_code_name(exit_code),
			       exit_code);
}

static void
migrate_status_print_totals_row(const struct migrate_status_totals *totals)
{
	unsigned int code;

	static const char *const keys[] = {
		"accounts", "finished", "failed", "running", "interrupted",
		"queued", "never_run", "messages", "bytes", NULL
	};
	const char *const *key, *name;

	for (key = keys; *key != NULL; key++) {
		doveadm_print_header(*key, *key,
				     DOVEADM_PRINT_HEADER_FLAG_NUMBER);
	}
	for (code = 0; code < N_ELEMENTS(totals->failed_by_code); code++) {
		if (totals->failed_by_code[code] > 0) {
			name = t_strdup_printf("failed_exit_%u", code);
			doveadm_print_header(name, name,
				DOVEADM_PRINT_HEADER_FLAG_NUMBER);
		}
	}
	doveadm_print_num(totals->accounts);
	doveadm_print_num(totals->finished);
	doveadm_print_num(totals->failed);
	doveadm_print_num(totals->running);
	doveadm_print_num(totals->interrupted);
	doveadm_print_num(totals->queued);
	doveadm_print_num(totals->never_run);
	doveadm_print_num(totals->messages_total);
	doveadm_print_num(totals->bytes_total);
	for (code = 0; code < N_ELEMENTS(totals->failed_by_code); code++) {
		if (totals->failed_by_code[code] > 0)
			doveadm_print_num(totals->failed_by_code[code]);
	}
}

/* Below the people's table: the totals and the failures by cause. */
static void
migrate_status_print_summary(const struct migrate_status_totals *totals)
{
	string_t *str = t_str_new(256);
	unsigned int code;
	bool first = TRUE;

	str_printfa(str, "\n%u accounts: %u finished, %u failed, %u running, "
		    "%u interrupted, %u queued", totals->accounts,
		    totals->finished, totals->failed, totals->running,
		    totals->interrupted, totals->queued);
	if (totals->never_run > 0)
		str_printfa(str, ", %u never run", totals->never_run);
	str_printfa(str, "; %"PRIu64" messages, %s here\n",
		    totals->messages_total,
		    migrate_size_str(totals->bytes_total));
	for (code = 0; code < N_ELEMENTS(totals->failed_by_code); code++) {
		if (totals->failed_by_code[code] == 0)
			continue;
		str_append(str, first ? "failed: " : ", ");
		str_printfa(str, "%u %s", totals->failed_by_code[code],
			    migrate_status_cause(code));
		first = FALSE;
	}
	if (!first) {
		str_append(str, "\n(doveadm migrate status -u <user> shows an "
			   "account's whole error and its log)\n");
	}
	doveadm_print_flush();
	o_stream_nsend(doveadm_print_ostream, str_data(str), str_len(str));
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
	const char *mask = NULL, *error, *path, *status;
	ARRAY_TYPE(migrate_state) states;
	ARRAY_TYPE(const_string) queued;
	struct migrate_status_totals totals;
	enum migrate_status_view view;
	bool totals_only = FALSE;
	const struct migrate_state *state;
	struct migrate_state *new_state;
	struct dirent *d;
	DIR *dirp;
	size_t len;

	(void)doveadm_cmd_param_str(cctx, "user", &mask);
	(void)doveadm_cmd_param_bool(cctx, "totals", &totals_only);

	/* doveadm -f json|tab|... chose a formatter for machines */
	if (totals_only)
		view = MIGRATE_STATUS_VIEW_TOTALS;
	else if (doveadm_print_is_initialized())
		view = MIGRATE_STATUS_VIEW_MACHINE;
	else if (mask != NULL && strpbrk(mask, "*?") == NULL)
		view = MIGRATE_STATUS_VIEW_DETAIL;
	else
		view = MIGRATE_STATUS_VIEW_PEOPLE;
	doveadm_print_init(view == MIGRATE_STATUS_VIEW_DETAIL ?
			   DOVEADM_PRINT_TYPE_FLOW : DOVEADM_PRINT_TYPE_TABLE);
	migrate_status_headers(view);

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
		status = migrate_status_name(state, array_bsearch(&queued,
			&state->user, i_strcmp_p) != NULL);
		migrate_status_count(state, status, &totals);
		switch (view) {
		case MIGRATE_STATUS_VIEW_PEOPLE:
			migrate_status_print_people(state, status);
			break;
		case MIGRATE_STATUS_VIEW_DETAIL:
		case MIGRATE_STATUS_VIEW_MACHINE:
			migrate_status_print_machine(state, status);
			break;
		case MIGRATE_STATUS_VIEW_TOTALS:
			break;
		}
	}
	if (view == MIGRATE_STATUS_VIEW_TOTALS)
		migrate_status_print_totals_row(&totals);
	else if (view == MIGRATE_STATUS_VIEW_PEOPLE)
		migrate_status_print_summary(&totals);
	if (mask != NULL && totals.accounts == 0)
		doveadm_exit_code = MIGRATE_EXIT_NOUSER;
}

struct doveadm_cmd_ver2 doveadm_cmd_migrate_status = {
	.name = "migrate status",
	.cmd = cmd_migrate_status,
	.usage = "[-u <user mask>] [--totals]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('u', "user", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('t', "totals", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAMS_END
};
