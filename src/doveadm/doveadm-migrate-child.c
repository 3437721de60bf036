/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "lib-signals.h"
#include "array.h"
#include "str.h"
#include "ioloop.h"
#include "istream.h"
#include "write-full.h"
#include "fd-util.h"
#include "mkdir-parents.h"
#include "doveadm-util.h"
#include "migrate-common.h"
#include "migrate-file.h"
#include "migrate-outcome.h"
#include "migrate-progress.h"
#include "doveadm-migrate.h"

#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/wait.h>

/* The doveadm children of the migrate commands: found beside the running
   doveadm, started with a clean environment, their output read, and a
   failed one judged from the outcome its plugins recorded
   (migrate-outcome.h). */

/* error lines of a child kept for the report */
#define MIGRATE_CHILD_MAX_ERRORS 8
/* how often a child's progress record is read */
#define MIGRATE_CHILD_PROGRESS_INTERVAL_MSECS 1000
/* the most children running at once that a stop request reaches */
#define MIGRATE_CHILD_MAX_RUNNING 64

/* The children running now that work on an account's mail (0 = a free
   slot), for the signal handler: a migrate command told to stop (SIGTERM
   from kill or timeout(1), SIGINT) stops them too, as they share its
   process group and wouldn't hear of it otherwise. The others (reading
   this server's folders after a pass) finish, so that a stopped pass
   still records what it left. */
static pid_t doveadm_migrate_running[MIGRATE_CHILD_MAX_RUNNING];
static volatile sig_atomic_t doveadm_migrate_stop_signo = 0;
static bool doveadm_migrate_stop_handler_set = FALSE;

/* A plain handler (in signal context: only kill()), so that it acts in
   whatever ioloop or sleep the command is in */
static void doveadm_migrate_child_stop(const siginfo_t *si,
				       void *context ATTR_UNUSED)
{
	unsigned int i;

	doveadm_migrate_stop_signo = si->si_signo;
	for (i = 0; i < MIGRATE_CHILD_MAX_RUNNING; i++) {
		if (doveadm_migrate_running[i] > 0)
			(void)kill(doveadm_migrate_running[i], SIGTERM);
	}
}

static void doveadm_migrate_running_set(pid_t old_pid, pid_t new_pid)
{
	unsigned int i;

	for (i = 0; i < MIGRATE_CHILD_MAX_RUNNING; i++) {
		if (doveadm_migrate_running[i] == old_pid) {
			doveadm_migrate_running[i] = new_pid;
			return;
		}
	}
}

int doveadm_migrate_child_stop_signal(void)
{
	return doveadm_migrate_stop_signo;
}

void doveadm_migrate_child_deinit(void)
{
	if (!doveadm_migrate_stop_handler_set)
		return;
	lib_signals_unset_handler(SIGTERM, doveadm_migrate_child_stop, NULL);
	lib_signals_unset_handler(SIGINT, doveadm_migrate_child_stop, NULL);
	doveadm_migrate_stop_handler_set = FALSE;
}

const char *doveadm_migrate_binary(const char *name)
{
	char path[PATH_MAX];
	const char *const *dirs, *binary;
	ssize_t len;
	const char *p;

	/* the doveadm that runs us, and doveconf beside it */
	len = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (len > 0) {
		path[len] = '\0';
		p = strrchr(path, '/');
		binary = p == NULL ? NULL : t_strdup_printf("%.*s/%s",
			(int)(p - path), path, name);
		if (binary != NULL && access(binary, X_OK) == 0)
			return binary;
	}
	/* run from doveadm-server (the HTTP API), which lives elsewhere */
	p = getenv("PATH");
	dirs = t_strsplit(p == NULL || *p == '\0' ? MIGRATE_DEFAULT_PATH : p,
			  ":");
	for (; *dirs != NULL; dirs++) {
		binary = t_strdup_printf("%s/%s", *dirs, name);
		if (**dirs != '\0' && access(binary, X_OK) == 0)
			return binary;
	}
	return name;
}

static const char *const *doveadm_migrate_child_env(void)
{
	static const char *const keep[] = {
		"PATH", "HOME", "LANG", "LC_ALL", "TZ", NULL
	};
	ARRAY_TYPE(const_string) env;
	const char *const *name, *value;

	/* Dovecot passes an already parsed config to its re-executed
	   binaries in the environment (DOVECONF_ENV and every setting,
	   passwords included); a child given that would ignore its own -c
	   config. Children get a clean environment. */
	t_array_init(&env, 8);
	for (name = keep; *name != NULL; name++) {
		if ((value = getenv(*name)) != NULL) {
			value = t_strconcat(*name, "=", value, NULL);
			array_push_back(&env, &value);
		} else if (strcmp(*name, "PATH") == 0) {
			/* Dovecot clears its environment; the binaries
			   still look up doveconf in PATH */
			value = "PATH="MIGRATE_DEFAULT_PATH;
			array_push_back(&env, &value);
		}
	}
	array_append_zero(&env);
	return array_front(&env);
}

