/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "mkdir-parents.h"
#include "doveadm-util.h"
#include "migrate-common.h"
#include "migrate-file.h"
#include "migrate-outcome.h"
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

/* Open the user's outcome file for a child (migrate-outcome.h): a new,
   empty one. Returns the descriptor, or -1 (logged: the child then runs
   without one, and is judged from its exit code and error lines). */
static int doveadm_migrate_outcome_open(const char *path)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (fd == -1)
		i_error("migrate: open(%s) failed: %m", path);
	return fd;
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

static int
doveadm_migrate_child_run_full(const char *binary_name,
			       const char *const *args, bool echo,
			       const char *outcome_path,
			       struct doveadm_migrate_child *child_r)
{
	const char *binary = doveadm_migrate_binary(binary_name);
	ARRAY_TYPE(const_string) argv;
	struct istream *input;
	const char *line, *arg;
	int fds[2], status, outcome_fd = -1;
	pid_t pid;

	i_zero(child_r);
	child_r->pool = pool_alloconly_create("migrate child", 1024);
	child_r->output = str_new(default_pool, 256);
	i_array_init(&child_r->errors, 4);
	p_array_init(&child_r->records, child_r->pool, 4);

	if (outcome_path != NULL &&
	    (outcome_fd = doveadm_migrate_outcome_open(outcome_path)) != -1) {
		/* the recorder in the child writes to this descriptor
		   (doveadm-migrate-outcome.c); a global option, so it goes
		   before the command */
		t_array_init(&argv, 16);
		array_push_back(&argv, &args[0]);
		array_push_back(&argv, (const char *[]){ "-o" });
		arg = t_strdup_printf("plugin/migrate_outcome_fd=%d",
				      outcome_fd);
		array_push_back(&argv, &arg);
		array_append(&argv, args + 1, str_array_length(args + 1));
		array_append_zero(&argv);
		args = array_front(&argv);
	}

	if (pipe(fds) < 0)
		i_fatal("pipe() failed: %m");
	if ((pid = fork()) < 0)
		i_fatal("fork() failed: %m");
	if (pid == 0) {
		i_close_fd(&fds[0]);
		doveadm_migrate_child_exec(binary, args, fds[1]);
	}
	i_close_fd(&fds[1]);
	if (outcome_fd != -1)
		i_close_fd(&outcome_fd);

	/* passwords are never in args: they come from the config file */
	input = i_stream_create_fd_autoclose(&fds[0], SIZE_MAX);
	while ((line = i_stream_read_next_line(input)) != NULL) {
		if (echo)
			fprintf(stderr, "%s\n", line);
		if (strstr(line, "Error: ") != NULL ||
		    strstr(line, "Panic: ") != NULL ||
		    strstr(line, "Fatal: ") != NULL) {
			char *err = i_strdup(line);

			if (array_count(&child_r->errors) >=
			    MIGRATE_CHILD_MAX_ERRORS) {
				char **first = array_front_modifiable(
					&child_r->errors);
				i_free(*first);
				array_pop_front(&child_r->errors);
			}
			array_push_back(&child_r->errors, &err);
		} else if (str_len(child_r->output) < 65536) {
			str_append(child_r->output, line);
			str_append_c(child_r->output, '\n');
		}
	}
	i_stream_unref(&input);

	if (waitpid(pid, &status, 0) < 0)
		i_fatal("waitpid() failed: %m");
	if (WIFEXITED(status))
		child_r->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		child_r->exit_code = 128 + WTERMSIG(status);
	else
		child_r->exit_code = MIGRATE_EXIT_SOFTWARE;
	if (outcome_path != NULL)
		doveadm_migrate_outcome_read(outcome_path, child_r);
	return child_r->exit_code == 0 ? 0 : -1;
}

int doveadm_migrate_child_run(const char *binary_name,
			      const char *const *args, bool echo,
			      struct doveadm_migrate_child *child_r)
{
	return doveadm_migrate_child_run_full(binary_name, args, echo, NULL,
					      child_r);
}

int doveadm_migrate_child_run_user(const char *user, const char *const *args,
				   bool echo,
				   struct doveadm_migrate_child *child_r)
{
	const char *dir = doveadm_migrate_state_dir();
	const char *path = NULL;

	if (mkdir_parents(dir, 0700) < 0 && errno != EEXIST)
		i_error("migrate: mkdir(%s) failed: %m", dir);
	else
		path = doveadm_migrate_user_file_path(user, ".outcome");
	return doveadm_migrate_child_run_full("doveadm", args, echo, path,
					      child_r);
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
