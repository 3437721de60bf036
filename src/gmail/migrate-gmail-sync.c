/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "lib-signals.h"
#include "array.h"
#include "str.h"
#include "mail-search-build.h"
#include "mkdir-parents.h"
#include "migrate-file.h"
#include "migrate-gmail-sync-private.h"
#include "migrate-user-settings.h"

/* One pass over the Gmail account, linear in its mail:

   1. LIST the source and sort its folders by SPECIAL-USE: label folders
      (INBOX, user labels, \Sent, \Drafts, included \Trash/\Junk) are
      copied, \All is read for archived mail, views are skipped.
   2. Read All Mail once: every message's X-GM-MSGID and X-GM-LABELS
      (one UID FETCH) and flags. Its labels give its copied folders; a
      message in none goes to the archive folder. Included Trash/Junk,
      outside All Mail, are read per folder.
   3. Read the destination folders' GUIDs once.
   4. Per destination folder: a message already there gets its flags
      brought up to date; one already in another destination folder is
      copied locally (a hard link on sdbox/maildir); only the rest is
      downloaded from All Mail, each body once. Then copies whose label
      is gone are removed (last, so mail moved from one label to another
      is copied from its old copy).

   The source is read once (no label folder is selected) and every
   destination folder once, so the cost is O(messages + label
   memberships), where dsync's virtual All-Mail recipe re-reads All Mail
   for every folder. A re-run reads no bodies unless new mail came.

   Once the account is switched (users work here), a pass is additive:
   copies already here are left as the user keeps them (no flag updates,
   nothing removed), and a copy the ledger says an earlier pass made but
   that is gone from its folder was moved or deleted by the user, so it
   is not made again. Only mail new at Gmail (or newly labelled there)
   is copied. */

static struct mail_keywords *
migrate_gmail_keywords(struct mailbox *box, const char *keywords)
{
	if (*keywords == '\0')
		return NULL;
	return mailbox_keywords_create_valid(box, t_strsplit(keywords, " "));
}

static void
migrate_gmail_save_set_metadata(struct migrate_gmail_dest_trans *dt,
				struct mail_save_context *save,
				struct migrate_gmail_msg *msg)
{
	struct mail_keywords *kw;
	const char *uidl;

	kw = migrate_gmail_keywords(dt->folder->dest_box, msg->keywords);
	mailbox_save_set_flags(save, msg->flags, kw);
	if (kw != NULL)
		mailbox_keywords_unref(&kw);
	mailbox_save_set_guid(save, msg->guid);
	if (dt->sync->pop3_uidls && dt->folder->is_inbox &&
	    (uidl = migrate_gmail_pop3_uidl(msg->guid)) != NULL)
		mailbox_save_set_pop3_uidl(save, uidl);
}

static void
migrate_gmail_dest_trans_begin(struct migrate_gmail_dest_trans *dt)
{
	dt->trans = mailbox_transaction_begin(dt->folder->dest_box,
		MAILBOX_TRANSACTION_FLAG_EXTERNAL |
		MAILBOX_TRANSACTION_FLAG_ASSIGN_UIDS, __func__);
	dt->mail = mail_alloc(dt->trans, 0, NULL);
	array_clear(&dt->saved);
}

/* Commit, and remember where the saved messages are now: later folders
   copy them from here. */
