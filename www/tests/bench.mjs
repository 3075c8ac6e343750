// `cargo xtask bench www`: each page's weight on a first load in Chromium
// (a fresh context, so nothing is cached): the bytes transferred, headers
// and bodies, until the network is idle, before anyone presses anything.
//
//   node www/tests/bench.mjs <edgerun binary> <target>/jobs <target>/www <out.json>

import { writeFileSync } from "node:fs";
import { chromium, deadline } from "../../worker-web/tests/lib.mjs";
import { localStack, say } from "../../worker-web/tests/stack.mjs";

const [edgerun, jobsDir, build, out] = process.argv.slice(2);
if (!out) {
  console.error("usage: node bench.mjs <edgerun binary> <target>/jobs <target>/www <out.json>");
  process.exit(2);
}
deadline(300, "www bench");
const stack = await localStack(edgerun, jobsDir, "www-bench");
let browser = null;
try {
  await stack.up(["--slot-ms", "100", "--workers", "0", "--www", build]);
  browser = await chromium();
  const result = {};
  for (const [name, path] of [["landing", "/"], ["trust", "/trust"], ["pricing", "/pricing"]]) {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    const files = [];
    page.on("requestfinished", async (r) => {
      const s = await r.sizes();
      files.push({ url: new URL(r.url()).pathname, bytes: s.responseBodySize + s.responseHeadersSize });
    });
    await page.goto(`${stack.RELAY}${path}`, { waitUntil: "networkidle" });
    await new Promise((r) => setTimeout(r, 300));
    const bytes = files.reduce((a, f) => a + f.bytes, 0);
    result[`${name}_bytes`] = bytes;
    result[`${name}_files`] = files;
    say(`${name}: ${bytes} bytes in ${files.length} files (${files.map((f) => `${f.url} ${f.bytes}`).join(", ")})`);
    await context.close();
  }
  writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`www: landing ${result.landing_bytes} B (goal <= 100 KB before the demo starts), trust ${result.trust_bytes} B, pricing ${result.pricing_bytes} B -> ${out}`);
} finally {
  await browser?.close().catch(() => {});
  await stack.stopAll();
}
