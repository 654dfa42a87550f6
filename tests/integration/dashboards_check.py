#!/usr/bin/env python3
"""dashboards_check.py -- check contrib/opensearch/hostflow-dashboards.ndjson
against a search server that holds a run's records (the OpenSearch
Dashboards application itself cannot be installed here, so what it would do
with the export is done by hand):

  dashboards_check.py URL EXPORT STATS_RECORDS ALERT_RECORDS

  1. the export is valid saved-objects NDJSON: one object per line with id,
     type and attributes; the JSON held in strings (visState, panelsJSON,
     searchSourceJSON, fields) parses; every reference names an object of
     the export
  2. every index pattern matches indices of the server, all of them covered
     by the installed index template (GET _index_template/hostflow)
  3. every field the export names (aggregations, controls, columns, the
     index patterns' field lists) is in the template's mapping with a
     matching type
  4. every visualisation's query runs: its aggregations are made into a
     search (nested in the order listed, metrics at each level, "auto"
     intervals as 1m, Lucene queries as query_string, with the dashboard's
     query; terms with a large shard_size, as a top-N over several indices is
     otherwise approximate), run against the server, and every bucket's
     value is compared with the same figure computed here from the records
     of the run; the saved search returns the alerts

Prints one line per check and exits 1 if any failed.
"""
import calendar
import collections
import fnmatch
import json
import sys
import time
import urllib.request

URL, EXPORT, STATS_FILE, ALERTS_FILE = sys.argv[1:5]
failed = 0


def report(ok, what, detail=""):
    global failed
    print(("ok   " if ok else "FAIL ") + what + (f": {detail}" if detail and not ok else ""))
    failed += not ok


