/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "module-dir.h"
#include "settings-parser.h"
#include "mail-user.h"
#include "mail-storage-settings.h"
#include "mail-storage-service.h"
#include "doveadm.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "migrate-common.h"
#include "migrate-gmail.h"
#include "doveadm-migrate.h"

/* doveadm migrate gmail: copy a Gmail account (the imapc_* settings of
   the migration config) into the user's mailboxes, each body downloaded
   once; with -1 (a switched account, as migrate run passes it) one-way
   and additive. The work is done by the migrate_gmail mail plugin, which must be
   in the doveadm mail_plugins; this command creates the source user as
   dsync does (the user's settings with mail_location = imapc:). */

struct gmail_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	struct migrate_gmail_options options;
};

static migrate_gmail_sync_func_t *doveadm_migrate_gmail_func(void)
{
	struct module *module;

	module = module_dir_find(mail_storage_service_modules,
				 "migrate_gmail");
	if (module == NULL)
		return NULL;
	return module_get_symbol(module, MIGRATE_GMAIL_SYNC_SYMBOL);
}

static void
cmd_migrate_gmail_print(struct mail_user *user,
			const struct migrate_gmail_result *res)
{
	doveadm_print(user->username);
	doveadm_print_num(res->messages);
	doveadm_print_num(res->memberships);
	doveadm_print_num(res->archived);
	doveadm_print_num(res->downloaded);
	doveadm_print_num(res->bytes_downloaded);
	doveadm_print_num(res->local_copies);
	doveadm_print_num(res->present);
	doveadm_print_num(res->flags_updated);
	doveadm_print_num(res->expunged);
	doveadm_print_num(res->kept_away);
	doveadm_print_num(res->folders_skipped);
}

static int
cmd_migrate_gmail_run(struct doveadm_mail_cmd_context *_ctx,
		      struct mail_user *user)
{
	struct gmail_cmd_context *ctx =
		container_of(_ctx, struct gmail_cmd_context, ctx);
	migrate_gmail_sync_func_t *sync_func;
	struct mail_user *src_user;
	struct migrate_gmail_result res;
	enum mail_error mail_error;
	const char *error;
	int ret;

	if ((sync_func = doveadm_migrate_gmail_func()) == NULL) {
		i_error("migrate gmail: user %s: the migrate_gmail plugin "
			"isn't loaded (set protocol doveadm { mail_plugins = "
			"$mail_plugins migrate_gmail } in the migration "
			"config)", user->username);
		_ctx->exit_code = MIGRATE_EXIT_CONFIG;
		return -1;
	}

	if (ctx->options.repair_flags && !doveadm_migrate_outcome_recording() &&
	    doveadm_migrate_storage_rebuild(user, &error) < 0) {
		/* as copy-new -R: what a killed pass left in mdbox's files
		   would be copied again (not in migrate run's child: the run
		   has rebuilt the storage at its first look here already) */
		i_error("migrate gmail: user %s: %s", user->username, error);
		doveadm_mail_failed_error(_ctx, MAIL_ERROR_TEMP);
		return -1;
	}
	if (doveadm_migrate_source_user_create(_ctx, user, "migrate gmail",
					       &src_user) < 0)
		return -1;

	ret = sync_func(user, src_user, &ctx->options, &res, &mail_error,
			&error);
	mail_user_deinit(&src_user);

	cmd_migrate_gmail_print(user, &res);
	if (ret < 0) {
		i_error("migrate gmail: user %s: %s", user->username, error);
		doveadm_mail_failed_error(_ctx, mail_error);
		return -1;
	}
	e_info(user->event, "migrate_gmail: %u messages in All Mail and "
	       "Trash/Junk, %u folder copies (%u archived); downloaded %u "
	       "(%"PRIu64" bytes), copied locally %u, already there %u, "
	       "flags updated %u, removed %u, left moved or deleted here %u; "
	       "%u folders read, %u skipped%s%s",
	       res.messages, res.memberships, res.archived, res.downloaded,
	       res.bytes_downloaded, res.local_copies, res.present,
	       res.flags_updated, res.expunged, res.kept_away, res.folders,
	       res.folders_skipped,
	       ctx->options.additive ? " (one-way: switched account)" : "",
	       ctx->options.dry_run ? " (dry run)" : "");
	return 0;
}

static void
cmd_migrate_gmail_init(struct doveadm_mail_cmd_context *_ctx DOVEADM_MIGRATE_INIT_ARGS)
{
	struct gmail_cmd_context *ctx =
		container_of(_ctx, struct gmail_cmd_context, ctx);
	static const char *const numeric[] = {
		"messages", "copies", "archived", "downloaded", "bytes",
		"local", "present", "flags", "removed", "kept", "skipped",
		NULL
	};
	const char *const *name;

	ctx->options.dry_run = doveadm_migrate_param_flag(_ctx->cctx, "dry-run");
	ctx->options.additive = doveadm_migrate_param_flag(_ctx->cctx, "one-way");
	ctx->options.repair_flags =
		doveadm_migrate_param_flag(_ctx->cctx, "repair-flags");
	doveadm_print_header_simple("user");
	for (name = numeric; *name != NULL; name++) {
		doveadm_print_header(*name, *name,
				     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	}
}

static struct doveadm_mail_cmd_context *cmd_migrate_gmail_alloc(void)
{
	struct gmail_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct gmail_cmd_context);
	doveadm_migrate_mail_cmd_options(&ctx->ctx, "n1R");
	ctx->ctx.v.init = cmd_migrate_gmail_init;
	ctx->ctx.v.run = cmd_migrate_gmail_run;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return &ctx->ctx;
}

struct doveadm_cmd_ver2 doveadm_cmd_migrate_gmail = {
	.name = "migrate gmail",
	.mail_cmd = cmd_migrate_gmail_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX "[-n] [-1 [-R]]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('n', "dry-run", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('1', "one-way", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('R', "repair-flags", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAMS_END
};
