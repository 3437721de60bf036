# shellcheck shell=bash
# tests/integration/lib.sh - the real-server lab for dovecot-migrate.
#
# Source it from a scenario script (set -euo pipefail friendly):
#
#   . "$(dirname "$0")/lib.sh"
#   lab_init
#   lab_user_add alice@example.com secret1
#   lab_corpus alice@example.com 200 7
#   lab_source_start
#   lab_dest_start sdbox
#   lab_migration_conf pop3_migration
#   lab_migrate_backup alice@example.com
#   assert_eq "$(lab_imap_count src alice@example.com)" \
#             "$(lab_imap_count dst alice@example.com)" "message count"
#   pass my-scenario
#
# Two Dovecot instances run side by side on 127.0.0.1, each with its own
# base_dir, state_dir, log file and instance_name under $LAB:
#   source       maildir:~/Maildir, pop3_uidl_format %08Xu%08Xv, master user
#   destination  sdbox|mdbox|maildir, pop3_uidl_format %g
# Both answer IMAP and POP3 on free high ports and have an auth socket, so
# `doveadm -c $SRC_CONF|$DST_CONF -u USER ...` works against either.
# Users log in with their password, or as "USER*migrator" with the master
# password kept in $LAB/secrets.  All servers are stopped, and $LAB removed
# (unless KEEP_LAB=1), when the script exits for whatever reason.
#
# Environment knobs:
#   KEEP_LAB=1              keep $LAB after the script ends
#   LAB_TMPDIR=DIR          where $LAB is made (default /tmp)
#   LAB_SRC_EXTRA_CONF      raw lines appended to the source dovecot.conf
#   LAB_DST_EXTRA_CONF      raw lines appended to the destination dovecot.conf
#   LAB_MIG_EXTRA_CONF      raw lines appended to migration.conf
#   LAB_TEST_NAME           name used by assert_* in FAIL lines
#                           (default: script name without .sh)
#   LAB_NO_DUMP=1           don't print server logs when the script fails
#   LAB_CLEANUP             array of functions run at cleanup (lab_on_exit)
#
# Exported after the corresponding call:
#   (sourcing)        LAB_LIB_DIR LAB_TOP_DIR LAB_MASTER_USER
#   lab_init          LAB LAB_UID LAB_GID
#   lab_source_start  SRC_CONF SRC_IMAP_PORT SRC_POP3_PORT SRC_LOG
#   lab_dest_start    DST_CONF DST_IMAP_PORT DST_POP3_PORT DST_LOG DST_DRIVER
#   lab_migration_conf MIG_CONF
#
# Dovecot 2.3 and 2.4: sourcing sets LAB_DOVECOT=2.3 or 2.4 (exported; from
# `dovecot --version`, or preset by the caller).  Every config the lab writes
# (server configs, migration.conf, lab_backend_conf, the LAB_*_EXTRA_CONF
# knobs, lab_migration_conf_add lines) is composed in 2.3 syntax and passes
# through lab__conf24, which copies it unchanged on 2.3 and on 2.4 rewrites
# it line by line:
#   plugin { ... }             the wrapper lines go, the settings inside
#                              become top-level settings (2.4 has no plugin {})
#   mail_location = D:P[:K=V]  mail_driver = D, mail_path = P, and INDEX,
#   location = D:P (namespace) CONTROL, INBOX, LAYOUT, ALT, VOLATILEDIR as
#                              mail_index_path ... mailbox_list_layout
#   mail_plugins = $mail_plugins A B
#                              mail_plugins { A = yes  B = yes }
#   disable_plaintext_auth = no  auth_allow_cleartext = yes
#   address = X (inet_listener) listen = X
#   ssl_cert|ssl_key|ssl_ca = <F  ssl_server_{cert,key,ca}_file = F
#   imapc_ssl_verify = V       ssl_client_require_valid_cert = V
#   imapc_features/pop3c_features  2.3 opt-ins that are 2.4 defaults
#                              (rfc822.size fetch-headers search modseq
#                              delay-login fetch-bodystructure acl metadata)
#                              are dropped; the line too if nothing is left
#   %u %n %d %h %Lu, %%        %{user} %{user | username} %{user | domain}
#                              %{home} %{user | lower}, %
#   *uidl_format = %08Xu%08Xv  %{uid | hex(8)}%{uidvalidity | hex(8)}
#   (% or %% forms)            (lowercase, as 2.3's); %v %u %g %m %f: %{uidvalidity} %{uid}
#                              %{guid} %{md5} %{filename}
# The passdb/userdb blocks and the dovecot_config_version and
# dovecot_storage_version lines (2.4.0) are written per version.  On 2.4 the
# lab's own migrate_* settings (migrate_pop3_mailbox, migrate_state_dir) are
# written only when doveconf knows them, i.e. when the dovecot-migrate
# plugins are installed for 2.4; LAB_MIG_SETTINGS=yes|no overrides that.

