-- dport_count: how many distinct destination ports a host used.
local helper = require "tests.spec.helper"
local testing = require "hostflow.testing"

local DPORT = helper.analysis_path("dport_count")

-- flows from src to each of the given ports
local function to_ports(src, ports, dst)
  local out = {}
  for _, p in ipairs(ports) do out[#out + 1] = { src = src, dst = dst, dport = p } end
  return out
end

local function range(first, last)
  local out = {}
  for p = first, last do out[#out + 1] = p end
  return out
end

describe("dport_count analysis", function()
  local t
  before_each(function() t = testing.load(DPORT) end)

  describe("counting", function()
    it("counts each destination port once", function()
      helper.feed_all(t, to_ports("10.0.0.1", { 443, 80, 443, 53, 80, 443 }))
      assert.equal(3, t:result("10.0.0.1"))
    end)

    it("counts a port once whichever peer and protocol it was used with", function()
      t:feed { dport = 53, dst = "192.0.2.1", proto = 17 }
      t:feed { dport = 53, dst = "192.0.2.2", proto = 6 }
      t:feed { dport = 53, dst = "2001:db8::53", proto = 17 }
      assert.equal(1, t:result("10.0.0.1"))
    end)

    it("does not count source ports", function()
      t:feed { sport = 1000, dport = 443 }
      t:feed { sport = 2000, dport = 443 }
      assert.equal(1, t:result("10.0.0.1"))
    end)

    it("counts port 0 (flows without ports) as a port", function()
      t:feed { proto = 1, dport = 0 }
      t:feed { dport = 65535 }
      assert.equal(2, t:result("10.0.0.1"))
    end)

    it("keeps IPv4 and IPv6 hosts apart", function()
      helper.feed_all(t, to_ports("10.0.0.1", { 22, 80 }))
      helper.feed_all(t, to_ports("2001:db8::10", { 22, 80, 443, 8080 }, "2001:db8::1"))
      assert.equal(2, t:result("10.0.0.1"))
      assert.equal(4, t:result("2001:db8::10"))
    end)
  end)

  describe("exactness", function()
    it("is exact at 141 ports (an estimate said 137 before)", function()
      helper.feed_all(t, to_ports("10.0.0.1", range(1, 141)))
      helper.feed_all(t, to_ports("10.0.0.1", range(1, 141)))
      assert.equal(141, t:result("10.0.0.1"))
      assert.is_false(t.states["10.0.0.1"].ports:is_sketch())
    end)

    it("counts a port scan of every port exactly, port 0 included", function()
      helper.feed_all(t, to_ports("10.0.0.1", range(0, 65535)))
      assert.equal(65536, t:result("10.0.0.1"))
      assert.is_false(t.states["10.0.0.1"].ports:is_sketch())
    end)
  end)

  describe("host record field", function()
    it("is a bare integer, as in DESIGN.md's example (4)", function()
      helper.feed_all(t, to_ports("10.0.0.1", { 22, 80, 443, 8443, 443 }))
      assert.equal("4", t:json("10.0.0.1"))
    end)
  end)

  describe("mergeability", function()
    it("counts a port used in both windows once", function()
      local merged, whole = helper.merge_windows(DPORT, to_ports("10.0.0.1", { 22, 80, 443 }),
                                                 to_ports("10.0.0.1", { 443, 8080 }))
      assert.equal(4, merged:result("10.0.0.1"))
      assert.equal(whole:result("10.0.0.1"), merged:result("10.0.0.1"))
    end)

    it("gives the exact union past the exact limit", function()
      local merged, whole = helper.merge_windows(DPORT, to_ports("10.0.0.1", range(1, 700)),
                                                 to_ports("10.0.0.1", range(301, 1100)))
      assert.equal(1100, merged:result("10.0.0.1"))
      assert.equal(whole:result("10.0.0.1"), merged:result("10.0.0.1"))
    end)

    it("gives what one window gives for two scans merged", function()
      local merged, whole = helper.merge_windows(DPORT, to_ports("2001:db8::10", range(1, 3000), "2001:db8::1"),
                                                 to_ports("2001:db8::10", range(2001, 6000), "2001:db8::1"))
      assert.equal(6000, merged:result("2001:db8::10"))
      assert.equal(whole:result("2001:db8::10"), merged:result("2001:db8::10"))
    end)

    it("reads back a serialised state unchanged, small or large", function()
      helper.feed_all(t, to_ports("10.0.0.1", { 1, 2, 3 }))
      helper.feed_all(t, to_ports("10.0.0.2", range(1, 1000)))
      local want1, want2 = t:result("10.0.0.1"), t:result("10.0.0.2")
      local _, copy1 = t:roundtrip("10.0.0.1")
      assert.equal(want1, copy1:result("10.0.0.1"))
      local again = testing.load(DPORT)
      helper.feed_all(again, to_ports("10.0.0.2", range(1, 1000)))
      local _, copy2 = again:roundtrip("10.0.0.2")
      assert.equal(want2, copy2:result("10.0.0.2"))
    end)
  end)
end)
