/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "imap-arg.h"
#include "mail-search-build.h"
#include "mailbox-list-iter.h"
#include "imapc-storage.h"
#include "migrate-subscriptions.h"
#include "migrate-user-settings.h"
#include "migrate-gmail-sync-private.h"

/* Steps 1-3 of a pass (see migrate-gmail-sync.c): the source's folders
   by SPECIAL-USE, which message is in which folder, and what the
   destination has already.

   Which message is in which label folder comes from All Mail alone: one
   UID FETCH 1:* (X-GM-MSGID X-GM-LABELS) there, sent through imapc's
   connection, and the flags imapc fetched when it selected All Mail. No
   label folder is selected: their mail is downloaded from All Mail too.
   Only included Trash/Junk (outside All Mail) are read per folder. */

int
migrate_gmail_box_error(struct migrate_gmail_sync *sync, struct mailbox *box,
			const char *what)
{
	const char *error;

	error = mailbox_get_last_internal_error(box, &sync->mail_error);
	sync->error = p_strdup_printf(sync->pool, "%s %s: %s", what,
				      mailbox_get_vname(box), error);
	return -1;
}

static const char *
migrate_gmail_dest_special_use_name(struct migrate_gmail_sync *sync,
				    enum migrate_gmail_folder_kind kind)
{
	const struct migrate_special_use_folder *folders;
	unsigned int count;

	/* the folder the destination's config gives this SPECIAL-USE */
	folders = migrate_namespace_special_use_folders(sync->dest_ns,
							&count);
	return migrate_gmail_folder_dest_name(kind, folders, count);
}

static struct migrate_gmail_folder *
migrate_gmail_folder_get(struct migrate_gmail_sync *sync, const char *dest_vname,
			 enum migrate_gmail_folder_kind kind)
{
	struct migrate_gmail_folder *folder;

	/* two sources may land in one folder (a label named like the
	   archive folder): they share it */
	array_foreach_elem(&sync->folders, folder) {
		if (strcmp(folder->dest_vname, dest_vname) == 0)
			return folder;
	}
	folder = p_new(sync->pool, struct migrate_gmail_folder, 1);
	folder->dest_vname = p_strdup(sync->pool, dest_vname);
	folder->kind = kind;
	folder->is_inbox = strcasecmp(dest_vname, "INBOX") == 0;
	p_array_init(&folder->members, sync->pool, 64);
	hash_table_create(&folder->member_guids, sync->pool, 0, str_hash,
			  strcmp);
	hash_table_create(&folder->copies, sync->pool, 0, str_hash, strcmp);
	array_push_back(&sync->folders, &folder);
	return folder;
}

static struct mailbox *
migrate_gmail_src_open(struct migrate_gmail_sync *sync, const char *vname)
{
	struct mailbox *box;

	box = mailbox_alloc(sync->src_ns->list, vname, MAILBOX_FLAG_READONLY);
	if (mailbox_sync(box, 0) < 0) {
		(void)migrate_gmail_box_error(sync, box,
					      "can't open source folder");
		mailbox_free(&box);
		return NULL;
	}
	return box;
}

/* The X-GM-LABELS label whose messages the source folder vname holds:
   \Inbox, \Sent and \Draft for those folders, else the folder's IMAP
   name (a user label). */
static void
migrate_gmail_label_add(struct migrate_gmail_sync *sync,
			struct migrate_gmail_folder *folder,
			enum migrate_gmail_folder_kind kind, const char *vname)
{
	struct mailbox *box;
	const char *label;

	if (kind == MIGRATE_GMAIL_FOLDER_SENT)
		label = "\\sent";
	else if (kind == MIGRATE_GMAIL_FOLDER_DRAFTS)
		label = "\\draft";
	else if (strcasecmp(vname, "INBOX") == 0)
		label = "\\inbox";
	else if (strcmp(sync->src_ns->storage->name, IMAPC_STORAGE_NAME) != 0)
		label = vname;
	else {
		/* allocating doesn't select it */
		box = mailbox_alloc(sync->src_ns->list, vname,
				    MAILBOX_FLAG_READONLY);
		label = t_strdup(imapc_mailbox_get_remote_name(
						IMAPC_MAILBOX(box)));
		mailbox_free(&box);
	}
	label = p_strdup(sync->pool, label);
	if (hash_table_lookup(sync->label_folders, label) == NULL)
		hash_table_insert(sync->label_folders, label, folder);
}

