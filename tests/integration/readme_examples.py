#!/usr/bin/env python3
"""readme_examples.py ROOT WORK -- run the examples of README.md and
lua/README.md exactly as they are written (test_readme.sh).

WORK becomes a copy of the source tree as a user has it after `make`: the
binary, lua/, conf/, analyses/ and contrib/, with `hostflow` on the PATH.
Every fenced block of the two pages is then one of:

  an analysis   ```lua that opens with "-- analyses/NAME.lua" or "-- NAME:"
                and returns hf.analysis or hf.profile: written to
                analyses/NAME.lua (as the page tells the reader to), then
                `hostflow check` must call it valid and a run over the
                sample must give its field (but a profile's, and one that
                raises alerts only)
  a test        ```lua that requires hostflow.testing: run by luajit with
                the LUA_PATH its comment gives, after the analyses above
  a query       ```lua that opens with "-- NAME.lua:": written as NAME.lua
                and run by the "$ hostflow query NAME.lua" block after it
  a config      ```lua that opens with "analyses = {": a configuration of
                its own (return { ... }), which a run must accept
  Lua to run    ```lua of plain Lua (the guarded cdef): run twice in one
                state, as a reload would
  a sketch      ```lua with "..." standing for code: not runnable
  a command     ```sh of ./hostflow, head, grep and build/tools/ lines: the
                block run by bash in WORK (exit 0, some output); when a
                plain ``` block follows it at once, its output must be that
                block's (as a session's); those of Kafka, OpenSearch and
                their servers, and make, are run by their own tests
                (test_kafka*.sh, test_opensearch*.sh, the whole of make test)
  a session     ``` whose first line is "$ hostflow ...": the command is
                run and its output must be the block's, byte for byte (but
                the install path of the sample and the number of traces
                LuaJIT makes, which varies; "..." stands for any lines)
  text          any other ``` block: output, formats, diagrams

Each example runs with analyses/ as a reader following the pages has it
there: the shipped analyses and those of the pages before it (README.md,
then lua/README.md).  A new ```lua block that fits none of the kinds
above is run as plain Lua, and fails unless it runs: decide what it is.
"""
import json
import os
import re
import shutil
import subprocess
import sys

ROOT, WORK = sys.argv[1], sys.argv[2]
TREE = os.path.join(WORK, "tree")
passed = failed = 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok - " + what)
    else:
        failed += 1
        print("not ok - " + what)
        if detail:
            for line in str(detail).rstrip().split("\n")[:25]:
                print("  | " + line)


def blocks(page):
    """(line, info, body lines, end line) of every fenced block of page."""
    out, lines = [], open(os.path.join(ROOT, page)).read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        indent, j = len(m.group(1)), i + 1
        while not re.match(r"^\s*```\s*$", lines[j]):
            j += 1
        out.append((i + 1, m.group(2), [l[indent:] for l in lines[i + 1:j]], j + 1))
        i = j + 1
    return out


def run(cmd, env=None, unset=()):
    e = dict(os.environ)
    for k in unset:
        e.pop(k, None)
    e["PATH"] = os.path.join(WORK, "bin") + ":" + e["PATH"]
    e.update(env or {})
    return subprocess.run(cmd, shell=isinstance(cmd, str), cwd=TREE, env=e, capture_output=True,
                          text=True, timeout=600, executable="/bin/bash" if isinstance(cmd, str) else None)


# the tree: what `make` leaves in a clone
os.makedirs(os.path.join(WORK, "bin"))
os.makedirs(os.path.join(TREE, "build"))
shutil.copy2(os.path.join(ROOT, "hostflow"), TREE)
shutil.copy2(os.path.join(ROOT, "build", "libhostflow.so"), os.path.join(TREE, "build"))
os.symlink(os.path.join(TREE, "hostflow"), os.path.join(WORK, "bin", "hostflow"))
for d in ("lua", "conf", "analyses"):
    shutil.copytree(os.path.join(ROOT, d), os.path.join(TREE, d))
shipped = set(os.listdir(os.path.join(TREE, "analyses")))
os.symlink(os.path.join(ROOT, "contrib"), os.path.join(TREE, "contrib"))
os.symlink(os.path.join(ROOT, "build", "tools"), os.path.join(TREE, "build", "tools"))
# build/sample-records.ndjson, as `make run` writes it (contrib/run-sample.sh)
r = run("./hostflow run -q -i contrib/sample-flows.ndjson.gz -o build/sample-records.ndjson")
check("make run's records are made (for the README's `head` example)", r.returncode == 0, r.stderr)

