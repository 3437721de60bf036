#ifndef MIGRATE_OUTCOME_H
#define MIGRATE_OUTCOME_H

#include "mail-error.h"

/* What happened in one doveadm child of migrate run (dsync, a login
   check), told by the plugins that ran inside it from Dovecot's own state
   (the imapc/pop3c login result, the storage error code, the event
   category of a logged error) instead of being guessed from its log
   lines. migrate run opens <migrate_state_dir>/<user>.outcome, hands the
   child its descriptor (-o plugin/migrate_outcome_fd=N) and reads the
   file once the child has exited; the file stays as the record of the
   last child.

   One record per line, tab-separated and tab-escaped:

     <kind> TAB <where> TAB <code> TAB <text>

   kind   login      a login to the old server failed; code: refused
                     (the server said NO/BAD), disconnected (no answer:
                     unreachable, TLS, dropped), in-use
          storage    a storage operation failed; code: Dovecot's
                     MAIL_ERROR_* name in lower case (noquota, temp, perm,
                     notfound, ...)
          log        an error was logged; code: error or fatal
          recopy     dsync deleted a mailbox here to copy it again
                     (text: the mailbox)
          unmatched  migrate_pop3 left messages without a UIDL
                     (code: how many, text: the mailbox)
          server     the old server the child talked to (code:
                     host:port, as the user's settings have it)
          config     the account can't be migrated as configured (code:
                     folder-map: the old folders can't be given names
                     here, text: which and how to resolve it)
   where  here (this server: its storage, its userdb), imap (the old
          server's IMAP, imapc), pop3 (its POP3, pop3c), or "" (not known)

   Records of a kind this version doesn't know are skipped. */

enum migrate_outcome_kind {
	MIGRATE_OUTCOME_LOGIN,
	MIGRATE_OUTCOME_STORAGE,
	MIGRATE_OUTCOME_LOG,
	MIGRATE_OUTCOME_RECOPY,
	MIGRATE_OUTCOME_UNMATCHED,
	MIGRATE_OUTCOME_SERVER,
	MIGRATE_OUTCOME_CONFIG,

	MIGRATE_OUTCOME_KIND_COUNT
};

enum migrate_outcome_where {
	MIGRATE_OUTCOME_UNKNOWN = 0,
	MIGRATE_OUTCOME_HERE,
	MIGRATE_OUTCOME_IMAP,
	MIGRATE_OUTCOME_POP3,
};

/* login codes */
#define MIGRATE_OUTCOME_LOGIN_REFUSED "refused"
#define MIGRATE_OUTCOME_LOGIN_DISCONNECTED "disconnected"
#define MIGRATE_OUTCOME_LOGIN_IN_USE "in-use"
/* config codes */
#define MIGRATE_OUTCOME_CONFIG_FOLDER_MAP "folder-map"

struct migrate_outcome_record {
	enum migrate_outcome_kind kind;
	enum migrate_outcome_where where;
	const char *code;
	const char *text;
};
ARRAY_DEFINE_TYPE(migrate_outcome_record, struct migrate_outcome_record);

/* What a finished child means for the run. */
struct migrate_outcome_result {
	/* MIGRATE_EXIT_* */
	int exit_code;
	/* whose fault: HERE, IMAP or POP3 (UNKNOWN: the old server, but
	   which of its protocols isn't known) */
	enum migrate_outcome_where where;
	/* what an admin reads: "login refused (wrong password or unknown
	   user)", "no space left or over quota: ..." */
	const char *cause;
	/* the line of Dovecot's that says so */
	const char *detail;
	/* this server's storage failed for now in a way it repairs itself
	   (e.g. sdbox rebuilding its index after a killed save): another
	   pass may well succeed */
	bool retry_may_help;
	/* the old server answered that it is busy or throttling: another
	   pass after a wait goes on where this one stopped */
	bool source_busy;
	/* the wait it asked for ("Suggested Backoff Time"), 0 if none */
	unsigned int busy_wait_secs;
};

/* Append one record line (with its LF) to dest. */
void migrate_outcome_append(string_t *dest,
			    const struct migrate_outcome_record *rec);
/* Write one record line to fd with a single write(), so that records of
   several writers (O_APPEND) don't mix. Errors are ignored: the outcome
   only explains a failure, it never causes one. */
void migrate_outcome_write(int fd, const struct migrate_outcome_record *rec);
/* Parse an outcome file. Returns 0, or -1 with error_r on a line that
   can't be read. */
int migrate_outcome_parse(const char *data, pool_t pool,
			  ARRAY_TYPE(migrate_outcome_record) *records,
			  const char **error_r);

/* The value of plugin/migrate_outcome_fd as a descriptor, or -1 if unset
   or not a number. */
int migrate_outcome_fd_parse(const char *value);
/* "noquota" for MAIL_ERROR_NOQUOTA etc. */
const char *migrate_outcome_mail_error_name(enum mail_error error);

/* The "host:port" of the old server's IMAP or POP3 the child recorded,
   or NULL. */
const char *
migrate_outcome_server(const ARRAY_TYPE(migrate_outcome_record) *records,
		       enum migrate_outcome_where where);

/* What an exit code of the migrate commands (MIGRATE_EXIT_*) means, in a
   few words: "login refused", "unreachable", ... */
const char *migrate_exit_code_name(int exit_code);

/* Judge a child that failed (exit code != 0, or error lines): from its
   records first, then from its exit code (doveadm's sysexits: 67 unknown
   user here, 64/78 settings, >= 128 a signal), and only to tell
   connection failures apart (TLS, refused, timeout, DNS, garbage) from
   the text of the old server's errors. error_lines are the child's
   logged error lines (without the "Error: " prefix), oldest first. */
void migrate_outcome_classify(const ARRAY_TYPE(migrate_outcome_record) *records,
			      const char *const *error_lines, int exit_code,
			      struct migrate_outcome_result *result_r);

#endif
