#!/bin/bash
# e2e_check_selftest.sh -- e2e_check.py on a tiny hand-made truth and the host
# records it implies: it accepts them, and it catches each kind of error.
. "$(dirname "$0")/assert.sh"
CHECK=$ROOT/tests/integration/e2e_check.py

# 10.0.0.1: TCP + UDP in the first 10 s, ICMP in the next; 2001:db8::5: UDP
# only (so no tcp_flags), its record writing the address in another form.
cat >"$WORK/truth.csv" <<'CSV'
src,dst,family,sport,dport,proto,packets,bytes,start_ms,end_ms,tcp_flags
10.0.0.1,192.0.2.1,4,40000,443,6,10,1000,1795701600000,1795701601000,27
10.0.0.1,192.0.2.2,4,40001,53,17,1,80,1795701605500,1795701605500,0
10.0.0.1,192.0.2.1,4,0,0,1,2,168,1795701611000,1795701612000,0
2001:db8::5,2001:db8:1::53,6,5353,53,17,4,400,1795701602000,1795701604500,0
CSV
cat >"$WORK/truth.csv.rejects" <<'CSV'
kind,key,value
count,malformed_json,2
count,not_object,0
count,missing_field,1
count,bad_address,0
count,bad_number,0
count,bad_time,0
count,end_before_start,0
count,too_long,1
count,late,3
count,filtered,5
count,accepted,4
count,lines,16
line,3,malformed_json
CSV
F='"FIN": 1, "SYN": 1, "RST": 0, "PSH": 1, "ACK": 1, "URG": 0, "ECE": 0, "CWR": 0'
W10='"granularity_s": 10'
cat >"$WORK/good.ndjson" <<JSON
{"@type": "host_stats", "src_ip": "10.0.0.1", "window": {"start_ms": 1795701600000, "end_ms": 1795701610000, $W10}, "stats": {"total": {"flow": 2, "packets": 11, "bytes": 1080}, "avg_flow_duration": 0.5, "dport_count": 2, "peer_number": 2, "tcp_flags": {$F}}}
{"@type": "host_stats", "src_ip": "10.0.0.1", "window": {"start_ms": 1795701610000, "end_ms": 1795701620000, $W10}, "stats": {"total": {"flow": 1, "packets": 2, "bytes": 168}, "avg_flow_duration": 1.0, "dport_count": 1, "peer_number": 1}}
{"@type": "host_stats", "src_ip": "2001:DB8:0:0::5", "window": {"start_ms": 1795701600000, "end_ms": 1795701610000, $W10}, "stats": {"total": {"flow": 1, "packets": 4, "bytes": 400}, "avg_flow_duration": 2.5, "dport_count": 1, "peer_number": 1}}
{"@type": "host_stats", "src_ip": "10.0.0.1", "window": {"start_ms": 1795701600000, "end_ms": 1795701660000, "granularity_s": 60}, "stats": {"total": {"flow": 3, "packets": 13, "bytes": 1248}, "avg_flow_duration": 0.6666666666666666, "dport_count": 3, "peer_number": 2, "tcp_flags": {$F}}}
{"@type": "host_stats", "src_ip": "2001:db8::5", "window": {"start_ms": 1795701600000, "end_ms": 1795701660000, "granularity_s": 60}, "stats": {"total": {"flow": 1, "packets": 4, "bytes": 400}, "avg_flow_duration": 2.5, "dport_count": 1, "peer_number": 1}}
{"@type": "host_stats", "src_ip": "10.0.0.1", "window": {"start_ms": 1795701600000, "end_ms": 1795701900000, "granularity_s": 300}, "stats": {}}
{"@type": "host_alert", "src_ip": "10.0.0.1", "window": {"start_ms": 1795701600000, "end_ms": 1795701610000, $W10}}
JSON
cat >"$WORK/stats.json" <<'JSON'
{"records_read": 16, "rejected": {"malformed_json": 2, "missing_field": 1, "too_long": 1, "future_time": 0},
 "filtered": 5, "late": 3, "records": 5}
JSON

e2e() {  # e2e RECORDS [options]: e2e_check at 10 and 60 s, its output in $WORK/out
    local recs=$1; shift
    python3 "$CHECK" --truth "$WORK/truth.csv" --records "$recs" -g 10 -g 60 "$@" >"$WORK/out" 2>&1
}
passes() { e2e "$@"; local rc=$?; [ $rc -eq 0 ] || { sed 's/^/    /' "$WORK/out"; return 1; }; }
fails() { e2e "$@"; local rc=$?; [ $rc -eq 1 ] || { echo "    exit $rc"; sed 's/^/    /' "$WORK/out"; return 1; }; }

