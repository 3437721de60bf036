#ifndef MIGRATE_THROTTLE_PLUGIN_H
#define MIGRATE_THROTTLE_PLUGIN_H

void migrate_throttle_plugin_init(struct module *module);
void migrate_throttle_plugin_deinit(void);

#endif
