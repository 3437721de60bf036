/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "mail-namespace.h"
#include "mail-search-build.h"
#include "mail-storage.h"
#include "mailbox-list-iter.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "migrate-common.h"
#include "migrate-gmail-folder.h"
#include "migrate-msgid-diff.h"
#include "doveadm-migrate.h"

/* doveadm migrate verify: is the account complete here? Every folder a
   migration copies from the old server (read as migrate run reads it:
   imapc with the user's settings) against the folder here it was copied
   into, by Message-ID. Mail here that the old server doesn't have is
   normal once users work here (delivered, saved, copied here): it is
   counted, but only the old server's mail or folders missing here make
   the account incomplete.

   A Gmail account is compared as migrate gmail copies it: label folders
   under their names, \Sent and \Drafts (and \Trash, \Junk when
   migrate_gmail_include names them) in this server's folder of that
   SPECIAL-USE, and the messages of All Mail that are in none of those in
   the archive folder. A message in two old folders that land in one here
   is expected there once (by its X-GM-MSGID). */

#define VERIFY_CMD_NAME "migrate verify"

struct verify_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	/* -m: only this folder (its name here) */
	const char *mailbox;
	bool summary_only;
};

HASH_TABLE_DEFINE_TYPE(verify_guids, const char *, void *);

/* A folder here and what the old server has for it. */
struct verify_folder {
	const char *vname;
	/* the old server's folders copied into it */
	ARRAY_TYPE(const_string) src_vnames;
	/* Gmail's archive folder: All Mail's messages of no copied folder */
	bool archive;

	/* while it is compared */
	pool_t pool;
	ARRAY_TYPE(migrate_msgid_msg) old_msgs, new_msgs;
	/* Gmail: the X-GM-MSGIDs of old_msgs, each expected once here */
	HASH_TABLE_TYPE(verify_guids) old_guids;
};

/* A message on one side only, for the rows after the folders'. */
struct verify_diff {
	const char *vname;
	struct migrate_msgid_msg msg;
	/* at the old server only (else here only) */
	bool missing;
};

struct verify_account {
	struct verify_cmd_context *cmd;
	struct mail_user *dest_user, *src_user;
	pool_t pool;
	bool gmail;
	ARRAY(struct verify_folder *) folders;
	ARRAY(struct verify_diff) diffs;

	/* Gmail: All Mail, and the X-GM-MSGIDs of the messages of every
	   copied folder (what isn't among them is archived mail) */
	const char *all_vname;
	HASH_TABLE_TYPE(verify_guids) copied_guids;

	/* the totals */
	unsigned int absent, incomplete, missing, extra;
};

/* how one of the old server's folders is read */
struct verify_old_read {
	struct verify_account *va;
	struct verify_folder *folder;
	/* Gmail's All Mail, read for the archive folder */
	bool all_mail;
};

typedef void verify_mail_callback_t(struct migrate_msgid_msg *msg,
				    const char *guid, void *context);

static const char *const verify_headers[] = { "Message-ID", NULL };

static struct verify_folder *
verify_folder_get(struct verify_account *va, const char *vname)
{
	struct verify_folder *folder;

	/* two old folders may land in one here (a Gmail label named like
	   this server's \Sent folder): they are compared as one */
	array_foreach_elem(&va->folders, folder) {
		if (strcmp(folder->vname, vname) == 0)
			return folder;
	}
	folder = p_new(va->pool, struct verify_folder, 1);
	folder->vname = p_strdup(va->pool, vname);
	p_array_init(&folder->src_vnames, va->pool, 1);
	array_push_back(&va->folders, &folder);
	return folder;
}

static void
verify_folder_add_source(struct verify_account *va, const char *dest_vname,
			 const char *src_vname)
{
	struct verify_folder *folder = verify_folder_get(va, dest_vname);

	src_vname = p_strdup(va->pool, src_vname);
	array_push_back(&folder->src_vnames, &src_vname);
}

