-- hostflow.query.gen: a query becomes the source of one loop over a batch.
--
-- compile() writes a query's conditions, group keys and aggregates out as
-- Lua source -- for where { dport = 443 }:group_by("src"):count():
--
--   return function(flows, lines, n, pos)
--     for i = 0, n - 1 do
--       pos[0] = i
--       local f = flows[i]
--       if f.dport == 443 then
--         local k1 = u1(f.src, 16)
--         local g = u2[k1]
--         if g == nil then g = u3(k1); u2[k1] = g end
--         g[1] = g[1] + 1
--       end
--     end
--   end
--
-- and loads it with the Lua values it names (u1, u2, ...: the functions,
-- tries and tables it uses) as upvalues, so that LuaJIT traces one tight
-- loop per query.  pos[0] says which flow a raised error came from.

local ffi = require "ffi"
local bit = require "bit"
local base = require "hostflow.base"
local values = require "hostflow.query.values"

local C = base.C
local huge = math.huge
local fmt = string.format
local M = {}

local Gen = {}
Gen.__index = Gen

--- A new generator: the values the code names, and how it loads.
function M.new() return setmetatable({ ups = {} }, Gen) end

--- The name the generated code uses for a Lua value v: u1, u2, ...
function Gen:up(v)
  local n = #self.ups + 1
  self.ups[n] = v
  if n > 50 then return "U[" .. n .. "]" end   -- LuaJIT allows 60 upvalues
  return "u" .. n
end

