#!/bin/bash
# layers.sh -- the core's include graph keeps its layers: every include of a
# core module names its layer ("layer/module.h"), a module includes only its
# own layer or lower ones, and no cycle runs through the modules.
#
#   base < prim, conf < stream < engine < io < cmd < main.c
#
# (prim and conf are siblings: neither includes the other.)  Prints one line
# per violation, then "N passed, N failed" over the files checked.
cd "$(dirname "$0")/.." || exit 1
python3 - "$@" <<'PY'
import os, re, sys

rank = {"base": 0, "prim": 1, "conf": 1, "stream": 2, "engine": 3, "io": 4, "cmd": 5}
siblings = {("prim", "conf"), ("conf", "prim")}
inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

files = []
for d in sorted(rank):
    for f in sorted(os.listdir("core/" + d)):
        if f.endswith((".c", ".h")):
            files.append(d + "/" + f)
files.append("main.c")

graph, bad = {}, []
for f in files:
    layer = f.split("/")[0] if "/" in f else "main"
    text = open("core/" + f).read()
    deps = []
    for target in inc.findall(text):
        if "/" not in target:
            bad.append(f"{f}: includes \"{target}\" without its layer")
            continue
        tl = target.split("/")[0]
        if tl not in rank:
            bad.append(f"{f}: includes \"{target}\", not a core layer")
            continue
        if not os.path.exists("core/" + target):
            bad.append(f"{f}: includes \"{target}\", which does not exist")
            continue
        if layer != "main" and (rank[tl] > rank[layer] or (layer, tl) in siblings):
            bad.append(f"{f}: includes \"{target}\": {layer} may not include {tl}")
        deps.append(target)
    graph[f] = deps

# cycles among the modules (a .c and its .h are one module; a private
# X_impl.h is a module of its own, so X.c including it must not lead back)
def module(path):
    return path.rsplit(".", 1)[0]
mgraph = {}
for f, deps in graph.items():
    m = module(f)
    mgraph.setdefault(m, set()).update(module(d) for d in deps if module(d) != m)
state, stack, cycles = {}, [], []
def visit(m):
    state[m] = 1
    stack.append(m)
    for d in sorted(mgraph.get(m, ())):
        if state.get(d) == 1:
            cycles.append(" -> ".join(stack[stack.index(d):] + [d]))
        elif d not in state:
            visit(d)
    stack.pop()
    state[m] = 2
for m in sorted(mgraph):
    if m not in state:
        visit(m)
for c in cycles:
    bad.append(f"include cycle: {c}")

for b in bad:
    print("not ok -", b)
failed_files = {b.split(":")[0] for b in bad if not b.startswith("include cycle")}
ncycles = sum(1 for b in bad if b.startswith("include cycle"))
print(f"{len(files) - len(failed_files)} passed, {len(failed_files) + ncycles} failed")
sys.exit(1 if bad else 0)
PY
