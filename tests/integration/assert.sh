# assert.sh -- tiny assertions for the integration tests (sourced).
#
#   check "what is being checked" COMMAND...    passes when COMMAND exits 0
#   finish                                      prints "N passed, N failed", exits
#
# Paths: $ROOT is the repository, $HOSTFLOW the binary, $WORK a temporary
# directory removed at exit.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HOSTFLOW=$ROOT/hostflow
FLOWGEN=$ROOT/build/tools/flowgen
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
T_PASSED=0
T_FAILED=0

check() {
    local what=$1; shift
    if "$@"; then
        T_PASSED=$((T_PASSED + 1)); echo "ok - $what"
    else
        T_FAILED=$((T_FAILED + 1)); echo "not ok - $what"
    fi
}

finish() {
    echo "$T_PASSED passed, $T_FAILED failed"
    [ "$T_FAILED" -eq 0 ]
    exit $?
}

# json_get FILE EXPR: a value from a JSON file, EXPR in Python syntax on `d`.
json_get() {
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# json_true FILE EXPR: succeeds when EXPR (Python, on `d`) is true of the file.
json_true() {
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"
}
