#!/usr/bin/env bash
# migrate_pop3 reads the IMAP sizes of a large mailbox (2,000 messages or
# more) on migrate_pop3_size_connections connections (migrate-pop3-sizes.c):
# imapc's own reads the first UID range, each other range is read on a
# connection of its own, so that a server computing each size from the
# message's file (Courier) does it on more cores.
#  0 connections: refused, the error names the range 1..8;
#  a) 3 connections: three UID ranges that cover every UID, each FETCHed on
#     another connection (imapc's rawlog), every UIDL served in order;
#  b) 1 connection on a fresh destination: one UID FETCH 1:*, and the
#     matcher finds the same pairs as in a);
#  c) the old server allows one IMAP connection per user: the extra
#     connection is refused, its range is read on imapc's connection (one
#     warning naming the setting), the same pairs, exit 0;
#  d) a later pass with new mail at the old server whose UIDL cache was
#     lost, over STARTTLS: the split again (the extra connection with
#     imapc's TLS settings), the new messages matched, nothing copied twice;
#  e) a later pass with the cache: only the new messages' sizes are read
#     (one FETCH of their UIDs), the cache trusted, every UIDL in order;
#  f) a cached pair made to name a message of another size, and the
#     destination's mail gone: dsync copies everything, every size is
#     read, the cache isn't trusted (warning), every UIDL in order;
#  g) a cache line naming the UID of a new message (another message's
#     UIDL): its size disagrees, every size is read, every UIDL in order.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LAB_TEST_NAME=pop3-size-connections
user=d@example.com
lab_init
lab_user_add "$user" secret1
lab_corpus "$user" 2100 62
tls=$LAB/tls
lab_tls "$tls"
LAB_SRC_EXTRA_CONF="ssl = yes
ssl_cert = <$tls/srv.pem
ssl_key = <$tls/srv.key"
lab_source_start
lab_dest_start sdbox

# the matcher's counts without its timings
pairs() {
	grep -E 'migrate_pop3: POP3 [0-9]+, IMAP' "$LAB/migrate-$user.log" |
		tail -1 | sed -E 's/.*migrate_pop3: //; s/; headers read.*//'
}
# size FETCHes of rawlog dir $1, "FILE COMMAND" per line, by range
size_fetches() {
	local f
	for f in "$1"/*.out; do
		tr -d '\r' <"$f" |
			grep -oE 'UID FETCH [^ ]+ \(RFC822\.SIZE\)' |
			sed "s|^|${f##*/} |" || true
	done
}
run() { # NAME CONNECTIONS [fresh]
	mkdir -m 0777 "$LAB/rawlog-$1"
	lab_migration_conf migrate_pop3
	lab_migration_conf_add 'plugin {' '  migrate_pop3_uidl_detect = no' \
		"  migrate_pop3_size_connections = $2" '}' \
		"imapc_rawlog_dir = $LAB/rawlog-$1" ${EXTRA_CONF[@]+"${EXTRA_CONF[@]}"}
	if [ "${3:-}" = fresh ]; then
		rm -rf "$LAB/dst/home/$user/mail" "$LAB/dst/home/$user/.dovecot-migrate"
	fi
	rc=0; lab_migrate_backup "$user" || rc=$?
	echo "$1) exit $rc: $(pairs)"
	assert_eq 0 "$rc" "$1) migration" || { lab_log_dump; exit 0; }
}

# 0 connections: refused with the setting's range
lab_migration_conf migrate_pop3
lab_migration_conf_add 'plugin {' '  migrate_pop3_size_connections = 0' '}'
rc=0; lab_migrate_backup "$user" || rc=$?
[ "$rc" -ne 0 ] && grep -q "migrate_pop3_size_connections: invalid value '0' (expected a number 1\.\.8)" \
	"$LAB/migrate-$user.log" &&
	echo "ok: 0 connections refused (exit $rc), the range named" ||
	{ fail "$LAB_TEST_NAME" "0 connections: exit $rc, no error naming the range"; lab_log_dump; exit 0; }

