#!/bin/bash
# test_kafka_decoders.sh -- the Kafka input decoding on the decoder threads
# (-j N > 1, issue 18) against a real broker (tests/kafka/broker.sh): the
# same topic read with -j1 (each message decoded in the consumer thread)
# and with -j3 (three decoder threads) gives the same records, the same
# counters and the same warnings; with messages that hold newlines (a
# pretty-printed record), empty ones, malformed ones and flows outside the
# monitored networks among them.
. "$(dirname "$0")/assert.sh"

if ! command -v java >/dev/null 2>&1; then echo "skipped: java not found"; exit 77; fi
if ! command -v kcat >/dev/null 2>&1; then echo "skipped: kcat not found"; exit 77; fi
BROKER=$ROOT/tests/kafka/broker.sh
export KAFKA_STATE_DIR=$WORK/kafka KAFKA_OWNER_PID=$$
trap '"$BROKER" stop >/dev/null 2>&1; rm -rf "$WORK"' EXIT
env=$("$BROKER" start) || { echo "the broker did not start"; "$BROKER" logs 50; exit 1; }
eval "$env"
"$BROKER" topic flows 4 >/dev/null || exit 1

# 30,000 flows over 5 minutes, a few malformed (few enough -- a handful of
# warnings in all -- that none is held back by the rate limit of 5 a
# second, which a faster run would meet sooner), then a pretty-printed record and an
# empty message; messages end with "<EOM>", so a newline is a message's own
"$FLOWGEN" --seed 18 --flows 30000 --hosts 600 --rate 100 --late 0 --malformed 0.0001 \
    --outside 0.05 | awk 'length($0) < 900000' >"$WORK/flows.ndjson"
{
    awk '{printf "%d\t%s<EOM>", NR % 97, $0}' "$WORK/flows.ndjson"
    printf '7\t{\n  "src4_addr": "10.0.0.7",\n  "dst4_addr": "192.0.2.1", "proto": 6,\n'
    printf '  "in_packets": 2, "in_bytes": 80,\n  "first": %s, "last": %s\n}\n<EOM>' \
        "$(python3 -c 'print(1764165900000 - 1000)')" 1764165900000
    printf '8\t<EOM>'
} | kcat -P -b "$KAFKA_BROKERS" -t flows -K '\t' -D '<EOM>' -X enable.idempotence=true \
    || { echo "kcat could not produce"; exit 1; }

run() {  # run J: the topic read with -j J in a group of its own
    "$HOSTFLOW" run -j "$1" -b "$KAFKA_BROKERS" -g "dec$1" -i kafka:flows -n 10.0.0.0/8 \
        -o "$WORK/j$1.ndjson" --exit-at-end --stats "$WORK/j$1.json" 2>"$WORK/j$1.err"
}
run 1; s1=$?
run 3; s3=$?
[ $s1 -eq 0 ] || tail -n 20 "$WORK/j1.err"
[ $s3 -eq 0 ] || tail -n 20 "$WORK/j3.err"
check "-j1 reads the topic to its end and exits 0" [ $s1 -eq 0 ]
check "-j3 reads the topic to its end and exits 0" [ $s3 -eq 0 ]
check "-j1 decodes in the consumer thread" json_true "$WORK/j1.json" 'd["decoders"] == 0'
check "-j3 decodes on three decoder threads" json_true "$WORK/j3.json" 'd["decoders"] == 3'
check "every message is a record read (the pretty-printed and empty ones too)" \
    json_true "$WORK/j3.json" "d['records_read'] == $(($(wc -l <"$WORK/flows.ndjson") + 2))"
check "the pretty-printed record is decoded, the empty message rejected" \
    json_true "$WORK/j3.json" 'd["rejected"]["malformed_json"] >= 1 and d["decoded"] > 25000'
sort "$WORK/j1.ndjson" >"$WORK/j1.sorted"
sort "$WORK/j3.ndjson" >"$WORK/j3.sorted"
check "-j3 writes records" [ -s "$WORK/j3.sorted" ]
check "the records of -j3 are those of -j1" cmp -s "$WORK/j1.sorted" "$WORK/j3.sorted"
same_counters() {
    python3 - "$WORK/j1.json" "$WORK/j3.json" <<'EOF'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
keys = ["records_read", "decoded", "rejected", "rejected_total", "monitored", "filtered",
        "to_destination", "late", "replayed", "skipped_options_templates", "clock_skew_clamped",
        "flows_analysed", "records"]
bad = [(k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)]
for k, x, y in bad: print("  %s: -j1 %s, -j3 %s" % (k, x, y))
sys.exit(1 if bad else 0)
EOF
}
check "the counters of -j3 are those of -j1" same_counters
# the warnings about rejected messages name the same messages with the same
# reasons (their order across partitions is the consumer's); late flows are
# counted alike (above), but their warnings, two a second, depend on timing
warnings() { grep -E 'rejected \(' "$1" | sed 's/^[^:]*: *//' | sort; }
warnings "$WORK/j1.err" >"$WORK/w1"
warnings "$WORK/j3.err" >"$WORK/w3"
check "-j1 warns about the malformed messages" [ -s "$WORK/w1" ]
check "-j3 gives the same warnings" cmp -s "$WORK/w1" "$WORK/w3"
[ -s "$WORK/w1" ] && ! cmp -s "$WORK/w1" "$WORK/w3" && diff "$WORK/w1" "$WORK/w3" | head -5
check "the consumer's report line counts the same messages" \
    [ "$(grep -o '[0-9]* messages' "$WORK/j1.err")" = "$(grep -o '[0-9]* messages' "$WORK/j3.err")" ]
finish