static int migrate_gmail_dest_trans_commit(struct migrate_gmail_dest_trans *dt)
{
	struct mail_transaction_commit_changes changes;
	struct seq_range_iter iter;
	struct migrate_gmail_msg *const *msgp;
	unsigned int n = 0;
	uint32_t uid;

	mail_free(&dt->mail);
	if (mailbox_transaction_commit_get_changes(&dt->trans, &changes) < 0) {
		return migrate_gmail_box_error(dt->sync, dt->folder->dest_box,
			"can't save into");
	}
	seq_range_array_iter_init(&iter, &changes.saved_uids);
	array_foreach(&dt->saved, msgp) {
		migrate_gmail_ledger_add(dt->sync->ledger,
					 dt->folder->dest_vname,
					 (*msgp)->guid);
		if (!seq_range_array_iter_nth(&iter, n++, &uid))
			break;
		if ((*msgp)->local_folder == NULL) {
			(*msgp)->local_folder = dt->folder;
			(*msgp)->local_uid = uid;
		}
	}
	pool_unref(&changes.pool);
	array_clear(&dt->saved);
	if (dt->folder->read_trans != NULL) {
		/* an earlier folder copied from this one (mail archived
		   before, labelled now): a sync with it open panics, and
		   migrate_gmail_copy_local() opens it again */
		mail_free(&dt->folder->read_mail);
		(void)mailbox_transaction_commit(&dt->folder->read_trans);
	}
	/* later folders copy from here: let them see the new mail */
	if (mailbox_sync(dt->folder->dest_box, 0) < 0) {
		return migrate_gmail_box_error(dt->sync, dt->folder->dest_box,
			"can't sync");
	}
	return 0;
}

static int
migrate_gmail_dest_trans_saved(struct migrate_gmail_dest_trans *dt,
			       struct migrate_gmail_msg *msg)
{
	array_push_back(&dt->saved, &msg);
	if (array_count(&dt->saved) < MIGRATE_GMAIL_COMMIT_INTERVAL)
		return 0;
	if (migrate_gmail_dest_trans_commit(dt) < 0)
		return -1;
	migrate_gmail_dest_trans_begin(dt);
	return 0;
}

static int
migrate_gmail_copy_local(struct migrate_gmail_dest_trans *dt,
			 struct migrate_gmail_msg *msg)
{
	struct migrate_gmail_folder *from = msg->local_folder;
	struct mail_save_context *save;

	if (from->read_trans == NULL) {
		from->read_trans = mailbox_transaction_begin(from->dest_box, 0,
							     __func__);
		from->read_mail = mail_alloc(from->read_trans, 0, NULL);
	}
	if (!mail_set_uid(from->read_mail, msg->local_uid)) {
		/* gone meanwhile: download it instead */
		msg->local_folder = NULL;
		return 0;
	}
	save = mailbox_save_alloc(dt->trans);
	migrate_gmail_save_set_metadata(dt, save, msg);
	if (mailbox_copy(&save, from->read_mail) < 0) {
		return migrate_gmail_box_error(dt->sync, dt->folder->dest_box,
			"can't copy a message locally into");
	}
	dt->sync->result.local_copies++;
	return migrate_gmail_dest_trans_saved(dt, msg) < 0 ? -1 : 1;
}

HASH_TABLE_DEFINE_TYPE(uint_msg, void *, struct migrate_gmail_msg *);

