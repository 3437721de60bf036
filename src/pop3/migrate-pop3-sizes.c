/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

/* Every IMAP message's RFC822.SIZE, for the matcher, in as little time as
   the old server allows.

   The sizes are asked with UID FETCH ranges whose untagged replies are
   taken as they come: no mail object per message (those cost ~70 us each,
   1.4 s for 20,000 messages). A server that computes each size from the
   message's file (Courier: ~1 s for 20,000) does it in the one process
   serving the connection, so a large mailbox is split by UID into
   migrate_pop3_size_connections parts: imapc's own connection reads the
   first, and each other part is read on a connection of imapc's client
   of its own (imapc_client_mailbox_open() gives each mailbox one),
   EXAMINEd. Such a connection has no imapc mailbox, so its untagged
   replies reach only the storage's callbacks. An extra connection is
   taken out of imapc's client once its part is read, and its sizes count
   only if its EXAMINE gave imapc's UIDVALIDITY. A part that fails there
   is read on imapc's connection instead: the sizes are the same either
   way. */

#include "lib.h"
#include "array.h"
#include "time-util.h"
#include "str.h"
#include "imap-arg.h"
#include "imap-util.h"
#include "imapc-client-private.h"
#include "imapc-connection.h"
#include "imapc-storage.h"
#include "migrate-pop3-plugin.h"

/* Below this many messages an extra connection's login and EXAMINE cost
   more than it saves (Courier: ~50 us a message). */
#define MIGRATE_POP3_SIZES_SPLIT_MIN 2000

struct migrate_pop3_sizes_part {
	struct migrate_pop3_sizes *sizes;
	/* NULL: imapc's own connection */
	struct imapc_client_mailbox *client_box;
	/* the connection imapc_client_mailbox_open() added for it (NULL if
	   it reused an idle one of imapc's) */
	struct imapc_client_connection *added_conn;
	uint32_t first_uid, last_uid;
	/* instead of the range: these UIDs only (imapc's connection) */
	const ARRAY_TYPE(seq_range) *uids;
	/* commands of the part not yet answered */
	unsigned int pending;
	/* why the part failed */
	char *error;
	bool failed;
};

struct migrate_pop3_sizes {
	struct imapc_mailbox *imbox;
	struct event *event;
	ARRAY_TYPE(migrate_pop3_imap_size) *sizes;
	unsigned int pending;
	/* imapc's mailbox's, and another one an extra connection's EXAMINE
	   gave (0 if none did) */
	uint32_t uidvalidity, other_uidvalidity;
};

/* the fetch running now (it is waited for: one at a time) */
static struct migrate_pop3_sizes *migrate_pop3_sizes_running = NULL;

static void
migrate_pop3_sizes_reply_add(const struct imapc_untagged_reply *reply,
			     ARRAY_TYPE(migrate_pop3_imap_size) *sizes)
{
	struct migrate_pop3_imap_size *item;
	const struct imap_arg *list;
	const char *key, *value;
	uint32_t uid = 0;
	uoff_t size = 0;
	bool have_size = FALSE;

	if (!imap_arg_get_list(reply->args, &list))
		return;
	for (; list[0].type != IMAP_ARG_EOL && list[1].type != IMAP_ARG_EOL;
	     list += 2) {
		if (!imap_arg_get_atom(&list[0], &key) ||
		    !imap_arg_get_atom(&list[1], &value))
			continue;
		if (strcasecmp(key, "UID") == 0) {
			if (str_to_uint32(value, &uid) < 0)
				uid = 0;
		} else if (strcasecmp(key, "RFC822.SIZE") == 0) {
			have_size = str_to_uoff(value, &size) == 0;
		}
	}
	if (uid == 0 || !have_size)
		return;
	item = array_append_space(sizes);
	item->uid = uid;
	item->size = size;
}

