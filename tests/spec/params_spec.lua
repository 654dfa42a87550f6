-- Parameters of an analysis: declared with defaults (hf.analysis), set by
-- the configuration (hostflow.params.resolve), read-only where the analysis
-- reads them (hostflow.params.view), and in hostflow.testing.
local helper = require "tests.spec.helper"
local hf = require "hostflow"
local params = require "hostflow.params"
local testing = require "hostflow.testing"

-- A valid analysis table with the parameters declared.
local function spec(declared)
  return { name = "probe", params = declared, state = { n = hf.counter() },
           update = function(s) s.n = s.n + 1 end }
end

describe("analysis parameters", function()
  describe("the declaration", function()
    it("accepts numbers, strings, booleans and lists of one of those as defaults", function()
      assert.is_true(hf.validate(spec { threshold = 20, label = "x", strict = false, ports = { 22, 23 },
                                         names = { "a" }, none = {} }))
    end)

    it("refuses a default of another kind, naming the parameter", function()
      for _, bad in ipairs { { a = 1 }, { 1, "two" }, { { 1 } }, print } do
        local ok, err = hf.validate(spec { p = bad })
        assert.is_nil(ok)
        assert.matches("^analysis 'probe': params%.p must be a number, a string, a boolean or a list of one", err)
      end
    end)

    it("refuses a parameter name that is not a name, and params that are not a table", function()
      assert.matches("params: a parameter name is a letter", select(2, hf.validate(spec { ["a b"] = 1 })))
      assert.matches("params must be a table", select(2, hf.validate(spec(42))))
      assert.has_error(function() hf.analysis(spec { [1] = 5 }) end)
    end)
  end)

  describe("the configuration's values (resolve)", function()
    local s = spec { threshold = 20, label = "big", ports = { 22, 23 }, strict = false, any = {} }

    it("are the defaults when the configuration sets none", function()
      assert.same({ threshold = 20, label = "big", ports = { 22, 23 }, strict = false, any = {} },
                  params.resolve(s, nil))
    end)

    it("take the place of the defaults they name, of the declared type", function()
      local v = params.resolve(s, { threshold = 50, ports = { 80 }, strict = true, any = { "x" } })
      assert.same({ threshold = 50, label = "big", ports = { 80 }, strict = true, any = { "x" } }, v)
    end)

    it("are copies: the configuration's tables are not the analysis's", function()
      local conf = { ports = { 80 } }
      local v = params.resolve(s, conf)
      assert.are_not.equal(conf.ports, v.ports)
      assert.are_not.equal(s.params.ports, params.resolve(s, nil).ports)
    end)

    it("refuse a parameter the analysis does not declare, naming the analysis, the key and its parameters", function()
      assert.same({ nil, "analyses.params.probe.treshold: probe has no parameter treshold "
                         .. "(it has any, label, ports, strict, threshold)" },
                  { params.resolve(s, { treshold = 5 }) })
      assert.same({ nil, "analyses.params.other.x: other has no parameter x (it declares none)" },
                  { params.resolve({ name = "other" }, { x = 1 }) })
    end)

    it("refuse a value of another type, naming the analysis, the key and what was expected", function()
      assert.same({ nil, 'analyses.params.probe.threshold: expected a number, as its default 20, got a string ("50")' },
                  { params.resolve(s, { threshold = "50" }) })
      assert.same({ nil, "analyses.params.probe.ports: expected a list of numbers, as its default [22,23], "
                         .. "got a list of strings" },
                  { params.resolve(s, { ports = { "ssh" } }) })
      assert.same({ nil, "analyses.params.probe.ports: expected a list of numbers, as its default [22,23], "
                         .. "got a number (22)" },
                  { params.resolve(s, { ports = 22 }) })
      assert.same({ nil, "analyses.params.probe: expected a table of parameter values, got number" },
                  { params.resolve(s, 5) })
    end)
  end)

  describe("what the analysis reads (view)", function()
    local v = params.view(params.resolve(spec { threshold = 20, ports = { 22, 23 } }, nil))

    it("reads the declared values, and a list as a plain list", function()
      assert.equal(20, v.threshold)
      assert.equal(2, #v.ports)
      local seen = {}
      for _, p in ipairs(v.ports) do seen[#seen + 1] = p end
      assert.same({ 22, 23 }, seen)
    end)

    it("raises an error for a parameter not declared (a typo is not a nil)", function()
      assert.has_error(function() return v.treshold end, "no parameter treshold (declared: ports, threshold)")
    end)

    it("raises an error for a write", function()
      assert.has_error(function() v.threshold = 5 end, "params are read-only: params.threshold cannot be set")
      assert.has_error(function() v.other = 5 end, "params are read-only: params.other cannot be set")
      assert.equal(20, v.threshold)
    end)
  end)

  describe("in hostflow.testing", function()
    after_each(helper.remove_files)

    local function big()
      return helper.write_file("big.lua", [[
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
]])
    end

    it("runs an analysis with its defaults", function()
      local t = testing.load(big())
      t:feed { bytes = 100 }:feed { bytes = 5000 }
      assert.equal('{"label":"big","n":2,"big":1}', t:json("10.0.0.1"))
    end)

    it("runs it with the values given, as the configuration would set them", function()
      local t = testing.load(big(), { params = { threshold = 50, label = "over 50" } })
      t:feed { bytes = 100 }:feed { bytes = 5000 }
      assert.same({ label = "over 50", n = 2, big = 2 }, t:result("10.0.0.1"))
    end)

    it("refuses values the analysis does not declare, as hostflow does", function()
      assert.has_error(function() testing.load(big(), { params = { threshold = "50" } }) end,
                       'analyses.params.big.threshold: expected a number, as its default 1000, got a string ("50")')
    end)
  end)
end)
