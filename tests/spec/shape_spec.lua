-- hostflow.shape: whether a result() can return a key outside `keys`, read
-- from its bytecode.  A wrong "no" costs speed; a wrong "yes" would lose a
-- field, so every doubt must answer no.
local helper = require "tests.spec.helper"
local shape = require "hostflow.shape"
local runtime = require "hostflow.runtime"

local K = { "FIN", "SYN", "x" }

describe("hostflow.shape", function()
  describe("closed", function()
    it("is true for a table made and returned in one go with listed keys only", function()
      assert.is_true(shape.closed(function(s) return { FIN = s.FIN, SYN = s.SYN, x = 1 } end, K))
      assert.is_true(shape.closed(function(s) return { FIN = s.FIN } end, K))
      assert.is_true(shape.closed(function(s) local t = {} t.FIN = s.a return t end, K))
      assert.is_true(shape.closed(function(s) return { FIN = s.peers:count(), SYN = math.floor(s.x) } end, K))
    end)

    it("is true for returns of nothing and of constants beside such tables", function()
      assert.is_true(shape.closed(function(s) if s.tcp == 0 then return nil end return { FIN = 1 } end, K))
      assert.is_true(shape.closed(function() return 42 end, K))
      assert.is_true(shape.closed(function() end, K))
    end)

    it("is true for the shipped analyses that declare keys", function()
      for _, name in ipairs(helper.ANALYSES) do
        local spec = assert(runtime.load_file(helper.analysis_path(name)))
        if spec.keys then assert.is_true(shape.closed(spec.result, spec.keys), name) end
      end
    end)

    it("is false for a key not listed, constant or not", function()
      assert.is_false(shape.closed(function(s) return { FIN = s.FIN, other = 1 } end, K))
      assert.is_false(shape.closed(function(s) return { FIN = s.FIN, other = s.o } end, K))
      assert.is_false(shape.closed(function() return { 1, 2 } end, K))
    end)

    it("is false for a table changed across a branch, in a loop, or under a computed key", function()
      assert.is_false(shape.closed(function(s) local t = { FIN = 1 } if s.x then t.other = 2 end return t end, K))
      assert.is_false(shape.closed(function() local t = { FIN = 1 } for i = 1, 3 do t.x = i end return t end, K))
      assert.is_false(shape.closed(function(s) local t = { FIN = 1 } t[s.k] = 2 return t end, K))
    end)

    it("is false for a table something else can reach: a call, an alias, a closure, a metatable", function()
      assert.is_false(shape.closed(function(s) local t = { FIN = 1 } s.g(t) return t end, K))
      assert.is_false(shape.closed(function() local t = { FIN = 1 } local u = t u.o = 1 return t end, K))
      assert.is_false(shape.closed(function()
        local t = { FIN = 1 }
        local f = function() t.o = 1 end
        f()
        return t
      end, K))
      assert.is_false(shape.closed(function(s) return setmetatable({ FIN = 1 }, s) end, K))
    end)

    it("is false for values from elsewhere, tail calls, C functions and no keys", function()
      assert.is_false(shape.closed(function(s) return s.cached end, K))
      assert.is_false(shape.closed(function(s) return s.f(s) end, K))
      assert.is_false(shape.closed(print, K))
      assert.is_false(shape.closed(nil, K))
      assert.is_false(shape.closed(function() return { FIN = 1 } end, nil))
    end)
  end)
end)
