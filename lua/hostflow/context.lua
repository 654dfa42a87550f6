-- hostflow.context: what a rule knows of where it runs, and how it raises
-- an alert.
--
-- A window analysis's result() that takes a third argument, and a
-- profile's absorb() and report(), get a context:
--
--   result = function(s, params, ctx)
--     ctx.window.start_ms, ctx.window.end_ms, ctx.window.granularity_s
--     ctx:host()                      -- the host's address as text
--     ctx:alert { rule = "port_scan_vertical", observed = n, expected = 20,
--                 score = n / 20, details = { dst_ip = ..., targets = n } }
--     ctx:alerted("port_scan_vertical")   -- observed last reported while open, or nil
--   end
--
-- ctx:alert becomes a host_alert record on the same outputs as the
-- window's records (core/engine/alerts.h: its id, the hold time, updates
-- when the condition grows) and returns "new", "update" or "held".  A
-- context's on_alert(ctx, a, rule, status), when set (hostflow.testing),
-- sees every raise.
--
-- One context object serves every host of a window: the loop sets ctx.i
-- (the host's index in the closing window) before each call, so nothing is
-- made per host; row_of(i) finds the host's row (its hf_host header) only
-- when the rule asks.  A context speaks to the core through a job (an
-- hf_job *): the worker's own, or, outside a worker (hostflow check,
-- hostflow.testing), a job of its own (M.solo) for one host at a time.

local ffi = require "ffi"
local base = require "hostflow.base"
local json = require "hostflow.json"
require "hostflow.runtime.job"       -- hf_job, hf_host

local C = base.C
local M = {}

base.func("hf_job_alert", [[int hf_job_alert(hf_job *job, const uint8_t *row, int64_t start_ms, int64_t g_ms,
  const char *rule, size_t rule_len, double observed, double expected, double score,
  const char *details, size_t details_len);]])
base.func("hf_job_alerted", [[double hf_job_alerted(hf_job *job, const uint8_t *row, int64_t start_ms,
  const char *rule, size_t rule_len);]])

local NAN = 0 / 0
local STATUS = { [0] = "held", [1] = "new", [2] = "update" }

--- Whether a rule name is valid: a letter, then letters, digits and _ (at
-- most 63); it is part of the alert's id.
function M.rule_ok(rule)
  return type(rule) == "string" and #rule <= 63 and rule:match("^%a[%w_]*$") ~= nil
end

local Context = {}
Context.__index = Context
M.Context = Context

local hostp = ffi.typeof("hf_host *")
local distinctp = ffi.typeof("hf_distinct *")
base.func("hf_distinct_values16", "int hf_distinct_values16(const hf_distinct *d, uint16_t *out, int max);")

--- A context for the analysis called name, raising through job (a cdata
-- hf_job *), with row_of(i) giving host i's row (a pointer to its hf_host);
-- window: the table the caller fills for each window (start_ms, end_ms,
-- granularity_s; set_window).
function M.new(name, job, row_of, window)
  return setmetatable({
    i = 0, name = name, job = job, row_of = row_of,
    window = window or { start_ms = 0, end_ms = 0, granularity_s = 0 },
    buf = ffi.gc(ffi.new("hf_buf[1]"), function(b) C.hf_buf_release(b) end),
  }, Context)
end

--- Set the window of the next calls (ms, ms, s).
function Context:set_window(start_ms, g_ms)
  local w = self.window
  w.start_ms, w.end_ms, w.granularity_s = start_ms, start_ms + g_ms, g_ms / 1000
end

--- The host's address, as text.
function Context:host()
  return base.addr_text(ffi.cast(hostp, self.row_of(self.i)).addr)
end

local function number_or_nan(v, what)
  if v == nil then return NAN end
  if type(v) ~= "number" then
    error(string.format("ctx:alert: %s must be a number, got %s", what, type(v)), 3)
  end
  return v
end

