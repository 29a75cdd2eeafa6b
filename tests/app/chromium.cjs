// The one headless-Chromium harness of the browser checks (Debian's /usr/bin/chromium through playwright-core):
// a throw-away profile, the flags that keep Chromium off the network, page errors collected, everything removed
// afterwards. `run(main)` turns a failure into a stack trace on stderr and exit code 1.
const { chromium } = require("playwright-core");
const fs = require("fs");
const os = require("os");
const path = require("path");

async function withPage(executable, viewport, body) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "limssr-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: executable || "/usr/bin/chromium",
    headless: true,
    viewport,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const errors = [];
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.on("pageerror", (err) => errors.push(String(err)));
    return await body(page, errors);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

function run(main) {
  main().catch((err) => {
    console.error(String(err && err.stack ? err.stack : err));
    process.exit(1);
  });
}

// Runs in the page (page.evaluate(measureTexts, selector)): every non-empty, visible SVG <text> of the plotly figure
// under `selector`, which pairs overlap (by more than 1 px each way), which stick out of the figure, and the
// figure's width.
function measureTexts(selector) {
  const root = document.querySelector(selector);
  const svg = root && root.querySelector(".main-svg");
  if (!svg) return null;
  const frame = svg.getBoundingClientRect();
  const boxes = [];
  for (const node of root.querySelectorAll("svg text")) {
    const text = (node.textContent || "").trim();
    const box = node.getBoundingClientRect();
    if (!text || box.width < 0.5 || box.height < 0.5 || getComputedStyle(node).visibility === "hidden") continue;
    boxes.push({ text, left: box.left, right: box.right, top: box.top, bottom: box.bottom });
  }
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      const x = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const y = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (x > 1 && y > 1) overlaps.push([a.text, b.text]);
    }
  }
  const outside = boxes.filter((b) => b.left < frame.left - 1 || b.right > frame.right + 1 ||
                                      b.top < frame.top - 1 || b.bottom > frame.bottom + 1).map((b) => b.text);
  return { width: Math.round(frame.width), texts: boxes.map((b) => b.text), overlaps, outside };
}

module.exports = { withPage, run, measureTexts };
