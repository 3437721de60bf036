/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "settings-parser.h"
#include "migrate-settings.h"

/* Dovecot 2.4's config process looks up <module>_set_infos in every
   module of MODULEDIR/settings: the migrate_* settings of all plugins and
   of doveadm migrate. */
const struct setting_parser_info *migrate_settings_set_infos[] = {
	&migrate_setting_parser_info,
	NULL
};
