/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "fd-util.h"
#include "ostream.h"
#include "lib-event-private.h"
#include "module-context.h"
#include "mail-user.h"
#include "mail-storage-private.h"
#include "mail-storage-hooks.h"
#include "index-mail.h"
#include "imapc-storage.h"
#include "imapc-settings.h"
#include "pop3c-settings.h"
#include "pop3c-storage.h"
#include "doveadm-settings.h"
#include "doveadm-util.h"
#include "migrate-outcome.h"
#include "migrate-progress.h"
#include "doveadm-migrate.h"

/* The recorder of a migrate run child's outcome (migrate-outcome.h). It
   is in every doveadm process, as the doveadm plugin is, and records only
   when the run set plugin/migrate_outcome_fd for the child. What it
   records comes from Dovecot's state, not from the wording of a message:

   - the imapc login result (the reply's state: NO/BAD or no answer),
     as soon as the storage exists and again when it goes away;
   - the pop3c login result (the error code of the failed open);
   - the error code of a failed save, copy, commit or create here, and
     of a failed open or sync at the old server;
   - every error logged with an event of this server's userdb lookups
     (auth-client) or of a mail storage, with where it happened (an
     imapc/pop3c storage or one here). */

#define MIGRATE_OUTCOME_STORAGE_CONTEXT(obj) \
	MODULE_CONTEXT(obj, migrate_outcome_storage_module)
#define MIGRATE_OUTCOME_BOX_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, migrate_outcome_box_module)

struct migrate_outcome_storage {
	union mail_storage_module_context module_ctx;
	bool login_recorded;
};

struct migrate_outcome_box {
	union mailbox_module_context module_ctx;
};

static MODULE_CONTEXT_DEFINE_INIT(migrate_outcome_storage_module,
				  &mail_storage_module_register);
static MODULE_CONTEXT_DEFINE_INIT(migrate_outcome_box_module,
				  &mail_storage_module_register);

/* the descriptor, -1 when not recording; known once doveadm has read its
   settings (after the plugins were loaded) */
static int migrate_outcome_fd = -1;
static bool migrate_outcome_fd_known = FALSE;
/* a child failing over and over (every message of a big mailbox) says
   what it has to say in its first records */
#define MIGRATE_OUTCOME_MAX_RECORDS 200
static unsigned int migrate_outcome_records = 0;

/* the progress record's descriptor (migrate-progress.h), -1 if none;
   known with the outcome's */
static int migrate_progress_fd = -1;
static struct {
	uint64_t messages, bytes;
	char *folder;
	time_t written;
} migrate_progress;

static int doveadm_migrate_outcome_fd(void)
{
	if (migrate_outcome_fd_known)
		return migrate_outcome_fd;
	if (doveadm_settings == NULL)
		return -1;
	migrate_outcome_fd_known = TRUE;
	migrate_outcome_fd = migrate_outcome_fd_parse(
		doveadm_migrate_setting("migrate_outcome_fd"));
	migrate_progress_fd = migrate_outcome_fd_parse(
		doveadm_migrate_setting("migrate_progress_fd"));
	/* not for the processes this one starts */
	if (migrate_outcome_fd != -1)
		fd_close_on_exec(migrate_outcome_fd, TRUE);
	if (migrate_progress_fd != -1)
		fd_close_on_exec(migrate_progress_fd, TRUE);
	return migrate_outcome_fd;
}

static void migrate_outcome_progress_write(void)
{
	char buf[MIGRATE_PROGRESS_RECORD_SIZE];

	T_BEGIN {
		migrate_progress_record(buf, migrate_progress.messages,
					migrate_progress.bytes,
					migrate_progress.folder);
	} T_END;
	/* overwritten in place: migrate run reads it every second */
	if (pwrite(migrate_progress_fd, buf, sizeof(buf), 0) < 0)
		i_error("migrate: pwrite(progress) failed: %m");
	migrate_progress.written = time(NULL);
}

