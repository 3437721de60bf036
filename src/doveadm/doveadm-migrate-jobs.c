/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "settings-parser.h"
#include "array.h"
#include "ioloop.h"
#include "child-wait.h"
#include "master-service.h"
#include "istream.h"
#include "migrate-common.h"
#include "migrate-state.h"
#include "doveadm-migrate.h"

#include <unistd.h>
#include <time.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

/* What doveadm migrate batch and worker share: the limits (concurrency,
   load, timeout), the child "doveadm migrate run" processes, each in its
   own process group so that a timeout stops its dsync too, and the
   scheduler that starts them, reaps them (child-wait, in the ioloop) and
   stops them. */

#define MIGRATE_JOBS_DEFAULT_MAX_CONCURRENCY 6
#define MIGRATE_JOBS_MAX_CONCURRENCY 1000
#define MIGRATE_JOBS_DEFAULT_MAX_LOAD 0.7
#define MIGRATE_JOBS_DEFAULT_TIMEOUT_SECS (24 * 60 * 60)
#define MIGRATE_SCHEDULER_TICK_MSECS 200
/* stopped runs get this long to end before they are killed */
#define MIGRATE_SCHEDULER_STOP_GRACE_SECS 5

struct doveadm_migrate_scheduler {
	const struct doveadm_migrate_limits *limits;
	const char *cmd_name;
	const struct doveadm_migrate_scheduler_vfuncs *v;
	void *context;

	struct child_wait *child_wait;
	struct timeout *to;
	ARRAY(struct doveadm_migrate_job *) running;
	time_t stop_sent;
	bool stopping:1;
	bool running_loop:1;
};
#define MIGRATE_JOBS_KILL_GRACE_SECS 5

int doveadm_migrate_limits_parse(struct doveadm_cmd_context *cctx,
				 const char *cmd_name,
				 struct doveadm_migrate_limits *limits_r)
{
	const char *value, *error;
	char *end;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	i_zero(limits_r);
	limits_r->concurrency = I_MIN(cores > 0 ? (unsigned int)cores + 1 : 2,
				      MIGRATE_JOBS_DEFAULT_MAX_CONCURRENCY);
	limits_r->timeout_secs = MIGRATE_JOBS_DEFAULT_TIMEOUT_SECS;
	limits_r->max_load = MIGRATE_JOBS_DEFAULT_MAX_LOAD;

	if (doveadm_cmd_param_str(cctx, "concurrency", &value)) {
		if (str_to_uint(value, &limits_r->concurrency) < 0 ||
		    limits_r->concurrency < 1 ||
		    limits_r->concurrency > MIGRATE_JOBS_MAX_CONCURRENCY) {
			i_error("%s: invalid -n '%s' (a number of accounts, "
				"1..%u)", cmd_name, value,
				MIGRATE_JOBS_MAX_CONCURRENCY);
			return -1;
		}
	}
	if (doveadm_cmd_param_str(cctx, "timeout", &value)) {
		/* seconds, or Dovecot's time units: "2h", "30 mins" */
		if ((str_to_uint(value, &limits_r->timeout_secs) < 0 &&
		     migrate_parse_time(value, &limits_r->timeout_secs,
				       &error) < 0) ||
		    limits_r->timeout_secs == 0) {
			i_error("%s: invalid --timeout '%s' (seconds, or e.g. "
				"30min, 2h, 1d)", cmd_name, value);
			return -1;
		}
	}
	if (doveadm_cmd_param_str(cctx, "max-load", &value)) {
		limits_r->max_load = strtod(value, &end);
		if (*end != '\0' || end == value || limits_r->max_load < 0) {
			i_error("%s: invalid max-load '%s'", cmd_name, value);
			return -1;
		}
	}
	return 0;
}

static double doveadm_migrate_load_per_core(void)
{
	struct istream *input;
	const char *line;
	double load = 0;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	input = i_stream_create_file("/proc/loadavg", 256);
	line = i_stream_read_next_line(input);
	if (line != NULL)
		load = strtod(line, NULL);
	i_stream_unref(&input);
	return cores > 0 ? load / cores : load;
}

bool doveadm_migrate_may_start(const struct doveadm_migrate_limits *limits,
			       unsigned int running)
{
	if (running >= limits->concurrency)
		return FALSE;
	/* one account always runs, whatever the load */
	return running == 0 || limits->max_load <= 0 ||
		doveadm_migrate_load_per_core() <= limits->max_load;
}

