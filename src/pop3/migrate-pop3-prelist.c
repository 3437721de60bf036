/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

/* Reading the old server's POP3 list while dsync lists the IMAP side.

   In a local dsync (doveadm backup/sync imapc:) nothing runs the main
   ioloop while dsync works: imapc waits for its replies in an ioloop of
   its own, and so does pop3c (pop3c_client_wait_one()), so a pop3c
   command started early makes no progress until pop3c is waited for. So
   a forked child reads the list, on a connection of its own, with plain
   libc calls only: login as pop3c does (USER/PASS, or AUTH PLAIN for a
   master user), UIDL, LIST, QUIT, keeping the replies as they came, which
   it writes to a pipe when it is done. It first closes every descriptor
   of the parent's but the pipe (a descriptor it kept would keep the
   parent's epoll registration alive, and a connection open at its
   server after the parent closed it) and takes the default action of
   every signal back, and it never runs an ioloop: the process's epoll
   instance is shared with the parent. The parent parses the replies when
   dsync first asks for a UIDL (migrate_pop3_prelist_finish()).

   A child, not a thread: once a process has had a second thread, glibc's
   malloc takes a lock in every call for the rest of its life, which cost
   dsync's process ~3,400 instructions a message (28 % of what
   migrate_pop3 cost it with a formula source: bench/pop3-instructions.sh).
   Whatever the child can't do (TLS, an error) leaves the reading to
   pop3c, as before: the result is the same list either way. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "base64.h"
#include "time-util.h"
#include "safe-memset.h"
#include "fd-util.h"
#include "mail-namespace.h"
#include "index-mail.h"
#include "pop3c-settings.h"
#include "pop3c-storage.h"
#include "migrate-pop3-plugin.h"

#include <stdio.h>
#include <dirent.h>
#include <signal.h>
#include <unistd.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

/* as pop3c: connecting may take this long, a reply this long */
#define MIGRATE_POP3_PRELIST_CONNECT_TIMEOUT_SECS 30
#define MIGRATE_POP3_PRELIST_TIMEOUT_SECS (5*60)
#define MIGRATE_POP3_PRELIST_MAX_LINE 1024
/* UIDL+TOP pairs sent at once for the headers */
#define MIGRATE_POP3_PRELIST_HEADER_BATCH 32

/* What the child writes to the pipe, followed by data_len bytes of
   replies. */
struct migrate_pop3_prelist_result {
	struct timeval ended;
	size_t data_len, uidl_len;
	/* "" on success */
	char error[256];
};

struct migrate_pop3_prelist {
	/* the child reading the list (-1: none) and its pipe */
	pid_t pid;
	int fd_result;
	/* set before the child starts */
	char *host, *port;
	/* the login: USER/PASS lines, or the AUTH PLAIN response */
	char *user_cmd, *pass_cmd, *auth_plain;

	/* the connection: the child's, or the parent's for the headers */
	int fd;
	char *rbuf;
	size_t rbuf_pos, rbuf_len;
	/* the UIDL reply, then the LIST reply, without their +OK lines */
	char *data;
	size_t data_len, data_size, uidl_len;
	/* NULL on success, else why it failed (static or malloc'd in
	   error_buf) */
	const char *error;
	char error_buf[256];
	struct timeval started, ended;
};

/* --- the connection: libc only (also in the child) --- */

static int prelist_fail(struct migrate_pop3_prelist *pl, const char *what,
			const char *line)
{
	snprintf(pl->error_buf, sizeof(pl->error_buf), "%s%s%.120s", what,
		 line == NULL ? "" : ": ", line == NULL ? "" : line);
	pl->error = pl->error_buf;
	return -1;
}

static int prelist_send(struct migrate_pop3_prelist *pl, const char *cmd)
{
	size_t len = strlen(cmd), pos = 0;
	ssize_t ret;

	while (pos < len) {
		ret = send(pl->fd, cmd + pos, len - pos, MSG_NOSIGNAL);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			return prelist_fail(pl, "send() failed", strerror(errno));
		pos += ret;
	}
	return 0;
}

