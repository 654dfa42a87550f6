-- ssh_dictionary: a source trying password after password on one SSH
-- server (Stream4Flow's ssh_auth_simple): many short TCP flows to port 22
-- of one destination, alike in packets and bytes -- each one a connection
-- that tried a login or two and was refused.  A flow counts when it goes
-- to `port`, from a port above 1024, lasts under `max_duration` ms and
-- has between `min_packets` and `max_packets` packets and between
-- `min_bytes` and `max_bytes` bytes (Stream4Flow's ranges; a refused
-- OpenSSH login is 14-15 packets, 3.7-3.8 kB).  Per destination, the flows
-- and their bytes; in a window of `window` seconds (300, as Stream4Flow),
-- `threshold` such flows (10) whose bytes vary by at most `similarity`
-- (their coefficient of variation) raise an alert naming the server.  A
-- backup over SSH -- few flows, long and large -- never counts.  Alerts
-- only: no field in the records.
local hf = require "hostflow"

local TCP = hf.PROTO.TCP
local sqrt = math.sqrt

return hf.analysis {
  name   = "ssh_dictionary",
  params = { port = 22, threshold = 10, window = 300, similarity = 0.25, max_duration = 12000,
             min_packets = 10, max_packets = 20, min_bytes = 1800, max_bytes = 5000 },
  state  = { servers = hf.group { max = 16, of = { flows = hf.counter { bits = 32 }, packets = hf.sum(),
                                                    bytes = hf.sum(), bytes2 = hf.sum() } } },
  when   = function(f, p)
    return f.proto == TCP and f.dport == p.port and f.sport > 1024 and f.end_ms - f.start_ms < p.max_duration
       and f.packets > p.min_packets and f.packets < p.max_packets
       and f.bytes > p.min_bytes and f.bytes < p.max_bytes
  end,
  update = function(s, flow)
    local v = s.servers:at(flow.dst)
    v.flows = v.flows + 1
    v.packets = v.packets + flow.packets
    v.bytes = v.bytes + flow.bytes
    v.bytes2 = v.bytes2 + flow.bytes * flow.bytes
  end,
  result = function(s, p, ctx)
    if not ctx or ctx.window.granularity_s ~= p.window then return nil end
    local server, flows, mean_bytes, mean_packets = nil, 0, 0, 0
    for key, v in s.servers:each() do
      local n = v.flows
      if n >= p.threshold and (not server or n > flows or (n == flows and key < server)) then   -- a tie: the lower key
        local mean = v.bytes / n
        local var = v.bytes2 / n - mean * mean
        if sqrt(var > 0 and var or 0) <= p.similarity * mean then
          server, flows, mean_bytes, mean_packets = key, n, mean, v.packets / n
        end
      end
    end
    if not server then return nil end
    local observed = (ctx:alerted() or 0) + flows
    ctx:alert { observed = observed, expected = p.threshold, score = flows / p.threshold,
                details = { dst_ip = server, flows = flows, avg_packets = mean_packets,
                            avg_bytes = mean_bytes } }
    return nil
  end,
}
