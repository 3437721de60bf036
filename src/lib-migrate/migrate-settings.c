/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "migrate-settings.h"

/* a typo, not another word */
#define MIGRATE_SETTING_MAX_DISTANCE 3

static const struct migrate_setting_def migrate_setting_defs[] = {
	{ "migrate_state_dir", NULL },
	{ "migrate_source_password", NULL },
	{ "migrate_guard", NULL },
	{ "migrate_outcome_fd", NULL },
	{ "migrate_progress_fd", NULL },
	{ "migrate_progress_interval", NULL },

	{ "migrate_pop3_mailbox", "migrate_pop3" },
	{ "migrate_pop3_mailboxes", "migrate_pop3" },
	{ "migrate_pop3_unmatched", "migrate_pop3" },
	{ "migrate_pop3_uidl_format", "migrate_pop3" },
	{ "migrate_pop3_uidl_detect", "migrate_pop3" },
	{ "migrate_pop3_ignore_headers", "migrate_pop3" },
	{ "migrate_pop3_size_tolerance_bytes", "migrate_pop3" },
	{ "migrate_pop3_size_tolerance_percent", "migrate_pop3" },
	{ "migrate_pop3_skip_size_match", "migrate_pop3" },
	{ "migrate_pop3_cache", "migrate_pop3" },
	{ "migrate_pop3_cache_dir", "migrate_pop3" },
	{ "migrate_pop3_fix_dbox_uidl_header", "migrate_pop3" },

	{ "migrate_gmail_archive_folder", "migrate_gmail" },
	{ "migrate_gmail_include", "migrate_gmail" },
	{ "migrate_gmail_label_keywords", "migrate_gmail" },
	{ "migrate_gmail_pop3_uidls", "migrate_gmail" },
	{ "migrate_gmail_expunge", "migrate_gmail" },

	{ "migrate_throttle_bytes", "migrate_throttle" },
	{ "migrate_throttle_msgs", "migrate_throttle" },
	{ "migrate_throttle_global_bytes", "migrate_throttle" },
	{ "migrate_throttle_global_msgs", "migrate_throttle" },
	{ "migrate_throttle_global_file", "migrate_throttle" },

	{ "migrate_onlogin", "migrate_onlogin" },
};

const struct migrate_setting_def *migrate_setting_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(migrate_setting_defs); i++) {
		if (strcmp(migrate_setting_defs[i].name, name) == 0)
			return &migrate_setting_defs[i];
	}
	return NULL;
}

/* Levenshtein distance, stopping early past max */
static unsigned int
migrate_setting_distance(const char *a, const char *b, unsigned int max)
{
	size_t alen = strlen(a), blen = strlen(b), i, j;
	unsigned int *prev, *cur, *tmp, best, cost;

	if ((alen > blen ? alen - blen : blen - alen) > max)
		return max + 1;
	prev = t_new(unsigned int, blen + 1);
	cur = t_new(unsigned int, blen + 1);
	for (j = 0; j <= blen; j++)
		prev[j] = j;
	for (i = 1; i <= alen; i++) {
		cur[0] = i;
		best = cur[0];
		for (j = 1; j <= blen; j++) {
			cost = a[i - 1] == b[j - 1] ? 0 : 1;
			cur[j] = I_MIN(I_MIN(prev[j] + 1, cur[j - 1] + 1),
				       prev[j - 1] + cost);
			best = I_MIN(best, cur[j]);
		}
		if (best > max)
			return max + 1;
		tmp = prev; prev = cur; cur = tmp;
	}
	return prev[blen];
}

const char *migrate_setting_suggest(const char *name)
{
	const char *best = NULL;
	unsigned int i, dist, best_dist = MIGRATE_SETTING_MAX_DISTANCE + 1;

	for (i = 0; i < N_ELEMENTS(migrate_setting_defs); i++) T_BEGIN {
		dist = migrate_setting_distance(name,
			migrate_setting_defs[i].name, best_dist - 1);
		if (dist < best_dist) {
			best_dist = dist;
			best = migrate_setting_defs[i].name;
		}
	} T_END;
	return best;
}
