/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "migrate-compat.h"
#include "array.h"
#include "str.h"
#include "mail-namespace.h"
#include "mail-search-build.h"
#include "mail-storage.h"
#include "doveadm.h"
#include "doveadm-mail.h"
#include "doveadm-mailbox-list-iter.h"
#include "doveadm-print.h"
#include "migrate-common.h"
#include "doveadm-migrate.h"

#include <time.h>

/* doveadm migrate archive: folders with more than min_messages messages
   get their messages received before the kept years moved into
   <prefix>/<folder>/<year>, as hosting providers do to keep clients fast
   after a migration. The archive folders themselves are never archived,
   so running it again moves nothing. A year folder it makes is
   subscribed when its folder is: a mail client that shows subscribed
   folders only still shows the moved mail. */

#define MIGRATE_ARCHIVE_DEFAULT_MIN_MESSAGES 10000
#define MIGRATE_ARCHIVE_DEFAULT_KEEP_YEARS 2
#define MIGRATE_ARCHIVE_DEFAULT_PREFIX "Archive"

struct archive_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	unsigned int min_messages, keep_years;
	const char *prefix;
};

struct archive_year {
	int year;
	struct mailbox *box;
	struct mailbox_transaction_context *trans;
	unsigned int count;
};
ARRAY_DEFINE_TYPE(archive_year, struct archive_year);

struct archive_folder {
	const char *vname;
	bool subscribed;
};

