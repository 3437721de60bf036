# shellcheck shell=bash
# lib-courier.sh - run Courier-IMAP + Courier POP3 (Debian bookworm/trixie packages) as a
# non-Dovecot migration source on 127.0.0.1, without installing them.
#
# Source it after tests/integration/lib.sh (it needs $LAB; lab_free_port and the
# LAB_CLEANUP array are used when lib.sh provides them):
#
#   . tests/integration/lib.sh
#   . tests/integration/lib-courier.sh
#   lab_courier_fetch                      # apt-get download + dpkg -x into a cache (once)
#   lab_courier_user_add alice secret      # userdb entry, Maildir under $LAB owned by dmvmail
#   lab_courier_deliver alice msg1.eml ... # or drop files into "$(lab_courier_maildir alice)/new"
#   lab_courier_start                      # exports COURIER_IMAP_PORT COURIER_POP3_PORT COURIER_LOG
#   ...
#   lab_courier_stop                       # also registered in LAB_CLEANUP
#
# Why not apt-get install: courier-imap/courier-pop conflict with dovecot-imapd/-pop3d
# (imap-server / pop3-server), apt would remove Dovecot. So the .debs are fetched with
# `apt-get download` and unpacked with `dpkg -x`. Courier has compiled-in paths
# (/etc/courier/authdaemonrc, /etc/courier/userdb.dat, /usr/lib/courier-authlib/*.so,
# /run/courier/authdaemon/socket); the daemons run in a private mount namespace
# (unshare -m, needs root) where /etc and /usr/lib get a read-only overlay adding only
# symlinks into $LAB / the cache, and /run is a bind mount of a directory under $LAB.
# Nothing outside $LAB and the cache directory is written.
#
# Mail store: Courier maildir++ (INBOX = ~/Maildir, folders ~/Maildir/.Name, separator "."
# under the "INBOX." namespace prefix). Courier keeps IMAP UIDs in courierimapuiddb and
# POP3 UIDLs in courierpop3dsizelist ("UID<n>-<uidv>", its own counter, not the IMAP UID).
#
# Dovecot imapc settings that work against it (checked with doveadm backup -R imapc:):
#   imapc_host=127.0.0.1 imapc_port=$COURIER_IMAP_PORT imapc_list_prefix=INBOX
#   namespace inbox { separator = / ; inbox = yes }   (an explicit separator is required)
# `lab_courier_imapc_settings USER PASSWORD` prints them as doveadm -o arguments.

: "${COURIER_CACHE:=/var/cache/dovecot-migrate-test/courier}"
: "${LAB_MAIL_USER:=dmvmail}"

# Packages downloaded (never installed), per Debian release (VERSION_CODENAME of
# /etc/os-release). The shared libraries that are already part of a Debian system with
# Dovecot (COURIER_OPT_PKGS) are downloaded too when they are missing.
#   bookworm  Courier 1.0.16 / authlib 0.71: libcourier-unicode4, libidn12, and gamin
#             (imapd's IDLE; gam_server found through GAMIN_DEBUG_SERVER)
#   trixie    Courier 1.4.1 / authlib 0.72 (and newer releases, until they differ):
#             libcourier-unicode8, libidn2, t64 library names, no gamin.
#             Compiled-in paths, config names and the binaries' places are the same.
_courier_codename=$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-}")
case $_courier_codename in
bookworm)
    COURIER_PKGS=(courier-imap courier-pop courier-base courier-authlib courier-authdaemon
                  courier-authlib-userdb libcourier-unicode4 libidn12 libgamin0 gamin)
    COURIER_OPT_PKGS=(libgdbm6 libltdl7 libpcre3 libgnutls30 libglib2.0-0 libcrypt1)
    ;;
*)
    COURIER_PKGS=(courier-imap courier-pop courier-base courier-authlib courier-authdaemon
                  courier-authlib-userdb libcourier-unicode8)
    COURIER_OPT_PKGS=(libidn2-0 libgdbm6t64 libltdl7 libpcre2-8-0 libgnutls30t64 libcrypt1)
    ;;
esac
unset _courier_codename

# helpers shared by the non-Dovecot servers
. "$(dirname "${BASH_SOURCE[0]}")/lib-nondovecot.sh"

_courier_root() { echo "$COURIER_CACHE/root"; }
_courier_dir() { echo "$LAB/courier"; }