/* A message was saved (or copied) here: count it, and let migrate run
   know at most once a second, or when the folder changes. */
static void migrate_outcome_progress_add(struct mailbox *box, uoff_t size)
{
	bool new_folder;

	if (migrate_progress_fd == -1)
		return;
	migrate_progress.messages++;
	migrate_progress.bytes += size;
	new_folder = migrate_progress.folder == NULL ||
		strcmp(migrate_progress.folder, box->vname) != 0;
	if (new_folder) {
		i_free(migrate_progress.folder);
		migrate_progress.folder = i_strdup(box->vname);
	}
	if (new_folder || migrate_progress.written != time(NULL))
		migrate_outcome_progress_write();
}

static void
migrate_outcome_record(enum migrate_outcome_kind kind,
		       enum migrate_outcome_where where, const char *code,
		       const char *text)
{
	struct migrate_outcome_record rec = {
		.kind = kind,
		.where = where,
		.code = code,
		.text = text,
	};

	if (migrate_outcome_records >= MIGRATE_OUTCOME_MAX_RECORDS)
		return;
	migrate_outcome_records++;
	migrate_outcome_write(doveadm_migrate_outcome_fd(), &rec);
}

static enum migrate_outcome_where
migrate_outcome_storage_where(const struct mail_storage *storage)
{
	if (strcmp(storage->name, IMAPC_STORAGE_NAME) == 0)
		return MIGRATE_OUTCOME_IMAP;
	if (strcmp(storage->name, POP3C_STORAGE_NAME) == 0)
		return MIGRATE_OUTCOME_POP3;
	return MIGRATE_OUTCOME_HERE;
}

/* --- logged errors --- */

static bool
migrate_outcome_category_is(const struct event_category *category,
			    const char *name)
{
	for (; category != NULL; category = category->parent) {
		if (strcmp(category->name, name) == 0)
			return TRUE;
	}
	return FALSE;
}

/* Where an error logged with this event happened, from the categories
   of the event and of its parents: an imapc or pop3c storage (the old
   server), else one here (every backend's category is a child of
   "storage") or this server's userdb lookups ("auth-client"). Returns
   FALSE if none of them is there. code_r is the most specific category. */
static bool
migrate_outcome_event_where(struct event *event,
			    enum migrate_outcome_where *where_r,
			    const char **code_r)
{
	struct event_category *const *categories;
	unsigned int i, count;

	*where_r = MIGRATE_OUTCOME_UNKNOWN;
	*code_r = NULL;
	for (; event != NULL; event = event_get_parent(event)) {
		categories = event_get_categories(event, &count);
		for (i = 0; i < count; i++) {
			const char *name = categories[i]->name;

			if (strcmp(name, "imapc") == 0 ||
			    strcmp(name, "pop3c") == 0) {
				*where_r = name[0] == 'i' ?
					MIGRATE_OUTCOME_IMAP :
					MIGRATE_OUTCOME_POP3;
				*code_r = name;
				return TRUE;
			}
			if (*code_r == NULL &&
			    (strcmp(name, "auth-client") == 0 ||
			     migrate_outcome_category_is(categories[i],
							 "storage"))) {
				*where_r = MIGRATE_OUTCOME_HERE;
				*code_r = name;
			}
		}
	}
	return *code_r != NULL;
}

static bool
migrate_outcome_event_callback(struct event *event,
			       enum event_callback_type type,
			       struct failure_context *ctx,
			       const char *fmt, va_list args)
{
	enum migrate_outcome_where where;
	const char *code;
	va_list args2;

	if (type != EVENT_CALLBACK_TYPE_SEND || ctx == NULL ||
	    (ctx->type != LOG_TYPE_ERROR && ctx->type != LOG_TYPE_FATAL) ||
	    doveadm_migrate_outcome_fd() == -1)
		return TRUE;

	T_BEGIN {
		if (migrate_outcome_event_where(event, &where, &code)) {
			VA_COPY(args2, args);
			migrate_outcome_record(MIGRATE_OUTCOME_LOG, where, code,
					       t_strdup_vprintf(fmt, args2));
			va_end(args2);
		}
	} T_END;
	return TRUE;
}

