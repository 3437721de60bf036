/* Copyright (c) 2026 dovecot-migrate authors */

#include "lib.h"
#include "array.h"
#include "bsearch-insert-pos.h"
#include "sha1.h"
#include "istream.h"
#include "message-header-parser.h"
#include "message-date.h"
#include "message-address.h"
#include "migrate-header-hash.h"

#include <ctype.h>

/* The fallback fields only need to tell messages apart, and a header may be
   arbitrarily long: keep at most this many bytes of their canonical value.
   Both sides cut at the same place since the canonical text is the same. */
#define MIGRATE_HEADER_FIELD_MAX_LEN 1024
/* Canonical bytes are collected here before they go to SHA1, so that
   sha1_loop() isn't called once per byte. */
#define MIGRATE_HEADER_HASH_BUF_SIZE 512

const char *const migrate_header_hash_default_ignore[] = {
	/* Solaris/mailx mbox: added or recomputed when the mbox is written */
	"Content-Length",
	"Lines",
	/* Yahoo IMAP shows Return-Path, Yahoo POP3 doesn't; mbox and
	   delivery agents add or rewrite it */
	"Return-Path",
	/* mbox status headers (UW, Dovecot, mailutils, Pine), changed
	   whenever flags change and hidden by some servers only */
	"Status",
	"X-IMAP",
	"X-IMAPbase",
	"X-Keywords",
	"X-Status",
	"X-UID",
	/* qpopper and others store the UIDL in the message */
	"X-UIDL",
	/* Outlook/Exchange follow-up flag, changes with the flag */
	"X-Message-Flag",
	/* Thunderbird writes its flags into local/movemail copies */
	"X-Mozilla-*",
	/* Yahoo adds it to one view only */
	"X-Yahoo-Newman-Property",
	NULL
};

struct migrate_header_filter {
	/* sorted, compared case-insensitively */
	ARRAY_TYPE(const_string) names;
	/* entries that ended with '*', without it */
	ARRAY_TYPE(const_string) prefixes;
};

enum migrate_header_field {
	MIGRATE_HEADER_FIELD_NONE = 0,
	MIGRATE_HEADER_FIELD_MESSAGE_ID,
	MIGRATE_HEADER_FIELD_DATE,
	MIGRATE_HEADER_FIELD_FROM,
	MIGRATE_HEADER_FIELD_SUBJECT,

	MIGRATE_HEADER_FIELD_COUNT
};

struct migrate_header_field_value {
	unsigned char data[MIGRATE_HEADER_FIELD_MAX_LEN];
	size_t len;
	bool seen;
};

struct migrate_header_hash_context {
	const struct migrate_header_filter *filter;
	struct sha1_ctxt sha1;

	unsigned char buf[MIGRATE_HEADER_HASH_BUF_SIZE];
	size_t buf_used;

	/* value of the fallback field being read (NULL if none) */
	struct migrate_header_field_value *field_value;
	/* canonical values of the fields; kept here rather than on the data
	   stack so that results can go to any pool, even a data stack one */
	struct migrate_header_field_value fields[MIGRATE_HEADER_FIELD_COUNT];

	/* state of the value normaliser */
	bool value_started:1;
	bool pending_space:1;
	bool prev_was_qmark:1;
	/* current header is hashed */
	bool hashing:1;
};

struct migrate_header_filter *
migrate_header_filter_create(pool_t pool, const char *const *ignore)
{
	struct migrate_header_filter *filter;
	const char *name;
	size_t len;
	unsigned int i;

	if (ignore == NULL)
		ignore = migrate_header_hash_default_ignore;

	filter = p_new(pool, struct migrate_header_filter, 1);
	p_array_init(&filter->names, pool, 16);
	p_array_init(&filter->prefixes, pool, 4);
	for (i = 0; ignore[i] != NULL; i++) {
		len = strlen(ignore[i]);
		if (len == 0)
			continue;
		if (ignore[i][len-1] == '*') {
			name = p_strndup(pool, ignore[i], len-1);
			array_push_back(&filter->prefixes, &name);
		} else {
			name = p_strdup(pool, ignore[i]);
			array_push_back(&filter->names, &name);
		}
	}
	array_sort(&filter->names, i_strcasecmp_p);
	return filter;
}

