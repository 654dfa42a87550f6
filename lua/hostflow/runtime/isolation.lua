-- hostflow.runtime.isolation: one analysis's failure stays its own.
--
-- The runtime runs each analysis's loop (loops.lua) in a protected call.
-- An error is caught, counted and logged; the loop resumes after the flow
-- or host that failed, the other analyses never notice, and the field is
-- left out of the records of that host: in update(), through the row's
-- omit bits, which the core keeps beside the window's rows and ORs into
-- coarser windows; in result(), by dropping that host's text.
--
-- The log.  A message names the types as the author knows them
-- (hostflow.errors: "an hf.distinct()", not "struct hf_distinct"); one of
-- a result that cannot be written as JSON says where in it (hostflow.json).
-- An analysis that fails on some flows fails on many: its errors
-- are logged per analysis and message, one line each, at most once a
-- minute, the line after the first saying how many more came (with the
-- host and window of the latest):
--
--   probe: analyses/probe.lua:6: unlucky host (host 10.0.0.3, window 10s@2026-11-26T14:00:10Z:
--   field left out there and in the coarser windows) — 1,150 more like this in the last minute
--
-- At most LOG_BURST lines a second per analysis, MESSAGES_TRACKED messages
-- told apart per analysis (the others share one line); what is held back is
-- written when its minute is over (tick(), once a second at most, from
-- process and emit) or at the end of the input (finish()).  The Lua
-- traceback follows a line only with -v (opts.verbose).
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

local ffi = require "ffi"
local bit = require "bit"
local base = require "hostflow.base"
local errors = require "hostflow.errors"
local json = require "hostflow.json"
local jobm = require "hostflow.runtime.job"

local C = base.C
local now, cpu = jobm.now, jobm.cpu
local traceback = debug.traceback
local M = {}

M.LOG_ERROR, M.LOG_WARN, M.LOG_INFO = 0, 1, 2
M.LOG_BURST = 5                     -- error lines per analysis and second
M.LOG_EVERY = 60                    -- seconds between two lines of one message
M.MESSAGES_TRACKED = 16             -- messages told apart per analysis; the others share a line
M.clock = os.time                   -- seconds (a spec replaces it)

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

-- ------------------------------------------------------------------------
-- The error log: one line per analysis and message, at most once a minute
-- ------------------------------------------------------------------------

-- "1,150"
local function thousands(n)
  local s = tostring(n)
  local head = #s % 3
  local out = head > 0 and s:sub(1, head) or ""
  for i = head + 1, #s, 3 do out = out .. (out ~= "" and "," or "") .. s:sub(i, i + 2) end
  return out
end
M.thousands = thousands

--- "10s@2026-11-26T14:00:10Z": a window for messages (nil without one).
function M.window_text(start_ms, g_ms)
  if not g_ms or g_ms <= 0 then return nil end
  return string.format("%ds@%s", g_ms / 1000, os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(start_ms / 1000)))
end

