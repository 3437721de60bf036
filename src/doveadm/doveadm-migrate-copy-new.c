/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "str.h"
#include "istream.h"
#include "guid.h"
#include "seq-range-array.h"
#include "mkdir-parents.h"
#include "write-full.h"
#include "file-lock.h"
#include "wildcard-match.h"
#include "settings-parser.h"
#include "mail-namespace.h"
#include "mail-storage-private.h"
#include "mail-search-build.h"
#include "mailbox-list-iter.h"
#include "lib-signals.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "migrate-common.h"
#include "migrate-file.h"
#include "migrate-sources.h"
#include "migrate-state.h"
#include "migrate-subscriptions.h"
#include "doveadm-migrate.h"

/* doveadm migrate copy-new: the pass of a switched account. Users work
   on this server, so nothing here may be deleted, reverted, renumbered or
   brought back: only mail that is new at the old server is copied, i.e.
   the messages of each old folder from its mark on (see
   migrate-sources.h). Copies go to the end of their folder here (found by
   its GUID when the user renamed it, made again if the user deleted it),
   with the old server's flags, keywords, received date and, through
   migrate_pop3, their POP3 UIDL and order.

   dsync's one-way sync can't do this: it pairs messages by UID, so mail
   the user deleted at the end of a folder here (a POP3 client that
   downloads and deletes everything) is copied again, and mail delivered
   here is renumbered when new mail at the old server has the same UIDs.

   With --mark, nothing is copied: the marks are set from this server's
   folders, which after a mirroring pass (backup) have the old server's
   UIDVALIDITY and UIDs. */

/* saves per destination commit: what a kill can lose, bounded */
#define MIGRATE_COPY_NEW_COMMIT_INTERVAL 100
/* dsync's lock of a mailbox it syncs: a dsync left running by a killed
   run (or a killed copy-new) has a folder to itself until it is done */
#define MIGRATE_COPY_NEW_DSYNC_LOCK ".dovecot-box-sync.lock"
#define MIGRATE_COPY_NEW_LOCK_TIMEOUT_SECS 300
#define MIGRATE_COPY_NEW_SOURCES_PATH "~/.dovecot-migrate/sources"

struct copy_new_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	bool mark;
	/* --repair-flags: the pass after a killed one */
	bool repair_flags;
	const char *folder_prefix;
	/* -x, as dsync takes it */
	ARRAY_TYPE(const_string) excludes;
};

struct migrate_copy_new {
	struct copy_new_cmd_context *cmd;
	struct mail_user *dest_user;
	pool_t pool;
	/* the marks file, and the directory of the seen files */
	const char *path, *seen_dir;
	ARRAY_TYPE(migrate_source_mark) marks;
	/* the old server's subscribed folders (vnames) */
	HASH_TABLE_TYPE(migrate_vname_set) subscribed;

	/* the totals over all folders */
	unsigned int folders, copied, present, repaired;
	uint64_t bytes;
};

/* message key (hash) -> how many such messages */
HASH_TABLE_DEFINE_TYPE(migrate_key_count, const char *, void *);
/* message key -> the UIDs here of such messages (--repair-flags) */
HASH_TABLE_DEFINE_TYPE(migrate_key_uids, const char *, ARRAY_TYPE(uint32_t) *);

/* the copy of one old folder */
struct migrate_copy_new_folder {
	struct migrate_copy_new *cn;
	struct migrate_source_mark *mark;
	struct mailbox *src_box, *dest_box;
	/* the first old UID to copy and the old folder's UIDNEXT */
	uint32_t first_uid, uid_next;
	/* messages here from this UID on may be copies already */
	uint32_t dest_check_uid;
	/* the old folder is subscribed: so is the folder made for it here */
	bool src_subscribed;
	/* message key -> how many such messages are here */
	HASH_TABLE_TYPE(migrate_key_count) present;
	/* and their UIDs, with --repair-flags */
	HASH_TABLE_TYPE(migrate_key_uids) present_uids;
	/* key hash -> how many such messages were seen (copied, or here
	   after a mirroring pass): only when the UIDs say nothing */
	HASH_TABLE_TYPE(migrate_key_count) seen;
	/* the key hashes of what the open transaction saved */
	string_t *saved_hashes;

	struct file_lock *lock;
	struct mailbox_transaction_context *trans;
	/* --repair-flags: the flags added to messages here */
	struct mailbox_transaction_context *repair_trans;
	struct mail *repair_mail;
	unsigned int pending, copied, present_count, repaired;
	uint32_t last_uid;
	uint64_t bytes;
};

static const char *const migrate_copy_new_key_headers[] = {
	"Message-ID", "Date", "From", "Subject", NULL
};

static int
migrate_copy_new_marks_read(struct migrate_copy_new *cn, const char **error_r)
{
	string_t *data;
	int ret;

	cn->path = MIGRATE_COPY_NEW_SOURCES_PATH;
	if (mail_user_try_home_expand(cn->dest_user, &cn->path) < 0) {
		*error_r = t_strdup_printf("%s: the user has no home "
			"directory for the marks of what was copied",
			MIGRATE_COPY_NEW_SOURCES_PATH);
		return -1;
	}
	cn->path = p_strdup(cn->pool, cn->path);
	cn->seen_dir = p_strconcat(cn->pool, t_strdup_until(cn->path,
		strrchr(cn->path, '/')), "/seen", NULL);
	p_array_init(&cn->marks, cn->pool, 16);
	if ((ret = migrate_file_read(cn->path, &data, error_r)) <= 0)
		return ret;
	if (migrate_sources_parse(str_c(data), cn->pool, &cn->marks,
				  error_r) < 0) {
		*error_r = t_strdup_printf("%s: %s", cn->path, *error_r);
		return -1;
	}
	return 0;
}

