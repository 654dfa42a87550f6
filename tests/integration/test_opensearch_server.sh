#!/bin/bash
# test_opensearch_server.sh -- smoke test of the real OpenSearch test server
# (tests/opensearch/server.sh), independent of hostflow: start, a document
# indexed and read back, status and env, a stop that keeps the data and a
# restart that finds it (after SIGTERM and after SIGKILL), an extra setting
# passed at start, and a stop that removes everything.
. "$(dirname "$0")/assert.sh"

if ! command -v java >/dev/null 2>&1; then echo "skipped: java not found"; exit 77; fi
SERVER=$ROOT/tests/opensearch/server.sh
export OPENSEARCH_STATE_DIR=$WORK/os OPENSEARCH_OWNER_PID=$$
trap '"$SERVER" stop >/dev/null 2>&1; rm -rf "$WORK"' EXIT

env=$("$SERVER" start http.max_content_length=300kb 2>"$WORK/start.err") \
    || { cat "$WORK/start.err"; echo "the server did not start"; exit 1; }
eval "$env"
check "start prints the URL of a server that answers" curl -sf -m 5 -o /dev/null "$OPENSEARCH_URL/"
check "it is OpenSearch $OPENSEARCH_VERSION" \
    sh -c "curl -s '$OPENSEARCH_URL/' | grep -q '\"number\" : \"$OPENSEARCH_VERSION\"'"
pid=$(cat "$OPENSEARCH_STATE_DIR/server.pid")
check "the server does not run as root" [ "$(ps -o uid= -p "$pid" | tr -d ' ')" != 0 ]
check "a second start finds it running" sh -c "'$SERVER' start 2>/dev/null | grep -q '$OPENSEARCH_URL'"
index_one() {
    curl -sf -m 10 -H 'Content-Type: application/json' -XPUT \
        "$OPENSEARCH_URL/smoke/_doc/1?refresh=true" -d '{"n": 1}' >/dev/null
}
count_is_one() {
    curl -s -m 10 "$OPENSEARCH_URL/smoke/_count" | grep -q '"count":1'
}
index_and_count() { index_one && count_is_one; }
check "a document is indexed and counted" index_and_count
too_large() {
    { printf '{"s":"'; head -c 400000 /dev/zero | tr '\0' a; printf '"}'; } >"$WORK/big.json"
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
         -XPUT "$OPENSEARCH_URL/smoke/_doc/2" --data-binary @"$WORK/big.json")" = 413 ]
}
check "a setting given at start applies (http.max_content_length=300kb: 413)" too_large
check "status answers" sh -c "'$SERVER' status >/dev/null 2>&1"
"$SERVER" pause 2>/dev/null
check "pause stops it" sh -c "! curl -s -m 2 '$OPENSEARCH_URL/' >/dev/null"
check "status says it is down" sh -c "! '$SERVER' status 2>/dev/null"
"$SERVER" resume >/dev/null 2>&1
check "resume brings it back on the same port with its data" count_is_one
"$SERVER" stop --keep-data --kill 2>/dev/null
check "stop --kill kills it at once" sh -c "! kill -0 $pid 2>/dev/null"
"$SERVER" start >/dev/null 2>&1
check "after SIGKILL it restarts with its data" count_is_one
run=$(readlink "$OPENSEARCH_STATE_DIR/run" || echo "$OPENSEARCH_STATE_DIR/run")
"$SERVER" stop 2>/dev/null
check "stop removes the data and the run directory" sh -c "[ ! -e '$run' ] && [ ! -e '$OPENSEARCH_STATE_DIR' ]"
check "stop is idempotent" "$SERVER" stop
finish
