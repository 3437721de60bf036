/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "ioloop.h"
#include "mkdir-parents.h"
#include "write-full.h"
#include "file-lock.h"
#include "fd-util.h"
#include "master-service.h"
#include "doveadm-util.h"
#include "doveadm-settings.h"
#include "migrate-common.h"
#include "migrate-csv.h"
#include "migrate-file.h"
#include "migrate-outcome.h"
#include "migrate-settings.h"
#include "migrate-state.h"
#include "doveadm-migrate.h"

#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>
#include <glob.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* a temporary config younger than this may be one a batch has just
   written for a run that hasn't taken its lock yet */
#define MIGRATE_TMP_CLEANUP_AGE_SECS 60
/* !include levels followed when looking for passwords */
#define MIGRATE_CONF_MAX_INCLUDE_DEPTH 8
/* error lines of a child kept for the report */
#define MIGRATE_CHILD_MAX_ERRORS 8

const char *doveadm_migrate_conf_path(void)
{
	const char *path = master_service_get_config_path(master_service);
	const char *base_conf, *p;
	struct stat st;

	if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    (p = strrchr(path, '/')) != NULL) {
		/* a doveadm server reads its config from the config socket
		   in base_dir, where the master also links the config file
		   it uses */
		base_conf = t_strdup_printf("%s/dovecot.conf",
					    t_strdup_until(path, p));
		if (access(base_conf, R_OK) == 0)
			return base_conf;
	}
	return path;
}

const char *doveadm_migrate_state_dir(void)
{
	const char *dir = doveadm_plugin_getenv("migrate_state_dir");

	return dir == NULL || *dir == '\0' ? MIGRATE_DEFAULT_STATE_DIR : dir;
}

static const char *
doveadm_migrate_user_file_path(const char *user, const char *suffix)
{
	return t_strdup_printf("%s/%s", doveadm_migrate_state_dir(),
			       migrate_state_file_name(user, suffix));
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

static void doveadm_migrate_warn_readable(const char *path, const char *what)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & 0044) != 0) {
		i_warning("migrate: %s holds %s and is readable by group or "
			  "others: chmod 600 it", path, what);
	}
}

static void doveadm_migrate_conf_scan(const char *path, unsigned int depth);

static void
doveadm_migrate_conf_include(const char *dir, const char *pattern,
			     unsigned int depth)
{
	glob_t globbuf;
	size_t i;

	if (*pattern == '"')
		pattern = t_strcut(pattern + 1, '"');
	if (*pattern != '/')
		pattern = t_strconcat(dir, "/", pattern, NULL);
	if (glob(pattern, GLOB_BRACE, NULL, &globbuf) != 0)
		return;
	for (i = 0; i < globbuf.gl_pathc; i++)
		doveadm_migrate_conf_scan(globbuf.gl_pathv[i], depth + 1);
	globfree(&globbuf);
}

/* Warn about a config file (or a file it includes, or a "<file" value)
   that holds a password and that group or others may read. */
static void doveadm_migrate_conf_scan(const char *path, unsigned int depth)
{
	struct istream *input;
	const char *line, *p, *key, *value, *dir;
	size_t len;
	bool secret = FALSE;

	if (depth > MIGRATE_CONF_MAX_INCLUDE_DEPTH)
		return;
	p = strrchr(path, '/');
	dir = p == NULL ? "." : t_strdup_until(path, p);
	input = i_stream_create_file(path, 8192);
	while ((line = i_stream_read_next_line(input)) != NULL) T_BEGIN {
		line = t_str_trim(line, " \t");
		if (str_begins(line, "!include_try ") ||
		    str_begins(line, "!include ")) {
			p = t_str_trim(strchr(line, ' '), " \t");
			doveadm_migrate_conf_include(dir, p, depth);
		} else if ((p = strchr(line, '=')) != NULL) {
			key = t_str_trim(t_strdup_until(line, p), " \t");
			value = t_str_trim(p + 1, " \t");
			len = strlen(key);
			if (len >= 8 && strcmp(key + len - 8, "password") == 0 &&
			    *value != '\0') {
				if (*value == '<') {
					doveadm_migrate_warn_readable(
						t_str_trim(value + 1, " \t"),
						"a password");
				} else {
					secret = TRUE;
				}
			}
		}
	} T_END;
	i_stream_unref(&input);
	if (secret)
		doveadm_migrate_warn_readable(path, "passwords");
}

void doveadm_migrate_conf_check_secrets(void)
{
	T_BEGIN {
		doveadm_migrate_conf_scan(
			doveadm_migrate_conf_path(), 0);
	} T_END;
}

