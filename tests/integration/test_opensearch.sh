#!/bin/bash
# test_opensearch.sh -- the OpenSearch output against a real OpenSearch 2.19
# (tests/opensearch/server.sh, started here with http.max_content_length=1mb
# and stopped at the end), driven through its plugin table by
# build/tools/output_feed with the records of a `hostflow run -o FILE`:
#   1. every record lands once, under _id = its id, in the index of its type
#      and day (the flows cross midnight), with a _source equal to the file's,
#      and the template's field types
#   2. the same records again (gzipped, more threads): no duplicate document
#   3. alerts and profiles land in their own indices with their types, and
#      the dashboard export (contrib/opensearch) is checked against them:
#      tests/integration/dashboards_check.py
#   4. a batch with a mapping conflict and field names the mapping refuses:
#      those records go to the dead-letter file with the server's reason,
#      the rest of the batch is stored
#   5. a record too large for http.max_content_length is dead-lettered with
#      that reason; bulk requests larger than it are split and all land
#   6. a URL that is not a search server, a path that is no node, a node
#      that is down (failover to the next), nobody listening at all
#   7. OpenSearch SIGKILLed mid-run and restarted 20 s later: writes wait
#      (back-pressure), flush() says pending meanwhile, memory stays within
#      the queue, and afterwards every record is there, once
#   8. `hostflow run -o opensearch:URL -o FILE`: the documents equal the file
#      output of the same run; run again, no duplicate; the server SIGKILLed
#      during a run and back 20 s later: everything arrives once
#   9. an item refused for now (429) is sent again alone and then stored; one
#      refused every time goes to the dead letters after max_retries -- the
#      one case the real server cannot be made to produce on demand, so a
#      stand-in HTTP server answers the bulk requests (tests/opensearch/standin.py)
#  10. an alert's updates sent newest first: the stored document is the
#      newest (each copy versioned by its window's end), the older copies
#      are settled (409), not dead letters
. "$(dirname "$0")/assert.sh"