LAB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_TOP_DIR=$(cd "$LAB_LIB_DIR/../.." && pwd)
export LAB_LIB_DIR LAB_TOP_DIR
LAB_MAIL_USER=dmvmail
LAB_MASTER_USER=migrator
LAB_POP3_NS=POP3-MIGRATION-NS/
: "${LAB_START_TIMEOUT:=20}"	# seconds to wait for a server to listen
: "${LAB_STOP_TIMEOUT:=5}"	# seconds after SIGTERM before SIGKILL
: "${LAB_TEST_NAME:=$(basename "$0" .sh)}"
LAB_FAILS=${LAB_FAILS:-0}
export LAB_MASTER_USER
if [ -z "${LAB_DOVECOT:-}" ]; then
	case $(dovecot --version 2>/dev/null) in
	2.4.* | 2.5.* | [3-9].*) LAB_DOVECOT=2.4 ;;
	*) LAB_DOVECOT=2.3 ;;
	esac
fi
export LAB_DOVECOT

lab__err() {
	echo "lab: $*" >&2
}

# --------------------------------------------------------------------------
# result lines and assertions

pass() {
	echo "PASS: $1"
}

fail() {
	local name=$1
	shift
	echo "FAIL: $name: $*"
	LAB_FAILS=$((LAB_FAILS + 1))
}

# assert_eq EXPECTED ACTUAL MESSAGE: prints "ok: MESSAGE (ACTUAL)" or a
# FAIL line (named $LAB_TEST_NAME) and returns 1.
assert_eq() {
	local expected=$1 actual=$2 msg=${3:-values differ}
	if [ "$expected" == "$actual" ]; then
		echo "ok: $msg ($actual)"
		return 0
	fi
	fail "$LAB_TEST_NAME" "$msg: expected '$expected', got '$actual'"
	return 1
}

# assert_ok MESSAGE CMD [ARGS...]: runs CMD; a non-zero exit is a FAIL.
assert_ok() {
	local msg=$1 rc=0
	shift
	"$@" || rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "ok: $msg"
		return 0
	fi
	fail "$LAB_TEST_NAME" "$msg (exit $rc: $*)"
	return 1
}

# --------------------------------------------------------------------------
# lab life cycle

lab__ensure_user() {
	if ! getent passwd "$LAB_MAIL_USER" >/dev/null; then
		useradd --system --no-create-home --shell /usr/sbin/nologin \
			"$LAB_MAIL_USER" 2>/dev/null ||
			getent passwd "$LAB_MAIL_USER" >/dev/null || {
			lab__err "cannot create system user $LAB_MAIL_USER"
			return 1
		}
	fi
	LAB_UID=$(id -u "$LAB_MAIL_USER")
	LAB_GID=$(id -g "$LAB_MAIL_USER")
	export LAB_UID LAB_GID
}

lab__on_exit() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	# a script that printed a FAIL line never exits 0, whatever it did
	# after it
	if [ "$rc" -eq 0 ] && [ "${LAB_FAILS:-0}" -gt 0 ]; then
		rc=1
	fi
	if [ "$rc" -ne 0 ] && [ -n "${LAB:-}" ] && [ "${LAB_NO_DUMP:-0}" != 1 ]; then
		lab_log_dump 40 >&2
	fi
	lab_cleanup
	exit "$rc"
}

lab__on_signal() {
	lab__err "interrupted (signal $1), stopping servers"
	exit $((128 + $1))
}

# lab_init: new lab directory, cleanup trap, mail user.
lab_init() {
	local tool
	if [ -n "${LAB:-}" ] && [ -d "$LAB" ]; then
		lab_cleanup
	fi
	if [ "$(id -u)" != 0 ]; then
		lab__err "must run as root (Dovecot masters, useradd)"
		return 1
	fi
	for tool in dovecot doveadm python3 useradd; do
		command -v "$tool" >/dev/null || {
			lab__err "$tool not found"
			return 1
		}
	done
	lab__ensure_user
	unset SRC_CONF SRC_IMAP_PORT SRC_POP3_PORT SRC_LOG
	unset DST_CONF DST_IMAP_PORT DST_POP3_PORT DST_LOG DST_DRIVER MIG_CONF
	LAB=$(mktemp -d "${LAB_TMPDIR:-/tmp}/dmlab.XXXXXXXX")
	export LAB
	# not exported: a child script that inherits $LAB must not clean it up
	lab__owner=$$
	# Mail processes run as dmvmail and must reach the homes below.
	chmod 0755 "$LAB"
	# keep what a companion library sourced before lab_init registered
	# (lib-courier.sh: lab_courier_stop)
	declare -ga LAB_CLEANUP=(${LAB_CLEANUP[@]+"${LAB_CLEANUP[@]}"})
	trap lab__on_exit EXIT
	trap 'lab__on_signal 2' INT
	trap 'lab__on_signal 15' TERM
	: >"$LAB/ports"
	: >"$LAB/servers"
	(umask 077 && : >"$LAB/users" &&
		python3 -c 'import secrets; print(secrets.token_hex(16))' \
			>"$LAB/secrets")
	local role
	for role in src dst; do
		mkdir -p "$LAB/$role/home"
		chmod 0755 "$LAB/$role" "$LAB/$role/home"
		lab__passwd_install "$role" passwd </dev/null
		printf '%s:{PLAIN}%s::::::\n' "$LAB_MASTER_USER" \
			"$(lab_master_password)" |
			lab__passwd_install "$role" master-users
	done
}

# lab_master_password: prints the master user's password.
lab_master_password() {
	cat "$LAB/secrets"
}

# lab_on_exit FUNCTION: run FUNCTION (e.g. to stop a server a companion
# library started) when the lab is cleaned up, before the Dovecot servers
# are stopped and $LAB is removed.  Same as LAB_CLEANUP+=(FUNCTION).
lab_on_exit() {
	LAB_CLEANUP+=("$1")
}

