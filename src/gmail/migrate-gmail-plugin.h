#ifndef MIGRATE_GMAIL_PLUGIN_H
#define MIGRATE_GMAIL_PLUGIN_H

#include "mail-storage.h"
#include "migrate-gmail.h"

/* exported for the doveadm plugin, found by MIGRATE_GMAIL_SYNC_SYMBOL */
migrate_gmail_sync_func_t migrate_gmail_sync;

void migrate_gmail_plugin_init(struct module *module);
void migrate_gmail_plugin_deinit(void);

#endif
