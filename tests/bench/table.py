#!/usr/bin/env python3
"""table.py RAW_DIR RESULTS_JSON -- the benchmark table of tests/bench/run.sh.

Reads the measurements run.sh left in RAW_DIR (one JSON document per file)
and, when there is an old binary, the same files of its runs in RAW_DIR/old;
prints one aligned table (figure, median, min, max, old, new / old, target,
met?) and writes the same rows, with every run's value, new and old, to
RESULTS_JSON.

The old column is the old binary's median; new / old is the median of the
ratios of runs made one after the other (run i of the new binary beside run
i of the old: they alternate), or the ratio of the medians when the counts
differ.  Rows that are themselves ratios (unit x) show the old value only."""
import glob
import json
import os
import statistics
import sys

raw, out_path = sys.argv[1], sys.argv[2]


def loader(d):
    def load(name):
        path = os.path.join(d, name)
        if not os.path.exists(path):
            return None
        with open(path) as f:
            text = f.read().strip()
        return json.loads(text.splitlines()[-1]) if text else None

    def runs(pattern):
        """The documents of pattern (with {i} for the run number), in run order."""
        found = []
        for path in glob.glob(os.path.join(d, pattern.replace("{i}", "*"))):
            stem = os.path.basename(path)
            i = int("".join(c for c in stem.rsplit("-", 1)[-1] if c.isdigit()) or 0)
            found.append((i, os.path.basename(path)))
        return [load(p) for _, p in sorted(found)]

    return load, runs


