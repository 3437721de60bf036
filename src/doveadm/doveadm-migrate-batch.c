/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "ostream.h"
#include "strescape.h"
#include "istream.h"
#include "master-service.h"
#include "doveadm-print.h"
#include "doveadm-util.h"
#include "migrate-common.h"
#include "migrate-csv.h"
#include "migrate-state.h"
#include "migrate-outcome.h"
#include "migrate-file.h"
#include "migrate-progress.h"
#include "doveadm-migrate.h"

#include <stdio.h>
#include <unistd.h>
#include <time.h>
#include <sys/stat.h>

/* doveadm migrate batch: many accounts from a CSV file, each one a child
   "doveadm migrate run" in its own process group, at most `concurrency`
   at a time, none started while the machine is loaded, each killed after
   its timeout. Accounts already finished are skipped, so re-running the
   same batch resumes it; --catch-up runs them all again (mirroring the
   old server before the MX switch), --final too, switching each account
   first (from then on its passes only add new mail). An account's password (when the file has one)
   reaches its child only through a short-lived 0600 config file that
   includes the migration config: never argv, logs or state.

   With --backend URL (repeatable) the accounts run on other Dovecot
   backends instead, through their doveadm HTTP API: each child is then a
   "migrate run --backend URL" that waits for its backend's answer and
   records it in this server's state, so resume, --final, status and the
   final table work the same. */

struct migrate_batch_backend {
	const char *url;
	unsigned int running;
};

struct migrate_batch_job {
	const struct migrate_account *account;
	struct doveadm_migrate_job job;
	/* the backend running it, NULL = this server */
	struct migrate_batch_backend *backend;
	/* the backend that ran it before: its mail is there, so later runs
	   (resume, --final) go there too */
	struct migrate_batch_backend *prev_backend;
	const char *conf_path;
	int exit_code;
	const char *result;
	/* why it didn't start (else the error is in its state) */
	const char *error;
	/* its size, for the batch's ETA */
	struct migrate_progress_account eta;
	/* --check: what it found at the old server, how long it took */
	uint64_t check_messages, check_bytes;
	time_t ended;
	/* the dsync workers it may use (--workers): its share of -n */
	unsigned int workers;
};

struct migrate_batch {
	pool_t pool;
	const char *conf;
	const char *state_dir;
	struct doveadm_migrate_limits limits;
	/* run finished accounts again: --catch-up as they are (mirror
	   passes before the switch), --final switching them */
	bool final, catch_up, only_failed, dry_run, skip_bad_lines;
	/* --check: migrate check each account, copy nothing */
	bool check;
	const char *folder_prefix;
	/* --backend: the accounts run there, limits.concurrency at a time
	   on each */
	ARRAY(struct migrate_batch_backend) backends;

	ARRAY_TYPE(migrate_account) accounts;
	ARRAY(struct migrate_batch_job) jobs;
	struct doveadm_migrate_scheduler *scheduler;
	/* the next job to look at for starting */
	unsigned int next;
	unsigned int running, done, failed;
	/* the dsync workers the running accounts of this server may use:
	   at most limits.concurrency */
	unsigned int workers;
	/* migrate_run_workers: the most one account uses */
	unsigned int max_account_workers;
	/* accounts skipped before starting, and what the runs copied */
	unsigned int skipped;
	uint64_t messages, bytes;
	time_t started;
	/* show the progress: on a terminal rewritten every second (tty),
	   else logged every log_interval seconds */
	bool progress, tty;
	unsigned int log_interval;
	time_t logged;
};

/* The account's own config: the migration config plus its login (and
   for a backend the password to hand on). */
static int
migrate_batch_write_conf(struct migrate_batch *batch,
			 struct migrate_batch_job *job, const char **error_r)
{
	return doveadm_migrate_account_conf_write(batch->conf, job->job.user,
		job->account, job->backend != NULL, ".conf", batch->pool,
		&job->conf_path, error_r);
}

