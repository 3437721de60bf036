#ifndef MIGRATE_FOLDER_MAP_H
#define MIGRATE_FOLDER_MAP_H

#include "array.h"
#include "migrate-gmail-folder.h"

/* Folder names of the old server onto this server's: what "Sent Items"
   (Exchange), "Gesendete Elemente" or Courier's "INBOX.Sent" become here.
   Pure logic: the old server's folder list (UTF-8 names as Dovecot shows
   them, with their SPECIAL-USE flags), this server's configured
   SPECIAL-USE folders and the admin's settings go in, every folder's name
   here and the reason come out. Each folder takes the first of:

   1. the admin's map file (migrate_folder_map_file): exact names,
      a folder and everything below it, '*' patterns; first match wins
   2. SPECIAL-USE: an old \Sent (\Drafts, \Trash, \Junk, \Archive) folder
      becomes this server's folder of that flag, when one is configured
   3. the built-in table of well-known names (Exchange/Outlook, other
      servers, localized), unless migrate_folder_map_builtin = no; the
      name here is this server's folder of the name's SPECIAL-USE, or the
      usual English name
   4. its parent's new name ("Sent Items/2019" follows "Sent Items")
   5. prefix stripping ("INBOX/Sent" of Courier and cPanel becomes
      "Sent"; steps 2-4 look at the name without the prefix)

   INBOX is never renamed. Two old folders that end with the same name
   here are a conflict, found before anything is copied. */

enum migrate_folder_map_reason {
	/* kept its name */
	MIGRATE_FOLDER_MAP_KEPT = 0,
	MIGRATE_FOLDER_MAP_FILE,
	MIGRATE_FOLDER_MAP_SPECIAL_USE,
	MIGRATE_FOLDER_MAP_BUILTIN,
	MIGRATE_FOLDER_MAP_PARENT,
	MIGRATE_FOLDER_MAP_PREFIX,
};

/* One line of a map file: "old = new" */
struct migrate_folder_map_rule {
	/* may hold '*' (any characters, also hierarchy separators) */
	const char *old_name;
	/* '*' takes what the old name's '*' matched; "" leaves the folder
	   out of the mapping ("old =" keeps the name as it is) */
	const char *new_name;
	const char *path;
	unsigned int line;
	/* the old name has a '*' */
	bool pattern:1;
};
ARRAY_DEFINE_TYPE(migrate_folder_map_rule, struct migrate_folder_map_rule);

struct migrate_folder_map_settings {
	/* the namespace's hierarchy separator */
	char sep;
	/* the built-in table of well-known names */
	bool builtin;
	/* the prefix to strip (without its separator), "" for none, NULL for
	   automatic: "INBOX" when every folder but INBOX is below it */
	const char *strip_prefix;
	/* the map file's rules, in file order (may be NULL) */
	const ARRAY_TYPE(migrate_folder_map_rule) *rules;
	/* this server's configured folders and their SPECIAL-USE flags */
	const struct migrate_special_use_folder *dest_folders;
	unsigned int dest_folder_count;
};

/* A folder of the old server */
struct migrate_folder_map_folder {
	const char *name;
	/* space separated, NULL or "" for none */
	const char *special_use;
	/* \Noselect or \NonExistent: a parent only, never copied */
	bool noselect;
};
ARRAY_DEFINE_TYPE(migrate_folder_map_folder, struct migrate_folder_map_folder);

struct migrate_folder_map_entry {
	const char *old_name, *new_name;
	enum migrate_folder_map_reason reason;
	/* what decided it: "\Sent", "Sent Items", "file:3" */
	const char *why;
};
ARRAY_DEFINE_TYPE(migrate_folder_map_entry, struct migrate_folder_map_entry);

/* Parse a map file's text: one rule a line, "old = new"; blank lines and
   lines starting with '#' are skipped; a name with leading or trailing
   spaces, '=' or '#' is written in double quotes (\" and \\ inside).
   Appends the rules (allocated from pool) and returns 0, or -1 with
   error_r "path:line: what is wrong". */
int migrate_folder_map_parse(const char *data, const char *path, pool_t pool,
			     ARRAY_TYPE(migrate_folder_map_rule) *rules,
			     const char **error_r);

/* The SPECIAL-USE flag ("\\Sent") a well-known folder name has in the
   built-in table (any case, also decomposed UTF-8), or NULL. */
const char *migrate_folder_map_builtin_lookup(const char *name);

/* Map the old server's folders (count of them). Appends one entry per
   folder, in the same order, allocated from pool. Returns 0, or -1 with
   error_r naming two old folders that would get the same name here and
   how to keep them apart. */
int migrate_folder_map_resolve(const struct migrate_folder_map_settings *set,
			       const struct migrate_folder_map_folder *folders,
			       unsigned int count, pool_t pool,
			       ARRAY_TYPE(migrate_folder_map_entry) *entries,
			       const char **error_r);

/* "kept", "map file", "special-use", "well-known name", "parent",
   "prefix" */
const char *migrate_folder_map_reason_name(enum migrate_folder_map_reason reason);

#endif
