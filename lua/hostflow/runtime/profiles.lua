-- hostflow.runtime.profiles: the profiles of a worker (hf.profile).
--
-- A profile's hosts live in a store of the core (core/engine/profile.h:
-- one row per host, its state after a 32-byte head that says how far it
-- has absorbed).  When a window of the profile's granularity closes, after
-- the window analyses have written their results (runtime emit()), the
-- core picks the hosts to absorb -- not those that absorbed this window
-- already (a replay) -- and reads each declared statistic from the host's
-- record fields (hf_job_absorb); then one compiled loop calls
--
--   absorb(p, x, ctx, params)    p: the host's state; x.<stat>: the
--                                numbers (NaN when absent); ctx: the
--                                host and window (hostflow.context)
--
-- for each of them.  Every profiles.report of event time (from midnight
-- UTC), report(p, params, rctx) is asked for each host seen in the period
-- and written as a host_profile record.  The stores are the core's: they
-- are saved and read back by it (profiles.dir), and a reload hands a store
-- to the new version of a profile whose state is declared alike
-- (schema.signature), so it keeps what it learned.
--
-- The functions taking rt are methods of the Runtime (init.lua).

local ffi = require "ffi"
local base = require "hostflow.base"
local json = require "hostflow.json"
local hf = require "hostflow"
local schema = require "hostflow.schema"
local isolation = require "hostflow.runtime.isolation"
local jobm = require "hostflow.runtime.job"

local C = base.C
local now, cpu = jobm.now, jobm.cpu
local traceback = debug.traceback
local M = {}

base.declare("hf_profile_host", [[
typedef struct hf_profile_host {
  uint8_t  addr[16];
  uint32_t v6   : 1;
  uint32_t live : 1;
  uint32_t dirty : 1;
  uint32_t pad  : 29;
  uint32_t pad2;
  int64_t  absorbed_until;
} hf_profile_host;
typedef struct hf_profiles hf_profiles;
]])

base.func("hf_job_profile_open", [[hf_profiles *hf_job_profile_open(hf_job *job, const char *name,
  const char *signature, const hf_schema *schema, int load);]])
base.func("hf_job_profile_close", "void hf_job_profile_close(hf_job *job, hf_profiles *p);")
base.func("hf_job_absorb", [[int hf_job_absorb(hf_job *job, const hf_lua_window *v, hf_profiles *p, int k,
  const int *frag, const char *const *paths, double *vals, uint8_t **rows);]])
base.func("hf_job_profile_record", [[void hf_job_profile_record(hf_job *job, hf_profiles *p, const uint8_t *row,
  int64_t start_ms, int64_t end_ms, const char *json, size_t len);]])
base.func("hf_profiles_nrows", "uint32_t hf_profiles_nrows(const hf_profiles *p);")
base.func("hf_profiles_row", "uint8_t *hf_profiles_row(const hf_profiles *p, uint32_t i);")

M.TYPES = { "hf_profile_host" }
local LOGS = base.const("HF_FRAG_LOGS")
M.HEAD = ffi.sizeof("hf_profile_host")     -- the state follows the head
local headp = ffi.typeof("hf_profile_host *")

--- Check the head's layout against the core's.
function M.check_abi() return base.check_abi(M.TYPES) end

-- ------------------------------------------------------------------------
-- A profile's declaration, ready to run
-- ------------------------------------------------------------------------

-- absorb() over the hosts the core chose (rows[i] ~= nil) from first.
M.ABSORB_SRC = [[
local absorb, T, X, pos, params, ctx, head = ...
local cast = require("ffi").cast
return function(rows, vals, k, first, n)
  for i = first, n - 1 do
    local row = rows[i]
    if row ~= nil then
      pos[0] = i
      ctx.i = i
      absorb(cast(T, row + head)[0], cast(X, vals + i * k)[0], ctx, params)
    end
  end
end
]]

