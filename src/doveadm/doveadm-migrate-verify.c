/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "mail-namespace.h"
#include "mail-search-build.h"
#include "mail-storage.h"
#include "doveadm.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "migrate-common.h"
#include "migrate-uidl-diff.h"
#include "doveadm-migrate.h"
#include "migrate-user-settings.h"

/* doveadm migrate verify-uidl: the old server's POP3 UIDL list against
   what this server's POP3 will serve, in order. */

struct verify_uidl_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	const char *mailbox;
	bool summary_only;
};

static enum mail_sort_type verify_uidl_pop3_sort[] = {
	MAIL_SORT_POP3_ORDER,
	MAIL_SORT_END
};

/* Returns 0 on success, -1 on error (error_r). uidls is NULL-terminated. */
static int
verify_uidl_list_read(struct mailbox *box, bool old_server, pool_t pool,
		      ARRAY_TYPE(const_string) *uidls, const char **error_r)
{
	struct mailbox_transaction_context *t;
	struct mail_search_args *search_args;
	struct mail_search_context *search_ctx;
	struct mail *mail;
	const char *uidl;
	int ret = 0;

	if (mailbox_sync(box, 0) < 0) {
		*error_r = mailbox_get_last_error(box, NULL);
		return -1;
	}
	t = mailbox_transaction_begin(box, 0, __func__);
	search_args = mail_search_build_init();
	mail_search_build_add_all(search_args);
	search_ctx = mailbox_search_init(t, search_args,
		old_server ? NULL : verify_uidl_pop3_sort,
		MAIL_FETCH_UIDL_BACKEND, NULL);
	mail_search_args_unref(&search_args);
	while (mailbox_search_next(search_ctx, &mail)) {
		if (mail_get_special(mail, MAIL_FETCH_UIDL_BACKEND, &uidl) < 0) {
			*error_r = t_strdup_printf("Failed to get the UIDL "
				"of message %u: %s", mail->seq,
				mailbox_get_last_error(box, NULL));
			ret = -1;
			break;
		}
		if (*uidl == '\0') {
			/* No UIDL stored: this server's POP3 serves one
			   from pop3_uidl_format, which the old server never
			   gave out, so clients would download it again. */
			uidl = t_strdup_printf("(none: uid %u)", mail->uid);
		}
		uidl = p_strdup(pool, uidl);
		array_push_back(uidls, &uidl);
	}
	if (mailbox_search_deinit(&search_ctx) < 0 && ret == 0) {
		*error_r = mailbox_get_last_error(box, NULL);
		ret = -1;
	}
	(void)mailbox_transaction_commit(&t);
	array_append_zero(uidls);
	return ret;
}

static int
verify_uidl_read_box(struct verify_uidl_cmd_context *ctx,
		     struct mail_user *user, const char *vname,
		     bool old_server, ARRAY_TYPE(const_string) *uidls)
{
	struct mail_namespace *ns;
	struct mailbox *box;
	const char *error;
	enum mail_error mail_error;
	int ret;

	ns = mail_namespace_find(user->namespaces, vname);
	box = mailbox_alloc(ns->list, vname, MAILBOX_FLAG_READONLY |
			    (old_server ? MAILBOX_FLAG_POP3_SESSION : 0));
	ret = verify_uidl_list_read(box, old_server, ctx->ctx.pool, uidls,
				    &error);
	if (ret < 0) {
		(void)mailbox_get_last_error(box, &mail_error);
		i_error("verify-uidl: user %s: Failed to read the %s "
			"server's UIDLs (%s): %s", user->username,
			old_server ? "old POP3" : "new", vname, error);
		doveadm_mail_failed_error(&ctx->ctx, mail_error);
	}
	mailbox_free(&box);
	return ret;
}

