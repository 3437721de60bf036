/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "strescape.h"
#include "write-full.h"
#include "mail-error.h"
#include "strnum.h"
#include "migrate-common.h"
#include "migrate-compat.h"
#include "migrate-outcome.h"

#include <unistd.h>

static const char *const
migrate_outcome_kind_names[MIGRATE_OUTCOME_KIND_COUNT] = {
	[MIGRATE_OUTCOME_LOGIN] = "login",
	[MIGRATE_OUTCOME_STORAGE] = "storage",
	[MIGRATE_OUTCOME_LOG] = "log",
	[MIGRATE_OUTCOME_RECOPY] = "recopy",
	[MIGRATE_OUTCOME_UNMATCHED] = "unmatched",
	[MIGRATE_OUTCOME_SERVER] = "server",
	[MIGRATE_OUTCOME_CONFIG] = "config",
};

static const char *const migrate_outcome_where_names[] = {
	[MIGRATE_OUTCOME_UNKNOWN] = "",
	[MIGRATE_OUTCOME_HERE] = "here",
	[MIGRATE_OUTCOME_IMAP] = "imap",
	[MIGRATE_OUTCOME_POP3] = "pop3",
};

void migrate_outcome_append(string_t *dest,
			    const struct migrate_outcome_record *rec)
{
	i_assert(rec->kind < MIGRATE_OUTCOME_KIND_COUNT);
	i_assert(rec->where < N_ELEMENTS(migrate_outcome_where_names));

	str_append(dest, migrate_outcome_kind_names[rec->kind]);
	str_append_c(dest, '\t');
	str_append(dest, migrate_outcome_where_names[rec->where]);
	str_append_c(dest, '\t');
	str_append_tabescaped(dest, rec->code == NULL ? "" : rec->code);
	str_append_c(dest, '\t');
	/* one line per record: a multi-line text is cut at its first LF */
	str_append_tabescaped(dest, rec->text == NULL ? "" :
			      t_strcut(rec->text, '\n'));
	str_append_c(dest, '\n');
}

void migrate_outcome_write(int fd, const struct migrate_outcome_record *rec)
{
	if (fd < 0)
		return;
	T_BEGIN {
		string_t *line = t_str_new(128);

		migrate_outcome_append(line, rec);
		/* a write() of one line to an O_APPEND file isn't mixed
		   with another writer's */
		(void)write_full(fd, str_data(line), str_len(line));
	} T_END;
}

static bool
migrate_outcome_name_lookup(const char *const *names, unsigned int count,
			    const char *name, unsigned int *idx_r)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (strcmp(names[i], name) == 0) {
			*idx_r = i;
			return TRUE;
		}
	}
	return FALSE;
}

int migrate_outcome_parse(const char *data, pool_t pool,
			  ARRAY_TYPE(migrate_outcome_record) *records,
			  const char **error_r)
{
	const char *const *lines, *const *args;
	struct migrate_outcome_record *rec;
	unsigned int i, kind, where;

	p_array_init(records, pool, 8);
	lines = t_strsplit(data, "\n");
	for (i = 0; lines[i] != NULL; i++) {
		if (lines[i][0] == '\0')
			continue;
		args = t_strsplit_tabescaped(lines[i]);
		if (str_array_length(args) != 4 ||
		    !migrate_outcome_name_lookup(migrate_outcome_where_names,
			N_ELEMENTS(migrate_outcome_where_names), args[1],
			&where)) {
			*error_r = t_strdup_printf("line %u: broken record", i + 1);
			return -1;
		}
		if (!migrate_outcome_name_lookup(migrate_outcome_kind_names,
				N_ELEMENTS(migrate_outcome_kind_names),
				args[0], &kind)) {
			/* written by a newer version */
			continue;
		}
		rec = array_append_space(records);
		rec->kind = kind;
		rec->where = where;
		rec->code = p_strdup(pool, args[2]);
		rec->text = p_strdup(pool, args[3]);
	}
	return 0;
}

