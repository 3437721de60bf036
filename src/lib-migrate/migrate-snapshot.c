/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "strescape.h"
#include "migrate-snapshot.h"

#define MIGRATE_SNAPSHOT_COMMENT "# dovecot-migrate destination snapshot"
#define MIGRATE_SNAPSHOT_VERSION "V1"

enum migrate_snapshot_column {
	MIGRATE_SNAPSHOT_COL_NAME = 0,
	MIGRATE_SNAPSHOT_COL_GUID,
	MIGRATE_SNAPSHOT_COL_UIDVALIDITY,
	MIGRATE_SNAPSHOT_COL_UIDNEXT,
	MIGRATE_SNAPSHOT_COL_HIGHESTMODSEQ,
	MIGRATE_SNAPSHOT_COL_MESSAGES,
	MIGRATE_SNAPSHOT_COL_VSIZE,

	MIGRATE_SNAPSHOT_COL_COUNT
};

/* the doveadm mailbox status field of each column */
static const char *const migrate_snapshot_status_fields[] = {
	[MIGRATE_SNAPSHOT_COL_NAME] = "mailbox",
	[MIGRATE_SNAPSHOT_COL_GUID] = "guid",
	[MIGRATE_SNAPSHOT_COL_UIDVALIDITY] = "uidvalidity",
	[MIGRATE_SNAPSHOT_COL_UIDNEXT] = "uidnext",
	[MIGRATE_SNAPSHOT_COL_HIGHESTMODSEQ] = "highestmodseq",
	[MIGRATE_SNAPSHOT_COL_MESSAGES] = "messages",
	[MIGRATE_SNAPSHOT_COL_VSIZE] = "vsize",
};

static int
migrate_snapshot_box_parse(const char *const *values, pool_t pool,
			   struct migrate_snapshot_box *box_r,
			   const char **error_r)
{
	const char *const *v = values;

	i_zero(box_r);
	box_r->name = p_strdup(pool, v[MIGRATE_SNAPSHOT_COL_NAME]);
	box_r->guid = p_strdup(pool, v[MIGRATE_SNAPSHOT_COL_GUID]);
	if (str_to_uint32(v[MIGRATE_SNAPSHOT_COL_UIDVALIDITY],
			  &box_r->uidvalidity) < 0 ||
	    str_to_uint32(v[MIGRATE_SNAPSHOT_COL_UIDNEXT],
			  &box_r->uidnext) < 0 ||
	    str_to_uint64(v[MIGRATE_SNAPSHOT_COL_HIGHESTMODSEQ],
			  &box_r->highestmodseq) < 0 ||
	    str_to_uint32(v[MIGRATE_SNAPSHOT_COL_MESSAGES],
			  &box_r->messages) < 0 ||
	    str_to_uint64(v[MIGRATE_SNAPSHOT_COL_VSIZE], &box_r->vsize) < 0) {
		*error_r = t_strdup_printf("mailbox %s: invalid numbers",
					   box_r->name);
		return -1;
	}
	if (*box_r->name == '\0') {
		*error_r = "a mailbox without a name";
		return -1;
	}
	return 0;
}

int migrate_snapshot_parse_status(const char *output, pool_t pool,
				  struct migrate_snapshot *snapshot_r,
				  const char **error_r)
{
	const char *const *lines, *const *header, *const *fields;
	const char *values[MIGRATE_SNAPSHOT_COL_COUNT];
	unsigned int col_idx[MIGRATE_SNAPSHOT_COL_COUNT];
	struct migrate_snapshot_box box;
	unsigned int i, col, count;

	p_array_init(&snapshot_r->boxes, pool, 16);
	lines = t_strsplit(output, "\n");
	/* doveadm's log lines (an imapc "Connected") may come first: they
	   have no tabs */
	while (lines[0] != NULL && strchr(lines[0], '\t') == NULL)
		lines++;
	if (lines[0] == NULL) {
		*error_r = "no header line";
		return -1;
	}
	header = t_strsplit(lines[0], "\t");
	count = str_array_length(header);
	for (col = 0; col < MIGRATE_SNAPSHOT_COL_COUNT; col++) {
		for (i = 0; i < count; i++) {
			if (strcmp(header[i],
				   migrate_snapshot_status_fields[col]) == 0)
				break;
		}
		if (i == count) {
			*error_r = t_strdup_printf("no %s column",
				migrate_snapshot_status_fields[col]);
			return -1;
		}
		col_idx[col] = i;
	}
	for (i = 1; lines[i] != NULL; i++) {
		if (strchr(lines[i], '\t') == NULL)
			continue;
		fields = t_strsplit(lines[i], "\t");
		if (str_array_length(fields) != count) {
			*error_r = t_strdup_printf("line %u: %u fields, "
				"expected %u", i + 1,
				str_array_length(fields), count);
			return -1;
		}
		for (col = 0; col < MIGRATE_SNAPSHOT_COL_COUNT; col++)
			values[col] = fields[col_idx[col]];
		if (migrate_snapshot_box_parse(values, pool, &box,
					       error_r) < 0)
			return -1;
		array_push_back(&snapshot_r->boxes, &box);
	}
	return 0;
}

