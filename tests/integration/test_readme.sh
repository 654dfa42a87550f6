#!/bin/bash
# test_readme.sh -- the examples of README.md and lua/README.md, run exactly
# as they are written, in a copy of the tree (readme_examples.py says which
# block is what): the analyses are checked and run, the analysis test and
# the queries run, the configurations are taken, the commands succeed and
# the sessions print what the page shows.
. "$(dirname "$0")/assert.sh"
python3 "$ROOT/tests/integration/readme_examples.py" "$ROOT" "$WORK"
