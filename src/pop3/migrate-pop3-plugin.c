/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "mail-namespace.h"
#include "mail-storage-hooks.h"
#include "index-mail.h"
#include "mail-search.h"
#include "imapc-storage.h"
#include "pop3c-storage.h"
#include "migrate-common.h"
#include "migrate-header-hash.h"
#include "migrate-uidl-format.h"
#include "migrate-uidl-exact.h"
#include "migrate-uidl-map.h"
#include "migrate-pop3-plugin.h"
#include "migrate-user-settings.h"

#define MIGRATE_POP3_MAIL_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, migrate_pop3_mail_module)

#define MIGRATE_POP3_DEFAULT_MAILBOXES "INBOX"
#define MIGRATE_POP3_DEFAULT_CACHE_DIR "~/.dovecot-migrate"
#define MIGRATE_POP3_DEFAULT_SIZE_TOLERANCE_BYTES 1024
#define MIGRATE_POP3_DEFAULT_SIZE_TOLERANCE_PERCENT 2
/* the most migrate_pop3_size_connections may ask for (the default is
   in migrate-common.h) */
#define MIGRATE_POP3_MAX_SIZE_CONNECTIONS 8

const char *migrate_pop3_plugin_version = DOVECOT_ABI_VERSION;

struct migrate_pop3_user_module migrate_pop3_user_module =
	MODULE_CONTEXT_INIT(&mail_user_module_register);
struct migrate_pop3_storage_module migrate_pop3_storage_module =
	MODULE_CONTEXT_INIT(&mail_storage_module_register);
static MODULE_CONTEXT_DEFINE_INIT(migrate_pop3_mail_module,
				  &mail_module_register);

static int
migrate_pop3_setting_bool(struct mail_user *user, const char *name,
			  bool default_value, bool *value_r,
			  const char **error_r)
{
	const char *value = migrate_user_setting(user, name);

	if (value == NULL || *value == '\0') {
		*value_r = default_value;
		return 0;
	}
	if (strcasecmp(value, "yes") == 0)
		*value_r = TRUE;
	else if (strcasecmp(value, "no") == 0)
		*value_r = FALSE;
	else {
		*error_r = t_strdup_printf("%s: invalid value '%s' "
					   "(expected yes or no)", name, value);
		return -1;
	}
	return 0;
}

static int
migrate_pop3_setting_uint(struct mail_user *user, const char *name,
			  unsigned int default_value, unsigned int min,
			  unsigned int max, unsigned int *value_r,
			  const char **error_r)
{
	const char *value = migrate_user_setting(user, name);

	if (value == NULL || *value == '\0') {
		*value_r = default_value;
		return 0;
	}
	if (str_to_uint(value, value_r) < 0 || *value_r < min ||
	    *value_r > max) {
		*error_r = t_strdup_printf("%s: invalid value '%s' "
					   "(expected a number %u..%u)",
					   name, value, min, max);
		return -1;
	}
	return 0;
}

static const char *const *
migrate_pop3_setting_list(struct mail_user *user, const char *name,
			  const char *default_value)
{
	const char *value = migrate_user_setting(user, name);

	if (value == NULL || *value == '\0')
		value = default_value;
	if (value == NULL)
		return NULL;
	return (const char *const *)p_strsplit_spaces(user->pool, value, " ");
}

