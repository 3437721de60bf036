/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "migrate-compat.h"
#include "array.h"
#include "str.h"
#include "buffer.h"
#include "safe-memset.h"
#include "ioloop.h"
#include "istream.h"
#ifdef MIGRATE_DOVECOT24
#  include "json-istream.h"
#else
#  include "json-parser.h"
#endif
#include "http-url.h"
#include "http-client.h"
#include "http-response.h"
#include "iostream-ssl.h"
#include "master-service.h"
#ifndef MIGRATE_DOVECOT24
#  include "master-service-ssl-settings.h"
#endif
#include "module-context.h"
#include "mail-user.h"
#include "mail-storage-private.h"
#include "mail-storage-hooks.h"
#include "imapc-storage.h"
#include "imapc-client-private.h"
#include "imapc-settings.h"
#ifdef MIGRATE_DOVECOT24
#  include "settings.h"
#endif
#include "doveadm-settings.h"
#include "auth-master.h"
#include "migrate-common.h"
#include "migrate-user-settings.h"
#include "doveadm-migrate.h"
#include "doveadm-migrate-http.h"

#include <unistd.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

/* OAuth2 logins to the old server (XOAUTH2 or OAUTHBEARER through
   imapc_sasl_mechanisms): access tokens from the provider's token
   endpoint (a refresh token per account, or the client credentials grant
   of an application that may read every mailbox) or from an admin's
   command given the user.

   migrate run fetches the first token before it logs in and hands it to
   its children as imapc_password in the run's 0600 config, with the time
   to refresh it (migrate_oauth2_refresh_at). imapc keeps the password it
   was created with for every connection it opens later (dsync opens more
   than one, and reconnects after the server ended a session whose token
   expired), so in each child the token is refreshed here when half of
   its life has passed: checked whenever a mailbox is opened or a message
   is looked at, and the new value handed to every imapc client of the
   process before it next connects. */

/* what a token without expires_in is taken to live */
#define MIGRATE_OAUTH2_DEFAULT_LIFETIME_SECS 3600
#define MIGRATE_OAUTH2_CONNECT_TIMEOUT_MSECS (30 * 1000)
#define MIGRATE_OAUTH2_REQUEST_TIMEOUT_MSECS (60 * 1000)
#define MIGRATE_OAUTH2_COMMAND_TIMEOUT_DEFAULT_SECS 60
/* an answer bigger than this isn't a token endpoint's */
#define MIGRATE_OAUTH2_MAX_ANSWER_SIZE (64 * 1024)

#ifdef MIGRATE_DOVECOT24
/* 2.4's json-istream reports the root object as a node */
#  define MIGRATE_OAUTH2_TOP_DEPTH 1
#else
/* 2.3's json-parser doesn't report the root object */
#  define MIGRATE_OAUTH2_TOP_DEPTH 0
#endif

struct migrate_oauth2_http {
	pool_t pool;
	buffer_t *answer;
	struct istream *payload;
	struct io *io;
	unsigned int status;
	const char *reason;
	bool failed_internally, too_big;
};

struct migrate_oauth2_answer {
	const char *access_token, *expires_in, *error, *error_description;
};

/* Tokens and secrets don't stay behind in freed memory. */
static void migrate_oauth2_buffer_wipe(buffer_t *buf)
{
	safe_memset(buffer_get_modifiable_data(buf, NULL), 0, buf->used);
	buffer_set_used_size(buf, 0);
}

/* --- settings --- */

int doveadm_migrate_oauth2_settings_read(
	doveadm_migrate_oauth2_lookup_t *lookup, void *context,
	struct doveadm_migrate_oauth2_settings *set_r, const char **error_r)
{
	const char *grant, *timeout, *error;

	i_zero(set_r);
	set_r->token_url = lookup(context, "migrate_oauth2_token_url");
	set_r->token_command = lookup(context, "migrate_oauth2_token_command");
	timeout = lookup(context, "migrate_oauth2_token_command_timeout");
	set_r->token_command_timeout_secs =
		MIGRATE_OAUTH2_COMMAND_TIMEOUT_DEFAULT_SECS;
	if (timeout != NULL && migrate_parse_time(timeout,
			&set_r->token_command_timeout_secs, &error) < 0) {
		*error_r = t_strdup_printf("invalid "
			"migrate_oauth2_token_command_timeout: %s", error);
		return -1;
	}
	if (set_r->token_command_timeout_secs == 0) {
		*error_r = "migrate_oauth2_token_command_timeout must not be 0";
		return -1;
	}
	set_r->client_id = lookup(context, "migrate_oauth2_client_id");
	set_r->client_secret = lookup(context, "migrate_oauth2_client_secret");
	set_r->scope = lookup(context, "migrate_oauth2_scope");
	set_r->refresh_token = lookup(context, "migrate_oauth2_refresh_token");
	grant = lookup(context, "migrate_oauth2_grant");

