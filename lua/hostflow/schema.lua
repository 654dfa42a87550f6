-- hostflow.schema: an analysis's declared state as a C struct.
--
-- { flows = hf.counter(), peers = hf.distinct() } becomes
--   struct { double flows; hf_distinct peers; }
-- plus the field list (kind, offset, parameter) that lets the core
-- initialise, merge and serialise the state without knowing the analysis.
-- Fields are laid out in name order, so a layout does not depend on the
-- order pairs() happens to visit them in.
--
-- A group (hf.group) is a struct of its own wrapping an hf_group, whose
-- methods know its value (base.group_type); in the field list its value's
-- schema follows it (core/prim/state.h):
--
--   { offset, GROUP, max } { value size, OF, m } { the value's m fields ... }

local ffi = require "ffi"
local M = {}

local base = require "hostflow.base"
local errors = require "hostflow.errors"

-- The field kinds, as the core numbers them (core/prim/state.h).
M.KIND = { sum = base.const("HF_FIELD_SUM"), min = base.const("HF_FIELD_MIN"),
           max = base.const("HF_FIELD_MAX"), distinct = base.const("HF_FIELD_DISTINCT"),
           topk = base.const("HF_FIELD_TOPK"), count32 = base.const("HF_FIELD_COUNT32"),
           group = base.const("HF_FIELD_GROUP"), of = base.const("HF_FIELD_OF"),
           bytes = base.const("HF_FIELD_BYTES") }

-- The struct of a table of primitives, and its flat field list (Lua
-- entries { offset, kind, param, holder }), recursing into groups.
-- what: the struct in messages ("the state", hostflow.errors).
local function layout(state, distinct_exact, what)
  local names = {}
  for k in pairs(state) do names[#names + 1] = k end
  table.sort(names)
  local decl, types, subs = { "struct {" }, {}, {}
  for _, name in ipairs(names) do
    local f = state[name]
    if f.kind == "group" then
      local sub = layout(f.of.state, distinct_exact, "a value of state." .. name)
      local holder = {}
      holder.vptr = f.of.single and ffi.typeof("$ *", ffi.typeof(f.of.state[f.of.single].ctype)) or sub.ptr
      holder.set = f.of.single and f.of.state[f.of.single].kind == "distinct" or false
      subs[name] = { sub = sub, holder = holder }
      types[#types + 1] = base.group_type(holder)
      errors.name_type(types[#types], "state." .. name .. " (an hf.group{})")
    else
      types[#types + 1] = ffi.typeof(f.cdecl or f.ctype)   -- cdecl: a profile's array
    end
    decl[#decl + 1] = "$ " .. name .. ";"
  end
  if #names == 0 then decl[#decl + 1] = "uint8_t unused_;" end
  decl[#decl + 1] = "}"
  local ct = ffi.typeof(table.concat(decl, " "), unpack(types))
  errors.name_type(ct, what, names)
  local flat, kinds, index = {}, {}, {}
  for _, name in ipairs(names) do
    local f = state[name]
    index[name] = #flat
    local param = f.param
    if f.kind == "distinct" and param == 0 then param = distinct_exact or 0 end
    flat[#flat + 1] = { offset = ffi.offsetof(ct, name), kind = M.KIND[f.kind], param = param,
                        holder = subs[name] and subs[name].holder }
    kinds[name] = f.shape or f.kind
    if f.kind == "group" then
      local sub = subs[name].sub
      flat[#flat + 1] = { offset = sub.size, kind = M.KIND.of, param = #sub.flat }
      for _, e in ipairs(sub.flat) do flat[#flat + 1] = e end
    end
  end
  return { ct = ct, ptr = ffi.typeof("$ *", ct), size = ffi.sizeof(ct), flat = flat,
           names = names, kinds = kinds, index = index }
end

--- Build the state type of a validated analysis.  distinct_exact is the
-- default exact limit of hf.distinct() fields that set none.
function M.build(spec, distinct_exact)
  local l = layout(spec.state, distinct_exact, "the state")
  local n = #l.flat
  local fields = ffi.new("hf_field[?]", math.max(n, 1))
  for i, e in ipairs(l.flat) do
    fields[i - 1].offset = e.offset
    fields[i - 1].kind = e.kind
    fields[i - 1].param = e.param
  end
  -- each group's value schema points into the array, which its holder keeps
  for i, e in ipairs(l.flat) do
    if e.holder then
      local of = ffi.new("hf_schema")
      of.fields, of.nfields, of.size = fields + i + 1, l.flat[i + 1].param, l.flat[i + 1].offset
      e.holder.of, e.holder.keep = of, fields
    end
  end
  local counts, ctypes = {}, {}
  for _, name in ipairs(l.names) do counts[name], ctypes[name] = spec.state[name].count, spec.state[name].ctype end
  return {
    counts = counts,       -- a profile's arrays: their lengths
    ctypes = ctypes,
    ct = l.ct,
    ptr = l.ptr,
    size = l.size,
    fields = fields,
    nfields = n,
    names = l.names,       -- the state's own fields, in order
    kinds = l.kinds,
    index = l.index,       -- name -> its entry in fields (from 0)
  }
end

local function spec_count(schema, name) return schema.counts[name] end

--- A signature of the state's declaration: equal for two states laid out
-- alike (field names, kinds, types, parameters, offsets, size), different
-- otherwise.  A profile's learned state is kept, and its file read, only
-- under the same signature.
function M.signature(schema)
  local parts = { "size=" .. schema.size }
  for _, name in ipairs(schema.names) do
    local f = schema.fields[schema.index[name]]
    parts[#parts + 1] = string.format("%s:%s:%s:%d:%d:%d", name, schema.kinds[name], schema.ctypes[name],
                                      tonumber(f.kind), tonumber(f.param), tonumber(f.offset))
  end
  return table.concat(parts, ";")
end

--- The result of an analysis that declares none: each field's value
-- (counts of distinct sets, items of top-k lists, keys and weights of
-- groups).
function M.default_result(schema)
  local names, kinds = schema.names, schema.kinds
  return function(s)
    local out = {}
    for _, name in ipairs(names) do
      local kind = kinds[name]
      if kind == "distinct" then out[name] = s[name]:count()
      elseif kind == "topk" then out[name] = s[name]:items()
      elseif kind == "set" then out[name] = s[name]:values()
      elseif kind == "array" then
        local list = {}
        for i = 0, spec_count(schema, name) - 1 do list[i + 1] = tonumber(s[name][i]) end
        out[name] = list
      elseif kind == "group" then
        local list = {}
        for _, it in ipairs(s[name]:items()) do list[#list + 1] = { key = it.key, count = it.count } end
        out[name] = list
      else out[name] = s[name] end
    end
    return out
  end
end

return M
