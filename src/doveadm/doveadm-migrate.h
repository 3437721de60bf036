#ifndef DOVEADM_MIGRATE_H
#define DOVEADM_MIGRATE_H

#include "doveadm.h"
#include "doveadm-cmd.h"
#include "migrate-compat.h"
#include "migrate-csv.h"
#include "migrate-outcome.h"
#include "migrate-progress.h"

struct module;
struct mail_user;
struct mail_namespace;
struct mailbox;
struct doveadm_mail_cmd_context;
struct migrate_state;
struct file_lock;
struct migrate_account;

extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_check;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_verify;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_verify_uidl;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_run;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_batch;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_copy_new;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_archive;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_gmail;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_status;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_switch;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_worker;

/* The old server as a mail user of its own (user's settings with
   mail_location = imapc:), for a mail command's run(). Returns 0, or -1
   with the error logged and ctx->exit_code set. */
int doveadm_migrate_source_user_create(struct doveadm_mail_cmd_context *ctx,
				       struct mail_user *user,
				       const char *cmd_name,
				       struct mail_user **src_user_r);
/* The same, logged in to the old server at once: a failed login is logged
   with the server and why, and ctx->exit_code is MIGRATE_EXIT_AUTH if the
   server refused it, MIGRATE_EXIT_UNREACHABLE if no connection answered.
   gmail_r: the server offers X-GM-EXT-1. Returns 0 or -1. */
int doveadm_migrate_source_user_login(struct doveadm_mail_cmd_context *ctx,
				      struct mail_user *user,
				      const char *cmd_name,
				      struct mail_user **src_user_r,
				      bool *gmail_r);
/* A second login to the old server while the user's first is open (a
   source user of its own), as migrate run's extra connections make.
   Returns 0, or -1 with why the server refused it. */
int doveadm_migrate_source_login_again(struct doveadm_mail_cmd_context *ctx,
				       struct mail_user *user,
				       const char *cmd_name,
				       const char **error_r);
/* Between begin and end, what is logged as an error is logged as info:
   around a synchronous request to the old server whose failure the
   caller reports itself (as a warning, with the reason), so that imapc's
   own error line for it doesn't read as a failure of the command. Not
   nested. */
void doveadm_migrate_errors_as_info_begin(void);
void doveadm_migrate_errors_as_info_end(void);
/* What a migration does with a folder of the old server
   (doveadm-migrate-folders.c): dsync's -x, and migrate gmail's rules */
enum doveadm_migrate_folder_action {
	/* copied (into dest_vname) */
	DOVEADM_MIGRATE_FOLDER_COPY,
	/* Gmail's \All: read, its mail in no label goes to the archive */
	DOVEADM_MIGRATE_FOLDER_GMAIL_ALL,
	/* Gmail's \Flagged, \Important: views, not copied */
	DOVEADM_MIGRATE_FOLDER_GMAIL_VIEW,
	/* Gmail's \Trash, \Junk not in migrate_gmail_include */
	DOVEADM_MIGRATE_FOLDER_GMAIL_SKIPPED,
	/* -x */
	DOVEADM_MIGRATE_FOLDER_EXCLUDED,
};
struct migrate_special_use_folder;
struct doveadm_migrate_folder_plan {
	bool gmail;
	const char *const *excludes;
	bool include_trash, include_junk;
	const char *archive;
	/* the destination's mailbox { special_use } settings */
	const struct migrate_special_use_folder *mailboxes;
	unsigned int mailbox_count;
};
/* The plan for user's account (gmail: the old server is Gmail). Returns
   0, or -1 with error_r for a bad setting. */
int doveadm_migrate_folder_plan_init(struct mail_user *user, bool gmail,
				     const char *const *excludes,
				     struct doveadm_migrate_folder_plan *plan_r,
				     const char **error_r);
enum doveadm_migrate_folder_action
doveadm_migrate_folder_action(const struct doveadm_migrate_folder_plan *plan,
			      const char *vname, const char *special_use,
			      const char **dest_vname_r);