# a) three connections
run a 3
fetches=$(size_fetches "$LAB/rawlog-a")
echo "$fetches" | sed 's/^/a) /'
assert_eq "UID FETCH 1:700 (RFC822.SIZE)
UID FETCH 701:1400 (RFC822.SIZE)
UID FETCH 1401:* (RFC822.SIZE)" "$(cut -d' ' -f2- <<<"$fetches" | sort -t' ' -k3,3n)" \
	"a) three UID ranges that cover every UID" || exit 0
assert_eq 3 "$(cut -d' ' -f1 <<<"$fetches" | sort -u | wc -l)" \
	"a) each range on a connection of its own" || exit 0
assert_eq "2100 2100 yes" "$(lab_uidl_same "$user")" "a) UIDLs served in order" || exit 0
pairs_a=$(pairs)

# b) one connection, fresh destination: the same pairs
run b 1 fresh
assert_eq "UID FETCH 1:* (RFC822.SIZE)" \
	"$(size_fetches "$LAB/rawlog-b" | cut -d' ' -f2-)" "b) one FETCH" || exit 0
assert_eq "$pairs_a" "$(pairs)" "b) the same pairs as with three connections" || exit 0

# c) the old server refuses a second IMAP connection of the user
printf 'protocol imap {\n  mail_max_userip_connections = 1\n}\n' >>"$SRC_CONF"
doveadm -c "$SRC_CONF" reload
sleep 0.5
run c 2 fresh
fetches=$(size_fetches "$LAB/rawlog-c")
echo "$fetches" | sed 's/^/c) /'
warning=$(grep -oE 'Reading the IMAP sizes of UIDs 1051:\* on a connection of their own failed .*read on imapc.s connection instead - set migrate_pop3_size_connections = 1 .*' \
	"$LAB/migrate-$user.log" | tail -1 || true)
[ -n "$warning" ] || { fail "$LAB_TEST_NAME" "c) no warning about the refused connection"; lab_log_dump; exit 0; }
echo "c) $warning"
assert_eq "UID FETCH 1:1050 (RFC822.SIZE)
UID FETCH 1051:* (RFC822.SIZE)" \
	"$(grep -F "$(cut -d' ' -f1 <<<"$fetches" | head -1)" <<<"$fetches" | cut -d' ' -f2-)" \
	"c) both ranges read on imapc's connection" || exit 0
assert_eq "$pairs_a" "$(pairs)" "c) the same pairs" || exit 0
# the refused connection is given up, not tried again while dsync copies
logins=$(awk '/^=== .* doveadm backup/ {n++} n == 3' "$LAB/migrate-$user.log" |
	grep -c 'imapc(.*): Connected to' || true)
[ "$logins" -le 3 ] || { fail "$LAB_TEST_NAME" "c) imapc connected $logins times: the refused connection was retried"; exit 0; }
echo "ok: c) imapc connected $logins times (imapc's, the refused one and its one retry)"
assert_eq "2100 2100 yes" "$(lab_uidl_same "$user")" "c) UIDLs served in order" || exit 0
sed -i '/mail_max_userip_connections = 1/d' "$SRC_CONF"
doveadm -c "$SRC_CONF" reload
sleep 0.5

# d) a later pass: 5 new messages at the old server, the UIDL cache lost
# (every message is matched again)
lab_corpus "$user" 5 63
rm "$LAB/dst/home/$user/.dovecot-migrate/pop3-uidl.INBOX"
EXTRA_CONF=("imapc_ssl = starttls" "ssl_client_ca_file = $tls/ca.pem")
run d 2
summary=$(pairs)
assert_eq "2105 2105 yes" "$(lab_uidl_same "$user")" "d) every UIDL, old and new, in order" || exit 0
assert_eq 2105 "$(lab_imap_count dst "$user")" "d) nothing copied twice" || exit 0
assert_eq 2 "$(size_fetches "$LAB/rawlog-d" | cut -d' ' -f1 | sort -u | wc -l)" \
	"d) the sizes on two connections again" || exit 0
assert_eq 2 "$(grep -cE "imap-login: Info: (Login|Logged in): user=<$user>.*, TLS" "$SRC_LOG" || true)" \
	"d) both IMAP logins with TLS" || exit 0
grep -qE 'cached 0, .*unmatched: POP3 0, IMAP 0' <<<"$summary" ||
	{ fail "$LAB_TEST_NAME" "d) not every message matched again: $summary"; exit 0; }

