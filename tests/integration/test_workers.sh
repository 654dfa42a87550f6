#!/bin/bash
# test_workers.sh -- the parallel copies: the records do not depend on the
# number of workers (late flows and the watermark are decided in input
# order, before sharding; with several workers lines are decoded on threads
# and taken back in order), workers = 0 counts the CPUs the process may
# use, SIGUSR1 / SIGTERM behave, and the workers made at once run the same
# text of each analysis, read once, checked on sample flows once.
. "$(dirname "$0")/assert.sh"

"$FLOWGEN" --seed 11 --flows 300000 --hosts 5000 --rate 5000 >"$WORK/flows.ndjson"
for j in 1 2 3; do
    "$HOSTFLOW" run -q -j$j -i "$WORK/flows.ndjson" --stats "$WORK/s$j.json" | sort >"$WORK/r$j"
done
check "records exist" [ "$(wc -l <"$WORK/r1")" -gt 1000 ]
check "2 workers write the same records as 1" cmp -s "$WORK/r1" "$WORK/r2"
check "3 workers write the same records as 1" cmp -s "$WORK/r1" "$WORK/r3"
same_counts() {
    for k in records_read decoded rejected_total monitored filtered late records; do
        [ "$(json_get "$WORK/s1.json" "d['$k']")" = "$(json_get "$WORK/s$1.json" "d['$k']")" ] || return 1
    done
}
check "the counters agree across worker counts" same_counts 2
check "the counters agree across worker counts (3)" same_counts 3

# Hostile lines among the flows, decoded on threads: the same records,
# counters and warnings (in input order) as one thread.  Over-long lines,
# binary junk, junk after the tags of hostflow's own binary messages
# (malformed, as any junk), a NUL, a truncated record, and a last line with no newline.
cfg=$WORK/small-lines.lua
echo 'return { max_line = 4096 }' >"$cfg"
{
    head -n 30000 "$WORK/flows.ndjson"
    printf '%*s\n' 9000 '' | tr ' ' 'x'
    head -c 3000 /dev/urandom | base64 -w0; echo
    printf '{"src4_addr":"10.0.0.1",\0"dst4_addr":"10.0.0.2"}\n'
    printf '\001 garbage after a relay flow tag\n\002 a partial\n\003 progress\n'
    sed -n '30001,60000p' "$WORK/flows.ndjson"
    sed -n '60001p' "$WORK/flows.ndjson" | head -c 80; echo
    printf '%*s\n' 100000 '' | tr ' ' '{'
    sed -n '60002,90000p' "$WORK/flows.ndjson"
    sed -n '90001p' "$WORK/flows.ndjson" | tr -d '\n'
} >"$WORK/hostile.ndjson"
for j in 1 3; do
    "$HOSTFLOW" run -c "$cfg" -j$j -i "$WORK/hostile.ndjson" --stats "$WORK/h$j.json" \
        2>"$WORK/h$j.err" | sort >"$WORK/hr$j"
done
check "hostile lines: 3 workers write the same records as 1" cmp -s "$WORK/hr1" "$WORK/hr3"
same_hostile() {
    for k in records_read decoded rejected_total monitored filtered late records; do
        [ "$(json_get "$WORK/h1.json" "d['$k']")" = "$(json_get "$WORK/h3.json" "d['$k']")" ] || return 1
    done
    [ "$(json_get "$WORK/h1.json" "d['rejected']")" = "$(json_get "$WORK/h3.json" "d['rejected']")" ] &&
    [ "$(json_get "$WORK/h3.json" "d['records_read']")" = 90008 ] &&
    [ "$(json_get "$WORK/h3.json" "d['rejected']['wrong_kind']")" = 0 ] &&
    [ "$(json_get "$WORK/h3.json" "d['rejected']['too_long']")" -ge 2 ]
}
check "hostile lines: every line counted once, the same by reason" same_hostile
first_warnings() { grep -m4 'rejected (' "$1" | sed 's/^[^ ]* //'; }
check "hostile lines: the warnings name the same lines in the same order" \
    cmp -s <(first_warnings "$WORK/h1.err") <(first_warnings "$WORK/h3.err")
check "hostile lines: a warning names its line" grep -Eq 'hostile.ndjson:[0-9]+: rejected \(' "$WORK/h3.err"