	if (set_r->token_command != NULL) {
		set_r->enabled = TRUE;
		return 0;
	}
	if (set_r->token_url == NULL) {
		if (set_r->refresh_token != NULL) {
			*error_r = "migrate_oauth2_refresh_token is set, but "
				"migrate_oauth2_token_url isn't (the "
				"provider's token endpoint)";
			return -1;
		}
		return 0;
	}
	set_r->enabled = TRUE;
	if (grant == NULL || strcmp(grant, "refresh_token") == 0)
		set_r->client_credentials = FALSE;
	else if (strcmp(grant, "client_credentials") == 0)
		set_r->client_credentials = TRUE;
	else {
		*error_r = t_strdup_printf("invalid migrate_oauth2_grant '%s' "
			"(expected refresh_token or client_credentials)",
			grant);
		return -1;
	}
	if (!str_begins_with(set_r->token_url, "https://") &&
	    !str_begins_with(set_r->token_url, "http://")) {
		*error_r = t_strdup_printf("migrate_oauth2_token_url %s: not "
			"an https:// URL", set_r->token_url);
		return -1;
	}
	if (set_r->client_id == NULL) {
		*error_r = "migrate_oauth2_client_id isn't set";
		return -1;
	}
	if (set_r->client_credentials && set_r->client_secret == NULL) {
		*error_r = "migrate_oauth2_grant=client_credentials needs "
			"migrate_oauth2_client_secret";
		return -1;
	}
	if (!set_r->client_credentials && set_r->refresh_token == NULL) {
		*error_r = "no refresh token for this account "
			"(migrate_oauth2_refresh_token in the config or a "
			"userdb field, or the refresh_token column of migrate "
			"batch)";
		return -1;
	}
	return 0;
}

/* --- the token endpoint --- */

static void migrate_oauth2_payload_input(struct migrate_oauth2_http *req)
{
	const unsigned char *data;
	size_t size;
	int ret;

	while ((ret = i_stream_read_more(req->payload, &data, &size)) > 0) {
		if (req->answer->used + size > MIGRATE_OAUTH2_MAX_ANSWER_SIZE)
			req->too_big = TRUE;
		else
			buffer_append(req->answer, data, size);
		i_stream_skip(req->payload, size);
	}
	if (ret == 0)
		return;
	if (req->payload->stream_errno != 0) {
		req->failed_internally = TRUE;
		req->reason = p_strdup_printf(req->pool,
			"reading the answer failed: %s",
			i_stream_get_error(req->payload));
	}
	io_remove(&req->io);
	i_stream_unref(&req->payload);
}

static void
migrate_oauth2_response(const struct http_response *response,
			struct migrate_oauth2_http *req)
{
	req->status = response->status;
	req->reason = p_strdup(req->pool, http_response_get_message(response));
	if (response->status >= HTTP_CLIENT_REQUEST_ERROR_INVALID_URL) {
		/* lib-http's own failure: connect, TLS, timeout, ... */
		req->failed_internally = TRUE;
		return;
	}
	if (response->payload == NULL)
		return;
	req->payload = response->payload;
	i_stream_ref(req->payload);
	req->io = io_add_istream(req->payload, migrate_oauth2_payload_input,
				 req);
	migrate_oauth2_payload_input(req);
}

static void
migrate_oauth2_answer_field(struct migrate_oauth2_answer *answer,
			    const char *key, const char *value)
{
	if (strcmp(key, "access_token") == 0)
		answer->access_token = t_strdup(value);
	else if (strcmp(key, "expires_in") == 0)
		answer->expires_in = t_strdup(value);
	else if (strcmp(key, "error") == 0)
		answer->error = t_strdup(value);
	else if (strcmp(key, "error_description") == 0)
		answer->error_description = t_strdup(value);
}

/* The top-level members of the endpoint's JSON object. Returns 0, or -1
   if it isn't one. */
static int
migrate_oauth2_answer_parse(const buffer_t *data,
			    struct migrate_oauth2_answer *answer_r)
{
	struct istream *input;
	unsigned int depth = 0;
	const char *error;
	int ret;

	i_zero(answer_r);
	input = i_stream_create_from_data(data->data, data->used);
#ifdef MIGRATE_DOVECOT24
	struct json_istream *json;
	struct json_node node;

