#!/bin/bash
# test_failures.sh -- hostflow keeps its promises when things go wrong
# (issue 10):
#   - a stop request ends every loop of the reader, even one that skips a
#     line without end (-i /dev/zero, a FIFO of one endless line);
#   - an output that fails for good (/dev/full, a closed pipe, a full
#     disk) stops the reading at once, even a reader waiting for input, and
#     the run exits 1; the counters count the records the output took
#     (complete lines in the file) and the others as lost, by reason;
#   - one flow far ahead of the others (a bad clock) is held aside and
#     rejected (future_time), and makes no later flow late; a stream that
#     jumps ahead (a gap) is followed;
#   - hostflow query and check exit 1 when their output cannot be written.
# Nothing here is timed: each case waits for a condition (the process has
# started reading, the process has exited) with a generous bound that only
# a hang reaches.
. "$(dirname "$0")/assert.sh"

# wait_exit PID SECONDS: 0 once PID has exited (its status in $exit_status),
# 1 when it still runs after SECONDS (then it is killed)
wait_exit() {
    local pid=$1 i
    for ((i = 0; i < $2 * 10; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"; exit_status=$?; return 0
        fi
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    return 1
}

stat() { json_get "$1" "$2"; }

# read_bytes PID: the bytes PID has read so far (/proc/PID/io)
read_bytes() { sed -n 's/^rchar: //p' "/proc/$1/io" 2>/dev/null || echo 0; }

# wait_reading PID: until PID has read more than 64 MiB (it is in its loop)
wait_reading() {
    local i
    for ((i = 0; i < 600; i++)); do
        [ "$(read_bytes "$1")" -gt $((64 << 20)) ] && return 0
        kill -0 "$1" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# ---- 5. a stop while a line without newline is skipped ----------------------
stops_on() {  # stops_on SIGNAL WORKERS SOURCE...: the run ends on SIGNAL, exit 0
    local sig=$1 j=$2 pid; shift 2
    "$HOSTFLOW" run -q -j"$j" -i "$@" -o "$WORK/zero.out" &
    pid=$!
    wait_reading $pid || { kill -KILL $pid; return 1; }
    kill -"$sig" $pid
    wait_exit $pid 60 || { echo "still running 60 s after SIG$sig"; return 1; }
    [ "$exit_status" -eq 0 ] || { echo "exit $exit_status"; return 1; }
}
check "SIGTERM stops hostflow -j1 reading /dev/zero (one endless line)" stops_on TERM 1 /dev/zero
check "SIGINT stops hostflow -j2 reading /dev/zero" stops_on INT 2 /dev/zero
mkfifo "$WORK/nl.fifo"
(yes x | tr -d '\n' >"$WORK/nl.fifo") 2>/dev/null &
writer=$!
check "SIGTERM stops hostflow reading a FIFO of one endless line" stops_on TERM 1 "$WORK/nl.fifo"
kill $writer 2>/dev/null; wait $writer 2>/dev/null

# ---- 4. one flow ahead of the clock ------------------------------------------
# 10,000 flows in order, one ending 20 h later than its neighbours at line 5,001
python3 - "$WORK/outlier.ndjson" "$WORK/outlier-less.ndjson" "$WORK/jump.ndjson" <<'EOF'
import sys
T = 1795701600000
def line(i, end):
    return ('{"ipfix.sourceIPv4Address":"10.0.%d.%d","ipfix.destinationIPv4Address":"192.0.2.%d",'
            '"ipfix.protocolIdentifier":6,"ipfix.destinationTransportPort":443,"ipfix.packetDeltaCount":3,'
            '"ipfix.octetDeltaCount":180,"ipfix.flowStartMilliseconds":%d,"ipfix.flowEndMilliseconds":%d}\n'
            % (i // 250, i % 250, i % 200, end - 500, end))
with open(sys.argv[1], "w") as a, open(sys.argv[2], "w") as b, open(sys.argv[3], "w") as c:
    for i in range(10000):
        end = T + i * 60
        a.write(line(i, end + 20 * 3600 * 1000 if i == 5000 else end))
        if i != 5000: b.write(line(i, end))
        c.write(line(i, end + (3 * 3600 * 1000 if i >= 5000 else 0)))   # a 3 h gap
EOF
for j in 1 2; do
    "$HOSTFLOW" run -j$j -i "$WORK/outlier.ndjson" -o "$WORK/outlier.out" --stats "$WORK/outlier.json" \
        2>"$WORK/outlier.err"
    echo "  one flow 20 h ahead, -j$j: $(stat "$WORK/outlier.json" 'd["late"]') late," \
         "$(stat "$WORK/outlier.json" 'd["rejected"]["future_time"]') future_time (before: 5,000 late)"
    check "one flow 20 h ahead at line 5,001, -j$j: no later flow is late" \
        [ "$(stat "$WORK/outlier.json" 'd["late"]')" = 0 ]
    check "... it is counted as future_time" [ "$(stat "$WORK/outlier.json" 'd["rejected"]["future_time"]')" = 1 ]
    check "... and named in the log" grep -q 'outlier.ndjson:5001: rejected (future_time): the flow ends 20.0 h after' "$WORK/outlier.err"
    "$HOSTFLOW" run -q -j$j -i "$WORK/outlier-less.ndjson" -o "$WORK/outlier-less.out"
    check "... the records are those of the flows without it" cmp -s <(sort "$WORK/outlier.out") <(sort "$WORK/outlier-less.out")
done
"$HOSTFLOW" run -q -i "$WORK/jump.ndjson" -o "$WORK/jump.out" --stats "$WORK/jump.json"
check "a stream that jumps 3 h ahead (a gap in the data) is followed: nothing rejected, nothing late" \
    [ "$(stat "$WORK/jump.json" 'd["late"] + d["rejected"]["future_time"]')" = 0 ]
"$HOSTFLOW" run -q -i "$WORK/jump.ndjson" -o "$WORK/jump-wide.out" --future-slack 30d
check "... the same records as with a slack wider than the gap" cmp -s <(sort "$WORK/jump.out") <(sort "$WORK/jump-wide.out")

# ---- 3. failing outputs -------------------------------------------------------
"$FLOWGEN" --seed 5 --flows 100000 --hosts 2000 --rate 200 >"$WORK/flows.ndjson"
lines=$(wc -l <"$WORK/flows.ndjson")

# An input that stays open after its flows (a live stream): the failure must
# stop the run, not the end of the input.  The writer holds the FIFO open.
mkfifo "$WORK/live.fifo"
live_to() {  # live_to OUTPUT WORKERS: hostflow's exit status in $exit_status
    (cat "$WORK/flows.ndjson"; exec sleep 3600) >"$WORK/live.fifo" &
    local writer=$! pid
    "$HOSTFLOW" run -q -j"$2" -i "$WORK/live.fifo" -o "$1" -w 10s --stats "$WORK/live.json" \
        2>"$WORK/live.err" &
    pid=$!
    wait_exit $pid 120
    local r=$?
    kill $writer 2>/dev/null; wait $writer 2>/dev/null
    return $r
}
for j in 1 2; do
    check "-o /dev/full, -j$j, input still open: hostflow stops by itself" live_to /dev/full $j
    check "... and exits 1" [ "$exit_status" = 1 ]
    check "... saying why" grep -q '/dev/full: cannot write records: No space left on device' "$WORK/live.err"
    check "... having stopped reading before the end of its input" \
        [ "$(stat "$WORK/live.json" 'd["records_read"]')" -lt "$lines" ]
    check "... no record counted as written, every one made counted as lost (write_error)" \
        [ "$(stat "$WORK/live.json" '" ".join(map(str, [d["outputs"][0]["written"], d["outputs"][0]["lost"]["write_error"]]))')" \
          = "0 $(stat "$WORK/live.json" 'd["records"]')" ]
done

# -o - | head -1: the closed pipe is an error (EPIPE), not a death by SIGPIPE
for j in 1 2; do
    "$HOSTFLOW" run -q -j$j -i "$WORK/flows.ndjson" -o - -w 10s --stats "$WORK/pipe.json" \
        2>"$WORK/pipe.err" | head -n 1 >/dev/null
    status=${PIPESTATUS[0]}
    check "-o - | head -1, -j$j: exit 1, not killed by SIGPIPE (got $status)" [ "$status" = 1 ]
    check "... saying why" grep -q 'stdout: cannot write records: Broken pipe' "$WORK/pipe.err"
    check "... written + lost = records made, some lost" python3 - "$WORK/pipe.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); o = d["outputs"][0]
sys.exit(0 if o["written"] + o["lost"]["write_error"] == d["records"] and o["lost"]["write_error"] > 0 else 1)
EOF
done

# A full disk: a 256 KiB tmpfs (root only; skipped otherwise)
disk=$WORK/disk
mkdir -p "$disk"
if mount -t tmpfs -o size=256k tmpfs "$disk" 2>/dev/null; then
    trap 'umount "$disk" 2>/dev/null; rm -rf "$WORK"' EXIT
    for j in 1 2; do
        rm -f "$disk/out.ndjson"
        "$HOSTFLOW" run -q -j$j -i "$WORK/flows.ndjson" -o "$disk/out.ndjson" -w 10s \
            --stats "$WORK/disk.json" 2>"$WORK/disk.err"
        status=$?
        complete=$(wc -l <"$disk/out.ndjson")
        written=$(stat "$WORK/disk.json" 'd["outputs"][0]["written"]')
        echo "  full disk, -j$j: $complete complete lines in the file, $written counted written," \
             "$(stat "$WORK/disk.json" 'd["outputs"][0]["lost"]["write_error"]') lost of" \
             "$(stat "$WORK/disk.json" 'd["records"]') records"
        check "a full disk, -j$j: exit 1, saying why" \
            sh -c "[ $status = 1 ] && grep -q 'No space left on device' '$WORK/disk.err'"
        check "... written counts exactly the complete lines in the file" [ "$written" = "$complete" ]
        check "... written + lost = records made" \
            [ "$(stat "$WORK/disk.json" 'd["outputs"][0]["written"] + d["outputs"][0]["lost"]["write_error"] - d["records"]')" = 0 ]
    done
    # query and check to the full disk
    "$HOSTFLOW" query -q "$ROOT/contrib/queries/top_talkers.lua" -i "$WORK/flows.ndjson" \
        -- 10.0.0.0/8 --top 5 >"$disk/query.txt" 2>"$WORK/q.err"
    check "hostflow query to a full disk: exit 1, saying why" \
        sh -c "[ $? = 1 ] && grep -q 'query: cannot write the results' '$WORK/q.err'"
    umount "$disk"
else
    echo "skipped: the full-disk cases (cannot mount a tmpfs)"
fi

# ---- 6. query and check when their output cannot be written ------------------
"$HOSTFLOW" query -q "$ROOT/contrib/queries/top_talkers.lua" -i "$WORK/flows.ndjson" \
    -- 10.0.0.0/8 --top 5 >/dev/full 2>"$WORK/q.err"
check "hostflow query >/dev/full: exit 1" [ $? = 1 ]
check "... saying why" grep -q 'query: cannot write the results to standard output: No space left on device' "$WORK/q.err"
"$HOSTFLOW" check "$ROOT/analyses/total.lua" -i "$WORK/flows.ndjson" >/dev/full 2>"$WORK/c.err"
check "hostflow check >/dev/full: exit 1" [ $? = 1 ]

finish
