#ifndef MIGRATE_USER_SETTINGS_H
#define MIGRATE_USER_SETTINGS_H

#include "array.h"
#include "settings-parser.h"
#include "mail-user.h"
#include "mail-namespace.h"
#include "mail-storage-settings.h"
#include "migrate-gmail-folder.h"
#include "migrate-settings.h"

/* What the storage plugins and the doveadm mail commands read of a mail
   user's config, the same way on Dovecot 2.3 and 2.4. */

/* A mail user's migrate_* setting: plugin {} (and userdb fields) on
   Dovecot 2.3, the declared settings on 2.4. NULL or "" when unset. */
static inline const char *
migrate_user_setting(struct mail_user *user, const char *name)
{
#ifdef MIGRATE_DOVECOT24
	return migrate_settings_lookup(user->event, name);
#else
	return mail_user_plugin_getenv(user, name);
#endif
}

/* A yes/no setting as Dovecot 2.3 reads them: TRUE when set and not
   starting with n, N, 0, f or F. */
static inline bool
migrate_user_setting_bool(struct mail_user *user, const char *name)
{
#ifdef MIGRATE_DOVECOT24
	const char *value = migrate_user_setting(user, name);

	return value != NULL && strchr("nN0fF", value[0]) == NULL;
#else
	return mail_user_plugin_getenv_bool(user, name);
#endif
}

/* The folders the namespace's config names (mailbox NAME {}), with their
   SPECIAL-USE flags, allocated from the data stack. */
static inline const struct migrate_special_use_folder *
migrate_namespace_special_use_folders(struct mail_namespace *ns,
				      unsigned int *count_r)
{
	ARRAY(struct migrate_special_use_folder) folders;
	struct migrate_special_use_folder *folder;
	const struct mailbox_settings *box_set;

	t_array_init(&folders, 8);
#ifdef MIGRATE_DOVECOT24
	if (array_is_created(&ns->set->parsed_mailboxes)) {
		array_foreach_elem(&ns->set->parsed_mailboxes, box_set) {
			folder = array_append_space(&folders);
			folder->name = box_set->name;
			folder->special_use = t_strarray_join(
				settings_boollist_get(&box_set->special_use),
				" ");
		}
	}
#else
	struct mailbox_settings *const *box_setp;

	if (array_is_created(&ns->set->mailboxes)) {
		array_foreach(&ns->set->mailboxes, box_setp) {
			box_set = *box_setp;
			folder = array_append_space(&folders);
			folder->name = box_set->name;
			folder->special_use = box_set->special_use;
		}
	}
#endif
	return array_get(&folders, count_r);
}

#endif
