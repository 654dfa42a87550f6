#!/bin/bash
# test_profiles_kafka.sh -- profiles with Kafka, against a real broker: the
# offsets are committed only as far as the profiles are saved, so after a
# SIGKILL mid-stream and a restart, which reads again from the last commit,
# the profiles equal those of an uninterrupted run over the same flows
# from a file: every window absorbed once, none twice, none lost.
. "$(dirname "$0")/assert.sh"

if ! command -v java >/dev/null 2>&1; then echo "skipped: java not found"; exit 77; fi
BROKER=$ROOT/tests/kafka/broker.sh
export KAFKA_STATE_DIR=$WORK/kafka KAFKA_OWNER_PID=$$
trap '"$BROKER" stop >/dev/null 2>&1; rm -rf "$WORK"' EXIT
env=$("$BROKER" start) || { echo "the broker did not start"; "$BROKER" logs 50; exit 1; }
eval "$env"
"$BROKER" topic pflows 4 >/dev/null || exit 1

D=14400000                 # simulated days of 4 hours (test_profiles.sh)
T0=1795651200000
"$FLOWGEN" --days 8 --day-ms $D --hosts 12 --start-ms $T0 --seed 7 \
    --deviate 3,$((D * 15 / 2)),300000,20 --out "$WORK/days.ndjson"
cat >"$WORK/conf.lua" <<EOF
return {
  networks = { "10.0.0.0/8", "2001:db8::/32" },
  analyses = { dir = "$ROOT/analyses", params = { profile = { slot = "10m", learn = "28h" } } },
  profiles = { save = "1s" },
}
EOF
"$HOSTFLOW" run -q -c "$WORK/conf.lua" -j2 -i "$WORK/days.ndjson" -o /dev/null --profiles "$WORK/whole"
python3 "$ROOT/tests/integration/hfprof.py" dump "$WORK"/whole/*.hfp >"$WORK/whole.txt"

awk '{print NR % 97 "\t" $0}' "$WORK/days.ndjson" | kcat -P -b "$KAFKA_BROKERS" -t pflows -K '\t' -l /dev/stdin
run() {  # run [ARGS...]: hostflow on the topic, its profiles in $WORK/kafka-p
    exec "$HOSTFLOW" run -c "$WORK/conf.lua" -j2 -b "$KAFKA_BROKERS" -g pg -i kafka:pflows -o /dev/null \
        --profiles "$WORK/kafka-p" --commit-interval 200ms -K session.timeout.ms=6000 "$@"
}
(run --stats "$WORK/killed.json" 2>/dev/null) &
pid=$!
saved() {  # the time through which worker 0's file is complete (0: none yet)
    [ -s "$WORK/kafka-p/profile.0-of-2.hfp" ] || { echo 0; return; }
    python3 "$ROOT/tests/integration/hfprof.py" head "$WORK/kafka-p/profile.0-of-2.hfp" 2>/dev/null |
        python3 -c 'import json,sys; print(max(0, json.load(sys.stdin)["saved_until"]))' 2>/dev/null || echo 0
}
for _ in $(seq 300); do [ "$(saved)" -gt $((T0 + D)) ] && break; sleep 0.05; done
kill -KILL $pid
wait $pid 2>/dev/null
head=$(python3 "$ROOT/tests/integration/hfprof.py" head "$WORK/kafka-p/profile.0-of-2.hfp")
check "killed mid-stream, after saving its profiles" \
    python3 -c "import json,sys; h=json.loads(sys.argv[1]); sys.exit(not $T0 < h['saved_until'] < $T0 + 8 * $D)" "$head"
sleep 7                     # the dead member's session ends
(run --stats "$WORK/restart.json" 2>"$WORK/restart.err") &
pid=$!
sleep 3
for _ in $(seq 120); do              # until it has read the topic to its end (its counters, SIGUSR1)
    kill -USR1 $pid
    sleep 1
    grep -q "kafka      connected, 4 partitions, [0-9]* messages, lag 0," "$WORK/restart.err" && break
done
kill -TERM $pid
wait $pid
check "the restart reads the rest, and stops cleanly (SIGTERM)" [ $? -eq 0 ]
check "... going on from its profiles' files (and absorbing what they had not saved)" \
    [ "$(json_get "$WORK/restart.json" "d['profiles']['absorbed'] > 0 and d['profiles']['hosts'] == 12")" = True ]
python3 "$ROOT/tests/integration/hfprof.py" dump "$WORK"/kafka-p/*.hfp >"$WORK/kafka.txt"
check "the profiles equal the uninterrupted run's from the file, byte for byte (12 hosts)" \
    sh -c "cmp -s '$WORK/whole.txt' '$WORK/kafka.txt' && [ \$(wc -l <'$WORK/kafka.txt') -eq 12 ]"
finish
