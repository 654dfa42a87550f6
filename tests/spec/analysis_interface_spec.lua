-- The analysis interface: what hf.analysis and hf.validate accept and how
-- they say what is wrong, and how runtime.load_file reports a bad file.
local helper = require "tests.spec.helper"
local hf = require "hostflow"
local runtime = require "hostflow.runtime"
local schema = require "hostflow.schema"

-- A valid analysis table with the given fields changed (false removes one).
local function spec(changes)
  local t = { name = "probe", state = { n = hf.counter() }, update = function(s) s.n = s.n + 1 end }
  for k, v in pairs(changes or {}) do
    if v == false then t[k] = nil else t[k] = v end
  end
  return t
end

-- The message hf.validate gives for a table (asserting it refuses it), and
-- checks that hf.analysis raises the same message.
local function refusal(t)
  local ok, err = hf.validate(t)
  assert.is_nil(ok, "hf.validate accepted it")
  assert.is_string(err)
  local raised_ok, raised = pcall(hf.analysis, t)
  assert.is_false(raised_ok, "hf.analysis accepted it")
  assert.matches(err, raised, 1, true)
  return err
end

describe("analysis interface", function()
  after_each(helper.remove_files)

  describe("hf.analysis", function()
    it("returns the table, marked as an analysis, with version 1 and no order by default", function()
      local t = spec()
      local a = hf.analysis(t)
      assert.equal(t, a)
      assert.equal(1, a.version)
      assert.is_nil(a.order)
      assert.is_true(getmetatable(a).__hostflow_analysis)
    end)

    it("keeps a version, an order, keys and a result given", function()
      local result = function(s) return s.n end
      local a = hf.analysis(spec { version = 3, order = 7, keys = { "n" }, result = result })
      assert.same({ 3, 7, { "n" }, result }, { a.version, a.order, a.keys, a.result })
    end)

    it("accepts every default analysis, none of which says where its field goes (order)", function()
      for _, name in ipairs(helper.ANALYSES) do
        local a, err = runtime.load_file(helper.analysis_path(name))
        assert.is_table(a, err)
        assert.equal(name, a.name)
        assert.is_true(hf.validate(a))
        assert.is_nil(a.order, name)
      end
    end)

    it("points the error at the line that called it", function()
      local ok, err = pcall(function()
        local a = hf.analysis(spec { name = false })
        return a
      end)
      assert.is_false(ok)
      assert.matches("analysis_interface_spec%.lua:%d+: name must be", err)
    end)
  end)

  describe("names", function()
    it("refuses a table without a name", function()
      assert.equal("name must be a letter, then letters, digits and _ (at most 63), got nil",
                   refusal(spec { name = false }))
    end)

    it("refuses a name that is not a string", function()
      assert.matches("got number", refusal(spec { name = 42 }))
    end)

    it("refuses names with other characters, a leading digit, or more than 63 characters", function()
      for _, bad in ipairs { "peer-number", "peer number", "9peers", "", "peers.v2", string.rep("a", 64) } do
        local err = refusal(spec { name = bad })
        assert.matches("name must be a letter, then letters, digits and _ (at most 63), got '" .. bad .. "'",
                       err, 1, true)
      end
    end)

    it("refuses a name that starts with _ (LuaJIT's C parser keeps such words)", function()
      assert.matches("name must be a letter", refusal(spec { name = "_peers" }))
    end)

    it("accepts a name of 63 characters, with digits and _", function()
      assert.is_true(hf.validate(spec { name = "peers_2" }))
      assert.is_true(hf.validate(spec { name = string.rep("a", 63) }))
    end)

    it("refuses a reserved C word as a state field name, naming the analysis and the word", function()
      for _, word in ipairs { "double", "struct", "int", "return", "uint8_t", "asm" } do
        local err = refusal(spec { state = { [word] = hf.counter() } })
        assert.equal("analysis 'probe': state field '" .. word .. "' is a reserved word; choose another", err)
      end
    end)

    it("refuses a state field name that is not a name", function()
      local err = refusal(spec { state = { ["bytes sent"] = hf.sum() } })
      assert.equal("analysis 'probe': state field must be a letter, then letters, digits and _ (at most 63), "
                   .. "got 'bytes sent'", err)
      assert.matches("state field must be a letter.* got number", refusal(spec { state = { hf.counter() } }))
    end)

    it("refuses the words LuaJIT's C parser reserves as state field names", function()
      for _, word in ipairs { "asm", "complex", "_Complex", "__attribute__", "__extension__", "__restrict" } do
        local t = spec { state = { [word] = hf.counter() } }
        local ok = hf.validate(t)
        if ok then
          -- accepted: then the state must at least build
          local built, err = pcall(schema.build, t, 64)
          assert.is_true(built, "state field '" .. word .. "' accepted, then: " .. tostring(err))
        end
      end
    end)
  end)

  describe("state", function()
    it("refuses a missing state", function()
      assert.equal("analysis 'probe': state must be a table of primitives", refusal(spec { state = false }))
    end)

    it("refuses a state that is not a table", function()
      assert.equal("analysis 'probe': state must be a table of primitives", refusal(spec { state = 0 }))
    end)

    it("refuses a state field that is not a primitive, naming it and what it is", function()
      local err = refusal(spec { state = { flows = 0 } })
      assert.equal("analysis 'probe': state.flows must be a primitive (hf.counter(), hf.sum(), hf.min(), "
                   .. "hf.max(), hf.distinct(), hf.topk(), hf.group{...}), got number", err)
      assert.matches("state%.peers must be a primitive .* got table",
                     refusal(spec { state = { peers = { kind = "distinct" } } }))
      assert.matches("state%.top must be a primitive .* got function",
                     refusal(spec { state = { top = hf.topk } }))
    end)

    it("accepts an empty state", function()
      assert.is_true(hf.validate(spec { state = {} }))
    end)
  end)

  describe("functions", function()
    it("refuses a missing update", function()
      assert.equal("analysis 'probe': update must be a function(state, flow)", refusal(spec { update = false }))
    end)

    it("refuses an update that is not a function", function()
      assert.equal("analysis 'probe': update must be a function(state, flow)",
                   refusal(spec { update = "s.n = s.n + 1" }))
    end)

    it("refuses a result that is not a function", function()
      assert.equal("analysis 'probe': result must be a function(state)", refusal(spec { result = 42 }))
    end)

    it("refuses a version or an order that is not a number", function()
      assert.equal("analysis 'probe': version must be a number", refusal(spec { version = "2" }))
      assert.equal("analysis 'probe': order must be a number", refusal(spec { order = "first" }))
    end)
  end)

  describe("keys", function()
    it("refuses keys that are not a table", function()
      assert.equal("analysis 'probe': keys must be a list of strings", refusal(spec { keys = "n" }))
    end)

    it("refuses keys that are not strings, naming the position", function()
      assert.equal("analysis 'probe': keys[2] must be a string", refusal(spec { keys = { "n", 2 } }))
    end)

    it("accepts a list of strings", function()
      assert.is_true(hf.validate(spec { keys = { "FIN", "SYN" } }))
    end)

    it("orders the result's fields: the listed first, then any other by name, none lost", function()
      local testing = require "hostflow.testing"
      local t = testing.load(hf.analysis(spec {
        keys = { "n", "a" },
        result = function(s) return { z = 1, n = s.n, b = 2 } end,
      }))
      t:feed { src = "10.0.0.1" }
      assert.equal('{"n":1,"b":2,"z":1}', t:json("10.0.0.1"))
    end)
  end)

  describe("other values", function()
    it("refuses what is not a table", function()
      for _, v in ipairs { "peer_number", 1, true } do
        assert.equal("an analysis is a table", refusal(v))
      end
      assert.same({ nil, "an analysis is a table" }, { hf.validate(nil) })
    end)
  end)

  describe("primitive constructors", function()
    it("refuses a top-k size that is not a whole number from 1 to 1024", function()
      for _, bad in ipairs { 0, 1025, 2.5, "10" } do
        assert.has_error(function() hf.topk(bad) end, "hf.topk: k must be a whole number from 1 to 1024")
      end
    end)

    it("marks what they make as primitives", function()
      for _, p in ipairs { hf.counter(), hf.counter { bits = 32 }, hf.sum(), hf.min(), hf.max(),
                           hf.distinct(), hf.topk() } do
        assert.is_true(hf.is_primitive(p))
      end
      assert.is_false(hf.is_primitive({ kind = "sum", ctype = "double", param = 0 }))
    end)
  end)

  describe("runtime.load_file", function()
    it("loads a file and records where it came from", function()
      local path = helper.write_file("ok.lua", [[
local hf = require "hostflow"
return hf.analysis { name = "ok", state = { n = hf.counter() }, update = function(s) s.n = s.n + 1 end }
]])
      local a, err = runtime.load_file(path)
      assert.is_table(a, err)
      assert.equal("ok", a.name)
      assert.equal(path, a.file)
    end)

    it("marks a plain table that is a valid analysis as one", function()
      local path = helper.write_file("plain.lua", [[
return { name = "plain", state = {}, update = function() end }
]])
      local a = assert(runtime.load_file(path))
      assert.is_true(getmetatable(a).__hostflow_analysis)
      assert.equal(1, a.version)
    end)

    it("returns nil and a message with the file and line for a syntax error", function()
      local path = helper.write_file("syntax.lua", [[
local hf = require "hostflow"
return hf.analysis {
  name = "broken",
  state = {},
  update = function(s, flow) end end,
}
]])
      local a, err = runtime.load_file(path)
      assert.is_nil(a)
      assert.matches(path .. ":5:", err, 1, true)
    end)

    it("returns nil and a message with the file and line for an error raised while loading", function()
      local path = helper.write_file("raise.lua", [[
local hf = require "hostflow"

error("no such network")
]])
      local a, err = runtime.load_file(path)
      assert.is_nil(a)
      assert.matches(path .. ":3: no such network", err, 1, true)
    end)

    it("returns nil and a message with the file and line for a runtime error while loading", function()
      local path = helper.write_file("index.lua", [[
local conf = nil
return conf.name
]])
      local a, err = runtime.load_file(path)
      assert.is_nil(a)
      assert.matches(path .. ":2: attempt to index", err, 1, true)
    end)

    it("returns nil and a message naming the file and the problem for a table hf.analysis refuses", function()
      local path = helper.write_file("badname.lua", [[
local hf = require "hostflow"
return hf.analysis {
  name = "bad name",
  state = {},
  update = function() end,
}
]])
      local a, err = runtime.load_file(path)
      assert.is_nil(a)
      assert.matches(path, err, 1, true)
      assert.matches("name must be a letter, then letters, digits and _ (at most 63), got 'bad name'", err, 1, true)
    end)

    it("returns nil and a message naming the file for a table hf.validate refuses", function()
      local path = helper.write_file("plain_bad.lua", [[
return { name = "plain", state = {}, update = 1 }
]])
      local a, err = runtime.load_file(path)
      assert.is_nil(a)
      assert.equal(path .. ": analysis 'plain': update must be a function(state, flow)", err)
    end)

    it("returns nil and a message naming the file when it returns no table", function()
      local path = helper.write_file("nothing.lua", "local x = 1\n")
      local a, err = runtime.load_file(path)
      assert.is_nil(a)
      assert.equal(path .. ": an analysis is a table", err)
    end)

    it("returns nil and a message for a file that does not exist", function()
      local a, err = runtime.load_file("/nonexistent/hostflow/none.lua")
      assert.is_nil(a)
      assert.matches("/nonexistent/hostflow/none.lua", err, 1, true)
    end)
  end)
end)
