#ifndef MIGRATE_GMAIL_LEDGER_H
#define MIGRATE_GMAIL_LEDGER_H

/* The folder copies the Gmail migration made: which Gmail message (its
   X-GM-MSGID) it put into which destination folder. Once an account is
   switched, a copy that is in the ledger but no longer in its folder was
   moved or deleted by the user here, and is never brought back; only
   copies the ledger doesn't know (mail that is new at Gmail, or newly
   labelled there) are made. Kept in the user's home as a text file:

     # dovecot-migrate Gmail ledger
     V1
     F TAB <destination folder, tab-escaped>
     <X-GM-MSGID>
     ...
*/

struct migrate_gmail_ledger;

struct migrate_gmail_ledger *migrate_gmail_ledger_init(void);
void migrate_gmail_ledger_deinit(struct migrate_gmail_ledger **ledger);

/* Add the copies of a ledger file's contents. Returns 0, or -1 with
   error_r if it is broken. */
int migrate_gmail_ledger_parse(struct migrate_gmail_ledger *ledger,
			       const char *data, const char **error_r);
/* The whole ledger in the file format, folders and ids sorted. */
void migrate_gmail_ledger_append(string_t *dest,
				 const struct migrate_gmail_ledger *ledger);

bool migrate_gmail_ledger_has(const struct migrate_gmail_ledger *ledger,
			      const char *folder, const char *msgid);
void migrate_gmail_ledger_add(struct migrate_gmail_ledger *ledger,
			      const char *folder, const char *msgid);
/* Forget a folder's copies (a mirroring pass records them anew). */
void migrate_gmail_ledger_clear_folder(struct migrate_gmail_ledger *ledger,
				       const char *folder);
unsigned int
migrate_gmail_ledger_count(const struct migrate_gmail_ledger *ledger);

#endif
