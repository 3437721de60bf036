/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "str.h"
#include "module-context.h"
#include "mail-user.h"
#include "mail-namespace.h"
#include "mail-storage-private.h"
#include "mail-storage-hooks.h"
#include "mailbox-list-private.h"
#include "mailbox-list-iter.h"
#include "imapc-list.h"
#include "migrate-file.h"
#include "migrate-folder-map.h"
#include "migrate-user-settings.h"
#include "doveadm-migrate.h"

/* The old server's folders under this server's names (migrate-folder-map.h)
   for everything of a migration that reads the old server: dsync's mirror
   passes, migrate copy-new, migrate gmail, check and verify. The imapc
   mailbox list is wrapped so that its names are the new ones both ways:
   a listing shows "Sent" for the old "Sent Items", and opening "Sent"
   opens "Sent Items" there. dsync and the other commands never see the
   old names, so the mapping holds on every pass that computes it from
   the same folders and settings.

   The mapping needs the whole folder list (SPECIAL-USE flags, the INBOX
   prefix of Courier, conflicts), so the first listing or mailbox of the
   list lists the old server's folders under their own names first; imapc
   builds its folder tree from scratch on the next listing, by then with
   the new names.

   Only in migrations: in a doveadm migrate command, or in a child that
   migrate run started (plugin/migrate_outcome_fd set); a production
   doveadm with imapc users is left alone. */

#define MIGRATE_FOLDER_MAP_LIST_CONTEXT(obj) \
	MODULE_CONTEXT(obj, migrate_folder_map_list_module)

struct migrate_folder_map_list {
	union mailbox_list_module_context module_ctx;
	pool_t pool;

	/* old vname -> new vname, and back (only the renamed ones) */
	HASH_TABLE(char *, char *) old_to_new;
	HASH_TABLE(char *, char *) new_to_old;
	ARRAY_TYPE(migrate_folder_map_entry) entries;
	/* why the folders can't be mapped (a conflict, a bad map file) */
	const char *error;

	bool built:1;
	bool building:1;
	bool error_recorded:1;
};

static MODULE_CONTEXT_DEFINE_INIT(migrate_folder_map_list_module,
				  &mailbox_list_module_register);

static bool migrate_folder_map_in_command = FALSE;

void doveadm_migrate_folder_map_enable(void)
{
	migrate_folder_map_in_command = TRUE;
}

/* a yes/no setting whose default is yes */
static bool
migrate_folder_map_setting_yes(struct mail_user *user, const char *name)
{
	const char *value = migrate_user_setting(user, name);

	return value == NULL || *value == '\0' ||
		strchr("nN0fF", value[0]) == NULL;
}

static int
migrate_folder_map_settings(struct mailbox_list *list, pool_t pool,
			    struct migrate_folder_map_settings *set_r,
			    const char **error_r)
{
	struct mail_user *user = list->ns->user;
	ARRAY_TYPE(migrate_folder_map_rule) *rules;
	const char *path, *prefix, *error;
	string_t *data;
	int ret;

	i_zero(set_r);
	/* vnames have the namespace's separator, not the old server's */
	set_r->sep = mail_namespace_get_sep(list->ns);
	set_r->builtin = migrate_folder_map_setting_yes(user,
		"migrate_folder_map_builtin");
	prefix = migrate_user_setting(user, "migrate_folder_map_strip_prefix");
	if (prefix == NULL || *prefix == '\0' || strcmp(prefix, "auto") == 0)
		set_r->strip_prefix = NULL;
	else if (strcmp(prefix, "none") == 0)
		set_r->strip_prefix = "";
	else {
		/* "INBOX." and "INBOX/" mean INBOX */
		set_r->strip_prefix = t_strcut(prefix, set_r->sep);
		if (strchr("./", prefix[strlen(prefix) - 1]) != NULL)
			set_r->strip_prefix = t_strndup(prefix, strlen(prefix) - 1);
	}
	set_r->dest_folders = migrate_namespace_special_use_folders(list->ns,
		&set_r->dest_folder_count);

	path = migrate_user_setting(user, "migrate_folder_map_file");
	if (path == NULL || *path == '\0')
		return 0;
	if ((ret = migrate_file_read(path, &data, &error)) < 0) {
		*error_r = t_strdup_printf("migrate_folder_map_file: %s",
					   error);
		return -1;
	}
	if (ret == 0) {
		*error_r = t_strdup_printf("migrate_folder_map_file: %s "
					   "doesn't exist", path);
		return -1;
	}
	rules = p_new(pool, ARRAY_TYPE(migrate_folder_map_rule), 1);
	p_array_init(rules, pool, 16);
	if (migrate_folder_map_parse(str_c(data), path, pool, rules,
				     &error) < 0) {
		*error_r = t_strdup_printf("migrate_folder_map_file: %s",
					   error);
		return -1;
	}
	set_r->rules = rules;
	return 0;
}

/* The old server's folders under their own names. Returns 0, or -1 with
   the failed listing in failed_iter_r (not deinitialized). */
