#!/usr/bin/env python3
"""e2e_check.py -- hostflow's host records against an independent computation.

flowgen (tests/tools/flowgen.c) writes, beside the flows, the truth: every
accepted, in-time flow in normalised form (CSV).  This script loads the truth
into sqlite and computes, in SQL only, the statistics of every (host, window)
at the granularities asked for; then it reads the host records hostflow wrote
(NDJSON, DESIGN.md "The host record") and compares the two both ways:

  - every (host, window) of the truth has a record, and every record has one;
  - stats.total.flow / packets / bytes and stats.tcp_flags counts are equal,
    and tcp_flags is absent exactly when the host had no TCP flow;
  - stats.avg_flow_duration (seconds) agrees within 1e-6 relative;
  - stats.peer_number (distinct dst) is equal while the true count is at most
    --exact-limit (hf.distinct's, 1024); above it (where hostflow switches to
    a HyperLogLog sketch) within --hll-sigmas (3) x --hll-error (its relative
    standard error, 0.0081) relative, plus 0.5 as the record rounds the
    estimate to a whole number, and the mean relative error is at most
    --hll-mean-limit (judged over --hll-mean-min windows or more: over a
    handful it is mostly chance); stats.dport_count (distinct dst port) is
    the same with --dport-exact-limit, by default every count (sets of ports
    are exact at any count).

dport_count counts the distinct destination ports of ALL the host's flows in
the window -- UDP and ICMP included, ICMP's port being 0 -- as Stream4Flow's
host statistics did and as DESIGN.md words it ("distinct destination ports"),
not TCP/UDP only.

With --rejects STATS.json it also compares hostflow's counters (the file of
`hostflow run --stats FILE`) with the generator's TRUTH.rejects: the count of
each reject reason, the flows filtered out, and the late flows.  The layout of
that JSON is read by stats_counters() alone; adapt it there.

Exit status: 0 all agree, 1 any mismatch, 2 bad usage or unreadable input.

  e2e_check.py --truth truth.csv --records out.ndjson -g 10 -g 60 \\
               [--exact-limit 64] [--hll-error 0.0163] [--rejects stats.json]
"""
import argparse
import csv
import gc
import ipaddress
import json
import re
import sqlite3
import sys

TCP_FLAGS = (("FIN", 0x01), ("SYN", 0x02), ("RST", 0x04), ("PSH", 0x08),
             ("ACK", 0x10), ("URG", 0x20), ("ECE", 0x40), ("CWR", 0x80))

REJECT_REASONS = ("malformed_json", "not_object", "missing_field", "bad_address",
                  "bad_number", "bad_time", "end_before_start", "too_long")

TRUTH_COLUMNS = ("src", "dst", "family", "sport", "dport", "proto", "packets",
                 "bytes", "start_ms", "end_ms", "tcp_flags")


# ======================== the independent computation ========================

_canon_cache = {}


def canon(text):
    """RFC 5952 text of an address (IPv4 dotted quad as is); raises ValueError."""
    c = _canon_cache.get(text)
    if c is None:
        c = str(ipaddress.ip_address(text))
        _canon_cache[text] = c
    return c


def load_truth(db, path):
    """Load flowgen's truth CSV into table flows; returns the row count."""
    db.execute("""CREATE TABLE flows (src TEXT, dst TEXT, family INTEGER,
                  sport INTEGER, dport INTEGER, proto INTEGER, packets INTEGER,
                  bytes INTEGER, start_ms INTEGER, end_ms INTEGER, tcp_flags INTEGER)""")
    with open(path, newline="") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is None or tuple(header) != TRUTH_COLUMNS:
            raise ValueError("%s: header is not %s" % (path, ",".join(TRUTH_COLUMNS)))

        def parsed():
            for r in rows:
                yield (canon(r[0]), r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5]),
                       int(r[6]), int(r[7]), int(r[8]), int(r[9]), int(r[10]))
        db.executemany("INSERT INTO flows VALUES (?,?,?,?,?,?,?,?,?,?,?)", parsed())
    return db.execute("SELECT COUNT(*) FROM flows").fetchone()[0]


