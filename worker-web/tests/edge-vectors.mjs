// Every conformance vector (tests/vectors/, the hostile guests included)
// inside workerd, as an edge worker runs a seat: worker-web's runJob on
// wasmi-in-wasm (worker-web/edge/run.mjs). Output hash, fuel and outcome
// must equal the native results in vectors.json, every one.
//
//   node worker-web/tests/edge-vectors.mjs <target>/worker-web tests/vectors
//
// Prints `native = workerd` per vector and a `test result:` line.

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { deadline } from "./lib.mjs";
import { runModules, startWorkerd } from "./workerd.mjs";

const [build, vectorsDir] = process.argv.slice(2);
if (!build || !vectorsDir) {
  console.error("usage: node edge-vectors.mjs <target>/worker-web tests/vectors");
  process.exit(2);
}
deadline(600, "edge vectors");
const manifest = JSON.parse(readFileSync(join(vectorsDir, "vectors.json"), "utf8"));
const token = randomBytes(16).toString("hex");
const workerd = await startWorkerd(runModules(build), { CHECK_TOKEN: token });
let failures = 0;
try {
  const denied = await fetch(`${workerd.url}/run`, { method: "POST", body: "x" });
  if (denied.status !== 403) {
    console.log(`FAIL a request without the check token got ${denied.status}, not 403`);
    failures++;
  }
  const { compiles } = await (
    await fetch(`${workerd.url}/can-compile`, { headers: { "x-edgerun-check": token } })
  ).json();
  console.log(`workerd compiles WebAssembly from bytes at run time: ${compiles} (so jobs run on wasmi-in-wasm)`);
  for (const v of manifest.vectors) {
    const bundle = readFileSync(join(vectorsDir, v.bundle));
    const res = await fetch(`${workerd.url}/run`, {
      method: "POST",
      headers: { "x-edgerun-check": token },
      body: bundle,
    });
    const got = await res.json();
    const want = v.expected ?? v;
    const same =
      got.outcome === want.outcome &&
      got.output_hash === want.output_hash &&
      got.fuel_used === want.fuel_used &&
      got.output_len === want.output_len &&
      ["wasmi", "none"].includes(got.engine);
    if (!same) failures++;
    console.log(
      `${same ? "ok  " : "FAIL"} ${v.name.padEnd(22)} ${String(want.outcome).padEnd(20)} fuel ${String(want.fuel_used).padStart(10)}  ${
        same ? "native = workerd" : `native ${JSON.stringify(want)} != workerd ${JSON.stringify(got)}`
      }`,
    );
  }
} finally {
  await workerd.stop();
}
const total = manifest.vectors.length;
console.log(`edge vectors: ${total - failures} of ${total} identical natively and in workerd`);
console.log(`test result: ${failures ? "FAILED" : "ok"}. ${total - failures} passed; ${failures} failed; 0 ignored`);
process.exit(failures ? 1 : 0);
