-- Alerts: a window analysis's result(s, params, ctx) knows its host and
-- window and raises host_alert records through the core's alert table
-- (core/engine/alerts.c): new, held while open, updated when it grows.
local helper = require "tests.spec.helper"
local testing = require "hostflow.testing"
local context = require "hostflow.context"
local hf = require "hostflow"

local T0 = 1764165600000          -- a 5-minute boundary

-- A detector: more than params.threshold flows from a host in a minute.
local function busy(extra)
  return hf.analysis {
    name = "busy",
    params = { threshold = 3 },
    state = { flows = hf.counter() },
    update = function(s) s.flows = s.flows + 1 end,
    result = function(s, params, ctx)
      if extra then extra(s, ctx) end
      if ctx.window.granularity_s == 60 and s.flows > params.threshold then
        return ctx:alert { observed = s.flows, expected = params.threshold,
                           score = s.flows / params.threshold, details = { flows = s.flows } }
      end
    end,
  }
end

local function feed(t, host, n)
  for _ = 1, n do t:feed { src = host } end
end

describe("a rule's context", function()
  it("names the host and the window, granularity included", function()
    local seen
    local t = testing.load(busy(function(_, ctx)
      seen = { host = ctx:host(), start = ctx.window.start_ms, stop = ctx.window.end_ms,
               g = ctx.window.granularity_s }
    end))
    feed(t, "2001:db8::5", 1)
    t:result("2001:db8::5", { start_ms = T0 + 300000, granularity_s = 300 })
    assert.same({ host = "2001:db8::5", start = T0 + 300000, stop = T0 + 600000, g = 300 }, seen)
  end)

  it("raises an alert as a host_alert record whose id is host, rule and window start", function()
    local t = testing.load(busy())
    feed(t, "10.0.0.9", 5)
    assert.equal("new", t:result("10.0.0.9"))
    local a = t:alerts()
    assert.equal(1, #a)
    assert.same({ rule = "busy", observed = 5, expected = 3, score = 5 / 3, details = { flows = 5 },
                  status = "new", host = "10.0.0.9",
                  window = { start_ms = T0, end_ms = T0 + 60000, granularity_s = 60 } }, a[1])
    local r = t:alert_records()
    assert.equal(1, #r)
    assert.matches('^{"@type":"host_alert","@timestamp":"2025%-11%-26T14:00:00%.000Z",'
                   .. '"id":"10%.0%.0%.9/busy/1764165600000","src_ip":"10%.0%.0%.9","rule":"busy",'
                   .. '"window":{"start_ms":1764165600000,"end_ms":1764165660000,"granularity_s":60},'
                   .. '"observed":5,"expected":3,"score":1%.6666666666666667,"details":{"flows":5}}$', r[1])
  end)

  it("holds a continuing condition, updates it when it grows, and raises anew after the hold", function()
    local t = testing.load(busy(), { hold_ms = 10 * 60000 })
    feed(t, "10.0.0.9", 5)
    assert.equal("new", t:result("10.0.0.9", { start_ms = T0 }))
    assert.equal("held", t:result("10.0.0.9", { start_ms = T0 + 60000 }))
    feed(t, "10.0.0.9", 2)
    assert.equal("update", t:result("10.0.0.9", { start_ms = T0 + 120000 }))
    assert.equal("held", t:result("10.0.0.9", { start_ms = T0 + 540000 }))
    assert.equal("new", t:result("10.0.0.9", { start_ms = T0 + 600000 }))
    local r = t:alert_records()
    assert.equal(3, #r)
    assert.matches('"id":"10.0.0.9/busy/1764165600000"', r[2], 1, true)
    assert.matches('"observed":7,', r[2], 1, true)
    assert.matches(',"update":1,"increment":2}$', r[2])
    assert.matches('"id":"10.0.0.9/busy/1764166200000"', r[3], 1, true)
  end)

  it("says what an open alert last reported, and nothing once it is closed", function()
    local got = {}
    local t = testing.load(busy(function(_, ctx) got[#got + 1] = ctx:alerted("busy") or "none" end),
                           { hold_ms = 60000 })
    feed(t, "10.0.0.9", 5)
    t:result("10.0.0.9", { start_ms = T0 })
    t:result("10.0.0.9", { start_ms = T0 + 30000, granularity_s = 30 })
    t:result("10.0.0.9", { start_ms = T0 + 60000, granularity_s = 30 })
    assert.same({ "none", 5, "none" }, got)
  end)

  it("refuses a bad rule name, a missing observed value and details that are not a table", function()
    local function raising(a)
      return hf.analysis {
        name = "bad", state = { n = hf.counter() }, update = function(s) s.n = s.n + 1 end,
        result = function(_, _, ctx) ctx:alert(a) end,
      }
    end
    local cases = {
      { { rule = "port-scan", observed = 1 }, "rule must be a letter, then letters, digits and _" },
      { { observed = "many" }, "observed must be a number, got string" },
      { { observed = 1, expected = "20" }, "expected must be a number, got string" },
      { { observed = 1, details = "x" }, "details must be a table, got string" },
    }
    for _, c in ipairs(cases) do
      local t = testing.load(raising(c[1]))
      t:feed { src = "10.0.0.1" }
      local ok, err = pcall(t.result, t, "10.0.0.1")
      assert.is_false(ok)
      assert.matches(c[2], err, 1, true)
    end
  end)

  it("is given only to a result() that takes one", function()
    assert.is_false(context.wants(function(s, params) return s, params end))
    assert.is_true(context.wants(function(s, params, ctx) return s, params, ctx end))
    assert.is_true(context.wants(function(...) return ... end))
  end)
end)

describe("alerts in a worker", function()
  local w
  after_each(function()
    if w then w:close() end
    w = nil
    helper.remove_files()
  end)

  local function detector()
    return helper.write_file("busy.lua", [[
local hf = require "hostflow"
return hf.analysis {
  name = "busy",
  state = { flows = hf.counter() },
  update = function(s) s.flows = s.flows + 1 end,
  result = function(s, _, ctx)
    if s.flows >= 2 then
      ctx:alert { rule = "busy_host", observed = s.flows, details = { first = ctx:host() } }
    end
    return s.flows
  end,
}
]])
  end

  it("raises from result() as the window closes, beside the host's field", function()
    w = helper.worker { files = { detector() } }
    w:feed { { src = "10.0.0.1" }, { src = "10.0.0.1" }, { src = "10.0.0.2" } }
    assert.same({ ["10.0.0.1"] = '"busy":2', ["10.0.0.2"] = '"busy":1' }, w:records())
    local r = w:alert_records()
    assert.equal(1, #r)
    assert.matches('"id":"10.0.0.1/busy_host/1764165600000"', r[1], 1, true)
    assert.matches('"window":{"start_ms":1764165600000,"end_ms":1764165610000,"granularity_s":10}', r[1], 1, true)
    assert.matches('"expected":null,"score":null,"details":{"first":"10.0.0.1"}}$', r[1])
  end)

  it("leaves the loop of a result() without a context as it was", function()
    w = helper.worker { files = { helper.analysis_path("total") } }
    w:feed { { src = "10.0.0.1" } }
    w:records()
    local e = w.runtime.sets[0].list[1]
    assert.is_false(context.wants(e.a.spec.result))
  end)
end)
