-- hostflow.schema: an analysis's declared state as a C struct.
--
-- { flows = hf.counter(), peers = hf.distinct() } becomes
--   struct { double flows; hf_distinct peers; }
-- plus the field list (kind, offset, parameter) that lets the core
-- initialise, merge and serialise the state without knowing the analysis.
-- Fields are laid out in name order, so a layout does not depend on the
-- order pairs() happens to visit them in.

local ffi = require "ffi"
local M = {}

local base = require "hostflow.base"

-- The field kinds, as the core numbers them (core/prim/state.h).
M.KIND = { sum = base.const("HF_FIELD_SUM"), min = base.const("HF_FIELD_MIN"),
           max = base.const("HF_FIELD_MAX"), distinct = base.const("HF_FIELD_DISTINCT"),
           topk = base.const("HF_FIELD_TOPK"), count32 = base.const("HF_FIELD_COUNT32"),
           bytes = base.const("HF_FIELD_BYTES") }

--- Build the state type of a validated analysis.  distinct_exact is the
-- default exact limit of hf.distinct() fields that set none.
function M.build(spec, distinct_exact)
  local names = {}
  for k in pairs(spec.state) do names[#names + 1] = k end
  table.sort(names)
  local decl = { "struct {" }
  for _, name in ipairs(names) do
    local f = spec.state[name]
    decl[#decl + 1] = f.decl and f.decl(name) or (f.ctype .. " " .. name .. ";")
  end
  if #names == 0 then decl[#decl + 1] = "uint8_t unused_;" end
  decl[#decl + 1] = "}"
  local ct = ffi.typeof(table.concat(decl, " "))
  local fields = ffi.new("hf_field[?]", math.max(#names, 1))
  local kinds = {}
  for i, name in ipairs(names) do
    local f = spec.state[name]
    local param = f.param
    if f.kind == "distinct" and param == 0 then param = distinct_exact or 0 end
    fields[i - 1].offset = ffi.offsetof(ct, name)
    fields[i - 1].kind = M.KIND[f.kind]
    fields[i - 1].param = param
    kinds[name] = f.shape or f.kind
  end
  local counts, ctypes = {}, {}
  for _, name in ipairs(names) do counts[name], ctypes[name] = spec.state[name].count, spec.state[name].ctype end
  return {
    counts = counts,
    ctypes = ctypes,
    ct = ct,
    ptr = ffi.typeof("$ *", ct),
    size = ffi.sizeof(ct),
    fields = fields,
    nfields = #names,
    names = names,
    kinds = kinds,
  }
end

local function spec_count(schema, name) return schema.counts[name] end

--- A signature of the state's declaration: equal for two states laid out
-- alike (field names, kinds, types, parameters, offsets, size), different
-- otherwise.  A profile's learned state is kept, and its file read, only
-- under the same signature.
function M.signature(schema)
  local parts = { "size=" .. schema.size }
  for i, name in ipairs(schema.names) do
    local f = schema.fields[i - 1]
    parts[#parts + 1] = string.format("%s:%s:%s:%d:%d:%d", name, schema.kinds[name], schema.ctypes[name],
                                      tonumber(f.kind), tonumber(f.param), tonumber(f.offset))
  end
  return table.concat(parts, ";")
end

--- The result of an analysis that declares none: each field's value
-- (counts of distinct sets, items of top-k lists).
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
      else out[name] = s[name] end
    end
    return out
  end
end

return M
