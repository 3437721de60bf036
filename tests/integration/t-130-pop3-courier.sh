#!/usr/bin/env bash
# migrate_pop3 against a non-Dovecot source: Courier-IMAP and Courier-POP3
# (from unpacked Debian packages) over one maildir. Courier's UIDLs
# ("UID<n>-<uidv>", kept in courierpop3dsizelist) have nothing to do with
# its IMAP UIDs, so every one of them must come from matching. The new
# Dovecot's POP3 must serve exactly Courier's UIDL list, in order, and so
# must a final pass after new mail. The corpus has raw UTF-8 headers,
# which Courier's POP3 replaces by a notice (pop3c sends no UTF8 command),
# so their headers differ between the views.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/lib-courier.sh"

user=carol
pw=courier-$RANDOM-pw
LAB_TEST_NAME=pop3-courier
lab_init
lab_courier_fetch
lab_courier_user_add "$user" "$pw"
python3 "$LAB_LIB_DIR/gen-corpus.py" --count 300 --seed 41 \
	--out "$LAB/corpus-courier" --quiet
mapfile -t files < <(find "$LAB/corpus-courier/cur" "$LAB/corpus-courier/new" \
	-type f -printf '%f %p\n' | sort | cut -d' ' -f2-)
lab_courier_deliver "$user" "${files[@]}"
lab_courier_start
lab_user_add "$user" "$pw"
lab_dest_start sdbox

# the migration config, pointed at Courier: no master user there, so the
# user's own password (in the 0600 config file, never on a command line)
lab_courier_migration_conf "$pw" migrate_pop3

# generated files in generation order (their names sort that way)
corpus_files() {
	find "$1/cur" "$1/new" -type f -printf '%f %p\n' | sort | cut -d' ' -f2-
}

courier_uidls() {
	POP3_PASSWORD=$pw python3 "$LAB_LIB_DIR/pop3-uidl.py" 127.0.0.1 \
		"$COURIER_POP3_PORT" "$user" </dev/null
}
check_uidls() {
	courier_uidls >"$LAB/uidl.src"
	lab_pop3_uidls dst "$user" >"$LAB/uidl.dst"
	lab_uidl_compare "$LAB/uidl.src" "$LAB/uidl.dst"
}

rc=0; lab_migrate_backup "$user" || rc=$?
summary=$(grep 'migrate_pop3: POP3 ' "$LAB/migrate-$user.log" | tail -1)
echo "first run: exit $rc: ${summary#*migrate_pop3: }"
assert_eq 0 "$rc" "migration from Courier succeeds" || { lab_log_dump; exit 0; }
assert_eq "300 300 yes" "$(check_uidls)" "Courier's UIDLs served in order by the new POP3" || exit 0

python3 "$LAB_LIB_DIR/gen-corpus.py" --count 6 --seed 42 \
	--out "$LAB/corpus-courier2" --quiet
mapfile -t files < <(corpus_files "$LAB/corpus-courier2")
lab_courier_deliver "$user" "${files[@]}"
rc=0; lab_migrate_backup "$user" || rc=$?
summary=$(grep 'migrate_pop3: POP3 ' "$LAB/migrate-$user.log" | tail -1)
echo "final pass: exit $rc: ${summary#*migrate_pop3: }"
assert_eq 0 "$rc" "final pass succeeds" || { lab_log_dump; exit 0; }
# Courier (as run here: it writes no courierimapuiddb) gives the mailbox a
# new IMAP UIDVALIDITY whenever the maildir changed, and then the cached
# pairs name other messages: they must be dropped, and said so, not used.
if grep -q "Ignoring UIDL cache .*it is for UIDVALIDITY" "$LAB/migrate-$user.log"; then
	echo "ok: Courier changed its UIDVALIDITY: cache dropped with a log line, all re-matched"
else
	assert_eq "cached 300" "$(grep -o 'cached [0-9]*' <<<"$summary")" \
		"final pass reuses the 300 known pairs" || exit 0
fi
assert_eq "306 306 yes" "$(check_uidls)" "new messages' Courier UIDLs served too" || exit 0
pass "$LAB_TEST_NAME"
