#!/usr/bin/env python3
"""os_check.py -- read back what the OpenSearch output stored, and compare it
with the records of a file run (tests/integration/test_opensearch.sh).

  os_check.py dump URL INDICES OUT          every document (scroll), one JSON line each:
                                            {"index": ..., "id": ..., "source": {...}}
  os_check.py compare RECORDS DUMP [PATTERN]
        every record of RECORDS (hostflow run -o FILE) is there exactly once, under
        _id = its id, in the index its type and day give (PATTERN, default
        hostflow-%{type}-%Y.%m.%d), with a _source equal to it field by field;
        no other document
  os_check.py mapping URL INDEX             the field types of INDEX, as "path type" lines
  os_check.py count URL INDICES             the number of documents (after a refresh)

Only the Python standard library; URL may carry user:password@, and
OS_CHECK_CA names the PEM of the CAs to trust for https://.
"""
import base64
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


CTX = ssl.create_default_context(cafile=os.environ["OS_CHECK_CA"]) if os.environ.get("OS_CHECK_CA") else None


def request(url, method="GET", body=None, ctx=CTX):
    parts = urllib.parse.urlsplit(url)
    headers = {"Content-Type": "application/json"}
    if parts.username:
        cred = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        url = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=120, context=ctx) as r:
        return json.loads(r.read() or b"null")


def dump(base, indices, out):
    base = base.rstrip("/")
    request(f"{base}/{indices}/_refresh", "POST")
    n = 0
    with open(out, "w") as f:
        r = request(f"{base}/{indices}/_search?scroll=2m&size=5000", "POST",
                    {"sort": ["_doc"], "query": {"match_all": {}}})
        while r["hits"]["hits"]:
            for h in r["hits"]["hits"]:
                f.write(json.dumps({"index": h["_index"], "id": h["_id"], "source": h["_source"]}) + "\n")
                n += 1
            r = request(f"{base}/_search/scroll", "POST", {"scroll": "2m", "scroll_id": r["_scroll_id"]})
        request(f"{base}/_search/scroll", "DELETE", {"scroll_id": [r["_scroll_id"]]})
    print(f"{n} documents")


def index_name(pattern, rec):
    # the record's time: @timestamp, which is the time in its id (a window's
    # start; an alert's first window, which its updates keep; a profile's
    # period), so an alert's updates replace it in the same index
    t = time.strptime(rec["@timestamp"][:19], "%Y-%m-%dT%H:%M:%S") if "@timestamp" in rec else \
        time.gmtime(int(rec["window"]["start_ms"]) // 1000)
    name = pattern.replace("%{type}", rec["@type"])
    for code in "YmdHGV":
        name = name.replace("%" + code, time.strftime("%" + code, t))
    return name.replace("%%", "%")


def compare(records, dumpfile, pattern="hostflow-%{type}-%Y.%m.%d"):
    want = {}
    for line in open(records):
        r = json.loads(line)
        want[r["id"]] = r
    got, dup, wrong_index = {}, [], []
    for line in open(dumpfile):
        d = json.loads(line)
        if d["id"] in got:
            dup.append(d["id"])
        got[d["id"]] = d["source"]
        if d["id"] in want and d["index"] != index_name(pattern, want[d["id"]]):
            wrong_index.append((d["id"], d["index"]))
    missing = [i for i in want if i not in got]
    extra = [i for i in got if i not in want]
    differ = [i for i in want if i in got and got[i] != want[i]]
    print(f"{len(want)} records, {len(got)} documents: missing {len(missing)}, extra {len(extra)}, "
          f"twice {len(dup)}, different {len(differ)}, in the wrong index {len(wrong_index)}")
    for i in (missing + extra + dup + differ)[:5]:
        print("  ", i, json.dumps(want.get(i))[:200], json.dumps(got.get(i))[:200])
    for i, ix in wrong_index[:5]:
        print("  ", i, "in", ix)
    return 1 if missing or extra or dup or differ or wrong_index else 0


def mapping(base, index):
    m = request(f"{base.rstrip('/')}/{index}/_mapping")
    out = []

    def walk(prefix, props):
        for k, v in sorted(props.items()):
            p = f"{prefix}.{k}" if prefix else k
            if "properties" in v:
                walk(p, v["properties"])
            else:
                out.append(f"{p} {v.get('type', 'object')}")
    for ix in m.values():
        walk("", ix["mappings"].get("properties", {}))
    print("\n".join(out))


def count(base, indices):
    base = base.rstrip("/")
    request(f"{base}/{indices}/_refresh", "POST")
    print(request(f"{base}/{indices}/_count")["count"])


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    try:
        if cmd == "dump":
            dump(*args)
        elif cmd == "compare":
            sys.exit(compare(*args))
        elif cmd == "mapping":
            mapping(*args)
        elif cmd == "count":
            count(*args)
        else:
            sys.exit(__doc__)
    except urllib.error.HTTPError as e:
        sys.exit(f"os_check.py: {e.code} {e.read().decode(errors='replace')[:2000]}")