--- Raise an alert (see above): a = { rule (default: the analysis's name),
-- observed (a number), expected, score (numbers, optional), details (a
-- table, optional) }.  Returns "new", "update" or "held".
function Context:alert(a)
  if type(a) ~= "table" then
    error("ctx:alert: expected a table { rule = ..., observed = ..., expected = ..., score = ..., details = {...} }", 2)
  end
  local rule = a.rule or self.name
  if not M.rule_ok(rule) then
    error(string.format("ctx:alert: rule must be a letter, then letters, digits and _ (at most 63), got %s",
                        type(rule) == "string" and ("'" .. rule .. "'") or type(rule)), 2)
  end
  if type(a.observed) ~= "number" then
    error("ctx:alert: observed must be a number, got " .. type(a.observed), 2)
  end
  local expected, score = number_or_nan(a.expected, "expected"), number_or_nan(a.score, "score")
  local details, buf = a.details, self.buf
  buf[0].len = 0
  if details ~= nil then
    if type(details) ~= "table" then error("ctx:alert: details must be a table, got " .. type(details), 2) end
    json.encode(buf[0], details, nil, 0)
  end
  local w = self.window
  local rc = C.hf_job_alert(self.job, self.row_of(self.i), w.start_ms, (w.end_ms - w.start_ms), rule, #rule,
                            a.observed, expected, score, buf[0].data, buf[0].len)
  if rc < 0 then error("ctx:alert: too many distinct rules in this worker", 2) end
  if self.on_alert then self.on_alert(self, a, rule, STATUS[rc]) end
  return STATUS[rc]
end

--- The observed value last reported by this host's open alert of rule
-- (default: the analysis's name), or nil when none is open.
function Context:alerted(rule)
  rule = rule or self.name
  local v = C.hf_job_alerted(self.job, self.row_of(self.i), self.window.start_ms, rule, #rule)
  if v ~= v then return nil end
  return v
end

--- A profile's absorb(): the values of a set of the host's window that
-- the profile declares (sets = { dports = "dport_count.ports" }): their
-- number and a 0-based array of them, valid until the next call; nil when
-- the window's set does not hold its values as such (more than 64, or not
-- numbers below 65536) or its analysis does not run.
function Context:values(name)
  local offs = self.set_offsets
  local off = offs and offs[name]
  if not off then return nil end
  local buf = self.values_buf
  if not buf then
    buf = ffi.new("uint16_t[4096]")
    self.values_buf = buf
  end
  local n = C.hf_distinct_values16(ffi.cast(distinctp, self.row_of(self.i) + off), buf, 4096)
  if n < 0 then return nil end
  return n, buf
end

--- Whether a function wants a context: it takes three arguments or more
-- (result(s, params, ctx)), or any number (...).
function M.wants(fn)
  local info = debug.getinfo(fn, "u")
  return info.isvararg or info.nparams >= 3
end

-- ------------------------------------------------------------------------
-- Outside a worker: a job of one's own
-- ------------------------------------------------------------------------

base.func("hf_ffi_job_new", "hf_job *hf_ffi_job_new(int64_t hold_ms);")
base.func("hf_ffi_job_free", "void hf_ffi_job_free(hf_job *job);")
base.func("hf_ffi_job_alerts", "const char *hf_ffi_job_alerts(hf_job *job, size_t *len, int reset);")

local Solo = {}
Solo.__index = Solo
M.Solo = Solo

--- A job of its own for the contexts of hostflow check and
-- hostflow.testing: alerts held hold_ms (default 10 min), for one host at
-- a time (solo:at), whose row is solo.row.
function M.solo(hold_ms)
  local s = setmetatable({
    job = ffi.gc(C.hf_ffi_job_new(hold_ms or 600000), C.hf_ffi_job_free),
    host = ffi.new("hf_host"),
    len = ffi.new("size_t[1]"),
  }, Solo)
  s.row = ffi.cast("uint8_t *", s.host)
  s.row_of = function() return s.row end
  return s
end

--- The next calls are for the host at addr (uint8_t[16]).
function Solo:at(addr)
  ffi.copy(self.host.addr, addr, 16)
  local mapped = true
  for i = 0, 9 do if addr[i] ~= 0 then mapped = false end end
  self.host.v6 = (mapped and addr[10] == 0xff and addr[11] == 0xff) and 0 or 1
end

--- A context raising through this job.
function Solo:context(name, window)
  return M.new(name, self.job, self.row_of, window)
end

--- The host_alert records raised so far (a list of JSON texts), emptied
-- when reset is true.
function Solo:records(reset)
  local p = C.hf_ffi_job_alerts(self.job, self.len, reset and 1 or 0)
  local out = {}
  for line in ffi.string(p, self.len[0]):gmatch("[^\n]+") do out[#out + 1] = line end
  return out
end

return M