void doveadm_migrate_child_exec(const char *binary, const char *const *args,
				int out_fd)
{
	if (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0)
		i_fatal("dup2() failed: %m");
	i_close_fd(&out_fd);
	(void)close(STDIN_FILENO);
	if (open("/dev/null", O_RDONLY) < 0)
		i_fatal("open(/dev/null) failed: %m");
	execve(binary, (char *const *)args,
	       (char *const *)doveadm_migrate_child_env());
	i_fatal("execve(%s) failed: %m", binary);
}

static void
doveadm_migrate_outcome_read(const char *path,
			     struct doveadm_migrate_child *child)
{
	string_t *data;
	const char *error;
	int ret;

	ret = migrate_file_read(path, &data, &error);
	if (ret > 0 && migrate_outcome_parse(str_c(data), child->pool,
					     &child->records, &error) < 0)
		ret = -1;
	if (ret < 0)
		i_error("migrate: %s: %s", path, error);
}

/* A child being run: its output read as it comes, its progress record
   read every second. */
struct doveadm_migrate_child_io {
	struct doveadm_migrate_child *child;
	struct doveadm_migrate_child_settings set;
	doveadm_migrate_child_callback_t *callback;
	void *context;
	pid_t pid;
	struct io *io;
	struct timeout *to;
	struct istream *input;
	int progress_fd;
	const char *outcome_path;
	bool tty;
};

static void
doveadm_migrate_child_line(struct doveadm_migrate_child_io *cio,
			   const char *line)
{
	struct doveadm_migrate_child *child = cio->child;

	if (cio->set.echo) {
		/* over a progress line migrate run may show there */
		fprintf(stderr, "%s%s\n", cio->tty ? "\r\033[K" : "", line);
	}
	if (cio->set.log_fd != -1) {
		/* the run's log has its children's output too */
		const char *log_line = t_strconcat(line, "\n", NULL);

		if (write_full(cio->set.log_fd, log_line,
			       strlen(log_line)) < 0)
			i_error("migrate: write(log) failed: %m");
	}
	if (strstr(line, "Error: ") != NULL ||
	    strstr(line, "Panic: ") != NULL ||
	    strstr(line, "Fatal: ") != NULL) {
		char *err = i_strdup(line);

		if (array_count(&child->errors) >= MIGRATE_CHILD_MAX_ERRORS) {
			char **first = array_front_modifiable(&child->errors);
			i_free(*first);
			array_pop_front(&child->errors);
		}
		array_push_back(&child->errors, &err);
	} else if (str_len(child->output) < 65536) {
		str_append(child->output, line);
		str_append_c(child->output, '\n');
	}
}

static void doveadm_migrate_child_progress(struct doveadm_migrate_child_io *cio)
{
	char buf[MIGRATE_PROGRESS_RECORD_SIZE];
	struct migrate_progress progress;
	ssize_t ret;

	i_zero(&progress);
	ret = pread(cio->progress_fd, buf, sizeof(buf), 0);
	if (ret < 0)
		i_error("migrate: pread(progress) failed: %m");
	T_BEGIN {
		if (ret > 0 &&
		    migrate_progress_record_parse(buf, ret,
			pool_datastack_create(), &progress) < 0)
			i_error("migrate: broken progress record");
		cio->set.progress(cio->set.context, &progress);
	} T_END;
}

/* The child closed its output: it is exiting. Reap it, read what it
   recorded and hand it to the callback. */
static void doveadm_migrate_child_ended(struct doveadm_migrate_child_io *cio)
{
	struct doveadm_migrate_child *child = cio->child;
	int status;

	io_remove(&cio->io);
	timeout_remove(&cio->to);
	i_stream_unref(&cio->input);
	if (waitpid(cio->pid, &status, 0) < 0)
		i_fatal("waitpid() failed: %m");
	doveadm_migrate_running_set(cio->pid, 0);
	if (WIFEXITED(status))
		child->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		child->exit_code = 128 + WTERMSIG(status);
	else
		child->exit_code = MIGRATE_EXIT_SOFTWARE;
	if (cio->progress_fd != -1) {
		/* the last count */
		doveadm_migrate_child_progress(cio);
		i_close_fd(&cio->progress_fd);
	}
	if (cio->outcome_path != NULL)
		doveadm_migrate_outcome_read(cio->outcome_path, child);
	cio->callback(child, cio->context);
	i_free(cio);
}

