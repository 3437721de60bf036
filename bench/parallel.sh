#!/usr/bin/env bash
# bench/parallel: what several dsync workers gain on a big account.
#
# One account of FOLDERS folders (default 10) holding MESSAGES messages in
# all (default 20,000) on a source Dovecot, copied into a fresh sdbox
# destination by `doveadm migrate run` (a mirroring first pass, with
# migrate_pop3 as an admin would load it) with migrate_run_workers=1 (one
# dsync) and =WORKERS (default 2). The variants run RUNS times (default 5),
# interleaved, after a warm-up of each; the medians of the wall times are
# printed with their ratio, one over the other, and the load average
# (uptime) before and after: on a shared machine the ratio is only as good
# as the cores were free.
#
#   bench/parallel.sh [MESSAGES] [FOLDERS] [RUNS] [WORKERS]
#
# PREFETCH=N sets mail_prefetch_count=N in the migration config of both
# (default: unset, Dovecot's 0: one FETCH round trip per message).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# on tmpfs the runs compare the work, not the disk's writeback (see
# pop3-overhead.sh); LAB_TMPDIR=/tmp to measure on disk
: "${LAB_TMPDIR:=/dev/shm}"
export LAB_TMPDIR
. "$here/../tests/integration/lib.sh"

messages=${1:-20000}
folders=${2:-10}
runs=${3:-5}
workers=${4:-2}
user=wide@example.com
per=$((messages / folders))

lab_init
lab_user_add "$user" secret1
echo "bench: generating $folders folders of $per messages"
lab_corpus "$user" "$per" 3000
for ((f = 2; f <= folders; f++)); do
	lab_corpus "$user" "$per" $((3000 + f)) "Folder$f"
done
lab_source_start
LAB_DST_EXTRA_CONF='mail_fsync = never'
lab_dest_start sdbox
lab_migration_conf migrate_pop3
[ -z "${PREFETCH:-}" ] || lab_migration_conf_add "mail_prefetch_count = $PREFETCH"
base_conf=$(cat "$MIG_CONF")

run_variant() {	# WORKERS -> "seconds"
	printf '%s\n' "$base_conf" >"$MIG_CONF"
	lab_migration_conf_add "plugin {" "  migrate_run_workers = $1" "}"
	rm -rf "$LAB/dst/home/$user/mail" "$LAB/dst/home/$user/.dovecot-migrate" \
		"$LAB/state"
	sync
	local t0 t1 n
	t0=$(date +%s%N)
	doveadm -c "$MIG_CONF" migrate run -u "$user" </dev/null \
		>"$LAB/bench-$1.log" 2>&1 || {
		echo "bench: migrate run with $1 workers failed:" >&2
		tail -5 "$LAB/bench-$1.log" >&2
		return 1
	}
	t1=$(date +%s%N)
	n=$(doveadm -c "$DST_CONF" -f flow mailbox status -u "$user" messages '*' |
		sed 's/.*messages=//' | awk '{ s += $1 } END { print s }')
	[ "$n" = "$messages" ] || {
		echo "bench: $1 workers copied $n of $messages" >&2; return 1; }
	if [ "$1" -gt 1 ] &&
	   ! grep -q "with $1 dsync workers" "$LAB/state/$user.log"; then
		echo "bench: the pass didn't use $1 workers" >&2
		return 1
	fi
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'
}

median() {
	sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}

echo "bench: warm-up"
run_variant 1 >/dev/null
run_variant "$workers" >/dev/null
load_before=$(uptime | sed 's/.*load average: //')
one= many=
for ((i = 1; i <= runs; i++)); do
	s1=$(run_variant 1)
	sn=$(run_variant "$workers")
	one+="$s1 "
	many+="$sn "
	echo "bench: run $i: 1 worker ${s1}s, $workers workers ${sn}s (load $(uptime | sed 's/.*load average: //'))"
done
load_after=$(uptime | sed 's/.*load average: //')
m1=$(tr ' ' '\n' <<<"$one" | grep . | median)
mn=$(tr ' ' '\n' <<<"$many" | grep . | median)
printf 'parallel: %d messages in %d folders, %d cores, mail_prefetch_count=%s, median of %d runs: 1 worker %.2fs, %d workers %.2fs\n' \
	"$messages" "$folders" "$(nproc)" "${PREFETCH:-0}" "$runs" "$m1" "$workers" "$mn"
echo "load average before: $load_before, after: $load_after"
awk -v a="$m1" -v b="$mn" -v w="$workers" 'BEGIN {
	printf "ratio wall 1 worker / %d workers: %.2f (target >= 1.6 on 2 cores)\n", w, a / b
}'
