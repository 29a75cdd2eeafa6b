// Renders plotly figures in headless Chromium at several widths and reports every visible SVG text box: which
// pairs overlap, which stick out of the figure, and the texts themselves (so a test can look for full tick labels).
// usage: node figure_check.cjs PAGE.html WIDTHS_JSON [chromium]   (PAGE.html defines window.FIGURES = [{data, layout}])
const { withPage, run, measureTexts } = require("./chromium.cjs");

const [page_file, widths_json, executable] = process.argv.slice(2);

run(async () => {
  const widths = JSON.parse(widths_json);
  const results = await withPage(executable, { width: 1500, height: 1000 }, async (page, errors) => {
    await page.goto("file://" + page_file);
    await page.waitForFunction(() => window.Plotly && window.FIGURES);
    const count = await page.evaluate(() => window.FIGURES.length);
    const out = [];
    for (let index = 0; index < count; index++) {
      for (const width of widths) {
        await page.evaluate(async ([index, width]) => {
          const root = document.querySelector("#figure");
          window.Plotly.purge(root);
          root.style.width = width + "px";
          const figure = window.FIGURES[index];
          await window.Plotly.newPlot(root, figure.data, figure.layout, { displaylogo: false });
        }, [index, width]);
        out.push({ index, width, ...(await page.evaluate(measureTexts, "#figure")) });
      }
    }
    return { cases: out, errors };
  });
  console.log(JSON.stringify(results));
});