if ! command -v java >/dev/null 2>&1; then echo "skipped: java not found"; exit 77; fi
SERVER=$ROOT/tests/opensearch/server.sh
FEED=$ROOT/build/tools/output_feed
OSCHK=(python3 "$ROOT/tests/integration/os_check.py")
export OPENSEARCH_STATE_DIR=$WORK/os OPENSEARCH_OWNER_PID=$$
STANDIN_PID=
cleanup() {
    [ -n "$STANDIN_PID" ] && kill "$STANDIN_PID" 2>/dev/null
    [ -n "${HTTP_PID:-}" ] && kill "$HTTP_PID" 2>/dev/null
    "$SERVER" stop >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
env=$("$SERVER" start http.max_content_length=1mb 2>"$WORK/server.err") \
    || { cat "$WORK/server.err"; echo "the server did not start"; exit 1; }
eval "$env"
URL=$OPENSEARCH_URL

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
stat_of() { json_get "$1" "d$2"; }   # stat_of FILE '["written"]'

# 60,000 flows over 10 minutes that cross midnight (UTC) -> two days of indices
"$FLOWGEN" --seed 9 --flows 60000 --hosts 800 --rate 100 --late 0 --malformed 0 \
    --start-ms 1795737480000 >"$WORK/flows.ndjson"
"$HOSTFLOW" run -q -i "$WORK/flows.ndjson" -o "$WORK/recs.ndjson"
nrecs=$(wc -l <"$WORK/recs.ndjson")
# documents: one per id (an alert's updates share its id and replace it)
ids() { python3 -c 'import json, sys; print(len({json.loads(l)["id"] for l in open(sys.argv[1])}))' "$1"; }
nids=$(ids "$WORK/recs.ndjson")
COMMON=(-s opensearch.replicas=0 -s opensearch.batch_size=512KiB)

# ---- 1. records land, equal to the file output ------------------------------
"$FEED" "${COMMON[@]}" -s opensearch.dead_letter="$WORK/dl1.ndjson" "opensearch:$URL" \
    "$WORK/recs.ndjson" >"$WORK/s1.json" 2>"$WORK/s1.err"
status=$?
[ $status -eq 0 ] || { cat "$WORK/s1.err" "$WORK/s1.json"; }
check "every record is written and acknowledged (flush and close say 0)" [ $status -eq 0 ]
check "the counters say all $nrecs written, none pending or dead-lettered" \
    [ "$(stat_of "$WORK/s1.json" '["written"], d["pending"], d["dead_letters"]')" = "$nrecs 0 0" ]
check "the server is named at start" grep -q "OpenSearch $OPENSEARCH_VERSION, index template hostflow" "$WORK/s1.err"
"${OSCHK[@]}" dump "$URL" 'hostflow-*' "$WORK/dump1.ndjson" >/dev/null
same_as_file() { "${OSCHK[@]}" compare "$WORK/recs.ndjson" "$1"; }
check "documents queried back equal the file's records: _id, index by type and day, every field" \
    same_as_file "$WORK/dump1.ndjson"
check "two days of host_stats indices (the flows cross midnight)" \
    sh -c "curl -s '$URL/_cat/indices/hostflow-host_stats-*?h=index' | sort | tr '\n' ' ' | \
           grep -qx 'hostflow-host_stats-2026.11.26 hostflow-host_stats-2026.11.27 '"
"${OSCHK[@]}" mapping "$URL" hostflow-host_stats-2026.11.26 >"$WORK/mapping.txt"
mapped() { grep -qx "$1 $2" "$WORK/mapping.txt" || { echo "  $1: $(grep "^$1 " "$WORK/mapping.txt")"; return 1; }; }
check "src_ip is mapped ip, @timestamp date, window.* date/long" \
    sh -c "$(declare -f mapped); WORK='$WORK'; mapped src_ip ip && mapped @timestamp date && \
           mapped window.start_ms date && mapped window.end_ms date && mapped window.granularity_s long"
check "counters are long, averages double, id and @type keyword" \
    sh -c "$(declare -f mapped); WORK='$WORK'; mapped stats.total.bytes long && mapped stats.peer_number long && \
           mapped stats.tcp_flags.SYN long && mapped stats.avg_flow_duration double && mapped id keyword && \
           mapped @type keyword"
check "the index template is installed" sh -c "curl -sf '$URL/_index_template/hostflow' | grep -q 'hostflow-\*-\*\.\*\.\*'"
check "the counters report bulk requests and their latency" \
    sh -c "[ \"\$(python3 -c 'import json,sys; f=json.load(open(sys.argv[1]))[\"figures\"]; \
print(f[\"bulk_requests\"] > 0 and f[\"bulk_latency_ms_max\"] > 0)' '$WORK/s1.json')\" = True ]"

# ---- 2. replay: no duplicates ------------------------------------------------
"$FEED" "${COMMON[@]}" -t 3 -b 137 -s opensearch.gzip=true "opensearch:$URL" \
    "$WORK/recs.ndjson" >"$WORK/s2.json" 2>"$WORK/s2.err"
check "the same records again, gzipped, from three threads: all acknowledged" [ $? -eq 0 ]
check "no duplicate document: still one per record id" \
    [ "$("${OSCHK[@]}" count "$URL" 'hostflow-*')" = "$nids" ]
check "gzip: fewer bytes sent than the records hold" \
    python3 -c "import json,os,sys; d=json.load(open(sys.argv[1])); sys.exit(d['figures']['bytes_sent'] * 4 > os.path.getsize(sys.argv[2]))" \
    "$WORK/s2.json" "$WORK/recs.ndjson"

# ---- 3. alerts and profiles ----------------------------------------------------
cat >"$WORK/alerts.ndjson" <<'EOF'
{"@type":"host_alert","@timestamp":"2026-11-26T14:00:00.000Z","id":"192.0.2.10/port_scan_vertical/1795701600000","src_ip":"192.0.2.10","rule":"port_scan_vertical","window":{"start_ms":1795701600000,"end_ms":1795701660000,"granularity_s":60},"observed":1000,"expected":20,"score":50.0,"details":{"dst_ip":"198.51.100.7","targets":1000,"flows_increment":980}}
{"@type":"host_alert","@timestamp":"2026-11-26T14:01:00.000Z","id":"2001:db8::7/peers_increase/1795701660000","src_ip":"2001:db8::7","rule":"peers_increase","window":{"start_ms":1795701660000,"end_ms":1795701720000,"granularity_s":60},"observed":12.5,"expected":3,"score":4.2,"details":{"targets":12}}
{"@type":"host_profile","@timestamp":"2026-11-26T14:05:00.000Z","id":"192.0.2.10/profile/1795701900000","src_ip":"192.0.2.10","profile":{"flows_mean":12.5,"peers_mean":3}}
EOF
"$FEED" "${COMMON[@]}" "opensearch:$URL" "$WORK/alerts.ndjson" >"$WORK/s3.json" 2>"$WORK/s3.err"
check "alerts and profiles are acknowledged" [ $? -eq 0 ]
curl -s -XPOST "$URL/hostflow-*/_refresh" >/dev/null
check "they land in hostflow-host_alert-<day> and hostflow-host_profile-<day>" \
    sh -c "[ \$(curl -s '$URL/hostflow-host_alert-2026.11.26/_count?q=rule:port_scan_vertical' | grep -o '\"count\":[0-9]*') = '\"count\":1' ] && \
           [ \$(curl -s '$URL/hostflow-host_profile-2026.11.26/_count?q=src_ip:192.0.2.10' | grep -o '\"count\":[0-9]*') = '\"count\":1' ]"
"${OSCHK[@]}" mapping "$URL" hostflow-host_alert-2026.11.26 >"$WORK/mapping.txt"
check "an alert's rule is keyword, score and observed double, details.dst_ip ip" \
    sh -c "$(declare -f mapped); WORK='$WORK'; mapped rule keyword && mapped score double && \
           mapped observed double && mapped details.dst_ip ip && mapped src_ip ip"
# the made-up alert of 2001:db8::7, and the run's own alerts of hosts in that range
in_range=$(python3 -c 'import ipaddress, json, sys
net = ipaddress.ip_network("2001:db8::/32")
print(1 + len({r["id"] for r in map(json.loads, open(sys.argv[1]))
               if r["@type"] == "host_alert" and ipaddress.ip_address(r["src_ip"]) in net}))' "$WORK/recs.ndjson")
check "alerts are found by address range (src_ip is an ip): $in_range in 2001:db8::/32" \
    sh -c "curl -s -H 'Content-Type: application/json' '$URL/hostflow-host_alert-*/_count' \
           -d '{\"query\":{\"term\":{\"src_ip\":\"2001:db8::/32\"}}}' | grep -q '\"count\":$in_range[,}]'"

# ---- 3a. the dashboard export, against these records -------------------------
check "contrib/opensearch/hostflow-dashboards.ndjson is what dashboards.py makes" \
    sh -c "python3 '$ROOT/contrib/opensearch/dashboards.py' | cmp -s - '$ROOT/contrib/opensearch/hostflow-dashboards.ndjson'"
python3 "$ROOT/tests/integration/dashboards_check.py" "$URL" "$ROOT/contrib/opensearch/hostflow-dashboards.ndjson" \
    "$WORK/recs.ndjson" "$WORK/alerts.ndjson" >"$WORK/dashboards.txt" 2>&1
status=$?
sed 's/^/   /' "$WORK/dashboards.txt"
check "the dashboard export: valid saved objects, its index patterns and fields in the template, every visualisation's query answered with the run's records" \
    [ $status -eq 0 ]

# ---- 4. mapping conflict and refused field names: dead letters --------------
python3 - "$WORK/recs.ndjson" "$WORK/conflict.ndjson" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])][:100]
out = []
for i, r in enumerate(recs):
    r["id"] = r["id"] + "/conflict"
    if i == 10: r["stats"]["peer_number"] = "many"            # long in the mapping
    if i == 40: r["_id"] = "smuggled"                           # a metadata field
    if i == 70: r["stats"]["total"] = 5                         # an object in the mapping
    out.append(json.dumps(r, separators=(",", ":")))
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
"$FEED" "${COMMON[@]}" -t 1 -b 1000 -s opensearch.dead_letter="$WORK/dl4.ndjson" "opensearch:$URL" \
    "$WORK/conflict.ndjson" >"$WORK/s4.json" 2>"$WORK/s4.err"
