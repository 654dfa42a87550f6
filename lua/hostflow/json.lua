-- hostflow.json: Lua values into JSON text, appended to a C buffer (hf_buf).
--
-- The one JSON writer of the Lua side: analysis results, which go straight
-- into the host records (no Lua string is built per record), and the text
-- of `hostflow check`, `hostflow query -f json` and hostflow.testing.  A
-- top-level object is written with an analysis's declared `keys` first, in
-- that order, and its other keys after them in name order; other objects
-- with their keys sorted, so records are byte-for-byte reproducible.
--
-- Speed: this runs once per host, analysis and window, so it is the hot
-- path of a window's close.  Text goes into the buffer with ffi.copy while
-- it fits (the C side is called only to grow it), and a declared `keys`
-- list gets an encoder of its own, generated once (the keys quoted and
-- escaped in advance, one test per key, no loop), so the loop that calls an
-- analysis's result() and encodes it compiles into one trace.  When the
-- keys are all a result can have (M.only), the encoder does not walk the
-- table for others, and LuaJIT can sink the result table instead of
-- allocating it.

local ffi = require "ffi"
local base = require "hostflow.base"
local errors = require "hostflow.errors"

local C = base.C
local M = {}

local MAX_DEPTH = 32
local type, tostring, pairs = type, tostring, pairs
local copy, istype = ffi.copy, ffi.istype

-- A table marked by M.list is a JSON array even when empty (an empty
-- table is otherwise an object, {}).
local list_mt = { __name = "hostflow.json list" }

--- Mark t (a sequence) as a JSON array, so that an empty one is [] not {};
-- returns t.
function M.list(t) return setmetatable(t, list_mt) end

local function is_array(t)
  local n = #t
  if n == 0 then return getmetatable(t) == list_mt end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

--- Append the bytes of string s to buf: in place while they fit, else
-- through the C side, which grows the buffer.
local function put(buf, s)
  local n, len = #s, buf.len
  if len + n <= buf.cap then
    copy(buf.data + len, s, n)
    buf.len = len + n
  else
    C.hf_buf_put(buf, s, n)
  end
end
M.put = put

local encode