/* "copied", "copied into Sent Items", "skipped: a Gmail view ..." */
const char *
doveadm_migrate_folder_action_str(enum doveadm_migrate_folder_action action,
				  const char *vname, const char *dest_vname);

/* "IMAP server host:port" of the source user (data stack) */
const char *doveadm_migrate_source_server(struct mail_user *src_user);
/* Has Dovecot rebuild the user's storage here when it is mdbox (as
   doveadm force-resync does): the first step of a pass after a killed
   one, see doveadm-migrate-source.c. Returns 1 if rebuilt, 0 if the
   storage isn't mdbox, -1 with error_r. */
int doveadm_migrate_storage_rebuild(struct mail_user *user,
				    const char **error_r);
/* The namespaces dsync would copy: private ones with the default mail
   location (not the hidden pop3c one), no aliases. */
bool doveadm_migrate_namespace_is_copied(struct mail_namespace *ns);

/* A doveadm/doveconf child process: the migration runs the same doveadm
   binary with the same config, so nothing secret goes through argv. */
struct doveadm_migrate_child {
	pool_t pool;
	int exit_code;
	/* stdout and non-error stderr lines (up to 64 KiB) */
	string_t *output;
	/* the last Error/Panic/Fatal lines */
	ARRAY(char *) errors;
	/* what the plugins in the child recorded (migrate-outcome.h):
	   empty unless run with doveadm_migrate_child_run_user() */
	ARRAY_TYPE(migrate_outcome_record) records;
};

struct doveadm_migrate_lock {
	char *path;
	int fd;
	struct file_lock *lock;
};

/* The config file doveadm runs with (in a doveadm server: the file the
   master was started with, not the config socket), for child processes
   and for !include. */
const char *doveadm_migrate_conf_path(void);
/* where doveadm and doveconf are looked up when PATH is empty */
#define MIGRATE_DEFAULT_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* A mail command's init(): Dovecot 2.3 passes its positional arguments,
   2.4 doesn't. The migrate commands read options and arguments from the
   command's parameters (ctx->cctx) there, on both. */
#ifdef MIGRATE_DOVECOT24
#  define DOVEADM_MIGRATE_INIT_ARGS
#else
#  define DOVEADM_MIGRATE_INIT_ARGS , const char *const args[] ATTR_UNUSED
#endif
/* Sets up a mail command whose init() reads its options from the
   parameters: on 2.3 doveadm wants their getopt letters and a parse_arg()
   that accepts them. */
void doveadm_migrate_mail_cmd_options(struct doveadm_mail_cmd_context *ctx,
				      const char *getopt_args);
/* A CMD_PARAM_BOOL parameter given on the command line */
bool doveadm_migrate_param_flag(const struct doveadm_cmd_context *cctx,
				const char *name);
/* -m MAILBOX and -s (summary only) of verify and verify-uidl */
void doveadm_migrate_mailbox_options(struct doveadm_mail_cmd_context *ctx,
				     const char **mailbox_r,
				     bool *summary_only_r);

/* A migrate_* setting of doveadm's config (plugin {} on Dovecot 2.3),
   NULL or "" when unset. */
const char *doveadm_migrate_setting(const char *name);
const char *doveadm_migrate_state_dir(void);

/* The path of binary_name beside the running doveadm (data stack). */
const char *doveadm_migrate_binary(const char *binary_name);
/* In a forked child: send stdout and stderr to out_fd, stdin from
   /dev/null, and exec binary with a clean environment (see
   doveadm_migrate_child_env()). Doesn't return. */
void doveadm_migrate_child_exec(const char *binary, const char *const *args,
				int out_fd) ATTR_NORETURN;
/* Run binary_name (found beside the running doveadm) with args; echo
   copies its output to stderr as it comes. Returns 0 if it exited 0, -1
   if not. Free the result with doveadm_migrate_child_free(). */
