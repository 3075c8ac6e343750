// Every conformance vector (tests/vectors/, the hostile guests included)
// inside a module Web Worker in Chromium and in Firefox, on both paths a
// volunteer's tab has: the browser's own engine and wasmi-in-wasm. Output
// hash and fuel must equal the native results in vectors.json, every one.
//
//   node worker-web/tests/vectors.mjs <target>/worker-web tests/vectors
//
// Prints `native = chromium-engine = chromium-wasmi = firefox-engine =
// firefox-wasmi` per vector and a `test result:` line; exits 1 on any
// difference.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, deadline, firefox, serve } from "./lib.mjs";

const [build, vectorsDir] = process.argv.slice(2);
if (!build || !vectorsDir) {
  console.error("usage: node vectors.mjs <target>/worker-web tests/vectors");
  process.exit(2);
}
deadline(600, "browser vectors");
const manifest = JSON.parse(readFileSync(join(vectorsDir, "vectors.json"), "utf8"));
const server = await serve({
  "/": build,
  "/vectors/": vectorsDir,
  "/pages/": new URL("./pages/", import.meta.url).pathname,
});

const KEYS = ["outcome", "output_hash", "fuel_used", "output_len"];
const columns = {};
for (const launch of [chromium, firefox]) {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    page.on("pageerror", (e) => console.error(`${browser.name}: ${e.message}`));
    await page.goto(`${server.url}/pages/vectors.html`);
    const rows = await page.evaluate(() => window.results);
    console.log(`${browser.name} ${browser.version}: ${rows.length} vectors ran`);
    for (const r of rows) {
      columns[`${browser.name}-engine`] ??= {};
      columns[`${browser.name}-wasmi`] ??= {};
      columns[`${browser.name}-engine`][r.name] = r.engine;
      columns[`${browser.name}-wasmi`][r.name] = r.wasmi;
    }
  } finally {
    await browser.close();
  }
}
await server.close();

// Which engine each path must have used: the module runs on the browser's
// engine (or nowhere, when it is invalid), or on wasmi.
const expectEngine = { engine: ["host", "none"], wasmi: ["wasmi", "none"] };
let failures = 0;
const names = Object.keys(columns);
for (const v of manifest.vectors) {
  const problems = [];
  for (const col of names) {
    const got = columns[col][v.name];
    if (!got) problems.push(`${col}: did not run`);
    else if (got.error) problems.push(`${col}: ${got.error}`);
    else {
      for (const k of KEYS)
        if (String(got[k]) !== String(v[k])) problems.push(`${col}: ${k} ${got[k]} (native ${v[k]})`);
      const path = col.split("-")[1];
      if (!expectEngine[path].includes(got.engine))
        problems.push(`${col}: ran on ${got.engine}${got.fallback ? ` (${got.fallback})` : ""}`);
    }
  }
  if (problems.length) failures++;
  const line = problems.length ? problems.join("; ") : ["native", ...names].join(" = ");
  console.log(`${problems.length ? "FAIL" : "ok  "} ${v.name.padEnd(22)} ${v.outcome.padEnd(20)} fuel ${String(v.fuel_used).padStart(10)}  ${line}`);
}
const passed = manifest.vectors.length - failures;
console.log(`browser vectors: ${passed} of ${manifest.vectors.length} identical across native and ${names.join(", ")}`);
console.log(`test result: ${failures ? "FAILED" : "ok"}. ${passed} passed; ${failures} failed; 0 ignored`);
process.exit(failures ? 1 : 0);
