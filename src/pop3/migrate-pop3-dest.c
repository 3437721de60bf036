/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "seq-range-array.h"
#include "mail-index.h"
#include "index-pop3-uidl.h"
#include "migrate-pop3-plugin.h"

/* Dovecot 2.3.19's sdbox raises the index header "hdr-pop3-uidl"
   (max_uid_with_pop3_uidl) only when a save transaction starts at
   sequence 1, i.e. on the first copy into an empty mailbox. POP3 and
   doveadm fetch skip the UIDL of every message above that UID, so the
   UIDLs saved by a final pass or a resumed run are stored but never
   served. After each commit that saved UIDLs we raise the header to the
   highest UID saved. */

static int
migrate_pop3_dest_save_finish(struct mail_save_context *save_ctx)
{
	struct mailbox *box = save_ctx->transaction->box;
	struct migrate_pop3_mailbox *mbox = MIGRATE_POP3_CONTEXT_REQUIRE(box);

	if (save_ctx->data.pop3_uidl != NULL)
		mbox->dest_saved_uidl = TRUE;
	return mbox->module_ctx.super.save_finish(save_ctx);
}

static int
migrate_pop3_dest_copy(struct mail_save_context *save_ctx, struct mail *mail)
{
	struct mailbox *box = save_ctx->transaction->box;
	struct migrate_pop3_mailbox *mbox = MIGRATE_POP3_CONTEXT_REQUIRE(box);

	if (save_ctx->data.pop3_uidl != NULL)
		mbox->dest_saved_uidl = TRUE;
	return mbox->module_ctx.super.copy(save_ctx, mail);
}

static uint32_t
migrate_pop3_dest_get_max_uid(struct mailbox *box)
{
	struct mail_index_view *view;
	struct mailbox_index_pop3_uidl hdr;
	const void *data;
	size_t size;

	(void)mail_index_refresh(box->index);
	view = mail_index_view_open(box->index);
	mail_index_get_header_ext(view, box->pop3_uidl_hdr_ext_id,
				  &data, &size);
	i_zero(&hdr);
	if (size >= sizeof(hdr))
		memcpy(&hdr, data, sizeof(hdr));
	mail_index_view_close(&view);
	return size >= sizeof(hdr) ? hdr.max_uid_with_pop3_uidl : (uint32_t)-1;
}

static void
migrate_pop3_dest_raise_max_uid(struct mailbox *box, uint32_t saved_max_uid)
{
	struct mail_index_transaction *itrans;
	uint32_t cur_max;

	cur_max = migrate_pop3_dest_get_max_uid(box);
	/* no header at all means "any message may have a UIDL" */
	if (cur_max == (uint32_t)-1 || cur_max >= saved_max_uid)
		return;

	itrans = mail_index_transaction_begin(box->view,
		MAIL_INDEX_TRANSACTION_FLAG_EXTERNAL);
	index_pop3_uidl_set_max_uid(box, itrans, saved_max_uid);
	if (mail_index_transaction_commit(&itrans) < 0) {
		mailbox_set_index_error(box);
		e_error(box->event, MIGRATE_POP3_LOG_PREFIX
			"Failed to update the POP3 UIDL index header: %s",
			mailbox_get_last_internal_error(box, NULL));
		return;
	}
	e_debug(box->event, MIGRATE_POP3_LOG_PREFIX
		"Raised max_uid_with_pop3_uidl %u -> %u", cur_max,
		saved_max_uid);
}

static int
migrate_pop3_dest_transaction_commit(struct mailbox_transaction_context *t,
				     struct mail_transaction_commit_changes *changes_r)
{
	struct mailbox *box = t->box;
	struct migrate_pop3_mailbox *mbox = MIGRATE_POP3_CONTEXT_REQUIRE(box);
	const struct seq_range *range;
	uint32_t max_uid = 0;
	bool saved_uidl = mbox->dest_saved_uidl;

	mbox->dest_saved_uidl = FALSE;
	if (mbox->module_ctx.super.transaction_commit(t, changes_r) < 0)
		return -1;
	if (!saved_uidl)
		return 0;

	array_foreach(&changes_r->saved_uids, range)
		max_uid = I_MAX(max_uid, range->seq2);
	e_debug(box->event, MIGRATE_POP3_LOG_PREFIX
		"Saved messages with UIDLs, highest UID %u", max_uid);
	if (max_uid > 0)
		migrate_pop3_dest_raise_max_uid(box, max_uid);
	return 0;
}

static void
migrate_pop3_dest_transaction_rollback(struct mailbox_transaction_context *t)
{
	struct migrate_pop3_mailbox *mbox = MIGRATE_POP3_CONTEXT_REQUIRE(t->box);

	mbox->dest_saved_uidl = FALSE;
	mbox->module_ctx.super.transaction_rollback(t);
}

void migrate_pop3_dest_mailbox_allocated(struct mailbox_vfuncs *v)
{
	v->save_finish = migrate_pop3_dest_save_finish;
	v->copy = migrate_pop3_dest_copy;
	v->transaction_commit = migrate_pop3_dest_transaction_commit;
	v->transaction_rollback = migrate_pop3_dest_transaction_rollback;
}
