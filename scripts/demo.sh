#!/bin/bash
# scripts/demo.sh: migrate one mail account between two real Dovecot servers
# running on 127.0.0.1, the way an admin would, and show the result.
#
#   source       Dovecot, maildir, IMAP + POP3 (UIDLs %08Xu%08Xv, on 2.4
#                %{uid | hex(8)}%{uidvalidity | hex(8)}: the same UIDLs)
#   destination  Dovecot, sdbox (DEMO_DRIVER), IMAP + POP3
#   migration    doveadm -c migration.conf backup -R -u USER imapc:
#                with the plugins in DEMO_PLUGINS loaded into doveadm
#
# Prints messages per folder on both sides and whether the destination's
# POP3 UIDL list is identical to the source's (so POP3 clients download
# nothing again).  Exits non-zero if the migration or a check failed.
# Needs root (it starts two Dovecot masters and creates user dmvmail).
# Both servers are stopped and their directory removed at the end
# (KEEP_LAB=1 keeps the directory).
# Dovecot 2.3 or 2.4, whichever is installed (LAB_DOVECOT, from
# tests/integration/lib.sh): the lab writes every config in the syntax of
# that version (lab__conf24), so this script has none of its own.

# Mail plugins loaded by doveadm for the migration (empty = none).
DEMO_PLUGINS=${DEMO_PLUGINS-migrate_pop3}
DEMO_USER=${DEMO_USER:-alice@example.com}
DEMO_DRIVER=${DEMO_DRIVER:-sdbox}
# messages per folder: "FOLDER:COUNT ..."
DEMO_FOLDERS=${DEMO_FOLDERS:-INBOX:240 Archive/2020:60 Sent:30}

set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/integration/lib.sh
. "$top/tests/integration/lib.sh"
# shellcheck disable=SC2034 # read by lib.sh
LAB_TEST_NAME=demo

ms_since() {
	local now=${EPOCHREALTIME/./}
	echo $(((now - $1) / 1000))
}

t_start=${EPOCHREALTIME/./}
lab_init
lab_user_add "$DEMO_USER" "demo-$RANDOM-pw"
seed=100
total=0
for spec in $DEMO_FOLDERS; do
	lab_corpus "$DEMO_USER" "${spec##*:}" "$seed" "${spec%:*}"
	seed=$((seed + 1))
	total=$((total + ${spec##*:}))
done
bytes=$(du -sb "$(lab_maildir "$DEMO_USER")" | cut -f1)
lab_source_start
lab_dest_start "$DEMO_DRIVER"
# shellcheck disable=SC2086 # one word per plugin
lab_migration_conf $DEMO_PLUGINS

echo "dovecot-migrate demo: $DEMO_USER (Dovecot $(dovecot --version | cut -d' ' -f1))"
printf '  %-12s Dovecot maildir   IMAP 127.0.0.1:%s  POP3 127.0.0.1:%s\n' \
	source "$SRC_IMAP_PORT" "$SRC_POP3_PORT"
printf '  %-12s Dovecot %-9s IMAP 127.0.0.1:%s  POP3 127.0.0.1:%s\n' \
	destination "$DEMO_DRIVER" "$DST_IMAP_PORT" "$DST_POP3_PORT"
printf '  %-12s %d messages, %d folders, %.1f MB\n' corpus "$total" \
	"$(wc -w <<<"$DEMO_FOLDERS")" "$(echo "$bytes" | awk '{print $1 / 1048576}')"
printf '  %-12s %s\n' plugins "${DEMO_PLUGINS:-(none)}"
echo
echo "Migrating: doveadm -c migration.conf backup -R -u $DEMO_USER imapc:"
t0=${EPOCHREALTIME/./}
rc=0
lab_migrate_backup "$DEMO_USER" || rc=$?
echo "  exit code $rc after $(ms_since "$t0") ms"
log="$LAB/migrate-$DEMO_USER.log"
nwarn=$(grep -cE '(Warning|Error|Panic|Fatal):' "$log" || true)
if [ "$nwarn" -gt 0 ]; then
	echo "  $nwarn warning/error line(s) from doveadm, most frequent:"
	grep -E '(Warning|Error|Panic|Fatal):' "$log" | sed 's/^[^:]*: //' |
		sort | uniq -c | sort -rn | head -n 5 | sed 's/^ *\([0-9]*\) /    \1x /'
fi
ok=1
[ "$rc" -eq 0 ] || ok=0

echo
printf '%-16s %8s %12s\n' Folder source destination
# every selectable folder on each side, with its message count
declare -A src_count dst_count
while IFS=$'\t' read -r f n; do
	src_count[$f]=$n
done < <(lab_doveadm src -f tab mailbox status -u "$DEMO_USER" messages '*' | tail -n +2)
while IFS=$'\t' read -r f n; do
	dst_count[$f]=$n
done < <(lab_doveadm dst -f tab mailbox status -u "$DEMO_USER" messages '*' | tail -n +2)
mapfile -t folders < <(printf '%s\n' "${!src_count[@]}" "${!dst_count[@]}" | sort -u |
	awk '$0 == "INBOX" { print; next } { rest[++n] = $0 }
	     END { for (i = 1; i <= n; i++) print rest[i] }')
sum_src=0
sum_dst=0
for f in "${folders[@]}"; do
	s=${src_count[$f]:--}
	d=${dst_count[$f]:--}
	mark=""
	if [ "$s" != "$d" ]; then
		if [ "$s$d" = "-0" ] || [ "$s$d" = "0-" ]; then
			# a hierarchy parent (e.g. "Archive" of "Archive/2020")
			# that exists as an empty mailbox on one side only
			mark="  (empty parent)"
		else
			mark="  <- differs"
			ok=0
		fi
	fi
	printf '%-16s %8s %12s%s\n' "$f" "$s" "$d" "$mark"
	[ "$s" = - ] || sum_src=$((sum_src + s))
	[ "$d" = - ] || sum_dst=$((sum_dst + d))
done
printf '%-16s %8s %12s\n' total "$sum_src" "$sum_dst"

echo
lab_pop3_uidls src "$DEMO_USER" >"$LAB/uidl-src"
lab_pop3_uidls dst "$DEMO_USER" >"$LAB/uidl-dst"
read -r matched uidl_total inorder < <(lab_uidl_compare "$LAB/uidl-src" "$LAB/uidl-dst")
if [ "$inorder" = yes ]; then
	echo "POP3 UIDLs (INBOX): identical $matched/$uidl_total, in order"
else
	echo "POP3 UIDLs (INBOX): identical $matched/$uidl_total at the same position - NOT identical"
	diff "$LAB/uidl-src" "$LAB/uidl-dst" | head -n 6 | sed 's/^/  /' || true
	ok=0
fi

# the same check with the admin's command: old POP3 list vs what this
# server's POP3 will serve
echo
echo "Verifying: doveadm -c migration.conf migrate verify-uidl -u $DEMO_USER -s"
verify_rc=0
doveadm -c "$MIG_CONF" migrate verify-uidl -u "$DEMO_USER" -s 2>&1 |
	grep -Ev '^[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} ' |
	sed 's/^/  /' || verify_rc=$?
verify_rc=${PIPESTATUS[0]}
echo "  exit code $verify_rc"
[ "$verify_rc" = 0 ] || ok=0

echo
if [ "$ok" = 1 ]; then
	echo "Result: OK ($sum_dst/$sum_src messages, $matched/$uidl_total UIDLs, $(ms_since "$t_start") ms in all)"
	exit 0
fi
echo "Result: FAILED"
exit 1
