/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "migrate-compat.h"
#include "str.h"
#include "strescape.h"
#include "migrate-state.h"

#include <ctype.h>

static const char *const migrate_state_status_names[] = {
	[MIGRATE_STATE_NONE] = "none",
	[MIGRATE_STATE_RUNNING] = "running",
	[MIGRATE_STATE_FINISHED] = "finished",
	[MIGRATE_STATE_FAILED] = "failed",
};

const char *migrate_state_status_name(enum migrate_state_status status)
{
	i_assert(status < N_ELEMENTS(migrate_state_status_names));
	return migrate_state_status_names[status];
}

static const char *const migrate_phase_names[] = {
	[MIGRATE_PHASE_MIRROR] = "mirror",
	[MIGRATE_PHASE_SWITCHED] = "switched",
};

const char *migrate_phase_name(enum migrate_phase phase)
{
	i_assert(phase < N_ELEMENTS(migrate_phase_names));
	return migrate_phase_names[phase];
}

static int migrate_phase_parse(const char *value, enum migrate_phase *phase_r)
{
	if (strcmp(value, "mirror") == 0 || strcmp(value, "initial") == 0) {
		/* "initial": written before the lifecycle was recorded */
		*phase_r = MIGRATE_PHASE_MIRROR;
	} else if (strcmp(value, "switched") == 0 ||
		   strcmp(value, "final") == 0) {
		*phase_r = MIGRATE_PHASE_SWITCHED;
	} else {
		return -1;
	}
	return 0;
}

static int
migrate_state_status_parse(const char *value,
			   enum migrate_state_status *status_r)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(migrate_state_status_names); i++) {
		if (strcmp(migrate_state_status_names[i], value) == 0) {
			*status_r = i;
			return 0;
		}
	}
	return -1;
}

struct migrate_state_parse_context {
	struct migrate_state *state;
	pool_t pool;
	bool have_status;
};

int migrate_state_kv_parse(const char *data,
			   int (*field)(void *context, const char *key,
					const char *value),
			   void *context, const char **error_r)
{
	const char *const *lines, *const *args;
	unsigned int i;

	lines = t_strsplit(data, "\n");
	for (i = 0; lines[i] != NULL; i++) {
		if (lines[i][0] == '\0' || lines[i][0] == '#')
			continue;
		args = t_strsplit_tabescaped(lines[i]);
		if (str_array_length(args) != 2) {
			*error_r = t_strdup_printf("line %u: expected KEY TAB VALUE",
						   i + 1);
			return -1;
		}
		if (field(context, args[0], args[1]) < 0) {
			*error_r = t_strdup_printf("line %u: invalid %s '%s'",
						   i + 1, args[0], args[1]);
			return -1;
		}
	}
	return 0;
}

void migrate_state_kv_append(string_t *dest, const char *key,
			     const char *value)
{
	str_append(dest, key);
	str_append_c(dest, '\t');
	str_append_tabescaped(dest, value);
	str_append_c(dest, '\n');
}

static int
migrate_state_parse_progress(struct migrate_state *state, pool_t pool,
			     const char *key, const char *value)
{
	struct migrate_progress *progress = &state->progress;
	unsigned int num32;
	uint64_t num;

	if (strcmp(key, "folder") == 0) {
		progress->folder = p_strdup_empty(pool, value);
		return 0;
	}
	if (str_to_uint64(value, &num) < 0)
		return -1;
	num32 = num > UINT_MAX ? UINT_MAX : (unsigned int)num;
	if (strcmp(key, "updated") == 0)
		progress->updated = (time_t)num;
	else if (strcmp(key, "messages") == 0)
		progress->messages = num;
	else if (strcmp(key, "bytes") == 0)
		progress->bytes = num;
	else if (strcmp(key, "messages_todo") == 0)
		progress->messages_todo = num;
	else if (strcmp(key, "bytes_todo") == 0)
		progress->bytes_todo = num;
	else if (strcmp(key, "folder_n") == 0)
		progress->folder_n = num32;
	else if (strcmp(key, "folders") == 0)
		progress->folders = num32;
	else if (strcmp(key, "rate") == 0)
		progress->rate = num;
	else if (strcmp(key, "eta") == 0)
		progress->eta_secs = num32;
	/* else: a newer version's */
	return 0;
}

static void
migrate_state_append_progress(string_t *dest,
			      const struct migrate_progress *progress)
{
	str_printfa(dest, "progress_updated\t%lld\n"
		    "progress_messages\t%"PRIu64"\nprogress_bytes\t%"PRIu64"\n"
		    "progress_messages_todo\t%"PRIu64"\n"
		    "progress_bytes_todo\t%"PRIu64"\n"
		    "progress_folder_n\t%u\nprogress_folders\t%u\n"
		    "progress_rate\t%"PRIu64"\nprogress_eta\t%u\n",
		    (long long)progress->updated,
		    progress->messages, progress->bytes,
		    progress->messages_todo, progress->bytes_todo,
		    progress->folder_n, progress->folders,
		    progress->rate, progress->eta_secs);
	migrate_state_kv_append(dest, "progress_folder",
		progress->folder == NULL ? "" : progress->folder);
}