# lab_cleanup: run the LAB_CLEANUP functions, stop the servers and remove
# $LAB (unless KEEP_LAB=1).  Runs from the EXIT trap; call it yourself to
# start a second lab in the same script.
lab_cleanup() {
	local f
	[ -n "${LAB:-}" ] || return 0
	if [ "${lab__owner:-}" != "$$" ]; then
		# $LAB was inherited from a parent script: it owns that lab
		LAB=
		return 0
	fi
	if declare -p LAB_CLEANUP >/dev/null 2>&1; then
		for f in "${LAB_CLEANUP[@]}"; do
			"$f" || lab__err "cleanup function $f failed"
		done
		LAB_CLEANUP=()
	fi
	lab_stop_all
	if [ "${KEEP_LAB:-0}" = 1 ]; then
		lab__err "keeping $LAB"
	else
		case $LAB in
		/tmp/dmlab.?* | "${LAB_TMPDIR:-/tmp}"/dmlab.?*) rm -rf -- "$LAB" ;;
		*) lab__err "not removing unexpected LAB=$LAB" ;;
		esac
	fi
	LAB=
}

# --------------------------------------------------------------------------
# ports and servers

# lab_free_port: prints a free TCP port on 127.0.0.1 (20000-32000, below
# the kernel's ephemeral range), never the same one twice in one lab.
lab_free_port() {
	python3 - "$LAB/ports" <<'EOF'
import random, socket, sys
path = sys.argv[1]
used = set(open(path).read().split())
rng = random.SystemRandom()
for _ in range(500):
    port = rng.randint(20000, 32000)
    if str(port) in used:
        continue
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    with open(path, "a") as f:
        f.write("%d\n" % port)
    print(port)
    sys.exit(0)
sys.exit("lab_free_port: no free port found")
EOF
}

