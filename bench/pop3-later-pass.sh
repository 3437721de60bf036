#!/usr/bin/env bash
# bench/pop3-later-pass.sh [MESSAGES=20000] [RUNS=5] [SOURCE=dovecot] [VARIANT=matched] [NEW=0]
#
# A later pass (passes before the MX switch, a resumed batch, the final
# pass): the wall time of `backup -R` with migrate_pop3 (VARIANT: "ours",
# or "matched" = migrate_pop3_uidl_detect=no, the cost of a source without
# formula UIDLs) against plain dsync, medians of RUNS interleaved runs over
# the same destination, after one first pass with migrate_pop3. Before
# each run NEW new messages arrive at the old server (0: nothing new, so
# dsync asks no UIDL and the matcher should cost nothing; otherwise the
# cache pairs the old messages and only the new ones' IMAP sizes are read).
# SOURCE dovecot or courier (whose INBOX is SELECTed read-write after each
# delivery, as a user's client would, so that it keeps its UIDs between
# sessions).
# On tmpfs (LAB_TMPDIR, default /dev/shm), as bench/pop3-overhead.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-pop3.sh"

messages=${1:-20000}
runs=${2:-5}
src=${3:-dovecot}
variant=${4:-matched}
new=${5:-0}
seed=3000

bench_banner
bench_pop3_lab "$src" "$messages"
[ "$src" != courier ] || bench_courier_select

# both configurations, then the first pass (with migrate_pop3: the
# destination has the UIDLs, as it would)
bench_pop3_conf "$src" plain
cp "$MIG_CONF" "$LAB/later-plain.conf"
bench_pop3_conf "$src" "$variant"
cp "$MIG_CONF" "$LAB/later-ours.conf"
echo "bench: first pass"
doveadm -c "$LAB/later-ours.conf" backup -R -u "$bench_user" imapc: \
	</dev/null >/dev/null 2>"$LAB/later-first.err" || {
	echo "bench: first pass failed:" >&2
	tail -5 "$LAB/later-first.err" >&2
	exit 1
}

run_variant() {	# VARIANT: wall seconds
	local v=$1 t0 t1
	if [ "$new" -gt 0 ]; then
		seed=$((seed + 1))
		bench_pop3_deliver "$src" "$new" "$seed" >/dev/null
		[ "$src" != courier ] || bench_courier_select
	fi
	sync
	t0=$(date +%s.%N)
	doveadm -c "$LAB/later-$v.conf" backup -R -u "$bench_user" imapc: \
		</dev/null >/dev/null 2>"$LAB/later-$v.err" || {
		echo "bench: $v pass failed:" >&2
		tail -5 "$LAB/later-$v.err" >&2
		return 1
	}
	t1=$(date +%s.%N)
	if [ "$new" -eq 0 ] && grep -q "migrate_pop3: POP3 [0-9]*, IMAP" "$LAB/later-$v.err"; then
		echo "bench: $v: the matcher ran on a pass with nothing to copy" >&2
	fi
	if [ "$new" -gt 0 ] && [ "$v" = ours ] &&
	   ! grep -q "migrate_pop3: POP3 [0-9]*, IMAP [0-9]* messages; matched: cached [1-9]" "$LAB/later-$v.err"; then
		echo "bench: $v: the UIDL cache wasn't used:" \
			"$(grep -o 'migrate_pop3: POP3 [0-9]*, IMAP.*' "$LAB/later-$v.err" | cut -c1-120)" >&2
	fi
	awk -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.3f\n", t1 - t0 }'
}

declare -A wall
echo "bench: warm-up"
run_variant plain >/dev/null
run_variant ours >/dev/null
for ((i = 1; i <= runs; i++)); do
	for v in plain ours; do
		w=$(run_variant "$v")
		wall[$v]+="$w "
		echo "bench: run $i $v: ${w}s"
	done
done
pw=$(tr ' ' '\n' <<<"${wall[plain]}" | grep . | bench_median)
ow=$(tr ' ' '\n' <<<"${wall[ours]}" | grep . | bench_median)
echo "pop3-later-pass: $src source, $variant, $messages messages, $new new a pass, median of $runs interleaved runs"
awk -v pw="$pw" -v ow="$ow" 'BEGIN {
	printf "  plain          wall %6.2fs\n", pw
	printf "  migrate_pop3   wall %6.2fs\n", ow
	printf "ratio wall migrate_pop3 / plain %.3fx\n", ow / pw
}'
