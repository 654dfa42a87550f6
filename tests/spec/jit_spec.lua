-- The per-flow loops compile: every analysis's update() runs over a batch of
-- hf_flow structs in the runtime's own loop (RUN_SRC of hostflow.runtime),
-- and LuaJIT must trace it without an NYI ("not yet implemented") abort.
local helper = require "tests.spec.helper"
local ffi = require "ffi"
local base = require "hostflow.base"
local runtime = require "hostflow.runtime"
local schema = require "hostflow.schema"
local testing = require "hostflow.testing"
local check = require "hostflow.check"
local params = require "hostflow.params"

local C = base.C
local FLOWS, HOSTS = 10000, 100

-- The loop the runtime compiles per analysis.
local RUN_SRC = runtime.RUN_SRC

-- Every analysis file in analyses/.
-- The shipped analyses of one kind ("analysis" or "profile").
local function analysis_files(kind)
  local files = {}
  local p = io.popen("ls -1 " .. helper.path("analyses") .. "/*.lua 2>/dev/null")
  for line in p:lines() do
    local f = io.open(line)
    local profile = f:read("*a"):find("hf.profile", 1, true) ~= nil
    f:close()
    if profile == (kind == "profile") then files[#files + 1] = line end
  end
  p:close()
  table.sort(files)
  return files
end

-- Run a profile's absorb loop (hostflow.runtime.profiles) over HOSTS hosts
-- for `windows` minutes, with statistics that vary; as trace_loop.
local function trace_absorb(path, windows)
  local profiles = require "hostflow.runtime.profiles"
  local context = require "hostflow.context"
  local spec = assert(runtime.load_file(path))
  local s = schema.build(spec, 64)
  local cs = ffi.new("hf_schema")
  cs.fields, cs.nfields, cs.size = s.fields, s.nfields, s.size
  local st = profiles.stats_of(spec)
  local row_size = profiles.HEAD + 8 * math.ceil(s.size / 8)
  local mem = ffi.new("uint8_t[?]", HOSTS * row_size)
  local rows = ffi.new("uint8_t *[?]", HOSTS)
  local hosts = ffi.new("hf_host[?]", HOSTS)
  for h = 0, HOSTS - 1 do
    C.hf_state_init(cs, mem + h * row_size + profiles.HEAD)
    rows[h] = mem + h * row_size
    hosts[h].addr[15] = h % 256
  end
  local vals = ffi.new("double[?]", HOSTS * st.k)
  local view = params.view(assert(params.resolve(spec, nil)))
  local win = { start_ms = 0, end_ms = 0, granularity_s = 60 }
  local ctx = context.new(spec.name, nil, function(i) return ffi.cast("uint8_t *", hosts + i) end, win)
  local ports = ffi.new("uint16_t[3]", { 443, 80, 53 })
  ctx.values = function() return 3, ports end
  local pos = ffi.new("int[1]")
  local loop = assert(loadstring(profiles.ABSORB_SRC, "=absorb:" .. spec.name))(
    spec.absorb, s.ptr, st.ptr, pos, view, ctx, profiles.HEAD)
  local aborts = {}
  local watch = check.trace_watch(loop, function(_, at, reason) aborts[#aborts + 1] = { at = at, reason = reason } end)
  jit.flush()
  jit.on()
  watch.attach()
  local ok, err = pcall(function()
    for m = 0, windows - 1 do
      win.start_ms = 1764165600000 + m * 60000
      for i = 0, HOSTS * st.k - 1 do vals[i] = (i * 7 + m * 13) % 100 + 1 end
      loop(rows, vals, st.k, 0, HOSTS)
    end
  end)
  watch.detach()
  assert(ok, err)
  local stops = watch.stops
  return stops, aborts, mem
end

-- A batch of flows unlike each other in every field the analyses read.
local function batch()
  local flows = ffi.new("hf_flow[?]", FLOWS)
  for i = 0, FLOWS - 1 do
    local v6 = i % 4 == 0
    local f = testing.flow {
      src = v6 and helper.ipv6(i % HOSTS) or helper.ipv4(i % HOSTS),
      dst = v6 and helper.ipv6(100000 + i % 3000) or helper.ipv4(100000 + i % 5000),
      sport = 1024 + i % 50000, dport = (i * 7) % 2000, proto = (i % 5 == 0) and 17 or 6,
      packets = 1 + i % 30, bytes = 40 + (i * 13) % 1500, tcp_flags = (i * 37) % 256,
      start_ms = 1764165600000 + i, end_ms = 1764165600000 + i + (i * 11) % 5000,
    }
    ffi.copy(flows + i, f, ffi.sizeof("hf_flow"))
  end
  return flows
end

-- Run one analysis's loop over the batch with the trace events recorded.
-- Returns the completed traces ({ start = where it started, loop = it runs
-- the loop's own bytecode }, check.trace_watch) and the aborts
-- ({ at = where, reason = text }).
local function trace_loop(path, flows)
  local spec = assert(runtime.load_file(path))
  C.hf_ffi_arena_use(ffi.gc(C.hf_ffi_arena_new(), C.hf_ffi_arena_free))  -- the arena the sets grow in
  local s = schema.build(spec, 64)
  local cs = ffi.new("hf_schema")
  cs.fields, cs.nfields, cs.size = s.fields, s.nfields, s.size

  -- host rows as the core lays them out: a header, then the state
  local off = 8 * math.ceil(ffi.sizeof("hf_host") / 8)
  local row_size = off + 8 * math.ceil(s.size / 8)
  local mem = ffi.new("uint8_t[?]", HOSTS * row_size)
  for h = 0, HOSTS - 1 do C.hf_state_init(cs, mem + h * row_size + off) end
  local rows = ffi.new("uint8_t *[?]", FLOWS)
  for i = 0, FLOWS - 1 do rows[i] = mem + (i % HOSTS) * row_size end

  local pos = ffi.new("int[1]")
  local view = params.view(assert(params.resolve(spec, nil)))      -- its parameters' defaults
  local run = assert(loadstring(RUN_SRC, "=update:" .. spec.name))(spec.update, s.ptr, off, pos, view)

  local aborts = {}
  local watch = check.trace_watch(run, function(_, at, reason) aborts[#aborts + 1] = { at = at, reason = reason } end)
  jit.flush()
  jit.on()
  watch.attach()
  local ok, err = pcall(run, flows, rows, 0, FLOWS)
  watch.detach()
  assert(ok, err)
  assert.equal(FLOWS - 1, pos[0])
  local stops = watch.stops
  return stops, aborts, mem                  -- mem: keep the rows alive until here
end

-- The aborts of a run whose reason is an NYI, as "where: reason".
local function nyi_aborts(aborts)
  local nyi = {}
  for _, a in ipairs(aborts) do
    if a.reason:find("NYI", 1, true) then nyi[#nyi + 1] = a.at .. ": " .. a.reason end
  end
  return nyi
end

-- Run the loop of the analysis at path over flows and check that it
-- compiled: no NYI abort, and a completed trace that runs the loop's own
-- bytecode (check.trace_watch); what was seen otherwise, in the message.
local function assert_loop_compiled(path, flows, label)
  local stops, aborts = trace_loop(path, flows)
  assert.same({}, nyi_aborts(aborts))
  local in_loop, seen = false, {}
  for _, t in ipairs(stops) do
    if t.loop then in_loop = true end
    seen[#seen + 1] = t.start
  end
  for _, a in ipairs(aborts) do seen[#seen + 1] = "abort " .. a.at .. " " .. a.reason end
  assert.is_true(in_loop, "no completed trace runs the loop (" .. label .. "): " .. table.concat(seen, "; "))
end

describe("JIT compilation", function()
  local flows

  lazy_setup(function() flows = batch() end)
  after_each(helper.remove_files)

  it("notices an NYI abort in a loop that has one (the check itself works)", function()
    -- a closure made per flow: bytecode FNEW, not compiled by LuaJIT 2.1
    local path = helper.write_file("closure.lua", [[
local hf = require "hostflow"
return hf.analysis {
  name = "closure",
  state = { n = hf.sum() },
  update = function(s, flow)
    local get = function() return flow.bytes end
    s.n = s.n + get()
  end,
}
]])
    local _, aborts = trace_loop(path, flows)
    assert.is_true(#nyi_aborts(aborts) > 0, "no NYI abort seen")
  end)

  it("compiles a loop that reads the analysis's parameters, a number and a list, without an NYI abort", function()
    local path = helper.write_file("reads_params.lua", [[
local hf = require "hostflow"
return hf.analysis {
  name = "reads_params",
  params = { threshold = 500, ports = { 22, 443, 3389 } },
  state = { big = hf.counter(), watched = hf.counter() },
  update = function(s, flow, params)
    if flow.bytes >= params.threshold then s.big = s.big + 1 end
    local ports = params.ports
    if flow.dport == ports[1] or flow.dport == ports[#ports] then s.watched = s.watched + 1 end
  end,
}
]])
    assert_loop_compiled(path, flows, "update:reads_params")
  end)

  it("counts a loop compiled through a side trace when update() has a loop of its own", function()
    -- lua/README.md's fanout.lua: LuaJIT may refuse the runtime's loop as a
    -- root trace ("inner loop in root trace") and compile it as a side trace
    -- of the inner loop's exit instead; that is compiled code all the same
    local path = helper.write_file("fanout.lua", [[
local hf = require "hostflow"
return hf.analysis {
  name = "fanout",
  params = { ports = { 22, 23, 3389 } },
  state = { peers = hf.distinct() },
  update = function(s, flow, params)
    local ports = params.ports
    for i = 1, #ports do
      if flow.dport == ports[i] then s.peers:add(flow.dst) end
    end
  end,
}
]])
    assert_loop_compiled(path, flows, "update:fanout")
  end)

  it("has an analysis loop to check", function()
    assert.is_string(RUN_SRC, "hostflow.runtime has no RUN_SRC")
    assert.is_true(#analysis_files("analysis") >= #helper.ANALYSES)
  end)

  for _, path in ipairs(analysis_files("profile")) do
    local name = path:match("([^/]+)%.lua$")

    it("compiles the " .. name .. " profile's absorb loop without an NYI abort", function()
      local stops, aborts = trace_absorb(path, 20)
      assert.same({}, nyi_aborts(aborts))
      local in_loop = false
      for _, t in ipairs(stops) do
        if t.loop then in_loop = true end
      end
      assert.is_true(in_loop, "no completed trace runs the loop (absorb:" .. name .. ")")
    end)
  end

  for _, path in ipairs(analysis_files("analysis")) do
    local file = path:match("([^/]+%.lua)$")

    -- the loop's chunk is named after the analysis, which need not be its
    -- file's name (the README's dns_queries.lua is "dns")
    it("compiles the update loop of " .. file .. " over 10,000 flows without an NYI abort", function()
      local name = assert(runtime.load_file(path)).name
      assert_loop_compiled(path, flows, "update:" .. name)
    end)
  end
end)
