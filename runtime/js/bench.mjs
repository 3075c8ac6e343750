// Node half of `cargo xtask bench runtime`: for each bundle, the median time
// of wasmi-in-wasm (edgerun-runtime-js) and of the instrumented module on
// Node's own engine, plus whether both reached the same outcome.
//
//   node runtime/js/bench.mjs <wasm-bindgen nodejs dir> <bundle>...
//
// Prints a JSON array, one entry per bundle.

import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { runBundleOnHost } from "./engine.mjs";

const [pkgDir, ...bundles] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const runtime = require(join(resolve(pkgDir), "edgerun_runtime_js.js"));

function median(f, budgetMs = 3000) {
  const times = [];
  const start = performance.now();
  let last;
  while (times.length < 3 || (performance.now() - start < budgetMs && times.length < 30)) {
    const t = performance.now();
    last = f();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return [times[times.length >> 1], last];
}

const results = [];
for (const path of bundles) {
  const bundle = new Uint8Array(readFileSync(path));
  const [wasmMs, wasmOut] = median(() => runtime.run_bundle(bundle));
  const [hostMs, hostOut] = median(() => runBundleOnHost(runtime, bundle));
  results.push({
    bundle: path,
    wasmi_in_wasm_ms: wasmMs,
    node_engine_ms: hostMs,
    same_outcome: wasmOut === hostOut,
    fuel_used: JSON.parse(wasmOut).fuel_used,
  });
}
console.log(JSON.stringify(results));
