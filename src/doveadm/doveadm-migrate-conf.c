/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "migrate-compat.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "mkdir-parents.h"
#include "write-full.h"
#include "master-service.h"
#include "settings-parser.h"
#ifdef MIGRATE_DOVECOT24
#  include "settings.h"
#  include "imapc-settings.h"
#  include "pop3c-settings.h"
#endif
#include "doveadm-util.h"
#include "doveadm-settings.h"
#include "migrate-common.h"
#include "migrate-file.h"
#include "migrate-settings.h"
#include "migrate-state.h"
#include "doveadm-migrate.h"

#include <unistd.h>
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>

/* The migration config as the migrate commands read and write it: its
   path, passwords readable by others, the accounts' temporary configs,
   settings read through doveconf, and the check of the migrate_*
   settings. */

/* !include levels followed when looking for passwords */
#define MIGRATE_CONF_MAX_INCLUDE_DEPTH 8

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

static void doveadm_migrate_warn_readable(const char *path, const char *what)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & 0044) != 0) {
		i_warning("migrate: %s holds %s and is readable by group or "
			  "others: chmod 600 it", path, what);
	}
}

static void doveadm_migrate_conf_scan(const char *path, unsigned int depth);

static bool doveadm_migrate_conf_key_is_secret(const char *key, size_t len)
{
	static const char *const suffixes[] = {
		"password", "client_secret", "refresh_token"
	};
	unsigned int i;
	size_t slen;

	for (i = 0; i < N_ELEMENTS(suffixes); i++) {
		slen = strlen(suffixes[i]);
		if (len >= slen && strcmp(key + len - slen, suffixes[i]) == 0)
			return TRUE;
	}
	return FALSE;
}

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
		if (str_begins_with(line, "!include_try ") ||
		    str_begins_with(line, "!include ")) {
			p = t_str_trim(strchr(line, ' '), " \t");
			doveadm_migrate_conf_include(dir, p, depth);
		} else if ((p = strchr(line, '=')) != NULL) {
			key = t_str_trim(t_strdup_until(line, p), " \t");
			value = t_str_trim(p + 1, " \t");
			len = strlen(key);
			if (doveadm_migrate_conf_key_is_secret(key, len) &&
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

void doveadm_migrate_conf_setting_append(string_t *conf, const char *key,
					 const char *value)
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

/* Dovecot 2.4 wants dovecot_config_version as the first setting of the
   file it reads, with the value the included config has: the base
   config's first setting line. */
void doveadm_migrate_conf_version_append(string_t *conf,
					 const char *base_conf)
{
#ifdef MIGRATE_DOVECOT24
	struct istream *input;
	const char *line;

	input = i_stream_create_file(base_conf, 8192);
	while ((line = i_stream_read_next_line(input)) != NULL) {
		line = t_str_trim(line, " \t");
		if (*line == '\0' || *line == '#')
			continue;
		if (str_begins_with(line, "dovecot_config_version"))
			str_printfa(conf, "%s\n", line);
		break;
	}
	i_stream_unref(&input);
#else
	(void)conf;
	(void)base_conf;
#endif
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
		    "removed when its run ends\n", a->email);
	doveadm_migrate_conf_version_append(conf, base_conf);
	str_printfa(conf, "!include %s\n", base_conf);
	doveadm_migrate_conf_setting_append(conf, "imapc_user", a->email);
	doveadm_migrate_conf_setting_append(conf, "pop3c_user", a->email);
	if (a->password != NULL) {
		str_append(conf, "imapc_master_user =\npop3c_master_user =\n");
		doveadm_migrate_conf_setting_append(conf, "imapc_password",
						    a->password);
		doveadm_migrate_conf_setting_append(conf, "pop3c_password",
						    a->password);
		if (remote) {
			/* what migrate run --backend hands on */
#ifndef MIGRATE_DOVECOT24
			str_append(conf, "plugin {\n");
#endif
			doveadm_migrate_conf_setting_append(conf,
				"migrate_source_password", a->password);
#ifndef MIGRATE_DOVECOT24
			str_append(conf, "}\n");
#endif
		}
	}
	if (a->refresh_token != NULL) {
		/* the run turns it into access tokens (migrate_oauth2_*) */
#ifndef MIGRATE_DOVECOT24
		str_append(conf, "plugin {\n");
#endif
		doveadm_migrate_conf_setting_append(conf,
			"migrate_oauth2_refresh_token", a->refresh_token);
#ifndef MIGRATE_DOVECOT24
		str_append(conf, "}\n");
#endif
	}
	if (a->host != NULL) {
		doveadm_migrate_conf_setting_append(conf, "imapc_host",
						    a->host);
		doveadm_migrate_conf_setting_append(conf, "pop3c_host",
						    a->host);
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

void doveadm_migrate_conf_server(const char *proto, const char **host_r,
				 const char **port_r)
{
#ifdef MIGRATE_DOVECOT24
	struct event *event = master_service_get_event(master_service);
	const char *error;

	*host_r = *port_r = "";
	if (strcmp(proto, "imapc") == 0) {
		const struct imapc_settings *set;

		if (settings_get(event, &imapc_setting_parser_info, 0,
				 &set, &error) < 0)
			return;
		*host_r = t_strdup(set->imapc_host);
		*port_r = set->imapc_port == 0 ? "" : dec2str(set->imapc_port);
		settings_free(set);
	} else {
		const struct pop3c_settings *set;

		if (settings_get(event, &pop3c_setting_parser_info, 0,
				 &set, &error) < 0)
			return;
		*host_r = t_strdup(set->pop3c_host);
		*port_r = set->pop3c_port == 0 ? "" : dec2str(set->pop3c_port);
		settings_free(set);
	}
#else
	*host_r = doveadm_migrate_conf_get(t_strconcat(proto, "_host", NULL));
	*port_r = doveadm_migrate_conf_get(t_strconcat(proto, "_port", NULL));
#endif
}

const char *const *doveadm_migrate_conf_doveadm_plugins(void)
{
	/* doveadm read its settings for protocol doveadm */
#ifdef MIGRATE_DOVECOT24
	return settings_boollist_get(&doveadm_settings->mail_plugins);
#else
	return t_strsplit_spaces(doveadm_settings->mail_plugins, " ");
#endif
}

/* A setting of a mail plugin doveadm doesn't load does nothing: say so
   (migrate_onlogin's are read by the IMAP/POP3 logins, not doveadm). */
static void
doveadm_migrate_conf_check_plugin(const char *cmd_name,
				  const struct migrate_setting_def *def,
				  const char *const *doveadm_plugins)
{
	if (def->plugin != NULL &&
	    strcmp(def->plugin, "migrate_onlogin") != 0 &&
	    !str_array_find(doveadm_plugins, def->plugin)) {
		i_warning("%s: %s is set, but the %s plugin isn't loaded "
			  "(protocol doveadm { mail_plugins }): it does "
			  "nothing", cmd_name, def->name, def->plugin);
	}
}

void doveadm_migrate_conf_check_settings(const char *cmd_name,
					 const char *const *doveadm_plugins)
{
#ifdef MIGRATE_DOVECOT24
	/* Dovecot 2.4 knows the migrate_* settings (src/settings): its config
	   parser refuses an unknown one and checks every value. What is
	   left: a setting of a plugin doveadm doesn't load. */
	const struct migrate_settings *set;
	const char *error;
	unsigned int i;

	if (settings_get(master_service_get_event(master_service),
			 &migrate_setting_parser_info, 0, &set, &error) < 0)
		i_fatal("%s", error);
	for (i = 0; i < MIGRATE_SETTING_COUNT; i++) {
		if (set->values[i][0] != '\0') {
			doveadm_migrate_conf_check_plugin(cmd_name,
				&migrate_setting_defs[i], doveadm_plugins);
		}
	}
	settings_free(set);
#else
	const char *const *envs, *key, *suggestion;
	const struct migrate_setting_def *def;
	unsigned int i, count;

	if (!array_is_created(&doveadm_settings->plugin_envs))
		return;
	/* key, value, key, value, ... of the plugin section */
	envs = array_get(&doveadm_settings->plugin_envs, &count);
	for (i = 0; i + 1 < count; i += 2) {
		key = envs[i];
		if (!str_begins_with(key, "migrate_"))
			continue;
		def = migrate_setting_find(key);
		if (def == NULL) {
			suggestion = migrate_setting_suggest(key);
			i_warning("%s: unknown setting %s: it does nothing%s",
				  cmd_name, key, suggestion == NULL ? "" :
				  t_strdup_printf(" (did you mean %s?)",
						  suggestion));
		} else {
			doveadm_migrate_conf_check_plugin(cmd_name, def,
							  doveadm_plugins);
		}
	}
#endif
}
