/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "str.h"
#include "time-util.h"
#include "strescape.h"
#include "istream.h"
#include "ostream.h"
#include "mkdir-parents.h"
#include "seq-range-array.h"
#include "mail-namespace.h"
#include "mail-search-build.h"
#include "imap-arg.h"
#include "imapc-client.h"
#include "imapc-storage.h"
#include "migrate-file.h"
#include "migrate-outcome.h"
#include "migrate-uidl-cache.h"
#include "migrate-uidl-format.h"
#include "migrate-uidl-exact.h"
#include "migrate-uidl-map.h"
#include "migrate-pop3-plugin.h"
#include "migrate-user-settings.h"

#include <stdio.h>
#include <ctype.h>
#include <unistd.h>
#include <fcntl.h>

/* How many POP3 UIDLs are checked against migrate_pop3_uidl_format
   before the formula is trusted. */
#define MIGRATE_POP3_FORMULA_SAMPLE 50
/* How many messages are asked for at once (one FETCH / pipelined TOPs):
   each costs a mail object (~17 KiB) while the batch is read, at the
   peak of the process's memory. 16 instead of 64 kept a 20k Courier
   INBOX's peak 1.1 MB lower; its 510 headers took 32 FETCHes instead of
   8, which didn't show in the wall time. */
#define MIGRATE_POP3_READ_BATCH 16

struct migrate_pop3_sync {
	struct mailbox *box;
	struct migrate_pop3_user *muser;
	/* allocated only when the POP3 server must be asked something */
	struct mailbox *pop3_box;
	struct migrate_pop3_mailbox *mbox;
	const struct migrate_pop3_settings *set;
	/* migrate_pop3_uidl_format, NULL if it isn't set */
	struct migrate_uidl_format *formula;
	struct migrate_match *match;
	pool_t pool;
	struct event *event;
	uint32_t uidvalidity;
	unsigned int formula_uidls;
	/* pairs read from the UIDL cache */
	unsigned int cached_uidls;
	/* those pairs, sorted by UID (data stack) */
	ARRAY_TYPE(migrate_uidl_cache_entry) cached_entries;
	/* UIDL -> the POP3 order an earlier pass gave it */
	HASH_TABLE(const char *, void *) cached_orders;
	/* matcher indexes of the headers migrate_pop3_idents_read() reads,
	   of the POP3 list or of the IMAP one */
	const uint32_t *ident_idx;
	bool pop3_idents;
};

static const char *migrate_pop3_cache_name(struct mailbox *box,
					   const char *prefix)
{
	string_t *str = t_str_new(64);
	const char *p;

	/* one file per mailbox; the name is kept readable but safe */
	str_append(str, prefix);
	for (p = box->vname; *p != '\0'; p++) {
		if (i_isalnum(*p) || *p == '-' || *p == '_')
			str_append_c(str, *p);
		else
			str_printfa(str, "%%%02x", (unsigned char)*p);
	}
	return str_c(str);
}

static int
migrate_pop3_cache_entry_cmp(const struct migrate_uidl_cache_entry *a,
			     const struct migrate_uidl_cache_entry *b)
{
	return a->uid < b->uid ? -1 : (a->uid > b->uid ? 1 : 0);
}

static void migrate_pop3_cache_read(struct migrate_pop3_sync *ctx)
{
	ARRAY_TYPE(migrate_uidl_cache_entry) entries;
	const struct migrate_uidl_cache_entry *entry;
	struct istream *input;
	const char *path, *error;
	uint32_t file_uidvalidity;
	int ret;

	if (ctx->set->cache_dir[0] == '\0')
		return;
	path = t_strdup_printf("%s/%s", ctx->set->cache_dir,
			       migrate_pop3_cache_name(ctx->box, "pop3-uidl."));
	input = i_stream_create_file(path, 8192);
	t_array_init(&entries, 128);
	ret = migrate_uidl_cache_read(input, ctx->uidvalidity, ctx->pool,
				      &entries, &file_uidvalidity, &error);
	if (ret < 0 && input->stream_errno == ENOENT)
		ret = 0;
	else if (ret < 0) {
		e_warning(ctx->event, "Ignoring UIDL cache %s: %s",
			  path, error);
	} else if (ret == 0 && file_uidvalidity != 0) {
		/* the old server renumbered the mailbox: the pairs no
		   longer name the same messages */
		e_info(ctx->event, "Ignoring UIDL cache %s: it is for "
		       "UIDVALIDITY %u, the mailbox now has %u",
		       path, file_uidvalidity, ctx->uidvalidity);
	}
	i_stream_unref(&input);
	if (ret <= 0)
		return;
	hash_table_create(&ctx->cached_orders, ctx->pool,
			  array_count(&entries), str_hash, strcmp);
	array_foreach(&entries, entry) {
		if (entry->pop3_order != 0) {
			hash_table_update(ctx->cached_orders, entry->uidl,
					  POINTER_CAST(entry->pop3_order));
		}
		/* with migrate_pop3_uidl_format the formula pairs */
		if (ctx->set->uidl_format == NULL) {
			migrate_match_add_known(ctx->match, entry->uidl,
				entry->uid, MIGRATE_MATCH_CACHED);
		}
	}
	if (ctx->set->uidl_format == NULL) {
		ctx->cached_uidls = array_count(&entries);
		array_sort(&entries, migrate_pop3_cache_entry_cmp);
		ctx->cached_entries = entries;
	}
	e_debug(ctx->event, "Read %u cached UIDLs from %s",
		array_count(&entries), path);
}

static int
migrate_pop3_file_replace(struct migrate_pop3_sync *ctx, const char *name,
			  const string_t *data)
{
	const char *path, *error;

	if (mkdir_parents(ctx->set->cache_dir, 0700) < 0 && errno != EEXIST) {
		e_error(ctx->event, "mkdir(%s) failed: %m",
			ctx->set->cache_dir);
		return -1;
	}
	/* a run that is killed never leaves half a cache or report */
	path = t_strdup_printf("%s/%s", ctx->set->cache_dir, name);
	if (migrate_file_replace(path, data, &error) < 0) {
		e_error(ctx->event, "%s", error);
		return -1;
	}
	return 0;
}

/* The POP3 order of every message of the list: the one an earlier pass
   gave it (and stored with it here), or one after those for new mail. */
static void migrate_pop3_orders_assign(struct migrate_pop3_sync *ctx)
{
	const ARRAY_TYPE(migrate_match_pop3) *pop3_list =
		migrate_match_get_pop3(ctx->match);
	const struct migrate_match_pop3 *pop3;
	uint32_t *orders;

	orders = p_new(ctx->pool, uint32_t, array_count(pop3_list) + 1);
	if (hash_table_is_created(ctx->cached_orders)) {
		array_foreach(pop3_list, pop3) {
			if (pop3->msg->uidl == NULL)
				continue;
			orders[pop3->idx] = POINTER_CAST_TO(hash_table_lookup(
				ctx->cached_orders, pop3->msg->uidl), uint32_t);
		}
	}
	migrate_uidl_cache_assign_orders(orders, array_count(pop3_list));
	ctx->mbox->pop3_orders = orders;
}

