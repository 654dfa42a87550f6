-- peer_number: how many distinct hosts a host talked to.
local helper = require "tests.spec.helper"
local testing = require "hostflow.testing"

local PEERS = helper.analysis_path("peer_number")

describe("peer_number analysis", function()
  local t
  before_each(function() t = testing.load(PEERS) end)

  describe("counting", function()
    it("counts each peer once", function()
      t:feed { dst = "192.0.2.7" }
      t:feed { dst = "192.0.2.8" }
      t:feed { dst = "192.0.2.7", dport = 80 }
      t:feed { dst = "192.0.2.7", proto = 17, dport = 53 }
      assert.equal(2, t:result("10.0.0.1"))
    end)

    it("counts IPv4 and IPv6 peers side by side", function()
      t:feed { dst = "192.0.2.7" }
      t:feed { dst = "2001:db8::7" }
      t:feed { dst = "2001:db8:0:0::7" }   -- the same address, written otherwise
      t:feed { dst = "2001:db8::8" }
      assert.equal(3, t:result("10.0.0.1"))
    end)

    it("counts the peers of an IPv6 host", function()
      t:feed { src = "2001:db8::10", dst = "2001:db8::1" }
      t:feed { src = "2001:db8::10", dst = "2001:db8::2" }
      t:feed { src = "2001:db8::10", dst = "198.51.100.1" }
      assert.equal(3, t:result("2001:db8::10"))
    end)

    it("keeps each host's peers apart", function()
      t:feed { src = "10.0.0.1", dst = "192.0.2.7" }
      t:feed { src = "10.0.0.2", dst = "192.0.2.7" }
      t:feed { src = "10.0.0.2", dst = "192.0.2.8" }
      assert.equal(1, t:result("10.0.0.1"))
      assert.equal(2, t:result("10.0.0.2"))
    end)

    it("tells peers apart that differ in one bit", function()
      t:feed { dst = "192.0.2.0" }
      t:feed { dst = "192.0.2.1" }
      t:feed { dst = "2001:db8::" }
      t:feed { dst = "2001:db8::1" }
      t:feed { dst = "3001:db8::" }
      assert.equal(5, t:result("10.0.0.1"))
    end)
  end)

  describe("exactness", function()
    for _, family in ipairs { { "IPv4", helper.ipv4 }, { "IPv6", helper.ipv6 } } do
      local name, addr = family[1], family[2]

      it("is exact up to 1,024 " .. name .. " peers", function()
        for n = 1, 1024 do
          t:feed { dst = addr(n - 1) }
          assert.equal(n, t:result("10.0.0.1"))
        end
        assert.is_false(t.states["10.0.0.1"].peers:is_sketch())
      end)

      it("estimates 10,000 " .. name .. " peers within 3 standard errors (2.4%), as an integer", function()
        helper.feed_all(t, helper.peer_flows("2001:db8::10", 10000, addr))
        local n = t:result("2001:db8::10")
        assert.is_true(helper.is_integer(n), "not an integer: " .. tostring(n))
        assert.is_true(helper.near(10000, n, 0.0244), "estimate " .. n .. " for 10000 peers")
        assert.is_true(t.states["2001:db8::10"].peers:is_sketch())
      end)
    end

    it("turns into a sketch at the 1,025th peer, and stays near the truth there", function()
      helper.feed_all(t, helper.peer_flows("10.0.0.1", 1025))
      assert.is_true(t.states["10.0.0.1"].peers:is_sketch())
      assert.is_true(helper.near(1025, t:result("10.0.0.1"), 0.0244))
    end)

    it("does not count a peer seen again after the sketch took over", function()
      helper.feed_all(t, helper.peer_flows("10.0.0.1", 3000))
      local n = t:result("10.0.0.1")
      helper.feed_all(t, helper.peer_flows("10.0.0.1", 3000))
      assert.equal(n, t:result("10.0.0.1"))
    end)
  end)

  describe("host record field", function()
    it("is a bare integer, as in DESIGN.md's example (3)", function()
      t:feed { dst = "192.0.2.1" }
      t:feed { dst = "192.0.2.2" }
      t:feed { dst = "2001:db8::3" }
      t:feed { dst = "192.0.2.1" }
      assert.equal("3", t:json("10.0.0.1"))
    end)

    it("is an integer without a fraction for a sketch's estimate", function()
      helper.feed_all(t, helper.peer_flows("10.0.0.1", 5000))
      assert.matches("^%d+$", t:json("10.0.0.1"))
    end)
  end)

  describe("mergeability", function()
    it("counts a peer seen in both windows once", function()
      local merged, whole = helper.merge_windows(PEERS,
        { { dst = "192.0.2.1" }, { dst = "192.0.2.2" }, { dst = "2001:db8::1" } },
        { { dst = "192.0.2.2" }, { dst = "2001:db8::1" }, { dst = "2001:db8::2" } })
      assert.equal(4, merged:result("10.0.0.1"))
      assert.equal(whole:result("10.0.0.1"), merged:result("10.0.0.1"))
    end)

    it("stays exact while the union is within the exact limit", function()
      local flows = helper.peer_flows("10.0.0.1", 1024)
      local merged, whole = helper.merge_windows(PEERS, { unpack(flows, 1, 700) }, { unpack(flows, 301, 1024) })
      assert.is_false(merged.states["10.0.0.1"].peers:is_sketch())
      assert.equal(1024, merged:result("10.0.0.1"))
      assert.equal(whole:result("10.0.0.1"), merged:result("10.0.0.1"))
    end)

    it("gives what one window gives when the union passes the exact limit", function()
      local flows = helper.peer_flows("10.0.0.1", 1100)
      local merged, whole = helper.merge_windows(PEERS, { unpack(flows, 1, 700) }, { unpack(flows, 401, 1100) })
      assert.is_true(merged.states["10.0.0.1"].peers:is_sketch())
      assert.equal(whole:result("10.0.0.1"), merged:result("10.0.0.1"))
    end)

    it("gives what one window gives for 10,000 peers split over two windows, IPv4 and IPv6", function()
      local flows = helper.peer_flows("10.0.0.1", 5000)
      for _, f in ipairs(helper.peer_flows("10.0.0.1", 5000, helper.ipv6)) do flows[#flows + 1] = f end
      local merged, whole = helper.merge_windows(PEERS, helper.alternate(flows))
      assert.equal(whole:result("10.0.0.1"), merged:result("10.0.0.1"))
      assert.is_true(helper.near(10000, merged:result("10.0.0.1"), 0.0244))
    end)

    it("merges a window in which the host was absent without change", function()
      local merged = helper.merge_windows(PEERS, { { dst = "192.0.2.1" }, { dst = "192.0.2.2" } },
                                          { { src = "10.0.0.2", dst = "192.0.2.3" } })
      assert.equal(2, merged:result("10.0.0.1"))
      assert.equal(1, merged:result("10.0.0.2"))
    end)

    it("reads back a serialised set unchanged", function()
      helper.feed_all(t, helper.peer_flows("10.0.0.1", 30, helper.ipv6))
      local want = t:result("10.0.0.1")
      local _, copy = t:roundtrip("10.0.0.1")
      assert.equal(want, copy:result("10.0.0.1"))
      -- the copy goes on counting where the original stopped
      copy:feed { dst = helper.ipv6(0) }
      copy:feed { dst = "192.0.2.200" }
      assert.equal(want + 1, copy:result("10.0.0.1"))
    end)

    it("reads back a serialised sketch unchanged", function()
      helper.feed_all(t, helper.peer_flows("10.0.0.1", 3000))
      local want = t:result("10.0.0.1")
      local _, copy = t:roundtrip("10.0.0.1")
      assert.equal(want, copy:result("10.0.0.1"))
    end)
  end)

  describe("runs side by side (hostflow.testing)", function()
    it("keeps a run's peers when another run is loaded and fed", function()
      local a = testing.load(PEERS)
      for i = 1, 30 do a:feed { dst = "192.0.2." .. i } end
      local b = testing.load(PEERS)
      for i = 1, 30 do b:feed { dst = "198.51.100." .. i } end
      a:merge(b)
      assert.equal(60, a:result("10.0.0.1"))
    end)
  end)
end)
