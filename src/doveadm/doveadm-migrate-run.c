/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "sleep.h"
#include "array.h"
#include "str.h"
#include "strescape.h"
#include "ioloop.h"
#include "write-full.h"
#include "time-util.h"
#include "master-service.h"
#include "doveadm-print.h"
#include "doveadm-util.h"
#include "doveadm-settings.h"
#include "migrate-common.h"
#include "migrate-csv.h"
#include "migrate-folder-split.h"
#include "migrate-snapshot.h"
#include "migrate-state.h"
#include "doveadm-migrate.h"

#include <signal.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

/* doveadm migrate run: one account, old server -> this Dovecot, through
   Dovecot's own dsync run as a child process with the same config. The
   old server's logins are checked first (dsync panics when an imapc login
   fails), every step is recorded in the account's state file, and a
   second run for the same user is refused while one is going.

   The account's lifecycle decides how a pass copies. Before the MX switch
   (phase mirror) `backup -R` makes this server a copy of the old one, so
   mail deleted or flagged there follows here. Once users work here
   (phase switched: --final, the on-login worker, migrate switch, or any
   change here that no pass made, found by comparing the mailboxes with
   the snapshot the last pass left) every pass is `migrate copy-new`: it
   copies only what is new at the old server since the marks the last
   mirroring pass left, and never deletes, reverts, renumbers or brings
   back anything here (dsync's one-way sync would copy again mail the
   user deleted at the end of a folder, and renumber mail delivered
   here); dsync's "delete the mailbox and copy it again" can't happen. */

/* dsync's exit code when mailboxes changed while it ran ("You may want to
   run dsync again"): normal while the user works on this server */
#define MIGRATE_RUN_DSYNC_EXIT_CHANGED 2
/* doveadm's exit when a mailbox isn't there */
#define MIGRATE_RUN_DOVEADM_EX_NOTFOUND 68
#define MIGRATE_RUN_DSYNC_MAX_ATTEMPTS 3
/* the old server is busy or throttling: migrate_busy_wait (default 30 s)
   before the next attempt, doubled each time up to 10 minutes, at most
   5 waits (about 15 minutes in all with the default) */
#define MIGRATE_RUN_BUSY_WAIT_DEFAULT_SECS 30
#define MIGRATE_RUN_BUSY_WAIT_MAX_SECS (10 * 60)
#define MIGRATE_RUN_BUSY_MAX_WAITS 5
#define MIGRATE_DSYNC_EMPTY_HEADER_WORKAROUND "empty-header-workaround"
/* how long migrate run --backend waits for the backend's answer */
#define MIGRATE_RUN_REMOTE_TIMEOUT_SECS (24 * 60 * 60)
/* the most dsync workers migrate_run_workers and --workers may ask for */
#define MIGRATE_RUN_MAX_WORKERS 64

struct migrate_run {
	const char *user;
	const char *conf;
	bool one_way, final;
	/* why --final switches the account (--switch-reason) */
	const char *switch_reason;
	/* the migrate_gmail plugin is loaded: copy with migrate gmail */
	bool gmail;
	/* copy dsync's output to stderr (not in a doveadm server, where
	   stderr goes to the log as errors) */
	bool echo;
	const char *const *excludes;
	/* the login on the old server given as parameters (--source-*),
	   written into a config file of its own for the run */
	struct migrate_account source;
	bool have_source;
	const char *source_conf;
	/* the children's config with the OAuth2 token (NULL without), the
	   config it includes, and when to write it again with a new token */
	const char *oauth2_conf, *oauth2_base_conf;
	time_t oauth2_refresh_at;
	/* run it on this backend's doveadm HTTP API instead */
	const char *backend;
	/* --folder-prefix: the old account's folders go under this folder
	   of an account in use here */
	const char *folder_prefix;
	struct migrate_state state;
	struct doveadm_migrate_lock lock;
	/* the user's mailboxes here before this pass copied anything */
	struct migrate_snapshot before;
	/* the last pass was killed before it recorded what it left */
	bool prev_interrupted;
	/* the next look here rebuilds an mdbox storage first (a pass after
	   a killed one) */
	bool rebuild;
	uint64_t messages_before, bytes_before;

	/* the run's events (category migrate, field user) */
	struct event *event;
	/* the log of the run, with its children's output (-1: stderr is
	   it already, under batch and worker) */
	int log_fd;
	/* the old server's folders before a mirroring pass, for the
	   progress (what the pass has to copy) */
	struct migrate_snapshot source_before;
	bool have_source_before;
	struct doveadm_migrate_tracker *tracker;
	/* the next wait after the old server said it is busy, and how many
	   waits this run had */
	unsigned int busy_wait_secs, busy_waits;
	/* how many dsync workers a mirroring pass may use (--workers, the
	   budget migrate batch grants, and migrate_run_workers) */
	unsigned int max_workers;
};

/* A child logs in with the token in the run's config before it can
   refresh it itself: give the next child a fresh one once half of the
   token's life has passed (a run of many passes, a retry after a wait). */
static void migrate_run_oauth2_refresh(struct migrate_run *run)
{
	const char *path, *error;

	if (run->oauth2_conf == NULL || time(NULL) < run->oauth2_refresh_at)
		return;
	if (doveadm_migrate_oauth2_run_conf(run->oauth2_base_conf, run->user,
					    run->source.refresh_token,
					    pool_datastack_create(), &path,
					    &run->oauth2_refresh_at,
					    &error) != 0) {
		/* the old token may still do: the child says if not */
		i_error("migrate run: user %s: %s", run->user, error);
		run->oauth2_refresh_at = time(NULL) + 60;
	}
}

static const char *const *
migrate_run_args(struct migrate_run *run, const char *const *cmd)
{
	ARRAY_TYPE(const_string) args;

	migrate_run_oauth2_refresh(run);
	t_array_init(&args, 16);
	array_push_back(&args, (const char *[]){ "doveadm" });
	array_push_back(&args, (const char *[]){ "-c" });
	array_push_back(&args, &run->conf);
	for (; *cmd != NULL; cmd++)
		array_push_back(&args, cmd);
	array_append_zero(&args);
	return array_front(&args);
}

static const char *
migrate_run_server(struct migrate_run *run, const char *proto)
{
	const char *host, *port;

	doveadm_migrate_conf_server(proto, &host, &port);
	if (run->source.host != NULL) {
		host = run->source.host;
		if (run->source.port != 0 && strcmp(proto, "imapc") == 0)
			port = dec2str(run->source.port);
	}
	if (*host == '\0')
		host = "(no host set)";
	return *port == '\0' ? host : t_strdup_printf("%s:%s", host, port);
}

/* "IMAP server host:port" for error messages: the server the child
   recorded it talked to, else the one of the config. */
static const char *
migrate_run_server_name(struct migrate_run *run, bool pop3,
			const struct doveadm_migrate_child *child)
{
	const char *server = child == NULL ? NULL :
		migrate_outcome_server(&child->records, pop3 ?
			MIGRATE_OUTCOME_POP3 : MIGRATE_OUTCOME_IMAP);

	if (server == NULL)
		server = migrate_run_server(run, pop3 ? "pop3c" : "imapc");
	return t_strdup_printf("%s server %s", pop3 ? "POP3" : "IMAP", server);
}

/* "<whose>: <cause>: <detail>" for a failed child: "this server", or the
   old server's IMAP or POP3 (pop3 says which when the outcome doesn't
   know). */
static const char *
migrate_run_failure(struct migrate_run *run,
		    const struct doveadm_migrate_child *child, bool pop3)
{
	struct migrate_outcome_result result;

	doveadm_migrate_child_judge(child, &result);
	switch (result.where) {
	case MIGRATE_OUTCOME_HERE:
		return t_strdup_printf("this server: %s: %s", result.cause,
				       result.detail);
	case MIGRATE_OUTCOME_IMAP:
		pop3 = FALSE;
		break;
	case MIGRATE_OUTCOME_POP3:
		pop3 = TRUE;
		break;
	case MIGRATE_OUTCOME_UNKNOWN:
		break;
	}
	return t_strdup_printf("%s: %s: %s",
			       migrate_run_server_name(run, pop3, child),
			       result.cause, result.detail);
}

/* Log in to the old server's IMAP (or POP3) without copying anything.
   Returns 0 if fine, else a MIGRATE_EXIT_* code with error_r set. */
