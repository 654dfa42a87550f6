-- top_talkers.lua -- the top talkers of a network: the sources in a prefix
-- (a /24, say) that sent the most bytes in a time range, by default the last
-- hour of the data.
--
-- usage: hostflow query contrib/queries/top_talkers.lua -i FLOWS [-f csv|json]
--            -- PREFIX [--top N] [--last DUR | --from TIME [--to TIME]]
--
--   PREFIX      e.g. 10.1.2.0/24 or 2001:db8:1::/48 (several: comma-separated)
--   --top N     how many talkers (default 10)
--   --last DUR  the last DUR of the data, e.g. 30m, 1h, 1d (default 1h); the
--               data ends with its newest flow, so this works on old captures
--   --from, --to  an explicit range instead: ISO 8601 times or ms (--to is
--               exclusive; a flow is in the range when its end is)
--
-- Columns: flows, packets and bytes sent, distinct peers (destinations) and
-- destination ports, and when the source was first and last seen in the range.
-- Example: hostflow query contrib/queries/top_talkers.lua -i contrib/sample-flows.ndjson.gz -- 10.0.0.0/8 --last 5m
local q = require "hostflow.query"

local opt = q.getopt { top = 10, last = "1h", from = "", to = "" }
local net = opt[1] or q.usage("PREFIX [--top N] [--last DUR | --from TIME [--to TIME]]")
local nets = {}
for p in net:gmatch("[^,]+") do nets[#nets + 1] = p end

local range = { src = nets }
if opt.from or opt.to then
  range.from, range.to = opt.from, opt.to
else
  range.from = "-" .. opt.last
end

q.flows()
  :where(range)
  :group_by("src")
  :count():sum("packets"):sum("bytes")
  :distinct("dst", "peers"):distinct("dport", "dports")
  :first_seen():last_seen()
  :top(opt.top, "bytes")
  :title(string.format("top %d talkers of %s by bytes (%s)", opt.top, net,
                       opt.from and ("from " .. opt.from .. (opt.to and " to " .. opt.to or ""))
                       or (opt.to and "to " .. opt.to) or ("the last " .. opt.last .. " of the data")))
