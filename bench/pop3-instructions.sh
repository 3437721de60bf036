#!/usr/bin/env bash
# bench/pop3-instructions: what UIDL matching costs dsync's own process, in
# instructions counted by callgrind (valgrind): the same figure for the
# same binaries and mail whatever else the machine does, unlike the wall
# times of bench/pop3-overhead.sh, which on a shared machine move by
# +-10 % between runs. The servers' work (the old server computing sizes,
# the destination's writes) isn't in it, nor migrate_pop3's POP3
# read-ahead child's: pop3-overhead.sh shows those.
#
# The sources and variants of bench/pop3-overhead.sh, one run each under
# callgrind (~5 s a run at 5,000 messages), on tmpfs:
#   dovecot  plain, ours (formula UIDLs), matched (uidl_detect=no: sizes
#            and same-size neighbours' headers)
#   courier  plain, ours (IMAP sizes, POP3 LIST/UIDL, headers)
#
#   bench/pop3-instructions.sh [MESSAGES] [SOURCES]
#     MESSAGES default 5000; SOURCES "dovecot courier" (default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-pop3.sh"

messages=${1:-5000}
sources=${2:-dovecot courier}
command -v valgrind >/dev/null || {
	echo "bench: needs valgrind (apt-get install valgrind)" >&2; exit 1; }

echo "bench: $(date -u '+%Y-%m-%d %H:%M UTC'), Dovecot $(dovecot --version | cut -d' ' -f1), $messages messages"
bench_pop3_lab "$sources" "$messages"

# run_variant SOURCE VARIANT: prints the instructions dsync's process ran
run_variant() {
	local src=$1 variant=$2 n log=$LAB/bench-$1-$2.log
	bench_pop3_conf "$src" "$variant"
	# the old server's first POP3 login may rename files (Courier's
	# maildir new/ -> cur/): done before the counted run
	doveadm -c "$MIG_CONF" backup -R -u "$bench_user" imapc: \
		</dev/null >/dev/null 2>&1 || :
	bench_pop3_conf "$src" "$variant"
	# 2.4's doveadm re-executes itself through doveconf: children traced;
	# no profile file (the process runs as the mail user by then)
	valgrind --tool=callgrind --trace-children=yes \
		--callgrind-out-file=/dev/null \
		doveadm -c "$MIG_CONF" backup -R -u "$bench_user" imapc: \
		</dev/null >"$log" 2>&1 || {
		echo "bench: $src $variant migration failed:" >&2
		grep -v '^==' "$log" | tail -5 >&2
		return 1
	}
	n=$(lab_imap_count dst "$bench_user")
	[ "$n" = "$messages" ] || {
		echo "bench: $src $variant copied $n of $messages" >&2; return 1; }
	# dsync's process: the largest count. migrate_pop3's POP3
	# read-ahead child (migrate-pop3-prelist.c) has one of its own,
	# which starts from dsync's count at the fork: its own share (a
	# login, UIDL and LIST) can't be told apart, and isn't added; its
	# time is in pop3-overhead.sh's wall times.
	sed -nE 's/^==[0-9]+== Collected : ([0-9]+)$/\1/p' "$log" |
		sort -n | tail -1
}

declare -A ir
for src in $sources; do
	variants="plain ours"
	[ "$src" != dovecot ] || variants="plain ours matched"
	for v in $variants; do
		ir[$src-$v]=$(run_variant "$src" "$v")
		echo "bench: $src $v: ${ir[$src-$v]} instructions"
	done
done

# ratio NAME SOURCE VARIANT
ratio() {
	[ -n "${ir[$2-$3]:-}" ] || return 0
	awk -v n="$1" -v p="${ir[$2-plain]}" -v o="${ir[$2-$3]}" 'BEGIN {
		printf "instructions %-34s %.3fx (plain %.0fM, +%.0fM: %.0f a message)\n",
			n, o / p, p / 1e6, (o - p) / 1e6, (o - p) / '"$messages"'
	}'
}
ratio "dovecot source (formula), $messages" dovecot ours
ratio "dovecot source, no formula, $messages" dovecot matched
ratio "courier source, $messages" courier ours
