// Issue 16 in real headless Chromium (Debian's /usr/bin/chromium through
// playwright-core): a page from another origin cannot make the browser
// reload levee's zones or read its API, and a DNS-rebinding name is
// refused; the dashboard's own origin with a write token still can.
//
//  1. An attacker page on http://127.0.0.1:ATTACK_PORT/ (another origin: another
//     port) POSTs to /api/reload with fetch (no-cors), with a guessed
//     Authorization header (needs a preflight), and with an auto-submitted
//     form; and tries to read /api/live and /metrics cross-origin.
//  2. DNS rebinding: Chromium resolves rebind.test to 127.0.0.1
//     (--host-resolver-rules), so a page of http://rebind.test:MGMT_PORT/ is
//     same-origin with levee; its requests carry Host: rebind.test and are
//     refused (421).
//  3. Control: on levee's own page with the write token, a same-origin POST
//     reloads (so the checks do not simply refuse everything).
// levee_reloads_total is read from /metrics (with the read token) before
// and after: only step 3 may move it.
//
// usage: READ_TOKEN=... WRITE_TOKEN=... node csrf.mjs MGMT_HOST:PORT ATTACK_PORT
import http from "node:http";
import { chromium } from "playwright-core";

const [mgmt, attackPort] = process.argv.slice(2);
const mgmtPort = mgmt.slice(mgmt.lastIndexOf(":") + 1);
const { READ_TOKEN, WRITE_TOKEN } = process.env;
const fail = (m) => { console.error("FAIL: " + m); process.exitCode = 1; };

async function metric(name) {
  const r = await fetch(`http://${mgmt}/metrics`, { headers: { Authorization: `Bearer ${READ_TOKEN}` } });
  const text = await r.text();
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  return line ? +line.split(" ")[1] : NaN; // NaN: missing (fails the checks below)
}

// The attacker's page: every way a page can send a POST elsewhere.
const attackPage = `<!doctype html><html><body>
<iframe name="sink" style="display:none"></iframe>
<form id="f" method="POST" action="http://${mgmt}/api/reload" target="sink"><input name="zone" value=""></form>
<script>
window.results = {};
(async () => {
  const r = window.results;
  try { await fetch("http://${mgmt}/api/reload", { method: "POST", mode: "no-cors" }); r.nocors = "sent"; }
  catch (e) { r.nocors = "blocked: " + e.message; }
  try { await fetch("http://${mgmt}/api/reload", { method: "POST", headers: { Authorization: "Bearer guess-guess-guess-guess" } }); r.preflight = "sent"; }
  catch (e) { r.preflight = "blocked: " + e.message; }
  try { const x = await fetch("http://${mgmt}/api/live"); r.readLive = "read " + x.status; }
  catch (e) { r.readLive = "blocked: " + e.message; }
  try { const x = await fetch("http://${mgmt}/metrics"); r.readMetrics = "read " + x.status; }
  catch (e) { r.readMetrics = "blocked: " + e.message; }
  document.getElementById("f").submit();
  setTimeout(() => { r.done = true; }, 1500);
})();
</script></body></html>`;
const attacker = http.createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/html" });
  res.end(attackPage);
});
await new Promise((ok) => attacker.listen(+attackPort, "127.0.0.1", ok));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--host-resolver-rules=MAP rebind.test 127.0.0.1"],
});
try {
  const reloads0 = await metric("levee_reloads_total");
  const origin0 = await metric('levee_management_refused_total{reason="origin"}');

  // 1. Cross-origin.
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${attackPort}/`);
  await page.waitForFunction(() => window.results && window.results.done, null, { timeout: 15_000 });
  await page.waitForTimeout(500);
  const results = await page.evaluate(() => window.results);
  const reloads1 = await metric("levee_reloads_total");
  const origin1 = await metric('levee_management_refused_total{reason="origin"}');
  console.log(`cross-origin page: ${JSON.stringify(results)}; reloads ${reloads0} -> ${reloads1}; origin refusals ${origin0} -> ${origin1}`);
  if (reloads1 !== reloads0) fail("a cross-origin POST reloaded the zones");
  if (!(origin1 - origin0 >= 2)) fail("levee did not see and refuse the cross-origin POSTs (fetch and form)");
  if (!results.preflight.startsWith("blocked")) fail("a cross-origin request with a token header got through its preflight");
  if (!results.readLive.startsWith("blocked") || !results.readMetrics.startsWith("blocked")) fail("a cross-origin page read the API");

  // 2. DNS rebinding: same origin for the browser, wrong Host for levee.
  const rebind = await browser.newPage();
  const resp = await rebind.goto(`http://rebind.test:${mgmtPort}/`);
  const metricsResp = await rebind.goto(`http://rebind.test:${mgmtPort}/metrics`);
  const post = await rebind.evaluate(async (t) => (await fetch("/api/reload", { method: "POST", headers: { Authorization: "Bearer " + t } })).status, WRITE_TOKEN);
  const reloads2 = await metric("levee_reloads_total");
  console.log(`rebinding (Host rebind.test): page ${resp.status()}, /metrics ${metricsResp.status()}, POST with the write token ${post}; reloads ${reloads2}`);
  if (resp.status() !== 421 || metricsResp.status() !== 421 || post !== 421) fail("a request with Host rebind.test was served");
  if (reloads2 !== reloads0) fail("a rebinding page reloaded the zones");

  // 3. Control: levee's own page, same origin, the write token.
  const own = await browser.newPage();
  await own.goto(`http://${mgmt}/`);
  const ok = await own.evaluate(async (t) => (await fetch("/api/reload", { method: "POST", headers: { Authorization: "Bearer " + t } })).status, WRITE_TOKEN);
  const readOnly = await own.evaluate(async (t) => (await fetch("/api/reload", { method: "POST", headers: { Authorization: "Bearer " + t } })).status, READ_TOKEN);
  const reloads3 = await metric("levee_reloads_total");
  console.log(`own origin: POST with the write token ${ok}, with the read token ${readOnly}; reloads ${reloads3}`);
  if (ok !== 200 || reloads3 !== reloads0 + 1) fail("the dashboard's own origin could not reload with the write token");
  if (readOnly !== 403) fail("a read token reloaded");
} catch (e) {
  fail(String(e && e.stack || e));
} finally {
  await browser.close();
  attacker.close();
}
