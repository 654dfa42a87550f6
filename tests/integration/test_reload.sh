#!/bin/bash
# test_reload.sh -- hot reload while `hostflow run` reads a stream (a FIFO
# fed in parts): an added analysis appears from a window boundary with the
# values it would have had from the start, a changed one is replaced there,
# a removed one disappears there, and broken versions (syntax error, error on
# the sample flows, endless loop) are refused with file and line while the
# old version runs on.  Every record's `total` (an analysis untouched by the
# reloads) equals an uninterrupted run's: no flow lost or counted twice.
# With one worker (the reader checks) and two (each worker thread checks),
# watching the directory; and with analyses.reload = false, SIGHUP alone.
. "$(dirname "$0")/assert.sh"

# 150 s of event time, 1000 flows a second: parts of 30 s
"$FLOWGEN" --seed 17 --flows 150000 --hosts 800 --rate 1000 --late 0 --malformed 0 \
    >"$WORK/flows.ndjson"
part() { sed -n "$1,$2p" "$WORK/flows.ndjson"; }
# hostflow reads a pipe as lines arrive, but in blocks of up to 2 x max_line
# + 256 KiB with one worker (1 MiB with decoder threads): a small max_line
# keeps the blocks small, so a few thousand lines reach it after each edit
printf 'return { max_line = "4KiB" }\n' >"$WORK/conf.lua"
RUN="$HOSTFLOW run -c $WORK/conf.lua"

# wait_for PATTERN FILE: until the log says it (10 s at most)
wait_for() {
    for _ in $(seq 100); do grep -q -- "$1" "$2" && return 0; sleep 0.1; done
    echo "  timed out waiting for: $1"; tail -n 5 "$2" | sed 's/^/  | /'; return 1
}

cat >"$WORK/ports.lua" <<'EOF'
-- ports: distinct source ports (added while hostflow runs)
local hf = require "hostflow"
return hf.analysis {
  name = "ports", order = 60,
  state = { ports = hf.distinct() },
  update = function(s, flow) s.ports:add(flow.sport) end,
  result = function(s) return s.ports:count() end,
}
EOF
cat >"$WORK/peer_number_v2.lua" <<'EOF'
-- peer_number, version 2: twice the peers (easy to tell apart)
local hf = require "hostflow"
return hf.analysis {
  name = "peer_number", order = 40, version = 2,
  state = { peers = hf.distinct() },
  update = function(s, flow) s.peers:add(flow.dst) end,
  result = function(s) return 2 * s.peers:count() end,
}
EOF

