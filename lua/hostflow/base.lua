-- hostflow.base: the FFI boundary's shared part.
--
-- The core's shared types (the flow, the primitives, buffers, state
-- schemas) are declared here, each declaration guarded so that loading this
-- file again (a hot reload, a second test file) is harmless.  One rule for
-- functions (lua-resty-core's): each C function is declared next to its one
-- Lua user with base.func(), guarded by its name; those with several users
-- (the primitives' methods, buffers, addresses) here.  hostflow.runtime.job
-- declares the worker's views and controls, hostflow.query.* the flow
-- reader and prefix sets.  The structs mirror core/*/*.h: check_abi()
-- compares every field's offset and every struct's size with the C side's
-- table (hf_ffi_abi), and constants come from C (base.const), never copied.
-- Inside hostflow the functions are in the executable (ffi.C); in a plain
-- LuaJIT (busted, scripts) they come from build/libhostflow.so, or the
-- library named by $HOSTFLOW_LIB.

local ffi = require "ffi"
local describe = require("hostflow.errors").describe

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
  uint8_t  mark;
} hf_flow;
]])

declare("hf_distinct", [[
typedef struct hf_distinct {
  uint32_t n;
  uint8_t  form;
  uint8_t  size;
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

declare("hf_group", [[
typedef struct hf_group {
  uint16_t max;
  uint16_t n;
  uint16_t cap;
  uint16_t pad;
  void    *mem;
} hf_group;
typedef struct hf_group_entry {
  uint8_t  key[16];
  uint32_t weight;
  uint32_t error;
  uint8_t  kind;
  uint8_t  pad[7];
} hf_group_entry;
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

-- The library that holds the functions.  Its one bootstrap function is
-- declared first (a marker type guards it), to tell hostflow's own
-- executable (ffi.C, -rdynamic) from a plain LuaJIT (busted, scripts).
declare("struct hf_bootstrap_declared", [[
struct hf_bootstrap_declared { int unused; };
size_t hf_ffi_sizeof(const char *name);
]])

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

--- Declare the C function `name` (its prototype decl) unless it is known
-- already.  The one rule of this code base (lua-resty-core's): a function
-- is declared next to its one Lua user; one with several users, here.
function M.func(name, decl)
  if not pcall(function() return M.C[name] end) then ffi.cdef(decl) end
end
local func = M.func

func("hf_ffi_abi", "const char *hf_ffi_abi(int i, const char **field, size_t *offset, size_t *size);")
func("hf_ffi_const", "double hf_ffi_const(const char *name);")
-- the primitives' methods (below), and what analyses, tests and tools share
func("hf_ffi_distinct_add_num", "void hf_ffi_distinct_add_num(hf_distinct *d, double v);")
func("hf_ffi_distinct_add_addr", "void hf_ffi_distinct_add_addr(hf_distinct *d, const uint8_t *addr16);")
func("hf_ffi_distinct_add_str", "void hf_ffi_distinct_add_str(hf_distinct *d, const char *s, size_t n);")
func("hf_ffi_distinct_merge", "void hf_ffi_distinct_merge(hf_distinct *dst, const hf_distinct *src);")
func("hf_distinct_count", "double hf_distinct_count(const hf_distinct *d);")
func("hf_distinct_is_sketch", "int hf_distinct_is_sketch(const hf_distinct *d);")
func("hf_ffi_distinct_default_limit", "uint32_t hf_ffi_distinct_default_limit(void);")
func("hf_ffi_topk_add_num", "void hf_ffi_topk_add_num(hf_topk *t, double key, double weight);")
func("hf_ffi_topk_add_addr", "void hf_ffi_topk_add_addr(hf_topk *t, const uint8_t *addr16, double weight);")
func("hf_ffi_topk_merge", "void hf_ffi_topk_merge(hf_topk *dst, const hf_topk *src);")
func("hf_topk_items", "int hf_topk_items(const hf_topk *t, hf_topk_item *out, int max);")
func("hf_ffi_group_at_num", "uint8_t *hf_ffi_group_at_num(hf_group *g, const hf_schema *of, double key);")
func("hf_ffi_group_at_addr",
     "uint8_t *hf_ffi_group_at_addr(hf_group *g, const hf_schema *of, const uint8_t *addr16);")
func("hf_ffi_group_find_num",
     "uint8_t *hf_ffi_group_find_num(const hf_group *g, const hf_schema *of, double key);")
func("hf_ffi_group_find_addr",
     "uint8_t *hf_ffi_group_find_addr(const hf_group *g, const hf_schema *of, const uint8_t *addr16);")
func("hf_ffi_group_add_num_num",
     "void hf_ffi_group_add_num_num(hf_group *g, const hf_schema *of, double key, double v);")
func("hf_ffi_group_add_num_addr",
     "void hf_ffi_group_add_num_addr(hf_group *g, const hf_schema *of, double key, const uint8_t *v16);")
func("hf_ffi_group_add_addr_num",
     "void hf_ffi_group_add_addr_num(hf_group *g, const hf_schema *of, const uint8_t *key16, double v);")
func("hf_ffi_group_add_addr_addr",
     "void hf_ffi_group_add_addr_addr(hf_group *g, const hf_schema *of, const uint8_t *key16, const uint8_t *v16);")
func("hf_group_entry_at",
     "hf_group_entry *hf_group_entry_at(const hf_group *g, const hf_schema *of, uint32_t i);")
func("hf_ffi_now_ns", "double hf_ffi_now_ns(void);")
func("hf_ffi_log", "void hf_ffi_log(int level, const char *msg);")
func("hf_ffi_arena_new", "void *hf_ffi_arena_new(void);")
func("hf_ffi_arena_use", "void hf_ffi_arena_use(void *a);")
func("hf_ffi_arena_free", "void hf_ffi_arena_free(void *a);")
func("hf_buf_put", "void hf_buf_put(hf_buf *b, const void *p, size_t n);")
func("hf_buf_release", "void hf_buf_release(hf_buf *b);")
func("hf_buf_put_number", "void hf_buf_put_number(hf_buf *b, double v);")
func("hf_buf_put_string", "void hf_buf_put_string(hf_buf *b, const char *s, size_t n);")
func("hf_addr_format", "size_t hf_addr_format(const uint8_t *addr, uint8_t family, char *out);")
func("hf_addr_parse", "int hf_addr_parse(const char *s, size_t len, uint8_t *out, uint8_t *family);")
func("hf_state_init", "void hf_state_init(const hf_schema *s, uint8_t *state);")
func("hf_state_merge", "void hf_state_merge(const hf_schema *s, uint8_t *dst, const uint8_t *src, void *arena);")
func("hf_state_serialize",
     "size_t hf_state_serialize(const hf_schema *s, const uint8_t *state, uint8_t *out, size_t cap);")
func("hf_state_deserialize",
     "long hf_state_deserialize(const hf_schema *s, uint8_t *state, const uint8_t *in, size_t len, void *arena);")
func("hf_arena_current", "void *hf_arena_current(void);")
func("hf_decode_flow", "int hf_decode_flow(const char *line, size_t len, hf_flow *out);")
func("hf_decode_reason_name", "const char *hf_decode_reason_name(int status);")

--- A constant of the core by name ("HF_NAME_MAX", "HF_FIELD_SUM"): never a
-- copy kept by hand.  An unknown name is an error.
function M.const(name)
  local v = tonumber(M.C.hf_ffi_const(name))
  if v ~= v then error("hostflow.base: the core has no constant " .. name, 2) end
  return v
end

-- hf.distinct()'s exact limit when neither the analysis nor the
-- configuration (memory.distinct_exact) gives one.
M.DISTINCT_EXACT = tonumber(M.C.hf_ffi_distinct_default_limit())

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
    else error("distinct:add: expected a number, a string or an address, got " .. describe(v), 2) end
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
    else error("topk:add: expected a number or an address as the key, got " .. describe(key), 2) end
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

-- A group (hf.group) is declared in a state as a struct of its own that
-- wraps an hf_group, one struct type per declared field, so that its
-- methods know the field's value: its schema (`of`, an hf_schema the state's
-- schema points into) and its C type.  hostflow.schema makes them with
-- M.group_type().
local entry_size = ffi.sizeof("hf_group_entry")
local u8p = ffi.typeof("uint8_t *")

local function group_key(e)
  if e.kind == 0 then return ffi.cast("double *", e.key)[0] end
  return M.addr_text(e.key)
end

--- The struct type of one group field: holder.of (an hf_schema *) and
-- holder.vptr (the value's pointer type) are filled in once the state's
-- schema is laid out.  Methods:
--   g:at(key)     the value of key (a number or an address), made when new
--   g:get(key)    the value of key, or nil (nothing made)
--   g:add(key, v) a group of sets (of = hf.distinct): v into key's set, one call to the core
--   g:size()      keys held (at most max)
--   g:each()      for key, value, weight, error in g:each() do ... end (slot order)
--   g:items()     { {key =, value =, count = weight, error =}, ... } heaviest first
-- A value is valid until the next g:at().
local group_types = 0
function M.group_type(holder)
  -- named, one per field: LuaJIT may give two equal anonymous structs one type
  local name
  repeat                                -- (this module may be loaded again: skip names taken)
    group_types = group_types + 1
    name = string.format("struct hf_group_field_%d", group_types)
  until not pcall(ffi.typeof, name)
  ffi.cdef(name .. " { hf_group g; };")
  local ct = ffi.typeof(name)
  local function value(p)
    if p == nil then return nil end
    return ffi.cast(holder.vptr, p)
  end
  local methods = {
    at = function(self, key)
      if type(key) == "number" then return ffi.cast(holder.vptr, C.hf_ffi_group_at_num(self.g, holder.of, key)) end
      if is_addr(key) then return ffi.cast(holder.vptr, C.hf_ffi_group_at_addr(self.g, holder.of, key)) end
      error("group:at: expected a number or an address as the key, got " .. describe(key), 2)
    end,
    get = function(self, key)
      if type(key) == "number" then return value(C.hf_ffi_group_find_num(self.g, holder.of, key)) end
      if is_addr(key) then return value(C.hf_ffi_group_find_addr(self.g, holder.of, key)) end
      error("group:get: expected a number or an address as the key, got " .. describe(key), 2)
    end,
    add = function(self, key, v)
      if not holder.set then error("group:add: only for a group of sets (of = hf.distinct); use at()", 2) end
      local of = holder.of
      if type(key) == "number" then
        if type(v) == "number" then C.hf_ffi_group_add_num_num(self.g, of, key, v)
        elseif is_addr(v) then C.hf_ffi_group_add_num_addr(self.g, of, key, v)
        else error("group:add: expected a number or an address as the value, got " .. describe(v), 2) end
      elseif is_addr(key) then
        if type(v) == "number" then C.hf_ffi_group_add_addr_num(self.g, of, key, v)
        elseif is_addr(v) then C.hf_ffi_group_add_addr_addr(self.g, of, key, v)
        else error("group:add: expected a number or an address as the value, got " .. describe(v), 2) end
      else
        error("group:add: expected a number or an address as the key, got " .. describe(key), 2)
      end
    end,
    size = function(self) return self.g.n end,
    each = function(self)
      local i, n = -1, self.g.n
      return function()
        i = i + 1
        if i >= n then return nil end
        local e = C.hf_group_entry_at(self.g, holder.of, i)
        return group_key(e), ffi.cast(holder.vptr, ffi.cast(u8p, e) + entry_size), e.weight, e.error
      end
    end,
    items = function(self)
      local out = {}
      for k, v, w, err in self:each() do out[#out + 1] = { key = k, value = v, count = w, error = err } end
      table.sort(out, function(x, y)
        if x.count ~= y.count then return x.count > y.count end
        return tostring(x.key) < tostring(y.key)
      end)
      return out
    end,
  }
  return ffi.metatype(ct, { __index = methods })
end

pcall(ffi.metatype, "hf_distinct", { __index = distinct_methods })
pcall(ffi.metatype, "hf_topk", { __index = topk_methods })

-- The structs this module declares; hostflow.runtime.job checks its own.
M.SHARED = { "hf_flow", "hf_distinct", "hf_topk", "hf_topk_item", "hf_group", "hf_group_entry", "hf_buf",
             "hf_field", "hf_schema" }

--- The shared structs (names, default M.SHARED) as the C side lays them out
-- (hf_ffi_abi: every field's offset, every struct's size) against their
-- declarations here: true, or false and the differences.
function M.check_abi(names)
  local wanted = {}
  for _, name in ipairs(names or M.SHARED) do wanted[name] = true end
  local bad = {}
  local field, offset, size = ffi.new("const char *[1]"), ffi.new("size_t[1]"), ffi.new("size_t[1]")
  local i = 0
  while true do
    local t = M.C.hf_ffi_abi(i, field, offset, size)
    if t == nil then break end
    local tname = ffi.string(t)
    if wanted[tname] then
      if field[0] == nil then
        local lua = ffi.sizeof(tname)
        if lua ~= tonumber(size[0]) then
          bad[#bad + 1] = string.format("sizeof %s: C %d, Lua %d", tname, tonumber(size[0]), lua)
        end
      else
        local fname = ffi.string(field[0])
        local ok, lua = pcall(ffi.offsetof, tname, fname)
        if not ok or lua ~= tonumber(offset[0]) then
          bad[#bad + 1] = string.format("%s.%s: C offset %d, Lua %s", tname, fname, tonumber(offset[0]),
                                        ok and tostring(lua) or "(no such field)")
        end
      end
      wanted[tname] = "checked"
    end
    i = i + 1
  end
  for name, v in pairs(wanted) do
    if v ~= "checked" then bad[#bad + 1] = name .. ": not in the core's ABI table" end
  end
  table.sort(bad)
  return #bad == 0, table.concat(bad, "; ")
end

return M
