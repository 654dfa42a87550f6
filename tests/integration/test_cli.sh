#!/bin/bash
# test_cli.sh -- the command line and the configuration file: help, and bad
# flags or settings stop hostflow before it reads input, naming what is wrong.
. "$(dirname "$0")/assert.sh"

out=$WORK/out err=$WORK/err
flow='{"ipfix.sourceIPv4Address":"10.0.0.1","ipfix.destinationIPv4Address":"192.0.2.1","ipfix.protocolIdentifier":6,"ipfix.packetDeltaCount":1,"ipfix.octetDeltaCount":60,"ipfix.flowStartMilliseconds":1764165600000,"ipfix.flowEndMilliseconds":1764165601000}'

# fails_with "MESSAGE PART" ARGS...: exits 2, says MESSAGE PART, writes no record
fails_with() {
    local want=$1; shift
    echo "$flow" | "$HOSTFLOW" "$@" >"$out" 2>"$err"
    local rc=$?
    [ $rc -eq 2 ] && grep -qF -- "$want" "$err" && [ ! -s "$out" ] || {
        echo "  exit $rc; stderr: $(cat "$err")"; return 1; }
}

conf() { printf '%s\n' "$1" >"$WORK/c.lua"; echo "$WORK/c.lua"; }

check "--help lists the commands" sh -c "'$HOSTFLOW' --help | grep -q 'run '"
check "run --help says what each flag does" sh -c "'$HOSTFLOW' run --help | grep -q -- '--lateness'"
check "an unknown command is refused" fails_with 'unknown command "frobnicate"' frobnicate
check "a bad granularity is refused" fails_with '-w: expected a whole number of seconds' run -w 10s,1.5s
check "a granularity below a second is refused" fails_with 'expected a whole number of seconds >= 1' run -w 500ms
check "a bad network is refused" fails_with '"10.0.0.300/8"' run -n 10.0.0.300/8
check "a bad lateness is refused" fails_with '-l: expected a duration' run -l soon
check "a bad worker count is refused" fails_with '-j: expected a whole number from 0 to 256' run -j many
check "a missing input file is named" fails_with 'nonexistent.ndjson: cannot open' run -i "$WORK/nonexistent.ndjson"
check "a stray argument is refused" fails_with 'unexpected argument "extra"' run extra
check "a config syntax error names the file and line" fails_with "c.lua:2: unexpected symbol" run -c "$(conf 'return {')"
check "a config that returns no table is refused" fails_with 'expected the file to return a table' run -c "$(conf 'return 42')"
check "an unknown config key is named" fails_with 'windos: unknown key' run -c "$(conf 'return { windos = {"10s"} }')"
check "a mistyped config value names key and expectation" \
    fails_with 'windows[2]: expected a whole number of seconds' run -c "$(conf 'return { windows = {"10s", "x"} }')"
check "a bad network in the config names its index" \
    fails_with 'networks[1]: expected a network' run -c "$(conf 'return { networks = {"banana"} }')"
check "a bad memory size is refused" fails_with 'memory.max_bytes: expected a size' run -c "$(conf 'return { memory = { max_bytes = "lots" } }')"
check "a missing analyses directory is named" fails_with 'analyses.dir: cannot read directory' run -a "$WORK/none"
mkdir -p "$WORK/bad-analyses"
echo 'return { name = "broken", state = {}, update = 42 }' >"$WORK/bad-analyses/broken.lua"
check "a broken analysis stops the start with its file and problem" \
    fails_with "broken.lua: analysis 'broken': update must be a function" run -a "$WORK/bad-analyses"
echo 'return {' >"$WORK/bad-analyses/broken.lua"
check "an analysis with a syntax error names file and line" fails_with "broken.lua:2: unexpected symbol" run -a "$WORK/bad-analyses"

# one declaration per key: every key is documented in conf/hostflow.lua and
# in hostflow config, and --help shows every key that has a flag
every_key_in_conf() {
    local k missing=""
    for k in $("$HOSTFLOW" config --names); do
        grep -qE "(^|[^a-z_])${k##*.}( =|\"\] =)" "$ROOT/conf/hostflow.lua" || missing="$missing $k"
    done
    [ -z "$missing" ] || { echo "  not in conf/hostflow.lua:$missing"; return 1; }
}
check "conf/hostflow.lua mentions every key of the configuration" every_key_in_conf
check "hostflow config documents every key" sh -c "[ \$('$HOSTFLOW' config | grep -c '^  [a-z]') -eq \$('$HOSTFLOW' config --names | wc -l) ]"

check "flags override the configuration file" sh -c "echo '$flow' | '$HOSTFLOW' run -q -c '$(conf 'return { windows = {"1m"} }')' -w 10s | grep -q '\"granularity_s\":10'"
check "a good configuration runs" sh -c "echo '$flow' | '$HOSTFLOW' run -q -c '$ROOT/conf/hostflow.lua' | grep -c host_stats | grep -qx 4"
finish
