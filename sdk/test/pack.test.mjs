// `npm pack` of the SDK installs into an empty folder (with @solana/kit,
// its peer) and the README's first example (examples/post-wait-get.mjs)
// runs there against a real `edgerun up --workers 3`.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { jobsDir, missing, repo, startStack } from "./stack.mjs";

const sdk = join(repo, "sdk");
let stack = null;
before(async () => {
  if (missing()) return;
  stack = await startStack();
});
after(async () => stack?.stop());

it("the packed SDK installs into an empty folder and the README example runs", { timeout: 300_000 }, async (t) => {
  if (missing()) return t.skip(missing());
  const out = mkdtempSync(join(tmpdir(), "edgerun-pack-"));
  // npm prints the prepack build's lines first; the JSON starts at a "[" line.
  const raw = execFileSync("npm", ["pack", "--json", "--pack-destination", out], { cwd: sdk, encoding: "utf8" });
  const packed = JSON.parse(raw.slice(raw.search(/^\[/m)));
  const tgz = join(out, packed[0].filename);
  console.log(`# packed ${packed[0].filename}: ${statSync(tgz).size} bytes, ${packed[0].entryCount} files`);
  const app = join(out, "app");
  execFileSync("mkdir", ["-p", app]);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  const kit = JSON.parse(readFileSync(join(sdk, "package.json"), "utf8")).devDependencies["@solana/kit"];
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tgz, `@solana/kit@${kit}`], { cwd: app, stdio: "ignore" });
  copyFileSync(join(sdk, "examples/post-wait-get.mjs"), join(app, "post-wait-get.mjs"));
  copyFileSync(join(jobsDir, "json-redact.wasm"), join(app, "json-redact.wasm"));
  copyFileSync(join(repo, "tests/vectors/src/inputs/redact-profile.json"), join(app, "redact-profile.json"));
  const printed = execFileSync("node", ["post-wait-get.mjs"], {
    cwd: app,
    encoding: "utf8",
    timeout: 180_000,
    env: { ...process.env, EDGERUN_RELAY: stack.relay, EDGERUN_RPC: stack.rpc, EDGERUN_API_KEY: stack.apiKey },
  });
  console.log(printed.split("\n").map((l) => `# ${l}`).join("\n"));
  assert.match(printed, /^posted: [0-9a-f]{64}$/m);
  assert.match(printed, /^status: Finalized, committee of 3$/m);
  assert.match(printed, /verified\):\n\{"plan":"gold"/);
});