/* The arguments of the account's migrate run: for a backend the login
   details it needs (never the password: that is in the account's
   config). */
static const char *const *
migrate_batch_run_args(struct migrate_batch *batch,
		       struct migrate_batch_job *job)
{
	const struct migrate_account *a = job->account;
	ARRAY_TYPE(const_string) args;
	const char *value;

	t_array_init(&args, 12);
	if (batch->check) {
		array_append_zero(&args);
		return array_front(&args);
	}
	if (batch->final)
		array_push_back(&args, (const char *[]){ "--final" });
	if (job->backend == NULL) {
		value = dec2str(job->workers);
		array_push_back(&args, (const char *[]){ "--workers" });
		array_push_back(&args, &value);
	}
	if (batch->folder_prefix != NULL) {
		array_push_back(&args, (const char *[]){ "--folder-prefix" });
		array_push_back(&args, &batch->folder_prefix);
	}
	if (job->backend != NULL) {
		array_push_back(&args, (const char *[]){ "--backend" });
		array_push_back(&args, &job->backend->url);
		if (a->password != NULL || a->host != NULL || a->port != 0 ||
		    a->ssl != MIGRATE_CSV_SSL_DEFAULT ||
		    a->dest_user != NULL) {
			array_push_back(&args, (const char *[]){ "--source-user" });
			array_push_back(&args, &a->email);
		}
		if (a->host != NULL) {
			array_push_back(&args, (const char *[]){ "--source-host" });
			array_push_back(&args, &a->host);
		}
		if (a->port != 0) {
			value = dec2str(a->port);
			array_push_back(&args, (const char *[]){ "--source-port" });
			array_push_back(&args, &value);
		}
		if (a->ssl != MIGRATE_CSV_SSL_DEFAULT) {
			value = migrate_csv_ssl_name(a->ssl);
			array_push_back(&args, (const char *[]){ "--source-ssl" });
			array_push_back(&args, &value);
		}
	}
	array_append_zero(&args);
	return array_front(&args);
}

/* The backend with the fewest accounts running, NULL if all are full. */
static struct migrate_batch_backend *
migrate_batch_backend_next(struct migrate_batch *batch)
{
	struct migrate_batch_backend *backend, *best = NULL;

	array_foreach_modifiable(&batch->backends, backend) {
		if (backend->running < batch->limits.concurrency &&
		    (best == NULL || backend->running < best->running))
			best = backend;
	}
	return best;
}

/* May the job start now? (and where) */
static bool
migrate_batch_may_start(struct migrate_batch *batch,
			const struct migrate_batch_job *job,
			struct migrate_batch_backend **backend_r)
{
	*backend_r = NULL;
	if (array_count(&batch->backends) == 0) {
		return doveadm_migrate_may_start(&batch->limits,
						 batch->workers);
	}
	/* this server only waits for the backends: its load doesn't
	   matter, theirs is bounded by -n each */
	if (job->prev_backend != NULL) {
		*backend_r = job->prev_backend;
		return job->prev_backend->running < batch->limits.concurrency;
	}
	*backend_r = migrate_batch_backend_next(batch);
	return *backend_r != NULL;
}

static bool migrate_batch_url_equals(const char *url1, const char *url2)
{
	size_t len1 = strlen(url1), len2 = strlen(url2);

	if (len1 > 0 && url1[len1 - 1] == '/')
		len1--;
	if (len2 > 0 && url2[len2 - 1] == '/')
		len2--;
	return len1 == len2 && strncmp(url1, url2, len1) == 0;
}

/* The job's backend of an earlier run, if it is one of this batch's. */
static struct migrate_batch_backend *
migrate_batch_backend_find(struct migrate_batch *batch, const char *url)
{
	struct migrate_batch_backend *backend;

	if (url == NULL)
		return NULL;
	array_foreach_modifiable(&batch->backends, backend) {
		if (migrate_batch_url_equals(backend->url, url))
			return backend;
	}
	return NULL;
}

