#!/bin/bash
# test_flowgen_deterministic.sh -- flowgen writes the same bytes for the same
# seed and options (flows, truth and rejects alike), and other bytes for
# another seed.  Not timed.
. "$(dirname "$0")/assert.sh"

if [ ! -x "$FLOWGEN" ]; then   # not built by make: build it alone
    FLOWGEN=$WORK/flowgen
    cc -std=c11 -O2 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -o "$FLOWGEN" \
        "$ROOT/tests/tools/flowgen.c" -lm || { echo "cannot build flowgen"; exit 1; }
fi

# every kind of line: three families, IPv6, scanners, late, malformed (with a
# too_long one), unusual spacing and keys, numbers as strings
ARGS=(--flows 200000 --hosts 5000 --rate 2000 --family mixed --ipv6 0.2 --scanners 3
      --late 0.01 --malformed 0.01 --variety 0.2 --string-numbers 0.05)

gen() {  # gen NAME SEED [extra args]: flows to NAME.ndjson, truth to NAME.csv
    local name=$1 seed=$2; shift 2
    "$FLOWGEN" --seed "$seed" "${ARGS[@]}" "$@" --truth "$WORK/$name.csv" --out "$WORK/$name.ndjson"
}

gen a 42 && gen b 42 && gen c 43
check "flowgen runs" test -s "$WORK/a.ndjson" -a -s "$WORK/c.ndjson"
check "same seed: identical flows" cmp -s "$WORK/a.ndjson" "$WORK/b.ndjson"
check "same seed: identical truth" cmp -s "$WORK/a.csv" "$WORK/b.csv"
check "same seed: identical rejects" cmp -s "$WORK/a.csv.rejects" "$WORK/b.csv.rejects"
check "another seed: other flows" bash -c "! cmp -s '$WORK/a.ndjson' '$WORK/c.ndjson'"
check "another seed: other truth" bash -c "! cmp -s '$WORK/a.csv' '$WORK/c.csv'"

"$FLOWGEN" --seed 42 "${ARGS[@]}" >"$WORK/stdout.ndjson"
check "stdout, and no --truth, give the same flows" cmp -s "$WORK/a.ndjson" "$WORK/stdout.ndjson"

for fam in ipfix ipfix2 nfdump; do
    gen "$fam-1" 7 --family "$fam" --flows 20000 && gen "$fam-2" 7 --family "$fam" --flows 20000
    check "family $fam: same seed, identical flows" cmp -s "$WORK/$fam-1.ndjson" "$WORK/$fam-2.ndjson"
done

check "the truth has a row per accepted flow" \
    [ "$(($(wc -l <"$WORK/a.csv") - 1))" -eq "$(grep '^count,accepted,' "$WORK/a.csv.rejects" | cut -d, -f3)" ]
check "every line is accounted for (accepted + late + filtered + rejected = lines)" \
    awk -F, '$1 == "count" { if ($2 == "lines") lines = $3; else sum += $3 }
             END { exit !(lines > 0 && sum == lines) }' "$WORK/a.csv.rejects"
finish
