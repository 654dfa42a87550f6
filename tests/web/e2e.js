// e2e.js -- the HTTP view end to end, in Debian's headless Chromium.
//
//   node tests/web/e2e.js ROOT ARTEFACTS_DIR
//
// A live stream: flowgen's flows are written to `hostflow run -j1 -i -`,
// whose records go, line by line, to the HTTP view (view_feed, which hands
// them to the output plugin through its table as the run loop does) and to
// a list kept here.  Both stdins stay open, so windows close as flows
// arrive.  Then, in the page as a person uses it:
//   - the heat map's cells equal the API's values, and those equal sums
//     made here from the records of the same run;
//   - hover names the block; a click zooms into a /16, a /24, a host;
//   - the host's plots hold exactly its records' values;
//   - the breadcrumb zooms back out;
//   - more flows close a newer window and the page follows by itself;
//   - a host_alert record for a host rings its cell and marks its page.
// Screenshots of the heat map and of a host page go to ARTEFACTS_DIR.
// Prints "ok - ..." per check and "N passed, N failed".
"use strict";
const { spawn, execFileSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const ROOT = path.resolve(process.argv[2] || ".");
const ART = path.resolve(process.argv[3] || path.join(ROOT, "build/test-artefacts/web"));
const NETS = "10.0.0.0/8,2001:db8::/32";
fs.mkdirSync(ART, { recursive: true });

let passed = 0, failed = 0;
function check(what, ok, detail) {
  if (ok) { passed++; console.log("ok - " + what); }
  else { failed++; console.log("not ok - " + what + (detail ? "\n  " + detail : "")); }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, fn, ms = 30000) {
  const t0 = Date.now();
  for (;;) {
    try { const v = await fn(); if (v) return v; } catch (e) { /* not yet */ }
    if (Date.now() - t0 > ms) throw new Error("timed out waiting for " + what);
    await sleep(100);
  }
}

// ---------------------------------------------------------------- the run

const flows = execFileSync(path.join(ROOT, "build/tools/flowgen"),
  ["--seed", "16", "--flows", "60000", "--hosts", "400", "--rate", "1000", "--late", "0",
   "--malformed", "0", "--jitter-ms", "500", "--scanners", "1"],
  { maxBuffer: 1 << 28 }).toString().split("\n").filter(Boolean);
const firstPart = flows.slice(0, 40000), secondPart = flows.slice(40000);

const procs = [];
const hostflow = spawn(path.join(ROOT, "hostflow"),
  ["run", "-q", "-j1", "-i", "-", "-o", "-", "-n", NETS], { stdio: ["pipe", "pipe", "inherit"] });
const feed = spawn(path.join(ROOT, "build/tools/view_feed"),
  ["-n", NETS, "-o", "http:127.0.0.1:0", "-s", "http.history=500", "-"],
  { stdio: ["pipe", "ignore", "pipe"], env: Object.assign({}, process.env, { HOSTFLOW_HOME: ROOT }) });
procs.push(hostflow, feed);

const records = [];
let pending = "";
hostflow.stdout.on("data", (chunk) => {
  const text = pending + chunk.toString();
  const lines = text.split("\n");
  pending = lines.pop();
  for (const l of lines) {
    if (!l) continue;
    records.push(JSON.parse(l));
    feed.stdin.write(l + "\n");
  }
});

let base = null, feedErr = "";
feed.stderr.on("data", (d) => {
  feedErr += d.toString();
  const m = feedErr.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
  if (m && !base) base = "http://127.0.0.1:" + m[1];
});

async function get(p) {
  const r = await fetch(base + p);
  return { status: r.status, body: await r.json() };
}

// The sum of stat over hosts of the 10 s window `start`, per /16 of 10/8.
function sumsFromRecords(start, stat) {
  const byCell = {};
  for (const r of records) {
    if (r["@type"] !== "host_stats" || r.window.granularity_s !== 10 || r.window.start_ms !== start) continue;
    if (!/^10\./.test(r.src_ip)) continue;
    const sub = +r.src_ip.split(".")[1];
    const v = stat.split(".").reduce((o, k) => (o == null ? o : o[k]), r.stats);
    if (v == null) continue;
    byCell[sub] = byCell[sub] || { value: 0, hosts: 0 };
    byCell[sub].value += v;
    byCell[sub].hosts++;
  }
  return byCell;
}

async function main() {
  for (let i = 0; i < firstPart.length; i += 2000)
    hostflow.stdin.write(firstPart.slice(i, i + 2000).join("\n") + "\n");
  await until("the view's address", () => base, 20000);
  const st = await until("a closed 10 s window", async () => {
    const s = (await get("/api/v1/status")).body;
    const g = s.view.granularities.find((x) => x.s === 10);
    return g.latest && s.view.granularities.find((x) => x.s === 30).latest ? s : null;
  });
  check("the API says which windows have closed", st.view.granularities.length === 4);

  const udd = fs.mkdtempSync(path.join(os.tmpdir(), "hostflow-chromium-"));
  const browser = await chromium.launchPersistentContext(udd, {
    executablePath: "/usr/bin/chromium", headless: true, viewport: { width: 1280, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  const page = await browser.newPage();
  const pageErrors = [], outside = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("request", (r) => { if (!r.url().startsWith(base) && !r.url().startsWith("data:")) outside.push(r.url()); });
  try {
    await page.goto(base + "/?poll=300");
    await page.waitForSelector(".cell.has", { timeout: 20000 });
    await until("the map drawn", () => page.evaluate(() => window.hf.heatmap && !window.hf.state.loading));

    // -------------------------------------------- the cells are the API's values
    const shown = await page.evaluate(() => ({
      h: window.hf.heatmap,
      cells: [...document.querySelectorAll(".cell.has")].map((c) => ({
        i: +c.dataset.i, block: c.dataset.block, value: +c.dataset.value, hosts: +c.dataset.hosts })),
    }));
    const w = shown.h.window.start_ms;
    const api = (await get(`/api/v1/heatmap?block=10.0.0.0/8&granularity=10&window=${w}&stat=total.bytes`)).body;
    const same = api.children.length === shown.cells.length &&
      api.children.every((c) => shown.cells.some((s) => s.i === c.i && s.block === c.block &&
                                                        s.value === c.value && s.hosts === c.hosts));
    check("every heat map cell holds the API's value (" + shown.cells.length + " cells)", same);
    const sums = sumsFromRecords(w, "total.bytes");
    const fromRecs = Object.keys(sums).length === api.children.length &&
      api.children.every((c) => sums[c.i] && sums[c.i].value === c.value && sums[c.i].hosts === c.hosts);
    check("the API's cells are the sums of the run's records over each /16", fromRecs,
          JSON.stringify(api.children.slice(0, 3)) + " vs " + JSON.stringify(sums).slice(0, 200));
    check("the colour scale's ends are the API's min and max",
          (await page.textContent("#hi")) !== "" && api.max === Math.max(...api.children.map((c) => c.value)));
    await page.screenshot({ path: path.join(ART, "heatmap.png") });

    // ------------------------------------------------------ hover, then zoom in
    const top16 = shown.cells.reduce((a, b) => (b.value > a.value ? b : a));
    const cell16 = `.cell[data-block="${top16.block}"]`;
    await page.hover(cell16);
    const tip = await page.textContent("#tip");
    check("hovering a cell names its block and value", tip.startsWith(top16.block + ": total.bytes"), tip);
    await page.click(cell16);
    await page.waitForFunction((b) => location.hash === "#/map/" + b && window.hf.heatmap &&
      window.hf.heatmap.block === b && !window.hf.state.loading, top16.block);
    const sub = await page.evaluate(() => [...document.querySelectorAll(".cell.has")].map((c) => c.dataset.block));
    check("a click zooms into the /16: its cells are /24s", sub.length > 0 && sub.every((b) => b.endsWith("/24")), sub.join(" "));
    check("the breadcrumb shows the block", (await page.$(`#crumbs a[data-block="${top16.block}"]`)) !== null);

    const cells24 = await page.evaluate(() => [...document.querySelectorAll(".cell.has")].map((c) => ({ b: c.dataset.block, v: +c.dataset.value })));
    const top24 = cells24.reduce((a, b) => (b.v > a.v ? b : a));
    await page.click(`.cell[data-block="${top24.b}"]`);
    await page.waitForFunction((b) => window.hf.heatmap && window.hf.heatmap.block === b && !window.hf.state.loading, top24.b);
    const hostsIn = await page.evaluate(() => [...document.querySelectorAll(".cell.has")].map((c) => ({ b: c.dataset.block, v: +c.dataset.value })));
    check("a /24 shows single hosts", hostsIn.length > 0 && hostsIn.every((c) => !c.b.includes("/")));
    const host = hostsIn.reduce((a, b) => (b.v > a.v ? b : a)).b;

    // ------------------------------------------- the host's plots are its records
    await page.click(`.cell[data-block="${host}"]`);
    await page.waitForFunction((ip) => location.hash === "#/host/" + ip && window.hf.host &&
      window.hf.host.ip === ip && Object.keys(window.hf.charts).length > 0 && !window.hf.state.loading, host);
    const charts = await page.evaluate(() => {
      const out = {};
      for (const [k, u] of Object.entries(window.hf.charts))
        out[k] = { data: u.data, labels: u.series.slice(1).map((s) => s.label) };
      return out;
    });
    const latest10 = await page.evaluate(() => window.hf.state.latest);
    const mine = records.filter((r) => r.src_ip === host && r["@type"] === "host_stats" &&
      r.window.granularity_s === 10 && r.window.start_ms <= latest10);
    const xs = charts["total.bytes"].data[0];
    check("the host's plots have one point per closed 10 s window of its records (" + mine.length + ")",
          xs.length === mine.length && mine.every((r) => xs.includes(r.window.start_ms / 1000)));
    let bad = [];
    for (const [name, ch] of Object.entries(charts)) {
      ch.labels.forEach((label, si) => {
        const stat = ch.labels.length > 1 ? name + "." + label : name;
        ch.data[0].forEach((x, k) => {
          const r = mine.find((m) => m.window.start_ms === x * 1000);
          const want = stat.split(".").reduce((o, key) => (o == null ? null : o[key]), r && r.stats);
          const got = ch.data[si + 1][k];
          if (!(want == null ? got == null : got === want)) bad.push(`${stat}@${x}: ${got} != ${want}`);
        });
      });
    }
    check("every point of every plot (" + Object.keys(charts).length + " plots) equals the host's record", bad.length === 0, bad.slice(0, 5).join("; "));
    await page.selectOption("#gran", "60");
    await page.waitForFunction(() => window.hf.host && window.hf.host.granularities[0].s === 60 && !window.hf.state.loading);
    const x60 = await page.evaluate(() => window.hf.charts["total.flow"].data);
    const mine60 = records.filter((r) => r.src_ip === host && r.window.granularity_s === 60);
    check("the granularity can be changed on the host's page (1 min plots)",
          x60[0].every((x, k) => { const r = mine60.find((m) => m.window.start_ms === x * 1000); return r && r.stats.total.flow === x60[1][k]; }));
    await page.selectOption("#gran", "10");
    await page.waitForFunction(() => window.hf.host && window.hf.host.granularities[0].s === 10 && !window.hf.state.loading);
    await page.screenshot({ path: path.join(ART, "host.png") });

    // -------------------------------------------------- back by the breadcrumb
    await page.click('#crumbs a[data-block="10.0.0.0/8"]');
    await page.waitForFunction(() => window.hf.heatmap && window.hf.heatmap.block === "10.0.0.0/8" && !window.hf.state.loading);
    const back = await page.evaluate(() => [...document.querySelectorAll(".cell.has")].every((c) => c.dataset.block.endsWith("/16")));
    check("the breadcrumb zooms back out to 10.0.0.0/8", back);

    // ------------------------------------------------- live: windows close, it follows
    const before = await page.evaluate(() => window.hf.heatmap.window.start_ms);
    for (let i = 0; i < secondPart.length; i += 2000)
      hostflow.stdin.write(secondPart.slice(i, i + 2000).join("\n") + "\n");
    const after = await until("the page to show a newer window", () =>
      page.evaluate((b) => window.hf.heatmap && window.hf.heatmap.window && window.hf.heatmap.window.start_ms > b &&
        !window.hf.state.loading && window.hf.heatmap.window.start_ms, before), 30000);
    check("the map follows as windows close (" + before + " -> " + after + ")", after > before);
    const live = await page.evaluate(() => window.hf.heatmap);
    const sums2 = sumsFromRecords(live.window.start_ms, "total.bytes");
    check("the newer window's cells are again the records' sums",
          live.children.every((c) => sums2[c.i] && sums2[c.i].value === c.value));

    // ---------------------------------------------- an alert rings its host
    const win = live.window;
    const alert = { "@type": "host_alert", "@timestamp": new Date(win.start_ms).toISOString(),
      id: `${host}/profile_deviation/${win.start_ms}`, src_ip: host, rule: "profile_deviation",
      window: { start_ms: win.start_ms, end_ms: win.end_ms, granularity_s: 10 },
      observed: 20000, expected: 1000, score: 20.0, details: { stat: "total.bytes" } };
    feed.stdin.write(JSON.stringify(alert) + "\n");
    await until("the alert in the API", async () => (await get("/api/v1/alerts")).body.open === 1, 15000);
    const ring = await until("the /16 ringed", () => page.evaluate((b) => {
      const c = document.querySelector(`.cell[data-block="${b}"]`);
      return c && c.classList.contains("alert") && +c.dataset.alerts >= 1;
    }, top16.block), 15000);
    check("an open alert rings its block on the map", ring);
    check("the open alert is listed beside the map", (await page.textContent("#alerts")).includes(host + " profile_deviation"));
    await page.goto(base + "/?poll=300#/map/" + top24.b);
    await page.waitForFunction(() => window.hf.heatmap && !window.hf.state.loading);
    const hostRing = await page.evaluate((ip) => {
      const c = document.querySelector(`.cell[data-block="${ip}"]`);
      return c && c.classList.contains("alert");
    }, host);
    check("an open alert rings its host's cell", hostRing);
    await page.screenshot({ path: path.join(ART, "alert.png") });
    await page.goto(base + "/?poll=300#/host/" + host);
    await page.waitForFunction(() => window.hf.host && !window.hf.state.loading);
    check("the host's page says its alert is open",
          (await page.textContent("#host-title")).includes("alert open") &&
          (await page.textContent("#host-alerts")).includes("profile_deviation"));

    check("the page raised no script error", pageErrors.length === 0, pageErrors.join("; "));
    check("no request left the machine's view (no CDN)", outside.length === 0, outside.join(" "));
  } finally {
    await browser.close();
    fs.rmSync(udd, { recursive: true, force: true });
  }
}

main().catch((e) => { check("the run finished", false, e.stack); }).finally(() => {
  hostflow.stdin.end();
  feed.stdin.end();
  for (const p of procs) try { p.kill("SIGTERM"); } catch (e) { /* gone */ }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
  setTimeout(() => process.exit(process.exitCode), 2000).unref();
});
