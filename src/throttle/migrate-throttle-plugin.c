/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "istream.h"
#include "file-lock.h"
#include "settings-parser.h"
#include "mail-user.h"
#include "mail-storage-private.h"
#include "mail-storage-hooks.h"
#include "imapc-storage.h"
#include "migrate-token-bucket.h"
#include "migrate-throttle-plugin.h"
#include "migrate-user-settings.h"

#include <fcntl.h>
#include <unistd.h>
#include <time.h>

/* migrate_throttle: caps how fast a migration reads the old server, in
   bytes and messages a second, per account (this process) and globally
   (every migration on this machine, through a locked state file). Each
   message body dsync downloads is charged after it arrives; the process
   then sleeps until the buckets are out of debt, so the average rate
   holds (Dovecot itself has no way to throttle a sync). */

#define MIGRATE_THROTTLE_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, migrate_throttle_user_module)
#define MIGRATE_THROTTLE_MAIL_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, migrate_throttle_mail_module)

#define MIGRATE_THROTTLE_DEFAULT_GLOBAL_FILE \
	"/var/lib/dovecot/migrate-throttle/throttle.global"
/* the global buckets may save up this many seconds of rate */
#define MIGRATE_THROTTLE_BURST_SECS 1

struct migrate_throttle_user {
	union mail_user_module_context module_ctx;

	struct migrate_token_bucket bytes, msgs;
	uint64_t global_bytes_rate, global_msgs_rate;
	const char *global_path;
	int global_fd;
	uint64_t slept_usecs, charged_bytes, charged_msgs;
};

struct migrate_throttle_mail {
	union mail_module_context module_ctx;
	bool charged:1;
};

/* The global buckets' file: both buckets, as the struct (machine-local) */
struct migrate_throttle_global_state {
	struct migrate_token_bucket bytes, msgs;
};

const char *migrate_throttle_plugin_version = DOVECOT_ABI_VERSION;

static MODULE_CONTEXT_DEFINE_INIT(migrate_throttle_user_module,
				  &mail_user_module_register);
static MODULE_CONTEXT_DEFINE_INIT(migrate_throttle_mail_module,
				  &mail_module_register);

