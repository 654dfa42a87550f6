#!/bin/bash
# test_check.sh -- hostflow check: every shipped analysis is valid and its
# output is the text hostflow run writes under stats.<name>; broken analyses
# (syntax error, runtime error in update or result, bad state field) fail
# with file:line and the message; a loop that does not compile is reported
# with its NYI abort; exit codes.
. "$(dirname "$0")/assert.sh"

flows=$WORK/flows.ndjson truth=$WORK/truth.csv
"$FLOWGEN" --seed 99 --flows 20000 --rate 200 --hosts 150 --late 0 --outside 0 --malformed 0.002 \
    --truth "$truth" --out "$flows"
lines=$(wc -l <"$flows")
rejected=$(grep -c '^line,' "$truth.rejects")
hosts=$(tail -n +2 "$truth" | cut -d, -f1 | sort -u | wc -l)

# hostflow run over the same flows in one window (a day): the records to compare with
"$HOSTFLOW" run -q -i "$flows" -n 0.0.0.0/0,::/0 -w 86400s -o "$WORK/records.ndjson"

# run_field NAME HOST: the raw JSON text of stats.NAME in HOST's record
run_field() {
    python3 - "$WORK/records.ndjson" "$1" "$2" <<'EOF'
import json, sys
dec = json.JSONDecoder()
for line in open(sys.argv[1]):
    if json.loads(line)["src_ip"] != sys.argv[3]:
        continue
    key = '"%s":' % sys.argv[2]
    if key not in line:
        continue                      # no field: nothing printed
    start = line.index(key, line.index('"stats":{')) + len(key)
    _, end = dec.raw_decode(line, start)
    print(line[start:end])
EOF
}

# --- the shipped analyses ----------------------------------------------------
for a in "$ROOT"/analyses/*.lua; do
    grep -q 'hf.profile' "$a" && continue          # profiles: below
    "$HOSTFLOW" check "$a" -i "$flows" -n 3 >"$WORK/out" 2>"$WORK/err"
    rc=$?
    # the name the analysis declares, which need not be its file's (a
    # user's README example dropped in: dns_queries.lua is "dns")
    name=$(sed -n 's/^analysis  \([^,]*\), version .*/\1/p' "$WORK/out")
    [ -n "$name" ] || name=$(basename "$a" .lua)
    check "check $name: exit 0" [ $rc -eq 0 ]
    check "check $name: says it is valid, with no warning" grep -qx "ok: $name is valid" "$WORK/out"
    check "check $name: names the analysis, version and file" grep -q "^analysis  $name, version 1 ($a)" "$WORK/out"
    check "check $name: the update loop compiled with no NYI abort" grep -q '^jit       the update loop compiled (.*), no NYI abort' "$WORK/out"
    check "check $name: no errors" grep -qx 'errors    none' "$WORK/out"
    # an analysis keyed by the destination (or both) has other hosts than the sources
    if grep -q '^  by *= *"\(dst\|both\)"' "$a"; then keyed=1; else keyed=0; fi
    [ $keyed = 1 ] ||
    check "check $name: halves merged equal the whole" grep -q "^merge     .* give the whole's result for all $hosts hosts" "$WORK/out"
    [ $keyed = 1 ] ||
    check "check $name: every decoded flow fed, every source a host" \
        sh -c "grep -q '^flows     $((lines - rejected)) fed from $flows ($lines lines, $rejected rejected)' '$WORK/out' && grep -q '^hosts     $hosts ' '$WORK/out'"
    # the busiest host's field text, as hostflow run writes it (a detection's
    # alerts are records of their own: "no field")
    read -r host nflows text < <(sed -n '/^results/{n;n;p;q}' "$WORK/out")
    [ $keyed = 1 ] ||
    check "check $name: shows the busiest host ($host, $nflows flows)" [ "$nflows" = "$(grep -c "^$host," "$truth")" ]
    case $text in "(no field"*) text="" ;; esac
    check "check $name: its stats.$name text is what hostflow run writes" [ "$text" = "$(run_field "$name" "$host")" ]
    check "check $name: shows 3 hosts" [ "$(sed -n '/^results/,/^ok/p' "$WORK/out" | grep -c '^  [0-9a-f]')" = 3 ]
