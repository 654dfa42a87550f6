#!/bin/bash
# scale.sh -- the rows of `make bench` for several instances sharing the
# work through Kafka (README, "Several instances"; tests/bench/run.sh calls
# it, table.py reads what it leaves):
#
#   relay          `--role relay`, the bench's flows from a topic of 6
#                  partitions (not keyed by host) to one keyed by host:
#                  flows/s, and the bytes a flow takes on the broker's disk,
#                  raw JSON against relayed
#   one / three    single instances (-j1 each) reading the keyed topic to
#                  its end in a new group, one instance against three (runs
#                  alternate, taking turns at going first); records to
#                  /dev/null, so what is measured is hostflow's share; and
#                  the CPU time they used, whole processes (/usr/bin/time)
#
# A rate is the flows over the time they were read: from the first record
# any of the instances read to the last (--stats first_record_s and
# last_record_s, one clock for every process of the machine), so that
# start-up and the group's forming (seconds, whatever the input) are not
# counted against a million flows.
#   partial        `--role partial` over the raw topic: the partial
#                  windows' bytes a flow, as made and on the broker's disk
#                  (lz4), and partial windows per flow
#
# The broker runs on the same machine (tests/kafka/broker.sh), sharing its
# cores with every instance: the figures say what this machine does with
# all of them.  `group.initial.rebalance.delay.ms=3000` (Kafka's default,
# not the tests' 0) lets instances started together join one rebalance.
#
#   tests/bench/scale.sh RAW_DIR DATA RUNS
# leaves RAW_DIR/scale.json ({"runs": N, ...} or {"na": why}), per run i
# scale-one-i.json and scale-three-i.json ({"flows", "seconds"}), and
# scale-relay.json, scale-partial.json.  BENCH_SCALE=0 skips it;
# BENCH_SCALE_FLOWS (1000000) flows of DATA are used.
set -uo pipefail
R=$1 DATA=$2 RUNS=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build/bench
FLOWS=${BENCH_SCALE_FLOWS:-1000000}
NETS=10.0.0.0/8,2001:db8::/32
HOSTFLOW=$ROOT/hostflow
BROKER=$ROOT/tests/kafka/broker.sh
say() { printf 'bench: %s\n' "$*" >&2; }
na() { echo "{\"na\":\"$1\"}" >"$R/scale.json"; exit 0; }

[ "${BENCH_SCALE:-1}" = 0 ] && na "skipped (BENCH_SCALE=0)"
command -v java >/dev/null || na "n/a (java not installed)"
command -v kcat >/dev/null || na "n/a (kcat not installed)"
"$HOSTFLOW" run --help 2>&1 | grep -- "--role" >/dev/null || na "n/a (no --role)"
export KAFKA_STATE_DIR=$OUT/kafka-scale KAFKA_OWNER_PID=$$
trap '"$BROKER" logs 300 >"$OUT/scale-broker.log" 2>&1; "$BROKER" stop >/dev/null 2>&1' EXIT
"$BROKER" stop >/dev/null 2>&1      # a fresh broker: no topics, no groups of an earlier run
env=$("$BROKER" start group.initial.rebalance.delay.ms=3000 2>"$OUT/scale-start.log") \
    || na "n/a (the broker did not start; build/bench/scale-start.log)"
eval "$env"
for t in scale-raw scale-byhost scale-partials; do
    "$BROKER" topic "$t" 6 >/dev/null 2>&1 || na "n/a (cannot create topics)"
