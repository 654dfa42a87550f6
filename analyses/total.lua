-- total: flows, packets and bytes the host sent in the window
-- (Stream4Flow's stats.total).
local hf = require "hostflow"

return hf.analysis {
  name    = "total",
  state   = { flow = hf.counter(), packets = hf.sum(), bytes = hf.sum() },
  keys    = { "flow", "packets", "bytes" },
  update  = function(s, flow)
    s.flow = s.flow + 1
    s.packets = s.packets + flow.packets
    s.bytes = s.bytes + flow.bytes
  end,
  result  = function(s)
    return { flow = s.flow, packets = s.packets, bytes = s.bytes }
  end,
}
