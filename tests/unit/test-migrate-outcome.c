/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "test-common.h"
#include "migrate-common.h"
#include "migrate-outcome.h"

#include <unistd.h>

/* records from "kind where code text" lines, as the child writes them */
static void
test_records(ARRAY_TYPE(migrate_outcome_record) *records,
	     const char *const *lines)
{
	string_t *str = t_str_new(256);
	const char *error;

	for (; *lines != NULL; lines++) {
		str_append(str, *lines);
		str_append_c(str, '\n');
	}
	test_assert(migrate_outcome_parse(str_c(str), pool_datastack_create(),
					  records, &error) == 0);
}

static void
test_judge(const char *const *record_lines, const char *const *error_lines,
	   int exit_code, struct migrate_outcome_result *result_r)
{
	ARRAY_TYPE(migrate_outcome_record) records;

	test_records(&records, record_lines);
	migrate_outcome_classify(&records, error_lines, exit_code, result_r);
}

static void test_migrate_outcome_roundtrip(void)
{
	ARRAY_TYPE(migrate_outcome_record) records;
	const struct migrate_outcome_record *rec;
	struct migrate_outcome_record in = {
		.kind = MIGRATE_OUTCOME_LOGIN,
		.where = MIGRATE_OUTCOME_POP3,
		.code = MIGRATE_OUTCOME_LOGIN_REFUSED,
		.text = "[AUTH]\tbad\\password\nsecond line",
	};
	string_t *str = t_str_new(128);
	const char *error;

	test_begin("outcome records write and read back");
	migrate_outcome_append(str, &in);
	in.kind = MIGRATE_OUTCOME_STORAGE;
	in.where = MIGRATE_OUTCOME_HERE;
	in.code = "noquota";
	in.text = "Not enough disk space";
	migrate_outcome_append(str, &in);
	/* a record of a newer version */
	str_append(str, "future\there\tx\ty\n");
	test_assert(migrate_outcome_parse(str_c(str), pool_datastack_create(),
					  &records, &error) == 0);
	test_assert_ucmp(array_count(&records), ==, 2);
	rec = array_idx(&records, 0);
	test_assert(rec->kind == MIGRATE_OUTCOME_LOGIN &&
		    rec->where == MIGRATE_OUTCOME_POP3);
	test_assert_strcmp(rec->code, "refused");
	/* one line per record */
	test_assert_strcmp(rec->text, "[AUTH]\tbad\\password");
	rec = array_idx(&records, 1);
	test_assert(rec->kind == MIGRATE_OUTCOME_STORAGE &&
		    rec->where == MIGRATE_OUTCOME_HERE);
	test_assert_strcmp(rec->text, "Not enough disk space");

	/* the server the child talked to */
	test_records(&records, (const char *[]){
		"server\tpop3\t192.0.2.1:110\t",
		"server\timap\t192.0.2.1:143\t", NULL });
	test_assert_strcmp(migrate_outcome_server(&records,
		MIGRATE_OUTCOME_IMAP), "192.0.2.1:143");
	test_assert_strcmp(migrate_outcome_server(&records,
		MIGRATE_OUTCOME_POP3), "192.0.2.1:110");
	test_assert(migrate_outcome_server(&records,
		MIGRATE_OUTCOME_HERE) == NULL);

	test_assert(migrate_outcome_parse("login\tnowhere\trefused\tx\n",
					  pool_datastack_create(), &records,
					  &error) < 0);
	test_assert(migrate_outcome_parse("login\timap\n",
					  pool_datastack_create(), &records,
					  &error) < 0);

	test_assert(migrate_outcome_fd_parse("7") == 7);
	test_assert(migrate_outcome_fd_parse("2") == -1);
	test_assert(migrate_outcome_fd_parse("x") == -1);
	test_assert(migrate_outcome_fd_parse(NULL) == -1);
	test_assert_strcmp(migrate_outcome_mail_error_name(MAIL_ERROR_NOQUOTA),
			   "noquota");
	test_end();
}

