/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "migrate-compat.h"
#include "array.h"
#include "str.h"
#include "ioloop.h"
#include "istream.h"
#ifdef MIGRATE_DOVECOT24
#  include "json-generator.h"
#  include "json-istream.h"
#else
#  include "json-parser.h"
#endif
#include "http-client.h"
#include "http-response.h"
#include "iostream-ssl.h"
#ifdef MIGRATE_DOVECOT24
#  include "master-service.h"
#else
#  include "master-service-ssl-settings.h"
#endif
#include "doveadm-settings.h"
#include "migrate-common.h"
#include "doveadm-migrate.h"
#include "doveadm-migrate-http.h"

/* One doveadm command on another Dovecot backend through its doveadm HTTP
   API (service doveadm's http listener, "doveadm:doveadm_password" basic
   auth): POST [["command",{params},"tag"]] to /doveadm/v1 and read the
   first result row, or the error with the command's exit code. The
   request is sent once: a migration is never started twice by a
   retry. */

#define MIGRATE_REMOTE_PATH "/doveadm/v1"
#define MIGRATE_REMOTE_TAG "migrate"
#define MIGRATE_REMOTE_CONNECT_TIMEOUT_MSECS (30 * 1000)

struct migrate_remote_request {
	pool_t pool;
	struct doveadm_migrate_remote_result *result;

#ifdef MIGRATE_DOVECOT24
	struct json_istream *json_input;
#else
	struct json_parser *parser;
#endif
	struct io *io;
	/* parse state: where in the answer we are */
	unsigned int depth, object_depth;
	bool in_first_object, first_object_seen;
	const char *key;

	int ret;
	const char *error;
};

void doveadm_migrate_remote_params_init(string_t *json, const char *command)
{
	str_append(json, "[[\"");
	json_append_escaped(json, command);
	str_append(json, "\",{");
}

static void migrate_remote_param_key(string_t *json, const char *key)
{
	if (str_data(json)[str_len(json) - 1] != '{')
		str_append_c(json, ',');
	str_append_c(json, '"');
	json_append_escaped(json, key);
	str_append(json, "\":");
}

void doveadm_migrate_remote_param_str(string_t *json, const char *key,
				      const char *value)
{
	migrate_remote_param_key(json, key);
	str_append_c(json, '"');
	json_append_escaped(json, value);
	str_append_c(json, '"');
}

void doveadm_migrate_remote_param_strv(string_t *json, const char *key,
				       const char *const *values)
{
	migrate_remote_param_key(json, key);
	str_append_c(json, '[');
	for (; *values != NULL; values++) {
		str_append_c(json, '"');
		json_append_escaped(json, *values);
		str_append(json, values[1] != NULL ? "\"," : "\"");
	}
	str_append_c(json, ']');
}

void doveadm_migrate_remote_param_bool(string_t *json, const char *key)
{
	migrate_remote_param_key(json, key);
	str_append(json, "true");
}

static void migrate_remote_params_finish(string_t *json)
{
	str_append(json, "},\""MIGRATE_REMOTE_TAG"\"]]");
}

const char *
doveadm_migrate_remote_field(const struct doveadm_migrate_remote_result *result,
			     const char *key)
{
	const char *const *fields;
	unsigned int i, count;

	if (!array_is_created(&result->fields))
		return NULL;
	fields = array_get(&result->fields, &count);
	for (i = 0; i + 1 < count; i += 2) {
		if (strcmp(fields[i], key) == 0)
			return fields[i + 1];
	}
	return NULL;
}

/* One token of the answer:
   [["doveadmResponse",[{"key":"value",...},...],"tag"]] or
   [["error",{"type":"exitCode","exitCode":75},"tag"]]. The first string
   outside objects is the kind, the first object's pairs are the fields. */
/* The answer is read: parse_error is the JSON parser's complaint, or
   NULL when it was well-formed. */