static int
migrate_folder_map_list_old(struct mailbox_list *list,
			    ARRAY_TYPE(migrate_folder_map_folder) *folders,
			    struct mailbox_list_iterate_context **failed_iter_r)
{
	struct mailbox_list_iterate_context *iter;
	const struct mailbox_info *info;
	struct migrate_folder_map_folder *folder;

	iter = mailbox_list_iter_init(list, "*",
				      MAILBOX_LIST_ITER_NO_AUTO_BOXES |
				      MAILBOX_LIST_ITER_RETURN_SPECIALUSE);
	while ((info = mailbox_list_iter_next(iter)) != NULL) {
		folder = array_append_space(folders);
		folder->name = t_strdup(info->vname);
		folder->special_use = t_strdup(info->special_use);
		folder->noselect = (info->flags & (MAILBOX_NOSELECT |
						   MAILBOX_NONEXISTENT)) != 0;
	}
	if (iter->failed) {
		*failed_iter_r = iter;
		return -1;
	}
	return mailbox_list_iter_deinit(&iter);
}

/* Map the old server's folders. When their listing fails, the failed
   listing goes to failed_iter_r for the caller (iter_init) to return, so
   that a server that can't be reached is tried once, or it is
   deinitialized (failed_iter_r NULL), and the next call tries again: a
   connection that failed once may work the next time (imapc reconnects),
   and copying under the old names is never an option. */
static void
migrate_folder_map_build(struct mailbox_list *list,
			 struct migrate_folder_map_list *mlist,
			 struct mailbox_list_iterate_context **failed_iter_r)
{
	ARRAY_TYPE(migrate_folder_map_folder) folders;
	struct migrate_folder_map_settings set;
	const struct migrate_folder_map_entry *entry;
	struct mailbox_list_iterate_context *iter = NULL;
	const char *error;
	int ret;

	i_assert(!mlist->building);
	if (migrate_folder_map_settings(list, mlist->pool, &set, &error) < 0) {
		/* a bad map file: nothing is copied until it is fixed */
		mlist->built = TRUE;
		mlist->error = p_strdup(mlist->pool, error);
		return;
	}
	mlist->building = TRUE;
	t_array_init(&folders, 32);
	ret = migrate_folder_map_list_old(list, &folders, &iter);
	mlist->building = FALSE;
	if (ret < 0) {
		if (iter == NULL) {
			/* the listing's deinit failed: try again */
		} else if (failed_iter_r != NULL)
			*failed_iter_r = iter;
		else
			(void)mailbox_list_iter_deinit(&iter);
		return;
	}
	mlist->built = TRUE;
	if (migrate_folder_map_resolve(&set, array_front(&folders),
				       array_count(&folders), mlist->pool,
				       &mlist->entries, &error) < 0) {
		mlist->error = p_strdup(mlist->pool, error);
		return;
	}
	array_foreach(&mlist->entries, entry) {
		if (strcmp(entry->old_name, entry->new_name) == 0)
			continue;
		hash_table_update(mlist->old_to_new,
				  p_strdup(mlist->pool, entry->old_name),
				  p_strdup(mlist->pool, entry->new_name));
		hash_table_update(mlist->new_to_old,
				  p_strdup(mlist->pool, entry->new_name),
				  p_strdup(mlist->pool, entry->old_name));
	}
	/* imapc's tree has the old names now: the next listing builds it
	   again (it lists again once no listing is going), with the new;
	   a mailbox opened before any listing needs it now */
	if (failed_iter_r != NULL)
		return;
	iter = mailbox_list_iter_init(list, "*",
				      MAILBOX_LIST_ITER_NO_AUTO_BOXES |
				      MAILBOX_LIST_ITER_RETURN_NO_FLAGS);
	while (mailbox_list_iter_next(iter) != NULL) ;
	(void)mailbox_list_iter_deinit(&iter);
}

static void
migrate_folder_map_ensure(struct mailbox_list *list,
			  struct migrate_folder_map_list *mlist,
			  struct mailbox_list_iterate_context **failed_iter_r)
{
	if (!mlist->built && !mlist->building) T_BEGIN {
		migrate_folder_map_build(list, mlist, failed_iter_r);
	} T_END;
}

static const char *
migrate_folder_map_get_vname(struct mailbox_list *list,
			     const char *storage_name)
{
	struct migrate_folder_map_list *mlist =
		MIGRATE_FOLDER_MAP_LIST_CONTEXT(list);
	const char *vname, *new_name;

	vname = mlist->module_ctx.super.get_vname(list, storage_name);
	if (!mlist->built || mlist->building)
		return vname;
	new_name = hash_table_lookup(mlist->old_to_new, vname);
	return new_name != NULL ? new_name : vname;
}

