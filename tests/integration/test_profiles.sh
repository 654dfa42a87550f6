#!/bin/bash
# test_profiles.sh -- host profiles and the profile_deviation rule on
# simulated days (flowgen --days, time compressed: days of 4 hours, so the
# profile's hour is 10 minutes and its week of learning 28 hours):
#   - a twentyfold jump after the learning week gives one alert (and its
#     updates) with the host's observed value and its usual one, a new
#     destination port one alert, a jump during the learning week none, and
#     no other host any: daily rhythm and +-10 % noise raise nothing;
#   - the host records stay as they are, but for the alert flag;
#   - host_profile records at the day's end;
#   - the same with two workers;
#   - SIGKILL mid-run and a restart over the same flows: the profiles
#     equal an uninterrupted run's (nothing absorbed twice);
#   - a truncated or foreign profile file is set aside with a message that
#     names it, and hostflow starts with empty profiles;
#   - four workers, made at once, each take their hosts from two workers'
#     files; a bad file is reported and set aside once; an analysis that
#     fails in a later worker fails the start with its error.
. "$(dirname "$0")/assert.sh"

D=14400000                 # a simulated day: 4 h
T0=1795651200000           # 2026-11-26T00:00:00Z
FLOWS=$WORK/days.ndjson
"$FLOWGEN" --days 8 --day-ms $D --hosts 12 --start-ms $T0 --seed 7 \
    --deviate 3,$((D * 15 / 2)),300000,20 --deviate 6,$((D * 2)),300000,20 \
    --new-port 5,$((D * 77 / 10)),6667 --out "$FLOWS"

conf() {   # conf FILE [ANALYSES_DIR [PARAMS]]: the networks, the compressed day, saves every second
    local params=${3:-'{ profile = { slot = "10m", learn = "28h" } }'}
    cat >"$1" <<EOF
return {
  networks = { "10.0.0.0/8", "2001:db8::/32" },
  analyses = { dir = "${2:-$ROOT/analyses}", params = $params },
  profiles = { save = "1s" },
}
EOF
}
conf "$WORK/conf.lua"
json_true() { [ "$(json_get "$1" "$2")" = True ]; }

"$HOSTFLOW" run -q -c "$WORK/conf.lua" -j1 -i "$FLOWS" -o "$WORK/out1" --stats "$WORK/st1.json"
check "a run over eight simulated days ends well" [ $? -eq 0 ]
"$HOSTFLOW" run -q -c "$WORK/conf.lua" -j2 -i "$FLOWS" -o "$WORK/out2"
check "two workers write the same records, alerts and profiles" \
    cmp -s <(sort "$WORK/out1") <(sort "$WORK/out2")

python3 - "$WORK/out1" $T0 $D >"$WORK/checks" <<'EOF'
import json, statistics, sys
from collections import defaultdict
recs = [json.loads(l) for l in open(sys.argv[1])]
T0, D = int(sys.argv[2]), int(sys.argv[3])
alerts = [r for r in recs if r["@type"] == "host_alert"]
stats = {(r["src_ip"], r["window"]["granularity_s"], r["window"]["start_ms"]): r
         for r in recs if r["@type"] == "host_stats"}
def ok(what, cond):
    print(("ok " if cond else "FAIL ") + what)
ids = sorted({a["id"] for a in alerts})
ok("the alerts: the jump of 10.20.0.4 and the new port of 10.20.0.6, no other (%s)" % ids,
   [i.split("/")[0] for i in ids] == ["10.20.0.4", "10.20.0.6"]
   and all(a["rule"] == "profile_deviation" for a in alerts))
