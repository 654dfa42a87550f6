#!/bin/bash
# test_kafka_output.sh -- the Kafka output counts what the brokers
# acknowledged, and what it lost by reason (issue 10, finding 3):
#   0. an output topic that does not exist, on brokers that do not create
#      topics on demand: hostflow stops at start (exit 2) and says so, in
#      every role, instead of losing every record 30 s later;
#   1. records over message.max.bytes: lost (too_large), the others written,
#      exit 1, the final message says so;
#   2. a finite message.timeout.ms and the broker away: the records that
#      time out are lost (delivery_failed), exit 1, and written counts what
#      is in the topic;
#   3. the broker away with the default (retry for ever) and a small queue:
#      the producer waits (back-pressure, said in the log), nothing is lost,
#      and the topic ends up with every record of a file run.
# Nothing is timed: each step waits for a condition.
. "$(dirname "$0")/assert.sh"

if ! command -v java >/dev/null 2>&1; then echo "skipped: java not found"; exit 77; fi
BROKER=$ROOT/tests/kafka/broker.sh
export KAFKA_STATE_DIR=$WORK/kafka KAFKA_OWNER_PID=$$
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    "$BROKER" stop >/dev/null 2>&1; rm -rf "$WORK"
}
trap cleanup EXIT
env=$("$BROKER" start) || { echo "the broker did not start"; "$BROKER" logs 50; exit 1; }
eval "$env"
for t in big:2 late:2 slow:2; do "$BROKER" topic "${t%%:*}" "${t##*:}" >/dev/null || exit 1; done

"$FLOWGEN" --seed 31 --flows 60000 --hosts 500 --rate 200 --late 0 --malformed 0 >"$WORK/flows.ndjson"
stat() { json_get "$1" "$2"; }
count() {  # count TOPIC: the messages in it
    kcat -Q -b "$KAFKA_BROKERS" -t "$1:0:-1" -t "$1:1:-1" 2>/dev/null | awk '{n += $NF} END {print n + 0}'
}
wait_until() {  # wait_until SECONDS COMMAND...
    local limit=$1 i; shift
    for ((i = 0; i < limit * 5; i++)); do "$@" && return 0; sleep 0.2; done
    return 1
}
ends_with() {  # ends_with PID STATUS SECONDS: PID ends by itself with STATUS
    local i
    for ((i = 0; i < $3 * 5; i++)); do
        if ! kill -0 "$1" 2>/dev/null; then wait "$1"; local s=$?; [ $s = "$2" ] && return 0
            echo "  exit $s"; return 1; fi
        sleep 0.2
    done
    echo "  still running after $3 s"; return 1
}

# ---- 0. a topic that does not exist ------------------------------------------
for role in single relay; do
    "$HOSTFLOW" run -q --role $role -i "$WORK/flows.ndjson" -o kafka:absent -b "$KAFKA_BROKERS" 2>"$WORK/absent.err"
    check "-o kafka:absent, a topic the brokers have not got ($role): exit 2 at start" [ $? = 2 ]
    check "... saying which topic and what to do" \
        grep -q "kafka: topic absent does not exist and the brokers did not create it .*create it first" "$WORK/absent.err"
done

