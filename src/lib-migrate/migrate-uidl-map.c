/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "sort.h"
#include "array.h"
#include "migrate-match.h"
#include "migrate-uidl-map.h"

struct migrate_uidl_map {
	unsigned int count, added;
	size_t uidls_size, uidls_used;
	/* parallel arrays, no padding: the search walks only the UIDs */
	uint32_t *uids;
	uint32_t *orders;
	uint32_t *uidl_offsets;
	char *uidls;
};

struct migrate_uidl_map *
migrate_uidl_map_init(unsigned int count, size_t uidls_size)
{
	struct migrate_uidl_map *map;

	/* the offsets are 32 bits */
	i_assert(uidls_size + count < (size_t)UINT32_MAX);

	map = i_new(struct migrate_uidl_map, 1);
	map->count = count;
	map->uidls_size = uidls_size + count;
	if (count > 0) {
		map->uids = i_new(uint32_t, count);
		map->orders = i_new(uint32_t, count);
		map->uidl_offsets = i_new(uint32_t, count);
		map->uidls = i_malloc(map->uidls_size);
	}
	return map;
}

void migrate_uidl_map_free(struct migrate_uidl_map **_map)
{
	struct migrate_uidl_map *map = *_map;

	if (map == NULL)
		return;
	*_map = NULL;
	i_free(map->uids);
	i_free(map->orders);
	i_free(map->uidl_offsets);
	i_free(map->uidls);
	i_free(map);
}

void migrate_uidl_map_add(struct migrate_uidl_map *map, uint32_t uid,
			  const char *uidl, uint32_t order)
{
	size_t len = strlen(uidl) + 1;
	unsigned int n = map->added;

	i_assert(n < map->count);
	i_assert(n == 0 || map->uids[n-1] < uid);
	i_assert(map->uidls_used + len <= map->uidls_size);

	map->uids[n] = uid;
	map->orders[n] = order;
	map->uidl_offsets[n] = map->uidls_used;
	memcpy(map->uidls + map->uidls_used, uidl, len);
	map->uidls_used += len;
	map->added++;
}

unsigned int migrate_uidl_map_count(const struct migrate_uidl_map *map)
{
	return map->added;
}

static int migrate_uidl_map_uid_cmp(const uint32_t *key, const uint32_t *uid)
{
	return *key < *uid ? -1 : (*key > *uid ? 1 : 0);
}

bool migrate_uidl_map_lookup(const struct migrate_uidl_map *map,
			     uint32_t uid, const char **uidl_r,
			     uint32_t *order_r)
{
	const uint32_t *found;
	unsigned int n;

	if (map->added == 0)
		return FALSE;
	found = i_bsearch(&uid, map->uids, map->added, sizeof(uint32_t),
			  migrate_uidl_map_uid_cmp);
	if (found == NULL)
		return FALSE;
	n = found - map->uids;
	*uidl_r = map->uidls + map->uidl_offsets[n];
	*order_r = map->orders[n];
	return TRUE;
}

size_t migrate_uidl_map_memory(const struct migrate_uidl_map *map)
{
	return sizeof(*map) + (size_t)map->count * sizeof(uint32_t) * 3 +
		(map->count > 0 ? map->uidls_size : 0);
}

struct migrate_uidl_map *
migrate_uidl_map_from_match(struct migrate_match *match,
			    const uint32_t *pop3_orders)
{
	const ARRAY_TYPE(migrate_match_imap) *imap_list =
		migrate_match_get_imap(match);
	const ARRAY_TYPE(migrate_match_pop3) *pop3_list =
		migrate_match_get_pop3(match);
	const struct migrate_match_imap *imap;
	const struct migrate_match_pop3 *pop3;
	struct migrate_uidl_map *map;
	unsigned int count = 0;
	size_t uidls_size = 0;

	array_foreach(imap_list, imap) {
		if (imap->method == MIGRATE_MATCH_NONE)
			continue;
		pop3 = array_idx(pop3_list, imap->pop3_idx);
		count++;
		uidls_size += strlen(pop3->msg->uidl);
	}
	map = migrate_uidl_map_init(count, uidls_size);
	array_foreach(imap_list, imap) {
		if (imap->method == MIGRATE_MATCH_NONE)
			continue;
		pop3 = array_idx(pop3_list, imap->pop3_idx);
		migrate_uidl_map_add(map, imap->uid, pop3->msg->uidl,
			pop3->msg->seq == 0 ? 0 : pop3_orders[pop3->idx]);
	}
	return map;
}