static int
migrate_run_check_login(struct migrate_run *run, bool pop3,
			const char *pop3_vname, const char **error_r)
{
	struct doveadm_migrate_child child;
	struct migrate_outcome_result result;
	const char *const *args;
	int code = 0;

	if (!pop3) {
		args = migrate_run_args(run, (const char *[]){
			MIGRATE_IMAPC_OVERRIDES, "mailbox", "list",
			"-u", run->user, NULL });
	} else {
		args = migrate_run_args(run, (const char *[]){
			"mailbox", "status", "-u", run->user, "messages",
			pop3_vname, NULL });
	}
	if (doveadm_migrate_child_run_user(run->user, args, FALSE,
					   &child) < 0) {
		doveadm_migrate_child_judge(&child, &result);
		code = result.exit_code;
		if (pop3 && child.exit_code == MIGRATE_RUN_DOVEADM_EX_NOTFOUND) {
			/* logged in, but the namespace isn't there */
			code = MIGRATE_EXIT_CONFIG;
			*error_r = t_strdup_printf("migrate_pop3_mailbox=%s "
				"names no mailbox of a pop3c namespace: %s",
				pop3_vname,
				doveadm_migrate_child_last_error(&child));
		} else {
			*error_r = migrate_run_failure(run, &child, pop3);
		}
	}
	doveadm_migrate_child_free(&child);
	return code;
}

/* The user's mailboxes on this server now (or with source, the old
   server's folders), a STATUS each. Returns 0, or -1 with error_r (then
   nothing is known of them). */
static int
migrate_run_mailboxes_read(struct migrate_run *run, bool source,
			   struct migrate_snapshot *snapshot_r,
			   const char **error_r)
{
	struct doveadm_migrate_child child;
	const char *const *args;
	int ret = 0;

	static const char *const status_args[] = {
		"-f", "tab", "mailbox", "status", "-u", NULL
	};
	ARRAY_TYPE(const_string) cmd;

	t_array_init(&cmd, 12);
	if (!source && run->rebuild) {
		/* the first look here after a killed pass: an mdbox storage
		   is rebuilt first (doveadm-migrate-guard.c) */
		array_push_back(&cmd, (const char *[]){ "-o" });
		array_push_back(&cmd, (const char *[]){
			MIGRATE_SETTING_OVERRIDE("migrate_guard")"=rebuild" });
	}
	if (source) {
		/* the same user with the storage at imapc */
		static const char *const imapc_args[] = {
			MIGRATE_IMAPC_OVERRIDES
		};
		array_append(&cmd, imapc_args, N_ELEMENTS(imapc_args));
	}
	array_append(&cmd, status_args, str_array_length(status_args));
	array_push_back(&cmd, &run->user);
	array_push_back(&cmd, (const char *[]){ MIGRATE_SNAPSHOT_STATUS_FIELDS });
	array_push_back(&cmd, (const char *[]){ "*" });
	array_append_zero(&cmd);
	args = migrate_run_args(run, array_front(&cmd));
	/* the old server's folders under the names they get here
	   (migrate_folder_map applies in children that record an
	   outcome): dsync -m of a worker and the progress use them */
	if ((source ? doveadm_migrate_child_run_user(run->user, args, FALSE,
						     &child) :
	     doveadm_migrate_child_run("doveadm", args, FALSE, &child)) < 0) {
		*error_r = t_strdup_printf("reading the mailboxes failed: %s",
			doveadm_migrate_child_last_error(&child));
		ret = -1;
	} else if (migrate_snapshot_parse_status(str_c(child.output),
			pool_datastack_create(), snapshot_r, error_r) < 0) {
		*error_r = t_strdup_printf("reading the mailboxes failed: "
			"unexpected doveadm mailbox status output: %s",
			*error_r);
		ret = -1;
	}
	if (ret == 0 && !source)
		run->rebuild = FALSE;
	doveadm_migrate_child_free(&child);
	return ret;
}

static int
migrate_run_snapshot_read(struct migrate_run *run,
			  struct migrate_snapshot *snapshot_r,
			  const char **error_r)
{
	return migrate_run_mailboxes_read(run, FALSE, snapshot_r, error_r);
}

/* The snapshot the last pass left. Returns 1, 0 if there is none, -1 if
   it can't be read (error_r). */
static int
migrate_run_snapshot_load(struct migrate_run *run,
			  struct migrate_snapshot *snapshot_r,
			  const char **error_r)
{
	string_t *data;
	int ret;

	ret = doveadm_migrate_user_file_read(run->user, ".snapshot", &data,
					     error_r);
	if (ret <= 0)
		return ret;
	if (migrate_snapshot_parse(str_c(data), pool_datastack_create(),
				   snapshot_r, error_r) < 0)
		return -1;
	return 1;
}

static void
migrate_run_snapshot_save(struct migrate_run *run,
			  const struct migrate_snapshot *snapshot)
{
	string_t *data = t_str_new(256);
	const char *error;

	migrate_snapshot_append(data, snapshot);
	if (doveadm_migrate_user_file_write(run->user, ".snapshot", data,
					    &error) < 0) {
		/* the next pass then sees changes and treats the account
		   as switched: safe */
		i_error("migrate run: user %s: can't record the mailboxes "
			"this pass left: %s", run->user, error);
	}
}

static void migrate_run_print(const struct migrate_state *state)
{
	doveadm_print(state->user);
	doveadm_print(migrate_state_status_name(state->status));
	doveadm_print(migrate_phase_name(state->phase));
	doveadm_print_num(state->messages_copied);
	doveadm_print_num(state->bytes_copied);
	doveadm_print_num(state->messages_total);
	doveadm_print_num(state->finished - state->started);
	doveadm_print(state->last_error == NULL ? "" : state->last_error);
}

/* A line of the run itself in its log (the children's output is there
   already). */
static void migrate_run_log(struct migrate_run *run, const char *line)
{
	const char *text;

	if (run->log_fd == -1)
		return;
	text = t_strdup_printf("%s migrate run: user %s: %s\n",
			       t_strflocaltime("%Y-%m-%d %H:%M:%S", time(NULL)),
			       run->user, line);
	if (write_full(run->log_fd, text, strlen(text)) < 0) {
		i_error("migrate run: user %s: write(%s) failed: %m",
			run->user, run->state.log_path);
	}
}

/* The run's log: migrate_state_dir/<user>.log, appended to. Under batch
   and worker stderr is that file already. */
static void migrate_run_log_open(struct migrate_run *run)
{
	const char *path = doveadm_migrate_user_file_path(run->user, ".log");
	struct stat st_err, st_log;

	run->state.log_path = path;
	if (fstat(STDERR_FILENO, &st_err) == 0 && stat(path, &st_log) == 0 &&
	    st_err.st_dev == st_log.st_dev && st_err.st_ino == st_log.st_ino)
		return;
	run->log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
	if (run->log_fd == -1) {
		i_error("migrate run: user %s: open(%s) failed: %m",
			run->user, path);
		run->state.log_path = NULL;
		return;
	}
	migrate_run_log(run, t_strdup_printf("started (pid %ld)",
					     (long)getpid()));
}

static int migrate_run_finish(struct migrate_run *run, int exit_code,
			      const char *error)
{
	const char *write_error;

	run->state.status = exit_code == 0 ? MIGRATE_STATE_FINISHED :
		MIGRATE_STATE_FAILED;
	/* this pass gave the killed one's copies their flags */
	if (exit_code == 0)
		run->state.flags_unsure = FALSE;
	run->state.exit_code = exit_code;
	run->state.finished = time(NULL);
	run->state.last_error = error;
	if (doveadm_migrate_state_write(&run->state, &write_error) < 0) {
		i_error("migrate run: user %s: can't record the state: %s",
			run->user, write_error);
		if (exit_code == 0)
			exit_code = MIGRATE_EXIT_SOFTWARE;
	}
	migrate_run_print(&run->state);
	if (error != NULL)
		i_error("migrate run: user %s: %s", run->user, error);
	migrate_run_log(run, exit_code == 0 ?
		t_strdup_printf("finished: %"PRIu64" messages, %s copied",
				run->state.messages_copied,
				migrate_size_str(run->state.bytes_copied)) :
		t_strdup_printf("failed (exit %d): %s", exit_code,
				error == NULL ? "" : error));
	e_debug(event_create_passthrough(run->event)->
		set_name("migrate_run_finished")->
		add_str("phase", migrate_phase_name(run->state.phase))->
		add_int("exit_code", exit_code)->
		add_int("messages", run->state.messages_copied)->
		add_int("bytes", run->state.bytes_copied)->
		add_int("messages_total", run->state.messages_total)->
		add_int("bytes_total", run->state.bytes_total)->
		add_int("duration", run->state.finished - run->state.started)->
		add_str("error", error == NULL ? "" : error)->event(),
		"migrate run: user %s: %s", run->user,
		exit_code == 0 ? "finished" : "failed");
	return exit_code;
}

