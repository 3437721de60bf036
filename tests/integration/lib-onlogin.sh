# shellcheck shell=bash
# tests/integration/lib-onlogin.sh - the on-login migration lab, on top of
# lib.sh: the destination knows its users only through the old server
# (passdb imap), creates them with a static userdb and queues their
# migration at the first login (migrate_onlogin).
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/lib-onlogin.sh"
#   lab_init
#   onlogin_user_add alice@example.com secret1     # on the old server only
#   onlogin_local_user_add erin@example.com pw userdb_migrate_onlogin=no
#   lab_corpus alice@example.com 100 7
#   onlogin_start                                   # source, destination, MIG_CONF
#   onlogin_login imap alice@example.com secret1    # exit 0 = logged in
#   onlogin_queued                                  # users in the queue
#   onlogin_worker --once -n 3                      # output in $LAB/worker.log
#   onlogin_hashes src|dst USER                     # "mailbox sha256" per message
#
# Exports ONLOGIN_STATE_DIR (migrate_state_dir of both configs).

ONLOGIN_STATE_DIR=
export ONLOGIN_STATE_DIR

# onlogin_user_add USER PASSWORD: the user on the old server only; on the
# destination just an (empty) home the mail user owns, as a provider's
# mail root would provide.
onlogin_user_add() {
	lab_user_add "$1" "$2" || return 1
	awk -F: -v u="$1" '$1 != u' "$LAB/dst/passwd" |
		lab__passwd_install dst passwd
}

# onlogin_local_user_add USER PASSWORD FIELD...: an account of the new
# server's own (its passwd-file passdb and userdb, found before passdb
# imap) with extra fields, e.g. userdb_migrate_onlogin=no (a plugin {}
# setting on 2.3, a settings override on 2.4). Best before onlogin_start:
# passwd-file looks at its file at most once a second, so a login in the
# same second as an earlier lookup may not see the change.
onlogin_local_user_add() {
	local user=$1 password=$2
	shift 2
	lab_user_add "$user" "$password" || return 1
	awk -F: -v OFS=: -v u="$user" -v f="$*" '$1 == u { $8 = f } 1' \
		"$LAB/dst/passwd" | lab__passwd_install dst passwd
}

# onlogin_start [DRIVER]: source, destination (DRIVER, default sdbox) set
# up as conf.d/90-migrate-onlogin.conf describes, and the migration
# config with the source's master user.
onlogin_start() {
	local driver=${1:-sdbox}
	lab_source_start || return 1
	ONLOGIN_STATE_DIR=$LAB/state
	local auth
	if [ "$LAB_DOVECOT" = 2.4 ]; then
		# lab__conf24 doesn't translate args = ...: the 2.4 blocks of
		# conf.d/2.4/90-migrate-onlogin.conf, written as they are
		auth="passdb imap {
  driver = imap
  imapc_host = 127.0.0.1
  imapc_port = $SRC_IMAP_PORT
}
userdb static {
  driver = static
  fields {
    uid = $LAB_MAIL_USER
    gid = $LAB_MAIL_USER
    home = $LAB/dst/home/%{user}
  }
  userdb_static_allow_all_users = yes
}"
	else
		auth="passdb {
  driver = imap
  args = host=127.0.0.1 port=$SRC_IMAP_PORT
}
userdb {
  driver = static
  args = uid=$LAB_MAIL_USER gid=$LAB_MAIL_USER home=$LAB/dst/home/%u allow_all_users=yes
}"
	fi
	LAB_DST_EXTRA_CONF="
auth_verbose = yes
auth_debug = yes
$auth
protocol imap {
  mail_plugins = \$mail_plugins migrate_onlogin
}
protocol pop3 {
  mail_plugins = \$mail_plugins migrate_onlogin
}
plugin {
  migrate_state_dir = $ONLOGIN_STATE_DIR
}
${LAB_DST_EXTRA_CONF:-}"
	lab_dest_start "$driver" || return 1
	LAB_MIG_STATE_DIR=$ONLOGIN_STATE_DIR lab_migration_conf || return 1
	# the worker makes the state dir and the queue the mail processes
	# write to (it returns at once: nothing is queued yet)
	onlogin_worker --once >/dev/null 2>&1
}

