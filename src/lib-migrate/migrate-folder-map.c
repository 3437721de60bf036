/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "buffer.h"
#include "hash.h"
#include "str.h"
#include "unichar.h"
#include "migrate-folder-map.h"

/* Well-known folder names and the SPECIAL-USE they stand for: Exchange
   and Outlook (English and their localized names), Thunderbird, Apple
   Mail, Courier/cPanel, Zimbra. Outlook's Outbox holds mail not sent yet,
   which is neither sent nor a draft: it keeps its name. */
static const struct {
	const char *name;
	const char *flag;
} migrate_folder_map_builtin[] = {
	/* English */
	{ "Sent", "\\Sent" },
	{ "Sent Items", "\\Sent" },
	{ "Sent Messages", "\\Sent" },
	{ "Sent Mail", "\\Sent" },
	{ "Sent-Mail", "\\Sent" },
	{ "Drafts", "\\Drafts" },
	{ "Draft", "\\Drafts" },
	{ "Trash", "\\Trash" },
	{ "Deleted Items", "\\Trash" },
	{ "Deleted Messages", "\\Trash" },
	{ "Deleted", "\\Trash" },
	{ "Bin", "\\Trash" },
	{ "Junk", "\\Junk" },
	{ "Junk Email", "\\Junk" },
	{ "Junk E-mail", "\\Junk" },
	{ "Junk Mail", "\\Junk" },
	{ "Spam", "\\Junk" },
	{ "Bulk Mail", "\\Junk" },
	{ "Archive", "\\Archive" },
	{ "Archives", "\\Archive" },
	/* German */
	{ "Gesendete Elemente", "\\Sent" },
	{ "Gesendete Objekte", "\\Sent" },
	{ "Gesendet", "\\Sent" },
	{ "Entwürfe", "\\Drafts" },
	{ "Gelöschte Elemente", "\\Trash" },
	{ "Gelöschte Objekte", "\\Trash" },
	{ "Papierkorb", "\\Trash" },
	{ "Junk-E-Mail", "\\Junk" },
	{ "Spamverdacht", "\\Junk" },
	{ "Archiv", "\\Archive" },
	/* French */
	{ "Éléments envoyés", "\\Sent" },
	{ "Messages envoyés", "\\Sent" },
	{ "Envoyés", "\\Sent" },
	{ "Brouillons", "\\Drafts" },
	{ "Éléments supprimés", "\\Trash" },
	{ "Corbeille", "\\Trash" },
	{ "Courrier indésirable", "\\Junk" },
	{ "Indésirables", "\\Junk" },
	/* Spanish */
	{ "Elementos enviados", "\\Sent" },
	{ "Enviados", "\\Sent" },
	{ "Borradores", "\\Drafts" },
	{ "Elementos eliminados", "\\Trash" },
	{ "Papelera", "\\Trash" },
	{ "Correo no deseado", "\\Junk" },
	{ "Archivo", "\\Archive" },
	/* Italian */
	{ "Posta inviata", "\\Sent" },
	{ "Elementi inviati", "\\Sent" },
	{ "Inviati", "\\Sent" },
	{ "Bozze", "\\Drafts" },
	{ "Posta eliminata", "\\Trash" },
	{ "Elementi eliminati", "\\Trash" },
	{ "Cestino", "\\Trash" },
	{ "Posta indesiderata", "\\Junk" },
	{ "Archivio", "\\Archive" },
	/* Dutch */
	{ "Verzonden items", "\\Sent" },
	{ "Verzonden", "\\Sent" },
	{ "Concepten", "\\Drafts" },
	{ "Verwijderde items", "\\Trash" },
	{ "Prullenbak", "\\Trash" },
	{ "Ongewenste e-mail", "\\Junk" },
	{ "Archief", "\\Archive" },
	/* Portuguese (Portugal and Brazil) */
	{ "Itens enviados", "\\Sent" },
	{ "Enviadas", "\\Sent" },
	{ "Rascunhos", "\\Drafts" },
	{ "Itens eliminados", "\\Trash" },
	{ "Itens excluídos", "\\Trash" },
	{ "Lixeira", "\\Trash" },
	{ "Lixo", "\\Trash" },
	{ "Lixo eletrônico", "\\Junk" },
	{ "Email de lixo", "\\Junk" },
	{ "Arquivo", "\\Archive" },
};

/* the SPECIAL-USE flags a folder here can take over */
static const char *const migrate_folder_map_flags[] = {
	"\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive", NULL
};

static const char *migrate_folder_map_fold(const char *name)
{
	buffer_t *buf = t_buffer_create(strlen(name) * 2 + 1);

	if (uni_utf8_to_decomposed_titlecase(name, strlen(name), buf) < 0)
		return t_str_lcase(name);
	return str_c(buf);
}