static void doveadm_migrate_child_input(struct doveadm_migrate_child_io *cio)
{
	const char *line;

	while ((line = i_stream_read_next_line(cio->input)) != NULL)
		doveadm_migrate_child_line(cio, line);
	if (cio->input->eof || cio->input->stream_errno != 0)
		doveadm_migrate_child_ended(cio);
}

/* Open migrate_state_dir/<user><suffix> for a child's records: a new,
   empty one. Returns the descriptor, or -1 (logged: the child then runs
   without it). */
static int
doveadm_migrate_child_record_open(const char *path, int flags)
{
	const char *dir = doveadm_migrate_state_dir();
	int fd;

	if (mkdir_parents(dir, 0700) < 0 && errno != EEXIST) {
		i_error("migrate: mkdir(%s) failed: %m", dir);
		return -1;
	}
	fd = open(path, flags | O_CREAT | O_TRUNC, 0600);
	if (fd == -1)
		i_error("migrate: open(%s) failed: %m", path);
	return fd;
}

/* migrate_state_dir/<user><suffix>[.<worker>] (data stack) */
static const char *
doveadm_migrate_child_record_path(const struct doveadm_migrate_child_settings *set,
				  const char *suffix)
{
	if (set->worker > 0)
		suffix = t_strdup_printf("%s.%u", suffix, set->worker);
	return doveadm_migrate_user_file_path(set->user, suffix);
}

void doveadm_migrate_child_start(const char *const *args,
				 const struct doveadm_migrate_child_settings *set,
				 struct doveadm_migrate_child *child_r,
				 doveadm_migrate_child_callback_t *callback,
				 void *context)
{
	const char *binary = doveadm_migrate_binary(args[0]);
	struct doveadm_migrate_child_io *cio;
	ARRAY_TYPE(const_string) argv;
	const char *arg;
	int fds[2], outcome_fd = -1;

	i_zero(child_r);
	child_r->pool = pool_alloconly_create("migrate child", 1024);
	child_r->output = str_new(default_pool, 256);
	i_array_init(&child_r->errors, 4);
	p_array_init(&child_r->records, child_r->pool, 4);
	cio = i_new(struct doveadm_migrate_child_io, 1);
	cio->child = child_r;
	cio->set = *set;
	cio->callback = callback;
	cio->context = context;
	cio->progress_fd = -1;
	cio->tty = set->echo && isatty(STDERR_FILENO) != 0;

	/* the recorder in the child writes to these descriptors
	   (doveadm-migrate-outcome.c); global options, so they go before
	   the command. Concurrent children of one account (workers) each
	   have their own. */
	t_array_init(&argv, 16);
	array_push_back(&argv, &args[0]);
	if (set->user != NULL) {
		cio->outcome_path = p_strdup(child_r->pool,
			doveadm_migrate_child_record_path(set, ".outcome"));
		outcome_fd = doveadm_migrate_child_record_open(
			cio->outcome_path, O_WRONLY | O_APPEND);
	}
	if (outcome_fd != -1) {
		arg = t_strdup_printf(
			MIGRATE_SETTING_OVERRIDE("migrate_outcome_fd")"=%d",
				      outcome_fd);
		array_push_back(&argv, (const char *[]){ "-o" });
		array_push_back(&argv, &arg);
	}
	if (set->user != NULL && set->progress != NULL) {
		cio->progress_fd = doveadm_migrate_child_record_open(
			doveadm_migrate_child_record_path(set, ".progress"),
			O_RDWR);
	}
	if (cio->progress_fd != -1) {
		arg = t_strdup_printf(
			MIGRATE_SETTING_OVERRIDE("migrate_progress_fd")"=%d",
				      cio->progress_fd);
		array_push_back(&argv, (const char *[]){ "-o" });
		array_push_back(&argv, &arg);
	}
	array_append(&argv, args + 1, str_array_length(args + 1));
	array_append_zero(&argv);

	if (!doveadm_migrate_stop_handler_set) {
		lib_signals_set_handler(SIGTERM, LIBSIG_FLAG_RESTART,
					doveadm_migrate_child_stop, NULL);
		lib_signals_set_handler(SIGINT, LIBSIG_FLAG_RESTART,
					doveadm_migrate_child_stop, NULL);
		doveadm_migrate_stop_handler_set = TRUE;
	}
	if (pipe(fds) < 0)
		i_fatal("pipe() failed: %m");
	if ((cio->pid = fork()) < 0)
		i_fatal("fork() failed: %m");
	if (cio->pid == 0) {
		i_close_fd(&fds[0]);
		doveadm_migrate_child_exec(binary, array_front(&argv), fds[1]);
	}
	if (set->user != NULL) {
		doveadm_migrate_running_set(0, cio->pid);
		if (doveadm_migrate_stop_signo != 0) {
			/* told to stop already: the child ends at once */
			(void)kill(cio->pid, SIGTERM);
		}
	}
	i_close_fd(&fds[1]);
	if (outcome_fd != -1)
		i_close_fd(&outcome_fd);

	/* passwords are never in args: they come from the config file */
	fd_set_nonblock(fds[0], TRUE);
	cio->input = i_stream_create_fd_autoclose(&fds[0], SIZE_MAX);
	cio->io = io_add_istream(cio->input, doveadm_migrate_child_input, cio);
	if (cio->progress_fd != -1) {
		cio->to = timeout_add(MIGRATE_CHILD_PROGRESS_INTERVAL_MSECS,
				      doveadm_migrate_child_progress, cio);
	}
}

