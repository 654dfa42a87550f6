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
end)
