-- hostflow.runtime.isolation: one analysis's failure stays its own.
--
-- The runtime runs each analysis's loop (loops.lua) in a protected call.
-- An error is caught, counted and logged (rate-limited, with the host and
-- the traceback); the loop resumes after the flow or host that failed, the
-- other analyses never notice, and the field is left out of the records of
-- that host: in update(), through the row's omit bits, which the core
-- keeps beside the window's rows and ORs into coarser windows; in result(),
-- by dropping that host's text.
--
-- An analysis over its error budget (analyses.max_errors a minute) or its
-- time (analyses.max_batch of CPU time per call) is disabled until a
-- reload.  The budget counts at most analyses.max_host_errors errors of
-- each host a minute: one host whose traffic makes an analysis fail (an
-- attacker's, say) loses that field in its own records, and cannot switch
-- the analysis off for every other host; only errors spread over many hosts
-- can.  While one runs, the job says which (job:running), so the watchdog
-- can interrupt it: the interrupt is an error raised inside the analysis,
-- caught here like any other.
--
-- Memory.  Every call of an analysis is weighed by how much it grew the
-- worker's Lua heap.  When the heap, after a full collection, holds more
-- than analyses.max_memory beyond what it held at start, the analysis
-- that grew it most since the last such check is disabled and everything
-- it holds (its functions, their upvalues, its globals) let go, so the
-- collector frees it: one analysis's memory never takes the process down.
--
-- Results.  A result whose JSON text is longer than analyses.max_result is
-- left out of that host's record, as an error of the analysis.
--
-- The functions taking rt are methods of the Runtime (init.lua).

local bit = require "bit"
local base = require "hostflow.base"
local jobm = require "hostflow.runtime.job"

local C = base.C
local now, cpu = jobm.now, jobm.cpu
local traceback = debug.traceback
local M = {}

M.LOG_ERROR, M.LOG_WARN, M.LOG_INFO = 0, 1, 2
M.LOG_BURST = 5                     -- error lines per analysis and second

--- Log a line through the core (stderr, with hostflow's prefix and level).
-- The runtime's modules call it as isolation.log, so a spec can listen.
function M.log(level, fmt, ...)
  C.hf_ffi_log(level, string.format(fmt, ...))
end

--- Turn analysis a off or on in every set that has it.
function M.set_enabled(rt, a, on)
  a.enabled = on
  if on then a.minute, a.errors_minute, a.host_errors, a.nhosts = 0, 0, {}, 0 end
  rt.job:slot_disabled(a.slot, not on)
  for _, set in pairs(rt.sets) do
    for _, e in ipairs(set.list) do
      if e.a == a then
        set.disabled = on and bit.band(set.disabled, bit.bnot(e.bit)) or bit.bor(set.disabled, e.bit)
      end
    end
  end
end

--- Disable analysis a (once), saying why.
function M.disable(rt, a, why)
  if not a.enabled then return end
  rt:set_enabled(a, false)
  M.log(M.LOG_ERROR, "analysis %s (%s) disabled in worker %d: %s; its field is left out of the "
      .. "records until a reload (SIGHUP, or a change to the file)", a.name, a.file, rt.worker, why)
end

M.HOSTS_TRACKED = 4096              -- hosts whose errors are told apart, a minute

--- Analysis a failed for host (text): count, log (rate-limited), and
-- disable it when it is over its error budget (at most max_host_errors of
-- each host counting).
function M.failed(rt, a, err, host)
  local _, max_errors = rt.job:limits()
  rt.job:count_error(a.slot)
  local t = os.time()
  local minute = math.floor(t / 60)
  if a.minute ~= minute or not a.host_errors then
    a.minute, a.errors_minute, a.host_errors, a.nhosts = minute, 0, {}, 0
  end
  local mine = a.host_errors[host]
  if not mine and a.nhosts < M.HOSTS_TRACKED then
    a.nhosts, mine = a.nhosts + 1, 0
  end
  if mine then a.host_errors[host] = mine + 1 end
  if not mine or mine < rt.max_host_errors then a.errors_minute = a.errors_minute + 1 end
  if a.second ~= t then a.second, a.logged = t, 0 end
  if a.logged < M.LOG_BURST then
    a.logged = a.logged + 1
    local more = a.suppressed > 0 and string.format(" (%d similar lines suppressed)", a.suppressed) or ""
    a.suppressed = 0
    M.log(M.LOG_WARN, "analysis %s (%s) failed for host %s; its field is left out of the "
        .. "host's record: %s%s", a.name, a.file, host, tostring(err), more)
  else
    a.suppressed = a.suppressed + 1
  end
  if a.enabled and a.errors_minute > max_errors then
    rt:disable(a, string.format("more than %d errors in a minute, from %d hosts (analyses.max_errors; "
                                .. "at most %d of each host count: analyses.max_host_errors)",
                                max_errors, a.nhosts, rt.max_host_errors))
  end
end

local gccount = collectgarbage

--- After a batch or a window: when the worker's Lua heap holds more than
-- max_memory beyond its start even after a full collection, disable the
-- analysis that grew it most since the last check and let its memory go.
function M.check_memory(rt)
  local heap = gccount("count") * 1024
  if heap - (rt.heap_base or 0) <= rt.max_memory then return end
  gccount("collect")
  heap = gccount("count") * 1024
  local worst
  for _, set in pairs(rt.sets) do
    for _, e in ipairs(set.list) do
      local a = e.a
      if a.enabled and (not worst or (a.grown or 0) > (worst.grown or 0)) then worst = a end
    end
  end
  if heap - (rt.heap_base or 0) > rt.max_memory and worst then
    M.drop(rt, worst, string.format("the worker's Lua memory reached %.0f MiB, over analyses.max_memory "
                                     .. "(%.0f MiB) beyond its start, and this analysis grew it most "
                                     .. "(%.0f MiB); its memory is freed",
                                     heap / 2^20, rt.max_memory / 2^20, (worst.grown or 0) / 2^20))
    gccount("collect")
  end
  for _, set in pairs(rt.sets) do
    for _, e in ipairs(set.list) do e.a.grown = 0 end
  end
end

local function none() end

--- Disable analysis a and let go of all it holds: its loops, functions and
-- globals (a reload loads it again from its file).
function M.drop(rt, a, why)
  rt:disable(a, why)
  for _, set in pairs(rt.sets) do
    for _, e in ipairs(set.list) do
      if e.a == a then e.run, e.emit = none, none end
    end
  end
  a.loops = nil
  local spec = a.spec
  a.spec = { name = spec.name, order = spec.order, state = spec.state, version = spec.version }
end

local function over_time(rt, a, used, limit, what)
  rt:disable(a, string.format("%.0f ms of CPU time over %s (analyses.max_batch: %.0f ms)",
                              used / 1e6, what, limit / 1e6))
end

--- Entry e's update loop over a batch (flows and rows, n of them), an
-- error leaving that flow's host without the field, resuming after it.
function M.run_update(rt, e, flows, rows, n)
  local a, job, pos = e.a, rt.job, rt.pos
  local limit = job:limits()
  local t0, c0, m0 = now(), cpu(), gccount("count")
  job:running(a.slot, t0, c0, limit)
  local first = 0
  while first < n do
    local ok, err = xpcall(e.run, traceback, flows, rows, first, n)
    if ok then break end
    local i = pos[0]
    if rows[i] ~= nil then job:omit_row(rows[i], e.bit) end
    rt:failed(a, err, base.addr_text(e.by_dst and flows[i].dst or flows[i].src))
    first = i + 1
    if not a.enabled or cpu() - c0 > limit then break end
  end
  if e.sparse then job:arena_reset() end
  job:idle()
  a.grown = (a.grown or 0) + (gccount("count") - m0) * 1024
  local dt, used = now() - t0, cpu() - c0
  job:add_time(a.slot, "update", dt)
  if a.enabled and used > limit then over_time(rt, a, used, limit, string.format("a batch of %d flows", n)) end
end

--- Entry e's emit loop over the n hosts of window w into fragments fr
-- (buffer buf); check: some hosts leave the analysis out.  A host whose
-- result() fails gets no field; the loop resumes after it.
function M.run_result(rt, e, w, fr, buf, n, check)
  local a, job, pos = e.a, rt.job, rt.pos
  local limit = job:limits() * math.max(1, n / rt.batch)
  local t0, c0, m0 = now(), cpu(), gccount("count")
  job:running(a.slot, t0, c0, limit)
  local first = 0
  while first < n do
    local ok, err = xpcall(e.emit, traceback, w, fr, buf, first, n, check)
    if ok then break end
    local i = pos[0]
    local host = e.sparse and jobm.sparse_slot(w, i) or i     -- sparse: n counts slots
    jobm.frag_drop(fr, buf, host)
    rt:failed(a, err, job:host_text(host))
    first = i + 1
    if not a.enabled or cpu() - c0 > limit then
      if not e.sparse then jobm.frag_none(fr, first, n) end
      break
    end
  end
  job:idle()
  a.grown = (a.grown or 0) + (gccount("count") - m0) * 1024
  local max = rt.max_result
  for i = 0, w.n - 1 do                       -- a result over the size: no field (i: a host)
    if fr.len[i] > max then
      local len = fr.len[i]
      fr.len[i] = 0
      rt:failed(a, string.format("its result is %d bytes of JSON, over analyses.max_result (%d): "
                                 .. "left out", len, max), job:host_text(i))
    end
  end
  local dt, used = now() - t0, cpu() - c0
  job:add_time(a.slot, "result", dt)
  if a.enabled and used > limit then
    over_time(rt, a, used, limit, string.format("the results of %d hosts", n))
  end
end

return M
