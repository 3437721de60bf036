#ifndef MIGRATE_GMAIL_FOLDER_H
#define MIGRATE_GMAIL_FOLDER_H

/* Gmail folder rules that need no storage: what a folder of Gmail's LIST
   is, from its SPECIAL-USE flags, and how Gmail's message ids become GUIDs,
   POP3 UIDLs and label keywords on the destination. */

/* A folder of the destination's namespace config and its SPECIAL-USE
   flags (space separated, "" for none) */
struct migrate_special_use_folder {
	const char *name;
	const char *special_use;
};

/* Default of migrate_gmail_archive_folder: where mail in no label folder
   goes */
#define MIGRATE_GMAIL_DEFAULT_ARCHIVE "Archive"

enum migrate_gmail_folder_kind {
	/* INBOX or a user label: copied under its own name */
	MIGRATE_GMAIL_FOLDER_LABEL = 0,
	/* \All ("[Gmail]/All Mail"): read for archived (label-less) mail,
	   never copied as a folder */
	MIGRATE_GMAIL_FOLDER_ALL,
	/* \Flagged (Starred), \Important: views of other folders' mail,
	   their state becomes the \Flagged flag / a keyword */
	MIGRATE_GMAIL_FOLDER_VIEW,
	/* \Sent, \Drafts: copied into the destination's folder of the same
	   SPECIAL-USE */
	MIGRATE_GMAIL_FOLDER_SENT,
	MIGRATE_GMAIL_FOLDER_DRAFTS,
	/* \Trash, \Junk: their mail is outside All Mail; skipped unless
	   migrate_gmail_include names them */
	MIGRATE_GMAIL_FOLDER_TRASH,
	MIGRATE_GMAIL_FOLDER_JUNK,
};

/* Which kind a folder is, from its SPECIAL-USE flags (space-separated,
   e.g. "\\All" or "\\Sent"; NULL or "" for none). */
enum migrate_gmail_folder_kind
migrate_gmail_folder_classify(const char *special_use);
/* The SPECIAL-USE flag the destination folder of a kind has, or NULL
   (labels keep their name; \All and views are not copied). */
const char *migrate_gmail_folder_special_use(enum migrate_gmail_folder_kind kind);
/* The destination folder of a \Sent, \Drafts, \Trash or \Junk folder:
   the first of the destination namespace's configured folders (count of
   them) with that SPECIAL-USE, else the flag's name ("Sent"). */
const char *
migrate_gmail_folder_dest_name(enum migrate_gmail_folder_kind kind,
			       const struct migrate_special_use_folder *folders,
			       unsigned int count);

/* Parse migrate_gmail_include: words among \Trash and \Junk (also "Trash",
   "Junk", "Spam", case-insensitive). Returns -1 with error_r for others. */
int migrate_gmail_parse_include(const char *value, bool *trash_r,
				bool *junk_r, const char **error_r);

/* TRUE if guid is an X-GM-MSGID as imapc gives it: a decimal 64-bit
   number. Mail delivered by Dovecot has 128-bit hex GUIDs or maildir
   base names, never this, so it tells migrated Gmail mail apart. */
bool migrate_gmail_guid_is_msgid(const char *guid);
/* The POP3 UIDL Dovecot's gmail-migration gives a message:
   "GmailId" + the message id in lowercase hex. NULL if not a msgid. */
const char *migrate_gmail_pop3_uidl(const char *msgid);
/* A valid IMAP keyword for a label folder's name (UTF-8 vname): the
   name in modified UTF-7 with characters not allowed in an atom turned
   into '_'. */
const char *migrate_gmail_label_keyword(const char *vname);

#endif