static int
migrate_pop3_settings_read(struct mail_user *user,
			   struct migrate_pop3_settings *set,
			   const char **error_r)
{
	const char *value, *home, *const *ignore;
	unsigned int percent;
	bool cache;

	value = migrate_user_setting(user, "migrate_pop3_mailbox");
	set->pop3_box_vname = value == NULL || *value == '\0' ? NULL :
		p_strdup(user->pool, value);

	value = migrate_user_setting(user, "migrate_pop3_uidl_format");
	if (value != NULL && *value != '\0') {
		if (migrate_uidl_format_check(value, error_r) < 0) {
			*error_r = t_strconcat("migrate_pop3_uidl_format: ",
					       *error_r, NULL);
			return -1;
		}
		set->uidl_format = p_strdup(user->pool, value);
	}
	if (set->pop3_box_vname == NULL && set->uidl_format == NULL) {
		*error_r = "Neither migrate_pop3_mailbox nor "
			"migrate_pop3_uidl_format is set";
		return -1;
	}
	if (set->pop3_box_vname != NULL &&
	    mail_namespace_find(user->namespaces, set->pop3_box_vname) == NULL) {
		*error_r = t_strdup_printf("migrate_pop3_mailbox=%s: "
			"no namespace has that prefix (add a hidden "
			"namespace with location=pop3c:)",
			set->pop3_box_vname);
		return -1;
	}

	set->mailboxes = migrate_pop3_setting_list(user,
		"migrate_pop3_mailboxes", MIGRATE_POP3_DEFAULT_MAILBOXES);
	set->merged = str_array_length(set->mailboxes) > 1 ||
		str_array_find(set->mailboxes, "*");

	value = migrate_user_setting(user, "migrate_pop3_unmatched");
	if (value == NULL || *value == '\0' || strcmp(value, "fail") == 0)
		set->unmatched = MIGRATE_POP3_UNMATCHED_FAIL;
	else if (strcmp(value, "continue") == 0)
		set->unmatched = MIGRATE_POP3_UNMATCHED_CONTINUE;
	else {
		*error_r = t_strdup_printf("migrate_pop3_unmatched: invalid "
			"value '%s' (expected fail or continue)", value);
		return -1;
	}

	ignore = migrate_pop3_setting_list(user, "migrate_pop3_ignore_headers",
					   NULL);
	set->filter = migrate_header_filter_create(user->pool, ignore);

	if (migrate_pop3_setting_uint(user, "migrate_pop3_size_tolerance_bytes",
			MIGRATE_POP3_DEFAULT_SIZE_TOLERANCE_BYTES, 0, 1024*1024,
			&set->match_set.size_tolerance_bytes, error_r) < 0 ||
	    migrate_pop3_setting_uint(user,
			"migrate_pop3_size_tolerance_percent",
			MIGRATE_POP3_DEFAULT_SIZE_TOLERANCE_PERCENT, 0, 100,
			&percent, error_r) < 0)
		return -1;
	set->match_set.size_tolerance_permille = percent * 10;

	bool skip_size_match;
	if (migrate_pop3_setting_bool(user, "migrate_pop3_skip_size_match",
				      FALSE, &skip_size_match, error_r) < 0 ||
	    migrate_pop3_setting_bool(user, "migrate_pop3_cache", TRUE,
				      &cache, error_r) < 0 ||
	    migrate_pop3_setting_bool(user, "migrate_pop3_fix_dbox_uidl_header",
				      TRUE, &set->fix_dbox_uidl_header,
				      error_r) < 0 ||
	    migrate_pop3_setting_bool(user, "migrate_pop3_uidl_detect", TRUE,
				      &set->uidl_detect, error_r) < 0)
		return -1;
	set->match_set.skip_size_match = skip_size_match;

	if (migrate_pop3_setting_uint(user, "migrate_pop3_size_connections",
			MIGRATE_POP3_DEFAULT_SIZE_CONNECTIONS, 1,
			MIGRATE_POP3_MAX_SIZE_CONNECTIONS,
			&set->size_connections, error_r) < 0)
		return -1;

	set->cache_dir = "";
	if (cache) {
		value = migrate_user_setting(user, "migrate_pop3_cache_dir");
		if (value == NULL || *value == '\0')
			value = MIGRATE_POP3_DEFAULT_CACHE_DIR;
		if (value[0] == '~' && (value[1] == '/' || value[1] == '\0')) {
			if (mail_user_get_home(user, &home) <= 0) {
				*error_r = t_strdup_printf(
					"migrate_pop3_cache_dir=%s: user has "
					"no home directory", value);
				return -1;
			}
			value = t_strconcat(home, value + 1, NULL);
		}
		set->cache_dir = p_strdup(user->pool, value);
	}
	return 0;
}

static void migrate_pop3_mail_user_deinit(struct mail_user *user)
{
	struct migrate_pop3_user *muser = MIGRATE_POP3_USER_CONTEXT(user);

	migrate_pop3_user_finish(user);
	muser->module_ctx.super.deinit(user);
}

static void migrate_pop3_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct migrate_pop3_user *muser;

	if (strcmp(user->service, "doveadm") != 0) {
		/* In a production POP3 or IMAP service the plugin would
		   change the UIDLs clients see, and with the old server gone
		   every session would fail: refuse to act there. */
		e_error(user->event, MIGRATE_POP3_LOG_PREFIX
			"Loaded in service %s - this plugin belongs only in "
			"the migration config's protocol doveadm { mail_plugins }"
			": disabled", user->service);
		return;
	}

	/* The settings are read in mail_namespaces_created(), since
	   checking migrate_pop3_mailbox needs the namespaces. */
	muser = p_new(user->pool, struct migrate_pop3_user, 1);
	muser->module_ctx.super = *v;
	user->vlast = &muser->module_ctx.super;
	v->deinit = migrate_pop3_mail_user_deinit;
	MODULE_CONTEXT_SET(user, migrate_pop3_user_module, muser);
}

