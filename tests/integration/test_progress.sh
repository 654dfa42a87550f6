#!/bin/bash
# test_progress.sh -- hostflow run --progress.  Under a pseudo-terminal
# (script(1)): a bar redrawn in place with the rate and the ETA, the log
# lines going above it, a newline after its last state.  On a pipe or in a
# file: one plain line every interval, counts that only grow, a last line
# that has the whole input.
source "$(dirname "$0")/assert.sh"
SAMPLE=$ROOT/contrib/sample-flows.ndjson.gz
PLAIN=$WORK/sample.ndjson
zcat "$SAMPLE" >"$PLAIN"
NLINES=$(wc -l <"$PLAIN")

# slow.sh: the sample in six parts, 0.3 s apart (a collector's pipe)
cat >"$WORK/slow.sh" <<EOF
#!/bin/bash
for i in 0 1 2 3 4 5; do
    sed -n "\$((i * $NLINES / 6 + 1)),\$(((i + 1) * $NLINES / 6))p" '$PLAIN'
    sleep 0.3
done
EOF
chmod +x "$WORK/slow.sh"

# Not a terminal: a line every interval
"$WORK/slow.sh" | "$HOSTFLOW" run -q -i - -o /dev/null --progress=200ms 2>"$WORK/pipe.err"
grep '^hostflow: progress:' "$WORK/pipe.err" >"$WORK/pipe.lines"
check "on a pipe, a line every interval (six parts 0.3 s apart: at least 4)" \
    test "$(wc -l <"$WORK/pipe.lines")" -ge 4
check "... each with the records, the rate and the time, no share (no size)" \
    bash -c "! grep -vE '^hostflow: progress: [0-9,]+ records, [0-9,]+ records/s, [0-9:]+ elapsed(, done)?\$' '$WORK/pipe.lines'"
check "... counts that only grow" \
    bash -c "tr -d , <'$WORK/pipe.lines' | awk '{print \$3}' | sort -c -n"
check "... and the last line has every record, done" \
    bash -c "tail -n 1 '$WORK/pipe.lines' | sed 's/\\([0-9]\\),/\\1/g' | grep -q ' $NLINES records, .*, done\$'"
check "... nothing but progress on stderr with -q" bash -c "! grep -v '^hostflow: progress:' '$WORK/pipe.err'"

"$HOSTFLOW" run -q -i "$SAMPLE" -o /dev/null --progress 2>"$WORK/file.err"
check "from a file, the share of its size: the last line says 100% of 1.x MiB, every record" \
    bash -c "tail -n 1 '$WORK/file.err' | grep -qE '^hostflow: progress: 100% of 1\.[0-9] MiB, 50,000 records, [0-9,]+ records/s, [0-9:]+ elapsed, done\$'"

check "a bad interval is refused before any input is read" \
    bash -c "! '$HOSTFLOW' run -i '$SAMPLE' -o /dev/null --progress=often 2>'$WORK/bad.err' &&
             grep -q 'progress: expected how often' '$WORK/bad.err'"

# A terminal: script(1) gives hostflow a pseudo-terminal for stderr (and
# stdout).  From the pipe, the warnings about its bad lines come while the
# status line is shown.  (stdin /dev/null: script must not read a terminal
# it may not own, under timeout(1).)
script -qfec "'$HOSTFLOW' run -j1 -i '$SAMPLE' -o /dev/null --progress" /dev/null >"$WORK/tty.out" 2>&1 </dev/null
script -qfec "'$WORK/slow.sh' | '$HOSTFLOW' run -i - -o /dev/null --progress" /dev/null \
    >"$WORK/tty-pipe.out" 2>&1 </dev/null
python3 - "$WORK/tty.out" "$WORK/tty-pipe.out" >"$WORK/tty.verdict" <<'PY'
import re, sys
ERASE = "\r\x1b[K"
def text(path):                                   # newline="": keep the \r as written
    return open(path, encoding="utf-8", errors="replace", newline="").read()
out, pipe = text(sys.argv[1]), text(sys.argv[2])
draws = out.split(ERASE)[1:]                      # each redraw starts by erasing the line
bars = [d.split("\r\n")[0] for d in draws if d.startswith("[")]
ok = {}
ok["bar"] = bool(bars) and all(re.match(r"\[[#.]{10,}\] +\d+%  ", b) for b in bars)
ok["redrawn in place"] = len(draws) >= 2 and "\n" not in "".join(d.split("\r\n")[0] for d in draws)
ok["ends at 100%, done, then a newline"] = bool(re.search(r"\] 100%  .* 50,000 records .*done\r\n", out))
ok["no log text on a bar's line"] = not re.search(r"(ETA [0-9:?]+|done)hostflow:", out)
ok["the counters follow on lines of their own"] = "\r\nhostflow counters after" in out
pdraws = [d.split("\r\n")[0] for d in pipe.split(ERASE)[1:]]
status = [d for d in pdraws if re.match(r"[0-9,]+ records  ", d)]
ok["from a pipe: no bar, the count grows, done at the end"] = (len(status) >= 3
    and not any(d.startswith("[") for d in pdraws)
    and re.fullmatch(r"[0-9,]+ records  [0-9,]+/s  .* read  [0-9:]+  done", status[-1]) is not None)
# a log line written while the status is shown erases it, goes above it,
# and the status is drawn again below it
warned = [d for d in pipe.split(ERASE)[1:] if d.startswith("hostflow: warning")]
ok["log lines go above the status line (%d of them)" % len(warned)] = bool(warned) and all(
    re.match(r"hostflow: warning: [^\r\n]*\r\n[0-9,]+ records  ", d) for d in warned)
for k, v in ok.items():
    print(("ok" if v else "not ok") + " " + k)
PY
while read -r verdict what; do
    check "on a terminal: $what" test "$verdict" = ok
done < <(sed 's/^not ok /not_ok /' "$WORK/tty.verdict")
finish