lab__port_listening() {
	if command -v ss >/dev/null; then
		[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# lab__passwd_install ROLE FILE < content: atomically replace a passwd-file
# readable by Dovecot's auth process (user dovecot) and nobody else.
lab__passwd_install() {
	local dst="$LAB/$1/$2" tmp
	tmp=$(mktemp "$LAB/$1/.$2.XXXXXX")
	cat >"$tmp"
	chown root:dovecot "$tmp"
	chmod 0640 "$tmp"
	mv -f "$tmp" "$dst"
}

# lab__conf24: stdin to stdout; a 2.3-syntax config (fragment) unchanged on
# Dovecot 2.3, rewritten into 2.4 syntax on 2.4 (see the header comment).
lab__conf24() {
	if [ "$LAB_DOVECOT" != 2.4 ]; then
		cat
		return
	fi
	awk '
	function uidlvars(v,   out, tok, c, x, name, f) {
		out = ""
		while (match(v, /%%?[0-9]*[Xx]?[uvgmf]/)) {
			tok = substr(v, RSTART, RLENGTH)
			out = out substr(v, 1, RSTART - 1)
			v = substr(v, RSTART + RLENGTH)
			sub(/^%%?/, "", tok)
			c = substr(tok, length(tok))
			name = c == "u" ? "uid" : c == "v" ? "uidvalidity" : \
				c == "g" ? "guid" : c == "m" ? "md5" : "filename"
			tok = substr(tok, 1, length(tok) - 1)
			x = tok ~ /[Xx]$/ ? substr(tok, length(tok)) : ""
			sub(/[Xx]$/, "", tok)
			f = x == "" ? "" : (tok + 0 ? " | hex(" tok + 0 ")" : " | hex")
			# 2.3 writes hex in lowercase for %X and %x alike
			out = out "%{" name f "}"
		}
		return out v
	}
	function uservars(v,   out, tok, r) {
		out = ""
		while (match(v, /%(%|L?[undh])/)) {
			tok = substr(v, RSTART, RLENGTH)
			out = out substr(v, 1, RSTART - 1)
			v = substr(v, RSTART + RLENGTH)
			if (tok == "%%") {
				out = out (substr(v, 1, 1) == "{" ? "%%" : "%")
				continue
			}
			r = substr(tok, length(tok))
			r = r == "u" ? "user" : r == "n" ? "user | username" : \
				r == "d" ? "user | domain" : "home"
			out = out "%{" r (tok ~ /^%L/ ? " | lower" : "") "}"
		}
		return out v
	}
	# location D:P[:K=V...] as mail_driver/mail_path/... lines
	function location(ind, v,   n, p, i, kv, k, map) {
		split("INDEX=mail_index_path CONTROL=mail_control_path " \
		      "INBOX=mail_inbox_path LAYOUT=mailbox_list_layout " \
		      "ALT=mail_alt_path VOLATILEDIR=mail_volatile_path", kv, " ")
		for (i in kv) { split(kv[i], p, "="); map[p[1]] = p[2] }
		n = split(uservars(v), p, ":")
		print ind "mail_driver = " p[1]
		if (n >= 2)	# D: (no path) must clear an inherited mail_path
			print ind "mail_path =" (p[2] == "" ? "" : " " p[2])
		for (i = 3; i <= n; i++) {
			k = p[i]; sub(/=.*/, "", k)
			if (k in map) { sub(/^[^=]*=/, "", p[i]); print ind map[k] " = " p[i] }
			else print ind "# 2.3 mail_location parameter not translated: " p[i]
		}
	}
	BEGIN { depth = 0; plugin = -1 }
	{
		line = $0
		if (line ~ /^[ \t]*plugin[ \t]*\{[ \t]*$/ && plugin < 0) {
			plugin = depth; depth++; next
		}
		if (line ~ /^[ \t]*\}[ \t]*$/) {
			depth--
			if (depth == plugin) { plugin = -1; next }
		} else if (line ~ /\{[ \t]*$/) {
			depth++
		}
		if (plugin >= 0)
			sub(/^  /, "", line)
		if (!match(line, /^[ \t]*[A-Za-z0-9_:.-]+[ \t]*=/)) { print line; next }
		ind = line; sub(/[^ \t].*/, "", ind)
		key = line; sub(/^[ \t]*/, "", key); sub(/[ \t]*=.*/, "", key)
		val = line; sub(/^[^=]*=[ \t]*/, "", val)
		if (key == "mail_location" || key == "location") {
			location(ind, val); next
		}
		if (key == "mail_plugins" && val ~ /^\$mail_plugins/) {
			n = split(val, p, /[ \t]+/)
			print ind "mail_plugins {"
			for (i = 2; i <= n; i++) print ind "  " p[i] " = yes"
			print ind "}"
			next
		}
		if (key == "disable_plaintext_auth") {
			key = "auth_allow_cleartext"; val = val == "no" ? "yes" : "no"
		} else if (key == "address") {
			key = "listen"
		} else if (key ~ /^ssl_(cert|key|ca)$/ && val ~ /^</) {
			key = "ssl_server_" substr(key, 5) "_file"; val = substr(val, 2)
		} else if (key == "imapc_ssl_verify") {
			key = "ssl_client_require_valid_cert"
		} else if (key ~ /^(imapc|pop3c)_features$/) {
			n = split(val, p, /[ \t]+/); val = ""
			for (i = 1; i <= n; i++)
				if (p[i] !~ /^(rfc822\.size|fetch-headers|search|modseq|delay-login|fetch-bodystructure|acl|metadata)$/)
					val = val (val == "" ? "" : " ") p[i]
			if (val == "") next
		}
		if (val ~ /%/)
			val = key ~ /uidl_format$/ ? uidlvars(val) : uservars(val)
		print ind key " = " val
	}'
}

lab__write_server_conf() {
	local role=$1 location=$2 uidl_format=$3 imap_port=$4 pop3_port=$5
	local dir="$LAB/$role" extra
	if [ "$role" = src ]; then
		extra=${LAB_SRC_EXTRA_CONF:-}
	else
		extra=${LAB_DST_EXTRA_CONF:-}
	fi
	mkdir -p "$dir/run" "$dir/state"
	chmod 0755 "$dir/run"
	{
		echo "# dovecot-migrate test lab: $role server (generated by tests/integration/lib.sh)"
		lab__version_conf
		cat <<EOF
instance_name = dmlab-$role-${LAB##*.}
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
default_internal_user = dovecot
default_login_user = dovenull
mail_uid = $LAB_MAIL_USER
mail_gid = $LAB_MAIL_USER
first_valid_uid = $LAB_UID
first_valid_gid = $LAB_GID
mail_location = $location
pop3_uidl_format = $uidl_format

namespace inbox {
  inbox = yes
  separator = /
}

EOF
		lab__auth_conf "$dir"
		cat <<EOF

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $imap_port
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $pop3_port
  }
  inet_listener pop3s {
    port = 0
  }
}
service auth {
  unix_listener auth-userdb {
    mode = 0600
    user = root
  }
}
$extra
EOF
	} | lab__conf24 >"$dir/dovecot.conf"
}

# lab__version_conf: the settings a 2.4 config must start with (nothing on
# 2.3).
lab__version_conf() {
	if [ "$LAB_DOVECOT" = 2.4 ]; then
		printf '%s\n' "dovecot_config_version = 2.4.0" \
			"dovecot_storage_version = 2.4.0"
	fi
}

# lab__auth_conf DIR: the master passdb (DIR/master-users), the users'
# passdb and userdb (DIR/passwd), in the syntax of $LAB_DOVECOT.
lab__auth_conf() {
	local dir=$1
	if [ "$LAB_DOVECOT" = 2.4 ]; then
		# 2.3's pass = yes is 2.4's result_success = continue;
		# default_fields became fields { KEY:default }
		cat <<EOF
passdb master-users {
  driver = passwd-file
  passwd_file_path = $dir/master-users
  default_password_scheme = PLAIN
  master = yes
  result_success = continue
}
passdb users {
  driver = passwd-file
  passwd_file_path = $dir/passwd
  default_password_scheme = PLAIN
}
userdb users {
  driver = passwd-file
  passwd_file_path = $dir/passwd
  fields {
    uid:default = $LAB_MAIL_USER
    gid:default = $LAB_MAIL_USER
    home:default = $dir/home/%{user}
  }
}
EOF
		return
	fi
	cat <<EOF
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/master-users
  master = yes
  pass = yes
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $dir/passwd
  default_fields = uid=$LAB_MAIL_USER gid=$LAB_MAIL_USER home=$dir/home/%u
}
EOF
}

# lab__start_server ROLE LOCATION UIDL_FORMAT: picks ports, writes the
# config, starts the master and waits until both ports listen. Sets
# lab__imap_port / lab__pop3_port.
lab__start_server() {
	local role=$1 location=$2 uidl_format=$3
	local dir="$LAB/$role" conf="$LAB/$role/dovecot.conf"
	local pidfile="$LAB/$role/run/master.pid" pid i _
	if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
		lab__err "$role server already running"
		return 1
	fi
	for _ in 1 2 3; do
		lab__imap_port=$(lab_free_port)
		lab__pop3_port=$(lab_free_port)
		lab__write_server_conf "$role" "$location" "$uidl_format" \
			"$lab__imap_port" "$lab__pop3_port"
		rm -f "$pidfile"
		if ! dovecot -c "$conf" </dev/null >>"$dir/dovecot.stdout" 2>&1; then
			if grep -qs "Address already in use" "$dir/dovecot.stdout" \
				"$dir/dovecot.log"; then
				: >"$dir/dovecot.stdout"
				continue
			fi
			lab__err "$role dovecot failed to start:"
			cat "$dir/dovecot.stdout" >&2
			tail -n 20 "$dir/dovecot.log" >&2 2>/dev/null
			return 1
		fi
		pid=
		for ((i = 0; i < LAB_START_TIMEOUT * 20; i++)); do
			if [ -z "$pid" ] && [ -s "$pidfile" ]; then
				pid=$(cat "$pidfile")
				echo "$role $pid $pidfile" >>"$LAB/servers"
			fi
			if [ -n "$pid" ] && lab__port_listening "$lab__imap_port" &&
				lab__port_listening "$lab__pop3_port" &&
				[ -S "$dir/run/auth-userdb" ]; then
				return 0
			fi
			if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
				break
			fi
			sleep 0.05
		done
		lab__err "$role dovecot did not come up (pid ${pid:-none})"
		tail -n 20 "$dir/dovecot.log" >&2 2>/dev/null
		return 1
	done
	lab__err "$role dovecot: no usable ports after 3 attempts"
	return 1
}

# lab_source_start [maildir]: the source server (maildir only: the corpus
# is written straight into Maildirs).
lab_source_start() {
	local driver=${1:-maildir}
	if [ "$driver" != maildir ]; then
		lab__err "lab_source_start: only maildir sources are supported"
		return 1
	fi
	lab__start_server src "maildir:~/Maildir" "%08Xu%08Xv" || return 1
	SRC_CONF=$LAB/src/dovecot.conf
	SRC_LOG=$LAB/src/dovecot.log
	SRC_IMAP_PORT=$lab__imap_port
	SRC_POP3_PORT=$lab__pop3_port
	export SRC_CONF SRC_LOG SRC_IMAP_PORT SRC_POP3_PORT
}

# lab_dest_start [sdbox|mdbox|maildir]: the destination server.
lab_dest_start() {
	local driver=${1:-sdbox} location
	case $driver in
	sdbox | mdbox) location="$driver:~/mail" ;;
	maildir) location="maildir:~/Maildir" ;;
	*)
		lab__err "lab_dest_start: unknown driver $driver"
		return 1
		;;
	esac
	lab__start_server dst "$location" "%g" || return 1
	DST_CONF=$LAB/dst/dovecot.conf
	DST_LOG=$LAB/dst/dovecot.log
	DST_IMAP_PORT=$lab__imap_port
	DST_POP3_PORT=$lab__pop3_port
	DST_DRIVER=$driver
	export DST_CONF DST_LOG DST_IMAP_PORT DST_POP3_PORT DST_DRIVER
}