int doveadm_migrate_child_run(const char *binary_name,
			      const char *const *args, bool echo,
			      struct doveadm_migrate_child *child_r);
void doveadm_migrate_child_free(struct doveadm_migrate_child *child);
/* The signal (SIGTERM, SIGINT) that told this process to stop, which its
   running children were sent on (as SIGTERM), or 0 */
int doveadm_migrate_child_stop_signal(void);
void doveadm_migrate_child_deinit(void);
/* The child's most telling error message (data stack). */
const char *
doveadm_migrate_child_last_error(const struct doveadm_migrate_child *child);
/* How to run a child (doveadm_migrate_child_run_set()) */
struct doveadm_migrate_child_settings {
	/* copy its output to stderr as it comes */
	bool echo;
	/* the account it works for: the plugins in it record its outcome
	   (migrate_state_dir/<user>.outcome, migrate-outcome.h) */
	const char *user;
	/* with user: called every second with what it has copied
	   (migrate_state_dir/<user>.progress, migrate-progress.h), and once
	   more when it has exited */
	void (*progress)(void *context, const struct migrate_progress *progress);
	void *context;
	/* append its output here too, -1 if not */
	int log_fd;
	/* with user: 0, or the number of one of several children of the
	   account that run at once (its records are then
	   <user>.outcome.<worker> and <user>.progress.<worker>) */
	unsigned int worker;
};
typedef void doveadm_migrate_child_callback_t(struct doveadm_migrate_child *child,
					      void *context);
/* Start args as doveadm_migrate_child_run_set() does, in the current
   ioloop, and return at once: callback is called from the ioloop when
   the child has exited, with child_r filled in (free it with
   doveadm_migrate_child_free()). */
void doveadm_migrate_child_start(const char *const *args,
				 const struct doveadm_migrate_child_settings *set,
				 struct doveadm_migrate_child *child_r,
				 doveadm_migrate_child_callback_t *callback,
				 void *context);
/* Run args (args[0] is "doveadm" or "doveconf", found beside the running
   doveadm). Returns 0 if it exited 0, -1 if not; free the result with
   doveadm_migrate_child_free(). */
int doveadm_migrate_child_run_set(const char *const *args,
				  const struct doveadm_migrate_child_settings *set,
				  struct doveadm_migrate_child *child_r);
/* Run doveadm with args for user's migration, with the outcome recorder
   on (plugin/migrate_outcome_fd, <migrate_state_dir>/<user>.outcome):
   child_r->records has what it recorded. */
int doveadm_migrate_child_run_user(const char *user, const char *const *args,
				   bool echo,
				   struct doveadm_migrate_child *child_r);
/* What a failed child means: its records, exit code and error lines
   judged by migrate_outcome_classify() (data stack). */
void doveadm_migrate_child_judge(const struct doveadm_migrate_child *child,
				 struct migrate_outcome_result *result_r);
/* Warn when the config file, a file it includes, or a
   "key = <file" it reads holds a password and is readable by group or
   others. */
void doveadm_migrate_conf_check_secrets(void);
/* Write a 0600 config file, removed by the caller, in
   migrate_state_dir/tmp named after user and suffix: it includes
   base_conf and sets the account's login on the old server (imapc_ and
   pop3c_ user, password, host, port, ssl). With remote the password is
   also set as plugin/migrate_source_password for migrate run --backend.
   path_r is allocated from pool. */
/* Append to conf: "key = value" with the value quoted and kept literal,
   and (Dovecot 2.4) the dovecot_config_version line of base_conf. */
void doveadm_migrate_conf_setting_append(string_t *conf, const char *key,
					 const char *value);
void doveadm_migrate_conf_version_append(string_t *conf,
					 const char *base_conf);
int doveadm_migrate_account_conf_write(const char *base_conf,
				       const char *user,
				       const struct migrate_account *account,
				       bool remote, const char *suffix,
				       pool_t pool, const char **path_r,
				       const char **error_r);
/* Write conf into a 0600 file in migrate_state_dir/tmp named after user
   and suffix, replacing an old one; the caller removes it. */
