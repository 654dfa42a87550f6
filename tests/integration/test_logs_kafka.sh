#!/bin/bash
# test_logs_kafka.sh -- log events from a Kafka topic (--logs kafka:TOPIC)
# beside flows from another, against a real broker (tests/kafka/broker.sh):
# the records equal a run over the same flows and events from files;
# malformed events go to the dead-letter topic with their reason; the log
# consumer commits in a group of its own (GROUP.logs), so a second run reads
# nothing again; the flows' consumer never commits the log topic.
. "$(dirname "$0")/assert.sh"

if ! command -v java >/dev/null 2>&1; then echo "skipped: java not found"; exit 77; fi
BROKER=$ROOT/tests/kafka/broker.sh
export KAFKA_STATE_DIR=$WORK/kafka KAFKA_OWNER_PID=$$
trap '"$BROKER" stop >/dev/null 2>&1; rm -rf "$WORK"' EXIT
env=$("$BROKER" start) || { echo "the broker did not start"; "$BROKER" logs 50; exit 1; }
eval "$env"
for t in lflows:2 syslog:2 ldlq:1; do "$BROKER" topic "${t%%:*}" "${t##*:}" >/dev/null || exit 1; done

NETS=10.0.0.0/8,192.168.0.0/16,2001:db8::/32
T=1795701600000
"$FLOWGEN" --seed 5 --flows 20000 --rate 100 --hosts 300 --late 0 --malformed 0 --start-ms $T >"$WORK/flows.ndjson"
python3 - $T >"$WORK/logs.ndjson" <<'EOF'
import datetime, json, sys
T = int(sys.argv[1])
def iso(ms):
    d = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return d.isoformat(timespec="milliseconds").replace("+00:00", "Z")
hosts = ["10.%d.%d.%d" % (i * 7 % 250, i * 13 % 250, 1 + i % 250) for i in range(40)] + ["10.99.0.%d" % i for i in range(1, 6)]
for k in range(600):
    h = hosts[k % len(hosts)]
    sev = [3, 4, 6, 6, 6][k % 5]
    print(json.dumps({"fromhost-ip": h, "timereported": iso(T + k * 300 + 17), "syslogseverity": str(sev),
                      "programname": ["sshd", "cron", "sudo"][k % 3], "msg": " event %d" % k}))
    if k % 100 == 50:
        print('{"fromhost-ip": "10.1.1.1", "msg": "no time"}')
EOF
grep -c timereported "$WORK/logs.ndjson" >/dev/null
"$HOSTFLOW" run -q -n $NETS -i "$WORK/flows.ndjson" --logs "$WORK/logs.ndjson" -o "$WORK/file.ndjson"
sort "$WORK/file.ndjson" >"$WORK/file.sorted"
check "the file run merged events" grep -q '"logs":{"events"' "$WORK/file.sorted"

# the events first (keyed by host: a host's events keep their order), read
# by the log consumer; then the flows
python3 -c 'import json,sys
for l in open(sys.argv[1]):
    try: k = json.loads(l).get("fromhost-ip", "x")
    except Exception: k = "x"
    sys.stdout.write(k + "\t" + l)' "$WORK/logs.ndjson" | kcat -P -b "$KAFKA_BROKERS" -t syslog -K '\t' -l /dev/stdin
"$HOSTFLOW" run -n $NETS -b "$KAFKA_BROKERS" -g lg -i kafka:lflows --logs kafka:syslog \
    --logs-dead-letter kafka:ldlq -o "$WORK/kafka.ndjson" --commit-interval 500ms 2>"$WORK/k.err" &
pid=$!
events=$(wc -l <"$WORK/logs.ndjson")
for _ in $(seq 60); do grep -q "kafka: assigned syslog" "$WORK/k.err" && break; sleep 0.5; done
wait_for() {  # wait_for PATTERN: until the counters (SIGUSR1) show it
    for _ in $(seq 90); do
        kill -USR1 $pid 2>/dev/null
        sleep 1
        grep -q "$1" "$WORK/k.err" && return 0
    done
    return 1
}
check "the log consumer reads the topic (group lg.logs)" wait_for "kafka logs connected, 2 partitions, $events messages"
awk '{print NR % 31 "\t" $0}' "$WORK/flows.ndjson" | kcat -P -b "$KAFKA_BROKERS" -t lflows -K '\t' -l /dev/stdin
check "then the flows' consumer reads its topic" wait_for "kafka      connected, 2 partitions, 20000 messages"
kill -TERM $pid
wait $pid
check "SIGTERM: it stops cleanly" [ $? -eq 0 ]
sort "$WORK/kafka.ndjson" >"$WORK/kafka.sorted"
# every record byte for byte, alerts and their updates too: windows close
# in the order of their ends however far the watermark jumps, and the
# detections break ties by value, not by the order two partitions' flows
# came in (port_scan_horizontal named another port once in three runs)
check "the records equal the file run's (flows and logs from files), alerts and their updates too" \
    cmp -s "$WORK/kafka.sorted" "$WORK/file.sorted"
check "malformed events went to the dead-letter topic with their reason" \
    [ "$(kcat -C -b "$KAFKA_BROKERS" -t ldlq -e -q -f '%h\n' | grep -c 'hostflow.reason=missing_time')" = 6 ]
"$HOSTFLOW" run -n $NETS -b "$KAFKA_BROKERS" -g lg -i kafka:lflows --logs kafka:syslog \
    -o /dev/null --stats "$WORK/again.json" 2>"$WORK/k.err" &
pid=$!
for _ in $(seq 60); do grep -q "kafka: assigned syslog" "$WORK/k.err" && break; sleep 0.5; done
wait_for "kafka logs connected, 2 partitions, 0 messages" >/dev/null
sleep 2
kill -TERM $pid
wait $pid
check "a second run in the same groups reads no event again: the log consumer committed" \
    [ "$(json_get "$WORK/again.json" "d['logs']['lines']")" = 0 ]
check "... and the flows' consumer no flow: each committed its own topic" \
    [ "$(json_get "$WORK/again.json" "d['records_read']")" = 0 ]
finish
