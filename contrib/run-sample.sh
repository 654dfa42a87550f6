#!/bin/sh
# run-sample.sh -- `make run`: hostflow on the bundled sample flows, with
# the busiest hosts of each granularity shown as a table.  The records are
# kept in build/sample-records.ndjson for a closer look.
set -e
cd "$(dirname "$0")/.."
SAMPLE=contrib/sample-flows.ndjson.gz
OUT=build/sample-records.ndjson
echo "hostflow run -i $SAMPLE -o $OUT" >&2
./hostflow run -i "$SAMPLE" -o "$OUT" "$@"
echo >&2
contrib/top-hosts.py "$OUT"
