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
