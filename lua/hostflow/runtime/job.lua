-- hostflow.runtime.job: what the runtime sees of the worker's C side.
--
-- The worker (core/engine/worker.c) hands its runtime views, not its
-- internals (core/engine/job.h, "What the Lua side sees"):
--
--   hf_lua_batch    process(): the flows of one base window, the host row of
--                   each, how many, the layout's generation; the runtime
--                   writes back which analyses did not run
--   hf_lua_window   emit(): a closing window's rows and their omit bits as
--                   arrays, its start and granularity, and one fragments
--                   buffer per analysis for the results
--
-- and reaches the worker's controls (the analysis running now, for the
-- watchdog; the counters; the analyses' slots) through plain hf_job_*
-- functions on an opaque hf_job.  A set of analyses is laid out in the rows
-- through hf_layout_*.  Constants (the name length, the analysis limit)
-- come from C (hf_ffi_const), and base.check_abi compares every field's
-- offset with the C side's.
--
-- This module is the only one that knows these structs and calls those
-- functions: the rest of the runtime asks it for a batch, a window's hosts
-- and a fragments buffer.
--
-- Two kinds of calls: methods of a Job (once per batch, window or reload),
-- and the plain functions the compiled emit loops call per host (row,
-- omitted, frag_*), which LuaJIT inlines into the loop's trace.

local ffi = require "ffi"
local bit = require "bit"
local base = require "hostflow.base"

local C = base.C
local band = bit.band
local M = {}

M.NAME_MAX = base.const("HF_NAME_MAX")          -- an analysis name and its NUL
M.MAX_ANALYSES = base.const("HF_MAX_ANALYSES")  -- analyses in a layout, counter slots

base.declare("hf_lua_window", [[
typedef struct hf_host {
  uint8_t  addr[16];
  uint32_t row : 29;
  uint32_t v6  : 1;
  uint32_t sent : 1;
  uint32_t received : 1;
} hf_host;
typedef struct hf_fragments {
  hf_buf    buf;
  uint32_t *off;
  uint32_t *len;
  uint32_t  cap;
} hf_fragments;
typedef struct hf_lua_batch {
  const hf_flow *flows;
  uint8_t      **rows;
  int            n;
  int            gen;
  uint64_t       not_run;
  const hf_flow *dst_flows;
  uint8_t      **dst_rows;
  int            dst_n;
  int64_t        start_ms;
  int64_t        g_ms;
} hf_lua_batch;
typedef struct hf_sparse {
  uint64_t key;
  uint32_t row;
  uint32_t index;
  uint8_t *state;
} hf_sparse;
typedef struct hf_lua_window {
  uint8_t      **rows;
  const uint64_t *omit;
  uint64_t       omit_any;
  uint32_t       n;
  int            gen;
  int64_t        start_ms;
  int64_t        g_ms;
  hf_fragments  *frags;
  const hf_sparse *sparse;
  uint32_t       sparse_slots;
} hf_lua_window;
typedef struct hf_job hf_job;
]])

base.func("hf_job_omit", "void hf_job_omit(hf_job *job, uint8_t *row, uint64_t bits);")
base.func("hf_job_sparse",
          "uint8_t *hf_job_sparse(hf_job *job, uint8_t **rows, int i, const hf_flow *flow, int index, "
          .. "int received);")
base.func("hf_job_arena_reset", "void hf_job_arena_reset(hf_job *job);")
base.func("hf_job_running", "void hf_job_running(hf_job *job, int slot, double t0, double cpu0, double limit);")
base.func("hf_job_add_time", "void hf_job_add_time(hf_job *job, int slot, int result, double ns);")
base.func("hf_job_count_error", "void hf_job_count_error(hf_job *job, int slot);")
base.func("hf_job_new_slot", "int hf_job_new_slot(hf_job *job);")
base.func("hf_job_name_slot", "void hf_job_name_slot(hf_job *job, int slot, const char *name, int reused);")
base.func("hf_job_slot_disabled", "void hf_job_slot_disabled(hf_job *job, int slot, int disabled);")
base.func("hf_layout_add_id", [[long hf_layout_add_id(void *layout, const char *name, uint32_t id, size_t size,
                                          const hf_field *fields, int nfields);]])
