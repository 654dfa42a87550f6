#!/bin/bash
# test_failures.sh -- hostflow keeps its promises when things go wrong
# (issue 10): a stop request ends every loop of the reader, even one that
# skips a line without end.
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

finish