static int
verify_list_failed(struct verify_account *va, struct mailbox_list *list)
{
	enum mail_error mail_error;
	const char *error;

	error = mailbox_list_get_last_internal_error(list, &mail_error);
	i_error(VERIFY_CMD_NAME": user %s: %s: listing the folders failed: %s",
		va->dest_user->username,
		doveadm_migrate_source_server(va->src_user), error);
	doveadm_mail_failed_error(&va->cmd->ctx, mail_error);
	return -1;
}

/* the folders of a plain IMAP server: each under its own name */
static int verify_list_imap(struct verify_account *va)
{
	struct mailbox_list_iterate_context *iter;
	const struct mailbox_info *info;
	struct mail_namespace *ns;

	for (ns = va->src_user->namespaces; ns != NULL; ns = ns->next) {
		if (!doveadm_migrate_namespace_is_copied(ns))
			continue;
		iter = mailbox_list_iter_init(ns->list, "*",
					      MAILBOX_LIST_ITER_NO_AUTO_BOXES);
		while ((info = mailbox_list_iter_next(iter)) != NULL) {
			if ((info->flags & (MAILBOX_NOSELECT |
					    MAILBOX_NONEXISTENT)) != 0)
				continue;
			verify_folder_add_source(va, info->vname, info->vname);
		}
		if (mailbox_list_iter_deinit(&iter) < 0)
			return verify_list_failed(va, ns->list);
	}
	return 0;
}

/* the folders migrate gmail copies, where it copies them */
static int verify_list_gmail(struct verify_account *va)
{
	struct mail_user *user = va->dest_user;
	struct doveadm_migrate_folder_plan plan;
	struct mailbox_list_iterate_context *iter;
	const struct mailbox_info *info;
	struct mail_namespace *src_ns;
	const char *error, *dest_vname;

	if (doveadm_migrate_folder_plan_init(user, TRUE, NULL, &plan,
					     &error) < 0) {
		i_error(VERIFY_CMD_NAME": user %s: %s", user->username, error);
		va->cmd->ctx.exit_code = MIGRATE_EXIT_CONFIG;
		return -1;
	}

	src_ns = mail_namespace_find_inbox(va->src_user->namespaces);
	iter = mailbox_list_iter_init(src_ns->list, "*",
				      MAILBOX_LIST_ITER_RETURN_SPECIALUSE);
	while ((info = mailbox_list_iter_next(iter)) != NULL) {
		if ((info->flags & (MAILBOX_NOSELECT |
				    MAILBOX_NONEXISTENT)) != 0)
			continue;
		switch (doveadm_migrate_folder_action(&plan, info->vname,
				info->special_use, &dest_vname)) {
		case DOVEADM_MIGRATE_FOLDER_GMAIL_ALL:
			va->all_vname = p_strdup(va->pool, info->vname);
			break;
		case DOVEADM_MIGRATE_FOLDER_COPY:
			verify_folder_add_source(va, dest_vname, info->vname);
			break;
		case DOVEADM_MIGRATE_FOLDER_GMAIL_VIEW:
		case DOVEADM_MIGRATE_FOLDER_GMAIL_SKIPPED:
		case DOVEADM_MIGRATE_FOLDER_EXCLUDED:
			break;
		}
	}
	if (mailbox_list_iter_deinit(&iter) < 0)
		return verify_list_failed(va, src_ns->list);
	if (va->all_vname == NULL) {
		i_error(VERIFY_CMD_NAME": user %s: %s: no \\All (All Mail) "
			"folder in its SPECIAL-USE LIST: is it Gmail?",
			user->username,
			doveadm_migrate_source_server(va->src_user));
		doveadm_mail_failed_error(&va->cmd->ctx,
					  MAIL_ERROR_NOTPOSSIBLE);
		return -1;
	}
	verify_folder_get(va, plan.archive)->archive = TRUE;
	return 0;
}

/* Every message of box: its Message-ID, size and (want_guid) GUID, in
   one search. Returns 0, or -1 with error_r and mail_error_r. */
static int
verify_box_read(struct mailbox *box, pool_t pool, bool want_guid,
		verify_mail_callback_t *callback, void *context,
		enum mail_error *mail_error_r, const char **error_r)
{
	struct mailbox_transaction_context *trans;
	struct mailbox_header_lookup_ctx *headers;
	struct mail_search_args *search_args;
	struct mail_search_context *search_ctx;
	struct migrate_msgid_msg msg;
	struct mail *mail;
	const char *value, *guid = "";
	int hdr_ret, ret = 0;