def truth_windows(db, granularity_s):
    """{(src, start_ms): stats} for one granularity, every figure from SQL."""
    w = granularity_s * 1000
    flag_cols = ",\n".join("SUM(proto = 6 AND (tcp_flags & %d) != 0)" % bit
                           for _, bit in TCP_FLAGS)
    sql = """
        SELECT src, win, COUNT(*), SUM(packets), SUM(bytes),
               AVG((end_ms - start_ms) / 1000.0),
               COUNT(DISTINCT dst), COUNT(DISTINCT dport), SUM(proto = 6),
               %s
        FROM (SELECT *, end_ms - (((end_ms %% :w) + :w) %% :w) AS win FROM flows)
        GROUP BY src, win""" % flag_cols
    out = {}
    for row in db.execute(sql, {"w": w}):
        src, win, flows, packets, nbytes, avg, peers, dports, tcp = row[:9]
        flags = dict(zip((name for name, _ in TCP_FLAGS), row[9:])) if tcp else None
        out[(src, win)] = {"flow": flows, "packets": packets, "bytes": nbytes,
                           "avg_flow_duration": avg, "peer_number": peers,
                           "dport_count": dports, "tcp_flags": flags}
    return out


# ======================== hostflow's records ========================

def load_records(path, granularities, problems):
    """{g: {(src, start_ms): record}} of the host_stats records at the asked
    granularities; duplicates and unreadable lines go to problems as
    (is_failure, text): an identical duplicate is only a warning."""
    recs = {g: {} for g in granularities}
    granularity = re.compile(r'"granularity_s"\s*:\s*(\d+)')
    f = sys.stdin if path == "-" else open(path, encoding="utf-8", errors="replace")
    with f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            m = granularity.search(line)       # skip other granularities unparsed
            if m and int(m.group(1)) not in recs:
                continue
            try:
                r = json.loads(line)
                if r.get("@type", "host_stats") != "host_stats":
                    continue
                win = r["window"]
                g = int(win["granularity_s"])
                if g not in recs:
                    continue
                key = (canon(r["src_ip"]), int(win["start_ms"]))
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                problems.append((True, "records line %d: unreadable host record (%s)" % (lineno, e)))
                continue
            if key in recs[g]:
                same = recs[g][key] == r
                problems.append((not same, "records line %d: %s duplicate of (%s, %d) at %d s"
                                 % (lineno, "identical" if same else "different", key[0], key[1], g)))
                continue
            recs[g][key] = r
    return recs


# ======================== comparison ========================

def limit_of(a, field):
    """The count up to which field must be exact."""
    return a.dport_exact_limit if field == "dport_count" else a.exact_limit