def figures(d, ctx):
    """The rows of one binary's measurements in directory d, in table order.
    Each row has a key (the same for the new and the old binary), a figure
    (what the table says), unit, per-run values, target, ok and note."""
    load, runs = loader(d)
    rows = []

    def row(key, figure, values, unit, target=None, ok=None, note=""):
        values = [v for v in values if v is not None]
        rows.append({"key": key, "figure": figure, "unit": unit, "runs": values,
                     "target": target, "ok": ok, "note": note})

    def na_row(key, figure, text):
        rows.append({"key": key, "figure": figure, "unit": "", "runs": [], "target": None,
                     "ok": None, "note": "", "na": text})

    # 1, 2: decode and filter -----------------------------------------------
    st = [s for s in runs("stages-{i}.json") if s]
    if st:
        fast = [v for s in st for v in s["decode_fast"]]
        cjson = [v for s in st for v in s["decode_cjson"]]
        row("decode_fast", "decode, fast decoder", fast, "flows/s")
        row("decode_cjson", "decode, cJSON decoder", cjson, "flows/s")
        row("decode_ratio", "  fast / cJSON", [a / b for a, b in zip(fast, cjson)], "x",
            ">= 12", lambda m: m >= 12)
        sj = [s for s in runs("simdjson-{i}.json") if s]
        if sj:
            simd = [v for s in sj for v in s["decode_simdjson"]]
            row("decode_simdjson", "decode, simdjson On-Demand (the yardstick)", simd, "flows/s",
                note="simdjson %s (%s), iterate_many over the lines, each object's members walked, "
                     "the known ones read; %d malformed lines left out"
                     % (sj[0].get("version", "3"), sj[0]["implementation"], sj[0]["skipped"]))
            row("decode_fast_simdjson", "  fast / simdjson", [a / b for a, b in zip(fast, simd)], "x")
        row("decode_filter", "decode + filter (prefix trie)",
            [v for s in st for v in s["decode_filter"]], "flows/s")

    # 3: pipeline -------------------------------------------------------------
    def rate(s):
        return s["records_read"] / s["seconds"] if s and s.get("seconds") else None

    j1, j2 = runs("stats-j1-{i}.json"), runs("stats-j2-{i}.json")
    t1, t2 = runs("time-j1-{i}.json"), runs("time-j2-{i}.json")
    r1, r2 = [rate(s) for s in j1], [rate(s) for s in j2]
    def per_cpu(docs, times):
        return [s["records_read"] / (t["user"] + t["sys"]) if s and t and t["user"] + t["sys"] > 0
                else None for s, t in zip(docs, times)]

    if j1:
        row("pipeline_j1", "pipeline from a file, 1 worker, the five statistics", r1, "flows/s")
        row("pipeline_j1_cpu", "  per second of CPU time", per_cpu(j1, t1), "flows/s",
            note="the -j1 runs' user + sys time: what the wall-clock figure is on an idle core")
    if j2:
        row("pipeline_j2", "pipeline from a file, 2 workers, the five statistics", r2, "flows/s")
        cores = [(t["user"] + t["sys"]) / t["wall"] for t in t2 if t and t["wall"] > 0]
        row("pipeline_j2_j1", "  2 workers / 1 worker", [b / a for a, b in zip(r1, r2) if a and b], "x",
            ">= 1.9", lambda m: m >= 1.9,
            note=("the -j2 runs used %.2f cores (median of user+sys / wall); load average %s"
                  % (statistics.median(cores), ctx.get("loadavg", "?"))) if cores else "")

    # the -j2 runs' threads: the reader (the process's first thread), then the
    # workers and decoders (and idle helpers under 10 ms), CPU ms each; on two
    # free cores the wall time is at least max(busiest thread, all / 2).  Run
    # i under perf is set against -j1 run i (its CPU time).
    def threads_of(i):
        path = os.path.join(d, "j2-threads-%d.txt" % i)
        found = []
        if os.path.exists(path):
            for line in open(path):
                parts = line.split()
                if len(parts) == 2 and parts[0].isdigit() and ":" in parts[1]:
                    found.append((int(parts[1].split(":")[0]), int(parts[0])))
        found.sort()
        return found

    ests, shown = [], None
    for i, t in enumerate(t1, 1):
        found, ts = threads_of(i), load("threads-stats-%d.json" % i)
        if not (found and t and ts and t["user"] + t["sys"] > 0):
            continue
        reader, others = found[0][1], [ms for _, ms in found[1:] if ms > 10]
        bound_ms = max([reader, sum(ms for _, ms in found) / 2.0] + others)
        ests.append((t["user"] + t["sys"]) / (bound_ms / 1000.0))   # -j1 CPU s / -j2 wall bound
        if shown is None:
            shown = (reader, others, t["user"] + t["sys"])
    if ests:
        row("pipeline_j2_j1_est", "  2 workers / 1 worker on two free cores (estimate)",
            ests, "x", ">= 1.9", lambda m: m >= 1.9,
            note="threads of a -j2 run under perf against the -j1 run of its number; the first, CPU "
                 "ms: reader %d, workers and decoders %s; its -j1 run %.2f s of CPU"
                 % (shown[0], "+".join(str(w) for w in shown[1]), shown[2]))

    # the default pipeline: every analysis of analyses/ (the five, the
    # profile and the detections), -j1, its runs after the five's; issue 14's target
    a1, ta1 = runs("stats-all1-{i}.json"), runs("time-all1-{i}.json")
    if a1 and any(a1):
        names = [n for n in (next(s for s in a1 if s).get("analyses") or {})]
        others = [n for n in names if n not in ("total", "avg_flow_duration", "dport_count",
                                                "peer_number", "tcp_flags")]
        row("pipeline_all_j1", "pipeline from a file, 1 worker, the default analyses", [rate(s) for s in a1],
            "flows/s", note="the five and %s" % (", ".join(others) or "nothing else"))
        row("pipeline_all_j1_cpu", "  per second of CPU time", per_cpu(a1, ta1), "flows/s", ">= 1,000,000",
            lambda m: m >= 1e6, note="issue 14: with every detection enabled")
        cpu_all = [t["user"] + t["sys"] if t else None for t in ta1]
        cpu_five = [t["user"] + t["sys"] if t else None for t in t1]
        row("pipeline_all_five", "  CPU time, default analyses / the five",
            [a / b for a, b in zip(cpu_all, cpu_five) if a and b], "x",
            note="runs of the two one after the other: what the profile and the detections add")
        # the default pipeline without the profile (analyses/profile.lua),
        # its runs after the default's
        cpu_rates = per_cpu(a1, ta1)
        nj, nt = runs("stats-noprof-{i}.json"), runs("time-noprof-{i}.json")
        if nj and any(nj):
            row("pipeline_j1_noprof", "  the same without the profile", [rate(x) for x in nj], "flows/s",
                note="analyses.disable = { \"profile\" }")
            nrates = per_cpu(nj, nt)
            row("pipeline_profile_cost", "  CPU time with the profile / without",
                [b / a for a, b in zip(cpu_rates, nrates) if a and b], "x",
                note="runs with and without it alternating; per second of CPU time")
        prof = [s["profiles"]["bytes"] / s["profiles"]["hosts"] for s in a1
                if s and s.get("profiles", {}).get("hosts")]
        if prof:
            hosts = next(s for s in a1 if s)["profiles"]["hosts"]
            row("profile_bytes", "memory, the profile, per host", prof, "B", "<= 1024",
                lambda m: m <= 1024,
                note="analyses/profile.lua on the default -j1 runs' %d hosts: rows, table and free "
                     "space (engine/profile.c), over the hosts" % hosts)

    # 4: Lua against plain C ----------------------------------------------------
    lua = [d_["flows_per_s"][0] for d_ in runs("lua-{i}.json") if d_]
    plainc = [d_["flows_per_s"][0] for d_ in runs("plainc-{i}.json") if d_]
    check = load("check.json") or {}
    if lua:
        row("lua", "analyses in Lua, worker over decoded flows", lua, "flows/s")
    if plainc:
        row("plainc", "the same statistics in plain C", plainc, "flows/s")
    if lua and plainc:
        row("lua_plainc", "  Lua time / plain C time", [c / l for l, c in zip(lua, plainc)], "x",
            "<= 1.5", lambda m: m <= 1.5,
            note="records of bench_lua, bench_plainc and hostflow -j1 identical: %s"
                 % check.get("same_records"))
    lua_all = [d_["flows_per_s"][0] for d_ in runs("lua-all-{i}.json") if d_]
    if lua_all:
        row("lua_all", "analyses in Lua, the default ones (the detections too)", lua_all, "flows/s")

    # 5: memory -------------------------------------------------------------------
    mem = load("memory.json")
    if mem:
        row("memory_typical", "memory, typical host (%d peers, %d ports), per host-window"
            % (mem["peers"], mem["ports"]), [mem["pool_bytes_per_host_window"]], "B",
            "<= 256", lambda m: m <= 256, note="window state (the worker's pool)"
            + ("; its peer set %d B, port set %d B" % (mem["peer_set_bytes"], mem["port_set_bytes"])
               if "peer_set_bytes" in mem else ""))
        row("memory_typical_rss", "  resident, per host-window", [mem["rss_bytes_per_host_window"]], "B",
            note="resident set growth / host-windows")
        row("memory_peak", "memory, %s hosts x 4 granularities, peak resident" % f"{mem['hosts']:,}",
            [mem["maxrss_bytes"] / 2**20], "MiB", "<= 4096", lambda m: m <= 4096,
            note="window state %.0f MiB" % (mem["pool_peak_bytes"] / 2**20))
    heavy = [load("memory-heavy-%s.json" % k) for k in ("1k", "100k")]
    if all(heavy):
        mid, big = heavy

        def peer_set(h):
            """What bench_lua says of one such host's peer set (older ones say nothing)."""
            if "peer_set_bytes" not in h:
                return ""
            return "its peer set %s B, %s (exact limit %s)" % (
                f"{h['peer_set_bytes']:,}", "a sketch" if h["peer_set_sketch"] else "exact",
                f"{h['distinct_exact']:,}")
        row("memory_1k", "memory, host with %s peers, per host-window" % f"{mid['peers']:,}",
            [mid["pool_bytes_per_host_window"]], "B", note=peer_set(mid))
        row("memory_heavy", "memory, heavy host (%s peers), per host-window" % f"{big['peers']:,}",
            [big["pool_bytes_per_host_window"]], "B", note=peer_set(big))
        row("memory_heavy_set", "  its peer set", [big.get("peer_set_bytes")], "B",
            "<= 16384", lambda m: m <= 16384, note="issue 11: at most 16 KiB per set")
    mix, mixt = load("mix-stats.json"), load("mix-time.json")
    if mix and mixt:
        recs = mix["windows"]["10"]["records"]
        row("memory_mix", "memory, flowgen mix (%s hosts, one 10 s window), per host" % f"{recs:,}",
            [mix["memory_peak_bytes"] / recs], "B",
            note="window state; resident %.0f B per host" % (mixt["maxrss_kb"] * 1024 / recs))

    # 6: close delay --------------------------------------------------------------
    for key, name, docs in (("j1", "1 worker", j1), ("j2", "2 workers", j2)):
        docs = [s for s in docs if s]
        if not docs:
            continue
        row("close_p50_" + key, "window close to records written, p50, %s" % name,
            [s["close_delay_ms"]["p50"] for s in docs], "ms")
        row("close_p99_" + key, "window close to records written, p99, %s" % name,
            [s["close_delay_ms"]["p99"] for s in docs], "ms", "<= 1000", lambda m: m <= 1000,
            note="upper bounds of power-of-two buckets" if key == "j1" else "")

    # 7: Kafka --------------------------------------------------------------------
    k = load("kafka.json") or {"na": "n/a (not measured)"}
    if "na" in k:
        na_row("kafka", "Kafka -> hostflow -> Kafka, 2 workers", k["na"])
    else:
        # run i: kafka-i (--stats), ktime-i (hostflow's CPU), kbroker-i (the
        # broker's CPU), and beside it kfile-i, kfiletime-i (a file -j2 run of
        # the same lines); a missing file leaves its run out of what needs it
        each = [{n: load("%s-%d.json" % (n, i))
                 for n in ("kafka", "ktime", "kbroker", "kfile", "kfiletime", "kbare", "kbarebroker")}
                for i in range(1, k.get("runs", 0) + 1)]
        each = [e for e in each if e["kafka"] and rate(e["kafka"])]
        def kcpu(e):
            t, b = e["ktime"], e["kbroker"]
            if not t or not b or t["user"] + t["sys"] + b["cpu"] <= 0:
                return None
            return e["kafka"]["records_read"] / (t["user"] + t["sys"] + b["cpu"])
        def fcpu(e):
            t = e["kfiletime"]
            return e["kfile"]["records_read"] / (t["user"] + t["sys"]) if t and t["user"] + t["sys"] > 0 else None
        flows = each[0]["kafka"]["records_read"] if each else 0
        row("kafka", "Kafka -> hostflow -> Kafka, 2 workers, the five", [rate(e["kafka"]) for e in each],
            "flows/s", note="broker on the same machine; %s flows, one a message" % f"{flows:,}")
        row("kafka_cpu", "  per second of CPU time, hostflow + broker", [kcpu(e) for e in each], "flows/s",
            note="hostflow's user + sys and the broker JVM's, over the run")
        beside = [e for e in each if e["kfile"] and rate(e["kfile"])]
        if beside:
            row("kafka_file", "  Kafka / file, 2 workers", [rate(e["kafka"]) / rate(e["kfile"]) for e in beside],
                "x", ">= 0.5", lambda m: m >= 0.5,
                note="each Kafka run over a file -j2 run of the same lines beside it (%s flows/s, median)"
                     % f"{statistics.median([rate(e['kfile']) for e in beside]):,.0f}")
            row("kafka_file_cpu", "  Kafka / file, per second of CPU time",
                [kcpu(e) / fcpu(e) for e in beside if kcpu(e) and fcpu(e)], "x",
                note="flows per CPU second of hostflow + broker, over the file run's of hostflow")
        elif each and [v for v in r2 if v]:    # (an old binary's runs: no file run beside them)
            row("kafka_file", "  Kafka / file, 2 workers",
                [statistics.median([rate(e["kafka"]) for e in each]) / statistics.median([v for v in r2 if v])],
                "x", ">= 0.5", lambda m: m >= 0.5, note="the medians of the two rows")
        # the bound: librdkafka alone (kafka_bare) moving the same messages in
        # and as many records out, its CPU and the broker's; with the file
        # run's CPU per flow added, the best Kafka / file per CPU second
        def bcpu(e):
            b, bb = e["kbare"], e["kbarebroker"]
            return b["messages"] / (b["cpu"] + bb["cpu"]) if b and bb and b["cpu"] + bb["cpu"] > 0 else None
        bare = [e for e in each if bcpu(e)]
        if bare:
            row("kafka_bare", "  librdkafka alone: the messages in, the records out",
                [e["kbare"]["messages"] / e["kbare"]["seconds"] for e in bare], "flows/s",
                note="build/tools/kafka_bare beside each run: a consumer and hostflow's producer "
                     "settings, nothing done to the flows")
            row("kafka_bare_cpu", "    per second of CPU time, librdkafka + broker", [bcpu(e) for e in bare],
                "flows/s", note="the CPU that moving the messages costs on this machine, before any analysis")
            bound = [bcpu(e) / (bcpu(e) + fcpu(e)) for e in bare if e["kfile"] and fcpu(e)]
            if bound:
                row("kafka_bound", "  Kafka / file, librdkafka's cost added, per CPU second", bound, "x",
                    note="the file run's CPU per flow plus librdkafka's alone and the broker's: what "
                         "Kafka / file per CPU second is if hostflow's Kafka costs what librdkafka's does "
                         "(hostflow's own row above comes out about there or better: it has no file to "
                         "read); with every core busy, the wall-clock ratio is about this")

    # 8: OpenSearch (tests/bench/opensearch.sh) -----------------------------------
    o = load("opensearch.json")
    if o and "na" in o:
        na_row("opensearch_feed", "records into OpenSearch, 2 threads", o["na"])
    elif o:
        row("opensearch_feed", "records into OpenSearch (output_feed, 2 threads)",
            [s["records_per_s"] for s in runs("opensearch-feed-{i}.json") if s], "records/s",
            note="OpenSearch 2.19 (512 MiB heap) on the same 2 cores; %s records" % f"{o['records']:,}")
        row("opensearch_run", "file -> hostflow -> OpenSearch, 2 workers",
            [rate(s) for s in runs("opensearch-run-{i}.json")], "flows/s",
            note="%s flows; every record acknowledged before exit" % f"{o['flows']:,}")

    # 9: several instances (tests/bench/scale.sh) ---------------------------------
    sc = load("scale.json")
    if sc and "na" in sc:
        na_row("scale", "several instances through Kafka", sc["na"])
    elif sc:
        rel = load("scale-relay.json")
        if rel:
            row("scale_relay", "relay, Kafka -> Kafka keyed by host", [rel["flows"] / rel["seconds"]],
                "flows/s", note="one relay, %s lines from 6 partitions; the broker on the same cores"
                % f"{rel['lines']:,}")
            row("scale_relay_bytes", "  a flow on the broker's disk, relayed (binary, lz4)",
                [rel["relayed_disk"] / rel["flows"]], "B",
                note="the raw JSON: %.0f B a line" % (rel["raw_disk"] / rel["lines"]))

        def spread(s):
            return s["flows"] / s["seconds"] if s and s.get("seconds") else None
        one = [spread(s) for s in runs("scale-one-{i}.json")]
        three = [spread(s) for s in runs("scale-three-{i}.json")]
        def cpu(pattern):
            docs = [s for s in runs(pattern) if s and s.get("seconds")]
            return (statistics.median([s["cpu_s"] for s in docs]),
                    statistics.median([s["seconds"] for s in docs])) if docs else (0, 0)
        if one:
            c, w = cpu("scale-one-{i}.json")
            row("scale_one", "1 instance (-j1) over the keyed topic", one, "flows/s",
                note="from its first flow read to its last, a new group each run, records to /dev/null; "
                     "%.2f s of CPU (the whole process) for %.2f s of reading" % (c, w))
        if three:
            c, w = cpu("scale-three-{i}.json")
            row("scale_three", "3 instances (-j1) in one group, aggregate", three, "flows/s",
                note="their partitions assigned before they read; from the first flow any read to the "
                     "last; %.2f s of CPU (three processes) for %.2f s of reading" % (c, w))
        if one and three:
            row("scale_ratio", "  3 instances / 1", [b / a for a, b in zip(one, three) if a and b], "x",
                note="%s cores: three -j1 instances and the broker share them" % ctx.get("nproc", "?"))
        par = load("scale-partial.json")
        if par and "na" in par:
            na_row("scale_partial_bytes", "partial windows, bytes a flow (as made)", par["na"])
        elif par and par["flows"]:
            row("scale_partial_bytes", "partial windows, bytes a flow (as made)", [par["bytes"] / par["flows"]],
                "B", note="%s partial windows for %s flows (%.3f a flow), %.0f B each"
                % (f"{par['partials']:,}", f"{par['flows']:,}", par["partials"] / par["flows"],
                   par["bytes"] / max(par["partials"], 1)))
            row("scale_partial_disk", "  on the broker's disk (lz4)", [par["disk"] / par["flows"]], "B",
                note="progress messages and transaction markers included")

    buf = load("buf.json")
    if buf:
        check["numbers_checked_against_snprintf"] = buf["checked"]
        check["numbers_differing"] = buf["differ"]
    return rows, check


