#!/bin/bash
# test_http.sh -- the HTTP view served by a real `hostflow run` on a live
# stream (flows written to a FIFO that the test holds open): the run's own
# counters on /api/v1/counters and /metrics, every record of the run in the
# view, and the server against bad and hostile requests: each gets a 4xx
# JSON error, the server keeps answering and records keep flowing.  Also
# the token, the loopback rule and many clients at once.
. "$(dirname "$0")/assert.sh"
NETS=10.0.0.0/8,2001:db8::/32
FLOWS=30000
"$FLOWGEN" --seed 5 --flows $FLOWS --hosts 300 --rate 500 >"$WORK/flows"

# start_view ARGS...: hostflow run reading a FIFO (held open on fd 3), its
# flows written, serving the view as ARGS ask; sets PORT, B and RPID once
# every flow is read and a 10 s window is shown
start_view() {
    rm -f "$WORK/in" "$WORK/records"
    mkfifo "$WORK/in"
    "$HOSTFLOW" run -j1 -i "$WORK/in" -o "$WORK/records" -n $NETS "$@" 2>"$WORK/run.err" &
    RPID=$!
    exec 3>"$WORK/in"
    cat "$WORK/flows" >&3
    PORT=""
    for _ in $(seq 300); do
        PORT=$(grep -o 'view is at http://127.0.0.1:[0-9]*/' "$WORK/run.err" | head -1 | grep -o '[0-9]*/$' | tr -d /)
        [ -n "$PORT" ] && break
        sleep 0.1
    done
    B=http://127.0.0.1:$PORT
    for _ in $(seq 300); do
        curl -s ${TOKEN:+-H "Authorization: Bearer $TOKEN"} "$B/api/v1/counters" >"$WORK/c.json" 2>/dev/null
        python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['pipeline']['records_in']==$FLOWS" "$WORK/c.json" 2>/dev/null && break
        sleep 0.1
    done
}
# stop_view: the end of input; the run's exit status in RC
stop_view() { exec 3>&-; wait "$RPID"; RC=$?; }
api() { curl -s ${TOKEN:+-H "Authorization: Bearer $TOKEN"} "$B$1"; }

# status_is CODE URL [CURL ARGS...]: the status, and a JSON body with "error" for 4xx
status_is() {
    local want=$1 url=$2; shift 2
    local got
    got=$(curl -s -o "$WORK/body" -w '%{http_code}' "$@" "$url")
    [ "$got" = "$want" ] || { echo "  ${url:0:120}: $got (want $want): $(head -c 300 "$WORK/body")"; return 1; }
    [ "$want" -lt 400 ] || python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['error'] and d['status']==$want" "$WORK/body" \
        || { echo "  not a JSON error: $(head -c 300 "$WORK/body")"; return 1; }
}

# view_has_every_record: the view took every record the workers made, none
# skipped, none misread (the windows still open are not made yet)
view_has_every_record() {
    for _ in $(seq 100); do
        api /api/v1/counters >"$WORK/c.json"
        python3 - "$WORK/c.json" <<'PY' && return 0
import json, sys
d = json.load(open(sys.argv[1]))
p, v, h = d["pipeline"], d["view"], d["http"]
assert p["records_out"] > 0 and v["records"] == p["records_out"], (p["records_out"], v["records"])
assert v["bad_records"] == 0 and h["records_dropped"] == 0, d
PY
        sleep 0.1
    done
    cat "$WORK/c.json"; return 1
}

start_view --http 127.0.0.1:0
check "--http ADDR serves the view on a free port and says where" test -n "$PORT"
check "the run's counters reach the view: every flow read" \
    json_true "$WORK/c.json" "d['pipeline']['records_in'] == $FLOWS"
check "and its rejects by reason, as the run counted them" \
    json_true "$WORK/c.json" "sum(d['pipeline']['rejected'].values()) > 0 and d['pipeline']['decoded'] + sum(d['pipeline']['rejected'].values()) == $FLOWS"
check "every record the workers made is in the view, none skipped" view_has_every_record
check "the outputs' own counters are there, the file output first" \
    json_true "$WORK/c.json" "[o['output'] for o in d['pipeline']['outputs']] == ['$WORK/records', 'http:127.0.0.1:0']"
