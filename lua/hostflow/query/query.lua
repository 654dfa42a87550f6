-- hostflow.query.query: one query, as a script builds it, and its rows.
--
-- q.flows() makes a Query; its methods chain (each returns it): where
-- (conditions), group_by (keys.lua), the aggregates (count, sum, min, max,
-- avg, distinct, first_seen, last_seen: each a slot of the group table,
-- a line of code to update it, and a column), having, sort, top, limit,
-- each, title, hidden.  Mistakes are raised at once, pointing at the line
-- of the script that made them.  Once the flows are read, compile()
-- (gen.lua) has made its loop and filled query.state; rows() turns the
-- groups into rows ordered as asked, and output_columns() says how to
-- print them (output.lua).

local gen = require "hostflow.query.gen"
local keys = require "hostflow.query.keys"
local values = require "hostflow.query.values"

local huge = math.huge
local fmt = string.format
local M = {}

local Query = {}
Query.__index = Query
M.Query = Query

--- Where the script made a query (level: of the script, as error() counts
-- from the caller of this), for messages about it found later.
function M.caller(level)
  local info = debug.getinfo(level + 1, "Sl")
  if not info then return "?" end
  return fmt("%s:%d", info.short_src, info.currentline or 0)
end
local caller = M.caller

--- A new query, made at made_at ("script.lua:12").
function M.new(made_at)
  return setmetatable({
    preds = {}, keys = {}, aggs = {}, columns = {}, eaches = {}, where_at = {},
    made_at = made_at,
  }, Query)
end

local function fail(level, fmt_, ...)
  error(fmt(fmt_, ...), level + 1)
end

