// Drives levee's dashboard in real headless Chromium (Debian's
// /usr/bin/chromium through playwright-core) while this script sends
// traffic: mostly answers for calm.test., random-subdomain NXDOMAIN for
// attacked.test. Asserts the QPS figure becomes non-zero and that
// attacked.test. heads the "top zones by NXDOMAIN rate" table; saves a
// screenshot.
//
// The API needs a read token (issue 16): the page is opened with it in the
// URL fragment (#token=..., as an operator would, from $READ_TOKEN); the
// script also checks the page asks for a token when it has none.
//
// usage: READ_TOKEN=... node dashboard.mjs DNS_HOST:PORT MGMT_HOST:PORT SCREENSHOT.png
import dgram from "node:dgram";
import { chromium } from "playwright-core";

const [dnsArg, mgmtArg, shot] = process.argv.slice(2);
const [dnsHost, dnsPort] = [dnsArg.slice(0, dnsArg.lastIndexOf(":")), +dnsArg.slice(dnsArg.lastIndexOf(":") + 1)];

function query(id, name, type) {
  const labels = name.split(".").filter(Boolean);
  const q = [id >> 8, id & 255, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
  for (const l of labels) { q.push(l.length); for (const c of l) q.push(c.charCodeAt(0)); }
  q.push(0, 0, type, 0, 1);
  return Buffer.from(q);
}

// Bounded traffic: at most 40 s and 200 000 queries, about 2000 per second.
const sock = dgram.createSocket("udp4");
sock.on("message", () => {});
let sent = 0, id = 0;
const started = Date.now();
const traffic = setInterval(() => {
  if (Date.now() - started > 40_000 || sent >= 200_000) { clearInterval(traffic); return; }
  for (let i = 0; i < 40; i++) {
    id = (id + 1) & 0xffff;
    const nx = i % 4 !== 0;  // three NXDOMAIN for one answer
    const name = nx ? `${Math.random().toString(36).slice(2, 12)}.attacked.test` : "www.calm.test";
    sock.send(query(id, name, 1), dnsPort, dnsHost);
    sent++;
  }
}, 20);

const fail = (m) => { console.error("FAIL: " + m); process.exitCode = 1; };
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("requestfailed", (r) => errors.push("request failed: " + r.url()));
  const external = [];
  page.on("request", (r) => { if (!r.url().startsWith(`http://${mgmtArg}/`)) external.push(r.url()); });
  // Without a token the page asks for one (and shows no data).
  await page.goto(`http://${mgmtArg}/`);
  await page.waitForSelector("#login:not([hidden])", { timeout: 10_000 });
  const asked = await page.textContent("#err");
  // With the read token in the fragment: it is taken, and removed from the address bar.
  await page.goto(`http://${mgmtArg}/#token=${process.env.READ_TOKEN}`);
  await page.waitForFunction(() => location.hash === "" && document.getElementById("login").hidden, null, { timeout: 10_000 });
  errors.length = 0; // the 401s of the first visit
  // The QPS figure becomes non-zero.
  await page.waitForFunction(() => parseFloat(document.getElementById("qps").textContent) > 0, null, { timeout: 15_000 });
  const qps = await page.textContent("#qps");
  // The NXDOMAIN-heavy zone heads the top-zones view.
  await page.waitForFunction(
    () => { const r = document.querySelector("#topzones tbody tr td"); return r && r.textContent === "attacked.test."; },
    null, { timeout: 15_000 });
  const top = await page.$$eval("#topzones tbody tr", (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  // All the traffic comes from 127.0.0.1: its /24 heads the top prefixes.
  await page.waitForFunction(
    () => { const r = document.querySelector("#topprefixes tbody tr td"); return r && r.textContent === "127.0.0.0/24"; },
    null, { timeout: 15_000 });
  const prefixes = await page.$$eval("#topprefixes tbody tr", (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  // It keeps updating without a reload: the figure changes over two seconds.
  const before = await page.evaluate(() => window.performance.now());
  const a = await page.textContent("#meta");
  await page.waitForTimeout(2000);
  const b = await page.textContent("#meta");
  await page.waitForTimeout(3000); // let the chart fill a little
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`dashboard: without a token: "${asked}"; QPS shown ${qps}; top zones ${JSON.stringify(top)}; top prefixes ${JSON.stringify(prefixes)}; sent ${sent} queries`);
  if (!(parseFloat(qps) > 0)) fail("QPS figure is zero");
  if (top[0][0] !== "attacked.test.") fail("attacked.test. is not the top NXDOMAIN zone");
  if (a === b) fail(`the page did not update (${a})`);
  if (external.length) fail("requests outside levee: " + external.join(", "));
  if (errors.length) fail("page errors: " + errors.join("; "));
  void before;
} catch (e) {
  fail(String(e));
} finally {
  clearInterval(traffic);
  sock.close();
  await browser.close();
}
