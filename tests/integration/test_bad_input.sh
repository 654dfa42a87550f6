#!/bin/bash
# test_bad_input.sh -- bad input never stops hostflow: every rejected line is
# counted under its reason, warned about with its line number (rate-limited),
# and the good lines around it are still processed.
. "$(dirname "$0")/assert.sh"

in=$WORK/in.ndjson
good() {  # good SRC END_MS
    printf '{"ipfix.sourceIPv4Address":"%s","ipfix.destinationIPv4Address":"192.0.2.1","ipfix.protocolIdentifier":6,"ipfix.packetDeltaCount":2,"ipfix.octetDeltaCount":120,"ipfix.flowStartMilliseconds":%s,"ipfix.flowEndMilliseconds":%s,"ipfix.tcpControlBits":18}\n' "$1" "$2" "$2"
}
T=1764165600000
{
    good 10.0.0.1 $T
    echo '{"ipfix.sourceIPv4Address":"10.0.0.1",'                         # truncated
    echo 'not json at all'                                                # malformed
    head -c 300 /dev/urandom | tr -d '\n'; echo                           # binary garbage
    echo '[1,2,3]'                                                        # not an object
    echo '{"ipfix.sourceIPv4Address":"10.0.0.1"}'                         # missing fields
    good 10.0.0.300 $T                                                    # impossible address
    echo '{"ipfix.sourceIPv4Address":"10.0.0.1","ipfix.destinationIPv4Address":"192.0.2.1","ipfix.protocolIdentifier":6,"ipfix.packetDeltaCount":-2,"ipfix.octetDeltaCount":120,"ipfix.flowStartMilliseconds":1764165600000,"ipfix.flowEndMilliseconds":1764165600000}'
    echo '{"ipfix.sourceIPv4Address":"10.0.0.1","ipfix.destinationIPv4Address":"192.0.2.1","ipfix.protocolIdentifier":6,"ipfix.packetDeltaCount":2,"ipfix.octetDeltaCount":99999999999999999999999,"ipfix.flowStartMilliseconds":1764165600000,"ipfix.flowEndMilliseconds":1764165600000}'
    echo '{"ipfix.sourceIPv4Address":"10.0.0.1","ipfix.destinationIPv4Address":"192.0.2.1","ipfix.protocolIdentifier":true,"ipfix.packetDeltaCount":2,"ipfix.octetDeltaCount":1,"ipfix.flowStartMilliseconds":1764165600000,"ipfix.flowEndMilliseconds":1764165600000}'
    echo '{"ipfix.sourceIPv4Address":"10.0.0.1","ipfix.destinationIPv4Address":"192.0.2.1","ipfix.protocolIdentifier":6,"ipfix.packetDeltaCount":2,"ipfix.octetDeltaCount":1,"ipfix.flowStartMilliseconds":1764165609000,"ipfix.flowEndMilliseconds":1764165600000}'
    good 10.0.0.2 4102444800000                                           # far in the future
    python3 -c "import sys; sys.stdout.write('{\"x\":\"' + 'A' * 3000000 + '\"}\n')"   # 3 MB line
    echo
    good 10.0.0.3 $((T + 1000))
} >"$in"
lines=$(wc -l <"$in")

"$HOSTFLOW" run -i "$in" -o "$WORK/out" --stats "$WORK/stats.json" 2>"$WORK/err"
rc=$?
check "hostflow exits 0 on bad input" [ $rc -eq 0 ]
st() { json_get "$WORK/stats.json" "$1"; }
check "every line is read" [ "$(st 'd["records_read"]')" = "$lines" ]
check "malformed lines are counted (truncated, garbage, empty)" [ "$(st 'd["rejected"]["malformed_json"]')" = 4 ]
check "a non-object is counted" [ "$(st 'd["rejected"]["not_object"]')" = 1 ]
check "missing fields are counted" [ "$(st 'd["rejected"]["missing_field"]')" = 1 ]
check "impossible addresses are counted" [ "$(st 'd["rejected"]["bad_address"]')" = 1 ]
check "negative, overflowing and mistyped numbers are counted" [ "$(st 'd["rejected"]["bad_number"]')" = 3 ]
check "end before start is counted" [ "$(st 'd["rejected"]["end_before_start"]')" = 1 ]
check "a flow from the far future is counted" [ "$(st 'd["rejected"]["future_time"]')" = 1 ]
check "a multi-megabyte line is counted as too long" [ "$(st 'd["rejected"]["too_long"]')" = 1 ]
check "the good lines make records (2 hosts x 4 granularities)" [ "$(grep -c host_stats "$WORK/out")" = 8 ]
check "a warning names the line number and reason" grep -q 'in.ndjson:3: rejected (malformed_json)' "$WORK/err"
check "the counters are printed at exit" grep -q 'rejected   malformed_json 4' "$WORK/err"

# an empty file and an empty stdin are fine
: >"$WORK/empty"
check "an empty file gives no records and exit 0" sh -c "'$HOSTFLOW' run -q -i '$WORK/empty' | wc -c | grep -qx 0"
check "an empty stdin gives no records and exit 0" sh -c "'$HOSTFLOW' run -q </dev/null | wc -c | grep -qx 0"

# a flood of bad lines: every one counted, warnings rate-limited
yes 'garbage' | head -n 100000 >"$WORK/flood"
"$HOSTFLOW" run -i "$WORK/flood" --stats "$WORK/flood.json" >/dev/null 2>"$WORK/flood.err"
check "100,000 bad lines are all counted" [ "$(json_get "$WORK/flood.json" 'd["rejected"]["malformed_json"]')" = 100000 ]
check "their warnings are rate-limited" [ "$(grep -c 'rejected (malformed_json)' "$WORK/flood.err")" -lt 50 ]

# gzip input, the same records as plain
gzip -c "$in" >"$WORK/in.ndjson.gz"
"$HOSTFLOW" run -q -i "$WORK/in.ndjson.gz" -o "$WORK/out.gz.ndjson"
check "gzip input gives the same records as plain" cmp -s "$WORK/out" "$WORK/out.gz.ndjson"
# a truncated gzip file: what could be read is processed, and the error is said
head -c 200 "$WORK/in.ndjson.gz" >"$WORK/cut.gz"
"$HOSTFLOW" run -i "$WORK/cut.gz" -o /dev/null 2>"$WORK/cut.err"
check "a truncated gzip file is reported, not a crash" [ $? -le 1 ]
finish
