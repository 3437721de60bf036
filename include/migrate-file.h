#ifndef MIGRATE_FILE_H
#define MIGRATE_FILE_H

/* Replace path's contents with data atomically: written to a temporary
   file beside it (mode 0600), synced, then renamed over it, so a reader
   sees the old or the new contents and a killed process never leaves half
   a file. Returns 0, or -1 with error_r (naming the failed call). */
int migrate_file_replace(const char *path, const buffer_t *data,
			 const char **error_r);
/* The same without syncing to disk: for files that may be lost in a crash
   (e.g. because they are written again), where the write must be cheap. */
int migrate_file_replace_nosync(const char *path, const buffer_t *data,
				const char **error_r);

/* Read all of path into a string of the data stack. Returns 1, 0 if the
   file doesn't exist, -1 with error_r if it can't be read. */
int migrate_file_read(const char *path, string_t **data_r,
		      const char **error_r);

#endif