def call(path, body=None):
    req = urllib.request.Request(URL.rstrip("/") + path, method="POST" if body is not None else "GET",
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


# ---- 1. valid saved objects -------------------------------------------------
objs, problems = [], []
for n, line in enumerate(open(EXPORT), 1):
    try:
        o = json.loads(line)
    except ValueError as e:
        problems.append(f"line {n}: not JSON ({e})")
        continue
    for k in ("id", "type", "attributes", "references"):
        if k not in o:
            problems.append(f"line {n}: no {k}")
    a = o.get("attributes", {})
    for k in ("visState", "panelsJSON", "optionsJSON", "fields", "uiStateJSON"):
        if k in a:
            try:
                a[k + "_parsed"] = json.loads(a[k])
            except ValueError:
                problems.append(f"{o.get('id')}: {k} is not JSON")
    ss = a.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
    if ss is not None:
        try:
            a["search_parsed"] = json.loads(ss)
        except ValueError:
            problems.append(f"{o.get('id')}: searchSourceJSON is not JSON")
    if o.get("type") not in ("index-pattern", "visualization", "search", "dashboard"):
        problems.append(f"{o.get('id')}: unknown type {o.get('type')}")
    objs.append(o)
by_id = {(o["type"], o["id"]): o for o in objs}
for o in objs:
    for r in o.get("references", []):
        if (r["type"], r["id"]) not in by_id:
            problems.append(f"{o['id']}: reference {r['name']} to a missing {r['type']} {r['id']}")
    ss = o["attributes"].get("search_parsed", {})
    if "indexRefName" in ss and ss["indexRefName"] not in {r["name"] for r in o["references"]}:
        problems.append(f"{o['id']}: indexRefName {ss['indexRefName']} has no reference")
report(not problems and len(objs) > 0, f"the export is valid saved-objects NDJSON ({len(objs)} objects)",
       "; ".join(problems[:5]))
dashboards = [o for o in objs if o["type"] == "dashboard"]
report(len(dashboards) == 1 and len(dashboards[0]["attributes"]["panelsJSON_parsed"]) ==
       len(dashboards[0]["references"]), "one dashboard, every panel referenced")

# ---- 2. index patterns against the template -----------------------------------
tpl = call("/_index_template/hostflow")["index_templates"][0]["index_template"]
globs = tpl["index_patterns"]
props = tpl["template"]["mappings"]["properties"]
mapping = {}


def flatten(prefix, p):
    for k, v in p.items():
        name = f"{prefix}.{k}" if prefix else k
        if "properties" in v:
            flatten(name, v["properties"])
        else:
            mapping[name] = v["type"]


flatten("", props)
indices = [i["index"] for i in call("/_cat/indices?format=json")]
patterns = {o["id"]: o["attributes"]["title"] for o in objs if o["type"] == "index-pattern"}
for pid, title in patterns.items():
    hits = [i for i in indices if fnmatch.fnmatchcase(i, title)]
    covered = all(any(fnmatch.fnmatchcase(i, g) for g in globs) for i in hits)
    report(hits and covered, f"index pattern {title} matches {len(hits)} indices, all under the template {globs}")

# ---- 3. fields ----------------------------------------------------------------
COMPATIBLE = {"date": {"date"}, "number": {"long", "double", "integer", "float"}, "ip": {"ip"},
              "string": {"keyword"}}
pattern_fields = {}
for o in objs:
    if o["type"] != "index-pattern":
        continue
    fields = {f["name"]: f["type"] for f in o["attributes"]["fields_parsed"] if not f["name"].startswith("_")}
    pattern_fields[o["id"]] = fields
    bad = [f"{n} ({t}; mapped {mapping.get(n)})" for n, t in fields.items()
           if mapping.get(n) not in COMPATIBLE.get(t, set())]
    report(not bad, f"the {len(fields)} fields of index pattern {o['attributes']['title']} are in the "
           f"template's mapping with their types", ", ".join(bad))


def pattern_of(o, ref="kibanaSavedObjectMeta.searchSourceJSON.index"):
    return next(r["id"] for r in o["references"] if r["name"] == ref)


used = []
for o in objs:
    a = o["attributes"]
    if o["type"] == "visualization":
        vis = a["visState_parsed"]
        for agg in vis["aggs"]:
            if "field" in agg["params"]:
                used.append((o["id"], pattern_of(o), agg["params"]["field"]))
        for c in vis["params"].get("controls", []):
            used.append((o["id"], pattern_of(o, c["indexPatternRefName"]), c["fieldName"]))
    if o["type"] == "search":
        used += [(o["id"], pattern_of(o), c) for c in a["columns"]]
bad = [f"{oid}: {f}" for oid, pid, f in used if f not in mapping or f not in pattern_fields[pid]]
report(used and not bad, f"every field the visualisations and the search use ({len(used)}) is mapped "
       "and in their index pattern", ", ".join(bad))

# ---- 4. every visualisation's query against the run's records -----------------
def of_type(path, t):
    return [r for r in map(json.loads, open(path)) if r["@type"] == t]


stats = of_type(STATS_FILE, "host_stats")
# The run's own alerts (the detections') are in the indices too, beside the
# made-up ones, one document per id.  An alert's updates share its id, and
# which copy the server keeps is the one written last: records fed again
# from several threads (the replay above) may leave an older copy there
# (hostflow's bulk requests do not version documents).  So each alert
# document must be one of the copies written for its id, and the
# visualisations are checked against the documents the server holds.
copies = collections.defaultdict(list)
for r in of_type(STATS_FILE, "host_alert") + of_type(ALERTS_FILE, "host_alert"):
    copies[r["id"]].append(r)
held = call("/hostflow-host_alert-*/_search", {"size": 10000})["hits"]["hits"]
alerts = [h["_source"] for h in held]
strange = [h["_id"] for h in held if h["_source"] not in copies.get(h["_id"], [])]
report(len(held) == len(copies) and not strange,
       f"the {len(copies)} alert ids each hold one of their copies ({sum(map(len, copies.values()))} written)",
       f"{len(held)} documents; not a copy written: {strange[:3]}")
dash_query = dashboards[0]["attributes"]["search_parsed"]["query"]["query"]   # window.granularity_s:60
granularity = int(dash_query.split(":")[1])


def value(rec, field):
    for part in field.split("."):
        rec = rec.get(part) if isinstance(rec, dict) else None
    return rec


def minute(rec, field):
    """The minute (ms) of the histogram's field: an alert's update keeps
    its @timestamp (its first window) while its window moves on."""
    v = value(rec, field)
    if isinstance(v, str):
        v = calendar.timegm(time.strptime(v[:19], "%Y-%m-%dT%H:%M:%S")) * 1000
    return v // 60000 * 60000 if isinstance(v, (int, float)) else None


def aggs_of(vis):
    metrics = {a["id"]: a for a in vis["aggs"] if a["schema"] == "metric"}
    mbody = {}
    for aid, a in metrics.items():
        if a["type"] != "count":
            mbody[aid] = {a["type"]: {"field": a["params"]["field"]}}
    body = dict(mbody)
    for a in reversed([a for a in vis["aggs"] if a["schema"] != "metric"]):
        p = a["params"]
        if a["type"] == "date_histogram":
            b = {"date_histogram": {"field": p["field"], "fixed_interval": "1m", "min_doc_count": 1}}
        else:
            order_by = p["orderBy"]
            key = "_count" if metrics[order_by]["type"] == "count" else order_by
            # shard_size: a terms aggregation over several indices (days) is
            # approximate; the check wants the exact figures to compare
            b = {"terms": {"field": p["field"], "size": p["size"], "order": {key: p["order"]},
                           "shard_size": 100000}}
        b["aggs"] = body
        body = dict(mbody, **{a["id"]: b})
    return {k: v for k, v in body.items() if k not in mbody} or mbody, metrics


def rows(resp_aggs, vis, metrics):
    """Flatten the answer into (bucket keys..., {metric id: value})."""
    buckets = [a for a in vis["aggs"] if a["schema"] != "metric"]
    out = []

    def walk(level, node, keys):
        if level == len(buckets):
            vals = {aid: (node["doc_count"] if m["type"] == "count" else node[aid]["value"])
                    for aid, m in metrics.items()}
            out.append((tuple(keys), vals))
            return
        for b in node[buckets[level]["id"]]["buckets"]:
            walk(level + 1, b, keys + [b.get("key_as_string", b["key"]) if buckets[level]["type"] != "date_histogram" else b["key"]])
    walk(0, resp_aggs, [])
    return out


def expected(records, vis, keys, metric):
    """The metric over the records in the buckets keys, computed here."""
    sel = records
    for a, k in zip([a for a in vis["aggs"] if a["schema"] != "metric"], keys):
        f = a["params"]["field"]
        if a["type"] == "date_histogram":
            sel = [r for r in sel if minute(r, f) == k]
        else:
            sel = [r for r in sel if str(value(r, f)) == str(k)]
    if metric["type"] == "count":
        return len(sel)
    xs = [value(r, metric["params"]["field"]) for r in sel]
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"sum": sum, "max": max, "min": min, "avg": lambda v: sum(v) / len(v)}[metric["type"]](xs)


