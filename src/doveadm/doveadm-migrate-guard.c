/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "module-context.h"
#include "mail-user.h"
#include "mail-storage-private.h"
#include "mail-storage-hooks.h"
#include "index-mail.h"
#include "imapc-storage.h"
#include "pop3c-storage.h"
#include "migrate-common.h"
#include "doveadm-migrate.h"

#include <errno.h>
#include "migrate-user-settings.h"

#include <sys/statvfs.h>

/* The guard of the mailboxes here while migrate run's dsync copies: it is
   in every doveadm process (as the doveadm plugin is), active only when
   the run sets plugin/migrate_guard for its dsync child. dsync's backup
   deletes a mailbox here that it finds out of step, to copy it again on
   its next run. Before the switch that is fine when the copy can be
   made again, so the guard lets it happen only when the disk has room
   for the mailbox once more; once switched (users work here) it never
   lets a mailbox be deleted. A refusal fails dsync for that mailbox with
   a line that says why, and nothing is lost.

   migrate_guard = rebuild (the run's first look here after a killed
   pass) has Dovecot rebuild an mdbox storage here instead: the messages
   a killed commit left in mdbox's files come back into their folders
   before the pass looks, where it sees them (a mirroring pass mirrors
   them away, an additive one counts them as here), rather than at some
   rebuild after the switch, twice. */

#define MIGRATE_GUARD_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, migrate_guard_user_module)
#define MIGRATE_GUARD_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, migrate_guard_storage_module)

/* room kept free beyond the mailbox's own size */
#define MIGRATE_GUARD_SPACE_MARGIN (16 * 1024 * 1024)

enum migrate_guard_mode {
	MIGRATE_GUARD_OFF = 0,
	/* before the switch: a deletion only when the copy fits again */
	MIGRATE_GUARD_MIRROR,
	/* users work here: never a deletion */
	MIGRATE_GUARD_SWITCHED,
};

struct migrate_guard_user {
	union mail_user_module_context module_ctx;
	enum migrate_guard_mode mode;
	/* rebuild: the mdbox storage is still to be rebuilt */
	bool rebuild;
};

struct migrate_guard_mailbox {
	union mailbox_module_context module_ctx;
};

static MODULE_CONTEXT_DEFINE_INIT(migrate_guard_user_module,
				  &mail_user_module_register);
static MODULE_CONTEXT_DEFINE_INIT(migrate_guard_storage_module,
				  &mail_storage_module_register);

/* Free bytes where the mailbox's files are, or (uint64_t)-1 if unknown. */
static uint64_t migrate_guard_free_space(struct mailbox *box)
{
	struct statvfs buf;
	const char *path;

	if (mailbox_get_path_to(box, MAILBOX_LIST_PATH_TYPE_MAILBOX,
				&path) <= 0 ||
	    statvfs(path, &buf) < 0)
		return (uint64_t)-1;
	return (uint64_t)buf.f_bavail * buf.f_frsize;
}

/* Can the mailbox be copied again after dsync deleted it? Returns TRUE,
   or FALSE with why_r. */
static bool
migrate_guard_recopy_fits(struct mailbox *box, const char **why_r)
{
	struct mailbox_metadata metadata;
	uint64_t free_space, needed;

	if (mailbox_get_metadata(box, MAILBOX_METADATA_PHYSICAL_SIZE,
				 &metadata) < 0) {
		*why_r = t_strdup_printf("its size can't be read: %s",
			mailbox_get_last_internal_error(box, NULL));
		return FALSE;
	}
	if (metadata.physical_size == 0)
		return TRUE;
	needed = metadata.physical_size + metadata.physical_size / 10 +
		MIGRATE_GUARD_SPACE_MARGIN;
	free_space = migrate_guard_free_space(box);
	if (free_space != (uint64_t)-1 && free_space < needed) {
		/* errno's text, as a failed write says it: the run reads
		   it as this server's full disk */
		*why_r = t_strdup_printf("%s: no room to copy it again "
			"(%"PRIu64" MB free, %"PRIu64" MB needed)",
			strerror(ENOSPC), free_space / (1024 * 1024),
			needed / (1024 * 1024));
		return FALSE;
	}
	return TRUE;
}

