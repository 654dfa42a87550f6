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

--- Check an analysis table and mark it as one.  Returns it, or raises an
-- error that says what is wrong.
function hf.analysis(spec)
  local ok, err = hf.validate(spec)
  if not ok then error(err, 2) end
  spec.version = spec.version or 1
  return setmetatable(spec, { __hostflow_analysis = true })
end

--- The checks behind hf.analysis: true, or nil and a message.
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
                  .. "hf.distinct(), hf.topk(), hf.group{...}), got %s", k, type(v))
    end
  end
  if type(spec.update) ~= "function" then return fail("update must be a function(state, flow)") end
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
