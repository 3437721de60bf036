#ifndef MIGRATE_SETTINGS_H
#define MIGRATE_SETTINGS_H

#include "migrate-compat.h"

struct event;
struct setting_parser_info;

/* Every migrate_* setting the modules know: its name, the mail plugin
   that reads it (NULL for doveadm migrate itself) and the kind of value.
   Dovecot 2.3 passes any plugin {} key without a word, so doveadm migrate
   reports a misspelled one from this table; Dovecot 2.4 learns the table
   from the settings module (src/settings) and checks names and values
   itself when it reads the config. */
#define MIGRATE_SETTINGS(X) \
	X(migrate_state_dir,			NULL,		PATH) \
	X(migrate_source_password,		NULL,		LITERAL) \
	X(migrate_guard,			NULL,		GUARD) \
	X(migrate_outcome_fd,			NULL,		UINT) \
	X(migrate_progress_fd,			NULL,		UINT) \
	X(migrate_progress_interval,		NULL,		TIME) \
	X(migrate_busy_wait,			NULL,		TIME) \
	X(migrate_folder_map,			NULL,		BOOL) \
	X(migrate_folder_map_builtin,		NULL,		BOOL) \
	X(migrate_folder_map_file,		NULL,		PATH) \
	X(migrate_folder_map_strip_prefix,	NULL,		LITERAL) \
	X(migrate_run_workers,			NULL,		UINT) \
	X(migrate_oauth2_token_url,		NULL,		LITERAL) \
	X(migrate_oauth2_grant,			NULL,		STR) \
	X(migrate_oauth2_client_id,		NULL,		LITERAL) \
	X(migrate_oauth2_client_secret,		NULL,		LITERAL) \
	X(migrate_oauth2_scope,			NULL,		LITERAL) \
	X(migrate_oauth2_refresh_token,		NULL,		LITERAL) \
	X(migrate_oauth2_token_command,		NULL,		LITERAL) \
	X(migrate_oauth2_token_command_timeout,	NULL,		TIME) \
	X(migrate_oauth2_refresh_at,		NULL,		UINT) \
	X(migrate_pop3_mailbox,			"migrate_pop3",	STR) \
	X(migrate_pop3_mailboxes,		"migrate_pop3",	STR) \
	X(migrate_pop3_unmatched,		"migrate_pop3",	UNMATCHED) \
	X(migrate_pop3_uidl_format,		"migrate_pop3",	LITERAL) \
	X(migrate_pop3_uidl_detect,		"migrate_pop3",	BOOL) \
	X(migrate_pop3_ignore_headers,		"migrate_pop3",	STR) \
	X(migrate_pop3_size_tolerance_bytes,	"migrate_pop3",	UINT) \
	X(migrate_pop3_size_tolerance_percent,	"migrate_pop3",	UINT) \
	X(migrate_pop3_skip_size_match,		"migrate_pop3",	BOOL) \
	X(migrate_pop3_size_connections,	"migrate_pop3",	UINT) \
	X(migrate_pop3_cache,			"migrate_pop3",	BOOL) \
	X(migrate_pop3_cache_dir,		"migrate_pop3",	PATH) \
	X(migrate_pop3_fix_dbox_uidl_header,	"migrate_pop3",	BOOL) \
	X(migrate_gmail_archive_folder,		"migrate_gmail", STR) \
	X(migrate_gmail_include,		"migrate_gmail", STR) \
	X(migrate_gmail_label_keywords,		"migrate_gmail", BOOL) \
	X(migrate_gmail_pop3_uidls,		"migrate_gmail", BOOL) \
	X(migrate_gmail_expunge,		"migrate_gmail", BOOL) \
	X(migrate_throttle_bytes,		"migrate_throttle", SIZE) \
	X(migrate_throttle_msgs,		"migrate_throttle", UINT) \
	X(migrate_throttle_global_bytes,	"migrate_throttle", SIZE) \
	X(migrate_throttle_global_msgs,		"migrate_throttle", UINT) \
	X(migrate_throttle_global_file,		"migrate_throttle", PATH) \
	X(migrate_onlogin,			"migrate_onlogin", BOOL)

enum migrate_setting_kind {
	/* text; Dovecot expands %variables in it */
	MIGRATE_SETTING_KIND_STR,
	/* a path; %variables and ~/ */
	MIGRATE_SETTING_KIND_PATH,
	/* text taken as written (formats, passwords) */
	MIGRATE_SETTING_KIND_LITERAL,
	MIGRATE_SETTING_KIND_BOOL,
	MIGRATE_SETTING_KIND_UINT,
	MIGRATE_SETTING_KIND_SIZE,
	MIGRATE_SETTING_KIND_TIME,
	/* fail | continue */
	MIGRATE_SETTING_KIND_UNMATCHED,
	/* mirror | switched (set by migrate run for its dsync child) */
	MIGRATE_SETTING_KIND_GUARD,
};

enum migrate_setting_idx {
#define MIGRATE_SETTING_IDX(name, plugin, kind) MIGRATE_SETTING_IDX_##name,
	MIGRATE_SETTINGS(MIGRATE_SETTING_IDX)
#undef MIGRATE_SETTING_IDX
	MIGRATE_SETTING_COUNT
};

struct migrate_setting_def {
	const char *name;
	/* the mail plugin that reads it, NULL for doveadm migrate itself */
	const char *plugin;
	enum migrate_setting_kind kind;
};

extern const struct migrate_setting_def
migrate_setting_defs[MIGRATE_SETTING_COUNT];

/* The setting called name, or NULL if no module knows it. */
const struct migrate_setting_def *migrate_setting_find(const char *name);
/* The known setting name closest to an unknown one (a typo: at most 3
   letters differ, added or removed), or NULL. */
const char *migrate_setting_suggest(const char *name);
/* Checks a value against its setting's kind (an empty value is unset and
   always fine). Returns 0, or -1 with error_r naming the setting. */
int migrate_setting_check(const struct migrate_setting_def *def,
			  const char *value, const char **error_r);

#ifdef MIGRATE_DOVECOT24
/* Dovecot 2.4: all migrate_* settings as one settings struct, every value
   a string in the order of MIGRATE_SETTINGS ("" when unset). */
struct migrate_settings {
	pool_t pool;
	const char *values[MIGRATE_SETTING_COUNT];
};
extern const struct setting_parser_info migrate_setting_parser_info;

/* The value of a migrate_* setting for the settings event (a mail user's,
   or doveadm's), NULL when unset or empty, allocated from the data stack.
   Dovecot 2.3 has plugin {} instead (see migrate-user-settings.h). */
const char *migrate_settings_lookup(struct event *event, const char *name);
#endif

#endif
