-- hostflow.runtime: the Lua half of a worker.
--
-- start() loads the analyses, lays their states out in the host rows (one C
-- struct per analysis, at an offset the core assigns) and returns two
-- functions the core calls:
--
--   process()  the flows of one base window (job.flows, job.rows, job.n):
--              every analysis's update() over the whole batch, one tight
--              loop per analysis, compiled by LuaJIT;
--   emit()     a closing window (job.window): every analysis's result() per
--              host, encoded as JSON fragments (job.frags) that the core
--              unions into one record per host.
--
-- Each analysis gets loops of its own (compiled from source per analysis), so
-- LuaJIT specialises each loop to its update() or result().  An error in an
-- analysis is caught, counted and logged (rate-limited, with the host); the
-- loop resumes after the flow or host that failed, and the other analyses
-- never notice.

local ffi = require "ffi"
local base = require "hostflow.base"
local hf = require "hostflow"
local schema = require "hostflow.schema"
local json = require "hostflow.json"

local C = base.C
local M = {}

local LOG_WARN, LOG_INFO = 1, 2

local function log(level, fmt, ...)
  C.hf_ffi_log(level, string.format(fmt, ...))
end

-- ------------------------------------------------------------------------
-- Loading
-- ------------------------------------------------------------------------

--- Load one analysis file.  Returns the checked analysis, or nil and a
-- message naming the file (and line, for Lua errors).
function M.load_file(path)
  local chunk, err = loadfile(path)
  if not chunk then return nil, err end
  local ok, spec = pcall(chunk)
  if not ok then return nil, string.format("%s: %s", path, tostring(spec)) end
  local valid, why = hf.validate(spec)
  if not valid then return nil, string.format("%s: %s", path, why) end
  if not (getmetatable(spec) or {}).__hostflow_analysis then
    spec = hf.analysis(spec)
  end
  spec.file = path
  return spec
end

local function as_set(list)
  if not list then return nil end
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

-- The loops, compiled once per analysis so each has traces of its own.
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

local EMIT_SRC = [[
local result, T, off, pos, encode, keys, C = ...
local cast = require("ffi").cast
return function(w, fr, buf, first, n)
  for i = first, n - 1 do
    pos[0] = i
    local start = buf.len
    fr.off[i] = start
    local v = result(cast(T, C.hf_window_row(w, i) + off))
    if v ~= nil then encode(buf, v, keys, 0) end
    fr.len[i] = buf.len - start
  end
end
]]

local function compile(src, name, ...)
  return assert(loadstring(src, "=" .. name))(...)
end

--- Start a worker's runtime.  opts: job, layout (light userdata), files
-- (analysis paths), enable/disable (names or nil), distinct_exact, worker.
-- Returns process, emit.
function M.start(opts)
  -- HOSTFLOW_JIT_LOG=FILE: LuaJIT's trace log (jit.v, or jit.dump with
  -- HOSTFLOW_JIT_DUMP) in FILE.<worker>, to see what compiles
  local jit_log = os.getenv("HOSTFLOW_JIT_LOG")
  if jit_log and jit_log ~= "" then
    local dump = os.getenv("HOSTFLOW_JIT_DUMP")  -- jit.dump options, e.g. "tbim"
    local file = jit_log .. "." .. opts.worker
    if dump then require("jit.dump").start(dump, file) else require("jit.v").start(file) end
  end
  local ok, why = base.check_abi()
  if not ok then error("the Lua declarations do not match the core: " .. why, 0) end
  local job = ffi.cast("hf_job *", opts.job)
  local enable, disable = as_set(opts.enable), as_set(opts.disable) or {}

  local analyses, by_name = {}, {}
  for _, path in ipairs(opts.files) do
    local spec, err = M.load_file(path)
    if not spec then error(err, 0) end
    if by_name[spec.name] then
      error(string.format("%s: analysis name '%s' is already used by %s",
                          path, spec.name, by_name[spec.name].file), 0)
    end
    by_name[spec.name] = spec
    if (not enable or enable[spec.name]) and not disable[spec.name] then
      analyses[#analyses + 1] = spec
    end
  end
  for name in pairs(enable or {}) do
    if not by_name[name] then error("analyses.enable: no analysis named '" .. name .. "'", 0) end
  end
  table.sort(analyses, function(a, b)
    if a.order ~= b.order then return a.order < b.order end
    return a.name < b.name
  end)

  local pos = ffi.new("int[1]")
  for k, a in ipairs(analyses) do
    local s = schema.build(a, opts.distinct_exact)
    local off = C.hf_layout_add(opts.layout, a.name, s.size, s.fields, s.nfields)
    if off < 0 then error("too many analyses (at most 64)", 0) end
    a.index = k - 1
    a.run = compile(RUN_SRC, "update:" .. a.name, a.update, s.ptr, tonumber(off), pos)
    a.emit = compile(EMIT_SRC, "result:" .. a.name, a.result or schema.default_result(s),
                     s.ptr, tonumber(off), pos, json.encode, a.keys, C)
    a.errors_second, a.errors_logged = 0, 0
  end
  if opts.worker == 0 then
    local names = {}
    for _, a in ipairs(analyses) do names[#names + 1] = a.name .. " v" .. a.version end
    log(LOG_INFO, "analyses: %s", #names > 0 and table.concat(names, ", ") or "none")
  end
  M.analyses = analyses

  -- An analysis failed at index i of the batch or window: count and log.
  local function failed(a, err, what)
    job.analysis_errors[a.index] = job.analysis_errors[a.index] + 1
    local now = os.time()
    if a.errors_second ~= now then a.errors_second, a.errors_logged = now, 0 end
    if a.errors_logged < 5 then
      a.errors_logged = a.errors_logged + 1
      log(LOG_WARN, "analysis %s (%s) failed for host %s: %s", a.name, a.file, what, tostring(err))
    end
  end

  local traceback = debug.traceback
  local function process()
    local flows, rows, n = job.flows, job.rows, job.n
    local ns = job.analysis_ns
    for k = 1, #analyses do
      local a = analyses[k]
      local t0 = C.hf_ffi_now_ns()
      local first = 0
      while first < n do
        local ok2, err = xpcall(a.run, traceback, flows, rows, first, n)
        if ok2 then break end
        local i = pos[0]
        failed(a, err, base.addr_text(flows[i].src))
        first = i + 1
      end
      ns[a.index] = ns[a.index] + (C.hf_ffi_now_ns() - t0)
    end
  end

  local function emit()
    local w = job.window
    local n = w.nhosts
    local ns = job.result_ns
    for k = 1, #analyses do
      local a = analyses[k]
      local t0 = C.hf_ffi_now_ns()
      local fr = job.frags + a.index
      local buf = ffi.cast("hf_buf *", fr)
      local first = 0
      while first < n do
        local ok2, err = xpcall(a.emit, traceback, w, fr, buf, first, n)
        if ok2 then break end
        local i = pos[0]
        buf.len = fr.off[i]
        fr.len[i] = 0
        failed(a, err, base.addr_text(ffi.cast("hf_host *", C.hf_window_row(w, i)).addr))
        first = i + 1
      end
      ns[a.index] = ns[a.index] + (C.hf_ffi_now_ns() - t0)
    end
  end

  return process, emit
end

return M