# lab__pid_alive PID: running and not a zombie (PID 1 here may reap late).
lab__pid_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

lab__proc_is_dovecot() {
	local comm
	lab__pid_alive "$1" || return 1
	comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
	[ "$comm" = dovecot ]
}

# lab_stop_all: stop every server this lab started (SIGTERM, then SIGKILL
# after LAB_STOP_TIMEOUT seconds) and wait until their processes are gone.
lab_stop_all() {
	[ -n "${LAB:-}" ] && [ -s "$LAB/servers" ] || return 0
	local role pid pidfile kids="" k i alive=1 title
	while read -r role pid pidfile; do
		[ -n "$pid" ] || continue
		lab__proc_is_dovecot "$pid" || continue
		kids="$kids $(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ')"
		kill -TERM "$pid" 2>/dev/null || true
	done <"$LAB/servers"
	for ((i = 0; i < LAB_STOP_TIMEOUT * 20; i++)); do
		alive=0
		while read -r role pid pidfile; do
			if [ -n "$pid" ] && lab__proc_is_dovecot "$pid"; then
				alive=1
			fi
		done <"$LAB/servers"
		for k in $kids; do
			lab__pid_alive "$k" && alive=1
		done
		[ "$alive" = 0 ] && break
		sleep 0.05
	done
	if [ "$alive" = 1 ]; then
		while read -r role pid pidfile; do
			if [ -n "$pid" ] && lab__proc_is_dovecot "$pid"; then
				lab__err "$role master $pid ignored SIGTERM, killing"
				kill -KILL "$pid" 2>/dev/null || true
			fi
		done <"$LAB/servers"
		for k in $kids; do
			# only our own children: their title names this lab's instance
			lab__pid_alive "$k" || continue
			title=$(tr '\0' ' ' <"/proc/$k/cmdline" 2>/dev/null) || continue
			case $title in
			"dovecot-dmlab-"*"-${LAB##*.}/"*) kill -KILL "$k" 2>/dev/null || true ;;
			esac
		done
		sleep 0.1
	fi
	: >"$LAB/servers"
}

