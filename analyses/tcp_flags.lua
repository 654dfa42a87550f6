-- tcp_flags: of the host's TCP flows, how many had each flag set.  Absent
-- for a host that sent no TCP flow in the window.  The nine counts are
-- 32-bit (36 bytes per host and window instead of 72 as doubles).
local hf = require "hostflow"
local bit = require "bit"

local TCP = hf.PROTO.TCP
local band, rshift = bit.band, bit.rshift

-- 1 when bit n of the flags is set, else 0 (no branch: each flow's flags
-- differ, and a branch per flag would send LuaJIT down a side trace)
local function flag(flags, n) return band(rshift(flags, n), 1) end

return hf.analysis {
  name   = "tcp_flags",
  state  = { tcp = hf.counter { bits = 32 },
             FIN = hf.counter { bits = 32 }, SYN = hf.counter { bits = 32 },
             RST = hf.counter { bits = 32 }, PSH = hf.counter { bits = 32 },
             ACK = hf.counter { bits = 32 }, URG = hf.counter { bits = 32 },
             ECE = hf.counter { bits = 32 }, CWR = hf.counter { bits = 32 } },
  keys   = { "FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR" },
  update = function(s, flow)
    if flow.proto ~= TCP then return end
    local f = flow.tcp_flags
    s.tcp = s.tcp + 1
    s.FIN = s.FIN + flag(f, 0)
    s.SYN = s.SYN + flag(f, 1)
    s.RST = s.RST + flag(f, 2)
    s.PSH = s.PSH + flag(f, 3)
    s.ACK = s.ACK + flag(f, 4)
    s.URG = s.URG + flag(f, 5)
    s.ECE = s.ECE + flag(f, 6)
    s.CWR = s.CWR + flag(f, 7)
  end,
  result = function(s)
    if s.tcp == 0 then return nil end
    return { FIN = s.FIN, SYN = s.SYN, RST = s.RST, PSH = s.PSH,
             ACK = s.ACK, URG = s.URG, ECE = s.ECE, CWR = s.CWR }
  end,
}