const char *migrate_folder_map_builtin_lookup(const char *name)
{
	const char *folded = migrate_folder_map_fold(name);
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(migrate_folder_map_builtin); i++) {
		if (strcmp(folded, migrate_folder_map_fold(
				migrate_folder_map_builtin[i].name)) == 0)
			return migrate_folder_map_builtin[i].flag;
	}
	return NULL;
}

const char *migrate_folder_map_reason_name(enum migrate_folder_map_reason reason)
{
	switch (reason) {
	case MIGRATE_FOLDER_MAP_KEPT:
		return "kept";
	case MIGRATE_FOLDER_MAP_FILE:
		return "map file";
	case MIGRATE_FOLDER_MAP_SPECIAL_USE:
		return "special-use";
	case MIGRATE_FOLDER_MAP_BUILTIN:
		return "well-known name";
	case MIGRATE_FOLDER_MAP_PARENT:
		return "parent";
	case MIGRATE_FOLDER_MAP_PREFIX:
		return "prefix";
	}
	i_unreached();
}

/* ---- the map file ---- */

/* One name of a rule at *p: quoted, or up to stop (or the end), spaces
   around it trimmed. Returns 0, or -1 with error_r. */
static int
migrate_folder_map_parse_name(const char **p, char stop, string_t *dest,
			      const char **error_r)
{
	const char *s = *p, *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '"') {
		for (s++; *s != '"'; s++) {
			if (*s == '\0') {
				*error_r = "unterminated quoted name";
				return -1;
			}
			if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
				s++;
			str_append_c(dest, *s);
		}
		s++;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '\0' && *s != stop) {
			*error_r = "text after a quoted name";
			return -1;
		}
	} else {
		end = stop == '\0' ? NULL : strchr(s, stop);
		if (end == NULL)
			end = s + strlen(s);
		while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		str_append_data(dest, s, end - s);
		s = end;
		while (*s == ' ' || *s == '\t')
			s++;
	}
	*p = s;
	return 0;
}

static unsigned int migrate_folder_map_stars(const char *name)
{
	unsigned int count = 0;

	for (; *name != '\0'; name++) {
		if (*name == '*')
			count++;
	}
	return count;
}

static int
migrate_folder_map_parse_line(const char *line, pool_t pool,
			      struct migrate_folder_map_rule *rule,
			      const char **error_r)
{
	string_t *old_name = t_str_new(64), *new_name = t_str_new(64);
	const char *p = line;
	unsigned int old_stars, new_stars;

	if (migrate_folder_map_parse_name(&p, '=', old_name, error_r) < 0)
		return -1;
	if (*p != '=') {
		*error_r = "expected 'old name = new name'";
		return -1;
	}
	p++;
	if (migrate_folder_map_parse_name(&p, '\0', new_name, error_r) < 0)
		return -1;
	if (str_len(old_name) == 0) {
		*error_r = "the old name is empty";
		return -1;
	}
	if (!uni_utf8_str_is_valid(str_c(old_name)) ||
	    !uni_utf8_str_is_valid(str_c(new_name))) {
		*error_r = "a name isn't valid UTF-8";
		return -1;
	}
	old_stars = migrate_folder_map_stars(str_c(old_name));
	new_stars = migrate_folder_map_stars(str_c(new_name));
	if (new_stars > 1 || (new_stars == 1 && old_stars != 1)) {
		*error_r = "a '*' in the new name needs exactly one '*' in "
			"the old name (and takes what it matched)";
		return -1;
	}
	if (strcasecmp(str_c(old_name), "INBOX") == 0) {
		*error_r = "INBOX can't be renamed";
		return -1;
	}
	rule->old_name = p_strdup(pool, str_c(old_name));
	rule->new_name = p_strdup(pool, str_c(new_name));
	rule->pattern = old_stars > 0;
	return 0;
}

int migrate_folder_map_parse(const char *data, const char *path, pool_t pool,
			     ARRAY_TYPE(migrate_folder_map_rule) *rules,
			     const char **error_r)
{
	struct migrate_folder_map_rule rule;
	const char *const *lines, *line, *error;
	unsigned int i;

	lines = t_strsplit(data, "\n");
	for (i = 0; lines[i] != NULL; i++) {
		line = t_strcut(lines[i], '\r');
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '\0' || *line == '#')
			continue;
		i_zero(&rule);
		if (migrate_folder_map_parse_line(line, pool, &rule,
						  &error) < 0) {
			*error_r = t_strdup_printf("%s:%u: %s", path, i + 1,
						   error);
			return -1;
		}
		rule.path = p_strdup(pool, path);
		rule.line = i + 1;
		array_push_back(rules, &rule);
	}
	return 0;
}