class Checker:
    def __init__(self, args):
        self.a = args
        self.failures = []          # (granularity, text)
        self.warnings = []

    def fail(self, g, text):
        self.failures.append((g, text))

    def compare_granularity(self, g, truth, recs):
        a = self.a
        missing = [k for k in truth if k not in recs]
        extra = [k for k in recs if k not in truth]
        for k in sorted(missing)[:a.show]:
            self.fail(g, "no record for host %s window %d (truth: %s)" % (k[0], k[1], truth[k]))
        for k in sorted(extra)[:a.show]:
            self.fail(g, "record for host %s window %d not in truth" % k)
        if len(missing) > a.show:
            self.fail(g, "... %d missing records in all" % len(missing))
        if len(extra) > a.show:
            self.fail(g, "... %d extra records in all" % len(extra))

        counts = {"matched": 0, "mismatched": 0}
        approx = {"peer_number": [], "dport_count": []}
        shown = 0
        for k, t in truth.items():
            r = recs.get(k)
            if r is None:
                continue
            errs = self.compare_record(g, k, t, r, approx)
            if errs:
                counts["mismatched"] += 1
                if shown < a.show:
                    shown += 1
                    self.fail(g, "host %s window %d: %s" % (k[0], k[1], "; ".join(errs)))
            else:
                counts["matched"] += 1
        if counts["mismatched"] > shown:
            self.fail(g, "... %d mismatched records in all" % counts["mismatched"])

        lines = ["granularity %d s: %d (host, window) in truth, %d records; matched %d, "
                 "mismatched %d, missing %d, extra %d"
                 % (g, len(truth), len(recs), counts["matched"], counts["mismatched"],
                    len(missing), len(extra))]
        for name, errs in approx.items():
            if not errs:
                lines.append("  %s: all exact (true count <= %d)" % (name, limit_of(a, name)))
                continue
            mean = sum(errs) / len(errs)
            judged = len(errs) >= a.hll_mean_min
            lines.append("  %s above %d: %d windows, relative error mean %.4f max %.4f "
                         "(limits: each %.4f, mean %.4f%s)"
                         % (name, limit_of(a, name), len(errs), mean, max(errs), a.hll_sigmas * a.hll_error,
                            a.hll_mean_limit, "" if judged else ", not judged below %d windows"
                            % a.hll_mean_min))
            if judged and mean > a.hll_mean_limit:
                self.fail(g, "%s: mean relative error %.4f over %d windows above the limit %.4f"
                          % (name, mean, len(errs), a.hll_mean_limit))
        return lines

    def compare_record(self, g, key, t, r, approx):
        """The differences between truth t and record r, as texts."""
        a = self.a
        errs = []
        win = r.get("window", {})
        if win.get("end_ms") is not None and int(win["end_ms"]) != key[1] + g * 1000:
            errs.append("window.end_ms %s != start + %d s" % (win.get("end_ms"), g))
        stats = r.get("stats")
        if not isinstance(stats, dict):
            return errs + ["no stats object"]
        total = stats.get("total")
        if not isinstance(total, dict):
            errs.append("stats.total missing")
        else:
            for field in ("flow", "packets", "bytes"):
                if total.get(field) != t[field]:
                    errs.append("total.%s %s != %s" % (field, total.get(field), t[field]))
        got = stats.get("avg_flow_duration")
        want = t["avg_flow_duration"]
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            errs.append("avg_flow_duration %r not a number" % (got,))
        elif abs(got - want) > max(a.avg_rel * abs(want), 1e-9):
            errs.append("avg_flow_duration %r != %r" % (got, want))
        for field in ("peer_number", "dport_count"):
            got, want = stats.get(field), t[field]
            if not isinstance(got, (int, float)) or isinstance(got, bool):
                errs.append("%s %r not a number" % (field, got))
            elif want <= limit_of(a, field):
                if got != want:
                    errs.append("%s %s != %s (exact range)" % (field, got, want))
            else:
                rel = abs(got - want) / want
                approx[field].append(rel)
                # the record holds the estimate rounded to a whole number: +0.5
                if abs(got - want) > a.hll_sigmas * a.hll_error * want + 0.5:
                    errs.append("%s %s vs %s: relative error %.4f > %.4f (+ 0.5 for the rounding)"
                                % (field, got, want, rel, a.hll_sigmas * a.hll_error))
        flags = stats.get("tcp_flags")
        if t["tcp_flags"] is None:
            if flags is not None:
                errs.append("tcp_flags present for a host without TCP flows")
        elif not isinstance(flags, dict):
            errs.append("tcp_flags missing (host has TCP flows)")
        else:
            for name, _ in TCP_FLAGS:
                if flags.get(name) != t["tcp_flags"][name]:
                    errs.append("tcp_flags.%s %s != %s" % (name, flags.get(name), t["tcp_flags"][name]))
        return errs


# ======================== reject counters ========================

def stats_counters(stats):
    """Flatten hostflow's --stats JSON into {counter: value}: one entry per
    reject reason, plus filtered, late and flows_read when present.  This is
    the one place that knows the layout ({"flows_read":..,"rejected":{reason:
    n,..},"filtered":..,"late":..,"records":..}, flows_read also as
    records_read); a reason may also be given as {"count": n}, and late per
    granularity as {"10": n, ...}."""
    out = {}
    rejected = stats.get("rejected", stats.get("rejects", {}))
    if isinstance(rejected, dict):
        for reason, v in rejected.items():
            out[reason] = v.get("count") if isinstance(v, dict) else v
    for key in ("filtered", "late", "flows_read", "records"):
        if key in stats:
            out[key] = stats[key]
    if "flows_read" not in out and "records_read" in stats:   # lines read, by another name
        out["flows_read"] = stats["records_read"]
    return out


def load_expected_rejects(path):
    """flowgen's TRUTH.rejects (CSV kind,key,value): {counter: n} of its count rows."""
    expected = {}
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if len(row) == 3 and row[0] == "count":
                expected[row[1]] = int(row[2])
    return expected


def compare_rejects(stats, expected):
    """(failures, notes) comparing hostflow's counters with flowgen's."""
    got = stats_counters(stats)
    failures, notes = [], []
    for reason in REJECT_REASONS:
        want = expected.get(reason, 0)
        have = got.get(reason, 0)
        if have != want:
            failures.append("rejected.%s: hostflow %s, generated %d" % (reason, have, want))
    for reason in sorted(set(got) - set(REJECT_REASONS) - {"filtered", "late", "flows_read", "records"}):
        if got[reason]:
            failures.append("rejected.%s: hostflow %s, a reason flowgen never generates"
                            % (reason, got[reason]))
    if got.get("filtered") != expected.get("filtered", 0):
        failures.append("filtered: hostflow %s, generated %d"
                        % (got.get("filtered"), expected.get("filtered", 0)))
    late, want_late = got.get("late"), expected.get("late", 0)
    if isinstance(late, dict):      # per granularity: flowgen's are late at every one
        for g, n in sorted(late.items()):
            if n != want_late:
                failures.append("late at %s: hostflow %s, generated %d" % (g, n, want_late))
    elif late != want_late:
        failures.append("late: hostflow %s, generated %d" % (late, want_late))
    if "flows_read" in got and got["flows_read"] != expected.get("lines"):
        notes.append("flows_read %s, lines generated %s (not a failure: counting conventions differ)"
                     % (got["flows_read"], expected.get("lines")))
    notes.append("counters: " + ", ".join("%s=%s" % kv for kv in sorted(got.items())))
    return failures, notes