def summary(values):
    if not values:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def new_over_old(new, old):
    """Run i of the new binary over run i of the old (they ran one after the
    other); the ratio of the medians when the counts differ."""
    if not new or not old or 0 in old:
        return []
    if len(new) == len(old):
        return [a / b for a, b in zip(new, old)]
    return [statistics.median(new) / statistics.median(old)]


ctx = loader(raw)[0]("context.json") or {}
rows, check = figures(raw, ctx)
old_dir = os.path.join(raw, "old")
has_old = bool(ctx.get("old_commit")) and os.path.isdir(old_dir)
old_rows, old_check = figures(old_dir, ctx) if has_old else ([], {})
old_by_key = {r["key"]: r for r in old_rows}
compare = loader(raw)[0]("compare.json") if has_old else None

# issue 18's end-to-end target is a ratio to the old binary: a row of its own
# under the -j1 figure per CPU second, from the runs' ratios
if has_old:
    for n, r in enumerate(rows):
        o = old_by_key.get(r["key"])
        if r["key"] == "pipeline_j1_cpu" and o and "na" not in o:
            rows.insert(n + 1, {"key": "pipeline_j1_cpu_old", "figure": "  new / old, per second of CPU time",
                                "unit": "x", "runs": new_over_old(r["runs"], o["runs"]),
                                "target": ">= 1.6", "ok": lambda m: m >= 1.6,
                                "note": "issue 18: the same five statistics, one worker"})
            break