static int
migrate_copy_new_marks_write(struct migrate_copy_new *cn, const char **error_r)
{
	const char *dir = t_strdup_until(cn->path, strrchr(cn->path, '/'));
	string_t *str = t_str_new(256);

	if (mkdir_parents(dir, 0700) < 0 && errno != EEXIST) {
		*error_r = t_strdup_printf("mkdir(%s) failed: %m", dir);
		return -1;
	}
	migrate_sources_append(str, &cn->marks);
	return migrate_file_replace(cn->path, str, error_r);
}

/* -x as dsync takes it: a \SpecialUse flag or a folder name pattern */
static bool
migrate_copy_new_excluded(struct copy_new_cmd_context *cmd,
			  const struct mailbox_info *info)
{
	const char *exclude, *const *special_use;

	special_use = info->special_use == NULL ? NULL :
		t_strsplit(info->special_use, " ");
	array_foreach_elem(&cmd->excludes, exclude) {
		if (exclude[0] == '\\') {
			if (special_use != NULL &&
			    str_array_icase_find(special_use, exclude))
				return TRUE;
		} else if (wildcard_match(info->vname, exclude)) {
			return TRUE;
		}
	}
	return FALSE;
}

static const char *
migrate_copy_new_mail_key(struct mail *mail)
{
	const char *values[N_ELEMENTS(migrate_copy_new_key_headers) - 1];
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(values); i++) {
		if (mail_get_first_header(mail,
				migrate_copy_new_key_headers[i],
				&values[i]) <= 0)
			values[i] = NULL;
	}
	return migrate_sources_msg_key(values[0], values[1], values[2],
				       values[3]);
}

static struct mail_search_args *
migrate_copy_new_search_uids(uint32_t first_uid, uint32_t last_uid)
{
	struct mail_search_args *args = mail_search_build_init();
	struct mail_search_arg *arg;

	arg = mail_search_build_add(args, SEARCH_UIDSET);
	p_array_init(&arg->value.seqset, args->pool, 1);
	seq_range_array_add_range(&arg->value.seqset, first_uid, last_uid);
	return args;
}

static int
migrate_copy_new_box_error(struct mailbox *box, const char *what)
{
	enum mail_error error;

	i_error("migrate copy-new: %s %s: %s", what, mailbox_get_vname(box),
		mailbox_get_last_internal_error(box, &error));
	return -1;
}

typedef int migrate_copy_new_mail_callback_t(struct mail *mail,
					     void *context);

/* Call callback for each message of box with a UID in first..last (all
   with last 0), the key headers and fields looked up, until it returns
   non-0. Returns 0, or -1 (logged). */
static int
migrate_copy_new_search(struct mailbox *box, uint32_t first_uid,
			uint32_t last_uid, enum mail_fetch_field fields,
			migrate_copy_new_mail_callback_t *callback,
			void *context, const char *what)
{
	struct mailbox_transaction_context *trans;
	struct mailbox_header_lookup_ctx *headers;
	struct mail_search_args *search_args;
	struct mail_search_context *search_ctx;
	struct mail *mail;
	int ret = 0;

	trans = mailbox_transaction_begin(box, 0, __func__);
	if (last_uid == 0) {
		search_args = mail_search_build_init();
		mail_search_build_add_all(search_args);
	} else {
		search_args = migrate_copy_new_search_uids(first_uid,
							   last_uid);
	}
	headers = mailbox_header_lookup_init(box,
					     migrate_copy_new_key_headers);
	search_ctx = mailbox_search_init(trans, search_args, NULL, fields,
					 headers);
	mailbox_header_lookup_unref(&headers);
	mail_search_args_unref(&search_args);
	while (ret == 0 && mailbox_search_next(search_ctx, &mail)) T_BEGIN {
		ret = callback(mail, context);
	} T_END;
	if (mailbox_search_deinit(&search_ctx) < 0 && ret == 0)
		ret = migrate_copy_new_box_error(box, what);
	(void)mailbox_transaction_commit(&trans);
	return ret < 0 ? -1 : 0;
}

static const char *
migrate_copy_new_seen_path(struct migrate_copy_new *cn, const char *dest_vname)
{
	return t_strdup_printf("%s/%s", cn->seen_dir,
			       migrate_state_file_name(dest_vname, ""));
}

