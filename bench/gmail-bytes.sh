#!/usr/bin/env bash
# bench/gmail-bytes: bytes read from a Gmail-like server (the test server of
# tests/integration/gmail/, its own traffic counters) divided by the size of
# All Mail, and wall time, for three ways of migrating the same account:
#
#   naive   doveadm backup -R imapc:            (every label folder copied)
#   recipe  Dovecot's documented recipe: imapc_features = gmail-migration,
#           a virtual All namespace, backup -a virtual/All
#           -O '-$GmailHaveLabels' -R imapc:~/imapc
#   plugin  doveadm migrate gmail (migrate_gmail)
#
# for each account shape (default label mix, and "many labels": 70 % of
# the mail with 2-3 labels). Prints ratios against the size of All Mail and
# the plugin's time against the other two, measured in the same run.
# Target: bytes ratio <= 1.05 at any label count.
#
#   bench/gmail-bytes.sh [MESSAGES=480]
#
# GMAIL_BENCH_MODES="plugin" runs only some of the modes;
# GMAIL_BENCH_BREAKDOWN=1 also prints, per run, the server's bytes out by
# response kind (untagged FETCH by its item names, LIST, tagged, ...).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LAB_TMPDIR:=/dev/shm}"
export LAB_TMPDIR
. "$here/../tests/integration/lib.sh"
. "$here/../tests/integration/gmail/lib-gmail.sh"

count=${1:-480}
modes=${GMAIL_BENCH_MODES:-naive recipe plugin}
GPW=bench-pw
# div A B: A/B (awk: bc is not in the Dovecot 2.4 root of
# scripts/dovecot24-root.sh)
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a / b }'; }
lab_init
LAB_DST_EXTRA_CONF='mail_fsync = never'
for mode in $modes; do
	for shape in default many; do
		lab_user_add "$mode-$shape@gmail.example" pw
	done
done
lab_dest_start sdbox
lab_gmail_setup

run_mode() {	# MODE USER -> "seconds bytes_out message_bytes downloads"
	local mode=$1 user=$2 t0 t1 home=$LAB/dst/home/$2
	lab_gmail_start "$GMAIL_ACCOUNT" "$user" "$GPW" >/dev/null
	case $mode in
	naive)
		lab_gmail_migration_conf "$user" "$GPW"
		t0=$(date +%s.%N)
		doveadm -c "$MIG_CONF" backup -R -u "$user" imapc: >"$LAB/$user.log" 2>&1
		;;
	recipe)
		mkdir -p "$home/virtual/All"
		printf '*\n  all\n' >"$home/virtual/All/dovecot-virtual"
		chown -R "$LAB_UID:$LAB_GID" "$home/virtual"
		LAB_MIG_EXTRA_CONF='imapc_features = rfc822.size fetch-headers gmail-migration
mail_plugins = $mail_plugins virtual
namespace virtual {
  prefix = virtual/
  separator = /
  location = virtual:~/virtual
  list = no
  hidden = yes
  subscriptions = no
}' lab_gmail_migration_conf "$user" "$GPW"
		t0=$(date +%s.%N)
		doveadm -c "$MIG_CONF" backup -a virtual/All -O '-$GmailHaveLabels' \
			-R -u "$user" 'imapc:~/imapc' >"$LAB/$user.log" 2>&1
		;;
	plugin)
		lab_gmail_migration_conf "$user" "$GPW" migrate_gmail
		t0=$(date +%s.%N)
		doveadm -c "$MIG_CONF" migrate gmail -u "$user" >"$LAB/$user.log" 2>&1
		;;
	esac
	t1=$(date +%s.%N)
	lab_gmail_stop
	if [ -n "${GMAIL_BENCH_BREAKDOWN:-}" ]; then
		python3 -c 'import json,sys
s=json.load(open(sys.argv[1]))
for k,v in sorted(s["bytes_out_by_kind"].items(), key=lambda kv: -kv[1]):
    print("  %-40s %10d" % (k,v), file=sys.stderr)
print("  commands: %s" % json.dumps(s["commands"], sort_keys=True), file=sys.stderr)' "$GMAIL_STATS"
	fi
	echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') $(lab_gmail_stat bytes_out) $(lab_gmail_stat message_bytes) $(lab_gmail_stat messages_downloaded)"
}

printf '%-8s %-7s %8s %10s %8s %9s %7s\n' shape mode seconds bytes_out downloads copies ratio
for shape in default many; do
	if [ $shape = many ]; then
		lab_gmail_generate "$LAB/gmail-$shape" --seed 11 --count "$count" \
			--single-label 0.25 --multi-label 0.70 >/dev/null
	else
		lab_gmail_generate "$LAB/gmail-$shape" --seed 11 --count "$count" >/dev/null
	fi
	all_bytes=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["bytes_all_mail"])' "$GMAIL_MANIFEST")
	declare -A secs=()
	for mode in $modes; do
		user=$mode-$shape@gmail.example
		read -r s bytes msgbytes downloads < <(run_mode $mode "$user")
		copies=$(doveadm -c "$DST_CONF" -f tab mailbox status -u "$user" -t messages '*' | tail -1)
		secs[$mode]=$s
		printf '%-8s %-7s %8.2f %10s %8s %9s %7.3f\n' $shape $mode "$s" "$bytes" \
			"$downloads" "$copies" "$(div "$bytes" "$all_bytes")"
	done
	if [ "$modes" = "naive recipe plugin" ]; then
		printf '%-8s all mail %s bytes; plugin time vs naive %.3f, vs recipe %.3f\n' $shape "$all_bytes" \
			"$(div "${secs[plugin]}" "${secs[naive]}")" \
			"$(div "${secs[plugin]}" "${secs[recipe]}")"
	else
		printf '%-8s all mail %s bytes\n' $shape "$all_bytes"
	fi
done
