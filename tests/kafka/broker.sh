#!/usr/bin/env bash
# broker.sh -- a real single-node Apache Kafka broker (KRaft, no ZooKeeper) on
# 127.0.0.1 for hostflow's tests and CI, run from the org.apache.kafka:kafka_2.13
# jars of Maven Central.
#
# Kafka version: 4.4.0 (the newest 4.x on Maven Central when this was written;
# override with KAFKA_VERSION=...).
#
# Why 4.x works with Debian 12's librdkafka 2.0.2 (checked with kcat 1.7.1,
# which links it, using -d protocol): Kafka 4.0 removed old protocol versions
# (KIP-896), but every request librdkafka 2.0.2 sends is at or above the new
# minimums. What 4.4.0 advertises (min..max) against what 2.0.2 sends:
#   Produce 0..13 <- v7         Fetch 4..18 <- v11       ListOffsets 1..11 <- v2
#   Metadata 0..13 <- v4        OffsetCommit 2..10 <- v7 OffsetFetch 1..10 <- v7
#   FindCoordinator 0..6 <- v2  JoinGroup 0..9 <- v5     SyncGroup 0..5 <- v3
#   Heartbeat 0..4 <- v3        LeaveGroup 0..5 <- v1    InitProducerId 0..5 <- v4
#   ApiVersions 0..5 <- v3      OffsetForLeaderEpoch 2..4 <- v2
# librdkafka reports the "MsgVer1" and "ThrottleTime" features disabled (they
# need Fetch v2-v3, now gone) and picks MsgVer2 (Fetch >= v4): harmless.
# Tested and working against 4.4.0 (kcat, and a throwaway C program on the
# librdkafka 2.0.2 API): produce (acks=all, idempotent, none/gzip/snappy/lz4/
# zstd, delivery reports), plain consume, consumer groups with the classic
# protocol (range and cooperative-sticky assignors, two members, a member
# leaving and its partitions moving over), commitSync and committed(),
# committed offsets resumed by a later member of the same group,
# offsets_for_times and query_watermark_offsets, Admin CreateTopics and
# DeleteTopics, broker stop (SIGTERM or SIGKILL) and restart with kept data.
# The only noise: right after start an idempotent producer may log "Failed to
# acquire idempotence PID ... Coordinator load in progress: retrying" once.
# So no fallback to 3.x was needed. The script runs 3.x brokers too
# (KAFKA_VERSION=3.9.1 passes tests/integration/test_kafka_broker.sh): it
# picks the main classes (StorageTool, TopicCommand moved between versions)
# and the logging backend (reload4j for 3.x, log4j2 for 4.x) to match.
# kcat cannot create topics: `topic` runs Kafka's Java TopicCommand.
#
# Timings on this project's 2-core machine: first fetch (empty ~/.m2 and
# cache) 7-15 s for 92 jars, 54 MB; start on a warm cache 5-7 s (format
# included; up to ~12 s when the machine is busy), the very first start on a
# machine ~10-25 s more (class-data-sharing archives are dumped, see below);
# clean stop ~2.5 s; `topic` ~1-1.5 s.
#
# Usage: tests/kafka/broker.sh COMMAND [ARGS]
#   fetch                      download the jars once into the cache (start does it too)
#   start [KEY=VALUE ...]      start the broker (extra server properties as
#                              arguments, fresh start only), wait until it
#                              answers (60 s at most), print its env;
#                              if stopped with --keep-data, restart it on the
#                              same ports with the same data. Idempotent.
#   stop [--keep-data] [--kill]
#                              SIGTERM (SIGKILL after 20 s; --kill: SIGKILL at
#                              once, a crash); remove the data unless --keep-data.
#                              Idempotent.
#   pause / resume             = stop --keep-data / start
#   status                     exit 0 and print the env if the broker answers
#   env                        print the env of the running broker
#   topic NAME PARTITIONS [KEY=VALUE ...]
#                              create a topic (replication 1, topic configs as
#                              arguments), if absent, and wait for its leaders
#   logs [N]                   the last N (100) lines of the broker's log
#
# The env printed on stdout (everything else goes to stderr):
#   KAFKA_BROKERS=127.0.0.1:19092
#   KAFKA_STATE_DIR=/tmp/...
#   KAFKA_VERSION=4.4.0
# A test uses it so (not `eval "$(broker.sh start)"`, which hides a failure):
#   export KAFKA_STATE_DIR=$(mktemp -d) KAFKA_OWNER_PID=$$
#   trap 'tests/kafka/broker.sh stop' EXIT
#   env=$(tests/kafka/broker.sh start) || exit 1; eval "$env"
#   tests/kafka/broker.sh topic flows 4 || exit 1
#   ... clients on "$KAFKA_BROKERS" ...
#   tests/kafka/broker.sh pause; ...; tests/kafka/broker.sh resume   # outage
#
# Environment:
#   KAFKA_VERSION          Kafka version (4.4.0)
#   HOSTFLOW_CACHE         jar cache root ($HOME/.cache/hostflow); the jars go to
#                          $HOSTFLOW_CACHE/kafka-VERSION/jars (Maven's ~/.m2 also)
#   KAFKA_STATE_DIR        the broker's pid, config, data and logs
#                          (${TMPDIR:-/tmp}/hostflow-kafka-UID); give each
#                          concurrent broker its own, e.g. $(mktemp -d)
#   KAFKA_PORT             client port (19092; if busy and not set, the next
#                          free one is taken)
#   KAFKA_CONTROLLER_PORT  controller port (the next free one after the client port)
#   KAFKA_HEAP_OPTS        (-Xmx512m -Xms128m)
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to answer (60)
#   KAFKA_STOP_TIMEOUT     seconds between SIGTERM and SIGKILL (20)
#   KAFKA_OWNER_PID        if set (e.g. to a test runner's $$), the broker is
#                          stopped and its data removed once that process is gone
#   KAFKA_CDS              0: no class-data-sharing archives (1)
#
# Needs: java (17+ for Kafka 4), mvn (first fetch only), kcat.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}
CACHE=${HOSTFLOW_CACHE:-${HOME:-/tmp}/.cache/hostflow}
KDIR=$CACHE/kafka-$KAFKA_VERSION
JARS=$KDIR/jars
STATE=${KAFKA_STATE_DIR:-${TMPDIR:-/tmp}/hostflow-kafka-$(id -u)}
case $STATE in /*) ;; *) STATE=$PWD/$STATE ;; esac
START_TIMEOUT=${KAFKA_START_TIMEOUT:-60}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-20}
HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx512m -Xms128m}
# the command-line tools (StorageTool, TopicCommand) only need a fast JVM start
TOOL_OPTS="-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto"

say() { echo "broker.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found${2:+ ($2)}"; }
major() { echo "${KAFKA_VERSION%%.*}"; }

JAVA_VERSION=
need_java() {
    need java "Kafka needs a Java runtime"
    local v
    JAVA_VERSION=$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)
    v=${JAVA_VERSION%%[._-]*}
    if [ "$(major)" -ge 4 ] && [ -n "$v" ] && [ "$v" -lt 17 ]; then
        die "Kafka $KAFKA_VERSION needs Java 17 or newer, java is $v"
    fi
    return 0
}

# ---------------------------------------------------------------- fetch

# jar_has JAR CLASS-PATH: whether the jar holds that .class
jar_has() {
    if command -v unzip >/dev/null 2>&1; then
        unzip -Z1 "$1" 2>/dev/null | grep -x "$2.class" >/dev/null
    else
        jar tf "$1" 2>/dev/null | grep -x "$2.class" >/dev/null
    fi
}

# find_class DIR CLASS...: the first CLASS (dotted) that a jar of DIR holds
find_class() {
    local dir=$1 c j; shift
    for c in "$@"; do
        for j in "$dir"/*.jar; do
            if jar_has "$j" "${c//.//}"; then echo "$c"; return 0; fi
        done
    done
    return 1
}

fetch() {
    [ -f "$KDIR/.complete" ] && return 0
    need_java; need mvn "needed once to fetch the Kafka jars"
    mkdir -p "$CACHE"
    local lock=$CACHE/.kafka-$KAFKA_VERSION.lock
    exec 8>"$lock"
    flock 8                      # one fetch at a time per version
    if [ -f "$KDIR/.complete" ]; then exec 8>&-; return 0; fi
    local tmp binding=() t0=$SECONDS
    tmp=$(mktemp -d "$CACHE/.kafka-$KAFKA_VERSION.XXXXXX")
    if [ "$(major)" -lt 4 ]; then
        # Kafka 3.x logs through log4j 1 (reload4j), 4.x through log4j2
        binding=(-Dslf4j.binding.groupId=org.slf4j -Dslf4j.binding.artifactId=slf4j-reload4j
                 -Dslf4j.binding.version=1.7.36)
    fi
    say "fetching Kafka $KAFKA_VERSION jars with Maven into $KDIR (once)"
    if ! mvn -B -q -f "$HERE/pom.xml" -Dkafka.version="$KAFKA_VERSION" "${binding[@]}" \
            dependency:copy-dependencies -DincludeScope=runtime \
            -DoutputDirectory="$tmp/jars" >"$tmp/mvn.log" 2>&1; then
        tail -n 40 "$tmp/mvn.log" >&2
        rm -rf "$tmp"
        die "mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
    fi
    local broker storage topics
    broker=$(find_class "$tmp/jars" kafka.Kafka) \
        || { rm -rf "$tmp"; die "no kafka.Kafka in the fetched jars"; }
    storage=$(find_class "$tmp/jars" kafka.tools.StorageTool org.apache.kafka.tools.StorageTool) \
        || { rm -rf "$tmp"; die "no StorageTool in the fetched jars"; }
    topics=$(find_class "$tmp/jars" org.apache.kafka.tools.TopicCommand kafka.admin.TopicCommand) \
        || { rm -rf "$tmp"; die "no TopicCommand in the fetched jars"; }
    printf 'BROKER_MAIN=%s\nSTORAGE_MAIN=%s\nTOPICS_MAIN=%s\n' "$broker" "$storage" "$topics" \
        >"$tmp/classes.env"
    rm -f "$tmp/mvn.log"
    rm -rf "$KDIR"
    mv "$tmp" "$KDIR"
    touch "$KDIR/.complete"
    exec 8>&-
    say "fetched $(find "$JARS" -name '*.jar' | wc -l) jars ($(du -sh "$JARS" | cut -f1)) in $((SECONDS - t0)) s"
}

load_classes() {
    # shellcheck disable=SC1091
    . "$KDIR/classes.env"
}

# ---------------------------------------------------------------- logging configs

write_log_configs() {
    mkdir -p "$STATE/logs"
    if [ "$(major)" -ge 4 ]; then
        cat >"$STATE/log4j2-broker.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $STATE/logs/server.log
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
        cat >"$STATE/log4j2-tools.properties" <<EOF
status = error
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
    else
        cat >"$STATE/log4j-broker.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$STATE/logs/server.log
log4j.appender.file.Append=true
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
EOF
        cat >"$STATE/log4j-tools.properties" <<EOF
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=%p %m (%c)%n
EOF
    fi
}

log_opt() { # log_opt broker|tools
    if [ "$(major)" -ge 4 ]; then
        echo "-Dlog4j2.configurationFile=$STATE/log4j2-$1.properties"
    else
        echo "-Dlog4j.configuration=file:$STATE/log4j-$1.properties"
    fi
}

# ---------------------------------------------------------------- class data sharing
# A JVM loading Kafka's classes from 90 jars spends about half of its start-up
# CPU on it (on 2 cores: broker ready in ~2 s instead of ~4 s of CPU). The
# first run of each main class dumps the classes it loaded into a CDS archive
# in the jar cache (-XX:ArchiveClassesAtExit, written when the JVM exits
# cleanly); later runs map it (-XX:SharedArchiveFile). One archive per main
# class and Java version; an archive the JVM finds stale is ignored by it.
# KAFKA_CDS=0 turns this off.

cds_archive() { # cds_archive NAME: the archive's path
    echo "$KDIR/cds-$1-java${JAVA_VERSION:-unknown}.jsa"
}

# cds_opt NAME TMP: the JVM option that uses the archive of NAME, or that
# dumps one into TMP when there is none yet (nothing when CDS is off)
cds_opt() {
    [ "${KAFKA_CDS:-1}" = 1 ] || return 0
    local f
    f=$(cds_archive "$1")
    if [ -s "$f" ]; then echo "-XX:SharedArchiveFile=$f"
    else echo "-XX:ArchiveClassesAtExit=$2"; fi
}

# cds_done TMP OK: keep the archive dumped into TMP (ARCHIVE.tmp.PID) if the
# JVM exited cleanly
cds_done() {
    [ -n "$1" ] || return 0
    if [ "$2" = 1 ] && [ -s "$1" ]; then mv -f "$1" "${1%.tmp.*}"
    else rm -f "$1"; fi
}

# run_tool MAIN ARGS...: a Kafka command-line tool
run_tool() {
    local main=$1 name tmp opt rc=0; shift
    name=tool-${main##*.}
    tmp=$(cds_archive "$name").tmp.$$
    opt=$(cds_opt "$name" "$tmp")
    # shellcheck disable=SC2086
    java $TOOL_OPTS $opt "$(log_opt tools)" -cp "$JARS/*" "$main" "$@" || rc=$?
    case $opt in -XX:ArchiveClassesAtExit=*) cds_done "$tmp" $((rc == 0)) ;; esac
    return "$rc"
}

# ---------------------------------------------------------------- process state

pid_of() { # the broker's pid if it runs, else nothing
    local pid
    [ -f "$STATE/broker.pid" ] || return 1
    pid=$(cat "$STATE/broker.pid")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    # guard against a recycled pid: it must be our kafka.Kafka on our config
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -F "$STATE/server.properties" >/dev/null || return 1
    echo "$pid"
}

load_env() { # sets PORT, CONTROLLER_PORT from the state dir
    [ -f "$STATE/ports" ] || return 1
    # shellcheck disable=SC1091
    . "$STATE/ports"
}

print_env() {
    echo "KAFKA_BROKERS=127.0.0.1:$PORT"
    echo "KAFKA_STATE_DIR=$STATE"
    echo "KAFKA_VERSION=$KAFKA_VERSION"
}

answers() { # answers [PID]: the broker (process PID's) answers a metadata request
    # cheap check first: a kcat probe on a closed port waits its whole timeout
    port_free "$PORT" && return 1
    # another test's broker that took the port first must not pass for this
    # one (concurrent starts: this JVM then fails to bind and exits)
    if [ -n "${1:-}" ] && command -v ss >/dev/null 2>&1; then
        ss -Hltnp "sport = :$PORT" 2>/dev/null | grep -q "pid=$1," || return 1
    fi
    kcat -b "127.0.0.1:$PORT" -L -m 2 -X topic.metadata.refresh.interval.ms=-1 2>/dev/null \
        | grep "^ 1 brokers:" >/dev/null
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

next_free_port() { # next_free_port FROM [EXCEPT]
    local p=$1
    while [ "$p" -lt 65000 ]; do
        if [ "$p" != "${2:-}" ] && port_free "$p"; then echo "$p"; return 0; fi
        p=$((p + 1))
    done
    return 1
}

pick_ports() {
    if [ -n "${KAFKA_PORT:-}" ]; then
        port_free "$KAFKA_PORT" || die "KAFKA_PORT $KAFKA_PORT is in use"
        PORT=$KAFKA_PORT
    else
        PORT=$(next_free_port "${1:-19092}") || die "no free port"
    fi
    if [ -n "${KAFKA_CONTROLLER_PORT:-}" ]; then
        port_free "$KAFKA_CONTROLLER_PORT" || die "KAFKA_CONTROLLER_PORT $KAFKA_CONTROLLER_PORT is in use"
        CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT
    else
        CONTROLLER_PORT=$(next_free_port $((PORT + 1)) "$PORT") || die "no free port"
    fi
}

# A cluster id as `kafka-storage random-uuid` makes it (16 random bytes in
# URL-safe base64 without padding, not starting with '-'), without a JVM.
new_cluster_id() {
    local id
    while :; do
        id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
        case $id in -*) ;; *) echo "$id"; return 0 ;; esac
    done
}

# ---------------------------------------------------------------- commands

cds_pending_done() { # the broker's CDS dump, if it made one: keep it if $1 = 1
    [ -f "$STATE/cds.pending" ] || return 0
    cds_done "$(cat "$STATE/cds.pending")" "$1"
    rm -f "$STATE/cds.pending"
}

lock_state() { # one start/stop at a time on a state dir
    mkdir -p "$STATE"
    exec 9>"$STATE/.lock"
    flock -w 120 9 || die "$STATE is locked by another broker.sh for 120 s"
}

# With KAFKA_OWNER_PID set, a watcher stops (and cleans) the broker once that
# process is gone: no broker outlives a test runner that was SIGKILLed.
start_watcher() {
    local owner=${KAFKA_OWNER_PID:-} w
    [ -n "$owner" ] || return 0
    if [ -f "$STATE/watcher.pid" ]; then
        w=$(cat "$STATE/watcher.pid")
        [ -n "$w" ] && kill -0 "$w" 2>/dev/null && return 0
    fi
    # shellcheck disable=SC2016,SC2269  # $1/$2 belong to the inner script
    KAFKA_STATE_DIR=$STATE KAFKA_VERSION=$KAFKA_VERSION HOSTFLOW_CACHE=$CACHE KAFKA_IS_WATCHER=1 \
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" stop' \
        broker-watcher "$owner" "$HERE/broker.sh" </dev/null >/dev/null 2>&1 8>&- 9>&- &
    echo "$!" >"$STATE/watcher.pid"
}

stop_watcher() {
    local w
    [ -f "$STATE/watcher.pid" ] || return 0
    w=$(cat "$STATE/watcher.pid")
    if [ -z "${KAFKA_IS_WATCHER:-}" ] && [ -n "$w" ] \
       && tr '\0' ' ' <"/proc/$w/cmdline" 2>/dev/null | grep -F broker-watcher >/dev/null; then
        kill "$w" 2>/dev/null || true
    fi
    rm -f "$STATE/watcher.pid"
}

cmd_start() {
    local pid
    lock_state
    if load_env && pid=$(pid_of); then
        if answers "$pid"; then
            say "already running (pid $pid) at 127.0.0.1:$PORT"
            start_watcher
            print_env; return 0
        fi
        die "a broker process (pid $pid) runs but does not answer on 127.0.0.1:$PORT; try stop"
    fi
    need_java; need kcat
    fetch
    load_classes
    local resume=0 attempt
    if [ -f "$STATE/data/meta.properties" ] && load_env; then
        resume=1
        port_free "$PORT" || die "port $PORT of the kept broker is in use"
        port_free "$CONTROLLER_PORT" || die "controller port $CONTROLLER_PORT of the kept broker is in use"
        say "restarting the kept broker on 127.0.0.1:$PORT with its data"
    fi
    for attempt in 1 2 3 4 5; do
        if [ "$resume" = 0 ]; then
            # after a race, somewhere else at random: brokers started at
            # once by concurrent tests would otherwise race again in step
            pick_ports "$(( attempt == 1 ? 19092 : 19100 + RANDOM % 4000 ))"
            rm -rf "$STATE/data"
            mkdir -p "$STATE/data"
            sed -e "s|@PORT@|$PORT|g" -e "s|@CONTROLLER_PORT@|$CONTROLLER_PORT|g" \
                -e "s|@DATA_DIR@|$STATE/data|g" "$HERE/server.properties" >"$STATE/server.properties"
            local kv
            for kv in "$@"; do
                case $kv in *=*) echo "$kv" >>"$STATE/server.properties" ;;
                             *) die "start: expected KEY=VALUE, got '$kv'" ;; esac
            done
            printf 'PORT=%s\nCONTROLLER_PORT=%s\n' "$PORT" "$CONTROLLER_PORT" >"$STATE/ports"
            write_log_configs
            local cid
            cid=$(new_cluster_id)
            run_tool "$STORAGE_MAIN" format -t "$cid" -c "$STATE/server.properties" \
                >"$STATE/logs/format.log" 2>&1 \
                || { cat "$STATE/logs/format.log" >&2; die "formatting the storage failed"; }
        else
            write_log_configs
        fi
        : >"$STATE/logs/stdout.log"
        local cds_tmp cds
        cds_tmp=$(cds_archive broker).tmp.$$
        cds=$(cds_opt broker "$cds_tmp")
        case $cds in -XX:ArchiveClassesAtExit=*) echo "$cds_tmp" >"$STATE/cds.pending" ;;
                     *) rm -f "$STATE/cds.pending" ;; esac
        # setsid + all fds redirected: the broker outlives this script and
        # holds no pipe of its caller (so `$(broker.sh start)` returns)
        # shellcheck disable=SC2086
        setsid nohup java $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
            -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true $cds \
            "$(log_opt broker)" -Dkafka.logs.dir="$STATE/logs" \
            -cp "$JARS/*" "$BROKER_MAIN" "$STATE/server.properties" \
            </dev/null >>"$STATE/logs/stdout.log" 2>&1 8>&- 9>&- &
        pid=$!
        echo "$pid" >"$STATE/broker.pid"
        local deadline=$((SECONDS + START_TIMEOUT))
        while [ "$SECONDS" -lt "$deadline" ]; do
            if ! kill -0 "$pid" 2>/dev/null; then break; fi
            if answers "$pid"; then
                say "Kafka $KAFKA_VERSION broker up at 127.0.0.1:$PORT (pid $pid, state $STATE)"
                start_watcher
                print_env
                return 0
            fi
            sleep 0.3
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            cds_pending_done 0
            rm -f "$STATE/broker.pid"
            tail -n 30 "$STATE/logs/server.log" "$STATE/logs/stdout.log" >&2 2>/dev/null || true
            die "the broker did not answer on 127.0.0.1:$PORT within $START_TIMEOUT s"
        fi
        cds_pending_done 0
        rm -f "$STATE/broker.pid"
        # a port taken between our check and the bind: try other ports
        if [ "$resume" = 0 ] && [ -z "${KAFKA_PORT:-}${KAFKA_CONTROLLER_PORT:-}" ] \
           && grep -qs "Address already in use" "$STATE/logs/server.log" "$STATE/logs/stdout.log"; then
            say "port race on $PORT/$CONTROLLER_PORT, retrying on other ports"
            continue
        fi
        break
    done
    tail -n 30 "$STATE/logs/server.log" "$STATE/logs/stdout.log" >&2 2>/dev/null || true
    die "the broker exited during start-up (logs above, in $STATE/logs)"
}

cmd_stop() {
    local keep=0 sig=TERM a pid
    for a in "$@"; do
        case $a in
            --keep-data) keep=1 ;;
            --kill) sig=KILL ;;
            *) die "stop: unknown option '$a'" ;;
        esac
    done
    [ -d "$STATE" ] || return 0
    lock_state
    if pid=$(pid_of); then
        local clean=1
        [ "$sig" = KILL ] && clean=0
        kill -"$sig" "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + STOP_TIMEOUT))
        while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            say "broker (pid $pid) still up $STOP_TIMEOUT s after SIGTERM: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            clean=0
            while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        fi
        cds_pending_done "$clean"
        say "broker (pid $pid) stopped (SIG$sig)"
    fi
    cds_pending_done 0
    rm -f "$STATE/broker.pid"
    if [ "$keep" = 0 ]; then
        stop_watcher
        rm -rf "$STATE/data" "$STATE/logs" "$STATE/ports" "$STATE/server.properties" \
               "$STATE"/log4j*-broker.properties "$STATE"/log4j*-tools.properties "$STATE/.lock"
        rmdir "$STATE" 2>/dev/null || true
    fi
    return 0
}

cmd_status() {
    local pid
    if load_env && pid=$(pid_of) && answers "$pid"; then
        say "running (pid $pid) at 127.0.0.1:$PORT"
        print_env
        return 0
    fi
    if [ -f "$STATE/data/meta.properties" ] && ! pid_of >/dev/null; then
        say "stopped, data kept in $STATE/data (start resumes it)"
    else
        say "not running"
    fi
    return 1
}

cmd_env() {
    local pid
    if ! load_env || ! pid=$(pid_of); then die "no broker running (state $STATE)"; fi
    print_env
}

cmd_topic() {
    [ $# -ge 2 ] || die "usage: broker.sh topic NAME PARTITIONS [KEY=VALUE ...]"
    local name=$1 parts=$2 kv cfg=()
    shift 2
    case $parts in ''|*[!0-9]*) die "topic: PARTITIONS must be a number, got '$parts'" ;; esac
    for kv in "$@"; do cfg+=(--config "$kv"); done
    if ! load_env || ! pid_of >/dev/null; then die "no broker running (state $STATE); run start first"; fi
    need_java; need kcat
    load_classes
    run_tool "$TOPICS_MAIN" --bootstrap-server "127.0.0.1:$PORT" --create --if-not-exists \
        --topic "$name" --partitions "$parts" --replication-factor 1 "${cfg[@]}" >/dev/null \
        || die "creating topic $name failed"
    # wait until every partition has a leader, so producers do not race it
    local deadline=$((SECONDS + 30)) md have leaders
    while [ "$SECONDS" -lt "$deadline" ]; do
        md=$(kcat -b "127.0.0.1:$PORT" -L -t "$name" -m 2 2>/dev/null || true)
        have=$(sed -n "s/^ *topic \"$name\" with \([0-9]*\) partitions:.*/\1/p" <<<"$md")
        leaders=$(grep -cE '^ +partition [0-9]+, leader [0-9]+,' <<<"$md" || true)
        if [ -n "$have" ] && [ "$have" != "$parts" ]; then
            die "topic $name exists with $have partitions, not $parts"
        fi
        if [ "$have" = "$parts" ] && [ "$leaders" = "$parts" ]; then
            say "topic $name: $parts partitions"
            return 0
        fi
        sleep 0.2
    done
    die "topic $name: its $parts partitions have no leader after 30 s"
}

cmd_logs() {
    tail -n "${1:-100}" "$STATE/logs/server.log" 2>/dev/null || die "no broker log in $STATE/logs"
}

usage() {
    sed -n '/^# Usage:/,/^# Needs:/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
    fetch) fetch ;;
    start) cmd_start "$@" ;;
    resume) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    pause) cmd_stop --keep-data "$@" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    topic) cmd_topic "$@" ;;
    logs) cmd_logs "$@" ;;
    *) usage ;;
esac