--- Load src (code that names up() values) as chunk `name`; returns what it
-- returns.
function Gen:load(src, name)
  local head = { "local U = ..." }
  for i = 1, math.min(#self.ups, 50) do head[#head + 1] = fmt("local u%d = U[%d]", i, i) end
  head[#head + 1] = src
  local chunk = assert(loadstring(table.concat(head, "\n"), "=" .. name))
  return chunk(self.ups)
end

-- Predicates: each makes a line of code from a value of where{}.

local function port_pred(g, name, v)
  local fields = name == "port" and { "f.sport", "f.dport" } or { "f." .. name }
  local set = ffi.new("uint8_t[65536]")
  local list = type(v) == "table" and v or { v }
  local single = type(v) == "number" and v
  for _, p in ipairs(list) do
    local lo, hi
    if type(p) == "number" then lo, hi = p, p
    elseif type(p) == "string" then
      local a, b = p:match("^(%d+)%-(%d+)$")
      lo, hi = tonumber(a or p), tonumber(b or p)
    end
    if not lo or not hi or lo % 1 ~= 0 or hi % 1 ~= 0 or lo < 0 or hi > 65535 or lo > hi then
      return nil, fmt("%s: expected a port (0..65535), a range \"1024-65535\" or a list, got %s",
                      name, tostring(p))
    end
    for i = lo, hi do set[i] = 1 end
  end
  if #list == 0 then return nil, name .. ": an empty list matches nothing" end
  local parts = {}
  for _, fld in ipairs(fields) do
    parts[#parts + 1] = single and fmt("%s == %d", fld, single) or fmt("%s[%s] ~= 0", g:up(set), fld)
  end
  return "(" .. table.concat(parts, " or ") .. ")"
end

local function addr_pred(g, name, v)
  local trie, err = values.prefix_set(v)
  if not trie then return nil, name .. ": " .. err end
  local t, m = g:up(trie), g:up(C.hf_prefixes_match)
  if name == "host" then return fmt("(%s(%s, f.src) ~= 0 or %s(%s, f.dst) ~= 0)", m, t, m, t) end
  return fmt("%s(%s, f.%s) ~= 0", m, t, name)
end

local function proto_pred(_, v)
  local list = type(v) == "table" and v or { v }
  local parts = {}
  for _, p in ipairs(list) do
    local n = values.proto_number(p)
    if not n then return nil, fmt("proto: expected a number or a name such as \"tcp\", got %s", tostring(p)) end
    parts[#parts + 1] = "f.proto == " .. n
  end
  if #parts == 0 then return nil, "proto: an empty list matches nothing" end
  return "(" .. table.concat(parts, " or ") .. ")"
end

local FLAG_BITS = { F = 0x01, S = 0x02, R = 0x04, P = 0x08, A = 0x10, U = 0x20, E = 0x40, C = 0x80 }

local function flags_pred(g, v)
  local mask = 0
  if type(v) == "number" and v >= 0 and v <= 255 and v % 1 == 0 then mask = v
  elseif type(v) == "string" and v:match("^[FSRPAUECfsrpauec]+$") then
    for ch in v:upper():gmatch(".") do mask = bit.bor(mask, FLAG_BITS[ch]) end
  else
    return nil, "flags: expected TCP flag letters such as \"SA\" (all set) or a number, got " .. tostring(v)
  end
  return fmt("%s(f.tcp_flags, %d) == %d", g:up(bit.band), mask, mask)
end

-- where{} keys, each a function(gen, value, data) -> code or nil, message;
-- from/to are resolved when the data span is known (run time).
M.WHERE = {
  src = function(g, v) return addr_pred(g, "src", v) end,
  dst = function(g, v) return addr_pred(g, "dst", v) end,
  host = function(g, v) return addr_pred(g, "host", v) end,
  sport = function(g, v) return port_pred(g, "sport", v) end,
  dport = function(g, v) return port_pred(g, "dport", v) end,
  port = function(g, v) return port_pred(g, "port", v) end,
  proto = proto_pred,
  flags = function(g, v) return flags_pred(g, v) end,
  family = function(_, v)
    if v ~= 4 and v ~= 6 then return nil, "family: expected 4 or 6" end
    return "f.family == " .. v
  end,
}
M.WHERE_KEYS = "src, dst, host (either end), sport, dport, port (either), proto, family, flags, from, to"

--- Compile query q (the index-th of the script) into function(flows, lines,
-- n, pos) over one batch: returns it and its source.  data: the data's time
-- span for relative times (nil: none is known yet).  Sets up q.state,
-- the groups (or flows listed) its loop fills.
function M.compile(q, data, index)
  local g = M.new()
  local conds = {}
  for _, p in ipairs(q.preds) do
    if p.fn then
      conds[#conds + 1] = g:up(p.fn) .. "(f)"
    elseif p.time then
      local ms, err = values.parse_time(p.value, data)
      if not ms then error(fmt("%s: where: %s: %s", q.made_at, p.time, err), 0) end
      conds[#conds + 1] = fmt(p.time == "from" and "f.end_ms >= %.17g" or "f.end_ms < %.17g", ms)
    else
      conds[#conds + 1] = assert(M.WHERE[p.key](g, p.value))
    end
  end
  local body = {}
  local ends = 0
  local function emit(line) body[#body + 1] = line end
  emit("return function(flows, lines, n, pos)")
  emit("  for i = 0, n - 1 do")
  emit("    pos[0] = i")
  emit("    local f = flows[i]")
  if #conds > 0 then emit("    if " .. table.concat(conds, " and ") .. " then"); ends = ends + 1 end

  q.state = { groups = {}, list = {}, rows = nil }
  local st = q.state
  if q:is_listing() then
    local cap = (not q.sort_col) and q.limit_n or huge
    local keep = function(f, line)
      local list = st.list
      if #list < cap then list[#list + 1] = { flow = values.copy(f), line = line } end
    end
    emit("      " .. g:up(keep) .. "(f, lines[i])")
  elseif #q.keys > 0 or #q.aggs > 0 then
    local nkeys = #q.keys
    local slots = {}       -- initial value per slot; a set is made per group
    for _, a in ipairs(q.aggs) do
      a.slot = #slots + 1
      for _, v in ipairs(a.init) do slots[#slots + 1] = v end
    end
    local list = st.list
    local function new_group(...)
      local grp = { keys = { ... } }
      for j, v in ipairs(slots) do grp[j] = v end
      for _, a in ipairs(q.aggs) do if a.set then grp[a.slot] = {} end end
      list[#list + 1] = grp
      return grp
    end
    if nkeys == 0 then
      st.single = new_group()
      emit("      local g = " .. g:up(st.single))
    else
      local names = {}
      for k, key in ipairs(q.keys) do
        names[k] = "k" .. k
        emit(fmt("      local k%d = %s", k, key.code(g)))
        if key.nilable then emit(fmt("      if k%d ~= nil then", k)); ends = ends + 1 end
      end
      local t = g:up(st.groups)
      for k = 1, nkeys - 1 do
        emit(fmt("      local t%d = %s[k%d]", k, t, k))
        emit(fmt("      if t%d == nil then t%d = {}; %s[k%d] = t%d end", k, k, t, k, k))
        t = "t" .. k
      end
      emit(fmt("      local g = %s[k%d]", t, nkeys))
      emit(fmt("      if g == nil then g = %s(%s); %s[k%d] = g end",
               g:up(new_group), table.concat(names, ", "), t, nkeys))
    end
    for _, a in ipairs(q.aggs) do emit("      " .. a.code(g, a.slot)) end
  end
  for _, fn in ipairs(q.eaches) do emit("      " .. g:up(fn) .. "(f, lines[i])") end
  for _ = 1, ends do emit("    end") end
  emit("  end")
  emit("end")
  local source = table.concat(body, "\n")
  return g:load(source, fmt("query %d (%s)", index, q.made_at)), source
end

return M
