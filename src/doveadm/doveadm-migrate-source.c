/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "migrate-compat.h"
#include "settings-parser.h"
#ifdef MIGRATE_DOVECOT24
#  include "settings.h"
#endif
#include "mail-user.h"
#include "mail-namespace.h"
#include "mail-storage-settings.h"
#include "mail-storage-service.h"
#include "imapc-storage.h"
#include "mdbox-storage.h"
#include "doveadm-mail.h"
#include "migrate-common.h"
#include "migrate-user-settings.h"
#include "doveadm-migrate.h"

/* The old server as a mail user of its own: the user's settings with
   mail_location = imapc:, as dsync makes it for `backup -R imapc:`. */

/* bodies are fetched one by one unless imapc may pipeline them: without
   prefetching every download costs a round trip */
#define DOVEADM_MIGRATE_SOURCE_PREFETCH "32"

#ifdef MIGRATE_DOVECOT24
/* As dsync makes the second user of `backup -R imapc:`: a copy of the
   service user whose storage settings are reset and point to imapc. */
static int
doveadm_migrate_source_next(struct doveadm_mail_cmd_context *ctx,
			    bool delay_login, const char *oauth2_token,
			    struct mail_user **src_user_r,
			    const char **error_r)
{
	struct mail_storage_service_user *service_user;
	struct settings_instance *set_instance;
	int ret;

	service_user = mail_storage_service_user_dup(ctx->cur_service_user);
	set_instance = mail_storage_service_user_get_settings_instance(
		service_user);
	mail_storage_2nd_settings_reset(set_instance, "");
	settings_override(set_instance, "mail_driver", "imapc",
			  SETTINGS_OVERRIDE_TYPE_2ND_CLI_PARAM);
	settings_override(set_instance, "mail_path", "",
			  SETTINGS_OVERRIDE_TYPE_2ND_CLI_PARAM);
	/* only when the config doesn't set it */
	settings_override(set_instance, "mail_prefetch_count",
			  DOVEADM_MIGRATE_SOURCE_PREFETCH,
			  SETTINGS_OVERRIDE_TYPE_DEFAULT);
	if (oauth2_token != NULL) {
		settings_override(set_instance, "imapc_password", oauth2_token,
				  SETTINGS_OVERRIDE_TYPE_2ND_CLI_PARAM);
		settings_override(set_instance, "imapc_master_user", "",
				  SETTINGS_OVERRIDE_TYPE_2ND_CLI_PARAM);
	}
	/* imapc 2.4 delays its login by itself (no-delay-login is the
	   exception) */
	(void)delay_login;
	ret = mail_storage_service_next(ctx->storage_service, service_user,
					src_user_r, error_r);
	mail_storage_service_user_unref(&service_user);
	return ret;
}
#else
static int
doveadm_migrate_source_next(struct doveadm_mail_cmd_context *ctx,
			    bool delay_login, const char *oauth2_token,
			    struct mail_user **src_user_r,
			    const char **error_r)
{
	struct setting_parser_context *set_parser;
	const char *const *features, *value;
	enum setting_type type;

	set_parser = mail_storage_service_user_get_settings_parser(
		ctx->cur_service_user);
	if (delay_login) {
		features = settings_parse_get_value(set_parser,
						    "imapc_features", &type);
		value = features == NULL || *features == NULL ? "delay-login" :
			t_strconcat(*features, " delay-login", NULL);
		if (settings_parse_keyvalue(set_parser, "imapc_features",
					    value) < 0)
			i_unreached();
	}
	if (settings_parse_keyvalue(set_parser, "mail_location", "imapc:") < 0)
		i_unreached();
	if (oauth2_token != NULL &&
	    (settings_parse_keyvalue(set_parser, "imapc_password",
				     oauth2_token) < 0 ||
	     settings_parse_keyvalue(set_parser, "imapc_master_user", "") < 0))
		i_unreached();
	if (mail_user_set_get_storage_set(ctx->cur_mail_user)->
		mail_prefetch_count == 0 &&
	    settings_parse_keyvalue(set_parser, "mail_prefetch_count",
			DOVEADM_MIGRATE_SOURCE_PREFETCH) < 0)
		i_unreached();
	return mail_storage_service_next(ctx->storage_service,
					 ctx->cur_service_user, src_user_r,
					 error_r);
}
#endif

