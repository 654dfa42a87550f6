#!/bin/bash
# test_kafka.sh -- hostflow against a real Apache Kafka broker (KRaft, from
# Maven Central's jars; tests/kafka/broker.sh):
#   1. flows produced to a topic come out as host records on the output
#      topic, identical to what `hostflow run -i FILE` gives, keyed by id;
#      undecodable messages are counted and copied to the dead-letter topic
#   2. SIGKILL mid-stream and restart: the union of the outputs covers every
#      (host, granularity, window) of the file run with identical statistics,
#      duplicates only by id (and then identical)
#   3. the broker stopped and restarted mid-stream: hostflow survives and the
#      final output is complete (no partition left behind by the watermark:
#      a partition at its end is idle only while the broker confirms it)
# with the brokers' default session timeouts (test_kafka_ghost.sh has the
# crashes that leave a ghost member in the group)
# and `hostflow query --kafka TOPIC --from --to` reads a time range of a topic.
. "$(dirname "$0")/assert.sh"

if ! command -v java >/dev/null 2>&1; then echo "skipped: java not found"; exit 77; fi
BROKER=$ROOT/tests/kafka/broker.sh
export KAFKA_STATE_DIR=$WORK/kafka KAFKA_OWNER_PID=$$
trap '"$BROKER" stop >/dev/null 2>&1; rm -rf "$WORK"' EXIT
env=$("$BROKER" start) || { echo "the broker did not start"; "$BROKER" logs 50; exit 1; }
eval "$env"
for t in flows:4 hosts:4 dlq:1 flows2:4 hosts2:4 flows3:4 hosts3:4; do
    "$BROKER" topic "${t%%:*}" "${t##*:}" >/dev/null || exit 1
done

# 60,000 flows over 10 minutes, malformed lines included (not the >1 MB ones:
# a broker refuses those before hostflow could see them)
"$FLOWGEN" --seed 9 --flows 60000 --hosts 800 --rate 100 --late 0 --malformed 0.003 \
    | awk 'length($0) < 900000' >"$WORK/flows.ndjson"
"$HOSTFLOW" run -q -i "$WORK/flows.ndjson" -o "$WORK/file.ndjson" --stats "$WORK/file.json"
sort "$WORK/file.ndjson" >"$WORK/file.sorted"
# produce keyed by line number, so the flows spread over the partitions
# idempotent, so that a batch retried (just after a broker restart, say) is
# not appended after later ones: each partition keeps the lines' order
produce() {  # produce TOPIC FIRST_LINE LAST_LINE
    sed -n "$2,$3p" "$WORK/flows.ndjson" | awk -v n="$2" '{print (n + NR) % 97 "\t" $0}' \
        | kcat -P -b "$KAFKA_BROKERS" -t "$1" -K '\t' -X enable.idempotence=true -l /dev/stdin
}
consume() {  # consume TOPIC: values, one per line
    kcat -C -b "$KAFKA_BROKERS" -t "$1" -e -q -f '%s\n'
}
lines=$(wc -l <"$WORK/flows.ndjson")

# ---- 1. end to end through Kafka -------------------------------------------
produce flows 1 "$lines"
"$HOSTFLOW" run -q -b "$KAFKA_BROKERS" -g run1 -i kafka:flows -o kafka:hosts \
    --dead-letter kafka:dlq --exit-at-end --stats "$WORK/k1.json" 2>"$WORK/k1.err"
status=$?
[ $status -eq 0 ] || tail -n 20 "$WORK/k1.err"
check "hostflow consumes the topic to its end and exits 0" [ $status -eq 0 ]
consume hosts | sort >"$WORK/k1.sorted"
check "the records on the output topic equal those of the file run" cmp -s "$WORK/k1.sorted" "$WORK/file.sorted"
keys_are_ids() {
    kcat -C -b "$KAFKA_BROKERS" -t hosts -e -q -f '%k %s\n' | head -n 200 |
        python3 -c 'import sys, json
for l in list(sys.stdin):
    k, v = l.split(" ", 1)
    assert json.loads(v)["id"] == k, (k, v[:80])'
}
check "each record's message key is its id" keys_are_ids 2>/dev/null
rejected=$(json_get "$WORK/k1.json" 'd["rejected_total"]')
check "undecodable messages are counted as in the file run" \
    [ "$rejected" = "$(json_get "$WORK/file.json" 'd["rejected_total"]')" ]
