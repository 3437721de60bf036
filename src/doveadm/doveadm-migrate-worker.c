/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "ioloop.h"
#include "istream.h"
#include "mkdir-parents.h"
#include "master-service.h"
#include "migrate-common.h"
#include "migrate-state.h"
#include "migrate-queue.h"
#include "doveadm-migrate.h"

#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>

/* doveadm migrate worker: drains the on-login queue that migrate_onlogin
   fills (migrate_state_dir/queue), one "doveadm migrate run --final" child
   per account (the user works here: the account is switched), with
   batch's limits: at most -n at once, none started while the machine is
   loaded, each stopped after its timeout. The one-way sync only adds to
   this server, so what users do here meanwhile (new mail,
   deletions of other mail) is never undone. An entry leaves the queue when
   its run finished, or failed for good (the cause is in the state);
   killed, the worker leaves the entries of the runs it had started, and
   the next worker resumes them (dsync copies only what is missing). */

/* the queue is read at most this often (and whenever a run ends) */
#define MIGRATE_WORKER_SCAN_SECS 1
/* an account whose run lock another process holds is tried again after */
#define MIGRATE_WORKER_LOCKED_RETRY_SECS 5
#define MIGRATE_WORKER_DEFAULT_RETRIES 3
#define MIGRATE_WORKER_DEFAULT_RETRY_DELAY_SECS 300

struct migrate_worker_job {
	struct doveadm_migrate_job job;
	char *user;
};

/* an account not to start before not_before */
struct migrate_worker_delay {
	char *user;
	time_t not_before;
	unsigned int failures;
};

struct migrate_worker_entry {
	const char *user, *path;
	time_t queued;
};
ARRAY_DEFINE_TYPE(migrate_worker_entry, struct migrate_worker_entry);

struct migrate_worker {
	const char *conf;
	const char *state_dir, *queue_dir;
	struct doveadm_migrate_limits limits;
	unsigned int retries, retry_delay_secs;
	bool once;

	struct doveadm_migrate_scheduler *scheduler;
	ARRAY(struct migrate_worker_job *) jobs;
	ARRAY(struct migrate_worker_delay) delays;
	time_t last_scan;
	bool rescan, queue_empty;
	unsigned int finished, failed, max_running;
};

static struct migrate_worker_delay *
migrate_worker_delay_find(struct migrate_worker *worker, const char *user)
{
	struct migrate_worker_delay *delay;

	array_foreach_modifiable(&worker->delays, delay) {
		if (strcmp(delay->user, user) == 0)
			return delay;
	}
	return NULL;
}

static struct migrate_worker_delay *
migrate_worker_delay_get(struct migrate_worker *worker, const char *user)
{
	struct migrate_worker_delay *delay;

	delay = migrate_worker_delay_find(worker, user);
	if (delay == NULL) {
		delay = array_append_space(&worker->delays);
		delay->user = i_strdup(user);
	}
	return delay;
}

static void
migrate_worker_delay_remove(struct migrate_worker *worker, const char *user)
{
	struct migrate_worker_delay *delay;

	delay = migrate_worker_delay_find(worker, user);
	if (delay != NULL) {
		i_free(delay->user);
		array_delete(&worker->delays,
			     array_ptr_to_idx(&worker->delays, delay), 1);
	}
}

static bool
migrate_worker_is_running(struct migrate_worker *worker, const char *user)
{
	struct migrate_worker_job *job;

	array_foreach_elem(&worker->jobs, job) {
		if (strcmp(job->user, user) == 0)
			return TRUE;
	}
	return FALSE;
}

static void
migrate_worker_dequeue(struct migrate_worker *worker, const char *user)
{
	i_unlink_if_exists(t_strdup_printf("%s/%s", worker->queue_dir,
					   migrate_queue_file_name(user)));
	migrate_worker_delay_remove(worker, user);
}

static const char *migrate_worker_last_error(const char *user)
{
	struct migrate_state state;
	const char *error;

	if (doveadm_migrate_state_read(user, pool_datastack_create(), &state,
				       &error) <= 0 ||
	    state.last_error == NULL)
		return "see its log in migrate_state_dir";
	return state.last_error;
}

static void
migrate_worker_job_free(struct migrate_worker *worker,
			struct migrate_worker_job *job)
{
	struct migrate_worker_job *const *jobs;
	unsigned int i, count;

