/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "module-dir.h"
#include "doveadm.h"
#include "doveadm-migrate.h"

const char *doveadm_migrate_plugin_version = DOVECOT_ABI_VERSION;

static struct doveadm_cmd_ver2 *const doveadm_migrate_commands[] = {
	&doveadm_cmd_migrate_archive,
	&doveadm_cmd_migrate_batch,
	&doveadm_cmd_migrate_check,
	&doveadm_cmd_migrate_copy_new,
	&doveadm_cmd_migrate_gmail,
	&doveadm_cmd_migrate_run,
	&doveadm_cmd_migrate_status,
	&doveadm_cmd_migrate_switch,
	&doveadm_cmd_migrate_verify,
	&doveadm_cmd_migrate_verify_uidl,
	&doveadm_cmd_migrate_worker,
};

void doveadm_migrate_plugin_init(struct module *module)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(doveadm_migrate_commands); i++)
		doveadm_cmd_register_ver2(doveadm_migrate_commands[i]);
	doveadm_migrate_guard_init(module);
	doveadm_migrate_outcome_init(module);
	doveadm_migrate_folder_map_init(module);
	doveadm_migrate_oauth2_init(module);
}

void doveadm_migrate_plugin_deinit(void)
{
	doveadm_migrate_child_deinit();
	doveadm_migrate_oauth2_deinit();
	doveadm_migrate_outcome_deinit();
	doveadm_migrate_guard_deinit();
}