static const char *
doveadm_migrate_source_setting(struct mail_user *user, const char *name)
{
	const char *value = migrate_user_setting(user, name);

	return value == NULL || *value == '\0' ? NULL : value;
}

/* With OAuth2 set for the user (and not in a child of migrate run, whose
   config has the token already): a fresh access token, else NULL.
   Returns 0, or -1 with the one error line logged and the exit code
   set. */
static int
doveadm_migrate_source_oauth2_token(struct doveadm_mail_cmd_context *ctx,
				    struct mail_user *user,
				    const char *cmd_name, const char **token_r)
{
	struct doveadm_migrate_oauth2_settings set;
	struct doveadm_migrate_oauth2_token token;
	const char *error;
	int code;

	*token_r = NULL;
	if (doveadm_migrate_source_setting(user,
			"migrate_oauth2_refresh_at") != NULL)
		return 0;
	if (doveadm_migrate_oauth2_settings_read(
		(doveadm_migrate_oauth2_lookup_t *)
			doveadm_migrate_source_setting, user,
		&set, &error) < 0) {
		i_error("%s: user %s: this server: %s", cmd_name,
			user->username, error);
		ctx->exit_code = MIGRATE_EXIT_CONFIG;
		return -1;
	}
	if (!set.enabled)
		return 0;
	code = doveadm_migrate_oauth2_token_get(&set, user->username, &token,
						&error);
	if (code != 0) {
		i_error("%s: user %s: %s", cmd_name, user->username, error);
		ctx->exit_code = code;
		return -1;
	}
	*token_r = token.access_token;
	return 0;
}

static int
doveadm_migrate_source_create(struct doveadm_mail_cmd_context *ctx,
			      struct mail_user *user, const char *cmd_name,
			      bool delay_login, struct mail_user **src_user_r)
{
	const char *error, *token;
	int ret;

	if (doveadm_migrate_source_oauth2_token(ctx, user, cmd_name,
						&token) < 0)
		return -1;
	/* the old server's folders under their names here */
	doveadm_migrate_folder_map_enable();
	ret = doveadm_migrate_source_next(ctx, delay_login, token, src_user_r,
					  &error);
	if (ret < 0) {
		i_error("%s: user %s: can't set up the source: %s", cmd_name,
			user->username, error);
		ctx->exit_code = ret == -1 ? MIGRATE_EXIT_TEMPFAIL :
			MIGRATE_EXIT_CONFIG;
		return -1;
	}
	(*src_user_r)->admin = TRUE;
	return 0;
}

int doveadm_migrate_source_user_create(struct doveadm_mail_cmd_context *ctx,
				       struct mail_user *user,
				       const char *cmd_name,
				       struct mail_user **src_user_r)
{
	return doveadm_migrate_source_create(ctx, user, cmd_name, FALSE,
					     src_user_r);
}

/* imapc keeps no record of why a connection failed, and logs it with
   i_error(): the last error logged while logging in is quoted in the one
   line that says the server is unreachable (the exit code comes from the
   login reply's state, never from this text) */
static failure_callback_t *doveadm_migrate_source_prev_error_handler;
static char *doveadm_migrate_source_login_error = NULL;

static void
doveadm_migrate_source_login_error_handler(const struct failure_context *ctx,
					   const char *format, va_list args)
{
	va_list args2;

	VA_COPY(args2, args);
	i_free(doveadm_migrate_source_login_error);
	doveadm_migrate_source_login_error = i_strdup_vprintf(format, args2);
	va_end(args2);
	doveadm_migrate_source_prev_error_handler(ctx, format, args);
}

/* A pass killed in the middle of a commit can leave whole messages in an
   mdbox storage's files without their map records. Dovecot's storage
   rebuild puts such messages back into their folders whenever one runs
   (an append that finds a broken record at a file's end, a force-resync,
   a purge that finds corruption). The pass after a killed one has it run
   first, so that they are here before the pass looks: copied again and
   put back later, they'd be twice here. A forced sync of one mailbox
   rebuilds the whole mdbox storage. sdbox and Maildir name a message's
   file by its UID or add it at the next sync: nothing of theirs waits to
   come back. */