	json = json_istream_create(input, JSON_ISTREAM_TYPE_NORMAL, NULL,
				   JSON_PARSER_FLAG_NUMBERS_AS_STRING);
	while ((ret = json_istream_walk(json, &node)) > 0) {
		if (json_node_is_end(&node)) {
			if (depth > 0)
				depth--;
		} else if (node.type == JSON_TYPE_ARRAY ||
			   node.type == JSON_TYPE_OBJECT) {
			depth++;
		} else if (depth == MIGRATE_OAUTH2_TOP_DEPTH &&
			   node.name != NULL) {
			migrate_oauth2_answer_field(answer_r, node.name,
						    json_node_get_str(&node));
		}
	}
	ret = json_istream_finish(&json, &error);
#else
	struct json_parser *parser;
	enum json_type type;
	const char *value, *key = NULL;

	parser = json_parser_init(input);
	while ((ret = json_parse_next(parser, &type, &value)) > 0) {
		switch (type) {
		case JSON_TYPE_OBJECT:
		case JSON_TYPE_ARRAY:
			depth++;
			key = NULL;
			break;
		case JSON_TYPE_OBJECT_END:
		case JSON_TYPE_ARRAY_END:
			if (depth > 0)
				depth--;
			break;
		case JSON_TYPE_OBJECT_KEY:
			key = depth == MIGRATE_OAUTH2_TOP_DEPTH ?
				t_strdup(value) : NULL;
			break;
		default:
			if (key != NULL)
				migrate_oauth2_answer_field(answer_r, key,
							    value);
			key = NULL;
			break;
		}
	}
	ret = json_parser_deinit(&parser, &error);
#endif
	i_stream_unref(&input);
	return ret < 0 ? -1 : 0;
}

static void
migrate_oauth2_form_param(string_t *form, const char *key, const char *value)
{
	if (value == NULL)
		return;
	if (str_len(form) > 0)
		str_append_c(form, '&');
	str_printfa(form, "%s=", key);
	http_url_escape_param(form, value);
}

static int
migrate_oauth2_endpoint_request(const struct doveadm_migrate_oauth2_settings *set,
				struct doveadm_migrate_oauth2_token *token_r,
				const char **error_r)
{
	struct migrate_oauth2_http req;
	struct migrate_oauth2_answer answer;
	struct doveadm_migrate_http_settings http_set;
	struct http_client *client;
	struct http_client_request *http_req;
	struct ioloop *ioloop, *prev_ioloop = current_ioloop;
	string_t *form = t_str_new(256);
	const char *prefix;
	unsigned int lifetime;
	int code;

	prefix = t_strdup_printf("OAuth2 token endpoint %s", set->token_url);
	if (set->client_credentials) {
		migrate_oauth2_form_param(form, "grant_type",
					  "client_credentials");
	} else {
		migrate_oauth2_form_param(form, "grant_type", "refresh_token");
		migrate_oauth2_form_param(form, "refresh_token",
					  set->refresh_token);
	}
	migrate_oauth2_form_param(form, "client_id", set->client_id);
	migrate_oauth2_form_param(form, "client_secret", set->client_secret);
	migrate_oauth2_form_param(form, "scope", set->scope);

	i_zero(&req);
	req.pool = pool_alloconly_create("migrate oauth2 request", 1024);
	req.answer = buffer_create_dynamic(req.pool, 1024);

	ioloop = io_loop_create();
	client = doveadm_migrate_http_client_init(&http_set,
		MIGRATE_OAUTH2_CONNECT_TIMEOUT_MSECS,
		MIGRATE_OAUTH2_REQUEST_TIMEOUT_MSECS);
	http_req = http_client_request_url_str(client, "POST", set->token_url,
					       migrate_oauth2_response, &req);
	http_client_request_add_header(http_req, "Content-Type",
				       "application/x-www-form-urlencoded");
	http_client_request_add_header(http_req, "Accept",
				       "application/json");
	http_client_request_set_payload_data(http_req, str_data(form),
					     str_len(form));
	http_client_request_submit(http_req);
	http_client_wait(client);
	if (req.payload != NULL) {
		/* the connection went away in the middle of the answer */
		io_remove(&req.io);
		i_stream_unref(&req.payload);
		if (!req.failed_internally) {
			req.failed_internally = TRUE;
			req.reason = "the answer ended early";
		}
	}
	http_client_deinit(&client);
	io_loop_destroy(&ioloop);
	if (prev_ioloop != NULL)
		io_loop_set_current(prev_ioloop);
	/* the form held the secrets */
	safe_memset(str_c_modifiable(form), 0, str_len(form));

	code = 0;
	if (req.failed_internally) {
		code = req.status == HTTP_CLIENT_REQUEST_ERROR_INVALID_URL ?
			MIGRATE_EXIT_CONFIG : MIGRATE_EXIT_TEMPFAIL;
		*error_r = t_strdup_printf("%s: %s", prefix, req.reason);
	} else if (req.too_big ||
		   migrate_oauth2_answer_parse(req.answer, &answer) < 0) {
		code = req.status / 100 == 5 ? MIGRATE_EXIT_TEMPFAIL :
			MIGRATE_EXIT_PROTOCOL;
		*error_r = t_strdup_printf("%s: HTTP %u %s, with an answer "
			"that isn't a JSON object", prefix, req.status,
			req.reason);
	} else if (req.status / 100 == 5) {
		code = MIGRATE_EXIT_TEMPFAIL;
		*error_r = t_strdup_printf("%s: %s%s", prefix, req.reason,
			answer.error == NULL ? "" :
			t_strdup_printf(" (%s)", answer.error));
	} else if (req.status / 100 != 2) {
		/* invalid_grant (wrong, revoked or expired refresh token),
		   invalid_client, unauthorized_client, ... */
		code = MIGRATE_EXIT_AUTH;
		*error_r = answer.error == NULL ?
			t_strdup_printf("%s refused the login: HTTP %u %s",
					prefix, req.status, req.reason) :
			t_strdup_printf("%s refused the login: %s%s", prefix,
				answer.error,
				answer.error_description == NULL ? "" :
				t_strdup_printf(" (%s)",
					answer.error_description));
	} else if (answer.access_token == NULL ||
		   *answer.access_token == '\0') {
		code = MIGRATE_EXIT_PROTOCOL;
		*error_r = t_strdup_printf("%s: the answer has no "
					   "access_token", prefix);
	} else {
		if (answer.expires_in == NULL ||
		    str_to_uint(answer.expires_in, &lifetime) < 0 ||
		    lifetime == 0)
			lifetime = MIGRATE_OAUTH2_DEFAULT_LIFETIME_SECS;
		token_r->access_token = answer.access_token;
		token_r->lifetime_secs = lifetime;
	}
	migrate_oauth2_buffer_wipe(req.answer);
	pool_unref(&req.pool);
	return code;
}

