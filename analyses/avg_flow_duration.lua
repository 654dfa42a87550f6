-- avg_flow_duration: the mean duration of the host's flows, in seconds.
local hf = require "hostflow"

return hf.analysis {
  name   = "avg_flow_duration",
  state  = { flows = hf.counter(), duration_ms = hf.sum() },
  update = function(s, flow)
    s.flows = s.flows + 1
    s.duration_ms = s.duration_ms + (flow.end_ms - flow.start_ms)
  end,
  result = function(s)
    return s.duration_ms / s.flows / 1000
  end,
}