static void
migrate_pop3_mail_namespaces_created(struct mail_namespace *namespaces)
{
	struct mail_user *user = namespaces->user;
	struct migrate_pop3_user *muser = MIGRATE_POP3_USER_CONTEXT(user);
	struct migrate_pop3_settings *set;
	const char *error;

	if (muser == NULL || muser->set != NULL || muser->config_error != NULL)
		return;
	set = p_new(user->pool, struct migrate_pop3_settings, 1);
	if (migrate_pop3_settings_read(user, set, &error) < 0) {
		muser->config_error = p_strconcat(user->pool,
			MIGRATE_POP3_LOG_PREFIX"Invalid settings: ", error,
			NULL);
		e_error(user->event, "%s", muser->config_error);
	} else {
		muser->set = set;
	}
}

static bool
migrate_pop3_mailbox_is_wanted(const struct migrate_pop3_settings *set,
			       struct mailbox *box)
{
	const char *const *name;

	for (name = set->mailboxes; *name != NULL; name++) {
		if (strcmp(*name, "*") == 0)
			return TRUE;
		if (strcasecmp(*name, "INBOX") == 0 && box->inbox_user)
			return TRUE;
		if (strcmp(*name, box->vname) == 0)
			return TRUE;
	}
	return FALSE;
}

static int migrate_pop3_uidl_sync_if_needed(struct mailbox *box)
{
	struct migrate_pop3_mailbox *mbox = MIGRATE_POP3_CONTEXT_REQUIRE(box);
	struct migrate_pop3_user *muser =
		MIGRATE_POP3_USER_CONTEXT(box->storage->user);

	if (mbox->synced)
		return 0;
	if (!mbox->sync_failed) {
		if (muser->set == NULL) {
			/* broken settings: fail every source mailbox */
			mail_storage_set_error(box->storage, MAIL_ERROR_TEMP,
					       muser->config_error);
			mbox->sync_failed = TRUE;
		} else if (migrate_pop3_uidl_sync(box) < 0) {
			mbox->sync_failed = TRUE;
		} else {
			mbox->synced = TRUE;
			return 0;
		}
	}
	/* the reason was logged when the sync failed; dsync shows this */
	mail_storage_set_error(box->storage, MAIL_ERROR_TEMP,
			       MIGRATE_POP3_LOG_PREFIX
			       "POP3 UIDLs couldn't be matched (see the log)");
	return -1;
}

static int
migrate_pop3_get_special(struct mail *_mail, enum mail_fetch_field field,
			 const char **value_r)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	union mail_module_context *mmail = MIGRATE_POP3_MAIL_CONTEXT(mail);
	struct migrate_pop3_mailbox *mbox =
		MIGRATE_POP3_CONTEXT_REQUIRE(_mail->box);
	const char *uidl;
	uint32_t order;

	if (field != MAIL_FETCH_UIDL_BACKEND && field != MAIL_FETCH_POP3_ORDER)
		return mmail->super.get_special(_mail, field, value_r);

	if (migrate_pop3_uidl_sync_if_needed(_mail->box) < 0)
		return -1;
	if (mbox->exact != NULL) {
		if (!migrate_uidl_exact_lookup(mbox->exact, _mail->uid,
					       &order))
			*value_r = "";
		else if (field == MAIL_FETCH_POP3_ORDER)
			*value_r = p_strdup(mail->data_pool, dec2str(order));
		else {
			*value_r = p_strdup(mail->data_pool,
				migrate_uidl_exact_uidl(mbox->exact, _mail->uid));
		}
		return 0;
	}
	if (!migrate_uidl_map_lookup(mbox->map, _mail->uid, &uidl, &order)) {
		/* unmatched (reported already): the destination gives it
		   a UIDL of its own */
		*value_r = "";
		return 0;
	}
	if (field == MAIL_FETCH_UIDL_BACKEND)
		*value_r = uidl;
	else if (order == 0) {
		/* no POP3 list (migrate_pop3_uidl_format alone) */
		*value_r = "";
	} else {
		*value_r = p_strdup(mail->data_pool, dec2str(order));
	}
	return 0;
}

