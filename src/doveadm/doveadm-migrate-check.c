/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "mail-namespace.h"
#include "mail-storage-private.h"
#include "index-mail.h"
#include "mailbox-list-iter.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "migrate-common.h"
#include "migrate-progress.h"
#include "migrate-folder-map.h"
#include "pop3c-storage.h"
#include "pop3c-settings.h"
#include "doveadm-migrate.h"
#include "migrate-user-settings.h"

/* doveadm migrate check: the pre-flight of an account, copying nothing.
   It logs in to the old server's IMAP as migrate run would (the user's
   settings with mail_location = imapc:, told apart by imapc's own login
   result), lists its folders with their messages and sizes and what the
   migration does with each (copied, into which folder; skipped as a
   Gmail view; excluded by -x), and, with migrate_pop3_mailbox set, logs
   in to its POP3 and counts the messages there. That the user exists
   here is checked by doveadm itself (exit 67). Exit codes as migrate
   run's. Many accounts with their own passwords: migrate batch --check. */

#define CHECK_CMD_NAME "migrate check"

struct check_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	const char *const *excludes;
};

struct check_totals {
	unsigned int folders;
	uint64_t messages, bytes;
};

static void
check_print(const char *folder, const char *special_use, uint32_t messages,
	    uint64_t bytes, const char *action, const char *mapping)
{
	doveadm_print(folder);
	doveadm_print(special_use == NULL ? "" : special_use);
	doveadm_print_num(messages);
	doveadm_print_num(bytes);
	doveadm_print(migrate_size_str(bytes));
	doveadm_print(action);
	doveadm_print(mapping);
}

/* The old name of a folder listed under its name here, and why it has
   that name ("" if it kept its own) */
static const char *
check_folder_mapping(struct mailbox_list *list, const char *vname,
		     const char **old_vname_r)
{
	const struct migrate_folder_map_entry *entry =
		doveadm_migrate_folder_map_find(list, vname);

	*old_vname_r = vname;
	if (entry == NULL || entry->reason == MIGRATE_FOLDER_MAP_KEPT)
		return "";
	*old_vname_r = entry->old_name;
	return t_strdup_printf("%s: %s",
		migrate_folder_map_reason_name(entry->reason), entry->why);
}

/* The messages and size of an old server's folder. Returns 0, or -1 with
   the error logged and the exit code set. */
static int
check_folder_size(struct check_cmd_context *ctx, struct mail_user *user,
		  struct mail_user *src_user, struct mailbox *box,
		  uint32_t *messages_r, uint64_t *bytes_r)
{
	struct mailbox_status status;
	struct mailbox_metadata metadata;
	enum mail_error error;

	if (mailbox_get_status(box, STATUS_MESSAGES, &status) < 0 ||
	    mailbox_get_metadata(box, MAILBOX_METADATA_VIRTUAL_SIZE,
				 &metadata) < 0) {
		i_error(CHECK_CMD_NAME": user %s: %s: folder %s: %s",
			user->username, doveadm_migrate_source_server(src_user),
			box->vname, mailbox_get_last_internal_error(box, &error));
		doveadm_mail_failed_error(&ctx->ctx, error);
		return -1;
	}
	*messages_r = status.messages;
	*bytes_r = metadata.virtual_size;
	return 0;
}

static int
check_folders(struct check_cmd_context *ctx, struct mail_user *user,
	      struct mail_user *src_user,
	      const struct doveadm_migrate_folder_plan *plan,
	      struct check_totals *totals)
{
	struct mailbox_list_iterate_context *iter;
	const struct mailbox_info *info;
	enum doveadm_migrate_folder_action action;
	struct mail_namespace *ns;
	struct mailbox *box;
	const char *dest_vname, *old_vname, *mapping;
	enum mail_error error;
	uint32_t messages;
	uint64_t bytes;
	int ret = 0;