/* Does this pass copy only what is new at the old server, with migrate
   copy-new? Once the account is switched (users work here), and always
   with --folder-prefix (the old folders join an account in use). Gmail
   accounts have migrate gmail -1 for that. */
static bool migrate_run_copies_new(const struct migrate_run *run)
{
	return run->state.phase == MIGRATE_PHASE_SWITCHED ||
		run->folder_prefix != NULL;
}

/* Is this pass one-way and additive? -1 asks for it for one pass of a
   mirroring account. */
static bool migrate_run_additive(const struct migrate_run *run)
{
	return migrate_run_copies_new(run) || run->one_way;
}

/* dsync_features of the migration config with empty-header-workaround:
   without it a message with an empty header (Courier's LF CR CR LF) makes
   a later pass delete the mailbox ("Headers hashes don't match"). */
static const char *migrate_run_dsync_features(void)
{
	const char *features = doveadm_settings->dsync_features;
	const char *const *words = t_strsplit_spaces(features, " ");

	if (str_array_find(words, MIGRATE_DSYNC_EMPTY_HEADER_WORKAROUND))
		return t_strconcat("dsync_features=", features, NULL);
	return t_strconcat("dsync_features=", features,
			   *features == '\0' ? "" : " ",
			   MIGRATE_DSYNC_EMPTY_HEADER_WORKAROUND, NULL);
}

static void
migrate_run_push_excludes(struct migrate_run *run,
			  ARRAY_TYPE(const_string) *cmd)
{
	const char *const *exclude;

	for (exclude = run->excludes; exclude != NULL && *exclude != NULL;
	     exclude++) {
		array_push_back(cmd, (const char *[]){ "-x" });
		array_push_back(cmd, exclude);
	}
}

/* The copying command: dsync's backup while the account mirrors the old
   server, migrate copy-new once users work here, and migrate gmail for a
   Gmail source (labels become folders and each body is downloaded once;
   views are skipped by SPECIAL-USE, so -x isn't needed there). */
static void
migrate_run_copy_args(struct migrate_run *run, const char *mailbox,
		      ARRAY_TYPE(const_string) *cmd)
{
	const char *features;

	if (run->gmail) {
		array_push_back(cmd, (const char *[]){ "migrate" });
		array_push_back(cmd, (const char *[]){ "gmail" });
		if (migrate_run_additive(run)) {
			array_push_back(cmd, (const char *[]){ "-1" });
			/* as copy-new's --repair-flags */
			if (run->state.flags_unsure) {
				array_push_back(cmd, (const char *[]){
					"--repair-flags" });
			}
		}
		array_push_back(cmd, (const char *[]){ "-u" });
		array_push_back(cmd, &run->user);
	} else if (migrate_run_copies_new(run)) {
		array_push_back(cmd, (const char *[]){ "migrate" });
		array_push_back(cmd, (const char *[]){ "copy-new" });
		/* a killed pass's saves may be here without their flags
		   (sdbox keeps them only in the index, which the kill may
		   not have reached) */
		if (run->state.flags_unsure) {
			array_push_back(cmd, (const char *[]){
				"--repair-flags" });
		}
		array_push_back(cmd, (const char *[]){ "-u" });
		array_push_back(cmd, &run->user);
		if (run->folder_prefix != NULL) {
			array_push_back(cmd, (const char *[]){ "-P" });
			array_push_back(cmd, &run->folder_prefix);
		}
		migrate_run_push_excludes(run, cmd);
	} else {
		features = migrate_run_dsync_features();
		array_push_back(cmd, (const char *[]){ "-o" });
		array_push_back(cmd, &features);
		/* no mailbox here is deleted unless it can be copied again */
		array_push_back(cmd, (const char *[]){ "-o" });
		array_push_back(cmd, (const char *[]){
			MIGRATE_SETTING_OVERRIDE("migrate_guard")"=mirror" });
		if (run->one_way) {
			array_push_back(cmd, (const char *[]){ "sync" });
			array_push_back(cmd, (const char *[]){ "-1" });
		} else {
			array_push_back(cmd, (const char *[]){ "backup" });
		}
		array_push_back(cmd, (const char *[]){ "-R" });
		array_push_back(cmd, (const char *[]){ "-u" });
		array_push_back(cmd, &run->user);
		migrate_run_push_excludes(run, cmd);
		if (mailbox != NULL) {
			/* one folder of a pass with several workers */
			array_push_back(cmd, (const char *[]){ "-m" });
			array_push_back(cmd, &mailbox);
		}
		array_push_back(cmd, (const char *[]){ "imapc:" });
	}
	array_append_zero(cmd);
}

/* After a mirroring pass this server's folders have the old server's
   UIDs: they mark how far each old folder is copied, so that once the
   account is switched only mail that is new at the old server is. A
   failure only costs the next additive pass some header reads. */
static void migrate_run_mark(struct migrate_run *run)
{
	struct doveadm_migrate_child child;
	const char *const *args;

	args = migrate_run_args(run, (const char *[]){
		"migrate", "copy-new", "--mark", "-u", run->user, NULL });
	if (doveadm_migrate_child_run("doveadm", args, FALSE, &child) < 0) {
		i_warning("migrate run: user %s: can't mark how far the "
			  "folders are copied: %s", run->user,
			  doveadm_migrate_child_last_error(&child));
	}
	doveadm_migrate_child_free(&child);
}

/* After a failed mirroring pass: did dsync delete one of the user's
   mailboxes here ("Deleting mailbox ...: out of step", which dsync's
   backup does to copy the mailbox again on its next run)? */
static const char *migrate_run_lost_box(struct migrate_run *run)
{
	struct migrate_snapshot now;
	const char *error;

	if (migrate_run_snapshot_read(run, &now, &error) < 0)
		return NULL;
	return migrate_snapshot_lost_box(&run->before, &now);
}

/* A line of the run (why dsync runs again, how the pass goes about it):
   logged, and written to the account's log. worker is 0, or the worker
   it is about. */
static void ATTR_FORMAT(4, 5)
migrate_run_say(struct migrate_run *run, enum log_type type,
		unsigned int worker, const char *fmt, ...)
{
	const char *line;
	va_list args;

	va_start(args, fmt);
	line = t_strdup_printf("%s%s",
		worker == 0 ? "" : t_strdup_printf("worker %u: ", worker),
		t_strdup_vprintf(fmt, args));
	va_end(args);
	if (type == LOG_TYPE_WARNING)
		i_warning("migrate run: user %s: %s", run->user, line);
	else
		i_info("migrate run: user %s: %s", run->user, line);
	migrate_run_log(run, line);
}

/* The old server said it is busy or throttling: how long to wait before
   dsync runs again (longer each time, or as long as the server asks), 0
   to give up. */
static unsigned int
migrate_run_busy_wait_secs(struct migrate_run *run, unsigned int worker,
			   const struct migrate_outcome_result *result)
{
	unsigned int secs = run->busy_wait_secs;

	if (secs == 0 || run->busy_waits == MIGRATE_RUN_BUSY_MAX_WAITS)
		return 0;
	run->busy_waits++;
	/* as long as the server asks for (Microsoft 365 says how long) */
	if (result->busy_wait_secs > secs)
		secs = I_MIN(result->busy_wait_secs,
			     MIGRATE_RUN_BUSY_WAIT_MAX_SECS);
	migrate_run_say(run, LOG_TYPE_INFO, worker,
		"%s (%s), running dsync again in %u s",
		result->cause, result->detail, secs);
	run->busy_wait_secs = I_MIN(secs * 2, MIGRATE_RUN_BUSY_WAIT_MAX_SECS);
	return secs;
}

/* Was the run told to stop (SIGTERM, SIGINT)? Its copying children were
   sent SIGTERM then (doveadm-migrate-child.c). */
static bool migrate_run_stopping(void)
{
	return doveadm_migrate_child_stop_signal() != 0 ||
		master_service_is_killed(master_service);
}

/* Wait secs before running dsync again. Returns FALSE when the run was
   told to stop while waiting. */
static bool migrate_run_busy_sleep(unsigned int secs)
{
	/* other signals (a child's SIGCHLD) only shorten one sleep */
	for (time_t end = time(NULL) + secs; time(NULL) < end; ) {
		if (!i_sleep_intr_secs(end - time(NULL)) &&
		    migrate_run_stopping())
			return FALSE;
	}
	return TRUE;
}

