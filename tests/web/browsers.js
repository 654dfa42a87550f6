// browsers.js -- the three browser engines behind one small page interface,
// so that tests/web/e2e.js is one scenario whatever drives the browser.
//
//   const b = await open(engine)             engine: chromium | firefox | webkit
//   b.page.goto(url)                         load a page (waits for its load event)
//   b.page.evaluate(fn, arg)                 fn(arg) in the page; its JSON value
//   b.page.waitFor(fn, arg, ms)              until fn(arg) in the page is truthy
//   b.page.text(sel)                         an element's textContent
//   b.page.hover(sel) / click(sel)           the mouse over / a click on its centre
//   b.page.select(sel, value)                an option of a <select> chosen
//   b.page.screenshot(file)                  the viewport as PNG
//   b.errors()                               the page's uncaught script errors so far
//   b.requests()                             every URL the page asked for, as the engine saw it
//   b.outside()                              what the browser itself tried to reach
//                                            beyond loopback (the sentinel proxy's log)
//   b.ownTraffic                             null, or why the browser's own requests
//                                            beyond loopback cannot be held against it
//   b.close()
//
// Each engine is Debian's, with a fresh profile, nothing downloaded:
//   chromium  /usr/bin/chromium, headless, driven by playwright-core (CDP)
//   firefox   /usr/bin/firefox-esr, headless, puppeteer-core over WebDriver BiDi
//             (stock Firefox speaks it; no patched build), with the preferences
//             below that stop its background requests
//   webkit    /usr/bin/WebKitWebDriver (webkit2gtk-driver), classic W3C WebDriver
//             over plain HTTP, its MiniBrowser in automation mode under Xvfb (it
//             has no headless mode of its own)
//
// The sentinel: every engine is told to use an HTTP proxy on 127.0.0.1 that
// forwards requests for loopback addresses and refuses, and records, any
// other (a CONNECT, an absolute URL, or a connection that is not HTTP at all:
// WebKit speaks TLS to its sslProxy).  Chromium and Firefox never send
// loopback through a proxy; WebKit does, which is why the sentinel forwards.
// So whatever the page or the browser tries to reach outside the machine is
// seen, and nothing of it leaves.
//
// What an engine cannot do, and what stands in for it:
//   webkit  classic WebDriver has no event for a script error or a request
//           (WebKitWebDriver 2.50 refuses webSocketUrl, so no BiDi either):
//           errors() is what window "error" and "unhandledrejection" listeners
//           catch, armed after each load (an error while the page's scripts
//           load is missed: the scenario checks that they all ran);
//           requests() is the sentinel's log of what it forwarded.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const http = require("http");
const net = require("net");
const os = require("os");
const path = require("path");

