#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions called through check and traps
# test_kafka_broker.sh -- smoke test of the real Kafka test broker
# (tests/kafka/broker.sh) with Debian's librdkafka (through kcat), independent
# of hostflow: start, a 4-partition topic, 1000 keyed messages produced and
# consumed back (plain and in a consumer group, with committed offsets),
# broker stop and restart with kept data (clean and SIGKILL), stop.
#
# Exits 77 ("skipped: ...") only when Java is absent. Last line:
# "N passed, N failed".

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BROKER=$ROOT/tests/kafka/broker.sh

if ! command -v java >/dev/null 2>&1; then
    echo "skipped: java not found (the Kafka test broker needs a Java 17 runtime)"
    exit 77
fi

passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1${2:+: $2}"; }
check() { # check NAME COMMAND...: its output is shown only when it fails
    local name=$1; shift
    if "$@" >"$WORK/check.out" 2>&1; then ok "$name"; else fail "$name"; sed 's/^/    /' "$WORK/check.out"; fi
}
no_broker_process() { # no_broker_process STATE_DIR
    # [k]: the pattern must not match this shell's own command line
    ! pgrep -f "[k]afka\.Kafka $1/server\.properties" >/dev/null
}
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

if ! command -v kcat >/dev/null 2>&1; then
    fail "kcat installed" "kcat not found (make deps installs it)"
    finish
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hostflow-kafka-test.XXXXXX")
# a broker of our own: no clash with another test's or developer's broker;
# stopped by a watcher should this script die without its EXIT trap
export KAFKA_STATE_DIR=$WORK/broker KAFKA_OWNER_PID=$$
cleanup() {
    "$BROKER" stop >/dev/null 2>&1
    KAFKA_STATE_DIR=$WORK/owned "$BROKER" stop >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TOPIC=smoke
N=1000
T=60    # seconds any one client call may take

# -- start
t0=$(date +%s.%N)
if ! env_out=$("$BROKER" start 2>"$WORK/start.err"); then
    cat "$WORK/start.err"
    fail "broker starts"
    finish
fi
t1=$(date +%s.%N)
eval "$env_out"
ok "broker starts ($(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s, Kafka $KAFKA_VERSION at $KAFKA_BROKERS)"
B=$KAFKA_BROKERS

check "start prints KAFKA_BROKERS=127.0.0.1:PORT" \
    grep -Eqx 'KAFKA_BROKERS=127\.0\.0\.1:[0-9]+' <<<"$env_out"
check "status: running" "$BROKER" status >/dev/null 2>&1
again=$("$BROKER" start 2>/dev/null)
check "start again is a no-op (same broker)" \
    test "$(grep KAFKA_BROKERS <<<"$again")" = "KAFKA_BROKERS=$B"

# -- topic
check "topic $TOPIC 4" "$BROKER" topic "$TOPIC" 4
parts=$(timeout "$T" kcat -b "$B" -L -t "$TOPIC" 2>/dev/null | grep -cE '^ +partition [0-9]+, leader 1,')
check "topic $TOPIC has 4 partitions with a leader" test "$parts" = 4
check "topic again is a no-op" "$BROKER" topic "$TOPIC" 4
check "topic with another partition count fails" \
    bash -c "! timeout 20 '$BROKER' topic '$TOPIC' 3"
# a producer to an unknown topic asks the broker to create it: it must not
timeout 20 kcat -P -b "$B" -t no-such-topic -X message.timeout.ms=1500 <<<x >/dev/null 2>&1
check "auto topic creation is off" \
    bash -c "! timeout $T kcat -b '$B' -L 2>/dev/null | grep -q 'topic \"no-such-topic\"'"

# -- produce 1000 keyed messages (idempotent producer, acks=all)
seq 1 "$N" | sed 's/.*/k&:message &/' >"$WORK/sent"
check "produce $N messages" \
    timeout "$T" kcat -P -b "$B" -t "$TOPIC" -K: -X enable.idempotence=true -X acks=all \
        -z lz4 -l "$WORK/sent"

# -- consume them back, every partition from the start
timeout "$T" kcat -C -b "$B" -t "$TOPIC" -o beginning -e -q -f '%p %k:%s\n' \
    >"$WORK/got.plain" 2>"$WORK/got.plain.err"
cut -d' ' -f2- "$WORK/got.plain" | sort >"$WORK/got"
sort "$WORK/sent" >"$WORK/sent.sorted"
check "consume: the $N messages back, none lost, none extra" cmp -s "$WORK/got" "$WORK/sent.sorted"
used=$(cut -d' ' -f1 "$WORK/got.plain" | sort -u | wc -l)
check "the keys spread over all 4 partitions" test "$used" = 4
# keyed: one key always lands on the same partition
dup=$(cut -d' ' -f2 "$WORK/got.plain" | cut -d: -f1 | sort | uniq -d | wc -l)
check "each key in one partition" test "$dup" = 0

# -- consumer group (what hostflow uses): balanced consumer, commits offsets
group_consume() { # group_consume GROUP COUNT OUT
    timeout "$T" kcat -b "$B" -G "$1" -X auto.offset.reset=earliest \
        -X session.timeout.ms=6000 -q -c "$2" -f '%k:%s\n' "$TOPIC" >"$3" 2>"$3.err"
}
group_consume smoke-group "$N" "$WORK/got.group"
sort "$WORK/got.group" >"$WORK/got.group.sorted"
check "group consume (kcat -G): the $N messages" cmp -s "$WORK/got.group.sorted" "$WORK/sent.sorted"

seq 1001 1010 | sed 's/.*/k&:message &/' >"$WORK/sent2"
timeout "$T" kcat -P -b "$B" -t "$TOPIC" -K: -l "$WORK/sent2"
group_consume smoke-group 10 "$WORK/got.group2"
check "same group again: only the 10 new messages (committed offsets)" \
    cmp -s <(sort "$WORK/got.group2") <(sort "$WORK/sent2")

# -- stop and restart the broker with its data (a broker outage mid-stream)
check "pause (stop --keep-data)" "$BROKER" stop --keep-data
check "status: not running while paused" bash -c "! '$BROKER' status >/dev/null 2>&1"
if env2=$("$BROKER" start 2>/dev/null); then
    check "restart on the same address" test "$(grep KAFKA_BROKERS <<<"$env2")" = "KAFKA_BROKERS=$B"
else
    fail "restart after pause"
fi
n=$(timeout "$T" kcat -C -b "$B" -t "$TOPIC" -o beginning -e -q | wc -l)
check "data kept across a clean restart ($((N + 10)) messages)" test "$n" = $((N + 10))
seq 1011 1015 | sed 's/.*/k&:message &/' >"$WORK/sent3"
timeout "$T" kcat -P -b "$B" -t "$TOPIC" -K: -l "$WORK/sent3"
group_consume smoke-group 5 "$WORK/got.group3"
check "group offsets kept across the restart (only the 5 new)" \
    cmp -s <(sort "$WORK/got.group3") <(sort "$WORK/sent3")

# -- crash (SIGKILL) and restart
check "crash (stop --kill --keep-data)" "$BROKER" stop --kill --keep-data
if "$BROKER" start >/dev/null 2>&1; then
    n=$(timeout "$T" kcat -C -b "$B" -t "$TOPIC" -o beginning -e -q | wc -l)
    check "data kept across a crash ($((N + 15)) messages)" test "$n" = $((N + 15))
else
    fail "restart after a crash"
fi

# -- stop
data=$KAFKA_STATE_DIR/data
check "stop" "$BROKER" stop
check "status: not running after stop" bash -c "! '$BROKER' status >/dev/null 2>&1"
check "stop removed the data" test ! -e "$data"
check "no broker process left" no_broker_process "$KAFKA_STATE_DIR"
check "stop again is a no-op" "$BROKER" stop

# -- a broker whose owner dies (a SIGKILLed test runner) is stopped for it
sleep 300 >/dev/null 2>&1 &
owner=$!
if KAFKA_STATE_DIR=$WORK/owned KAFKA_OWNER_PID=$owner "$BROKER" start >/dev/null 2>&1; then
    kill "$owner"; wait "$owner" 2>/dev/null
    for _ in $(seq 1 60); do [ -e "$WORK/owned" ] || break; sleep 0.5; done
    check "the broker of a dead owner is stopped and cleaned" test ! -e "$WORK/owned"
    check "no process left of the owned broker" no_broker_process "$WORK/owned"
else
    kill "$owner"
    fail "start a broker with KAFKA_OWNER_PID"
fi
KAFKA_STATE_DIR=$WORK/owned "$BROKER" stop >/dev/null 2>&1

finish
