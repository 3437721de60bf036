/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "migrate-uidl-diff.h"

/* Longest increasing subsequence of new-list positions taken in old-list
   order: the UIDLs that kept their relative order. O(n log n). Marks
   in_lis[i] for the old-list indexes in it. */
static void
migrate_uidl_diff_lis(const unsigned int *positions, unsigned int count,
		      bool *in_lis)
{
	unsigned int *tails, *prev, *tail_idx;
	unsigned int i, len = 0, lo, hi, mid, k;

	if (count == 0)
		return;
	tails = i_new(unsigned int, count);
	tail_idx = i_new(unsigned int, count);
	prev = i_new(unsigned int, count);
	for (i = 0; i < count; i++) {
		lo = 0; hi = len;
		while (lo < hi) {
			mid = (lo + hi) / 2;
			if (tails[mid] < positions[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		tails[lo] = positions[i];
		tail_idx[lo] = i;
		prev[i] = lo > 0 ? tail_idx[lo - 1] : UINT_MAX;
		if (lo == len)
			len++;
	}
	for (k = tail_idx[len - 1]; k != UINT_MAX; k = prev[k])
		in_lis[k] = TRUE;
	i_free(tails);
	i_free(tail_idx);
	i_free(prev);
}

static void
migrate_uidl_diff_add(struct migrate_uidl_diff_result *result,
		      enum migrate_uidl_diff_type type, const char *uidl,
		      unsigned int old_seq, unsigned int new_seq)
{
	struct migrate_uidl_diff_entry *entry;

	entry = array_append_space(&result->differences);
	entry->type = type;
	entry->uidl = uidl;
	entry->old_seq = old_seq;
	entry->new_seq = new_seq;
	switch (type) {
	case MIGRATE_UIDL_DIFF_IDENTICAL:
		i_unreached();
	case MIGRATE_UIDL_DIFF_REORDERED:
		result->reordered++;
		break;
	case MIGRATE_UIDL_DIFF_MISSING:
		result->missing++;
		break;
	case MIGRATE_UIDL_DIFF_EXTRA:
		result->extra++;
		break;
	case MIGRATE_UIDL_DIFF_DUPLICATE:
		result->duplicate++;
		break;
	}
}

void migrate_uidl_diff(pool_t pool, const char *const *old_uidls,
		       const char *const *new_uidls,
		       struct migrate_uidl_diff_result *result_r)
{
	HASH_TABLE(const char *, void *) new_pos, old_seen;
	unsigned int old_count, new_count, i, common = 0;
	unsigned int *positions, *common_old_idx;
	bool *in_lis, *new_used, *old_dup;
	void *value;

	i_zero(result_r);
	p_array_init(&result_r->differences, pool, 16);
	old_count = str_array_length(old_uidls);
	new_count = str_array_length(new_uidls);
	result_r->old_count = old_count;
	result_r->new_count = new_count;

	hash_table_create(&new_pos, default_pool, new_count, str_hash, strcmp);
	hash_table_create(&old_seen, default_pool, old_count, str_hash, strcmp);
	new_used = i_new(bool, new_count + 1);
	for (i = 0; i < new_count; i++) {
		if (hash_table_lookup(new_pos, new_uidls[i]) != NULL) {
			migrate_uidl_diff_add(result_r,
				MIGRATE_UIDL_DIFF_DUPLICATE,
				p_strdup(pool, new_uidls[i]), 0, i + 1);
			new_used[i] = TRUE;
			continue;
		}
		hash_table_insert(new_pos, new_uidls[i], POINTER_CAST(i + 1));
	}

	old_dup = i_new(bool, old_count + 1);
	positions = i_new(unsigned int, old_count + 1);
	common_old_idx = i_new(unsigned int, old_count + 1);
	for (i = 0; i < old_count; i++) {
		if (hash_table_lookup(old_seen, old_uidls[i]) != NULL) {
			migrate_uidl_diff_add(result_r,
				MIGRATE_UIDL_DIFF_DUPLICATE,
				p_strdup(pool, old_uidls[i]), i + 1, 0);
			old_dup[i] = TRUE;
			continue;
		}
		hash_table_insert(old_seen, old_uidls[i], POINTER_CAST(1));
		value = hash_table_lookup(new_pos, old_uidls[i]);
		if (value == NULL)
			continue;
		positions[common] = POINTER_CAST_TO(value, unsigned int);
		common_old_idx[common++] = i;
		new_used[POINTER_CAST_TO(value, unsigned int) - 1] = TRUE;
	}
	in_lis = i_new(bool, common + 1);
	migrate_uidl_diff_lis(positions, common, in_lis);

	/* walk the old list in order, reporting what isn't identical */
	unsigned int c = 0;
	for (i = 0; i < old_count; i++) {
		if (c < common && common_old_idx[c] == i) {
			if (in_lis[c])
				result_r->identical++;
			else {
				migrate_uidl_diff_add(result_r,
					MIGRATE_UIDL_DIFF_REORDERED,
					p_strdup(pool, old_uidls[i]),
					i + 1, positions[c]);
			}
			c++;
		} else if (!old_dup[i] &&
			   hash_table_lookup(new_pos, old_uidls[i]) == NULL) {
			migrate_uidl_diff_add(result_r,
				MIGRATE_UIDL_DIFF_MISSING,
				p_strdup(pool, old_uidls[i]), i + 1, 0);
		}
	}
	for (i = 0; i < new_count; i++) {
		if (!new_used[i]) {
			migrate_uidl_diff_add(result_r,
				MIGRATE_UIDL_DIFF_EXTRA,
				p_strdup(pool, new_uidls[i]), 0, i + 1);
		}
	}
	i_free(in_lis);
	i_free(positions);
	i_free(common_old_idx);
	i_free(new_used);
	i_free(old_dup);
	hash_table_destroy(&new_pos);
	hash_table_destroy(&old_seen);
}

bool migrate_uidl_diff_is_identical(const struct migrate_uidl_diff_result *result)
{
	return result->old_count == result->new_count &&
		result->identical == result->old_count &&
		array_count(&result->differences) == 0;
}

const char *migrate_uidl_diff_type_name(enum migrate_uidl_diff_type type)
{
	switch (type) {
	case MIGRATE_UIDL_DIFF_IDENTICAL:
		return "identical";
	case MIGRATE_UIDL_DIFF_REORDERED:
		return "reordered";
	case MIGRATE_UIDL_DIFF_MISSING:
		return "missing";
	case MIGRATE_UIDL_DIFF_EXTRA:
		return "extra";
	case MIGRATE_UIDL_DIFF_DUPLICATE:
		return "duplicate";
	}
	i_unreached();
}
