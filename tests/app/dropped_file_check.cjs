// Gives the video box a file that is not a video in a real headless Chromium and reports what the page then says
// (its toasts), and what Score says without a video. Prints one JSON line.
// usage: node dropped_file_check.cjs URL FILE [CHROMIUM]
const { withPage, run } = require("./chromium.cjs");

async function main() {
  const [url, file, executable = "/usr/bin/chromium"] = process.argv.slice(2);
  await withPage(executable, { width: 1400, height: 1000 }, async (page, errors) => {
    await page.goto(url, { waitUntil: "domcontentloaded", timeout: 60000 });
    await page.setInputFiles("#video-input input[type=file]", file);
    await page.locator(".toast-body").first().waitFor({ timeout: 20000 }).catch(() => {});
    const toasts = await page.locator(".toast-body").allInnerTexts();
    const video = await page.locator("#video-input video").count();
    await page.click("#score-button");
    await page.locator(".toast-body", { hasText: "no video" }).first().waitFor({ timeout: 60000 }).catch(() => {});
    const after = await page.locator(".toast-body").allInnerTexts();
    console.log(JSON.stringify({ toasts, video, after, errors }));
  });
}

run(main);
