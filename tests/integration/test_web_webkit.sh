#!/bin/bash
# test_web_webkit.sh -- the HTTP view's page end to end in WebKitGTK: Debian's
# WebKitWebDriver (webkit2gtk-driver) drives its MiniBrowser in automation
# mode under Xvfb, over classic W3C WebDriver in plain HTTP: test_web's
# scenario (tests/web/e2e.js; tests/web/browsers.js says what classic
# WebDriver cannot report and what stands in for it).  Screenshots in
# build/test-artefacts/web/webkit/.
. "$(dirname "$0")/assert.sh"
[ -x /usr/bin/WebKitWebDriver ] || { echo "WebKitWebDriver is missing: webkit2gtk-driver (make deps)"; exit 1; }
command -v Xvfb >/dev/null || { echo "Xvfb is missing: xvfb (make deps)"; exit 1; }
cd "$ROOT/tests/web" && node e2e.js "$ROOT" "$ROOT/build/test-artefacts/web/webkit" webkit
