-- The runtime's check of a new version (what a reload runs in every worker
-- before a version may take over), the sample flows it runs on, the
-- environment each analysis file gets, and C declarations across reloads.
local helper = require "tests.spec.helper"
local ffi = require "ffi"
local runtime = require "hostflow.runtime"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- An analysis file's text: a state of one counter, the update given.
local function analysis(update, extra)
  return string.format([[
local hf = require "hostflow"
%s
return hf.analysis {
  name = "probe",
  state = { n = hf.counter() },
  update = function(s, flow)
    %s
  end,
}
]], extra or "", update)
end

describe("the check of a new version (runtime.check)", function()
  it("accepts every shipped analysis", function()
    for _, name in ipairs(helper.ANALYSES) do
      local path = helper.analysis_path(name)
      local spec, s = runtime.check(read(path), path)
      assert.is_table(spec, tostring(s))
      assert.equal(name, spec.name)
      assert.is_table(s)
      assert.is_true(s.size > 0)
    end
  end)

  it("refuses a syntax error, naming the file and the line", function()
    local spec, err = runtime.check("local hf = require 'hostflow'\nreturn {\n  name = \n}\n", "an/x.lua")
    assert.is_nil(spec)
    assert.matches("^an/x%.lua:4: unexpected symbol", err)
  end)

  it("refuses a table hf.validate refuses, naming the file", function()
    local spec, err = runtime.check("return { name = 'x', state = {}, update = 42 }", "an/x.lua")
    assert.is_nil(spec)
    assert.equal("an/x.lua: analysis 'x': update must be a function(state, flow)", err)
  end)

  it("refuses an error on the sample flows, with file, line and the flow", function()
    local spec, err = runtime.check(analysis("s.n = s.n + flow.missing_field"), "an/probe.lua")
    assert.is_nil(spec)
    assert.matches("^an/probe%.lua:7: .*missing_field", err)
    assert.matches("(update, sample flow 1: 10.0.0.1 -> 192.0.2.1, protocol 6, port 443)", err, 1, true)
  end)

  it("refuses an error that only some sample flows raise (IPv6)", function()
    local spec, err = runtime.check(analysis("if flow.family == 6 then error('no IPv6 here') end"), "an/probe.lua")
    assert.is_nil(spec)
    assert.matches("an/probe.lua:7: no IPv6 here (update, sample flow 4: 2001:db8::1", err, 1, true)
  end)

  it("refuses an error in result(), naming the sample host", function()
    local src = read(helper.analysis_path("peer_number")):gsub("return s.peers:count%(%)",
                                                                "return s.peers:count() .. nil")
    local spec, err = runtime.check(src, "an/peer_number.lua")
    assert.is_nil(spec)
    assert.matches("attempt to concatenate", err)
    assert.matches("(result, sample host 10.0.0.1)", err, 1, true)
  end)

  it("refuses a result that is not JSON", function()
    local src = read(helper.analysis_path("peer_number")):gsub("return s.peers:count%(%)",
                                                                "return { f = tostring }")
    local spec, err = runtime.check(src, "an/peer_number.lua")
    assert.is_nil(spec)
    assert.matches("cannot encode a function as JSON", err, 1, true)
  end)

  it("refuses an endless loop in update(), with its line, at the instruction limit", function()
    local t0 = os.clock()
    local spec, err = runtime.check(analysis("while true do s.n = s.n + 1 end"), "an/probe.lua")
    assert.is_nil(spec)
    assert.matches(string.format("an/probe.lua:7: it did not finish within %d Lua instructions",
                                 runtime.CHECK_INSTRUCTIONS), err, 1, true)
    assert.is_true(os.clock() - t0 < 5, "the check took " .. (os.clock() - t0) .. " s")
  end)

  it("refuses an endless loop that catches the errors raised in it, wherever the limit falls", function()
    for _, body in ipairs {
      "while true do pcall(function() s.n = s.n + 1 end) end",
      "pcall(function() while true do end end) while true do pcall(function() end) end",
      "while true do xpcall(function() s.n = s.n + 1 end, function() while true do end end) end",
    } do
      for pad = 1, 8 do            -- the limit falls on another instruction of the loop each time
        local spec, err = runtime.check(analysis(string.rep("local _ = 1 ", pad) .. body), "an/probe.lua")
        assert.is_nil(spec)
        assert.matches("an/probe.lua:7: it did not finish within", err, 1, true)
      end
    end
  end)

  it("refuses an endless loop when the file is loaded", function()
    local spec, err = runtime.check(analysis("", "while true do end"), "an/probe.lua")
    assert.is_nil(spec)
    assert.matches("an/probe.lua:2: loading it did not finish within", err, 1, true)
  end)

  it("refuses an analysis that calls os.exit: os is not in its sandbox", function()
    local spec, err = runtime.check(analysis("os.exit(1)"), "an/probe.lua")
    assert.is_nil(spec)
    assert.matches("an/probe.lua:7: 'os' is not available to an analysis", err, 1, true)
  end)

  it("refuses an analysis that calls os.exit, even a trusted one", function()
    local spec, err = runtime.check(analysis("os.exit(1)"), "an/probe.lua",
                                    { trusted = { probe = true } })
    assert.is_nil(spec)
    assert.matches("an analysis may not call os.exit", err, 1, true)
  end)

  it("leaves the JIT on for a version that passed: its loop compiles afterwards", function()
    local spec = assert(runtime.check(analysis("s.n = s.n + flow.bytes"), "an/probe.lua"))
    local flows = runtime.sample_flows(64)
    local state = ffi.new("struct { double n; }")
    local traces = 0
    local function on_trace(what) if what == "stop" then traces = traces + 1 end end
    jit.attach(on_trace, "trace")
    for i = 1, 2000 do spec.update(state, flows[i % 64]) end
    jit.attach(on_trace)
    assert.is_true(traces > 0, "no trace compiled")
  end)

  it("runs the sample with the configuration's values of the parameters, and refuses bad ones", function()
    local src = [[
local hf = require "hostflow"
return hf.analysis {
  name = "probe",
  params = { limit = 20, ports = { 443 } },
  state = { n = hf.counter() },
  update = function(s, flow, params)
    if s.n >= params.limit then error("over the limit " .. params.limit) end
    s.n = s.n + 1
  end,
}
]]
    local spec, s, p = runtime.check(src, "an/probe.lua")
    assert.is_table(spec, s)
    assert.equal(20, p.view.limit)
    local none, err = runtime.check(src, "an/probe.lua", { params = { probe = { limit = 3 } } })
    assert.is_nil(none)
    assert.matches("an/probe.lua:7: over the limit 3 (update, sample flow 13", err, 1, true)
    none, err = runtime.check(src, "an/probe.lua", { params = { probe = { limit = "3" } } })
    assert.is_nil(none)
    assert.equal('an/probe.lua: analyses.params.probe.limit: expected a number, as its default 20, got a string ("3")',
                 err)
  end)

  it("refuses a version that changes its parameters (they are read-only)", function()
    local spec, err = runtime.check(analysis("s.n = s.n + 1; params.ports[1] = 0", ""):gsub(
      'state = { n = hf.counter%(%) },', 'state = { n = hf.counter() }, params = { ports = { 443 } },'):gsub(
      "function%(s, flow%)", "function(s, flow, params)"), "an/probe.lua")
    assert.is_nil(spec)
    assert.matches("probe: it changed its params, which are read-only", err, 1, true)
    spec, err = runtime.check(analysis("params.x = 1", ""):gsub("function%(s, flow%)", "function(s, flow, params)"),
                              "an/probe.lua")
    assert.is_nil(spec)
    assert.matches("an/probe.lua:7: params are read-only: params.x cannot be set", err, 1, true)
  end)

  it("restores the caller's hook state: none is left set", function()
    runtime.check(analysis("while true do end"), "an/probe.lua")
    assert.is_nil(debug.gethook())
  end)
end)