/* ---- resolving ---- */

struct migrate_folder_map_ctx {
	const struct migrate_folder_map_settings *set;
	/* old name -> its folder (for the SPECIAL-USE of parents) */
	HASH_TABLE(const char *, const struct migrate_folder_map_folder *) folders;
	const char *strip_prefix;
};

/* Does name match pattern ('*': any characters)? The part the first '*'
   matched goes to star_r. */
static bool
migrate_folder_map_match(const char *pattern, const char *name,
			 const char **star_r)
{
	const char *rest;

	for (; *pattern != '*'; pattern++, name++) {
		if (*pattern != *name)
			return FALSE;
		if (*pattern == '\0')
			return TRUE;
	}
	pattern++;
	/* longest match first, so that "A*" keeps all of "A/B/C" */
	for (rest = name + strlen(name); rest >= name; rest--) {
		if (migrate_folder_map_match(pattern, rest, NULL)) {
			if (star_r != NULL)
				*star_r = t_strdup_until(name, rest);
			return TRUE;
		}
	}
	return FALSE;
}

static const char *
migrate_folder_map_dest_name(const struct migrate_folder_map_settings *set,
			     const char *flag, bool configured_only)
{
	unsigned int i;

	for (i = 0; i < set->dest_folder_count; i++) {
		const char *special_use = set->dest_folders[i].special_use;
		const char *const *uses = t_strsplit_spaces(
			special_use == NULL ? "" : special_use, " ");

		if (str_array_icase_find(uses, flag))
			return set->dest_folders[i].name;
	}
	return configured_only ? NULL : flag + 1;
}

static bool
migrate_folder_map_file(struct migrate_folder_map_ctx *ctx, const char *name,
			struct migrate_folder_map_entry *entry)
{
	const struct migrate_folder_map_rule *rule;
	const char *star, *star_pos;
	size_t len;

	if (ctx->set->rules == NULL)
		return FALSE;
	array_foreach(ctx->set->rules, rule) {
		if (rule->pattern) {
			if (!migrate_folder_map_match(rule->old_name, name,
						      &star))
				continue;
			star_pos = strchr(rule->new_name, '*');
			entry->new_name = star_pos == NULL ? rule->new_name :
				t_strconcat(t_strdup_until(rule->new_name,
							   star_pos),
					    star, star_pos + 1, NULL);
		} else if (strcmp(rule->old_name, name) == 0) {
			entry->new_name = rule->new_name;
		} else {
			/* a folder's rule moves what is below it too */
			len = strlen(rule->old_name);
			if (strncmp(rule->old_name, name, len) != 0 ||
			    name[len] != ctx->set->sep)
				continue;
			entry->new_name = *rule->new_name == '\0' ? name :
				t_strconcat(rule->new_name, name + len, NULL);
		}
		if (*entry->new_name == '\0')
			entry->new_name = name;
		entry->reason = MIGRATE_FOLDER_MAP_FILE;
		entry->why = t_strdup_printf("%s:%u", rule->path, rule->line);
		return TRUE;
	}
	return FALSE;
}

/* name without the prefix to strip (name itself if it isn't below it) */
static const char *
migrate_folder_map_strip(struct migrate_folder_map_ctx *ctx, const char *name)
{
	size_t len = strlen(ctx->strip_prefix);

	if (len == 0 || strncasecmp(name, ctx->strip_prefix, len) != 0 ||
	    name[len] != ctx->set->sep || name[len + 1] == '\0')
		return name;
	return name + len + 1;
}

static void
migrate_folder_map_one(struct migrate_folder_map_ctx *ctx, const char *name,
		       struct migrate_folder_map_entry *entry)
{
	const struct migrate_folder_map_folder *folder;
	struct migrate_folder_map_entry parent;
	const char *stripped, *flag, *sep_pos;
	unsigned int i;

	i_zero(entry);
	entry->old_name = name;
	entry->new_name = name;
	if (strcasecmp(name, "INBOX") == 0)
		return;
	if (migrate_folder_map_file(ctx, name, entry))
		return;

