-- dns_amplification: a monitored host receiving many large DNS responses it
-- did not ask for (Stream4Flow's reflect_ddos, seen from the victim).  Fed
-- both sides of a host (by = "both"): the DNS queries it sends (UDP to port
-- 53) and the large responses it receives (UDP from port 53, at least
-- `size` bytes a packet), counted in packets (a DNS message is one: flows
-- that share a port pair would hide how many).  In a window of `window`
-- seconds, `threshold` more large response packets than query packets,
-- from at least `servers` distinct servers, raise an alert.  A host that
-- asks its resolver many questions gets as many answers as it asked: none
-- are unasked.  Alerts only: no field in the records.
local hf = require "hostflow"

local UDP = hf.PROTO.UDP

return hf.analysis {
  name   = "dns_amplification",
  by     = "both",
  params = { threshold = 50, size = 512, servers = 3, window = 60 },
  state  = { queries = hf.sum(), responses = hf.sum(), bytes = hf.sum(), servers = hf.distinct() },
  when   = function(f, p, received)
    if f.proto ~= UDP then return false end
    if received then return f.sport == 53 and f.bytes >= p.size * f.packets end
    return f.dport == 53
  end,
  update = function(s, flow, _, received)
    if received then
      s.responses = s.responses + flow.packets
      s.bytes = s.bytes + flow.bytes
      s.servers:add(flow.src)
    else
      s.queries = s.queries + flow.packets
    end
  end,
  result = function(s, p, ctx)
    local unasked = s.responses - s.queries
    if not ctx or ctx.window.granularity_s ~= p.window or unasked < p.threshold then return nil end
    local servers = s.servers:count()
    if servers < p.servers then return nil end
    ctx:alert { observed = unasked, expected = p.threshold, score = unasked / p.threshold,
                details = { responses = s.responses, queries = s.queries, bytes = s.bytes, servers = servers } }
    return nil
  end,
}
