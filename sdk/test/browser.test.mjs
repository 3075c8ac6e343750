// The SDK in a real browser (Chromium): bundled for the web with esbuild
// (kit and the embedded protocol wasm included), on a page whose origin
// also serves the relay's API (a proxy here, as a site that fronts its
// relay would), talking to the chain's RPC directly. It prices, posts with
// the API key, waits, gets the output verified against the chain and
// verifies the committee — the same calls as in Node.

import assert from "node:assert/strict";
import { createServer, request } from "node:http";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { after, before, it } from "node:test";
import { chromium } from "../../worker-web/tests/lib.mjs";
import { jobsDir, listen, missing, repo, startStack } from "./stack.mjs";

const sdk = join(repo, "sdk");
let stack = null;
let site = null;
let browser = null;

before(async () => {
  if (missing()) return;
  stack = await startStack();
  const out = mkdtempSync(join(tmpdir(), "edgerun-sdk-web-"));
  execFileSync(join(sdk, "node_modules/.bin/esbuild"), [
    join(sdk, "dist/index.js"), "--bundle", "--format=esm", "--platform=browser",
    `--outfile=${join(out, "sdk.js")}`, "--log-level=warning",
  ]);
  const files = {
    "/": ["text/html", "<!doctype html><title>sdk</title><p>edgerun sdk in a browser</p>"],
    "/sdk.js": ["text/javascript", readFileSync(join(out, "sdk.js"))],
    "/json-redact.wasm": ["application/wasm", readFileSync(join(jobsDir, "json-redact.wasm"))],
    "/input.json": ["application/json", readFileSync(join(repo, "tests/vectors/src/inputs/redact-profile.json"))],
  };
  const relay = new URL(stack.relay);
  site = await listen(createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path.startsWith("/v1/")) {
      // The relay's API at this origin.
      const up = request({ host: relay.hostname, port: relay.port, path: req.url, method: req.method, headers: { ...req.headers, host: relay.host } }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      up.on("error", () => res.writeHead(502).end());
      req.pipe(up);
      return;
    }
    const f = files[path];
    if (!f) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": f[0] }).end(f[1]);
  }));
  browser = await chromium();
});
after(async () => {
  await browser?.close();
  await site?.close();
  await stack?.stop();
});

it("prices, posts, waits, gets the verified output and verifies the committee in Chromium", { timeout: 240_000 }, async (t) => {
  if (missing()) return t.skip(missing());
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${site.url}/`);
  const result = await page.evaluate(async ({ rpc, apiKey }) => {
    const { createClient } = await import("/sdk.js");
    const edgerun = createClient({ relay: location.origin, rpc, apiKey });
    const price = await edgerun.estimate({ tier: "bronze" });
    const wasm = new Uint8Array(await (await fetch("/json-redact.wasm")).arrayBuffer());
    const input = new Uint8Array(await (await fetch("/input.json")).arrayBuffer());
    const { jobId } = await edgerun.postJob({ wasm, input, tier: "bronze", maxInstructions: 500_000_000n });
    const view = await edgerun.waitForJob(jobId, { timeoutMs: 120_000 });
    const output = await edgerun.getOutput(jobId);
    const committee = await edgerun.verifyCommittee(jobId);
    return {
      total: String(price.totalLamports),
      jobId,
      status: view.status,
      hash: view.winning_output_hash,
      output: new TextDecoder().decode(output),
      verified: committee.verified,
    };
  }, { rpc: stack.rpc, apiKey: stack.apiKey });
  console.log(`# in Chromium: job ${result.jobId} ${result.status}, ${result.output.length} bytes verified, committee verified ${result.verified}, price ${result.total}`);
  assert.deepEqual(errors, []);
  assert.equal(result.status, "Finalized");
  assert.match(result.output, /^\{"plan":"gold"/);
  assert.equal(result.verified, true);
  assert.ok(BigInt(result.total) > 10_000_000n);
});
