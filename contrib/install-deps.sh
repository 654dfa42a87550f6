#!/bin/sh
# install-deps.sh -- the Debian packages hostflow builds and tests with.
#
#   contrib/install-deps.sh           install those missing (`make deps`, `make run`;
#                                     as root, or through sudo)
#   contrib/install-deps.sh --check   only say which are missing and how to get them
#                                     (`make test`, which installs nothing itself)
set -e
PKGS="build-essential pkg-config clang libclang-rt-14-dev
      libluajit-5.1-dev luajit libcjson-dev zlib1g-dev
      librdkafka-dev libcurl4-openssl-dev kcat
      lua-busted lua-check sqlite3 python3 valgrind tzdata
      man-db groff-base mandoc dpkg-dev debhelper systemd systemd-container
      openjdk-17-jre-headless maven"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "${1:-}" = "--check" ]; then
    echo "hostflow: missing Debian packages:$missing" >&2
    echo "hostflow: run 'make deps' (as root or with sudo) to install them, then try again" >&2
    exit 1
fi
echo "install-deps: installing:$missing" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
