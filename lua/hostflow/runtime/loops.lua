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
-- What an analysis gets cannot reach past itself: the flow is read-only
-- (const hf_flow), and the state a reference to the host's row (indexing
-- it with a number is an error, where a pointer would reach other rows).
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
local update, T, off, pos, params, received = ...
local ffi = require("ffi")
local cast, CF = ffi.cast, ffi.typeof("const hf_flow *")
return function(flows, rows, first, n)
  flows = cast(CF, flows)
  for i = first, n - 1 do
    pos[0] = i
    update(cast(T, rows[i] + off)[0], flows[i], params, received)
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
      local v = result(cast(T, row + off)[0], params)
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
      local v = result(cast(T, row + off)[0], params, ctx)
      if v ~= nil then encode(buf, v, keys, 0) end
    end
    frag_close(fr, i, buf.len - start)
  end
end
]]

-- update() over a batch, for an analysis that declares when(): its state is
-- made for a host by the first flow when() takes (sparse: out of the rows).
M.RUN_SPARSE_SRC = [[
local update, T, when, pos, params, sparse, job, index, received, side = ...
local ffi = require("ffi")
local cast, CF = ffi.cast, ffi.typeof("const hf_flow *")
return function(flows, rows, first, n)
  flows = cast(CF, flows)
  for i = first, n - 1 do
    pos[0] = i
    local f = flows[i]
    if when(f, params, received) then
      local st = sparse(job, rows, i, f, index, side)
      if st ~= nil then update(cast(T, st)[0], f, params, received) end
    end
  end
end
]]

-- result() of the hosts that have a sparse state, over the window's slots
-- first .. n-1 (pos: the slot); the others have no field.  ctx, when given,
-- is told the host's index before each call, and passed to result().
M.EMIT_SPARSE_SRC = [[
local result, T, pos, encode, keys, bitv, slot_of, omitted, frag_open, frag_close, params, index, ctx = ...
local cast = require("ffi").cast
return function(w, fr, buf, first, n, check)
  for k = first, n - 1 do
    pos[0] = k
    local i, idx, st = slot_of(w, k)
    if i and idx == index then
      local start = buf.len
      frag_open(fr, i, start)
      if not (check and omitted(w, i, bitv)) then
        if ctx then ctx.i = i end                -- the host, for the context
        local v = result(cast(T, st)[0], params, ctx)
        if v ~= nil then encode(buf, v, keys, 0) end
      end
      frag_close(fr, i, buf.len - start)
    end
  end
end
]]

local function compile(src, name, ...)
  return assert(loadstring(src, "=" .. name))(...)
end

--- The loops of analysis a (a loaded version: a.spec, a.schema, a.params)
-- with its state at offset off of the rows and at position index of its
-- layout (bit 1 << index in the omit bits); pos is the runtime's int[1];
-- jobc the worker's hf_job (for sparse states); ctx the analysis's context
-- (given to a result() that takes one).  The same analysis at the same
-- place gets the same functions again, with the traces LuaJIT has compiled
-- for them.
function M.of(a, off, index, bitv, pos, jobc, ctx)
  local key = off .. "/" .. index
  a.loops = a.loops or {}
  local loops = a.loops[key]
  if loops then return loops end
  local s, spec = a.schema, a.spec
  -- a result() that can return no key outside `keys` gets the encoder that
  -- does not look for others (hostflow.shape, json.only)
  local keys = spec.keys and (a.keys_closed and json.only(spec.keys) or spec.keys)
  -- a result() that takes a context (ctx, params, or ...) gets one
  local wants = spec.result and ctx and context.wants(spec.result)
  -- by = "both": update(s, flow, params, received) over the flows a host
  -- sends (received false, run) and those it receives (true, run_dst)
  local both = spec.by == "both"
  if spec.when then
    loops = {
      run = compile(M.RUN_SPARSE_SRC, "update:" .. a.name, spec.update, s.ptr, spec.when, pos,
                    a.params.view, job.sparse_state, jobc, index, both and false or nil,
                    spec.by == "dst" and 1 or 0),
      run_dst = both and compile(M.RUN_SPARSE_SRC, "update:" .. a.name, spec.update, s.ptr, spec.when, pos,
                                 a.params.view, job.sparse_state, jobc, index, true, 1),
      emit = compile(M.EMIT_SPARSE_SRC, "result:" .. a.name, spec.result or schema.default_result(s),
                     s.ptr, pos, json.encode, keys, bitv, job.sparse_slot, job.omitted,
                     job.frag_open, job.frag_close, a.params.view, index, wants and ctx or nil),
      sparse = true,
    }
  else
    loops = {
      run = compile(M.RUN_SRC, "update:" .. a.name, spec.update, s.ptr, off, pos, a.params.view,
                    both and false or nil),
      run_dst = both and compile(M.RUN_SRC, "update:" .. a.name, spec.update, s.ptr, off, pos, a.params.view,
                                 true),
      emit = compile(wants and M.EMIT_CTX_SRC or M.EMIT_SRC, "result:" .. a.name,
                     spec.result or schema.default_result(s), s.ptr, off, pos, json.encode, keys, bitv,
                     job.row, job.omitted, job.frag_open, job.frag_close, a.params.view, ctx),
    }
  end
  a.loops[key] = loops
  return loops
end

return M