/* 1. the source's folders, by SPECIAL-USE */
int migrate_gmail_list_source(struct migrate_gmail_sync *sync)
{
	struct mailbox_list_iterate_context *iter;
	const struct mailbox_info *info;
	struct migrate_gmail_folder *folder;
	enum migrate_gmail_folder_kind kind;
	HASH_TABLE_TYPE(migrate_vname_set) subscribed;
	const char *dest_vname, *all_vname = NULL;
	bool want;
	int ret;

	hash_table_create(&subscribed, default_pool, 0, str_hash, strcmp);
	if (migrate_subscriptions_read(sync->src_ns, sync->pool,
				       subscribed) < 0) {
		/* not worth failing the pass for: the label folders
		   made here aren't subscribed then */
		e_warning(sync->dest_user->event, "migrate_gmail: reading "
			  "the source's subscriptions failed (%s): the label "
			  "folders made here aren't subscribed",
			  mailbox_list_get_last_internal_error(
				sync->src_ns->list, NULL));
	}
	iter = mailbox_list_iter_init(sync->src_ns->list, "*",
				      MAILBOX_LIST_ITER_RETURN_SPECIALUSE);
	while ((info = mailbox_list_iter_next(iter)) != NULL) {
		if ((info->flags & (MAILBOX_NOSELECT |
				    MAILBOX_NONEXISTENT)) != 0)
			continue;
		kind = migrate_gmail_folder_classify(info->special_use);
		switch (kind) {
		case MIGRATE_GMAIL_FOLDER_ALL:
			all_vname = t_strdup(info->vname);
			continue;
		case MIGRATE_GMAIL_FOLDER_VIEW:
			/* \Important becomes a keyword (from X-GM-LABELS);
			   \Flagged (Starred) is the \Flagged flag already */
			sync->result.folders_skipped++;
			e_debug(sync->dest_user->event, "migrate_gmail: "
				"skipping view %s (%s)", info->vname,
				info->special_use);
			continue;
		case MIGRATE_GMAIL_FOLDER_TRASH:
		case MIGRATE_GMAIL_FOLDER_JUNK:
			want = kind == MIGRATE_GMAIL_FOLDER_TRASH ?
				sync->include_trash : sync->include_junk;
			if (!want) {
				sync->result.folders_skipped++;
				e_debug(sync->dest_user->event,
					"migrate_gmail: skipping %s (%s, "
					"see migrate_gmail_include)",
					info->vname, info->special_use);
				continue;
			}
			/* fall through */
		case MIGRATE_GMAIL_FOLDER_SENT:
		case MIGRATE_GMAIL_FOLDER_DRAFTS:
			dest_vname = migrate_gmail_dest_special_use_name(sync,
									 kind);
			break;
		case MIGRATE_GMAIL_FOLDER_LABEL:
		default:
			dest_vname = info->vname;
			break;
		}
		folder = migrate_gmail_folder_get(sync, dest_vname, kind);
		/* \Sent, \Drafts and the included \Trash and \Junk
		   whatever LSUB says (see migrate-subscriptions.h) */
		if (kind != MIGRATE_GMAIL_FOLDER_LABEL ||
		    migrate_subscriptions_have(subscribed, info->vname))
			folder->subscribe = TRUE;
		if (kind == MIGRATE_GMAIL_FOLDER_TRASH ||
		    kind == MIGRATE_GMAIL_FOLDER_JUNK) {
			/* outside All Mail: read and downloaded from the
			   folder itself */
			folder->src_vname = p_strdup(sync->pool, info->vname);
			continue;
		}
		migrate_gmail_label_add(sync, folder, kind, info->vname);
		if (sync->label_keywords && kind == MIGRATE_GMAIL_FOLDER_LABEL &&
		    strcasecmp(info->vname, "INBOX") != 0) {
			folder->label_keyword = p_strdup(sync->pool,
				migrate_gmail_label_keyword(info->vname));
		}
	}
	ret = mailbox_list_iter_deinit(&iter);
	hash_table_destroy(&subscribed);
	if (ret < 0) {
		sync->error = p_strdup_printf(sync->pool,
			"listing the source's folders failed: %s",
			mailbox_list_get_last_internal_error(
				sync->src_ns->list, &sync->mail_error));
		return -1;
	}
	if (all_vname == NULL) {
		sync->mail_error = MAIL_ERROR_NOTPOSSIBLE;
		sync->error = "the source has no \\All (All Mail) folder in "
			"its SPECIAL-USE LIST: is it Gmail?";
		return -1;
	}
	if ((sync->all_box = migrate_gmail_src_open(sync, all_vname)) == NULL)
		return -1;
	sync->result.folders = array_count(&sync->folders) + 1;

	sync->archive = migrate_gmail_folder_get(sync, sync->archive_name,
						 MIGRATE_GMAIL_FOLDER_LABEL);
	/* All Mail's label-less mail: the user saw it there */
	sync->archive->subscribe = TRUE;
	return 0;
}