static int
migrate_gmail_download(struct migrate_gmail_dest_trans *dt,
		       struct mailbox *src_box, ARRAY_TYPE(seq_range) *uids,
		       HASH_TABLE_TYPE(uint_msg) *by_uid)
{
	struct migrate_gmail_sync *sync = dt->sync;
	struct mailbox_transaction_context *trans;
	struct mail_search_args *search_args;
	struct mail_search_arg *arg;
	struct mail_search_context *search_ctx;
	struct mail_save_context *save;
	struct migrate_gmail_msg *msg;
	struct mail *mail;
	uoff_t size;
	int ret = 0;

	trans = mailbox_transaction_begin(src_box, 0, __func__);
	search_args = mail_search_build_init();
	arg = mail_search_build_add(search_args, SEARCH_UIDSET);
	p_array_init(&arg->value.seqset, search_args->pool, array_count(uids));
	array_append_array(&arg->value.seqset, uids);
	/* no MAIL_FETCH_PHYSICAL_SIZE: with imapc_features=rfc822.size it
	   adds RFC822.SIZE to every body's FETCH, and the body's literal
	   gives imapc the size anyway */
	search_ctx = mailbox_search_init(trans, search_args, NULL,
		MAIL_FETCH_STREAM_HEADER | MAIL_FETCH_STREAM_BODY |
		MAIL_FETCH_RECEIVED_DATE, NULL);
	mail_search_args_unref(&search_args);
	while (mailbox_search_next(search_ctx, &mail)) {
		if (signal_term_counter > 0) {
			/* told to stop (SIGTERM, SIGINT; counted as it
			   comes, also while imapc waits): what was
			   committed stays, the next pass goes on */
			sync->error = p_strdup_printf(sync->pool,
				"stopped by a signal while downloading %s",
				mailbox_get_vname(src_box));
			sync->mail_error = MAIL_ERROR_TEMP;
			ret = -1;
			break;
		}
		msg = hash_table_lookup(*by_uid, POINTER_CAST(mail->uid));
		if (msg == NULL)
			continue;
		save = mailbox_save_alloc(dt->trans);
		migrate_gmail_save_set_metadata(dt, save, msg);
		if (mailbox_save_using_mail(&save, mail) < 0) {
			ret = migrate_gmail_box_error(sync, dt->folder->dest_box,
				t_strdup_printf("can't copy message UID %u "
					"of source folder %s into", mail->uid,
					mailbox_get_vname(src_box)));
			break;
		}
		sync->result.downloaded++;
		if (mail_get_physical_size(mail, &size) == 0)
			sync->result.bytes_downloaded += size;
		if (migrate_gmail_dest_trans_saved(dt, msg) < 0) {
			ret = -1;
			break;
		}
	}
	if (mailbox_search_deinit(&search_ctx) < 0 && ret == 0) {
		ret = migrate_gmail_box_error(sync, src_box,
					      "can't download from");
	}
	(void)mailbox_transaction_commit(&trans);
	return ret;
}

static bool
migrate_gmail_copy_changed(const struct migrate_gmail_copy *copy,
			   const struct migrate_gmail_msg *msg)
{
	return copy->flags != msg->flags ||
		strcmp(copy->keywords, msg->keywords) != 0;
}

/* Give the copy here the Gmail message's flags and keywords: all of
   them (MODIFY_REPLACE, a mirroring pass) or the ones it lacks
   (MODIFY_ADD, --repair-flags of a switched account). */
static void
migrate_gmail_update_flags(struct migrate_gmail_dest_trans *dt,
			   const struct migrate_gmail_copy *copy,
			   const struct migrate_gmail_msg *msg,
			   enum modify_type modify)
{
	struct mail_keywords *kw;

	dt->sync->result.flags_updated++;
	if (dt->sync->dry_run || !mail_set_uid(dt->mail, copy->uid))
		return;
	mail_update_flags(dt->mail, modify, msg->flags);
	kw = migrate_gmail_keywords(dt->folder->dest_box, msg->keywords);
	if (kw == NULL && modify == MODIFY_REPLACE) {
		kw = mailbox_keywords_create_valid(dt->folder->dest_box,
			(const char *const []){ NULL });
	}
	if (kw != NULL) {
		mail_update_keywords(dt->mail, modify, kw);
		mailbox_keywords_unref(&kw);
	}
}

/* Does the copy here lack a flag or keyword of the Gmail message? */
static bool
migrate_gmail_copy_lacks(const struct migrate_gmail_copy *copy,
			 const struct migrate_gmail_msg *msg)
{
	const char *const *keywords, *const *copy_keywords;

	if ((msg->flags & ~copy->flags) != 0)
		return TRUE;
	if (*msg->keywords == '\0')
		return FALSE;
	copy_keywords = t_strsplit(copy->keywords, " ");
	for (keywords = t_strsplit(msg->keywords, " "); *keywords != NULL;
	     keywords++) {
		if (!str_array_find(copy_keywords, *keywords))
			return TRUE;
	}
	return FALSE;
}