static void
verify_uidl_print(struct verify_uidl_cmd_context *ctx,
		  const struct migrate_uidl_diff_result *result)
{
	const struct migrate_uidl_diff_entry *entry;

	doveadm_print("summary");
	doveadm_print_num(result->old_count);
	doveadm_print_num(result->new_count);
	doveadm_print(t_strdup_printf("identical %u/%u, missing %u, "
		"extra %u, reordered %u, duplicate %u",
		result->identical, result->old_count, result->missing,
		result->extra, result->reordered, result->duplicate));
	if (ctx->summary_only)
		return;
	array_foreach(&result->differences, entry) {
		doveadm_print(migrate_uidl_diff_type_name(entry->type));
		if (entry->old_seq == 0)
			doveadm_print("-");
		else
			doveadm_print_num(entry->old_seq);
		if (entry->new_seq == 0)
			doveadm_print("-");
		else
			doveadm_print_num(entry->new_seq);
		doveadm_print(entry->uidl);
	}
}

static int
cmd_migrate_verify_uidl_run(struct doveadm_mail_cmd_context *_ctx,
			    struct mail_user *user)
{
	struct verify_uidl_cmd_context *ctx =
		container_of(_ctx, struct verify_uidl_cmd_context, ctx);
	ARRAY_TYPE(const_string) old_uidls, new_uidls;
	struct migrate_uidl_diff_result result;
	const char *pop3_vname;

	pop3_vname = migrate_user_setting(user, "migrate_pop3_mailbox");
	if (pop3_vname == NULL || *pop3_vname == '\0') {
		i_error("verify-uidl: user %s: migrate_pop3_mailbox is not "
			"set (run with the migration config: doveadm -c "
			"migration.conf migrate verify-uidl)", user->username);
		_ctx->exit_code = MIGRATE_EXIT_CONFIG;
		return -1;
	}
	if (mail_namespace_find(user->namespaces, pop3_vname) == NULL ||
	    mail_namespace_find(user->namespaces, pop3_vname)->prefix_len == 0) {
		i_error("verify-uidl: user %s: migrate_pop3_mailbox=%s: no "
			"pop3c namespace has that prefix", user->username,
			pop3_vname);
		_ctx->exit_code = MIGRATE_EXIT_CONFIG;
		return -1;
	}

	p_array_init(&old_uidls, _ctx->pool, 128);
	p_array_init(&new_uidls, _ctx->pool, 128);
	if (verify_uidl_read_box(ctx, user, pop3_vname, TRUE, &old_uidls) < 0 ||
	    verify_uidl_read_box(ctx, user, ctx->mailbox, FALSE,
				 &new_uidls) < 0)
		return -1;

	migrate_uidl_diff(_ctx->pool, array_front(&old_uidls),
			  array_front(&new_uidls), &result);
	verify_uidl_print(ctx, &result);
	if (!migrate_uidl_diff_is_identical(&result)) {
		i_error("verify-uidl: user %s: UIDLs differ: identical %u/%u, "
			"missing %u, extra %u, reordered %u, duplicate %u",
			user->username, result.identical, result.old_count,
			result.missing, result.extra, result.reordered,
			result.duplicate);
		_ctx->exit_code = MIGRATE_EXIT_MISMATCH;
		return -1;
	}
	return 0;
}

static void
cmd_migrate_verify_uidl_init(struct doveadm_mail_cmd_context *_ctx DOVEADM_MIGRATE_INIT_ARGS)
{
	struct verify_uidl_cmd_context *ctx =
		container_of(_ctx, struct verify_uidl_cmd_context, ctx);

	doveadm_migrate_mailbox_options(_ctx, &ctx->mailbox,
					&ctx->summary_only);
	doveadm_print_header_simple("result");
	doveadm_print_header("old", "old", DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("new", "new", DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("uidl", "uidl", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
}

static struct doveadm_mail_cmd_context *cmd_migrate_verify_uidl_alloc(void)
{
	struct verify_uidl_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct verify_uidl_cmd_context);
	ctx->mailbox = "INBOX";
	doveadm_migrate_mail_cmd_options(&ctx->ctx, "m:s");
	ctx->ctx.v.init = cmd_migrate_verify_uidl_init;
	ctx->ctx.v.run = cmd_migrate_verify_uidl_run;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return &ctx->ctx;
}

struct doveadm_cmd_ver2 doveadm_cmd_migrate_verify_uidl = {
	.name = "migrate verify-uidl",
	.mail_cmd = cmd_migrate_verify_uidl_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX"[-m <mailbox>] [-s]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('m', "mailbox", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('s', "summary-only", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAMS_END
};
