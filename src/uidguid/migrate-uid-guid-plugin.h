#ifndef MIGRATE_UID_GUID_PLUGIN_H
#define MIGRATE_UID_GUID_PLUGIN_H

void migrate_uid_guid_plugin_init(struct module *module);
void migrate_uid_guid_plugin_deinit(void);

#endif
