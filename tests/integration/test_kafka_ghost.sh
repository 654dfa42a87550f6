#!/bin/bash
# test_kafka_ghost.sh -- at least once through crashes and rebalances, with
# the brokers' default session timeouts, so that a killed hostflow stays in
# its group as a ghost member for 45 s (issue 10); the flows are produced
# keyed by line number, so a host's flows are in every partition (not keyed
# by host, hostflow's default assumption):
#   a. SIGKILL and an immediate restart, three times in a row, then a run
#      that ends by itself: static membership gives the restarted hostflow
#      its partitions back at once;
#   b. one hostflow owns the topic; a second (--exit-at-end) joins, and the
#      first is killed as soon as the second has its share: the second
#      holds -- it has part of a topic not keyed by host -- until the dead
#      member's session times out, then reads everything and ends;
#   c. a restart without static membership (kafka_instance = none): the
#      ghost keeps half the partitions, and the restarted hostflow holds,
#      saying why, instead of emitting windows from half the flows;
#   d. --exit-at-end when the group's offsets are already at the end ends
#      at once with lag 0; "brokers down" clears once the broker is back.
# In a, b and c the union of the outputs equals a file run of the same
# flows: every id present, every copy with identical statistics (host
# records without the alert flag; every alert of the file run raised, by
# the same host and rule, none other).  Nothing
# is timed: each step waits for a condition (records written, a line in the
# log), with a bound only a hang reaches.
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
for t in fa:4 ha:4 fb:4 hb:4 fc:4 hc:4 fd:4; do
    "$BROKER" topic "${t%%:*}" "${t##*:}" >/dev/null || exit 1
done

"$FLOWGEN" --seed 21 --flows 300000 --hosts 2000 --rate 500 --late 0 --malformed 0 >"$WORK/flows.ndjson"
"$HOSTFLOW" run -q -i "$WORK/flows.ndjson" -o "$WORK/file.ndjson"
lines=$(wc -l <"$WORK/flows.ndjson")

produce() {  # produce TOPIC FIRST LAST: lines FIRST..LAST keyed by line number
    sed -n "$2,$3p" "$WORK/flows.ndjson" | awk -v n="$2" '{print (n + NR) % 97 "\t" $0}' \
        | kcat -P -b "$KAFKA_BROKERS" -t "$1" -K '\t' -X enable.idempotence=true -l /dev/stdin
}
ends() {  # ends TOPIC: the messages in it (sum of the end offsets of 4 partitions)
    kcat -Q -b "$KAFKA_BROKERS" -t "$1:0:-1" -t "$1:1:-1" -t "$1:2:-1" -t "$1:3:-1" 2>/dev/null |
        awk '{n += $NF} END {print n + 0}'
}
wait_until() {  # wait_until SECONDS COMMAND...: until COMMAND succeeds (1 when it never did)
    local limit=$1 i; shift
    for ((i = 0; i < limit * 5; i++)); do "$@" && return 0; sleep 0.2; done
    return 1
}
more_than() { [ "$(ends "$1")" -gt "$2" ]; }
alive() { kill -0 "$1" 2>/dev/null; }
ends_ok() {  # ends_ok PID SECONDS: PID ends by itself within SECONDS, with status 0
    local i
    for ((i = 0; i < $2 * 5; i++)); do
        if ! alive "$1"; then wait "$1"; exit_status=$?; return "$exit_status"; fi
        sleep 0.2
    done
    echo "  still running after $2 s"
    return 1
}
union_equals_file() {  # union_equals_file TOPIC: every record of the file run, copies identical
    kcat -C -b "$KAFKA_BROKERS" -t "$1" -e -q -f '%s\n' >"$WORK/$1.all"
    python3 - "$WORK/file.ndjson" "$WORK/$1.all" <<'PY'
import json, sys
# Host records are compared without the alert flag, and alerts by their
# (host, rule) and first id: open alerts live in memory (lua/README.md,
# "Alerts"), so one open across a crash or a revocation starts again with
# the id of the first window read again, and the windows read again before
# it is raised carry no flag (as in test_kafka.sh).
def records(path):
    out, alerts, bad, copies = {}, [], 0, 0
    for l in open(path):
        r = json.loads(l)
        if r["@type"] == "host_alert":
            alerts.append(r)
            continue
        copies += 1
        r.pop("alert", None)
        if r["id"] in out and out[r["id"]] != r:
            bad += 1
        out[r["id"]] = r
    return out, alerts, bad, copies
want, want_alerts, _, _ = records(sys.argv[1])
got, got_alerts, bad, copies = records(sys.argv[2])
missing = [i for i in want if i not in got]
differ = [i for i in want if i in got and got[i] != want[i]]
extra = [i for i in got if i not in want]
print(f"  {len(want)} host records wanted; {copies} copies of {len(got)} ids got: missing {len(missing)}, "
      f"different {len(differ)}, extra {len(extra)}, repeats that differ {bad}")
for i in (missing + differ + extra)[:3]: print("   ", i, want.get(i, {}).get("stats"), got.get(i, {}).get("stats"))
first = lambda alerts: {a["id"] for a in alerts if "update" not in a}
who = lambda alerts: {(a["src_ip"], a["rule"]) for a in alerts}
alerts_ok = first(want_alerts) <= first(got_alerts) and who(got_alerts) == who(want_alerts)
print(f"  alerts: {len(first(want_alerts))} wanted, every one raised again, of no other host or rule: {alerts_ok}")
sys.exit(1 if missing or differ or extra or bad or not alerts_ok else 0)
PY
}

