#!/bin/bash
# test_e2e.sh -- end to end: 200,000 generated flows (all three key families,
# IPv4 and IPv6, TCP/UDP/ICMP, scanners with thousands of peers and ports,
# late and malformed lines mixed in) through hostflow, and every host record
# at every granularity compared with an independent computation of the same
# statistics in SQL (sqlite3) over the generator's own record of the flows:
# distinct counts equal up to the exact limit (1,024 peers; ports at any
# count), within 3 standard errors of the sketch above.  A second run with
# the limit lowered to 64 puts thousands of windows, fine and coarse (the
# merges of fine ones), above it, so the sketch's bounds are judged there.
. "$(dirname "$0")/assert.sh"

"$FLOWGEN" --seed 42 --flows 200000 --hosts 3000 --rate 500 --family mixed --ipv6 0.15 \
    --scanners 3 --late 0.003 --malformed 0.003 --variety 0.05 --string-numbers 0.01 \
    --truth "$WORK/truth.csv" >"$WORK/flows.ndjson"

for j in 1 2; do
    "$HOSTFLOW" run -q -j$j -i "$WORK/flows.ndjson" -o "$WORK/records$j.ndjson" --stats "$WORK/stats$j.json"
    check "hostflow runs the stream with $j worker(s)" [ $? -eq 0 ]
done
same_records() { cmp -s <(sort "$WORK/records1.ndjson") <(sort "$WORK/records2.ndjson"); }
check "the records do not depend on the number of workers" same_records

python3 "$ROOT/tests/integration/e2e_check.py" --truth "$WORK/truth.csv" \
    --records "$WORK/records2.ndjson" -g 10 -g 30 -g 60 -g 300 \
    --rejects "$WORK/stats2.json" >"$WORK/check.log" 2>&1
status=$?
cat "$WORK/check.log"
check "every host record at 10 s, 30 s, 1 min and 5 min matches the SQL computation" [ $status -eq 0 ]
check "the counters match the generator's (rejects by reason, late, filtered)" \
    grep -q "rejects: every reason, filtered and late count agree" "$WORK/check.log"
sed 's/distinct_exact = [0-9]*/distinct_exact = 64/' "$ROOT/conf/hostflow.lua" >"$WORK/exact64.lua"
"$HOSTFLOW" run -q -j2 -c "$WORK/exact64.lua" -a "$ROOT/analyses" -i "$WORK/flows.ndjson" -o "$WORK/records64.ndjson"
check "hostflow runs the stream with memory.distinct_exact = 64" [ $? -eq 0 ]
python3 "$ROOT/tests/integration/e2e_check.py" --truth "$WORK/truth.csv" \
    --records "$WORK/records64.ndjson" -g 10 -g 30 -g 60 -g 300 --exact-limit 64 >"$WORK/check64.log" 2>&1
status=$?
cat "$WORK/check64.log"
check "... and with the limit at 64, every record matches too: exact to 64 peers, within 3 standard errors above" \
    [ $status -eq 0 ]
check "... with at least 50 windows above the limit at each granularity" \
    python3 -c 'import re,sys; n=[int(m) for m in re.findall(r"peer_number above 64: (\d+) windows", open(sys.argv[1]).read())]; sys.exit(not (len(n) == 4 and min(n) >= 50))' "$WORK/check64.log"
finish