int migrate_outcome_fd_parse(const char *value)
{
	unsigned int fd;

	if (value == NULL || str_to_uint(value, &fd) < 0 || fd > INT_MAX ||
	    fd <= STDERR_FILENO)
		return -1;
	return (int)fd;
}

const char *migrate_outcome_mail_error_name(enum mail_error error)
{
	switch (error) {
	case MAIL_ERROR_NONE:
		return "none";
	case MAIL_ERROR_TEMP:
		return "temp";
	case MAIL_ERROR_NOTPOSSIBLE:
		return "notpossible";
	case MAIL_ERROR_PARAMS:
		return "params";
	case MAIL_ERROR_PERM:
		return "perm";
	case MAIL_ERROR_NOQUOTA:
		return "noquota";
	case MAIL_ERROR_NOTFOUND:
		return "notfound";
	case MAIL_ERROR_EXISTS:
		return "exists";
	case MAIL_ERROR_EXPUNGED:
		return "expunged";
	case MAIL_ERROR_INUSE:
		return "inuse";
	case MAIL_ERROR_CONVERSION:
		return "conversion";
	case MAIL_ERROR_INVALIDDATA:
		return "invaliddata";
	case MAIL_ERROR_LIMIT:
		return "limit";
	case MAIL_ERROR_LOOKUP_ABORTED:
		return "lookup-aborted";
	case MAIL_ERROR_UNAVAILABLE:
		return "unavailable";
#ifdef MIGRATE_DOVECOT24
	case MAIL_ERROR_INTERRUPTED:
		return "interrupted";
#endif
	}
	return "unknown";
}

const char *
migrate_outcome_server(const ARRAY_TYPE(migrate_outcome_record) *records,
		       enum migrate_outcome_where where)
{
	const struct migrate_outcome_record *rec;

	array_foreach(records, rec) {
		if (rec->kind == MIGRATE_OUTCOME_SERVER && rec->where == where &&
		    rec->code[0] != '\0')
			return rec->code;
	}
	return NULL;
}

const char *migrate_exit_code_name(int exit_code)
{
	switch (exit_code) {
	case MIGRATE_EXIT_OK:
		return "ok";
	case MIGRATE_EXIT_MISMATCH:
		return "UIDLs unmatched";
	case MIGRATE_EXIT_CONFIG:
		return "settings";
	case MIGRATE_EXIT_NOUSER:
		return "unknown user here";
	case MIGRATE_EXIT_UNREACHABLE:
		return "unreachable";
	case MIGRATE_EXIT_SOFTWARE:
		return "internal error";
	case MIGRATE_EXIT_LOCKED:
		return "already running";
	case MIGRATE_EXIT_TEMPFAIL:
		return "temporary failure";
	case MIGRATE_EXIT_PROTOCOL:
		return "protocol error";
	case MIGRATE_EXIT_AUTH:
		return "login refused";
	}
	return "other";
}

/* --- judging a child --- */

/* What went wrong between imapc/pop3c and the old server. Dovecot says
   which connection failure it was only in its text (imapc's disconnect
   reason, pop3c's log lines), so these few patterns remain; they are
   tried only once the records have placed the failure at the old server
   (or nothing else explains it). Most telling first: a rule that matches
   any of the texts wins over every later rule. */