/* ACK what arrives at once. The replies to pipelined TOPs come in small
   writes; a server that waits with its next write until the last one is
   ACKed (Nagle: Courier) would otherwise wait for our delayed ACK, ~40 ms
   per batch: 640 ms of 700 for 510 headers at a 20,000-message Courier
   INBOX. Linux resets the option after a while, so it is set before each
   read. */
static void prelist_quickack(struct migrate_pop3_prelist *pl ATTR_UNUSED)
{
#ifdef TCP_QUICKACK
	int one = 1;

	(void)setsockopt(pl->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
#endif
}

/* Move what is left unread to the buffer's start and read more after
   it. Returns 0, or -1 on error (prelist_fail()ed). */
static int prelist_fill(struct migrate_pop3_prelist *pl)
{
	ssize_t ret;

	if (pl->rbuf_pos > 0) {
		memmove(pl->rbuf, pl->rbuf + pl->rbuf_pos,
			pl->rbuf_len - pl->rbuf_pos);
		pl->rbuf_len -= pl->rbuf_pos;
		pl->rbuf_pos = 0;
	}
	if (pl->rbuf_len >= MIGRATE_POP3_PRELIST_MAX_LINE) {
		prelist_fail(pl, "Too long line from the server", NULL);
		return -1;
	}
	prelist_quickack(pl);
	do {
		ret = recv(pl->fd, pl->rbuf + pl->rbuf_len,
			   MIGRATE_POP3_PRELIST_MAX_LINE - pl->rbuf_len, 0);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0) {
		prelist_fail(pl, "recv() failed", strerror(errno));
		return -1;
	}
	if (ret == 0) {
		prelist_fail(pl, "Disconnected by the server", NULL);
		return -1;
	}
	pl->rbuf_len += ret;
	return 0;
}

/* Returns the next line without CRLF (valid until the next call), or
   NULL on error. */
static const char *prelist_read_line(struct migrate_pop3_prelist *pl)
{
	char *p;

	for (;;) {
		p = memchr(pl->rbuf + pl->rbuf_pos, '\n',
			   pl->rbuf_len - pl->rbuf_pos);
		if (p != NULL) {
			char *line = pl->rbuf + pl->rbuf_pos;

			pl->rbuf_pos = p - pl->rbuf + 1;
			*p = '\0';
			if (p > line && p[-1] == '\r')
				p[-1] = '\0';
			return line;
		}
		if (prelist_fill(pl) < 0)
			return NULL;
	}
}

static int prelist_reply(struct migrate_pop3_prelist *pl, const char *what)
{
	const char *line = prelist_read_line(pl);

	if (line == NULL)
		return -1;
	if (strncasecmp(line, "+OK", 3) != 0)
		return prelist_fail(pl, what, line);
	return 0;
}

static int prelist_append(struct migrate_pop3_prelist *pl, const char *line)
{
	size_t len = strlen(line) + 1;
	char *data;

	if (pl->data_len + len > pl->data_size) {
		size_t size = pl->data_size == 0 ? 65536 : pl->data_size * 2;

		while (size < pl->data_len + len)
			size *= 2;
		data = realloc(pl->data, size);
		if (data == NULL)
			return prelist_fail(pl, "Out of memory", NULL);
		pl->data = data;
		pl->data_size = size;
	}
	memcpy(pl->data + pl->data_len, line, len - 1);
	pl->data[pl->data_len + len - 1] = '\n';
	pl->data_len += len;
	return 0;
}

/* a multi-line reply up to its "." line, each line + LF into data */
static int prelist_multiline(struct migrate_pop3_prelist *pl, const char *cmd)
{
	const char *line;

	if (prelist_send(pl, cmd) < 0 || prelist_reply(pl, cmd) < 0)
		return -1;
	for (;;) {
		if ((line = prelist_read_line(pl)) == NULL)
			return -1;
		if (line[0] == '.') {
			if (line[1] == '\0')
				return 0;
			line++;
		}
		if (prelist_append(pl, line) < 0)
			return -1;
	}
}

static int prelist_connect(struct migrate_pop3_prelist *pl)
{
	struct addrinfo hints, *res, *ai;
	struct timeval tv = { .tv_sec = MIGRATE_POP3_PRELIST_TIMEOUT_SECS };
	struct timeval ctv = {
		.tv_sec = MIGRATE_POP3_PRELIST_CONNECT_TIMEOUT_SECS
	};
	int fd = -1, ret;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	ret = getaddrinfo(pl->host, pl->port, &hints, &res);
	if (ret != 0)
		return prelist_fail(pl, "getaddrinfo() failed", gai_strerror(ret));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd == -1)
			continue;
		/* (SO_SNDTIMEO bounds connect() too) */
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &ctv, sizeof(ctv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO,
					 &tv, sizeof(tv));
			(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO,
					 &tv, sizeof(tv));
			break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		return prelist_fail(pl, "connect() failed", strerror(errno));
	pl->fd = fd;
	return 0;
}