local function put_key(buf, k)
  k = tostring(k)
  C.hf_buf_put_string(buf, k, #k)
  put(buf, ":")
end

-- The keys of t not in listed (a set; nil: none), sorted as text, so
-- records are reproducible; nil when there is none.
local function other_keys(t, listed)
  local keys
  for k in pairs(t) do
    local tk = type(k)
    if tk ~= "string" and tk ~= "number" then
      error("cannot encode a table key of type " .. tk, 0)
    end
    if not (listed and listed[k]) then
      if tk == "number" and listed and listed[tostring(k)] then
        error("cannot encode a table with both " .. tostring(k) .. " and \"" .. tostring(k) .. "\" as keys", 0)
      end
      keys = keys or {}
      keys[#keys + 1] = k
    end
  end
  if keys and #keys > 1 then
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for i = 2, #keys do
      if tostring(keys[i]) == tostring(keys[i - 1]) then
        error("cannot encode a table with both " .. tostring(keys[i]) .. " and \""
              .. tostring(keys[i]) .. "\" as keys", 0)
      end
    end
  end
  return keys
end

-- The members of t under keys (a list), each preceded by a comma unless it
-- is the object's first (first: none written yet).
local function put_members(buf, t, keys, first, depth)
  for i = 1, #keys do
    if not first or i > 1 then put(buf, ",") end
    put_key(buf, keys[i])
    encode(buf, t[keys[i]], nil, depth + 1)
  end
end

-- An object with every key, sorted.
local function encode_object(buf, t, depth)
  put(buf, "{")
  local keys = other_keys(t, nil)
  if keys then put_members(buf, t, keys, true, depth) end
  put(buf, "}")
end

-- The encoder of an object with declared keys: those keys first, in their
-- order, each written only when the object has it; then, unless the keys
-- are known to be all the object has (M.only), the others in name order.
-- For keys {"a","b"}:
--
--   return function(buf, t, depth)
--     local first = true
--     put(buf, "{")
--     local v = t["a"]
--     if v ~= nil then
--       put(buf, first and "\"a\":" or ",\"a\":"); first = false
--       if type(v) == "number" then C.hf_buf_put_number(buf, v) else encode(buf, v, nil, depth + 1) end
--     end
--     ...
--     local others = other_keys(t, listed)            -- not for M.only(keys)
--     if others then put_members(buf, t, others, first, depth) end
--     put(buf, "}")
--   end
--
-- Looking for other keys walks the table, so LuaJIT must allocate it;
-- without that walk, a result table built and returned in one go is sunk
-- into the trace of the emit loop and never allocated.
local DECLARED_SRC = [[
local put, C, encode, type, keys, other_keys, put_members, listed = ...
return function(buf, t, depth)
  local first, v = true, nil
  put(buf, "{")
%s%s  put(buf, "}")
end
]]
local DECLARED_KEY = [[
  v = t[%s]
  if v ~= nil then
    if first then put(buf, %q) else put(buf, %q) end
    first = false
    if type(v) == "number" then C.hf_buf_put_number(buf, v) else encode(buf, v, nil, depth + 1) end
  end
]]
local OTHER_KEYS = [[
  local others = other_keys(t, listed)
  if others then put_members(buf, t, others, first, depth) end
]]

-- Encoders by keys list, made on first use (an analysis's keys are fixed
-- once it is loaded; a list changed after its first use is not seen).
local declared = setmetatable({}, { __mode = "k" })
local only_lists = setmetatable({}, { __mode = "k" })    -- list -> its M.only copy
local is_only = setmetatable({}, { __mode = "k" })

local function encoder_for(keys)
  local e = declared[keys]
  if e then return e end
  local body, own, listed = {}, {}, {}
  for i = 1, #keys do
    local k = keys[i]
    own[i], listed[k] = k, true
    local q = M.tostring(tostring(k))
    -- a string key as a literal, so the trace looks it up as a constant
    local ref = type(k) == "string" and string.format("%q", k) or string.format("keys[%d]", i)
    body[i] = string.format(DECLARED_KEY, ref, q .. ":", "," .. q .. ":")
  end
  local src = string.format(DECLARED_SRC, table.concat(body), is_only[keys] and "" or OTHER_KEYS)
  e = assert(loadstring(src, "=json keys"))(put, C, encode, type, own, other_keys, put_members, listed)
  declared[keys] = e
  return e
end

--- keys (a list) for objects known to have no other key: the encoder
-- writes these and does not look for others (see DECLARED_SRC).  Only for
-- such objects (hostflow.shape proves it of a result function): any other
-- key would be left out.
function M.only(keys)
  local o = only_lists[keys]
  if not o then
    o = {}
    for i = 1, #keys do o[i] = keys[i] end
    is_only[o] = true
    only_lists[keys] = o
  end
  return o
end

--- Append v to buf (an hf_buf *).  Raises an error for values JSON cannot
-- hold (functions, userdata, cycles deeper than 32 levels).
function encode(buf, v, keys, depth)
  local t = type(v)
  if t == "number" then
    C.hf_buf_put_number(buf, v)
  elseif t == "table" then
    depth = depth or 0
    if depth >= MAX_DEPTH then error("result nested deeper than 32 levels", 0) end
    if keys then
      encoder_for(keys)(buf, v, depth)
    elseif is_array(v) then
      put(buf, "[")
      for i = 1, #v do
        if i > 1 then put(buf, ",") end
        encode(buf, v[i], nil, depth + 1)
      end
      put(buf, "]")
    else
      encode_object(buf, v, depth)
    end
  elseif t == "string" then
    C.hf_buf_put_string(buf, v, #v)
  elseif t == "boolean" then
    put(buf, v and "true" or "false")
  elseif t == "cdata" and (istype("int64_t", v) or istype("uint64_t", v)) then
    C.hf_buf_put_number(buf, tonumber(v))
  elseif t == "nil" then
    put(buf, "null")
  else
    error(M.cannot(v), 0)
  end
end

-- What to return instead of a value JSON cannot hold, by its description.
local INSTEAD = { ["an hf.distinct()"] = "; return its :count()",
                  ["an hf.topk()"] = "; return its :items()",
                  ["an address (hf.addr() gives its text)"] = "; return hf.addr() of it" }

--- The message for v, which JSON cannot hold (M.at_path adds where).
function M.cannot(v)
  local what = errors.describe(v)
  return string.format("cannot encode %s as JSON: a result holds numbers, strings, booleans and "
                       .. "tables of them%s", what, INSTEAD[what] or "")
end

--- Where a JSON text cut short stops: the path of the value it was writing,
-- as Lua would index it (".peers", ".list[3]"; "" at the top).
function M.path_at(text)
  local stack, want_key, i, n = {}, false, 1, #text
  while i <= n do
    local c = text:sub(i, i)
    local top = stack[#stack]
    if c == '"' then
      local j = i + 1
      while j <= n do
        local d = text:sub(j, j)
        if d == "\\" then j = j + 2 elseif d == '"' then break else j = j + 1 end
      end
      if top and top.object and want_key then top.key, want_key = text:sub(i + 1, j - 1), false end
      i = j
    elseif c == "{" then stack[#stack + 1], want_key = { object = true }, true
    elseif c == "[" then stack[#stack + 1] = { index = 1 }
    elseif c == "}" or c == "]" then stack[#stack] = nil
    elseif c == "," and top then
      if top.object then want_key = true else top.index = top.index + 1 end
    end
    i = i + 1
  end
  local out = {}
  for k, f in ipairs(stack) do
    out[k] = f.object and ("." .. (f.key or "?")) or ("[" .. f.index .. "]")
  end
  return table.concat(out)
end

--- err (an error raised while the result of analysis name was encoded
-- into text, cut short there) with where it was: "... as JSON at
-- stats.name.peers: ...".
function M.at_path(err, text, name)
  err = tostring(err)
  if not err:find("^[^\n]*as JSON") then return err end
  return (err:gsub(" as JSON", " as JSON at stats." .. name .. M.path_at(text), 1))
end

M.encode = encode

--- Append an object of the fields names[1..n] of t to buf, in that order,
-- every one written (a missing one as null): the rows of `hostflow query`.
function M.encode_fields(buf, t, names)
  put(buf, "{")
  for i = 1, #names do
    if i > 1 then put(buf, ",") end
    put_key(buf, names[i])
    encode(buf, t[names[i]], nil, 1)
  end
  put(buf, "}")
end

-- fn(buf, ...) into a fresh buffer, as a Lua string.
local function to_string(fn, ...)
  local b = ffi.new("hf_buf")
  local ok, err = pcall(fn, b, ...)
  local s = b.data ~= nil and ffi.string(b.data, b.len) or ""
  C.hf_buf_release(b)
  if not ok then error(err, 0) end
  return s
end

--- v as a JSON string (for tests and tools).
function M.tostring(v, keys) return to_string(encode, v, keys, 0) end

--- M.encode_fields as a JSON string.
function M.fields_tostring(t, names) return to_string(M.encode_fields, t, names) end

return M
