#!/bin/bash
# test_web.sh -- the HTTP view's page end to end in Debian's headless
# Chromium, driven by playwright-core (tests/web/e2e.js says what is
# checked; test_web_firefox and test_web_webkit run the same scenario in the
# other two engines).  Screenshots of the heat map, a host page and an alert
# are kept in build/test-artefacts/web/.
. "$(dirname "$0")/assert.sh"
[ -x /usr/bin/chromium ] || { echo "chromium is missing (make deps)"; exit 1; }
[ -d "$ROOT/tests/web/node_modules/playwright-core" ] || { echo "tests/web/node_modules is missing (make deps)"; exit 1; }
cd "$ROOT/tests/web" && node e2e.js "$ROOT" "$ROOT/build/test-artefacts/web" chromium