# ---- a. SIGKILL, restart at once, three times --------------------------------
produce fa 1 "$lines"
written=0
for round in 1 2 3; do
    "$HOSTFLOW" run -b "$KAFKA_BROKERS" -g ga -i kafka:fa -o kafka:ha --commit-interval 300ms \
        2>"$WORK/a$round.err" &
    pid=$!; pids+=($pid)
    # kill it once it has written more records than before (a few thousand)
    wait_until 300 more_than ha $((written + 3000)) || { echo "  round $round: no records"; break; }
    kill -KILL $pid; wait $pid 2>/dev/null
    written=$(ends ha)
    echo "  round $round: killed after $written records in all"
done
check "a: every restart got all four partitions at once (static membership)" \
    sh -c "grep -q 'assigned fa\[0\] fa\[1\] fa\[2\] fa\[3\] (group ga, instance hostflow-' '$WORK/a2.err' &&
           grep -q 'assigned fa\[0\] fa\[1\] fa\[2\] fa\[3\]' '$WORK/a3.err' && ! grep -q holding '$WORK'/a[23].err"
"$HOSTFLOW" run -b "$KAFKA_BROKERS" -g ga -i kafka:fa -o kafka:ha --exit-at-end 2>"$WORK/a4.err" &
pid=$!; pids+=($pid)
last_ends() {  # last_ends PID: it ends by itself, exit 0; else the end of its log
    ends_ok "$1" 600 && return 0
    grep -v "rejected (" "$WORK/a4.err" | tail -n 20 | sed 's/^/  | /'
    return 1
}
check "a: the last run ends by itself, exit 0" last_ends $pid
check "a: after three SIGKILLs, every record of the file run is there, every copy identical" union_equals_file ha
check "a: some flows were read again (at least once)" [ "$(ends ha)" -gt "$(wc -l <"$WORK/file.ndjson")" ]

# ---- b. a second instance joins; the first is killed -------------------------
half=$((lines / 2))
produce fb 1 "$half"
"$HOSTFLOW" run -b "$KAFKA_BROKERS" -g gb -i kafka:fb -o kafka:hb --commit-interval 300ms \
    --instance-id first 2>"$WORK/b1.err" &
first=$!; pids+=($first)
wait_until 300 more_than hb 2000
"$HOSTFLOW" run -b "$KAFKA_BROKERS" -g gb -i kafka:fb -o kafka:hb --exit-at-end \
    --instance-id second --stats "$WORK/b2.json" 2>"$WORK/b2.err" &
