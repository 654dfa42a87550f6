-- port_scan_horizontal: one source probing one port on many destinations
-- (Stream4Flow's ports_scan, horizontal).  Probes as port_scan_vertical's:
-- TCP flows without ACK (never a reply or a bare reset), UDP flows of one or
-- two packets that are not a service's reply.  Per destination port, the
-- probe flows and the distinct destinations; in a window of `window`
-- seconds, a port with `threshold` probe flows (20, as Stream4Flow) to at
-- least `targets` destinations raises an alert naming the port.  A
-- continuing scan updates its alert (observed: probe flows since it opened;
-- the increment: the new window's).  Alerts only: no field in the records.
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
  name   = "port_scan_horizontal",
  params = { threshold = 20, targets = 10, window = 60 },
  -- per destination port (the 16 most probed kept), the destinations
  -- probed; a key's weight is its probe flows
  state  = { ports = hf.group { max = 16, of = hf.distinct } },
  when   = probe,
  update = function(s, flow) s.ports:add(flow.dport, flow.dst) end,
  result = function(s, p, ctx)
    if not ctx or ctx.window.granularity_s ~= p.window then return nil end
    local port, dsts, flows, scanned = nil, 0, 0, 0
    for key, set, weight in s.ports:each() do
      local n = set:count()
      if weight >= p.threshold and n >= p.targets then
        scanned = scanned + 1
        if n > dsts then port, dsts, flows = key, n, weight end
      end
    end
    if not port then return nil end
    local observed = (ctx:alerted() or 0) + flows
    ctx:alert { observed = observed, expected = p.threshold, score = flows / p.threshold,
                details = { dst_port = port, targets = dsts, flows = flows, ports = scanned } }
    return nil
  end,
}
