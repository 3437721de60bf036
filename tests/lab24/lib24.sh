# shellcheck shell=bash disable=SC2088
# Shared helpers for the Dovecot 2.4 defect lab (sourced by the t-*.sh here).
# The Dovecot 2.4 root (a Debian trixie chroot with dovecot-core, -imapd,
# -pop3d) comes from DOVECOT24_ROOT. Every server listens on 127.0.0.1 on a
# random free high port, runs out of a temp dir inside the root and is
# stopped on exit (by its own master pid only).
#
# LAB_DOVECOT=2.3 runs the same scenario on the host's own Dovecot 2.3
# instead (2.3 config syntax, no chroot), for an A/B comparison.
set -uo pipefail
LAB_DOVECOT=${LAB_DOVECOT:-2.4}
if [ "$LAB_DOVECOT" = 2.3 ]; then
	ROOT=/
	W=$(mktemp -d /tmp/g23-XXXXXX)
	IW=$W
else
	ROOT=${DOVECOT24_ROOT:-/var/cache/dovecot-migrate/trixie}
	[ -x "$ROOT/usr/sbin/dovecot" ] || { echo "no Dovecot in $ROOT" >&2; exit 77; }
	mkdir -p "$ROOT/tmp"
	W=$(mktemp -d "$ROOT/tmp/g24-XXXXXX")
	IW=${W#"$ROOT"}			# the same dir as seen inside the root
fi
chmod 755 "$W"
echo "# Dovecot $(chroot "$ROOT" dovecot --version)"
MUID=65534 MGID=65534		# mail owner: nobody/nogroup of the root
PASS=secret
MASTERS=()

inroot() { chroot "$ROOT" "$@"; }

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		ss -ltnH "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}

cleanup() {
	local pidf pid
	for pidf in "${MASTERS[@]}"; do
		pid=$(cat "$pidf" 2>/dev/null) || continue
		kill "$pid" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.3
		done
		kill -9 "$pid" 2>/dev/null
	done
	[ -n "${KEEP:-}" ] && { echo "kept $W" >&2; return; }
	rm -rf "$W"
}
trap cleanup EXIT

# the inbox namespace and the IMAP and POP3 listeners: the same on 2.3 and 2.4
listeners_conf() {	# listeners_conf IMAP_PORT POP3_PORT
	cat <<CONF
namespace inbox {
  inbox = yes
  separator = /
}
service imap-login {
  inet_listener imap {
    port = $1
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $2
  }
  inet_listener pop3s {
    port = 0
  }
}
CONF
}

# server_conf NAME DRIVER PATH [EXTRA...] -> $W/NAME.conf, ports in
# ${NAME}_IMAP / ${NAME}_POP3 (users from $W/NAME.passwd)
server_conf() {
	local n=$1 driver=$2 path=$3; shift 3
	local imap pop3 fmt='%{uidvalidity | hex}%{uid | hex(8)}'
	[ -n "${UIDL_FMT:-}" ] && fmt=$UIDL_FMT
	imap=$(free_port); pop3=$(free_port)
	printf -v "${n}_IMAP" %s "$imap"; printf -v "${n}_POP3" %s "$pop3"
	mkdir -p "$W/$n/run" "$W/$n/home"
	: >"$W/$n.passwd"
	if [ "$LAB_DOVECOT" = 2.3 ]; then
		server_conf23 "$n" "$driver" "$path" "$imap" "$pop3" "$@"
		return
	fi
	cat >"$W/$n.conf" <<CONF
dovecot_config_version = 2.4.1
dovecot_storage_version = 2.4.1
base_dir = $IW/$n/run
state_dir = $IW/$n/state
log_path = $IW/$n.log
instance_name = g24-$n-$$
protocols = imap pop3
listen = 127.0.0.1
ssl = no
auth_allow_cleartext = yes
auth_mechanisms = plain login
first_valid_uid = 100
mail_driver = $driver
mail_path = $path
mail_home = $IW/$n/home/%{user}
passdb passwd-file {
  passwd_file_path = $IW/$n.passwd
}
userdb passwd-file {
  passwd_file_path = $IW/$n.passwd
}
$(listeners_conf "$imap" "$pop3")
service stats {
  inet_listener http {
    port = 0
  }
}
pop3_uidl_format = $fmt
CONF
	local l; for l in "$@"; do printf '%s\n' "$l" >>"$W/$n.conf"; done
}

server_conf23() {
	local n=$1 driver=$2 path=$3 imap=$4 pop3=$5 fmt='%v%08u'; shift 5
	[ -n "${UIDL_FMT:-}" ] && fmt=$UIDL_FMT23
	cat >"$W/$n.conf" <<CONF
base_dir = $IW/$n/run
state_dir = $IW/$n/state
log_path = $IW/$n.log
instance_name = g23-$n-$$
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 100
mail_location = $driver:$path
mail_home = $IW/$n/home/%u
passdb {
  driver = passwd-file
  args = $IW/$n.passwd
}
userdb {
  driver = passwd-file
  args = $IW/$n.passwd
}
$(listeners_conf "$imap" "$pop3")
pop3_uidl_format = $fmt
CONF
	local l; for l in "$@"; do
		printf '%s\n' "$l" >>"$W/$n.conf"
	done
}

user_add() {	# user_add NAME USER
	echo "$2:{PLAIN}$PASS:$MUID:$MGID::$IW/$1/home/$2" >>"$W/$1.passwd"
	mkdir -p "$W/$1/home/$2"; chown -R "$MUID:$MGID" "$W/$1/home"
}

server_start() {	# server_start NAME
	inroot dovecot -c "$IW/$1.conf" || { cat "$W/$1.log"; return 1; }
	MASTERS+=("$W/$1/run/master.pid")
	local port; port=$(eval echo "\$${1}_IMAP")
	for _ in $(seq 50); do
		ss -ltnH "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	echo "server $1 did not listen on $port" >&2; return 1
}

dadm() {	# dadm NAME ARGS... : doveadm with NAME's config, inside the root
	local n=$1; shift		# (killed after DADM_TIMEOUT s, default 300)
	timeout -k 5 "${DADM_TIMEOUT:-300}" chroot "$ROOT" doveadm -c "$IW/$n.conf" "$@"
}

# maildir_msgs USER-HOME-DIR COUNT TAG [FOLDER]: COUNT plain messages
maildir_msgs() {
	local md=$1/Maildir n=$2 tag=$3 f=${4:-} i t
	[ -n "$f" ] && md="$md/.$f"
	mkdir -p "$md/new" "$md/cur" "$md/tmp"
	t=$(date +%s)
	for i in $(seq "$n"); do
		printf 'From: s%s@example.org\r\nTo: u@example.com\r\nSubject: %s message %s\r\nDate: Mon, 2 Jan 2023 10:%02d:00 +0000\r\nMessage-ID: <%s.%s@lab24>\r\n\r\nbody %s %s %s\r\n' \
			"$i" "$tag" "$i" $((i % 60)) "$tag" "$i" "$tag" "$i" "$RANDOM" \
			>"$md/new/$t.$tag$i.lab24"
	done
	chown -R "$MUID:$MGID" "$1"
}

# count POP3 UIDLs over POP3 (python3 on the host, the network is shared)
pop3_uidl_count() {	# pop3_uidl_count PORT USER
	python3 - "$1" "$2" "$PASS" <<'PY'
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=30)
p.user(sys.argv[2]); p.pass_(sys.argv[3])
print(len(p.uidl()[1])); p.quit()
PY
}