static uint64_t migrate_throttle_now(void)
{
	struct timespec ts;

	/* monotonic and shared by all processes: the global file holds
	   times on this clock */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		i_fatal("clock_gettime() failed: %m");
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t
migrate_throttle_global_take(struct mail_user *user,
			     struct migrate_throttle_user *tuser,
			     uint64_t now, uint64_t bytes, uint64_t msgs)
{
	struct migrate_throttle_global_state state;
	struct file_lock_settings lock_set = {
		.lock_method = FILE_LOCK_METHOD_FLOCK,
	};
	struct file_lock *lock;
	const char *error;
	uint64_t wait_bytes, wait_msgs;
	ssize_t ret;
	int fd = tuser->global_fd;

	if (file_wait_lock(fd, tuser->global_path, F_WRLCK, &lock_set, 10,
			   &lock, &error) <= 0) {
		e_error(user->event, "migrate_throttle: %s", error);
		return 0;
	}
	ret = pread(fd, &state, sizeof(state), 0);
	if (ret != (ssize_t)sizeof(state) ||
	    state.bytes.rate != tuser->global_bytes_rate ||
	    state.msgs.rate != tuser->global_msgs_rate) {
		/* new file, or the limits changed: start over */
		migrate_token_bucket_init(&state.bytes, tuser->global_bytes_rate,
			tuser->global_bytes_rate * MIGRATE_THROTTLE_BURST_SECS);
		migrate_token_bucket_init(&state.msgs, tuser->global_msgs_rate,
			tuser->global_msgs_rate * MIGRATE_THROTTLE_BURST_SECS);
	}
	wait_bytes = migrate_token_bucket_take(&state.bytes, now, bytes);
	wait_msgs = migrate_token_bucket_take(&state.msgs, now, msgs);
	if (pwrite(fd, &state, sizeof(state), 0) != (ssize_t)sizeof(state)) {
		e_error(user->event, "migrate_throttle: write(%s) failed: %m",
			tuser->global_path);
	}
	file_unlock(&lock);
	return I_MAX(wait_bytes, wait_msgs);
}

static void
migrate_throttle_charge(struct mail_user *user, uint64_t bytes, uint64_t msgs)
{
	struct migrate_throttle_user *tuser =
		MIGRATE_THROTTLE_USER_CONTEXT(user);
	uint64_t now = migrate_throttle_now(), wait, wait_msgs, wait_global;

	/* (I_MAX() evaluates its arguments twice: take into locals) */
	wait = migrate_token_bucket_take(&tuser->bytes, now, bytes);
	wait_msgs = migrate_token_bucket_take(&tuser->msgs, now, msgs);
	wait = I_MAX(wait, wait_msgs);
	if (tuser->global_path != NULL) {
		wait_global = migrate_throttle_global_take(user, tuser, now,
							   bytes, msgs);
		wait = I_MAX(wait, wait_global);
	}
	tuser->charged_bytes += bytes;
	tuser->charged_msgs += msgs;
	if (wait > 0) {
		tuser->slept_usecs += wait;
		while (wait > 0) {
			unsigned int step = I_MIN(wait, 1000000);

			usleep(step);
			wait -= step;
		}
	}
}

static int
migrate_throttle_get_stream(struct mail *_mail, bool get_body,
			    struct message_size *hdr_size,
			    struct message_size *body_size,
			    struct istream **stream_r)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct migrate_throttle_mail *tmail = MIGRATE_THROTTLE_MAIL_CONTEXT(mail);
	uoff_t size;

	if (tmail->module_ctx.super.get_stream(_mail, get_body, hdr_size,
					       body_size, stream_r) < 0)
		return -1;
	if (get_body && !tmail->charged) {
		/* the whole message came from the old server: pay for it */
		tmail->charged = TRUE;
		if (i_stream_get_size(*stream_r, TRUE, &size) <= 0)
			size = 0;
		migrate_throttle_charge(_mail->box->storage->user, size, 1);
	}
	return 0;
}

static void migrate_throttle_mail_set_seq(struct mail *_mail, uint32_t seq,
					  bool saving)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct migrate_throttle_mail *tmail = MIGRATE_THROTTLE_MAIL_CONTEXT(mail);

	tmail->charged = FALSE;
	tmail->module_ctx.super.set_seq(_mail, seq, saving);
}

static bool migrate_throttle_mail_set_uid(struct mail *_mail, uint32_t uid)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct migrate_throttle_mail *tmail = MIGRATE_THROTTLE_MAIL_CONTEXT(mail);

	tmail->charged = FALSE;
	return tmail->module_ctx.super.set_uid(_mail, uid);
}

static void migrate_throttle_mail_allocated(struct mail *_mail)
{
	struct migrate_throttle_user *tuser =
		MIGRATE_THROTTLE_USER_CONTEXT(_mail->box->storage->user);
	struct mail_private *mail = (struct mail_private *)_mail;
	struct mail_vfuncs *v = mail->vlast;
	struct migrate_throttle_mail *tmail;

	/* only what is read from the old server counts */
	if (tuser == NULL ||
	    strcmp(_mail->box->storage->name, IMAPC_STORAGE_NAME) != 0)
		return;

	tmail = p_new(mail->pool, struct migrate_throttle_mail, 1);
	tmail->module_ctx.super = *v;
	mail->vlast = &tmail->module_ctx.super;
	v->get_stream = migrate_throttle_get_stream;
	v->set_seq = migrate_throttle_mail_set_seq;
	v->set_uid = migrate_throttle_mail_set_uid;
	MODULE_CONTEXT_SET(mail, migrate_throttle_mail_module, tmail);
}