# lab_log_dump [LINES]: tail of every server and migration log.
lab_log_dump() {
	local n=${1:-40} f
	[ -n "${LAB:-}" ] && [ -d "$LAB" ] || return 0
	for f in "$LAB/src/dovecot.log" "$LAB/dst/dovecot.log" "$LAB"/migrate-*.log; do
		[ -f "$f" ] || continue
		echo "----- ${f#"$LAB"/} (last $n lines) -----"
		tail -n "$n" "$f"
	done
}

# --------------------------------------------------------------------------
# users and mail

# lab_user_add USER PASSWORD: the user on both servers (before or after
# they start).  Homes $LAB/src/home/USER and $LAB/dst/home/USER.
lab_user_add() {
	local user=$1 password=$2 role home
	case "$user$password" in
	*:* | *$'\n'* | *'*'*)
		lab__err "lab_user_add: ':', '*' and newlines are not allowed"
		return 1
		;;
	esac
	for role in src dst; do
		home="$LAB/$role/home/$user"
		mkdir -p "$home"
		chown "$LAB_UID:$LAB_GID" "$home"
		chmod 0700 "$home"
		{
			awk -F: -v u="$user" '$1 != u' "$LAB/$role/passwd"
			printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$user" "$password" \
				"$LAB_UID" "$LAB_GID" "$home"
		} | lab__passwd_install "$role" passwd
	done
	{
		awk -F'\t' -v u="$user" '$1 != u' "$LAB/users"
		printf '%s\t%s\n' "$user" "$password"
	} >"$LAB/users.new"
	chmod 0600 "$LAB/users.new"
	mv -f "$LAB/users.new" "$LAB/users"
}

lab__user_password() {
	awk -F'\t' -v u="$1" '$1 == u { print $2; found = 1 }
		END { exit !found }' "$LAB/users"
}

# lab_maildir USER [FOLDER]: path of the user's source Maildir (folder).
lab_maildir() {
	local md="$LAB/src/home/$1/Maildir"
	if [ -n "${2:-}" ] && [ "$2" != INBOX ]; then
		md="$md/.${2//\//.}"
	fi
	echo "$md"
}

# lab_corpus USER COUNT [SEED] [FOLDER]: COUNT generated messages into the
# user's source INBOX or FOLDER ("a/b" becomes Maildir++ ".a.b").  Call again
# with another seed to add new mail; UIDs follow generation order.  The
# manifest goes to $LAB/corpus/USER/FOLDER.jsonl.
lab_corpus() {
	local user=$1 count=$2 seed=${3:-1} folder=${4:-INBOX} md root
	if [ ! -d "$LAB/src/home/$user" ]; then
		lab__err "lab_corpus: unknown user $user (lab_user_add first)"
		return 1
	fi
	root=$(lab_maildir "$user")
	md=$(lab_maildir "$user" "$folder")
	if [ "$md" != "$root" ] && [ ! -d "$root/cur" ]; then
		python3 "$LAB_LIB_DIR/gen-corpus.py" --count 0 --out "$root" \
			--uid "$LAB_UID" --gid "$LAB_GID" --quiet
	fi
	mkdir -p "$LAB/corpus/$user"
	python3 "$LAB_LIB_DIR/gen-corpus.py" --count "$count" --seed "$seed" \
		--out "$md" --uid "$LAB_UID" --gid "$LAB_GID" --quiet \
		--manifest "$LAB/corpus/$user/${folder//\//.}.jsonl"
}

# --------------------------------------------------------------------------
# migration

# lab_migration_conf [PLUGINS...]: writes $LAB/migration.conf (mode 0600)
# and exports MIG_CONF.  PLUGINS go into protocol doveadm { mail_plugins }.
# The doveadm migrate state goes to $LAB/state (or $LAB_MIG_STATE_DIR).
# Extra raw lines: $LAB_MIG_EXTRA_CONF, or lab_migration_conf_add later.
lab_migration_conf() {
	local plugins="$*" pw
	if [ -z "${DST_CONF:-}" ] || [ -z "${SRC_IMAP_PORT:-}" ]; then
		lab__err "lab_migration_conf: start source and destination first"
		return 1
	fi
	pw=$(lab_master_password)
	MIG_CONF=$LAB/migration.conf
	export MIG_CONF
	(
		umask 077
		{
			cat <<EOF
# Migration settings, kept apart from the production config.
# Use: doveadm -c $MIG_CONF backup -R -u USER imapc:
EOF
			# 2.4: the including file needs its own version lines
			lab__version_conf
			cat <<EOF
!include $DST_CONF

# doveadm's own errors go to the terminal, not to the server's log
log_path = /dev/stderr

imapc_host = 127.0.0.1
imapc_port = $SRC_IMAP_PORT
imapc_ssl = no
imapc_user = %u
imapc_master_user = $LAB_MASTER_USER
imapc_password = $pw
imapc_features = rfc822.size fetch-headers
imapc_cmd_timeout = 60s

pop3c_host = 127.0.0.1
pop3c_port = $SRC_POP3_PORT
pop3c_ssl = no
pop3c_user = %u
pop3c_master_user = $LAB_MASTER_USER
pop3c_password = $pw

# The source's POP3 view. dsync syncs only namespaces that use the default
# mail_location, so this one (location set) is never synced itself.
namespace pop3c {
  prefix = $LAB_POP3_NS
  separator = /
  location = pop3c:
  list = no
  hidden = yes
}

dsync_features = empty-header-workaround
EOF
			if [ -n "$plugins" ]; then
				cat <<EOF

protocol doveadm {
  mail_plugins = \$mail_plugins $plugins
}
EOF
			fi
			cat <<EOF

plugin {
  pop3_migration_mailbox = ${LAB_POP3_NS}INBOX
EOF
			lab__mig_settings <<EOF
  migrate_pop3_mailbox = ${LAB_POP3_NS}INBOX
  migrate_state_dir = ${LAB_MIG_STATE_DIR:-$LAB/state}
EOF
			cat <<EOF
}
${LAB_MIG_EXTRA_CONF:-}
EOF
		} | lab__conf24 >"$MIG_CONF"
	)
}

