-- hostflow.query: investigation scripts over flows (`hostflow query SCRIPT.lua`).
--
--   local q = require "hostflow.query"
--   q.flows()
--     :where { src = "10.0.0.0/24", dport = 443, proto = "tcp", from = "-1h" }
--     :group_by("src")
--     :count():sum("bytes"):distinct("dst")
--     :top(10, "bytes")
--
-- A script builds queries; hostflow then reads the flows once (twice when a
-- query asks for a time relative to the end of the data, such as "-1h"),
-- hands each batch (an array of hf_flow structs, never a table per flow) to
-- every query, and at the end prints each query's rows, in the order the
-- queries were made, as an aligned table, CSV or JSON (one object a line).
--
-- This module is what a script sees (q) and the session that runs it; the
-- parts, one file each:
--
--   values.lua   times, durations, protocols, addresses, prefixes
--   keys.lua     the flow fields and keys (q.prefix, q.bucket, q.peer, ...)
--   query.lua    one query as a script builds it, and its rows
--   gen.lua      a query compiled into one Lua loop over a batch
--   output.lua   rows as a table, CSV or JSON (through hostflow.json)
--   args.lua     the script's arguments (q.getopt, q.usage)
--   source.lua   batches of flows from the core's reader
--
-- Groups are Lua tables keyed by the raw value of each key (an address is
-- its 16 bytes as a string, formatted only when printed).  distinct() is
-- exact: a Lua set per group.  The reference is lua/README.md,
-- "Investigating: hostflow query".

local ffi = require "ffi"
local values = require "hostflow.query.values"
local keys = require "hostflow.query.keys"
local query = require "hostflow.query.query"
local output = require "hostflow.query.output"
local args = require "hostflow.query.args"
local sources = require "hostflow.query.source"

local huge = math.huge
local fmt = string.format
local M = { _VERSION = "0.1.0" }

-- ------------------------------------------------------------------------
-- What a script is written with
-- ------------------------------------------------------------------------

M.duration, M.time, M.PROTO, M.proto_name = values.duration, values.time, values.PROTO, values.proto_name
M.addr, M.copy, M.matcher = values.addr, values.copy, values.matcher
M.prefix, M.bucket, M.peer, M.direction, M.key = keys.prefix, keys.bucket, keys.peer, keys.direction, keys.key
M.usage = args.usage

local session   -- the queries and callbacks of the script being run

--- A new query over every flow read.  Chain where, group_by, aggregates,
-- having, sort/top/limit and each; it is run and printed at the end.
function M.flows()
  local q = query.new(query.caller(2))
  session.queries[#session.queries + 1] = q
  return q
end

--- A time given as ms, ISO 8601 text or relative ("-1h": before the end of
-- the data; "+5m": after its start; only once the data has been read) in ms.
function M.ms(v)
  local ms, err = values.parse_time(v, M.data.flows and M.data or nil)
  if ms == false then error("q.ms: a relative time is known only once the flows are read", 2) end
  if not ms then error("q.ms: " .. err, 2) end
  return ms
end

--- Options of the script's arguments (args.lua): q.getopt { top = 10,
-- last = "1h", from = "", v = false }.
function M.getopt(defaults) return args.getopt(M.args, defaults) end

--- Print rows (a list of tables) with the columns given (a list of names,
-- or of { name, kind = "time"|"addr"|"num"|"text" }) in the output format
-- of the run, under an optional title (tables only).  For q.on_end.
function M.print(rows, columns, title)
  if type(rows) ~= "table" or type(columns) ~= "table" then
    error("q.print: expected a list of rows and a list of column names", 2)
  end
  local cols = {}
  for i, c in ipairs(columns) do
    cols[i] = type(c) == "table" and { name = c[1] or c.name, kind = c.kind or "any" } or { name = c, kind = "any" }
  end
  session.printed = session.printed + 1
  if session.printed > 1 and session.format == "table" then session.write("\n") end
  session.write(output.render(rows, cols, session.format, title))
end