static void migrate_pop3_cache_write(struct migrate_pop3_sync *ctx)
{
	const ARRAY_TYPE(migrate_match_pop3) *pop3_list =
		migrate_match_get_pop3(ctx->match);
	const struct migrate_match_imap *imap;
	const struct migrate_match_pop3 *pop3;
	string_t *str;

	if (ctx->set->cache_dir[0] == '\0')
		return;
	/* on the heap: the data stack keeps its largest block for the
	   rest of the process (a line a message) */
	str = str_new(default_pool, 1024);
	migrate_uidl_cache_append_header(str, ctx->uidvalidity);
	array_foreach(migrate_match_get_imap(ctx->match), imap) {
		if (imap->method == MIGRATE_MATCH_NONE)
			continue;
		pop3 = array_idx(pop3_list, imap->pop3_idx);
		migrate_uidl_cache_append_entry(str, imap->uid, pop3->msg->uidl,
			pop3->msg->seq == 0 ? 0 : ctx->mbox->pop3_orders[pop3->idx]);
	}
	(void)migrate_pop3_file_replace(ctx,
		migrate_pop3_cache_name(ctx->box, "pop3-uidl."), str);
	str_free(&str);
}

/* Reads fields of many messages with few round trips. A batch of mails
   is set up before the first of them is read: imapc merges their FETCHes
   into one command and pop3c pipelines its TOPs, whatever
   mail_prefetch_count says (with its default 0, a search fetches one
   message per round trip). keys are sequences, or UIDs if by_uid; the
   callback gets the index of the key. */
typedef int migrate_pop3_read_callback_t(struct migrate_pop3_sync *ctx,
					 struct mail *mail, unsigned int n);

static int
migrate_pop3_read_batched(struct migrate_pop3_sync *ctx, struct mailbox *box,
			  const uint32_t *keys, unsigned int count, bool by_uid,
			  enum mail_fetch_field fields,
			  migrate_pop3_read_callback_t *callback)
{
	struct mailbox_transaction_context *t;
	struct mail *mails[MIGRATE_POP3_READ_BATCH];
	bool found[MIGRATE_POP3_READ_BATCH];
	unsigned int i, n, batch;
	int ret = 0;

	t = mailbox_transaction_begin(box, 0, __func__);
	for (n = 0; n < count && ret == 0; n += batch) {
		batch = I_MIN(count - n, N_ELEMENTS(mails));
		/* mail objects of the batch's own: imapc keeps each FETCH's
		   tagged reply in the mail's pool until it is freed (40
		   bytes a message, 800 KB over 20,000 in 64 mails) */
		for (i = 0; i < batch; i++)
			mails[i] = mail_alloc(t, fields, NULL);
		for (i = 0; i < batch; i++) {
			found[i] = TRUE;
			if (!by_uid)
				mail_set_seq(mails[i], keys[n + i]);
			else if (!mail_set_uid(mails[i], keys[n + i])) {
				/* expunged meanwhile */
				found[i] = FALSE;
				continue;
			}
			(void)mail_prefetch(mails[i]);
		}
		for (i = 0; i < batch && ret == 0; i++) T_BEGIN {
			if (found[i])
				ret = callback(ctx, mails[i], n + i);
		} T_END;
		for (i = 0; i < batch; i++)
			mail_free(&mails[i]);
	}
	if (mailbox_transaction_commit(&t) < 0 && ret == 0) {
		e_error(ctx->event, "%s: %s", box->vname,
			mailbox_get_last_internal_error(box, NULL));
		ret = -1;
	}
	return ret;
}

static int
migrate_pop3_imap_size_read(struct migrate_pop3_sync *ctx, struct mail *mail,
			    unsigned int n ATTR_UNUSED)
{
	uoff_t size;

	if (mail_get_physical_size(mail, &size) < 0) {
		e_error(ctx->event, "Failed to get the size of IMAP UID %u: %s",
			mail->uid,
			mailbox_get_last_internal_error(ctx->box, NULL));
		return -1;
	}
	migrate_match_add_imap(ctx->match, mail->uid, size);
	return 0;
}

HASH_TABLE_DEFINE_TYPE(migrate_pop3_msg_by_uidl,
		       const char *, const struct migrate_pop3_msg *);

/* The POP3 message of uid's cached pair, or NULL if it has none or its
   UIDL names no single message (dup, listed twice). */
static const struct migrate_pop3_msg *
migrate_pop3_cached_msg(struct migrate_pop3_sync *ctx,
			HASH_TABLE_TYPE(migrate_pop3_msg_by_uidl) pop3_msgs,
			const struct migrate_pop3_msg *dup, uint32_t uid)
{
	const struct migrate_uidl_cache_entry *entry;
	const struct migrate_pop3_msg *msg;
	struct migrate_uidl_cache_entry key;

	i_zero(&key);
	key.uid = uid;
	entry = array_bsearch(&ctx->cached_entries, &key,
			      migrate_pop3_cache_entry_cmp);
	if (entry == NULL)
		return NULL;
	msg = hash_table_lookup(pop3_msgs, entry->uidl);
	return msg == dup ? NULL : msg;
}

/* A later pass: the IMAP sizes are needed only of the messages the cache
   doesn't pair and of those dsync copies now (whose UIDLs it asks). A
   message the cache pairs and dsync doesn't copy is given the size of its
   cached UIDL's POP3 message: its pair stands as it is, and its UIDL isn't
   asked in this pass. The fetched sizes must agree with the POP3 sizes of
   their cached UIDLs; if one doesn't (the old server gave a known UID to
   another message), every size is read, and the matcher decides whether
   to trust the cache. So is every size when that is as quick (as many
   needed as the size connections would each read). Returns TRUE if
   sizes_r has a size for every message, FALSE if every size must be read
   as on a first pass. */
