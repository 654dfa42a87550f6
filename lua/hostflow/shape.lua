-- hostflow.shape: can a function return a table with keys outside a list?
--
-- An analysis's `keys` orders the fields of its result: the listed ones
-- first, then any other in name order (hostflow.json).  Finding the others
-- means walking the result table, which makes LuaJIT allocate it -- a
-- table built and returned in one go is otherwise sunk into the trace of
-- the emit loop and never allocated (about a quarter of the worker's time
-- with the default analyses).  So the runtime asks this module, once per
-- version, whether result() can return any other key; only when it cannot
-- does the emit loop use the encoder that does not look (json.only).
--
-- The answer is read from the function's bytecode (jit.util) and errs on
-- the side of "it can": closed(fn, keys) is true only when every return
-- of fn returns
--
--   nothing, a constant, or a table made in the same straight run of code
--   ({ ... }: TNEW or TDUP, whose constant keys are in the template), into
--   which that run stores only under constant names (TSETS), and which
--   nothing else in the run reads -- no call gets it, no alias is made;
--
-- every key of those templates and stores is in keys; and fn makes no
-- closure (which could hold the table) and has no compiled loop patched
-- into its bytecode.  Anything else -- a table from elsewhere, built in a
-- loop or across a branch, or t[k] = v -- answers false, and the records
-- are the same, written by the encoder that looks.  (The debug library can
-- reach any local; an analysis that uses it that way is not covered.)

local bit = require "bit"
local jutil = require "jit.util"
local vmdef = require "jit.vmdef"

local band, rshift = bit.band, bit.rshift
local M = {}

-- Operand modes (lj_bc.h, BCMode).
local DST, BASE, VAR, RBASE, JUMP = 1, 2, 3, 4, 13

local SCALAR = { KSTR = true, KCDATA = true, KSHORT = true, KNUM = true, KPRI = true }
local PATCHED = { JFORI = true, JFORL = true, JITERL = true, JLOOP = true }

-- The instructions of fn: { op, a, b, c, d, ma, mb, mc } from pc 1, or nil
-- for a function without bytecode (a C function).
local function decode(fn)
  local info = jutil.funcinfo(fn)
  if not info.bytecodes then return nil end
  local code = {}
  for pc = 1, info.bytecodes - 1 do
    local ins, m = jutil.funcbc(fn, pc)
    if not ins then break end
    local opn = band(ins, 0xff)
    local i = {
      op = vmdef.bcnames:sub(opn * 6 + 1, opn * 6 + 6):gsub("%s+$", ""),
      a = band(rshift(ins, 8), 0xff),
      ma = band(m, 7), mb = band(rshift(m, 3), 15), mc = band(rshift(m, 7), 15),
    }
    if i.mb == 0 then
      i.d = rshift(ins, 16)
    else
      i.b, i.c = rshift(ins, 24), band(rshift(ins, 16), 0xff)
    end
    code[pc] = i
  end
  return code
end

-- How instruction i touches register r: "write", "read", or nil.  A base
-- operand (calls, varargs, KNIL, CAT's range) counts as reading and
-- writing every register from it up.
local function touch(i, r)
  local how
  local function operand(mode, v, write)
    if v == nil then return end
    if mode == BASE or mode == RBASE then
      if r >= v then how = "base" end
    elseif mode == VAR and v == r then
      how = how or "read"
    elseif mode == DST and v == r and write then
      how = how or "write"
    end
  end
  operand(i.mb, i.b, false)
  if i.mb == 0 then operand(i.mc, i.d, false) else operand(i.mc, i.c, false) end
  operand(i.ma, i.a, true)
  return how
end

-- Whether the value in register r at the return at pc is nothing but a
-- constant or a table of keys within listed (see above).
local function returns_listed(fn, code, targets, pc, r, listed)
  local stored = {}
  for p = pc - 1, 1, -1 do
    if targets[p + 1] then return false end       -- reached from elsewhere too
    local i = code[p]
    if i.mc == JUMP or i.op:match("^RET") or i.op:match("^CALLT") then return false end
    local how = touch(i, r)
    if how == "write" then
      if SCALAR[i.op] then return true end
      if i.op ~= "TNEW" and i.op ~= "TDUP" then return false end
      if i.op == "TDUP" then
        for k in pairs(jutil.funck(fn, -i.d - 1)) do
          if not listed[k] then return false end
        end
      end
      for k in pairs(stored) do
        if not listed[k] then return false end
      end
      return true
    elseif how == "read" then
      -- the one read allowed: a store under a constant name into it
      if i.op ~= "TSETS" or i.b ~= r or i.a == r then return false end
      stored[jutil.funck(fn, -i.c - 1)] = true
    elseif how == "base" then
      return false
    end
  end
  return false                                    -- a parameter or an upvalue's value
end

--- Whether every table fn can return has no key outside the list keys.
-- False when in doubt (see above).
function M.closed(fn, keys)
  if type(fn) ~= "function" or type(keys) ~= "table" then return false end
  local code = decode(fn)
  if not code then return false end
  local listed = {}
  for _, k in ipairs(keys) do listed[k] = true end
  local targets = {}
  for pc, i in ipairs(code) do
    if PATCHED[i.op] or i.op == "FNEW" then return false end
    if i.mc == JUMP then targets[pc + i.d - 0x7fff] = true end
  end
  for pc, i in ipairs(code) do
    local op = i.op
    if op == "RETM" or op == "CALLT" or op == "CALLMT" then return false end
    local first = (op == "RET1" or (op == "RET" and i.d > 1)) and i.a or nil
    if first and not returns_listed(fn, code, targets, pc, first, listed) then return false end
  end
  return true
end

return M
