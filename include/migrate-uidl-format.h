#ifndef MIGRATE_UIDL_FORMAT_H
#define MIGRATE_UIDL_FORMAT_H

/* Formula UIDLs: many servers derive the POP3 UIDL from the IMAP UID and
   UIDVALIDITY, so the UIDL can be computed without a POP3 connection.
   The format uses Dovecot's %variables:
     %u, %{uid}          IMAP UID
     %v, %{uidvalidity}  IMAP UIDVALIDITY
   with the usual modifiers, e.g. Dovecot's default "%08Xu%08Xv" or
   Cyrus-style "%v.%u". */

/* Returns 0 if the format is usable, -1 if not (error_r says why: unknown
   variable, or no UID in it so every message would get the same UIDL). */
int migrate_uidl_format_check(const char *format, const char **error_r);
/* Returns the UIDL for the message (data stack). The format must have
   passed migrate_uidl_format_check(). */
const char *migrate_uidl_format_expand(const char *format,
				       uint32_t uidvalidity, uint32_t uid);

#endif