static const struct migrate_outcome_rule {
	const char *pattern;
	int exit_code;
	const char *cause;
	/* whose setting (config rules) */
	enum migrate_outcome_where where;
} migrate_outcome_connection_rules[] = {
	/* TLS first: its errors also mention the connection */
	{ "SSL", MIGRATE_EXIT_UNREACHABLE, "TLS failure",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "TLS", MIGRATE_EXIT_UNREACHABLE, "TLS failure",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "certificate", MIGRATE_EXIT_UNREACHABLE, "TLS failure",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "handshake", MIGRATE_EXIT_UNREACHABLE, "TLS failure",
	  MIGRATE_OUTCOME_UNKNOWN },
	/* not IMAP/POP3 at all, or a broken answer: the root cause even
	   when imapc then reconnects and loses the connection */
	{ "Server sent invalid", MIGRATE_EXIT_PROTOCOL,
	  "protocol error (the server's answer isn't valid IMAP/POP3)",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "Error parsing input", MIGRATE_EXIT_PROTOCOL,
	  "protocol error (the server's answer isn't valid IMAP/POP3)",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "Server sent unrecognized line", MIGRATE_EXIT_PROTOCOL,
	  "protocol error (the server's answer isn't valid IMAP/POP3)",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "Server sent line when no command", MIGRATE_EXIT_PROTOCOL,
	  "protocol error (the server's answer isn't valid IMAP/POP3)",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "Connection refused", MIGRATE_EXIT_UNREACHABLE,
	  "connection refused",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "Command timed out", MIGRATE_EXIT_TEMPFAIL,
	  "the server stopped answering (command timed out)",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "timed out", MIGRATE_EXIT_UNREACHABLE, "connection timed out",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "Timeout", MIGRATE_EXIT_UNREACHABLE, "connection timed out",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "dns_lookup", MIGRATE_EXIT_UNREACHABLE, "host unreachable",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "Name or service not known", MIGRATE_EXIT_UNREACHABLE,
	  "host unreachable",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "resolution", MIGRATE_EXIT_UNREACHABLE, "host unreachable",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "No route", MIGRATE_EXIT_UNREACHABLE, "host unreachable",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "Network is unreachable", MIGRATE_EXIT_UNREACHABLE,
	  "host unreachable",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "Disconnected", MIGRATE_EXIT_TEMPFAIL, "server disconnected",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "disconnected", MIGRATE_EXIT_TEMPFAIL, "server disconnected",
	  MIGRATE_OUTCOME_UNKNOWN },
};

/* The old server is busy or limits how fast it may be read: Gmail's
   "[THROTTLED]" (text appended to a NO), RFC 5530's UNAVAILABLE and
   LIMIT, Exchange's "Server Unavailable" and "Too many simultaneous
   connections". What was copied stays; the same pass, after a wait,
   goes on from there. Checked before the connection rules, because the
   server usually says goodbye ("disconnected") after such an answer. */
static const struct migrate_outcome_rule migrate_outcome_busy_rules[] = {
	{ "[THROTTLED]", MIGRATE_EXIT_TEMPFAIL,
	  "the old server is throttling", MIGRATE_OUTCOME_UNKNOWN },
	{ "[UNAVAILABLE]", MIGRATE_EXIT_TEMPFAIL,
	  "the old server is busy (unavailable for now)",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "[LIMIT]", MIGRATE_EXIT_TEMPFAIL,
	  "the old server is throttling (a limit was reached)",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "Server Unavailable", MIGRATE_EXIT_TEMPFAIL,
	  "the old server is busy (unavailable for now)",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "Too many simultaneous connections", MIGRATE_EXIT_TEMPFAIL,
	  "the old server is throttling (too many connections)",
	  MIGRATE_OUTCOME_UNKNOWN },
	/* Microsoft 365: "BAD Request is throttled. Suggested Backoff
	   Time: 299961 milliseconds" */
	{ "Request is throttled", MIGRATE_EXIT_TEMPFAIL,
	  "the old server is throttling", MIGRATE_OUTCOME_UNKNOWN },
};

#define MIGRATE_OUTCOME_BACKOFF_PREFIX "Suggested Backoff Time: "

/* The wait a throttling answer asks for, in seconds (rounded up), or 0. */
static unsigned int migrate_outcome_backoff_secs(const char *text)
{
	const char *p = strstr(text, MIGRATE_OUTCOME_BACKOFF_PREFIX);
	uintmax_t msecs;

	if (p == NULL)
		return 0;
	p += strlen(MIGRATE_OUTCOME_BACKOFF_PREFIX);
	if (str_parse_uintmax(p, &msecs, &p) < 0 ||
	    !str_begins_with(p, " milliseconds") ||
	    msecs > UINT_MAX - 999)
		return 0;
	return (msecs + 999) / 1000;
}

