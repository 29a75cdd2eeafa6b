// Uploads a video the browser cannot play (.avi, MPEG-4 Part 2) in a real headless Chromium: the page must swap in
// the converted preview, the <video> must load it (frames decoded, a width), no "not playable" toast may show, and
// Score must still score the routine. Prints one JSON line with what it saw.
// usage: node preview_check.cjs URL VIDEO [CHROMIUM]
const { withPage, run } = require("./chromium.cjs");

async function main() {
  const [url, video, executable = "/usr/bin/chromium"] = process.argv.slice(2);
  await withPage(executable, { width: 1400, height: 1000 }, async (page, errors) => {
    await page.goto(url, { waitUntil: "domcontentloaded", timeout: 60000 });
    await page.setInputFiles("#video-input input[type=file]", video);
    const player = page.locator("#video-input video");
    await page.waitForFunction(() => {
      const v = document.querySelector("#video-input video");
      return v && /preview-[0-9a-f]{32}\.mp4/.test(v.currentSrc || v.src || "");
    }, null, { timeout: 120000 });
    await page.waitForFunction(() => {
      const v = document.querySelector("#video-input video");
      return v && v.readyState >= 2 && v.videoWidth > 0;
    }, null, { timeout: 60000 });
    const playback = await player.evaluate((v) => ({ readyState: v.readyState, width: v.videoWidth,
                                                      duration: v.duration, error: v.error && v.error.code }));
    const toasts = await page.locator(".toast-body").allInnerTexts();
    await page.click("#score-button");
    const headline = page.locator("#score-headline h2");
    await headline.filter({ hasText: /on a \d+-\d+ scale/ }).waitFor({ timeout: 240000 });
    const after = await page.locator(".toast-body").allInnerTexts();
    console.log(JSON.stringify({ playback, toasts, after, headline: await headline.innerText(), errors }));
  });
}

run(main);
