#!/bin/bash
# standalone-backup.sh: a plain `doveadm backup -R imapc:` from a running
# gmail-server.js into a throwaway sdbox, without a running Dovecot.
#
#   standalone-backup.sh --port P --dir DIR [--user U] [--password PW]
#                        [--features "gmail-migration ..."] [--conf-line LINE]...
#                        [--run-as USER] [-- DOVEADM-BACKUP-ARGS...]
#
# --conf-line adds a raw dovecot.conf line; quote values with "$" in them
# (pop3_deleted_flag = "$POPDeleted"), dovecot.conf expands a bare $.
# DIR gets dovecot.conf, passwd, home/ (destination sdbox:~/mail) and
# rawlog/ (imapc_rawlog_dir). Prints "<folder> messages=N vsize=N" per
# destination folder, then "total messages=N". Rerun with the same DIR for an
# incremental pass. Extra backup args go after "--", e.g. "-- imapc:~/imapc"
# to keep imapc's index on disk (then imapc asks All Mail for
# "UID FETCH 1:* (FLAGS X-GM-MSGID X-GM-LABELS)").
#
# doveadm -u needs a running Dovecot's auth socket, so this runs doveadm for
# the local user (USER/HOME set, no -u) as a non-root user (default nobody;
# DOVECOT-NOTES F). Exit status is doveadm's.
set -u

port='' dir='' user=alice@gmail.example password=secret run_as=nobody
features="gmail-migration"
conf_lines=()
while [ $# -gt 0 ]; do
	case $1 in
	--port) port=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--user) user=$2; shift 2 ;;
	--password) password=$2; shift 2 ;;
	--features) features=$2; shift 2 ;;
	--conf-line) conf_lines+=("$2"); shift 2 ;;
	--run-as) run_as=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "usage: $0 --port P --dir DIR [--user U] [--password PW] [--features F] [--conf-line L]... [--run-as USER] [-- ARGS]" >&2
	   exit 64 ;;
	esac
done
if [ -z "$port" ] || [ -z "$dir" ]; then
	echo "$0: --port and --dir are required" >&2
	exit 64
fi
backup_args=("$@")
[ ${#backup_args[@]} -gt 0 ] || backup_args=(imapc:)

uid=$(id -u "$run_as") && gid=$(id -g "$run_as") || exit 1
mkdir -p "$dir/home" "$dir/rawlog" "$dir/run"
dir=$(cd "$dir" && pwd)
cat >"$dir/dovecot.conf" <<EOF
# throwaway destination for tests/integration/gmail/standalone-backup.sh
instance_name = gmail-standalone-${dir//\//-}
base_dir = $dir/run
state_dir = $dir/run
protocols =
ssl = no
mail_location = sdbox:~/mail
mail_uid = $uid
mail_gid = $gid
first_valid_uid = 1
first_valid_gid = 1
passdb {
  driver = passwd-file
  args = $dir/passwd
}
userdb {
  driver = passwd-file
  args = $dir/passwd
}
namespace inbox {
  inbox = yes
  separator = /
}
imapc_host = 127.0.0.1
imapc_port = $port
imapc_user = $user
imapc_password = $password
imapc_features = $features
imapc_rawlog_dir = $dir/rawlog
dsync_features = empty-header-workaround
EOF
for l in "${conf_lines[@]}"; do
	echo "$l" >>"$dir/dovecot.conf"
done
echo "migrated:{PLAIN}unused:$uid:$gid::$dir/home" >"$dir/passwd"
chown "$uid:$gid" "$dir/dovecot.conf" "$dir/passwd"
chmod 0600 "$dir/dovecot.conf" "$dir/passwd"
chown -R "$uid:$gid" "$dir/home" "$dir/rawlog" "$dir/run"

da() {
	env -u USER USER=migrated HOME="$dir/home" \
		setpriv --reuid="$uid" --regid="$gid" --clear-groups \
		doveadm -c "$dir/dovecot.conf" "$@"
}

rc=0
da backup -R "${backup_args[@]}" || rc=$?
da mailbox status 'messages vsize' '*' 2>/dev/null | sort
da mailbox status -t messages '*' 2>/dev/null | sed 's/^/total /'
exit "$rc"
