-- conf/hostflow.lua: hostflow's default configuration.
--
-- A Lua file that returns a table.  Every key is optional; command-line flags
-- override what is set here (hostflow run --help).  An unknown key or a value
-- of the wrong kind stops hostflow at start with a message naming the key.
-- `hostflow config` lists every key with its type, default and flag; each
-- one appears below, set to its default or commented out.

return {
  -- The monitored networks: a flow is kept when its source address lies in
  -- one of these (longest prefix wins; "!" excludes).  Set your site's
  -- prefixes here.  The default is the private ranges (RFC 1918, RFC 4193)
  -- and 2001:db8::/32, which the bundled sample uses; an empty list, {},
  -- monitors every address.  A run that monitors no flow says so at its
  -- end, with the prefixes it saw most.
  networks = {
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
    "2001:db8::/32",
  },

  -- Window granularities, each a whole number of seconds: "10s", "1m", 300.
  windows = { "10s", "30s", "1m", "5m" },

  -- How far behind the newest flow's end a flow may arrive and still count.
  lateness = "5s",

  -- A flow ending more than this after the newest flow of its stream (or,
  -- from Kafka, after this machine's clock) is held aside rather than let
  -- it close every window before it: when the flows after it stay behind,
  -- it is counted as rejected (future_time) and named in the log; when they
  -- follow it (a gap in the data), it is taken.
  future_slack = "1h",

  -- Worker threads, each with its share of the hosts; 0 is one per core.
  -- With more than one, a file or stdin is also decoded on as many threads.
  workers = 0,

  -- Where flows come from: a path (plain or gzip), "-" for stdin, or
  -- "kafka:TOPIC[,TOPIC...]".  Where records go: one or more outputs, each
  -- a path, "-" for stdout, or SCHEME:TARGET such as "kafka:hosts".
  input = "-",
  outputs = { "-" },

  -- The counters as JSON at exit (also --stats FILE).
  -- stats = "/var/lib/hostflow/counters.json",

  -- The Lua analyses: every *.lua file in dir, unless enable lists names;
  -- disable leaves some out.  Not set, dir is the analyses that come with
  -- hostflow (analyses/ of the source tree, or of the installation:
  -- /usr/local/share/hostflow/analyses after make install, /usr/share/...
  -- from the Debian package).  A relative dir is taken from this file's
  -- directory.
  analyses = {
    -- dir = "/srv/hostflow/analyses",
    -- enable = { "total", "peer_number" },
    disable = {},
    -- The order of the analyses' fields in a record; the others follow by name.
    order = { "total", "avg_flow_duration", "dport_count", "peer_number", "tcp_flags" },
    -- Parameters of analyses over the defaults they declare (lua/README.md):
    -- params = { port_scan = { threshold = 20 } },
    -- Hot reload: an edit, addition or removal in dir is checked in every
    -- worker and takes over at a window boundary (SIGHUP reloads too).
    reload = true,
    -- Isolation (lua/README.md): an analysis that raises more errors than
    -- max_errors in a minute -- counting at most max_host_errors of each
    -- host, so one host's traffic cannot switch it off for the others --
    -- or runs longer than max_batch over one batch of flows, or holds more
    -- than max_memory of Lua memory in a worker, is disabled until a
    -- reload; one still running watchdog later (a compiled endless loop)
    -- stops hostflow with a report ("0": never).  A result longer than
    -- max_result is left out of that host's record.
    max_errors = 1000,
    max_host_errors = 10,
    max_batch = "1s",
    max_memory = "256MiB",
    max_result = "64KiB",
    watchdog = "10s",
    -- Analyses run in a sandbox (hostflow, bit, math, string, table; no io,
    -- os, debug, ffi, ...).  Files named here (without .lua) run with every
    -- library and hostflow's privileges: only code you trust.
    trusted = {},
  },

  -- Alerts that rules raise (lua/README.md, "Alerts"): a host_alert record
  -- on the outputs, and the host's records carry "alert":["rule",...] while
  -- it is open.  Raised again within hold (event time) it is updated when
  -- it grew (same id), never repeated; at most max_open are kept open.
  alerts = {
    hold = "10m",
    max_open = 100000,
  },

  -- Profiles: rules that live across windows (analyses/profile.lua; lua/README.md,
  -- "Profiles").  Without dir they are kept in memory only and a restart
  -- starts them afresh; with it they are saved there every `save` (and at
  -- exit), atomically, and read at start.  `report` is the period of the
  -- host_profile records; hosts not seen for `expire` are forgotten;
  -- max_hosts bounds each profile's memory (about 1 KiB a host for the
  -- shipped one).  Several instances in one group (--keyed, or behind a
  -- relay): with topic, a compacted Kafka topic, each writes its profiles'
  -- changes there with every save and reads it when partitions are
  -- assigned, so a host's profile follows the host to its new owner; each
  -- instance then holds every host's row once (its own live, the others'
  -- set aside: contrib/docs/scaling.md, "Profiles").
  profiles = {
    -- dir = "/var/lib/hostflow/profiles",
    -- topic = "hostflow-profiles",
    save = "5m",
    report = "1d",
    expire = "30d",
    max_hosts = 1000000,
  },

  -- Log events (JSON, one a line) merged into the host records under
  -- stats.logs: counts by severity and program, the last messages; a host
  -- with logs and no flows in a window gets a record too.  input is a file,
  -- "-" or "kafka:TOPIC"; format names the fields as rsyslog (template
  -- "%jsonmesg%") or syslog-ng (format-json --scope rfc5424 --scope
  -- selected-macros --key ISODATE) write them; fields sets any of them
  -- (several keys: the first present wins).
  logs = {
    -- input = "kafka:syslog",
    format = "rsyslog",
    -- fields = { host = "fromhost-ip,hostname", time = "timereported", severity = "syslogseverity",
    --            program = "programname", message = "msg" },
    messages = 3,
    -- dead_letter = "kafka:syslog-rejected",
  },

  memory = {
    max_bytes = "4GiB",     -- window state and profiles of all workers together
    -- hf.distinct() counts exactly up to this many values (1 to 65535), then
    -- estimates with a 16 KiB sketch (0.81 % standard error).  An exact set
    -- costs 4 bytes a value for IPv4 addresses and numbers below 2^32, 8 for
    -- IPv6 addresses and strings (up to twice that in a hash table): 8 KiB
    -- or 16 KiB at 1024.  Sets of ports are exact at any count (at most 8 KiB).
    distinct_exact = 1024,
  },

  -- Input lines longer than this are rejected (counted as too_long); at
  -- most 64MiB.  Memory: the reader holds two such lines, and with several
  -- workers the decoder threads 4 chunks each of max(1MiB, max_line).
  max_line = "1MiB",

  -- The time zone of input times written without an offset: nfdump prints
  -- "first" and "last" in the local time of the machine that ran it (set
  -- this to that machine's zone, an IANA name such as "Europe/Prague").
  -- Times with "Z" or an offset, and times in ms, keep their own.
  input_tz = "UTC",

  -- A flow that ends at most this much before it starts (softflowd writes
  -- some) is taken with its start set to its end, and counted; more is
  -- rejected (end_before_start).
  max_clock_skew = "1s",

  -- Flows handed to the analyses at a time.
  batch = 4096,

  -- Log more (-v): the Lua traceback under each analysis error logged (one
  -- line per analysis and message a minute, with the count of the others),
  -- and the reloads' timings.
  verbose = false,

  -- Kafka, when input or output is "kafka:TOPIC[,TOPIC...]".  Every key of
  -- this table goes to librdkafka unchanged (both the consumer and the
  -- producer): brokers, group, SASL, TLS, ...
  kafka = {
    ["bootstrap.servers"] = "127.0.0.1:9092",
    ["group.id"] = "hostflow",
  },
  kafka_start = "earliest",   -- with no committed offsets: earliest, latest, or an ISO 8601 time
  -- dead_letter = "kafka:flows-rejected",   -- undecodable messages, with the reason
  commit_interval = "5s",     -- how often offsets are committed
  exit_at_end = false,        -- stop once every partition is read to its end

  -- Whether the input topics are keyed by source host, so that each host's
  -- flows are in one partition (produce them with the source address as the
  -- message key).  Then several hostflows of one group can each emit the
  -- hosts of their own partitions.  When not (the default), a host's flows
  -- may be in any partition, and only an instance that owns every partition
  -- of a topic emits windows; one assigned part of it holds, and says so.
  kafka_keyed = false,
  -- The consumer's group.instance.id (static membership: a hostflow that
  -- restarts takes its partitions back at once): "auto" is
  -- hostflow-<host name>-<group>, "none" a dynamic member.  Give each
  -- hostflow of one group on one machine its own.
  kafka_instance = "auto",

  -- OpenSearch / Elasticsearch, for an output "opensearch:URL[,URL...]"
  -- (README, "OpenSearch and Elasticsearch").  Records are indexed in bulk
  -- under their id (a record written again replaces its twin), one index per
  -- record type and day; nothing is dropped while the server is away (the
  -- workers wait when queue_size is held); records the server refuses for
  -- good go to dead_letter with its reason.
  -- opensearch = {
  --   urls = { "http://search2:9200" },        -- more nodes, tried in turn
  --   index = "hostflow-%{type}-%Y.%m.%d",     -- %{type} %Y %m %d %H %G %V (UTC)
  --   user = "hostflow", password = os.getenv("HOSTFLOW_OPENSEARCH_PASSWORD"),
  --   api_key = nil,                           -- or an API key instead of user/password
  --   ca_file = "/etc/hostflow/search-ca.pem", -- CAs trusted for https://
  --   tls_verify = true,
  --   gzip = false,                            -- gzip the bulk requests
  --   batch_count = 5000, batch_size = "5MiB", batch_time = "1s",
  --   queue_size = "64MiB",                    -- held for the server, then back-pressure
  --   timeout = "60s", connect_timeout = "5s",
  --   retry_backoff = "200ms", retry_backoff_max = "30s",
  --   max_retries = 15,                        -- for records refused for now (429, 5xx)
  --   dead_letter = "/var/lib/hostflow/opensearch-refused.ndjson",   -- or "kafka:TOPIC"
  --   template = true, template_name = "hostflow",   -- field types, installed at start
  --   shards = 1, replicas = 1,
  --   retention = "30d",                       -- ISM (OpenSearch) or ILM (Elasticsearch)
  --   close_timeout = "30s",                   -- at exit, for what is left
  -- },

  -- The HTTP view: a heat map of the address space, per-host plots, a JSON
  -- API and /metrics (README, "The HTTP view").  Off unless asked for:
  -- listen below, --http 127.0.0.1:8080, or "http:127.0.0.1:8080" among the
  -- outputs.  It listens on loopback; anywhere else only with a token.
  http = {
    -- listen = "127.0.0.1:8080",   -- serve the view here (as --http ADDR:PORT)
    -- token = os.getenv("HOSTFLOW_HTTP_TOKEN"),   -- clients send Authorization: Bearer TOKEN
    -- web = "/srv/hostflow/web",   -- the page's files; not set: contrib/web of the
                                    -- source tree or of the installation
    threads = 2,
    max_clients = 1024,
    history = 360,              -- windows per host and granularity: 1 h of 10 s, 30 h of 5 min
    max_hosts = 1000000,
    memory = "1GiB",            -- for the history; past it rings stop growing (counted)
    queue = "64MiB",            -- records waiting for the view; past it they skip it (counted)
    max_alerts = 1000,
    alert_hold = "10m",         -- an alert stays open this long after its window
  },

  -- hostflow run --top: a live summary on standard output, redrawn at each
  -- window close, instead of the records there (-o FILE keeps them).
  top = {
    show = false,
    stat = "total.bytes",       -- the busiest hosts by this statistic
    rows = 0,                   -- 0: as many as the terminal holds
  },

  -- Several instances sharing the work through Kafka (README, "Several
  -- instances"): every role is this binary and this file, with --role.
  --   single   flows in, host records out (one instance, or several in one
  --            group on flows keyed by host)
  --   relay    flows in, the same flows out, keyed by their monitored host
  --   partial  flows in, partial windows out (a topic keyed by host)
  --   merge    partial windows in, host records out
  role = "single",
  relay = {
    format = "binary",        -- binary (27 bytes a flow, Kafka outputs only) or json
  },
}