static int prelist_login(struct migrate_pop3_prelist *pl)
{
	const char *line;

	if (prelist_connect(pl) < 0 || prelist_reply(pl, "Greeting") < 0)
		return -1;
	if (pl->auth_plain == NULL) {
		if (prelist_send(pl, pl->user_cmd) < 0 ||
		    prelist_reply(pl, "USER failed") < 0 ||
		    prelist_send(pl, pl->pass_cmd) < 0 ||
		    prelist_reply(pl, "Authentication failed") < 0)
			return -1;
	} else {
		if (prelist_send(pl, "AUTH PLAIN\r\n") < 0 ||
		    (line = prelist_read_line(pl)) == NULL)
			return -1;
		if (line[0] != '+')
			return prelist_fail(pl, "AUTH PLAIN failed", line);
		if (prelist_send(pl, pl->auth_plain) < 0 ||
		    prelist_reply(pl, "Authentication failed") < 0)
			return -1;
	}
	return 0;
}

static int prelist_run(struct migrate_pop3_prelist *pl)
{
	if (prelist_login(pl) < 0)
		return -1;
	if (prelist_multiline(pl, "UIDL\r\n") < 0)
		return -1;
	pl->uidl_len = pl->data_len;
	if (prelist_multiline(pl, "LIST\r\n") < 0)
		return -1;
	/* a clean end: servers that lock the mailbox per session (Courier)
	   release it now, before pop3c logs in for headers */
	if (prelist_send(pl, "QUIT\r\n") == 0)
		(void)prelist_reply(pl, "QUIT");
	return 0;
}

/* Read or write all of data: again after a signal, -1 on EOF or error. */
static int prelist_fd_full(int fd, void *data, size_t size, bool writing)
{
	unsigned char *p = data;
	ssize_t ret;

	while (size > 0) {
		ret = writing ? write(fd, p, size) : read(fd, p, size);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			return -1;
		p += ret;
		size -= ret;
	}
	return 0;
}

/* Close every descriptor above 2 but keep_fd. Only those below the soft
   limit: a tool the process runs under (valgrind) keeps its own above
   it. */
static void prelist_child_close_fds(int keep_fd)
{
	struct rlimit rl;
	struct dirent *d;
	DIR *dir;
	int fd, dir_fd;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		rl.rlim_cur = 1024;
	if ((dir = opendir("/proc/self/fd")) == NULL) {
		for (fd = 3; fd < (int)rl.rlim_cur; fd++) {
			if (fd != keep_fd)
				(void)close(fd);
		}
		return;
	}
	dir_fd = dirfd(dir);
	while ((d = readdir(dir)) != NULL) {
		fd = atoi(d->d_name);
		if (fd > 2 && fd != keep_fd && fd != dir_fd &&
		    fd < (int)rl.rlim_cur)
			(void)close(fd);
	}
	(void)closedir(dir);
}

