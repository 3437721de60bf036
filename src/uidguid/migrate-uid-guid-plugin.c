/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "guid.h"
#include "mail-storage-private.h"
#include "mail-storage-hooks.h"
#include "imapc-storage.h"
#include "migrate-uid-guid-plugin.h"

/* migrate_uid_guid: every message read from an IMAP server without GUIDs
   (imapc, no X-GM-MSGID or OBJECTID) gets one made from its folder, the
   folder's UIDVALIDITY and its UID: stable from run to run and unique,
   unlike imapc's guid-forced header hash, which two messages with the same
   headers share. dsync then recognises what an earlier run copied by GUID.
   migrate run --folder-prefix loads it in the dsync-server that reads the
   old server: there header hashes don't work (a dsync-server computes
   other ones than the doveadm it talks to, Dovecot 2.3.19). */

#define MIGRATE_UID_GUID_MAIL_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, migrate_uid_guid_mail_module)

struct migrate_uid_guid_mail {
	union mail_module_context module_ctx;
};

const char *migrate_uid_guid_plugin_version = DOVECOT_ABI_VERSION;

static MODULE_CONTEXT_DEFINE_INIT(migrate_uid_guid_mail_module,
				  &mail_module_register);

static int
migrate_uid_guid_get_special(struct mail *_mail, enum mail_fetch_field field,
			     const char **value_r)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct migrate_uid_guid_mail *gmail =
		MIGRATE_UID_GUID_MAIL_CONTEXT(mail);
	struct mailbox_status status;
	guid_128_t guid;

	if (field != MAIL_FETCH_GUID)
		return gmail->module_ctx.super.get_special(_mail, field,
							   value_r);
	mailbox_get_open_status(_mail->box, STATUS_UIDVALIDITY, &status);
	T_BEGIN {
		mail_generate_guid_128_hash(t_strdup_printf("%u/%u/%s",
			status.uidvalidity, _mail->uid,
			mailbox_get_vname(_mail->box)), guid);
	} T_END;
	*value_r = p_strdup(mail->data_pool, guid_128_to_string(guid));
	return 0;
}

static void migrate_uid_guid_mail_allocated(struct mail *_mail)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct mail_vfuncs *v = mail->vlast;
	struct imapc_mailbox *mbox;
	struct migrate_uid_guid_mail *gmail;

	if (strcmp(_mail->box->storage->name, IMAPC_STORAGE_NAME) != 0)
		return;
	mbox = IMAPC_MAILBOX(_mail->box);
	if (mbox->guid_fetch_field_name != NULL) {
		/* the server has real GUIDs */
		return;
	}

	gmail = p_new(mail->pool, struct migrate_uid_guid_mail, 1);
	gmail->module_ctx.super = *v;
	mail->vlast = &gmail->module_ctx.super;
	v->get_special = migrate_uid_guid_get_special;
	MODULE_CONTEXT_SET(mail, migrate_uid_guid_mail_module, gmail);
}

static struct mail_storage_hooks migrate_uid_guid_mail_storage_hooks = {
	.mail_allocated = migrate_uid_guid_mail_allocated,
};

void migrate_uid_guid_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &migrate_uid_guid_mail_storage_hooks);
}

void migrate_uid_guid_plugin_deinit(void)
{
	mail_storage_hooks_remove(&migrate_uid_guid_mail_storage_hooks);
}
