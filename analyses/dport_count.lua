-- dport_count: how many distinct destination ports the host used.
local hf = require "hostflow"

return hf.analysis {
  name   = "dport_count",
  state  = { ports = hf.distinct() },
  update = function(s, flow) s.ports:add(flow.dport) end,
  result = function(s) return s.ports:count() end,
}
