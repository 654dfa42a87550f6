#!/bin/bash
# test_by_dst.sh -- analyses keyed by the destination (by = "dst"): a flow
# reaches the row of its monitored destination, whoever sent it; one row
# holds both sides, so a host's record unites them; a host that only
# receives has a record only when such an analysis gives it a field; the
# records do not depend on the number of workers.
. "$(dirname "$0")/assert.sh"

mkdir -p "$WORK/analyses"
cp "$ROOT"/analyses/total.lua "$WORK/analyses/"
cat >"$WORK/analyses/received.lua" <<'EOF'
local hf = require "hostflow"
return hf.analysis {
  name = "received",
  by = "dst",
  state = { flows = hf.counter(), sources = hf.distinct() },
  update = function(s, flow)
    s.flows = s.flows + 1
    s.sources:add(flow.src)
  end,
  result = function(s)
    if s.flows < 2 then return nil end          -- a host receiving one flow: no field
    return { flows = s.flows, sources = s.sources:count() }
  end,
}
EOF

cat >"$WORK/analyses/syn_targets.lua" <<'EOF'
local hf = require "hostflow"
return hf.analysis {
  name = "syn_targets",                         -- sparse: only hosts that send a SYN have a state
  state = { targets = hf.group { max = 4, of = hf.distinct } },
  when = function(flow) return flow.tcp_flags == 2 end,
  update = function(s, flow) s.targets:at(flow.dst):add(flow.dport) end,
  result = function(s) return s.targets:size() end,
}
EOF
cat >"$WORK/analyses/syn_sources.lua" <<'EOF'
local hf = require "hostflow"
return hf.analysis {
  name = "syn_sources",                         -- sparse and keyed by the destination
  by = "dst",
  state = { sources = hf.distinct() },
  when = function(flow) return flow.tcp_flags == 2 end,
  update = function(s, flow) s.sources:add(flow.src) end,
  result = function(s) return s.sources:count() end,
}
EOF
cat >"$WORK/analyses/sides.lua" <<'EOF'
local hf = require "hostflow"
return hf.analysis {
  name = "sides",                               -- by both: what a host sends and what it receives
  by = "both",
  state = { sent = hf.counter(), received = hf.counter() },
  when = function(flow) return flow.tcp_flags == 2 end,
  update = function(s, flow, params, received)
    if received then s.received = s.received + 1 else s.sent = s.sent + 1 end
  end,
  keys = { "sent", "received" },
}
EOF

# 10.0.0.1 sends to 10.0.0.2 (both monitored); 192.0.2.x (outside) send to
# 10.0.0.2, once to 10.0.0.3 and twice to 10.0.0.5; 10.0.0.2 sends once
# and 10.0.0.4 only sends, to the outside.
flow() {  # src dst end_s [tcp flags]
    printf '{"src4_addr":"%s","dst4_addr":"%s","src_port":40000,"dst_port":80,"proto":6,"in_packets":2,"in_bytes":120,"first":%d000,"last":%d000,"tcp_flags":%d}\n' "$1" "$2" "$3" "$3" "${4:-27}"
}
{
    for i in 1 2 3; do flow 10.0.0.1 10.0.0.2 $((1795701601 + i)); done
    for i in 1 2 3 4; do flow 192.0.2.$i 10.0.0.2 $((1795701602 + i)); done
    flow 192.0.2.9 10.0.0.3 1795701603
    flow 192.0.2.9 10.0.0.5 1795701603
    flow 192.0.2.8 10.0.0.5 1795701604
    flow 10.0.0.2 198.51.100.1 1795701604
    flow 10.0.0.4 198.51.100.1 1795701604
    flow 198.51.100.7 198.51.100.8 1795701605
    flow 10.0.0.6 10.0.0.7 1795701605 2
    flow 10.0.0.6 10.0.0.8 1795701606 2
    flow 192.0.2.5 10.0.0.7 1795701607 2
} >"$WORK/flows.ndjson"