static bool
migrate_pop3_imap_sizes_fetch_cached(
	struct migrate_pop3_sync *ctx,
	ARRAY_TYPE(migrate_pop3_imap_size) *sizes_r)
{
	static const struct migrate_pop3_msg duplicate;
	const ARRAY_TYPE(seq_range) *wanted = ctx->mbox->wanted_uids;
	HASH_TABLE_TYPE(migrate_pop3_msg_by_uidl) pop3_sizes;
	const struct migrate_pop3_msg *msg;
	const struct migrate_pop3_imap_size *size;
	struct migrate_pop3_imap_size *item;
	ARRAY_TYPE(seq_range) uids;
	struct mailbox_status status;
	unsigned int count, cached_count;
	uint32_t seq, uid;
	bool dup, ret = TRUE;

	if (wanted == NULL || ctx->cached_uidls == 0 ||
	    ctx->set->pop3_box_vname == NULL || ctx->set->merged ||
	    !ctx->muser->pop3_listed)
		return FALSE;
	mailbox_get_open_status(ctx->box, STATUS_MESSAGES, &status);

	/* a UIDL the list has twice names no one size: its UID's size is
	   read */
	hash_table_create(&pop3_sizes, default_pool,
			  array_count(&ctx->muser->pop3_msgs),
			  str_hash, strcmp);
	array_foreach(&ctx->muser->pop3_msgs, msg) {
		if (msg->uidl[0] == '\0')
			continue;
		dup = hash_table_lookup(pop3_sizes, msg->uidl) != NULL;
		hash_table_update(pop3_sizes, msg->uidl,
				  dup ? &duplicate : msg);
	}
	i_array_init(&uids, 64);
	for (seq = 1; seq <= status.messages; seq++) {
		mail_index_lookup_uid(ctx->box->view, seq, &uid);
		msg = migrate_pop3_cached_msg(ctx, pop3_sizes, &duplicate, uid);
		if (msg != NULL && !seq_range_exists(wanted, uid)) {
			item = array_append_space(sizes_r);
			item->uid = uid;
			item->size = msg->size;
		} else {
			seq_range_array_add(&uids, uid);
		}
	}
	cached_count = array_count(sizes_r);
	count = seq_range_count(&uids);
	/* (all of them, split over the connections, take no longer when
	   each connection would read as many) */
	if (cached_count == 0 ||
	    (uint64_t)count * ctx->set->size_connections >= status.messages)
		ret = FALSE;
	else if (count > 0 &&
		 !migrate_pop3_imap_sizes_fetch(ctx->box, ctx->event, 1,
						&uids, sizes_r))
		ret = FALSE;
	/* (the fetch sorted the array: the read sizes are those of uids) */
	array_foreach(sizes_r, size) {
		if (!ret)
			break;
		if (!seq_range_exists(&uids, size->uid))
			continue;
		msg = migrate_pop3_cached_msg(ctx, pop3_sizes, &duplicate,
					      size->uid);
		if (msg != NULL && msg->size != size->size) {
			e_debug(ctx->event, "IMAP UID %u has size %"PRIuUOFF_T
				", its cached UIDL %s %"PRIuUOFF_T" - reading "
				"every IMAP size", size->uid, size->size,
				msg->uidl, msg->size);
			ret = FALSE;
		}
	}
	if (ret) {
		array_sort(sizes_r, migrate_pop3_imap_size_cmp);
		e_debug(ctx->event, "%u IMAP sizes read, %u taken from the "
			"POP3 sizes of cached pairs dsync doesn't copy",
			count, cached_count);
	} else {
		array_clear(sizes_r);
	}
	array_free(&uids);
	hash_table_destroy(&pop3_sizes);
	return ret;
}

static int migrate_pop3_imap_list_read(struct migrate_pop3_sync *ctx)
{
	ARRAY_TYPE(migrate_pop3_imap_size) sizes;
	const struct migrate_pop3_imap_size *item;
	struct migrate_pop3_imap_size key;
	struct mailbox_status status;
	ARRAY_TYPE(uint32_t) seqs;
	uint32_t seq;
	bool fetched;

	mailbox_get_open_status(ctx->box, STATUS_MESSAGES, &status);
	if (status.messages == 0) {
		/* a POP3 user's emptied INBOX: nothing to match */
		return 0;
	}
	migrate_match_reserve(ctx->match, 0, status.messages);
	/* on the heap: the data stack would keep its largest size */
	i_array_init(&sizes, status.messages + 1);
	fetched = migrate_pop3_imap_sizes_fetch_cached(ctx, &sizes) ||
		migrate_pop3_imap_sizes_fetch(ctx->box, ctx->event,
					      ctx->set->size_connections,
					      NULL, &sizes);
	i_zero(&key);
	for (seq = 1; fetched && seq <= status.messages; seq++) {
		mail_index_lookup_uid(ctx->box->view, seq, &key.uid);
		if (array_bsearch(&sizes, &key,
				  migrate_pop3_imap_size_cmp) == NULL) {
			/* (expunged at the server meanwhile?) the mail
			   says why */
			e_debug(ctx->event, "UID FETCH 1:* (RFC822.SIZE) gave "
				"no size for UID %u - fetching the sizes per "
				"message", key.uid);
			fetched = FALSE;
		}
	}
	for (seq = 1; fetched && seq <= status.messages; seq++) {
		mail_index_lookup_uid(ctx->box->view, seq, &key.uid);
		item = array_bsearch(&sizes, &key, migrate_pop3_imap_size_cmp);
		migrate_match_add_imap(ctx->match, key.uid, item->size);
	}
	array_free(&sizes);
	if (fetched)
		return 0;

	/* one FETCH per batch of mails, as imapc does it */
	t_array_init(&seqs, status.messages + 1);
	for (seq = 1; seq <= status.messages; seq++)
		array_push_back(&seqs, &seq);
	return migrate_pop3_read_batched(ctx, ctx->box, array_front(&seqs),
					 status.messages, FALSE,
					 MAIL_FETCH_PHYSICAL_SIZE,
					 migrate_pop3_imap_size_read);
}
static struct mailbox *migrate_pop3_pop3_box(struct migrate_pop3_sync *ctx)
{
	struct mail_namespace *ns;

	if (ctx->pop3_box == NULL) {
		ns = mail_namespace_find(ctx->box->storage->user->namespaces,
					 ctx->set->pop3_box_vname);
		i_assert(ns != NULL);
		ctx->pop3_box = mailbox_alloc(ns->list,
					      ctx->set->pop3_box_vname,
					      MAILBOX_FLAG_READONLY |
					      MAILBOX_FLAG_POP3_SESSION);
	}
	return ctx->pop3_box;
}

/* Read the old server's POP3 list (UIDL and LIST) into the user's list,
   once per session. */
