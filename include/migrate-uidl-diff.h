#ifndef MIGRATE_UIDL_DIFF_H
#define MIGRATE_UIDL_DIFF_H

/* Compare the old server's POP3 UIDL list with the new server's, both in
   POP3 order. A UIDL is "identical" when it is in both lists and in the
   longest run of UIDLs that keeps the same relative order in both (so one
   missing message doesn't make everything after it count as moved);
   "reordered" when it is in both but outside that run; "missing" when only
   the old list has it; "extra" when only the new list has it. Duplicate
   UIDLs within one list are reported as "duplicate" and otherwise treated
   by their first occurrence. */

enum migrate_uidl_diff_type {
	MIGRATE_UIDL_DIFF_IDENTICAL = 0,
	MIGRATE_UIDL_DIFF_REORDERED,
	MIGRATE_UIDL_DIFF_MISSING,
	MIGRATE_UIDL_DIFF_EXTRA,
	MIGRATE_UIDL_DIFF_DUPLICATE,
};

struct migrate_uidl_diff_entry {
	enum migrate_uidl_diff_type type;
	const char *uidl;
	/* 1-based POP3 message numbers, 0 = not in that list */
	unsigned int old_seq, new_seq;
};
ARRAY_DEFINE_TYPE(migrate_uidl_diff_entry, struct migrate_uidl_diff_entry);

struct migrate_uidl_diff_result {
	unsigned int old_count, new_count;
	unsigned int identical, reordered, missing, extra, duplicate;
	/* every entry that isn't IDENTICAL, old list's order first, then
	   the extra ones in the new list's order */
	ARRAY_TYPE(migrate_uidl_diff_entry) differences;
};

/* Compare the lists (NULL-terminated arrays). The result is allocated
   from pool. */
void migrate_uidl_diff(pool_t pool, const char *const *old_uidls,
		       const char *const *new_uidls,
		       struct migrate_uidl_diff_result *result_r);
/* Returns TRUE if the lists are identical. */
bool migrate_uidl_diff_is_identical(const struct migrate_uidl_diff_result *result);
const char *migrate_uidl_diff_type_name(enum migrate_uidl_diff_type type);

#endif
