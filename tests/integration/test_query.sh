#!/bin/bash
# test_query.sh -- hostflow query and the investigation scripts of
# contrib/queries/: each script's output on a generated flow file equals an
# independent computation (Python + SQLite over flowgen's truth CSV); bad
# lines are counted by reason; script errors name file:line; exit codes.
. "$(dirname "$0")/assert.sh"

Q=$ROOT/contrib/queries
NETS=10.0.0.0/8,2001:db8::/32
flows=$WORK/flows.ndjson truth=$WORK/truth.csv
"$FLOWGEN" --seed 4242 --flows 60000 --rate 100 --hosts 300 --ipv6 0.15 --late 0 --malformed 0.003 \
    --truth "$truth" --out "$flows"

# ref.py MODE ARGS...: the expected CSV, computed in SQLite from the truth.
cat >"$WORK/ref.py" <<'EOF'
import csv, ipaddress, sqlite3, sys, time

def pk(a):          # an address as hostflow holds it: 16 bytes, IPv4 mapped
    ip = ipaddress.ip_address(a)
    return (b"\0" * 10 + b"\xff\xff" + ip.packed) if ip.version == 4 else ip.packed

def inpfx(a, nets):
    ip = ipaddress.ip_address(a)
    return any(ip.version == n.version and ip in n for n in nets)

