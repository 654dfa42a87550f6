#!/bin/bash
# test_isolation.sh -- an analysis that goes wrong harms no other and no
# record but its own field, where it went wrong:
#   - an error for some flows: its field is left out of exactly the records
#     (every granularity) whose window holds such a flow, each error counted
#     and logged: one line per message a minute, with the host, the window
#     and how many more came, the traceback with -v;
#   - an error on every flow: disabled past analyses.max_errors, with a
#     report; SIGHUP re-enables it;
#   - one host failing on every flow: only its records lose the field (at
#     most analyses.max_host_errors of one host count toward max_errors);
#   - an endless loop the JIT cannot compile: interrupted past
#     analyses.max_batch, disabled, the run goes on;
#   - an endless loop in compiled code: nothing can interrupt it; the
#     watchdog reports it and stops hostflow with status 3.
# The other analyses' fields equal those of a run without the bad one.
. "$(dirname "$0")/assert.sh"

"$FLOWGEN" --seed 23 --flows 100000 --hosts 600 --rate 1000 --late 0 --malformed 0 --outside 0 \
    --truth "$WORK/truth.csv" >"$WORK/flows.ndjson"
part() { sed -n "$1,$2p" "$WORK/flows.ndjson"; }
wait_for() {
    for _ in $(seq 100); do grep -q -- "$1" "$2" && return 0; sleep 0.1; done
    echo "  timed out waiting for: $1"; tail -n 5 "$2" | sed 's/^/  | /'; return 1
}