/* --- the admin's token command --- */

/* Read the command's output until it closes it. Returns 0, or -1 when
   timeout_secs passed first. */
static int
migrate_oauth2_command_read(int fd, unsigned int timeout_secs,
			    buffer_t *output)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	unsigned char buf[1024];
	time_t deadline = time(NULL) + timeout_secs, now;
	ssize_t ret;
	int pret = 0;

	for (;;) {
		now = time(NULL);
		if (now >= deadline ||
		    (pret = poll(&pfd, 1, (deadline - now) * 1000)) == 0) {
			pret = -1;
			break;
		}
		if (pret < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if ((ret = read(fd, buf, sizeof(buf))) == 0) {
			pret = 0;
			break;
		}
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			pret = 0;
			break;
		}
		if (output->used + ret <= MIGRATE_OAUTH2_MAX_ANSWER_SIZE)
			buffer_append(output, buf, ret);
	}
	safe_memset(buf, 0, sizeof(buf));
	return pret < 0 ? -1 : 0;
}

/* Run the command with the user as its argument and read what it prints,
   for at most timeout_secs (then it and what it started are killed). Not
   lib-program-client: it reaps with child-wait's SIGCHLD handler, which
   stays installed and would take the exit status of the doveadm children
   migrate run waits for. Returns the exit status, -1 if it couldn't run
   or was killed (error_r). */
static int
migrate_oauth2_command_exec(const char *command, const char *user,
			    unsigned int timeout_secs, buffer_t *output,
			    const char **error_r)
{
	const char *argv[] = { command, user, NULL };
	int fds[2], status, null_fd;
	bool timed_out;
	pid_t pid;

	if (pipe(fds) < 0) {
		*error_r = t_strdup_printf("pipe() failed: %m");
		return -1;
	}
	if ((pid = fork()) < 0) {
		*error_r = t_strdup_printf("fork() failed: %m");
		i_close_fd(&fds[0]);
		i_close_fd(&fds[1]);
		return -1;
	}
	if (pid == 0) {
		/* stdout to us, stderr to the log, nothing to read */
		null_fd = open("/dev/null", O_RDONLY);
		if (null_fd == -1 || dup2(null_fd, STDIN_FILENO) < 0 ||
		    dup2(fds[1], STDOUT_FILENO) < 0)
			i_fatal("token command: dup2() failed: %m");
		i_close_fd(&fds[0]);
		/* a group of its own: a timeout kills what it started too */
		(void)setpgid(0, 0);
		execv(command, (char **)argv);
		i_fatal("token command: execv(%s) failed: %m", command);
	}
	(void)setpgid(pid, pid);
	i_close_fd(&fds[1]);
	timed_out = migrate_oauth2_command_read(fds[0], timeout_secs,
						output) < 0;
	i_close_fd(&fds[0]);
	if (timed_out)
		(void)kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			*error_r = t_strdup_printf("waitpid() failed: %m");
			return -1;
		}
	}
	if (timed_out) {
		*error_r = t_strdup_printf("no answer in %u seconds (killed)",
					   timeout_secs);
		return -1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	*error_r = t_strdup_printf("killed by signal %d", WTERMSIG(status));
	return -1;
}