# lab__mig_settings: copies the lab's own migrate_* setting lines (stdin),
# or, on 2.4 without the dovecot-migrate plugins (whose settings doveconf
# must know, it rejects unknown ones), comments them out.  LAB_MIG_SETTINGS
# (yes|no) overrides the check: doveconf -n on a config that sets
# migrate_state_dir ("doveconf -h" prints nothing and exits 0 for unknown
# settings on 2.4).
lab__mig_settings() {
	local known=${LAB_MIG_SETTINGS:-}
	if [ -z "$known" ]; then
		known=yes
		if [ "$LAB_DOVECOT" = 2.4 ]; then
			{
				lab__version_conf
				echo "migrate_state_dir = /nonexistent"
			} >"$LAB/.mig-settings.conf"
			doveconf -n -c "$LAB/.mig-settings.conf" >/dev/null 2>&1 ||
				known=no
			rm -f "$LAB/.mig-settings.conf"
		fi
	fi
	if [ "$known" = yes ]; then
		cat
	else
		echo "  # left out: doveconf does not know the dovecot-migrate settings"
		sed 's/^ */  #/'
	fi
}

# lab_tls DIR: a throwaway CA (DIR/ca.pem) and a certificate for
# localhost/127.0.0.1 signed by it (DIR/srv.pem, DIR/srv.key).
lab_tls() {
	mkdir -p "$1"
	(
		cd "$1" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key \
			-out ca.pem -days 2 -subj "/CN=dovecot-migrate lab CA" \
			2>/dev/null
		openssl req -newkey rsa:2048 -nodes -keyout srv.key \
			-out srv.csr -subj "/CN=localhost" 2>/dev/null
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext
		openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key \
			-CAcreateserial -out srv.pem -days 2 -extfile ext \
			2>/dev/null
	)
}

# lab_backend_conf HTTP_PORT API_PASSWORD STATE_DIR [SOURCE-LINE...]: the
# extra config of a destination that runs migrations itself when asked
# through its doveadm HTTP API (use as LAB_DST_EXTRA_CONF): the HTTP
# listener, the API password, its own migrate_state_dir, and the old
# server: the SOURCE-LINEs (2.3 syntax), else the lab's source as imapc
# with the master user.
lab_backend_conf() {
	local port=$1 password=$2 state=$3
	shift 3
	{
		cat <<EOF
service doveadm {
  inet_listener http {
    address = 127.0.0.1
    port = $port
  }
}
doveadm_password = $password
EOF
		if [ $# -gt 0 ]; then
			printf '%s\n' "$@"
		else
			cat <<EOF
imapc_host = 127.0.0.1
imapc_port = ${SRC_IMAP_PORT:?source not started}
imapc_ssl = no
imapc_user = %u
imapc_master_user = $LAB_MASTER_USER
imapc_password = $(lab_master_password)
imapc_features = rfc822.size fetch-headers
EOF
		fi
		echo "plugin {"
		lab__mig_settings <<EOF
  migrate_state_dir = $state
EOF
		echo "}"
	} | lab__conf24
}

# lab_backend_start ROLE: another destination server ($LAB/ROLE, a backend
# of its own) with the destination's users and master users, homes of its
# own, sdbox, and LAB_DST_EXTRA_CONF. Sets lab__imap_port.
lab_backend_start() {
	local role=$1 u
	mkdir -p "$LAB/$role/home"
	chmod 0755 "$LAB/$role" "$LAB/$role/home"
	sed "s#$LAB/dst/home/#$LAB/$role/home/#" "$LAB/dst/passwd" |
		lab__passwd_install "$role" passwd
	lab__passwd_install "$role" master-users <"$LAB/dst/master-users"
	for u in $(cut -d: -f1 "$LAB/dst/passwd"); do
		install -d -m 0700 -o "$LAB_UID" -g "$LAB_GID" "$LAB/$role/home/$u"
	done
	lab__start_server "$role" "sdbox:~/mail" "%g"
}

# lab_migration_conf_add LINE...: append lines (2.3 syntax, translated by
# lab__conf24 on 2.4, e.g. "plugin {" ... "}" wrappers dropped) to $MIG_CONF.
lab_migration_conf_add() {
	printf '%s\n' "$@" | lab__conf24 >>"$MIG_CONF"
}

# lab_migrate_backup USER [DOVEADM-BACKUP-OPTIONS...]: one
# `doveadm -c $MIG_CONF backup -R -u USER imapc:` run; output appended to
# $LAB/migrate-USER.log; returns doveadm's exit code.
lab_migrate_backup() {
	local user=$1 rc=0
	shift
	local log="$LAB/migrate-$user.log"
	echo "=== $(date '+%F %T') doveadm backup -R -u $user $* imapc:" >>"$log"
	doveadm -c "$MIG_CONF" backup -R -u "$user" "$@" imapc: \
		</dev/null >>"$log" 2>&1 || rc=$?
	echo "=== exit $rc" >>"$log"
	return "$rc"
}

# --------------------------------------------------------------------------
# inspection

lab__conf() {
	case $1 in
	src) echo "${SRC_CONF:?source not started}" ;;
	dst) echo "${DST_CONF:?destination not started}" ;;
	mig) echo "${MIG_CONF:?no migration config}" ;;
	*)
		lab__err "unknown server '$1' (src|dst)"
		return 1
		;;
	esac
}

