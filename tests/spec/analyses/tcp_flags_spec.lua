-- tcp_flags: of a host's TCP flows, how many had each flag set.
local helper = require "tests.spec.helper"
local testing = require "hostflow.testing"
local hf = require "hostflow"

local FLAGS = helper.analysis_path("tcp_flags")
local TCP, UDP, ICMP = 6, 17, 1
local F = hf.TCP
local ORDER = { "FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR" }

local function flags(...)
  local v = 0
  for _, name in ipairs { ... } do v = v + F[name] end
  return v
end

describe("tcp_flags analysis", function()
  local t
  before_each(function() t = testing.load(FLAGS) end)

  describe("counting", function()
    it("counts, for each flag, the TCP flows that have it set", function()
      t:feed { tcp_flags = flags("SYN") }
      t:feed { tcp_flags = flags("SYN", "ACK") }
      t:feed { tcp_flags = flags("ACK", "PSH", "FIN") }
      assert.same({ FIN = 1, SYN = 2, RST = 0, PSH = 1, ACK = 2, URG = 0, ECE = 0, CWR = 0 },
                  t:result("10.0.0.1"))
    end)

    it("counts each of the eight flags, ECE and CWR included", function()
      t:feed { tcp_flags = 0xff }
      local r = t:result("10.0.0.1")
      for _, name in ipairs(ORDER) do assert.equal(1, r[name], name) end
    end)

    it("takes each flag from its own bit", function()
      for bit = 0, 7 do t:feed { tcp_flags = 2 ^ bit } end
      t:feed { tcp_flags = 2 ^ 7 }
      local r = t:result("10.0.0.1")
      for i, name in ipairs(ORDER) do
        assert.equal(name == "CWR" and 2 or 1, r[name], name .. " (bit " .. (i - 1) .. ")")
      end
    end)

    it("ignores UDP and ICMP flows, even with flag bits set", function()
      t:feed { proto = TCP, tcp_flags = flags("SYN") }
      t:feed { proto = UDP, tcp_flags = 0xff }
      t:feed { proto = ICMP, tcp_flags = flags("SYN"), dport = 0 }
      assert.same({ FIN = 0, SYN = 1, RST = 0, PSH = 0, ACK = 0, URG = 0, ECE = 0, CWR = 0 },
                  t:result("10.0.0.1"))
    end)

    it("gives all zeros for TCP flows without flags", function()
      t:feed { proto = TCP, tcp_flags = 0 }
      assert.same({ FIN = 0, SYN = 0, RST = 0, PSH = 0, ACK = 0, URG = 0, ECE = 0, CWR = 0 },
                  t:result("10.0.0.1"))
    end)

    it("keeps IPv4 and IPv6 hosts apart", function()
      t:feed { src = "10.0.0.1", tcp_flags = flags("RST") }
      t:feed { src = "2001:db8::10", dst = "2001:db8::1", tcp_flags = flags("SYN") }
      t:feed { src = "2001:db8::10", dst = "192.0.2.1", tcp_flags = flags("SYN", "ECE", "CWR") }
      assert.equal(1, t:result("10.0.0.1").RST)
      assert.same({ FIN = 0, SYN = 2, RST = 0, PSH = 0, ACK = 0, URG = 0, ECE = 1, CWR = 1 },
                  t:result("2001:db8::10"))
    end)
  end)

  describe("absence", function()
    it("is absent (nil) for a host with no TCP flow", function()
      t:feed { src = "10.0.0.5", proto = UDP, dport = 53 }
      t:feed { src = "10.0.0.5", proto = ICMP, dport = 0 }
      assert.is_nil(t:result("10.0.0.5"))
      assert.is_nil(t:json("10.0.0.5"))
    end)

    it("is absent for an IPv6 host with only UDP flows", function()
      t:feed { src = "2001:db8::10", dst = "2001:db8::53", proto = UDP, dport = 53 }
      assert.is_nil(t:result("2001:db8::10"))
    end)

    it("appears with the host's first TCP flow", function()
      t:feed { proto = UDP }
      assert.is_nil(t:result("10.0.0.1"))
      t:feed { proto = TCP, tcp_flags = flags("SYN") }
      assert.equal(1, t:result("10.0.0.1").SYN)
    end)
  end)

  describe("host record field", function()
    it("is the text of DESIGN.md's example, keys in the order FIN SYN RST PSH ACK URG ECE CWR", function()
      t:feed { tcp_flags = flags("SYN") }
      t:feed { tcp_flags = flags("SYN") }
      t:feed { tcp_flags = flags("SYN", "ACK") }
      t:feed { tcp_flags = flags("ACK", "PSH") }
      t:feed { tcp_flags = flags("ACK", "PSH") }
      t:feed { tcp_flags = flags("ACK", "FIN") }
      t:feed { tcp_flags = flags("ACK") }
      t:feed { proto = UDP, tcp_flags = 0xff }
      assert.equal('{"FIN":1,"SYN":3,"RST":0,"PSH":2,"ACK":5,"URG":0,"ECE":0,"CWR":0}', t:json("10.0.0.1"))
    end)

    it("keeps the order when every count is the same", function()
      t:feed { tcp_flags = 0xff }
      assert.equal('{"FIN":1,"SYN":1,"RST":1,"PSH":1,"ACK":1,"URG":1,"ECE":1,"CWR":1}', t:json("10.0.0.1"))
    end)
  end)

  describe("mergeability", function()
    local flows = {}
    for i = 0, 99 do
      flows[#flows + 1] = { src = (i % 4 == 0) and "2001:db8::10" or "10.0.0.1",
                            dst = (i % 4 == 0) and "2001:db8::1" or "192.0.2.1",
                            proto = (i % 5 == 0) and UDP or TCP, tcp_flags = (i * 37) % 256 }
    end
    flows[#flows + 1] = { src = "10.0.0.9", proto = UDP }

    it("gives, for two windows merged, what one window of all their flows gives", function()
      local merged, whole = helper.merge_windows(FLAGS, helper.alternate(flows))
      assert.same(whole:results(), merged:results())
      assert.equal(whole:json("10.0.0.1"), merged:json("10.0.0.1"))
      assert.equal(whole:json("2001:db8::10"), merged:json("2001:db8::10"))
    end)

    it("stays absent for a host with no TCP flow in either window", function()
      local merged = helper.merge_windows(FLAGS, { { src = "10.0.0.9", proto = UDP } },
                                          { { src = "10.0.0.9", proto = ICMP, dport = 0 } })
      assert.is_nil(merged:result("10.0.0.9"))
    end)

    it("appears when only one of the windows had a TCP flow", function()
      local merged = helper.merge_windows(FLAGS, { { src = "10.0.0.9", proto = UDP } },
                                          { { src = "10.0.0.9", proto = TCP, tcp_flags = flags("RST") } })
      assert.equal(1, merged:result("10.0.0.9").RST)
    end)

    it("reads back a serialised state unchanged", function()
      helper.feed_all(t, flows)
      local want = t:result("10.0.0.1")
      local _, copy = t:roundtrip("10.0.0.1")
      assert.same(want, copy:result("10.0.0.1"))
    end)
  end)
end)
