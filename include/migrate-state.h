#ifndef MIGRATE_STATE_H
#define MIGRATE_STATE_H

#include "migrate-progress.h"

/* The recorded state of one account's migration: a small text file per
   user in migrate_state_dir, replaced atomically, never holding a
   password. One "key<TAB>value" line per field (values tab-escaped), so
   an admin can read it and status can read it while a run goes on. */

enum migrate_state_status {
	MIGRATE_STATE_NONE = 0,
	MIGRATE_STATE_RUNNING,
	MIGRATE_STATE_FINISHED,
	MIGRATE_STATE_FAILED,
};

/* Where the account is in its lifecycle (see docs/admin-guide.md). Before
   the MX switch nobody works on this server's copy, so a pass mirrors the
   old server; once switched, users work here and every pass is one-way
   and additive. An account never goes back from switched. */
enum migrate_phase {
	MIGRATE_PHASE_MIRROR = 0,
	MIGRATE_PHASE_SWITCHED,
};

struct migrate_state {
	const char *user;
	enum migrate_state_status status;
	enum migrate_phase phase;
	/* when and why the account became switched (phase switched) */
	time_t switched;
	const char *switch_reason;
	/* a pass was killed: what it copied may be here without the old
	   server's flags until a pass after it gives them (migrate copy-new
	   --repair-flags, or a mirroring pass) */
	bool flags_unsure;
	time_t started, finished;
	pid_t pid;
	unsigned int runs;
	/* copied by the last run, and in the destination after it */
	uint64_t messages_copied, bytes_copied;
	uint64_t messages_total, bytes_total;
	int exit_code;
	const char *last_error;
	/* the doveadm HTTP API URL of the backend that ran it (migrate run
	   --backend), NULL if it ran here */
	const char *backend;
	/* the log file of the last run (its output and its doveadm
	   children's), NULL if none */
	const char *log_path;
	/* while running: how far the pass is (progress.updated != 0) */
	struct migrate_progress progress;
};

/* Parse a state file. Returns 0 on success, -1 if broken (error_r).
   Unknown keys are ignored (newer versions may add some). */
int migrate_state_parse(const char *data, pool_t pool,
			struct migrate_state *state_r, const char **error_r);
/* Append the state file contents for state. */
void migrate_state_append(string_t *dest, const struct migrate_state *state);

/* The format of state (and queue) files: one "key<TAB>value" line per
   field, the value tab-escaped; empty lines and "#" comments are skipped.
   migrate_state_kv_parse() calls field() for every line (it returns -1
   for an invalid value) and returns 0, or -1 with error_r naming the
   line. */
void migrate_state_kv_append(string_t *dest, const char *key,
			     const char *value);
int migrate_state_kv_parse(const char *data,
			   int (*field)(void *context, const char *key,
					const char *value),
			   void *context, const char **error_r);

const char *migrate_state_status_name(enum migrate_state_status status);
const char *migrate_phase_name(enum migrate_phase phase);
/* A file name for the user's state: safe for any user name. */
const char *migrate_state_file_name(const char *user, const char *suffix);

#endif