/* The account couldn't start: failed with code and error. */
static void
migrate_batch_start_failed(struct migrate_batch *batch,
			   struct migrate_batch_job *job, int code,
			   const char *error)
{
	i_error("migrate batch: user %s: %s", job->job.user, error);
	job->exit_code = code;
	job->result = "failed";
	job->error = p_strdup(batch->pool, error);
	batch->done++;
	batch->failed++;
}

/* How many dsync workers the account starting now may use: one, or at
   the end of the batch, when fewer accounts wait than -n has room for,
   the room they leave (a batch of one big account copies it with up to
   -n workers). */
static unsigned int migrate_batch_workers_grant(struct migrate_batch *batch)
{
	const struct migrate_batch_job *job;
	unsigned int i, waiting = 0, room, count = array_count(&batch->jobs);

	if (batch->check || batch->workers >= batch->limits.concurrency)
		return 1;
	room = batch->limits.concurrency - batch->workers;
	for (i = batch->next; i < count; i++) {
		job = array_idx(&batch->jobs, i);
		if (job->result == NULL)
			waiting++;
	}
	/* this one is among them */
	if (waiting >= room)
		return 1;
	return I_MIN(room - (waiting - 1), batch->max_account_workers);
}

static void
migrate_batch_start(struct migrate_batch *batch, struct migrate_batch_job *job,
		    struct migrate_batch_backend *backend)
{
	struct doveadm_migrate_lock lock;
	const char *error;
	int ret;

	/* A run still going (of a batch that was killed, or started by
	   hand) keeps its account: its config file isn't replaced and then
	   removed under it, the account is left to it. */
	ret = doveadm_migrate_lock(job->job.user, TRUE, &lock, &error);
	if (ret <= 0) {
		migrate_batch_start_failed(batch, job, ret < 0 ?
			MIGRATE_EXIT_SOFTWARE : MIGRATE_EXIT_LOCKED,
			ret < 0 ? error : "a migration is already running "
			"(run the batch again once it has ended)");
		return;
	}
	job->backend = backend;
	if (backend == NULL) {
		job->workers = migrate_batch_workers_grant(batch);
		batch->workers += job->workers;
	}
	if (migrate_batch_write_conf(batch, job, &error) < 0) {
		migrate_batch_start_failed(batch, job, MIGRATE_EXIT_SOFTWARE,
					   error);
		return;
	}
	doveadm_migrate_scheduler_start(batch->scheduler, &job->job,
					job->conf_path,
					migrate_batch_run_args(batch, job),
					FALSE);
	batch->running++;
	if (backend != NULL)
		backend->running++;
}

/* --check: what the account's migrate check said, from its log: the
   error, or the size of what a migration would copy. */
static void
migrate_batch_check_read(struct migrate_batch *batch,
			 struct migrate_batch_job *job)
{
	const char *path, *const *lines, *p;
	string_t *data;
	const char *error;
	unsigned int i;

	path = doveadm_migrate_user_file_path(job->job.user, ".check.log");
	if (migrate_file_read(path, &data, &error) <= 0)
		return;
	lines = t_strsplit(str_c(data), "\n");
	for (i = 0; lines[i] != NULL; i++) {
		if ((p = strstr(lines[i], "Error: ")) != NULL) {
			job->error = p_strdup(batch->pool, p + 7);
		} else if ((p = strstr(lines[i], " folders to copy, ")) != NULL &&
			   sscanf(p, " folders to copy, %"SCNu64" messages, "
				  "%"SCNu64" bytes", &job->check_messages,
				  &job->check_bytes) != 2) {
			job->check_messages = job->check_bytes = 0;
		}
	}
}

