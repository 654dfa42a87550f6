-- hostflow.runtime.job: what the runtime sees of the worker's C side.
--
-- The worker (core/engine/worker.c) and its Lua runtime share one struct,
-- hf_job.  Through it the worker hands over a batch (flows, their host rows,
-- n) or a closing window (its hosts, their rows and omit bits, and one
-- fragments buffer per analysis for the results), and reads back what the
-- runtime reports: time and errors per analysis, the analysis running now
-- (for the watchdog), the analyses disabled.  A set of analyses is laid out
-- in the worker's rows through hf_layout_*.
--
-- This module is the only one that knows these structs and calls those
-- functions: the rest of the runtime asks it for a batch, a window's hosts
-- and a fragments buffer.  When the boundary narrows (Lua given a batch and
-- a window handle, not the worker's struct), this file changes, not the
-- runtime.
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

M.NAME_MAX = 64          -- HF_NAME_MAX: an analysis name and its NUL
M.MAX_ANALYSES = 64      -- HF_MAX_ANALYSES: analyses in a layout, counter slots

base.declare("hf_host", [[
typedef struct hf_host {
  uint8_t  addr[16];
  uint32_t row : 31;
  uint32_t v6  : 1;
} hf_host;
typedef struct hf_window {
  int64_t   start_ms;
  int64_t   g_ms;
  int       level;
  void     *arena;
  uint32_t  nhosts;
  uint32_t  mask;
  uint32_t *table;
  uint8_t **chunks;
  uint32_t  nchunks;
  size_t    row_size;
  struct hf_window *next;
  void     *layout;
  uint64_t  omit_any;
  uint64_t **omit;
  uint32_t  omit_chunks;
} hf_window;
typedef struct hf_fragments {
  hf_buf    buf;
  uint32_t *off;
  uint32_t *len;
  uint32_t  cap;
} hf_fragments;
typedef struct hf_job {
  const hf_flow *flows;
  uint8_t      **rows;
  int            n;
  hf_window     *window;
  hf_fragments  *frags;
  double        *analysis_ns;
  double        *result_ns;
  double        *analysis_errors;
  int            worker;
  int            gen;
  uint64_t       disabled;
  int            current;
  double         current_t0;
  double         current_cpu0;
  double         current_limit;
  char          *slot_names;
  int            nslots;
  uint8_t       *slot_disabled;
  double         max_batch_ns;
  double         max_errors;
} hf_job;
]])

if not pcall(function() return C.hf_window_row end) then
  ffi.cdef [[
uint8_t *hf_window_row(const hf_window *w, uint32_t i);
uint64_t hf_window_omit(const hf_window *w, uint32_t i);
void     hf_window_omit_set(hf_window *w, uint32_t i, uint64_t bits);
long     hf_layout_add_id(void *layout, const char *name, uint32_t id, size_t size,
                          const hf_field *fields, int nfields);
size_t   hf_layout_offset(const void *layout, int i);
double   hf_worker_cpu_ns(void);
]]
end

M.TYPES = { "hf_host", "hf_window", "hf_fragments", "hf_job" }

--- The sizes of the worker's structs against the C side's: true, or false
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
function M.row(w, i) return C.hf_window_row(w, i) end

--- Whether row i of w leaves out the analysis at bit bitv (its omit bits).
function M.omitted(w, i, bitv) return band(C.hf_window_omit(w, i), bitv) ~= 0 end

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

--- Add analysis a (its id, name and schema) to layout; its index, or a
-- negative number when the layout is full.
function M.layout_add(layout, a)
  local s = a.schema
  return tonumber(C.hf_layout_add_id(layout, a.name, a.id, s.size, s.fields, s.nfields))
end

--- The offset of the k-th analysis's state (from 0) in layout's rows, once
-- every analysis is added.
function M.layout_offset(layout, k) return tonumber(C.hf_layout_offset(layout, k)) end

-- ------------------------------------------------------------------------
-- The job
-- ------------------------------------------------------------------------

local Job = {}
Job.__index = Job

--- The job of a worker (opts.job, a light userdata pointing at its hf_job).
function M.new(ptr)
  return setmetatable({ c = ffi.cast("hf_job *", ptr) }, Job)
end

--- process(): the flows of one base window, their host rows, how many, and
-- the generation of the window's layout.
function Job:batch()
  local j = self.c
  return j.flows, j.rows, j.n, j.gen
end

--- process(): leave the analysis at bits out of the host of row (the
-- window of the batch).
function Job:omit_row(row, bits)
  C.hf_window_omit_set(self.c.window, ffi.cast(hostp, row).row, bits)
end

--- process(): the analyses (bits) that did not run over this batch; the
-- core leaves them out of the batch's hosts.
function Job:not_run(bits) self.c.disabled = bits end

--- emit(): the closing window (a handle for row/omitted), its number of
-- hosts, the bits of the analyses some host leaves out, its layout's
-- generation.
function Job:window()
  local j = self.c
  local w = j.window
  return w, w.nhosts, w.omit_any, j.gen
end

--- emit(): the fragments of the index-th analysis of the layout, and its
-- buffer (the results' JSON text goes there, host after host).
function Job:fragments(index)
  local fr = self.c.frags + index
  return fr, ffi.cast(bufp, fr)
end

--- emit(): the address of host i of the closing window, as text.
function Job:host_text(i)
  return base.addr_text(ffi.cast(hostp, C.hf_window_row(self.c.window, i)).addr)
end

--- The limits: CPU ns one call may take (analyses.max_batch), errors a
-- minute (analyses.max_errors).
function Job:limits() return self.c.max_batch_ns, self.c.max_errors end

--- The watchdog's view: the analysis in slot runs from t0 (monotonic ns)
-- and cpu0 (CPU ns), and may take limit CPU ns.
function Job:running(slot, t0, cpu0, limit)
  local j = self.c
  j.current_t0, j.current_cpu0, j.current_limit, j.current = t0, cpu0, limit, slot
end

--- ... and none runs now.
function Job:idle() self.c.current = -1 end

--- Counters: ns spent in update() (what = "update") or result().
function Job:add_time(slot, what, ns)
  local t = what == "update" and self.c.analysis_ns or self.c.result_ns
  t[slot] = t[slot] + ns
end

--- Counters: one more error of the analysis in slot.
function Job:count_error(slot)
  local e = self.c.analysis_errors
  e[slot] = e[slot] + 1
end

--- A new counter slot, or nil when all MAX_ANALYSES are used.
function Job:new_slot()
  local j = self.c
  local slot = j.nslots
  if slot >= M.MAX_ANALYSES then return nil end
  j.nslots = slot + 1
  return slot
end

--- Give slot to the analysis called name; fresh counters when reused.
function Job:name_slot(slot, name, reused)
  local j = self.c
  if reused then
    j.analysis_ns[slot], j.result_ns[slot], j.analysis_errors[slot] = 0, 0, 0
  end
  ffi.copy(j.slot_names + slot * M.NAME_MAX, name)
end

--- Mark the analysis in slot disabled (true) or not, for the counters.
function Job:slot_disabled(slot, disabled) self.c.slot_disabled[slot] = disabled and 1 or 0 end

return M
