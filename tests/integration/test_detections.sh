#!/bin/bash
# test_detections.sh -- the shipped detections through hostflow itself, on
# the real captures of tests/fixtures/attacks (nmap, an SSH login loop,
# hping3, dnsmasq; make.sh): `hostflow run` with the default configuration
# raises exactly one host_alert record for each attack -- its id
# (<host>/<rule>/<window start ms>), rule, window and observed value as
# listed below -- and none on the benign captures; the alerted host's
# host_stats records of that window carry the "alert" flag naming the rule.
# (tests/spec/detections_spec.lua checks the same rules one by one through
# hostflow.testing; this is the binary, every analysis on together.)
. "$(dirname "$0")/assert.sh"

FIX=$ROOT/tests/fixtures/attacks
NETS=10.77.0.0/16

# capture  id  granularity_s  observed
cat >"$WORK/want.txt" <<'EOF'
ddos_syn 10.77.0.2/ddos_target/1796524980000 60 1500
dns_amplification 10.77.0.3/dns_amplification/1796525040000 60 600
scan_horizontal_syn 10.77.0.1/port_scan_horizontal/1796524860000 60 40
scan_horizontal_udp 10.77.0.1/port_scan_horizontal/1796524860000 60 40
scan_vertical_connect 10.77.0.1/port_scan_vertical/1796524800000 60 98
scan_vertical_fin 10.77.0.1/port_scan_vertical/1796524800000 60 100
scan_vertical_null 10.77.0.1/port_scan_vertical/1796524800000 60 100
scan_vertical_syn 10.77.0.1/port_scan_vertical/1796524800000 60 100
scan_vertical_udp 10.77.0.1/port_scan_vertical/1796524860000 60 100
scan_vertical_xmas 10.77.0.1/port_scan_vertical/1796524860000 60 100
ssh_dictionary 10.77.0.1/ssh_dictionary/1796524800000 300 40
EOF

# alerts CAPTURE: "capture id granularity observed" for each host_alert record
alerts() {
    "$HOSTFLOW" run -q -i "$FIX/$1.ndjson" -n "$NETS" -o "$WORK/$1.ndjson" 2>"$WORK/$1.err" || return 1
    python3 - "$1" "$WORK/$1.ndjson" <<'PY'
import json, sys
for line in open(sys.argv[2]):
    r = json.loads(line)
    if r["@type"] != "host_alert": continue
    host, rule, start = r["id"].split("/")
    assert host == r["src_ip"] and rule == r["rule"] and int(start) == r["window"]["start_ms"], r
    print(sys.argv[1], r["id"], r["window"]["granularity_s"], r["observed"])
PY
}

: >"$WORK/got.txt"
for f in "$FIX"/*.ndjson; do
    alerts "$(basename "$f" .ndjson)" >>"$WORK/got.txt" || echo "$(basename "$f"): hostflow failed" >>"$WORK/got.txt"
done
same_alerts() {
    diff "$WORK/want.txt" "$WORK/got.txt" && return 0
    return 1
}
check "one host_alert record per attack (id, rule, window, observed), none on the benign captures" same_alerts

# flagged: the alerted host's records of the alert's window carry its rule
flagged() {
    python3 - "$WORK" <<'PY'
import json, sys
bad = 0
for line in open(sys.argv[1] + "/want.txt"):
    capture, aid, g, _ = line.split()
    host, rule, start = aid.split("/")
    recs = [json.loads(l) for l in open(f"{sys.argv[1]}/{capture}.ndjson")]
    mine = [r for r in recs if r["@type"] == "host_stats" and r["src_ip"] == host
            and r["window"]["granularity_s"] == int(g) and r["window"]["start_ms"] == int(start)]
    if not mine or any(rule not in r.get("alert", []) for r in mine):
        print(f"  {capture}: {host}'s {g} s record at {start} lacks the flag {rule}")
        bad += 1
    others = [r for r in recs if r["@type"] == "host_stats" and r.get("alert") and r["src_ip"] != host]
    if others:
        print(f"  {capture}: {len(others)} records of other hosts are flagged")
        bad += 1
sys.exit(1 if bad else 0)
PY
}
check "the alerted host's record of that window carries the flag; no other host's does" flagged

finish