static int
migrate_oauth2_command_run(const struct doveadm_migrate_oauth2_settings *set,
			   const char *user,
			   struct doveadm_migrate_oauth2_token *token_r,
			   const char **error_r)
{
	buffer_t *output = t_buffer_create(256);
	const char *const *lines, *error;
	unsigned int lifetime;
	int status;

	status = migrate_oauth2_command_exec(set->token_command, user,
					     set->token_command_timeout_secs,
					     output, &error);
	if (status != 0) {
		migrate_oauth2_buffer_wipe(output);
		if (status < 0) {
			*error_r = t_strdup_printf("OAuth2 token command %s "
				"failed: %s", set->token_command, error);
			return MIGRATE_EXIT_TEMPFAIL;
		}
		*error_r = t_strdup_printf("OAuth2 token command %s %s "
			"(exit %d)", set->token_command,
			status == MIGRATE_EXIT_TEMPFAIL ?
			"failed for now" : "refused the login", status);
		return status == MIGRATE_EXIT_TEMPFAIL ?
			MIGRATE_EXIT_TEMPFAIL : MIGRATE_EXIT_AUTH;
	}
	/* the token, then optionally its lifetime in seconds */
	lines = t_strsplit(t_strndup(output->data, output->used), "\r\n");
	migrate_oauth2_buffer_wipe(output);
	if (lines[0] == NULL || *lines[0] == '\0') {
		*error_r = t_strdup_printf("OAuth2 token command %s printed "
			"no token", set->token_command);
		return MIGRATE_EXIT_PROTOCOL;
	}
	if (lines[1] == NULL || str_to_uint(lines[1], &lifetime) < 0 ||
	    lifetime == 0)
		lifetime = MIGRATE_OAUTH2_DEFAULT_LIFETIME_SECS;
	token_r->access_token = lines[0];
	token_r->lifetime_secs = lifetime;
	return 0;
}

int doveadm_migrate_oauth2_token_get(
	const struct doveadm_migrate_oauth2_settings *set, const char *user,
	struct doveadm_migrate_oauth2_token *token_r, const char **error_r)
{
	i_zero(token_r);
	i_assert(set->enabled);
	if (set->token_command != NULL)
		return migrate_oauth2_command_run(set, user, token_r, error_r);
	return migrate_oauth2_endpoint_request(set, token_r, error_r);
}

/* --- the config of migrate run's children --- */

static const char *
migrate_oauth2_doveadm_lookup(void *context ATTR_UNUSED, const char *name)
{
	const char *value = doveadm_migrate_setting(name);

	return value == NULL || *value == '\0' ? NULL : value;
}

/* The user's userdb fields (NULL if the lookup failed: the children's own
   lookup then says why). migrate run reads the OAuth2 settings itself
   for the first token; the children get userdb fields as settings, so
   they must count here too (a refresh token per user in an SQL
   userdb). */
static const char *const *
migrate_oauth2_userdb_fields(const char *user, pool_t pool)
{
	struct auth_master_connection *conn;
	struct auth_user_info info;
	const char *username, *const *fields;
	int ret;

	conn = auth_master_init(doveadm_settings->auth_socket_path, 0);
	i_zero(&info);
#ifdef MIGRATE_DOVECOT24
	info.protocol = "doveadm";
#else
	info.service = "doveadm";
#endif
	ret = auth_master_user_lookup(conn, user, &info, pool, &username,
				      &fields);
	auth_master_deinit(&conn);
	/* a failed lookup fails the children's too, with its own error */
	return ret > 0 ? fields : NULL;
}

struct migrate_oauth2_run_lookup_context {
	/* the user's userdb fields, NULL if the lookup failed */
	const char *const *fields;
	/* the account's, handed on by the caller; NULL if none */
	const char *refresh_token;
};

/* A userdb field ("name=value", or "plugin/name=value" on 2.3) overrides
   the config, as for the children; a refresh token handed on by the
   caller counts as the config's (it is in the children's config). */
static const char *
migrate_oauth2_run_lookup(const struct migrate_oauth2_run_lookup_context *ctx,
			  const char *name)
{
	const char *value, *const *field;
	size_t len = strlen(name);

	for (field = ctx->fields; field != NULL && *field != NULL; field++) {
		value = *field;
		if (str_begins_with(value, "plugin/"))
			value += 7;
		if (strncmp(value, name, len) == 0 && value[len] == '=')
			return value[len + 1] == '\0' ? NULL : value + len + 1;
	}
	if (ctx->refresh_token != NULL &&
	    strcmp(name, "migrate_oauth2_refresh_token") == 0)
		return ctx->refresh_token;
	return migrate_oauth2_doveadm_lookup(NULL, name);
}