/* --- logins to the old server --- */

static void migrate_outcome_imapc_login(struct mail_storage *storage)
{
	struct migrate_outcome_storage *ostorage =
		MIGRATE_OUTCOME_STORAGE_CONTEXT(storage);
	struct imapc_storage_client *client =
		((struct imapc_storage *)storage)->client;
	const char *code;

	if (ostorage == NULL || ostorage->login_recorded || client == NULL ||
	    client->auth_failed_state == IMAPC_COMMAND_STATE_OK)
		return;
	ostorage->login_recorded = TRUE;
	code = client->auth_failed_state == IMAPC_COMMAND_STATE_DISCONNECTED ?
		MIGRATE_OUTCOME_LOGIN_DISCONNECTED :
		MIGRATE_OUTCOME_LOGIN_REFUSED;
	migrate_outcome_record(MIGRATE_OUTCOME_LOGIN, MIGRATE_OUTCOME_IMAP,
			       code, client->auth_failed_reason);
}

static void migrate_outcome_storage_destroy(struct mail_storage *storage)
{
	struct migrate_outcome_storage *ostorage =
		MIGRATE_OUTCOME_STORAGE_CONTEXT(storage);

	/* a login that failed after the user was set up (imapc logs in
	   when first needed then) */
	migrate_outcome_imapc_login(storage);
	ostorage->module_ctx.super.destroy(storage);
}

/* The old server as this user's settings name it (userdb fields may
   give each user a host of their own), for migrate run's error line. */
static void migrate_outcome_record_server(struct mail_storage *storage)
{
	const char *host;
	in_port_t port;

	switch (migrate_outcome_storage_where(storage)) {
	case MIGRATE_OUTCOME_IMAP: {
		const struct imapc_settings *set =
			((struct imapc_storage *)storage)->set;

		host = set->imapc_host;
		port = set->imapc_port;
		break;
	}
	case MIGRATE_OUTCOME_POP3: {
		const struct pop3c_settings *set =
			((struct pop3c_storage *)storage)->set;

		host = set->pop3c_host;
		port = set->pop3c_port;
		break;
	}
	default:
		return;
	}
	if (*host == '\0') {
		/* Dovecot 2.3's imapc refuses to start without a host; 2.4's
		   only stays unconnected (as for a shared user that doesn't
		   exist) and the run would see a lost connection */
		e_error(storage->event, "missing %s_host: the old server "
			"isn't set", storage->name);
		host = "(no host set)";
	}
	migrate_outcome_record(MIGRATE_OUTCOME_SERVER,
			       migrate_outcome_storage_where(storage),
			       t_strdup_printf("%s:%u", host, port), "");
}

static void migrate_outcome_mail_storage_created(struct mail_storage *storage)
{
	struct mail_storage_vfuncs *v = storage->vlast;
	struct migrate_outcome_storage *ostorage;

	if (doveadm_migrate_outcome_fd() == -1)
		return;
	migrate_outcome_record_server(storage);
	if (strcmp(storage->name, IMAPC_STORAGE_NAME) != 0)
		return;
	ostorage = p_new(storage->pool, struct migrate_outcome_storage, 1);
	ostorage->module_ctx.super = *v;
	storage->vlast = &ostorage->module_ctx.super;
	v->destroy = migrate_outcome_storage_destroy;
	MODULE_CONTEXT_SET(storage, migrate_outcome_storage_module, ostorage);

	/* while the user is set up, imapc has logged in (or failed to)
	   before the storage is created */
	migrate_outcome_imapc_login(storage);
}

/* --- failed storage operations --- */

