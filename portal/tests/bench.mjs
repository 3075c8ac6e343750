// `cargo xtask bench portal`: the portal's size and how soon its Post
// page is usable, in Chromium, served from loopback as the relay serves it
// (any /app/ page is index.html):
//
//   node portal/tests/bench.mjs <target>/portal <out.json>
//
// interactive_ms: from navigation start to the "Post job" button being
// visible and enabled (median of 7 fresh pages, cache disabled each time).

import { createServer } from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { extname, join, normalize } from "node:path";
import { chromium } from "../../worker-web/tests/lib.mjs";

const [build, out] = process.argv.slice(2);
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".wasm": "application/wasm" };
const server = createServer((req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  if (!path.startsWith("/app")) return res.writeHead(404).end();
  const rel = path.replace(/^\/app\/?/, "");
  const name = rel.split("/").pop().includes(".") ? normalize(rel) : "index.html";
  if (name.startsWith("..")) return res.writeHead(403).end();
  try {
    const body = readFileSync(join(build, name));
    res.writeHead(200, { "content-type": TYPES[extname(name)] ?? "application/octet-stream" }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const url = `http://127.0.0.1:${server.address().port}/app/post`;
const browser = await chromium();
const times = [];
try {
  for (let i = 0; i < 7; i++) {
    const page = await browser.newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
    await page.goto(url);
    await page.getByRole("button", { name: "Post job" }).waitFor({ state: "visible" });
    const ms = await page.evaluate(() => performance.now());
    times.push(ms);
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
times.sort((a, b) => a - b);
const wasm = readFileSync(join(build, "pkg/edgerun_portal_bg.wasm"));
const result = {
  portal_wasm_bytes: wasm.length,
  portal_wasm_gzip_bytes: gzipSync(wasm, { level: 9 }).length,
  interactive_ms: Math.round(times[3] * 10) / 10,
  interactive_ms_runs: times.map((t) => Math.round(t * 10) / 10),
};
writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
console.log(`portal: wasm ${result.portal_wasm_bytes} bytes, ${result.portal_wasm_gzip_bytes} gzip (goal <= 400 KB); Post page interactive in ${result.interactive_ms} ms (median of 7; goal <= 1000)`);
