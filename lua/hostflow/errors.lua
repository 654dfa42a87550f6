-- hostflow.errors: LuaJIT's error messages in an analysis author's words.
--
-- LuaJIT names the C types of the values an analysis handles as C does:
-- a state is "struct 421" (an anonymous struct: its number is its type
-- id), a flow "struct hf_flow", an address "unsigned char [16]", a counter
-- "double".  The author wrote none of these.  explain() rewrites every
-- quoted type of a message into what the author knows:
--
--   attempt to perform arithmetic on 'struct hf_distinct' and 'number'
--   -> attempt to perform arithmetic on an hf.distinct() (state.peers) and a number
--   'struct 421' has no member named 'peer'
--   -> the state has no field 'peer' (its fields: bytes, peers)
--   cannot convert 'table' to 'double'  ->  cannot convert a table to a number
--
-- The structs hostflow makes per analysis (a state, a group's value) are
-- named by hostflow.schema when it makes them (M.name_type).  describe(v)
-- names a value the same way, for the messages hostflow writes itself (a
-- result that cannot be written as JSON, hostflow.json).

local ffi = require "ffi"
local M = {}

-- type id -> { text = "the state", fields = { ... } }, for the structs of
-- this Lua state's analyses
local named = {}

local LUA_TYPES = { number = "a number", string = "a string", table = "a table", ["nil"] = "nil",
                    boolean = "a boolean", ["function"] = "a function", userdata = "a userdata",
                    thread = "a coroutine" }
local NUMBERS = { double = true, float = true, int = true, ["unsigned int"] = true, char = true,
                  ["unsigned char"] = true, short = true, ["unsigned short"] = true, long = true,
                  ["unsigned long"] = true, int8_t = true, int16_t = true, int32_t = true,
                  uint8_t = true, uint16_t = true, uint32_t = true }
local FLOW_FIELDS = { "src", "dst", "family", "sport", "dport", "proto", "packets", "bytes",
                      "start_ms", "end_ms", "tcp_flags" }
local KNOWN = {
  ["struct hf_flow"] = { text = "a flow", fields = FLOW_FIELDS },
  ["struct hf_distinct"] = { text = "an hf.distinct()" },
  ["struct hf_topk"] = { text = "an hf.topk()" },
  ["struct hf_group"] = { text = "an hf.group{}" },
  ["unsigned char [16]"] = { text = "an address (hf.addr() gives its text)" },
  ["int64_t"] = { text = "a 64-bit integer (tonumber() makes it a number)" },
  ["uint64_t"] = { text = "a 64-bit integer (tonumber() makes it a number)" },
}

--- Name ct (a ctype hostflow made) text in messages; fields: its field
-- names, listed when one that is not there is asked for.
function M.name_type(ct, text, fields)
  named[tonumber(ct)] = { text = text, fields = fields }
end

-- A type as LuaJIT writes it without const, pointer and reference.
local function bare_type(t)
  return (t:gsub("^const ", ""):gsub("%s*[%*&]$", ""):gsub("^const ", ""))
end

-- The entry of a type as LuaJIT writes it, or nil.
local function entry(t)
  local bare = bare_type(t)
  local id = bare:match("^struct (%d+)$")
  if id then return named[tonumber(id)] end
  if KNOWN[bare] then return KNOWN[bare] end
  if bare:match("^struct hf_group_field_%d+$") then return KNOWN["struct hf_group"] end
  if bare == "uint8_t [16]" then return KNOWN["unsigned char [16]"] end
  if NUMBERS[bare] then return { text = "a number" } end
  return nil
end

--- Phrase of a type as LuaJIT writes it ("struct hf_flow", "table"), or nil
-- when it is none hostflow knows.
function M.type_text(t)
  if LUA_TYPES[t] then return LUA_TYPES[t] end
  local e = entry(t)
  return e and e.text
end

--- Value v in words: "a table", "an hf.distinct()", "a flow", ...
function M.describe(v)
  local t = type(v)
  if t ~= "cdata" then return LUA_TYPES[t] or t end
  local ct = tostring(ffi.typeof(v)):match("^ctype<(.*)>$") or "?"
  return M.type_text(ct) or ("a C value (" .. ct .. ")")
end

-- The primitives whose values LuaJIT names by their C struct.
local KIND_OF = { ["struct hf_distinct"] = "distinct", ["struct hf_topk"] = "topk" }

-- The one field of the state (kinds: name -> kind) holding a value of that
-- kind, or nil: none, several, or a group (whose values may be of it).
local function only_field(kinds, kind)
  local found
  for name, k in pairs(kinds) do
    if k == "group" then return nil end
    if k == kind then
      if found then return nil end
      found = name
    end
  end
  return found
end

--- msg (an error message; only its first line is touched) with LuaJIT's
-- type names replaced by the author's.  kinds (the state's fields: name ->
-- kind, hostflow.schema), when given, names the field a primitive must be
-- when the state has one of its kind: "an hf.distinct() (state.peers)".
function M.explain(msg, kinds)
  msg = tostring(msg)
  local head, tail = msg:match("^([^\n]*)(.*)$")
  head = head:gsub("'([^']+)' has no member named '([^']*)'", function(t, member)
    local e = entry(t)
    if not e then return nil end
    local s = string.format("%s has no field '%s'", e.text, member)
    if e.fields then s = s .. " (its fields: " .. table.concat(e.fields, ", ") .. ")" end
    return s
  end)
  head = head:gsub("'([^']+)'", function(t)
    local text = M.type_text(t)
    local kind = KIND_OF[bare_type(t)]
    local name = text and kind and kinds and only_field(kinds, kind)
    return name and string.format("%s (state.%s)", text, name) or text
  end)
  return head .. tail
end

return M