/* An untagged FETCH on any connection of the storage (imapc gives the
   storage's callbacks every reply, before its mailbox's): imapc's
   mailbox's own connection, or an extra part's, which has no imapc
   mailbox. imapc's own handling of the reply is unchanged: it has no
   FLAGS. */
static void
migrate_pop3_sizes_untagged_fetch(const struct imapc_untagged_reply *reply,
				  struct imapc_storage_client *client)
{
	struct migrate_pop3_sizes *fetch = migrate_pop3_sizes_running;

	if (fetch != NULL && fetch->imbox->storage->client == client &&
	    (reply->untagged_box_context == NULL ||
	     reply->untagged_box_context == fetch->imbox))
		migrate_pop3_sizes_reply_add(reply, fetch->sizes);
}

/* An untagged OK on any connection of the storage: an extra connection's
   EXAMINE says which UIDVALIDITY its UIDs belong to. A server that
   renumbered the mailbox since imapc's SELECT (a lost UID database) gives
   the new UIDs to other messages: their sizes would pair the wrong
   messages. */
static void
migrate_pop3_sizes_untagged_ok(const struct imapc_untagged_reply *reply,
			       struct imapc_storage_client *client)
{
	struct migrate_pop3_sizes *fetch = migrate_pop3_sizes_running;
	uint32_t uidvalidity = 0;

	if (fetch == NULL || reply->untagged_box_context != NULL ||
	    fetch->imbox->storage->client != client ||
	    reply->resp_text_key == NULL ||
	    strcasecmp(reply->resp_text_key, "UIDVALIDITY") != 0)
		return;
	if (reply->resp_text_value == NULL ||
	    str_to_uint32(reply->resp_text_value, &uidvalidity) < 0 ||
	    uidvalidity != fetch->uidvalidity)
		fetch->other_uidvalidity = uidvalidity == 0 ? 1 : uidvalidity;
}

static void migrate_pop3_sizes_register(struct imapc_storage_client *client)
{
	const struct imapc_storage_event_callback *cb;

	array_foreach(&client->untagged_callbacks, cb) {
		if (cb->callback == migrate_pop3_sizes_untagged_fetch)
			return;
	}
	imapc_storage_client_register_untagged(client, "FETCH",
		migrate_pop3_sizes_untagged_fetch);
	imapc_storage_client_register_untagged(client, "OK",
		migrate_pop3_sizes_untagged_ok);
}

static void
migrate_pop3_sizes_callback(const struct imapc_command_reply *reply,
			    void *context)
{
	struct migrate_pop3_sizes_part *part = context;
	struct migrate_pop3_sizes *fetch = part->sizes;

	if (reply->state != IMAPC_COMMAND_STATE_OK && !part->failed) {
		/* the first failure says why (the FETCH after a failed
		   EXAMINE fails too) */
		part->failed = TRUE;
		i_free(part->error);
		part->error = i_strdup(reply->text_full);
	}
	i_assert(part->pending > 0 && fetch->pending > 0);
	part->pending--;
	if (--fetch->pending == 0)
		imapc_client_stop(fetch->imbox->storage->client->client);
}

static const char *
migrate_pop3_sizes_range(const struct migrate_pop3_sizes_part *part)
{
	string_t *str;

	if (part->uids != NULL) {
		str = t_str_new(128);
		imap_write_seq_range(str, part->uids);
		return str_c(str);
	}
	if (part->last_uid == (uint32_t)-1)
		return t_strdup_printf("%u:*", part->first_uid);
	return t_strdup_printf("%u:%u", part->first_uid, part->last_uid);
}

static void
migrate_pop3_sizes_part_send(struct migrate_pop3_sizes_part *part,
			     struct imapc_client_mailbox *client_box)
{
	struct imapc_command *cmd;

	cmd = imapc_client_mailbox_cmd(client_box, migrate_pop3_sizes_callback,
				       part);
	imapc_command_sendf(cmd, "UID FETCH %1s (RFC822.SIZE)",
			    migrate_pop3_sizes_range(part));
	part->pending++;
	part->sizes->pending++;
}

