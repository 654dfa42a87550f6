#!/bin/bash
# run.sh -- every test of hostflow, summed into one closing line.
#
#   unit         tests/unit/test_*.c, built with ASan+UBSan (build/unit/)
#   fuzz         tests/fuzz/fuzz_*.c, libFuzzer + ASan, $FUZZ_SECONDS each (default 20)
#   spec         tests/spec/*_spec.lua, busted under LuaJIT
#   lint         luacheck over every Lua file; the core's layers (tests/layers.sh)
#   integration  tests/integration/test_*.sh (real servers started by the tests)
#
# Each suite reports "N passed, N failed[, N skipped]"; the last line of this
# script is their sum, and it exits non-zero when anything failed.
#   tests/run.sh [unit|fuzz|spec|integration]...   run only some suites
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
export HOSTFLOW_LIB=$ROOT/build/libhostflow.so
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
LOG=$ROOT/build/test-logs
mkdir -p "$LOG"
passed=0 failed=0 skipped=0
failures=()

# add_counts NAME OUTPUT_FILE STATUS: read "N passed, N failed[, N skipped]"
# from the last such line of the output; with none, count the whole as one test.
add_counts() {
    local name=$1 out=$2 status=$3
    local line
    line=$(grep -E '^[A-Za-z:]*[ ]*[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
    if [ -n "$line" ]; then
        local p f s
        p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
        f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
        s=$(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+' || true)
        passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
        if [ "$f" -gt 0 ] || { [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; }; then
            [ "$f" -eq 0 ] && failed=$((failed + 1))
            failures+=("$name")
        fi
        printf '  %-40s %s\n' "$name" "$line"
    elif [ "$status" -eq 0 ]; then
        passed=$((passed + 1)); printf '  %-40s ok\n' "$name"
    elif [ "$status" -eq 77 ]; then
        skipped=$((skipped + 1)); printf '  %-40s skipped: %s\n' "$name" "$(tail -n 1 "$out")"
    else
        failed=$((failed + 1)); failures+=("$name"); printf '  %-40s FAILED (exit %d)\n' "$name" "$status"
    fi
}

# run_one NAME COMMAND...: a test that hangs is stopped after
# $TEST_TIMEOUT seconds (default 900) and counted as failed
run_one() {
    local name=$1; shift
    local out=$LOG/$(tr '/ ' '__' <<<"$name").log
    timeout --kill-after=10 "${TEST_TIMEOUT:-900}" "$@" >"$out" 2>&1
    local status=$?
    [ $status -eq 124 ] && echo "timed out after ${TEST_TIMEOUT:-900} s" >>"$out"
    add_counts "$name" "$out" $status
}

suite_unit() {
    echo "unit tests (ASan+UBSan)"
    for t in build/unit/test_*; do
        [ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
    done
}

suite_fuzz() {
    echo "fuzzing (${FUZZ_SECONDS}s per target)"
    for f in build/fuzz/fuzz_*; do
        [ -x "$f" ] || continue
        local name seeds corpus
        name=$(basename "$f")
        seeds=tests/fuzz/seeds/${name#fuzz_}
        corpus=$(mktemp -d)
        [ -d "$seeds" ] && cp -rL "$seeds"/. "$corpus"/ 2>/dev/null   # -L: a seed may link to a real file
        # -error_exitcode: libFuzzer's own default, 77, would read as "skipped"
        run_one "fuzz/$name" "$f" -max_total_time="$FUZZ_SECONDS" -max_len=65536 \
            -rss_limit_mb=2048 -print_final_stats=1 -error_exitcode=1 \
            -artifact_prefix="$LOG/$name-" "$corpus"
        rm -rf "$corpus"
    done
}

suite_spec() {
    echo "busted specs (LuaJIT)"
    local out=$LOG/busted.log
    timeout --kill-after=10 "${TEST_TIMEOUT:-900}" busted --lua=luajit -o TAP tests/spec >"$out" 2>&1
    local status=$?
    local p f
    p=$(grep -cE '^ok ' "$out")
    f=$(grep -cE '^not ok ' "$out")
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    echo "$p passed, $f failed" >>"$out"
    add_counts "spec (busted)" "$out" "$status"
    [ "$f" -gt 0 ] && grep -A8 -E '^not ok ' "$out" | head -60
}

suite_lint() {
    echo "lint"
    run_one "lint/luacheck" luacheck -q --no-color lua analyses tests/spec
    run_one "lint/layers" tests/layers.sh
}

suite_integration() {
    echo "integration tests"
    for t in tests/integration/test_*.sh; do
        [ -x "$t" ] && run_one "integration/$(basename "$t" .sh)" "$t"
    done
}

suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(unit fuzz spec lint integration)
for s in "${suites[@]}"; do "suite_$s"; done

if [ ${#failures[@]} -gt 0 ]; then
    echo
    echo "failed: ${failures[*]} (logs in build/test-logs/)"
fi
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