/* imapc_sasl_mechanisms of the config, lowercase, space-separated */
static const char *migrate_oauth2_sasl_mechanisms(void)
{
#ifdef MIGRATE_DOVECOT24
	/* a boollist, which doveconf -h can't print */
	const struct imapc_settings *set;
	const char *error, *mechs;

	if (settings_get(master_service_get_event(master_service),
			 &imapc_setting_parser_info, 0, &set, &error) < 0) {
		i_error("migrate: %s", error);
		return "";
	}
	mechs = t_str_lcase(t_strarray_join(
		settings_boollist_get(&set->imapc_sasl_mechanisms), " "));
	settings_free(set);
	return mechs;
#else
	return t_str_lcase(doveadm_migrate_conf_get("imapc_sasl_mechanisms"));
#endif
}

bool doveadm_migrate_oauth2_configured(void)
{
	return migrate_oauth2_doveadm_lookup(NULL,
			"migrate_oauth2_token_url") != NULL ||
		migrate_oauth2_doveadm_lookup(NULL,
			"migrate_oauth2_token_command") != NULL;
}

static int
migrate_oauth2_run_conf_write(const struct doveadm_migrate_oauth2_settings *set,
			      const char *base_conf, const char *user,
			      pool_t pool, const char **path_r,
			      time_t *refresh_at_r, const char **error_r)
{
	struct doveadm_migrate_oauth2_token token;
	const char *error, *mechs, *new_path, *path;
	string_t *conf;
	int code;

	code = doveadm_migrate_oauth2_token_get(set, user, &token, error_r);
	if (code != 0)
		return code;

	conf = t_str_new(512);
	str_printfa(conf, "# generated by doveadm migrate for %s, "
		    "removed when its run ends\n", user);
	doveadm_migrate_conf_version_append(conf, base_conf);
	str_printfa(conf, "!include %s\n", base_conf);
	/* the account logs in with its token, never as a master user */
	str_append(conf, "imapc_master_user =\n");
	doveadm_migrate_conf_setting_append(conf, "imapc_password",
					    token.access_token);
	mechs = migrate_oauth2_sasl_mechanisms();
	if (strstr(mechs, "oauthbearer") == NULL &&
	    strstr(mechs, "xoauth2") == NULL)
		str_append(conf, "imapc_sasl_mechanisms = xoauth2\n");
#ifndef MIGRATE_DOVECOT24
	str_append(conf, "plugin {\n");
#endif
	*refresh_at_r = time(NULL) + token.lifetime_secs / 2;
	str_printfa(conf, "migrate_oauth2_refresh_at = %ld\n",
		    (long)*refresh_at_r);
#ifndef MIGRATE_DOVECOT24
	str_append(conf, "}\n");
#endif
	/* written beside it and renamed over it: a child that starts
	   meanwhile (migrate run's workers) reads the old file or the new
	   one, never a part */
	if (doveadm_migrate_conf_file_write(user, ".oauth2.conf.new", conf,
					    pool_datastack_create(),
					    &new_path, &error) < 0) {
		*error_r = error;
		code = MIGRATE_EXIT_SOFTWARE;
	} else {
		path = t_strndup(new_path, strlen(new_path) - 4);
		if (rename(new_path, path) < 0) {
			*error_r = t_strdup_printf("rename(%s, %s) failed: %m",
						   new_path, path);
			i_unlink(new_path);
			code = MIGRATE_EXIT_SOFTWARE;
		} else {
			*path_r = p_strdup(pool, path);
		}
	}
	safe_memset(str_c_modifiable(conf), 0, str_len(conf));
	return code;
}

int doveadm_migrate_oauth2_run_conf(const char *base_conf, const char *user,
				    const char *refresh_token,
				    pool_t pool, const char **path_r,
				    time_t *refresh_at_r, const char **error_r)
{
	struct migrate_oauth2_run_lookup_context lookup_ctx;
	struct doveadm_migrate_oauth2_settings set;
	const char *error;
	pool_t userdb_pool;
	int code = 0;

	*path_r = NULL;
	if (!doveadm_migrate_oauth2_configured())
		return 0;
	/* the fields may hold a refresh token: cleared when freed */
	userdb_pool = pool_alloconly_create_clean("migrate run userdb fields",
						  1024);
	i_zero(&lookup_ctx);
	lookup_ctx.fields = migrate_oauth2_userdb_fields(user, userdb_pool);
	lookup_ctx.refresh_token = refresh_token;
	if (doveadm_migrate_oauth2_settings_read(
		(doveadm_migrate_oauth2_lookup_t *)migrate_oauth2_run_lookup,
		&lookup_ctx, &set, &error) < 0) {
		*error_r = error;
		code = MIGRATE_EXIT_CONFIG;
	} else if (set.enabled) {
		code = migrate_oauth2_run_conf_write(&set, base_conf, user,
						     pool, path_r,
						     refresh_at_r, error_r);
	}
	pool_unref(&userdb_pool);
	return code;
}