static void migrate_pop3_sizes_part_open(struct migrate_pop3_sizes_part *part)
{
	struct imapc_mailbox *imbox = part->sizes->imbox;
	struct imapc_client *client = imbox->storage->client->client;
	struct imapc_client_connection *const *conns;
	struct imapc_command *cmd;
	unsigned int count, prev_count = array_count(&client->conns);

	part->client_box = imapc_client_mailbox_open(client, NULL);
	conns = array_get(&client->conns, &count);
	if (count == prev_count + 1 && conns[count - 1]->box == part->client_box)
		part->added_conn = conns[count - 1];
	cmd = imapc_client_mailbox_cmd(part->client_box,
				       migrate_pop3_sizes_callback, part);
	imapc_command_set_flags(cmd, IMAPC_COMMAND_FLAG_SELECT);
	imapc_command_sendf(cmd, "EXAMINE %s",
			    imapc_mailbox_get_remote_name(imbox));
	part->pending++;
	part->sizes->pending++;
	migrate_pop3_sizes_part_send(part, part->client_box);
}

int migrate_pop3_imap_size_cmp(const struct migrate_pop3_imap_size *a,
			       const struct migrate_pop3_imap_size *b)
{
	return a->uid < b->uid ? -1 : (a->uid > b->uid ? 1 : 0);
}

/* Close an extra part's mailbox, and the connection that was added for
   it: imapc would keep an idle connection to the end of the session, and
   connect again every time it waits (imapc_client_run()) one that was
   refused or dropped. */
static void migrate_pop3_sizes_part_close(struct migrate_pop3_sizes_part *part)
{
	struct imapc_client *client = part->sizes->imbox->storage->client->client;
	struct imapc_client_connection *const *conns;
	unsigned int i, count;

	if (part->client_box == NULL)
		return;
	imapc_client_mailbox_close(&part->client_box);
	if (part->added_conn == NULL)
		return;
	conns = array_get(&client->conns, &count);
	for (i = 0; i < count; i++) {
		if (conns[i] == part->added_conn)
			break;
	}
	i_assert(i < count);
	array_delete(&client->conns, i, 1);
	imapc_connection_deinit(&part->added_conn->conn);
	i_free(part->added_conn);
}

static void
migrate_pop3_sizes_wait(struct migrate_pop3_sizes *fetch,
			struct migrate_pop3_sizes_part *parts,
			unsigned int count)
{
	unsigned int i;

	while (fetch->pending > 0) {
		imapc_client_run(fetch->imbox->storage->client->client);
		/* a refused connection is gone before imapc tries it
		   again */
		for (i = 1; i < count; i++) {
			if (parts[i].pending == 0)
				migrate_pop3_sizes_part_close(&parts[i]);
		}
	}
}

