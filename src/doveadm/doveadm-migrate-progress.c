/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "settings-parser.h"
#include "doveadm-util.h"
#include "migrate-progress.h"
#include "migrate-snapshot.h"
#include "migrate-state.h"
#include "doveadm-migrate.h"

#include <stdio.h>
#include <unistd.h>
#include <time.h>

/* The progress of a pass of migrate run, while its doveadm children copy
   (migrate-progress.h): kept in the account's state every few seconds
   for migrate status, sent as a named event (migrate_run_progress) for
   Dovecot's statistics, and shown: on a terminal as a line that is
   rewritten every second, else as a log line every
   migrate_progress_interval (default a minute). */

/* how often the state file is rewritten with the progress */
#define MIGRATE_TRACKER_STATE_INTERVAL_SECS 2
#define MIGRATE_TRACKER_DEFAULT_LOG_INTERVAL_SECS 60

struct doveadm_migrate_tracker {
	struct migrate_state *state;
	const struct migrate_snapshot *source;
	struct event *event;
	time_t started, written, logged;
	unsigned int log_interval_secs;
	bool tty, shown;

	/* what the children that ended copied */
	uint64_t done_messages, done_bytes;
	/* the last count of each running child: one, or one per worker
	   when several copy the account at once */
	ARRAY(struct doveadm_migrate_tracker_lane *) lanes;
	char *folder;
};

struct doveadm_migrate_tracker_lane {
	struct doveadm_migrate_tracker *tracker;
	uint64_t messages, bytes;
};

struct event_category event_category_migrate = {
	.name = "migrate",
};

unsigned int doveadm_migrate_setting_secs(const char *name,
					  unsigned int default_secs)
{
	const char *value = doveadm_migrate_setting(name);
	const char *error;
	unsigned int secs;

	if (value == NULL || *value == '\0')
		return default_secs;
	if (migrate_parse_time(value, &secs, &error) < 0) {
		i_warning("migrate: invalid %s '%s': %s (using %u s)",
			  name, value, error, default_secs);
		return default_secs;
	}
	return secs;
}

unsigned int doveadm_migrate_progress_interval(void)
{
	return doveadm_migrate_setting_secs("migrate_progress_interval",
		MIGRATE_TRACKER_DEFAULT_LOG_INTERVAL_SECS);
}

struct doveadm_migrate_tracker *
doveadm_migrate_tracker_init(struct migrate_state *state,
			     const struct migrate_snapshot *source,
			     const struct migrate_snapshot *here,
			     struct event *event, bool tty)
{
	struct doveadm_migrate_tracker *tracker;
	struct migrate_progress *progress = &state->progress;

	tracker = i_new(struct doveadm_migrate_tracker, 1);
	tracker->state = state;
	tracker->source = source;
	tracker->event = event;
	tracker->tty = tty;
	tracker->started = time(NULL);
	tracker->logged = tracker->started;
	tracker->log_interval_secs = doveadm_migrate_progress_interval();
	i_array_init(&tracker->lanes, 4);
	(void)doveadm_migrate_tracker_lane(tracker, 0);

	i_zero(progress);
	if (source != NULL) {
		migrate_snapshot_todo(source, here, &progress->messages_todo,
				      &progress->bytes_todo);
		progress->folders = array_count(&source->boxes);
	}
	progress->updated = tracker->started;
	return tracker;
}

static void doveadm_migrate_tracker_clear(struct doveadm_migrate_tracker *tracker)
{
	if (tracker->shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		tracker->shown = FALSE;
	}
}

void doveadm_migrate_tracker_deinit(struct doveadm_migrate_tracker **_tracker)
{
	struct doveadm_migrate_tracker *tracker = *_tracker;
	struct doveadm_migrate_tracker_lane *lane;

	*_tracker = NULL;
	doveadm_migrate_tracker_clear(tracker);
	/* the state keeps no pointer to the folder name */
	tracker->state->progress.folder = NULL;
	array_foreach_elem(&tracker->lanes, lane)
		i_free(lane);
	array_free(&tracker->lanes);
	i_free(tracker->folder);
	i_free(tracker);
}