# e) a later pass with the cache: 3 new messages; only their sizes are
# read (dsync copies nothing else), on imapc's connection
lab_corpus "$user" 3 64
EXTRA_CONF=()
run e 2
summary=$(pairs)
assert_eq "2108 2108 yes" "$(lab_uidl_same "$user")" "e) every UIDL, old and new, in order" || exit 0
assert_eq 2108 "$(lab_imap_count dst "$user")" "e) nothing copied twice" || exit 0
assert_eq "UID FETCH 2106:2108 (RFC822.SIZE)" \
	"$(size_fetches "$LAB/rawlog-e" | cut -d' ' -f2-)" "e) the new messages' sizes only" || exit 0
grep -q 'cached 2105, size 3,' <<<"$summary" ||
	{ fail "$LAB_TEST_NAME" "e) the cache's 2105 pairs weren't used: $summary"; exit 0; }

# f) a cached pair names a message of another size (a server that gave a
# known UID to another message), and the destination lost its mail: dsync
# copies every message, so every size is read, the cache isn't trusted
# and every message is matched again
cache=$LAB/dst/home/$user/.dovecot-migrate/pop3-uidl.INBOX
sizes=$(lab_doveadm src fetch -u "$user" 'uid size.virtual' mailbox INBOX uid 10:60 |
	awk '/^uid:/ {u = $2} /^size.virtual:/ {print u, $2}')
other=$(awk 'NR == 1 {s = $2; next} $2 != s {print $1; exit}' <<<"$sizes")
[ -n "$other" ] || { fail "$LAB_TEST_NAME" "f) no message of another size than UID 10"; exit 0; }
# (each UIDL keeps its POP3 order: only the UIDs are swapped)
awk -F'\t' -v a=10 -v b="$other" 'BEGIN {OFS = FS}
	NR == FNR { if ($1 == a) la = $0; if ($1 == b) lb = $0; next }
	$1 == a { $0 = lb; $1 = a } $1 == b { $0 = la; $1 = b } { print }' "$cache" "$cache" >"$cache.new"
cat "$cache.new" >"$cache"
rm -f "$cache.new"
rm -rf "$LAB/dst/home/$user/mail"
run f 2
summary=$(pairs)
grep -q "given known UIDs to other messages" "$LAB/migrate-$user.log" ||
	{ fail "$LAB_TEST_NAME" "f) no warning that the cache isn't trusted"; exit 0; }
assert_eq "UID FETCH 1:1054 (RFC822.SIZE)
UID FETCH 1055:* (RFC822.SIZE)" "$(size_fetches "$LAB/rawlog-f" | cut -d' ' -f2- | sort -t' ' -k3,3n)" \
	"f) every size read" || exit 0
assert_eq "2108 2108 yes" "$(lab_uidl_same "$user")" "f) every UIDL in order" || exit 0
grep -qE 'cached 0, .*unmatched: POP3 0, IMAP 0' <<<"$summary" ||
	{ fail "$LAB_TEST_NAME" "f) not every message matched again: $summary"; exit 0; }

# g) the cache names a UID the old server now gives to a new message
# (renumbered without a new UIDVALIDITY): that UID is copied now, its size
# disagrees with its cached UIDL's, and every size is read after all
lab_corpus "$user" 2 65
line=$(awk -F'\t' '$1 == 20' "$cache")
[ -n "$line" ] || { fail "$LAB_TEST_NAME" "g) no cache line of UID 20"; exit 0; }
printf '2109\t%s\n' "$(cut -f2- <<<"$line")" >>"$cache"
run g 2
assert_eq "UID FETCH 1:1055 (RFC822.SIZE)
UID FETCH 1056:* (RFC822.SIZE)
UID FETCH 2109:2110 (RFC822.SIZE)" "$(size_fetches "$LAB/rawlog-g" | cut -d' ' -f2- | sort -t' ' -k3,3n)" \
	"g) the new messages' sizes, then every size" || exit 0
assert_eq "2110 2110 yes" "$(lab_uidl_same "$user")" "g) every UIDL in order" || exit 0
assert_eq 2110 "$(lab_imap_count dst "$user")" "g) nothing copied twice" || exit 0

pass "$LAB_TEST_NAME"