/* the storage operation that failed */
enum migrate_outcome_box_op {
	MIGRATE_OUTCOME_BOX_OPEN,
	MIGRATE_OUTCOME_BOX_CREATE,
	/* syncing, saving, copying */
	MIGRATE_OUTCOME_BOX_OTHER,
};

static void
migrate_outcome_box_failed(struct mailbox *box, enum migrate_outcome_box_op op)
{
	enum mail_error error;
	const char *text, *code;

	text = mailbox_get_last_internal_error(box, &error);
	/* a mailbox or mail that isn't there (any more) is dsync's to
	   handle, except for a create: a folder that another process (a
	   parallel worker, the user) removed or was creating at the same
	   time, which fails dsync ("Can't create mailbox Sent: Not found",
	   seen with Dovecot 2.4) and is worth another attempt */
	if (error == MAIL_ERROR_EXPUNGED ||
	    (error == MAIL_ERROR_NOTFOUND && op != MIGRATE_OUTCOME_BOX_CREATE))
		return;
	if (op == MIGRATE_OUTCOME_BOX_OPEN &&
	    strcmp(box->storage->name, POP3C_STORAGE_NAME) == 0) {
		/* pop3c logs in when the mailbox is opened: a refusal is
		   MAIL_ERROR_PARAMS in Dovecot 2.3 (PERM in later ones), a
		   lost connection an internal error */
		code = error == MAIL_ERROR_PARAMS || error == MAIL_ERROR_PERM ?
			MIGRATE_OUTCOME_LOGIN_REFUSED :
			error == MAIL_ERROR_INUSE ?
			MIGRATE_OUTCOME_LOGIN_IN_USE :
			MIGRATE_OUTCOME_LOGIN_DISCONNECTED;
		migrate_outcome_record(MIGRATE_OUTCOME_LOGIN,
				       MIGRATE_OUTCOME_POP3, code, text);
		return;
	}
	code = migrate_outcome_mail_error_name(error);
	migrate_outcome_record(MIGRATE_OUTCOME_STORAGE,
			       migrate_outcome_storage_where(box->storage),
			       code, text);
}

static int migrate_outcome_box_open(struct mailbox *box)
{
	struct migrate_outcome_box *obox = MIGRATE_OUTCOME_BOX_CONTEXT(box);

	if (obox->module_ctx.super.open(box) < 0) {
		migrate_outcome_box_failed(box, MIGRATE_OUTCOME_BOX_OPEN);
		return -1;
	}
	return 0;
}

static int
migrate_outcome_box_create(struct mailbox *box,
			   const struct mailbox_update *update, bool directory)
{
	struct migrate_outcome_box *obox = MIGRATE_OUTCOME_BOX_CONTEXT(box);

	if (obox->module_ctx.super.create_box(box, update, directory) < 0) {
		migrate_outcome_box_failed(box, MIGRATE_OUTCOME_BOX_CREATE);
		return -1;
	}
	return 0;
}

static int
migrate_outcome_sync_deinit(struct mailbox_sync_context *ctx,
			    struct mailbox_sync_status *status_r)
{
	struct mailbox *box = ctx->box;
	struct migrate_outcome_box *obox = MIGRATE_OUTCOME_BOX_CONTEXT(box);

	if (obox->module_ctx.super.sync_deinit(ctx, status_r) < 0) {
		migrate_outcome_box_failed(box, MIGRATE_OUTCOME_BOX_OTHER);
		return -1;
	}
	return 0;
}

static int migrate_outcome_save_finish(struct mail_save_context *ctx)
{
	struct mailbox *box = ctx->transaction->box;
	struct migrate_outcome_box *obox = MIGRATE_OUTCOME_BOX_CONTEXT(box);
	/* what was written of the message */
	uoff_t size = ctx->data.output == NULL ? 0 : ctx->data.output->offset;
	/* a copy made by saving (dsync copies the old server's mail into
	   this one): counted by migrate_outcome_copy() */
	bool copying = ctx->copying_via_save;

	if (obox->module_ctx.super.save_finish(ctx) < 0) {
		migrate_outcome_box_failed(box, MIGRATE_OUTCOME_BOX_OTHER);
		return -1;
	}
	if (!copying)
		migrate_outcome_progress_add(box, size);
	return 0;
}

