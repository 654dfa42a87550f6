-- hostflow.runtime: the Lua half of a worker.
--
-- start(opts) makes a Runtime -- the worker's analyses, loaded, checked and
-- laid out in its host rows -- and returns three functions the C side
-- calls (core/engine/worker.c):
--
--   process()  the flows of one base window: every analysis's update()
--              over the whole batch, one compiled loop per analysis;
--   emit()     a closing window: every analysis's result() per host,
--              encoded as JSON fragments that the core unions into one
--              record per host;
--   control()  hot reload: "prepare" checks the files of a reload,
--              "commit" makes the new set of analyses (a new layout, for
--              windows starting at or after the switch time), "retire"
--              drops a set no window uses any more.
--
-- A set of analyses belongs to a layout (its generation): windows that
-- began before a reload keep the old set; an unchanged analysis is the same
-- object (same functions, same upvalues, same loops) in both.
--
-- The parts, one file each:
--
--   job.lua        the worker's C side (hf_job, windows, layouts): the only
--                  file that knows them
--   check.lua      an analysis file from text to a checked version
--   loops.lua      the compiled loops of one analysis
--   isolation.lua  errors, budgets, disabling: one analysis's failure stays
--                  its own
--   reload.lua     prepare, commit, retire
--
-- opts (from the C side): job (light userdata: the worker's hf_job), layout
-- (light userdata: the first layout), files (the analysis paths), srcs
-- (their texts as the C side read them, once for every worker, by index; a
-- path without one is read here), checked (another worker has checked
-- those texts: their sample runs are not run again), enable
-- and disable (lists of names, or nil), order (analyses.order: a list of
-- names, the order of the fields in the records; nil: DEFAULT_ORDER),
-- params (analyses.params: analysis name -> { parameter = value }, or the
-- Lua text of that table as the C side keeps it; nil: every analysis with
-- its defaults), distinct_exact, worker (its number), batch (flows per
-- batch), trusted (analyses.trusted: file names run outside the sandbox),
-- max_host_errors, max_memory and max_result (isolation.lua), verbose (-v:
-- tracebacks in the log).

local ffi = require "ffi"
local bit = require "bit"
local base = require "hostflow.base"
local check = require "hostflow.runtime.check"
local loops = require "hostflow.runtime.loops"
local isolation = require "hostflow.runtime.isolation"
local reload = require "hostflow.runtime.reload"
local jobm = require "hostflow.runtime.job"
local shape = require "hostflow.shape"
local context = require "hostflow.context"
local profiles = require "hostflow.runtime.profiles"

local band, bor, lshift = bit.band, bit.bor, bit.lshift
local C = base.C
local M = {}

-- What check, hostflow check, testing and the specs use.
M.load_file, M.check, M.sample_flows = check.load_file, check.check, check.sample_flows
M.CHECK_FLOWS, M.CHECK_HOSTS, M.CHECK_INSTRUCTIONS = check.CHECK_FLOWS, check.CHECK_HOSTS,
                                                     check.CHECK_INSTRUCTIONS
M.RUN_SRC = loops.RUN_SRC
M.LOG_BURST = isolation.LOG_BURST

local Runtime = {}
Runtime.__index = Runtime
M.Runtime = Runtime

Runtime.set_enabled, Runtime.disable, Runtime.failed = isolation.set_enabled, isolation.disable,
                                                       isolation.failed
Runtime.run_update, Runtime.run_result = isolation.run_update, isolation.run_result
Runtime.check_memory, Runtime.tick = isolation.check_memory, isolation.tick
Runtime.prepare, Runtime.commit, Runtime.retire = reload.prepare, reload.commit, reload.retire

local function as_set(list)
  if not list then return nil end
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

--- The order of the fields in the records when the configuration gives
-- none (analyses.order): Stream4Flow's.
M.DEFAULT_ORDER = { "total", "avg_flow_duration", "dport_count", "peer_number", "tcp_flags" }

-- The rank of each name in an order list (analyses.order), checked.
local function ranks(order)
  if type(order) ~= "table" then error("analyses.order: expected a list of analysis names", 0) end
  local rank = {}
  for i, name in ipairs(order) do
    if type(name) ~= "string" then
      error(string.format("analyses.order[%d]: expected an analysis name, got %s", i, type(name)), 0)
    end
    rank[name] = rank[name] or i
  end
  return rank
end

-- ------------------------------------------------------------------------
-- A runtime and its analyses
-- ------------------------------------------------------------------------

--- A new runtime for opts (above), with no analysis loaded yet.
function Runtime.new(opts)
  local rt = setmetatable({
    job = jobm.new(opts),
    worker = opts.worker,
    distinct_exact = opts.distinct_exact,
    batch = opts.batch or 1024,
    enable = as_set(opts.enable),
    leave_out = as_set(opts.disable) or {},
    sets = {},          -- gen -> { gen, list = { entries }, disabled = mask }
    current = 0,        -- the newest gen
    loaded = {},        -- path -> the analysis running from it
    slots = {},         -- name -> counters slot
    next_id = 0,
    pending = nil,      -- the reload being checked: { id, files, results, cand }
    pos = ffi.new("int[1]"),   -- where a loop is: the flow or host that failed
    rank = ranks(opts.order or M.DEFAULT_ORDER),
    window = { start_ms = 0, end_ms = 0, granularity_s = 0 },   -- the contexts' window (emit)
    profiles = {},      -- the running profiles (profiles.lua), in name order
    report_ms = opts.report_ms,                -- profiles.report
    windows = opts.windows and as_set(opts.windows),   -- the granularities emitted (ms)
    report_buf = ffi.gc(ffi.new("hf_buf[1]"), function(b) C.hf_buf_release(b) end),
    overrides = check.overrides(opts.params),   -- analyses.params: name -> values
    trusted = check.trusted_set(opts.trusted),  -- files run outside the sandbox
    max_host_errors = opts.max_host_errors or 10,
    max_memory = opts.max_memory or 256 * 2^20,   -- bytes of Lua heap one analysis may hold
    max_result = opts.max_result or 65536,        -- bytes of one result's JSON
    verbose = opts.verbose,                       -- -v: tracebacks under the error lines
  }, Runtime)
  rt.wanted_fn = function(name) return rt:wanted(name) end
  return rt
end

--- The options of a check (check.lua) under the parameters overrides.
function Runtime:check_opts(overrides)
  return { distinct_exact = self.distinct_exact, wanted = self.wanted_fn, params = overrides,
           trusted = self.trusted }
end

--- Whether the configuration runs the analysis called name
-- (analyses.enable, analyses.disable).
function Runtime:wanted(name)
  return (not self.enable or self.enable[name]) and not self.leave_out[name]
end

--- An analysis: one loaded version (spec, its state s, its parameters p:
-- check.params) of one file.  keys_closed: its result() returns no key
-- outside spec.keys (shape.lua), decided once, before its functions run
-- compiled.
function Runtime:new_analysis(spec, s, p, src, path)
  self.next_id = self.next_id + 1
  return { id = self.next_id, name = spec.name, version = spec.version, file = path, src = src,
           spec = spec, schema = s, params = p, enabled = true, minute = 0, errors_minute = 0,
           second = 0, logged = 0,
           keys_closed = spec.keys ~= nil and shape.closed(spec.result, spec.keys) }
end

--- The counters slot of a name (one per name for the whole run); when all
-- are taken, one no live set uses.
function Runtime:slot_of(name)
  if self.slots[name] then return self.slots[name] end
  local slot, reused = self.job:new_slot(), false
  if not slot then
    local live = {}
    for _, set in pairs(self.sets) do
      for _, e in ipairs(set.list) do live[e.a.slot] = true end
    end
    for n, sl in pairs(self.slots) do
      if not live[sl] then slot = sl; self.slots[n] = nil; break end
    end
    if not slot then error("too many analyses (at most 64)", 0) end
    reused = true
  end
  self.job:name_slot(slot, name, reused)
  self.slots[name] = slot
  return slot
end

--- A context (hostflow.context) for the analysis called name: the host of
-- the closing window's row i, the window the runtime sets in emit().
function Runtime:context(name)
  local view = self.job.w
  return context.new(name, self.job.c, function(i) return view.rows[i] end, self.window)
end

--- Sort analyses into the order of their fields in the records: those the
-- configuration names (analyses.order) in its order, then those with an
-- `order` of their own by it, then the rest; ties by name.
function Runtime:sort(list)
  local rank = self.rank
  local function key(a)
    if rank[a.name] then return 1, rank[a.name] end
    if a.spec.order then return 2, a.spec.order end
    return 3, 0
  end
  table.sort(list, function(a, b)
    local ga, ka = key(a)
    local gb, kb = key(b)
    if ga ~= gb then return ga < gb end
    if ka ~= kb then return ka < kb end
    return a.name < b.name
  end)
  return list
end

--- Lay the analyses of list out in layout as generation gen, with their
-- loops; the set becomes sets[gen].  The profiles of list become the
-- running ones (profiles.set; at_start: their files are read); returns the
-- set and what became of each new profile version's learned state.
function Runtime:build_set(list, layout, gen, at_start)
  local windowed, profs = {}, {}
  for _, a in ipairs(list) do
    if a.spec.kind == "profile" then profs[#profs + 1] = a else windowed[#windowed + 1] = a end
  end
  table.sort(profs, function(x, y) return x.name < y.name end)
  local outcome = profiles.set(self, profs, at_start)
  list = windowed
  self:sort(list)
  if #list > jobm.MAX_ANALYSES then error(string.format("too many analyses (at most %d)", jobm.MAX_ANALYSES), 0) end
  local set = { gen = gen, list = {}, disabled = 0ULL }
  for _, a in ipairs(list) do
    if jobm.layout_add(layout, a) < 0 then error("too many analyses (at most 64)", 0) end
  end
  -- the offsets are final once every state is in the layout
  for k, a in ipairs(list) do
    local off = jobm.layout_offset(layout, k - 1)
    a.slot = a.slot or self:slot_of(a.name)
    self.job:slot_disabled(a.slot, not a.enabled)
    local e = { a = a, index = k - 1, bit = lshift(1ULL, k - 1), off = off, by_dst = a.spec.by == "dst",
                both = a.spec.by == "both", window_ms = jobm.window_ms(a) }
    a.ctx = a.ctx or self:context(a.name)
    local l = loops.of(a, off, k - 1, e.bit, self.pos, self.job.c, a.ctx)
    e.run, e.emit, e.sparse = l.run, l.emit, l.sparse
    if e.both then                           -- its loop over the flows its hosts receive
      e.dst = { a = a, index = e.index, bit = e.bit, by_dst = true, run = l.run_dst, sparse = l.sparse }
    end
    if not a.enabled then set.disabled = bor(set.disabled, e.bit) end
    set.list[k] = e
  end
  self.sets[gen] = set
  return set, outcome
end

--- Load the analyses of opts.files (checked as a reload checks them; the
-- texts of opts.srcs without their sample runs when opts.checked) as
-- generation 0 in opts.layout.  Raises an error for a file that fails.
function Runtime:load(opts)
  local list, by_name = {}, {}
  local srcs = opts.srcs or {}
  for i, path in ipairs(opts.files) do
    local src = srcs[i]
    local copts = self:check_opts(self.overrides)
    if src then
      copts.sample = not opts.checked
    else
      local f, ferr = io.open(path, "rb")
      if not f then error(ferr, 0) end
      src = f:read("*a")
      f:close()
    end
    local spec, s, p = check.check(src, path, copts)
    if not spec then error(s, 0) end
    if by_name[spec.name] then
      error(string.format("%s: analysis name '%s' is already used by %s",
                          path, spec.name, by_name[spec.name].file), 0)
    end
    local a = self:new_analysis(spec, s, p, src, path)
    by_name[spec.name] = a
    if self:wanted(spec.name) then
      list[#list + 1] = a
      self.loaded[path] = a
    end
  end
  for name in pairs(self.enable or {}) do
    if not by_name[name] then error("analyses.enable: no analysis named '" .. name .. "'", 0) end
  end
  for name in pairs(self.overrides) do
    if not by_name[name] then error(string.format("analyses.params.%s: no analysis named '%s'", name, name), 0) end
  end
  self:build_set(list, opts.layout, 0, true)
  if self.worker == 0 then
    local names = {}
    for _, e in ipairs(self.sets[0].list) do names[#names + 1] = e.a.name .. " v" .. e.a.version end
    for _, a in ipairs(self.profiles) do names[#names + 1] = a.name .. " v" .. a.version .. " (profile)" end
    isolation.log(isolation.LOG_INFO, "analyses: %s", #names > 0 and table.concat(names, ", ") or "none")
  end
end

-- ------------------------------------------------------------------------
-- What the worker calls
-- ------------------------------------------------------------------------

--- The flows of one base window through every enabled analysis.
function Runtime:process()
  local flows, rows, n, gen, dflows, drows, dn = self.job:batch()
  local set = self.sets[gen]
  local entries = set.list
  for k = 1, #entries do
    local e = entries[k]
    if e.a.enabled then
      if e.by_dst then
        if dn > 0 then self:run_update(e, dflows, drows, dn) end
      else
        if n > 0 then self:run_update(e, flows, rows, n) end
        if e.both and dn > 0 and e.a.enabled then self:run_update(e.dst, dflows, drows, dn) end
      end
    end
  end
  self:check_memory()
  self:tick()
  self.job:not_run(set.disabled)
end

--- A closing window: every analysis's results, host by host, into its
-- fragments.
function Runtime:emit()
  local job = self.job
  local w, n, omit_any, gen, sparse_slots = job:window()
  local g_ms = tonumber(w.g_ms)
  local entries = self.sets[gen].list
  local win = self.window
  win.start_ms, win.end_ms, win.granularity_s = tonumber(w.start_ms), tonumber(w.start_ms + w.g_ms),
                                                 tonumber(w.g_ms) / 1000
  for k = 1, #entries do
    local e = entries[k]
    local fr, buf = job:fragments(e.index)
    if not e.a.enabled or (e.window_ms and e.window_ms ~= g_ms) then
      jobm.frag_none(fr, 0, n)               -- disabled, or not read at this granularity: no field
    elseif e.sparse then
      jobm.frag_none(fr, 0, n)               -- hosts with no state: no field
      if sparse_slots > 0 then self:run_result(e, w, fr, buf, sparse_slots, band(omit_any, e.bit) ~= 0) end
    else
      self:run_result(e, w, fr, buf, n, band(omit_any, e.bit) ~= 0)
    end
  end
  if #self.profiles > 0 then profiles.absorb(self, w, n, gen) end
  self:check_memory()
  self:tick()
end

--- Hot reload: "prepare", "commit" or "retire" (reload.lua); "finish" at
-- the end of the input (the error lines held back, isolation.lua).
function Runtime:control(op, ...)
  if op == "prepare" then return self:prepare(...) end
  if op == "commit" then return self:commit(...) end
  if op == "retire" then return self:retire(...) end
  if op == "finish" then return isolation.finish(self) end
  error("control: unknown operation " .. tostring(op), 0)
end

-- ------------------------------------------------------------------------
-- The entry point
-- ------------------------------------------------------------------------

--- Start a worker's runtime (opts: above).  Returns process, emit, control.
function M.start(opts)
  -- HOSTFLOW_JIT_LOG=FILE: LuaJIT's trace log (jit.v, or jit.dump with
  -- HOSTFLOW_JIT_DUMP) in FILE.<worker>, to see what compiles
  local jit_log = os.getenv("HOSTFLOW_JIT_LOG")
  if jit_log and jit_log ~= "" then
    local dump = os.getenv("HOSTFLOW_JIT_DUMP")  -- jit.dump options, e.g. "tbim"
    local file = jit_log .. "." .. opts.worker
    if dump then require("jit.dump").start(dump, file) else require("jit.v").start(file) end
  end
  for _, abi in ipairs { base.check_abi, jobm.check_abi, profiles.check_abi } do
    local ok, why = abi()
    if not ok then error("the Lua declarations do not match the core: " .. why, 0) end
  end
  local rt = Runtime.new(opts)
  rt:load(opts)
  collectgarbage("collect")
  rt.heap_base = collectgarbage("count") * 1024   -- the runtime and analyses as loaded
  M.started = rt          -- the runtime of this Lua state (one per worker), for specs
  return function() rt:process() end,
         function() rt:emit() end,
         function(...) return rt:control(...) end
end

return M