for j in 1 2; do
    "$HOSTFLOW" run -q -j$j -a "$WORK/analyses" -w 10s -n 10.0.0.0/8 -i "$WORK/flows.ndjson" \
        -o "$WORK/out$j.ndjson" --stats "$WORK/stats$j.json"
done
rec() { grep "\"src_ip\":\"$1\"" "$WORK/out1.ndjson"; }

check "a host that sends and receives has both fields in one record" \
    grep -q '"stats":{"total":{"flow":1,.*},"received":{"flows":7,"sources":5}}}' <(rec 10.0.0.2)
check "the receiving side counts every sender, monitored or not" \
    grep -q '"received":{"flows":7,"sources":5}' <(rec 10.0.0.2)
check "a host that only sends has no field of the destination's side" \
    bash -c "grep -q '\"total\":{\"flow\":3' <<<'$(rec 10.0.0.1)' && ! grep -q received <<<'$(rec 10.0.0.1)'"
check "a host that only receives gets no record when nothing is said of it" [ -z "$(rec 10.0.0.3)" ]
check "a host that only sends keeps its record" grep -q '"total":{"flow":1' <(rec 10.0.0.4)
check "a host that only receives has a record of the destination's side alone" \
    grep -q '"stats":{"received":{"flows":2,"sources":2}}}' <(rec 10.0.0.5)
check "a sparse analysis gives a field to the hosts whose flows it took" \
    grep -q '"syn_targets":2' <(rec 10.0.0.6)
check "... and to no other" bash -c "[ \$(grep -c syn_targets '$WORK/out1.ndjson') = 1 ]"
check "a sparse analysis keyed by the destination counts the senders of what it took" \
    grep -q '"received":{"flows":2,"sources":2},"sides":{"sent":0,"received":2},"syn_sources":2}}' <(rec 10.0.0.7)
check "an analysis by both sees a flow between monitored hosts from each end" \
    bash -c "grep -q '\"sides\":{\"sent\":2,\"received\":0}' <<<'$(rec 10.0.0.6)' && grep -q '\"sides\":{\"sent\":0,\"received\":2}' <<<'$(rec 10.0.0.7)'"
cat >"$WORK/analyses/syn_minute.lua" <<'EOF'
local hf = require "hostflow"
return hf.analysis {
  name = "syn_minute",                          -- read at 10 s only: updated in those windows directly
  by = "dst",
  params = { window = 10 },
  state = { sources = hf.distinct() },
  when = function(flow) return flow.tcp_flags == 2 end,
  update = function(s, flow) s.sources:add(flow.src) end,
  result = function(s) return s.sources:count() end,
}
EOF
"$HOSTFLOW" run -q -j1 -a "$WORK/analyses" -w 5s,10s -n 10.0.0.0/8 -i "$WORK/flows.ndjson" -o "$WORK/direct.ndjson"
check "an analysis read at one granularity has its field there (states written there directly)" \
    bash -c "grep '\"granularity_s\":10' '$WORK/direct.ndjson' | grep '\"src_ip\":\"10.0.0.7\"' | grep -q '\"syn_minute\":2'"
check "... and not at the others" bash -c "! grep '\"granularity_s\":5,' '$WORK/direct.ndjson' | grep -q syn_minute"
rm "$WORK/analyses/syn_minute.lua"
check "sparse states merge into coarser windows" bash -c \
    "'$HOSTFLOW' run -q -j1 -a '$WORK/analyses' -w 5s,10s -n 10.0.0.0/8 -i '$WORK/flows.ndjson' -o - | grep '\"granularity_s\":10' | grep -q '\"syn_targets\":2'"
check "the records are the same with two workers" \
    cmp <(sort "$WORK/out1.ndjson") <(sort "$WORK/out2.ndjson")
check "flows only for their destination are counted as filtered and to_destination" \
    [ "$(json_get "$WORK/stats1.json" 'd["filtered"], d["to_destination"]')" = "9 8" ]
finish
