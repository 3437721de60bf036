#!/usr/bin/env bash
# migrate_throttle: the rate at which a migration reads the old server is
# held to migrate_throttle_bytes / _msgs per account and to
# migrate_throttle_global_* across concurrent migrations, each measured
# within +-20 % of the limit (bytes = the source's RFC822 sizes, time =
# the whole doveadm run, so setup time counts against the rate).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LAB_TEST_NAME=throttle
lab_init
for u in a b c d; do
	lab_user_add "$u@example.com" "pw-$u"
	lab_corpus "$u@example.com" 120 "$(printf '%d' "'$u")"
done
lab_source_start
lab_dest_start sdbox

src_bytes() {
	lab_doveadm src -f tab mailbox status -u "$1" -t vsize '*' | tail -1
}
now_ms() { date +%s%3N; }
within() {	# NAME MEASURED LIMIT: measured rate within +-20 % of the limit
	local pct=$(( $2 * 100 / $3 ))
	if [ "$pct" -lt 80 ] || [ "$pct" -gt 120 ]; then
		fail "$LAB_TEST_NAME" "$1: $2/s is $pct % of the limit $3/s"
		return 1
	fi
	echo "ok: $1: $2/s = $pct % of the limit $3/s"
}
refused() {	# WHAT LOG-PATTERN: the last migration of a@ must have failed so
	local rc=0
	lab_migrate_backup a@example.com || rc=$?
	if [ "$rc" -eq 0 ] || ! grep -q "$2" "$LAB/migrate-a@example.com.log"; then
		fail "$LAB_TEST_NAME" "$1 was accepted (exit $rc)"
		return 1
	fi
	echo "ok: $1 refused (exit $rc)"
}
throttled() {	# USER SETTINGS... -> prints elapsed ms
	local user=$1 t0
	shift
	lab_migration_conf migrate_throttle
	lab_migration_conf_add "plugin {" "$@" "}"
	t0=$(now_ms)
	lab_migrate_backup "$user"
	echo $(( $(now_ms) - t0 ))
}

# bytes per second, per account: ~4 s worth
size=$(src_bytes a@example.com)
limit=$(( size / 4 ))
ms=$(throttled a@example.com "  migrate_throttle_bytes = $limit")
assert_eq 120 "$(lab_imap_count dst a@example.com)" "throttled migration copies everything" || exit 0
within "bytes/s, one account" $(( size * 1000 / ms )) "$limit" || exit 0

# messages per second, per account: 120 messages at 30/s
ms=$(throttled b@example.com "  migrate_throttle_msgs = 30")
within "messages/s, one account" $(( 120 * 1000 / ms )) 30 || exit 0

# global: two accounts at once share one limit
size=$(( $(src_bytes c@example.com) + $(src_bytes d@example.com) ))
limit=$(( size / 4 ))
# the shared file must be writable by the mail user (see docs/settings.md)
install -d -o "$LAB_UID" -g "$LAB_GID" -m 0700 "$LAB/throttle"
LAB_MIG_EXTRA_CONF="plugin {
  migrate_throttle_global_file = $LAB/throttle/global
  migrate_throttle_global_bytes = $limit
}"
lab_migration_conf migrate_throttle
t0=$(now_ms)
lab_migrate_backup c@example.com & p1=$!
lab_migrate_backup d@example.com & p2=$!
wait $p1; wait $p2
ms=$(( $(now_ms) - t0 ))
assert_eq 240 $(( $(lab_imap_count dst c@example.com) + $(lab_imap_count dst d@example.com) )) \
	"both throttled migrations complete" || exit 0
within "bytes/s, global over two accounts" $(( size * 1000 / ms )) "$limit" || exit 0

# a global file the migration can't write is an error, not ignored
LAB_MIG_EXTRA_CONF="plugin {
  migrate_throttle_global_file = $LAB/root-only/global
  migrate_throttle_global_bytes = $limit
}"
install -d -m 0700 "$LAB/root-only"
lab_migration_conf migrate_throttle
refused "an unwritable global throttle file" \
	"migrate_throttle_global_file=.*root-only/global: open() failed" || exit 0
LAB_MIG_EXTRA_CONF=

# an invalid limit is an error, not ignored
lab_migration_conf migrate_throttle
lab_migration_conf_add "plugin {" "  migrate_throttle_bytes = fast" "}"
refused "an invalid limit" \
	"migrate_throttle: Invalid settings: migrate_throttle_bytes\|migrate_throttle_bytes: invalid value" || exit 0
pass "$LAB_TEST_NAME"