-- An error as its message and, when the handler added one, its traceback
-- (the analysis's frames: not the runtime's, its loops' or xpcall's).
local function split(err)
  err = tostring(err)
  local msg, tb = err:match("^(.-)\n(stack traceback:.*)$")
  if not msg then return err, nil end
  local keep = { "stack traceback:" }
  for line in tb:gmatch("\n([^\n]*)") do
    if not (line:find("hostflow/runtime/", 1, true) or line:find("^%s*update:") or line:find("^%s*result:")
            or line:find("in function 'xpcall'", 1, true)) then
      keep[#keep + 1] = line
    end
  end
  return msg, table.concat(keep, "\n")
end

-- The analyses with an error line held back: a -> true.
local function held(rt)
  rt.errlogs = rt.errlogs or {}
  return rt.errlogs
end

-- Whether analysis a may write one more line in second t (LOG_BURST).
local function burst_ok(a, t)
  if a.second ~= t then a.second, a.logged = t, 0 end
  if a.logged >= M.LOG_BURST then return false end
  a.logged = a.logged + 1
  return true
end

-- Write entry e of analysis a's log: its latest error, and how many more
-- came since its last line.
local function write(rt, a, e, t)
  local more = ""
  if e.pending > 1 then
    local span = t - (e.since or t)
    local when = span <= M.LOG_EVERY + 2 and "in the last minute"
                 or string.format("in the last %d minutes", math.ceil(span / 60))
    more = string.format(" \u{2014} %s more %s %s", thousands(e.pending - 1),
                         e.other and "errors with other messages" or "like this", when)
  end
  local where = e.host and ("host " .. e.host .. (e.win and (", window " .. e.win) or "")) or nil
  local line = string.format("%s: %s (%s%s)%s", a.name, e.text, where and (where .. ": ") or "",
                             e.what, more)
  if rt.verbose and e.tb then line = line .. "\n" .. e.tb end
  M.log(M.LOG_WARN, "%s", line)
  e.logged, e.pending = t, 0
end

-- Write e now if its minute allows and a's burst does.
local function maybe_write(rt, a, e, t)
  if e.pending == 0 then return end
  if e.logged and t - e.logged < M.LOG_EVERY then return end
  if not burst_ok(a, t) then return end
  write(rt, a, e, t)
end

--- Log error err (raw: message and maybe traceback) of analysis a for host
-- (text; nil: none) in window win (text; nil: none); what says what became
-- of the field.  One line per message at most once a minute (above).
function M.note(rt, a, err, host, win, what)
  local t = M.clock()
  local raw, tb = split(err)
  local log = a.errlog
  if not log then
    log = { by = {}, n = 0 }
    a.errlog = log
  end
  local e = log.by[raw]
  if not e then
    if log.n < M.MESSAGES_TRACKED then
      e = { text = errors.explain(raw, a.schema and a.schema.kinds), pending = 0 }
      log.by[raw], log.n = e, log.n + 1
    else
      e = log.other or { pending = 0, other = true }
      log.other = e
      e.text = errors.explain(raw, a.schema and a.schema.kinds)
    end
  end
  if e.pending == 0 then e.since = t end          -- the first error the next line counts
  e.pending = e.pending + 1
  e.host, e.win, e.tb, e.what = host, win, tb, what or "field left out"
  held(rt)[a] = true
  maybe_write(rt, a, e, t)
end

--- Once a second at most: write the lines whose minute is over, forget the
-- messages that have been quiet for one.
function M.tick(rt)
  local t = M.clock()
  if rt.tick_t == t or not rt.errlogs then return end
  rt.tick_t = t
  for a in pairs(rt.errlogs) do
    local log, left = a.errlog, 0
    for raw, e in pairs(log.by) do
      maybe_write(rt, a, e, t)
      if e.pending == 0 and e.logged and t - e.logged >= M.LOG_EVERY then
        log.by[raw], log.n = nil, log.n - 1
      else
        left = left + 1
      end
    end
    if log.other then
      maybe_write(rt, a, log.other, t)
      if log.other.pending == 0 and t - (log.other.logged or t) >= M.LOG_EVERY then log.other = nil end
    end
    if left == 0 and not log.other then rt.errlogs[a] = nil end
  end
end

--- The end of the input: write every line held back.
function M.finish(rt)
  local t = M.clock()
  for a in pairs(rt.errlogs or {}) do
    for _, e in pairs(a.errlog.by) do
      if e.pending > 0 then write(rt, a, e, t) end
    end
    if a.errlog.other and a.errlog.other.pending > 0 then write(rt, a, a.errlog.other, t) end
  end
  rt.errlogs = nil
end

--- Analysis a failed for host (text) in window win (text, or nil): count,
-- log (above), and disable it when it is over its error budget (at most
-- max_host_errors of each host counting).
function M.failed(rt, a, err, host, win, what)
  local _, max_errors = rt.job:limits()
  rt.job:count_error(a.slot)
  local t = M.clock()
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
  M.note(rt, a, err, host, win, what)
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
    rt:failed(a, err, base.addr_text(e.by_dst and flows[i].dst or flows[i].src),
              M.window_text(job:batch_window()),
              "field left out there and in the coarser windows")
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
    local start = fr.off[host]
    err = json.at_path(err, ffi.string(buf.data + start, buf.len - start), a.name)
    jobm.frag_drop(fr, buf, host)
    rt:failed(a, err, job:host_text(host), M.window_text(tonumber(w.start_ms), tonumber(w.g_ms)),
              "field left out")
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
      rt:failed(a, string.format("its result is %d bytes of JSON, over analyses.max_result (%d)",
                                 len, max), job:host_text(i),
                M.window_text(tonumber(w.start_ms), tonumber(w.g_ms)), "field left out")
    end
  end
  local dt, used = now() - t0, cpu() - c0
  job:add_time(a.slot, "result", dt)
  if a.enabled and used > limit then
    over_time(rt, a, used, limit, string.format("the results of %d hosts", n))
  end
end

return M
