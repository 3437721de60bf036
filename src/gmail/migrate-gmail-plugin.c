/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "mail-user.h"
#include "mail-storage-hooks.h"
#include "migrate-gmail-folder.h"
#include "migrate-gmail-plugin.h"
#include "migrate-user-settings.h"

/* Gmail-aware migration: the work is migrate_gmail_sync()
   (migrate-gmail-sync.c), run by `doveadm migrate gmail` and by
   `doveadm migrate run` when this plugin is loaded. Loading it also
   checks its settings when a user is created, so a typo is reported
   before anything is copied. */

const char *migrate_gmail_plugin_version = DOVECOT_ABI_VERSION;

static void migrate_gmail_mail_user_created(struct mail_user *user)
{
	const char *value, *error;
	bool trash, junk;

	value = migrate_user_setting(user, "migrate_gmail_include");
	if (migrate_gmail_parse_include(value, &trash, &junk, &error) < 0) {
		e_error(user->event, "migrate_gmail: "
			"migrate_gmail_include: %s", error);
	}
}

static struct mail_storage_hooks migrate_gmail_mail_storage_hooks = {
	.mail_user_created = migrate_gmail_mail_user_created,
};

void migrate_gmail_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &migrate_gmail_mail_storage_hooks);
}

void migrate_gmail_plugin_deinit(void)
{
	mail_storage_hooks_remove(&migrate_gmail_mail_storage_hooks);
}
