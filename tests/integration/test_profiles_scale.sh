#!/bin/bash
# test_profiles_scale.sh -- profiles follow their hosts across rebalances
# (profiles.topic, the changelog), against a real broker: flows keyed by
# host over eight simulated days on a topic of 4 partitions; three
# instances in one group (--keyed), one joining mid-run and one leaving,
# the other two restarted to read to the end; their host_profile records,
# profile_deviation alerts and final profiles (the changelog, compacted by
# key) equal a single run's over the same flows from a file.  Hostile
# messages on the changelog (not a row, huge, keys that name no host) are
# refused, counted, and cost nothing else.
#   NO_CHANGELOG=1 runs the group without profiles.topic: the comparisons
#   then fail (a host's new owner starts its profile afresh), as they did
#   before the changelog.
# KEEP_WORK=DIR keeps the logs and records there.
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/kafka_group.sh"
"$BROKER" topic pflows 4 >/dev/null || exit 1
"$BROKER" topic out 4 >/dev/null || exit 1
"$BROKER" topic profiles 3 cleanup.policy=compact >/dev/null || exit 1

# days of 4 hours (test_profiles.sh); the profile learns for 3 of them, so
# the jump of 10.20.0.4 and the new port of 10.20.0.6 in the fifth day
# raise alerts; a host_profile record every day
D=14400000
T0=1795651200000
"$FLOWGEN" --days 8 --day-ms $D --hosts 12 --start-ms $T0 --seed 7 \
    --deviate 3,$((D * 9 / 2)),300000,20 --new-port 5,$((D * 42 / 10)),6667 --out "$WORK/days.ndjson"