bool migrate_header_filter_ignores(const struct migrate_header_filter *filter,
				   const char *name)
{
	const char *prefix;
	unsigned int idx;

	if (array_bsearch_insert_pos(&filter->names, &name, i_strcasecmp_p,
				     &idx))
		return TRUE;
	array_foreach_elem(&filter->prefixes, prefix) {
		if (strncasecmp(name, prefix, strlen(prefix)) == 0)
			return TRUE;
	}
	return FALSE;
}

static bool migrate_header_name_is_valid(const struct message_header_line *hdr)
{
	size_t i;

	/* Yahoo IMAP drops headers whose names have spaces, controls or
	   8-bit bytes while its POP3 keeps them, so they never count. This
	   also drops mbox "From " lines and names with NULs. */
	if (hdr->name_len == 0)
		return FALSE;
	for (i = 0; i < hdr->name_len; i++) {
		if ((unsigned char)hdr->name[i] <= 0x20 ||
		    (unsigned char)hdr->name[i] >= 0x7f)
			return FALSE;
	}
	return TRUE;
}

static bool migrate_header_line_is_only_cr(const struct message_header_line *hdr)
{
	size_t i;

	if (hdr->value_len == 0)
		return FALSE;
	for (i = 0; i < hdr->value_len; i++) {
		if (hdr->value[i] != '\r')
			return FALSE;
	}
	return TRUE;
}

static enum migrate_header_field
migrate_header_field_get(const char *name)
{
	if (strcasecmp(name, "Message-ID") == 0)
		return MIGRATE_HEADER_FIELD_MESSAGE_ID;
	if (strcasecmp(name, "Date") == 0)
		return MIGRATE_HEADER_FIELD_DATE;
	if (strcasecmp(name, "From") == 0)
		return MIGRATE_HEADER_FIELD_FROM;
	if (strcasecmp(name, "Subject") == 0)
		return MIGRATE_HEADER_FIELD_SUBJECT;
	return MIGRATE_HEADER_FIELD_NONE;
}

static void migrate_header_hash_flush(struct migrate_header_hash_context *ctx)
{
	sha1_loop(&ctx->sha1, ctx->buf, ctx->buf_used);
	ctx->buf_used = 0;
}

static void
migrate_header_hash_out(struct migrate_header_hash_context *ctx,
			unsigned char c)
{
	if (ctx->buf_used == sizeof(ctx->buf))
		migrate_header_hash_flush(ctx);
	ctx->buf[ctx->buf_used++] = c;
	if (ctx->field_value != NULL &&
	    ctx->field_value->len < sizeof(ctx->field_value->data))
		ctx->field_value->data[ctx->field_value->len++] = c;
}

/* The same as migrate_header_hash_out() for each byte of data */
static void
migrate_header_hash_out_data(struct migrate_header_hash_context *ctx,
			     const unsigned char *data, size_t size)
{
	struct migrate_header_field_value *value = ctx->field_value;
	size_t n, pos = 0;

	while (pos < size) {
		if (ctx->buf_used == sizeof(ctx->buf))
			migrate_header_hash_flush(ctx);
		n = I_MIN(size - pos, sizeof(ctx->buf) - ctx->buf_used);
		memcpy(ctx->buf + ctx->buf_used, data + pos, n);
		ctx->buf_used += n;
		pos += n;
	}
	if (value != NULL && value->len < sizeof(value->data)) {
		n = I_MIN(size, sizeof(value->data) - value->len);
		memcpy(value->data + value->len, data, n);
		value->len += n;
	}
}

/* A byte that goes into the canonical text as it is: printable ASCII
   other than the space and '?' */
static inline bool migrate_header_byte_is_plain(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '?';
}