static void
migrate_remote_answer_end(struct migrate_remote_request *req,
			  const char *parse_error)
{
	if (parse_error != NULL) {
		req->ret = -1;
		req->error = p_strdup_printf(req->pool,
			"invalid answer from the doveadm HTTP API: %s",
			parse_error);
	} else if (req->result->kind == NULL) {
		req->ret = -1;
		req->error = "empty answer from the doveadm HTTP API";
	}
}

/* The parse state both Dovecots' parsers feed: an array or object
   starts, one ends, a value arrives (with its member name, if any). */
static void migrate_remote_open(struct migrate_remote_request *req,
				bool object)
{
	req->depth++;
	if (object && !req->first_object_seen) {
		req->first_object_seen = TRUE;
		req->in_first_object = TRUE;
		req->object_depth = req->depth;
	}
}

static void migrate_remote_close(struct migrate_remote_request *req)
{
	if (req->in_first_object && req->depth == req->object_depth)
		req->in_first_object = FALSE;
	req->depth--;
}

static void
migrate_remote_value(struct migrate_remote_request *req, const char *key,
		     const char *value, bool is_string)
{
	struct doveadm_migrate_remote_result *result = req->result;

	if (req->in_first_object && req->depth == req->object_depth &&
	    key != NULL) {
		key = p_strdup(req->pool, key);
		value = p_strdup(req->pool, value);
		array_push_back(&result->fields, &key);
		array_push_back(&result->fields, &value);
	} else if (!req->first_object_seen && result->kind == NULL &&
		   is_string) {
		result->kind = p_strdup(req->pool, value);
	}
}

#ifndef MIGRATE_DOVECOT24
/* 2.3's lib-json hands out tokens: keys, values and each array's and
   object's start and end */
static void
migrate_remote_token(struct migrate_remote_request *req, enum json_type type,
		     const char *value)
{
	switch (type) {
	case JSON_TYPE_ARRAY:
	case JSON_TYPE_OBJECT:
		migrate_remote_open(req, type == JSON_TYPE_OBJECT);
		return;
	case JSON_TYPE_ARRAY_END:
	case JSON_TYPE_OBJECT_END:
		migrate_remote_close(req);
		return;
	case JSON_TYPE_OBJECT_KEY:
		req->key = p_strdup(req->pool, value);
		return;
	default:
		break;
	}
	migrate_remote_value(req, req->key, value, type == JSON_TYPE_STRING);
	req->key = NULL;
}

static void migrate_remote_payload_input(struct migrate_remote_request *req)
{
	enum json_type type;
	const char *value, *error;
	int ret;

	while ((ret = json_parse_next(req->parser, &type, &value)) > 0)
		migrate_remote_token(req, type, value);
	if (ret == 0)
		return;

	/* the whole answer is read */
	io_remove(&req->io);
	ret = json_parser_deinit(&req->parser, &error);
	migrate_remote_answer_end(req, ret < 0 ? error : NULL);
}
#else
/* 2.4's lib-json reads nodes, not tokens: walking the answer reports an
   object member's name with its value and the end of each array and
   object, which is all the state above needs */
static void
migrate_remote_node(struct migrate_remote_request *req,
		    const struct json_node *node)
{
	if (json_node_is_end(node))
		migrate_remote_close(req);
	else if (node->type == JSON_TYPE_ARRAY ||
		 node->type == JSON_TYPE_OBJECT)
		migrate_remote_open(req, node->type == JSON_TYPE_OBJECT);
	else {
		migrate_remote_value(req, node->name, json_node_get_str(node),
				     json_node_is_string(node));
	}
}

static void migrate_remote_payload_input(struct migrate_remote_request *req)
{
	struct json_node node;
	const char *error;
	int ret;

	while ((ret = json_istream_walk(req->json_input, &node)) > 0)
		migrate_remote_node(req, &node);
	if (ret == 0)
		return;

	/* the whole answer is read */
	io_remove(&req->io);
	ret = json_istream_finish(&req->json_input, &error);
	i_assert(ret != 0);
	migrate_remote_answer_end(req, ret < 0 ? error : NULL);
}
#endif

