-- The primitives of an analysis's state, seen from Lua: hf.counter (a double
-- or 32 bits), hf.sum, hf.min, hf.max, hf.distinct and hf.topk, in small inline analyses run by
-- hostflow.testing (states made, merged and serialised by the core's C).
local helper = require "tests.spec.helper"
local testing = require "hostflow.testing"
local hf = require "hostflow"

-- An inline analysis: state and update given, the rest filled in.
local function analysis(state, update, result)
  return hf.analysis { name = "probe", state = state, update = update, result = result }
end

-- One run of an analysis with the flows given fed in.
local function run(spec, flows)
  return helper.feed_all(testing.load(spec), flows or {})
end

local HOST = "10.0.0.1"

describe("primitives", function()
  after_each(helper.remove_files)

  describe("hf.counter and hf.sum", function()
    local spec = analysis({ flows = hf.counter(), bytes = hf.sum() }, function(s, f)
      s.flows = s.flows + 1
      s.bytes = s.bytes + f.bytes
    end)

    it("start at 0", function()
      local r = testing.load(spec)
      local st = r:state(HOST)
      assert.equal(0, st.flows)
      assert.equal(0, st.bytes)
    end)

    it("count and sum what update adds", function()
      local r = run(spec, { { bytes = 10 }, { bytes = 32 }, { bytes = 0.5 } })
      assert.same({ flows = 3, bytes = 42.5 }, r:result(HOST))
    end)

    it("are added together when windows merge", function()
      local merged, whole = helper.merge_windows(spec, { { bytes = 1 }, { bytes = 2 } }, { { bytes = 40 } })
      assert.same({ flows = 3, bytes = 43 }, merged:result(HOST))
      assert.same(whole:result(HOST), merged:result(HOST))
    end)

    it("stay exact for integers up to 2^53", function()
      local r = run(spec, { { bytes = 2 ^ 52 }, { bytes = 2 ^ 52 - 1 } })
      assert.equal(2 ^ 53 - 1, r:result(HOST).bytes)
    end)
  end)

  describe("hf.counter { bits = 32 }", function()
    local spec = analysis({ syn = hf.counter { bits = 32 }, flows = hf.counter() }, function(s, f)
      s.syn = s.syn + f.tcp_flags % 4 / 2
      s.flows = s.flows + 1
    end)

    it("is a 4-byte field that starts at 0", function()
      local r = testing.load(spec)
      assert.equal(8 + 4 + 4, r.schema.size)           -- the double, the count, padding
      assert.equal(0, r:state(HOST).syn)
    end)

    it("counts as a double counter does, and gives the same JSON", function()
      local flows = {}
      for i = 1, 50 do flows[i] = { tcp_flags = i % 4 } end
      local r = run(spec, flows)
      assert.same({ syn = 25, flows = 50 }, r:result(HOST))
      assert.equal('{"flows":50,"syn":25}', r:json(HOST))
    end)

    it("is added when windows merge, and stops at 2^32 - 1 instead of wrapping", function()
      local merged, whole = helper.merge_windows(spec, { { tcp_flags = 2 }, { tcp_flags = 3 } },
                                                 { { tcp_flags = 2 } })
      assert.same({ syn = 3, flows = 3 }, merged:result(HOST))
      assert.same(whole:result(HOST), merged:result(HOST))
      local a, b = testing.load(spec), testing.load(spec)
      a:state(HOST).syn = 2 ^ 32 - 2
      b:state(HOST).syn = 5
      a:merge(b)
      assert.equal(2 ^ 32 - 1, a:result(HOST).syn)
    end)

    it("refuses options other than bits = 32", function()
      for _, bad in ipairs { {}, { bits = 64 }, { bits = "32" }, 32 } do
        assert.has_error(function() hf.counter(bad) end,
                         "hf.counter: expected nothing (a double) or { bits = 32 } (a 32-bit count)")
      end
    end)
  end)

  describe("hf.min and hf.max", function()
    local spec = analysis({ lo = hf.min(), hi = hf.max() }, function(s, f)
      s.lo = math.min(s.lo, f.bytes)
      s.hi = math.max(s.hi, f.bytes)
    end)

    it("start at +inf and -inf", function()
      local st = testing.load(spec):state(HOST)
      assert.equal(math.huge, st.lo)
      assert.equal(-math.huge, st.hi)
    end)

    it("keep the smallest and the largest value seen", function()
      local r = run(spec, { { bytes = 500 }, { bytes = 40 }, { bytes = 9000 }, { bytes = 41 } })
      assert.same({ lo = 40, hi = 9000 }, r:result(HOST))
    end)

    it("keep the smaller and the larger when windows merge, in either order", function()
      local a = { { bytes = 70 }, { bytes = 300 } }
      local b = { { bytes = 5 }, { bytes = 100 } }
      local ab = helper.merge_windows(spec, a, b)
      local ba = helper.merge_windows(spec, b, a)
      assert.same({ lo = 5, hi = 300 }, ab:result(HOST))
      assert.same({ lo = 5, hi = 300 }, ba:result(HOST))
    end)

    it("are not changed by merging a window in which the host was absent", function()
      local merged = helper.merge_windows(spec, { { bytes = 70 } }, { { src = "10.0.0.2", bytes = 1 } })
      assert.same({ lo = 70, hi = 70 }, merged:result(HOST))
      assert.same({ lo = 1, hi = 1 }, merged:result("10.0.0.2"))
    end)

    it("write an untouched start value as null in JSON", function()
      local untouched = analysis({ lo = hf.min(), n = hf.counter() }, function(s) s.n = s.n + 1 end)
      assert.equal('{"lo":null,"n":1}', run(untouched, { {} }):json(HOST))
    end)
  end)

  describe("hf.distinct", function()
    local numbers = analysis({ d = hf.distinct() }, function(s, f) s.d:add(f.bytes) end)
    local strings = analysis({ d = hf.distinct() }, function(s, f)
      s.d:add(f.proto == 6 and "tcp" or f.proto == 17 and "udp" or "other")
    end)
    local addresses = analysis({ d = hf.distinct() }, function(s, f) s.d:add(f.dst) end)

    it("counts distinct numbers, 80 and 80.0 as one, 0 and -0 as one", function()
      local r = run(numbers, { { bytes = 80 }, { bytes = 80.0 }, { bytes = 1.5 }, { bytes = 1 },
                               { bytes = 0 }, { bytes = -0.0 } })
      assert.equal(4, r:result(HOST).d)
    end)

    it("counts small whole numbers (kept as 16 bits) and any other number as one set", function()
      local values = { 0, 65535, 65536, -1, 80, 80.5, 2 ^ 40, 443, 0, 65535, 65536, -1, 80 }
      local flows = {}
      for i, v in ipairs(values) do flows[i] = { bytes = v } end
      assert.equal(8, run(numbers, flows):result(HOST).d)
      -- 2,000 ports: past the exact limit, and still exact
      local ports = {}
      for i = 1, 2000 do ports[i] = { bytes = i * 7 } end
      local r = run(numbers, ports)
      assert.is_false(r:state(HOST).d:is_sketch())
      assert.equal(2000, r:result(HOST).d)
      -- merged with windows of other numbers: the union
      local merged = helper.merge_windows(numbers, { { bytes = 80 }, { bytes = 2 ^ 40 } },
                                          { { bytes = 80 }, { bytes = 443 }, { bytes = 0.5 } })
      assert.equal(4, merged:result(HOST).d)
    end)

    it("counts distinct strings", function()
      local r = run(strings, { { proto = 6 }, { proto = 17 }, { proto = 6 }, { proto = 1, dport = 0 } })
      assert.equal(3, r:result(HOST).d)
    end)

    it("counts distinct addresses, IPv4 and IPv6", function()
      local r = run(addresses, { { dst = "192.0.2.1" }, { dst = "2001:db8::1" }, { dst = "192.0.2.1" },
                                 { dst = "2001:db8::2" } })
      assert.equal(3, r:result(HOST).d)
    end)

    it("counts nothing as 0", function()
      local st = testing.load(numbers):state(HOST)
      assert.equal(0, st.d:count())
      assert.is_false(st.d:is_sketch())
    end)

    it("is exact up to 1,024 values and a sketch from the 1,025th", function()
      local r = testing.load(numbers)
      for v = 1, 1024 do r:feed { bytes = 100000 + v } end
      local d = r.states[HOST].d
      assert.equal(1024, d:count())
      assert.is_false(d:is_sketch())
      r:feed { bytes = 100000 + 1025 }
      assert.is_true(d:is_sketch())
      assert.is_true(helper.near(1025, d:count(), 0.025))
    end)

    it("counts 1,024 addresses exactly, IPv4 and IPv6 alike", function()
      for _, addr in ipairs { helper.ipv4, helper.ipv6 } do
        local flows = helper.peer_flows(HOST, 1024, addr)
        for i = 1, 1024, 3 do flows[#flows + 1] = flows[i] end      -- some twice
        local r = run(addresses, flows)
        assert.equal(1024, r:result(HOST).d)
        assert.is_false(r.states[HOST].d:is_sketch())
      end
    end)

    it("gives an integer count within 3 standard errors (2.4%) for 10,000 values", function()
      local r = testing.load(numbers)
      for v = 1, 10000 do r:feed { bytes = v * 7 } end
      local n = r:result(HOST).d
      assert.is_true(helper.is_integer(n))
      assert.is_true(helper.near(10000, n, 0.0244), "estimate " .. n)
    end)

    it("takes its default limit from the configuration (memory.distinct_exact)", function()
      local r = testing.load(numbers, { distinct_exact = 10 })
      for v = 1, 10 do r:feed { bytes = 100000 + v } end
      assert.is_false(r.states[HOST].d:is_sketch())
      r:feed { bytes = 100000 + 11 }
      assert.is_true(r.states[HOST].d:is_sketch())
    end)

    it("takes its exact limit from hf.distinct{exact = N}", function()
      for _, limit in ipairs { 1, 8, 200, 4096 } do
        local spec = analysis({ d = hf.distinct { exact = limit } }, function(s, f) s.d:add(f.bytes) end)
        local r = testing.load(spec)
        for v = 1, limit do r:feed { bytes = 100000 + v } end
        local d = r.states[HOST].d
        assert.equal(limit, d:count(), "limit " .. limit)
        assert.is_false(d:is_sketch(), "limit " .. limit)
        r:feed { bytes = 100000 + limit + 1 }
        assert.is_true(d:is_sketch(), "limit " .. limit)
      end
    end)

    it("refuses an exact limit that is not a whole number from 1 to 65535", function()
      for _, bad in ipairs { -1, 65536, 2.5, "8" } do
        assert.has_error(function() hf.distinct { exact = bad } end,
                         "hf.distinct: exact must be a whole number from 1 to 65535")
      end
    end)

    it("merges exact sets into their union", function()
      local merged, whole = helper.merge_windows(addresses,
        { { dst = "192.0.2.1" }, { dst = "192.0.2.2" } },
        { { dst = "192.0.2.2" }, { dst = "2001:db8::3" } })
      assert.equal(3, merged:result(HOST).d)
      assert.is_false(merged.states[HOST].d:is_sketch())
      assert.same(whole:result(HOST), merged:result(HOST))
    end)

    it("merges into a sketch when the union passes the limit, as one window would count", function()
      local a, b = {}, {}
      for v = 1, 600 do a[#a + 1] = { bytes = 100000 + v } end
      for v = 501, 1100 do b[#b + 1] = { bytes = 100000 + v } end
      local merged, whole = helper.merge_windows(numbers, a, b)
      assert.is_true(merged.states[HOST].d:is_sketch())
      assert.equal(whole:result(HOST).d, merged:result(HOST).d)
    end)

    it("merges sketches into the sketch of the union", function()
      local a, b = {}, {}
      for v = 1, 3000 do a[#a + 1] = { bytes = 100000 + v } end
      for v = 2001, 5000 do b[#b + 1] = { bytes = 100000 + v } end
      local merged, whole = helper.merge_windows(numbers, a, b)
      assert.is_true(merged.states[HOST].d:is_sketch())
      assert.equal(whole:result(HOST).d, merged:result(HOST).d)
      assert.is_true(helper.near(5000, merged:result(HOST).d, 0.0244))
    end)

    it("merges a sketch into an exact set, and an exact set into a sketch", function()
      local small, large = { { bytes = 1 }, { bytes = 2 } }, {}
      for v = 1, 2000 do large[#large + 1] = { bytes = v + 0.5 } end
      local m1, w1 = helper.merge_windows(numbers, small, large)
      local m2, w2 = helper.merge_windows(numbers, large, small)
      assert.equal(w1:result(HOST).d, m1:result(HOST).d)
      assert.equal(w2:result(HOST).d, m2:result(HOST).d)
      assert.is_true(m1.states[HOST].d:is_sketch())
    end)

    it("merges with the d:merge() method too", function()
      local spec = analysis({ a = hf.distinct(), b = hf.distinct() }, function(s, f)
        if f.dport == 1 then s.a:add(f.dst) else s.b:add(f.dst) end
      end, function(s)
        s.a:merge(s.b)
        return s.a:count()
      end)
      local r = run(spec, { { dport = 1, dst = "192.0.2.1" }, { dport = 2, dst = "192.0.2.1" },
                            { dport = 2, dst = "2001:db8::1" } })
      assert.equal(2, r:result(HOST))
    end)

    it("is given as its count by the default result", function()
      local spec = analysis({ peers = hf.distinct(), flows = hf.counter() }, function(s, f)
        s.flows = s.flows + 1
        s.peers:add(f.dst)
      end)
      local r = run(spec, { { dst = "192.0.2.1" }, { dst = "192.0.2.2" }, { dst = "192.0.2.1" } })
      assert.same({ peers = 2, flows = 3 }, r:result(HOST))
      assert.equal('{"flows":3,"peers":2}', r:json(HOST))
    end)

    it("raises an error (not a crash) when given nil", function()
      local out, status = helper.run_luajit [[
        local hf = require "hostflow"
        local t = require("hostflow.testing").load(hf.analysis {
          name = "x", state = { d = hf.distinct() }, update = function(s, f) s.d:add(nil) end })
        print(pcall(t.feed, t, {}))
      ]]
      assert.equal(0, status, out)
      assert.matches("^false", out)
    end)
  end)

  describe("hf.topk", function()
    local ports = analysis({ top = hf.topk(3) }, function(s, f) s.top:add(f.dport, f.bytes) end,
                           function(s) return s.top.n end)
    local peers = analysis({ top = hf.topk(4) }, function(s, f) s.top:add(f.dst) end,
                           function(s) return s.top.n end)

    it("adds weights per key, 1 when no weight is given", function()
      local r = run(peers, { { dst = "192.0.2.1" }, { dst = "192.0.2.1" }, { dst = "2001:db8::1" } })
      local items = helper.topk_raw(r.states[HOST].top)
      assert.same({ { kind = 4, key = "192.0.2.1", count = 2, error = 0 },
                    { kind = 6, key = "2001:db8::1", count = 1, error = 0 } }, items)
    end)

    it("lists the heaviest keys first, ties by the smaller key, at most k", function()
      local r = run(ports, { { dport = 443, bytes = 5 }, { dport = 80, bytes = 9 }, { dport = 22, bytes = 5 },
                             { dport = 8080, bytes = 1 }, { dport = 443, bytes = 1 } })
      local keys = {}
      for _, it in ipairs(helper.topk_raw(r.states[HOST].top)) do keys[#keys + 1] = it.key end
      assert.same({ 80, 443, 22 }, keys)
    end)

    it("ignores weights that are not positive", function()
      local r = run(ports, { { dport = 1, bytes = 0 }, { dport = 2, bytes = -3 }, { dport = 3, bytes = 2 } })
      assert.equal(1, r:result(HOST))
    end)

    it("lists items as { key, count, error } with number keys and address text (items())", function()
      local spec = analysis({ top = hf.topk(5) }, function(s, f)
        s.top:add(f.dport, f.bytes)
        s.top:add(f.dst)
      end, function(s) return s.top:items() end)
      local r = run(spec, { { dport = 443, bytes = 10, dst = "2001:db8::1" },
                            { dport = 80, bytes = 3, dst = "192.0.2.9" },
                            { dport = 443, bytes = 1, dst = "2001:db8::1" } })
      assert.same({ { key = 443, count = 11, error = 0 },
                    { key = 80, count = 3, error = 0 },
                    { key = "2001:db8::1", count = 2, error = 0 },
                    { key = "192.0.2.9", count = 1, error = 0 } }, r:result(HOST))
    end)

    it("is given as its items by the default result", function()
      local spec = hf.analysis { name = "probe", state = { top = hf.topk(2) },
                                 update = function(s, f) s.top:add(f.dport) end }
      local r = run(spec, { { dport = 53 }, { dport = 53 }, { dport = 443 }, { dport = 80 } })
      assert.equal('{"top":[{"count":2,"error":0,"key":53},{"count":1,"error":0,"key":80}]}', r:json(HOST))
    end)

    it("refuses a text key, which is neither a number nor an address", function()
      local spec = analysis({ top = hf.topk(2) }, function(s) s.top:add("web") end)
      assert.has_error(function() run(spec, { {} }) end)
    end)

    it("sums counts over the union when windows merge without eviction", function()
      local merged, whole = helper.merge_windows(ports,
        { { dport = 80, bytes = 4 }, { dport = 443, bytes = 1 } },
        { { dport = 443, bytes = 5 }, { dport = 22, bytes = 2 } })
      local items = helper.topk_raw(merged.states[HOST].top)
      assert.same({ { kind = 0, key = 443, count = 6, error = 0 },
                    { kind = 0, key = 80, count = 4, error = 0 },
                    { kind = 0, key = 22, count = 2, error = 0 } }, items)
      assert.same(helper.topk_raw(whole.states[HOST].top), items)
    end)

    it("keeps the true heavy hitters and true bounds when full windows merge", function()
      -- two windows, each with more keys than a k = 3 summary watches (9)
      local truth, a, b = {}, {}, {}
      for i = 1, 400 do
        local port = (i % 5 == 0) and 443 or (i % 7 == 0) and 80 or 1000 + i % 41
        local f = { dport = port, bytes = 1 }
        truth[port] = (truth[port] or 0) + 1
        if i <= 200 then a[#a + 1] = f else b[#b + 1] = f end
      end
      local merged = helper.merge_windows(ports, a, b)
      local items = helper.topk_raw(merged.states[HOST].top)
      assert.equal(443, items[1].key)
      assert.equal(80, items[2].key)
      for _, it in ipairs(items) do
        assert.is_true(it.count - it.error <= truth[it.key] and truth[it.key] <= it.count,
                       "bounds of " .. it.key)
      end
    end)
  end)

  describe("serialisation", function()
    local every = analysis({
      flows = hf.counter(), bytes = hf.sum(), lo = hf.min(), hi = hf.max(), untouched = hf.min(),
      ports = hf.distinct(), peers = hf.distinct { exact = 8 }, top = hf.topk(3),
      count = hf.counter { bits = 32 },
    }, function(s, f)
      s.flows = s.flows + 1
      s.count = s.count + 2
      s.bytes = s.bytes + f.bytes
      s.lo = math.min(s.lo, f.bytes)
      s.hi = math.max(s.hi, f.bytes)
      s.ports:add(f.dport)
      s.peers:add(f.dst)
      s.top:add(f.dst, f.bytes)
    end, function(s)
      return { flows = s.flows, count = s.count, bytes = s.bytes, lo = s.lo, hi = s.hi, untouched = s.untouched,
               ports = s.ports:count(), ports_sketch = s.ports:is_sketch(),
               peers = s.peers:count(), peers_sketch = s.peers:is_sketch() }
    end)

    local function flows()
      local out = {}
      for i = 0, 59 do
        out[#out + 1] = { dst = (i % 2 == 0) and helper.ipv4(i % 20) or helper.ipv6(i % 20),
                          dport = 1000 + i, bytes = 100 + i * 3 }
      end
      return out
    end

    it("reads back a state of every kind unchanged", function()
      local r = run(every, flows())
      local want = r:result(HOST)
      local want_top = helper.topk_raw(r.states[HOST].top)
      local want_bytes = helper.serialized(r, HOST)
      assert.is_false(want.ports_sketch)
      assert.is_true(want.peers_sketch)
      local n, copy = r:roundtrip(HOST)
      assert.equal(#want_bytes, n)
      assert.same(want, copy:result(HOST))
      assert.same(want_top, helper.topk_raw(copy.states[HOST].top))
      assert.equal(want_bytes, helper.serialized(copy, HOST))
    end)

    it("reads back an empty state (start values) unchanged", function()
      local r = testing.load(every)
      local st = r:state(HOST)
      local want = r.result_fn(st)
      local _, copy = r:roundtrip(HOST)
      assert.same(want, copy:result(HOST))
      assert.equal(math.huge, copy:result(HOST).lo)
      assert.equal(-math.huge, copy:result(HOST).hi)
    end)

    it("goes on counting after reading back", function()
      local r = run(every, { { dst = "192.0.2.1", dport = 1, bytes = 10 } })
      local _, copy = r:roundtrip(HOST)
      copy:feed { dst = "192.0.2.2", dport = 1, bytes = 5 }
      local got = copy:result(HOST)
      assert.same({ 2, 4, 15, 5, 10, 1, 2 },
                  { got.flows, got.count, got.bytes, got.lo, got.hi, got.ports, got.peers })
    end)
  end)
end)
