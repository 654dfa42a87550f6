-- tests/spec/helper.lua: what the busted specs share, in one place.
--
-- busted runs this file before any spec (the root .busted names it), and
-- every spec requires it for the helpers below:
--
--   local helper = require "tests.spec.helper"
--
-- so a spec also runs on its own (busted --lua=luajit tests/spec/json_spec.lua).
-- Run from the repository root, with HOSTFLOW_LIB naming the FFI library
-- (build/libhostflow.so is the default of hostflow.base).
--
-- Contents: the package path; flows made by hand (flow lists, peers by the
-- thousand); windows to merge; temporary files; the top-k items as the core
-- holds them.

if package.loaded["tests.spec.helper"] then return package.loaded["tests.spec.helper"] end

-- ------------------------------------------------------------------------
-- Package path: the Lua side of hostflow lives in ./lua
-- ------------------------------------------------------------------------

local here = debug.getinfo(1, "S").source:match("^@(.*)$") or "tests/spec/helper.lua"
local ROOT = here:match("^(.-)/?tests/spec/helper%.lua$")
if ROOT == nil or ROOT == "" then ROOT = "." end

local lua_path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;"
if not package.path:find(lua_path, 1, true) then
  package.path = lua_path .. package.path
end

local ffi = require "ffi"

-- busted 2.1.1 (busted/luajit.lua) replaces ffi.typeof with a version that
-- caches results by the first argument alone, so ffi.typeof("$ *", ct)
-- returns the pointer type of the first ct ever asked for, whatever ct is
-- now: hostflow.schema builds every state's pointer type that way, and the
-- second analysis of a busted run then fails with "'struct N' has no member
-- named ...".  Calls with parameters go to LuaJIT's own ffi.typeof again.
do
  local i, original = 1, nil
  while true do
    local name, value = debug.getupvalue(ffi.typeof, i)
    if name == nil then break end
    if name == "original" then original = value end
    i = i + 1
  end
  if original then
    local cached = ffi.typeof
    ffi.typeof = function(ct, ...)
      if select("#", ...) > 0 then return original(ct, ...) end
      return cached(ct)
    end
  end
end

local base = require "hostflow.base"
local testing = require "hostflow.testing"

local helper = { ROOT = ROOT }
package.loaded["tests.spec.helper"] = helper

--- A path inside the repository.
function helper.path(rel) return ROOT .. "/" .. rel end

--- The default analyses, by name (analyses/<name>.lua).
helper.ANALYSES = { "total", "avg_flow_duration", "dport_count", "peer_number", "tcp_flags" }

function helper.analysis_path(name) return helper.path("analyses/" .. name .. ".lua") end

-- ------------------------------------------------------------------------
-- Flows and windows
-- ------------------------------------------------------------------------

helper.flow = testing.flow

--- A shallow copy of a flow table (testing.flow fills the defaults into the
-- table it is given).
local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end
helper.copy = copy

--- Feed a list of flow tables to a run (copies, so lists can be fed twice).
function helper.feed_all(run, flows)
  for _, f in ipairs(flows) do run:feed(copy(f)) end
  return run
end

--- The i-th address (i >= 0) of a range of many: IPv4 in 100.64.0.0/10,
-- IPv6 in 2001:db8:1::/64.
function helper.ipv4(i)
  return string.format("100.%d.%d.%d", 64 + math.floor(i / 65536) % 64,
                       math.floor(i / 256) % 256, i % 256)
end
function helper.ipv6(i)
  return string.format("2001:db8:1::%x:%x", math.floor(i / 65536), i % 65536)
end