	jobs = array_get(&worker->jobs, &count);
	for (i = 0; i < count; i++) {
		if (jobs[i] == job) {
			array_delete(&worker->jobs, i, 1);
			break;
		}
	}
	i_free(job->user);
	i_free(job);
}

static void
migrate_worker_ended(void *context, struct doveadm_migrate_job *_job,
		     int code)
{
	struct migrate_worker *worker = context;
	struct migrate_worker_job *job =
		container_of(_job, struct migrate_worker_job, job);
	struct migrate_worker_delay *delay;

	switch (code) {
	case MIGRATE_EXIT_OK:
		i_info("migrate worker: user %s: finished", job->user);
		worker->finished++;
		migrate_worker_dequeue(worker, job->user);
		break;
	case MIGRATE_EXIT_LOCKED:
		/* a run we didn't start (e.g. left by a killed worker) still
		   holds the account: leave it queued */
		delay = migrate_worker_delay_get(worker, job->user);
		delay->not_before = time(NULL) +
			MIGRATE_WORKER_LOCKED_RETRY_SECS;
		break;
	case MIGRATE_EXIT_TEMPFAIL:
	case MIGRATE_EXIT_UNREACHABLE:
	case MIGRATE_EXIT_SOFTWARE:
	/* a broken answer may be a one-off (a connection corrupted on the
	   way); one that stays broken fails after the retries */
	case MIGRATE_EXIT_PROTOCOL:
		delay = migrate_worker_delay_get(worker, job->user);
		if (++delay->failures <= worker->retries) {
			delay->not_before = time(NULL) +
				worker->retry_delay_secs * delay->failures;
			i_error("migrate worker: user %s: failed (exit %d, "
				"retry %u/%u in %u seconds): %s", job->user,
				code, delay->failures, worker->retries,
				worker->retry_delay_secs * delay->failures,
				migrate_worker_last_error(job->user));
			break;
		}
		/* fall through */
	default:
		i_error("migrate worker: user %s: failed (exit %d): %s",
			job->user, code, migrate_worker_last_error(job->user));
		worker->failed++;
		migrate_worker_dequeue(worker, job->user);
		break;
	}
	migrate_worker_job_free(worker, job);
	worker->rescan = TRUE;
}

static int
migrate_worker_entry_cmp(const struct migrate_worker_entry *e1,
			 const struct migrate_worker_entry *e2)
{
	if (e1->queued != e2->queued)
		return e1->queued < e2->queued ? -1 : 1;
	return strcmp(e1->user, e2->user);
}

/* The queue's entries, oldest first (data stack). */
static int
migrate_worker_read_queue(struct migrate_worker *worker,
			  ARRAY_TYPE(migrate_worker_entry) *entries)
{
	struct migrate_worker_entry *entry;
	const char *user;
	struct dirent *d;
	struct stat st;
	DIR *dirp;

	t_array_init(entries, 32);
	if ((dirp = opendir(worker->queue_dir)) == NULL) {
		i_error("migrate worker: opendir(%s) failed: %m",
			worker->queue_dir);
		return -1;
	}
	while ((d = readdir(dirp)) != NULL) {
		if (!migrate_queue_file_user(d->d_name, &user))
			continue;
		entry = array_append_space(entries);
		entry->user = user;
		entry->path = t_strdup_printf("%s/%s", worker->queue_dir,
					      d->d_name);
		/* written once, when the user logged in */
		if (stat(entry->path, &st) < 0) {
			array_pop_back(entries);
			continue;
		}
		entry->queued = st.st_mtime;
	}
	if (closedir(dirp) < 0)
		i_error("migrate worker: closedir(%s) failed: %m",
			worker->queue_dir);
	array_sort(entries, migrate_worker_entry_cmp);
	return 0;
}