static void test_migrate_outcome_write(void)
{
	ARRAY_TYPE(migrate_outcome_record) records;
	struct migrate_outcome_record rec = {
		.kind = MIGRATE_OUTCOME_RECOPY,
		.where = MIGRATE_OUTCOME_HERE,
		.code = "",
		.text = "Archive/2019",
	};
	char buf[256];
	int fds[2];
	ssize_t ret;
	const char *error;

	test_begin("outcome record written with one write()");
	test_assert(pipe(fds) == 0);
	migrate_outcome_write(fds[1], &rec);
	rec.kind = MIGRATE_OUTCOME_UNMATCHED;
	rec.where = MIGRATE_OUTCOME_POP3;
	rec.code = "3";
	migrate_outcome_write(fds[1], &rec);
	/* no descriptor: nothing happens */
	migrate_outcome_write(-1, &rec);
	i_close_fd(&fds[1]);
	ret = read(fds[0], buf, sizeof(buf) - 1);
	i_close_fd(&fds[0]);
	test_assert(ret > 0);
	buf[ret < 0 ? 0 : ret] = '\0';
	test_assert_strcmp(buf, "recopy\there\t\tArchive/2019\n"
			   "unmatched\tpop3\t3\tArchive/2019\n");
	test_assert(migrate_outcome_parse(buf, pool_datastack_create(),
					  &records, &error) == 0);
	test_assert_ucmp(array_count(&records), ==, 2);
	test_end();
}

static void test_migrate_outcome_login(void)
{
	struct migrate_outcome_result result;

	test_begin("outcome: a refused login");
	test_judge((const char *[]){
		"login\timap\trefused\t[AUTHENTICATIONFAILED] Authentication failed.",
		NULL }, (const char *[]){
		"Failed to initialize user: imapc: Login to 127.0.0.1 failed",
		"Panic: file lib-event.c: line 506 (event_pop_global)",
		NULL }, 134, &result);
	/* Dovecot 2.3's dsync panics after it: the login is the cause */
	test_assert_idx(result.exit_code == MIGRATE_EXIT_AUTH, 0);
	test_assert(result.where == MIGRATE_OUTCOME_IMAP);
	test_assert(strstr(result.cause, "wrong password") != NULL);
	test_assert_strcmp(result.detail,
		"[AUTHENTICATIONFAILED] Authentication failed.");

	/* a master user may not log in as the user */
	test_judge((const char *[]){
		"login\timap\trefused\t[AUTHORIZATIONFAILED] Authorization failed",
		NULL }, (const char *[]){ NULL }, 75, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_AUTH);
	test_assert(strstr(result.cause, "master user") != NULL);

	/* pop3c's: told by the error code of the mailbox it opened */
	test_judge((const char *[]){
		"login\tpop3\trefused\t[AUTH] Authentication failed.",
		NULL }, (const char *[]){ "Mailbox POP3/INBOX: [AUTH] ...",
		NULL }, 75, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_AUTH);
	test_assert(result.where == MIGRATE_OUTCOME_POP3);

	test_judge((const char *[]){
		"login\tpop3\tin-use\tMailbox is locked", NULL },
		(const char *[]){ NULL }, 75, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_TEMPFAIL);
	test_assert(result.where == MIGRATE_OUTCOME_POP3);
	test_end();
}

static void test_migrate_outcome_config(void)
{
	struct migrate_outcome_result result;

	test_begin("outcome: the old folders can't be mapped");
	/* the listing failed because of it: that error is no cause */
	test_judge((const char *[]){
		"server\timap\t127.0.0.1:143\t",
		"config\timap\tfolder-map\told folders 'Sent' and 'Sent Items' would both become 'Sent' here",
		NULL }, (const char *[]){
		"Failed to iterate mailboxes: old folders 'Sent' and ...",
		NULL }, 75, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_CONFIG);
	test_assert(result.where == MIGRATE_OUTCOME_IMAP);
	test_assert_strcmp(result.cause, "the old folders can't be mapped");
	test_assert_strcmp(result.detail, "old folders 'Sent' and 'Sent Items' would both become 'Sent' here");
	test_end();
}