static int migrate_remote_status_exit_code(unsigned int status)
{
	/* lib-http reports its own failures as statuses >= 9000 */
	switch (status) {
	case HTTP_CLIENT_REQUEST_ERROR_INVALID_URL:
		return MIGRATE_EXIT_CONFIG;
	case HTTP_CLIENT_REQUEST_ERROR_HOST_LOOKUP_FAILED:
	case HTTP_CLIENT_REQUEST_ERROR_CONNECT_FAILED:
		return MIGRATE_EXIT_UNREACHABLE;
	default:
		break;
	}
	/* lost connection, timeout, ... */
	return status >= HTTP_RESPONSE_STATUS_INTERNAL ?
		MIGRATE_EXIT_TEMPFAIL : MIGRATE_EXIT_PROTOCOL;
}

struct http_client *
doveadm_migrate_http_client_init(struct doveadm_migrate_http_settings *set,
				 unsigned int connect_timeout_msecs,
				 unsigned int request_timeout_msecs)
{
	struct http_client_settings *http_set = &set->http;
#ifdef MIGRATE_DOVECOT24
	/* the same client as on 2.3 (not the config's http_client_*
	   settings); lib-http reads the ssl_client_* settings through the
	   event when it connects. A private context, as 2.3's
	   http_client_init() made: the global one would keep the connection
	   past the caller's ioloop and crash closing it at exit. */
	http_client_settings_init(null_pool, http_set);
	http_set->request_max_attempts = 1;
	http_set->request_max_redirects = 0;
#else
	i_zero(&set->ssl);
	master_service_ssl_client_settings_to_iostream_set(doveadm_ssl_set,
		pool_datastack_create(), &set->ssl);
	i_zero(http_set);
	http_set->max_attempts = 1;
	http_set->max_redirects = 0;
	http_set->ssl = &set->ssl;
#endif
	http_set->max_parallel_connections = 1;
	http_set->max_pipelined_requests = 1;
	http_set->connect_timeout_msecs = connect_timeout_msecs;
	http_set->request_timeout_msecs = request_timeout_msecs;
#ifdef MIGRATE_DOVECOT24
	return http_client_init_private(http_set,
		master_service_get_event(master_service));
#else
	return http_client_init(http_set);
#endif
}

static void
migrate_remote_response(const struct http_response *response,
			struct migrate_remote_request *req)
{
	if (response->status == 401) {
		req->ret = -1;
		req->result->exit_code = MIGRATE_EXIT_AUTH;
		req->error = "the doveadm HTTP API refused doveadm_password";
		return;
	}
	if (response->status / 100 != 2) {
		req->ret = -1;
		req->result->exit_code =
			migrate_remote_status_exit_code(response->status);
		req->error = p_strdup_printf(req->pool, "doveadm HTTP API: %s",
					     http_response_get_message(response));
		return;
	}
	if (response->payload == NULL) {
		req->ret = -1;
		req->result->exit_code = MIGRATE_EXIT_PROTOCOL;
		req->error = "empty answer from the doveadm HTTP API";
		return;
	}
#ifdef MIGRATE_DOVECOT24
	/* numbers as strings, as 2.3's parser gives them */
	req->json_input = json_istream_create(response->payload,
					      JSON_ISTREAM_TYPE_NORMAL, NULL,
					      JSON_PARSER_FLAG_NUMBERS_AS_STRING);
#else
	req->parser = json_parser_init_flags(response->payload,
					     JSON_PARSER_NO_ROOT_OBJECT);
#endif
	req->io = io_add_istream(response->payload,
				 migrate_remote_payload_input, req);
	migrate_remote_payload_input(req);
}

