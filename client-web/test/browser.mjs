// Opens a page in Debian's Chromium through playwright-core (no browser download), waits for the
// page's window.__result and prints it as one JSON line, with the page's console lines (of every
// load) as `console`. Usage: node test/browser.mjs <url> [screenshot.png] [--reload-when <js expression>]
// With --reload-when the page is reloaded once the expression holds (the result then comes from the
// reloaded page).
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args.splice(i, 2)[1];
};
const reloadWhen = option("--reload-when");
const [url, screenshot] = args;
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
  const consoleLines = [];
  page.on("console", (m) => {
    consoleLines.push(m.text());
    process.stderr.write(`[page] ${m.text()}\n`);
  });
  await page.goto(url);
  if (reloadWhen) {
    await page.waitForFunction(reloadWhen, undefined, { timeout: 60_000 });
    await page.reload();
  }
  await page.waitForFunction(() => window.__result !== undefined, undefined, { timeout: 60_000 });
  const result = await page.evaluate(() => window.__result);
  result.status = await page.textContent("#status");
  result.console = consoleLines;
  if (screenshot) await page.screenshot({ path: screenshot });
  process.stdout.write(JSON.stringify(result) + "\n");
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