static void migrate_pop3_mail_allocated(struct mail *_mail)
{
	struct migrate_pop3_mailbox *mbox =
		MIGRATE_POP3_CONTEXT(_mail->box);
	struct mail_private *mail = (struct mail_private *)_mail;
	struct mail_vfuncs *v = mail->vlast;
	union mail_module_context *mmail;

	if (mbox == NULL || !mbox->source)
		return;

	mmail = p_new(mail->pool, union mail_module_context, 1);
	mmail->super = *v;
	mail->vlast = &mmail->super;
	v->get_special = migrate_pop3_get_special;
	MODULE_CONTEXT_SET_SELF(mail, migrate_pop3_mail_module, mmail);
}

/* Returns TRUE if the search can't return a message: one of its
   (AND-ed) top-level parts is an empty message set, or NOT ALL, which
   mailbox_search_init() has made of an empty set by the time it reaches
   a storage. dsync's body search is that on a pass with nothing new to
   copy. */
static bool migrate_pop3_search_is_empty(const struct mail_search_args *args)
{
	const struct mail_search_arg *arg;

	for (arg = args->args; arg != NULL; arg = arg->next) {
		if (arg->type == SEARCH_ALL && arg->match_not)
			return TRUE;
		if (!arg->match_not &&
		    (arg->type == SEARCH_SEQSET ||
		     arg->type == SEARCH_UIDSET) &&
		    array_count(&arg->value.seqset) == 0)
			return TRUE;
	}
	return FALSE;
}

/* Match when dsync's search asks for the UIDLs, before it fetches the
   bodies: the POP3 connection is then used while it is fresh, and all
   header reads happen in one pass. Not when the search selects no
   message (a pass with nothing new to copy): no UIDL is asked, and the
   POP3 list, every IMAP size and the cache would be read for nothing.
   Several mailboxes sharing one POP3 list (merged) are all matched, as
   the end of the session reports the POP3 messages none of them
   claimed, and broken settings fail every pass. */
static bool
migrate_pop3_search_wants_match(struct mailbox *box,
				const struct mail_search_args *args,
				enum mail_fetch_field wanted_fields)
{
	struct migrate_pop3_mailbox *mbox = MIGRATE_POP3_CONTEXT_REQUIRE(box);
	struct migrate_pop3_user *muser =
		MIGRATE_POP3_USER_CONTEXT(box->storage->user);

	if ((wanted_fields & (MAIL_FETCH_UIDL_BACKEND |
			      MAIL_FETCH_POP3_ORDER)) == 0)
		return FALSE;
	if (mbox->synced || muser->set == NULL || muser->set->merged)
		return TRUE;
	if (migrate_pop3_search_is_empty(args)) {
		e_debug(box->event, MIGRATE_POP3_LOG_PREFIX
			"no message to copy: not matched in this pass");
		return FALSE;
	}
	return TRUE;
}

/* The UIDs a search can return at most, from the first of its (AND-ed)
   top-level message sets: dsync's body search is one set, the messages it
   copies. Returns FALSE if the search has no such set. */
static bool
migrate_pop3_search_get_uids(struct mailbox *box,
			     const struct mail_search_args *args,
			     ARRAY_TYPE(seq_range) *uids)
{
	const struct mail_search_arg *arg;

	for (arg = args->args; arg != NULL; arg = arg->next) {
		if (arg->match_not)
			continue;
		if (arg->type == SEARCH_SEQSET) {
			mailbox_get_uid_range(box, &arg->value.seqset, uids);
			return TRUE;
		}
		if (arg->type == SEARCH_UIDSET) {
			array_append_array(uids, &arg->value.seqset);
			return TRUE;
		}
	}
	return FALSE;
}

/* Match for the messages the search selects: a later pass reads the IMAP
   sizes of those and of what the cache doesn't pair only. A failure is
   returned again by get_special(). */
static void
migrate_pop3_search_match(struct mailbox *box,
			  const struct mail_search_args *args)
{
	struct migrate_pop3_mailbox *mbox = MIGRATE_POP3_CONTEXT_REQUIRE(box);

	T_BEGIN {
		ARRAY_TYPE(seq_range) uids;

		t_array_init(&uids, 16);
		if (migrate_pop3_search_get_uids(box, args, &uids))
			mbox->wanted_uids = &uids;
		(void)migrate_pop3_uidl_sync_if_needed(box);
		mbox->wanted_uids = NULL;
	} T_END;
}