void migrate_snapshot_append(string_t *dest,
			     const struct migrate_snapshot *snapshot)
{
	const struct migrate_snapshot_box *box;

	str_append(dest, MIGRATE_SNAPSHOT_COMMENT"\n"
		   MIGRATE_SNAPSHOT_VERSION"\n");
	array_foreach(&snapshot->boxes, box) {
		str_printfa(dest, "%s\t%u\t%u\t%"PRIu64"\t%u\t%"PRIu64"\t",
			    box->guid, box->uidvalidity, box->uidnext,
			    box->highestmodseq, box->messages, box->vsize);
		str_append_tabescaped(dest, box->name);
		str_append_c(dest, '\n');
	}
}

int migrate_snapshot_parse(const char *data, pool_t pool,
			   struct migrate_snapshot *snapshot_r,
			   const char **error_r)
{
	const char *const *lines, *const *args;
	const char *values[MIGRATE_SNAPSHOT_COL_COUNT];
	struct migrate_snapshot_box box;
	unsigned int i, col;
	bool have_version = FALSE;

	p_array_init(&snapshot_r->boxes, pool, 16);
	lines = t_strsplit(data, "\n");
	for (i = 0; lines[i] != NULL; i++) {
		if (lines[i][0] == '\0' || lines[i][0] == '#')
			continue;
		if (!have_version) {
			if (strcmp(lines[i], MIGRATE_SNAPSHOT_VERSION) != 0) {
				*error_r = t_strdup_printf(
					"line %u: unknown version", i + 1);
				return -1;
			}
			have_version = TRUE;
			continue;
		}
		args = t_strsplit_tabescaped(lines[i]);
		if (str_array_length(args) != MIGRATE_SNAPSHOT_COL_COUNT) {
			*error_r = t_strdup_printf("line %u: expected %u "
				"fields", i + 1, MIGRATE_SNAPSHOT_COL_COUNT);
			return -1;
		}
		/* the name is last in the file, so it may hold anything */
		values[MIGRATE_SNAPSHOT_COL_NAME] = args[6];
		for (col = MIGRATE_SNAPSHOT_COL_GUID;
		     col < MIGRATE_SNAPSHOT_COL_COUNT; col++)
			values[col] = args[col - 1];
		if (migrate_snapshot_box_parse(values, pool, &box,
					       error_r) < 0) {
			*error_r = t_strdup_printf("line %u: %s", i + 1,
						   *error_r);
			return -1;
		}
		array_push_back(&snapshot_r->boxes, &box);
	}
	if (!have_version) {
		*error_r = "empty file";
		return -1;
	}
	return 0;
}

void migrate_snapshot_totals(const struct migrate_snapshot *snapshot,
			     uint64_t *messages_r, uint64_t *vsize_r)
{
	const struct migrate_snapshot_box *box;

	*messages_r = 0;
	*vsize_r = 0;
	array_foreach(&snapshot->boxes, box) {
		*messages_r += box->messages;
		*vsize_r += box->vsize;
	}
}

static const struct migrate_snapshot_box *
migrate_snapshot_find(const struct migrate_snapshot *snapshot,
		      const char *name)
{
	const struct migrate_snapshot_box *box;

	array_foreach(&snapshot->boxes, box) {
		if (strcmp(box->name, name) == 0)
			return box;
	}
	return NULL;
}

static const struct migrate_snapshot_box *
migrate_snapshot_find_guid(const struct migrate_snapshot *snapshot,
			   const char *guid)
{
	const struct migrate_snapshot_box *box;

	if (*guid == '\0')
		return NULL;
	array_foreach(&snapshot->boxes, box) {
		if (strcmp(box->guid, guid) == 0)
			return box;
	}
	return NULL;
}