static void
migrate_header_hash_value(struct migrate_header_hash_context *ctx,
			  const unsigned char *data, size_t size)
{
	size_t i, end;

	for (i = 0; i < size; i++) {
		if (migrate_header_byte_is_plain(data[i])) {
			/* a run of them at once: most of a header */
			for (end = i + 1; end < size &&
			     migrate_header_byte_is_plain(data[end]); end++) ;
			if (ctx->pending_space) {
				migrate_header_hash_out(ctx, ' ');
				ctx->pending_space = FALSE;
			}
			migrate_header_hash_out_data(ctx, data + i, end - i);
			ctx->prev_was_qmark = FALSE;
			ctx->value_started = TRUE;
			i = end - 1;
			continue;
		}
		switch (data[i]) {
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			/* Folding, trailing blanks (stripped by Zimbra) and
			   stray CRs (bare CR line ends, Courier's CR CR LF)
			   all become at most one space between words. */
			if (ctx->value_started)
				ctx->pending_space = TRUE;
			continue;
		default:
			break;
		}
		if (ctx->pending_space) {
			migrate_header_hash_out(ctx, ' ');
			ctx->pending_space = FALSE;
			ctx->prev_was_qmark = FALSE;
		}
		if (data[i] < 0x20 || data[i] >= 0x7f || data[i] == '?') {
			/* Servers replace 8-bit and control bytes by '?' in
			   one view only, Yahoo even one '?' per UTF-8
			   character: a run of them counts as one '?'. */
			if (!ctx->prev_was_qmark)
				migrate_header_hash_out(ctx, '?');
			ctx->prev_was_qmark = TRUE;
		} else {
			migrate_header_hash_out(ctx, data[i]);
			ctx->prev_was_qmark = FALSE;
		}
		ctx->value_started = TRUE;
	}
}

static void
migrate_header_hash_begin(struct migrate_header_hash_context *ctx,
			  const struct message_header_line *hdr)
{
	enum migrate_header_field field;
	size_t i;

	ctx->hashing = TRUE;
	ctx->value_started = FALSE;
	ctx->pending_space = FALSE;
	ctx->prev_was_qmark = FALSE;

	for (i = 0; i < hdr->name_len; i++)
		migrate_header_hash_out(ctx, i_tolower(hdr->name[i]));
	migrate_header_hash_out(ctx, ':');

	/* only the first occurrence of a field is used */
	field = migrate_header_field_get(hdr->name);
	if (field != MIGRATE_HEADER_FIELD_NONE && !ctx->fields[field].seen) {
		ctx->fields[field].seen = TRUE;
		ctx->field_value = &ctx->fields[field];
	}
}

static void migrate_header_hash_end(struct migrate_header_hash_context *ctx)
{
	/* the field value must not get the newline */
	ctx->field_value = NULL;
	migrate_header_hash_out(ctx, '\n');
	ctx->hashing = FALSE;
}

static const char *
migrate_header_message_id_get(pool_t pool,
			      const struct migrate_header_field_value *value)
{
	char *id;
	size_t i, len = 0;

	id = p_malloc(pool, value->len + 1);
	for (i = 0; i < value->len; i++) {
		if (value->data[i] != '<' && value->data[i] != '>' &&
		    value->data[i] != ' ')
			id[len++] = value->data[i];
	}
	return len == 0 ? NULL : id;
}

static const char *
migrate_header_from_get(pool_t pool,
			const struct migrate_header_field_value *value)
{
	const struct message_address *addr;
	char *from;

	addr = message_address_parse(pool_datastack_create(), value->data,
				     value->len, 1, 0);
	if (addr != NULL && addr->mailbox != NULL && addr->mailbox[0] != '\0') {
		if (addr->domain != NULL && addr->domain[0] != '\0')
			from = p_strconcat(pool, addr->mailbox, "@",
					   addr->domain, NULL);
		else
			from = p_strdup(pool, addr->mailbox);
	} else if (value->len > 0) {
		/* Unparseable: compare the text itself, it is the same
		   garbage in both views. */
		from = p_strndup(pool, value->data, value->len);
	} else {
		return NULL;
	}
	return str_lcase(from);
}

