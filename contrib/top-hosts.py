#!/usr/bin/env python3
"""top-hosts.py -- the busiest hosts of hostflow's records, per granularity.

usage: top-hosts.py RECORDS.ndjson [--top N] [--by bytes|packets|flow|peer_number|dport_count]

For each granularity, shows the last complete window (the latest start seen)
and its top N hosts with every statistic, as an aligned table.
"""
import argparse
import json
import sys
from collections import defaultdict
from datetime import datetime, timezone


def human(n):
    for unit in ("", "k", "M", "G", "T"):
        if abs(n) < 1000:
            return f"{n:.0f}{unit}" if unit == "" else f"{n:.1f}{unit}"
        n /= 1000.0
    return f"{n:.1f}P"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("records")
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--by", default="bytes")
    args = ap.parse_args()

    windows = defaultdict(lambda: defaultdict(list))  # granularity -> start -> records
    count = 0
    with open(args.records) as f:
        for line in f:
            r = json.loads(line)
            if r.get("@type") != "host_stats":
                continue
            count += 1
            w = r["window"]
            windows[w["granularity_s"]][w["start_ms"]].append(r)
    print(f"{count} host records in {args.records}\n")

    def key(r):
        s = r["stats"]
        if args.by in ("bytes", "packets", "flow"):
            return s.get("total", {}).get(args.by, 0)
        return s.get(args.by, 0)

    for g in sorted(windows):
        starts = sorted(windows[g])
        # the last window is often partial (the input ended in it): show the one before
        start = starts[-2] if len(starts) > 1 else starts[-1]
        recs = sorted(windows[g][start], key=key, reverse=True)[: args.top]
        when = datetime.fromtimestamp(start / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{g}s window from {when} UTC: {len(windows[g][start])} hosts "
              f"({len(starts)} windows in all); busiest by {args.by}:")
        width = max([len("host")] + [len(r["src_ip"]) for r in recs]) + 2
        print(f"  {'host':<{width}}{'flows':>8}{'packets':>10}{'bytes':>10}{'avg dur':>9}"
              f"{'peers':>7}{'ports':>7}  tcp flags (SYN/ACK/FIN/RST)")
        for r in recs:
            s = r["stats"]
            t = s.get("total", {})
            fl = s.get("tcp_flags")
            flags = f"{fl['SYN']}/{fl['ACK']}/{fl['FIN']}/{fl['RST']}" if fl else "-"
            print(f"  {r['src_ip']:<{width}}{t.get('flow', 0):>8}{human(t.get('packets', 0)):>10}"
                  f"{human(t.get('bytes', 0)):>10}{s.get('avg_flow_duration', 0):>8.2f}s"
                  f"{s.get('peer_number', 0):>7.0f}{s.get('dport_count', 0):>7.0f}  {flags}")
        print()


if __name__ == "__main__":
    sys.exit(main())