static time_t archive_cutoff(unsigned int keep_years)
{
	time_t now = time(NULL);
	struct tm tm = *localtime(&now);

	/* keep this year and the keep_years-1 before it, whole */
	tm.tm_year -= keep_years - 1;
	tm.tm_mon = 0;
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

static int
archive_year_failed(struct archive_cmd_context *ctx, struct archive_year *y,
		    const char *what)
{
	i_error("migrate archive: Can't %s %s: %s", what,
		mailbox_get_vname(y->box),
		mailbox_get_last_internal_error(y->box, NULL));
	doveadm_mail_failed_mailbox(&ctx->ctx, y->box);
	mailbox_free(&y->box);
	return -1;
}

static int
archive_year_open(struct archive_cmd_context *ctx, struct mailbox *src,
		  bool subscribe, int year, struct archive_year *y)
{
	struct mail_namespace *ns = mailbox_get_namespace(src);
	char sep = mail_namespace_get_sep(ns);
	const char *vname;

	vname = t_strdup_printf("%s%s%c%s%c%d", ns->prefix, ctx->prefix, sep,
				mailbox_get_vname(src) + ns->prefix_len, sep,
				year);
	y->year = year;
	y->box = mailbox_alloc(ns->list, vname, 0);
	if (mailbox_create(y->box, NULL, FALSE) < 0) {
		if (mailbox_get_last_mail_error(y->box) != MAIL_ERROR_EXISTS)
			return archive_year_failed(ctx, y, "create");
	} else if (subscribe && mailbox_set_subscribed(y->box, TRUE) < 0) {
		return archive_year_failed(ctx, y, "subscribe");
	}
	if (mailbox_open(y->box) < 0)
		return archive_year_failed(ctx, y, "open");
	y->trans = mailbox_transaction_begin(y->box,
		MAILBOX_TRANSACTION_FLAG_EXTERNAL, __func__);
	return 0;
}

static struct archive_year *
archive_year_find(ARRAY_TYPE(archive_year) *years, int year)
{
	struct archive_year *y;

	array_foreach_modifiable(years, y) {
		if (y->year == year)
			return y;
	}
	return NULL;
}

static int
archive_mailbox(struct archive_cmd_context *ctx, struct mail_user *user,
		const struct archive_folder *folder, time_t cutoff)
{
	const char *vname = folder->vname;
	ARRAY_TYPE(archive_year) years;
	struct archive_year *y;
	struct mail_namespace *ns;
	struct mailbox *box;
	struct mailbox_status status;
	struct mailbox_transaction_context *t;
	struct mail_search_args *search_args;
	struct mail_search_arg *arg;
	struct mail_search_context *search_ctx;
	struct mail_save_context *save_ctx;
	struct mail *mail;
	time_t received;
	unsigned int moved = 0;
	int year, ret = 0;

	ns = mail_namespace_find(user->namespaces, vname);
	box = mailbox_alloc(ns->list, vname, 0);
	if (mailbox_open(box) < 0 ||
	    mailbox_get_status(box, STATUS_MESSAGES, &status) < 0) {
		i_error("migrate archive: Can't open %s: %s", vname,
			mailbox_get_last_internal_error(box, NULL));
		doveadm_mail_failed_mailbox(&ctx->ctx, box);
		mailbox_free(&box);
		return -1;
	}
	if (status.messages <= ctx->min_messages) {
		mailbox_free(&box);
		return 0;
	}

	t_array_init(&years, 8);
	t = mailbox_transaction_begin(box, MAILBOX_TRANSACTION_FLAG_EXTERNAL,
				      __func__);
	search_args = mail_search_build_init();
	arg = mail_search_build_add(search_args, SEARCH_BEFORE);
	arg->value.time = cutoff;
	arg->value.date_type = MAIL_SEARCH_DATE_TYPE_RECEIVED;
	search_ctx = mailbox_search_init(t, search_args, NULL,
					 MAIL_FETCH_RECEIVED_DATE, NULL);
	mail_search_args_unref(&search_args);
	while (ret == 0 && mailbox_search_next(search_ctx, &mail)) {
		if (mail_get_received_date(mail, &received) < 0) {
			ret = -1;
			break;
		}
		year = localtime(&received)->tm_year + 1900;
		y = archive_year_find(&years, year);
		if (y == NULL) {
			y = array_append_space(&years);
			if (archive_year_open(ctx, box, folder->subscribed,
					      year, y) < 0) {
				array_pop_back(&years);
				ret = -1;
				break;
			}
		}
		save_ctx = mailbox_save_alloc(y->trans);
		if (mailbox_move(&save_ctx, mail) < 0) {
			i_error("migrate archive: Can't move a message of %s "
				"into %s: %s", vname, mailbox_get_vname(y->box),
				mailbox_get_last_internal_error(y->box, NULL));
			ret = -1;
			break;
		}
		y->count++;
		moved++;
	}
	if (mailbox_search_deinit(&search_ctx) < 0)
		ret = -1;

	/* the copies first: a failure then leaves the originals in place */
	array_foreach_modifiable(&years, y) {
		if (ret == 0 && mailbox_transaction_commit(&y->trans) < 0) {
			i_error("migrate archive: Can't commit %s: %s",
				mailbox_get_vname(y->box),
				mailbox_get_last_internal_error(y->box, NULL));
			ret = -1;
		} else if (y->trans != NULL) {
			mailbox_transaction_rollback(&y->trans);
		}
		doveadm_print(vname);
		doveadm_print(mailbox_get_vname(y->box));
		doveadm_print_num(ret == 0 ? y->count : 0);
		mailbox_free(&y->box);
	}
	if (ret == 0 && mailbox_transaction_commit(&t) < 0) {
		i_error("migrate archive: Can't expunge the moved messages "
			"of %s: %s", vname,
			mailbox_get_last_internal_error(box, NULL));
		ret = -1;
	} else if (t != NULL) {
		mailbox_transaction_rollback(&t);
	}
	if (ret < 0)
		doveadm_mail_failed_mailbox(&ctx->ctx, box);
	else if (moved > 0)
		i_info("migrate archive: %s: %u messages archived", vname, moved);
	mailbox_free(&box);
	return ret;
}

static int
cmd_migrate_archive_run(struct doveadm_mail_cmd_context *_ctx,
			struct mail_user *user)
{
	struct archive_cmd_context *ctx =
		container_of(_ctx, struct archive_cmd_context, ctx);
	struct doveadm_mailbox_list_iter *iter;
	struct mail_search_args *search_args;
	const struct mailbox_info *info;
	ARRAY(struct archive_folder) folders;
	struct archive_folder *folder;
	const char *archive_root;
	time_t cutoff = archive_cutoff(ctx->keep_years);
	int ret = 0;

	/* list first: archiving creates mailboxes */
	t_array_init(&folders, 32);
	search_args = mail_search_build_init();
	mail_search_build_add_all(search_args);
	iter = doveadm_mailbox_list_iter_init(_ctx, user, search_args,
					      MAILBOX_LIST_ITER_RETURN_SUBSCRIBED);
	mail_search_args_unref(&search_args);
	while ((info = doveadm_mailbox_list_iter_next(iter)) != NULL) {
		archive_root = t_strdup_printf("%s%s", info->ns->prefix,
					       ctx->prefix);
		if (strcmp(info->vname, archive_root) == 0 ||
		    (str_begins_with(info->vname, archive_root) &&
		     info->vname[strlen(archive_root)] ==
		     mail_namespace_get_sep(info->ns)))
			continue;
		folder = array_append_space(&folders);
		folder->vname = t_strdup(info->vname);
		folder->subscribed = (info->flags & MAILBOX_SUBSCRIBED) != 0;
	}
	if (doveadm_mailbox_list_iter_deinit(&iter) < 0)
		ret = -1;
	array_foreach_modifiable(&folders, folder) T_BEGIN {
		if (archive_mailbox(ctx, user, folder, cutoff) < 0)
			ret = -1;
	} T_END;
	return ret;
}

static void
cmd_migrate_archive_init(struct doveadm_mail_cmd_context *_ctx DOVEADM_MIGRATE_INIT_ARGS)
{
	struct archive_cmd_context *ctx =
		container_of(_ctx, struct archive_cmd_context, ctx);
	const char *value;

	if (doveadm_cmd_param_str(_ctx->cctx, "min-messages", &value) &&
	    str_to_uint(value, &ctx->min_messages) < 0) {
		i_fatal_status(MIGRATE_EXIT_CONFIG,
			"migrate archive: invalid --min-messages '%s'", value);
	}
	if (doveadm_cmd_param_str(_ctx->cctx, "keep-years", &value) &&
	    (str_to_uint(value, &ctx->keep_years) < 0 ||
	     ctx->keep_years == 0 || ctx->keep_years > 100)) {
		i_fatal_status(MIGRATE_EXIT_CONFIG,
			"migrate archive: invalid --keep-years '%s' (1..100)",
			value);
	}
	if (doveadm_cmd_param_str(_ctx->cctx, "prefix", &value)) {
		if (value[0] == '\0') {
			i_fatal_status(MIGRATE_EXIT_CONFIG,
				       "migrate archive: empty --prefix");
		}
		ctx->prefix = p_strdup(_ctx->pool, value);
	}
	doveadm_print_header_simple("mailbox");
	doveadm_print_header_simple("archive");
	doveadm_print_header("messages", "messages",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
}

static struct doveadm_mail_cmd_context *cmd_migrate_archive_alloc(void)
{
	struct archive_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct archive_cmd_context);
	ctx->min_messages = MIGRATE_ARCHIVE_DEFAULT_MIN_MESSAGES;
	ctx->keep_years = MIGRATE_ARCHIVE_DEFAULT_KEEP_YEARS;
	ctx->prefix = MIGRATE_ARCHIVE_DEFAULT_PREFIX;
	doveadm_migrate_mail_cmd_options(&ctx->ctx, "n:k:p:");
	ctx->ctx.v.init = cmd_migrate_archive_init;
	ctx->ctx.v.run = cmd_migrate_archive_run;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return &ctx->ctx;
}

struct doveadm_cmd_ver2 doveadm_cmd_migrate_archive = {
	.name = "migrate archive",
	.mail_cmd = cmd_migrate_archive_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX
		 "[-n <min messages>] [-k <keep years>] [-p <prefix>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('n', "min-messages", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('k', "keep-years", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('p', "prefix", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAMS_END
};
