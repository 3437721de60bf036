#!/usr/bin/env bash
# bench/pop3-timeline.sh [MESSAGES=20000] [RUNS=3] [SOURCE=courier]
#
# Where migrate_pop3's time goes in one INBOX migration, and how much of it
# overlapping with dsync's copy could hide (issue 20): plain dsync and
# migrate_pop3 RUNS times each, interleaved, with the wall time and the
# share of the machine's CPUs busy meanwhile (/proc/stat, all processes:
# dsync, the old server, the destination); then one migrate_pop3 run with
# its debug timings (doveadm -D), each log line stamped with the time
# since dsync started: when dsync asked for the first UIDL, how long the
# matcher held it there, and of that the IMAP sizes and the headers with
# the matching.
# Prints the ratios against plain from the same run. On tmpfs (LAB_TMPDIR,
# default /dev/shm), as bench/pop3-overhead.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-pop3.sh"

messages=${1:-20000}
runs=${2:-3}
src=${3:-courier}
cpus=$(nproc)

bench_banner
bench_pop3_lab "$src" "$messages"
[ -z "${BENCH_KEEP:-}" ] || echo "bench: lab $LAB"

busy_idle() {	# "busy idle" ticks of all CPUs since boot
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat
}

run_variant() {	# VARIANT [DOVEADM ARGS...]: "wall busy_percent"
	local v=$1 b0 i0 b1 i1 t0 t1
	shift
	bench_pop3_conf "$src" "$v"
	sync
	read -r b0 i0 < <(busy_idle)
	t0=$(date +%s.%N)
	doveadm -c "$MIG_CONF" "$@" backup -R -u "$bench_user" imapc: \
		</dev/null >/dev/null 2>"$LAB/timeline-$v.err" || {
		echo "bench: $v migration failed:" >&2
		tail -5 "$LAB/timeline-$v.err" >&2
		return 1
	}
	t1=$(date +%s.%N)
	read -r b1 i1 < <(busy_idle)
	awk -v t0="$t0" -v t1="$t1" -v b="$((b1 - b0))" -v i="$((i1 - i0))" \
		'BEGIN { printf "%.3f %.1f\n", t1 - t0, 100 * b / (b + i) }'
}

declare -A wall busy
echo "bench: warm-up"
run_variant plain >/dev/null
run_variant ours >/dev/null
for ((i = 1; i <= runs; i++)); do
	for v in plain ours; do
		read -r w b < <(run_variant "$v")
		wall[$v]+="$w "
		busy[$v]+="$b "
		echo "bench: run $i $v: ${w}s, CPUs busy ${b} %"
	done
done

# one run with the debug timings, each line stamped since dsync's start
bench_pop3_conf "$src" ours
t0=$(date +%s.%N)
doveadm -D -c "$MIG_CONF" backup -R -u "$bench_user" imapc: \
	</dev/null 2>&1 >/dev/null | python3 -c '
import sys, time
t0 = float(sys.argv[1])
for line in sys.stdin:
    sys.stdout.write("%.3f %s" % (time.time() - t0, line))' "$t0" >"$LAB/timeline-debug.log"
# the Timing line comes when the matcher is done: it blocked dsync from
# (its time - the three parts) on
done_at=
read -r done_at list_ms sizes_ms match_ms < <(sed -n \
	's/^\([0-9.]*\) .*migrate_pop3: Timing: POP3 list \([0-9]*\) ms, IMAP list \([0-9]*\) ms, headers and matching \([0-9]*\) ms.*/\1 \2 \3 \4/p' \
	"$LAB/timeline-debug.log" | head -1) || true
if [ -z "${done_at:-}" ]; then
	echo "bench: no Timing line (a formula source matches without sizes):"
	grep -m3 "migrate_pop3" "$LAB/timeline-debug.log" || true
	exit 0
fi
pw=$(tr ' ' '\n' <<<"${wall[plain]}" | grep . | bench_median)
ow=$(tr ' ' '\n' <<<"${wall[ours]}" | grep . | bench_median)
pb=$(tr ' ' '\n' <<<"${busy[plain]}" | grep . | bench_median)
ob=$(tr ' ' '\n' <<<"${busy[ours]}" | grep . | bench_median)
echo "pop3-timeline: $src source, $messages messages, median of $runs interleaved runs, $cpus CPUs, tmpfs=$([ "$LAB_TMPDIR" = /dev/shm ] && echo yes || echo no)"
awk -v pw="$pw" -v ow="$ow" -v pb="$pb" -v ob="$ob" -v done_at="$done_at" \
    -v l="$list_ms" -v s="$sizes_ms" -v m="$match_ms" 'BEGIN {
	blocked = (l + s + m) / 1000
	printf "  plain          wall %6.2fs  CPUs busy %5.1f %%\n", pw, pb
	printf "  migrate_pop3   wall %6.2fs  CPUs busy %5.1f %%\n", ow, ob
	printf "ratio wall migrate_pop3 / plain %.3fx (issue 20: <= 1.02x)\n", ow / pw
	printf "debug run: dsync asked for the first UIDL at %.2fs; the matcher held it %.2fs (POP3 list %d ms, IMAP sizes %d ms, headers and matching %d ms) = %.1f %% of plain wall\n", done_at - blocked, blocked, l, s, m, 100 * blocked / pw
	printf "room for overlap: plain leaves %.1f %% of the CPUs idle\n", 100 - pb
}'
