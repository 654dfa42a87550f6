#!/bin/bash
# test_scale.sh -- several hostflow instances sharing the work through a real
# Kafka broker (tests/kafka/broker.sh), each scenario compared record by
# record with a single instance's run over the same flows
# (records_compare.py: every id there, every copy equal; distinct counts
# past 1,024 within 3 standard errors), on generated flows that are not
# keyed by host (produced keyed by line number):
#   A. one relay (--role relay) re-keys the flows by host; three single
#      instances in one group read them; a fourth joins mid-run and one
#      leaves (SIGTERM): rebalances hand the open windows over, none is cut
#      short, none missing
#   B. three partial and two merge instances; one of each killed with
#      SIGKILL mid-run and restarted at once
#   C. beside them, a relay with no broker to talk to exits (within a
#      minute and a bit), not hangs
# Every instance is a static member (its own --instance-id): an instance
# that leaves hands its partitions on after session.timeout.ms (10 s here),
# and a restarted one takes its own back at once.  The waits are for
# conditions (records written, an assignment, an exit), never for a time.
# KEEP_WORK=DIR keeps the logs and records there.
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/kafka_group.sh"
COMPARE=$ROOT/tests/integration/records_compare.py
for t in flows:4 byhost:6 hosts:6 flows2:4 partials:4 hosts2:4; do
    "$BROKER" topic "${t%%:*}" "${t##*:}" >/dev/null || exit 1
done

# 90,000 flows over 10 minutes of event time, 1,500 hosts and two scanners
# (thousands of peers: sketches), nothing late or malformed, and bursts of
# attacks (attacks.py: scans, a flood, unasked DNS answers: the detections,
# hosts that only receive)
"$FLOWGEN" --seed 17 --flows 90000 --hosts 1500 --rate 150 --late 0 --malformed 0 \
    --start-ms 1795701600000 >"$WORK/flowgen.ndjson"
python3 "$ROOT/tests/integration/attacks.py" "$WORK/flowgen.ndjson" 1795701600000 150 >"$WORK/flows.ndjson"
"$HOSTFLOW" run -q -i "$WORK/flows.ndjson" -o "$WORK/single.ndjson"
lines=$(wc -l <"$WORK/flows.ndjson")
third=$((lines / 3))

produce() {  # produce TOPIC FIRST LAST: lines FIRST..LAST, keyed by line number
    sed -n "$2,$3p" "$WORK/flows.ndjson" | awk -v n="$2" '{print (n + NR) % 97 "\t" $0}' \
        | kcat -P -b "$KAFKA_BROKERS" -t "$1" -K '\t' -l /dev/stdin
}
count() {    # count TOPIC: its messages
    kcat -C -b "$KAFKA_BROKERS" -t "$1" -e -q -f '.' 2>/dev/null | wc -c
}
# a member gone for good hands its partitions on after session.timeout.ms:
# 10 s rather than 45 (the broker allows 1 s and more)
SESSION=(-K session.timeout.ms=10000 -K heartbeat.interval.ms=1000)
# start NAME ARGS...: hostflow run in the background (stderr to NAME.err)
start() {
    local name=$1; shift
    "$HOSTFLOW" run -b "$KAFKA_BROKERS" --instance-id "$name" "${SESSION[@]}" "$@" 2>>"$WORK/$name.err" &
    PID[$name]=$!
}
stop() {     # stop NAME [SIGNAL]: its exit status
    local rc
    kill -"${2:-TERM}" "${PID[$1]}"
    wait "${PID[$1]}"
    rc=$?
    unset "PID[$1]"
    return $rc
}
finished() { # finished NAME: wait for it to end by itself; its exit status
    local rc
    wait "${PID[$1]}"
    rc=$?
    unset "PID[$1]"
    return $rc
}
# wait_for WHAT COMMAND...: until COMMAND succeeds (at most 5 minutes)
wait_for() {
    local what=$1; shift
    for _ in $(seq 1500); do "$@" && return 0; sleep 0.2; done
    echo "  gave up waiting: $what"
    return 1
}
more_than() { [ "$(count "$1")" -gt "$2" ]; }
said() { grep -q "$2" "$WORK/$1.err"; }
times_said() { grep -c "$2" "$WORK/$1.err"; }
compare() {  # compare TOPIC NAME
    kcat -C -b "$KAFKA_BROKERS" -t "$1" -e -q -f '%s\n' >"$WORK/$2.ndjson"
    python3 "$COMPARE" "$WORK/single.ndjson" "$WORK/$2.ndjson" --distinct stats.peer_number \
        | tee "$WORK/$2.compare"
    [ "${PIPESTATUS[0]}" -eq 0 ]
}

# C. (beside A and B, in the background) a relay whose brokers never answer
# (nothing listens on port 1) gives up starting its transactions after a
# minute, says why and exits non-zero, rather than wait for ever
"$HOSTFLOW" run -b 127.0.0.1:1 --role relay -g nobody -i kafka:flows -o kafka:byhost \
    2>"$WORK/nobroker.err" &