base.func("hf_layout_offset", "size_t hf_layout_offset(const void *layout, int i);")
base.func("hf_layout_flags", "void hf_layout_flags(void *layout, int i, unsigned flags);")
base.func("hf_layout_window", "void hf_layout_window(void *layout, int i, int64_t g_ms);")
base.func("hf_worker_cpu_ns", "double hf_worker_cpu_ns(void);")

M.TYPES = { "hf_host", "hf_fragments", "hf_lua_batch", "hf_lua_window", "hf_sparse" }

--- Every field of the worker's views against the C side's: true, or false
-- and the differences.
function M.check_abi() return base.check_abi(M.TYPES) end

local hostp = ffi.typeof("hf_host *")
local bufp = ffi.typeof("hf_buf *")

--- Clocks: monotonic ns, and the CPU time of the calling thread in ns.
M.now, M.cpu = C.hf_ffi_now_ns, C.hf_worker_cpu_ns

-- ------------------------------------------------------------------------
-- The emit loop's view of a window and its fragments (per host)
-- ------------------------------------------------------------------------

--- Row i of window w: the host header, then the analyses' states.
function M.row(w, i) return w.rows[i] end

--- Whether row i of w leaves out the analysis at bit bitv (its omit bits;
-- asked only when some host of w leaves something out).
function M.omitted(w, i, bitv) return band(w.omit[i], bitv) ~= 0 end

--- Host i's text starts at offset start of the fragments' buffer ...
function M.frag_open(fr, i, start) fr.off[i] = start end

--- ... and is len bytes long (0: no field).
function M.frag_close(fr, i, len) fr.len[i] = len end

--- Drop what host i has written (its result failed): no field.
function M.frag_drop(fr, buf, i)
  buf.len = fr.off[i]
  fr.len[i] = 0
end

--- No field for hosts first .. n-1.
function M.frag_none(fr, first, n)
  if n > first then ffi.fill(fr.len + first, 4 * (n - first)) end
end

-- ------------------------------------------------------------------------
-- Layouts
-- ------------------------------------------------------------------------

M.BY_DST = base.const("HF_LAYOUT_BY_DST")
M.SPARSE = base.const("HF_LAYOUT_SPARSE")
M.BOTH = base.const("HF_LAYOUT_BOTH")

--- Add analysis a (its id, name and schema) to layout; its index, or a
-- negative number when the layout is full.  An analysis keyed by the
-- destination (by = "dst") or both (by = "both") is marked so, and one that declares when()
-- keeps its states out of the rows (sparse).
function M.layout_add(layout, a)
  local s = a.schema
  local i = tonumber(C.hf_layout_add_id(layout, a.name, a.id, s.size, s.fields, s.nfields))
  local by = a.spec.by
  local flags = (by == "dst" and M.BY_DST or by == "both" and M.BOTH or 0) + (a.spec.when and M.SPARSE or 0)
  if i >= 0 and flags ~= 0 then C.hf_layout_flags(layout, i, flags) end
  local window = M.window_ms(a)
  if i >= 0 and window then C.hf_layout_window(layout, i, window) end
  return i
end

--- The one granularity (ms) analysis a is read at: its parameter `window`
-- (seconds), if it declares one; nil: every granularity.
function M.window_ms(a)
  local w = a.spec.params and rawget(a.params.values, "window")
  if type(w) == "number" and w > 0 then return w * 1000 end
  return nil
end

--- process(): the sparse state (index) of the host of rows[i] (flows[i]'s:
-- a NULL row is its destination's, found now), made when new; nil over the
-- memory limit.  The compiled loops call C.hf_job_sparse.
M.sparse_state = C.hf_job_sparse

--- emit(): slot k of the closing window's sparse states: its row (host
-- index), its analysis index and its state (nil: an empty slot).
function M.sparse_slot(w, k)
  local sp = w.sparse[k]
  if sp.state == nil then return nil end
  return sp.row, sp.index, sp.state
end

