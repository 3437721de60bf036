#!/usr/bin/env bash
# Folder mapping from Courier-IMAP (unpacked Debian package) read without
# imapc_list_prefix, as a cPanel/Courier server shows its folders: all
# below "INBOX." ("INBOX.Sent Items", "INBOX.Deleted Items", "INBOX.Work",
# "INBOX.Work.2020"). The INBOX prefix is stripped by itself (every folder
# is below it) and the well-known names are mapped: migrate check shows it,
# the first pass puts every message into Sent, Trash, Work and Work/2020
# here (no INBOX/... folders), and after the switch the final pass adds the
# new mail of "INBOX.Sent Items" to Sent beside what the user saved there,
# nothing twice; a late pass copies nothing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/lib-courier.sh"

user=cora
pw=courier-$RANDOM-pw
LAB_TEST_NAME=folder-map-courier
lab_init
lab_courier_fetch
lab_courier_user_add "$user" "$pw"
# deliver FOLDER COUNT SEED: generated messages into a Courier folder
deliver() {
	local md files out=$LAB/corpus-$3
	md=$(lab_courier_maildir "$user")
	[ "$1" = INBOX ] || md="$md/.$1"
	if [ ! -d "$md/cur" ]; then
		mkdir -p "$md/cur" "$md/new" "$md/tmp"
		touch "$md/maildirfolder"
		chown -R "$LAB_MAIL_USER:$(id -gn "$LAB_MAIL_USER")" "$md"
	fi
	python3 "$LAB_LIB_DIR/gen-corpus.py" --count "$2" --seed "$3" \
		--out "$out" --quiet || return 1
	mapfile -t files < <(find "$out/cur" "$out/new" -type f | sort)
	_labnd_maildir_deliver "$md" "${files[@]}"
}
deliver INBOX 5 301
deliver "Sent Items" 3 302
deliver "Deleted Items" 2 303
deliver Work 2 304
deliver Work.2020 1 305
lab_courier_start
lab_user_add "$user" "$pw"
LAB_DST_EXTRA_CONF='namespace inbox {
  mailbox Sent {
    special_use = \Sent
  }
  mailbox Trash {
    special_use = \Trash
  }
}'
lab_dest_start sdbox
lab_courier_migration_conf "$pw"
# the folders as Courier names them, INBOX. prefix and all
lab_migration_conf_add "imapc_list_prefix ="

run() {
	rc=0
	doveadm -c "$MIG_CONF" migrate run -u "$user" "$@" </dev/null \
		>"$LAB/run.out" 2>&1 || rc=$?
}
field() {	# FOLDER COLUMN of migrate check -f tab
	awk -F'\t' -v f="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == f { print $col[c] }' "$LAB/check.out"
}
count() {
	lab_imap_count dst "$user" "$1" 2>/dev/null || echo none
}
folders_here() {
	doveadm -c "$DST_CONF" mailbox list -u "$user" | sort | tr '\n' '|'
}

rc=0
doveadm -c "$MIG_CONF" -f tab migrate check -u "$user" </dev/null \
	>"$LAB/check.out" 2>"$LAB/check.err" || rc=$?
assert_eq 0 "$rc" "check: exit 0" || cat "$LAB/check.err"
sed 's/^/    /' "$LAB/check.out"
assert_eq "copied into Sent" "$(field "INBOX/Sent Items" action)" "check: INBOX.Sent Items -> Sent"
assert_eq 'well-known name: \Sent' "$(field "INBOX/Sent Items" mapping)" "check: why (the table, without the prefix)"
assert_eq "copied into Work" "$(field INBOX/Work action)" "check: INBOX.Work -> Work"
assert_eq "prefix: INBOX" "$(field INBOX/Work mapping)" "check: why (the prefix)"
assert_eq "copied into Work/2020" "$(field INBOX/Work/2020 action)" "check: INBOX.Work.2020 -> Work/2020"

run
assert_eq 0 "$rc" "first pass: exit 0" || { cat "$LAB/run.out"; exit 0; }
assert_eq 5 "$(count INBOX)" "first pass: INBOX 5"
assert_eq 3 "$(count Sent)" "first pass: Sent 3 (INBOX.Sent Items)"
assert_eq 2 "$(count Trash)" "first pass: Trash 2 (INBOX.Deleted Items)"
assert_eq 2 "$(count Work)" "first pass: Work 2 (INBOX.Work)"
assert_eq 1 "$(count Work/2020)" "first pass: Work/2020 1 (INBOX.Work.2020)"
assert_eq "INBOX|Sent|Trash|Work|Work/2020|" "$(folders_here)" "first pass: no folder under INBOX here"

# the user works here, new mail at Courier, the final pass
printf 'From: cora@example.com\r\nTo: x@example.com\r\nSubject: sent here\r\nMessage-ID: <cora-sent-here@example.com>\r\n\r\nsent from the new server\r\n' |
	doveadm -c "$DST_CONF" save -u "$user" -m Sent
deliver "Sent Items" 2 306
run --final
assert_eq 0 "$rc" "final pass: exit 0" || { cat "$LAB/run.out"; exit 0; }
assert_eq 2 "$(lab_status_field "$user" copied)" "final pass: the 2 new messages copied"
assert_eq 6 "$(count Sent)" "final pass: Sent 3 + 1 saved here + 2 new, nothing twice"
assert_eq "INBOX|Sent|Trash|Work|Work/2020|" "$(folders_here)" "final pass: still no folder under INBOX here"
run --final
assert_eq 0 "$(lab_status_field "$user" copied)" "late pass: nothing copied" || cat "$LAB/run.out"
assert_eq 6 "$(count Sent)" "late pass: Sent unchanged"

[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