	for (ns = src_user->namespaces; ns != NULL && ret == 0; ns = ns->next) {
		if (!doveadm_migrate_namespace_is_copied(ns))
			continue;
		iter = mailbox_list_iter_init(ns->list, "*",
					      MAILBOX_LIST_ITER_NO_AUTO_BOXES |
					      MAILBOX_LIST_ITER_RETURN_SPECIALUSE);
		while (ret == 0 && (info = mailbox_list_iter_next(iter)) != NULL) T_BEGIN {
			mapping = check_folder_mapping(ns->list, info->vname,
						       &old_vname);
			if ((info->flags & (MAILBOX_NOSELECT |
					    MAILBOX_NONEXISTENT)) != 0) {
				check_print(old_vname, info->special_use,
					    0, 0, "not a mailbox (\\Noselect)",
					    mapping);
			} else {
				action = doveadm_migrate_folder_action(plan,
					info->vname, info->special_use,
					&dest_vname);
				box = mailbox_alloc(ns->list, info->vname,
						    MAILBOX_FLAG_READONLY);
				ret = check_folder_size(ctx, user, src_user,
							box, &messages, &bytes);
				mailbox_free(&box);
				if (ret == 0) {
					check_print(old_vname,
						info->special_use, messages,
						bytes,
						doveadm_migrate_folder_action_str(
							action, old_vname,
							dest_vname), mapping);
				}
				if (ret == 0 &&
				    (action == DOVEADM_MIGRATE_FOLDER_COPY ||
				     action == DOVEADM_MIGRATE_FOLDER_GMAIL_ALL)) {
					totals->folders++;
					totals->messages += messages;
					totals->bytes += bytes;
				}
			}
		} T_END;
		if (mailbox_list_iter_deinit(&iter) < 0 && ret == 0) {
			i_error(CHECK_CMD_NAME": user %s: %s: listing the "
				"folders failed: %s", user->username,
				doveadm_migrate_source_server(src_user),
				mailbox_list_get_last_internal_error(ns->list,
								     &error));
			doveadm_mail_failed_error(&ctx->ctx, error);
			ret = -1;
		}
	}
	return ret;
}

static const char *check_pop3_server(struct mailbox *box)
{
	const struct pop3c_settings *set =
		((struct pop3c_storage *)box->storage)->set;

	return t_strdup_printf("POP3 server %s:%u", set->pop3c_host,
			       set->pop3c_port);
}

/* The old server's POP3 (migrate_pop3_mailbox): log in, count. */
static int
check_pop3(struct check_cmd_context *ctx, struct mail_user *user,
	   const char *pop3_vname)
{
	struct mail_namespace *ns;
	struct mailbox *box;
	struct mailbox_status status;
	struct mailbox_metadata metadata;
	enum mail_error error;
	const char *errstr;
	int ret = 0;

	ns = mail_namespace_find(user->namespaces, pop3_vname);
	box = mailbox_alloc(ns->list, pop3_vname, MAILBOX_FLAG_READONLY);
	if (strcmp(box->storage->name, POP3C_STORAGE_NAME) != 0) {
		i_error(CHECK_CMD_NAME": user %s: migrate_pop3_mailbox=%s "
			"names no mailbox of a pop3c namespace", user->username,
			pop3_vname);
		ctx->ctx.exit_code = MIGRATE_EXIT_CONFIG;
		mailbox_free(&box);
		return -1;
	}
	if (mailbox_open(box) < 0) {
		/* pop3c logs in when the mailbox opens: a refusal is
		   MAIL_ERROR_PARAMS in Dovecot 2.3, PERM later */
		errstr = mailbox_get_last_internal_error(box, &error);
		if (error == MAIL_ERROR_PARAMS || error == MAIL_ERROR_PERM) {
			i_error(CHECK_CMD_NAME": user %s: %s: login refused "
				"(wrong password or unknown user): %s",
				user->username, check_pop3_server(box), errstr);
			ctx->ctx.exit_code = MIGRATE_EXIT_AUTH;
		} else {
			i_error(CHECK_CMD_NAME": user %s: %s: unreachable: %s",
				user->username, check_pop3_server(box), errstr);
			ctx->ctx.exit_code = error == MAIL_ERROR_INUSE ?
				MIGRATE_EXIT_TEMPFAIL :
				MIGRATE_EXIT_UNREACHABLE;
		}
		ret = -1;
	} else if (mailbox_sync(box, 0) < 0 ||
		   mailbox_get_status(box, STATUS_MESSAGES, &status) < 0 ||
		   mailbox_get_metadata(box, MAILBOX_METADATA_VIRTUAL_SIZE,
					&metadata) < 0) {
		i_error(CHECK_CMD_NAME": user %s: %s: %s", user->username,
			check_pop3_server(box),
			mailbox_get_last_internal_error(box, &error));
		doveadm_mail_failed_error(&ctx->ctx, error);
		ret = -1;
	} else {
		check_print(t_strdup_printf("(POP3) %s", pop3_vname), "",
			    status.messages, metadata.virtual_size,
			    "its UIDLs are matched to the IMAP messages", "");
	}
	mailbox_free(&box);
	return ret;
}

/* Does the run log in more than once at a time? Its dsync workers do
   (migrate_run_workers), and so do migrate_pop3's IMAP sizes of a big
   mailbox (migrate_pop3_size_connections). */
static bool check_wants_second_login(struct mail_user *user)
{
	const char *value;
	unsigned int connections = MIGRATE_POP3_DEFAULT_SIZE_CONNECTIONS;

	if (doveadm_migrate_run_workers() > 1)
		return TRUE;
	value = migrate_user_setting(user, "migrate_pop3_mailbox");
	if (value == NULL || *value == '\0')
		return FALSE;
	value = migrate_user_setting(user, "migrate_pop3_size_connections");
	if (value != NULL && *value != '\0' &&
	    str_to_uint(value, &connections) < 0)
		return FALSE;
	return connections > 1;
}