int doveadm_migrate_conf_file_write(const char *user, const char *suffix,
				    const string_t *conf, pool_t pool,
				    const char **path_r, const char **error_r);
/* doveconf -h KEY of the running config ("" if unset): its first line,
   or all of it (a section). */
const char *doveadm_migrate_conf_get(const char *key);
/* The mail_plugins of the config's doveadm processes. */
const char *const *doveadm_migrate_conf_doveadm_plugins(void);
/* Warn about each migrate_* setting of the config's plugin section that
   no module knows (with a "did you mean"), or whose plugin isn't among
   doveadm_plugins: 2.3 takes any key without a word. */
void doveadm_migrate_conf_check_settings(const char *cmd_name,
					 const char *const *doveadm_plugins);
const char *doveadm_migrate_conf_get_all(const char *key);
/* The old server of the running config, for proto "imapc" or "pop3c":
   host ("" if unset) and port ("" if unset). Dovecot 2.4's doveconf -h
   can't name imapc_host (it shows it in the imapc { } filter), so 2.4
   reads the storage's own settings. */
void doveadm_migrate_conf_server(const char *proto, const char **host_r,
				 const char **port_r);

/* Returns 1 if read, 0 if the user has no state, -1 on error. */
int doveadm_migrate_state_read(const char *user, pool_t pool,
			       struct migrate_state *state_r,
			       const char **error_r);
int doveadm_migrate_state_read_path(const char *path, pool_t pool,
				    struct migrate_state *state_r,
				    const char **error_r);
int doveadm_migrate_state_write(const struct migrate_state *state,
				const char **error_r);
/* migrate_state_dir/<user><suffix> (data stack) */
const char *
doveadm_migrate_user_file_path(const char *user, const char *suffix);
/* The user's file with suffix (".snapshot", ...) in migrate_state_dir:
   read returns 1 with data_r (data stack), 0 if there is none, -1 on
   error; write replaces it atomically (mode 0600). */
int doveadm_migrate_user_file_read(const char *user, const char *suffix,
				   string_t **data_r, const char **error_r);
int doveadm_migrate_user_file_write(const char *user, const char *suffix,
				    const string_t *data, const char **error_r);
/* Read the accounts CSV of migrate batch (and switch): a bad line is an
   error, or a warning with skip_bad_lines. Returns 0, or a MIGRATE_EXIT_*
   code (logged, prefixed with cmd_name). */
int doveadm_migrate_csv_read(const char *cmd_name, const char *path,
			     pool_t pool, bool skip_bad_lines,
			     ARRAY_TYPE(migrate_account) *accounts_r);
/* The account's user on this server (dest_user, or the email). */
const char *doveadm_migrate_account_user(const struct migrate_account *account);
/* Remove the temporary configs (they may hold passwords) in
   migrate_state_dir/tmp that runs killed before they could remove them
   left behind: those of accounts nobody runs, a minute old or more. */
void doveadm_migrate_tmp_cleanup(const char *cmd_name);
/* Take the user's run lock. Returns 1 if taken (released at once if
   try_only: then 1 means nobody holds it), 0 if another process holds
   it, -1 on error. */
int doveadm_migrate_lock(const char *user, bool try_only,
			 struct doveadm_migrate_lock *lock_r,
			 const char **error_r);
void doveadm_migrate_unlock(struct doveadm_migrate_lock *lock);

/* migrate_run_workers: the most dsync workers one account's mirroring
   pass uses (1 if unset or invalid). */
unsigned int doveadm_migrate_run_workers(void);

/* How many accounts batch and worker migrate at once (-n), the load per
   CPU above which no new one starts (--max-load) and how long one may
   run (--timeout). */
struct doveadm_migrate_limits {
	unsigned int concurrency;
	double max_load;
	unsigned int timeout_secs;
};

