// Drives the Competition tab in a real headless Chromium: upload several videos (and commentary files), press
// "Score the competition", wait until the ranked table is complete and the downloads are offered, save a
// screenshot. Prints one JSON line with what it saw.
// usage: node competition_check.cjs URL SCREENSHOT CHROMIUM VIDEO... [--commentary FILE...]
const { withPage, run } = require("./chromium.cjs");

async function main() {
  const [url, screenshot, executable, ...rest] = process.argv.slice(2);
  const split = rest.indexOf("--commentary");
  const videos = split < 0 ? rest : rest.slice(0, split);
  const commentary = split < 0 ? [] : rest.slice(split + 1);
  await withPage(executable, { width: 1400, height: 900 }, async (page, errors) => {
    await page.goto(url, { waitUntil: "domcontentloaded", timeout: 60000 });
    await page.getByRole("tab", { name: "Competition" }).click();
    await page.waitForSelector("#competition-videos input[type=file]", { state: "attached", timeout: 60000 });
    await page.setInputFiles("#competition-videos input[type=file]", videos);
    if (commentary.length) await page.setInputFiles("#competition-commentary input[type=file]", commentary);
    await page.waitForTimeout(1500);  // let the uploads finish
    await page.click("#competition-button");
    const status = page.locator("#competition-status");
    const partial = [];
    const started = Date.now();
    while (Date.now() - started < 400000) {  // record how the table fills
      const text = await status.innerText().catch(() => "");
      if (partial[partial.length - 1] !== text) partial.push(text);
      if (text.includes("Done")) break;
      await page.waitForTimeout(100);  // cached routines finish within a fraction of a second
    }
    await page.waitForSelector("#competition-csv", { state: "visible", timeout: 30000 });
    const table = await page.locator("#competition-table").innerText();
    await page.waitForTimeout(300);
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(JSON.stringify({ statuses: partial, table, errors,
                                 json: await page.locator("#competition-json").isVisible() }));
  });
}

run(main);
