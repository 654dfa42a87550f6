# kafka_group.sh -- sourced, after assert.sh, by the tests that run several
# hostflow instances against one real broker (test_scale.sh,
# test_profiles_scale.sh): skips the test without java, starts the broker
# (tests/kafka/broker.sh) with its state in $WORK and its address in the
# environment, and at exit stops every instance whose pid is in PID, then
# the broker, copying $WORK to KEEP_WORK=DIR when that is set.
if ! command -v java >/dev/null 2>&1; then echo "skipped: java not found"; exit 77; fi
BROKER=$ROOT/tests/kafka/broker.sh
export KAFKA_STATE_DIR=$WORK/kafka KAFKA_OWNER_PID=$$
declare -A PID
stop_all() {
    local p
    for p in "${PID[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PID[@]}"; do wait "$p" 2>/dev/null; done
}
trap 'stop_all; "$BROKER" stop >/dev/null 2>&1; [ -n "${KEEP_WORK:-}" ] && cp -r "$WORK" "$KEEP_WORK"; rm -rf "$WORK"' EXIT
env=$("$BROKER" start) || { echo "the broker did not start"; "$BROKER" logs 50; exit 1; }
eval "$env"
