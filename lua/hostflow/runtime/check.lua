-- hostflow.runtime.check: an analysis file from text to a checked version.
--
-- load_file() compiles a file and validates the table it returns;
-- check() is what a reload runs in every worker before a version may take
-- over (and what a worker runs over its files at start): compile the text,
-- run the file, validate its table (hf.validate), resolve its parameters
-- under the configuration's (hostflow.params), lay its state out
-- (hostflow.schema) and run it over sample flows -- update() over
-- CHECK_FLOWS flows, result() of CHECK_HOSTS hosts, encoded as JSON -- all
-- interpreted (the JIT off for the file's functions) under an instruction
-- limit, so an endless loop is refused, not run.  A refusal names the
-- file and line, and the sample flow or host.
--
-- Each analysis file runs in an environment of its own (a copy of the
-- globals), so a global one analysis sets is not another's, and os.exit is
-- not there.

local ffi = require "ffi"
local base = require "hostflow.base"
local hf = require "hostflow"
local bit = require "bit"
local schema = require "hostflow.schema"
local json = require "hostflow.json"
local errors = require "hostflow.errors"
local params = require "hostflow.params"
local context = require "hostflow.context"

local C = base.C
local M = {}

M.CHECK_FLOWS = 64                  -- sample flows a new version must run over
M.CHECK_HOSTS = 4
M.CHECK_INSTRUCTIONS = 1000000      -- ... within this many Lua instructions

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

-- ------------------------------------------------------------------------
-- The sandbox
--
-- Each analysis file runs in an environment of its own.  By default it is a
-- sandbox: Lua's base functions that touch nothing outside the analysis,
-- and the libraries hostflow (read-only), bit, math, string and table
-- (copies: what one analysis changes in them is its own).  Everything that
-- reaches outside -- io, os, debug, ffi, jit, package, require of another
-- module, load, loadstring, loadfile, dofile, print, collectgarbage,
-- getfenv, setfenv, newproxy, module -- is not there, and naming it raises
-- an error at the analysis's file and line, so a file that uses one is
-- refused when it is loaded (at the top level, or in its sample run).
-- A file the configuration trusts (analyses.trusted, by its name without
-- .lua) gets a copy of every global instead, as query scripts do.  The
-- flows an analysis sees are read-only and its state is a reference to
-- its row, which cannot be indexed past itself (loops.lua).
-- ------------------------------------------------------------------------

local SAFE = { "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber",
               "tostring", "type", "unpack", "rawequal", "rawget", "rawset", "setmetatable",
               "_VERSION" }
local FORBIDDEN = { io = true, os = true, debug = true, ffi = true, jit = true, package = true,
                    load = true, loadstring = true, loadfile = true, dofile = true, print = true,
                    collectgarbage = true, getfenv = true, setfenv = true, newproxy = true,
                    module = true, gcinfo = true }
M.SANDBOX_MODULES = { "hostflow", "bit", "math", "string", "table" }

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- A read-only view of t (and of the tables in it).
local function readonly(t)
  local view = {}
  for k, v in pairs(t) do
    if type(v) == "table" and getmetatable(v) == nil then view[k] = readonly(v) end
  end
  return setmetatable(view, {
    __index = function(_, k) return t[k] end,
    __newindex = function(_, k) error(string.format("the hostflow module is read-only in an "
                                                    .. "analysis (setting %s)", tostring(k)), 2) end,
    __metatable = false,
  })
end
local hf_view = readonly(hf)

local function refused(name)
  return string.format("'%s' is not available to an analysis (its sandbox has %s; a trusted "
                       .. "file may use anything: analyses.trusted)", name,
                       table.concat(M.SANDBOX_MODULES, ", "))
end

local function sandbox()
  local env = {}
  for _, k in ipairs(SAFE) do env[k] = _G[k] end
  env.xpcall = analysis_xpcall
  env.getmetatable = function(v)             -- not the string library's
    if type(v) == "string" then return nil end
    return getmetatable(v)
  end
  env.math, env.string, env.table, env.bit = copy(math), copy(string), copy(table), copy(bit)
  local modules = { hostflow = hf_view, bit = env.bit, math = env.math, string = env.string,
                    table = env.table }
  env.require = function(name)
    local m = modules[name]
    if m == nil then error(refused("require \"" .. tostring(name) .. "\""), 2) end
    return m
  end
  env._G = env
  return setmetatable(env, {
    __index = function(_, k)
      if FORBIDDEN[k] then error(refused(k), 2) end
    end,
  })
end

-- A trusted file's globals: a copy of the state's, so that what it sets
-- stays its own; os.exit is not there.
local function trusted_environment()
  local env = copy(_G)
  env._G = env
  env.xpcall = analysis_xpcall
  env.os = setmetatable({
    exit = function() error("an analysis may not call os.exit", 2) end,
  }, { __index = os })
  return env
end

-- The environment of the file at path: a sandbox unless trusted (a set of
-- file names without .lua) names it.
local function environment(path, trusted)
  local stem = path:match("([^/]+)%.lua$") or path:match("([^/]+)$")
  if trusted and trusted[stem] then return trusted_environment() end
  return sandbox()
end

--- The set of trusted file names from a list (analyses.trusted), or nil.
function M.trusted_set(list)
  if not list then return nil end
  local set = {}
  for _, name in ipairs(list) do set[name] = true end
  return set
end

-- "path: message", unless the message names the path already.
local function with_path(path, msg)
  msg = tostring(msg)
  if msg:sub(1, #path + 1) == path .. ":" then return msg end
  return path .. ": " .. msg
end

-- Compile the text of an analysis file.  Returns the chunk, or nil and
-- "path:line: message".
local function compile_chunk(src, path, trusted)
  local chunk, err = loadstring(src, "@" .. path)
  if not chunk then return nil, err end
  setfenv(chunk, environment(path, trusted))
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

--- Load one analysis file (no sample run; see M.check), in its sandbox
-- unless trusted (a set of file names, M.trusted_set) names it.  Returns the
-- checked analysis table and the file's text, or nil and a message naming
-- the file (and line, for Lua errors).
function M.load_file(path, trusted)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local src = f:read("*a")
  f:close()
  local chunk
  chunk, err = compile_chunk(src, path, trusted)
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

-- Call fn(...) under an instruction limit: (true, results...), (false,
-- message), or (false, message, "limit") when the limit stopped it.  Only
-- interpreted code counts instructions: the caller turns the JIT off for
-- the functions it checks.  Past the limit the hook raises
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
        if info and info.source:sub(1, 1) == "@" and not info.source:find("hostflow/runtime/", 1, true) then
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
  if not res[1] and msg then return false, res[2], "limit" end
  return unpack(res, 1, table.maxn(res))
end
jit.off(limited)

-- The sample run of an analysis whose state is s (schema.build), with its
-- parameters p (M.params): update() over M.CHECK_FLOWS flows, then result()
-- of each sample host, encoded.
local function sample_run(spec, s, p)
  local cs = ffi.new("hf_schema")
  cs.fields, cs.nfields, cs.size = s.fields, s.nfields, s.size
  local size = 8 * math.ceil(s.size / 8)
  local mem = ffi.new("uint8_t[?]", M.CHECK_HOSTS * size)
  for h = 0, M.CHECK_HOSTS - 1 do C.hf_state_init(cs, mem + h * size) end
  local flows = ffi.cast("const hf_flow *", M.sample_flows(M.CHECK_FLOWS))
  local update, result = spec.update, spec.result or schema.default_result(s)
  local T, keys, view = s.ptr, spec.keys, p.view
  local buf = ffi.new("hf_buf")
  local solo = context.solo()
  local ctx = solo:context(spec.name)
  ctx:set_window(1764165600000, 60000)
  local addr, fam = ffi.new("uint8_t[16]"), ffi.new("uint8_t[1]")
  local when = spec.when
  for i = 0, M.CHECK_FLOWS - 1 do
    local ok, err = pcall(function(st, f, v)
      if not when or when(f, v) then update(st, f, v) end
    end, ffi.cast(T, mem + (i % M.CHECK_HOSTS) * size)[0], flows[i], view)
    if not ok then
      error(string.format("%s (update, sample flow %d: %s -> %s, protocol %d, port %d)",
                          errors.explain(err, s.kinds), i + 1, SAMPLE_HOSTS[i % 4 + 1], base.addr_text(flows[i].dst),
                          flows[i].proto, flows[i].dport), 0)
    end
  end
  for h = 0, M.CHECK_HOSTS - 1 do
    local start = buf.len
    local ok, err = pcall(function()
      C.hf_addr_parse(SAMPLE_HOSTS[h + 1], #SAMPLE_HOSTS[h + 1], addr, fam)
      solo:at(addr)
      local v = result(ffi.cast(T, mem + h * size)[0], view, ctx)
      if v ~= nil then json.encode(buf, v, keys, 0) end
    end)
    if not ok then
      err = json.at_path(errors.explain(err, s.kinds), ffi.string(buf.data + start, buf.len - start), spec.name)
      error(string.format("%s (result, sample host %s)", err, SAMPLE_HOSTS[h + 1]), 0)
    end
  end
  C.hf_buf_release(buf)
  if params.key(p.values) ~= p.key then
    error(string.format("%s: it changed its params, which are read-only (now %s)", spec.name,
                        params.describe(p.values)), 0)
  end
  return mem
end
jit.off(sample_run, true)

M.CHECK_WINDOWS = 60                -- sample windows a profile absorbs per host

-- The sample run of a profile: absorb() of M.CHECK_WINDOWS one-minute
-- windows for each sample host, with made-up statistics (a daily rhythm
-- and noise, every few windows a NaN), then report() of each, encoded.
local function sample_absorb(spec, s, p)
  local profiles = require "hostflow.runtime.profiles"
  local st = profiles.stats_of(spec)
  local cs = ffi.new("hf_schema")
  cs.fields, cs.nfields, cs.size = s.fields, s.nfields, s.size
  local size = 8 * math.ceil(s.size / 8)
  local mem = ffi.new("uint8_t[?]", M.CHECK_HOSTS * size)
  for h = 0, M.CHECK_HOSTS - 1 do C.hf_state_init(cs, mem + h * size) end
  local x = ffi.new(st.ct)
  local xs = ffi.cast("double *", x)
  local solo = context.solo()
  local ctx = solo:context(spec.name)
  local addr, fam = ffi.new("uint8_t[16]"), ffi.new("uint8_t[1]")
  local T, view = s.ptr, p.view
  local t0 = 1764165600000
  for win = 0, M.CHECK_WINDOWS - 1 do
    ctx:set_window(t0 + win * 60000, 60000)
    for h = 0, M.CHECK_HOSTS - 1 do
      C.hf_addr_parse(SAMPLE_HOSTS[h + 1], #SAMPLE_HOSTS[h + 1], addr, fam)
      solo:at(addr)
      for j = 0, st.k - 1 do
        xs[j] = (win + h + j) % 11 == 0 and 0 / 0 or (h + 1) * 100 * (1 + (win % 7) / 10) + j
      end
      local ok, err = pcall(spec.absorb, ffi.cast(T, mem + h * size)[0], x, ctx, view)
      if not ok then
        error(string.format("%s (absorb, sample window %d of host %s)", tostring(err), win + 1,
                            SAMPLE_HOSTS[h + 1]), 0)
      end
    end
  end
  if spec.report then
    local buf = ffi.new("hf_buf")
    for h = 0, M.CHECK_HOSTS - 1 do
      local rctx = { period = { start_ms = t0, end_ms = t0 + 86400000 },
                     host = function() return SAMPLE_HOSTS[h + 1] end }
      local ok, err = pcall(function()
        local v = spec.report(ffi.cast(T, mem + h * size)[0], view, rctx)
        if v ~= nil then json.encode(buf, v, spec.keys, 0) end
      end)
      if not ok then
        error(string.format("%s (report, sample host %s)", tostring(err), SAMPLE_HOSTS[h + 1]), 0)
      end
    end
    C.hf_buf_release(buf)
  end
  if params.key(p.values) ~= p.key then
    error(string.format("%s: it changed its params, which are read-only (now %s)", spec.name,
                        params.describe(p.values)), 0)
  end
  return mem
end
jit.off(sample_absorb, true)

--- The configuration's parameters (analyses.params: analysis name -> a
-- table of values; nil: none), checked for shape: a table, or the Lua text
-- of one as the C side keeps it ('{big={threshold=50,},}').  Each
-- analysis's values are checked against its declaration when it is loaded.
function M.overrides(overrides)
  if overrides == nil then return {} end
  if type(overrides) == "string" then
    local chunk, err = loadstring("return " .. overrides, "=analyses.params")
    local ok, t = false, err
    if chunk then ok, t = pcall(setfenv(chunk, {})) end
    if not ok then error("analyses.params: cannot be read: " .. tostring(t), 0) end
    overrides = t
  end
  if type(overrides) ~= "table" then
    error("analyses.params: expected a table of analysis names and their parameters, got " .. type(overrides), 0)
  end
  for name, values in pairs(overrides) do
    if type(name) ~= "string" then error("analyses.params: expected analysis names as keys, got " .. type(name), 0) end
    if type(values) ~= "table" then
      error(string.format("analyses.params.%s: expected a table of parameter values, got %s", name, type(values)), 0)
    end
  end
  return overrides
end

--- The parameters of an analysis (spec) under the configuration's
-- overrides (analyses.params: name -> values, or nil): { values, view (what
-- update and result get), key (equal for equal values) }, or nil and a
-- message naming analyses.params.NAME.KEY.
function M.params(spec, overrides)
  local values, err = params.resolve(spec, overrides and overrides[spec.name])
  if not values then return nil, err end
  return { values = values, view = params.view(values), key = params.key(values) }
end

--- Check an analysis's text as a reload does: compile it, run the file,
-- validate its table, resolve its parameters, build its state, and run it
-- over sample flows, all with the JIT off for the file's functions and
-- under an instruction limit.  opts: distinct_exact, wanted (a function of
-- the name: false skips the sample run), sample (false: no sample run, the
-- same text passed it elsewhere), params (analyses.params: name ->
-- values), trusted (M.trusted_set).  Returns the analysis table, its state (schema.build) and its
-- parameters (M.params), or nil, "file:line: message" and, when the
-- instruction limit stopped it (an endless loop?), "limit".
function M.check(src, path, opts)
  opts = opts or {}
  local chunk, err = compile_chunk(src, path, opts.trusted)
  if not chunk then return nil, err end
  jit.off(chunk, true)                  -- every function of the file: hooks see them
  local arena = C.hf_ffi_arena_new()    -- the sets of the sample run grow here
  C.hf_ffi_arena_use(arena)
  local ok, spec, s, p = limited(M.CHECK_INSTRUCTIONS, "loading it", function()
    local sp, why = make(chunk, path)
    if not sp then error(why, 0) end
    local pp, perr = M.params(sp, opts.params)
    if not pp then error(perr, 0) end
    if opts.wanted and not opts.wanted(sp.name) then return sp, nil, pp end
    local st = schema.build(sp, opts.distinct_exact or base.DISTINCT_EXACT)
    return sp, st, pp
  end)
  local stopped = not ok and s or nil
  if ok and s and opts.sample ~= false then
    local ok2, why, limit = limited(M.CHECK_INSTRUCTIONS, "it",
                                    spec.kind == "profile" and sample_absorb or sample_run, spec, s, p)
    if not ok2 then ok, spec, stopped = false, why, limit end
  end
  C.hf_ffi_arena_free(arena)
  if not ok then return nil, with_path(path, spec), stopped end
  jit.on(chunk, true)
  return spec, s, p
end

return M