# onlogin_login imap|pop3 USER PASSWORD: log in to the destination (the
# password goes through the environment, not argv).  Exit 0 if logged in.
onlogin_login() {
	local port
	case $1 in
	imap) port=$DST_IMAP_PORT ;;
	pop3) port=$DST_POP3_PORT ;;
	*) lab__err "onlogin_login: imap or pop3"; return 1 ;;
	esac
	ONLOGIN_PASSWORD=$3 python3 - "$1" "$port" "$2" <<'PY'
import imaplib, os, poplib, sys
proto, port, user = sys.argv[1], int(sys.argv[2]), sys.argv[3]
pw = os.environ["ONLOGIN_PASSWORD"]
try:
    if proto == "imap":
        m = imaplib.IMAP4("127.0.0.1", port)
        m.login(user, pw)
        m.select("INBOX")
        m.logout()
    else:
        p = poplib.POP3("127.0.0.1", port)
        p.user(user)
        p.pass_(pw)
        p.stat()
        p.quit()
except Exception as e:
    print("login failed: %s" % e, file=sys.stderr)
    sys.exit(1)
PY
}

# onlogin_queued: the queue's file names, one a line, sorted.
onlogin_queued() {
	ls "$ONLOGIN_STATE_DIR/queue" 2>/dev/null | sort
}

# onlogin_worker ARGS...: doveadm migrate worker with the migration config;
# output appended to $LAB/worker.log; returns its exit code.
onlogin_worker() {
	local rc=0 vg=()
	# ONLOGIN_VALGRIND=1: the worker itself under valgrind (its runs
	# are exec'd natively); errors or leaks make it exit 99
	if [ "${ONLOGIN_VALGRIND:-0}" = 1 ]; then
		vg=(valgrind -q --leak-check=full --error-exitcode=99 --vgdb=no
		    --show-leak-kinds=definite,indirect
		    --errors-for-leak-kinds=definite,indirect)
	fi
	echo "=== $(date '+%F %T') migrate worker $*" >>"$LAB/worker.log"
	"${vg[@]}" doveadm -c "$MIG_CONF" migrate worker "$@" </dev/null \
		>>"$LAB/worker.log" 2>&1 || rc=$?
	echo "=== exit $rc" >>"$LAB/worker.log"
	return $rc
}

# onlogin_hashes src|dst USER: "mailbox sha256" of every message of every
# mailbox, sorted (duplicates show as repeated lines).  Line endings don't
# count: maildir keeps LF, dsync over imapc stores what IMAP sent (CRLF).
onlogin_hashes() {
	local conf
	conf=$(lab__conf "$1") || return 1
	doveadm -c "$conf" -f pager fetch -u "$2" 'mailbox text' ALL |
		python3 -c '
import hashlib, sys
data = sys.stdin.buffer.read()
out = []
for rec in data.split(b"\x0c\n"):
    if not rec.strip():
        continue
    head, sep, text = rec.partition(b"\ntext:\n")
    box = head.split(b"mailbox: ", 1)[1].decode()
    text = text.replace(b"\r\n", b"\n")
    out.append("%s %s" % (box, hashlib.sha256(text).hexdigest()))
print("\n".join(sorted(out)))'
}

# onlogin_deliver USER SUBJECT: a new message straight into the user's
# INBOX on the destination (as LMTP would deliver it).
onlogin_deliver() {
	printf 'From: sender@example.net\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s.%s@example.net>\r\n\r\nnew mail on the new server\r\n' \
		"$1" "$2" "$2" "$RANDOM" |
		doveadm -c "$DST_CONF" save -u "$1" -m INBOX
}