static void ATTR_NORETURN
prelist_child(struct migrate_pop3_prelist *pl, int fd_result)
{
	static const int signals[] = {
		SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGALRM, SIGUSR1, SIGUSR2,
		SIGCHLD, SIGTTIN, SIGTTOU,
	};
	struct migrate_pop3_prelist_result result;
	sigset_t mask;
	unsigned int i;

	/* the parent's handlers would write to its signal pipe */
	for (i = 0; i < N_ELEMENTS(signals); i++)
		(void)signal(signals[i], SIG_DFL);
	(void)signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	(void)sigprocmask(SIG_SETMASK, &mask, NULL);
	prelist_child_close_fds(fd_result);

	if (prelist_run(pl) < 0 && pl->error == NULL)
		pl->error = "Failed";
	if (pl->fd != -1)
		(void)close(pl->fd);
	memset(&result, 0, sizeof(result));
	gettimeofday(&result.ended, NULL);
	if (pl->error != NULL) {
		snprintf(result.error, sizeof(result.error), "%s", pl->error);
		pl->data_len = pl->uidl_len = 0;
	}
	result.data_len = pl->data_len;
	result.uidl_len = pl->uidl_len;
	if (prelist_fd_full(fd_result, &result, sizeof(result), TRUE) == 0 &&
	    pl->data_len > 0)
		(void)prelist_fd_full(fd_result, pl->data, pl->data_len, TRUE);
	_exit(0);
}

/* --- the parent --- */

static void prelist_free(struct migrate_pop3_prelist *pl)
{
	i_assert(pl->pid == -1 && pl->fd_result == -1);
	free(pl->data);
	i_free(pl->rbuf);
	i_free(pl->host);
	i_free(pl->port);
	/* the login holds the password */
	if (pl->pass_cmd != NULL)
		safe_memset(pl->pass_cmd, 0, strlen(pl->pass_cmd));
	if (pl->auth_plain != NULL)
		safe_memset(pl->auth_plain, 0, strlen(pl->auth_plain));
	i_free(pl->user_cmd);
	i_free(pl->pass_cmd);
	i_free(pl->auth_plain);
	i_free(pl);
}