static int
migrate_outcome_copy(struct mail_save_context *ctx, struct mail *mail)
{
	struct mailbox *box = ctx->transaction->box;
	struct migrate_outcome_box *obox = MIGRATE_OUTCOME_BOX_CONTEXT(box);

	uoff_t size;

	if (obox->module_ctx.super.copy(ctx, mail) < 0) {
		migrate_outcome_box_failed(box, MIGRATE_OUTCOME_BOX_OTHER);
		return -1;
	}
	if (mail_get_physical_size(mail, &size) < 0)
		size = 0;
	migrate_outcome_progress_add(box, size);
	return 0;
}

static int
migrate_outcome_transaction_commit(struct mailbox_transaction_context *t,
				   struct mail_transaction_commit_changes *changes_r)
{
	struct mailbox *box = t->box;
	struct migrate_outcome_box *obox = MIGRATE_OUTCOME_BOX_CONTEXT(box);

	if (obox->module_ctx.super.transaction_commit(t, changes_r) < 0) {
		migrate_outcome_box_failed(box, MIGRATE_OUTCOME_BOX_OTHER);
		return -1;
	}
	if (migrate_progress_fd != -1 && migrate_progress.messages > 0)
		migrate_outcome_progress_write();
	return 0;
}

static void migrate_outcome_mailbox_allocated(struct mailbox *box)
{
	struct mailbox_vfuncs *v = box->vlast;
	struct migrate_outcome_box *obox;

	if (doveadm_migrate_outcome_fd() == -1)
		return;
	obox = p_new(box->pool, struct migrate_outcome_box, 1);
	obox->module_ctx.super = *v;
	box->vlast = &obox->module_ctx.super;
	v->open = migrate_outcome_box_open;
	v->sync_deinit = migrate_outcome_sync_deinit;
	if (migrate_outcome_storage_where(box->storage) ==
	    MIGRATE_OUTCOME_HERE) {
		v->create_box = migrate_outcome_box_create;
		v->save_finish = migrate_outcome_save_finish;
		v->copy = migrate_outcome_copy;
		v->transaction_commit = migrate_outcome_transaction_commit;
	}
	MODULE_CONTEXT_SET(box, migrate_outcome_box_module, obox);
}

bool doveadm_migrate_outcome_recording(void)
{
	return doveadm_migrate_outcome_fd() != -1;
}

void doveadm_migrate_outcome_config(const char *code, const char *text)
{
	migrate_outcome_record(MIGRATE_OUTCOME_CONFIG, MIGRATE_OUTCOME_IMAP,
			       code, text);
}

void doveadm_migrate_outcome_recopy(struct mailbox *box)
{
	migrate_outcome_record(MIGRATE_OUTCOME_RECOPY, MIGRATE_OUTCOME_HERE,
			       "", box->vname);
}

static struct mail_storage_hooks migrate_outcome_mail_storage_hooks = {
	.mail_storage_created = migrate_outcome_mail_storage_created,
	.mailbox_allocated = migrate_outcome_mailbox_allocated,
};

void doveadm_migrate_outcome_init(struct module *module)
{
	event_register_callback(migrate_outcome_event_callback);
	mail_storage_hooks_add_forced(module,
				      &migrate_outcome_mail_storage_hooks);
}

void doveadm_migrate_outcome_deinit(void)
{
	event_unregister_callback(migrate_outcome_event_callback);
	i_free(migrate_progress.folder);
	/* the storage hooks: as the guard's (doveadm-migrate-guard.c) */
}