check "a batch with three refused records is settled (flush says 0)" [ $? -eq 0 ]
check "3 dead letters, the other 97 records of the batch written" \
    [ "$(stat_of "$WORK/s4.json" '["dead_letters"], d["written"]')" = "3 97" ]
curl -s -XPOST "$URL/hostflow-*/_refresh" >/dev/null
check "the 97 are stored" \
    [ "$(curl -s -H 'Content-Type: application/json' "$URL/hostflow-*/_count" \
         -d '{"query":{"wildcard":{"id":"*/conflict"}}}' | grep -o '"count":[0-9]*')" = '"count":97' ]
dl_has() {  # dl_has FILE ID TEXT: the dead letter of ID carries TEXT in its reason, and the record
    python3 - "$@" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d["id"] == sys.argv[2]:
        ok = sys.argv[3] in d["reason"] and d["record"]["id"] == sys.argv[2] and d["status"] == 400
        if not ok: print("  ", d["reason"][:300])
        sys.exit(0 if ok else 1)
print("   no dead letter for", sys.argv[2]); sys.exit(1)
PY
}
id_at() { python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readlines()[int(sys.argv[2])])['id'])" "$WORK/conflict.ndjson" "$1"; }
check "the mapping conflict is dead-lettered with the server's reason" \
    dl_has "$WORK/dl4.ndjson" "$(id_at 10)" "mapper_parsing_exception: failed to parse field [stats.peer_number] of type [long]"
