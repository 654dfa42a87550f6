-- port_scan: a source probing many ports of one destination (rule
-- port_scan_vertical) or one port on many destinations (rule
-- port_scan_horizontal), Stream4Flow's ports_scan.  One analysis for both
-- rules, so that a probe is looked at once.
--
-- A probe is a TCP flow without ACK (SYN, connect, FIN, NULL and Xmas
-- scans; never a target's SYN/ACK or RST/ACK reply, nor a bare reset) or a
-- UDP flow of one or two packets that is not a service's reply (from a port
-- below 1024 to one above).  Per destination, the ports probed; per port,
-- the destinations probed (the 16 most probed keys of each kept; a key's
-- weight is its probe flows).  In a window of `window` seconds, a
-- destination probed by `threshold` flows (20, as Stream4Flow) on at least
-- `targets` ports raises port_scan_vertical naming it; a port probed by
-- `threshold` flows on at least `targets` destinations raises
-- port_scan_horizontal naming it.  A continuing scan updates its alert:
-- observed is the probe flows since it opened, the alert's increment those
-- of the new window (Stream4Flow's flows_increment).  `vertical` and
-- `horizontal` turn a rule off.  Alerts only: no field in the records.
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

-- The key of group g with the most distinct values among those probed by
-- threshold flows on targets values: key, values, flows, how many qualify.
-- A tie goes to more flows, then to the lower key: never to the order the
-- keys came in, which follows the order of the flows (two Kafka partitions
-- interleave them differently from one file).
local function widest(g, p)
  local best, n, flows, qualify = nil, 0, 0, 0
  for key, set, weight in g:each() do
    local c = set:count()
    if weight >= p.threshold and c >= p.targets then
      qualify = qualify + 1
      if not best or c > n or (c == n and (weight > flows or (weight == flows and key < best))) then
        best, n, flows = key, c, weight
      end
    end
  end
  return best, n, flows, qualify
end

return hf.analysis {
  name   = "port_scan",
  params = { threshold = 20, targets = 10, window = 60, vertical = true, horizontal = true },
  state  = { dsts = hf.group { max = 16, of = hf.distinct },     -- per destination, its ports
             ports = hf.group { max = 16, of = hf.distinct } },  -- per port, its destinations
  when   = probe,
  update = function(s, flow)
    s.dsts:add(flow.dst, flow.dport)
    s.ports:add(flow.dport, flow.dst)
  end,
  result = function(s, p, ctx)
    if not ctx or ctx.window.granularity_s ~= p.window then return nil end
    if p.vertical then
      local dst, ports, flows, scanned = widest(s.dsts, p)
      if dst then
        ctx:alert { rule = "port_scan_vertical", observed = (ctx:alerted("port_scan_vertical") or 0) + flows,
                    expected = p.threshold, score = flows / p.threshold,
                    details = { dst_ip = dst, targets = ports, flows = flows, destinations = scanned } }
      end
    end
    if p.horizontal then
      local port, dsts, flows, scanned = widest(s.ports, p)
      if port then
        ctx:alert { rule = "port_scan_horizontal", observed = (ctx:alerted("port_scan_horizontal") or 0) + flows,
                    expected = p.threshold, score = flows / p.threshold,
                    details = { dst_port = port, targets = dsts, flows = flows, ports = scanned } }
      end
    end
    return nil
  end,
}
