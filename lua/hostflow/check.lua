-- hostflow.check: `hostflow check FILE.lua` -- load and validate an analysis,
-- run it on sample flows, and say what it computed and how it ran.
--
-- The analysis is loaded as a worker loads it (hostflow.runtime.load_file,
-- hostflow.schema), and fed through the runtime's own per-analysis loop
-- (RUN_SRC of hostflow.runtime) over batches of hf_flow, one state per
-- source host made, initialised and merged by the core's C functions
-- (hf_state_init, hf_state_merge), as in one window that holds every flow.
-- It reports:
--
--   the analysis     name, version, its own order if any, file
--   its state        each field's kind and place, bytes per host
--   its params       each parameter's value (the configuration's, if any)
--   keys             the fields result() returned beyond `keys` (written after
--                    them, in name order), or that it returns none
--   the run          flows fed, hosts; errors raised in update() and result()
--                    (caught, counted, with file:line and a host)
--   the JIT          whether the update loop compiled (trace events through
--                    jit.attach), and every NYI abort with its reason and place
--   mergeability     the flows fed again as two halves (every other flow),
--                    merged by the core: does the result equal the whole's?
--   results          the JSON text under stats.<name> for the busiest hosts
--
-- main() returns the exit status: 0 valid and error-free, 1 the analysis
-- does not load or raised errors (or, with strict, did not compile or merge).

local ffi = require "ffi"
local base = require "hostflow.base"
local schema = require "hostflow.schema"
local json = require "hostflow.json"
local errtext = require "hostflow.errors"
local shape = require "hostflow.shape"
local context = require "hostflow.context"
local params = require "hostflow.params"
local runtime_check = require "hostflow.runtime.check"
local jutil = require "jit.util"
local vmdef = require "jit.vmdef"
local sources = require "hostflow.query.source"

local C = base.C
local fmt = string.format
local M = {}

local KIND_TEXT = {
  sum = "a sum (double; merged by adding)",
  min = "a minimum (double, starts at +inf)",
  max = "a maximum (double, starts at -inf)",
  count32 = "a count (32 bits; merged by adding, up to 4294967295)",
}