# the pop3_migration settings for a destination (doveadm only), source POP3
# on PORT
# $W/NAME-view.conf is the same config without pop3_migration, to read
# what the destination itself stores and serves
pop3_migration_conf() {	# pop3_migration_conf NAME SRC-POP3-PORT
	cp "$W/$1.conf" "$W/$1-view.conf"
	if [ "$LAB_DOVECOT" = 2.3 ]; then
		cat >>"$W/$1.conf" <<CONF
imapc_host = 127.0.0.1
imapc_password = $PASS
imapc_features = rfc822.size fetch-headers
pop3c_host = 127.0.0.1
pop3c_port = $2
pop3c_password = $PASS
plugin {
  pop3_migration_mailbox = POP3-MIGRATION-NS/INBOX
}
namespace pop3c {
  prefix = POP3-MIGRATION-NS/
  separator = /
  location = pop3c:
  inbox = no
  list = no
  hidden = yes
}
protocol doveadm {
  mail_plugins = \$mail_plugins pop3_migration
}
CONF
		return
	fi
	cat >>"$W/$1.conf" <<CONF
imapc_host = 127.0.0.1
imapc_password = $PASS
pop3c_host = 127.0.0.1
pop3c_port = $2
pop3c_password = $PASS
pop3_migration_mailbox = POP3-MIGRATION-NS/INBOX
protocol doveadm {
  mail_plugins {
    pop3_migration = yes
  }
  namespace pop3c {
    prefix = POP3-MIGRATION-NS/
    separator = /
    mail_driver = pop3c
    mail_path =
    inbox = no
    list = no
    hidden = yes
  }
}
CONF
}

# POP3 UIDL lists, "N UIDL" lines
pop3_uidls() {	# pop3_uidls PORT USER
	python3 - "$1" "$2" "$PASS" <<'PY'
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=30)
p.user(sys.argv[2]); p.pass_(sys.argv[3])
for l in p.uidl()[1]:
    print(l.decode())
p.quit()
PY
}