static void
migrate_header_fields_get(struct migrate_header_hash_context *ctx,
			  pool_t pool, struct migrate_msg_ident *ident_r)
{
	const struct migrate_header_field_value *value;
	int tz;

	value = &ctx->fields[MIGRATE_HEADER_FIELD_MESSAGE_ID];
	if (value->seen)
		ident_r->message_id = migrate_header_message_id_get(pool, value);

	value = &ctx->fields[MIGRATE_HEADER_FIELD_DATE];
	if (value->seen &&
	    !message_date_parse(value->data, value->len, &ident_r->date, &tz))
		ident_r->date = 0;

	value = &ctx->fields[MIGRATE_HEADER_FIELD_FROM];
	if (value->seen)
		ident_r->from = migrate_header_from_get(pool, value);

	value = &ctx->fields[MIGRATE_HEADER_FIELD_SUBJECT];
	if (value->seen) {
		ident_r->subject = p_strndup(pool, value->data, value->len);
	}
}

static int
migrate_header_hash_parse(struct migrate_header_hash_context *ctx,
			  struct istream *input, pool_t pool,
			  struct migrate_msg_ident *ident_r)
{
	struct message_header_parser_ctx *parser;
	struct message_header_line *hdr;
	bool skip = TRUE;
	int ret;

	/* The parser already leaves CR/LF out of the values; our own
	   normalisation handles the rest, so no flags are needed for the
	   hash. DROP_CR only keeps full_value (unused) CR-free. */
	parser = message_parse_header_init(input, NULL,
					   MESSAGE_HEADER_PARSER_FLAG_DROP_CR);
	while ((ret = message_parse_header_next(parser, &hdr)) > 0) {
		if (hdr->eoh) {
			ident_r->header_complete = TRUE;
			break;
		}
		if (!hdr->continued) {
			if (ctx->hashing)
				migrate_header_hash_end(ctx);
			if (hdr->name_len == 0 && hdr->middle_len == 0 &&
			    migrate_header_line_is_only_cr(hdr)) {
				/* LF CR CR LF: Courier IMAP ends the header
				   here, Courier POP3 doesn't. Ending it here
				   on both sides makes them agree. */
				ident_r->header_complete = TRUE;
				break;
			}
			/* Lines without ':' are dropped by Zimbra's
			   BODY[HEADER]; drop them everywhere. */
			skip = hdr->middle_len == 0 ||
				!migrate_header_name_is_valid(hdr) ||
				migrate_header_filter_ignores(ctx->filter,
							      hdr->name);
			if (!skip)
				migrate_header_hash_begin(ctx, hdr);
		}
		if (!skip)
			migrate_header_hash_value(ctx, hdr->value,
						  hdr->value_len);
	}
	if (ctx->hashing)
		migrate_header_hash_end(ctx);
	message_parse_header_deinit(&parser);
	migrate_header_hash_flush(ctx);

	if (input->stream_errno != 0)
		return -1;
	if (ret == 0) {
		/* needs an ioloop to wait for more data - not supported */
		return -1;
	}
	sha1_result(&ctx->sha1, ident_r->hash);
	migrate_header_fields_get(ctx, pool, ident_r);
	return 0;
}

int migrate_header_hash_stream(struct istream *input,
			       const struct migrate_header_filter *filter,
			       pool_t pool, struct migrate_msg_ident *ident_r,
			       const char **error_r)
{
	struct migrate_header_hash_context ctx;
	int ret;

	i_zero(ident_r);
	i_zero(&ctx);
	ctx.filter = filter;
	sha1_init(&ctx.sha1);

	/* No T_BEGIN here: the results may go to a data stack pool. The few
	   temporaries are the caller's, who reads messages in a loop. */
	ret = migrate_header_hash_parse(&ctx, input, pool, ident_r);

	if (ret < 0) {
		if (input->stream_errno != 0) {
			*error_r = t_strdup_printf("read(%s) failed: %s",
						   i_stream_get_name(input),
						   i_stream_get_error(input));
		} else {
			*error_r = t_strdup_printf("read(%s) failed: "
				"non-blocking input is not supported",
				i_stream_get_name(input));
		}
		i_zero(ident_r);
	}
	return ret;
}