cat >"$WORK/conf.lua" <<EOF
return {
  networks = { "10.0.0.0/8", "2001:db8::/32" },
  analyses = { dir = "$ROOT/analyses", params = { profile = { slot = "10m", learn = "12h" } } },
  profiles = { save = "1s", report = "4h" },
}
EOF
"$HOSTFLOW" run -q -c "$WORK/conf.lua" -j2 -i "$WORK/days.ndjson" -o "$WORK/single.ndjson" --profiles "$WORK/whole"
python3 "$ROOT/tests/integration/hfprof.py" dump "$WORK"/whole/*.hfp >"$WORK/whole.txt"

refused_at_start() {  # refused_at_start MESSAGE ARGS...: hostflow run stops at once, exit 2, saying so
    local want=$1; shift
    "$HOSTFLOW" run -c "$WORK/conf.lua" -o /dev/null --profiles-topic "$@" 2>"$WORK/start.err" </dev/null
    [ $? -eq 2 ] && grep -q "$want" "$WORK/start.err"
}
check "profiles.topic wants a Kafka input" \
    refused_at_start "profiles.topic: the profiles' changelog follows hosts between instances that share a Kafka input" \
    profiles -i "$WORK/days.ndjson"
check "... and a topic that exists (not one the brokers would make uncompacted)" \
    refused_at_start "profiles.topic nosuch: the topic does not exist: create it compacted" \
    nosuch -b "$KAFKA_BROKERS" -g pg -i kafka:pflows

lines=$(wc -l <"$WORK/days.ndjson")
third=$((lines / 3))
produce() {  # produce FIRST LAST: lines FIRST..LAST, keyed by source host
    sed -n "$1,$2p" "$WORK/days.ndjson" | python3 -c '
import ipaddress, json, sys
for line in sys.stdin:
    try:                  # the address as one text, whatever form the line spells it in
        f = json.loads(line)
        key = str(ipaddress.ip_address(next(v for k, v in f.items() if k in ("src4_addr", "src6_addr")
                  or k.endswith(("sourceIPv4Address", "sourceIPv6Address")))))
    except (ValueError, StopIteration, AttributeError):
        key = "none"
    sys.stdout.write("%s\t%s" % (key, line))' | kcat -P -b "$KAFKA_BROKERS" -t pflows -K '\t' -l /dev/stdin
}
TOPIC=(--profiles-topic profiles)
[ -n "${NO_CHANGELOG:-}" ] && TOPIC=()
start() {    # start NAME [ARGS...]: an instance of group pg (stderr to NAME.err)
    local name=$1; shift
    "$HOSTFLOW" run -c "$WORK/conf.lua" -j2 -b "$KAFKA_BROKERS" -g pg --keyed --instance-id "$name" \
        -i kafka:pflows -o kafka:out --profiles "$WORK/$name.p" "${TOPIC[@]}" --commit-interval 200ms \
        -K session.timeout.ms=6000 -K heartbeat.interval.ms=1000 "$@" 2>>"$WORK/$name.err" &
    PID[$name]=$!
}
stop() {     # stop NAME: SIGTERM, its exit status
    local rc
    kill -TERM "${PID[$1]}"
    wait "${PID[$1]}"
    rc=$?
    unset "PID[$1]"
    return $rc
}
wait_for() { # wait_for WHAT COMMAND...: until COMMAND succeeds (at most 2 minutes)
    local what=$1; shift
    for _ in $(seq 600); do "$@" && return 0; sleep 0.2; done
    echo "  gave up waiting: $what"
    return 1
}
assigned() { # assigned NAME...: each has said "assigned pflows" more often than before
    local n
    for n in "$@"; do [ "$(grep -c 'assigned pflows' "$WORK/$n.err")" -gt "${SEEN[$n]:-0}" ] || return 1; done
}
declare -A SEEN
remember() { local n; for n in "$@"; do SEEN[$n]=$(grep -c 'assigned pflows' "$WORK/$n.err" 2>/dev/null || echo 0); done; }
caught_up() { # caught_up NAME...: each reads at the end of its partitions (its counters, SIGUSR1)
    local n
    for n in "$@"; do
        kill -USR1 "${PID[$n]}"
        sleep 0.3
        grep '^  kafka ' "$WORK/$n.err" | tail -1 | grep -q ', lag 0,' || return 1
    done
}

produce 1 "$third"
remember a b
start a
start b
check "two instances share the topic" wait_for "a and b assigned" assigned a b
wait_for "a and b caught up" caught_up a b
# hostile messages on the changelog: none names a host of the flows
head -c 100000 /dev/urandom >"$WORK/huge"
{ printf 'profile/192.0.2.1\tnot a row\n'; printf 'no-slash\tx\n'; printf 'profile/not-an-address\tx\n'
} | kcat -P -b "$KAFKA_BROKERS" -t profiles -K '\t' -l /dev/stdin
kcat -P -b "$KAFKA_BROKERS" -t profiles -k profile/192.0.2.2 "$WORK/huge"
remember a b c
start c
check "a third joins: a rebalance, and each reads the changelog before its flows" \
    wait_for "a, b, c assigned" assigned a b c
produce $((third + 1)) $((2 * third))
wait_for "a, b, c caught up" caught_up a b c
remember b c
stop a
rc=$?
check "one leaves (SIGTERM), handing its windows over" [ $rc -eq 0 ]
check "its partitions go to the others after its session timeout" wait_for "b, c assigned" assigned b c
produce $((2 * third + 1)) "$lines"
for n in b c; do stop $n; start $n --exit-at-end --stats "$WORK/$n.json"; done
ok=0
for n in b c; do wait "${PID[$n]}" || ok=1; unset "PID[$n]"; done
check "the other two, restarted, read to the end and exit by themselves" [ $ok -eq 0 ]
if [ -z "${NO_CHANGELOG:-}" ]; then
    check "... having read rows from the changelog and written to it" \
        json_true "$WORK/b.json" "d['profiles']['changelog']['written'] > 0 and d['profiles']['changelog']['taken'] > 0"
    hostile() {
        grep -q 'a message (key "no-slash", 1 bytes) refused: a key that is not NAME/ADDRESS' "$WORK/c.err" &&
        grep -q 'key "profile/192.0.2.2", 100000 bytes) refused: not a hostflow profile file' "$WORK/c.err" &&
        json_true "$WORK/b.json" "d['profiles']['changelog']['refused'] >= 4"
    }
    check "hostile messages on the changelog are refused, counted and named, and cost nothing else" hostile
fi

kcat -C -b "$KAFKA_BROKERS" -t out -e -q -f '%s\n' >"$WORK/group.ndjson"
python3 - "$WORK/single.ndjson" "$WORK/group.ndjson" >"$WORK/compare.txt" <<'EOF'
import json, sys
def profile_records(path):
    out = {}
    for line in open(path):
        r = json.loads(line)
        if r["@type"] == "host_profile" or (r["@type"] == "host_alert" and r["rule"] == "profile_deviation"):
            out.setdefault(r["@type"], set()).add(json.dumps(r, sort_keys=True))
    return out
single, group = profile_records(sys.argv[1]), profile_records(sys.argv[2])
bad = 0
for t in ("host_profile", "host_alert"):
    a, b = single.get(t, set()), group.get(t, set())
    ids_a = {json.loads(x)["id"] for x in a}
    ids_b = {json.loads(x)["id"] for x in b}
    print("%s: %d records (%d ids) in the single run, %d (%d ids) in the group's; %d only in the "
          "single run's, %d only in the group's" % (t, len(a), len(ids_a), len(b), len(ids_b),
                                                    len(a - b), len(b - a)))
    for x in sorted(a - b)[:3]: print("  only single:", x[:300])
    for x in sorted(b - a)[:3]: print("  only group: ", x[:300])
    bad += len(a ^ b) > 0 or not a
sys.exit(1 if bad else 0)
EOF
rc=$?
cat "$WORK/compare.txt"
check "host_profile records and profile_deviation alerts equal the single run's" [ $rc -eq 0 ]
kcat -C -b "$KAFKA_BROKERS" -t profiles -e -q -f '%K %S %k%s' >"$WORK/changelog.bin"
python3 "$ROOT/tests/integration/hfprof.py" changelog "$WORK/changelog.bin" >"$WORK/group.txt"
check "the profiles on the changelog equal the single run's saved ones ($(wc -l <"$WORK/whole.txt") hosts)" \
    cmp -s "$WORK/whole.txt" "$WORK/group.txt"
finish
