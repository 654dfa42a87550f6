-- total: flows, packets and bytes a host sent in a window (stats.total).
local helper = require "tests.spec.helper"
local testing = require "hostflow.testing"

local TOTAL = helper.analysis_path("total")

describe("total analysis", function()
  local t
  before_each(function() t = testing.load(TOTAL) end)

  describe("counts", function()
    it("counts each flow once and sums its packets and bytes", function()
      t:feed { packets = 10, bytes = 1000 }
      t:feed { packets = 20, bytes = 2500 }
      t:feed { packets = 1, bytes = 40 }
      assert.same({ flow = 3, packets = 31, bytes = 3540 }, t:result("10.0.0.1"))
    end)

    it("keeps each source host apart", function()
      t:feed { src = "10.0.0.1", packets = 5, bytes = 500 }
      t:feed { src = "10.0.0.2", packets = 7, bytes = 700 }
      t:feed { src = "10.0.0.2", packets = 1, bytes = 100 }
      assert.same({ flow = 1, packets = 5, bytes = 500 }, t:result("10.0.0.1"))
      assert.same({ flow = 2, packets = 8, bytes = 800 }, t:result("10.0.0.2"))
    end)

    it("counts an IPv6 host's flows to IPv4 and IPv6 peers alike", function()
      t:feed { src = "2001:db8::10", dst = "2001:db8::1", packets = 3, bytes = 300 }
      t:feed { src = "2001:db8::10", dst = "192.0.2.1", packets = 4, bytes = 400 }
      assert.same({ flow = 2, packets = 7, bytes = 700 }, t:result("2001:db8::10"))
    end)

    it("counts every protocol, not only TCP", function()
      t:feed { proto = 6 }
      t:feed { proto = 17 }
      t:feed { proto = 1, dport = 0 }
      assert.equal(3, t:result("10.0.0.1").flow)
    end)

    it("gives nothing for a host that sent no flow", function()
      t:feed { src = "10.0.0.1" }
      assert.is_nil(t:result("10.0.0.9"))
      assert.is_nil(t:json("10.0.0.9"))
    end)
  end)

  describe("host record field", function()
    it("is the text of DESIGN.md's example: flow, packets, bytes in that order", function()
      -- 12 flows, 340 packets, 123456 bytes
      for _ = 1, 11 do t:feed { packets = 30, bytes = 10000 } end
      t:feed { packets = 10, bytes = 13456 }
      assert.equal('{"flow":12,"packets":340,"bytes":123456}', t:json("10.0.0.1"))
    end)

    it("writes large byte counts as integers, never in exponent form", function()
      t:feed { packets = 4000000, bytes = 5000000000 }
      t:feed { packets = 1, bytes = 1 }
      assert.equal('{"flow":2,"packets":4000001,"bytes":5000000001}', t:json("10.0.0.1"))
    end)

    it("is the same for an IPv6 host", function()
      t:feed { src = "2001:db8::10", dst = "2001:db8::20", packets = 2, bytes = 128 }
      assert.equal('{"flow":1,"packets":2,"bytes":128}', t:json("2001:db8::10"))
    end)
  end)

  describe("mergeability", function()
    local flows = {
      { src = "10.0.0.1", packets = 10, bytes = 1000 },
      { src = "10.0.0.1", packets = 3, bytes = 180 },
      { src = "10.0.0.2", packets = 1, bytes = 60 },
      { src = "2001:db8::10", dst = "2001:db8::1", packets = 7, bytes = 7000 },
      { src = "10.0.0.1", packets = 2, bytes = 120 },
      { src = "2001:db8::10", dst = "192.0.2.1", packets = 5, bytes = 500 },
    }

    it("gives, for two windows merged, what one window of all their flows gives", function()
      local first, second = helper.alternate(flows)
      local merged, whole = helper.merge_windows(TOTAL, first, second)
      assert.same(whole:results(), merged:results())
      assert.same({ flow = 3, packets = 15, bytes = 1300 }, merged:result("10.0.0.1"))
      assert.equal(whole:json("2001:db8::10"), merged:json("2001:db8::10"))
    end)

    it("takes a host seen in only one of the windows as it is", function()
      local merged = helper.merge_windows(TOTAL, { { src = "10.0.0.1" } }, { { src = "10.0.0.3", bytes = 9 } })
      assert.same({ flow = 1, packets = 1, bytes = 9 }, merged:result("10.0.0.3"))
      assert.same({ flow = 1, packets = 1, bytes = 100 }, merged:result("10.0.0.1"))
    end)

    it("reads back a serialised state unchanged", function()
      helper.feed_all(t, flows)
      local want = t:result("10.0.0.1")
      local bytes, copy = t:roundtrip("10.0.0.1")
      assert.is_true(bytes > 0)
      assert.same(want, copy:result("10.0.0.1"))
    end)
  end)
end)
