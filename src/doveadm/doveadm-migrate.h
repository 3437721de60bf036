#ifndef DOVEADM_MIGRATE_H
#define DOVEADM_MIGRATE_H

#include "doveadm.h"
#include "doveadm-cmd.h"

extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_verify_uidl;

void doveadm_migrate_plugin_init(struct module *module);
void doveadm_migrate_plugin_deinit(void);

#endif
