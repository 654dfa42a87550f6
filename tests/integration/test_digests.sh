#!/bin/bash
# test_digests.sh -- the records do not change by accident: the bundled
# sample and the end-to-end test's 200,000 generated flows, with one and
# two workers, give records whose sorted digest is the one stored in
# tests/integration/digests.txt (a refactoring must keep them byte for byte).
# The host_stats records alone, without the alert flag of hosts with an open
# alert, have digests of their own (NAME-stats): what the detections raise
# may change while they do not.
. "$(dirname "$0")/assert.sh"

# the shipped analyses only: an analysis of the user's own in analyses/
# changes the records, as it should, not the stored digests' meaning
SHIPPED="total avg_flow_duration dport_count peer_number tcp_flags profile port_scan ssh_dictionary
         ddos_target dns_amplification"
mkdir -p "$WORK/analyses"
for n in $SHIPPED; do cp "$ROOT/analyses/$n.lua" "$WORK/analyses/" || exit 1; done
want() { awk -v n="$1" '$1 == n { print $2 }' "$ROOT/tests/integration/digests.txt"; }
digest() { sort "$1" | sha256sum | cut -d' ' -f1; }
stats_digest() { grep -v '"@type":"host_alert"' "$1" | sed 's/"alert":\[[^]]*\],//' | sort | sha256sum | cut -d' ' -f1; }

"$FLOWGEN" --seed 42 --flows 200000 --hosts 3000 --rate 500 --family mixed --ipv6 0.15 \
    --scanners 3 --late 0.003 --malformed 0.003 --variety 0.05 --string-numbers 0.01 \
    >"$WORK/e2e.ndjson"
for j in 1 2; do
    "$HOSTFLOW" run -q -j$j -a "$WORK/analyses" -n 10.0.0.0/8,192.168.0.0/16,2001:db8::/32 -i "$ROOT/contrib/sample-flows.ndjson.gz" -o "$WORK/sample$j.ndjson"
    got=$(digest "$WORK/sample$j.ndjson")
    check "the bundled sample's records, $j worker(s), are the stored ones" [ "$got" = "$(want sample)" ]
    [ "$got" = "$(want sample)" ] || echo "  got $got"
    got=$(stats_digest "$WORK/sample$j.ndjson")
    check "... and its host_stats records without the alert flag too" [ "$got" = "$(want sample-stats)" ]
    "$HOSTFLOW" run -q -j$j -a "$WORK/analyses" -n 10.0.0.0/8,192.168.0.0/16,2001:db8::/32 -i "$WORK/e2e.ndjson" -o "$WORK/e2e$j.ndjson"
    got=$(digest "$WORK/e2e$j.ndjson")
    check "the end-to-end flows' records, $j worker(s), are the stored ones" [ "$got" = "$(want e2e)" ]
    [ "$got" = "$(want e2e)" ] || echo "  got $got"
    got=$(stats_digest "$WORK/e2e$j.ndjson")
    check "... and its host_stats records without the alert flag too" [ "$got" = "$(want e2e-stats)" ]
done
finish