static int
migrate_state_parse_field(void *context, const char *key, const char *value)
{
	struct migrate_state_parse_context *ctx = context;
	struct migrate_state *state = ctx->state;
	pool_t pool = ctx->pool;
	uint64_t num;

	if (strcmp(key, "user") == 0)
		state->user = p_strdup(pool, value);
	else if (strcmp(key, "status") == 0) {
		ctx->have_status = TRUE;
		return migrate_state_status_parse(value, &state->status);
	}
	else if (strcmp(key, "phase") == 0)
		return migrate_phase_parse(value, &state->phase);
	else if (strcmp(key, "switch_reason") == 0)
		state->switch_reason = p_strdup_empty(pool, value);
	else if (strcmp(key, "last_error") == 0)
		state->last_error = p_strdup_empty(pool, value);
	else if (strcmp(key, "backend") == 0)
		state->backend = p_strdup_empty(pool, value);
	else if (strcmp(key, "log") == 0)
		state->log_path = p_strdup_empty(pool, value);
	else if (strcmp(key, "exit_code") == 0)
		return str_to_int(value, &state->exit_code);
	else if (str_begins_with(key, "progress_"))
		return migrate_state_parse_progress(state, pool, key + 9, value);
	else {
		static const char *const num_keys[] = {
			"started", "finished", "switched", "pid", "runs",
			"flags_unsure", "messages_copied",
			"bytes_copied", "messages_total", "bytes_total", NULL
		};
		if (!str_array_find(num_keys, key)) {
			/* newer versions may add fields */
			return 0;
		}
		if (str_to_uint64(value, &num) < 0)
			return -1;
		if (strcmp(key, "started") == 0)
			state->started = (time_t)num;
		else if (strcmp(key, "finished") == 0)
			state->finished = (time_t)num;
		else if (strcmp(key, "switched") == 0)
			state->switched = (time_t)num;
		else if (strcmp(key, "pid") == 0)
			state->pid = (pid_t)num;
		else if (strcmp(key, "runs") == 0)
			state->runs = (unsigned int)num;
		else if (strcmp(key, "flags_unsure") == 0)
			state->flags_unsure = num != 0;
		else if (strcmp(key, "messages_copied") == 0)
			state->messages_copied = num;
		else if (strcmp(key, "bytes_copied") == 0)
			state->bytes_copied = num;
		else if (strcmp(key, "messages_total") == 0)
			state->messages_total = num;
		else
			state->bytes_total = num;
	}
	return 0;
}

int migrate_state_parse(const char *data, pool_t pool,
			struct migrate_state *state_r, const char **error_r)
{
	struct migrate_state_parse_context ctx = {
		.state = state_r,
		.pool = pool,
	};

	i_zero(state_r);
	if (migrate_state_kv_parse(data, migrate_state_parse_field, &ctx,
				   error_r) < 0)
		return -1;
	/* "none": switched by migrate switch before any pass */
	if (state_r->user == NULL || !ctx.have_status) {
		*error_r = "user or status missing";
		return -1;
	}
	return 0;
}

void migrate_state_append(string_t *dest, const struct migrate_state *state)
{
	str_append(dest, "# dovecot-migrate account state\n");
	migrate_state_kv_append(dest, "user", state->user);
	migrate_state_kv_append(dest, "status",
				migrate_state_status_name(state->status));
	migrate_state_kv_append(dest, "phase", migrate_phase_name(state->phase));
	if (state->phase == MIGRATE_PHASE_SWITCHED) {
		str_printfa(dest, "switched\t%lld\n",
			    (long long)state->switched);
		migrate_state_kv_append(dest, "switch_reason",
			state->switch_reason == NULL ? "" :
			state->switch_reason);
	}
	str_printfa(dest, "started\t%lld\nfinished\t%lld\npid\t%ld\nruns\t%u\n"
		    "messages_copied\t%"PRIu64"\nbytes_copied\t%"PRIu64"\n"
		    "messages_total\t%"PRIu64"\nbytes_total\t%"PRIu64"\n"
		    "exit_code\t%d\n",
		    (long long)state->started, (long long)state->finished,
		    (long)state->pid, state->runs,
		    state->messages_copied, state->bytes_copied,
		    state->messages_total, state->bytes_total,
		    state->exit_code);
	migrate_state_kv_append(dest, "last_error",
		state->last_error == NULL ? "" : state->last_error);
	if (state->backend != NULL)
		migrate_state_kv_append(dest, "backend", state->backend);
	if (state->flags_unsure)
		str_append(dest, "flags_unsure\t1\n");
	if (state->log_path != NULL)
		migrate_state_kv_append(dest, "log", state->log_path);
	/* only a running pass has one */
	if (state->status == MIGRATE_STATE_RUNNING &&
	    state->progress.updated != 0)
		migrate_state_append_progress(dest, &state->progress);
}

const char *migrate_state_file_name(const char *user, const char *suffix)
{
	string_t *str = t_str_new(64);
	const char *p;

	/* readable for ordinary addresses, unambiguous for anything else */
	for (p = user; *p != '\0'; p++) {
		if (i_isalnum(*p) || strchr("@.-_+", *p) != NULL)
			str_append_c(str, *p);
		else
			str_printfa(str, "%%%02x", (unsigned char)*p);
	}
	if (user[0] == '.')
		str_insert(str, 0, "%2e");
	str_append(str, suffix);
	return str_c(str);
}
