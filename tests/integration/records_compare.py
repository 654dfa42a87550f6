#!/usr/bin/env python3
"""records_compare.py -- host records of several instances against one
instance's (a `single` run over the same flows), record by record.

    records_compare.py REFERENCE.ndjson GOT.ndjson [--distinct stats.peer_number ...]

GOT may hold a record more than once (at least once: a restart or a
rebalance writes some again, under the same id); every copy must equal the
reference's record of that id, and every id of the reference must be there,
no other.  Equal means: the same keys; whole numbers equal; other numbers
within 1e-9 relative (a merge adds the same values in another order); the
fields named by --distinct (distinct counts) equal while the reference's is
at most 1,024 (exact there) and within 3 standard errors of the 2^14-register
sketch (3 x 0.81 %) above.  Prints one line of figures, and the first
differences; exits 1 when there is any.

Alerts are compared as test_kafka.sh compares them: open alerts live in an
instance's memory (lua/README.md, "Alerts"), so an instance that takes a
host over (a rebalance, a restart) raises an alert open there again under
the id of the first window it reads, and the finer windows read again
before it is raised carry no flag.  So host records are compared without
their "alert" flag, and host_alert records by their first ids (every one of
the reference's raised again) and their (host, rule) pairs (the same set).
"""
import json
import sys

EXACT_LIMIT = 1024
SKETCH_REL = 3 * 0.0081


def differ(path, a, b, distinct, out):
    """Append to out the paths where b differs from a (the reference)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            out.append(f"{path}: keys {sorted(set(a) ^ set(b))}")
            return
        for k in a:
            differ(f"{path}.{k}" if path else k, a[k], b[k], distinct, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items, got {len(b)}")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            differ(f"{path}[{i}]", x, y, distinct, out)
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        if path in distinct and a > EXACT_LIMIT:
            if abs(b - a) > SKETCH_REL * a:
                out.append(f"{path}: {a}, got {b} (past 3 standard errors)")
        elif float(a).is_integer() and float(b).is_integer():
            if a != b:
                out.append(f"{path}: {a}, got {b}")
        elif abs(a - b) > 1e-9 * max(abs(a), abs(b)):
            out.append(f"{path}: {a!r}, got {b!r}")
    elif a != b:
        out.append(f"{path}: {a!r}, got {b!r}")


def main():
    args = sys.argv[1:]
    distinct = set()
    while "--distinct" in args:
        i = args.index("--distinct")
        distinct.add(args[i + 1])
        del args[i:i + 2]
    ref_path, got_path = args
    want, want_alerts, got_alerts = {}, [], []
    for line in open(ref_path):
        r = json.loads(line)
        if r.get("@type") == "host_alert":
            want_alerts.append(r)
            continue
        r.pop("alert", None)
        want[r["id"]] = r
    copies, extra, bad, approx = {}, set(), [], 0
    for line in open(got_path):
        r = json.loads(line)
        if r.get("@type") == "host_alert":
            got_alerts.append(r)
            continue
        r.pop("alert", None)
        i = r["id"]
        copies[i] = copies.get(i, 0) + 1
        if i not in want:
            extra.add(i)
            continue
        out = []
        differ("", want[i], r, distinct, out)
        if out:
            bad.append((i, out))
        for d in distinct:
            node = want[i]
            for k in d.split("."):
                node = node.get(k) if isinstance(node, dict) else None
            if isinstance(node, (int, float)) and node > EXACT_LIMIT:
                approx += 1
    missing = [i for i in want if i not in copies]
    repeated = sum(1 for n in copies.values() if n > 1)
    print(f"{len(want)} records wanted, {len(copies)} ids got ({sum(copies.values())} copies, "
          f"{repeated} ids more than once); missing {len(missing)}, extra {len(extra)}, "
          f"copies that differ {len(bad)}, distinct counts past {EXACT_LIMIT} compared "
          f"within 3 standard errors {approx}")
    for i in missing[:5]:
        print("  missing", i)
    for i in sorted(extra)[:5]:
        print("  extra", i)
    for i, out in bad[:5]:
        print("  differs", i, "; ".join(out[:4]))
    first = lambda alerts: {a["id"] for a in alerts if "update" not in a}
    who = lambda alerts: {(a["src_ip"], a["rule"]) for a in alerts}
    alerts_ok = first(want_alerts) <= first(got_alerts) and who(got_alerts) == who(want_alerts)
    print(f"alerts: {len(first(want_alerts))} raised in the reference, every one raised again, "
          f"of no other host or rule: {alerts_ok}")
    return 1 if missing or extra or bad or not alerts_ok else 0


if __name__ == "__main__":
    sys.exit(main())