void doveadm_migrate_job_start(struct doveadm_migrate_job *job,
			       const char *conf, const char *const *run_args,
			       bool append_log)
{
	ARRAY_TYPE(const_string) args;
	const char *binary = doveadm_migrate_binary("doveadm");
	const char *log_path;
	int fd;

	t_array_init(&args, 12);
	array_push_back(&args, (const char *[]){ "doveadm" });
	array_push_back(&args, (const char *[]){ "-c" });
	array_push_back(&args, &conf);
	array_push_back(&args, (const char *[]){ "migrate" });
	array_push_back(&args, job->cmd == NULL ?
			(const char *[]){ "run" } : &job->cmd);
	array_push_back(&args, (const char *[]){ "-u" });
	array_push_back(&args, &job->user);
	for (; run_args != NULL && *run_args != NULL; run_args++)
		array_push_back(&args, run_args);
	array_append_zero(&args);
	log_path = t_strdup_printf("%s/%s", doveadm_migrate_state_dir(),
		migrate_state_file_name(job->user, job->cmd == NULL ? ".log" :
					t_strconcat(".", job->cmd, ".log",
						    NULL)));

	job->started = time(NULL);
	job->timed_out = FALSE;
	job->pid = fork();
	if (job->pid < 0)
		i_fatal("fork() failed: %m");
	if (job->pid == 0) {
		/* own process group: a timeout kills dsync too */
		(void)setpgid(0, 0);
		fd = open(log_path, O_WRONLY | O_CREAT |
			  (append_log ? O_APPEND : O_TRUNC), 0600);
		if (fd == -1)
			i_fatal("migrate: can't open %s: %m", log_path);
		doveadm_migrate_child_exec(binary, array_front(&args), fd);
	}
	(void)setpgid(job->pid, job->pid);
}

void doveadm_migrate_job_check_timeout(struct doveadm_migrate_job *job,
				       const struct doveadm_migrate_limits *limits,
				       time_t now, const char *cmd_name)
{
	if (job->pid <= 0)
		return;
	if (!job->timed_out &&
	    now - job->started >= (time_t)limits->timeout_secs) {
		i_error("%s: user %s: timed out after %u seconds, stopping it",
			cmd_name, job->user, limits->timeout_secs);
		job->timed_out = TRUE;
		job->kill_sent = now;
		(void)kill(-job->pid, SIGTERM);
	} else if (job->timed_out &&
		   now - job->kill_sent >= MIGRATE_JOBS_KILL_GRACE_SECS) {
		(void)kill(-job->pid, SIGKILL);
	}
}

void doveadm_migrate_job_stop(struct doveadm_migrate_job *job)
{
	if (job->pid > 0)
		(void)kill(-job->pid, SIGTERM);
}

int doveadm_migrate_job_reaped(struct doveadm_migrate_job *job, int status,
			       const struct doveadm_migrate_limits *limits,
			       const char *cmd_name)
{
	struct migrate_state state;
	const char *error;
	int exit_code;

	job->pid = 0;
	exit_code = WIFEXITED(status) ? WEXITSTATUS(status) :
		MIGRATE_EXIT_SOFTWARE;
	if (!job->timed_out)
		return exit_code;

	/* the run was killed: record why, so status doesn't just say
	   interrupted */
	if (doveadm_migrate_state_read(job->user, pool_datastack_create(),
				       &state, &error) > 0) {
		state.status = MIGRATE_STATE_FAILED;
		state.finished = time(NULL);
		state.exit_code = MIGRATE_EXIT_TEMPFAIL;
		state.last_error = t_strdup_printf("timed out after %u seconds "
			"(run again to resume)", limits->timeout_secs);
		if (doveadm_migrate_state_write(&state, &error) < 0)
			i_error("%s: user %s: %s", cmd_name, job->user, error);
	}
	return MIGRATE_EXIT_TEMPFAIL;
}

static void doveadm_migrate_scheduler_tick(struct doveadm_migrate_scheduler *sched);

static void
doveadm_migrate_scheduler_child_ended(const struct child_wait_status *status,
				      struct doveadm_migrate_scheduler *sched)
{
	struct doveadm_migrate_job *const *jobs, *job;
	unsigned int i, count;
	int exit_code;

	jobs = array_get(&sched->running, &count);
	for (i = 0; i < count; i++) {
		if (jobs[i]->pid == status->pid)
			break;
	}
	if (i == count)
		return;
	job = jobs[i];
	array_delete(&sched->running, i, 1);
	T_BEGIN {
		exit_code = doveadm_migrate_job_reaped(job, status->status,
			sched->limits, sched->cmd_name);
		if (!sched->stopping)
			sched->v->ended(sched->context, job, exit_code);
	} T_END;
	/* the next account starts at once */
	doveadm_migrate_scheduler_tick(sched);
}

