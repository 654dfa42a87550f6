-- ddos_target: a monitored host receiving an unusual number of flows from
-- many sources (Stream4Flow's ddos, which compared a host's received and
-- sent packets; here without a baseline: thresholds per window).  Keyed by
-- the destination (by = "dst"), so the host is the victim.  It counts the
-- flows that look like a flood: TCP flows without ACK (SYN floods,
-- handshakes never completed), UDP flows of one or two packets and ICMP --
-- not a host's ordinary conversations, which carry ACKs -- from outside the
-- monitored networks (`outside`; false: from anywhere).  In a window of
-- `window` seconds, `flows` such flows from at least `sources` distinct
-- sources raise an alert.  Alerts only: no field in the records.
local hf = require "hostflow"
local bit = require "bit"

local band = bit.band
local TCP, UDP, ICMP, ICMPV6 = hf.PROTO.TCP, hf.PROTO.UDP, hf.PROTO.ICMP, hf.PROTO.ICMPV6
local ACK = hf.TCP.ACK

local outside = hf.outside

local function flood_like(f, p)
  if p.outside and not outside(f) then return false end
  local proto = f.proto
  if proto == TCP then return band(f.tcp_flags, ACK) == 0 end
  if proto == UDP then return f.packets <= 2 end
  return proto == ICMP or proto == ICMPV6
end

return hf.analysis {
  name   = "ddos_target",
  by     = "dst",
  params = { flows = 1000, sources = 100, window = 60, outside = true },
  state  = { flows = hf.counter { bits = 32 }, packets = hf.sum(), sources = hf.distinct() },
  when   = flood_like,
  update = function(s, flow)
    s.flows = s.flows + 1
    s.packets = s.packets + flow.packets
    s.sources:add(flow.src)
  end,
  result = function(s, p, ctx)
    if not ctx or ctx.window.granularity_s ~= p.window or s.flows < p.flows then return nil end
    local sources = s.sources:count()
    if sources < p.sources then return nil end
    ctx:alert { observed = s.flows, expected = p.flows, score = s.flows / p.flows,
                details = { flows = s.flows, packets = s.packets, sources = sources } }
    return nil
  end,
}
