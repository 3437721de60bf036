/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "migrate-compat.h"
#include "array.h"
#include "str.h"
#include "hash.h"
#include "istream.h"
#include "unichar.h"
#include "migrate-csv.h"

enum migrate_csv_column {
	MIGRATE_CSV_COL_EMAIL = 0,
	MIGRATE_CSV_COL_PASSWORD,
	MIGRATE_CSV_COL_HOST,
	MIGRATE_CSV_COL_PORT,
	MIGRATE_CSV_COL_SSL,
	MIGRATE_CSV_COL_DEST_USER,
	MIGRATE_CSV_COL_REFRESH_TOKEN,

	MIGRATE_CSV_COL_COUNT
};

int migrate_csv_ssl_parse(const char *value, enum migrate_csv_ssl *ssl_r)
{
	if (strcasecmp(value, "no") == 0)
		*ssl_r = MIGRATE_CSV_SSL_NO;
	else if (strcasecmp(value, "imaps") == 0)
		*ssl_r = MIGRATE_CSV_SSL_IMAPS;
	else if (strcasecmp(value, "starttls") == 0)
		*ssl_r = MIGRATE_CSV_SSL_STARTTLS;
	else
		return -1;
	return 0;
}

const char *migrate_csv_ssl_name(enum migrate_csv_ssl ssl)
{
	switch (ssl) {
	case MIGRATE_CSV_SSL_DEFAULT:
		break;
	case MIGRATE_CSV_SSL_NO:
		return "no";
	case MIGRATE_CSV_SSL_IMAPS:
		return "imaps";
	case MIGRATE_CSV_SSL_STARTTLS:
		return "starttls";
	}
	return NULL;
}

static const char *const migrate_csv_column_names[] = {
	"email", "password", "host", "port", "ssl", "dest_user",
	"refresh_token"
};

struct migrate_csv_parser {
	pool_t pool;
	ARRAY_TYPE(migrate_account) *accounts;
	ARRAY_TYPE(migrate_csv_error) *errors;
	/* column index in the file -> enum migrate_csv_column */
	ARRAY(enum migrate_csv_column) columns;
	HASH_TABLE(const char *, void *) seen;
	bool have_header;
};

static void
migrate_csv_error(struct migrate_csv_parser *parser, unsigned int line,
		  const char *error)
{
	struct migrate_csv_error *err = array_append_space(parser->errors);

	err->line = line;
	err->error = p_strdup(parser->pool, error);
}

/* Split one line into fields. Returns 0, or -1 with error_r. */
static int
migrate_csv_split(const char *line, ARRAY_TYPE(const_string) *fields,
		  const char **error_r)
{
	string_t *field = t_str_new(64);
	const char *p = line, *value;
	bool quoted = FALSE, was_quoted = FALSE;

	array_clear(fields);
	for (;; p++) {
		if (quoted) {
			if (*p == '\0') {
				*error_r = "unterminated quote";
				return -1;
			}
			if (*p == '"' && p[1] == '"') {
				str_append_c(field, '"');
				p++;
			} else if (*p == '"') {
				quoted = FALSE;
			} else {
				str_append_c(field, *p);
			}
			continue;
		}
		if (*p == ',' || *p == '\0') {
			value = was_quoted ? t_strdup(str_c(field)) :
				t_str_trim(str_c(field), " \t");
			array_push_back(fields, &value);
			if (*p == '\0')
				break;
			str_truncate(field, 0);
			was_quoted = FALSE;
		} else if (*p == '"') {
			if (was_quoted || (str_len(field) > 0 &&
			    t_str_trim(str_c(field), " \t")[0] != '\0')) {
				*error_r = "quote in the middle of a field";
				return -1;
			}
			str_truncate(field, 0);
			quoted = was_quoted = TRUE;
		} else if (was_quoted) {
			if (*p != ' ' && *p != '\t') {
				*error_r = "text after a closing quote";
				return -1;
			}
		} else {
			str_append_c(field, *p);
		}
	}
	return 0;
}

static int
migrate_csv_header(struct migrate_csv_parser *parser,
		   const ARRAY_TYPE(const_string) *fields,
		   const char **error_r)
{
	const char *name;
	bool have[MIGRATE_CSV_COL_COUNT];
	unsigned int i;
	enum migrate_csv_column col;

	i_zero(&have);
	array_foreach_elem(fields, name) {
		for (i = 0; i < MIGRATE_CSV_COL_COUNT; i++) {
			if (strcasecmp(name, migrate_csv_column_names[i]) == 0)
				break;
		}
		if (i == MIGRATE_CSV_COL_COUNT) {
			*error_r = t_strdup_printf("header: unknown column '%s' "
				"(known: email, password, host, port, ssl, "
				"dest_user, refresh_token)", name);
			return -1;
		}
		if (have[i]) {
			*error_r = t_strdup_printf("header: column '%s' twice",
						   name);
			return -1;
		}
		have[i] = TRUE;
		col = i;
		array_push_back(&parser->columns, &col);
	}
	if (!have[MIGRATE_CSV_COL_EMAIL]) {
		*error_r = "header: no 'email' column";
		return -1;
	}
	parser->have_header = TRUE;
	return 0;
}