static bool migrate_gmail_keyword_wanted(const char *keyword)
{
	/* imapc's marker of labelled All Mail messages is not a property
	   of the message: the labels become folders */
	return strcasecmp(keyword, MIGRATE_GMAIL_IMAPC_KEYWORD) != 0;
}

static const char *
migrate_gmail_keywords_join(pool_t pool, const ARRAY_TYPE(const_string) *kws)
{
	ARRAY_TYPE(const_string) sorted;
	const char *kw;

	t_array_init(&sorted, array_count(kws) + 1);
	array_foreach_elem(kws, kw) {
		if (!array_lsearch(&sorted, &kw, i_strcmp_p))
			array_push_back(&sorted, &kw);
	}
	array_sort(&sorted, i_strcmp_p);
	array_append_zero(&sorted);
	return p_strdup(pool, t_strarray_join(array_front(&sorted), " "));
}

static const char *
migrate_gmail_mail_keywords(pool_t pool, struct mail *mail)
{
	ARRAY_TYPE(const_string) kws;
	const char *const *kw;

	t_array_init(&kws, 8);
	for (kw = mail_get_keywords(mail); *kw != NULL; kw++) {
		if (migrate_gmail_keyword_wanted(*kw))
			array_push_back(&kws, kw);
	}
	return migrate_gmail_keywords_join(pool, &kws);
}

static struct migrate_gmail_msg *
migrate_gmail_msg_get(struct migrate_gmail_sync *sync, const char *guid)
{
	struct migrate_gmail_msg *msg;

	msg = hash_table_lookup(sync->msgs, guid);
	if (msg == NULL) {
		msg = p_new(sync->pool, struct migrate_gmail_msg, 1);
		msg->guid = p_strdup(sync->pool, guid);
		hash_table_insert(sync->msgs, msg->guid, msg);
	}
	return msg;
}

typedef void
migrate_gmail_read_callback_t(struct migrate_gmail_sync *sync,
			      struct mail *mail, const char *guid,
			      void *context);

/* Every message of a source folder: its GUID (X-GM-MSGID) and flags. */
static int
migrate_gmail_read_folder(struct migrate_gmail_sync *sync, struct mailbox *box,
			  migrate_gmail_read_callback_t *callback,
			  void *context)
{
	struct mailbox_transaction_context *trans;
	struct mail_search_args *search_args;
	struct mail_search_context *search_ctx;
	struct mail *mail;
	const char *guid;
	int ret = 0;

	trans = mailbox_transaction_begin(box, 0, __func__);
	search_args = mail_search_build_init();
	mail_search_build_add_all(search_args);
	search_ctx = mailbox_search_init(trans, search_args, NULL,
					 MAIL_FETCH_GUID | MAIL_FETCH_FLAGS,
					 NULL);
	mail_search_args_unref(&search_args);
	while (mailbox_search_next(search_ctx, &mail)) {
		if (mail_get_special(mail, MAIL_FETCH_GUID, &guid) < 0) {
			ret = migrate_gmail_box_error(sync, box,
				"can't read message ids of");
			break;
		}
		if (*guid == '\0' &&
		    mailbox_get_namespace(box) == sync->src_ns) {
			sync->mail_error = MAIL_ERROR_NOTPOSSIBLE;
			sync->error = p_strdup_printf(sync->pool,
				"source folder %s: message UID %u has no "
				"X-GM-MSGID (the server doesn't offer "
				"X-GM-EXT-1)", mailbox_get_vname(box),
				mail->uid);
			ret = -1;
			break;
		}
		T_BEGIN {
			callback(sync, mail, guid, context);
		} T_END;
	}
	if (mailbox_search_deinit(&search_ctx) < 0 && ret == 0)
		ret = migrate_gmail_box_error(sync, box, "can't read");
	(void)mailbox_transaction_commit(&trans);
	return ret;
}

