# shellcheck shell=bash
# tests/integration/lib-faults.sh - fault injection on top of lib.sh.
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/lib-faults.sh"
#   lab_init ... lab_source_start
#   fault_proxy_start imap "$SRC_IMAP_PORT"    # -> FAULT_PORT_imap
#   fault_set imap '{"mode": "cut", "trigger": "BODY[] {", "offset": 100}'
#   ... run a migration through 127.0.0.1:$FAULT_PORT_imap ...
#   fault_hits imap cut                         # how many cuts happened
#   fault_set imap '{"mode": "pass"}'
#
# Each proxy (faultproxy.py) runs until the lab is cleaned up.  Its control
# file is re-read for every new connection, its log is $LAB/fault-NAME.log.
#
#   fault_accounts, assert_same_mail, assert_uidls, maildir_flag_some,
#   lab_pop3_digest, lab_uidl_check: below
#   mailcmp USER            compare USER's mail on source and destination
#                           (mailcmp.py through the master user); prints
#                           "identical folders=F messages=M" or the diff
#   mrun CONF USER [ARGS]   doveadm -c CONF migrate run -u USER; output in
#                           $LAB/run.out and $LAB/run.err, returns its exit
#   state_field USER FIELD  a field of `migrate status -f json` for USER
#   mig_conf NAME LINES...  the migration config plus LINES, as $LAB/NAME.conf

# mig_conf NAME LINES...: $LAB/NAME.conf = the migration config + LINES
# (2.3 syntax, translated on 2.4); prints its path.
mig_conf() {
	local name=$1
	shift
	cp "$MIG_CONF" "$LAB/$name.conf"
	printf '%s\n' "$@" | lab__conf24 >>"$LAB/$name.conf"
	echo "$LAB/$name.conf"
}

# fault_proxy_start NAME TARGET_PORT: a proxy to 127.0.0.1:TARGET_PORT,
# passing everything until fault_set; exports FAULT_PORT_<NAME>.
fault_proxy_start() {
	local name=$1 target=$2 i
	local dir="$LAB/fault-$name"
	mkdir -p "$dir"
	echo '{"mode": "pass"}' >"$dir/control"
	python3 "$LAB_LIB_DIR/faultproxy.py" --target-port "$target" \
		--control "$dir/control" --port-file "$dir/port" \
		--log "$LAB/fault-$name.log" --pid-file "$dir/pid" \
		</dev/null >>"$dir/stdout" 2>&1 &
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/port" ] && break
		sleep 0.05
	done
	[ -s "$dir/port" ] || {
		lab__err "fault proxy $name did not start"
		cat "$dir/stdout" >&2
		return 1
	}
	printf -v "FAULT_PORT_$name" '%s' "$(cat "$dir/port")"
	export "FAULT_PORT_$name"
	if [ -z "${fault__cleanup_set:-}" ]; then
		lab_on_exit fault_proxy_stop_all
		fault__cleanup_set=1
	fi
}

fault_proxy_stop_all() {
	local pidfile pid
	for pidfile in "$LAB"/fault-*/pid; do
		[ -s "$pidfile" ] || continue
		pid=$(cat "$pidfile")
		# only our own proxy: its command line names this lab
		if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
			grep -qF "$LAB/fault-"; then
			kill "$pid" 2>/dev/null || true
		fi
		rm -f "$pidfile"
	done
	fault__cleanup_set=
}

# fault_set NAME JSON: the fault for the proxy's next connections; its
# max_faults/after and fault_hits count from here.
fault_set() {
	local dir="$LAB/fault-$1"
	echo "$2" >"$dir/control.tmp"
	mv -f "$dir/control.tmp" "$dir/control"
	echo "--- control $2" >>"$LAB/fault-$1.log"
}

# fault_hits NAME [MODE]: faults (of MODE) logged since the last fault_set.
fault_hits() {
	local log="$LAB/fault-$1.log"
	[ -f "$log" ] || { echo 0; return; }
	awk -v m="${2:-}" '/^--- control /{n=0; next}
		$3 == "fault" && (m == "" || $4 == m) {n++}
		END {print n+0}' "$log"
}

mailcmp() {
	MAILCMP_LOGIN="$1*$LAB_MASTER_USER" MAILCMP_PASSWORD=$(lab_master_password) \
		python3 "$LAB_LIB_DIR/mailcmp.py" "$SRC_IMAP_PORT" "$DST_IMAP_PORT" \
		--exclude "$LAB_POP3_NS" </dev/null
}

mrun() {
	local conf=$1 user=$2 rc=0
	shift 2
	doveadm -c "$conf" migrate run -u "$user" "$@" \
		</dev/null >"$LAB/run.out" 2>"$LAB/run.err" || rc=$?
	return $rc
}

state_field() {
	doveadm -c "$MIG_CONF" -f json migrate status -u "$1" 2>/dev/null |
		python3 -c 'import json, sys
rows = [r for r in json.load(sys.stdin) if r["user"] == sys.argv[1]]
print(rows[0][sys.argv[2]] if rows else "none")' "$1" "$2"
}

