#ifndef MIGRATE_UIDL_EXACT_H
#define MIGRATE_UIDL_EXACT_H

/* A mailbox whose old POP3 list is exactly a UIDL formula of its UIDs
   (migrate_uidl_format_detect_exact(): Dovecot's default, Cyrus): no
   matcher is kept for it. Only each message's UID and POP3 order are,
   8 bytes a message; its UIDL is computed when it is asked for. */

struct migrate_uidl_exact;
struct migrate_uidl_format;

/* uids in ascending order; orders[i] is the POP3 order of uids[i]. Both
   are copied into pool. format must live as long as the result. */
struct migrate_uidl_exact *
migrate_uidl_exact_init(pool_t pool, const struct migrate_uidl_format *format,
			uint32_t uidvalidity, const uint32_t *uids,
			const uint32_t *orders, unsigned int count);

unsigned int migrate_uidl_exact_count(const struct migrate_uidl_exact *exact);
/* The n-th message (0 <= n < count): its UID and POP3 order */
void migrate_uidl_exact_get(const struct migrate_uidl_exact *exact,
			    unsigned int n, uint32_t *uid_r,
			    uint32_t *order_r);
/* Returns TRUE and the POP3 order of uid, or FALSE if the mailbox had no
   such UID when it was matched. O(log n). */
bool migrate_uidl_exact_lookup(const struct migrate_uidl_exact *exact,
			       uint32_t uid, uint32_t *order_r);
/* The UIDL of uid (data stack) */
const char *migrate_uidl_exact_uidl(const struct migrate_uidl_exact *exact,
				    uint32_t uid);

#endif