bool migrate_pop3_imap_sizes_fetch(struct mailbox *box, struct event *event,
				   unsigned int connections,
				   const ARRAY_TYPE(seq_range) *uids,
				   ARRAY_TYPE(migrate_pop3_imap_size) *sizes_r)
{
	struct imapc_mailbox *imbox = IMAPC_MAILBOX(box);
	struct migrate_pop3_sizes fetch;
	struct migrate_pop3_sizes_part *parts;
	struct mailbox_status status;
	struct timeval start, end;
	unsigned int i, count;
	uint32_t seq, uidvalidity;
	bool ret = TRUE;

	if (!imbox->selected || imbox->client_box == NULL)
		return FALSE;
	mailbox_get_open_status(box, STATUS_MESSAGES | STATUS_UIDVALIDITY,
				&status);
	uidvalidity = status.uidvalidity;
	count = status.messages < MIGRATE_POP3_SIZES_SPLIT_MIN ||
		uids != NULL ? 1 : I_MAX(connections, 1U);
	count = I_MIN(count, status.messages);
	if (count == 0)
		return TRUE;

	i_zero(&fetch);
	fetch.imbox = imbox;
	fetch.event = event;
	fetch.sizes = sizes_r;
	fetch.uidvalidity = uidvalidity;
	migrate_pop3_sizes_register(imbox->storage->client);
	i_assert(migrate_pop3_sizes_running == NULL);
	migrate_pop3_sizes_running = &fetch;
	i_gettimeofday(&start);

	/* part i: the messages from sequence i*N/count+1 on; the first
	   starts at UID 1 and the last has no end, so every UID of the
	   mailbox is in one part */
	parts = i_new(struct migrate_pop3_sizes_part, count);
	for (i = 0; i < count; i++) {
		parts[i].sizes = &fetch;
		seq = (uint64_t)i * status.messages / count + 1;
		if (i == 0)
			parts[i].first_uid = 1;
		else
			mail_index_lookup_uid(box->view, seq, &parts[i].first_uid);
		parts[i].last_uid = (uint32_t)-1;
		parts[i].uids = uids;
		if (i > 0)
			parts[i - 1].last_uid = parts[i].first_uid - 1;
	}
	/* the extra connections first: they have a login to do */
	for (i = 1; i < count; i++)
		migrate_pop3_sizes_part_open(&parts[i]);
	migrate_pop3_sizes_part_send(&parts[0], imbox->client_box);
	migrate_pop3_sizes_wait(&fetch, parts, count);

	if (fetch.other_uidvalidity != 0) {
		/* the extra parts' sizes may be other messages': all of
		   them again on imapc's connection */
		e_warning(event, "An extra connection's UIDVALIDITY %u isn't "
			  "imapc's %u: the old server renumbered the mailbox "
			  "meanwhile - its sizes aren't used",
			  fetch.other_uidvalidity, fetch.uidvalidity);
		for (i = 1; i < count; i++) {
			if (parts[i].failed)
				continue;
			parts[i].failed = TRUE;
			parts[i].error = i_strdup("the old server renumbered "
						  "the mailbox meanwhile");
		}
		/* their replies are in the array too */
		array_clear(sizes_r);
		if (!parts[0].failed) {
			migrate_pop3_sizes_part_send(&parts[0],
						     imbox->client_box);
			migrate_pop3_sizes_wait(&fetch, parts, count);
		}
	}
	for (i = 1; i < count; i++) {
		migrate_pop3_sizes_part_close(&parts[i]);
		if (parts[i].failed && !parts[0].failed) {
			/* again, on imapc's connection */
			e_warning(event, "Reading the IMAP sizes of UIDs "
				  "%s on a connection of their own failed "
				  "(%s): read on imapc's connection instead - "
				  "set migrate_pop3_size_connections = 1 if "
				  "the old server allows no more connections",
				  migrate_pop3_sizes_range(&parts[i]),
				  parts[i].error);
			parts[i].failed = FALSE;
			migrate_pop3_sizes_part_send(&parts[i],
						     imbox->client_box);
			migrate_pop3_sizes_wait(&fetch, parts, count);
			if (parts[i].failed)
				parts[0].failed = TRUE;
		}
	}
	migrate_pop3_sizes_running = NULL;
	if (parts[0].failed) {
		e_debug(event, "UID FETCH (RFC822.SIZE) failed (%s) - "
			"fetching the sizes per message", parts[0].error);
		array_clear(sizes_r);
		ret = FALSE;
	} else {
		array_sort(sizes_r, migrate_pop3_imap_size_cmp);
		i_gettimeofday(&end);
		e_debug(event, "%u IMAP sizes read on %u connections in %lld ms",
			array_count(sizes_r), count,
			(long long)timeval_diff_msecs(&end, &start));
	}
	for (i = 0; i < count; i++)
		i_free(parts[i].error);
	i_free(parts);
	return ret;
}