	if (mailbox_sync(box, 0) < 0) {
		*error_r = mailbox_get_last_internal_error(box, mail_error_r);
		return -1;
	}
	trans = mailbox_transaction_begin(box, 0, __func__);
	search_args = mail_search_build_init();
	mail_search_build_add_all(search_args);
	headers = mailbox_header_lookup_init(box, verify_headers);
	search_ctx = mailbox_search_init(trans, search_args, NULL,
		MAIL_FETCH_VIRTUAL_SIZE | (want_guid ? MAIL_FETCH_GUID : 0),
		headers);
	mailbox_header_lookup_unref(&headers);
	mail_search_args_unref(&search_args);
	while (ret == 0 && mailbox_search_next(search_ctx, &mail)) {
		i_zero(&msg);
		msg.uid = mail->uid;
		/* imapc leaves value unset when the header isn't there (the
		   previous message's, freed by now, was read as this one's) */
		if ((hdr_ret = mail_get_first_header(mail, "Message-ID",
						     &value)) == 0)
			value = NULL;
		if (hdr_ret < 0 ||
		    mail_get_virtual_size(mail, &msg.size) < 0 ||
		    (want_guid &&
		     mail_get_special(mail, MAIL_FETCH_GUID, &guid) < 0)) {
			*error_r = t_strdup_printf("message UID %u: %s",
				mail->uid, mailbox_get_last_internal_error(
					box, mail_error_r));
			/* expunged meanwhile: it isn't there to compare */
			if (*mail_error_r != MAIL_ERROR_EXPUNGED)
				ret = -1;
			continue;
		}
		T_BEGIN {
			value = value == NULL ? NULL :
				migrate_msgid_normalize(value);
			msg.msgid = p_strdup(pool, value);
			callback(&msg, guid, context);
		} T_END;
	}
	if (mailbox_search_deinit(&search_ctx) < 0 && ret == 0) {
		*error_r = mailbox_get_last_internal_error(box, mail_error_r);
		ret = -1;
	}
	(void)mailbox_transaction_commit(&trans);
	return ret;
}

static void
verify_mail_guid_add(pool_t pool, HASH_TABLE_TYPE(verify_guids) guids,
		     const char *guid)
{
	guid = p_strdup(pool, guid);
	hash_table_insert(guids, guid, POINTER_CAST(1));
}

static void
verify_mail_old(struct migrate_msgid_msg *msg, const char *guid,
		void *context)
{
	struct verify_old_read *rd = context;
	struct verify_account *va = rd->va;
	struct verify_folder *folder = rd->folder;

	/* without X-GM-MSGIDs (which migrate gmail refuses) each message
	   is one of its own */
	if (va->gmail && *guid != '\0') {
		/* archived mail is what no copied folder has */
		if (rd->all_mail &&
		    hash_table_lookup(va->copied_guids, guid) != NULL)
			return;
		/* two old folders copied into this one: a message of
		   both is there once */
		if (hash_table_lookup(folder->old_guids, guid) != NULL)
			return;
		verify_mail_guid_add(folder->pool, folder->old_guids, guid);
		if (!rd->all_mail &&
		    hash_table_lookup(va->copied_guids, guid) == NULL)
			verify_mail_guid_add(va->pool, va->copied_guids, guid);
	}
	array_push_back(&folder->old_msgs, msg);
}

static void
verify_mail_new(struct migrate_msgid_msg *msg, const char *guid ATTR_UNUSED,
		void *context)
{
	struct verify_folder *folder = context;

	array_push_back(&folder->new_msgs, msg);
}

/* Read one of the old server's folders into folder. Returns 0, or -1
   (logged). */