# ======================== main ========================

def main(argv=None):
    p = argparse.ArgumentParser(
        description="Compare hostflow's host records with statistics computed in sqlite "
                    "from flowgen's truth.")
    p.add_argument("--truth", required=True, help="flowgen --truth CSV")
    p.add_argument("--records", required=True, help="hostflow's NDJSON output ('-' for stdin)")
    p.add_argument("--granularity", "-g", type=int, action="append", required=True,
                   help="window length in seconds to check (repeat)")
    p.add_argument("--exact-limit", type=int, default=1024,
                   help="peer counts up to this are exact (default 1024)")
    p.add_argument("--dport-exact-limit", type=int, default=65536,
                   help="port counts up to this are exact (default 65536: all)")
    p.add_argument("--hll-error", type=float, default=0.0081,
                   help="the sketch's stated relative standard error (default 0.0081)")
    p.add_argument("--hll-sigmas", type=float, default=3,
                   help="a count above the exact limit is within this many standard "
                        "errors (default 3)")
    p.add_argument("--hll-mean-limit", type=float, default=0.01,
                   help="limit of the mean relative error above the exact limit (default 0.01)")
    p.add_argument("--hll-mean-min", type=int, default=20,
                   help="judge the mean only over at least this many windows: over fewer it "
                        "is mostly chance (default 20)")
    p.add_argument("--avg-rel", type=float, default=1e-6,
                   help="relative tolerance of avg_flow_duration (default 1e-6)")
    p.add_argument("--rejects", metavar="STATS_JSON",
                   help="hostflow's --stats file, compared with TRUTH.rejects")
    p.add_argument("--expected-rejects", metavar="FILE",
                   help="flowgen's rejects file (default: TRUTH.rejects)")
    p.add_argument("--show", type=int, default=10, help="mismatches shown per kind (default 10)")
    a = p.parse_args(argv)
    if any(g <= 0 for g in a.granularity):
        p.error("--granularity wants whole seconds > 0")
    gc.disable()    # millions of small objects, none cyclic: the collector only costs time

    db = sqlite3.connect(":memory:")
    problems = []
    try:
        nflows = load_truth(db, a.truth)
        recs = load_records(a.records, a.granularity, problems)
    except (OSError, ValueError, IndexError) as e:
        print("e2e_check: %s" % e, file=sys.stderr)
        return 2

    ck = Checker(a)
    print("e2e_check: %d flows in truth; granularities %s s; exact limit %d; sketch error %.4f"
          % (nflows, ", ".join(map(str, a.granularity)), a.exact_limit, a.hll_error))
    for is_failure, text in problems:
        if is_failure:
            ck.fail(0, text)
        else:
            ck.warnings.append(text)
    for g in sorted(set(a.granularity)):
        for line in ck.compare_granularity(g, truth_windows(db, g), recs.pop(g)):
            print(line)
        sys.stdout.flush()

    if a.rejects:
        try:
            with open(a.rejects) as f:
                stats = json.load(f)
            expected = load_expected_rejects(a.expected_rejects or a.truth + ".rejects")
        except (OSError, ValueError) as e:
            print("e2e_check: %s" % e, file=sys.stderr)
            return 2
        fails, notes = compare_rejects(stats, expected)
        for n in notes:
            print("rejects: " + n)
        for f in fails:
            ck.fail(0, "rejects: " + f)
        if not fails:
            print("rejects: every reason, filtered and late count agree")

    for w in ck.warnings[:a.show]:
        print("warning: " + w)
    if ck.failures:
        print("FAILED: %d problem(s); the first:" % len(ck.failures))
        for g, text in ck.failures[:4 * a.show]:
            print("  %s%s" % ("[%d s] " % g if g else "", text))
        return 1
    print("OK: every host record agrees with the independent computation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
