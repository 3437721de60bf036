/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "mail-user.h"
#include "mail-storage-hooks.h"
#include "migrate-gmail-plugin.h"

/* Gmail-aware imapc source. This module loads and validates its settings;
   the label-folder linking is added by the migrate_gmail work (see
   docs/gmail.md for the state of each feature). */

const char *migrate_gmail_plugin_version = DOVECOT_ABI_VERSION;

static void migrate_gmail_mail_user_created(struct mail_user *user)
{
	const char *value;

	value = mail_user_plugin_getenv(user, "migrate_gmail_archive_folder");
	e_debug(user->event, "migrate_gmail: archive folder %s",
		value == NULL ? "(default)" : value);
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