static int
verify_read_old(struct verify_account *va, struct verify_folder *folder,
		const char *src_vname, bool all_mail)
{
	struct verify_old_read rd = {
		.va = va,
		.folder = folder,
		.all_mail = all_mail,
	};
	struct mail_namespace *ns;
	struct mailbox *box;
	enum mail_error mail_error;
	const char *error;
	int ret;

	ns = mail_namespace_find(va->src_user->namespaces, src_vname);
	box = mailbox_alloc(ns->list, src_vname, MAILBOX_FLAG_READONLY);
	ret = verify_box_read(box, folder->pool, va->gmail, verify_mail_old,
			      &rd, &mail_error, &error);
	if (ret < 0) {
		i_error(VERIFY_CMD_NAME": user %s: %s: can't read folder "
			"%s: %s", va->dest_user->username,
			doveadm_migrate_source_server(va->src_user),
			src_vname, error);
		doveadm_mail_failed_error(&va->cmd->ctx, mail_error);
	}
	mailbox_free(&box);
	return ret;
}

/* Read the folder here. Returns 1 if read, 0 if it doesn't exist, -1 on
   error (logged). */
static int
verify_read_new(struct verify_account *va, struct verify_folder *folder)
{
	struct mail_namespace *ns;
	struct mailbox *box;
	enum mail_error mail_error = MAIL_ERROR_NONE;
	const char *error = NULL;
	int ret = 1;

	ns = mail_namespace_find(va->dest_user->namespaces, folder->vname);
	box = mailbox_alloc(ns->list, folder->vname, MAILBOX_FLAG_READONLY);
	if (mailbox_open(box) < 0) {
		error = mailbox_get_last_internal_error(box, &mail_error);
		ret = mail_error == MAIL_ERROR_NOTFOUND ? 0 : -1;
	} else if (verify_box_read(box, folder->pool, FALSE, verify_mail_new,
				   folder, &mail_error, &error) < 0) {
		ret = -1;
	}
	if (ret < 0) {
		i_error(VERIFY_CMD_NAME": user %s: this server: can't read "
			"folder %s: %s", va->dest_user->username,
			folder->vname, error);
		doveadm_mail_failed_error(&va->cmd->ctx, mail_error);
	}
	mailbox_free(&box);
	return ret;
}

static void
verify_diffs_add(struct verify_account *va, struct verify_folder *folder,
		 const ARRAY_TYPE(migrate_msgid_msg_p) *msgs, bool missing)
{
	const struct migrate_msgid_msg *msg;
	struct verify_diff *diff;

	array_foreach_elem(msgs, msg) {
		diff = array_append_space(&va->diffs);
		diff->vname = folder->vname;
		diff->msg = *msg;
		diff->msg.msgid = p_strdup(va->pool, msg->msgid);
		diff->missing = missing;
	}
}

static const char *
verify_folder_result(const struct migrate_msgid_diff_result *result,
		     bool absent)
{
	if (absent)
		return "absent";
	if (result->missing > 0)
		return "missing";
	if (result->extra > 0)
		return "extra";
	return "ok";
}

static void
verify_folder_print(const struct verify_folder *folder,
		    const struct migrate_msgid_diff_result *result,
		    bool absent)
{
	doveadm_print(folder->vname);
	doveadm_print_num(result->old_count);
	if (absent)
		doveadm_print("-");
	else
		doveadm_print_num(result->new_count);
	doveadm_print_num(result->old_size);
	if (absent)
		doveadm_print("-");
	else
		doveadm_print_num(result->new_size);
	doveadm_print_num(result->missing);
	doveadm_print_num(result->extra);
	doveadm_print(verify_folder_result(result, absent));
	doveadm_print_num(result->old_no_msgid);
	doveadm_print_num(result->new_no_msgid);
	doveadm_print("");
}

static void verify_diff_print(const struct verify_diff *diff)
{
	doveadm_print(diff->vname);
	if (diff->missing) {
		doveadm_print_num(diff->msg.uid);
		doveadm_print("-");
		doveadm_print_num(diff->msg.size);
		doveadm_print("-");
	} else {
		doveadm_print("-");
		doveadm_print_num(diff->msg.uid);
		doveadm_print("-");
		doveadm_print_num(diff->msg.size);
	}
	doveadm_print("-");
	doveadm_print("-");
	doveadm_print(diff->missing ? "missing" : "extra");
	doveadm_print("-");
	doveadm_print("-");
	doveadm_print(diff->msg.msgid);
}

