/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "str.h"
#include "migrate-msgid-diff.h"

HASH_TABLE_DEFINE_TYPE(migrate_msgid_count, const char *, void *);

const char *migrate_msgid_normalize(const char *value)
{
	const char *start, *end;
	string_t *str;

	start = strchr(value, '<');
	if (start != NULL && (end = strchr(start, '>')) != NULL)
		end++;
	else {
		start = value;
		end = value + strlen(value);
	}
	str = t_str_new(end - start);
	for (; start < end; start++) {
		if (*start != ' ' && *start != '\t' &&
		    *start != '\r' && *start != '\n')
			str_append_c(str, *start);
	}
	return str_len(str) == 0 ? NULL : str_c(str);
}

static void
migrate_msgid_count_add(HASH_TABLE_TYPE(migrate_msgid_count) table,
			const char *msgid)
{
	void *value = hash_table_lookup(table, msgid);

	hash_table_update(table, msgid,
		POINTER_CAST(POINTER_CAST_TO(value, unsigned int) + 1));
}

/* Take one msgid out of the multiset. Returns FALSE if none was left. */
static bool
migrate_msgid_count_take(HASH_TABLE_TYPE(migrate_msgid_count) table,
			 const char *msgid)
{
	const char *key;
	void *value;
	unsigned int count;

	if (!hash_table_lookup_full(table, msgid, &key, &value))
		return FALSE;
	count = POINTER_CAST_TO(value, unsigned int);
	if (count == 0)
		return FALSE;
	hash_table_update(table, key, POINTER_CAST(count - 1));
	return TRUE;
}

/* Messages with the same UID and Message-ID on both sides are paired
   first: a mirroring pass keeps the old server's UIDs, so among copies of
   a Message-ID this names the one that really is missing. */
static void
migrate_msgid_pair_uids(const ARRAY_TYPE(migrate_msgid_msg) *old_msgs,
			const ARRAY_TYPE(migrate_msgid_msg) *new_msgs,
			bool *old_paired, bool *new_paired)
{
	HASH_TABLE(void *, void *) new_uids;
	const struct migrate_msgid_msg *old_msg, *new_msg;
	unsigned int i, idx;

	hash_table_create_direct(&new_uids, default_pool,
				 array_count(new_msgs));
	array_foreach(new_msgs, new_msg) {
		/* index + 1: NULL is "not found" */
		hash_table_update(new_uids, POINTER_CAST(new_msg->uid),
			POINTER_CAST(array_foreach_idx(new_msgs, new_msg) + 1));
	}
	array_foreach(old_msgs, old_msg) {
		if (old_msg->msgid == NULL)
			continue;
		idx = POINTER_CAST_TO(hash_table_lookup(new_uids,
				POINTER_CAST(old_msg->uid)), unsigned int);
		if (idx == 0)
			continue;
		new_msg = array_idx(new_msgs, idx - 1);
		/* (UIDs repeat in a list made of several folders) */
		if (!new_paired[idx - 1] && new_msg->msgid != NULL &&
		    strcmp(new_msg->msgid, old_msg->msgid) == 0) {
			i = array_foreach_idx(old_msgs, old_msg);
			old_paired[i] = TRUE;
			new_paired[idx - 1] = TRUE;
		}
	}
	hash_table_destroy(&new_uids);
}

/* The messages of list whose Message-ID other lacks (as many of each as
   list has more) go to unmatched; those paired already are left out on
   both sides. Returns the count of list's messages without a Message-ID;
   adds up list's sizes. */
static unsigned int
migrate_msgid_unmatched(const ARRAY_TYPE(migrate_msgid_msg) *list,
			const bool *list_paired,
			const ARRAY_TYPE(migrate_msgid_msg) *other,
			const bool *other_paired, uint64_t *size_r,
			ARRAY_TYPE(migrate_msgid_msg_p) *unmatched)
{
	HASH_TABLE_TYPE(migrate_msgid_count) counts;
	const struct migrate_msgid_msg *msg;
	unsigned int i, no_msgid = 0;

	hash_table_create(&counts, default_pool, array_count(other),
			  str_hash, strcmp);
	array_foreach(other, msg) {
		i = array_foreach_idx(other, msg);
		if (msg->msgid != NULL && !other_paired[i])
			migrate_msgid_count_add(counts, msg->msgid);
	}
	*size_r = 0;
	array_foreach(list, msg) {
		i = array_foreach_idx(list, msg);
		*size_r += msg->size;
		if (msg->msgid == NULL)
			no_msgid++;
		else if (!list_paired[i] &&
			 !migrate_msgid_count_take(counts, msg->msgid))
			array_push_back(unmatched, &msg);
	}
	hash_table_destroy(&counts);
	return no_msgid;
}

void migrate_msgid_diff(pool_t pool,
			const ARRAY_TYPE(migrate_msgid_msg) *old_msgs,
			const ARRAY_TYPE(migrate_msgid_msg) *new_msgs,
			struct migrate_msgid_diff_result *result_r)
{
	bool *old_paired, *new_paired;

	i_zero(result_r);
	p_array_init(&result_r->missing_msgs, pool, 8);
	p_array_init(&result_r->extra_msgs, pool, 8);
	result_r->old_count = array_count(old_msgs);
	result_r->new_count = array_count(new_msgs);
	old_paired = i_new(bool, result_r->old_count + 1);
	new_paired = i_new(bool, result_r->new_count + 1);
	migrate_msgid_pair_uids(old_msgs, new_msgs, old_paired, new_paired);
	result_r->old_no_msgid =
		migrate_msgid_unmatched(old_msgs, old_paired, new_msgs,
					new_paired, &result_r->old_size,
					&result_r->missing_msgs);
	result_r->new_no_msgid =
		migrate_msgid_unmatched(new_msgs, new_paired, old_msgs,
					old_paired, &result_r->new_size,
					&result_r->extra_msgs);
	i_free(old_paired);
	i_free(new_paired);
	result_r->missing = array_count(&result_r->missing_msgs);
	result_r->extra = array_count(&result_r->extra_msgs);
	if (result_r->old_no_msgid > result_r->new_no_msgid)
		result_r->missing += result_r->old_no_msgid -
			result_r->new_no_msgid;
	else
		result_r->extra += result_r->new_no_msgid -
			result_r->old_no_msgid;
}