# lab_courier_fetch: download + unpack the Courier packages into $COURIER_CACHE (reused
# across runs; fast and offline when cached). Returns non-zero with a message on failure.
lab_courier_fetch() {
    local want pkgs=("${COURIER_PKGS[@]}") p stamp="$COURIER_CACHE/.complete" tmp missing
    for p in "${COURIER_OPT_PKGS[@]}"; do _labnd_pkg_installed "$p" || pkgs+=("$p"); done
    want="${pkgs[*]}"
    if [[ -f $stamp && $(<"$stamp") == "$want" && -x $COURIER_CACHE/root/usr/bin/imapd ]]; then
        return 0
    fi
    mkdir -p "$COURIER_CACHE" || return 1
    (
        flock 8 || exit 1
        [[ -f $stamp && $(<"$stamp") == "$want" ]] && exit 0
        rm -rf "$COURIER_CACHE/debs" "$COURIER_CACHE/root.tmp"
        _labnd_apt_download "$COURIER_CACHE/debs" "${pkgs[@]}" || exit 1
        mkdir -p "$COURIER_CACHE/root.tmp"
        for p in "$COURIER_CACHE"/debs/*.deb; do dpkg -x "$p" "$COURIER_CACHE/root.tmp" || exit 1; done
        rm -rf "$COURIER_CACHE/root"
        mv "$COURIER_CACHE/root.tmp" "$COURIER_CACHE/root"
        echo "$want" >"$stamp"
    ) 8>"$COURIER_CACHE/.lock" || return 1
    # every binary must resolve its libraries from the system or the cache
    tmp=$(_courier_root)
    local -a gam=()   # gamin (bookworm only)
    [[ -e $tmp/usr/libexec/gam_server ]] && gam=("$tmp/usr/libexec/gam_server")
    missing=$(LD_LIBRARY_PATH="$tmp/usr/lib:$tmp/usr/lib/x86_64-linux-gnu" ldd \
        "$tmp/usr/bin/imapd" "$tmp/usr/sbin/couriertcpd" "$tmp/usr/lib/courier/courier/imaplogin" \
        "$tmp/usr/lib/courier/courier/courierpop3d" "$tmp/usr/lib/courier/courier/courierpop3login" \
        "$tmp/usr/lib/courier/courier-authlib/authdaemond" "$tmp/usr/lib/courier-authlib/libauthuserdb.so" \
        "$tmp/usr/lib/courier/courier-authlib/makedatprog" "${gam[@]}" 2>&1 | grep 'not found' | sort -u)
    if [[ -n $missing ]]; then
        echo "lab_courier_fetch: unresolved libraries:" >&2
        echo "$missing" >&2
        return 1
    fi
}

# _courier_rebuild_userdb: regenerate userdb.dat / userdbshadow.dat from $LAB/courier/userdb
_courier_rebuild_userdb() {
    local d mk line name fields f pub shadow
    d=$(_courier_dir)
    mk="$(_courier_root)/usr/lib/courier/courier-authlib/makedatprog"
    pub='' shadow=''
    while IFS=$'\t' read -r name fields; do
        [[ -z $name ]] && continue
        local -a nons=() sh=()
        IFS='|' read -r -a f <<<"$fields"
        for line in "${f[@]}"; do
            if [[ $line == *pw=* ]]; then sh+=("$line"); else nons+=("$line"); fi
        done
        nons+=("_=")
        pub+="$name"$'\t'"$(IFS='|'; echo "${nons[*]}")"$'\n'
        [[ ${#sh[@]} -gt 0 ]] && shadow+="$name"$'\t'"$(IFS='|'; echo "${sh[*]}")"$'\n'
    done <"$d/userdb"
    mkdir -p "$d/etc"
    printf '%s.\n' "$pub" | "$mk" - "$d/etc/userdb.tmp" "$d/etc/userdb.dat" || return 1
    printf '%s.\n' "$shadow" | "$mk" - "$d/etc/userdbshadow.tmp" "$d/etc/userdbshadow.dat" || return 1
    chmod 600 "$d/etc/userdbshadow.dat"
}

# lab_courier_user_add USER PASSWORD: create the user's Maildir ($LAB/courier/home/USER/Maildir,
# owned by $LAB_MAIL_USER) and its userdb entry. Works before or after lab_courier_start.
lab_courier_user_add() {
    local user=$1 pass=$2 d home uid gid hash
    [[ -n $user && -n $pass ]] || { echo "usage: lab_courier_user_add USER PASSWORD" >&2; return 2; }
    [[ $user == *[A-Z]* ]] && { echo "lab_courier_user_add: Courier userdb names must be lower case" >&2; return 2; }
    [[ -n ${LAB:-} && -d $LAB ]] || { echo "lab_courier_user_add: \$LAB is not set" >&2; return 1; }
    _labnd_ensure_user || return 1
    d=$(_courier_dir)
    home="$d/home/$user"
    uid=$(id -u "$LAB_MAIL_USER") gid=$(id -g "$LAB_MAIL_USER")
    mkdir -p "$home/Maildir/cur" "$home/Maildir/new" "$home/Maildir/tmp"
    chmod go+x "$LAB"; chmod 711 "$d" "$d/home"
    chown -R "$uid:$gid" "$home"
    chmod -R go-rwx "$home"
    hash=$(_labnd_crypt "$pass") || return 1
    touch "$d/userdb"
    chmod 600 "$d/userdb"
    awk -F '\t' -v u="$user" '$1 != u' "$d/userdb" >"$d/userdb.new"
    printf '%s\tuid=%s|gid=%s|home=%s|mail=%s|systempw=%s\n' \
        "$user" "$uid" "$gid" "$home" "$home/Maildir" "$hash" >>"$d/userdb.new"
    mv "$d/userdb.new" "$d/userdb"
    _courier_rebuild_userdb
}

# lab_courier_maildir USER: print the user's Maildir (INBOX); drop messages into its new/
# (then chown them to $LAB_MAIL_USER, or use lab_courier_deliver).
lab_courier_maildir() {
    echo "$(_courier_dir)/home/$1/Maildir"
}

# lab_courier_deliver USER FILE...: copy RFC 5322 files into the user's Maildir/new with
# increasing time-stamped names (Courier POP3 orders by the leading number of the name).
lab_courier_deliver() {
    local user=$1; shift
    _labnd_maildir_deliver "$(lab_courier_maildir "$user")" "$@"
}

# lab_courier_deliver_corpus USER COUNT SEED: COUNT generated messages
# (gen-corpus.py, in generation order) into the user's Courier INBOX.
lab_courier_deliver_corpus() {
    local user=$1 count=$2 seed=$3 out=$LAB/corpus-courier-$3 files
    python3 "$LAB_LIB_DIR/gen-corpus.py" --count "$count" --seed "$seed" \
        --out "$out" --quiet || return 1
    mapfile -t files < <(find "$out/cur" "$out/new" -type f -printf '%f %p\n' |
        sort | cut -d' ' -f2-)
    lab_courier_deliver "$user" "${files[@]}"
}

# lab_courier_migration_conf PASSWORD [PLUGINS...]: the lab's migration
# config (lab_migration_conf) pointed at Courier: the user's own password
# (Courier has no master user here) and imapc_list_prefix = INBOX.
lab_courier_migration_conf() {
    local pw=$1
    shift
    SRC_IMAP_PORT=$COURIER_IMAP_PORT SRC_POP3_PORT=$COURIER_POP3_PORT \
        lab_migration_conf "$@" || return 1
    lab_migration_conf_add \
        "imapc_master_user =" "imapc_password = $pw" \
        "pop3c_master_user =" "pop3c_password = $pw" \
        "imapc_list_prefix = INBOX"
}

if ! declare -F _labnd_maildir_deliver >/dev/null; then
# _labnd_maildir_deliver MAILDIR FILE...
_labnd_maildir_deliver() {
    local md=$1 f n base
    shift
    [[ -d $md/new ]] || { echo "no maildir $md" >&2; return 1; }
    base=${_LABND_DELIVER_SEQ:-0}
    for f in "$@"; do
        base=$((base + 1))
        n="$(( $(date +%s) - 86400 + base )).M${base}P$$.lab"
        install -m 600 -o "$LAB_MAIL_USER" -g "$(id -gn "$LAB_MAIL_USER")" "$f" "$md/tmp/$n" || return 1
        mv "$md/tmp/$n" "$md/new/$n"
    done
    _LABND_DELIVER_SEQ=$base
}
fi

# _courier_propagation: the --propagation of the supervisor's `unshare --mount`.
# "private" makes every copied mount private with mount(2) on "/", which fails (EINVAL)
# in a chroot whose root is no mount point (the Debian 13 root of
# scripts/dovecot24-root.sh). There the copied mounts are left "unchanged", which is
# safe only when the mount holding the chroot does not propagate (is not "shared"; else
# the overlays would appear outside). That mount is the parent of the chroot's own mounts
# (/proc ...), found in /proc/1/mountinfo when PID 1 shares our mount namespace (mount ids
# are unique across namespaces); fails (prints nothing) when it cannot tell.
_courier_propagation() {
    if unshare --mount --propagation private true 2>/dev/null; then
        echo private
        return 0
    fi
    python3 - <<'PY' || return 1
import sys
mine = [l.split() for l in open("/proc/self/mountinfo")]
pid1 = {f[0]: f for f in (l.split() for l in open("/proc/1/mountinfo"))}
ids = {f[0] for f in mine}
holders = {f[1] for f in mine if f[1] not in ids}
if not mine or any(f[0] not in pid1 for f in mine) or any(h not in pid1 for h in holders):
    sys.exit(1)
for h in holders:
    f = pid1[h]
    if any(o.startswith("shared:") for o in f[6:f.index("-")]):
        sys.exit(1)
PY
    echo unchanged
}

# lab_courier_start: start authdaemond, IMAP and POP3 (couriertcpd) on free 127.0.0.1 ports.
# Exports COURIER_IMAP_PORT COURIER_POP3_PORT COURIER_LOG.
lab_courier_start() {
    local d root tag imap_port pop3_port ld prop tcpdopts
    [[ -n ${LAB:-} && -d $LAB ]] || { echo "lab_courier_start: \$LAB is not set" >&2; return 1; }
    lab_courier_fetch || return 1
    _labnd_ensure_user || return 1
    command -v unshare >/dev/null || { echo "lab_courier_start: unshare (util-linux) missing" >&2; return 1; }
    COURIER_LOG="$(_courier_dir)/courier.log"
    prop=$(_courier_propagation) || {
        echo "lab_courier_start: in a chroot on a shared mount (mount --make-private the root's mount)" >&2
        return 1
    }
    d=$(_courier_dir) root=$(_courier_root)
    if [[ -f $d/supervisor.pid ]] && kill -0 "$(<"$d/supervisor.pid")" 2>/dev/null; then
        echo "lab_courier_start: already running" >&2; return 1
    fi
    mkdir -p "$d/etc" "$d/run" "$d/home" "$d/ovl-etc" "$d/ovl-usrlib"
    chmod go+x "$LAB"; chmod 711 "$d" "$d/home"
    [[ -f $d/userdb ]] || { touch "$d/userdb"; chmod 600 "$d/userdb"; _courier_rebuild_userdb || return 1; }
    # overlay layers: only symlinks, so later userdb rebuilds are seen at once
    ln -sfn "$d/etc" "$d/ovl-etc/courier"
    ln -sfn "$root/usr/lib/courier-authlib" "$d/ovl-usrlib/courier-authlib"
    ln -sfn "$root/usr/lib/courier" "$d/ovl-usrlib/courier"
    cat >"$d/etc/authdaemonrc" <<'EOF'
authmodulelist="authuserdb"
authmodulelistorig="authuserdb"
daemons=3
authdaemonvar=/run/courier/authdaemon
DEBUG_LOGIN=0
DEFAULTOPTIONS=""
LOGGEROPTS=""
EOF
    imap_port=$(_labnd_free_port) || return 1
    pop3_port=$(_labnd_free_port) || return 1
    while [[ $pop3_port == "$imap_port" ]]; do pop3_port=$(_labnd_free_port); done
    # couriertcpd 1.4 (trixie) has no ident lookups left, nor the -noidentlookup option
    tcpdopts=
    grep -qa noidentlookup "$root/usr/sbin/couriertcpd" && tcpdopts=-noidentlookup
    tag="courier-$$-$RANDOM$RANDOM"
    ld="$root/usr/lib:$root/usr/lib/x86_64-linux-gnu"
    COURIER_LOG="$d/courier.log"
    : >"$COURIER_LOG"
    # The supervisor runs inside the mount namespace; everything it starts carries DMV_LAB_TAG.
    cat >"$d/supervisor.sh" <<EOF
#!/bin/sh
# generated by lib-courier.sh
echo \$\$ >"$d/supervisor.pid"
mount -t overlay overlay -o "lowerdir=$d/ovl-etc:/etc" /etc || exit 71
mount -t overlay overlay -o "lowerdir=$d/ovl-usrlib:/usr/lib" /usr/lib || exit 71
mount --bind "$d/run" /run || exit 71
mkdir -p /run/courier/authdaemon
children=
trap 'kill -TERM \$children 2>/dev/null; wait; exit 0' TERM INT HUP
base="DMV_LAB_TAG=$tag PATH=/usr/bin:/bin:/usr/sbin:/sbin LD_LIBRARY_PATH=$ld"
env -i \$base $root/usr/lib/courier/courier-authlib/authdaemond &
children="\$children \$!"
i=0; while [ ! -S /run/courier/authdaemon/socket ] && [ \$i -lt 100 ]; do sleep 0.05; i=\$((i+1)); done
env -i \$base \\
    GAMIN_DEBUG_SERVER=$root/usr/libexec/gam_server \\
    IMAP_CAPABILITY="IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE" \\
    IMAP_KEYWORDS=1 IMAP_ACL=1 IMAP_IDLE_TIMEOUT=60 IMAP_MAILBOX_SANITY_CHECK=1 IMAP_DISABLETHREADSORT=0 \\
    IMAP_CHECK_ALL_FOLDERS=0 IMAP_OBSOLETE_CLIENT=0 IMAP_UMASK=022 IMAP_USELOCKS=1 IMAP_ENHANCEDIDLE=0 \\
    IMAP_TRASHFOLDERNAME=Trash IMAP_EMPTYTRASH=Trash:7 IMAP_MOVE_EXPUNGE_TO_TRASH=0 IMAP_PROXY=0 \\
    HEADERFROM=X-IMAP-Sender \\
    $root/usr/sbin/couriertcpd -address=127.0.0.1 -nodnslookup $tcpdopts -maxprocs=40 -maxperip=40 \\
        $imap_port $root/usr/lib/courier/courier/imaplogin $root/usr/bin/imapd Maildir &
children="\$children \$!"
env -i \$base POP3AUTH="" POP3_PROXY=0 MIME_UNICODE_MESSAGE_TYPE=message/global \\
    $root/usr/sbin/couriertcpd -address=127.0.0.1 -nodnslookup $tcpdopts -maxprocs=40 -maxperip=40 \\
        $pop3_port $root/usr/lib/courier/courier/courierpop3login $root/usr/lib/courier/courier/courierpop3d Maildir &
children="\$children \$!"
echo "\$children" >"$d/children.pids"
wait
EOF
    echo "$tag" >"$d/tag"
    setsid unshare --mount --propagation "$prop" /bin/sh "$d/supervisor.sh" \
        </dev/null >>"$COURIER_LOG" 2>&1 &
    if ! _labnd_wait_banner "$imap_port" '^\* OK .*Courier-IMAP' 15 ||
       ! _labnd_wait_banner "$pop3_port" '^\+OK' 15; then
        echo "lab_courier_start: Courier did not come up; log $COURIER_LOG:" >&2
        tail -n 20 "$COURIER_LOG" >&2
        lab_courier_stop
        return 1
    fi
    COURIER_IMAP_PORT=$imap_port
    COURIER_POP3_PORT=$pop3_port
    export COURIER_IMAP_PORT COURIER_POP3_PORT COURIER_LOG
    return 0
}

# lab_courier_imapc_settings USER PASSWORD: doveadm -o arguments for an imapc: source
lab_courier_imapc_settings() {
    printf '%s\n' -o imapc_host=127.0.0.1 -o "imapc_port=$COURIER_IMAP_PORT" -o "imapc_user=$1" \
        -o "imapc_password=$2" -o imapc_list_prefix=INBOX -o imapc_features=rfc822.size \
        -o pop3c_host=127.0.0.1 -o "pop3c_port=$COURIER_POP3_PORT" -o "pop3c_user=$1" -o "pop3c_password=$2"
}

# lab_courier_stop: stop every process lab_courier_start started (idempotent)
lab_courier_stop() {
    local d pid i
    [[ -n ${LAB:-} ]] || return 0
    d=$(_courier_dir)
    [[ -d $d ]] || return 0
    if [[ -f $d/supervisor.pid ]]; then
        pid=$(<"$d/supervisor.pid")
        if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null
            for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null
        fi
        rm -f "$d/supervisor.pid"
    fi
    # couriertcpd, imapd/pop3d sessions, authdaemond children and gam_server
    [[ -f $d/tag ]] && _labnd_kill_tagged "$(<"$d/tag")"
    unset COURIER_IMAP_PORT COURIER_POP3_PORT
    return 0
}

declare -p LAB_CLEANUP >/dev/null 2>&1 || LAB_CLEANUP=()
LAB_CLEANUP+=(lab_courier_stop)