static bool
migrate_snapshot_box_same(const struct migrate_snapshot_box *a,
			  const struct migrate_snapshot_box *b)
{
	return strcmp(a->guid, b->guid) == 0 &&
		a->uidvalidity == b->uidvalidity;
}

/* How one mailbox changed, or NULL if it didn't. */
static const char *
migrate_snapshot_box_change(const struct migrate_snapshot_box *prev,
			    const struct migrate_snapshot_box *cur)
{
	if (!migrate_snapshot_box_same(prev, cur)) {
		return t_strdup_printf("folder %s was deleted and made again",
				       cur->name);
	}
	if (cur->uidnext != prev->uidnext) {
		return t_strdup_printf("new messages were saved in %s "
			"(delivered, copied or moved there)", cur->name);
	}
	if (cur->messages != prev->messages) {
		return t_strdup_printf("messages were expunged from %s",
				       cur->name);
	}
	if (cur->highestmodseq != prev->highestmodseq) {
		return t_strdup_printf("flags or keywords were changed in %s",
				       cur->name);
	}
	return NULL;
}

void migrate_snapshot_todo(const struct migrate_snapshot *source,
			   const struct migrate_snapshot *here,
			   uint64_t *messages_r, uint64_t *vsize_r)
{
	const struct migrate_snapshot_box *sbox, *hbox;

	*messages_r = 0;
	*vsize_r = 0;
	array_foreach(&source->boxes, sbox) {
		hbox = migrate_snapshot_find(here, sbox->name);
		if (hbox == NULL) {
			*messages_r += sbox->messages;
			*vsize_r += sbox->vsize;
			continue;
		}
		if (sbox->messages > hbox->messages)
			*messages_r += sbox->messages - hbox->messages;
		if (sbox->vsize > hbox->vsize)
			*vsize_r += sbox->vsize - hbox->vsize;
	}
}

unsigned int migrate_snapshot_position(const struct migrate_snapshot *snapshot,
				       const char *name)
{
	const struct migrate_snapshot_box *box;
	unsigned int n = 0;

	array_foreach(&snapshot->boxes, box) {
		n++;
		if (strcmp(box->name, name) == 0)
			return n;
	}
	return 0;
}

bool migrate_snapshot_changed(const struct migrate_snapshot *prev,
			      const struct migrate_snapshot *cur,
			      const char **reason_r)
{
	const struct migrate_snapshot_box *box, *other;
	const char *change;

	array_foreach(&cur->boxes, box) {
		other = migrate_snapshot_find(prev, box->name);
		if (other != NULL) {
			change = migrate_snapshot_box_change(other, box);
			if (change != NULL) {
				*reason_r = change;
				return TRUE;
			}
			continue;
		}
		other = migrate_snapshot_find_guid(prev, box->guid);
		if (other != NULL &&
		    migrate_snapshot_find(cur, other->name) == NULL) {
			*reason_r = t_strdup_printf(
				"folder %s was renamed to %s", other->name,
				box->name);
		} else {
			*reason_r = t_strdup_printf("folder %s was made",
						    box->name);
		}
		return TRUE;
	}
	array_foreach(&prev->boxes, box) {
		if (migrate_snapshot_find(cur, box->name) == NULL) {
			*reason_r = t_strdup_printf("folder %s was deleted",
						    box->name);
			return TRUE;
		}
	}
	return FALSE;
}

const char *
migrate_snapshot_lost_box(const struct migrate_snapshot *before,
			  const struct migrate_snapshot *after)
{
	const struct migrate_snapshot_box *box, *other;

	array_foreach(&before->boxes, box) {
		other = migrate_snapshot_find(after, box->name);
		if (other == NULL || !migrate_snapshot_box_same(box, other))
			return box->name;
	}
	return NULL;
}

const char *
migrate_snapshot_copy_differs(const struct migrate_snapshot *source,
			      const struct migrate_snapshot *here)
{
	const struct migrate_snapshot_box *box, *copy;

	array_foreach(&source->boxes, box) {
		copy = migrate_snapshot_find(here, box->name);
		if (copy == NULL)
			return t_strdup_printf("folder %s isn't here", box->name);
		if (copy->uidvalidity != box->uidvalidity ||
		    copy->uidnext != box->uidnext ||
		    copy->messages != box->messages) {
			return t_strdup_printf("folder %s has %u messages "
				"here (UIDNEXT %u), %u at the old server "
				"(UIDNEXT %u)", box->name, copy->messages,
				copy->uidnext, box->messages, box->uidnext);
		}
	}
	return NULL;
}