/* Should the entry's account start now? */
static bool
migrate_worker_want_start(struct migrate_worker *worker,
			  const struct migrate_worker_entry *entry,
			  time_t now)
{
	const struct migrate_worker_delay *delay;
	struct doveadm_migrate_lock lock;
	struct migrate_state state;
	const char *error;
	int ret;

	if (migrate_worker_is_running(worker, entry->user))
		return FALSE;
	delay = migrate_worker_delay_find(worker, entry->user);
	if (delay != NULL && delay->not_before > now)
		return FALSE;

	ret = doveadm_migrate_lock(entry->user, TRUE, &lock, &error);
	if (ret < 0) {
		i_error("migrate worker: user %s: %s", entry->user, error);
		return FALSE;
	}
	if (ret == 0) {
		/* still being migrated by a run we didn't start */
		migrate_worker_delay_get(worker, entry->user)->not_before =
			now + MIGRATE_WORKER_LOCKED_RETRY_SECS;
		return FALSE;
	}
	if (doveadm_migrate_state_read(entry->user, pool_datastack_create(),
				       &state, &error) > 0 &&
	    state.status == MIGRATE_STATE_FINISHED &&
	    state.finished >= entry->queued) {
		/* a run that outlived the worker that started it has
		   finished it meanwhile */
		i_info("migrate worker: user %s: finished", entry->user);
		worker->finished++;
		migrate_worker_dequeue(worker, entry->user);
		return FALSE;
	}
	return TRUE;
}

static void migrate_worker_start(struct migrate_worker *worker,
				 const char *user)
{
	struct migrate_worker_job *job;

	job = i_new(struct migrate_worker_job, 1);
	job->user = i_strdup(user);
	job->job.user = job->user;
	array_push_back(&worker->jobs, &job);
	/* the user works here already: the account is switched, so its
	   passes are one-way and the server's own new mail and changes
	   stay */
	doveadm_migrate_scheduler_start(worker->scheduler, &job->job,
		worker->conf,
		(const char *[]){ "--final", "--switch-reason",
				  "the user logged in here (on-login worker)",
				  NULL }, TRUE);
	i_info("migrate worker: user %s: started (pid %ld)", user,
	       (long)job->job.pid);
	if (array_count(&worker->jobs) > worker->max_running)
		worker->max_running = array_count(&worker->jobs);
}

static void migrate_worker_scan(struct migrate_worker *worker, time_t now)
{
	ARRAY_TYPE(migrate_worker_entry) entries;
	const struct migrate_worker_entry *entry;

	worker->last_scan = now;
	worker->rescan = FALSE;
	if (migrate_worker_read_queue(worker, &entries) < 0)
		return;
	worker->queue_empty = array_count(&entries) == 0;
	array_foreach(&entries, entry) {
		if (!doveadm_migrate_scheduler_may_start(worker->scheduler))
			break;
		if (migrate_worker_want_start(worker, entry, now))
			migrate_worker_start(worker, entry->user);
	}
	/* an entry dequeued above may have been the last one */
	if (array_count(&worker->jobs) == 0 && !worker->queue_empty &&
	    migrate_worker_read_queue(worker, &entries) == 0)
		worker->queue_empty = array_count(&entries) == 0;
}

static void migrate_worker_fill(void *context, time_t now)
{
	struct migrate_worker *worker = context;

	if (worker->rescan ||
	    now - worker->last_scan >= MIGRATE_WORKER_SCAN_SECS)
		migrate_worker_scan(worker, now);
}

static bool migrate_worker_done(void *context)
{
	struct migrate_worker *worker = context;

	return worker->once && worker->queue_empty;
}

static const struct doveadm_migrate_scheduler_vfuncs migrate_worker_vfuncs = {
	.fill = migrate_worker_fill,
	.ended = migrate_worker_ended,
	.done = migrate_worker_done,
};

/* Killed: stop the runs; their queue entries stay for the next worker. */
static void migrate_worker_stop(struct migrate_worker *worker)
{
	struct migrate_worker_job *job;

	if (array_count(&worker->jobs) > 0) {
		i_info("migrate worker: stopping %u running migrations (they "
		       "resume when the worker starts again)",
		       array_count(&worker->jobs));
	}
	doveadm_migrate_scheduler_deinit(&worker->scheduler);
	while (array_count(&worker->jobs) > 0) {
		job = array_idx_elem(&worker->jobs, 0);
		migrate_worker_job_free(worker, job);
	}
}