/* Copies of Gmail mail whose label is gone. Removed once every folder
   has its new copies, so that mail moved from one label to another at
   Gmail is copied from the old label's copy, not downloaded again. */
static int
migrate_gmail_expunge_unwanted(struct migrate_gmail_sync *sync,
			       struct migrate_gmail_folder *folder)
{
	struct mailbox_transaction_context *trans = NULL;
	struct mail *mail = NULL;
	struct hash_iterate_context *iter;
	struct migrate_gmail_copy *copy;
	const char *guid;

	iter = hash_table_iterate_init(folder->copies);
	while (hash_table_iterate(iter, folder->copies, &guid, &copy)) {
		if (copy->wanted)
			continue;
		sync->result.expunged++;
		if (sync->dry_run)
			continue;
		if (trans == NULL) {
			trans = mailbox_transaction_begin(folder->dest_box,
				MAILBOX_TRANSACTION_FLAG_EXTERNAL, __func__);
			mail = mail_alloc(trans, 0, NULL);
		}
		if (mail_set_uid(mail, copy->uid))
			mail_expunge(mail);
	}
	hash_table_iterate_deinit(&iter);
	if (trans == NULL)
		return 0;
	mail_free(&mail);
	if (mailbox_transaction_commit(&trans) < 0) {
		return migrate_gmail_box_error(sync, folder->dest_box,
			"can't remove copies of unlabelled mail from");
	}
	return 0;
}

static int migrate_gmail_expunge_all(struct migrate_gmail_sync *sync)
{
	struct migrate_gmail_folder *folder;

	array_foreach_elem(&sync->folders, folder) {
		if (folder->dest_exists &&
		    migrate_gmail_expunge_unwanted(sync, folder) < 0)
			return -1;
	}
	return 0;
}

static int
migrate_gmail_folder_create(struct migrate_gmail_sync *sync,
			    struct migrate_gmail_folder *folder)
{
	enum mail_error error;

	if (folder->dest_exists || sync->dry_run)
		return 0;
	if (mailbox_create(folder->dest_box, NULL, FALSE) < 0) {
		(void)mailbox_get_last_error(folder->dest_box, &error);
		if (error != MAIL_ERROR_EXISTS) {
			return migrate_gmail_box_error(sync, folder->dest_box,
				"can't create destination folder");
		}
	} else if (folder->subscribe &&
		   mailbox_set_subscribed(folder->dest_box, TRUE) < 0) {
		/* a mail client showing subscribed folders only wouldn't
		   show its mail */
		return migrate_gmail_box_error(sync, folder->dest_box,
			"can't subscribe destination folder");
	}
	folder->dest_exists = TRUE;
	if (mailbox_open(folder->dest_box) < 0) {
		return migrate_gmail_box_error(sync, folder->dest_box,
			"can't open destination folder");
	}
	return 0;
}

/* Does a switched account's folder get this member? Not if a copy is
   there already, nor if an earlier pass made one the user has moved or
   deleted since. */
static bool
migrate_gmail_additive_wanted(struct migrate_gmail_sync *sync,
			      struct migrate_gmail_folder *folder,
			      const struct migrate_gmail_msg *msg)
{
	if (hash_table_lookup(folder->copies, msg->guid) != NULL)
		return FALSE;
	if (migrate_gmail_ledger_has(sync->ledger, folder->dest_vname,
				     msg->guid)) {
		sync->result.kept_away++;
		return FALSE;
	}
	return TRUE;
}

/* 4. bring one destination folder up to date */
static int
migrate_gmail_apply_folder(struct migrate_gmail_sync *sync,
			   struct migrate_gmail_folder *folder)
{
	struct migrate_gmail_dest_trans dt;
	struct migrate_gmail_member *member;
	struct migrate_gmail_copy *copy;
	ARRAY_TYPE(seq_range) uids;
	HASH_TABLE_TYPE(uint_msg) by_uid;
	ARRAY(struct migrate_gmail_member *) todo, repair;
	struct mailbox *src_box = NULL;
	unsigned int pending = 0;
	int ret = 0;

