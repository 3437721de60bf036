/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "migrate-settings.h"
#ifdef MIGRATE_DOVECOT24
#  include "str-parse.h"
#  include "settings.h"
#  include "settings-parser.h"
#else
#  include "settings-parser.h"
#endif

/* a typo, not another word */
#define MIGRATE_SETTING_MAX_DISTANCE 3

const struct migrate_setting_def migrate_setting_defs[MIGRATE_SETTING_COUNT] = {
#define MIGRATE_SETTING_DEF(name, plugin, kind) \
	{ #name, plugin, MIGRATE_SETTING_KIND_##kind },
	MIGRATE_SETTINGS(MIGRATE_SETTING_DEF)
#undef MIGRATE_SETTING_DEF
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

int migrate_parse_size(const char *str, uoff_t *bytes_r, const char **error_r)
{
#ifdef MIGRATE_DOVECOT24
	return str_parse_get_size(str, bytes_r, error_r);
#else
	return settings_get_size(str, bytes_r, error_r);
#endif
}

int migrate_parse_time(const char *str, unsigned int *secs_r,
		       const char **error_r)
{
#ifdef MIGRATE_DOVECOT24
	return str_parse_get_interval(str, secs_r, error_r);
#else
	return settings_get_time(str, secs_r, error_r);
#endif
}

static bool migrate_setting_value_in(const char *value, const char *values)
{
	return str_array_icase_find(t_strsplit(values, "|"), value);
}

int migrate_setting_check(const struct migrate_setting_def *def,
			  const char *value, const char **error_r)
{
	const char *expected = NULL, *error;
	unsigned int num;
	uoff_t size;

	if (value == NULL || *value == '\0')
		return 0;
	switch (def->kind) {
	case MIGRATE_SETTING_KIND_STR:
	case MIGRATE_SETTING_KIND_PATH:
	case MIGRATE_SETTING_KIND_LITERAL:
		return 0;
	case MIGRATE_SETTING_KIND_BOOL:
		if (!migrate_setting_value_in(value, "yes|no|y|n|1|0|true|false"))
			expected = "yes or no";
		break;
	case MIGRATE_SETTING_KIND_UINT:
		if (str_to_uint(value, &num) < 0)
			expected = "a number";
		break;
	case MIGRATE_SETTING_KIND_SIZE:
		if (migrate_parse_size(value, &size, &error) < 0)
			expected = "a size, e.g. 512k or 10M";
		break;
	case MIGRATE_SETTING_KIND_TIME:
		if (migrate_parse_time(value, &num, &error) < 0)
			expected = "a time, e.g. 60s or 5m";
		break;
	case MIGRATE_SETTING_KIND_UNMATCHED:
		if (!migrate_setting_value_in(value, "fail|continue"))
			expected = "fail or continue";
		break;
	case MIGRATE_SETTING_KIND_GUARD:
		if (!migrate_setting_value_in(value,
				"mirror|rebuild|switched"))
			expected = "mirror, rebuild or switched";
		break;
	}
	if (expected == NULL)
		return 0;
	*error_r = t_strdup_printf("%s: invalid value '%s' (expected %s)",
				   def->name, value, expected);
	return -1;
}

#ifdef MIGRATE_DOVECOT24
static const struct setting_define migrate_setting_defines[] = {
#define MIGRATE_SETTING_DEFINE(name, plugin, kind) \
	{ .type = MIGRATE_SETTING_KIND_##kind == \
		MIGRATE_SETTING_KIND_LITERAL ? SET_STR_NOVARS : SET_STR, \
	  .key = #name, \
	  .offset = offsetof(struct migrate_settings, \
			     values[MIGRATE_SETTING_IDX_##name]) },
	MIGRATE_SETTINGS(MIGRATE_SETTING_DEFINE)
#undef MIGRATE_SETTING_DEFINE
	SETTING_DEFINE_LIST_END
};

/* unset is "": each module applies its documented default */
static const struct migrate_settings migrate_default_settings = {
	.values = { [0 ... MIGRATE_SETTING_COUNT - 1] = "" },
};

static bool
migrate_settings_check(void *_set, pool_t pool ATTR_UNUSED,
		       const char **error_r)
{
	struct migrate_settings *set = _set;
	unsigned int i;

	for (i = 0; i < MIGRATE_SETTING_COUNT; i++) {
		if (migrate_setting_check(&migrate_setting_defs[i],
					  set->values[i], error_r) < 0)
			return FALSE;
	}
	return TRUE;
}

const struct setting_parser_info migrate_setting_parser_info = {
	.name = "migrate",
	.defines = migrate_setting_defines,
	.defaults = &migrate_default_settings,
	.struct_size = sizeof(struct migrate_settings),
	.pool_offset1 = 1 + offsetof(struct migrate_settings, pool),
	.check_func = migrate_settings_check,
};

const char *migrate_settings_lookup(struct event *event, const char *name)
{
	const struct migrate_setting_def *def = migrate_setting_find(name);
	const struct migrate_settings *set;
	const char *value, *error;

	i_assert(def != NULL);
	if (settings_get(event, &migrate_setting_parser_info, 0,
			 &set, &error) < 0) {
		/* a value the checks refuse (a userdb field, a -o): going
		   on without it would ignore what the admin asked for */
		i_fatal("%s", error);
	}
	value = set->values[def - migrate_setting_defs];
	value = *value == '\0' ? NULL : t_strdup(value);
	settings_free(set);
	return value;
}
#endif