static const char *doveadm_migrate_conf_value(const char *value)
{
	string_t *str = t_str_new(64);
	const char *p;

	/* Dovecot expands %variables in user settings: keep them literal */
	str_append_c(str, '"');
	for (p = value; *p != '\0'; p++) {
		if (*p == '%')
			str_append(str, "%%");
		else if (*p == '"' || *p == '\\')
			str_printfa(str, "\\%c", *p);
		else
			str_append_c(str, *p);
	}
	str_append_c(str, '"');
	return str_c(str);
}

static void
doveadm_migrate_conf_line(string_t *conf, const char *key, const char *value)
{
	str_printfa(conf, "%s = %s\n", key, doveadm_migrate_conf_value(value));
}

int doveadm_migrate_conf_file_write(const char *user, const char *suffix,
				    const string_t *conf, pool_t pool,
				    const char **path_r, const char **error_r)
{
	const char *dir = t_strconcat(doveadm_migrate_state_dir(), "/tmp",
				      NULL);
	const char *path;
	int fd;

	if (mkdir_parents(dir, 0700) < 0 && errno != EEXIST) {
		*error_r = t_strdup_printf("mkdir(%s) failed: %m", dir);
		return -1;
	}
	path = t_strdup_printf("%s/%s", dir,
			       migrate_state_file_name(user, suffix));
	i_unlink_if_exists(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd == -1) {
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	if (write_full(fd, str_data(conf), str_len(conf)) < 0) {
		*error_r = t_strdup_printf("write(%s) failed: %m", path);
		i_close_fd(&fd);
		i_unlink(path);
		return -1;
	}
	i_close_fd(&fd);
	*path_r = p_strdup(pool, path);
	return 0;
}

int doveadm_migrate_account_conf_write(const char *base_conf,
				       const char *user,
				       const struct migrate_account *a,
				       bool remote, const char *suffix,
				       pool_t pool, const char **path_r,
				       const char **error_r)
{
	string_t *conf = t_str_new(512);

	str_printfa(conf, "# generated by doveadm migrate for %s, "
		    "removed when its run ends\n!include %s\n",
		    a->email, base_conf);
	doveadm_migrate_conf_line(conf, "imapc_user", a->email);
	doveadm_migrate_conf_line(conf, "pop3c_user", a->email);
	if (a->password != NULL) {
		str_append(conf, "imapc_master_user =\npop3c_master_user =\n");
		doveadm_migrate_conf_line(conf, "imapc_password", a->password);
		doveadm_migrate_conf_line(conf, "pop3c_password", a->password);
		if (remote) {
			/* what migrate run --backend hands on */
			str_append(conf, "plugin {\n");
			doveadm_migrate_conf_line(conf,
				"migrate_source_password", a->password);
			str_append(conf, "}\n");
		}
	}
	if (a->host != NULL) {
		doveadm_migrate_conf_line(conf, "imapc_host", a->host);
		doveadm_migrate_conf_line(conf, "pop3c_host", a->host);
	}
	if (a->port != 0)
		str_printfa(conf, "imapc_port = %u\n", a->port);
	switch (a->ssl) {
	case MIGRATE_CSV_SSL_DEFAULT:
		break;
	case MIGRATE_CSV_SSL_NO:
		str_append(conf, "imapc_ssl = no\npop3c_ssl = no\n");
		break;
	case MIGRATE_CSV_SSL_IMAPS:
		str_append(conf, "imapc_ssl = imaps\npop3c_ssl = pop3s\n");
		break;
	case MIGRATE_CSV_SSL_STARTTLS:
		str_append(conf, "imapc_ssl = starttls\npop3c_ssl = starttls\n");
		break;
	}

	return doveadm_migrate_conf_file_write(user, suffix, conf, pool,
					       path_r, error_r);
}

const char *doveadm_migrate_conf_get_all(const char *key)
{
	struct doveadm_migrate_child child;
	const char *args[] = {
		"doveconf", "-c", doveadm_migrate_conf_path(), "-h", key, NULL
	};
	const char *value;

	if (doveadm_migrate_child_run("doveconf", args, FALSE, &child) < 0)
		value = "";
	else
		value = t_strdup(str_c(child.output));
	doveadm_migrate_child_free(&child);
	return value;
}

const char *doveadm_migrate_conf_get(const char *key)
{
	return t_strcut(doveadm_migrate_conf_get_all(key), '\n');
}

const char *const *doveadm_migrate_conf_doveadm_plugins(void)
{
	/* doveadm read its settings for protocol doveadm */
	return t_strsplit_spaces(doveadm_settings->mail_plugins, " ");
}

void doveadm_migrate_conf_check_settings(const char *cmd_name,
					 const char *const *doveadm_plugins)
{
	const char *const *envs, *key, *suggestion;
	const struct migrate_setting_def *def;
	unsigned int i, count;

	if (!array_is_created(&doveadm_settings->plugin_envs))
		return;
	/* key, value, key, value, ... of the plugin section */
	envs = array_get(&doveadm_settings->plugin_envs, &count);
	for (i = 0; i + 1 < count; i += 2) {
		key = envs[i];
		if (!str_begins(key, "migrate_"))
			continue;
		def = migrate_setting_find(key);
		if (def == NULL) {
			suggestion = migrate_setting_suggest(key);
			i_warning("%s: unknown setting %s: it does nothing%s",
				  cmd_name, key, suggestion == NULL ? "" :
				  t_strdup_printf(" (did you mean %s?)",
						  suggestion));
		} else if (def->plugin != NULL &&
			   strcmp(def->plugin, "migrate_onlogin") != 0 &&
			   !str_array_find(doveadm_plugins, def->plugin)) {
			i_warning("%s: %s is set, but the %s plugin isn't "
				  "loaded (protocol doveadm { mail_plugins }): "
				  "it does nothing", cmd_name, key,
				  def->plugin);
		}
	}
}

int doveadm_migrate_user_file_read(const char *user, const char *suffix,
				   string_t **data_r, const char **error_r)
{
	return migrate_file_read(
		doveadm_migrate_user_file_path(user, suffix), data_r, error_r);
}

int doveadm_migrate_user_file_write(const char *user, const char *suffix,
				    const string_t *data, const char **error_r)
{
	const char *dir = doveadm_migrate_state_dir();

	if (mkdir_parents(dir, 0700) < 0 && errno != EEXIST) {
		*error_r = t_strdup_printf("mkdir(%s) failed: %m", dir);
		return -1;
	}
	/* readers (status) see the old or the new file, never half */
	return migrate_file_replace(
		doveadm_migrate_user_file_path(user, suffix), data, error_r);
}

int doveadm_migrate_state_read(const char *user, pool_t pool,
			       struct migrate_state *state_r,
			       const char **error_r)
{
	return doveadm_migrate_state_read_path(
		doveadm_migrate_user_file_path(user, ".state"), pool,
		state_r, error_r);
}

int doveadm_migrate_state_read_path(const char *path, pool_t pool,
				    struct migrate_state *state_r,
				    const char **error_r)
{
	string_t *str;
	int ret;

	if ((ret = migrate_file_read(path, &str, error_r)) <= 0)
		return ret;
	if (migrate_state_parse(str_c(str), pool, state_r, error_r) < 0) {
		*error_r = t_strdup_printf("%s: %s", path, *error_r);
		return -1;
	}
	return 1;
}

int doveadm_migrate_state_write(const struct migrate_state *state,
				const char **error_r)
{
	string_t *data = t_str_new(512);

	migrate_state_append(data, state);
	return doveadm_migrate_user_file_write(state->user, ".state", data,
					       error_r);
}

const char *doveadm_migrate_account_user(const struct migrate_account *account)
{
	return account->dest_user != NULL ? account->dest_user :
		account->email;
}

int doveadm_migrate_csv_read(const char *cmd_name, const char *path,
			     pool_t pool, bool skip_bad_lines,
			     ARRAY_TYPE(migrate_account) *accounts_r)
{
	ARRAY_TYPE(migrate_csv_error) errors;
	const struct migrate_csv_error *err;
	struct istream *input;
	struct stat st;
	const char *error;
	int ret;

	if (stat(path, &st) < 0) {
		i_error("%s: %s: stat() failed: %m", cmd_name, path);
		return MIGRATE_EXIT_CONFIG;
	}
	if ((st.st_mode & 0044) != 0) {
		i_warning("%s: %s is readable by group or others and may "
			  "hold passwords: chmod 600 it", cmd_name, path);
	}
	input = i_stream_create_file(path, 65536);
	p_array_init(accounts_r, pool, 64);
	p_array_init(&errors, pool, 8);
	ret = migrate_csv_parse(input, pool, accounts_r, &errors, &error);
	i_stream_unref(&input);
	if (ret < 0) {
		i_error("%s: %s: %s", cmd_name, path, error);
		return MIGRATE_EXIT_CONFIG;
	}
	array_foreach(&errors, err) {
		if (skip_bad_lines) {
			i_warning("%s: %s line %u: %s - skipped", cmd_name,
				  path, err->line, err->error);
		} else {
			i_error("%s: %s line %u: %s", cmd_name, path,
				err->line, err->error);
		}
	}
	if (array_count(&errors) > 0 && !skip_bad_lines) {
		i_error("%s: %s: %u bad lines, nothing started (fix them or "
			"use --skip-bad-lines)", cmd_name, path,
			array_count(&errors));
		return MIGRATE_EXIT_CONFIG;
	}
	return 0;
}

/* Is the lock of this state file name (the user's, escaped) free? */
static bool doveadm_migrate_lock_path_free(const char *lock_path)
{
	int fd, ret;

	fd = open(lock_path, O_RDWR);
	if (fd == -1)
		return errno == ENOENT;
	ret = flock(fd, LOCK_EX | LOCK_NB);
	i_close_fd(&fd);
	return ret == 0;
}

void doveadm_migrate_tmp_cleanup(const char *cmd_name)
{
	static const char *const suffixes[] = { ".run.conf", ".conf" };
	const char *state_dir = doveadm_migrate_state_dir();
	const char *dir = t_strconcat(state_dir, "/tmp", NULL);
	const char *path, *base;
	struct dirent *d;
	struct stat st;
	unsigned int i;
	size_t len;
	DIR *dirp;

	if ((dirp = opendir(dir)) == NULL) {
		if (errno != ENOENT)
			i_error("%s: opendir(%s) failed: %m", cmd_name, dir);
		return;
	}
	while ((d = readdir(dirp)) != NULL) T_BEGIN {
		len = strlen(d->d_name);
		base = NULL;
		for (i = 0; i < N_ELEMENTS(suffixes) && base == NULL; i++) {
			size_t slen = strlen(suffixes[i]);

			if (len > slen && strcmp(d->d_name + len - slen,
						 suffixes[i]) == 0)
				base = t_strndup(d->d_name, len - slen);
		}
		path = t_strdup_printf("%s/%s", dir, d->d_name);
		/* a file of a run that is going, or that a batch has just
		   written for a run it is starting, stays */
		if (base != NULL && stat(path, &st) == 0 &&
		    st.st_mtime < ioloop_time - MIGRATE_TMP_CLEANUP_AGE_SECS &&
		    doveadm_migrate_lock_path_free(t_strdup_printf("%s/%s.lock",
			state_dir, base))) {
			if (unlink(path) < 0 && errno != ENOENT) {
				i_error("%s: unlink(%s) failed: %m",
					cmd_name, path);
			} else {
				i_info("%s: removed %s, left by a run that "
				       "was killed", cmd_name, path);
			}
		}
	} T_END;
	if (closedir(dirp) < 0)
		i_error("%s: closedir(%s) failed: %m", cmd_name, dir);
}

int doveadm_migrate_lock(const char *user, bool try_only,
			 struct doveadm_migrate_lock *lock_r,
			 const char **error_r)
{
	const char *dir = doveadm_migrate_state_dir();
	struct file_lock_settings lock_set = {
		.lock_method = FILE_LOCK_METHOD_FLOCK,
	};
	int ret;

	i_zero(lock_r);
	lock_r->fd = -1;
	if (mkdir_parents(dir, 0700) < 0 && errno != EEXIST) {
		*error_r = t_strdup_printf("mkdir(%s) failed: %m", dir);
		return -1;
	}
	lock_r->path = i_strdup_printf("%s/%s", dir,
				       migrate_state_file_name(user, ".lock"));
	lock_r->fd = open(lock_r->path, O_RDWR | O_CREAT, 0600);
	if (lock_r->fd == -1) {
		*error_r = t_strdup_printf("open(%s) failed: %m",
					   lock_r->path);
		doveadm_migrate_unlock(lock_r);
		return -1;
	}
	/* the lock belongs to this process, not to its dsync child: if
	   the run is killed, status must see it as interrupted */
	fd_close_on_exec(lock_r->fd, TRUE);
	ret = file_try_lock(lock_r->fd, lock_r->path, F_WRLCK, &lock_set,
			    &lock_r->lock, error_r);
	if (ret <= 0) {
		doveadm_migrate_unlock(lock_r);
		return ret;
	}
	if (try_only)
		doveadm_migrate_unlock(lock_r);
	return 1;
}

void doveadm_migrate_unlock(struct doveadm_migrate_lock *lock)
{
	file_lock_free(&lock->lock);
	i_close_fd(&lock->fd);
	i_free(lock->path);
}