static void migrate_throttle_mail_user_deinit(struct mail_user *user)
{
	struct migrate_throttle_user *tuser =
		MIGRATE_THROTTLE_USER_CONTEXT(user);

	if (tuser->charged_msgs > 0) {
		e_debug(user->event, "migrate_throttle: %"PRIu64" messages, "
			"%"PRIu64" bytes, slept %"PRIu64" ms",
			tuser->charged_msgs, tuser->charged_bytes,
			tuser->slept_usecs / 1000);
	}
	i_close_fd(&tuser->global_fd);
	tuser->module_ctx.super.deinit(user);
}

/* Returns 0 and the rate (0 = unset), or -1 with error_r. */
static int
migrate_throttle_setting(struct mail_user *user, const char *name,
			 bool is_size, uint64_t *rate_r, const char **error_r)
{
	const char *value = migrate_user_setting(user, name);
	uoff_t size;

	*rate_r = 0;
	if (value == NULL || *value == '\0')
		return 0;
	if (is_size) {
		if (migrate_parse_size(value, &size, error_r) < 0) {
			*error_r = t_strdup_printf("%s: %s", name, *error_r);
			return -1;
		}
		*rate_r = size;
	} else if (str_to_uint64(value, rate_r) < 0) {
		*error_r = t_strdup_printf("%s: invalid number '%s'",
					   name, value);
		return -1;
	}
	return 0;
}

static void migrate_throttle_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct migrate_throttle_user *tuser;
	uint64_t bytes, msgs, gbytes, gmsgs;
	const char *error, *path;

	if (migrate_throttle_setting(user, "migrate_throttle_bytes", TRUE,
				     &bytes, &error) < 0 ||
	    migrate_throttle_setting(user, "migrate_throttle_msgs", FALSE,
				     &msgs, &error) < 0 ||
	    migrate_throttle_setting(user, "migrate_throttle_global_bytes",
				     TRUE, &gbytes, &error) < 0 ||
	    migrate_throttle_setting(user, "migrate_throttle_global_msgs",
				     FALSE, &gmsgs, &error) < 0) {
		/* a limit the admin asked for must not be ignored */
		i_fatal("migrate_throttle: Invalid settings: %s", error);
	}
	if (bytes == 0 && msgs == 0 && gbytes == 0 && gmsgs == 0) {
		e_debug(user->event, "migrate_throttle: no limits set - disabled");
		return;
	}

	tuser = p_new(user->pool, struct migrate_throttle_user, 1);
	tuser->module_ctx.super = *v;
	user->vlast = &tuser->module_ctx.super;
	v->deinit = migrate_throttle_mail_user_deinit;
	migrate_token_bucket_init(&tuser->bytes, bytes, bytes / 10);
	migrate_token_bucket_init(&tuser->msgs, msgs, msgs / 10);
	tuser->global_bytes_rate = gbytes;
	tuser->global_msgs_rate = gmsgs;
	tuser->global_fd = -1;
	if (gbytes != 0 || gmsgs != 0) {
		path = migrate_user_setting(user,
					       "migrate_throttle_global_file");
		if (path == NULL || *path == '\0')
			path = MIGRATE_THROTTLE_DEFAULT_GLOBAL_FILE;
		tuser->global_path = p_strdup(user->pool, path);
		/* every migration, whatever mail uid it runs as, shares
		   this file: it must exist and be writable, or the global
		   limit would silently not apply */
		tuser->global_fd = open(path, O_RDWR | O_CREAT, 0600);
		if (tuser->global_fd == -1) {
			i_fatal("migrate_throttle: migrate_throttle_global_file"
				"=%s: open() failed: %m (it must be writable "
				"by the mail user every migration runs as)",
				path);
		}
	}
	MODULE_CONTEXT_SET(user, migrate_throttle_user_module, tuser);
}

static struct mail_storage_hooks migrate_throttle_mail_storage_hooks = {
	.mail_user_created = migrate_throttle_mail_user_created,
	.mail_allocated = migrate_throttle_mail_allocated,
};

void migrate_throttle_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &migrate_throttle_mail_storage_hooks);
}

void migrate_throttle_plugin_deinit(void)
{
	mail_storage_hooks_remove(&migrate_throttle_mail_storage_hooks);
}
