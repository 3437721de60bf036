#!/usr/bin/env bash
# dovecot24-root.sh: a Debian 13 (trixie) root with Dovecot 2.4, to build
# and test dovecot-migrate against 2.4 next to the host's Dovecot.
#
#   scripts/dovecot24-root.sh [setup]     create the root, or bring an
#                                         existing one up to date
#   scripts/dovecot24-root.sh run CMD...  setup, copy this tree to
#                                         ROOT/build/dovecot-migrate and run
#                                         CMD there inside the root, e.g.
#       scripts/dovecot24-root.sh run bash tests/integration/run-all.sh t-010
#
# setup: debootstrap (installed with apt-get if missing) makes the root if
# ROOT/etc/debian_version is missing; packages missing from an existing
# root are installed with apt-get; /proc is mounted and /dev bound if they
# are not yet.  run copies the git-tracked and the untracked-but-not-ignored
# files over the previous copy (build outputs made in the root stay).
# Copy a root with `cp -ax` (one file system): plain `cp -a` follows into
# the mounted /proc and fills the disk.  Needs root.  Environment:
#   DOVECOT24_ROOT       the root (default /var/cache/dovecot-migrate/trixie)
#   DOVECOT24_BUILD_DIR  the copy inside the root (default /build/dovecot-migrate)
#   DOVECOT24_MIRROR     Debian mirror (default http://deb.debian.org/debian)
#   DOVECOT24_EXTRA_PACKAGES  more packages (e.g. "curl valgrind nodejs npm")
set -euo pipefail

root=${DOVECOT24_ROOT:-/var/cache/dovecot-migrate/trixie}
build=${DOVECOT24_BUILD_DIR:-/build/dovecot-migrate}
mirror=${DOVECOT24_MIRROR:-http://deb.debian.org/debian}
top=$(cd "$(dirname "$0")/.." && pwd)
# building: Dovecot 2.4 and the toolchain; testing (tests/integration/lib.sh):
# python3, openssl (lab_tls), procps (pgrep), iproute2 (ss), passwd (useradd)
packages="dovecot-dev dovecot-imapd dovecot-pop3d gcc make autoconf automake
libtool pkg-config python3 openssl procps iproute2 passwd
${DOVECOT24_EXTRA_PACKAGES:-}"

in_root() {
	env -u LAB_DOVECOT DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		chroot "$root" "$@"
}

setup() {
	local missing="" p log
	if [ ! -e "$root/etc/debian_version" ]; then
		command -v debootstrap >/dev/null || {
			apt-get update -q && apt-get install -y -q debootstrap
		}
		mkdir -p "$root"
		# shellcheck disable=SC2086
		log=$(mktemp)
		echo "dovecot24-root: making $root (debootstrap trixie)"
		debootstrap --variant=minbase \
			--include="$(echo $packages | tr ' ' ,)" \
			trixie "$root" "$mirror" >"$log" 2>&1 ||
			{ cat "$log" >&2; rm -f "$log"; exit 1; }
		rm -f "$log"
	fi
	mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
	mountpoint -q "$root/dev" || mount --bind /dev "$root/dev"
	# terminals for tests that run under script(1), POSIX shared memory
	for m in /dev/pts /dev/shm; do
		[ -d "$m" ] && ! mountpoint -q "$root$m" &&
			mount --bind "$m" "$root$m"
	done
	for p in $packages; do
		in_root dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q ' installed$' || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		cp /etc/resolv.conf "$root/etc/resolv.conf"
		in_root apt-get update -q
		# shellcheck disable=SC2086
		in_root apt-get install -y -q --no-install-recommends $missing
	fi
	# the root trusts the CAs the host was told to trust (e.g. a proxy's,
	# for npm): the host's local CAs are added to the root's store, and
	# files named by these variables are copied to the same path. After
	# the packages: installing ca-certificates rewrites the bundle.
	local v f
	if [ -d /usr/local/share/ca-certificates ]; then
		# also read when ca-certificates is installed later
		mkdir -p "$root/usr/local/share/ca-certificates"
		cp -r /usr/local/share/ca-certificates/. \
			"$root/usr/local/share/ca-certificates/"
		[ ! -x "$root/usr/sbin/update-ca-certificates" ] ||
			in_root update-ca-certificates >/dev/null 2>&1 || true
	fi
	for v in NODE_EXTRA_CA_CERTS SSL_CERT_FILE CURL_CA_BUNDLE; do
		f=${!v:-}
		if [ -f "$f" ] && ! cmp -s "$f" "$root$f"; then
			mkdir -p "$root$(dirname "$f")"
			cp "$f" "$root$f"
		fi
	done
}

run() {
	setup
	mkdir -p "$root$build"
	# -m: the copies get this moment as their time, so make rebuilds
	# what they changed even when the root's build (Makefile.in, objects)
	# of an earlier run is newer than the tree's own files
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		tar --null --ignore-failed-read -T - -cf -) |
		tar -xmf - -C "$root$build"
	in_root bash -c 'cd "$1" && shift && exec "$@"' run "$build" "$@"
}

case ${1:-setup} in
setup) setup ;;
run)
	shift
	[ $# -gt 0 ] || { echo "usage: $0 run CMD [ARGS...]" >&2; exit 2; }
	run "$@"
	;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
	;;
esac