PAGES = ("README.md", "lua/README.md")
pages = {p: blocks(p) for p in PAGES}
pos_of = {}                       # "page:line" -> (page, line): the order of the pages
analyses, tests, queries, configs, plain, commands, sessions = [], [], {}, [], [], [], []
for page, bs in pages.items():
    for b, (line, info, body, end) in enumerate(bs):
        where = "%s:%d" % (page, line)
        pos_of[where] = (PAGES.index(page), line)
        text = "\n".join(body) + "\n"
        first = body[0] if body else ""
        if info == "lua":
            m = re.match(r"^-- (?:analyses/(\w+)\.lua|(\w+)):", first)
            q = re.match(r"^-- (\w+\.lua):", first)
            if m and ("return hf.analysis" in text or "return hf.profile" in text):
                analyses.append((where, m.group(1) or m.group(2), text))
            elif 'require "hostflow.testing"' in text:
                tests.append((where, text))
            elif q and 'require "hostflow.query"' in text:
                queries[q.group(1)] = (where, text)
            elif first.startswith("analyses = {"):
                configs.append((where, text))
            elif re.search(r"(^|[^.])\.\.\.([^.]|$)", text.replace('"...', "").replace("...\"", "")):
                pass                                        # a sketch
            else:
                plain.append((where, text))
        elif info == "sh":
            script = "\n".join(body)
            firsts = [l for l in re.sub(r"\\\n", " ", script).split("\n") if l.strip()]
            if all(l.startswith(("./hostflow", "head ", "grep ", "build/tools/")) for l in firsts) \
                    and not re.search(r"kafka:|opensearch:", script):
                shown = None
                if b + 1 < len(bs) and bs[b + 1][1] == "" and bs[b + 1][0] == end + 2:
                    shown = bs[b + 1][2]
                commands.append((where, script, shown))
        elif info == "" and first.startswith("$ hostflow"):
            sessions.append((where, first[2:], body[1:]))

check("the pages hold the examples this test knows of (3 analyses, 1 test, 1 query, 2 configs)",
      len(analyses) >= 3 and len(tests) >= 1 and len(queries) >= 1 and len(configs) >= 2,
      "%d analyses, %d tests, %d queries, %d configs" % (len(analyses), len(tests), len(queries), len(configs)))

# analyses: written where the page says, checked, run
for where, name, text in analyses:
    path = os.path.join(TREE, "analyses", name + ".lua")
    with open(path, "w") as f:
        f.write(text)
    r = run(["hostflow", "check", "analyses/%s.lua" % name])
    spec_name = re.search(r'name\s*=\s*"(\w+)"', text).group(1)
    check("%s: hostflow check analyses/%s.lua calls it valid" % (where, name),
          r.returncode == 0 and ("ok: %s is valid" % spec_name) in r.stdout, r.stdout + r.stderr)

# a run over the sample with every analysis of the pages in analyses/
r = run("./hostflow run -q -i contrib/sample-flows.ndjson.gz -o build/pages.ndjson")
fields = set()
if r.returncode == 0:
    for line in open(os.path.join(TREE, "build", "pages.ndjson")):
        fields.update(json.loads(line).get("stats", {}).keys())
for where, name, text in analyses:
    spec_name = re.search(r'name\s*=\s*"(\w+)"', text).group(1)
    # fanout has a threshold its sample hosts stay under unless configured
    # (below); a profile writes records of its own, an analysis that raises
    # alerts may write no field
    if spec_name != "fanout" and "hf.profile" not in text and "ctx:alert" not in text:
        check("%s: a run with it in analyses/ writes stats.%s" % (where, spec_name),
              r.returncode == 0 and spec_name in fields, r.stderr or sorted(fields))

# From here on analyses/ holds what a reader following the pages has at
# each example: the shipped analyses and those of the pages before it.