/* One child "doveadm migrate run -u user" in its own process group. */
struct doveadm_migrate_job {
	const char *user;
	/* the migrate command it runs: NULL for "run" (log <user>.log),
	   else e.g. "check" (log <user>.check.log) */
	const char *cmd;
	pid_t pid;
	time_t started, kill_sent;
	bool timed_out;
};

/* The options of doveadm_migrate_limits_parse(), for a command's params */
#define DOVEADM_MIGRATE_LIMITS_PARAMS \
DOVEADM_CMD_PARAM('n', "concurrency", CMD_PARAM_STR, 0) \
DOVEADM_CMD_PARAM('\0', "max-load", CMD_PARAM_STR, 0) \
DOVEADM_CMD_PARAM('\0', "timeout", CMD_PARAM_STR, 0)

/* The defaults, overridden by the command's -n, --max-load and --timeout.
   Returns -1 (logged, prefixed with cmd_name) if one is invalid. */
int doveadm_migrate_limits_parse(struct doveadm_cmd_context *cctx,
				 const char *cmd_name,
				 struct doveadm_migrate_limits *limits_r);
/* May one more account start while `running` run? */
bool doveadm_migrate_may_start(const struct doveadm_migrate_limits *limits,
			       unsigned int running);
/* The scheduler of batch and worker: starts "migrate run" children within
   the limits, reaps them through child-wait in the ioloop, times them out
   and stops them. */
struct doveadm_migrate_scheduler;

struct doveadm_migrate_scheduler_vfuncs {
	/* Start what may start now with doveadm_migrate_scheduler_start()
	   (while doveadm_migrate_scheduler_may_start() allows). Called at
	   every tick and as soon as a run ended. */
	void (*fill)(void *context, time_t now);
	/* A run ended: its exit code (MIGRATE_EXIT_TEMPFAIL if it timed
	   out, which is then recorded in the user's state). */
	void (*ended)(void *context, struct doveadm_migrate_job *job,
		      int exit_code);
	/* Nothing runs: is all done? */
	bool (*done)(void *context);
};

struct doveadm_migrate_scheduler *
doveadm_migrate_scheduler_init(const struct doveadm_migrate_limits *limits,
			       const char *cmd_name,
			       const struct doveadm_migrate_scheduler_vfuncs *v,
			       void *context);
/* Stops what still runs (as _stop()). */
void doveadm_migrate_scheduler_deinit(struct doveadm_migrate_scheduler **sched);
/* Run the ioloop until done() says so, or a signal stops it. */
void doveadm_migrate_scheduler_run(struct doveadm_migrate_scheduler *sched);
/* Start the job (its user set): see doveadm_migrate_job_start(). */
void doveadm_migrate_scheduler_start(struct doveadm_migrate_scheduler *sched,
				     struct doveadm_migrate_job *job,
				     const char *conf,
				     const char *const *run_args,
				     bool append_log);
unsigned int
doveadm_migrate_scheduler_running(const struct doveadm_migrate_scheduler *sched);
/* May one more account start (concurrency, load)? */
bool doveadm_migrate_scheduler_may_start(const struct doveadm_migrate_scheduler *sched);
/* SIGTERM every run, SIGKILL those still there after a grace time;
   returns when they are gone. ended() isn't called for them. */
void doveadm_migrate_scheduler_stop(struct doveadm_migrate_scheduler *sched);

/* Start "doveadm -c conf migrate run -u job->user run_args..." with its
   output in migrate_state_dir/<user>.log (appended or truncated). */
void doveadm_migrate_job_start(struct doveadm_migrate_job *job,
			       const char *conf, const char *const *run_args,
			       bool append_log);
/* Called regularly: stops the job's process group once it has run past
   the timeout (SIGTERM, then SIGKILL). */
void doveadm_migrate_job_check_timeout(struct doveadm_migrate_job *job,
				       const struct doveadm_migrate_limits *limits,
				       time_t now, const char *cmd_name);