check "so is the metadata field name the mapping refuses" \
    dl_has "$WORK/dl4.ndjson" "$(id_at 40)" "Field [_id] is a metadata field and cannot be added inside a document"
check "and the concrete value where the mapping has an object" \
    dl_has "$WORK/dl4.ndjson" "$(id_at 70)" "object mapping for [stats.total]"
check "the log names each refused record and the server's reason, whole" \
    grep -q "record $(id_at 10) refused by the server for index hostflow-host_stats-2026.11.2[67] (400): mapper_parsing_exception: .*(caused by illegal_argument_exception: For input string: \"many\"); kept in the dead letters" "$WORK/s4.err"

# ---- 5. too large for http.max_content_length -------------------------------
python3 - "$WORK/recs.ndjson" "$WORK/large.ndjson" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])][200:211]
for r in recs: r["id"] += "/large"
recs[5]["details"] = {"note": "x" * 1500000}                    # 1.5 MB, over 1mb
open(sys.argv[2], "w").write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in recs))
PY
"$FEED" "${COMMON[@]}" -t 1 -s opensearch.dead_letter="$WORK/dl5.ndjson" "opensearch:$URL" \
    "$WORK/large.ndjson" >"$WORK/s5.json" 2>"$WORK/s5.err"
check "a record over http.max_content_length: settled, 1 dead letter, 10 written" \
    [ "$(stat_of "$WORK/s5.json" '["dead_letters"], d["written"], d["flush"]')" = "1 10 0" ]
large_reason() {
    python3 -c "import json,sys; d=json.loads(open(sys.argv[1]).readline()); r=d['reason']; \
print(r[:200]); sys.exit(not ('413' in r and 'http.max_content_length' in r and d['status'] == 413 and len(d['record']['details']['note']) == 1500000))" "$WORK/dl5.ndjson"
}
check "its dead letter says why (413, http.max_content_length) and keeps the record whole" large_reason
"$FEED" "${COMMON[@]}" -s opensearch.batch_size=4MiB -s opensearch.dead_letter="$WORK/dl5b.ndjson" \
    "opensearch:$URL" "$WORK/recs.ndjson" >"$WORK/s5b.json" 2>"$WORK/s5b.err"
check "bulk requests of 4MiB against a 1mb limit are split, and every record lands" \
    [ "$(stat_of "$WORK/s5b.json" '["written"], d["dead_letters"], d["flush"]')" = "$nrecs 0 0" ]