static struct mail_search_context *
migrate_pop3_mailbox_search_init(struct mailbox_transaction_context *t,
				 struct mail_search_args *args,
				 const enum mail_sort_type *sort_program,
				 enum mail_fetch_field wanted_fields,
				 struct mailbox_header_lookup_ctx *wanted_headers)
{
	struct migrate_pop3_mailbox *mbox =
		MIGRATE_POP3_CONTEXT_REQUIRE(t->box);

	if (migrate_pop3_search_wants_match(t->box, args, wanted_fields))
		migrate_pop3_search_match(t->box, args);
	return mbox->module_ctx.super.search_init(t, args, sort_program,
						  wanted_fields,
						  wanted_headers);
}

static int
migrate_pop3_mailbox_sync_deinit(struct mailbox_sync_context *ctx,
				 struct mailbox_sync_status *status_r)
{
	struct mailbox *box = ctx->box;
	struct migrate_pop3_mailbox *mbox = MIGRATE_POP3_CONTEXT_REQUIRE(box);

	if (mbox->module_ctx.super.sync_deinit(ctx, status_r) < 0)
		return -1;
	/* dsync has the mailbox's messages now and asks for UIDLs only
	   when it copies them: read the POP3 list meanwhile. Not before:
	   a POP3 login may move new mail (maildir new/ to cur/), and a
	   server listing the mailbox for IMAP at that moment (Courier)
	   misses the messages being moved. */
	migrate_pop3_prelist_start(box->storage->user);
	return 0;
}

static void migrate_pop3_mailbox_close(struct mailbox *box)
{
	struct migrate_pop3_mailbox *mbox = MIGRATE_POP3_CONTEXT_REQUIRE(box);

	/* a re-opened mailbox may have new mail: match again */
	migrate_pop3_mailbox_reset(box, mbox);
	mbox->synced = FALSE;
	mbox->sync_failed = FALSE;
	mbox->module_ctx.super.close(box);
}

static void migrate_pop3_mailbox_free(struct mailbox *box)
{
	struct migrate_pop3_mailbox *mbox = MIGRATE_POP3_CONTEXT_REQUIRE(box);

	migrate_pop3_mailbox_reset(box, mbox);
	mbox->module_ctx.super.free(box);
}

static void migrate_pop3_mailbox_allocated(struct mailbox *box)
{
	struct migrate_pop3_user *muser =
		MIGRATE_POP3_USER_CONTEXT(box->storage->user);
	struct mailbox_vfuncs *v = box->vlast;
	struct migrate_pop3_mailbox *mbox;
	const char *driver = box->storage->name;
	bool source;

	if (muser == NULL)
		return;
	if (strcmp(driver, POP3C_STORAGE_NAME) == 0)
		return;
	source = strcmp(driver, IMAPC_STORAGE_NAME) == 0;
	if (source) {
		if (muser->set != NULL &&
		    !migrate_pop3_mailbox_is_wanted(muser->set, box))
			return;
	} else if (muser->set == NULL || !muser->set->fix_dbox_uidl_header) {
		e_debug(box->event, MIGRATE_POP3_LOG_PREFIX
			"not tracking saved UIDLs (%s)", muser->set == NULL ?
			"no settings" : "disabled");
		return;
	}

	mbox = p_new(box->pool, struct migrate_pop3_mailbox, 1);
	mbox->module_ctx.super = *v;
	box->vlast = &mbox->module_ctx.super;
	mbox->source = source;
	MODULE_CONTEXT_SET(box, migrate_pop3_storage_module, mbox);

	if (source) {
		v->sync_deinit = migrate_pop3_mailbox_sync_deinit;
		v->search_init = migrate_pop3_mailbox_search_init;
		v->close = migrate_pop3_mailbox_close;
		v->free = migrate_pop3_mailbox_free;
	} else {
		migrate_pop3_dest_mailbox_allocated(v);
	}
}

static struct mail_storage_hooks migrate_pop3_mail_storage_hooks = {
	.mail_user_created = migrate_pop3_mail_user_created,
	.mail_namespaces_created = migrate_pop3_mail_namespaces_created,
	.mailbox_allocated = migrate_pop3_mailbox_allocated,
	.mail_allocated = migrate_pop3_mail_allocated,
};

void migrate_pop3_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &migrate_pop3_mail_storage_hooks);
}

void migrate_pop3_plugin_deinit(void)
{
	mail_storage_hooks_remove(&migrate_pop3_mail_storage_hooks);
}
