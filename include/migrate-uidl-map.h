#ifndef MIGRATE_UIDL_MAP_H
#define MIGRATE_UIDL_MAP_H

/* What a source mailbox keeps of its matching while dsync copies it: for
   each paired IMAP UID the POP3 UIDL and POP3 order it was given. Once
   it is built the matcher and (unless several mailboxes share it) the
   POP3 list are freed. Four heap blocks, sized exactly: the UIDs in
   ascending order, their POP3 orders, offsets into one buffer of
   NUL-terminated UIDLs, and that buffer: 12 bytes + the UIDL + 1 a
   message. */

struct migrate_uidl_map;

/* count: how many pairs will be added, uidls_size: the sum of their
   UIDLs' lengths (without NULs). Both exactly. */
struct migrate_uidl_map *
migrate_uidl_map_init(unsigned int count, size_t uidls_size);
void migrate_uidl_map_free(struct migrate_uidl_map **map);

/* Pairs are added in ascending UID order. order is the POP3 order, 0
   when there is none (no POP3 list: migrate_pop3_uidl_format alone).
   uidl is copied. */
void migrate_uidl_map_add(struct migrate_uidl_map *map, uint32_t uid,
			  const char *uidl, uint32_t order);

unsigned int migrate_uidl_map_count(const struct migrate_uidl_map *map);
/* Returns TRUE with the UIDL and POP3 order of uid, or FALSE if it was
   paired with none. O(log n). */
bool migrate_uidl_map_lookup(const struct migrate_uidl_map *map,
			     uint32_t uid, const char **uidl_r,
			     uint32_t *order_r);
/* The map of a finished matcher (migrate_match_run_full() done): every
   paired IMAP message with its POP3 message's UIDL and pop3_orders[the
   POP3 message's index], or order 0 for a POP3 message without a POP3
   number (seq 0: no POP3 list). */
struct migrate_match;
struct migrate_uidl_map *
migrate_uidl_map_from_match(struct migrate_match *match,
			    const uint32_t *pop3_orders);
/* The heap bytes the map holds */
size_t migrate_uidl_map_memory(const struct migrate_uidl_map *map);

#endif