/* Should a failed attempt of dsync run again (at once, or after a wait
   the old server asked for)? */
static bool
migrate_run_dsync_again(struct migrate_run *run, unsigned int worker,
			const struct doveadm_migrate_child *child,
			unsigned int *wait_secs_r)
{
	struct migrate_outcome_result result;
	const char *lost;

	*wait_secs_r = 0;
	if (migrate_run_stopping()) {
		/* the child was stopped too */
		return FALSE;
	}
	if (child->exit_code == MIGRATE_RUN_DSYNC_EXIT_CHANGED &&
	    array_count(&child->errors) == 0) {
		/* mail changed on either side meanwhile: another pass
		   copies what is still missing */
		migrate_run_say(run, LOG_TYPE_INFO, worker,
			"mailboxes changed during dsync, running it again");
		return TRUE;
	}
	doveadm_migrate_child_judge(child, &result);
	if (result.source_busy) {
		/* Gmail's [THROTTLED], Exchange's "Server Unavailable":
		   what was copied stays, the next pass goes on from there
		   after a wait (*wait_secs_r) */
		*wait_secs_r = migrate_run_busy_wait_secs(run, worker,
							  &result);
		return *wait_secs_r > 0;
	}
	if (result.where == MIGRATE_OUTCOME_HERE && result.retry_may_help) {
		/* e.g. sdbox found a file of a save a killed run left
		   behind and rebuilt its index: the next pass copies on */
		migrate_run_say(run, LOG_TYPE_INFO, worker,
			"this server's storage failed for now (%s), running "
			"dsync again", result.detail);
		return TRUE;
	}
	if (!migrate_run_additive(run) && !run->gmail &&
	    (lost = migrate_run_lost_box(run)) != NULL) {
		/* no account is left without a mailbox it had */
		migrate_run_say(run, LOG_TYPE_WARNING, worker,
			"dsync deleted mailbox %s to copy it again from the "
			"old server: copying it now", lost);
		return TRUE;
	}
	return FALSE;
}

/* dsync may exit 0 after imapc logged a broken FETCH answer and skipped
   its messages, so any error line fails a dsync pass, and so does a
   mailbox dsync deleted here to copy it again (the guard's recopy
   record). migrate copy-new fails itself on every error of its own; the
   storage's lines of a problem it repaired (mdbox after a killed save:
   "Corrupted dbox file ... rebuilding") don't make its pass fail. */
static bool
migrate_run_child_succeeded(struct migrate_run *run, int ret,
			    const struct doveadm_migrate_child *child)
{
	const struct migrate_outcome_record *rec;

	if (ret < 0)
		return FALSE;
	if (migrate_run_copies_new(run) && !run->gmail)
		return TRUE;
	array_foreach(&child->records, rec) {
		if (rec->kind == MIGRATE_OUTCOME_RECOPY)
			return FALSE;
	}
	return array_count(&child->errors) == 0;
}

/* dsync keeps exiting 2 ("mailbox changes caused a desync") although
   nothing changes: Dovecot 2.3's imapc escapes a "%" in a folder name,
   and dsync then renames that folder onto itself on every pass. Is every
   folder here the old server's (UIDVALIDITY, UIDNEXT, messages)? Then
   the pass is complete. Returns TRUE, or FALSE with why_r. */
static bool migrate_run_in_step(struct migrate_run *run, const char **why_r)
{
	struct migrate_snapshot source, here;
	const char *error;

	if (migrate_run_mailboxes_read(run, TRUE, &source, &error) < 0) {
		*why_r = t_strdup_printf("the old server's folders can't be "
					 "read: %s", error);
		return FALSE;
	}
	if (migrate_run_snapshot_read(run, &here, &error) < 0) {
		*why_r = error;
		return FALSE;
	}
	*why_r = migrate_snapshot_copy_differs(&source, &here);
	return *why_r == NULL;
}

/* dsync kept exiting 2 without an error: done if every folder here has
   the old server's messages. Returns 0 or a MIGRATE_EXIT_* code with
   error_r. */
static int migrate_run_kept_changing(struct migrate_run *run,
				     const char **error_r)
{
	const char *detail;

	if (migrate_run_in_step(run, &detail)) {
		i_warning("migrate run: user %s: dsync kept seeing "
			  "changes, but every folder here has the old "
			  "server's messages: done (a %% in a folder "
			  "name makes Dovecot 2.3's dsync rename it "
			  "onto itself)", run->user);
		return 0;
	}
	*error_r = t_strdup_printf("dsync failed (exit 2): it kept "
		"seeing changes and the copy isn't complete: %s", detail);
	return MIGRATE_EXIT_TEMPFAIL;
}

/* Did the (last attempt of the) child exit 2 without an error, in a
   pass that mirrors? */
static bool
migrate_run_child_kept_changing(struct migrate_run *run,
				const struct doveadm_migrate_child *child)
{
	return child->exit_code == MIGRATE_RUN_DSYNC_EXIT_CHANGED &&
		array_count(&child->errors) == 0 && !migrate_run_additive(run);
}

/* The exit code and error of a failed copying child; where (NULL, or
   "worker 2, folder Work") is put before its cause. */
static int
migrate_run_copy_failed(struct migrate_run *run,
			const struct doveadm_migrate_child *child,
			const char *where, const char **error_r)
{
	struct migrate_outcome_result result;
	const char *failure;
	int code, signo = doveadm_migrate_child_stop_signal();

	if (signo != 0) {
		/* kill, timeout(1), Ctrl-C: not the old server's fault */
		*error_r = t_strdup_printf("stopped by %s%s%s: nothing is "
			"lost, run again to go on",
			signo == SIGINT ? "SIGINT" : "SIGTERM",
			where == NULL ? "" : " in ", where == NULL ? "" : where);
		return MIGRATE_EXIT_TEMPFAIL;
	}
	doveadm_migrate_child_judge(child, &result);
	code = result.exit_code;
	if (code == MIGRATE_EXIT_SOFTWARE && child->exit_code == 0)
		code = MIGRATE_EXIT_TEMPFAIL;
	failure = migrate_run_failure(run, child, FALSE);
	if (where != NULL)
		failure = t_strdup_printf("%s: %s", where, failure);
	*error_r = t_strdup_printf("%s (exit %d): %s",
		result.where == MIGRATE_OUTCOME_HERE ? "copying failed" :
		"dsync failed", child->exit_code, failure);
	return code;
}

/* A pass with several dsync workers: each copies its own set of the old
   server's folders (migrate_folder_split()), one dsync -m per folder, all
   workers at once. The pass succeeds only if every folder's copy did;
   the first failure stops the workers from starting more and is the
   pass' error. */
struct migrate_run_worker {
	struct migrate_run_workers *workers;
	/* 1.. */
	unsigned int n;
	ARRAY_TYPE(const_string) folders;
	unsigned int next, attempt;
	const char *folder;
	struct doveadm_migrate_child child;
	struct doveadm_migrate_child_settings set;
	/* waiting for a busy old server (the other workers go on), until
	   wait_until; the failed child is kept meanwhile */
	struct timeout *to_wait;
	time_t wait_until;
};

struct migrate_run_workers {
	struct migrate_run *run;
	struct ioloop *ioloop;
	struct migrate_run_worker *workers;
	unsigned int count, running;
	/* the first failure: the worker's child is kept */
	struct migrate_run_worker *failed;
	bool kept_changing;
};

static void migrate_run_worker_ended(struct doveadm_migrate_child *child,
				     void *context);

static void migrate_run_worker_start(struct migrate_run_worker *worker)
{
	struct migrate_run *run = worker->workers->run;
	ARRAY_TYPE(const_string) cmd;

	t_array_init(&cmd, 16);
	migrate_run_copy_args(run, worker->folder, &cmd);
	doveadm_migrate_child_start(migrate_run_args(run, array_front(&cmd)),
				    &worker->set, &worker->child,
				    migrate_run_worker_ended, worker);
}

/* Start the worker's next folder. Returns FALSE if it has none left or
   the pass failed. */
static bool migrate_run_worker_next(struct migrate_run_worker *worker)
{
	struct migrate_run *run = worker->workers->run;

	if (worker->workers->failed != NULL ||
	    worker->next == array_count(&worker->folders) ||
	    migrate_run_stopping())
		return FALSE;
	worker->folder = array_idx_elem(&worker->folders, worker->next++);
	worker->attempt = 1;
	migrate_run_log(run, t_strdup_printf("worker %u: copying folder %s",
					     worker->n, worker->folder));
	e_debug(run->event, "migrate run: user %s: worker %u: copying "
		"folder %s", run->user, worker->n, worker->folder);
	migrate_run_worker_start(worker);
	return TRUE;
}