static int migrate_pop3_pop3_list_read(struct migrate_pop3_sync *ctx)
{
	struct migrate_pop3_user *muser = ctx->muser;
	struct mailbox *pop3_box;
	struct mailbox_transaction_context *t;
	struct mail_search_args *search_args;
	struct mail_search_context *search_ctx;
	struct migrate_pop3_msg *msg;
	struct mail *mail;
	const char *uidl;
	uoff_t size = 0;
	int ret = 0;

	if (muser->pop3_listed)
		return 0;
	if (migrate_pop3_prelist_finish(muser, ctx->event) > 0)
		return 0;
	pop3_box = migrate_pop3_pop3_box(ctx);
	if (mailbox_sync(pop3_box, 0) < 0) {
		e_error(ctx->event, "Couldn't open the POP3 mailbox %s: %s",
			pop3_box->vname,
			mailbox_get_last_internal_error(pop3_box, NULL));
		return -1;
	}
	if (muser->pop3_pool == NULL) {
		struct mailbox_status status;

		mailbox_get_open_status(pop3_box, STATUS_MESSAGES, &status);
		muser->pop3_pool = pool_alloconly_create("migrate_pop3 list",
							 32 * 1024);
		i_array_init(&muser->pop3_msgs, status.messages + 1);
	}
	array_clear(&muser->pop3_msgs);

	t = mailbox_transaction_begin(pop3_box, 0, __func__);
	search_args = mail_search_build_init();
	mail_search_build_add_all(search_args);
	search_ctx = mailbox_search_init(t, search_args, NULL,
					 MAIL_FETCH_PHYSICAL_SIZE, NULL);
	mail_search_args_unref(&search_args);

	while (mailbox_search_next(search_ctx, &mail)) {
		/* the size comes from LIST: never download the message */
		mail->lookup_abort = MAIL_LOOKUP_ABORT_READ_MAIL;
		if (mail_get_physical_size(mail, &size) < 0) {
			e_error(ctx->event, "Failed to get the size of POP3 "
				"message %u: %s", mail->seq,
				mailbox_get_last_internal_error(pop3_box, NULL));
			ret = -1;
			break;
		}
		mail->lookup_abort = MAIL_LOOKUP_ABORT_NEVER;
		if (mail_get_special(mail, MAIL_FETCH_UIDL_BACKEND, &uidl) < 0) {
			e_error(ctx->event, "Failed to get the UIDL of POP3 "
				"message %u: %s", mail->seq,
				mailbox_get_last_internal_error(pop3_box, NULL));
			ret = -1;
			break;
		}
		msg = array_append_space(&muser->pop3_msgs);
		msg->seq = mail->seq;
		msg->uidl = p_strdup(muser->pop3_pool, uidl);
		msg->size = size;
	}
	if (mailbox_search_deinit(&search_ctx) < 0) {
		e_error(ctx->event, "Failed to list the POP3 messages: %s",
			mailbox_get_last_internal_error(pop3_box, NULL));
		ret = -1;
	}
	(void)mailbox_transaction_commit(&t);
	if (ret == 0)
		muser->pop3_listed = TRUE;
	return ret;
}

static void migrate_pop3_pop3_list_feed(struct migrate_pop3_sync *ctx)
{
	/* the user's list itself: what a mailbox's matching learns of a
	   POP3 message (its header, that it is paired) serves the next */
	migrate_match_reserve(ctx->match, array_count(&ctx->muser->pop3_msgs), 0);
	migrate_match_add_pop3_list(ctx->match, &ctx->muser->pop3_msgs,
				    ctx->muser->pop3_pool);
}

static int
migrate_pop3_mail_ident(struct migrate_pop3_sync *ctx, struct mail *mail,
			pool_t pool, struct migrate_msg_ident *ident_r)
{
	struct istream *input;
	const char *error;

	if (mail_get_hdr_stream(mail, NULL, &input) < 0) {
		e_warning(ctx->event, "%s: Failed to read the header of "
			  "message %u: %s", mail->box->vname,
			  mail->box == ctx->box ? mail->uid : mail->seq,
			  mailbox_get_last_internal_error(mail->box, NULL));
		return -1;
	}
	if (migrate_header_hash_stream(input, ctx->set->filter, pool,
				       ident_r, &error) < 0) {
		e_warning(ctx->event, "%s: Failed to read the header of "
			  "message %u: %s", mail->box->vname,
			  mail->box == ctx->box ? mail->uid : mail->seq, error);
		return -1;
	}
	if (ident_r->header_complete)
		return 0;

	/* No end-of-header line. Some servers truncate the header in
	   BODY[HEADER] or TOP (e.g. at a line without ':' or at Courier's
	   LF CR CR LF) while the full message has all of it: read the
	   header from the full message instead. */
	if (mail_get_stream_because(mail, NULL, NULL, "migrate_pop3",
				    &input) < 0) {
		e_warning(ctx->event, "%s: Failed to read message %u: %s",
			  mail->box->vname,
			  mail->box == ctx->box ? mail->uid : mail->seq,
			  mailbox_get_last_internal_error(mail->box, NULL));
		return -1;
	}
	if (migrate_header_hash_stream(input, ctx->set->filter, pool,
				       ident_r, &error) < 0) {
		e_warning(ctx->event, "%s: Failed to read message %u: %s",
			  mail->box->vname,
			  mail->box == ctx->box ? mail->uid : mail->seq, error);
		return -1;
	}
	return 0;
}

/* One header read for the matcher: ctx->pop3_idents says which side */
static int
migrate_pop3_ident_read(struct migrate_pop3_sync *ctx, struct mail *mail,
			unsigned int n)
{
	struct migrate_msg_ident ident;
	uint32_t idx = ctx->ident_idx[n];
	bool pop3 = ctx->pop3_idents;

	if (pop3) {
		/* the list may have been read on a session of its own
		   (migrate-pop3-prelist.c): a message deleted at the old
		   server since then renumbers the rest. Never read another
		   message's header for it. */
		const struct migrate_match_pop3 *pmsg =
			array_idx(migrate_match_get_pop3(ctx->match), idx);
		const char *uidl;

		if (mail_get_special(mail, MAIL_FETCH_UIDL_BACKEND, &uidl) < 0 ||
		    strcmp(uidl, pmsg->msg->uidl) != 0) {
			e_warning(ctx->event, "POP3 message %u is no longer "
				  "UIDL %s: not matched in this pass",
				  mail->seq, pmsg->msg->uidl);
			migrate_match_set_pop3_unreadable(ctx->match, idx);
			return 0;
		}
	}
	/* (the matcher copies it: the POP3 side's into the user's pool,
	   for the other mailboxes of this session) */
	i_zero(&ident);
	if (migrate_pop3_mail_ident(ctx, mail, ctx->pool, &ident) < 0) {
		if (pop3)
			migrate_match_set_pop3_unreadable(ctx->match, idx);
		else
			migrate_match_set_imap_unreadable(ctx->match, idx);
	} else {
		if (pop3)
			migrate_match_set_pop3_ident(ctx->match, idx, &ident);
		else
			migrate_match_set_imap_ident(ctx->match, idx, &ident);
	}
	return 0;
}

struct migrate_pop3_header_context {
	struct migrate_pop3_sync *ctx;
	const uint32_t *idx;
	/* the header of need index n was settled (ident or unreadable) */
	bool *settled;
};

/* A POP3 header (or whole message) read on a connection of the plugin's
   own (migrate_pop3_prelist_read_headers()) */
