-- hostflow.query: the helpers investigation scripts are written with.  Each
-- test builds queries, runs them over flows made by hand (a source of
-- hf_flow batches, as the C reader gives them) and reads the CSV printed.
local helper = require "tests.spec.helper"
local ffi = require "ffi"
local q = require "hostflow.query"
local testing = require "hostflow.testing"

local T0 = 1795701600000          -- 2026-11-26T14:00:00Z

-- A source over a list of flow tables, in batches of `batch` (default 3, so
-- that every query sees several batches); counts its rewinds.
local function source(flows, batch)
  batch = batch or 3
  local arr = ffi.new("hf_flow[?]", math.max(#flows, 1))
  local lines = ffi.new("double[?]", math.max(#flows, 1))
  for i, t in ipairs(flows) do
    local c = helper.copy(t)
    if c.end_ms == nil and c.start_ms then c.end_ms = c.start_ms end
    ffi.copy(arr + (i - 1), testing.flow(c), ffi.sizeof("hf_flow"))
    lines[i - 1] = i * 10          -- a line number of our own
  end
  local s = { name = "test.ndjson", rewinds = 0, spooled = 0, pos = 0 }
  function s.read()
    local n = math.min(batch, #flows - s.pos)
    local first = s.pos
    s.pos = s.pos + n
    return arr + first, lines + first, n
  end
  function s.rewind() s.pos = 0; s.rewinds = s.rewinds + 1 end
  function s.spool() s.spooled = s.spooled + 1 end
  return s
end

-- Run define(q) over flows; returns the text printed and the source.
local function run(flows, define, format)
  local out = {}
  q.reset { format = format or "csv", write = function(t) out[#out + 1] = t end }
  define(q)
  local s = source(flows)
  q.execute(s)
  return table.concat(out), s
end

-- CSV text as a list of rows, each a list of fields (no quoting needed here).
local function csv(text)
  local rows = {}
  for line in text:gmatch("[^\n]+") do
    local row = {}
    for field in (line .. ","):gmatch("([^,]*),") do row[#row + 1] = field end
    rows[#rows + 1] = row
  end
  return rows
end

local function at(s) return T0 + s * 1000 end

-- Flows of a small network: two hosts in 10.0.0.0/24, one in 10.0.1.0/24,
-- one IPv6 host, talking to a few peers.
local NET = {
  { src = "10.0.0.1", dst = "192.0.2.1", dport = 443, proto = 6, bytes = 1000, packets = 10, start_ms = at(0) },
  { src = "10.0.0.1", dst = "192.0.2.2", dport = 443, proto = 6, bytes = 500, packets = 5, start_ms = at(10) },
  { src = "10.0.0.1", dst = "192.0.2.1", dport = 53, proto = 17, bytes = 100, packets = 1, start_ms = at(20) },
  { src = "10.0.0.2", dst = "192.0.2.1", dport = 22, proto = 6, bytes = 4000, packets = 40, start_ms = at(30),
    tcp_flags = 0x12 },
  { src = "192.0.2.1", dst = "10.0.0.1", sport = 443, dport = 40001, proto = 6, bytes = 9000, packets = 9,
    start_ms = at(40) },
  { src = "10.0.1.7", dst = "198.51.100.9", dport = 80, proto = 6, bytes = 300, packets = 3, start_ms = at(50) },
  { src = "2001:db8::5", dst = "2001:db8:ffff::1", dport = 443, proto = 6, bytes = 700, packets = 7,
    start_ms = at(60), end_ms = at(65) },
  { src = "2001:db8::5", dst = "2001:db8:ffff::2", dport = 443, proto = 17, bytes = 50, packets = 1,
    start_ms = at(3600) },
}

describe("hostflow.query", function()
  after_each(function() q.reset() end)

  describe("where", function()
    local function count(spec)
      local text = run(NET, function() q.flows():where(spec):count() end)
      return tonumber(csv(text)[2][1])
    end

    it("keeps sources inside an IPv4 prefix", function()
      assert.equal(4, count { src = "10.0.0.0/24" })
      assert.equal(5, count { src = "10.0.0.0/16" })
    end)

    it("keeps addresses inside an IPv6 prefix", function()
      assert.equal(2, count { src = "2001:db8::/64" })
      assert.equal(2, count { dst = "2001:db8:ffff::/48" })
    end)

    it("takes a single address, a list, and exclusions", function()
      assert.equal(3, count { src = "10.0.0.1" })
      assert.equal(4, count { src = { "10.0.0.1", "10.0.1.7" } })
      assert.equal(4, count { src = { "10.0.0.0/8", "!10.0.0.2" } })
      assert.equal(7, count { src = "!10.0.1.7" })      -- exclusions alone: everything but
    end)

    it("matches either end with host", function()
      assert.equal(4, count { host = "10.0.0.1" })
    end)

    it("filters ports by number, list and range, and either end with port", function()
      assert.equal(4, count { dport = 443 })
      assert.equal(5, count { dport = { 443, 22 } })
      assert.equal(3, count { dport = "20-80" })
      assert.equal(5, count { port = 443 })
    end)

    it("filters protocols by number and by name", function()
      assert.equal(6, count { proto = 6 })
      assert.equal(6, count { proto = "tcp" })
      assert.equal(2, count { proto = "UDP" })
      assert.equal(8, count { proto = { "tcp", 17 } })
    end)

    it("filters the family and TCP flags", function()
      assert.equal(2, count { family = 6 })
      assert.equal(1, count { flags = "SA" })
      assert.equal(1, count { flags = 0x02 })
    end)

    it("filters a time range by flow end, from inclusive, to exclusive", function()
      assert.equal(2, count { from = at(20), to = at(40) })
      assert.equal(2, count { from = "2026-11-26T14:00:20Z", to = "2026-11-26T14:00:40.000Z" })
    end)

    it("reads relative times against the data's span, in a second pass", function()
      local text, s = run(NET, function() q.flows():where { from = "-30m" }:count() end)
      assert.equal("1", csv(text)[2][1])               -- only at(3600) ends after at(3600) - 30 min
      assert.equal(1, s.rewinds)
      assert.equal(1, s.spooled)
      text = run(NET, function() q.flows():where { to = "+30s" }:count() end)
      assert.equal("3", csv(text)[2][1])
    end)

    it("reads the data once when no time is relative", function()
      local _, s = run(NET, function() q.flows():where { from = at(0) }:count() end)
      assert.equal(0, s.rewinds)
    end)

    it("takes a function of the flow, and where calls add up", function()
      assert.equal(2, count(function(f) return f.bytes >= 4000 end))
      local text = run(NET, function()
        q.flows():where { proto = "tcp" }:where(function(f) return f.bytes > 600 end):count()
      end)
      assert.equal("4", csv(text)[2][1])
    end)

    it("refuses an unknown condition, naming it and the script's line", function()
      q.reset()
      local ok, err = pcall(function() q.flows():where { dprot = 1 } end)
      assert.is_false(ok)
      assert.matches("query_spec.lua:%d+: where: unknown condition \"dprot\"", err)
    end)

    it("refuses bad values with what was expected", function()
      q.reset()
      assert.has_error(function() q.flows():where { src = "10.0.0.300/24" } end)
      assert.has_error(function() q.flows():where { dport = 70000 } end)
      assert.has_error(function() q.flows():where { proto = "tcpx" } end)
      assert.has_error(function() q.flows():where { from = "yesterday" } end)
      local ok, err = pcall(function() q.flows():where { dport = "9-1" } end)
      assert.is_false(ok)
      assert.matches("expected a port", err)
    end)
  end)

  describe("group_by and aggregates", function()
    it("counts, sums and counts distinct values per group", function()
      local rows = csv(run(NET, function()
        q.flows():group_by("src"):count():sum("bytes"):distinct("dst"):sum("packets", "pk")
      end))
      assert.same({ "src", "flows", "bytes", "distinct_dst", "pk" }, rows[1])
      -- ordered by the key, addresses by their bytes (IPv4 before IPv6)
      assert.same({ "10.0.0.1", "3", "1600", "2", "16" }, rows[2])
      assert.same({ "10.0.0.2", "1", "4000", "1", "40" }, rows[3])
      assert.same({ "10.0.1.7", "1", "300", "1", "3" }, rows[4])
      assert.same({ "192.0.2.1", "1", "9000", "1", "9" }, rows[5])
      assert.same({ "2001:db8::5", "2", "750", "2", "8" }, rows[6])
      assert.equal(6, #rows)
    end)

    it("groups by several keys", function()
      local rows = csv(run(NET, function() q.flows():where { src = "10.0.0.1" }:group_by("proto", "dport"):count() end))
      assert.same({ { "proto", "dport", "flows" }, { "6", "443", "2" }, { "17", "53", "1" } }, rows)
    end)

    it("groups by prefix, IPv4 and IPv6 with their own lengths", function()
      local rows = csv(run(NET, function() q.flows():group_by(q.prefix("src", 24, 32)):count() end))
      assert.same({ "src/24", "flows" }, rows[1])
      assert.same({ "10.0.0.0/24", "4" }, rows[2])
      assert.same({ "10.0.1.0/24", "1" }, rows[3])
      assert.same({ "192.0.2.0/24", "1" }, rows[4])
      assert.same({ "2001:db8::/32", "2" }, rows[5])
      rows = csv(run(NET, function() q.flows():group_by(q.prefix("src", 9)):count() end))
      assert.same({ "10.0.0.0/9", "5" }, rows[2])
    end)

    it("groups by time bucket, printed as the bucket's start", function()
      local rows = csv(run(NET, function() q.flows():group_by(q.bucket("30s")):count() end))
      assert.same({ "time", "flows" }, rows[1])
      assert.same({ "2026-11-26T14:00:00.000Z", "3" }, rows[2])
      assert.same({ "2026-11-26T14:00:30.000Z", "3" }, rows[3])
      assert.same({ "2026-11-26T14:01:00.000Z", "1" }, rows[4])
      assert.same({ "2026-11-26T15:00:00.000Z", "1" }, rows[5])
    end)

    it("groups by the peer of a host and the direction, leaving other flows out", function()
      local rows = csv(run(NET, function()
        q.flows():group_by(q.peer("10.0.0.1"), q.direction("10.0.0.1")):count():sum("bytes")
      end))
      assert.same({ { "peer", "direction", "flows", "bytes" },
                    { "192.0.2.1", "in", "1", "9000" },
                    { "192.0.2.1", "out", "2", "1100" },
                    { "192.0.2.2", "out", "1", "500" } }, rows)
    end)

    it("groups by a key function; nil leaves the flow out", function()
      local rows = csv(run(NET, function()
        q.flows():group_by(q.key("size", function(f)
          if f.bytes >= 1000 then return "large" elseif f.bytes >= 300 then return "medium" end
        end)):count()
      end))
      assert.same({ { "size", "flows" }, { "large", "3" }, { "medium", "3" } }, rows)
    end)

    it("has min, max, avg, first_seen and last_seen", function()
      local rows = csv(run(NET, function()
        q.flows():where { src = "2001:db8::5" }:min("bytes"):max("bytes"):avg("bytes"):first_seen():last_seen()
      end))
      assert.same({ "min_bytes", "max_bytes", "avg_bytes", "first_seen", "last_seen" }, rows[1])
      assert.same({ "50", "700", "375", "2026-11-26T14:01:00.000Z", "2026-11-26T15:00:00.000Z" }, rows[2])
    end)

    it("gives one row of totals without group_by, even with no flow", function()
      local rows = csv(run({}, function() q.flows():count():sum("bytes"):min("bytes") end))
      assert.same({ { "flows", "bytes", "min_bytes" }, { "0", "0", "" } }, rows)
    end)

    it("counts distinct values exactly, far beyond hf.distinct's exact limit", function()
      local flows = helper.peer_flows("10.0.0.1", 5000)
      for _, f in ipairs(helper.peer_flows("10.0.0.1", 5000)) do flows[#flows + 1] = f end  -- each twice
      local rows = csv(run(flows, function() q.flows():distinct("dst"):distinct(q.prefix("dst", 24)) end))
      assert.same({ "distinct_dst", "distinct_dst_24" }, rows[1])
      assert.same({ "5000", "20" }, rows[2])
    end)

    it("refuses two columns of one name, and a field that is no number", function()
      q.reset()
      local ok, err = pcall(function() q.flows():sum("bytes"):sum("bytes") end)
      assert.is_false(ok)
      assert.matches("query_spec.lua:%d+: a column named \"bytes\" already exists", err)
      assert.has_error(function() q.flows():sum("src") end)
      assert.has_error(function() q.flows():group_by("source") end)
    end)
  end)

  describe("having, sort, top and limit", function()
    local function talkers(define)
      return csv(run(NET, function() define(q.flows():group_by("src"):count():sum("bytes")) end))
    end

    it("sorts an aggregate largest first, and a key smallest first", function()
      local rows = talkers(function(x) x:sort("bytes") end)
      assert.same({ "192.0.2.1", "10.0.0.2", "10.0.0.1", "2001:db8::5", "10.0.1.7" },
                  { rows[2][1], rows[3][1], rows[4][1], rows[5][1], rows[6][1] })
      rows = talkers(function(x) x:sort("bytes", "asc"):limit(2) end)
      assert.same({ { "src", "flows", "bytes" }, { "10.0.1.7", "1", "300" }, { "2001:db8::5", "2", "750" } }, rows)
    end)

    it("breaks ties by the keys", function()
      local rows = talkers(function(x) x:sort("flows") end)
      assert.same({ "10.0.0.1", "2001:db8::5", "10.0.0.2", "10.0.1.7", "192.0.2.1" },
                  { rows[2][1], rows[3][1], rows[4][1], rows[5][1], rows[6][1] })
    end)

    it("keeps the top n by a column, or by the first aggregate", function()
      assert.same({ { "src", "flows", "bytes" }, { "192.0.2.1", "1", "9000" }, { "10.0.0.2", "1", "4000" } },
                  talkers(function(x) x:top(2, "bytes") end))
      assert.same({ "10.0.0.1", "3", "1600" }, talkers(function(x) x:top(1) end)[2])
    end)

    it("filters rows with having, times in ms and addresses as text", function()
      local rows = csv(run(NET, function()
        q.flows():group_by("src"):first_seen()
          :having(function(r) return r.first_seen >= at(30) and r.src ~= "10.0.1.7" end)
      end))
      assert.same({ "10.0.0.2", "192.0.2.1", "2001:db8::5" }, { rows[2][1], rows[3][1], rows[4][1] })
      assert.equal(4, #rows)
    end)

    it("names a sort column that does not exist", function()
      assert.has_error(function() run(NET, function() q.flows():group_by("src"):count():sort("bytes") end) end)
    end)
  end)

  describe("flows, each and the end of the data", function()
    it("lists the matching flows when a query has no group and no aggregate", function()
      local rows = csv(run(NET, function() q.flows():where { dport = 22 } end))
      assert.same({ "start_ms", "end_ms", "src", "sport", "dst", "dport", "proto", "packets", "bytes",
                    "tcp_flags", "line" }, rows[1])
      assert.same({ "2026-11-26T14:00:30.000Z", "2026-11-26T14:00:30.000Z", "10.0.0.2", "40000", "192.0.2.1",
                    "22", "6", "40", "4000", "18", "40" }, rows[2])
      assert.equal(2, #rows)
      rows = csv(run(NET, function() q.flows():limit(3) end))
      assert.equal(4, #rows)
    end)

    it("calls each for every matching flow, with its input line", function()
      local seen = {}
      local text = run(NET, function()
        q.flows():where { proto = "udp" }:each(function(f, line)
          seen[#seen + 1] = { q.addr(f.src), f.dport, line }
        end)
      end)
      assert.same({ { "10.0.0.1", 53, 30 }, { "2001:db8::5", 443, 80 } }, seen)
      assert.equal("", text)                            -- each() alone prints nothing
    end)

    it("keeps a flow past its batch with q.copy", function()
      local kept = {}
      run(NET, function() q.flows():each(function(f) kept[#kept + 1] = q.copy(f) end) end)
      assert.equal(8, #kept)
      assert.equal("10.0.0.1", q.addr(kept[1].src))
      assert.equal(50, kept[8].bytes)
    end)

    it("runs on_end with the data's span, and q.print prints rows", function()
      local text = run(NET, function()
        local total = 0
        q.flows():each(function(f) total = total + f.bytes end)
        q.on_end(function()
          q.print({ { bytes = total, first = q.data.first_ms, last = q.data.last_ms, flows = q.data.flows } },
                  { "bytes", { "first", kind = "time" }, { "last", kind = "time" }, "flows" })
        end)
      end)
      assert.same({ { "bytes", "first", "last", "flows" },
                    { "15650", "2026-11-26T14:00:00.000Z", "2026-11-26T15:00:00.000Z", "8" } }, csv(text))
    end)

    it("says at which input line a script's function failed", function()
      local ok, err = pcall(run, NET, function()
        q.flows():each(function(f) if f.dport == 22 then error("no ssh here") end end)
      end)
      assert.is_false(ok)
      assert.matches("query_spec.lua:%d+: no ssh here %(at test.ndjson:40%)", err)
    end)

    it("gives a hidden query's rows to another", function()
      local text = run(NET, function()
        local per_src = q.flows():group_by("src"):sum("bytes"):hidden()
        q.on_end(function() q.print({ { n = #per_src:rows() } }, { "n" }) end)
      end)
      assert.same({ { "n" }, { "5" } }, csv(text))
    end)
  end)

  describe("output", function()
    local function define() q.flows():where { src = "10.0.0.0/24" }:group_by("src"):count():avg("bytes"):last_seen() end

    it("aligns a table: numbers to the right, text to the left", function()
      local text = run(NET, define, "table")
      assert.equal(table.concat({
        "src       flows  avg_bytes  last_seen",
        "10.0.0.1      3    533.333  2026-11-26T14:00:20.000Z",
        "10.0.0.2      1       4000  2026-11-26T14:00:30.000Z",
      }, "\n") .. "\n", text)
    end)

    it("writes CSV with a header", function()
      assert.equal("src,flows,avg_bytes,last_seen\n10.0.0.1,3,533.3333333,2026-11-26T14:00:20.000Z\n"
                   .. "10.0.0.2,1,4000,2026-11-26T14:00:30.000Z\n", run(NET, define, "csv"))
    end)

    it("writes JSON, one object per line, keys in column order, numbers exact", function()
      -- hostflow.json, the writer of the host records: a fraction reads back as the same double
      assert.equal('{"src":"10.0.0.1","flows":3,"avg_bytes":533.33333333333337,'
                   .. '"last_seen":"2026-11-26T14:00:20.000Z"}\n'
                   .. '{"src":"10.0.0.2","flows":1,"avg_bytes":4000,"last_seen":"2026-11-26T14:00:30.000Z"}\n',
                   run(NET, define, "json"))
      assert.equal(1600 / 3, tonumber("533.33333333333337"))
    end)

    it("writes a missing value as null in JSON", function()
      local out = {}
      q.reset { format = "json", write = function(t) out[#out + 1] = t end }
      q.print({ { a = 1 }, { b = "x" } }, { "a", "b" })
      assert.equal('{"a":1,"b":null}\n{"a":null,"b":"x"}\n', table.concat(out))
    end)

    it("quotes CSV fields and escapes JSON strings", function()
      local function weird() q.flows():group_by(q.key("k", function() return 'a,"b"\n' end)):count() end
      assert.equal('k,flows\n"a,""b""\n",8\n', run(NET, weird, "csv"))
      assert.equal('{"k":"a,\\"b\\"\\u000a","flows":8}\n', run(NET, weird, "json"))
    end)

    it("prints queries in the order they were made, titles in tables", function()
      local text = run(NET, function()
        q.flows():count():title("all")
        q.flows():where { proto = "udp" }:count():title("udp")
      end, "table")
      assert.equal("all\nflows\n    8\n\nudp\nflows\n    2\n", text)
    end)
  end)

  describe("values and arguments", function()
    it("reads durations and times, and writes times", function()
      assert.equal(3600000, q.duration("1h"))
      assert.equal(90000, q.duration("90s"))
      assert.is_nil(q.duration("soon"))
      assert.equal(T0, q.ms("2026-11-26T14:00:00Z"))
      assert.equal(T0, q.ms("2026-11-26T15:00:00+01:00"))
      assert.equal("2026-11-26T14:00:00.000Z", q.time(T0))
      assert.has_error(function() q.ms("-1h") end)   -- no data read yet
    end)

    it("names protocols", function()
      assert.equal("tcp", q.proto_name(6))
      assert.equal("99", q.proto_name(99))
    end)

    it("matches addresses against prefixes", function()
      local inside = q.matcher { "10.0.0.0/8", "!10.1.0.0/16" }
      assert.is_true(inside(testing.flow { src = "10.2.3.4" }.src))
      assert.is_false(inside(testing.flow { src = "10.1.3.4" }.src))
    end)

    it("reads options and arguments with getopt", function()
      q.reset { args = { "10.0.0.0/24", "--top", "5", "--last=30m", "-v", "--from", "-2h", "extra" } }
      local opt = q.getopt { top = 10, last = "1h", v = false, from = "", to = "" }
      assert.equal(5, opt.top)
      assert.equal("30m", opt.last)
      assert.is_true(opt.v)
      assert.equal("-2h", opt.from)
      assert.is_nil(opt.to)
      assert.same({ "10.0.0.0/24", "extra" }, { opt[1], opt[2] })
    end)

    it("stops with a usage message on an unknown option or a bad number", function()
      q.reset { args = { "--bogus" } }
      local ok, err = pcall(q.getopt, { top = 10 })
      assert.is_false(ok)
      assert.matches("unknown option %-%-bogus", err.message)
      q.reset { args = { "--top", "many" } }
      ok, err = pcall(q.getopt, { top = 10 })
      assert.is_false(ok)
      assert.matches("expected a number", err.message)
    end)
  end)

  describe("compilation", function()
    it("runs a query's loop as compiled code, with no NYI abort", function()
      local flows = {}
      for i = 0, 4999 do
        flows[#flows + 1] = { src = helper.ipv4(i % 50), dst = helper.ipv4(1000 + i % 700), dport = i % 100,
                              proto = i % 3 == 0 and 17 or 6, bytes = i, start_ms = T0 + i }
      end
      -- the trace events whose code is the query's own loop ("query 1 (file:line)")
      local jutil, vmdef = require "jit.util", require "jit.vmdef"
      local nyi, in_loop = {}, 0
      local function on_trace(what, _, func, pc, code, info)
        local loc = func and jutil.funcinfo(func, pc).loc or "?"
        if not loc:find("^query 1 ") then return end
        if what == "abort" then
          local reason = string.format(vmdef.traceerr[code] or tostring(code), info)
          if reason:find("NYI", 1, true) then nyi[#nyi + 1] = loc .. ": " .. reason end
        elseif what == "stop" then
          in_loop = in_loop + 1
        end
      end
      local src = source(flows, 1024)
      q.reset { format = "csv", write = function() end }
      q.flows():where { src = "100.64.0.0/16", proto = "tcp", dport = "0-90" }
        :group_by("src", "dport"):count():sum("bytes"):distinct("dst")
      jit.flush()
      jit.attach(on_trace, "trace")
      local ok, err = pcall(q.execute, src)
      jit.attach(on_trace)
      assert(ok, err)
      assert.same({}, nyi)
      assert.is_true(in_loop > 0, "no trace of the query's loop completed")
    end)
  end)
end)