# lab_doveadm src|dst|mig ARGS...: doveadm against that config.
lab_doveadm() {
	local conf
	conf=$(lab__conf "$1") || return 1
	shift
	doveadm -c "$conf" "$@"
}

# lab_pop3_uidls src|dst USER: "msgnum uidl" lines over POP3.  The source
# is read through the master user, the destination with the user password.
lab_pop3_uidls() {
	local server=$1 user=$2 port login pw
	case $server in
	src)
		port=${SRC_POP3_PORT:?source not started}
		login="$user*$LAB_MASTER_USER"
		pw=$(lab_master_password)
		;;
	dst)
		port=${DST_POP3_PORT:?destination not started}
		login=$user
		pw=$(lab__user_password "$user") || {
			lab__err "lab_pop3_uidls: unknown user $user"
			return 1
		}
		;;
	*)
		lab__err "lab_pop3_uidls: unknown server '$server' (src|dst)"
		return 1
		;;
	esac
	POP3_PASSWORD=$pw python3 "$LAB_LIB_DIR/pop3-uidl.py" 127.0.0.1 \
		"$port" "$login" </dev/null
}

# lab_imap_count src|dst USER [MAILBOX]: number of messages in MAILBOX
# (default INBOX).
lab_imap_count() {
	local conf out
	conf=$(lab__conf "$1") || return 1
	out=$(doveadm -c "$conf" -f flow mailbox status -u "$2" messages \
		"${3:-INBOX}") || return 1
	out=$(sed -n 's/.*messages=\([0-9][0-9]*\).*/\1/p' <<<"$out")
	[ -n "$out" ] || return 1
	echo "$out"
}

# lab_verify_col FILE FOLDER RESULT COLUMN: COLUMN of the row of FOLDER with
# RESULT in `migrate verify -f tab` output (folder rows: ok, missing, extra,
# absent; message rows: missing, extra).
lab_verify_col() {
	python3 - "$@" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
head = lines[0].split("\t")
for line in lines[1:]:
    row = dict(zip(head, line.split("\t")))
    if row["folder"] == sys.argv[2] and row["result"] == sys.argv[3]:
        print(row[sys.argv[4]])
EOF
}

# lab_procs_at_once PATTERN: how many processes whose command line matches
# PATTERN (pgrep -f) run now, not counting one whose parent matches too: a
# process's own child between its fork and exec still has the parent's
# command line.
lab_procs_at_once() {
	local pids p pp n=0
	pids=" $(pgrep -f "$1" | tr '\n' ' ' || true)"
	for p in $pids; do
		pp=$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ' || true)
		[ -n "$pp" ] || continue
		case $pids in
		*" $pp "*) ;;
		*) n=$((n + 1)) ;;
		esac
	done
	echo $n
}

# lab_status_field USER FIELD: FIELD of USER's row in
# `doveadm -c $MIG_CONF -f json migrate status` ("none" if no row).
lab_status_field() {
	doveadm -c "${MIG_CONF:?no migration config}" -f json migrate status \
		-u "$1" 2>/dev/null |
		python3 -c 'import json, sys
rows = [r for r in json.load(sys.stdin) if r["user"] == sys.argv[1]]
print(rows[0][sys.argv[2]] if rows else "none")' "$1" "$2"
}

# lab_uidl_same USER: lab_uidl_compare of USER's POP3 UIDL lists on the
# source and the destination
lab_uidl_same() {
	lab_pop3_uidls src "$1" >"$LAB/uidl.src"
	lab_pop3_uidls dst "$1" >"$LAB/uidl.dst"
	lab_uidl_compare "$LAB/uidl.src" "$LAB/uidl.dst"
}

# lab_pop3_logins USER: POP3 logins of USER at the source so far
lab_pop3_logins() {
	grep -cE "pop3-login: Info: (Login|Logged in): user=<$1" "$SRC_LOG" || true
}

# lab_uidl_compare FILE_SRC FILE_DST: prints "matched total in-order"
# where matched counts positions whose "msgnum uidl" lines are identical,
# total is the source count, and in-order is yes when both lists are equal.
lab_uidl_compare() {
	python3 - "$1" "$2" <<'EOF'
import sys
a = open(sys.argv[1]).read().split("\n")
b = open(sys.argv[2]).read().split("\n")
a = [x for x in a if x]
b = [x for x in b if x]
matched = sum(1 for x, y in zip(a, b) if x == y)
print(matched, len(a), "yes" if a == b else "no")
EOF
}
