#!/bin/bash
# test_collectors.sh -- input as real collectors write it, fed unchanged.
#
#   - nfdump 1.7.1 -o json of a softflowd capture (tests/fixtures/softflowd,
#     made by make.sh there): the pretty-printed array gives the same records
#     as the same flows as NDJSON, from a file, gzip and stdin, with 1 and 2
#     workers; nfdump run under TZ=Europe/Prague, read with
#     --input-tz Europe/Prague, gives identical records (the committed JSON,
#     and nfdump run here when it is installed);
#   - one line per IPFIXcol2 variant of its JSON output plugin's documentation,
#     each decoded (biflows as two hosts, options records skipped);
#   - a byte order mark, UTF-16, a missing field named, softflowd's clock skew.
. "$(dirname "$0")/assert.sh"

FX=$ROOT/tests/fixtures/softflowd
NETS=0.0.0.0/0,::/0
run() {  # run OUT STATS [hostflow run arguments...]: records to OUT, counters to STATS
    local out=$1 stats=$2; shift 2
    "$HOSTFLOW" run -o "$out" --stats "$stats" -n "$NETS" -q "$@" 2>>"$WORK/err"
}
st() { json_get "$1" "$2"; }

zcat "$FX/nfdump-utc.json.gz" >"$WORK/utc.json"
zcat "$FX/nfdump-prague.json.gz" >"$WORK/prague.json"
python3 -c "import json,sys; [print(json.dumps(r)) for r in json.load(open(sys.argv[1]))]" \
    "$WORK/utc.json" >"$WORK/utc.ndjson"
flows=$(wc -l <"$WORK/utc.ndjson")

# --------------------------------------------------------------- nfdump
run "$WORK/nd.out" "$WORK/nd.st" -i "$WORK/utc.ndjson" -j1
check "the NDJSON form decodes every flow ($flows)" [ "$(st "$WORK/nd.st" 'd["decoded"]')" = "$flows" ]
check "it gives records" [ -s "$WORK/nd.out" ]
for j in 1 2; do
    run "$WORK/pretty$j.out" "$WORK/pretty$j.st" -i "$WORK/utc.json" -j$j
    check "nfdump's pretty array, -j$j: every flow decoded" [ "$(st "$WORK/pretty$j.st" 'd["decoded"]')" = "$flows" ]
    check "nfdump's pretty array, -j$j: the records of the NDJSON form" cmp -s "$WORK/nd.out" "$WORK/pretty$j.out"
done
run "$WORK/gz.out" "$WORK/gz.st" -i "$FX/nfdump-utc.json.gz" -j2
check "gzip: the same records" cmp -s "$WORK/nd.out" "$WORK/gz.out"
run "$WORK/stdin.out" "$WORK/stdin.st" -i - -j1 <"$WORK/utc.json"
check "stdin: the same records" cmp -s "$WORK/nd.out" "$WORK/stdin.out"

run "$WORK/tzwrong.out" "$WORK/tzwrong.st" -i "$WORK/prague.json" -j1
check "Prague's local times read as UTC are an hour off (records differ)" \
    bash -c "! cmp -s '$WORK/nd.out' '$WORK/tzwrong.out'"
for j in 1 2; do
    run "$WORK/tz$j.out" "$WORK/tz$j.st" -i "$WORK/prague.json" -j$j --input-tz Europe/Prague
    check "TZ=Europe/Prague nfdump with --input-tz Europe/Prague, -j$j: identical records" \
        cmp -s "$WORK/nd.out" "$WORK/tz$j.out"
done
if command -v nfdump >/dev/null; then
    TZ=Europe/Prague nfdump -r "$FX/softflowd.nfcapd" -o json >"$WORK/live.json"
    printf 'return { input_tz = "Europe/Prague" }\n' >"$WORK/tz.lua"
    "$HOSTFLOW" run -c "$WORK/tz.lua" -i - -o "$WORK/live.out" -n "$NETS" -q <"$WORK/live.json" 2>>"$WORK/err"
    check "nfdump run here under TZ=Europe/Prague, input_tz in a config file: identical records" \
        cmp -s "$WORK/nd.out" "$WORK/live.out"
fi

