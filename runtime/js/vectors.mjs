// Runs every conformance vector through the wasm32 build of the runtime
// (wasmi-in-wasm) and through Node's own WebAssembly engine on the
// instrumented module, and compares both with the native results recorded
// in vectors.json.
//
//   node runtime/js/vectors.mjs <wasm-bindgen nodejs out dir> <tests/vectors>
//
// Prints one line per vector and a summary line; exits 1 on any mismatch.

import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { runBundleOnHost } from "./engine.mjs";

const [pkgDir, vectorsDir] = process.argv.slice(2);
if (!pkgDir || !vectorsDir) {
  console.error("usage: node vectors.mjs <wasm-bindgen nodejs out dir> <vectors dir>");
  process.exit(2);
}
const require = createRequire(import.meta.url);
const runtime = require(join(resolve(pkgDir), "edgerun_runtime_js.js"));
const manifest = JSON.parse(readFileSync(join(vectorsDir, "vectors.json"), "utf8"));
if (manifest.runtime_id !== runtime.runtime_id()) {
  console.error(`vectors are for runtime ${manifest.runtime_id}, this build is ${runtime.runtime_id()}`);
  process.exit(1);
}

const KEYS = ["outcome", "output_hash", "fuel_used", "output_len"];
const same = (a, b) => KEYS.every((k) => String(a[k]) === String(b[k]));
let failures = 0;
for (const v of manifest.vectors) {
  const bundle = new Uint8Array(readFileSync(join(vectorsDir, v.bundle)));
  const wasmi = JSON.parse(runtime.run_bundle(bundle));
  const host = JSON.parse(runBundleOnHost(runtime, bundle));
  const ok = same(wasmi, v) && same(host, v);
  if (!ok) failures++;
  console.log(
    `${ok ? "ok  " : "FAIL"} ${v.name.padEnd(22)} ${v.outcome.padEnd(20)} fuel ${String(v.fuel_used).padStart(10)}` +
      (ok ? "  wasmi-in-wasm = node engine = native" : `\n     native ${JSON.stringify(v)}\n     wasmi-in-wasm ${JSON.stringify(wasmi)}\n     node-engine ${JSON.stringify(host)}`),
  );
}
console.log(`vectors: ${manifest.vectors.length - failures} identical across native, wasmi-in-wasm (Node) and Node's engine; ${failures} differ`);
// The line `cargo xtask test` counts.
console.log(`test result: ${failures ? "FAILED" : "ok"}. ${manifest.vectors.length - failures} passed; ${failures} failed; 0 ignored`);
process.exit(failures ? 1 : 0);