# mutate NAME PYTHON: records r (a list of dicts) changed by PYTHON, into $WORK/NAME
mutate() {
    python3 - "$WORK/good.ndjson" "$WORK/$1" "$2" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
exec(sys.argv[3])
with open(sys.argv[2], "w") as f:
    for x in r:
        f.write(json.dumps(x) + "\n")
PY
}

check "the records of the truth pass" passes "$WORK/good.ndjson"
check "... and so do the reject counters" passes "$WORK/good.ndjson" --rejects "$WORK/stats.json"
grep -q "granularity 10 s: 3 (host, window) in truth, 3 records; matched 3" "$WORK/out"
check "... with a summary per granularity" [ $? -eq 0 ]

mutate packets.ndjson 'r[0]["stats"]["total"]["packets"] += 1'
check "a packet sum off by one fails" fails "$WORK/packets.ndjson"
grep -q "total.packets 12 != 11" "$WORK/out"
check "... and the mismatch is shown" [ $? -eq 0 ]
mutate missing.ndjson 'del r[1]'
check "a missing record fails" fails "$WORK/missing.ndjson"
mutate extra.ndjson 'r.append(dict(r[0], src_ip="10.0.0.2"))'
check "a record without flows fails" fails "$WORK/extra.ndjson"
mutate flags.ndjson 'r[2]["stats"]["tcp_flags"] = r[0]["stats"]["tcp_flags"]'
check "tcp_flags for a host without TCP fails" fails "$WORK/flags.ndjson"
mutate noflags.ndjson 'del r[3]["stats"]["tcp_flags"]'
check "no tcp_flags for a host with TCP fails" fails "$WORK/noflags.ndjson"
mutate syn.ndjson 'r[0]["stats"]["tcp_flags"]["SYN"] = 2'
check "a flag count off fails" fails "$WORK/syn.ndjson"
mutate avg.ndjson 'r[3]["stats"]["avg_flow_duration"] = 0.667'
check "avg_flow_duration off by 5e-4 fails" fails "$WORK/avg.ndjson"
mutate avgok.ndjson 'r[3]["stats"]["avg_flow_duration"] = 0.6666666667'
check "avg_flow_duration within 1e-6 passes" passes "$WORK/avgok.ndjson"
mutate ports.ndjson 'r[3]["stats"]["dport_count"] = 2'
check "dport_count counts ICMP's port 0 (3 at 60 s)" fails "$WORK/ports.ndjson"
mutate end.ndjson 'r[0]["window"]["end_ms"] += 1'
check "a window end that is not start + granularity fails" fails "$WORK/end.ndjson"
mutate dup.ndjson 'r.append(r[0])'
check "an identical duplicate is a warning only" passes "$WORK/dup.ndjson"
mutate dupdiff.ndjson 'r.append(dict(r[0], stats={}))'
check "a differing duplicate fails" fails "$WORK/dupdiff.ndjson"

# above the exact limit (here 1) the count may be off by 3 x the sketch's
# error, + 0.5 for the rounding to a whole number: 2 +- 0.68 and 3 +- 0.77
# with an error of 0.03, 2 +- 0.56 and 3 +- 0.59 with 0.01
mutate approx.ndjson 'r[0]["stats"]["peer_number"] = 2.6; r[3]["stats"]["dport_count"] = 3.7'
LIMITS="--exact-limit 1 --dport-exact-limit 1"
check "above the exact limit, within 3 x error passes" passes "$WORK/approx.ndjson" $LIMITS --hll-error 0.03
check "... unless the mean error is above its limit" fails "$WORK/approx.ndjson" $LIMITS --hll-error 0.03 \
    --hll-mean-min 1
check "above the exact limit, beyond 3 x error fails" fails "$WORK/approx.ndjson" $LIMITS --hll-error 0.01
check "at or below the exact limit, the same counts fail" fails "$WORK/approx.ndjson"
check "port counts are exact at any count unless told otherwise" fails "$WORK/approx.ndjson" --exact-limit 1 \
    --hll-error 0.03

python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["rejected"]["too_long"]=0; d["rejected"]["malformed_json"]=3; json.dump(d,open(sys.argv[2],"w"))' \
    "$WORK/stats.json" "$WORK/stats-bad.json"
check "a reject counted under another reason fails" fails "$WORK/good.ndjson" --rejects "$WORK/stats-bad.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["late"]={"10": 3, "60": 2}; json.dump(d,open(sys.argv[2],"w"))' \
    "$WORK/stats.json" "$WORK/stats-late.json"
check "late per granularity: each must equal the late lines" fails "$WORK/good.ndjson" --rejects "$WORK/stats-late.json"

sed '1s/tcp_flags/flags/' "$WORK/truth.csv" >"$WORK/bad.csv"
python3 "$CHECK" --truth "$WORK/bad.csv" --records "$WORK/good.ndjson" -g 10 >/dev/null 2>&1
check "a truth file with another header is bad usage (exit 2)" [ $? -eq 2 ]
finish