static int migrate_guard_delete_box(struct mailbox *box)
{
	struct migrate_guard_mailbox *gbox = MIGRATE_GUARD_CONTEXT(box);
	struct migrate_guard_user *guser =
		MIGRATE_GUARD_USER_CONTEXT(box->storage->user);
	const char *why = NULL;

	if (guser->mode == MIGRATE_GUARD_SWITCHED)
		why = "the account is switched: users work here";
	else if (!migrate_guard_recopy_fits(box, &why))
		i_assert(why != NULL);
	if (why != NULL) {
		e_error(box->event, MIGRATE_LOG_PREFIX"Not deleting mailbox "
			"%s here to copy it again: %s", box->vname, why);
		mail_storage_set_error(box->storage, MAIL_ERROR_NOTPOSSIBLE,
			t_strdup_printf(MIGRATE_LOG_PREFIX"Not deleting %s: %s",
					box->vname, why));
		return -1;
	}
	if (gbox->module_ctx.super.delete_box(box) < 0)
		return -1;
	doveadm_migrate_outcome_recopy(box);
	return 0;
}

static void migrate_guard_mailbox_allocated(struct mailbox *box)
{
	struct migrate_guard_user *guser =
		MIGRATE_GUARD_USER_CONTEXT(box->storage->user);
	struct mailbox_vfuncs *v = box->vlast;
	struct migrate_guard_mailbox *gbox;

	/* only this server's mailboxes: not the old server's */
	if (guser == NULL || guser->mode == MIGRATE_GUARD_OFF ||
	    strcmp(box->storage->name, IMAPC_STORAGE_NAME) == 0 ||
	    strcmp(box->storage->name, POP3C_STORAGE_NAME) == 0)
		return;
	gbox = p_new(box->pool, struct migrate_guard_mailbox, 1);
	gbox->module_ctx.super = *v;
	box->vlast = &gbox->module_ctx.super;
	v->delete_box = migrate_guard_delete_box;
	MODULE_CONTEXT_SET(box, migrate_guard_storage_module, gbox);
}

static void migrate_guard_mail_user_created(struct mail_user *user)
{
	const char *value = migrate_user_setting(user, "migrate_guard");
	struct migrate_guard_user *guser;
	enum migrate_guard_mode mode;
	bool rebuild = FALSE;

	if (value == NULL || *value == '\0')
		return;
	if (strcmp(value, "mirror") == 0)
		mode = MIGRATE_GUARD_MIRROR;
	else if (strcmp(value, "rebuild") == 0) {
		mode = MIGRATE_GUARD_OFF;
		rebuild = TRUE;
	} else {
		/* anything else guards the most */
		mode = MIGRATE_GUARD_SWITCHED;
	}
	guser = p_new(user->pool, struct migrate_guard_user, 1);
	guser->mode = mode;
	guser->rebuild = rebuild;
	MODULE_CONTEXT_SET(user, migrate_guard_user_module, guser);
}

static void migrate_guard_mail_namespaces_created(struct mail_namespace *ns)
{
	struct mail_user *user = ns->user;
	struct migrate_guard_user *guser = MIGRATE_GUARD_USER_CONTEXT(user);
	const char *error;
	int ret;

	/* (the old server's user of dsync -R imapc: isn't mdbox) */
	if (guser == NULL || !guser->rebuild)
		return;
	guser->rebuild = FALSE;
	ret = doveadm_migrate_storage_rebuild(user, &error);
	if (ret < 0) {
		/* the child exists for this look here: it fails, and so
		   the run, before it copies anything */
		i_fatal(MIGRATE_LOG_PREFIX"user %s: %s", user->username, error);
	} else if (ret > 0) {
		e_info(user->event, MIGRATE_LOG_PREFIX"rebuilt the mdbox "
		       "storage after a killed pass");
	}
}

static struct mail_storage_hooks migrate_guard_mail_storage_hooks = {
	.mail_user_created = migrate_guard_mail_user_created,
	.mail_namespaces_created = migrate_guard_mail_namespaces_created,
	.mailbox_allocated = migrate_guard_mailbox_allocated,
};

void doveadm_migrate_guard_init(struct module *module)
{
	mail_storage_hooks_add_forced(module,
				      &migrate_guard_mail_storage_hooks);
}

void doveadm_migrate_guard_deinit(void)
{
	/* nothing: doveadm unloads its plugins after the storage hooks
	   are gone (as pigeonhole's doveadm-sieve) */
}
