#!/bin/bash
# test_top.sh -- `hostflow run --top` as a person sees it: a real run on a
# live stream (a FIFO the test holds open) under tmux (a server of its own),
# its screen read with capture-pane; records go to a file (-o FILE).  Once
# the input ends, the screens taken during the run are checked against the
# records of the same run: the window each names, its hosts, its busiest
# hosts by bytes with their flows, packets and bytes; and the input figures
# against the run's own counters.
. "$(dirname "$0")/assert.sh"
NETS=10.0.0.0/8,2001:db8::/32
SOCK=hostflow-top-$$
command -v tmux >/dev/null || { echo "tmux is missing (make deps)"; exit 1; }
"$FLOWGEN" --seed 21 --flows 40000 --hosts 300 --rate 1000 --late 0 --malformed 0 >"$WORK/flows"
mkfifo "$WORK/in"
cat >"$WORK/run.sh" <<SH
"$HOSTFLOW" run -j1 -i "$WORK/in" -o "$WORK/records" -n $NETS --top --stats "$WORK/stats.json" 2>"$WORK/run.err"
echo \$? >"$WORK/rc"
SH
tmux -L "$SOCK" new-session -d -x 130 -y 40 "bash $WORK/run.sh"
trap 'tmux -L "$SOCK" kill-server 2>/dev/null; rm -rf "$WORK"' EXIT
exec 3>"$WORK/in"
head -n 30000 "$WORK/flows" >&3

# screen FILE: a capture of a whole screen (one that holds its last line)
screen() {
    for _ in $(seq 50); do
        tmux -L "$SOCK" capture-pane -p >"$1"
        grep -q '^hostflow  ' "$1" && grep -q '^OPEN ALERTS' "$1" && return 0
        sleep 0.1
    done
    return 1
}
# wait_for TEXT FILE: until a whole screen shows TEXT (a regular expression)
wait_for() {
    for _ in $(seq 150); do screen "$2" && grep -qE "$1" "$2" && return 0; sleep 0.2; done
    cat "$2"; return 1
}
check "the screen appears and names its window" wait_for "^hostflow  10 s window" "$WORK/screen1"
sed -n 1,16p "$WORK/screen1"

# more flows: the screen moves on by itself
first=$(head -1 "$WORK/screen1")
tail -n +30001 "$WORK/flows" >&3
moved() {
    for _ in $(seq 150); do
        screen "$WORK/screen2" && [ "$(head -1 "$WORK/screen2")" != "$first" ] && return 0
        sleep 0.2
    done
    return 1
}
check "a closing window redraws the screen" moved
check "records are not on the screen: they go to the file" sh -c "! grep -q host_stats '$WORK/screen1' '$WORK/screen2'"

# the end of input: the run finishes, the records file is whole
exec 3>&-
for _ in $(seq 300); do [ -s "$WORK/rc" ] && break; sleep 0.1; done
check "the run ends cleanly when its input does" grep -qx 0 "$WORK/rc"

# compare_screen FILE: its rows against the records of the window it names
compare_screen() {
    python3 - "$1" "$WORK/records" "$WORK/stats.json" <<'PY'
import json, re, sys, datetime
scr = open(sys.argv[1]).read().splitlines()
m = re.search(r"(\d+) s window (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC\s+(\d+) hosts", scr[0])
g, when, nhosts = int(m.group(1)), m.group(2), int(m.group(3))
start = int(datetime.datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
recs = [json.loads(l) for l in open(sys.argv[2])]
win = {r["src_ip"]: r["stats"] for r in recs if r.get("@type") == "host_stats"
       and r["window"]["granularity_s"] == g and r["window"]["start_ms"] == start}
assert len(win) == nhosts, (len(win), nhosts)
m = re.search(r"records out (\d+)\s+lag (\S+)\s+late (\d+)\s+rejected (\d+)", scr[1])
stats = json.load(open(sys.argv[3]))
assert 0 < int(m.group(1)) <= stats["records"] and m.group(2) == "-", scr[1]
assert int(m.group(4)) <= stats["rejected_total"], scr[1]
rows = []
for l in scr[scr.index(next(x for x in scr if x.startswith("HOST"))) + 1:]:
    if not l.strip(): break
    f = l.split()
    rows.append((f[0], int(f[1]), int(f[2]), int(f[3])))
assert 0 < len(rows) <= nhosts, rows
for ip, flows, packets, bytes_ in rows:
    t = win[ip]["total"]
    assert (t["flow"], t["packets"], t["bytes"]) == (flows, packets, bytes_), (ip, t, flows, packets, bytes_)
best = sorted((s["total"]["bytes"] for s in win.values()), reverse=True)[:len(rows)]
assert [r[3] for r in rows] == best, ([r[3] for r in rows], best)
print("  screen: window", start, "hosts", nhosts, "rows", len(rows))
PY
}
check "the first screen's busiest hosts are its window's, by bytes, with their records' figures" \
    compare_screen "$WORK/screen1"
check "the redrawn screen agrees with the records too" compare_screen "$WORK/screen2"
finish
