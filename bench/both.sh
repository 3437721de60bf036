#!/usr/bin/env bash
# bench/both: one benchmark on this machine's Dovecot, then on Dovecot 2.4
# inside the Debian 13 root of scripts/dovecot24-root.sh (DOVECOT24_ROOT and
# its other variables apply), each block of output headed by the Dovecot
# version it ran on.  The ratios of each block are measured within that
# block; compare ratios, not times, across the two.  Needs root (chroot).
# The plugins must be installed in both places: on 2.4 with
#   scripts/dovecot24-root.sh run bash scripts/setup.sh build
# (run copies this tree into the root but builds nothing by itself).
#
#   bench/both.sh SCRIPT [ARGS...]   e.g. bench/both.sh pop3-overhead.sh 2000 3
#
# Exits non-zero if either run failed (the 2.4 run happens anyway).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ]; then
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
fi
script=${1##*/}
shift
if [ ! -f "$here/$script" ] || [ "$script" = both.sh ]; then
	echo "both: no benchmark bench/$script" >&2
	exit 2
fi

rc=0
echo "=== Dovecot $(dovecot --version) (this machine): bench/$script $*"
bash "$here/$script" "$@" || rc=$?
# shellcheck disable=SC2016
BOTH_ROOT=${DOVECOT24_ROOT:-/var/cache/dovecot-migrate/trixie} \
	bash "$here/../scripts/dovecot24-root.sh" run bash -c \
	'echo "=== Dovecot $(dovecot --version) ($BOTH_ROOT): bench/$0 $*"
	exec bash "bench/$0" "$@"' "$script" "$@" || rc=$?
exit "$rc"
