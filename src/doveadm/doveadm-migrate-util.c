/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "ioloop.h"
#include "mkdir-parents.h"
#include "file-lock.h"
#include "master-service.h"
#include "doveadm-util.h"
#include "doveadm-mail.h"
#include "migrate-common.h"
#include "migrate-csv.h"
#include "migrate-file.h"
#include "migrate-settings.h"
#include "migrate-state.h"
#include "doveadm-migrate.h"

#include <unistd.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>

/* a temporary config younger than this may be one a batch has just
   written for a run that hasn't taken its lock yet */
#define MIGRATE_TMP_CLEANUP_AGE_SECS 60

const char *doveadm_migrate_setting(const char *name)
{
#ifdef MIGRATE_DOVECOT24
	return migrate_settings_lookup(
		master_service_get_event(master_service), name);
#else
	return doveadm_plugin_getenv(name);
#endif
}

#ifndef MIGRATE_DOVECOT24
static bool
doveadm_migrate_parse_arg_later(struct doveadm_mail_cmd_context *ctx ATTR_UNUSED,
				int c ATTR_UNUSED)
{
	/* init() reads it from the parameters */
	return TRUE;
}
#endif

void doveadm_migrate_mail_cmd_options(struct doveadm_mail_cmd_context *ctx,
				      const char *getopt_args)
{
#ifdef MIGRATE_DOVECOT24
	(void)ctx;
	(void)getopt_args;
#else
	ctx->getopt_args = getopt_args;
	ctx->v.parse_arg = doveadm_migrate_parse_arg_later;
#endif
}

bool doveadm_migrate_param_flag(const struct doveadm_cmd_context *cctx,
				const char *name)
{
	bool value;

	return doveadm_cmd_param_bool(cctx, name, &value) && value;
}

void doveadm_migrate_mailbox_options(struct doveadm_mail_cmd_context *ctx,
				     const char **mailbox_r,
				     bool *summary_only_r)
{
	const char *mailbox;

	if (doveadm_cmd_param_str(ctx->cctx, "mailbox", &mailbox))
		*mailbox_r = p_strdup(ctx->pool, mailbox);
	*summary_only_r = doveadm_migrate_param_flag(ctx->cctx,
						     "summary-only");
}

const char *doveadm_migrate_state_dir(void)
{
	const char *dir = doveadm_migrate_setting("migrate_state_dir");

	return dir == NULL || *dir == '\0' ? MIGRATE_DEFAULT_STATE_DIR : dir;
}

const char *
doveadm_migrate_user_file_path(const char *user, const char *suffix)
{
	return t_strdup_printf("%s/%s", doveadm_migrate_state_dir(),
			       migrate_state_file_name(user, suffix));
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
