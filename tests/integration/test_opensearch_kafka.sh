#!/bin/bash
# test_opensearch_kafka.sh -- Kafka in, OpenSearch out, at least once and
# without duplicates: a real Kafka broker (tests/kafka/broker.sh) and a real
# OpenSearch (tests/opensearch/server.sh), both started here and stopped at
# the end.
#   1. flows from a topic become documents equal to the records of the same
#      flows read from a file
#   2. the topic read again by another group (a replay): no duplicate
#   3. hostflow SIGKILLed mid-stream and restarted: every record is there,
#      once, equal to the file's
#   4. OpenSearch SIGKILLed, hostflow SIGKILLed while it is down, both
#      restarted: every record is there -- the committed offsets never passed
#      records OpenSearch had not acknowledged
#   5. records the server refuses go to a Kafka dead-letter topic (the Kafka
#      producer), keyed by id, with the server's reason in a header
. "$(dirname "$0")/assert.sh"

if ! command -v java >/dev/null 2>&1; then echo "skipped: java not found"; exit 77; fi
BROKER=$ROOT/tests/kafka/broker.sh
SERVER=$ROOT/tests/opensearch/server.sh
OSCHK=(python3 "$ROOT/tests/integration/os_check.py")
export KAFKA_STATE_DIR=$WORK/kafka KAFKA_OWNER_PID=$$
export OPENSEARCH_STATE_DIR=$WORK/os OPENSEARCH_OWNER_PID=$$
trap '"$BROKER" stop >/dev/null 2>&1; "$SERVER" stop >/dev/null 2>&1; rm -rf "$WORK"' EXIT
env=$("$BROKER" start 2>"$WORK/broker.err") || { cat "$WORK/broker.err"; echo "the broker did not start"; exit 1; }
eval "$env"
env=$("$SERVER" start 2>"$WORK/server.err") || { cat "$WORK/server.err"; echo "the server did not start"; exit 1; }
eval "$env"
URL=$OPENSEARCH_URL
for t in flows:4 flows2:4 flows3:4 os-dlq:1; do
    "$BROKER" topic "${t%%:*}" "${t##*:}" >/dev/null || exit 1
done

conf() {  # conf PREFIX: a configuration writing to PREFIX-<type>-<day>
    cat >"$WORK/$1.lua" <<EOF
return { opensearch = { replicas = 0, index = "$1-%{type}-%Y.%m.%d", template_name = "$1",
                        batch_size = "1MiB", retry_backoff_max = "2s", close_timeout = "120s" } }
EOF
    echo "$WORK/$1.lua"
}
"$FLOWGEN" --seed 9 --flows 60000 --hosts 800 --rate 100 --late 0 --malformed 0 >"$WORK/flows.ndjson"
"$HOSTFLOW" run -q -c "$(conf file)" -i "$WORK/flows.ndjson" -o "$WORK/file.ndjson"
# documents: one per id (an alert's updates share its id and replace it)
nrecs=$(python3 -c 'import json, sys; print(len({json.loads(l)["id"] for l in open(sys.argv[1])}))' "$WORK/file.ndjson")
lines=$(wc -l <"$WORK/flows.ndjson")
half=$((lines / 2))
produce() {  # produce TOPIC FIRST_LINE LAST_LINE, keyed by line number
    sed -n "$2,$3p" "$WORK/flows.ndjson" | awk -v n="$2" '{print (n + NR) % 97 "\t" $0}' \
        | kcat -P -b "$KAFKA_BROKERS" -t "$1" -K '\t' -l /dev/stdin
}
same_as_file() {  # same_as_file PREFIX
    "${OSCHK[@]}" dump "$URL" "$1-*" "$WORK/$1.dump" >/dev/null &&
        "${OSCHK[@]}" compare "$WORK/file.ndjson" "$WORK/$1.dump" "$1-%{type}-%Y.%m.%d"
}

# ---- 1. Kafka to OpenSearch ---------------------------------------------------
produce flows 1 "$lines"
"$HOSTFLOW" run -q -c "$(conf k1)" -b "$KAFKA_BROKERS" -g g1 -i kafka:flows -o "opensearch:$URL" \
    --exit-at-end 2>"$WORK/k1.err"
status=$?
[ $status -eq 0 ] || tail -n 20 "$WORK/k1.err"
check "hostflow reads the topic to its end and exits 0" [ $status -eq 0 ]
check "the documents equal the records of the file run" same_as_file k1

# ---- 2. a replay --------------------------------------------------------------
"$HOSTFLOW" run -q -c "$WORK/k1.lua" -b "$KAFKA_BROKERS" -g g2 -i kafka:flows -o "opensearch:$URL" \
    --exit-at-end 2>/dev/null
