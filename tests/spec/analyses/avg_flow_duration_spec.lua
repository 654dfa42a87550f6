-- avg_flow_duration: the mean duration of a host's flows, in seconds.
local helper = require "tests.spec.helper"
local testing = require "hostflow.testing"

local AVG = helper.analysis_path("avg_flow_duration")
local T0 = 1764165600000

-- a flow of the given duration in milliseconds
local function lasting(ms, fields)
  local f = { start_ms = T0, end_ms = T0 + ms }
  for k, v in pairs(fields or {}) do f[k] = v end
  return f
end

describe("avg_flow_duration analysis", function()
  local t
  before_each(function() t = testing.load(AVG) end)

  describe("mean", function()
    it("is in seconds, not milliseconds", function()
      t:feed(lasting(2500))
      assert.equal(2.5, t:result("10.0.0.1"))
    end)

    it("averages over the flows, each counted once", function()
      t:feed(lasting(1000))
      t:feed(lasting(2000))
      t:feed(lasting(6000))
      assert.equal(3, t:result("10.0.0.1"))
    end)

    it("counts flows of no duration (a single packet) as 0 s", function()
      t:feed(lasting(0))
      t:feed(lasting(3000))
      assert.equal(1.5, t:result("10.0.0.1"))
    end)

    it("keeps fractions of a millisecond's worth", function()
      t:feed(lasting(1))
      t:feed(lasting(2))
      assert.equal(0.0015, t:result("10.0.0.1"))
    end)

    it("keeps each source host apart, IPv4 and IPv6", function()
      t:feed(lasting(1000, { src = "10.0.0.1" }))
      t:feed(lasting(4000, { src = "2001:db8::10", dst = "2001:db8::1" }))
      t:feed(lasting(2000, { src = "2001:db8::10", dst = "192.0.2.7" }))
      assert.equal(1, t:result("10.0.0.1"))
      assert.equal(3, t:result("2001:db8::10"))
    end)

    it("gives nothing for a host that sent no flow", function()
      t:feed(lasting(1000))
      assert.is_nil(t:result("10.0.0.2"))
    end)
  end)

  describe("host record field", function()
    it("is a bare number of seconds, as in DESIGN.md's example (1.234)", function()
      t:feed(lasting(1000))
      t:feed(lasting(1468))
      assert.equal("1.234", t:json("10.0.0.1"))
    end)

    it("is written without a fraction when whole", function()
      t:feed(lasting(2000))
      assert.equal("2", t:json("10.0.0.1"))
    end)

    it("round-trips a mean that is no short decimal", function()
      t:feed(lasting(1000))
      t:feed(lasting(1000))
      t:feed(lasting(2000))
      local text = t:json("10.0.0.1")
      assert.equal(4 / 3, tonumber(text))
      assert.equal(4 / 3, t:result("10.0.0.1"))
    end)
  end)

  describe("mergeability", function()
    it("gives the mean of all flows, not the mean of the windows' means", function()
      local first = { lasting(1000) }
      local second = { lasting(3000), lasting(3000), lasting(3000) }
      local merged, whole = helper.merge_windows(AVG, first, second)
      assert.equal(2.5, merged:result("10.0.0.1"))
      assert.equal(whole:result("10.0.0.1"), merged:result("10.0.0.1"))
    end)

    it("gives, for two windows merged, what one window of all their flows gives", function()
      local flows = {}
      for i = 1, 40 do
        flows[i] = lasting(i * 137 % 5000, { src = (i % 3 == 0) and "2001:db8::10" or "10.0.0.1",
                                              dst = (i % 2 == 0) and "2001:db8::99" or "192.0.2.99" })
      end
      local merged, whole = helper.merge_windows(AVG, helper.alternate(flows))
      assert.same(whole:results(), merged:results())
      assert.equal(whole:json("2001:db8::10"), merged:json("2001:db8::10"))
    end)

    it("reads back a serialised state unchanged", function()
      t:feed(lasting(1500))
      t:feed(lasting(700))
      local want = t:result("10.0.0.1")
      local _, copy = t:roundtrip("10.0.0.1")
      assert.equal(want, copy:result("10.0.0.1"))
    end)
  end)
end)