# A regular file is read by the decoder threads themselves, in turn: the
# same records and counters as one thread for gzip too, and for a line
# longer than a whole chunk (3 MiB, over the default max_line of 1 MiB).
{
    head -n 20000 "$WORK/flows.ndjson"
    head -c 3145728 /dev/zero | tr '\0' 'x'; echo
    sed -n '20001,40000p' "$WORK/flows.ndjson"
} >"$WORK/huge-line.ndjson"
head -n 40000 "$WORK/flows.ndjson" | gzip -c >"$WORK/flows.ndjson.gz"
for f in huge-line.ndjson flows.ndjson.gz; do
    for j in 1 3; do
        "$HOSTFLOW" run -q -j$j -i "$WORK/$f" --stats "$WORK/$f.s$j.json" 2>"$WORK/$f.e$j" | sort >"$WORK/$f.r$j"
    done
done
same_file() {      # same_file NAME: records and counters of -j3 as of -j1, and some records
    [ -s "$WORK/$1.r1" ] && cmp -s "$WORK/$1.r1" "$WORK/$1.r3" || return 1
    for k in records_read decoded rejected monitored late records; do
        [ "$(json_get "$WORK/$1.s1.json" "d['$k']")" = "$(json_get "$WORK/$1.s3.json" "d['$k']")" ] || return 1
    done
}
huge_refused() {
    [ "$(json_get "$WORK/huge-line.ndjson.s3.json" "d['rejected']['too_long']")" = 1 ] &&
    [ "$(json_get "$WORK/huge-line.ndjson.s3.json" "d['records_read']")" = 40001 ]
}
check "a line longer than a chunk: 3 workers write the same records and counters as 1" same_file huge-line.ndjson
check "a line longer than a chunk: refused as too_long, every other line read" huge_refused
check "gzip, read on the decoder threads: the same records and counters as 1 thread" same_file flows.ndjson.gz

# A stop while the decoder threads read a file: the read they were making
# is interrupted, which is the end of the run (status 0), not a read error.
for k in 1 2 3 4; do cat "$WORK/flows.ndjson"; done >"$WORK/big.ndjson"
"$HOSTFLOW" run -q -j2 -i "$WORK/big.ndjson" -o /dev/null --stats "$WORK/big.json" 2>"$WORK/big.err" &
pid=$!
sleep 0.2
kill -TERM $pid
wait $pid
rc=$?
check "SIGTERM while the decoder threads read a file: status 0, no read error" \
    sh -c "[ $rc -eq 0 ] && ! grep -q 'read error' '$WORK/big.err'"
check "... the run stopped partway through the file" \
    [ "$(json_get "$WORK/big.json" "d['records_read']")" -lt 1200000 ]
rm -f "$WORK/big.ndjson"

# workers = 0 (the default): one worker per CPU the process may use (its
# affinity mask, a cgroup CPU quota), and with more than one as many decoder
# threads; so `taskset -c 0` runs one worker and decodes in the reader
if command -v taskset >/dev/null; then
    taskset -c 0 "$HOSTFLOW" run -q -i "$WORK/flows.ndjson" -o /dev/null --stats "$WORK/cpu1.json"
    check "taskset -c 0: one worker" [ "$(json_get "$WORK/cpu1.json" "d['workers']")" = 1 ]
    check "taskset -c 0: no decoder threads" [ "$(json_get "$WORK/cpu1.json" "d['decoders']")" = 0 ]
    cpus=$(python3 -c 'import os; print(",".join(map(str, sorted(os.sched_getaffinity(0))[:2])))')
    taskset -c "$cpus" "$HOSTFLOW" run -q -i "$WORK/flows.ndjson" -o /dev/null --stats "$WORK/cpu2.json"
    w=$(json_get "$WORK/cpu2.json" "d['workers']") dec=$(json_get "$WORK/cpu2.json" "d['decoders']")
    check "taskset -c $cpus: a worker per CPU, at most (a quota may allow fewer)" \
        [ "$w" -ge 1 -a "$w" -le "$(echo "$cpus" | tr ',' '\n' | wc -l)" ]
    check "as many decoder threads as workers when there are several" \
        [ "$dec" = "$([ "$w" -gt 1 ] && echo "$w" || echo 0)" ]
fi

# SIGUSR1 prints the counters and the run goes on; SIGTERM flushes and exits
mkfifo "$WORK/fifo"
"$HOSTFLOW" run -j2 -i "$WORK/fifo" -o "$WORK/live" 2>"$WORK/live.err" &
pid=$!
exec 3>"$WORK/fifo"
head -n 20000 "$WORK/flows.ndjson" >&3
sleep 1
kill -USR1 $pid
sleep 0.5
check "SIGUSR1 prints the counters while running" grep -q 'hostflow counters after' "$WORK/live.err"
check "hostflow is still running after SIGUSR1" kill -0 $pid
check "lines from a pipe are read as they come, not when a buffer fills" \
    grep -q "input      20000 records" "$WORK/live.err"