def analyses_at(where):
    """analyses/ as it is at example `where` of the pages."""
    d = os.path.join(TREE, "analyses")
    for _, name, _ in analyses:
        if os.path.exists(os.path.join(d, name + ".lua")) and name + ".lua" not in shipped:
            os.remove(os.path.join(d, name + ".lua"))
    for w, name, text in analyses:
        if pos_of[w] < pos_of[where]:
            with open(os.path.join(d, name + ".lua"), "w") as f:
                f.write(text)


# tests of an analysis: as the comment says to run them
for where, text in tests:
    analyses_at(where)
    lua_path = re.search(r"LUA_PATH=(\S+)", text)
    path = os.path.join(WORK, "example_test.lua")
    with open(path, "w") as f:
        f.write(text)
    env = {"LUA_PATH": lua_path.group(1).strip("'\"") if lua_path else ""}
    r = run(["luajit", path], env=env, unset=["HOSTFLOW_LIB"])
    check("%s: the test runs and passes (luajit, LUA_PATH as its comment says)" % where,
          r.returncode == 0, r.stdout + r.stderr)

# configurations: a run accepts each one
for where, text in configs:
    analyses_at(where)
    path = os.path.join(WORK, "example_conf.lua")
    with open(path, "w") as f:
        f.write("return {\n" + text + "}\n")
    r = run(["./hostflow", "run", "-q", "-c", path, "-i", "contrib/sample-flows.ndjson.gz",
             "-o", "build/conf.ndjson"])
    # (a run refuses parameters of an analysis it does not have: fanout is found)
    check("%s: a run takes the configuration" % where, r.returncode == 0 and r.stderr == "", r.stderr)

# plain Lua: twice in one state
for where, text in plain:
    analyses_at(where)
    r = run(["luajit", "-e", "for _ = 1, 2 do assert(loadstring(%s))() end" % json.dumps(text)])
    check("%s: the Lua runs, twice in one state" % where, r.returncode == 0, r.stderr)

# commands
for where, cmd, shown in commands:
    analyses_at(where)
    r = run("set -e -o pipefail\n" + cmd)      # a step that fails fails the block
    ok = r.returncode == 0 and (r.stdout != "" or "-o " in cmd)
    if ok and cmd.startswith("./hostflow run") and "-w 5s,1m" in cmd:
        gs = {json.loads(l)["window"]["granularity_s"] for l in r.stdout.splitlines()}
        ok = gs == {5, 60}
    detail = r.stderr[-2000:]
    if ok and shown is not None:
        got = r.stdout.rstrip("\n").split("\n")
        ok = got == shown
        detail = "\n".join("- %s\n+ %s" % d for d in zip(shown, got) if d[0] != d[1]) \
            + "\n(%d lines shown, %d printed)\n%s" % (len(shown), len(got), r.stderr[-500:])
    check("%s: %s%s" % (where, cmd.split("\n")[-1], " prints what the page shows" if shown else ""), ok, detail)

# sessions: the output as shown
for where, cmd, shown in sessions:
    analyses_at(where)
    script = re.match(r"hostflow query (\w+\.lua)", cmd)
    if script and script.group(1) in queries:
        with open(os.path.join(TREE, script.group(1)), "w") as f:
            f.write(queries[script.group(1)][1])
    r = run(cmd)
    got = r.stdout.replace(TREE + "/", "/opt/hostflow/").rstrip("\n").split("\n")
    got = [l.replace(os.path.realpath(os.path.join(ROOT, "contrib")), "/opt/hostflow/contrib") for l in got]
    # how many traces LuaJIT makes of a loop varies from run to run
    shown = [re.sub(r"\(\d+ traces\)", "(N traces)", l) for l in shown]
    got = [re.sub(r"\(\d+ traces\)", "(N traces)", l) for l in got]
    if "..." in shown:                  # "...": the lines left out, any number of them
        cut = shown.index("...")
        tail = len(shown) - cut - 1
        if len(got) >= len(shown) - 1:
            got = got[:cut] + ["..."] + (got[len(got) - tail:] if tail else [])
    diff = [("- " + a, "+ " + b) for a, b in zip(shown, got) if a != b]
    check("%s: %s prints what the page shows" % (where, cmd),
          r.returncode == 0 and got == shown,
          "\n".join("%s\n%s" % d for d in diff[:6]) + ("\n(%d lines shown, %d printed)" % (len(shown), len(got)))
          + "\n" + r.stderr[-500:])

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
