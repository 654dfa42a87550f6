-- hostflow.query.source: batches of flows from the core's reader.
--
-- `hostflow query` and `hostflow check` read their input in C
-- (core/cmd/query.c: a file, plain or gzip, stdin or a Kafka time range),
-- decode it there, and hand Lua batches of hf_flow structs with the input
-- line of each flow.  This module declares that reader's functions and
-- wraps one reader (an hf_query_input *) as a source:
--
--   read()     flows (const hf_flow *), lines (const double *), n; n = 0 at
--              the end
--   spool()    keep a copy of a stream (stdin) so it can be read again
--   rewind()   read it again from the start
--   count(k)   the reader's counters ("lines", "rejected", ...)
--   name       the input's name, for messages
--
-- A source made by hand (tests/spec/query_spec.lua) has the same fields.

local ffi = require "ffi"
local base = require "hostflow.base"

local C = base.C
local fmt = string.format
local M = {}

base.declare("hf_query_input", "typedef struct hf_query_input hf_query_input;")
for name, decl in pairs {
  hf_query_read = "int hf_query_read(hf_query_input *in, const hf_flow **flows, const double **lines);",
  hf_query_spool = "int hf_query_spool(hf_query_input *in);",
  hf_query_rewind = "int hf_query_rewind(hf_query_input *in);",
  hf_query_count = "double hf_query_count(const hf_query_input *in, const char *name);",
  hf_query_input_name = "const char *hf_query_input_name(const hf_query_input *in);",
  hf_query_input_error = "const char *hf_query_input_error(const hf_query_input *in);",
} do
  base.func(name, decl)
end

--- The one shared struct a source hands out matches the core's: true, or
-- false and why.
function M.check_abi() return base.check_abi { "hf_flow" } end

--- A source over the C reader input (an hf_query_input *, or a light
-- userdata pointing at one).  Its functions raise an error naming what
-- failed and why.
function M.of(input)
  input = ffi.cast("hf_query_input *", input)
  local flows_p, lines_p = ffi.new("const hf_flow *[1]"), ffi.new("const double *[1]")
  local function check(rc, what)
    if rc < 0 then error(fmt("%s: %s", what, ffi.string(C.hf_query_input_error(input))), 0) end
  end
  return {
    name = ffi.string(C.hf_query_input_name(input)),
    read = function()
      local n = C.hf_query_read(input, flows_p, lines_p)
      check(n, "cannot read the flows")
      return flows_p[0], lines_p[0], n
    end,
    spool = function() check(C.hf_query_spool(input), "cannot read the input twice") end,
    rewind = function() check(C.hf_query_rewind(input), "cannot read the input twice") end,
    count = function(name) return C.hf_query_count(input, name) end,
  }
end

return M