# --------------------------------------------------------------- IPFIXcol2
T=1764165600000
I2='"iana:sourceIPv4Address":"10.1.0.%d","iana:destinationIPv4Address":"10.2.0.1","iana:protocolIdentifier":"TCP","iana:sourceTransportPort":5000,"iana:destinationTransportPort":443'
C='"iana:octetDeltaCount":1500,"iana:packetDeltaCount":10'
line() { printf '{"@type":"ipfix.entry",'"$I2"',%s}\n' "$1" "$2"; }
{
    line 1 "$C"',"iana:flowStartMilliseconds":"2025-11-26T14:00:00.000Z","iana:flowEndMilliseconds":"2025-11-26T14:00:01.000Z"'
    line 2 "$C"',"iana:flowStartMilliseconds":'$T',"iana:flowEndMilliseconds":'$((T + 1000))
    line 3 "$C"',"iana:flowStartSeconds":"2025-11-26T14:00:00.000Z","iana:flowEndSeconds":"2025-11-26T14:00:01.000Z"'
    line 4 "$C"',"iana:flowStartSeconds":'$((T / 1000))',"iana:flowEndSeconds":'$((T / 1000 + 1))
    line 5 "$C"',"iana:flowStartMicroseconds":'$T',"iana:flowEndMicroseconds":"2025-11-26T14:00:01.000Z"'
    line 6 "$C"',"iana:flowStartNanoseconds":"2025-11-26T14:00:00.000Z","iana:flowEndNanoseconds":'$((T + 1000))
    line 7 "$C"',"iana:systemInitTimeMilliseconds":'$((T - 3600000))',"iana:flowStartSysUpTime":3600000,"iana:flowEndSysUpTime":3601000'
    line 8 '"iana:octetTotalCount":1500,"iana:packetTotalCount":10,"iana:flowStartMilliseconds":'$T',"iana:flowEndMilliseconds":'$((T + 1000))
    printf '{"@type":"ipfix.entry","en0:id8":"10.1.0.9","en0:id12":"10.2.0.1","en0:id4":6,"en0:id7":5000,"en0:id11":443,"en0:id1":1500,"en0:id2":10,"en0:id152":%d,"en0:id153":%d}\n' $T $((T + 1000))
    line 10 "$C"',"iana@reverse:octetDeltaCount@reverse":700,"iana@reverse:packetDeltaCount@reverse":5,"iana:flowStartMilliseconds":'$T',"iana:flowEndMilliseconds":'$((T + 1000))
    printf '{"@type":"ipfix.optionsEntry","iana:exportingProcessId":1,"iana:systemInitTimeMilliseconds":%d}\n' $T
    line 11 "$C"',"iana:flowStartSysUpTime":1,"iana:flowEndSysUpTime":2'
} >"$WORK/ipfixcol2.ndjson"
run "$WORK/i2.out" "$WORK/i2.st" -i "$WORK/ipfixcol2.ndjson" -j1 -w 10s
check "every IPFIXcol2 variant is decoded (10 lines, a biflow's two directions)" \
    [ "$(st "$WORK/i2.st" 'd["decoded"]')" = 11 ]
check "the options record is skipped, not rejected" \
    [ "$(st "$WORK/i2.st" 'd["skipped_options_templates"]')" = 1 ]
check "uptime without systemInitTimeMilliseconds is counted as no_init_time" \
    [ "$(st "$WORK/i2.st" 'd["rejected"]["no_init_time"]')" = 1 ]
hosts=$(python3 -c "import json,sys; print(' '.join(sorted({json.loads(l)['src_ip'] for l in open(sys.argv[1])})))" "$WORK/i2.out")
check "each variant's host has records, the biflow's destination too (as a source)" \
    [ "$hosts" = "10.1.0.1 10.1.0.10 10.1.0.2 10.1.0.3 10.1.0.4 10.1.0.5 10.1.0.6 10.1.0.7 10.1.0.8 10.1.0.9 10.2.0.1" ]

# --------------------------------------------------- encodings, warnings, skew
printf '\xef\xbb\xbf' | cat - "$WORK/utc.ndjson" >"$WORK/bom.ndjson"
run "$WORK/bom.out" "$WORK/bom.st" -i "$WORK/bom.ndjson" -j1
check "a UTF-8 byte order mark costs no record" cmp -s "$WORK/nd.out" "$WORK/bom.out"
iconv -f UTF-8 -t UTF-16 "$WORK/utc.json" >"$WORK/utf16.json"
"$HOSTFLOW" run -i "$WORK/utf16.json" -o "$WORK/u16.out" -n "$NETS" -q 2>"$WORK/u16.err"
rc=$?
check "UTF-16 input: a non-zero exit" [ $rc -ne 0 ]
check "UTF-16 input: one message naming the encoding" \
    [ "$(grep -c 'UTF-16 (little-endian, with a byte order mark)' "$WORK/u16.err")" = 1 ]
check "UTF-16 input: no rejection per line" bash -c "! grep -q rejected '$WORK/u16.err'"
{
    echo '{"src4_addr":"10.0.0.1","dst4_addr":"10.0.0.2","in_packets":1,"in_bytes":40,"first":1764165600000,"last":1764165600001}'
    echo '{"src4_addr":"10.0.0.1","dst4_addr":"10.0.0.2","proto":6,"in_packets":1,"in_bytes":40,"first":1764165600010,"last":1764165600003}'
    echo '{"src4_addr":"10.0.0.1","dst4_addr":"10.0.0.2","proto":6,"in_packets":1,"in_bytes":40,"first":1764165609000,"last":1764165600003}'
    echo '{"src4_addr":"10.0.0.1","dst4_addr":"10.0.0.2","proto":6,"in_packets":1,"in_bytes":40,"first":1764165600,"last":1764165601}'
} >"$WORK/warn.ndjson"
"$HOSTFLOW" run -i "$WORK/warn.ndjson" -o "$WORK/w.out" -n "$NETS" --stats "$WORK/w.st" 2>"$WORK/w.err"
check "a missing field is named in its warning" grep -q 'warn.ndjson:1: rejected (missing_field), no proto' "$WORK/w.err"
check "an end 7 ms before the start is taken and counted" [ "$(st "$WORK/w.st" 'd["clock_skew_clamped"]')" = 1 ]
check "an end 9 s before the start is refused (over max_clock_skew)" \
    grep -q 'warn.ndjson:3: rejected (end_before_start), it ends 8997 ms before it starts' "$WORK/w.err"
check "seconds in a ms field are refused and said so" \
    grep -qE 'warn.ndjson:4: rejected \(time_in_seconds\), 176416560[01] looks like seconds' "$WORK/w.err"
"$HOSTFLOW" run -i "$WORK/warn.ndjson" -o "$WORK/w2.out" -n "$NETS" --max-clock-skew 10s --stats "$WORK/w2.st" 2>/dev/null
check "--max-clock-skew 10s takes the 9 s one too" [ "$(st "$WORK/w2.st" 'd["clock_skew_clamped"]')" = 2 ]
finish