static void doveadm_migrate_scheduler_tick(struct doveadm_migrate_scheduler *sched)
{
	struct doveadm_migrate_job *job;
	time_t now = time(NULL);

	if (sched->stopping) {
		if (array_count(&sched->running) == 0) {
			io_loop_stop(current_ioloop);
		} else if (now - sched->stop_sent >=
			   MIGRATE_SCHEDULER_STOP_GRACE_SECS) {
			array_foreach_elem(&sched->running, job)
				(void)kill(-job->pid, SIGKILL);
		}
		return;
	}
	if (master_service_is_killed(master_service)) {
		/* SIGTERM/SIGINT: Dovecot 2.3 stops the ioloop itself;
		   2.4 stops it only in master_service_run(), not in
		   doveadm's commands (they only see the flag) */
		io_loop_stop(current_ioloop);
		return;
	}
	T_BEGIN {
		array_foreach_elem(&sched->running, job) {
			doveadm_migrate_job_check_timeout(job, sched->limits,
							  now, sched->cmd_name);
		}
		sched->v->fill(sched->context, now);
	} T_END;
	if (sched->running_loop && array_count(&sched->running) == 0 &&
	    sched->v->done(sched->context))
		io_loop_stop(current_ioloop);
}

struct doveadm_migrate_scheduler *
doveadm_migrate_scheduler_init(const struct doveadm_migrate_limits *limits,
			       const char *cmd_name,
			       const struct doveadm_migrate_scheduler_vfuncs *v,
			       void *context)
{
	struct doveadm_migrate_scheduler *sched;

	sched = i_new(struct doveadm_migrate_scheduler, 1);
	sched->limits = limits;
	sched->cmd_name = cmd_name;
	sched->v = v;
	sched->context = context;
	i_array_init(&sched->running, 8);
	child_wait_init();
	sched->child_wait = child_wait_new(
		doveadm_migrate_scheduler_child_ended, sched);
	return sched;
}

void doveadm_migrate_scheduler_deinit(struct doveadm_migrate_scheduler **_sched)
{
	struct doveadm_migrate_scheduler *sched = *_sched;

	*_sched = NULL;
	doveadm_migrate_scheduler_stop(sched);
	child_wait_free(&sched->child_wait);
	child_wait_deinit();
	array_free(&sched->running);
	i_free(sched);
}

void doveadm_migrate_scheduler_run(struct doveadm_migrate_scheduler *sched)
{
	sched->running_loop = TRUE;
	sched->to = timeout_add_short(MIGRATE_SCHEDULER_TICK_MSECS,
				      doveadm_migrate_scheduler_tick, sched);
	doveadm_migrate_scheduler_tick(sched);
	/* done at once (nothing to run) or stopped by a signal */
	if (array_count(&sched->running) > 0 ||
	    !sched->v->done(sched->context))
		io_loop_run(current_ioloop);
	timeout_remove(&sched->to);
	sched->running_loop = FALSE;
}

void doveadm_migrate_scheduler_start(struct doveadm_migrate_scheduler *sched,
				     struct doveadm_migrate_job *job,
				     const char *conf,
				     const char *const *run_args,
				     bool append_log)
{
	doveadm_migrate_job_start(job, conf, run_args, append_log);
	child_wait_add_pid(sched->child_wait, job->pid);
	array_push_back(&sched->running, &job);
}

unsigned int
doveadm_migrate_scheduler_running(const struct doveadm_migrate_scheduler *sched)
{
	return array_count(&sched->running);
}

bool doveadm_migrate_scheduler_may_start(const struct doveadm_migrate_scheduler *sched)
{
	return doveadm_migrate_may_start(sched->limits,
					 array_count(&sched->running));
}

void doveadm_migrate_scheduler_stop(struct doveadm_migrate_scheduler *sched)
{
	struct doveadm_migrate_job *job;

	if (array_count(&sched->running) == 0)
		return;
	sched->stopping = TRUE;
	sched->stop_sent = time(NULL);
	array_foreach_elem(&sched->running, job)
		doveadm_migrate_job_stop(job);
	sched->to = timeout_add_short(MIGRATE_SCHEDULER_TICK_MSECS,
				      doveadm_migrate_scheduler_tick, sched);
	io_loop_run(current_ioloop);
	timeout_remove(&sched->to);
	sched->stopping = FALSE;
}