static void test_migrate_outcome_this_server(void)
{
	struct migrate_outcome_result result;

	test_begin("outcome: this server's failures are never the old server's");
	/* the userdb lookup failed: its text looks like a connection
	   failure, but its event is this server's auth client */
	test_judge((const char *[]){
		"log\there\tauth-client\tuserdb lookup(u): connect(/run/dovecot/auth-userdb) failed: Connection refused",
		NULL }, (const char *[]){
		"auth-master: userdb lookup(u): connect(/run/dovecot/auth-userdb) failed: Connection refused",
		NULL }, 75, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_TEMPFAIL);
	test_assert(result.where == MIGRATE_OUTCOME_HERE);
	test_assert(strstr(result.cause, "user lookup") != NULL);

	/* the disk ran full: also when imapc lost its connection later */
	test_judge((const char *[]){
		"log\timap\timapc\tDisconnected from server",
		"storage\there\tnoquota\tNot enough disk space", NULL },
		(const char *[]){ "imapc(h): Disconnected", NULL }, 75, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_TEMPFAIL);
	test_assert(result.where == MIGRATE_OUTCOME_HERE);
	test_assert(strstr(result.cause, "disk full") != NULL);
	test_assert_strcmp(result.detail, "Not enough disk space");

	/* a write that failed with ENOSPC, reported as an internal error */
	test_judge((const char *[]){ t_strdup_printf(
		"storage\there\ttemp\twrite(/m/u.1) failed: %s",
		strerror(ENOSPC)), NULL }, (const char *[]){ NULL }, 75,
		&result);
	test_assert(strstr(result.cause, "disk full") != NULL);
	/* a full disk isn't over by trying again */
	test_assert(!result.retry_may_help);
	test_judge((const char *[]){
		"storage\there\tnoquota\tQuota exceeded (mailbox for user is full)",
		NULL }, (const char *[]){ NULL }, 75, &result);
	test_assert(strstr(result.cause, "mail quota") != NULL);

	/* a directory here the mail processes may not write: also when
	   imapc's storage logged it (its index files are here) and the
	   old server's connection is in the records too */
	test_judge((const char *[]){
		"server\timap\t127.0.0.1:143\t",
		"log\timap\timapc\tfile_create_locked(/h/u/imapc/.dovecot-box-sync.lock) failed: safe_mkstemp(/h/u/imapc/.dovecot-box-sync.lock) failed: Permission denied (euid=999(vmail) egid=999(vmail) missing +w perm: /h/u/imapc, dir owned by 0:0 mode=0755)",
		NULL }, (const char *[]){
		"brain M: Couldn't lock INBOX: Permission denied (euid=999(vmail) egid=999(vmail) missing +w perm: /h/u/imapc, dir owned by 0:0 mode=0755)",
		NULL }, 75, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_TEMPFAIL);
	test_assert(result.where == MIGRATE_OUTCOME_HERE);
	test_assert(strstr(result.cause, "permission denied") != NULL);
	test_assert(strstr(result.detail, "safe_mkstemp") != NULL);
	/* an error this server's storage logged, without its code */
	test_judge((const char *[]){
		"server\timap\t127.0.0.1:143\t",
		"log\there\tstorage\tmkdir(/h/u/mail) failed: Read-only file system",
		NULL }, (const char *[]){
		"Can't create mailbox INBOX: Internal error occurred.", NULL },
		75, &result);
	test_assert(result.where == MIGRATE_OUTCOME_HERE);
	test_assert(strstr(result.cause, "storage") != NULL);
	test_assert_strcmp(result.detail,
			   "mkdir(/h/u/mail) failed: Read-only file system");

	/* doveadm's EX_NOUSER */
	test_judge((const char *[]){ NULL }, (const char *[]){
		"User doesn't exist", NULL }, 67, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_NOUSER);
	test_assert(result.where == MIGRATE_OUTCOME_HERE);

	/* a crash, with or without its panic line */
	test_judge((const char *[]){ NULL }, (const char *[]){
		"Mailbox INBOX: sync failed", "Panic: file x.c: assertion failed",
		NULL }, 134, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_SOFTWARE);
	test_assert(result.where == MIGRATE_OUTCOME_HERE);
	test_assert(strstr(result.cause, "a bug") != NULL);
	test_assert_strcmp(result.detail, "Panic: file x.c: assertion failed");
	test_judge((const char *[]){ NULL }, (const char *[]){ NULL }, 137,
		   &result);
	test_assert(result.exit_code == MIGRATE_EXIT_SOFTWARE);
	test_assert_strcmp(result.detail, "killed by signal 9");

	/* another storage failure here */
	test_judge((const char *[]){
		"storage\there\tperm\tmkdir(/m) failed: Permission denied",
		NULL }, (const char *[]){ NULL }, 75, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_TEMPFAIL);
	test_assert(result.where == MIGRATE_OUTCOME_HERE);
	test_assert(strstr(result.cause, "(perm)") != NULL);
	test_assert(!result.retry_may_help);
	/* sdbox after a killed save: "u.1 already exists, rebuilding index" */
	test_judge((const char *[]){
		"storage\there\ttemp\tsdbox: u.1 already exists, rebuilding index",
		NULL }, (const char *[]){ NULL }, 75, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_TEMPFAIL);
	test_assert(result.retry_may_help);
	/* a folder another dsync worker made at the same time */
	test_judge((const char *[]){
		"storage\there\tnotfound\tMailbox doesn't exist: Travel",
		NULL }, (const char *[]){
		"brain M: Can't create mailbox Travel: Not found", NULL },
		75, &result);
	test_assert(result.where == MIGRATE_OUTCOME_HERE);
	test_assert(result.retry_may_help);

	/* dsync deleted a mailbox to copy it again */
	test_judge((const char *[]){ "recopy\there\t\tINBOX", NULL },
		   (const char *[]){ NULL }, 0, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_TEMPFAIL);
	test_assert_strcmp(result.detail, "INBOX");
	test_end();
}

