#!/usr/bin/env bash
# server.sh -- a real single-node OpenSearch on 127.0.0.1 for hostflow's
# tests and benchmarks, run from the test distribution that OpenSearch
# publishes on Maven Central (org.opensearch.distribution.integ-test-zip:
# opensearch, type zip): the server and its transport module, no plugins, so
# no security plugin (plain HTTP, no passwords) and no Index State Management.
#
# OpenSearch version: 2.19.6 (the newest 2.x that runs on Java 17; 3.x needs
# Java 21; override with OPENSEARCH_VERSION=...).
#
# OPENSEARCH_DIST=elasticsearch runs Elasticsearch instead, from its test
# distribution on Maven Central (org.elasticsearch.distribution.integ-test-
# zip:elasticsearch, 8.19.21): the server with x-pack security (no ILM, no
# GET / either: that handler is in a module it leaves out).  Security is on:
# a file-realm user (OPENSEARCH_AUTH_USER / OPENSEARCH_AUTH_PASSWORD, a
# superuser, made with bin/elasticsearch-users), and with OPENSEARCH_TLS=1
# HTTPS with a certificate for "localhost" only (DNS:localhost, not
# 127.0.0.1) signed by a CA made here with openssl (its PEM is printed as
# OPENSEARCH_CA).  It starts in 20-50 s on this machine.
#
# What the distribution needs, and how this script gives it:
#   - no JDK inside: OPENSEARCH_JAVA_HOME is the system's Java (17+), found
#     from `java` on the PATH;
#   - it refuses to run as root: as root, the server runs as a dedicated
#     system user ($OPENSEARCH_USER, default hostflow-os, created once with
#     useradd --system), in a run directory that user can reach
#     (/tmp/hostflow-os-run.XXXXXX, linked from the state dir as `run`),
#     holding a hard-linked copy of the distribution (the cache under /root
#     is not readable by others), its config, data and logs;
#   - start-up: bin/opensearch starts four short JVMs (version checks, the
#     keystore, the options parser) before the server; this script runs the
#     options parser once per start and then the server's JVM itself.
# Timings on this project's 2-core machine: first fetch ~5-15 s (56 MB);
# start on a warm cache ~10-15 s with a 512 MiB heap; clean stop ~1-2 s.
#
# Usage: tests/opensearch/server.sh COMMAND [ARGS]
#   fetch                      download and unpack the distribution once (start does it too)
#   start [KEY=VALUE ...]      start the server (extra opensearch.yml settings as
#                              arguments, fresh start only, e.g.
#                              http.max_content_length=200kb), wait until the
#                              cluster is yellow (OPENSEARCH_START_TIMEOUT s), print
#                              its env; if stopped with --keep-data, restart it
#                              on the same port with the same data. Idempotent.
#   stop [--keep-data] [--kill]
#                              SIGTERM (SIGKILL after 30 s; --kill: SIGKILL at
#                              once, a crash); remove the data unless --keep-data.
#                              Idempotent.
#   pause / resume             = stop --keep-data / start
#   status                     exit 0 and print the env if the server answers
#   env                        print the env of the running server
#   logs [N]                   the last N (100) lines of the server's log
#
# The env printed on stdout (everything else goes to stderr):
#   OPENSEARCH_URL=http://127.0.0.1:19200     (https://localhost:PORT with TLS)
#   OPENSEARCH_STATE_DIR=/tmp/...
#   OPENSEARCH_VERSION=2.19.6
#   OPENSEARCH_DIST=opensearch
# and for Elasticsearch OPENSEARCH_AUTH_USER, OPENSEARCH_AUTH_PASSWORD and,
# with TLS, OPENSEARCH_CA.
# A test uses it so:
#   export OPENSEARCH_STATE_DIR=$WORK/os OPENSEARCH_OWNER_PID=$$
#   trap 'tests/opensearch/server.sh stop' EXIT
#   env=$(tests/opensearch/server.sh start) || exit 1; eval "$env"
#   curl -s "$OPENSEARCH_URL/_cat/indices"
#
# Environment:
#   OPENSEARCH_DIST           opensearch (or elasticsearch)
#   OPENSEARCH_VERSION        2.19.6 (8.19.21 for elasticsearch)
#   OPENSEARCH_AUTH_USER, OPENSEARCH_AUTH_PASSWORD
#                             Elasticsearch's user (hostflow, hostflow-secret)
#   OPENSEARCH_TLS            1: Elasticsearch over HTTPS (0)
#   HOSTFLOW_CACHE            cache root ($HOME/.cache/hostflow); the distribution is
#                             unpacked into $HOSTFLOW_CACHE/DIST-VERSION/dist
#   OPENSEARCH_STATE_DIR      pid, ports and the link to the run directory
#                             (${TMPDIR:-/tmp}/hostflow-opensearch-UID); give each
#                             concurrent server its own, e.g. $(mktemp -d)
#   OPENSEARCH_PORT           HTTP port (19200; if busy and not set, the next free one)
#   OPENSEARCH_HEAP           heap size (512m)
#   OPENSEARCH_USER           the user the server runs as when this runs as root (hostflow-os)
#   OPENSEARCH_START_TIMEOUT  seconds to wait for the server (120)
#   OPENSEARCH_STOP_TIMEOUT   seconds between SIGTERM and SIGKILL (30)
#   OPENSEARCH_OWNER_PID      if set, the server is stopped and its data removed
#                             once that process is gone
#
# Needs: java 17+, mvn (first fetch only), unzip, curl; as root: useradd,
# setpriv; for Elasticsearch with TLS, openssl.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIST_NAME=${OPENSEARCH_DIST:-opensearch}
case $DIST_NAME in
    opensearch) VERSION=${OPENSEARCH_VERSION:-2.19.6} PRETTY=OpenSearch
                GROUP=org.opensearch.distribution.integ-test-zip ;;
    elasticsearch) VERSION=${OPENSEARCH_VERSION:-8.19.21} PRETTY=Elasticsearch
                GROUP=org.elasticsearch.distribution.integ-test-zip ;;
    *) echo "server.sh: error: OPENSEARCH_DIST is opensearch or elasticsearch, not '$DIST_NAME'" >&2; exit 1 ;;
