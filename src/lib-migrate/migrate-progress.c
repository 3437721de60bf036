/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "strescape.h"
#include "migrate-progress.h"

#define MIGRATE_PROGRESS_RECORD_VERSION "V1"

void migrate_progress_record(char buf[MIGRATE_PROGRESS_RECORD_SIZE],
			     uint64_t messages, uint64_t bytes,
			     const char *folder)
{
	string_t *str = t_str_new(MIGRATE_PROGRESS_RECORD_SIZE);
	size_t max = MIGRATE_PROGRESS_RECORD_SIZE - 1;

	str_printfa(str, MIGRATE_PROGRESS_RECORD_VERSION" %"PRIu64" %"PRIu64" ",
		    messages, bytes);
	str_append_tabescaped(str, folder == NULL ? "" : folder);
	if (str_len(str) > max) {
		/* cut the name, never in the middle of an escape or of a
		   UTF-8 character */
		str_truncate_utf8(str, max);
		while (str_len(str) > 0 &&
		       str_data(str)[str_len(str) - 1] == '\001')
			str_truncate(str, str_len(str) - 1);
	}
	memset(buf, ' ', MIGRATE_PROGRESS_RECORD_SIZE);
	memcpy(buf, str_data(str), str_len(str));
	buf[MIGRATE_PROGRESS_RECORD_SIZE - 1] = '\n';
}

int migrate_progress_record_parse(const char *data, size_t size, pool_t pool,
				  struct migrate_progress *progress)
{
	const char *line, *const *args, *p;

	line = t_strndup(data, size);
	/* the padding, and the LF */
	p = line + strlen(line);
	while (p > line && (p[-1] == ' ' || p[-1] == '\n'))
		p--;
	line = t_strdup_until(line, p);
	if (*line == '\0')
		return 0;

	args = t_strsplit(line, " ");
	if (str_array_length(args) < 3 ||
	    strcmp(args[0], MIGRATE_PROGRESS_RECORD_VERSION) != 0 ||
	    str_to_uint64(args[1], &progress->messages) < 0 ||
	    str_to_uint64(args[2], &progress->bytes) < 0)
		return -1;
	/* the folder: all after the third space (a name may hold spaces) */
	p = strchr(strchr(strchr(line, ' ') + 1, ' ') + 1, ' ');
	progress->folder = p == NULL || p[1] == '\0' ? NULL :
		p_strdup(pool, t_str_tabunescape(p + 1));
	return 1;
}

void migrate_progress_estimate(struct migrate_progress *progress,
			       unsigned int elapsed_secs)
{
	progress->rate = elapsed_secs == 0 ? 0 :
		progress->bytes / elapsed_secs;
	progress->eta_secs = 0;
	if (progress->rate > 0 && progress->bytes_todo > progress->bytes) {
		progress->eta_secs = (progress->bytes_todo - progress->bytes +
				      progress->rate - 1) / progress->rate;
	}
}

const char *migrate_size_str(uint64_t bytes)
{
	static const char *const units[] = {
		"B", "KiB", "MiB", "GiB", "TiB", "PiB"
	};
	unsigned int unit = 0;
	uint64_t scaled = bytes, rest = 0;

	while (scaled >= 1024 && unit < N_ELEMENTS(units) - 1) {
		rest = scaled % 1024;
		scaled /= 1024;
		unit++;
	}
	if (unit == 0)
		return t_strdup_printf("%"PRIu64" B", bytes);
	if (scaled >= 100) {
		/* "300 MiB": three digits say enough */
		return t_strdup_printf("%"PRIu64" %s",
				       scaled + (rest >= 512 ? 1 : 0),
				       units[unit]);
	}
	/* "1.5 KiB", "42.0 MiB": one decimal, rounded */
	rest = (rest * 10 + 512) / 1024;
	if (rest == 10) {
		scaled++;
		rest = 0;
	}
	return t_strdup_printf("%"PRIu64".%"PRIu64" %s", scaled, rest,
			       units[unit]);
}