--- n flows from src to n distinct peers made by addr(i) (helper.ipv4 by
-- default), with any extra fields given.
function helper.peer_flows(src, n, addr, extra)
  addr = addr or helper.ipv4
  local out = {}
  for i = 0, n - 1 do
    local f = { src = src, dst = addr(i) }
    for k, v in pairs(extra or {}) do f[k] = v end
    out[#out + 1] = f
  end
  return out
end

--- n runs of one analysis (a path or a table), each with its own arena.
function helper.windows(spec, n, opts)
  local runs = {}
  for i = 1, n do runs[i] = testing.load(spec, opts) end
  return runs
end

--- Two windows merged against one window that saw every flow: feeds
-- first to one run and second to another, merges the second into the
-- first (as the core merges a finer window into a coarser one) and feeds
-- both lists to a third run.  Returns merged, whole.
function helper.merge_windows(spec, first, second, opts)
  local a, b, whole = unpack(helper.windows(spec, 3, opts))
  helper.feed_all(a, first)
  helper.feed_all(b, second)
  helper.feed_all(whole, first)
  helper.feed_all(whole, second)
  a:merge(b)
  return a, whole
end

--- Split a list of flows into two windows: every other flow.
function helper.alternate(flows)
  local first, second = {}, {}
  for i, f in ipairs(flows) do
    if i % 2 == 1 then first[#first + 1] = f else second[#second + 1] = f end
  end
  return first, second
end

--- True when got is within rel (a fraction) of truth.
function helper.near(truth, got, rel)
  return math.abs(got - truth) <= rel * truth
end

function helper.is_integer(v)
  return type(v) == "number" and v == math.floor(v) and v > -math.huge and v < math.huge
end

-- ------------------------------------------------------------------------
-- The core's view of a top-k list
-- ------------------------------------------------------------------------

local raw_items = ffi.new("hf_topk_item[1024]")

--- The items of an hf_topk as the core lists them (hf_topk_items: heaviest
-- first), each { kind = 0|4|6, key = number or address text, count, error }.
-- For comparing summaries; topk:items() itself is what the specs test.
function helper.topk_raw(t)
  local n = base.C.hf_topk_items(t, raw_items, 1024)
  local out = {}
  for i = 0, n - 1 do
    local it = raw_items[i]
    local key
    if it.kind == 0 then key = ffi.cast("double *", it.key)[0] else key = base.addr_text(it.key) end
    out[#out + 1] = { kind = it.kind, key = key, count = it.count, error = it.error }
  end
  return out
end

--- A host's state in a run, serialised by the core (hf_state_serialize),
-- as a Lua string.
function helper.serialized(run, host)
  local st = ffi.cast("uint8_t *", run.states[host])
  local need = tonumber(base.C.hf_state_serialize(run.cschema, st, nil, 0))
  local out = ffi.new("uint8_t[?]", need)
  base.C.hf_state_serialize(run.cschema, st, out, need)
  return ffi.string(out, need)
end

--- Run code in a fresh LuaJIT (with this package path and library); returns
-- its output and the shell's exit status ("139" when it died of SIGSEGV).
function helper.run_luajit(code)
  local script = helper.write_file("child.lua",
    string.format("package.path = %q\n", package.path) .. code)
  local p = assert(io.popen("ulimit -c 0; luajit " .. script .. " 2>&1; echo \"exit:$?\""))
  local out = p:read("*a")
  p:close()
  local status = out:match("exit:(%d+)%s*$")
  return out:gsub("exit:%d+%s*$", ""), tonumber(status)
end

-- ------------------------------------------------------------------------
-- A worker's runtime, driven as core/engine/worker.c drives it
-- ------------------------------------------------------------------------

local C = base.C
require "hostflow.runtime.job"                 -- hf_lua_batch, hf_lua_window, hf_fragments, hf_job
-- the windows themselves, which the runtime never sees: the harness plays
-- the worker (core/engine/worker.c), so it knows them (checked by abi_spec)
base.declare("hf_window", [[
typedef struct hf_window {
  int64_t   start_ms;
  int64_t   g_ms;
  int       level;
  void     *arena;
  uint32_t  nhosts;
  uint32_t  mask;
  uint32_t *table;
  uint8_t **chunks;
  uint32_t  nchunks;
  size_t    row_size;
  struct hf_window *next;
  void     *layout;
  uint64_t  omit_any;
  hf_sparse *sparse;
  uint32_t  sparse_mask;
  uint32_t  nsparse;
  uint64_t **omit;
  uint32_t  omit_chunks;
  void   ***logs;
  uint32_t  logs_chunks;
  uint32_t  nlogs;
} hf_window;
]])
if not pcall(function() return C.hf_windows_init end) then
  ffi.cdef [[
hf_job    *hf_ffi_job_new(int64_t hold_ms);
void       hf_ffi_job_window(hf_job *job, hf_window *w);
void       hf_ffi_job_free(hf_job *job);
const char *hf_ffi_job_alerts(hf_job *job, size_t *len, int reset);
uint8_t   *hf_window_row(const hf_window *w, uint32_t i);
uint64_t   hf_window_omit(const hf_window *w, uint32_t i);
void       hf_window_omit_set(hf_window *w, uint32_t i, uint64_t bits);
void       hf_layout_init(void *l);
void       hf_layout_release(void *l);
void      *hf_pool_new(size_t limit_bytes);
void       hf_pool_free(void *pool);
void       hf_windows_init(void *ws, const int64_t *g_ms, int n, void *layout, void *pool);
void       hf_windows_switch(void *ws, void *l, int64_t from_ms);
void       hf_windows_release(void *ws);
hf_window *hf_windows_base(void *ws, int64_t t);
uint8_t   *hf_window_host(void *ws, hf_window *w, const uint8_t *addr, uint8_t family);
]]
end

local Worker = {}
Worker.__index = Worker
local BASE_MS = 10000                          -- one granularity: 10 s windows
local INT64_MIN = -0x7fffffffffffffffLL - 1

-- Memory for a C struct Lua does not declare (hf_layout, hf_windows).
local function opaque() return ffi.new("uint64_t[?]", 4096) end

local function ptr_key(p) return tostring(tonumber(ffi.cast("uintptr_t", p))) end

--- A worker's runtime (hostflow.runtime.start) over real windows of 10 s,
-- with opts as the C side gives them: files, and any of order, params,
-- enable, disable, distinct_exact; worker defaults to 0.  Its log lines
-- collect in w.log (each "text"); w:feed(flows), w:records(t),
-- w:control(...) below.  w:close() frees its windows.
function helper.worker(opts)
  local isolation = require "hostflow.runtime.isolation"
  local w = setmetatable({ log = {}, layouts = {}, gens = {}, last_gen = 0 }, Worker)
  w.job = ffi.gc(C.hf_ffi_job_new(opts.hold_ms or 600000), C.hf_ffi_job_free)
  w.batch, w.window = ffi.new("hf_lua_batch"), ffi.new("hf_lua_window")
  w.pool = C.hf_pool_new(0)
  local layout = w:new_layout(0)
  w.ws = opaque()
  C.hf_windows_init(w.ws, ffi.new("int64_t[1]", BASE_MS), 1, layout, w.pool)
  w.listen = function(_, fmt, ...) w.log[#w.log + 1] = string.format(fmt, ...) end
  w.isolation = isolation
  local start = {}
  for k, v in pairs(opts) do start[k] = v end
  start.job, start.layout, start.worker = w.job, layout, opts.worker or 0
  start.batch_view, start.window_view = w.batch, w.window
  start.max_batch_ns, start.max_errors = 1e10, opts.max_errors or 1000
  w:call(function()
    local runtime = require "hostflow.runtime"
    w.process, w.emit, w.control_fn = runtime.start(start)
    w.runtime = runtime.started
  end)
  return w
end

function Worker:new_layout(gen)
  local l = opaque()
  C.hf_layout_init(l)
  self.layouts[#self.layouts + 1] = l
  self.gens[ptr_key(l)] = gen
  return l
end

-- Run fn with the runtime's log lines going to self.log.
function Worker:call(fn, ...)
  local saved = self.isolation.log
  self.isolation.log = self.listen
  local res = { pcall(fn, ...) }
  self.isolation.log = saved
  if not res[1] then error(res[2], 0) end
  return unpack(res, 2, table.maxn(res))
end

--- Feed flow tables (testing.flow's fields; end_ms picks the window, T0
-- by default) through process(), a batch per base window.
function Worker:feed(flows)
  local by_start, starts = {}, {}
  for _, t in ipairs(flows) do
    local f = testing.flow(copy(t))
    local start = math.floor(f.end_ms / BASE_MS) * BASE_MS
    if not by_start[start] then by_start[start] = {}; starts[#starts + 1] = start end
    table.insert(by_start[start], f)
  end
  table.sort(starts)
  for _, start in ipairs(starts) do
    local list = by_start[start]
    local win = C.hf_windows_base(self.ws, start)
    C.hf_ffi_arena_use(win.arena)
    local n = #list
    local fa, rows = ffi.new("hf_flow[?]", n), ffi.new("uint8_t *[?]", n)
    for i, f in ipairs(list) do
      ffi.copy(fa + (i - 1), f, ffi.sizeof("hf_flow"))
      rows[i - 1] = C.hf_window_host(self.ws, win, f.src, f.family)
    end
    local b = self.batch
    b.flows, b.rows, b.n = fa, rows, n
    b.gen, b.not_run = self.gens[ptr_key(win.layout)], 0
    b.start_ms, b.g_ms = start, BASE_MS
    C.hf_ffi_job_window(self.job, win)
    self:call(self.process)
    if b.not_run ~= 0 then
      for i = 0, n - 1 do C.hf_window_omit_set(win, ffi.cast("hf_host *", rows[i]).row, b.not_run) end
    end
    C.hf_ffi_job_window(self.job, nil)
    b.n = 0
  end
  return self
end

--- The records of the base window that holds time t (T0 by default), as
-- worker.c writes their stats: { [host] = '"total":{...},"dport_count":3' }.
-- The window stays open (feed it more, emit it again).
function Worker:records(t)
  local win = C.hf_windows_base(self.ws, math.floor((t or testing.DEFAULT_FLOW.end_ms) / BASE_MS) * BASE_MS)
  local gen = self.gens[ptr_key(win.layout)]
  local n = win.nhosts
  local frags = ffi.new("hf_fragments[64]")
  local keep = {}
  for a = 0, 63 do
    keep[#keep + 1] = ffi.new("uint32_t[?]", math.max(n, 1))
    keep[#keep + 1] = ffi.new("uint32_t[?]", math.max(n, 1))
    frags[a].off, frags[a].len, frags[a].cap = keep[#keep - 1], keep[#keep], n
  end
  local rows, omits = ffi.new("uint8_t *[?]", math.max(n, 1)), ffi.new("uint64_t[?]", math.max(n, 1))
  for i = 0, n - 1 do
    rows[i] = C.hf_window_row(win, i)
    omits[i] = win.omit_any ~= 0 and C.hf_window_omit(win, i) or 0
  end
  local v = self.window
  v.rows, v.omit, v.omit_any, v.n, v.gen = rows, win.omit_any ~= 0 and omits or nil, win.omit_any, n, gen
  v.start_ms, v.g_ms, v.frags = win.start_ms, win.g_ms, frags
  C.hf_ffi_job_window(self.job, win)
  self:call(self.emit)
  C.hf_ffi_job_window(self.job, nil)
  local names = {}
  for k, e in ipairs(self.runtime.sets[gen].list) do names[k] = e.a.name end
  local out = {}
  for i = 0, n - 1 do
    local omit = win.omit_any ~= 0 and C.hf_window_omit(win, i) or 0
    local parts = {}
    for a = 0, #names - 1 do
      local fr = frags[a]
      if fr.len[i] > 0 and bit.band(bit.rshift(omit, a), 1ULL) == 0 then
        parts[#parts + 1] = '"' .. names[a + 1] .. '":' .. ffi.string(fr.buf.data + fr.off[i], fr.len[i])
      end
    end
    out[base.addr_text(ffi.cast("hf_host *", C.hf_window_row(win, i)).addr)] = table.concat(parts, ",")
  end
  for a = 0, 63 do C.hf_buf_release(frags[a].buf) end
  return out
end

--- control() as the C side calls it.  "commit" takes (id, accepted,
-- from_ms, manual): the harness makes the layout, numbers the generation
-- and, when the runtime uses it, switches the windows made from now on
-- (from_ms is only logged).  "prepare" files are paths (read here) or
-- { path, src }.
function Worker:control(op, ...)
  if op == "prepare" then
    local id, files = ...
    local list = {}
    for i, f in ipairs(files) do
      if type(f) == "string" then
        local h = assert(io.open(f, "rb"))
        list[i] = { path = f, src = h:read("*a") }
        h:close()
      else
        list[i] = f
      end
    end
    return self:call(self.control_fn, "prepare", id, list, select(3, ...))
  elseif op == "commit" then
    local id, accepted, from_ms, manual = ...
    local gen = self.last_gen + 1
    local l = self:new_layout(gen)
    local used = self:call(self.control_fn, "commit", id, accepted, from_ms, l, gen, manual)
    if used then
      self.last_gen = gen
      C.hf_windows_switch(self.ws, l, INT64_MIN)
    end
    return used
  end
  return self:call(self.control_fn, op, ...)
end

--- The host_alert records the runtime's rules raised so far (JSON texts),
-- as the worker writes them after a window's host records; emptied.
function Worker:alert_records()
  local n = ffi.new("size_t[1]")
  local p = C.hf_ffi_job_alerts(self.job, n, 1)
  local out = {}
  for line in ffi.string(p, n[0]):gmatch("[^\n]+") do out[#out + 1] = line end
  return out
end

--- Free the windows and layouts.
function Worker:close()
  C.hf_windows_release(self.ws)
  for _, l in ipairs(self.layouts) do C.hf_layout_release(l) end
  C.hf_pool_free(self.pool)
end

-- ------------------------------------------------------------------------
-- Temporary files
-- ------------------------------------------------------------------------

local made = {}

--- Write text to a new temporary file whose name ends in suffix; returns
-- its path.  helper.remove_files() deletes every file made so.
function helper.write_file(suffix, text)
  local stem = os.tmpname()
  os.remove(stem)
  local path = stem .. "_" .. suffix
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  made[#made + 1] = path
  return path
end

function helper.remove_files()
  for _, p in ipairs(made) do os.remove(p) end
  made = {}
end

return helper
