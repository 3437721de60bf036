#!/usr/bin/env bash
# The admin's view of a migration (docs/commands.md, run and status):
#  - while a throttled run of 1500 messages goes, `status -f json` shows
#    its progress rising (folder, messages and bytes copied of what the
#    pass has to copy, rate, ETA), ending at the totals; without a
#    terminal the run logs a progress line every migrate_progress_interval;
#  - every run has a log file (direct runs too), named in status, with
#    the run's own lines and its children's output;
#  - status for people: IEC sizes, the totals and the failed accounts by
#    cause below the table, the whole error with -u; the JSON of status
#    and of --totals validates against docs/status.schema.json;
#  - batch logs its progress without a terminal, with an ETA;
#  - the run's named events (migrate_run_started/_progress/_finished)
#    reach Dovecot's statistics: a metric {} counts them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LAB_TEST_NAME=progress-status
lab_init
top=$(cd "$(dirname "$0")/../.." && pwd)
lab_user_add big@example.com pw-big
lab_user_add bad@example.com pw-bad
lab_user_add b1@example.com pw-b1
lab_user_add b2@example.com pw-b2
lab_corpus big@example.com 1500 61
lab_corpus bad@example.com 5 62
lab_corpus b1@example.com 300 63
lab_corpus b2@example.com 300 64
lab_source_start
LAB_DST_EXTRA_CONF='metric migrate_run_finished {
  filter = event=migrate_run_finished
}
metric migrate_run_progress {
  filter = event=migrate_run_progress
}'
lab_dest_start sdbox
lab_migration_conf migrate_pop3 migrate_throttle
lab_migration_conf_add "plugin {" "  migrate_throttle_msgs = 150" \
	"  migrate_progress_interval = 1s" "}"

status_json() {
	doveadm -c "$MIG_CONF" -f json migrate status "$@" 2>/dev/null
}
# jget FIELD < json (of one account)
jget() {
	python3 -c 'import json, sys
rows = json.load(sys.stdin)
print(rows[0][sys.argv[1]] if rows else "")' "$1"
}

# --- progress while a run goes (no terminal: stderr is a file)
doveadm -c "$MIG_CONF" migrate run -u big@example.com </dev/null \
	>"$LAB/run.out" 2>"$LAB/run.err" &
run_pid=$!
samples=$LAB/samples
: >"$samples"
while kill -0 "$run_pid" 2>/dev/null; do
	status_json -u big@example.com | python3 -c 'import json, sys
r = json.load(sys.stdin)[0]
if r["status"] == "running" and r["progress_updated"]:
    print(r["progress_messages"], r["progress_bytes"],
          r["progress_messages_todo"], r["progress_bytes_todo"],
          r["progress_folder"], r["progress_folder_n"],
          r["progress_folders"], r["progress_rate"], r["progress_eta"])' >>"$samples" || true
	sleep 1
done
rc=0; wait "$run_pid" || rc=$?
assert_eq 0 "$rc" "throttled run of 1500 messages" || cat "$LAB/run.err"
echo "samples (messages bytes todo bytes_todo folder n folders rate eta):"
sed 's/^/    /' "$samples"
# enough samples while it ran, rising, within the totals, with a total
python3 - "$samples" <<'EOF' || fail "$LAB_TEST_NAME" "progress while running isn't right"
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
ok = True
def check(cond, what):
    global ok
    print(("ok: " if cond else "FAIL: progress-status: ") + what)
    ok = ok and cond
check(len(rows) >= 4, "%d progress samples while running" % len(rows))
msgs = [int(r[0]) for r in rows]
check(msgs == sorted(msgs) and msgs[-1] > msgs[0], "messages copied rise: %s" % msgs)
check(all(0 <= m <= 1500 for m in msgs), "never beyond the 1500 to copy")
check(any(0 < m < 1500 for m in msgs), "seen in the middle")
check(all(r[2] == "1500" for r in rows), "1500 messages to copy, known from the start")
check(all(int(r[3]) > 0 for r in rows), "bytes to copy known")
mid = [r for r in rows if 0 < int(r[0]) < 1500]
check(all(r[4] == "INBOX" and r[5] == "1" and r[6] == "1" for r in mid), "folder INBOX 1/1")
check(any(int(r[7]) > 0 and int(r[8]) > 0 for r in mid), "a rate and an ETA")
sys.exit(0 if ok else 1)
EOF
status_json -u big@example.com >"$LAB/final.json"
assert_eq finished "$(jget status <"$LAB/final.json")" "status: finished"
assert_eq 1500 "$(jget messages <"$LAB/final.json")" "status: 1500 messages here"
assert_eq 0 "$(jget progress_messages <"$LAB/final.json")" "no progress once finished"
# the progress lines of a run without a terminal
n=$(grep -c "migrate run: user big@example.com: INBOX (1/1): [0-9]* of 1500 messages" "$LAB/run.err" || true)
[ "$n" -ge 3 ] && echo "ok: $n progress lines logged" ||
	fail "$LAB_TEST_NAME" "progress lines logged: $n"

# --- the run's log file, named in status
log=$(jget log <"$LAB/final.json")
assert_eq "$LAB/state/big@example.com.log" "$log" "status names the run's log"
assert_ok "the log has the run's start" grep -q "migrate run: user big@example.com: started" "$log"
assert_ok "the log has the run's end" grep -q "migrate run: user big@example.com: finished: 1500 messages" "$log"
assert_ok "the log has dsync's output" grep -q "dsync(big@example.com)" "$log"

# --- a failure, and status for people
cp "$MIG_CONF" "$LAB/badpw.conf"
echo "imapc_password = wrong" >>"$LAB/badpw.conf"
rc=0; doveadm -c "$LAB/badpw.conf" migrate run -u bad@example.com \
	</dev/null >/dev/null 2>&1 || rc=$?
