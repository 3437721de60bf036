#ifndef MIGRATE_SNAPSHOT_H
#define MIGRATE_SNAPSHOT_H

/* What an account's mailboxes on this server looked like when a pass of
   the migration ended. Before the next pass the mailboxes are read again:
   any difference is a change the migration didn't make (mail delivered
   or saved here, flags set, messages expunged or moved, folders made,
   renamed or deleted), so users already work here and the account is
   switched. The comparison uses what Dovecot keeps per mailbox anyway
   (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, the message count, the mailbox
   GUID), so reading it costs one STATUS per folder.

   Kept beside the account's state as a text file an admin can read:

     # dovecot-migrate destination snapshot
     V1
     <guid> TAB <uidvalidity> TAB <uidnext> TAB <highestmodseq> TAB
       <messages> TAB <vsize> TAB <mailbox name, tab-escaped>
*/

/* the doveadm mailbox status fields a snapshot is read from */
#define MIGRATE_SNAPSHOT_STATUS_FIELDS \
	"guid uidvalidity uidnext highestmodseq messages vsize"

struct migrate_snapshot_box {
	const char *name;
	/* the mailbox GUID as hex ("" if the backend has none) */
	const char *guid;
	uint32_t uidvalidity, uidnext, messages;
	uint64_t highestmodseq, vsize;
};
ARRAY_DEFINE_TYPE(migrate_snapshot_box, struct migrate_snapshot_box);

struct migrate_snapshot {
	ARRAY_TYPE(migrate_snapshot_box) boxes;
};

/* Read the output of `doveadm -f tab mailbox status "guid uidvalidity
   uidnext highestmodseq messages vsize" '*'` (a header line naming the
   columns, then one line per mailbox). Returns 0, or -1 with error_r. */
int migrate_snapshot_parse_status(const char *output, pool_t pool,
				  struct migrate_snapshot *snapshot_r,
				  const char **error_r);

/* The file format above. parse returns 0, or -1 with error_r. */
void migrate_snapshot_append(string_t *dest,
			     const struct migrate_snapshot *snapshot);
int migrate_snapshot_parse(const char *data, pool_t pool,
			   struct migrate_snapshot *snapshot_r,
			   const char **error_r);

/* The sum of the mailboxes' messages and sizes. */
void migrate_snapshot_totals(const struct migrate_snapshot *snapshot,
			     uint64_t *messages_r, uint64_t *vsize_r);

/* What a mirroring pass has to copy, folder by folder: the messages and
   bytes the old server's folder (source) has beyond this server's folder
   of the same name (here), a folder missing here counting whole. An
   estimate for the progress of a pass (mail deleted at the old server
   and copied mail of the same count hide each other). */
void migrate_snapshot_todo(const struct migrate_snapshot *source,
			   const struct migrate_snapshot *here,
			   uint64_t *messages_r, uint64_t *vsize_r);
/* The 1-based place of the folder name in snapshot, 0 if not there. */
unsigned int migrate_snapshot_position(const struct migrate_snapshot *snapshot,
				       const char *name);

/* Did anything change between what the last pass left (prev) and now
   (cur)? Returns TRUE with reason_r saying what (the first difference,
   one line naming the folder), FALSE if both are the same. */
bool migrate_snapshot_changed(const struct migrate_snapshot *prev,
			      const struct migrate_snapshot *cur,
			      const char **reason_r);

/* Is here a complete copy of source (every folder of source here with
   the same UIDVALIDITY, UIDNEXT and number of messages)? Returns NULL if
   so, else what differs first (one line naming the folder). */
const char *
migrate_snapshot_copy_differs(const struct migrate_snapshot *source,
			      const struct migrate_snapshot *here);

/* A mailbox of before that is missing from after, or there again as a
   new mailbox (another GUID or UIDVALIDITY): dsync deleted it during a
   pass. Returns its name, or NULL if none. */
const char *
migrate_snapshot_lost_box(const struct migrate_snapshot *before,
			  const struct migrate_snapshot *after);

#endif