static bool
migrate_pop3_header_read(void *context, unsigned int n, const char *uidl,
			 const unsigned char *data, size_t size, bool full)
{
	struct migrate_pop3_header_context *hctx = context;
	struct migrate_pop3_sync *ctx = hctx->ctx;
	const struct migrate_match_pop3 *pmsg;
	struct migrate_msg_ident ident;
	struct istream *input;
	const char *error;
	uint32_t idx = hctx->idx[n];
	int ret;

	pmsg = array_idx(migrate_match_get_pop3(ctx->match), idx);
	if (uidl == NULL || strcmp(uidl, pmsg->msg->uidl) != 0) {
		/* as migrate_pop3_ident_read() */
		e_warning(ctx->event, "POP3 message %u is no longer "
			  "UIDL %s: not matched in this pass",
			  pmsg->msg->seq, pmsg->msg->uidl);
		migrate_match_set_pop3_unreadable(ctx->match, idx);
		hctx->settled[n] = TRUE;
		return FALSE;
	}
	i_zero(&ident);
	input = i_stream_create_from_data(data, size);
	ret = migrate_header_hash_stream(input, ctx->set->filter, ctx->pool,
					 &ident, &error);
	i_stream_unref(&input);
	if (ret < 0) {
		e_warning(ctx->event, "%s: Failed to read the header of "
			  "message %u: %s", ctx->set->pop3_box_vname,
			  pmsg->msg->seq, error);
		migrate_match_set_pop3_unreadable(ctx->match, idx);
	} else if (!ident.header_complete && !full) {
		/* truncated in TOP: read it from the whole message (as
		   migrate_pop3_mail_ident() does) */
		return TRUE;
	} else {
		migrate_match_set_pop3_ident(ctx->match, idx, &ident);
	}
	hctx->settled[n] = TRUE;
	return FALSE;
}

/* The POP3 headers the matcher needs, on a connection of the plugin's
   own if the list was read on one. Returns the need indexes left for
   pop3c (data stack). */
static const ARRAY_TYPE(uint32_t) *
migrate_pop3_headers_read(struct migrate_pop3_sync *ctx,
			  const ARRAY_TYPE(uint32_t) *need)
{
	struct migrate_pop3_header_context hctx;
	ARRAY_TYPE(uint32_t) *left, seqs;
	const struct migrate_match_pop3 *pmsg;
	const uint32_t *idxp;
	unsigned int i, count;

	if (ctx->muser->prelist_login == NULL)
		return need;
	i_zero(&hctx);
	hctx.ctx = ctx;
	hctx.idx = array_get(need, &count);
	hctx.settled = t_new(bool, count);
	t_array_init(&seqs, count);
	array_foreach(need, idxp) {
		pmsg = array_idx(migrate_match_get_pop3(ctx->match), *idxp);
		array_push_back(&seqs, &pmsg->msg->seq);
	}
	(void)migrate_pop3_prelist_read_headers(ctx->muser, ctx->event,
		array_front(&seqs), count, migrate_pop3_header_read, &hctx);
	left = t_new(ARRAY_TYPE(uint32_t), 1);
	t_array_init(left, 4);
	for (i = 0; i < count; i++) {
		if (!hctx.settled[i])
			array_push_back(left, &hctx.idx[i]);
	}
	e_info(ctx->event, "%u POP3 headers read on a connection of its own, "
	       "%u left to pop3c", count - array_count(left),
	       array_count(left));
	return left;
}

/* pop3c's session lists what the old server has now: fewer messages
   than the list read ahead on another connection if some were deleted
   since. Those past its end are not matched in this pass (the others
   are checked by their UIDL in migrate_pop3_ident_read()). Returns the
   need indexes left (data stack). */
static const ARRAY_TYPE(uint32_t) *
migrate_pop3_need_in_box(struct migrate_pop3_sync *ctx,
			 const ARRAY_TYPE(uint32_t) *need)
{
	ARRAY_TYPE(uint32_t) *left;
	const struct migrate_match_pop3 *pmsg;
	const uint32_t *idxp;
	struct mailbox_status status;

	mailbox_get_open_status(ctx->pop3_box, STATUS_MESSAGES, &status);
	left = t_new(ARRAY_TYPE(uint32_t), 1);
	t_array_init(left, array_count(need));
	array_foreach(need, idxp) {
		pmsg = array_idx(migrate_match_get_pop3(ctx->match), *idxp);
		if (pmsg->msg->seq <= status.messages) {
			array_push_back(left, idxp);
			continue;
		}
		e_warning(ctx->event, "POP3 message %u is no longer UIDL %s "
			  "(the old server lists %u messages now): not "
			  "matched in this pass", pmsg->msg->seq,
			  pmsg->msg->uidl, status.messages);
		migrate_match_set_pop3_unreadable(ctx->match, *idxp);
	}
	return left;
}

static int
migrate_pop3_idents_read(struct migrate_pop3_sync *ctx, bool pop3)
{
	ARRAY_TYPE(uint32_t) keys;
	const struct migrate_match_pop3 *pmsg;
	const struct migrate_match_imap *imap;
	const ARRAY_TYPE(uint32_t) *need;
	const uint32_t *idxp;
	uint32_t key;
	int ret;

	need = pop3 ? migrate_match_need_pop3_ident(ctx->match) :
		migrate_match_need_imap_ident(ctx->match);
	if (pop3 && array_count(need) > 0)
		need = migrate_pop3_headers_read(ctx, need);
	if (array_count(need) == 0)
		return 0;

	if (pop3) {
		if (!migrate_pop3_pop3_box(ctx)->opened &&
		    mailbox_sync(ctx->pop3_box, 0) < 0) {
			/* (the list was read ahead on another connection) */
			e_error(ctx->event, "Couldn't open the POP3 mailbox "
				"%s: %s", ctx->pop3_box->vname,
				mailbox_get_last_internal_error(ctx->pop3_box,
								NULL));
			return -1;
		}
		need = migrate_pop3_need_in_box(ctx, need);
		if (array_count(need) == 0)
			return 0;
	}

	/* POP3 messages are found by sequence, IMAP ones by UID */
	t_array_init(&keys, array_count(need));
	array_foreach(need, idxp) {
		if (pop3) {
			pmsg = array_idx(migrate_match_get_pop3(ctx->match),
					 *idxp);
			key = pmsg->msg->seq;
		} else {
			imap = array_idx(migrate_match_get_imap(ctx->match), *idxp);
			key = imap->uid;
		}
		array_push_back(&keys, &key);
	}
	ctx->ident_idx = array_front(need);
	ctx->pop3_idents = pop3;
	ret = migrate_pop3_read_batched(ctx,
		pop3 ? migrate_pop3_pop3_box(ctx) : ctx->box,
		array_front(&keys), array_count(need), !pop3,
		MAIL_FETCH_STREAM_HEADER, migrate_pop3_ident_read);
	ctx->ident_idx = NULL;
	return ret;
}

/* Formula mode: every IMAP message's UIDL is computed. When the POP3 list
   was read, a sample of it must agree before anything is trusted. */
