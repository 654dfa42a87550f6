#!/bin/bash
# test_busted.sh -- an analysis's spec runs from a plain `busted` call in
# the project and from `make spec SPEC=FILE`, under LuaJIT (.busted), with
# no --lua=luajit to remember; plain `busted` finds every spec of tests/spec.
. "$(dirname "$0")/assert.sh"
cd "$ROOT"

cat >"$WORK/dns_queries.lua" <<'LUA'
local hf = require "hostflow"
return hf.analysis {
  name   = "dns",
  state  = { queries = hf.counter(), resolvers = hf.distinct() },
  update = function(s, flow)
    if flow.dport == 53 then s.queries = s.queries + 1; s.resolvers:add(flow.dst) end
  end,
  result = function(s)
    if s.queries == 0 then return nil end
    return { queries = s.queries, resolvers = s.resolvers:count() }
  end,
}
LUA
cat >"$WORK/dns_queries_spec.lua" <<LUA
local testing = require "hostflow.testing"
describe("dns analysis", function()
  it("runs under LuaJIT", function() assert.is_table(jit) end)
  it("counts the queries and the resolvers asked", function()
    local t = testing.load("$WORK/dns_queries.lua")
    t:feed { src = "10.0.0.1", dst = "192.0.2.53", dport = 53 }
    t:feed { src = "10.0.0.1", dst = "192.0.2.54", dport = 53 }
    assert.same({ queries = 2, resolvers = 2 }, t:result("10.0.0.1"))
  end)
end)
LUA

check "plain busted runs an analysis's spec, under LuaJIT" \
    sh -c "busted -o TAP '$WORK/dns_queries_spec.lua' >'$WORK/busted.out' 2>&1 && grep -qx '1..2' '$WORK/busted.out' && ! grep -q '^not ok' '$WORK/busted.out'"
check "make spec SPEC=FILE runs it too" \
    sh -c "make -s spec SPEC='$WORK/dns_queries_spec.lua' >'$WORK/make.out' 2>&1 && grep -q '^2 successes / 0 failures / 0 errors' '$WORK/make.out'"
check "a failing spec fails make spec" \
    sh -c "sed 's/queries = 2,/queries = 3,/' '$WORK/dns_queries_spec.lua' >'$WORK/bad_spec.lua'; ! make -s spec SPEC='$WORK/bad_spec.lua' >/dev/null 2>&1"
check "plain busted, no file named, finds the specs of tests/spec" \
    sh -c "[ \$(busted --list 2>/dev/null | grep -c '^tests/spec/') -gt 400 ]"
finish
