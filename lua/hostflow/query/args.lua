-- hostflow.query.args: a script's command-line arguments.
--
-- Arguments after the script (after `--` when they start with `-`) are the
-- script's; getopt reads options out of them by the types of their
-- defaults, and usage() stops the script with a usage message (exit
-- status 2), as a table error that main() tells from the script's own.

local fmt = string.format
local M = {}

local UsageError = {}

--- Whether err was raised by usage().
function M.is_usage(err) return getmetatable(err) == UsageError end

--- Stop the script with a usage message (exit status 2): q.usage("ADDRESS").
function M.usage(text)
  error(setmetatable({ message = text }, UsageError), 2)
end

--- Options of args (a list of strings): getopt(args, { top = 10, last =
-- "1h", from = "", v = false }) reads "--top 20 --last=30m --from
-- 2026-11-26T14:00:00Z -v" into a table with those keys: numbers and
-- booleans as the defaults' types, text otherwise ("" is text with no
-- default: nil unless given), and the other arguments in its list part.
-- An unknown option stops with a usage message.
function M.getopt(args, defaults)
  defaults = defaults or {}
  local opt, known, i = {}, {}, 1
  for k, v in pairs(defaults) do
    known[k] = type(v)
    if v ~= "" then opt[k] = v end
  end
  while i <= #args do
    local a = args[i]
    local name, value = a:match("^%-%-?([%w_%-]+)=(.*)$")
    if not name then name = a:match("^%-%-?([%a][%w_%-]*)$") end
    if name then
      name = name:gsub("%-", "_")
      local kind = known[name]
      if kind == nil then M.usage(fmt("unknown option %s", a)) end
      if kind == "boolean" then
        opt[name] = value == nil or (value ~= "false" and value ~= "0" and value ~= "no")
      else
        if value == nil then
          i = i + 1
          value = args[i]
          if value == nil then M.usage(fmt("option %s needs a value", a)) end
        end
        if kind == "number" then
          local n = tonumber(value)
          if not n then M.usage(fmt("option %s: expected a number, got %q", a, value)) end
          opt[name] = n
        else
          opt[name] = value
        end
      end
    else
      opt[#opt + 1] = a
    end
    i = i + 1
  end
  return opt
end

return M
