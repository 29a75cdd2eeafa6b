// Clicks one of the page's example routines in a real headless Chromium and waits for its score: the example
// fills the video and commentary inputs and, cached lazily, scores itself. Then clicks it again (now from the
// cache, on a reloaded page). Prints one JSON line with what it saw.
// usage: node examples_check.cjs URL LABEL [CHROMIUM]
const { chromium } = require("playwright-core");
const fs = require("fs");
const os = require("os");
const path = require("path");

async function main() {
  const [url, label, executable = "/usr/bin/chromium"] = process.argv.slice(2);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "limssr-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: executable,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const errors = [];
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.on("pageerror", (err) => errors.push(String(err)));
    await page.goto(url, { waitUntil: "domcontentloaded", timeout: 60000 });
    await page.locator("#examples-note").waitFor({ timeout: 60000 });
    const note = await page.locator("#examples-note").innerText();
    const headline = page.locator("#score-headline h2");
    const seconds = [];
    const headlines = [];
    for (let visit = 0; visit < 2; visit++) {  // the second visit, on a fresh page, is served from the cache
      if (visit > 0) await page.reload({ waitUntil: "domcontentloaded" });
      const example = page.locator("#examples").getByText(label, { exact: true });
      await example.waitFor({ timeout: 60000 });
      const started = Date.now();
      await example.click();
      await headline.filter({ hasText: /on a \d+-\d+ scale/ }).waitFor({ timeout: 240000 });
      seconds.push((Date.now() - started) / 1000);
      headlines.push(await headline.innerText());
    }
    await page.waitForSelector("#video-input video", { timeout: 30000 }).catch(() => {});
    const video = await page.locator("#video-input video").count();
    const panel = await page.locator("#modality-panel").innerText();
    console.log(JSON.stringify({ headlines, seconds, note, video, panel, errors }));
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(String(err && err.stack ? err.stack : err));
  process.exit(1);
});