done
"$HOSTFLOW" check "$ROOT/analyses/profile.lua" >"$WORK/out"
check "check profile: a profile is valid" grep -qx "ok: profile is valid" "$WORK/out"
check "check profile: says what it reads and how often it is fed" \
    grep -q '^profile   fed the 1m windows of every host; reads bytes = stats.total.bytes, .*dports = the values of dport_count.ports' "$WORK/out"
check "check profile: its memory per host, within 1 KiB" \
    sh -c "n=\$(sed -n 's/^memory    \([0-9]*\) bytes per host.*/\1/p' '$WORK/out'); [ \"\$n\" -gt 0 ] && [ \"\$n\" -le 1024 ]"
check "check profile: absorb() and report() ran on sample statistics" grep -q '^sample    absorb() over 60 minutes' "$WORK/out"
f=$WORK/broken_profile.lua
sed 's/p.count = p.count + 1/p.count = p.count + x.nothing/' "$ROOT/analyses/profile.lua" >"$f"
"$HOSTFLOW" check "$f" >"$WORK/out" 2>&1
check "check of a profile whose absorb() fails: exit 1, with the line and the sample window" \
    sh -c "[ \$? -ne 0 ] || true; grep -q 'broken_profile.lua:[0-9]*: .*(absorb, sample window 1 of host 10.0.0.1)' '$WORK/out' && grep -q '^FAILED' '$WORK/out'"
"$HOSTFLOW" check "$ROOT/analyses/peer_number.lua" -n 1 >"$WORK/out"
check "check runs on the bundled sample by default" grep -q 'fed from .*contrib/sample-flows.ndjson.gz' "$WORK/out"
check "check shows the state layout: field, type, offset, size, kind" \
    grep -q '^            peers  hf_distinct offset   0,  16 bytes: distinct values, exact up to 1024, then a HyperLogLog sketch' "$WORK/out"
"$HOSTFLOW" check "$ROOT/analyses/tcp_flags.lua" -n 0 >"$WORK/out"
check "check gives the bytes per host" grep -q '^state     9 fields, 36 bytes per host' "$WORK/out"
"$HOSTFLOW" check "$ROOT/analyses/total.lua" -i "$flows" --flows 500 >"$WORK/out"
check "--flows N feeds N flows" grep -q '^flows     500 fed' "$WORK/out"

# --- broken analyses -----------------------------------------------------------
# fails_with STATUS "TEXT" FILE ARGS...: hostflow check exits STATUS, TEXT in its output
fails_with() {
    local want_rc=$1 want=$2; shift 2
    timeout 300 "$HOSTFLOW" check "$@" >"$WORK/out" 2>&1
    local rc=$?
    [ $rc -eq "$want_rc" ] && grep -qF -- "$want" "$WORK/out" || {
        echo "  exit $rc; output: $(head -c 800 "$WORK/out")"; return 1; }
}
mk() { cat >"$WORK/$1"; echo "$WORK/$1"; }

f=$(mk syntax.lua <<'EOF'
local hf = require "hostflow"
return hf.analysis {
  name = "syntax"
  state = { n = hf.sum() },
}
EOF
)
check "a syntax error: exit 1, file:line and message" fails_with 1 "syntax.lua:4: '}' expected" "$f" -i "$flows"
check "... and says it does not load" grep -q "^FAILED: .*syntax.lua does not load" "$WORK/out"

f=$(mk update_error.lua <<'EOF'
local hf = require "hostflow"
return hf.analysis {
  name = "update_error",
  state = { n = hf.sum() },
  update = function(s, flow)
    if flow.proto == 17 then
      s.n = s.n + flow.nope
    end
    s.n = s.n + 1
  end,
}
EOF
)
udp=$(awk -F, 'NR > 1 && $6 == 17' "$truth" | wc -l)
check "a runtime error in update: exit 1 with file:line, message and a host" \
    fails_with 1 "in update() for host " "$f" -i "$flows"
check "... the error's file:line and message, in the author's words" \
    grep -q "update_error.lua:7: a flow has no field 'nope' (its fields: src, dst, family, sport, dport, proto, packets, bytes, start_ms, end_ms, tcp_flags) (x$udp)" "$WORK/out"
check "... every failing flow counted, the others went on" grep -q "^FAILED: update_error raised $udp errors" "$WORK/out"
check "... results still shown for the hosts" grep -q '^results   stats.update_error' "$WORK/out"

