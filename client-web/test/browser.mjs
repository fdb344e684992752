// Opens a page in Debian's Chromium through playwright-core (no browser download), waits for the
// page's window.__result and prints it as one JSON line. Usage: node test/browser.mjs <url> [screenshot.png]
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, screenshot] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const userDataDir = mkdtempSync(join(tmpdir(), "relay-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const page = await context.newPage();
  page.on("console", (m) => process.stderr.write(`[page] ${m.text()}\n`));
  await page.goto(url);
  await page.waitForFunction(() => window.__result !== undefined, undefined, { timeout: 60_000 });
  const result = await page.evaluate(() => window.__result);
  result.status = await page.textContent("#status");
  if (screenshot) await page.screenshot({ path: screenshot });
  process.stdout.write(JSON.stringify(result) + "\n");
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
