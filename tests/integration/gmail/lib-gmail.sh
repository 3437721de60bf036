# shellcheck shell=bash
# Gmail-like IMAP source for integration tests (hoodiecrow-imap + gmail-server.js).
#
# Source after tests/integration/lib.sh, which provides $LAB, lab_free_port and
# runs every function named in the LAB_CLEANUP array at exit. Without lib.sh
# this file sets up a private $LAB, a port picker and an EXIT trap itself.
#
#   lab_gmail_setup                           npm ci once (fast when installed)
#   lab_gmail_generate DIR [gen args...]      gen-gmail-account.py into DIR;
#                                             sets GMAIL_ACCOUNT GMAIL_MANIFEST
#   lab_gmail_start ACCOUNT_JSON USER PASSWORD
#                                             exports GMAIL_IMAP_HOST GMAIL_IMAP_PORT
#                                             GMAIL_LOG GMAIL_PID GMAIL_STATS GMAIL_STATE
#   lab_gmail_state                           rewrite $GMAIL_STATE (folders, UIDs,
#                                             X-GM-MSGIDs, flags, labels) now
#   lab_gmail_stop                            stop the server (idempotent)
#
# One server at a time per shell: lab_gmail_start stops a running one first.
# LAB_GMAIL_OAUTH2=FILE adds the server's OAuth2 token endpoint and logins
# (gmail-server.js --oauth2, see oauth2Start() there); LAB_GMAIL_SERVER_ARGS
# adds other options of gmail-server.js (e.g. --atom-labels).
# The server also exits by itself (--watch-pid $$) once the test script is
# gone, whatever happened to the EXIT trap.

GMAIL_LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Without lib.sh's Dovecot 2.4 translation (lab__conf24 and friends): 2.3
# configs as they are.
declare -F lab__conf24 >/dev/null || lab__conf24() { cat; }
declare -F lab__version_conf >/dev/null || lab__version_conf() { :; }
declare -F lab__mig_settings >/dev/null || lab__mig_settings() { cat; }

# With lib.sh, LAB_CLEANUP, the EXIT trap and $LAB are set up lazily (first
# generate or start), so that lab_init has run by then; without lib.sh, when
# this file is sourced.
_lab_gmail_prepare() {
	if ! declare -p LAB_CLEANUP >/dev/null 2>&1; then
		# This lib.sh does not run LAB_CLEANUP: run it before its EXIT trap.
		LAB_CLEANUP=()
		_lab_gmail_prev_exit=$(trap -p EXIT)
		if [ -n "$_lab_gmail_prev_exit" ]; then
			# "trap -- 'CMD' EXIT" -> CMD
			eval "_lab_gmail_prev_exit=( $_lab_gmail_prev_exit )"
			_lab_gmail_prev_exit=${_lab_gmail_prev_exit[2]}
		fi
		trap _lab_gmail_on_exit EXIT
	fi
	if [ -z "${LAB:-}" ]; then
		LAB=$(mktemp -d "${TMPDIR:-/tmp}/lab-gmail.XXXXXX") || return 1
		: >"$LAB/ports"
		export LAB
		LAB_CLEANUP+=(_lab_gmail_rm_lab)
	fi
}

_lab_gmail_on_exit() {
	local rc=$? f
	for f in "${LAB_CLEANUP[@]}"; do
		"$f" || :
	done
	LAB_CLEANUP=()
	if [ -n "${_lab_gmail_prev_exit:-}" ]; then
		(exit "$rc")
		eval "$_lab_gmail_prev_exit"
	fi
	exit "$rc"
}

_lab_gmail_rm_lab() {
	case ${LAB:-} in
	*/lab-gmail.?*) rm -rf -- "$LAB" ;;
	esac
}

# Without lib.sh, $LAB exists as soon as this file is sourced.
if [ -z "${LAB:-}" ] && ! declare -F lab_init >/dev/null; then
	_lab_gmail_prepare
fi

if ! declare -F lab_free_port >/dev/null; then
	# Fallback: let the kernel pick a free loopback port.
	lab_free_port() {
		python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
	}
fi

_lab_gmail_log() {
	echo "lab-gmail: $*" >&2
}

