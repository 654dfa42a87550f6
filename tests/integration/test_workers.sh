#!/bin/bash
# test_workers.sh -- the parallel copies: the records do not depend on the
# number of workers (late flows and the watermark are decided in input
# order, before sharding), and SIGUSR1 / SIGTERM behave.
. "$(dirname "$0")/assert.sh"

"$FLOWGEN" --seed 11 --flows 300000 --hosts 5000 --rate 5000 >"$WORK/flows.ndjson"
for j in 1 2 3; do
    "$HOSTFLOW" run -q -j$j -i "$WORK/flows.ndjson" --stats "$WORK/s$j.json" | sort >"$WORK/r$j"
done
check "records exist" [ "$(wc -l <"$WORK/r1")" -gt 1000 ]
check "2 workers write the same records as 1" cmp -s "$WORK/r1" "$WORK/r2"
check "3 workers write the same records as 1" cmp -s "$WORK/r1" "$WORK/r3"
same_counts() {
    for k in records_read decoded rejected_total monitored filtered late records; do
        [ "$(json_get "$WORK/s1.json" "d['$k']")" = "$(json_get "$WORK/s$1.json" "d['$k']")" ] || return 1
    done
}
check "the counters agree across worker counts" same_counts 2

# SIGUSR1 prints the counters and the run goes on; SIGTERM flushes and exits
mkfifo "$WORK/fifo"
"$HOSTFLOW" run -j2 -i "$WORK/fifo" -o "$WORK/live" 2>"$WORK/live.err" &
pid=$!
exec 3>"$WORK/fifo"
head -n 20000 "$WORK/flows.ndjson" >&3
sleep 1
kill -USR1 $pid
sleep 0.5
check "SIGUSR1 prints the counters while running" grep -q 'hostflow counters after' "$WORK/live.err"
check "hostflow is still running after SIGUSR1" kill -0 $pid
check "lines from a pipe are read as they come, not when a buffer fills" \
    grep -q "input      20000 records" "$WORK/live.err"
kill -TERM $pid
wait $pid
rc=$?
exec 3>&-
check "SIGTERM ends the run with status 0" [ $rc -eq 0 ]
check "SIGTERM flushes the open windows (records of all four granularities)" \
    sh -c "grep -c '\"granularity_s\":300' '$WORK/live' | grep -qv '^0$'"
finish