check "and copied to the dead-letter topic" [ "$(consume dlq | wc -l)" = "$rejected" ]
check "dead letters carry their reason" \
    sh -c "kcat -C -b '$KAFKA_BROKERS' -t dlq -e -q -f '%h\n' | grep -q 'hostflow.reason=malformed_json'"
# hostflow query over a time range of the topic sees what it sees in the file
query_same() {
    local range=(--from 2026-11-26T14:01:00Z --to 2026-11-26T14:04:00Z)
    "$HOSTFLOW" query "$ROOT/contrib/queries/top_talkers.lua" -q -i "$WORK/flows.ndjson" "${range[@]}" \
        -- 10.0.0.0/8 --top 5 >"$WORK/q.file" 2>&1 || return 1
    "$HOSTFLOW" query "$ROOT/contrib/queries/top_talkers.lua" -q --kafka flows -b "$KAFKA_BROKERS" \
        "${range[@]}" -- 10.0.0.0/8 --top 5 >"$WORK/q.kafka" 2>&1 || return 1
    [ "$(wc -l <"$WORK/q.file")" -gt 3 ] && cmp -s "$WORK/q.file" "$WORK/q.kafka" ||
        { diff "$WORK/q.file" "$WORK/q.kafka" | head; return 1; }
}
check "hostflow query --kafka over a time range answers as over the file" query_same

# ---- 2. SIGKILL mid-stream, restart -----------------------------------------
half=$((lines / 2))
produce flows2 1 "$half"
"$HOSTFLOW" run -b "$KAFKA_BROKERS" -g run2 -i kafka:flows2 -o kafka:hosts2 \
    --commit-interval 200ms --http 127.0.0.1:0 2>"$WORK/k2a.err" &
pid=$!
# wait until it has written some records, then kill it without warning
for _ in $(seq 100); do
    [ "$(kcat -C -b "$KAFKA_BROKERS" -t hosts2 -e -q -f '.\n' 2>/dev/null | wc -l)" -gt 2000 ] && break
    sleep 0.2
done
sleep 1
# the consumer's lag, measured at each commit, on the HTTP view's /metrics
lag_on_metrics() {
    local port
    port=$(grep -o 'view is at http://127.0.0.1:[0-9]*/' "$WORK/k2a.err" | grep -o '[0-9]*/$' | tr -d /)
    curl -s "http://127.0.0.1:$port/metrics" | awk -v max="$half" '
        $1 == "hostflow_kafka_lag_messages" { found = 1; ok = $2 >= 0 && $2 <= max }
        END { exit !(found && ok) }'
}
check "the Kafka lag is on the HTTP view's /metrics" lag_on_metrics
kill -KILL $pid; wait $pid 2>/dev/null
before=$(consume hosts2 | wc -l)
check "records were written before the crash" [ "$before" -gt 0 ]
produce flows2 $((half + 1)) "$lines"
"$HOSTFLOW" run -q -b "$KAFKA_BROKERS" -g run2 -i kafka:flows2 -o kafka:hosts2 \
    --exit-at-end --stats "$WORK/k2.json"
