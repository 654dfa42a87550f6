-- port_scan_vertical: one source probing many ports of one destination
-- (Stream4Flow's ports_scan, vertical).  A probe is a TCP flow without ACK
-- (SYN, connect, FIN, NULL and Xmas scans; never a target's SYN/ACK or
-- RST/ACK reply, nor a bare reset) or a UDP flow of one or two packets that
-- is not a service's reply (from a port below 1024 to one above).  Per
-- destination, the probe flows and the distinct ports probed; in a window
-- of `window` seconds, a destination with `threshold` probe flows (20, as
-- Stream4Flow) on at least `targets` ports raises an alert naming it.  A
-- continuing scan updates its alert: observed is the probe flows since it
-- opened, and the alert's increment the flows of the new window
-- (Stream4Flow's flows_increment).  Alerts only: no field in the records.
local hf = require "hostflow"
local bit = require "bit"

local band = bit.band
local TCP, UDP = hf.PROTO.TCP, hf.PROTO.UDP
local ACK, RST = hf.TCP.ACK, hf.TCP.RST

local function probe(f)
  local proto = f.proto
  if proto == TCP then
    local flags = f.tcp_flags
    return band(flags, ACK) == 0 and flags ~= RST
  end
  return proto == UDP and f.packets <= 2 and not (f.sport < 1024 and f.dport >= 1024)
end

return hf.analysis {
  name   = "port_scan_vertical",
  params = { threshold = 20, targets = 10, window = 60 },
  -- per destination (the 16 most probed kept), the ports probed; a key's
  -- weight is its probe flows
  state  = { dsts = hf.group { max = 16, of = hf.distinct } },
  when   = probe,
  update = function(s, flow) s.dsts:add(flow.dst, flow.dport) end,
  result = function(s, p, ctx)
    if not ctx or ctx.window.granularity_s ~= p.window then return nil end
    local dst, ports, flows, scanned = nil, 0, 0, 0
    for key, set, weight in s.dsts:each() do
      local n = set:count()
      if weight >= p.threshold and n >= p.targets then
        scanned = scanned + 1
        if n > ports then dst, ports, flows = key, n, weight end
      end
    end
    if not dst then return nil end
    local observed = (ctx:alerted() or 0) + flows
    ctx:alert { observed = observed, expected = p.threshold, score = flows / p.threshold,
                details = { dst_ip = dst, targets = ports, flows = flows, destinations = scanned } }
    return nil
  end,
}
