// Drives the app in a real headless Chromium (Debian's /usr/bin/chromium) with playwright-core:
// load the page, upload a video, type a commentary, press Score, wait for the score and the weights plot (its
// text boxes measured at 1400 and 1000 px windows),
// press Robustness, wait for its chart, tick "a line per modality", press Timeline, wait for its chart and click one of its points (which must
// seek the video there), save a screenshot. Prints one JSON line with what it saw.
// usage: node browser_check.cjs URL VIDEO SCREENSHOT [CHROMIUM]
const { withPage, run, measureTexts } = require("./chromium.cjs");

async function main() {
  const [url, video, screenshot, executable = "/usr/bin/chromium"] = process.argv.slice(2);
  await withPage(executable, { width: 1400, height: 1000 }, async (page, errors) => {
    await page.goto(url, { waitUntil: "domcontentloaded", timeout: 60000 });
    await page.waitForSelector("#video-input input[type=file]", { state: "attached", timeout: 60000 });
    await page.setInputFiles("#video-input input[type=file]", video);
    await page.waitForSelector("#video-input video", { timeout: 60000 });  // upload finished: the player shows
    await page.getByRole("button", { name: "Commentary (optional)" }).click();
    await page.getByLabel("Commentary text").fill("A clean opening jump.\nThe spin travels a little.");
    await page.click("#score-button");
    const headline = page.locator("#score-headline h2");
    await headline.filter({ hasText: /on a \d+-\d+ scale/ }).waitFor({ timeout: 120000 });
    await page.waitForSelector("#weights-plot .js-plotly-plot", { timeout: 60000 });
    await page.waitForTimeout(500);
    // the MDA weights figure as the page draws it, at this 1400 px window and at 1000 px
    const weights = { 1400: await page.evaluate(measureTexts, "#weights-plot") };
    await page.setViewportSize({ width: 1000, height: 1000 });
    await page.waitForTimeout(1200);  // Gradio redraws the plot for the new width
    weights[1000] = await page.evaluate(measureTexts, "#weights-plot");
    await page.setViewportSize({ width: 1400, height: 1000 });
    await page.waitForTimeout(800);
    await page.click("#robustness-button");
    await page.waitForSelector("#robustness-plot .js-plotly-plot", { timeout: 120000 });
    await page.locator("#timeline-per-modality input[type=checkbox]").check();  // a line per modality too
    await page.click("#timeline-button");
    await page.waitForSelector("#timeline-plot .js-plotly-plot .scatterlayer .trace .points path", { timeout: 180000 });
    await page.waitForTimeout(800);  // let plotly finish drawing before clicking a point
    // the combined line's last point: a click there must seek the video to that moment's start
    const points = page.locator("#timeline-plot .scatterlayer .trace:first-child .points path");
    const count = await points.count();
    await page.locator("#timeline-plot").scrollIntoViewIfNeeded();  // mouse events only reach what is in view
    await page.waitForTimeout(300);
    const box = await points.nth(count - 1).boundingBox();
    // plotly clicks on the point it last hovered: move there, let it hover, then press
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 5 });
    await page.waitForTimeout(400);
    await page.mouse.down();
    await page.mouse.up();
    await page.waitForFunction(() => {
      const v = document.querySelector("#video-input video");
      return v && v.dataset.limssrSeekedTo !== undefined;
    }, null, { timeout: 10000 }).catch(() => {});
    const seek = await page.evaluate(() => {
      const v = document.querySelector("#video-input video");
      const plot = document.querySelector("#timeline-plot .js-plotly-plot");
      return v ? { seekedTo: v.dataset.limssrSeekedTo ?? null, currentTime: v.currentTime,
                   listening: plot ? plot.dataset.limssrSeek === "1" : null,
                   hasOn: plot ? typeof plot.on : null } : null;
    });
    const lines = await page.locator("#timeline-plot .scatterlayer .trace").count();
    const moments = await page.locator("#timeline-moments").innerText();
    const report = await page.locator("#report-download").isVisible();
    await page.waitForTimeout(300);
    await page.screenshot({ path: screenshot, fullPage: true });
    const panel = await page.locator("#modality-panel").innerText();
    const explained = await page.locator("#weights-explained").innerText();
    console.log(JSON.stringify({ headline: await headline.innerText(), panel, errors, points: count, lines, seek,
                                 moments, report, weights, explained }));
  });
}

run(main);
