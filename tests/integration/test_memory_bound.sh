#!/bin/bash
# test_memory_bound.sh -- a run over 1,000,000 distinct source hosts stays
# within the configured memory (window state and profiles together), and
# what it could not hold is counted.
. "$(dirname "$0")/assert.sh"

"$FLOWGEN" --seed 7 --flows 1000000 --hosts 1000000 --rate 100000 --ipv6 0.1 \
    --outside 0 --late 0 --malformed 0 --scanners 0 >"$WORK/flows.ndjson"

# limit: 64 MiB of window state; the process as a whole is measured by RSS
/usr/bin/time -f '%M' -o "$WORK/rss" "$HOSTFLOW" run -q -j1 -m 64MiB -i "$WORK/flows.ndjson" \
    -o "$WORK/records" --stats "$WORK/small.json"
check "hostflow finishes under a tight memory limit" [ $? -eq 0 ]
peak=$(json_get "$WORK/small.json" 'd["memory_peak_bytes"]')
refused=$(json_get "$WORK/small.json" 'd["hosts_refused_memory"]')
rss_kb=$(cat "$WORK/rss")
echo "  peak window state $((peak / 1048576)) MiB, RSS $((rss_kb / 1024)) MiB, $refused host rows refused"
# the pool may pass the limit by the blocks of windows already open (a few 64 KiB blocks)
check "window state stays within the limit (+1 MiB of open blocks)" [ "$peak" -le $((65 * 1048576)) ]
check "the process stays within the limit plus a fixed base (+96 MiB)" [ "$rss_kb" -le $(((64 + 96) * 1024)) ]
check "what could not be held is counted" [ "$refused" -gt 0 ]
check "the profiles count against the same limit: their new hosts past it are refused, counted" \
    [ "$(json_get "$WORK/small.json" 'd["profiles"]["refused_memory"]')" -gt 0 ]
check "what could be held was written" [ "$(json_get "$WORK/small.json" 'd["records"]')" -gt 0 ]

# with room enough nothing is refused, and every host gets its records
"$HOSTFLOW" run -q -j1 -m 2GiB -i "$WORK/flows.ndjson" -o /dev/null --stats "$WORK/big.json"
check "with room, no host row is refused" [ "$(json_get "$WORK/big.json" 'd["hosts_refused_memory"]')" -eq 0 ]
check "with room, 1,000,000 hosts get a 5-minute record" \
    [ "$(json_get "$WORK/big.json" 'd["windows"]["300"]["records"]')" -ge 1000000 ]
echo "  1,000,000 hosts at four granularities: peak window state $(( $(json_get "$WORK/big.json" 'd["memory_peak_bytes"]') / 1048576 )) MiB"
finish