done
KEYED=()
"$HOSTFLOW" run --help | grep -- "--keyed" >/dev/null && KEYED=(--keyed)
# every run ends by itself (--exit-at-end); 10 minutes is a hang.  Their
# logs (warnings, the counters) go to build/bench/scale-*.log.
run() { timeout 600 "$HOSTFLOW" run -b "$KAFKA_BROKERS" -n "$NETS" "$@"; }
disk() { du -cb "$KAFKA_STATE_DIR"/data/"$1"-*/*.log | tail -n 1 | cut -f1; }

say "scale: producing $FLOWS flows (keyed by line number: not by host)"
head -n "$FLOWS" "$DATA" | awk 'length($0) < 900000 {print NR % 97 "\t" $0}' |
    kcat -P -b "$KAFKA_BROKERS" -t scale-raw -K '\t' -l /dev/stdin 2>/dev/null \
    || na "n/a (kcat could not produce)"

# span FLOWS STATS...: {"flows", "seconds"} from the first record of any to the last
span() {
    python3 - "$@" <<'EOF'
import json, sys
s = [json.load(open(p)) for p in sys.argv[2:]]
first = min(x["first_record_s"] for x in s if x["first_record_s"] > 0)
last = max(x["last_record_s"] for x in s)
print(json.dumps({"flows": int(sys.argv[1]), "seconds": last - first, "instances": len(s)}))
EOF
}

say "scale: the relay"
run --role relay -g relay -i kafka:scale-raw -o kafka:scale-byhost --exit-at-end \
    --stats "$OUT/scale-relay-stats.json" 2>"$OUT/scale-relay.log" || na "n/a (the relay failed; build/bench/scale-relay.log)"
relayed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["relayed"]["flows"])' "$OUT/scale-relay-stats.json")
span "$relayed" "$OUT/scale-relay-stats.json" | python3 -c '
import json, sys
d = json.load(sys.stdin)
d.update(lines=int(sys.argv[1]), raw_disk=int(sys.argv[2]), relayed_disk=int(sys.argv[3]))
print(json.dumps(d))' "$FLOWS" "$(disk scale-raw)" "$(disk scale-byhost)" >"$R/scale-relay.json"

# settled N GROUP: the members 1..N of GROUP (static) are assigned their
# shares before anything is read: each starts at the end of the topic
# (--from latest: it reads nothing, commits nothing) until every one of them
# holds fewer than all 6 partitions, then stops; a static member does not
# leave its group when it stops, so its restart within session.timeout.ms
# takes the same partitions back without a rebalance.  Otherwise the first
# member to join reads alone until the others come, then they read it all
# again from the commit, and the figure is the start-up race's.
settled() {
    local n=$1 g=$2 k pids=() tries
    for k in $(seq "$n"); do
        timeout 120 "$HOSTFLOW" run -b "$KAFKA_BROKERS" -n "$NETS" -j1 -g "$g" -K "group.instance.id=$g-$k" \
            "${KEYED[@]}" -i kafka:scale-byhost -o /dev/null --from latest 2>"$OUT/scale-$g-$k.settle" &
        pids+=($!)
    done
    for tries in $(seq 600); do
        local ready=0
        for k in $(seq "$n"); do
            grep "assigned scale-byhost" "$OUT/scale-$g-$k.settle" 2>/dev/null | tail -n 1 \
                | grep -qv "scale-byhost\[5\].*scale-byhost\[0\]\|scale-byhost\[0\].*scale-byhost\[5\]" \
                && ready=$((ready + 1))
        done
        [ "$ready" -eq "$n" ] && break
        sleep 0.1
    done
    kill -TERM "${pids[@]}" 2>/dev/null
    for k in "${pids[@]}"; do wait "$k"; done
    cat "$OUT"/scale-"$g"-*.settle >>"$OUT/scale-instances.log"
    rm -f "$OUT"/scale-"$g"-*.settle
}

# one run of N instances (-j1 each, a new group) to the end of the keyed topic
instances() {   # instances N FILE
    local n=$1 file=$2 g="bench-$1-$RANDOM$RANDOM" k pids=() stats=() ok=0
    [ "$n" -gt 1 ] && settled "$n" "$g"
    for k in $(seq "$n"); do
        /usr/bin/time -f "%U %S" -o "$OUT/scale-$g-$k.time" \
            timeout 600 "$HOSTFLOW" run -b "$KAFKA_BROKERS" -n "$NETS" -j1 -g "$g" -K "group.instance.id=$g-$k" \
            "${KEYED[@]}" -i kafka:scale-byhost -o /dev/null --exit-at-end --stats "$OUT/scale-$g-$k.json" \
            2>>"$OUT/scale-instances.log" &
        pids+=($!)
        stats+=("$OUT/scale-$g-$k.json")
    done
    for k in "${pids[@]}"; do wait "$k" || ok=1; done
    local cpu
    cpu=$(cat "$OUT"/scale-"$g"-*.time | awk '{c += $1 + $2} END {print c}')
    [ $ok -eq 0 ] && span "$relayed" "${stats[@]}" | python3 -c '
import json, sys
d = json.load(sys.stdin)
d["cpu_s"] = float(sys.argv[1])
print(json.dumps(d))' "$cpu" >"$file"
    rm -f "${stats[@]}" "$OUT"/scale-"$g"-*.time
}
runs=$(( RUNS < 3 ? RUNS : 3 ))
for i in $(seq "$runs"); do
    say "scale: run $i of $runs, one instance and three"
    if [ $((i % 2)) = 1 ]; then
        instances 1 "$R/scale-one-$i.json"; instances 3 "$R/scale-three-$i.json"
    else
        instances 3 "$R/scale-three-$i.json"; instances 1 "$R/scale-one-$i.json"
    fi
done

say "scale: the partial role"
if run -j1 --role partial -g partial -i kafka:scale-raw -o kafka:scale-partials --exit-at-end \
    --stats "$OUT/scale-partial-stats.json" 2>"$OUT/scale-partial.log"; then
    python3 - "$OUT/scale-partial-stats.json" "$(disk scale-partials)" "$R/scale-partial.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
json.dump({"flows": s["monitored"], "partials": s["records"], "bytes": s["partial_bytes"],
           "disk": int(sys.argv[2])}, open(sys.argv[3], "w"))
EOF
else
    echo '{"na":"n/a (the partial role failed; build/bench/scale-partial.log)"}' >"$R/scale-partial.json"
fi
echo "{\"runs\":$runs,\"flows\":$FLOWS}" >"$R/scale.json"