describe("the sample flows", function()
  local flows = runtime.sample_flows(runtime.CHECK_FLOWS)

  it("cover IPv4 and IPv6, TCP, UDP, ICMP and ICMPv6, port 0 and every TCP flag", function()
    local families, protos, flags, port0 = {}, {}, 0, false
    for i = 0, runtime.CHECK_FLOWS - 1 do
      local f = flows[i]
      families[f.family] = true
      protos[f.proto] = true
      flags = bit.bor(flags, f.tcp_flags)
      if f.dport == 0 then port0 = true end
      assert.is_true(f.end_ms >= f.start_ms)
      assert.equal(f.family, helper.flow({ src = f.family == 4 and "10.0.0.1" or "2001:db8::1" }).family)
    end
    assert.same({ [4] = true, [6] = true }, families)
    assert.same({ [1] = true, [6] = true, [17] = true, [58] = true }, protos)
    assert.equal(255, flags)
    assert.is_true(port0)
  end)

  it("are the same every time (the check is deterministic)", function()
    local again = runtime.sample_flows(runtime.CHECK_FLOWS)
    assert.equal(ffi.string(flows, ffi.sizeof("hf_flow") * runtime.CHECK_FLOWS),
                 ffi.string(again, ffi.sizeof("hf_flow") * runtime.CHECK_FLOWS))
  end)
end)

