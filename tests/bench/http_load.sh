#!/bin/bash
# http_load.sh -- the HTTP view under load on loopback: how fast records go
# through the output (write() and the view thread) alone, and while 200
# concurrent API clients (wrk, 2 threads) ask for heat maps and top hosts.
# Prints one line per run and wrk's summary.  Not a test: a measurement.
#   tests/bench/http_load.sh [FLOWS] [SECONDS]
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
FLOWS=${1:-2000000}
SECS=${2:-20}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
NETS=10.0.0.0/8,2001:db8::/32
build/tools/flowgen --seed 3 --flows "$FLOWS" --hosts 100000 --rate 20000 >"$W/flows"
./hostflow run -q -j1 -i "$W/flows" -o "$W/records" -n $NETS
N=$(wc -l <"$W/records")

# run LABEL none|wrk: feed the records through a FIFO to view_feed, which
# writes them to the HTTP output as the workers would
run() {
    mkfifo "$W/fifo"
    HOSTFLOW_HOME=$ROOT build/tools/view_feed -n $NETS -o http:127.0.0.1:0 "$W/fifo" 2>"$W/err" &
    local pid=$!
    exec 3>"$W/fifo"
    local port=""
    for _ in $(seq 100); do
        port=$(grep -o '127.0.0.1:[0-9]*/' "$W/err" | head -1 | sed 's/.*://; s/\///') && [ -n "$port" ] && break
        sleep 0.1
    done
    head -n 20000 "$W/records" >&3          # a few windows first: the API has data
    sleep 1
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
        sleep 2
    fi
    # the data path's side: every record handed to the output (write()
    # returned), measured by view_feed's "records fed"
    local t0 t1
    t0=$(date +%s.%N)
    tail -n +20001 "$W/records" >&3
    exec 3>&-
    until grep -q 'records fed' "$W/err"; do sleep 0.01; done
    t1=$(date +%s.%N)
    [ "$2" = wrk ] && wait $wpid
    wait $pid
    rm -f "$W/fifo"
    python3 -c "import sys; n=int(sys.argv[1])-20000; s=float(sys.argv[3])-float(sys.argv[2]); print(f'{sys.argv[4]:<44} {n:>9,} records in {s:6.2f} s: {n/s:>10,.0f} records/s')" "$N" "$t0" "$t1" "$1"
    grep -o '[0-9]* written.*' "$W/err" | sed 's/^/    view: /'
}
echo "HTTP view load test: $N records from $FLOWS flows (100,000 hosts), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
run "records through the output, no clients" none
run "... with 200 API clients (wrk)" wrk
echo "    wrk: $(grep -E 'Requests/sec' "$W/wrk")  $(grep -E '^ +50%|^ +99%' "$W/wrk" | tr -s ' ' | tr '\n' ' ')"
grep -E 'Non-2xx|Socket errors' "$W/wrk" || true
