#!/bin/bash
# test_http.sh -- the HTTP view's server against bad and hostile requests:
# every one gets a 4xx JSON error, the server keeps answering, and records
# keep flowing.  Also the token, the loopback rule and many clients at once.
. "$(dirname "$0")/assert.sh"
FEED=$ROOT/build/tools/view_feed
NETS=10.0.0.0/8,2001:db8::/32
"$FLOWGEN" --seed 5 --flows 30000 --hosts 300 --rate 500 >"$WORK/flows"
"$HOSTFLOW" run -q -j1 -i "$WORK/flows" -o "$WORK/records" -n $NETS

# start_view ARGS...: view_feed serving the records; sets PORT and VPID
start_view() {
    HOSTFLOW_HOME=$ROOT "$FEED" -n $NETS --linger "$@" "$WORK/records" 2>"$WORK/feed.err" &
    VPID=$!
    for _ in $(seq 100); do
        PORT=$(grep -o '127.0.0.1:[0-9]*/' "$WORK/feed.err" | head -1 | tr -dc 0-9 | sed 's/^127001//')
        grep -q 'records fed' "$WORK/feed.err" && [ -n "$PORT" ] && break
        sleep 0.1
    done
    sleep 0.5   # the view thread publishes within 250 ms
}
stop_view() { kill "$VPID" 2>/dev/null; wait "$VPID" 2>/dev/null; }

# status_is CODE URL [CURL ARGS...]: the status, and a JSON body with "error" for 4xx
status_is() {
    local want=$1 url=$2; shift 2
    local got
    got=$(curl -s -o "$WORK/body" -w '%{http_code}' "$@" "$url")
    [ "$got" = "$want" ] || { echo "  ${url:0:120}: $got (want $want): $(head -c 300 "$WORK/body")"; return 1; }
    [ "$want" -lt 400 ] || python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['error'] and d['status']==$want" "$WORK/body" \
        || { echo "  not a JSON error: $(head -c 300 "$WORK/body")"; return 1; }
}

start_view
B=http://127.0.0.1:$PORT
check "the view starts on a free port and says where" test -n "$PORT"
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
check "/metrics is Prometheus text" sh -c "curl -sf '$B/metrics' | grep -q '^hostflow_view_records_total [1-9]'"
check "/metrics counts the 4xx answers" sh -c "curl -sf '$B/metrics' | grep -qE '^hostflow_http_requests_total\{code=\"4xx\"\} [1-9]'"

# many clients at once, some slow (opened and left idle), while the API answers
for i in $(seq 60); do (exec 3<>/dev/tcp/127.0.0.1/$PORT; sleep 3) & done
for i in $(seq 200); do curl -s -o /dev/null "$B/api/v1/heatmap?stat=total.bytes" & done
wait_curl() { local n=0; while [ "$(jobs -r | wc -l)" -gt 0 ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done; }
wait_curl
check "after 200 concurrent clients and 60 idle ones the view still answers" status_is 200 "$B/api/v1/status"
check "and the process is alive" kill -0 "$VPID"
stop_view

# the token
start_view -s http.token=s3cret
B=http://127.0.0.1:$PORT
check "with a token, the API refuses a request without it (401 JSON)" status_is 401 "$B/api/v1/status"
check "a wrong token is refused" status_is 401 "$B/api/v1/status" -H "Authorization: Bearer nope"
check "the right token is accepted" status_is 200 "$B/api/v1/status" -H "Authorization: Bearer s3cret"
check "token= in the query is accepted (a browser's first load)" status_is 200 "$B/api/v1/status?token=s3cret"
check "the page itself needs no token (it holds no data)" status_is 200 "$B/"
stop_view

# off loopback only with a token
HOSTFLOW_HOME=$ROOT "$FEED" -n $NETS -o http:0.0.0.0:0 "$WORK/records" 2>"$WORK/err" </dev/null
check "listening off loopback without a token is refused at start" grep -q 'needs an access token' "$WORK/err"
HOSTFLOW_HOME=$ROOT "$FEED" -n $NETS -o http:localhost:99999 "$WORK/records" 2>"$WORK/err"
check "a bad listening address is named" grep -q 'bad listening address' "$WORK/err"
finish
