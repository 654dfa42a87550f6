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
-- reload.  While one runs, the job says which (job:running), so the
-- watchdog can interrupt it: the interrupt is an error raised inside the
-- analysis, caught here like any other.
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
  if on then a.minute, a.errors_minute = 0, 0 end
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

--- Analysis a failed for host (text): count, log (rate-limited), and
-- disable it when it is over its error budget.
function M.failed(rt, a, err, host)
  local _, max_errors = rt.job:limits()
  rt.job:count_error(a.slot)
  local t = os.time()
  local minute = math.floor(t / 60)
  if a.minute ~= minute then a.minute, a.errors_minute = minute, 0 end
  a.errors_minute = a.errors_minute + 1
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
    rt:disable(a, string.format("more than %d errors in a minute (analyses.max_errors)", max_errors))
  end
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
  local t0, c0 = now(), cpu()
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
  local t0, c0 = now(), cpu()
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
  local dt, used = now() - t0, cpu() - c0
  job:add_time(a.slot, "result", dt)
  if a.enabled and used > limit then
    over_time(rt, a, used, limit, string.format("the results of %d hosts", n))
  end
end

return M