static int migrate_pop3_formula_apply(struct migrate_pop3_sync *ctx)
{
	const ARRAY_TYPE(migrate_match_pop3) *pop3_list =
		migrate_match_get_pop3(ctx->match);
	const struct migrate_match_imap *imap;
	const struct migrate_match_pop3 *pop3;
	HASH_TABLE(const char *, void *) formula_uidls;
	unsigned int i, count, step, checked = 0;
	const char *uidl;
	int ret = 0;

	hash_table_create(&formula_uidls, default_pool, 0, str_hash, strcmp);
	array_foreach(migrate_match_get_imap(ctx->match), imap) {
		uidl = p_strdup(ctx->pool, migrate_uidl_format_get(
			ctx->formula, ctx->uidvalidity, imap->uid));
		hash_table_update(formula_uidls, uidl, POINTER_CAST(1));
		migrate_match_add_known(ctx->match, uidl, imap->uid,
					MIGRATE_MATCH_FORMULA);
		ctx->formula_uidls++;
	}
	count = array_count(pop3_list);
	if (ctx->set->pop3_box_vname != NULL && count > 0) {
		step = count <= MIGRATE_POP3_FORMULA_SAMPLE ? 1 :
			count / MIGRATE_POP3_FORMULA_SAMPLE;
		for (i = 0; i < count; i += step) {
			pop3 = array_idx(pop3_list, i);
			checked++;
			if (hash_table_lookup(formula_uidls, pop3->msg->uidl) != NULL)
				continue;
			e_error(ctx->event, "migrate_pop3_uidl_format=%s "
				"doesn't give the old server's UIDLs: POP3 "
				"message %u has UIDL '%s', which no IMAP "
				"message's UID/UIDVALIDITY (%u) produces - "
				"refusing to use the formula",
				ctx->set->uidl_format, pop3->msg->seq, pop3->msg->uidl,
				ctx->uidvalidity);
			ret = -1;
			break;
		}
		if (ret == 0) {
			e_debug(ctx->event, "migrate_pop3_uidl_format verified "
				"on %u of %u POP3 UIDLs", checked, count);
		}
	}
	hash_table_destroy(&formula_uidls);
	return ret;
}

/* The old server's POP3 list is exactly Dovecot's or Cyrus's formula of
   this mailbox's UIDs and UIDVALIDITY: then the formula pairs everything,
   the IMAP sizes needn't be fetched and no matcher is kept, only each
   message's UID and POP3 order (ctx->mbox->exact). Returns TRUE if so. */
static bool migrate_pop3_formula_exact(struct migrate_pop3_sync *ctx)
{
	const struct migrate_pop3_msg *msgs;
	struct mailbox_status status;
	const char **uidls, *format;
	unsigned int i, count, *uidl_idx;
	uint32_t *uids, *orders;

	if (ctx->set->uidl_format != NULL || !ctx->set->uidl_detect ||
	    ctx->set->pop3_box_vname == NULL || ctx->cached_uidls > 0)
		return FALSE;
	msgs = array_get(&ctx->muser->pop3_msgs, &count);
	mailbox_get_open_status(ctx->box, STATUS_MESSAGES, &status);
	if (count == 0 || count != status.messages)
		return FALSE;
	/* on the heap: the data stack would keep its largest size */
	uidls = i_new(const char *, count);
	uids = i_new(uint32_t, count);
	uidl_idx = i_new(unsigned int, count);
	for (i = 0; i < count; i++) {
		uidls[i] = msgs[i].uidl;
		mail_index_lookup_uid(ctx->box->view, i + 1, &uids[i]);
	}
	format = migrate_uidl_format_detect_exact(uidls, uids, count,
						  ctx->uidvalidity, uidl_idx);
	i_free(uidls);
	if (format != NULL) {
		/* without a cache (else this isn't tried) every message
		   gets the POP3 order of its place in the list */
		orders = i_new(uint32_t, count);
		for (i = 0; i < count; i++)
			orders[i] = uidl_idx[i] + 1;
		ctx->mbox->exact_format =
			migrate_uidl_format_create_valid(format);
		ctx->mbox->exact = migrate_uidl_exact_init(ctx->pool,
			ctx->mbox->exact_format, ctx->uidvalidity, uids,
			orders, count);
		i_free(orders);
		ctx->formula_uidls = count;
		e_debug(ctx->event, "The old server's UIDLs are %s of every "
			"UID: the IMAP sizes aren't needed", format);
	}
	i_free(uids);
	i_free(uidl_idx);
	return format != NULL;
}

/* Exact mode: every POP3 message is this mailbox's, nothing is
   unmatched. Logs, records and caches as the matcher's path does. */
static void migrate_pop3_exact_finish(struct migrate_pop3_sync *ctx)
{
	const struct migrate_uidl_exact *exact = ctx->mbox->exact;
	struct migrate_pop3_msg *msg;
	unsigned int i, count = migrate_uidl_exact_count(exact);
	uint32_t uid, order;
	string_t *str;

	e_info(ctx->event, "POP3 %u, IMAP %u messages; matched: "
	       "cached 0, size 0, header 0, fields 0, order 0, formula %u; "
	       "unmatched: POP3 0, IMAP 0; headers read: POP3 0, IMAP 0",
	       count, count, count);
	array_foreach_modifiable(&ctx->muser->pop3_msgs, msg)
		msg->claimed = TRUE;
	if (ctx->set->cache_dir[0] == '\0')
		return;
	/* no message is unmatched */
	(void)migrate_pop3_file_replace(ctx,
		migrate_pop3_cache_name(ctx->box, "pop3-unmatched."),
		t_str_new(1));
	/* on the heap: each UIDL is computed in a data stack frame of its
	   own, which the file's buffer mustn't be in */
	str = str_new(default_pool, 1024);
	migrate_uidl_cache_append_header(str, ctx->uidvalidity);
	for (i = 0; i < count; i++) T_BEGIN {
		migrate_uidl_exact_get(exact, i, &uid, &order);
		migrate_uidl_cache_append_entry(str, uid,
			migrate_uidl_exact_uidl(exact, uid), order);
	} T_END;
	(void)migrate_pop3_file_replace(ctx,
		migrate_pop3_cache_name(ctx->box, "pop3-uidl."), str);
	str_free(&str);
}

/* The old server's UIDLs may be a known formula of UID and UIDVALIDITY
   (Dovecot's default, Cyrus): then the formula pairs, with equal sizes,
   the messages the sizes alone can't (same-size neighbours), and no
   header has to be read for them. */
static void migrate_pop3_formula_detect(struct migrate_pop3_sync *ctx)
{
	const struct migrate_match_imap *imap;
	struct migrate_uidl_format *fmt;
	const char *format;
	unsigned int hits;

	format = migrate_uidl_format_detect(migrate_match_get_pop3(ctx->match),
					    migrate_match_get_imap(ctx->match),
					    ctx->uidvalidity, &hits);
	if (format == NULL)
		return;
	fmt = migrate_uidl_format_create_valid(format);
	array_foreach(migrate_match_get_imap(ctx->match), imap) T_BEGIN {
		migrate_match_add_known(ctx->match, p_strdup(ctx->pool,
			migrate_uidl_format_get(fmt, ctx->uidvalidity,
						imap->uid)), imap->uid,
			MIGRATE_MATCH_FORMULA);
	} T_END;
	migrate_uidl_format_free(&fmt);
	ctx->formula_uidls = hits;
	e_debug(ctx->event, "The old server's UIDLs follow %s: it pairs %u "
		"messages (sizes equal)", format, hits);
}

