#!/bin/bash
# test_install.sh -- make install into a scratch root (DESTDIR), then the
# installed hostflow from outside the source tree: it finds its Lua side,
# analyses, sample and configuration there and writes the records the tree's
# binary writes; the same after the whole root is moved; a changed
# configuration survives a reinstall and make uninstall, which removes
# everything else.
source "$(dirname "$0")/assert.sh"
unset HOSTFLOW_HOME HOSTFLOW_LIB
export -n MAKEFLAGS MAKELEVEL MFLAGS          # a make of our own, not the caller's jobs
SAMPLE=$ROOT/contrib/sample-flows.ndjson.gz
D=$WORK/root
P=$D/usr/local
DATA=$P/share/hostflow

check "make install DESTDIR=... succeeds" \
    bash -c "make -s -C '$ROOT' install DESTDIR='$D' >'$WORK/install.log' 2>&1 || { cat '$WORK/install.log'; false; }"

# installed PATH...: each path exists under the scratch root
installed() {
    local missing=""
    for f in "$@"; do [ -e "$D/$f" ] || missing="$missing $f"; done
    [ -z "$missing" ] || { echo "  missing:$missing"; return 1; }
}
check "the binary, the Lua side, the analyses and the contrib files are installed" \
    installed usr/local/bin/hostflow usr/local/share/hostflow/lua/hostflow/init.lua \
    usr/local/share/hostflow/lua/hostflow/base.lua usr/local/share/hostflow/contrib/sample-flows.ndjson.gz \
    usr/local/share/hostflow/contrib/queries/top_talkers.lua \
    $(cd "$ROOT" && ls analyses/*.lua | sed 's|^|usr/local/share/hostflow/|')
check "the configuration is in /etc/hostflow" cmp -s "$ROOT/conf/hostflow.lua" "$D/etc/hostflow/hostflow.lua"
check "the man pages and the docs are installed" \
    installed usr/local/share/man/man1/hostflow.1 usr/local/share/man/man1/hostflow-run.1 \
    usr/local/share/man/man1/hostflow-check.1 usr/local/share/man/man1/hostflow-query.1 \
    usr/local/share/man/man5/hostflow.conf.5 usr/local/share/doc/hostflow/README.md \
    usr/local/share/doc/hostflow/contrib/docs/reference.md
check "the installed man pages render" \
    bash -c "man -l '$P/share/man/man5/hostflow.conf.5' 2>&1 | grep -q 'memory.max_bytes'"
check "nothing in the installation is writable by others" \
    bash -c "[ -z \"\$(find '$D' -perm -o+w ! -type l)\" ]"

# Outside the tree: a directory of its own, nothing of the tree on any path
mkdir -p "$WORK/elsewhere"
cd "$WORK/elsewhere" || exit 1
"$ROOT/hostflow" run -q -i "$SAMPLE" -o "$WORK/tree.ndjson"
"$P/bin/hostflow" run -q -i "$DATA/contrib/sample-flows.ndjson.gz" -o "$WORK/inst.ndjson" 2>"$WORK/inst.err"
check "the installed binary runs the installed sample" test -s "$WORK/inst.ndjson"
check "... and writes the tree's records (its analyses, its configuration's networks)" \
    bash -c "cmp -s <(sort '$WORK/tree.ndjson') <(sort '$WORK/inst.ndjson')"
"$P/bin/hostflow" check "$DATA/analyses/peer_number.lua" -n 1 >"$WORK/check.out" 2>&1
check "hostflow check runs on the installed sample by default" \
    grep -q "fed from $DATA/contrib/sample-flows.ndjson.gz" "$WORK/check.out"
check "hostflow query runs an installed script" \
    bash -c "'$P/bin/hostflow' query '$DATA/contrib/queries/top_talkers.lua' -q -i '$SAMPLE' -- 10.0.0.0/8 --top 3 | grep -q 10.221.177.114"

# The HTTP view's page comes from the installation (http.web not set: contrib/web there)
serves_page() {
    "$P/bin/hostflow" run -i /dev/null --http 127.0.0.1:0 2>"$WORK/http.err"
    grep -q "files from $DATA/contrib/web)" "$WORK/http.err" || { cat "$WORK/http.err"; return 1; }
    installed usr/local/share/hostflow/contrib/web/index.html usr/local/share/hostflow/contrib/web/app.js \
        usr/local/share/hostflow/contrib/web/vendor/uPlot.iife.min.js
}
check "the installed binary serves the HTTP view's page from the installation" serves_page

# The installed configuration is the one read: one granularity in it, one in the records
sed -i 's/windows = { "10s", "30s", "1m", "5m" }/windows = { "1m" }/' "$D/etc/hostflow/hostflow.lua"
"$P/bin/hostflow" run -q -i "$SAMPLE" -o "$WORK/conf.ndjson"
check "the installed configuration is read (windows = { \"1m\" } there)" \
    bash -c "grep -o '\"granularity_s\": *[0-9]*' '$WORK/conf.ndjson' | sort -u | grep -qx '\"granularity_s\": *60' &&
             [ \$(grep -o '\"granularity_s\": *[0-9]*' '$WORK/conf.ndjson' | sort -u | wc -l) -eq 1 ]"

# Moved whole (another DESTDIR, a relocated prefix): it finds its files beside itself
mv "$D" "$WORK/moved"
"$WORK/moved/usr/local/bin/hostflow" run -q -i "$SAMPLE" -o "$WORK/moved.ndjson"
check "a moved installation still finds its files and configuration" \
    bash -c "[ -s '$WORK/moved.ndjson' ] && cmp -s <(sort '$WORK/conf.ndjson') <(sort '$WORK/moved.ndjson')"
mv "$WORK/moved" "$D"

# Reinstall over a changed configuration, then uninstall
make -s -C "$ROOT" install DESTDIR="$D" >"$WORK/reinstall.log" 2>&1
check "a reinstall keeps a changed configuration and puts the new one beside it" \
    bash -c "grep -q 'windows = { \"1m\" }' '$D/etc/hostflow/hostflow.lua' &&
             cmp -s '$ROOT/conf/hostflow.lua' '$D/etc/hostflow/hostflow.lua.new'"
make -s -C "$ROOT" uninstall DESTDIR="$D" >"$WORK/uninstall.log" 2>&1
check "make uninstall leaves only the changed configuration" \
    bash -c "[ \"\$(cd '$D' && find . -type f)\" = ./etc/hostflow/hostflow.lua ]"
check "... and removes the directories it made" \
    bash -c "[ ! -e '$DATA' ] && [ ! -e '$P/share/doc/hostflow' ]"
cp "$ROOT/conf/hostflow.lua" "$D/etc/hostflow/hostflow.lua"
make -s -C "$ROOT" uninstall DESTDIR="$D" >>"$WORK/uninstall.log" 2>&1
check "with the configuration unchanged, nothing at all is left" \
    bash -c "[ -z \"\$(find '$D' -type f)\" ] && [ ! -e '$D/etc/hostflow' ]"
finish
