# shellcheck shell=bash
# lib-mailutils.sh - run GNU Mailutils imap4d + pop3d (Debian packages mailutils-imap4d,
# mailutils-pop3d; they install beside Dovecot without removing anything) as a non-Dovecot
# migration source on 127.0.0.1.
#
# Source it after tests/integration/lib.sh (needs $LAB; uses lab_free_port / LAB_CLEANUP
# when lib.sh provides them):
#
#   lab_mailutils_fetch                        # apt-get install the two daemons if missing
#   lab_mailutils_user_add alice secret        # INBOX = maildir (default) ...
#   lab_mailutils_user_add bob secret mbox     # ... or an mbox file
#   lab_mailutils_deliver alice msg.eml ...    # maildir new/ or mbox append (From_ line)
#   lab_mailutils_start [maildir|mbox]         # exports MU_IMAP_PORT MU_POP3_PORT MU_LOG MU_FORMAT
#   login name: "$(lab_mailutils_login alice)" = alice@mu.test
#   lab_mailutils_stop                         # also registered in LAB_CLEANUP
#
# How it runs: `imap4d|pop3d --config-file=F` (mode daemon, foreground, one `server
# 127.0.0.1:PORT { tls-mode false; }`), authorization `virtdomain` (passwd(5)-format file
# $LAB/mailutils/pw/mu.test, crypt(3) SHA-512 password, so logins are user@mu.test) and
# authentication `generic`. virtdomain never switches uid (change_uid=0), so the daemons
# themselves run as $LAB_MAIL_USER with primary group "mail" (pop3d exits when it cannot
# setgid(mail): "error setting mail group: Operation not permitted"). The mailbox format is
# per daemon pair (mailbox-type maildir|mbox): the INBOX path virtdomain hands out
# (HOME/INBOX) carries no scheme and autodetection does not pick maildir.
#
# Things a migration test must know (observed with 3.15):
# - POP3 UIDL = "<md5 of the message>.<time()>.<mailutils uid>" (mu_message_get_uidl), unless
#   the message has an X-UIDL header already. pop3d adds "X-UIDL: <that value>" to the header
#   at once (TOP in the same session shows it, LIST sizes of later sessions include it) and
#   rewrites every message file when the session ends (QUIT or just EOF, as Dovecot's pop3c
#   does). Before the first POP3 session IMAP shows no X-UIDL; afterwards it does. On a maildir
#   the uid part need not be the IMAP UID (first message "....21" while IMAP says UID 1).
# - That rewrite under an open imap4d session (maildir) makes imap4d hang on UID FETCH: the
#   built-in pop3_migration (IMAP session open while pop3c ends) gets "timed out -
#   reconnecting" and "Remote didn't send mail UID=22..." and dsync exits 75.
# - mbox: imap4d/pop3d write X-IMAPbase (first message), X-UID and Status headers into the
#   mbox; both IMAP and POP3 show them once written.

: "${LAB_MAIL_USER:=dmvmail}"
: "${MU_DOMAIN:=mu.test}"

# helpers shared by the non-Dovecot servers
. "$(dirname "${BASH_SOURCE[0]}")/lib-nondovecot.sh"

_mu_dir() { echo "$LAB/mailutils"; }

# lab_mailutils_fetch: make sure imap4d and pop3d (mailutils-imap4d, mailutils-pop3d) are
# installed; installs them with apt-get only if that removes no package.
lab_mailutils_fetch() {
    local pkgs=(mailutils-imap4d mailutils-pop3d) sim
    if _labnd_pkg_installed mailutils-imap4d && _labnd_pkg_installed mailutils-pop3d &&
       [[ -x /usr/sbin/imap4d && -x /usr/sbin/pop3d ]]; then
        return 0
    fi
    sim=$(apt-get -s install --no-install-recommends "${pkgs[@]}" 2>&1) || {
        apt-get -q update >/dev/null 2>&1 || true
        sim=$(apt-get -s install --no-install-recommends "${pkgs[@]}" 2>&1) || {
            echo "lab_mailutils_fetch: apt-get -s install failed:" >&2; echo "$sim" >&2; return 1; }
    }
    if grep -q '^Remv' <<<"$sim"; then
        echo "lab_mailutils_fetch: refusing, installing ${pkgs[*]} would remove:" >&2
        grep '^Remv' <<<"$sim" >&2
        return 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get -q -y install --no-install-recommends "${pkgs[@]}" \
        >"${LAB:-/tmp}/mailutils-install.log" 2>&1 || {
        echo "lab_mailutils_fetch: apt-get install failed, see ${LAB:-/tmp}/mailutils-install.log" >&2
        return 1; }
    # the packages ship systemd units; make sure no system-wide instance is left running
    if [[ -d /run/systemd/system ]]; then
        systemctl disable --now mailutils-imap4d.service mailutils-pop3d.service >/dev/null 2>&1 || true
    fi
    return 0
}

