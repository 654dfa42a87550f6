-- The shipped detections (analyses/port_scan: rules port_scan_vertical and
-- port_scan_horizontal; ssh_dictionary, ddos_target, dns_amplification) on real traffic made with real tools
-- (tests/fixtures/attacks/make.sh: nmap, an SSH login loop, hping3,
-- dnsmasq, curl, dig, ssh): each fires on its attack, naming the right
-- host, and stays quiet on the benign look-alikes.  Each fixture is one
-- window; result() gets hostflow's own context, whose alerts go through the
-- core's alert table and come out as the host_alert records hostflow writes.
require "tests.spec.helper"
local testing = require "hostflow.testing"
local dkjson = require "dkjson"

local FIXTURES = "tests/fixtures/attacks/"
local ATTACKER, TARGET, AMP_VICTIM = "10.77.0.1", "10.77.0.2", "10.77.0.3"

-- The analysis that raises each rule.
local FILE = { port_scan_vertical = "port_scan", port_scan_horizontal = "port_scan" }
local START = testing.DEFAULT_WINDOW.start_ms

-- The alerts of rule name over a fixture (every flow in one window of the
-- detection's own granularity, starting at START), raised through the
-- core's alert table as hostflow raises them (hostflow.testing), and their
-- host_alert records (decoded), in the same order.
local function alerts_of(name, fixture, params, networks)
  local t = testing.load("analyses/" .. (FILE[name] or name) .. ".lua",
                         { params = params, networks = networks or { "10.77.0.0/16" } })
  local fed = t:feed_file(FIXTURES .. fixture .. ".ndjson")
  assert.is_true(fed > 0, fixture .. ": no flow decoded")
  local window = { start_ms = START, granularity_s = t.params.window }
  for _, host in ipairs(t.hosts) do
    assert.is_nil(t:result(host, window))     -- alerts only: no field
  end
  local out, records = {}, {}
  for _, a in ipairs(t:alerts()) do
    if a.rule == name then out[#out + 1] = a end
  end
  for _, text in ipairs(t:alert_records()) do
    local r = assert(dkjson.decode(text))
    if r.rule == name then records[#records + 1] = r end
  end
  table.sort(out, function(a, b) return a.host < b.host end)
  table.sort(records, function(a, b) return a.src_ip < b.src_ip end)
  return out, records
end

-- Its one alert's record: host_alert, its id, host, rule, window and observed.
local function assert_record(r, host, rule, granularity, observed)
  assert.equal("host_alert", r["@type"])
  assert.equal(string.format("%s/%s/%d", host, rule, START), r.id)
  assert.equal(host, r.src_ip)
  assert.equal(rule, r.rule)
  assert.same({ start_ms = START, end_ms = START + granularity * 1000, granularity_s = granularity }, r.window)
  assert.equal(observed, r.observed)
end

local ATTACKS = {
  port_scan_vertical = { "scan_vertical_syn", "scan_vertical_connect", "scan_vertical_fin", "scan_vertical_null",
                         "scan_vertical_xmas", "scan_vertical_udp" },
  port_scan_horizontal = { "scan_horizontal_syn", "scan_horizontal_udp" },
  ssh_dictionary = { "ssh_dictionary" },
  ddos_target = { "ddos_syn" },
  dns_amplification = { "dns_amplification" },
}
local BENIGN = { "web_client", "dns_client", "backup" }
local ALL = { "scan_vertical_syn", "scan_vertical_connect", "scan_vertical_fin", "scan_vertical_null",
              "scan_vertical_xmas", "scan_vertical_udp", "scan_horizontal_syn", "scan_horizontal_udp",
              "ssh_dictionary", "ddos_syn", "dns_amplification", "web_client", "dns_client", "backup" }

describe("detections on real traffic", function()
  for _, fixture in ipairs(ATTACKS.port_scan_vertical) do
    it("port_scan_vertical names the scanner and the target of " .. fixture, function()
      local a, r = alerts_of("port_scan_vertical", fixture)
      assert.equal(1, #a)
      assert.equal(1, #r)
      assert_record(r[1], ATTACKER, "port_scan_vertical", 60, a[1].details.flows)
      assert.equal(ATTACKER, a[1].host)
      assert.equal(TARGET, a[1].details.dst_ip)
      assert.is_true(a[1].details.targets >= 90, fixture .. ": " .. a[1].details.targets .. " ports")
      assert.equal(20, a[1].expected)
    end)
  end

  for _, fixture in ipairs(ATTACKS.port_scan_horizontal) do
    it("port_scan_horizontal names the scanner and the port of " .. fixture, function()
      local a, r = alerts_of("port_scan_horizontal", fixture)
      assert.equal(1, #a)
      assert.equal(1, #r)
      assert_record(r[1], ATTACKER, "port_scan_horizontal", 60, a[1].details.flows)
      assert.equal(ATTACKER, a[1].host)
      assert.equal(fixture:find("udp") and 161 or 22, a[1].details.dst_port)
      assert.equal(40, a[1].details.targets)
    end)
  end

  it("ssh_dictionary names the client and the server of a login loop", function()
    local a, r = alerts_of("ssh_dictionary", "ssh_dictionary")
    assert.equal(1, #a)
    assert.equal(1, #r)
    assert_record(r[1], ATTACKER, "ssh_dictionary", 300, 40)
    assert.equal(ATTACKER, a[1].host)
    assert.equal(TARGET, a[1].details.dst_ip)
    assert.equal(40, a[1].details.flows)
  end)

  it("ddos_target names the host flooded from many sources", function()
    local a, r = alerts_of("ddos_target", "ddos_syn")
    assert.equal(1, #a)
    assert.equal(1, #r)
    assert_record(r[1], TARGET, "ddos_target", 60, a[1].details.flows)
    assert.is_true(r[1].observed >= 1000)
    assert.equal(TARGET, a[1].host)
    assert.is_true(a[1].details.sources >= 1000)
  end)

  it("dns_amplification names the host that receives answers it never asked for", function()
    local a, r = alerts_of("dns_amplification", "dns_amplification")
    assert.equal(1, #a)
    assert.equal(1, #r)
    assert_record(r[1], AMP_VICTIM, "dns_amplification", 60, a[1].details.responses - a[1].details.queries)
    assert.is_true(r[1].observed >= 50)
    assert.equal(AMP_VICTIM, a[1].host)
    assert.equal(20, a[1].details.servers)
    assert.equal(0, a[1].details.queries)
  end)

  -- every detection is quiet on every fixture that is not its attack
  for name, attacks in pairs(ATTACKS) do
    local own = {}
    for _, f in ipairs(attacks) do own[f] = true end
    for _, fixture in ipairs(ALL) do
      if not own[fixture] then
        it(name .. " stays quiet on " .. fixture, function()
          assert.same({}, alerts_of(name, fixture))
        end)
      end
    end
  end

  it("ddos_target counts the flows from outside the networks, or from anywhere with outside = false", function()
    assert.same({}, alerts_of("ddos_target", "ddos_syn", nil, { "0.0.0.0/0" }))
    assert.equal(1, #alerts_of("ddos_target", "ddos_syn", { outside = false }, { "0.0.0.0/0" }))
  end)

  it("turns a rule off with its parameter", function()
    assert.same({}, alerts_of("port_scan_vertical", "scan_vertical_syn", { vertical = false }))
    assert.equal(1, #alerts_of("port_scan_horizontal", "scan_horizontal_syn", { vertical = false }))
  end)

  it("has a benign look-alike for each kind: a web client, DNS lookups, a backup", function()
    for _, f in ipairs(BENIGN) do
      local fh = assert(io.open(FIXTURES .. f .. ".ndjson"))
      assert.is_truthy(fh:read("*l"))
      fh:close()
    end
  end)
end)
