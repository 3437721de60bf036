#!/usr/bin/env bash
# bench/batch: accounts per hour of doveadm migrate batch at concurrency 1
# against the default concurrency (min(CPUs+1, 6)), same accounts, same
# run, on tmpfs (see pop3-overhead.sh). Prints both rates and their ratio.
#
#   bench/batch.sh [ACCOUNTS=24] [MESSAGES_PER_ACCOUNT=150]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${LAB_TMPDIR:=/dev/shm}"
export LAB_TMPDIR
. "$here/../tests/integration/lib.sh"

accounts=${1:-24}
per=${2:-150}

lab_init
echo "bench: generating $accounts accounts of $per messages"
for i in $(seq 1 "$accounts"); do
	lab_user_add "b$i@example.com" "pw-$i"
	lab_corpus "b$i@example.com" "$per" "$i"
done
lab_source_start
LAB_DST_EXTRA_CONF='mail_fsync = never'
lab_dest_start sdbox
lab_migration_conf migrate_pop3
{
	echo "email"
	for i in $(seq 1 "$accounts"); do echo "b$i@example.com"; done
} >"$LAB/accounts.csv"
chmod 600 "$LAB/accounts.csv"

run_batch() {	# CONCURRENCY ("" = default) -> prints seconds
	local t0 t1
	rm -rf "$LAB/state"
	for i in $(seq 1 "$accounts"); do
		rm -rf "$LAB/dst/home/b$i@example.com/mail" \
			"$LAB/dst/home/b$i@example.com/.dovecot-migrate"
	done
	sync
	t0=$(date +%s%N)
	# --max-load 0: the bench measures concurrency, not the load limit
	doveadm -c "$MIG_CONF" migrate batch -F "$LAB/accounts.csv" \
		${1:+-n "$1"} --max-load 0 >"$LAB/batch.out" 2>&1 || {
		echo "bench: batch failed" >&2; tail -5 "$LAB/batch.out" >&2; return 1; }
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'
}

s1=$(run_batch 1)
sd=$(run_batch "")
cores=$(nproc)
default=$(( cores + 1 < 6 ? cores + 1 : 6 ))
awk -v a="$accounts" -v s1="$s1" -v sd="$sd" -v d="$default" 'BEGIN {
	r1 = a * 3600 / s1; rd = a * 3600 / sd
	printf "batch: %d accounts: concurrency 1 %.1fs (%.0f accounts/hour), default %d %.1fs (%.0f accounts/hour)\n", a, s1, r1, d, sd, rd
	printf "ratio accounts/hour default/concurrency-1: %.2f\n", rd / r1
}'