static void
migrate_batch_ended(void *context, struct doveadm_migrate_job *_job,
		    int exit_code)
{
	struct migrate_batch *batch = context;
	struct migrate_batch_job *job =
		container_of(_job, struct migrate_batch_job, job);
	struct migrate_state state;
	const char *error;

	batch->running--;
	if (job->backend != NULL)
		job->backend->running--;
	batch->workers -= job->workers;
	job->workers = 0;
	batch->done++;
	i_unlink_if_exists(job->conf_path);
	job->exit_code = exit_code;
	job->result = job->exit_code != 0 ? "failed" :
		batch->check ? "ok" : "finished";
	if (job->exit_code != 0)
		batch->failed++;
	job->eta.finished = TRUE;
	job->eta.bytes_done = 0;
	job->ended = time(NULL);
	if (batch->check) {
		migrate_batch_check_read(batch, job);
		return;
	}
	if (doveadm_migrate_state_read(job->job.user, pool_datastack_create(),
				       &state, &error) > 0) {
		batch->messages += state.messages_copied;
		batch->bytes += state.bytes_copied;
		job->eta.bytes_done = state.bytes_copied;
	}
}

/* What the running accounts have copied so far, from the progress their
   runs keep in their state. */
static void migrate_batch_progress_read(struct migrate_batch *batch,
					uint64_t *messages_r)
{
	struct migrate_batch_job *job;
	struct migrate_state state;
	const char *error;

	*messages_r = 0;
	array_foreach_modifiable(&batch->jobs, job) {
		if (job->job.pid <= 0 || job->eta.finished)
			continue;
		if (doveadm_migrate_state_read(job->job.user,
				pool_datastack_create(), &state, &error) <= 0 ||
		    state.progress.updated < job->job.started)
			continue;
		job->eta.bytes_done = state.progress.bytes;
		job->eta.bytes_todo = state.progress.bytes_todo;
		*messages_r += state.progress.messages;
	}
}

static void migrate_batch_progress(struct migrate_batch *batch, bool last)
{
	unsigned int count = array_count(&batch->jobs);
	time_t now = time(NULL), elapsed = now - batch->started;
	ARRAY(struct migrate_progress_account) accounts;
	const struct migrate_batch_job *job;
	uint64_t running_messages, bytes = 0, left;
	unsigned int eta_secs;
	const char *line;

	if (!batch->progress)
		return;
	/* the last one on a terminal: what the batch did */
	if (!(last && batch->tty) &&
	    (batch->tty ? now == batch->logged :
	     (batch->log_interval == 0 ||
	      now - batch->logged < (time_t)batch->log_interval)))
		return;
	batch->logged = now;

	migrate_batch_progress_read(batch, &running_messages);
	t_array_init(&accounts, count);
	array_foreach(&batch->jobs, job) {
		if (job->result != NULL && job->job.pid <= 0 &&
		    !job->eta.finished)
			continue;	/* skipped: not part of the work */
		array_push_back(&accounts, &job->eta);
		bytes += job->eta.bytes_done;
	}
	eta_secs = migrate_progress_batch_eta(array_front(&accounts),
		array_count(&accounts), elapsed, &left);
	line = t_strdup_printf("migrate batch: %u/%u accounts done, %u running, "
		"%u failed, %"PRIu64" messages, %s, %s/s%s", batch->done, count,
		batch->running, batch->failed,
		batch->messages + running_messages, migrate_size_str(bytes),
		migrate_size_str(elapsed > 0 ? bytes / elapsed : bytes),
		eta_secs == 0 ? "" : t_strdup_printf(", %s left",
			migrate_duration_str(eta_secs)));
	if (batch->tty) {
		fprintf(stderr, "\r\033[K%s", line);
		fflush(stderr);
	} else {
		i_info("%s", line);
	}
}

