-- hostflow.query.output: rows as an aligned table, CSV or JSON.
--
-- Columns are { name, kind }: kind "time" prints ms as ISO 8601 text,
-- "num" and "any" align to the right in a table while every value is a
-- number.  A table writes whole numbers as they are and fractions with
-- three decimals; CSV writes fractions with ten significant digits and
-- quotes fields as RFC 4180 asks; JSON (one object a line, the columns in
-- order, a missing value as null) goes through hostflow.json, the writer
-- of the host records, numbers exact.

local json = require "hostflow.json"
local values = require "hostflow.query.values"

local floor, huge = math.floor, math.huge
local fmt = string.format
local M = {}

local function num_text(v, table_fmt)
  if v ~= v then return "nan" end
  if v == floor(v) and v > -2^53 and v < 2^53 then return fmt("%.0f", v) end
  if v == huge then return "inf" elseif v == -huge then return "-inf" end
  return fmt(table_fmt and "%.3f" or "%.10g", v)
end

-- A value as text for a column of kind kind (nil: "").
local function cell(v, kind, table_fmt)
  if v == nil then return "" end
  if kind == "time" and type(v) == "number" then return values.time(v) end
  if type(v) == "number" then return num_text(v, table_fmt) end
  if type(v) == "cdata" then return tostring(tonumber(v)) end
  return tostring(v)
end

-- A row as the values of its columns, for JSON: times as text.
local function json_row(row, columns)
  local out = {}
  for _, c in ipairs(columns) do
    local v = row[c.name]
    if c.kind == "time" and type(v) == "number" then v = values.time(v) end
    out[c.name] = v
  end
  return out
end

local function csv_field(s)
  if s:find('[,"\r\n]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

--- Rows (tables of values by column name) with columns ({ name, kind }) in
-- format ("table", "csv", "json"), with a title above a table; the text.
function M.render(rows, columns, format, title)
  local out = {}
  if format == "json" then
    local names = {}
    for i, c in ipairs(columns) do names[i] = c.name end
    for _, row in ipairs(rows) do
      out[#out + 1] = json.fields_tostring(json_row(row, columns), names) .. "\n"
    end
  elseif format == "csv" then
    local head = {}
    for i, c in ipairs(columns) do head[i] = csv_field(c.name) end
    out[1] = table.concat(head, ",") .. "\n"
    for _, row in ipairs(rows) do
      local parts = {}
      for i, c in ipairs(columns) do parts[i] = csv_field(cell(row[c.name], c.kind)) end
      out[#out + 1] = table.concat(parts, ",") .. "\n"
    end
  else
    local texts, width, right = {}, {}, {}
    for i, c in ipairs(columns) do
      width[i] = #c.name
      right[i] = c.kind == "num" or c.kind == "any"
    end
    for r, row in ipairs(rows) do
      local t = {}
      for i, c in ipairs(columns) do
        local v = row[c.name]
        t[i] = cell(v, c.kind, true)
        if #t[i] > width[i] then width[i] = #t[i] end
        if v ~= nil and type(v) ~= "number" then right[i] = false end
      end
      texts[r] = t
    end
    local function line(t)
      local parts = {}
      for i = 1, #columns do
        local pad = string.rep(" ", width[i] - #t[i])
        parts[i] = right[i] and pad .. t[i] or t[i] .. pad
      end
      return (table.concat(parts, "  "):gsub("%s+$", "")) .. "\n"
    end
    if title then out[#out + 1] = title .. "\n" end
    local head = {}
    for i, c in ipairs(columns) do head[i] = c.name end
    out[#out + 1] = line(head)
    for _, t in ipairs(texts) do out[#out + 1] = line(t) end
  end
  return table.concat(out)
end

--- Print rows (a list of tables) with the columns given (a list of names,
-- or of { name, kind = "time"|"addr"|"num"|"text" }) in the output format

return M