/* The worker's child failed and won't run again: the pass' failure, if
   it is the first one. What runs finishes, nothing starts. */
static void migrate_run_worker_failed(struct migrate_run_worker *worker)
{
	struct migrate_run_workers *workers = worker->workers;

	if (workers->failed == NULL)
		workers->failed = worker;
	else
		doveadm_migrate_child_free(&worker->child);
	if (--workers->running == 0)
		io_loop_stop(workers->ioloop);
}

/* Once a second while the worker waits for a busy old server */
static void migrate_run_worker_wait_check(struct migrate_run_worker *worker)
{
	if (migrate_run_stopping() || worker->workers->failed != NULL) {
		/* told to stop, or another folder failed the pass */
		timeout_remove(&worker->to_wait);
		migrate_run_worker_failed(worker);
	} else if (time(NULL) >= worker->wait_until) {
		timeout_remove(&worker->to_wait);
		doveadm_migrate_child_free(&worker->child);
		migrate_run_worker_start(worker);
	}
}

static void migrate_run_worker_ended(struct doveadm_migrate_child *child,
				     void *context)
{
	struct migrate_run_worker *worker = context;
	struct migrate_run_workers *workers = worker->workers;
	struct migrate_run *run = workers->run;
	int ret = child->exit_code == 0 ? 0 : -1;
	unsigned int wait_secs;

	doveadm_migrate_tracker_lane_done(worker->set.context);
	if (migrate_run_child_succeeded(run, ret, child)) {
		/* this folder is done */
	} else if (worker->attempt < MIGRATE_RUN_DSYNC_MAX_ATTEMPTS +
				     run->busy_waits &&
		   migrate_run_dsync_again(run, worker->n, child,
					   &wait_secs)) {
		worker->attempt++;
		if (wait_secs == 0) {
			doveadm_migrate_child_free(child);
			migrate_run_worker_start(worker);
		} else {
			/* the other workers go on copying meanwhile */
			worker->wait_until = time(NULL) + wait_secs;
			worker->to_wait = timeout_add(1000,
				migrate_run_worker_wait_check, worker);
		}
		return;
	} else if (migrate_run_child_kept_changing(run, child)) {
		/* decided for the whole account when all are done */
		workers->kept_changing = TRUE;
	} else {
		migrate_run_worker_failed(worker);
		return;
	}
	doveadm_migrate_child_free(child);
	if (!migrate_run_worker_next(worker)) {
		workers->running--;
		if (workers->running == 0)
			io_loop_stop(workers->ioloop);
	}
}

static bool migrate_run_setting_set(const char *name)
{
	const char *value = doveadm_migrate_setting(name);

	return value != NULL && *value != '\0' && strcmp(value, "0") != 0;
}

/* Can this pass be copied by several workers? Returns the folders of the
   old server to copy, split (workers_r, as many as the folders), and the
   number of workers; 1 if one dsync copies it all. */
static unsigned int
migrate_run_workers_plan(struct migrate_run *run, unsigned int **workers_r)
{
	const struct migrate_snapshot_box *box;
	const char *value, *why = NULL;
	unsigned int n;

	if (run->max_workers <= 1 || run->gmail ||
	    migrate_run_copies_new(run))
		return 1;
	value = doveadm_migrate_setting("migrate_pop3_mailboxes");
	if (!run->have_source_before)
		why = "the old server's folders can't be read";
	else if (value != NULL && (str_array_length(t_strsplit_spaces(value,
			" ")) > 1 || strchr(value, '*') != NULL)) {
		/* each worker would report the POP3 messages of the
		   other workers' folders as found in none */
		why = "migrate_pop3_mailboxes merges several folders' POP3 "
			"list";
	}
	else if (migrate_run_setting_set("migrate_throttle_bytes") ||
		 migrate_run_setting_set("migrate_throttle_msgs")) {
		/* each worker process would have the account's rate */
		why = "migrate_throttle limits the account's rate";
	}
	else {
		array_foreach(&run->before.boxes, box) {
			/* mirroring deletes it here: dsync does that only
			   when it sees all the folders. An empty one (a
			   folder this server creates itself, mailbox { auto })
			   has nothing to lose and stays. */
			if (box->messages > 0 &&
			    migrate_snapshot_position(&run->source_before,
						      box->name) == 0) {
				why = t_strdup_printf("folder %s is here but "
					"not at the old server", box->name);
				break;
			}
		}
	}
	if (why != NULL) {
		e_debug(run->event, "migrate run: user %s: one dsync: %s",
			run->user, why);
		return 1;
	}
	*workers_r = t_new(unsigned int,
			   array_count(&run->source_before.boxes) + 1);
	n = migrate_folder_split(&run->source_before, "/.", run->max_workers,
				 *workers_r);
	return n;
}

static int
migrate_run_dsync_workers(struct migrate_run *run, unsigned int count,
			  const unsigned int *split, const char **error_r)
{
	struct migrate_run_workers workers;
	struct migrate_run_worker *worker;
	const struct migrate_snapshot_box *box;
	struct ioloop *prev_ioloop = current_ioloop;
	unsigned int i;
	int code = 0;

	i_zero(&workers);
	workers.run = run;
	workers.count = count;
	workers.workers = t_new(struct migrate_run_worker, count);
	for (i = 0; i < count; i++) {
		worker = &workers.workers[i];
		worker->workers = &workers;
		worker->n = i + 1;
		t_array_init(&worker->folders, 8);
		worker->set.echo = run->echo;
		worker->set.user = run->user;
		worker->set.progress = doveadm_migrate_tracker_lane_update;
		worker->set.context = doveadm_migrate_tracker_lane(run->tracker, i);
		worker->set.log_fd = run->log_fd;
		worker->set.worker = i + 1;
	}
	array_foreach(&run->source_before.boxes, box) {
		worker = &workers.workers[split[
			array_foreach_idx(&run->source_before.boxes, box)]];
		array_push_back(&worker->folders, &box->name);
	}
	migrate_run_say(run, LOG_TYPE_INFO, 0, "copying %u folders with %u "
			"dsync workers",
			array_count(&run->source_before.boxes), count);

	workers.ioloop = io_loop_create();
	for (i = 0; i < count; i++) {
		if (migrate_run_worker_next(&workers.workers[i]))
			workers.running++;
	}
	if (workers.running > 0)
		io_loop_run(workers.ioloop);
	io_loop_set_current(prev_ioloop);
	io_loop_set_current(workers.ioloop);
	io_loop_destroy(&workers.ioloop);

	/* the workers' records are read (the account's own .outcome and
	   .progress are those of its single children) */
	for (i = 0; i < count; i++) {
		i_unlink_if_exists(doveadm_migrate_user_file_path(run->user,
			t_strdup_printf(".progress.%u", i + 1)));
		i_unlink_if_exists(doveadm_migrate_user_file_path(run->user,
			t_strdup_printf(".outcome.%u", i + 1)));
	}
	if (workers.failed != NULL) {
		worker = workers.failed;
		code = migrate_run_copy_failed(run, &worker->child,
			t_strdup_printf("worker %u, folder %s", worker->n,
					worker->folder), error_r);
		doveadm_migrate_child_free(&worker->child);
		return code;
	}
	if (workers.kept_changing)
		return migrate_run_kept_changing(run, error_r);
	return 0;
}

static int migrate_run_dsync(struct migrate_run *run, const char **error_r)
{
	struct doveadm_migrate_child child;
	ARRAY_TYPE(const_string) cmd;
	unsigned int attempt, count, wait_secs, *split = NULL;
	int ret, code = 0;

	struct doveadm_migrate_child_settings set = {
		.echo = run->echo,
		.user = run->user,
		.progress = doveadm_migrate_tracker_update,
		.context = run->tracker,
		.log_fd = run->log_fd,
	};

	count = migrate_run_workers_plan(run, &split);
	if (count > 1)
		return migrate_run_dsync_workers(run, count, split, error_r);

	t_array_init(&cmd, 8);
	migrate_run_copy_args(run, NULL, &cmd);
	for (attempt = 1;; attempt++) {
		ret = doveadm_migrate_child_run_set(
			migrate_run_args(run, array_front(&cmd)), &set, &child);
		doveadm_migrate_tracker_child_done(run->tracker);
		if (migrate_run_child_succeeded(run, ret, &child) ||
		    attempt == MIGRATE_RUN_DSYNC_MAX_ATTEMPTS +
				run->busy_waits ||
		    !migrate_run_dsync_again(run, 0, &child, &wait_secs) ||
		    !migrate_run_busy_sleep(wait_secs))
			break;
		doveadm_migrate_child_free(&child);
	}
	if (migrate_run_child_kept_changing(run, &child)) {
		doveadm_migrate_child_free(&child);
		return migrate_run_kept_changing(run, error_r);
	}
	if (!migrate_run_child_succeeded(run, ret, &child))
		code = migrate_run_copy_failed(run, &child, NULL, error_r);
	doveadm_migrate_child_free(&child);
	return code;
}

