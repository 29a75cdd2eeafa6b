// Clicks one of the page's example routines in a real headless Chromium and waits for its score: the example
// fills the video and commentary inputs and, cached lazily, scores itself. Then clicks it again (now from the
// cache, on a reloaded page). Prints one JSON line with what it saw.
// usage: node examples_check.cjs URL LABEL [CHROMIUM]
const { withPage, run } = require("./chromium.cjs");

async function main() {
  const [url, label, executable = "/usr/bin/chromium"] = process.argv.slice(2);
  await withPage(executable, { width: 1400, height: 1000 }, async (page, errors) => {
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
  });
}

run(main);
