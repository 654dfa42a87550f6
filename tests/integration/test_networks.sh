#!/bin/bash
# test_networks.sh -- what is monitored when nothing says otherwise: the
# built-in default, conf/hostflow.lua, run --help and the README agree; a
# run in which no flow has a monitored end says so at its end, with the
# source prefixes it saw most and the setting to change.
. "$(dirname "$0")/assert.sh"
DEFAULT=10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7,2001:db8::/32

check "the built-in default: the private ranges and the sample's IPv6 prefix" \
    sh -c "'$HOSTFLOW' config | grep -qF '  networks (list; default $DEFAULT;'"
check "conf/hostflow.lua sets the same" \
    [ "$(cd "$ROOT" && luajit -e 'print(table.concat(dofile("conf/hostflow.lua").networks, ","))')" = "$DEFAULT" ]
check "run --help says the same" python3 -c "
import re, subprocess, sys
h = re.sub(r'\s+', '', subprocess.run([sys.argv[1], 'run', '--help'], capture_output=True, text=True).stdout)
sys.exit(0 if '(default' + sys.argv[2] + ')' in h else 1)" "$HOSTFLOW" "$DEFAULT"
check "the README says the same" python3 -c "
import re, sys
t = re.sub(r'\s+', ' ', open(sys.argv[1]).read())
m = re.search(r'Unless set, the monitored networks are (.*?): the private', t)
got = m and [p.strip() for p in re.split(r',| and ', m.group(1)) if p.strip()]
sys.exit(0 if got == sys.argv[2].split(',') else 1)" "$ROOT/README.md" "$DEFAULT"

T=1764165600000
flow() {  # flow SRC DST
    printf '{"ipfix.sourceIPv%dAddress":"%s","ipfix.destinationIPv%dAddress":"%s","ipfix.protocolIdentifier":6,"ipfix.packetDeltaCount":2,"ipfix.octetDeltaCount":120,"ipfix.flowStartMilliseconds":%d,"ipfix.flowEndMilliseconds":%d}\n' \
        "$([[ $1 == *:* ]] && echo 6 || echo 4)" "$1" "$([[ $2 == *:* ]] && echo 6 || echo 4)" "$2" $T $T
}
{
    for i in $(seq 20); do flow 203.0.113.$i 198.51.100.1; done
    for i in $(seq 7); do flow 198.51.100.$i 203.0.113.1; done
    for i in $(seq 3); do flow 3fff::$i 3fff:1::1; done
} >"$WORK/outside.ndjson"
conf=$ROOT/conf/hostflow.lua
want="hostflow: warning: no flow was monitored: the 30 flows decoded all lie outside the monitored networks ($DEFAULT), so no record was made; their most frequent sources: 203.0.0.0/16 (20), 198.51.0.0/16 (7), 3fff::/32 (3). Set networks to your site's prefixes (in $conf, or -n; an empty list, -n '', monitors every address)"
for j in 1 2; do
    "$HOSTFLOW" run -c "$conf" -j$j -i "$WORK/outside.ndjson" -o "$WORK/none$j" 2>"$WORK/none$j.err"
    check "-j$j: a run monitoring nothing ends with status 0 and no record" \
        [ $? -eq 0 ] && [ ! -s "$WORK/none$j" ]
    check "-j$j: ... and says so, with the sources it saw most and the setting" grep -qxF -- "$want" "$WORK/none$j.err"
done
check "-q: not a word" sh -c "'$HOSTFLOW' run -q -c '$conf' -i '$WORK/outside.ndjson' 2>&1 >/dev/null | wc -c | grep -qx 0"
{ cat "$WORK/outside.ndjson"; flow 10.1.2.3 198.51.100.1; } >"$WORK/one.ndjson"
"$HOSTFLOW" run -c "$conf" -i "$WORK/one.ndjson" -o /dev/null 2>"$WORK/one.err"
check "one monitored flow: no such line" sh -c "! grep -q 'no flow was monitored' '$WORK/one.err'"
{ cat "$WORK/outside.ndjson"; flow 198.51.100.9 10.1.2.3; } >"$WORK/dst.ndjson"
"$HOSTFLOW" run -c "$conf" -i "$WORK/dst.ndjson" -o /dev/null 2>"$WORK/dst.err"
check "one flow to a monitored destination: no such line" sh -c "! grep -q 'no flow was monitored' '$WORK/dst.err'"
"$HOSTFLOW" run -c "$conf" -n '' -i "$WORK/outside.ndjson" -o "$WORK/all" 2>"$WORK/all.err"
check "-n '' monitors every address: a record for each of the 30 sources" python3 -c "
import json, sys
srcs = {json.loads(l)['src_ip'] for l in open(sys.argv[1]) if json.loads(l)['stats'].get('total')}
sys.exit(0 if len(srcs) == 30 else 1)" "$WORK/all"
finish