static void
migrate_gmail_member_add(struct migrate_gmail_folder *folder,
			 struct migrate_gmail_msg *msg, struct mailbox *src_box,
			 uint32_t src_uid)
{
	struct migrate_gmail_member *member;

	if (hash_table_lookup(folder->member_guids, msg->guid) != NULL)
		return;
	hash_table_insert(folder->member_guids, msg->guid, msg);
	member = array_append_space(&folder->members);
	member->msg = msg;
	member->src_box = src_box;
	member->src_uid = src_uid;
}

static void
migrate_gmail_read_label_mail(struct migrate_gmail_sync *sync,
			      struct mail *mail, const char *guid,
			      void *context)
{
	struct migrate_gmail_folder *folder = context;
	struct migrate_gmail_msg *msg = migrate_gmail_msg_get(sync, guid);

	if (!msg->in_label_folder) {
		/* All Mail's flags win later; Trash/Junk mail has only
		   these */
		msg->flags = mail_get_flags(mail) & MAIL_FLAGS_NONRECENT;
		msg->keywords = migrate_gmail_mail_keywords(sync->pool, mail);
	}
	msg->in_label_folder = TRUE;
	if (folder->label_keyword != NULL) {
		if (!array_is_created(&msg->labels))
			p_array_init(&msg->labels, sync->pool, 2);
		array_push_back(&msg->labels, &folder->label_keyword);
	}
	migrate_gmail_member_add(folder, msg, folder->src_box, mail->uid);
}

/* the keywords every copy of msg gets */
static void
migrate_gmail_msg_finish_keywords(struct migrate_gmail_sync *sync,
				  struct migrate_gmail_msg *msg)
{
	ARRAY_TYPE(const_string) kws;
	const char *kw;

	if (!array_is_created(&msg->labels) && !msg->important)
		return;
	t_array_init(&kws, 8);
	if (*msg->keywords != '\0') {
		const char *const *old = t_strsplit(msg->keywords, " ");

		array_append(&kws, old, str_array_length(old));
	}
	if (array_is_created(&msg->labels))
		array_append_array(&kws, &msg->labels);
	if (msg->important) {
		kw = MIGRATE_GMAIL_IMPORTANT_KEYWORD;
		array_push_back(&kws, &kw);
	}
	msg->keywords = migrate_gmail_keywords_join(sync->pool, &kws);
}

ARRAY_DEFINE_TYPE(migrate_gmail_folder, struct migrate_gmail_folder *);

/* A message of All Mail as X-GM-LABELS describes it */
struct migrate_gmail_labelled {
	const char *msgid;
	/* the copied folders it is in, NULL-terminated */
	struct migrate_gmail_folder **folders;
	bool important;
};

struct migrate_gmail_labels_read {
	struct migrate_gmail_sync *sync;
	struct imapc_mailbox *mbox;
	pool_t pool;
	HASH_TABLE(void *, struct migrate_gmail_labelled *) by_uid;
};

/* imapc's mailbox callbacks have no context: the one read running */
static struct migrate_gmail_labels_read *migrate_gmail_labels_reading = NULL;

static const struct imap_arg migrate_gmail_empty_list[] = {
	{ .type = IMAP_ARG_EOL }
};

static bool
migrate_gmail_folders_have(const ARRAY_TYPE(migrate_gmail_folder) *folders,
			   const struct migrate_gmail_folder *folder)
{
	struct migrate_gmail_folder *f;

	array_foreach_elem(folders, f) {
		if (f == folder)
			return TRUE;
	}
	return FALSE;
}

