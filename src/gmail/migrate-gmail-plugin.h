#ifndef MIGRATE_GMAIL_PLUGIN_H
#define MIGRATE_GMAIL_PLUGIN_H

void migrate_gmail_plugin_init(struct module *module);
void migrate_gmail_plugin_deinit(void);

#endif