/* Compare one folder here with what the old server has for it. Returns 0,
   or -1 on error (logged). */
static int verify_folder(struct verify_account *va, struct verify_folder *folder)
{
	struct migrate_msgid_diff_result result;
	const char *src_vname;
	bool absent;
	int ret;

	array_foreach_elem(&folder->src_vnames, src_vname) {
		if (verify_read_old(va, folder, src_vname, FALSE) < 0)
			return -1;
	}
	if (folder->archive &&
	    verify_read_old(va, folder, va->all_vname, TRUE) < 0)
		return -1;
	if ((ret = verify_read_new(va, folder)) < 0)
		return -1;
	/* migrate gmail makes no folder for a label without mail */
	absent = ret == 0 &&
		!(va->gmail && array_count(&folder->old_msgs) == 0);

	migrate_msgid_diff(folder->pool, &folder->old_msgs, &folder->new_msgs,
			   &result);
	if (absent) {
		/* the folder is named, not each of its messages */
		result.missing = result.old_count;
		result.extra = 0;
	} else {
		verify_diffs_add(va, folder, &result.missing_msgs, TRUE);
		verify_diffs_add(va, folder, &result.extra_msgs, FALSE);
	}
	verify_folder_print(folder, &result, absent);

	if (absent)
		va->absent++;
	else if (result.missing > 0)
		va->incomplete++;
	va->missing += result.missing;
	va->extra += result.extra;
	return 0;
}

/* Gmail's archive is All Mail's messages of no copied folder: with -m
   naming it, the other folders are read at the old server only, for the
   X-GM-MSGIDs they have. */
static int
verify_folder_read_copied(struct verify_account *va,
			  struct verify_folder *folder)
{
	const char *src_vname;

	array_foreach_elem(&folder->src_vnames, src_vname) {
		if (verify_read_old(va, folder, src_vname, FALSE) < 0)
			return -1;
	}
	return 0;
}

static int
verify_folder_run(struct verify_account *va, struct verify_folder *folder,
		  bool shown)
{
	int ret;

	folder->pool = pool_alloconly_create("migrate verify folder",
					     1024 * 16);
	p_array_init(&folder->old_msgs, folder->pool, 64);
	p_array_init(&folder->new_msgs, folder->pool, 64);
	hash_table_create(&folder->old_guids, folder->pool, 0,
			  str_hash, strcmp);
	T_BEGIN {
		ret = shown ? verify_folder(va, folder) :
			verify_folder_read_copied(va, folder);
	} T_END;
	hash_table_destroy(&folder->old_guids);
	pool_unref(&folder->pool);
	return ret;
}

/* INBOX first, then by name: the same order whatever the server's LIST */
static int
verify_folder_cmp(struct verify_folder *const *f1,
		  struct verify_folder *const *f2)
{
	bool inbox1 = strcmp((*f1)->vname, "INBOX") == 0;
	bool inbox2 = strcmp((*f2)->vname, "INBOX") == 0;

	if (inbox1 != inbox2)
		return inbox1 ? -1 : 1;
	return strcmp((*f1)->vname, (*f2)->vname);
}

static struct verify_folder *
verify_folder_find(struct verify_account *va, const char *vname)
{
	struct verify_folder *folder;

	array_foreach_elem(&va->folders, folder) {
		if (strcmp(folder->vname, vname) == 0)
			return folder;
	}
	return NULL;
}

static int verify_account(struct verify_account *va)
{
	const char *mailbox = va->cmd->mailbox;
	struct verify_folder *folder, *selected = NULL, *archive = NULL;
	int ret;

	if ((va->gmail ? verify_list_gmail(va) : verify_list_imap(va)) < 0)
		return -1;
	array_sort(&va->folders, verify_folder_cmp);
	if (mailbox != NULL &&
	    (selected = verify_folder_find(va, mailbox)) == NULL) {
		i_error(VERIFY_CMD_NAME": user %s: -m %s: no folder of %s is "
			"copied into a folder of that name",
			va->dest_user->username, mailbox,
			doveadm_migrate_source_server(va->src_user));
		va->cmd->ctx.exit_code = MIGRATE_EXIT_CONFIG;
		return -1;
	}

	array_foreach_elem(&va->folders, folder) {
		if (folder->archive) {
			/* last: it has what the others don't */
			archive = folder;
			continue;
		}
		if (selected == NULL || selected == folder)
			ret = verify_folder_run(va, folder, TRUE);
		else if (selected->archive)
			ret = verify_folder_run(va, folder, FALSE);
		else
			continue;
		if (ret < 0)
			return -1;
	}
	if (archive != NULL && (selected == NULL || selected == archive))
		return verify_folder_run(va, archive, TRUE);
	return 0;
}

