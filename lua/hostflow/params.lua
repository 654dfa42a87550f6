-- hostflow.params: an analysis's parameters.
--
--   return hf.analysis {
--     name   = "port_scan",
--     params = { threshold = 20, ports = { 22, 23, 3389 } },   -- the defaults
--     update = function(s, flow, params) ... params.threshold ... end,
--     result = function(s, params) ... end,
--     ...
--   }
--
-- A parameter is a number, a string, a boolean, or a list of one of those.
-- The configuration may set any of them for an analysis
-- (analyses.params.port_scan = { threshold = 50 }), with a value of the
-- declared one's type, and change them at a reload.  What the analysis sees
-- is read-only: a table whose declared keys read their values, and where
-- reading an undeclared key or setting any key is an error (a list is a
-- plain Lua list, made for that version: ipairs and # work on it; do not
-- change it).  pairs() over it lists nothing: the declaration lists them.
--
-- resolve() gives the values of one analysis under the configuration's
-- overrides, or an error that names analyses.params.NAME.KEY and what was
-- expected; view() the read-only table the analysis is given.

local json = require "hostflow.json"

local fmt = string.format
local M = {}

local SCALAR = { number = true, string = true, boolean = true }

-- The kind of a parameter value: "number", "string", "boolean", or "list"
-- and the type of its elements (nil for an empty list); nil for anything
-- else (other tables, a list of mixed types, functions ...).
local function kind(v)
  local t = type(v)
  if SCALAR[t] then return t end
  if t ~= "table" or getmetatable(v) ~= nil then return nil end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  if n ~= #v then return nil end
  local elem
  for i = 1, n do
    local te = type(v[i])
    if not SCALAR[te] or (elem and te ~= elem) then return nil end
    elem = te
  end
  return "list", elem
end

-- What a kind is, in words: "a number", "a list of strings", "a list".
local function describe(k, elem)
  if k == "list" then return elem and ("a list of " .. elem .. "s") or "a list" end
  return "a " .. k
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

local function copy(v)
  if type(v) ~= "table" then return v end
  local c = {}
  for i = 1, #v do c[i] = v[i] end
  return c
end

--- A value as JSON: 20, "x", true, [22,23], [].
function M.text(v)
  if type(v) == "table" and #v == 0 then return "[]" end
  return json.tostring(v)
end

--- Check the declaration of an analysis (spec.params, not nil): true, or
-- nil and what is wrong ("params.x must be ...").
function M.check_declared(decl)
  if type(decl) ~= "table" or getmetatable(decl) ~= nil then
    return nil, "params must be a table of parameter names and their defaults"
  end
  for _, k in ipairs(sorted_keys(decl)) do
    if type(k) ~= "string" or not k:match("^%a[%w_]*$") or #k > 63 then
      return nil, fmt("params: a parameter name is a letter, then letters, digits and _ (at most 63), got %s",
                      type(k) == "string" and ("'" .. k .. "'") or type(k))
    end
    if not kind(decl[k]) then
      return nil, fmt("params.%s must be a number, a string, a boolean or a list of one of those, got %s",
                      k, type(decl[k]) == "table" and "a table of another shape" or type(decl[k]))
    end
  end
  return true
end

--- The values of spec's parameters: its defaults, with overrides (the
-- configuration's analyses.params[spec.name], or nil) in their place.
-- Returns a fresh table of values, or nil and a message naming
-- analyses.params.NAME[.KEY] and what was expected.
function M.resolve(spec, overrides)
  local decl, name = spec.params or {}, spec.name
  local values = {}
  for k, v in pairs(decl) do values[k] = copy(v) end
  if overrides == nil then return values end
  if type(overrides) ~= "table" then
    return nil, fmt("analyses.params.%s: expected a table of parameter values, got %s", name, type(overrides))
  end
  for _, k in ipairs(sorted_keys(overrides)) do
    local v, d = overrides[k], decl[k]
    if d == nil then
      local names = sorted_keys(decl)
      return nil, fmt("analyses.params.%s.%s: %s has no parameter %s (%s)", name, tostring(k), name, tostring(k),
                      #names > 0 and ("it has " .. table.concat(names, ", ")) or "it declares none")
    end
    local dk, de = kind(d)
    local vk, ve = kind(v)
    if vk ~= dk or (de and ve and ve ~= de) then
      local got = vk and describe(vk, ve) or (type(v) == "table" and "a table of another shape" or type(v))
      if vk and vk ~= "list" then got = got .. " (" .. M.text(v) .. ")" end
      return nil, fmt("analyses.params.%s.%s: expected %s, as its default %s, got %s", name, k,
                      describe(dk, de), M.text(d), got)
    end
    values[k] = copy(v)
  end
  return values
end

--- The read-only table an analysis is given for values (resolve's).
-- Reading a declared key reads its value through two table lookups
-- (LuaJIT compiles them); reading another key, or setting any, raises an
-- error.
function M.view(values)
  local names = table.concat(sorted_keys(values), ", ")
  setmetatable(values, { __index = function(_, k)
    error(fmt("no parameter %s (%s)", tostring(k), names ~= "" and ("declared: " .. names) or "none declared"), 2)
  end })
  return setmetatable({}, {
    __index = values,
    __newindex = function(_, k) error(fmt("params are read-only: params.%s cannot be set", tostring(k)), 2) end,
    __metatable = "params",
  })
end

--- values as text, sorted by name: "ports = [22,23], threshold = 20".
function M.describe(values)
  local parts = {}
  for _, k in ipairs(sorted_keys(values)) do parts[#parts + 1] = k .. " = " .. M.text(rawget(values, k)) end
  return table.concat(parts, ", ")
end

--- What differs from old to new (values of one analysis), as text:
-- "threshold = 30 (was 20)".
function M.diff(old, new)
  local parts = {}
  for _, k in ipairs(sorted_keys(new)) do
    local a, b = M.text(rawget(new, k)), old and rawget(old, k) ~= nil and M.text(rawget(old, k)) or nil
    if a ~= b then parts[#parts + 1] = fmt("%s = %s%s", k, a, b and (" (was " .. b .. ")") or "") end
  end
  return table.concat(parts, ", ")
end

--- The text two sets of values have in common exactly when they are equal.
function M.key(values)
  local parts = {}
  for _, k in ipairs(sorted_keys(values)) do parts[#parts + 1] = k .. "=" .. M.text(rawget(values, k)) end
  return table.concat(parts, ";")
end

return M
