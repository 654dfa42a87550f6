-- Which flows an analysis sees: by = "dst" (the host is the flow's
-- destination) and when() (only the flows it takes, a state only for the
-- hosts that had one), as hostflow.testing runs them.
require "tests.spec.helper"
local testing = require "hostflow.testing"
local hf = require "hostflow"

describe("analysis sides", function()
  it("refuses a by other than src or dst, and a when that is not a function", function()
    assert.has_error(function()
      hf.analysis { name = "x", by = "peer", state = {}, update = function() end }
    end)
    assert.has_error(function()
      hf.analysis { name = "x", when = true, state = {}, update = function() end }
    end)
  end)

  it("keys an analysis by the destination when it says by = dst", function()
    local t = testing.load(hf.analysis {
      name = "senders", by = "dst",
      state = { senders = hf.distinct() },
      update = function(s, f) s.senders:add(f.src) end,
      result = function(s) return s.senders:count() end,
    })
    t:feed { src = "192.0.2.1", dst = "10.0.0.9" }
    t:feed { src = "192.0.2.2", dst = "10.0.0.9" }
    assert.equal(2, t:result("10.0.0.9"))
    assert.is_nil(t:result("192.0.2.1"))
  end)

  it("feeds update only the flows when takes, and makes no state for the others", function()
    local t = testing.load(hf.analysis {
      name = "syns",
      params = { flags = 2 },
      state = { n = hf.counter() },
      when = function(f, p) return f.tcp_flags == p.flags end,
      update = function(s) s.n = s.n + 1 end,
      result = function(s) return s.n end,
    })
    t:feed { src = "10.0.0.1", tcp_flags = 2 }
    t:feed { src = "10.0.0.1", tcp_flags = 18 }
    t:feed { src = "10.0.0.2", tcp_flags = 18 }
    assert.equal(1, t:result("10.0.0.1"))
    assert.is_nil(t:result("10.0.0.2"))
  end)
end)
