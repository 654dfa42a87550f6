-- Profiles: rules whose state belongs to a host, fed its closed windows
-- (hf.profile), the primitives they keep (hf.array, hf.set), the shipped
-- profile and its profile_deviation rule, and a profile in a worker: what
-- it absorbs from the records, and what a reload keeps.
local ffi = require "ffi"
local helper = require "tests.spec.helper"
local testing = require "hostflow.testing"
local json = require "hostflow.json"
local hf = require "hostflow"

local T0 = 1795651200000            -- 2026-11-26T00:00:00Z
local MIN, HOUR, DAY = 60000, 3600000, 86400000

describe("a profile's declaration", function()
  local function profile(t)
    local spec = { name = "p", stats = { bytes = "total.bytes" }, state = { n = hf.counter() },
                   absorb = function() end }
    for k, v in pairs(t) do spec[k] = v end
    return spec
  end

  it("is checked, and says what is wrong", function()
    local cases = {
      { { state = { s = hf.distinct() } }, "a profile's state is kept in place for months" },
      { { absorb = 1 }, "absorb must be a function(profile, stats, ctx, params)" },
      { { update = function() end }, "a profile has no update()" },
      { { stats = { bytes = "total..bytes" } }, "stats.bytes must name a field of the record's stats" },
      { { sets = { d = "dport_count" } }, "sets.d must name an analysis and a field of its state" },
      { { granularity = "90x" }, "granularity: expected a duration" },
      { { granularity = "1.5s" }, "granularity: expected a whole number of seconds" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(hf.profile, profile(c[1]))
      assert.is_false(ok)
      assert.matches(c[2], err, 1, true)
    end
    assert.equal("1m", hf.profile(profile {}).granularity)
  end)

  it("alone may keep arrays and sets: a window's state is merged, theirs would not be", function()
    local ok, err = pcall(hf.analysis, { name = "a", state = { x = hf.array(4) }, update = function() end })
    assert.is_false(ok)
    assert.matches("hf.array and hf.set are for profiles", err, 1, true)
  end)
end)

describe("the primitives of profiles", function()
  it("keep arrays of numbers and small sets in place, zero at first", function()
    local t = testing.load(hf.profile {
      name = "p", stats = {},
      state = { a = hf.array(3, "float"), c = hf.array(2, "uint16"), s = hf.set(3) },
      absorb = function(p)
        p.a[2] = p.a[2] + 0.5
        p.c[1] = p.c[1] + 1
        assert(p.s:add(80) and p.s:add(22) and p.s:add(80) and p.s:add(443))
        assert(not p.s:add(8080))          -- full
      end,
    })
    t:absorb("10.0.0.1", {})
    t:absorb("10.0.0.1", {})
    local p = t:state("10.0.0.1")
    assert.same({ 0, 0, 1 }, { p.a[0], p.a[1], p.a[2] })
    assert.equal(2, p.c[1])
    assert.same({ 22, 80, 443 }, p.s:values())
    assert.is_true(p.s:full() and p.s:has(22) and not p.s:has(8080))
    assert.equal(3, p.s:count())
    assert.has_error(function() p.s:add(70000) end, "set: expected a whole number from 0 to 65535, got 70000")
  end)
end)

-- A host's day as flowgen --days makes it: flows at a level that follows
-- the hour (peak at `peak`), +-10 % noise, peers and ports of its own.
local function day_of(t, host, day, opts)
  opts = opts or {}
  for m = 0, 1439 do
    local start = T0 + day * DAY + m * MIN
    local hour = m / 60
    local level = 1 - 0.7 * (0.5 - 0.5 * math.cos(2 * math.pi * (hour - (opts.peak or 14)) / 24))
    local f = opts.factor and opts.factor(start) or 1
    local flows = math.max(1, math.floor(10 * level * (0.9 + 0.2 * math.random()) * f + 0.5))
    t:absorb(host, { bytes = flows * 1500 * (0.9 + 0.2 * math.random()), flows = flows,
                     peers = math.min(flows, math.floor(8 * f)), ports = 3 },
             { start_ms = start, granularity_s = 60 }, { dports = opts.ports and opts.ports(start) or { 443, 80, 53 } })
  end
end

describe("the shipped profile", function()
  local t
  before_each(function()
    math.randomseed(42)
    t = testing.load(helper.analysis_path("profile"))
  end)

  it("learns a week of days with their rhythm and +-10 % noise, and raises nothing", function()
    for day = 0, 8 do day_of(t, "10.0.0.1", day) end
    assert.same({}, t:alerts())
    local r = t:report("10.0.0.1")
    assert.equal(9 * 1440, r.minutes)
    assert.same({ 53, 80, 443 }, r.dports)
    -- the usual bytes at the peak hour (14h) and at night (2h): about 15,000 and 4,500
    assert.near(15000, r.usual.bytes[15], 1500)
    assert.near(4500, r.usual.bytes[3], 600)
  end)

  it("raises a twentyfold jump after the learning week at once, with its usual value", function()
    local jump = T0 + 8 * DAY + 14 * HOUR + 30 * MIN
    for day = 0, 8 do
      day_of(t, "10.0.0.1", day, { factor = function(s) return (s >= jump and s < jump + 3 * MIN) and 20 or 1 end })
    end
    local a = t:alerts()
    assert.equal("new", a[1].status)
    assert.equal(jump, a[1].window.start_ms)
    assert.equal("profile_deviation", a[1].rule)
    assert.near(15000, a[1].expected, 2000)           -- its usual bytes at that hour
    assert.is_true(a[1].observed > 200000 and a[1].score > 12)
    local stats = {}
    for _, d in ipairs(a[1].details.deviations) do stats[d.statistic] = true end
    assert.same({ bytes = true, flows = true, peers = true }, stats)
    for k = 2, #a do assert.is_not.equal("new", a[k].status) end   -- the next minutes: held or updates
    assert.is_true(#a <= 3)
  end)

  it("says nothing of a jump during the learning week", function()
    local jump = T0 + 3 * DAY + 14 * HOUR
    for day = 0, 3 do
      day_of(t, "10.0.0.1", day, { factor = function(s) return (s >= jump and s < jump + 5 * MIN) and 20 or 1 end })
    end
    assert.same({}, t:alerts())
  end)

  it("raises a destination port the host never used, once", function()
    local at = T0 + 8 * DAY + 10 * HOUR
    for day = 0, 8 do
      day_of(t, "10.0.0.1", day, { ports = function(s)
        return s >= at and { 443, 80, 53, 6667 } or { 443, 80, 53 }
      end })
    end
    local a = t:alerts()
    assert.equal(1, #a)
    assert.same({ statistic = "new_ports", hour = 10, new_ports = { 6667 } }, a[1].details)
    assert.equal(at, a[1].window.start_ms)
  end)

  it("leaves the port rule to hosts that use few ports", function()
    local at = T0 + 8 * DAY + 10 * HOUR
    for day = 0, 8 do
      day_of(t, "10.0.0.1", day, { ports = function(s)
        local list = {}
        for k = 1, 40 do list[k] = 30000 + (s / MIN + k) % 5000 end   -- a server's ephemeral ports
        if s >= at then list[#list + 1] = 6667 end
        return list
      end })
    end
    assert.same({}, t:alerts())
  end)

  it("keeps a host in less than 1 KiB", function()
    assert.is_true(t.schema.size + 32 <= 1024)
  end)
end)

describe("a profile in a worker", function()
  local w
  after_each(function()
    if w then w:close() end
    w = nil
    helper.remove_files()
  end)

  local function counting(extra)
    return string.format([[
local hf = require "hostflow"
return hf.profile {
  name = "seen",
  granularity = "10s",
  stats = { flows = "total.flow", peers = "peer_number", none = "total.nothing" },
  state = { windows = hf.counter(), flows = hf.sum(), peers = hf.sum(), none = hf.counter() },
  absorb = function(p, x)
    p.windows = p.windows + 1
    p.flows = p.flows + x.flows
    p.peers = p.peers + x.peers
    if x.none ~= x.none then p.none = p.none + 1 end
  end,
  %s
}
]], extra or "")
  end

  local function store_of(name)
    for _, a in ipairs(w.runtime.profiles) do if a.name == name then return a end end
  end

  local function state(host)
    local a = store_of("seen")
    local C = require("hostflow.base").C
    for i = 0, C.hf_profiles_nrows(a.store) - 1 do
      local row = C.hf_profiles_row(a.store, i)
      if row ~= nil and require("hostflow.base").addr_text(ffi.cast("hf_profile_host *", row).addr) == host then
        return ffi.cast(a.schema.ptr, row + 32)
      end
    end
  end

  it("absorbs each host's closed window once, from the values of its record", function()
    local p = helper.write_file("seen.lua", counting())
    w = helper.worker { files = { helper.analysis_path("total"), helper.analysis_path("peer_number"), p } }
    w:feed { { src = "10.0.0.1", dst = "192.0.2.1" }, { src = "10.0.0.1", dst = "192.0.2.2" } }
    w:records()
    local s = state("10.0.0.1")
    assert.same({ 1, 2, 2, 1 }, { s.windows, s.flows, s.peers, s.none })
    w:records()                             -- the same window again (a replay): not absorbed twice
    assert.equal(1, state("10.0.0.1").windows)
  end)

  it("keeps what it learned over a reload that declares its state alike, and says so", function()
    local p = helper.write_file("seen.lua", counting())
    w = helper.worker { files = { helper.analysis_path("total"), helper.analysis_path("peer_number"), p } }
    w:feed { { src = "10.0.0.1" } }
    w:records()
    local f = io.open(p, "w")
    f:write(counting("version = 2,"))
    f:close()
    w:control("prepare", 1, { helper.analysis_path("total"), helper.analysis_path("peer_number"), p })
    assert.is_true(w:control("commit", 1, { true, true, true }, T0, false))
    assert.equal(1, state("10.0.0.1").windows)
    assert.matches("seen: reloaded, version 2 from 1; its learned state is kept", w.log[#w.log], 1, true)
    w:feed { { src = "10.0.0.1", end_ms = 1764165610000 } }
    w:records(1764165610000)
    assert.equal(2, state("10.0.0.1").windows)
  end)

  it("learns afresh when the reload declares its state otherwise", function()
    local p = helper.write_file("seen.lua", counting())
    w = helper.worker { files = { helper.analysis_path("total"), helper.analysis_path("peer_number"), p } }
    w:feed { { src = "10.0.0.1" } }
    w:records()
    local f = io.open(p, "w")
    f:write((counting("version = 2,"):gsub("none = hf.counter%(%) }", "none = hf.counter(), more = hf.counter() }")))
    f:close()
    w:control("prepare", 1, { helper.analysis_path("total"), helper.analysis_path("peer_number"), p })
    w:control("commit", 1, { true, true, true }, T0, false)
    assert.is_nil(state("10.0.0.1"))
    assert.matches("its state is declared otherwise: what it learned is dropped", w.log[#w.log], 1, true)
  end)

  it("writes the host_profile record its report() makes", function()
    local rt = require "hostflow.runtime"
    assert.is_table(rt)
    local t = testing.load(helper.analysis_path("profile"))
    t:absorb("10.0.0.1", { bytes = 100, flows = 2, peers = 1, ports = 1 }, nil, { dports = { 443 } })
    local text = json.tostring(t:report("10.0.0.1"), t.spec.keys)
    assert.matches('^{"first_seen":"2025%-11%-26T14:00:00%.000Z",'
                   .. '"last_seen":"2025%-11%-26T14:00:00%.000Z","minutes":1,', text)
    assert.matches('"dports":%[443%],"dports_all":true}$', text)
    -- a host that used no port yet: an empty list, not an object (the
    -- OpenSearch template maps profile.dports as numbers)
    t:absorb("10.0.0.2", { bytes = 100, flows = 2, peers = 1, ports = 0 }, nil, { dports = {} })
    assert.matches('"dports":%[%],"dports_all":true}$', json.tostring(t:report("10.0.0.2"), t.spec.keys))
  end)
end)
