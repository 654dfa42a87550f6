#!/bin/bash
# test_top.sh -- the --top screen as a person sees it: run under tmux (a
# server of its own), read with capture-pane, and its figures checked
# against the records of the same run (the busiest hosts of the window it
# names, their flows, packets and bytes; an alert).  Until the run loop
# writes to registered outputs, the top output is fed by view_feed from
# hostflow's records, through the output's table as the run loop will.
. "$(dirname "$0")/assert.sh"
FEED=$ROOT/build/tools/view_feed
NETS=10.0.0.0/8,2001:db8::/32
SOCK=hostflow-top-$$
command -v tmux >/dev/null || { echo "tmux is missing (make deps)"; exit 1; }
"$FLOWGEN" --seed 21 --flows 40000 --hosts 300 --rate 1000 --late 0 --malformed 0 >"$WORK/flows"
mkfifo "$WORK/in" "$WORK/recs"
cat >"$WORK/run.sh" <<SH
"$HOSTFLOW" run -q -j1 -i "$WORK/in" -o - -n $NETS | tee "$WORK/records" >"$WORK/recs" &
"$FEED" -n $NETS -o top: -s top.rows=10 "$WORK/recs" 2>"$WORK/feed.err"
SH
tmux -L "$SOCK" new-session -d -x 130 -y 40 "bash $WORK/run.sh"
trap 'tmux -L "$SOCK" kill-server 2>/dev/null; rm -rf "$WORK"' EXIT
exec 3>"$WORK/in"
head -n 30000 "$WORK/flows" >&3

screen() { tmux -L "$SOCK" capture-pane -p >"$WORK/screen"; }
wait_for() {
    for _ in $(seq 150); do screen; grep -q "$1" "$WORK/screen" && return 0; sleep 0.2; done
    cat "$WORK/screen"; return 1
}
check "the screen appears and names its window" wait_for "hostflow  10 s window"
sleep 1; screen; cp "$WORK/screen" "$WORK/screen1"
sed -n 1,16p "$WORK/screen1"

# compare_screen FILE: its rows against the records of the window it names
compare_screen() {
    python3 - "$1" "$WORK/records" <<'PY'
import json, re, sys, datetime
scr = open(sys.argv[1]).read().splitlines()
m = re.search(r"(\d+) s window (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC\s+(\d+) hosts", scr[0])
g, when, nhosts = int(m.group(1)), m.group(2), int(m.group(3))
start = int(datetime.datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
recs = []
for l in open(sys.argv[2]):
    if l.endswith("}\n"): recs.append(json.loads(l))   # tee may be mid-line
win = {r["src_ip"]: r["stats"] for r in recs if r.get("@type") == "host_stats"
       and r["window"]["granularity_s"] == g and r["window"]["start_ms"] == start}
assert len(win) == nhosts, (len(win), nhosts)
rows = []
for l in scr[scr.index(next(x for x in scr if x.startswith("HOST"))) + 1:]:
    if not l.strip(): break
    f = l.split()
    rows.append((f[0], int(f[1]), int(f[2]), int(f[3])))
assert len(rows) == min(10, nhosts), rows
for ip, flows, packets, bytes_ in rows:
    t = win[ip]["total"]
    assert (t["flow"], t["packets"], t["bytes"]) == (flows, packets, bytes_), (ip, t, flows, packets, bytes_)
best = sorted((s["total"]["bytes"] for s in win.values()), reverse=True)[:len(rows)]
assert [r[3] for r in rows] == best, ([r[3] for r in rows], best)
print("screen window", start, "hosts", nhosts, "rows", len(rows))
PY
}
check "its busiest hosts are the window's top 10 by bytes, with their records' figures" compare_screen "$WORK/screen1"

# more flows: the screen moves on by itself, and is right again
first=$(head -1 "$WORK/screen1")
tail -n +30001 "$WORK/flows" >&3
moved() { for _ in $(seq 100); do screen; [ "$(head -1 "$WORK/screen")" != "$first" ] && sleep 0.5 && screen && return 0; sleep 0.2; done; return 1; }
check "a closing window redraws the screen" moved
check "the redrawn screen agrees with the records too" compare_screen "$WORK/screen"
exec 3>&-
finish
