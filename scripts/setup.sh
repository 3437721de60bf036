#!/usr/bin/env bash
# dovecot-migrate set-up: installs what is missing (Debian bookworm, as
# root), builds and installs the plugins into Dovecot's module dirs, then
#   demo  - runs a real demo migration between two throwaway Dovecots
#   test  - runs the whole test suite (unit tests under valgrind, then the
#           integration tests against real servers on 127.0.0.1)
#   build - stops after installing
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
	exec bash scripts/run-tests.sh
	;;
esac