/* Start what may start now. */
static void migrate_batch_fill(void *context, time_t now ATTR_UNUSED)
{
	struct migrate_batch *batch = context;
	struct migrate_batch_job *job;
	struct migrate_batch_backend *backend;
	unsigned int count = array_count(&batch->jobs);

	while (batch->next < count) {
		job = array_idx_modifiable(&batch->jobs, batch->next);
		if (job->result != NULL) {
			batch->next++;
			continue;
		}
		if (!migrate_batch_may_start(batch, job, &backend))
			break;
		migrate_batch_start(batch, job, backend);
		batch->next++;
	}
	migrate_batch_progress(batch, FALSE);
}

static bool migrate_batch_done(void *context)
{
	struct migrate_batch *batch = context;

	return batch->done == array_count(&batch->jobs);
}

static const struct doveadm_migrate_scheduler_vfuncs migrate_batch_vfuncs = {
	.fill = migrate_batch_fill,
	.ended = migrate_batch_ended,
	.done = migrate_batch_done,
};

static void migrate_batch_loop(struct migrate_batch *batch)
{
	batch->scheduler = doveadm_migrate_scheduler_init(&batch->limits,
		"migrate batch", &migrate_batch_vfuncs, batch);
	doveadm_migrate_scheduler_run(batch->scheduler);
	doveadm_migrate_scheduler_deinit(&batch->scheduler);
	migrate_batch_progress(batch, TRUE);
	if (batch->progress && batch->tty)
		fprintf(stderr, "\n");
}

/* What to do with the account: NULL = run it, else why it is skipped. */
static const char *
migrate_batch_skip_reason(struct migrate_batch *batch,
			  struct migrate_batch_job *job)
{
	const char *user = job->job.user;
	struct migrate_state state;
	const char *error;
	int ret;

	if (batch->check) {
		/* every account is checked, whatever its state */
		return NULL;
	}
	ret = doveadm_migrate_state_read(user, pool_datastack_create(),
					 &state, &error);
	if (ret < 0) {
		i_warning("migrate batch: user %s: %s", user, error);
		return NULL;
	}
	if (ret > 0 && state.backend != NULL) {
		job->prev_backend = migrate_batch_backend_find(batch,
							       state.backend);
		if (job->prev_backend == NULL) {
			i_warning("migrate batch: user %s ran on backend %s "
				  "before, which isn't one of this batch's: "
				  "this run may copy everything again", user,
				  state.backend);
		}
	}
	if (batch->only_failed) {
		return ret > 0 && state.status != MIGRATE_STATE_FINISHED ?
			NULL : "skipped (not failed)";
	}
	if (ret > 0 && state.status == MIGRATE_STATE_FINISHED &&
	    !batch->final && !batch->catch_up)
		return "skipped (finished)";
	return NULL;
}

/* Below the table: the failed accounts by cause (their exit code), so a
   night's work that fails for one reason reads as one line. */
static void migrate_batch_print_causes(struct migrate_batch *batch)
{
	unsigned int counts[256], code;
	const struct migrate_batch_job *job;
	string_t *str;

	if (batch->failed == 0)
		return;
	memset(counts, 0, sizeof(counts));
	array_foreach(&batch->jobs, job) {
		if (job->result != NULL && strcmp(job->result, "failed") == 0)
			counts[job->exit_code & 0xff]++;
	}
	str = t_str_new(128);
	for (code = 0; code < N_ELEMENTS(counts); code++) {
		if (counts[code] == 0)
			continue;
		str_printfa(str, "%s%u %s (%u)", str_len(str) == 0 ?
			    "failed: " : ", ", counts[code],
			    migrate_exit_code_name(code), code);
	}
	if (str_len(str) == 0)
		return;
	str_append_c(str, '\n');
	doveadm_print_flush();
	o_stream_nsend(doveadm_print_ostream, str_data(str), str_len(str));
}