/* SIGTERM the job's process group. */
void doveadm_migrate_job_stop(struct doveadm_migrate_job *job);
/* The job's process ended with waitpid() status: returns its exit code
   (MIGRATE_EXIT_TEMPFAIL if it timed out, which is then recorded in the
   user's state). */
int doveadm_migrate_job_reaped(struct doveadm_migrate_job *job, int status,
			       const struct doveadm_migrate_limits *limits,
			       const char *cmd_name);

/* The answer of a doveadm command run by another backend's doveadm HTTP
   API. */
struct doveadm_migrate_remote_result {
	/* the command's exit code, or the MIGRATE_EXIT_* of the failure to
	   get it (unreachable backend, wrong API password, ...) */
	int exit_code;
	/* "doveadmResponse" or "error" */
	const char *kind;
	/* key, value, key, value, ... of the first result row */
	ARRAY_TYPE(const_string) fields;
};

/* Start the JSON request for command ("migrateRun"), then add its
   parameters (camelCase names: "sourceHost"). */
void doveadm_migrate_remote_params_init(string_t *json, const char *command);
void doveadm_migrate_remote_param_str(string_t *json, const char *key,
				      const char *value);
void doveadm_migrate_remote_param_strv(string_t *json, const char *key,
				       const char *const *values);
void doveadm_migrate_remote_param_bool(string_t *json, const char *key);
/* Run the command of json on backend (http[s]://host:port[/doveadm/v1])
   with doveadm_password and wait at most timeout_secs for its answer.
   Returns 0 if it succeeded, -1 if not (error_r names the backend and
   result_r->exit_code says why). The result is allocated from pool. */
int doveadm_migrate_remote_call(const char *backend, string_t *json,
				unsigned int timeout_secs, pool_t pool,
				struct doveadm_migrate_remote_result *result_r,
				const char **error_r);
/* The value of key in the result row, NULL if missing. */
const char *
doveadm_migrate_remote_field(const struct doveadm_migrate_remote_result *result,
			     const char *key);

/* The progress of a pass of migrate run: see doveadm-migrate-progress.c.
   init() sets state->progress (what the pass has to copy: source's
   folders beyond here's, unknown if source is NULL); update() is the
   progress callback of the pass' children (doveadm_migrate_child_settings);
   child_done() after each child. */
extern struct event_category event_category_migrate;
struct migrate_snapshot;
struct doveadm_migrate_tracker *
doveadm_migrate_tracker_init(struct migrate_state *state,
			     const struct migrate_snapshot *source,
			     const struct migrate_snapshot *here,
			     struct event *event, bool tty);
void doveadm_migrate_tracker_deinit(struct doveadm_migrate_tracker **tracker);
void doveadm_migrate_tracker_update(void *context,
				    const struct migrate_progress *child);
void doveadm_migrate_tracker_child_done(struct doveadm_migrate_tracker *tracker);
/* A time setting (migrate_*) in seconds: default_secs when it is unset,
   or invalid (with a warning) */
unsigned int doveadm_migrate_setting_secs(const char *name,
					  unsigned int default_secs);
/* Several children copying at once (workers): each counts in a lane of
   its own, n from 0; the progress is their sum. The lane is the context
   of doveadm_migrate_tracker_lane_update(); lane_done() after each of
   its children. */
struct doveadm_migrate_tracker_lane *
doveadm_migrate_tracker_lane(struct doveadm_migrate_tracker *tracker,
			     unsigned int n);
void doveadm_migrate_tracker_lane_update(void *context,
					 const struct migrate_progress *progress);
void doveadm_migrate_tracker_lane_done(struct doveadm_migrate_tracker_lane *lane);
/* migrate_progress_interval: how often progress is logged when stderr
   isn't a terminal (0: never) */
unsigned int doveadm_migrate_progress_interval(void);

/* The guard of this server's mailboxes in migrate run's dsync child
   (plugin/migrate_guard = mirror|switched|rebuild): see doveadm-migrate-guard.c */
void doveadm_migrate_guard_init(struct module *module);
void doveadm_migrate_guard_deinit(void);

