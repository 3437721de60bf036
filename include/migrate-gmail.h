#ifndef MIGRATE_GMAIL_H
#define MIGRATE_GMAIL_H

/* What the migrate_gmail mail plugin offers the doveadm plugin. The
   doveadm plugin finds the function by name in the loaded mail plugin
   (module_get_symbol()), so it doesn't depend on the mail plugin being
   loaded and works without it for everything else. */

#define MIGRATE_GMAIL_MODULE_NAME "lib20_migrate_gmail_plugin"
#define MIGRATE_GMAIL_SYNC_SYMBOL "migrate_gmail_sync"

struct migrate_gmail_result {
	/* messages in All Mail (plus included Trash/Junk) */
	unsigned int messages;
	/* folder copies wanted on the destination: one per label folder a
	   message is in, one in the archive folder for label-less mail */
	unsigned int memberships;
	/* messages with no label folder, kept in the archive folder */
	unsigned int archived;
	/* bodies read from the source, and their size */
	unsigned int downloaded;
	uint64_t bytes_downloaded;
	/* folder copies made from a local copy instead of the source */
	unsigned int local_copies;
	/* folder copies that were there already (re-runs) */
	unsigned int present;
	/* copies whose flags/keywords were brought up to date */
	unsigned int flags_updated;
	/* copies removed because the label was removed at the source */
	unsigned int expunged;
	/* switched accounts: copies made by an earlier pass that the user
	   moved or deleted here, left so */
	unsigned int kept_away;
	/* source folders read, and skipped (views, excluded) */
	unsigned int folders, folders_skipped;
};

struct migrate_gmail_options {
	/* nothing is written; the result says what would be */
	bool dry_run;
	/* the account is switched (users work here): only copies the
	   ledger doesn't know are made (new mail, new labels at Gmail);
	   nothing here is removed, flagged or brought back */
	bool additive;
	/* with additive: a copy that is here already gets the flags and
	   keywords it lacks of the Gmail message's (added, never removed):
	   the pass after a killed one, whose copies may be here without
	   their flags */
	bool repair_flags;
};

/* Where the ledger of the copies a migration made is kept, in the
   destination user's home. */
#define MIGRATE_GMAIL_LEDGER_PATH "~/.dovecot-migrate/gmail-ledger"

/* Migrate the Gmail account behind src_user (an imapc: location) into
   dest_user. Returns 0 on success, -1 on failure with error_r and
   mail_error_r set. */
typedef int migrate_gmail_sync_func_t(struct mail_user *dest_user,
				      struct mail_user *src_user,
				      const struct migrate_gmail_options *options,
				      struct migrate_gmail_result *result_r,
				      enum mail_error *mail_error_r,
				      const char **error_r);

#endif
