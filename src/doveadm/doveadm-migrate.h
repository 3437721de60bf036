#ifndef DOVEADM_MIGRATE_H
#define DOVEADM_MIGRATE_H

#include "doveadm.h"
#include "doveadm-cmd.h"

struct module;
struct migrate_state;
struct file_lock;

extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_verify_uidl;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_run;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_batch;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_archive;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_gmail;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_status;

/* A doveadm/doveconf child process: the migration runs the same doveadm
   binary with the same config, so nothing secret goes through argv. */
struct doveadm_migrate_child {
	int exit_code;
	/* stdout and non-error stderr lines (up to 64 KiB) */
	string_t *output;
	/* the last Error/Panic/Fatal lines */
	ARRAY(char *) errors;
};

struct doveadm_migrate_lock {
	char *path;
	int fd;
	struct file_lock *lock;
};

const char *doveadm_migrate_state_dir(void);

/* The path of binary_name beside the running doveadm (data stack). */
const char *doveadm_migrate_binary(const char *binary_name);
/* In a forked child: send stdout and stderr to out_fd, stdin from
   /dev/null, and exec binary with a clean environment (see
   doveadm_migrate_child_env()). Doesn't return. */
void doveadm_migrate_child_exec(const char *binary, const char *const *args,
				int out_fd) ATTR_NORETURN;
/* Run binary_name (found beside the running doveadm) with args; echo
   copies its output to stderr as it comes. Returns 0 if it exited 0, -1
   if not. Free the result with doveadm_migrate_child_free(). */
int doveadm_migrate_child_run(const char *binary_name,
			      const char *const *args, bool echo,
			      struct doveadm_migrate_child *child_r);
void doveadm_migrate_child_free(struct doveadm_migrate_child *child);
/* The child's most telling error message (data stack). */
const char *
doveadm_migrate_child_last_error(const struct doveadm_migrate_child *child);
/* Map a failed child's errors to a MIGRATE_EXIT_* code and a short cause
   ("login refused ...", "connection refused", "TLS failure", ...). */
int doveadm_migrate_classify(const struct doveadm_migrate_child *child,
			     const char **cause_r);
/* doveconf -h KEY of the running config ("" if unset). */
const char *doveadm_migrate_conf_get(const char *key);

/* Returns 1 if read, 0 if the user has no state, -1 on error. */
int doveadm_migrate_state_read(const char *user, pool_t pool,
			       struct migrate_state *state_r,
			       const char **error_r);
int doveadm_migrate_state_read_path(const char *path, pool_t pool,
				    struct migrate_state *state_r,
				    const char **error_r);
int doveadm_migrate_state_write(const struct migrate_state *state,
				const char **error_r);
/* Take the user's run lock. Returns 1 if taken (released at once if
   try_only: then 1 means nobody holds it), 0 if another process holds
   it, -1 on error. */
int doveadm_migrate_lock(const char *user, bool try_only,
			 struct doveadm_migrate_lock *lock_r,
			 const char **error_r);
void doveadm_migrate_unlock(struct doveadm_migrate_lock *lock);

void doveadm_migrate_plugin_init(struct module *module);
void doveadm_migrate_plugin_deinit(void);

#endif