# rows the old binary cannot have, by design (the ratio to it, the
# detections it does not run): their "n/a" needs no note
NEW_ONLY = {"pipeline_j1_cpu_old", "pipeline_all_j1", "pipeline_all_j1_cpu", "pipeline_all_five",
            "lua_all", "kafka_file", "kafka_file_cpu", "kafka_bare", "kafka_bare_cpu", "kafka_bound", "pipeline_j1_noprof", "pipeline_profile_cost", "profile_bytes"}
for r in rows:
    r.update(summary(r["runs"]))
    r["met"] = None if r["ok"] is None or r["median"] is None else bool(r["ok"](r["median"]))
    del r["ok"]
    if not has_old:
        continue
    o = old_by_key.get(r["key"])
    if o is None or "na" in o:
        r["old"] = {"na": o["na"] if o else "n/a (the old binary has no such figure)"}
        if o is None and r["key"] in NEW_ONLY:
            r["old"]["quiet"] = True      # new-only by design: no note
        continue
    r["old"] = dict(figure=o["figure"], runs=o["runs"], note=o["note"], **summary(o["runs"]))
    if r["unit"] != "x" and "na" not in r:
        ratios = new_over_old(r["runs"], o["runs"])
        r["new_over_old"] = dict(runs=ratios, **summary(ratios))