check "the topic read again by another group: no duplicate document" \
    [ "$("${OSCHK[@]}" count "$URL" 'k1-*')" = "$nrecs" ]

# ---- 3. SIGKILL mid-stream, restart ---------------------------------------------
produce flows2 1 "$half"
"$HOSTFLOW" run -q -c "$(conf k3)" -b "$KAFKA_BROKERS" -g g3 -i kafka:flows2 -o "opensearch:$URL" \
    --commit-interval 200ms -K session.timeout.ms=6000 2>"$WORK/k3a.err" &
pid=$!
for _ in $(seq 100); do
    [ "$("${OSCHK[@]}" count "$URL" 'k3-*' 2>/dev/null || echo 0)" -gt 2000 ] && break
    sleep 0.3
done
sleep 1
kill -KILL $pid; wait $pid 2>/dev/null
check "documents were written before the SIGKILL" [ "$("${OSCHK[@]}" count "$URL" 'k3-*')" -gt 0 ]
produce flows2 $((half + 1)) "$lines"
"$HOSTFLOW" run -q -c "$WORK/k3.lua" -b "$KAFKA_BROKERS" -g g3 -i kafka:flows2 -o "opensearch:$URL" \
    --exit-at-end -K session.timeout.ms=6000 2>"$WORK/k3b.err"
check "the restarted hostflow exits 0" [ $? -eq 0 ]
check "every record is there once, equal to the file's (the repeats replaced their twins)" same_as_file k3

# ---- 4. OpenSearch down, hostflow killed meanwhile, both back ------------------
produce flows3 1 "$half"
"$HOSTFLOW" run -c "$(conf k4)" -b "$KAFKA_BROKERS" -g g4 -i kafka:flows3 -o "opensearch:$URL" \
    --commit-interval 200ms -K session.timeout.ms=6000 2>"$WORK/k4a.err" &
pid=$!
for _ in $(seq 100); do
    [ "$("${OSCHK[@]}" count "$URL" 'k4-*' 2>/dev/null || echo 0)" -gt 1000 ] && break
    sleep 0.3
done
"$SERVER" stop --keep-data --kill 2>/dev/null
check "the server is down (SIGKILL)" sh -c "! curl -s -m 2 -o /dev/null '$URL/'"
produce flows3 $((half + 1)) "$lines"
sleep 8                                   # hostflow reads on, records wait, nothing is committed past them
check "hostflow keeps running while OpenSearch is down" kill -0 $pid
kill -KILL $pid; wait $pid 2>/dev/null
"$SERVER" start >/dev/null 2>"$WORK/restart.err" || cat "$WORK/restart.err"
"$HOSTFLOW" run -q -c "$WORK/k4.lua" -b "$KAFKA_BROKERS" -g g4 -i kafka:flows3 -o "opensearch:$URL" \
    --exit-at-end -K session.timeout.ms=6000 2>"$WORK/k4b.err"
check "after both restarts hostflow exits 0" [ $? -eq 0 ]
check "every record is there, once: no offset was committed past an unacknowledged record" same_as_file k4

# ---- 5. dead letters to Kafka -------------------------------------------------
python3 - "$WORK/file.ndjson" "$WORK/conflict.ndjson" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])][:20]
for r in recs: r["id"] += "/dlq"
recs[3]["stats"]["peer_number"] = "many"
open(sys.argv[2], "w").write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in recs))
PY
"$ROOT/build/tools/output_feed" -s opensearch.replicas=0 -s "kafka.bootstrap.servers=$KAFKA_BROKERS" \
    -s opensearch.dead_letter=kafka:os-dlq "opensearch:$URL" "$WORK/conflict.ndjson" \
    >"$WORK/s5.json" 2>"$WORK/s5.err"
check "a refused record with a Kafka dead-letter topic: settled (the producer acknowledged it)" \
    [ "$(json_get "$WORK/s5.json" 'd["flush"], d["dead_letters"], d["written"]')" = "0 1 19" ]
dlq_has() {
    kcat -C -b "$KAFKA_BROKERS" -t os-dlq -e -q -f '%k\t%h\t%s\n' >"$WORK/dlq.txt"
    python3 - "$WORK/dlq.txt" "$WORK/conflict.ndjson" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
want = [json.loads(l) for l in open(sys.argv[2])][3]
assert len(lines) == 1, lines
key, headers, value = lines[0].split("\t", 2)
assert key == want["id"], key
assert json.loads(value) == want
assert "hostflow.reason=mapper_parsing_exception: failed to parse field [stats.peer_number] of type [long]" in headers, headers
assert "hostflow.status=400" in headers and "hostflow.source=opensearch:hostflow-host_stats-" in headers, headers
PY
}
check "the dead letter is on the topic: keyed by id, the record whole, the server's reason in a header" dlq_has
finish