# ---- 6. wrong URLs -----------------------------------------------------------
port=$(free_port)
mkdir -p "$WORK/www" && echo '<html><body>a web page</body></html>' >"$WORK/www/index.html"
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$WORK/www" >/dev/null 2>&1 &
HTTP_PID=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
"$FEED" "opensearch:http://127.0.0.1:$port" "$WORK/alerts.ndjson" >/dev/null 2>"$WORK/s6a.err"
check "a URL that is not a search server stops at open (exit 2)" [ $? -eq 2 ]
check "... saying so, with what it answered" \
    grep -q "127.0.0.1:$port: not a search server: GET / answered 200 without a version number .*a web page" "$WORK/s6a.err"
"$FEED" "opensearch:$URL/nothing" "$WORK/alerts.ndjson" >/dev/null 2>"$WORK/s6b.err"
check "a path below the node that is no node: the server's words and a hint" \
    grep -q "GET /: 404 index_not_found_exception: no such index \[nothing\]; is this URL a search server" "$WORK/s6b.err"
dead=$(free_port)
"$FEED" "${COMMON[@]}" -s opensearch.connect_timeout=500ms "opensearch:http://127.0.0.1:$dead,$URL" \
    "$WORK/recs.ndjson" >"$WORK/s6c.json" 2>"$WORK/s6c.err"
check "a node down and the next one up: every record lands through the next" \
    [ "$(stat_of "$WORK/s6c.json" '["written"], d["flush"]')" = "$nrecs 0" ]
"$FEED" -s opensearch.close_timeout=1s -s opensearch.connect_timeout=200ms -w 2000 \
    "opensearch:http://127.0.0.1:$dead" "$WORK/alerts.ndjson" >"$WORK/s6d.json" 2>"$WORK/s6d.err"
check "nobody listening: not an error at start; flush says pending, close counts them lost (exit 1)" \
    [ "$?,$(stat_of "$WORK/s6d.json" '["flush"], d["pending"], d["state"]')" = "1,1 3 down" ]
check "... and the log says the records wait, naming the cause" \
    grep -q "127.0.0.1:$dead: asking which server this is: .*(Connection refused); records wait" "$WORK/s6d.err"

# ---- 7. the server SIGKILLed mid-run, back 20 s later -------------------------
OUT7=(-s opensearch.index=outage-%{type}-%Y.%m.%d -s opensearch.template_name=outage
      -s opensearch.queue_size=1MiB -s opensearch.batch_count=500 -s opensearch.retry_backoff_max=2s)
"$FEED" "${COMMON[@]}" "${OUT7[@]}" -t 2 -b 100 -p 100 -f 5 -r 3 -w 180000 "opensearch:$URL" \
    "$WORK/recs.ndjson" >"$WORK/s7.json" 2>"$WORK/s7.err" &
feed=$!
sleep 4
"$SERVER" stop --keep-data --kill 2>/dev/null
check "the server is down (SIGKILL)" sh -c "! curl -s -m 2 -o /dev/null '$URL/'"
sleep 20
check "the writer is still running while the server is down" kill -0 $feed
"$SERVER" start >/dev/null 2>"$WORK/restart.err" || cat "$WORK/restart.err"
wait $feed
status=$?
[ $status -eq 0 ] || tail -n 20 "$WORK/s7.err"
check "after the restart every record is acknowledged (flush and close say 0)" [ $status -eq 0 ]
"${OSCHK[@]}" dump "$URL" 'outage-*' "$WORK/dump7.ndjson" >/dev/null
check "every record is there, once, equal to the file's" \
    "${OSCHK[@]}" compare "$WORK/recs.ndjson" "$WORK/dump7.ndjson" 'outage-%{type}-%Y.%m.%d'
check "writes waited for the server (back-pressure): writing took longer than the outage" \
    python3 -c "import json,sys; sys.exit(json.load(open(sys.argv[1]))['write_s'] < 18)" "$WORK/s7.json"
check "flush() said pending while the server was down" \
    python3 -c "import json,sys; sys.exit(json.load(open(sys.argv[1]))['intermediate_flushes_pending'] < 1)" "$WORK/s7.json"