# assert_same_mail NAME USER: mailcmp USER; a FAIL line when the
# destination differs, and its lost messages are added to FAULT_LOST.
FAULT_LOST=0
assert_same_mail() {
	local cmp n
	cmp=$(mailcmp "$2" 2>&1 | tail -n 20 || true)
	echo "    $cmp"
	case $cmp in
	identical*) return 0 ;;
	esac
	fail "$LAB_TEST_NAME" "$1: destination differs from the source"
	n=$(sed -n 's/.* lost=\([0-9]*\).*/\1/p' <<<"$cmp")
	FAULT_LOST=$((FAULT_LOST + ${n:-0}))
	return 1
}

# assert_uidls NAME USER: migrate verify-uidl finds the lists identical.
assert_uidls() {
	local rc=0
	doveadm -c "$MIG_CONF" migrate verify-uidl -u "$2" -s \
		>"$LAB/verify.out" 2>&1 || rc=$?
	assert_eq 0 "$rc" "$1: verify-uidl identical" || { cat "$LAB/verify.out"; return 1; }
}

# maildir_flag_some USER: flags and keywords ($Label1, Project) on some
# of the user's source INBOX messages (before the source starts).
maildir_flag_some() {
	local md
	md=$(lab_maildir "$1")
	python3 - "$md/cur" <<'EOF'
import os, sys
d = sys.argv[1]
for i, f in enumerate(sorted(os.listdir(d))[::3]):
    base = f.split(":2,")[0]
    os.rename(os.path.join(d, f),
              os.path.join(d, base + ":2," + ["S", "FS", "a", "RSb", "ab"][i % 5]))
EOF
	printf '0 $Label1\n1 Project\n' >"$md/dovecot-keywords"
	chown "$LAB_UID:$LAB_GID" "$md/dovecot-keywords"
}

# fault_accounts INBOX_COUNT WORK_COUNT SEED NAME...: a source account
# NAME@example.com (password pw-NAME) per NAME, with INBOX_COUNT messages
# in INBOX and WORK_COUNT in Work, flags and keywords on some.
fault_accounts() {
	local inbox=$1 work=$2 seed=$3 name
	shift 3
	for name in "$@"; do
		seed=$((seed + 1))
		lab_user_add "$name@example.com" "pw-$name"
		lab_corpus "$name@example.com" "$inbox" "$seed"
		lab_corpus "$name@example.com" "$work" "$((seed + 100))" Work
		maildir_flag_some "$name@example.com"
	done
}

# lab_pop3_digest SERVER USER: "msgnum uidl sha1 message-id" lines of
# USER's INBOX at SERVER (src: through the master user; dst: the user's
# own password), from RETR (pop3-digest.py)
lab_pop3_digest() {
	local port=$SRC_POP3_PORT login="$2*$LAB_MASTER_USER" pw
	pw=$(lab_master_password)
	if [ "$1" = dst ]; then
		port=$DST_POP3_PORT login=$2 pw=$(lab__user_password "$2")
	fi
	POP3_PASSWORD=$pw python3 "$LAB_LIB_DIR/pop3-digest.py" 127.0.0.1 \
		"$port" "$login" </dev/null
}

# lab_uidl_check SRC_DIGESTS DST_DIGESTS: "wrong W given G new N" - of the
# destination's UIDLs (lab_pop3_digest lists), W belong to a source
# message of another content, G to the source message of the same
# content, N to no source message (a new UIDL of this server's own: a
# message left unmatched); each wrong one is named on stderr
lab_uidl_check() {
	python3 - "$1" "$2" <<'EOF'
import sys
src = {}
for line in open(sys.argv[1]):
    n, uidl, sha, mid = line.split()
    src[uidl] = (sha, mid)
wrong = given = new = 0
for line in open(sys.argv[2]):
    n, uidl, sha, mid = line.split()
    if uidl not in src:
        new += 1
    elif src[uidl][0] == sha:
        given += 1
    else:
        wrong += 1
        print("WRONG: destination message %s %s has the UIDL %s of %s" %
              (n, mid, uidl, src[uidl][1]), file=sys.stderr)
print("wrong", wrong, "given", given, "new", new)
EOF
}

# quirk_proxy NAME ARGS...: a quirkproxy.py to the source's IMAP port;
# prints its port. Stopped with the lab (lab_on_exit, set by the first one).
quirk_proxy() {
	local name=$1 i
	shift
	python3 "$LAB_LIB_DIR/quirkproxy.py" --target-port "$SRC_IMAP_PORT" \
		--port-file "$LAB/quirk-$name.port" --log "$LAB/quirk-$name.log" \
		"$@" </dev/null >"$LAB/quirk-$name.out" 2>&1 &
	echo $! >>"$LAB/quirk.pids"
	for ((i = 0; i < 100; i++)); do
		[ -s "$LAB/quirk-$name.port" ] && break
		sleep 0.05
	done
	cat "$LAB/quirk-$name.port"
}
quirk_stop_all() {
	local pid
	[ -f "$LAB/quirk.pids" ] || return 0
	while read -r pid; do
		kill "$pid" 2>/dev/null || true
	done <"$LAB/quirk.pids"
}
lab_on_exit quirk_stop_all
# quirk_hits NAME WHAT: lines "conn N WHAT ..." in the proxy's log
quirk_hits() {
	grep -c "^conn [0-9]* $2" "$LAB/quirk-$1.log" || true
}