# ---------------------------------------------------------------------------
def fmt(v, unit):
    if v is None:
        return ""
    if unit == "x":
        return "%.2fx" % v
    if unit in ("flows/s", "records/s"):
        return f"{v:,.0f}"
    if unit in ("B", "MiB"):
        return f"{v:,.0f} {unit}"
    if unit == "ms":
        return "%.3g ms" % v if v < 1000 else f"{v:,.0f} ms"
    return "%.3g" % v


head = ("figure", "median", "min", "max") + (("old", "new / old") if has_old else ()) + ("target", "met?")
table = [head]
for r in rows:
    unit = r["unit"]
    figure = r["figure"] + ("" if unit in ("x", "B", "MiB", "ms", "") else " (%s)" % unit)
    if has_old:
        o = r.get("old", {})
        old_cells = ("n/a" if "na" in o and "na" not in r else fmt(o.get("median"), unit),
                     "%.2f" % r["new_over_old"]["median"] if r.get("new_over_old", {}).get("median") else "")
    else:
        old_cells = ()
    if "na" in r:      # the reason, from the median column on, counted in no width
        table.append((figure, r["na"]))
        continue
    target = (r["target"] + (" " + unit if unit not in ("x", "flows/s") else "")) if r["target"] else ""
    if r["target"] and unit == "flows/s":
        target = r["target"] + " flows/s"
    met = {True: "yes", False: "NO", None: ""}[r["met"]]
    table.append((figure, fmt(r["median"], unit), fmt(r["min"], unit), fmt(r["max"], unit))
                 + old_cells + (target, met))
