#ifndef MIGRATE_SUBSCRIPTIONS_H
#define MIGRATE_SUBSCRIPTIONS_H

#include "hash.h"
#include "mail-namespace.h"
#include "mailbox-list-iter.h"

/* A folder a pass makes here for an old one is subscribed when the old
   one is, as dsync's passes do: a mail client that shows subscribed
   folders only would hide its mail otherwise. Which old folders are
   subscribed can't be read off a listing of all of them: imapc's
   iteration gives LIST's flags only, never \Subscribed. Its LSUB can.
   A SPECIAL-USE folder is listed under the name the config gives that
   SPECIAL-USE (mailbox Sent { special_use = \Sent }), not the one LSUB
   gives: those folders are subscribed whatever LSUB says, as mail
   clients show them anyway. */

HASH_TABLE_DEFINE_TYPE(migrate_vname_set, const char *, void *);

/* Adds the vname of every subscribed folder of the namespace to the set
   (created by the caller, the names allocated from pool). Returns -1 with
   the list's error if the subscriptions can't be read (the callers warn
   and go on: no mail depends on them). */
static inline int
migrate_subscriptions_read(struct mail_namespace *ns, pool_t pool,
			   HASH_TABLE_TYPE(migrate_vname_set) set)
{
	struct mailbox_list_iterate_context *iter;
	const struct mailbox_info *info;
	const char *vname;

	iter = mailbox_list_iter_init(ns->list, "*",
				      MAILBOX_LIST_ITER_SELECT_SUBSCRIBED);
	while ((info = mailbox_list_iter_next(iter)) != NULL) {
		vname = p_strdup(pool, info->vname);
		hash_table_update(set, vname, POINTER_CAST(1));
	}
	return mailbox_list_iter_deinit(&iter);
}

static inline bool
migrate_subscriptions_have(HASH_TABLE_TYPE(migrate_vname_set) set,
			   const char *vname)
{
	return hash_table_lookup(set, vname) != NULL;
}

#endif