/* With one mailbox every POP3 message must be in it. With several
   (merged), a POP3 message missing here may be in another mailbox: that
   is decided when the session ends (migrate_pop3_user_finish()). */
static bool migrate_pop3_report_pop3(struct migrate_pop3_sync *ctx)
{
	return !ctx->set->merged;
}

/* INBOX messages should all be in the POP3 list; other folders' messages
   usually aren't, and that is no error. */
static bool migrate_pop3_report_imap(struct migrate_pop3_sync *ctx)
{
	return !ctx->set->merged || ctx->box->inbox_user;
}

static void migrate_pop3_claim(struct migrate_pop3_sync *ctx)
{
	const struct migrate_match_pop3 *pop3;

	if (!ctx->muser->pop3_listed)
		return;
	array_foreach(migrate_match_get_pop3(ctx->match), pop3) {
		if (pop3->method != MIGRATE_MATCH_NONE)
			pop3->msg->claimed = TRUE;
	}
}

static void migrate_pop3_report(struct migrate_pop3_sync *ctx,
				const struct migrate_match_stats *stats)
{
	const struct migrate_match_pop3 *pop3;
	const struct migrate_match_imap *imap;
	string_t *report = t_str_new(256);

	array_foreach(migrate_match_get_pop3(ctx->match), pop3) {
		if (pop3->method != MIGRATE_MATCH_NONE ||
		    !migrate_pop3_report_pop3(ctx))
			continue;
		e_warning(ctx->event, "POP3 message %u UIDL %s size %"
			  PRIuUOFF_T" has no IMAP message: %s", pop3->msg->seq,
			  pop3->msg->uidl == NULL ? "(none)" : pop3->msg->uidl,
			  pop3->msg->size, migrate_match_reason_name(pop3->reason));
		str_printfa(report, "pop3\t%u\t", pop3->msg->seq);
		str_append_tabescaped(report, pop3->msg->uidl == NULL ? "" :
				      pop3->msg->uidl);
		str_printfa(report, "\t%"PRIuUOFF_T"\t%s\n", pop3->msg->size,
			    migrate_match_reason_name(pop3->reason));
	}
	array_foreach(migrate_match_get_imap(ctx->match), imap) {
		if (imap->method != MIGRATE_MATCH_NONE ||
		    !migrate_pop3_report_imap(ctx))
			continue;
		e_warning(ctx->event, "IMAP message UID %u size %"
			  PRIuUOFF_T" has no POP3 UIDL: %s", imap->uid, imap->size,
			  migrate_match_reason_name(imap->reason));
		str_printfa(report, "imap\t%u\t\t%"PRIuUOFF_T"\t%s\n",
			    imap->uid, imap->size,
			    migrate_match_reason_name(imap->reason));
	}
	if (ctx->set->cache_dir[0] != '\0' &&
	    (str_len(report) > 0 || stats->pop3_count + stats->imap_count > 0)) {
		/* the last run's list of unmatched messages, for
		   doveadm migrate and for admins */
		(void)migrate_pop3_file_replace(ctx,
			migrate_pop3_cache_name(ctx->box, "pop3-unmatched."),
			report);
	}
}

/* Tell migrate run (plugin/migrate_outcome_fd, migrate-outcome.h) that
   the pass failed because messages were left unmatched. */
static void
migrate_pop3_outcome_unmatched(struct migrate_pop3_sync *ctx,
			       unsigned int count)
{
	struct mail_user *user = ctx->box->storage->user;
	struct migrate_outcome_record rec = {
		.kind = MIGRATE_OUTCOME_UNMATCHED,
		.where = MIGRATE_OUTCOME_POP3,
		.code = dec2str(count),
		.text = t_strdup_printf("%s: %u messages couldn't be matched",
					ctx->box->vname, count),
	};

	migrate_outcome_write(migrate_outcome_fd_parse(
		migrate_user_setting(user, "migrate_outcome_fd")), &rec);
}

static int migrate_pop3_sync_run(struct migrate_pop3_sync *ctx)
{
	struct migrate_match_stats stats;
	struct mailbox_status status;
	struct timeval t0, t1, t2, t3;
	unsigned int pop3_failed, imap_failed;

	i_gettimeofday(&t0);
	mailbox_get_open_status(ctx->box, STATUS_UIDVALIDITY, &status);
	ctx->uidvalidity = status.uidvalidity;
	migrate_pop3_cache_read(ctx);
	if (ctx->set->pop3_box_vname != NULL) {
		if (migrate_pop3_pop3_list_read(ctx) < 0)
			return -1;
	}
	i_gettimeofday(&t1);
	if (migrate_pop3_formula_exact(ctx)) {
		migrate_pop3_exact_finish(ctx);
		i_gettimeofday(&t2);
		e_debug(ctx->event, "Timing: POP3 list %lld ms, formula check "
			"and cache %lld ms",
			(long long)timeval_diff_msecs(&t1, &t0),
			(long long)timeval_diff_msecs(&t2, &t1));
		return 0;
	}
	if (migrate_pop3_imap_list_read(ctx) < 0)
		return -1;
	if (ctx->set->pop3_box_vname != NULL)
		migrate_pop3_pop3_list_feed(ctx);
	i_gettimeofday(&t2);

	if (ctx->set->uidl_format != NULL) {
		if (ctx->set->pop3_box_vname == NULL) {
			/* no POP3 list: the formula is the list */
			const struct migrate_match_imap *imap;

			array_foreach(migrate_match_get_imap(ctx->match), imap) {
				migrate_match_add_pop3(ctx->match, 0,
					migrate_uidl_format_get(ctx->formula,
						ctx->uidvalidity, imap->uid),
					imap->size);
			}
		}
		if (migrate_pop3_formula_apply(ctx) < 0)
			return -1;
		migrate_match_run_cheap(ctx->match);
	} else {
		/* later runs have the pairs in the cache already */
		if (ctx->set->uidl_detect && ctx->set->pop3_box_vname != NULL &&
		    ctx->cached_uidls == 0 && ctx->formula_uidls == 0)
			migrate_pop3_formula_detect(ctx);
		migrate_match_run_cheap(ctx->match);
		/* POP3 first: its server may drop an idle connection while
		   the (longer) IMAP part runs */
		if (migrate_pop3_idents_read(ctx, TRUE) < 0 ||
		    migrate_pop3_idents_read(ctx, FALSE) < 0)
			return -1;
	}
	migrate_match_run_full(ctx->match);
	migrate_pop3_orders_assign(ctx);
	migrate_match_get_stats(ctx->match, &stats);
	i_gettimeofday(&t3);
	e_debug(ctx->event, "Timing: POP3 list %lld ms, IMAP list %lld ms, "
		"headers and matching %lld ms",
		(long long)timeval_diff_msecs(&t1, &t0),
		(long long)timeval_diff_msecs(&t2, &t1),
		(long long)timeval_diff_msecs(&t3, &t2));

	if (stats.cache_distrusted) {
		e_warning(ctx->event, "The old server has given known UIDs "
			  "to other messages without a new UIDVALIDITY (%u): "
			  "the UIDL cache isn't used, every message is "
			  "matched again", ctx->uidvalidity);
	}
	e_info(ctx->event, "POP3 %u, IMAP %u messages; matched: "
	       "cached %u, size %u, header %u, fields %u, order %u, formula %u; "
	       "unmatched: POP3 %u, IMAP %u; headers read: POP3 %u, IMAP %u",
	       stats.pop3_count, stats.imap_count,
	       stats.matched_cached,
	       stats.matched_size, stats.matched_hash,
	       stats.matched_fields, stats.matched_order,
	       stats.matched_formula,
	       stats.pop3_unmatched, stats.imap_unmatched,
	       stats.pop3_idents, stats.imap_idents);

	migrate_pop3_claim(ctx);
	migrate_pop3_report(ctx, &stats);
	migrate_pop3_cache_write(ctx);

	pop3_failed = migrate_pop3_report_pop3(ctx) ? stats.pop3_unmatched : 0;
	imap_failed = migrate_pop3_report_imap(ctx) ? stats.imap_unmatched : 0;
	if (pop3_failed + imap_failed > 0 &&
	    ctx->set->unmatched == MIGRATE_POP3_UNMATCHED_FAIL) {
		e_error(ctx->event, "%u POP3 and %u IMAP messages "
			"couldn't be matched (listed above) - set "
			"migrate_pop3_unmatched=continue to migrate them "
			"with new UIDLs", pop3_failed, imap_failed);
		migrate_pop3_outcome_unmatched(ctx, pop3_failed + imap_failed);
		return -1;
	}
	return 0;
}