static void test_migrate_outcome_old_server(void)
{
	struct migrate_outcome_result result;

	test_begin("outcome: the old server's connection failures");
	test_judge((const char *[]){
		"login\timap\tdisconnected\tDisconnected from server", NULL },
		(const char *[]){
		"imapc(127.0.0.1:1): connect(127.0.0.1, 1) failed: Connection refused - disconnecting",
		NULL }, 75, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_UNREACHABLE);
	test_assert(result.where == MIGRATE_OUTCOME_IMAP);
	test_assert_strcmp(result.cause, "connection refused");

	/* TLS wins over the connection lines it causes */
	test_judge((const char *[]){
		"login\tpop3\tdisconnected\tpop3c: Disconnected from remote server",
		NULL }, (const char *[]){
		"pop3c(h): Server disconnected unexpectedly",
		"pop3c(h): SSL handshake failed: wrong version number",
		NULL }, 75, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_UNREACHABLE);
	test_assert(result.where == MIGRATE_OUTCOME_POP3);
	test_assert_strcmp(result.cause, "TLS failure");

	/* Dovecot 2.3's dsync panics after imapc's failed login: the
	   login's failure is the cause, not the crash */
	test_judge((const char *[]){
		"login\timap\tdisconnected\tDisconnected from server", NULL },
		(const char *[]){
		"imapc(h): SSL handshake failed: SSL_connect() failed: wrong version number",
		"Panic: file lib-event.c: assertion failed: (event == current_global_event)",
		NULL }, 134, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_UNREACHABLE);
	test_assert(result.where == MIGRATE_OUTCOME_IMAP);
	test_assert_strcmp(result.cause, "TLS failure");

	/* a broken answer, then the lost connection */
	test_judge((const char *[]){
		"storage\timap\ttemp\tDisconnected from server", NULL },
		(const char *[]){ "imapc(h): Disconnected from server",
		"imapc(h): Server sent invalid input: x", NULL }, 0, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_PROTOCOL);
	test_assert(result.where == MIGRATE_OUTCOME_IMAP);

	/* nothing but the error lines: still judged, server unknown */
	test_judge((const char *[]){ NULL }, (const char *[]){
		"imapc(h): Command timed out", NULL }, 75, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_TEMPFAIL);
	test_assert(result.where == MIGRATE_OUTCOME_UNKNOWN);
	test_assert(strstr(result.cause, "stopped answering") != NULL);

	/* the old server failed in a way no rule knows */
	test_judge((const char *[]){
		"storage\tpop3\ttemp\tUIDL failed", NULL },
		(const char *[]){ NULL }, 75, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_TEMPFAIL);
	test_assert(result.where == MIGRATE_OUTCOME_POP3);
	test_assert_strcmp(result.cause, "failed");
	test_assert_strcmp(result.detail, "UIDL failed");
	test_end();
}