static int migrate_worker_mkdirs(struct migrate_worker *worker)
{
	struct stat st;

	/* the mail processes (the mail user, not root) write the queue:
	   the state dir must be searchable, the queue writable by them and
	   like /tmp (sticky), but not listable */
	if (mkdir_parents(worker->state_dir, 0711) < 0 && errno != EEXIST) {
		i_error("migrate worker: mkdir(%s) failed: %m",
			worker->state_dir);
		return -1;
	}
	if (mkdir(worker->queue_dir, 01733) < 0) {
		if (errno != EEXIST) {
			i_error("migrate worker: mkdir(%s) failed: %m",
				worker->queue_dir);
			return -1;
		}
	} else if (chmod(worker->queue_dir, 01733) < 0) {
		i_error("migrate worker: chmod(%s) failed: %m",
			worker->queue_dir);
		return -1;
	}
	if (stat(worker->state_dir, &st) == 0 && st.st_uid == 0 &&
	    (st.st_mode & 0011) == 0) {
		i_warning("migrate worker: %s (mode %04o) is not searchable "
			  "by the mail processes, so migrate_onlogin can't "
			  "queue anything: chmod 0711 it", worker->state_dir,
			  (unsigned int)(st.st_mode & 07777));
	}
	return 0;
}

static int
migrate_worker_options(struct migrate_worker *worker,
		       struct doveadm_cmd_context *cctx)
{
	int64_t num;

	if (doveadm_migrate_limits_parse(cctx, "migrate worker",
					 &worker->limits) < 0)
		return -1;
	worker->retries = MIGRATE_WORKER_DEFAULT_RETRIES;
	worker->retry_delay_secs = MIGRATE_WORKER_DEFAULT_RETRY_DELAY_SECS;
	if (doveadm_cmd_param_int64(cctx, "retries", &num)) {
		if (num < 0 || num > 1000) {
			i_error("migrate worker: invalid retries %"PRId64
				" (0..1000)", num);
			return -1;
		}
		worker->retries = num;
	}
	if (doveadm_cmd_param_int64(cctx, "retry-delay", &num)) {
		if (num < 0 || num > UINT_MAX / 1000) {
			i_error("migrate worker: invalid retry-delay %"PRId64,
				num);
			return -1;
		}
		worker->retry_delay_secs = num;
	}
	(void)doveadm_cmd_param_bool(cctx, "once", &worker->once);
	return 0;
}

static void cmd_migrate_worker(struct doveadm_cmd_context *cctx)
{
	struct migrate_worker worker;
	struct migrate_worker_delay *delay;

	i_zero(&worker);
	if (migrate_worker_options(&worker, cctx) < 0) {
		doveadm_exit_code = MIGRATE_EXIT_CONFIG;
		return;
	}
	worker.conf = doveadm_migrate_conf_path();
	worker.state_dir = doveadm_migrate_state_dir();
	worker.queue_dir = t_strconcat(worker.state_dir, "/",
				       MIGRATE_QUEUE_DIR_NAME, NULL);
	if (migrate_worker_mkdirs(&worker) < 0) {
		doveadm_exit_code = MIGRATE_EXIT_SOFTWARE;
		return;
	}
	doveadm_migrate_conf_check_settings("migrate worker",
		doveadm_migrate_conf_doveadm_plugins());
	doveadm_migrate_tmp_cleanup("migrate worker");
	i_array_init(&worker.jobs, 8);
	i_array_init(&worker.delays, 8);

	worker.rescan = TRUE;
	worker.scheduler = doveadm_migrate_scheduler_init(&worker.limits,
		"migrate worker", &migrate_worker_vfuncs, &worker);
	doveadm_migrate_scheduler_run(worker.scheduler);
	migrate_worker_stop(&worker);

	if (worker.once) {
		i_info("migrate worker: queue drained: %u finished, %u failed, "
		       "at most %u at once", worker.finished, worker.failed,
		       worker.max_running);
	}
	if (worker.failed > 0)
		doveadm_exit_code = MIGRATE_EXIT_TEMPFAIL;
	array_foreach_modifiable(&worker.delays, delay)
		i_free(delay->user);
	array_free(&worker.delays);
	array_free(&worker.jobs);
}

struct doveadm_cmd_ver2 doveadm_cmd_migrate_worker = {
	.name = "migrate worker",
	.cmd = cmd_migrate_worker,
	.usage = "[--once] [-n <concurrency>] [--max-load <per core>] "
		 "[--timeout <secs>] [--retries <n>] [--retry-delay <secs>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('\0', "once", CMD_PARAM_BOOL, 0)
DOVEADM_MIGRATE_LIMITS_PARAMS
DOVEADM_CMD_PARAM('\0', "retries", CMD_PARAM_INT64, 0)
DOVEADM_CMD_PARAM('\0', "retry-delay", CMD_PARAM_INT64, 0)
DOVEADM_CMD_PARAMS_END
};
