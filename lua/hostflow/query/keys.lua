-- hostflow.query.keys: what a query groups by and counts distinct values of.
--
-- A key is a flow field ("src", "dport", ...) or one of the keys below
-- (q.prefix, q.bucket, q.peer, q.direction, q.key).  Each key has a name
-- (its column), a kind (how its values are printed: "addr", "time", "num",
-- "text", "any") and code(gen): the Lua expression, over the flow `f`, that
-- the query's generated loop evaluates (gen.lua); a key that may not apply
-- to a flow (nilable) gives nil, and the flow is left out.  Group tables
-- hold raw values (an address is its 16 bytes as a string); out(raw), when
-- there is one, makes the text that is printed.

local ffi = require "ffi"
local bit = require "bit"
local base = require "hostflow.base"
local values = require "hostflow.query.values"

local C = base.C
local floor = math.floor
local fstr = ffi.string
local fmt = string.format
local M = {}

-- The flow fields: kind (how a value is printed) and how code reads it.
M.FIELDS = {
  src = "addr", dst = "addr", sport = "num", dport = "num", proto = "num", family = "num",
  tcp_flags = "num", packets = "num", bytes = "num", start_ms = "time", end_ms = "time",
  duration_ms = "num",
}
M.FIELD_LIST = "src, dst, sport, dport, proto, family, tcp_flags, packets, bytes, start_ms, "
               .. "end_ms, duration_ms"

--- The code that reads field name of the flow f.
function M.field_code(name)
  if name == "duration_ms" then return "(f.end_ms - f.start_ms)" end
  return "f." .. name
end

local Key = {}
Key.__index = Key
function M.is_key(v) return getmetatable(v) == Key end

--- A key from a field name or a key object; nil and a message otherwise.
function M.as_key(v)
  if M.is_key(v) then return v end
  if type(v) ~= "string" or not M.FIELDS[v] then
    return nil, fmt("expected a flow field (%s) or a key such as q.prefix(\"src\", 24), got %s",
                    M.FIELD_LIST, type(v) == "string" and fmt("%q", v) or type(v))
  end
  local kind = M.FIELDS[v]
  if kind == "addr" then
    return setmetatable({ name = v, kind = "addr",
      code = function(g) return fmt("%s(f.%s, 16)", g:up(fstr), v) end,
      out = values.addr }, Key)
  end
  return setmetatable({ name = v, kind = kind,
    code = function() return M.field_code(v) end }, Key)
end

--- A key: the address masked to a prefix: q.prefix("src", 24) groups IPv4
-- sources by /24 and IPv6 ones by /64 (or the third argument).  Printed
-- "10.1.2.0/24".
function M.prefix(field, len4, len6)
  if M.FIELDS[field] ~= "addr" then error("q.prefix: expected \"src\" or \"dst\", got " .. tostring(field), 2) end
  len4, len6 = len4 or 24, len6 or 64
  if type(len4) ~= "number" or len4 < 0 or len4 > 32 or len4 % 1 ~= 0 then
    error("q.prefix: the IPv4 length must be a whole number from 0 to 32", 2)
  end
  if type(len6) ~= "number" or len6 < 0 or len6 > 128 or len6 % 1 ~= 0 then
    error("q.prefix: the IPv6 length must be a whole number from 0 to 128", 2)
  end
  local scratch = ffi.new("uint8_t[16]")
  local band, lshift = bit.band, bit.lshift
  local function mask(a)
    ffi.copy(scratch, a, 16)
    local mapped = a[10] == 0xff and a[11] == 0xff
    for i = 0, 9 do if a[i] ~= 0 then mapped = false end end
    local bits = mapped and 96 + len4 or len6
    local full = floor(bits / 8)
    if full < 16 then
      scratch[full] = band(scratch[full], band(lshift(0xff, 8 - bits % 8), 0xff))
      for i = full + 1, 15 do scratch[i] = 0 end
    end
    return fstr(scratch, 16)
  end
  return setmetatable({
    name = fmt("%s/%d", field, len4), kind = "addr",
    code = function(g) return fmt("%s(f.%s)", g:up(mask), field) end,
    out = function(raw)
      local text = values.addr(raw)
      return text .. "/" .. (text:find(":", 1, true) and len6 or len4)
    end,
  }, Key)
end

--- A key: the flow's time (end_ms, or the field given) cut to a bucket of
-- the width given ("1m", "5m", "1h"); printed as the bucket's start.
function M.bucket(width, field)
  local w, err = values.duration(width)
  if not w or w <= 0 then error("q.bucket: " .. (err or "the width must be above 0"), 2) end
  field = field or "end_ms"
  if M.FIELDS[field] ~= "time" then error("q.bucket: expected \"start_ms\" or \"end_ms\"", 2) end
  return setmetatable({ name = "time", kind = "time",
    code = function(g) return fmt("%s(f.%s / %.17g) * %.17g", g:up(floor), field, w, w) end }, Key)
end

--- A key: the other end of a flow of host (an address or prefix): its
-- peer.  Flows host is not part of are left out of a query grouped by it.
function M.peer(host)
  local trie, err = values.prefix_set(host)
  if not trie then error("q.peer: " .. err, 2) end
  local match = C.hf_prefixes_match
  local function other(f)
    if match(trie, f.src) ~= 0 then return fstr(f.dst, 16) end
    if match(trie, f.dst) ~= 0 then return fstr(f.src, 16) end
    return nil
  end
  return setmetatable({ name = "peer", kind = "addr", nilable = true,
    code = function(g) return g:up(other) .. "(f)" end, out = values.addr }, Key)
end

--- A key: "out" for a flow host sent, "in" for one it received.
function M.direction(host)
  local trie, err = values.prefix_set(host)
  if not trie then error("q.direction: " .. err, 2) end
  local match = C.hf_prefixes_match
  local function dir(f)
    if match(trie, f.src) ~= 0 then return "out" end
    if match(trie, f.dst) ~= 0 then return "in" end
    return nil
  end
  return setmetatable({ name = "direction", kind = "text", nilable = true,
    code = function(g) return g:up(dir) .. "(f)" end }, Key)
end

--- A key of your own: q.key("service", function(f) return ... end).  The
-- function returns a string, a number or a boolean; nil leaves the flow out.
function M.key(name, fn)
  if type(name) ~= "string" or type(fn) ~= "function" then
    error("q.key: expected a name and a function(flow)", 2)
  end
  return setmetatable({ name = name, kind = "any", nilable = true,
    code = function(g) return g:up(fn) .. "(f)" end }, Key)
end

return M
