#!/bin/bash
# opensearch.sh -- the OpenSearch rows of `make bench` (tests/bench/run.sh
# calls it; table.py reads what it leaves):
#
#   records into OpenSearch   build/tools/output_feed writes the records of a
#                             `hostflow run` of the bench's first FLOWS flows
#                             to the OpenSearch output from 2 threads, as the
#                             workers would, and flushes: records/s from open
#                             to the last acknowledgement
#   file -> OpenSearch        `hostflow run -j 2 -i FLOWS -o opensearch:URL`:
#                             input flows/s by hostflow's own clock (--stats),
#                             the records acknowledged at exit
#
# The server is tests/opensearch/server.sh's (OpenSearch 2.19, 512 MiB heap)
# on this machine, sharing its cores with hostflow: the figures are what this
# machine does with both, not what a search cluster takes.  Every run writes
# new indices (bench-<run>-...), one shard, no replica, deleted afterwards.
#
#   tests/bench/opensearch.sh RAW_DIR DATA RUNS
# leaves RAW_DIR/opensearch.json ({"runs": N} or {"na": why}) and, per run i,
# opensearch-feed-i.json (output_feed's counters) and opensearch-run-i.json
# (hostflow --stats).  BENCH_OPENSEARCH=0 skips it; BENCH_OPENSEARCH_FLOWS
# (500000) flows of DATA are used.
set -uo pipefail
R=$1 DATA=$2 RUNS=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build/bench
FLOWS=${BENCH_OPENSEARCH_FLOWS:-500000}
SERVER=$ROOT/tests/opensearch/server.sh
say() { printf 'bench: %s\n' "$*" >&2; }
na() { echo "{\"na\":\"$1\"}" >"$R/opensearch.json"; exit 0; }

[ "${BENCH_OPENSEARCH:-1}" = 0 ] && na "skipped (BENCH_OPENSEARCH=0)"
command -v java >/dev/null || na "n/a (java not installed)"
"$ROOT/hostflow" run --help 2>&1 | grep opensearch >/dev/null || na "n/a (no OpenSearch output)"
export OPENSEARCH_STATE_DIR=$OUT/opensearch OPENSEARCH_OWNER_PID=$$
trap '"$SERVER" stop >/dev/null 2>&1' EXIT
env=$("$SERVER" start 2>"$OUT/opensearch-start.log") || na "n/a (the server did not start; build/bench/opensearch-start.log)"
eval "$env"

head -n "$FLOWS" "$DATA" >"$OUT/opensearch-flows.ndjson"
"$ROOT/hostflow" run -q -j 2 -n 10.0.0.0/8,2001:db8::/32 -i "$OUT/opensearch-flows.ndjson" \
    -o "$OUT/opensearch-records.ndjson" || na "n/a (hostflow failed on the flows)"
runs=$(( RUNS < 3 ? RUNS : 3 ))
for i in $(seq "$runs"); do
    say "opensearch: run $i of $runs ($(wc -l <"$OUT/opensearch-records.ndjson") records, $FLOWS flows)"
    "$ROOT/build/tools/output_feed" -t 2 -b 1000 -s opensearch.replicas=0 \
        -s "opensearch.index=bench-feed$i-%{type}-%Y.%m.%d" -s opensearch.template_name=bench \
        "opensearch:$OPENSEARCH_URL" "$OUT/opensearch-records.ndjson" \
        >"$R/opensearch-feed-$i.json" 2>>"$OUT/opensearch-feed.log" || na "n/a (output_feed failed; build/bench/opensearch-feed.log)"
    cat >"$OUT/opensearch-run.lua" <<EOF
return { opensearch = { replicas = 0, index = "bench-run$i-%{type}-%Y.%m.%d", template_name = "bench" } }
EOF
    "$ROOT/hostflow" run -q -j 2 -c "$OUT/opensearch-run.lua" -n 10.0.0.0/8,2001:db8::/32 \
        -i "$OUT/opensearch-flows.ndjson" -o "opensearch:$OPENSEARCH_URL" --stats "$R/opensearch-run-$i.json" \
        2>>"$OUT/opensearch-run.log" || na "n/a (hostflow failed to write to OpenSearch; build/bench/opensearch-run.log)"
    curl -s -XDELETE "$OPENSEARCH_URL/bench-*" >/dev/null
done
echo "{\"runs\":$runs,\"flows\":$FLOWS,\"records\":$(wc -l <"$OUT/opensearch-records.ndjson")}" >"$R/opensearch.json"
