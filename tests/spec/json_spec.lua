-- hostflow.json: Lua values into the JSON text of host records.  Objects:
-- an analysis's declared keys first (top level, in order), then every other
-- key sorted; arrays for sequences.
require "tests.spec.helper"
local ffi = require "ffi"
local json = require "hostflow.json"

local encode = json.tostring

describe("json encoder", function()
  describe("numbers", function()
    it("writes an empty table as {}, and an empty list marked by json.list as []", function()
      assert.equal("{}", encode({}))
      assert.equal("[]", encode(json.list({})))
      assert.equal('{"ports":[],"n":[1,2]}', encode({ ports = json.list({}), n = json.list({ 1, 2 }) },
                                                   { "ports", "n" }))
    end)

    it("writes integers without a fraction or an exponent", function()
      assert.equal("0", encode(0))
      assert.equal("42", encode(42))
      assert.equal("-7", encode(-7))
      assert.equal("42", encode(42.0))
      assert.equal("123456789012", encode(123456789012))
      assert.equal("9007199254740991", encode(2 ^ 53 - 1))
    end)

    it("writes -0 as 0", function()
      assert.equal("0", encode(-0.0))
    end)

    it("writes floats so that they read back as the same number", function()
      for _, v in ipairs { 0.1, 1.234, 1 / 3, 2 / 3, -2.5e-8, 1e300, 5e-324, math.pi, 2 ^ 53, 2 ^ 63,
                           1.7976931348623157e308, 123456.789 } do
        local text = encode(v)
        assert.equal(v, tonumber(text), text)
        assert.matches("^%-?[%d.]+[eE]?[-+]?%d*$", text)
      end
    end)

    it("writes short decimals shortly", function()
      assert.equal("0.1", encode(0.1))
      assert.equal("1.234", encode(1.234))
      assert.equal("2.5", encode(2.5))
    end)

    it("writes NaN and the infinities as null", function()
      assert.equal("null", encode(0 / 0))
      assert.equal("null", encode(math.huge))
      assert.equal("null", encode(-math.huge))
      assert.equal("[1,null,null,2]", encode({ 1, math.huge, 0 / 0, 2 }))
    end)

    it("writes 64-bit integer cdata as numbers", function()
      assert.equal("1764165610000", encode(ffi.new("int64_t", 1764165610000)))
      assert.equal("7", encode(ffi.new("uint64_t", 7)))
    end)
  end)

  describe("strings", function()
    it("quotes strings and escapes quotes and backslashes", function()
      assert.equal('"plain"', encode("plain"))
      assert.equal('""', encode(""))
      assert.equal([["say \"hi\""]], encode('say "hi"'))
      assert.equal([["C:\\flows\\a.json"]], encode([[C:\flows\a.json]]))
    end)

    it("escapes control characters as \\u00XX", function()
      assert.equal([["a\u000ab\u0009c\u000d"]], encode("a\nb\tc\r"))
      assert.equal([["\u0000\u0001\u001f"]], encode("\0\1\31"))
    end)

    it("keeps valid UTF-8 as it is", function()
      assert.equal('"é → 😀"', encode("é → 😀"))
    end)

    it("writes each byte of invalid UTF-8 as \\ufffd", function()
      assert.equal([["a\ufffdb"]], encode("a\255b"))
      assert.equal([["\ufffd\ufffd"]], encode("\192\128"))         -- overlong encoding of NUL
      assert.equal([["x\ufffd\ufffd"]], encode("x\226\130"))       -- truncated sequence
      assert.equal([["\ufffd\ufffd\ufffd"]], encode("\237\160\128")) -- a UTF-16 surrogate
    end)
  end)

  describe("other scalars", function()
    it("writes booleans and nil", function()
      assert.equal("true", encode(true))
      assert.equal("false", encode(false))
      assert.equal("null", encode(nil))
    end)
  end)

  describe("arrays and objects", function()
    it("writes a sequence as an array", function()
      assert.equal('[1,"two",true,[3]]', encode({ 1, "two", true, { 3 } }))
    end)

    it("writes a table with other keys as an object", function()
      assert.equal('{"a":1}', encode({ a = 1 }))
      assert.equal('{"1":"x","n":2}', encode({ "x", n = 2 }))
    end)

    it("writes an empty table as an object", function()
      assert.equal("{}", encode({}))
      assert.equal('{"list":{}}', encode({ list = {} }))
    end)

    it("writes a table with holes as an object of its keys", function()
      local t = { 1, 2, 3 }
      t[2] = nil
      assert.equal('{"1":1,"3":3}', encode(t))
    end)

    it("writes number keys as text", function()
      assert.equal('{"1.5":"a","80":"b"}', encode({ [80] = "b", [1.5] = "a" }))
    end)

    it("sorts the keys of an object", function()
      assert.equal('{"a":1,"b":2,"c":3,"d":4}', encode({ d = 4, b = 2, c = 3, a = 1 }))
    end)

    it("sorts number keys as their text", function()
      assert.equal('{"10":"b","2":"a"}', encode({ [2] = "a", [10] = "b" }))
    end)

    it("writes the declared keys of the top object first, in their order, then the others by name", function()
      assert.equal('{"z":1,"a":2,"b":3,"c":4}', encode({ a = 2, b = 3, c = 4, z = 1 }, { "z", "a" }))
      assert.equal('{"flow":12,"packets":340,"bytes":123456}',
                   encode({ bytes = 123456, flow = 12, packets = 340 }, { "flow", "packets", "bytes" }))
      assert.equal('{"x":1,"1":5,"b":2}', encode({ [1] = 5, b = 2, x = 1 }, { "x" }))
    end)

    it("skips declared keys the object does not have", function()
      assert.equal('{"b":2,"a":1}', encode({ a = 1, b = 2 }, { "missing", "b" }))
      assert.equal('{"a":1}', encode({ a = 1 }, { "missing" }))
      assert.equal("{}", encode({}, { "missing" }))
    end)

    it("writes exactly the declared keys when told the object has no other (json.only)", function()
      assert.equal('{"z":1,"a":2}', encode({ a = 2, z = 1 }, json.only { "z", "a" }))
      assert.equal('{"a":2}', encode({ a = 2 }, json.only { "z", "a" }))
      local keys = { "z", "a" }
      assert.equal(json.only(keys), json.only(keys))     -- one encoder per list
      assert.same(keys, json.only(keys))
    end)

    it("refuses a number key and the same key as text, listed or not", function()
      assert.has_error(function() encode({ [1] = 5, ["1"] = 6 }, { "1" }) end,
                       'cannot encode a table with both 1 and "1" as keys')
      assert.has_error(function() encode({ [1] = 5, ["1"] = 6, x = 1 }, { "x" }) end,
                       'cannot encode a table with both 1 and "1" as keys')
    end)

    it("writes the fields asked for in their order, a missing one as null (encode_fields)", function()
      assert.equal('{"z":1,"a":null,"t":{"x":[1,2]}}',
                   json.fields_tostring({ a = nil, z = 1, t = { x = { 1, 2 } }, other = 3 }, { "z", "a", "t" }))
      assert.equal("{}", json.fields_tostring({ a = 1 }, {}))
    end)

    it("applies the declared keys to the top object only, and sorts the keys below it", function()
      assert.equal('{"y":{"a":1,"y":2},"x":0}', encode({ x = 0, y = { y = 2, a = 1 } }, { "y", "x" }))
    end)

    it("is byte-for-byte the same for equal tables however they were built", function()
      local a, b = {}, {}
      for i = 1, 50 do a["k" .. i] = i end
      for i = 50, 1, -1 do b["k" .. i] = i end
      assert.equal(encode(a), encode(b))
    end)

    it("raises an error for a table that has a key both as a number and as text", function()
      assert.has_error(function() encode({ [1] = "a", ["1"] = "b", x = 1 }) end,
                       'cannot encode a table with both 1 and "1" as keys')
    end)
  end)

  describe("limits", function()
    local function nested(depth)
      local v = 1
      for _ = 1, depth do v = { v } end
      return v
    end

    it("writes tables nested 32 levels deep", function()
      assert.equal(string.rep("[", 32) .. "1" .. string.rep("]", 32), encode(nested(32)))
    end)

    it("raises an error for tables nested deeper than 32 levels", function()
      assert.has_error(function() encode(nested(33)) end, "result nested deeper than 32 levels")
    end)

    it("raises an error for a table that contains itself", function()
      local t = { name = "loop" }
      t.self = t
      assert.has_error(function() encode(t) end, "result nested deeper than 32 levels")
    end)

    local WHY = " as JSON: a result holds numbers, strings, booleans and tables of them"
    it("raises an error for functions, also inside tables", function()
      assert.has_error(function() encode(print) end, "cannot encode a function" .. WHY)
      assert.has_error(function() encode({ ok = 1, f = function() end }) end, "cannot encode a function" .. WHY)
    end)

    it("raises an error for coroutines, userdata and other cdata, naming their types", function()
      assert.has_error(function() encode(coroutine.create(print)) end, "cannot encode a coroutine" .. WHY)
      assert.has_error(function() encode(io.stdout) end, "cannot encode a userdata" .. WHY)
      assert.has_error(function() encode(ffi.new("int[1]")) end, "cannot encode a C value (int [1])" .. WHY)
      assert.has_error(function() encode(ffi.new("hf_topk")) end, "cannot encode an hf.topk()" .. WHY
                       .. "; return its :items()")
    end)

    it("raises an error for keys that are neither strings nor numbers", function()
      assert.has_error(function() encode({ [true] = 1 }) end, "cannot encode a table key of type boolean")
    end)

    it("can encode again after an error", function()
      pcall(encode, { f = print })
      assert.equal('{"a":[1,2]}', encode({ a = { 1, 2 } }))
    end)
  end)
end)
