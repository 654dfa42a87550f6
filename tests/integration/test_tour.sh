#!/bin/bash
# test_tour.sh -- the README's tour of alerts and profiles ("Hosts that
# behave unlike themselves", up to "Merge logs") works exactly as written:
# its shell blocks run in order, in a copy of the tree's layout (the binary,
# lua/, conf/, contrib/, build/tools/, a copy of analyses/), and each one followed by
# a plain block prints exactly that; the Lua block is saved where its first
# line says (analyses/busy_hours.lua), as the tour tells the reader to; the
# counters say what the prose says.
. "$(dirname "$0")/assert.sh"

TREE=$WORK/tree
mkdir -p "$TREE/build"
ln -s "$ROOT/lua" "$TREE/lua"
ln -s "$ROOT/conf" "$TREE/conf"
ln -s "$ROOT/contrib" "$TREE/contrib"
ln -s "$ROOT/build/tools" "$TREE/build/tools"
cp -r "$ROOT/analyses" "$TREE/analyses"
cat >"$TREE/hostflow" <<EOF
#!/bin/sh
HOSTFLOW_HOME=$TREE exec $HOSTFLOW "\$@"
EOF
chmod +x "$TREE/hostflow"

# the blocks of the section, in order: WORK/blocks/NN.LANG
python3 - "$ROOT/README.md" "$WORK/blocks" <<'PY'
import os, re, sys
text = open(sys.argv[1]).read()
section = text[text.index("### Hosts that behave unlike themselves"):text.index("**Merge logs.**")]
os.makedirs(sys.argv[2])
for i, (lang, body) in enumerate(re.findall(r"^```(\w*)\n(.*?)^```$", section, re.S | re.M)):
    open(os.path.join(sys.argv[2], "%02d.%s" % (i, lang or "out")), "w").write(body)
PY

cd "$TREE" || exit 1
ok=1
n=0
for b in "$WORK"/blocks/*; do
    case $b in
    *.sh)
        n=$((n + 1))
        bash -e "$b" >"$WORK/stdout" 2>"$WORK/stderr.$n" || { echo "  block $(basename "$b") failed:"; cat "$b" "$WORK/stderr.$n"; ok=0; }
        last=$b
        ;;
    *.out)
        if ! diff "$b" "$WORK/stdout" >"$WORK/diff"; then
            echo "  the output of $(basename "$last") is not the README's:"; head -c 3000 "$WORK/diff"; ok=0
        fi
        ;;
    *.lua)
        dest=$(head -n 1 "$b" | sed -n 's/^-- \([^:]*\.lua\):.*/\1/p')
        [ -n "$dest" ] && cp "$b" "$TREE/$dest"
        ;;
    esac
done
check "every shell block of the tour runs, and prints what the README shows" [ $ok -eq 1 ]
check "the tour saved its rule where it says" [ -f "$TREE/analyses/busy_hours.lua" ]
check "the counters of the first run: 'alerts  1 raised, 1 updated, 8 held while open'" \
    grep -q 'alerts     1 raised, 1 updated, 8 held while open' "$WORK/stderr.1"
finish
