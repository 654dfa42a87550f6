-- profile: what is usual for each host at each hour of the day, and the rule
-- profile_deviation: a host far above its usual traffic for the hour, or
-- using a destination port it has never used.
--
-- Fed every host's 1-minute records.  For four statistics -- bytes, flows,
-- distinct peers, distinct destination ports -- and each of the 24 hours of
-- the day (UTC), it keeps an exponentially weighted mean and variance of
-- log(1 + value): on that scale a change by a factor is the same at every
-- size (+-10 % is +-0.1, twentyfold is +3.0).  It also keeps the
-- destination ports the host has used (up to 32; a host that uses more,
-- such as a server answering to ephemeral ports, is left out of that rule).
--
-- A deviation, once the host has been seen for `learn` (a week) and the
-- hour holds at least `min_windows` of its minutes:
--   a statistic at least `ratio` times its usual value for the hour and
--   `sigmas` standard deviations above it (the deviation of a steady host
--   counted as at least `floor`, +-28 %), or a destination port not used
--   before.  One alert per host and minute, naming every statistic that
--   deviates; a value far out is absorbed only up to `sigmas` deviations,
--   so a burst does not become the new normal at once.
-- About 960 bytes per host (state, head and table).
local hf = require "hostflow"

local SLOTS = 24
local log, exp, sqrt, floor, max, min = math.log, math.exp, math.sqrt, math.floor, math.max, math.min

-- Durations of the parameters in ms, read once per text.
local ms_of = setmetatable({}, { __index = function(t, text)
  local v = assert(hf.duration(text))
  t[text] = v
  return v
end })

local iso = hf.time

-- The baselines: per hour h, for statistic k (1 bytes, 2 flows, 3 peers,
-- 4 ports), the mean at slots[8h + 2(k - 1)] and the variance after it --
-- the hour's eight numbers side by side, so a minute touches one cache
-- line of them.
local STATS = { "bytes", "flows", "peers", "ports" }

-- Statistic k's value v in hour h: compare it with the baseline (judge:
-- after the learning period), then move the baseline towards it.  Returns
-- the deviation as { statistic, observed, expected, ratio, z } when there
-- is one.
local function baseline(slots, k, n, h, v, judge, params)
  local i = 8 * h + 2 * (k - 1)
  local y = log(1 + v)
  local m, out = slots[i], nil
  local sd = max(sqrt(slots[i + 1]), params.floor)
  if judge and n >= params.min_windows then
    local z = (y - m) / sd
    local expected = exp(m) - 1
    local ratio = (v + 1) / (expected + 1)
    if z >= params.sigmas and ratio >= params.ratio then
      out = { statistic = STATS[k], observed = v, expected = expected, ratio = ratio, z = z }
    end
    y = min(y, m + params.sigmas * sd)
  end
  local w = max(1 / (n + 1), params.weight)
  local d = y - m
  slots[i] = m + w * d
  slots[i + 1] = (1 - w) * (slots[i + 1] + w * d * d)
  return out
end

-- The usual value of statistic k for each hour (NaN, written null, where
-- the host was never seen).
local function hours(p, k)
  local out = {}
  for h = 0, SLOTS - 1 do
    out[h + 1] = p.n[h] > 0 and floor((exp(p.slots[8 * h + 2 * (k - 1)]) - 1) * 1000 + 0.5) / 1000 or 0 / 0
  end
  return out
end

return hf.profile {
  name        = "profile",
  granularity = "1m",
  stats       = { bytes = "total.bytes", flows = "total.flow", peers = "peer_number",
                  ports = "dport_count" },
  sets        = { dports = "dport_count.ports" },
  params      = {
    learn = "7d",          -- no alert in a host's first week
    min_windows = 20,      -- nor for an hour that holds fewer of its minutes
    ratio = 5,             -- a deviation: at least 5 times the usual value ...
    sigmas = 4,            -- ... and 4 standard deviations above it (log scale)
    floor = 0.25,          -- a standard deviation counts as at least this
    weight = 0.02,         -- how far a new minute moves its hour's baseline
    slot = "1h",           -- the length of a slot; 24 slots make a day
    new_ports = true,      -- a destination port never used before deviates
  },
  state       = {
    count = hf.counter(),                      -- minutes absorbed
    first_ms = hf.min(), last_ms = hf.max(),   -- the first and last of them
    n = hf.array(SLOTS, "uint16"),             -- minutes absorbed per hour
    ports = hf.set(32),                        -- destination ports used
    slots = hf.array(SLOTS * 8, "float"),      -- per hour, mean and variance of each statistic
  },

  absorb = function(p, x, ctx, params)
    if x.flows ~= x.flows then return end      -- no flows in this minute (a log-only record)
    local start = ctx.window.start_ms
    local h = floor(start / ms_of[params.slot]) % SLOTS
    p.first_ms = min(p.first_ms, start)
    p.last_ms = max(p.last_ms, start)
    p.count = p.count + 1
    local judge = start - p.first_ms >= ms_of[params.learn]
    local n = p.n[h]
    local worst, all = nil, nil
    for k = 1, 4 do
      local v = k == 1 and x.bytes or k == 2 and x.flows or k == 3 and x.peers or x.ports
      if v == v then                           -- NaN: the record had no such field
        local d = baseline(p.slots, k, n, h, v, judge, params)
        if d then
          all = all or {}
          all[#all + 1] = d
          if not worst or d.ratio > worst.ratio then worst = d end
        end
      end
    end
    if n < 65535 then p.n[h] = n + 1 end
    local new
    if params.new_ports then
      local count, ports = ctx:values("dports")
      for i = 0, (count or 0) - 1 do
        local port = ports[i]
        if not p.ports:has(port) and not p.ports:full() then
          if judge then
            new = new or {}
            new[#new + 1] = port
          end
          p.ports:add(port)
        end
      end
    end
    if worst then
      ctx:alert { rule = "profile_deviation", observed = worst.observed, expected = worst.expected,
                  score = worst.ratio,
                  details = { statistic = worst.statistic, hour = h, deviations = all, new_ports = new } }
    elseif new then
      ctx:alert { rule = "profile_deviation", observed = #new, expected = 0, score = #new,
                  details = { statistic = "new_ports", hour = h, new_ports = new } }
    end
  end,

  report = function(p)
    local per_hour = {}
    for h = 0, SLOTS - 1 do per_hour[h + 1] = p.n[h] end
    return {
      first_seen = iso(p.first_ms), last_seen = iso(p.last_ms), minutes = p.count,
      usual = { bytes = hours(p, 1), flows = hours(p, 2), peers = hours(p, 3), ports = hours(p, 4) },
      minutes_per_hour = per_hour,
      dports = p.ports:values(),
      dports_all = not p.ports:full(),
    }
  end,
  keys = { "first_seen", "last_seen", "minutes", "usual", "minutes_per_hour", "dports", "dports_all" },
}