static int
migrate_csv_field(struct migrate_account *account, pool_t pool,
		  enum migrate_csv_column col, const char *value,
		  const char **error_r)
{
	const char *p;

	if (value[0] == '\0' && col != MIGRATE_CSV_COL_EMAIL)
		return 0;
	switch (col) {
	case MIGRATE_CSV_COL_EMAIL:
		if (value[0] == '\0') {
			*error_r = "email is empty";
			return -1;
		}
		for (p = value; *p != '\0'; p++) {
			if ((unsigned char)*p <= ' ') {
				*error_r = "email contains whitespace";
				return -1;
			}
			if (*p == '*' || *p == '?') {
				/* doveadm would take it for a pattern of
				   many users */
				*error_r = "email contains a wildcard (* or ?)";
				return -1;
			}
		}
		account->email = p_strdup(pool, value);
		break;
	case MIGRATE_CSV_COL_PASSWORD:
		account->password = p_strdup(pool, value);
		break;
	case MIGRATE_CSV_COL_HOST:
		account->host = p_strdup(pool, value);
		break;
	case MIGRATE_CSV_COL_PORT:
		if (net_str2port(value, &account->port) < 0) {
			*error_r = t_strdup_printf("invalid port '%s'", value);
			return -1;
		}
		break;
	case MIGRATE_CSV_COL_SSL:
		if (migrate_csv_ssl_parse(value, &account->ssl) < 0) {
			*error_r = t_strdup_printf("invalid ssl '%s' "
				"(expected no, imaps or starttls)", value);
			return -1;
		}
		break;
	case MIGRATE_CSV_COL_DEST_USER:
		account->dest_user = p_strdup(pool, value);
		break;
	case MIGRATE_CSV_COL_REFRESH_TOKEN:
		account->refresh_token = p_strdup(pool, value);
		break;
	case MIGRATE_CSV_COL_COUNT:
		i_unreached();
	}
	return 0;
}

static void
migrate_csv_line(struct migrate_csv_parser *parser, unsigned int line_num,
		 const char *line)
{
	ARRAY_TYPE(const_string) fields;
	const enum migrate_csv_column *cols;
	struct migrate_account account;
	const char *const *values, *error;
	unsigned int i, count, col_count;
	void *first;

	if (t_str_trim(line, " \t\r")[0] == '\0')
		return;
	if (!uni_utf8_str_is_valid(line)) {
		migrate_csv_error(parser, line_num, "not valid UTF-8");
		return;
	}
	t_array_init(&fields, 8);
	if (migrate_csv_split(t_str_trim(line, "\r"), &fields, &error) < 0) {
		migrate_csv_error(parser, line_num, error);
		return;
	}
	cols = array_get(&parser->columns, &col_count);
	values = array_get(&fields, &count);
	if (count != col_count) {
		migrate_csv_error(parser, line_num, t_strdup_printf(
			"expected %u fields, got %u", col_count, count));
		return;
	}
	i_zero(&account);
	account.line = line_num;
	for (i = 0; i < count; i++) {
		if (migrate_csv_field(&account, parser->pool, cols[i],
				      values[i], &error) < 0) {
			migrate_csv_error(parser, line_num, error);
			return;
		}
	}
	first = hash_table_lookup(parser->seen, account.email);
	if (first != NULL) {
		migrate_csv_error(parser, line_num, t_strdup_printf(
			"duplicate account %s (first on line %u)",
			account.email, POINTER_CAST_TO(first, unsigned int)));
		return;
	}
	hash_table_insert(parser->seen, account.email,
			  POINTER_CAST(line_num));
	array_push_back(parser->accounts, &account);
}

int migrate_csv_parse(struct istream *input, pool_t pool,
		      ARRAY_TYPE(migrate_account) *accounts,
		      ARRAY_TYPE(migrate_csv_error) *errors,
		      const char **error_r)
{
	struct migrate_csv_parser parser;
	ARRAY_TYPE(const_string) fields;
	const char *line;
	unsigned int line_num = 0;
	int ret = 0;

	/* accounts files are written by hand and by scripts: CRLF, blank
	   lines and spaces around unquoted fields are all accepted */
	i_zero(&parser);
	parser.pool = pool;
	parser.accounts = accounts;
	parser.errors = errors;
	i_array_init(&parser.columns, 8);
	hash_table_create(&parser.seen, default_pool, 0, strcase_hash,
			  strcasecmp);

	while (ret == 0 && (line = i_stream_read_next_line(input)) != NULL) T_BEGIN {
		line_num++;
		/* spreadsheet programs start UTF-8 files with a byte order
		   mark */
		if (line_num == 1 && str_begins_with(line, "\xef\xbb\xbf"))
			line += 3;
		if (!parser.have_header) {
			if (t_str_trim(line, " \t\r")[0] == '\0')
				;
			else if (!uni_utf8_str_is_valid(line)) {
				*error_r = "header: not valid UTF-8";
				ret = -1;
			} else {
				t_array_init(&fields, 8);
				if (migrate_csv_split(t_str_trim(line, "\r"),
						      &fields, error_r) < 0 ||
				    migrate_csv_header(&parser, &fields,
						       error_r) < 0) {
					*error_r = t_strdup_printf("line %u: %s",
						line_num, *error_r);
					ret = -1;
				}
			}
			/* error_r lives past T_END */
			if (ret < 0)
				*error_r = p_strdup(pool, *error_r);
		} else {
			migrate_csv_line(&parser, line_num, line);
		}
	} T_END;
	if (ret == 0 && input->stream_errno != 0) {
		*error_r = p_strdup(pool, i_stream_get_error(input));
		ret = -1;
	}
	if (ret == 0 && !parser.have_header) {
		*error_r = "no header row (e.g. email,password,host)";
		ret = -1;
	}
	hash_table_destroy(&parser.seen);
	array_free(&parser.columns);
	return ret;
}