# lab_mailutils_login USER: the login name the daemons accept (USER@$MU_DOMAIN)
lab_mailutils_login() { echo "$1@$MU_DOMAIN"; }

# lab_mailutils_user_add USER PASSWORD [maildir|mbox]: home $LAB/mailutils/home/USER with
# INBOX as a maildir (default) or an empty mbox file; entry in the virtdomain passwd file.
lab_mailutils_user_add() {
    local user=$1 pass=$2 fmt=${3:-maildir} d home uid gid hash
    [[ -n $user && -n $pass ]] || { echo "usage: lab_mailutils_user_add USER PASSWORD [maildir|mbox]" >&2; return 2; }
    [[ -n ${LAB:-} && -d $LAB ]] || { echo "lab_mailutils_user_add: \$LAB is not set" >&2; return 1; }
    _labnd_ensure_user || return 1
    d=$(_mu_dir)
    home="$d/home/$user"
    uid=$(id -u "$LAB_MAIL_USER")
    gid=$(getent group mail | cut -d: -f3)
    mkdir -p "$d/pw" "$home"
    chmod go+x "$LAB"; chmod 711 "$d" "$d/home"
    chmod 755 "$d/pw"
    case $fmt in
    maildir) mkdir -p "$home/INBOX/cur" "$home/INBOX/new" "$home/INBOX/tmp" ;;
    mbox) [[ -e $home/INBOX ]] || : >"$home/INBOX" ;;
    *) echo "lab_mailutils_user_add: format must be maildir or mbox" >&2; return 2 ;;
    esac
    chown -R "$uid:$gid" "$home"
    chmod 700 "$home"
    hash=$(_labnd_crypt "$pass") || return 1
    touch "$d/pw/$MU_DOMAIN"
    awk -F: -v u="$user" '$1 != u' "$d/pw/$MU_DOMAIN" >"$d/pw/$MU_DOMAIN.new"
    printf '%s:%s:%s:%s::%s:/usr/sbin/nologin\n' "$user" "$hash" "$uid" "$gid" "$home" >>"$d/pw/$MU_DOMAIN.new"
    mv "$d/pw/$MU_DOMAIN.new" "$d/pw/$MU_DOMAIN"
    chmod 644 "$d/pw/$MU_DOMAIN"
}

# lab_mailutils_maildir USER: the user's INBOX (a maildir for maildir users, a file for mbox)
lab_mailutils_maildir() { echo "$(_mu_dir)/home/$1/INBOX"; }
lab_mailutils_mbox() { lab_mailutils_maildir "$1"; }

# lab_mailutils_deliver USER FILE...: into INBOX/new (maildir) or appended to the mbox with a
# "From " separator line (">From " quoting of body lines). CRLF line ends are turned into LF
# in both cases: mailutils 3.15 cannot parse a CRLF maildir file (IMAP shows it as a 2-byte
# message with an empty header, POP3 UIDL = md5("\n")...) and its first POP3 session then
# rewrites the file as just "X-UIDL: ...": the message body is lost. Real mailutils
# deliveries are LF-only.
lab_mailutils_deliver() {
    local user=$1 inbox f tmpd rc
    shift
    inbox=$(lab_mailutils_maildir "$user")
    if [[ -d $inbox ]]; then
        tmpd=$(mktemp -d "$LAB/.mu-deliver.XXXXXX") || return 1
        local -a lf=()
        for f in "$@"; do
            lf+=("$tmpd/${#lf[@]}")
            sed -e 's/\r$//' "$f" >"$tmpd/$((${#lf[@]} - 1))" || { rm -rf "$tmpd"; return 1; }
        done
        rc=0
        _labnd_maildir_deliver "$inbox" "${lf[@]}" || rc=$?
        rm -rf "$tmpd"
        return $rc
    fi
    [[ -f $inbox ]] || { echo "lab_mailutils_deliver: no INBOX for $user" >&2; return 1; }
    for f in "$@"; do
        {
            printf 'From MAILER-DAEMON %s\n' "$(LC_ALL=C date -u '+%a %b %e %H:%M:%S %Y')"
            sed -e 's/\r$//' -e 's/^\(>*From \)/>\1/' "$f"
            [[ -n $(tail -c1 "$f") ]] && echo
            echo
        } >>"$inbox"
    done
    chown "$(id -u "$LAB_MAIL_USER"):$(getent group mail | cut -d: -f3)" "$inbox"
}

