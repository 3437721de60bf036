/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "strnum.h"
#include "imap-utf7.h"
#include "mail-storage-settings.h"
#include "migrate-gmail-folder.h"

static const struct {
	const char *flag;
	enum migrate_gmail_folder_kind kind;
} migrate_gmail_special_uses[] = {
	{ "\\All", MIGRATE_GMAIL_FOLDER_ALL },
	{ "\\Flagged", MIGRATE_GMAIL_FOLDER_VIEW },
	{ "\\Important", MIGRATE_GMAIL_FOLDER_VIEW },
	{ "\\Sent", MIGRATE_GMAIL_FOLDER_SENT },
	{ "\\Drafts", MIGRATE_GMAIL_FOLDER_DRAFTS },
	{ "\\Trash", MIGRATE_GMAIL_FOLDER_TRASH },
	{ "\\Junk", MIGRATE_GMAIL_FOLDER_JUNK },
};

enum migrate_gmail_folder_kind
migrate_gmail_folder_classify(const char *special_use)
{
	const char *const *flags;
	unsigned int i;

	if (special_use == NULL)
		return MIGRATE_GMAIL_FOLDER_LABEL;
	/* a folder with several flags takes the first in the table: \All
	   and the views must never be copied, whatever else they say */
	flags = t_strsplit_spaces(special_use, " ");
	for (i = 0; i < N_ELEMENTS(migrate_gmail_special_uses); i++) {
		if (str_array_icase_find(flags, migrate_gmail_special_uses[i].flag))
			return migrate_gmail_special_uses[i].kind;
	}
	return MIGRATE_GMAIL_FOLDER_LABEL;
}

const char *migrate_gmail_folder_special_use(enum migrate_gmail_folder_kind kind)
{
	switch (kind) {
	case MIGRATE_GMAIL_FOLDER_SENT:
		return "\\Sent";
	case MIGRATE_GMAIL_FOLDER_DRAFTS:
		return "\\Drafts";
	case MIGRATE_GMAIL_FOLDER_TRASH:
		return "\\Trash";
	case MIGRATE_GMAIL_FOLDER_JUNK:
		return "\\Junk";
	case MIGRATE_GMAIL_FOLDER_LABEL:
	case MIGRATE_GMAIL_FOLDER_ALL:
	case MIGRATE_GMAIL_FOLDER_VIEW:
		break;
	}
	return NULL;
}

const char *
migrate_gmail_folder_dest_name(enum migrate_gmail_folder_kind kind,
			       const struct migrate_special_use_folder *folders,
			       unsigned int count)
{
	const char *special_use = migrate_gmail_folder_special_use(kind);
	unsigned int i;

	i_assert(special_use != NULL);
	for (i = 0; i < count; i++) {
		const char *const *uses =
			t_strsplit_spaces(folders[i].special_use, " ");

		if (str_array_icase_find(uses, special_use))
			return folders[i].name;
	}
	/* none configured: the usual name */
	return special_use + 1;
}

int migrate_gmail_parse_include(const char *value, bool *trash_r,
				bool *junk_r, const char **error_r)
{
	const char *const *words, *word;

	*trash_r = *junk_r = FALSE;
	if (value == NULL)
		return 0;
	for (words = t_strsplit_spaces(value, " ,"); *words != NULL; words++) {
		word = (*words)[0] == '\\' ? *words + 1 : *words;
		if (strcasecmp(word, "Trash") == 0)
			*trash_r = TRUE;
		else if (strcasecmp(word, "Junk") == 0 ||
			 strcasecmp(word, "Spam") == 0)
			*junk_r = TRUE;
		else {
			*error_r = t_strdup_printf(
				"unknown folder '%s' (only \\Trash and \\Junk "
				"can be included)", *words);
			return -1;
		}
	}
	return 0;
}

bool migrate_gmail_guid_is_msgid(const char *guid)
{
	uint64_t id;

	return guid[0] != '\0' && guid[0] != '0' &&
		str_to_uint64(guid, &id) == 0;
}

const char *migrate_gmail_pop3_uidl(const char *msgid)
{
	uint64_t id;

	if (!migrate_gmail_guid_is_msgid(msgid) ||
	    str_to_uint64(msgid, &id) < 0)
		return NULL;
	return t_strdup_printf("GmailId%"PRIx64, id);
}

const char *migrate_gmail_label_keyword(const char *vname)
{
	string_t *utf7 = t_str_new(64);
	char *p;

	if (imap_utf8_to_utf7(vname, utf7) < 0) {
		/* not UTF-8: keep the bytes, they are replaced below */
		str_truncate(utf7, 0);
		str_append(utf7, vname);
	}
	for (p = str_c_modifiable(utf7); *p != '\0'; p++) {
		/* atom-specials of RFC 3501, CTLs, 8-bit and ']' */
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("(){%*\"\\]", *p) != NULL)
			*p = '_';
	}
	return str_c(utf7);
}
