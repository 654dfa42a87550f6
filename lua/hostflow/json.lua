-- hostflow.json: Lua values into JSON text, appended to a C buffer (hf_buf).
--
-- Used for analysis results, which go straight into the host records; no
-- Lua string is built per record.  A top-level object is written with an
-- analysis's declared `keys` in that order (and only those); other objects
-- with their keys sorted, so records are byte-for-byte reproducible.

local ffi = require "ffi"
local base = require "hostflow.base"

local C = base.C
local M = {}

local MAX_DEPTH = 32

local function is_array(t)
  local n = #t
  if n == 0 then return false end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

local encode

local function put_key(buf, k)
  k = tostring(k)
  C.hf_buf_put_string(buf, k, #k)
  C.hf_buf_put(buf, ":", 1)
end

-- An object.  With `keys` (an analysis's declared result keys) exactly those
-- keys are written, in that order, and nothing else: no pairs(), no sort.
-- Without, every key, sorted, so records are reproducible.
local function encode_object(buf, t, keys, depth)
  C.hf_buf_put(buf, "{", 1)
  local first = true
  if not keys then
    keys = {}
    for k in pairs(t) do
      local tk = type(k)
      if tk ~= "string" and tk ~= "number" then
        error("cannot encode a table key of type " .. tk, 0)
      end
      keys[#keys + 1] = k
    end
    if #keys > 1 then
      table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
      for i = 2, #keys do
        if tostring(keys[i]) == tostring(keys[i - 1]) then
          error("cannot encode a table with both " .. tostring(keys[i]) .. " and \""
                .. tostring(keys[i]) .. "\" as keys", 0)
        end
      end
    end
  end
  for i = 1, #keys do
    local k = keys[i]
    local v = t[k]
    if v ~= nil then
      if not first then C.hf_buf_put(buf, ",", 1) end
      first = false
      put_key(buf, k)
      encode(buf, v, nil, depth + 1)
    end
  end
  C.hf_buf_put(buf, "}", 1)
end

--- Append v to buf (an hf_buf *).  Raises an error for values JSON cannot
-- hold (functions, userdata, cycles deeper than 32 levels).
function encode(buf, v, keys, depth)
  local t = type(v)
  if t == "number" then
    C.hf_buf_put_number(buf, v)
  elseif t == "string" then
    C.hf_buf_put_string(buf, v, #v)
  elseif t == "boolean" then
    if v then C.hf_buf_put(buf, "true", 4) else C.hf_buf_put(buf, "false", 5) end
  elseif t == "table" then
    depth = depth or 0
    if depth >= MAX_DEPTH then error("result nested deeper than 32 levels", 0) end
    if not keys and is_array(v) then
      C.hf_buf_put(buf, "[", 1)
      for i = 1, #v do
        if i > 1 then C.hf_buf_put(buf, ",", 1) end
        encode(buf, v[i], nil, depth + 1)
      end
      C.hf_buf_put(buf, "]", 1)
    else
      encode_object(buf, v, keys, depth)
    end
  elseif t == "cdata" and (ffi.istype("int64_t", v) or ffi.istype("uint64_t", v)) then
    C.hf_buf_put_number(buf, tonumber(v))
  elseif t == "nil" then
    C.hf_buf_put(buf, "null", 4)
  else
    error("cannot encode a " .. t .. " as JSON", 0)
  end
end

M.encode = encode

--- v as a JSON string (for tests and tools).
function M.tostring(v, keys)
  local b = ffi.new("hf_buf")
  local ok, err = pcall(encode, b, v, keys, 0)
  local s = b.data ~= nil and ffi.string(b.data, b.len) or ""
  C.hf_buf_release(b)
  if not ok then error(err, 0) end
  return s
end

return M