	if (array_count(&folder->members) == 0 &&
	    hash_table_count(folder->copies) == 0)
		return 0;
	if (!sync->additive) {
		/* what is there after this pass, recorded as it goes */
		migrate_gmail_ledger_clear_folder(sync->ledger,
						  folder->dest_vname);
	}

	/* which members need a copy made */
	t_array_init(&todo, array_count(&folder->members) + 1);
	t_array_init(&repair, 4);
	array_foreach_modifiable(&folder->members, member) {
		struct migrate_gmail_msg *msg = member->msg;

		if (sync->additive) {
			if (migrate_gmail_additive_wanted(sync, folder, msg))
				array_push_back(&todo, &member);
			else if (sync->repair_flags &&
				 (copy = hash_table_lookup(folder->copies,
							   msg->guid)) != NULL &&
				 migrate_gmail_copy_lacks(copy, msg))
				array_push_back(&repair, &member);
			continue;
		}
		copy = hash_table_lookup(folder->copies, msg->guid);
		if (copy == NULL) {
			array_push_back(&todo, &member);
			continue;
		}
		copy->wanted = TRUE;
		sync->result.present++;
		migrate_gmail_ledger_add(sync->ledger, folder->dest_vname,
					 msg->guid);
	}
	if (sync->additive) {
		/* copies here stay as the user keeps them */
		sync->result.present += array_count(&folder->members) -
			array_count(&todo);
		if (array_count(&todo) == 0 && array_count(&repair) == 0)
			return 0;
	}
	if (migrate_gmail_folder_create(sync, folder) < 0)
		return -1;

	i_zero(&dt);
	dt.sync = sync;
	dt.folder = folder;
	t_array_init(&dt.saved, 64);
	if (!sync->dry_run)
		migrate_gmail_dest_trans_begin(&dt);
	if (!sync->additive) {
		array_foreach_modifiable(&folder->members, member) {
			copy = hash_table_lookup(folder->copies,
						 member->msg->guid);
			if (copy != NULL &&
			    migrate_gmail_copy_changed(copy, member->msg))
				migrate_gmail_update_flags(&dt, copy,
					member->msg, MODIFY_REPLACE);
		}
	}
	array_foreach_elem(&repair, member) {
		migrate_gmail_update_flags(&dt,
			hash_table_lookup(folder->copies, member->msg->guid),
			member->msg, MODIFY_ADD);
	}
	t_array_init(&uids, 64);
	hash_table_create_direct(&by_uid, default_pool, 0);

	array_foreach_elem(&todo, member) {
		struct migrate_gmail_msg *msg = member->msg;

		if (msg->local_folder != NULL) {
			if (sync->dry_run) {
				sync->result.local_copies++;
				continue;
			}
			if ((ret = migrate_gmail_copy_local(&dt, msg)) < 0)
				break;
			if (ret > 0)
				continue;
		}
		if (sync->dry_run) {
			/* would be downloaded here, copied elsewhere */
			sync->result.downloaded++;
			msg->local_folder = folder;
			continue;
		}
		/* a folder mixes sources only when the archive folder
		   shares a label's name: download per source */
		if (src_box != NULL && src_box != member->src_box) {
			if (migrate_gmail_download(&dt, src_box, &uids,
						   &by_uid) < 0) {
				ret = -1;
				break;
			}
			array_clear(&uids);
			hash_table_clear(by_uid, TRUE);
		}
		src_box = member->src_box;
		seq_range_array_add(&uids, member->src_uid);
		hash_table_insert(by_uid, POINTER_CAST(member->src_uid), msg);
		pending++;
	}
	ret = ret < 0 ? -1 : 0;
	if (ret == 0 && array_count(&uids) > 0)
		ret = migrate_gmail_download(&dt, src_box, &uids, &by_uid);
	hash_table_destroy(&by_uid);

