# shellcheck shell=bash
# tests/integration/lib-lifecycle.sh - the lifecycle of an account, as the
# lifecycle tests play it, on top of lib.sh:
#
#   first pass, catch-up pass (mirror), MX switch, the user working here
#   (deliveries, a new folder, moves, flags, keywords, POP3 RETR + DELE),
#   new mail at the old server, the final pass and a late pass (additive)
#
# and what must be true after each, message by message (mailstate.py:
# content hash and flags per folder), and through a POP3 client's eyes.
#
#   mig ARGS...                       doveadm migrate ARGS with $MIG_CONF,
#                                     output appended to $LAB/mig.out,
#                                     exit code in $rc
#   lc_snap src|dst USER OUT.json     the account over IMAP
#   lc_pop3 src|dst USER OUT          its POP3 UIDL list
#   lc_activity USER                  the user works here (see below)
#   lc_expect_additive USER TAG       after an additive pass: compare the
#                                     account here with what the user left
#                                     plus the old server's new mail
#
# Knobs: LC_EOL=1 compares line ends as LF (Courier), LC_SRC_PORT /
# LC_SRC_POP3_PORT / LC_SRC_LOGIN / LC_SRC_PASSWORD read the old server
# with a login of its own (default: this lab's source, master user),
# LC_DST_LOGIN_USER=1 logs in here with the user's password (on-login
# lab: no master user here), LC_PREFIX: the account's old folders are
# under this folder here (--folder-prefix), LC_RENAME="OLD=NEW ...": the
# user renamed the old folder OLD to NEW here.

mig() {	# migrate ARGS... -> exit code in $rc
	rc=0
	doveadm -c "$MIG_CONF" migrate "$@" </dev/null \
		>>"$LAB/mig.out" 2>&1 || rc=$?
}

lc__login() {	# src|dst USER -> "login<TAB>password<TAB>imap port<TAB>pop3 port"
	local who=$1 user=$2
	if [ "$who" = src ]; then
		printf '%s\t%s\t%s\t%s\n' "${LC_SRC_LOGIN:-$user*$LAB_MASTER_USER}" \
			"${LC_SRC_PASSWORD:-$(lab_master_password)}" \
			"${LC_SRC_PORT:-$SRC_IMAP_PORT}" \
			"${LC_SRC_POP3_PORT:-$SRC_POP3_PORT}"
	elif [ "${LC_DST_LOGIN_USER:-0}" = 1 ]; then
		printf '%s\t%s\t%s\t%s\n' "$user" "$(lab__user_password "$user")" \
			"$DST_IMAP_PORT" "$DST_POP3_PORT"
	else
		printf '%s\t%s\t%s\t%s\n' "$user*$LAB_MASTER_USER" \
			"$(lab_master_password)" "$DST_IMAP_PORT" "$DST_POP3_PORT"
	fi
}

# lc_snap src|dst USER OUT.json
lc_snap() {
	local login pw port _ eol=()
	IFS=$'\t' read -r login pw port _ < <(lc__login "$1" "$2")
	[ "${LC_EOL:-0}" = 1 ] && eol=(--eol)
	MAILCMP_LOGIN=$login MAILCMP_PASSWORD=$pw python3 \
		"$LAB_LIB_DIR/mailstate.py" snap "$port" "$3" \
		--exclude "$LAB_POP3_NS" "${eol[@]}" </dev/null
}

# lc_pop3 src|dst USER OUT: "msgnum uidl" lines
lc_pop3() {
	local login pw port
	IFS=$'\t' read -r login pw _ port < <(lc__login "$1" "$2")
	POP3_PASSWORD=$pw python3 "$LAB_LIB_DIR/pop3-uidl.py" 127.0.0.1 \
		"$port" "$login" </dev/null >"$3"
}