static void
doveadm_migrate_tracker_event(struct doveadm_migrate_tracker *tracker)
{
	const struct migrate_progress *progress = &tracker->state->progress;
	struct event_passthrough *e;

	e = event_create_passthrough(tracker->event)->
		set_name("migrate_run_progress")->
		add_int("messages", progress->messages)->
		add_int("bytes", progress->bytes)->
		add_int("messages_todo", progress->messages_todo)->
		add_int("bytes_todo", progress->bytes_todo)->
		add_int("rate", progress->rate)->
		add_str("folder", progress->folder == NULL ? "" :
			progress->folder);
	e_debug(e->event(), "migrate run: user %s: %s",
		tracker->state->user, migrate_progress_str(progress));
}

struct doveadm_migrate_tracker_lane *
doveadm_migrate_tracker_lane(struct doveadm_migrate_tracker *tracker,
			     unsigned int n)
{
	struct doveadm_migrate_tracker_lane *lane;

	while (array_count(&tracker->lanes) <= n) {
		lane = i_new(struct doveadm_migrate_tracker_lane, 1);
		lane->tracker = tracker;
		array_push_back(&tracker->lanes, &lane);
	}
	return array_idx_elem(&tracker->lanes, n);
}

void doveadm_migrate_tracker_lane_update(void *context,
					 const struct migrate_progress *child)
{
	struct doveadm_migrate_tracker_lane *lane = context, *other;
	struct doveadm_migrate_tracker *tracker = lane->tracker;
	struct migrate_progress *progress = &tracker->state->progress;
	const char *error, *line;
	time_t now = time(NULL);
	bool new_folder = FALSE;

	lane->messages = child->messages;
	lane->bytes = child->bytes;
	/* what ended, and what every running child copied so far */
	progress->messages = tracker->done_messages;
	progress->bytes = tracker->done_bytes;
	array_foreach_elem(&tracker->lanes, other) {
		progress->messages += other->messages;
		progress->bytes += other->bytes;
	}
	if (child->folder != NULL &&
	    (tracker->folder == NULL ||
	     strcmp(tracker->folder, child->folder) != 0)) {
		i_free(tracker->folder);
		tracker->folder = i_strdup(child->folder);
		new_folder = TRUE;
	}
	progress->folder = tracker->folder;
	if (tracker->source != NULL && tracker->folder != NULL) {
		progress->folder_n = migrate_snapshot_position(tracker->source,
							       tracker->folder);
	}
	migrate_progress_estimate(progress, now - tracker->started);
	progress->updated = now;

	if (new_folder ||
	    now - tracker->written >= MIGRATE_TRACKER_STATE_INTERVAL_SECS) {
		tracker->written = now;
		if (doveadm_migrate_state_write(tracker->state, &error) < 0) {
			i_error("migrate run: user %s: can't record the "
				"progress: %s", tracker->state->user, error);
		}
		doveadm_migrate_tracker_event(tracker);
	}

	line = t_strdup_printf("migrate run: user %s: %s",
			       tracker->state->user,
			       migrate_progress_str(progress));
	if (tracker->tty) {
		fprintf(stderr, "\r\033[K%s", line);
		fflush(stderr);
		tracker->shown = TRUE;
	} else if (tracker->log_interval_secs > 0 &&
		   now - tracker->logged >=
		   (time_t)tracker->log_interval_secs) {
		tracker->logged = now;
		i_info("%s", line);
	}
}

void doveadm_migrate_tracker_update(void *context,
				    const struct migrate_progress *child)
{
	struct doveadm_migrate_tracker *tracker = context;

	doveadm_migrate_tracker_lane_update(
		doveadm_migrate_tracker_lane(tracker, 0), child);
}

void doveadm_migrate_tracker_lane_done(struct doveadm_migrate_tracker_lane *lane)
{
	/* the lane's next child counts from 0 again */
	lane->tracker->done_messages += lane->messages;
	lane->tracker->done_bytes += lane->bytes;
	lane->messages = 0;
	lane->bytes = 0;
}

void doveadm_migrate_tracker_child_done(struct doveadm_migrate_tracker *tracker)
{
	doveadm_migrate_tracker_lane_done(
		doveadm_migrate_tracker_lane(tracker, 0));
	doveadm_migrate_tracker_clear(tracker);
}