int doveadm_migrate_storage_rebuild(struct mail_user *user,
				    const char **error_r)
{
	struct mail_namespace *ns;
	struct mail_storage *storage;
	struct mailbox *box;
	int ret = 1;

	ns = mail_namespace_find_inbox(user->namespaces);
	storage = ns == NULL ? NULL : mail_namespace_get_default_storage(ns);
	if (storage == NULL || strcmp(storage->name, MDBOX_STORAGE_NAME) != 0)
		return 0;
	box = mailbox_alloc(ns->list, "INBOX", 0);
	if (mailbox_sync(box, MAILBOX_SYNC_FLAG_FORCE_RESYNC) < 0) {
		*error_r = t_strdup_printf("rebuilding the mdbox storage "
			"failed: %s", mailbox_get_last_internal_error(box, NULL));
		ret = -1;
	}
	mailbox_free(&box);
	return ret;
}

bool doveadm_migrate_namespace_is_copied(struct mail_namespace *ns)
{
	if (ns->type != MAIL_NAMESPACE_TYPE_PRIVATE || ns->alias_for != NULL)
		return FALSE;
#ifdef MIGRATE_DOVECOT24
	/* dsync 2.4 copies the inbox namespace only */
	return (ns->flags & NAMESPACE_FLAG_INBOX_USER) != 0;
#else
	/* dsync 2.3 copies those that use the default mail_location */
	return strcmp(ns->unexpanded_set->location,
		      SETTING_STRVAR_UNEXPANDED) == 0;
#endif
}

static struct imapc_storage *
doveadm_migrate_source_imapc(struct mail_user *src_user)
{
	struct mail_namespace *ns;
	struct mail_storage *storage;

	ns = mail_namespace_find_inbox(src_user->namespaces);
	storage = ns == NULL ? NULL : mail_namespace_get_default_storage(ns);
	if (storage == NULL || strcmp(storage->name, IMAPC_STORAGE_NAME) != 0)
		return NULL;
	return IMAPC_STORAGE(storage);
}

const char *doveadm_migrate_source_server(struct mail_user *src_user)
{
	struct imapc_storage *storage = doveadm_migrate_source_imapc(src_user);

	if (storage == NULL)
		return "IMAP server (none)";
	return t_strdup_printf("IMAP server %s:%u", storage->set->imapc_host,
			       storage->set->imapc_port);
}

/* Log in to the old server with the source user's imapc client. Returns
   0 (capabilities_r set), or -1 with the login reply's state and why it
   failed. */
static int
doveadm_migrate_source_login(struct imapc_storage *storage,
			     enum imapc_capability *capabilities_r,
			     enum imapc_command_state *state_r,
			     const char **reason_r)
{
	struct imapc_storage_client *client = storage->client;
	failure_callback_t *fatal_handler, *info_handler, *debug_handler;
	int ret;

	i_get_failure_handlers(&fatal_handler,
			       &doveadm_migrate_source_prev_error_handler,
			       &info_handler, &debug_handler);
	i_set_error_handler(doveadm_migrate_source_login_error_handler);
	ret = imapc_client_get_capabilities(client->client, capabilities_r);
	i_set_error_handler(doveadm_migrate_source_prev_error_handler);
	*state_r = client->auth_failed_state;
	*reason_r = client->auth_failed_reason;
	if (ret < 0 && *state_r == IMAPC_COMMAND_STATE_DISCONNECTED &&
	    doveadm_migrate_source_login_error != NULL) {
		*reason_r = t_strdup(doveadm_migrate_source_login_error);
	}
	i_free(doveadm_migrate_source_login_error);
	return ret < 0 ? -1 : 0;
}