/* Settings Dovecot refuses when the user is set up (the storage can't be
   created): they name the setting. */
static const struct migrate_outcome_rule migrate_outcome_config_rules[] = {
	{ "missing imapc_", MIGRATE_EXIT_CONFIG, "missing setting",
	  MIGRATE_OUTCOME_IMAP },
	{ "missing pop3c_", MIGRATE_EXIT_CONFIG, "missing setting",
	  MIGRATE_OUTCOME_POP3 },
	{ "Error in configuration file", MIGRATE_EXIT_CONFIG,
	  "invalid setting", MIGRATE_OUTCOME_UNKNOWN },
	{ "Invalid setting", MIGRATE_EXIT_CONFIG, "invalid setting",
	  MIGRATE_OUTCOME_UNKNOWN },
	{ "Unknown feature", MIGRATE_EXIT_CONFIG, "invalid setting",
	  MIGRATE_OUTCOME_UNKNOWN },
};

/* doveadm's own exit codes (sysexits.h) */
#define MIGRATE_OUTCOME_DOVEADM_EX_USAGE 64
#define MIGRATE_OUTCOME_DOVEADM_EX_NOUSER 67
#define MIGRATE_OUTCOME_DOVEADM_EX_CONFIG 78

static bool
migrate_outcome_rules_match(const struct migrate_outcome_rule *rules,
			    unsigned int rules_count,
			    const char *const *texts,
			    struct migrate_outcome_result *result)
{
	unsigned int i, j;

	for (i = 0; i < rules_count; i++) {
		for (j = 0; texts[j] != NULL; j++) {
			if (strstr(texts[j], rules[i].pattern) == NULL)
				continue;
			result->exit_code = rules[i].exit_code;
			result->cause = rules[i].cause;
			result->where = rules[i].where;
			result->detail = texts[j];
			return TRUE;
		}
	}
	return FALSE;
}

static const struct migrate_outcome_record *
migrate_outcome_find(const ARRAY_TYPE(migrate_outcome_record) *records,
		     enum migrate_outcome_kind kind,
		     enum migrate_outcome_where where, const char *code)
{
	const struct migrate_outcome_record *rec;

	array_foreach(records, rec) {
		if (rec->kind == kind &&
		    (where == MIGRATE_OUTCOME_UNKNOWN || rec->where == where) &&
		    (code == NULL || strcmp(rec->code, code) == 0))
			return rec;
	}
	return NULL;
}

/* Is the record one of this server's disk or quota running out? */
static bool
migrate_outcome_is_no_space(const struct migrate_outcome_record *rec)
{
	return strcmp(rec->code, "noquota") == 0 ||
		strstr(rec->text, strerror(ENOSPC)) != NULL ||
		strstr(rec->text, strerror(EDQUOT)) != NULL;
}

static const char *
migrate_outcome_no_space_cause(const struct migrate_outcome_record *rec)
{
	/* MAIL_ERRSTR_NO_SPACE, ENOSPC's text, or a quota plugin's */
	if (strstr(rec->text, "space") != NULL ||
	    strstr(rec->text, strerror(ENOSPC)) != NULL) {
		return "no space left (disk full): nothing here was deleted, "
			"free space and run again";
	}
	if (strstr(rec->text, "disk quota") != NULL ||
	    strstr(rec->text, strerror(EDQUOT)) != NULL) {
		return "over the disk quota: nothing here was deleted, raise "
			"it and run again";
	}
	return "over the mail quota: nothing here was deleted, raise it "
		"and run again";
}

/* Texts that tell what happened at the old server: its records, then
   the child's error lines. */
static const char *const *
migrate_outcome_source_texts(const ARRAY_TYPE(migrate_outcome_record) *records,
			     const char *const *error_lines,
			     enum migrate_outcome_where *where_r)
{
	const struct migrate_outcome_record *rec;
	ARRAY_TYPE(const_string) texts;