static struct migrate_gmail_labelled *
migrate_gmail_labelled_parse(struct migrate_gmail_labels_read *ctx,
			     const char *msgid, const struct imap_arg *labels)
{
	struct migrate_gmail_labelled *lm;
	struct migrate_gmail_folder *folder;
	ARRAY_TYPE(migrate_gmail_folder) folders;
	const char *label;
	unsigned int i;

	lm = p_new(ctx->pool, struct migrate_gmail_labelled, 1);
	lm->msgid = msgid == NULL ? "" : p_strdup(ctx->pool, msgid);
	t_array_init(&folders, 4);
	for (i = 0; labels[i].type != IMAP_ARG_EOL; i++) {
		if (!imap_arg_get_astring(&labels[i], &label))
			continue;
		if (label[0] == '\\') {
			if (strcasecmp(label, "\\Important") == 0)
				lm->important = TRUE;
			label = t_str_lcase(label);
		}
		/* a label without a copied folder in LIST (a view, or
		   hidden from IMAP) makes no copy */
		folder = hash_table_lookup(ctx->sync->label_folders, label);
		if (folder != NULL &&
		    !migrate_gmail_folders_have(&folders, folder))
			array_push_back(&folders, &folder);
	}
	lm->folders = p_new(ctx->pool, struct migrate_gmail_folder *,
			    array_count(&folders) + 1);
	if (array_count(&folders) > 0) {
		memcpy(lm->folders, array_front(&folders),
		       sizeof(*lm->folders) * array_count(&folders));
	}
	return lm;
}

/* An untagged FETCH of All Mail: ours has X-GM-LABELS, imapc's own
   (FLAGS, bodies) don't and are left to imapc. */
static void
migrate_gmail_labels_fetch(const struct imapc_untagged_reply *reply,
			   struct imapc_mailbox *mbox)
{
	struct migrate_gmail_labels_read *ctx = migrate_gmail_labels_reading;
	const struct imap_arg *list, *labels = NULL;
	const char *atom, *msgid = NULL;
	uint32_t uid = 0;
	unsigned int i;

	if (ctx == NULL || ctx->mbox != mbox ||
	    !imap_arg_get_list(reply->args, &list))
		return;
	for (i = 0; list[i].type != IMAP_ARG_EOL &&
		    list[i+1].type != IMAP_ARG_EOL; i += 2) {
		if (!imap_arg_get_atom(&list[i], &atom))
			return;
		if (strcasecmp(atom, "UID") == 0) {
			if (!imap_arg_get_atom(&list[i+1], &atom) ||
			    str_to_uint32(atom, &uid) < 0)
				return;
		} else if (strcasecmp(atom, "X-GM-MSGID") == 0) {
			if (!imap_arg_get_atom(&list[i+1], &msgid))
				return;
		} else if (strcasecmp(atom, "X-GM-LABELS") == 0) {
			if (list[i+1].type == IMAP_ARG_NIL)
				labels = migrate_gmail_empty_list;
			else if (!imap_arg_get_list(&list[i+1], &labels))
				return;
		}
	}
	if (uid == 0 || labels == NULL)
		return;
	T_BEGIN {
		hash_table_update(ctx->by_uid, POINTER_CAST(uid),
			migrate_gmail_labelled_parse(ctx, msgid, labels));
	} T_END;
}

/* X-GM-MSGID and X-GM-LABELS of every All Mail message into ctx->by_uid */
static int
migrate_gmail_labels_fetch_all(struct migrate_gmail_labels_read *ctx)
{
	struct migrate_gmail_sync *sync = ctx->sync;
	struct imapc_simple_context sctx;
	struct imapc_command *cmd;

	if (ctx->mbox->client_box == NULL) {
		return migrate_gmail_box_error(sync, sync->all_box,
					       "can't read labels of");
	}
	/* registered once per mailbox; it stays until the box is freed and
	   does nothing while no read runs */
	imapc_mailbox_register_untagged(ctx->mbox, "FETCH",
					migrate_gmail_labels_fetch);
	migrate_gmail_labels_reading = ctx;
	imapc_simple_context_init(&sctx, ctx->mbox->storage->client);
	cmd = imapc_client_mailbox_cmd(ctx->mbox->client_box,
				       imapc_simple_callback, &sctx);
	/* sent again after a reconnect: answers replace answers */
	imapc_command_set_flags(cmd, IMAPC_COMMAND_FLAG_RETRIABLE);
	imapc_command_send(cmd, "UID FETCH 1:* (X-GM-MSGID X-GM-LABELS)");
	imapc_simple_run(&sctx, &cmd);
	migrate_gmail_labels_reading = NULL;
	if (sctx.ret < 0) {
		return migrate_gmail_box_error(sync, sync->all_box,
					       "can't read labels of");
	}
	return 0;
}

