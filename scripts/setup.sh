#!/usr/bin/env bash
# dovecot-migrate set-up: installs what is missing (Debian bookworm, as
# root), builds and installs the plugins into Dovecot's module dirs, then
#   demo  - runs a real demo migration between two throwaway Dovecots
#   test  - runs the whole test suite (unit tests under valgrind, then the
#           integration tests against real servers on 127.0.0.1)
#   build - stops after installing
# On a Dovecot 2.3 machine, test also builds and runs the whole suite
# against Dovecot 2.4 in a Debian 13 root (scripts/dovecot24-root.sh) and
# ends with one "N passed, N failed" line over both. DM_DOVECOT=2.3 or
# DM_DOVECOT=2.4 runs only that one (2.4: in the root, unless this machine
# has 2.4 itself).
set -euo pipefail

what=${1:-}
case "$what" in
demo|test|build) ;;
*) echo "usage: $0 demo|test|build" >&2; exit 64 ;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

build_deps=(dovecot-dev dovecot-core dovecot-imapd dovecot-pop3d
	    autoconf automake libtool pkg-config gcc make)
run_deps=(python3 procps iproute2 openssl util-linux)
test_deps=(valgrind time curl mailutils-imap4d mailutils-pop3d)
# the Gmail-like test server runs on Node.js; a node that already brings
# its own npm (e.g. a NodeSource build) conflicts with Debian's npm package
command -v node >/dev/null || test_deps+=(nodejs)
command -v npm >/dev/null || test_deps+=(npm)

missing_packages() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || echo "$p"
	done
}

install_packages() {
	local missing
	missing=$(missing_packages "$@")
	[ -n "$missing" ] || return 0
	if [ "$(id -u)" != 0 ]; then
		echo "setup: missing packages: $missing (run as root)" >&2
		exit 1
	fi
	echo "setup: installing: $missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

pkgs=("${build_deps[@]}" "${run_deps[@]}")
[ "$what" = test ] && pkgs+=("${test_deps[@]}")
install_packages "${pkgs[@]}"

echo "setup: building"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
	./autogen.sh >/dev/null 2>&1 || ./autogen.sh
fi
if [ ! -f Makefile ] || [ configure -nt Makefile ]; then
	./configure --prefix=/usr --with-dovecot=/usr/lib/dovecot \
		--sysconfdir=/etc >/dev/null
fi
make -j"$(nproc)" >/dev/null
make install >/dev/null
echo "setup: installed into $(sed -n 's/^dovecot_moduledir=//p' /usr/lib/dovecot/dovecot-config)"

case "$what" in
build)
	;;
demo)
	exec bash scripts/demo.sh
	;;
test)
	here=$(dovecot --version | cut -c1-3)
	want=${DM_DOVECOT:-both}
	if [ "$here" != 2.3 ] || [ "$want" = 2.3 ] || [ "$want" = "$here" ]; then
		exec bash scripts/run-tests.sh
	fi
	rc23=0 rc24=0
	out23=$(mktemp) out24=$(mktemp)
	trap 'rm -f "$out23" "$out24"' EXIT
	if [ "$want" = both ]; then
		echo "=== Dovecot $(dovecot --version | cut -d' ' -f1) (this machine)"
		DM_RESULT_PREFIX="Dovecot 2.3: " bash scripts/run-tests.sh |
			tee "$out23" || rc23=$?
	fi
	echo "=== Dovecot 2.4 (Debian 13 root, scripts/dovecot24-root.sh)"
	DM_RESULT_PREFIX="Dovecot 2.4: " DM_DOVECOT=2.4 \
		bash scripts/dovecot24-root.sh run env \
		DM_RESULT_PREFIX="Dovecot 2.4: " bash scripts/setup.sh test |
		tee "$out24" || rc24=$?
	sum() {	# FILE FIELD: passed or failed of its last result line
		sed -nE "s/^Dovecot 2\.[34]: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p" "$1" |
			tail -1 | cut -d' ' -f"$2"
	}
	p23=$(sum "$out23" 1) f23=$(sum "$out23" 2)
	p24=$(sum "$out24" 1) f24=$(sum "$out24" 2)
	[ "$want" = both ] && [ -z "$p23" ] && f23=1
	[ -z "$p24" ] && f24=1
	passed=$(( ${p23:-0} + ${p24:-0} ))
	failed=$(( ${f23:-0} + ${f24:-0} ))
	echo "$passed passed, $failed failed"
	[ "$rc23" -eq 0 ] && [ "$rc24" -eq 0 ] && [ "$failed" -eq 0 ]
	;;
esac
