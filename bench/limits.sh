#!/usr/bin/env bash
# bench/limits: tests/integration/t-430-limits.sh with a folder of 100,000
# messages (the suite runs 20,000): the 52 MB message, the odd folder names
# and the big folder through doveadm migrate run, compared message by
# message with the source. Prints the run's time and the test's verdict.
#
#   bench/limits.sh [MESSAGES=100000]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
LIMITS_BIG=${1:-100000} exec bash "$here/../tests/integration/t-430-limits.sh"
