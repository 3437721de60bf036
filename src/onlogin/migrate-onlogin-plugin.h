#ifndef MIGRATE_ONLOGIN_PLUGIN_H
#define MIGRATE_ONLOGIN_PLUGIN_H

struct module;

extern const char *migrate_onlogin_plugin_version;

void migrate_onlogin_plugin_init(struct module *module);
void migrate_onlogin_plugin_deinit(void);

#endif