check "records were sent again (counted as retried)" \
    python3 -c "import json,sys; sys.exit(json.load(open(sys.argv[1]))['retried'] < 1)" "$WORK/s7.json"
check "memory stayed bounded: peak resident set at most 12 MiB over the start (queue_size 1MiB, $((3 * nrecs)) records written)" \
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('   grew', (d['max_rss_kib'] - d['rss_before_writes_kib']) // 1024, 'MiB'); \
sys.exit(d['max_rss_kib'] - d['rss_before_writes_kib'] > 12 * 1024)" "$WORK/s7.json"
check "the log says the records wait, once the server is back that it answers again" \
    sh -c "grep -q 'records wait and are sent again (nothing is dropped)' '$WORK/s7.err' && grep -q 'answers again' '$WORK/s7.err'"

# ---- 8. hostflow run -o opensearch:URL -o FILE -------------------------------
cat >"$WORK/run.lua" <<'EOF'
return { opensearch = { replicas = 0, index = "run-%{type}-%Y.%m.%d", template_name = "run",
                        batch_size = "512KiB", queue_size = "2MiB", retry_backoff_max = "2s",
                        close_timeout = "120s" } }
EOF
"$HOSTFLOW" run -q -c "$WORK/run.lua" -i "$WORK/flows.ndjson" -o "opensearch:$URL" -o "$WORK/run-file.ndjson" \
    --stats "$WORK/run1.json" 2>"$WORK/run1.err"
check "hostflow run to OpenSearch and a file at once exits 0" [ $? -eq 0 ]
"${OSCHK[@]}" dump "$URL" 'run-*' "$WORK/dump9.ndjson" >/dev/null
check "the documents equal the file output of the same run" \
    "${OSCHK[@]}" compare "$WORK/run-file.ndjson" "$WORK/dump9.ndjson" 'run-%{type}-%Y.%m.%d'
check "its --stats count them written by both outputs, with the bulk figures" \
    python3 -c "import json,sys; o=json.load(open(sys.argv[1]))['outputs']; n=sum(1 for _ in open(sys.argv[2])); \
sys.exit(not (o[0]['written'] == o[1]['written'] == n and o[0]['bulk_requests'] > 0))" "$WORK/run1.json" "$WORK/run-file.ndjson"
"$HOSTFLOW" run -q -c "$WORK/run.lua" -i "$WORK/flows.ndjson" -o "opensearch:$URL" 2>/dev/null
check "the same input again: no duplicate document" \
    [ "$("${OSCHK[@]}" count "$URL" 'run-*')" = "$(ids "$WORK/run-file.ndjson")" ]
# the server SIGKILLed while hostflow runs on a slow input, back 20 s later
curl -s -XDELETE "$URL/run-*" >/dev/null
awk '{ print; fflush(); if (NR % 4000 == 0) system("sleep 1") }' "$WORK/flows.ndjson" \
    | "$HOSTFLOW" run -c "$WORK/run.lua" -i - -o "opensearch:$URL" --stats "$WORK/run2.json" 2>"$WORK/run2.err" &
sleep 1
hf_pid=$(pgrep -n -f "run -c $WORK/run.lua -i -")
sleep 4
"$SERVER" stop --keep-data --kill 2>/dev/null
check "the server is down (SIGKILL)" sh -c "! curl -s -m 2 -o /dev/null '$URL/'"
rss_max=0
for _ in $(seq 20); do
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$hf_pid/status" 2>/dev/null)
    [ "${rss:-0}" -gt "$rss_max" ] && rss_max=$rss
    sleep 1
done
check "hostflow keeps running while the server is down" kill -0 "$hf_pid"
"$SERVER" start >/dev/null 2>"$WORK/restart2.err" || cat "$WORK/restart2.err"
wait $!
check "once the server is back, hostflow finishes and exits 0" [ $? -eq 0 ]
"${OSCHK[@]}" dump "$URL" 'run-*' "$WORK/dump9b.ndjson" >/dev/null
check "every record of the run is there, once, equal to the file run's" \
    "${OSCHK[@]}" compare "$WORK/run-file.ndjson" "$WORK/dump9b.ndjson" 'run-%{type}-%Y.%m.%d'
echo "   hostflow's resident set during the outage: at most $((rss_max / 1024)) MiB"
check "its memory stayed bounded during the outage (resident set under 256 MiB)" [ "$rss_max" -lt 262144 ]
check "it said so: the records wait, then the server answers again" \
    sh -c "grep -q 'records wait and are sent again' '$WORK/run2.err' && grep -q 'answers again' '$WORK/run2.err'"

# ---- 9. items refused for now: a stand-in server answers 429 for some ----------
sport=$(free_port)
python3 "$ROOT/tests/opensearch/standin.py" "$sport" "$WORK/standin.log" >/dev/null 2>&1 &
STANDIN_PID=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$sport/" && break; sleep 0.1; done
python3 - "$WORK/recs.ndjson" "$WORK/retry.ndjson" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])][:50]
recs[7]["id"] = "retry-twice/" + recs[7]["id"]        # 429 twice, then stored
recs[30]["id"] = "retry-always/" + recs[30]["id"]     # 429 every time
open(sys.argv[2], "w").write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in recs))
PY
"$FEED" -t 1 -b 50 -s opensearch.max_retries=3 -s opensearch.retry_backoff=50ms \
    -s opensearch.dead_letter="$WORK/dl8.ndjson" "opensearch:http://127.0.0.1:$sport" \
    "$WORK/retry.ndjson" >"$WORK/s8.json" 2>"$WORK/s8.err"