	*where_r = MIGRATE_OUTCOME_UNKNOWN;
	t_array_init(&texts, 8);
	array_foreach(records, rec) {
		if (rec->where != MIGRATE_OUTCOME_IMAP &&
		    rec->where != MIGRATE_OUTCOME_POP3)
			continue;
		if (rec->kind != MIGRATE_OUTCOME_LOGIN &&
		    rec->kind != MIGRATE_OUTCOME_LOG &&
		    rec->kind != MIGRATE_OUTCOME_STORAGE)
			continue;
		if (*where_r == MIGRATE_OUTCOME_UNKNOWN)
			*where_r = rec->where;
		array_push_back(&texts, &rec->text);
	}
	for (; *error_lines != NULL; error_lines++)
		array_push_back(&texts, error_lines);
	array_append_zero(&texts);
	return array_front(&texts);
}

static const char *
migrate_outcome_first_line(const char *const *error_lines, int exit_code)
{
	if (error_lines[0] != NULL)
		return error_lines[0];
	if (exit_code >= 128)
		return t_strdup_printf("killed by signal %d", exit_code - 128);
	return t_strdup_printf("exit code %d", exit_code);
}

/* Dovecot's own words for a file or directory on this server that its
   mail processes may not write (eacces_error_get()): an old server's
   answer never has them, whichever storage's event logged it (imapc's
   index files are here too). */
#define MIGRATE_OUTCOME_LOCAL_EACCES "Permission denied (euid="
#define MIGRATE_OUTCOME_LOCAL_EACCES_CAUSE \
	"the user's files here may not be written (permission denied): " \
	"fix their owner or mode and run again"

static const char *
migrate_outcome_local_eacces(const ARRAY_TYPE(migrate_outcome_record) *records,
			     const char *const *error_lines)
{
	const struct migrate_outcome_record *rec;

	array_foreach(records, rec) {
		if ((rec->kind == MIGRATE_OUTCOME_STORAGE ||
		     rec->kind == MIGRATE_OUTCOME_LOG) &&
		    strstr(rec->text, MIGRATE_OUTCOME_LOCAL_EACCES) != NULL)
			return rec->text;
	}
	for (; *error_lines != NULL; error_lines++) {
		if (strstr(*error_lines, MIGRATE_OUTCOME_LOCAL_EACCES) != NULL)
			return *error_lines;
	}
	return NULL;
}

static bool
migrate_outcome_classify_here(const ARRAY_TYPE(migrate_outcome_record) *records,
			      const char *const *error_lines, int exit_code,
			      struct migrate_outcome_result *result)
{
	const struct migrate_outcome_record *rec;
	unsigned int i;

	result->where = MIGRATE_OUTCOME_HERE;
	/* this server's disk or quota: never the old server's fault, and
	   the cause of what follows (lost UIDs, a mailbox out of step) */
	array_foreach(records, rec) {
		if (rec->where == MIGRATE_OUTCOME_HERE &&
		    (rec->kind == MIGRATE_OUTCOME_STORAGE ||
		     rec->kind == MIGRATE_OUTCOME_LOG) &&
		    migrate_outcome_is_no_space(rec)) {
			result->exit_code = MIGRATE_EXIT_TEMPFAIL;
			result->cause = migrate_outcome_no_space_cause(rec);
			result->detail = rec->text;
			return TRUE;
		}
	}
	if ((result->detail = migrate_outcome_local_eacces(records,
						error_lines)) != NULL) {
		result->exit_code = MIGRATE_EXIT_TEMPFAIL;
		result->cause = MIGRATE_OUTCOME_LOCAL_EACCES_CAUSE;
		return TRUE;
	}
	if (exit_code == MIGRATE_OUTCOME_DOVEADM_EX_NOUSER) {
		result->exit_code = MIGRATE_EXIT_NOUSER;
		result->cause = "unknown user on this server";
		result->detail = migrate_outcome_first_line(error_lines,
							    exit_code);
		return TRUE;
	}
	rec = migrate_outcome_find(records, MIGRATE_OUTCOME_LOG,
				   MIGRATE_OUTCOME_HERE, "auth-client");
	if (rec != NULL) {
		result->exit_code = MIGRATE_EXIT_TEMPFAIL;
		result->cause = "the user lookup failed (this server's auth)";
		result->detail = rec->text;
		return TRUE;
	}
	if (exit_code >= 128 &&
	    migrate_outcome_find(records, MIGRATE_OUTCOME_LOGIN,
				 MIGRATE_OUTCOME_UNKNOWN,
				 MIGRATE_OUTCOME_LOGIN_DISCONNECTED) == NULL) {
		/* a crash of Dovecot or of one of the plugins is never the
		   old server's fault; but Dovecot 2.3's dsync panics after
		   imapc's login failed (DOVECOT-NOTES G.1), and then that
		   failure is the cause */
		result->exit_code = MIGRATE_EXIT_SOFTWARE;
		result->cause = "doveadm was killed or crashed";
		result->detail = migrate_outcome_first_line(error_lines,
							    exit_code);
		for (i = 0; error_lines[i] != NULL; i++) {
			if (strstr(error_lines[i], "Panic: ") != NULL) {
				result->cause = "doveadm crashed (a bug: "
					"please report it with this line)";
				result->detail = error_lines[i];
			}
		}
		return TRUE;
	}
	return FALSE;
}