/* Take the user's lock and record that the run started. Returns 0 or a
   MIGRATE_EXIT_* code (logged). */
static int migrate_run_begin(struct migrate_run *run)
{
	struct migrate_state prev;
	const char *error;
	int ret;

	ret = doveadm_migrate_lock(run->user, FALSE, &run->lock, &error);
	if (ret < 0) {
		i_error("migrate run: user %s: %s", run->user, error);
		return MIGRATE_EXIT_SOFTWARE;
	}
	if (ret == 0) {
		if (doveadm_migrate_state_read(run->user,
				pool_datastack_create(), &prev, &error) > 0) {
			i_error("migrate run: user %s: a migration is already "
				"running (pid %ld, started %s)", run->user,
				(long)prev.pid, unixdate2str(prev.started));
		} else {
			i_error("migrate run: user %s: a migration is already "
				"running", run->user);
		}
		return MIGRATE_EXIT_LOCKED;
	}

	i_zero(&prev);
	if (doveadm_migrate_state_read(run->user, pool_datastack_create(),
				       &prev, &error) < 0)
		i_warning("migrate run: user %s: ignoring state: %s",
			  run->user, error);
	i_zero(&run->state);
	run->state.user = run->user;
	run->state.status = MIGRATE_STATE_RUNNING;
	run->prev_interrupted = prev.status == MIGRATE_STATE_RUNNING;
	run->state.phase = prev.phase;
	run->state.switched = prev.switched;
	run->state.switch_reason = prev.switch_reason;
	run->state.flags_unsure = prev.flags_unsure || run->prev_interrupted;
	run->rebuild = run->state.flags_unsure;
	run->state.started = time(NULL);
	run->state.finished = time(NULL);
	run->state.pid = getpid();
	run->state.runs = prev.runs + 1;
	run->state.backend = run->backend;
	if (run->backend == NULL)
		migrate_run_log_open(run);
	if (doveadm_migrate_state_write(&run->state, &error) < 0) {
		i_error("migrate run: user %s: can't record the state: %s",
			run->user, error);
		return MIGRATE_EXIT_SOFTWARE;
	}
	e_debug(event_create_passthrough(run->event)->
		set_name("migrate_run_started")->
		add_str("phase", migrate_phase_name(run->state.phase))->event(),
		"migrate run: user %s: started", run->user);
	return 0;
}

/* Switch the account: from now on every pass only adds mail. Recorded
   before anything is copied, so a pass that is killed leaves it
   switched. */
static int migrate_run_switch(struct migrate_run *run, const char *reason)
{
	const char *error;

	run->state.phase = MIGRATE_PHASE_SWITCHED;
	run->state.switched = time(NULL);
	run->state.switch_reason = reason;
	i_info("migrate run: user %s: switched (%s): this and every later "
	       "pass only adds mail", run->user, reason);
	if (doveadm_migrate_state_write(&run->state, &error) < 0) {
		i_error("migrate run: user %s: can't record the state: %s",
			run->user, error);
		return -1;
	}
	return 0;
}

/* Is the account still in the mirror phase, or do users work here
   already? Anything here that no pass of the migration made says they do
   (when in doubt: switched). Returns 0, or -1 if the state can't be
   written. */
static int migrate_run_lifecycle(struct migrate_run *run)
{
	struct migrate_snapshot prev;
	const char *reason = NULL, *error;
	uint64_t messages, vsize;
	int ret;

	if (run->state.phase == MIGRATE_PHASE_SWITCHED)
		return 0;
	if (run->final) {
		reason = run->switch_reason != NULL ? run->switch_reason :
			"the final pass after the MX switch (--final)";
	} else if (run->folder_prefix != NULL) {
		reason = "--folder-prefix: the old folders join an account "
			"in use here";
	} else if ((ret = migrate_run_snapshot_load(run, &prev,
						    &error)) < 0) {
		reason = t_strdup_printf("what the last pass left here "
			"can't be read (%s)", error);
	} else if (ret == 0) {
		migrate_snapshot_totals(&run->before, &messages, &vsize);
		if (messages > 0) {
			reason = t_strdup_printf("%"PRIu64" messages were "
				"here before the first pass%s", messages,
				run->prev_interrupted ? " (which was killed)" :
				"");
		}
	} else if (migrate_snapshot_changed(&prev, &run->before, &reason)) {
		/* a killed pass's own changes look the same as a user's */
		reason = t_strconcat(run->prev_interrupted ?
			"the last pass was killed before it recorded what it "
			"left here, and since the pass before it " :
			"changes here since the last pass: ", reason, NULL);
	}
	return reason == NULL ? 0 : migrate_run_switch(run, reason);
}

/* Copy on this server with dsync (or migrate gmail). */
static int migrate_run_local(struct migrate_run *run)
{
	const char *const *plugins, *error, *pop3_vname, *snapshot_error;
	struct migrate_snapshot after;
	uint64_t messages_after, bytes_after;
	int code;

	if (run->have_source) {
		/* the children use the migration config with this login */
		if (doveadm_migrate_account_conf_write(run->conf, run->user,
				&run->source, FALSE, ".run.conf",
				pool_datastack_create(), &run->source_conf,
				&error) < 0) {
			return migrate_run_finish(run, MIGRATE_EXIT_SOFTWARE,
				t_strdup_printf("this server: %s", error));
		}
		run->conf = run->source_conf;
	}
	pop3_vname = doveadm_migrate_setting("migrate_pop3_mailbox");
	if (pop3_vname != NULL && *pop3_vname != '\0' &&
	    doveadm_migrate_oauth2_configured()) {
		/* pop3c logs in with USER/PASS or AUTH PLAIN only */
		return migrate_run_finish(run, MIGRATE_EXIT_CONFIG,
			"this server: migrate_pop3_mailbox is set, but "
			"Dovecot's POP3 client can't log in with OAuth2 "
			"(USER/PASS and AUTH PLAIN only): leave it unset, or "
			"compute the UIDLs with migrate_pop3_uidl_format");
	}
	/* OAuth2: the first token, and a config of the children's with it */
	run->oauth2_base_conf = run->conf;
	code = doveadm_migrate_oauth2_run_conf(run->conf, run->user,
					       run->source.refresh_token,
					       pool_datastack_create(),
					       &run->oauth2_conf,
					       &run->oauth2_refresh_at, &error);
	if (code == MIGRATE_EXIT_CONFIG || code == MIGRATE_EXIT_SOFTWARE) {
		return migrate_run_finish(run, code,
			t_strdup_printf("this server: %s", error));
	} else if (code != 0) {
		/* the error names the token endpoint (or command) */
		return migrate_run_finish(run, code, error);
	}
	if (run->oauth2_conf != NULL)
		run->conf = run->oauth2_conf;
	/* migrate_gmail loaded: copy with migrate gmail instead of dsync */
	plugins = doveadm_migrate_conf_doveadm_plugins();
	doveadm_migrate_conf_check_settings("migrate run", plugins);
	run->gmail = str_array_find(plugins, "migrate_gmail");
	if (run->folder_prefix != NULL && run->gmail) {
		return migrate_run_finish(run, MIGRATE_EXIT_CONFIG,
			"--folder-prefix isn't supported with migrate_gmail");
	}
	if ((code = migrate_run_check_login(run, FALSE, NULL, &error)) != 0)
		return migrate_run_finish(run, code, error);
	if (pop3_vname != NULL && *pop3_vname != '\0' &&
	    (code = migrate_run_check_login(run, TRUE, pop3_vname,
					    &error)) != 0)
		return migrate_run_finish(run, code, error);
	if (run->rebuild) {
		migrate_run_say(run, LOG_TYPE_INFO, 0, "after a killed pass: "
				"an mdbox storage here is rebuilt first (as "
				"doveadm force-resync)");
	}
	if (migrate_run_snapshot_read(run, &run->before, &error) < 0) {
		return migrate_run_finish(run, MIGRATE_EXIT_TEMPFAIL,
			t_strdup_printf("this server: %s", error));
	}
	if (migrate_run_lifecycle(run) < 0) {
		return migrate_run_finish(run, MIGRATE_EXIT_SOFTWARE,
			"this server: can't record the account's phase");
	}
	migrate_snapshot_totals(&run->before, &run->messages_before,
				&run->bytes_before);

	/* what a mirroring pass has to copy, for its progress; a pass
	   that copies what is new, and Gmail's, don't know in advance */
	if (!migrate_run_copies_new(run) && !run->gmail) {
		run->have_source_before = migrate_run_mailboxes_read(run, TRUE,
			&run->source_before, &error) == 0;
		if (!run->have_source_before) {
			e_debug(run->event, "migrate run: user %s: the old "
				"server's folder sizes can't be read, the "
				"progress has no total: %s", run->user, error);
		}
	}
	run->tracker = doveadm_migrate_tracker_init(&run->state,
		run->have_source_before ? &run->source_before : NULL,
		&run->before, run->event,
		run->echo && isatty(STDERR_FILENO) != 0);
	code = migrate_run_dsync(run, &error);
	doveadm_migrate_tracker_deinit(&run->tracker);
	if (code == 0 && !migrate_run_copies_new(run) && !run->gmail)
		migrate_run_mark(run);

	/* what is there now, also after a failure: the next pass compares
	   with it, and a later run goes on from it */
	if (migrate_run_snapshot_read(run, &after, &snapshot_error) == 0) {
		migrate_run_snapshot_save(run, &after);
		migrate_snapshot_totals(&after, &messages_after, &bytes_after);
		run->state.messages_total = messages_after;
		run->state.bytes_total = bytes_after;
		run->state.messages_copied =
			messages_after > run->messages_before ?
			messages_after - run->messages_before : 0;
		run->state.bytes_copied = bytes_after > run->bytes_before ?
			bytes_after - run->bytes_before : 0;
	}
	return migrate_run_finish(run, code, code == 0 ? NULL : error);
}