static void migrate_pop3_user_list_free(struct migrate_pop3_user *muser)
{
	if (muser->pop3_pool != NULL) {
		array_free(&muser->pop3_msgs);
		pool_unref(&muser->pop3_pool);
	}
	muser->pop3_listed = FALSE;
}

void migrate_pop3_mailbox_reset(struct mailbox *box,
				struct migrate_pop3_mailbox *mbox)
{
	struct migrate_pop3_user *muser =
		MIGRATE_POP3_USER_CONTEXT(box->storage->user);

	if (mbox->match != NULL)
		migrate_match_deinit(&mbox->match);
	migrate_uidl_map_free(&mbox->map);
	mbox->exact = NULL;
	migrate_uidl_format_free(&mbox->exact_format);
	mbox->pop3_orders = NULL;
	pool_unref(&mbox->sync_pool);
	/* one mailbox: its POP3 list is no one else's */
	if (muser != NULL && muser->set != NULL && !muser->set->merged)
		migrate_pop3_user_list_free(muser);
}

int migrate_pop3_uidl_sync(struct mailbox *box)
{
	struct migrate_pop3_mailbox *mbox = MIGRATE_POP3_CONTEXT_REQUIRE(box);
	struct migrate_pop3_user *muser =
		MIGRATE_POP3_USER_CONTEXT(box->storage->user);
	struct migrate_pop3_sync ctx;
	struct migrate_match_settings match_set;
	int ret;

	i_assert(muser->set != NULL);

	i_zero(&ctx);
	ctx.box = box;
	ctx.mbox = mbox;
	ctx.set = muser->set;
	ctx.muser = muser;
	ctx.event = event_create(box->event);
	event_set_append_log_prefix(ctx.event, MIGRATE_POP3_LOG_PREFIX);

	migrate_pop3_mailbox_reset(box, mbox);
	mbox->sync_pool = pool_alloconly_create("migrate_pop3 match",
						64 * 1024);
	ctx.pool = mbox->sync_pool;
	match_set = ctx.set->match_set;
	if (ctx.set->merged && !box->inbox_user) {
		/* a folder's messages sit somewhere inside the merged POP3
		   list: positions say nothing, compare headers */
		match_set.skip_size_match = TRUE;
	}
	ctx.match = migrate_match_init(ctx.pool, &match_set);
	if (ctx.set->uidl_format != NULL) {
		ctx.formula =
			migrate_uidl_format_create_valid(ctx.set->uidl_format);
	}

	T_BEGIN {
		ret = migrate_pop3_sync_run(&ctx);
	} T_END;

	if (ctx.pop3_box != NULL)
		mailbox_free(&ctx.pop3_box);
	if (hash_table_is_created(ctx.cached_orders))
		hash_table_destroy(&ctx.cached_orders);
	migrate_uidl_format_free(&ctx.formula);
	event_unref(&ctx.event);
	mbox->match = ctx.match;
	if (ret < 0) {
		migrate_pop3_mailbox_reset(box, mbox);
		return -1;
	}
	if (mbox->exact != NULL) {
		/* the UIDs and orders are all it needs */
		migrate_match_deinit(&mbox->match);
	} else {
		/* dsync asks each paired UID's UIDL and POP3 order, nothing
		   else: keep those, free the matcher and what it used */
		mbox->map = migrate_uidl_map_from_match(mbox->match,
							mbox->pop3_orders);
		migrate_match_deinit(&mbox->match);
		mbox->pop3_orders = NULL;
		pool_unref(&mbox->sync_pool);
	}
	/* one mailbox: its POP3 list is no one else's (several: the list
	   stays until the session ends, for the messages none claimed) */
	if (!ctx.set->merged)
		migrate_pop3_user_list_free(muser);
	return 0;
}

void migrate_pop3_user_finish(struct mail_user *user)
{
	struct migrate_pop3_user *muser = MIGRATE_POP3_USER_CONTEXT(user);
	const struct migrate_pop3_msg *msg;
	unsigned int unclaimed = 0;

	migrate_pop3_prelist_abort(muser);
	if (muser->set != NULL && muser->set->merged && muser->pop3_listed) {
		array_foreach(&muser->pop3_msgs, msg) {
			if (msg->claimed || msg->uidl[0] == '\0')
				continue;
			e_warning(user->event, MIGRATE_POP3_LOG_PREFIX
				  "POP3 message %u UIDL %s size %"PRIuUOFF_T
				  " is in none of the migrated mailboxes",
				  msg->seq, msg->uidl, msg->size);
			unclaimed++;
		}
		if (unclaimed > 0) {
			e_error(user->event, MIGRATE_POP3_LOG_PREFIX
				"%u of %u POP3 messages were found in none of "
				"the mailboxes in migrate_pop3_mailboxes "
				"(listed above): POP3 clients will miss them",
				unclaimed, array_count(&muser->pop3_msgs));
		}
	}
	migrate_pop3_user_list_free(muser);
}