void migrate_outcome_classify(const ARRAY_TYPE(migrate_outcome_record) *records,
			      const char *const *error_lines, int exit_code,
			      struct migrate_outcome_result *result_r)
{
	const struct migrate_outcome_record *rec;
	const char *const *texts;
	enum migrate_outcome_where where;

	i_zero(result_r);

	/* a refused login: whatever happens after it (Dovecot 2.3's dsync
	   even panics once the user can't be set up) */
	rec = migrate_outcome_find(records, MIGRATE_OUTCOME_LOGIN,
				   MIGRATE_OUTCOME_UNKNOWN,
				   MIGRATE_OUTCOME_LOGIN_REFUSED);
	if (rec != NULL) {
		result_r->where = rec->where;
		result_r->exit_code = MIGRATE_EXIT_AUTH;
		/* RFC 5530's code: the (master) user logged in, but may not
		   be, or find, the user */
		result_r->cause = strstr(rec->text, "[AUTHORIZATIONFAILED]") != NULL ?
			"login refused (unknown user, or the master user may "
			"not log in as them)" :
			"login refused (wrong password or unknown user)";
		result_r->detail = rec->text;
		return;
	}
	/* found before anything was copied, and nothing will be until the
	   admin resolves it */
	rec = migrate_outcome_find(records, MIGRATE_OUTCOME_CONFIG,
				   MIGRATE_OUTCOME_UNKNOWN, NULL);
	if (rec != NULL) {
		result_r->where = rec->where;
		result_r->exit_code = MIGRATE_EXIT_CONFIG;
		result_r->cause = strcmp(rec->code,
			MIGRATE_OUTCOME_CONFIG_FOLDER_MAP) == 0 ?
			"the old folders can't be mapped" : "invalid setting";
		result_r->detail = rec->text;
		return;
	}
	if (migrate_outcome_classify_here(records, error_lines, exit_code,
					  result_r))
		return;
	result_r->where = MIGRATE_OUTCOME_UNKNOWN;

	/* settings Dovecot couldn't set the user up with */
	if (migrate_outcome_rules_match(migrate_outcome_config_rules,
			N_ELEMENTS(migrate_outcome_config_rules),
			error_lines, result_r))
		return;
	rec = migrate_outcome_find(records, MIGRATE_OUTCOME_LOGIN,
				   MIGRATE_OUTCOME_UNKNOWN,
				   MIGRATE_OUTCOME_LOGIN_IN_USE);
	if (rec != NULL) {
		result_r->where = rec->where;
		result_r->exit_code = MIGRATE_EXIT_TEMPFAIL;
		result_r->cause = "the old server has the mailbox in use";
		result_r->detail = rec->text;
		return;
	}

