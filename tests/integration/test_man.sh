#!/bin/bash
# test_man.sh -- the man pages: made from the binary's --help and
# `hostflow config` (contrib/man/mkman.py), rendered by man, groff and
# mandoc without a warning, and complete: every flag of each command's
# --help and every configuration key is in its page.
source "$(dirname "$0")/assert.sh"
cd "$ROOT" || exit 1
PAGES="hostflow.1 hostflow-run.1 hostflow-check.1 hostflow-query.1 hostflow.conf.5"

made=0
for p in $PAGES; do
    contrib/man/mkman.py --hostflow "$HOSTFLOW" --version 0.0-test --datadir /usr/share/hostflow \
        --sysconfdir /etc/hostflow --docdir /usr/share/doc/hostflow \
        -o "$WORK/$p" "contrib/man/$p.in" 2>"$WORK/$p.err" && made=$((made + 1))
done
check "every page is made from its template" test "$made" -eq 5

# render PAGE: the page as text, 80 columns, no hyphenation to split words
render() { MANWIDTH=80 MAN_KEEP_FORMATTING= man --nh -l "$WORK/$1" 2>"$WORK/$1.man-err" | col -b; }

for p in $PAGES; do
    check "$p: groff -ww has no warning" \
        bash -c "groff -ww -man -Tutf8 -z '$WORK/$p' 2>&1 | { ! grep .; }"
    check "$p: mandoc -T lint has no warning" \
        bash -c "mandoc -T lint -W warning '$WORK/$p' 2>&1 | { ! grep .; }"
    render "$p" >"$WORK/$p.txt"
    check "$p: man -l renders it, NAME first, no error" \
        bash -c "grep -q '^NAME' '$WORK/$p.txt' && ! grep -q . '$WORK/$p.man-err'"
    check "$p: no placeholder is left" bash -c "! grep -q '@[A-Z]*[ a-z]*@' '$WORK/$p'"
done

# has_all PAGE WORDS...: each word is in the rendered page
has_all() {
    local page=$1 missing=""; shift
    for w in "$@"; do grep -qF -- "$w" "$WORK/$page.txt" || missing="$missing $w"; done
    [ -z "$missing" ] || { echo "  $page lacks:$missing"; return 1; }
}
flags() { "$HOSTFLOW" "$@" --help | grep -oE '(^|[ ,])--?[a-zA-Z][a-z-]*' | tr -d ' ,' | sort -u; }

check "hostflow-run(1) has every flag of run --help" has_all hostflow-run.1 $(flags run)
check "hostflow-check(1) has every flag of check --help" has_all hostflow-check.1 $(flags check)
check "hostflow-query(1) has every flag of query --help" has_all hostflow-query.1 $(flags query)
check "hostflow.conf(5) has every key of hostflow config" \
    has_all hostflow.conf.5 $("$HOSTFLOW" config --names)
check "hostflow(1) has every command" has_all hostflow.1 run check query config
check "the pages name the installed paths" \
    grep -q '/etc/hostflow/hostflow.lua' "$WORK/hostflow-run.1.txt"
check "a help text's line that starts with a dot is not a roff request" \
    bash -c "! grep -nE '^\.[a-z]' '$WORK/hostflow-query.1' | grep -vE '^[0-9]+:\.(TH|SH|SS|TP|PP|RS|RE|nf|fi|br|B|I|BR|BI|IR|RI|IP)( |$)'"
finish
