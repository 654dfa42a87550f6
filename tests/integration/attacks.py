#!/usr/bin/env python3
"""attacks.py FLOWS START_MS RATE -- flowgen's lines (FLOWS, made with
--start-ms START_MS --rate RATE) with bursts of attack flows inserted where
their time falls, nfdump's keys: a vertical and a horizontal port scan, a
flood on a monitored host from outside, an SSH dictionary attack and
unasked large DNS answers to a monitored host -- so that the detections'
sparse states, the analyses keyed by the destination (hosts that only
receive) and their alerts are exercised.  To standard output."""
import json
import sys

path, start, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
lines = open(path).read().splitlines()
def flow(src, dst, sport, dport, proto, pk, by, end, flags=0, dur=100):
    return json.dumps({"src4_addr": src, "dst4_addr": dst, "src_port": sport, "dst_port": dport,
                       "proto": proto, "in_packets": pk, "in_bytes": by, "first": end - dur,
                       "last": end, "tcp_flags": flags}, separators=(",", ":"))
bursts = {}
def at(second, make):
    k = int(second * rate)
    end = start + int(second * 1000)
    bursts.setdefault(k, []).extend(make(end))
# a vertical scan, a horizontal one, a flood on a monitored host, a dictionary
# attack on SSH, unasked large DNS answers
at(100, lambda e: [flow("10.50.0.1", "198.51.100.7", 40000 + i, 1 + i, 6, 1, 44, e + i % 500, 2) for i in range(300)])
at(160, lambda e: [flow("10.50.0.2", "203.0.113.%d" % (1 + i), 50000 + i, 445, 6, 1, 44, e + i % 500, 2) for i in range(120)])
at(220, lambda e: [flow("198.51.100.%d" % (1 + i % 200), "10.60.0.1", 1024 + i, 80, 6, 1, 40, e + i % 700, 2) for i in range(1500)])
at(280, lambda e: [flow("10.50.0.3", "198.51.100.22", 30000 + i, 22, 6, 14, 3750 + i % 40, e + 20 * i, 27, 2000) for i in range(30)])
at(340, lambda e: [flow("198.51.100.%d" % (53 + i % 5), "10.60.0.3", 53, 33000 + i, 17, 1, 3000, e + i % 500) for i in range(200)])
out = sys.stdout
for k, line in enumerate(lines):
    for extra in bursts.get(k, []):
        out.write(extra + "\n")
    out.write(line + "\n")