static const char *
migrate_folder_map_get_storage_name(struct mailbox_list *list,
				    const char *vname)
{
	struct migrate_folder_map_list *mlist =
		MIGRATE_FOLDER_MAP_LIST_CONTEXT(list);
	const char *old_name;

	migrate_folder_map_ensure(list, mlist, NULL);
	if (mlist->built && !mlist->building &&
	    (old_name = hash_table_lookup(mlist->new_to_old, vname)) != NULL)
		vname = old_name;
	return mlist->module_ctx.super.get_storage_name(list, vname);
}

static struct mailbox_list_iterate_context *
migrate_folder_map_iter_init(struct mailbox_list *list,
			     const char *const *patterns,
			     enum mailbox_list_iter_flags flags)
{
	struct migrate_folder_map_list *mlist =
		MIGRATE_FOLDER_MAP_LIST_CONTEXT(list);
	struct mailbox_list_iterate_context *iter = NULL;

	if ((flags & MAILBOX_LIST_ITER_SELECT_SUBSCRIBED) == 0) {
		migrate_folder_map_ensure(list, mlist, &iter);
		if (iter != NULL) {
			/* the old server can't be listed: this is the
			   caller's failed listing */
			return iter;
		}
	}
	iter = mlist->module_ctx.super.iter_init(list, patterns, flags);
	if (mlist->error != NULL && !mlist->building) {
		/* nothing is copied from folders that can't be named */
		mailbox_list_set_error(list, MAIL_ERROR_PARAMS, mlist->error);
		iter->failed = TRUE;
		if (!mlist->error_recorded) {
			mlist->error_recorded = TRUE;
			doveadm_migrate_outcome_config("folder-map",
						       mlist->error);
		}
	}
	return iter;
}

static int
migrate_folder_map_iter_deinit(struct mailbox_list_iterate_context *iter)
{
	struct mailbox_list *list = iter->list;
	struct migrate_folder_map_list *mlist =
		MIGRATE_FOLDER_MAP_LIST_CONTEXT(list);
	bool failed = iter->failed && mlist->error != NULL &&
		!mlist->building;
	int ret;

	ret = mlist->module_ctx.super.iter_deinit(iter);
	if (failed) {
		/* imapc's deinit may have replaced the error */
		mailbox_list_set_error(list, MAIL_ERROR_PARAMS, mlist->error);
		ret = -1;
	}
	return ret;
}

static void migrate_folder_map_list_deinit(struct mailbox_list *list)
{
	struct migrate_folder_map_list *mlist =
		MIGRATE_FOLDER_MAP_LIST_CONTEXT(list);

	pool_t pool = mlist->pool;

	hash_table_destroy(&mlist->old_to_new);
	hash_table_destroy(&mlist->new_to_old);
	mlist->module_ctx.super.deinit(list);
	pool_unref(&pool);
}

const struct migrate_folder_map_entry *
doveadm_migrate_folder_map_find(struct mailbox_list *list,
				const char *new_vname)
{
	struct migrate_folder_map_list *mlist =
		MIGRATE_FOLDER_MAP_LIST_CONTEXT(list);
	const struct migrate_folder_map_entry *entry;

	if (mlist == NULL || !mlist->built || mlist->error != NULL)
		return NULL;
	array_foreach(&mlist->entries, entry) {
		if (strcmp(entry->new_name, new_vname) == 0)
			return entry;
	}
	return NULL;
}

static void migrate_folder_map_list_created(struct mailbox_list *list)
{
	struct mailbox_list_vfuncs *v = list->vlast;
	struct migrate_folder_map_list *mlist;
	struct mail_user *user = list->ns->user;
	pool_t pool;

	if (strcmp(list->name, MAILBOX_LIST_NAME_IMAPC) != 0)
		return;
	if (!migrate_folder_map_in_command &&
	    !doveadm_migrate_outcome_recording())
		return;
	if (!migrate_folder_map_setting_yes(user, "migrate_folder_map"))
		return;

	pool = pool_alloconly_create("migrate folder map", 1024);
	mlist = p_new(pool, struct migrate_folder_map_list, 1);
	mlist->pool = pool;
	hash_table_create(&mlist->old_to_new, pool, 0, str_hash, strcmp);
	hash_table_create(&mlist->new_to_old, pool, 0, str_hash, strcmp);
	p_array_init(&mlist->entries, pool, 32);
	mlist->module_ctx.super = *v;
	list->vlast = &mlist->module_ctx.super;
	v->get_vname = migrate_folder_map_get_vname;
	v->get_storage_name = migrate_folder_map_get_storage_name;
	v->iter_init = migrate_folder_map_iter_init;
	v->iter_deinit = migrate_folder_map_iter_deinit;
	v->deinit = migrate_folder_map_list_deinit;
	MODULE_CONTEXT_SET(list, migrate_folder_map_list_module, mlist);
}

static struct mail_storage_hooks migrate_folder_map_mail_storage_hooks = {
	.mailbox_list_created = migrate_folder_map_list_created,
};

void doveadm_migrate_folder_map_init(struct module *module)
{
	mail_storage_hooks_add_forced(module,
				      &migrate_folder_map_mail_storage_hooks);
}
