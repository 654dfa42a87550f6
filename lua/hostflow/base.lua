-- hostflow.base: the FFI boundary, declared once.
--
-- The core's shared types (the flow, the primitives, buffers, state
-- schemas) and the functions analyses and tools use are declared here, each
-- declaration guarded so that loading this file again (a hot reload, a second
-- test file) is harmless.  Two modules declare what only they use, the same
-- way: hostflow.runtime.job (the worker's hf_job and windows) and
-- hostflow.query.source (the flow reader of check and query).  The structs
-- mirror core/*.h; check_abi() compares their sizes with the C side's.
-- Inside hostflow the functions are in the executable (ffi.C); in a plain
-- LuaJIT (busted, scripts) they come from build/libhostflow.so, or the
-- library named by $HOSTFLOW_LIB.

local ffi = require "ffi"

local M = {}

--- Declare C text def unless the type `name` is known already (a module
-- loaded again, a hot reload, a second spec file).
local function declare(name, def)
  if not pcall(ffi.typeof, name) then ffi.cdef(def) end
end
M.declare = declare

declare("hf_flow", [[
typedef struct hf_flow {
  uint8_t  src[16];
  uint8_t  dst[16];
  double   start_ms;
  double   end_ms;
  double   packets;
  double   bytes;
  uint16_t sport;
  uint16_t dport;
  uint8_t  proto;
  uint8_t  tcp_flags;
  uint8_t  family;
  uint8_t  pad;
} hf_flow;
]])

declare("hf_distinct", [[
typedef struct hf_distinct {
  uint32_t n;
  uint16_t cap;
  uint16_t limit;
  void    *mem;
} hf_distinct;
]])

declare("hf_topk_item", [[
typedef struct hf_topk_item {
  uint8_t key[16];
  double  count;
  double  error;
  uint8_t kind;
} hf_topk_item;
typedef struct hf_topk {
  uint16_t k;
  uint16_t n;
  uint32_t cap;
  hf_topk_item *slots_;   /* "items" in C; renamed so the :items() method is reachable */
} hf_topk;
]])

declare("hf_field", [[
typedef struct hf_field {
  uint32_t offset;
  uint32_t kind;
  uint32_t param;
} hf_field;
]])

declare("hf_schema", [[
typedef struct hf_schema {
  hf_field *fields;
  int       nfields;
  size_t    size;
} hf_schema;
]])

declare("hf_buf", [[
typedef struct hf_buf {
  char  *data;
  size_t len;
  size_t cap;
} hf_buf;
]])

-- The functions, guarded by a marker type (declaring a function twice is an
-- error too).
declare("struct hf_functions_declared", [[
struct hf_functions_declared { int unused; };
void   hf_ffi_distinct_add_num(hf_distinct *d, double v);
void   hf_ffi_distinct_add_addr(hf_distinct *d, const uint8_t *addr16);
void   hf_ffi_distinct_add_str(hf_distinct *d, const char *s, size_t n);
void   hf_ffi_distinct_merge(hf_distinct *dst, const hf_distinct *src);
double hf_distinct_count(const hf_distinct *d);
int    hf_distinct_is_sketch(const hf_distinct *d);
void   hf_ffi_topk_add_num(hf_topk *t, double key, double weight);
void   hf_ffi_topk_add_addr(hf_topk *t, const uint8_t *addr16, double weight);
void   hf_ffi_topk_merge(hf_topk *dst, const hf_topk *src);
int    hf_topk_items(const hf_topk *t, hf_topk_item *out, int max);
double hf_ffi_now_ns(void);
void   hf_ffi_log(int level, const char *msg);
size_t hf_ffi_sizeof(const char *name);
void  *hf_ffi_arena_new(void);
void   hf_ffi_arena_use(void *a);
void   hf_ffi_arena_free(void *a);
void   hf_buf_put(hf_buf *b, const void *p, size_t n);
void   hf_buf_release(hf_buf *b);
void   hf_buf_put_number(hf_buf *b, double v);
void   hf_buf_put_string(hf_buf *b, const char *s, size_t n);
size_t hf_addr_format(const uint8_t *addr, uint8_t family, char *out);
void   hf_state_init(const hf_schema *s, uint8_t *state);
void   hf_state_merge(const hf_schema *s, uint8_t *dst, const uint8_t *src, void *arena);
size_t hf_state_serialize(const hf_schema *s, const uint8_t *state, uint8_t *out, size_t cap);
long   hf_state_deserialize(const hf_schema *s, uint8_t *state, const uint8_t *in, size_t len, void *arena);
void  *hf_arena_current(void);
int    hf_addr_parse(const char *s, size_t len, uint8_t *out, uint8_t *family);
int    hf_decode_flow(const char *line, size_t len, hf_flow *out);
const char *hf_decode_reason_name(int status);
]])

