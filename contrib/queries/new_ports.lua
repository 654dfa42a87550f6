-- new_ports.lua -- hosts that began using a new port: for each source host,
-- the (protocol, destination port) pairs it used in the recent part of the
-- data but never in the baseline before it.
--
-- usage: hostflow query contrib/queries/new_ports.lua -i FLOWS [-n NETWORKS] [-f csv|json]
--            [-- [--since TIME|-DUR] [--ports RANGE] [--min-flows N] [--new-hosts]]
--
--   --since      where the recent part begins: an ISO 8601 time, ms, or a
--                duration before the end of the data ("-10m"); default: the
--                last quarter of the data's time span
--   --ports      only these destination ports, e.g. 0-1023 (servers answer to
--                ephemeral ports, which are new all the time; default: all)
--   --min-flows  leave out pairs with fewer recent flows (default 1)
--   --new-hosts  also list hosts with no flow in the baseline (left out by
--                default: every port of a host seen for the first time is new)
--
-- A flow belongs to the part its end time falls in.  Columns: the host (src),
-- proto, dport, when the pair was first used (first_used, the end of its first
-- flow), and its flows, bytes and distinct peers since.  -n keeps the hosts of
-- your networks (e.g. -n 10.0.0.0/8,2001:db8::/32).
-- Example: hostflow query contrib/queries/new_ports.lua -i contrib/sample-flows.ndjson.gz -- --since -1m
local q = require "hostflow.query"

local opt = q.getopt { since = "", ports = "", min_flows = 1, new_hosts = false }
if opt[1] then q.usage("[--since TIME|-DUR] [--ports RANGE] [--min-flows N] [--new-hosts]") end

-- the start of the recent part, once the flows are read
local cutoff
local function recent_from()
  if not cutoff then
    if opt.since then cutoff = q.ms(opt.since)
    else cutoff = q.data.first_ms + 0.75 * (q.data.last_ms - q.data.first_ms) end
  end
  return cutoff
end

-- when each host was first seen
local hosts = q.flows():group_by("src"):min("end_ms", "first"):hidden()
local host_first
local function first_seen(src)
  if not host_first then
    host_first = {}
    for _, row in ipairs(hosts:rows()) do host_first[row.src] = row.first end
  end
  return host_first[src]
end

local new = q.flows()
  :where { dport = opt.ports and opt.ports:match("^%d+$") and tonumber(opt.ports) or opt.ports or "0-65535" }
  :group_by("src", "proto", "dport")
  :min("end_ms", "first_used")
  :count():sum("bytes"):distinct("dst", "peers")
  :having(function(row)
    local from = recent_from()
    return row.first_used >= from
       and row.flows >= opt.min_flows
       and (opt.new_hosts or first_seen(row.src) < from)
  end)

q.on_end(function()
  if q.data.flows > 0 then new:title("ports first used since " .. q.time(recent_from())) end
end)
