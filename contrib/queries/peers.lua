-- peers.lua -- who talked to this host: every peer of an address (or of a
-- prefix), in both directions, with flows, packets, bytes, the destination
-- ports used, and when the pair was first and last seen.
--
-- usage: hostflow query contrib/queries/peers.lua -i FLOWS [--from TIME --to TIME] [-f csv|json]
--            -- ADDRESS|PREFIX [--top N]
--
--   peer        the other end of the flow
--   direction   out: flows ADDRESS sent to the peer; in: flows it received
--   dports      distinct destination ports of those flows
--   first_seen  the earliest flow start; last_seen: the latest flow end (UTC)
--
-- Rows are ordered by bytes, largest first; --top N keeps the first N.
-- Example: hostflow query contrib/queries/peers.lua -i contrib/sample-flows.ndjson.gz -- 10.221.177.114
local q = require "hostflow.query"

local opt = q.getopt { top = 0 }
local host = opt[1] or q.usage("ADDRESS|PREFIX [--top N]")

local peers = q.flows()
  :where { host = host }                          -- the source or the destination
  :group_by(q.peer(host), q.direction(host))
  :count():sum("packets"):sum("bytes"):distinct("dport", "dports")
  :first_seen():last_seen()
  :sort("bytes")
  :title("peers of " .. host)

if opt.top > 0 then peers:limit(opt.top) end
