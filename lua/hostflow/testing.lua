-- hostflow.testing: run an analysis outside hostflow, for busted specs and
-- for trying an analysis by hand.
--
--   local testing = require "hostflow.testing"
--   local t = testing.load("analyses/peer_number.lua")   -- or an analysis table
--   t:feed { src = "10.0.0.1", dst = "192.0.2.7", dport = 443 }
--   t:feed { src = "10.0.0.1", dst = "192.0.2.8", dport = 443 }
--   assert.equal(2, t:result("10.0.0.1"))
--
--   local strict = testing.load("analyses/port_scan.lua", { params = { threshold = 5 } })
--
-- A result() that takes a context (result(s, params, ctx), see
-- hostflow.context) gets one: t:result(host, { start_ms = ..., granularity_s
-- = 60 }) names the window (default: the minute of DEFAULT_FLOW's time);
-- the alerts it raises go through the core's own alert table (held
-- opts.hold_ms, default 10 min) and are listed by t:alerts() (each { rule,
-- observed, expected, score, details, status = "new" | "update" | "held",
-- host, window = { start_ms, end_ms, granularity_s } }) and, as the
-- host_alert records hostflow would write, by t:alert_records().
--
-- A run holds one window: a state per source host, made and merged by the
-- core's own C functions (hf_state_init, hf_state_merge), so what a spec sees
-- is what hostflow computes.  Flow fields not given take the defaults below.

local ffi = require "ffi"
local base = require "hostflow.base"
local hf = require "hostflow"
local schema = require "hostflow.schema"
local params = require "hostflow.params"
local json = require "hostflow.json"
local context = require "hostflow.context"
local bit = require "bit"

local C = base.C
local CFLOW = ffi.typeof("const hf_flow *")    -- an analysis sees a flow it cannot change
local M = {}

M.DEFAULT_FLOW = {
  src = "10.0.0.1", dst = "192.0.2.1", sport = 40000, dport = 443, proto = 6,
  packets = 1, bytes = 100, start_ms = 1764165600000, end_ms = 1764165600000,
  tcp_flags = 0,
}

local Run = {}
Run.__index = Run