static void
migrate_run_remote_uint64(const struct doveadm_migrate_remote_result *result,
			  const char *key, uint64_t *value_r)
{
	const char *value = doveadm_migrate_remote_field(result, key);

	if (value != NULL && str_to_uint64(value, value_r) < 0)
		*value_r = 0;
}

/* The backend decides the account's phase from its own mailboxes: keep
   what it says, so status shows it here too. */
static void
migrate_run_remote_phase(struct migrate_run *run,
			 const struct doveadm_migrate_remote_result *result)
{
	const char *phase = doveadm_migrate_remote_field(result, "phase");

	if (phase != NULL && strcmp(phase, "switched") == 0 &&
	    run->state.phase != MIGRATE_PHASE_SWITCHED) {
		run->state.phase = MIGRATE_PHASE_SWITCHED;
		run->state.switched = time(NULL);
		run->state.switch_reason = t_strdup_printf(
			"switched on backend %s", run->backend);
	}
}

/* The run's parameters for the backend's migrate run. */
static string_t *migrate_run_remote_request(struct migrate_run *run)
{
	string_t *json = t_str_new(256);
	const char *password, *refresh_token;

	doveadm_migrate_remote_params_init(json, "migrateRun");
	doveadm_migrate_remote_param_str(json, "user", run->user);
	if (run->one_way)
		doveadm_migrate_remote_param_bool(json, "oneWay");
	if (run->final)
		doveadm_migrate_remote_param_bool(json, "final");
	if (run->switch_reason != NULL) {
		doveadm_migrate_remote_param_str(json, "switchReason",
						 run->switch_reason);
	}
	if (run->folder_prefix != NULL) {
		doveadm_migrate_remote_param_str(json, "folderPrefix",
						 run->folder_prefix);
	}
	if (run->excludes != NULL && run->excludes[0] != NULL) {
		doveadm_migrate_remote_param_strv(json, "exclude",
						  run->excludes);
	}
	if (run->source.email != NULL) {
		doveadm_migrate_remote_param_str(json, "sourceUser",
						 run->source.email);
	}
	if (run->source.host != NULL) {
		doveadm_migrate_remote_param_str(json, "sourceHost",
						 run->source.host);
	}
	if (run->source.port != 0) {
		doveadm_migrate_remote_param_str(json, "sourcePort",
						 dec2str(run->source.port));
	}
	if (run->source.ssl != MIGRATE_CSV_SSL_DEFAULT) {
		doveadm_migrate_remote_param_str(json, "sourceSsl",
			migrate_csv_ssl_name(run->source.ssl));
	}
	/* the account's own password (written by migrate batch into the
	   account's config, never on a command line) */
	password = doveadm_migrate_setting("migrate_source_password");
	if (password != NULL && *password != '\0') {
		doveadm_migrate_remote_param_str(json, "sourcePassword",
						 password);
	}
	/* and its OAuth2 refresh token (a CSV's refresh_token column): the
	   backend's own config has the token endpoint */
	refresh_token = doveadm_migrate_setting("migrate_oauth2_refresh_token");
	if (refresh_token != NULL && *refresh_token != '\0') {
		doveadm_migrate_remote_param_str(json, "sourceRefreshToken",
						 refresh_token);
	}
	return json;
}

/* Have the backend run the migration. Returns its exit code, with
   error_r set (from pool) if it isn't 0. */
static int
migrate_run_remote_call(struct migrate_run *run, pool_t pool,
			const char **error_r)
{
	struct doveadm_migrate_remote_result result, status;
	string_t *json;
	const char *error, *remote_error;

	json = migrate_run_remote_request(run);
	if (doveadm_migrate_remote_call(run->backend, json,
					MIGRATE_RUN_REMOTE_TIMEOUT_SECS, pool,
					&result, &error) == 0) {
		migrate_run_remote_uint64(&result, "messages",
					  &run->state.messages_copied);
		migrate_run_remote_uint64(&result, "bytes",
					  &run->state.bytes_copied);
		migrate_run_remote_uint64(&result, "total",
					  &run->state.messages_total);
		migrate_run_remote_phase(run, &result);
		return 0;
	}
	*error_r = p_strdup(pool, error);
	if (result.kind == NULL || strcmp(result.kind, "error") != 0 ||
	    result.exit_code == MIGRATE_EXIT_CONFIG)
		return result.exit_code;

	/* the run failed there: the backend's state says why */
	json = t_str_new(128);
	doveadm_migrate_remote_params_init(json, "migrateStatus");
	doveadm_migrate_remote_param_str(json, "user", run->user);
	if (doveadm_migrate_remote_call(run->backend, json,
					MIGRATE_RUN_REMOTE_TIMEOUT_SECS, pool,
					&status, &error) == 0) {
		remote_error = doveadm_migrate_remote_field(&status, "error");
		if (remote_error != NULL && *remote_error != '\0') {
			*error_r = p_strdup_printf(pool, "backend %s: %s",
						   run->backend, remote_error);
		}
		migrate_run_remote_uint64(&status, "copied",
					  &run->state.messages_copied);
		migrate_run_remote_uint64(&status, "copied_bytes",
					  &run->state.bytes_copied);
		migrate_run_remote_uint64(&status, "messages",
					  &run->state.messages_total);
	}
	return result.exit_code;
}

/* Run the migration on the backend and record its outcome here. */
static int migrate_run_remote(struct migrate_run *run)
{
	pool_t pool = pool_alloconly_create("migrate run remote", 4096);
	const char *error = NULL;
	int code;

	code = migrate_run_remote_call(run, pool, &error);
	code = migrate_run_finish(run, code, code == 0 ? NULL : error);
	pool_unref(&pool);
	return code;
}

/* A secret of the account (--source-password, --source-refresh-token),
   taken only through the doveadm HTTP API: on a command line it would
   show in the process list. Returns -1 with error_r if given there. */
static int
migrate_run_secret_param(struct doveadm_cmd_context *cctx, const char *name,
			 const char *instead, const char **value_r,
			 const char **error_r)
{
	const char *value;

	if (!doveadm_cmd_param_str(cctx, name, &value) || *value == '\0')
		return 0;
	if (cctx->conn_type == DOVEADM_CONNECTION_TYPE_CLI) {
		*error_r = t_strdup_printf("--%s is taken only through the "
			"doveadm HTTP API: on a command line it would show "
			"in the process list (use %s)", name, instead);
		return -1;
	}
	*value_r = value;
	return 0;
}