def iso(ms):
    s, r = divmod(int(ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%03dZ" % r

db = sqlite3.connect(":memory:")
db.create_function("pk", 1, pk, deterministic=True)
db.execute("CREATE TABLE f (src, dst, family, sport, dport, proto, packets, bytes, start_ms, end_ms, tcp_flags)")
with open(sys.argv[1]) as fh:
    rows = csv.reader(fh)
    next(rows)
    db.executemany("INSERT INTO f VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   ([r[0], r[1]] + [int(v) for v in r[2:]] for r in rows))
first, last = db.execute("SELECT min(end_ms), max(end_ms) FROM f").fetchone()
mode, args = sys.argv[2], sys.argv[3:]
out = csv.writer(sys.stdout, lineterminator="\n")

def emit(header, rows, times):
    out.writerow(header)
    for r in rows:
        out.writerow([iso(v) if i in times else v for i, v in enumerate(r)])

if mode == "busiest":             # the source with the most flows, of a family
    print(db.execute("SELECT src FROM f WHERE family = ? GROUP BY src ORDER BY count(*) DESC, src LIMIT 1",
                     (int(args[0]),)).fetchone()[0])
elif mode == "busiest_dst":       # the destination with the most flows
    print(db.execute("SELECT dst FROM f GROUP BY dst ORDER BY count(*) DESC, dst LIMIT 1").fetchone()[0])
elif mode == "count":             # flows whose end lies in [from, to)
    print(db.execute("SELECT count(*) FROM f WHERE end_ms >= ? AND end_ms < ?", (int(args[0]), int(args[1]))).fetchone()[0])
elif mode == "peers":
    h = args[0]
    emit(["peer", "direction", "flows", "packets", "bytes", "dports", "first_seen", "last_seen"], db.execute("""
        SELECT CASE WHEN src = :h THEN dst ELSE src END AS peer,
               CASE WHEN src = :h THEN 'out' ELSE 'in' END AS direction,
               count(*), sum(packets), sum(bytes) AS b, count(DISTINCT dport), min(start_ms), max(end_ms)
        FROM f WHERE src = :h OR dst = :h
        GROUP BY peer, direction ORDER BY b DESC, pk(peer), direction""", {"h": h}), {6, 7})
elif mode == "talkers":           # NETS TOP FROM TO ("last:MS" for the last MS of the data)
    nets = [ipaddress.ip_network(n) for n in args[0].split(",")]
    db.create_function("inpfx", 1, lambda a: inpfx(a, nets))
    lo = last - int(args[2][5:]) if args[2].startswith("last:") else int(args[2])
    hi = int(args[3]) if len(args) > 3 else 2**62
    emit(["src", "flows", "packets", "bytes", "peers", "dports", "first_seen", "last_seen"], db.execute("""
        SELECT src, count(*), sum(packets), sum(bytes) AS b, count(DISTINCT dst), count(DISTINCT dport),
               min(start_ms), max(end_ms)
        FROM f WHERE inpfx(src) AND end_ms >= ? AND end_ms < ?
        GROUP BY src ORDER BY b DESC, pk(src) LIMIT ?""", (lo, hi, int(args[1]))), {6, 7})
elif mode == "newports":          # CUTOFF ("default": the last quarter) LO HI
    c = first + 0.75 * (last - first) if args[0] == "default" else float(args[0])
    emit(["src", "proto", "dport", "first_used", "flows", "bytes", "peers"], db.execute("""
        WITH h AS (SELECT src, min(end_ms) AS first FROM f GROUP BY src),
             p AS (SELECT src, proto, dport, min(end_ms) AS first_used, count(*) AS n, sum(bytes) AS b,
                          count(DISTINCT dst) AS peers
                   FROM f WHERE dport BETWEEN ? AND ? GROUP BY src, proto, dport)
        SELECT p.src, proto, dport, first_used, n, b, peers FROM p JOIN h USING (src)
        WHERE first_used >= ? AND h.first < ? ORDER BY pk(p.src), proto, dport""",
        (int(args[1]), int(args[2]), c, c)), {3})
elif mode == "span":
    print(first, last)
EOF
ref() { python3 "$WORK/ref.py" "$truth" "$@"; }

# same FILE_A FILE_B: equal, or show where they differ
same() { diff -u "$1" "$2" >"$WORK/diff" || { head -n 20 "$WORK/diff"; return 1; }; }
# query SCRIPT ARGS...: hostflow query on the flows, CSV, monitored sources only
query() { local s=$1; shift; "$HOSTFLOW" query "$s" -q -i "$flows" -n "$NETS" -f csv "$@"; }

# --- the three scripts against SQLite ---------------------------------------
h4=$(ref busiest 4) h6=$(ref busiest 6) server=$(ref busiest_dst)
for h in "$h4" "$h6" "$server"; do
    query "$Q/peers.lua" -- "$h" >"$WORK/got" 2>"$WORK/err"
    ref peers "$h" >"$WORK/want"
    check "peers.lua lists every peer of $h, both directions, as SQL does" same "$WORK/want" "$WORK/got"
done
check "peers.lua lists the clients of a server as 'in'" grep -q ',in,' "$WORK/got"
query "$Q/peers.lua" -- "$h4" --top 3 >"$WORK/got"
ref peers "$h4" >"$WORK/all-peers"
head -n 4 "$WORK/all-peers" >"$WORK/want"
check "peers.lua --top 3 keeps the three largest" same "$WORK/want" "$WORK/got"

query "$Q/top_talkers.lua" -- 10.0.0.0/8 --last 2m --top 10 >"$WORK/got"
ref talkers 10.0.0.0/8 10 last:120000 >"$WORK/want"
check "top_talkers.lua: the top 10 of 10/8 in the last 2 minutes of the data, as SQL" same "$WORK/want" "$WORK/got"
check "top_talkers.lua gives 10 rows" [ "$(wc -l <"$WORK/got")" = 11 ]
query "$Q/top_talkers.lua" -- 10.0.0.0/8 >"$WORK/got"
ref talkers 10.0.0.0/8 10 last:3600000 >"$WORK/want"
check "top_talkers.lua: by default the last hour" same "$WORK/want" "$WORK/got"
p24=$(python3 -c "import ipaddress,sys; print(ipaddress.ip_network(sys.argv[1] + '/24', strict=False))" "$h4")
query "$Q/top_talkers.lua" -- "$p24" --last 5m >"$WORK/got"
ref talkers "$p24" 10 last:300000 >"$WORK/want"
check "top_talkers.lua: the /24 of the busiest host ($p24)" same "$WORK/want" "$WORK/got"
read -r first last < <(ref span)
from=$((first + 120000)) to=$((first + 300000))
query "$Q/top_talkers.lua" -- 2001:db8::/32,10.0.0.0/8 --from "$from" --to "$to" --top 25 >"$WORK/got"
ref talkers 2001:db8::/32,10.0.0.0/8 25 "$from" "$to" >"$WORK/want"
check "top_talkers.lua --from --to over IPv6 and IPv4 prefixes" same "$WORK/want" "$WORK/got"
check "top_talkers.lua lists IPv6 talkers too" grep -q '^2001:db8:' "$WORK/got"

query "$Q/new_ports.lua" >"$WORK/got"
ref newports default 0 65535 >"$WORK/want"
check "new_ports.lua: pairs first used in the last quarter, of hosts seen before, as SQL" same "$WORK/want" "$WORK/got"
check "new_ports.lua finds some" [ "$(wc -l <"$WORK/got")" -gt 10 ]
since=$(python3 -c "import time,sys; t=int(sys.argv[1]) - 180000; print(time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t // 1000)) + '.%03dZ' % (t % 1000))" "$last")
query "$Q/new_ports.lua" -- --since "$since" --ports 0-1023 >"$WORK/got"
ref newports $((last - 180000)) 0 1023 >"$WORK/want"
check "new_ports.lua --since TIME --ports 0-1023, as SQL" same "$WORK/want" "$WORK/got"
query "$Q/new_ports.lua" -- --since -3m --ports 0-1023 >"$WORK/got2"
check "new_ports.lua --since -3m is the same as the time 3 minutes before the end" same "$WORK/got" "$WORK/got2"

# --- input: counters, stdin, gzip, formats, ranges --------------------------
"$HOSTFLOW" query "$Q/top_talkers.lua" -i "$flows" -n "$NETS" -- 10.0.0.0/8 >"$WORK/table" 2>"$WORK/err"
check "a run exits 0 and prints a table" grep -q '^src  *flows  *packets  *bytes' "$WORK/table"
counts=$(grep 'hostflow: query: ' "$WORK/err" | tail -n 1)
lines=$(wc -l <"$flows")
accepted=$(grep -c . "$truth"); accepted=$((accepted - 1))
rejects=$(grep -c '^line,' "$truth.rejects")
filtered=$(grep '^count,filtered,' "$truth.rejects" | cut -d, -f3)
check "the counters say every line read" grep -q "$lines lines" <<<"$counts"
check "the counters say the flows kept (the truth's $accepted)" grep -q " $accepted flows" <<<"$counts"
check "the counters say the lines rejected ($rejects)" grep -q " $rejects rejected (" <<<"$counts"
check "the counters say the flows outside -n ($filtered)" grep -q "$filtered not in -n" <<<"$counts"
for reason in $(grep '^count,' "$truth.rejects" | cut -d, -f2 | grep -vE '^(late|filtered|accepted|lines)$'); do
    n=$(grep "^count,$reason," "$truth.rejects" | cut -d, -f3)
    [ "$n" -gt 0 ] && check "rejected lines are counted by reason: $reason $n" grep -q "$reason $n" <<<"$counts"
done
bad=$(grep '^line,' "$truth.rejects" | head -n 1)
bad_line=$(cut -d, -f2 <<<"$bad") bad_reason=$(cut -d, -f3 <<<"$bad")
check "a rejected line is warned about with its number and reason" \
    grep -q "flows.ndjson:$bad_line: rejected ($bad_reason)" "$WORK/err"
check "-q leaves stderr empty" sh -c "'$HOSTFLOW' query '$Q/top_talkers.lua' -q -i '$flows' -- 10.0.0.0/8 2>&1 >/dev/null | wc -c | grep -qx 0"

"$HOSTFLOW" query "$Q/peers.lua" -q -i "$flows" -f csv -- "$h4" >"$WORK/all"
check "without -n, outside sources talk too (more rows)" [ "$(wc -l <"$WORK/all")" -gt "$(wc -l <"$WORK/all-peers")" ]
"$HOSTFLOW" query "$Q/top_talkers.lua" -i "$flows" -- 0.0.0.0/0 2>&1 >/dev/null | grep -q " $((accepted + filtered)) flows"
check "without -n every decoded flow reaches the script" [ $? -eq 0 ]

query "$Q/top_talkers.lua" -- 10.0.0.0/8 >"$WORK/file.csv"
"$HOSTFLOW" query "$Q/top_talkers.lua" -q -n "$NETS" -f csv -- 10.0.0.0/8 <"$flows" >"$WORK/stdin.csv"
check "stdin gives what the file gives (a relative time: two passes over a copy)" same "$WORK/file.csv" "$WORK/stdin.csv"
check "the copy of stdin is removed" sh -c "! ls '${TMPDIR:-/tmp}'/hostflow-query.* 2>/dev/null | grep -q ."
gzip -c "$flows" >"$WORK/flows.ndjson.gz"
"$HOSTFLOW" query "$Q/top_talkers.lua" -q -n "$NETS" -f csv -i "$WORK/flows.ndjson.gz" -- 10.0.0.0/8 >"$WORK/gz.csv"
check "gzip input gives what plain input gives" same "$WORK/file.csv" "$WORK/gz.csv"
query "$Q/top_talkers.lua" -f json -- 10.0.0.0/8 >"$WORK/got.json"
check "-f json writes one object per row, the same values as CSV" python3 - "$WORK/got.json" "$WORK/file.csv" <<'EOF'
import csv, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
want = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == len(want) == 10, (len(rows), len(want))
for r, w in zip(rows, want):
    assert list(r) == list(w), (list(r), list(w))
    assert all(str(r[k]) == w[k] for k in w), (r, w)
    assert isinstance(r["bytes"], int) and isinstance(r["src"], str)
EOF

echo 'local q = require "hostflow.query"; q.flows():count()' >"$WORK/count.lua"
from=$((first + 60000)) to=$((first + 90000))
got=$(query "$WORK/count.lua" --from "$from" --to "$to" | tail -n 1)
check "--from/--to keep the flows ending in the range (ms)" [ "$got" = "$(ref count "$from" "$to")" ]
iso_from=$(python3 -c "import time,sys; t=int(sys.argv[1]); print(time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t // 1000)) + '.%03dZ' % (t % 1000))" "$from")
got=$(query "$WORK/count.lua" --from "$iso_from" --to "$to" | tail -n 1)
check "--from takes ISO 8601 time" [ "$got" = "$(ref count "$from" "$to")" ]

: >"$WORK/empty"
"$HOSTFLOW" query "$Q/top_talkers.lua" -q -f csv -i "$WORK/empty" -- 10.0.0.0/8 >"$WORK/out" 2>"$WORK/err"
rc=$?
empty_ok() { [ $rc -eq 0 ] && [ "$(cat "$WORK/out")" = 'src,flows,packets,bytes,peers,dports,first_seen,last_seen' ]; }
check "an empty input gives the header alone and exit 0" empty_ok

# --- script errors and usage ------------------------------------------------
# fails_with STATUS "TEXT" ARGS...: hostflow query exits STATUS and says TEXT on stderr
fails_with() {
    local want_rc=$1 want=$2; shift 2
    "$HOSTFLOW" query "$@" >"$WORK/out" 2>"$WORK/err"
    local rc=$?
    [ $rc -eq "$want_rc" ] && grep -qF -- "$want" "$WORK/err" || {
        echo "  exit $rc; stderr: $(head -c 600 "$WORK/err")"; return 1; }
}
cat >"$WORK/boom.lua" <<'EOF'
local q = require "hostflow.query"
local n = 0
q.flows():each(function(f)
  n = n + 1
  if n == 1000 then error("boom on flow " .. n) end
end)
EOF
line1000=$(python3 - "$truth.rejects" <<'EOF'
import sys
bad = {int(l.split(",")[1]) for l in open(sys.argv[1]) if l.startswith("line,")}
n = line = 0
while n < 1000:
    line += 1
    if line not in bad: n += 1
print(line)
EOF
)
check "an error in a script's function names file:line and the input line of the flow" \
    fails_with 1 "boom.lua:5: boom on flow 1000 (at $flows:$line1000)" "$WORK/boom.lua" -q -i "$flows"
check "... with the script's own stack" grep -q "boom.lua:5: in a function given to a query" "$WORK/err"
check "... and prints no result" [ ! -s "$WORK/out" ]
printf 'local q = require "hostflow.query"\nq.flows(:count()\n' >"$WORK/syntax.lua"
check "a syntax error names file and line, exit 1" fails_with 1 "syntax.lua:2: unexpected symbol" "$WORK/syntax.lua" -i "$flows"
printf 'local q = require "hostflow.query"\n\nq.flows():where { dprot = 443 }:count()\n' >"$WORK/where.lua"
check "an unknown condition names the script's line, exit 1" \
    fails_with 1 "where.lua:3: where: unknown condition \"dprot\"" "$WORK/where.lua" -i "$flows"
printf 'local q = require "hostflow.query"\nq.flows():group_by("src"):count():top(3, "bytes")\n' >"$WORK/sort.lua"
check "sorting by a missing column names the line, exit 1" \
    fails_with 1 "sort.lua:2: sort: no column \"bytes\"" "$WORK/sort.lua" -i "$flows"
check "a script called without its argument prints its usage, exit 2" \
    fails_with 2 "usage: hostflow query $Q/peers.lua [-i FLOWS] -- ADDRESS|PREFIX" "$Q/peers.lua" -i "$flows"
check "an unknown script option is a usage error" fails_with 2 "unknown option --bogus" "$Q/peers.lua" -i "$flows" -- 10.0.0.1 --bogus
check "a missing script is named, exit 2" fails_with 2 "nope.lua: cannot read the script" "$WORK/nope.lua" -i "$flows"
check "a missing input is named, exit 1" fails_with 1 "nope.ndjson: cannot open" "$WORK/count.lua" -i "$WORK/nope.ndjson"
check "a bad format is refused, exit 2" fails_with 2 '-f: expected table, csv or json, got "xml"' "$WORK/count.lua" -f xml
check "a bad network is refused, exit 2" fails_with 2 '"10.0.0.300/8"' "$WORK/count.lua" -n 10.0.0.300/8
check "a bad time is refused, exit 2" fails_with 2 '--from: expected a time' "$WORK/count.lua" --from yesterday
check "no script is a usage error" fails_with 2 'which script?' -i "$flows"
check "--kafka with no broker to reach says so, exit 1" \
    fails_with 1 'query: --kafka flows: kafka: flows:' "$WORK/count.lua" --kafka flows -b 127.0.0.1:9 \
    -K socket.connection.setup.timeout.ms=1000 --from 2026-11-26T14:00:00Z --to 2026-11-26T15:00:00Z
check "--kafka needs a time range" fails_with 2 '--kafka needs --from and --to' "$WORK/count.lua" --kafka flows
check "query --help explains the flags and the API" sh -c "'$HOSTFLOW' query --help | grep -q -- '--kafka TOPIC' && '$HOSTFLOW' query --help | grep -q 'group_by'"
check "hostflow --help lists query" sh -c "'$HOSTFLOW' --help | grep -q '^  query '"
check "every contrib script has a usage line" sh -c "for f in '$Q'/*.lua; do grep -q '^-- usage: hostflow query' \"\$f\" || exit 1; done"
check "luacheck passes on the contrib scripts" luacheck -q --no-color "$Q"

# Input as hostflow run reads it: times without an offset in input_tz, a
# biflow record's reverse direction under its own source, IPFIX options
# records skipped.  The bytes per source of a query equal those of run's
# records (every flow in one 5-minute window, every address monitored).
FX=$ROOT/tests/fixtures/softflowd
zcat "$FX/nfdump-utc.json.gz" >"$WORK/utc.json"
zcat "$FX/nfdump-prague.json.gz" >"$WORK/prague.json"
cat >"$WORK/bytes.lua" <<'EOF'
local q = require "hostflow.query"
q.flows():group_by("src"):sum("bytes"):sort("src")
EOF
q_bytes() { "$HOSTFLOW" query "$WORK/bytes.lua" -q -f csv "$@"; }
q_bytes -i "$WORK/utc.json" >"$WORK/q-utc.csv"
check "nfdump in UTC: a result" [ "$(wc -l <"$WORK/q-utc.csv")" -gt 2 ]
q_bytes -i "$WORK/prague.json" --input-tz Europe/Prague >"$WORK/q-prague.csv"
check "nfdump in Prague time, --input-tz Europe/Prague: the result of the UTC file" \
    cmp -s "$WORK/q-utc.csv" "$WORK/q-prague.csv"
# the times matter: the last 10 minutes of the data (two passes) shift by the offset
cat >"$WORK/times.lua" <<'EOF'
local q = require "hostflow.query"
q.flows():group_by("src"):count():first_seen():sort("src")
EOF
"$HOSTFLOW" query "$WORK/times.lua" -q -f csv -i "$WORK/utc.json" >"$WORK/t-utc.csv"
"$HOSTFLOW" query "$WORK/times.lua" -q -f csv -i "$WORK/prague.json" >"$WORK/t-wrong.csv"
check "... read as UTC, Prague's times are an hour off" sh -c "! cmp -s '$WORK/t-utc.csv' '$WORK/t-wrong.csv'"
printf 'return { input_tz = "Europe/Prague" }\n' >"$WORK/prague.lua"
"$HOSTFLOW" query "$WORK/times.lua" -q -f csv -c "$WORK/prague.lua" -i "$WORK/prague.json" >"$WORK/t-conf.csv"
check "... input_tz in the configuration file (-c) puts them right" cmp -s "$WORK/t-utc.csv" "$WORK/t-conf.csv"
"$HOSTFLOW" query "$WORK/times.lua" -q -f csv --input-tz Europe/Prague -i "$WORK/prague.json" >"$WORK/t-flag.csv"
check "... and so does --input-tz" cmp -s "$WORK/t-utc.csv" "$WORK/t-flag.csv"
check "a zone that does not exist is refused, exit 2" fails_with 2 'Mars/Olympus' "$WORK/times.lua" \
    -i "$WORK/utc.json" --input-tz Mars/Olympus

T=1764165600000
I2='"iana:sourceIPv4Address":"10.1.0.10","iana:destinationIPv4Address":"10.2.0.1","iana:protocolIdentifier":6,"iana:sourceTransportPort":5000,"iana:destinationTransportPort":443,"iana:octetDeltaCount":1500,"iana:packetDeltaCount":10'
{
    printf '{"@type":"ipfix.entry",%s,"iana@reverse:octetDeltaCount@reverse":700,"iana@reverse:packetDeltaCount@reverse":5,"iana:flowStartMilliseconds":%d,"iana:flowEndMilliseconds":%d}\n' "$I2" $T $((T + 1000))
    printf '{"@type":"ipfix.optionsEntry","iana:exportingProcessId":1,"iana:systemInitTimeMilliseconds":%d}\n' $T
    printf '{"@type":"ipfix.entry",%s,"iana:flowStartMilliseconds":%d,"iana:flowEndMilliseconds":%d}\n' "$I2" $((T + 2000)) $((T + 3000))
} >"$WORK/biflow.ndjson"
q_bytes -i "$WORK/biflow.ndjson" >"$WORK/q-bi.csv" 2>"$WORK/q-bi.err"
check "a biflow: its reverse direction under its own source (10.2.0.1: 700 bytes)" \
    [ "$(cat "$WORK/q-bi.csv")" = "$(printf 'src,bytes\n10.1.0.10,3000\n10.2.0.1,700')" ]
"$HOSTFLOW" query "$WORK/bytes.lua" -f csv -i "$WORK/biflow.ndjson" >/dev/null 2>"$WORK/q-bi.err"
check "the options record is skipped, not rejected, and counted" \
    grep -qF "3 lines, 3 flows, 0 rejected, 1 skipped (IPFIX options and templates)" "$WORK/q-bi.err"
for input in "$WORK/biflow.ndjson" "$WORK/utc.json"; do
    "$HOSTFLOW" run -q -n 0.0.0.0/0,::/0 -w 5m -i "$input" -o "$WORK/run.ndjson"
    python3 -c "
import json, sys
b = {}
for l in open(sys.argv[1]):
    r = json.loads(l)
    t = r['stats'].get('total')
    if t: b[r['src_ip']] = b.get(r['src_ip'], 0) + t['bytes']
print('src,sum_bytes')
for k in sorted(b): print('%s,%d' % (k, b[k]))" "$WORK/run.ndjson" >"$WORK/run.csv"
    q_bytes -i "$input" >"$WORK/q.csv"
    check "$(basename "$input"): the bytes per source of query equal those of run's records" \
        python3 -c "
import csv, sys
a, b = ({r[0]: float(r[1]) for r in list(csv.reader(open(f)))[1:]} for f in sys.argv[1:])
sys.exit(0 if a == b else 1)" "$WORK/run.csv" "$WORK/q.csv"
done
finish