-- The library that holds the functions.
local function library()
  if pcall(function() return ffi.C.hf_ffi_sizeof end) then return ffi.C end
  local path = os.getenv("HOSTFLOW_LIB")
  if not path then
    local here = debug.getinfo(1, "S").source:match("^@(.*)/lua/hostflow/base%.lua$") or "."
    path = here .. "/build/libhostflow.so"
  end
  return ffi.load(path)
end

M.C = library()

-- Methods of the primitives that sit in analysis state.  A metatype can be
-- set once per Lua state, and this module is loaded once per state.
local C = M.C
local addr_ct = ffi.typeof("uint8_t[16]")

-- An address as analyses hold them: a flow's src or dst (uint8_t[16]).
local function is_addr(v)
  return type(v) == "cdata" and ffi.istype(addr_ct, v)
end
M.is_addr = is_addr

local distinct_methods = {
  -- add a number, a string or an address (a flow's src or dst)
  add = function(d, v)
    local t = type(v)
    if t == "number" then C.hf_ffi_distinct_add_num(d, v)
    elseif t == "string" then C.hf_ffi_distinct_add_str(d, v, #v)
    elseif is_addr(v) then C.hf_ffi_distinct_add_addr(d, v)
    else error("distinct:add: expected a number, a string or an address, got " .. t, 2) end
  end,
  -- exact while small; the sketch estimate, rounded, beyond
  count = function(d) return math.floor(C.hf_distinct_count(d) + 0.5) end,
  is_sketch = function(d) return C.hf_distinct_is_sketch(d) ~= 0 end,
  merge = function(d, other) C.hf_ffi_distinct_merge(d, other) end,
}

local addr_out = ffi.new("char[48]")
function M.addr_text(addr16)
  local mapped = true
  for i = 0, 9 do if addr16[i] ~= 0 then mapped = false break end end
  mapped = mapped and addr16[10] == 0xff and addr16[11] == 0xff
  local n = C.hf_addr_format(addr16, mapped and 4 or 6, addr_out)
  return ffi.string(addr_out, n)
end

local items_out = ffi.new("hf_topk_item[1024]")
local topk_methods = {
  -- add a number or an address with a weight (default 1)
  add = function(t, key, weight)
    weight = weight or 1
    if type(weight) ~= "number" then error("topk:add: the weight must be a number", 2) end
    if type(key) == "number" then C.hf_ffi_topk_add_num(t, key, weight)
    elseif is_addr(key) then C.hf_ffi_topk_add_addr(t, key, weight)
    else error("topk:add: expected a number or an address as the key, got " .. type(key), 2) end
  end,
  -- the heaviest keys first: { {key = 443 or "10.0.0.1", count = n, error = e}, ... }
  items = function(t)
    local n = C.hf_topk_items(t, items_out, 1024)
    local out = {}
    for i = 0, n - 1 do
      local it = items_out[i]
      local key
      if it.kind == 0 then key = ffi.cast("double *", it.key)[0]
      else key = M.addr_text(it.key) end
      out[i + 1] = { key = key, count = it.count, error = it.error }
    end
    return out
  end,
  merge = function(t, other) C.hf_ffi_topk_merge(t, other) end,
}

pcall(ffi.metatype, "hf_distinct", { __index = distinct_methods })
pcall(ffi.metatype, "hf_topk", { __index = topk_methods })

-- The structs this module declares; hostflow.runtime.job checks its own.
M.SHARED = { "hf_flow", "hf_distinct", "hf_topk", "hf_topk_item", "hf_buf", "hf_field", "hf_schema" }

--- Sizes of shared structs (names, default M.SHARED), as the C side sees
-- them and as declared here: true, or false and the differences.
function M.check_abi(names)
  local bad = {}
  for _, name in ipairs(names or M.SHARED) do
    local c, lua = tonumber(M.C.hf_ffi_sizeof(name)), ffi.sizeof(name)
    if c ~= lua then bad[#bad + 1] = string.format("%s: C %d, Lua %d", name, c, lua) end
  end
  return #bad == 0, table.concat(bad, "; ")
end

return M