	/* the old server: which connection failure */
	texts = migrate_outcome_source_texts(records, error_lines, &where);
	if (migrate_outcome_rules_match(migrate_outcome_busy_rules,
			N_ELEMENTS(migrate_outcome_busy_rules),
			texts, result_r)) {
		result_r->where = where;
		result_r->source_busy = TRUE;
		result_r->retry_may_help = TRUE;
		result_r->busy_wait_secs =
			migrate_outcome_backoff_secs(result_r->detail);
		return;
	}
	if (migrate_outcome_rules_match(migrate_outcome_connection_rules,
			N_ELEMENTS(migrate_outcome_connection_rules),
			texts, result_r)) {
		result_r->where = where;
		return;
	}
	rec = migrate_outcome_find(records, MIGRATE_OUTCOME_UNMATCHED,
				   MIGRATE_OUTCOME_UNKNOWN, NULL);
	if (rec != NULL) {
		/* migrate_pop3 read both lists and refused to go on: the
		   cause unless the old server's connection failed (a broken
		   FETCH answer also leaves messages unmatched); it fails
		   the old server's mailbox, so its error is there too */
		result_r->where = MIGRATE_OUTCOME_POP3;
		result_r->exit_code = MIGRATE_EXIT_MISMATCH;
		result_r->cause = "UIDLs couldn't be matched";
		result_r->detail = rec->text;
		return;
	}
	if (where != MIGRATE_OUTCOME_UNKNOWN) {
		result_r->where = where;
		result_r->exit_code = MIGRATE_EXIT_TEMPFAIL;
		result_r->cause = "failed";
		result_r->detail = texts[0];
		return;
	}

	/* this server's storage, something else than space */
	rec = migrate_outcome_find(records, MIGRATE_OUTCOME_STORAGE,
				   MIGRATE_OUTCOME_HERE, NULL);
	if (rec != NULL) {
		result_r->where = MIGRATE_OUTCOME_HERE;
		result_r->exit_code = MIGRATE_EXIT_TEMPFAIL;
		result_r->cause = t_strdup_printf("the mail storage failed "
						  "(%s)", rec->code);
		result_r->detail = rec->text;
		/* also a folder that another process (a parallel worker,
		   the user) made or removed while this one created it */
		result_r->retry_may_help =
			strcmp(rec->code, "temp") == 0 ||
			strcmp(rec->code, "notfound") == 0 ||
			strcmp(rec->code, "exists") == 0 ||
			strcmp(rec->code, "inuse") == 0;
		return;
	}
	/* an error logged by this server's storage, and none of the old
	   server's */
	rec = migrate_outcome_find(records, MIGRATE_OUTCOME_LOG,
				   MIGRATE_OUTCOME_HERE, "storage");
	if (rec != NULL) {
		result_r->where = MIGRATE_OUTCOME_HERE;
		result_r->exit_code = MIGRATE_EXIT_TEMPFAIL;
		result_r->cause = "the mail storage failed";
		result_r->detail = rec->text;
		return;
	}
	rec = migrate_outcome_find(records, MIGRATE_OUTCOME_RECOPY,
				   MIGRATE_OUTCOME_UNKNOWN, NULL);
	if (rec != NULL) {
		result_r->where = MIGRATE_OUTCOME_HERE;
		result_r->exit_code = MIGRATE_EXIT_TEMPFAIL;
		result_r->cause = "a mailbox here was out of step and is "
			"copied again on the next run";
		result_r->detail = rec->text;
		return;
	}
	if (exit_code == MIGRATE_OUTCOME_DOVEADM_EX_USAGE ||
	    exit_code == MIGRATE_OUTCOME_DOVEADM_EX_CONFIG) {
		result_r->exit_code = MIGRATE_EXIT_CONFIG;
		result_r->cause = "invalid setting";
		result_r->detail = migrate_outcome_first_line(error_lines,
							      exit_code);
		return;
	}
	result_r->exit_code = exit_code == 0 ? MIGRATE_EXIT_SOFTWARE :
		MIGRATE_EXIT_TEMPFAIL;
	result_r->cause = "failed";
	result_r->detail = migrate_outcome_first_line(error_lines, exit_code);
}