--- The offset of the k-th analysis's state (from 0) in layout's rows, once
-- every analysis is added.
function M.layout_offset(layout, k) return tonumber(C.hf_layout_offset(layout, k)) end

-- ------------------------------------------------------------------------
-- The job
-- ------------------------------------------------------------------------

local Job = {}
Job.__index = Job

--- The job of a worker: opts.job (its opaque hf_job), opts.batch_view and
-- opts.window_view (light userdata), and the limits opts.max_batch_ns (CPU
-- ns one call may take) and opts.max_errors (a minute).
function M.new(opts)
  return setmetatable({
    c = ffi.cast("hf_job *", opts.job),
    b = ffi.cast("hf_lua_batch *", opts.batch_view),
    w = ffi.cast("hf_lua_window *", opts.window_view),
    max_batch_ns = opts.max_batch_ns or 1e9,
    max_errors = opts.max_errors or 1000,
  }, Job)
end

--- process(): the flows of one base window, their host rows, how many, and
-- the generation of the window's layout; then the same for the analyses
-- keyed by the destination (the flows whose destination this worker owns,
-- and its rows).
function Job:batch()
  local b = self.b
  return b.flows, b.rows, b.n, b.gen, b.dst_flows, b.dst_rows, b.dst_n
end

--- process(): the base window of the batch: its start and granularity
-- (ms; 0 when the caller gave none), for messages.
function Job:batch_window()
  local b = self.b
  return tonumber(b.start_ms), tonumber(b.g_ms)
end

--- process(): leave the analysis at bits out of the host of row (a row of
-- the batch).
function Job:omit_row(row, bits) C.hf_job_omit(self.c, row, bits) end

--- process(): the analyses (bits) that did not run over this batch; the
-- core leaves them out of the batch's hosts.
function Job:not_run(bits) self.b.not_run = bits end

--- emit(): the closing window (a handle for row/omitted), its number of
-- hosts, the bits of the analyses some host leaves out, its layout's
-- generation, and the slots of its sparse states.
function Job:window()
  local w = self.w
  return w, w.n, w.omit_any, w.gen, w.sparse_slots
end

--- emit(): the fragments of the index-th analysis of the layout, and its
-- buffer (the results' JSON text goes there, host after host).
function Job:fragments(index)
  local fr = self.w.frags + index
  return fr, ffi.cast(bufp, fr)
end

--- emit(): the address of host i of the closing window, as text.
function Job:host_text(i)
  return base.addr_text(ffi.cast(hostp, self.w.rows[i]).addr)
end

--- The limits: CPU ns one call may take (analyses.max_batch), errors a
-- minute (analyses.max_errors).
function Job:limits() return self.max_batch_ns, self.max_errors end

--- process(): after a sparse analysis's loop, the primitives allocate in
-- the batch's window again.
function Job:arena_reset() C.hf_job_arena_reset(self.c) end

--- The watchdog's view: the analysis in slot runs from t0 (monotonic ns)
-- and cpu0 (CPU ns), and may take limit CPU ns.
function Job:running(slot, t0, cpu0, limit) C.hf_job_running(self.c, slot, t0, cpu0, limit) end

--- ... and none runs now.
function Job:idle() C.hf_job_running(self.c, -1, 0, 0, 0) end

--- Counters: ns spent in update() (what = "update") or result().
function Job:add_time(slot, what, ns) C.hf_job_add_time(self.c, slot, what == "update" and 0 or 1, ns) end

--- Counters: one more error of the analysis in slot.
function Job:count_error(slot) C.hf_job_count_error(self.c, slot) end

--- A new counter slot, or nil when all MAX_ANALYSES are used.
function Job:new_slot()
  local slot = C.hf_job_new_slot(self.c)
  if slot < 0 then return nil end
  return slot
end

--- Give slot to the analysis called name; fresh counters when reused.
function Job:name_slot(slot, name, reused) C.hf_job_name_slot(self.c, slot, name, reused and 1 or 0) end

--- Mark the analysis in slot disabled (true) or not, for the counters.
function Job:slot_disabled(slot, disabled) C.hf_job_slot_disabled(self.c, slot, disabled and 1 or 0) end

return M
