-- The runtime as a worker runs it (hostflow.runtime.start, driven by the
-- spec helper as core/engine/worker.c drives it): records, their field
-- order, and fields that keys do not list.
local helper = require "tests.spec.helper"

describe("a worker's runtime", function()
  local w
  after_each(function()
    if w then w:close() end
    w = nil
    helper.remove_files()
  end)

  local function files(names)
    local out = {}
    for i, n in ipairs(names) do out[i] = helper.analysis_path(n) end
    return out
  end

  it("writes the shipped analyses' fields as hostflow run does", function()
    w = helper.worker { files = files(helper.ANALYSES) }
    w:feed {
      { src = "10.0.0.1", dst = "192.0.2.1", dport = 443, packets = 3, bytes = 300, tcp_flags = 0x12,
        start_ms = 1764165600000, end_ms = 1764165601000 },
      { src = "10.0.0.1", dst = "192.0.2.2", dport = 80, proto = 17, packets = 1, bytes = 60,
        start_ms = 1764165600500, end_ms = 1764165601000 },
    }
    assert.same({ ["10.0.0.1"] = '"total":{"flow":2,"packets":4,"bytes":360},"avg_flow_duration":0.75,'
                  .. '"dport_count":2,"peer_number":2,'
                  .. '"tcp_flags":{"FIN":0,"SYN":1,"RST":0,"PSH":0,"ACK":1,"URG":0,"ECE":0,"CWR":0}' },
                w:records(1764165601000))
    assert.matches("analyses: total v1, avg_flow_duration v1", w.log[1], 1, true)
  end)

  describe("keys", function()
    local function probe(result)
      return helper.write_file("probe.lua", string.format([[
local hf = require "hostflow"
return hf.analysis {
  name = "probe",
  state = { flows = hf.counter(), bytes = hf.sum() },
  keys = { "flows" },
  update = function(s, flow) s.flows = s.flows + 1; s.bytes = s.bytes + flow.bytes end,
  result = %s,
}
]], result))
    end

    it("orders the fields listed; a field not listed follows, by name: none is lost", function()
      w = helper.worker { files = { probe([[function(s)
    local t = { flows = s.flows }
    if s.bytes > 150 then t.bytes = s.bytes; t.big = true end
    return t
  end]]) } }
      w:feed { { src = "10.0.0.1", bytes = 100 }, { src = "10.0.0.1", bytes = 100 }, { src = "10.0.0.2", bytes = 100 } }
      assert.same({ ["10.0.0.1"] = '"probe":{"flows":2,"big":true,"bytes":200}',
                    ["10.0.0.2"] = '"probe":{"flows":1}' }, w:records())
      assert.is_false(w.runtime.loaded[w.runtime.sets[0].list[1].a.file].keys_closed)
    end)

    it("writes a result() of listed keys only, made in one go, without looking for others", function()
      w = helper.worker { files = { probe("function(s) return { flows = s.flows } end") } }
      w:feed { { src = "10.0.0.1" } }
      assert.same({ ["10.0.0.1"] = '"probe":{"flows":1}' }, w:records())
      assert.is_true(w.runtime.sets[0].list[1].a.keys_closed)
    end)
  end)

  describe("the order of the fields", function()
    local function named(name, order)
      return helper.write_file(name .. ".lua", string.format([[
local hf = require "hostflow"
return hf.analysis {
  name = %q,%s
  state = { n = hf.counter() },
  update = function(s) s.n = s.n + 1 end,
  result = function(s) return s.n end,
}
]], name, order and ("\n  order = " .. order .. ",") or ""))
    end

    local function field_names(record)
      local names = {}
      for name in record:gmatch('"([%w_]+)":') do names[#names + 1] = name end
      return names
    end

    it("is Stream4Flow's for the shipped analyses when the configuration gives none", function()
      w = helper.worker { files = files { "tcp_flags", "peer_number", "total", "dport_count", "avg_flow_duration" } }
      w:feed { { src = "10.0.0.1", proto = 17 } }
      assert.same({ "total", "flow", "packets", "bytes", "avg_flow_duration", "dport_count", "peer_number" },
                  field_names(w:records()["10.0.0.1"]))
    end)

    it("is the configuration's (analyses.order) for the analyses it names", function()
      w = helper.worker { files = { named("a"), named("b"), named("c") }, order = { "c", "a", "b" } }
      w:feed { { src = "10.0.0.1" } }
      assert.same({ "c", "a", "b" }, field_names(w:records()["10.0.0.1"]))
    end)

    it("puts the analyses it does not name after them: by their own order, then by name", function()
      w = helper.worker { files = { named("zeta"), named("beta", 5), named("alpha"), named("first"),
                                    named("gamma", 1) },
                          order = { "first", "missing" } }
      w:feed { { src = "10.0.0.1" } }
      assert.same({ "first", "gamma", "beta", "alpha", "zeta" }, field_names(w:records()["10.0.0.1"]))
    end)

    it("refuses an order that is not a list of names", function()
      assert.has_error(function() helper.worker { files = { named("a") }, order = "a" } end,
                       "analyses.order: expected a list of analysis names")
      assert.has_error(function() helper.worker { files = { named("a") }, order = { "a", 3 } } end,
                       "analyses.order[2]: expected an analysis name, got number")
    end)
  end)

  describe("parameters", function()
    local BIG = [[
local hf = require "hostflow"
return hf.analysis {
  name = "big",
  params = { threshold = 1000, label = "big" },
  state = { n = hf.counter(), big = hf.counter() },
  keys = { "label", "n", "big" },
  update = function(s, flow, params)
    s.n = s.n + 1
    if flow.bytes >= params.threshold then s.big = s.big + 1 end
  end,
  result = function(s, params) return { label = params.label, n = s.n, big = s.big } end,
}
]]
    local T1, T2 = 1764165600000, 1764165630000        -- two windows, 30 s apart
    local FLOWS = { { src = "10.0.0.1", bytes = 100 }, { src = "10.0.0.1", bytes = 5000 } }
    local function at(t, flows)
      local out = {}
      for i, f in ipairs(flows) do out[i] = helper.copy(f); out[i].start_ms, out[i].end_ms = t, t end
      return out
    end

    it("gives update() and result() the declared defaults", function()
      w = helper.worker { files = { helper.write_file("big.lua", BIG) } }
      w:feed(at(T1, FLOWS))
      assert.same({ ["10.0.0.1"] = '"big":{"label":"big","n":2,"big":1}' }, w:records(T1))
    end)

    it("gives them the configuration's values (opts.params)", function()
      w = helper.worker { files = { helper.write_file("big.lua", BIG) },
                          params = { big = { threshold = 50, label = "over 50" } } }
      w:feed(at(T1, FLOWS))
      assert.same({ ["10.0.0.1"] = '"big":{"label":"over 50","n":2,"big":2}' }, w:records(T1))
    end)

    it("takes them as the Lua text the C side keeps them in, at start and at a reload", function()
      local big = helper.write_file("big.lua", BIG)
      w = helper.worker { files = { big }, params = '{big={label="text",threshold=50,},}' }
      w:feed(at(T1, FLOWS))
      assert.same({ ["10.0.0.1"] = '"big":{"label":"text","n":2,"big":2}' }, w:records(T1))
      assert.equal("new", w:control("prepare", 1, { big }, false, '{big={threshold=10,},}')[1].state)
      local res = w:control("prepare", 2, { big }, false, '{big=')
      assert.equal("failed", res[1].state)
      assert.matches("^analyses.params: cannot be read: ", res[1].why)
    end)

    it("refuses at start a value of another type or an unknown name, naming analysis, key and what was expected",
       function()
      local path = helper.write_file("big.lua", BIG)
      assert.has_error(function() helper.worker { files = { path }, params = { big = { threshold = "50" } } } end,
                       path .. ': analyses.params.big.threshold: expected a number, as its default 1000, '
                       .. 'got a string ("50")')
      assert.has_error(function() helper.worker { files = { path }, params = { bgi = { threshold = 5 } } } end,
                       "analyses.params.bgi: no analysis named 'bgi'")
      assert.has_error(function() helper.worker { files = { path }, params = { big = 5 } } end,
                       "analyses.params.big: expected a table of parameter values, got number")
    end)

    it("reloads changed values as a changed file: checked, then at the boundary, logged", function()
      local big, total = helper.write_file("big.lua", BIG), helper.analysis_path("total")
      w = helper.worker { files = { big, total } }
      w:feed(at(T1, FLOWS))
      local res = w:control("prepare", 1, { big, total }, false, { big = { threshold = 50 } })
      assert.same({ "new", "same" }, { res[1].state, res[2].state })
      assert.is_true(w:control("commit", 1, { true, false }, T2, false))
      assert.matches("^big: reloaded %(params%), version 1: threshold = 50 %(was 1000%), for windows from ",
                     w.log[#w.log])
      w:feed(at(T1, FLOWS)):feed(at(T2, FLOWS))
      assert.matches('"big":{"label":"big","n":4,"big":2}', w:records(T1)["10.0.0.1"], 1, true)  -- old window
      assert.matches('"big":{"label":"big","n":2,"big":2}', w:records(T2)["10.0.0.1"], 1, true)  -- new
    end)

    it("keeps the values when a reload gives none, and is the same when they do not change", function()
      local big = helper.write_file("big.lua", BIG)
      w = helper.worker { files = { big }, params = { big = { threshold = 50 } } }
      assert.equal("same", w:control("prepare", 1, { big }, true, nil)[1].state)
      assert.equal("same", w:control("prepare", 2, { big }, true, { big = { threshold = 50 } })[1].state)
      assert.equal("new", w:control("prepare", 3, { big }, true, {})[1].state)        -- back to the defaults
    end)

    it("refuses a bad value at a reload, naming it, and the running version keeps its values", function()
      local big = helper.write_file("big.lua", BIG)
      w = helper.worker { files = { big } }
      local res = w:control("prepare", 1, { big }, false, { big = { threshold = "high" } })
      assert.equal("failed", res[1].state)
      assert.equal(big .. ': analyses.params.big.threshold: expected a number, as its default 1000, got a string '
                   .. '("high")', res[1].why)
      res = w:control("prepare", 2, { big }, false, { big = { label = 7 }, other = { x = 1 } })
      assert.equal("failed", res[1].state)
      assert.matches("analyses.params.other: no analysis named 'other' (ignored)", w.log[#w.log], 1, true)
      w:feed(at(T1, FLOWS))
      assert.same({ ["10.0.0.1"] = '"big":{"label":"big","n":2,"big":1}' }, w:records(T1))
    end)
  end)
end)
