#!/usr/bin/env bash
# Run every lab24 scenario (on Dovecot 2.4 in DOVECOT24_ROOT, or with
# LAB_DOVECOT=2.3 on the host's Dovecot 2.3) and print their reports.
# Needs root (chroot), python3 and ss on the host.
cd "$(dirname "$0")" || exit 1
for t in t1-imapc-login-fail t2-sdbox-pop3-uidl t3-empty-header \
	t3f-empty-header-fake t4-nul-flags t5-percent-folder t2h-pop3c-uidl-error; do
	echo "##### $t"
	./"$t".sh
done
# t3c-courier-empty-header.sh needs the project's lab Courier (not run here)
