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

module.exports = { withPage, run };