ncol = len(head)
widths = [max(len(t[c]) for t in table if len(t) == ncol) for c in range(ncol)]
lines = []
for n, t in enumerate(table):
    if len(t) < ncol:
        lines.append("%s  %s" % (t[0].ljust(widths[0]), t[1]))
        continue
    cells = [t[0].ljust(widths[0])] + [t[c].rjust(widths[c]) for c in range(1, ncol - 1)] + [t[-1]]
    lines.append("  ".join(cells).rstrip())
    if n == 0:
        lines.append("  ".join("-" * w for w in widths))

print("hostflow benchmark, %s, commit %s%s%s, %s runs per figure, %ss"
      % (ctx.get("date", "?"), ctx.get("commit", "?"), " (modified)" if ctx.get("dirty") else "",
         ", old %s (%s)" % (ctx["old_commit"], ctx.get("old_from")) if has_old else ", no old binary",
         ctx.get("runs", "?"), ctx.get("seconds", "?")))
def vector(flags):
    """The vector extensions, avx512's in one word: avx512(f,dq,bw,vl)."""
    avx512 = [f[6:].lstrip("_") for f in flags if f.startswith("avx512")]
    words = [f for f in flags if not f.startswith("avx512")]
    return " ".join(words + (["avx512(%s)" % ",".join(avx512)] if avx512 else [])) or "none found"


