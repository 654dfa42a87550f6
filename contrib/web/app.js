/* app.js -- the page of hostflow's HTTP view, in plain browser JavaScript
 * (no build step).
 *
 * Two views, chosen by the location's hash so that Back works and a view
 * can be linked:
 *   #/map/BLOCK   the heat map of BLOCK: one cell per sub-block at the next
 *                 zoom level (a /8 as 256 /16s, a /24 as 256 hosts), coloured
 *                 by the chosen statistic on a log scale; a click zooms in
 *                 (or, on a host, opens it), the breadcrumb zooms out
 *   #/host/IP     every statistic of one host over time (uPlot), its alerts
 *                 and its profile
 * Every figure comes from the JSON API of the same origin (README, "The
 * HTTP view").  The page polls /api/v1/status and redraws when a window of
 * the chosen granularity closes or the number of open alerts changes.  With ?token=T in the page's address the
 * API is asked with Authorization: Bearer T.  window.hf exposes the state
 * and the charts (the end-to-end tests read them). */
(function () {
  "use strict";

  var params = new URLSearchParams(location.search);
  var token = params.get("token") || "";
  var pollMs = Math.max(200, +(params.get("poll") || 2000));
  var state = { status: null, gran: null, stat: null, agg: "sum", view: null, latest: null, loading: false };
  var hf = (window.hf = { state: state, charts: {}, heatmap: null, host: null, updates: 0 });
  var $ = function (id) { return document.getElementById(id); };

  /* ---------------------------------------------------------------- API */

  function api(path, args) {
    var q = new URLSearchParams();
    Object.keys(args || {}).forEach(function (k) { if (args[k] != null) q.set(k, args[k]); });
    var url = path + (q.toString() ? "?" + q : "");
    var headers = token ? { Authorization: "Bearer " + token } : {};
    return fetch(url, { headers: headers, cache: "no-store" }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || r.status + " " + r.statusText);
        return body;
      });
    });
  }

  /* ----------------------------------------------------- addresses, blocks */

  function parseAddr(s) {                       // {v: BigInt, bits: 32|128}
    if (s.indexOf(":") < 0) {
      var p = s.split(".").map(Number);
      return { v: BigInt(((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3]), bits: 32 };
    }
    var halves = s.split("::"), head = halves[0] ? halves[0].split(":") : [];
    var tail = halves.length > 1 && halves[1] ? halves[1].split(":") : [];
    var groups = head.concat(new Array(8 - head.length - tail.length).fill("0"), tail);
    var v = 0n;
    groups.forEach(function (g) { v = (v << 16n) | BigInt(parseInt(g || "0", 16)); });
    return { v: v, bits: 128 };
  }

  function formatAddr(a) {
    if (a.bits === 32) return [24n, 16n, 8n, 0n].map(function (s) { return String((a.v >> s) & 255n); }).join(".");
    var g = [];
    for (var i = 7; i >= 0; i--) g.push(Number((a.v >> BigInt(16 * i)) & 0xffffn));
    var best = -1, len = 0;                     // the longest run of zeros becomes "::" (RFC 5952)
    for (var s = 0; s < 8; s++) {
      var e = s;
      while (e < 8 && g[e] === 0) e++;
      if (e - s > len && e - s > 1) { best = s; len = e - s; }
      if (e > s) s = e;
    }
    var hex = g.map(function (x) { return x.toString(16); });
    if (best < 0) return hex.join(":");
    return hex.slice(0, best).join(":") + "::" + hex.slice(best + len).join(":");
  }

  function parseBlock(s) {
    var parts = s.split("/"), a = parseAddr(parts[0]);
    a.len = parts.length > 1 ? +parts[1] : a.bits;
    return a;
  }

  function blockText(b) {
    var mask = ((1n << BigInt(b.bits)) - 1n) ^ ((1n << BigInt(b.bits - b.len)) - 1n);
    var a = { v: b.v & mask, bits: b.bits };
    return formatAddr(a) + (b.len < b.bits ? "/" + b.len : "");
  }

  function contains(outer, inner) {
    if (outer.bits !== inner.bits || inner.len < outer.len) return false;
    var shift = BigInt(outer.bits - outer.len);
    return (outer.v >> shift) === (inner.v >> shift);
  }

  /* --------------------------------------------------------------- colour */

  var RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

  function colour(v, lo, hi) {                  // log scale from lo to hi (viridis)
    var t = hi > lo ? (Math.log1p(Math.max(0, v - lo)) / Math.log1p(hi - lo)) : 1;
    t = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
    var i = Math.min(RAMP.length - 2, Math.floor(t)), f = t - i;
    var c = RAMP[i].map(function (x, k) { return Math.round(x + (RAMP[i + 1][k] - x) * f); });
    return "rgb(" + c.join(",") + ")";
  }

  function human(v) {
    if (v == null || isNaN(v)) return "–";
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(a >= 1e10 ? 0 : 1) + "G";
    if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + "M";
    if (a >= 1e4) return (v / 1e3).toFixed(a >= 1e5 ? 0 : 1) + "k";
    if (a !== Math.floor(a)) return v.toFixed(a < 10 ? 2 : 1);
    return String(v);
  }

  function clock(ms) { return new Date(ms).toISOString().slice(11, 19); }

  /* ------------------------------------------------------------- controls */

  function fillControls() {
    var st = state.status.view;
    var gran = $("gran"), stat = $("stat");
    if (!gran.options.length) {
      st.granularities.forEach(function (g) {
        gran.add(new Option(g.s >= 60 ? g.s / 60 + " min" : g.s + " s", g.s));
      });
      state.gran = state.gran || st.granularities[0].s;
      gran.value = state.gran;
    }
    if (stat.options.length !== st.stats.length) {
      var keep = state.stat;
      stat.innerHTML = "";
      st.stats.forEach(function (s) { stat.add(new Option(s, s)); });
      state.stat = keep && st.stats.indexOf(keep) >= 0 ? keep
                 : st.stats.indexOf("total.bytes") >= 0 ? "total.bytes" : st.stats[0];
      if (state.stat) stat.value = state.stat;
    }
  }

  function latestOf(g) {
    var gs = state.status && state.status.view.granularities.filter(function (x) { return x.s === +g; })[0];
    return gs && gs.latest ? gs.latest.start_ms : null;
  }

  function showStatus(ok, text) {
    var el = $("status");
    el.className = "status " + (ok ? "live" : "stale");
    el.textContent = text;
  }

  function statusText() {
    var st = state.status.view, l = latestOf(state.gran);
    if (l == null) return "waiting for the first " + state.gran + " s window to close";
    return state.gran + " s window " + clock(l) + "–" + clock(l + state.gran * 1000) + " UTC · " +
      st.hosts + " hosts · " + st.alerts_open + " alert" + (st.alerts_open === 1 ? "" : "s") + " open";
  }

  /* ------------------------------------------------------------- heat map */

  function crumbs(block) {
    var nav = $("crumbs"), cur = parseBlock(block);
    nav.innerHTML = "";
    var nets = (state.status.networks || []).filter(function (n) { return n[0] !== "!"; });
    var root = null;
    nets.forEach(function (n) {
      var b = parseBlock(n);
      if (contains(b, cur) && (!root || b.len > root.len)) root = b;
    });
    if (!root) root = { v: 0n, bits: cur.bits, len: 0 };
    nets.forEach(function (n, i) {             // the monitored networks, each a way in
      var b = parseBlock(n);
      if (contains(b, root) && contains(root, b)) return;
      var a = document.createElement("a");
      a.href = "#/map/" + n;
      a.textContent = n;
      a.className = "net";
      nav.appendChild(a);
      nav.appendChild(sep(" | "));
    });
    var lens = [];
    for (var len = root.len; len < cur.len; len += 8) lens.push(len);
    lens.push(cur.len);
    lens.forEach(function (l, i) {
      var text = blockText({ v: cur.v, bits: cur.bits, len: l });
      var a = document.createElement("a");
      a.href = "#/map/" + text;
      a.textContent = text;
      a.setAttribute("data-block", text);
      nav.appendChild(a);
      if (i < lens.length - 1) nav.appendChild(sep("›"));
    });
  }

  function sep(t) {
    var s = document.createElement("span");
    s.className = "sep";
    s.textContent = t;
    return s;
  }

  function drawMap(h) {
    var map = $("map"), cells = h.cells, cols = 1 << Math.ceil(h.bits / 2);
    map.style.gridTemplateColumns = "repeat(" + cols + ", 1fr)";
    map.innerHTML = "";
    var byIndex = {};
    h.children.forEach(function (c) { byIndex[c.i] = c; });
    for (var i = 0; i < cells; i++) {
      var d = document.createElement("div"), c = byIndex[i];
      d.className = "cell";
      d.setAttribute("data-i", i);
      if (c) {
        d.className += " has" + (c.alerts ? " alert" : "");
        d.style.background = colour(c.value, h.min, h.max);
        d.setAttribute("data-block", c.block);
        d.setAttribute("data-value", c.value);
        d.setAttribute("data-hosts", c.hosts);
        d.setAttribute("data-alerts", c.alerts);
      }
      map.appendChild(d);
    }
    $("lo").textContent = human(h.min);
    $("hi").textContent = human(h.max);
    $("map-note").textContent = h.window
      ? h.hosts + " hosts; each cell a /" + h.child_prefix + ", " + h.agg + " of " + h.stat +
        " in the " + h.granularity_s + " s window from " + clock(h.window.start_ms) + " UTC"
      : "no " + h.granularity_s + " s window has closed yet";
  }

  function drawTop(t) {
    var ol = $("top");
    ol.innerHTML = "";
    t.hosts.forEach(function (x) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = "#/host/" + x.ip;
      a.textContent = x.ip + (x.alert ? " !" : "");
      var v = document.createElement("span");
      v.className = "v";
      v.textContent = human(x.value);
      li.appendChild(a);
      li.appendChild(v);
      ol.appendChild(li);
    });
    if (!t.hosts.length) ol.innerHTML = "<li class=note>none in this window</li>";
  }

  function alertLine(rec) {
    var w = rec.window || {};
    return rec.rule + ": observed " + human(rec.observed) + ", expected " + human(rec.expected) +
      (rec.score != null ? ", score " + human(rec.score) : "") +
      (w.start_ms ? " (" + (w.granularity_s || "?") + " s window " + clock(w.start_ms) + ")" : "");
  }

  function drawAlerts(a) {
    var ul = $("alerts");
    ul.innerHTML = "";
    a.alerts.slice(0, 50).forEach(function (x) {
      var li = document.createElement("li"), link = document.createElement("a");
      link.href = "#/host/" + x.record.src_ip;
      link.textContent = x.record.src_ip;
      li.appendChild(link);
      li.appendChild(document.createTextNode(" " + alertLine(x.record)));
      ul.appendChild(li);
    });
    if (!a.alerts.length) ul.innerHTML = "<li class=note style='border:0'>none</li>";
  }

  function showMap(block) {
    $("map-view").hidden = false;
    $("host-view").hidden = true;
    $("agg-label").hidden = false;
    crumbs(block);
    var args = { block: block, granularity: state.gran, stat: state.stat, agg: state.agg };
    return Promise.all([
      api("/api/v1/heatmap", args),
      api("/api/v1/top", { block: block, granularity: state.gran, stat: state.stat, n: 15 }),
      api("/api/v1/alerts"),
    ]).then(function (r) {
      hf.heatmap = r[0];
      drawMap(r[0]);
      drawTop(r[1]);
      drawAlerts(r[2]);
    });
  }

  /* ---------------------------------------------------------- host plots */

  var SERIES = ["#2455c3", "#e0202a", "#1a9c5a", "#d98a00", "#8a3ab9", "#0aa3b5", "#777", "#c2185b"];

  function groups(stats) {                      // tcp_flags.* together; others alone
    var by = {}, order = [];
    stats.forEach(function (s) {
      var p = s.indexOf(".") > 0 ? s.slice(0, s.indexOf(".")) : s;
      if (!by[p]) { by[p] = []; order.push(p); }
      by[p].push(s);
    });
    var out = [];
    order.forEach(function (p) {
      if (by[p].length >= 4) out.push({ title: p, stats: by[p] });
      else by[p].forEach(function (s) { out.push({ title: s, stats: [s] }); });
    });
    return out;
  }

  function drawHost(h) {
    Object.keys(hf.charts).forEach(function (k) { hf.charts[k].destroy(); });
    hf.charts = {};
    var g = h.granularities[0], box = $("plots");
    box.innerHTML = "";
    $("host-title").innerHTML = "";
    $("host-title").appendChild(document.createTextNode(h.ip + " "));
    if (h.alert) {
      var b = document.createElement("span");
      b.className = "badge";
      b.textContent = "alert open";
      $("host-title").appendChild(b);
    }
    var xs = g.windows.map(function (ms) { return ms / 1000; });
    var width = Math.max(380, Math.min(640, (box.clientWidth || 900) / 2 - 30));
    groups(Object.keys(g.stats)).forEach(function (grp) {
      var div = document.createElement("div");
      div.className = "plot";
      div.setAttribute("data-stat", grp.title);
      var h3 = document.createElement("h3");
      h3.textContent = grp.title + " per " + g.s + " s";
      div.appendChild(h3);
      box.appendChild(div);
      var series = [{}].concat(grp.stats.map(function (s, i) {
        return { label: grp.stats.length > 1 ? s.slice(s.indexOf(".") + 1) : s,
                 stroke: SERIES[i % SERIES.length], width: 1.5, points: { show: xs.length < 60 },
                 value: function (u, v) { return human(v); } };
      }));
      var data = [xs].concat(grp.stats.map(function (s) { return g.stats[s]; }));
      hf.charts[grp.title] = new uPlot({
        width: width, height: 170, series: series, legend: { live: true },
        axes: [{}, { size: 56, values: function (u, vals) { return vals.map(human); } }],
        scales: { x: { time: true } },
      }, data, div);
    });
    if (!xs.length) box.innerHTML = "<p class=note>no closed " + g.s + " s window of this host is held</p>";
    var ha = $("host-alerts");
    ha.innerHTML = "";
    h.alerts.forEach(function (x) {
      var d = document.createElement("div");
      d.className = "alert-card";
      d.innerHTML = "<span class=rule></span> <span class=what></span>";
      d.querySelector(".rule").textContent = (x.open ? "open: " : "closed: ") + x.record.rule;
      d.querySelector(".what").textContent = alertLine(x.record);
      ha.appendChild(d);
    });
    $("profile-box").hidden = !h.profile;
    $("profile").textContent = h.profile ? JSON.stringify(h.profile, null, 2) : "";
  }

  function showHost(ip) {
    $("map-view").hidden = true;
    $("host-view").hidden = false;
    $("agg-label").hidden = true;
    var nav = $("crumbs");
    crumbs(ip);
    nav.appendChild(sep("·"));
    nav.appendChild(document.createTextNode("host"));
    return api("/api/v1/host", { ip: ip, granularity: state.gran }).then(function (h) {
      hf.host = h;
      drawHost(h);
    });
  }

  /* ------------------------------------------------- routing and updates */

  function route() {
    var m = location.hash.match(/^#\/(map|host)\/(.+)$/);
    if (m) return { kind: m[1], arg: decodeURIComponent(m[2]) };
    return { kind: "map", arg: state.status.home };
  }

  function render() {
    if (!state.status) return Promise.resolve();
    var r = route();
    state.view = r;
    $("tip").hidden = true;
    state.loading = true;
    var p = r.kind === "host" ? showHost(r.arg) : showMap(r.arg);
    return p.then(function () {
      hf.updates++;
      state.loading = false;
      showStatus(true, statusText());
    }, function (e) {
      state.loading = false;
      showStatus(false, e.message);
      if (r.kind === "map") $("map-note").textContent = e.message;
      else $("plots").textContent = e.message;
    });
  }

  function poll() {
    api("/api/v1/status").then(function (s) {
      state.status = s;
      fillControls();
      var l = latestOf(state.gran), a = s.view.alerts_open;
      if (l !== state.latest || a !== state.alerts || !state.view) {
        state.latest = l;
        state.alerts = a;
        return render();
      }
      showStatus(true, statusText());
    }).catch(function (e) {
      showStatus(false, "hostflow does not answer: " + e.message);
    }).then(function () { setTimeout(poll, pollMs); });
  }

  $("gran").addEventListener("change", function () { state.gran = +this.value; state.latest = latestOf(state.gran); render(); });
  $("stat").addEventListener("change", function () { state.stat = this.value; render(); });
  $("agg").addEventListener("change", function () { state.agg = this.value; render(); });
  window.addEventListener("hashchange", render);

  var tip = $("tip");
  $("map").addEventListener("mousemove", function (e) {
    var c = e.target.closest(".cell");
    if (!c || !c.hasAttribute("data-block")) { tip.hidden = true; return; }
    var h = hf.heatmap;
    tip.textContent = c.getAttribute("data-block") + ": " + h.stat + " " + human(+c.getAttribute("data-value")) +
      " (" + c.getAttribute("data-hosts") + " host" + (c.getAttribute("data-hosts") === "1" ? "" : "s") +
      (+c.getAttribute("data-alerts") ? ", " + c.getAttribute("data-alerts") + " with an open alert" : "") + ")";
    tip.hidden = false;
    tip.style.left = e.clientX + 14 + "px";
    tip.style.top = e.clientY + 12 + "px";
  });
  $("map").addEventListener("mouseleave", function () { tip.hidden = true; });
  $("map").addEventListener("click", function (e) {
    var c = e.target.closest(".cell");
    if (!c || !c.hasAttribute("data-block")) return;
    var b = c.getAttribute("data-block");
    location.hash = (b.indexOf("/") < 0 ? "#/host/" : "#/map/") + b;
  });

  poll();
})();