static void
doveadm_migrate_child_run_ended(struct doveadm_migrate_child *child ATTR_UNUSED,
				void *context)
{
	io_loop_stop(context);
}

int doveadm_migrate_child_run_set(const char *const *args,
				  const struct doveadm_migrate_child_settings *set,
				  struct doveadm_migrate_child *child_r)
{
	struct ioloop *prev_ioloop = current_ioloop;
	struct ioloop *ioloop;

	ioloop = io_loop_create();
	doveadm_migrate_child_start(args, set, child_r,
				    doveadm_migrate_child_run_ended, ioloop);
	io_loop_run(ioloop);
	io_loop_set_current(prev_ioloop);
	io_loop_set_current(ioloop);
	io_loop_destroy(&ioloop);
	return child_r->exit_code == 0 ? 0 : -1;
}

int doveadm_migrate_child_run(const char *binary_name,
			      const char *const *args, bool echo,
			      struct doveadm_migrate_child *child_r)
{
	struct doveadm_migrate_child_settings set = {
		.echo = echo,
		.log_fd = -1,
	};
	const char *const *argv = args;

	if (strcmp(args[0], binary_name) != 0) {
		ARRAY_TYPE(const_string) arr;

		t_array_init(&arr, 16);
		array_push_back(&arr, &binary_name);
		array_append(&arr, args + 1, str_array_length(args + 1));
		array_append_zero(&arr);
		argv = array_front(&arr);
	}
	return doveadm_migrate_child_run_set(argv, &set, child_r);
}

int doveadm_migrate_child_run_user(const char *user, const char *const *args,
				   bool echo,
				   struct doveadm_migrate_child *child_r)
{
	struct doveadm_migrate_child_settings set = {
		.echo = echo,
		.user = user,
		.log_fd = -1,
	};

	return doveadm_migrate_child_run_set(args, &set, child_r);
}

void doveadm_migrate_child_free(struct doveadm_migrate_child *child)
{
	char **err;

	array_foreach_modifiable(&child->errors, err)
		i_free(*err);
	array_free(&child->errors);
	str_free(&child->output);
	pool_unref(&child->pool);
}

static const char *doveadm_migrate_error_text(const char *line)
{
	static const char *const prefixes[] = {
		"Error: ", "Panic: ", "Fatal: ", "Warning: ", NULL
	};
	const char *const *prefix, *p;

	for (prefix = prefixes; *prefix != NULL; prefix++) {
		if ((p = strstr(line, *prefix)) != NULL)
			return p + strlen(*prefix);
	}
	return line;
}

const char *
doveadm_migrate_child_last_error(const struct doveadm_migrate_child *child)
{
	char *const *errs;
	unsigned int count;

	errs = array_get(&child->errors, &count);
	if (count == 0) {
		return child->exit_code >= 128 ?
			t_strdup_printf("killed by signal %d",
					child->exit_code - 128) :
			t_strdup_printf("exit code %d", child->exit_code);
	}
	/* the most specific line is usually the first error */
	return doveadm_migrate_error_text(errs[0]);
}

void doveadm_migrate_child_judge(const struct doveadm_migrate_child *child,
				 struct migrate_outcome_result *result_r)
{
	ARRAY_TYPE(const_string) lines;
	char *const *errp;
	const char *text;

	t_array_init(&lines, array_count(&child->errors) + 1);
	array_foreach(&child->errors, errp) {
		/* a panic line keeps its "Panic: " (a crash is told by it) */
		text = strstr(*errp, "Panic: ") != NULL ?
			strstr(*errp, "Panic: ") :
			doveadm_migrate_error_text(*errp);
		array_push_back(&lines, &text);
	}
	array_append_zero(&lines);
	migrate_outcome_classify(&child->records, array_front(&lines),
				 child->exit_code, result_r);
}
