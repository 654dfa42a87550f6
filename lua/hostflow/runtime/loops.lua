-- hostflow.runtime.loops: the compiled loops of one analysis.
--
-- Each analysis gets two loops of its own, compiled from the source below
-- once per analysis version and place in a layout (the state's offset in
-- the rows, its index in the layout), so that LuaJIT specialises each loop
-- to that analysis's update() or result() and to constants it can fold:
--
--   run(flows, rows, first, n)          update() over flows[first .. n-1],
--                                       the state of flow i in row i
--   emit(w, fr, buf, first, n, check)   result() of hosts first .. n-1 of
--                                       window w, encoded as JSON into buf,
--                                       host i's text at fr's off[i], len[i]
--
-- The version's parameters (its read-only view, hostflow.params) are an
-- upvalue of both, the same table for every call: update(s, flow, params),
-- result(s, params).  A change of parameters makes a new version, with
-- loops of its own.
--
-- Both write the index they are at to pos[0] before each call, so that the
-- runtime (isolation.lua) can resume after a flow or host that raised an
-- error.  The window and the fragments are reached through
-- hostflow.runtime.job's accessors, which LuaJIT inlines.

local json = require "hostflow.json"
local schema = require "hostflow.schema"
local job = require "hostflow.runtime.job"
local context = require "hostflow.context"

local M = {}

-- update() over a batch.
M.RUN_SRC = [[
local update, T, off, pos, params = ...
local cast = require("ffi").cast
return function(flows, rows, first, n)
  for i = first, n - 1 do
    pos[0] = i
    update(cast(T, rows[i] + off), flows[i], params)
  end
end
]]

-- result() over the hosts of a window.  check: some rows of the window leave
-- this analysis out (their omit bits).  A result() that takes a context
-- (hostflow.context: result(s, params, ctx)) gets EMIT_CTX_SRC's loop, which
-- tells the context the host's index first; the others' loop is untouched.
M.EMIT_SRC = [[
local result, T, off, pos, encode, keys, bitv, row_of, omitted, frag_open, frag_close, params = ...
local cast = require("ffi").cast
return function(w, fr, buf, first, n, check)
  for i = first, n - 1 do
    pos[0] = i
    local start = buf.len
    frag_open(fr, i, start)
    local row = row_of(w, i)
    if not (check and omitted(w, i, bitv)) then
      local v = result(cast(T, row + off), params)
      if v ~= nil then encode(buf, v, keys, 0) end
    end
    frag_close(fr, i, buf.len - start)
  end
end
]]

M.EMIT_CTX_SRC = [[
local result, T, off, pos, encode, keys, bitv, row_of, omitted, frag_open, frag_close, params, ctx = ...
local cast = require("ffi").cast
return function(w, fr, buf, first, n, check)
  for i = first, n - 1 do
    pos[0] = i
    local start = buf.len
    frag_open(fr, i, start)
    local row = row_of(w, i)
    if not (check and omitted(w, i, bitv)) then
      ctx.i = i
      local v = result(cast(T, row + off), params, ctx)
      if v ~= nil then encode(buf, v, keys, 0) end
    end
    frag_close(fr, i, buf.len - start)
  end
end
]]

local function compile(src, name, ...)
  return assert(loadstring(src, "=" .. name))(...)
end

--- The loops of analysis a (a loaded version: a.spec, a.schema, a.params)
-- with its state at offset off of the rows and at position index of its
-- layout (bit 1 << index in the omit bits); pos is the runtime's int[1];
-- ctx the analysis's context (given to a result() that takes one).  The
-- same analysis at the same place gets the same functions again, with the
-- traces LuaJIT has compiled for them.
function M.of(a, off, index, bitv, pos, ctx)
  local key = off .. "/" .. index
  a.loops = a.loops or {}
  local loops = a.loops[key]
  if loops then return loops end
  local s, spec = a.schema, a.spec
  -- a result() that can return no key outside `keys` gets the encoder that
  -- does not look for others (hostflow.shape, json.only)
  local keys = spec.keys and (a.keys_closed and json.only(spec.keys) or spec.keys)
  loops = {
    run = compile(M.RUN_SRC, "update:" .. a.name, spec.update, s.ptr, off, pos, a.params.view),
    emit = compile(spec.result and ctx and context.wants(spec.result) and M.EMIT_CTX_SRC or M.EMIT_SRC,
                   "result:" .. a.name, spec.result or schema.default_result(s),
                   s.ptr, off, pos, json.encode, keys, bitv,
                   job.row, job.omitted, job.frag_open, job.frag_close, a.params.view, ctx),
  }
  a.loops[key] = loops
  return loops
end

return M
