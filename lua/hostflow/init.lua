-- hostflow: what an analysis is written with.
--
--   local hf = require "hostflow"
--   return hf.analysis {
--     name   = "peer_number",
--     state  = { peers = hf.distinct() },           -- per host, per window
--     update = function(s, flow) s.peers:add(flow.dst) end,
--     result = function(s) return s.peers:count() end,
--   }
--
-- The state is declared, never built: the core keeps one copy per host and
-- window, merges finer windows into coarser ones and serialises it, using the
-- primitives below.  update() sees one flow (hf_flow, see lua/README.md) and
-- the host's state; result() turns the state into the host record's value
-- under stats.<name> (a number, a string, a boolean or a table of those; nil
-- leaves the field out).  `keys` (optional) orders the fields of a table
-- result: those listed first, in order, then the others by name.  `params`
-- (optional) declares parameters with their defaults, which the
-- configuration may set (hostflow.params); both functions get them last:
-- update(s, flow, params), result(s, params).  `by = "dst"` (optional)
-- keys the analysis by the flows' destination: its host is the monitored
-- host a flow goes to, and update() sees the flows it receives; `by =
-- "both"` feeds it both, update(s, flow, params, received) telling them
-- apart (received: the host is the flow's destination).  `when`
-- (optional) is a function(flow, params): update() sees only the flows it
-- is true of, and a host none of whose flows it takes has no state at all
-- -- not a byte in its row (a detection that looks at the probes of a scan
-- costs nothing for the hosts that send none); result() runs for the
-- hosts that have one.

local base = require "hostflow.base"
local params = require "hostflow.params"
local json = require "hostflow.json"

local hf = { _VERSION = "0.1.0" }

hf.TCP = { FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08,
           ACK = 0x10, URG = 0x20, ECE = 0x40, CWR = 0x80 }
hf.PROTO = { ICMP = 1, TCP = 6, UDP = 17, ICMPV6 = 58 }

-- ------------------------------------------------------------------------
-- Primitives: the field kinds of a state
-- ------------------------------------------------------------------------

local primitive = {}
primitive.__index = primitive

local function field(kind, ctype, param)
  return setmetatable({ kind = kind, ctype = ctype, param = param or 0 }, primitive)
end

--- A number that only grows by addition (flows, bytes, ...): s.x = s.x + n.
-- A double, exact up to 2^53.  hf.counter{ bits = 32 } is a whole count in
-- 4 bytes instead of 8 (per host and window, so it adds up), up to
-- 4294967295: merging windows stops there rather than wrap.  Counts of flows
-- fit it; bytes and packets need the double.
function hf.counter(opts)
  if opts == nil then return field("sum", "double") end
  if type(opts) ~= "table" or opts.bits ~= 32 then
    error("hf.counter: expected nothing (a double) or { bits = 32 } (a 32-bit count)", 2)
  end
  return field("count32", "uint32_t")
end
--- A sum of numbers (merged by adding): s.x = s.x + v.
function hf.sum() return field("sum", "double") end
--- The smallest value seen (starts at +inf): s.x = math.min(s.x, v).
function hf.min() return field("min", "double") end
--- The largest value seen (starts at -inf): s.x = math.max(s.x, v).
function hf.max() return field("max", "double") end

--- Distinct values: s.x:add(v), s.x:count().  Exact up to `exact` values
-- (default memory.distinct_exact, 1024; at most 65535), a HyperLogLog
-- sketch (0.81% standard error) beyond; numbers below 2^16 (ports) are
-- exact at any count.
function hf.distinct(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("hf.distinct: expected nothing or a table such as { exact = 64 }", 2)
  end
  local exact = opts and opts.exact or 0
  if type(exact) ~= "number" or (opts and opts.exact and exact < 1) or exact > 65535 or exact % 1 ~= 0 then
    error("hf.distinct: exact must be a whole number from 1 to 65535", 2)
  end
  return field("distinct", "hf_distinct", exact)
end

--- The k heaviest keys: s.x:add(key, weight), s.x:items().
function hf.topk(k)
  k = k or 10
  if type(k) ~= "number" or k < 1 or k > 1024 or k % 1 ~= 0 then
    error("hf.topk: k must be a whole number from 1 to 1024", 2)
  end
  return field("topk", "hf_topk", k)
end

-- ------------------------------------------------------------------------
-- Primitives of profiles: kept in place, never merged
-- ------------------------------------------------------------------------

local ffi = require "ffi"

local ARRAY_OF = { double = "double", float = "float", uint32 = "uint32_t", int32 = "int32_t",
                   uint16 = "uint16_t", uint8 = "uint8_t" }

--- A profile's array of n numbers of one type (default "double"; "float",
-- "uint32", "int32", "uint16", "uint8"), all 0 at first: s.x[i] for i =
-- 0 .. n - 1.  For profiles only: a window's state is merged, an array's
-- meaning is the profile's own.
function hf.array(n, of)
  of = of or "double"
  if type(n) ~= "number" or n < 1 or n > 65536 or n % 1 ~= 0 then
    error("hf.array: n must be a whole number from 1 to 65536", 2)
  end
  local ctype = ARRAY_OF[of]
  if not ctype then
    error("hf.array: the type must be double, float, uint32, int32, uint16 or uint8, got " .. tostring(of), 2)
  end
  local f = field("bytes", ctype, n * ffi.sizeof(ctype))
  f.shape, f.count = "array", n
  f.cdecl = string.format("%s[%d]", ctype, n)
  return f
end

-- The set types, one per capacity: struct { uint16_t n; uint16_t v[cap]; }.
local set_types = {}

local function set_type(cap)
  local name = "hf_set" .. cap
  if set_types[cap] then return name end
  base.declare(name, string.format("typedef struct %s { uint16_t n; uint16_t v[%d]; } %s;", name, cap, name))
  local function check(v)
    if type(v) ~= "number" or v < 0 or v > 65535 or v % 1 ~= 0 then
      error("set: expected a whole number from 0 to 65535, got " .. tostring(v), 3)
    end
  end
  -- the values are kept sorted: the same set is the same bytes whatever
  -- order they came in (a profile's file, compared or replayed)
  local methods = {
    -- whether v is in the set
    has = function(st, v)
      for i = 0, st.n - 1 do
        local x = st.v[i]
        if x >= v then return x == v end
      end
      return false
    end,
    -- add v: true when it is in the set now, false when the set was full
    add = function(st, v)
      check(v)
      local n = st.n
      local at = n
      for i = 0, n - 1 do
        local x = st.v[i]
        if x == v then return true end
        if x > v then at = i break end
      end
      if n >= cap then return false end
      for i = n, at + 1, -1 do st.v[i] = st.v[i - 1] end
      st.v[at] = v
      st.n = n + 1
      return true
    end,
    count = function(st) return st.n end,
    full = function(st) return st.n >= cap end,
    -- the values, smallest first (a new Lua list; [] in JSON when empty)
    values = function(st)
      local out = {}
      for i = 0, st.n - 1 do out[i + 1] = st.v[i] end
      return json.list(out)
    end,
  }
  pcall(ffi.metatype, name, { __index = methods })
  set_types[cap] = true
  return name
end

--- A profile's set of up to cap whole numbers from 0 to 65535 (ports):
-- s.x:add(v) (false when full), s.x:has(v), s.x:count(), s.x:full(),
-- s.x:values().  2 + 2 x cap bytes.  For profiles only.
function hf.set(cap)
  cap = cap or 32
  if type(cap) ~= "number" or cap < 1 or cap > 4096 or cap % 1 ~= 0 then
    error("hf.set: the capacity must be a whole number from 1 to 4096", 2)
  end
  local name = set_type(cap)
  local f = field("bytes", name, ffi.sizeof(name))
  f.shape = "set"
  return f
end

function hf.is_primitive(v) return getmetatable(v) == primitive end

--- State keyed below the host: per key (a number or an address), a value
-- of its own, for at most `max` keys (default 64, at most 1024); beyond,
-- the keys asked for most are kept (Space-Saving: a new key takes the
-- lightest one's place, whose value starts afresh).  `of` is the value: a
-- primitive (hf.distinct(), or hf.distinct itself), or a table of them
-- ({ flows = hf.counter{bits = 32}, ports = hf.distinct() }).
--   hf.group{ max = 64, of = hf.distinct }       per destination port, the destinations
--   s.by_port:at(flow.dport):add(flow.dst)
--   for port, dsts, weight in s.by_port:each() do ... dsts:count() ... end
function hf.group(opts)
  if type(opts) ~= "table" then
    error("hf.group: expected a table such as { max = 64, of = hf.distinct }", 2)
  end
  local max = opts.max or 64
  if type(max) ~= "number" or max < 1 or max > 1024 or max % 1 ~= 0 then
    error("hf.group: max must be a whole number from 1 to 1024", 2)
  end
  local of = opts.of
  if type(of) == "function" then of = of() end
  local value
  if hf.is_primitive(of) then
    if of.kind == "group" then error("hf.group: a group's value cannot be a group", 2) end
    if of.kind ~= "distinct" and of.kind ~= "topk" then
      error("hf.group: of: a single value must be hf.distinct() or hf.topk(); "
            .. "for numbers give a table such as { flows = hf.counter() }", 2)
    end
    value = { single = "v", state = { v = of } }
  elseif type(of) == "table" and next(of) ~= nil then
    for k, v in pairs(of) do
      if type(k) ~= "string" or not k:match("^%a[%w_]*$") or not hf.is_primitive(v) then
        error("hf.group: of." .. tostring(k) .. " must be a primitive named by a letter, then letters, digits and _", 2)
      end
      if v.kind == "group" then error("hf.group: a group's value cannot hold a group", 2) end
    end
    value = { state = of }
  else
    error("hf.group: of must be a primitive (hf.distinct) or a table of them", 2)
  end
  local f = field("group", nil, max)
  f.of = value
  return f
end

--- An address (a flow's src or dst) as text.
hf.addr = base.addr_text

base.func("hf_time_format_iso", "size_t hf_time_format_iso(int64_t ms, char *out);")
local C = base.C
local iso_out = ffi.new("char[32]")
--- A time (ms since the epoch, UTC) as the records write it:
-- "2026-11-26T14:00:10.000Z"; nil for NaN or an infinity.  (An analysis's
-- sandbox has no os.date.)
function hf.time(ms)
  if type(ms) ~= "number" or ms ~= ms or ms == math.huge or ms == -math.huge then return nil end
  return ffi.string(iso_out, C.hf_time_format_iso(ms, iso_out))
end

local SRC_OUT = base.const("HF_FLOW_SRC_OUT")
local band = require("bit").band
--- Whether a flow comes from outside the monitored networks (its source is
-- not monitored): for rules keyed by the destination, by = "dst".
function hf.outside(flow) return band(flow.mark, SRC_OUT) ~= 0 end

-- ------------------------------------------------------------------------
-- Analyses
-- ------------------------------------------------------------------------

local c_keywords = {}
for w in ([[auto break case char const continue default do double else enum
  extern float for goto if inline int long register restrict return short signed
  sizeof static struct switch typedef union unsigned void volatile while _Bool
  bool int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t
  asm complex]]):gmatch("%S+") do
  c_keywords[w] = true
end

-- Names become C identifiers (struct fields, record keys): a letter, then
-- letters, digits and _, and no word LuaJIT's C parser reserves.
local function check_name(what, name)
  if type(name) ~= "string" or not name:match("^%a[%w_]*$") or #name > 63 then
    return nil, string.format("%s must be a letter, then letters, digits and _ (at most 63), got %s",
                              what, type(name) == "string" and ("'" .. name .. "'") or type(name))
  end
  if c_keywords[name] then
    return nil, string.format("%s '%s' is a reserved word; choose another", what, name)
  end
  return true
end

--- A duration as hostflow writes them ("10s", "1m", "7d", "500ms"; a
-- number is seconds) in ms, or nil and a message.
function hf.duration(v)
  if type(v) == "number" then return v * 1000 end
  if type(v) ~= "string" then return nil, "expected a duration such as \"1m\" or \"7d\"" end
  local n, unit = v:match("^%s*([%d.]+)%s*(%a*)%s*$")
  local f = ({ [""] = 1000, ms = 1, s = 1000, m = 60000, h = 3600000, d = 86400000, w = 604800000 })[unit or ""]
  n = tonumber(n)
  if not n or not f then return nil, string.format("expected a duration such as \"1m\" or \"7d\", got %q", v) end
  return n * f
end

--- Check an analysis table and mark it as one.  Returns it, or raises an
-- error that says what is wrong.
function hf.analysis(spec)
  local ok, err = hf.validate(spec)
  if not ok then error(err, 2) end
  spec.version = spec.version or 1
  return setmetatable(spec, { __hostflow_analysis = true })
end

--- A profile: a rule whose state belongs to a host, not to a window.
--
--   return hf.profile {
--     name        = "profile",
--     granularity = "1m",                 -- the windows it is fed (default 1m)
--     stats       = { bytes = "total.bytes", peers = "peer_number" },
--     sets        = { dports = "dport_count.ports" },      -- optional: ctx:values("dports")
--     state       = { mean = hf.array(24, "float"), seen = hf.counter() },
--     absorb      = function(p, x, ctx, params) ... end,   -- a closed window of a host
--     report      = function(p, params, ctx) return {...} end,  -- its host_profile record
--   }
--
-- absorb() is called once per host and window of that granularity, in
-- window order, with x.<stat> the value of each declared statistic in the
-- host's record (stats.total.bytes, ...; NaN when the record has none) and
-- ctx the host and window (hostflow.context; ctx:alert raises alerts).
-- report() turns the state into the host_profile record's "profile" field.
-- The state is kept per host across windows (primitives: hf.counter,
-- hf.sum, hf.min, hf.max, hf.array, hf.set), saved to disk, and kept over a
-- reload whose state declaration is unchanged.  lua/README.md, "Profiles".
function hf.profile(spec)
  if type(spec) == "table" then spec.kind = "profile" end
  local ok, err = hf.validate(spec)
  if not ok then error(err, 2) end
  spec.version = spec.version or 1
  spec.granularity = spec.granularity or "1m"
  return setmetatable(spec, { __hostflow_analysis = true })
end

local PROFILE_PRIMITIVES = "hf.counter(), hf.sum(), hf.min(), hf.max(), hf.array(), hf.set()"

local function validate_profile(spec, fail)
  for k, v in pairs(spec.state) do
    if v.kind == "distinct" or v.kind == "topk" or v.kind == "group" then
      return fail("state.%s: a profile's state is kept in place for months and saved to disk: use %s",
                  k, PROFILE_PRIMITIVES)
    end
  end
  if spec.update ~= nil then return fail("a profile has no update(): it absorbs closed windows (absorb)") end
  if spec.when ~= nil or spec.by ~= nil then
    return fail("a profile has no when or by: it absorbs its host's closed windows, not flows")
  end
  if type(spec.absorb) ~= "function" then return fail("absorb must be a function(profile, stats, ctx, params)") end
  if spec.report ~= nil and type(spec.report) ~= "function" then
    return fail("report must be a function(profile, params, ctx)")
  end
  if spec.granularity ~= nil then
    local ms, why = hf.duration(spec.granularity)
    if not ms or ms < 1000 or ms % 1000 ~= 0 then
      return fail("granularity: %s", why or "expected a whole number of seconds, such as \"1m\"")
    end
  end
  if type(spec.stats) ~= "table" then
    return fail("stats must be a table of names and the record fields they read, such as "
                .. "{ bytes = \"total.bytes\" }")
  end
  for k, v in pairs(spec.stats) do
    local ok, err = check_name("stats name", k)
    if not ok then return fail("%s", err) end
    local good = type(v) == "string" and v ~= ""
    for seg in (good and (v .. ".") or ""):gmatch("([^.]*)%.") do
      if not seg:match("^[%a_][%w_]*$") then good = false end
    end
    if not good then
      return fail("stats.%s must name a field of the record's stats, such as \"total.bytes\"", k)
    end
  end
  if spec.sets ~= nil then
    if type(spec.sets) ~= "table" then
      return fail("sets must be a table of names and the window states they read, such as "
                  .. "{ dports = \"dport_count.ports\" }")
    end
    for k, v in pairs(spec.sets) do
      local ok, err = check_name("sets name", k)
      if not ok then return fail("%s", err) end
      if type(v) ~= "string" or not v:match("^%a[%w_]*%.%a[%w_]*$") then
        return fail("sets.%s must name an analysis and a field of its state (an hf.distinct), "
                    .. "such as \"dport_count.ports\"", k)
      end
    end
  end
  return true
end

--- The checks behind hf.analysis and hf.profile: true, or nil and a message.
function hf.validate(spec)
  if type(spec) ~= "table" then return nil, "an analysis is a table" end
  local ok, err = check_name("name", spec.name)
  if not ok then return nil, err end
  local function fail(fmt, ...)
    return nil, string.format("analysis '%s': " .. fmt, spec.name, ...)
  end
  if type(spec.state) ~= "table" then return fail("state must be a table of primitives") end
  for k, v in pairs(spec.state) do
    ok, err = check_name("state field", k)
    if not ok then return fail("%s", err) end
    if not hf.is_primitive(v) then
      return fail("state.%s must be a primitive (hf.counter(), hf.sum(), hf.min(), hf.max(), "
                  .. "hf.distinct(), hf.topk(), hf.group{...}%s), got %s", k,
                  spec.kind == "profile" and "; in a profile hf.array(), hf.set()" or "", type(v))
    end
    if v.kind == "bytes" and spec.kind ~= "profile" then
      return fail("state.%s: hf.array and hf.set are for profiles (hf.profile): a window's state is "
                  .. "merged into coarser windows, and theirs would not be", k)
    end
  end
  if spec.kind == "profile" then
    ok, err = validate_profile(spec, fail)
    if not ok then return nil, err end
  elseif spec.kind ~= nil and spec.kind ~= "analysis" then
    return fail("kind must be \"analysis\" or \"profile\"")
  elseif type(spec.update) ~= "function" then
    return fail("update must be a function(state, flow)")
  end
  if spec.result ~= nil and type(spec.result) ~= "function" then
    return fail("result must be a function(state)")
  end
  if spec.when ~= nil and type(spec.when) ~= "function" then
    return fail("when must be a function(flow, params) saying which flows update() sees")
  end
  if spec.version ~= nil and type(spec.version) ~= "number" then return fail("version must be a number") end
  if spec.by ~= nil and spec.by ~= "src" and spec.by ~= "dst" and spec.by ~= "both" then
    return fail("by must be \"src\" (the flows a host sends, the default), \"dst\" (those it receives) "
                .. "or \"both\"")
  end
  if spec.order ~= nil and type(spec.order) ~= "number" then return fail("order must be a number") end
  if spec.keys ~= nil then
    if type(spec.keys) ~= "table" then return fail("keys must be a list of strings") end
    for i, k in ipairs(spec.keys) do
      if type(k) ~= "string" then return fail("keys[%d] must be a string", i) end
    end
  end
  if spec.params ~= nil then
    local declared, why = params.check_declared(spec.params)
    if not declared then return fail("%s", why) end
  end
  return true
end

return hf
