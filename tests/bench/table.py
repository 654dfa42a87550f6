#!/usr/bin/env python3
"""table.py RAW_DIR RESULTS_JSON -- the benchmark table of tests/bench/run.sh.

Reads the measurements run.sh left in RAW_DIR (one JSON document per file),
prints one aligned table (figure, median, min, max, target, met?) and writes
the same rows, with every run's value, to RESULTS_JSON."""
import glob
import json
import os
import statistics
import sys

raw, out_path = sys.argv[1], sys.argv[2]


def load(name):
    path = os.path.join(raw, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        text = f.read().strip()
    return json.loads(text.splitlines()[-1]) if text else None


def runs(pattern):
    """The documents of pattern (with {i} for the run number), in run order."""
    found = []
    for path in glob.glob(os.path.join(raw, pattern.replace("{i}", "*"))):
        stem = os.path.basename(path)
        i = int("".join(c for c in stem.rsplit("-", 1)[-1] if c.isdigit()) or 0)
        found.append((i, os.path.basename(path)))
    return [load(p) for _, p in sorted(found)]


ctx = load("context.json") or {}
rows = []


def row(figure, values, unit, target=None, ok=None, note=""):
    """A row from per-run values; ok(median) says whether the target is met."""
    values = [v for v in values if v is not None]
    r = {"figure": figure, "unit": unit, "runs": values, "target": target, "note": note}
    if values:
        r.update(median=statistics.median(values), min=min(values), max=max(values))
        r["met"] = None if ok is None else bool(ok(r["median"]))
    else:
        r.update(median=None, min=None, max=None, met=None)
    rows.append(r)


def na_row(figure, text, target=None):
    rows.append({"figure": figure, "unit": "", "runs": [], "target": target, "na": text,
                 "median": None, "min": None, "max": None, "met": None, "note": ""})


# 1, 2: decode and filter ---------------------------------------------------
st = load("stages.json")
if st:
    row("decode, fast decoder", st["decode_fast"], "flows/s")
    row("decode, cJSON decoder", st["decode_cjson"], "flows/s")
    row("  fast / cJSON", [a / b for a, b in zip(st["decode_fast"], st["decode_cjson"])], "x")
    row("decode + filter (prefix trie)", st["decode_filter"], "flows/s")

# 3: pipeline ---------------------------------------------------------------
def rate(s):
    return s["records_read"] / s["seconds"] if s and s.get("seconds") else None


j1, j2 = runs("stats-j1-{i}.json"), runs("stats-j2-{i}.json")
t2 = runs("time-j2-{i}.json")
r1, r2 = [rate(s) for s in j1], [rate(s) for s in j2]
row("pipeline from a file, 1 worker", r1, "flows/s", ">= 1,000,000", lambda m: m >= 1e6)
t1 = runs("time-j1-{i}.json")
row("  per second of CPU time", [s["records_read"] / (t["user"] + t["sys"]) for s, t in zip(j1, t1)
                                 if s and t and t["user"] + t["sys"] > 0], "flows/s",
    note="the -j1 runs' user + sys time: what the wall-clock figure is on an idle core")
row("pipeline from a file, 2 workers", r2, "flows/s")
cores = [(t["user"] + t["sys"]) / t["wall"] for t in t2 if t and t["wall"] > 0]
row("  2 workers / 1 worker", [b / a for a, b in zip(r1, r2) if a and b], "x", ">= 1.7",
    lambda m: m >= 1.7,
    note=("the -j2 runs used %.2f cores (median of user+sys / wall); load average %s"
          % (statistics.median(cores), ctx.get("loadavg", "?"))) if cores else "")

# the -j2 run's threads: the reader (the process's first thread), then the
# workers and decoders (and idle helpers under 10 ms), CPU ms each; on two
# free cores the wall time is at least max(busiest thread, all / 2)
threads = []
tpath = os.path.join(raw, "j2-threads.txt")
if os.path.exists(tpath):
    for line in open(tpath):
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and ":" in parts[1]:
            threads.append((int(parts[1].split(":")[0]), int(parts[0])))
cpu1 = [(t["user"] + t["sys"]) for t in t1 if t]
tstats = load("threads-stats.json")
if threads and cpu1 and tstats:
    threads.sort()
    reader, others = threads[0][1], [ms for _, ms in threads[1:] if ms > 10]
    bound_ms = max([reader, sum(ms for _, ms in threads) / 2.0] + others)
    est = tstats["records_read"] / (bound_ms / 1000.0)
    j1_cpu_rate = tstats["records_read"] / statistics.median(cpu1)
    row("  2 workers / 1 worker on two free cores (estimate)", [est / j1_cpu_rate], "x", ">= 1.7",
        lambda m: m >= 1.7,
        note="threads of a -j2 run, CPU ms: reader %d, workers and decoders %s; -j1 CPU %.2f s"
             % (reader, "+".join(str(w) for w in others), statistics.median(cpu1)))

# 4: Lua against plain C ----------------------------------------------------
lua = [d["flows_per_s"][0] for d in runs("lua-{i}.json") if d]
plainc = [d["flows_per_s"][0] for d in runs("plainc-{i}.json") if d]
check = load("check.json") or {}
buf = load("buf.json")
if buf:
    check["numbers_checked_against_snprintf"] = buf["checked"]
    check["numbers_differing"] = buf["differ"]
same = check.get("same_records")
row("analyses in Lua, worker over decoded flows", lua, "flows/s")
row("the same statistics in plain C", plainc, "flows/s")
row("  Lua time / plain C time", [c / l for l, c in zip(lua, plainc)], "x", "<= 1.5",
    lambda m: m <= 1.5,
    note="records of bench_lua, bench_plainc and hostflow -j1 identical: %s" % same)

# 5: memory -----------------------------------------------------------------
mem = load("memory.json")
if mem:
    row("memory, typical host (%d peers, %d ports), per host-window"
        % (mem["peers"], mem["ports"]), [mem["pool_bytes_per_host_window"]], "B",
        "<= 256", lambda m: m <= 256,
        note="window state (the worker's pool); its peer set %d B, port set %d B"
             % (mem.get("peer_set_bytes", 0), mem.get("port_set_bytes", 0)))
    row("  resident, per host-window", [mem["rss_bytes_per_host_window"]], "B",
        note="resident set growth / host-windows")
    row("memory, %s hosts x 4 granularities, peak resident" % f"{mem['hosts']:,}",
        [mem["maxrss_bytes"] / 2**20], "MiB", "<= 4096", lambda m: m <= 4096,
        note="window state %.0f MiB" % (mem["pool_peak_bytes"] / 2**20))
heavy = [load("memory-heavy-%s.json" % k) for k in ("1k", "100k")]
if all(heavy):
    mid, big = heavy
    row("memory, host with %s peers (exact), per host-window" % f"{mid['peers']:,}",
        [mid["pool_bytes_per_host_window"]], "B",
        note="its peer set %s B, %s (the exact limit: %s values)"
             % (f"{mid['peer_set_bytes']:,}", "a sketch" if mid["peer_set_sketch"] else "exact",
                f"{mid['distinct_exact']:,}"))
    row("memory, heavy host (%s peers), its peer set" % f"{big['peers']:,}",
        [big["peer_set_bytes"]], "B", "<= 16384", lambda m: m <= 16384,
        note="%s; %s B per host-window" % ("a sketch" if big["peer_set_sketch"] else "exact",
                                           f"{big['pool_bytes_per_host_window']:,.0f}"))
mix, mixt = load("mix-stats.json"), load("mix-time.json")
if mix and mixt:
    recs = mix["windows"]["10"]["records"]
    row("memory, flowgen mix (%s hosts, one 10 s window), per host" % f"{recs:,}",
        [mix["memory_peak_bytes"] / recs], "B",
        note="window state; resident %.0f B per host" % (mixt["maxrss_kb"] * 1024 / recs))

# 6: close delay ------------------------------------------------------------
for name, docs in (("1 worker", j1), ("2 workers", j2)):
    row("window close to records written, p50, %s" % name,
        [s["close_delay_ms"]["p50"] for s in docs if s], "ms")
    row("window close to records written, p99, %s" % name,
        [s["close_delay_ms"]["p99"] for s in docs if s], "ms", "<= 1000", lambda m: m <= 1000,
        note="upper bounds of power-of-two buckets" if name == "1 worker" else "")

# 7: Kafka ------------------------------------------------------------------
k = load("kafka.json") or {"na": "n/a (not measured)"}
if "na" in k:
    na_row("Kafka -> hostflow -> Kafka, 2 workers", k["na"])
else:
    row("Kafka -> hostflow -> Kafka, 2 workers", [rate(s) for s in runs("kafka-{i}.json")],
        "flows/s", note="broker on the same machine")

# ---------------------------------------------------------------------------
def fmt(v, unit):
    if v is None:
        return ""
    if unit == "x":
        return "%.2fx" % v
    if unit == "flows/s":
        return f"{v:,.0f}"
    if unit in ("B", "MiB"):
        return f"{v:,.0f} {unit}"
    if unit == "ms":
        return "%.3g ms" % v
    return "%.3g" % v


table = [("figure", "median", "min", "max", "target", "met?")]
for r in rows:
    if "na" in r:
        table.append((r["figure"], r["na"], "", "", r["target"] or "", ""))
        continue
    unit = r["unit"]
    target = (r["target"] + (" " + unit if unit not in ("x", "flows/s") else "")) if r["target"] else ""
    if r["target"] and unit == "flows/s":
        target = r["target"] + " flows/s"
    met = {True: "yes", False: "NO", None: ""}[r["met"]]
    table.append((r["figure"] + ("" if unit in ("x", "B", "MiB", "ms") else " (%s)" % unit),
                  fmt(r["median"], unit), fmt(r["min"], unit), fmt(r["max"], unit), target, met))
widths = [max(len(t[c]) for t in table) for c in range(6)]
lines = []
for n, t in enumerate(table):
    cells = [t[0].ljust(widths[0])] + [t[c].rjust(widths[c]) for c in range(1, 5)] + [t[5]]
    lines.append("  ".join(cells).rstrip())
    if n == 0:
        lines.append("  ".join("-" * w for w in widths))
print("hostflow benchmark, %s, commit %s%s, %s cores, load average %s, %s runs per figure, %ss"
      % (ctx.get("date", "?"), ctx.get("commit", "?"), " (modified)" if ctx.get("dirty") else "",
         ctx.get("nproc", "?"), ctx.get("loadavg", "?"), ctx.get("runs", "?"), ctx.get("seconds", "?")))
print("\n".join(lines))
notes = [(r["figure"].strip(), r["note"]) for r in rows if r.get("note")]
if notes:
    print()
    for f, n in notes:
        print("  %s: %s" % (f, n))
with open(out_path, "w") as f:
    json.dump({"context": ctx, "rows": rows, "checks": check}, f, indent=1)
    f.write("\n")
print("\n(written to %s)" % os.path.relpath(out_path))
