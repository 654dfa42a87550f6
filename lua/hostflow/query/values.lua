-- hostflow.query.values: the values investigation scripts are written in.
--
-- Durations ("90s", "5m", "1h"), times (ms since the epoch, ISO 8601 text,
-- or relative to the data: "-1h" before its end, "+10m" after its start),
-- protocols by name or number, addresses (a flow's 16 bytes, or the
-- 16-byte strings group keys hold) and sets of prefixes (the core's trie).
-- Each parser returns nil and a message for a value it cannot read; the
-- caller names the option or condition it came from.

local ffi = require "ffi"
local base = require "hostflow.base"

local C = base.C
local M = {}

-- The core functions this module uses beyond hostflow.base's, each declared
-- unless it already is (by an earlier load).
base.declare("hf_prefixes", "typedef struct hf_prefixes hf_prefixes;")
for name, decl in pairs {
  hf_prefixes_new = "hf_prefixes *hf_prefixes_new(void);",
  hf_prefixes_free = "void hf_prefixes_free(hf_prefixes *p);",
  hf_prefixes_add = "int hf_prefixes_add(hf_prefixes *p, const char *cidr, char *err, size_t errlen);",
  hf_prefixes_match = "int hf_prefixes_match(const hf_prefixes *p, const uint8_t *addr);",
  hf_time_parse_iso = "int hf_time_parse_iso(const char *s, size_t len, int64_t *ms);",
  hf_time_format_iso = "size_t hf_time_format_iso(int64_t ms, char *out);",
  hf_decode_proto_number = "int hf_decode_proto_number(const char *name, size_t len);",
} do
  base.func(name, decl)
end

local fstr = ffi.string
local fmt = string.format

local UNITS = { ms = 1, s = 1000, m = 60000, h = 3600000, d = 86400000 }

--- A duration ("90s", "5m", "1h", "2d", "250ms", or ms as a number) in ms;
-- nil and a message when it is none.
function M.duration(v)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil, "expected a duration such as \"10m\" or \"1h\"" end
  local n, unit = v:match("^(%d+%.?%d*)(%a+)$")
  if not n or not UNITS[unit] then
    return nil, fmt("expected a duration such as \"10m\" or \"1h\", got %q", v)
  end
  return tonumber(n) * UNITS[unit]
end

local iso_ms = ffi.new("int64_t[1]")

-- A time: ms (number), ISO 8601 text, or relative: "-1h" before the end of
-- the data, "+10m" after its start.  Returns ms, or nil and a message; a
-- relative time with no data span given returns false and the relative
-- form { from = "end"|"start", ms = offset }.
function M.parse_time(v, data)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil, "expected a time (ISO 8601 text, ms or \"-1h\")" end
  local sign, rest = v:match("^([%+%-])(.+)$")
  if sign then
    local d, err = M.duration(rest)
    if not d then return nil, err end
    local rel = sign == "-" and { from = "end", ms = -d } or { from = "start", ms = d }
    if not data then return false, rel end
    if not data.first_ms then return 0 end         -- no flows: any time will do
    return (rel.from == "end" and data.last_ms or data.first_ms) + rel.ms
  end
  if v:match("^%d+$") then return tonumber(v) end
  if C.hf_time_parse_iso(v, #v, iso_ms) ~= 0 then
    return nil, fmt("expected a time such as \"2026-11-26T14:00:00Z\", ms, or \"-1h\", got %q", v)
  end
  return tonumber(iso_ms[0])
end

local iso_out = ffi.new("char[32]")
--- ms since the epoch as ISO 8601 text: "2026-11-26T14:00:00.000Z".
function M.time(ms)
  local n = C.hf_time_format_iso(ms, iso_out)
  return fstr(iso_out, n)
end

local PROTO_NAMES = { [1] = "icmp", [6] = "tcp", [17] = "udp", [47] = "gre", [50] = "esp",
                      [58] = "icmpv6", [132] = "sctp" }
M.PROTO = { icmp = 1, tcp = 6, udp = 17, gre = 47, esp = 50, icmpv6 = 58, sctp = 132 }

--- The name of a protocol number ("tcp"), or the number as text.
function M.proto_name(n) return PROTO_NAMES[n] or tostring(n) end

--- A protocol number from a number or a name ("tcp", any IPFIXcol2
-- keyword), or nil.
function M.proto_number(v)
  if type(v) == "number" and v >= 0 and v <= 255 and v % 1 == 0 then return v end
  if type(v) == "string" then
    if v:match("^%d+$") then return M.proto_number(tonumber(v)) end
    if M.PROTO[v:lower()] then return M.PROTO[v:lower()] end
    local n = C.hf_decode_proto_number(v, #v)
    if n >= 0 then return n end
  end
  return nil
end

local addr_buf = ffi.new("uint8_t[16]")
--- An address as text: a flow's src or dst, or the 16-byte string a group
-- key holds.
function M.addr(a)
  if type(a) == "string" then
    ffi.copy(addr_buf, a, 16)
    return base.addr_text(addr_buf)
  end
  return base.addr_text(a)
end

local flow_size = ffi.sizeof("hf_flow")
--- A copy of a flow that outlives the batch (each() is given a pointer
-- into the batch, valid only during the call).
function M.copy(f)
  local c = ffi.new("hf_flow")
  ffi.copy(c, f, flow_size)
  return c
end

--- A set of prefixes ("10.0.0.0/8", "!10.1.0.0/16", a single address, or a
-- list of them) as the core's trie; a list of exclusions alone means
-- "everything but".  Returns the trie, or nil and a message.
local prefix_err = ffi.new("char[160]")
function M.prefix_set(spec)
  local list = type(spec) == "table" and spec or { spec }
  if #list == 0 then return nil, "expected an address, a prefix or a list of them" end
  local trie = ffi.gc(C.hf_prefixes_new(), C.hf_prefixes_free)
  local only_excluded = true
  for _, p in ipairs(list) do
    if type(p) ~= "string" then return nil, "expected an address or prefix as text, got " .. type(p) end
    if p:sub(1, 1) ~= "!" then only_excluded = false end
  end
  if only_excluded then
    C.hf_prefixes_add(trie, "0.0.0.0/0", nil, 0)
    C.hf_prefixes_add(trie, "::/0", nil, 0)
  end
  for _, p in ipairs(list) do
    if C.hf_prefixes_add(trie, p, prefix_err, 160) ~= 0 then
      return nil, fmt("%q: %s", p, fstr(prefix_err))
    end
  end
  return trie
end

--- A matcher of addresses: q.matcher("10.0.0.0/8") returns a function(addr)
-- -> boolean for a flow's src or dst.
function M.matcher(spec)
  local trie, err = M.prefix_set(spec)
  if not trie then error("q.matcher: " .. err, 2) end
  return function(a) return C.hf_prefixes_match(trie, a) ~= 0 end
end

return M