/* --check: the accounts' one exit code if they failed alike, else 75 */
static int migrate_batch_exit_code(struct migrate_batch *batch)
{
	const struct migrate_batch_job *job;
	int code = 0;

	array_foreach(&batch->jobs, job) {
		if (job->result == NULL || strcmp(job->result, "failed") != 0)
			continue;
		if (code != 0 && code != job->exit_code)
			return MIGRATE_EXIT_TEMPFAIL;
		code = job->exit_code;
	}
	return code == 0 ? MIGRATE_EXIT_TEMPFAIL : code;
}

static void migrate_batch_print(struct migrate_batch *batch)
{
	const struct migrate_batch_job *job;
	struct migrate_state state;
	const char *error;
	bool have_state;

	array_foreach(&batch->jobs, job) {
		if (batch->check) {
			doveadm_print(job->job.user);
			doveadm_print(job->account->host == NULL ? "" :
				      job->account->host);
			doveadm_print(job->result);
			doveadm_print_num(job->check_messages);
			doveadm_print_num(job->check_bytes);
			doveadm_print_num(job->ended >= job->job.started ?
					  job->ended - job->job.started : 0);
			doveadm_print(job->error == NULL ? "" : job->error);
			continue;
		}
		have_state = !batch->dry_run &&
			doveadm_migrate_state_read(job->job.user,
				pool_datastack_create(), &state, &error) > 0;
		doveadm_print(job->job.user);
		doveadm_print(job->account->host == NULL ? "" : job->account->host);
		doveadm_print(job->result);
		doveadm_print_num(have_state ? state.messages_copied : 0);
		doveadm_print_num(have_state ? state.bytes_copied : 0);
		doveadm_print_num(have_state && state.finished >= state.started ?
				  state.finished - state.started : 0);
		if (job->error != NULL)
			doveadm_print(job->error);
		else {
			doveadm_print(have_state && state.last_error != NULL &&
				      job->exit_code != 0 ?
				      state.last_error : "");
		}
	}
}

static int migrate_batch_read(struct migrate_batch *batch, const char *path)
{
	return doveadm_migrate_csv_read("migrate batch", path, batch->pool,
					batch->skip_bad_lines,
					&batch->accounts);
}

