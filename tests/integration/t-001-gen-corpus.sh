#!/bin/bash
# t-001: the corpus generator, no servers.
#   deterministic  same seed => byte-identical files with identical names;
#                  another seed => other messages
#   mix            2,000 messages contain every quirk the lab promises and
#                  sizes stay within 1 KB - 200 KB (odd ones excepted)
#   speed          20,000 messages in under 60 s (T001_BIG=0 skips it)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
gen="$here/gen-corpus.py"

work=$(mktemp -d /tmp/dmt001.XXXXXX)
trap 'rm -rf "$work"' EXIT

digest() {
	(cd "$1" && find . -type f | sort | xargs -d '\n' sha1sum | sha1sum | cut -d' ' -f1)
}

LAB_TEST_NAME=t-001-deterministic
python3 "$gen" --count 300 --seed 42 --out "$work/a/Maildir" --quiet
python3 "$gen" --count 300 --seed 42 --out "$work/b/Maildir" --quiet
python3 "$gen" --count 300 --seed 43 --out "$work/c/Maildir" --quiet
da=$(digest "$work/a/Maildir")
assert_eq "$da" "$(digest "$work/b/Maildir")" "seed 42 twice gives identical files and names"
if [ "$da" = "$(digest "$work/c/Maildir")" ]; then
	fail "$LAB_TEST_NAME" "seed 43 produced the same corpus as seed 42"
	exit 1
fi
assert_eq 300 "$(find "$work/a/Maildir/new" "$work/a/Maildir/cur" -type f | wc -l)" "files written"
assert_eq 0 "$(find "$work/a/Maildir/tmp" -type f | wc -l)" "nothing left in tmp/"
# a second batch continues after the newest file name time stamp
python3 "$gen" --count 10 --seed 44 --out "$work/a/Maildir" --quiet
newest_first=$(find "$work/a/Maildir" -name '*Q0.dmlab*' -printf '%f\n' | sort | tail -n 1 | cut -d. -f1)
assert_eq 1700000300 "$newest_first" "second batch starts after the first"
pass "$LAB_TEST_NAME"

LAB_TEST_NAME=t-001-mix
python3 "$gen" --count 2000 --seed 7 --out "$work/m/Maildir" --manifest "$work/m.jsonl" --quiet
report=$(python3 - "$work/m.jsonl" "$work/m/Maildir" <<'EOF'
import json, os, sys
want = ["alternative", "attachment", "crlf", "mixed-eol", "encoded-subject",
        "8bit-subject", "8bit-body", "long-to", "long-subject",
        "long-received-chain", "no-date", "no-message-id", "dup-exact",
        "dup-header", "same-size", "empty-body", "header-only"]
seen = {}
sizes = []
problems = []
for line in open(sys.argv[1]):
    m = json.loads(line)
    for t in m["tags"]:
        seen[t] = seen.get(t, 0) + 1
    data = open(os.path.join(sys.argv[2], m["file"]), "rb").read()
    if len(data) != m["size"]:
        problems.append("size mismatch %s" % m["file"])
    if ",S=%d,W=%d" % (len(data), len(data) + data.count(b"\n") - data.count(b"\r\n")) not in m["file"]:
        problems.append("bad S=/W= in %s" % m["file"])
    odd = {"header-only", "empty-body", "dup-header"} & set(m["tags"])
    if not odd:
        sizes.append(m["size"])
missing = [t for t in want if t not in seen]
if missing:
    problems.append("missing kinds: " + ",".join(missing))
if sizes and (min(sizes) < 1024 or max(sizes) > 200 * 1024):
    problems.append("sizes out of range: %d..%d" % (min(sizes), max(sizes)))
small = sum(1 for s in sizes if s <= 8 * 1024)
if small * 2 < len(sizes):
    problems.append("not mostly small: %d of %d <= 8 KB" % (small, len(sizes)))
print("; ".join(problems) if problems else
      "ok %d kinds, sizes %d..%d, %d%% <= 8 KB" % (
          len(seen), min(sizes), max(sizes), 100 * small // len(sizes)))
EOF
)
case $report in
ok*) echo "ok: $report" ;;
*) fail "$LAB_TEST_NAME" "$report"; exit 1 ;;
esac
pass "$LAB_TEST_NAME"

if [ "${T001_BIG:-1}" != 0 ]; then
	LAB_TEST_NAME=t-001-speed
	t0=${EPOCHREALTIME/./}
	python3 "$gen" --count 20000 --seed 1 --out "$work/big/Maildir" --quiet
	ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
	echo "ok: 20000 messages in $ms ms ($(du -sm "$work/big/Maildir" | cut -f1) MB)"
	if [ "$ms" -ge 60000 ]; then
		fail "$LAB_TEST_NAME" "20000 messages took $ms ms"
		exit 1
	fi
	rm -rf "$work/big"
	pass "$LAB_TEST_NAME"
fi