	stripped = migrate_folder_map_strip(ctx, name);
	folder = hash_table_lookup(ctx->folders, name);
	if (folder != NULL && folder->special_use != NULL) {
		const char *const *uses =
			t_strsplit_spaces(folder->special_use, " ");

		for (i = 0; migrate_folder_map_flags[i] != NULL; i++) {
			flag = migrate_folder_map_flags[i];
			if (!str_array_icase_find(uses, flag))
				continue;
			entry->new_name = migrate_folder_map_dest_name(
				ctx->set, flag, TRUE);
			if (entry->new_name == NULL) {
				entry->new_name = name;
				continue;
			}
			entry->reason = MIGRATE_FOLDER_MAP_SPECIAL_USE;
			entry->why = t_strdup_printf("%s", flag);
			return;
		}
	}
	if (ctx->set->builtin &&
	    (flag = migrate_folder_map_builtin_lookup(stripped)) != NULL) {
		entry->new_name = migrate_folder_map_dest_name(ctx->set, flag,
							       FALSE);
		entry->reason = MIGRATE_FOLDER_MAP_BUILTIN;
		entry->why = t_strdup_printf("%s", flag);
		return;
	}
	sep_pos = strrchr(stripped, ctx->set->sep);
	if (sep_pos != NULL) {
		/* the parent's new name, unless only its prefix went */
		migrate_folder_map_one(ctx, t_strdup_until(name, sep_pos),
				       &parent);
		if (parent.reason != MIGRATE_FOLDER_MAP_KEPT &&
		    parent.reason != MIGRATE_FOLDER_MAP_PREFIX) {
			entry->new_name = t_strconcat(parent.new_name,
						      sep_pos, NULL);
			entry->reason = MIGRATE_FOLDER_MAP_PARENT;
			entry->why = parent.old_name;
			return;
		}
	}
	if (stripped != name) {
		entry->new_name = stripped;
		entry->reason = MIGRATE_FOLDER_MAP_PREFIX;
		entry->why = ctx->strip_prefix;
	}
}

/* automatic prefix stripping: INBOX, when every folder but INBOX is
   below it (Courier, cPanel) */
static const char *
migrate_folder_map_auto_prefix(const struct migrate_folder_map_settings *set,
			       const struct migrate_folder_map_folder *folders,
			       unsigned int count)
{
	unsigned int i, below = 0;

	for (i = 0; i < count; i++) {
		if (strcasecmp(folders[i].name, "INBOX") == 0)
			continue;
		if (strncasecmp(folders[i].name, "INBOX", 5) != 0 ||
		    folders[i].name[5] != set->sep)
			return "";
		below++;
	}
	return below > 0 ? "INBOX" : "";
}

int migrate_folder_map_resolve(const struct migrate_folder_map_settings *set,
			       const struct migrate_folder_map_folder *folders,
			       unsigned int count, pool_t pool,
			       ARRAY_TYPE(migrate_folder_map_entry) *entries,
			       const char **error_r)
{
	struct migrate_folder_map_ctx ctx;
	struct migrate_folder_map_entry entry, *dest;
	HASH_TABLE(const char *, struct migrate_folder_map_entry *) names;
	const struct migrate_folder_map_entry *other, *moved, *lo, *hi;
	const char *key;
	unsigned int i, first = array_count(entries);
	int ret = 0;

	i_zero(&ctx);
	ctx.set = set;
	ctx.strip_prefix = set->strip_prefix != NULL ? set->strip_prefix :
		migrate_folder_map_auto_prefix(set, folders, count);
	hash_table_create(&ctx.folders, default_pool, count, str_hash,
			  strcmp);
	for (i = 0; i < count; i++)
		hash_table_update(ctx.folders, folders[i].name, &folders[i]);

	/* no T_BEGIN: pool may be the data stack */
	for (i = 0; i < count; i++) {
		migrate_folder_map_one(&ctx, folders[i].name, &entry);
		dest = array_append_space(entries);
		dest->old_name = p_strdup(pool, entry.old_name);
		dest->new_name = p_strdup(pool, entry.new_name);
		dest->reason = entry.reason;
		dest->why = p_strdup(pool, entry.why);
	}
	hash_table_destroy(&ctx.folders);

	/* two folders onto one name here (parents only are no copies) */
	hash_table_create(&names, default_pool, count, str_hash, strcmp);
	for (i = 0; i < count && ret == 0; i++) {
		dest = array_idx_modifiable(entries, first + i);
		if (folders[i].noselect)
			continue;
		key = strcasecmp(dest->new_name, "INBOX") == 0 ? "INBOX" :
			dest->new_name;
		other = hash_table_lookup(names, key);
		if (other == NULL) {
			hash_table_insert(names, key, dest);
			continue;
		}
		/* the one that got another name is the one to keep apart */
		moved = strcmp(dest->old_name, dest->new_name) != 0 ? dest : other;
		lo = other;
		hi = dest;
		if (strcmp(lo->old_name, hi->old_name) > 0) {
			lo = dest;
			hi = other;
		}
		*error_r = t_strdup_printf("old folders '%s' and '%s' would "
			"both become '%s' here: keep one apart with a line "
			"in migrate_folder_map_file (e.g. '%s = %s')",
			lo->old_name, hi->old_name, dest->new_name,
			moved->old_name, moved->old_name);
		ret = -1;
	}
	hash_table_destroy(&names);
	return ret;
}
