#!/usr/bin/env bash
# The example configs are accepted by the Dovecot this runs on: doveconf -n
# reads a small base config plus each example of that version
#   Dovecot 2.3  conf.d/90-migrate-*.conf, conf.d/migration.conf.example
#   Dovecot 2.4  conf.d/2.4/90-migrate-*.conf, conf.d/2.4/migration.conf.example
# (LAB_DOVECOT from lib.sh).  Each example is read twice: as shipped, and
# with its commented-out migrate_* settings switched on, so the defaults and
# sample values it documents are valid too (on 2.4 doveconf refuses unknown
# migrate_* names and invalid values, which needs the dovecot-migrate
# settings module installed: the suite installs the plugins first).
# migration.conf.example gets the base config in place of
# /etc/dovecot/dovecot.conf and its conf.d/ snippets beside it.
# No servers: doveconf only.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LAB_TEST_NAME=conf-examples
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$LAB_DOVECOT" = 2.4 ]; then
	exdir=$top/conf.d/2.4
else
	exdir=$top/conf.d
fi
echo "Dovecot $(dovecot --version 2>/dev/null) (LAB_DOVECOT=$LAB_DOVECOT): examples in ${exdir#"$top"/}"

tmp=$(mktemp -d /tmp/dmconf.XXXXXXXX)
trap 'rc=$?; rm -rf -- "$tmp"; [ "$rc" -eq 0 ] && [ "$LAB_FAILS" -gt 0 ] && rc=1; exit $rc' EXIT

version_lines() {
	if [ "$LAB_DOVECOT" = 2.4 ]; then
		printf '%s\n' "dovecot_config_version = 2.4.0" \
			"dovecot_storage_version = 2.4.0"
	fi
}

# the production config the examples are added to
{
	echo "# t-007 base config"
	version_lines
	if [ "$LAB_DOVECOT" = 2.4 ]; then
		cat <<EOF
mail_driver = sdbox
mail_path = ~/mail
pop3_uidl_format = %{guid}
namespace inbox {
  inbox = yes
  separator = /
}
passdb users {
  driver = passwd-file
  passwd_file_path = $tmp/passwd
}
userdb users {
  driver = passwd-file
  passwd_file_path = $tmp/passwd
}
EOF
	else
		cat <<EOF
mail_location = sdbox:~/mail
pop3_uidl_format = %g
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = $tmp/passwd
}
userdb {
  driver = passwd-file
  args = $tmp/passwd
}
EOF
	fi
} >"$tmp/dovecot.conf"
: >"$tmp/passwd"

# uncomment FILE: its commented-out migrate_* settings switched on
# ("#migrate_x = v" lines; "#   migrate_x = v" examples in prose and
# settings without a value stay comments)
uncomment() {
	sed -E 's/^([[:space:]]*)#(migrate_[a-z0-9_]+ = [^[:space:]].*)$/\1\2/' "$1"
}

# check NAME CONF: doveconf -n -c CONF must succeed
check() {
	local name=$1 conf=$2 out rc=0
	out=$(doveconf -n -c "$conf" 2>&1 >/dev/null) || rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "ok: doveconf accepts $name"
	else
		fail "$LAB_TEST_NAME" "doveconf refuses $name (exit $rc): $(tr '\n' ' ' <<<"$out")"
	fi
}

n=0
for ex in "$exdir"/90-migrate-*.conf; do
	[ -f "$ex" ] || continue
	name=${ex#"$top"/}
	for variant in shipped uncommented; do
		d=$tmp/$n
		n=$((n + 1))
		mkdir -p "$d"
		if [ "$variant" = shipped ]; then
			cp "$ex" "$d/example.conf"
		else
			uncomment "$ex" >"$d/example.conf"
		fi
		{
			version_lines
			echo "!include $tmp/dovecot.conf"
			echo "!include $d/example.conf"
		} >"$d/test.conf"
		check "$name ($variant)" "$d/test.conf"
	done
done

ex=$exdir/migration.conf.example
if [ -f "$ex" ]; then
	for variant in shipped uncommented; do
		d=$tmp/$n
		n=$((n + 1))
		mkdir -p "$d/conf.d"
		for s in "$exdir"/90-migrate-*.conf; do
			if [ "$variant" = shipped ]; then
				cp "$s" "$d/conf.d/"
			else
				uncomment "$s" >"$d/conf.d/${s##*/}"
			fi
		done
		if [ "$variant" = shipped ]; then
			cat "$ex"
		else
			uncomment "$ex"
		fi | sed "s#^!include /etc/dovecot/dovecot.conf\$#!include $tmp/dovecot.conf#" \
			>"$d/migration.conf"
		grep -q "^!include $tmp/dovecot.conf\$" "$d/migration.conf" ||
			fail "$LAB_TEST_NAME" "${ex#"$top"/} no longer includes /etc/dovecot/dovecot.conf"
		check "${ex#"$top"/} ($variant)" "$d/migration.conf"
		# the migration config loads migrate_pop3 and reads its snippet
		out=$(doveconf -n -c "$d/migration.conf" 2>/dev/null || true)
		grep -q 'migrate_pop3' <<<"$out" ||
			fail "$LAB_TEST_NAME" "${ex#"$top"/} ($variant): migrate_pop3 not in doveconf -n"
	done
else
	fail "$LAB_TEST_NAME" "no ${ex#"$top"/}"
fi
[ "$n" -ge 8 ] || fail "$LAB_TEST_NAME" "only $n example checks ran (expected 4 snippets and migration.conf.example)"

# 2.4 knows the migrate_* settings: a misspelled one must be refused (else
# the checks above prove nothing about the names)
if [ "$LAB_DOVECOT" = 2.4 ]; then
	{
		version_lines
		echo "!include $tmp/dovecot.conf"
		echo "migrate_pop3_cach = yes"
	} >"$tmp/typo.conf"
	if doveconf -n -c "$tmp/typo.conf" >/dev/null 2>&1; then
		fail "$LAB_TEST_NAME" "doveconf accepts a misspelled migrate_* setting (settings module not installed?)"
	else
		echo "ok: doveconf refuses a misspelled migrate_* setting"
	fi
fi

[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
