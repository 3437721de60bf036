#!/usr/bin/env bash
# migrate run --folder-prefix from a non-Dovecot source: Courier-IMAP
# (unpacked Debian package), read with imapc_list_prefix = INBOX: the run
# must copy every message once under the prefix (hash of header+body with
# line ends compared as LF, since Courier serves CRLF-stored mail with
# CR CR LF; and flags), then copy only new mail.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/lib-courier.sh"

user=carol
pw=courier-$RANDOM-pw
LAB_TEST_NAME=folder-prefix-courier
lab_init
lab_courier_fetch
lab_courier_user_add "$user" "$pw"
deliver() {	# COUNT SEED: generated messages into Courier's INBOX
	lab_courier_deliver_corpus "$user" "$1" "$2"
}
deliver 60 141
lab_courier_start
lab_user_add "$user" "$pw"
lab_dest_start sdbox
lab_courier_migration_conf "$pw"

compare() {	# Courier's folders vs Old/ here (the same login on both)
	MAILCMP_LOGIN=$user MAILCMP_PASSWORD=$pw python3 "$LAB_LIB_DIR/mailcmp.py" \
		"$COURIER_IMAP_PORT" "$DST_IMAP_PORT" --dst-prefix Old/ --eol </dev/null |
		head -n 5
}
run() {
	rc=0
	doveadm -c "$MIG_CONF" migrate run -u "$user" --folder-prefix Old \
		</dev/null >"$LAB/run.out" 2>&1 || rc=$?
}

run
assert_eq 0 "$rc" "Courier, first run: exit 0" || { cat "$LAB/run.out"; exit 0; }
assert_eq "identical folders=1 messages=60" "$(compare)" "Courier, first run: INBOX under Old/ (hashes, flags)" || exit 0
run
assert_eq 0 "$rc" "Courier, second run: exit 0" || { cat "$LAB/run.out"; exit 0; }
assert_eq 0 "$(lab_status_field "$user" copied)" "Courier, second run: nothing copied" || exit 0
deliver 4 142
run
assert_eq 0 "$rc" "Courier, third run: exit 0" || { cat "$LAB/run.out"; exit 0; }
assert_eq 4 "$(lab_status_field "$user" copied)" "Courier, third run: the 4 new messages copied" || exit 0
assert_eq "identical folders=1 messages=64" "$(compare)" "Courier, third run: identical, nothing twice" || exit 0
pass "$LAB_TEST_NAME"