/* --- refreshing in the children --- */

#define MIGRATE_OAUTH2_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, migrate_oauth2_user_module)
#define MIGRATE_OAUTH2_BOX_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, migrate_oauth2_box_module)
#define MIGRATE_OAUTH2_MAIL_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, migrate_oauth2_mail_module)

struct migrate_oauth2_user {
	union mail_user_module_context module_ctx;
	struct doveadm_migrate_oauth2_settings set;
	time_t refresh_at;
	/* the token every imapc client of the user logs in with */
	char *token;
	/* the imapc clients to hand new tokens to */
	ARRAY(struct imapc_client *) clients;
};

struct migrate_oauth2_box {
	union mailbox_module_context module_ctx;
};

static MODULE_CONTEXT_DEFINE_INIT(migrate_oauth2_user_module,
				  &mail_user_module_register);
static MODULE_CONTEXT_DEFINE_INIT(migrate_oauth2_box_module,
				  &mail_storage_module_register);
static MODULE_CONTEXT_DEFINE_INIT(migrate_oauth2_mail_module,
				  &mail_module_register);

static const char *
migrate_oauth2_user_lookup(struct mail_user *user, const char *name)
{
	const char *value = migrate_user_setting(user, name);

	return value == NULL || *value == '\0' ? NULL : value;
}

static void
migrate_oauth2_client_set(struct imapc_client *client, const char *token,
			  bool refreshed)
{
#ifdef MIGRATE_DOVECOT24
	client->password = p_strdup(client->pool, token);
	/* Dovecot 2.4.1's imapc counts every reconnect of a connection
	   against imapc_connection_retry_count (default 1) and never resets
	   the count, so a connection that a server ended at its token's
	   expiry once could not log in again at the next expiry: each new
	   token allows one more reconnect (2.3 counts only the delayed ones,
	   after failed connects) */
	struct imapc_settings *set = (struct imapc_settings *)client->set;

	if (refreshed && set->imapc_connection_retry_count < UINT_MAX - 1)
		set->imapc_connection_retry_count++;
#else
	client->set.password = p_strdup(client->pool, token);
	(void)refreshed;
#endif
}

static void migrate_oauth2_refresh(struct mail_user *user)
{
	struct migrate_oauth2_user *ouser = MIGRATE_OAUTH2_USER_CONTEXT(user);
	struct doveadm_migrate_oauth2_token token;
	struct imapc_client *client;
	const char *error;

	if (ouser == NULL || time(NULL) < ouser->refresh_at)
		return;
	T_BEGIN {
		if (doveadm_migrate_oauth2_token_get(&ouser->set,
				user->username, &token, &error) != 0) {
			/* the current token still works for a while: try
			   again in a minute */
			e_error(user->event, "migrate: user %s: refreshing "
				"the OAuth2 token failed: %s", user->username,
				error);
			ouser->refresh_at = time(NULL) + 60;
		} else {
			e_debug(user->event, "migrate: user %s: OAuth2 token "
				"refreshed, valid for %u s", user->username,
				token.lifetime_secs);
			ouser->refresh_at = time(NULL) +
				token.lifetime_secs / 2;
			if (ouser->token != NULL)
				safe_memset(ouser->token, 0,
					    strlen(ouser->token));
			i_free(ouser->token);
			ouser->token = i_strdup(token.access_token);
			array_foreach_elem(&ouser->clients, client)
				migrate_oauth2_client_set(client, ouser->token,
							  TRUE);
		}
	} T_END;
}

static int migrate_oauth2_box_open(struct mailbox *box)
{
	struct migrate_oauth2_box *obox = MIGRATE_OAUTH2_BOX_CONTEXT(box);

	migrate_oauth2_refresh(box->storage->user);
	return obox->module_ctx.super.open(box);
}

static void migrate_oauth2_mail_set_seq(struct mail *_mail, uint32_t seq,
					bool saving)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	union mail_module_context *omail = MIGRATE_OAUTH2_MAIL_CONTEXT(mail);

	migrate_oauth2_refresh(_mail->box->storage->user);
	omail->super.set_seq(_mail, seq, saving);
}

static bool migrate_oauth2_mail_set_uid(struct mail *_mail, uint32_t uid)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	union mail_module_context *omail = MIGRATE_OAUTH2_MAIL_CONTEXT(mail);

	migrate_oauth2_refresh(_mail->box->storage->user);
	return omail->super.set_uid(_mail, uid);
}

static bool migrate_oauth2_is_imapc(struct mail_storage *storage)
{
	return strcmp(storage->name, IMAPC_STORAGE_NAME) == 0 &&
		MIGRATE_OAUTH2_USER_CONTEXT(storage->user) != NULL;
}