static int
cmd_migrate_verify_run(struct doveadm_mail_cmd_context *_ctx,
		       struct mail_user *user)
{
	struct verify_cmd_context *ctx =
		container_of(_ctx, struct verify_cmd_context, ctx);
	struct verify_account va;
	const struct verify_diff *diff;
	int ret;

	i_zero(&va);
	va.cmd = ctx;
	va.dest_user = user;
	if (doveadm_migrate_source_user_login(_ctx, user, VERIFY_CMD_NAME,
					      &va.src_user, &va.gmail) < 0)
		return -1;
	va.pool = pool_alloconly_create("migrate verify", 1024 * 16);
	p_array_init(&va.folders, va.pool, 16);
	p_array_init(&va.diffs, va.pool, 16);
	hash_table_create(&va.copied_guids, va.pool, 0, str_hash, strcmp);

	ret = verify_account(&va);
	if (ret == 0 && !ctx->summary_only) {
		array_foreach(&va.diffs, diff)
			verify_diff_print(diff);
	}
	if (ret == 0 && va.absent + va.incomplete > 0) {
		i_error(VERIFY_CMD_NAME": user %s: incomplete: %u messages of "
			"%s are missing here, %u folders incomplete, %u "
			"folders absent", user->username, va.missing,
			doveadm_migrate_source_server(va.src_user),
			va.incomplete, va.absent);
		_ctx->exit_code = MIGRATE_EXIT_MISMATCH;
		ret = -1;
	} else if (ret == 0) {
		e_info(user->event, VERIFY_CMD_NAME": complete: every "
		       "message of %s is here (%u messages here only)",
		       doveadm_migrate_source_server(va.src_user), va.extra);
	}
	hash_table_destroy(&va.copied_guids);
	pool_unref(&va.pool);
	mail_user_deinit(&va.src_user);
	return ret;
}

static void
cmd_migrate_verify_init(struct doveadm_mail_cmd_context *_ctx DOVEADM_MIGRATE_INIT_ARGS)
{
	struct verify_cmd_context *ctx =
		container_of(_ctx, struct verify_cmd_context, ctx);
	static const char *const numeric[] = {
		"old", "new", "old_size", "new_size", "missing", "extra", NULL
	};
	const char *const *name;

	doveadm_migrate_mailbox_options(_ctx, &ctx->mailbox,
					&ctx->summary_only);

	doveadm_print_header_simple("folder");
	for (name = numeric; *name != NULL; name++) {
		doveadm_print_header(*name, *name,
				     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	}
	doveadm_print_header_simple("result");
	doveadm_print_header("old_no_msgid", "old_no_msgid",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("new_no_msgid", "new_no_msgid",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("message_id", "message_id",
			     DOVEADM_PRINT_HEADER_FLAG_EXPAND);
}

static struct doveadm_mail_cmd_context *cmd_migrate_verify_alloc(void)
{
	struct verify_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct verify_cmd_context);
	doveadm_migrate_mail_cmd_options(&ctx->ctx, "m:s");
	ctx->ctx.v.init = cmd_migrate_verify_init;
	ctx->ctx.v.run = cmd_migrate_verify_run;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return &ctx->ctx;
}

struct doveadm_cmd_ver2 doveadm_cmd_migrate_verify = {
	.name = "migrate verify",
	.mail_cmd = cmd_migrate_verify_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX"[-m <mailbox>] [-s]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('m', "mailbox", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('s', "summary-only", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAMS_END
};