print("CPU %s, vector extensions %s; %s cores usable (of %s online), load average %s"
      % (ctx.get("cpu_model", "?"), vector(ctx.get("cpu_vector", [])),
         ctx.get("nproc", "?"), ctx.get("online", "?"), ctx.get("loadavg", "?")))
print("\n".join(lines))
notes = [(r["figure"].strip(), r["note"]) for r in rows if r.get("note")]
notes += [(r["figure"].strip(), "old binary: " + r["old"]["na"]) for r in rows
          if "na" in r.get("old", {}) and "na" not in r and not r["old"].get("quiet")]
if has_old:
    notes.append(("old", "commit %s, built in build/bench/old, its runs alternating with the new one's; "
                  "new / old: the median of the runs' ratios (above 1: the new binary is faster, for "
                  "flows/s; smaller, for B and ms)" % ctx["old_commit"]))
    if compare:
        notes.append(("old", "records of hostflow -j1 on the first %s lines, new and old sorted, "
                      "identical: %s (%s and %s records%s)"
                      % (f"{compare['lines']:,}", compare["identical"] is True, f"{compare['records_new']:,}",
                         f"{compare['records_old']:,}",
                         "" if compare["identical"] else "; %d only new, %d only old: build/bench/records-*.sorted%s"
                         % (compare["only_new"], compare["only_old"],
                            "; equal but for peer_number and dport_count, which the old binary estimated "
                            "above 64 values (issue 11)" if compare.get("identical_but_distinct") else ""))))
    else:
        notes.append(("old", "records not compared: the old binary failed on them"))
    if old_check:
        notes.append(("old", "records of its bench_lua, bench_plainc and hostflow -j1 identical: %s"
                      % old_check.get("same_records")))
if notes:
    print()
    for f, n in notes:
        print("  %s: %s" % (f, n))
with open(out_path, "w") as f:
    json.dump({"context": ctx, "rows": rows, "checks": check,
               "old": {"checks": old_check, "compare": compare} if has_old else None}, f, indent=1)
    f.write("\n")
print("\n(written to %s)" % os.path.relpath(out_path))