	if (dt.trans != NULL) {
		if (ret < 0) {
			mail_free(&dt.mail);
			mailbox_transaction_rollback(&dt.trans);
		} else if (migrate_gmail_dest_trans_commit(&dt) < 0) {
			ret = -1;
		}
	}
	e_debug(sync->dest_user->event, "migrate_gmail: %s: %u messages, "
		"%u to download", folder->dest_vname,
		array_count(&folder->members), pending);
	return ret;
}

static void migrate_gmail_sync_free(struct migrate_gmail_sync *sync)
{
	struct migrate_gmail_folder *folder;

	array_foreach_elem(&sync->folders, folder) {
		if (folder->read_trans != NULL) {
			mail_free(&folder->read_mail);
			(void)mailbox_transaction_commit(&folder->read_trans);
		}
		if (folder->src_box != NULL && folder->src_box != sync->all_box)
			mailbox_free(&folder->src_box);
		if (folder->dest_box != NULL)
			mailbox_free(&folder->dest_box);
		hash_table_destroy(&folder->member_guids);
		hash_table_destroy(&folder->copies);
	}
	if (sync->all_box != NULL)
		mailbox_free(&sync->all_box);
	hash_table_destroy(&sync->msgs);
	hash_table_destroy(&sync->label_folders);
	pool_unref(&sync->pool);
}

static int
migrate_gmail_sync_settings(struct migrate_gmail_sync *sync)
{
	struct mail_user *user = sync->dest_user;
	const char *value, *error;

	value = migrate_user_setting(user, "migrate_gmail_archive_folder");
	sync->archive_name = value == NULL || *value == '\0' ?
		MIGRATE_GMAIL_DEFAULT_ARCHIVE : p_strdup(sync->pool, value);
	value = migrate_user_setting(user, "migrate_gmail_include");
	if (migrate_gmail_parse_include(value, &sync->include_trash,
					&sync->include_junk, &error) < 0) {
		sync->mail_error = MAIL_ERROR_PARAMS;
		sync->error = p_strdup_printf(sync->pool,
			"migrate_gmail_include: %s", error);
		return -1;
	}
	sync->label_keywords = migrate_user_setting_bool(user,
		"migrate_gmail_label_keywords");
	sync->pop3_uidls = migrate_user_setting_bool(user,
		"migrate_gmail_pop3_uidls");
	value = migrate_user_setting(user, "migrate_gmail_expunge");
	sync->expunge = value == NULL || *value == '\0' ||
		migrate_user_setting_bool(user, "migrate_gmail_expunge");
	return 0;
}

/* The ledger of the copies earlier passes made. Returns 0, or -1 if a
   switched account's ledger can't be read (without it, mail the user
   deleted here would come back). */
static int migrate_gmail_ledger_read(struct migrate_gmail_sync *sync)
{
	string_t *data;
	const char *error;
	int ret;

	if (mail_user_try_home_expand(sync->dest_user,
				      &sync->ledger_path) < 0) {
		sync->mail_error = MAIL_ERROR_NOTPOSSIBLE;
		sync->error = p_strdup_printf(sync->pool, "%s: the user has "
			"no home directory for the ledger of copies made",
			MIGRATE_GMAIL_LEDGER_PATH);
		return -1;
	}
	sync->ledger_path = p_strdup(sync->pool, sync->ledger_path);
	ret = migrate_file_read(sync->ledger_path, &data, &error);
	if (ret == 0)
		return 0;
	if (ret > 0)
		ret = migrate_gmail_ledger_parse(sync->ledger, str_c(data),
						 &error);
	if (ret < 0 && sync->additive) {
		sync->mail_error = MAIL_ERROR_TEMP;
		sync->error = p_strdup_printf(sync->pool, "can't read the "
			"ledger of copies made %s: %s", sync->ledger_path,
			error);
		return -1;
	}
	if (ret < 0) {
		/* a mirroring pass records it all anew */
		e_warning(sync->dest_user->event, "migrate_gmail: ignoring "
			  "%s: %s", sync->ledger_path, error);
	}
	return 0;
}

