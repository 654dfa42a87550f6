-- hf.group, the keyed primitive, seen from Lua: per key a value of its own,
-- at most max keys with the heavy ones kept, merged and serialised by the
-- core's C (hostflow.testing runs the inline analyses below).
local helper = require "tests.spec.helper"
local testing = require "hostflow.testing"
local hf = require "hostflow"

local HOST = "10.0.0.1"

-- Per destination, the probe flows and the distinct ports (a vertical scan's
-- state); per port, the distinct destinations (a horizontal one's).
local function scans(max)
  return hf.analysis {
    name = "scans",
    state = { targets = hf.group { max = max, of = { flows = hf.counter { bits = 32 }, ports = hf.distinct() } },
              by_port = hf.group { max = max, of = hf.distinct } },
    update = function(s, f)
      local t = s.targets:at(f.dst)
      t.flows = t.flows + 1
      t.ports:add(f.dport)
      s.by_port:at(f.dport):add(f.dst)
    end,
    result = function(s)
      local out = { targets = {}, ports = {} }
      for dst, v, weight, err in s.targets:each() do
        out.targets[dst] = { flows = v.flows, ports = v.ports:count(), weight = weight, error = err }
      end
      for port, dsts in s.by_port:each() do out.ports[tostring(port)] = dsts:count() end
      return out
    end,
  }
end

local function probes(dst, ports)
  local flows = {}
  for _, p in ipairs(ports) do flows[#flows + 1] = { dst = dst, dport = p } end
  return flows
end

local function range(a, b)
  local t = {}
  for i = a, b do t[#t + 1] = i end
  return t
end

describe("hf.group", function()
  describe("declaring one", function()
    it("takes a primitive, its constructor or a table of primitives as the value", function()
      assert.equal("group", hf.group { of = hf.distinct }.kind)
      assert.equal("group", hf.group { of = hf.distinct { exact = 8 } }.kind)
      assert.equal("group", hf.group { of = { n = hf.counter(), peers = hf.distinct() } }.kind)
      assert.equal(64, hf.group { of = hf.distinct }.param)
    end)

    it("refuses a bad max, a missing value and groups of groups", function()
      assert.has_error(function() hf.group { max = 0, of = hf.distinct } end,
                       "hf.group: max must be a whole number from 1 to 1024")
      assert.has_error(function() hf.group { max = 2000, of = hf.distinct } end)
      assert.has_error(function() hf.group {} end)
      assert.has_error(function() hf.group { of = hf.counter() } end)
      assert.has_error(function() hf.group { of = hf.group { of = hf.distinct } } end)
      assert.has_error(function() hf.group { of = { inner = hf.group { of = hf.distinct } } } end)
    end)
  end)

  describe("in a state", function()
    it("keeps a value per key, of the key's own flows", function()
      local r = testing.load(scans(64))
      helper.feed_all(r, probes("192.0.2.7", range(1, 30)))
      helper.feed_all(r, probes("192.0.2.8", { 22, 23 }))
      local res = r:result(HOST)
      assert.same({ flows = 30, ports = 30, weight = 30, error = 0 }, res.targets["192.0.2.7"])
      assert.same({ flows = 2, ports = 2, weight = 2, error = 0 }, res.targets["192.0.2.8"])
      assert.equal(2, res.ports["22"])
      assert.equal(1, res.ports["1"])
    end)

    it("holds at most max keys and keeps the heavy ones", function()
      local r = testing.load(scans(4))
      for i = 1, 200 do
        r:feed { dst = string.format("198.51.100.%d", i), dport = 80 }
        if i % 2 == 0 then r:feed { dst = "192.0.2.7", dport = i } end
      end
      local res = r:result(HOST)
      local n = 0
      for _, v in pairs(res.targets) do
        n = n + 1
        assert.is_true(v.error <= v.weight)
        assert.is_true(v.weight - v.error <= v.flows and v.flows <= v.weight)
      end
      assert.equal(4, n)
      assert.is_not_nil(res.targets["192.0.2.7"])
      assert.is_true(res.targets["192.0.2.7"].ports > 90)
    end)

    it("finds a key without making it with get", function()
      local spec = hf.analysis {
        name = "lookup",
        state = { g = hf.group { of = hf.distinct } },
        update = function(s, f) if f.dport == 22 then s.g:at(f.dst):add(f.sport) end end,
        result = function(s)
          return { size = s.g:size(), missing = s.g:get(443) == nil, items = #s.g:items() }
        end,
      }
      local r = helper.feed_all(testing.load(spec), { { dport = 22 }, { dport = 80 } })
      assert.same({ size = 1, missing = true, items = 1 }, r:result(HOST))
    end)

    it("merges as one group fed both halves", function()
      local flows = {}
      for i = 1, 40 do flows[#flows + 1] = { dst = "192.0.2." .. (i % 5), dport = i } end
      local whole = helper.feed_all(testing.load(scans(64)), flows)
      local a, b = testing.load(scans(64)), testing.load(scans(64))
      for i, f in ipairs(flows) do (i % 2 == 0 and a or b):feed(f) end
      a:merge(b)
      assert.same(whole:result(HOST), a:result(HOST))
    end)

    it("reads back from its serialised bytes", function()
      local r = helper.feed_all(testing.load(scans(8)), probes("192.0.2.7", range(1, 50)))
      local n, copy = r:roundtrip(HOST)
      assert.is_true(n > 0)
      assert.same(r:result(HOST), copy:result(HOST))
    end)

    it("gives a default result of keys and weights", function()
      local spec = hf.analysis {
        name = "plain",
        state = { g = hf.group { of = hf.distinct } },
        update = function(s, f) s.g:at(f.dport):add(f.dst) end,
      }
      local r = helper.feed_all(testing.load(spec),
                                { { dport = 22 }, { dport = 22, dst = "192.0.2.9" }, { dport = 80 } })
      assert.same({ g = { { key = 22, count = 2 }, { key = 80, count = 1 } } }, r:result(HOST))
    end)

    it("refuses keys that are neither numbers nor addresses", function()
      local spec = hf.analysis {
        name = "bad",
        state = { g = hf.group { of = hf.distinct } },
        update = function(s) s.g:at("text") end,
      }
      assert.has_error(function() testing.load(spec):feed {} end)
    end)
  end)
end)
