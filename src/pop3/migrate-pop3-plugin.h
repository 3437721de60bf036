#ifndef MIGRATE_POP3_PLUGIN_H
#define MIGRATE_POP3_PLUGIN_H

#include "module-context.h"
#include "mail-user.h"
#include "mail-storage-private.h"
#include "migrate-match.h"

#define MIGRATE_POP3_LOG_PREFIX "migrate_pop3: "

#define MIGRATE_POP3_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, migrate_pop3_user_module)
#define MIGRATE_POP3_CONTEXT(obj) \
	MODULE_CONTEXT(obj, migrate_pop3_storage_module)
#define MIGRATE_POP3_CONTEXT_REQUIRE(obj) \
	MODULE_CONTEXT_REQUIRE(obj, migrate_pop3_storage_module)

enum migrate_pop3_unmatched_action {
	/* fail the mailbox (and so the dsync run) */
	MIGRATE_POP3_UNMATCHED_FAIL = 0,
	/* log every unmatched message and go on: the destination's
	   pop3_uidl_format gives those messages new UIDLs */
	MIGRATE_POP3_UNMATCHED_CONTINUE,
};

struct migrate_pop3_settings {
	/* vname of the pop3c mailbox, NULL in formula-only mode */
	const char *pop3_box_vname;
	/* IMAP mailboxes whose messages get UIDLs ("*" = all) */
	const char *const *mailboxes;
	/* more than one mailbox (or "*"): the POP3 list merges several
	   folders, so POP3 messages are only "unmatched" once no mailbox
	   claimed them (reported when the session ends) */
	bool merged;
	enum migrate_pop3_unmatched_action unmatched;
	const char *uidl_format;
	/* "" = no cache */
	const char *cache_dir;
	struct migrate_header_filter *filter;
	struct migrate_match_settings match_set;
	bool fix_dbox_uidl_header;
	/* try the known UIDL formulas on the lists (migrate_pop3_uidl_detect) */
	bool uidl_detect;
	/* IMAP connections that read the sizes of a large mailbox
	   (migrate_pop3_size_connections) */
	unsigned int size_connections;
};


struct migrate_pop3_user {
	union mail_user_module_context module_ctx;

	/* NULL if the settings were broken: config_error says why */
	const struct migrate_pop3_settings *set;
	const char *config_error;

	pool_t pop3_pool;
	ARRAY_TYPE(migrate_pop3_msg) pop3_msgs;
	/* the POP3 list being read ahead (migrate-pop3-prelist.c) */
	struct migrate_pop3_prelist *prelist;
	/* after it was read: its login, for the headers */
	struct migrate_pop3_prelist *prelist_login;
	bool pop3_listed:1;
	bool prelist_tried:1;
};

struct migrate_pop3_imap_size {
	uint32_t uid;
	uoff_t size;
};
ARRAY_DEFINE_TYPE(migrate_pop3_imap_size, struct migrate_pop3_imap_size);

struct migrate_pop3_mailbox {
	union mailbox_module_context module_ctx;

	/* source side (imapc): the match, from sync_pool, while the
	   mailbox is matched */
	pool_t sync_pool;
	struct migrate_match *match;
	/* the POP3 order of each message of the match's POP3 list (by
	   index), stable across passes */
	uint32_t *pop3_orders;
	/* what is kept of a finished match while dsync copies: each
	   paired UID's UIDL and POP3 order (the match and sync_pool are
	   freed then) */
	struct migrate_uidl_map *map;
	/* instead of the map: the old server's UIDLs are exactly a
	   formula of the UIDs, only UIDs and POP3 orders are kept */
	struct migrate_uidl_exact *exact;
	/* the formula the exact one gives UIDLs with */
	struct migrate_uidl_format *exact_format;
	uint32_t uidvalidity;
	/* while dsync's search starts the match: the UIDs it selects, whose
	   UIDLs it will ask (NULL: any) */
	const ARRAY_TYPE(seq_range) *wanted_uids;

	bool source:1;
	bool synced:1;
	bool sync_failed:1;
	/* destination side: a message with a POP3 UIDL was saved in the
	   current transaction */
	bool dest_saved_uidl:1;
};

