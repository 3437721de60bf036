/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "sort.h"
#include "migrate-uidl-format.h"
#include "migrate-uidl-exact.h"

struct migrate_uidl_exact {
	const struct migrate_uidl_format *format;
	uint32_t uidvalidity;
	unsigned int count;
	/* two arrays instead of one of pairs: no padding, and the UID
	   search walks only the UIDs */
	uint32_t *uids;
	uint32_t *orders;
};

struct migrate_uidl_exact *
migrate_uidl_exact_init(pool_t pool, const struct migrate_uidl_format *format,
			uint32_t uidvalidity, const uint32_t *uids,
			const uint32_t *orders, unsigned int count)
{
	struct migrate_uidl_exact *exact;
	unsigned int i;

	exact = p_new(pool, struct migrate_uidl_exact, 1);
	exact->format = format;
	exact->uidvalidity = uidvalidity;
	exact->count = count;
	exact->uids = p_new(pool, uint32_t, I_MAX(count, 1));
	exact->orders = p_new(pool, uint32_t, I_MAX(count, 1));
	for (i = 0; i < count; i++) {
		i_assert(i == 0 || uids[i-1] < uids[i]);
		exact->uids[i] = uids[i];
		exact->orders[i] = orders[i];
	}
	return exact;
}

unsigned int migrate_uidl_exact_count(const struct migrate_uidl_exact *exact)
{
	return exact->count;
}

void migrate_uidl_exact_get(const struct migrate_uidl_exact *exact,
			    unsigned int n, uint32_t *uid_r,
			    uint32_t *order_r)
{
	i_assert(n < exact->count);
	*uid_r = exact->uids[n];
	*order_r = exact->orders[n];
}

static int migrate_uidl_exact_uid_cmp(const uint32_t *key, const uint32_t *uid)
{
	return *key < *uid ? -1 : (*key > *uid ? 1 : 0);
}

bool migrate_uidl_exact_lookup(const struct migrate_uidl_exact *exact,
			       uint32_t uid, uint32_t *order_r)
{
	const uint32_t *found;

	found = i_bsearch(&uid, exact->uids, exact->count, sizeof(uint32_t),
			  migrate_uidl_exact_uid_cmp);
	if (found == NULL)
		return FALSE;
	*order_r = exact->orders[found - exact->uids];
	return TRUE;
}

const char *migrate_uidl_exact_uidl(const struct migrate_uidl_exact *exact,
				    uint32_t uid)
{
	return migrate_uidl_format_get(exact->format, exact->uidvalidity, uid);
}