void migrate_pop3_prelist_start(struct mail_user *user)
{
	struct migrate_pop3_user *muser = MIGRATE_POP3_USER_CONTEXT(user);
	const struct pop3c_settings *set;
	struct mail_namespace *ns;
	struct migrate_pop3_prelist *pl;
	string_t *str;
	int fds[2];

	if (muser == NULL || muser->set == NULL ||
	    muser->set->pop3_box_vname == NULL || muser->prelist_tried ||
	    muser->pop3_listed)
		return;
	muser->prelist_tried = TRUE;
	ns = mail_namespace_find(user->namespaces, muser->set->pop3_box_vname);
	if (ns == NULL || ns->storage == NULL ||
	    strcmp(ns->storage->name, POP3C_STORAGE_NAME) != 0)
		return;
	/* (the storage is the first member) */
	set = ((struct pop3c_storage *)ns->storage)->set;
	if (set == NULL || set->pop3c_host[0] == '\0' ||
	    strcmp(set->pop3c_ssl, "no") != 0 ||
	    strchr(set->pop3c_user, '\n') != NULL ||
	    strchr(set->pop3c_password, '\n') != NULL) {
		/* TLS: pop3c's own client reads the list */
		e_debug(user->event, MIGRATE_POP3_LOG_PREFIX
			"POP3 list not read ahead: pop3c_ssl=%s",
			set == NULL ? "?" : set->pop3c_ssl);
		return;
	}

	pl = i_new(struct migrate_pop3_prelist, 1);
	pl->pid = -1;
	pl->fd_result = -1;
	pl->fd = -1;
	pl->rbuf = i_malloc(MIGRATE_POP3_PRELIST_MAX_LINE);
	pl->host = i_strdup(set->pop3c_host);
	pl->port = i_strdup(dec2str(set->pop3c_port));
	if (set->pop3c_master_user[0] == '\0') {
		pl->user_cmd = i_strdup_printf("USER %s\r\n", set->pop3c_user);
		pl->pass_cmd = i_strdup_printf("PASS %s\r\n",
					       set->pop3c_password);
	} else {
		/* as pop3c: authorization as the user, authentication
		   as the master user */
		str = t_str_new(128);
		str_append(str, set->pop3c_user);
		str_append_c(str, '\0');
		str_append(str, set->pop3c_master_user);
		str_append_c(str, '\0');
		str_append(str, set->pop3c_password);
		string_t *b64 = t_str_new(MAX_BASE64_ENCODED_SIZE(str_len(str)) + 2);
		base64_encode(str_data(str), str_len(str), b64);
		str_append(b64, "\r\n");
		pl->auth_plain = i_strdup(str_c(b64));
		safe_memset(str_c_modifiable(str), 0, str_len(str));
		safe_memset(str_c_modifiable(b64), 0, str_len(b64));
	}
	i_gettimeofday(&pl->started);
	if (pipe(fds) < 0) {
		e_debug(user->event, MIGRATE_POP3_LOG_PREFIX
			"POP3 list not read ahead: pipe() failed: %m");
		prelist_free(pl);
		return;
	}
	if ((pl->pid = fork()) < 0) {
		e_debug(user->event, MIGRATE_POP3_LOG_PREFIX
			"POP3 list not read ahead: fork() failed: %m");
		pl->pid = -1;
		i_close_fd(&fds[0]);
		i_close_fd(&fds[1]);
		prelist_free(pl);
		return;
	}
	if (pl->pid == 0)
		prelist_child(pl, fds[1]);
	i_close_fd(&fds[1]);
	/* not for processes the parent runs later */
	fd_close_on_exec(fds[0], TRUE);
	pl->fd_result = fds[0];
	muser->prelist = pl;
}

/* Wait for the child (killed first if kill_child) and reap it. */
static void prelist_child_end(struct migrate_pop3_prelist *pl, bool kill_child)
{
	if (pl->pid == -1)
		return;
	if (kill_child)
		(void)kill(pl->pid, SIGKILL);
	i_close_fd(&pl->fd_result);
	/* (ECHILD: a SIGCHLD handler of the process reaped it already) */
	while (waitpid(pl->pid, NULL, 0) < 0 && errno == EINTR) ;
	pl->pid = -1;
}

/* Read the child's result into pl. Returns 0, or -1 if the child died
   without one. */
static int prelist_collect(struct migrate_pop3_prelist *pl)
{
	struct migrate_pop3_prelist_result result;
	int ret = 0;

	if (prelist_fd_full(pl->fd_result, &result, sizeof(result),
			    FALSE) < 0 ||
	    result.uidl_len > result.data_len) {
		ret = -1;
	} else if (result.data_len > 0) {
		pl->data = malloc(result.data_len);
		if (pl->data == NULL ||
		    prelist_fd_full(pl->fd_result, pl->data, result.data_len,
				    FALSE) < 0)
			ret = -1;
	}
	prelist_child_end(pl, ret < 0);
	if (ret < 0) {
		pl->error = "The process reading it ended without a result";
		return -1;
	}
	pl->ended = result.ended;
	pl->data_len = pl->data_size = result.data_len;
	pl->uidl_len = result.uidl_len;
	if (result.error[0] != '\0') {
		result.error[sizeof(result.error) - 1] = '\0';
		(void)i_strocpy(pl->error_buf, result.error,
				sizeof(pl->error_buf));
		pl->error = pl->error_buf;
	}
	return 0;
}

