#!/bin/bash
# test_logs.sh -- log events merged into the host records (--logs): counts
# by severity and program and the last messages under stats.logs, in the
# right hosts' records of the right windows at every granularity; a host
# with logs and no flows gets records of its own; everything else in the
# records is what a run without logs writes; one or two workers alike;
# rsyslog's and syslog-ng's JSON, other field names, standard input; bad
# lines counted by reason; late events counted; a profile that reads
# stats.logs.
. "$(dirname "$0")/assert.sh"

SAMPLE=$ROOT/contrib/sample-flows.ndjson.gz
NETS=10.0.0.0/8,192.168.0.0/16,2001:db8::/32
T=1795701600000                      # 2026-11-26T14:00:00Z, within the sample

# events of the busiest host (with flows), of a host with no flows, of one
# outside the networks, and lines with each defect; FORMAT rsyslog | syslog-ng
events() {
    python3 - "$1" $T <<'EOF'
import datetime, json, sys
fmt, T = sys.argv[1], int(sys.argv[2])
def iso(ms):
    d = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return d.isoformat(timespec="milliseconds").replace("+00:00", "Z")
names = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]
def ev(host, ms, sev, prog, msg):
    if fmt == "rsyslog":            # template(name="json" type="string" string="%jsonmesg%\n")
        o = {"msg": " " + msg, "rawmsg": "<%d>%s" % (32 + sev, msg), "timereported": iso(ms),
             "hostname": "h-" + host, "syslogtag": prog + "[42]:", "inputname": "imudp",
             "fromhost": "relay", "fromhost-ip": host, "pri": str(32 + sev), "syslogfacility": "4",
             "syslogseverity": str(sev), "timegenerated": iso(ms + 5), "programname": prog,
             "protocol-version": "0", "app-name": prog}
    else:                           # $(format-json --scope rfc5424 --scope selected-macros --key ISODATE)
        o = {"PROGRAM": prog, "PRIORITY": names[sev], "PID": "42", "MESSAGE": msg, "HOST": "h-" + host,
             "FACILITY": "auth", "DATE": "Nov 26 14:00:00", "SOURCEIP": host, "ISODATE": iso(ms)}
    print(json.dumps(o))
for i in range(5):
    ev("10.221.177.114", T + 12000 + i * 1000, 3 if i < 2 else 6, "sshd",
       "Failed password for root from 203.0.113.%d port 22 ssh2" % i)
ev("10.221.177.114", T + 16500, 4, "sudo", "pam_unix(sudo:auth): conversation failed")
ev("10.99.0.1", T + 25000, 2, "kernel", "nfs: server 10.0.0.5 not responding")
ev("10.99.0.1", T + 71000, 6, "cron", "(root) CMD (run-parts /etc/cron.hourly)")
ev("198.51.100.5", T + 30000, 6, "sshd", "not ours")
if fmt == "rsyslog":
    print("{not json")
    print("[1,2]")
    print(json.dumps({"msg": "no host", "timereported": iso(T)}))
    print(json.dumps({"fromhost-ip": "not-an-address", "msg": "x", "timereported": iso(T)}))
    print(json.dumps({"fromhost-ip": "10.1.1.1", "msg": "no time"}))
    print(json.dumps({"fromhost-ip": "10.1.1.1", "msg": "x", "timereported": "yesterday"}))
    print(json.dumps({"fromhost-ip": "10.1.1.1", "msg": "x", "timereported": iso(T), "syslogseverity": "loud"}))
    ev("10.99.0.1", T - 3600000, 6, "cron", "an hour late")
EOF
}
events rsyslog >"$WORK/rsyslog.ndjson"
events syslog-ng >"$WORK/syslog-ng.ndjson"

"$HOSTFLOW" run -q -j1 -n $NETS -i "$SAMPLE" -o "$WORK/plain"
"$HOSTFLOW" run -q -j1 -n $NETS -i "$SAMPLE" --logs "$WORK/rsyslog.ndjson" -o "$WORK/logs1" --stats "$WORK/st.json"
check "a run with logs ends well" [ $? -eq 0 ]
"$HOSTFLOW" run -q -j2 -n $NETS -i "$SAMPLE" --logs "$WORK/rsyslog.ndjson" -o "$WORK/logs2"
check "two workers write the same records" cmp -s <(sort "$WORK/logs1") <(sort "$WORK/logs2")

python3 - "$WORK/logs1" "$WORK/plain" $T >"$WORK/checks" <<'EOF'
import json, re, sys
T = int(sys.argv[3])
def load(p):
    return {(d["src_ip"], d["window"]["granularity_s"], d["window"]["start_ms"]): (d, l)
            for l in open(p) for d in [json.loads(l)] if d["@type"] == "host_stats"}
logs, plain = load(sys.argv[1]), load(sys.argv[2])
def ok(what, cond): print(("ok " if cond else "FAIL ") + what)
quiet = sorted((g, s) for (h, g, s) in logs if h == "10.99.0.1")
want = sorted([(10, T + 20000), (10, T + 70000), (30, T), (30, T + 60000), (60, T), (60, T + 60000), (300, T)])
ok("a host with logs and no flows: records in exactly the windows of its events (%s)" % quiet, quiet == want)
d = logs[("10.99.0.1", 300, T)][0]
ok("... holding stats.logs alone", list(d["stats"]) == ["logs"])
ok("... both events in its 5-minute record, newest first",
   d["stats"]["logs"]["events"] == 2 and [m["program"] for m in d["stats"]["logs"]["messages"]] == ["cron", "kernel"]
   and d["stats"]["logs"]["severity"] == {"crit": 1, "info": 1})
