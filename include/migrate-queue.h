#ifndef MIGRATE_QUEUE_H
#define MIGRATE_QUEUE_H

/* The on-login migration queue: one small file per waiting account in
   <migrate_state_dir>/queue, written by the mail processes (migrate_onlogin)
   and drained by doveadm migrate worker. The file is named after the user
   (migrate_queue_file_name()), so an account is queued at most once, and
   holds "key<TAB>value" lines (values tab-escaped) saying who and when;
   never a password. */

#define MIGRATE_QUEUE_DIR_NAME "queue"
#define MIGRATE_QUEUE_SUFFIX ".queue"

struct migrate_queue_entry {
	const char *user;
	/* when the user logged in */
	time_t queued;
	/* what the user logged in with ("imap", "pop3"), the session ID and
	   the client's IP; NULL when unknown */
	const char *service, *session_id, *remote_ip;
};

/* The file name of the user's queue entry (data stack): safe for any user
   name, and decoded back by migrate_queue_file_user(). */
const char *migrate_queue_file_name(const char *user);
/* The user of a queue file name. Returns FALSE for names that are not
   queue entries (temporary files, anything else in the directory). */
bool migrate_queue_file_user(const char *file_name, const char **user_r);

void migrate_queue_entry_append(string_t *dest,
				const struct migrate_queue_entry *entry);
/* Parse a queue file. Returns 0, or -1 if it has no user (error_r).
   Unknown keys are ignored. */
int migrate_queue_entry_parse(const char *data, pool_t pool,
			      struct migrate_queue_entry *entry_r,
			      const char **error_r);

/* Queue the entry in queue_dir: written to a temporary file (mode 0600)
   and renamed, so the worker never sees half a file. Not synced to disk:
   an entry lost in a crash is queued again at the user's next login. */
int migrate_queue_add(const char *queue_dir,
		      const struct migrate_queue_entry *entry,
		      const char **error_r);

#endif