/* One All Mail message: into the folders of its labels, or archived. */
static int
migrate_gmail_all_mail_add(struct migrate_gmail_sync *sync, struct mail *mail,
			   const struct migrate_gmail_labelled *lm)
{
	struct migrate_gmail_folder *const *folderp;
	struct migrate_gmail_msg *msg;

	if (lm == NULL) {
		/* expunged meanwhile, or an answer we couldn't parse:
		   without its labels its copies can't be judged */
		sync->mail_error = MAIL_ERROR_TEMP;
		sync->error = p_strdup_printf(sync->pool, "source folder %s: "
			"message UID %u is missing from the server's "
			"X-GM-LABELS answer", mailbox_get_vname(mail->box),
			mail->uid);
		return -1;
	}
	if (*lm->msgid == '\0') {
		sync->mail_error = MAIL_ERROR_NOTPOSSIBLE;
		sync->error = p_strdup_printf(sync->pool,
			"source folder %s: message UID %u has no "
			"X-GM-MSGID (the server doesn't offer "
			"X-GM-EXT-1)", mailbox_get_vname(mail->box),
			mail->uid);
		return -1;
	}
	msg = migrate_gmail_msg_get(sync, lm->msgid);
	msg->flags = mail_get_flags(mail) & MAIL_FLAGS_NONRECENT;
	msg->keywords = migrate_gmail_mail_keywords(sync->pool, mail);
	if (lm->important && sync->label_keywords)
		msg->important = TRUE;
	for (folderp = lm->folders; *folderp != NULL; folderp++) {
		msg->in_label_folder = TRUE;
		if ((*folderp)->label_keyword != NULL) {
			if (!array_is_created(&msg->labels))
				p_array_init(&msg->labels, sync->pool, 2);
			array_push_back(&msg->labels,
					&(*folderp)->label_keyword);
		}
		migrate_gmail_member_add(*folderp, msg, sync->all_box,
					 mail->uid);
	}
	if (!msg->in_label_folder) {
		/* in no copied folder: archived */
		migrate_gmail_member_add(sync->archive, msg, sync->all_box,
					 mail->uid);
		sync->result.archived++;
	}
	sync->result.messages++;
	return 0;
}

/* All Mail: every message's labels, X-GM-MSGID and flags */
static int migrate_gmail_read_all_mail(struct migrate_gmail_sync *sync)
{
	struct migrate_gmail_labels_read ctx;
	struct mailbox *box = sync->all_box;
	struct mailbox_transaction_context *trans;
	struct mail_search_args *search_args;
	struct mail_search_context *search_ctx;
	struct mail *mail;
	int ret = 0;

	if (strcmp(box->storage->name, IMAPC_STORAGE_NAME) != 0) {
		sync->mail_error = MAIL_ERROR_NOTPOSSIBLE;
		sync->error = p_strdup_printf(sync->pool, "the source is "
			"%s storage, not imapc", box->storage->name);
		return -1;
	}
	i_zero(&ctx);
	ctx.sync = sync;
	ctx.mbox = IMAPC_MAILBOX(box);
	if ((ctx.mbox->capabilities & IMAPC_CAPABILITY_X_GM_EXT_1) == 0) {
		sync->mail_error = MAIL_ERROR_NOTPOSSIBLE;
		sync->error = p_strdup_printf(sync->pool, "source folder %s: "
			"the server doesn't offer X-GM-EXT-1 (X-GM-MSGID, "
			"X-GM-LABELS)", mailbox_get_vname(box));
		return -1;
	}
	ctx.pool = pool_alloconly_create("migrate gmail labels", 1024*16);
	hash_table_create_direct(&ctx.by_uid, default_pool, 0);
	if (migrate_gmail_labels_fetch_all(&ctx) < 0) {
		hash_table_destroy(&ctx.by_uid);
		pool_unref(&ctx.pool);
		return -1;
	}

	/* the flags: imapc fetched them when it selected All Mail */
	trans = mailbox_transaction_begin(box, 0, __func__);
	search_args = mail_search_build_init();
	mail_search_build_add_all(search_args);
	search_ctx = mailbox_search_init(trans, search_args, NULL,
					 MAIL_FETCH_FLAGS, NULL);
	mail_search_args_unref(&search_args);
	while (mailbox_search_next(search_ctx, &mail)) {
		T_BEGIN {
			ret = migrate_gmail_all_mail_add(sync, mail,
				hash_table_lookup(ctx.by_uid,
						  POINTER_CAST(mail->uid)));
		} T_END;
		if (ret < 0)
			break;
	}
	if (mailbox_search_deinit(&search_ctx) < 0 && ret == 0)
		ret = migrate_gmail_box_error(sync, box, "can't read");
	(void)mailbox_transaction_commit(&trans);
	hash_table_destroy(&ctx.by_uid);
	pool_unref(&ctx.pool);
	return ret;
}

