#!/bin/bash
# http_load.sh -- the HTTP view under load on loopback, in a real `hostflow
# run` reading generated flows from a FIFO: the data path's throughput
# without the view, with it (--http), and with it while 200 concurrent API
# clients (wrk, 2 threads) ask for heat maps, top hosts and the status; and
# how many records skipped the view (its queue full).  Not a test: a
# measurement (the machine's other load shows in it; run it a few times).
#   tests/bench/http_load.sh [FLOWS] [WRK_SECONDS] [WORKERS]
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
FLOWS=${1:-2000000}
SECS=${2:-10}
J=${3:-2}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
NETS=10.0.0.0/8,2001:db8::/32
FIRST=400000                      # flows written before the clock starts (20 s of event time): windows to ask about
build/tools/flowgen --seed 3 --flows "$FLOWS" --hosts 100000 --rate 20000 >"$W/flows"
now() { date +%s.%N; }
port_of() { grep -o 'view is at http://127.0.0.1:[0-9]*/' "$W/err" | head -1 | grep -o '[0-9]*/$' | tr -d /; }
read_all() {       # until the run has read every flow (its counters, from the view)
    until curl -s "http://127.0.0.1:$1/api/v1/counters" |
          python3 -c "import json,sys; sys.exit(json.load(sys.stdin)['pipeline']['records_in'] != $FLOWS)" 2>/dev/null
    do sleep 0.05; done
}

# run LABEL none|view|wrk
run() {
    rm -f "$W/fifo"
    mkfifo "$W/fifo"
    local view=() port="" t_read=""
    [ "$2" != none ] && view=(--http 127.0.0.1:0)
    ./hostflow run -j"$J" -i "$W/fifo" -o /dev/null -n $NETS "${view[@]}" 2>"$W/err" &
    local pid=$!
    exec 3>"$W/fifo"
    head -n $FIRST "$W/flows" >&3
    if [ "$2" != none ]; then
        until port=$(port_of) && [ -n "$port" ]; do sleep 0.05; done
        until curl -s "http://127.0.0.1:$port/api/v1/status" | grep -q '"latest":{'; do sleep 0.05; done
    fi
    if [ "$2" = wrk ]; then
        cat >"$W/urls.lua" <<'LUA'
local paths = {"/api/v1/heatmap?block=10.0.0.0/8&stat=total.bytes",
               "/api/v1/top?n=20&stat=peer_number", "/api/v1/status",
               "/api/v1/heatmap?block=10.1.0.0/16&stat=total.flow"}
local i = 0
request = function() i = i + 1; return wrk.format("GET", paths[i % #paths + 1]) end
LUA
        wrk -t2 -c200 -d"${SECS}s" --latency -s "$W/urls.lua" "http://127.0.0.1:$port" >"$W/wrk" &
        local wpid=$!
        sleep 1
    fi
    local t0 t1
    t0=$(now)
    tail -n +$((FIRST + 1)) "$W/flows" >&3
    if [ "$2" != none ]; then read_all "$port"; t_read=$(now); fi
    [ "$2" = wrk ] && wait $wpid
    exec 3>&-
    wait $pid
    t1=$(now)
    python3 - "$1" "$FLOWS" "$FIRST" "$t0" "$t1" "${t_read:-0}" "$W/err" <<'PY'
import re, sys
label, flows, first, t0, t1, tr, err = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *map(float, sys.argv[4:7]), open(sys.argv[7]).read()
n = flows - first
made = int(re.search(r"output +(\d+) records made", err).group(1))
m = re.search(r"-o http:\S+ +(\d+) written(?:, (\d+) lost)?", err)
view = f"view {int(m.group(1)):,} written, {int(m.group(2) or 0):,} skipped" if m else "no view"
read = f"read in {tr - t0:5.2f} s ({n / (tr - t0):>9,.0f} flows/s), " if tr else ""
print(f"{label:<34} {n:,} flows: {read}run over in {t1 - t0:5.2f} s ({n / (t1 - t0):>9,.0f} flows/s); "
      f"{made:,} records, {view}")
PY
}
echo "HTTP view load: $FLOWS flows (100,000 hosts), -j$J, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
run "no view" none
run "--http, no clients" view
run "--http, 200 API clients (wrk)" wrk
echo "    wrk: $(grep -E 'Requests/sec' "$W/wrk")  $(grep -E '^ +50%|^ +99%' "$W/wrk" | tr -s ' ' | tr '\n' ' ')"
grep -E 'Non-2xx|Socket errors' "$W/wrk" || true