lab_gmail_setup() {
	local dir=$GMAIL_LAB_SRC
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		_lab_gmail_log "node and npm are required (apt-get install nodejs npm)"
		return 1
	fi
	if [ -f "$dir/node_modules/hoodiecrow-imap/package.json" ] &&
	   [ -f "$dir/node_modules/.package-lock.json" ] &&
	   [ ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
		return 0
	fi
	(cd "$dir" && npm ci --no-audit --no-fund --omit=optional --loglevel=error) >&2 || {
		_lab_gmail_log "npm ci failed in $dir"
		return 1
	}
}

lab_gmail_generate() {
	local dir=${1:?usage: lab_gmail_generate DIR [gen-gmail-account.py args]}
	shift
	_lab_gmail_prepare || return 1
	mkdir -p "$dir" || return 1
	GMAIL_ACCOUNT=$dir/account.json
	GMAIL_MANIFEST=$dir/manifest.json
	python3 "$GMAIL_LAB_SRC/gen-gmail-account.py" --out "$GMAIL_ACCOUNT" \
		--manifest "$GMAIL_MANIFEST" "$@" 2>"$dir/generate.log" || {
		_lab_gmail_log "gen-gmail-account.py failed:"
		cat "$dir/generate.log" >&2
		return 1
	}
	export GMAIL_ACCOUNT GMAIL_MANIFEST
}

lab_gmail_start() {
	local account=${1:?usage: lab_gmail_start ACCOUNT_JSON USER PASSWORD}
	local user=${2:?usage: lab_gmail_start ACCOUNT_JSON USER PASSWORD}
	local password=${3?usage: lab_gmail_start ACCOUNT_JSON USER PASSWORD}
	local dir port i pid

	[ -z "${GMAIL_PID:-}" ] || lab_gmail_stop
	_lab_gmail_prepare || return 1
	lab_gmail_setup || return 1
	dir=$(mktemp -d "$LAB/gmail-server.XXXXXX") || return 1

	for _ in 1 2 3; do
		port=$(lab_free_port) || return 1
		rm -f "$dir/ready"
		node "$GMAIL_LAB_SRC/gmail-server.js" --host 127.0.0.1 --port "$port" \
			--account "$account" --user "$user" --password "$password" \
			--ready-file "$dir/ready" --stats-file "$dir/stats.json" \
			--state-file "$dir/state.json" --watch-pid $$ \
			${LAB_GMAIL_OAUTH2:+--oauth2 "$LAB_GMAIL_OAUTH2"} \
			${LAB_GMAIL_SERVER_ARGS:-} \
			>"$dir/server.log" 2>&1 &
		pid=$!
		# Loading a large account takes a moment; 30 s covers 100k messages.
		for ((i = 0; i < 300; i++)); do
			[ -s "$dir/ready" ] && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if [ -s "$dir/ready" ]; then
			break
		fi
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null
		pid=
		# Somebody took the port between picking and binding: try another.
		grep -q EADDRINUSE "$dir/server.log" || break
	done
	if [ -z "$pid" ]; then
		_lab_gmail_log "gmail-server.js did not start; log $dir/server.log:"
		tail -n 20 "$dir/server.log" >&2
		return 1
	fi

	GMAIL_PID=$pid
	GMAIL_IMAP_HOST=127.0.0.1
	GMAIL_IMAP_PORT=$(sed -n 's/.* port=\([0-9]*\) .*/\1/p' "$dir/ready")
	GMAIL_LOG=$dir/server.log
	GMAIL_STATS=$dir/stats.json
	GMAIL_STATE=$dir/state.json
	export GMAIL_PID GMAIL_IMAP_HOST GMAIL_IMAP_PORT GMAIL_LOG GMAIL_STATS GMAIL_STATE
	case " ${LAB_CLEANUP[*]} " in
	*" lab_gmail_stop "*) ;;
	*) LAB_CLEANUP+=(lab_gmail_stop) ;;
	esac
}

lab_gmail_state() {
	local before i
	[ -n "${GMAIL_PID:-}" ] || return 1
	before=$(stat -c %Y.%s "$GMAIL_STATE" 2>/dev/null || echo none)
	rm -f "$GMAIL_STATE"
	kill -USR2 "$GMAIL_PID" || return 1
	for ((i = 0; i < 100; i++)); do
		[ -s "$GMAIL_STATE" ] && return 0
		sleep 0.05
	done
	_lab_gmail_log "no state dump from pid $GMAIL_PID (was $before)"
	return 1
}

lab_gmail_stop() {
	local pid=${GMAIL_PID:-} i
	[ -n "$pid" ] || return 0
	GMAIL_PID=
	if kill -TERM "$pid" 2>/dev/null; then
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# lab_gmail_migration_conf USER PASSWORD [PLUGINS...]: writes
# $LAB/gmail-migration.conf (mode 0600) for migrating from the running
# gmail-server.js into the lab destination, exports MIG_CONF. PLUGINS go into
# protocol doveadm { mail_plugins }; the doveadm migrate state goes to
# $LAB/state (or $LAB_MIG_STATE_DIR); $LAB_MIG_EXTRA_CONF is appended.
lab_gmail_migration_conf() {
	local user=$1 password=$2
	shift 2
	local plugins="$*"
	if [ -z "${DST_CONF:-}" ] || [ -z "${GMAIL_IMAP_PORT:-}" ]; then
		_lab_gmail_log "lab_gmail_migration_conf: start the destination and the Gmail server first"
		return 1
	fi
	MIG_CONF=$LAB/gmail-migration.conf
	export MIG_CONF
	(
		umask 077
		{
		# Dovecot 2.4: version lines first, the rest translated
		# (lib.sh: lab__conf24)
		lab__version_conf
		cat <<CONF
!include $DST_CONF
log_path = /dev/stderr
imapc_host = $GMAIL_IMAP_HOST
imapc_port = $GMAIL_IMAP_PORT
imapc_ssl = no
imapc_user = $user
imapc_password = $password
imapc_features = rfc822.size fetch-headers
imapc_cmd_timeout = 60s
dsync_features = empty-header-workaround
plugin {
CONF
		lab__mig_settings <<CONF
  migrate_state_dir = ${LAB_MIG_STATE_DIR:-$LAB/state}
CONF
		echo "}"
		if [ -n "$plugins" ]; then
			printf 'protocol doveadm {\n  mail_plugins = $mail_plugins %s\n}\n' \
				"$plugins"
		fi
		printf '%s\n' "${LAB_MIG_EXTRA_CONF:-}"
		} | lab__conf24 >"$MIG_CONF"
	)
}

# lab_gmail_stat KEY: one number from the server's traffic counters
# ($GMAIL_STATS, rewritten at every disconnect), e.g. bytes_out.
lab_gmail_stat() {
	python3 -c 'import json,sys
s=json.load(open(sys.argv[1]))
v=s
for k in sys.argv[2].split("."):
    v=v[k]
print(v)' "$GMAIL_STATS" "$1"
}