# lab_mailutils_start [maildir|mbox]: start imap4d + pop3d for that mailbox format on free
# 127.0.0.1 ports. Exports MU_IMAP_PORT MU_POP3_PORT MU_LOG MU_FORMAT. May be called once per
# format (the variables describe the pair started last; MU_<FORMAT>_IMAP_PORT/_POP3_PORT too).
lab_mailutils_start() {
    local fmt=${1:-maildir} d inst tag imap_port pop3_port prog port
    [[ -n ${LAB:-} && -d $LAB ]] || { echo "lab_mailutils_start: \$LAB is not set" >&2; return 1; }
    [[ $fmt == maildir || $fmt == mbox ]] || { echo "lab_mailutils_start: maildir or mbox" >&2; return 2; }
    lab_mailutils_fetch || return 1
    _labnd_ensure_user || return 1
    d=$(_mu_dir) inst="$(_mu_dir)/$fmt"
    mkdir -p "$inst" "$d/pw" "$d/home"
    chmod go+x "$LAB"; chmod 711 "$d" "$d/home"
    [[ -f $d/pw/$MU_DOMAIN ]] || : >"$d/pw/$MU_DOMAIN"
    if [[ -f $inst/tag ]] && [[ -n $(_labnd_tagged_pids "$(<"$inst/tag")") ]]; then
        echo "lab_mailutils_start: $fmt instance already running" >&2; return 1
    fi
    imap_port=$(_labnd_free_port) || return 1
    pop3_port=$(_labnd_free_port) || return 1
    while [[ $pop3_port == "$imap_port" ]]; do pop3_port=$(_labnd_free_port); done
    tag="mailutils-$fmt-$$-$RANDOM$RANDOM"
    echo "$tag" >"$inst/tag"
    MU_LOG="$inst/mailutils.log"
    : >"$MU_LOG"
    chmod 666 "$MU_LOG"
    for prog in imap4d pop3d; do
        port=$imap_port
        [[ $prog == pop3d ]] && port=$pop3_port
        cat >"$inst/$prog.conf" <<EOF
# generated by lib-mailutils.sh
logging { syslog no; print-severity yes; };
auth { authorization virtdomain; authentication generic; };
virtdomain { passwd-dir "$d/pw"; };
gsasl { enable no; };
mailbox { mailbox-type $fmt; };
mandatory-locking { enable no; };
mode daemon;
foreground yes;
max-children 40;
tls-mode false;
server 127.0.0.1:$port { tls-mode false; };
EOF
        setsid env -i DMV_LAB_TAG="$tag" PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/ \
            setpriv --reuid="$LAB_MAIL_USER" --regid=mail --clear-groups \
            "/usr/sbin/$prog" --config-file="$inst/$prog.conf" </dev/null >>"$MU_LOG" 2>&1 &
    done
    if ! _labnd_wait_banner "$imap_port" '^\* OK' 15 || ! _labnd_wait_banner "$pop3_port" '^\+OK' 15; then
        echo "lab_mailutils_start: mailutils did not come up; log $MU_LOG:" >&2
        tail -n 20 "$MU_LOG" >&2
        _labnd_kill_tagged "$tag"
        return 1
    fi
    MU_IMAP_PORT=$imap_port MU_POP3_PORT=$pop3_port MU_FORMAT=$fmt
    if [[ $fmt == maildir ]]; then
        MU_MAILDIR_IMAP_PORT=$imap_port MU_MAILDIR_POP3_PORT=$pop3_port
        export MU_MAILDIR_IMAP_PORT MU_MAILDIR_POP3_PORT
    else
        MU_MBOX_IMAP_PORT=$imap_port MU_MBOX_POP3_PORT=$pop3_port
        export MU_MBOX_IMAP_PORT MU_MBOX_POP3_PORT
    fi
    export MU_IMAP_PORT MU_POP3_PORT MU_LOG MU_FORMAT
    return 0
}

# lab_mailutils_imapc_settings USER PASSWORD: doveadm -o arguments for an imapc: source
# (separator "/", no list prefix; give the destination an explicit namespace separator)
lab_mailutils_imapc_settings() {
    printf '%s\n' -o imapc_host=127.0.0.1 -o "imapc_port=$MU_IMAP_PORT" -o "imapc_user=$1@$MU_DOMAIN" \
        -o "imapc_password=$2" -o imapc_features=rfc822.size \
        -o pop3c_host=127.0.0.1 -o "pop3c_port=$MU_POP3_PORT" -o "pop3c_user=$1@$MU_DOMAIN" -o "pop3c_password=$2"
}

# lab_mailutils_stop: stop every mailutils daemon (and session child) lab_mailutils_start started
lab_mailutils_stop() {
    local f
    [[ -n ${LAB:-} && -d $LAB/mailutils ]] || return 0
    for f in "$LAB"/mailutils/*/tag; do
        [[ -f $f ]] && _labnd_kill_tagged "$(<"$f")"
    done
    unset MU_IMAP_PORT MU_POP3_PORT MU_MAILDIR_IMAP_PORT MU_MAILDIR_POP3_PORT MU_MBOX_IMAP_PORT MU_MBOX_POP3_PORT
    return 0
}

declare -p LAB_CLEANUP >/dev/null 2>&1 || LAB_CLEANUP=()
LAB_CLEANUP+=(lab_mailutils_stop)
