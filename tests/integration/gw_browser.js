// Drives the gateway's status page in headless Chromium over the DevTools protocol on a pipe
// (--remote-debugging-pipe: JSON messages ending in NUL, written to the browser's fd 3 and read
// from its fd 4), so the test needs nothing but node and the Debian chromium package.
//
//   node gw_browser.js URL OUTDIR UPLOAD_FILE
//
// 1. loads URL and waits until the page shows lanes, a running job's progress bar and a
//    failure's error text; writes OUTDIR/dom.json (what it read), OUTDIR/dom.html and a
//    screenshot OUTDIR/page.png;
// 2. picks UPLOAD_FILE in the upload form, submits it, waits for the page to report it stored
//    and then to show it among the finished files with its thumbnail loaded; writes
//    OUTDIR/upload.json and OUTDIR/page-after-upload.png.
// Exits 0, or 1 with the reason on stderr.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");

const [url, outdir, uploadFile] = process.argv.slice(2);
const chromium = process.env.CHROMIUM || "/usr/bin/chromium";
const profileDir = fs.mkdtempSync(path.join(outdir, "chromium-profile-"));
const browser = spawn(chromium, [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--user-data-dir=" + profileDir, "--window-size=1280,1000", "--remote-debugging-pipe",
  "about:blank",
], { stdio: ["ignore", "ignore", fs.openSync(path.join(outdir, "chromium.log"), "w"), "pipe", "pipe"] });

const toBrowser = browser.stdio[3], fromBrowser = browser.stdio[4];
let nextId = 1, pending = new Map(), buf = Buffer.alloc(0);
fromBrowser.on("data", (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  let end;
  while ((end = buf.indexOf(0)) >= 0) {
    const msg = JSON.parse(buf.subarray(0, end).toString("utf8"));
    buf = buf.subarray(end + 1);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(JSON.stringify(msg.error)));
      else resolve(msg.result);
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  const msg = { id, method, params };
  if (sessionId) msg.sessionId = sessionId;
  toBrowser.write(JSON.stringify(msg) + "\0");
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function fail(why) {
  process.stderr.write("gw_browser: " + why + "\n");
  browser.kill("SIGKILL");
  process.exit(1);
}

async function main() {
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  const s = (m, p) => send(m, p, sessionId);
  const evaluate = async (expr) => {
    const r = await s("Runtime.evaluate", { expression: expr, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(expr + ": " + JSON.stringify(r.exceptionDetails));
    return r.result.value;
  };
  const waitFor = async (what, expr, seconds) => {
    for (let t = 0; t < seconds * 5; t++) {
      const v = await evaluate(expr);
      if (v) return v;
      await sleep(200);
    }
    fail("timed out after " + seconds + " s waiting for " + what);
  };
  const screenshot = async (name) => {
    const { data } = await s("Page.captureScreenshot", { format: "png" });
    fs.writeFileSync(path.join(outdir, name), Buffer.from(data, "base64"));
  };

  await s("Page.enable");
  await s("Runtime.enable");
  await s("Page.navigate", { url });
  await waitFor("lanes, a running job's progress bar and a failure's error", `(() => {
      const lanes = [...document.querySelectorAll("#lanes tbody tr")].map((r) => r.dataset.lane);
      const bars = [...document.querySelectorAll("#running .job")].map((j) => ({
        id: j.dataset.id, path: j.querySelector(".path").textContent,
        value: j.querySelector("progress").value,
        determinate: j.querySelector("progress").hasAttribute("value") }));
      const fails = [...document.querySelectorAll("#failures .fail")].map((f) => ({
        id: f.dataset.id, path: f.querySelector(".path").textContent,
        error: f.querySelector(".error").textContent }));
      if (!lanes.length || !bars.length || !fails.length) return null;
      return { lanes, running: bars, failures: fails,
               connection: document.getElementById("conn").textContent };
    })()`, 60).then((dom) => fs.writeFileSync(path.join(outdir, "dom.json"), JSON.stringify(dom, null, 2)));
  fs.writeFileSync(path.join(outdir, "dom.html"), await evaluate("document.documentElement.outerHTML"));
  await screenshot("page.png");

  // the upload form: pick the file, submit, wait for "stored", then for its thumbnail
  const { result } = await s("Runtime.evaluate", { expression: "document.getElementById('upfile')" });
  await s("DOM.enable");
  await s("DOM.setFileInputFiles", { files: [path.resolve(uploadFile)], objectId: result.objectId });
  await evaluate("document.getElementById('upbtn').click(), true");
  const msg = await waitFor("the upload's answer",
    "document.getElementById('upmsg').dataset.result ? document.getElementById('upmsg').textContent : null", 60);
  if (!msg.startsWith("stored as ")) fail("upload refused: " + msg);
  const name = path.basename(uploadFile);
  const thumb = await waitFor("the uploaded file's thumbnail among the finished", `(() => {
      const t = [...document.querySelectorAll("#done .thumb")].find((d) => d.textContent === ${JSON.stringify(name)});
      const img = t && t.querySelector("img");
      return img && img.complete && img.naturalWidth > 0 ? { id: t.dataset.id, src: img.getAttribute("src"),
        width: img.naturalWidth } : null;
    })()`, 90);
  fs.writeFileSync(path.join(outdir, "upload.json"), JSON.stringify({ message: msg, thumb }, null, 2));
  await screenshot("page-after-upload.png");
  browser.kill("SIGTERM");
  process.exit(0);
}
main().catch((e) => fail(e.stack || String(e)));
setTimeout(() => fail("took longer than 240 s"), 240000).unref();