/* A server that allows one login per user at a time (a limit of
   connections per user and IP) refuses the run's extra connections: the
   run copes (one connection instead, a warning), but the admin should
   know before, and can set them to 1. */
static void
check_second_login(struct check_cmd_context *ctx, struct mail_user *user,
		   struct mail_user *src_user)
{
	const char *error;

	if (!check_wants_second_login(user))
		return;
	if (doveadm_migrate_source_login_again(&ctx->ctx, user,
					       CHECK_CMD_NAME, &error) == 0) {
		e_debug(user->event, CHECK_CMD_NAME": user %s: %s: a second "
			"login while one is open: accepted", user->username,
			doveadm_migrate_source_server(src_user));
		return;
	}
	i_warning(CHECK_CMD_NAME": user %s: %s: a second login while one is "
		  "open was refused (%s): migrate run copes with one "
		  "connection, but set migrate_run_workers = 1 and "
		  "migrate_pop3_size_connections = 1 for this server",
		  user->username, doveadm_migrate_source_server(src_user),
		  error);
}

static int
cmd_migrate_check_run(struct doveadm_mail_cmd_context *_ctx,
		      struct mail_user *user)
{
	struct check_cmd_context *ctx =
		container_of(_ctx, struct check_cmd_context, ctx);
	struct doveadm_migrate_folder_plan plan;
	struct check_totals totals;
	struct mail_user *src_user;
	const char *pop3_vname, *error;
	bool gmail;
	int ret;

	if (doveadm_migrate_source_user_login(_ctx, user, CHECK_CMD_NAME,
					      &src_user, &gmail) < 0)
		return -1;
	if (doveadm_migrate_folder_plan_init(user, gmail, ctx->excludes,
					     &plan, &error) < 0) {
		i_error(CHECK_CMD_NAME": user %s: %s", user->username, error);
		_ctx->exit_code = MIGRATE_EXIT_CONFIG;
		mail_user_deinit(&src_user);
		return -1;
	}
	i_zero(&totals);
	ret = check_folders(ctx, user, src_user, &plan, &totals);
	if (ret == 0) {
		/* (migrate batch --check reads this line) */
		i_info(CHECK_CMD_NAME": user %s: %s: logged in%s; %u folders "
		       "to copy, %"PRIu64" messages, %"PRIu64" bytes (%s)",
		       user->username, doveadm_migrate_source_server(src_user),
		       gmail ? " (Gmail)" : "", totals.folders,
		       totals.messages, totals.bytes,
		       migrate_size_str(totals.bytes));
		check_second_login(ctx, user, src_user);
	}
	mail_user_deinit(&src_user);

	pop3_vname = migrate_user_setting(user, "migrate_pop3_mailbox");
	if (ret == 0 && pop3_vname != NULL && *pop3_vname != '\0')
		ret = check_pop3(ctx, user, pop3_vname);
	return ret;
}

static void
cmd_migrate_check_init(struct doveadm_mail_cmd_context *_ctx DOVEADM_MIGRATE_INIT_ARGS)
{
	struct check_cmd_context *ctx =
		container_of(_ctx, struct check_cmd_context, ctx);

	(void)doveadm_cmd_param_array(_ctx->cctx, "exclude", &ctx->excludes);
	doveadm_print_header_simple("folder");
	doveadm_print_header_simple("special_use");
	doveadm_print_header("messages", "messages",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY |
			     DOVEADM_PRINT_HEADER_FLAG_NUMBER);
	doveadm_print_header("bytes", "bytes",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY |
			     DOVEADM_PRINT_HEADER_FLAG_NUMBER);
	doveadm_print_header("size", "size",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("action", "action",
			     DOVEADM_PRINT_HEADER_FLAG_EXPAND);
	doveadm_print_header_simple("mapping");
}

static struct doveadm_mail_cmd_context *cmd_migrate_check_alloc(void)
{
	struct check_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct check_cmd_context);
	doveadm_migrate_mail_cmd_options(&ctx->ctx, "x:");
	ctx->ctx.v.init = cmd_migrate_check_init;
	ctx->ctx.v.run = cmd_migrate_check_run;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return &ctx->ctx;
}

struct doveadm_cmd_ver2 doveadm_cmd_migrate_check = {
	.name = "migrate check",
	.mail_cmd = cmd_migrate_check_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX"[-x <mailbox> ...]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('x', "exclude", CMD_PARAM_ARRAY, 0)
DOVEADM_CMD_PARAMS_END
};