f=$(mk result_cdata.lua <<'EOF'
local hf = require "hostflow"
return hf.analysis {
  name = "peers_cdata",
  state = { peers = hf.distinct() },
  update = function(s, flow) s.peers:add(flow.dst) end,
  result = function(s) return { peers = s.peers } end,
}
EOF
)
check "a result that is no JSON value: exit 1, naming the analysis's field and what to return" \
    fails_with 1 "cannot encode an hf.distinct() as JSON at stats.peers_cdata.peers: a result holds numbers, strings, booleans and tables of them; return its :count() (x" "$f"

f=$(mk result_error.lua <<'EOF'
local hf = require "hostflow"
return hf.analysis {
  name = "result_error",
  state = { n = hf.sum() },
  update = function(s) s.n = s.n + 1 end,
  result = function(s)
    if s.n > 100 then error("too many flows") end
    return s.n
  end,
}
EOF
)
check "a runtime error in result: exit 1 with file:line and the host" \
    fails_with 1 "in result() for host " "$f" -i "$flows"
check "... with file:line and message" grep -q "result_error.lua:7: too many flows" "$WORK/out"

f=$(mk bad_state.lua <<'EOF'
local hf = require "hostflow"
return {
  name = "bad_state",
  state = {
    flows = hf.counter(),
    peers = 42,
  },
  update = function(s) s.flows = s.flows + 1 end,
}
EOF
)
check "a bad state field: exit 1, file:line of the field and what is expected" \
    fails_with 1 "bad_state.lua:6: analysis 'bad_state': state.peers must be a primitive" "$f" -i "$flows"
f=$(mk bad_param.lua <<'EOF'
local hf = require "hostflow"
return hf.analysis {
  name = "bad_param",
  state = { peers = hf.distinct { exact = 0 } },
  update = function(s, flow) s.peers:add(flow.dst) end,
}
EOF
)
check "a bad primitive parameter: exit 1 with file:line" \
    fails_with 1 "bad_param.lua:4: hf.distinct: exact must be a whole number from 1 to 65535" "$f" -i "$flows"
f=$(mk no_update.lua <<'EOF'
return { name = "no_update", state = {} }
EOF
)
check "a missing update: exit 1, says what is expected" \
    fails_with 1 "no_update.lua: analysis 'no_update': update must be a function(state, flow)" "$f" -i "$flows"

f=$(mk closure.lua <<'EOF'
local hf = require "hostflow"
return hf.analysis {
  name = "closure",
  state = { n = hf.sum() },
  update = function(s, flow)
    local get = function() return flow.bytes end   -- a closure per flow: not compiled
    s.n = s.n + get()
  end,
}
EOF
)
check "a loop that does not compile: exit 0 (valid), reported" fails_with 0 "jit       the update loop did not compile" "$f" -i "$flows"
check "... with the NYI abort, its reason and file:line" grep -q "closure.lua:6: NYI: bytecode 51 (FNEW)" "$WORK/out"
check "... as a warning" grep -qx "ok: closure is valid, with the warnings above" "$WORK/out"
check "... and --strict makes it fail" fails_with 1 "FAILED (--strict): closure does not compile" "$f" -i "$flows" --strict

f=$(mk running_mean.lua <<'EOF'
local hf = require "hostflow"
return hf.analysis {
  name = "running_mean",
  state = { n = hf.counter(), mean = hf.sum() },
  update = function(s, flow)
    s.n = s.n + 1
    s.mean = s.mean + (flow.bytes - s.mean) / s.n       -- a mean is not a sum: merges add it
  end,
  result = function(s) return math.floor(s.mean) end,
}
EOF
)
check "state that does not merge as declared is reported" fails_with 0 "merge     the flows fed as two halves and merged differ" "$f" -i "$flows"
check "... and --strict makes it fail" fails_with 1 "FAILED (--strict): running_mean does not merge exactly" "$f" -i "$flows" --strict

# Endless loops: refused as hostflow run refuses them (its instruction limit,
# the JIT off), where check used to spin for ever.  timeout only catches a hang.
f=$(mk loop_top.lua <<'EOF'
while true do end
EOF
)
check "an endless loop at the top level: exit 1, refused with file:line" \
    fails_with 1 "loop_top.lua:1: loading it did not finish within 1000000 Lua instructions (an endless loop?)" \
    "$f" -i "$flows"
