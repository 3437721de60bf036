#!/usr/bin/env bash
# bench/uidl-format: what giving formula UIDLs costs per message, with the
# format parsed on every call (the baseline) and parsed once (what
# migrate_pop3 does), measured in the same run. On Dovecot 2.4, whose
# var_expand() parses its format on every call, this was most of the
# formula case's extra time (issue 20).
# Builds tests/unit/bench-migrate-uidl-format (make bench) first.
#
#   bench/uidl-format.sh [COUNT] [RUNS]    default 60000 5
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
make -s -C "$here/../tests/unit" bench >/dev/null
exec "$here/../tests/unit/bench-migrate-uidl-format" "$@"
