#!/usr/bin/env python3
"""dashboards.py -- makes contrib/opensearch/hostflow-dashboards.ndjson, the
OpenSearch Dashboards saved objects for hostflow's records:

  python3 contrib/opensearch/dashboards.py > contrib/opensearch/hostflow-dashboards.ndjson

(tests/integration/test_opensearch_dashboards.sh checks that the file is what
this script makes, and runs every visualisation's query against a server).

Two index patterns (hostflow-host_stats-*, hostflow-host_alert-*, the
default opensearch.index), their fields as the index template maps them; the
visualisations of Jirsik's host statistics over time per host (flows,
packets, bytes, average flow duration, distinct peers and destination ports,
TCP flags), a table of the top hosts, alerts over time and by host and rule;
a saved search of the alerts; and one dashboard with all of them and two
controls (host, granularity).  Queries are in Lucene syntax, so that a test
can run them as they are.  The dashboard's query starts at one granularity
(window.granularity_s:60): records of several granularities summed together
would count every flow several times.
"""
import json

STATS = "hostflow-host-stats"      # index pattern ids
ALERTS = "hostflow-host-alerts"

# Field name -> (Dashboards type, mapping type), as the index template maps them
# (core/io/out_opensearch_template.c).
STATS_FIELDS = {
    "@timestamp": ("date", "date"), "@type": ("string", "keyword"), "id": ("string", "keyword"),
    "src_ip": ("ip", "ip"),
    "window.start_ms": ("date", "date"), "window.end_ms": ("date", "date"),
    "window.granularity_s": ("number", "long"),
    "stats.total.flow": ("number", "long"), "stats.total.packets": ("number", "long"),
    "stats.total.bytes": ("number", "long"), "stats.avg_flow_duration": ("number", "double"),
    "stats.dport_count": ("number", "long"), "stats.peer_number": ("number", "long"),
}
for flag in ("FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"):
    STATS_FIELDS[f"stats.tcp_flags.{flag}"] = ("number", "long")
ALERT_FIELDS = {
    "@timestamp": ("date", "date"), "@type": ("string", "keyword"), "id": ("string", "keyword"),
    "src_ip": ("ip", "ip"), "rule": ("string", "keyword"),
    "window.start_ms": ("date", "date"), "window.end_ms": ("date", "date"),
    "window.granularity_s": ("number", "long"),
    "observed": ("number", "double"), "expected": ("number", "double"), "score": ("number", "double"),
    "details.dst_ip": ("ip", "ip"), "details.targets": ("number", "long"),
    "details.flows_increment": ("number", "long"),
}


def dumps(x):
    return json.dumps(x, separators=(",", ":"), sort_keys=True)


def index_pattern(pid, title, fields):
    meta = [{"name": n, "type": t, "esTypes": [es], "searchable": True, "aggregatable": True,
             "readFromDocValues": True, "count": 0, "scripted": False}
            for n, (t, es) in sorted(fields.items())]
    meta += [{"name": n, "type": "string", "esTypes": [es], "searchable": s, "aggregatable": a,
              "readFromDocValues": False, "count": 0, "scripted": False}
             for n, es, s, a in (("_id", "_id", True, True), ("_index", "_index", True, True),
                                 ("_source", "_source", False, False))]
    return {"id": pid, "type": "index-pattern", "migrationVersion": {"index-pattern": "7.6.0"},
            "references": [],
            "attributes": {"title": title, "timeFieldName": "@timestamp", "fields": dumps(meta)}}


def search_source(query="", index=True):
    src = {"query": {"query": query, "language": "lucene"}, "filter": []}
    if index:
        src["indexRefName"] = "kibanaSavedObjectMeta.searchSourceJSON.index"
    return {"searchSourceJSON": dumps(src)}


def visualization(vid, title, pattern, vis_type, aggs, params, query="", description=""):
    vis = {"title": title, "type": vis_type, "aggs": aggs, "params": params}
    return {"id": vid, "type": "visualization", "migrationVersion": {"visualization": "7.10.0"},
            "references": [{"name": "kibanaSavedObjectMeta.searchSourceJSON.index",
                            "type": "index-pattern", "id": pattern}],
            "attributes": {"title": title, "description": description, "version": 1,
                           "uiStateJSON": "{}", "visState": dumps(vis),
                           "kibanaSavedObjectMeta": search_source(query)}}