static void migrate_oauth2_mail_allocated(struct mail *_mail)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct mail_vfuncs *v = mail->vlast;
	union mail_module_context *omail;

	if (!migrate_oauth2_is_imapc(_mail->box->storage))
		return;
	omail = p_new(mail->pool, union mail_module_context, 1);
	omail->super = *v;
	mail->vlast = &omail->super;
	v->set_seq = migrate_oauth2_mail_set_seq;
	v->set_uid = migrate_oauth2_mail_set_uid;
	MODULE_CONTEXT_SET_SELF(mail, migrate_oauth2_mail_module, omail);
}

static void migrate_oauth2_mailbox_allocated(struct mailbox *box)
{
	struct mailbox_vfuncs *v = box->vlast;
	struct migrate_oauth2_box *obox;

	if (!migrate_oauth2_is_imapc(box->storage))
		return;
	obox = p_new(box->pool, struct migrate_oauth2_box, 1);
	obox->module_ctx.super = *v;
	box->vlast = &obox->module_ctx.super;
	v->open = migrate_oauth2_box_open;
	MODULE_CONTEXT_SET(box, migrate_oauth2_box_module, obox);
}

static void migrate_oauth2_mail_storage_created(struct mail_storage *storage)
{
	struct migrate_oauth2_user *ouser =
		MIGRATE_OAUTH2_USER_CONTEXT(storage->user);
	struct imapc_storage_client *sclient;

	if (ouser == NULL || strcmp(storage->name, IMAPC_STORAGE_NAME) != 0)
		return;
	sclient = ((struct imapc_storage *)storage)->client;
	if (sclient == NULL || sclient->client == NULL)
		return;
	array_push_back(&ouser->clients, &sclient->client);
	if (ouser->token != NULL)
		migrate_oauth2_client_set(sclient->client, ouser->token,
					  FALSE);
}

static void migrate_oauth2_user_deinit(struct mail_user *user)
{
	struct migrate_oauth2_user *ouser = MIGRATE_OAUTH2_USER_CONTEXT(user);

	if (ouser->token != NULL)
		safe_memset(ouser->token, 0, strlen(ouser->token));
	i_free(ouser->token);
	array_free(&ouser->clients);
	ouser->module_ctx.super.deinit(user);
}

static void migrate_oauth2_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct migrate_oauth2_user *ouser;
	struct doveadm_migrate_oauth2_settings set;
	const char *refresh_at, *error;
	unsigned int secs;

	/* only in migrate run's children, which got the first token */
	refresh_at = migrate_user_setting(user, "migrate_oauth2_refresh_at");
	if (refresh_at == NULL || *refresh_at == '\0' ||
	    str_to_uint(refresh_at, &secs) < 0)
		return;
	if (doveadm_migrate_oauth2_settings_read(
		(doveadm_migrate_oauth2_lookup_t *)migrate_oauth2_user_lookup,
		user, &set, &error) < 0) {
		e_error(user->event, "migrate: user %s: %s", user->username,
			error);
		return;
	}
	if (!set.enabled)
		return;
	ouser = p_new(user->pool, struct migrate_oauth2_user, 1);
	/* the lookups may have come from the data stack (2.4) */
	ouser->set = set;
	ouser->set.token_url = p_strdup(user->pool, set.token_url);
	ouser->set.token_command = p_strdup(user->pool, set.token_command);
	ouser->set.client_id = p_strdup(user->pool, set.client_id);
	ouser->set.client_secret = p_strdup(user->pool, set.client_secret);
	ouser->set.scope = p_strdup(user->pool, set.scope);
	ouser->set.refresh_token = p_strdup(user->pool, set.refresh_token);
	ouser->refresh_at = secs;
	i_array_init(&ouser->clients, 2);
	ouser->module_ctx.super = *v;
	user->vlast = &ouser->module_ctx.super;
	v->deinit = migrate_oauth2_user_deinit;
	MODULE_CONTEXT_SET(user, migrate_oauth2_user_module, ouser);
}

static struct mail_storage_hooks migrate_oauth2_mail_storage_hooks = {
	.mail_user_created = migrate_oauth2_mail_user_created,
	.mail_storage_created = migrate_oauth2_mail_storage_created,
	.mailbox_allocated = migrate_oauth2_mailbox_allocated,
	.mail_allocated = migrate_oauth2_mail_allocated,
};

void doveadm_migrate_oauth2_init(struct module *module)
{
	mail_storage_hooks_add_forced(module,
				      &migrate_oauth2_mail_storage_hooks);
}

void doveadm_migrate_oauth2_deinit(void)
{
	/* the storage hooks: as the guard's (doveadm-migrate-guard.c) */
}