# probe: bytes of the host's flows to port 22.  BAD is what goes wrong,
# when COND holds: by default for the flows of "unlucky" hosts (last address
# byte % 4 == 3) to port 22.  The sample flows of the reload check are of
# 2025 and of lucky hosts, so every version passes it.
UNLUCKY='flow.dport == 22 and flow.src[15] % 4 == 3'
probe() {  # probe BAD [COND] > file
    cat <<EOF
local hf = require "hostflow"
return hf.analysis {
  name = "probe", order = 60,
  state = { bytes = hf.sum() },
  update = function(s, flow)
    if ${2:-$UNLUCKY} then $1 end
    if flow.dport == 22 then s.bytes = s.bytes + flow.bytes end
  end,
}
EOF
}
setup() {  # setup NAME BAD [CONF [COND]]: an analyses dir with the five and probe
    mkdir -p "$WORK/$1"
    cp "$ROOT"/analyses/*.lua "$WORK/$1/"
    probe "$2" "${4:-}" >"$WORK/$1/probe.lua"
    printf 'return { max_line = "4KiB", analyses = { dir = "%s", %s } }\n' "$WORK/$1" "${3:-}" \
        >"$WORK/$1.conf"
}
run() {  # run NAME [flags]: hostflow over the flows with that setup
    local name=$1; shift
    "$HOSTFLOW" run -c "$WORK/$name.conf" -i "$WORK/flows.ndjson" -o "$WORK/$name.ndjson" \
        --stats "$WORK/$name.json" "$@" 2>"$WORK/$name.err"
}

setup ref ""
run ref -j2

# same.py REF OUT [probe-rule]: the other fields equal; probe as the rule says
cat >"$WORK/same.py" <<'EOF'
import csv, ipaddress, json, sys
def load(p):
    return {r["id"]: r for r in map(json.loads, open(p)) if r["@type"] == "host_stats"}
ref, out, rule = load(sys.argv[1]), load(sys.argv[2]), sys.argv[3]
others = ["total", "avg_flow_duration", "dport_count", "peer_number", "tcp_flags"]
bad = []
if set(ref) != set(out): bad.append("records differ: %d vs %d" % (len(ref), len(out)))
# the (host, granularity, window) that hold a flow of an unlucky host to port 22
hit = set()
if rule == "per-window":
    for f in csv.DictReader(open(sys.argv[4])):
        a = ipaddress.ip_address(f["src"])
        if int(f["dport"]) == 22 and a.packed[-1] % 4 == 3:
            end = int(f["end_ms"])
            for g in (10, 30, 60, 300):
                hit.add("%s/%d/%d" % (a, g, end // (g * 1000) * g * 1000))
left_out = kept = 0
for i, r in out.items():
    if i not in ref: continue
    for k in others:
        if r["stats"].get(k) != ref[i]["stats"].get(k): bad.append(i + ": " + k)
    p, rp = r["stats"].get("probe"), ref[i]["stats"].get("probe")
    if rule == "per-window":
        want = None if i in hit else rp
    elif rule == "absent":
        want = None
    else:
        want = rp
    if p != want: bad.append("%s: probe %s, expected %s" % (i, p, want))
    if p is None: left_out += 1
    else: kept += 1
for b in bad[:10]: print("  mismatch:", b)
print("  %d records: probe left out of %d, kept in %d; %d (host, window) with a failing flow"
      % (len(out), left_out, kept, len(hit)))
sys.exit(1 if bad else 0)
EOF

# 1. an error for some flows: left out exactly where it happened
setup some 'error("unlucky host")' 'max_errors = 1000000'
run some -j2
check "an analysis raising errors does not stop the run" [ $? -eq 0 ]
check "its field is left out of exactly the records whose window holds a failing flow, the rest equal" \
    python3 "$WORK/same.py" "$WORK/ref.ndjson" "$WORK/some.ndjson" per-window "$WORK/truth.csv"
failing=$(python3 -c "
import csv, ipaddress
print(sum(1 for f in csv.DictReader(open('$WORK/truth.csv'))
          if int(f['dport']) == 22 and ipaddress.ip_address(f['src']).packed[-1] % 4 == 3))")
check "every error is counted ($failing flows)" \
    [ "$(json_get "$WORK/some.json" 'int(d["analyses"]["probe"]["errors"])')" = "$failing" ]
line_re='^hostflow: warning: probe: .*probe\.lua:6: unlucky host \(host [0-9a-f.:]+, window 10s@[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z: field left out there and in the coarser windows\)'
check "the log names the analysis, the error, the host and the window" grep -qE "$line_re" "$WORK/some.err"
# the run takes less than a minute: each of the two workers writes its first
# error at once and the count of the others at the end of the input
check "at most two lines per worker and message" \
    [ "$(grep -c '^hostflow: warning: probe: ' "$WORK/some.err")" -le 4 ]
# 1 + "N more like this" of each line
logged=$(python3 -c "
import re, sys
n = 0
for l in open(sys.argv[1]):
    if l.startswith('hostflow: warning: probe: '):
        m = re.search(r'\u2014 ([0-9,]+) more like this in the last minute\$', l)
        n += 1 + (int(m.group(1).replace(',', '')) if m else 0)
print(n)" "$WORK/some.err")
check "every error is in the lines' counts ($logged of $failing)" [ "$logged" = "$failing" ]
check "no traceback without -v" sh -c "! grep -q 'stack traceback:' '$WORK/some.err'"
run some -j1 -v
check "-v: a traceback of the analysis's frames under the line" \
    python3 -c "
import sys
t = open(sys.argv[1]).read()
i = t.index('hostflow: warning: probe: ')
tb = t[i:].split(chr(10))[1:3]
sys.exit(not (tb[0] == 'stack traceback:' and 'probe.lua:6: in function' in t[i:i + 2000]
              and 'hostflow/runtime/' not in t[i:i + 2000]))" "$WORK/some.err"
check "the analysis is not disabled for a few errors" \
    [ "$(json_get "$WORK/some.json" 'd["analyses"]["probe"]["disabled"]')" = False ]

# 2. an error on every flow: disabled past the budget
setup always 'error("broken")' 'max_errors = 50' 'flow.end_ms > 1790000000000'
run always -j2
check "an analysis that keeps failing does not stop the run" [ $? -eq 0 ]
check "it is disabled past analyses.max_errors, with a report" \
    grep -q 'error: analysis probe (.*) disabled in worker [01]: more than 50 errors in a minute, from [0-9]* hosts (analyses.max_errors; at most 10 of each host count: analyses.max_host_errors); its field is left out' "$WORK/always.err"
check "its field is in no record; every other field equals the run without it" \
    python3 "$WORK/same.py" "$WORK/ref.ndjson" "$WORK/always.ndjson" absent
check "the counters say it is disabled" \
    [ "$(json_get "$WORK/always.json" 'd["analyses"]["probe"]["disabled"]')" = True ]
# each worker counts at most 10 errors of a host toward the budget of 50,
# so it stops once some 5 hosts have failed 10 times: a small part of the flows
check "it stopped running: errors stay far below the failing flows" \
    [ "$(json_get "$WORK/always.json" 'int(d["analyses"]["probe"]["errors"]) * 10 < d["monitored"]')" = True ]

# 2b. one busy host that makes it fail on every flow (an attacker's traffic,
#     say) loses the field in its own records; the analysis is not switched
#     off for the others (at most analyses.max_host_errors of a host count)
read -r busy busy_flows < <(tail -n +2 "$WORK/truth.csv" | cut -d, -f1 | sort | uniq -c | sort -rn |
                            awk 'NR == 1 {print $2, $1}')
IFS=. read -r b0 b1 b2 b3 <<<"$busy"
setup busy 'error("this host again")' '' \
    "flow.src[12] == $b0 and flow.src[13] == $b1 and flow.src[14] == $b2 and flow.src[15] == $b3"
run busy -j2
busy_records() {
    python3 - "$WORK/ref.ndjson" "$WORK/busy.ndjson" "$busy" <<'PY'
import json, sys
# host records only: the detections' host_alert records are not the probe's
ref = {r["id"]: r for r in map(json.loads, open(sys.argv[1])) if r["@type"] == "host_stats"}
out = {r["id"]: r for r in map(json.loads, open(sys.argv[2])) if r["@type"] == "host_stats"}
bad = [i for i, r in out.items() if (r["src_ip"] == sys.argv[3]) != ("probe" not in r["stats"])
       or (r["src_ip"] != sys.argv[3] and r["stats"] != ref[i]["stats"])]
mine = sum(1 for r in out.values() if r["src_ip"] == sys.argv[3])
print(f"  {len(out)} records: the busy host's {mine} without probe, the others' all equal to the "
      f"reference: {not bad}")
sys.exit(1 if bad or set(ref) != set(out) else 0)
PY
}
echo "  the busy host $busy sends $busy_flows flows; analyses.max_errors is 1000"
check "one busy host failing on every flow: the analysis stays on" \
    [ "$(json_get "$WORK/busy.json" 'd["analyses"]["probe"]["disabled"]')" = False ]
check "... its errors are counted ($busy_flows)" \
    [ "$(json_get "$WORK/busy.json" 'int(d["analyses"]["probe"]["errors"])')" = "$busy_flows" ]
check "... only its own records lose the field; every other record is as without it" busy_records

# 3. an endless loop the JIT cannot compile (a call to a C function each
#    turn): interrupted at analyses.max_batch, then disabled
setup interp 'while true do local _ = os.clock() end' 'max_batch = "200ms", watchdog = "30s", trusted = { "probe" }'
start=$(date +%s)
run interp -j2
rc=$?
check "an interpreted endless loop is interrupted: the run ends with status 0" [ $rc -eq 0 ]
check "... in time (the watchdog's grace is not needed)" [ $(( $(date +%s) - start )) -lt 20 ]
check "the watchdog says which analysis it interrupts" \
    grep -q 'warning: watchdog: analysis probe has run for [0-9]* ms in worker [01] (its time: 200 ms): interrupting it' "$WORK/interp.err"
check "the interrupted analysis is disabled for its time" \
    grep -q 'analysis probe (.*) disabled in worker [01]: [0-9]* ms of CPU time over a batch of [0-9]* flows (analyses.max_batch: 200 ms)' "$WORK/interp.err"
check "the other fields are untouched" python3 - "$WORK/ref.ndjson" "$WORK/interp.ndjson" <<'EOF'
import json, sys
ref = {r["id"]: r for r in map(json.loads, open(sys.argv[1])) if r["@type"] == "host_stats"}
out = {r["id"]: r for r in map(json.loads, open(sys.argv[2])) if r["@type"] == "host_stats"}
ok = set(ref) == set(out) and all(
    {k: v for k, v in out[i]["stats"].items() if k != "probe"} ==
    {k: v for k, v in ref[i]["stats"].items() if k != "probe"} for i in out)
sys.exit(0 if ok else 1)
EOF

# 4. an endless loop in compiled code: the watchdog stops hostflow
setup compiled 'local x = 0 while true do x = x + 1 end' 'max_batch = "100ms", watchdog = "1s"'
start=$(date +%s)
run compiled -j2
rc=$?
check "a compiled endless loop: the watchdog stops hostflow with status 3" [ $rc -eq 3 ]
check "... within seconds" [ $(( $(date +%s) - start )) -lt 20 ]
check "its report names the analysis and the worker, and says why" \
    grep -q 'error: watchdog: analysis probe has run for [0-9.]* s in worker [01] .* an endless loop in compiled code.  Stopping hostflow' "$WORK/compiled.err"
watchdog_report() {
    grep -q '^hostflow counters after' "$WORK/compiled.err" &&
        [ "$(json_get "$WORK/compiled.json" 'd["records_read"] > 0')" = True ]
}
check "... and writes the counters first, --stats included (issue 10)" watchdog_report

# 5. SIGHUP re-enables a disabled analysis
setup hup 'error("early")' 'max_errors = 5' 'flow.end_ms > 1790000000000 and flow.end_ms < 1795701630000'
mkfifo "$WORK/fifo"
"$HOSTFLOW" run -j2 -c "$WORK/hup.conf" -i "$WORK/fifo" -o "$WORK/hup.ndjson" 2>"$WORK/hup.err" &
pid=$!
exec 3>"$WORK/fifo"
part 1 40000 >&3
wait_for "disabled in worker" "$WORK/hup.err"
check "an analysis failing early is disabled" grep -q 'analysis probe (.*) disabled' "$WORK/hup.err"
kill -HUP $pid
wait_for "reloading (SIGHUP)" "$WORK/hup.err"; sleep 0.5
part 40001 43000 >&3
check "SIGHUP re-enables it" wait_for "probe: re-enabled, version 1, for windows from" "$WORK/hup.err"
part 43001 100000 >&3
exec 3>&-
wait $pid
check "the run ends with status 0" [ $? -eq 0 ]
check "after it is re-enabled, its field is back and right" python3 - "$WORK/ref.ndjson" "$WORK/hup.ndjson" "$WORK/hup.err" <<'EOF'
import datetime, json, re, sys
ref = {r["id"]: r for r in map(json.loads, open(sys.argv[1])) if r["@type"] == "host_stats"}
out = {r["id"]: r for r in map(json.loads, open(sys.argv[2])) if r["@type"] == "host_stats"}
m = re.search(r"probe: re-enabled, version 1, for windows from (\S+)", open(sys.argv[3]).read())
S = int(datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ")
        .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
after = [i for i, r in out.items() if r["window"]["start_ms"] >= S]
ok = all(out[i]["stats"].get("probe") == ref[i]["stats"].get("probe") for i in after)
before = sum(1 for r in out.values() if r["window"]["start_ms"] < S and "probe" in r["stats"])
print("  %d records from the re-enable point, all equal to the reference: %s; probe in %d before"
      % (len(after), ok, before))
sys.exit(0 if ok and after else 1)
EOF
[ -n "${KEEP:-}" ] && cp -r "$WORK" "$KEEP"   # KEEP=DIR: keep the files to look at
finish
