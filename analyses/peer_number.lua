-- peer_number: how many distinct hosts this host talked to.
local hf = require "hostflow"

return hf.analysis {
  name   = "peer_number",
  state  = { peers = hf.distinct() },
  update = function(s, flow) s.peers:add(flow.dst) end,
  result = function(s) return s.peers:count() end,
}