for o in objs:
    if o["type"] != "visualization":
        continue
    vis = o["attributes"]["visState_parsed"]
    controls = vis["params"].get("controls", [])
    pid = pattern_of(o, controls[0]["indexPatternRefName"]) if controls else pattern_of(o)
    index = patterns[pid]
    records = stats if pid == "hostflow-host-stats" else alerts
    query = o["attributes"]["search_parsed"]["query"]["query"]
    qs = " AND ".join(q for q in (query, dash_query if pid == "hostflow-host-stats" else "") if q)
    if pid == "hostflow-host-stats":
        records = [r for r in records if r["window"]["granularity_s"] == granularity]
    q = {"query_string": {"query": qs}} if qs else {"match_all": {}}
    if vis["type"] == "input_control_vis":
        ok, got = True, []
        for c in controls:
            r = call(f"/{index}/_search", {"size": 0, "query": q, "aggs": {"c": {"terms": {
                "field": c["fieldName"], "size": c["options"]["size"]}}}})
            keys = [b.get("key_as_string", b["key"]) for b in r["aggregations"]["c"]["buckets"]]
            have = {str(value(x, c["fieldName"])) for x in records}
            ok &= bool(keys) and all(str(k) in have for k in keys)
            got.append(f"{c['label']}: {len(keys)} values")
        report(ok, f"visualisation {o['id']}: its controls list values of the run ({', '.join(got)})")
        continue
    aggs, metrics = aggs_of(vis)
    try:
        resp = call(f"/{index}/_search", {"size": 0, "query": q, "aggs": aggs})
    except urllib.error.HTTPError as e:
        report(False, f"visualisation {o['id']}: its query runs", e.read().decode()[:300])
        continue
    got = rows(resp["aggregations"], vis, metrics)
    wrong = []
    for keys, vals in got:
        for aid, v in vals.items():
            want = expected(records, vis, keys, metrics[aid])
            if want is None or v is None or abs(v - want) > 1e-6 * max(1, abs(want)):
                wrong.append(f"{keys} metric {aid}: server {v}, records {want}")
    report(got and not wrong, f"visualisation {o['id']} ({vis['type']}): {len(got)} buckets, every value "
           f"equal to the run's records", "; ".join(wrong[:3]) or "no buckets")

for o in objs:
    if o["type"] != "search":
        continue
    index = patterns[pattern_of(o)]
    r = call(f"/{index}/_search", {"size": 100, "sort": [{"@timestamp": "desc"}],
                                   "_source": o["attributes"]["columns"]})
    ids = sorted(h["_id"] for h in r["hits"]["hits"])
    report(ids == sorted(a["id"] for a in alerts) and
           all(all(c in h["_source"] for c in ("src_ip", "rule")) for h in r["hits"]["hits"]),
           f"saved search {o['id']}: returns the run's {len(alerts)} alerts with their columns")

print(f"{'no' if not failed else failed} failed checks")
sys.exit(1 if failed else 0)
