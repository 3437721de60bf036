#ifndef MIGRATE_COMPAT_H
#define MIGRATE_COMPAT_H

/* What differs between the Dovecot 2.3 and 2.4 APIs the modules use, in
   one place, so that the rest of the code reads the same for both. The
   version comes from Dovecot's own config.h (through lib.h). */

#if DOVECOT_PREREQ(2, 4, 0)
#  define MIGRATE_DOVECOT24 1
#endif

#ifndef MIGRATE_DOVECOT24
/* 2.4 gave str_begins() a suffix output and named the test _with */
#  define str_begins_with(haystack, needle) str_begins(haystack, needle)
#endif

#ifndef MIGRATE_DOVECOT24
/* 2.4's array_bsearch() returns a const pointer; a modifiable one is asked
   for by name */
#  define array_bsearch_modifiable(array, key, cmp) \
	array_bsearch(array, key, cmp)
#endif

/* How a migrate_* setting is named in a doveadm -o override: 2.3 keeps
   plugin settings in the plugin {} section, 2.4 has no such section. */
#ifdef MIGRATE_DOVECOT24
#  define MIGRATE_SETTING_OVERRIDE(name) name
#else
#  define MIGRATE_SETTING_OVERRIDE(name) "plugin/" name
#endif

/* doveadm -o options that make a mail command read the old server (the
   user's settings with the storage pointed at imapc), as
   `backup -R imapc:` does for dsync's second user */
#ifdef MIGRATE_DOVECOT24
#  define MIGRATE_IMAPC_OVERRIDES \
	"-o", "mail_driver=imapc", "-o", "mail_path="
#else
#  define MIGRATE_IMAPC_OVERRIDES "-o", "mail_location=imapc:"
#endif

/* Sizes ("10M") and intervals ("5 min") as Dovecot's settings write
   them: 2.3 parses them in lib-settings, 2.4 in lib/str-parse. */
int migrate_parse_size(const char *str, uoff_t *bytes_r,
		       const char **error_r);
int migrate_parse_time(const char *str, unsigned int *secs_r,
		       const char **error_r);

#endif
