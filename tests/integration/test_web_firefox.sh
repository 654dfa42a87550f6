#!/bin/bash
# test_web_firefox.sh -- the HTTP view's page end to end in Debian's Firefox
# ESR, headless, with a fresh profile, driven by puppeteer-core over WebDriver
# BiDi (stock Firefox speaks it): test_web's scenario (tests/web/e2e.js),
# with the preferences that keep Firefox off the network and a proxy that
# sees whatever it still tries (tests/web/browsers.js).  Screenshots in
# build/test-artefacts/web/firefox/.
. "$(dirname "$0")/assert.sh"
[ -x /usr/bin/firefox-esr ] || { echo "firefox-esr is missing (make deps)"; exit 1; }
[ -d "$ROOT/tests/web/node_modules/puppeteer-core" ] || { echo "tests/web/node_modules/puppeteer-core is missing (make deps)"; exit 1; }
cd "$ROOT/tests/web" && node e2e.js "$ROOT" "$ROOT/build/test-artefacts/web/firefox" firefox