/* --source-user, --source-host, --source-port, --source-ssl and (through
   the HTTP API only) --source-password. Returns -1 if one is invalid. */
static int
migrate_run_source_params(struct doveadm_cmd_context *cctx,
			  struct migrate_run *run, const char **error_r)
{
	const char *value;
	int64_t port;

	if (doveadm_cmd_param_str(cctx, "source-user", &value) &&
	    *value != '\0')
		run->source.email = value;
	if (doveadm_cmd_param_str(cctx, "source-host", &value) &&
	    *value != '\0')
		run->source.host = value;
	if (doveadm_cmd_param_int64(cctx, "source-port", &port)) {
		if (port < 1 || port > 65535) {
			*error_r = t_strdup_printf("invalid --source-port "
						   "%"PRId64, port);
			return -1;
		}
		run->source.port = port;
	}
	if (doveadm_cmd_param_str(cctx, "source-ssl", &value) &&
	    migrate_csv_ssl_parse(value, &run->source.ssl) < 0) {
		*error_r = t_strdup_printf("invalid --source-ssl '%s' "
			"(expected no, imaps or starttls)", value);
		return -1;
	}
	if (migrate_run_secret_param(cctx, "source-password",
				     "migrate batch or a master user",
				     &run->source.password, error_r) < 0 ||
	    migrate_run_secret_param(cctx, "source-refresh-token",
				     "migrate batch or a userdb field",
				     &run->source.refresh_token, error_r) < 0)
		return -1;
	run->have_source = run->source.email != NULL ||
		run->source.host != NULL || run->source.port != 0 ||
		run->source.ssl != MIGRATE_CSV_SSL_DEFAULT ||
		run->source.password != NULL ||
		run->source.refresh_token != NULL;
	if (run->have_source && run->source.email == NULL)
		run->source.email = run->user;
	return 0;
}

static bool migrate_run_folder_prefix_valid(const char *prefix)
{
	const unsigned char *p;

	if (*prefix == '\0' || strcasecmp(prefix, "INBOX") == 0)
		return FALSE;
	for (p = (const unsigned char *)prefix; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '%' || *p == '*' ||
		    *p == '"' || *p == '\\')
			return FALSE;
	}
	return TRUE;
}

static int migrate_run_workers_setting(unsigned int *workers_r,
				       const char **error_r)
{
	const char *value = doveadm_migrate_setting("migrate_run_workers");

	*workers_r = 1;
	if (value != NULL && *value != '\0' &&
	    (str_to_uint(value, workers_r) < 0 || *workers_r < 1 ||
	     *workers_r > MIGRATE_RUN_MAX_WORKERS)) {
		*workers_r = 1;
		*error_r = t_strdup_printf("invalid migrate_run_workers '%s' "
			"(a number of dsync workers, 1..%u)", value,
			MIGRATE_RUN_MAX_WORKERS);
		return -1;
	}
	return 0;
}

unsigned int doveadm_migrate_run_workers(void)
{
	unsigned int workers;
	const char *error;

	/* an invalid one fails each account's migrate run */
	(void)migrate_run_workers_setting(&workers, &error);
	return workers;
}

/* migrate_run_workers, capped by --workers (the budget migrate batch
   grants the account). Returns -1 with error_r if one is invalid. */
static int
migrate_run_workers_parse(struct doveadm_cmd_context *cctx,
			  struct migrate_run *run, const char **error_r)
{
	int64_t budget;

	if (migrate_run_workers_setting(&run->max_workers, error_r) < 0)
		return -1;
	if (doveadm_cmd_param_int64(cctx, "workers", &budget)) {
		if (budget < 1 || budget > MIGRATE_RUN_MAX_WORKERS) {
			*error_r = t_strdup_printf("invalid --workers %"PRId64
				" (1..%u)", budget, MIGRATE_RUN_MAX_WORKERS);
			return -1;
		}
		run->max_workers = I_MIN(run->max_workers,
					 (unsigned int)budget);
	}
	return 0;
}

static void cmd_migrate_run(struct doveadm_cmd_context *cctx)
{
	struct migrate_run run;
	const char *error;
	int code;

	i_zero(&run);
	run.log_fd = -1;
	run.busy_wait_secs = doveadm_migrate_setting_secs("migrate_busy_wait",
		MIGRATE_RUN_BUSY_WAIT_DEFAULT_SECS);
	if (!doveadm_cmd_param_str(cctx, "user", &run.user) ||
	    run.user[0] == '\0') {
		i_error("migrate run: -u <user> is required");
		doveadm_exit_code = MIGRATE_EXIT_CONFIG;
		return;
	}
	if (strpbrk(run.user, "*?") != NULL) {
		/* doveadm would take it for a pattern of users */
		i_error("migrate run: -u takes one user, not a pattern: '%s' "
			"(migrate batch -F runs many)", run.user);
		doveadm_exit_code = MIGRATE_EXIT_CONFIG;
		return;
	}
	(void)doveadm_cmd_param_bool(cctx, "one-way", &run.one_way);
	(void)doveadm_cmd_param_bool(cctx, "final", &run.final);
	if (doveadm_cmd_param_str(cctx, "switch-reason", &run.switch_reason) &&
	    *run.switch_reason == '\0')
		run.switch_reason = NULL;
	(void)doveadm_cmd_param_array(cctx, "exclude", &run.excludes);
	(void)doveadm_cmd_param_str(cctx, "backend", &run.backend);
	if (doveadm_cmd_param_str(cctx, "folder-prefix", &run.folder_prefix) &&
	    !migrate_run_folder_prefix_valid(run.folder_prefix)) {
		i_error("migrate run: user %s: invalid --folder-prefix '%s' "
			"(a folder name other than INBOX, without %%, *, "
			"quotes, backslashes or control characters)", run.user,
			run.folder_prefix);
		doveadm_exit_code = MIGRATE_EXIT_CONFIG;
		return;
	}
	run.echo = cctx->conn_type == DOVEADM_CONNECTION_TYPE_CLI;
	if (migrate_run_source_params(cctx, &run, &error) < 0 ||
	    migrate_run_workers_parse(cctx, &run, &error) < 0) {
		i_error("migrate run: user %s: %s", run.user, error);
		doveadm_exit_code = MIGRATE_EXIT_CONFIG;
		return;
	}
	run.conf = doveadm_migrate_conf_path();
	doveadm_migrate_conf_check_secrets();

	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	doveadm_print_header_simple("user");
	doveadm_print_header_simple("status");
	doveadm_print_header_simple("phase");
	doveadm_print_header("messages", "messages",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("bytes", "bytes",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("total", "total",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("seconds", "seconds",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("error", "error",
			     DOVEADM_PRINT_HEADER_FLAG_EXPAND);

	run.event = event_create(NULL);
	event_add_category(run.event, &event_category_migrate);
	event_add_str(run.event, "user", run.user);
	code = migrate_run_begin(&run);
	if (code == 0 && run.backend != NULL)
		code = migrate_run_remote(&run);
	else if (code == 0)
		code = migrate_run_local(&run);
	if (run.source_conf != NULL)
		i_unlink_if_exists(run.source_conf);
	if (run.oauth2_conf != NULL)
		i_unlink_if_exists(run.oauth2_conf);
	if (run.lock.path != NULL)
		doveadm_migrate_unlock(&run.lock);
	if (run.log_fd != -1)
		i_close_fd(&run.log_fd);
	event_unref(&run.event);
	doveadm_exit_code = code;
}

struct doveadm_cmd_ver2 doveadm_cmd_migrate_run = {
	.name = "migrate run",
	.cmd = cmd_migrate_run,
	.usage = "-u <user> [-1] [--final [--switch-reason <text>]] "
		 "[-x <mailbox> ...] "
		 "[--backend <url>] [--source-user <login>] "
		 "[--source-host <host>] [--source-port <port>] "
		 "[--source-ssl no|imaps|starttls] [--folder-prefix <folder>] "
		 "[--workers <n>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('u', "user", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('1', "one-way", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('F', "final", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('\0', "switch-reason", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('x', "exclude", CMD_PARAM_ARRAY, 0)
DOVEADM_CMD_PARAM('\0', "backend", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('\0', "folder-prefix", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('\0', "source-user", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('\0', "source-host", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('\0', "source-port", CMD_PARAM_INT64, 0)
DOVEADM_CMD_PARAM('\0', "source-ssl", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('\0', "source-password", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('\0', "source-refresh-token", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('\0', "workers", CMD_PARAM_INT64, 0)
DOVEADM_CMD_PARAMS_END
};