check "items refused for now: settled (flush 0), 49 written, 1 dead letter, 5 sends again" \
    [ "$(stat_of "$WORK/s8.json" '["flush"], d["written"], d["dead_letters"], d["retried"]')" = "0 49 1 5" ]
check "the first request carried all 50; each retry carried only the refused item(s)" \
    python3 -c "import sys; n=[l.split()[0] for l in open(sys.argv[1])]; print('   items per request:', ' '.join(n)); sys.exit(n[0] != '50' or any(int(x) > 2 for x in n[1:]))" "$WORK/standin.log"
check "the one refused every time is dead-lettered after max_retries, with the server's reason" \
    sh -c "grep -q '\"reason\":\"refused for now 4 times, last: es_rejected_execution_exception: rejected execution of coordinating operation' '$WORK/dl8.ndjson' && grep -q 'retry-always/' '$WORK/dl8.ndjson'"
# ---- 10. an alert's updates in any order: the newest stays --------------------
python3 - "$WORK/updates.ndjson" <<'PY'
import json, sys
T = 1795701600000
with open(sys.argv[1], "w") as f:
    for u in (2, 0, 1):   # the newest first, as a replay or a second writer may send them
        r = {"@type": "host_alert", "@timestamp": "2026-11-26T14:00:00.000Z",
             "id": "192.0.2.20/port_scan_vertical/%d" % T, "src_ip": "192.0.2.20",
             "rule": "port_scan_vertical",
             "window": {"start_ms": T + u * 60000, "end_ms": T + (u + 1) * 60000, "granularity_s": 60},
             "observed": 100 * (u + 1), "expected": 20, "score": 5.0, "details": {}}
        if u: r["update"], r["increment"] = u, 100
        f.write(json.dumps(r, separators=(",", ":")) + "\n")
PY
"$FEED" "${COMMON[@]}" -t 1 -b 1 -s opensearch.dead_letter="$WORK/dl3a.ndjson" "opensearch:$URL" \
    "$WORK/updates.ndjson" >"$WORK/s3a.json" 2>"$WORK/s3a.err"
check "an alert's updates sent newest first, one a request: all settled" [ $? -eq 0 ]
check "... the older copies are not dead letters (409: the newer stays)" \
    [ "$(stat_of "$WORK/s3a.json" '["dead_letters"], d["written"]')" = "0 3" ]
curl -s -XPOST "$URL/hostflow-host_alert-*/_refresh" >/dev/null
check "... the stored document is the newest update (versioned by its window's end)" \
    sh -c "curl -s '$URL/hostflow-host_alert-2026.11.26/_doc/192.0.2.20%2Fport_scan_vertical%2F1795701600000' \
           | grep -q '\"update\":2,'"
finish