/* The recorder of a run child's outcome (plugin/migrate_outcome_fd): see
   doveadm-migrate-outcome.c and migrate-outcome.h */
void doveadm_migrate_outcome_init(struct module *module);
void doveadm_migrate_outcome_deinit(void);
/* Is this process a child of migrate run that records its outcome? */
bool doveadm_migrate_outcome_recording(void);
/* The account can't be migrated as configured (a MIGRATE_OUTCOME_CONFIG_*
   code, and what to do) */
void doveadm_migrate_outcome_config(const char *code, const char *text);
/* dsync deleted box here to copy it again */
void doveadm_migrate_outcome_recopy(struct mailbox *box);

/* The old server's folders under this server's names (migrate_folder_map*
   settings): see doveadm-migrate-folder-map.c. Commands that read the old
   server call _enable() before they set up its user; children of migrate
   run have it anyway. */
void doveadm_migrate_folder_map_init(struct module *module);
void doveadm_migrate_folder_map_enable(void);
/* The mapping of the folder that has the name new_vname here, or NULL if
   the list isn't mapped */
struct mailbox_list;
struct migrate_folder_map_entry;
const struct migrate_folder_map_entry *
doveadm_migrate_folder_map_find(struct mailbox_list *list,
				const char *new_vname);

/* OAuth2 logins to the old server: see doveadm-migrate-oauth2.c */
struct doveadm_migrate_oauth2_settings {
	/* OAuth2 is configured for the account */
	bool enabled;
	/* the grant: client_credentials, else refresh_token */
	bool client_credentials;
	const char *token_url, *token_command;
	/* how long the token command may take */
	unsigned int token_command_timeout_secs;
	const char *client_id, *client_secret, *scope, *refresh_token;
};
struct doveadm_migrate_oauth2_token {
	const char *access_token;
	unsigned int lifetime_secs;
};
/* A migrate_oauth2_* setting's value, NULL when unset or empty */
typedef const char *doveadm_migrate_oauth2_lookup_t(void *context,
						    const char *name);
/* Read the OAuth2 settings (set_r->enabled is FALSE when there are none).
   Returns 0, or -1 with error_r on settings that don't fit together. */
int doveadm_migrate_oauth2_settings_read(
	doveadm_migrate_oauth2_lookup_t *lookup, void *context,
	struct doveadm_migrate_oauth2_settings *set_r, const char **error_r);
/* A fresh access token for user (data stack). Returns 0, or a
   MIGRATE_EXIT_* code with error_r naming the token endpoint (or
   command) and the cause: 77 refused (invalid_grant, ...), 75 temporary
   (unreachable, TLS, 5xx), 64 settings, 76 an answer without a token. */
int doveadm_migrate_oauth2_token_get(
	const struct doveadm_migrate_oauth2_settings *set, const char *user,
	struct doveadm_migrate_oauth2_token *token_r, const char **error_r);
/* OAuth2 is set in doveadm's config (a token endpoint or command) */
bool doveadm_migrate_oauth2_configured(void);
/* With OAuth2 set in doveadm's config: fetch the account's first token
   and write a 0600 config for migrate run's children that includes
   base_conf and logs in with it (path_r, NULL without OAuth2; the same
   path each time for user), and when to write it again with a new token
   (refresh_at_r). refresh_token is the account's from the caller of a
   run sent here through the HTTP API (migrate batch --backend), in place
   of the config's; a userdb field still overrides it. Returns 0, or a
   MIGRATE_EXIT_* code with error_r. */
int doveadm_migrate_oauth2_run_conf(const char *base_conf, const char *user,
				    const char *refresh_token,
				    pool_t pool, const char **path_r,
				    time_t *refresh_at_r, const char **error_r);
void doveadm_migrate_oauth2_init(struct module *module);
void doveadm_migrate_oauth2_deinit(void);

void doveadm_migrate_plugin_init(struct module *module);
void doveadm_migrate_plugin_deinit(void);

#endif
