// Keeps levee's dashboard open in headless Chromium for SECONDS (the
// overhead measurement, and screenshots during a flood).
// The read token comes from $READ_TOKEN (given to the page in the URL fragment).
// usage: READ_TOKEN=... node watch.mjs MGMT_HOST:PORT SECONDS [SCREENSHOT.png [AT_SECONDS]]
import { chromium } from "playwright-core";
const [mgmt, secs, shot, at] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`http://${mgmt}/#token=${process.env.READ_TOKEN || ""}`);
  const t0 = Date.now();
  if (shot) {
    await page.waitForTimeout(1000 * (+at || +secs));
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot ${shot}: ${await page.textContent("#qps")} q/s shown`);
  }
  const left = 1000 * +secs - (Date.now() - t0);
  if (left > 0) await page.waitForTimeout(left);
} finally {
  await browser.close();
}
