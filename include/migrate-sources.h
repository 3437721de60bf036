#ifndef MIGRATE_SOURCES_H
#define MIGRATE_SOURCES_H

/* How far each folder of the old server has been copied: once an account
   is switched, a pass copies only what is new at the old server, i.e.
   the messages with UIDs from the folder's mark on (while the old
   server's UIDVALIDITY stays the same). Everything below the mark was
   copied by an earlier pass, so what the user has moved or deleted here
   since is never brought back, whatever happened to it here.

   The marks are set after every mirroring pass (this server's copy of a
   folder has the old server's UIDs then) and moved on by every additive
   pass as it commits. Kept in the user's home as a text file:

     # dovecot-migrate sources
     V1
     <source UIDVALIDITY> TAB <source next UID> TAB <destination mailbox
       GUID> TAB <destination next UID> TAB <folder here, tab-escaped>

   A mark is found by the name the old folder has here (with
   --folder-prefix, under the prefix), so other prefixes have marks of
   their own. The destination's mailbox GUID finds the folder here if the
   user renamed it; its next UID says where mail that arrived here after
   the mark begins (a pass that was killed after committing but before
   moving the mark is recognised there, so nothing is copied twice).

   When the old server renumbers a folder (another UIDVALIDITY), UIDs say
   nothing: the messages "seen" (copied, or here after a mirroring pass)
   are then what tells old from new. They are kept per folder as 64-bit
   hashes of the message keys (migrate_sources_msg_key()), one per line,
   appended as messages are copied. */
struct migrate_source_mark {
	const char *name;
	uint32_t uidvalidity, next_uid;
	/* hex, "" if unknown */
	const char *dest_guid;
	uint32_t dest_next_uid;
};
ARRAY_DEFINE_TYPE(migrate_source_mark, struct migrate_source_mark);

/* The file format above. parse returns 0, or -1 with error_r. */
void migrate_sources_append(string_t *dest,
			    const ARRAY_TYPE(migrate_source_mark) *marks);
int migrate_sources_parse(const char *data, pool_t pool,
			  ARRAY_TYPE(migrate_source_mark) *marks,
			  const char **error_r);
struct migrate_source_mark *
migrate_sources_find(ARRAY_TYPE(migrate_source_mark) *marks,
		     const char *name);

/* The old folder name of a folder here with --folder-prefix prefix (and
   hierarchy separator sep): NULL if it isn't under the prefix. Without a
   prefix the names are the same. */
const char *migrate_sources_source_name(const char *dest_name,
					const char *prefix, char sep);
/* ... and the other way round. */
const char *migrate_sources_dest_name(const char *source_name,
				      const char *prefix, char sep);

/* What says two copies are the same message, from its headers: the
   Message-ID with the Date, or without a Message-ID the Date, From and
   Subject. Any of them may be NULL. */
const char *migrate_sources_msg_key(const char *message_id, const char *date,
				    const char *from, const char *subject);
/* The 64-bit hash of a message key kept in the seen file, as 16 hex
   digits. */
const char *migrate_sources_key_hash(const char *key);

#endif