# ---- 1. too large -----------------------------------------------------------
mkdir "$WORK/analyses"
cp "$ROOT"/analyses/*.lua "$WORK/analyses/"
cat >"$WORK/analyses/bulky.lua" <<'EOF'
-- a field of 5,000 bytes for hosts with more than 40 flows in the window
local hf = require "hostflow"
return hf.analysis {
  name = "bulky",
  state = { n = hf.counter() },
  update = function(s, flow) s.n = s.n + 1 end,
  result = function(s) if s.n > 40 then return string.rep("x", 5000) end end,
}
EOF
"$HOSTFLOW" run -q -a "$WORK/analyses" -i "$WORK/flows.ndjson" -o "$WORK/big.file"
large=$(awk 'length($0) > 4000' "$WORK/big.file" | wc -l)
all=$(wc -l <"$WORK/big.file")
"$HOSTFLOW" run -a "$WORK/analyses" -i "$WORK/flows.ndjson" -o kafka:big -b "$KAFKA_BROKERS" \
    -K message.max.bytes=4000 --stats "$WORK/big.json" 2>"$WORK/big.err"
status=$?
echo "  $large of $all records over 4,000 bytes; counters: written" \
     "$(stat "$WORK/big.json" 'd["outputs"][0]["written"]'), lost $(stat "$WORK/big.json" 'd["outputs"][0]["lost"]')"
check "records over message.max.bytes: exit 1" [ $status = 1 ]
check "... counted as lost (too_large), each of them" [ "$(stat "$WORK/big.json" 'd["outputs"][0]["lost"].get("too_large")')" = "$large" ]
check "... the others counted as written" [ "$(stat "$WORK/big.json" 'd["outputs"][0]["written"]')" = $((all - large)) ]
check "... and in the topic" [ "$(count big)" = $((all - large)) ]
check "... said in the log" grep -q "kafka: big: cannot produce: .*too large" "$WORK/big.err"
check "... and in the counters, and at the end" \
    sh -c "grep -q '$large lost (too_large)' '$WORK/big.err' && grep -q 'error: the outputs lost $large records' '$WORK/big.err'"

# A live input (a FIFO held open by the test): records flow while the broker is away.
mkfifo "$WORK/in.fifo"
live() {  # live NAME ARGS...: hostflow from the FIFO to kafka:NAME; its pid in $pid
    local name=$1; shift
    "$HOSTFLOW" run -i "$WORK/in.fifo" -o kafka:"$name" -b "$KAFKA_BROKERS" -w 10s \
        --stats "$WORK/$name.json" "$@" 2>"$WORK/$name.err" &
    pid=$!; pids+=($pid)
    exec 3>"$WORK/in.fifo"
}
more_than() { [ "$(count "$1")" -gt "$2" ]; }
lines=$(wc -l <"$WORK/flows.ndjson")
half=$((lines / 2))

# ---- 2. a finite message.timeout.ms, the broker away ------------------------
live late -K message.timeout.ms=3000
head -n "$half" "$WORK/flows.ndjson" >&3
wait_until 300 more_than late 0
"$BROKER" pause >/dev/null 3>&-
tail -n +$((half + 1)) "$WORK/flows.ndjson" >&3
exec 3>&-
check "the broker away with message.timeout.ms=3000: hostflow ends, exit 1" ends_with $pid 1 300
"$BROKER" resume >/dev/null 3>&-   # the broker must not hold the FIFO open
eval "$("$BROKER" env)"
echo "  counters: $(stat "$WORK/late.json" 'd["records"]') records, written" \
     "$(stat "$WORK/late.json" 'd["outputs"][0]["written"]'), lost $(stat "$WORK/late.json" 'd["outputs"][0]["lost"]')"
check "... the records that timed out are lost (delivery_failed)" \
    [ "$(stat "$WORK/late.json" 'd["outputs"][0]["lost"].get("delivery_failed", 0) > 0')" = True ]
check "... written + lost = the records made" \
    [ "$(stat "$WORK/late.json" 'd["outputs"][0]["written"] + sum(d["outputs"][0]["lost"].values()) - d["records"]')" = 0 ]
check "... written is what the topic holds" [ "$(count late)" = "$(stat "$WORK/late.json" 'd["outputs"][0]["written"]')" ]
check "... the end says records were lost" grep -q "error: the outputs lost [0-9]* records" "$WORK/late.err"

# ---- 3. the broker away, retrying for ever: back-pressure -------------------
"$HOSTFLOW" run -q -i "$WORK/flows.ndjson" -o "$WORK/slow.file" -w 10s
live slow -K queue.buffering.max.messages=500
head -n "$half" "$WORK/flows.ndjson" >&3
wait_until 300 more_than slow 0
"$BROKER" pause >/dev/null 3>&-
tail -n +$((half + 1)) "$WORK/flows.ndjson" >&3 &
writer=$!
check "the broker away, a full queue: the producer waits and says so" \
    wait_until 300 grep -q "the producer queue is full; waiting for the brokers (back-pressure)" "$WORK/slow.err"
check "... and hostflow is still running" kill -0 $pid
"$BROKER" resume >/dev/null 3>&-   # the broker must not hold the FIFO open
eval "$("$BROKER" env)"
wait $writer
exec 3>&-
check "... once the broker is back it ends, exit 0" ends_with $pid 0 300
check "... nothing lost" [ "$(stat "$WORK/slow.json" 'd["outputs"][0]["lost"]')" = "{}" ]
kcat -C -b "$KAFKA_BROKERS" -t slow -e -q -f '%s\n' | sort -u >"$WORK/slow.topic"
check "... the topic holds every record of the file run" cmp -s "$WORK/slow.topic" <(sort -u "$WORK/slow.file")
finish