static void test_migrate_outcome_busy(void)
{
	struct migrate_outcome_result result;

	test_begin("outcome: the old server throttles or is busy");
	/* Gmail: the text after a NO, and the disconnect it leads to */
	test_judge((const char *[]){
		"storage\timap\ttemp\tRemote server didn't send BODY[] (FETCH replied: Too many simultaneous connections. [THROTTLED])",
		NULL }, (const char *[]){
		"imapc(h): Disconnected from server",
		"Mailbox INBOX: UID=97: imapc: Remote server didn't send BODY[] (FETCH replied: Too many simultaneous connections. [THROTTLED])",
		NULL }, 0, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_TEMPFAIL);
	test_assert(result.where == MIGRATE_OUTCOME_IMAP);
	test_assert(result.source_busy);
	test_assert(result.retry_may_help);
	test_assert_strcmp(result.cause, "the old server is throttling");

	/* Exchange: RFC 5530's code */
	test_judge((const char *[]){ NULL }, (const char *[]){
		"imapc(h): Command failed: NO [UNAVAILABLE] Server busy", NULL },
		75, &result);
	test_assert(result.source_busy);
	test_assert(strstr(result.cause, "busy") != NULL);

	/* Microsoft 365 says how long to wait */
	test_judge((const char *[]){ NULL }, (const char *[]){
		"Mailbox INBOX: UID=5: imapc: Remote server didn't send BODY[] (FETCH replied: Request is throttled. Suggested Backoff Time: 2001 milliseconds)",
		NULL }, 0, &result);
	test_assert(result.source_busy);
	test_assert(result.busy_wait_secs == 3);
	test_judge((const char *[]){ NULL }, (const char *[]){
		"imapc(h): Request is throttled. Suggested Backoff Time: soon",
		NULL }, 75, &result);
	test_assert(result.source_busy);
	test_assert(result.busy_wait_secs == 0);

	/* a disconnect alone is not a throttle */
	test_judge((const char *[]){ NULL }, (const char *[]){
		"imapc(h): Disconnected from server", NULL }, 75, &result);
	test_assert(!result.source_busy);
	test_assert(!result.retry_may_help);
	test_assert_strcmp(result.cause, "server disconnected");
	test_end();
}

static void test_migrate_outcome_other(void)
{
	struct migrate_outcome_result result;

	test_begin("outcome: settings, unmatched messages, the rest");
	test_judge((const char *[]){ NULL }, (const char *[]){
		"Namespace '': Mailbox list driver imapc: missing imapc_host",
		NULL }, 75, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_CONFIG);
	test_assert(result.where == MIGRATE_OUTCOME_IMAP);
	test_assert_strcmp(result.cause, "missing setting");
	test_judge((const char *[]){ NULL }, (const char *[]){
		"pop3c: missing pop3c_host", NULL }, 75, &result);
	test_assert(result.where == MIGRATE_OUTCOME_POP3);

	/* migrate_pop3 fails the old server's INBOX when it refuses */
	test_judge((const char *[]){
		"storage\timap\ttemp\tmigrate_pop3: POP3 UIDLs couldn't be matched",
		"unmatched\tpop3\t3\tINBOX: 3 messages couldn't be matched",
		NULL }, (const char *[]){ "migrate_pop3: 3 POP3 ...", NULL },
		75, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_MISMATCH);
	test_assert(result.where == MIGRATE_OUTCOME_POP3);
	/* ...unless a broken answer of the old server left them so */
	test_judge((const char *[]){
		"unmatched\tpop3\t2\tINBOX: 2 messages couldn't be matched",
		NULL }, (const char *[]){ "Error parsing input: Unexpected ')'",
		NULL }, 75, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_PROTOCOL);

	test_judge((const char *[]){ NULL }, (const char *[]){ NULL }, 78,
		   &result);
	test_assert(result.exit_code == MIGRATE_EXIT_CONFIG);
	test_judge((const char *[]){ NULL }, (const char *[]){
		"something", NULL }, 75, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_TEMPFAIL);
	test_assert_strcmp(result.cause, "failed");
	test_assert_strcmp(result.detail, "something");
	/* error lines, yet exit 0 */
	test_judge((const char *[]){ NULL }, (const char *[]){
		"something", NULL }, 0, &result);
	test_assert(result.exit_code == MIGRATE_EXIT_SOFTWARE);
	/* nothing tells whose fault it is: not this server's */
	test_assert(result.where == MIGRATE_OUTCOME_UNKNOWN);
	test_judge((const char *[]){ NULL }, (const char *[]){
		"migrate gmail: the source has no \\All folder", NULL }, 65,
		&result);
	test_assert(result.where == MIGRATE_OUTCOME_UNKNOWN);
	test_assert(result.exit_code == MIGRATE_EXIT_TEMPFAIL);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_outcome_roundtrip,
		test_migrate_outcome_write,
		test_migrate_outcome_login,
		test_migrate_outcome_config,
		test_migrate_outcome_this_server,
		test_migrate_outcome_old_server,
		test_migrate_outcome_busy,
		test_migrate_outcome_other,
		NULL
	};
	return test_run(test_functions);
}