jump = [a for a in alerts if a["src_ip"] == "10.20.0.4"]
first = jump[0]
start = first["window"]["start_ms"]
ok("... raised at once, in the first minute of the jump",
   T0 + D * 15 // 2 <= start < T0 + D * 15 // 2 + 60000 and "update" not in first)
ok("... once, with at most a few updates under its id (%d records)" % len(jump),
   1 <= len(jump) <= 5 and all(a["id"] == first["id"] for a in jump) and
   all(a.get("update") == k for k, a in enumerate(jump) if k))
stat = first["details"]["statistic"]
field = {"bytes": ("total", "bytes"), "flows": ("total", "flow"), "peers": ("peer_number",),
         "ports": ("dport_count",)}[stat]
def value(r):
    v = r["stats"]
    for k in field: v = v[k]
    return v
rec = stats[("10.20.0.4", 60, start)]
ok("... observed is the host's %s in that minute's record (%s)" % (stat, first["observed"]),
   first["observed"] == value(rec))
slot = (start - T0) % D // (D // 24)
usual = [value(r) for (h, g, s), r in stats.items()
         if h == "10.20.0.4" and g == 60 and s < start - D // 2 and (s - T0) % D // (D // 24) == slot]
med = statistics.median(usual)
ok("... expected is its usual %s at that hour (%.1f; the minutes of that hour before: median %.1f)"
   % (stat, first["expected"], med), abs(first["expected"] - med) <= 0.35 * med)
ok("... and the score says how far above (%.1f)" % first["score"], first["score"] >= 10)
ok("... naming every statistic that jumped",
   {d["statistic"] for d in first["details"]["deviations"]} >= {"bytes", "flows", "peers"})
port = [a for a in alerts if a["src_ip"] == "10.20.0.6"]
ok("the new port: one alert that names it", len(port) == 1 and port[0]["details"]["new_ports"] == [6667])
ok("the jump inside the learning week (10.20.0.7, day 3) raised nothing",
   not any(a["src_ip"] == "10.20.0.7" for a in alerts))
flagged = {(r["src_ip"], r["window"]["granularity_s"], r["window"]["start_ms"]) for r in recs
           if r["@type"] == "host_stats" and "alert" in r}
ok("the host records of the alert's minute carry the flag", ("10.20.0.4", 60, start) in flagged)
ok("... and only those of the two hosts", {k[0] for k in flagged} == {"10.20.0.4", "10.20.0.6"})
profiles = [r for r in recs if r["@type"] == "host_profile"]
ok("a host_profile record per host at the day's end (%d)" % len(profiles),
   len(profiles) == 12 and all(p["id"] == "%s/profile/%d" % (p["src_ip"], T0) for p in profiles))
p = [p for p in profiles if p["src_ip"] == "10.20.0.4"][0]["profile"]
ok("... with its usual values per hour and its ports",
   len(p["usual"]["bytes"]) == 24 and p["dports"] and p["minutes"] > 1000)
EOF
while read -r status what; do check "$what" [ "$status" = ok ]; done <"$WORK/checks"

# the host records, the flag aside, are those of a run without the profile
mkdir -p "$WORK/plain"
cp "$ROOT"/analyses/*.lua "$WORK/plain/" && rm "$WORK/plain/profile.lua"
conf "$WORK/plain.lua" "$WORK/plain" "{}"
"$HOSTFLOW" run -q -c "$WORK/plain.lua" -j1 -i "$FLOWS" -o "$WORK/plain.out"
strip() { grep '"host_stats"' "$1" | sed 's/"alert":\[[^]]*\],//' | sort; }
check "the host records are those of a run without the profile, but for the alert flag" \
    cmp -s <(strip "$WORK/out1") <(strip "$WORK/plain.out")

# --- SIGKILL mid-run, restart: nothing absorbed twice -------------------------
"$HOSTFLOW" run -q -c "$WORK/conf.lua" -j2 -i "$FLOWS" -o /dev/null --profiles "$WORK/whole"
feed() {   # the flows at about 40,000 lines a second
    python3 -c '
import sys, time
out = sys.stdout.buffer
with open(sys.argv[1], "rb") as f:
    while True:
        chunk = f.readlines(80000)
        if not chunk: break
        out.writelines(chunk); out.flush(); time.sleep(0.05)' "$FLOWS" 2>/dev/null
}
feed | "$HOSTFLOW" run -q -c "$WORK/conf.lua" -j2 -i - -o /dev/null --profiles "$WORK/killed" &
pid=$!
for _ in $(seq 50); do ls "$WORK"/killed/*.hfp >/dev/null 2>&1 && break; sleep 0.1; done
sleep 0.7
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
check "killed mid-run, after a save (its files are there)" [ -s "$WORK"/killed/profile.0-of-2.hfp ]
python3 "$ROOT/tests/integration/hfprof.py" head "$WORK/killed/profile.0-of-2.hfp" >"$WORK/head"
check "... part way through the flows" \
    python3 -c "import json,sys; h=json.load(open(sys.argv[1])); sys.exit(not $T0 < h['saved_until'] < $T0 + 8 * $D)" "$WORK/head"
"$HOSTFLOW" run -c "$WORK/conf.lua" -j2 -i "$FLOWS" -o /dev/null --profiles "$WORK/killed" \
    --stats "$WORK/restart.json" 2>"$WORK/restart.err"
check "restarted over the same flows, it reads its profiles back" \
    grep -q "profile profile: worker 0 took [1-9][0-9]* hosts from $WORK/killed/profile.0-of-2.hfp" "$WORK/restart.err"
check "... and skips the windows absorbed before the kill" \
    json_true "$WORK/restart.json" "d['profiles']['skipped'] > 0 and d['profiles']['absorbed'] > 0"
python3 "$ROOT/tests/integration/hfprof.py" dump "$WORK"/whole/*.hfp >"$WORK/whole.txt"
python3 "$ROOT/tests/integration/hfprof.py" dump "$WORK"/killed/*.hfp >"$WORK/killed.txt"
check "the profiles equal an uninterrupted run's, byte for byte (12 hosts)" \
    sh -c "cmp -s '$WORK/whole.txt' '$WORK/killed.txt' && [ \$(wc -l <'$WORK/whole.txt') -eq 12 ]"

# --- files refused at start ----------------------------------------------------
mkdir -p "$WORK/bad"
cp "$WORK/whole/profile.0-of-2.hfp" "$WORK/bad/profile.0-of-1.hfp"
truncate -s -100 "$WORK/bad/profile.0-of-1.hfp"
"$HOSTFLOW" run -c "$WORK/conf.lua" -j1 -i "$FLOWS" -o /dev/null --profiles "$WORK/bad" \
    --stats "$WORK/bad.json" 2>"$WORK/bad.err"
check "a truncated file: hostflow runs on" [ $? -eq 0 ]
check "... says so, naming it and where it was set aside" \
    grep -q "profile profile: $WORK/bad/profile.0-of-1.hfp: truncated or padded: .*; set aside as $WORK/bad/profile.0-of-1.hfp.bad-[0-9]*; those hosts start with empty profiles" "$WORK/bad.err"
check "... and starts with empty profiles (every window absorbed)" \
    json_true "$WORK/bad.json" "d['profiles']['skipped'] == 0 and d['profiles']['absorbed'] == 23040"
check "... the file set aside is there" sh -c "ls '$WORK'/bad/profile.0-of-1.hfp.bad-* >/dev/null"

mkdir -p "$WORK/changed"
cp "$ROOT"/analyses/*.lua "$WORK/changed/"
sed -i 's/    count = hf.counter(),  /    count = hf.counter(), extra = hf.counter(),  /' "$WORK/changed/profile.lua"
conf "$WORK/changed.lua" "$WORK/changed"
cp "$WORK/whole/profile.0-of-2.hfp" "$WORK/bad/profile.0-of-1.hfp"
"$HOSTFLOW" run -c "$WORK/changed.lua" -j1 -i "$FLOWS" -o /dev/null --profiles "$WORK/bad" \
    --stats "$WORK/changed.json" 2>"$WORK/changed.err"
check "a file of another declaration of the state is never read as this one's" \
    grep -q "profile profile: $WORK/bad/profile.0-of-1.hfp: written for another declaration of profile's state .*; set aside as " "$WORK/changed.err"
check "... the new declaration learns afresh" \
    json_true "$WORK/changed.json" "d['profiles']['skipped'] == 0 and d['profiles']['hosts'] == 12"
# --- several workers made at once ---------------------------------------------
# Worker 0 is made first, with its profiles; the others at once, on threads
# of their own: each reads the files for its own hosts.
mkdir -p "$WORK/four"
cp "$WORK"/whole/*.hfp "$WORK/four/"
: >"$WORK/empty.ndjson"
"$HOSTFLOW" run -c "$WORK/conf.lua" -j4 -i "$WORK/empty.ndjson" -o /dev/null \
    --profiles "$WORK/four" 2>"$WORK/four.err"
check "four workers over two workers' files: each takes its hosts (12 in all)" \
    python3 -c '
import re, sys
took = {}
for line in open(sys.argv[1]):
    m = re.search(r"worker (\d) took (\d+) hosts from", line)
    if m: took[m.group(1)] = took.get(m.group(1), 0) + int(m.group(2))
sys.exit(not (sorted(took) == ["0", "1", "2", "3"] and sum(took.values()) == 12))' "$WORK/four.err"
python3 "$ROOT/tests/integration/hfprof.py" dump "$WORK"/four/*-of-4.hfp >"$WORK/four.txt"
check "... and save them again, equal to the two workers' profiles" cmp -s "$WORK/whole.txt" "$WORK/four.txt"

mkdir -p "$WORK/bad4"
cp "$WORK/whole/profile.0-of-2.hfp" "$WORK/bad4/"
truncate -s -100 "$WORK/bad4/profile.0-of-2.hfp"
"$HOSTFLOW" run -c "$WORK/conf.lua" -j4 -i "$WORK/empty.ndjson" -o /dev/null \
    --profiles "$WORK/bad4" 2>"$WORK/bad4.err"
check "a truncated file and four workers: hostflow runs on" [ $? -eq 0 ]
check "... the file is reported once, by worker 0's read, and set aside once" \
    sh -c "[ \$(grep -c 'truncated or padded' '$WORK/bad4.err') -eq 1 ] &&
           [ \$(ls '$WORK'/bad4/profile.0-of-2.hfp.bad-* | wc -l) -eq 1 ] &&
           ! grep -q 'cannot read\|could not be renamed' '$WORK/bad4.err'"

# An analysis that fails to load in a worker made on its own thread (the
# third state made: worker 0's is the first) fails the start with its error.
# (Trusted: it counts the states made in a file.)
mkdir -p "$WORK/late"
cp "$ROOT/analyses/total.lua" "$WORK/late/"
cat >"$WORK/late/late_failure.lua" <<EOF
local hf = require "hostflow"
local f = assert(io.open("$WORK/late.count", "a+"))
f:write("x\n"); f:close()
local n = 0
for _ in io.lines("$WORK/late.count") do n = n + 1 end
if n == 3 then error("refused in the third state made") end
return hf.analysis { name = "late_failure", state = { n = hf.counter() },
                     update = function(s) s.n = s.n + 1 end, result = function(s) return s.n end }
EOF
cat >"$WORK/late.lua" <<EOF
return { networks = { "10.0.0.0/8" },
         analyses = { dir = "$WORK/late", trusted = { "late_failure" } } }
EOF
"$HOSTFLOW" run -c "$WORK/late.lua" -j4 -i "$WORK/empty.ndjson" -o /dev/null 2>"$WORK/late.err"
status=$?
check "an analysis that fails in a later worker: the start fails (status 2)" [ $status -eq 2 ]
check "... with the analysis's error" grep -q "late_failure.lua.*refused in the third state made" "$WORK/late.err"

# --- a detection's alert (issue 14's, keyed by the destination) ------------------
"$HOSTFLOW" run -q -j1 -n 10.77.0.0/16 -i "$ROOT/tests/fixtures/attacks/ddos_syn.ndjson" -o "$WORK/ddos.ndjson"
check "ddos_target's alert names the target (the host whose state raised it)" \
    sh -c "[ \$(grep -c '\"@type\":\"host_alert\"' '$WORK/ddos.ndjson') -eq 1 ] && grep -q '\"id\":\"10.77.0.2/ddos_target/1796524980000\",\"src_ip\":\"10.77.0.2\",\"rule\":\"ddos_target\",.*\"observed\":1500,\"expected\":1000' '$WORK/ddos.ndjson'"
check "... and the target's records of the minute and the 5 minutes carry the flag, though it only received" \
    sh -c "[ \$(grep -c '\"src_ip\":\"10.77.0.2\",\"window\":{[^}]*},\"alert\":\[\"ddos_target\"\],\"stats\":{}' '$WORK/ddos.ndjson') -eq 2 ]"
finish
