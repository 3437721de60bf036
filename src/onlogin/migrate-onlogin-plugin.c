/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "ioloop.h"
#include "net.h"
#include "mail-user.h"
#include "mail-storage-hooks.h"
#include "migrate-common.h"
#include "migrate-state.h"
#include "migrate-queue.h"
#include "migrate-onlogin-plugin.h"
#include "migrate-user-settings.h"

#include <sys/stat.h>

/* migrate_onlogin: the first time a user logs in (IMAP or POP3) to this
   server, queue the migration of their mail from the old server for
   doveadm migrate worker. Only a few stat()s and one small file per
   first login: the login never waits for the migration, and an account
   that has a state file (being or already migrated) or a queue entry is
   never queued again. Nothing about the password is written anywhere:
   the worker logs in to the old server as a master user. */

const char *migrate_onlogin_plugin_version = DOVECOT_ABI_VERSION;

/* Returns TRUE if path exists; logs why not if that can't be told. */
static bool
migrate_onlogin_exists(struct mail_user *user, const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return TRUE;
	if (errno != ENOENT) {
		e_error(user->event, "migrate_onlogin: stat(%s) failed: %m "
			"(migrate_state_dir must be searchable by the mail "
			"user)", path);
	}
	return FALSE;
}

static void migrate_onlogin_queue(struct mail_user *user)
{
	struct migrate_queue_entry entry;
	const char *state_dir, *queue_dir, *error;

	state_dir = migrate_user_setting(user, "migrate_state_dir");
	if (state_dir == NULL || state_dir[0] == '\0')
		state_dir = MIGRATE_DEFAULT_STATE_DIR;
	queue_dir = t_strconcat(state_dir, "/", MIGRATE_QUEUE_DIR_NAME, NULL);

	if (migrate_onlogin_exists(user, t_strdup_printf("%s/%s", state_dir,
			migrate_state_file_name(user->username, ".state")))) {
		e_debug(user->event, "migrate_onlogin: already migrated "
			"or being migrated");
		return;
	}
	if (migrate_onlogin_exists(user, t_strdup_printf("%s/%s", queue_dir,
			migrate_queue_file_name(user->username)))) {
		e_debug(user->event, "migrate_onlogin: already queued");
		return;
	}

	i_zero(&entry);
	entry.user = user->username;
	entry.queued = ioloop_time;
	entry.service = user->service;
	entry.session_id = user->session_id;
	if (user->conn.remote_ip != NULL &&
	    user->conn.remote_ip->family != 0)
		entry.remote_ip = net_ip2addr(user->conn.remote_ip);
	if (migrate_queue_add(queue_dir, &entry, &error) < 0) {
		e_error(user->event, "migrate_onlogin: can't queue the "
			"migration from the old server: %s", error);
		return;
	}
	e_info(user->event, "migrate_onlogin: first login, migration from "
	       "the old server queued");
}

static void migrate_onlogin_mail_user_created(struct mail_user *user)
{
	const char *value;

	/* shared-namespace owners, and IMAP sessions coming back from
	   hibernation, are not logins */
	if (user->autocreated || user->session_restored)
		return;
	value = migrate_user_setting(user, "migrate_onlogin");
	if (value != NULL && (strcasecmp(value, "no") == 0 ||
			      strcmp(value, "0") == 0)) {
		e_debug(user->event, "migrate_onlogin: disabled for the user");
		return;
	}
	T_BEGIN {
		migrate_onlogin_queue(user);
	} T_END;
}

static struct mail_storage_hooks migrate_onlogin_mail_storage_hooks = {
	.mail_user_created = migrate_onlogin_mail_user_created,
};

void migrate_onlogin_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &migrate_onlogin_mail_storage_hooks);
}

void migrate_onlogin_plugin_deinit(void)
{
	mail_storage_hooks_remove(&migrate_onlogin_mail_storage_hooks);
}
