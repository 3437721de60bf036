#!/usr/bin/env bash
# bench/pop3-overhead: what UIDL matching costs on top of a plain migration,
# as the ratios of issue 20's table, each against its baseline measured in
# the same run.
#
# One INBOX of MESSAGES (default 20,000) on each source, migrated into a
# fresh sdbox destination with `doveadm backup -R imapc:`, on tmpfs (source
# and destination: on disk, writeback swings whole runs by 2x):
#   dovecot  a Dovecot source (IMAP+POP3, UIDLs %08Xu%08Xv)
#     plain    no UIDL plugin
#     ours     migrate_pop3: recognises the UIDLs as a formula of the UIDs
#              (no IMAP sizes, no headers, 8 bytes a message kept)
#     matched  migrate_pop3 with migrate_pop3_uidl_detect=no: sizes, then
#              headers for same-size neighbours, as for a source whose
#              UIDLs are no formula
#     builtin  Dovecot's pop3_migration (only with BUILTIN=1)
#   courier  Courier-IMAP + Courier-POP3 over one maildir (lib-courier.sh):
#     plain, ours (no formula: IMAP sizes, POP3 LIST/UIDL, headers)
# Each variant runs RUNS times (default 5), interleaved with the others of
# its source, after a warm-up of each; wall time and peak RSS (GNU time)
# are recorded with the load average at the start of each run, and the
# medians are printed as ratios against plain with the issue's targets.
# The machine's load is printed too: on a shared machine a ratio is only
# as good as the spread of the runs behind it (printed as min-max).
#
#   bench/pop3-overhead.sh [MESSAGES] [RUNS] [SOURCES]
#     SOURCES: "dovecot courier" (default), "dovecot" or "courier"
#
# PREFETCH=N sets mail_prefetch_count=N in the migration config for all
# variants (default: unset, Dovecot's default 0). LAB_TMPDIR=/tmp measures
# on disk. LAB_MIG_EXTRA_CONF='mail_plugin_dir = DIR' measures a build that
# isn't installed (DIR: links to the installed modules, the plugin under
# test's own file in place of its link). The memory of the matcher alone,
# without a server: bench/match-memory.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-pop3.sh"

messages=${1:-20000}
runs=${2:-5}
sources=${3:-dovecot courier}
command -v /usr/bin/time >/dev/null || {
	echo "bench: needs GNU time (apt-get install time)" >&2; exit 1; }

load() { cut -d' ' -f1 /proc/loadavg; }

echo "bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, Dovecot $(dovecot --version | cut -d' ' -f1), load $(load)"
bench_pop3_lab "$sources" "$messages"

# run_variant SOURCE VARIANT: prints "wall rss"
run_variant() {
	local src=$1 variant=$2 n
	bench_pop3_conf "$src" "$variant"
	sync
	/usr/bin/time -f '%e %M' -o "$LAB/time.out" \
		doveadm -c "$MIG_CONF" backup -R -u "$bench_user" imapc: \
		</dev/null >"$LAB/bench-$src-$variant.log" 2>&1 || {
		echo "bench: $src $variant migration failed:" >&2
		tail -5 "$LAB/bench-$src-$variant.log" >&2
		return 1
	}
	n=$(lab_imap_count dst "$bench_user")
	[ "$n" = "$messages" ] || {
		echo "bench: $src $variant copied $n of $messages" >&2; return 1; }
	cat "$LAB/time.out"
}

spread() {
	sort -n | awk 'NR==1 {min=$1} {max=$1} END {printf "%s-%s", min, max}'
}

declare -A wall rss loads
for src in $sources; do
	variants="plain ours"
	[ "$src" != dovecot ] || variants="plain ours matched"
	[ "$src" != dovecot ] || [ -z "${BUILTIN:-}" ] || variants+=" builtin"
	echo "bench: $src: warm-up"
	for v in $variants; do run_variant "$src" "$v" >/dev/null; done
	for ((i = 1; i <= runs; i++)); do
		for v in $variants; do
			l=$(load)
			read -r w r < <(run_variant "$src" "$v")
			wall[$src-$v]+="$w "
			rss[$src-$v]+="$r "
			loads[$src]+="$l "
			echo "bench: run $i $src $v: ${w}s, peak RSS ${r} KiB, load $l"
		done
	done
	for v in ours matched; do
		[ -f "$LAB/bench-$src-$v.log" ] || continue
		summary=$(grep -hE 'migrate_pop3: POP3 [0-9]+, IMAP' "$LAB/bench-$src-$v.log" | tail -1)
		echo "bench: $src $v summary: ${summary#*migrate_pop3: }"
	done
done

echo "pop3-overhead: $messages messages, median of $runs interleaved runs, tmpfs=$([ "$LAB_TMPDIR" = /dev/shm ] && echo yes || echo no), mail_prefetch_count=${PREFETCH:-0}"
for src in $sources; do
	echo "  $src (load average during the runs: $(tr ' ' '\n' <<<"${loads[$src]}" | grep . | spread), median $(tr ' ' '\n' <<<"${loads[$src]}" | grep . | bench_median))"
	for v in plain ours matched builtin; do
		key=$src-$v
		[ -n "${wall[$key]:-}" ] || continue
		printf '    %-8s wall %7.2fs (%s)  rss %7d KiB (%s)\n' "$v" \
			"$(tr ' ' '\n' <<<"${wall[$key]}" | grep . | bench_median)" \
			"$(tr ' ' '\n' <<<"${wall[$key]}" | grep . | spread)" \
			"$(tr ' ' '\n' <<<"${rss[$key]}" | grep . | bench_median)" \
			"$(tr ' ' '\n' <<<"${rss[$key]}" | grep . | spread)"
	done
done
# ratio NAME SOURCE VARIANT TARGET_WALL TARGET_RSS
ratio() {
	local name=$1 src=$2 v=$3 pw pr vw vr
	[ -n "${wall[$src-$v]:-}" ] || return 0
	pw=$(tr ' ' '\n' <<<"${wall[$src-plain]}" | grep . | bench_median)
	pr=$(tr ' ' '\n' <<<"${rss[$src-plain]}" | grep . | bench_median)
	vw=$(tr ' ' '\n' <<<"${wall[$src-$v]}" | grep . | bench_median)
	vr=$(tr ' ' '\n' <<<"${rss[$src-$v]}" | grep . | bench_median)
	awk -v n="$name" -v pw="$pw" -v pr="$pr" -v vw="$vw" -v vr="$vr" \
	    -v tw="$4" -v tr="$5" 'BEGIN {
		w = vw / pw; r = vr / pr
		printf "ratio %-34s wall %.3fx (target <= %.2fx: %s)  rss %+.1f%% (target <= +%d%%: %s)\n",
			n, w, tw, w <= tw ? "met" : "MISSED", (r - 1) * 100, tr,
			(r - 1) * 100 <= tr ? "met" : "MISSED"
	}'
}
ratio "dovecot source (formula), $messages" dovecot ours 1.02 10
ratio "dovecot source, no formula, $messages" dovecot matched 1.02 10
ratio "courier source, $messages" courier ours 1.02 10
ratio "builtin pop3_migration, $messages" dovecot builtin 1.02 10
