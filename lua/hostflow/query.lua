-- hostflow.query: investigation scripts over flows (`hostflow query SCRIPT.lua`).
--
--   local q = require "hostflow.query"
--   q.flows()
--     :where { src = "10.0.0.0/24", dport = 443, proto = "tcp", from = "-1h" }
--     :group_by("src")
--     :count():sum("bytes"):distinct("dst")
--     :top(10, "bytes")
--
-- A script builds queries; hostflow then reads the flows once (twice when a
-- query asks for a time relative to the end of the data, such as "-1h"),
-- hands each batch (an array of hf_flow structs, never a table per flow) to
-- every query, and at the end prints each query's rows, in the order the
-- queries were made, as an aligned table, CSV or JSON (one object a line).
--
-- How it runs: each query is compiled, once the data's time span is known,
-- into one Lua function over a batch (its filters, group keys and
-- aggregates written out as source and loaded with loadstring), so LuaJIT
-- traces one tight loop per query.  Groups are Lua tables keyed by the raw
-- value of each key (an address is its 16 bytes as a string, formatted only
-- when printed).  distinct() is exact: a Lua set per group.
--
-- The reference is lua/README.md, "Investigating: hostflow query".

local ffi = require "ffi"
local bit = require "bit"
local base = require "hostflow.base"

local C = base.C
local M = { _VERSION = "0.1.0" }

-- The core functions this module uses beyond hostflow.base's, each declared
-- unless it already is (by an earlier load, or by base.lua one day).
for _, t in ipairs { "hf_query_input", "hf_prefixes" } do
  if not pcall(ffi.typeof, t) then ffi.cdef(string.format("typedef struct %s %s;", t, t)) end
end
for name, decl in pairs {
  hf_prefixes_new = "hf_prefixes *hf_prefixes_new(void);",
  hf_prefixes_free = "void hf_prefixes_free(hf_prefixes *p);",
  hf_prefixes_add = "int hf_prefixes_add(hf_prefixes *p, const char *cidr, char *err, size_t errlen);",
  hf_prefixes_match = "int hf_prefixes_match(const hf_prefixes *p, const uint8_t *addr);",
  hf_time_parse_iso = "int hf_time_parse_iso(const char *s, size_t len, int64_t *ms);",
  hf_time_format_iso = "size_t hf_time_format_iso(int64_t ms, char *out);",
  hf_decode_proto_number = "int hf_decode_proto_number(const char *name, size_t len);",
  hf_query_read = "int hf_query_read(hf_query_input *in, const hf_flow **flows, const double **lines);",
  hf_query_spool = "int hf_query_spool(hf_query_input *in);",
  hf_query_rewind = "int hf_query_rewind(hf_query_input *in);",
  hf_query_count = "double hf_query_count(const hf_query_input *in, const char *name);",
  hf_query_input_name = "const char *hf_query_input_name(const hf_query_input *in);",
  hf_query_input_error = "const char *hf_query_input_error(const hf_query_input *in);",
} do
  if not pcall(function() return C[name] end) then ffi.cdef(decl) end
end

local floor, huge = math.floor, math.huge
local fstr = ffi.string
local fmt = string.format

-- ------------------------------------------------------------------------
-- Values: times, durations, protocols, addresses
-- ------------------------------------------------------------------------

local UNITS = { ms = 1, s = 1000, m = 60000, h = 3600000, d = 86400000 }

--- A duration ("90s", "5m", "1h", "2d", "250ms", or ms as a number) in ms;
-- nil and a message when it is none.
function M.duration(v)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil, "expected a duration such as \"10m\" or \"1h\"" end
  local n, unit = v:match("^(%d+%.?%d*)(%a+)$")
  if not n or not UNITS[unit] then
    return nil, fmt("expected a duration such as \"10m\" or \"1h\", got %q", v)
  end
  return tonumber(n) * UNITS[unit]
end

local iso_ms = ffi.new("int64_t[1]")