extern MODULE_CONTEXT_DEFINE(migrate_pop3_user_module,
			     &mail_user_module_register);
extern MODULE_CONTEXT_DEFINE(migrate_pop3_storage_module,
			     &mail_storage_module_register);

/* Read the POP3 list and the IMAP list of box, match them and keep the
   result in the mailbox context. Returns 0 on success, -1 if the UIDLs
   couldn't be synced (storage error set). */
int migrate_pop3_uidl_sync(struct mailbox *box);
/* Report the POP3 messages no mailbox claimed (merged mode) and free the
   user's POP3 list. */
void migrate_pop3_user_finish(struct mail_user *user);
/* Free what the last sync of a source mailbox kept (and, unless several
   mailboxes share it, the user's POP3 list: it is read again if the
   mailbox is synced again). */
void migrate_pop3_mailbox_reset(struct mailbox *box,
				struct migrate_pop3_mailbox *mbox);

/* Every RFC822.SIZE of the selected imapc mailbox box into sizes_r, sorted
   by UID, on up to connections IMAP connections (migrate-pop3-sizes.c);
   or only those of the UIDs in uids (if not NULL), on imapc's.
   Returns FALSE if it couldn't be done: the caller then FETCHes the sizes
   per message. */
bool migrate_pop3_imap_sizes_fetch(struct mailbox *box, struct event *event,
				   unsigned int connections,
				   const ARRAY_TYPE(seq_range) *uids,
				   ARRAY_TYPE(migrate_pop3_imap_size) *sizes_r);
int migrate_pop3_imap_size_cmp(const struct migrate_pop3_imap_size *a,
			       const struct migrate_pop3_imap_size *b);

/* Start reading the user's POP3 list on a connection of its own while
   dsync goes on (once per session; nothing happens if it can't). */
void migrate_pop3_prelist_start(struct mail_user *user);
/* Wait for the list read ahead and put it into muser->pop3_msgs. Returns
   1 if it is there, 0 if there was none or it failed (a warning is
   logged): then pop3c must read it. */
int migrate_pop3_prelist_finish(struct migrate_pop3_user *muser,
				struct event *event);
/* Stop and forget a read-ahead nobody waited for (and the login kept
   after one). */
void migrate_pop3_prelist_abort(struct migrate_pop3_user *muser);
/* Called for the n-th of the seqs given to
   migrate_pop3_prelist_read_headers(): its UIDL now (NULL if the server
   has no such message any more) and its header as TOP n 0 returned it,
   or the whole message (RETR) if full; CRLF line ends, the end-of-header
   line included if the server sent it. Returning TRUE (when !full) asks
   for the whole message: the callback is called again for it. */
typedef bool migrate_pop3_prelist_header_callback_t(void *context,
						     unsigned int n,
						     const char *uidl,
						     const unsigned char *data,
						     size_t size, bool full);
/* Read the headers of the POP3 messages seqs[] (with each one's UIDL) on
   a connection of its own, logged in as the list read ahead was, instead
   of pop3c: pop3c would first list every message again (its UIDLs,
   sizes and an index record each, megabytes for a big mailbox) for a
   few headers. Returns 0 if all were read, -1 if no list was read ahead
   (TLS, an error) or the session failed (a warning is logged): the
   callback may have been called for some, the rest are pop3c's. */
int migrate_pop3_prelist_read_headers(struct migrate_pop3_user *muser,
				      struct event *event, const uint32_t *seqs,
				      unsigned int count,
				      migrate_pop3_prelist_header_callback_t *callback,
				      void *context);
void migrate_pop3_prelist_login_free(struct migrate_pop3_user *muser);

/* Destination side: keep sdbox/mdbox serving UIDLs saved by later runs.
   Installs the overrides into the mailbox's vfuncs v. */
void migrate_pop3_dest_mailbox_allocated(struct mailbox_vfuncs *v);

void migrate_pop3_plugin_init(struct module *module);
void migrate_pop3_plugin_deinit(void);

#endif