def metric(aid, kind, field=None, label=None):
    a = {"id": aid, "enabled": True, "type": kind, "schema": "metric", "params": {}}
    if field:
        a["params"]["field"] = field
    if label:
        a["params"]["customLabel"] = label
    return a


def over_time(aid="2"):
    return {"id": aid, "enabled": True, "type": "date_histogram", "schema": "segment",
            "params": {"field": "@timestamp", "interval": "auto", "min_doc_count": 1,
                       "extended_bounds": {}, "drop_partials": False, "useNormalizedOpenSearchInterval": True}}


def split_by(aid, field, size, order_by, schema="group"):
    return {"id": aid, "enabled": True, "type": "terms", "schema": schema,
            "params": {"field": field, "size": size, "order": "desc", "orderBy": order_by,
                       "otherBucket": False, "missingBucket": False}}


def line_params(ytitle, chart="line", mode="normal"):
    return {"type": chart, "addTooltip": True, "addLegend": True, "legendPosition": "right",
            "times": [], "addTimeMarker": False,
            "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom",
                              "show": True, "scale": {"type": "linear"}, "labels": {"show": True,
                              "filter": True, "truncate": 100}, "title": {}}],
            "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left",
                           "show": True, "scale": {"type": "linear", "mode": mode},
                           "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                           "title": {"text": ytitle}}],
            "seriesParams": [{"show": True, "type": chart, "mode": mode, "data": {"id": "1", "label": ytitle},
                              "valueAxis": "ValueAxis-1", "drawLinesBetweenPoints": True,
                              "lineWidth": 2, "showCircles": True}],
            "grid": {"categoryLines": False}}


def per_host(vid, title, kind, field, ytitle):
    """A statistic over time, one line per host (the 5 highest; pick one with the Host control)."""
    return visualization(vid, title, STATS, "line",
                         [metric("1", kind, field, ytitle), over_time("2"), split_by("3", "src_ip", 5, "1")],
                         line_params(ytitle))


