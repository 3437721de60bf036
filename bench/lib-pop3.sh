# bench/lib-pop3.sh: the lab of bench/pop3-overhead.sh and
# bench/pop3-instructions.sh (sourced; it sources the test lab's
# tests/integration/lib.sh and lib-courier.sh): one INBOX on each old
# server, a fresh sdbox destination, on tmpfs (LAB_TMPDIR, default
# /dev/shm: on disk, writeback swings whole runs by 2x).
#
#   bench_pop3_lab SOURCES MESSAGES  lab_init, the sources ("dovecot",
#                                    "courier"), the destination
#   bench_pop3_conf SOURCE VARIANT   $MIG_CONF for a variant (plain, ours,
#                                    matched, builtin); $bench_user is the
#                                    account to migrate, its mail at the
#                                    destination removed
#   bench_pop3_deliver SOURCE COUNT SEED  COUNT new messages at the source
: "${LAB_TMPDIR:=/dev/shm}"
export LAB_TMPDIR
. "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib-courier.sh"

bench_user=
bench__dovecot_user=bench@example.com
bench__courier_user=carol
bench__courier_pw=courier-$RANDOM-pw

bench_pop3_lab() {
	local sources=$1 messages=$2 src
	lab_init
	# fsync noise would drown the difference; it is the same for all
	# variants
	LAB_DST_EXTRA_CONF='mail_fsync = never'
	for src in $sources; do
		case $src in
		dovecot)
			lab_user_add "$bench__dovecot_user" secret1
			echo "bench: generating $messages messages (Dovecot source)"
			lab_corpus "$bench__dovecot_user" "$messages" 2026
			lab_source_start ;;
		courier)
			lab_courier_fetch
			lab_courier_user_add "$bench__courier_user" "$bench__courier_pw"
			lab_user_add "$bench__courier_user" "$bench__courier_pw"
			echo "bench: generating $messages messages (Courier source)"
			lab_courier_deliver_corpus "$bench__courier_user" \
				"$messages" 2027
			lab_courier_start ;;
		*) echo "bench: unknown source $src" >&2; exit 2 ;;
		esac
	done
	lab_dest_start sdbox
}

bench_pop3_conf() {
	local src=$1 variant=$2 plugins=
	case $variant in
	ours | matched) plugins=migrate_pop3 ;;
	builtin) plugins=pop3_migration ;;
	esac
	if [ "$src" = courier ]; then
		bench_user=$bench__courier_user
		# shellcheck disable=SC2086
		lab_courier_migration_conf "$bench__courier_pw" $plugins
	else
		bench_user=$bench__dovecot_user
		# shellcheck disable=SC2086
		lab_migration_conf $plugins
	fi
	[ -z "${PREFETCH:-}" ] || lab_migration_conf_add "mail_prefetch_count = $PREFETCH"
	[ "$variant" != matched ] ||
		lab_migration_conf_add "plugin {" "  migrate_pop3_uidl_detect = no" "}"
	# the corpus's raw UTF-8 headers reach pop3c as Courier's notice
	# instead: a few same-size neighbours stay unmatched (t-130)
	[ "$src" != courier ] || [ "$variant" = plain ] ||
		lab_migration_conf_add "plugin {" "  migrate_pop3_unmatched = continue" "}"
	rm -rf "$LAB/dst/home/$bench_user/mail" \
		"$LAB/dst/home/$bench_user/.dovecot-migrate"
}

# the first line of a benchmark's output: when, where, on what
bench_banner() {
	echo "bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, Dovecot $(dovecot --version | cut -d' ' -f1), load $(cut -d' ' -f1 /proc/loadavg)"
}

# the median of the numbers on stdin, one a line
bench_median() {
	sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}

bench_pop3_deliver() {
	local src=$1 count=$2 seed=$3
	if [ "$src" = courier ]; then
		lab_courier_deliver_corpus "$bench__courier_user" "$count" "$seed"
	else
		lab_corpus "$bench__dovecot_user" "$count" "$seed"
	fi
}

# Courier keeps its IMAP UIDs (courierimapuiddb) only once a session has
# SELECTed the mailbox read-write, as a user's mail client does; dsync's
# imapc only EXAMINEs it, so without this every session would number the
# messages anew (a new UIDVALIDITY)
bench_courier_select() {
	python3 - "$COURIER_IMAP_PORT" "$bench__courier_user" "$bench__courier_pw" <<'PY'
import imaplib, sys
c = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
c.login(sys.argv[2], sys.argv[3])
c.select("INBOX")
c.logout()
PY
}