check "/metrics counts flows in from the run" sh -c "curl -sf '$B/metrics' | grep -qx 'hostflow_flows_in_total $FLOWS'"
check "/metrics says how far windows are written" sh -c "curl -sf '$B/metrics' | grep -q '^hostflow_windows_closed_until_seconds 1'"
check "/metrics counts records per output" sh -c "curl -sf '$B/metrics' | grep -q '^hostflow_output_records_total{output=\"http:127.0.0.1:0\"} [1-9]'"
check "the page is served" status_is 200 "$B/"
check "its script and uPlot are served" sh -c "curl -sf '$B/app.js' >/dev/null && curl -sf '$B/vendor/uPlot.iife.min.js' >/dev/null"
check "the heat map answers" status_is 200 "$B/api/v1/heatmap?block=10.0.0.0/8&stat=total.flow"
check "a bad CIDR block is a 400" status_is 400 "$B/api/v1/heatmap?block=10.0.0.0/99"
check "an unknown statistic is a 400" status_is 400 "$B/api/v1/heatmap?stat=nope"
check "a huge range (n) is a 400" status_is 400 "$B/api/v1/top?n=100000000000"
check "a huge zoom step is a 400" status_is 400 "$B/api/v1/heatmap?bits=64"
check "an unknown window is a 404" status_is 404 "$B/api/v1/heatmap?window=1000"
check "an unknown parameter is a 400" status_is 400 "$B/api/v1/top?stat=total.flow&limit=5"
check "a path with .. is a 400" status_is 400 "$B/../../etc/passwd" --path-as-is
check "an encoded traversal is a 400" status_is 400 "$B/%2e%2e/%2e%2e/etc/passwd" --path-as-is
check "a file outside the page is a 404" status_is 404 "$B/Makefile"
check "the page's package.json is not served" status_is 404 "$B/package.json"
check "an unknown route is a 404" status_is 404 "$B/api/v1/nothing"
check "a NUL in a parameter is a 400" status_is 400 "$B/api/v1/host?ip=10.0.0.1%00x"
long=$(head -c 5000 /dev/zero | tr '\0' a)
check "a long URL (5 kB) is a JSON 414" status_is 414 "$B/api/v1/heatmap?stat=$long"
# raw_get SIZE: a GET whose URL is SIZE bytes long (too long for a command line)
raw_get() {
    python3 - "$PORT" "$1" <<'PY'
import socket, sys, json
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /api/v1/heatmap?stat=" + b"a" * int(sys.argv[2]) + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    d = s.recv(65536)
    if not d: break
    data += d
head, body = data.split(b"\r\n\r\n", 1)
assert b" 414 " in head.split(b"\r\n")[0], head[:100]
assert json.loads(body)["status"] == 414, body[:200]
PY
}
check "a very long URL (200 kB) is a JSON 414" raw_get 200000
check "POST is a 405" status_is 405 "$B/api/v1/status" -X POST -d x=1
check "/metrics counts the 4xx answers" sh -c "curl -sf '$B/metrics' | grep -qE '^hostflow_http_requests_total\{code=\"4xx\"\} [1-9]'"

# many clients at once, some slow (opened and left idle), while the API
# answers and more flows arrive
for i in $(seq 60); do (exec 4<>/dev/tcp/127.0.0.1/$PORT; sleep 3) & done
for i in $(seq 200); do curl -s -o /dev/null "$B/api/v1/heatmap?stat=total.bytes" & done
"$FLOWGEN" --seed 6 --flows 5000 --hosts 300 --rate 500 --start-ms 1795701660000 >&3
wait_jobs() { local n=0; while [ "$(jobs -r | wc -l)" -gt 1 ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done; }
wait_jobs
check "after 200 concurrent clients and 60 idle ones the view still answers" status_is 200 "$B/api/v1/status"
check "and the records that came meanwhile are all in the view" view_has_every_record
stop_view
check "the run ends cleanly when its input does" test "$RC" = 0
check "and its report counts the view's records as the file's" \
    python3 -c "
import re, sys
err = open('$WORK/run.err').read()
n = sum(1 for _ in open('$WORK/records'))
http = re.search(r'-o http:127.0.0.1:0 +(\d+) written', err)
assert http and int(http.group(1)) == n and 'lost' not in err.split('-o http:')[1], (n, err[-400:])
"

# the token
TOKEN=s3cret start_view -o http:127.0.0.1:0 -c "$(printf 'return { http = { token = "s3cret" } }\n' >"$WORK/t.lua"; echo "$WORK/t.lua")"
check "-o http:ADDR serves the view too" test -n "$PORT"
check "with a token, the API refuses a request without it (401 JSON)" status_is 401 "$B/api/v1/status"
check "a wrong token is refused" status_is 401 "$B/api/v1/status" -H "Authorization: Bearer nope"
check "the right token is accepted" status_is 200 "$B/api/v1/status" -H "Authorization: Bearer s3cret"
check "token= in the query is accepted (a browser's first load)" status_is 200 "$B/api/v1/status?token=s3cret"
check "the page itself needs no token (it holds no data)" status_is 200 "$B/"
stop_view

# off loopback only with a token; bad addresses named
"$HOSTFLOW" run -i /dev/null --http 0.0.0.0:0 2>"$WORK/err"
rc=$?
check "listening off loopback without a token is refused at start (exit 2)" \
    sh -c "[ $rc = 2 ] && grep -q 'needs an access token' '$WORK/err'"
"$HOSTFLOW" run -i /dev/null -o http:localhost:99999 2>"$WORK/err"
check "a bad listening address is named" grep -q 'bad listening address' "$WORK/err"
finish