describe("an analysis's environment", function()
  after_each(helper.remove_files)

  it("keeps the globals an analysis sets to itself", function()
    local a = helper.write_file("a.lua", analysis("", "seen = 'a'"))
    local b = helper.write_file("b.lua", analysis("", "seen = seen or 'b'"))
    assert(runtime.load_file(a))
    assert(runtime.load_file(b))
    assert.is_nil(rawget(_G, "seen"))
    local _, src = runtime.load_file(b)
    assert.is_string(src)
  end)

  it("shares the modules: hostflow.base is loaded once per state", function()
    local before = package.loaded["hostflow.base"]
    assert(runtime.check(read(helper.analysis_path("peer_number")), "peer_number.lua"))
    assert(runtime.check(read(helper.analysis_path("peer_number")), "peer_number.lua"))
    assert.equal(before, package.loaded["hostflow.base"])
    -- and the primitives' methods (set once per state) still work
    local t = require("hostflow.testing").load(helper.analysis_path("peer_number"))
    t:feed { src = "10.0.0.1", dst = "192.0.2.9" }
    assert.equal(1, t:result("10.0.0.1"))
  end)
end)

describe("C declarations across reloads (a trusted analysis: the FFI is outside the sandbox)", function()
  local TRUSTED = { trusted = { probe = true } }

  it("survive a reload when guarded: the same file checks twice", function()
    local src = analysis("local p = probe_pair_t(); p.a = flow.bytes; s.n = s.n + p.a", [[
local ffi = require "ffi"
if not pcall(ffi.typeof, "struct probe_pair") then
  ffi.cdef "struct probe_pair { double a, b; };"
end
local probe_pair_t = ffi.typeof("struct probe_pair")]])
    assert.is_table((runtime.check(src, "an/probe.lua", TRUSTED)))
    assert.is_table((runtime.check(src, "an/probe.lua", TRUSTED)))
  end)

  it("are refused the second time when not guarded (so a reload keeps the old version)", function()
    -- in a LuaJIT of its own: busted forgives a second ffi.cdef
    local out = helper.run_luajit(string.format([[
local runtime = require "hostflow.runtime"
local src = %q
local trusted = { trusted = { probe = true } }
print("first", (runtime.check(src, "an/probe.lua", trusted)) ~= nil)
print("again", select(2, runtime.check(src, "an/probe.lua", trusted)))
]], analysis("s.n = s.n + 1", [[require("ffi").cdef "struct probe_unguarded { int x; };"]])))
    assert.matches("first\ttrue", out, 1, true)
    assert.matches("again\tan/probe.lua:2: attempt to redefine 'probe_unguarded'", out, 1, true)
  end)
end)
