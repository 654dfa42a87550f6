-- The messages of an analysis's errors name the types its author knows (a
-- flow, the state, an hf.distinct(), a table), not LuaJIT's ('struct 421');
-- a result that cannot be written as JSON says where in it, and what to
-- return instead.
local helper = require "tests.spec.helper"
local errors = require "hostflow.errors"
local json = require "hostflow.json"

describe("the messages of an analysis's errors", function()
  local w
  after_each(function()
    if w then w:close() end
    w = nil
    helper.remove_files()
  end)

  -- The log line of an analysis whose update() runs CODE on the flows whose
  -- bytes are 666 (the reload check's sample flows pass).
  local function line_of(code, state)
    state = state
            or "n = hf.counter(), peers = hf.distinct(), top = hf.topk(3), by_port = hf.group { of = hf.distinct }"
    local file = helper.write_file("probe.lua", ([[
local hf = require "hostflow"
return hf.analysis {
  name = "probe",
  state = { STATE },
  update = function(s, flow)
    if flow.bytes == 666 then CODE end
  end,
}]]):gsub("STATE", function() return state end):gsub("CODE", function() return code end))
    w = helper.worker { files = { file } }
    w:feed { { src = "10.0.0.1", bytes = 666 } }
    for _, l in ipairs(w.log) do
      if l:find("^probe: ") then
        w:close()
        w = nil
        return l:match("^probe: [^:]*:%d+: (.-) %(host ")
      end
    end
    error("no line in:\n" .. table.concat(w.log, "\n"))
  end

  it("names the state and lists its fields for a field that is not there", function()
    assert.equal("the state has no field 'peer' (its fields: by_port, n, peers, top)",
                 line_of("s.peer:add(flow.dst)"))
  end)

  it("names a flow and lists its fields", function()
    assert.equal("a flow has no field 'port' (its fields: src, dst, family, sport, dport, proto, packets, "
                 .. "bytes, start_ms, end_ms, tcp_flags)", line_of("s.n = s.n + flow.port"))
  end)

  it("names the primitives, the addresses and Lua's own types", function()
    assert.equal("attempt to perform arithmetic on an hf.distinct() and a number", line_of("s.n = s.peers + 1"))
    assert.equal("attempt to compare a number with a flow", line_of("if s.n < flow then s.n = 1 end"))
    assert.equal("cannot convert a table to a number", line_of("s.n = {}"))
    assert.equal("cannot convert a string to a number", line_of("s.n = 'many'"))
    assert.equal("cannot convert an address (hf.addr() gives its text) to a number", line_of("s.n = flow.dst"))
    assert.equal("cannot convert an hf.topk() to a number", line_of("s.n = s.top"))
    assert.equal("attempt to perform arithmetic on the state and a number", line_of("s.n = s + 1"))
    assert.equal("distinct:add: expected a number, a string or an address, got a table",
                 line_of("s.peers:add({})"))
    assert.equal("group:at: expected a number or an address as the key, got a string",
                 line_of("s.by_port:at('22')"))
  end)

  it("names the field a primitive must be when the state has one of its kind", function()
    local kinds = { n = "sum", peers = "distinct", top = "topk" }
    local msg = "x.lua:3: attempt to perform arithmetic on 'struct hf_distinct' and 'number'"
    assert.equal("x.lua:3: attempt to perform arithmetic on an hf.distinct() (state.peers) and a number",
                 errors.explain(msg, kinds))
    assert.equal("x.lua:3: cannot convert an hf.topk() (state.top) to a number",
                 errors.explain("x.lua:3: cannot convert 'struct hf_topk' to 'double'", kinds))
    assert.equal("attempt to perform arithmetic on an hf.distinct() (state.peers) and a number",
                 line_of("s.n = s.peers + 1", "n = hf.counter(), peers = hf.distinct()"))
    -- two sets, or a group (whose values may be sets): no guess
    assert.equal("x.lua:3: attempt to perform arithmetic on an hf.distinct() and a number",
                 errors.explain(msg, { a = "distinct", b = "distinct" }))
    assert.equal("x.lua:3: attempt to perform arithmetic on an hf.distinct() and a number",
                 errors.explain(msg, { a = "distinct", g = "group" }))
  end)

  it("keeps a message with no type in it as it is", function()
    assert.equal("attempt to compare nil with number", line_of("local x = nil; if x < s.n then s.n = 1 end"))
  end)

  it("names the analysis, the field and what to return for a result that cannot be written as JSON", function()
    local file = helper.write_file("peers.lua", [[
local hf = require "hostflow"
return hf.analysis {
  name = "peers",
  state = { peers = hf.distinct(), n = hf.counter() },
  update = function(s, flow) s.peers:add(flow.dst); s.n = s.n + 1 end,
  result = function(s)
    if s.n < 100 then return s.n end
    return { count = s.peers:count(), seen = { list = { 1, s.peers } } }
  end,
}]])
    w = helper.worker { files = { file } }
    local list = {}
    for i = 1, 100 do list[i] = { src = "10.0.0.1", dst = "10.9.0." .. i } end
    w:feed(list)
    w:records()
    local found
    for _, l in ipairs(w.log) do found = found or l:match("^peers: .*") end
    assert.equal("peers: cannot encode an hf.distinct() as JSON at stats.peers.seen.list[2]: a result holds "
                 .. "numbers, strings, booleans and tables of them; return its :count() (host 10.0.0.1, "
                 .. "window 10s@2025-11-26T14:00:00Z: field left out)", found)
  end)

  it("says where in a result the writer stopped", function()
    assert.equal("", json.path_at(""))
    assert.equal(".a", json.path_at('{"a":'))
    assert.equal(".b.c[3]", json.path_at('{"a":{"x":"}{[,"},"b":{"c":[1,"2",'))
    assert.equal("[2].k", json.path_at('[{"k":1},{"j":[],"k":'))
  end)

  it("describes values", function()
    assert.equal("a table", errors.describe({}))
    assert.equal("a function", errors.describe(print))
    assert.equal("a 64-bit integer (tonumber() makes it a number)", errors.describe(1LL))
  end)
end)
