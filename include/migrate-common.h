#ifndef MIGRATE_COMMON_H
#define MIGRATE_COMMON_H

/* Things every dovecot-migrate module shares. */

#define MIGRATE_LOG_PREFIX "migrate: "

/* Default of the migrate_state_dir setting */
#define MIGRATE_DEFAULT_STATE_DIR "/var/lib/dovecot/migrate"
/* Default of migrate_pop3_size_connections: imapc's connection and one
   of migrate_pop3's, so the old server computes the IMAP sizes of a big
   mailbox on two cores (migrate check asks whether it allows a second
   login) */
#define MIGRATE_POP3_DEFAULT_SIZE_CONNECTIONS 2

/* Exit codes of the doveadm migrate commands (documented in
   docs/commands.md). They follow sysexits.h where one fits. */
enum migrate_exit_code {
	MIGRATE_EXIT_OK = 0,
	/* verify-uidl found differences / messages left unmatched */
	MIGRATE_EXIT_MISMATCH = 2,
	/* bad command line, bad CSV, missing or contradictory setting */
	MIGRATE_EXIT_CONFIG = 64,	/* EX_USAGE */
	/* the source refused the login (wrong password, unknown user) */
	MIGRATE_EXIT_AUTH = 77,		/* EX_NOPERM */
	/* the user doesn't exist on this (the destination) server */
	MIGRATE_EXIT_NOUSER = 67,	/* EX_NOUSER */
	/* the source could not be reached (refused, timeout, DNS, TLS) */
	MIGRATE_EXIT_UNREACHABLE = 69,	/* EX_UNAVAILABLE */
	/* the source's answer isn't valid IMAP/POP3 (garbage, corruption) */
	MIGRATE_EXIT_PROTOCOL = 76,	/* EX_PROTOCOL */
	/* temporary failure: retry later, resume will continue */
	MIGRATE_EXIT_TEMPFAIL = 75,	/* EX_TEMPFAIL */
	/* another run holds the user's lock */
	MIGRATE_EXIT_LOCKED = 73,	/* EX_CANTCREAT */
	/* internal error */
	MIGRATE_EXIT_SOFTWARE = 70,	/* EX_SOFTWARE */
};

#endif