second=$!; pids+=($second)
has_share() { grep -q "assigned fb\[" "$WORK/b2.err" && ! grep -q "assigned nothing" "$WORK/b2.err"; }
wait_until 300 has_share
kill -KILL $first; wait $first 2>/dev/null
produce fb $((half + 1)) "$lines"
check "b: the second, assigned part of a topic not keyed by host, holds and names what it lacks" \
    grep -q "kafka: holding: .* fb\[[0-3]\] .* belong to other members of group gb" "$WORK/b2.err"
check "b: the second ends by itself once the dead member's partitions come to it, exit 0" \
    ends_ok $second 600
check "b: it then read every partition" grep -q "assigned fb\[0\] fb\[1\] fb\[2\] fb\[3\]" "$WORK/b2.err"
check "b: the first instance, revoked, dropped its open windows rather than cut them short" \
    grep -q "revoked fb.*the windows still open are dropped" "$WORK/b1.err"
check "b: every record of the file run is there, every copy identical" union_equals_file hb

# ---- c. no static membership: the ghost's half is waited for -----------------
produce fc 1 "$lines"
"$HOSTFLOW" run -b "$KAFKA_BROKERS" -g gc -i kafka:fc -o kafka:hc --commit-interval 300ms \
    --instance-id none 2>"$WORK/c1.err" &
pid=$!; pids+=($pid)
wait_until 300 more_than hc 3000
kill -KILL $pid; wait $pid 2>/dev/null
"$HOSTFLOW" run -b "$KAFKA_BROKERS" -g gc -i kafka:fc -o kafka:hc --exit-at-end \
    --instance-id none 2>"$WORK/c2.err" &
pid=$!; pids+=($pid)
check "c: the restarted hostflow ends by itself, exit 0" \
    ends_ok $pid 600
if grep -q "kafka: holding" "$WORK/c2.err"; then
    echo "  c: the ghost kept part of the topic; the restarted hostflow held until it left"
fi
check "c: every record of the file run is there, every copy identical" union_equals_file hc

# ---- d. exit at the end when already there; brokers back ---------------------
produce fd 1 20000
for run in 1 2; do
    "$HOSTFLOW" run -b "$KAFKA_BROKERS" -g gd -i kafka:fd -o /dev/null --exit-at-end \
        --stats "$WORK/d$run.json" 2>"$WORK/d$run.err" &
    pid=$!; pids+=($pid)
    check "d: run $run of --exit-at-end in one group ends by itself" \
        ends_ok $pid 300
done
check "d: the second had nothing to read" [ "$(json_get "$WORK/d2.json" 'd["records_read"]')" = 0 ]
check "d: and said lag 0 (not the topic's size)" \
    grep -q "kafka      connected, 4 partitions, 0 messages, lag 0," "$WORK/d2.err"
"$HOSTFLOW" run -b "$KAFKA_BROKERS" -g gd2 -i kafka:fd -o /dev/null 2>"$WORK/d3.err" &
pid=$!; pids+=($pid)
# its counters on SIGUSR1 (once it is assigned: its signals are set up by then)
report_has() {
    alive $pid || return 1
    local before
    before=$(grep -c '^hostflow counters' "$WORK/d3.err")
    kill -USR1 $pid
    wait_until 30 sh -c "[ \$(grep -c '^hostflow counters' '$WORK/d3.err') -gt $before ]"
    tail -n 12 "$WORK/d3.err" | grep -q "$1"
}
wait_until 300 grep -qs "kafka: assigned" "$WORK/d3.err"
wait_until 300 report_has "connected, 4 partitions, 20000 messages, lag 0,"
"$BROKER" pause >/dev/null
wait_until 120 grep -q "all brokers are down" "$WORK/d3.err"
"$BROKER" resume >/dev/null
eval "$("$BROKER" env)"
check "d: once the broker is back, the counters say connected again (within 30 s; before: 90 s)" \
    wait_until 30 report_has "kafka      connected"
kill -TERM $pid
check "d: and it stops cleanly" ends_ok $pid 120
finish
