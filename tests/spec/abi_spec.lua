-- The FFI boundary: hostflow.base declares the core's structs and functions
-- once, hostflow.runtime.job the worker's; the declarations must match the C
-- side byte for byte.
local helper = require "tests.spec.helper"
local ffi = require "ffi"
local base = require "hostflow.base"
local job = require "hostflow.runtime.job"

local C = base.C
local SHARED = {}
for _, list in ipairs { base.SHARED, job.TYPES } do
  for _, name in ipairs(list) do SHARED[#SHARED + 1] = name end
end

describe("FFI declarations", function()
  after_each(helper.remove_files)

  describe("sizes and offsets", function()
    it("match the C structs field by field (base.check_abi is true)", function()
      local ok, why = base.check_abi()
      assert.is_true(ok, why)
      assert.equal("", why)
    end)

    it("of the worker's views match the C structs field by field (runtime.job.check_abi is true)", function()
      local ok, why = job.check_abi()
      assert.is_true(ok, why)
      assert.equal("", why)
    end)

    for _, name in ipairs(SHARED) do
      it("of " .. name .. " match the core's sizeof", function()
        local c = tonumber(C.hf_ffi_sizeof(name))
        assert.is_true(c > 0, "the core does not know " .. name)
        assert.equal(c, ffi.sizeof(name))
      end)
    end

    it("of the window the spec harness drives match the C struct", function()
      local ok, why = base.check_abi { "hf_window" }
      assert.is_true(ok, why)
    end)

    it("would be caught if a field moved", function()
      base.declare("struct hf_moved_flow", "struct hf_moved_flow { uint8_t dst[16]; uint8_t src[16]; };")
      local ok = pcall(ffi.offsetof, "struct hf_moved_flow", "src")
      assert.is_true(ok)
      local bad, why = base.check_abi { "hf_no_such_struct" }
      assert.is_false(bad)
      assert.matches("not in the core's ABI table", why)
    end)

    it("come with the core's constants, never copies", function()
      assert.equal(64, base.const("HF_NAME_MAX"))
      assert.equal(64, job.MAX_ANALYSES)
      assert.equal(base.const("HF_FIELD_DISTINCT"), require("hostflow.schema").KIND.distinct)
      assert.has_error(function() base.const("HF_NO_SUCH_CONSTANT") end)
    end)

    it("are unknown (0) to the core for a name it does not share", function()
      assert.equal(0, tonumber(C.hf_ffi_sizeof("hf_no_such_struct")))
    end)

    it("keep the primitives in 16 bytes each, as their headers promise", function()
      assert.equal(16, ffi.sizeof("hf_distinct"))
      assert.equal(16, ffi.sizeof("hf_topk"))
    end)
  end)

  describe("layout of hf_flow", function()
    local f = ffi.new("hf_flow")

    it("reads an IPv4 flow decoded by the core field by field", function()
      local line = '{"ipfix.sourceIPv4Address":"192.0.2.10","ipfix.destinationIPv4Address":"198.51.100.7",'
        .. '"ipfix.sourceTransportPort":40000,"ipfix.destinationTransportPort":443,'
        .. '"ipfix.protocolIdentifier":6,"ipfix.packetDeltaCount":12,"ipfix.octetDeltaCount":3456,'
        .. '"ipfix.flowStartMilliseconds":1764165600000,"ipfix.flowEndMilliseconds":1764165601234,'
        .. '"ipfix.tcpControlBits":27}'
      assert.equal(0, C.hf_decode_flow(line, #line, f))
      assert.same({ "192.0.2.10", "198.51.100.7", 40000, 443, 6, 12, 3456, 1764165600000, 1764165601234, 27, 4 },
                  { base.addr_text(f.src), base.addr_text(f.dst), f.sport, f.dport, f.proto, f.packets,
                    f.bytes, f.start_ms, f.end_ms, f.tcp_flags, f.family })
    end)

    it("reads an IPv6 flow decoded by the core field by field", function()
      local line = '{"src6_addr":"2001:db8::10","dst6_addr":"2001:db8:0:0:0:0:0:7","src_port":5353,'
        .. '"dst_port":53,"proto":17,"in_packets":1,"in_bytes":80,'
        .. '"first":"2026-11-26T14:00:00.000Z","last":"2026-11-26T14:00:01.500Z","tcp_flags":0}'
      assert.equal(0, C.hf_decode_flow(line, #line, f))
      assert.same({ "2001:db8::10", "2001:db8::7", 5353, 53, 17, 1, 80, 1500, 0, 6 },
                  { base.addr_text(f.src), base.addr_text(f.dst), f.sport, f.dport, f.proto, f.packets,
                    f.bytes, f.end_ms - f.start_ms, f.tcp_flags, f.family })
    end)

    it("names a rejected line's reason", function()
      local line = '{"ipfix.sourceIPv4Address":"not an address"}'
      local status = C.hf_decode_flow(line, #line, f)
      assert.are_not.equal(0, status)
      assert.is_true(#ffi.string(C.hf_decode_reason_name(status)) > 0)
    end)

    it("keeps the fields at the offsets flow.h gives them", function()
      local offsets = { src = 0, dst = 16, start_ms = 32, end_ms = 40, packets = 48, bytes = 56,
                        sport = 64, dport = 66, proto = 68, tcp_flags = 69, family = 70, mark = 71 }
      for field, off in pairs(offsets) do assert.equal(off, ffi.offsetof("hf_flow", field), field) end
      assert.equal(72, ffi.sizeof("hf_flow"))
    end)
  end)

  describe("addresses", function()
    it("are written as a dotted quad when IPv4-mapped, else as RFC 5952 text", function()
      local addr, fam = ffi.new("uint8_t[16]"), ffi.new("uint8_t[1]")
      for text, want in pairs { ["192.0.2.1"] = "192.0.2.1", ["2001:DB8:0:0:1:0:0:1"] = "2001:db8::1:0:0:1",
                                ["::1"] = "::1", ["::"] = "::" } do
        assert.equal(0, C.hf_addr_parse(text, #text, addr, fam))
        assert.equal(want, base.addr_text(addr))
      end
    end)
  end)

  describe("loading", function()
    it("can run a second time in one Lua state (a hot reload) and still match", function()
      -- in a fresh LuaJIT: busted's own ffi.cdef drops repeated declarations,
      -- which would hide a missing guard
      local out, status = helper.run_luajit(string.format([[
        local first = require "hostflow.base"
        local job = require "hostflow.runtime.job"
        local again = dofile(%q)
        local job_again = dofile(%q)
        print(first.check_abi(), again.check_abi(), job.check_abi(), job_again.check_abi())
      ]], helper.path("lua/hostflow/base.lua"), helper.path("lua/hostflow/runtime/job.lua")))
      assert.equal(0, status, out)
      assert.matches("^true\ttrue\ttrue\ttrue", out)
    end)
  end)
end)