void migrate_pop3_prelist_abort(struct migrate_pop3_user *muser)
{
	struct migrate_pop3_prelist *pl = muser->prelist;

	migrate_pop3_prelist_login_free(muser);
	if (pl == NULL)
		return;
	muser->prelist = NULL;
	prelist_child_end(pl, TRUE);
	prelist_free(pl);
}

/* "N SIZE" or "N UIDL" lines, N = 1, 2, ... in order: the value is
   [*value_r, *end_r) */
static int
prelist_parse_line(const char **p, const char *end, uint32_t seq,
		   const char **value_r, const char **end_r)
{
	const char *line = *p, *lf, *num_end;
	uint32_t n;

	lf = memchr(line, '\n', end - line);
	if (lf == NULL)
		return -1;
	*p = lf + 1;
	/* (the line ends in LF: the number's parse stops there at most) */
	if (str_parse_uint32(line, &n, &num_end) < 0 || n != seq ||
	    *num_end != ' ')
		return -1;
	*value_r = num_end + 1;
	*end_r = lf;
	return 0;
}

int migrate_pop3_prelist_finish(struct migrate_pop3_user *muser,
				struct event *event)
{
	struct migrate_pop3_prelist *pl = muser->prelist;
	struct migrate_pop3_msg *msg, *msgs;
	struct timeval now;
	const char *p, *uidl_end, *end, *value, *value_end, *num_end;
	unsigned int count = 0, listed, i;
	long long waited;
	uoff_t size;
	int ret = 0;

	if (pl == NULL)
		return 0;
	muser->prelist = NULL;
	i_gettimeofday(&now);
	(void)prelist_collect(pl);
	waited = timeval_diff_msecs(&pl->ended, &now);
	if (pl->error != NULL) {
		e_warning(event, "Reading the POP3 list ahead failed (%s): "
			  "%s - reading it with pop3c", pl->host, pl->error);
		prelist_free(pl);
		return 0;
	}

	/* count the UIDL lines */
	p = pl->data;
	uidl_end = pl->data + pl->uidl_len;
	end = pl->data + pl->data_len;
	for (; p < uidl_end; p++) {
		if (*p == '\n')
			count++;
	}
	if (muser->pop3_pool == NULL) {
		muser->pop3_pool = pool_alloconly_create("migrate_pop3 list",
							 32 * 1024);
		i_array_init(&muser->pop3_msgs, count + 1);
	}
	array_clear(&muser->pop3_msgs);
	p = pl->data;
	for (i = 0; i < count && ret == 0; i++) {
		if (prelist_parse_line(&p, uidl_end, i + 1,
				       &value, &value_end) < 0)
			ret = -1;
		else {
			msg = array_append_space(&muser->pop3_msgs);
			msg->seq = i + 1;
			msg->uidl = p_strndup(muser->pop3_pool, value,
					      value_end - value);
		}
	}
	/* (fewer than count if a UIDL line was bad: ret < 0 then) */
	msgs = array_get_modifiable(&muser->pop3_msgs, &listed);
	for (i = 0; i < listed && ret == 0; i++) {
		if (prelist_parse_line(&p, end, i + 1, &value, &value_end) < 0 ||
		    str_parse_uoff(value, &size, &num_end) < 0 ||
		    num_end != value_end)
			ret = -1;
		else
			msgs[i].size = size;
	}
	if (ret < 0 || p != end) {
		e_warning(event, "Reading the POP3 list ahead failed (%s): "
			  "UIDL and LIST replies don't agree - reading it with "
			  "pop3c", pl->host);
		array_clear(&muser->pop3_msgs);
		prelist_free(pl);
		return 0;
	}
	/* waited < 0: it was ready that long before it was needed */
	e_info(event, "POP3 list of %u messages read ahead on a connection "
	       "of its own in %lld ms, %s %lld ms %s", count,
	       (long long)timeval_diff_msecs(&pl->ended, &pl->started),
	       waited < 0 ? "ready" : "waited",
	       waited < 0 ? -waited : waited,
	       waited < 0 ? "before dsync asked for a UIDL" : "for it");
	/* the login serves migrate_pop3_prelist_read_headers() */
	free(pl->data);
	pl->data = NULL;
	pl->data_len = pl->data_size = pl->uidl_len = 0;
	migrate_pop3_prelist_login_free(muser);
	muser->prelist_login = pl;
	muser->pop3_listed = TRUE;
	return 1;
}