int doveadm_migrate_source_user_login(struct doveadm_mail_cmd_context *ctx,
				      struct mail_user *user,
				      const char *cmd_name,
				      struct mail_user **src_user_r,
				      bool *gmail_r)
{
	struct imapc_storage *storage;
	enum imapc_capability capabilities;
	enum imapc_command_state state;
	const char *reason;

	/* imapc logs in while the user is set up, and a failed login fails
	   that with nothing but a text: log in below instead, where the
	   reply's state says what happened */
	if (doveadm_migrate_source_create(ctx, user, cmd_name, TRUE,
					  src_user_r) < 0)
		return -1;

	storage = doveadm_migrate_source_imapc(*src_user_r);
	if (storage == NULL) {
		i_error("%s: user %s: the old server isn't IMAP: the inbox "
			"namespace has a location of its own, not imapc:",
			cmd_name, user->username);
		ctx->exit_code = MIGRATE_EXIT_CONFIG;
		mail_user_deinit(src_user_r);
		return -1;
	}
	if (*storage->set->imapc_host == '\0') {
		/* 2.4's imapc doesn't connect without a host, and says
		   nothing */
		i_error("%s: user %s: IMAP server (no host set): missing "
			"setting: imapc_host", cmd_name, user->username);
		ctx->exit_code = MIGRATE_EXIT_CONFIG;
		mail_user_deinit(src_user_r);
		return -1;
	}
	if (doveadm_migrate_source_login(storage, &capabilities, &state,
					 &reason) == 0) {
		*gmail_r = (capabilities & IMAPC_CAPABILITY_X_GM_EXT_1) != 0;
		return 0;
	}

	switch (state) {
	case IMAPC_COMMAND_STATE_NO:
	case IMAPC_COMMAND_STATE_BAD:
	case IMAPC_COMMAND_STATE_AUTH_FAILED:
		i_error("%s: user %s: %s: login refused (wrong password or "
			"unknown user): %s", cmd_name, user->username,
			doveadm_migrate_source_server(*src_user_r), reason);
		ctx->exit_code = MIGRATE_EXIT_AUTH;
		break;
	case IMAPC_COMMAND_STATE_DISCONNECTED:
		i_error("%s: user %s: %s: unreachable: %s", cmd_name,
			user->username,
			doveadm_migrate_source_server(*src_user_r), reason);
		ctx->exit_code = MIGRATE_EXIT_UNREACHABLE;
		break;
	case IMAPC_COMMAND_STATE_OK:
		i_error("%s: user %s: %s: the login didn't finish", cmd_name,
			user->username,
			doveadm_migrate_source_server(*src_user_r));
		ctx->exit_code = MIGRATE_EXIT_TEMPFAIL;
		break;
	}
	mail_user_deinit(src_user_r);
	return -1;
}

static failure_callback_t *migrate_errors_as_info_orig;

static void ATTR_FORMAT(2, 0)
migrate_errors_as_info_log(const struct failure_context *ctx,
			   const char *format, va_list args)
{
	struct failure_context info_ctx = *ctx;

	if (info_ctx.type == LOG_TYPE_ERROR)
		info_ctx.type = LOG_TYPE_INFO;
	migrate_errors_as_info_orig(&info_ctx, format, args);
}

void doveadm_migrate_errors_as_info_begin(void)
{
	failure_callback_t *fatal, *info, *debug;

	i_assert(migrate_errors_as_info_orig == NULL);
	i_get_failure_handlers(&fatal, &migrate_errors_as_info_orig,
			       &info, &debug);
	i_set_error_handler(migrate_errors_as_info_log);
}

void doveadm_migrate_errors_as_info_end(void)
{
	i_assert(migrate_errors_as_info_orig != NULL);
	i_set_error_handler(migrate_errors_as_info_orig);
	migrate_errors_as_info_orig = NULL;
}

int doveadm_migrate_source_login_again(struct doveadm_mail_cmd_context *ctx,
				       struct mail_user *user,
				       const char *cmd_name,
				       const char **error_r)
{
	struct mail_user *src_user;
	struct imapc_storage *storage;
	enum imapc_capability capabilities;
	enum imapc_command_state state;
	const char *reason;
	int prev_exit_code = ctx->exit_code, ret;

	if (doveadm_migrate_source_create(ctx, user, cmd_name, TRUE,
					  &src_user) < 0) {
		/* (the first login went well: a question, not the
		   command's failure) */
		ctx->exit_code = prev_exit_code;
		*error_r = "the second source user can't be set up (logged)";
		return -1;
	}
	storage = doveadm_migrate_source_imapc(src_user);
	i_assert(storage != NULL);
	/* its errors are the answer to a question: the caller reports a
	   refusal, with imapc's reason, as a warning */
	doveadm_migrate_errors_as_info_begin();
	ret = doveadm_migrate_source_login(storage, &capabilities, &state,
					   &reason);
	doveadm_migrate_errors_as_info_end();
	if (ret < 0) {
		*error_r = t_strdup_printf("%s%s",
			state == IMAPC_COMMAND_STATE_DISCONNECTED ?
			"disconnected: " : "", reason == NULL ? "" : reason);
	}
	mail_user_deinit(&src_user);
	return ret;
}
