#!/usr/bin/env bash
# The docs say what the code does: docs/commands.md and the man page
# (docs/man/doveadm-migrate.1) against the sources and the other tests.
#  - exit codes: every MIGRATE_EXIT_* of include/migrate-common.h is in
#    the table of docs/commands.md ("## Exit codes"), the man page's EXIT
#    STATUS lists exactly the same codes, and every code that the failure
#    table of migrate run, t-400-faults and t-440-bad-input expect is in it;
#  - commands: every command the doveadm plugin registers has a section in
#    both (and no section names a command that doesn't exist);
#  - settings: every setting the modules know (MIGRATE_SETTINGS in include/migrate-settings.h,
#    which warns about unknown ones) is in docs/settings.md, except the two
#    migrate run sets for its own children.
# No servers: it reads files only.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LAB_TEST_NAME=docs-agree
top=$(cd "$(dirname "$0")/../.." && pwd)
commands_md=$top/docs/commands.md
man=$top/docs/man/doveadm-migrate.1

# sorted, space-separated
words() { tr ' ' '\n' | grep . | sort -n -u | tr '\n' ' ' | sed 's/ $//'; }

# --- exit codes
enum_codes=$(sed -n 's/^[[:space:]]*MIGRATE_EXIT_[A-Z_]* = \([0-9]*\),.*/\1/p' \
	"$top/include/migrate-common.h" | words)
doc_codes=$(awk '/^## Exit codes/{t=1; next} /^## /{t=0}
	t && /^\| [0-9]+ \|/{print $2}' "$commands_md" | words)
man_codes=$(awk '/^\.SH EXIT STATUS/{t=1; next} /^\.SH/{t=0}
	t && prev == ".TP" && /^\.B [0-9]+$/{print $2} {prev=$0}' "$man" | words)
echo "MIGRATE_EXIT_*: $enum_codes"
echo "commands.md:    $doc_codes"
echo "man page:       $man_codes"
[ -n "$enum_codes" ] && [ -n "$doc_codes" ] ||
	fail "$LAB_TEST_NAME" "no exit codes read (the tables moved?)"
for c in $enum_codes; do
	grep -qw "$c" <<<"$doc_codes" ||
		fail "$LAB_TEST_NAME" "exit $c (include/migrate-common.h) isn't in docs/commands.md"
done
assert_eq "$doc_codes" "$man_codes" "the man page lists the exit codes of docs/commands.md"

# the exit column of "Failures and exit codes of migrate run"
run_codes=$(awk -F'|' '/^## Failures and exit codes of migrate run/{t=1; next}
	/^## /{t=0} t && $3 ~ /^ [0-9]+ $/{print $3+0}' "$commands_md" | words)
# the expected codes of the scenario tables of the fault tests
t400_codes=$(sed -n 's/.*scenario [a-z0-9-]* \([0-9][0-9]*\) .*/\1/p' \
	"$top/tests/integration/t-400-faults.sh" | words)
t440_codes=$(sed -n 's/^#   [a-z0-9-]*  *\([0-9][0-9]*\) .*/\1/p' \
	"$top/tests/integration/t-440-bad-input.sh" | words)
echo "migrate run's failures: $run_codes; t-400: $t400_codes; t-440: $t440_codes"
[ -n "$run_codes" ] && [ -n "$t400_codes" ] && [ -n "$t440_codes" ] ||
	fail "$LAB_TEST_NAME" "no expected exit codes read from the failure table or the tests"
for c in $run_codes $t400_codes $t440_codes; do
	[ "$c" = 0 ] || grep -qw "$c" <<<"$doc_codes" ||
		fail "$LAB_TEST_NAME" "exit $c is expected (failure table or a test) but isn't documented"
done
echo "ok: every expected exit code is documented"

# --- commands
registered=$(sed -n 's/^[[:space:]]*&doveadm_cmd_migrate_\([a-z_]*\),$/\1/p' \
	"$top/src/doveadm/doveadm-migrate-plugin.c" | tr _ - | sort | tr '\n' ' ')
md_cmds=$(sed -n 's/^## doveadm migrate \([a-z-]*\)$/\1/p' "$commands_md" | sort | tr '\n' ' ')
man_cmds=$(sed -n 's/^\.SS migrate \(.*\)$/\1/p' "$man" | sed 's/\\-/-/g' | sort | tr '\n' ' ')
echo "registered: $registered"
[ -n "$registered" ] || fail "$LAB_TEST_NAME" "no registered commands read"
assert_eq "$registered" "$md_cmds" "docs/commands.md has a section per command"
assert_eq "$registered" "$man_cmds" "the man page has a section per command"

# --- settings
known=$(sed -n 's/^[[:space:]]*X(\(migrate_[a-z0-9_]*\),.*/\1/p' \
	"$top/include/migrate-settings.h" | sort -u)
[ -n "$known" ] || fail "$LAB_TEST_NAME" "no settings read"
missing=
for s in $known; do
	case $s in
	# set by migrate run on its children's command lines
	migrate_guard | migrate_outcome_fd | migrate_progress_fd) continue ;;
	esac
	grep -q "\`$s\`" "$top/docs/settings.md" || missing="$missing $s"
done
assert_eq "" "$missing" "every setting is in docs/settings.md"

pass "$LAB_TEST_NAME"
