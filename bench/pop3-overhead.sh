#!/usr/bin/env bash
# bench/pop3-overhead: what UIDL matching costs on top of a plain migration.
#
# One 20,000-message INBOX on a source Dovecot (IMAP+POP3), migrated into a
# fresh sdbox destination with `doveadm backup -R imapc:`:
#   plain    no UIDL plugin
#   ours     migrate_pop3 (recognises the source's %08Xu%08Xv UIDLs as a
#            formula: no IMAP sizes, no headers)
#   matched  migrate_pop3 with migrate_pop3_uidl_detect=no: what a source
#            whose UIDLs are no formula (Courier, Exchange) costs - sizes,
#            then headers for same-size neighbours
#   builtin  Dovecot's pop3_migration
# Each variant runs RUNS times (default 3), interleaved, after warm-up
# runs that read the source once over IMAP and POP3; wall time and peak RSS (GNU time) are recorded and the medians are
# printed as ratios against plain, measured in the same run.
#
#   bench/pop3-overhead.sh [MESSAGES] [RUNS]
#
# PREFETCH=N sets mail_prefetch_count=N in the migration config for all
# variants (default: unset, Dovecot's default 0, one FETCH per message;
# the example migration config recommends 20).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# Disk writeback makes wall times of whole migrations swing by 2x from run
# to run; on tmpfs the runs compare the work itself. LAB_TMPDIR=/tmp to
# measure on disk.
: "${LAB_TMPDIR:=/dev/shm}"
export LAB_TMPDIR
. "$here/../tests/integration/lib.sh"

messages=${1:-20000}
runs=${2:-3}
user=bench@example.com
command -v /usr/bin/time >/dev/null || {
	echo "bench: needs GNU time (apt-get install time)" >&2; exit 1; }

lab_init
lab_user_add "$user" secret1
echo "bench: generating $messages messages"
lab_corpus "$user" "$messages" 2026
lab_source_start
# fsync noise would drown the difference; it is the same for all variants
LAB_DST_EXTRA_CONF='mail_fsync = never'
lab_dest_start sdbox

run_variant() {
	local variant=$1 plugins
	case $variant in
	plain) plugins= ;;
	ours | matched) plugins=migrate_pop3 ;;
	builtin) plugins=pop3_migration ;;
	esac
	# shellcheck disable=SC2086
	lab_migration_conf $plugins
	[ -z "${PREFETCH:-}" ] || lab_migration_conf_add "mail_prefetch_count = $PREFETCH"
	[ "$variant" != matched ] ||
		lab_migration_conf_add "plugin {" "  migrate_pop3_uidl_detect = no" "}"
	rm -rf "$LAB/dst/home/$user/mail" "$LAB/dst/home/$user/.dovecot-migrate"
	# the previous run's ~GB of writes would otherwise be flushed by the
	# kernel during this run and land on whichever variant comes next
	sync
	/usr/bin/time -f '%e %M' -o "$LAB/time.out" \
		doveadm -c "$MIG_CONF" backup -R -u "$user" imapc: \
		</dev/null >"$LAB/bench-$variant.log" 2>&1 || {
		echo "bench: $variant migration failed:" >&2
		tail -5 "$LAB/bench-$variant.log" >&2
		return 1
	}
	local n
	n=$(lab_imap_count dst "$user")
	[ "$n" = "$messages" ] || {
		echo "bench: $variant copied $n of $messages" >&2; return 1; }
	cat "$LAB/time.out"
}

median() {
	sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}

# warm the source's caches for IMAP and POP3 alike
echo "bench: warm-up"
run_variant plain >/dev/null
run_variant ours >/dev/null
declare -A wall rss
for ((i = 1; i <= runs; i++)); do
	for v in plain ours matched builtin; do
		read -r w r < <(run_variant "$v")
		wall[$v]+="$w "
		rss[$v]+="$r "
		echo "bench: run $i $v: ${w}s, peak RSS ${r} KiB"
	done
done

for v in ours matched; do
	summary=$(grep -h 'migrate_pop3: POP3 ' "$LAB/bench-$v.log" | tail -1)
	echo "bench: $v summary: ${summary#*migrate_pop3: }"
done
declare -A mw mr
for v in plain ours matched builtin; do
	mw[$v]=$(tr ' ' '\n' <<<"${wall[$v]}" | grep . | median)
	mr[$v]=$(tr ' ' '\n' <<<"${rss[$v]}" | grep . | median)
done
printf 'pop3-overhead: %d messages, median of %d runs, mail_prefetch_count=%s\n' \
	"$messages" "$runs" "${PREFETCH:-0}"
printf '  %-8s wall %7.2fs  rss %7d KiB\n' plain "${mw[plain]}" "${mr[plain]}" \
	ours "${mw[ours]}" "${mr[ours]}" matched "${mw[matched]}" "${mr[matched]}" \
	builtin "${mw[builtin]}" "${mr[builtin]}"
awk -v p="${mw[plain]}" -v o="${mw[ours]}" -v m="${mw[matched]}" -v b="${mw[builtin]}" \
    -v pr="${mr[plain]}" -v or="${mr[ours]}" -v mr="${mr[matched]}" -v br="${mr[builtin]}" 'BEGIN {
	printf "ratio wall: migrate_pop3/plain %.3f  (no formula: %.3f)  builtin/plain %.3f (target migrate_pop3 <= 1.05)\n", o/p, m/p, b/p
	printf "ratio rss:  migrate_pop3/plain %.3f  (no formula: %.3f)  builtin/plain %.3f\n", or/pr, mr/pr, br/pr
}'