# lc_activity USER: what a user does here after the MX switch:
#  - 4 messages delivered into INBOX,
#  - a new folder Projects, 2 messages of INBOX moved there,
#  - \Flagged set on one message, a keyword on another, \Seen taken off a
#    third,
#  - a POP3 client that downloads and deletes: RETR + DELE of the first 2
#    and the last 3 messages of its list (the last ones are what dsync's
#    one-way sync used to bring back).
# The POP3 client's UIDL list afterwards is $LAB/USER.client.uidl.
lc_activity() {
	local user=$1 i pw port inbox
	inbox=${LC_PREFIX:+$LC_PREFIX/}INBOX
	for i in 1 2 3 4; do
		printf 'From: someone@example.net\r\nTo: %s\r\nSubject: delivered here %s\r\nDate: Sun, 6 Dec 2026 12:0%s:00 +0000\r\nMessage-ID: <here-%s-%s@example.net>\r\n\r\nmail delivered to the new server after the switch\r\n' \
			"$user" "$i" "$i" "$i" "$user" |
			doveadm -c "$DST_CONF" save -u "$user" -m INBOX ||
			return 1
	done
	doveadm -c "$DST_CONF" mailbox create -u "$user" Projects || return 1
	doveadm -c "$DST_CONF" move -u "$user" Projects mailbox "$inbox" \
		uid 3:4 || return 1
	doveadm -c "$DST_CONF" flags add -u "$user" '\Flagged' mailbox \
		"$inbox" uid 5 || return 1
	doveadm -c "$DST_CONF" flags add -u "$user" 'todo' mailbox "$inbox" \
		uid 6 || return 1
	doveadm -c "$DST_CONF" flags remove -u "$user" '\Seen' mailbox \
		"$inbox" uid 8 || return 1
	if [ -z "${LC_PREFIX:-}" ]; then
		IFS=$'\t' read -r _ _ _ port < <(lc__login dst "$user")
		pw=$(lab__user_password "$user")
		POP3_PASSWORD=$pw python3 "$LAB_LIB_DIR/pop3-dele.py" 127.0.0.1 \
			"$port" "$user" 1 2 -1 -2 -3 </dev/null \
			>"$LAB/$user.deleted.uidl" || return 1
	fi
	lc_pop3 dst "$user" "$LAB/$user.client.uidl"
}

# lc_mark USER: what the old server looks like when the account stops
# mirroring it (right after the last catch-up pass).
lc_mark() {
	lc_snap src "$1" "$LAB/$1.src-mark.json" &&
		lc_pop3 src "$1" "$LAB/$1.src-mark.uidl"
}

# lc_worked USER: what the user left here (after lc_activity).
lc_worked() {
	lc_snap dst "$1" "$LAB/$1.worked.json"
}

# lc_expect_additive USER TAG: after an additive pass, the account here
# must be exactly what the user left plus the old server's new mail (by
# content and flags, per folder: nothing lost, twice or brought back), and
# a POP3 client that knew the list must download exactly the old server's
# new messages, in its order. Asserts both (FAIL lines named TAG).
lc_expect_additive() {
	local user=$1 tag=$2 prefix=() r
	[ -n "${LC_PREFIX:-}" ] && prefix=(--prefix "$LC_PREFIX/")
	for r in ${LC_RENAME:-}; do prefix+=(--rename "$r"); done
	lc_snap src "$user" "$LAB/$user.src-now.json" || return 1
	lc_snap dst "$user" "$LAB/$user.dst-now.json" || return 1
	python3 "$LAB_LIB_DIR/mailstate.py" expect "$LAB/$user.worked.json" \
		"$LAB/$user.src-mark.json" "$LAB/$user.src-now.json" \
		"$LAB/$user.expected.json" "${prefix[@]}" || return 1
	python3 "$LAB_LIB_DIR/mailstate.py" compare "$LAB/$user.expected.json" \
		"$LAB/$user.dst-now.json" >"$LAB/$user.compare"
	assert_eq "identical" "$(head -1 "$LAB/$user.compare" | cut -d' ' -f1)" \
		"$tag: $user here = what the user left + the old server's new mail ($(head -1 "$LAB/$user.compare"))" ||
		{ cat "$LAB/$user.compare"; return 1; }
	[ -n "${LC_PREFIX:-}" ] && return 0
	lc_pop3 src "$user" "$LAB/$user.src-now.uidl"
	lc_pop3 dst "$user" "$LAB/$user.dst-now.uidl"
	local out
	out=$(python3 "$LAB_LIB_DIR/mailstate.py" pop3new \
		"$LAB/$user.client.uidl" "$LAB/$user.dst-now.uidl" \
		"$LAB/$user.src-mark.uidl" "$LAB/$user.src-now.uidl")
	assert_eq "same" "${out%% *}" \
		"$tag: $user's POP3 client downloads exactly the old server's new messages, in order ($out)"
}