static int migrate_gmail_ledger_write(struct migrate_gmail_sync *sync)
{
	string_t *str;
	const char *dir, *error;

	if (sync->dry_run)
		return 0;
	dir = t_strdup_until(sync->ledger_path,
			     strrchr(sync->ledger_path, '/'));
	if (mkdir_parents(dir, 0700) < 0 && errno != EEXIST) {
		error = t_strdup_printf("mkdir(%s) failed: %m", dir);
	} else {
		str = t_str_new(1024 + migrate_gmail_ledger_count(
						sync->ledger) * 21);
		migrate_gmail_ledger_append(str, sync->ledger);
		if (migrate_file_replace(sync->ledger_path, str, &error) == 0)
			return 0;
	}
	error = t_strdup_printf("can't record the copies made: %s", error);
	if (sync->error != NULL) {
		/* the first failure is the one reported */
		e_error(sync->dest_user->event, "migrate_gmail: %s", error);
	} else {
		sync->mail_error = MAIL_ERROR_TEMP;
		sync->error = p_strdup(sync->pool, error);
	}
	return -1;
}

int migrate_gmail_sync(struct mail_user *dest_user, struct mail_user *src_user,
		       const struct migrate_gmail_options *options,
		       struct migrate_gmail_result *result_r,
		       enum mail_error *mail_error_r, const char **error_r)
{
	struct migrate_gmail_sync *sync;
	struct migrate_gmail_folder *folder;
	pool_t pool;
	int ret = 0;

	pool = pool_alloconly_create("migrate gmail sync", 1024*64);
	sync = p_new(pool, struct migrate_gmail_sync, 1);
	sync->pool = pool;
	sync->dest_user = dest_user;
	sync->src_user = src_user;
	sync->dry_run = options->dry_run;
	sync->additive = options->additive;
	sync->repair_flags = options->repair_flags;
	sync->ledger = migrate_gmail_ledger_init();
	sync->ledger_path = MIGRATE_GMAIL_LEDGER_PATH;
	hash_table_create(&sync->msgs, pool, 0, str_hash, strcmp);
	p_array_init(&sync->folders, pool, 16);
	hash_table_create(&sync->label_folders, pool, 0, str_hash, strcmp);
	sync->src_ns = mail_namespace_find_inbox(src_user->namespaces);
	sync->dest_ns = mail_namespace_find_inbox(dest_user->namespaces);

	T_BEGIN {
		if (migrate_gmail_sync_settings(sync) < 0 ||
		    migrate_gmail_ledger_read(sync) < 0) {
			ret = -1;
			sync->ledger_path = NULL;
		} else if (migrate_gmail_list_source(sync) < 0 ||
			   migrate_gmail_read_source(sync) < 0 ||
			   migrate_gmail_read_dest(sync) < 0)
			ret = -1;
		if (ret == 0) {
			array_foreach_elem(&sync->folders, folder) {
				if (migrate_gmail_apply_folder(sync, folder) < 0) {
					ret = -1;
					break;
				}
			}
		}
		if (ret == 0 && sync->expunge && !sync->additive)
			ret = migrate_gmail_expunge_all(sync);
		/* also after a failure: what was copied is recorded */
		if (sync->ledger_path != NULL &&
		    migrate_gmail_ledger_write(sync) < 0)
			ret = -1;
	} T_END;
	*result_r = sync->result;
	*mail_error_r = sync->mail_error;
	if (ret < 0) {
		*error_r = sync->error == NULL ? "unknown error" :
			t_strdup(sync->error);
	}
	migrate_gmail_ledger_deinit(&sync->ledger);
	migrate_gmail_sync_free(sync);
	return ret;
}
