#!/bin/sh
# install-deps.sh -- install the Debian packages hostflow builds and tests
# with, when any is missing.  Run by `make run` and `make test`; needs root
# (or sudo) only when something is missing.
set -e
PKGS="build-essential pkg-config clang libclang-rt-14-dev
      libluajit-5.1-dev luajit libcjson-dev zlib1g-dev
      librdkafka-dev libcurl4-openssl-dev kcat
      lua-busted lua-check sqlite3 python3 valgrind
      openjdk-17-jre-headless maven"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
