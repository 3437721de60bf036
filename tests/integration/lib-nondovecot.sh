# shellcheck shell=bash
# tests/integration/lib-nondovecot.sh - helpers shared by the non-Dovecot
# source servers (lib-courier.sh, lib-mailutils.sh); sourced by them.
if ! declare -F _labnd_free_port >/dev/null; then
_labnd_free_port() {
    if declare -F lab_free_port >/dev/null; then lab_free_port; return; fi
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# _labnd_wait_banner PORT REGEX [TIMEOUT_S]: wait until PORT on 127.0.0.1 greets with REGEX
_labnd_wait_banner() {
    local port=$1 re=$2 t=${3:-15} i line
    for ((i = 0; i < t * 10; i++)); do
        line=$( (exec 9<>"/dev/tcp/127.0.0.1/$port" || exit 1
                 IFS= read -r -t 3 l <&9; printf '%s' "$l") 2>/dev/null)
        [[ $line =~ $re ]] && return 0
        sleep 0.1
    done
    return 1
}

_labnd_ensure_user() {
    id -u "$LAB_MAIL_USER" >/dev/null 2>&1 && return 0
    useradd --system --no-create-home --shell /usr/sbin/nologin "$LAB_MAIL_USER"
}

# _labnd_tagged_pids TAG: pids whose environment holds DMV_LAB_TAG=TAG (processes we started)
_labnd_tagged_pids() {
    local f
    grep -lzxF "DMV_LAB_TAG=$1" /proc/[0-9]*/environ 2>/dev/null | while IFS= read -r f; do
        f=${f#/proc/}
        echo "${f%/environ}"
    done
}

# _labnd_kill_tagged TAG: TERM, wait up to 3 s, then KILL every process carrying TAG
_labnd_kill_tagged() {
    local tag=$1 pids i
    pids=$(_labnd_tagged_pids "$tag")
    [[ -z $pids ]] && return 0
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null
    for ((i = 0; i < 30; i++)); do
        pids=$(_labnd_tagged_pids "$tag")
        [[ -z $pids ]] && return 0
        sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    sleep 0.1
    return 0
}

# _labnd_apt_download DIR PKG...: apt-get download into DIR, one apt-get update retry
_labnd_apt_download() {
    local dir=$1; shift
    mkdir -p "$dir"
    if ! (cd "$dir" && apt-get -q -o APT::Sandbox::User=root download "$@") >"$dir/.download.log" 2>&1; then
        apt-get -q update >/dev/null 2>&1 || true
        (cd "$dir" && apt-get -q -o APT::Sandbox::User=root download "$@") >"$dir/.download.log" 2>&1 || {
            echo "apt-get download $* failed:" >&2; cat "$dir/.download.log" >&2; return 1; }
    fi
}

# _labnd_crypt PASSWORD: SHA-512 crypt(3) hash
_labnd_crypt() {
    if command -v openssl >/dev/null; then openssl passwd -6 "$1"; return; fi
    python3 -W ignore -c 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_SHA512)))' "$1"
}

_labnd_pkg_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}
fi