static void cmd_migrate_batch(struct doveadm_cmd_context *cctx)
{
	struct migrate_batch batch;
	const struct migrate_account *account;
	struct migrate_batch_job *job;
	struct migrate_batch_backend *backend;
	const char *path, *skip, *const *backend_urls;
	int code;

	i_zero(&batch);
	if (!doveadm_cmd_param_str(cctx, "file", &path)) {
		i_error("migrate batch: -F <accounts.csv> is required");
		doveadm_exit_code = MIGRATE_EXIT_CONFIG;
		return;
	}
	batch.pool = pool_alloconly_create("migrate batch", 16384);
	batch.conf = doveadm_migrate_conf_path();
	batch.state_dir = doveadm_migrate_state_dir();
	(void)doveadm_cmd_param_bool(cctx, "final", &batch.final);
	(void)doveadm_cmd_param_bool(cctx, "only-failed", &batch.only_failed);
	(void)doveadm_cmd_param_bool(cctx, "catch-up", &batch.catch_up);
	(void)doveadm_cmd_param_bool(cctx, "dry-run", &batch.dry_run);
	(void)doveadm_cmd_param_bool(cctx, "check", &batch.check);
	(void)doveadm_cmd_param_bool(cctx, "skip-bad-lines",
				     &batch.skip_bad_lines);
	(void)doveadm_cmd_param_str(cctx, "folder-prefix",
				    &batch.folder_prefix);
	p_array_init(&batch.backends, batch.pool, 4);
	if (doveadm_cmd_param_array(cctx, "backend", &backend_urls)) {
		for (; *backend_urls != NULL; backend_urls++) {
			backend = array_append_space(&batch.backends);
			backend->url = *backend_urls;
		}
	}
	if (doveadm_migrate_limits_parse(cctx, "migrate batch",
					 &batch.limits) < 0) {
		doveadm_exit_code = MIGRATE_EXIT_CONFIG;
		pool_unref(&batch.pool);
		return;
	}
	if (batch.check && (batch.final || batch.catch_up ||
			    batch.only_failed || batch.folder_prefix != NULL ||
			    array_count(&batch.backends) > 0)) {
		i_error("migrate batch: --check copies nothing: it doesn't "
			"go with --final, --catch-up, --only-failed, "
			"--folder-prefix or --backend");
		doveadm_exit_code = MIGRATE_EXIT_CONFIG;
		pool_unref(&batch.pool);
		return;
	}
	/* (migrate check's own log lines say what it found) */
	batch.progress = !batch.dry_run && !batch.check;
	batch.tty = isatty(STDERR_FILENO) != 0;
	batch.log_interval = doveadm_migrate_progress_interval();
	batch.max_account_workers = doveadm_migrate_run_workers();

	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	doveadm_print_header_simple("user");
	doveadm_print_header_simple("host");
	doveadm_print_header_simple("result");
	doveadm_print_header("messages", "messages",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("bytes", "bytes",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("seconds", "seconds",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("error", "error", DOVEADM_PRINT_HEADER_FLAG_EXPAND);

	if ((code = migrate_batch_read(&batch, path)) != 0) {
		doveadm_exit_code = code;
		pool_unref(&batch.pool);
		return;
	}
	doveadm_migrate_conf_check_settings("migrate batch",
		doveadm_migrate_conf_doveadm_plugins());
	doveadm_migrate_tmp_cleanup("migrate batch");
	p_array_init(&batch.jobs, batch.pool, array_count(&batch.accounts));
	array_foreach(&batch.accounts, account) {
		job = array_append_space(&batch.jobs);
		job->account = account;
		job->job.user = doveadm_migrate_account_user(account);
		if (batch.check)
			job->job.cmd = "check";
		skip = migrate_batch_skip_reason(&batch, job);
		if (skip != NULL)
			job->result = p_strdup(batch.pool, skip);
		else if (batch.dry_run)
			job->result = "would run";
	}
	array_foreach_modifiable(&batch.jobs, job) {
		if (job->result != NULL)
			batch.done++;
	}
	batch.skipped = batch.done;
	batch.started = time(NULL);
	/* the first progress line after a whole interval */
	batch.logged = batch.started;
	if (!batch.dry_run)
		migrate_batch_loop(&batch);
	migrate_batch_print(&batch);
	migrate_batch_print_causes(&batch);
	if (batch.failed > 0 && batch.check) {
		i_error("migrate batch: %u of %u accounts failed the check",
			batch.failed, array_count(&batch.jobs));
		doveadm_exit_code = migrate_batch_exit_code(&batch);
	} else if (batch.failed > 0) {
		i_error("migrate batch: %u of %u accounts failed (run the "
			"batch again to resume them; see migrate status)",
			batch.failed, array_count(&batch.jobs));
		doveadm_exit_code = MIGRATE_EXIT_TEMPFAIL;
	}
	pool_unref(&batch.pool);
}

struct doveadm_cmd_ver2 doveadm_cmd_migrate_batch = {
	.name = "migrate batch",
	.cmd = cmd_migrate_batch,
	.usage = "-F <accounts.csv> [-n <concurrency>] [--max-load <per core>] "
		 "[--timeout <secs>] [--catch-up | --final] [--only-failed] "
		 "[--dry-run] [--check] "
		 "[--skip-bad-lines] [--folder-prefix <folder>] "
		 "[--backend <url> ...]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('F', "file", CMD_PARAM_STR, 0)
DOVEADM_MIGRATE_LIMITS_PARAMS
DOVEADM_CMD_PARAM('\0', "final", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('\0', "catch-up", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('\0', "only-failed", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('\0', "dry-run", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('\0', "check", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('\0', "skip-bad-lines", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('\0', "folder-prefix", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('\0', "backend", CMD_PARAM_ARRAY, 0)
DOVEADM_CMD_PARAMS_END
};
