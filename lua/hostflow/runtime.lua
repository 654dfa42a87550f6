-- hostflow.runtime: the Lua half of a worker.
--
-- start() loads the analyses, lays their states out in the host rows (one C
-- struct per analysis, at an offset the core assigns) and returns three
-- functions the core calls:
--
--   process()  the flows of one base window (job.flows, job.rows, job.n):
--              every analysis's update() over the whole batch, one tight
--              loop per analysis, compiled by LuaJIT;
--   emit()     a closing window (job.window): every analysis's result() per
--              host, encoded as JSON fragments (job.frags) that the core
--              unions into one record per host;
--   control()  hot reload (core/reload.h): "prepare" checks the files of a
--              reload, "commit" makes the new set of analyses (a new
--              layout, for windows starting at or after the switch time),
--              "retire" drops a set no window uses any more.
--
-- Each analysis gets loops of its own (compiled from source per analysis
-- and per layout), so LuaJIT specialises each loop to its update() or
-- result().  A set of analyses belongs to a layout (job.gen): windows that
-- began before a reload keep the old set, an unchanged analysis is the same
-- object (same functions, same upvalues) in both.
--
-- Isolation.  An error in an analysis is caught, counted and logged
-- (rate-limited, with the host and the traceback); the loop resumes after
-- the flow or host that failed, the other analyses never notice, and the
-- field is left out of the records of that host (its omit bits, which the
-- core keeps beside the window's rows and ORs into coarser windows).  An analysis over its error budget
-- (job.max_errors a minute) or its time (job.max_batch_ns per batch) is
-- disabled until a reload.  A new version is checked before it runs: it
-- compiles, its table passes hf.validate, and it runs over sample flows
-- without error, interpreted (JIT off for its functions) under an
-- instruction limit, so an endless loop is refused, not run.
--
-- Each analysis file runs in an environment of its own (a copy of the
-- globals), so a global one analysis sets is not another's.

local ffi = require "ffi"
local bit = require "bit"
local base = require "hostflow.base"
local hf = require "hostflow"
local schema = require "hostflow.schema"
local json = require "hostflow.json"

local C = base.C
local bor, band, bnot, lshift = bit.bor, bit.band, bit.bnot, bit.lshift
local M = {}

local LOG_ERROR, LOG_WARN, LOG_INFO = 0, 1, 2
local NAME_MAX = 64                 -- HF_NAME_MAX
local MAX_ANALYSES = 64             -- HF_MAX_ANALYSES

M.CHECK_FLOWS = 64                  -- sample flows a new version must run over
M.CHECK_HOSTS = 4
M.CHECK_INSTRUCTIONS = 1000000      -- ... within this many Lua instructions
M.LOG_BURST = 5                     -- error lines per analysis and second

local function log(level, fmt, ...)
  C.hf_ffi_log(level, string.format(fmt, ...))
end

-- ------------------------------------------------------------------------
-- Loading
-- ------------------------------------------------------------------------

-- The errors hostflow raises to stop an analysis: the check's instruction
-- limit (limited(), below) and the watchdog's interrupt (core/worker.c).
local stop_msg
local INTERRUPTED = "interrupted: ran for more than its time"

local function is_stop(e)
  return type(e) == "string" and (e == stop_msg or e:find(INTERRUPTED, 1, true) ~= nil)
end

-- xpcall, but the analysis's message handler does not see hostflow's stops:
-- they are raised from a hook, where hooks are off, so a handler that loops
-- could not be stopped again.
local raw_xpcall = xpcall
local function analysis_xpcall(f, handler, ...)
  return raw_xpcall(f, function(e)
    if is_stop(e) then return e end
    return handler(e)
  end, ...)
end

-- The globals an analysis file sees: a copy of the state's, so that what
-- it sets stays its own; os.exit is not there.
local function environment()
  local env = {}
  for k, v in pairs(_G) do env[k] = v end
  env._G = env
  env.xpcall = analysis_xpcall
  env.os = setmetatable({
    exit = function() error("an analysis may not call os.exit", 2) end,
  }, { __index = os })
  return env
end

-- "path: message", unless the message names the path already.
local function with_path(path, msg)
  msg = tostring(msg)
  if msg:sub(1, #path + 1) == path .. ":" then return msg end
  return path .. ": " .. msg
end

-- Compile the text of an analysis file.  Returns the chunk, or nil and
-- "path:line: message".
local function compile_chunk(src, path)
  local chunk, err = loadstring(src, "@" .. path)
  if not chunk then return nil, err end
  setfenv(chunk, environment())
  return chunk
end

-- Run a chunk and check the table it returns.  Returns the analysis, or
-- nil and a message naming the file (and line, for Lua errors).
local function make(chunk, path)
  local ok, spec = pcall(chunk)
  if not ok then return nil, with_path(path, spec) end
  local valid, why = hf.validate(spec)
  if not valid then return nil, with_path(path, why) end
  if not (getmetatable(spec) or {}).__hostflow_analysis then
    spec = hf.analysis(spec)
  end
  spec.file = path
  return spec
end

--- Load one analysis file (no sample run; see M.check).  Returns the
-- checked analysis table and the file's text, or nil and a message naming
-- the file (and line, for Lua errors).
function M.load_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local src = f:read("*a")
  f:close()
  local chunk
  chunk, err = compile_chunk(src, path)
  if not chunk then return nil, err end
  local spec
  spec, err = make(chunk, path)
  if not spec then return nil, err end
  return spec, src
end

-- ------------------------------------------------------------------------
-- The check of a new version
-- ------------------------------------------------------------------------

local SAMPLE_HOSTS = { "10.0.0.1", "10.0.0.2", "192.168.1.1", "2001:db8::1" }

--- n sample flows, alike in nothing: IPv4 and IPv6, TCP, UDP, ICMP and
-- ICMPv6, well-known and high ports, port 0, every TCP flag, zero-length
-- and five-second flows.  Flow i comes from SAMPLE_HOSTS[i % 4 + 1].
function M.sample_flows(n)
  local flows = ffi.new("hf_flow[?]", n)
  local fam = ffi.new("uint8_t[1]")
  local function parse(text, out)
    assert(C.hf_addr_parse(text, #text, out, fam) == 0, text)
    return fam[0]
  end
  local protos = { 6, 17, 6, 1, 6, 17, 1, 6 }   -- IPv4 flows: i % 8 ~= 3, 7
  local ports = { 443, 53, 80, 0, 22, 123, 8080, 65535 }
  for i = 0, n - 1 do
    local f = flows[i]
    local v6 = i % 4 == 3
    f.family = parse(SAMPLE_HOSTS[i % 4 + 1], f.src)
    parse(v6 and string.format("2001:db8:ffff::%x", i + 1) or string.format("192.0.2.%d", i % 250 + 1),
          f.dst)
    f.proto = v6 and (i % 8 == 7 and 58 or 6) or protos[i % 8 + 1]
    f.sport = 1024 + (i * 7919) % 64000
    f.dport = ports[i % 8 + 1]
    f.packets = 1 + i % 17
    f.bytes = 40 * f.packets + (i * 131) % 1400
    f.start_ms = 1764165600000 + i * 250
    f.end_ms = f.start_ms + (i % 6) * 1000
    f.tcp_flags = f.proto == 6 and (i * 37) % 256 or 0
  end
  return flows
end

-- Call fn(...) under an instruction limit: (true, results...) or (false,
-- message).  Only interpreted code counts instructions: the caller turns
-- the JIT off for the functions it checks.  Past the limit the hook raises
-- at every instruction, so a loop that catches the error (a pcall in it)
-- meets it again at its first instruction outside the pcall.
local function limited(budget, what, fn, ...)
  local used, msg = 0, nil
  local function hook()
    if msg then
      if debug.getinfo(2, "f").func ~= limited then error(msg, 0) end
      return                               -- back in here: the call has ended
    end
    used = used + 1000
    if used > budget then
      local where, level = "", 2            -- the analysis's line, not ours
      repeat
        local info = debug.getinfo(level, "Sl")
        if info and info.source:sub(1, 1) == "@" and not info.source:find("hostflow/runtime.lua", 1, true) then
          where = info.source:sub(2) .. ":" .. tostring(info.currentline) .. ": "
        end
        level = level + 1
      until where ~= "" or not info
      msg = string.format("%s%s did not finish within %d Lua instructions (an endless loop?)",
                          where, what, budget)
      stop_msg = msg
      debug.sethook(hook, "", 1)
      error(msg, 0)
    end
  end
  debug.sethook(hook, "", 1000)
  local res = { pcall(fn, ...) }
  debug.sethook()
  stop_msg = nil
  return unpack(res, 1, table.maxn(res))
end
jit.off(limited)

-- The sample run of an analysis whose state is s (schema.build): update()
-- over M.CHECK_FLOWS flows, then result() of each sample host, encoded.
local function sample_run(spec, s)
  local cs = ffi.new("hf_schema")
  cs.fields, cs.nfields, cs.size = s.fields, s.nfields, s.size
  local size = 8 * math.ceil(s.size / 8)
  local mem = ffi.new("uint8_t[?]", M.CHECK_HOSTS * size)
  for h = 0, M.CHECK_HOSTS - 1 do C.hf_state_init(cs, mem + h * size) end
  local flows = M.sample_flows(M.CHECK_FLOWS)
  local update, result = spec.update, spec.result or schema.default_result(s)
  local T, keys = s.ptr, spec.keys
  local buf = ffi.new("hf_buf")
  for i = 0, M.CHECK_FLOWS - 1 do
    local ok, err = pcall(update, ffi.cast(T, mem + (i % M.CHECK_HOSTS) * size), flows[i])
    if not ok then
      error(string.format("%s (update, sample flow %d: %s -> %s, protocol %d, port %d)",
                          tostring(err), i + 1, SAMPLE_HOSTS[i % 4 + 1], base.addr_text(flows[i].dst),
                          flows[i].proto, flows[i].dport), 0)
    end
  end
  for h = 0, M.CHECK_HOSTS - 1 do
    local ok, err = pcall(function()
      local v = result(ffi.cast(T, mem + h * size))
      if v ~= nil then json.encode(buf, v, keys, 0) end
    end)
    if not ok then
      error(string.format("%s (result, sample host %s)", tostring(err), SAMPLE_HOSTS[h + 1]), 0)
    end
  end
  C.hf_buf_release(buf)
  return mem
end
jit.off(sample_run, true)

--- Check an analysis's text as a reload does: compile it, run the file,
-- validate its table, build its state, and run it over sample flows, all
-- with the JIT off for the file's functions and under an instruction
-- limit.  opts: distinct_exact, wanted (a function of the name: false
-- skips the sample run).  Returns the analysis table and its state
-- (schema.build), or nil and "file:line: message".
function M.check(src, path, opts)
  opts = opts or {}
  local chunk, err = compile_chunk(src, path)
  if not chunk then return nil, err end
  jit.off(chunk, true)                  -- every function of the file: hooks see them
  local arena = C.hf_ffi_arena_new()    -- the sets of the sample run grow here
  C.hf_ffi_arena_use(arena)
  local ok, spec, s = limited(M.CHECK_INSTRUCTIONS, "loading it", function()
    local sp, why = make(chunk, path)
    if not sp then error(why, 0) end
    if opts.wanted and not opts.wanted(sp.name) then return sp end
    local st = schema.build(sp, opts.distinct_exact or base.DISTINCT_EXACT)
    return sp, st
  end)
  if ok and s then
    local ok2, why = limited(M.CHECK_INSTRUCTIONS, "it", sample_run, spec, s)
    if not ok2 then ok, spec = false, why end
  end
  C.hf_ffi_arena_free(arena)
  if not ok then return nil, with_path(path, spec) end
  jit.on(chunk, true)
  return spec, s
end

-- ------------------------------------------------------------------------
-- The loops
-- ------------------------------------------------------------------------

local function as_set(list)
  if not list then return nil end
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

-- The loops, compiled once per analysis and layout so each has traces of
-- its own.
local RUN_SRC = [[
local update, T, off, pos = ...
local cast = require("ffi").cast
return function(flows, rows, first, n)
  for i = first, n - 1 do
    pos[0] = i
    update(cast(T, rows[i] + off), flows[i])
  end
end
]]
M.RUN_SRC = RUN_SRC    -- for hostflow check and the JIT spec, which run the same loop

-- check: some rows of the window leave this analysis out (their omit bits).
local EMIT_SRC = [[
local result, T, off, pos, encode, keys, C, bitv = ...
local ffi = require("ffi")
local cast, band = ffi.cast, require("bit").band
return function(w, fr, buf, first, n, check)
  for i = first, n - 1 do
    pos[0] = i
    local start = buf.len
    fr.off[i] = start
    local row = C.hf_window_row(w, i)
    if not (check and band(C.hf_window_omit(w, i), bitv) ~= 0) then
      local v = result(cast(T, row + off))
      if v ~= nil then encode(buf, v, keys, 0) end
    end
    fr.len[i] = buf.len - start
  end
end
]]

local function compile(src, name, ...)
  return assert(loadstring(src, "=" .. name))(...)
end

local function by_order(a, b)
  if a.spec.order ~= b.spec.order then return a.spec.order < b.spec.order end
  return a.name < b.name
end

local function iso(ms)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(ms / 1000))
end

--- Start a worker's runtime.  opts: job, layout (light userdata), files
-- (analysis paths), enable/disable (names or nil), distinct_exact, worker,
-- batch.  Returns process, emit, control.
function M.start(opts)
  -- HOSTFLOW_JIT_LOG=FILE: LuaJIT's trace log (jit.v, or jit.dump with
  -- HOSTFLOW_JIT_DUMP) in FILE.<worker>, to see what compiles
  local jit_log = os.getenv("HOSTFLOW_JIT_LOG")
  if jit_log and jit_log ~= "" then
    local dump = os.getenv("HOSTFLOW_JIT_DUMP")  -- jit.dump options, e.g. "tbim"
    local file = jit_log .. "." .. opts.worker
    if dump then require("jit.dump").start(dump, file) else require("jit.v").start(file) end
  end
  local abi_ok, abi_why = base.check_abi()
  if not abi_ok then error("the Lua declarations do not match the core: " .. abi_why, 0) end
  local job = ffi.cast("hf_job *", opts.job)
  local worker = opts.worker
  local batch = opts.batch or 1024
  local enable, leave_out = as_set(opts.enable), as_set(opts.disable) or {}
  local function wanted(name) return (not enable or enable[name]) and not leave_out[name] end
  local hostp = ffi.typeof("hf_host *")
  local now, cpu = C.hf_ffi_now_ns, C.hf_worker_cpu_ns

  local sets = {}          -- gen -> { gen, list = { entries }, disabled = mask }
  local current = 0        -- the newest gen
  local loaded = {}        -- path -> the analysis running from it
  local slots = {}         -- name -> counters slot
  local next_id = 0
  local pending            -- the plan being checked: { id, files, results, cand }

  -- An analysis: one loaded version of one file.
  local function new_analysis(spec, s, src, path)
    next_id = next_id + 1
    return { id = next_id, name = spec.name, version = spec.version, file = path, src = src,
             spec = spec, schema = s, enabled = true, minute = 0, errors_minute = 0,
             second = 0, logged = 0, suppressed = 0 }
  end

  -- The counters slot of a name (one per name for the whole run).
  local function slot_of(name)
    if slots[name] then return slots[name] end
    local slot = job.nslots
    if slot < MAX_ANALYSES then
      job.nslots = slot + 1
    else                                   -- reuse one no live set has
      local live = {}
      for _, set in pairs(sets) do
        for _, e in ipairs(set.list) do live[e.a.slot] = true end
      end
      slot = nil
      for n, sl in pairs(slots) do
        if not live[sl] then slot = sl; slots[n] = nil; break end
      end
      if not slot then error("too many analyses (at most 64)", 0) end
      job.analysis_ns[slot], job.result_ns[slot], job.analysis_errors[slot] = 0, 0, 0
    end
    ffi.copy(job.slot_names + slot * NAME_MAX, name)
    slots[name] = slot
    return slot
  end

  local pos = ffi.new("int[1]")
  -- A set of analyses laid out in layout; the loops compiled for it.
  local function build_set(list, layout, gen)
    table.sort(list, by_order)
    if #list > MAX_ANALYSES then error("too many analyses (at most 64)", 0) end
    local set = { gen = gen, list = {}, disabled = 0ULL }
    for _, a in ipairs(list) do
      local s = a.schema
      if C.hf_layout_add_id(layout, a.name, a.id, s.size, s.fields, s.nfields) < 0 then
        error("too many analyses (at most 64)", 0)
      end
    end
    -- the offsets are final once every state is in the layout
    for k, a in ipairs(list) do
      local s = a.schema
      local off = C.hf_layout_offset(layout, k - 1)
      a.slot = a.slot or slot_of(a.name)
      job.slot_disabled[a.slot] = a.enabled and 0 or 1
      local e = { a = a, index = k - 1, bit = lshift(1ULL, k - 1) }
      -- the loops of an unchanged analysis at the same place are the same
      -- functions, with the traces LuaJIT has compiled for them
      local key = tonumber(off) .. "/" .. (k - 1)
      a.loops = a.loops or {}
      local loops = a.loops[key]
      if not loops then
        loops = {
          run = compile(RUN_SRC, "update:" .. a.name, a.spec.update, s.ptr, tonumber(off), pos),
          emit = compile(EMIT_SRC, "result:" .. a.name, a.spec.result or schema.default_result(s),
                         s.ptr, tonumber(off), pos, json.encode, a.spec.keys, C, e.bit),
        }
        a.loops[key] = loops
      end
      e.run, e.emit = loops.run, loops.emit
      if not a.enabled then set.disabled = bor(set.disabled, e.bit) end
      set.list[k] = e
    end
    sets[gen] = set
    return set
  end

  -- Turn an analysis off or on in every set that has it.
  local function set_enabled(a, on)
    a.enabled = on
    if on then a.minute, a.errors_minute = 0, 0 end
    job.slot_disabled[a.slot] = on and 0 or 1
    for _, set in pairs(sets) do
      for _, e in ipairs(set.list) do
        if e.a == a then
          set.disabled = on and band(set.disabled, bnot(e.bit)) or bor(set.disabled, e.bit)
        end
      end
    end
  end

  local function disable(a, why)
    if not a.enabled then return end
    set_enabled(a, false)
    log(LOG_ERROR, "analysis %s (%s) disabled in worker %d: %s; its field is left out of the "
        .. "records until a reload (SIGHUP, or a change to the file)", a.name, a.file, worker, why)
  end

  -- An analysis failed for a host: count, log (rate-limited), and disable
  -- it when it is over its error budget.
  local function failed(a, err, host)
    job.analysis_errors[a.slot] = job.analysis_errors[a.slot] + 1
    local t = os.time()
    local minute = math.floor(t / 60)
    if a.minute ~= minute then a.minute, a.errors_minute = minute, 0 end
    a.errors_minute = a.errors_minute + 1
    if a.second ~= t then a.second, a.logged = t, 0 end
    if a.logged < M.LOG_BURST then
      a.logged = a.logged + 1
      local more = a.suppressed > 0 and string.format(" (%d similar lines suppressed)", a.suppressed) or ""
      a.suppressed = 0
      log(LOG_WARN, "analysis %s (%s) failed for host %s; its field is left out of the "
          .. "host's record: %s%s", a.name, a.file, host, tostring(err), more)
    else
      a.suppressed = a.suppressed + 1
    end
    if a.enabled and a.errors_minute > job.max_errors then
      disable(a, string.format("more than %d errors in a minute (analyses.max_errors)", job.max_errors))
    end
  end

  local function over_time(a, used, limit, what)
    disable(a, string.format("%.0f ms of CPU time over %s (analyses.max_batch: %.0f ms)",
                             used / 1e6, what, limit / 1e6))
  end

  -- ----------------------------------------------------------------------
  -- The initial set
  -- ----------------------------------------------------------------------

  local list, by_name = {}, {}
  for _, path in ipairs(opts.files) do
    local f, ferr = io.open(path, "rb")
    if not f then error(ferr, 0) end
    local src = f:read("*a")
    f:close()
    local spec, s = M.check(src, path, { distinct_exact = opts.distinct_exact, wanted = wanted })
    if not spec then error(s, 0) end
    if by_name[spec.name] then
      error(string.format("%s: analysis name '%s' is already used by %s",
                          path, spec.name, by_name[spec.name].file), 0)
    end
    local a = new_analysis(spec, s, src, path)
    by_name[spec.name] = a
    if wanted(spec.name) then
      list[#list + 1] = a
      loaded[path] = a
    end
  end
  for name in pairs(enable or {}) do
    if not by_name[name] then error("analyses.enable: no analysis named '" .. name .. "'", 0) end
  end
  build_set(list, opts.layout, 0)
  if worker == 0 then
    local names = {}
    for _, e in ipairs(sets[0].list) do names[#names + 1] = e.a.name .. " v" .. e.a.version end
    log(LOG_INFO, "analyses: %s", #names > 0 and table.concat(names, ", ") or "none")
  end
  M.sets = sets

  -- ----------------------------------------------------------------------
  -- process and emit
  -- ----------------------------------------------------------------------

  local traceback = debug.traceback

  local function omit_row(row, b)
    C.hf_window_omit_set(job.window, ffi.cast(hostp, row).row, b)
  end

  local function process()
    local set = sets[job.gen]
    local flows, rows, n = job.flows, job.rows, job.n
    local ns, limit = job.analysis_ns, job.max_batch_ns
    local entries = set.list
    for k = 1, #entries do
      local e = entries[k]
      local a = e.a
      if a.enabled then
        local t0, c0 = now(), cpu()
        job.current_t0, job.current_cpu0, job.current_limit, job.current = t0, c0, limit, a.slot
        local first = 0
        while first < n do
          local ok2, err = xpcall(e.run, traceback, flows, rows, first, n)
          if ok2 then break end
          local i = pos[0]
          omit_row(rows[i], e.bit)
          failed(a, err, base.addr_text(flows[i].src))
          first = i + 1
          if not a.enabled or cpu() - c0 > limit then break end
        end
        job.current = -1
        local dt, used = now() - t0, cpu() - c0
        ns[a.slot] = ns[a.slot] + dt
        if a.enabled and used > limit then over_time(a, used, limit, string.format("a batch of %d flows", n)) end
      end
    end
    job.disabled = set.disabled
  end

  local function emit()
    local w = job.window
    local set = sets[job.gen]
    local n = w.nhosts
    local ns = job.result_ns
    local limit = job.max_batch_ns * math.max(1, n / batch)
    local omit_any = w.omit_any
    local entries = set.list
    for k = 1, #entries do
      local e = entries[k]
      local a = e.a
      local fr = job.frags + e.index
      if not a.enabled then
        ffi.fill(fr.len, 4 * n)              -- disabled: no field
      else
        local buf = ffi.cast("hf_buf *", fr)
        local check = band(omit_any, e.bit) ~= 0
        local t0, c0 = now(), cpu()
        job.current_t0, job.current_cpu0, job.current_limit, job.current = t0, c0, limit, a.slot
        local first = 0
        while first < n do
          local ok2, err = xpcall(e.emit, traceback, w, fr, buf, first, n, check)
          if ok2 then break end
          local i = pos[0]
          buf.len = fr.off[i]
          fr.len[i] = 0
          failed(a, err, base.addr_text(ffi.cast(hostp, C.hf_window_row(w, i)).addr))
          first = i + 1
          if not a.enabled or cpu() - c0 > limit then
            for j = first, n - 1 do fr.len[j] = 0 end
            break
          end
        end
        job.current = -1
        local dt, used = now() - t0, cpu() - c0
        ns[a.slot] = ns[a.slot] + dt
        if a.enabled and used > limit then
          over_time(a, used, limit, string.format("the results of %d hosts", n))
        end
      end
    end
  end

  -- ----------------------------------------------------------------------
  -- control: hot reload
  -- ----------------------------------------------------------------------

  -- Check the files of reload `id` ({ path, src } each).  Returns, per
  -- file, { state = "same" | "new" | "failed" | "skipped", name, version,
  -- old_name, old_version, why }, and .removed (analyses running from a
  -- file no longer there) and .disabled (analyses disabled now).
  local function prepare(id, files)
    pending = { id = id, files = files, results = {}, cand = {} }
    local res, names, listed, count = pending.results, {}, {}, 0
    for i, f in ipairs(files) do               -- first the versions that stay
      listed[f.path] = true
      local old = loaded[f.path]
      res[i] = { old_name = old and old.name, old_version = old and old.version }
      if old then count = count + 1 end        -- it runs on, in one version or the other
      if old and old.src == f.src then
        res[i].state, res[i].name, res[i].version = "same", old.name, old.version
        names[old.name] = f.path
      end
    end
    for i, f in ipairs(files) do               -- then the new ones
      local r = res[i]
      if not r.state then
        local spec, s = M.check(f.src, f.path, { distinct_exact = opts.distinct_exact, wanted = wanted })
        if not spec then
          r.state, r.why = "failed", s
        elseif not wanted(spec.name) then
          r.state, r.name = "skipped", spec.name
        elseif names[spec.name] then
          r.state, r.name = "failed", spec.name
          r.why = string.format("%s: analysis name '%s' is already used by %s", f.path, spec.name,
                                names[spec.name])
        elseif not loaded[f.path] and count >= MAX_ANALYSES then
          r.state, r.name = "failed", spec.name
          r.why = string.format("%s: too many analyses (at most %d)", f.path, MAX_ANALYSES)
        else
          if not loaded[f.path] then count = count + 1 end
          r.state, r.name, r.version = "new", spec.name, spec.version
          pending.cand[i] = new_analysis(spec, s, f.src, f.path)
          names[spec.name] = f.path
        end
      end
    end
    local removed, disabled = 0, 0
    for path in pairs(loaded) do
      if not listed[path] then removed = removed + 1 end
    end
    for _, e in ipairs(sets[current].list) do
      if not e.a.enabled then disabled = disabled + 1 end
    end
    res.removed, res.disabled = removed, disabled
    return res
  end

  -- Apply reload `id`: accepted[i] takes file i's new version; windows
  -- starting at or after from_ms (nil: every window from now on) are laid
  -- out in layout as generation gen.  Returns true when the new layout is
  -- used, false when nothing but re-enabling changed.
  local function commit(id, accepted, from_ms, layout, gen, manual)
    local p = pending
    pending = nil
    if not p or p.id ~= id then error("reload " .. tostring(id) .. " committed without its check", 0) end
    local old_set = sets[current]
    local new_list, by, new_loaded, refused = {}, {}, {}, {}
    for i, f in ipairs(p.files) do             -- the versions that stay
      local old = loaded[f.path]
      if old and not (p.results[i].state == "new" and accepted[i]) and p.results[i].state ~= "skipped" then
        new_list[#new_list + 1], by[old.name], new_loaded[f.path] = old, old, old
      end
    end
    for i, f in ipairs(p.files) do             -- the new versions
      local a = p.cand[i]
      if a and accepted[i] then
        if by[a.name] then
          refused[#refused + 1] = string.format("%s: reload refused: analysis name '%s' is already used by %s",
                                                f.path, a.name, by[a.name].file)
        else
          new_list[#new_list + 1], by[a.name], new_loaded[f.path] = a, a, a
        end
      end
    end
    local lines = {}
    if manual then                              -- SIGHUP: a fresh start for disabled ones
      for _, a in ipairs(new_list) do
        if not a.enabled and a.slot then
          set_enabled(a, true)
          lines[#lines + 1] = string.format("%s: re-enabled, version %s", a.name, a.version)
        end
      end
    end
    local in_old, changed = {}, #new_list ~= #old_set.list
    for _, e in ipairs(old_set.list) do in_old[e.a] = true end
    for _, a in ipairs(new_list) do
      if not in_old[a] then changed = true end
    end
    local when = from_ms and (", for windows from " .. iso(from_ms)) or ""
    if changed then
      local old_by_name, old_by_file = {}, {}
      for _, e in ipairs(old_set.list) do old_by_name[e.a.name], old_by_file[e.a.file] = e.a, e.a end
      for _, a in ipairs(new_list) do
        if not in_old[a] then
          local prev = old_by_name[a.name] or old_by_file[a.file]
          if prev then
            local was = prev.name ~= a.name and (" (was " .. prev.name .. ")") or ""
            lines[#lines + 1] = string.format("%s: reloaded, version %s from %s%s", a.name, a.version,
                                              prev.version, was)
          else
            lines[#lines + 1] = string.format("%s: loaded, version %s", a.name, a.version)
          end
        end
      end
      local listed = {}
      for _, f in ipairs(p.files) do listed[f.path] = true end
      for _, e in ipairs(old_set.list) do
        local a = e.a
        if not by[a.name] and not (new_loaded[a.file] and new_loaded[a.file] ~= a) then
          lines[#lines + 1] = string.format("%s: unloaded, version %s%s", a.name, a.version,
                                            listed[a.file] and "" or " (its file was removed)")
        end
      end
      build_set(new_list, layout, gen)
      current = gen
      loaded = new_loaded
    end
    if worker == 0 then
      for _, l in ipairs(refused) do log(LOG_ERROR, "%s", l) end
      for _, l in ipairs(lines) do log(LOG_INFO, "%s%s", l, when) end
    end
    return changed
  end

  local function control(op, ...)
    if op == "prepare" then return prepare(...) end
    if op == "commit" then return commit(...) end
    if op == "retire" then
      local gen = ...
      sets[gen] = nil
      return
    end
    error("control: unknown operation " .. tostring(op), 0)
  end

  return process, emit, control
end

return M
