/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "wildcard-match.h"
#include "mail-namespace.h"
#include "mail-storage-settings.h"
#include "mail-user.h"
#include "migrate-gmail-folder.h"
#include "doveadm-migrate.h"
#include "migrate-user-settings.h"

/* What a migration does with each folder of the old server, for the
   commands that look at an account without copying it (check, verify):
   the same rules as dsync's -x and as migrate gmail. */

int doveadm_migrate_folder_plan_init(struct mail_user *user, bool gmail,
				     const char *const *excludes,
				     struct doveadm_migrate_folder_plan *plan_r,
				     const char **error_r)
{
	struct mail_namespace *dest_ns;
	const char *value;

	i_zero(plan_r);
	plan_r->gmail = gmail;
	plan_r->excludes = excludes;
	if (!gmail)
		return 0;

	value = migrate_user_setting(user, "migrate_gmail_include");
	if (migrate_gmail_parse_include(value, &plan_r->include_trash,
					&plan_r->include_junk, error_r) < 0) {
		*error_r = t_strdup_printf("migrate_gmail_include: %s",
					   *error_r);
		return -1;
	}
	value = migrate_user_setting(user, "migrate_gmail_archive_folder");
	plan_r->archive = value == NULL || *value == '\0' ?
		MIGRATE_GMAIL_DEFAULT_ARCHIVE : value;
	dest_ns = mail_namespace_find_inbox(user->namespaces);
	if (dest_ns != NULL) {
		plan_r->mailboxes = migrate_namespace_special_use_folders(
			dest_ns, &plan_r->mailbox_count);
	}
	return 0;
}

/* dsync's -x: a mailbox name pattern, or a SPECIAL-USE flag */
static bool
doveadm_migrate_folder_excluded(const struct doveadm_migrate_folder_plan *plan,
				const char *vname, const char *special_use)
{
	const char *const *exclude, *const *flags;

	if (plan->excludes == NULL)
		return FALSE;
	flags = t_strsplit_spaces(special_use == NULL ? "" : special_use, " ");
	for (exclude = plan->excludes; *exclude != NULL; exclude++) {
		if (**exclude == '\\' ?
		    str_array_icase_find(flags, *exclude) :
		    wildcard_match(vname, *exclude))
			return TRUE;
	}
	return FALSE;
}

enum doveadm_migrate_folder_action
doveadm_migrate_folder_action(const struct doveadm_migrate_folder_plan *plan,
			      const char *vname, const char *special_use,
			      const char **dest_vname_r)
{
	enum migrate_gmail_folder_kind kind;

	*dest_vname_r = vname;
	if (doveadm_migrate_folder_excluded(plan, vname, special_use))
		return DOVEADM_MIGRATE_FOLDER_EXCLUDED;
	if (!plan->gmail)
		return DOVEADM_MIGRATE_FOLDER_COPY;

	kind = migrate_gmail_folder_classify(special_use);
	switch (kind) {
	case MIGRATE_GMAIL_FOLDER_ALL:
		*dest_vname_r = plan->archive;
		return DOVEADM_MIGRATE_FOLDER_GMAIL_ALL;
	case MIGRATE_GMAIL_FOLDER_VIEW:
		return DOVEADM_MIGRATE_FOLDER_GMAIL_VIEW;
	case MIGRATE_GMAIL_FOLDER_TRASH:
	case MIGRATE_GMAIL_FOLDER_JUNK:
		if (!(kind == MIGRATE_GMAIL_FOLDER_TRASH ?
		      plan->include_trash : plan->include_junk))
			return DOVEADM_MIGRATE_FOLDER_GMAIL_SKIPPED;
		/* fall through */
	case MIGRATE_GMAIL_FOLDER_SENT:
	case MIGRATE_GMAIL_FOLDER_DRAFTS:
		*dest_vname_r = migrate_gmail_folder_dest_name(kind,
			plan->mailboxes, plan->mailbox_count);
		return DOVEADM_MIGRATE_FOLDER_COPY;
	case MIGRATE_GMAIL_FOLDER_LABEL:
		break;
	}
	return DOVEADM_MIGRATE_FOLDER_COPY;
}

const char *
doveadm_migrate_folder_action_str(enum doveadm_migrate_folder_action action,
				  const char *vname, const char *dest_vname)
{
	switch (action) {
	case DOVEADM_MIGRATE_FOLDER_COPY:
		return strcmp(vname, dest_vname) == 0 ? "copied" :
			t_strdup_printf("copied into %s", dest_vname);
	case DOVEADM_MIGRATE_FOLDER_GMAIL_ALL:
		return t_strdup_printf("read: its mail in no label goes to %s",
				       dest_vname);
	case DOVEADM_MIGRATE_FOLDER_GMAIL_VIEW:
		return "skipped: a Gmail view (its state becomes flags)";
	case DOVEADM_MIGRATE_FOLDER_GMAIL_SKIPPED:
		return "skipped: not in migrate_gmail_include";
	case DOVEADM_MIGRATE_FOLDER_EXCLUDED:
		return "excluded (-x)";
	}
	i_unreached();
}