const char *migrate_duration_str(unsigned int secs)
{
	if (secs < 60)
		return t_strdup_printf("%us", secs);
	if (secs < 60 * 60)
		return t_strdup_printf("%um%02us", secs / 60, secs % 60);
	if (secs < 24 * 60 * 60) {
		return t_strdup_printf("%uh%02um", secs / 3600,
				       (secs % 3600) / 60);
	}
	return t_strdup_printf("%ud%02uh", secs / 86400,
			       (secs % 86400) / 3600);
}

const char *migrate_progress_str(const struct migrate_progress *progress)
{
	string_t *str = t_str_new(128);

	if (progress->folder != NULL) {
		str_append(str, progress->folder);
		if (progress->folders > 0) {
			str_printfa(str, " (%u/%u)", progress->folder_n,
				    progress->folders);
		}
		str_append(str, ": ");
	}
	str_printfa(str, "%"PRIu64, progress->messages);
	if (progress->messages_todo > 0)
		str_printfa(str, " of %"PRIu64, progress->messages_todo);
	str_printfa(str, " messages, %s", migrate_size_str(progress->bytes));
	if (progress->bytes_todo > 0)
		str_printfa(str, " of %s", migrate_size_str(progress->bytes_todo));
	if (progress->rate > 0)
		str_printfa(str, ", %s/s", migrate_size_str(progress->rate));
	if (progress->eta_secs > 0) {
		str_printfa(str, ", %s left",
			    migrate_duration_str(progress->eta_secs));
	}
	return str_c(str);
}

const char *migrate_progress_short_str(const struct migrate_progress *progress)
{
	string_t *str = t_str_new(64);

	if (progress->folder != NULL) {
		str_append(str, progress->folder);
		if (progress->folders > 0 && progress->folder_n > 0) {
			str_printfa(str, " %u/%u", progress->folder_n,
				    progress->folders);
		}
	}
	if (progress->bytes_todo > 0) {
		uint64_t pct = progress->bytes >= progress->bytes_todo ? 100 :
			progress->bytes * 100 / progress->bytes_todo;

		str_printfa(str, "%s%"PRIu64"%%", str_len(str) > 0 ? ", " : "",
			    pct);
	} else {
		str_printfa(str, "%s%"PRIu64" copied",
			    str_len(str) > 0 ? ", " : "", progress->messages);
	}
	if (progress->eta_secs > 0) {
		str_printfa(str, ", %s left",
			    migrate_duration_str(progress->eta_secs));
	}
	return str_c(str);
}

unsigned int
migrate_progress_batch_eta(const struct migrate_progress_account *accounts,
			   unsigned int count, unsigned int elapsed_secs,
			   uint64_t *bytes_left_r)
{
	uint64_t known_sum = 0, done = 0, left = 0, size, rate;
	unsigned int i, known = 0;

	*bytes_left_r = 0;
	for (i = 0; i < count; i++) {
		done += accounts[i].bytes_done;
		if (accounts[i].finished) {
			known_sum += accounts[i].bytes_done;
			known++;
		} else if (accounts[i].bytes_todo > 0) {
			known_sum += I_MAX(accounts[i].bytes_todo,
					   accounts[i].bytes_done);
			known++;
		}
	}
	if (known == 0)
		return 0;
	for (i = 0; i < count; i++) {
		if (accounts[i].finished)
			continue;
		size = accounts[i].bytes_todo > 0 ? accounts[i].bytes_todo :
			known_sum / known;
		if (size > accounts[i].bytes_done)
			left += size - accounts[i].bytes_done;
	}
	*bytes_left_r = left;
	if (elapsed_secs == 0 || done == 0)
		return 0;
	rate = done / elapsed_secs;
	if (rate == 0)
		rate = 1;
	return (left + rate - 1) / rate;
}