--- Keep only the flows that match every condition: a table of
-- { src=, dst=, host=, sport=, dport=, port=, proto=, family=, flags=,
--   from=, to= }, or a function(flow) -> boolean.  Calls add up (and).
function Query:where(spec)
  if type(spec) == "function" then
    self.preds[#self.preds + 1] = { fn = spec }
    return self
  end
  if type(spec) ~= "table" then fail(2, "where: expected a table such as { dport = 443 } or a function(flow)") end
  local probe = gen.new()
  for k, v in pairs(spec) do
    if k == "from" or k == "to" then
      local ms, err = values.parse_time(v)
      if ms == nil then fail(2, "where: %s: %s", k, err) end
      self.preds[#self.preds + 1] = { time = k, value = v }
      if ms == false then self.needs_span = true end
    elseif gen.WHERE[k] then
      local code, err = gen.WHERE[k](probe, v)     -- checked now, so the error points at the script
      if not code then fail(2, "where: %s", err) end
      self.preds[#self.preds + 1] = { key = k, value = v }
    else
      fail(2, "where: unknown condition %q (expected %s, or a function(flow))", tostring(k), gen.WHERE_KEYS)
    end
  end
  return self
end

--- Group the flows by one or more keys: flow fields ("src", "dport", ...)
-- or keys made by q.prefix, q.bucket, q.peer, q.direction, q.key.
function Query:group_by(...)
  for i = 1, select("#", ...) do
    local k, err = keys.as_key((select(i, ...)))
    if not k then fail(2, "group_by: %s", err) end
    self:add_column(k.name, k.kind, 3)   -- 1 add_column, 2 group_by, 3 the script
    self.keys[#self.keys + 1] = k
  end
  return self
end

function Query:add_column(name, kind, level)
  for _, c in ipairs(self.columns) do
    if c.name == name then
      fail(level, "a column named %q already exists; name this one (the last argument)", name)
    end
  end
  self.columns[#self.columns + 1] = { name = name, kind = kind }
end

-- Aggregates: slots in the group table, code to update them, their value.
-- level: of the script, as error() counts from add_agg.
local function add_agg(self, agg, level)
  self:add_column(agg.name, agg.kind, level + 1)
  self.aggs[#self.aggs + 1] = agg
end

local function numeric_field(what, field, level)
  if type(field) ~= "string" or not keys.FIELDS[field] or keys.FIELDS[field] == "addr" then
    fail(level + 1, "%s: expected a numeric flow field (sport, dport, proto, packets, bytes, start_ms, "
         .. "end_ms, duration_ms, ...), got %s", what, tostring(field))
  end
  return keys.field_code(field)
end

--- Number of flows (column "flows", or the name given).
function Query:count(as)
  add_agg(self, { name = as or "flows", kind = "num", init = { 0 },
    code = function(_, j) return fmt("g[%d] = g[%d] + 1", j, j) end }, 3)
  return self
end

--- Sum of a numeric field (column named like the field, or as given).
function Query:sum(field, as)
  local e = numeric_field("sum", field, 2)
  add_agg(self, { name = as or field, kind = "num", init = { 0 },
    code = function(_, j) return fmt("g[%d] = g[%d] + %s", j, j, e) end }, 3)
  return self
end

--- Smallest value of a field (column "min_<field>").
local function min_agg(self, field, as, level)
  local e = numeric_field("min", field, level + 1)
  add_agg(self, { name = as or "min_" .. field, kind = keys.FIELDS[field], init = { huge },
    code = function(_, j) return fmt("do local v = %s if v < g[%d] then g[%d] = v end end", e, j, j) end },
    level + 2)
  return self
end
function Query:min(field, as) return (min_agg(self, field, as, 2)) end

--- Largest value of a field (column "max_<field>").
local function max_agg(self, field, as, level)
  local e = numeric_field("max", field, level + 1)
  add_agg(self, { name = as or "max_" .. field, kind = keys.FIELDS[field], init = { -huge },
    code = function(_, j) return fmt("do local v = %s if v > g[%d] then g[%d] = v end end", e, j, j) end },
    level + 2)
  return self
end
function Query:max(field, as) return (max_agg(self, field, as, 2)) end

--- Mean of a field (column "avg_<field>").
function Query:avg(field, as)
  local e = numeric_field("avg", field, 2)
  add_agg(self, { name = as or "avg_" .. field, kind = "num", init = { 0, 0 },
    code = function(_, j) return fmt("g[%d] = g[%d] + %s; g[%d] = g[%d] + 1", j, j, e, j + 1, j + 1) end,
    value = function(g, j) return g[j] / g[j + 1] end }, 3)
  return self
end

--- When the group was first seen: the earliest flow start (column "first_seen").
function Query:first_seen(as) return (min_agg(self, "start_ms", as or "first_seen", 2)) end
--- When it was last seen: the latest flow end (column "last_seen").
function Query:last_seen(as) return (max_agg(self, "end_ms", as or "last_seen", 2)) end

--- Number of distinct values of a field or key (column "distinct_<name>"):
-- exact, a Lua set per group.
function Query:distinct(what, as)
  local k, err = keys.as_key(what)
  if not k then fail(2, "distinct: %s", err) end
  add_agg(self, { name = as or "distinct_" .. k.name:gsub("/", "_"), kind = "num",
    init = { false, 0 },    -- the set is made per group (see new_group)
    set = true,
    code = function(g, j)
      return fmt("do local v = %s if v ~= nil and g[%d][v] == nil then g[%d][v] = true; g[%d] = g[%d] + 1 end end",
                 k.code(g), j, j, j + 1, j + 1)
    end,
    value = function(grp, j) return grp[j + 1] end }, 3)
  return self
end

--- Keep only the rows for which fn(row) is true, once every flow is read;
-- row holds the columns by name (times in ms, addresses as text).
function Query:having(fn)
  if type(fn) ~= "function" then fail(2, "having: expected a function(row)") end
  self.having_fn = fn
  return self
end

--- Sort the rows by a column: aggregates largest first, keys smallest
-- first, unless "asc" or "desc" is given.  Ties go by the keys.
function Query:sort(column, order)
  if order ~= nil and order ~= "asc" and order ~= "desc" then fail(2, "sort: order is \"asc\" or \"desc\"") end
  self.sort_col, self.sort_order, self.sort_at = column, order, caller(2)
  return self
end

--- At most n rows.
function Query:limit(n)
  if type(n) ~= "number" or n < 0 or n % 1 ~= 0 then fail(2, "limit: expected a whole number") end
  self.limit_n = n
  return self
end

--- The n rows largest in a column (the first aggregate when none is given).
function Query:top(n, column)
  self:limit(n)
  self.sort_col, self.sort_order, self.sort_at = column, "desc", caller(2)
  self.sort_first_agg = column == nil
  return self
end

--- Call fn(flow, line) for every flow that passes where (and whose group
-- keys are not nil); flow points into the batch (q.copy keeps it).
function Query:each(fn)
  if type(fn) ~= "function" then fail(2, "each: expected a function(flow, line)") end
  self.eaches[#self.eaches + 1] = fn
  return self
end

--- A heading printed above the table.
function Query:title(text)
  self.title_text = tostring(text)
  return self
end

--- Do not print this query (its rows stay available: query:rows()).
function Query:hidden()
  self.hidden_flag = true
  return self
end

-- Printed at the end: not hidden, and not a query that only calls each().
function Query:shown()
  return not self.hidden_flag and not (#self.eaches > 0 and #self.keys == 0 and #self.aggs == 0)
end


-- The listing a query without keys, aggregates or each() gives: the flows.
local LISTING = {
  { name = "start_ms", kind = "time" }, { name = "end_ms", kind = "time" },
  { name = "src", kind = "addr" }, { name = "sport", kind = "num" },
  { name = "dst", kind = "addr" }, { name = "dport", kind = "num" },
  { name = "proto", kind = "num" }, { name = "packets", kind = "num" },
  { name = "bytes", kind = "num" }, { name = "tcp_flags", kind = "num" },
  { name = "line", kind = "num" },
}

function Query:is_listing()
  return #self.keys == 0 and #self.aggs == 0 and #self.eaches == 0
end

--- Compile the query into its loop over a batch (gen.lua): query.run, and
-- query.source for the curious.
function Query:compile(data, index)
  self.run, self.source = gen.compile(self, data, index)
end

-- Compare two values of a column: numbers, then strings, then the rest.
local function less(a, b)
  local ta, tb = type(a), type(b)
  if ta == tb and (ta == "number" or ta == "string") then return a < b end
  if ta == "number" then return true end
  if tb == "number" then return false end
  return tostring(a) < tostring(b)
end

-- The result rows of a finished query: { row, ... } with row[column].
function Query:rows()
  if self.result then return self.result end
  if not self.state then error("query:rows(): the flows have not been read yet", 2) end
  local st, rows = self.state, {}
  if self:is_listing() then
    for _, item in ipairs(st.list) do
      local f = item.flow
      rows[#rows + 1] = {
        start_ms = f.start_ms, end_ms = f.end_ms, src = values.addr(f.src), sport = f.sport,
        dst = values.addr(f.dst), dport = f.dport, proto = f.proto, packets = f.packets,
        bytes = f.bytes, tcp_flags = f.tcp_flags, line = item.line, [0] = { item.line },
      }
    end
  else
    for _, grp in ipairs(st.list) do
      local row = { [0] = grp.keys }          -- raw keys, for ordering
      for k, key in ipairs(self.keys) do
        local raw = grp.keys[k]
        row[key.name] = key.out and key.out(raw) or raw
      end
      for _, a in ipairs(self.aggs) do
        local v = a.value and a.value(grp, a.slot) or grp[a.slot]
        if v == huge or v == -huge then v = nil end
        row[a.name] = v
      end
      rows[#rows + 1] = row
    end
  end
  if self.having_fn then
    local kept = {}
    for _, row in ipairs(rows) do if self.having_fn(row) then kept[#kept + 1] = row end end
    rows = kept
  end
  -- order: by the sort column, then by the keys (raw: addresses by their bytes)
  local col, desc = self.sort_col, nil
  if self.sort_first_agg and #self.aggs > 0 then col = self.aggs[1].name end
  local columns = self:output_columns()
  if col then
    local known = false
    for _, c in ipairs(columns) do if c.name == col then known = true end end
    if not known then
      error(fmt("%s: sort: no column %q in this query", self.sort_at or self.made_at, col), 0)
    end
    local is_agg = false
    for _, a in ipairs(self.aggs) do if a.name == col then is_agg = true end end
    desc = self.sort_order == "desc" or (self.sort_order == nil and is_agg)
  end
  local function by_keys(a, b)
    local ka, kb = a[0], b[0]
    for i = 1, #ka do
      if ka[i] ~= kb[i] then return less(ka[i], kb[i]) end
    end
    return false
  end
  table.sort(rows, function(a, b)
    if col then
      local va, vb = a[col], b[col]
      if va ~= vb then
        if va == nil then return false end
        if vb == nil then return true end
        if desc then return less(vb, va) end
        return less(va, vb)
      end
    end
    return by_keys(a, b)
  end)
  if self.limit_n and #rows > self.limit_n then
    for i = #rows, self.limit_n + 1, -1 do rows[i] = nil end
  end
  self.result = rows
  return rows
end

function Query:output_columns()
  if self:is_listing() then return LISTING end
  return self.columns
end

return M