assert_eq 77 "$rc" "wrong password: exit 77"
doveadm -c "$MIG_CONF" migrate status >"$LAB/people.out" 2>&1
cat "$LAB/people.out"
assert_ok "people: sizes in IEC units" grep -qE "^big@example.com +finished .* [0-9.]+ (KiB|MiB) " "$LAB/people.out"
assert_ok "people: totals below the table" grep -q "^2 accounts: 1 finished, 1 failed, 0 running" "$LAB/people.out"
assert_ok "people: failures by cause" grep -q "^failed: 1 login refused (77)" "$LAB/people.out"
long=$(awk 'length > 200' "$LAB/people.out" | wc -l)
assert_eq 0 "$long" "people: no line longer than 200 characters"
doveadm -c "$MIG_CONF" migrate status -u bad@example.com >"$LAB/detail.out" 2>&1
assert_ok "detail: the whole error" grep -q "error=IMAP server 127.0.0.1:$SRC_IMAP_PORT: login refused (wrong password or unknown user): .*Authentication failed" "$LAB/detail.out"
assert_ok "detail: the exit code" grep -q "exit_code=77" "$LAB/detail.out"

# --- the JSON validates against the documented schema
status_json >"$LAB/all.json"
doveadm -c "$MIG_CONF" -f json migrate status --totals >"$LAB/totals.json" 2>/dev/null
python3 - "$top/docs/status.schema.json" "$LAB/all.json" "$LAB/totals.json" <<'EOF' ||
import json, re, sys
# the subset of JSON Schema the document uses
def check(schema, value, root, path="$"):
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].split("/")[-1]]
    t = schema.get("type")
    types = {"array": list, "object": dict, "string": str}
    if t == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), "%s: not an integer: %r" % (path, value)
    elif t:
        assert isinstance(value, types[t]), "%s: not %s: %r" % (path, t, value)
    if "enum" in schema:
        assert value in schema["enum"], "%s: %r not in %s" % (path, value, schema["enum"])
    if "minimum" in schema:
        assert value >= schema["minimum"], "%s: %r < %s" % (path, value, schema["minimum"])
    if "minLength" in schema:
        assert len(value) >= schema["minLength"], "%s: too short" % path
    if t == "array":
        assert len(value) >= schema.get("minItems", 0), "%s: too few items" % path
        assert len(value) <= schema.get("maxItems", 10**9), "%s: too many items" % path
        for i, v in enumerate(value):
            check(schema["items"], v, root, "%s[%d]" % (path, i))
    if t == "object":
        for k in schema.get("required", []):
            assert k in value, "%s: %s missing" % (path, k)
        for k, v in value.items():
            if k in schema.get("properties", {}):
                check(schema["properties"][k], v, root, path + "." + k)
                continue
            pats = [p for p in schema.get("patternProperties", {}) if re.match(p, k)]
            if pats:
                check(schema["patternProperties"][pats[0]], v, root, path + "." + k)
                continue
            assert schema.get("additionalProperties", True) is not False, "%s: unexpected %s" % (path, k)
schema = json.load(open(sys.argv[1]))
check(schema, json.load(open(sys.argv[2])), schema)
check({"$ref": "#/$defs/totals"}, json.load(open(sys.argv[3])), schema)
totals = json.load(open(sys.argv[3]))[0]
assert totals["accounts"] == 2 and totals["failed_exit_77"] == 1, totals
print("ok: status and --totals JSON validate against docs/status.schema.json")
EOF
	fail "$LAB_TEST_NAME" "status JSON doesn't validate against the schema"
assert_ok "no fake account in the JSON" python3 -c 'import json, sys
sys.exit(any(r["user"].startswith("(") for r in json.load(open(sys.argv[1]))))' "$LAB/all.json"

# --- batch: progress logged without a terminal, with an ETA
csv=$LAB/accounts.csv
printf 'email,password\nb1@example.com,pw-b1\nb2@example.com,pw-b2\n' >"$csv"
chmod 600 "$csv"
rc=0; doveadm -c "$MIG_CONF" migrate batch -F "$csv" -n 1 </dev/null \
	>"$LAB/batch.out" 2>"$LAB/batch.err" || rc=$?
assert_eq 0 "$rc" "batch of two throttled accounts"
n=$(grep -c "migrate batch: [0-9]/2 accounts done, [0-9] running, 0 failed, [0-9]* messages" "$LAB/batch.err" || true)
[ "$n" -ge 3 ] && echo "ok: $n batch progress lines" ||
	fail "$LAB_TEST_NAME" "batch progress lines: $n"
assert_ok "batch: an ETA from the sizes" grep -qE "migrate batch: 1/2 accounts done, 1 running, .* left$" "$LAB/batch.err"

# --- the named events reach Dovecot's statistics
doveadm -c "$DST_CONF" stats dump >"$LAB/stats.out" 2>&1 || true
finished=$(awk '$1 == "migrate_run_finished" && $2 == "duration" {print $3}' "$LAB/stats.out")
progressed=$(awk '$1 == "migrate_run_progress" && $2 == "duration" {print $3}' "$LAB/stats.out")
[ "${finished:-0}" -ge 4 ] && echo "ok: metric migrate_run_finished counted $finished runs" ||
	{ fail "$LAB_TEST_NAME" "metric migrate_run_finished: '${finished:-}'"; head -5 "$LAB/stats.out"; }
[ "${progressed:-0}" -ge 1 ] && echo "ok: metric migrate_run_progress counted $progressed" ||
	fail "$LAB_TEST_NAME" "metric migrate_run_progress: '${progressed:-}'"

[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
