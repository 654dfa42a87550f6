#!/bin/bash
# test_counters.sh -- the counters add up, on hostile input, in --stats and
# in the closing counters, with one thread and with decoder threads:
#   records read = decoded + rejected (every reason) + skipped (IPFIX options
#                  and templates, not flows)
#   decoded      = monitored + not monitored + late + read again
# (a biflow record is two records, one per direction).  A flow rejected for
# its time in the future is rejected, not also decoded.
. "$(dirname "$0")/assert.sh"

T=1764165600000
in=$WORK/hostile.ndjson
ipfix() {  # ipfix SRC DST START END [EXTRA]
    printf '{"ipfix.sourceIPv4Address":"%s","ipfix.destinationIPv4Address":"%s","ipfix.protocolIdentifier":6,"ipfix.packetDeltaCount":2,"ipfix.octetDeltaCount":120,"ipfix.flowStartMilliseconds":%s,"ipfix.flowEndMilliseconds":%s%s}\n' "$1" "$2" "$3" "$4" "${5:-}"
}
I2='"iana:sourceIPv4Address":"10.1.0.7","iana:destinationIPv4Address":"10.2.0.1","iana:protocolIdentifier":6,"iana:octetDeltaCount":1500,"iana:packetDeltaCount":10'
{
    printf '\xef\xbb\xbf'                                                   # a UTF-8 BOM
    for i in $(seq 0 199); do
        t=$((T + i * 500))
        ipfix 10.0.0.$((i % 50)) 192.0.2.1 $t $t                            # monitored
        ipfix 198.51.100.$((i % 7)) 192.0.2.1 $t $t                         # not monitored
        ipfix 198.51.100.9 10.0.0.$((i % 5)) $t $t                          # to a monitored destination
    done
    ipfix 10.0.0.1 192.0.2.1 $T $T                                          # late by then
    ipfix 10.0.0.2 192.0.2.1 4102444800000 4102444800000                    # far in the future
    for i in $(seq 1 20); do ipfix 10.0.0.3 192.0.2.1 $((T + 100000 + i)) $((T + 100000 + i)); done
    echo '{"ipfix.sourceIPv4Address":"10.0.0.1",'                           # truncated
    echo 'not json'
    echo '[1,2]'
    echo '{"ipfix.sourceIPv4Address":"10.0.0.1"}'                           # missing fields
    ipfix 10.0.0.300 192.0.2.1 $T $T                                        # bad address
    ipfix 10.0.0.1 192.0.2.1 '"yesterday"' $T                               # bad time
    ipfix 10.0.0.1 192.0.2.1 $((T + 109000)) $((T + 100000))                # end before start
    ipfix 10.0.0.1 192.0.2.1 $((T + 100500)) $((T + 100000))                # within max_clock_skew
    ipfix 10.0.0.1 192.0.2.1 $((T / 1000 + 100)) $((T / 1000 + 100))        # seconds, not ms
    printf '{"src4_addr":"10.0.0.1","ipfix.destinationIPv4Address":"192.0.2.1","proto":6,"in_packets":1,"in_bytes":1,"first":"2025-11-26T14:01:40","last":"2025-11-26T14:01:40"}\n'
    printf '{"@type":"ipfix.entry",%s,"iana:flowStartSysUpTime":1,"iana:flowEndSysUpTime":2}\n' "$I2"
    printf '{"@type":"ipfix.optionsEntry","iana:exportingProcessId":1}\n'
    printf '{"@type":"ipfix.template","iana:templateId":256}\n'
    printf '{"@type":"ipfix.entry",%s,"iana@reverse:octetDeltaCount@reverse":700,"iana@reverse:packetDeltaCount@reverse":5,"iana:flowStartMilliseconds":%d,"iana:flowEndMilliseconds":%d}\n' "$I2" $((T + 100100)) $((T + 100100))
    printf '{"x":"%s"}\n' "$(head -c 5000 /dev/zero | tr '\0' A)"          # too long
    printf '\n\n'
    ipfix 10.0.0.4 192.0.2.1 $((T + 100200)) $((T + 100200)) | tr -d '\n'   # no newline at the end
} >"$in"
printf 'return { networks = { "10.0.0.0/8" }, max_line = "4KiB" }\n' >"$WORK/conf.lua"

# adds_up STATS: the identities, with what differs when they do not hold
adds_up() {
    python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rej = sum(d["rejected"].values())
ok = True
def eq(what, a, b):
    global ok
    if a != b:
        ok = False
        print("  %s: %d != %d" % (what, a, b))
eq("rejected_total = sum of the reasons", d["rejected_total"], rej)
eq("records_read = decoded + rejected + skipped", d["records_read"],
   d["decoded"] + rej + d["skipped_options_templates"])
eq("decoded = monitored + filtered + late + replayed", d["decoded"],
   d["monitored"] + d["filtered"] + d["late"] + d["replayed"] + d["held_future"])
print("  read %(records_read)d, decoded %(decoded)d, rejected %(rejected_total)d, skipped "
      "%(skipped_options_templates)d; monitored %(monitored)d, filtered %(filtered)d, late %(late)d" % d)
sys.exit(0 if ok else 1)
PY
}
# text_adds_up ERR: the closing counters say the same
text_adds_up() {
    python3 - "$1" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"input +(\d+) records: (\d+) decoded, (\d+) rejected, (\d+) skipped", t)
f = re.search(r"decoded +(\d+) = (\d+) monitored \+ (\d+) not monitored \+ (\d+) late \+ (\d+) read again", t)
r = re.search(r"rejected  ((?: \w+ \d+)*)\n", t)
if not (m and f and r):
    print("  not found in:\n" + t[-1500:]); sys.exit(1)
n = [int(x) for x in m.groups()]
k = [int(x) for x in f.groups()]
reasons = sum(int(x) for x in re.findall(r" \w+ (\d+)", r.group(1)))
ok = n[0] == n[1] + n[2] + n[3] and k[0] == n[1] and k[0] == sum(k[1:]) and reasons == n[2]
if not ok: print("  ", n, k, reasons)
sys.exit(0 if ok else 1)
PY
}

for j in 1 2; do
    "$HOSTFLOW" run -c "$WORK/conf.lua" -i "$in" -o "$WORK/out$j" -j$j --stats "$WORK/s$j.json" 2>"$WORK/err$j"
    check "-j$j: hostile input runs to the end" [ $? -eq 0 ]
    check "-j$j: --stats: read = decoded + rejected + skipped; decoded = monitored + not monitored + late + read again" \
        adds_up "$WORK/s$j.json"
    check "-j$j: the closing counters add up the same way" text_adds_up "$WORK/err$j"
done
check "every kind of line was there: each counter moved" json_true "$WORK/s1.json" \
    'all(d["rejected"][k] > 0 for k in ("malformed_json", "not_object", "missing_field", "bad_address", "bad_time", "end_before_start", "time_in_seconds", "mixed_families", "no_init_time", "too_long", "future_time")) and d["late"] > 0 and d["filtered"] > 0 and d["to_destination"] > 0 and d["skipped_options_templates"] == 2 and d["clock_skew_clamped"] == 1'
check "the future flow is rejected, not also decoded" json_true "$WORK/s1.json" 'd["rejected"]["future_time"] == 1'
check "-j1 and -j2 count alike" python3 -c "
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
keys = ['records_read', 'decoded', 'rejected', 'rejected_total', 'monitored', 'filtered', 'late', 'skipped_options_templates']
sys.exit(0 if all(a[k] == b[k] for k in keys) else 1)" "$WORK/s1.json" "$WORK/s2.json"
finish
