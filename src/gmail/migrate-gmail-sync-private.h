#ifndef MIGRATE_GMAIL_SYNC_PRIVATE_H
#define MIGRATE_GMAIL_SYNC_PRIVATE_H

#include "hash.h"
#include "mail-storage.h"
#include "migrate-gmail-folder.h"
#include "migrate-gmail-ledger.h"
#include "migrate-gmail-plugin.h"

/* What one pass (migrate-gmail-sync.c) knows: the source read by
   migrate-gmail-read.c (steps 1-3), applied to the destination by
   migrate-gmail-sync.c (step 4). */

/* saves per destination commit: what a kill can lose, bounded */
#define MIGRATE_GMAIL_COMMIT_INTERVAL 256
#define MIGRATE_GMAIL_IMAPC_KEYWORD "$GMailHaveLabels"
#define MIGRATE_GMAIL_IMPORTANT_KEYWORD "$Important"

struct migrate_gmail_msg {
	const char *guid;
	enum mail_flags flags;
	/* the keywords the destination copies get, sorted, space-joined */
	const char *keywords;
	ARRAY_TYPE(const_string) labels;
	/* a destination copy this run can copy from */
	struct migrate_gmail_folder *local_folder;
	uint32_t local_uid;

	bool in_label_folder:1;
	bool important:1;
};

struct migrate_gmail_member {
	struct migrate_gmail_msg *msg;
	struct mailbox *src_box;
	uint32_t src_uid;
};

struct migrate_gmail_copy {
	uint32_t uid;
	enum mail_flags flags;
	const char *keywords;
	bool wanted;
};

struct migrate_gmail_folder {
	const char *src_vname, *dest_vname;
	enum migrate_gmail_folder_kind kind;
	/* keyword of a user label, in label-keyword mode */
	const char *label_keyword;
	struct mailbox *src_box, *dest_box;
	ARRAY(struct migrate_gmail_member) members;
	HASH_TABLE(const char *, struct migrate_gmail_msg *) member_guids;
	HASH_TABLE(const char *, struct migrate_gmail_copy *) copies;

	/* reading this folder's destination copies to copy them */
	struct mailbox_transaction_context *read_trans;
	struct mail *read_mail;

	bool is_inbox:1;
	bool dest_exists:1;
	/* made here subscribed: a source folder of it is subscribed at
	   Gmail, or it is the archive */
	bool subscribe:1;
};

struct migrate_gmail_sync {
	pool_t pool;
	struct mail_user *dest_user, *src_user;
	struct mail_namespace *src_ns, *dest_ns;
	bool dry_run, additive, repair_flags;
	/* the folder copies earlier passes made, and this one makes */
	struct migrate_gmail_ledger *ledger;
	const char *ledger_path;

	const char *archive_name;
	bool include_trash, include_junk;
	bool label_keywords, pop3_uidls, expunge;

	HASH_TABLE(const char *, struct migrate_gmail_msg *) msgs;
	ARRAY(struct migrate_gmail_folder *) folders;
	/* the copied folder of each X-GM-LABELS label: user labels by
	   their IMAP name, system labels (\Inbox, \Sent, \Draft)
	   lowercased */
	HASH_TABLE(const char *, struct migrate_gmail_folder *) label_folders;
	struct migrate_gmail_folder *archive;
	struct mailbox *all_box;

	struct migrate_gmail_result result;
	enum mail_error mail_error;
	const char *error;
};

/* the destination transaction of one folder, and what it saved */
struct migrate_gmail_dest_trans {
	struct migrate_gmail_sync *sync;
	struct migrate_gmail_folder *folder;
	struct mailbox_transaction_context *trans;
	struct mail *mail;
	ARRAY(struct migrate_gmail_msg *) saved;
};

/* Fail the pass for box: sets sync->error and mail_error. Returns -1. */
int migrate_gmail_box_error(struct migrate_gmail_sync *sync,
			    struct mailbox *box, const char *what);
/* 1. the source's folders, by SPECIAL-USE */
int migrate_gmail_list_source(struct migrate_gmail_sync *sync);
/* 2. which message belongs in which folder */
int migrate_gmail_read_source(struct migrate_gmail_sync *sync);
/* 3. what the destination has already */
int migrate_gmail_read_dest(struct migrate_gmail_sync *sync);

#endif