void migrate_pop3_prelist_login_free(struct migrate_pop3_user *muser)
{
	if (muser->prelist_login != NULL) {
		prelist_free(muser->prelist_login);
		muser->prelist_login = NULL;
	}
}

/* "+OK N UIDL" */
static const char *prelist_uidl_reply(const char *line, uint32_t seq)
{
	const char *p, *sp;
	uint32_t n;

	if (strncasecmp(line, "+OK ", 4) != 0)
		return NULL;
	p = line + 4;
	sp = strchr(p, ' ');
	if (sp == NULL || str_to_uint32(t_strdup_until(p, sp), &n) < 0 ||
	    n != seq)
		return NULL;
	return t_strdup(sp + 1);
}

/* For a message: the next line without its CRLF (*line_end_r TRUE), or
   a part of a line too long for the buffer (FALSE). Returns NULL on
   error. */
static const char *
prelist_read_chunk(struct migrate_pop3_prelist *pl, size_t *len_r,
		   bool *line_end_r)
{
	char *line, *p;
	size_t avail;

	for (;;) {
		line = pl->rbuf + pl->rbuf_pos;
		avail = pl->rbuf_len - pl->rbuf_pos;
		p = memchr(line, '\n', avail);
		if (p != NULL) {
			pl->rbuf_pos += p - line + 1;
			*len_r = p - line;
			if (*len_r > 0 && line[*len_r - 1] == '\r')
				(*len_r)--;
			*line_end_r = TRUE;
			return line;
		}
		if (avail >= MIGRATE_POP3_PRELIST_MAX_LINE / 2) {
			/* all but the last byte: it may be the CR of the
			   line's CRLF */
			pl->rbuf_pos += avail - 1;
			*len_r = avail - 1;
			*line_end_r = FALSE;
			return line;
		}
		if (prelist_fill(pl) < 0)
			return NULL;
	}
}

/* a TOP or RETR reply up to its "." line, dot-unstuffed, each line +
   CRLF into msg */
static int prelist_msg_read(struct migrate_pop3_prelist *pl, buffer_t *msg)
{
	const char *data;
	size_t len;
	bool line_end, line_start = TRUE;

	for (;;) {
		if ((data = prelist_read_chunk(pl, &len, &line_end)) == NULL)
			return -1;
		if (line_start && len > 0 && data[0] == '.') {
			if (len == 1 && line_end)
				return 0;
			data++;
			len--;
		}
		buffer_append(msg, data, len);
		if (line_end)
			buffer_append(msg, "\r\n", 2);
		line_start = line_end;
	}
}

