#!/usr/bin/env bash
# The plugins under valgrind: a doveadm migration with migrate_pop3 (first
# run, then a final pass that uses the cache and raises sdbox's UIDL
# header), then verify-uidl, each run under memcheck with leak checking;
# then the migrate commands an admin runs around it, their doveadm
# children followed too: migrate run (its children's outcome and
# progress records, the run's log), check, verify and status.
# Any invalid read/write, use of uninitialised memory or leak fails.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v valgrind >/dev/null || { fail valgrind-migration "valgrind not installed"; exit 0; }
user=vg@example.com
LAB_TEST_NAME=valgrind-migration
lab_init
lab_user_add "$user" secret1
lab_corpus "$user" 60 61
lab_source_start
lab_dest_start sdbox
lab_migration_conf migrate_pop3 migrate_gmail

# valgrind's logs: a process forked after doveadm took the mail user's
# uid (migrate_pop3's POP3 read-ahead) writes its own there
vglogs=$LAB/vg-logs
mkdir -p "$vglogs"
chmod 1777 "$vglogs"

vg() {
	local name=$1 rc=0
	shift
	# Dovecot binaries re-exec themselves through doveconf: follow
	# them, and keep the symbols of plugins unloaded before the report
	valgrind -q --vgdb=no --trace-children=yes --keep-debuginfo=yes \
		--leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		--log-file="$vglogs/vg-$name.%p.log" "$@" </dev/null \
		>"$LAB/vg-$name.out" 2>&1 || rc=$?
	if [ "$rc" -eq 99 ] || [ -n "$(find "$vglogs" -name "vg-$name.*.log" -size +0)" ]; then
		fail "$LAB_TEST_NAME" "$name: valgrind reported errors:"
		cat "$vglogs"/vg-"$name".*.log | head -40
		return 1
	fi
	if [ "$rc" -ne 0 ]; then
		fail "$LAB_TEST_NAME" "$name: exit $rc"
		tail -5 "$LAB/vg-$name.out"
		return 1
	fi
	echo "ok: $name clean under valgrind"
}

vg backup doveadm -c "$MIG_CONF" backup -R -u "$user" imapc: || exit 0
lab_corpus "$user" 4 62
vg final-pass doveadm -c "$MIG_CONF" backup -R -u "$user" imapc: || exit 0
grep -q "cached 60" "$LAB/vg-final-pass.out" ||
	{ fail "$LAB_TEST_NAME" "final pass didn't use the cache"; exit 0; }
vg verify-uidl doveadm -c "$MIG_CONF" migrate verify-uidl -u "$user" -s || exit 0
grep -q "identical 64/64" "$LAB/vg-verify-uidl.out" ||
	{ fail "$LAB_TEST_NAME" "verify-uidl didn't report 64/64"; cat "$LAB/vg-verify-uidl.out"; exit 0; }
user2=vg2@example.com
lab_migration_conf migrate_pop3
lab_user_add "$user2" secret2
lab_corpus "$user2" 30 63
vg check doveadm -c "$MIG_CONF" migrate check -u "$user2" || exit 0
vg run doveadm -c "$MIG_CONF" migrate run -u "$user2" || exit 0
vg verify doveadm -c "$MIG_CONF" migrate verify -u "$user2" -s || exit 0
vg status doveadm -c "$MIG_CONF" migrate status || exit 0
grep -q "^2 accounts\|^1 accounts: 1 finished" "$LAB/vg-status.out" ||
	{ fail "$LAB_TEST_NAME" "status under valgrind: no totals"; cat "$LAB/vg-status.out"; exit 0; }
pass "$LAB_TEST_NAME"