kill -TERM $pid
wait $pid
rc=$?
exec 3>&-
check "SIGTERM ends the run with status 0" [ $rc -eq 0 ]
check "SIGTERM flushes the open windows (records of all four granularities)" \
    sh -c "grep -c '\"granularity_s\":300' '$WORK/live' | grep -qv '^0$'"

# --- the workers' start: the analysis files read once for all ----------------
# Every worker runs the same text: an analysis that rewrites its own file
# when it is loaded (version 1 to version 2, as an editor's save while the
# workers are made) is version 1 in all four.  (Trusted: it writes.)  With
# the directory watched, the change is then reloaded like any other.
mkdir -p "$WORK/once"
cp "$ROOT/analyses/total.lua" "$WORK/once/"
cat >"$WORK/once/selfedit.lua" <<EOF
local hf = require "hostflow"
local VERSION = 1
local path = "$WORK/once/selfedit.lua"
local f = assert(io.open(path, "rb"))
local text = f:read("*a")
f:close()
local tmp = path .. "." .. tostring({}):sub(8) .. ".tmp"   -- each state its own, renamed
f = assert(io.open(tmp, "wb"))                              -- over the file at once
f:write((text:gsub("local VERSION = 1", "local VERSION = 2")))
f:close()
assert(os.rename(tmp, path))
return hf.analysis { name = "selfedit", state = { n = hf.counter() },
                     update = function(s) s.n = s.n + 1 end, result = function() return VERSION end }
EOF
cp "$WORK/once/selfedit.lua" "$WORK/selfedit.lua.v1"
cat >"$WORK/once.lua" <<EOF
return { analyses = { dir = "$WORK/once", trusted = { "selfedit" }, reload = false } }
EOF
"$HOSTFLOW" run -q -c "$WORK/once.lua" -j4 -i "$WORK/flows.ndjson" -o "$WORK/once.out"
check "a file saved while the workers are made: every worker runs the text read once" \
    sh -c "[ \$(grep -c '\"selfedit\":1' '$WORK/once.out') -gt 1000 ] && ! grep -q '\"selfedit\":2' '$WORK/once.out'"
check "... (the file did change)" grep -q "local VERSION = 2" "$WORK/once/selfedit.lua"
cp "$WORK/selfedit.lua.v1" "$WORK/once/selfedit.lua"
sed -i 's/, reload = false//' "$WORK/once.lua"
{ sleep 2; cat "$WORK/flows.ndjson"; } |
    "$HOSTFLOW" run -c "$WORK/once.lua" -j4 -i - -o "$WORK/watched.out" 2>"$WORK/watched.err"
check "watched, the change made while the workers were made is reloaded" \
    sh -c "grep -q 'analyses: a file changed while the workers were made' '$WORK/watched.err' &&
           grep -q 'selfedit: reloaded' '$WORK/watched.err'"
check "... no window has records of both texts, and the new one runs" python3 -c '
import collections, json, sys
texts = collections.defaultdict(set)
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("@type") == "host_stats":
        texts[(r["window"]["start_ms"], r["window"]["granularity_s"])].add(r["stats"].get("selfedit"))
sys.exit(not texts or any(len(t) > 1 for t in texts.values()) or {2} not in texts.values())' "$WORK/watched.out"

# An analysis's sample run (its check at load) runs once, in worker 0, not
# in every worker: with no flows, update runs only there.
mkdir -p "$WORK/sample"
cat >"$WORK/sample/counted.lua" <<EOF
local hf = require "hostflow"
local seen = false
return hf.analysis { name = "counted", state = { n = hf.counter() },
  update = function(s)
    if not seen then
      seen = true
      local f = assert(io.open("$WORK/sample.runs", "a"))
      f:write("a sample run\n")
      f:close()
    end
    s.n = s.n + 1
  end,
  result = function(s) return s.n end }
EOF
cat >"$WORK/sample.lua" <<EOF
return { analyses = { dir = "$WORK/sample", trusted = { "counted" } } }
EOF
: >"$WORK/empty.ndjson"
"$HOSTFLOW" run -q -c "$WORK/sample.lua" -j4 -i "$WORK/empty.ndjson" -o /dev/null
check "four workers, one sample run of an analysis" [ "$(wc -l <"$WORK/sample.runs")" -eq 1 ]
finish