b = logs[("10.221.177.114", 10, T + 10000)][0]["stats"]["logs"]
ok("the busiest host's 10 s record: counts by severity and program",
   b["events"] == 6 and b["severity"] == {"err": 2, "warning": 1, "info": 3} and b["programs"] == {"sshd": 5, "sudo": 1})
ok("... and its last 3 messages, newest first, whole",
   [m["time"] for m in b["messages"]] == ["2026-11-26T14:00:16.500Z", "2026-11-26T14:00:16.000Z", "2026-11-26T14:00:15.000Z"]
   and b["messages"][1] == {"time": "2026-11-26T14:00:16.000Z", "severity": "info", "program": "sshd",
                             "message": "Failed password for root from 203.0.113.4 port 22 ssh2"})
ok("... in its 30 s, 1 min and 5 min records too",
   all(logs[("10.221.177.114", g, T)][0]["stats"]["logs"]["events"] == 6 for g in (30, 60, 300)))
ok("... and in no other window of it",
   sum(1 for (h, g, s), (d, l) in logs.items() if h == "10.221.177.114" and "logs" in d["stats"]) == 4)
strip = lambda l: re.sub(r',?"logs":\{.*\}\}\}$', "}}", l.rstrip("\n")).replace('"stats":{,', '"stats":{')
same = all(strip(logs[k][1]) == plain[k][1].rstrip("\n") for k in plain)
ok("every other byte of the records is a run's without logs", same and set(logs) - set(plain) == {k for k in logs if k[0] == "10.99.0.1"})
ok("no record for the host outside the networks", not any(h == "198.51.100.5" for (h, g, s) in logs))
EOF
while read -r status what; do check "$what" [ "$status" = ok ]; done <"$WORK/checks"
check "bad lines counted by reason, the outsider as not monitored, the old event as late" \
    [ "$(json_get "$WORK/st.json" "[d['logs'][k] for k in ('lines','events','not_monitored','late')] + sorted(d['logs']['rejected'].items())")" = \
      "[17, 8, 1, 1, ('bad_host', 1), ('bad_severity', 1), ('bad_time', 1), ('future_time', 0), ('malformed_json', 1), ('missing_host', 1), ('missing_time', 1), ('not_object', 1), ('too_long', 0)]" ]

# syslog-ng's JSON, the same events: the same stats.logs
"$HOSTFLOW" run -q -j1 -n $NETS -i "$SAMPLE" --logs "$WORK/syslog-ng.ndjson" --logs-format syslog-ng -o "$WORK/ng"
check "syslog-ng's format gives the same records" \
    cmp -s <(sort "$WORK/logs1") <(sort "$WORK/ng")
# field names of one's own, from a configuration file; the events from standard input
sed 's/"SOURCEIP"/"addr"/; s/"ISODATE"/"at"/' "$WORK/syslog-ng.ndjson" >"$WORK/own.ndjson"
cat >"$WORK/conf.lua" <<EOF
return { networks = { "10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32" },
         analyses = { dir = "$ROOT/analyses" },
         logs = { input = "-", format = "syslog-ng", fields = { host = "addr", time = "at" } } }
EOF
"$HOSTFLOW" run -q -c "$WORK/conf.lua" -j1 -i "$SAMPLE" -o "$WORK/own" <"$WORK/own.ndjson"
check "other field names (logs.fields), read from standard input: the same records" cmp -s <(sort "$WORK/ng") <(sort "$WORK/own")
check "a bad preset is refused at start, naming the key" \
    sh -c "'$HOSTFLOW' run -i '$SAMPLE' --logs '$WORK/own.ndjson' --logs-format journald -o /dev/null 2>&1 | grep -q 'logs-format: expected \"rsyslog\" or \"syslog-ng\", got \"journald\"'"

# a profile reads stats.logs like any other field
mkdir -p "$WORK/a"
cp "$ROOT"/analyses/*.lua "$WORK/a/"
cat >"$WORK/a/failures.lua" <<'EOF'
local hf = require "hostflow"
return hf.profile {
  name = "failures", granularity = "1m",
  stats = { errors = "logs.severity.err", flows = "total.flow" },
  state = { minutes = hf.counter() },
  absorb = function(p, x, ctx)
    p.minutes = p.minutes + 1
    if x.errors == x.errors and x.errors >= 2 then
      ctx:alert { rule = "log_errors", observed = x.errors, details = { flows = x.flows } }
    end
  end,
}
EOF
"$HOSTFLOW" run -q -j1 -n $NETS -i "$SAMPLE" -a "$WORK/a" --logs "$WORK/rsyslog.ndjson" -o "$WORK/prof"
check "a profile rule reads the logs and the flows of a host's minute" \
    sh -c "grep '\"host_alert\"' '$WORK/prof' | grep -q '\"id\":\"10.221.177.114/log_errors/1795701600000\".*\"observed\":2,.*\"details\":{\"flows\":[1-9][0-9]*}'"
check "... and only there" [ "$(grep '"host_alert"' "$WORK/prof" | grep -c '"rule":"log_errors"')" = 1 ]
finish
