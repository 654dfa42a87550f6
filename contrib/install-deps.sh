#!/bin/sh
# install-deps.sh -- the Debian packages hostflow builds and tests with.
#
#   contrib/install-deps.sh           install those missing (`make deps`, `make run`;
#                                     as root, or through sudo)
#   contrib/install-deps.sh --check   only say which are missing and how to get them
#                                     (`make test`, which installs nothing itself)
set -e
PKGS="build-essential pkg-config clang libclang-rt-14-dev
      libluajit-5.1-dev luajit libcjson-dev zlib1g-dev libsimdjson-dev
      librdkafka-dev libcurl4-openssl-dev kcat libmicrohttpd-dev
      lua-busted lua-check sqlite3 python3 valgrind tzdata
      man-db groff-base mandoc dpkg-dev debhelper systemd systemd-container
      openjdk-17-jre-headless maven unzip curl openssl iproute2
      chromium firefox-esr webkit2gtk-driver xvfb nodejs tmux wrk"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# the page's end-to-end tests, in the three engines (chromium, firefox-esr,
# webkit2gtk-driver under xvfb): npm (Debian's, unless Node.js came with
# its own), playwright-core and puppeteer-core from tests/web/package-lock.json
command -v npm >/dev/null 2>&1 || missing="$missing npm"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
node_deps() { [ -d "$ROOT/tests/web/node_modules/playwright-core" ] &&
              [ -d "$ROOT/tests/web/node_modules/puppeteer-core" ]; }
if [ -z "$missing" ] && node_deps; then exit 0; fi
if [ "${1:-}" = "--check" ]; then
    node_deps || [ -n "$missing" ] || {
        echo "hostflow: tests/web/node_modules is missing: run 'make deps' (npm ci there)" >&2; exit 1; }
    echo "hostflow: missing Debian packages:$missing" >&2
    echo "hostflow: run 'make deps' (as root or with sudo) to install them, then try again" >&2
    exit 1
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
if [ -n "$missing" ]; then
    echo "install-deps: installing:$missing" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
node_deps || (cd "$ROOT/tests/web" && npm ci --no-audit --no-fund >/dev/null)
