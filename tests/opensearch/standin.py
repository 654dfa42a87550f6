#!/usr/bin/env python3
"""standin.py -- a stand-in for a search server, for the one case the real
OpenSearch cannot be made to produce on demand: bulk items refused for now
(429 es_rejected_execution_exception) while the rest of the request is
stored.  Everything else in the OpenSearch output's tests runs against the
real server (tests/opensearch/server.sh).

  standin.py PORT LOG

Answers GET / like OpenSearch 2.19, acknowledges any PUT (the index
template), and answers POST /_bulk item by item: an item whose _id starts
with "retry-twice/" is refused with 429 the first two times it is seen, one
starting with "retry-always/" every time, any other is stored (201).  Each
bulk request is logged as one line: the number of items, then their _ids.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

seen = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_GET(self):
        self.answer(200, {"name": "standin", "version": {"distribution": "opensearch", "number": "2.19.6"},
                          "tagline": "The OpenSearch Project: https://opensearch.org/"})

    def do_PUT(self):
        self.body()
        self.answer(200, {"acknowledged": True})

    def do_POST(self):
        lines = self.body().decode().splitlines()
        items, ids = [], []
        for action in lines[0::2]:
            _id = json.loads(action)["index"]["_id"]
            ids.append(_id)
            seen[_id] = seen.get(_id, 0) + 1
            refuse = (_id.startswith("retry-twice/") and seen[_id] <= 2) or _id.startswith("retry-always/")
            if refuse:
                items.append({"index": {"_id": _id, "status": 429, "error": {
                    "type": "es_rejected_execution_exception",
                    "reason": "rejected execution of coordinating operation"}}})
            else:
                items.append({"index": {"_id": _id, "status": 201}})
        with open(sys.argv[2], "a") as log:
            log.write(f"{len(ids)} {' '.join(ids)}\n")
        self.answer(200, {"errors": any(i["index"]["status"] != 201 for i in items), "items": items})

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
