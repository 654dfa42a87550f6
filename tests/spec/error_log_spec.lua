-- The log of an analysis that fails on some flows: one line per analysis
-- and message, at most once a minute, saying how many more came; the
-- traceback only with -v.  The runtime's clock is the spec's, so a minute
-- of errors takes no time.
local helper = require "tests.spec.helper"
local isolation = require "hostflow.runtime.isolation"

describe("the log of an analysis's errors", function()
  local w, now, saved_clock
  before_each(function()
    saved_clock, now = isolation.clock, 1800000000
    isolation.clock = function() return now end
  end)
  after_each(function()
    isolation.clock = saved_clock
    if w then w:close() end
    w = nil
    helper.remove_files()
  end)

  -- An analysis failing on the flows whose bytes are 666, with the message
  -- MSG (Lua text of an expression).
  local function failing(msg)
    return helper.write_file("probe.lua", ([[
local hf = require "hostflow"
return hf.analysis {
  name = "probe",
  state = { n = hf.counter() },
  update = function(s, flow)
    if flow.bytes == 666 then error(MSG, 0) end
    s.n = s.n + 1
  end,
}]]):gsub("MSG", function() return msg end))
  end

  -- One second of traffic: n flows from 100 hosts, every 100th failing.
  local function second(n, t0)
    local list = {}
    for i = 1, n do
      list[i] = { src = ("10.0.%d.%d"):format(i % 100, i % 7), bytes = i % 100 == 0 and 666 or 100,
                  start_ms = t0, end_ms = t0 }
    end
    return list
  end

  local function warnings()
    local out = {}
    for _, l in ipairs(w.log) do
      if l:find("^probe: ") then out[#out + 1] = l end
    end
    return out
  end

  -- "-- 1,150 more like this" -> 1150
  local function more(line)
    local n = line:match("\u{2014} ([%d,]+) more")
    return n and tonumber((n:gsub(",", ""))) or 0
  end

  it("writes a few lines for a minute of errors on 1 % of flows, and every error is in their counts", function()
    w = helper.worker { files = { failing([["attempt to compare nil with number"]]) },
                        max_errors = 1e9, max_host_errors = 1e9 }
    local t0 = 1764165600000
    for s = 0, 59 do
      now = 1800000000 + s
      w:feed(second(2000, t0 + s * 1000))              -- 20 errors a second
    end
    now = 1800000000 + 61
    w:feed(second(100, t0 + 61000))                      -- one more error, past the minute
    w:control("finish")
    local lines = warnings()
    assert.is_true(#lines <= 3, #lines .. " lines:\n" .. table.concat(lines, "\n"))
    local counted = 0
    for _, l in ipairs(lines) do counted = counted + 1 + more(l) end
    assert.equal(60 * 20 + 1, counted)
    assert.matches("^probe: attempt to compare nil with number %(host 10%.0%.%d+%.%d, window "
                   .. "10s@2025%-11%-26T14:00:00Z: field left out there and in the coarser windows%)$", lines[1])
    assert.matches("\u{2014} 1,199 more like this in the last minute$", lines[2])
    assert.is_nil(table.concat(lines, "\n"):find("stack traceback", 1, true))
  end)

  it("tells messages apart, each with its own count", function()
    w = helper.worker { files = { failing([[flow.sport % 2 == 0 and "even port" or "odd port"]]) },
                      max_errors = 1e9, max_host_errors = 1e9 }
    local list = {}
    for i = 1, 40 do list[i] = { src = "10.0.0.1", sport = 1000 + i, bytes = 666 } end
    w:feed(list)
    w:control("finish")
    local lines = warnings()
    assert.equal(4, #lines)
    local by = {}
    for _, l in ipairs(lines) do
      local m = l:match("^probe: (%a+ port)")
      by[m] = (by[m] or 0) + 1 + more(l)
    end
    assert.same({ ["even port"] = 20, ["odd port"] = 20 }, by)
  end)

  it("bounds the messages it tells apart: the others share a line", function()
    w = helper.worker { files = { failing([["port " .. flow.sport]]) }, max_errors = 1e9, max_host_errors = 1e9 }
    local list = {}
    for i = 1, 500 do list[i] = { src = "10.0.0.1", sport = 1000 + i, bytes = 666 } end
    for s = 0, 9 do
      now = 1800000000 + s
      w:feed(list)
    end
    w:control("finish")
    local lines = warnings()
    assert.is_true(#lines <= 2 * isolation.MESSAGES_TRACKED + 2, #lines .. " lines")
    local counted = 0
    for _, l in ipairs(lines) do counted = counted + 1 + more(l) end
    assert.equal(5000, counted)
    assert.matches("more errors with other messages", table.concat(lines, "\n"), 1, true)
  end)

  it("adds the traceback, of the analysis's own frames, with -v", function()
    w = helper.worker { files = { failing([["broken"]]) }, verbose = true }
    w:feed { { src = "10.0.0.1", bytes = 666 } }
    local line = warnings()[1]
    assert.matches("^probe: broken %(host 10%.0%.0%.1, window 10s@[^)]*%)\nstack traceback:\n", line)
    assert.matches("probe.lua:6: in function 'update'", line, 1, true)
    assert.is_nil(line:find("hostflow/runtime/", 1, true))
  end)
end)