const VIEWPORT = { width: 1280, height: 900 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* ------------------------------------------------------------ sentinel */

function isLoopback(host) {
  host = host.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

// An HTTP proxy on 127.0.0.1:0: loopback forwarded, anything else refused and logged.
function sentinel() {
  const outside = [], forwarded = [];
  const srv = http.createServer((req, res) => {
    let u;
    try { u = new URL(req.url); } catch (e) { outside.push("bad request line: " + req.url); res.writeHead(400); return res.end(); }
    if (!isLoopback(u.hostname)) {
      outside.push(req.method + " " + req.url);
      res.writeHead(403, { "content-type": "text/plain" });
      return res.end("hostflow's tests: no request leaves the machine\n");
    }
    forwarded.push(req.url);
    const headers = Object.assign({}, req.headers);
    delete headers["proxy-connection"];
    delete headers["proxy-authorization"];
    const up = http.request({ host: u.hostname.replace(/^\[|\]$/g, ""), port: u.port || 80,
                              method: req.method, path: u.pathname + u.search, headers },
      (r) => { res.writeHead(r.statusCode, r.headers); r.pipe(res); });
    up.on("error", () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  });
  srv.on("connect", (req, sock, head) => {
    const m = req.url.match(/^(.*):(\d+)$/);
    if (!m || !isLoopback(m[1])) { outside.push("CONNECT " + req.url); return sock.destroy(); }
    forwarded.push("CONNECT " + req.url);
    const up = net.connect(+m[2], m[1].replace(/^\[|\]$/g, ""), () => {
      sock.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      up.write(head);
      up.pipe(sock);
      sock.pipe(up);
    });
    up.on("error", () => sock.destroy());
    sock.on("error", () => up.destroy());
  });
  srv.on("clientError", (e, sock) => {
    if (e.code !== "ECONNRESET") outside.push("a connection that is not HTTP (" + e.code + "), TLS to the proxy?");
    sock.destroy();
  });
  return new Promise((resolve) => srv.listen(0, "127.0.0.1", () => resolve({
    port: srv.address().port, outside, forwarded,
    close: () => new Promise((r) => { srv.closeAllConnections && srv.closeAllConnections(); srv.close(() => r()); }),
  })));
}

function freshDir(name) { return fs.mkdtempSync(path.join(os.tmpdir(), "hostflow-" + name + "-")); }

/* ------------------------------------------------------------ chromium */

async function chromium(sen) {
  const { chromium: pw } = require("playwright-core");
  const udd = freshDir("chromium");
  const ctx = await pw.launchPersistentContext(udd, {
    executablePath: "/usr/bin/chromium", headless: true, viewport: VIEWPORT,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--proxy-server=http://127.0.0.1:" + sen.port],
  });
  const p = await ctx.newPage();
  const errors = [], requests = [];
  p.on("pageerror", (e) => errors.push(e.message));
  p.on("request", (r) => requests.push(r.url()));
  return {
    errors: () => errors, requests: () => requests,
    // Debian's chromium, with these flags and playwright's, still reaches for
    // update.googleapis.com (an on-demand component) and accounts.google.com at
    // start: the scenario prints what it saw and does not count it against the page
    ownTraffic: "Chromium's own requests at start (component updater, accounts) are not the page's",
    page: {
      goto: (url) => p.goto(url),
      evaluate: (fn, arg) => p.evaluate(fn, arg),
      waitFor: (fn, arg, ms) => p.waitForFunction(fn, arg, { timeout: ms || 30000 }),
      text: (sel) => p.textContent(sel),
      hover: (sel) => p.hover(sel),
      click: (sel) => p.click(sel),
      select: (sel, value) => p.selectOption(sel, value),
      screenshot: (file) => p.screenshot({ path: file }),
    },
    close: async () => { await ctx.close(); fs.rmSync(udd, { recursive: true, force: true }); },
  };
}

/* ------------------------------------------------------------- firefox */

// Preferences that keep Firefox off the network (beyond what puppeteer sets).
// Remote settings (blocklists, the URL classifier's exceptions, CRLite...)
// ignore services.settings.server in a release build unless
// MOZ_REMOTE_SETTINGS_DEVTOOLS is set: without both, firefox-esr 153 opened
// some 150 connections to firefox.settings.services.mozilla.com in 10 s.
function firefoxPrefs(proxyPort) {
  return {
    // everything not loopback through the sentinel (loopback is never proxied)
    "network.proxy.type": 1, "network.proxy.share_proxy_settings": false,
    "network.proxy.http": "127.0.0.1", "network.proxy.http_port": proxyPort,
    "network.proxy.ssl": "127.0.0.1", "network.proxy.ssl_port": proxyPort,
    "network.proxy.socks": "127.0.0.1", "network.proxy.socks_port": proxyPort,
    "network.proxy.socks_remote_dns": true, "network.proxy.allow_hijacking_localhost": false,
    "network.trr.mode": 5, "network.dns.disablePrefetch": true, "network.prefetch-next": false,
    "network.predictor.enabled": false, "network.http.speculative-parallel-limit": 0,
    // remote settings, updates, studies
    "services.settings.server": "data:,#remote-settings-dummy/v1",
    "app.update.auto": false, "app.update.disabledForTesting": true, "app.update.checkInstallTime": false,
    "app.normandy.enabled": false, "app.normandy.api_url": "", "app.shield.optoutstudies.enabled": false,
    "messaging-system.rsexperimentloader.enabled": false,
    "extensions.update.enabled": false, "extensions.blocklist.enabled": false,
    "extensions.getAddons.cache.enabled": false,
    "extensions.systemAddon.update.enabled": false, "extensions.systemAddon.update.url": "",
    "media.gmp-manager.updateEnabled": false, "media.gmp-manager.url": "data:,",
    "browser.search.update": false, "browser.region.update.enabled": false,
    "browser.region.network.url": "", "browser.search.geoip.url": "",
    // telemetry and reporting
    "toolkit.telemetry.enabled": false, "toolkit.telemetry.unified": false,
    "toolkit.telemetry.archive.enabled": false, "toolkit.telemetry.server": "data:,",
    "datareporting.healthreport.uploadEnabled": false, "datareporting.policy.dataSubmissionEnabled": false,
    "browser.ping-centre.telemetry": false,
    // captive portal and connectivity checks
    "network.captive-portal-service.enabled": false, "network.connectivity-service.enabled": false,
    "captivedetect.canonicalURL": "",
    // safe browsing, certificate checks, push, the new tab page
    "browser.safebrowsing.malware.enabled": false, "browser.safebrowsing.phishing.enabled": false,
    "browser.safebrowsing.downloads.enabled": false, "browser.safebrowsing.downloads.remote.enabled": false,
    "browser.safebrowsing.blockedURIs.enabled": false,
    "browser.safebrowsing.provider.mozilla.updateURL": "", "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.safebrowsing.provider.google.updateURL": "",
    "security.OCSP.enabled": 0, "security.remote_settings.crlite_filters.enabled": false,
    "security.remote_settings.intermediates.enabled": false,
    "dom.push.connection.enabled": false, "dom.push.serverURL": "",
    "browser.newtabpage.enabled": false, "browser.newtabpage.activity-stream.feeds.system.topstories": false,
    "browser.topsites.contile.enabled": false,
  };
}

// fn(arg) in the page, its value through JSON: over BiDi, puppeteer gives an
// array that the value holds twice (the x values that every uPlot chart
// shares) only once, and null at its other places.
async function evaluate(p, fn, arg) {
  const json = await p.evaluate("JSON.stringify((" + fn + ")(" + JSON.stringify(arg) + "))");
  return json === undefined ? undefined : JSON.parse(json);
}

async function firefox(sen) {
  const puppeteer = require("puppeteer-core");
  const profile = freshDir("firefox");
  const browser = await puppeteer.launch({
    browser: "firefox", executablePath: "/usr/bin/firefox-esr", headless: true,
    userDataDir: profile, defaultViewport: VIEWPORT, extraPrefsFirefox: firefoxPrefs(sen.port),
    env: Object.assign({}, process.env, { MOZ_REMOTE_SETTINGS_DEVTOOLS: "1" }),
  });
  const p = await browser.newPage();
  const errors = [], requests = [];
  p.on("pageerror", (e) => errors.push(String((e && e.message) || e)));
  p.on("request", (r) => requests.push(r.url()));
  return {
    errors: () => errors, requests: () => requests,
    page: {
      goto: (url) => p.goto(url),
      evaluate: (fn, arg) => evaluate(p, fn, arg),
      waitFor: (fn, arg, ms) => p.waitForFunction(fn, { timeout: ms || 30000, polling: 100 }, arg),
      text: (sel) => p.$eval(sel, (e) => e.textContent),
      hover: (sel) => p.hover(sel),
      click: (sel) => p.click(sel),
      select: (sel, value) => p.select(sel, value),
      screenshot: (file) => p.screenshot({ path: file }),
    },
    close: async () => { await browser.close(); fs.rmSync(profile, { recursive: true, force: true }); },
  };
}

/* -------------------------------------------------------------- webkit */

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";   // the W3C element reference's key

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// Xvfb on the first free display (-displayfd writes its number).
function startXvfb() {
  const x = spawn("Xvfb", ["-displayfd", "3", "-screen", "0", "1600x1200x24", "-nolisten", "tcp"],
                  { stdio: ["ignore", "ignore", "pipe", "pipe"] });
  let err = "", out = "";
  x.stderr.on("data", (d) => { err += d; });
  return new Promise((resolve, reject) => {
    x.on("exit", (code) => reject(new Error("Xvfb exited (" + code + "): " + err.slice(-400))));
    x.stdio[3].on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve({ proc: x, display: ":" + out.trim() });
    });
  });
}

// The page's uncaught errors, kept in the page (classic WebDriver reports none).
const ARM_ERRORS = function () {
  if (window.__hfErrors) return;
  window.__hfErrors = [];
  window.addEventListener("error", function (e) {
    window.__hfErrors.push(e.message || (e.target && e.target.src ? "failed to load " + e.target.src : "error"));
  }, true);
  window.addEventListener("unhandledrejection", function (e) {
    window.__hfErrors.push("unhandled rejection: " + (e.reason && e.reason.message || e.reason));
  });
};

async function webkit(sen) {
  const xvfb = await startXvfb();
  const port = await freePort();
  let drvErr = "";
  // the POSIX locale, as on a server: WebKitGTK then calls its language "C",
  // which Intl refuses (contrib/web/locale.js); pinned so that every run sees it
  const env = Object.assign({}, process.env, { DISPLAY: xvfb.display, NO_AT_BRIDGE: "1", LANG: "C.UTF-8" });
  delete env.LC_ALL; delete env.LC_MESSAGES; delete env.LANGUAGE;
  const driver = spawn("/usr/bin/WebKitWebDriver", ["--port=" + port], { env, stdio: ["ignore", "ignore", "pipe"] });
  driver.stderr.on("data", (d) => { drvErr = (drvErr + d).slice(-2000); });
  const stop = () => { try { driver.kill("SIGTERM"); } catch (e) { /* gone */ } try { xvfb.proc.kill("SIGTERM"); } catch (e) { /* gone */ } };

  async function wd(method, p, body) {
    const r = await fetch("http://127.0.0.1:" + port + p, {
      method, headers: { "content-type": "application/json; charset=utf-8" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const j = await r.json();
    if (j.value && j.value.error) throw new Error("WebDriver " + p + ": " + j.value.error + ": " + j.value.message);
    return j.value;
  }
  try {
    for (let i = 0; ; i++) {
      try { if ((await wd("GET", "/status")).ready) break; } catch (e) { if (i > 100) throw new Error("WebKitWebDriver does not answer: " + drvErr); }
      await sleep(100);
    }
  } catch (e) { stop(); throw e; }
  let S;
  try {
    const s = await wd("POST", "/session", { capabilities: { alwaysMatch: {
      "webkitgtk:browserOptions": { args: ["--automation"] },     // the driver's own MiniBrowser
      proxy: { proxyType: "manual", httpProxy: "127.0.0.1:" + sen.port, sslProxy: "127.0.0.1:" + sen.port },
      timeouts: { script: 30000, pageLoad: 30000, implicit: 0 },
    } } });
    S = "/session/" + s.sessionId;
  } catch (e) { stop(); throw e; }

  const errors = [];
  const exec = (fn, arg) => wd("POST", S + "/execute/sync",
    { script: "return (" + fn + ").apply(null, arguments)", args: arg === undefined ? [] : [arg] });
  const harvest = async () => {
    try {
      const e = await exec(function () { var e = window.__hfErrors || []; window.__hfErrors = []; return e; });
      errors.push(...e);
    } catch (e) { /* no page yet */ }
  };
  const find = async (sel) => (await wd("POST", S + "/element", { using: "css selector", value: sel }))[ELEMENT];

  // the viewport at VIEWPORT: the window is bigger by MiniBrowser's own frame
  await wd("POST", S + "/window/rect", VIEWPORT);
  const inner = await exec(function () { return [innerWidth, innerHeight]; });
  await wd("POST", S + "/window/rect", { width: 2 * VIEWPORT.width - inner[0], height: 2 * VIEWPORT.height - inner[1] });

  const page = {
    goto: async (url) => { await harvest(); await wd("POST", S + "/url", { url }); await exec(ARM_ERRORS); },
    evaluate: exec,
    waitFor: async (fn, arg, ms) => {
      const t0 = Date.now();
      for (;;) {
        const v = await exec(fn, arg);
        if (v) return v;
        if (Date.now() - t0 > (ms || 30000)) throw new Error("timed out waiting for " + String(fn).slice(0, 160));
        await sleep(100);
      }
    },
    text: (sel) => exec(function (s) { var e = document.querySelector(s); return e ? e.textContent : null; }, sel),
    hover: async (sel) => {
      const el = await find(sel);
      await wd("POST", S + "/actions", { actions: [{ type: "pointer", id: "mouse", parameters: { pointerType: "mouse" },
        actions: [{ type: "pointerMove", duration: 0, origin: { [ELEMENT]: el }, x: 0, y: 0 }] }] });
    },
    click: async (sel) => wd("POST", S + "/element/" + (await find(sel)) + "/click", {}),
    select: async (sel, value) => {
      const opt = await find(sel + ' option[value="' + value + '"]');
      await wd("POST", S + "/element/" + opt + "/click", {});
    },
    screenshot: async (file) => fs.writeFileSync(file, Buffer.from(await wd("GET", S + "/screenshot"), "base64")),
  };
  return {
    errors: () => errors, requests: () => sen.forwarded.filter((u) => !u.startsWith("CONNECT ")),
    page,
    harvest,
    close: async () => {
      try { await wd("DELETE", S); } catch (e) { /* already gone */ }
      stop();
    },
  };
}

/* ---------------------------------------------------------------- open */

const ENGINES = { chromium, firefox, webkit };

async function open(engine) {
  if (!ENGINES[engine]) throw new Error("unknown engine " + engine + " (chromium, firefox, webkit)");
  const sen = await sentinel();
  let b;
  try { b = await ENGINES[engine](sen); } catch (e) { await sen.close(); throw e; }
  return {
    page: b.page,
    errors: async () => { if (b.harvest) await b.harvest(); return b.errors().slice(); },
    requests: () => b.requests().slice(),
    outside: () => sen.outside.slice(),
    ownTraffic: b.ownTraffic || null,   // why the browser's own requests are not held against it
    close: async () => { try { await b.close(); } finally { await sen.close(); } },
  };
}

module.exports = { open, engines: Object.keys(ENGINES) };
