#ifndef MIGRATE_FOLDER_SPLIT_H
#define MIGRATE_FOLDER_SPLIT_H

struct migrate_snapshot;

/* A pass of migrate run may copy an account with several dsync workers,
   each over its own set of the old server's folders (dsync -m, one
   folder at a time). The sets are balanced by what there is to copy: the
   folders' sizes plus a cost per message, the largest first, each to the
   least loaded worker. A folder stays with the worker of its parent
   folder when both are copied (a child's dsync creates its parents
   here), INBOX excepted: in a namespace with the prefix "INBOX." every
   folder is INBOX's child. */

/* a message costs as much as this many bytes besides its size (a FETCH
   round, an index record, a file) */
#define MIGRATE_FOLDER_SPLIT_MESSAGE_COST 4096

/* Split the folders of source among at most max_workers workers:
   workers_r (as many elements as source has folders) gets each folder's
   worker, 0..n-1. Folders are children of another if their name starts
   with its name followed by one of the characters of seps
   (the hierarchy separators it may have). Returns n, the number of workers used
   (no more than the folders' hierarchies, at least 1). */
unsigned int migrate_folder_split(const struct migrate_snapshot *source,
				  const char *seps, unsigned int max_workers,
				  unsigned int *workers_r);

#endif
