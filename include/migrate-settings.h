#ifndef MIGRATE_SETTINGS_H
#define MIGRATE_SETTINGS_H

/* Every migrate_* setting the modules know, and the mail plugin that
   reads it, so that a misspelled one (Dovecot 2.3 passes any plugin {}
   key without a word) and one of a plugin that isn't loaded are
   reported instead of being ignored. */

struct migrate_setting_def {
	const char *name;
	/* the mail plugin that reads it, NULL for doveadm migrate itself */
	const char *plugin;
};

/* The setting called name, or NULL if no module knows it. */
const struct migrate_setting_def *migrate_setting_find(const char *name);
/* The known setting name closest to an unknown one (a typo: at most 3
   letters differ, added or removed), or NULL. */
const char *migrate_setting_suggest(const char *name);

#endif