/* Add the key hashes of messages copied into a folder to its seen file. */
static int
migrate_copy_new_seen_append(struct migrate_copy_new *cn,
			     const char *dest_vname, const string_t *hashes)
{
	const char *path = migrate_copy_new_seen_path(cn, dest_vname);
	int fd, ret = 0;

	if (str_len(hashes) == 0)
		return 0;
	if (mkdir_parents(cn->seen_dir, 0700) < 0 && errno != EEXIST) {
		i_error("migrate copy-new: mkdir(%s) failed: %m", cn->seen_dir);
		return -1;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
	if (fd == -1) {
		i_error("migrate copy-new: open(%s) failed: %m", path);
		return -1;
	}
	if (write_full(fd, str_data(hashes), str_len(hashes)) < 0) {
		i_error("migrate copy-new: write(%s) failed: %m", path);
		ret = -1;
	}
	if (close(fd) < 0) {
		i_error("migrate copy-new: close(%s) failed: %m", path);
		ret = -1;
	}
	return ret;
}

/* The messages seen in a folder that the old server renumbered. Returns
   1 if there is a seen file, 0 if not, -1 on error. */
static int migrate_copy_new_seen_read(struct migrate_copy_new_folder *f,
				      const char *dest_vname)
{
	const char *path = migrate_copy_new_seen_path(f->cn, dest_vname);
	struct istream *input;
	const char *line, *orig;
	void *value;
	int ret = 1;

	hash_table_create(&f->seen, f->cn->pool, 0, str_hash, strcmp);
	input = i_stream_create_file(path, 65536);
	while ((line = i_stream_read_next_line(input)) != NULL) {
		if (*line == '\0')
			continue;
		if (!hash_table_lookup_full(f->seen, line, &orig, &value))
			orig = p_strdup(f->cn->pool, line), value = NULL;
		hash_table_update(f->seen, orig, POINTER_CAST(
			POINTER_CAST_TO(value, unsigned int) + 1));
	}
	if (input->stream_errno == ENOENT)
		ret = 0;
	else if (input->stream_errno != 0) {
		i_error("migrate copy-new: %s", i_stream_get_error(input));
		ret = -1;
	}
	i_stream_unref(&input);
	return ret;
}

static unsigned int
migrate_copy_new_multiset_count(HASH_TABLE_TYPE(migrate_key_count) *table,
				const char *key)
{
	if (!hash_table_is_created(*table))
		return 0;
	return POINTER_CAST_TO(hash_table_lookup(*table, key), unsigned int);
}

static void
migrate_copy_new_multiset_take(HASH_TABLE_TYPE(migrate_key_count) *table,
			       const char *key)
{
	const char *orig;
	void *value;
	unsigned int count;

	if (hash_table_is_created(*table) &&
	    hash_table_lookup_full(*table, key, &orig, &value) &&
	    (count = POINTER_CAST_TO(value, unsigned int)) > 0)
		hash_table_update(*table, orig, POINTER_CAST(count - 1));
}

/* The messages here that a copy may be of: those from dest_check_uid on
   (what arrived here since the mark, including what a killed pass copied
   after its last mark). */
static int migrate_copy_new_present_add(struct mail *mail, void *context)
{
	struct migrate_copy_new_folder *f = context;
	const char *key = migrate_copy_new_mail_key(mail), *orig;
	ARRAY_TYPE(uint32_t) *uids;
	void *value;

	if (!hash_table_lookup_full(f->present, key, &orig, &value)) {
		orig = p_strdup(f->cn->pool, key);
		value = NULL;
	}
	hash_table_update(f->present, orig, POINTER_CAST(
		POINTER_CAST_TO(value, unsigned int) + 1));
	if (hash_table_is_created(f->present_uids)) {
		uids = hash_table_lookup(f->present_uids, orig);
		if (uids == NULL) {
			uids = p_new(f->cn->pool, ARRAY_TYPE(uint32_t), 1);
			p_array_init(uids, f->cn->pool, 1);
			hash_table_insert(f->present_uids, orig, uids);
		}
		array_push_back(uids, &mail->uid);
	}
	return 0;
}

static int migrate_copy_new_read_present(struct migrate_copy_new_folder *f)
{
	struct mailbox_status status;

	hash_table_create(&f->present, f->cn->pool, 0, str_hash, strcmp);
	if (f->cn->cmd->repair_flags) {
		hash_table_create(&f->present_uids, f->cn->pool, 0,
				  str_hash, strcmp);
	}
	if (mailbox_sync(f->dest_box, 0) < 0) {
		return migrate_copy_new_box_error(f->dest_box,
			"can't read the messages of");
	}
	mailbox_get_open_status(f->dest_box, STATUS_UIDNEXT, &status);
	/* an explicit range: "n:*" would match the last message also when
	   its UID is below n */
	if (f->dest_check_uid >= status.uidnext)
		return 0;
	return migrate_copy_new_search(f->dest_box, f->dest_check_uid,
				       status.uidnext - 1, 0,
				       migrate_copy_new_present_add, f,
				       "can't read the messages of");
}

/* Is this old message here already (copied by a pass killed before it
   could move the mark, or delivered here as well), or was it seen in a
   folder the old server renumbered? Each message here or seen stands
   for one copy; a copy that is both seen and here counts once. */
static bool
migrate_copy_new_is_present(struct migrate_copy_new_folder *f,
			    struct mail *mail, const char **key_r)
{
	const char *hash;

	*key_r = migrate_copy_new_mail_key(mail);
	hash = migrate_sources_key_hash(*key_r);
	if (migrate_copy_new_multiset_count(&f->seen, hash) == 0 &&
	    migrate_copy_new_multiset_count(&f->present, *key_r) == 0)
		return FALSE;
	migrate_copy_new_multiset_take(&f->seen, hash);
	migrate_copy_new_multiset_take(&f->present, *key_r);
	return TRUE;
}

/* The folder here: the one the mark names by GUID (also when the user
   renamed it), else the one of the old folder's name, made if missing
   (the user may have deleted it: new mail there still comes). A folder
   made here is subscribed when the old one is, as dsync's passes did:
   a mail client that shows subscribed folders only shows its mail. */
static int
migrate_copy_new_dest_open(struct migrate_copy_new_folder *f,
			   const char *dest_vname)
{
	struct migrate_copy_new *cn = f->cn;
	struct mail_namespace *ns;
	enum mail_error error;
	guid_128_t guid;

	if (f->mark != NULL && f->mark->dest_guid[0] != '\0' &&
	    guid_128_from_string(f->mark->dest_guid, guid) == 0) {
		ns = mail_namespace_find_inbox(cn->dest_user->namespaces);
		f->dest_box = mailbox_alloc_guid(ns->list, guid, 0);
		if (mailbox_open(f->dest_box) == 0)
			return 0;
		mailbox_free(&f->dest_box);
	}
	ns = mail_namespace_find(cn->dest_user->namespaces, dest_vname);
	f->dest_box = mailbox_alloc(ns->list, dest_vname, 0);
	if (mailbox_open(f->dest_box) == 0)
		return 0;
	(void)mailbox_get_last_error(f->dest_box, &error);
	if (error != MAIL_ERROR_NOTFOUND) {
		return migrate_copy_new_box_error(f->dest_box,
			"can't open the folder here");
	}
	if (mailbox_create(f->dest_box, NULL, FALSE) < 0) {
		(void)mailbox_get_last_error(f->dest_box, &error);
		if (error != MAIL_ERROR_EXISTS) {
			return migrate_copy_new_box_error(f->dest_box,
				"can't make the folder here");
		}
	} else if (f->src_subscribed &&
		   mailbox_set_subscribed(f->dest_box, TRUE) < 0) {
		return migrate_copy_new_box_error(f->dest_box,
			"can't subscribe the folder made here");
	}
	if (mailbox_open(f->dest_box) < 0) {
		return migrate_copy_new_box_error(f->dest_box,
			"can't open the folder here");
	}
	return 0;
}

/* Wait for a dsync (or another copy-new) that copies into the folder. */
static int migrate_copy_new_lock(struct migrate_copy_new_folder *f)
{
	const char *path, *error;
	int ret;

	ret = mailbox_get_path_to(f->dest_box, MAILBOX_LIST_PATH_TYPE_INDEX,
				  &path);
	if (ret <= 0) {
		/* no index files: no dsync locks either */
		return ret < 0 ? migrate_copy_new_box_error(f->dest_box,
			"can't find the index of") : 0;
	}
	ret = mailbox_lock_file_create(f->dest_box,
				       MIGRATE_COPY_NEW_DSYNC_LOCK,
				       MIGRATE_COPY_NEW_LOCK_TIMEOUT_SECS,
				       &f->lock, &error);
	if (ret <= 0) {
		i_error("migrate copy-new: can't lock %s%s: %s",
			mailbox_get_vname(f->dest_box), ret == 0 ?
			" (another migration still copies into it)" : "",
			error);
		return -1;
	}
	return 0;
}

/* Commit what was saved and move the mark past it. */
static int migrate_copy_new_commit(struct migrate_copy_new_folder *f)
{
	struct mail_transaction_commit_changes changes;
	const struct seq_range *range;
	const char *error;

	if (f->trans == NULL)
		return 0;
	if (mailbox_transaction_commit_get_changes(&f->trans, &changes) < 0) {
		return migrate_copy_new_box_error(f->dest_box,
			"can't save into");
	}
	/* the folder here goes on after what was just saved */
	array_foreach(&changes.saved_uids, range) {
		if (range->seq2 >= f->mark->dest_next_uid)
			f->mark->dest_next_uid = range->seq2 + 1;
	}
	pool_unref(&changes.pool);
	if (migrate_copy_new_seen_append(f->cn, f->mark->name,
					 f->saved_hashes) < 0)
		return -1;
	str_truncate(f->saved_hashes, 0);
	f->cn->copied += f->pending;
	f->copied += f->pending;
	f->pending = 0;
	if (f->last_uid == 0)
		return 0;
	f->mark->next_uid = f->last_uid + 1;
	if (migrate_copy_new_marks_write(f->cn, &error) < 0) {
		i_error("migrate copy-new: can't record what was copied: %s",
			error);
		return -1;
	}
	return 0;
}

static int
migrate_copy_new_save(struct migrate_copy_new_folder *f, struct mail *mail,
		      const char *key)
{
	struct mail_save_context *save;
	struct mail_keywords *kw;
	const char *const *keywords, *value;
	time_t received;
	uoff_t size;
	uint32_t order;

	if (f->trans == NULL) {
		f->trans = mailbox_transaction_begin(f->dest_box,
			MAILBOX_TRANSACTION_FLAG_EXTERNAL |
			MAILBOX_TRANSACTION_FLAG_ASSIGN_UIDS, __func__);
	}
	save = mailbox_save_alloc(f->trans);
	keywords = mail_get_keywords(mail);
	kw = keywords[0] == NULL ? NULL :
		mailbox_keywords_create_valid(f->dest_box, keywords);
	mailbox_save_set_flags(save, mail_get_flags(mail) &
			       MAIL_FLAGS_NONRECENT, kw);
	if (kw != NULL)
		mailbox_keywords_unref(&kw);
	if (mail_get_received_date(mail, &received) == 0)
		mailbox_save_set_received_date(save, received, 0);
	/* migrate_pop3 gives INBOX mail its old UIDL and POP3 order */
	if (mail_get_special(mail, MAIL_FETCH_UIDL_BACKEND, &value) == 0 &&
	    *value != '\0')
		mailbox_save_set_pop3_uidl(save, value);
	if (mail_get_special(mail, MAIL_FETCH_POP3_ORDER, &value) == 0 &&
	    str_to_uint32(value, &order) == 0 && order > 0)
		mailbox_save_set_pop3_order(save, order);
	if (mailbox_save_using_mail(&save, mail) < 0) {
		i_error("migrate copy-new: can't copy message UID %u of %s "
			"into %s: %s", mail->uid, mailbox_get_vname(mail->box),
			mailbox_get_vname(f->dest_box),
			mailbox_get_last_internal_error(f->dest_box, NULL));
		return -1;
	}
	if (mail_get_physical_size(mail, &size) == 0)
		f->bytes += size;
	str_printfa(f->saved_hashes, "%s\n", migrate_sources_key_hash(key));
	f->last_uid = mail->uid;
	if (++f->pending >= MIGRATE_COPY_NEW_COMMIT_INTERVAL)
		return migrate_copy_new_commit(f);
	return 0;
}

/* --repair-flags: give the message here with this UID the old message's
   flags and keywords that it lacks. Only added, never removed: the user
   may have worked on it since. */
static void
migrate_copy_new_flags_add(struct migrate_copy_new_folder *f,
			   struct mail *mail, uint32_t dest_uid)
{
	const char *const *keywords, *const *dest_keywords;
	ARRAY_TYPE(const_string) missing;
	struct mail_keywords *kw;
	enum mail_flags flags;

	if (f->repair_trans == NULL) {
		f->repair_trans = mailbox_transaction_begin(f->dest_box,
			MAILBOX_TRANSACTION_FLAG_EXTERNAL, __func__);
		f->repair_mail = mail_alloc(f->repair_trans,
					    MAIL_FETCH_FLAGS, NULL);
	}
	if (!mail_set_uid(f->repair_mail, dest_uid))
		return;
	flags = mail_get_flags(mail) & MAIL_FLAGS_NONRECENT &
		~mail_get_flags(f->repair_mail);
	keywords = mail_get_keywords(mail);
	dest_keywords = mail_get_keywords(f->repair_mail);
	t_array_init(&missing, 4);
	for (; *keywords != NULL; keywords++) {
		if (!str_array_find(dest_keywords, *keywords))
			array_push_back(&missing, keywords);
	}
	if (flags == 0 && array_count(&missing) == 0)
		return;
	if (flags != 0)
		mail_update_flags(f->repair_mail, MODIFY_ADD, flags);
	if (array_count(&missing) > 0) {
		array_append_zero(&missing);
		kw = mailbox_keywords_create_valid(f->dest_box,
						   array_front(&missing));
		mail_update_keywords(f->repair_mail, MODIFY_ADD, kw);
		mailbox_keywords_unref(&kw);
	}
	f->repaired++;
}

static int migrate_copy_new_message(struct mail *mail, void *context)
{
	struct migrate_copy_new_folder *f = context;
	ARRAY_TYPE(uint32_t) *uids;
	const char *key;

	if (signal_term_counter > 0) {
		/* SIGTERM, SIGINT (migrate run stopped, or a batch's
		   timeout; counted as it comes, also while imapc waits in
		   an ioloop of its own): this folder's copies of this pass
		   are rolled back, the next pass copies them */
		i_error("migrate copy-new: stopped by a signal while "
			"copying %s", mailbox_get_vname(f->src_box));
		return -1;
	}
	if (migrate_copy_new_is_present(f, mail, &key)) {
		f->present_count++;
		f->last_uid = mail->uid;
		if (hash_table_is_created(f->present_uids) &&
		    (uids = hash_table_lookup(f->present_uids, key)) != NULL &&
		    array_count(uids) > 0) {
			migrate_copy_new_flags_add(f, mail,
						   *array_front(uids));
			array_pop_front(uids);
		}
		return 0;
	}
	return migrate_copy_new_save(f, mail, key);
}

static int migrate_copy_new_repair_commit(struct migrate_copy_new_folder *f)
{
	if (f->repair_trans == NULL)
		return 0;
	mail_free(&f->repair_mail);
	if (mailbox_transaction_commit(&f->repair_trans) < 0) {
		return migrate_copy_new_box_error(f->dest_box,
			"can't give the old server's flags to messages of");
	}
	f->cn->repaired += f->repaired;
	return 0;
}

static int migrate_copy_new_messages(struct migrate_copy_new_folder *f)
{
	int ret;

	ret = migrate_copy_new_search(f->src_box, f->first_uid,
		f->uid_next - 1, MAIL_FETCH_STREAM_HEADER |
		MAIL_FETCH_STREAM_BODY | MAIL_FETCH_FLAGS |
		MAIL_FETCH_RECEIVED_DATE | MAIL_FETCH_PHYSICAL_SIZE |
		MAIL_FETCH_UIDL_BACKEND | MAIL_FETCH_POP3_ORDER,
		migrate_copy_new_message, f,
		"can't read the old server's folder");
	if (ret == 0)
		ret = migrate_copy_new_commit(f);
	else if (f->trans != NULL)
		mailbox_transaction_rollback(&f->trans);
	if (migrate_copy_new_repair_commit(f) < 0)
		ret = -1;
	return ret;
}

static void
migrate_copy_new_print(struct migrate_copy_new_folder *f, const char *vname)
{
	doveadm_print(vname);
	doveadm_print_num(f->uid_next > f->first_uid ?
			  f->uid_next - f->first_uid : 0);
	doveadm_print_num(f->copied);
	doveadm_print_num(f->present_count);
	doveadm_print_num(f->bytes);
}

/* Copy what is new in one old folder. Returns 0 or -1 (logged). */
static int
migrate_copy_new_folder(struct migrate_copy_new *cn, struct mail_namespace *ns,
			const struct mailbox_info *info)
{
	struct migrate_copy_new_folder f;
	struct migrate_source_mark new_mark;
	struct mailbox_status status;
	struct mailbox_metadata metadata;
	struct mail_namespace *dest_inbox;
	const char *dest_vname;
	int ret = 0;

	dest_inbox = mail_namespace_find_inbox(cn->dest_user->namespaces);
	dest_vname = migrate_sources_dest_name(info->vname,
		cn->cmd->folder_prefix, mail_namespace_get_sep(dest_inbox));

	i_zero(&f);
	f.cn = cn;
	/* (a SPECIAL-USE folder whatever LSUB says: see
	   migrate-subscriptions.h) */
	f.src_subscribed = info->special_use != NULL ||
		migrate_subscriptions_have(cn->subscribed, info->vname);
	f.saved_hashes = str_new(default_pool, 256);
	f.src_box = mailbox_alloc(ns->list, info->vname, MAILBOX_FLAG_READONLY);
	if (mailbox_sync(f.src_box, 0) < 0) {
		ret = migrate_copy_new_box_error(f.src_box,
			"can't open the old server's folder");
		mailbox_free(&f.src_box);
		str_free(&f.saved_hashes);
		return ret;
	}
	mailbox_get_open_status(f.src_box, STATUS_UIDVALIDITY |
				STATUS_UIDNEXT, &status);
	f.uid_next = status.uidnext;
	f.mark = migrate_sources_find(&cn->marks, dest_vname);
	if (f.mark != NULL && f.mark->uidvalidity == status.uidvalidity) {
		f.first_uid = f.mark->next_uid;
		f.dest_check_uid = f.mark->dest_next_uid;
	} else {
		if (f.mark != NULL) {
			/* UIDs say nothing now: what was seen does */
			i_warning("migrate copy-new: the old server renumbered "
				  "%s (UIDVALIDITY %u, was %u): comparing all "
				  "of it with what was copied before",
				  info->vname, status.uidvalidity,
				  f.mark->uidvalidity);
		} else {
			i_zero(&new_mark);
			new_mark.name = p_strdup(cn->pool, dest_vname);
			new_mark.dest_guid = "";
			array_push_back(&cn->marks, &new_mark);
			f.mark = array_back_modifiable(&cn->marks);
		}
		f.mark->uidvalidity = status.uidvalidity;
		f.mark->next_uid = 1;
		f.mark->dest_next_uid = 1;
		f.first_uid = 1;
		f.dest_check_uid = 1;
		if (migrate_copy_new_seen_read(&f, dest_vname) < 0)
			ret = -1;
	}
	cn->folders++;
	if (ret == 0 && f.first_uid < f.uid_next) T_BEGIN {
		if (migrate_copy_new_dest_open(&f, dest_vname) < 0 ||
		    migrate_copy_new_lock(&f) < 0 ||
		    migrate_copy_new_read_present(&f) < 0 ||
		    migrate_copy_new_messages(&f) < 0)
			ret = -1;
		if (f.dest_box != NULL &&
		    mailbox_get_metadata(f.dest_box, MAILBOX_METADATA_GUID,
					 &metadata) == 0) {
			f.mark->dest_guid = p_strdup(cn->pool,
				guid_128_to_string(metadata.guid));
		}
		migrate_copy_new_print(&f, info->vname);
	} T_END;
	if (ret == 0) {
		/* what arrived at the old server since is for the next
		   pass */
		f.mark->next_uid = I_MAX(f.mark->next_uid, f.uid_next);
	}
	cn->present += f.present_count;
	cn->bytes += f.bytes;
	if (hash_table_is_created(f.present))
		hash_table_destroy(&f.present);
	if (hash_table_is_created(f.present_uids))
		hash_table_destroy(&f.present_uids);
	if (hash_table_is_created(f.seen))
		hash_table_destroy(&f.seen);
	if (f.lock != NULL)
		file_lock_free(&f.lock);
	if (f.dest_box != NULL)
		mailbox_free(&f.dest_box);
	mailbox_free(&f.src_box);
	str_free(&f.saved_hashes);
	return ret;
}

/* The old server's subscriptions, read after its folders were listed:
   the login is done then, and no folder is selected. Reading them may
   fail (a server without LSUB): not worth failing the pass for, no mail
   is missing; imapc's error line for it is logged as info, the warning
   gives its reason. */
static void
migrate_copy_new_subscriptions_read(struct migrate_copy_new *cn,
				    struct mail_namespace *ns)
{
	int ret;

	doveadm_migrate_errors_as_info_begin();
	ret = migrate_subscriptions_read(ns, cn->pool, cn->subscribed);
	doveadm_migrate_errors_as_info_end();
	if (ret < 0) {
		i_warning("migrate copy-new: reading the old server's "
			  "subscriptions failed (%s): the folders made here "
			  "aren't subscribed",
			  mailbox_list_get_last_internal_error(ns->list, NULL));
	}
}

/* Copies what is new in a namespace's old folders. They are all listed
   first and the subscriptions read after: by then the listing has logged
   in, and no folder is selected yet. */
static int
migrate_copy_new_namespace(struct migrate_copy_new *cn,
			   struct mail_namespace *ns)
{
	struct mailbox_list_iterate_context *iter;
	const struct mailbox_info *info;
	ARRAY(struct mailbox_info) folders;
	struct mailbox_info *folder;
	int ret = 0;

	t_array_init(&folders, 32);
	iter = mailbox_list_iter_init(ns->list, "*",
		MAILBOX_LIST_ITER_RETURN_SPECIALUSE |
		MAILBOX_LIST_ITER_NO_AUTO_BOXES);
	while ((info = mailbox_list_iter_next(iter)) != NULL) {
		if ((info->flags & (MAILBOX_NOSELECT |
				    MAILBOX_NONEXISTENT)) != 0 ||
		    migrate_copy_new_excluded(cn->cmd, info))
			continue;
		folder = array_append_space(&folders);
		folder->ns = info->ns;
		folder->vname = t_strdup(info->vname);
		folder->special_use = t_strdup(info->special_use);
		folder->flags = info->flags;
	}
	if (mailbox_list_iter_deinit(&iter) < 0) {
		i_error("migrate copy-new: listing the old server's "
			"folders failed: %s",
			mailbox_list_get_last_internal_error(ns->list, NULL));
		return -1;
	}
	migrate_copy_new_subscriptions_read(cn, ns);
	array_foreach(&folders, info) T_BEGIN {
		if (migrate_copy_new_folder(cn, ns, info) < 0)
			ret = -1;
	} T_END;
	return ret;
}

static int
migrate_copy_new_run(struct migrate_copy_new *cn, struct mail_user *src_user)
{
	struct mail_namespace *ns;
	const char *error;
	int ret = 0;

	hash_table_create(&cn->subscribed, default_pool, 0, str_hash, strcmp);
	for (ns = src_user->namespaces; ns != NULL; ns = ns->next) {
		if (!doveadm_migrate_namespace_is_copied(ns))
			continue;
		T_BEGIN {
			if (migrate_copy_new_namespace(cn, ns) < 0)
				ret = -1;
		} T_END;
	}
	hash_table_destroy(&cn->subscribed);
	if (migrate_copy_new_marks_write(cn, &error) < 0) {
		i_error("migrate copy-new: can't record what was copied: %s",
			error);
		ret = -1;
	}
	return ret;
}

/* The seen file of a folder after a mirroring pass: the key hash of
   every message it has. */
static int migrate_copy_new_seen_add(struct mail *mail, void *context)
{
	string_t *hashes = context;

	str_printfa(hashes, "%s\n", migrate_sources_key_hash(
		migrate_copy_new_mail_key(mail)));
	return 0;
}

static int
migrate_copy_new_seen_write(struct migrate_copy_new *cn, struct mailbox *box)
{
	string_t *hashes;
	const char *error;
	int ret;

	/* grows inside the search's data stack frames */
	hashes = str_new(default_pool, 1024);
	ret = migrate_copy_new_search(box, 1, 0, 0, migrate_copy_new_seen_add,
				      hashes, "can't read");
	if (ret == 0 && mkdir_parents(cn->seen_dir, 0700) < 0 &&
	    errno != EEXIST) {
		i_error("migrate copy-new: mkdir(%s) failed: %m", cn->seen_dir);
		ret = -1;
	}
	if (ret == 0 && migrate_file_replace(migrate_copy_new_seen_path(cn,
			mailbox_get_vname(box)), hashes, &error) < 0) {
		i_error("migrate copy-new: %s", error);
		ret = -1;
	}
	str_free(&hashes);
	return ret;
}

/* --mark one folder here. Returns 0 or -1 (logged). */
static int migrate_copy_new_mark_folder(struct migrate_copy_new *cn,
					struct mailbox *box)
{
	struct migrate_source_mark mark;
	struct mailbox_status status;
	struct mailbox_metadata metadata;

	if (mailbox_sync(box, 0) < 0 ||
	    mailbox_get_status(box, STATUS_UIDVALIDITY | STATUS_UIDNEXT,
			       &status) < 0 ||
	    mailbox_get_metadata(box, MAILBOX_METADATA_GUID, &metadata) < 0)
		return migrate_copy_new_box_error(box, "can't read");
	i_zero(&mark);
	mark.name = p_strdup(cn->pool, mailbox_get_vname(box));
	mark.uidvalidity = status.uidvalidity;
	mark.next_uid = status.uidnext;
	mark.dest_next_uid = status.uidnext;
	mark.dest_guid = p_strdup(cn->pool,
				  guid_128_to_string(metadata.guid));
	array_push_back(&cn->marks, &mark);
	return migrate_copy_new_seen_write(cn, box);
}

/* --mark: after a mirroring pass this server's folders have the old
   server's UIDVALIDITY and UIDs: each becomes its old folder's mark, and
   its messages are what was seen there. */
static int migrate_copy_new_mark(struct migrate_copy_new *cn)
{
	struct mailbox_list_iterate_context *iter;
	const struct mailbox_info *info;
	struct mail_namespace *ns;
	struct mailbox *box;
	const char *error;
	int ret = 0;

	array_clear(&cn->marks);
	for (ns = cn->dest_user->namespaces; ns != NULL; ns = ns->next) {
		if (!doveadm_migrate_namespace_is_copied(ns))
			continue;
		iter = mailbox_list_iter_init(ns->list, "*",
					      MAILBOX_LIST_ITER_NO_AUTO_BOXES);
		while ((info = mailbox_list_iter_next(iter)) != NULL) {
			if ((info->flags & (MAILBOX_NOSELECT |
					    MAILBOX_NONEXISTENT)) != 0 ||
			    migrate_sources_source_name(info->vname,
				cn->cmd->folder_prefix,
				mail_namespace_get_sep(ns)) == NULL)
				continue;
			box = mailbox_alloc(ns->list, info->vname, 0);
			T_BEGIN {
				if (migrate_copy_new_mark_folder(cn, box) < 0)
					ret = -1;
			} T_END;
			mailbox_free(&box);
		}
		if (mailbox_list_iter_deinit(&iter) < 0) {
			i_error("migrate copy-new: listing the folders failed: "
				"%s", mailbox_list_get_last_internal_error(
					ns->list, NULL));
			ret = -1;
		}
	}
	if (ret == 0 && migrate_copy_new_marks_write(cn, &error) < 0) {
		i_error("migrate copy-new: can't record the marks: %s", error);
		ret = -1;
	}
	return ret;
}

static int
cmd_migrate_copy_new_run(struct doveadm_mail_cmd_context *_ctx,
			 struct mail_user *user)
{
	struct copy_new_cmd_context *ctx =
		container_of(_ctx, struct copy_new_cmd_context, ctx);
	struct migrate_copy_new cn;
	struct mail_user *src_user;
	const char *error;
	int ret;

	i_zero(&cn);
	cn.cmd = ctx;
	cn.dest_user = user;
	cn.pool = pool_alloconly_create("migrate copy-new", 4096);
	if (migrate_copy_new_marks_read(&cn, &error) < 0) {
		i_error("migrate copy-new: user %s: %s", user->username, error);
		_ctx->exit_code = MIGRATE_EXIT_TEMPFAIL;
		pool_unref(&cn.pool);
		return -1;
	}
	if (ctx->repair_flags && !doveadm_migrate_outcome_recording() &&
	    doveadm_migrate_storage_rebuild(user, &error) < 0) {
		/* messages a killed pass left in mdbox's files would be
		   copied again (migrate run has rebuilt the storage at its
		   first look here already) */
		i_error("migrate copy-new: user %s: %s", user->username, error);
		ret = -1;
	} else if (ctx->mark) {
		ret = migrate_copy_new_mark(&cn);
	} else if (doveadm_migrate_source_user_create(_ctx, user,
			"migrate copy-new", &src_user) < 0) {
		pool_unref(&cn.pool);
		return -1;
	} else {
		ret = migrate_copy_new_run(&cn, src_user);
		mail_user_deinit(&src_user);
		e_info(user->event, "migrate copy-new: %u folders, copied %u "
		       "new messages (%"PRIu64" bytes), %u already here%s",
		       cn.folders, cn.copied, cn.bytes, cn.present,
		       !ctx->repair_flags ? "" : t_strdup_printf(
			" (%u given the old server's flags)", cn.repaired));
	}
	pool_unref(&cn.pool);
	if (ret < 0) {
		doveadm_mail_failed_error(_ctx, MAIL_ERROR_TEMP);
		return -1;
	}
	return 0;
}

static void
cmd_migrate_copy_new_init(struct doveadm_mail_cmd_context *_ctx DOVEADM_MIGRATE_INIT_ARGS)
{
	struct copy_new_cmd_context *ctx =
		container_of(_ctx, struct copy_new_cmd_context, ctx);
	const char *const *excludes;

	ctx->mark = doveadm_migrate_param_flag(_ctx->cctx, "mark");
	ctx->repair_flags = doveadm_migrate_param_flag(_ctx->cctx,
						       "repair-flags");
	if (doveadm_cmd_param_str(_ctx->cctx, "folder-prefix",
				  &ctx->folder_prefix))
		ctx->folder_prefix = p_strdup(_ctx->pool, ctx->folder_prefix);
	if (doveadm_cmd_param_array(_ctx->cctx, "exclude", &excludes)) {
		for (; *excludes != NULL; excludes++) {
			const char *value = p_strdup(_ctx->pool, *excludes);
			array_push_back(&ctx->excludes, &value);
		}
	}
	if (ctx->mark)
		return;
	doveadm_print_header_simple("folder");
	doveadm_print_header("new", "new",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("copied", "copied",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("present", "already here",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("bytes", "bytes",
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
}

static struct doveadm_mail_cmd_context *cmd_migrate_copy_new_alloc(void)
{
	struct copy_new_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct copy_new_cmd_context);
	p_array_init(&ctx->excludes, ctx->ctx.pool, 4);
	doveadm_migrate_mail_cmd_options(&ctx->ctx, "mP:x:R");
	ctx->ctx.v.init = cmd_migrate_copy_new_init;
	ctx->ctx.v.run = cmd_migrate_copy_new_run;
	doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return &ctx->ctx;
}

struct doveadm_cmd_ver2 doveadm_cmd_migrate_copy_new = {
	.name = "migrate copy-new",
	.mail_cmd = cmd_migrate_copy_new_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX
		 "[--mark] [--repair-flags] [--folder-prefix <folder>] "
		 "[-x <mailbox> ...]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('m', "mark", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('R', "repair-flags", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('P', "folder-prefix", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('x', "exclude", CMD_PARAM_ARRAY, 0)
DOVEADM_CMD_PARAMS_END
};
