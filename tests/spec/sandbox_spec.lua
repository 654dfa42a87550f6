-- The isolation of analyses from hostflow and from each other (issue 10):
-- the sandbox an analysis file runs in, the read-only flow and the state
-- reference it is handed, the per-analysis memory limit, per-host error
-- budgets and the cap on a result's size.
local helper = require "tests.spec.helper"
local check = require "hostflow.runtime.check"

local function analysis(top, update, result)
  return string.format([[
local hf = require "hostflow"
%s
return hf.analysis {
  name = "probe",
  state = { n = hf.counter() },
  update = function(s, flow)
    %s
  end,
  result = %s,
}
]], top or "", update or "s.n = s.n + 1", result or "function(s) return s.n end")
end

describe("the sandbox of an analysis", function()
  after_each(function() helper.remove_files() end)

  local FORBIDDEN = {
    io = 'io.open("/etc/passwd")', os = 'os.execute("true")', debug = "debug.getinfo(1)",
    ffi = 'require("ffi")', jit = "jit.off()", package = 'package.loadlib("x", "y")',
    load = 'load("return 1")', loadstring = 'loadstring("return 1")', loadfile = 'loadfile("/etc/passwd")',
    dofile = 'dofile("/etc/passwd")', print = 'print("x")', collectgarbage = 'collectgarbage("stop")',
    getfenv = "getfenv(1)", setfenv = "setfenv(1, {})", newproxy = "newproxy()",
    module = 'require("hostflow.base")',
  }

  for name, use in pairs(FORBIDDEN) do
    it("refuses " .. name .. " when the file is loaded, at its file and line", function()
      local path = helper.write_file("probe.lua", analysis("local x = " .. use))
      local spec, err = check.check(io.open(path):read("*a"), path)
      assert.is_nil(spec)
      assert.equal(path .. ":2: '", err:sub(1, #path + 5))
      assert.matches("' is not available to an analysis", err, 1, true)
    end)
  end

  it("refuses them in update() too: the sample run meets them, at its line", function()
    local path = helper.write_file("probe.lua", analysis(nil, 'if flow.dport == 53 then os.time() end'))
    local spec, err = check.check(io.open(path):read("*a"), path)
    assert.is_nil(spec)
    assert.matches(path .. ":7: 'os' is not available to an analysis", err, 1, true)
  end)

  it("hands the flow over read-only", function()
    local path = helper.write_file("probe.lua", analysis(nil, "flow.bytes = 0"))
    local spec, err = check.check(io.open(path):read("*a"), path)
    assert.is_nil(spec)
    assert.matches("probe.lua:7: .*constant", err)
  end)

  it("hands the state over as a reference to its own row, which cannot be indexed past", function()
    local path = helper.write_file("probe.lua", analysis(nil, "s[100].n = 1"))
    local spec, err = check.check(io.open(path):read("*a"), path)
    assert.is_nil(spec)
    assert.matches("probe.lua:7:", err, 1, true)
  end)

  it("keeps the hostflow module read-only, and what one changes in a library its own", function()
    local path = helper.write_file("probe.lua", analysis("hf.counter = nil"))
    local spec, err = check.check(io.open(path):read("*a"), path)
    assert.is_nil(spec)
    assert.matches("the hostflow module is read-only", err, 1, true)
    path = helper.write_file("probe.lua", analysis("string.rep = nil; math.floor = nil"))
    assert.is_not_nil(check.check(io.open(path):read("*a"), path))
    assert.is_function(string.rep)
    assert.is_function(math.floor)
  end)

  it("gives a trusted file (analyses.trusted, its name) every library", function()
    local path = helper.write_file("probe.lua", analysis('local f = io.open("/dev/null"); f:close()',
                                                         "s.n = s.n + os.time() * 0"))
    local stem = path:match("([^/]+)%.lua$")
    local spec = check.check(io.open(path):read("*a"), path, { trusted = check.trusted_set { stem } })
    assert.is_not_nil(spec)
    assert.equal("probe", spec.name)
  end)
end)

describe("a worker's limits on its analyses", function()
  local w
  after_each(function()
    if w then w:close() end
    w = nil
    helper.remove_files()
  end)

  local function named(name, body)
    return helper.write_file(name .. ".lua", (body:gsub("NAME", name)))
  end

  local function flows(n, src)
    local list = {}
    for i = 1, n do
      list[i] = { src = src or ("10.0.%d.%d"):format(math.floor(i / 250) % 250, i % 250), bytes = i }
    end
    return list
  end

  local function entry(name)
    for _, e in ipairs(w.runtime.sets[0].list) do
      if e.a.name == name then return e.a end
    end
  end

  it("disables an analysis that holds too much memory, and only it, and lets its memory go", function()
    local hog = named("hog", [[
local hf = require "hostflow"
local kept = {}
return hf.analysis {
  name = "NAME",
  state = { n = hf.counter() },
  update = function(s, flow)
    for i = 1, 200 do kept[#kept + 1] = { flow.bytes, i } end
    s.n = s.n + 1
  end,
}]])
    local fine = named("fine", [[
local hf = require "hostflow"
return hf.analysis {
  name = "NAME",
  state = { n = hf.counter() },
  update = function(s) s.n = s.n + 1 end,
  result = function(s) return s.n end,
}]])
    w = helper.worker { files = { hog, fine }, max_memory = 8 * 2 ^ 20 }
    for _ = 1, 20 do w:feed(flows(1000)) end
    assert.is_false(entry("hog").enabled)
    assert.is_true(entry("fine").enabled)
    local said = table.concat(w.log, "\n")
    assert.matches("analysis hog %(.-%) disabled in worker 0: the worker's Lua memory reached", said)
    assert.is_true(collectgarbage("count") * 1024 - w.runtime.heap_base < 16 * 2 ^ 20)
    local recs = w:records()
    assert.matches('"fine":', recs["10.0.0.1"], 1, true)
    assert.is_nil(recs["10.0.0.1"]:find('"hog"', 1, true))
  end)

  it("counts at most max_host_errors of one host toward max_errors: one host cannot switch it off", function()
    local picky = named("picky", [[
local hf = require "hostflow"
return hf.analysis {
  name = "NAME",
  state = { n = hf.counter() },
  update = function(s, flow)
    if flow.bytes == 666 then error("not this one") end
    s.n = s.n + 1
  end,
  result = function(s) return s.n end,
}]])
    w = helper.worker { files = { picky }, max_errors = 50, max_host_errors = 10 }
    local list = flows(500)
    for _ = 1, 2000 do list[#list + 1] = { src = "10.9.9.9", bytes = 666 } end
    list[#list + 1] = { src = "10.9.9.9", bytes = 1 }
    w:feed(list)
    assert.is_true(entry("picky").enabled)
    local recs = w:records()
    assert.equal('"picky":1', recs["10.0.0.1"])
    assert.equal("", recs["10.9.9.9"])          -- the failing host's field is left out
    -- errors from many hosts still switch it off
    local many = {}
    for i = 1, 200 do many[i] = { src = ("10.8.%d.%d"):format(i % 250, i % 7), bytes = 666 } end
    w:feed(many)
    assert.is_false(entry("picky").enabled)
    assert.matches("more than 50 errors in a minute, from", table.concat(w.log, "\n"), 1, true)
  end)

  it("leaves a result over max_result out of that host's record, as an error", function()
    local big = named("big", [[
local hf = require "hostflow"
return hf.analysis {
  name = "NAME",
  state = { n = hf.counter() },
  update = function(s) s.n = s.n + 1 end,
  result = function(s) if s.n > 1 then return string.rep("x", 5000) end return s.n end,
}]])
    w = helper.worker { files = { big }, max_result = 1000 }
    w:feed { { src = "10.0.0.1" }, { src = "10.0.0.1" }, { src = "10.0.0.2" } }
    local recs = w:records()
    assert.equal("", recs["10.0.0.1"])
    assert.equal('"big":1', recs["10.0.0.2"])
    assert.matches("its result is 5002 bytes of JSON, over analyses.max_result %(1000%)", table.concat(w.log, "\n"))
  end)
end)