check "the restarted hostflow exits 0" [ $? -eq 0 ]
consume hosts2 >"$WORK/k2.all"
union_covers() {  # every record of the file run is there; repeats are identical
    python3 - "$WORK/file.ndjson" "$WORK/k2.all" <<'PY'
import json, sys
# Host records are compared without the alert flag, and alerts by their
# (host, rule) and first id: open alerts live in memory (lua/README.md,
# "Alerts"), so one open across the restart point starts again with the id
# of the first window read again, and the finer windows read again before
# it is raised carry no flag.
def host_records(path):
    out, alerts, bad = {}, [], 0
    for l in open(path):
        r = json.loads(l)
        if r["@type"] == "host_alert":
            alerts.append(r)
            continue
        r.pop("alert", None)
        if r["id"] in out and out[r["id"]] != r:
            bad += 1
            if bad < 5: print("repeated id, different record:", r["id"])
        out[r["id"]] = r
    return out, alerts, bad
want, want_alerts, _ = host_records(sys.argv[1])
got, got_alerts, bad = host_records(sys.argv[2])
missing = [i for i in want if i not in got]
differ = [i for i in want if i in got and got[i] != want[i]]
extra = [i for i in got if i not in want]
print(f"{len(want)} records wanted, {len(got)} ids got; missing {len(missing)}, "
      f"different {len(differ)}, extra {len(extra)}, repeats that differ {bad}")
for i in (missing + differ + extra)[:5]: print(" ", i, want.get(i, {}).get("stats"), got.get(i, {}).get("stats"))
first = lambda alerts: {a["id"] for a in alerts if "update" not in a}
who = lambda alerts: {(a["src_ip"], a["rule"]) for a in alerts}
alerts_ok = first(want_alerts) <= first(got_alerts) and who(got_alerts) == who(want_alerts)
print(f"alerts: {len(first(want_alerts))} wanted, every one raised again, of no other host or rule: {alerts_ok}")
sys.exit(1 if missing or differ or extra or bad or not alerts_ok else 0)
PY
}
check "after SIGKILL and restart, every record is there with identical statistics" union_covers
check "the restart read some flows again (at least once)" \
    [ "$(wc -l <"$WORK/k2.all")" -gt "$(wc -l <"$WORK/file.ndjson")" ]

# ---- 3. the broker goes away mid-stream -------------------------------------
produce flows3 1 "$half"
"$HOSTFLOW" run -b "$KAFKA_BROKERS" -g run3 -i kafka:flows3 -o kafka:hosts3 \
    --commit-interval 500ms 2>"$WORK/k3.err" &
pid=$!
ends() {  # ends TOPIC: the messages in it (the end offsets of its 4 partitions)
    kcat -Q -b "$KAFKA_BROKERS" -t "$1:0:-1" -t "$1:1:-1" -t "$1:2:-1" -t "$1:3:-1" 2>/dev/null |
        awk '{n += $NF} END {print n + 0}'
}
# the outage begins once hostflow has written records, and lasts until it has
# noticed (conditions, not durations: the machine may be slow)
for _ in $(seq 600); do [ "$(ends hosts3)" -gt 0 ] && break; sleep 0.2; done
"$BROKER" pause >/dev/null
for _ in $(seq 600); do grep -q "brokers are down" "$WORK/k3.err" && break; sleep 0.2; done
check "hostflow keeps running while the broker is down" kill -0 $pid
"$BROKER" resume >/dev/null
eval "$("$BROKER" env)"
produce flows3 $((half + 1)) "$lines"
# wait until hostflow has read every message (its counters, on SIGUSR1), then
# stop it: SIGTERM flushes the open windows
for _ in $(seq 300); do
    kill -USR1 $pid
    sleep 1
    grep -q "kafka      connected, 4 partitions, $lines messages" "$WORK/k3.err" && break
done
kill -TERM $pid
wait $pid
check "after the outage hostflow stops cleanly on SIGTERM" [ $? -eq 0 ]
consume hosts3 | sort -u >"$WORK/k3.sorted"
outage_complete() {
    cmp -s "$WORK/k3.sorted" "$WORK/file.sorted" && return 0
    diff "$WORK/k3.sorted" "$WORK/file.sorted" | head -c 1500; echo
    grep -v "rejected (" "$WORK/k3.err" | tail -n 20
    return 1
}
check "the output after the outage is complete and identical to the file run" outage_complete
check "hostflow reported the outage" grep -q "brokers are down\|Connection refused\|kafka:" "$WORK/k3.err"
finish
