#ifndef MIGRATE_PROGRESS_H
#define MIGRATE_PROGRESS_H

/* How far a running pass of an account is. The plugins inside migrate
   run's doveadm child count what they save here and keep the count in a
   small record migrate run gave them (-o plugin/migrate_progress_fd=N,
   migrate_state_dir/<user>.progress), overwritten in place; migrate run
   reads it every second, adds what it knows (what the pass has to copy,
   the old server's folders), keeps it in the account's state for
   migrate status, and prints it. */

/* the record's size: a fixed size, so that a reader never sees the end
   of an older, longer one */
#define MIGRATE_PROGRESS_RECORD_SIZE 512

struct migrate_progress {
	/* copied by this pass so far */
	uint64_t messages, bytes;
	/* the folder being copied (as named here), NULL if none yet */
	const char *folder;

	/* what the pass has to copy, from the old server's folders and
	   this server's before it began (0: not known) */
	uint64_t messages_todo, bytes_todo;
	/* the folder's place among the old server's folders (0: not known) */
	unsigned int folder_n, folders;
	/* bytes a second since the pass began, and seconds left (0: not
	   known) */
	uint64_t rate;
	unsigned int eta_secs;
	/* when it was last updated */
	time_t updated;
};

/* The child's record: "V1 <messages> <bytes> <folder, tab-escaped>",
   padded with spaces to MIGRATE_PROGRESS_RECORD_SIZE (a folder name too
   long for it is cut). */
void migrate_progress_record(char buf[MIGRATE_PROGRESS_RECORD_SIZE],
			     uint64_t messages, uint64_t bytes,
			     const char *folder);
/* Read a record into progress' messages, bytes and folder (allocated
   from pool). Returns 1 if read, 0 if there is none yet (empty), -1 if
   broken. */
int migrate_progress_record_parse(const char *data, size_t size, pool_t pool,
				  struct migrate_progress *progress);

/* Set rate and eta_secs from the time the pass has run. */
void migrate_progress_estimate(struct migrate_progress *progress,
			       unsigned int elapsed_secs);
/* One line for people: "INBOX (3/12): 1200 of 5000 messages, 40 MiB of
   300 MiB, 2.1 MiB/s, 2m10s left" (the parts not known are left out). */
const char *migrate_progress_str(const struct migrate_progress *progress);

/* A short form for a table: "INBOX 3/12, 13%, 2m10s left". */
const char *migrate_progress_short_str(const struct migrate_progress *progress);

/* One account of a batch, for its ETA */
struct migrate_progress_account {
	/* copied by its pass of this batch so far */
	uint64_t bytes_done;
	/* what that pass has to copy, 0 if not known (not started yet, or
	   its pass couldn't tell) */
	uint64_t bytes_todo;
	bool finished;
};

/* The seconds a batch has left, from its accounts' sizes, not their
   count: an account whose size isn't known yet is taken to be as big as
   the average of those whose size is (finished ones: what they copied).
   bytes_left_r is what is still to copy. Returns 0 if not known. */
unsigned int
migrate_progress_batch_eta(const struct migrate_progress_account *accounts,
			   unsigned int count, unsigned int elapsed_secs,
			   uint64_t *bytes_left_r);

/* Sizes and durations as doveadm users read them: "1023 B", "1.5 KiB",
   "300 MiB", "2.0 GiB" (IEC); "45s", "2m10s", "3h05m", "2d04h". */
const char *migrate_size_str(uint64_t bytes);
const char *migrate_duration_str(unsigned int secs);

#endif