NOBROKER=$!

# ---- A. a relay and single instances; one joins, one leaves ----------------
KEYED=(--keyed)
"$HOSTFLOW" run --help | grep -q -- "--keyed" || KEYED=()
produce flows 1 "$third"
start relay --role relay -g relay -i kafka:flows -o kafka:byhost
for i in 1 2 3; do start "s$i" -g single "${KEYED[@]}" -i kafka:byhost -o kafka:hosts; done
check "the three instances write records" wait_for "records on hosts" more_than hosts 2000
produce flows $((third + 1)) $((2 * third))
revoked_before=$(cat "$WORK"/s[123].err | grep -c "revoked byhost")
start s4 -g single "${KEYED[@]}" -i kafka:byhost -o kafka:hosts
check "a fourth instance joins and gets partitions" wait_for "s4 assigned" said s4 "assigned byhost"
check "the others hand over their open windows at the rebalance" \
    wait_for "a revocation" sh -c "[ \$(cat '$WORK'/s[123].err | grep -c 'revoked byhost') -gt $revoked_before ]"
before=$(count hosts)
check "the four write more records" wait_for "more records" more_than hosts "$before"
assigned_before=$(cat "$WORK"/s[134].err | grep -c "assigned byhost")
stop s2
rc=$?
check "an instance that leaves stops cleanly (SIGTERM), handing its windows over" \
    sh -c "[ $rc -eq 0 ] && grep -q 'open windows are handed over' '$WORK/s2.err'"
check "its partitions go to the others (after its session timeout)" \
    wait_for "a rebalance without s2" \
    sh -c "[ \$(cat '$WORK'/s[134].err | grep -c 'assigned byhost') -gt $assigned_before ]"
produce flows $((2 * third + 1)) "$lines"
# the end: the relay reads to the end of its input; then each instance is
# restarted (same id: it takes its partitions back at once) to read to the
# end of its own and flush
stop relay
start relay --role relay -g relay -i kafka:flows -o kafka:byhost --exit-at-end
finished relay
check "the relay passes every flow on and exits by itself" [ $? -eq 0 ]
for i in 1 3 4; do stop "s$i"; start "s$i" -g single "${KEYED[@]}" -i kafka:byhost -o kafka:hosts --exit-at-end; done
ok=0
for i in 1 3 4; do finished "s$i" || ok=1; done
check "the instances read to the end and exit by themselves" [ $ok -eq 0 ]
check "no record cut short by a rebalance, none missing (A)" compare hosts A
check "no instance behind the relay counted a late flow (its watermark is the relay's marks)" \
    sh -c "! grep -h '^  filter  ' '$WORK'/s[1234].err | grep -v ' 0 late'"

# ---- B. partial and merge instances, one of each killed and restarted ------
produce flows2 1 "$third"
for i in 1 2 3; do start "p$i" --role partial -g partial -i kafka:flows2 -o kafka:partials; done
for i in 1 2; do start "m$i" --role merge -g merge -i kafka:partials -o kafka:hosts2; done
check "merge instances write records from the partial windows" \
    wait_for "records on hosts2" more_than hosts2 1000
stop p2 KILL
stop m1 KILL
start p2 --role partial -g partial -i kafka:flows2 -o kafka:partials
start m1 --role merge -g merge -i kafka:partials -o kafka:hosts2
check "the killed instances, restarted, take their partitions back" \
    wait_for "p2 and m1 assigned again" \
    sh -c "[ \$(grep -c 'assigned flows2' '$WORK/p2.err') -ge 2 ] && [ \$(grep -c 'assigned partials' '$WORK/m1.err') -ge 2 ]"
produce flows2 $((third + 1)) $((2 * third))
before=$(count hosts2)
check "after SIGKILL and a restart, records go on" wait_for "more records" more_than hosts2 "$before"
produce flows2 $((2 * third + 1)) "$lines"
for i in 1 2 3; do stop "p$i"; start "p$i" --role partial -g partial -i kafka:flows2 -o kafka:partials --exit-at-end; done
for i in 1 2; do stop "m$i"; start "m$i" --role merge -g merge -i kafka:partials -o kafka:hosts2 --exit-at-end; done
ok=0
for n in p1 p2 p3 m1 m2; do finished "$n" || ok=1; done
check "partial and merge instances read to the end and exit by themselves" [ $ok -eq 0 ]
check "records of partial and merge instances equal a single run's (B)" compare hosts2 B
check "no merge instance counted a late partial window" \
    sh -c "! grep -h '^  merge  ' '$WORK'/m[12].err | grep -v ' 0 late'"
wait "$NOBROKER"
rc=$?
check "a relay without brokers gives up starting its transactions, says why, exits non-zero (C)" \
    sh -c "[ $rc -ne 0 ] && grep -q 'cannot start a transaction' '$WORK/nobroker.err'"
finish