local function parse_addr_text(text)
  local out, fam = ffi.new("uint8_t[16]"), ffi.new("uint8_t[1]")
  if C.hf_addr_parse(text, #text, out, fam) ~= 0 then error("not an address: " .. text, 3) end
  return out, fam[0]
end

local function parse_addr(text, field)
  local out, fam = ffi.new("uint8_t[16]"), ffi.new("uint8_t[1]")
  if C.hf_addr_parse(text, #text, out, fam) ~= 0 then
    error(string.format("flow.%s: not an address: %q", field, text), 3)
  end
  return out, fam[0]
end

-- ------------------------------------------------------------------------
-- Profiles: absorb windows, read the state, report
-- ------------------------------------------------------------------------

local Profile = {}
Profile.__index = Profile

--- A run of a profile (hf.profile): t:absorb(host, stats, window, sets)
-- feeds one closed window of a host (stats: { bytes = ..., ... } by the
-- profile's own names, absent ones NaN; window: { start_ms, granularity_s },
-- default the profile's granularity at DEFAULT_WINDOW; sets: { dports =
-- { 22, 443 } } for ctx:values); t:state(host) is its state (a cdata view),
-- t:report(host) its report(), t:alerts() and t:alert_records() as for
-- analyses.
local function load_profile(spec, opts)
  local profiles = require "hostflow.runtime.profiles"
  local values, err = params.resolve(spec, opts and opts.params)
  if not values then error(err, 3) end
  local s = schema.build(spec, 64)
  local cs = ffi.new("hf_schema")
  cs.fields, cs.nfields, cs.size = s.fields, s.nfields, s.size
  local t = setmetatable({
    spec = spec, schema = s, cschema = cs, states = {}, hosts = {}, opts = opts,
    params = params.view(values), stats = profiles.stats_of(spec),
    g_ms = profiles.granularity_ms(spec),
  }, Profile)
  t.x = ffi.new(t.stats.ct)
  return Run.with_context(t, spec.name, opts)
end

--- The state of a host (made and initialised by the core when new).
function Profile:state(host)
  local st = self.states[host]
  if not st then
    st = ffi.new(self.schema.ct)
    C.hf_state_init(self.cschema, ffi.cast("uint8_t *", st))
    self.states[host] = st
    self.hosts[#self.hosts + 1] = host
  end
  return ffi.cast(self.schema.ptr, st)
end

--- Absorb one closed window of host (see load_profile).
function Profile:absorb(host, stats, window, sets)
  window = window or { start_ms = M.DEFAULT_WINDOW.start_ms, granularity_s = self.g_ms / 1000 }
  local ctx = Run.at(self, host, window)
  local x = self.x
  for _, name in ipairs(self.stats.names) do
    local v = stats[name]
    x[name] = v == nil and 0 / 0 or v
  end
  ctx.values = function(_, name)
    local list = sets and sets[name]
    if not list then return nil end
    local arr = ffi.new("uint16_t[?]", math.max(#list, 1))
    for i, v in ipairs(list) do arr[i - 1] = v end
    return #list, arr
  end
  self.spec.absorb(self:state(host)[0], x, ctx, self.params)
  return self
end

--- The host's report (what its host_profile record holds under "profile").
function Profile:report(host, period)
  local rctx = { period = period or { start_ms = 0, end_ms = 0 }, host = function() return host end }
  return self.spec.report(self:state(host)[0], self.params, rctx)
end

--- A run of one analysis (a path, or a table made by hf.analysis).  opts:
-- params (values of its parameters, as the configuration's
-- analyses.params.NAME would set them; the others keep their defaults),
-- distinct_exact.
function M.load(spec, opts)
  if type(spec) == "string" then
    local runtime = require "hostflow.runtime"
    local loaded, err = runtime.load_file(spec)
    if not loaded then error(err, 2) end
    spec = loaded
  else
    local ok, err = hf.validate(spec)
    if not ok then error(err, 2) end
  end
  if spec.kind == "profile" then return load_profile(spec, opts) end
  local values, err = params.resolve(spec, opts and opts.params)
  if not values then error(err, 2) end
  local s = schema.build(spec, opts and opts.distinct_exact or base.DISTINCT_EXACT)
  local cs = ffi.new("hf_schema")
  cs.fields, cs.nfields, cs.size = s.fields, s.nfields, s.size
  return setmetatable({
    spec = spec, schema = s, cschema = cs, states = {}, hosts = {}, opts = opts,
    params = params.view(values),                                -- what update and result get
    arena = ffi.gc(C.hf_ffi_arena_new(), C.hf_ffi_arena_free),   -- this run's window memory
    result_fn = spec.result or schema.default_result(s),
  }, Run):with_context(spec.name, opts)
end

M.DEFAULT_WINDOW = { start_ms = 1764165600000, granularity_s = 60 }

-- A context for the run's rules (result(s, params, ctx)), and the list its
-- alerts are collected in.
function Run:with_context(name, opts)
  self.solo = context.solo(opts and opts.hold_ms)
  self.ctx = self.solo:context(name)
  self.raised = {}
  self.ctx.on_alert = function(ctx, a, rule, status)
    local w = ctx.window
    self.raised[#self.raised + 1] = {
      rule = rule, observed = a.observed, expected = a.expected, score = a.score, details = a.details,
      status = status, host = ctx:host(),
      window = { start_ms = w.start_ms, end_ms = w.end_ms, granularity_s = w.granularity_s },
    }
  end
  return self
end

--- Point the run's context at host (text) in window ({ start_ms,
-- granularity_s }, default M.DEFAULT_WINDOW).
function Run:at(host, window)
  window = window or M.DEFAULT_WINDOW
  local addr = parse_addr(host, "host")
  self.solo:at(addr)
  self.ctx:set_window(window.start_ms, (window.granularity_s or 60) * 1000)
  return self.ctx
end

--- The alerts raised so far (see the top of this file); emptied when
-- reset is true.
function Run:alerts(reset)
  local out = self.raised
  if reset then self.raised = {} end
  return out
end

--- The host_alert records written so far (JSON texts); emptied when reset
-- is true.
function Run:alert_records(reset)
  return self.solo:records(reset)
end

--- A flow (hf_flow) from a table of fields; addresses as text.
function M.flow(t)
  local f = ffi.new("hf_flow")
  local given = t
  t = {}
  for k, v in pairs(M.DEFAULT_FLOW) do t[k] = v end
  for k, v in pairs(given) do t[k] = v end
  if given.end_ms == nil and t.end_ms < t.start_ms then t.end_ms = t.start_ms end
  local src, fam = parse_addr(t.src, "src")
  local dst = parse_addr(t.dst, "dst")
  ffi.copy(f.src, src, 16)
  ffi.copy(f.dst, dst, 16)
  f.family = fam
  for _, k in ipairs { "sport", "dport", "proto", "packets", "bytes", "start_ms", "end_ms", "tcp_flags" } do
    f[k] = t[k]
  end
  return f
end

--- The state of a host, made (and initialised by the core) when new.
function Run:state(host)
  local st = self.states[host]
  if not st then
    st = ffi.new(self.schema.ct)
    C.hf_state_init(self.cschema, ffi.cast("uint8_t *", st))
    self.states[host] = st
    self.hosts[#self.hosts + 1] = host
  end
  return st
end

--- Feed one flow: a table (see DEFAULT_FLOW) or an hf_flow.  Its host is
-- its source, or its destination for an analysis keyed by it (by = "dst");
-- a flow its when() does not take is not fed, and makes no state.
function Run:feed(t)
  local f = type(t) == "table" and M.flow(t) or t
  local spec = self.spec
  if spec.by == "both" then                 -- to its source, then to its destination
    self:feed_side(f, base.addr_text(f.src), false)
    return self:feed_side(f, base.addr_text(f.dst), true)
  end
  return self:feed_side(f, base.addr_text(spec.by == "dst" and f.dst or f.src), nil)
end

-- Feed flow f to host (text); received: nil, or (by = "both") whether the
-- host is its destination.
function Run:feed_side(f, host, received)
  local spec = self.spec
  if spec.when and not spec.when(f, self.params, received) then return self end
  C.hf_ffi_arena_use(self.arena)
  spec.update(ffi.cast(self.schema.ptr, self:state(host))[0], ffi.cast(CFLOW, f)[0], self.params, received)
  return self
end

-- Whether the 16-byte address a lies in one of nets ({ {bytes, bits}, ... }).
local function in_nets(a, nets)
  for _, n in ipairs(nets) do
    local bytes, bits, ok = n[1], n[2], true
    for i = 0, 15 do
      local left = bits - 8 * i
      if left <= 0 then break end
      local mask = left >= 8 and 0xff or bit.band(0xff, bit.lshift(0xff, 8 - left))
      if bit.band(a[i], mask) ~= bit.band(bytes[i], mask) then ok = false break end
    end
    if ok then return true end
  end
  return false
end

-- opts.networks ({"10.0.0.0/8", ...}) as { {bytes, bits} }, IPv4 mapped.
local function parse_nets(list)
  local nets = {}
  for _, text in ipairs(list or {}) do
    local addr, len = text:match("^(.-)/(%d+)$")
    local bytes, fam = parse_addr_text(addr or text)
    local bits = tonumber(len) or (fam == 4 and 32 or 128)
    nets[#nets + 1] = { bytes, fam == 4 and bits + 96 or bits }
  end
  return nets
end

--- Feed every flow of an NDJSON file, decoded by the core's decoder.  With
-- opts.networks (the monitored networks), a flow from outside them is marked
-- so (hf.outside), as hostflow's filter marks it.  Returns the number fed
-- and the number rejected.
function Run:feed_file(path)
  local f = ffi.new("hf_flow")
  local fed, rejected = 0, 0
  local nets = self.opts and self.opts.networks and parse_nets(self.opts.networks)
  local out = base.const("HF_FLOW_SRC_OUT")
  for line in io.lines(path) do
    if C.hf_decode_flow(line, #line, f) == 0 then
      if nets and not in_nets(f.src, nets) then f.mark = out end
      self:feed(f)
      fed = fed + 1
    else
      rejected = rejected + 1
    end
  end
  return fed, rejected
end

--- The result of a host (what goes under stats.<name>), or nil; window
-- (optional): the window its context names (see the top of this file).
function Run:result(host, window)
  local st = self.states[host]
  if not st then return nil end
  return self.result_fn(ffi.cast(self.schema.ptr, st)[0], self.params, self:at(host, window))
end

--- The result of a host as the JSON text of its record field.
function Run:json(host)
  local v = self:result(host)
  if v == nil then return nil end
  return json.tostring(v, self.spec.keys)
end

--- Every host's result: { [host] = result }.
function Run:results()
  local out = {}
  for _, host in ipairs(self.hosts) do out[host] = self:result(host) end
  return out
end

--- Merge another run of the same analysis into this one, host by host, as
-- the core merges a finer window into a coarser one.
function Run:merge(other)
  C.hf_ffi_arena_use(self.arena)
  for _, host in ipairs(other.hosts) do
    C.hf_state_merge(self.cschema, ffi.cast("uint8_t *", self:state(host)),
                     ffi.cast("uint8_t *", other.states[host]), C.hf_arena_current())
  end
  return self
end

--- Serialise a host's state and read it back into a fresh run's host:
-- returns the byte length and the new run.
function Run:roundtrip(host)
  local st = ffi.cast("uint8_t *", self.states[host])
  local need = tonumber(C.hf_state_serialize(self.cschema, st, nil, 0))
  local bytes = ffi.new("uint8_t[?]", need)
  C.hf_state_serialize(self.cschema, st, bytes, need)
  local copy = M.load(self.spec, self.opts)
  copy.schema, copy.cschema = self.schema, self.cschema
  local dst = ffi.cast("uint8_t *", copy:state(host))
  C.hf_ffi_arena_use(copy.arena)
  local used = C.hf_state_deserialize(self.cschema, dst, bytes, need, C.hf_arena_current())
  if used ~= need then error("state did not read back", 2) end
  return need, copy
end

-- a profile's run points its context and lists its alerts as an analysis's does
Profile.at, Profile.alerts, Profile.alert_records = Run.at, Run.alerts, Run.alert_records

return M