# the references: uninterrupted runs with the analyses before, and with ports
mkdir -p "$WORK/ref" "$WORK/ref2"
cp "$ROOT"/analyses/*.lua "$WORK/ref/"
cp "$ROOT"/analyses/*.lua "$WORK/ports.lua" "$WORK/ref2/"
$RUN -q -j2 -a "$WORK/ref" -i "$WORK/flows.ndjson" -o "$WORK/ref.ndjson" \
    --stats "$WORK/ref.json"
$RUN -q -j2 -a "$WORK/ref2" -i "$WORK/flows.ndjson" -o "$WORK/ref2.ndjson"

# scenario J: one live run with J workers, its analyses edited as it reads
scenario() {
    local j=$1 dir=$WORK/live$1 err=$WORK/live$1.err
    mkdir -p "$dir/an"
    cp "$ROOT"/analyses/*.lua "$dir/an/"
    rm -f "$dir/fifo"; mkfifo "$dir/fifo"
    $RUN -j"$j" -a "$dir/an" -i "$dir/fifo" -o "$dir/out.ndjson" \
        --stats "$dir/stats.json" 2>"$err" &
    local pid=$!
    exec 3>"$dir/fifo"
    part 1 30000 >&3
    # an analysis added: checked, then committed at the next record
    cp "$WORK/ports.lua" "$dir/an/ports.lua"
    wait_for "reloading (a change in the directory)" "$err"
    sleep 0.5; part 30001 33000 >&3
    wait_for "ports: loaded, version 1" "$err" || return 1
    part 33001 60000 >&3
    # an analysis changed
    cp "$WORK/peer_number_v2.lua" "$dir/an/peer_number.lua"
    sleep 0.8; part 60001 63000 >&3
    wait_for "peer_number: reloaded, version 2 from 1" "$err" || return 1
    part 63001 90000 >&3
    # an analysis removed
    rm "$dir/an/avg_flow_duration.lua"
    sleep 0.8; part 90001 93000 >&3
    wait_for "avg_flow_duration: unloaded" "$err" || return 1
    part 93001 100000 >&3
    # broken versions of tcp_flags: each refused, version 1 runs on
    cp "$dir/an/tcp_flags.lua" "$WORK/tcp_flags.good"
    printf 'local hf = require "hostflow"\nreturn hf.analysis {\n  name = "tcp_flags",\n  update = function(s, flow) s.n = s.n +\nend }\n' \
        >"$dir/an/tcp_flags.lua"
    sleep 0.8; part 100001 103000 >&3
    wait_for "tcp_flags.lua: reload refused" "$err" || return 1
    part 103001 110000 >&3
    sed 's/local f = flow.tcp_flags/local f = flow.tcp_flags + nil/' "$WORK/tcp_flags.good" >"$dir/an/tcp_flags.lua"
    sleep 0.8; part 110001 113000 >&3
    wait_for "attempt to perform arithmetic" "$err" || return 1
    part 113001 120000 >&3
    sed 's/local f = flow.tcp_flags/while true do s.tcp = s.tcp + 1 end local f = flow.tcp_flags/' \
        "$WORK/tcp_flags.good" >"$dir/an/tcp_flags.lua"
    sleep 0.8; part 120001 123000 >&3
    wait_for "did not finish within" "$err" || return 1
    part 123001 150000 >&3
    exec 3>&-
    wait $pid
}

# compare.py REF REF2 LIVE STDERR: the records against the references
cat >"$WORK/compare.py" <<'EOF'
import json, re, sys, datetime
def load(p):
    return {r["id"]: r for r in map(json.loads, open(p)) if r["@type"] == "host_stats"}
ref, ref2, live = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
log = open(sys.argv[4]).read()
def switch(pattern):
    m = re.search(pattern + r".*, for windows from (\S+)", log)
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp() * 1000)
S1, S2, S3 = switch("ports: loaded"), switch("peer_number: reloaded"), switch("avg_flow_duration: unloaded")
bad = []
def check(ok, what):
    if not ok and len(bad) < 10: bad.append(what)
    return ok
check(set(ref) == set(live), "the same records as the uninterrupted run (%d vs %d)" % (len(ref), len(live)))
spanning = {"ports": 0, "peer_number": 0, "avg_flow_duration": 0}
for i, r in live.items():
    if i not in ref: continue
    st, rs = r["stats"], ref[i]["stats"]
    w = r["window"]; start, end = w["start_ms"], w["end_ms"]
    check(st.get("total") == rs.get("total"), i + ": total")
    check(st.get("dport_count") == rs.get("dport_count"), i + ": dport_count")
    check(st.get("tcp_flags") == rs.get("tcp_flags"), i + ": tcp_flags (version 1 runs on)")
    # added at S1: from windows starting at S1, as if there from the start
    if start >= S1: check(st.get("ports") == ref2[i]["stats"]["ports"], i + ": ports from S1")
    else: check("ports" not in st, i + ": no ports before S1")
    # replaced at S2
    if start >= S2: check(st.get("peer_number") == 2 * rs["peer_number"], i + ": peer_number v2")
    elif end <= S2: check(st.get("peer_number") == rs["peer_number"], i + ": peer_number v1")
    elif "peer_number" in st: check(st["peer_number"] == rs["peer_number"], i + ": v1 whole when present")
    else: spanning["peer_number"] += 1
    # removed at S3
    if start >= S3: check("avg_flow_duration" not in st, i + ": no avg_flow_duration after S3")
    elif end <= S3: check(st.get("avg_flow_duration") == rs["avg_flow_duration"], i + ": avg before S3")
    elif "avg_flow_duration" in st: check(st["avg_flow_duration"] == rs["avg_flow_duration"], i + ": avg whole")
    else: spanning["avg_flow_duration"] += 1
check(spanning["peer_number"] > 0 and spanning["avg_flow_duration"] > 0,
      "windows across a switch leave partial fields out (%s)" % spanning)
for b in bad: print("  mismatch:", b)
print("  switch points %d %d %d; %d records; left out across a switch: %s" % (S1, S2, S3, len(live), spanning))
sys.exit(1 if bad else 0)
EOF

for j in 1 2; do
    scenario $j
    check "-j$j: hostflow reads the whole stream while its analyses change, and exits 0" [ $? -eq 0 ]
    err=$WORK/live$j.err
    check "-j$j: the records agree with uninterrupted runs (total everywhere; each change from its boundary)" \
        python3 "$WORK/compare.py" "$WORK/ref.ndjson" "$WORK/ref2.ndjson" "$WORK/live$j/out.ndjson" "$err"
    check "-j$j: every flow analysed, as in the uninterrupted run" \
        [ "$(json_get "$WORK/live$j/stats.json" 'd["flows_analysed"]')" = "$(json_get "$WORK/ref.json" 'd["flows_analysed"]')" ]
    check "-j$j: one line per analysis: name, new version, old version" \
        grep -q 'info: peer_number: reloaded, version 2 from 1, for windows from 20' "$err"
    check "-j$j: a syntax error is refused with file and line, version 1 keeps running" \
        grep -q 'tcp_flags.lua: reload refused (tcp_flags version 1 keeps running): .*tcp_flags.lua:5: unexpected symbol' "$err"
    check "-j$j: an error on the sample flows is refused with file, line and the flow" \
        grep -q 'tcp_flags.lua: reload refused .*tcp_flags.lua:[0-9]*: attempt to perform arithmetic .*(update, sample flow 1' "$err"
    check "-j$j: an endless loop is refused at the instruction limit, with its line" \
        grep -q 'tcp_flags.lua: reload refused .*tcp_flags.lua:[0-9]*: it did not finish within 1000000 Lua instructions' "$err"
    check "-j$j: the counters name the analysis added" \
        grep -q '"ports":{' "$WORK/live$j/stats.json"
done

# analyses.reload = false: an edit does nothing; SIGHUP reloads
dir=$WORK/hup; mkdir -p "$dir/an"; cp "$ROOT"/analyses/*.lua "$dir/an/"
printf 'return { max_line = "4KiB", analyses = { dir = "%s", reload = false } }\n' "$dir/an" >"$dir/conf.lua"
mkfifo "$dir/fifo"
"$HOSTFLOW" run -j2 -c "$dir/conf.lua" -i "$dir/fifo" -o "$dir/out.ndjson" 2>"$dir/err" &
pid=$!
exec 3>"$dir/fifo"
part 1 20000 >&3
cp "$WORK/ports.lua" "$dir/an/"
sleep 1; part 20001 23000 >&3; sleep 0.5
check "with analyses.reload = false an edit is not acted on" sh -c "! grep -q reloading '$dir/err'"
kill -HUP $pid
wait_for "reloading (SIGHUP)" "$dir/err"; sleep 0.3; part 23001 26000 >&3
check "SIGHUP reloads: the new analysis is loaded" wait_for "ports: loaded, version 1" "$dir/err"
kill -HUP $pid
check "SIGHUP with nothing changed says so" wait_for "reload: nothing has changed" "$dir/err"
part 26001 40000 >&3
exec 3>&-
wait $pid
check "the SIGHUP run ends with status 0" [ $? -eq 0 ]
check "records after the reload carry the new field" grep -q '"ports":' "$dir/out.ndjson"
[ -n "${KEEP:-}" ] && cp -r "$WORK" "$KEEP"   # KEEP=DIR: keep the files to look at
finish
