#!/bin/bash
# test_deb.sh -- the Debian package (make deb) installed and its service run
# by a real systemd, without touching this machine.
#
# The machine's root is mounted as the lower layer of an overlay (the upper
# layer a scratch directory of this test), in a mount namespace of its own,
# and systemd-nspawn boots systemd in it as PID 1, with a private network
# and only basic.target and a test unit started.  In there the test unit
# (inside.sh below) installs the package with dpkg, so the postinst makes
# the user and systemd starts the service; checks the unit with
# systemd-analyze verify; checks that the service runs as hostflow, reloads
# on `systemctl reload`, restarts after a failure, and, with the sample as
# its input through a drop-in, writes the same records as the tree's binary
# into /var/lib/hostflow under its sandbox; runs the installed binary on
# the sample as the hostflow user from outside any source tree; renders
# `man hostflow`; and purges the package.  Everything it did vanishes
# with the overlay.  Skipped (77) where a container cannot be booted: not
# root, no systemd-nspawn, no debhelper, no overlay.
source "$(dirname "$0")/assert.sh"
skip() { echo "skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (mount namespaces, systemd-nspawn)"
for t in systemd-nspawn dpkg-buildpackage dh unshare systemd-analyze; do
    command -v "$t" >/dev/null || skip "no $t (make deps installs it)"
done
unshare -m true 2>/dev/null || skip "cannot make a mount namespace here"
export -n MAKEFLAGS MAKELEVEL MFLAGS

# The package, built from the tree as a user would
DEB=$("$ROOT/contrib/debian/mkdeb.sh" 2>"$WORK/mkdeb.err")
check "make deb builds a package" test -f "$DEB"
[ -f "$DEB" ] || { cat "$WORK/mkdeb.err"; finish; }
dpkg-deb -c "$DEB" | awk '{print $6}' >"$WORK/contents"
has() { grep -qx "./$1" "$WORK/contents" || { echo "  not in the package: $1"; return 1; }; }
check "the package has the binary, the unit, the configuration, the defaults, a man page" \
    bash -c "$(declare -f has); WORK='$WORK'; has usr/bin/hostflow && has lib/systemd/system/hostflow.service &&
             has etc/hostflow/hostflow.lua && has etc/default/hostflow && has usr/share/man/man5/hostflow.conf.5.gz &&
             has usr/share/hostflow/lua/hostflow/init.lua && has usr/share/hostflow/contrib/sample-flows.ndjson.gz"
check "its configuration files are conffiles" \
    bash -c "dpkg-deb -I '$DEB' conffiles | sort | tr '\n' ' ' | grep -qx '/etc/default/hostflow /etc/hostflow/hostflow.lua '"
check "its dependencies come from the libraries it links (LuaJIT, librdkafka) and adduser" \
    bash -c "dpkg-deb -f '$DEB' Depends | grep -q libluajit && dpkg-deb -f '$DEB' Depends | grep -q librdkafka &&
             dpkg-deb -f '$DEB' Depends | grep -q adduser"

# What the tree's binary writes for the sample, to compare with the service's
"$HOSTFLOW" run -q -i "$ROOT/contrib/sample-flows.ndjson.gz" -o "$WORK/tree.ndjson"
sort "$WORK/tree.ndjson" | md5sum | cut -d' ' -f1 >"$WORK/tree.md5"

# The test unit's script, run by the container's systemd after basic.target
T=$WORK/hftest
mkdir -p "$T"
cp "$DEB" "$T/hostflow.deb"
cp "$WORK/tree.md5" "$T/tree.md5"
cat >"$T/inside.sh" <<'INSIDE'
#!/bin/bash
# inside.sh -- runs as a unit in the booted container; "ok - ..." lines to
# /hftest/result, then powers the container off.
exec >/hftest/result 2>/hftest/inside.err
cd /
ok() { if "${@:2}"; then echo "ok - $1"; else echo "not ok - $1"; fi; }
wait_for() {  # wait_for SECONDS COMMAND...: until it succeeds
    local end=$((SECONDS + $1)); shift
    until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.2; done
}
log() { journalctl -q -u hostflow --no-pager -o cat; }
prop() { systemctl show -p "$1" --value hostflow; }
running_as() { [ "$(ps -o user= -p "$(prop MainPID)" 2>/dev/null | tr -d ' ')" = "$1" ]; }

ok "systemd runs as PID 1 in the container" test "$(ps -o comm= -p 1)" = systemd
DEBIAN_FRONTEND=noninteractive dpkg -i /hftest/hostflow.deb >/hftest/dpkg.log 2>&1
ok "dpkg -i installs the package" dpkg-query -W -f='${Status}' hostflow 2>/dev/null | grep -q "install ok installed"
ok "the postinst made the system user hostflow" bash -c "getent passwd hostflow | grep -q ':/var/lib/hostflow:'"
systemd-analyze verify /lib/systemd/system/hostflow.service >/hftest/verify.log 2>&1
vrc=$?
ok "systemd-analyze verify accepts the unit, with no message" bash -c "[ $vrc -eq 0 ] && ! grep -q . /hftest/verify.log"
ok "the service is enabled" bash -c "[ \"\$(systemctl is-enabled hostflow)\" = enabled ]"
ok "dpkg started it, as the user hostflow" wait_for 20 running_as hostflow
ok "it runs with the defaults (Kafka in and out, brokers away: it waits)" \
    wait_for 20 bash -c "journalctl -q -u hostflow -o cat | grep -q 'all brokers are down'"
sleep 1
ok "... and is still running" bash -c "[ \"\$(systemctl is-active hostflow)\" = active ]"
systemctl reload hostflow
ok "systemctl reload sends SIGHUP: the analyses are checked again" \
    wait_for 20 bash -c "journalctl -q -u hostflow -o cat | grep -q 'reloading (SIGHUP)'"
systemd-analyze security hostflow --no-pager >/hftest/security.log 2>&1
ok "systemd-analyze security rates it (its exposure is in security.log)" \
    grep -q 'Overall exposure level for hostflow.service' /hftest/security.log

# Its options are changed as a user would, in /etc/default/hostflow (the
# drop-in only shortens RestartSec for the test)
opts() { printf 'HOSTFLOW_OPTS="%s"\n' "$*" >/etc/default/hostflow; }
mkdir -p /etc/systemd/system/hostflow.service.d
printf '[Service]\nRestartSec=1s\n' >/etc/systemd/system/hostflow.service.d/test.conf
systemctl daemon-reload

# A configuration error: the service fails and is restarted (Restart=on-failure)
opts -w 1.5s
systemctl restart hostflow
ok "a bad setting stops it with the message in the journal" \
    wait_for 20 bash -c "journalctl -q -u hostflow -o cat | grep -q 'expected a whole number of seconds'"
ok "... and it is restarted after the failure (Restart=on-failure)" \
    wait_for 20 bash -c "[ \"\$(systemctl show -p NRestarts --value hostflow)\" -ge 1 ]"

# The sample as input: the hardened service reads /usr/share and writes its state
opts -i /usr/share/hostflow/contrib/sample-flows.ndjson.gz -o /var/lib/hostflow/records.ndjson \
     --stats /var/lib/hostflow/counters.json
systemctl reset-failed hostflow
systemctl restart hostflow
ok "with the sample as input, the service reads it to the end and exits 0" \
    wait_for 60 bash -c "[ \"\$(systemctl show -p ActiveState --value hostflow)\" = inactive ] &&
                          [ \"\$(systemctl show -p ExecMainStatus --value hostflow)\" = 0 ]"
ok "its records, written under /var/lib/hostflow by the user hostflow, are the tree's" \
    bash -c "[ \"\$(stat -c %U /var/lib/hostflow/records.ndjson)\" = hostflow ] &&
             [ \"\$(sort /var/lib/hostflow/records.ndjson | md5sum | cut -d' ' -f1)\" = \"\$(cat /hftest/tree.md5)\" ]"
ok "its counters went to the state directory" grep -q '"decoded"' /var/lib/hostflow/counters.json
# a directory the user owns, outside its ReadWritePaths: read-only to it
mkdir -p /srv/hostflow-out && chown hostflow: /srv/hostflow-out
opts -i /usr/share/hostflow/contrib/sample-flows.ndjson.gz -o /srv/hostflow-out/x.ndjson
systemctl reset-failed hostflow
systemctl start hostflow
ok "it may write nowhere else, even where its user may (ProtectSystem=strict)" \
    wait_for 20 bash -c "journalctl -q -u hostflow -o cat | grep -q 'x.ndjson.*Read-only file system' &&
                          [ ! -e /srv/hostflow-out/x.ndjson ]"
systemctl stop hostflow
rm -rf /etc/systemd/system/hostflow.service.d
systemctl daemon-reload

# The installed binary from outside any source tree, as an unprivileged user
cd /var/lib/hostflow
runuser -u hostflow -- /usr/bin/hostflow run -q -i /usr/share/hostflow/contrib/sample-flows.ndjson.gz \
    -o /tmp/cli.ndjson 2>/hftest/cli.err
ok "the installed hostflow run, as hostflow, writes the tree's records" \
    bash -c "[ \"\$(sort /tmp/cli.ndjson | md5sum | cut -d' ' -f1)\" = \"\$(cat /hftest/tree.md5)\" ]"
ok "hostflow check runs on the installed sample" \
    bash -c "runuser -u hostflow -- hostflow check /usr/share/hostflow/analyses/total.lua 2>&1 |
             grep -q 'fed from /usr/share/hostflow/contrib/sample-flows.ndjson.gz'"
ok "man hostflow-run renders the installed page" \
    bash -c "MANWIDTH=80 man hostflow-run 2>/dev/null | grep -q 'SIGNALS'"
cd /

# Stopping and purging
systemctl start hostflow
wait_for 20 running_as hostflow
DEBIAN_FRONTEND=noninteractive dpkg --purge hostflow >>/hftest/dpkg.log 2>&1
ok "dpkg --purge stops the service and removes the package, its configuration and state" \
    bash -c "! systemctl is-active -q hostflow && [ ! -e /usr/bin/hostflow ] && [ ! -e /etc/hostflow ] &&
             [ ! -e /var/lib/hostflow ] && [ ! -e /usr/share/hostflow ]"
journalctl -q -u hostflow --no-pager -o short-monotonic >/hftest/journal.log 2>&1
echo "# the end"
systemctl --no-block poweroff
INSIDE
chmod +x "$T/inside.sh"

# The overlay, the units that run inside.sh, and the boot
R=$WORK/root
mkdir -p "$R"/{upper,work,merged}
cat >"$WORK/boot.sh" <<BOOT
set -e
mount -t tmpfs -o mode=0755 hostflow-test "$R"
mkdir -p "$R"/{upper,work,merged}
mount -t overlay overlay -o lowerdir=/,upperdir="$R/upper",workdir="$R/work" "$R/merged"
M="$R/merged"
cat >"\$M/etc/systemd/system/hostflow-test.target" <<UNIT
[Unit]
Description=hostflow package test
Requires=basic.target hostflow-test.service
After=basic.target
AllowIsolate=yes
UNIT
cat >"\$M/etc/systemd/system/hostflow-test.service" <<UNIT
[Unit]
Description=hostflow package test: /hftest/inside.sh
After=basic.target
[Service]
Type=oneshot
ExecStart=/hftest/inside.sh
UNIT
rm -f "\$M/etc/machine-id"; : >"\$M/etc/machine-id"
# a container image's "start no service" policy is not a Debian system's
rm -f "\$M/usr/sbin/policy-rc.d"
exec timeout --kill-after=10 300 systemd-nspawn -q --directory="\$M" --machine=hftest-\$\$ \
    --register=no --keep-unit --private-network --console=pipe --bind="$T:/hftest" \
    -b systemd.unit=hostflow-test.target
BOOT
unshare -m --propagation private bash "$WORK/boot.sh" >"$WORK/boot.log" 2>&1 </dev/null
echo "boot exit: $?" >>"$WORK/boot.log"

check "the container booted and ran the test unit to its end" grep -qx '# the end' "$T/result"
[ -s "$T/result" ] || { tail -n 30 "$WORK/boot.log"; }
while IFS= read -r line; do
    case $line in
        "ok - "*) check "in the container: ${line#ok - }" true ;;
        "not ok - "*) check "in the container: ${line#not ok - }" false ;;
    esac
done <"$T/result"
if grep -q '^not ok' "$T/result"; then
    for f in inside.err verify.log dpkg.log journal.log; do
        echo "--- $f"; tail -n 15 "$T/$f" 2>/dev/null
    done
fi
grep -m1 'Overall exposure level' "$T/security.log" 2>/dev/null | sed 's/^/  /'
finish