-- A time: ms (number), ISO 8601 text, or relative: "-1h" before the end of
-- the data, "+10m" after its start.  Returns ms, or nil and a message; a
-- relative time with no data span given returns false and the relative
-- form { from = "end"|"start", ms = offset }.
local function parse_time(v, data)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil, "expected a time (ISO 8601 text, ms or \"-1h\")" end
  local sign, rest = v:match("^([%+%-])(.+)$")
  if sign then
    local d, err = M.duration(rest)
    if not d then return nil, err end
    local rel = sign == "-" and { from = "end", ms = -d } or { from = "start", ms = d }
    if not data then return false, rel end
    if not data.first_ms then return 0 end         -- no flows: any time will do
    return (rel.from == "end" and data.last_ms or data.first_ms) + rel.ms
  end
  if v:match("^%d+$") then return tonumber(v) end
  if C.hf_time_parse_iso(v, #v, iso_ms) ~= 0 then
    return nil, fmt("expected a time such as \"2026-11-26T14:00:00Z\", ms, or \"-1h\", got %q", v)
  end
  return tonumber(iso_ms[0])
end

--- A time given as ms, ISO 8601 text or relative ("-1h": before the end of
-- the data; "+5m": after its start; only once the data has been read) in ms.
function M.ms(v)
  local ms, err = parse_time(v, M.data.flows and M.data or nil)
  if ms == false then error("q.ms: a relative time is known only once the flows are read", 2) end
  if not ms then error("q.ms: " .. err, 2) end
  return ms
end

local iso_out = ffi.new("char[32]")
--- ms since the epoch as ISO 8601 text: "2026-11-26T14:00:00.000Z".
function M.time(ms)
  local n = C.hf_time_format_iso(ms, iso_out)
  return fstr(iso_out, n)
end

local PROTO_NAMES = { [1] = "icmp", [6] = "tcp", [17] = "udp", [47] = "gre", [50] = "esp",
                      [58] = "icmpv6", [132] = "sctp" }
M.PROTO = { icmp = 1, tcp = 6, udp = 17, gre = 47, esp = 50, icmpv6 = 58, sctp = 132 }

--- The name of a protocol number ("tcp"), or the number as text.
function M.proto_name(n) return PROTO_NAMES[n] or tostring(n) end

local function proto_number(v)
  if type(v) == "number" and v >= 0 and v <= 255 and v % 1 == 0 then return v end
  if type(v) == "string" then
    if v:match("^%d+$") then return proto_number(tonumber(v)) end
    if M.PROTO[v:lower()] then return M.PROTO[v:lower()] end
    local n = C.hf_decode_proto_number(v, #v)
    if n >= 0 then return n end
  end
  return nil
end

local addr_buf = ffi.new("uint8_t[16]")
--- An address as text: a flow's src or dst, or the 16-byte string a group
-- key holds.
function M.addr(a)
  if type(a) == "string" then
    ffi.copy(addr_buf, a, 16)
    return base.addr_text(addr_buf)
  end
  return base.addr_text(a)
end

local flow_size = ffi.sizeof("hf_flow")
--- A copy of a flow that outlives the batch (each() is given a pointer
-- into the batch, valid only during the call).
function M.copy(f)
  local c = ffi.new("hf_flow")
  ffi.copy(c, f, flow_size)
  return c
end

-- A set of prefixes ("10.0.0.0/8", "!10.1.0.0/16", a single address) as the
-- core's trie; a list of exclusions alone means "everything but".
local prefix_err = ffi.new("char[160]")
local function prefix_set(spec)
  local list = type(spec) == "table" and spec or { spec }
  if #list == 0 then return nil, "expected an address, a prefix or a list of them" end
  local trie = ffi.gc(C.hf_prefixes_new(), C.hf_prefixes_free)
  local only_excluded = true
  for _, p in ipairs(list) do
    if type(p) ~= "string" then return nil, "expected an address or prefix as text, got " .. type(p) end
    if p:sub(1, 1) ~= "!" then only_excluded = false end
  end
  if only_excluded then
    C.hf_prefixes_add(trie, "0.0.0.0/0", nil, 0)
    C.hf_prefixes_add(trie, "::/0", nil, 0)
  end
  for _, p in ipairs(list) do
    if C.hf_prefixes_add(trie, p, prefix_err, 160) ~= 0 then
      return nil, fmt("%q: %s", p, fstr(prefix_err))
    end
  end
  return trie
end

--- A matcher of addresses: q.matcher("10.0.0.0/8") returns a function(addr)
-- -> boolean for a flow's src or dst.
function M.matcher(spec)
  local trie, err = prefix_set(spec)
  if not trie then error("q.matcher: " .. err, 2) end
  return function(a) return C.hf_prefixes_match(trie, a) ~= 0 end
end

-- ------------------------------------------------------------------------
-- Code generation: a query becomes the source of one loop over a batch
-- ------------------------------------------------------------------------

local Gen = {}
Gen.__index = Gen

local function new_gen() return setmetatable({ ups = {} }, Gen) end

-- A name the generated code uses for a Lua value.
function Gen:up(v)
  local n = #self.ups + 1
  self.ups[n] = v
  if n > 50 then return "U[" .. n .. "]" end   -- LuaJIT allows 60 upvalues
  return "u" .. n
end

function Gen:load(src, name)
  local head = { "local U = ..." }
  for i = 1, math.min(#self.ups, 50) do head[#head + 1] = fmt("local u%d = U[%d]", i, i) end
  head[#head + 1] = src
  local chunk = assert(loadstring(table.concat(head, "\n"), "=" .. name))
  return chunk(self.ups)
end

-- The flow fields: kind (how a value is printed) and how code reads it.
local FIELDS = {
  src = "addr", dst = "addr", sport = "num", dport = "num", proto = "num", family = "num",
  tcp_flags = "num", packets = "num", bytes = "num", start_ms = "time", end_ms = "time",
  duration_ms = "num",
}
local FIELD_LIST = "src, dst, sport, dport, proto, family, tcp_flags, packets, bytes, start_ms, "
                   .. "end_ms, duration_ms"

local function field_code(name)
  if name == "duration_ms" then return "(f.end_ms - f.start_ms)" end
  return "f." .. name
end

-- ------------------------------------------------------------------------
-- Keys: what group_by and distinct take
-- ------------------------------------------------------------------------

local Key = {}
Key.__index = Key
local function is_key(v) return getmetatable(v) == Key end

-- A key from a field name or a key object; nil and a message otherwise.
local function as_key(v)
  if is_key(v) then return v end
  if type(v) ~= "string" or not FIELDS[v] then
    return nil, fmt("expected a flow field (%s) or a key such as q.prefix(\"src\", 24), got %s",
                    FIELD_LIST, type(v) == "string" and fmt("%q", v) or type(v))
  end
  local kind = FIELDS[v]
  if kind == "addr" then
    return setmetatable({ name = v, kind = "addr",
      code = function(g) return fmt("%s(f.%s, 16)", g:up(fstr), v) end,
      out = M.addr }, Key)
  end
  return setmetatable({ name = v, kind = kind,
    code = function() return field_code(v) end }, Key)
end

--- A key: the address masked to a prefix: q.prefix("src", 24) groups IPv4
-- sources by /24 and IPv6 ones by /64 (or the third argument).  Printed
-- "10.1.2.0/24".
function M.prefix(field, len4, len6)
  if FIELDS[field] ~= "addr" then error("q.prefix: expected \"src\" or \"dst\", got " .. tostring(field), 2) end
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
      local text = M.addr(raw)
      return text .. "/" .. (text:find(":", 1, true) and len6 or len4)
    end,
  }, Key)
end

--- A key: the flow's time (end_ms, or the field given) cut to a bucket of
-- the width given ("1m", "5m", "1h"); printed as the bucket's start.
function M.bucket(width, field)
  local w, err = M.duration(width)
  if not w or w <= 0 then error("q.bucket: " .. (err or "the width must be above 0"), 2) end
  field = field or "end_ms"
  if FIELDS[field] ~= "time" then error("q.bucket: expected \"start_ms\" or \"end_ms\"", 2) end
  return setmetatable({ name = "time", kind = "time",
    code = function(g) return fmt("%s(f.%s / %.17g) * %.17g", g:up(floor), field, w, w) end }, Key)
end

--- A key: the other end of a flow of host (an address or prefix): its
-- peer.  Flows host is not part of are left out of a query grouped by it.
function M.peer(host)
  local trie, err = prefix_set(host)
  if not trie then error("q.peer: " .. err, 2) end
  local match = C.hf_prefixes_match
  local function other(f)
    if match(trie, f.src) ~= 0 then return fstr(f.dst, 16) end
    if match(trie, f.dst) ~= 0 then return fstr(f.src, 16) end
    return nil
  end
  return setmetatable({ name = "peer", kind = "addr", nilable = true,
    code = function(g) return g:up(other) .. "(f)" end, out = M.addr }, Key)
end

--- A key: "out" for a flow host sent, "in" for one it received.
function M.direction(host)
  local trie, err = prefix_set(host)
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

-- ------------------------------------------------------------------------
-- Queries
-- ------------------------------------------------------------------------

local Query = {}
Query.__index = Query

-- Where the script made a query, for messages about it found later.
local function caller(level)
  local info = debug.getinfo(level + 1, "Sl")
  if not info then return "?" end
  return fmt("%s:%d", info.short_src, info.currentline or 0)
end

local session   -- the queries and callbacks of the script being run

--- A new query over every flow read.  Chain where, group_by, aggregates,
-- having, sort/top/limit and each; it is run and printed at the end.
function M.flows()
  local query = setmetatable({
    preds = {}, keys = {}, aggs = {}, columns = {}, eaches = {}, where_at = {},
    made_at = caller(2),
  }, Query)
  session.queries[#session.queries + 1] = query
  return query
end

local function fail(level, fmt_, ...)
  error(fmt(fmt_, ...), level + 1)
end

-- Predicates: each makes a line of code from a value of where{}.

local function port_pred(g, name, v)
  local fields = name == "port" and { "f.sport", "f.dport" } or { "f." .. name }
  local set = ffi.new("uint8_t[65536]")
  local list = type(v) == "table" and v or { v }
  local single = type(v) == "number" and v
  for _, p in ipairs(list) do
    local lo, hi
    if type(p) == "number" then lo, hi = p, p
    elseif type(p) == "string" then
      local a, b = p:match("^(%d+)%-(%d+)$")
      lo, hi = tonumber(a or p), tonumber(b or p)
    end
    if not lo or not hi or lo % 1 ~= 0 or hi % 1 ~= 0 or lo < 0 or hi > 65535 or lo > hi then
      return nil, fmt("%s: expected a port (0..65535), a range \"1024-65535\" or a list, got %s",
                      name, tostring(p))
    end
    for i = lo, hi do set[i] = 1 end
  end
  if #list == 0 then return nil, name .. ": an empty list matches nothing" end
  local parts = {}
  for _, fld in ipairs(fields) do
    parts[#parts + 1] = single and fmt("%s == %d", fld, single) or fmt("%s[%s] ~= 0", g:up(set), fld)
  end
  return "(" .. table.concat(parts, " or ") .. ")"
end

local function addr_pred(g, name, v)
  local trie, err = prefix_set(v)
  if not trie then return nil, name .. ": " .. err end
  local t, m = g:up(trie), g:up(C.hf_prefixes_match)
  if name == "host" then return fmt("(%s(%s, f.src) ~= 0 or %s(%s, f.dst) ~= 0)", m, t, m, t) end
  return fmt("%s(%s, f.%s) ~= 0", m, t, name)
end

local function proto_pred(_, v)
  local list = type(v) == "table" and v or { v }
  local parts = {}
  for _, p in ipairs(list) do
    local n = proto_number(p)
    if not n then return nil, fmt("proto: expected a number or a name such as \"tcp\", got %s", tostring(p)) end
    parts[#parts + 1] = "f.proto == " .. n
  end
  if #parts == 0 then return nil, "proto: an empty list matches nothing" end
  return "(" .. table.concat(parts, " or ") .. ")"
end

local FLAG_BITS = { F = 0x01, S = 0x02, R = 0x04, P = 0x08, A = 0x10, U = 0x20, E = 0x40, C = 0x80 }

local function flags_pred(g, v)
  local mask = 0
  if type(v) == "number" and v >= 0 and v <= 255 and v % 1 == 0 then mask = v
  elseif type(v) == "string" and v:match("^[FSRPAUECfsrpauec]+$") then
    for ch in v:upper():gmatch(".") do mask = bit.bor(mask, FLAG_BITS[ch]) end
  else
    return nil, "flags: expected TCP flag letters such as \"SA\" (all set) or a number, got " .. tostring(v)
  end
  return fmt("%s(f.tcp_flags, %d) == %d", g:up(bit.band), mask, mask)
end

-- where{} keys, each a function(gen, value, data) -> code or nil, message;
-- from/to are resolved when the data span is known (run time).
local WHERE = {
  src = function(g, v) return addr_pred(g, "src", v) end,
  dst = function(g, v) return addr_pred(g, "dst", v) end,
  host = function(g, v) return addr_pred(g, "host", v) end,
  sport = function(g, v) return port_pred(g, "sport", v) end,
  dport = function(g, v) return port_pred(g, "dport", v) end,
  port = function(g, v) return port_pred(g, "port", v) end,
  proto = proto_pred,
  flags = function(g, v) return flags_pred(g, v) end,
  family = function(_, v)
    if v ~= 4 and v ~= 6 then return nil, "family: expected 4 or 6" end
    return "f.family == " .. v
  end,
}
local WHERE_KEYS = "src, dst, host (either end), sport, dport, port (either), proto, family, flags, from, to"

--- Keep only the flows that match every condition: a table of
-- { src=, dst=, host=, sport=, dport=, port=, proto=, family=, flags=,
--   from=, to= }, or a function(flow) -> boolean.  Calls add up (and).
function Query:where(spec)
  if type(spec) == "function" then
    self.preds[#self.preds + 1] = { fn = spec }
    return self
  end
  if type(spec) ~= "table" then fail(2, "where: expected a table such as { dport = 443 } or a function(flow)") end
  local probe = new_gen()
  for k, v in pairs(spec) do
    if k == "from" or k == "to" then
      local ms, err = parse_time(v)
      if ms == nil then fail(2, "where: %s: %s", k, err) end
      self.preds[#self.preds + 1] = { time = k, value = v }
      if ms == false then self.needs_span = true end
    elseif WHERE[k] then
      local code, err = WHERE[k](probe, v)     -- checked now, so the error points at the script
      if not code then fail(2, "where: %s", err) end
      self.preds[#self.preds + 1] = { key = k, value = v }
    else
      fail(2, "where: unknown condition %q (expected %s, or a function(flow))", tostring(k), WHERE_KEYS)
    end
  end
  return self
end

--- Group the flows by one or more keys: flow fields ("src", "dport", ...)
-- or keys made by q.prefix, q.bucket, q.peer, q.direction, q.key.
function Query:group_by(...)
  for i = 1, select("#", ...) do
    local k, err = as_key((select(i, ...)))
    if not k then fail(2, "group_by: %s", err) end
    self:add_column(k.name, k.kind, 3)   -- 1 add_column, 2 group_by, 3 the script
    self.keys[#self.keys + 1] = k
  end
  return self
end

function Query:add_column(name, kind, level)
  for _, c in ipairs(self.columns) do
    if c.name == name then
      fail(level, "a column named %q already exists; name this one (the last argument)", name)
    end
  end
  self.columns[#self.columns + 1] = { name = name, kind = kind }
end

-- Aggregates: slots in the group table, code to update them, their value.
-- level: of the script, as error() counts from add_agg.
local function add_agg(self, agg, level)
  self:add_column(agg.name, agg.kind, level + 1)
  self.aggs[#self.aggs + 1] = agg
end

local function numeric_field(what, field, level)
  if type(field) ~= "string" or not FIELDS[field] or FIELDS[field] == "addr" then
    fail(level + 1, "%s: expected a numeric flow field (sport, dport, proto, packets, bytes, start_ms, "
         .. "end_ms, duration_ms, ...), got %s", what, tostring(field))
  end
  return field_code(field)
end

--- Number of flows (column "flows", or the name given).
function Query:count(as)
  add_agg(self, { name = as or "flows", kind = "num", init = { 0 },
    code = function(_, j) return fmt("g[%d] = g[%d] + 1", j, j) end }, 3)
  return self
end

--- Sum of a numeric field (column named like the field, or as given).
function Query:sum(field, as)
  local e = numeric_field("sum", field, 2)
  add_agg(self, { name = as or field, kind = "num", init = { 0 },
    code = function(_, j) return fmt("g[%d] = g[%d] + %s", j, j, e) end }, 3)
  return self
end

--- Smallest value of a field (column "min_<field>").
local function min_agg(self, field, as, level)
  local e = numeric_field("min", field, level + 1)
  add_agg(self, { name = as or "min_" .. field, kind = FIELDS[field], init = { huge },
    code = function(_, j) return fmt("do local v = %s if v < g[%d] then g[%d] = v end end", e, j, j) end },
    level + 2)
  return self
end
function Query:min(field, as) return (min_agg(self, field, as, 2)) end

--- Largest value of a field (column "max_<field>").
local function max_agg(self, field, as, level)
  local e = numeric_field("max", field, level + 1)
  add_agg(self, { name = as or "max_" .. field, kind = FIELDS[field], init = { -huge },
    code = function(_, j) return fmt("do local v = %s if v > g[%d] then g[%d] = v end end", e, j, j) end },
    level + 2)
  return self
end
function Query:max(field, as) return (max_agg(self, field, as, 2)) end

--- Mean of a field (column "avg_<field>").
function Query:avg(field, as)
  local e = numeric_field("avg", field, 2)
  add_agg(self, { name = as or "avg_" .. field, kind = "num", init = { 0, 0 },
    code = function(_, j) return fmt("g[%d] = g[%d] + %s; g[%d] = g[%d] + 1", j, j, e, j + 1, j + 1) end,
    value = function(g, j) return g[j] / g[j + 1] end }, 3)
  return self
end

--- When the group was first seen: the earliest flow start (column "first_seen").
function Query:first_seen(as) return (min_agg(self, "start_ms", as or "first_seen", 2)) end
--- When it was last seen: the latest flow end (column "last_seen").
function Query:last_seen(as) return (max_agg(self, "end_ms", as or "last_seen", 2)) end

--- Number of distinct values of a field or key (column "distinct_<name>"):
-- exact, a Lua set per group.
function Query:distinct(what, as)
  local k, err = as_key(what)
  if not k then fail(2, "distinct: %s", err) end
  add_agg(self, { name = as or "distinct_" .. k.name:gsub("/", "_"), kind = "num",
    init = { false, 0 },    -- the set is made per group (see new_group)
    set = true,
    code = function(g, j)
      return fmt("do local v = %s if v ~= nil and g[%d][v] == nil then g[%d][v] = true; g[%d] = g[%d] + 1 end end",
                 k.code(g), j, j, j + 1, j + 1)
    end,
    value = function(grp, j) return grp[j + 1] end }, 3)
  return self
end

--- Keep only the rows for which fn(row) is true, once every flow is read;
-- row holds the columns by name (times in ms, addresses as text).
function Query:having(fn)
  if type(fn) ~= "function" then fail(2, "having: expected a function(row)") end
  self.having_fn = fn
  return self
end

--- Sort the rows by a column: aggregates largest first, keys smallest
-- first, unless "asc" or "desc" is given.  Ties go by the keys.
function Query:sort(column, order)
  if order ~= nil and order ~= "asc" and order ~= "desc" then fail(2, "sort: order is \"asc\" or \"desc\"") end
  self.sort_col, self.sort_order, self.sort_at = column, order, caller(2)
  return self
end

--- At most n rows.
function Query:limit(n)
  if type(n) ~= "number" or n < 0 or n % 1 ~= 0 then fail(2, "limit: expected a whole number") end
  self.limit_n = n
  return self
end

--- The n rows largest in a column (the first aggregate when none is given).
function Query:top(n, column)
  self:limit(n)
  self.sort_col, self.sort_order, self.sort_at = column, "desc", caller(2)
  self.sort_first_agg = column == nil
  return self
end

--- Call fn(flow, line) for every flow that passes where (and whose group
-- keys are not nil); flow points into the batch (q.copy keeps it).
function Query:each(fn)
  if type(fn) ~= "function" then fail(2, "each: expected a function(flow, line)") end
  self.eaches[#self.eaches + 1] = fn
  return self
end

--- A heading printed above the table.
function Query:title(text)
  self.title_text = tostring(text)
  return self
end

--- Do not print this query (its rows stay available: query:rows()).
function Query:hidden()
  self.hidden_flag = true
  return self
end

-- Printed at the end: not hidden, and not a query that only calls each().
function Query:shown()
  return not self.hidden_flag and not (#self.eaches > 0 and #self.keys == 0 and #self.aggs == 0)
end

-- ------------------------------------------------------------------------
-- Running a query
-- ------------------------------------------------------------------------

-- The listing a query without keys, aggregates or each() gives: the flows.
local LISTING = {
  { name = "start_ms", kind = "time" }, { name = "end_ms", kind = "time" },
  { name = "src", kind = "addr" }, { name = "sport", kind = "num" },
  { name = "dst", kind = "addr" }, { name = "dport", kind = "num" },
  { name = "proto", kind = "num" }, { name = "packets", kind = "num" },
  { name = "bytes", kind = "num" }, { name = "tcp_flags", kind = "num" },
  { name = "line", kind = "num" },
}

function Query:is_listing()
  return #self.keys == 0 and #self.aggs == 0 and #self.eaches == 0
end

-- Compile the query into function(flows, lines, n, pos) over one batch.
function Query:compile(data, index)
  local g = new_gen()
  local conds = {}
  for _, p in ipairs(self.preds) do
    if p.fn then
      conds[#conds + 1] = g:up(p.fn) .. "(f)"
    elseif p.time then
      local ms, err = parse_time(p.value, data)
      if not ms then error(fmt("%s: where: %s: %s", self.made_at, p.time, err), 0) end
      conds[#conds + 1] = fmt(p.time == "from" and "f.end_ms >= %.17g" or "f.end_ms < %.17g", ms)
    else
      conds[#conds + 1] = assert(WHERE[p.key](g, p.value))
    end
  end
  local body = {}
  local ends = 0
  local function emit(line) body[#body + 1] = line end
  emit("return function(flows, lines, n, pos)")
  emit("  for i = 0, n - 1 do")
  emit("    pos[0] = i")
  emit("    local f = flows[i]")
  if #conds > 0 then emit("    if " .. table.concat(conds, " and ") .. " then"); ends = ends + 1 end

  self.state = { groups = {}, list = {}, rows = nil }
  local st = self.state
  if self:is_listing() then
    local cap = (not self.sort_col) and self.limit_n or huge
    local keep = function(f, line)
      local list = st.list
      if #list < cap then list[#list + 1] = { flow = M.copy(f), line = line } end
    end
    emit("      " .. g:up(keep) .. "(f, lines[i])")
  elseif #self.keys > 0 or #self.aggs > 0 then
    local nkeys = #self.keys
    local slots = {}       -- initial value per slot; a set is made per group
    for _, a in ipairs(self.aggs) do
      a.slot = #slots + 1
      for _, v in ipairs(a.init) do slots[#slots + 1] = v end
    end
    local list = st.list
    local function new_group(...)
      local grp = { keys = { ... } }
      for j, v in ipairs(slots) do grp[j] = v end
      for _, a in ipairs(self.aggs) do if a.set then grp[a.slot] = {} end end
      list[#list + 1] = grp
      return grp
    end
    if nkeys == 0 then
      st.single = new_group()
      emit("      local g = " .. g:up(st.single))
    else
      local names = {}
      for k, key in ipairs(self.keys) do
        names[k] = "k" .. k
        emit(fmt("      local k%d = %s", k, key.code(g)))
        if key.nilable then emit(fmt("      if k%d ~= nil then", k)); ends = ends + 1 end
      end
      local t = g:up(st.groups)
      for k = 1, nkeys - 1 do
        emit(fmt("      local t%d = %s[k%d]", k, t, k))
        emit(fmt("      if t%d == nil then t%d = {}; %s[k%d] = t%d end", k, k, t, k, k))
        t = "t" .. k
      end
      emit(fmt("      local g = %s[k%d]", t, nkeys))
      emit(fmt("      if g == nil then g = %s(%s); %s[k%d] = g end",
               g:up(new_group), table.concat(names, ", "), t, nkeys))
    end
    for _, a in ipairs(self.aggs) do emit("      " .. a.code(g, a.slot)) end
  end
  for _, fn in ipairs(self.eaches) do emit("      " .. g:up(fn) .. "(f, lines[i])") end
  for _ = 1, ends do emit("    end") end
  emit("  end")
  emit("end")
  self.source = table.concat(body, "\n")
  self.run = g:load(self.source, fmt("query %d (%s)", index, self.made_at))
end

-- Compare two values of a column: numbers, then strings, then the rest.
local function less(a, b)
  local ta, tb = type(a), type(b)
  if ta == tb and (ta == "number" or ta == "string") then return a < b end
  if ta == "number" then return true end
  if tb == "number" then return false end
  return tostring(a) < tostring(b)
end

-- The result rows of a finished query: { row, ... } with row[column].
function Query:rows()
  if self.result then return self.result end
  if not self.state then error("query:rows(): the flows have not been read yet", 2) end
  local st, rows = self.state, {}
  if self:is_listing() then
    for _, item in ipairs(st.list) do
      local f = item.flow
      rows[#rows + 1] = {
        start_ms = f.start_ms, end_ms = f.end_ms, src = M.addr(f.src), sport = f.sport,
        dst = M.addr(f.dst), dport = f.dport, proto = f.proto, packets = f.packets,
        bytes = f.bytes, tcp_flags = f.tcp_flags, line = item.line, [0] = { item.line },
      }
    end
  else
    for _, grp in ipairs(st.list) do
      local row = { [0] = grp.keys }          -- raw keys, for ordering
      for k, key in ipairs(self.keys) do
        local raw = grp.keys[k]
        row[key.name] = key.out and key.out(raw) or raw
      end
      for _, a in ipairs(self.aggs) do
        local v = a.value and a.value(grp, a.slot) or grp[a.slot]
        if v == huge or v == -huge then v = nil end
        row[a.name] = v
      end
      rows[#rows + 1] = row
    end
  end
  if self.having_fn then
    local kept = {}
    for _, row in ipairs(rows) do if self.having_fn(row) then kept[#kept + 1] = row end end
    rows = kept
  end
  -- order: by the sort column, then by the keys (raw: addresses by their bytes)
  local col, desc = self.sort_col, nil
  if self.sort_first_agg and #self.aggs > 0 then col = self.aggs[1].name end
  local columns = self:output_columns()
  if col then
    local known = false
    for _, c in ipairs(columns) do if c.name == col then known = true end end
    if not known then
      error(fmt("%s: sort: no column %q in this query", self.sort_at or self.made_at, col), 0)
    end
    local is_agg = false
    for _, a in ipairs(self.aggs) do if a.name == col then is_agg = true end end
    desc = self.sort_order == "desc" or (self.sort_order == nil and is_agg)
  end
  local function by_keys(a, b)
    local ka, kb = a[0], b[0]
    for i = 1, #ka do
      if ka[i] ~= kb[i] then return less(ka[i], kb[i]) end
    end
    return false
  end
  table.sort(rows, function(a, b)
    if col then
      local va, vb = a[col], b[col]
      if va ~= vb then
        if va == nil then return false end
        if vb == nil then return true end
        if desc then return less(vb, va) end
        return less(va, vb)
      end
    end
    return by_keys(a, b)
  end)
  if self.limit_n and #rows > self.limit_n then
    for i = #rows, self.limit_n + 1, -1 do rows[i] = nil end
  end
  self.result = rows
  return rows
end

function Query:output_columns()
  if self:is_listing() then return LISTING end
  return self.columns
end

-- ------------------------------------------------------------------------
-- Output: table, CSV, JSON
-- ------------------------------------------------------------------------

local function num_text(v, table_fmt)
  if v ~= v then return "nan" end
  if v == floor(v) and v > -2^53 and v < 2^53 then return fmt("%.0f", v) end
  if v == huge then return "inf" elseif v == -huge then return "-inf" end
  return fmt(table_fmt and "%.3f" or "%.10g", v)
end

-- A value as text for a column of kind kind (nil: "").
local function cell(v, kind, table_fmt)
  if v == nil then return "" end
  if kind == "time" and type(v) == "number" then return M.time(v) end
  if type(v) == "number" then return num_text(v, table_fmt) end
  if type(v) == "cdata" then return tostring(tonumber(v)) end
  return tostring(v)
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local esc = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
    return esc[c] or fmt("\\u%04x", c:byte())
  end) .. '"'
end

local function json_value(v, kind)
  if v == nil then return "null" end
  if kind == "time" and type(v) == "number" then return json_string(M.time(v)) end
  if type(v) == "number" then
    if v ~= v or v == huge or v == -huge then return "null" end
    return num_text(v)
  end
  if type(v) == "boolean" then return tostring(v) end
  return json_string(tostring(v))
end

local function csv_field(s)
  if s:find('[,"\r\n]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

-- Render rows with columns ({ name, kind }) in format; returns the text.
local function render(rows, columns, format, title)
  local out = {}
  if format == "json" then
    for _, row in ipairs(rows) do
      local parts = {}
      for i, c in ipairs(columns) do
        parts[i] = json_string(c.name) .. ":" .. json_value(row[c.name], c.kind)
      end
      out[#out + 1] = "{" .. table.concat(parts, ",") .. "}\n"
    end
  elseif format == "csv" then
    local head = {}
    for i, c in ipairs(columns) do head[i] = csv_field(c.name) end
    out[1] = table.concat(head, ",") .. "\n"
    for _, row in ipairs(rows) do
      local parts = {}
      for i, c in ipairs(columns) do parts[i] = csv_field(cell(row[c.name], c.kind)) end
      out[#out + 1] = table.concat(parts, ",") .. "\n"
    end
  else
    local texts, width, right = {}, {}, {}
    for i, c in ipairs(columns) do
      width[i] = #c.name
      right[i] = c.kind == "num" or c.kind == "any"
    end
    for r, row in ipairs(rows) do
      local t = {}
      for i, c in ipairs(columns) do
        local v = row[c.name]
        t[i] = cell(v, c.kind, true)
        if #t[i] > width[i] then width[i] = #t[i] end
        if v ~= nil and type(v) ~= "number" then right[i] = false end
      end
      texts[r] = t
    end
    local function line(t)
      local parts = {}
      for i = 1, #columns do
        local pad = string.rep(" ", width[i] - #t[i])
        parts[i] = right[i] and pad .. t[i] or t[i] .. pad
      end
      return (table.concat(parts, "  "):gsub("%s+$", "")) .. "\n"
    end
    if title then out[#out + 1] = title .. "\n" end
    local head = {}
    for i, c in ipairs(columns) do head[i] = c.name end
    out[#out + 1] = line(head)
    for _, t in ipairs(texts) do out[#out + 1] = line(t) end
  end
  return table.concat(out)
end

--- Print rows (a list of tables) with the columns given (a list of names,
-- or of { name, kind = "time"|"addr"|"num"|"text" }) in the output format
-- of the run, under an optional title (tables only).  For q.on_end.
function M.print(rows, columns, title)
  if type(rows) ~= "table" or type(columns) ~= "table" then
    error("q.print: expected a list of rows and a list of column names", 2)
  end
  local cols = {}
  for i, c in ipairs(columns) do
    cols[i] = type(c) == "table" and { name = c[1] or c.name, kind = c.kind or "any" } or { name = c, kind = "any" }
  end
  session.printed = session.printed + 1
  if session.printed > 1 and session.format == "table" then session.write("\n") end
  session.write(render(rows, cols, session.format, title))
end

--- Run fn() once every flow is read (q.data is then complete), before the
-- queries are printed.
function M.on_end(fn)
  if type(fn) ~= "function" then error("q.on_end: expected a function", 2) end
  session.on_end[#session.on_end + 1] = fn
end

-- ------------------------------------------------------------------------
-- Script arguments
-- ------------------------------------------------------------------------

local UsageError = {}

--- Stop the script with a usage message (exit status 2): q.usage("ADDRESS").
function M.usage(text)
  error(setmetatable({ message = text }, UsageError), 2)
end

--- Options of the script's arguments: q.getopt { top = 10, last = "1h", from = "", v = false }
-- reads "--top 20 --last=30m --from 2026-11-26T14:00:00Z -v" into a table
-- with those keys: numbers and booleans as the defaults' types, text
-- otherwise ("" is text with no default: nil unless given), and the other
-- arguments in its list part.  An unknown option stops with a usage message.
function M.getopt(defaults)
  defaults = defaults or {}
  local opt, known, args, i = {}, {}, M.args, 1
  for k, v in pairs(defaults) do
    known[k] = type(v)
    if v ~= "" then opt[k] = v end
  end
  while i <= #args do
    local a = args[i]
    local name, value = a:match("^%-%-?([%w_%-]+)=(.*)$")
    if not name then name = a:match("^%-%-?([%a][%w_%-]*)$") end
    if name then
      name = name:gsub("%-", "_")
      local kind = known[name]
      if kind == nil then M.usage(fmt("unknown option %s", a)) end
      if kind == "boolean" then
        opt[name] = value == nil or (value ~= "false" and value ~= "0" and value ~= "no")
      else
        if value == nil then
          i = i + 1
          value = args[i]
          if value == nil then M.usage(fmt("option %s needs a value", a)) end
        end
        if kind == "number" then
          local n = tonumber(value)
          if not n then M.usage(fmt("option %s: expected a number, got %q", a, value)) end
          opt[name] = n
        else
          opt[name] = value
        end
      end
    else
      opt[#opt + 1] = a
    end
    i = i + 1
  end
  return opt
end

-- ------------------------------------------------------------------------
-- The engine
-- ------------------------------------------------------------------------

--- Start a session (what main does before it runs a script): opts.args,
-- opts.format ("table", "csv", "json"), opts.write (function(text)).
function M.reset(opts)
  opts = opts or {}
  session = {
    queries = {}, on_end = {}, printed = 0,
    format = opts.format or "table",
    write = opts.write or function(s) io.stdout:write(s) end,
  }
  M.args = opts.args or {}
  M.data = {}
  return M
end
M.reset()

-- Read every batch of source, calling fn(flows, lines, n).
local function each_batch(source, fn)
  while true do
    local flows, lines, n = source.read()
    if n == 0 then return end
    fn(flows, lines, n)
  end
end

local pos = ffi.new("int[1]")

--- Run the session's queries over a source: { read = function() -> flows,
-- lines, n (0 at the end), rewind = function(), spool = function(),
-- name = "flows.ndjson" } and print their results.  Raises an error
-- (with the input line of the flow at fault, for errors while reading).
function M.execute(source)
  local data = M.data
  local two_pass = false
  for _, query in ipairs(session.queries) do two_pass = two_pass or query.needs_span end
  local function span(flows, _, n)
    local first, last = data.first_ms or huge, data.last_ms or -huge
    for i = 0, n - 1 do
      local e = flows[i].end_ms
      if e < first then first = e end
      if e > last then last = e end
    end
    data.first_ms, data.last_ms = first, last
    data.flows = (data.flows or 0) + n
  end
  if two_pass then
    source.spool()
    each_batch(source, span)
    source.rewind()
  end
  data.flows = data.flows or 0
  for k, query in ipairs(session.queries) do query:compile(two_pass and data or nil, k) end
  local queries = session.queries
  each_batch(source, function(flows, lines, n)
    if not two_pass then span(flows, lines, n) end
    for k = 1, #queries do
      local ok, err = xpcall(queries[k].run, debug.traceback, flows, lines, n, pos)
      if not ok then
        if type(err) ~= "string" then error(err, 0) end
        local where = fmt(" (at %s:%.0f)", source.name or "input", lines[pos[0]])
        local msg, tb = err:match("^(.-)(\nstack traceback:.*)$")
        error((msg or err) .. where .. (tb or ""), 0)
      end
    end
  end)
  if data.flows == 0 then data.first_ms, data.last_ms = nil, nil end
  if source.count then
    data.lines, data.rejected = source.count("lines"), source.count("rejected")
  end
  for _, fn in ipairs(session.on_end) do fn() end
  for _, query in ipairs(session.queries) do
    if query:shown() then
      local rows = query:rows()
      session.printed = session.printed + 1
      if session.printed > 1 and session.format == "table" then session.write("\n") end
      session.write(render(rows, query:output_columns(), session.format, query.title_text))
    end
  end
end

-- A source over the C reader (hf_query_input *).
local function c_source(input)
  local flows_p, lines_p = ffi.new("const hf_flow *[1]"), ffi.new("const double *[1]")
  local function check(rc, what)
    if rc < 0 then error(fmt("%s: %s", what, fstr(C.hf_query_input_error(input))), 0) end
  end
  return {
    name = fstr(C.hf_query_input_name(input)),
    read = function()
      local n = C.hf_query_read(input, flows_p, lines_p)
      check(n, "cannot read the flows")
      return flows_p[0], lines_p[0], n
    end,
    spool = function() check(C.hf_query_spool(input), "cannot read the input twice") end,
    rewind = function() check(C.hf_query_rewind(input), "cannot read the input twice") end,
    count = function(name) return C.hf_query_count(input, name) end,
  }
end

-- The lines of a traceback that are the script's own (not this module's,
-- not generated code or C).
local function script_frames(tb, script)
  local keep = {}
  local prefix = "\t" .. script .. ":"
  for line in tb:gmatch("[^\n]+") do
    if line:sub(1, #prefix) == prefix then
      keep[#keep + 1] = (line:gsub("in function 'u%d+'", "in a function given to a query"))
    end
  end
  return keep
end

--- `hostflow query`: opts.script, opts.args, opts.format, opts.input (an
-- hf_query_input *), opts.quiet.  Returns the exit status (0, 1 or 2).
function M.main(opts)
  -- the one shared struct this module reads
  if tonumber(C.hf_ffi_sizeof("hf_flow")) ~= ffi.sizeof("hf_flow") then
    error("the Lua declaration of hf_flow (lua/hostflow/base.lua) does not match the core's", 0)
  end
  M.reset { args = opts.args, format = opts.format }
  local input = ffi.cast("hf_query_input *", opts.input)
  local source = c_source(input)
  local function report(err)
    if getmetatable(err) == UsageError then
      io.stderr:write(fmt("hostflow: query: usage: hostflow query %s [-i FLOWS] -- %s\n", opts.script,
                          err.message))
      return 2
    end
    local text = tostring(err)
    local msg, tb = text:match("^(.-)\nstack traceback:\n(.*)$")
    msg = msg or text
    io.stderr:write("hostflow: query: ", msg, "\n")
    local frames = tb and script_frames(tb, opts.script) or {}
    if #frames > 0 then io.stderr:write("stack traceback (", opts.script, "):\n", table.concat(frames, "\n"), "\n") end
    return 1
  end
  local chunk, err = loadfile(opts.script)
  if not chunk then return report(err) end
  local ok, res = xpcall(chunk, function(e)
    if getmetatable(e) == UsageError then return e end
    return debug.traceback(e, 2)
  end, unpack(M.args))
  if not ok then return report(res) end
  M.data.lines = nil
  ok, res = xpcall(M.execute, function(e)
    if getmetatable(e) == UsageError or type(e) ~= "string" then return e end
    if e:find("\nstack traceback:", 1, true) then return e end
    return debug.traceback(e, 2)
  end, source)
  if not ok then return report(res) end
  return 0
end

return M
