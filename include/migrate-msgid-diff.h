#ifndef MIGRATE_MSGID_DIFF_H
#define MIGRATE_MSGID_DIFF_H

/* Compare the messages of a folder at the old server with the messages
   of its copy here by Message-ID, as multisets: two messages with the same
   Message-ID at the old server need two here. Order doesn't matter (users
   move and delete mail here, and delivered mail comes in between).
   Messages without a Message-ID can only be counted: the side with more
   of them is short or over by the difference. Among messages with the
   same Message-ID, those with the same UID on both sides are paired first
   (a mirroring pass keeps the old server's UIDs), so the one reported
   missing is the one that is. */

struct migrate_msgid_msg {
	/* migrate_msgid_normalize()d, NULL if the message has none */
	const char *msgid;
	uint32_t uid;
	uoff_t size;
};
ARRAY_DEFINE_TYPE(migrate_msgid_msg, struct migrate_msgid_msg);
ARRAY_DEFINE_TYPE(migrate_msgid_msg_p, const struct migrate_msgid_msg *);

struct migrate_msgid_diff_result {
	unsigned int old_count, new_count;
	uint64_t old_size, new_size;
	/* messages without a Message-ID on each side */
	unsigned int old_no_msgid, new_no_msgid;
	/* messages of the old server not here, and here not at the old
	   server: the Message-IDs on one side only, plus the surplus of
	   messages without a Message-ID */
	unsigned int missing, extra;
	/* the messages with a Message-ID on one side only, in the order
	   of their list (pointers into the lists given) */
	ARRAY_TYPE(migrate_msgid_msg_p) missing_msgs, extra_msgs;
};

/* The Message-ID of a header value for comparing: the <...> part (or
   the whole value if there is none) without whitespace, so that refolded
   headers and trailing comments compare equal. NULL if it is empty.
   Returns a data stack string. */
const char *migrate_msgid_normalize(const char *value);

/* Compare the lists. The result's arrays are allocated from pool. */
void migrate_msgid_diff(pool_t pool,
			const ARRAY_TYPE(migrate_msgid_msg) *old_msgs,
			const ARRAY_TYPE(migrate_msgid_msg) *new_msgs,
			struct migrate_msgid_diff_result *result_r);

#endif