static int
prelist_headers_batch(struct migrate_pop3_prelist *pl, const uint32_t *seqs,
		      const unsigned int *ns, unsigned int count, bool full,
		      buffer_t *msg, ARRAY_TYPE(uint32_t) *want_full,
		      migrate_pop3_prelist_header_callback_t *callback,
		      void *context)
{
	string_t *cmds = t_str_new(count * 32);
	const char *line, *uidl;
	unsigned int i;
	uint32_t seq;
	bool msg_ok;
	int ret = 0;

	/* pipelined: the replies come in the order of the commands */
	for (i = 0; i < count; i++) {
		seq = seqs[ns[i]];
		str_printfa(cmds, full ? "UIDL %u\r\nRETR %u\r\n" :
			    "UIDL %u\r\nTOP %u 0\r\n", seq, seq);
	}
	if (prelist_send(pl, str_c(cmds)) < 0)
		return -1;
	for (i = 0; i < count && ret == 0; i++) T_BEGIN {
		buffer_set_used_size(msg, 0);
		seq = seqs[ns[i]];
		if ((line = prelist_read_line(pl)) == NULL)
			ret = -1;
		else {
			/* NULL: no such message (deleted meanwhile) */
			uidl = prelist_uidl_reply(line, seq);
			if ((line = prelist_read_line(pl)) == NULL)
				ret = -1;
			else {
				msg_ok = strncasecmp(line, "+OK", 3) == 0;
				if (msg_ok && prelist_msg_read(pl, msg) < 0)
					ret = -1;
				else if (!msg_ok)
					uidl = NULL;
			}
			if (ret == 0 &&
			    callback(context, ns[i], uidl, msg->data,
				     msg->used, full) && !full)
				array_push_back(want_full, &ns[i]);
		}
	} T_END;
	if (ret < 0 && pl->error == NULL)
		pl->error = "Failed";
	return ret;
}

static int
prelist_headers_read(struct migrate_pop3_prelist *pl, const uint32_t *seqs,
		     const unsigned int *ns, unsigned int count, bool full,
		     ARRAY_TYPE(uint32_t) *want_full,
		     migrate_pop3_prelist_header_callback_t *callback,
		     void *context)
{
	unsigned int n, batch;
	buffer_t *msg;
	int ret = 0;

	msg = buffer_create_dynamic(default_pool, 4096);
	for (n = 0; n < count && ret == 0; n += batch) {
		batch = I_MIN(count - n, MIGRATE_POP3_PRELIST_HEADER_BATCH);
		ret = prelist_headers_batch(pl, seqs, ns + n, batch, full, msg,
					    want_full, callback, context);
	}
	buffer_free(&msg);
	return ret;
}

int migrate_pop3_prelist_read_headers(struct migrate_pop3_user *muser,
				      struct event *event, const uint32_t *seqs,
				      unsigned int count,
				      migrate_pop3_prelist_header_callback_t *callback,
				      void *context)
{
	struct migrate_pop3_prelist *pl = muser->prelist_login;
	ARRAY_TYPE(uint32_t) want_full;
	unsigned int i, *ns;
	int ret;

	if (pl == NULL)
		return -1;
	if (count == 0)
		return 0;
	pl->error = NULL;
	pl->rbuf_pos = pl->rbuf_len = 0;
	if (prelist_login(pl) < 0)
		ret = -1;
	else {
		ns = i_new(unsigned int, count);
		for (i = 0; i < count; i++)
			ns[i] = i;
		i_array_init(&want_full, 4);
		/* the headers, then the whole messages whose header had no
		   end in TOP */
		ret = prelist_headers_read(pl, seqs, ns, count, FALSE,
					   &want_full, callback, context);
		if (ret == 0 && array_count(&want_full) > 0) {
			ret = prelist_headers_read(pl, seqs,
				array_front(&want_full), array_count(&want_full),
				TRUE, NULL, callback, context);
		}
		array_free(&want_full);
		i_free(ns);
	}
	if (ret == 0) {
		if (prelist_send(pl, "QUIT\r\n") == 0)
			(void)prelist_reply(pl, "QUIT");
	} else {
		e_warning(event, "Reading POP3 headers on a connection of its "
			  "own failed (%s): %s - reading them with pop3c",
			  pl->host, pl->error);
	}
	if (pl->fd != -1) {
		close(pl->fd);
		pl->fd = -1;
	}
	if (ret < 0)
		migrate_pop3_prelist_login_free(muser);
	return ret;
}