int doveadm_migrate_remote_call(const char *backend, string_t *json,
				unsigned int timeout_secs, pool_t pool,
				struct doveadm_migrate_remote_result *result_r,
				const char **error_r)
{
	struct migrate_remote_request req;
	struct doveadm_migrate_http_settings http_set;
	struct http_client *client;
	struct http_client_request *http_req;
	struct ioloop *ioloop;
	const char *url, *exit_code, *type;

	i_zero(result_r);
	p_array_init(&result_r->fields, pool, 32);
	if (doveadm_settings->doveadm_password[0] == '\0') {
		result_r->exit_code = MIGRATE_EXIT_CONFIG;
		*error_r = "doveadm_password is not set (the backends' doveadm "
			"HTTP API password)";
		return -1;
	}
	if (!str_begins_with(backend, "http://") &&
	    !str_begins_with(backend, "https://")) {
		result_r->exit_code = MIGRATE_EXIT_CONFIG;
		*error_r = t_strdup_printf("backend %s: not an http:// or "
			"https:// URL of a doveadm HTTP API", backend);
		return -1;
	}
	if (strstr(backend, MIGRATE_REMOTE_PATH) != NULL)
		url = backend;
	else {
		url = t_strdup(backend);
		if (url[strlen(url) - 1] == '/')
			url = t_strndup(url, strlen(url) - 1);
		url = t_strconcat(url, MIGRATE_REMOTE_PATH, NULL);
	}
	migrate_remote_params_finish(json);

	i_zero(&req);
	req.pool = pool;
	req.result = result_r;
	req.result->exit_code = MIGRATE_EXIT_OK;

	ioloop = io_loop_create();
	client = doveadm_migrate_http_client_init(&http_set,
		MIGRATE_REMOTE_CONNECT_TIMEOUT_MSECS, timeout_secs * 1000U);

	http_req = http_client_request_url_str(client, "POST", url,
					       migrate_remote_response, &req);
	http_client_request_set_auth_simple(http_req, "doveadm",
		doveadm_settings->doveadm_password);
	http_client_request_add_header(http_req, "Content-Type",
				       "application/json");
	http_client_request_set_payload_data(http_req, str_data(json),
					     str_len(json));
	http_client_request_submit(http_req);
	http_client_wait(client);
#ifdef MIGRATE_DOVECOT24
	if (req.json_input != NULL) {
		/* the connection went away in the middle of the answer */
		io_remove(&req.io);
		json_istream_destroy(&req.json_input);
		if (req.ret == 0) {
			req.ret = -1;
			req.error = "the answer of the doveadm HTTP API "
				"ended early";
		}
	}
#else
	if (req.parser != NULL) {
		/* the connection went away in the middle of the answer */
		const char *error;

		io_remove(&req.io);
		(void)json_parser_deinit(&req.parser, &error);
		if (req.ret == 0) {
			req.ret = -1;
			req.error = "the answer of the doveadm HTTP API "
				"ended early";
		}
	}
#endif
	http_client_deinit(&client);
	io_loop_destroy(&ioloop);

	if (req.ret < 0) {
		if (result_r->exit_code == MIGRATE_EXIT_OK)
			result_r->exit_code = MIGRATE_EXIT_PROTOCOL;
		*error_r = t_strdup_printf("backend %s: %s", backend,
					   req.error);
		return -1;
	}
	if (strcmp(result_r->kind, "doveadmResponse") == 0)
		return 0;
	exit_code = doveadm_migrate_remote_field(result_r, "exitCode");
	if (strcmp(result_r->kind, "error") != 0 || exit_code == NULL ||
	    str_to_int(exit_code, &result_r->exit_code) < 0) {
		result_r->exit_code = MIGRATE_EXIT_PROTOCOL;
		*error_r = t_strdup_printf("backend %s: unexpected answer "
			"from the doveadm HTTP API", backend);
		return -1;
	}
	type = doveadm_migrate_remote_field(result_r, "type");
	if (type == NULL || strcmp(type, "exitCode") != 0) {
		/* unknownMethod: the plugin isn't loaded there */
		result_r->exit_code = MIGRATE_EXIT_CONFIG;
		*error_r = t_strdup_printf("backend %s: the doveadm HTTP API "
			"answered %s (is the dovecot-migrate doveadm plugin "
			"loaded there?)", backend,
			type == NULL ? "an error" : type);
		return -1;
	}
	if (result_r->exit_code == 0)
		result_r->exit_code = MIGRATE_EXIT_SOFTWARE;
	*error_r = t_strdup_printf("backend %s: the command failed with "
				   "exit code %d", backend,
				   result_r->exit_code);
	return -1;
}
