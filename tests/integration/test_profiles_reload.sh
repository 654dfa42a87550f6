#!/bin/bash
# test_profiles_reload.sh -- hot reload of a profile while `hostflow run`
# reads a stream (a FIFO fed in parts), against uninterrupted runs:
#   1. a new version whose state is declared alike (version = 2, nothing
#      else): the log says its learned state is kept, and every host_profile
#      record equals the uninterrupted run's -- nothing it had learned was
#      lost, no window absorbed twice;
#   2. a new version whose state is declared otherwise (one more field): the
#      log says what it learned is dropped, and the profiles after the
#      reload hold only the minutes absorbed since (as a run with that
#      version from the reload on would), never the old ones misread.
. "$(dirname "$0")/assert.sh"

# three simulated days of 6 hosts, 3 flows a minute each
"$FLOWGEN" --days 3 --hosts 6 --minute-flows 3 --start-ms 1795651200000 >"$WORK/flows.ndjson"
lines=$(wc -l <"$WORK/flows.ndjson")
cut1=$((lines / 2))
part() { sed -n "$1,$2p" "$WORK/flows.ndjson"; }
# small read blocks, so the lines after an edit reach the run after it
printf 'return { max_line = "4KiB", profiles = { report = "12h" } }\n' >"$WORK/conf.lua"
RUN="$HOSTFLOW run -c $WORK/conf.lua -n 10.0.0.0/8 -j1"

wait_for() {  # wait_for PATTERN FILE: until the log says it (20 s at most)
    for _ in $(seq 200); do grep -q -- "$1" "$2" && return 0; sleep 0.1; done
    echo "  timed out waiting for: $1"; tail -n 5 "$2" | sed 's/^/  | /'; return 1
}
profiles() {  # profiles RECORDS: the host_profile records, sorted
    grep '"host_profile"' "$1" | sort
}

mkdir -p "$WORK/ref"
cp "$ROOT"/analyses/*.lua "$WORK/ref/"
$RUN -q -a "$WORK/ref" -i "$WORK/flows.ndjson" -o "$WORK/ref.ndjson"
profiles "$WORK/ref.ndjson" >"$WORK/ref.profiles"
check "the uninterrupted run writes host_profile records" [ -s "$WORK/ref.profiles" ]

# live NAME EDIT: a run fed the first half, the profile edited by the sed
# script EDIT, SIGHUP, then the rest; its records in WORK/NAME.ndjson, its
# log in WORK/NAME.err, and the first line fed after the reload in WORK/NAME.at
live() {
    local name=$1 edit=$2 dir=$WORK/$1
    mkdir -p "$dir/an"
    cp "$ROOT"/analyses/*.lua "$dir/an/"
    mkfifo "$dir/fifo"
    $RUN -a "$dir/an" -i "$dir/fifo" -o "$WORK/$name.ndjson" 2>"$WORK/$name.err" &
    local pid=$!
    exec 3>"$dir/fifo"
    part 1 "$cut1" >&3
    sed -i "$edit" "$dir/an/profile.lua"
    kill -HUP $pid
    wait_for "reloading" "$WORK/$name.err"
    sleep 0.5
    part $((cut1 + 1)) $((cut1 + 3000)) >&3
    wait_for "profile: reloaded, version 2 from 1" "$WORK/$name.err" || { exec 3>&-; wait $pid; return 1; }
    part $((cut1 + 3001)) "$lines" >&3
    exec 3>&-
    wait $pid
}

# 1. declared alike: only the version changes
live alike 's/^  name        = "profile",$/  name        = "profile", version = 2,/'
check "a reload declared alike runs to the end" [ $? -eq 0 ]
check "... and says the learned state is kept" \
    grep -q "profile: reloaded, version 2 from 1; its learned state is kept (its state is declared alike)" \
    "$WORK/alike.err"
profiles "$WORK/alike.ndjson" >"$WORK/alike.profiles"
same_profiles() {
    cmp -s "$WORK/ref.profiles" "$WORK/alike.profiles" && return 0
    echo "  $(wc -l <"$WORK/ref.profiles") host_profile records in the uninterrupted run, $(wc -l <"$WORK/alike.profiles") here"
    diff "$WORK/ref.profiles" "$WORK/alike.profiles" | head -c 1500
    return 1
}
check "... every host_profile record equals the uninterrupted run's" same_profiles

# 2. declared otherwise: one more field in the state
live otherwise 's/^  name        = "profile",$/  name        = "profile", version = 2,/; s/^    count = hf.counter(),/    count = hf.counter(), extra = hf.counter(),/'
check "a reload declared otherwise runs to the end" [ $? -eq 0 ]
check "... and says what it learned is dropped" \
    grep -q "profile: reloaded, version 2 from 1; its state is declared otherwise: what it learned is dropped, it learns afresh" \
    "$WORK/otherwise.err"
# each host's last profile: fewer minutes than the uninterrupted run's (the
# half before the reload is gone), first seen after the reload's data began
afresh() {
    python3 - "$WORK/ref.ndjson" "$WORK/otherwise.ndjson" <<'PY'
import json, sys
def last(path):
    out = {}
    for line in open(path):
        r = json.loads(line)
        if r["@type"] == "host_profile": out[r["src_ip"]] = r
    return out
ref, got = last(sys.argv[1]), last(sys.argv[2])
bad = 0
for host, r in ref.items():
    g = got.get(host)
    if not g or g["profile"]["minutes"] >= r["profile"]["minutes"] \
            or g["profile"]["first_seen"] <= r["profile"]["first_seen"]:
        print("  %s: %s minutes from %s, against %s from %s" % (
            host, g and g["profile"]["minutes"], g and g["profile"]["first_seen"],
            r["profile"]["minutes"], r["profile"]["first_seen"]))
        bad += 1
print("  %d hosts; after the reload %s minutes each, %s in the uninterrupted run" % (
    len(ref), sorted({g["profile"]["minutes"] for g in got.values()}),
    sorted({r["profile"]["minutes"] for r in ref.values()})))
sys.exit(1 if bad or not ref else 0)
PY
}
check "... and each host's profile holds only the minutes since" afresh

finish
