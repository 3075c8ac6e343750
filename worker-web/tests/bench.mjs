// `cargo xtask bench browser`'s browser half: each bundle through
// worker-web's runJob inside a module Web Worker in Chromium, on the
// browser's engine and on wasmi-in-wasm. Prints a JSON array on stdout:
// [{bundle, rounds, engine_ms, wasmi_ms, engine: {...}, wasmi: {...}}].
//
//   node worker-web/tests/bench.mjs <target>/worker-web <bundle>...

import { basename, dirname } from "node:path";
import { chromium, deadline, serve } from "./lib.mjs";

const [build, ...bundles] = process.argv.slice(2);
if (!build || bundles.length === 0) {
  console.error("usage: node bench.mjs <target>/worker-web <bundle>...");
  process.exit(2);
}
deadline(900, "browser bench");
const server = await serve({
  "/": build,
  "/bundles/": dirname(bundles[0]),
  "/pages/": new URL("./pages/", import.meta.url).pathname,
});
const browser = await chromium();
let rows;
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(600_000);
  await page.goto(`${server.url}/pages/bench.html`);
  rows = await page.evaluate(
    (names) =>
      new Promise((resolve, reject) => {
        const w = new Worker("./bench-worker.mjs", { type: "module" });
        w.onmessage = ({ data }) => (data.error ? reject(new Error(data.error)) : resolve(data.rows));
        w.onerror = (e) => reject(new Error(e.message || "the Web Worker failed"));
        w.postMessage({ bundles: names, minRounds: 5, budgetMs: 8000 });
      }),
    bundles.map((b) => basename(b)),
  );
  for (const r of rows) r.browser = `chromium ${browser.version}`;
} finally {
  await browser.close();
  await server.close();
}
console.log(JSON.stringify(rows));