esac
AUTH_USER=${OPENSEARCH_AUTH_USER:-hostflow}
AUTH_PASSWORD=${OPENSEARCH_AUTH_PASSWORD:-hostflow-secret}
TLS=${OPENSEARCH_TLS:-0}
CACHE=${HOSTFLOW_CACHE:-${HOME:-/tmp}/.cache/hostflow}
ODIR=$CACHE/$DIST_NAME-$VERSION
DIST=$ODIR/dist
STATE=${OPENSEARCH_STATE_DIR:-${TMPDIR:-/tmp}/hostflow-opensearch-$(id -u)}
case $STATE in /*) ;; *) STATE=$PWD/$STATE ;; esac
START_TIMEOUT=${OPENSEARCH_START_TIMEOUT:-120}
STOP_TIMEOUT=${OPENSEARCH_STOP_TIMEOUT:-30}
HEAP=${OPENSEARCH_HEAP:-512m}
RUN_USER=${OPENSEARCH_USER:-hostflow-os}

say() { echo "server.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found${2:+ ($2)}"; }

JAVA_HOME_FOUND=
find_java() {
    need java "OpenSearch needs a Java runtime (17 or newer)"
    local j v
    j=$(readlink -f "$(command -v java)")
    JAVA_HOME_FOUND=${OPENSEARCH_JAVA_HOME:-${j%/bin/java}}
    v=$("$JAVA_HOME_FOUND/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
    [ -n "$v" ] && [ "$v" -ge 17 ] || die "$PRETTY $VERSION needs Java 17 or newer, found ${v:-none}"
}

# ---------------------------------------------------------------- fetch

fetch() {
    [ -f "$ODIR/.complete" ] && return 0
    need mvn "needed once to fetch the OpenSearch distribution"; need unzip
    mkdir -p "$CACHE"
    exec 8>"$CACHE/.$DIST_NAME-$VERSION.lock"
    flock 8                      # one fetch at a time per version
    if [ -f "$ODIR/.complete" ]; then exec 8>&-; return 0; fi
    local tmp t0=$SECONDS
    tmp=$(mktemp -d "$CACHE/.$DIST_NAME-$VERSION.XXXXXX")
    say "fetching $PRETTY $VERSION (integ-test-zip) with Maven into $ODIR (once)"
    if ! mvn -B -q -f "$HERE/pom.xml" -Ddist.group="$GROUP" -Ddist.artifact="$DIST_NAME" \
            -Ddist.version="$VERSION" dependency:copy-dependencies -DoutputDirectory="$tmp/zip" \
            >"$tmp/mvn.log" 2>&1; then
        tail -n 40 "$tmp/mvn.log" >&2
        rm -rf "$tmp"
        die "mvn could not fetch $GROUP:$DIST_NAME:$VERSION"
    fi
    unzip -q "$tmp/zip/$DIST_NAME-$VERSION.zip" -d "$tmp/unpacked" || { rm -rf "$tmp"; die "unzip failed"; }
    mv "$tmp/unpacked/$DIST_NAME-$VERSION" "$tmp/dist"
    rm -rf "$tmp/zip" "$tmp/unpacked" "$tmp/mvn.log"
    chmod -R a+rX "$tmp"
    rm -rf "$ODIR"
    mv "$tmp" "$ODIR"
    touch "$ODIR/.complete"
    exec 8>&-
    say "fetched $PRETTY $VERSION ($(du -sh "$DIST" | cut -f1)) in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- process state

pid_of() { # the server's pid if it runs, else nothing
    local pid
    [ -f "$STATE/server.pid" ] || return 1
    pid=$(cat "$STATE/server.pid")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    # guard against a recycled pid: it must be a JVM of our run directory
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -F "$(run_dir)/" >/dev/null || return 1
    echo "$pid"
}

run_dir() { readlink "$STATE/run" 2>/dev/null || echo "$STATE/run"; }

load_env() { # sets PORT, TPORT (and the distribution, TLS) from the state dir
    [ -f "$STATE/ports" ] || return 1
    # shellcheck disable=SC1091
    . "$STATE/ports"
}

base_url() {
    if [ "$TLS" = 1 ]; then echo "https://localhost:$PORT"; else echo "http://127.0.0.1:$PORT"; fi
}

print_env() {
    echo "OPENSEARCH_URL=$(base_url)"
    echo "OPENSEARCH_STATE_DIR=$STATE"
    echo "OPENSEARCH_VERSION=$VERSION"
    echo "OPENSEARCH_DIST=$DIST_NAME"
    if [ "$DIST_NAME" = elasticsearch ]; then
        echo "OPENSEARCH_AUTH_USER=$AUTH_USER"
        echo "OPENSEARCH_AUTH_PASSWORD=$AUTH_PASSWORD"
    fi
    if [ "$TLS" = 1 ]; then echo "OPENSEARCH_CA=$(run_dir)/config/certs/ca.pem"; fi
}

answers() { # the cluster is at least yellow
    port_free "$PORT" && return 1
    local auth=()
    [ "$DIST_NAME" = elasticsearch ] && auth=(-u "$AUTH_USER:$AUTH_PASSWORD")
    [ "$TLS" = 1 ] && auth+=(--cacert "$(run_dir)/config/certs/ca.pem")
    curl -s -m 3 "${auth[@]}" "$(base_url)/_cluster/health?wait_for_status=yellow&timeout=2s" 2>/dev/null \
        | grep -E '"status":"(green|yellow)"' >/dev/null
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
    if [ -n "${OPENSEARCH_PORT:-}" ]; then
        port_free "$OPENSEARCH_PORT" || die "OPENSEARCH_PORT $OPENSEARCH_PORT is in use"
        PORT=$OPENSEARCH_PORT
    else
        PORT=$(next_free_port "${1:-19200}") || die "no free port"
    fi
    TPORT=$(next_free_port $((PORT + 100)) "$PORT") || die "no free port"
}

lock_state() { # one start/stop at a time on a state dir
    mkdir -p "$STATE"
    exec 9>"$STATE/.lock"
    flock -w 120 9 || die "$STATE is locked by another server.sh for 120 s"
}

# as root: the system user the server runs as, created once
as_user=()
ensure_user() {
    [ "$(id -u)" = 0 ] || return 0
    if ! id -u "$RUN_USER" >/dev/null 2>&1; then
        need useradd
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
            "$RUN_USER" 2>/dev/null || id -u "$RUN_USER" >/dev/null 2>&1 \
            || die "cannot create the system user $RUN_USER (OpenSearch refuses to run as root)"
        say "created the system user $RUN_USER to run OpenSearch (it refuses root)"
    fi
    need setpriv
    as_user=(setpriv --reuid="$RUN_USER" --regid="$(id -g "$RUN_USER")" --clear-groups)
}

# A fresh run directory: the distribution (hard links where possible), its
# config with our settings, data and logs; reachable by the server's user.
make_run_dir() {
    local run
    if [ "$(id -u)" = 0 ]; then
        run=$(mktemp -d /tmp/hostflow-os-run.XXXXXX)
        ln -sfn "$run" "$STATE/run"
    else
        run=$STATE/run
        rm -rf "$run"; mkdir -p "$run"
    fi
    cp -al "$DIST" "$run/dist" 2>/dev/null || { rm -rf "$run/dist"; cp -a "$DIST" "$run/dist"; }
    mkdir -p "$run/config" "$run/data" "$run/logs" "$run/tmp"
    local yml=$run/config/$DIST_NAME.yml
    if [ "$DIST_NAME" = elasticsearch ]; then
        cp -r "$DIST/config/." "$run/config/"
        sed -i -E '/-Xlog:gc|HeapDumpOnOutOfMemoryError|ErrorFile/d' "$run/config/jvm.options"
        printf '%s\n' "-Xms$HEAP" "-Xmx$HEAP" "-XX:ErrorFile=$run/logs/hs_err_pid%p.log" \
            >"$run/config/jvm.options.d/hostflow.options"
    else
        cp "$DIST/config/log4j2.properties" "$run/config/"
        # the distribution's jvm.options with our heap, without GC logs or heap dumps
        grep -vE '^(-Xm[sx]|.*-Xlog:gc|.*HeapDumpOnOutOfMemoryError|.*HeapDumpPath|.*ErrorFile)' \
            "$DIST/config/jvm.options" >"$run/config/jvm.options"
        printf '%s\n' "-Xms$HEAP" "-Xmx$HEAP" "-XX:ErrorFile=$run/logs/hs_err_pid%p.log" \
            >>"$run/config/jvm.options"
    fi
    cat >"$yml" <<EOF
cluster.name: hostflow-test
node.name: node-1
path.data: $run/data
path.logs: $run/logs
network.host: 127.0.0.1
http.port: $PORT
transport.port: $TPORT
discovery.type: single-node
# a shared machine's disk must not switch the indices to read-only
cluster.routing.allocation.disk.threshold_enabled: false
EOF
    if [ "$DIST_NAME" = elasticsearch ]; then
        cat >>"$yml" <<EOF
xpack.security.enabled: true
xpack.security.transport.ssl.enabled: false
xpack.security.http.ssl.enabled: $([ "$TLS" = 1 ] && echo true || echo false)
EOF
        if [ "$TLS" = 1 ]; then
            make_certs "$run/config/certs"
            cat >>"$yml" <<EOF
xpack.security.http.ssl.key: certs/node.key
xpack.security.http.ssl.certificate: certs/node.pem
xpack.security.http.ssl.certificate_authorities: [ "certs/ca.pem" ]
EOF
        fi
    fi
    local kv
    for kv in "$@"; do
        case $kv in *=*) echo "${kv%%=*}: ${kv#*=}" >>"$yml" ;;
                     *) die "start: expected KEY=VALUE, got '$kv'" ;; esac
    done
    [ "$(id -u)" = 0 ] && chown -R "$RUN_USER:" "$run/config" "$run/data" "$run/logs" "$run/tmp"
    chmod 755 "$run"
    if [ "$DIST_NAME" = elasticsearch ]; then   # the file-realm user (a short JVM)
        (cd "$run/dist" && "${as_user[@]}" env ES_JAVA_HOME="$JAVA_HOME_FOUND" ES_PATH_CONF="$run/config" \
            ES_TMPDIR="$run/tmp" bin/elasticsearch-users useradd "$AUTH_USER" -p "$AUTH_PASSWORD" -r superuser) \
            >"$run/logs/users.log" 2>&1 || { cat "$run/logs/users.log" >&2; die "elasticsearch-users failed"; }
    fi
    return 0
}

# A CA and a certificate for "localhost" only (not 127.0.0.1: a client that
# asks for https://127.0.0.1 meets a name that does not match), into dir.
make_certs() {
    local d=$1
    need openssl
    mkdir -p "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=hostflow test CA" \
        -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null || die "openssl: the CA"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$d/node.key" -out "$d/node.csr" \
        2>/dev/null || die "openssl: the request"
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/ext"
    openssl x509 -req -in "$d/node.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
        -extfile "$d/ext" -out "$d/node.pem" 2>/dev/null || die "openssl: the certificate"
    chmod 644 "$d/ca.pem"
}

# With OPENSEARCH_OWNER_PID set, a watcher stops (and cleans) the server once
# that process is gone: no server outlives a test runner that was SIGKILLed.
start_watcher() {
    local owner=${OPENSEARCH_OWNER_PID:-} w
    [ -n "$owner" ] || return 0
    if [ -f "$STATE/watcher.pid" ]; then
        w=$(cat "$STATE/watcher.pid")
        [ -n "$w" ] && kill -0 "$w" 2>/dev/null && return 0
    fi
    # shellcheck disable=SC2016
    OPENSEARCH_STATE_DIR=$STATE OPENSEARCH_VERSION=$VERSION HOSTFLOW_CACHE=$CACHE OPENSEARCH_IS_WATCHER=1 \
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" stop' \
        opensearch-watcher "$owner" "$HERE/server.sh" </dev/null >/dev/null 2>&1 8>&- 9>&- &
    echo "$!" >"$STATE/watcher.pid"
}

stop_watcher() {
    local w
    [ -f "$STATE/watcher.pid" ] || return 0
    w=$(cat "$STATE/watcher.pid")
    if [ -z "${OPENSEARCH_IS_WATCHER:-}" ] && [ -n "$w" ] \
       && tr '\0' ' ' <"/proc/$w/cmdline" 2>/dev/null | grep -F opensearch-watcher >/dev/null; then
        kill "$w" 2>/dev/null || true
    fi
    rm -f "$STATE/watcher.pid"
}

# ---------------------------------------------------------------- commands

cmd_start() {
    local pid run
    lock_state
    if load_env && pid=$(pid_of); then
        if answers; then
            say "already running (pid $pid) at 127.0.0.1:$PORT"
            start_watcher
            print_env; return 0
        fi
        die "a server process (pid $pid) runs but does not answer on 127.0.0.1:$PORT; try stop"
    fi
    need curl
    find_java
    fetch
    ensure_user
    local resume=0 attempt t0=$SECONDS
    if [ -n "$(ls -A "$(run_dir)/data" 2>/dev/null)" ] && load_env; then
        resume=1
        port_free "$PORT" || die "port $PORT of the kept server is in use"
        say "restarting the kept server on 127.0.0.1:$PORT with its data"
    fi
    for attempt in 1 2 3; do
        if [ "$resume" = 0 ]; then
            pick_ports "$(( 19200 + (attempt - 1) * 10 ))"
            if [ -L "$STATE/run" ]; then rm -rf "$(run_dir)"; rm -f "$STATE/run"; fi
            make_run_dir "$@"
            printf 'PORT=%s\nTPORT=%s\n' "$PORT" "$TPORT" >"$STATE/ports"
        fi
        run=$(run_dir)
        : >"$STATE/stdout.log"
        # setsid + all fds redirected: the server outlives this script and
        # holds no pipe of its caller (so `$(server.sh start)` returns)
        if [ "$DIST_NAME" = elasticsearch ]; then
            # its launcher computes the JVM options and runs the server as its child
            (cd "$run/logs" && exec setsid nohup "${as_user[@]}" env ES_JAVA_HOME="$JAVA_HOME_FOUND" \
                ES_PATH_CONF="$run/config" ES_TMPDIR="$run/tmp" "$run/dist/bin/elasticsearch" \
                </dev/null >>"$STATE/stdout.log" 2>&1 8>&- 9>&-) &
        else
            # the JVM options as bin/opensearch computes them (one short JVM)
            local opts cp="$run/dist/lib/*"
            opts=$(cd "$run" && OPENSEARCH_TMPDIR=$run/tmp "${as_user[@]}" "$JAVA_HOME_FOUND/bin/java" \
                   -Xshare:auto -cp "$cp" org.opensearch.tools.launchers.JvmOptionsParser "$run/config") \
                || die "the JVM options parser failed"
            # shellcheck disable=SC2086
            (cd "$run/dist" && OPENSEARCH_PATH_CONF=$run/config OPENSEARCH_TMPDIR=$run/tmp \
                exec setsid nohup "${as_user[@]}" "$JAVA_HOME_FOUND/bin/java" -Xshare:auto $opts \
                -Dopensearch.path.home="$run/dist" -Dopensearch.path.conf="$run/config" \
                -Dopensearch.distribution.type=zip -Dopensearch.bundled_jdk=false \
                -cp "$cp" org.opensearch.bootstrap.OpenSearch \
                </dev/null >>"$STATE/stdout.log" 2>&1 8>&- 9>&-) &
        fi
        pid=$!
        echo "$pid" >"$STATE/server.pid"
        local deadline=$((SECONDS + START_TIMEOUT))
        while [ "$SECONDS" -lt "$deadline" ]; do
            if ! kill -0 "$pid" 2>/dev/null; then break; fi
            if answers; then
                say "$PRETTY $VERSION up at $(base_url) in $((SECONDS - t0)) s (pid $pid, state $STATE)"
                start_watcher
                print_env
                return 0
            fi
            sleep 0.3
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            rm -f "$STATE/server.pid"
            tail -n 30 "$run/logs/hostflow-test.log" "$STATE/stdout.log" >&2 2>/dev/null || true
            die "the server did not answer on 127.0.0.1:$PORT within $START_TIMEOUT s"
        fi
        rm -f "$STATE/server.pid"
        # a port taken between our check and the bind: try other ports
        if [ "$resume" = 0 ] && [ -z "${OPENSEARCH_PORT:-}" ] \
           && grep -qs "BindException\|Address already in use" "$run/logs/hostflow-test.log" "$STATE/stdout.log"; then
            say "port race on $PORT/$TPORT, retrying on other ports"
            continue
        fi
        break
    done
    tail -n 30 "$(run_dir)/logs/hostflow-test.log" "$STATE/stdout.log" >&2 2>/dev/null || true
    die "the server exited during start-up (logs above, in $(run_dir)/logs)"
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
        # Elasticsearch's pid is its launcher's; the server is its child
        local kids
        kids=$(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ' || true)
        # shellcheck disable=SC2086
        [ "$sig" = KILL ] && [ -n "$kids" ] && kill -KILL $kids 2>/dev/null
        kill -"$sig" "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + STOP_TIMEOUT))
        while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            say "server (pid $pid) still up $STOP_TIMEOUT s after SIGTERM: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        fi
        say "server (pid $pid) stopped (SIG$sig)"
    fi
    rm -f "$STATE/server.pid"
    if [ "$keep" = 0 ]; then
        stop_watcher
        if [ -L "$STATE/run" ]; then rm -rf "$(run_dir)"; fi
        rm -rf "$STATE/run" "$STATE/ports" "$STATE/stdout.log" "$STATE/.lock"
        rmdir "$STATE" 2>/dev/null || true
    fi
    return 0
}

cmd_status() {
    local pid
    if load_env && pid=$(pid_of) && answers; then
        say "running (pid $pid) at 127.0.0.1:$PORT"
        print_env
        return 0
    fi
    if [ -n "$(ls -A "$(run_dir)/data" 2>/dev/null)" ] && ! pid_of >/dev/null; then
        say "stopped, data kept in $(run_dir)/data (start resumes it)"
    else
        say "not running"
    fi
    return 1
}

cmd_env() {
    if ! load_env || ! pid_of >/dev/null; then die "no server running (state $STATE)"; fi
    print_env
}

cmd_logs() {
    tail -n "${1:-100}" "$(run_dir)/logs/hostflow-test.log" 2>/dev/null \
        || die "no server log in $(run_dir)/logs"
}

usage() {
    sed -n '/^# Usage:/,/^# Needs:/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
    fetch) fetch ;;
    start|resume) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    pause) cmd_stop --keep-data "$@" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    logs) cmd_logs "$@" ;;
    *) usage ;;
esac
