/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "settings-parser.h"
#include "mail-user.h"
#include "mail-storage-settings.h"
#include "mail-storage-service.h"
#include "doveadm-mail.h"
#include "migrate-common.h"
#include "doveadm-migrate.h"

/* The old server as a mail user of its own: the user's settings with
   mail_location = imapc:, as dsync makes it for `backup -R imapc:`. */

/* bodies are fetched one by one unless imapc may pipeline them: without
   prefetching every download costs a round trip */
#define DOVEADM_MIGRATE_SOURCE_PREFETCH "32"

int doveadm_migrate_source_user_create(struct doveadm_mail_cmd_context *ctx,
				       struct mail_user *user,
				       const char *cmd_name,
				       struct mail_user **src_user_r)
{
	struct setting_parser_context *set_parser;
	const char *error;
	int ret;

	set_parser = mail_storage_service_user_get_settings_parser(
		ctx->cur_service_user);
	if (settings_parse_keyvalue(set_parser, "mail_location", "imapc:") < 0)
		i_unreached();
	if (mail_user_set_get_storage_set(user)->mail_prefetch_count == 0 &&
	    settings_parse_keyvalue(set_parser, "mail_prefetch_count",
			DOVEADM_MIGRATE_SOURCE_PREFETCH) < 0)
		i_unreached();
	ret = mail_storage_service_next(ctx->storage_service,
					ctx->cur_service_user, src_user_r,
					&error);
	if (ret < 0) {
		i_error("%s: user %s: can't set up the source: %s", cmd_name,
			user->username, error);
		ctx->exit_code = ret == -1 ? MIGRATE_EXIT_TEMPFAIL :
			MIGRATE_EXIT_CONFIG;
		return -1;
	}
	(*src_user_r)->admin = TRUE;
	return 0;
}