f=$(mk loop_update.lua <<'EOF'
local hf = require "hostflow"
return hf.analysis {
  name = "loop_update",
  state = { n = hf.counter() },
  update = function(s, flow)
    while flow.bytes >= 0 do s.n = s.n + 1 end
  end,
}
EOF
)
check "an endless loop in update: exit 1, refused with file:line" \
    fails_with 1 "loop_update.lua:6: it did not finish within 1000000 Lua instructions" "$f" -i "$flows"
check "... and says it does not load" grep -q "^FAILED: .*loop_update.lua does not load" "$WORK/out"

# --- keys and params -------------------------------------------------------------
f=$(mk params.lua <<'EOF'
local hf = require "hostflow"
return hf.analysis {
  name = "params",
  params = { threshold = 1000, label = "big", ports = { 22, 443 } },
  state = { n = hf.counter(), big = hf.counter() },
  keys = { "label", "n" },
  update = function(s, flow, params)
    s.n = s.n + 1
    if flow.bytes >= params.threshold then s.big = s.big + 1 end
  end,
  result = function(s, params) return { label = params.label, n = s.n, big = s.big } end,
}
EOF
)
"$HOSTFLOW" check "$f" -i "$flows" -n 1 >"$WORK/out" 2>&1
check "check shows the params and their values" grep -qx 'params    label = "big", ports = \[22,443\], threshold = 1000' "$WORK/out"
check "... and runs the analysis with them" grep -q '^  [0-9a-f.:]* *[0-9]*  {"label":"big","n":[0-9]*,"big":[0-9]*}$' "$WORK/out"
check "check names the result fields keys does not list, written after the listed ones" \
    grep -qx 'keys      label, n first; result() also returned big, written after them in name order' "$WORK/out"
"$HOSTFLOW" check "$ROOT/analyses/total.lua" -i "$flows" -n 1 >"$WORK/out"
check "check says when result() returns no field beyond keys" \
    grep -qx 'keys      flow, packets, bytes; result() returns no other field' "$WORK/out"

# --- a rule that raises alerts (result(s, params, ctx)) ----------------------
f=$WORK/busy.lua
cat >"$f" <<'EOF'
local hf = require "hostflow"
return hf.analysis {
  name = "busy", params = { threshold = 200 },
  state = { flows = hf.counter() },
  update = function(s) s.flows = s.flows + 1 end,
  result = function(s, params, ctx)
    if s.flows > params.threshold then
      ctx:alert { observed = s.flows, expected = params.threshold, details = { host = ctx:host() } }
    end
    return s.flows
  end,
}
EOF
"$HOSTFLOW" check "$f" -i "$flows" -n 1 >"$WORK/out" 2>&1
busy=$(tail -n +2 "$truth" | cut -d, -f1 | sort | uniq -c | awk '$1 > 200' | wc -l)
check "check runs a rule with a context and counts the alerts it raised ($busy hosts above 200 flows)" \
    grep -q "^alerts    $busy raised on the sample (one window of [0-9]* s from " "$WORK/out"
check "... and shows them as host_alert records" \
    grep -q '^            {"@type":"host_alert",.*"rule":"busy",.*"expected":200,"score":null,"details":{"host":"' "$WORK/out"
check "... and is valid" grep -qx "ok: busy is valid" "$WORK/out"

# --- usage -------------------------------------------------------------------
check "no analysis is a usage error (2)" fails_with 2 "which analysis?"
check "two analyses are a usage error (2)" fails_with 2 'unexpected argument' "$ROOT/analyses/total.lua" "$ROOT/analyses/dport_count.lua"
check "a missing analysis file is named (2)" fails_with 2 "nope.lua: cannot read" "$WORK/nope.lua"
check "a bad -n is refused (2)" fails_with 2 '-n: expected a number of hosts' "$ROOT/analyses/total.lua" -n many
check "a missing input is named (1)" fails_with 1 "nope.ndjson: cannot open" "$ROOT/analyses/total.lua" -i "$WORK/nope.ndjson"
check "check --help says what it reports" sh -c "'$HOSTFLOW' check --help | grep -q 'NYI' && '$HOSTFLOW' check --help | grep -q -- '--strict'"
check "hostflow --help lists check" sh -c "'$HOSTFLOW' --help | grep -q '^  check '"
finish