local function kind_text(field, param)
  if field.shape == "array" then
    return fmt("an array of %d %s (a profile's, kept in place)", field.count, field.ctype)
  elseif field.shape == "set" then
    return fmt("a set of up to %d numbers below 65536 (a profile's, kept in place)", (param - 2) / 2)
  elseif field.kind == "distinct" then
    return fmt("distinct values, exact up to %d, then a HyperLogLog sketch", param)
  elseif field.kind == "topk" then
    return fmt("top-k, the %d heaviest keys (Space-Saving)", param)
  elseif field.kind == "group" then
    local parts = {}
    for k, v in pairs(field.of.state) do parts[#parts + 1] = field.of.single and v.kind or (k .. " " .. v.kind) end
    table.sort(parts)
    return fmt("a group: per key (the %d heaviest kept) %s", param, table.concat(parts, ", "))
  end
  return KIND_TEXT[field.kind] or field.kind
end

-- A load error as "file:line: message": the file named once, and for a
-- message about state.X or another key of the analysis table that has no
-- line (hf.validate's), the line where the key is set.
local function with_line(msg, path)
  local prefix = path .. ": "
  if msg:sub(1, #prefix) == prefix and msg:sub(#prefix + 1, #prefix + #path + 1) == path .. ":" then
    msg = msg:sub(#prefix + 1)                     -- "f.lua: f.lua:4: ..." (raised while loading)
  end
  if msg:find("^[^\n]-:%d+:") then return msg end
  local name = msg:match("[%s']state%.([%a_][%w_]*)") or msg:match("^[^:]*: analysis '[^']*': (%a+) must")
  local f = name and io.open(path)
  if not f then return msg end
  local n, found = 0, nil
  for line in f:lines() do
    n = n + 1
    if line:find("[^%w_]" .. name .. "%s*=") or line:find("^" .. name .. "%s*=") then found = n break end
  end
  f:close()
  if not found then return msg end
  local rest = msg:sub(#path + 1):gsub("^:%s*", "")
  return fmt("%s:%d: %s", path, found, rest)
end

-- The text of a trace abort (as jit/dump.lua writes it), NYI bytecodes named.
--- LuaJIT's text for a trace abort code (as jit/dump.lua writes it).
local function abort_text(code, info)
  local text = type(code) == "number" and vmdef.traceerr[code] or tostring(code)
  if type(info) == "number" and text:find("bytecode", 1, true) then
    local name = vmdef.bcnames:sub(info * 6 + 1, info * 6 + 6):gsub("%s+$", "")
    return fmt(text, info) .. " (" .. name .. ")"
  end
  if type(info) == "number" and text:find("FastFunc", 1, true) then info = vmdef.ffnames[info] end
  if type(info) == "function" then
    local fi = jutil.funcinfo(info)
    info = fi.loc or fi.source
  end
  local ok, s = pcall(fmt, text, info)
  return ok and s or text
end

--- Where a trace event happened: "file:line".
local function where(func, pc)
  if not func then return "?" end
  local fi = jutil.funcinfo(func, pc)
  return fi.loc or fi.source or "?"
end

M.abort_text, M.where = abort_text, where   -- the JIT spec reads traces the same way

--- Watch LuaJIT's traces while `loop` (a runtime loop made by loadstring)
--- runs: w.attach() before, w.detach() after.  w.completed counts the
--- traces that completed; w.in_loop those of them that run `loop`'s own
--- bytecode: a root trace started in it, or -- when the analysis has a
--- loop of its own (lua/README.md's fanout.lua) and LuaJIT refuses the
--- outer loop as a root trace ("inner loop in root trace") -- a side trace
--- from the inner loop's exit that goes back through `loop` into it, which
--- compiles the loop as well.  w.stops lists the completed traces ({ start
--- = where, loop = runs `loop` }); w.on_abort(tr, at, reason) is called for
--- each abort.
function M.trace_watch(loop, on_abort)
  local w = { completed = 0, in_loop = 0, stops = {} }
  local started, through = {}, {}
  local function on_trace(what, tr, func, pc, code, info)
    if what == "start" then
      started[tr], through[tr] = where(func, pc), func == loop
    elseif what == "stop" then
      w.completed = w.completed + 1
      if through[tr] then w.in_loop = w.in_loop + 1 end
      w.stops[#w.stops + 1] = { start = started[tr] or "?", loop = through[tr] or false }
    elseif what == "abort" and on_abort then
      on_abort(tr, where(func, pc), abort_text(code, info))
    end
  end
  local function on_record(tr, func)
    if func == loop then through[tr] = true end
  end
  function w.attach()
    jit.attach(on_trace, "trace")
    jit.attach(on_record, "record")
  end
  function w.detach()
    jit.attach(on_record)
    jit.attach(on_trace)
  end
  return w
end

-- Errors by message: count, and the first host each was seen for.
-- kinds: the state's fields (name -> kind), for the messages
-- (hostflow.errors).
local function error_log(kinds)
  local log = { n = 0, order = {}, by = {} }
  function log.add(what, host, err)
    log.n = log.n + 1
    local msg = errtext.explain(err, kinds):match("^[^\n]*")
    local e = log.by[msg]
    if not e then
      e = { msg = msg, what = what, host = host, count = 0 }
      log.by[msg] = e
      log.order[#log.order + 1] = e
    end
    e.count = e.count + 1
  end
  return log
end

-- The keys of t, sorted.
local function sorted(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

--- Run the check.  opts: file, input (hf_query_input * as light userdata),
-- hosts (how many to show), max_flows, strict, trusted (run it outside the
-- sandbox), distinct_exact, params (the
-- configuration's analyses.params: name -> values, or its Lua text), write.
function M.main(opts)
  local out = {}
  local function say(f, ...) out[#out + 1] = fmt(f, ...) .. "\n" end
  local write = opts.write or function(s) io.stdout:write(s) end
  local function flush() write(table.concat(out)); out = {} end
  local path = opts.file
  local runtime = require "hostflow.runtime"

  -- 1. the limits of a worker's check of a new version: the file and a
  -- sample run, the JIT off, under the runtime's instruction limit, so an
  -- endless loop (top level or update) is refused, not run.  Other errors
  -- are left to the fuller report below.
  local spec, err, limit
  local okc, conf = pcall(runtime_check.overrides, opts.params)
  -- in its sandbox, as hostflow run loads it, unless --trusted
  local trusted = opts.trusted and runtime_check.trusted_set { path:match("([^/]+)%.lua$") or path } or nil
  local file = io.open(path, "rb")
  if file then
    local src = file:read("*a")
    file:close()
    spec, err, limit = runtime_check.check(src, path, { params = okc and conf or nil, trusted = trusted,
                                                        distinct_exact = opts.distinct_exact })
  end
  -- 2. load and validate, as a worker does
  if limit ~= "limit" then spec, err = runtime.load_file(path, trusted) end
  if not spec then
    say("hostflow: check: %s", with_line(tostring(err), path))
    say("FAILED: %s does not load", path)
    flush()
    return 1
  end
  local ok, s = pcall(schema.build, spec, opts.distinct_exact or base.DISTINCT_EXACT)
  if not ok then
    say("hostflow: check: %s: the state cannot be laid out: %s", path, tostring(s))
    say("FAILED: %s does not load", path)
    flush()
    return 1
  end
  local cs = ffi.new("hf_schema")
  cs.fields, cs.nfields, cs.size = s.fields, s.nfields, s.size
  local okp, overrides = pcall(runtime_check.overrides, opts.params)
  local p, perr = nil, overrides
  if okp then p, perr = runtime_check.params(spec, overrides) end
  if not p then
    say("hostflow: check: %s: %s", path, perr)
    say("FAILED: %s does not load", path)
    flush()
    return 1
  end

  say("analysis  %s, version %s%s (%s)", spec.name, tostring(spec.version),
      spec.order and (", order " .. tostring(spec.order)) or "", path)
  say("state     %d field%s, %d bytes per host%s", #s.names, #s.names == 1 and "" or "s", s.size,
      (function()
        for _, n in ipairs(s.names) do
          local k = s.kinds[n]
          if k == "distinct" or k == "topk" or k == "group" then
            return " (sets, top-k lists and groups grow beyond it as they fill)"
          end
        end
        return ""
      end)())
  local width = 0
  for _, name in ipairs(s.names) do width = math.max(width, #name) end
  for _, name in ipairs(s.names) do
    local f = s.fields[s.index[name]]
    local ctype = spec.state[name].ctype or "hf_group"
    say("            %-" .. width .. "s  %-11s offset %3d, %3d bytes: %s", name, ctype,
        f.offset, spec.state[name].kind == "bytes" and f.param or ffi.sizeof(ctype),
        kind_text(spec.state[name], f.param))
  end
  if spec.params then
    local set = overrides[spec.name] or {}
    local parts = {}
    for _, k in ipairs(sorted(spec.params)) do
      local v = params.text(rawget(p.values, k))
      parts[#parts + 1] = set[k] ~= nil and fmt("%s = %s (configured; default %s)", k, v,
                                                 params.text(spec.params[k])) or fmt("%s = %s", k, v)
    end
    say("params    %s", #parts > 0 and table.concat(parts, ", ") or "none")
  end

  if spec.kind == "profile" then return M.profile(spec, s, p, opts, say, flush) end

  -- 2. run it: whole (one state per host) and halves (every other flow)
  local source = sources.of(opts.input)
  local arena = ffi.gc(C.hf_ffi_arena_new(), C.hf_ffi_arena_free)
  C.hf_ffi_arena_use(arena)
  local hosts, order = {}, {}          -- raw address -> { whole, half = {a, b}, flows, text }
  local by_dst = spec.by == "dst"         -- whose flows they are: the destination's
  local function addr_of(f) return by_dst and f.dst or f.src end
  local function host_of(f)
    local key = ffi.string(addr_of(f), 16)
    local h = hosts[key]
    if not h then
      local function state()
        local st = ffi.new(s.ct)
        C.hf_state_init(cs, ffi.cast("uint8_t *", st))
        return st
      end
      h = { key = key, text = base.addr_text(addr_of(f)), flows = 0, whole = state(), half = { state(), state() } }
      hosts[key] = h
      order[#order + 1] = h
    end
    return h
  end

  local pos = ffi.new("int[1]")
  local update = spec.update
  if spec.when then                      -- update() sees the flows when() takes
    local when, inner = spec.when, spec.update
    update = function(st, f, pv) if when(f, pv) then inner(st, f, pv) end end
  end
  local run = assert(loadstring(runtime.RUN_SRC, "=update:" .. spec.name))(update, s.ptr, 0, pos, p.view)
  local rows = ffi.new("uint8_t *[?]", 1024)
  local half_flows = ffi.new("hf_flow[?]", 1024)
  local half_rows = ffi.new("uint8_t *[?]", 1024)
  local errors = error_log(s.kinds)
  local half_failed = false
  local max_flows = opts.max_flows or math.huge
  local fed = 0
  local first_end, last_end = math.huge, -math.huge

  -- The trace events while the update loop runs (the driver's own code is
  -- not watched).  "return to lower frame" is left out: it is the loop's
  -- exit at the end of a batch returning into the (interpreted) caller.
  local aborts, nyi = {}, {}
  local watch = M.trace_watch(run, function(_, at, text)
    local key = at .. ": " .. text
    if text:find("return to lower frame", 1, true) then return end
    if not aborts[key] then
      aborts[key] = 0
      if text:find("NYI", 1, true) then nyi[#nyi + 1] = key end
    end
    aborts[key] = aborts[key] + 1
  end)

  -- Run the loop over flows[0..n) with rows, resuming after a failing flow;
  -- on_error(i, err) for each failure.
  local traceback = debug.traceback
  local function feed(flows, frows, n, on_error)
    local first = 0
    while first < n do
      watch.attach()
      local done, e = xpcall(run, traceback, flows, frows, first, n)
      watch.detach()
      if done then break end
      local i = pos[0]
      on_error(i, e)
      first = i + 1
    end
  end

  jit.flush()
  while fed < max_flows do
    local read, flows, _, n = pcall(source.read)
    if not read then
      say("hostflow: check: %s", tostring(flows))
      flush()
      return 1
    end
    if n == 0 then break end
    if fed + n > max_flows then n = max_flows - fed end
    for i = 0, n - 1 do
      local h = host_of(flows[i])
      h.flows = h.flows + 1
      local e = flows[i].end_ms
      if e < first_end then first_end = e end
      if e > last_end then last_end = e end
      rows[i] = ffi.cast("uint8_t *", h.whole)
    end
    feed(flows, rows, n, function(i, e) errors.add("update", base.addr_text(addr_of(flows[i])), e) end)
    for half = 0, 1 do                 -- every other flow of the input to each half
      local m = 0
      for i = (fed + half) % 2, n - 1, 2 do
        half_flows[m] = flows[i]
        half_rows[m] = ffi.cast("uint8_t *", hosts[ffi.string(addr_of(flows[i]), 16)].half[half + 1])
        m = m + 1
      end
      feed(half_flows, half_rows, m, function() half_failed = true end)
    end
    fed = fed + n
  end

  local lines, rejected = source.count("lines"), source.count("rejected")
  say("flows     %d fed from %s (%d lines, %d rejected), as one window", fed, source.name, lines, rejected)
  say("hosts     %d (every source address)", #order)

  -- 3. results: every host's, encoded as the record's field is
  -- (a result() that takes a context raises its alerts in one window
  -- spanning the sample, through a job of its own)
  local result = spec.result or schema.default_result(s)
  local buf = ffi.new("hf_buf")
  local listed, unlisted = {}, {}        -- keys, and the fields results had beyond them
  for _, k in ipairs(spec.keys or {}) do listed[k] = true end
  local solo = context.solo()
  if fed == 0 then first_end, last_end = 0, 0 end
  local win_start = math.floor(first_end / 60000) * 60000
  local ctx = solo:context(spec.name)
  ctx:set_window(win_start, math.max(60000, math.ceil((last_end + 1 - win_start) / 60000) * 60000))
  local addr = ffi.new("uint8_t[16]")
  local function field_text(st, h)
    buf.len = 0
    ffi.copy(addr, h.key, 16)
    solo:at(addr)
    local v = result(ffi.cast(s.ptr, st)[0], p.view, ctx)
    if v == nil then return nil end
    if spec.keys and type(v) == "table" then
      for k in pairs(v) do
        if not listed[k] and not unlisted[k] then unlisted[k] = true; unlisted[#unlisted + 1] = tostring(k) end
      end
    end
    json.encode(buf, v, spec.keys, 0)
    return ffi.string(buf.data, buf.len)
  end
  local result_errors = 0
  for _, h in ipairs(order) do
    local done, text = xpcall(field_text, traceback, h.whole, h)
    if done then h.json = text
    else
      h.failed = true
      result_errors = result_errors + 1
      errors.add("result", h.text, json.at_path(text, ffi.string(buf.data, buf.len), spec.name))
    end
  end

  local alerts = solo:records(true)

  -- 4. the halves merged by the core, against the whole
  local merged_differ, merge_checked = {}, 0
  if not half_failed then
    for _, h in ipairs(order) do
      if not h.failed then
        local a = ffi.cast("uint8_t *", h.half[1])
        C.hf_state_merge(cs, a, ffi.cast("uint8_t *", h.half[2]), C.hf_arena_current())
        local done, text = pcall(field_text, h.half[1], h)
        merge_checked = merge_checked + 1
        if not done or text ~= h.json then
          merged_differ[#merged_differ + 1] = { host = h.text, whole = h.json, merged = done and text or "error" }
        end
      end
    end
  end
  C.hf_buf_release(buf)

  -- the report
  if spec.keys then
    local list = table.concat(spec.keys, ", ")
    if #unlisted > 0 then
      table.sort(unlisted)
      say("keys      %s first; result() also returned %s, written after them in name order", list,
          table.concat(unlisted, ", "))
    elseif shape.closed(spec.result, spec.keys) then
      say("keys      %s; result() returns no other field", list)
    else
      say("keys      %s first; any other field result() returns follows them in name order", list)
    end
  end
  if fed == 0 then
    say("jit       nothing ran: no flows")
  elseif watch.in_loop > 0 and #nyi == 0 then
    say("jit       the update loop compiled (%d trace%s), no NYI abort", watch.completed,
        watch.completed == 1 and "" or "s")
  else
    say("jit       the update loop %s", watch.in_loop > 0 and "compiled, but some code it runs did not:"
                                        or "did not compile (it runs in the interpreter, much slower):")
    for _, key in ipairs(nyi) do say("            %s (x%d)", key, aborts[key]) end
    if #nyi == 0 then
      for key, count in pairs(aborts) do say("            %s (x%d)", key, count) end
    end
  end
  if errors.n == 0 then
    say("errors    none")
  else
    say("errors    %d raised (caught; the other flows and hosts went on):", errors.n)
    for k, e in ipairs(errors.order) do
      if k > 5 then say("            ... and %d other messages", #errors.order - 5) break end
      say("            in %s() for host %s: %s (x%d)", e.what, e.host, e.msg, e.count)
    end
  end
  if half_failed then
    say("merge     not checked (update raised errors)")
  elseif #merged_differ == 0 then
    say("merge     the flows fed as two halves and merged give the whole's result for all %d hosts", merge_checked)
  else
    say("merge     the flows fed as two halves and merged differ from the whole for %d of %d hosts%s:",
        #merged_differ, merge_checked,
        " (a field changed other than as its kind merges, such as a running mean kept in a"
        .. " hf.sum(), gives wrong coarser windows; top-k merges are approximate; sums of"
        .. " fractions may differ in the last digits)")
    for k, d in ipairs(merged_differ) do
      if k > 3 then break end
      say("            %s: whole %s, merged %s", d.host, tostring(d.whole), tostring(d.merged))
    end
  end

  if #alerts > 0 then
    say("alerts    %d raised on the sample (one window of %d s from %s); the first:", #alerts,
        ctx.window.granularity_s, os.date("!%Y-%m-%dT%H:%M:%SZ", win_start / 1000))
    for k = 1, math.min(3, #alerts) do say("            %s", alerts[k]) end
  end

  table.sort(order, function(a, b)
    if a.flows ~= b.flows then return a.flows > b.flows end
    return a.key < b.key
  end)
  local show = math.min(opts.hosts or 5, #order)
  if show > 0 then
    say("results   stats.%s of the %d busiest host%s (by flows):", spec.name, show, show == 1 and "" or "s")
    local hw = #"host"
    for i = 1, show do hw = math.max(hw, #order[i].text) end
    say("  %-" .. hw .. "s  %7s  %s", "host", "flows", "stats." .. spec.name)
    for i = 1, show do
      local h = order[i]
      local text = h.failed and "(error in result)" or h.json or "(no field: result() returned nil)"
      say("  %-" .. hw .. "s  %7d  %s", h.text, h.flows, text)
    end
  end

  local warnings = (fed > 0 and (watch.in_loop == 0 or #nyi > 0)) or #merged_differ > 0
  local rc = 0
  if errors.n > 0 then
    say("FAILED: %s raised %d error%s", spec.name, errors.n, errors.n == 1 and "" or "s")
    rc = 1
  elseif warnings and opts.strict then
    say("FAILED (--strict): %s %s", spec.name,
        #merged_differ > 0 and "does not merge exactly" or "does not compile")
    rc = 1
  else
    say("ok: %s is valid%s", spec.name, warnings and ", with the warnings above" or "")
  end
  flush()
  return rc
end

--- A profile: its absorb() and report() run as a reload checks them
-- (hostflow.runtime.check: made-up statistics of sample hosts, under an
-- instruction limit); what it reads and where it is fed.
function M.profile(spec, s, _, opts, say, flush)
  local profiles = require "hostflow.runtime.profiles"
  local st = profiles.stats_of(spec)
  local reads = {}
  for i, name in ipairs(st.names) do reads[i] = fmt("%s = stats.%s", name, spec.stats[name]) end
  for _, name in ipairs(sorted(spec.sets or {})) do
    reads[#reads + 1] = fmt("%s = the values of %s (ctx:values)", name, spec.sets[name])
  end
  say("profile   fed the %s windows of every host; reads %s", tostring(spec.granularity),
      table.concat(reads, ", "))
  say("memory    %d bytes per host (its state, after a %d-byte head)", s.size + profiles.HEAD, profiles.HEAD)
  local src = assert(io.open(opts.file, "rb")):read("*a")
  local ok, why = runtime_check.check(src, opts.file, { distinct_exact = opts.distinct_exact, params = opts.params })
  if not ok then
    say("errors    %s", tostring(why))
    say("FAILED: %s raised an error on sample statistics", spec.name)
    flush()
    return 1
  end
  say("sample    absorb() over %d minutes of made-up statistics of %d hosts, then report(): no error",
      runtime_check.CHECK_WINDOWS, runtime_check.CHECK_HOSTS)
  say("ok: %s is valid", spec.name)
  flush()
  return 0
end

return M