def objects():
    out = [index_pattern(STATS, "hostflow-host_stats-*", STATS_FIELDS),
           index_pattern(ALERTS, "hostflow-host_alert-*", ALERT_FIELDS)]
    vis = [
        visualization("hostflow-controls", "hostflow: host and granularity", STATS, "input_control_vis", [],
                      {"controls": [
                          {"id": "1", "indexPatternRefName": "control_0_index_pattern", "fieldName": "src_ip",
                           "parent": "", "label": "Host", "type": "list",
                           "options": {"type": "terms", "multiselect": True, "dynamicOptions": False,
                                       "size": 50, "order": "desc"}},
                          {"id": "2", "indexPatternRefName": "control_1_index_pattern",
                           "fieldName": "window.granularity_s", "parent": "", "label": "Granularity (s)",
                           "type": "list", "options": {"type": "terms", "multiselect": False,
                                                       "dynamicOptions": False, "size": 10, "order": "desc"}}],
                       "updateFiltersOnChange": True, "useTimeFilter": True, "pinFilters": False}),
        per_host("hostflow-flows", "hostflow: flows per host", "sum", "stats.total.flow", "flows"),
        per_host("hostflow-packets", "hostflow: packets per host", "sum", "stats.total.packets", "packets"),
        per_host("hostflow-bytes", "hostflow: bytes per host", "sum", "stats.total.bytes", "bytes"),
        per_host("hostflow-duration", "hostflow: average flow duration per host (s)", "avg",
                 "stats.avg_flow_duration", "seconds"),
        per_host("hostflow-peers", "hostflow: distinct peers per host", "max", "stats.peer_number", "peers"),
        per_host("hostflow-ports", "hostflow: distinct destination ports per host", "max",
                 "stats.dport_count", "ports"),
        visualization("hostflow-tcp-flags", "hostflow: TCP flags (flows with each flag)", STATS, "histogram",
                      [metric(str(i + 1), "sum", f"stats.tcp_flags.{f}", f)
                       for i, f in enumerate(("SYN", "ACK", "FIN", "RST", "PSH", "URG"))] + [over_time("9")],
                      dict(line_params("flows", "histogram", "stacked"),
                           seriesParams=[{"show": True, "type": "histogram", "mode": "stacked",
                                          "data": {"id": str(i + 1), "label": f}, "valueAxis": "ValueAxis-1"}
                                         for i, f in enumerate(("SYN", "ACK", "FIN", "RST", "PSH", "URG"))])),
        visualization("hostflow-top-hosts", "hostflow: top hosts by bytes", STATS, "table",
                      [metric("1", "sum", "stats.total.bytes", "bytes"),
                       metric("2", "sum", "stats.total.flow", "flows"),
                       metric("3", "sum", "stats.total.packets", "packets"),
                       metric("4", "max", "stats.peer_number", "peers (max)"),
                       metric("5", "max", "stats.dport_count", "ports (max)"),
                       split_by("6", "src_ip", 20, "1", schema="bucket")],
                      {"perPage": 20, "showPartialRows": False, "showMetricsAtAllLevels": False,
                       "sort": {"columnIndex": None, "direction": None}, "showTotal": False,
                       "totalFunc": "sum", "percentageCol": ""}),
        visualization("hostflow-alerts-over-time", "hostflow: alerts over time by rule", ALERTS, "histogram",
                      [metric("1", "count"), over_time("2"), split_by("3", "rule", 10, "1")],
                      line_params("alerts", "histogram", "stacked")),
        visualization("hostflow-alerts-by-host", "hostflow: alerts by host and rule", ALERTS, "table",
                      [metric("1", "count", label="alerts"), metric("2", "max", "score", "score (max)"),
                       split_by("3", "src_ip", 20, "1", schema="bucket"),
                       split_by("4", "rule", 10, "1", schema="bucket")],
                      {"perPage": 20, "showPartialRows": False, "showMetricsAtAllLevels": False,
                       "sort": {"columnIndex": None, "direction": None}, "showTotal": False,
                       "totalFunc": "sum", "percentageCol": ""}),
    ]
    vis[0]["references"] = [{"name": "control_0_index_pattern", "type": "index-pattern", "id": STATS},
                            {"name": "control_1_index_pattern", "type": "index-pattern", "id": STATS}]
    vis[0]["attributes"]["kibanaSavedObjectMeta"] = search_source(index=False)
    out += vis
    out.append({"id": "hostflow-alerts", "type": "search", "migrationVersion": {"search": "7.9.3"},
                "references": [{"name": "kibanaSavedObjectMeta.searchSourceJSON.index",
                                "type": "index-pattern", "id": ALERTS}],
                "attributes": {"title": "hostflow: alerts", "description": "", "hits": 0, "version": 1,
                               "columns": ["src_ip", "rule", "observed", "expected", "score"],
                               "sort": [["@timestamp", "desc"]],
                               "kibanaSavedObjectMeta": search_source()}})
    # the dashboard: 48 columns wide
    layout = [("hostflow-controls", 0, 0, 48, 6, "visualization"),
              ("hostflow-top-hosts", 0, 6, 24, 15, "visualization"),
              ("hostflow-bytes", 24, 6, 24, 15, "visualization"),
              ("hostflow-flows", 0, 21, 24, 13, "visualization"),
              ("hostflow-packets", 24, 21, 24, 13, "visualization"),
              ("hostflow-duration", 0, 34, 24, 13, "visualization"),
              ("hostflow-peers", 24, 34, 24, 13, "visualization"),
              ("hostflow-ports", 0, 47, 24, 13, "visualization"),
              ("hostflow-tcp-flags", 24, 47, 24, 13, "visualization"),
              ("hostflow-alerts-over-time", 0, 60, 24, 13, "visualization"),
              ("hostflow-alerts-by-host", 24, 60, 24, 13, "visualization"),
              ("hostflow-alerts", 0, 73, 48, 15, "search")]
    panels, refs = [], []
    for i, (oid, x, y, w, h, typ) in enumerate(layout):
        panels.append({"version": "2.19.0", "gridData": {"x": x, "y": y, "w": w, "h": h, "i": str(i + 1)},
                       "panelIndex": str(i + 1), "embeddableConfig": {}, "panelRefName": f"panel_{i}"})
        refs.append({"name": f"panel_{i}", "type": typ, "id": oid})
    out.append({"id": "hostflow-hosts", "type": "dashboard", "migrationVersion": {"dashboard": "7.9.3"},
                "references": refs,
                "attributes": {"title": "hostflow: hosts", "version": 1, "timeRestore": False,
                               "description": "Jirsik's host statistics per host and window (hostflow), "
                                              "top hosts and alerts. Pick one granularity (the query) and "
                                              "hosts (the control).",
                               "panelsJSON": dumps(panels),
                               "optionsJSON": dumps({"hidePanelTitles": False, "useMargins": True}),
                               "kibanaSavedObjectMeta": search_source("window.granularity_s:60", index=False)}})
    return out


if __name__ == "__main__":
    for o in objects():
        print(dumps(o))