--- The statistics a profile reads, in name order: names, the record paths
-- split into the analysis and the rest ("total.bytes" -> "total", "bytes"),
-- and the struct type its absorb() sees them as (x.bytes, ...).
function M.stats_of(spec)
  local names = {}
  for k in pairs(spec.stats) do names[#names + 1] = k end
  table.sort(names)
  local analyses, rest, decl = {}, {}, { "struct {" }
  for i, k in ipairs(names) do
    local path = spec.stats[k]
    local a, r = path:match("^([^.]+)%.?(.*)$")
    analyses[i], rest[i] = a, r
    decl[#decl + 1] = "double " .. k .. ";"
  end
  if #names == 0 then decl[#decl + 1] = "double unused_;" end
  decl[#decl + 1] = "}"
  local ct = ffi.typeof(table.concat(decl, " "))
  local paths = ffi.new("const char *[?]", math.max(#names, 1))
  local keep = {}
  for i, r in ipairs(rest) do
    keep[i] = r
    paths[i - 1] = r
  end
  return { names = names, analyses = analyses, k = #names, ct = ct, ptr = ffi.typeof("$ *", ct),
           paths = paths, keep = keep }
end

--- The granularity of a profile's windows, in ms.
function M.granularity_ms(spec)
  return (hf.duration(spec.granularity or "1m"))
end

-- ------------------------------------------------------------------------
-- Stores, loops, and the set of profiles
-- ------------------------------------------------------------------------

-- Compile profile a's absorb loop (once per loaded version).
local function loop_of(rt, a)
  if a.absorb_loop then return a.absorb_loop end
  a.stats = a.stats or M.stats_of(a.spec)
  a.ctx = a.ctx or rt:context(a.name)
  a.absorb_loop = assert(loadstring(M.ABSORB_SRC, "=absorb:" .. a.name))(
    a.spec.absorb, a.schema.ptr, a.stats.ptr, rt.pos, a.params.view, a.ctx, M.HEAD)
  return a.absorb_loop
end

--- Make list (loaded profile versions) the running profiles.  A version
-- already running keeps its store; a new version of a profile whose state
-- is declared alike takes over the old one's (what it learned); otherwise
-- a store is opened, with the files of profiles.dir read when at_start.
-- Stores no version uses any more are closed.  Returns, per new version,
-- what became of its learned state: by[a] = "kept" | "afresh".
function M.set(rt, list, at_start)
  local old_by_name, outcome = {}, {}
  for _, a in ipairs(rt.profiles) do old_by_name[a.name] = a end
  local taken = {}
  for _, a in ipairs(list) do
    a.signature = a.signature or schema.signature(a.schema)
    if not a.store then
      local old = old_by_name[a.name]
      if old and old.store and old.signature == a.signature and not taken[old] then
        a.store, taken[old] = old.store, true
        outcome[a] = "kept"
      else
        local cs = ffi.new("hf_schema")
        cs.fields, cs.nfields, cs.size = a.schema.fields, a.schema.nfields, a.schema.size
        -- its files are read at start, and for a profile new to this run
        a.store = C.hf_job_profile_open(rt.job.c, a.name, a.signature, cs, (at_start or not old) and 1 or 0)
        if a.store == nil then error("too many profiles (at most 16)", 0) end
        outcome[a] = old and "afresh" or nil
      end
    else
      taken[a] = true
    end
    a.slot = a.slot or rt:slot_of(a.name)
    a.g_ms = M.granularity_ms(a.spec)
    a.frags, a.set_offs = {}, {}             -- gen -> int[k] of analysis indices; gen -> set offsets
    a.report_ms = rt.report_ms
    loop_of(rt, a)
    if rt.worker == 0 and rt.windows and not rt.windows[a.g_ms] then
      isolation.log(isolation.LOG_WARN, "profile %s is not fed: its granularity (%s) is not among the "
                    .. "windows; it keeps its hosts but learns nothing until it is", a.name,
                    tostring(a.spec.granularity))
    end
  end
  local inlist = {}
  for _, a in ipairs(list) do inlist[a] = true end
  for _, a in ipairs(rt.profiles) do
    if not inlist[a] and a.store and not taken[a] then
      C.hf_job_profile_close(rt.job.c, a.store)
    end
    if not inlist[a] then a.store = nil end
  end
  rt.profiles = list
  return outcome
end

-- The layout index of each statistic's analysis in generation gen's set
-- (-1 for an analysis not in it), cached per generation.
local function frags_of(rt, a, gen)
  local f = a.frags[gen]
  if f then return f end
  local by = {}
  for _, e in ipairs(rt.sets[gen].list) do by[e.a.name] = e.index end
  f = ffi.new("int[?]", math.max(a.stats.k, 1))
  for i, name in ipairs(a.stats.analyses) do
    f[i - 1] = by[name] or (name == "logs" and LOGS) or -1    -- stats.logs is the core's
  end
  a.frags[gen] = f
  return f
end

-- Where each set the profile reads (sets = { name = "analysis.field" })
-- lies in generation gen's rows: name -> offset, or nothing when the
-- analysis does not run, keeps its states out of the rows (when) or the
-- field is not an hf.distinct.
local function sets_of(rt, a, gen)
  a.set_offs = a.set_offs or {}
  local o = a.set_offs[gen]
  if o then return o end
  o = {}
  local by = {}
  for _, e in ipairs(rt.sets[gen].list) do by[e.a.name] = e end
  for name, where in pairs(a.spec.sets or {}) do
    local an, field = where:match("^([^.]+)%.(.+)$")
    local e = by[an]
    if e and not e.sparse and e.a.schema.kinds[field] == "distinct" then
      o[name] = e.off + ffi.offsetof(e.a.schema.ct, field)
    end
  end
  a.set_offs[gen] = o
  return o
end

-- Room for n hosts in profile a's rows and values.
local function room(a, n)
  if (a.cap or 0) >= n then return end
  local cap = math.max(1024, a.cap or 0)
  while cap < n do cap = cap * 2 end
  a.rows = ffi.new("uint8_t *[?]", cap)
  a.vals = ffi.new("double[?]", cap * math.max(a.stats.k, 1))
  a.cap = cap
end

-- ------------------------------------------------------------------------
-- Reports: host_profile records
-- ------------------------------------------------------------------------

-- The context of report(): the host (its row) and the period.
local Report = {}
Report.__index = Report
function Report:host() return base.addr_text(ffi.cast(headp, self.row).addr) end

-- Write the host_profile records of the period [from, to) of profile a:
-- every host that absorbed a window in it.
local function report(rt, a, from, to)
  local fn = a.spec.report
  if not fn then return end
  local store, view, T, keys = a.store, a.params.view, a.schema.ptr, a.spec.keys
  local buf = rt.report_buf
  local rctx = setmetatable({ period = { start_ms = from, end_ms = to }, row = nil }, Report)
  local limit = rt.job:limits() * 10
  local t0, c0 = now(), cpu()
  rt.job:running(a.slot, t0, c0, limit)
  for i = 0, C.hf_profiles_nrows(store) - 1 do
    local row = C.hf_profiles_row(store, i)
    if row ~= nil and ffi.cast(headp, row).absorbed_until > from then
      rctx.row = row
      buf[0].len = 0
      local ok, err = xpcall(function()
        local v = fn(ffi.cast(T, row + M.HEAD)[0], view, rctx)
        if v ~= nil then json.encode(buf[0], v, keys, 0) end
      end, traceback)
      if ok then
        C.hf_job_profile_record(rt.job.c, store, row, from, to, buf[0].data, buf[0].len)
      else
        rt:failed(a, err, rctx:host())
        if not a.enabled then break end
      end
    end
  end
  rt.job:idle()
  rt.job:add_time(a.slot, "result", now() - t0)
end

-- Reports due before absorbing the window [start, stop) (its start is in a
-- later period), or after it (it ends a period).
local function reports_due(rt, a, t)
  local r = a.report_ms
  if not r or not a.spec.report then return end
  if not a.next_report then
    a.next_report = (math.floor(t / r) + 1) * r
    return
  end
  if t >= a.next_report then
    report(rt, a, a.next_report - r, a.next_report)
    a.next_report = (math.floor(t / r) + 1) * r
  end
end

-- ------------------------------------------------------------------------
-- Absorbing a closing window
-- ------------------------------------------------------------------------

--- The closing window (the job's view: w, n hosts, its generation gen) to
-- every running profile of its granularity.
function M.absorb(rt, w, n, gen)
  local g = tonumber(w.g_ms)
  local start = tonumber(w.start_ms)
  for _, a in ipairs(rt.profiles) do
    if a.g_ms == g and a.enabled then
      reports_due(rt, a, start)
      room(a, n)
      local st = a.stats
      local m = C.hf_job_absorb(rt.job.c, w, a.store, st.k, frags_of(rt, a, gen), st.paths, a.vals, a.rows)
      if m > 0 then
        a.ctx.set_offsets = sets_of(rt, a, gen)
        local limit = rt.job:limits() * math.max(1, n / rt.batch)
        local t0, c0 = now(), cpu()
        rt.job:running(a.slot, t0, c0, limit)
        local first, pos = 0, rt.pos
        while first < n do
          local ok, err = xpcall(a.absorb_loop, traceback, a.rows, a.vals, st.k, first, n)
          if ok then break end
          local i = pos[0]
          rt:failed(a, err, rt.job:host_text(i))
          first = i + 1
          if not a.enabled or cpu() - c0 > limit then break end
        end
        rt.job:idle()
        rt.job:add_time(a.slot, "update", now() - t0)
        local used = cpu() - c0
        if a.enabled and used > limit then
          rt:disable(a, string.format("%.0f ms of CPU time absorbing the windows of %d hosts "
                                      .. "(analyses.max_batch: %.0f ms)", used / 1e6, n, limit / 1e6))
        end
      end
      reports_due(rt, a, start + g)
    end
  end
end

return M
