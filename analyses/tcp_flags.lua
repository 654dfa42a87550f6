-- tcp_flags: of the host's TCP flows, how many had each flag set.  Absent
-- for a host that sent no TCP flow in the window.
local hf = require "hostflow"
local band = require("bit").band

local TCP = hf.PROTO.TCP
local FIN, SYN, RST, PSH = hf.TCP.FIN, hf.TCP.SYN, hf.TCP.RST, hf.TCP.PSH
local ACK, URG, ECE, CWR = hf.TCP.ACK, hf.TCP.URG, hf.TCP.ECE, hf.TCP.CWR

return hf.analysis {
  name   = "tcp_flags",
  order  = 50,
  state  = { tcp = hf.counter(),
             FIN = hf.counter(), SYN = hf.counter(), RST = hf.counter(), PSH = hf.counter(),
             ACK = hf.counter(), URG = hf.counter(), ECE = hf.counter(), CWR = hf.counter() },
  keys   = { "FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR" },
  update = function(s, flow)
    if flow.proto ~= TCP then return end
    local f = flow.tcp_flags
    s.tcp = s.tcp + 1
    if band(f, FIN) ~= 0 then s.FIN = s.FIN + 1 end
    if band(f, SYN) ~= 0 then s.SYN = s.SYN + 1 end
    if band(f, RST) ~= 0 then s.RST = s.RST + 1 end
    if band(f, PSH) ~= 0 then s.PSH = s.PSH + 1 end
    if band(f, ACK) ~= 0 then s.ACK = s.ACK + 1 end
    if band(f, URG) ~= 0 then s.URG = s.URG + 1 end
    if band(f, ECE) ~= 0 then s.ECE = s.ECE + 1 end
    if band(f, CWR) ~= 0 then s.CWR = s.CWR + 1 end
  end,
  result = function(s)
    if s.tcp == 0 then return nil end
    return { FIN = s.FIN, SYN = s.SYN, RST = s.RST, PSH = s.PSH,
             ACK = s.ACK, URG = s.URG, ECE = s.ECE, CWR = s.CWR }
  end,
}