/* 2. which message belongs in which folder */
int migrate_gmail_read_source(struct migrate_gmail_sync *sync)
{
	struct migrate_gmail_folder *folder;
	struct hash_iterate_context *iter;
	struct migrate_gmail_msg *msg;
	const char *guid;

	/* included Trash/Junk: outside All Mail */
	array_foreach_elem(&sync->folders, folder) {
		if (folder->src_vname == NULL)
			continue;
		folder->src_box = migrate_gmail_src_open(sync, folder->src_vname);
		if (folder->src_box == NULL ||
		    migrate_gmail_read_folder(sync, folder->src_box,
				migrate_gmail_read_label_mail, folder) < 0)
			return -1;
		sync->result.messages += array_count(&folder->members);
	}
	if (migrate_gmail_read_all_mail(sync) < 0)
		return -1;
	array_foreach_elem(&sync->folders, folder)
		sync->result.memberships += array_count(&folder->members);
	iter = hash_table_iterate_init(sync->msgs);
	while (hash_table_iterate(iter, sync->msgs, &guid, &msg)) T_BEGIN {
		migrate_gmail_msg_finish_keywords(sync, msg);
	} T_END;
	hash_table_iterate_deinit(&iter);
	return 0;
}

static void
migrate_gmail_read_dest_mail(struct migrate_gmail_sync *sync,
			     struct mail *mail, const char *guid,
			     void *context)
{
	struct migrate_gmail_folder *folder = context;
	struct migrate_gmail_copy *copy;
	struct migrate_gmail_msg *msg;

	/* only migrated Gmail mail is ours to update or remove; mail
	   delivered to the new server has other GUIDs */
	if (!migrate_gmail_guid_is_msgid(guid) ||
	    hash_table_lookup(folder->copies, guid) != NULL)
		return;
	copy = p_new(sync->pool, struct migrate_gmail_copy, 1);
	copy->uid = mail->uid;
	copy->flags = mail_get_flags(mail) & MAIL_FLAGS_NONRECENT;
	copy->keywords = migrate_gmail_mail_keywords(sync->pool, mail);
	guid = p_strdup(sync->pool, guid);
	hash_table_insert(folder->copies, guid, copy);

	msg = hash_table_lookup(sync->msgs, guid);
	if (msg != NULL && msg->local_folder == NULL) {
		msg->local_folder = folder;
		msg->local_uid = mail->uid;
	}
}

/* 3. what the destination has already */
int migrate_gmail_read_dest(struct migrate_gmail_sync *sync)
{
	struct migrate_gmail_folder *folder;

	array_foreach_elem(&sync->folders, folder) {
		folder->dest_box = mailbox_alloc(sync->dest_ns->list,
						 folder->dest_vname, 0);
		if (mailbox_open(folder->dest_box) < 0) {
			enum mail_error error;

			(void)mailbox_get_last_error(folder->dest_box, &error);
			if (error != MAIL_ERROR_NOTFOUND) {
				return migrate_gmail_box_error(sync,
					folder->dest_box,
					"can't open destination folder");
			}
			continue;
		}
		folder->dest_exists = TRUE;
		if (mailbox_sync(folder->dest_box, 0) < 0) {
			return migrate_gmail_box_error(sync, folder->dest_box,
				"can't read destination folder");
		}
		/* read_folder() says what failed */
		if (migrate_gmail_read_folder(sync, folder->dest_box,
				migrate_gmail_read_dest_mail, folder) < 0)
			return -1;
	}
	return 0;
}