--- Run fn() once every flow is read (q.data is then complete), before the
-- queries are printed.
function M.on_end(fn)
  if type(fn) ~= "function" then error("q.on_end: expected a function", 2) end
  session.on_end[#session.on_end + 1] = fn
end

-- ------------------------------------------------------------------------
-- The session
-- ------------------------------------------------------------------------

--- Start a session (what main does before it runs a script): opts.args,
-- opts.format ("table", "csv", "json"), opts.write (function(text)).
function M.reset(opts)
  opts = opts or {}
  session = {
    queries = {}, on_end = {}, printed = 0,
    format = opts.format or "table",
    write = opts.write or function(s) io.stdout:write(s) end,
  }
  M.args = opts.args or {}
  M.data = {}
  return M
end
M.reset()

-- Read every batch of source, calling fn(flows, lines, n).
local function each_batch(source, fn)
  while true do
    local flows, lines, n = source.read()
    if n == 0 then return end
    fn(flows, lines, n)
  end
end

local pos = ffi.new("int[1]")

--- Run the session's queries over a source: { read = function() -> flows,
-- lines, n (0 at the end), rewind = function(), spool = function(),
-- name = "flows.ndjson" } (source.lua) and print their results.  Raises an
-- error (with the input line of the flow at fault, for errors while
-- reading).
function M.execute(source)
  local data = M.data
  local two_pass = false
  for _, q in ipairs(session.queries) do two_pass = two_pass or q.needs_span end
  local function span(flows, _, n)
    local first, last = data.first_ms or huge, data.last_ms or -huge
    for i = 0, n - 1 do
      local e = flows[i].end_ms
      if e < first then first = e end
      if e > last then last = e end
    end
    data.first_ms, data.last_ms = first, last
    data.flows = (data.flows or 0) + n
  end
  if two_pass then
    source.spool()
    each_batch(source, span)
    source.rewind()
  end
  data.flows = data.flows or 0
  for k, q in ipairs(session.queries) do q:compile(two_pass and data or nil, k) end
  local queries = session.queries
  each_batch(source, function(flows, lines, n)
    if not two_pass then span(flows, lines, n) end
    for k = 1, #queries do
      local ok, err = xpcall(queries[k].run, debug.traceback, flows, lines, n, pos)
      if not ok then
        if type(err) ~= "string" then error(err, 0) end
        local where = fmt(" (at %s:%.0f)", source.name or "input", lines[pos[0]])
        local msg, tb = err:match("^(.-)(\nstack traceback:.*)$")
        error((msg or err) .. where .. (tb or ""), 0)
      end
    end
  end)
  if data.flows == 0 then data.first_ms, data.last_ms = nil, nil end
  if source.count then
    data.lines, data.rejected = source.count("lines"), source.count("rejected")
  end
  for _, fn in ipairs(session.on_end) do fn() end
  for _, q in ipairs(session.queries) do
    if q:shown() then
      local rows = q:rows()
      session.printed = session.printed + 1
      if session.printed > 1 and session.format == "table" then session.write("\n") end
      session.write(output.render(rows, q:output_columns(), session.format, q.title_text))
    end
  end
end

-- The lines of a traceback that are the script's own (not this module's,
-- not generated code or C).
local function script_frames(tb, script)
  local keep = {}
  local prefix = "\t" .. script .. ":"
  for line in tb:gmatch("[^\n]+") do
    if line:sub(1, #prefix) == prefix then
      keep[#keep + 1] = (line:gsub("in function 'u%d+'", "in a function given to a query"))
    end
  end
  return keep
end

--- `hostflow query`: opts.script, opts.args, opts.format, opts.input (an
-- hf_query_input *), opts.quiet.  Returns the exit status (0, 1 or 2).
function M.main(opts)
  local abi_ok, why = sources.check_abi()
  if not abi_ok then
    error("the Lua declaration of hf_flow (lua/hostflow/base.lua) does not match the core's: " .. why, 0)
  end
  M.reset { args = opts.args, format = opts.format }
  local source = sources.of(opts.input)
  local function report(err)
    if args.is_usage(err) then
      io.stderr:write(fmt("hostflow: query: usage: hostflow query %s [-i FLOWS] -- %s\n", opts.script,
                          err.message))
      return 2
    end
    local text = tostring(err)
    local msg, tb = text:match("^(.-)\nstack traceback:\n(.*)$")
    msg = msg or text
    io.stderr:write("hostflow: query: ", msg, "\n")
    local frames = tb and script_frames(tb, opts.script) or {}
    if #frames > 0 then io.stderr:write("stack traceback (", opts.script, "):\n", table.concat(frames, "\n"), "\n") end
    return 1
  end
  local chunk, err = loadfile(opts.script)
  if not chunk then return report(err) end
  local ok, res = xpcall(chunk, function(e)
    if args.is_usage(e) then return e end
    return debug.traceback(e, 2)
  end, unpack(M.args))
  if not ok then return report(res) end
  M.data.lines = nil
  ok, res = xpcall(M.execute, function(e)
    if args.is_usage(e) or type(e) ~= "string" then return e end
    if e:find("\nstack traceback:", 1, true) then return e end
    return debug.traceback(e, 2)
  end, source)
  if not ok then return report(res) end
  return 0
end

return M
