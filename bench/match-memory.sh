#!/usr/bin/env bash
# bench/match-memory: the heap bytes per message migrate_pop3 keeps while
# dsync copies a mailbox, for synthetic lists (no server, no load noise):
# the user's POP3 list, the list with a matcher over IMAP sizes (a source
# whose UIDLs are no formula), and the formula case's UIDs and orders.
# Builds tests/unit/bench-migrate-match-memory (make bench) first.
#
#   bench/match-memory.sh [COUNT...]    default 20000 100000 500000
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
make -s -C "$here/../tests/unit" bench >/dev/null
exec "$here/../tests/unit/bench-migrate-match-memory" "$@"
